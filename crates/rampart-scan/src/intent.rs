//! Workloads that grant more than their image's intent (INT001): given intents (`--intent`,
//! `intents = [...]` in rampart.toml), every workload whose containers run an image with an
//! intent is checked with the admission webhook's own check (`rampart_intent::conform`): the
//! intent's digest, no privilege, escalation, root, writable root, capability, seccomp
//! widening, host namespace or path, port or runtime class beyond it.

use rampart_core::{
    Assessment, Finding, Layer, Location, RefKind, Reference, Rule, RuleTarget, Severity,
};
use rampart_intent::conform::{IntentSet, check_pod_spec};
use rampart_k8s::ManifestFile;
use rampart_k8s::objects::{Workload, objects};
use rampart_k8s::yaml::Seg;

/// A workload grants more than its image's intent.
pub static BEYOND_INTENT: Rule = Rule {
    id: "INT001",
    name: "workload-beyond-image-intent",
    title: "Workload grants more than its image's intent",
    severity: Severity::High,
    layer: Layer::Runtime,
    target: RuleTarget::Kubernetes,
    rationale: "An image's intent (docs/intent.md) says what its workload needs: its user, capabilities, syscalls, ports, a read-only root, no privilege gain. A manifest that grants more (a capability, a writable root, a host namespace, another port, another digest of the image) opens a wall the intent closed, and the layers compiled from the intent (seccomp, runtime rules, NetworkPolicies) no longer describe what runs. The admission webhook's intent gate refuses such a pod; the scan says so before deploy.",
    remediation: "Apply the securityContext patch `rampart intent compile` writes for the image, pin the image to the intent's digest, and expose only the intent's ports; if the workload really needs more, change the intent (and re-learn or re-review it) rather than the manifest alone.",
    bad_example: "# intent: web@sha256:..., user 10001, no capabilities, listens on 8080\napiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n  - name: web\n    image: registry.example.com/shop/web@sha256:...\n    securityContext:\n      capabilities: {add: [NET_ADMIN]}\n",
    good_example: "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n  - name: web\n    image: registry.example.com/shop/web@sha256:...\n    ports: [{containerPort: 8080}]\n    securityContext:\n      runAsNonRoot: true\n      allowPrivilegeEscalation: false\n      readOnlyRootFilesystem: true\n      capabilities: {drop: [ALL]}\n      seccompProfile: {type: Localhost, localhostProfile: rampart/web.json}\n",
    references: &[Reference::new(
        RefKind::Docs,
        "rampart: one intent per image",
        "docs/intent.md",
    )],
};

/// Parses `containers[0].securityContext.privileged` into path segments.
fn segments(field: &str) -> Vec<Seg<'_>> {
    let mut out = Vec::new();
    for part in field.split('.') {
        match part.split_once('[') {
            Some((key, rest)) => {
                out.push(Seg::Key(key));
                if let Ok(i) = rest.trim_end_matches(']').parse::<usize>() {
                    out.push(Seg::Index(i));
                }
            }
            None => out.push(Seg::Key(part)),
        }
    }
    out
}

/// Every workload with a container whose image has an intent: one control per such workload,
/// a finding per grant beyond the intent, at its field (or the nearest field present).
pub fn assess(manifests: &[ManifestFile], intents: &IntentSet) -> Assessment {
    let mut out = Assessment::new();
    if intents.is_empty() {
        return out;
    }
    for file in manifests {
        for doc in &file.documents {
            for object in objects(doc) {
                let Some(workload) = Workload::from_object(object) else {
                    continue;
                };
                let Some(spec) = workload.pod.get("spec") else {
                    continue;
                };
                let check = check_pod_spec(intents, &spec.to_json());
                let has_intent = workload
                    .containers()
                    .iter()
                    .filter_map(|c| c.image())
                    .any(|i| intents.for_image(i).is_some());
                if !has_intent {
                    continue;
                }
                let subject = workload.object.subject();
                out.assessed(&BEYOND_INTENT, &subject, &file.path);
                for e in check.excess {
                    let mut path = vec![Seg::Key("spec")];
                    path.extend(segments(&e.field));
                    let pos = workload.pod.pos_of(&path);
                    let who = if e.container.is_empty() {
                        String::new()
                    } else {
                        format!("container {} ", e.container)
                    };
                    out.push(Finding::new(
                        &BEYOND_INTENT,
                        subject.clone(),
                        Location::new(&file.path, pos.line, pos.column),
                        format!("{who}grants more than its image's intent: {}", e.message),
                    ));
                }
            }
        }
    }
    out
}

/// Reads the intents given to a scan (files, or directories of `*.toml`/`*.json`): the set, and
/// an input error (file, line, column) for each problem; the other intents still count.
pub fn load(paths: &[std::path::PathBuf]) -> (IntentSet, Vec<rampart_core::InputError>) {
    let (set, problems) = IntentSet::load_each(paths);
    let errors = problems
        .iter()
        .map(|e| {
            let (file, line, column, message) = e.located();
            rampart_core::InputError {
                file,
                line,
                column,
                message,
            }
        })
        .collect();
    (set, errors)
}
