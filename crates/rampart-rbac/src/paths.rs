//! Escalation paths to cluster-admin-equivalent power: a graph whose nodes are identities
//! (users, groups, service accounts) and capabilities (acting as any service account of a
//! namespace, code in a namespace's running pods, every permission in a namespace, root on the
//! nodes), and whose edges are named moves an attacker makes, each explained and tied to the
//! binding that grants it. Every permission is decided by the authorizer ([`crate::authz`]).
//!
//! The goal, "cluster-admin-equivalent", is: every verb on every resource of every API group
//! cluster-wide (a ClusterRoleBinding to a rule `*`/`*`/`*`), or membership of
//! `system:masters` (which the API server lets through before RBAC). The moves that reach it in
//! one step (bind, escalate, impersonating `system:masters`, a client certificate through an
//! approved CSR) are edges to it.
//!
//! The search runs once backwards from the goal (breadth-first), so each identity's shortest
//! path costs nothing more: linear in nodes and edges.

use crate::authz::{Identity, Request, SubjectIndex, rule_allows};
use crate::model::{Binding, BindingKind, Cluster, PolicyRule, RoleKind, SubjectKind};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

/// A node of the escalation graph.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Node {
    /// A user, any member of a group, or a service account.
    Identity {
        kind: SubjectKind,
        name: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        namespace: Option<String>,
    },
    /// Acting as any service account of the namespace.
    AnyServiceAccount { namespace: String },
    /// Acting as any service account of any namespace.
    AnyServiceAccountAnywhere,
    /// Code running in every existing pod of the cluster.
    AllRunningPods,
    /// Code running in the namespace's existing pods, as their service accounts.
    RunningPods { namespace: String },
    /// Every permission inside the namespace.
    NamespaceAdmin { namespace: String },
    /// Any user (impersonation without resourceNames).
    AnyUser,
    /// Root on the cluster's nodes: every pod's mounted token.
    Nodes,
    /// Cluster-admin-equivalent.
    ClusterAdmin,
}

impl Node {
    /// How the node reads in a path.
    pub fn display(&self) -> String {
        match self {
            Node::Identity {
                kind,
                name,
                namespace,
            } => match namespace {
                Some(ns) => format!("{} {ns}/{name}", kind.as_str()),
                None => format!("{} {name}", kind.as_str()),
            },
            Node::AnyServiceAccount { namespace } => {
                format!("any service account of namespace {namespace}")
            }
            Node::RunningPods { namespace } => format!("the running pods of namespace {namespace}"),
            Node::AnyServiceAccountAnywhere => "any service account of any namespace".to_owned(),
            Node::AllRunningPods => "every running pod".to_owned(),
            Node::NamespaceAdmin { namespace } => {
                format!("every permission in namespace {namespace}")
            }
            Node::AnyUser => "any user".to_owned(),
            Node::Nodes => "root on the nodes".to_owned(),
            Node::ClusterAdmin => "cluster-admin".to_owned(),
        }
    }

    fn identity(&self) -> Option<Identity> {
        match self {
            Node::Identity {
                kind,
                name,
                namespace,
            } => Some(match kind {
                SubjectKind::User => Identity::user(name),
                SubjectKind::Group => Identity::group_member(name),
                SubjectKind::ServiceAccount => {
                    Identity::service_account(namespace.as_deref().unwrap_or(""), name)
                }
            }),
            _ => None,
        }
    }

    fn sa(namespace: &str, name: &str) -> Node {
        Node::Identity {
            kind: SubjectKind::ServiceAccount,
            name: name.to_owned(),
            namespace: Some(namespace.to_owned()),
        }
    }
}

/// The named moves (edges). docs/rbac.md explains each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Move {
    /// Holds every verb on every resource cluster-wide.
    HoldsEverything,
    /// Member of `system:masters`.
    SystemMasters,
    /// Creates a (Cluster)RoleBinding to a ClusterRole it may `bind`.
    Bind,
    /// `escalate` + update of a role bound to it.
    Escalate,
    /// Impersonates a user, a group or service accounts.
    Impersonate,
    /// Creates pods in a namespace.
    CreatePods,
    /// Creates or changes workloads (Deployments, Jobs...) whose pod template it writes.
    Workloads,
    /// Creates a privileged pod pinned to a node.
    PrivilegedPod,
    /// Reads Secrets (service-account tokens).
    ReadSecrets,
    /// Creates `serviceaccounts/token`.
    CreateToken,
    /// `pods/exec` or `pods/attach`.
    Exec,
    /// Patches running pods (their images).
    PatchPods,
    /// The kubelet API through `nodes/proxy`.
    NodesProxy,
    /// Approves a CSR for a client certificate of `system:masters`.
    SignCertificate,
    /// Changes a mutating admission webhook.
    MutatingWebhook,
    /// Changes a validating admission webhook (sees every object written).
    ValidatingWebhook,
    /// Runs a pod as a service account of the namespace.
    RunsAs,
    /// A running pod's mounted token.
    PodToken,
    /// A running pod that reaches its node (privileged, host namespaces, hostPath).
    HostPod,
    /// Root on a node reads the tokens of the pods on it.
    NodeRoot,
    /// What every permission in a namespace allows.
    NamespaceAdmin,
    /// Impersonation of any user reaches every user.
    AnyUser,
    /// What holds in every namespace holds in each.
    EveryNamespace,
}

