//! Answers and identity on real runc containers: a shell killed before it runs its command
//! (kill-process), the same in audit mode, a whole container killed (kill-container), two
//! containers at once each attributed, and containers started before the monitor, or while it
//! was stopped, attributed after a restart.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use rampart_monitor::config::{Action, ActionConfig, Mode, MonitorConfig};
use rampart_testkit::runc::{Bundle, Container, StateRoot};
use std::sync::Mutex;
use std::time::Duration;
use support::{Alert, Running};

/// The tests share the kernel's BPF attach points and the default runc root: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

const RULES: &str = r#"
- macro: spawned_process
  condition: (evt.type in (execve, execveat))
- macro: container
  condition: (container.id != host)
- rule: Shell in container
  desc: a shell started in a container
  condition: spawned_process and container and proc.name in (sh, ash)
  output: shell in container (command=%proc.cmdline container=%container.id image=%container.image.repository)
  priority: WARNING
- rule: Marker exec
  desc: an exec carrying a test marker
  condition: spawned_process and container and proc.args contains "rampart-marker-"
  output: marker (args=%proc.args container=%container.id image=%container.image.repository)
  priority: NOTICE
- rule: Shadow read
  desc: /etc/shadow opened in a container
  condition: evt.type in (open, openat, openat2) and evt.is_open_read=true and container and fd.name=/etc/shadow
  output: shadow read (command=%proc.cmdline container=%container.id)
  priority: CRITICAL
"#;

fn rules() -> Vec<(String, String)> {
    vec![("answers.yaml".to_owned(), RULES.to_owned())]
}

fn config(actions: &[(&str, Action)], mode: Mode) -> MonitorConfig {
    MonitorConfig {
        threads: Some(2),
        include_host: Some(false),
        mode,
        actions: actions
            .iter()
            .map(|(rule, action)| ActionConfig {
                rule: Some((*rule).to_owned()),
                priority: None,
                tag: None,
                action: *action,
            })
            .collect(),
        ..MonitorConfig::default()
    }
}

fn container(image: &str) -> (Bundle, Container) {
    let bundle = Bundle::busybox()
        .annotation("io.rampart.image.ref", image)
        .build();
    let c = bundle.run(StateRoot::Default);
    (bundle, c)
}

fn short(id: &str) -> String {
    id.get(..12).unwrap_or(id).to_owned()
}

fn wait_for(mon: &Running, rule: &str, container: &str) -> Vec<Alert> {
    let want = |a: &Alert| a.rule() == rule && a.container() == container;
    let all = mon.collect(Duration::from_secs(3), |all| all.iter().any(want));
    all.into_iter().filter(want).collect()
}

/// kill-process: the shell is held at its exec and killed before it runs one instruction of its
/// own, so the command it was given never runs (the file it would create is absent); the alert
/// says what was done.
#[test]
fn a_killed_shell_never_runs_its_command() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mon = Running::start(
        config(
            &[("Shell in container", Action::KillProcess)],
            Mode::Enforce,
        ),
        rules(),
    );
    assert!(
        mon.ready
            .filter
            .held
            .contains(&rampart_monitor::sensor::EventKind::Exec),
        "exec must be held when a rule on execs kills: {:?}",
        mon.ready.filter
    );
    let (bundle, c) = container("localhost/answers:kill");
    let out = c.exec(&["/bin/sh", "-c", "touch /pwned; echo ran"]);
    assert!(!out.status.success(), "the shell was not killed: {out:?}");
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("ran"),
        "{out:?}"
    );
    assert!(
        !bundle.rootfs.join("pwned").exists(),
        "the killed shell ran its command"
    );
    let alerts = wait_for(&mon, "Shell in container", &short(&c.id));
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(
        alerts[0].json["output_fields"]["rampart.action"],
        "kill-process"
    );
    // The container itself lives on: only the offending process died.
    assert_eq!(c.state()["status"], "running");
    let summary = mon.stop();
    assert_eq!(summary.lost, 0);
    assert_eq!(summary.actions.get("kill-process"), Some(&1));
}

