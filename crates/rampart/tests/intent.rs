//! `rampart intent`: check (exit codes, positioned errors), compile (the files written, the
//! notes, a bundle's config.json rewritten), schema.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code: a failed expectation is a test failure"
)]

mod common;

use common::{ok, rampart_in, root};

#[test]
fn check_reports_each_bad_file_with_its_position_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "version = 1\nimage = \"a/b:1\"\n").unwrap();
    let good = root().join("examples/intent/web.intent.toml");
    let out = rampart_in(
        &[
            "intent",
            "check",
            good.to_str().unwrap(),
            bad.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bad.toml:2:9: `a/b:1` has no digest"),
        "{stderr}"
    );
    assert!(stderr.contains("1 of 2 intent(s) invalid"), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("web.intent.toml: valid intent"), "{stdout}");
    ok(&rampart_in(
        &["intent", "check", good.to_str().unwrap()],
        dir.path(),
    ));
}

#[test]
fn compile_writes_every_layer_and_rewrites_a_bundle() {
    rampart_testkit::runc::ensure_runc();
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("bundle");
    std::fs::create_dir(&bundle).unwrap();
    assert!(
        std::process::Command::new("runc")
            .arg("spec")
            .current_dir(&bundle)
            .status()
            .unwrap()
            .success()
    );
    let intent = root().join("examples/intent/web.intent.toml");
    let key = root().join("examples/keys/release.pub");
    let out = ok(&rampart_in(
        &[
            "intent",
            "compile",
            intent.to_str().unwrap(),
            "--out",
            "out",
            "--namespace",
            "shop",
            "--key",
            key.to_str().unwrap(),
            "--bundle",
            "bundle",
        ],
        dir.path(),
    ))
    .clone();
    let stdout = String::from_utf8_lossy(&out.stdout);
    for f in [
        "web.seccomp.json",
        "web.patch.yaml",
        "web.runc.json",
        "web.networkpolicy.yaml",
        "web.rules.yaml",
        "web.monitor.toml",
        "web.trust.toml",
        "web.admission.toml",
    ] {
        assert!(
            dir.path().join("out").join(f).is_file(),
            "{f} not written: {stdout}"
        );
    }
    assert!(
        stdout.contains("note: NetworkPolicy: egress to `api.payments.example.com`"),
        "{stdout}"
    );
    // the trust policy names the key by an absolute path, usable from the output directory
    let trust = std::fs::read_to_string(dir.path().join("out/web.trust.toml")).unwrap();
    assert!(
        trust.contains(&*std::fs::canonicalize(&key).unwrap().to_string_lossy()),
        "{trust}"
    );
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bundle.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["process"]["user"]["uid"], 10001);
    assert_eq!(config["root"]["readonly"], true);
    // compiling again gives the same bytes
    let first = std::fs::read(dir.path().join("out/web.rules.yaml")).unwrap();
    ok(&rampart_in(
        &[
            "intent",
            "compile",
            intent.to_str().unwrap(),
            "--out",
            "out2",
        ],
        dir.path(),
    ));
    assert_eq!(
        first,
        std::fs::read(dir.path().join("out2/web.rules.yaml")).unwrap()
    );
}

#[test]
fn schema_prints_the_documented_schema() {
    let out = ok(&rampart_in(&["intent", "schema"], &root())).clone();
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let documented: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root().join("docs/intent.schema.json")).unwrap())
            .unwrap();
    assert_eq!(printed, documented);
}
