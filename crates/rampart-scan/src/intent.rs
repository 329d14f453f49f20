//! Workloads that grant more than their image's intent (INT001): given intents (`--intent`,
//! `intents = [...]` in rampart.toml), every workload whose containers run an image with an
//! intent is checked with the admission webhook's own check (`rampart_intent::conform`): the
//! intent's digest, no privilege, escalation, root, writable root, capability, seccomp
//! widening, host namespace or path, port or runtime class beyond it.

use rampart_core::{
    Assessment, Finding, Layer, Location, RefKind, Reference, Rule, RuleTarget, Severity,
};
use rampart_intent::conform::{IntentSet, check_pod_spec};
use rampart_intent::doc::Protocol;
use rampart_k8s::ManifestFile;
use rampart_k8s::objects::{Workload, objects};
use rampart_k8s::yaml::{Node, Seg};

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

/// NetworkPolicies that let a workload's pods be reached, or reach, beyond its image's intent.
pub static POLICY_BEYOND_INTENT: Rule = Rule {
    id: "INT002",
    name: "network-policy-beyond-image-intent",
    title: "NetworkPolicies wider than the workload's image intent",
    severity: Severity::Medium,
    layer: Layer::Network,
    target: RuleTarget::Kubernetes,
    rationale: "An image's intent lists the ports its workload listens on and the destinations it talks to. Pods no NetworkPolicy isolates, or policies that open other ports, every source, or destinations outside the intent, leave reachable what the workload never needs: a compromised neighbour reaches it, or it reaches out where nothing should go. `rampart intent compile` writes the policies the intent needs.",
    remediation: "Apply the NetworkPolicies `rampart intent compile` writes for the image (default deny for the workload's pods, ingress on the intent's ports from its sources, egress to its destinations and cluster DNS), or narrow the existing ones to them.",
    bad_example: "# intent: listens on TCP 8080, connects to 10.30.0.0/16:5432
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress, Egress]
  ingress: [{}]
  egress: [{to: [{ipBlock: {cidr: 0.0.0.0/0}}]}]
",
    good_example: "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress, Egress]
  ingress: [{ports: [{port: 8080}]}]
  egress: [{to: [{ipBlock: {cidr: 10.30.0.0/16}}], ports: [{port: 5432}]}]
",
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

/// A port of a NetworkPolicy rule: its number (a name is resolved against the workload's
/// container ports), protocol and end port; `None` when it cannot be resolved.
fn rule_port(p: &Node, containers: &[(String, u16, Protocol)]) -> Option<(u16, u16, Protocol)> {
    let proto = match p.str_at(&["protocol"]) {
        Some("UDP") => Protocol::Udp,
        Some("SCTP") => Protocol::Sctp,
        _ => Protocol::Tcp,
    };
    let first = match p.get("port") {
        None => return Some((1, 65535, proto)),
        Some(n) => match n.as_str() {
            Some(text) => match text.parse::<u16>() {
                Ok(v) => v,
                Err(_) => containers.iter().find(|(name, _, _)| name == text)?.1,
            },
            None => u16::try_from(n.to_json().as_u64()?).ok()?,
        },
    };
    let last = p
        .get("endPort")
        .and_then(|e| e.to_json().as_u64())
        .and_then(|e| u16::try_from(e).ok())
        .unwrap_or(first);
    Some((first, last, proto))
}

/// Whether the intent allows `range` towards `cidr`-or-anything (`None`: every destination).
fn intent_allows_egress(
    intent: &rampart_intent::Intent,
    dest: Option<&(ipnet::IpNet, Vec<ipnet::IpNet>)>,
    (first, last, proto): (u16, u16, Protocol),
) -> bool {
    use rampart_intent::doc::{Destination, Peer};
    if intent.network.cluster_dns && first == 53 && last == 53 && dest.is_none() {
        // the cluster DNS rule names its pods by selector, judged with the other selectors
        return true;
    }
    intent.network.egress.iter().any(|e| {
        let ports_ok = e.protocol == proto
            && (e.ports.is_empty() || e.ports.iter().any(|r| r.first <= first && last <= r.last));
        let dest_ok = match (&e.to, dest) {
            (Destination::Dns(_), _) => true,
            // the policy's block (without its own except blocks) inside the intent's
            (Destination::Peer(Peer::Cidr { cidr, except }), Some((d, d_except))) => {
                cidr.contains(d)
                    && except.iter().all(|x| {
                        !(x.contains(d) || d.contains(x)) || d_except.iter().any(|y| y.contains(x))
                    })
            }
            (Destination::Peer(Peer::Pods { .. }), None) => true,
            _ => false,
        };
        ports_ok && dest_ok
    })
}

