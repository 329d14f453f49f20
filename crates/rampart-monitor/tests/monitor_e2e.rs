//! The monitor end to end on the real kernel: the eBPF sensor, the process tree, container
//! identity, Falco's three rulesets, answers and sinks, against real runc containers in which
//! Falco's event-generator actions are performed (`rampart-eventgen`, rampart-testkit).
//!
//! One monitor runs for the whole file (loading the sensor and the rules once), in-process, its
//! alerts captured line by line with the time each line was written.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use rampart_monitor::config::MonitorConfig;
use rampart_testkit::eventgen::{self, Profile, Rootfs, Sandbox};
use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::Duration;
use support::{Alert, Running};

fn corpus_rules() -> Vec<(String, String)> {
    let dir = rampart_testkit::paths::corpus("falco-rules/rules");
    let mut files: Vec<(String, String)> = [
        "falco_rules.yaml",
        "falco-incubating_rules.yaml",
        "falco-sandbox_rules.yaml",
    ]
    .iter()
    .map(|f| {
        (
            (*f).to_owned(),
            std::fs::read_to_string(dir.join(f)).unwrap(),
        )
    })
    .collect();
    // Every rule an action targets is switched on (8 sandbox rules ship disabled), the way an
    // operator enables a rule: an override file loaded last.
    let mut enable = String::new();
    for a in eventgen::actions() {
        if !a.rule_enabled {
            enable.push_str(&format!(
                "- rule: {}\n  enabled: true\n  override:\n    enabled: replace\n",
                serde_json::to_string(&a.expected_rule).unwrap()
            ));
        }
    }
    files.push(("enable_targets.yaml".to_owned(), enable));
    files
}

fn shared() -> &'static (Running, Rootfs) {
    static S: OnceLock<(Running, Rootfs)> = OnceLock::new();
    S.get_or_init(|| {
        // The actions run in containers; the host (cargo building next door) is not watched.
        let config = MonitorConfig {
            threads: Some(2),
            include_host: Some(false),
            ..MonitorConfig::default()
        };
        let running = Running::start(config, corpus_rules());
        let rootfs = Rootfs::build(&eventgen::binary());
        (running, rootfs)
    })
}

/// Actions that perform the detected operation twice, so Falco itself alerts twice.
const TWICE: &[(&str, &str)] = &[
    (
        "syscall.ModifyBinaryDirs",
        "renames /bin/true away and back: two renames under /bin",
    ),
    (
        "syscall.DeleteOrRenameShellHistory",
        "creates ash_history with O_TRUNC (truncate_shell_history) and unlinks it (modify_shell_history)",
    ),
    (
        "syscall.NonSudoSetuid",
        "setuid(daemon), then setuid(0) as daemon: Falco evaluates each setuid after its state update, as daemon both times",
    ),
    (
        "syscall.ReadShellConfigurationFile",
        "creates .bashrc as Go's os.Create does (O_RDWR: a read open) and opens it again read-only",
    ),
];

/// Actions whose rule rampart cannot fire yet, and why. The test fails if one of them starts
/// firing (remove it here) or if any other action stops.
const KNOWN_GAPS: &[(&str, &str)] = &[
    (
        "syscall.DirectoryTraversalMonitoredFileRead",
        "fd.nameraw: the sensor reports the kernel-resolved path, not the path as the caller wrote it",
    ),
    (
        "syscall.ModifyContainerEntrypoint",
        "fd.name /proc/self/fd/1 as written: the sensor reports the file it resolves to",
    ),
    (
        "syscall.InterpretedProcsInboundNetworkActivity",
        "listen: the sensor does not report the socket's bound address",
    ),
    (
        "syscall.JavaProcessClassFileDownload",
        "recvfrom and evt.buffer: the sensor does not capture I/O buffers",
    ),
    (
        "syscall.PacketSocketCreatedInContainer",
        "socket(): not an event the sensor produces",
    ),
    (
        "syscall.UnprivilegedDelegationOfPageFaultsHandlingToAUserspaceProcess",
        "userfaultfd(): not an event the sensor produces",
    ),
];

