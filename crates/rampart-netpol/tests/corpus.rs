//! The oracle: netpol-analyzer's connection lists (../shared/corpus/netpol-analyzer, its
//! `list` command's expected output for 31 scenarios, three of them with Ingress objects). For
//! every scenario rampart's lines equal the expected ones, as sets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

use rampart_netpol::{Engine, read_path};
use rampart_testkit::paths::corpus;

#[test]
fn every_scenario_lists_netpol_analyzers_connections() {
    let root = corpus("netpol-analyzer");
    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("scenarios.json")).unwrap())
            .unwrap();
    let scenarios = index["scenarios"].as_object().unwrap();
    assert_eq!(scenarios.len(), 31);
    let mut failed = Vec::new();
    for (name, s) in scenarios {
        let cluster = read_path(&root.join("tests").join(name)).unwrap();
        let got: BTreeSet<String> = Engine::new(&cluster)
            .connections()
            .iter()
            .map(ToString::to_string)
            .collect();
        let expected: BTreeSet<String> =
            std::fs::read_to_string(root.join(s["expected"].as_str().unwrap()))
                .unwrap()
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect();
        let missing: Vec<&String> = expected.difference(&got).collect();
        let extra: Vec<&String> = got.difference(&expected).collect();
        if !missing.is_empty() || !extra.is_empty() {
            failed.push(format!(
                "{name}: {} missing, {} extra (errors: {:?})\n  missing: {:?}\n  extra: {:?}",
                missing.len(),
                extra.len(),
                cluster
                    .errors
                    .iter()
                    .take(3)
                    .map(ToString::to_string)
                    .collect::<Vec<_>>(),
                missing.iter().take(4).collect::<Vec<_>>(),
                extra.iter().take(4).collect::<Vec<_>>()
            ));
        }
    }
    assert!(
        failed.is_empty(),
        "{} scenarios differ:\n{}",
        failed.len(),
        failed.join("\n")
    );
}
