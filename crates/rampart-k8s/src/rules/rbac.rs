//! RBAC least privilege: the grants an attacker who steals a service-account token hopes for.

use super::{Ctx, Inventory, Located, cis, network, nsa, rule};
use crate::yaml::{Node, Seg};
use rampart_core::{Assessment, Layer, Rule, Severity};
use std::collections::{HashMap, HashSet};

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

/// One PolicyRule of a Role or ClusterRole, lower-cased, with RBAC's matching: `*` in verbs,
/// apiGroups or resources matches everything, `pods/*` every subresource of pods and `*/scale`
/// one subresource of every resource (as the API server's authorizer matches them).
struct Grant {
    verbs: Vec<String>,
    resources: Vec<String>,
    groups: Vec<String>,
    limited_by_names: bool,
}

impl Grant {
    fn new(node: &Node) -> Grant {
        Grant {
            verbs: strings(node, "verbs"),
            resources: strings(node, "resources"),
            groups: strings(node, "apiGroups"),
            limited_by_names: node
                .get("resourceNames")
                .is_some_and(|n| !n.as_seq().is_empty()),
        }
    }

    fn wild(list: &[String]) -> bool {
        list.iter().any(|v| v == "*")
    }

    /// Verbs of `wanted` this grant allows, `*` expanded.
    fn verbs_of<'w>(&self, wanted: &[&'w str]) -> Vec<&'w str> {
        wanted
            .iter()
            .copied()
            .filter(|w| Self::wild(&self.verbs) || self.verbs.iter().any(|v| v == w))
            .collect()
    }

    /// Whether the grant applies to API group `group` (`""` is the core group). No apiGroups
    /// at all is read as the core group, as older manifests wrote it.
    fn in_group(&self, group: &str) -> bool {
        if self.groups.is_empty() {
            return group.is_empty();
        }
        self.groups.iter().any(|g| g == "*" || g == group)
    }

    /// Whether the grant names `resource` (`pods` or `pods/exec`), directly or by a wildcard.
    fn names_resource(&self, resource: &str) -> bool {
        let (base, sub) = match resource.split_once('/') {
            Some((b, s)) => (b, Some(s)),
            None => (resource, None),
        };
        self.resources.iter().any(|r| {
            r == "*"
                || r == resource
                || match (r.split_once('/'), sub) {
                    (Some((rb, "*")), Some(_)) => rb == base,
                    (Some(("*", rs)), Some(s)) => rs == s,
                    _ => false,
                }
        })
    }

    /// The `(group, resource)` pairs of `targets` this grant covers, by name.
    fn covered<'t>(&self, targets: &[(&str, &'t str)]) -> Vec<&'t str> {
        targets
            .iter()
            .filter(|(g, r)| self.in_group(g) && self.names_resource(r))
            .map(|(_, r)| *r)
            .collect()
    }
}

/// Subresources that run commands in pods or on nodes, with the verbs that reach them:
/// `pods/exec` and `pods/attach` (create; get for the older WebSocket upgrade) and the kubelet
/// API behind `nodes/proxy` (any verb: a GET upgraded to a WebSocket already runs `exec` in
/// every pod of the node).
const EXEC_TARGETS: [(&str, &str, &[&str]); 3] = [
    ("", "pods/exec", &["create", "get"]),
    ("", "pods/attach", &["create", "get"]),
    (
        "",
        "nodes/proxy",
        &["get", "create", "update", "patch", "delete"],
    ),
];

/// What `bind` and `escalate` apply to.
const ROLE_TARGETS: [(&str, &str); 2] = [
    ("rbac.authorization.k8s.io", "roles"),
    ("rbac.authorization.k8s.io", "clusterroles"),
];

/// What `impersonate` applies to.
const IMPERSONATE_TARGETS: [(&str, &str); 5] = [
    ("", "users"),
    ("", "groups"),
    ("", "serviceaccounts"),
    ("authentication.k8s.io", "userextras/scopes"),
    ("authentication.k8s.io", "uids"),
];

/// A weakness of one grant: the rule, its severity, the grant's field to point at, and what
/// it allows (`rule 2 allows ...`).
struct Issue {
    rule: &'static Rule,
    severity: Severity,
    field: &'static str,
    message: String,
}

fn quoted(list: &[String]) -> String {
    format!("{list:?}")
}

