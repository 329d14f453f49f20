//! The inventory (find without touching images, rescan reports what changed) and OpenVEX.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use rampart_sbom::{Ecosystem, Package, Purl};
use rampart_vuln::Database;
use rampart_vuln::inventory::{Inventory, Query};
use rampart_vuln::matcher::match_packages;
use rampart_vuln::vex::{Status, Vex};

fn pkg(eco: Ecosystem, ns: Option<&str>, name: &str, version: &str, path: &str) -> Package {
    let purl = Purl::new(eco.purl_type(), ns, name, Some(version)).unwrap();
    Package::new(eco, name.to_owned(), version.to_owned(), purl, path)
}

fn log4j(version: &str) -> Package {
    pkg(
        Ecosystem::Maven,
        Some("org.apache.logging.log4j"),
        "log4j-core",
        version,
        "/app/lib/log4j-core.jar",
    )
}

#[test]
fn find_answers_from_recorded_sboms_with_version_ranges() {
    let dir = tempfile::tempdir().unwrap();
    let mut inv = Inventory::open(&dir.path().join("inventory.db")).unwrap();
    inv.record(
        "sha256:aaa",
        "shop/web:1",
        None,
        &[
            log4j("2.14.1"),
            pkg(
                Ecosystem::Npm,
                None,
                "lodash",
                "4.17.15",
                "/app/node_modules/lodash/package.json",
            ),
        ],
        &[],
    )
    .unwrap();
    inv.record("sha256:bbb", "shop/api:2", None, &[log4j("2.17.1")], &[])
        .unwrap();
    inv.record(
        "sha256:ccc",
        "shop/batch:3",
        None,
        &[pkg(
            Ecosystem::Cargo,
            None,
            "smallvec",
            "1.6.0",
            "/usr/bin/batch",
        )],
        &[],
    )
    .unwrap();
    fn names(inv: &Inventory, q: &str) -> Vec<String> {
        let mut v: Vec<String> = inv
            .find(&Query::parse(q).unwrap())
            .unwrap()
            .into_iter()
            .map(|f| f.image.name)
            .collect();
        v.sort();
        v
    }
    let images = |q: &str| names(&inv, q);
    assert_eq!(images("log4j-core"), ["shop/api:2", "shop/web:1"]);
    assert_eq!(
        images("LOG4J-CORE"),
        ["shop/api:2", "shop/web:1"],
        "names are case-insensitive"
    );
    assert_eq!(images("log4j-core@<2.17.0"), ["shop/web:1"]);
    assert_eq!(images("log4j-core@>=2.0-beta9,<2.17.1"), ["shop/web:1"]);
    assert_eq!(images("log4j-core@2.17.1"), ["shop/api:2"]);
    assert_eq!(
        images("org.apache.logging.log4j:log4j-core@<=2.17.1"),
        ["shop/api:2", "shop/web:1"]
    );
    assert_eq!(
        images("pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"),
        ["shop/web:1"]
    );
    assert_eq!(
        images("pkg:maven/org.apache.logging.log4j/log4j-core"),
        ["shop/api:2", "shop/web:1"]
    );
    assert_eq!(
        images("pkg:npm/log4j-core"),
        Vec::<String>::new(),
        "a purl pins the ecosystem"
    );
    assert_eq!(images("smallvec@<1.6.1"), ["shop/batch:3"]);
    assert!(images("nothing-like-this").is_empty());
    // The location inside the image comes back.
    let f = inv.find(&Query::parse("lodash").unwrap()).unwrap();
    assert_eq!(
        f[0].locations[0].path,
        "/app/node_modules/lodash/package.json"
    );
    // Recording the same image again replaces its packages.
    inv.record("sha256:aaa", "shop/web:1.1", None, &[log4j("2.17.1")], &[])
        .unwrap();
    assert_eq!(names(&inv, "log4j-core@<2.17.0"), Vec::<String>::new());
    assert_eq!(names(&inv, "lodash"), Vec::<String>::new());
    assert_eq!(inv.images().unwrap().len(), 3);
    for bad in ["", "@1.0", "x@", "x@<"] {
        assert!(Query::parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn rescan_reports_new_and_fixed_since_the_last_match() {
    let dir = tempfile::tempdir().unwrap();
    // The database at first knows only RustSec.
    let (old_db, _) = build_db(&dir.path().join("old"), &[corpus("osv-rustsec/crates")]);
    let (new_db, _) = build_db(
        &dir.path().join("new"),
        &[corpus("osv-rustsec/crates"), corpus("osv-go/data/osv")],
    );
    let old = Database::open(&old_db).unwrap();
    let new = Database::open(&new_db).unwrap();
    let packages = vec![
        pkg(Ecosystem::Cargo, None, "smallvec", "1.6.0", "/usr/bin/app"),
        pkg(
            Ecosystem::Go,
            Some("golang.org/x"),
            "text",
            "v0.3.5",
            "/usr/bin/app",
        ),
    ];
    let mut inv = Inventory::open(&dir.path().join("inventory.db")).unwrap();
    let first = match_packages(&old, "Image app", &packages, None).unwrap();
    assert!(
        first
            .findings
            .iter()
            .all(|f| f.package.ecosystem == "cargo")
    );
    inv.record("sha256:app", "app:1", None, &packages, &first.findings)
        .unwrap();

    // Rescanning with the same database: nothing new, nothing fixed.
    let same = inv.rescan(&old).unwrap();
    assert_eq!(same.len(), 1);
    assert!(
        same[0].new.is_empty() && same[0].fixed.is_empty(),
        "{same:?}"
    );
    assert_eq!(same[0].total, first.findings.len());

    // The Go advisories arrive: exactly the Go findings are new.
    let r = inv.rescan(&new).unwrap();
    let direct = match_packages(&new, "Image app", &packages, None).unwrap();
    let mut new_ids: Vec<&str> = r[0].new.iter().map(|f| f.id.as_str()).collect();
    new_ids.sort();
    let mut want: Vec<&str> = direct
        .findings
        .iter()
        .filter(|f| f.package.ecosystem == "golang")
        .map(|f| f.id.as_str())
        .collect();
    want.sort();
    assert!(want.contains(&"CVE-2021-38561"));
    assert_eq!(new_ids, want);
    assert!(r[0].fixed.is_empty());

    // Back to the old database, which has no Go advisories at all: the Go findings are not
    // fixed, they are not checked (reported apart) and kept.
    let back = inv.rescan(&old).unwrap();
    assert!(back[0].fixed.is_empty(), "{:?}", back[0].fixed);
    let mut kept: Vec<&str> = back[0]
        .not_checked
        .iter()
        .map(|(id, _)| id.as_str())
        .collect();
    kept.sort();
    assert_eq!(kept, want);
    assert_eq!(back[0].unchecked_packages.get("Go"), Some(&1));
    // With the Go advisories again nothing is new: the history was not reset.
    let again = inv.rescan(&new).unwrap();
    assert!(again[0].new.is_empty(), "{:?}", again[0].new);
    assert!(again[0].fixed.is_empty());
}

#[test]
fn openvex_statements_waive_findings_they_cover() {
    let db = Database::open(corpus_db()).unwrap();
    let text = pkg(
        Ecosystem::Go,
        Some("golang.org/x"),
        "text",
        "v0.3.5",
        "/usr/bin/app",
    );
    let m = match_packages(&db, "Image app", std::slice::from_ref(&text), None).unwrap();
    let cve = m
        .findings
        .iter()
        .find(|f| f.id == "CVE-2021-38561")
        .unwrap();
    let other = m
        .findings
        .iter()
        .find(|f| f.id == "CVE-2022-32149")
        .unwrap();
    let image = ["registry.example/app:1", "sha256:1111"];

    // v0.2 form: statement by alias (the GHSA id), product = the image, subcomponent = the package.
    let mut vex = Vex::default();
    vex.add_document(
        "app.vex.json",
        br#"{"@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://example/vex/1", "author": "sec", "timestamp": "2026-01-01T00:00:00Z", "version": 1,
            "statements": [{"vulnerability": {"name": "GHSA-ppp9-7jff-5vj2"},
                            "products": [{"@id": "pkg:oci/app@sha256%3A1111", "subcomponents": [{"@id": "pkg:golang/golang.org/x/text"}]}],
                            "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path"}]}"#,
    )
    .unwrap();
    let s = vex
        .waiver(cve, &image)
        .expect("covered by alias, image digest and versionless purl");
    assert_eq!(s.status, Status::NotAffected);
    assert_eq!(s.reason, "vulnerable_code_not_in_execute_path");
    assert!(
        vex.waiver(other, &image).is_none(),
        "another vulnerability is not covered"
    );
    assert!(
        vex.waiver(cve, &["other/image:1", "sha256:2222"]).is_none(),
        "another image is not covered"
    );

    // A later `affected` statement takes precedence; v0.0.x form (strings).
    vex.add_document(
        "later.vex.json",
        br#"{"@context": "https://openvex.dev/ns", "statements": [{"vulnerability": "CVE-2021-38561", "products": ["pkg:golang/golang.org/x/text@v0.3.5"], "status": "affected", "action_statement": "upgrade"}]}"#,
    )
    .unwrap();
    assert!(vex.waiver(cve, &image).is_none());
    assert_eq!(vex.decide(cve, &image).unwrap().status, Status::Affected);

    // `fixed` for the package purl at another version does not cover this version.
    let mut v2 = Vex::default();
    v2.add_document(
        "x",
        br#"{"@context": "https://openvex.dev/ns/v0.2.0", "statements": [{"vulnerability": {"name": "CVE-2021-38561"}, "products": [{"@id": "pkg:golang/golang.org/x/text@v0.3.7"}], "status": "fixed"}]}"#,
    )
    .unwrap();
    assert!(v2.waiver(cve, &image).is_none());

    // Not OpenVEX, or malformed: a clear error naming the document and statement.
    for (doc, want) in [
        (&br#"{"statements": []}"#[..], "not an OpenVEX context"),
        (br#"{"@context": "https://openvex.dev/ns/v0.2.0", "statements": [{"vulnerability": {"name": "X"}, "products": ["p"], "status": "maybe"}]}"#, "statements[0]: unknown status"),
        (br#"{"@context": "https://openvex.dev/ns/v0.2.0", "statements": [{"vulnerability": {"name": "X"}, "status": "fixed"}]}"#, "statements[0]: no products"),
        (b"{not json", "bad.json"),
    ] {
        let err = Vex::default().add_document("bad.json", doc).unwrap_err().to_string();
        assert!(err.contains(want) && err.contains("bad.json"), "{err}");
    }
}

/// Several scans recording into one inventory at once (parallel CI jobs, the example scanned
/// by concurrent tests) wait for each other: none fails with "database is locked".
#[test]
fn concurrent_recorders_wait_for_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inventory.db");
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let path = path.clone();
            std::thread::spawn(move || {
                for round in 0..5 {
                    let mut inv = Inventory::open(&path).unwrap();
                    let id = format!("sha256:{i:03}{round:03}");
                    let version = format!("2.{i}.{round}");
                    let package = log4j(&version);
                    // A scan that could not check some packages reads what it keeps before it
                    // writes: the case where a deferred transaction could not be upgraded.
                    let unchecked = std::collections::BTreeSet::from([package.purl.to_string()]);
                    inv.record_checked(&id, "shop/web:1", None, &[package], &[], &unchecked)
                        .unwrap_or_else(|e| panic!("recorder {i} round {round}: {e}"));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let inv = Inventory::open(&path).unwrap();
    assert_eq!(inv.images().unwrap().len(), 40);
}
