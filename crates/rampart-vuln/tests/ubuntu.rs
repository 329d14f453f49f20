//! Ubuntu's OSV data, on records written the way Ubuntu publishes them (canonical's
//! ubuntu-security-notices `osv/` tree: `UBUNTU-CVE-*` records keep their CVE in `upstream`,
//! `USN-*` notices list the `UBUNTU-CVE-*` records they fix in `upstream`; `affected` entries
//! name source packages per stream: `Ubuntu:22.04:LTS`, `Ubuntu:Pro:22.04:LTS`,
//! `Ubuntu:Pro:FIPS-updates:22.04:LTS`, with the built binaries in
//! `ecosystem_specific.binaries`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;

use common::*;
use rampart_core::Vulnerability;
use rampart_sbom::{Distro, Ecosystem, Package, Purl, SourcePackage};
use rampart_vuln::Database;
use rampart_vuln::assess::{Options, Target, assess, message};
use rampart_vuln::matcher::match_packages;

/// `UBUNTU-CVE-2025-29769`: vips in 22.04 is vulnerable with no fix in the release (its versions
/// listed), fixed in Ubuntu Pro (esm-apps); 25.10 vulnerable too.
const VIPS: &str = r#"{
  "schema_version": "1.7.0",
  "id": "UBUNTU-CVE-2025-29769",
  "details": "libvips is a demand-driven, horizontally threaded image processing library. The heifsave operation could crash on a crafted image.",
  "aliases": [],
  "upstream": ["CVE-2025-29769"],
  "related": [],
  "severity": [
    {"type": "CVSS_V3", "score": "CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:N/I:N/A:H"},
    {"type": "Ubuntu", "score": "medium"}
  ],
  "published": "2025-04-07T20:15:00Z",
  "modified": "2025-09-12T19:00:05Z",
  "affected": [
    {
      "package": {"ecosystem": "Ubuntu:22.04:LTS", "name": "vips", "purl": "pkg:deb/ubuntu/vips@8.12.1-1?arch=source&distro=jammy"},
      "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}],
      "versions": ["8.12.1-1"],
      "ecosystem_specific": {"binaries": [{"binary_name": "gir1.2-vips-8.0", "binary_version": "8.12.1-1"}, {"binary_name": "libvips42", "binary_version": "8.12.1-1"}, {"binary_name": "libvips-tools", "binary_version": "8.12.1-1"}]}
    },
    {
      "package": {"ecosystem": "Ubuntu:Pro:22.04:LTS", "name": "vips", "purl": "pkg:deb/ubuntu/vips@8.12.1-1ubuntu0.1~esm1?arch=source&distro=esm-apps/jammy"},
      "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "8.12.1-1ubuntu0.1~esm1"}]}],
      "ecosystem_specific": {"binaries": [{"binary_name": "libvips42", "binary_version": "8.12.1-1ubuntu0.1~esm1"}], "availability": "Available with Ubuntu Pro: https://ubuntu.com/pro"}
    },
    {
      "package": {"ecosystem": "Ubuntu:25.10", "name": "vips", "purl": "pkg:deb/ubuntu/vips@8.16.1-1?arch=source&distro=questing"},
      "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}],
      "versions": ["8.16.1-1"]
    }
  ],
  "references": [
    {"type": "REPORT", "url": "https://ubuntu.com/security/CVE-2025-29769"}
  ]
}"#;

/// `UBUNTU-CVE-2024-2511` for openssl: fixed in the plain 22.04 release, and a FIPS-updates
/// stream entry with its own (FIPS) versions.
const OPENSSL_2511: &str = r#"{
  "schema_version": "1.7.0",
  "id": "UBUNTU-CVE-2024-2511",
  "details": "Issue summary: Some non-default TLS server configurations can cause unbounded memory growth when processing TLSv1.3 sessions.",
  "aliases": [],
  "upstream": ["CVE-2024-2511"],
  "related": ["USN-6937-1"],
  "severity": [{"type": "Ubuntu", "score": "low"}],
  "published": "2024-04-08T14:15:00Z",
  "modified": "2025-01-07T16:00:00Z",
  "affected": [
    {
      "package": {"ecosystem": "Ubuntu:22.04:LTS", "name": "openssl", "purl": "pkg:deb/ubuntu/openssl@3.0.2-0ubuntu1.17?arch=source&distro=jammy"},
      "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0.2-0ubuntu1.17"}]}],
      "versions": ["3.0.2-0ubuntu1", "3.0.2-0ubuntu1.15", "3.0.2-0ubuntu1.16"],
      "ecosystem_specific": {"binaries": [{"binary_name": "libssl-dev", "binary_version": "3.0.2-0ubuntu1.17"}, {"binary_name": "libssl3", "binary_version": "3.0.2-0ubuntu1.17"}, {"binary_name": "openssl", "binary_version": "3.0.2-0ubuntu1.17"}]}
    },
    {
      "package": {"ecosystem": "Ubuntu:Pro:FIPS-updates:22.04:LTS", "name": "openssl", "purl": "pkg:deb/ubuntu/openssl@3.0.2-0ubuntu1.17+Fips1?arch=source&distro=fips-updates/jammy"},
      "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0.2-0ubuntu1.17+Fips1"}]}]
    }
  ]
}"#;

