//! RBAC least privilege: the grants an attacker who steals a service-account token hopes for.

use super::{Ctx, Inventory, cis, nsa, rule};
use crate::yaml::{Node, Seg};
use rampart_core::{Assessment, Layer, Rule, Severity};

macro_rules! role {
    ($rules:literal) => {
        concat!("apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: app, namespace: shop}\nrules:\n", $rules)
    };
}

pub static WILDCARD: Rule = rule(
    "RBAC001",
    "rbac-wildcard",
    "RBAC rule grants wildcards",
    Severity::High,
    Layer::Access,
    [
        "`*` in verbs or resources grants everything, including what will be added to the API later; it is never least privilege.",
        "List the exact resources and verbs the subject needs.",
        role!("- apiGroups: [\"\"]\n  resources: [\"*\"]\n  verbs: [\"*\"]\n"),
        role!("- apiGroups: [\"\"]\n  resources: [configmaps]\n  verbs: [get, list]\n"),
    ],
    &[
        cis("5.1.3 Minimize wildcard use in Roles and ClusterRoles"),
        nsa("Authentication and authorization"),
    ],
);

pub static SECRETS_READ: Rule = rule(
    "RBAC002",
    "rbac-secrets-read",
    "RBAC rule reads Secrets",
    Severity::High,
    Layer::Access,
    [
        "get/list/watch on Secrets reveals every credential in scope, including other service accounts' tokens: a short path to privilege escalation.",
        "Grant `get` on specific secrets with `resourceNames`, or mount the secret into the pod instead of reading it through the API.",
        role!("- apiGroups: [\"\"]\n  resources: [secrets]\n  verbs: [get, list, watch]\n"),
        role!("- apiGroups: [\"\"]\n  resources: [configmaps]\n  verbs: [get]\n"),
    ],
    &[
        cis("5.1.2 Minimize access to secrets"),
        nsa("Authentication and authorization"),
    ],
);

pub static POD_EXEC: Rule = rule(
    "RBAC003",
    "rbac-pod-exec",
    "RBAC rule allows exec/attach into pods",
    Severity::High,
    Layer::Access,
    [
        "`pods/exec` and `pods/attach` give a shell in any pod in scope, with that pod's identity, mounts and secrets.",
        "Remove `pods/exec` and `pods/attach` from roles that applications use; grant them only to break-glass human roles.",
        role!("- apiGroups: [\"\"]\n  resources: [pods/exec]\n  verbs: [create]\n"),
        role!("- apiGroups: [\"\"]\n  resources: [pods]\n  verbs: [get, list]\n"),
    ],
    &[
        cis("5.1.4 Minimize access to create pods"),
        nsa("Authentication and authorization"),
    ],
);

pub static ESCALATE: Rule = rule(
    "RBAC004",
    "rbac-escalate-bind-impersonate",
    "RBAC rule allows escalate, bind or impersonate",
    Severity::Critical,
    Layer::Access,
    [
        "`escalate` and `bind` let a subject grant itself permissions it does not have; `impersonate` lets it act as any user, group or service account. Each is a path to cluster-admin.",
        "Remove these verbs; reserve them for the cluster's own administration.",
        role!(
            "- apiGroups: [rbac.authorization.k8s.io]\n  resources: [roles]\n  verbs: [escalate, bind]\n"
        ),
        role!("- apiGroups: [rbac.authorization.k8s.io]\n  resources: [roles]\n  verbs: [get]\n"),
    ],
    &[
        cis("5.1.8 Limit use of the Bind, Impersonate and Escalate permissions"),
        nsa("Authentication and authorization"),
    ],
);

pub static CLUSTER_ADMIN: Rule = rule(
    "RBAC005",
    "rbac-cluster-admin-binding",
    "cluster-admin bound to a non-system subject",
    Severity::Critical,
    Layer::Access,
    [
        "cluster-admin can do anything anywhere. Bound to a user, group or service account it turns one stolen credential into the whole cluster.",
        "Bind a narrow Role instead; keep cluster-admin for `system:masters` break-glass access.",
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: ci}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\nsubjects:\n- {kind: ServiceAccount, name: deployer, namespace: ci}\n",
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: ci}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: deployer}\nsubjects:\n- {kind: ServiceAccount, name: deployer, namespace: ci}\n",
    ],
    &[
        cis("5.1.1 Ensure that the cluster-admin role is only used where required"),
        nsa("Authentication and authorization"),
    ],
);

pub static RULES: &[&Rule] = &[
    &WILDCARD,
    &SECRETS_READ,
    &POD_EXEC,
    &ESCALATE,
    &CLUSTER_ADMIN,
];

fn strings(node: &Node, key: &str) -> Vec<String> {
    node.get(key)
        .map(Node::as_seq)
        .unwrap_or(&[])
        .iter()
        .filter_map(Node::as_str)
        .map(str::to_ascii_lowercase)
        .collect()
}

