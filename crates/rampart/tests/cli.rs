//! End-to-end tests of the `rampart` binary: the bundled example (golden JSON report), the
//! report schema and SARIF checked by real validators, exit codes, suppressions, and bad input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output, Stdio};

mod common;

use common::{json, oracles, root, validate_with_jsonschema};

fn rampart(args: &[&str], cwd: &Path) -> Output {
    common::rampart_in(args, cwd)
}

fn example_report() -> (Output, Value) {
    let out = rampart(&["scan", "examples", "--format", "json"], &root());
    let v = json(&out);
    (out, v)
}

#[test]
fn example_report_golden() {
    let (out, report) = example_report();
    // examples/rampart.toml sets fail-on = "high"; the example has high findings.
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout.clone()).unwrap().replace(
        &format!("\"version\": \"{}\"", env!("CARGO_PKG_VERSION")),
        "\"version\": \"[version]\"",
    );
    // The example's advisories are imported at scan time: no database time in the report.
    assert!(report["images"][0]["vulnerabilities"]["database_built"].is_null());
    insta::assert_snapshot!("example_report_json", text);
    // And a few facts the snapshot must keep, stated plainly.
    let layers = report["layers"].as_array().unwrap();
    let state = |name: &str| layers.iter().find(|l| l["layer"] == name).unwrap()["state"].clone();
    assert_eq!(
        state("image"),
        "breached",
        "the worker image runs as root, a token in it"
    );
    assert_eq!(state("monitoring"), "not-assessed");
    assert_eq!(state("build"), "breached");
    assert_eq!(state("host"), "breached");
    let rules: std::collections::BTreeSet<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule_id"].as_str().unwrap())
        .collect();
    let families = [
        "DF", "PSS", "K8S", "NET", "RBAC", "ADM", "CFG", "IMG", "VUL", "SUP",
    ];
    for fam in families {
        assert!(
            rules.iter().any(|r| r.starts_with(fam)),
            "no {fam} finding in the example: {rules:?}"
        );
    }
    assert!(
        rules.len() >= 30,
        "the example exercises most rules: {} fired",
        rules.len()
    );
}

#[test]
fn example_has_inline_config_and_expired_suppressions() {
    let (_, report) = example_report();
    let findings = report["findings"].as_array().unwrap();
    let kinds: Vec<&str> = findings
        .iter()
        .filter_map(|f| f["suppressed"]["kind"].as_str())
        .collect();
    assert!(
        kinds.contains(&"inline") && kinds.contains(&"config"),
        "{kinds:?}"
    );
    let expired = findings
        .iter()
        .find(|f| f["rule_id"] == "CFG001")
        .expect("expired suppression reported");
    assert!(
        expired["message"]
            .as_str()
            .unwrap()
            .contains("expired on 2025-06-30")
    );
    // The expired suppression no longer hides the :latest finding it covered.
    assert!(
        findings
            .iter()
            .any(|f| f["rule_id"] == "K8S005" && f["suppressed"].is_null())
    );
}

#[test]
fn json_report_validates_against_its_schema() {
    let (out, _) = example_report();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.json");
    std::fs::write(&file, &out.stdout).unwrap();
    validate_with_jsonschema(&root().join("docs/report.schema.json"), &file).unwrap();
    // The schema is strict enough to catch a broken report.
    let mut broken: Value = json(&out);
    broken["findings"][0]["severity"] = Value::from("severe");
    std::fs::write(&file, broken.to_string()).unwrap();
    assert!(validate_with_jsonschema(&root().join("docs/report.schema.json"), &file).is_err());
}

