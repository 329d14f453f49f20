//! The network layer's reachability findings in `rampart scan`: workloads reachable from every
//! namespace or from outside on ports they do not serve, and policies that select nothing.
//! (Egress wider than an image's intent is INT002, in rampart-scan.)

use rampart_core::{
    Assessment, Finding, Layer, Location, RefKind, Reference, Rule, RuleTarget, Severity,
};

use crate::model::Cluster;
use crate::ports::Protocol;
use crate::ports::{ConnSet, PortSet};
use crate::reach::Engine;

const DOCS: Reference = Reference::new(
    RefKind::Docs,
    "rampart: network reachability",
    "docs/netpol.md",
);
const K8S_NP: Reference = Reference::new(
    RefKind::Docs,
    "Kubernetes: Network Policies",
    "https://kubernetes.io/docs/concepts/services-networking/network-policies/",
);

/// A workload reachable from every namespace or from outside on ports it does not serve.
pub static REACHABLE_BEYOND_PORTS: Rule = Rule {
    id: "NET003",
    name: "reachable-beyond-served-ports",
    title: "Workload reachable from every namespace or from outside on ports it does not serve",
    severity: Severity::Medium,
    layer: Layer::Network,
    target: RuleTarget::Kubernetes,
    rationale: "A workload's containers declare the ports they serve. When its ingress is open to every namespace (including ones created later) or to every address outside the cluster on other ports as well, a compromised pod anywhere, or anyone outside, reaches whatever else listens in it: debug endpoints, sidecars, an admin port bound by mistake.",
    remediation: "Select the workload with an ingress NetworkPolicy that admits only its declared ports (`ports: [{port: http}]`) and only the namespaces and pods that need it.",
    bad_example: "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers: [{name: web, image: web, ports: [{name: http, containerPort: 8080}]}]\n",
    good_example: "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers: [{name: web, image: web, ports: [{name: http, containerPort: 8080}]}]\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: web, namespace: shop}\nspec:\n  podSelector: {matchLabels: {app: web}}\n  ingress: [{from: [{namespaceSelector: {}}], ports: [{port: http}]}]\n",
    references: &[DOCS, K8S_NP],
};

/// A NetworkPolicy whose pod selector selects none of the namespace's workloads.
pub static SELECTS_NOTHING: Rule = Rule {
    id: "NET004",
    name: "network-policy-selects-nothing",
    title: "NetworkPolicy selects no pod of its namespace",
    severity: Severity::Low,
    layer: Layer::Network,
    target: RuleTarget::Kubernetes,
    rationale: "A policy whose pod selector matches none of its namespace's workloads protects nothing: usually a label typo or a policy left behind, and the pods it was meant for stay open.",
    remediation: "Fix the selector to the labels of the pods it is meant for (`kubectl get pods --show-labels`), or delete the policy.",
    bad_example: "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers: [{name: web, image: web}]\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: db-in, namespace: shop}\nspec:\n  podSelector: {matchLabels: {app: dbb}}\n  policyTypes: [Ingress]\n",
    good_example: "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers: [{name: web, image: web}]\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: web-in, namespace: shop}\nspec:\n  podSelector: {matchLabels: {app: web}}\n  policyTypes: [Ingress]\n",
    references: &[DOCS, K8S_NP],
};

/// A workload whose policies let it reach every namespace or anywhere outside while its
/// observed flows say it needs far less.
pub static EGRESS_BEYOND_FLOWS: Rule = Rule {
    id: "NET005",
    name: "egress-beyond-observed-flows",
    title: "Workload may reach everywhere while its observed flows go to a few places",
    severity: Severity::Medium,
    layer: Layer::Network,
    target: RuleTarget::Kubernetes,
    rationale: "Flows observed from a workload (by the monitor, or listed by its owners) say where it really talks to. Egress open to every namespace or to every address outside lets a compromised pod move laterally, reach the cloud metadata endpoint or exfiltrate, where its work needs none of that.",
    remediation: "Generate its egress from the observed flows (`rampart netpol generate PATH --flows flows.txt`) and apply it, or narrow its egress rules to the destinations the flows name.",
    bad_example: "# flows: shop/web[Deployment] => 10.30.0.0-10.30.255.255[External] : TCP 5432\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers: [{name: web, image: web}]\n",
    good_example: "# flows: shop/web[Deployment] => 10.30.0.0-10.30.255.255[External] : TCP 5432\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers: [{name: web, image: web}]\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: web-out, namespace: shop}\nspec:\n  podSelector: {matchLabels: {app: web}}\n  egress: [{to: [{ipBlock: {cidr: 10.30.0.0/16}}], ports: [{port: 5432}]}]\n",
    references: &[DOCS, K8S_NP],
};

/// The rules of this module.
pub static RULES: &[&Rule] = &[
    &REACHABLE_BEYOND_PORTS,
    &SELECTS_NOTHING,
    &EGRESS_BEYOND_FLOWS,
];

