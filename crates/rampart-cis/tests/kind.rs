//! kube-bench's own expected output on a kind v1.21 cluster (`Expected_output.data`, cis-1.20)
//! against rampart: kube-bench's cis-1.20 control-plane and etcd checks, read from the corpus,
//! evaluated by rampart on the kind cluster's static pods (`tests/fixtures/kind-v1.21`) read as
//! the components read their flags. Every verdict of sections 1.2, 1.3, 1.4 and 2 must match.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rampart_cis::master::{Component, container_input};
use rampart_cis::{Controls, Input, State, evaluate};
use rampart_k8s::ManifestFile;
use rampart_testkit::paths::corpus;
use std::collections::BTreeMap;
use std::path::Path;

/// kube-bench's verdict per check id, from its expected output.
fn expected() -> BTreeMap<String, State> {
    let text = std::fs::read_to_string(corpus(
        "kube-bench/integration/testdata/Expected_output.data",
    ))
    .unwrap();
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let Some((state, rest)) = line.split_once("] ") else {
            continue;
        };
        let state = match state {
            "[PASS" => State::Pass,
            "[FAIL" => State::Fail,
            "[WARN" => State::Warn,
            "[INFO" => State::Info,
            _ => continue,
        };
        let id = rest.split(' ').next().unwrap();
        out.insert(id.to_owned(), state);
    }
    out
}

/// The container's program and arguments in a fixture manifest.
fn command(component: Component) -> (String, Vec<String>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/kind-v1.21")
        .join(format!("{}.yaml", component.program()));
    let (file, errors) = ManifestFile::load(
        path.display().to_string(),
        &std::fs::read_to_string(&path).unwrap(),
    );
    assert!(errors.is_empty());
    let words: Vec<String> = file.documents[0]
        .root
        .path(&["spec", "containers"])
        .unwrap()
        .as_seq()[0]
        .get("command")
        .unwrap()
        .as_seq()
        .iter()
        .map(|w| w.as_str().unwrap().to_owned())
        .collect();
    (words[0].clone(), words[1..].to_vec())
}

fn section(file: &str) -> Controls {
    rampart_cis::load(corpus(&format!("kube-bench/cfg/cis-1.20/{file}.yaml"))).unwrap()
}

#[test]
fn rampart_gives_kube_benchs_verdicts_on_kind() {
    let expected = expected();
    let master = section("master");
    let etcd = section("etcd");
    let mut compared = 0;
    for (component, group, controls) in [
        (Component::ApiServer, "1.2", &master),
        (Component::ControllerManager, "1.3", &master),
        (Component::Scheduler, "1.4", &master),
        (Component::Etcd, "2", &etcd),
    ] {
        let (program, args) = command(component);
        let input = container_input(&program, &args, &[]);
        let group = controls.groups.iter().find(|g| g.id == group).unwrap();
        for check in &group.checks {
            let outcome = evaluate(
                check,
                &Input {
                    command: &input.command,
                    ..Input::default()
                },
            );
            assert_eq!(
                Some(&outcome.state),
                expected.get(&check.id),
                "{} {}: {}",
                check.id,
                check.text,
                outcome.expected
            );
            compared += 1;
        }
    }
    // 34 API server, 7 controller manager, 2 scheduler and 7 etcd results.
    assert_eq!(compared, 50);
}

/// The kubelet items (4.2) on kind's kubelet: its command line and the configuration file
/// kubeadm wrote, read as they are (as kube-bench reads them, without defaults). Every verdict
/// of section 4.2 must match, including kube-bench's reading of `streamingConnectionIdleTimeout:
/// 0s` (not the text `0`: PASS) and the absent protectKernelDefaults (FAIL).
#[test]
fn rampart_gives_kube_benchs_kubelet_verdicts_on_kind() {
    let expected = expected();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kind-v1.21");
    let flags = std::fs::read_to_string(dir.join("kubelet-flags.txt")).unwrap();
    let config = std::fs::read_to_string(dir.join("kubelet-config.yaml")).unwrap();
    let node = section("node");
    let group = node.groups.iter().find(|g| g.id == "4.2").unwrap();
    for check in &group.checks {
        let outcome = evaluate(
            check,
            &Input {
                command: &flags,
                config: (!check.audit_config.is_empty()).then_some(config.as_str()),
                ..Input::default()
            },
        );
        assert_eq!(
            Some(&outcome.state),
            expected.get(&check.id),
            "{} {}: {}",
            check.id,
            check.text,
            outcome.expected
        );
    }
    assert_eq!(group.checks.len(), 13);
}
