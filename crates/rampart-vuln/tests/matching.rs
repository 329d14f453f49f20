//! Matching packages against real advisories: the OSV range algorithm checked against the
//! advisory databases' own data (PyPA's enumerated `versions`, every range's introduced and
//! fixed versions), end-to-end matches, aliases, distributions and source packages.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use rampart_core::Severity;
use rampart_sbom::{Distro, Ecosystem, Package, Purl, SourcePackage};
use rampart_version::Scheme;
use rampart_vuln::Database;
use rampart_vuln::matcher::{affects, match_packages};
use rampart_vuln::osv::{Affected, Record};

fn pkg(eco: Ecosystem, ns: Option<&str>, name: &str, version: &str) -> Package {
    let purl = Purl::new(eco.purl_type(), ns, name, Some(version)).unwrap();
    let display = match (eco, ns) {
        (Ecosystem::Npm, Some(ns)) => format!("{ns}/{name}"),
        _ => name.to_owned(),
    };
    Package::new(eco, display, version.to_owned(), purl, "/app/manifest")
}

/// Every affected entry of every record in a corpus directory.
fn records(dir: &std::path::Path) -> Vec<Record> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "json") {
                out.push(Record::from_json(&std::fs::read(&p).unwrap()).unwrap());
            } else if p.extension().is_some_and(|e| e == "yaml") {
                out.push(Record::from_yaml(&std::fs::read_to_string(&p).unwrap()).unwrap());
            }
        }
    }
    out
}

fn ranges_only(a: &Affected) -> Affected {
    Affected {
        versions: Vec::new(),
        ..a.clone()
    }
}

/// OSV computes PyPA's `versions` lists from the ECOSYSTEM ranges and PyPI's real releases:
/// every listed version must be inside the ranges by rampart's evaluation, and every `fixed`
/// version outside (unless it is itself listed).
#[test]
fn range_evaluation_agrees_with_pypa_enumerated_versions() {
    let (mut checked, mut bad, mut unparseable) = (0usize, Vec::new(), 0usize);
    for r in records(&corpus("osv-pypa/vulns")) {
        if r.withdrawn.is_some() {
            continue;
        }
        for a in &r.affected {
            if !a.ranges.iter().any(|x| x.kind == "ECOSYSTEM") {
                continue;
            }
            let only = Affected {
                ranges: a
                    .ranges
                    .iter()
                    .filter(|x| x.kind == "ECOSYSTEM")
                    .cloned()
                    .collect(),
                ..ranges_only(a)
            };
            // Ranges with a version PEP 440 rejects (`2019-09-12`) are left out at import.
            let parses = only.ranges.iter().flat_map(|x| &x.events).all(|e| {
                [&e.introduced, &e.fixed, &e.last_affected, &e.limit]
                    .into_iter()
                    .flatten()
                    .all(|v| v == "0" || Scheme::Pep440.parse(v).is_ok())
            });
            if !parses {
                unparseable += 1;
                continue;
            }
            for v in &a.versions {
                let Ok(parsed) = Scheme::Pep440.parse(v) else {
                    continue;
                };
                checked += 1;
                if affects(Scheme::Pep440, &parsed, v, &only).is_none() {
                    bad.push(format!("{}: listed {v} not in range", r.id));
                }
            }
            for f in only
                .ranges
                .iter()
                .flat_map(|x| &x.events)
                .filter_map(|e| e.fixed.as_deref())
            {
                // A version that both ends one interval and starts the next is affected.
                if a.versions.iter().any(|v| v == f)
                    || only
                        .ranges
                        .iter()
                        .flat_map(|x| &x.events)
                        .any(|e| e.introduced.as_deref() == Some(f))
                {
                    continue;
                }
                let parsed = Scheme::Pep440.parse(f).unwrap();
                checked += 1;
                if affects(Scheme::Pep440, &parsed, f, &only).is_some() {
                    bad.push(format!("{}: fixed {f} in range", r.id));
                }
            }
        }
    }
    println!("{checked} versions checked, {unparseable} entries with unparseable ranges");
    assert!(checked > 20_000, "{checked}");
    assert!(unparseable < 100, "{unparseable}");
    // Where the database's own list disagrees with its ranges under PEP 440, the list is
    // wrong and rampart follows the ranges (the list is still matched as such in scans):
    // - PYSEC-2023-61 lists 3.2a1..3.2rc1 and 4.2a1..4.2rc1 for ranges introduced at "3.2" and
    //   "4.2"; PEP 440 orders every pre-release before its release (packaging agrees).
    // - PYSEC-2023-177 lists 23.9.0 and 23.9.0.post1, enumerated from its GIT range, while its
    //   ECOSYSTEM range says fixed 23.9.0.
    let known = [
        "PYSEC-2023-61: listed 3.2a1 not in range",
        "PYSEC-2023-61: listed 3.2b1 not in range",
        "PYSEC-2023-61: listed 3.2rc1 not in range",
        "PYSEC-2023-61: listed 4.2a1 not in range",
        "PYSEC-2023-61: listed 4.2b1 not in range",
        "PYSEC-2023-61: listed 4.2rc1 not in range",
        "PYSEC-2023-177: listed 23.9.0 not in range",
        "PYSEC-2023-177: listed 23.9.0.post1 not in range",
    ];
    let unexplained: Vec<&String> = bad
        .iter()
        .filter(|b| !known.contains(&b.as_str()))
        .collect();
    assert!(
        unexplained.is_empty(),
        "{} disagreements: {:?}",
        unexplained.len(),
        &unexplained[..unexplained.len().min(20)]
    );
    assert_eq!(
        bad.len(),
        known.len(),
        "the known disagreements are still there: {bad:?}"
    );
}

