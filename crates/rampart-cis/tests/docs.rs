//! docs/cis.md lists every check of CIS Kubernetes Benchmark v1.12 exactly once, with
//! kube-bench's text, and names the rule that checks it: the table cannot drift from the
//! benchmark or from rampart's checks.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rampart_cis::master::{Component, manifest_checks};
use rampart_testkit::paths::{corpus, root};
use std::collections::BTreeMap;

/// The check ids of kube-bench's cfg/cis-1.12 master.yaml, etcd.yaml, controlplane.yaml and
/// policies.yaml (kube-bench commit a73ce378; node.yaml is read from the corpus).
fn other_sections() -> Vec<String> {
    let mut ids = Vec::new();
    let range = |prefix: &str, n: u32, ids: &mut Vec<String>| {
        ids.extend((1..=n).map(|i| format!("{prefix}.{i}")));
    };
    range("1.1", 21, &mut ids);
    range("1.2", 30, &mut ids);
    range("1.3", 7, &mut ids);
    range("1.4", 2, &mut ids);
    range("2", 7, &mut ids);
    range("3.1", 3, &mut ids);
    range("3.2", 2, &mut ids);
    range("5.1", 13, &mut ids);
    range("5.2", 12, &mut ids);
    range("5.3", 2, &mut ids);
    range("5.4", 2, &mut ids);
    range("5.5", 1, &mut ids);
    range("5.6", 4, &mut ids);
    ids
}

struct Row {
    text: String,
    rule: String,
}

fn table() -> BTreeMap<String, Row> {
    let text = std::fs::read_to_string(root().join("docs/cis.md")).unwrap();
    let mut rows = BTreeMap::new();
    for line in text.lines() {
        let cells: Vec<&str> = line.split(" | ").collect();
        let Some(id) = cells.first().and_then(|c| c.strip_prefix("| ")) else {
            continue;
        };
        if !id.chars().next().is_some_and(|c| c.is_ascii_digit()) {
            continue;
        }
        assert!(cells.len() >= 4, "{line}");
        let row = Row {
            text: cells[1].to_owned(),
            rule: cells[2].to_owned(),
        };
        assert!(
            rows.insert(id.to_owned(), row).is_none(),
            "{id} is listed twice"
        );
    }
    rows
}

#[test]
fn every_item_of_cis_1_12_is_listed_once() {
    let rows = table();
    let node = rampart_cis::load(corpus("kube-bench/cfg/cis-1.12/node.yaml")).unwrap();
    let mut expected = other_sections();
    expected.extend(node.checks().map(|c| c.id.clone()));
    let mut listed: Vec<&String> = rows.keys().collect();
    listed.sort();
    let mut want: Vec<&String> = expected.iter().collect();
    want.sort();
    assert_eq!(listed, want);
    assert_eq!(rows.len(), 131);
    for check in node.checks() {
        let row = &rows[&check.id];
        assert_eq!(row.text, check.text, "{}", check.id);
        let rule = match check.id.get(..4) {
            Some("4.1.") => "HOST021",
            Some("4.2.") => "HOST020",
            _ => "not checked",
        };
        assert_eq!(row.rule, rule, "{}", check.id);
    }
}

#[test]
fn items_rampart_scan_checks_name_their_rule() {
    let rows = table();
    for mc in manifest_checks().unwrap() {
        let row = &rows[&mc.check.id];
        assert_eq!(row.text, mc.check.text, "{}", mc.check.id);
        let rule = match mc.component {
            Component::ApiServer => "CIS001",
            Component::ControllerManager => "CIS002",
            Component::Scheduler => "CIS003",
            Component::Etcd => "CIS004",
        };
        assert_eq!(row.rule, rule, "{}", mc.check.id);
    }
    for fc in rampart_cis::master::file_checks().unwrap() {
        let row = &rows[&fc.check.id];
        assert_eq!(row.text, fc.check.text, "{}", fc.check.id);
        assert_eq!(row.rule, "HOST022", "{}", fc.check.id);
    }
    // And no other row claims a CIS rule.
    let claimed = rows.values().filter(|r| r.rule.starts_with("CIS0")).count();
    assert_eq!(claimed, manifest_checks().unwrap().len());
}
