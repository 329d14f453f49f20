//! Arbitrary JSON through the Pod Security Standards evaluator at every level and several
//! versions. `evaluate` promises never to panic whatever the JSON shape.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_pss::{Level, Version, evaluate};

const VERSIONS: [Version; 6] = [
    Version::LATEST,
    Version::NEWEST_POLICY,
    Version::new(0, 5),
    Version::v1(0),
    Version::v1(22),
    Version::v1(25),
];

fuzz_target!(|data: &[u8]| {
    let Ok(pod) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    for level in [Level::Privileged, Level::Baseline, Level::Restricted] {
        for version in VERSIONS {
            let result = evaluate(level, version, &pod);
            let message = result.message();
            // Invariants: allowed <=> empty message; privileged allows everything.
            assert_eq!(result.allowed(), message.is_empty());
            if level == Level::Privileged {
                assert!(result.allowed());
            }
            let _ = result.failed_check_ids();
            let _ = serde_json::to_string(&result);
        }
    }
});
