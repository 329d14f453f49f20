//! Escalation paths: each move on a small cluster where it is the only way up, and its absence
//! when the permission is missing or does not apply (wrong scope, admission refusing it).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use rampart_k8s::ManifestFile;
use rampart_rbac::ESCALATION_PATH;
use rampart_rbac::model::Cluster;
use rampart_rbac::paths::{Move, Node, find};

fn cluster(yaml: &str) -> Cluster {
    common::cluster("c.yaml", yaml)
}

const ADMIN_SA: &str = "
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: everything}
rules:
- {apiGroups: ['*'], resources: ['*'], verbs: ['*']}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: deployer}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: everything}
subjects:
- {kind: ServiceAccount, name: deployer, namespace: ci}
";

fn role(kind: &str, name: &str, ns: Option<&str>, rules: &str) -> String {
    let meta = match ns {
        Some(ns) => format!("{{name: {name}, namespace: {ns}}}"),
        None => format!("{{name: {name}}}"),
    };
    format!(
        "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: {kind}\nmetadata: {meta}\nrules:\n{rules}"
    )
}

fn binding(
    kind: &str,
    name: &str,
    ns: Option<&str>,
    role_kind: &str,
    role: &str,
    subject: &str,
) -> String {
    let meta = match ns {
        Some(ns) => format!("{{name: {name}, namespace: {ns}}}"),
        None => format!("{{name: {name}}}"),
    };
    format!(
        "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: {kind}\nmetadata: {meta}\nroleRef: {{apiGroup: rbac.authorization.k8s.io, kind: {role_kind}, name: {role}}}\nsubjects:\n- {subject}\n"
    )
}

const ALICE: &str = "{kind: User, name: alice, apiGroup: rbac.authorization.k8s.io}";

/// alice's path's moves, or None.
fn alice_moves(yaml: &str) -> Option<Vec<Move>> {
    let c = cluster(yaml);
    find(&c)
        .into_iter()
        .find(|p| p.start.display() == "User alice")
        .map(|p| p.steps.iter().map(|s| s.kind).collect())
}

/// alice holds `rules` through a ClusterRole bound in namespace `ci` (RoleBinding) or
/// cluster-wide.
fn alice_with(rules: &str, cluster_wide: bool) -> String {
    let mut y = ADMIN_SA.to_owned();
    y.push_str(&role("ClusterRole", "alice", None, rules));
    if cluster_wide {
        y.push_str(&binding(
            "ClusterRoleBinding",
            "alice",
            None,
            "ClusterRole",
            "alice",
            ALICE,
        ));
    } else {
        y.push_str(&binding(
            "RoleBinding",
            "alice",
            Some("ci"),
            "ClusterRole",
            "alice",
            ALICE,
        ));
    }
    y
}

#[test]
fn creating_pods_in_a_namespace_runs_as_its_strongest_service_account() {
    let y = alice_with(
        "- {apiGroups: [''], resources: [pods], verbs: [create]}\n",
        false,
    ) + "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: ci, labels: {pod-security.kubernetes.io/enforce: restricted}}\n";
    assert_eq!(
        alice_moves(&y),
        Some(vec![Move::CreatePods, Move::RunsAs, Move::HoldsEverything])
    );
    // without the pod permission there is no path; in another namespace neither
    assert_eq!(
        alice_moves(&alice_with(
            "- {apiGroups: [''], resources: [pods], verbs: [get, list]}\n",
            false
        )),
        None
    );
    let other = ADMIN_SA.to_owned()
        + &role(
            "ClusterRole",
            "alice",
            None,
            "- {apiGroups: [''], resources: [pods], verbs: [create]}\n",
        )
        + &binding(
            "RoleBinding",
            "alice",
            Some("web"),
            "ClusterRole",
            "alice",
            ALICE,
        )
        + "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: web, labels: {pod-security.kubernetes.io/enforce: baseline}}\n";
    assert_eq!(
        alice_moves(&other),
        None,
        "ci's service account is out of reach from web"
    );
    // through a ClusterRoleBinding: any service account of any namespace
    let everywhere = alice_with(
        "- {apiGroups: [''], resources: [pods], verbs: [create]}\n",
        true,
    ) + "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: ci, labels: {pod-security.kubernetes.io/enforce: restricted}}\n";
    let c = cluster(&everywhere);
    let path = find(&c)
        .into_iter()
        .find(|p| p.start.display() == "User alice")
        .unwrap();
    assert_eq!(
        path.steps.iter().map(|s| s.kind).collect::<Vec<_>>(),
        [Move::CreatePods, Move::RunsAs, Move::HoldsEverything]
    );
    assert_eq!(path.steps[0].to, "any service account of any namespace");
    assert_eq!(path.steps[1].to, "ServiceAccount ci/deployer");
}

