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

const WEB: &str = "registry.example.com/shop/web@sha256:9b7c5f3c2d1e0a4b6c8d7e9f0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3";

fn deployment(security: &str, ports: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  selector:\n    matchLabels: {{app: web}}\n  template:\n    metadata:\n      labels: {{app: web}}\n    spec:\n      containers:\n      - name: web\n        image: {WEB}\n        ports: {ports}\n        securityContext:\n{security}"
    )
}

const CONFORMING: &str = "          runAsNonRoot: true\n          runAsUser: 10001\n          allowPrivilegeEscalation: false\n          readOnlyRootFilesystem: true\n          capabilities: {drop: [ALL]}\n          seccompProfile: {type: Localhost, localhostProfile: rampart/web.json}\n";

/// `rampart scan --intent`: a workload granting more than its image's intent is INT001 at the
/// field; one made as the intent says is assessed and clean; a broken intent is an input error.
#[test]
fn scan_reports_workloads_beyond_their_images_intent() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("k8s")).unwrap();
    std::fs::create_dir(d.join("intents")).unwrap();
    std::fs::copy(
        root().join("examples/intent/web.intent.toml"),
        d.join("intents/web.intent.toml"),
    )
    .unwrap();
    std::fs::write(
        d.join("k8s/good.yaml"),
        deployment(CONFORMING, "[{containerPort: 8080}]"),
    )
    .unwrap();
    let scan = |args: &[&str]| -> (Option<i32>, serde_json::Value, String) {
        let mut all = vec!["scan", "k8s", "--format", "json", "--no-config"];
        all.extend_from_slice(args);
        let out = rampart_in(&all, d);
        (
            out.status.code(),
            serde_json::from_slice(&out.stdout).unwrap(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let int001 = |report: &serde_json::Value| -> Vec<(String, u64)> {
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule_id"] == "INT001")
            .map(|f| {
                (
                    f["message"].as_str().unwrap().to_owned(),
                    f["location"]["line"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let (_, report, err) = scan(&["--intent", "intents"]);
    assert!(int001(&report).is_empty(), "{:?} {err}", int001(&report));
    let runtime_assessed = |r: &serde_json::Value| {
        r["layers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["layer"] == "runtime")
            .unwrap()["assessed"]
            .as_u64()
            .unwrap()
    };
    let (_, without, _) = scan(&[]);
    assert_eq!(
        runtime_assessed(&report),
        runtime_assessed(&without) + 1,
        "the intent control is assessed on the workload"
    );

    let bad = deployment(
        &CONFORMING.replace(
            "capabilities: {drop: [ALL]}",
            "capabilities: {drop: [ALL], add: [SYS_ADMIN]}",
        ),
        "[{containerPort: 8080}, {containerPort: 22}]",
    );
    std::fs::write(d.join("k8s/good.yaml"), &bad).unwrap();
    let (_, report, _) = scan(&["--intent", "intents"]);
    let found = int001(&report);
    let line_of = |needle: &str| bad.lines().position(|l| l.contains(needle)).unwrap() as u64 + 1;
    assert!(
        found
            .iter()
            .any(|(m, l)| m.contains("adds SYS_ADMIN") && *l == line_of("SYS_ADMIN")),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|(m, l)| m.contains("TCP 22") && *l == line_of("containerPort: 22")),
        "{found:?}"
    );
    assert_eq!(found.len(), 2, "{found:?}");

    // without the intent, nothing of the kind is checked
    let (_, report, _) = scan(&[]);
    assert!(int001(&report).is_empty());

    // a broken intent is an input error (exit 2) and the good ones still count
    std::fs::write(
        d.join("intents/zz-bad.toml"),
        "version = 1\nimage = \"a/b:1\"\n",
    )
    .unwrap();
    let (code, report, err) = scan(&["--intent", "intents"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("zz-bad.toml:2:9"), "{err}");
    assert_eq!(int001(&report).len(), 2);
}
