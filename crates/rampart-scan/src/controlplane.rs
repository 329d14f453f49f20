//! The host layer from control-plane static pod manifests: kube-apiserver,
//! kube-controller-manager, kube-scheduler and etcd Pods (as kubeadm writes them to
//! `/etc/kubernetes/manifests`) checked against the CIS Kubernetes Benchmark v1.12 items their
//! flags show, with kube-bench's own tests (`rampart_cis::master`) on the container's
//! effective command line, so rampart and kube-bench judge a flag alike. Files on the node
//! (1.1.x) are `rampart host`'s; docs/cis.md maps every item.

use rampart_cis::master::{Component, checks_for, container_input};
use rampart_cis::{Input, State, evaluate};
use rampart_core::{
    Assessment, Finding, Layer, Location, RefKind, Reference, Rule, RuleTarget, Severity,
};
use rampart_k8s::ManifestFile;
use rampart_k8s::objects::{Container, Workload, objects};
use rampart_k8s::yaml::{Node, Pos};

const REFERENCES: &[Reference] = &[
    Reference::new(
        RefKind::CisKubernetes,
        "CIS Kubernetes Benchmark v1.12, sections 1.2 to 1.4, 2 and 3.2",
        "https://www.cisecurity.org/benchmark/kubernetes",
    ),
    Reference::new(RefKind::Docs, "rampart's CIS item map", "docs/cis.md"),
];

/// kube-apiserver's flags against CIS 1.2.x and 3.2.1.
pub static API_SERVER: Rule = Rule {
    id: "CIS001",
    name: "kube-apiserver-cis-flags",
    title: "kube-apiserver flags fail CIS Kubernetes Benchmark items",
    severity: Severity::Critical,
    layer: Layer::Host,
    target: RuleTarget::Kubernetes,
    rationale: "The API server is the cluster's front door: anonymous requests, AlwaysAllow authorization, the AlwaysAdmit plugin, a static token file, or etcd and kubelet connections without TLS client certificates each hand the cluster to whoever reaches the port, and without audit logging nobody can tell afterwards. Each finding names the CIS item (1.2.x, 3.2.1) and kube-bench's own test for it.",
    remediation: "Set the flag the finding names in the kube-apiserver static pod manifest (/etc/kubernetes/manifests/kube-apiserver.yaml on kubeadm clusters); the kubelet restarts the API server when the file changes.",
    bad_example: "apiVersion: v1\nkind: Pod\nmetadata:\n  name: kube-apiserver\n  namespace: kube-system\nspec:\n  containers:\n  - name: kube-apiserver\n    image: registry.k8s.io/kube-apiserver:v1.33.0\n    command:\n    - kube-apiserver\n    - --authorization-mode=AlwaysAllow\n    - --anonymous-auth=true\n",
    good_example: "apiVersion: v1\nkind: Pod\nmetadata:\n  name: kube-apiserver\n  namespace: kube-system\nspec:\n  containers:\n  - name: kube-apiserver\n    image: registry.k8s.io/kube-apiserver:v1.33.0\n    command:\n    - kube-apiserver\n    - --anonymous-auth=false\n    - --authorization-mode=Node,RBAC\n    - --enable-admission-plugins=NodeRestriction,EventRateLimit,AlwaysPullImages,DenyServiceExternalIPs\n    - --admission-control-config-file=/etc/kubernetes/admission.yaml\n    - --profiling=false\n    - --audit-log-path=/var/log/kubernetes/audit.log\n    - --audit-log-maxage=30\n    - --audit-log-maxbackup=10\n    - --audit-log-maxsize=100\n    - --audit-policy-file=/etc/kubernetes/audit-policy.yaml\n    - --kubelet-client-certificate=/etc/kubernetes/pki/apiserver-kubelet-client.crt\n    - --kubelet-client-key=/etc/kubernetes/pki/apiserver-kubelet-client.key\n    - --kubelet-certificate-authority=/etc/kubernetes/pki/ca.crt\n    - --service-account-key-file=/etc/kubernetes/pki/sa.pub\n    - --service-account-extend-token-expiration=false\n    - --etcd-certfile=/etc/kubernetes/pki/apiserver-etcd-client.crt\n    - --etcd-keyfile=/etc/kubernetes/pki/apiserver-etcd-client.key\n    - --etcd-cafile=/etc/kubernetes/pki/etcd/ca.crt\n    - --tls-cert-file=/etc/kubernetes/pki/apiserver.crt\n    - --tls-private-key-file=/etc/kubernetes/pki/apiserver.key\n    - --tls-cipher-suites=TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\n    - --client-ca-file=/etc/kubernetes/pki/ca.crt\n    - --encryption-provider-config=/etc/kubernetes/encryption.yaml\n",
    references: REFERENCES,
};

