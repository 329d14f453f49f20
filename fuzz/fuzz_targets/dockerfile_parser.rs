//! Arbitrary UTF-8 through the Dockerfile parser and every Dockerfile rule.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // File-name classification takes arbitrary strings too (first line as a "name").
    let _ = rampart_dockerfile::is_dockerfile_name(text.lines().next().unwrap_or(""));
    std::hint::black_box(rampart_dockerfile::parse(text));
    for has_dockerignore in [false, true] {
        let input = rampart_dockerfile::ScanInput {
            path: "Dockerfile",
            text,
            has_dockerignore,
        };
        std::hint::black_box(rampart_dockerfile::scan(&input));
    }
});