/// `UBUNTU-CVE-2024-4741` for openssl: listed only in the FIPS-updates stream of 22.04.
const OPENSSL_FIPS_ONLY: &str = r#"{
  "schema_version": "1.7.0",
  "id": "UBUNTU-CVE-2024-4741",
  "details": "Issue summary: Calling the OpenSSL API function SSL_free_buffers may cause memory to be accessed that was previously freed in some situations.",
  "aliases": [],
  "upstream": ["CVE-2024-4741"],
  "related": [],
  "severity": [{"type": "Ubuntu", "score": "low"}],
  "published": "2024-05-28T14:15:00Z",
  "modified": "2025-01-07T16:00:00Z",
  "affected": [
    {
      "package": {"ecosystem": "Ubuntu:Pro:FIPS-updates:22.04:LTS", "name": "openssl", "purl": "pkg:deb/ubuntu/openssl@3.0.2-0ubuntu1.18+Fips1?arch=source&distro=fips-updates/jammy"},
      "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0.2-0ubuntu1.18+Fips1"}]}]
    }
  ]
}"#;

/// `UBUNTU-CVE-2024-5535` and `UBUNTU-CVE-2024-9143`, and `USN-7264-1` which fixes both in
/// openssl (its `upstream` names the two Ubuntu CVE records).
const OPENSSL_5535: &str = r#"{
  "schema_version": "1.7.0",
  "id": "UBUNTU-CVE-2024-5535",
  "details": "Issue summary: Calling the OpenSSL API function SSL_select_next_proto with an empty supported client protocols buffer may cause a crash or memory contents to be sent to the peer.",
  "aliases": [],
  "upstream": ["CVE-2024-5535"],
  "related": ["USN-7264-1"],
  "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:H"}, {"type": "Ubuntu", "score": "low"}],
  "published": "2024-06-27T11:15:00Z",
  "modified": "2025-02-11T12:00:00Z",
  "affected": [
    {
      "package": {"ecosystem": "Ubuntu:22.04:LTS", "name": "openssl", "purl": "pkg:deb/ubuntu/openssl@3.0.2-0ubuntu1.19?arch=source&distro=jammy"},
      "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0.2-0ubuntu1.19"}]}],
      "ecosystem_specific": {"binaries": [{"binary_name": "libssl3", "binary_version": "3.0.2-0ubuntu1.19"}, {"binary_name": "openssl", "binary_version": "3.0.2-0ubuntu1.19"}]}
    }
  ]
}"#;

const OPENSSL_9143: &str = r#"{
  "schema_version": "1.7.0",
  "id": "UBUNTU-CVE-2024-9143",
  "details": "Issue summary: Use of the low-level GF(2^m) elliptic curve APIs with untrusted explicit values for the field polynomial can lead to out-of-bounds memory reads or writes.",
  "aliases": [],
  "upstream": ["CVE-2024-9143"],
  "related": ["USN-7264-1"],
  "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:L"}, {"type": "Ubuntu", "score": "low"}],
  "published": "2024-10-16T17:15:00Z",
  "modified": "2025-02-11T12:00:00Z",
  "affected": [
    {
      "package": {"ecosystem": "Ubuntu:22.04:LTS", "name": "openssl", "purl": "pkg:deb/ubuntu/openssl@3.0.2-0ubuntu1.19?arch=source&distro=jammy"},
      "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0.2-0ubuntu1.19"}]}],
      "ecosystem_specific": {"binaries": [{"binary_name": "libssl3", "binary_version": "3.0.2-0ubuntu1.19"}, {"binary_name": "openssl", "binary_version": "3.0.2-0ubuntu1.19"}]}
    }
  ]
}"#;