/// On Go and RustSec (SEMVER ranges): an `introduced` version is affected, a `fixed` one is
/// not (unless another interval of the same package starts there).
#[test]
fn range_evaluation_on_every_go_and_rustsec_event() {
    let mut checked = 0usize;
    let mut bad = Vec::new();
    for dir in ["osv-go/data/osv", "osv-rustsec/crates"] {
        for r in records(&corpus(dir)) {
            for a in &r.affected {
                let fixed_at: Vec<&str> = a
                    .ranges
                    .iter()
                    .flat_map(|x| &x.events)
                    .filter_map(|e| e.fixed.as_deref())
                    .collect();
                let introduced: Vec<&str> = a
                    .ranges
                    .iter()
                    .flat_map(|x| &x.events)
                    .filter_map(|e| e.introduced.as_deref())
                    .collect();
                for range in &a.ranges {
                    for e in &range.events {
                        let (v, want) = match (&e.introduced, &e.fixed) {
                            // `introduced: X` then `fixed: X` is an empty interval.
                            (Some(v), _) if v != "0" && !fixed_at.contains(&v.as_str()) => {
                                (v.as_str(), true)
                            }
                            (_, Some(v)) if !introduced.contains(&v.as_str()) => {
                                (v.as_str(), false)
                            }
                            _ => continue,
                        };
                        let Ok(parsed) = Scheme::SemVer.parse(v) else {
                            bad.push(format!("{}: {v} does not parse", r.id));
                            continue;
                        };
                        checked += 1;
                        if affects(Scheme::SemVer, &parsed, v, &ranges_only(a)).is_some() != want {
                            bad.push(format!("{}: {v} should be affected={want}", r.id));
                        }
                    }
                }
            }
        }
    }
    println!("{checked} events checked");
    assert!(checked > 5_000, "{checked}");
    assert!(
        bad.is_empty(),
        "{} disagreements, first: {:?}",
        bad.len(),
        &bad[..bad.len().min(20)]
    );
}