#[test]
fn a_privileged_pod_reaches_the_nodes_unless_admission_refuses_it() {
    // the strong service account runs in a pod on some node; alice can create pods in `web`,
    // where nothing refuses a privileged pod
    let mut y = ADMIN_SA.to_owned();
    y.push_str("---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: deployer, namespace: ci}\nspec:\n  template:\n    spec:\n      serviceAccountName: deployer\n      containers: [{name: c, image: x}]\n");
    y.push_str(&role(
        "ClusterRole",
        "alice",
        None,
        "- {apiGroups: [''], resources: [pods], verbs: [create]}\n",
    ));
    y.push_str(&binding(
        "RoleBinding",
        "alice",
        Some("web"),
        "ClusterRole",
        "alice",
        ALICE,
    ));
    assert_eq!(
        alice_moves(&y),
        Some(vec![
            Move::PrivilegedPod,
            Move::NodeRoot,
            Move::PodToken,
            Move::HoldsEverything
        ])
    );
    let refused = y.clone()
        + "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: web, labels: {pod-security.kubernetes.io/enforce: baseline}}\n"
        + "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: ci, labels: {pod-security.kubernetes.io/enforce: baseline}}\n";
    assert_eq!(alice_moves(&refused), None);
    // a token that is not mounted cannot be read from the node
    let unmounted = y.replace(
        "serviceAccountName: deployer\n",
        "serviceAccountName: deployer\n      automountServiceAccountToken: false\n",
    );
    assert_eq!(alice_moves(&unmounted), None);
}

#[test]
fn exec_into_a_stronger_pod_and_a_host_pod() {
    let mut y = ADMIN_SA.to_owned();
    y.push_str("---\napiVersion: v1\nkind: Pod\nmetadata: {name: deployer, namespace: ci}\nspec:\n  serviceAccountName: deployer\n  containers: [{name: c, image: x}]\n");
    y.push_str("---\napiVersion: v1\nkind: Namespace\nmetadata: {name: ci, labels: {pod-security.kubernetes.io/enforce: restricted}}\n");
    let exec = y.clone()
        + &role(
            "ClusterRole",
            "alice",
            None,
            "- {apiGroups: [''], resources: [pods/exec], verbs: [create]}\n",
        )
        + &binding(
            "RoleBinding",
            "alice",
            Some("ci"),
            "ClusterRole",
            "alice",
            ALICE,
        );
    assert_eq!(
        alice_moves(&exec),
        Some(vec![Move::Exec, Move::PodToken, Move::HoldsEverything])
    );
    // `pods/*` is not a wildcard for the authorizer
    let star = exec.replace("resources: [pods/exec]", "resources: ['pods/*']");
    assert_eq!(alice_moves(&star), None);
    // a privileged pod in another namespace alice can exec into is a way to the node
    let host = y
        + "---\napiVersion: v1\nkind: Pod\nmetadata: {name: agent, namespace: tools}\nspec:\n  hostPID: true\n  automountServiceAccountToken: false\n  containers: [{name: c, image: x}]\n"
        + &role(
            "ClusterRole",
            "alice",
            None,
            "- {apiGroups: [''], resources: [pods/exec], verbs: [create]}\n",
        )
        + &binding(
            "RoleBinding",
            "alice",
            Some("tools"),
            "ClusterRole",
            "alice",
            ALICE,
        );
    assert_eq!(
        alice_moves(&host),
        Some(vec![
            Move::Exec,
            Move::HostPod,
            Move::NodeRoot,
            Move::PodToken,
            Move::HoldsEverything
        ])
    );
}

