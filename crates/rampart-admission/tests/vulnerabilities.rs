//! The vulnerability gate over a real inventory file written by `rampart_vuln`'s
//! `Inventory::record` (as `rampart scan --record` does), opened read-only by the engine.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use rampart_core::{Severity, VulnPackage, Vulnerability};
use rampart_vuln::inventory::Inventory;
use serde_json::json;

const HIGH: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const LOW: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
const NEVER: &str = "sha256:3333333333333333333333333333333333333333333333333333333333333333";

fn finding(id: &str, severity: Severity) -> Vulnerability {
    Vulnerability {
        subject: "Image shop/web".into(),
        id: id.into(),
        aliases: vec![id.into()],
        advisories: vec![id.into()],
        package: VulnPackage {
            name: "openssl".into(),
            version: "3.0.1".into(),
            ecosystem: "deb".into(),
            purl: "pkg:deb/debian/openssl@3.0.1".into(),
            osv_ecosystem: "Debian:12".into(),
            matched_as: None,
            locations: Vec::new(),
        },
        fixed: vec!["3.0.2".into()],
        fixed_elsewhere: Vec::new(),
        severity,
        score: None,
        rated_from: None,
        summary: "a flaw".into(),
        references: Vec::new(),
        waived: None,
    }
}

fn pod_with(digest: &str) -> rampart_admission::review::AdmissionRequest {
    let mut raw = fixture_json("pod-create.json");
    raw["request"]["object"]["spec"]["containers"][0]["image"] =
        json!(format!("registry.example.com/shop/web@{digest}"));
    request_from(&raw)
}

fn gate(extra: &str) -> String {
    format!(
        "default-profile = \"p\"\n[profiles.p]\nvulnerabilities = {{ inventory = \"inventory.db\", severity = \"high\", max-age-days = 30{extra} }}\n"
    )
}

#[test]
fn findings_age_and_absence_from_the_inventory() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inventory.db");
    {
        let mut inv = Inventory::open(&path).unwrap();
        inv.record(
            HIGH,
            "shop/web:1",
            None,
            &[],
            &[
                finding("CVE-2024-0001", Severity::High),
                finding("CVE-2024-0002", Severity::Low),
            ],
        )
        .unwrap();
        inv.record(
            LOW,
            "shop/web:2",
            None,
            &[],
            &[finding("CVE-2024-0003", Severity::Medium)],
        )
        .unwrap();
    }
    // The database file itself (SQLite may add its WAL index files beside it for readers).
    let snapshot = |p: &std::path::Path| std::fs::read(p.join("inventory.db")).unwrap();
    let before = snapshot(dir.path());

    let e = engine_in(&gate(""), dir.path());
    let d = validate(&e, &pod_with(HIGH), None);
    assert!(!d.response.allowed);
    let m = message(&d);
    assert!(
        m.contains("CVE-2024-0001 (high)") && !m.contains("CVE-2024-0002"),
        "{m}"
    );
    assert!(validate(&e, &pod_with(LOW), None).response.allowed);
    let d = validate(&e, &pod_with(NEVER), None);
    assert!(!d.response.allowed);
    assert!(message(&d).contains("never scanned"), "{}", message(&d));
    let lenient = engine_in(&gate(", require-scanned = false"), dir.path());
    assert!(validate(&lenient, &pod_with(NEVER), None).response.allowed);
    let strict = engine_in(
        &gate(", severity = \"medium\"").replace("severity = \"high\", ", ""),
        dir.path(),
    );
    assert!(!validate(&strict, &pod_with(LOW), None).response.allowed);

    // the engine wrote nothing
    assert!(snapshot(dir.path()) == before, "the inventory changed");

    // a scan older than the limit
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute(
            "UPDATE images SET matched_at = '2020-01-01T00:00:00Z' WHERE id = ?1",
            [LOW],
        )
        .unwrap();
    }
    let fresh_engine = engine_in(&gate(""), dir.path());
    let d = validate(&fresh_engine, &pod_with(LOW), None);
    assert!(!d.response.allowed);
    assert!(
        message(&d).contains("last scanned at 2020-01-01T00:00:00Z"),
        "{}",
        message(&d)
    );
}

#[test]
fn a_missing_inventory_follows_the_failure_mode() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine_in(&gate(""), dir.path());
    let d = validate(&e, &pod_with(LOW), None);
    assert!(!d.response.allowed);
    assert!(message(&d).contains("cannot decide"), "{}", message(&d));
    assert!(
        !dir.path().join("inventory.db").exists(),
        "a read-only gate created the inventory"
    );
    let e = engine_in(
        &format!("failure-mode = \"allow\"\n{}", gate("")),
        dir.path(),
    );
    assert!(validate(&e, &pod_with(LOW), None).response.allowed);
}
