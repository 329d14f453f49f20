//! Sandbox runtimes: RuntimeClass objects (node.k8s.io/v1: `handler`, `overhead`,
//! `scheduling`), the workloads that name them, and the sensitive workloads that need one.
//!
//! A workload is sensitive when it, its pod template or its Namespace carries the label
//! `rampart.io/sensitive: "true"`, or when the scan knows the intent of one of its images and
//! that intent asks for a runtime class (`runtime.class`, passed in by rampart-scan as
//! [`Inventory::sandbox_required`]). A RuntimeClass is a sandbox when its handler is gVisor's
//! (`runsc`, `gvisor`, and names starting with them) or Kata's (`kata*`).
//!
//! A `runtimeClassName` that names no RuntimeClass of the scan is reported (K8S015) only when
//! the scan holds at least one RuntimeClass: RuntimeClasses are cluster-scoped and usually live
//! in the platform team's repository, not beside the application, so an application-only scan
//! cannot tell, and a warning on every such workload would be noise. Once the scan includes
//! RuntimeClasses it is a cluster's view, and a missing one is a pod the API server's
//! RuntimeClass admission refuses.

use super::{Ctx, Inventory, nsa, rule};
use crate::objects::Workload;
use crate::yaml::Seg;
use rampart_core::{Assessment, Layer, RefKind, Reference, Rule, Severity};

/// The label that marks a workload or namespace as sensitive.
pub const SENSITIVE_LABEL: &str = "rampart.io/sensitive";

const RUNTIME_CLASS_DOC: Reference = Reference::new(
    RefKind::Docs,
    "Kubernetes: Runtime Class",
    "https://kubernetes.io/docs/concepts/containers/runtime-class/",
);

