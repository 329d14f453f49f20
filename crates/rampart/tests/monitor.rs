//! `rampart monitor` from the command line: the DaemonSet it prints passes `rampart scan` but
//! for the stated privileges and assesses the monitoring layer; a scan of a Falco deployment
//! says which threats its rules miss; a running monitor serves /metrics and /status, read by
//! `rampart monitor status`; bad, hostile and unprivileged starts fail with a clear error.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn rampart(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn scan_json(path: &Path) -> (Output, Value) {
    let out = rampart(
        &[
            "scan",
            "--format",
            "json",
            "--no-config",
            path.to_str().unwrap(),
        ],
        path.parent().unwrap(),
    );
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", text(&out.stderr)));
    (out, v)
}

fn layer<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["layer"] == name)
        .unwrap()
}

/// Ids of the unsuppressed findings.
fn rule_ids(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["suppressed"].is_null())
        .map(|f| f["rule_id"].as_str().unwrap().to_owned())
        .collect()
}

/// The printed manifests pass the scan (nothing unsuppressed), every privilege the sensor keeps
/// is a suppression with its reason, and the monitoring layer is assessed: the default rules
/// cover a shell, a sensitive read, an outbound connection and drift.
#[test]
fn monitor_manifests_pass_the_scan_but_for_stated_privileges() {
    let dir = tempfile::tempdir().unwrap();
    let digest = format!("sha256:{}", "ab".repeat(32));
    for webhook in [None, Some("http://alerts.monitoring:2801/falco")] {
        let mut args = vec!["monitor", "manifests", "--image-digest", &digest];
        if let Some(w) = webhook {
            args.extend(["--webhook", w]);
        }
        let out = rampart(&args, dir.path());
        assert!(out.status.success(), "{}", text(&out.stderr));
        let yaml = text(&out.stdout);
        for cap in [
            "- BPF",
            "- PERFMON",
            "- SYS_PTRACE",
            "- DAC_READ_SEARCH",
            "- KILL",
        ] {
            assert!(yaml.contains(cap), "{cap} missing");
        }
        let ds = yaml
            .split("\n---\n")
            .find(|d| d.contains("kind: DaemonSet"))
            .unwrap();
        assert!(
            ds.contains("privileged: false") && !ds.contains("SYS_ADMIN"),
            "{ds}"
        );
        assert!(
            ds.contains("readOnlyRootFilesystem: true") && ds.contains("- ALL"),
            "{ds}"
        );
        let path = dir.path().join("monitor.yaml");
        std::fs::write(&path, &yaml).unwrap();
        let (out, report) = scan_json(&path);
        assert!(
            rule_ids(&report).is_empty(),
            "unsuppressed findings: {:?}",
            rule_ids(&report)
        );
        let suppressed: Vec<&str> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| !f["suppressed"].is_null())
            .map(|f| f["rule_id"].as_str().unwrap())
            .collect();
        for id in ["PSS002", "PSS003", "PSS004", "PSS016"] {
            assert!(
                suppressed.contains(&id),
                "{id} not suppressed: {suppressed:?}"
            );
        }
        assert_eq!(
            suppressed.contains(&"MON005"),
            webhook.is_none(),
            "{suppressed:?}"
        );
        let mon = layer(&report, "monitoring");
        assert_eq!(mon["state"], "holds", "{mon}");
        assert!(mon["assessed"].as_u64().unwrap() >= 5, "{mon}");
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
}