impl Move {
    pub fn as_str(self) -> &'static str {
        match self {
            Move::HoldsEverything => "holds-everything",
            Move::SystemMasters => "system-masters",
            Move::Bind => "bind",
            Move::Escalate => "escalate",
            Move::Impersonate => "impersonate",
            Move::CreatePods => "create-pods",
            Move::Workloads => "workloads",
            Move::PrivilegedPod => "privileged-pod",
            Move::ReadSecrets => "read-secrets",
            Move::CreateToken => "create-token",
            Move::Exec => "exec",
            Move::PatchPods => "patch-pods",
            Move::NodesProxy => "nodes-proxy",
            Move::SignCertificate => "sign-certificate",
            Move::MutatingWebhook => "mutating-webhook",
            Move::ValidatingWebhook => "validating-webhook",
            Move::RunsAs => "runs-as",
            Move::PodToken => "pod-token",
            Move::HostPod => "host-pod",
            Move::NodeRoot => "node-root",
            Move::NamespaceAdmin => "namespace-admin",
            Move::AnyUser => "any-user",
            Move::EveryNamespace => "every-namespace",
        }
    }
}

/// An edge: a move from one node to another, why, and the binding or object it comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    pub from: String,
    pub to: String,
    #[serde(rename = "move")]
    pub kind: Move,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
}

/// A path from an identity to cluster-admin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Path {
    pub start: Node,
    pub steps: Vec<Step>,
}

impl Path {
    /// `User alice -[create-pods: ...]-> ... -> cluster-admin`, one line.
    pub fn message(&self) -> String {
        let mut out = self.start.display();
        for s in &self.steps {
            out.push_str(&format!(" -[{}: {}]-> {}", s.kind.as_str(), s.reason, s.to));
        }
        out
    }
}

#[derive(Debug, Clone)]
struct Edge {
    from: usize,
    to: usize,
    kind: Move,
    reason: String,
    origin: Option<(String, u32, u32)>,
}

/// The escalation graph.
#[derive(Debug, Default)]
pub struct Graph {
    nodes: Vec<Node>,
    ids: HashMap<Node, usize>,
    edges: Vec<Edge>,
}

impl Graph {
    fn node(&mut self, n: Node) -> usize {
        if let Some(i) = self.ids.get(&n) {
            return *i;
        }
        let i = self.nodes.len();
        self.ids.insert(n.clone(), i);
        self.nodes.push(n);
        i
    }

    fn edge(&mut self, from: usize, to: Node, kind: Move, reason: String, b: Option<&Binding>) {
        let to = self.node(to);
        if from == to {
            return;
        }
        self.edges.push(Edge {
            from,
            to,
            kind,
            reason,
            origin: b.map(|b| (b.origin.file.clone(), b.origin.line, b.origin.column)),
        });
    }

    /// Number of nodes and edges.
    pub fn size(&self) -> (usize, usize) {
        (self.nodes.len(), self.edges.len())
    }

    /// Every identity's shortest path to cluster-admin, sorted by identity.
    pub fn paths(&self) -> Vec<Path> {
        let Some(&goal) = self.ids.get(&Node::ClusterAdmin) else {
            return Vec::new();
        };
        let mut incoming: Vec<Vec<usize>> = vec![Vec::new(); self.nodes.len()];
        for (e, edge) in self.edges.iter().enumerate() {
            if let Some(list) = incoming.get_mut(edge.to) {
                list.push(e);
            }
        }
        // next[n] = the edge n takes on its shortest way to the goal.
        let mut next: Vec<Option<usize>> = vec![None; self.nodes.len()];
        let mut seen = vec![false; self.nodes.len()];
        if let Some(s) = seen.get_mut(goal) {
            *s = true;
        }
        let mut queue = VecDeque::from([goal]);
        while let Some(n) = queue.pop_front() {
            for &e in incoming.get(n).map(Vec::as_slice).unwrap_or(&[]) {
                let Some(edge) = self.edges.get(e) else {
                    continue;
                };
                if seen.get(edge.from) == Some(&false) {
                    if let Some(s) = seen.get_mut(edge.from) {
                        *s = true;
                    }
                    if let Some(x) = next.get_mut(edge.from) {
                        *x = Some(e);
                    }
                    queue.push_back(edge.from);
                }
            }
        }
        let mut out = Vec::new();
        for (i, node) in self.nodes.iter().enumerate() {
            if !matches!(node, Node::Identity { .. }) {
                continue;
            }
            let mut steps = Vec::new();
            let mut at = i;
            while let Some(Some(e)) = next.get(at) {
                let Some(edge) = self.edges.get(*e) else {
                    break;
                };
                let name = |n: usize| self.nodes.get(n).map(Node::display).unwrap_or_default();
                steps.push(Step {
                    from: name(edge.from),
                    to: name(edge.to),
                    kind: edge.kind,
                    reason: edge.reason.clone(),
                    file: edge.origin.as_ref().map(|o| o.0.clone()),
                    line: edge.origin.as_ref().map(|o| o.1),
                    column: edge.origin.as_ref().map(|o| o.2),
                });
                at = edge.to;
                if steps.len() > self.nodes.len() {
                    break;
                }
            }
            if !steps.is_empty() {
                out.push(Path {
                    start: node.clone(),
                    steps,
                });
            }
        }
        out.sort_by(|a, b| a.start.cmp(&b.start));
        out
    }
}

