//! Bytes (lossy UTF-8) as a runsc debug log (the workload controls part of it: thread names,
//! the command line) → `rampart_sandbox::gvisor::parse_text`. Checks that parsing never panics,
//! every call is named and counted, and a second pass over the same text only doubles counts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_sandbox::gvisor::{GvisorLog, parse_text};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut once = GvisorLog::default();
    parse_text("boot", &text, &mut once);
    for u in &once.unsupported {
        assert!(!u.name.is_empty() && u.count >= 1);
    }
    let mut twice = once.clone();
    parse_text("boot", &text, &mut twice);
    assert_eq!(once.unsupported.len(), twice.unsupported.len());
    for (a, b) in once.unsupported.iter().zip(&twice.unsupported) {
        assert_eq!((&a.name, a.count.saturating_mul(2)), (&b.name, b.count));
    }
    assert_eq!(once.fatal, twice.fatal);
});
