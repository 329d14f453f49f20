//! Network segmentation: every namespace that runs pods should start from default deny, which
//! in Kubernetes means every pod is selected by at least one NetworkPolicy for each direction.

use super::{Inventory, nsa, rule};
use crate::objects::Workload;
use crate::yaml::{Node, Seg};
use rampart_core::{
    Assessment, Finding, K8sObject, Layer, Location, RefKind, Reference, Rule, Severity,
};
use std::collections::{BTreeMap, HashSet};

const NP_DOCS: Reference = Reference::new(
    RefKind::Docs,
    "Network Policies: default policies",
    "https://kubernetes.io/docs/concepts/services-networking/network-policies/#default-policies",
);

pub static NO_INGRESS_POLICY: Rule = rule(
    "NET001",
    "no-default-deny-ingress",
    "Pods not selected by any ingress NetworkPolicy",
    Severity::Medium,
    Layer::Network,
    [
        "A pod no ingress NetworkPolicy selects accepts connections from every pod in the cluster: one compromised pod can reach it directly.",
        "Add a default-deny ingress policy to the namespace (`podSelector: {}`, `policyTypes: [Ingress]`), then allow the flows the workload needs.",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers: [{name: web, image: web}]\n",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers: [{name: web, image: web}]\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: default-deny, namespace: shop}\nspec:\n  podSelector: {}\n  policyTypes: [Ingress, Egress]\n",
    ],
    &[NP_DOCS, nsa("Network separation and hardening")],
);

pub static NO_EGRESS_POLICY: Rule = rule(
    "NET002",
    "no-default-deny-egress",
    "Pods not selected by any egress NetworkPolicy",
    Severity::Low,
    Layer::Network,
    [
        "Without an egress policy a compromised pod can reach every service in the cluster, the cloud metadata endpoint and the internet: exfiltration and lateral movement are unrestricted.",
        "Add a default-deny egress policy (`podSelector: {}`, `policyTypes: [Egress]`) and allow DNS and the destinations the workload needs.",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers: [{name: web, image: web}]\n",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers: [{name: web, image: web}]\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: default-deny, namespace: shop}\nspec:\n  podSelector: {}\n  policyTypes: [Ingress, Egress]\n",
    ],
    &[NP_DOCS, nsa("Network separation and hardening")],
);

pub static RULES: &[&Rule] = &[&NO_INGRESS_POLICY, &NO_EGRESS_POLICY];

/// Does a LabelSelector select a set of labels? Supports `matchLabels` and `matchExpressions`
/// (`In`, `NotIn`, `Exists`, `DoesNotExist`); an empty selector selects everything and an
/// unknown operator selects nothing (as the API server would reject it).
pub fn selects(selector: &Node, labels: &[(Node, Node)]) -> bool {
    let label = |k: &str| {
        labels
            .iter()
            .find(|(lk, _)| lk.as_str() == Some(k))
            .and_then(|(_, v)| v.as_str())
    };
    let labels_ok = selector
        .get("matchLabels")
        .map(Node::entries)
        .unwrap_or(&[])
        .iter()
        .all(|(k, v)| k.as_str().is_some_and(|k| label(k) == v.as_str()));
    let exprs_ok = selector
        .get("matchExpressions")
        .map(Node::as_seq)
        .unwrap_or(&[])
        .iter()
        .all(|e| {
            let Some(key) = e.str_at(&["key"]) else {
                return false;
            };
            let values: Vec<&str> = e
                .get("values")
                .map(Node::as_seq)
                .unwrap_or(&[])
                .iter()
                .filter_map(Node::as_str)
                .collect();
            match e.str_at(&["operator"]) {
                Some("In") => label(key).is_some_and(|v| values.contains(&v)),
                Some("NotIn") => label(key).is_none_or(|v| !values.contains(&v)),
                Some("Exists") => label(key).is_some(),
                Some("DoesNotExist") => label(key).is_none(),
                _ => false,
            }
        });
    labels_ok && exprs_ok
}

/// `{}` (or a selector with no terms): selects every pod of the namespace.
fn is_empty_selector(selector: &Node) -> bool {
    selector
        .get("matchLabels")
        .is_none_or(|m| m.entries().is_empty())
        && selector
            .get("matchExpressions")
            .is_none_or(|m| m.as_seq().is_empty())
}

