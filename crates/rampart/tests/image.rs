//! End-to-end tests of the image layer through the `rampart` binary, on the realistic test image
//! that scripts/build-test-image.sh builds from real package data (dpkg database, pip, npm,
//! Debian Java and Go packages) and packs with umoci and skopeo in every form rampart reads.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Output, Stdio};

mod common;

use common::{Registry, image_dir, json, root};

fn rampart(args: &[&str]) -> Output {
    common::rampart_in(args, &root())
}

/// The ecosystems of the test database (RustSec, Go, PyPA advisories): the test image's Debian,
/// npm and Maven packages are not checked, which the user accepts with this flag (without it
/// the scan is incomplete, exit 2; `vulns.rs` tests that).
const COVERED: [&str; 2] = ["--vuln-ecosystems", "go,pypi,crates.io"];

/// Every form of the test image, as `rampart` takes it on the command line.
fn forms() -> Vec<(String, &'static str)> {
    let d = image_dir().display().to_string();
    vec![
        (format!("dir:{d}/rootfs"), "rootfs"),
        (format!("{d}/oci"), "oci layout (gzip)"),
        (format!("{d}/oci-zstd"), "oci layout (zstd)"),
        (format!("{d}/oci.tar"), "oci archive"),
        (format!("{d}/docker.tar"), "docker archive"),
    ]
}

/// The ground truth computed by the shared benchmark's own script from the files on disk:
/// ecosystem -> set of (name, version).
fn ground_truth() -> BTreeMap<String, BTreeSet<(String, String)>> {
    let gt: Value =
        serde_json::from_slice(&std::fs::read(image_dir().join("gt.json")).unwrap()).unwrap();
    let mut out = BTreeMap::new();
    for eco in ["deb", "pypi", "npm", "golang", "maven"] {
        let set = gt[eco]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p[0].as_str().unwrap().to_owned(),
                    p[1].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        out.insert(eco.to_owned(), set);
    }
    out
}

