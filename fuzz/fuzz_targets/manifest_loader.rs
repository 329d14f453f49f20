//! Arbitrary bytes (lossy UTF-8) through the manifest loader, the API schema validation and every
//! Kubernetes rule.
//!
//! Panics, timeouts (slow inputs) and out-of-memory are all bugs: the loader has limits against
//! alias bombs, deep nesting and document floods.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_k8s::{ManifestFile, PssOptions};
use rampart_pss::{Level, Version};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = rampart_k8s::looks_like_manifest(&text);
    let (file, errors) = ManifestFile::load("f.yaml", &text);
    for e in &errors {
        // Error positions are 1-based and displayable.
        let _ = e.to_string();
    }
    let _ = file.has_objects();
    for doc in &file.documents {
        let _ = doc.root.to_json();
    }
    // Validation removes the invalid objects; the rules run on what is left, as in a scan.
    let mut file = file;
    std::hint::black_box(file.remove_invalid());
    let files = [file];
    let assessment = rampart_k8s::scan(&files, &PssOptions::default());
    std::hint::black_box(&assessment);
    // A pinned old policy version and the baseline level take other paths through the PSS rules.
    let old = PssOptions {
        level: Level::Baseline,
        version: Version::v1(0),
    };
    std::hint::black_box(rampart_k8s::scan(&files, &old));
});