#[test]
fn real_packages_match_real_advisories_with_aliases_and_fixes() {
    let db = Database::open(corpus_db()).unwrap();
    let packages = vec![
        pkg(Ecosystem::Go, Some("golang.org/x"), "text", "v0.3.5"),
        pkg(Ecosystem::Go, Some("golang.org/x"), "text", "v0.3.8"),
        pkg(Ecosystem::Cargo, None, "smallvec", "1.6.0"),
        pkg(Ecosystem::Cargo, None, "smallvec", "1.6.1"),
        pkg(Ecosystem::PyPI, None, "AccessControl", "4.2"),
        pkg(Ecosystem::PyPI, None, "accesscontrol", "4.3"),
    ];
    let m = match_packages(&db, "Image test", &packages, None).unwrap();
    let got = |purl: &str| -> Vec<(String, Vec<String>)> {
        let mut v: Vec<_> = m
            .findings
            .iter()
            .filter(|f| f.package.purl == purl)
            .map(|f| (f.id.clone(), f.fixed.clone()))
            .collect();
        v.sort();
        v
    };
    // GO-2021-0113 (CVE-2021-38561, fixed 0.3.7) and GO-2022-1059 (CVE-2022-32149, 0.3.8).
    let text = got("pkg:golang/golang.org/x/text@v0.3.5");
    assert!(
        text.contains(&("CVE-2021-38561".into(), vec!["0.3.7".into()])),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|(id, f)| id == "CVE-2022-32149" && f == &["0.3.8"]),
        "{text:?}"
    );
    assert!(
        got("pkg:golang/golang.org/x/text@v0.3.8")
            .iter()
            .all(|(id, _)| id != "CVE-2022-32149" && id != "CVE-2021-38561")
    );
    // RUSTSEC-2021-0003: smallvec 1.6.0 affected, 1.6.1 fixed.
    let sv: Vec<String> = m
        .findings
        .iter()
        .filter(|f| f.package.name == "smallvec")
        .flat_map(|f| f.advisories.clone())
        .collect();
    assert!(sv.contains(&"RUSTSEC-2021-0003".to_owned()), "{sv:?}");
    assert!(m.findings.iter().all(|f| !(f.package.version == "1.6.1"
        && f.advisories.contains(&"RUSTSEC-2021-0003".to_owned()))));
    // PyPI names are normalized (AccessControl = accesscontrol); 4.3 is the fix.
    let ac: Vec<_> = m
        .findings
        .iter()
        .filter(|f| f.package.name == "AccessControl")
        .collect();
    assert!(
        ac.iter()
            .any(|f| f.advisories.contains(&"PYSEC-2021-335".to_owned()) && f.fixed == ["4.3"]),
        "{ac:?}"
    );
    assert!(
        m.findings.iter().all(|f| !(f.package.version == "4.3"
            && f.advisories.contains(&"PYSEC-2021-335".to_owned())))
    );
    // Every finding has an id among its aliases and a severity from a vector when one exists.
    for f in &m.findings {
        assert!(f.aliases.contains(&f.id), "{f:?}");
        if let Some(from) = &f.rated_from {
            if from.starts_with("CVSS:") {
                assert!(f.score.is_some());
            }
        }
    }
    assert!(
        m.findings
            .windows(2)
            .all(|w| w[0].severity >= w[1].severity),
        "worst first"
    );
}

#[test]
fn advisories_that_alias_each_other_are_one_finding() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("recs");
    std::fs::create_dir_all(&src).unwrap();
    // The real Go record, plus a GHSA record for the same module and CVE (GHSA's form of it).
    std::fs::copy(
        corpus("osv-go/data/osv/GO-2021-0113.json"),
        src.join("GO-2021-0113.json"),
    )
    .unwrap();
    std::fs::write(
        src.join("GHSA-ppp9-7jff-5vj2.json"),
        r#"{"id": "GHSA-ppp9-7jff-5vj2", "aliases": ["CVE-2021-38561"], "summary": "Out-of-bounds Read in golang.org/x/text",
            "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}],
            "affected": [{"package": {"ecosystem": "Go", "name": "golang.org/x/text"},
                          "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "0.3.7"}]}]}],
            "database_specific": {"severity": "HIGH"}}"#,
    )
    .unwrap();
    let (db, _) = build_db(dir.path(), &[src]);
    let db = Database::open(&db).unwrap();
    let m = match_packages(
        &db,
        "s",
        &[pkg(Ecosystem::Go, Some("golang.org/x"), "text", "v0.3.6")],
        None,
    )
    .unwrap();
    assert_eq!(m.findings.len(), 1, "{:#?}", m.findings);
    let f = &m.findings[0];
    assert_eq!(f.id, "CVE-2021-38561");
    assert_eq!(f.advisories, ["GHSA-ppp9-7jff-5vj2", "GO-2021-0113"]);
    assert_eq!(
        f.aliases,
        ["CVE-2021-38561", "GHSA-ppp9-7jff-5vj2", "GO-2021-0113"]
    );
    assert_eq!(f.fixed, ["0.3.7"]);
    // CVSS 3.1 AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H = 7.5 (FIRST calculator).
    assert_eq!(
        (f.severity, f.score.map(|s| s.to_string())),
        (Severity::High, Some("7.5".into()))
    );
}