/// Every RBAC001-RBAC004 weakness of the grant numbered `n` (1-based).
fn grant_issues(grant: &Grant, n: usize) -> Vec<Issue> {
    let mut out = Vec::new();
    let groups = quoted(&grant.groups);
    let wild_verbs = Grant::wild(&grant.verbs);
    let wild_res = Grant::wild(&grant.resources);
    let wild_groups = Grant::wild(&grant.groups);
    if wild_verbs || wild_res || wild_groups {
        let (what, field) = match (wild_verbs, wild_res) {
            (true, true) => ("every verb on every resource", "resources"),
            (true, false) => ("every verb", "verbs"),
            (false, true) => ("every resource (Secrets included)", "resources"),
            (false, false) => (
                "its resources in every API group, present and future",
                "apiGroups",
            ),
        };
        let severity = if wild_verbs && wild_res && wild_groups {
            Severity::Critical
        } else if wild_verbs || wild_res {
            WILDCARD.severity
        } else {
            Severity::Medium
        };
        out.push(Issue {
            rule: &WILDCARD,
            severity,
            field,
            message: format!("rule {n} grants {what} in apiGroups {groups}"),
        });
    }

    let reads = grant.verbs_of(&["get", "list", "watch"]);
    if !reads.is_empty() && !grant.covered(&[("", "secrets")]).is_empty() {
        let (severity, names) = if grant.limited_by_names {
            (Severity::Low, " (limited by resourceNames)")
        } else {
            (SECRETS_READ.severity, "")
        };
        let via = if grant.resources.iter().any(|r| r == "secrets") {
            String::new()
        } else {
            format!(" through resources {}", quoted(&grant.resources))
        };
        out.push(Issue {
            rule: &SECRETS_READ,
            severity,
            field: "resources",
            message: format!(
                "rule {n} allows {} on secrets{via}{names}",
                reads.join(", ")
            ),
        });
    }

    let exec: Vec<String> = EXEC_TARGETS
        .iter()
        .filter(|(g, r, verbs)| {
            grant.in_group(g) && grant.names_resource(r) && !grant.verbs_of(verbs).is_empty()
        })
        .map(|(_, r, _)| (*r).to_owned())
        .collect();
    if !exec.is_empty() {
        let named = exec.iter().all(|r| grant.resources.contains(r));
        let via = if named {
            String::new()
        } else {
            format!(" through resources {}", quoted(&grant.resources))
        };
        out.push(Issue {
            rule: &POD_EXEC,
            severity: POD_EXEC.severity,
            field: "resources",
            message: format!(
                "rule {n} allows {} on {}{via}",
                quoted(&grant.verbs),
                exec.join(", ")
            ),
        });
    }

    // Written out, escalate/bind/impersonate are reported whatever the resources; through `*`
    // only where the grant covers what they act on.
    let mut danger: Vec<&str> = ["escalate", "bind", "impersonate"]
        .into_iter()
        .filter(|v| grant.verbs.iter().any(|g| g == v))
        .collect();
    let explicit = !danger.is_empty();
    if wild_verbs {
        if !grant.covered(&ROLE_TARGETS).is_empty() {
            for v in ["escalate", "bind"] {
                if !danger.contains(&v) {
                    danger.push(v);
                }
            }
        }
        if !grant.covered(&IMPERSONATE_TARGETS).is_empty() && !danger.contains(&"impersonate") {
            danger.push("impersonate");
        }
    }
    if !danger.is_empty() {
        let via = if explicit {
            ""
        } else {
            " (through verbs [\"*\"])"
        };
        out.push(Issue {
            rule: &ESCALATE,
            severity: ESCALATE.severity,
            field: "verbs",
            message: format!(
                "rule {n} allows {}{via} on {}",
                danger.join(", "),
                quoted(&grant.resources)
            ),
        });
    }
    out
}