/// What an identity may do, per capability: cluster-wide (from a ClusterRoleBinding) and in
/// which namespaces (from RoleBindings), with the binding that grants it.
#[derive(Debug, Default, Clone)]
struct Scope {
    cluster: Option<usize>,
    namespaces: BTreeMap<String, usize>,
}

impl Scope {
    fn add(&mut self, binding: &Binding, b: usize) {
        match &binding.namespace {
            None => {
                self.cluster.get_or_insert(b);
            }
            Some(ns) => {
                self.namespaces.entry(ns.clone()).or_insert(b);
            }
        }
    }

    /// Where a namespaced capability holds: every namespace (a ClusterRoleBinding grants it),
    /// else the namespaces of its RoleBindings.
    fn targets(&self) -> Vec<(Option<&str>, usize)> {
        match self.cluster {
            Some(b) => vec![(None, b)],
            None => self
                .namespaces
                .iter()
                .map(|(ns, b)| (Some(ns.as_str()), *b))
                .collect(),
        }
    }

    fn any(&self) -> bool {
        self.cluster.is_some() || !self.namespaces.is_empty()
    }

    /// (namespace, binding) for every namespace it applies in: all of `all` when cluster-wide.
    fn each<'a>(&'a self, all: &'a BTreeSet<String>) -> Vec<(&'a str, usize)> {
        match self.cluster {
            Some(b) => all
                .iter()
                .map(|ns| (ns.as_str(), *self.namespaces.get(ns).unwrap_or(&b)))
                .collect(),
            None => self
                .namespaces
                .iter()
                .map(|(ns, b)| (ns.as_str(), *b))
                .collect(),
        }
    }
}

/// (verb, API group, resource, subresource, name).
type CapRequest = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
);

/// A capability: any of these requests (verb, group, resource, subresource, name), and
/// whether the resource is cluster-scoped (then only ClusterRoleBindings grant it).
struct Cap {
    requests: &'static [CapRequest],
    cluster_scoped: bool,
}

