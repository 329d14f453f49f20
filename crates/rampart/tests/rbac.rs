//! `rampart rbac who-can | can | paths` and RBAC006 in `rampart scan`, on manifests and on a
//! `kubectl get -o json` dump, with bad input reported and the rest analysed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

fn rampart(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const TREE: &str = r#"apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: pod-creator}
rules:
- {apiGroups: [""], resources: [pods/exec], verbs: [create]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: dev, namespace: ci}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: pod-creator}
subjects:
- {kind: User, name: alice, apiGroup: rbac.authorization.k8s.io}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: deployer}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects:
- {kind: ServiceAccount, name: deployer, namespace: ci}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: deployer, namespace: ci}
spec:
  selector: {matchLabels: {app: deployer}}
  template:
    metadata: {labels: {app: deployer}}
    spec:
      serviceAccountName: deployer
      containers: [{name: c, image: example.com/deployer@sha256:0000000000000000000000000000000000000000000000000000000000000000}]
---
apiVersion: v1
kind: Namespace
metadata: {name: ci, labels: {pod-security.kubernetes.io/enforce: restricted}}
"#;

fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("k8s")).unwrap();
    std::fs::write(dir.path().join("k8s/rbac.yaml"), TREE).unwrap();
    dir
}

#[test]
fn who_can_lists_subjects_with_binding_and_role() {
    let dir = tree();
    let out = rampart(
        &["rbac", "who-can", "create", "pods/exec", "-n", "ci", "k8s"],
        dir.path(),
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.starts_with("create pods/exec in ci: 2 grant(s)\n"),
        "{stdout}"
    );
    // in 80 columns (a pipe) the table fits: the role goes under its row
    let table: Vec<&str> = stdout
        .lines()
        .skip(1)
        .filter(|l| !l.starts_with("note:"))
        .collect();
    assert!(table.iter().all(|l| l.chars().count() <= 80), "{stdout}");
    let user = table.iter().position(|l| l.starts_with("User")).unwrap();
    assert!(
        table[user].contains("alice") && table[user].contains("RoleBinding ci/dev"),
        "{stdout}"
    );
    assert_eq!(
        table[user + 1].trim(),
        "ClusterRole pod-creator",
        "{stdout}"
    );
    assert!(stdout.contains("ClusterRole cluster-admin"), "{stdout}");
    // a wide terminal has each grant on one line
    let wide = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["rbac", "who-can", "create", "pods/exec", "-n", "ci", "k8s"])
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .env("COLUMNS", "200")
        .output()
        .unwrap();
    assert!(
        text(&wide.stdout).lines().any(|l| l.starts_with("User")
            && l.contains("alice")
            && l.contains("RoleBinding ci/dev")
            && l.contains("ClusterRole pod-creator")),
        "{}",
        text(&wide.stdout)
    );
    assert!(
        stdout.contains("built-in"),
        "the built-in cluster-admin is noted: {stdout}"
    );
    // in another namespace only the cluster-wide grant holds
    let out = rampart(
        &[
            "rbac",
            "who-can",
            "create",
            "pods/exec",
            "-n",
            "web",
            "--format",
            "json",
            "k8s",
        ],
        dir.path(),
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let subjects: Vec<&str> = v["allowed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["subject"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(subjects, ["deployer"]);
    assert_eq!(v["request"]["namespace"], "web");
    // a non-resource URL: only cluster-wide grants
    let out = rampart(
        &[
            "rbac", "who-can", "get", "/metrics", "--format", "json", "k8s",
        ],
        dir.path(),
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["allowed"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["request"]["target"]["type"], "nonResource");
}

#[test]
fn can_lists_what_a_subject_may_do_per_scope() {
    let dir = tree();
    let out = rampart(&["rbac", "can", "user:alice", "k8s"], dir.path());
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("in namespace ci:\n"), "{stdout}");
    assert!(stdout.contains("create on pods/exec"), "{stdout}");
    let out = rampart(
        &[
            "rbac",
            "can",
            "system:serviceaccount:ci:deployer",
            "--format",
            "json",
            "k8s",
        ],
        dir.path(),
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let grants = v["grants"].as_array().unwrap();
    assert!(
        grants.iter().all(|g| g.get("scope").is_none()),
        "cluster-wide: {v}"
    );
    assert_eq!(grants[0]["rule"]["verbs"][0], "*");
    assert_eq!(v["subject"]["groups"][1], "system:serviceaccounts:ci");
    let bad = rampart(&["rbac", "can", "sa:nonamespace", "k8s"], dir.path());
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn paths_print_each_step_with_its_reason_as_text_json_dot_and_svg() {
    let dir = tree();
    let out = rampart(&["rbac", "paths", "k8s"], dir.path());
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "a path exits 1: {stdout}");
    assert!(stdout.contains("\nUser alice (3 steps)\n"), "{stdout}");
    assert!(
        stdout.contains(
            "exec: pods/exec or pods/attach in ci (RoleBinding ci/dev → ClusterRole pod-creator)"
        ),
        "{stdout}"
    );
    let out = rampart(&["rbac", "paths", "--format", "json", "k8s"], dir.path());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let alice = v["paths"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["start"]["name"] == "alice")
        .unwrap();
    let moves: Vec<&str> = alice["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["move"].as_str().unwrap())
        .collect();
    assert_eq!(moves, ["exec", "pod-token", "holds-everything"]);
    assert_eq!(alice["steps"][0]["file"], "k8s/rbac.yaml");
    assert_eq!(alice["steps"][0]["line"], 7);
    let out = rampart(&["rbac", "paths", "--format", "dot", "k8s"], dir.path());
    let dot = text(&out.stdout);
    assert!(dot.starts_with("digraph rbac_paths {"), "{dot}");
    assert!(
        dot.contains("\"User alice\" -> \"the running pods of namespace ci\" [label=\"exec\"];"),
        "{dot}"
    );
    // the picture: Graphviz renders the DOT
    rampart_testkit::tools::ensure_tool("dot", "graphviz");
    let out = rampart(
        &["rbac", "paths", "--format", "svg", "-o", "paths.svg", "k8s"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let svg = std::fs::read_to_string(dir.path().join("paths.svg")).unwrap();
    assert!(svg.contains("<svg") && svg.contains("User alice"), "{svg}");
    // no path: exit 0
    std::fs::write(
        dir.path().join("k8s/rbac.yaml"),
        TREE.replace("name: cluster-admin}", "name: view}"),
    )
    .unwrap();
    let out = rampart(&["rbac", "paths", "k8s"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).starts_with("0 identities can reach cluster-admin"));
}

#[test]
fn a_kubectl_dump_is_read_like_manifests() {
    let dir = tempfile::tempdir().unwrap();
    let dump = serde_json::json!({
        "apiVersion": "v1",
        "kind": "List",
        "items": [
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
             "metadata": {"name": "secrets"},
             "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]}]},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
             "metadata": {"name": "secrets"},
             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "secrets"},
             "subjects": [{"kind": "Group", "name": "readers", "apiGroup": "rbac.authorization.k8s.io"}]}
        ]
    });
    std::fs::write(dir.path().join("dump.json"), dump.to_string()).unwrap();
    let out = rampart(
        &[
            "rbac",
            "who-can",
            "list",
            "secrets",
            "-n",
            "any",
            "dump.json",
        ],
        dir.path(),
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("Group") && l.contains("readers")),
        "{stdout}"
    );
}

#[test]
fn bad_input_is_an_error_with_its_position_and_the_rest_is_analysed() {
    let dir = tree();
    std::fs::write(
        dir.path().join("k8s/bad.yaml"),
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: x, namespace: ci}\nsubjects: [{kind: User, name: u}]\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: why}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: pod-creator}\nsubjects:\n- {kind: Robot, name: r}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: z}\nrules:\n- {apiGroups: [\"\"], resources: [pods], verbs: get}\n",
    )
    .unwrap();
    let out = rampart(
        &["rbac", "who-can", "create", "pods/exec", "-n", "ci", "k8s"],
        dir.path(),
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("k8s/bad.yaml:1:1: RoleBinding ci/x: roleRef is required"),
        "{stderr}"
    );
    assert!(stderr.contains("k8s/bad.yaml:11:4: ClusterRoleBinding why: subjects[0].kind: unknown subject kind \"Robot\""), "{stderr}");
    assert!(
        stderr.contains("k8s/bad.yaml:17:")
            && stderr.contains("verbs: expected a list of strings, found a string"),
        "{stderr}"
    );
    // the valid objects are still analysed
    assert!(text(&out.stdout).contains("alice"), "{}", text(&out.stdout));
    let out = rampart(&["rbac", "paths", "--format", "json", "k8s"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["errors"].as_array().unwrap().len(), 3, "{v}");
    assert!(!v["paths"].as_array().unwrap().is_empty());
}

#[test]
fn scan_reports_escalation_paths_as_access_findings() {
    let dir = tree();
    let out = rampart(
        &["scan", "--format", "json", "--no-config", "k8s"],
        dir.path(),
    );
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", text(&out.stdout)));
    let findings: Vec<&Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule_id"] == "RBAC006")
        .collect();
    let alice = findings
        .iter()
        .find(|f| f["subject"] == "User alice")
        .unwrap();
    assert_eq!(alice["layer"], "access");
    assert_eq!(alice["severity"], "critical");
    let message = alice["message"].as_str().unwrap();
    assert!(
        message.starts_with("reaches cluster-admin in 3 steps: User alice -[exec: "),
        "{message}"
    );
    assert_eq!(alice["location"]["file"], "k8s/rbac.yaml");
}
