//! Kubernetes RBAC as the API server's authorizer resolves it (docs/rbac.md).
//!
//! - [`load`]: Roles, ClusterRoles (aggregation resolved as the controller does), RoleBindings,
//!   ClusterRoleBindings, ServiceAccounts, Namespaces and every workload's pod template, from
//!   manifests or a `kubectl get -o json` dump; objects the API server would reject are input
//!   errors with their position, the rest is analysed.
//! - [`authz`]: the authorizer's decision (`authorize`, `allows`), `who_can` and `can`.
//! - [`paths`]: escalation paths from any identity to cluster-admin-equivalent power, each step
//!   a named move with its reason and the binding that grants it.
//! - [`ESCALATION_PATH`] (`RBAC006`): the paths as access-layer findings of `rampart scan`.

#![deny(clippy::indexing_slicing)]

pub mod authz;
pub mod load;
pub mod model;
pub mod paths;

pub use authz::{Grant, GrantView, Identity, Request, Target};
pub use load::{LoadError, load_manifests, load_paths};
pub use model::Cluster;
pub use paths::{Path, Step};

use rampart_core::{
    Assessment, Finding, Layer, Location, RefKind, Reference, Rule, RuleTarget, Severity,
};
use rampart_k8s::ManifestFile;

/// An identity that can reach cluster-admin-equivalent power in steps.
pub static ESCALATION_PATH: Rule = Rule {
    id: "RBAC006",
    name: "rbac-escalation-path",
    title: "identity can escalate to cluster-admin",
    severity: Severity::Critical,
    layer: Layer::Access,
    target: RuleTarget::Kubernetes,
    rationale: "A user, group or service account that can create pods, read Secrets, mint tokens, bind or escalate roles, impersonate, exec into a stronger pod, reach the kubelet, approve certificates or change admission webhooks can turn that into every permission in the cluster, one step at a time. Each path is a chain of moves the authorizer allows today.",
    remediation: "Break the first step of the path: remove the permission it names (or bind it only in a namespace with nothing stronger in it), and keep powerful service accounts out of namespaces others can create pods in.",
    bad_example: "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: dev, namespace: ci}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: pod-creator}\nsubjects:\n- {kind: User, name: alice, apiGroup: rbac.authorization.k8s.io}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: pod-creator}\nrules:\n- {apiGroups: [\"\"], resources: [pods], verbs: [create]}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: deployer}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: everything}\nsubjects:\n- {kind: ServiceAccount, name: deployer, namespace: ci}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: everything}\nrules:\n- {apiGroups: [\"*\"], resources: [\"*\"], verbs: [\"*\"]}\n",
    good_example: "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: dev, namespace: ci}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: pod-reader}\nsubjects:\n- {kind: User, name: alice, apiGroup: rbac.authorization.k8s.io}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: pod-reader}\nrules:\n- {apiGroups: [\"\"], resources: [pods], verbs: [get, list]}\n",
    references: &[
        Reference::new(
            RefKind::CisKubernetes,
            "5.1 RBAC and Service Accounts",
            "https://www.cisecurity.org/benchmark/kubernetes",
        ),
        Reference::new(
            RefKind::Docs,
            "RBAC: privilege escalation prevention",
            "https://kubernetes.io/docs/concepts/security/rbac-good-practices/",
        ),
    ],
};

/// The rules this crate reports.
pub static RULES: &[&Rule] = &[&ESCALATION_PATH];

/// The access-layer assessment of a scan's manifests: every identity named by a binding is a
/// control of [`ESCALATION_PATH`], failed when it has a path. Input problems of RBAC objects are
/// returned too (a scan reports schema violations itself; these are the ones the schema does not
/// catch, such as an unknown subject kind).
pub fn assess(files: &[ManifestFile]) -> (Assessment, Vec<LoadError>) {
    let (cluster, errors) = load_manifests(files);
    let mut out = Assessment::new();
    for b in &cluster.bindings {
        for s in &b.subjects {
            out.assessed(&ESCALATION_PATH, &s.display(), &b.origin.file);
        }
    }
    for path in paths::find(&cluster) {
        let Some(first) = path.steps.iter().find(|s| s.file.is_some()) else {
            continue;
        };
        let location = Location::new(
            first.file.clone().unwrap_or_default(),
            first.line.unwrap_or(0),
            first.column.unwrap_or(0),
        );
        let steps = path.steps.len();
        out.push(Finding::new(
            &ESCALATION_PATH,
            path.start.display(),
            location,
            format!(
                "reaches cluster-admin in {steps} step{}: {}",
                if steps == 1 { "" } else { "s" },
                path.message()
            ),
        ));
    }
    (out, errors)
}
