//! The vulnerability layer through the `rampart` binary: `db import/status/update`, atomic
//! updates under SIGKILL, scans of images and of SBOMs made by rampart, Syft and Trivy, the
//! missing-database rule, --fail-on, --ignore-unfixed, OpenVEX, SARIF, and the inventory.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;
/// The advisory-database test support of rampart-vuln (a real HTTP server, OSV archives).
#[path = "../../rampart-vuln/tests/common/mod.rs"]
mod osv;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{image_dir, json, root};
use serde_json::Value;

fn corpus(name: &str) -> PathBuf {
    root().join("../shared/corpus").join(name)
}

/// `rampart` with its own cache directory `cache` (database and inventory).
fn run(cache: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(args)
        .env("RAMPART_CACHE_DIR", cache)
        .current_dir(root())
        .output()
        .unwrap()
}

fn ok(out: &Output) -> &Output {
    assert!(
        out.status.success(),
        "exit {:?}\n{}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `rampart db import` of one corpus directory into `cache`'s database.
fn import(cache: &Path, corpus_dir: &str) {
    ok(&run(
        cache,
        &["db", "import", corpus(corpus_dir).to_str().unwrap()],
    ));
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn ids(report: &Value) -> BTreeSet<String> {
    report["vulnerabilities"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|v| {
                    format!(
                        "{} {}",
                        v["id"].as_str().unwrap(),
                        v["package"]["name"].as_str().unwrap()
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn rootfs() -> String {
    format!("dir:{}", image_dir().join("rootfs").display())
}

#[test]
fn db_import_status_and_bad_input() {
    let cache = tempfile::tempdir().unwrap();
    let c = cache.path();
    // No database yet: status says how to get one.
    let out = run(c, &["db", "status"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("rampart db update"),
        "{}",
        stderr(&out)
    );
    let out = run(
        c,
        &[
            "db",
            "import",
            corpus("osv-rustsec/crates").to_str().unwrap(),
            corpus("osv-pypa/vulns").to_str().unwrap(),
        ],
    );
    ok(&out);
    // Real data with versions PEP 440 rejects: skipped, counted, named; not an error.
    assert!(
        stderr(&out).contains("unparseable version"),
        "{}",
        stderr(&out)
    );
    let status = json(ok(&run(c, &["db", "status", "-f", "json"])));
    assert!(status["ecosystems"]["crates.io"].as_u64().unwrap() > 1000);
    assert!(status["ecosystems"]["PyPI"].as_u64().unwrap() > 2000);
    assert_eq!(status["sources"].as_array().unwrap().len(), 2);
    assert!(
        status["path"]
            .as_str()
            .unwrap()
            .starts_with(c.to_str().unwrap())
    );
    let table = String::from_utf8(ok(&run(c, &["db", "status"])).stdout.clone()).unwrap();
    assert!(
        table.contains("crates.io") && table.contains("PyPI") && table.contains("advisories"),
        "{table}"
    );

    // Broken input: the rest is imported, the summary says what and why, exit 2.
    let bad = tempfile::tempdir().unwrap();
    std::fs::copy(
        corpus("osv-go/data/osv/GO-2021-0113.json"),
        bad.path().join("GO-2021-0113.json"),
    )
    .unwrap();
    std::fs::write(
        bad.path().join("broken.json"),
        b"{\"id\": \"X\", \"affected\": [",
    )
    .unwrap();
    std::fs::write(bad.path().join("all.zip"), b"PK\x03\x04 not really").unwrap();
    let out = run(c, &["db", "import", bad.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("invalid OSV record") && err.contains("broken.json"),
        "{err}"
    );
    assert!(
        err.contains("corrupt archive") && err.contains("all.zip"),
        "{err}"
    );
    let status = json(ok(&run(c, &["db", "status", "-f", "json"])));
    assert_eq!(
        status["ecosystems"]["Go"], 1,
        "the good record was imported"
    );
}

/// An import killed half-way (SIGKILL while it writes) leaves the previous database usable.
#[test]
fn a_killed_update_leaves_the_previous_database() {
    let cache = tempfile::tempdir().unwrap();
    let c = cache.path();
    import(c, "osv-rustsec/crates");
    let before = json(ok(&run(c, &["db", "status", "-f", "json"])));
    let db = c.join("osv.db");
    let before_bytes = std::fs::read(&db).unwrap();
    let mut killed_while_writing = 0;
    for _attempt in 0..5 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_rampart"))
            .args(["db", "import"])
            .arg(corpus("osv-go/data/osv"))
            .arg(corpus("osv-pypa/vulns"))
            .env("RAMPART_CACHE_DIR", c)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let tmp = c.join(format!("osv.tmp-{}", child.id()));
        // Wait until the copy is being written, then kill.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !tmp.exists()
            && std::time::Instant::now() < deadline
            && child.try_wait().unwrap().is_none()
        {
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        std::thread::sleep(std::time::Duration::from_millis(150));
        let running = child.try_wait().unwrap().is_none();
        child.kill().unwrap();
        child.wait().unwrap();
        if running && tmp.exists() {
            killed_while_writing += 1;
            assert_eq!(
                std::fs::read(&db).unwrap(),
                before_bytes,
                "the database was not touched"
            );
            let after = json(ok(&run(c, &["db", "status", "-f", "json"])));
            assert_eq!(after["ecosystems"], before["ecosystems"]);
            assert_eq!(after["advisories"], before["advisories"]);
            break;
        }
    }
    assert!(
        killed_while_writing > 0,
        "the import was never caught while writing"
    );
    // The next writer removes the dead one's temporary file and succeeds.
    ok(&run(
        c,
        &["db", "import", corpus("osv-go/data/osv").to_str().unwrap()],
    ));
    let left: Vec<String> = std::fs::read_dir(c)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(left.iter().all(|n| !n.contains(".tmp-")), "{left:?}");
    let after = json(ok(&run(c, &["db", "status", "-f", "json"])));
    assert!(after["ecosystems"]["Go"].as_u64().unwrap() > 4000);
}

#[test]
fn update_downloads_from_a_configured_source() {
    let served = tempfile::tempdir().unwrap();
    let eco = served.path().join("crates.io");
    std::fs::create_dir_all(&eco).unwrap();
    osv::zip_dir(&corpus("osv-rustsec/crates"), &eco.join("all.zip"));
    let server = osv::HttpServer::serve(served.path());
    let cache = tempfile::tempdir().unwrap();
    let source = server.url.clone();
    let out = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["db", "update", "--ecosystem", "crates.io"])
        .env("RAMPART_CACHE_DIR", cache.path())
        .env("RAMPART_DB_SOURCE", &source)
        .output()
        .unwrap();
    ok(&out);
    let status = json(ok(&run(cache.path(), &["db", "status", "-f", "json"])));
    assert_eq!(status["sources"][0]["name"], "osv:crates.io");
    assert!(
        status["sources"][0]["location"]
            .as_str()
            .unwrap()
            .starts_with(&source)
    );
    // An ecosystem the source lacks: exit 2, named, database unchanged.
    let out = run(
        cache.path(),
        &["db", "update", "--source", &source, "--ecosystem", "PyPI"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("PyPI/all.zip") && stderr(&out).contains("404"),
        "{}",
        stderr(&out)
    );
    let again = json(ok(&run(cache.path(), &["db", "status", "-f", "json"])));
    assert_eq!(again["ecosystems"], status["ecosystems"]);
}

#[test]
fn a_scan_without_a_database_says_so_and_fails() {
    let cache = tempfile::tempdir().unwrap();
    let img = rootfs();
    let out = run(
        cache.path(),
        &["scan", "--no-config", "--image", &img, "-f", "json"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let r = json(&out);
    let e = r["errors"].as_array().unwrap();
    assert!(
        e.iter()
            .any(|e| e["message"].as_str().unwrap().contains("rampart db update")),
        "{e:?}"
    );
    // Told otherwise: the rest of the image layer is still checked.
    let out = run(
        cache.path(),
        &[
            "scan",
            "--no-config",
            "--image",
            &img,
            "-f",
            "json",
            "--no-vulns",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(json(&out).get("vulnerabilities").is_none());
    // An empty database is no better than none.
    let empty = tempfile::tempdir().unwrap();
    std::fs::write(empty.path().join("x.json"), b"{\"id\": \"X-1\", \"affected\": [{\"package\": {\"ecosystem\": \"Nope\", \"name\": \"a\"}}]}").unwrap();
    ok(&run(
        cache.path(),
        &["db", "import", empty.path().to_str().unwrap()],
    ));
    let out = run(
        cache.path(),
        &["scan", "--no-config", "--image", &img, "-f", "json"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        json(&out)["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("holds no advisories")
    );
}

/// The same vulnerabilities whether the image is scanned or an SBOM of it, made by rampart,
/// Syft or Trivy.
#[test]
fn sboms_from_rampart_syft_and_trivy_give_the_image_vulnerabilities() {
    let cache = common::cache_dir();
    let dir = tempfile::tempdir().unwrap();
    let img = rootfs();
    let direct = json(&run(
        cache,
        &[
            "scan",
            "--no-config",
            "--no-inventory",
            "--image",
            &img,
            "-f",
            "json",
        ],
    ));
    let want = ids(&direct);
    assert!(
        want.iter().any(|i| i.starts_with("CVE-2023-24539 stdlib")),
        "{want:?}"
    );
    let mut sboms = Vec::new();
    for fmt in ["cyclonedx-json", "spdx-json"] {
        let f = dir.path().join(format!("rampart-{fmt}.json"));
        ok(&run(
            cache,
            &["sbom", &img, "-f", fmt, "-o", f.to_str().unwrap()],
        ));
        sboms.push((format!("rampart {fmt}"), f));
    }
    // The peers, installed from PyPI and run without network (scripts/peer-sbom.sh).
    let rootfs_dir = image_dir().join("rootfs");
    let syft = dir.path().join("syft.cdx.json");
    let trivy = dir.path().join("trivy.spdx.json");
    for args in [
        vec![
            "syft".to_owned(),
            format!("dir:{}", rootfs_dir.display()),
            format!("cyclonedx-json={}", syft.display()),
        ],
        vec![
            "trivy".into(),
            "rootfs".into(),
            rootfs_dir.display().to_string(),
            "spdx-json".into(),
            trivy.display().to_string(),
        ],
    ] {
        let out = Command::new("bash")
            .arg(root().join("scripts/peer-sbom.sh"))
            .args(&args)
            .output()
            .unwrap();
        ok(&out);
    }
    sboms.push(("syft cyclonedx".into(), syft));
    sboms.push(("trivy spdx".into(), trivy));
    for (label, file) in &sboms {
        let out = run(
            cache,
            &[
                "scan",
                "--no-config",
                "--no-inventory",
                file.to_str().unwrap(),
                "-f",
                "json",
            ],
        );
        assert_ne!(out.status.code(), Some(2), "{label}: {}", stderr(&out));
        let r = json(&out);
        assert!(
            r["images"][0]["kind"]
                .as_str()
                .unwrap()
                .starts_with("sbom ("),
            "{label}"
        );
        let got = ids(&r);
        let missing: Vec<_> = want.difference(&got).collect();
        let extra: Vec<_> = got.difference(&want).collect();
        println!(
            "{label}: {} vulnerabilities, missing {missing:?}, extra {extra:?}",
            got.len()
        );
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{label}: missing {missing:?}, extra {extra:?}"
        );
        assert!(r["findings"].as_array().unwrap().iter().any(
            |f| f["rule_id"] == "VUL001" && f["subject"].as_str().unwrap().starts_with("SBOM ")
        ));
    }
}

#[test]
fn fail_on_ignore_unfixed_vex_json_and_sarif() {
    let cache = common::cache_dir();
    let dir = tempfile::tempdir().unwrap();
    // An SBOM with known-vulnerable packages in three ecosystems (CycloneDX, as any tool writes it).
    let sbom = dir.path().join("app.cdx.json");
    std::fs::write(
        &sbom,
        serde_json::json!({
            "bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1,
            "metadata": {"component": {"type": "container", "name": "shop/app", "version": "sha256:1111111111111111111111111111111111111111111111111111111111111111"}},
            "components": [
                {"type": "library", "name": "smallvec", "version": "1.6.0", "purl": "pkg:cargo/smallvec@1.6.0"},
                {"type": "library", "name": "text", "version": "v0.3.5", "purl": "pkg:golang/golang.org/x/text@v0.3.5"},
                {"type": "library", "name": "AccessControl", "version": "4.2", "purl": "pkg:pypi/accesscontrol@4.2"},
                {"type": "library", "name": "ansi_term", "version": "0.12.1", "purl": "pkg:cargo/ansi_term@0.12.1"}
            ]
        })
        .to_string(),
    )
    .unwrap();
    let s = sbom.to_str().unwrap();
    let report = |extra: &[&str]| -> (Output, Value) {
        let out = run(
            cache,
            &[
                &["scan", "--no-config", "--no-inventory", s, "-f", "json"],
                extra,
            ]
            .concat(),
        );
        let v = json(&out);
        (out, v)
    };
    let (out, all) = report(&[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "no --fail-on: exit 0 ({})",
        stderr(&out)
    );
    let all_ids = ids(&all);
    assert!(
        all_ids.contains("CVE-2021-38561 golang.org/x/text"),
        "{all_ids:?}"
    );
    let adv = |name: &str| -> Vec<String> {
        all["vulnerabilities"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["package"]["name"] == name)
            .flat_map(|v| {
                v["advisories"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| a.as_str().unwrap().to_owned())
            })
            .collect()
    };
    // PYSEC-2021-335 aliases CVE-2021-32807: shown under the CVE.
    assert!(
        adv("AccessControl").contains(&"PYSEC-2021-335".to_owned())
            && all_ids.contains("CVE-2021-32807 AccessControl"),
        "{all_ids:?}"
    );
    assert!(all["vulnerabilities"].as_array().unwrap().iter().any(|v| {
        v["advisories"]
            .as_array()
            .unwrap()
            .contains(&"RUSTSEC-2021-0003".into())
    }));
    // RUSTSEC-2021-0003 has a CVSS 9.8 vector: --fail-on critical fails.
    let (out, _) = report(&["--fail-on", "critical"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    // RUSTSEC-2021-0139 (ansi_term is unmaintained) has no fix: --ignore-unfixed leaves it out,
    // and only it, and says how many it left out.
    let unfixed: BTreeSet<String> = all["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["fixed"].as_array().unwrap().is_empty())
        .map(|v| {
            format!(
                "{} {}",
                v["id"].as_str().unwrap(),
                v["package"]["name"].as_str().unwrap()
            )
        })
        .collect();
    assert!(
        unfixed.iter().any(|u| u.ends_with(" ansi_term")),
        "{unfixed:?}"
    );
    let (_, fixed_only) = report(&["--ignore-unfixed"]);
    assert_eq!(
        ids(&fixed_only),
        all_ids
            .difference(&unfixed)
            .cloned()
            .collect::<BTreeSet<_>>()
    );
    assert_eq!(
        fixed_only["images"][0]["vulnerabilities"]["ignored_unfixed"].as_u64(),
        Some(unfixed.len() as u64)
    );
    // VEX: the smallvec finding is not_affected in this image: waived, and the exit code follows.
    let smallvec = all["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["package"]["name"] == "smallvec")
        .unwrap();
    let vex = dir.path().join("app.openvex.json");
    std::fs::write(
        &vex,
        serde_json::json!({
            "@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://example.invalid/vex/1", "author": "security",
            "timestamp": "2026-11-01T00:00:00Z", "version": 1,
            "statements": [{"vulnerability": {"name": smallvec["id"]}, "products": [{"@id": "pkg:cargo/smallvec@1.6.0"}],
                            "status": "not_affected", "justification": "vulnerable_code_not_present"}]
        })
        .to_string(),
    )
    .unwrap();
    let (out, waived) = report(&["--fail-on", "critical", "--vex", vex.to_str().unwrap()]);
    let w = waived["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["package"]["name"] == "smallvec")
        .unwrap();
    assert_eq!(w["waived"]["kind"], "vex");
    assert_eq!(w["waived"]["reason"], "vulnerable_code_not_present");
    let crit_unwaived = waived["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["severity"] == "critical" && v["waived"].is_null())
        .count();
    assert_eq!(
        out.status.code(),
        Some(if crit_unwaived > 0 { 1 } else { 0 }),
        "{}",
        stderr(&out)
    );
    assert_eq!(waived["images"][0]["vulnerabilities"]["waived"], 1);
    // The JSON report validates against its schema; SARIF against the official one.
    let oracles = common::oracles();
    let check =
        |schema: PathBuf, doc: &Path| common::validate_with_jsonschema(&schema, doc).unwrap();
    let rj = dir.path().join("r.json");
    std::fs::write(&rj, serde_json::to_vec(&waived).unwrap()).unwrap();
    check(root().join("docs/report.schema.json"), &rj);
    let out = run(
        cache,
        &[
            "scan",
            "--no-config",
            "--no-inventory",
            s,
            "-f",
            "sarif",
            "--vex",
            vex.to_str().unwrap(),
        ],
    );
    let sarif: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rs = dir.path().join("r.sarif");
    std::fs::write(&rs, &out.stdout).unwrap();
    check(oracles.join("sarif/sarif-2.1.0.json"), &rs);
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert!(
        results.iter().filter(|r| r["ruleId"] == "VUL001").count() >= all_ids.len(),
        "{results:?}"
    );
    // Not an OpenVEX document: a clear error naming it.
    let out = run(
        cache,
        &["scan", "--no-config", s, "--vex", sbom.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("not an OpenVEX document"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn inventory_finds_packages_and_rescans_without_the_images() {
    let cache = tempfile::tempdir().unwrap();
    let c = cache.path();
    import(c, "osv-rustsec/crates");
    // Scanning records the image's packages; the database has no Go advisories yet.
    let oci = format!("oci-dir:{}", image_dir().join("oci").display());
    let first = json(&run(
        c,
        &["scan", "--no-config", "--image", &oci, "-f", "json"],
    ));
    assert!(ids(&first).iter().all(|i| !i.contains("stdlib")));
    let digest = first["images"][0]["digest"].as_str().unwrap().to_owned();
    let found = json(ok(&run(c, &["inventory", "find", "stdlib", "-f", "json"])));
    assert_eq!(found[0]["image"]["id"], digest.as_str());
    assert_eq!(found[0]["version"], "1.19.8");
    assert_eq!(found[0]["locations"][0]["path"], "/app/testapp");
    for q in ["stdlib@<1.20", "pkg:golang/stdlib@1.19.8", "STDLIB"] {
        assert_eq!(
            json(ok(&run(c, &["inventory", "find", q, "-f", "json"])))
                .as_array()
                .unwrap()
                .len(),
            1,
            "{q}"
        );
    }
    assert!(
        json(ok(&run(
            c,
            &["inventory", "find", "stdlib@>=1.20", "-f", "json"]
        )))
        .as_array()
        .unwrap()
        .is_empty()
    );
    let table =
        String::from_utf8(ok(&run(c, &["inventory", "find", "stdlib"])).stdout.clone()).unwrap();
    assert!(
        table.contains(&digest) && table.contains("1 match(es) in 1 image(s)"),
        "{table}"
    );
    // The image is gone; the Go advisories arrive; rescan reports the new findings from the
    // recorded SBOM alone.
    ok(&run(
        c,
        &["db", "import", corpus("osv-go/data/osv").to_str().unwrap()],
    ));
    let r = json(ok(&run(c, &["inventory", "rescan", "-f", "json"])));
    let new: BTreeSet<String> = r[0]["new"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(new.contains("CVE-2023-24539"), "{new:?}");
    let direct = json(&run(
        c,
        &[
            "scan",
            "--no-config",
            "--no-inventory",
            "--image",
            &oci,
            "-f",
            "json",
        ],
    ));
    let direct_ids: BTreeSet<String> = direct["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(new, direct_ids, "a rescan finds what a new scan finds");
    // Nothing changed since: a second rescan reports nothing new; --fail-on follows new ones only.
    let again = run(
        c,
        &["inventory", "rescan", "-f", "json", "--fail-on", "info"],
    );
    assert_eq!(again.status.code(), Some(0));
    assert!(json(&again)[0]["new"].as_array().unwrap().is_empty());
    let bad = run(c, &["inventory", "find", "@"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("invalid package query"),
        "{}",
        stderr(&bad)
    );
}