const C_ADMIN: Cap = Cap {
    requests: &[("*", "*", "*", "", "")],
    cluster_scoped: true,
};
const C_CREATE_CRB: Cap = Cap {
    requests: &[(
        "create",
        "rbac.authorization.k8s.io",
        "clusterrolebindings",
        "",
        "",
    )],
    cluster_scoped: true,
};
const C_CREATE_RB: Cap = Cap {
    requests: &[(
        "create",
        "rbac.authorization.k8s.io",
        "rolebindings",
        "",
        "",
    )],
    cluster_scoped: false,
};
const C_BIND_ADMIN: Cap = Cap {
    requests: &[(
        "bind",
        "rbac.authorization.k8s.io",
        "clusterroles",
        "",
        "cluster-admin",
    )],
    cluster_scoped: false,
};
const C_BIND_NS_ADMIN: Cap = Cap {
    requests: &[
        (
            "bind",
            "rbac.authorization.k8s.io",
            "clusterroles",
            "",
            "cluster-admin",
        ),
        (
            "bind",
            "rbac.authorization.k8s.io",
            "clusterroles",
            "",
            "admin",
        ),
    ],
    cluster_scoped: false,
};
const C_ESCALATE_ANY: Cap = Cap {
    requests: &[
        ("escalate", "rbac.authorization.k8s.io", "roles", "", ""),
        (
            "escalate",
            "rbac.authorization.k8s.io",
            "clusterroles",
            "",
            "",
        ),
    ],
    cluster_scoped: false,
};
const C_IMPERSONATE_MASTERS: Cap = Cap {
    requests: &[("impersonate", "", "groups", "", "system:masters")],
    cluster_scoped: true,
};
const C_CREATE_PODS: Cap = Cap {
    requests: &[("create", "", "pods", "", "")],
    cluster_scoped: false,
};
const C_WORKLOADS: Cap = Cap {
    requests: &[
        ("create", "apps", "deployments", "", ""),
        ("update", "apps", "deployments", "", ""),
        ("patch", "apps", "deployments", "", ""),
        ("create", "apps", "statefulsets", "", ""),
        ("update", "apps", "statefulsets", "", ""),
        ("patch", "apps", "statefulsets", "", ""),
        ("create", "apps", "daemonsets", "", ""),
        ("update", "apps", "daemonsets", "", ""),
        ("patch", "apps", "daemonsets", "", ""),
        ("create", "apps", "replicasets", "", ""),
        ("update", "apps", "replicasets", "", ""),
        ("patch", "apps", "replicasets", "", ""),
        ("create", "batch", "jobs", "", ""),
        ("create", "batch", "cronjobs", "", ""),
        ("update", "batch", "cronjobs", "", ""),
        ("patch", "batch", "cronjobs", "", ""),
        ("create", "", "replicationcontrollers", "", ""),
        ("update", "", "replicationcontrollers", "", ""),
        ("patch", "", "replicationcontrollers", "", ""),
    ],
    cluster_scoped: false,
};
const C_SECRETS: Cap = Cap {
    requests: &[
        ("list", "", "secrets", "", ""),
        ("watch", "", "secrets", "", ""),
        ("get", "", "secrets", "", ""),
    ],
    cluster_scoped: false,
};
const C_EXEC: Cap = Cap {
    requests: &[
        ("create", "", "pods", "exec", ""),
        ("create", "", "pods", "attach", ""),
        ("get", "", "pods", "exec", ""),
        ("get", "", "pods", "attach", ""),
    ],
    cluster_scoped: false,
};
const C_PATCH_PODS: Cap = Cap {
    requests: &[
        ("patch", "", "pods", "", ""),
        ("update", "", "pods", "", ""),
    ],
    cluster_scoped: false,
};
const C_NODES_PROXY: Cap = Cap {
    requests: &[
        ("get", "", "nodes", "proxy", ""),
        ("create", "", "nodes", "proxy", ""),
    ],
    cluster_scoped: true,
};
const C_CSR_CREATE: Cap = Cap {
    requests: &[(
        "create",
        "certificates.k8s.io",
        "certificatesigningrequests",
        "",
        "",
    )],
    cluster_scoped: true,
};
const C_CSR_APPROVE: Cap = Cap {
    requests: &[
        (
            "update",
            "certificates.k8s.io",
            "certificatesigningrequests",
            "approval",
            "",
        ),
        (
            "patch",
            "certificates.k8s.io",
            "certificatesigningrequests",
            "approval",
            "",
        ),
    ],
    cluster_scoped: true,
};
const C_SIGNER: Cap = Cap {
    requests: &[
        (
            "approve",
            "certificates.k8s.io",
            "signers",
            "",
            "kubernetes.io/kube-apiserver-client",
        ),
        (
            "approve",
            "certificates.k8s.io",
            "signers",
            "",
            "kubernetes.io/*",
        ),
    ],
    cluster_scoped: true,
};
const C_MUTATING: Cap = Cap {
    requests: &[
        (
            "create",
            "admissionregistration.k8s.io",
            "mutatingwebhookconfigurations",
            "",
            "",
        ),
        (
            "update",
            "admissionregistration.k8s.io",
            "mutatingwebhookconfigurations",
            "",
            "",
        ),
        (
            "patch",
            "admissionregistration.k8s.io",
            "mutatingwebhookconfigurations",
            "",
            "",
        ),
    ],
    cluster_scoped: true,
};
const C_VALIDATING: Cap = Cap {
    requests: &[
        (
            "create",
            "admissionregistration.k8s.io",
            "validatingwebhookconfigurations",
            "",
            "",
        ),
        (
            "update",
            "admissionregistration.k8s.io",
            "validatingwebhookconfigurations",
            "",
            "",
        ),
        (
            "patch",
            "admissionregistration.k8s.io",
            "validatingwebhookconfigurations",
            "",
            "",
        ),
    ],
    cluster_scoped: true,
};

fn rules_allow(rules: &[PolicyRule], cap: &Cap) -> bool {
    cap.requests
        .iter()
        .any(|(verb, group, resource, sub, name)| {
            let req = Request::resource(verb, group, resource, sub, "", name);
            rules.iter().any(|r| rule_allows(r, &req))
        })
}

/// Whether Pod Security admission lets a privileged pod into the namespace (its
/// `pod-security.kubernetes.io/enforce` label is absent or `privileged`).
fn admits_privileged(cluster: &Cluster, namespace: &str) -> bool {
    cluster
        .namespace_labels
        .get(namespace)
        .and_then(|l| l.get("pod-security.kubernetes.io/enforce"))
        .is_none_or(|level| level == "privileged")
}

