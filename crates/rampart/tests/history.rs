//! `rampart scan --history` and `rampart history import` on real scans: a git repository of
//! manifests scanned at two commits (a finding fixed in between), saved reports imported with
//! a broken one among them.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use rampart_history::Store;
use rampart_history::sql::Val;
use std::path::Path;
use std::process::Command;

const LOOSE: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: registry.example/web:1.0
";

const TIGHTER: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      automountServiceAccountToken: false
      securityContext:
        runAsNonRoot: true
        runAsUser: 10001
        seccompProfile: {type: RuntimeDefault}
      containers:
        - name: web
          image: registry.example/web:1.0
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: {drop: [ALL]}
          resources:
            requests: {cpu: 100m, memory: 64Mi}
            limits: {cpu: 500m, memory: 128Mi}
          livenessProbe: {httpGet: {path: /, port: 8080}}
          readinessProbe: {httpGet: {path: /, port: 8080}}
";

fn git(dir: &Path, args: &[&str]) -> String {
    git_at(dir, args, "2026-11-01T00:00:00Z")
}

/// git with the author and committer time `date` (the commit time is when a change landed).
fn git_at(dir: &Path, args: &[&str], date: &str) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_DATE", date)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn scan(dir: &Path, store: &str) -> std::process::Output {
    common::rampart_command()
        .args([
            "scan",
            "--no-config",
            "--format",
            "json",
            "--fail-on",
            "none",
            "--history",
            store,
        ])
        .arg(dir.join("k8s"))
        .output()
        .unwrap()
}

fn query(store: &str, sql: &str) -> Vec<Vec<Val>> {
    Store::open(store)
        .unwrap()
        .read(|tx| tx.query(sql, &[]))
        .unwrap()
}

#[test]
fn scans_of_a_repository_over_commits_record_when_findings_were_fixed() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path();
    std::fs::create_dir_all(repo.join("k8s")).unwrap();
    git(repo, &["init", "-q"]);
    git(
        repo,
        &[
            "remote",
            "add",
            "origin",
            "https://git.example.com/shop/deploy.git",
        ],
    );
    std::fs::write(repo.join("k8s/web.yaml"), LOOSE).unwrap();
    git(repo, &["add", "."]);
    git_at(repo, &["commit", "-q", "-m", "web"], "2026-11-01T10:00:00Z");
    let first_commit = git(repo, &["rev-parse", "HEAD"]);
    let store = dir.path().join("history.db").display().to_string();

    let out = scan(repo, &store);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("recorded in"), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let open_first = report["findings"].as_array().unwrap().len();
    assert!(
        open_first >= 3,
        "the loose deployment has findings: {open_first}"
    );

    std::fs::write(repo.join("k8s/web.yaml"), TIGHTER).unwrap();
    git_at(
        repo,
        &["commit", "-q", "-am", "harden web"],
        "2026-11-03T10:00:00Z",
    );
    let out = scan(repo, &store);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let second: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();

    let runs = query(
        &store,
        "SELECT scope, repo, commit_id, commit_at, complete FROM runs ORDER BY id",
    );
    assert_eq!(runs.len(), 2);
    assert_eq!(
        runs[0][0].text(),
        Some("https://git.example.com/shop/deploy.git:k8s")
    );
    assert_eq!(
        runs[0][1].text(),
        Some("https://git.example.com/shop/deploy.git")
    );
    assert_eq!(runs[0][2].text(), Some(first_commit.as_str()));
    let t: jiff::Timestamp = "2026-11-01T10:00:00Z".parse().unwrap();
    assert_eq!(runs[0][3].int(), Some(t.as_millisecond()));
    assert_eq!(runs[1][4].int(), Some(1));
    // what the hardening fixed is resolved at the second scan, the rest is still open
    let resolved = query(
        &store,
        "SELECT COUNT(*) FROM findings WHERE resolved_at IS NOT NULL",
    );
    let open = query(
        &store,
        "SELECT COUNT(*) FROM findings WHERE resolved_at IS NULL",
    );
    let (resolved, open) = (resolved[0][0].int().unwrap(), open[0][0].int().unwrap());
    assert!(resolved >= 3, "resolved {resolved}");
    assert_eq!(
        resolved + open,
        open_first as i64
            + query(&store, "SELECT COUNT(*) FROM findings WHERE first_run = 2")[0][0]
                .int()
                .unwrap()
    );
    // the workload's layer states: a span per state, extended while unchanged
    let state = |r: &serde_json::Value, layer: &str| -> String {
        r["subjects"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["subject"].as_str().unwrap_or("").contains("web"))
            .and_then(|s| s["layers"][layer].as_str())
            .unwrap_or("not-assessed")
            .to_owned()
    };
    let layers = |r: &serde_json::Value| -> Vec<String> {
        r["subjects"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["subject"].as_str().unwrap_or("").contains("web"))
            .flat_map(|s| s["layers"].as_object().unwrap().keys().cloned())
            .collect()
    };
    let mut all = layers(&report);
    all.extend(layers(&second));
    all.sort();
    all.dedup();
    assert!(!all.is_empty());
    let mut changed = 0;
    for layer in all.iter().map(String::as_str) {
        let spans = query(
            &store,
            &format!(
                "SELECT l.state, l.current FROM layer_states l JOIN subjects s ON s.id = l.subject_id
                 WHERE s.name LIKE '%web%' AND l.layer = '{layer}' ORDER BY l.id"
            ),
        );
        let (before, after) = (state(&report, layer), state(&second, layer));
        let want = if before == after { 1 } else { 2 };
        changed += usize::from(before != after);
        assert_eq!(spans.len(), want, "{layer}: {before} -> {after}: {spans:?}");
        let last = spans.last().unwrap();
        assert_eq!(last[0].text(), Some(after.as_str()), "{layer}");
        assert_eq!(last[1].int(), Some(1), "{layer}: the last span is current");
    }
    assert!(changed >= 1, "the hardening changed no layer state of web");

    // the metrics over it: what was fixed was remediated two days after it was first seen
    // (the scans ran now, so the remediation time is the seconds between the two scans)
    let out = common::rampart_command()
        .args(["metrics", "--history", &store, "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let m: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(m["remediate"]["status"], "measured", "{m}");
    assert_eq!(m["remediate"]["count"].as_i64(), Some(resolved), "{m}");
    assert_eq!(m["detect"]["status"], "not-measured", "{m}");
    assert_eq!(m["gate_coverage"]["status"], "not-measured", "{m}");
    assert_eq!(m["runs"]["scan"], 2, "{m}");
    let table = common::rampart_command()
        .args(["metrics", "--history", &store])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.contains("time to remediate") && table.contains("not measured"),
        "{table}"
    );
    let prom = common::rampart_command()
        .args(["metrics", "--history", &store, "--format", "prometheus"])
        .output()
        .unwrap();
    let prom = String::from_utf8_lossy(&prom.stdout);
    assert!(
        prom.contains(&format!(
            "rampart_drift_remediate_seconds_count {resolved}\n"
        )),
        "{prom}"
    );
    let bad = common::rampart_command()
        .args([
            "metrics",
            "--history",
            &store,
            "--deadline",
            "critical=soon",
        ])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--deadline critical=soon"));
}

