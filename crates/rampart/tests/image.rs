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
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn rampart(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap()
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// The test image directory (built on first use, cached).
fn image_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let out = Command::new("bash")
            .arg(root().join("scripts/build-test-image.sh"))
            .stderr(Stdio::inherit())
            .output()
            .expect("run scripts/build-test-image.sh");
        assert!(out.status.success(), "building the test image failed");
        PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
    })
}

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
        let out = rampart(&["scan", "--image", &target, "--format", "json"]);
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
        // The same in every form: the configuration (user 10001, port 8080) passes.
        let expected = [
            ("IMG003", "/usr/bin/sh"),
            ("IMG006", "/usr/bin/passwd"),
            ("IMG008", "/app/.env"),
        ];
        let got: Vec<(&str, &str)> = rules
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        assert_eq!(got, expected, "{form}");
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
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a critical secret finding fails the scan"
    );
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("r.json");
    std::fs::write(&report, &out.stdout).unwrap();
    let oracles = Command::new("bash")
        .arg(root().join("scripts/install-oracles.sh"))
        .output()
        .unwrap();
    assert!(oracles.status.success());
    let venv =
        PathBuf::from(String::from_utf8(oracles.stdout).unwrap().trim()).join("venv/bin/python");
    let check = Command::new(venv)
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
    let out = rampart(&[
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
    ]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
