//! The supply-chain layer of `rampart scan`: images from registries outside `[registries] allow`
//! in manifests and Dockerfile `FROM` lines (SUP001), and registry images checked against a
//! trust policy (SUP002 signature, SUP003 attestations) on Debian's docker-registry, with images
//! signed and attested by `rampart sign` / `rampart attest`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::ok;

use std::path::Path;
use std::process::{Output, Stdio};

use serde_json::Value;

fn rampart(args: &[&str], cwd: &Path) -> Output {
    common::rampart_command()
        .args(args)
        .current_dir(cwd)
        .env_remove("COSIGN_REPOSITORY")
        .env("COSIGN_PASSWORD", "pw")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// The findings of one rule, as (subject, file:line:col, message).
fn findings(report: &Value, rule: &str) -> Vec<(String, String, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule_id"] == rule)
        .map(|f| {
            (
                f["subject"].as_str().unwrap().to_owned(),
                format!(
                    "{}:{}:{}",
                    f["location"]["file"].as_str().unwrap(),
                    f["location"]["line"],
                    f["location"]["column"]
                ),
                f["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn layer(report: &Value, name: &str) -> Value {
    report["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["layer"] == name)
        .unwrap()
        .clone()
}

#[test]
fn images_outside_the_allowed_registries_are_findings_in_manifests_and_from_lines() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("rampart.toml"),
        "[registries]\nallow = [\"registry.example.com/shop/**\", \"golang\"]\n",
    )
    .unwrap();
    std::fs::write(
        d.join("app.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    spec:\n      initContainers:\n      - name: init\n        image: busybox:1.36\n      containers:\n      - name: web\n        image: registry.example.com/shop/web:1.0\n      - name: sidecar\n        image: quay.io/someone/proxy:2\n",
    )
    .unwrap();
    std::fs::write(
        d.join("Dockerfile"),
        "ARG BASE\nFROM golang:1.23 AS build\nRUN true\nFROM build AS test\nFROM ${BASE} AS anything\nFROM scratch AS empty\nFROM ubuntu:24.04\nCOPY --from=build /app /app\n",
    )
    .unwrap();
    let out = rampart(&["scan", ".", "--format", "json", "--fail-on", "none"], d);
    ok(&out);
    let report: Value = common::json(&out);
    let mut found = findings(&report, "SUP001");
    found.sort();
    let at: Vec<(&str, &str)> = found
        .iter()
        .map(|(s, l, _)| (s.as_str(), l.as_str()))
        .collect();
    assert_eq!(
        at,
        [
            ("Deployment shop/web", "app.yaml:10:9"),
            ("Deployment shop/web", "app.yaml:15:9"),
            ("Dockerfile Dockerfile", "Dockerfile:7:6"),
        ],
        "{found:#?}"
    );
    let messages: Vec<&str> = found.iter().map(|(_, _, m)| m.as_str()).collect();
    assert!(
        messages[1].contains("quay.io/someone/proxy"),
        "{messages:?}"
    );
    assert!(
        messages[0].contains("docker.io/library/busybox"),
        "{messages:?}"
    );
    assert!(
        messages[2].contains("docker.io/library/ubuntu")
            && messages[2].contains("registry.example.com/shop/**, golang"),
        "{messages:?}"
    );
    let supply = layer(&report, "supply-chain");
    assert_eq!(supply["state"], "breached", "{supply}");

    // Without the allow-list nothing is said about registries.
    let out = rampart(
        &[
            "scan",
            ".",
            "--no-config",
            "--format",
            "json",
            "--fail-on",
            "none",
        ],
        d,
    );
    assert!(findings(&common::json(&out), "SUP001").is_empty());
}

#[test]
fn the_bundled_example_shows_the_allow_list() {
    let out = rampart(&["scan", "examples", "--format", "json"], &common::root());
    let report = common::json(&out);
    let found = findings(&report, "SUP001");
    let places: Vec<&str> = found.iter().map(|(_, l, _)| l.as_str()).collect();
    assert!(
        places.contains(&"examples/k8s/legacy.yaml:20:11")
            && places.contains(&"examples/k8s/debug-pod.json:13:9")
            && places.contains(&"examples/legacy/Dockerfile:1:6"),
        "{found:#?}"
    );
    assert_eq!(
        found.len(),
        3,
        "the shop's own images are allowed: {found:#?}"
    );
}

/// A registry with the example's worker image as `shop/app:1` (signed and attested with key
/// `k`), `shop/unsigned:1` (not signed) and `shop/other:1` (signed with another key).
struct Signed {
    reg: common::Registry,
    dir: tempfile::TempDir,
    host: String,
}

fn signed_registry() -> Signed {
    let reg = common::Registry::start(common::Auth::None);
    let worker = common::root().join("examples/images/worker");
    for repo in ["shop/app:1", "shop/unsigned:1", "shop/other:1"] {
        reg.push_layout(&worker, None, repo);
    }
    let host = reg.host();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for name in ["k", "other"] {
        let prefix = d.join(name);
        ok(&rampart(
            &[
                "key",
                "generate",
                "--output-prefix",
                prefix.to_str().unwrap(),
            ],
            d,
        ));
    }
    let app = format!("{host}/shop/app:1");
    ok(&rampart(&["sign", "--insecure", "--key", "k.key", &app], d));
    ok(&rampart(
        &[
            "sign",
            "--insecure",
            "--key",
            "other.key",
            &format!("{host}/shop/other:1"),
        ],
        d,
    ));
    let sbom = d.join("worker.cdx.json");
    ok(&rampart(
        &[
            "sbom",
            &format!("oci-dir:{}", worker.display()),
            "-o",
            sbom.to_str().unwrap(),
        ],
        d,
    ));
    ok(&rampart(
        &[
            "attest",
            "--insecure",
            "--key",
            "k.key",
            "--type",
            "cyclonedx",
            "--predicate",
            sbom.to_str().unwrap(),
            &app,
        ],
        d,
    ));
    Signed { reg, dir, host }
}

fn scan_images(s: &Signed, extra: &[&str], repos: &[&str]) -> Output {
    let mut args = vec![
        "scan".to_owned(),
        "--insecure".to_owned(),
        "--no-vulns".to_owned(),
        "--no-inventory".to_owned(),
        "--format".to_owned(),
        "json".to_owned(),
        "--fail-on".to_owned(),
        "none".to_owned(),
    ];
    args.extend(extra.iter().map(|a| (*a).to_owned()));
    for r in repos {
        args.push("--image".to_owned());
        args.push(format!("{}/{r}", s.host));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    rampart(&args, s.dir.path())
}

#[test]
fn registry_images_are_verified_against_the_trust_policy() {
    let s = signed_registry();
    let d = s.dir.path();
    let host = &s.host;
    std::fs::write(
        d.join("trust.toml"),
        format!("[[image]]\nmatch = [\"{host}/shop/*\"]\nkeys = [\"k.pub\"]\nattestations = [\"cyclonedx\"]\n"),
    )
    .unwrap();

    // Signed and attested, unsigned, signed by another key: one scan.
    let out = scan_images(
        &s,
        &["--policy", "trust.toml"],
        &["shop/app:1", "shop/unsigned:1", "shop/other:1"],
    );
    ok(&out);
    let report = common::json(&out);
    let sig = findings(&report, "SUP002");
    let subjects: Vec<&str> = sig.iter().map(|(s, _, _)| s.as_str()).collect();
    assert_eq!(
        subjects,
        [
            format!("Image {host}/shop/other:1"),
            format!("Image {host}/shop/unsigned:1"),
        ],
        "{sig:#?}"
    );
    assert!(
        sig[0].2.contains("k.pub") && !sig[0].2.to_lowercase().contains("no signature"),
        "{sig:#?}"
    );
    assert!(sig[1].2.to_lowercase().contains("no signature"), "{sig:#?}");
    let att = findings(&report, "SUP003");
    let att_subjects: Vec<&str> = att.iter().map(|(s, _, _)| s.as_str()).collect();
    assert_eq!(
        att_subjects,
        [
            format!("Image {host}/shop/other:1"),
            format!("Image {host}/shop/unsigned:1"),
        ],
        "{att:#?}"
    );
    assert!(att[1].2.contains("cyclonedx"), "{att:#?}");
    // The signed image's controls were assessed and passed.
    let supply = layer(&report, "supply-chain");
    assert_eq!(supply["state"], "breached", "{supply}");
    let passed = supply["passed"].as_u64().unwrap_or(0);
    assert!(
        passed >= 2,
        "signature and attestation of shop/app:1 hold: {supply}"
    );

    // The policy from rampart.toml, relative to it; provenance required too: the signed image
    // now lacks one attestation, and its signature still holds.
    std::fs::write(
        d.join("trust.toml"),
        format!("[[image]]\nmatch = [\"{host}/shop/*\"]\nkeys = [\"k.pub\"]\nattestations = [\"cyclonedx\", \"slsaprovenance\"]\n"),
    )
    .unwrap();
    std::fs::write(d.join("rampart.toml"), "policy = \"trust.toml\"\n").unwrap();
    let out = scan_images(&s, &["--config", "rampart.toml"], &["shop/app:1"]);
    ok(&out);
    let report = common::json(&out);
    assert!(
        findings(&report, "SUP002").is_empty(),
        "the signature holds"
    );
    let att = findings(&report, "SUP003");
    assert_eq!(att.len(), 1, "{att:#?}");
    assert!(
        att[0]
            .2
            .contains("requires a https://slsa.dev/provenance/v0.2 attestation"),
        "{att:#?}"
    );

    // No policy: nothing checked.
    let out = scan_images(&s, &["--no-config"], &["shop/unsigned:1"]);
    ok(&out);
    let report = common::json(&out);
    assert!(findings(&report, "SUP002").is_empty());

    // A registry error is an input error (exit 2), never a control that holds.
    let port = s.reg.port;
    drop(s.reg);
    let out = rampart(
        &[
            "scan",
            "--insecure",
            "--no-vulns",
            "--no-inventory",
            "--format",
            "json",
            "--policy",
            "trust.toml",
            "--image",
            &format!("127.0.0.1:{port}/shop/app:1"),
        ],
        d,
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = common::json(&out);
    let errors = report["errors"].as_array().unwrap();
    assert!(
        errors
            .iter()
            .any(|e| e["message"].as_str().unwrap().contains("trust policy")),
        "{errors:#?}"
    );
    let supply = layer(&report, "supply-chain");
    assert_ne!(supply["state"], "holds", "{supply}");
}

// ---------------------------------------------------------------------------------------------
// what rampart deploys and writes passes its own checks

#[test]
fn admission_manifests_pass_rampart_scan_with_nothing_at_or_above_medium() {
    let dir = tempfile::tempdir().unwrap();
    let digest = format!("sha256:{}", "ab".repeat(32));
    let out = rampart(
        &[
            "admission",
            "manifests",
            "--config",
            common::root()
                .join("examples/admission/admission.toml")
                .to_str()
                .unwrap(),
            "--image",
            "registry.example.com/rampart:0.1.0",
            "--image-digest",
            &digest,
        ],
        dir.path(),
    );
    ok(&out);
    let yaml = String::from_utf8(out.stdout).unwrap();
    assert!(
        yaml.contains(&format!("registry.example.com/rampart:0.1.0@{digest}")),
        "the image is pinned"
    );
    std::fs::write(dir.path().join("rampart.yaml"), &yaml).unwrap();
    let out = rampart(
        &[
            "scan",
            "rampart.yaml",
            "--no-config",
            "--format",
            "json",
            "--fail-on",
            "medium",
        ],
        dir.path(),
    );
    let report = common::json(&out);
    let serious: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| ["critical", "high", "medium"].contains(&f["severity"].as_str().unwrap()))
        .map(|f| format!("{} {}: {}", f["rule_id"], f["subject"], f["message"]))
        .collect();
    assert!(serious.is_empty(), "{serious:#?}");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The network layer was assessed, and holds.
    assert_eq!(layer(&report, "network")["state"], "holds");

    // A digest that is not one is refused.
    let out = rampart(
        &["admission", "manifests", "--image-digest", "sha256:xyz"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("image-digest"));
}

#[test]
fn sbom_of_a_plain_directory_reads_it_as_a_root_filesystem_as_the_readme_says() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("rootfs");
    std::fs::create_dir_all(root.join("var/lib/dpkg")).unwrap();
    std::fs::write(
        root.join("var/lib/dpkg/status"),
        "Package: zlib1g\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1:1.2.13.dfsg-1\n\n",
    )
    .unwrap();
    let plain = rampart(&["sbom", "rootfs", "-f", "json"], dir.path());
    ok(&plain);
    let prefixed = rampart(&["sbom", "dir:rootfs", "-f", "json"], dir.path());
    ok(&prefixed);
    let (plain, prefixed) = (common::json(&plain), common::json(&prefixed));
    assert!(plain["packages"].to_string().contains("zlib1g"), "{plain}");
    assert_eq!(
        plain["kind"], prefixed["kind"],
        "a plain directory is `dir:`"
    );
    assert_eq!(
        plain["packages"], prefixed["packages"],
        "a plain directory is `dir:`"
    );
    let readme = std::fs::read_to_string(common::root().join("README.md")).unwrap();
    assert!(
        readme.contains("any other directory is read as a root filesystem")
            && !readme.contains("a directory needs `dir:`"),
        "README says what `rampart sbom DIR` does"
    );
}
