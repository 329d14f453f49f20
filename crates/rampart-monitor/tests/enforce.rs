//! The monitor's enforce mode for intents (`[[enforce]]`): a runc container of the intent's
//! image, started while the monitor runs, gets the compiled policy applied from outside by the
//! monitor alone (no guard launcher in the bundle): its entrypoint's exec is held until the
//! file guard's marks and the connection guard are on, then every step outside the intent fails
//! with EPERM in the offending process and is an alert under the intent's runtime rule.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use rampart_enforce::{Egress, Listen, Mode, Policy, Protocol};
use rampart_monitor::config::{EnforceConfig, MonitorConfig};
use rampart_testkit::eventgen::NetNs;
use rampart_testkit::runc::{Bundle, StateRoot};
use std::time::Duration;
use support::Running;

const DIGEST: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

const SCRIPT: &str = r#"
out=/srv/data/out
exec 2>>$out
echo "echo:$(/bin/echo allowed)" >> $out
/usr/local/bin/busybox touch /srv/data/tool-ran; echo "tool:$?" >> $out
echo evil > /usr/bin/evil; echo "usrbin:$?" >> $out
cat /etc/secret > /dev/null; echo "secret:$?" >> $out
nc -l -p 8080 > /srv/data/got &
sleep 0.3
echo hello | nc -w 2 127.0.0.1 8080; echo "connect-allowed:$?" >> $out
nc -w 1 127.0.0.2 8080 < /dev/null; echo "connect-cidr:$?" >> $out
wait
echo end >> $out
"#;

/// The monitor needs a rule; the enforcement needs none (its alerts are its own).
const NO_RULE: &str = r#"
- rule: never
  desc: matches nothing of the test
  condition: evt.type = execve and evt.dir = < and proc.name = no-such-program-anywhere
  output: never (%proc.name)
  priority: INFO
"#;

fn policy(mode: Mode) -> Policy {
    Policy {
        mode,
        exec: vec!["/bin".into()],
        writable: vec!["/srv/data".into()],
        never_read: vec!["/etc/secret".into()],
        egress: vec![Egress {
            net: "127.0.0.1/32".parse().unwrap(),
            ports: Some((8080, 8080)),
            protocol: Protocol::Tcp,
        }],
        listen: vec![Listen {
            port: 8080,
            protocol: Protocol::Tcp,
        }],
    }
}

fn line<'a>(out: &'a str, key: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .unwrap_or_else(|| panic!("no {key}: line in\n{out}"))
}

/// Runs the script in a container of the intent's image (and, when `entrypoint` is given, that
/// command instead) under a monitor enforcing `mode`; returns the script's lines and the alerts.
fn run(
    mode: Mode,
    entry_mode: Option<rampart_monitor::config::Mode>,
    entrypoint: Option<&[&str]>,
) -> (String, Vec<support::Alert>, String) {
    // one monitor at a time: each holds every container's first exec and guards the image's
    // containers, the others' included
    static ONE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = ONE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let dir = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let policy_path = dir.path().join("web.enforce.json");
    std::fs::write(&policy_path, serde_json::to_vec(&policy(mode)).unwrap()).unwrap();
    let mon = Running::start(
        MonitorConfig {
            threads: Some(2),
            state_roots: vec![state.path().to_path_buf()],
            enforce: vec![EnforceConfig {
                name: "web".into(),
                image: format!("registry.example/web:1@{DIGEST}"),
                policy: policy_path,
                mode: entry_mode,
            }],
            ..MonitorConfig::default()
        },
        vec![("none.yaml".to_owned(), NO_RULE.to_owned())],
    );
    let netns = NetNs::new();
    let args = entrypoint.unwrap_or(&["/bin/sh", "/opt/run.sh"]);
    let bundle = Bundle::busybox()
        .args(args)
        .annotation("io.rampart.image.digest", DIGEST)
        .build();
    let r = &bundle.rootfs;
    rampart_testkit::runc::attack_fixture(r, SCRIPT);
    let cfg_path = bundle.dir.join("config.json");
    let mut cfg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&cfg_path).unwrap()).unwrap();
    let ns = cfg["linux"]["namespaces"].as_array_mut().unwrap();
    ns.retain(|n| n["type"] != "network");
    ns.push(serde_json::json!({"type": "network", "path": netns.path()}));
    std::fs::write(&cfg_path, serde_json::to_vec_pretty(&cfg).unwrap()).unwrap();

    let c = bundle.run(StateRoot::At(state.path().to_path_buf()));
    assert!(
        c.wait_stopped(Duration::from_secs(30)),
        "the container did not finish"
    );
    let out = std::fs::read_to_string(r.join("srv/data/out")).unwrap_or_default();
    // every step's rule has alerted (the connection guard's events are read every 50 ms)
    let want: &[&str] = if entrypoint.is_some() {
        &["executable"]
    } else {
        &["executable", "write", "read", "connection"]
    };
    let alerts = mon.collect(Duration::from_secs(5), |a| {
        want.iter()
            .all(|w| a.iter().any(|a| a.rule().starts_with(&format!("web: {w}"))))
    });
    let id = c.id.clone();
    drop(c);
    let summary = mon.stop();
    let enforce = summary.enforce.expect("the summary counts the enforcement");
    assert_eq!(enforce.containers, 1, "{enforce:?}");
    assert_eq!(enforce.failed, 0, "{enforce:?}");
    (out, alerts, id)
}