/// Distribution advisories are about source packages of one release.
#[test]
fn debian_binary_packages_match_by_source_package_and_release() {
    let dir = tempfile::tempdir().unwrap();
    let src = fixture("debian");
    let (db, imported) = build_db(dir.path(), &[src]);
    assert!(!imported[0].had_broken_input(), "{:?}", imported[0].skips);
    let db = Database::open(&db).unwrap();
    let bookworm = Distro {
        id: "debian".into(),
        version_id: Some("12".into()),
        codename: Some("bookworm".into()),
    };
    let bullseye = Distro {
        id: "debian".into(),
        version_id: Some("11".into()),
        codename: Some("bullseye".into()),
    };
    let mut libssl = pkg(
        Ecosystem::Deb,
        Some("debian"),
        "libssl3",
        "3.0.11-1~deb12u1",
    );
    libssl.source_package = Some(SourcePackage {
        name: "openssl".into(),
        version: "3.0.11-1~deb12u1".into(),
    });
    let mut fixed = libssl.clone();
    fixed.version = "3.0.11-1~deb12u2".into();
    fixed.purl = Purl::new("deb", Some("debian"), "libssl3", Some("3.0.11-1~deb12u2")).unwrap();
    fixed.source_package = Some(SourcePackage {
        name: "openssl".into(),
        version: "3.0.11-1~deb12u2".into(),
    });
    let m = match_packages(&db, "s", &[libssl.clone(), fixed], Some(&bookworm)).unwrap();
    let ids: Vec<(&str, &str)> = m
        .findings
        .iter()
        .map(|f| (f.id.as_str(), f.package.version.as_str()))
        .collect();
    assert_eq!(
        ids,
        [("CVE-2023-5363", "3.0.11-1~deb12u1")],
        "{:#?}",
        m.findings
    );
    let f = &m.findings[0];
    assert_eq!(
        f.package.matched_as.as_deref(),
        Some("openssl 3.0.11-1~deb12u1")
    );
    assert_eq!(f.package.osv_ecosystem, "Debian:12");
    assert_eq!(f.fixed, ["3.0.11-1~deb12u2"]);
    assert!(f.advisories.contains(&"DSA-5532-1".to_owned()));
    // The same package on Debian 11 is judged by Debian:11 rows only: there are none, so it is
    // not checked (never "none known").
    let m11 = match_packages(&db, "s", &[libssl.clone()], Some(&bullseye)).unwrap();
    assert!(m11.findings.is_empty(), "{:#?}", m11.findings);
    assert_eq!(
        m11.not_checked,
        std::collections::BTreeMap::from([("Debian:11".to_owned(), 1)])
    );
    assert!(m.not_checked.is_empty(), "{:?}", m.not_checked);
    // Without a release, OS packages are not guessed at: skipped and counted.
    let none = match_packages(&db, "s", &[libssl], None).unwrap();
    assert!(none.findings.is_empty());
    assert_eq!(none.skips.counts.get("OS release unknown"), Some(&1));
}

#[test]
fn withdrawn_advisories_never_match() {
    let db = Database::open(corpus_db()).unwrap();
    // Every withdrawn Go record in the corpus, with a version inside its ranges.
    let mut tried = 0;
    for r in records(&corpus("osv-go/data/osv"))
        .into_iter()
        .filter(|r| r.withdrawn.is_some())
    {
        for a in &r.affected {
            let Some(p) = &a.package else { continue };
            let Some(v) = a
                .ranges
                .iter()
                .flat_map(|x| &x.events)
                .find_map(|e| e.introduced.clone())
            else {
                continue;
            };
            let v = if v == "0" { "0.0.1".to_owned() } else { v };
            let (ns, name) = p
                .name
                .rsplit_once('/')
                .map_or((None, p.name.as_str()), |(a, b)| (Some(a), b));
            let m = match_packages(&db, "s", &[pkg(Ecosystem::Go, ns, name, &v)], None).unwrap();
            assert!(
                m.findings.iter().all(|f| !f.advisories.contains(&r.id)),
                "{} matched",
                r.id
            );
            tried += 1;
        }
    }
    assert!(tried > 0);
}