#[test]
fn cluster_wide_moves_need_a_cluster_role_binding() {
    let cases: &[(&str, Move)] = &[
        (
            "- {apiGroups: [rbac.authorization.k8s.io], resources: [clusterrolebindings], verbs: [create]}\n- {apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], verbs: [bind]}\n",
            Move::Bind,
        ),
        (
            "- {apiGroups: [''], resources: [groups], verbs: [impersonate], resourceNames: ['system:masters']}\n",
            Move::Impersonate,
        ),
        (
            "- {apiGroups: [certificates.k8s.io], resources: [certificatesigningrequests], verbs: [create]}\n- {apiGroups: [certificates.k8s.io], resources: [certificatesigningrequests/approval], verbs: [update]}\n- {apiGroups: [certificates.k8s.io], resources: [signers], verbs: [approve], resourceNames: [kubernetes.io/kube-apiserver-client]}\n",
            Move::SignCertificate,
        ),
        (
            "- {apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], verbs: [escalate, update]}\n",
            Move::Escalate,
        ),
    ];
    for (rules, first) in cases {
        let moves = alice_moves(&alice_with(rules, true));
        assert_eq!(
            moves.as_ref().and_then(|m| m.first()),
            Some(first),
            "{rules}"
        );
        assert_eq!(moves.map(|m| m.len()), Some(1), "{rules}");
        // the same rules bound by a RoleBinding grant nothing cluster-scoped
        let ns = alice_moves(&alice_with(rules, false));
        assert!(
            ns.as_ref()
                .is_none_or(|m| m.first() != Some(first) || m.len() > 1),
            "{rules}: {ns:?}"
        );
    }
}

#[test]
fn node_proxy_and_webhooks_reach_every_pod() {
    let mut y = ADMIN_SA.to_owned();
    y.push_str("---\napiVersion: batch/v1\nkind: CronJob\nmetadata: {name: deploy, namespace: ci}\nspec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          serviceAccountName: deployer\n          containers: [{name: c, image: x}]\n");
    for (rules, first) in [
        (
            "- {apiGroups: [''], resources: [nodes/proxy], verbs: [get]}\n",
            Move::NodesProxy,
        ),
        (
            "- {apiGroups: [admissionregistration.k8s.io], resources: [mutatingwebhookconfigurations], verbs: [create]}\n",
            Move::MutatingWebhook,
        ),
    ] {
        let y = y.clone()
            + &role("ClusterRole", "alice", None, rules)
            + &binding(
                "ClusterRoleBinding",
                "alice",
                None,
                "ClusterRole",
                "alice",
                ALICE,
            );
        assert_eq!(
            alice_moves(&y),
            Some(vec![
                first,
                Move::NodeRoot,
                Move::PodToken,
                Move::HoldsEverything
            ]),
            "{rules}"
        );
    }
}