/// The NetworkPolicies of the workload's namespace that select its pods, against the intent:
/// a direction no policy isolates, ingress on a port the intent does not listen on (or on every
/// port), egress to destinations or ports outside the intent. One finding per policy rule.
fn policies_beyond(
    intent: &rampart_intent::Intent,
    workload: &Workload<'_>,
    manifests: &[ManifestFile],
    subject: &str,
    file: &str,
    out: &mut Assessment,
) {
    use rampart_k8s::rules::network::{directions, selects};
    let ns = workload.object.effective_namespace();
    let labels = workload.pod_labels();
    let containers: Vec<(String, u16, Protocol)> = workload
        .containers()
        .iter()
        .flat_map(|c| {
            c.node
                .get("ports")
                .map(Node::as_seq)
                .unwrap_or(&[])
                .iter()
                .filter_map(|p| {
                    let name = p.str_at(&["name"])?.to_owned();
                    let port = u16::try_from(p.get("containerPort")?.to_json().as_u64()?).ok()?;
                    let proto = match p.str_at(&["protocol"]) {
                        Some("UDP") => Protocol::Udp,
                        Some("SCTP") => Protocol::Sctp,
                        _ => Protocol::Tcp,
                    };
                    Some((name, port, proto))
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let mut selecting: Vec<(&str, &Node)> = Vec::new();
    for m in manifests {
        for doc in &m.documents {
            for o in objects(doc) {
                if o.kind == "NetworkPolicy"
                    && o.effective_namespace() == ns
                    && o.node
                        .path(&["spec", "podSelector"])
                        .is_some_and(|sel| selects(sel, labels))
                {
                    selecting.push((m.path.as_str(), o.node));
                }
            }
        }
    }
    let at = |f: &str, node: &Node| Location::new(f, node.pos.line, node.pos.column);
    let ingress: Vec<_> = selecting.iter().filter(|(_, p)| directions(p).0).collect();
    let egress: Vec<_> = selecting.iter().filter(|(_, p)| directions(p).1).collect();
    let wpos = workload.pod.pos;
    let listens: Vec<String> = intent
        .network
        .listen
        .iter()
        .map(|l| format!("{} {}", l.protocol.as_str(), l.port.0))
        .collect();
    if ingress.is_empty() {
        out.push(Finding::new(
            &POLICY_BEYOND_INTENT,
            subject.to_owned(),
            Location::new(file, wpos.line, wpos.column),
            format!(
                "no NetworkPolicy isolates the pods' ingress: every source may connect on every port; the intent listens on {}",
                if listens.is_empty() { "nothing".to_owned() } else { listens.join(", ") }
            ),
        ));
    }
    if egress.is_empty() {
        out.push(Finding::new(
            &POLICY_BEYOND_INTENT,
            subject.to_owned(),
            Location::new(file, wpos.line, wpos.column),
            format!(
                "no NetworkPolicy isolates the pods' egress: they may connect anywhere; the intent has {} destination(s)",
                intent.network.egress.len()
            ),
        ));
    }
    for (f, policy) in ingress {
        let name = policy.str_at(&["metadata", "name"]).unwrap_or("?");
        for rule in policy
            .path(&["spec", "ingress"])
            .map(Node::as_seq)
            .unwrap_or(&[])
        {
            let ports: Vec<&Node> = rule
                .get("ports")
                .map(Node::as_seq)
                .unwrap_or(&[])
                .iter()
                .collect();
            let all = [(1u16, 65535u16, Protocol::Tcp)];
            let resolved: Vec<(u16, u16, Protocol)> = if ports.is_empty() {
                all.to_vec()
            } else {
                ports
                    .iter()
                    .filter_map(|p| rule_port(p, &containers))
                    .collect()
            };
            for (first, last, proto) in resolved {
                let listened = intent
                    .network
                    .listen
                    .iter()
                    .any(|l| l.protocol == proto && first == l.port.0 && last == l.port.0);
                if !listened {
                    let what = if first == 1 && last == 65535 {
                        "every port".to_owned()
                    } else if first == last {
                        format!("{} {first}", proto.as_str())
                    } else {
                        format!("{} {first}-{last}", proto.as_str())
                    };
                    out.push(Finding::new(
                        &POLICY_BEYOND_INTENT,
                        subject.to_owned(),
                        at(f, rule),
                        format!("NetworkPolicy {name} admits ingress on {what}, which the intent does not listen on"),
                    ));
                }
            }
        }
    }
    for (f, policy) in egress {
        let name = policy.str_at(&["metadata", "name"]).unwrap_or("?");
        for rule in policy
            .path(&["spec", "egress"])
            .map(Node::as_seq)
            .unwrap_or(&[])
        {
            let ports: Vec<(u16, u16, Protocol)> = match rule.get("ports").map(Node::as_seq) {
                None | Some([]) => vec![(1, 65535, Protocol::Tcp), (1, 65535, Protocol::Udp)],
                Some(ps) => ps
                    .iter()
                    .filter_map(|p| rule_port(p, &containers))
                    .collect(),
            };
            let peers = rule.get("to").map(Node::as_seq).unwrap_or(&[]);
            let dests: Vec<Option<(ipnet::IpNet, Vec<ipnet::IpNet>)>> = if peers.is_empty() {
                vec![Some((
                    ipnet::IpNet::V4(ipnet::Ipv4Net::default()),
                    Vec::new(),
                ))]
            } else {
                peers
                    .iter()
                    .map(|p| {
                        let cidr = p
                            .str_at(&["ipBlock", "cidr"])
                            .and_then(|c| c.parse::<ipnet::IpNet>().ok())?;
                        let except = p
                            .path(&["ipBlock", "except"])
                            .map(Node::as_seq)
                            .unwrap_or(&[])
                            .iter()
                            .filter_map(|x| x.as_str().and_then(|x| x.parse().ok()))
                            .collect();
                        Some((cidr, except))
                    })
                    .collect()
            };
            let wider = ports.iter().any(|port| {
                dests
                    .iter()
                    .any(|d| !intent_allows_egress(intent, d.as_ref(), *port))
            });
            if wider {
                out.push(Finding::new(
                    &POLICY_BEYOND_INTENT,
                    subject.to_owned(),
                    at(f, rule),
                    format!("NetworkPolicy {name} admits egress beyond the intent's destinations"),
                ));
            }
        }
    }
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
                let first_intent = workload
                    .containers()
                    .iter()
                    .filter_map(|c| c.image())
                    .find_map(|i| intents.for_image(i))
                    .map(|(i, _)| i.clone());
                if let Some(intent) = first_intent {
                    out.assessed(&POLICY_BEYOND_INTENT, &subject, &file.path);
                    policies_beyond(
                        &intent, &workload, manifests, &subject, &file.path, &mut out,
                    );
                }
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

/// The workloads (by subject) whose image's intent asks for a runtime class, and why: they must
/// run in a sandbox, as a workload labelled `rampart.io/sensitive` must (K8S009; INT001 checks
/// the class is the intent's own).
pub fn sandbox_required(
    manifests: &[ManifestFile],
    intents: &IntentSet,
) -> std::collections::HashMap<String, String> {
    if intents.is_empty() {
        return std::collections::HashMap::new();
    }
    manifests
        .iter()
        .flat_map(|file| file.documents.iter())
        .flat_map(objects)
        .filter_map(Workload::from_object)
        .filter_map(|workload| {
            let (image, class) = workload.containers().iter().find_map(|c| {
                let image = c.image()?;
                let (intent, _) = intents.for_image(image)?;
                Some((
                    image.to_owned(),
                    intent.runtime.as_ref()?.class.as_str().to_owned(),
                ))
            })?;
            Some((
                workload.object.subject(),
                format!("the intent of image {image} asks for runtime class {class}"),
            ))
        })
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    const IMAGE: &str = "registry.example.com/shop/web@sha256:9b7c5f3c2d1e0a4b6c8d7e9f0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3";

    fn intents(runtime: &str) -> IntentSet {
        let text = format!(
            "version = 1\nimage = \"{IMAGE}\"\nname = \"web\"\n[process]\nuser = 10001\nexecutables = [{{ path = \"/bin/web\" }}]\n{runtime}"
        );
        let intent =
            rampart_intent::Intent::parse(&text, std::path::Path::new("web.toml")).unwrap();
        let mut set = IntentSet::default();
        set.add(intent, "web.toml").unwrap();
        set
    }

    fn k8s009(manifest: &str, set: &IntentSet) -> Vec<String> {
        let (file, errors) = ManifestFile::load("k8s.yaml", manifest);
        assert!(errors.is_empty(), "{errors:?}");
        let files = [file];
        let required = sandbox_required(&files, set);
        rampart_k8s::scan_with(&files, &rampart_k8s::PssOptions::default(), required)
            .findings
            .into_iter()
            .filter(|f| f.rule_id == "K8S009")
            .map(|f| f.message)
            .collect()
    }

    /// An intent's `runtime.class` makes its workloads sensitive: the class they use must be a
    /// sandbox of the manifests (INT001 checks it is the intent's own).
    #[test]
    fn an_intent_asking_for_a_runtime_class_requires_a_sandbox() {
        let workload = |class: &str| {
            format!(
                "apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata: {{name: gvisor}}\nhandler: runc\n---\napiVersion: v1\nkind: Pod\nmetadata: {{name: web, namespace: shop}}\nspec:\n  runtimeClassName: {class}\n  containers:\n  - name: web\n    image: {IMAGE}\n"
            )
        };
        let with_class = intents("[runtime]\nclass = \"gvisor\"\n");
        assert_eq!(
            k8s009(&workload("gvisor"), &with_class),
            [format!(
                "the intent of image {IMAGE} asks for runtime class gvisor but its RuntimeClass \"gvisor\" has handler \"runc\", not a sandbox (runsc, gvisor, kata*)"
            )]
        );
        assert!(
            k8s009(
                &workload("gvisor").replace("handler: runc", "handler: runsc"),
                &with_class
            )
            .is_empty()
        );
        // an intent without a runtime class asks for nothing, nor does an empty set
        assert!(k8s009(&workload("gvisor"), &intents("")).is_empty());
        assert!(k8s009(&workload("gvisor"), &IntentSet::default()).is_empty());
    }
}