pub(crate) fn check(inventory: &Inventory<'_>, out: &mut Assessment) {
    for o in inventory
        .objects
        .iter()
        .filter(|o| matches!(o.object.kind, "Role" | "ClusterRole"))
    {
        let mut ctx = Ctx::new(o.file, o.object, out);
        for r in [&WILDCARD, &SECRETS_READ, &POD_EXEC, &ESCALATE] {
            ctx.assessed(r);
        }
        let Some(rules) = o.object.node.get("rules") else {
            continue;
        };
        for (i, grant) in rules.as_seq().iter().enumerate() {
            let verbs = strings(grant, "verbs");
            let resources = strings(grant, "resources");
            let groups = strings(grant, "apiGroups");
            let at = |field: &str| {
                o.object
                    .node
                    .pos_of(&[Seg::Key("rules"), Seg::Index(i), Seg::Key(field)])
            };
            let any_verb = |wanted: &[&str]| {
                verbs
                    .iter()
                    .any(|v| v == "*" || wanted.contains(&v.as_str()))
            };
            let core = groups.is_empty() || groups.iter().any(|g| g.is_empty() || g == "*");
            let names = if grant.get("resourceNames").is_some() {
                " (limited by resourceNames)"
            } else {
                ""
            };

            let wild_verbs = verbs.iter().any(|v| v == "*");
            let wild_res = resources.iter().any(|r| r == "*");
            if wild_verbs || wild_res {
                let (what, field) = match (wild_verbs, wild_res) {
                    (true, true) => ("every verb on every resource", "resources"),
                    (true, false) => ("every verb", "verbs"),
                    _ => ("every resource (Secrets included)", "resources"),
                };
                let sev = if wild_verbs && wild_res && groups.iter().any(|g| g == "*") {
                    Severity::Critical
                } else {
                    WILDCARD.severity
                };
                ctx.report_with(
                    &WILDCARD,
                    sev,
                    at(field),
                    None,
                    format!("rule {} grants {what} in apiGroups {:?}", i + 1, groups),
                );
            }
            if core
                && resources.iter().any(|r| r == "secrets")
                && any_verb(&["get", "list", "watch"])
            {
                let sev = if names.is_empty() {
                    SECRETS_READ.severity
                } else {
                    Severity::Low
                };
                ctx.report_with(
                    &SECRETS_READ,
                    sev,
                    at("resources"),
                    None,
                    format!("rule {} allows {:?} on secrets{names}", i + 1, verbs),
                );
            }
            let exec: Vec<&String> = resources
                .iter()
                .filter(|r| matches!(r.as_str(), "pods/exec" | "pods/attach" | "pods/*"))
                .collect();
            if core && !exec.is_empty() && any_verb(&["create", "get"]) {
                ctx.report(
                    &POD_EXEC,
                    at("resources"),
                    None,
                    format!(
                        "rule {} allows {:?} on {}",
                        i + 1,
                        verbs,
                        exec.iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
            }
            let danger: Vec<&String> = verbs
                .iter()
                .filter(|v| matches!(v.as_str(), "escalate" | "bind" | "impersonate"))
                .collect();
            if !danger.is_empty() {
                ctx.report(
                    &ESCALATE,
                    at("verbs"),
                    None,
                    format!(
                        "rule {} allows {} on {:?}",
                        i + 1,
                        danger
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                        resources
                    ),
                );
            }
        }
    }

    for o in inventory
        .objects
        .iter()
        .filter(|o| matches!(o.object.kind, "RoleBinding" | "ClusterRoleBinding"))
    {
        let mut ctx = Ctx::new(o.file, o.object, out);
        ctx.assessed(&CLUSTER_ADMIN);
        if o.object.node.str_at(&["roleRef", "name"]) != Some("cluster-admin") {
            continue;
        }
        for (i, s) in o
            .object
            .node
            .get("subjects")
            .map(Node::as_seq)
            .unwrap_or(&[])
            .iter()
            .enumerate()
        {
            let name = s.str_at(&["name"]).unwrap_or("");
            let kind = s.str_at(&["kind"]).unwrap_or("");
            let system = kind != "ServiceAccount" && name.starts_with("system:");
            if !system {
                let pos = o.object.node.pos_of(&[Seg::Key("subjects"), Seg::Index(i)]);
                let who = match s.str_at(&["namespace"]) {
                    Some(ns) => format!("{kind} {ns}/{name}"),
                    None => format!("{kind} {name}"),
                };
                ctx.report(
                    &CLUSTER_ADMIN,
                    pos,
                    None,
                    format!("{} binds cluster-admin to {who}", o.object.kind),
                );
            }
        }
    }
}
