//! Regression tests for inputs found by fuzzing the loader and the rules (`fuzz/`, target
//! `manifest_loader`). Each input lives in `tests/fuzz-regressions/`.
//!
//! The slow-input cases are inputs that used to be processed quadratically (merge keys, policy
//! matching, per-workload lookups): tens of seconds to minutes. The tests assert what the scan
//! finds on them; timing is measured in `bench/`, never asserted here, so a regression shows as
//! a suite that suddenly takes minutes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rampart_k8s::{ManifestFile, PssOptions, objects};
use std::path::PathBuf;

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

/// What the fuzz target does: load, then scan.
struct Run {
    documents: usize,
    objects: usize,
    errors: usize,
    findings: usize,
}

fn run(name: &str) -> Run {
    let text = read(name);
    let (file, errors) = ManifestFile::load(name, &text);
    let assessment = rampart_k8s::scan(std::slice::from_ref(&file), &PssOptions::default());
    Run {
        documents: file.documents.len(),
        objects: file
            .documents
            .iter()
            .map(|d| objects::objects(d).len())
            .sum(),
        errors: errors.len(),
        findings: assessment.findings.len(),
    }
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
    // The 11111 identical policies select nothing these pods carry: every pod is uncovered, and
    // the finding says how many without listing them all.
    let text = read("scan-many-pods-netpol.yaml");
    let (file, _) = ManifestFile::load("f.yaml", &text);
    let a = rampart_k8s::scan(std::slice::from_ref(&file), &PssOptions::default());
    let net = a
        .findings
        .iter()
        .find(|f| f.rule_id == "NET001")
        .expect("NET001");
    assert!(net.message.contains("more"), "{}", net.message);
    assert!(
        net.message.len() < 1000,
        "bounded message: {} bytes",
        net.message.len()
    );
}

#[test]
fn inventory_lookups_per_workload_are_not_linear_scans() {
    let base = run("scan-many-pods.yaml");
    let slow = run("scan-many-pods-configmaps.yaml");
    assert_eq!((slow.documents, slow.errors, slow.objects), (1, 0, 77_772));
    assert_eq!(slow.findings, base.findings, "ConfigMaps add no findings");
}

#[test]
fn merge_keys_are_not_applied_quadratically() {
    let base = run("merge-keys-few-own.yaml");
    let slow = run("merge-keys-many-own.yaml");
    for r in [&base, &slow] {
        // Loads (about 1M nodes once expanded, under the 2M limit); not a Kubernetes object.
        assert_eq!((r.documents, r.errors, r.objects, r.findings), (1, 0, 0, 0));
    }
    let _ = base;
    let _ = slow;
    // Merge semantics hold at that size: the 490k merged `a` keys add one entry, once.
    let loaded = rampart_k8s::yaml::load(
        &read("merge-keys-many-own.yaml"),
        rampart_k8s::yaml::Limits::default(),
    );
    let merged = loaded.documents[0]
        .root
        .entries()
        .iter()
        .map(|(_, v)| v)
        .max_by_key(|v| v.entries().len())
        .expect("a mapping");
    let count = |k: &str| {
        merged
            .entries()
            .iter()
            .filter(|(key, _)| key.as_str() == Some(k))
            .count()
    };
    assert_eq!(count("a"), 1);
    // The 2000 own `b` keys are kept, once: a duplicate key overwrites, as in kubectl's go-yaml.
    assert_eq!(count("b"), 1, "own keys are kept");
}