/// Builds the escalation graph of a cluster.
pub fn graph(cluster: &Cluster) -> Graph {
    let index = SubjectIndex::new(cluster);
    let mut g = Graph::default();
    g.node(Node::ClusterAdmin);
    let namespaces = cluster.namespaces();

    // Identities: every subject, every service account (objects, pods', each namespace's
    // `default`).
    for b in &cluster.bindings {
        for s in &b.subjects {
            g.node(Node::Identity {
                kind: s.kind,
                name: s.name.clone(),
                namespace: s.namespace.clone(),
            });
        }
    }
    let mut sas_by_ns: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for sa in &cluster.service_accounts {
        sas_by_ns
            .entry(sa.namespace.as_str())
            .or_default()
            .insert(sa.name.as_str());
    }
    for p in &cluster.pods {
        sas_by_ns
            .entry(p.namespace.as_str())
            .or_default()
            .insert(p.service_account.as_str());
    }
    for b in &cluster.bindings {
        for s in &b.subjects {
            if s.kind == SubjectKind::ServiceAccount
                && let Some(ns) = &s.namespace
            {
                sas_by_ns
                    .entry(ns.as_str())
                    .or_default()
                    .insert(s.name.as_str());
            }
        }
    }
    for ns in &namespaces {
        sas_by_ns.entry(ns.as_str()).or_default().insert("default");
    }
    for (ns, names) in &sas_by_ns {
        for name in names {
            g.node(Node::sa(ns, name));
        }
    }

    // Structural edges: what acting in a namespace, in its pods, or on the nodes gives.
    for (ns, names) in &sas_by_ns {
        let any = g.node(Node::AnyServiceAccount {
            namespace: (*ns).to_owned(),
        });
        for name in names {
            g.edge(
                any,
                Node::sa(ns, name),
                Move::RunsAs,
                format!("acts as service account {name} of the namespace"),
                None,
            );
        }
    }
    let mut pods_by_ns: BTreeMap<&str, Vec<&crate::model::Pod>> = BTreeMap::new();
    for p in &cluster.pods {
        pods_by_ns.entry(p.namespace.as_str()).or_default().push(p);
    }
    let nodes = g.node(Node::Nodes);
    for (ns, pods) in &pods_by_ns {
        let running = g.node(Node::RunningPods {
            namespace: (*ns).to_owned(),
        });
        g.edge(
            nodes,
            Node::RunningPods {
                namespace: (*ns).to_owned(),
            },
            Move::NodeRoot,
            "root on a node reads the service-account tokens of the pods it runs (kubelet's pod volumes)".to_owned(),
            None,
        );
        let mut seen_sa = BTreeSet::new();
        let mut host = false;
        for p in pods {
            if p.token_mounted && seen_sa.insert(p.service_account.as_str()) {
                g.edge(
                    running,
                    Node::sa(ns, &p.service_account),
                    Move::PodToken,
                    format!(
                        "{} runs as {} with its token mounted ({}:{})",
                        p.display(),
                        p.service_account,
                        p.origin.file,
                        p.origin.line
                    ),
                    None,
                );
            }
            if !host && let Some(why) = p.host_access.first() {
                host = true;
                g.edge(
                    running,
                    Node::Nodes,
                    Move::HostPod,
                    format!(
                        "{} has {why}: a way out to its node ({}:{})",
                        p.display(),
                        p.origin.file,
                        p.origin.line
                    ),
                    None,
                );
            }
        }
    }
    for ns in &namespaces {
        let admin = g.node(Node::NamespaceAdmin {
            namespace: ns.clone(),
        });
        g.edge(
            admin,
            Node::AnyServiceAccount {
                namespace: ns.clone(),
            },
            Move::NamespaceAdmin,
            "creates pods as any service account of the namespace".to_owned(),
            None,
        );
        if pods_by_ns.contains_key(ns.as_str()) {
            g.edge(
                admin,
                Node::RunningPods {
                    namespace: ns.clone(),
                },
                Move::NamespaceAdmin,
                "execs into the namespace's pods".to_owned(),
                None,
            );
        }
        if admits_privileged(cluster, ns) {
            g.edge(
                admin,
                Node::Nodes,
                Move::NamespaceAdmin,
                "creates a privileged pod on a node of its choice (nodeName); no Pod Security enforce label refuses it".to_owned(),
                None,
            );
        }
    }

    // What holds in every namespace: every service account, every namespace's running pods.
    let anywhere = g.node(Node::AnyServiceAccountAnywhere);
    for (ns, names) in &sas_by_ns {
        for name in names {
            g.edge(
                anywhere,
                Node::sa(ns, name),
                Move::RunsAs,
                format!("acts as service account {ns}/{name}"),
                None,
            );
        }
    }
    let all_pods = g.node(Node::AllRunningPods);
    for ns in pods_by_ns.keys() {
        g.edge(
            all_pods,
            Node::RunningPods {
                namespace: (*ns).to_owned(),
            },
            Move::EveryNamespace,
            format!("includes the running pods of namespace {ns}"),
            None,
        );
    }

    // Every identity's moves, from its grants.
    let identities: Vec<(usize, Node)> = g
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| matches!(n, Node::Identity { .. }))
        .map(|(i, n)| (i, n.clone()))
        .collect();
    for (i, node) in identities {
        let Some(identity) = node.identity() else {
            continue;
        };
        identity_moves(&mut g, cluster, &index, &namespaces, i, &node, &identity);
    }
    // Impersonating any user reaches every user.
    if let Some(&any) = g.ids.get(&Node::AnyUser) {
        let users: Vec<Node> = g
            .nodes
            .iter()
            .filter(|n| {
                matches!(
                    n,
                    Node::Identity {
                        kind: SubjectKind::User,
                        ..
                    }
                )
            })
            .cloned()
            .collect();
        for u in users {
            let name = u.display();
            g.edge(any, u, Move::AnyUser, format!("acts as {name}"), None);
        }
    }
    g
}

/// The node "any service account" of a namespace, or of every namespace, and how it reads.
fn any_sa(ns: Option<&str>) -> (Node, String) {
    match ns {
        Some(ns) => (
            Node::AnyServiceAccount {
                namespace: ns.to_owned(),
            },
            ns.to_owned(),
        ),
        None => (
            Node::AnyServiceAccountAnywhere,
            "every namespace".to_owned(),
        ),
    }
}

