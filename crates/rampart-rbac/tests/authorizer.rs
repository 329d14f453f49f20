//! The authorizer's semantics, rule by rule, against what the Kubernetes RBAC authorizer decides
//! (plugin/pkg/auth/authorizer/rbac, pkg/apis/rbac/v1/evaluation_helpers.go), and the agreement
//! of who-can, can and authorize on generated clusters.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use proptest::prelude::*;
use rampart_k8s::ManifestFile;
use rampart_rbac::authz::{parse_target, rule_allows};
use rampart_rbac::model::{Cluster, PolicyRule};
use rampart_rbac::{Identity, Request, Target, load_manifests};

fn cluster(yaml: &str) -> Cluster {
    common::cluster("test.yaml", yaml)
}

fn rule(verbs: &[&str], groups: &[&str], resources: &[&str], names: &[&str]) -> PolicyRule {
    let v = |l: &[&str]| l.iter().map(|s| (*s).to_owned()).collect();
    PolicyRule {
        verbs: v(verbs),
        api_groups: v(groups),
        resources: v(resources),
        resource_names: v(names),
        non_resource_urls: Vec::new(),
    }
}

fn url_rule(verbs: &[&str], urls: &[&str]) -> PolicyRule {
    let v = |l: &[&str]| l.iter().map(|s| (*s).to_owned()).collect();
    PolicyRule {
        verbs: v(verbs),
        non_resource_urls: v(urls),
        ..PolicyRule::default()
    }
}

fn req(verb: &str, group: &str, resource: &str, sub: &str, name: &str) -> Request {
    Request::resource(verb, group, resource, sub, "ns", name)
}

#[test]
fn rule_matching_follows_the_upstream_helpers() {
    // (rule, request, allowed), each a behaviour of VerbMatches / APIGroupMatches /
    // ResourceMatches / ResourceNameMatches / NonResourceURLMatches.
    let cases: Vec<(PolicyRule, Request, bool, &str)> = vec![
        (
            rule(&["get"], &[""], &["pods"], &[]),
            req("get", "", "pods", "", ""),
            true,
            "exact",
        ),
        (
            rule(&["get"], &[""], &["pods"], &[]),
            req("list", "", "pods", "", ""),
            false,
            "other verb",
        ),
        (
            rule(&["*"], &[""], &["pods"], &[]),
            req("escalate", "", "pods", "", ""),
            true,
            "verb *",
        ),
        (
            rule(&["get"], &["*"], &["deployments"], &[]),
            req("get", "apps", "deployments", "", ""),
            true,
            "group *",
        ),
        (
            rule(&["get"], &[""], &["deployments"], &[]),
            req("get", "apps", "deployments", "", ""),
            false,
            "core group is not apps",
        ),
        (
            rule(&["get"], &[], &["pods"], &[]),
            req("get", "", "pods", "", ""),
            false,
            "no apiGroups matches no group",
        ),
        (
            rule(&["get"], &[""], &["*"], &[]),
            req("get", "", "pods", "exec", ""),
            true,
            "resource * covers subresources",
        ),
        (
            rule(&["get"], &[""], &["pods"], &[]),
            req("get", "", "pods", "log", ""),
            false,
            "pods does not cover pods/log",
        ),
        (
            rule(&["get"], &[""], &["pods/log"], &[]),
            req("get", "", "pods", "log", ""),
            true,
            "resource/subresource",
        ),
        (
            rule(&["get"], &[""], &["pods/log"], &[]),
            req("get", "", "pods", "", ""),
            false,
            "pods/log does not cover pods",
        ),
        (
            rule(&["get"], &["*"], &["*/scale"], &[]),
            req("get", "apps", "deployments", "scale", ""),
            true,
            "*/subresource",
        ),
        (
            rule(&["get"], &["*"], &["*/scale"], &[]),
            req("get", "apps", "deployments", "", ""),
            false,
            "*/scale is not the resource",
        ),
        (
            rule(&["create"], &[""], &["pods/*"], &[]),
            req("create", "", "pods", "exec", ""),
            false,
            "no resource/* wildcard",
        ),
        (
            rule(&["get"], &[""], &["secrets"], &["a"]),
            req("get", "", "secrets", "", "a"),
            true,
            "named",
        ),
        (
            rule(&["get"], &[""], &["secrets"], &["a"]),
            req("get", "", "secrets", "", "b"),
            false,
            "other name",
        ),
        (
            rule(&["list"], &[""], &["secrets"], &["a"]),
            req("list", "", "secrets", "", ""),
            false,
            "no name never matches resourceNames",
        ),
        (
            rule(&["get"], &[""], &["secrets"], &["*"]),
            req("get", "", "secrets", "", "a"),
            false,
            "resourceNames * is a name, not a wildcard",
        ),
        (
            rule(&["get"], &[""], &["secrets"], &[]),
            req("get", "", "secrets", "", "anything"),
            true,
            "empty resourceNames: every name",
        ),
        (
            url_rule(&["get"], &["/healthz"]),
            Request::non_resource("get", "/healthz"),
            true,
            "url exact",
        ),
        (
            url_rule(&["get"], &["/healthz"]),
            Request::non_resource("get", "/healthz/ping"),
            false,
            "url is not a prefix without *",
        ),
        (
            url_rule(&["get"], &["/logs/*"]),
            Request::non_resource("get", "/logs/kube.log"),
            true,
            "url prefix *",
        ),
        (
            url_rule(&["get"], &["/logs*"]),
            Request::non_resource("get", "/logsx"),
            true,
            "prefix * at any character",
        ),
        (
            url_rule(&["get"], &["*"]),
            Request::non_resource("get", "/anything"),
            true,
            "url *",
        ),
        (
            url_rule(&["get"], &["/healthz"]),
            Request::non_resource("post", "/healthz"),
            false,
            "url other verb",
        ),
        (
            rule(&["get"], &["*"], &["*"], &[]),
            Request::non_resource("get", "/healthz"),
            false,
            "resource rules never allow URLs",
        ),
        (
            url_rule(&["*"], &["*"]),
            req("get", "", "pods", "", ""),
            false,
            "URL rules never allow resources",
        ),
        (
            rule(&["GET"], &[""], &["pods"], &[]),
            req("get", "", "pods", "", ""),
            false,
            "case-sensitive",
        ),
    ];
    for (r, q, allowed, what) in cases {
        assert_eq!(rule_allows(&r, &q), allowed, "{what}: {r:?} {q:?}");
    }
}

