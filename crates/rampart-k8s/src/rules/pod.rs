//! Workload hardening beyond the Pod Security Standards.

use super::{Ctx, Inventory, cis, nsa, rule};
use crate::objects::{ContainerKind, Workload};
use crate::secrets;
use crate::yaml::{Node, Seg};
use rampart_core::{Layer, Rule, Severity};

macro_rules! deploy {
    ($spec:literal) => {
        concat!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n",
            $spec
        )
    };
}

pub static RESOURCE_LIMITS: Rule = rule(
    "K8S001",
    "resource-limits",
    "Missing CPU or memory limits",
    Severity::Medium,
    Layer::Runtime,
    [
        "Without limits one compromised or runaway container can starve the node (denial of service for every other pod) and mining malware runs unchecked.",
        "Set `resources.limits.memory` and `resources.limits.cpu` on every container (and matching requests).",
        deploy!("      containers:\n      - name: web\n        image: web\n"),
        deploy!(
            "      containers:\n      - name: web\n        image: web\n        resources:\n          limits: {cpu: 500m, memory: 256Mi}\n"
        ),
    ],
    &[
        cis("5.7 General policies (resource quotas)"),
        nsa("Kubernetes Pod security: resource policies"),
    ],
);

pub static SA_TOKEN: Rule = rule(
    "K8S002",
    "service-account-token-mounted",
    "Service account token mounted",
    Severity::Medium,
    Layer::Access,
    [
        "Kubernetes mounts an API token into every pod unless told not to; an attacker in the container inherits whatever the service account may do.",
        "Set `automountServiceAccountToken: false` on the pod spec (or on its ServiceAccount) unless the workload calls the Kubernetes API.",
        deploy!("      containers:\n      - name: web\n        image: web\n"),
        deploy!(
            "      automountServiceAccountToken: false\n      containers:\n      - name: web\n        image: web\n"
        ),
    ],
    &[
        cis("5.1.6 Ensure that Service Account Tokens are only mounted where necessary"),
        nsa("Authentication and authorization"),
    ],
);

pub static DEFAULT_NAMESPACE: Rule = rule(
    "K8S003",
    "default-namespace",
    "Workload in the default namespace",
    Severity::Low,
    Layer::Access,
    [
        "The `default` namespace is shared by everything nobody thought about: it rarely has Pod Security labels, NetworkPolicies or narrow RBAC, so workloads there get none of the namespace-level layers.",
        "Give the workload its own namespace with Pod Security labels, a default-deny NetworkPolicy and scoped RBAC.",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: app, namespace: default}\nspec:\n  containers:\n  - name: app\n    image: app\n",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: app, namespace: shop}\nspec:\n  containers:\n  - name: app\n    image: app\n",
    ],
    &[
        cis("5.7.4 The default namespace should not be used"),
        nsa("Namespaces"),
    ],
);

pub static ENV_SECRET: Rule = rule(
    "K8S006",
    "secret-in-env",
    "Secret as a literal environment value",
    Severity::High,
    Layer::Access,
    [
        "A secret written into the manifest is in Git, in every copy of the manifest, in `kubectl get -o yaml` output and readable by anyone who can read the workload.",
        "Store the value in a Secret (or an external secret store) and reference it with `valueFrom.secretKeyRef`.",
        deploy!(
            "      containers:\n      - name: web\n        image: web\n        env:\n        - name: DB_PASSWORD\n          value: hunter2-prod-5f3a\n"
        ),
        deploy!(
            "      containers:\n      - name: web\n        image: web\n        env:\n        - name: DB_PASSWORD\n          valueFrom:\n            secretKeyRef: {name: db, key: password}\n"
        ),
    ],
    &[
        cis("5.4.1 Prefer using secrets as files over secrets as environment variables"),
        nsa("Secrets"),
    ],
);

pub static READ_ONLY_ROOT: Rule = rule(
    "K8S007",
    "read-only-root-filesystem",
    "Root filesystem is writable",
    Severity::Medium,
    Layer::Runtime,
    [
        "A writable root filesystem lets an intruder drop tools, modify binaries and persist; a read-only root makes the image immutable at run time.",
        "Set `securityContext.readOnlyRootFilesystem: true` and mount an `emptyDir` where the application must write.",
        deploy!("      containers:\n      - name: web\n        image: web\n"),
        deploy!(
            "      containers:\n      - name: web\n        image: web\n        securityContext: {readOnlyRootFilesystem: true}\n"
        ),
    ],
    &[nsa(
        "Kubernetes Pod security: immutable container file systems",
    )],
);

