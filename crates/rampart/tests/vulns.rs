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

use common::{image_dir, json, ok, root};
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
    // What it covers, recorded at import: the ecosystems it holds advisories for.
    assert_eq!(status["coverage_recorded"], true);
    let covers: Vec<&str> = status["coverage"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(covers, ["PyPI", "crates.io"], "{status}");
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
    assert!(table.contains("covers (OSV ecosystem)"), "{table}");

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
                "--vuln-ecosystems",
                "go,pypi,crates.io",
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

/// A real SBOM: the one rampart makes of the example image (examples/images/worker, an OCI
/// layout): 10 npm packages, 4 known CVEs among them (examples/advisories), 12 Debian 12
/// packages.
fn worker_sbom(dir: &Path) -> PathBuf {
    let f = dir.join("worker.cdx.json");
    let img = format!(
        "oci-dir:{}",
        root().join("examples/images/worker").display()
    );
    ok(&run(
        dir,
        &[
            "sbom",
            &img,
            "-f",
            "cyclonedx-json",
            "-o",
            f.to_str().unwrap(),
        ],
    ));
    f
}

fn layer_state(report: &Value, layer: &str) -> String {
    report["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["layer"] == layer)
        .map(|l| l["state"].as_str().unwrap().to_owned())
        .unwrap()
}

fn error_messages(report: &Value) -> Vec<String> {
    report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap().to_owned())
        .collect()
}

/// A database of Go advisories only said nothing about an SBOM's npm packages with 4 known CVEs:
/// "none known", the image layer holding. Now the npm (and Debian 12) packages are not checked,
/// said so per image, the image layer is partly assessed, and the scan is incomplete unless the
/// user accepts it.
#[test]
fn a_database_without_the_packages_ecosystem_is_never_a_silent_clean() {
    let cache = tempfile::tempdir().unwrap();
    let c = cache.path();
    let dir = tempfile::tempdir().unwrap();
    import(c, "osv-go/data/osv");
    let sbom = worker_sbom(dir.path());
    let s = sbom.to_str().unwrap();
    let scan = |extra: &[&str]| -> (Output, Value) {
        let out = run(
            c,
            &[
                &["scan", "--no-config", "--no-inventory", s, "-f", "json"],
                extra,
            ]
            .concat(),
        );
        let v = json(&out);
        (out, v)
    };
    let (out, r) = scan(&[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let counts = &r["images"][0]["vulnerabilities"];
    assert_eq!(counts["total"], 0);
    assert_eq!(counts["not_checked"]["npm"], 10, "{counts}");
    assert_eq!(counts["not_checked"]["Debian:12"], 12, "{counts}");
    assert_eq!(layer_state(&r, "image"), "partly-assessed");
    let errors = error_messages(&r);
    assert!(
        errors
            .iter()
            .any(|e| e
                .starts_with("npm: 10 packages not checked, no npm advisories in the database")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("Debian:12: 12 packages not checked")),
        "{errors:?}"
    );
    let rj = dir.path().join("r.json");
    std::fs::write(&rj, serde_json::to_vec(&r).unwrap()).unwrap();
    common::validate_with_jsonschema(&root().join("docs/report.schema.json"), &rj).unwrap();
    // The human report says it too, and never "none known" alone.
    let out = run(c, &["scan", "--no-config", "--no-inventory", s]);
    // The human report wraps to the width: read it as words.
    let text = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(text.contains("partly assessed"), "{text}");
    assert!(
        text.contains("npm: 10 package(s), no npm advisories in the database"),
        "{text}"
    );
    assert!(
        text.contains("none known in the packages checked"),
        "{text}"
    );
    // Accepted explicitly: only Go must be covered. Still reported, still partly assessed, but
    // the scan is complete.
    let (out, r) = scan(&["--vuln-ecosystems", "go"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(r["images"][0]["vulnerabilities"]["not_checked"]["npm"], 10);
    assert_eq!(layer_state(&r, "image"), "partly-assessed");
    assert!(error_messages(&r).is_empty());
    // npm required: incomplete again; Debian (by purl type) accepted or not.
    let (out, r) = scan(&["--vuln-ecosystems", "npm,deb"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(error_messages(&r).len(), 2, "{:?}", error_messages(&r));
    let (out, r) = scan(&["--vuln-ecosystems", "go,Debian"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(error_messages(&r).len(), 1, "{:?}", error_messages(&r));
    // A typo requires nothing silently: it is a usage error.
    let out = run(
        c,
        &[
            "scan",
            "--no-config",
            "--no-inventory",
            s,
            "--vuln-ecosystems",
            "go,nmp",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown ecosystem(s) nmp"),
        "{}",
        stderr(&out)
    );
    // The configuration key accepts a partial database.
    let cfg = dir.path().join("rampart.toml");
    std::fs::write(&cfg, "[vulnerabilities]\nallow-partial-database = true\n").unwrap();
    let out = run(
        c,
        &[
            "scan",
            "--no-inventory",
            "--config",
            cfg.to_str().unwrap(),
            s,
            "-f",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(layer_state(&json(&out), "image"), "partly-assessed");
    // With the npm advisories the 4 CVEs are found; Debian 12 is still not checked, and a
    // database holding another Debian release does not cover it.
    let debian11 = dir.path().join("debian11");
    std::fs::create_dir_all(&debian11).unwrap();
    // As Debian's OSV export writes a DSA (source package, release-scoped ecosystem).
    std::fs::write(
        debian11.join("DSA-5532-1.json"),
        r#"{"id": "DSA-5532-1", "summary": "openssl - security update", "aliases": [],
            "related": ["CVE-2023-5363"], "published": "2023-10-24T00:00:00Z",
            "modified": "2023-10-24T00:00:00Z",
            "affected": [{"package": {"ecosystem": "Debian:11", "name": "openssl"},
                          "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.1.1w-0+deb11u1"}]}]}]}"#,
    )
    .unwrap();
    ok(&run(
        c,
        &[
            "db",
            "import",
            root().join("examples/advisories").to_str().unwrap(),
            debian11.to_str().unwrap(),
        ],
    ));
    let (out, r) = scan(&[]);
    assert_eq!(out.status.code(), Some(2));
    let found: BTreeSet<String> = r["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        found,
        [
            "CVE-2024-29041",
            "CVE-2024-43796",
            "CVE-2024-45590",
            "CVE-2024-47764"
        ]
        .map(String::from)
        .into(),
    );
    let counts = &r["images"][0]["vulnerabilities"];
    assert!(counts["not_checked"].get("npm").is_none(), "{counts}");
    assert_eq!(counts["not_checked"]["Debian:12"], 12, "{counts}");
    assert_eq!(
        error_messages(&r),
        [
            "Debian:12: 12 packages not checked, no Debian:12 advisories in the database (it holds Debian:11): the vulnerability check is incomplete (update the database with that ecosystem, or accept it with --vuln-ecosystems or allow-partial-database = true)"
        ]
    );
    assert_eq!(layer_state(&r, "image"), "breached", "a high CVE outranks");
    let (out, _) = scan(&["--vuln-ecosystems", "npm"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// A rescan against a database that lacks an ecosystem does not call its findings fixed: they
/// are not checked, reported apart, and kept, so a later rescan with the ecosystem back finds
/// nothing "new".
#[test]
fn inventory_rescan_never_calls_unchecked_findings_fixed() {
    let cache = tempfile::tempdir().unwrap();
    let c = cache.path();
    let dir = tempfile::tempdir().unwrap();
    let sbom = worker_sbom(dir.path());
    let full = dir.path().join("full.db");
    let go_only = dir.path().join("go.db");
    ok(&run(
        c,
        &[
            "db",
            "import",
            "--db",
            full.to_str().unwrap(),
            root().join("examples/advisories").to_str().unwrap(),
            corpus("osv-go/data/osv").to_str().unwrap(),
        ],
    ));
    ok(&run(
        c,
        &[
            "db",
            "import",
            "--db",
            go_only.to_str().unwrap(),
            corpus("osv-go/data/osv").to_str().unwrap(),
        ],
    ));
    let out = run(
        c,
        &[
            "scan",
            "--no-config",
            "--db",
            full.to_str().unwrap(),
            "--vuln-ecosystems",
            "npm",
            sbom.to_str().unwrap(),
            "-f",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json(&out)["vulnerabilities"].as_array().unwrap().len(), 4);
    let rescan = |db: &Path| {
        let out = run(
            c,
            &[
                "inventory",
                "rescan",
                "--db",
                db.to_str().unwrap(),
                "-f",
                "json",
            ],
        );
        (json(ok(&out)).clone(), stderr(&out))
    };
    let (r, err) = rescan(&go_only);
    assert_eq!(r.as_array().unwrap().len(), 1, "{r}");
    assert!(r[0]["fixed"].as_array().unwrap().is_empty(), "{r}");
    assert_eq!(r[0]["not_checked"].as_array().unwrap().len(), 4, "{r}");
    assert_eq!(r[0]["unchecked_packages"]["npm"], 10, "{r}");
    assert!(
        err.contains("npm: 10 package(s) not checked, no npm advisories in the database"),
        "{err}"
    );
    // The ecosystem is back: nothing is new, nothing fixed; the history was kept.
    let (r, _) = rescan(&full);
    assert!(r[0]["new"].as_array().unwrap().is_empty(), "{r}");
    assert!(r[0]["fixed"].as_array().unwrap().is_empty(), "{r}");
    assert_eq!(r[0]["total"], 4);
    // A new scan with the partial database (accepted) records the image again without
    // dropping those findings either.
    let out = run(
        c,
        &[
            "scan",
            "--no-config",
            "--db",
            go_only.to_str().unwrap(),
            "--vuln-ecosystems",
            "go",
            sbom.to_str().unwrap(),
            "-f",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (r, _) = rescan(&full);
    assert!(r[0]["new"].as_array().unwrap().is_empty(), "{r}");
}

/// Two files holding the SBOM of one image are one image in the inventory, under its digest;
/// `inventory find` rejects a range that is no range.
#[test]
fn inventory_keys_an_image_sbom_by_digest_and_rejects_bad_ranges() {
    let cache = tempfile::tempdir().unwrap();
    let c = cache.path();
    let dir = tempfile::tempdir().unwrap();
    let sbom = worker_sbom(dir.path());
    let copy = dir.path().join("copy-of-worker.cdx.json");
    std::fs::copy(&sbom, &copy).unwrap();
    ok(&run(
        c,
        &[
            "db",
            "import",
            root().join("examples/advisories").to_str().unwrap(),
        ],
    ));
    for f in [&sbom, &copy] {
        let out = run(
            c,
            &[
                "scan",
                "--no-config",
                "--vuln-ecosystems",
                "npm",
                f.to_str().unwrap(),
                "-f",
                "json",
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    let images = json(ok(&run(c, &["inventory", "list", "-f", "json"])));
    let images = images.as_array().unwrap();
    assert_eq!(images.len(), 1, "{images:?}");
    let id = images[0]["id"].as_str().unwrap();
    assert!(id.starts_with("sha256:") && id.len() == 71, "{id}");
    let found = json(ok(&run(
        c,
        &["inventory", "find", "express@<4.19.2", "-f", "json"],
    )));
    assert_eq!(found.as_array().unwrap().len(), 1, "{found}");
    for (q, why) in [
        ("express@>=4.0<5", "is not a version"),
        ("express@>=5,<4", "the range is empty"),
        ("express@>=4.18.2,<4.18.2", "the range is empty"),
        ("express@<=", "no version after the operator"),
    ] {
        let out = run(c, &["inventory", "find", q]);
        assert_eq!(out.status.code(), Some(2), "{q}");
        assert!(
            stderr(&out).contains("invalid package query") && stderr(&out).contains(why),
            "{q}: {}",
            stderr(&out)
        );
    }
}

/// Packages that no advisory can be looked up for (here: Debian packages of an SBOM that names
/// no OS release) were not checked: the image layer is partly assessed and says why, never
/// "holds".
#[test]
fn packages_without_a_release_leave_the_layer_partly_assessed() {
    let cache = tempfile::tempdir().unwrap();
    let c = cache.path();
    let dir = tempfile::tempdir().unwrap();
    import(c, "osv-go/data/osv");
    let sbom = dir.path().join("bare.cdx.json");
    std::fs::write(
        &sbom,
        r#"{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"components":[
  {"type":"library","name":"bash","version":"5.2.15-2+b2","purl":"pkg:deb/debian/bash@5.2.15-2%2Bb2?arch=amd64"},
  {"type":"library","name":"golang.org/x/text","version":"v0.40.0","purl":"pkg:golang/golang.org/x/text@v0.40.0"}]}"#,
    )
    .unwrap();
    let s = sbom.to_str().unwrap();
    let out = run(
        c,
        &[
            "scan",
            "--no-config",
            "--no-inventory",
            s,
            "-f",
            "json",
            "--vuln-ecosystems",
            "go",
        ],
    );
    let r = json(&out);
    assert_eq!(layer_state(&r, "image"), "partly-assessed", "{r}");
    let image = r["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["layer"] == "image")
        .unwrap();
    assert!(
        image["reason"]
            .as_str()
            .unwrap()
            .contains("1 package not checked: OS release unknown"),
        "{image}"
    );
}
