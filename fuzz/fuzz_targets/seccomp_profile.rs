//! Bytes through the seccomp profile parser (`rampart_seccomp::Profile::parse`, reduced size
//! limit); a profile that parses prints back to an equal profile, and lint, the comparison with
//! Docker's default profile and diff never panic on it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_seccomp::profile::{Limits, Profile};

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_bytes: 256 << 10,
        ..Limits::default()
    };
    let Ok(profile) = Profile::parse_with(data, "fuzz", limits) else {
        return;
    };
    let again = Profile::parse(profile.to_json().as_bytes(), "printed")
        .expect("a parsed profile prints back to a valid one");
    assert_eq!(profile, again);
    let _ = rampart_seccomp::lint(&profile);
    let d = rampart_seccomp::diff(&profile, &again);
    assert!(d.is_empty());
});