pub static WRITABLE_HOST_PATH: Rule = rule(
    "K8S008",
    "writable-host-path",
    "hostPath mounted writable",
    Severity::High,
    Layer::Host,
    [
        "A writable hostPath mount lets the container change the node's files: planting binaries, editing kubelet configuration or talking to the container runtime socket is a full node takeover.",
        "Remove the hostPath volume; if it is truly needed, mount it with `readOnly: true` and the narrowest path.",
        deploy!(
            "      containers:\n      - name: web\n        image: web\n        volumeMounts: [{name: logs, mountPath: /host/logs}]\n      volumes:\n      - name: logs\n        hostPath: {path: /var/log}\n"
        ),
        deploy!(
            "      containers:\n      - name: web\n        image: web\n        volumeMounts: [{name: logs, mountPath: /host/logs, readOnly: true}]\n      volumes:\n      - name: logs\n        hostPath: {path: /var/log}\n"
        ),
    ],
    &[
        cis("5.2 Pod Security Standards (hostPath)"),
        nsa("Kubernetes Pod security: hostPath"),
    ],
);

pub static RUNTIME_CLASS: Rule = rule(
    "K8S009",
    "sensitive-without-sandbox",
    "Sensitive workload without a sandbox runtime",
    Severity::Medium,
    Layer::Runtime,
    [
        "Workloads labelled sensitive (`rampart.io/sensitive: \"true\"` on the workload or its Namespace) deserve a second kernel boundary: a sandbox runtime such as gVisor or Kata, selected with `runtimeClassName`.",
        "Set `spec.runtimeClassName` to a sandbox RuntimeClass (e.g. `gvisor`).",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: vault, labels: {rampart.io/sensitive: \"true\"}}\nspec:\n  containers:\n  - name: vault\n    image: vault\n",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: vault, labels: {rampart.io/sensitive: \"true\"}}\nspec:\n  runtimeClassName: gvisor\n  containers:\n  - name: vault\n    image: vault\n",
    ],
    &[nsa("Kubernetes Pod security: sandboxing")],
);

pub static RULES: &[&Rule] = &[
    &RESOURCE_LIMITS,
    &SA_TOKEN,
    &DEFAULT_NAMESPACE,
    &ENV_SECRET,
    &READ_ONLY_ROOT,
    &WRITABLE_HOST_PATH,
    &RUNTIME_CLASS,
];

/// The label that marks a workload or namespace as sensitive.
pub const SENSITIVE_LABEL: &str = "rampart.io/sensitive";

fn is_truthy(value: Option<&str>) -> bool {
    value.is_some_and(|v| {
        matches!(
            v.to_ascii_lowercase().as_str(),
            "true" | "yes" | "1" | "high"
        )
    })
}

pub(crate) fn check(ctx: &mut Ctx<'_, '_>, workload: &Workload<'_>, inventory: &Inventory<'_>) {
    let pod = workload.pod;
    let Some(spec) = workload.spec() else { return };
    let containers = workload.containers();

    // K8S001: limits on regular and init containers (ephemeral ones cannot have resources).
    ctx.assessed(&RESOURCE_LIMITS);
    for c in containers
        .iter()
        .filter(|c| c.kind != ContainerKind::Ephemeral)
    {
        let limits = c.node.path(&["resources", "limits"]);
        let missing: Vec<&str> = ["cpu", "memory"]
            .into_iter()
            .filter(|k| limits.and_then(|l| l.get(k)).is_none())
            .collect();
        if !missing.is_empty() {
            let what = missing.join(" and ");
            ctx.report_container(
                &RESOURCE_LIMITS,
                pod,
                c,
                &[Seg::Key("resources"), Seg::Key("limits")],
                format!("{} has no {what} limit", c.describe()),
            );
        }
    }

    // K8S002: the token is mounted unless the pod or its ServiceAccount opts out.
    ctx.assessed(&SA_TOKEN);
    let pod_setting = spec
        .get("automountServiceAccountToken")
        .and_then(Node::as_bool);
    let sa_name = spec
        .str_at(&["serviceAccountName"])
        .or_else(|| spec.str_at(&["serviceAccount"]))
        .unwrap_or("default");
    let ns = ctx.object.effective_namespace();
    let sa_setting = inventory
        .service_account(ns, sa_name)
        .and_then(|o| o.object.node.get("automountServiceAccountToken"))
        .and_then(Node::as_bool);
    if pod_setting != Some(false) && !(pod_setting.is_none() && sa_setting == Some(false)) {
        let pos = pod.pos_of(&[Seg::Key("spec"), Seg::Key("automountServiceAccountToken")]);
        let why = if pod_setting == Some(true) {
            "sets automountServiceAccountToken: true".to_owned()
        } else {
            format!(
                "does not set automountServiceAccountToken: false (nor does service account \"{sa_name}\" in this scan)"
            )
        };
        ctx.report(&SA_TOKEN, pos, None, format!("pod template {why}"));
    }

    // K8S003
    ctx.assessed(&DEFAULT_NAMESPACE);
    if ctx.object.namespace == Some("default") {
        let pos = ctx
            .object
            .node
            .pos_of(&[Seg::Key("metadata"), Seg::Key("namespace")]);
        ctx.report(
            &DEFAULT_NAMESPACE,
            pos,
            None,
            format!("{} is deployed to the default namespace", ctx.object.kind),
        );
    }

    // K8S006: literal secrets in env.
    ctx.assessed(&ENV_SECRET);
    for c in &containers {
        for (i, env) in c
            .node
            .get("env")
            .map(Node::as_seq)
            .unwrap_or(&[])
            .iter()
            .enumerate()
        {
            let (Some(name), Some(value)) = (
                env.str_at(&["name"]),
                env.get("value").and_then(Node::as_str),
            ) else {
                continue;
            };
            if let Some(kind) = secrets::classify(name, value) {
                ctx.report_container(
                    &ENV_SECRET,
                    pod,
                    c,
                    &[Seg::Key("env"), Seg::Index(i), Seg::Key("value")],
                    format!(
                        "{} sets {name} to {kind} written in clear (value {}) instead of a secretKeyRef",
                        c.describe(),
                        secrets::redact(value)
                    ),
                );
            }
        }
    }

    // K8S007: read-only root filesystem, regular and init containers.
    ctx.assessed(&READ_ONLY_ROOT);
    for c in containers
        .iter()
        .filter(|c| c.kind != ContainerKind::Ephemeral)
    {
        let ro = c
            .node
            .path(&["securityContext", "readOnlyRootFilesystem"])
            .and_then(Node::as_bool);
        if ro != Some(true) {
            let how = if ro == Some(false) {
                "sets readOnlyRootFilesystem: false"
            } else {
                "does not set readOnlyRootFilesystem: true"
            };
            ctx.report_container(
                &READ_ONLY_ROOT,
                pod,
                c,
                &[
                    Seg::Key("securityContext"),
                    Seg::Key("readOnlyRootFilesystem"),
                ],
                format!("{} {how}", c.describe()),
            );
        }
    }

    // K8S008: hostPath volumes mounted without readOnly.
    ctx.assessed(&WRITABLE_HOST_PATH);
    let host_paths: Vec<(&str, &str)> = spec
        .get("volumes")
        .map(Node::as_seq)
        .unwrap_or(&[])
        .iter()
        .filter_map(|v| Some((v.str_at(&["name"])?, v.str_at(&["hostPath", "path"])?)))
        .collect();
    if !host_paths.is_empty() {
        for c in &containers {
            for (i, m) in c
                .node
                .get("volumeMounts")
                .map(Node::as_seq)
                .unwrap_or(&[])
                .iter()
                .enumerate()
            {
                let Some(vol) = m.str_at(&["name"]) else {
                    continue;
                };
                let Some((_, path)) = host_paths.iter().find(|(n, _)| *n == vol) else {
                    continue;
                };
                if m.get("readOnly").and_then(Node::as_bool) == Some(true) {
                    continue;
                }
                let critical = is_node_takeover_path(path);
                let mut path_segs = c.path().to_vec();
                path_segs.extend([Seg::Key("volumeMounts"), Seg::Index(i)]);
                let pos = pod.pos_of(&path_segs);
                let message = format!(
                    "{} mounts hostPath {path} (volume \"{vol}\") writable{}",
                    c.describe(),
                    if critical {
                        ": this path gives control of the node"
                    } else {
                        ""
                    }
                );
                let severity = if critical {
                    Severity::Critical
                } else {
                    WRITABLE_HOST_PATH.severity
                };
                ctx.report_with(&WRITABLE_HOST_PATH, severity, pos, Some(c.name()), message);
            }
        }
    }

    // K8S009: sensitive workloads need a sandbox runtime class.
    let ns_label = inventory
        .namespace(ns)
        .and_then(|n| n.object.label(SENSITIVE_LABEL));
    let sensitive = is_truthy(ctx.object.label(SENSITIVE_LABEL))
        || is_truthy(workload.pod_label(SENSITIVE_LABEL))
        || is_truthy(ns_label);
    if sensitive {
        ctx.assessed(&RUNTIME_CLASS);
        if spec.str_at(&["runtimeClassName"]).is_none_or(str::is_empty) {
            let origin = if is_truthy(ns_label) {
                format!("namespace \"{ns}\"")
            } else {
                "the workload".to_owned()
            };
            ctx.report(
                &RUNTIME_CLASS,
                pod.pos_of(&[Seg::Key("spec"), Seg::Key("runtimeClassName")]),
                None,
                format!(
                    "{origin} is labelled {SENSITIVE_LABEL} but the pod has no runtimeClassName"
                ),
            );
        }
    }
}

/// Host paths whose write access is a node takeover.
fn is_node_takeover_path(path: &str) -> bool {
    let p = path.trim_end_matches('/');
    matches!(
        p,
        "" | "/etc"
            | "/var/lib/kubelet"
            | "/var/lib/docker"
            | "/var/lib/containerd"
            | "/root"
            | "/proc"
            | "/sys"
            | "/boot"
            | "/usr"
            | "/bin"
            | "/lib"
    ) || p.ends_with(".sock")
        || p.starts_with("/var/run/docker")
        || p.starts_with("/run/containerd")
        || p.starts_with("/var/run/crio")
}