const ROLES: &str = r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: pod-reader}
rules:
- {apiGroups: [""], resources: [pods], verbs: [get, list]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: health}
rules:
- {nonResourceURLs: ["/healthz", "/logs/*"], verbs: [get]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: secrets, namespace: shop}
rules:
- {apiGroups: [""], resources: [secrets], verbs: [get]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: read-pods, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: pod-reader}
subjects:
- {kind: User, name: alice, apiGroup: rbac.authorization.k8s.io}
- {kind: ServiceAccount, name: web}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: secrets, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: secrets}
subjects:
- {kind: Group, name: "system:serviceaccounts:shop", apiGroup: rbac.authorization.k8s.io}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: health-in-ns, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: health}
subjects:
- {kind: User, name: bob, apiGroup: rbac.authorization.k8s.io}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: health}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: health}
subjects:
- {kind: Group, name: "system:authenticated", apiGroup: rbac.authorization.k8s.io}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: missing, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: pod-reader}
subjects:
- {kind: User, name: carol, apiGroup: rbac.authorization.k8s.io}
"#;

#[test]
fn bindings_subjects_and_scopes_follow_the_authorizer() {
    let c = cluster(ROLES);
    let pods = |ns: &str| Request::resource("list", "", "pods", "", ns, "");
    let alice = Identity::user("alice");
    // A RoleBinding of a ClusterRole grants it only in the binding's namespace.
    assert!(c.allows(&alice, &pods("shop")));
    assert!(!c.allows(&alice, &pods("other")));
    assert!(!c.allows(&alice, &pods("")), "not cluster-wide");
    // A ServiceAccount subject without a namespace takes the binding's.
    let web = Identity::service_account("shop", "web");
    assert!(c.allows(&web, &pods("shop")));
    assert!(!c.allows(&Identity::service_account("other", "web"), &pods("shop")));
    // Service accounts are in system:serviceaccounts:NS.
    let secret = Request::resource("get", "", "secrets", "", "shop", "x");
    assert!(c.allows(&Identity::service_account("shop", "any"), &secret));
    assert!(!c.allows(&Identity::service_account("other", "any"), &secret));
    assert!(!c.allows(&alice, &secret));
    // A RoleBinding's Role is looked up in its namespace; a missing one grants nothing and is
    // noted.
    assert!(!c.allows(&Identity::user("carol"), &pods("shop")));
    assert!(
        c.notes
            .iter()
            .any(|n| n.message.contains("RoleBinding shop/missing")
                && n.message.contains("grants nothing")),
        "{:?}",
        c.notes
    );
    // Non-resource URLs: only ClusterRoleBindings count (bob's RoleBinding of the same role
    // grants no URL), and every authenticated user has the ClusterRoleBinding's.
    let health = Request::non_resource("get", "/healthz");
    assert!(c.allows(&Identity::user("anyone"), &health));
    assert!(c.allows(
        &Identity::user("anyone"),
        &Request::non_resource("get", "/logs/a")
    ));
    assert!(!c.allows(&Identity::user("system:anonymous"), &health));
    let who = c.subjects_of(&c.who_can(&health, true));
    assert_eq!(
        who.iter().map(|s| s.display()).collect::<Vec<_>>(),
        ["Group system:authenticated"],
        "bob's RoleBinding never grants a URL"
    );
    // who-can in one namespace vs every namespace
    let in_other = c.subjects_of(&c.who_can(&pods("other"), false));
    assert!(in_other.is_empty());
    let everywhere = c.subjects_of(&c.who_can(&pods(""), true));
    assert_eq!(
        everywhere.iter().map(|s| s.display()).collect::<Vec<_>>(),
        ["User alice", "ServiceAccount shop/web"]
    );
}