/// The directions a NetworkPolicy governs, per the API defaults: Ingress always unless
/// `policyTypes` says otherwise; Egress when listed or when `egress` rules exist.
pub fn directions(policy: &Node) -> (bool, bool) {
    match policy.path(&["spec", "policyTypes"]) {
        Some(types) => {
            let has = |t: &str| types.as_seq().iter().any(|n| n.as_str() == Some(t));
            (has("Ingress"), has("Egress"))
        }
        None => (true, policy.path(&["spec", "egress"]).is_some()),
    }
}

pub(crate) fn check(inventory: &Inventory<'_>, out: &mut Assessment) {
    // Namespace -> workloads (file, workload) in it.
    let mut by_ns: BTreeMap<&str, Vec<(&str, Workload<'_>)>> = BTreeMap::new();
    for (file, w) in inventory.workloads() {
        by_ns
            .entry(w.object.effective_namespace())
            .or_default()
            .push((file, w));
    }
    for (ns, workloads) in by_ns {
        let policies: Vec<&Node> = inventory
            .network_policies(ns)
            .map(|p| p.object.node)
            .collect();
        let subject = format!("Namespace {ns}");
        for (rule, ingress) in [(&NO_INGRESS_POLICY, true), (&NO_EGRESS_POLICY, false)] {
            let Some((first_file, _)) = workloads.first() else {
                continue;
            };
            out.assessed(rule, &subject, first_file);
            // The selectors of the policies governing this direction, each distinct one once
            // (aliases and copies repeat them); an empty selector covers every pod.
            let mut seen = HashSet::new();
            let selectors: Vec<&Node> = policies
                .iter()
                .filter(|p| {
                    let (i, e) = directions(p);
                    if ingress { i } else { e }
                })
                .filter_map(|p| p.path(&["spec", "podSelector"]))
                .filter(|sel| seen.insert(sel.to_json().to_string()))
                .collect();
            let covers_all = selectors.iter().any(|sel| is_empty_selector(sel));
            let uncovered: Vec<&(&str, Workload<'_>)> = if covers_all {
                Vec::new()
            } else {
                workloads
                    .iter()
                    .filter(|(_, w)| !selectors.iter().any(|sel| selects(sel, w.pod_labels())))
                    .collect()
            };
            let Some((file, w)) = uncovered.first() else {
                continue;
            };
            const SHOWN: usize = 10;
            let mut names: Vec<String> = uncovered
                .iter()
                .take(SHOWN)
                .map(|(_, w)| format!("{} {}", w.object.kind, w.object.name))
                .collect();
            if uncovered.len() > SHOWN {
                names.push(format!("and {} more", uncovered.len() - SHOWN));
            }
            let direction = if ingress { "ingress" } else { "egress" };
            let message = if policies.is_empty() {
                format!(
                    "namespace \"{ns}\" has no NetworkPolicy: {} accept{} all {direction} traffic",
                    names.join(", "),
                    if uncovered.len() == 1 { "s" } else { "" }
                )
            } else {
                format!(
                    "no {direction} NetworkPolicy in namespace \"{ns}\" selects {}",
                    names.join(", ")
                )
            };
            let pos = w.object.node.pos_of(&[Seg::Key("metadata")]);
            let location = Location {
                file: (*file).to_owned(),
                line: pos.line,
                column: pos.column,
                object: Some(K8sObject {
                    kind: "Namespace".to_owned(),
                    namespace: None,
                    name: ns.to_owned(),
                    container: None,
                }),
                stage: None,
            };
            out.push(Finding::new(rule, subject.clone(), location, message));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::selects;
    use crate::yaml::{Limits, load};

    #[test]
    fn selector_semantics() {
        let doc = load(
            "sel:\n  matchLabels: {app: web}\n  matchExpressions:\n  - {key: tier, operator: In, values: [front, edge]}\n  - {key: legacy, operator: DoesNotExist}\nmatching: {app: web, tier: edge}\nno1: {app: web, tier: back}\nno2: {app: web, tier: front, legacy: 'x'}\nempty: {}\n",
            Limits::default(),
        );
        let root = &doc.documents[0].root;
        let sel = root.get("sel").unwrap_or(root);
        let labels = |k: &str| root.get(k).map(|n| n.entries()).unwrap_or(&[]);
        assert!(selects(sel, labels("matching")));
        assert!(!selects(sel, labels("no1")));
        assert!(!selects(sel, labels("no2")));
        let all = root.get("empty").unwrap_or(root);
        assert!(
            selects(all, labels("no2")),
            "empty selector selects everything"
        );
    }
}