#[test]
fn sarif_validates_against_the_official_schema_and_the_sarif_multitool() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rampart.sarif");
    let out = rampart(
        &[
            "scan",
            "examples",
            "--format",
            "sarif",
            "-o",
            file.to_str().unwrap(),
        ],
        &root(),
    );
    assert_eq!(out.status.code(), Some(1));
    let schema = oracles().join("sarif/sarif-2.1.0.json");
    validate_with_jsonschema(&schema, &file).unwrap();

    // The Multitool's own validation (structure and SARIF rules): no error-level result.
    let multitool_errors = |file: &Path| -> Vec<Value> {
        let log = file.with_extension("validation.sarif");
        let v = Command::new(oracles().join("sarif/Sarif.Multitool"))
            .args([
                "validate",
                file.to_str().unwrap(),
                "--output",
                log.to_str().unwrap(),
                "--log",
                "ForceOverwrite",
            ])
            .env("DOTNET_SYSTEM_GLOBALIZATION_INVARIANT", "1")
            .output()
            .unwrap();
        let results: Value = serde_json::from_slice(&std::fs::read(&log).unwrap_or_else(|e| {
            panic!(
                "no validation log ({e}): {}",
                String::from_utf8_lossy(&v.stdout)
            )
        }))
        .unwrap();
        results["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["level"] == "error")
            .cloned()
            .collect()
    };
    let errors = multitool_errors(&file);
    assert!(
        errors.is_empty(),
        "SARIF Multitool found errors: {errors:#?}"
    );
    // Negative control: the same validator rejects a broken log.
    let mut broken: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    broken["runs"][0]["tool"]["driver"]
        .as_object_mut()
        .unwrap()
        .remove("name");
    broken["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] =
        Value::from(0);
    let broken_file = dir.path().join("broken.sarif");
    std::fs::write(&broken_file, broken.to_string()).unwrap();
    assert!(
        multitool_errors(&broken_file).len() >= 2,
        "the Multitool must catch a broken log"
    );
    assert!(validate_with_jsonschema(&schema, &broken_file).is_err());

    let sarif: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let run = &sarif["runs"][0];
    let results = run["results"].as_array().unwrap();
    assert!(!results.is_empty());
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    for r in results {
        let idx = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(
            rules[idx]["id"], r["ruleId"],
            "ruleIndex points at the rule"
        );
    }
    assert!(
        results
            .iter()
            .any(|r| r["suppressions"][0]["kind"] == "inSource")
    );
}

#[test]
fn fail_on_sets_the_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("pod.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: app}\nspec:\n  containers:\n  - {name: c, image: 'x:1'}\n",
    )
    .unwrap();
    let d = dir.path();
    assert_eq!(
        rampart(&["scan", "."], d).status.code(),
        Some(0),
        "no threshold: report only"
    );
    assert_eq!(
        rampart(&["scan", ".", "--fail-on", "medium"], d)
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        rampart(&["scan", ".", "--fail-on", "critical"], d)
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        rampart(&["scan", ".", "--fail-on", "none"], d)
            .status
            .code(),
        Some(0)
    );
    let bad = rampart(&["scan", ".", "--fail-on", "severe"], d);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown severity `severe`"));
    assert_eq!(
        rampart(&["scan", "--no-such-flag"], d).status.code(),
        Some(2)
    );
    let missing = rampart(&["scan", "does-not-exist"], d);
    assert_eq!(missing.status.code(), Some(2));
    // Nothing else to scan: the error alone, no empty layer map under it.
    assert!(
        String::from_utf8_lossy(&missing.stderr)
            .contains("does-not-exist: no such file or directory")
    );
    assert!(missing.stdout.is_empty());
}

#[test]
fn config_file_is_validated_with_positions() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("rampart.toml"),
        "fail-on = \"high\"\n[[suppress]]\nrule = \"NOPE999\"\nreason = \"x\"\n",
    )
    .unwrap();
    let out = rampart(&["scan", "."], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("rampart.toml")
            && err.contains("3:8")
            && err.contains("unknown rule `NOPE999`"),
        "{err}"
    );
}