const AGGREGATION: &str = r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: monitoring}
aggregationRule:
  clusterRoleSelectors:
  - matchLabels: {aggregate-to-monitoring: "true"}
rules:
- {apiGroups: [""], resources: [secrets], verbs: [get]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: monitoring-endpoints, labels: {aggregate-to-monitoring: "true"}}
rules:
- {apiGroups: [""], resources: [endpoints], verbs: [get]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: nested, labels: {aggregate-to-monitoring: "true"}}
aggregationRule:
  clusterRoleSelectors:
  - matchExpressions: [{key: tier, operator: In, values: [deep]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: deep, labels: {tier: deep}}
rules:
- {apiGroups: [apps], resources: [deployments], verbs: [list]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: unrelated, labels: {aggregate-to-monitoring: "false"}}
rules:
- {apiGroups: [""], resources: [nodes], verbs: [delete]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: monitoring}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: monitoring}
subjects:
- {kind: User, name: mon, apiGroup: rbac.authorization.k8s.io}
"#;

#[test]
fn aggregated_cluster_roles_get_the_rules_of_the_roles_they_select() {
    let c = cluster(AGGREGATION);
    let mon = Identity::user("mon");
    let r = |verb: &str, group: &str, resource: &str| {
        Request::resource(verb, group, resource, "", "", "")
    };
    assert!(
        c.allows(&mon, &r("get", "", "endpoints")),
        "a selected role's rule"
    );
    assert!(
        c.allows(&mon, &r("list", "apps", "deployments")),
        "through an aggregated role it selects (the controller's fixpoint)"
    );
    assert!(
        !c.allows(&mon, &r("delete", "", "nodes")),
        "label value differs"
    );
    assert!(
        !c.allows(&mon, &r("get", "", "secrets")),
        "an aggregated role's own rules are replaced by the controller"
    );
    assert!(c.notes.iter().any(|n| n.message.contains("is aggregated")));
}

#[test]
fn invalid_objects_are_errors_with_positions_and_the_rest_is_analysed() {
    let text = "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: a, namespace: x}\nsubjects: [{kind: User, name: u}]\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: b, namespace: x}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: r}\nsubjects:\n- {kind: Robot, name: r2}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: r}\nrules:\n- {apiGroups: [\"\"], resources: pods, verbs: [get]}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: ok}\nrules:\n- {apiGroups: [\"\"], resources: [pods], verbs: [get]}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: ok}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: ok}\nsubjects: [{kind: User, name: fine, apiGroup: rbac.authorization.k8s.io}]\n";
    let (file, yaml_errors) = ManifestFile::load("bad.yaml", text);
    assert!(yaml_errors.is_empty());
    let (c, errors) = load_manifests(&[file]);
    let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(shown.len(), 3, "{shown:?}");
    assert!(
        shown[0].starts_with("bad.yaml:1:1: ") && shown[0].contains("roleRef is required"),
        "{shown:?}"
    );
    assert!(
        shown[1].starts_with("bad.yaml:11:4: ")
            && shown[1].contains("unknown subject kind \"Robot\""),
        "{shown:?}"
    );
    assert!(
        shown[2].starts_with("bad.yaml:17:")
            && shown[2].contains("rules[0].resources: expected a list of strings, found a string"),
        "{shown:?}"
    );
    // the valid objects are analysed
    assert!(c.allows(
        &Identity::user("fine"),
        &Request::resource("get", "", "pods", "", "", "")
    ));
}