#[test]
fn import_records_good_reports_and_names_the_bad_ones() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("k8s")).unwrap();
    std::fs::write(dir.path().join("k8s/web.yaml"), LOOSE).unwrap();
    let out = common::rampart_command()
        .args([
            "scan",
            "--no-config",
            "--format",
            "json",
            "--fail-on",
            "none",
            "-o",
        ])
        .arg(dir.path().join("one.json"))
        .arg(dir.path().join("k8s"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::copy(dir.path().join("one.json"), dir.path().join("two.json")).unwrap();
    std::fs::write(
        dir.path().join("broken.json"),
        "{\"schema_version\": \"1.3\", ",
    )
    .unwrap();
    let mut future: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("one.json")).unwrap()).unwrap();
    future["schema_version"] = "2.0".into();
    std::fs::write(dir.path().join("future.json"), future.to_string()).unwrap();
    let store = dir.path().join("h.db").display().to_string();
    let out = common::rampart_command()
        .args(["history", "import", "--history", &store, "--scope", "shop"])
        .args(["one.json", "broken.json", "future.json", "two.json"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("broken.json:1:"), "{stderr}");
    assert!(
        stderr.contains("future.json") && stderr.contains("2.0"),
        "{stderr}"
    );
    assert!(stderr.contains("2 of 4 report(s) not recorded"), "{stderr}");
    let runs = query(&store, "SELECT origin FROM runs ORDER BY id");
    assert_eq!(
        runs,
        vec![
            vec![Val::Text("one.json".into())],
            vec![Val::Text("two.json".into())]
        ]
    );
    // the second import of the same findings saw them again: nothing new, nothing resolved
    let f = query(
        &store,
        "SELECT COUNT(*), SUM(CASE WHEN first_run = last_run THEN 1 ELSE 0 END) FROM findings",
    );
    assert_eq!(f[0][1].int(), Some(0), "{f:?}");
}