/// Every applicable event-generator action (and the two extras for stable rules upstream has no
/// action for), performed in a runc container with an overlay root, fires its expected rule
/// exactly once per operation it performs, attributed to that container (its id and image),
/// within 100 ms of the syscall.
#[test]
fn every_event_generator_action_fires_its_rule_once_in_its_container() {
    let (mon, rootfs) = shared();
    let mut sandboxes: BTreeMap<Profile, Sandbox> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut latencies = Vec::new();
    let actions: Vec<_> = eventgen::actions()
        .into_iter()
        .filter(|a| a.is_applicable())
        .chain(eventgen::extras())
        .collect();
    let mut gaps_seen = Vec::new();
    assert!(
        actions.len() >= 40,
        "only {} applicable actions",
        actions.len()
    );
    for action in &actions {
        let sb = sandboxes.entry(action.profile).or_insert_with(|| {
            Sandbox::builder(rootfs)
                .profile(action.profile)
                .overlay(true)
                .annotation("io.rampart.image.ref", "localhost/rampart-eventgen:test")
                .start()
        });
        let short = sb.id.get(..12).unwrap_or(&sb.id).to_owned();
        let before = mon.collect(Duration::ZERO, |_| true).len();
        let run = sb.run(action);
        if !(run.succeeded() || run.skipped()) {
            failures.push(format!(
                "{}: the action failed: {}",
                action.name,
                run.stderr.trim()
            ));
            continue;
        }
        if run.skipped() {
            failures.push(format!("{}: skipped: {}", action.name, run.stderr.trim()));
            continue;
        }
        let rule = action.expected_rule.clone();
        let matching = |all: &[Alert]| -> Vec<Alert> {
            all.get(before..)
                .unwrap_or(&[])
                .iter()
                .filter(|a| a.rule() == rule)
                .cloned()
                .collect()
        };
        // Wait for the first, then a settling time for duplicates.
        mon.collect(Duration::from_secs(3), |all| !matching(all).is_empty());
        let all = mon.collect(Duration::from_millis(300), |_| false);
        let hits = matching(&all);
        let in_container: Vec<&Alert> = hits.iter().filter(|a| a.container() == short).collect();
        let want = if TWICE.iter().any(|(n, _)| *n == action.name) {
            2
        } else {
            1
        };
        if KNOWN_GAPS.iter().any(|(n, _)| *n == action.name) {
            if in_container.is_empty() {
                gaps_seen.push(action.name.clone());
            } else {
                failures.push(format!(
                    "{}: listed as a known gap but `{rule}` fired: update KNOWN_GAPS",
                    action.name
                ));
            }
            continue;
        }
        match in_container.len() {
            n if n == want => {
                let a = in_container[0];
                let latency = a.written_ns.saturating_sub(a.event_ns());
                latencies.push((latency, action.name.clone()));
                if latency > 100_000_000 {
                    failures.push(format!(
                        "{}: alert {} ms after the syscall",
                        action.name,
                        latency / 1_000_000
                    ));
                }
                let image = a.json["output_fields"]["container.image.repository"].as_str();
                if image != Some("localhost/rampart-eventgen") {
                    failures.push(format!("{}: image {image:?}", action.name));
                }
            }
            n => failures.push(format!(
                "{}: `{rule}` fired {n} times in container {short} ({} in all); every alert meanwhile:\n    {}",
                action.name,
                hits.len(),
                all.get(before..)
                    .unwrap_or(&[])
                    .iter()
                    .map(|h| h.json["output"].as_str().unwrap_or("").to_owned())
                    .collect::<Vec<_>>()
                    .join("\n    ")
            )),
        }
    }
    latencies.sort();
    eprintln!(
        "{} actions; latency syscall -> alert line: p50 {} us, max {} us ({})",
        latencies.len(),
        latencies.get(latencies.len() / 2).map_or(0, |l| l.0 / 1000),
        latencies.last().map_or(0, |l| l.0 / 1000),
        latencies.last().map_or("", |l| l.1.as_str()),
    );
    assert!(
        failures.is_empty(),
        "{} of {} actions:\n{}",
        failures.len(),
        actions.len(),
        failures.join("\n")
    );
    let _ = &mon.ready;
    let _ = &mon.notes;
}