#[test]
fn resource_arguments_read_as_kubectl_names_them() {
    let t = |s: &str| parse_target(s, "").unwrap();
    let res = |g: &str, r: &str, sub: &str| Target::Resource {
        api_group: g.to_owned(),
        resource: r.to_owned(),
        subresource: sub.to_owned(),
        name: String::new(),
    };
    assert_eq!(t("pods"), res("", "pods", ""));
    assert_eq!(t("pods/exec"), res("", "pods", "exec"));
    assert_eq!(t("deployments"), res("apps", "deployments", ""));
    assert_eq!(
        t("deployments.apps/scale"),
        res("apps", "deployments", "scale")
    );
    assert_eq!(t("apps/deployments"), res("apps", "deployments", ""));
    assert_eq!(
        t("certificates.k8s.io/certificatesigningrequests/approval"),
        res(
            "certificates.k8s.io",
            "certificatesigningrequests",
            "approval"
        )
    );
    assert_eq!(t("widgets.example.com"), res("example.com", "widgets", ""));
    assert_eq!(
        t("/healthz"),
        Target::NonResource {
            path: "/healthz".to_owned()
        }
    );
    assert!(parse_target("a/b/c/d", "").is_err());
}

#[test]
fn subjects_parse_as_documented() {
    let sa = Identity::parse("sa:shop:web").unwrap();
    assert_eq!(
        sa,
        Identity::parse("system:serviceaccount:shop:web").unwrap()
    );
    assert_eq!(sa.name, "system:serviceaccount:shop:web");
    assert_eq!(
        sa.groups,
        [
            "system:serviceaccounts",
            "system:serviceaccounts:shop",
            "system:authenticated"
        ]
    );
    assert_eq!(
        Identity::parse("user:alice").unwrap().groups,
        ["system:authenticated"]
    );
    let g = Identity::parse("group:devs").unwrap();
    assert_eq!((g.name.as_str(), g.groups.len()), ("", 2));
    assert!(Identity::parse("sa:onlyns").is_err());
}

// --- who-can, can and authorize agree on generated clusters ---

const VERBS: [&str; 5] = ["get", "list", "create", "delete", "*"];
const RESOURCES: [&str; 6] = [
    "pods",
    "secrets",
    "pods/exec",
    "*",
    "*/scale",
    "deployments",
];
const GROUPS: [&str; 3] = ["", "apps", "*"];
const NAMESPACES: [&str; 3] = ["a", "b", "c"];
const SUBJECTS: [&str; 6] = [
    "{kind: User, name: u1, apiGroup: rbac.authorization.k8s.io}",
    "{kind: User, name: u2, apiGroup: rbac.authorization.k8s.io}",
    "{kind: Group, name: g1, apiGroup: rbac.authorization.k8s.io}",
    "{kind: Group, name: \"system:serviceaccounts\", apiGroup: rbac.authorization.k8s.io}",
    "{kind: ServiceAccount, name: s1, namespace: a}",
    "{kind: ServiceAccount, name: s2}",
];