/// The configuration `rampart intent compile` writes enforces the intent (`[[enforce]]`): the
/// DaemonSet carries its policy and rules in the ConfigMap, keeps the two capabilities the
/// enforcement needs (stated, so the scan still passes), and a policy that is not beside
/// monitor.toml is refused.
#[test]
fn monitor_manifests_carry_the_intent_enforcement() {
    let dir = tempfile::tempdir().unwrap();
    let example = rampart_testkit::paths::example("intent/web.intent.toml");
    let out = rampart(
        &["intent", "compile", example.to_str().unwrap(), "--out", "c"],
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let digest = format!("sha256:{}", "ab".repeat(32));
    let out = rampart(
        &[
            "monitor",
            "manifests",
            "--image-digest",
            &digest,
            "--config",
            "c/web.monitor.toml",
            "--rules",
            "c/web.rules.yaml",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let yaml = text(&out.stdout);
    let policy = std::fs::read_to_string(dir.path().join("c/web.enforce.json")).unwrap();
    let first = policy.lines().nth(1).unwrap().trim();
    assert!(yaml.contains("  web.enforce.json: |"), "{yaml}");
    assert!(yaml.contains(first), "the policy's text: {first}");
    assert!(yaml.contains("  web.rules.yaml: |"));
    for cap in ["- SYS_ADMIN", "- NET_ADMIN", "- BPF"] {
        assert!(yaml.contains(cap), "{cap} missing");
    }
    let path = dir.path().join("monitor.yaml");
    std::fs::write(&path, &yaml).unwrap();
    let (_, report) = scan_json(&path);
    // every privilege is stated; what remains is the monitoring layer's honest coverage: the
    // compiled rules watch this image only, so a shell, a sensitive read or a connection in
    // another workload fires nothing (the compiled configuration says to add Falco's rules)
    let open = rule_ids(&report);
    assert!(
        open.iter().all(|id| id.starts_with("MON")),
        "unsuppressed findings: {open:?}"
    );
    let suppressed: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| !f["suppressed"].is_null())
        .map(|f| f["rule_id"].as_str().unwrap())
        .collect();
    assert!(suppressed.contains(&"PSS003"), "{suppressed:?}");

    // a policy elsewhere cannot be put beside monitor.toml in the ConfigMap
    std::fs::create_dir_all(dir.path().join("c/sub")).unwrap();
    std::fs::rename(
        dir.path().join("c/web.enforce.json"),
        dir.path().join("c/sub/web.enforce.json"),
    )
    .unwrap();
    let cfg = std::fs::read_to_string(dir.path().join("c/web.monitor.toml")).unwrap();
    std::fs::write(
        dir.path().join("c/web.monitor.toml"),
        cfg.replace(
            "policy = \"web.enforce.json\"",
            "policy = \"sub/web.enforce.json\"",
        ),
    )
    .unwrap();
    let out = rampart(
        &["monitor", "manifests", "--config", "c/web.monitor.toml"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("must be a file beside monitor.toml"),
        "{}",
        text(&out.stderr)
    );
}

/// Falco deployed with its stable rules: the scan assesses the monitoring layer and says that
/// an outbound connection from a container fires nothing, and that alerts go nowhere.
#[test]
fn a_falco_daemonset_is_assessed_by_running_its_rules() {
    let dir = tempfile::tempdir().unwrap();
    let rules = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../rampart-falco/rules/falco_rules.yaml"),
    )
    .unwrap();
    let indented: String = rules.lines().map(|l| format!("    {l}\n")).collect();
    let yaml = format!(
        "apiVersion: apps/v1
kind: DaemonSet
metadata: {{name: falco, namespace: falco}}
spec:
  selector: {{matchLabels: {{app: falco}}}}
  template:
    metadata: {{labels: {{app: falco}}}}
    spec:
      containers:
      - name: falco
        image: falcosecurity/falco:0.41.0
        volumeMounts: [{{name: rules, mountPath: /etc/falco}}]
      volumes:
      - name: rules
        configMap: {{name: falco-rules}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: falco-rules, namespace: falco}}
data:
  falco_rules.yaml: |
{indented}"
    );
    let path = dir.path().join("falco.yaml");
    std::fs::write(&path, yaml).unwrap();
    let (_, report) = scan_json(&path);
    let ids = rule_ids(&report);
    assert!(ids.contains(&"MON003".to_owned()), "{ids:?}");
    assert!(ids.contains(&"MON005".to_owned()), "{ids:?}");
    for covered in ["MON001", "MON002", "MON004"] {
        assert!(!ids.contains(&covered.to_owned()), "{covered}: {ids:?}");
    }
    assert_eq!(layer(&report, "monitoring")["state"], "weak");
}

/// A running monitor: /metrics in Prometheus' format, /status read by `rampart monitor status`
/// (exit 0 while reading events without loss), and a clean stop at --duration.
#[test]
fn a_running_monitor_reports_its_health() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args([
            "monitor",
            "--metrics",
            "127.0.0.1:0",
            "--duration",
            "6",
            "--include-host",
        ])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut addr = None;
    let mut line = String::new();
    while stderr.read_line(&mut line).unwrap() > 0 {
        if let Some(rest) = line.split("metrics on http://").nth(1) {
            addr = rest.split('/').next().map(str::to_owned);
            break;
        }
        line.clear();
    }
    let addr = addr.unwrap_or_else(|| panic!("no metrics address in {line:?}"));
    // Some events to count.
    for _ in 0..20 {
        let _ = std::fs::read("/etc/hostname");
        let _ = Command::new("true").status();
    }
    std::thread::sleep(Duration::from_millis(1500));
    let metrics = ureq_get(&format!("http://{addr}/metrics"));
    assert!(
        metrics.contains("# TYPE rampart_monitor_events_total counter")
            && metrics.contains("rampart_monitor_events_total{type=\"exec\"}"),
        "{metrics}"
    );
    let out = rampart(
        &["monitor", "status", "--addr", &addr, "--json"],
        dir.path(),
    );
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["healthy"], true, "{status}");
    assert!(
        status["events"]["received"].as_u64().unwrap() > 0,
        "{status}"
    );
    assert!(
        status["rules"]["loaded"].as_u64().unwrap() >= 25,
        "{status}"
    );
    assert_eq!(out.status.code(), Some(0), "{status}");
    let human = rampart(&["monitor", "status", "--addr", &addr], dir.path());
    assert!(
        text(&human.stdout).contains("reading events"),
        "{}",
        text(&human.stdout)
    );
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    // Nobody answers any more: exit 2.
    let gone = rampart(&["monitor", "status", "--addr", &addr], dir.path());
    assert_eq!(gone.status.code(), Some(2));
}

