//! A container's first exec (its entrypoint) carries the container's identity, also when runc
//! keeps its state under a root given in `state-roots`: runc's init runs in the container's
//! cgroup a few milliseconds before its state exists, so the first verdict on that cgroup is a
//! provisional "host"; the entrypoint's exec must re-check at once, not after the rescan
//! interval (it was attributed to the host before, measured with `runc run`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use rampart_monitor::config::MonitorConfig;
use rampart_testkit::runc::{Bundle, StateRoot};
use std::time::Duration;
use support::Running;

const RULES: &str = r#"
- rule: entrypoint
  desc: the marker program runs
  condition: evt.type in (execve, execveat) and evt.dir = < and proc.args contains first-exec-marker
  output: entrypoint (container=%container.id args=%proc.args)
  priority: INFO
"#;

#[test]
fn the_entrypoint_of_a_container_under_a_custom_state_root_is_attributed() {
    let state = tempfile::tempdir().unwrap();
    let mon = Running::start(
        MonitorConfig {
            threads: Some(2),
            include_host: Some(true),
            state_roots: vec![state.path().to_path_buf()],
            ..MonitorConfig::default()
        },
        vec![("first.yaml".to_owned(), RULES.to_owned())],
    );
    let mut ids = Vec::new();
    for i in 0..4 {
        let marker = format!("first-exec-marker-{i}");
        let bundle = Bundle::busybox()
            .args(&["sh", "-c", &format!("exit 0 # {marker}")])
            .build();
        let c = bundle.run(StateRoot::At(state.path().to_path_buf()));
        c.wait_stopped(Duration::from_secs(10));
        ids.push((marker, c.id.get(..12).unwrap_or(&c.id).to_owned()));
        drop(c);
    }
    let alerts = mon.collect(Duration::from_secs(5), |all| all.len() >= ids.len());
    for (marker, id) in &ids {
        let a = alerts
            .iter()
            .find(|a| {
                a.json["output"]
                    .as_str()
                    .unwrap_or("")
                    .contains(marker.as_str())
            })
            .unwrap_or_else(|| panic!("no alert for {marker}: {alerts:?}"));
        assert_eq!(a.container(), id, "{marker}: {}", a.json);
    }
    mon.stop();
}
