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
    // a terminal's 80 columns: long reasons are wrapped, not cut
    for line in table.lines() {
        assert!(
            line.chars().count() <= 80,
            "{} columns: {line}",
            line.chars().count()
        );
    }
    let words = table.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(words.contains("import the webhook's audit log"), "{table}");
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

/// The monitor's alert line for `rule` (the shape of Falco's JSON output the monitor writes),
/// in container `container` of `digest`, at `time`.
fn alert_line(rule: &str, priority: &str, tags: &[&str], time: &str, container: &str) -> String {
    serde_json::json!({
        "hostname": "node-1",
        "output": format!("00:00:00.000000001: {priority} {rule} | container_id={container}"),
        "output_fields": {
            "container.id": container,
            "container.image.repository": "registry.example/worker",
            "container.image.tag": "1.0",
            "container.image.digest": "sha256:0bcf51193322151d91a7b1f6cf476e6106d69c1c111b573d82a2bf75254dc53c",
            "proc.exepath": "/tmp/x"
        },
        "priority": priority, "rule": rule, "source": "syscall", "tags": tags, "time": time
    })
    .to_string()
}

/// `rampart inventory rescan --history` records itself; `rampart history import` tells a saved
/// rescan (counted once with its direct record), an admission audit log (written by the real
/// `AuditRecord`, with the pod's images) and the monitor's alerts (the real rule names of the
/// drift detector, the intent and the enforcer) apart from reports by their content; `rampart
/// metrics` shows the escape rate found later and the runtime figures.
#[test]
fn rescans_audit_logs_and_alert_logs_are_recorded_and_measured() {
    use rampart_history::alerts::is_drift;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cache = d.join("cache");
    let run = |args: &[&str]| {
        common::rampart_command()
            .args(args)
            .env("RAMPART_CACHE_DIR", &cache)
            .env_remove("RAMPART_HISTORY")
            .current_dir(d)
            .output()
            .unwrap()
    };
    let root = common::root();
    let go = root.join("../shared/corpus/osv-go/data/osv");
    let go_db = d.join("go.db").display().to_string();
    let full_db = d.join("full.db").display().to_string();
    common::ok(&run(&[
        "db",
        "import",
        "--db",
        &go_db,
        go.to_str().unwrap(),
    ]));
    common::ok(&run(&[
        "db",
        "import",
        "--db",
        &full_db,
        root.join("examples/advisories").to_str().unwrap(),
        go.to_str().unwrap(),
    ]));
    // the scan records the worker image's packages; its npm advisories come later
    let image = format!("oci-dir:{}", root.join("examples/images/worker").display());
    let scan = run(&[
        "scan",
        "--no-config",
        "--db",
        &go_db,
        "--vuln-ecosystems",
        "go",
        "--image",
        &image,
        "-f",
        "json",
    ]);
    let digest = common::json(common::ok(&scan))["images"][0]["digest"]
        .as_str()
        .unwrap()
        .to_owned();

    // the webhook admitted a pod of that image, pinned by digest, before the rescan
    let record = rampart_admission::audit::AuditRecord {
        time: "2026-01-01T00:00:00Z".into(),
        uid: "u1".into(),
        endpoint: "validate",
        profile: None,
        kind: "Pod".into(),
        namespace: "shop".into(),
        name: "worker".into(),
        operation: "CREATE".into(),
        username: "u".into(),
        dry_run: false,
        allowed: true,
        gates: vec![rampart_admission::review::GateOutcome {
            gate: "vulnerabilities".into(),
            outcome: "allow",
            message: String::new(),
            mode: Some("enforce"),
        }],
        images: vec![format!("registry.example/worker@{digest}")],
        latency_us: 80,
        cause: None,
    };
    std::fs::write(
        d.join("audit.jsonl"),
        serde_json::to_string(&record).unwrap() + "\n",
    )
    .unwrap();

    let store = d.join("h.db").display().to_string();
    let rescan = run(&[
        "inventory",
        "rescan",
        "--db",
        &full_db,
        "-f",
        "json",
        "--history",
        &store,
    ]);
    let err = String::from_utf8_lossy(&rescan.stderr);
    assert!(
        err.contains("rescan of 1 image(s) (4 new vulnerabilities)"),
        "{err}"
    );
    std::fs::write(d.join("rescan.json"), &common::ok(&rescan).stdout).unwrap();

    // the real rule names: the drift detector's, the intent's exec rule, the enforcer's write
    // denial are drift; the intent's connection rule and a shell are not
    let drift_rule = rampart_monitor::pipeline::DRIFT_RULE;
    let exec_rule = rampart_intent::rules::rule_name("worker", "exec");
    let write_rule =
        rampart_monitor::enforce::rule_name("worker", rampart_enforce::event::Action::Write);
    let connect_rule = rampart_intent::rules::rule_name("worker", "connect");
    for r in [drift_rule, &exec_rule, &write_rule] {
        assert!(is_drift(r, &[]), "{r}");
    }
    for r in [
        connect_rule.as_str(),
        &rampart_intent::rules::rule_name("worker", "read"),
        &rampart_intent::rules::rule_name("worker", "syscall"),
        &rampart_monitor::enforce::rule_name("worker", rampart_enforce::event::Action::Connect),
    ] {
        assert!(!is_drift(r, &[]), "{r}");
    }
    let t = "2026-01-02T00:00:00.000000001Z";
    let alerts = [
        alert_line(drift_rule, "Critical", &["container", "drift"], t, "c1"),
        alert_line(
            &exec_rule,
            "Critical",
            &["rampart", "intent", "process"],
            t,
            "c2",
        ),
        alert_line(
            &connect_rule,
            "Error",
            &["rampart", "intent", "network"],
            t,
            "c1",
        ),
    ];
    std::fs::write(d.join("alerts.jsonl"), alerts.join("\n") + "\n").unwrap();
    // one line alone is also a whole JSON document: still an alert log
    std::fs::write(d.join("one.jsonl"), &alerts[0]).unwrap();

    let out = run(&[
        "history",
        "import",
        "--history",
        &store,
        "--cluster",
        "prod",
        "audit.jsonl",
        "rescan.json",
        "alerts.jsonl",
        "one.jsonl",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("audit.jsonl: run 2: 1 admission decision(s)"),
        "{err}"
    );
    assert!(
        err.contains(
            "rescan.json: run 3: rescan of 0 image(s) (0 new vulnerabilities), 1 already recorded"
        ),
        "{err}"
    );
    assert!(
        err.contains(
            "alerts.jsonl: run 4: 3 monitor alert(s) (2 runtime drift), 0 already recorded"
        ),
        "{err}"
    );
    assert!(
        err.contains("one.jsonl: run 5: 0 monitor alert(s) (0 runtime drift), 1 already recorded"),
        "{err}"
    );

    let m = common::json(common::ok(&run(&[
        "metrics",
        "--history",
        &store,
        "--format",
        "json",
    ])));
    // the rescan after the admission found a high one (CVE-2024-45590) in the admitted image
    assert_eq!(
        m["escape_rate_later"],
        serde_json::json!({"status": "measured", "part": 1, "whole": 1, "ratio": 1.0}),
        "{m}"
    );
    assert_eq!(m["escape_threshold"], "high");
    assert_eq!(m["admitted_not_rescanned"], 0);
    assert_eq!(m["runs"]["rescan"], 2, "{m}");
    assert_eq!(m["drift_detect_runtime"]["status"], "measured", "{m}");
    assert_eq!(m["drift_detect_runtime"]["count"], 2, "{m}");
    // from the event (2026-01-02) to the import (now): at least the months between
    assert!(
        m["drift_detect_runtime"]["p50_seconds"].as_f64().unwrap() > 86_400.0 * 300.0,
        "{m}"
    );
    assert_eq!(m["alerts_by_priority"]["total"], 3, "{m}");
    assert_eq!(m["alerts_by_priority"]["by"]["Critical"], 2, "{m}");
    assert_eq!(m["alerts_by_rule"]["by"][connect_rule.as_str()], 1, "{m}");
    assert_eq!(
        m["open_drift"]["images"][0]["image"],
        digest.as_str(),
        "{m}"
    );
    assert_eq!(m["open_drift"]["images"][0]["containers"], 2, "{m}");
    // nothing new at or above critical: measured, zero
    let m = common::json(common::ok(&run(&[
        "metrics",
        "--history",
        &store,
        "--format",
        "json",
        "--escape-threshold",
        "critical",
    ])));
    assert_eq!(m["escape_rate_later"]["part"], 0, "{m}");
    assert_eq!(m["escape_rate_later"]["whole"], 1, "{m}");
    let bad = run(&[
        "metrics",
        "--history",
        &store,
        "--escape-threshold",
        "severe",
    ]);
    assert_eq!(bad.status.code(), Some(2));
    let table = String::from_utf8(
        common::ok(&run(&["metrics", "--history", &store]))
            .stdout
            .clone(),
    )
    .unwrap();
    assert!(
        table.contains("escape later (high+)   100.0 % (1 of 1)"),
        "{table}"
    );
    assert!(table.contains("runtime drift by image:"), "{table}");
    let prom = String::from_utf8(
        common::ok(&run(&[
            "metrics",
            "--history",
            &store,
            "--format",
            "prometheus",
        ]))
        .stdout
        .clone(),
    )
    .unwrap();
    assert!(prom.contains("rampart_escape_later_ratio 1\n"), "{prom}");
}