fn ureq_get(url: &str) -> String {
    let out = Command::new("python3")
        .args([
            "-c",
            "import sys,urllib.request;print(urllib.request.urlopen(sys.argv[1]).read().decode())",
            url,
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

/// Rules that do not load stop the monitor before it touches the kernel: exit 2, the file, the
/// line and column, Falco's error code. Hostile files (a list of a million items, macros nested
/// far too deep) are refused the same way, quickly.
#[test]
fn bad_and_hostile_rules_are_refused_with_their_position() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "- rule: broken\n  desc: d\n  condition: evt.type = execve and (proc.name = sh\n  output: x\n  priority: WARNING\n",
    )
    .unwrap();
    let out = rampart(&["monitor", "--rules", bad.to_str().unwrap()], dir.path());
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("bad.yaml:3:"), "{err}");
    assert!(err.contains("LOAD_ERR_COMPILE_CONDITION"), "{err}");

    let mut huge = String::from("- list: huge\n  items: [");
    for i in 0..1_000_000 {
        huge.push_str(&format!("i{i},"));
    }
    huge.push_str("x]\n");
    let mut deep = String::new();
    for i in 0..5000 {
        deep.push_str(&format!(
            "- macro: m{i}\n  condition: {}\n",
            if i == 0 {
                "evt.type = execve".to_owned()
            } else {
                format!("m{}", i - 1)
            }
        ));
    }
    deep.push_str(
        "- rule: deep\n  desc: d\n  condition: m4999\n  output: x\n  priority: WARNING\n",
    );
    for (name, body) in [("huge.yaml", huge), ("deep.yaml", deep)] {
        let p = dir.path().join(name);
        std::fs::write(&p, body).unwrap();
        let t = std::time::Instant::now();
        let out = rampart(&["monitor", "--rules", p.to_str().unwrap()], dir.path());
        assert_eq!(out.status.code(), Some(2), "{name}: {}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains(name),
            "{name}: {}",
            text(&out.stderr)
        );
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "{name} took {:?}",
            t.elapsed()
        );
    }
}

/// Without root the sensor cannot load: a clear error, exit 2.
#[test]
fn without_root_the_monitor_says_so() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_rampart"))
        .args(["monitor", "--duration", "1"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let err = text(&out.stderr).to_lowercase();
    assert!(err.contains("root"), "{err}");
}