fn has(alerts: &[support::Alert], rule: &str, target: &str, outcome: &str) -> bool {
    alerts.iter().any(|a| {
        a.rule() == rule
            && a.json["output_fields"]["rampart.target"] == target
            && a.json["output_fields"]["rampart.outcome"] == outcome
    })
}

#[test]
fn the_monitor_alone_enforces_the_intent_on_the_images_containers() {
    let (out, alerts, id) = run(Mode::Enforce, None, None);
    assert!(out.contains("end"), "{out}");
    assert_eq!(line(&out, "echo"), "allowed");
    assert_eq!(line(&out, "tool"), "126", "{out}");
    assert!(
        out.contains("/usr/local/bin/busybox: Operation not permitted"),
        "{out}"
    );
    assert_ne!(line(&out, "usrbin"), "0", "{out}");
    assert!(
        out.contains("/usr/bin/evil: Operation not permitted"),
        "{out}"
    );
    assert_ne!(line(&out, "secret"), "0", "{out}");
    assert_eq!(line(&out, "connect-allowed"), "0", "{out}");
    assert_ne!(line(&out, "connect-cidr"), "0", "{out}");

    let exec = "web: executable outside the intent";
    assert!(
        has(&alerts, exec, "/usr/local/bin/busybox", "denied"),
        "{alerts:#?}"
    );
    let write = "web: write outside the intent's writable paths";
    assert!(
        has(&alerts, write, "/usr/bin/evil", "denied"),
        "{alerts:#?}"
    );
    let read = "web: read of a path the intent forbids";
    assert!(has(&alerts, read, "/etc/secret", "denied"), "{alerts:#?}");
    let connect = "web: connection outside the intent";
    assert!(
        has(&alerts, connect, "127.0.0.2:8080", "denied"),
        "{alerts:#?}"
    );
    for a in alerts.iter().filter(|a| a.rule().starts_with("web: ")) {
        assert_eq!(
            a.json["output_fields"]["container.id"],
            id.as_str(),
            "{}",
            a.json
        );
        assert_eq!(
            a.json["output_fields"]["container.image.digest"], DIGEST,
            "{}",
            a.json
        );
    }
}

#[test]
fn audit_mode_lets_everything_run_and_reports_what_would_have_been_denied() {
    // the entry's mode overrides the enforcing policy's (the policy's own audit mode is
    // rampart-enforce's tests/file_guard.rs)
    let (out, alerts, _) = run(
        Mode::Enforce,
        Some(rampart_monitor::config::Mode::Audit),
        None,
    );
    assert!(out.contains("end"), "{out}");
    for step in ["tool", "usrbin", "secret", "connect-allowed"] {
        assert_eq!(line(&out, step), "0", "{step}: {out}");
    }
    let exec = "web: executable outside the intent";
    assert!(
        has(&alerts, exec, "/usr/local/bin/busybox", "would-deny"),
        "{alerts:#?}"
    );
    let connect = "web: connection outside the intent";
    assert!(
        has(&alerts, connect, "127.0.0.2:8080", "would-deny"),
        "{alerts:#?}"
    );
    assert!(
        !alerts
            .iter()
            .any(|a| a.json["output_fields"]["rampart.outcome"] == "denied"),
        "{alerts:#?}"
    );
}

#[test]
fn an_entrypoint_outside_the_intent_never_runs_an_instruction() {
    // the entrypoint writes a file when it runs; it is outside the allow-list
    let (out, alerts, _) = run(
        Mode::Enforce,
        None,
        Some(&[
            "/usr/local/bin/busybox",
            "sh",
            "-c",
            "echo ran > /srv/data/out",
        ]),
    );
    assert_eq!(out, "", "the entrypoint ran");
    let exec = "web: executable outside the intent";
    assert!(
        has(&alerts, exec, "/usr/local/bin/busybox", "denied"),
        "{alerts:#?}"
    );
}