pub static RUNTIME_CLASS: Rule = rule(
    "K8S009",
    "sensitive-without-sandbox",
    "Sensitive workload without a sandbox runtime",
    Severity::Medium,
    Layer::Runtime,
    [
        "Workloads labelled sensitive (`rampart.io/sensitive: \"true\"` on the workload or its Namespace), or whose image's intent asks for a runtime class, deserve a second kernel boundary: a sandbox runtime such as gVisor (handler `runsc`) or Kata, selected with `runtimeClassName`. A RuntimeClass of the scan whose handler is `runc` (or anything else but a sandbox) is no second boundary; a class the scan does not hold is judged by its name, and one whose name names no sandbox cannot be confirmed (reported as low). Try the image under gVisor first with `rampart sandbox check` (docs/sandbox.md).",
        "Set `spec.runtimeClassName` to a RuntimeClass whose handler is a sandbox (`runsc`/`gvisor`, `kata*`).",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: vault, labels: {rampart.io/sensitive: \"true\"}}\nspec:\n  containers:\n  - name: vault\n    image: vault\n",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: vault, labels: {rampart.io/sensitive: \"true\"}}\nspec:\n  runtimeClassName: gvisor\n  containers:\n  - name: vault\n    image: vault\n",
    ],
    &[
        nsa("Kubernetes Pod security: sandboxing"),
        RUNTIME_CLASS_DOC,
    ],
);

pub static UNKNOWN_RUNTIME_CLASS: Rule = rule(
    "K8S015",
    "unknown-runtime-class",
    "runtimeClassName names no RuntimeClass of the manifests",
    Severity::Medium,
    Layer::Runtime,
    [
        "The API server's RuntimeClass admission refuses a pod whose `runtimeClassName` names no RuntimeClass, so the workload never runs; a typo in a sandbox class name is a workload that was meant to be sandboxed and is not deployed at all (or, if someone \"fixes\" it by removing the field, runs unsandboxed). Checked only when the scanned manifests define RuntimeClasses: then they are the cluster's set.",
        "Name one of the RuntimeClasses the manifests define, or add the RuntimeClass (with its handler configured on the nodes).",
        "apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata: {name: gvisor}\nhandler: runsc\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: vault}\nspec:\n  runtimeClassName: gvisr\n  containers:\n  - name: vault\n    image: vault\n",
        "apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata: {name: gvisor}\nhandler: runsc\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: vault}\nspec:\n  runtimeClassName: gvisor\n  containers:\n  - name: vault\n    image: vault\n",
    ],
    &[RUNTIME_CLASS_DOC],
);

pub static SANDBOX_CLASS_INCOMPLETE: Rule = rule(
    "K8S016",
    "sandbox-runtime-class-incomplete",
    "Sandbox RuntimeClass without pod overhead or node scheduling",
    Severity::Low,
    Layer::Runtime,
    [
        "A sandbox costs memory and CPU of its own per pod (gVisor's Sentry and gofer, Kata's virtual machine), which the pod's containers do not request. Without `overhead.podFixed` the scheduler and the kubelet's eviction do not count it, and nodes full of sandboxed pods are overcommitted (low). Without `scheduling.nodeSelector` pods of the class may land on nodes whose runtime has no such handler and fail to start (information: every node may have it).",
        "Set `overhead.podFixed` (for example `memory: 64Mi, cpu: 100m` for gVisor, more for Kata) and `scheduling.nodeSelector` for the nodes that run the handler (with tolerations when they are tainted).",
        "apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata: {name: gvisor}\nhandler: runsc\n",
        "apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata: {name: gvisor}\nhandler: runsc\noverhead:\n  podFixed: {memory: 64Mi, cpu: 100m}\nscheduling:\n  nodeSelector: {sandbox.gvisor/enabled: \"true\"}\n",
    ],
    &[
        RUNTIME_CLASS_DOC,
        Reference::new(
            RefKind::Docs,
            "Kubernetes: Pod Overhead",
            "https://kubernetes.io/docs/concepts/scheduling-eviction/pod-overhead/",
        ),
    ],
);

pub static RULES: &[&Rule] = &[
    &RUNTIME_CLASS,
    &UNKNOWN_RUNTIME_CLASS,
    &SANDBOX_CLASS_INCOMPLETE,
];

fn is_truthy(value: Option<&str>) -> bool {
    value.is_some_and(|v| {
        matches!(
            v.to_ascii_lowercase().as_str(),
            "true" | "yes" | "1" | "high"
        )
    })
}

/// Whether a RuntimeClass handler (or a class name, by convention the same) is a sandbox:
/// gVisor (`runsc`, `gvisor`, and names starting with them, e.g. `runsc-kvm`) or Kata
/// (`kata`, `kata-qemu`, `kata-clh`, `kata-fc`...).
pub fn is_sandbox_handler(handler: &str) -> bool {
    let h = handler.to_ascii_lowercase();
    h.starts_with("runsc") || h.starts_with("gvisor") || h.starts_with("kata")
}

/// Sensitive workloads, then workloads naming missing classes (K8S009, K8S015).
pub(crate) fn check(ctx: &mut Ctx<'_, '_>, workload: &Workload<'_>, inventory: &Inventory<'_>) {
    let Some(spec) = workload.spec() else { return };
    let pod = workload.pod;
    let class = spec.str_at(&["runtimeClassName"]).filter(|c| !c.is_empty());
    let class_pos = pod.pos_of(&[Seg::Key("spec"), Seg::Key("runtimeClassName")]);
    let defined = class.and_then(|c| inventory.runtime_class(c));
    // the handler of the class, when the scan defines it
    let handler = defined.map(|o| o.object.node.str_at(&["handler"]).unwrap_or(""));

    if let Some(c) = class
        && defined.is_none()
        && inventory.has_runtime_classes()
    {
        ctx.assessed(&UNKNOWN_RUNTIME_CLASS);
        let known: Vec<&str> = inventory.runtime_class_names().collect();
        ctx.report(
            &UNKNOWN_RUNTIME_CLASS,
            class_pos,
            None,
            format!(
                "runtimeClassName \"{c}\" names no RuntimeClass of the manifests (they define {}): the API server refuses the pod",
                known.join(", ")
            ),
        );
    } else if class.is_some() && inventory.has_runtime_classes() {
        ctx.assessed(&UNKNOWN_RUNTIME_CLASS);
    }

    let ns = ctx.object.effective_namespace();
    let ns_label = inventory
        .namespace(ns)
        .and_then(|n| n.object.label(SENSITIVE_LABEL));
    let why = if is_truthy(ns_label) {
        Some(format!("namespace \"{ns}\" is labelled {SENSITIVE_LABEL}"))
    } else if is_truthy(ctx.object.label(SENSITIVE_LABEL))
        || is_truthy(workload.pod_label(SENSITIVE_LABEL))
    {
        Some(format!("the workload is labelled {SENSITIVE_LABEL}"))
    } else {
        inventory.sandbox_required.get(&ctx.subject).cloned()
    };
    let Some(why) = why else { return };
    ctx.assessed(&RUNTIME_CLASS);
    match (class, handler) {
        (None, _) => ctx.report(
            &RUNTIME_CLASS,
            class_pos,
            None,
            format!("{why} but the pod has no runtimeClassName"),
        ),
        (Some(c), Some(h)) if !is_sandbox_handler(h) => ctx.report(
            &RUNTIME_CLASS,
            class_pos,
            None,
            format!(
                "{why} but its RuntimeClass \"{c}\" has handler \"{h}\", not a sandbox (runsc, gvisor, kata*)"
            ),
        ),
        (Some(c), None) if !is_sandbox_handler(c) => ctx.report_with(
            &RUNTIME_CLASS,
            Severity::Low,
            class_pos,
            None,
            format!(
                "{why} and its runtimeClassName \"{c}\" is not a RuntimeClass of the manifests nor named like a sandbox: cannot tell it is one"
            ),
        ),
        _ => {}
    }
}

/// RuntimeClass objects with a sandbox handler (K8S016).
pub(crate) fn check_classes(inventory: &Inventory<'_>, out: &mut Assessment) {
    for located in inventory.of_kind("RuntimeClass") {
        let node = located.object.node;
        let handler = node.str_at(&["handler"]).unwrap_or("");
        if !is_sandbox_handler(handler) {
            continue;
        }
        let name = located.object.name;
        let mut ctx = Ctx::new(located.file, located.object, out);
        ctx.assessed(&SANDBOX_CLASS_INCOMPLETE);
        let has = |path: &[&str]| {
            node.path(path)
                .is_some_and(|n| n.is_map() && !n.entries().is_empty())
        };
        if !has(&["overhead", "podFixed"]) {
            ctx.report(
                &SANDBOX_CLASS_INCOMPLETE,
                node.pos_of(&[Seg::Key("overhead")]),
                None,
                format!(
                    "RuntimeClass \"{name}\" (handler \"{handler}\") has no overhead.podFixed: the sandbox's own memory and CPU are not counted by the scheduler"
                ),
            );
        }
        if !has(&["scheduling", "nodeSelector"]) {
            ctx.report_with(
                &SANDBOX_CLASS_INCOMPLETE,
                Severity::Info,
                node.pos_of(&[Seg::Key("scheduling")]),
                None,
                format!(
                    "RuntimeClass \"{name}\" (handler \"{handler}\") has no scheduling.nodeSelector: its pods may land on nodes without the handler"
                ),
            );
        }
    }
}
