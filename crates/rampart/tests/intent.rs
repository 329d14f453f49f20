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

/// A busybox httpd bundle serving `/www` on 127.0.0.1:`port` (host network, so a smoke test
/// on the host reaches it), as uid 1000, read-only root with a /tmp tmpfs, an /etc/shadow.
fn httpd_bundle(port: u16) -> rampart_testkit::runc::Bundle {
    let b = rampart_testkit::runc::Bundle::busybox()
        .args(&[
            "httpd",
            "-f",
            "-p",
            &format!("127.0.0.1:{port}"),
            "-h",
            "/www",
        ])
        .readonly(true)
        .tmpfs("/tmp")
        .build();
    std::fs::create_dir_all(b.rootfs.join("www")).unwrap();
    std::fs::write(b.rootfs.join("www/index.html"), "hello from the castle\n").unwrap();
    std::fs::create_dir_all(b.rootfs.join("etc")).unwrap();
    std::fs::write(b.rootfs.join("etc/shadow"), "root:*:19000:0:99999:7:::\n").unwrap();
    let path = b.dir.join("config.json");
    let mut config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    config["process"]["user"] = serde_json::json!({ "uid": 1000, "gid": 1000 });
    let ns = config["linux"]["namespaces"].as_array_mut().unwrap();
    ns.retain(|n| n["type"] != "network");
    std::fs::write(&path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
    b
}

use rampart_testkit::registry::free_port;

const HTTPD_IMAGE: &str = "registry.example.com/castle/httpd@sha256:5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e";

/// `rampart intent learn`: a real server under runc, the monitor and the seccomp recorder
/// watching, driven by a smoke test on the host; a second run merged.
#[test]
fn learn_writes_the_intent_a_run_shows_and_merges_runs() {
    let port = free_port();
    let bundle = httpd_bundle(port);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("httpd.intent.toml");
    let smoke = format!(
        "curl -sf --retry 20 --retry-connrefused --retry-delay 0 http://127.0.0.1:{port}/index.html"
    );
    let run = |smoke: &str, merge: bool| {
        let mut args = vec![
            "intent",
            "learn",
            "--bundle",
            bundle.dir.to_str().unwrap(),
            "--image",
            HTTPD_IMAGE,
            "--smoke",
            smoke,
            "--out",
            out.to_str().unwrap(),
        ];
        if merge {
            args.push("--merge");
        }
        rampart_in(&args, dir.path())
    };
    let first = run(&smoke, false);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let intent = rampart_intent::Intent::load(&out).unwrap();
    assert_eq!(intent.image.as_str(), HTTPD_IMAGE);
    assert_eq!(intent.process.user, 1000);
    let exes: Vec<&str> = intent
        .process
        .executables
        .iter()
        .map(|e| e.path.as_str())
        .collect();
    assert!(exes.iter().any(|e| e.ends_with("busybox")), "{exes:?}");
    assert_eq!(
        intent.network.listen.len(),
        1,
        "{:?}",
        intent.network.listen
    );
    assert_eq!(intent.network.listen[0].port.0, port);
    let syscalls: Vec<&str> = intent
        .kernel
        .syscalls
        .as_ref()
        .unwrap()
        .iter()
        .map(|s| s.as_str())
        .collect();
    for s in ["accept", "bind", "listen"] {
        assert!(
            syscalls.iter().any(|x| x.starts_with(s)),
            "{s}: {syscalls:?}"
        );
    }
    let never: Vec<&str> = intent.files.never_read.iter().map(|p| p.as_str()).collect();
    assert!(never.contains(&"/etc/shadow"), "{never:?}");
    assert!(intent.files.read_only_root);

    // a second run that also reads a missing page: merged into the same intent
    let smoke2 = format!("{smoke} && ! curl -sf http://127.0.0.1:{port}/missing");
    let second = run(&smoke2, true);
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    let merged = rampart_intent::Intent::load(&out).unwrap();
    assert_eq!(merged.network.listen, intent.network.listen);
    assert!(merged.kernel.syscalls.as_ref().unwrap().len() >= syscalls.len());

    // a failing smoke test writes nothing
    std::fs::remove_file(&out).unwrap();
    let bad = run(&format!("curl -sf http://127.0.0.1:{port}/missing"), false);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("smoke test"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    assert!(!out.exists());
}

/// `rampart intent learn -- COMMAND`: a host command and what it starts, told apart from the
/// rest of the host by a variable in its environment.
#[test]
fn learn_from_a_host_command() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cmd.intent.toml");
    let marker = dir.path().join("written");
    let script = format!(
        "cat /etc/hostname > {} && ls / > /dev/null",
        marker.display()
    );
    let run = rampart_in(
        &[
            "intent",
            "learn",
            "--image",
            HTTPD_IMAGE,
            "--out",
            out.to_str().unwrap(),
            "--",
            "sh",
            "-c",
            &script,
        ],
        dir.path(),
    );
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let intent = rampart_intent::Intent::load(&out).unwrap();
    let exes: Vec<&str> = intent
        .process
        .executables
        .iter()
        .map(|e| e.path.as_str())
        .collect();
    for e in ["cat", "ls"] {
        assert!(
            exes.iter().any(|x| x.ends_with(&format!("/{e}"))),
            "{e}: {exes:?}"
        );
    }
    assert!(
        !exes.iter().any(|x| x.ends_with("/env")),
        "the launcher is not the workload: {exes:?}"
    );
    let writable: Vec<&str> = intent.files.writable.iter().map(|p| p.as_str()).collect();
    let parent = dir.path().to_str().unwrap();
    assert!(
        writable.iter().any(|w| parent.starts_with(w)),
        "{writable:?}"
    );
    assert!(
        intent
            .kernel
            .syscalls
            .as_ref()
            .unwrap()
            .iter()
            .any(|s| s.as_str() == "execve")
    );
    // a failing command writes nothing
    let bad = rampart_in(
        &[
            "intent",
            "learn",
            "--image",
            HTTPD_IMAGE,
            "--out",
            dir.path().join("bad.toml").to_str().unwrap(),
            "--",
            "sh",
            "-c",
            "exit 3",
        ],
        dir.path(),
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(!dir.path().join("bad.toml").exists());
}

/// INT002: the NetworkPolicies selecting a workload's pods against its image's intent: none at
/// all, the compiled ones (clean), wider ones (every port, egress anywhere).
#[test]
fn scan_reports_network_policies_wider_than_the_intent() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("k8s")).unwrap();
    let intent = root().join("examples/intent/web.intent.toml");
    std::fs::write(
        d.join("k8s/web.yaml"),
        deployment(CONFORMING, "[{containerPort: 8080, name: http}]"),
    )
    .unwrap();
    let int002 = || -> Vec<String> {
        let out = rampart_in(
            &[
                "scan",
                "k8s",
                "--format",
                "json",
                "--no-config",
                "--intent",
                intent.to_str().unwrap(),
            ],
            d,
        );
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule_id"] == "INT002")
            .map(|f| f["message"].as_str().unwrap().to_owned())
            .collect()
    };
    let found = int002();
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found
            .iter()
            .any(|m| m.contains("ingress") && m.contains("TCP 8080")),
        "{found:?}"
    );
    assert!(found.iter().any(|m| m.contains("egress")), "{found:?}");

    // the policies the intent compiles to: nothing wider
    ok(&rampart_in(
        &[
            "intent",
            "compile",
            intent.to_str().unwrap(),
            "--out",
            "compiled",
            "--namespace",
            "shop",
        ],
        d,
    ));
    std::fs::copy(
        d.join("compiled/web.networkpolicy.yaml"),
        d.join("k8s/np.yaml"),
    )
    .unwrap();
    let found = int002();
    assert!(found.is_empty(), "{found:?}");

    // wider ones: ingress on every port, a named port the intent does not listen on, egress anywhere
    std::fs::write(
        d.join("k8s/wide.yaml"),
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: wide, namespace: shop}\nspec:\n  podSelector: {matchLabels: {app: web}}\n  policyTypes: [Ingress, Egress]\n  ingress:\n  - {}\n  - ports: [{port: 9090}]\n  egress:\n  - to: [{ipBlock: {cidr: 0.0.0.0/0}}]\n    ports: [{port: 22}]\n  - to: [{ipBlock: {cidr: 10.30.1.0/24}}]\n    ports: [{port: 5432}]\n",
    )
    .unwrap();
    let found = int002();
    assert!(
        found
            .iter()
            .any(|m| m.contains("wide admits ingress on every port")),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|m| m.contains("wide admits ingress on TCP 9090")),
        "{found:?}"
    );
    assert_eq!(
        found
            .iter()
            .filter(|m| m.contains("wide admits egress"))
            .count(),
        1,
        "egress to 0.0.0.0/0:22 is wider; 10.30.1.0/24:5432 is inside the intent: {found:?}"
    );
}
