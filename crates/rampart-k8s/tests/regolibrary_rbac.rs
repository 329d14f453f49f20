//! The RBAC rules against Kubescape's own fixtures (shared/corpus/regolibrary-rbac, an
//! independent labelled corpus: see its SOURCE.md). Kubescape reports subjects through their
//! bindings; rampart reports the Role or ClusterRole that grants the permission. So the oracle
//! is: every role an expected alert goes through (`via` in labels.json) carries the rampart
//! finding of the same permission, for each Kubescape rule that has a rampart counterpart.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rampart_core::Finding;
use rampart_k8s::{ManifestFile, PssOptions, scan};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn corpus() -> PathBuf {
    rampart_testkit::paths::corpus("regolibrary-rbac")
}

/// Kubescape rule → the rampart rule that reports the same permission on the role.
const COUNTERPARTS: [(&str, &str); 8] = [
    ("exec-into-container-v1", "RBAC003"),
    ("rule-can-access-proxy-subresource", "RBAC003"),
    ("rule-can-bind-escalate", "RBAC004"),
    ("rule-can-impersonate-users-groups-v1", "RBAC004"),
    ("rule-can-list-get-secrets-v1", "RBAC002"),
    ("rule-list-all-cluster-admins-v1", "RBAC001"),
    ("workload-with-cluster-takeover-roles", "RBAC002"),
    ("workload-with-administrative-roles", "RBAC001"),
];

fn scan_case(dir: &Path, inputs: &[Value]) -> Vec<Finding> {
    let files: Vec<ManifestFile> = inputs
        .iter()
        .map(|i| {
            let path = dir.join(i.as_str().unwrap());
            let text = std::fs::read_to_string(&path).unwrap();
            let (file, errors) = ManifestFile::load(path.display().to_string(), &text);
            assert!(errors.is_empty(), "{}: {errors:?}", path.display());
            file
        })
        .collect();
    scan(&files, &PssOptions::default()).findings
}

#[test]
fn every_role_behind_an_expected_alert_is_reported() {
    let root = corpus();
    let labels: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("labels.json")).unwrap()).unwrap();
    let mut checked = 0;
    let mut failures = Vec::new();
    for (name, case) in labels["cases"].as_object().unwrap() {
        let rule = case["rule"].as_str().unwrap();
        let Some((_, ours)) = COUNTERPARTS.iter().find(|(k, _)| *k == rule) else {
            continue;
        };
        let dir = root
            .join("rules")
            .join(rule)
            .join("test")
            .join(case["case"].as_str().unwrap());
        let findings = scan_case(&dir, case["inputs"].as_array().unwrap());
        for alert in case["alerts"].as_array().unwrap() {
            for via in alert["via"].as_array().into_iter().flatten() {
                let kind = via["kind"].as_str().unwrap();
                if !matches!(kind, "Role" | "ClusterRole") {
                    continue;
                }
                let role = via["name"].as_str().unwrap();
                checked += 1;
                let found = findings.iter().any(|f| {
                    f.rule_id == *ours
                        && f.location
                            .object
                            .as_ref()
                            .is_some_and(|o| o.kind == kind && o.name == role)
                });
                if !found {
                    failures.push(format!(
                        "{name}: {ours} not reported on {kind} {role}; rampart said {:?}",
                        findings
                            .iter()
                            .map(|f| (f.rule_id, &f.message))
                            .collect::<Vec<_>>()
                    ));
                }
            }
        }
    }
    assert!(
        checked >= 10,
        "only {checked} roles checked: corpus layout changed?"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Where Kubescape passes because the role itself lacks the permission (not for want of a
/// binding), rampart must not report it either.
#[test]
fn roles_without_the_permission_are_not_reported() {
    let root = corpus();
    let case = |rule: &str, case: &str, inputs: &[&str]| {
        let dir = root.join("rules").join(rule).join("test").join(case);
        let inputs: Vec<Value> = inputs.iter().map(|i| Value::from(*i)).collect();
        scan_case(&dir, &inputs)
    };
    let proxy = case(
        "rule-can-access-proxy-subresource",
        "clusterrole-clusterrolebinding",
        &["input/clusterrole.yaml", "input/clusterrolebinding.yaml"],
    );
    assert!(
        !proxy.iter().any(|f| f.rule_id == "RBAC003"),
        "no nodes/proxy in that role: {:?}",
        proxy.iter().map(|f| &f.message).collect::<Vec<_>>()
    );
    let dashboard = case(
        "rule-access-dashboard-subject-v1",
        "clusterrole-rolebinding",
        &["input/cluterrole.yaml", "input/rolebinding.yaml"],
    );
    assert!(
        !dashboard
            .iter()
            .any(|f| matches!(f.rule_id, "RBAC002" | "RBAC003" | "RBAC004")),
        "`*` on pods grants neither secrets, exec nor escalation: {:?}",
        dashboard.iter().map(|f| &f.message).collect::<Vec<_>>()
    );
}