fn list(items: &[&str]) -> String {
    format!(
        "[{}]",
        items
            .iter()
            .map(|s| format!("\"{s}\""))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// A generated cluster: roles (a few rules each), bindings (Role or ClusterRole, in a
/// namespace or cluster-wide) with a few subjects.
fn generated() -> impl Strategy<Value = String> {
    let rule = (
        prop::sample::subsequence(VERBS.to_vec(), 1..3),
        prop::sample::subsequence(GROUPS.to_vec(), 1..2),
        prop::sample::subsequence(RESOURCES.to_vec(), 1..3),
        prop::option::of(Just("x")),
    );
    let role = (any::<bool>(), 0..3usize, prop::collection::vec(rule, 1..3));
    let binding = (
        any::<bool>(),
        0..3usize,
        0..4usize,
        any::<bool>(),
        prop::sample::subsequence(SUBJECTS.to_vec(), 1..3),
    );
    (
        prop::collection::vec(role, 1..5),
        prop::collection::vec(binding, 1..6),
    )
        .prop_map(|(roles, bindings)| {
            let mut out = String::new();
            for (i, (cluster_role, ns, rules)) in roles.iter().enumerate() {
                let (kind, meta) = if *cluster_role {
                    ("ClusterRole", format!("{{name: r{i}}}"))
                } else {
                    ("Role", format!("{{name: r{i}, namespace: {}}}", NAMESPACES[*ns]))
                };
                out.push_str(&format!(
                    "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: {kind}\nmetadata: {meta}\nrules:\n"
                ));
                for (verbs, groups, resources, name) in rules {
                    let names = name.map(|n| format!(", resourceNames: [{n}]")).unwrap_or_default();
                    out.push_str(&format!(
                        "- {{verbs: {}, apiGroups: {}, resources: {}{names}}}\n",
                        list(verbs),
                        list(groups),
                        list(resources)
                    ));
                }
            }
            for (j, (cluster_binding, ns, role, role_is_cluster, subjects)) in
                bindings.iter().enumerate()
            {
                let subjects: Vec<&str> = subjects
                    .iter()
                    .copied()
                    .filter(|s| !(*cluster_binding && s.contains("name: s2}")))
                    .collect();
                if subjects.is_empty() {
                    continue;
                }
                let (kind, meta, ref_kind) = if *cluster_binding {
                    ("ClusterRoleBinding", format!("{{name: b{j}}}"), "ClusterRole")
                } else {
                    (
                        "RoleBinding",
                        format!("{{name: b{j}, namespace: {}}}", NAMESPACES[*ns]),
                        if *role_is_cluster { "ClusterRole" } else { "Role" },
                    )
                };
                out.push_str(&format!(
                    "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: {kind}\nmetadata: {meta}\nroleRef: {{apiGroup: rbac.authorization.k8s.io, kind: {ref_kind}, name: r{role}}}\nsubjects: [{}]\n",
                    subjects.join(", ")
                ));
            }
            out
        })
}

fn identities() -> Vec<Identity> {
    let mut out = vec![
        Identity::user("u1"),
        Identity::user("u2"),
        Identity::group_member("g1"),
        Identity::user("nobody"),
    ];
    for ns in NAMESPACES {
        out.push(Identity::service_account(ns, "s1"));
        out.push(Identity::service_account(ns, "s2"));
    }
    out
}

fn requests() -> Vec<Request> {
    let mut out = Vec::new();
    for verb in ["get", "list", "create", "delete", "update"] {
        for (group, resource, sub) in [
            ("", "pods", ""),
            ("", "secrets", ""),
            ("", "pods", "exec"),
            ("apps", "deployments", ""),
            ("apps", "deployments", "scale"),
        ] {
            for ns in ["", "a", "b"] {
                for name in ["", "x"] {
                    out.push(Request::resource(verb, group, resource, sub, ns, name));
                }
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// S is allowed R by the authorizer iff who-can(R) lists a subject naming S, iff can(S)
    /// holds a rule in scope (cluster-wide, or R's namespace) that allows R.
    #[test]
    fn who_can_can_and_authorize_agree(yaml in generated()) {
        let c = cluster(&yaml);
        for r in requests() {
            let who = c.subjects_of(&c.who_can(&r, false));
            for id in identities() {
                let allowed = c.allows(&id, &r);
                let listed = who.iter().any(|s| rampart_rbac::authz::applies_to(&id, s));
                prop_assert_eq!(allowed, listed, "who-can vs authorize: {:?} {:?}\n{}", id, r, yaml);
                let held = c.can(&id).iter().filter_map(|g| c.view(g)).any(|v| {
                    let in_scope = match &v.scope {
                        None => true,
                        Some(ns) => *ns == r.namespace,
                    };
                    in_scope && rule_allows(&v.rule, &r)
                });
                prop_assert_eq!(allowed, held, "can vs authorize: {:?} {:?}\n{}", id, r, yaml);
            }
        }
    }
}