const USN_7264_1: &str = r#"{
  "schema_version": "1.7.0",
  "id": "USN-7264-1",
  "summary": "openssl vulnerabilities",
  "details": "It was discovered that OpenSSL incorrectly handled certain memory operations. An attacker could use these issues to cause OpenSSL to crash, resulting in a denial of service.",
  "aliases": [],
  "related": ["CVE-2024-5535", "UBUNTU-CVE-2024-5535", "CVE-2024-9143", "UBUNTU-CVE-2024-9143"],
  "upstream": ["UBUNTU-CVE-2024-5535", "UBUNTU-CVE-2024-9143"],
  "published": "2025-02-11T12:00:00Z",
  "modified": "2025-02-11T12:00:00Z",
  "affected": [
    {
      "package": {"ecosystem": "Ubuntu:22.04:LTS", "name": "openssl", "purl": "pkg:deb/ubuntu/openssl@3.0.2-0ubuntu1.19?arch=source&distro=jammy"},
      "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0.2-0ubuntu1.19"}]}],
      "versions": ["3.0.2-0ubuntu1", "3.0.2-0ubuntu1.15", "3.0.2-0ubuntu1.16", "3.0.2-0ubuntu1.17", "3.0.2-0ubuntu1.18"],
      "ecosystem_specific": {"binaries": [{"binary_name": "libssl3", "binary_version": "3.0.2-0ubuntu1.19"}, {"binary_name": "openssl", "binary_version": "3.0.2-0ubuntu1.19"}]}
    }
  ],
  "references": [{"type": "ADVISORY", "url": "https://ubuntu.com/security/notices/USN-7264-1"}]
}"#;

/// `UBUNTU-CVE-2024-40635` for the source package `containerd` in 24.04; 24.04's `containerd`
/// binary is built from the source package `containerd-app`, which this record does not name.
const CONTAINERD: &str = r#"{
  "schema_version": "1.7.0",
  "id": "UBUNTU-CVE-2024-40635",
  "details": "containerd is an open-source container runtime. A bug was found in containerd where containers launched with a User set as a UID:GID larger than the maximum 32-bit signed integer can cause an overflow condition.",
  "aliases": [],
  "upstream": ["CVE-2024-40635"],
  "related": [],
  "severity": [{"type": "Ubuntu", "score": "medium"}],
  "published": "2025-03-17T22:15:00Z",
  "modified": "2025-04-01T10:00:00Z",
  "affected": [
    {
      "package": {"ecosystem": "Ubuntu:24.04:LTS", "name": "containerd", "purl": "pkg:deb/ubuntu/containerd@1.7.12-0ubuntu4?arch=source&distro=noble"},
      "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}],
      "versions": ["1.7.12-0ubuntu4", "2.0.0-0ubuntu1"],
      "ecosystem_specific": {"binaries": [{"binary_name": "golang-github-containerd-containerd-dev", "binary_version": "1.7.12-0ubuntu4"}]}
    }
  ]
}"#;

fn db_of(dir: &Path, records: &[(&str, &str)]) -> Database {
    let src = dir.join("osv");
    std::fs::create_dir_all(&src).unwrap();
    for (id, text) in records {
        std::fs::write(src.join(format!("{id}.json")), text).unwrap();
    }
    let (db, imported) = build_db(dir, &[src]);
    assert!(imported[0].skips.is_empty(), "{:?}", imported[0].skips);
    Database::open(&db).unwrap()
}

fn ubuntu(version: &str) -> Distro {
    Distro {
        id: "ubuntu".into(),
        version_id: Some(version.into()),
        codename: None,
    }
}

/// An Ubuntu binary package built from `source` at `version`.
fn deb(name: &str, source: &str, version: &str) -> Package {
    let purl = Purl::new("deb", Some("ubuntu"), name, Some(version)).unwrap();
    let mut p = Package::new(
        Ecosystem::Deb,
        name.to_owned(),
        version.to_owned(),
        purl,
        "/var/lib/dpkg/status",
    );
    p.source_package = Some(SourcePackage {
        name: source.into(),
        version: version.into(),
    });
    p
}

fn only(findings: &[Vulnerability]) -> &Vulnerability {
    assert_eq!(findings.len(), 1, "{findings:#?}");
    &findings[0]
}