/// kube-controller-manager's flags against CIS 1.3.x.
pub static CONTROLLER_MANAGER: Rule = Rule {
    id: "CIS002",
    name: "kube-controller-manager-cis-flags",
    title: "kube-controller-manager flags fail CIS Kubernetes Benchmark items",
    severity: Severity::Medium,
    layer: Layer::Host,
    target: RuleTarget::Kubernetes,
    rationale: "The controller manager holds the key that signs service account tokens and acts for every controller: without per-controller service account credentials one compromised controller has the rights of all, profiling and a non-local bind address expose it, and without the root CA pods cannot verify the API server. Each finding names the CIS item (1.3.x).",
    remediation: "Set the flag the finding names in the kube-controller-manager static pod manifest.",
    bad_example: "apiVersion: v1\nkind: Pod\nmetadata:\n  name: kube-controller-manager\n  namespace: kube-system\nspec:\n  containers:\n  - name: kube-controller-manager\n    image: registry.k8s.io/kube-controller-manager:v1.33.0\n    command:\n    - kube-controller-manager\n    - --bind-address=0.0.0.0\n    - --use-service-account-credentials=false\n",
    good_example: "apiVersion: v1\nkind: Pod\nmetadata:\n  name: kube-controller-manager\n  namespace: kube-system\nspec:\n  containers:\n  - name: kube-controller-manager\n    image: registry.k8s.io/kube-controller-manager:v1.33.0\n    command:\n    - kube-controller-manager\n    - --bind-address=127.0.0.1\n    - --use-service-account-credentials=true\n    - --profiling=false\n    - --terminated-pod-gc-threshold=10\n    - --service-account-private-key-file=/etc/kubernetes/pki/sa.key\n    - --root-ca-file=/etc/kubernetes/pki/ca.crt\n",
    references: REFERENCES,
};

/// kube-scheduler's flags against CIS 1.4.x.
pub static SCHEDULER: Rule = Rule {
    id: "CIS003",
    name: "kube-scheduler-cis-flags",
    title: "kube-scheduler flags fail CIS Kubernetes Benchmark items",
    severity: Severity::Medium,
    layer: Layer::Host,
    target: RuleTarget::Kubernetes,
    rationale: "A scheduler listening beyond localhost or serving profiling data exposes its endpoints and internals to the network. Each finding names the CIS item (1.4.x).",
    remediation: "Set the flag the finding names in the kube-scheduler static pod manifest.",
    bad_example: "apiVersion: v1\nkind: Pod\nmetadata:\n  name: kube-scheduler\n  namespace: kube-system\nspec:\n  containers:\n  - name: kube-scheduler\n    image: registry.k8s.io/kube-scheduler:v1.33.0\n    command:\n    - kube-scheduler\n    - --bind-address=0.0.0.0\n",
    good_example: "apiVersion: v1\nkind: Pod\nmetadata:\n  name: kube-scheduler\n  namespace: kube-system\nspec:\n  containers:\n  - name: kube-scheduler\n    image: registry.k8s.io/kube-scheduler:v1.33.0\n    command:\n    - kube-scheduler\n    - --bind-address=127.0.0.1\n    - --profiling=false\n",
    references: REFERENCES,
};