/// The node "running pods" of a namespace, or of every namespace, and how it reads.
fn running(ns: Option<&str>) -> (Node, String) {
    match ns {
        Some(ns) => (
            Node::RunningPods {
                namespace: ns.to_owned(),
            },
            ns.to_owned(),
        ),
        None => (Node::AllRunningPods, "every namespace".to_owned()),
    }
}

fn binding_text(cluster: &Cluster, b: &Binding) -> String {
    match cluster.role_of(b) {
        Some(r) => format!("{} → {}", b.display(), r.display()),
        None => b.display(),
    }
}

fn identity_moves(
    g: &mut Graph,
    cluster: &Cluster,
    index: &SubjectIndex,
    namespaces: &BTreeSet<String>,
    i: usize,
    node: &Node,
    identity: &Identity,
) {
    if let Node::Identity {
        kind: SubjectKind::Group,
        name,
        ..
    } = node
        && name == "system:masters"
    {
        let named = cluster.bindings.iter().find(|b| {
            b.subjects
                .iter()
                .any(|s| s.kind == SubjectKind::Group && s.name == "system:masters")
        });
        g.edge(
            i,
            Node::ClusterAdmin,
            Move::SystemMasters,
            "system:masters is allowed everything before RBAC is asked".to_owned(),
            named,
        );
    }
    let grants = index.bindings_of(identity);
    if grants.is_empty() {
        return;
    }
    let caps: [&Cap; 17] = [
        &C_ADMIN,
        &C_CREATE_CRB,
        &C_CREATE_RB,
        &C_BIND_ADMIN,
        &C_BIND_NS_ADMIN,
        &C_ESCALATE_ANY,
        &C_IMPERSONATE_MASTERS,
        &C_CREATE_PODS,
        &C_WORKLOADS,
        &C_SECRETS,
        &C_EXEC,
        &C_PATCH_PODS,
        &C_NODES_PROXY,
        &C_CSR_CREATE,
        &C_CSR_APPROVE,
        &C_SIGNER,
        &C_MUTATING,
    ];
    let mut scopes: Vec<Scope> = vec![Scope::default(); caps.len() + 1];
    let mut impersonation: Vec<(usize, &PolicyRule)> = Vec::new();
    let mut tokens: Vec<(usize, &PolicyRule)> = Vec::new();
    for &(b, _) in &grants {
        let Some(binding) = cluster.bindings.get(b) else {
            continue;
        };
        let rules = cluster.rules_of(binding);
        if rules.is_empty() {
            continue;
        }
        let cluster_wide = binding.kind == BindingKind::ClusterRoleBinding;
        for (c, cap) in caps.iter().enumerate() {
            if cap.cluster_scoped && !cluster_wide {
                continue;
            }
            if rules_allow(rules, cap)
                && let Some(s) = scopes.get_mut(c)
            {
                s.add(binding, b);
            }
        }
        if cluster_wide
            && rules_allow(rules, &C_VALIDATING)
            && let Some(s) = scopes.get_mut(caps.len())
        {
            s.add(binding, b);
        }
        for r in rules {
            if r.verbs.iter().any(|v| v == "*" || v == "impersonate") {
                impersonation.push((b, r));
            }
            if r.verbs.iter().any(|v| v == "*" || v == "create") {
                tokens.push((b, r));
            }
        }
    }
    let scope = |c: usize| scopes.get(c).cloned().unwrap_or_default();
    let bind = |b: usize| cluster.bindings.get(b);
    let text = |b: usize| {
        bind(b)
            .map(|b| binding_text(cluster, b))
            .unwrap_or_default()
    };

    // cluster-admin in one step
    if let Some(b) = scope(0).cluster {
        g.edge(
            i,
            Node::ClusterAdmin,
            Move::HoldsEverything,
            format!("every verb on every resource cluster-wide ({})", text(b)),
            bind(b),
        );
    }
    let (crb, bind_admin) = (scope(1), scope(3));
    if let (Some(b1), Some(b2)) = (crb.cluster, bind_admin.cluster) {
        g.edge(
            i,
            Node::ClusterAdmin,
            Move::Bind,
            format!(
                "creates a ClusterRoleBinding to ClusterRole cluster-admin: may create clusterrolebindings ({}) and bind cluster-admin ({})",
                text(b1),
                text(b2)
            ),
            bind(b1),
        );
    }
    if let Some(b) = scope(6).cluster {
        g.edge(
            i,
            Node::ClusterAdmin,
            Move::Impersonate,
            format!("impersonates group system:masters ({})", text(b)),
            bind(b),
        );
    }
    if let (Some(b1), Some(b2), Some(b3)) =
        (scope(13).cluster, scope(14).cluster, scope(15).cluster)
    {
        g.edge(
            i,
            Node::ClusterAdmin,
            Move::SignCertificate,
            format!(
                "creates a CSR for a client certificate in group system:masters, approves it ({}) as signer kubernetes.io/kube-apiserver-client ({}); the controller signs it ({})",
                text(b2),
                text(b3),
                text(b1)
            ),
            bind(b2),
        );
    }
    if let Some(b) = scope(16).cluster {
        g.edge(
            i,
            Node::Nodes,
            Move::MutatingWebhook,
            format!(
                "registers a mutating webhook that rewrites every pod created (privileged, hostPID, any service account) ({})",
                text(b)
            ),
            bind(b),
        );
    }
    if let Some(b) = scope(caps.len()).cluster {
        g.edge(
            i,
            Node::AnyServiceAccountAnywhere,
            Move::ValidatingWebhook,
            format!(
                "registers a validating webhook that receives every object written, service-account token Secrets included ({})",
                text(b)
            ),
            bind(b),
        );
    }
    if let Some(b) = scope(12).cluster {
        g.edge(
            i,
            Node::Nodes,
            Move::NodesProxy,
            format!(
                "nodes/proxy reaches every kubelet's API: exec in any pod of any node ({})",
                text(b)
            ),
            bind(b),
        );
    }
    // escalate: update a role bound to it, with escalate lifting the check on its new rules
    if scope(5).any() {
        for &(b, _) in &grants {
            let Some(binding) = cluster.bindings.get(b) else {
                continue;
            };
            let Some(role) = cluster.role_of(binding) else {
                continue;
            };
            let (resource, ns) = match role.kind {
                RoleKind::ClusterRole => ("clusterroles", ""),
                RoleKind::Role => ("roles", role.namespace.as_deref().unwrap_or("")),
            };
            let can = |verb: &str| {
                cluster.allows(
                    identity,
                    &Request::resource(
                        verb,
                        "rbac.authorization.k8s.io",
                        resource,
                        "",
                        ns,
                        &role.name,
                    ),
                )
            };
            if can("escalate") && (can("update") || can("patch")) {
                let reason = format!(
                    "adds every permission to {}, bound to it by {} (escalate lifts the check)",
                    role.display(),
                    binding.display()
                );
                match &binding.namespace {
                    None => g.edge(i, Node::ClusterAdmin, Move::Escalate, reason, Some(binding)),
                    Some(bns) => g.edge(
                        i,
                        Node::NamespaceAdmin {
                            namespace: bns.clone(),
                        },
                        Move::Escalate,
                        reason,
                        Some(binding),
                    ),
                }
            }
        }
    }
    // namespaced bind: a RoleBinding of admin/cluster-admin in the namespace
    let (rb, bind_ns) = (scope(2), scope(4));
    for (ns, b1) in rb.each(namespaces) {
        let b2 = match bind_ns.cluster {
            Some(b) => Some(b),
            None => bind_ns.namespaces.get(ns).copied(),
        };
        if let Some(b2) = b2 {
            g.edge(
                i,
                Node::NamespaceAdmin {
                    namespace: ns.to_owned(),
                },
                Move::Bind,
                format!(
                    "creates a RoleBinding of ClusterRole admin in {ns} ({}; bind: {})",
                    text(b1),
                    text(b2)
                ),
                bind(b1),
            );
        }
    }
    for (ns, b) in scope(7).targets() {
        let (to, wh) = any_sa(ns);
        g.edge(
            i,
            to,
            Move::CreatePods,
            format!("creates pods in {wh} ({})", text(b)),
            bind(b),
        );
    }
    // A privileged pod: from pod or workload creation, where admission lets it in (one edge).
    let (pod_creators, workload_writers) = (scope(7), scope(8));
    let creators = pod_creators
        .each(namespaces)
        .into_iter()
        .chain(workload_writers.each(namespaces));
    for (ns, b) in creators {
        if admits_privileged(cluster, ns) {
            g.edge(
                i,
                Node::Nodes,
                Move::PrivilegedPod,
                format!(
                    "creates a privileged pod (hostPID, hostPath /) in {ns} pinned to any node with nodeName; no Pod Security enforce label refuses it ({})",
                    text(b)
                ),
                bind(b),
            );
            break;
        }
    }
    for (ns, b) in scope(8).targets() {
        let (to, wh) = any_sa(ns);
        g.edge(
            i,
            to,
            Move::Workloads,
            format!(
                "creates or changes workloads in {wh} whose pod template names any service account ({})",
                text(b)
            ),
            bind(b),
        );
    }
    for (ns, b) in scope(9).targets() {
        let (to, wh) = any_sa(ns);
        g.edge(
            i,
            to,
            Move::ReadSecrets,
            format!(
                "reads the Secrets of {wh}, service-account token Secrets included ({})",
                text(b)
            ),
            bind(b),
        );
    }
    for (ns, b) in scope(10).targets() {
        let (to, wh) = running(ns);
        g.edge(
            i,
            to,
            Move::Exec,
            format!("pods/exec or pods/attach in {wh} ({})", text(b)),
            bind(b),
        );
    }
    for (ns, b) in scope(11).targets() {
        let (to, wh) = running(ns);
        g.edge(
            i,
            to,
            Move::PatchPods,
            format!(
                "patches running pods in {wh}: a new image runs as their service accounts ({})",
                text(b)
            ),
            bind(b),
        );
    }
    // serviceaccounts/token: every account of the namespace, or the named ones
    for (b, rule) in tokens {
        let Some(binding) = cluster.bindings.get(b) else {
            continue;
        };
        let all = Request::resource("create", "", "serviceaccounts", "token", "", "");
        let scope_ns: Vec<&str> = match &binding.namespace {
            Some(ns) => vec![ns.as_str()],
            None => namespaces.iter().map(String::as_str).collect(),
        };
        if rule_allows(rule, &all) {
            let (to, wh) = any_sa(binding.namespace.as_deref());
            g.edge(
                i,
                to,
                Move::CreateToken,
                format!(
                    "creates tokens (serviceaccounts/token) for any service account of {wh} ({})",
                    binding_text(cluster, binding)
                ),
                Some(binding),
            );
        } else {
            for name in &rule.resource_names {
                let named = Request::resource("create", "", "serviceaccounts", "token", "", name);
                if !rule_allows(rule, &named) {
                    continue;
                }
                for ns in &scope_ns {
                    g.edge(
                        i,
                        Node::sa(ns, name),
                        Move::CreateToken,
                        format!(
                            "creates a token for service account {ns}/{name} ({})",
                            binding_text(cluster, binding)
                        ),
                        Some(binding),
                    );
                }
            }
        }
    }
    // impersonation of users, groups and service accounts
    for (b, rule) in impersonation {
        let Some(binding) = cluster.bindings.get(b) else {
            continue;
        };
        let via = binding_text(cluster, binding);
        let cluster_wide = binding.namespace.is_none();
        if cluster_wide {
            let any_user = Request::resource("impersonate", "", "users", "", "", "");
            if rule_allows(rule, &any_user) {
                g.edge(
                    i,
                    Node::AnyUser,
                    Move::Impersonate,
                    format!("impersonates any user ({via})"),
                    Some(binding),
                );
            } else {
                for name in &rule.resource_names {
                    if rule_allows(
                        rule,
                        &Request::resource("impersonate", "", "users", "", "", name),
                    ) {
                        g.edge(
                            i,
                            Node::Identity {
                                kind: SubjectKind::User,
                                name: name.clone(),
                                namespace: None,
                            },
                            Move::Impersonate,
                            format!("impersonates user {name} ({via})"),
                            Some(binding),
                        );
                    }
                }
            }
            for name in &rule.resource_names {
                if rule_allows(
                    rule,
                    &Request::resource("impersonate", "", "groups", "", "", name),
                ) {
                    g.edge(
                        i,
                        Node::Identity {
                            kind: SubjectKind::Group,
                            name: name.clone(),
                            namespace: None,
                        },
                        Move::Impersonate,
                        format!("impersonates group {name} ({via})"),
                        Some(binding),
                    );
                }
            }
        }
        let scope_ns: Vec<&str> = match &binding.namespace {
            Some(ns) => vec![ns.as_str()],
            None => namespaces.iter().map(String::as_str).collect(),
        };
        let any_sa_request = Request::resource("impersonate", "", "serviceaccounts", "", "", "");
        if rule_allows(rule, &any_sa_request) {
            let (to, wh) = any_sa(binding.namespace.as_deref());
            g.edge(
                i,
                to,
                Move::Impersonate,
                format!("impersonates any service account of {wh} ({via})"),
                Some(binding),
            );
        } else {
            for name in &rule.resource_names {
                if !rule_allows(
                    rule,
                    &Request::resource("impersonate", "", "serviceaccounts", "", "", name),
                ) {
                    continue;
                }
                for ns in &scope_ns {
                    g.edge(
                        i,
                        Node::sa(ns, name),
                        Move::Impersonate,
                        format!("impersonates service account {ns}/{name} ({via})"),
                        Some(binding),
                    );
                }
            }
        }
    }
}

