//! Control-plane static pods in `rampart scan` (CIS001–CIS004, host layer): kubeadm-style
//! manifests of the four components, hardened (no finding) and weak (the CIS items each
//! fails, by id), the rules' own examples, and kube-bench's verdicts on the same flags.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rampart_cis::master::{Component, checks_for, container_input};
use rampart_cis::{Input, evaluate};
use rampart_core::{Layer, Severity};
use rampart_k8s::ManifestFile;
use rampart_scan::controlplane::{RULES, assess};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn fixtures(which: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/controlplane/{which}"))
}

fn load(which: &str) -> Vec<ManifestFile> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures(which))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| {
            let (file, errors) = ManifestFile::load(
                p.display().to_string(),
                &std::fs::read_to_string(p).unwrap(),
            );
            assert!(errors.is_empty(), "{errors:?}");
            file
        })
        .collect()
}

/// Per rule, the CIS ids its findings name.
fn found(manifests: &[ManifestFile]) -> BTreeMap<&'static str, Vec<String>> {
    let a = assess(manifests);
    let mut out: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    for f in &a.findings {
        assert_eq!(f.layer, Layer::Host);
        let id = f
            .message
            .strip_prefix("CIS ")
            .and_then(|m| m.split(' ').next())
            .unwrap_or_else(|| panic!("{}", f.message));
        out.entry(f.rule_id).or_default().push(id.to_owned());
    }
    out
}

#[test]
fn hardened_control_plane_passes_every_item() {
    let manifests = load("hardened");
    let a = assess(&manifests);
    assert!(a.findings.is_empty(), "{:#?}", a.findings);
    // Every component was assessed, as the Pod it is.
    let mut assessed: Vec<(&str, &str)> = a
        .controls
        .iter()
        .map(|c| (c.rule_id, c.subject.as_str()))
        .collect();
    assessed.sort();
    assert_eq!(
        assessed,
        [
            ("CIS001", "Pod kube-system/kube-apiserver"),
            ("CIS002", "Pod kube-system/kube-controller-manager"),
            ("CIS003", "Pod kube-system/kube-scheduler"),
            ("CIS004", "Pod kube-system/etcd"),
        ]
    );
}

#[test]
fn weak_control_plane_fails_the_items_its_flags_show() {
    let f = found(&load("weak"));
    let ids = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    // The API server: all but 1.2.12/1.2.13 (nothing disabled) and 1.2.14 (NodeRestriction,
    // enabled by the first of two --enable-admission-plugins flags).
    assert_eq!(
        f["CIS001"],
        ids(&[
            "1.2.1", "1.2.2", "1.2.3", "1.2.4", "1.2.5", "1.2.6", "1.2.7", "1.2.8", "1.2.9",
            "1.2.10", "1.2.11", "1.2.15", "1.2.16", "1.2.17", "1.2.18", "1.2.19", "1.2.21",
            "1.2.22", "1.2.23", "1.2.24", "1.2.25", "1.2.26", "1.2.27", "1.2.29", "1.2.30",
            "3.2.1",
        ])
    );
    assert_eq!(
        f["CIS002"],
        ids(&[
            "1.3.1", "1.3.2", "1.3.3", "1.3.4", "1.3.5", "1.3.6", "1.3.7"
        ])
    );
    // No command: found by its component label; `--bind-address 0.0.0.0` is read as the
    // scheduler reads it.
    assert_eq!(f["CIS003"], ids(&["1.4.1", "1.4.2"]));
    // ETCD_CLIENT_CERT_AUTH=true passes 2.2; ETCD_PEER_AUTO_TLS=true fails 2.6.
    assert_eq!(
        f["CIS004"],
        ids(&["2.1", "2.3", "2.4", "2.5", "2.6", "2.7"])
    );
}

#[test]
fn findings_name_the_item_the_flag_and_where_it_is() {
    let manifests = load("weak");
    let a = assess(&manifests);
    let by_id = |id: &str| {
        a.findings
            .iter()
            .find(|f| f.message.starts_with(&format!("CIS {id} ")))
            .unwrap()
    };
    let anon = by_id("1.2.1");
    assert_eq!(
        anon.message,
        "CIS 1.2.1 [WARN] kube-apiserver: Ensure that the --anonymous-auth argument is set to false (found --anonymous-auth=true): expected '--anonymous-auth' is equal to 'false'"
    );
    // The last --anonymous-auth decides, and the finding points at it (line 18 of the file).
    assert_eq!(anon.location.line, 18);
    assert_eq!(anon.severity, Severity::High);
    let always_allow = by_id("1.2.6");
    assert!(
        always_allow
            .message
            .contains("found --authorization-mode=AlwaysAllow")
    );
    assert_eq!(always_allow.severity, Severity::Critical);
    assert_eq!(always_allow.location.line, 19);
    let path = by_id("1.2.16");
    assert!(path.message.contains("(not set)"), "{}", path.message);
    let peer = by_id("2.6");
    assert!(
        peer.message.contains("ETCD_PEER_AUTO_TLS=true"),
        "{}",
        peer.message
    );
}