/// Audit mode: the same rule and answer, nothing killed, the alert says what would have been
/// done, and the command ran.
#[test]
fn audit_mode_records_the_answer_and_kills_nothing() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mon = Running::start(
        config(&[("Shell in container", Action::KillProcess)], Mode::Audit),
        rules(),
    );
    assert!(mon.ready.filter.held.is_empty(), "audit mode holds nothing");
    let (bundle, c) = container("localhost/answers:audit");
    let out = c.exec(&["/bin/sh", "-c", "touch /ran"]);
    assert!(out.status.success(), "{out:?}");
    assert!(bundle.rootfs.join("ran").exists());
    let alerts = wait_for(&mon, "Shell in container", &short(&c.id));
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(
        alerts[0].json["output_fields"]["rampart.action"],
        "would kill-process"
    );
}

/// kill-container: a read of /etc/shadow kills every process of the container (its init
/// included), and the alert says so.
#[test]
fn kill_container_stops_the_whole_container() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mon = Running::start(
        config(&[("Shadow read", Action::KillContainer)], Mode::Enforce),
        rules(),
    );
    let (_bundle, c) = container("localhost/answers:container");
    let _ = c.exec(&["/bin/cat", "/etc/shadow"]);
    let alerts = wait_for(&mon, "Shadow read", &short(&c.id));
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(
        alerts[0].json["output_fields"]["rampart.action"],
        "kill-container"
    );
    let mut status = String::new();
    for _ in 0..50 {
        status = c.state()["status"].as_str().unwrap_or("").to_owned();
        if status == "stopped" {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(status, "stopped", "the container survived kill-container");
}

/// Two containers exec at the same time, many times each: every alert names the container the
/// exec ran in (by the marker it carried) and its image, none is missing.
#[test]
fn concurrent_containers_are_attributed() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mon = Running::start(config(&[], Mode::Enforce), rules());
    let (_b1, c1) = container("localhost/answers:one");
    let (_b2, c2) = container("localhost/answers:two");
    const N: usize = 25;
    std::thread::scope(|s| {
        for (c, tag) in [(&c1, "one"), (&c2, "two")] {
            s.spawn(move || {
                for i in 0..N {
                    let marker = format!("rampart-marker-{tag}-{i}");
                    let out = c.exec(&["/bin/true", &marker]);
                    assert!(out.status.success(), "{out:?}");
                }
            });
        }
    });
    let markers = |all: &[Alert]| {
        all.iter()
            .filter(|a| a.rule() == "Marker exec")
            .cloned()
            .collect::<Vec<_>>()
    };
    let all = mon.collect(Duration::from_secs(5), |all| markers(all).len() >= 2 * N);
    let got = markers(&all);
    assert_eq!(got.len(), 2 * N, "{} marker alerts", got.len());
    for a in &got {
        let args = a.json["output_fields"]["proc.args"].as_str().unwrap();
        let (id, image) = if args.contains("-one-") {
            (short(&c1.id), "localhost/answers")
        } else {
            (short(&c2.id), "localhost/answers")
        };
        assert_eq!(a.container(), id, "{args}");
        assert_eq!(
            a.json["output_fields"]["container.image.repository"], image,
            "{args}"
        );
    }
}

/// A container started before the monitor is attributed on its first event; the monitor
/// stopped and started again still names it, and names one started while it was stopped.
#[test]
fn containers_from_before_the_monitor_and_across_a_restart_are_attributed() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (_b1, before) = container("localhost/answers:before");
    let check = |mon: &Running, c: &Container, tag: &str| {
        let marker = format!("rampart-marker-{tag}");
        assert!(c.exec(&["/bin/true", &marker]).status.success());
        let want = |a: &Alert| {
            a.rule() == "Marker exec"
                && a.json["output_fields"]["proc.args"]
                    .as_str()
                    .is_some_and(|s| s.contains(&marker))
        };
        let all = mon.collect(Duration::from_secs(3), |all| all.iter().any(want));
        let hit: Vec<&Alert> = all.iter().filter(|a| want(a)).collect();
        assert_eq!(hit.len(), 1, "{tag}: {hit:?}");
        assert_eq!(hit[0].container(), short(&c.id), "{tag}");
        assert_eq!(
            hit[0].json["output_fields"]["container.image.repository"], "localhost/answers",
            "{tag}"
        );
    };
    let first = Running::start(config(&[], Mode::Enforce), rules());
    check(&first, &before, "first-run");
    first.stop();
    drop(first);
    let (_b2, meanwhile) = container("localhost/answers:meanwhile");
    let second = Running::start(config(&[], Mode::Enforce), rules());
    check(&second, &before, "after-restart");
    check(&second, &meanwhile, "started-while-stopped");
}