/// Every identity's shortest escalation path to cluster-admin.
pub fn find(cluster: &Cluster) -> Vec<Path> {
    graph(cluster).paths()
}

/// The paths as a Graphviz DOT graph (each node once, each edge once, labelled by its move).
pub fn dot(paths: &[Path]) -> String {
    let mut nodes: BTreeSet<String> = BTreeSet::new();
    let mut edges: BTreeSet<(String, String, &'static str)> = BTreeSet::new();
    for p in paths {
        nodes.insert(p.start.display());
        for s in &p.steps {
            nodes.insert(s.from.clone());
            nodes.insert(s.to.clone());
            edges.insert((s.from.clone(), s.to.clone(), s.kind.as_str()));
        }
    }
    let q = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
    let mut out = String::from(
        "digraph rbac_paths {\n  rankdir=LR;\n  node [shape=box, fontname=\"sans-serif\"];\n",
    );
    for n in &nodes {
        let style = if n == "cluster-admin" {
            " [style=filled, fillcolor=\"#f4cccc\"]"
        } else {
            ""
        };
        out.push_str(&format!("  {}{style};\n", q(n)));
    }
    for (a, b, label) in &edges {
        out.push_str(&format!("  {} -> {} [label={}];\n", q(a), q(b), q(label)));
    }
    out.push_str("}\n");
    out
}
