//! docs/falco-rules.md lists every field of the registry, and the registry has no duplicates.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code: a failed expectation is a test failure"
)]

use rampart_falco::fields::{FALCO_FIELDS_NOT_PROVIDED, FIELDS, field_info};
use std::collections::HashSet;

#[test]
fn every_field_is_documented_once() {
    let doc = std::fs::read_to_string(rampart_testkit::paths::root().join("docs/falco-rules.md"))
        .unwrap();
    let mut seen = HashSet::new();
    for f in FIELDS {
        assert!(seen.insert(f.name), "{} registered twice", f.name);
        assert!(
            doc.contains(&format!("| `{}` |", f.name)),
            "{} missing from docs/falco-rules.md",
            f.name
        );
        assert!(
            !FALCO_FIELDS_NOT_PROVIDED.contains(&f.name),
            "{} both provided and not",
            f.name
        );
        assert_eq!(field_info(f.name).map(|i| i.id), Some(f.id));
    }
}