#[test]
fn bad_input_is_reported_and_the_rest_still_scanned() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("good.yaml"), "apiVersion: v1\nkind: Pod\nmetadata: {name: ok}\nspec:\n  containers: [{name: c, image: x, securityContext: {privileged: true}}]\n").unwrap();
    std::fs::write(
        d.join("broken.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: [unclosed\n",
    )
    .unwrap();
    std::fs::write(d.join("binary.yaml"), b"apiVersion: v1\x00\x01\x02kind").unwrap();
    std::fs::write(
        d.join("latin1.yaml"),
        b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: caf\xe9}\n",
    )
    .unwrap();
    std::fs::write(
        d.join("Dockerfile"),
        "FROM alpine:3.20\nFROBNICATE now\nUSER 10001\n",
    )
    .unwrap();
    let big = std::fs::File::create(d.join("huge.yaml")).unwrap();
    big.set_len(17 * 1024 * 1024).unwrap();
    std::os::unix::fs::symlink(".", d.join("loop")).unwrap();
    std::os::unix::fs::symlink("nowhere.yaml", d.join("dangling.yaml")).unwrap();
    // A package.json-like JSON file that is not a manifest is ignored, not an error.
    std::fs::write(d.join("package.json"), "{\"name\": \"x\"}").unwrap();

    let out = rampart(&["scan", ".", "--format", "json"], d);
    assert_eq!(out.status.code(), Some(2), "input errors exit 2");
    let report = json(&out);
    let errors: Vec<(String, u64, String)> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["file"].as_str().unwrap().to_owned(),
                e["line"].as_u64().unwrap(),
                e["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let find = |file: &str| {
        errors
            .iter()
            .find(|e| e.0 == file)
            .unwrap_or_else(|| panic!("no error for {file}: {errors:#?}"))
    };
    assert!(find("broken.yaml").2.contains("invalid YAML"));
    assert_eq!(find("broken.yaml").1, 4, "position of the YAML error");
    assert!(find("binary.yaml").2.contains("binary"));
    assert_eq!(find("latin1.yaml").1, 3, "line of the invalid UTF-8");
    assert!(find("huge.yaml").2.contains("limit"));
    assert!(find("loop").2.contains("symlink loop"));
    assert!(find("dangling.yaml").2.contains("cannot read"));
    assert_eq!(find("Dockerfile").1, 2, "unknown instruction at line 2");
    assert!(!errors.iter().any(|e| e.0 == "package.json"));
    // With JSON on stdout, stderr still names each error and its position.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("  broken.yaml:4:"), "{stderr}");
    assert!(stderr.contains("  Dockerfile:2:"), "{stderr}");
    // The good files were still scanned.
    let fired: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule_id"].as_str().unwrap())
        .collect();
    assert!(fired.contains(&"PSS001"), "{fired:?}");

    // Human output names the files and positions too.
    let human = rampart(&["scan", "."], d);
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(text.contains("broken.yaml:4:"), "{text}");
}