/// [`assess`], and with observed flows, the workloads whose egress is wider than their flows
/// (NET005): open to every namespace, or to every address outside beyond the flows that go
/// to the whole outside.
pub fn assess_with_flows(cluster: &Cluster, flows: &[crate::generate::Flow]) -> Assessment {
    use crate::reach::Endpoint;
    let mut out = assess(cluster);
    if flows.is_empty() {
        return out;
    }
    let engine = Engine::new(cluster);
    let exposure: std::collections::BTreeMap<_, _> = engine
        .exposure()
        .into_iter()
        .map(|e| (e.workload.clone(), e))
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    for m in &cluster.members {
        if !seen.insert(&m.peer) {
            continue;
        }
        let mine: Vec<&crate::generate::Flow> = flows
            .iter()
            .filter(|f| matches!(&f.src, Endpoint::Workload(p) if *p == m.peer))
            .collect();
        if mine.is_empty() {
            continue; // nothing observed: nothing to compare with
        }
        out.assessed(&EGRESS_BEYOND_FLOWS, &m.subject, &m.file);
        let Some(e) = exposure.get(&m.peer) else {
            continue;
        };
        let everywhere = mine
            .iter()
            .filter(
                |f| matches!(f.dst, Endpoint::External { range } if range == crate::ip::Range::ALL),
            )
            .fold(ConnSet::none(), |acc, f| acc.union(&f.conns));
        let outside = e.egress_to_anywhere.minus(&everywhere);
        let observed = mine.len();
        for (what, open) in [
            ("every namespace", &e.egress_to_all_namespaces),
            ("anywhere outside the cluster", &outside),
        ] {
            if !open.is_empty() {
                out.push(Finding::new(
                    &EGRESS_BEYOND_FLOWS,
                    m.subject.clone(),
                    Location::new(&m.file, m.line, 1),
                    format!(
                        "may reach {what} on {open}, while its {observed} observed flows go to {}",
                        destinations(&mine)
                    ),
                ));
            }
        }
    }
    out
}

fn destinations(flows: &[&crate::generate::Flow]) -> String {
    let mut d: Vec<String> = flows.iter().map(|f| f.dst.to_string()).collect();
    d.sort();
    d.dedup();
    if d.len() > 3 {
        let more = d.len() - 3;
        d.truncate(3);
        d.push(format!("{more} more"));
    }
    d.join(", ")
}

/// The findings of a cluster read from a scan's manifests.
pub fn assess(cluster: &Cluster) -> Assessment {
    let mut out = Assessment::new();
    let engine = Engine::new(cluster);
    let exposure: std::collections::BTreeMap<_, _> = engine
        .exposure()
        .into_iter()
        .map(|e| (e.workload.clone(), e))
        .collect();
    for m in &cluster.members {
        // what its containers serve; a workload that declares no port gives nothing to compare
        // with, and is not reported as checked
        if m.ports.is_empty() {
            continue;
        }
        out.assessed(&REACHABLE_BEYOND_PORTS, &m.subject, &m.file);
        let served = m.ports.iter().fold(ConnSet::none(), |acc, p| {
            acc.union(&ConnSet::of(p.protocol, PortSet::range(p.number, p.number)))
        });
        let Some(e) = exposure.get(&m.peer) else {
            continue;
        };
        for (from, open) in [
            ("every namespace", &e.ingress_from_all_namespaces),
            ("anywhere outside the cluster", &e.ingress_from_anywhere),
        ] {
            let beyond = open.minus(&served);
            if !beyond.is_empty() {
                out.push(Finding::new(
                    &REACHABLE_BEYOND_PORTS,
                    m.subject.clone(),
                    Location::new(&m.file, m.line, 1),
                    format!(
                        "reachable from {from} on {open}, beyond the ports its containers declare ({})",
                        served_text(&served)
                    ),
                ));
            }
        }
    }
    for p in &cluster.policies {
        let in_ns: Vec<_> = cluster
            .members
            .iter()
            .filter(|m| m.peer.namespace == p.namespace)
            .collect();
        let subject = format!("NetworkPolicy {}/{}", p.namespace, p.name);
        if in_ns.is_empty() {
            continue; // the scan holds none of the namespace's workloads: nothing to compare
        }
        out.assessed(&SELECTS_NOTHING, &subject, &p.file);
        if !in_ns.iter().any(|m| p.pod_selector.matches(&m.labels)) {
            out.push(Finding::new(
                &SELECTS_NOTHING,
                subject,
                Location::new(&p.file, p.line, 1),
                format!(
                    "podSelector {} selects none of the {} workloads of namespace {}",
                    p.pod_selector,
                    in_ns.len(),
                    p.namespace
                ),
            ));
        }
    }
    out
}

fn served_text(c: &ConnSet) -> String {
    let parts: Vec<String> = Protocol::ALL
        .iter()
        .filter(|p| !c.ports(**p).is_empty())
        .map(|p| format!("{} {}", p.as_str(), c.ports(*p)))
        .collect();
    parts.join(", ")
}