#[test]
fn last_affected_and_limit_events() {
    let a: Affected = serde_json::from_str(
        r#"{"ranges": [{"type": "SEMVER", "events": [{"introduced": "1.0.0"}, {"last_affected": "1.4.2"}]},
                        {"type": "SEMVER", "events": [{"introduced": "2.0.0"}, {"limit": "2.5.0"}]}]}"#,
    )
    .unwrap();
    for (v, want) in [
        ("0.9.0", false),
        ("1.0.0", true),
        ("1.4.2", true),
        ("1.4.3", false),
        ("2.0.0", true),
        ("2.4.9", true),
        ("2.5.0", false),
        ("3.0.0", false),
    ] {
        let p = Scheme::SemVer.parse(v).unwrap();
        assert_eq!(affects(Scheme::SemVer, &p, v, &a).is_some(), want, "{v}");
    }
    // Events out of order are sorted first; introduced 0 is the start.
    let b: Affected = serde_json::from_str(
        r#"{"ranges": [{"type": "ECOSYSTEM", "events": [{"fixed": "2.0"}, {"introduced": "0"}, {"fixed": "1.5"}, {"introduced": "1.8"}]}],
            "versions": ["3.0"]}"#,
    )
    .unwrap();
    for (v, want, fix) in [
        ("1.0", true, Some("1.5")),
        ("1.5", false, None),
        ("1.9", true, Some("2.0")),
        ("2.0", false, None),
        ("3.0", true, None),
    ] {
        let p = Scheme::Pep440.parse(v).unwrap();
        let got = affects(Scheme::Pep440, &p, v, &b);
        assert_eq!(got.is_some(), want, "{v}");
        if let (Some(f), Some(fix)) = (got, fix) {
            assert_eq!(f, [fix]);
        }
    }
}

/// Large sets are matched on several threads: the result is the same as matching the packages
/// one small set at a time.
#[test]
fn large_sets_match_the_same_as_small_ones() {
    let db = Database::open(corpus_db()).unwrap();
    let base = [
        pkg(Ecosystem::Go, Some("golang.org/x"), "text", "v0.3.5"),
        pkg(Ecosystem::Cargo, None, "smallvec", "1.6.0"),
        pkg(Ecosystem::PyPI, None, "AccessControl", "4.2"),
        pkg(Ecosystem::PyPI, None, "not-a-known-package", "1.0"),
    ];
    let mut all = Vec::new();
    for i in 0..1500 {
        for p in &base {
            let mut p = p.clone();
            p.locations[0].path = format!("/srv/app{i}/manifest");
            all.push(p);
        }
    }
    let big = match_packages(&db, "s", &all, None).unwrap();
    let small = match_packages(&db, "s", &base, None).unwrap();
    assert_eq!(big.packages, all.len());
    assert_eq!(big.findings.len(), small.findings.len() * 1500);
    let key = |f: &rampart_core::Vulnerability| {
        (
            f.id.clone(),
            f.package.purl.clone(),
            f.fixed.clone(),
            f.severity,
        )
    };
    let mut want: Vec<_> = small.findings.iter().map(key).collect();
    want.sort();
    let mut got: Vec<_> = big.findings.iter().map(key).collect();
    got.sort();
    got.dedup();
    assert_eq!(got, want);
}