#[test]
fn objects_the_api_server_rejects_are_input_errors_and_never_hold() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // `containers` as a map: read as "no containers" before, so the privileged container was
    // never seen and the runtime and host layers held.
    std::fs::write(
        d.join("deploy.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    spec:\n      containers:\n        app:\n          image: nginx\n          securityContext: {privileged: true}\n",
    )
    .unwrap();
    // A List: one invalid item (`resources` as a list, `spec` of the other as a list), and a
    // valid privileged Pod that must still be assessed.
    std::fs::write(
        d.join("list.yaml"),
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: bad, namespace: shop}\n  spec:\n    containers:\n    - name: a\n      image: x\n      resources: [{cpu: 1}]\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: good, namespace: shop}\n  spec:\n    containers: [{name: c, image: x, securityContext: {privileged: true}}]\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: all, namespace: shop}\nspec: [ingress]\n",
    )
    .unwrap();
    let out = rampart(&["scan", ".", "--format", "json"], d);
    assert_eq!(
        out.status.code(),
        Some(2),
        "invalid objects make the scan incomplete"
    );
    let report = json(&out);
    let errors: Vec<String> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{}:{}:{}: {}",
                e["file"].as_str().unwrap(),
                e["line"],
                e["column"],
                e["message"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        errors,
        [
            "deploy.yaml:9:9: Deployment shop/web rejected by the Kubernetes 1.37 API schema, not assessed: spec.template.spec.containers: expected array, found object",
            "list.yaml:11:18: Pod shop/bad rejected by the Kubernetes 1.37 API schema, not assessed: spec.containers[0].resources: expected object, found array",
            "list.yaml:21:7: NetworkPolicy shop/all rejected by the Kubernetes 1.37 API schema, not assessed: spec: expected object, found array",
        ]
    );
    // The valid Pod of the same file is assessed; the invalid objects are nobody's subject.
    let subjects: Vec<&str> = report["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["subject"].as_str().unwrap())
        .collect();
    assert!(subjects.contains(&"Pod shop/good"), "{subjects:?}");
    for invalid in [
        "Deployment shop/web",
        "Pod shop/bad",
        "NetworkPolicy shop/all",
    ] {
        assert!(
            !subjects.contains(&invalid),
            "{invalid} assessed: {subjects:?}"
        );
    }
    let fired: Vec<(&str, &str)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap(),
                f["subject"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(fired.contains(&("PSS001", "Pod shop/good")), "{fired:?}");
    // The invalid NetworkPolicy protects nothing: the namespace is reported as unsegmented.
    assert!(fired.iter().any(|(r, _)| r.starts_with("NET")), "{fired:?}");
    assert_eq!(report["summary"]["objects"], 4);

    // Only invalid objects: no layer holds, and the map says why the runtime layer is empty.
    std::fs::remove_file(d.join("list.yaml")).unwrap();
    let out = rampart(&["scan", ".", "--format", "json"], d);
    assert_eq!(out.status.code(), Some(2));
    let report = json(&out);
    for layer in report["layers"].as_array().unwrap() {
        assert_ne!(layer["state"], "holds", "{layer}");
    }
    let runtime = report["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["layer"] == "runtime")
        .unwrap();
    assert_eq!(runtime["state"], "not-assessed");
    assert!(
        runtime["reason"]
            .as_str()
            .unwrap()
            .contains("1 object rejected by the Kubernetes 1.37 API schema was not assessed"),
        "{runtime}"
    );

    // Beside a valid object whose layer would hold, the rejected one leaves that layer only
    // partly assessed, with the reason: never "holds".
    std::fs::write(
        d.join("ns.yaml"),
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels: {pod-security.kubernetes.io/enforce: restricted}\n",
    )
    .unwrap();
    let out = rampart(&["scan", ".", "--format", "json"], d);
    assert_eq!(out.status.code(), Some(2));
    let report = json(&out);
    let admission = report["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["layer"] == "admission")
        .unwrap();
    assert_eq!(admission["state"], "partly-assessed", "{admission}");
    assert!(
        admission["reason"]
            .as_str()
            .unwrap()
            .contains("Deployment shop/web: rejected by the Kubernetes 1.37 API schema"),
        "{admission}"
    );
}

#[test]
fn unreadable_directory_is_reported() {
    // Root reads everything, so run the scan as an unprivileged user (setpriv, util-linux).
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::set_permissions(d, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    std::fs::create_dir(d.join("secret")).unwrap();
    std::fs::write(d.join("secret/pod.yaml"), "apiVersion: v1\nkind: Pod\n").unwrap();
    std::fs::write(d.join("pod.yaml"), "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: x}]}\n").unwrap();
    std::fs::set_permissions(
        d.join("secret"),
        std::os::unix::fs::PermissionsExt::from_mode(0o000),
    )
    .unwrap();
    let bin = std::env::temp_dir().join(format!("rampart-test-bin-{}", std::process::id()));
    std::fs::copy(env!("CARGO_BIN_EXE_rampart"), &bin).unwrap();
    std::fs::set_permissions(&bin, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&bin)
        .args(["scan", ".", "--format", "json"])
        .current_dir(d)
        .output()
        .expect("setpriv (util-linux)");
    let _ = std::fs::remove_file(&bin);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json(&out);
    let err = &report["errors"][0];
    assert_eq!(err["file"], "secret");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("Permission denied"),
        "{err}"
    );
    assert!(
        report["summary"]["objects"].as_u64().unwrap() >= 1,
        "the readable pod was scanned"
    );
}

#[test]
fn rules_catalog_and_explain() {
    let out = rampart(&["rules", "--format", "json"], &root());
    assert_eq!(out.status.code(), Some(0));
    let rules = json(&out);
    let ids: Vec<&str> = rules
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    let unique: std::collections::BTreeSet<_> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "ids are unique");
    for fam in [
        "DF001", "PSS001", "K8S001", "NET001", "RBAC001", "ADM001", "CFG001",
    ] {
        assert!(ids.contains(&fam), "{fam} missing");
    }
    let table = String::from_utf8(rampart(&["rules"], &root()).stdout).unwrap();
    assert!(table.contains("PSS001") && table.contains("privileged"));
    let explain =
        String::from_utf8(rampart(&["rules", "explain", "privileged"], &root()).stdout).unwrap();
    assert!(
        explain.contains("PSS001")
            && explain.contains("Why it matters")
            && explain.contains("privileged: true")
    );
    let unknown = rampart(&["rules", "explain", "NOPE"], &root());
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("unknown rule `NOPE`"));
}

#[test]
fn human_report_opens_with_the_layer_map_and_colours_only_when_asked() {
    let out = rampart(&["scan", "examples"], &root());
    let text = String::from_utf8(out.stdout).unwrap();
    let map = text
        .find("Defense in depth: the layer map")
        .expect("layer map");
    let findings = text.find("Findings:").expect("findings");
    assert!(map < findings, "the castle view comes first");
    assert!(text.contains("not assessed") && text.contains("no runtime monitor deployed"));
    assert!(
        text.contains("Image examples/images/worker"),
        "the image section"
    );
    assert!(!text.contains('\x1b'), "no colour when not on a terminal");
    let coloured =
        String::from_utf8(rampart(&["scan", "examples", "--color", "always"], &root()).stdout)
            .unwrap();
    assert!(coloured.contains("\x1b["));
}

#[test]
fn broken_pipe_exits_cleanly() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["rules"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn gitignored_paths_are_skipped_unless_no_ignore() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: x, securityContext: {privileged: true}}]}\n";
    std::fs::create_dir_all(d.join("build/out")).unwrap();
    std::fs::write(d.join("build/out/pod.yaml"), pod).unwrap();
    std::fs::write(d.join("pod.yaml"), pod).unwrap();
    std::fs::write(d.join(".gitignore"), "build/\n").unwrap();
    let files = |args: &[&str]| -> u64 {
        let out = rampart(&[&["scan", ".", "--format", "json"], args].concat(), d);
        json(&out)["summary"]["files_scanned"].as_u64().unwrap()
    };
    assert_eq!(files(&[]), 1, ".gitignore is honoured");
    assert_eq!(files(&["--no-ignore"]), 2);
    assert_eq!(files(&["--exclude", "pod.yaml"]), 0, "--exclude globs");
}