/// etcd's flags and `ETCD_*` variables against CIS 2.x.
pub static ETCD: Rule = Rule {
    id: "CIS004",
    name: "etcd-cis-flags",
    title: "etcd flags fail CIS Kubernetes Benchmark items",
    severity: Severity::High,
    layer: Layer::Host,
    target: RuleTarget::Kubernetes,
    rationale: "etcd holds every Secret of the cluster: without TLS and client certificate authentication (for clients and for peers), or with self-signed automatic TLS, anyone who reaches its ports reads or rewrites the cluster's state. Each finding names the CIS item (2.x); `ETCD_*` environment variables count as their flags, as etcd reads them.",
    remediation: "Set the flag the finding names in the etcd static pod manifest.",
    bad_example: "apiVersion: v1\nkind: Pod\nmetadata:\n  name: etcd\n  namespace: kube-system\nspec:\n  containers:\n  - name: etcd\n    image: registry.k8s.io/etcd:3.5.21-0\n    command:\n    - etcd\n    - --auto-tls=true\n",
    good_example: "apiVersion: v1\nkind: Pod\nmetadata:\n  name: etcd\n  namespace: kube-system\nspec:\n  containers:\n  - name: etcd\n    image: registry.k8s.io/etcd:3.5.21-0\n    command:\n    - etcd\n    - --cert-file=/etc/kubernetes/pki/etcd/server.crt\n    - --key-file=/etc/kubernetes/pki/etcd/server.key\n    - --client-cert-auth=true\n    - --peer-cert-file=/etc/kubernetes/pki/etcd/peer.crt\n    - --peer-key-file=/etc/kubernetes/pki/etcd/peer.key\n    - --peer-client-cert-auth=true\n    - --trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt\n    - --peer-trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt\n",
    references: REFERENCES,
};

/// The control-plane rules.
pub static RULES: &[&Rule] = &[&API_SERVER, &CONTROLLER_MANAGER, &SCHEDULER, &ETCD];

fn rule(component: Component) -> &'static Rule {
    match component {
        Component::ApiServer => &API_SERVER,
        Component::ControllerManager => &CONTROLLER_MANAGER,
        Component::Scheduler => &SCHEDULER,
        Component::Etcd => &ETCD,
    }
}

/// How much a failing CIS item weighs (the rule's severity is the heaviest of its items).
fn severity(id: &str) -> Severity {
    use Severity::*;
    match id {
        "1.2.6" | "1.2.10" => Critical,
        "1.2.1" | "1.2.2" | "1.2.8" | "1.2.12" | "1.2.23" | "1.2.24" | "1.2.25" | "1.2.26"
        | "2.1" | "2.2" | "2.4" | "2.5" => High,
        "1.2.9" | "1.2.11" | "1.2.15" | "1.2.17" | "1.2.18" | "1.2.19" | "1.2.29" | "1.2.30"
        | "1.3.1" | "1.3.2" | "1.4.1" => Low,
        _ => Medium,
    }
}

/// What a container runs: the program and its arguments after it, each with its position.
struct Invocation {
    /// Empty when the container has no command (the image's entrypoint runs).
    program: String,
    words: Vec<(String, Pos)>,
}

/// The container's program and arguments: the command's first word, then the command's rest
/// and `args`; a command that is a shell running a script (`sh -c "exec kube-apiserver
/// --flag=value ..."`) runs the script's words (its `args` are the script's `$0`, `$1`...).
fn invocation(container: &Container<'_>) -> Invocation {
    let command = container
        .node
        .get("command")
        .map(Node::as_seq)
        .unwrap_or(&[]);
    let args = container.node.get("args").map(Node::as_seq).unwrap_or(&[]);
    let text = |i: usize| command.get(i).map(scalar_text).unwrap_or_default();
    let shell = matches!(
        text(0).rsplit('/').next(),
        Some("sh" | "bash" | "ash" | "dash")
    ) && text(1) == "-c";
    if let (true, Some(script)) = (shell, command.get(2)) {
        let mut words = scalar_text(script)
            .split_whitespace()
            .skip_while(|w| *w == "exec")
            .map(|w| (w.to_owned(), script.pos))
            .collect::<Vec<_>>()
            .into_iter();
        let program = words.next().map(|(w, _)| w).unwrap_or_default();
        return Invocation {
            program,
            words: words.collect(),
        };
    }
    Invocation {
        program: text(0),
        words: command
            .iter()
            .skip(1)
            .chain(args.iter())
            .map(|n| (scalar_text(n), n.pos))
            .collect(),
    }
}

