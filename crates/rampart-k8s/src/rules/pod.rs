//! Workload hardening beyond the Pod Security Standards.

use super::{Ctx, Inventory, cis, nsa, rule};
use crate::objects::{ContainerKind, Workload};
use crate::secrets;
use crate::yaml::{Node, Seg};
use rampart_core::{Layer, RefKind, Reference, Rule, Severity};

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
    "hostPath mounted writable, or a container runtime socket mounted",
    Severity::High,
    Layer::Host,
    [
        "A writable hostPath mount lets the container change the node's files: planting binaries or editing kubelet configuration is a full node takeover. A container runtime socket (`docker.sock`, `containerd.sock`, `crio.sock`, cri-dockerd, podman) is a takeover even mounted `readOnly: true`: read-only applies to file contents, and connecting to a Unix socket writes nothing, so the container can still ask the runtime to start a privileged container with the node's root filesystem.",
        "Remove the hostPath volume; if it is truly needed, mount it with `readOnly: true` and the narrowest path. Never mount a runtime socket (or the /run, /var/run directories that hold it) into an application; agents that need the runtime's view should use the CRI API through a dedicated, isolated DaemonSet.",
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

/// Peer check listings, for the rules that correspond to Checkov's and Kubescape's.
const CHECKOV_K8S: &str = "https://www.checkov.io/5.Policy%20Index/kubernetes.html";
const KUBESCAPE_CONTROLS: &str = "https://hub.armosec.io/docs/controls";

pub static MISSING_PROBES: Rule = rule(
    "K8S010",
    "missing-probes",
    "Container without liveness or readiness probe",
    Severity::Info,
    Layer::Runtime,
    [
        "Without a readiness probe a Service sends traffic to a container that is not ready (or no longer is); without a liveness probe a hung process is never restarted. Probes are about availability, hence information only. Long-running containers of Deployments, StatefulSets, DaemonSets and the like are checked; Jobs and CronJobs run to completion and are not. Peers: Checkov CKV_K8S_8 (liveness) and CKV_K8S_9 (readiness), Kubescape C-0056 and C-0018.",
        "Add `readinessProbe` and `livenessProbe` (HTTP, TCP or gRPC) to every long-running container; a `startupProbe` for slow starters.",
        deploy!("      containers:\n      - name: web\n        image: web\n"),
        deploy!(
            "      containers:\n      - name: web\n        image: web\n        readinessProbe: {httpGet: {path: /ready, port: 8080}}\n        livenessProbe: {httpGet: {path: /healthz, port: 8080}}\n"
        ),
    ],
    &[
        Reference::new(
            RefKind::Docs,
            "Configure liveness, readiness and startup probes",
            "https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/",
        ),
        Reference::new(RefKind::Docs, "Checkov CKV_K8S_8, CKV_K8S_9", CHECKOV_K8S),
        Reference::new(
            RefKind::Docs,
            "Kubescape C-0056, C-0018",
            KUBESCAPE_CONTROLS,
        ),
    ],
);

pub static MISSING_REQUESTS: Rule = rule(
    "K8S011",
    "missing-resource-requests",
    "Missing CPU or memory requests",
    Severity::Low,
    Layer::Runtime,
    [
        "A container with neither a request nor a limit for CPU or memory is scheduled as if it needed nothing of it: nodes get overcommitted, and under memory pressure a BestEffort container is the first the kubelet evicts. (Kubernetes copies a limit into a missing request, so a limit alone counts.) Peers: Checkov CKV_K8S_10 (CPU) and CKV_K8S_12 (memory), Kubescape C-0050 and C-0004.",
        "Set `resources.requests.cpu` and `resources.requests.memory` on every container, sized from observed use.",
        deploy!("      containers:\n      - name: web\n        image: web\n"),
        deploy!(
            "      containers:\n      - name: web\n        image: web\n        resources:\n          requests: {cpu: 100m, memory: 128Mi}\n"
        ),
    ],
    &[
        Reference::new(
            RefKind::Docs,
            "Resource management for pods and containers",
            "https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/",
        ),
        Reference::new(RefKind::Docs, "Checkov CKV_K8S_10, CKV_K8S_12", CHECKOV_K8S),
        Reference::new(
            RefKind::Docs,
            "Kubescape C-0050, C-0004",
            KUBESCAPE_CONTROLS,
        ),
    ],
);

pub static DEFAULT_SERVICE_ACCOUNT: Rule = rule(
    "K8S013",
    "default-service-account",
    "Workload uses the default ServiceAccount",
    Severity::Low,
    Layer::Access,
    [
        "Every namespace's `default` ServiceAccount is shared by all pods that name no other: whatever a Role grants it, every such pod gets, and the token of any one of them speaks for all. CIS 5.1.5 asks that it not be actively used (its token mounted in pods). Reported when the pod runs as `default` with the token mounted; K8S002 reports the mounted token itself. Peers: Checkov CKV_K8S_41 (and CKV_K8S_38), Kubescape C-0189.",
        "Create a ServiceAccount per workload, set `serviceAccountName`, and grant it only what the workload needs; or set `automountServiceAccountToken: false` when it does not call the API.",
        deploy!("      containers:\n      - name: web\n        image: web\n"),
        deploy!(
            "      serviceAccountName: web\n      containers:\n      - name: web\n        image: web\n"
        ),
    ],
    &[
        cis("5.1.5 Ensure that default service accounts are not actively used"),
        Reference::new(RefKind::Docs, "Checkov CKV_K8S_41, CKV_K8S_38", CHECKOV_K8S),
        Reference::new(RefKind::Docs, "Kubescape C-0189", KUBESCAPE_CONTROLS),
    ],
);

pub static LOW_UID: Rule = rule(
    "K8S014",
    "low-uid",
    "Container runs with a UID below 10000",
    Severity::Low,
    Layer::Runtime,
    [
        "UIDs below 10000 are where the node's own system users and service accounts live. A container process with the same UID as a host user owns that user's files on any host path it reaches and shares its limits, and after a container escape it is that user. Only an explicit `runAsUser` is judged (root itself is PSS016). Peer: Checkov CKV_K8S_40.",
        "Run as a UID of 10000 or more (e.g. `runAsUser: 10001`, or 65532 as distroless images do), matching the image's USER.",
        deploy!(
            "      securityContext: {runAsUser: 1000}\n      containers:\n      - name: web\n        image: web\n"
        ),
        deploy!(
            "      securityContext: {runAsUser: 10001}\n      containers:\n      - name: web\n        image: web\n"
        ),
    ],
    &[
        Reference::new(RefKind::Docs, "Checkov CKV_K8S_40", CHECKOV_K8S),
        Reference::new(
            RefKind::Docs,
            "Configure a security context for a pod or container",
            "https://kubernetes.io/docs/tasks/configure-pod-container/security-context/",
        ),
    ],
);

pub static RULES: &[&Rule] = &[
    &RESOURCE_LIMITS,
    &SA_TOKEN,
    &DEFAULT_NAMESPACE,
    &ENV_SECRET,
    &READ_ONLY_ROOT,
    &WRITABLE_HOST_PATH,
    &MISSING_PROBES,
    &MISSING_REQUESTS,
    &DEFAULT_SERVICE_ACCOUNT,
    &LOW_UID,
];

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

    // K8S011: requests on regular and init containers; a limit stands in for a missing request
    // (the API server defaults the request to the limit).
    ctx.assessed(&MISSING_REQUESTS);
    for c in containers
        .iter()
        .filter(|c| c.kind != ContainerKind::Ephemeral)
    {
        let has = |section: &str, k: &str| {
            c.node
                .path(&["resources", section, k])
                .is_some_and(|v| !matches!(v.value, crate::yaml::Value::Null))
        };
        let missing: Vec<&str> = ["cpu", "memory"]
            .into_iter()
            .filter(|k| !has("requests", k) && !has("limits", k))
            .collect();
        if !missing.is_empty() {
            ctx.report_container(
                &MISSING_REQUESTS,
                pod,
                c,
                &[Seg::Key("resources"), Seg::Key("requests")],
                format!(
                    "{} has no {} request (nor a limit that would stand for one): the scheduler reserves nothing for it",
                    c.describe(),
                    missing.join(" and ")
                ),
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
    let token_mounted =
        pod_setting != Some(false) && !(pod_setting.is_none() && sa_setting == Some(false));
    if token_mounted {
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

    // K8S013: the shared `default` ServiceAccount, actively used (its token mounted).
    ctx.assessed(&DEFAULT_SERVICE_ACCOUNT);
    if sa_name == "default" && token_mounted {
        let named = spec
            .get("serviceAccountName")
            .or_else(|| spec.get("serviceAccount"))
            .is_some();
        let pos = if named {
            pod.pos_of(&[Seg::Key("spec"), Seg::Key("serviceAccountName")])
        } else {
            pod.pos_of(&[Seg::Key("spec")])
        };
        ctx.report(
            &DEFAULT_SERVICE_ACCOUNT,
            pos,
            None,
            format!(
                "pod template {} the \"default\" ServiceAccount of namespace \"{ns}\" with its token mounted: every pod there that names no account shares this identity",
                if named { "names" } else { "names no serviceAccountName, so it runs as" }
            ),
        );
    }

    // K8S003: `default` written, or no namespace at all (applied without `-n`, the object lands
    // in `default`, as NET001 also assumes).
    ctx.assessed(&DEFAULT_NAMESPACE);
    if ctx.object.effective_namespace() == "default" {
        let (pos, how) = match ctx.object.namespace {
            Some(_) => (
                ctx.object
                    .node
                    .pos_of(&[Seg::Key("metadata"), Seg::Key("namespace")]),
                "is deployed to the default namespace",
            ),
            None => (
                ctx.object.node.pos_of(&[Seg::Key("metadata")]),
                "sets no metadata.namespace, so it lands in the default namespace unless applied with -n",
            ),
        };
        ctx.report(
            &DEFAULT_NAMESPACE,
            pos,
            None,
            format!("{} {how}", ctx.object.kind),
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
                let read_only = m.get("readOnly").and_then(Node::as_bool) == Some(true);
                let socket = runtime_socket(path);
                if read_only && socket.is_none() {
                    continue;
                }
                let critical = socket.is_some() || is_node_takeover_path(path);
                let mut path_segs = c.path().to_vec();
                path_segs.extend([Seg::Key("volumeMounts"), Seg::Index(i)]);
                let pos = pod.pos_of(&path_segs);
                let message = match socket {
                    Some(what) if read_only => format!(
                        "{} mounts hostPath {path} (volume \"{vol}\"), {what}, read-only: read-only does not protect a Unix socket, and the runtime API gives control of the node",
                        c.describe()
                    ),
                    Some(what) => format!(
                        "{} mounts hostPath {path} (volume \"{vol}\"), {what}, writable: the runtime API gives control of the node",
                        c.describe()
                    ),
                    None => format!(
                        "{} mounts hostPath {path} (volume \"{vol}\") writable{}",
                        c.describe(),
                        if critical {
                            ": this path gives control of the node"
                        } else {
                            ""
                        }
                    ),
                };
                let severity = if critical {
                    Severity::Critical
                } else {
                    WRITABLE_HOST_PATH.severity
                };
                ctx.report_with(&WRITABLE_HOST_PATH, severity, pos, Some(c.name()), message);
            }
        }
    }

    // K8S010: probes on the regular containers of long-running workloads.
    if !matches!(ctx.object.kind, "Job" | "CronJob") {
        ctx.assessed(&MISSING_PROBES);
        for c in containers
            .iter()
            .filter(|c| c.kind == ContainerKind::Regular)
        {
            let missing: Vec<&str> = ["livenessProbe", "readinessProbe"]
                .into_iter()
                .filter(|k| c.node.get(k).is_none())
                .collect();
            if !missing.is_empty() {
                ctx.report_container(
                    &MISSING_PROBES,
                    pod,
                    c,
                    &[],
                    format!("{} has no {}", c.describe(), missing.join(" and no ")),
                );
            }
        }
    }

    // K8S014: an explicit runAsUser between 1 and 9999 (the container's, else the pod's).
    ctx.assessed(&LOW_UID);
    let pod_uid = spec
        .path(&["securityContext", "runAsUser"])
        .and_then(super::as_int);
    for c in containers
        .iter()
        .filter(|c| c.kind != ContainerKind::Ephemeral)
    {
        let own = c
            .node
            .path(&["securityContext", "runAsUser"])
            .and_then(super::as_int);
        let Some(uid) = own.or(pod_uid) else { continue };
        if (1..10_000).contains(&uid) {
            let (pos, whose) = if own.is_some() {
                let mut segs = c.path().to_vec();
                segs.extend([Seg::Key("securityContext"), Seg::Key("runAsUser")]);
                (pod.pos_of(&segs), "its runAsUser")
            } else {
                (
                    pod.pos_of(&[
                        Seg::Key("spec"),
                        Seg::Key("securityContext"),
                        Seg::Key("runAsUser"),
                    ]),
                    "the pod's runAsUser",
                )
            };
            ctx.report(
                &LOW_UID,
                pos,
                Some(c.name()),
                format!(
                    "{} runs as UID {uid} ({whose}), in the range of the node's own users",
                    c.describe()
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
}

/// Container runtime sockets by file name, and what each one is.
const RUNTIME_SOCKETS: [(&str, &str); 6] = [
    ("docker.sock", "the Docker socket"),
    ("containerd.sock", "the containerd socket"),
    ("crio.sock", "the CRI-O socket"),
    ("cri-dockerd.sock", "the cri-dockerd socket"),
    ("podman.sock", "the Podman socket"),
    ("dockershim.sock", "the dockershim socket"),
];

/// Host directories that hold a runtime socket (themselves or below them).
const RUNTIME_SOCKET_DIRS: [&str; 11] = [
    "/run/docker",
    "/var/run/docker",
    "/run/containerd",
    "/var/run/containerd",
    "/run/crio",
    "/var/run/crio",
    "/run/podman",
    "/var/run/podman",
    "/run/cri-dockerd",
    "/var/run/cri-dockerd",
    "/run/k3s/containerd",
];

/// Directories below a runtime's run directory that hold only container state and bundles
/// (`state.json`, `config.json`, pid files, fifos), never a socket: a shim's socket lives in
/// `/run/containerd/s/`, Docker's in `/run/docker.sock` and `/run/docker/`'s top level. Read-only
/// mounts of these (what a node monitor needs to name containers) do not hand over the runtime.
const RUNTIME_STATE_DIRS: [&str; 4] = [
    "/run/containerd/runc",
    "/run/containerd/io.containerd.runtime.v2.task",
    "/run/docker/runtime-runc",
    "/var/run/docker/runtime-runc",
];

/// Whether a host path is (or holds) a container runtime socket, and which: a socket file by
/// name, a runtime's run directory, `/run` and `/var/run` themselves, which hold them all, or
/// the node's `/`.
/// Such a mount is a node takeover whether or not it is read-only.
fn runtime_socket(path: &str) -> Option<&'static str> {
    let p = path.trim_end_matches('/');
    let file = p.rsplit('/').next().unwrap_or(p);
    if let Some((_, what)) = RUNTIME_SOCKETS.iter().find(|(name, _)| *name == file) {
        return Some(what);
    }
    if matches!(p, "/run" | "/var/run") {
        return Some("the directory holding the container runtime sockets");
    }
    if p.is_empty() {
        return Some("the node's root filesystem, container runtime sockets included");
    }
    let below = |d: &str| p == d || p.strip_prefix(d).is_some_and(|rest| rest.starts_with('/'));
    if RUNTIME_STATE_DIRS.iter().any(|d| below(d)) {
        return None;
    }
    RUNTIME_SOCKET_DIRS
        .iter()
        .any(|d| p == *d || p.strip_prefix(d).is_some_and(|rest| rest.starts_with('/')))
        .then_some("a container runtime's socket directory")
}