#[test]
fn secrets_tokens_and_impersonation_of_service_accounts() {
    for (rules, first) in [
        (
            "- {apiGroups: [''], resources: [secrets], verbs: [list]}\n",
            Move::ReadSecrets,
        ),
        (
            "- {apiGroups: [''], resources: [serviceaccounts/token], verbs: [create]}\n",
            Move::CreateToken,
        ),
        (
            "- {apiGroups: [''], resources: [serviceaccounts], verbs: [impersonate]}\n",
            Move::Impersonate,
        ),
        (
            "- {apiGroups: [apps], resources: [deployments], verbs: [patch]}\n",
            Move::Workloads,
        ),
    ] {
        let y = alice_with(rules, false)
            + "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: ci, labels: {pod-security.kubernetes.io/enforce: restricted}}\n";
        assert_eq!(
            alice_moves(&y),
            Some(vec![first, Move::RunsAs, Move::HoldsEverything]),
            "{rules}"
        );
    }
    // a token for one named account goes straight to it
    let named = alice_with(
        "- {apiGroups: [''], resources: [serviceaccounts/token], verbs: [create], resourceNames: [deployer]}\n",
        false,
    );
    assert_eq!(
        alice_moves(&named),
        Some(vec![Move::CreateToken, Move::HoldsEverything])
    );
    let other = named.replace("resourceNames: [deployer]", "resourceNames: [someone-else]");
    assert_eq!(alice_moves(&other), None);
}

#[test]
fn groups_and_built_in_cluster_admin() {
    // system:serviceaccounts:ci holds create pods: every service account of ci is on a path
    // (through any of them), and the built-in cluster-admin counts when not in the input
    let y = "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: deployer}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\nsubjects:\n- {kind: ServiceAccount, name: deployer, namespace: ci}\n- {kind: Group, name: 'system:masters', apiGroup: rbac.authorization.k8s.io}\n".to_owned()
        + &role("ClusterRole", "pods", None, "- {apiGroups: [''], resources: [pods], verbs: [create]}\n")
        + &binding("RoleBinding", "pods", Some("ci"), "ClusterRole", "pods", "{kind: Group, name: 'system:serviceaccounts:ci', apiGroup: rbac.authorization.k8s.io}")
        + "---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: builder, namespace: ci}\n"
        + "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: ci, labels: {pod-security.kubernetes.io/enforce: restricted}}\n";
    let c = cluster(&y);
    assert!(
        c.notes.iter().any(|n| n.message.contains("built-in")),
        "{:?}",
        c.notes
    );
    let paths = find(&c);
    let starts: Vec<String> = paths.iter().map(|p| p.start.display()).collect();
    assert_eq!(
        starts,
        [
            "Group system:masters",
            "Group system:serviceaccounts:ci",
            "ServiceAccount ci/builder",
            "ServiceAccount ci/default",
            "ServiceAccount ci/deployer",
        ]
    );
    let builder = paths
        .iter()
        .find(|p| p.start.display() == "ServiceAccount ci/builder")
        .unwrap();
    assert_eq!(
        builder.steps.iter().map(|s| s.kind).collect::<Vec<_>>(),
        [Move::CreatePods, Move::RunsAs, Move::HoldsEverything]
    );
    assert!(
        builder.steps[0].reason.contains("RoleBinding ci/pods"),
        "{:?}",
        builder.steps[0]
    );
    assert_eq!(builder.steps[0].file.as_deref(), Some("c.yaml"));
    assert!(matches!(paths[0].start, Node::Identity { .. }));
}

#[test]
fn the_rule_fires_on_its_bad_example_and_not_on_its_good_example() {
    let fired = |text: &str| {
        let (file, errors) = ManifestFile::load("example.yaml", text);
        assert!(errors.is_empty());
        let (assessment, errors) = rampart_rbac::assess(&[file]);
        assert!(errors.is_empty(), "{errors:?}");
        assert!(!assessment.controls.is_empty(), "controls are recorded");
        assessment
            .findings
            .iter()
            .filter(|f| f.rule_id == ESCALATION_PATH.id)
            .map(|f| (f.subject.clone(), f.message.clone()))
            .collect::<Vec<_>>()
    };
    let bad = fired(ESCALATION_PATH.bad_example);
    assert!(
        bad.iter()
            .any(|(s, m)| s == "User alice" && m.contains("create-pods")),
        "{bad:?}"
    );
    let good = fired(ESCALATION_PATH.good_example);
    assert!(good.is_empty(), "{good:?}");
}