/// The component a container runs: its program, else (no command: the image's entrypoint)
/// the pod's `component` label or the container's name when either names one.
fn component_of(
    workload: &Workload<'_>,
    container: &Container<'_>,
    run: &Invocation,
) -> Option<Component> {
    if !run.program.is_empty() {
        return Component::from_program(&run.program);
    }
    workload
        .pod_label("component")
        .and_then(Component::from_program)
        .or_else(|| Component::from_program(container.name()))
}

fn scalar_text(n: &Node) -> String {
    use rampart_k8s::yaml::Value;
    match &n.value {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Null | Value::Seq(_) | Value::Map(_) => String::new(),
    }
}

/// The container's environment variables with literal values (etcd reads `ETCD_*`).
fn environment(container: &Container<'_>) -> Vec<(String, String)> {
    container
        .node
        .get("env")
        .map(Node::as_seq)
        .unwrap_or(&[])
        .iter()
        .filter_map(|e| {
            Some((
                e.str_at(&["name"])?.to_owned(),
                scalar_text(e.get("value")?),
            ))
        })
        .collect()
}

/// The findings of every control-plane component found among the manifests' Pods.
pub fn assess(manifests: &[ManifestFile]) -> Assessment {
    let mut out = Assessment::new();
    let Ok(_) = rampart_cis::master::manifest_checks() else {
        return out;
    };
    for file in manifests {
        for doc in &file.documents {
            for object in objects(doc) {
                if object.kind != "Pod" {
                    continue;
                }
                let Some(workload) = Workload::from_object(object) else {
                    continue;
                };
                for container in workload.containers() {
                    let run = invocation(&container);
                    if let Some(component) = component_of(&workload, &container, &run) {
                        assess_container(&mut out, file, &workload, &container, component, run);
                    }
                }
            }
        }
    }
    out
}

fn assess_container(
    out: &mut Assessment,
    file: &ManifestFile,
    workload: &Workload<'_>,
    container: &Container<'_>,
    component: Component,
    run: Invocation,
) {
    let rule = rule(component);
    let subject = workload.object.subject();
    out.assessed(rule, &subject, &file.path);
    let Invocation { program, words } = run;
    let program = if program.is_empty() {
        component.program().to_owned()
    } else {
        program
    };
    let args: Vec<String> = words.iter().map(|(w, _)| w.clone()).collect();
    let env = environment(container);
    let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let input = container_input(&program, &args, &env_refs);
    let container_pos = workload.pod.pos_of(&container.path());
    let Ok(checks) = checks_for(component) else {
        return;
    };
    for mc in checks {
        let check = &mc.check;
        let outcome = evaluate(
            check,
            &Input {
                command: &input.command,
                config: None,
                env: &input.env,
                error: None,
            },
        );
        if !matches!(outcome.state, State::Fail | State::Warn) {
            continue;
        }
        // Point at the flag the first failing item looked at, when it is written.
        let flag_pos = check
            .tests
            .iter()
            .flat_map(|t| &t.test_items)
            .zip(&outcome.items)
            .find(|(_, r)| !r.passed)
            .and_then(|(item, _)| input.parsed.get(item.flag.trim_start_matches('-')))
            .and_then(|f| words.get(f.index))
            .map(|(_, pos)| *pos);
        let pos = flag_pos.unwrap_or(container_pos);
        let found: Vec<String> = check
            .tests
            .iter()
            .flat_map(|t| &t.test_items)
            .filter_map(|item| {
                let name = item.flag.trim_start_matches('-');
                let env_found = env
                    .iter()
                    .find(|(k, _)| !item.env.is_empty() && *k == item.env)
                    .map(|(k, v)| format!("{k}={v}"));
                input
                    .parsed
                    .get(name)
                    .map(|f| format!("--{}={}", f.name, f.value))
                    .or(env_found)
            })
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let found = if found.is_empty() {
            "not set".to_owned()
        } else {
            format!("found {}", found.join(" "))
        };
        let title = check
            .text
            .trim_end_matches(" (Automated)")
            .trim_end_matches(" (Manual)");
        out.push(
            Finding::new(
                rule,
                subject.clone(),
                Location::new(&file.path, pos.line, pos.column),
                format!(
                    "CIS {} [{}] {}: {} ({}): expected {}",
                    check.id,
                    outcome.state,
                    component.program(),
                    title,
                    found,
                    outcome.expected
                ),
            )
            .with_severity(severity(&check.id)),
        );
    }
}