#[test]
fn pro_and_fips_streams_are_not_the_release() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_of(
        dir.path(),
        &[
            ("UBUNTU-CVE-2025-29769", VIPS),
            ("UBUNTU-CVE-2024-2511", OPENSSL_2511),
            ("UBUNTU-CVE-2024-4741", OPENSSL_FIPS_ONLY),
        ],
    );
    let jammy = ubuntu("22.04");
    // vips: vulnerable in 22.04 with no fix there; the fix is Ubuntu Pro's, and said so.
    let libvips = deb("libvips42", "vips", "8.12.1-1");
    let m = match_packages(&db, "s", std::slice::from_ref(&libvips), Some(&jammy)).unwrap();
    let v = only(&m.findings);
    assert_eq!(v.id, "CVE-2025-29769", "the CVE Ubuntu keeps in `upstream`");
    assert!(v.aliases.contains(&"UBUNTU-CVE-2025-29769".to_owned()));
    assert_eq!(v.package.osv_ecosystem, "Ubuntu:22.04:LTS");
    assert!(v.fixed.is_empty(), "Pro's fix is not the release's: {v:#?}");
    assert_eq!(v.fixed_elsewhere.len(), 1, "{v:#?}");
    assert_eq!(v.fixed_elsewhere[0].stream, "Ubuntu Pro (esm)");
    assert_eq!(v.fixed_elsewhere[0].osv_ecosystem, "Ubuntu:Pro:22.04:LTS");
    assert_eq!(v.fixed_elsewhere[0].version, "8.12.1-1ubuntu0.1~esm1");
    let text = message(v);
    assert!(
        text.contains(
            "no fix in Ubuntu:22.04:LTS; fixed in Ubuntu Pro (esm) 8.12.1-1ubuntu0.1~esm1"
        ),
        "{text}"
    );
    // --ignore-unfixed leaves it out: the release has no fix.
    let target = Target {
        subject: "s".into(),
        file: "f".into(),
        ids: vec![],
        distro: Some(&jammy),
        packages: std::slice::from_ref(&libvips),
    };
    let opts = Options {
        ignore_unfixed: true,
        ..Options::default()
    };
    assert!(
        assess(&db, &target, &opts)
            .unwrap()
            .vulnerabilities
            .is_empty()
    );
    // The same package installed from Ubuntu Pro is judged by Pro's entry: fixed there.
    let from_pro = deb("libvips42", "vips", "8.12.1-1ubuntu0.1~esm1");
    let m = match_packages(&db, "s", &[from_pro], Some(&jammy)).unwrap();
    assert!(m.findings.is_empty(), "{:#?}", m.findings);
    assert!(m.not_checked.is_empty());
    // openssl 3.0.2-0ubuntu1.16 on plain 22.04: CVE-2024-2511 by the release's own entry
    // (fixed in 3.0.2-0ubuntu1.17); CVE-2024-4741, listed for the FIPS-updates stream only,
    // is not a 22.04 vulnerability.
    let libssl = deb("libssl3", "openssl", "3.0.2-0ubuntu1.16");
    let m = match_packages(&db, "s", &[libssl], Some(&jammy)).unwrap();
    let v = only(&m.findings);
    assert_eq!(v.id, "CVE-2024-2511");
    assert_eq!(v.fixed, ["3.0.2-0ubuntu1.17"]);
    assert!(v.fixed_elsewhere.is_empty(), "{v:#?}");
    assert_eq!(v.package.osv_ecosystem, "Ubuntu:22.04:LTS");
}

#[test]
fn a_binary_with_a_known_source_matches_through_that_source_only() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_of(dir.path(), &[("UBUNTU-CVE-2024-40635", CONTAINERD)]);
    let noble = ubuntu("24.04");
    // 24.04's containerd binary comes from the containerd-app source package: the record about
    // the source package named containerd is not about it.
    let binary = deb("containerd", "containerd-app", "1.7.12-0ubuntu4");
    let m = match_packages(&db, "s", &[binary], Some(&noble)).unwrap();
    assert!(m.findings.is_empty(), "{:#?}", m.findings);
    // A binary built from the containerd source is.
    let dev = deb(
        "golang-github-containerd-containerd-dev",
        "containerd",
        "1.7.12-0ubuntu4",
    );
    let m = match_packages(&db, "s", &[dev], Some(&noble)).unwrap();
    assert_eq!(only(&m.findings).id, "CVE-2024-40635");
    // Without a known source, the binary's own name is looked up.
    let mut bare = deb("containerd", "containerd", "1.7.12-0ubuntu4");
    bare.source_package = None;
    let m = match_packages(&db, "s", &[bare], Some(&noble)).unwrap();
    assert_eq!(only(&m.findings).id, "CVE-2024-40635");
}