#[test]
fn scan_image_reports_its_facts_and_findings_in_every_form() {
    for (target, form) in forms() {
        let out = rampart(
            &[
                &["scan", "--image", &target, "--format", "json"],
                &COVERED[..],
            ]
            .concat(),
        );
        let v = json(&out);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{form}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let img = &v["images"][0];
        assert_eq!(img["os"], "Debian GNU/Linux 12 (bookworm)", "{form}");
        assert_eq!(
            img["minimality"], "shell-only",
            "{form}: a shell, a dpkg database but no package manager binary"
        );
        let gt = ground_truth();
        for (eco, purl_type) in [("deb", "deb"), ("pypi", "pypi"), ("npm", "npm")] {
            assert_eq!(
                img["packages"][purl_type].as_u64(),
                Some(gt[eco].len() as u64),
                "{form}: {eco}"
            );
        }
        let mut rules: Vec<(String, String)> = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["rule_id"].as_str().unwrap().to_owned(),
                    f["location"]["file"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        rules.sort();
        rules.dedup();
        // The same in every form: the configuration (user 10001, port 8080) passes; the Go
        // binary's standard library (go1.19.8) has known vulnerabilities in the real Go
        // advisories of ../shared/corpus.
        let expected = [
            ("IMG003", "/usr/bin/sh"),
            ("IMG006", "/usr/bin/passwd"),
            ("IMG008", "/app/.env"),
            ("VUL001", "/app/testapp"),
        ];
        let got: Vec<(&str, &str)> = rules
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        assert_eq!(got, expected, "{form}");
        // GO-2023-1751 (CVE-2023-24539): html/template before go1.19.9.
        let vulns = v["vulnerabilities"].as_array().unwrap();
        let cve = vulns
            .iter()
            .find(|x| x["id"] == "CVE-2023-24539")
            .unwrap_or_else(|| panic!("{form}: {vulns:?}"));
        assert_eq!(cve["package"]["name"], "stdlib", "{form}");
        assert_eq!(cve["package"]["version"], "1.19.8", "{form}");
        assert_eq!(cve["fixed"], serde_json::json!(["1.19.9"]), "{form}");
        assert_eq!(
            cve["package"]["locations"][0]["path"], "/app/testapp",
            "{form}"
        );
        assert!(
            cve["advisories"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a.as_str().unwrap().starts_with("GO-"))
        );
        assert_eq!(
            img["vulnerabilities"]["total"].as_u64(),
            Some(vulns.len() as u64),
            "{form}"
        );
        // The configured user (10001, in /etc/passwd as `app`) is not root: IMG001 assessed, passed.
        if form != "rootfs" {
            assert_eq!(img["user"], "10001", "{form}");
            let image_layer = v["layers"]
                .as_array()
                .unwrap()
                .iter()
                .find(|l| l["layer"] == "image")
                .unwrap();
            assert_eq!(
                image_layer["state"], "breached",
                "{form}: a secret in a file is critical"
            );
        }
        // Two secrets in /app/.env, at their lines, never shown in clear.
        let secrets: Vec<(u64, &str)> = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule_id"] == "IMG008")
            .map(|f| {
                (
                    f["location"]["line"].as_u64().unwrap(),
                    f["message"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(secrets.len(), 2, "{form}: {secrets:?}");
        assert!(
            secrets
                .iter()
                .all(|(_, m)| !m.contains("AKIAQWERTYUIOPASDFGH"))
        );
        assert_eq!(
            secrets.iter().map(|s| s.0).collect::<Vec<_>>(),
            [1, 2],
            "{form}"
        );
    }
}

#[test]
fn image_reports_validate_and_fail_on_sets_the_exit_code() {
    let (target, _) = &forms()[1];
    let out = rampart(&[
        "scan",
        "--image",
        target,
        "--format",
        "json",
        "--fail-on",
        "critical",
        COVERED[0],
        COVERED[1],
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a critical secret finding fails the scan"
    );
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("r.json");
    std::fs::write(&report, &out.stdout).unwrap();
    let check = Command::new(rampart_testkit::oracles::python())
        .args([
            "-c",
            "import json,sys,jsonschema\nschema=json.load(open(sys.argv[1]))\njsonschema.validate(json.load(open(sys.argv[2])), schema)",
        ])
        .arg(root().join("docs/report.schema.json"))
        .arg(&report)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    // The human report names the image and its facts.
    let human = rampart(&["scan", "--image", target, "--color", "never"]);
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(
        text.contains("Image ") && text.contains("Debian GNU/Linux 12"),
        "{text}"
    );
    assert!(text.contains("IMG008"), "{text}");
    // SARIF output carries the image rules too.
    let sarif = rampart(&["scan", "--image", target, "--format", "sarif"]);
    let s = json(&sarif);
    assert!(
        s["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["ruleId"] == "IMG006")
    );
}

#[test]
fn broken_images_are_input_errors_and_the_rest_is_still_scanned() {
    let dir = tempfile::tempdir().unwrap();
    // a tar that is not an image
    let junk = dir.path().join("junk.tar");
    std::fs::write(&junk, vec![0x42u8; 4096]).unwrap();
    // an OCI layout whose layer blob was corrupted (digest mismatch)
    let copy = dir.path().join("oci");
    let status = Command::new("cp")
        .args(["-a"])
        .arg(image_dir().join("oci"))
        .arg(&copy)
        .status()
        .unwrap();
    assert!(status.success());
    let index: Value =
        serde_json::from_slice(&std::fs::read(copy.join("index.json")).unwrap()).unwrap();
    let manifest_digest = index["manifests"][0]["digest"].as_str().unwrap();
    let manifest: Value = serde_json::from_slice(
        &std::fs::read(copy.join("blobs/sha256").join(&manifest_digest[7..])).unwrap(),
    )
    .unwrap();
    let layer = manifest["layers"][1]["digest"].as_str().unwrap().to_owned();
    let blob = copy.join("blobs/sha256").join(&layer[7..]);
    let mut bytes = std::fs::read(&blob).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&blob, bytes).unwrap();

    let examples = root().join("examples/legacy");
    // A layer cache of its own: the test image's layers may be recorded already by the other
    // tests (and a record of a diff id legitimately stands for its content); here the blob must
    // be read, and a blob that fails its digest must not be recorded.
    let layer_cache = dir.path().join("layers.db");
    let out = common::rampart_command()
        .args([
            "scan",
            examples.to_str().unwrap(),
            "--image",
            junk.to_str().unwrap(),
            "--image",
            &format!("oci-dir:{}", copy.display()),
            "--image",
            &format!("dir:{}/rootfs", image_dir().display()),
            "--format",
            "json",
            "--no-config",
            COVERED[0],
            COVERED[1],
        ])
        .current_dir(root())
        .env("RAMPART_LAYER_CACHE", &layer_cache)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Only the base layer, verified, was recorded.
    let info = common::json(common::ok(
        &common::rampart_command()
            .args(["cache", "info", "-f", "json"])
            .env("RAMPART_LAYER_CACHE", &layer_cache)
            .output()
            .unwrap(),
    ));
    assert_eq!(info["layers"], 1, "{info}");
    let v = json(&out);
    let errors: Vec<String> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{}: {}",
                e["file"].as_str().unwrap(),
                e["message"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors.iter().any(|e| e.contains("junk.tar")), "{errors:?}");
    assert!(
        errors
            .iter()
            .any(|e| e.contains("digest mismatch") && e.contains(&layer)),
        "{errors:?}"
    );
    // The Dockerfile and the good image were still scanned.
    assert!(v["summary"]["dockerfiles"].as_u64() == Some(1));
    assert_eq!(v["images"].as_array().unwrap().len(), 1);
}

/// Runs a Python oracle of the test venv (scripts/install-oracles.sh); `Err` has its output.
fn oracle(args: &[&Path]) -> Result<(), String> {
    let dir = common::oracles();
    let (program, rest) = match args.first() {
        Some(p) if p.ends_with("pyspdxtools") => (dir.join("venv/bin/pyspdxtools"), &args[1..]),
        _ => (dir.join("venv/bin/python"), args),
    };
    let out = Command::new(program).args(rest).output().unwrap();
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

#[test]
fn sbom_recall_is_complete_in_every_form_and_the_documents_validate() {
    let sbom_tests = root().join("crates/rampart-sbom/tests");
    let compare = root().join("../shared/bench/sbom_compare.py");
    let dir = tempfile::tempdir().unwrap();
    for (target, form) in forms() {
        let cdx = dir.path().join("sbom.cdx.json");
        let out = rampart(&["sbom", &target, "-o", cdx.to_str().unwrap()]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{form}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // The shared benchmark's comparison against the ground truth, line by ecosystem.
        let cmp = Command::new("python3")
            .arg(&compare)
            .arg("cmp")
            .arg(image_dir().join("gt.json"))
            .arg(&cdx)
            .arg(form.replace(' ', "_"))
            .output()
            .unwrap();
        assert!(
            cmp.status.success(),
            "{}",
            String::from_utf8_lossy(&cmp.stderr)
        );
        let text = String::from_utf8(cmp.stdout).unwrap();
        for eco in ["deb", "pypi", "npm", "golang", "maven"] {
            let line = text
                .lines()
                .find(|l| l.split_whitespace().nth(1) == Some(eco))
                .unwrap_or_else(|| panic!("{form}: no {eco} line in\n{text}"));
            assert!(line.contains("recall= 100.0%"), "{form}: {line}");
            // The war itself is the one package the ground truth (jar files only) leaves out.
            let extras = if eco == "maven" {
                "extra=   1 [('app', '0.3.1')]"
            } else {
                "extra=   0 []"
            };
            assert!(line.ends_with(extras), "{form}: {line}");
        }
        assert!(
            oracle(&[&sbom_tests.join("oracle/validate_cyclonedx.py"), &cdx]).is_ok(),
            "{form}"
        );
        assert!(
            oracle(&[
                &sbom_tests.join("oracle/validate_jsonschema.py"),
                &sbom_tests.join("data/cyclonedx/bom-1.6.schema.json"),
                &cdx,
                &sbom_tests.join("data/cyclonedx/spdx.schema.json"),
                &sbom_tests.join("data/cyclonedx/jsf-0.82.schema.json"),
            ])
            .is_ok(),
            "{form}"
        );
        let spdx = dir.path().join("sbom.spdx.json");
        let out = rampart(&[
            "sbom",
            &target,
            "-f",
            "spdx-json",
            "-o",
            spdx.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(0), "{form}");
        oracle(&[
            &sbom_tests.join("oracle/validate_jsonschema.py"),
            &sbom_tests.join("data/spdx-2.3/spdx-schema.json"),
            &spdx,
        ])
        .unwrap_or_else(|e| panic!("{form}: {e}"));
        oracle(&[Path::new("pyspdxtools"), Path::new("-i"), &spdx])
            .unwrap_or_else(|e| panic!("{form}: {e}"));
    }
}

#[test]
fn sbom_is_reproducible_on_request_and_locates_packages_in_layers() {
    let (target, _) = &forms()[1];
    let run = |extra: &[&str]| {
        let out = common::rampart_command()
            .args([&["sbom", target.as_str(), "-f", "cyclonedx-json"], extra].concat())
            .env("SOURCE_DATE_EPOCH", "1700000000")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        out.stdout
    };
    let a = run(&["--reproducible"]);
    assert_eq!(a, run(&["--reproducible"]), "same image, same bytes");
    assert_ne!(
        run(&[]),
        run(&[]),
        "fresh documents get fresh serial numbers"
    );
    let v: Value = serde_json::from_slice(&a).unwrap();
    assert_eq!(v["metadata"]["timestamp"], "2023-11-14T22:13:20Z");
    // The app layer's packages name that layer (the second of the manifest).
    let oci = image_dir().join("oci");
    let index: Value =
        serde_json::from_slice(&std::fs::read(oci.join("index.json")).unwrap()).unwrap();
    let m = index["manifests"][0]["digest"].as_str().unwrap();
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(oci.join("blobs/sha256").join(&m[7..])).unwrap())
            .unwrap();
    let app_layer = manifest["layers"][1]["digest"].as_str().unwrap();
    let base_layer = manifest["layers"][0]["digest"].as_str().unwrap();
    let layer_of = |purl_start: &str| -> String {
        let c = v["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| {
                c["purl"]
                    .as_str()
                    .is_some_and(|p| p.starts_with(purl_start))
            })
            .unwrap_or_else(|| panic!("no {purl_start}"));
        c["properties"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"].as_str().is_some_and(|n| n.ends_with(":layer")))
            .map(|p| p["value"].as_str().unwrap().to_owned())
            .unwrap()
    };
    assert_eq!(layer_of("pkg:npm/express@"), app_layer);
    assert_eq!(layer_of("pkg:deb/debian/dpkg@"), base_layer);
}

fn purl_set(out: &Output) -> BTreeSet<String> {
    json(out)["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["purl"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn images_pulled_from_a_registry_match_the_local_layout() {
    let reg = Registry::start(common::Auth::None);
    common::push(&reg, "shop/app:1.0", None);
    let remote = format!("127.0.0.1:{}/shop/app:1.0", reg.port);
    let local = rampart(&["sbom", &forms()[1].0]);
    let pulled = rampart(&["sbom", &remote, "--insecure"]);
    assert_eq!(
        pulled.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&pulled.stderr)
    );
    assert_eq!(purl_set(&pulled), purl_set(&local));
    let v = json(&pulled);
    assert_eq!(
        v["metadata"]["component"]["purl"]
            .as_str()
            .map(|p| p.starts_with("pkg:oci/app@sha256:")),
        Some(true),
        "{}",
        v["metadata"]["component"]
    );
    // scan: the same facts and findings as from the local layout
    let findings = |out: &Output| -> Vec<String> {
        json(out)["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| format!("{} {}", f["rule_id"], f["location"]["file"]))
            .collect()
    };
    let scan_remote = rampart(&["scan", "--image", &remote, "--insecure", "--format", "json"]);
    let scan_local = rampart(&["scan", "--image", &forms()[1].0, "--format", "json"]);
    assert_eq!(findings(&scan_remote), findings(&scan_local));
    assert!(
        json(&scan_remote)["images"][0]["digest"]
            .as_str()
            .is_some_and(|d| d.starts_with("sha256:"))
    );
    // without --insecure, rampart speaks HTTPS to a plain-HTTP registry: a clear error, exit 2
    let tls = rampart(&["sbom", &remote]);
    assert_eq!(tls.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&tls.stderr).contains(&remote));
    // an unknown tag names the registry's error code
    let missing = rampart(&[
        "sbom",
        &format!("127.0.0.1:{}/shop/app:nope", reg.port),
        "--insecure",
    ]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("MANIFEST_UNKNOWN"),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );
}

#[test]
fn registry_credentials_come_from_flags_and_docker_config() {
    let reg = Registry::start(common::Auth::Htpasswd(vec![("ci", "s3cret-pass")]));
    common::push(&reg, "team/app:2", Some("ci:s3cret-pass"));
    let remote = format!("127.0.0.1:{}/team/app:2", reg.port);
    // anonymous: refused, with the registry's code and without leaking anything
    let anon = rampart(&["sbom", &remote, "--insecure", "-f", "table"]);
    assert_eq!(anon.status.code(), Some(2));
    let err = String::from_utf8_lossy(&anon.stderr);
    assert!(err.contains("UNAUTHORIZED") || err.contains("401"), "{err}");
    // --username with --password-stdin
    let mut child = common::rampart_command()
        .args([
            "sbom",
            &remote,
            "--insecure",
            "-f",
            "table",
            "--username",
            "ci",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"s3cret-pass\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("express"));
    // a Docker config.json with an `auth` entry for the registry
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.json");
    let auth = base64_encode(b"ci:s3cret-pass");
    std::fs::write(
        &config,
        format!(
            r#"{{"auths":{{"127.0.0.1:{}":{{"auth":"{auth}"}}}}}}"#,
            reg.port
        ),
    )
    .unwrap();
    let out = rampart(&[
        "sbom",
        &remote,
        "--insecure",
        "-f",
        "table",
        "--docker-config",
        config.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // the wrong password from the environment: refused, and the password is never printed
    let out = common::rampart_command()
        .args(["sbom", &remote, "--insecure", "--username", "ci"])
        .env("RAMPART_REGISTRY_PASSWORD", "wrong-horse-battery")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("wrong-horse-battery"));
}

fn base64_encode(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(char::from(T[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}