#[test]
fn docs_rules_md_is_generated_from_the_catalog() {
    let out = rampart(&["rules", "--format", "markdown"], &root());
    assert_eq!(out.status.code(), Some(0));
    let generated = String::from_utf8(out.stdout).unwrap();
    let committed = std::fs::read_to_string(root().join("docs/rules.md")).unwrap_or_default();
    assert!(
        generated == committed,
        "docs/rules.md is out of date: run `cargo run -p rampart -- rules --format markdown > docs/rules.md`"
    );
    assert!(
        generated.contains("## PSS001")
            && generated.contains("## DF001")
            && generated.contains("## RBAC005")
    );
}

/// A scan that assessed nothing (an empty directory, only files rampart does not read, a typo'd
/// path) is never a quiet "clean": it says so on stderr before any report and exits 2, unless
/// `--allow-empty` accepts it. A path that does not exist is said first, not under an empty
/// layer map.
#[test]
fn a_scan_that_assessed_nothing_says_so_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("empty")).unwrap();
    std::fs::create_dir_all(d.join("other")).unwrap();
    std::fs::write(d.join("other/notes.txt"), "nothing to see\n").unwrap();
    std::fs::write(d.join("other/ci.yaml"), "on: push\njobs: {}\n").unwrap();
    for target in ["empty", "other"] {
        let out = rampart(&["scan", target], d);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{target}: {stderr}");
        assert!(
            stderr.contains("nothing was assessed"),
            "{target}: {stderr}"
        );
        let out = rampart(&["scan", target, "--allow-empty", "--format", "json"], d);
        assert_eq!(out.status.code(), Some(0), "{target} with --allow-empty");
        assert!(String::from_utf8_lossy(&out.stderr).contains("nothing was assessed"));
        assert_eq!(json(&out)["findings"].as_array().unwrap().len(), 0);
    }
    // A typo'd path: the error alone, first, and no report under it.
    let out = rampart(&["scan", "exmaples/k8s"], d);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.starts_with("rampart: exmaples/k8s: no such file or directory"),
        "{stderr}"
    );
    assert!(
        out.stdout.is_empty(),
        "no report for a run with nothing to scan"
    );
    // One missing path beside a real one: said first, the rest scanned, still incomplete.
    std::fs::write(
        d.join("other/pod.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: x}]}\n",
    )
    .unwrap();
    let out = rampart(&["scan", "nope.yaml", "other", "--format", "json"], d);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("rampart: nope.yaml: no such file or directory"),
        "{stderr}"
    );
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(json(&out)["summary"]["objects"].as_u64().unwrap() >= 1);
}

/// Scans run at once against one cache (parallel CI jobs) share its inventory: each waits for
/// the others instead of failing with "database is locked" (this failed the example's golden
/// test under load, exit 2 instead of 1).
#[test]
fn concurrent_scans_share_the_inventory() {
    let cache = tempfile::tempdir().unwrap();
    let children: Vec<_> = (0..24)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_rampart"))
                .args(["scan", "examples", "--format", "json"])
                .current_dir(root())
                .env("RAMPART_CACHE_DIR", cache.path())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