/// On manifests written `--flag=value` once (as kubeadm writes them), kube-bench reading the
/// process's command line and rampart reading the manifest give every item the same state.
#[test]
fn kube_bench_agrees_on_kubeadm_style_flags() {
    let mut compared = 0;
    for which in ["hardened", "weak"] {
        for file in load(which) {
            let doc = &file.documents[0];
            let spec = doc.root.path(&["spec", "containers"]).unwrap();
            let c = &spec.as_seq()[0];
            let strings = |key: &str| -> Vec<String> {
                c.get(key)
                    .map(|n| {
                        n.as_seq()
                            .iter()
                            .filter_map(|w| w.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let words = strings("command");
            let Some(program) = words.first() else {
                continue;
            };
            let component = Component::from_program(program).unwrap();
            let rest: Vec<String> = words[1..].iter().cloned().chain(strings("args")).collect();
            // kubeadm's form: every argument a flag, each flag once.
            let mut names: Vec<&str> = rest.iter().map(|w| w.split('=').next().unwrap()).collect();
            names.sort();
            names.dedup();
            if !rest.iter().all(|w| w.starts_with("--")) || names.len() != rest.len() {
                continue;
            }
            let raw = std::iter::once(program.clone())
                .chain(rest.clone())
                .collect::<Vec<_>>()
                .join(" ");
            let input = container_input(program, &rest, &[]);
            compared += 1;
            for mc in checks_for(component).unwrap() {
                let kube_bench = evaluate(
                    &mc.check,
                    &Input {
                        command: &raw,
                        ..Input::default()
                    },
                );
                let rampart = evaluate(
                    &mc.check,
                    &Input {
                        command: &input.command,
                        ..Input::default()
                    },
                );
                assert_eq!(
                    kube_bench.state, rampart.state,
                    "{which} {} {}",
                    file.path, mc.check.id
                );
            }
        }
    }
    // All four hardened components, and the weak controller manager and etcd.
    assert_eq!(compared, 6);
}

#[test]
fn every_rule_fires_on_its_bad_example_only() {
    for rule in RULES {
        for (example, fires) in [(rule.bad_example, true), (rule.good_example, false)] {
            let (file, errors) = ManifestFile::load("example.yaml", example);
            assert!(errors.is_empty(), "{}: {errors:?}", rule.id);
            let a = assess(&[file]);
            assert!(
                a.controls.iter().any(|c| c.rule_id == rule.id),
                "{}: not assessed",
                rule.id
            );
            assert_eq!(
                a.findings.iter().any(|f| f.rule_id == rule.id),
                fires,
                "{} {}: {:#?}",
                rule.id,
                if fires { "bad" } else { "good" },
                a.findings
            );
        }
    }
    assert!(rampart_scan::catalog().iter().any(|r| r.id == "CIS004"));
}

#[test]
fn other_pods_and_kinds_are_not_control_plane() {
    let text = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: kube-apiserver\nspec:\n  template:\n    spec:\n      containers:\n      - name: kube-apiserver\n        image: x\n        command: [kube-apiserver, --profiling=true]\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n  - name: web\n    image: nginx\n    command: [nginx]\n";
    let (file, _) = ManifestFile::load("other.yaml", text);
    let a = assess(&[file]);
    assert!(a.controls.is_empty() && a.findings.is_empty());
}

/// Through the scan engine: the weak control plane breaches the host layer, the hardened one
/// holds in it as far as the CIS rules go.
#[test]
fn scan_reports_them_in_the_host_layer() {
    let today = jiff::civil::date(2026, 1, 1);
    let opts = rampart_scan::ScanOptions::new(rampart_scan::Config::default(), today);
    let weak = rampart_scan::scan(&[fixtures("weak")], &opts);
    let cis: Vec<_> = weak
        .findings
        .iter()
        .filter(|f| f.rule_id.starts_with("CIS"))
        .collect();
    assert_eq!(cis.len(), 26 + 7 + 2 + 6);
    assert!(cis.iter().all(|f| f.layer == Layer::Host));
    let host = weak.layers.iter().find(|l| l.layer == Layer::Host).unwrap();
    assert_eq!(host.state, rampart_core::LayerState::Breached);
    let hardened = rampart_scan::scan(&[fixtures("hardened")], &opts);
    assert!(
        !hardened
            .findings
            .iter()
            .any(|f| f.rule_id.starts_with("CIS"))
    );
    assert!(
        hardened
            .subjects
            .iter()
            .any(|s| s.subject == "Pod kube-system/kube-apiserver")
    );
}

/// A component started by a shell script (`sh -c "exec etcd ..."`) is judged on the script's
/// words.
#[test]
fn a_shell_wrapped_component_is_read_from_its_script() {
    let text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: etcd\n  namespace: kube-system\nspec:\n  containers:\n  - name: etcd\n    image: registry.k8s.io/etcd:3.5.21-0\n    command:\n    - /bin/sh\n    - -c\n    - exec etcd --cert-file=/pki/server.crt --key-file=/pki/server.key --client-cert-auth=true --peer-cert-file=/pki/peer.crt --peer-key-file=/pki/peer.key --peer-client-cert-auth=true --trusted-ca-file=/pki/ca.crt --auto-tls=true\n";
    let (file, errors) = ManifestFile::load("wrapped.yaml", text);
    assert!(errors.is_empty());
    let f = found(&[file]);
    assert_eq!(f.get("CIS004"), Some(&vec!["2.3".to_owned()]), "{f:?}");
}