/// Aggregated ClusterRoles: each ClusterRole with an `aggregationRule`, and the ClusterRoles of
/// the scan whose labels its `clusterRoleSelectors` match, transitively (an aggregated role can
/// itself be aggregated), as the controller-manager fills their rules in a cluster. Bounded:
/// at most [`MAX_AGGREGATED`] sources per role and [`AGGREGATION_BUDGET`] selector evaluations
/// in all, so hostile input stays linear.
fn aggregation_sources<'i, 'a>(
    inventory: &'i Inventory<'a>,
) -> Vec<(usize, Vec<(usize, &'i Located<'a>)>)> {
    let cluster_roles: Vec<(usize, &Located<'a>)> = inventory
        .objects
        .iter()
        .enumerate()
        .filter(|(_, o)| o.object.kind == "ClusterRole")
        .collect();
    let selectors_of = |o: &Located<'a>| -> Vec<&'a Node> {
        o.object
            .node
            .path(&["aggregationRule", "clusterRoleSelectors"])
            .map(Node::as_seq)
            .unwrap_or(&[])
            .iter()
            .collect()
    };
    let mut budget = AGGREGATION_BUDGET;
    let mut out = Vec::new();
    for &(idx, role) in &cluster_roles {
        if selectors_of(role).is_empty() {
            continue;
        }
        let mut sources: Vec<(usize, &Located<'a>)> = Vec::new();
        let mut seen: HashSet<usize> = HashSet::from([idx]);
        let mut queue = vec![idx];
        while let Some(current) = queue.pop() {
            let Some(cur) = inventory.objects.get(current) else {
                continue;
            };
            let selectors = selectors_of(cur);
            if selectors.is_empty() {
                continue;
            }
            for &(cand_idx, cand) in &cluster_roles {
                if budget == 0 || sources.len() >= MAX_AGGREGATED {
                    break;
                }
                if seen.contains(&cand_idx) {
                    continue;
                }
                let labels = cand.object.labels();
                let mut matched = false;
                for sel in &selectors {
                    if budget == 0 {
                        break;
                    }
                    budget -= 1;
                    if network::selects(sel, labels) {
                        matched = true;
                        break;
                    }
                }
                if matched {
                    seen.insert(cand_idx);
                    sources.push((cand_idx, cand));
                    queue.push(cand_idx);
                }
            }
        }
        sources.sort_by_key(|(i, _)| *i);
        out.push((idx, sources));
    }
    out
}

/// At most this many source ClusterRoles are aggregated into one.
const MAX_AGGREGATED: usize = 256;
/// Label selector evaluations for aggregation, in all.
const AGGREGATION_BUDGET: usize = 200_000;

pub(crate) fn check(inventory: &Inventory<'_>, out: &mut Assessment) {
    let aggregated: HashMap<usize, Vec<(usize, &Located<'_>)>> =
        aggregation_sources(inventory).into_iter().collect();
    for (idx, o) in inventory
        .objects
        .iter()
        .enumerate()
        .filter(|(_, o)| matches!(o.object.kind, "Role" | "ClusterRole"))
    {
        let mut ctx = Ctx::new(o.file, o.object, out);
        for r in [&WILDCARD, &SECRETS_READ, &POD_EXEC, &ESCALATE] {
            ctx.assessed(r);
        }
        let own = o.object.node.get("rules").map(Node::as_seq).unwrap_or(&[]);
        for (i, grant) in own.iter().enumerate() {
            for issue in grant_issues(&Grant::new(grant), i + 1) {
                let pos = o.object.node.pos_of(&[
                    Seg::Key("rules"),
                    Seg::Index(i),
                    Seg::Key(issue.field),
                ]);
                ctx.report_with(issue.rule, issue.severity, pos, None, issue.message);
            }
        }
        let Some(sources) = aggregated.get(&idx) else {
            continue;
        };
        // One finding per rule on the aggregated role, naming the sources (the first few), so a
        // role aggregating hundreds stays one line per weakness.
        let pos = o.object.node.pos_of(&[Seg::Key("aggregationRule")]);
        let mut by_rule: Vec<(&'static Rule, Severity, Vec<String>)> = Vec::new();
        for (_, source) in sources {
            let rules = source
                .object
                .node
                .get("rules")
                .map(Node::as_seq)
                .unwrap_or(&[]);
            for (i, grant) in rules.iter().enumerate() {
                for issue in grant_issues(&Grant::new(grant), i + 1) {
                    let what = format!(
                        "ClusterRole \"{}\" ({}), whose {}",
                        source.object.name, source.file, issue.message
                    );
                    match by_rule.iter_mut().find(|(r, _, _)| r.id == issue.rule.id) {
                        Some((_, severity, list)) => {
                            *severity = (*severity).max(issue.severity);
                            list.push(what);
                        }
                        None => by_rule.push((issue.rule, issue.severity, vec![what])),
                    }
                }
            }
        }
        for (rule, severity, list) in by_rule {
            let shown = list.iter().take(3).cloned().collect::<Vec<_>>().join("; ");
            let more = match list.len().saturating_sub(3) {
                0 => String::new(),
                n => format!("; and {n} more"),
            };
            ctx.report_with(
                rule,
                severity,
                pos,
                None,
                format!("aggregates {shown}{more}"),
            );
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