#[test]
fn upstream_ids_merge_findings_and_cve_keyed_vex_applies() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_of(
        dir.path(),
        &[
            ("UBUNTU-CVE-2024-5535", OPENSSL_5535),
            ("UBUNTU-CVE-2024-9143", OPENSSL_9143),
            ("USN-7264-1", USN_7264_1),
        ],
    );
    let jammy = ubuntu("22.04");
    let libssl = deb("libssl3", "openssl", "3.0.2-0ubuntu1.18");
    let m = match_packages(&db, "s", std::slice::from_ref(&libssl), Some(&jammy)).unwrap();
    // Two CVEs, two findings: the USN that fixes both is told with them, not a third finding.
    let ids: Vec<&str> = m.findings.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(ids.len(), 2, "{:#?}", m.findings);
    assert!(
        ids.contains(&"CVE-2024-5535") && ids.contains(&"CVE-2024-9143"),
        "{ids:?}"
    );
    for f in &m.findings {
        assert!(f.advisories.contains(&"USN-7264-1".to_owned()), "{f:#?}");
        assert!(f.aliases.contains(&format!("UBUNTU-{}", f.id)), "{f:#?}");
        assert_eq!(f.fixed, ["3.0.2-0ubuntu1.19"]);
    }
    // An OpenVEX statement about the CVE (as VEX documents name it) waives the finding.
    let vex_file = dir.path().join("app.openvex.json");
    std::fs::write(
        &vex_file,
        serde_json::json!({
            "@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://example.invalid/vex/2",
            "author": "security", "timestamp": "2026-11-01T00:00:00Z", "version": 1,
            "statements": [{"vulnerability": {"name": "CVE-2024-5535"},
                            "products": [{"@id": "pkg:deb/ubuntu/libssl3@3.0.2-0ubuntu1.18"}],
                            "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path"}]
        })
        .to_string(),
    )
    .unwrap();
    let opts = Options {
        vex: rampart_vuln::vex::Vex::load(&[vex_file]).unwrap(),
        ..Options::default()
    };
    let target = Target {
        subject: "s".into(),
        file: "f".into(),
        ids: vec![],
        distro: Some(&jammy),
        packages: std::slice::from_ref(&libssl),
    };
    let out = assess(&db, &target, &opts).unwrap();
    let waived: Vec<&str> = out
        .vulnerabilities
        .iter()
        .filter(|v| v.waived.is_some())
        .map(|v| v.id.as_str())
        .collect();
    assert_eq!(waived, ["CVE-2024-5535"]);
    assert_eq!(out.counts.waived, 1);
    // The USN alone (no Ubuntu CVE records in the database) is still a finding of its own.
    let dir2 = tempfile::tempdir().unwrap();
    let db2 = db_of(dir2.path(), &[("USN-7264-1", USN_7264_1)]);
    let m = match_packages(&db2, "s", &[libssl], Some(&jammy)).unwrap();
    assert_eq!(only(&m.findings).id, "USN-7264-1");
}

#[test]
fn releases_the_database_does_not_hold_are_not_checked() {
    let dir = tempfile::tempdir().unwrap();
    // The vips record holds plain 22.04, Pro 22.04 and plain 25.10 entries: 22.04 is covered,
    // 24.04 is not.
    let db = db_of(dir.path(), &[("UBUNTU-CVE-2025-29769", VIPS)]);
    let m = match_packages(
        &db,
        "s",
        &[deb("libssl3", "openssl", "3.0.13-0ubuntu3")],
        Some(&ubuntu("24.04")),
    )
    .unwrap();
    assert!(m.findings.is_empty());
    assert_eq!(
        m.not_checked.get("Ubuntu:24.04:LTS"),
        Some(&1),
        "{:?}",
        m.not_checked
    );
    // A release covered, a package without advisories: a genuine "none known".
    let m = match_packages(
        &db,
        "s",
        &[deb("libssl3", "openssl", "3.0.2-0ubuntu1.16")],
        Some(&ubuntu("22.04")),
    )
    .unwrap();
    assert!(m.findings.is_empty() && m.not_checked.is_empty(), "{m:#?}");
    // Only a FIPS stream of a release is not the release.
    let dir2 = tempfile::tempdir().unwrap();
    let fips = db_of(dir2.path(), &[("UBUNTU-CVE-2024-4741", OPENSSL_FIPS_ONLY)]);
    let m = match_packages(
        &fips,
        "s",
        &[deb("libssl3", "openssl", "3.0.2-0ubuntu1.16")],
        Some(&ubuntu("22.04")),
    )
    .unwrap();
    assert_eq!(m.not_checked.get("Ubuntu:22.04:LTS"), Some(&1), "{m:#?}");
}
