//! Regression tests for inputs found by fuzzing the loader and the rules (`fuzz/`, target
//! `manifest_loader`). Each input lives in `tests/fuzz-regressions/`.
//!
//! The slow-input cases compare a file with a variant that only grows the part that used to be
//! processed quadratically: with linear (or n log n) code both take about as long, while the
//! quadratic code took 4.5-8x longer on the variant (release build). Ratios rather than absolute
//! times keep the tests meaningful in debug and release builds and on slow machines.

use rampart_k8s::{ManifestFile, PssOptions, objects};
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn read(name: &str) -> String {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "tests",
        "fuzz-regressions",
        name,
    ]
    .iter()
    .collect();
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// What the fuzz target does: load, then scan. Returns the loaded file and the time taken.
struct Run {
    documents: usize,
    objects: usize,
    errors: usize,
    findings: usize,
    elapsed: Duration,
}

fn run(name: &str) -> Run {
    let text = read(name);
    let start = Instant::now();
    let (file, errors) = ManifestFile::load(name, &text);
    let assessment = rampart_k8s::scan(std::slice::from_ref(&file), &PssOptions::default());
    let elapsed = start.elapsed();
    Run {
        documents: file.documents.len(),
        objects: file
            .documents
            .iter()
            .map(|d| objects::objects(d).len())
            .sum(),
        errors: errors.len(),
        findings: assessment.findings.len(),
        elapsed,
    }
}

/// `slow` must not take much longer than `base` (they differ only in the part that was quadratic).
fn assert_not_quadratic(base: &Run, slow: &Run, what: &str) {
    let limit = base.elapsed * 3 + Duration::from_millis(200);
    assert!(
        slow.elapsed <= limit,
        "{what}: {:?} vs {:?} for the baseline input (limit {limit:?}): quadratic again?",
        slow.elapsed,
        base.elapsed
    );
}

#[test]
fn network_policies_are_not_matched_quadratically() {
    let base = run("scan-many-pods.yaml");
    let slow = run("scan-many-pods-netpol.yaml");
    assert_eq!((base.documents, base.errors, base.objects), (1, 0, 11_111));
    assert_eq!((slow.documents, slow.errors, slow.objects), (1, 0, 22_222));
    // The pods are not hardened: findings are reported for each of them.
    assert!(base.findings >= 11_110, "{} findings", base.findings);
    assert!(slow.findings >= 11_110, "{} findings", slow.findings);
    assert_not_quadratic(&base, &slow, "11111 pods + 11111 NetworkPolicies");
}

#[test]
fn inventory_lookups_per_workload_are_not_linear_scans() {
    let base = run("scan-many-pods.yaml");
    let slow = run("scan-many-pods-configmaps.yaml");
    assert_eq!((slow.documents, slow.errors, slow.objects), (1, 0, 77_772));
    assert_eq!(slow.findings, base.findings, "ConfigMaps add no findings");
    assert_not_quadratic(&base, &slow, "11111 pods + 66661 ConfigMaps");
}

#[test]
fn merge_keys_are_not_applied_quadratically() {
    let base = run("merge-keys-few-own.yaml");
    let slow = run("merge-keys-many-own.yaml");
    for r in [&base, &slow] {
        // Loads (about 1M nodes once expanded, under the 2M limit); not a Kubernetes object.
        assert_eq!((r.documents, r.errors, r.objects, r.findings), (1, 0, 0, 0));
    }
    assert_not_quadratic(&base, &slow, "490k merged entries into 2000 own keys");
}