/// Alpine advisories are about origin (source) packages of one branch (`Alpine:v3.20`); Ubuntu
/// ones name the release among other parts (`Ubuntu:22.04:LTS`).
#[test]
fn alpine_and_ubuntu_releases() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("recs");
    std::fs::create_dir_all(&src).unwrap();
    // The form of Alpine's and Ubuntu's OSV exports (ALPINE-CVE-*, UBUNTU-CVE-*): source package
    // names, ECOSYSTEM ranges on apk and dpkg versions.
    std::fs::write(
        src.join("ALPINE-CVE-2024-5535.json"),
        r#"{"id": "ALPINE-CVE-2024-5535", "aliases": ["CVE-2024-5535"],
            "affected": [{"package": {"ecosystem": "Alpine:v3.20", "name": "openssl"},
                          "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.3.1-r1"}]}]},
                         {"package": {"ecosystem": "Alpine:v3.19", "name": "openssl"},
                          "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.1.6-r0"}]}]}]}"#,
    )
    .unwrap();
    std::fs::write(
        src.join("UBUNTU-CVE-2024-5535.json"),
        r#"{"id": "UBUNTU-CVE-2024-5535", "aliases": ["CVE-2024-5535"],
            "severity": [{"type": "Ubuntu", "score": "low"}],
            "affected": [{"package": {"ecosystem": "Ubuntu:22.04:LTS", "name": "openssl"},
                          "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0.2-0ubuntu1.17"}]}]}]}"#,
    )
    .unwrap();
    let (db, imported) = build_db(dir.path(), &[src]);
    assert!(imported[0].skips.is_empty(), "{:?}", imported[0].skips);
    let db = Database::open(&db).unwrap();
    let alpine = |v: &str| Distro {
        id: "alpine".into(),
        version_id: Some(v.into()),
        codename: None,
    };
    let mut libcrypto = pkg(Ecosystem::Apk, Some("alpine"), "libcrypto3", "3.3.0-r2");
    libcrypto.source_package = Some(SourcePackage {
        name: "openssl".into(),
        version: "3.3.0-r2".into(),
    });
    let m = match_packages(
        &db,
        "s",
        std::slice::from_ref(&libcrypto),
        Some(&alpine("3.20.1")),
    )
    .unwrap();
    assert_eq!(m.findings.len(), 1, "{:#?}", m.findings);
    assert_eq!(
        (
            m.findings[0].id.as_str(),
            m.findings[0].package.osv_ecosystem.as_str()
        ),
        ("CVE-2024-5535", "Alpine:v3.20")
    );
    assert_eq!(m.findings[0].fixed, ["3.3.1-r1"]);
    let mut fixed = libcrypto.clone();
    fixed.version = "3.3.1-r1".into();
    fixed.source_package = Some(SourcePackage {
        name: "openssl".into(),
        version: "3.3.1-r1".into(),
    });
    let clean = |p: &Package, release: &str| {
        match_packages(&db, "s", std::slice::from_ref(p), Some(&alpine(release)))
            .unwrap()
            .findings
            .is_empty()
    };
    assert!(clean(&fixed, "3.20.1"));
    // v3.19's row judges 3.3.0-r2 (above its fix) not affected; v3.21 has no rows.
    assert!(clean(&libcrypto, "3.19.4"));
    // v3.21 has no rows: not checked, rather than clean.
    let v321 = match_packages(
        &db,
        "s",
        std::slice::from_ref(&libcrypto),
        Some(&alpine("3.21.0")),
    )
    .unwrap();
    assert!(v321.findings.is_empty());
    assert_eq!(v321.not_checked.get("Alpine:v3.21"), Some(&1));

    let jammy = Distro {
        id: "ubuntu".into(),
        version_id: Some("22.04".into()),
        codename: Some("jammy".into()),
    };
    let mut libssl = pkg(
        Ecosystem::Deb,
        Some("ubuntu"),
        "libssl3",
        "3.0.2-0ubuntu1.15",
    );
    libssl.source_package = Some(SourcePackage {
        name: "openssl".into(),
        version: "3.0.2-0ubuntu1.15".into(),
    });
    let m = match_packages(&db, "s", &[libssl], Some(&jammy)).unwrap();
    assert_eq!(m.findings.len(), 1);
    assert_eq!(m.findings[0].package.osv_ecosystem, "Ubuntu:22.04:LTS");
    assert_eq!(
        m.findings[0].severity,
        Severity::Low,
        "Ubuntu's priority word"
    );
}
