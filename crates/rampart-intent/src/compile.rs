//! One intent compiled into every layer: the seccomp profile, the securityContext (a patch for a
//! workload manifest, and the settings of a runc bundle), NetworkPolicies, the monitor's runtime
//! rules and answers, and the admission profile. Pure: the same intent and options give the same
//! bytes (no time, no randomness, maps ordered).

use crate::doc::{Answer, Destination, Egress, Intent, Peer, PortRange, Protocol};
use crate::rules;
use rampart_seccomp::generate::{RUNC_AFTER_FILTER, RUNC_AFTER_FILTER_NO_NNP};
use rampart_seccomp::profile::{Action, Profile, Rule, native_architectures};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Why an intent could not be compiled.
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    /// The seccomp profile the intent refers to could not be read.
    #[error("kernel.seccomp: {0}")]
    Seccomp(#[from] rampart_seccomp::profile::ProfileError),
    /// An option is invalid.
    #[error("{0}")]
    Option(String),
    /// A generated document could not be rendered (a bug: the values are validated).
    #[error("rendering {what}: {message}")]
    Render { what: &'static str, message: String },
}

/// Where the compiled artefacts will be used.
#[derive(Debug, Clone)]
pub struct Options {
    /// The directory of the intent file (a `kernel.seccomp` path is relative to it).
    pub base: PathBuf,
    /// The namespace of the workload (NetworkPolicies, the patch). None: left out, so that
    /// `kubectl apply -n` chooses.
    pub namespace: Option<String>,
    /// The labels that select the workload's pods (default: `app: <name>`).
    pub pod_labels: BTreeMap<String, String>,
    /// The container's name in the pod (default: the workload's name).
    pub container: Option<String>,
    /// The public key the image must be signed with (the admission profile's trust policy).
    pub key: Option<PathBuf>,
    /// The kernel enforcement policy only reports what it would deny (audit before enforce).
    pub audit: bool,
}

impl Options {
    /// Defaults for an intent file at `path`.
    pub fn for_file(path: &Path) -> Options {
        Options {
            base: path.parent().map(Path::to_owned).unwrap_or_default(),
            namespace: None,
            pod_labels: BTreeMap::new(),
            container: None,
            key: None,
            audit: false,
        }
    }
}

/// The layer an artefact configures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    Seccomp,
    Enforce,
    SecurityContext,
    Runc,
    NetworkPolicy,
    RuntimeRules,
    Monitor,
    Admission,
}

impl Target {
    /// How the summary names it.
    pub fn as_str(self) -> &'static str {
        match self {
            Target::Seccomp => "seccomp",
            Target::Enforce => "kernel enforcement",
            Target::SecurityContext => "securityContext",
            Target::Runc => "runc",
            Target::NetworkPolicy => "NetworkPolicy",
            Target::RuntimeRules => "runtime rules",
            Target::Monitor => "monitor",
            Target::Admission => "admission",
        }
    }
}

/// One compiled file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artefact {
    /// Its file name in the output directory.
    pub file: String,
    /// What it configures.
    pub target: Target,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// A place where a layer cannot express the intent exactly; always said, never silent.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Note {
    /// The layer concerned.
    pub target: Target,
    /// What is wider or missing, and what covers it.
    pub message: String,
}

/// Everything compiled from one intent.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// The workload's name (objects are named after it).
    pub name: String,
    /// The files, in a fixed order.
    pub artefacts: Vec<Artefact>,
    /// What a layer could not express exactly.
    pub notes: Vec<Note>,
    /// The seccomp profile.
    pub seccomp: Option<Profile>,
    /// The runc `config.json` settings (merge with [`apply_to_bundle_config`]).
    pub runc: Value,
    /// The kernel enforcement policy (rampart-enforce's `Policy`, as JSON).
    pub enforce: Value,
}

/// Where kubelet finds the profile, relative to its seccomp directory.
pub fn localhost_profile(name: &str) -> String {
    format!("rampart/{name}.json")
}

/// Compiles `intent`.
pub fn compile(intent: &Intent, opts: &Options) -> Result<Compiled, CompileError> {
    let name = intent.workload_name();
    let mut notes = Vec::new();
    let pod_labels = if opts.pod_labels.is_empty() {
        BTreeMap::from([("app".to_owned(), name.clone())])
    } else {
        opts.pod_labels.clone()
    };
    if let Some(ns) = &opts.namespace {
        if ns.is_empty()
            || ns.len() > 63
            || !ns
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(CompileError::Option(format!(
                "namespace `{ns}` is not a DNS-1123 label"
            )));
        }
    }
    let container = opts.container.clone().unwrap_or_else(|| name.clone());

    let seccomp = seccomp_profile(intent, opts)?;
    if seccomp.is_none() {
        notes.push(Note {
            target: Target::Seccomp,
            message: "the intent lists no syscalls and no profile: the runtime's default profile (RuntimeDefault) is used".into(),
        });
    }
    let mut artefacts = Vec::new();
    if let Some(p) = &seccomp {
        artefacts.push(Artefact {
            file: format!("{name}.seccomp.json"),
            target: Target::Seccomp,
            bytes: (p.to_json() + "\n").into_bytes(),
        });
    }

    let ctx = security_context(intent, seccomp.is_some(), &name, &mut notes);
    let patch = workload_patch(intent, &ctx, &container, &name);
    artefacts.push(Artefact {
        file: format!("{name}.patch.yaml"),
        target: Target::SecurityContext,
        bytes: yaml(&[patch], "the workload patch")?.into_bytes(),
    });

    let runc = runc_settings(intent, seccomp.as_ref());
    artefacts.push(Artefact {
        file: format!("{name}.runc.json"),
        target: Target::Runc,
        bytes: pretty(&runc, "the runc settings")?.into_bytes(),
    });

    let enforce = enforce_policy(intent, opts.audit, &mut notes);
    artefacts.push(Artefact {
        file: format!("{name}.enforce.json"),
        target: Target::Enforce,
        bytes: pretty(&enforce, "the enforcement policy")?.into_bytes(),
    });

    let policies = network_policies(
        intent,
        &name,
        opts.namespace.as_deref(),
        &pod_labels,
        &mut notes,
    );
    artefacts.push(Artefact {
        file: format!("{name}.networkpolicy.yaml"),
        target: Target::NetworkPolicy,
        bytes: yaml(&policies, "the NetworkPolicies")?.into_bytes(),
    });

    let generated = rules::generate(intent, &name, &mut notes)?;
    artefacts.push(Artefact {
        file: format!("{name}.rules.yaml"),
        target: Target::RuntimeRules,
        bytes: generated.yaml.into_bytes(),
    });
    artefacts.push(Artefact {
        file: format!("{name}.monitor.toml"),
        target: Target::Monitor,
        bytes: monitor_config(&name, &intent.image.to_string(), &generated.answers).into_bytes(),
    });

    // The intent itself (canonical form), which the admission profile's intent gate reads.
    artefacts.push(Artefact {
        file: format!("{name}.intent.toml"),
        target: Target::Admission,
        bytes: intent
            .to_toml()
            .map_err(|e| CompileError::Render {
                what: "the intent",
                message: e.to_string(),
            })?
            .into_bytes(),
    });
    let (profile, trust) = admission(intent, &name, opts);
    if let Some(trust) = trust {
        artefacts.push(Artefact {
            file: format!("{name}.trust.toml"),
            target: Target::Admission,
            bytes: trust.into_bytes(),
        });
    } else {
        notes.push(Note {
            target: Target::Admission,
            message:
                "no signing key given (--key): the admission profile does not require a signature"
                    .into(),
        });
    }
    artefacts.push(Artefact {
        file: format!("{name}.admission.toml"),
        target: Target::Admission,
        bytes: profile.into_bytes(),
    });
    notes.sort();
    notes.dedup();
    Ok(Compiled {
        name,
        artefacts,
        notes,
        seccomp,
        runc,
        enforce,
    })
}

fn pretty(v: &Value, what: &'static str) -> Result<String, CompileError> {
    serde_json::to_string_pretty(v)
        .map(|s| s + "\n")
        .map_err(|e| CompileError::Render {
            what,
            message: e.to_string(),
        })
}

/// One YAML document of `value` (long strings never folded: conditions, digests).
pub(crate) fn yaml_of(
    value: &impl serde::Serialize,
    what: &'static str,
) -> Result<String, CompileError> {
    let mut options = serde_saphyr::SerializerOptions::default();
    options.folded_wrap_chars = usize::MAX;
    serde_saphyr::to_string_with_options(value, options).map_err(|e| CompileError::Render {
        what,
        message: e.to_string(),
    })
}

fn yaml(docs: &[Value], what: &'static str) -> Result<String, CompileError> {
    let mut out = String::new();
    for doc in docs {
        out.push_str("---\n");
        out.push_str(&yaml_of(doc, what)?);
    }
    Ok(out)
}

/// The seccomp profile: the listed syscalls (plus what runc itself calls after installing the
/// filter), or the referenced profile; `None` when the intent gives neither.
fn seccomp_profile(intent: &Intent, opts: &Options) -> Result<Option<Profile>, CompileError> {
    if let Some(rel) = &intent.kernel.seccomp {
        return Ok(Some(Profile::read(&opts.base.join(rel.as_str()))?));
    }
    let Some(list) = &intent.kernel.syscalls else {
        return Ok(None);
    };
    let runc = if intent.process.no_new_privileges {
        RUNC_AFTER_FILTER
    } else {
        RUNC_AFTER_FILTER_NO_NNP
    };
    let names: BTreeSet<String> = list
        .iter()
        .map(|s| s.as_str().to_owned())
        .chain(runc.iter().map(|s| (*s).to_owned()))
        .collect();
    let mut rule = Rule::new(names.into_iter().collect(), Action::Allow);
    rule.comment = format!(
        "the intent's syscalls for {}, and those runc makes after installing the filter",
        intent.image.digest()
    );
    Ok(Some(Profile {
        default_action: Action::Errno,
        default_errno_ret: Some(1),
        architectures: native_architectures(),
        arch_map: Vec::new(),
        flags: Vec::new(),
        listener_path: None,
        listener_metadata: None,
        syscalls: vec![rule],
        rampart: None,
    }))
}

/// Capabilities Pod Security `restricted` lets a container add.
const RESTRICTED_ADDABLE: &[&str] = &["NET_BIND_SERVICE"];

/// The container's securityContext.
fn security_context(intent: &Intent, seccomp: bool, name: &str, notes: &mut Vec<Note>) -> Value {
    let p = &intent.process;
    let caps: Vec<&str> = intent
        .kernel
        .capabilities
        .iter()
        .map(|c| c.as_str())
        .collect();
    let mut ctx = json!({
        "allowPrivilegeEscalation": !p.no_new_privileges,
        "capabilities": { "drop": ["ALL"] },
        "readOnlyRootFilesystem": intent.files.read_only_root,
        "runAsUser": p.user,
        "runAsGroup": p.gid(),
        "runAsNonRoot": p.user != 0,
        "seccompProfile": if seccomp {
            json!({ "type": "Localhost", "localhostProfile": localhost_profile(name) })
        } else {
            json!({ "type": "RuntimeDefault" })
        },
    });
    if !caps.is_empty() {
        put(&mut ctx, &["capabilities", "add"], json!(caps));
    }
    if p.user == 0 {
        notes.push(Note {
            target: Target::SecurityContext,
            message: "the intent runs as root (user 0): runAsNonRoot is false and the pod cannot meet Pod Security restricted".into(),
        });
    }
    if !p.no_new_privileges {
        notes.push(Note {
            target: Target::SecurityContext,
            message: "no-new-privileges is false: allowPrivilegeEscalation is true and the pod cannot meet Pod Security restricted".into(),
        });
    }
    let beyond: Vec<&str> = caps
        .iter()
        .copied()
        .filter(|c| !RESTRICTED_ADDABLE.contains(c))
        .collect();
    if !beyond.is_empty() {
        notes.push(Note {
            target: Target::SecurityContext,
            message: format!(
                "capabilities {} are beyond what Pod Security restricted allows (NET_BIND_SERVICE): the pod can meet baseline at most",
                beyond.join(", ")
            ),
        });
    }
    ctx
}

/// Writable paths that are the runtime's, not the image's: no volume is mounted for them.
const RUNTIME_TREES: &[&str] = &["/dev", "/proc", "/sys"];

fn runtime_provided(path: &str) -> bool {
    RUNTIME_TREES
        .iter()
        .any(|t| path == *t || path.strip_prefix(t).is_some_and(|r| r.starts_with('/')))
}

/// The writable directories that need a volume when the root is read-only, with a volume name.
fn scratch_volumes(intent: &Intent) -> Vec<(String, String)> {
    if !intent.files.read_only_root {
        return Vec::new();
    }
    intent
        .files
        .writable
        .iter()
        .filter(|w| !runtime_provided(w.as_str()) && w.as_str() != "/")
        .enumerate()
        .map(|(i, w)| (format!("rampart-writable-{i}"), w.as_str().to_owned()))
        .collect()
}

/// A strategic-merge patch for any workload with a pod template (`kubectl patch --type
/// strategic --patch-file`): the container's securityContext, emptyDir volumes for the
/// writable paths of a read-only root, the runtime class.
fn workload_patch(intent: &Intent, ctx: &Value, container: &str, name: &str) -> Value {
    let volumes = scratch_volumes(intent);
    let mut c = json!({ "name": container, "securityContext": ctx });
    let mut spec = json!({ "containers": [] });
    if !volumes.is_empty() {
        put(
            &mut c,
            &["volumeMounts"],
            json!(
                volumes
                    .iter()
                    .map(|(v, p)| json!({ "name": v, "mountPath": p }))
                    .collect::<Vec<_>>()
            ),
        );
        put(
            &mut spec,
            &["volumes"],
            json!(
                volumes
                    .iter()
                    .map(|(v, _)| json!({ "name": v, "emptyDir": {} }))
                    .collect::<Vec<_>>()
            ),
        );
    }
    put(&mut spec, &["containers"], json!([c]));
    if let Some(r) = &intent.runtime {
        put(&mut spec, &["runtimeClassName"], json!(r.class.as_str()));
    }
    json!({
        "metadata": { "annotations": {
            "rampart.dev/intent": name,
            "rampart.dev/intent-image": intent.image.as_str(),
        } },
        "spec": { "template": { "spec": spec } },
    })
}

/// The runc `config.json` settings: the process's user, capabilities and no-new-privileges,
/// the read-only root with tmpfs mounts for the writable directories, the seccomp profile, and
/// the image annotations the monitor reads.
fn runc_settings(intent: &Intent, seccomp: Option<&Profile>) -> Value {
    let p = &intent.process;
    let caps: Vec<String> = intent.kernel.capabilities.iter().map(|c| c.oci()).collect();
    let mounts: Vec<Value> = scratch_volumes(intent)
        .iter()
        .map(|(_, path)| {
            json!({
                "destination": path,
                "type": "tmpfs",
                "source": "tmpfs",
                "options": ["nosuid", "nodev", "noexec", "mode=1777", "size=64m"],
            })
        })
        .collect();
    let mut v = json!({
        "process": {
            "user": { "uid": p.user, "gid": p.gid() },
            "noNewPrivileges": p.no_new_privileges,
            "capabilities": {
                "bounding": caps,
                "effective": caps,
                "permitted": caps,
                "inheritable": [],
                "ambient": if p.user == 0 { json!([]) } else { json!(caps) },
            },
        },
        "root": { "readonly": intent.files.read_only_root },
        "mounts": mounts,
        "annotations": {
            "io.rampart.image.digest": intent.image.digest(),
            "org.opencontainers.image.ref.name": intent.image.name(),
        },
    });
    if let Some(profile) = seccomp {
        put(
            &mut v,
            &["linux"],
            json!({ "seccomp": oci_seccomp(profile) }),
        );
    }
    v
}

/// The profile in the form runc reads (`linux.seccomp`: no provenance block).
fn oci_seccomp(p: &Profile) -> Value {
    let mut p = p.clone();
    p.rampart = None;
    serde_json::from_str(&p.to_json()).unwrap_or(Value::Null)
}

/// Merges compiled runc settings into a bundle's `config.json`: process user, capabilities and
/// no-new-privileges replaced; the root made read-only as the intent says; tmpfs mounts added
/// (replacing mounts at the same destination); seccomp replaced; annotations added.
pub fn apply_to_bundle_config(config: &mut Value, settings: &Value) {
    let Some(cfg) = config.as_object_mut() else {
        return;
    };
    if let Some(sp) = settings.get("process") {
        let process = cfg.entry("process").or_insert_with(|| json!({}));
        for key in ["user", "noNewPrivileges", "capabilities"] {
            if let (Some(v), Some(obj)) = (sp.get(key), process.as_object_mut()) {
                obj.insert(key.to_owned(), v.clone());
            }
        }
    }
    if let Some(ro) = settings.pointer("/root/readonly") {
        let root = cfg
            .entry("root")
            .or_insert_with(|| json!({ "path": "rootfs" }));
        if let Some(obj) = root.as_object_mut() {
            obj.insert("readonly".into(), ro.clone());
        }
    }
    if let Some(new) = settings.get("mounts").and_then(Value::as_array) {
        let mounts = cfg.entry("mounts").or_insert_with(|| json!([]));
        if let Some(list) = mounts.as_array_mut() {
            let dests: BTreeSet<&str> = new
                .iter()
                .filter_map(|m| m.get("destination").and_then(Value::as_str))
                .collect();
            list.retain(|m| {
                !m.get("destination")
                    .and_then(Value::as_str)
                    .is_some_and(|d| dests.contains(d))
            });
            list.extend(new.iter().cloned());
        }
    }
    if let Some(s) = settings.pointer("/linux/seccomp") {
        let linux = cfg.entry("linux").or_insert_with(|| json!({}));
        if let Some(obj) = linux.as_object_mut() {
            obj.insert("seccomp".into(), s.clone());
        }
    }
    if let Some(a) = settings.get("annotations").and_then(Value::as_object) {
        let ann = cfg.entry("annotations").or_insert_with(|| json!({}));
        if let Some(obj) = ann.as_object_mut() {
            for (k, v) in a {
                obj.insert(k.clone(), v.clone());
            }
        }
    }
}

/// A NetworkPolicy peer.
fn peer(p: &Peer) -> Value {
    match p {
        Peer::Cidr { cidr, except } => {
            let mut b = json!({ "cidr": cidr.to_string() });
            if !except.is_empty() {
                put(
                    &mut b,
                    &["except"],
                    json!(except.iter().map(ToString::to_string).collect::<Vec<_>>()),
                );
            }
            json!({ "ipBlock": b })
        }
        Peer::Pods { pods, namespaces } => {
            let mut v = json!({});
            if let Some(l) = pods {
                put(&mut v, &["podSelector"], json!({ "matchLabels": l.0 }));
            }
            if let Some(l) = namespaces {
                put(
                    &mut v,
                    &["namespaceSelector"],
                    json!({ "matchLabels": l.0 }),
                );
            }
            v
        }
    }
}

fn np_ports(ports: &[PortRange], protocol: Protocol) -> Vec<Value> {
    ports
        .iter()
        .map(|r| {
            let mut v = json!({ "protocol": protocol.as_str(), "port": r.first });
            if r.last != r.first {
                put(&mut v, &["endPort"], json!(r.last));
            }
            v
        })
        .collect()
}

fn metadata(name: &str, namespace: Option<&str>) -> Value {
    let mut m = json!({
        "name": name,
        "labels": { "app.kubernetes.io/managed-by": "rampart" },
    });
    if let Some(ns) = namespace {
        put(&mut m, &["namespace"], json!(ns));
    }
    m
}

/// Default deny for the workload's pods, the ingress it listens for, the egress it needs:
/// the NetworkPolicies of one intent for the pods `pod_labels` selects, named after `name`
/// (rampart-netpol also reads them to compute the flows an intent declares).
pub fn network_policies(
    intent: &Intent,
    name: &str,
    namespace: Option<&str>,
    pod_labels: &BTreeMap<String, String>,
    notes: &mut Vec<Note>,
) -> Vec<Value> {
    let selector = json!({ "matchLabels": pod_labels });
    let mut docs = vec![json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": metadata(&format!("{name}-default-deny"), namespace),
        "spec": { "podSelector": selector, "policyTypes": ["Ingress", "Egress"] },
    })];
    let ingress: Vec<Value> = intent
        .network
        .listen
        .iter()
        .map(|l| {
            let mut rule =
                json!({ "ports": [{ "protocol": l.protocol.as_str(), "port": l.port.0 }] });
            if let Some(from) = &l.from {
                put(
                    &mut rule,
                    &["from"],
                    json!(from.iter().map(peer).collect::<Vec<_>>()),
                );
            }
            rule
        })
        .collect();
    if !ingress.is_empty() {
        docs.push(json!({
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": metadata(&format!("{name}-ingress"), namespace),
            "spec": { "podSelector": selector, "policyTypes": ["Ingress"], "ingress": ingress },
        }));
    }
    let mut egress: Vec<Value> = intent
        .network
        .egress
        .iter()
        .map(|e| egress_rule(e, notes))
        .collect();
    if intent.network.cluster_dns {
        egress.push(json!({
            "to": [{
                "namespaceSelector": { "matchLabels": { "kubernetes.io/metadata.name": "kube-system" } },
                "podSelector": { "matchLabels": { "k8s-app": "kube-dns" } },
            }],
            "ports": [ { "protocol": "UDP", "port": 53 }, { "protocol": "TCP", "port": 53 } ],
        }));
    }
    if !egress.is_empty() {
        docs.push(json!({
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": metadata(&format!("{name}-egress"), namespace),
            "spec": { "podSelector": selector, "policyTypes": ["Egress"], "egress": egress },
        }));
    }
    docs
}

fn egress_rule(e: &Egress, notes: &mut Vec<Note>) -> Value {
    let to = match &e.to {
        Destination::Peer(p) => vec![peer(p)],
        Destination::Dns(d) => {
            notes.push(Note {
                target: Target::NetworkPolicy,
                message: format!(
                    "egress to `{d}`: NetworkPolicy v1 cannot name hosts, so any address is allowed on {}; the runtime rules and the kernel enforcement cannot check names either",
                    ports_text(&e.ports, e.protocol)
                ),
            });
            vec![
                json!({ "ipBlock": { "cidr": "0.0.0.0/0" } }),
                json!({ "ipBlock": { "cidr": "::/0" } }),
            ]
        }
    };
    let mut rule = json!({ "to": to });
    if e.ports.is_empty() {
        // every port of the protocol: a port entry without a number
        put(
            &mut rule,
            &["ports"],
            json!([{ "protocol": e.protocol.as_str() }]),
        );
    } else {
        put(&mut rule, &["ports"], json!(np_ports(&e.ports, e.protocol)));
    }
    rule
}

/// `TCP 443, 8000-8080` or `every TCP port`.
pub(crate) fn ports_text(ports: &[PortRange], protocol: Protocol) -> String {
    if ports.is_empty() {
        format!("every {} port", protocol.as_str())
    } else {
        format!(
            "{} {}",
            protocol.as_str(),
            ports
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

/// The monitor's configuration for the generated rules: the rules file, one action per rule,
/// and the enforcement of the compiled policy on the image's containers (`[[enforce]]`: its
/// denials are alerts under the same rules).
fn monitor_config(name: &str, image: &str, answers: &[(String, Answer)]) -> String {
    let mut out = format!(
        "# rampart monitor configuration compiled from the intent of `{name}`.\n\
         # Run it beside Falco's stable rules by adding them to `rules`.\n\
         rules = [\"{name}.rules.yaml\"]\n"
    );
    for (rule, answer) in answers {
        out.push_str(&format!(
            "\n[[action]]\nrule = {}\ndo = \"{}\"\n",
            toml_string(rule),
            answer.as_str()
        ));
    }
    out.push_str(&format!(
        "\n# The intent enforced in the kernel on the image's containers (fanotify, cgroup programs).\n\
         [[enforce]]\nname = {}\nimage = {}\npolicy = {}\n",
        toml_string(name),
        toml_string(image),
        toml_string(&format!("{name}.enforce.json"))
    ));
    out
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// The admission profile (for the webhook's configuration) and the trust policy it uses.
fn admission(intent: &Intent, name: &str, opts: &Options) -> (String, Option<String>) {
    let mut out = format!(
        "# rampart admission profile compiled from the intent of `{name}` ({image}).\n\
         # Add it to the webhook's configuration and route the workload's namespace to it.\n\
         [profiles.intent-{name}]\n\
         pss = {{ level = \"restricted\" }}\n\
         digest = {{ mode = \"enforce\" }}\n\
         registries = {{ allow = [{repo}] }}\n\
         intent = {{ intents = [{file}] }}\n",
        image = intent.image,
        repo = toml_string(intent.image.repository()),
        file = toml_string(&format!("{name}.intent.toml")),
    );
    if let Some(r) = &intent.runtime {
        out.push_str(&format!(
            "runtime-class = {{ allow = [{}] }}\n",
            toml_string(r.class.as_str())
        ));
    }
    let trust = opts.key.as_ref().map(|key| {
        out.push_str(&format!(
            "signatures = {{ policy = {} }}\n",
            toml_string(&format!("{name}.trust.toml"))
        ));
        format!(
            "# Trust policy compiled from the intent of `{name}`: its image must be signed by this key.\n\
             [[image]]\n\
             match = [{}]\n\
             keys = [{}]\n",
            toml_string(intent.image.repository()),
            toml_string(&key.to_string_lossy()),
        )
    });
    (out, trust)
}

/// Sets `value` at `path` in `v`, creating objects on the way (a non-object is replaced).
fn put(v: &mut Value, path: &[&str], value: Value) {
    let mut cur = v;
    for k in path {
        if !cur.is_object() {
            *cur = json!({});
        }
        let Some(obj) = cur.as_object_mut() else {
            return;
        };
        cur = obj.entry((*k).to_owned()).or_insert(Value::Null);
    }
    *cur = value;
}

/// `net` without the `except` blocks inside it, as the fewest prefixes (the connection guard
/// matches prefixes only).
pub fn subtract(net: ipnet::IpNet, except: &[ipnet::IpNet]) -> Vec<ipnet::IpNet> {
    if except.iter().any(|e| e.contains(&net)) {
        return Vec::new();
    }
    if !except.iter().any(|e| net.contains(e)) {
        return vec![net];
    }
    match net.subnets(net.prefix_len().saturating_add(1)) {
        Ok(halves) if net.prefix_len() < net.max_prefix_len() => {
            halves.flat_map(|h| subtract(h, except)).collect()
        }
        _ => Vec::new(),
    }
}

fn any_address() -> [ipnet::IpNet; 2] {
    [
        ipnet::IpNet::V4(ipnet::Ipv4Net::default()),
        ipnet::IpNet::V6(ipnet::Ipv6Net::default()),
    ]
}

/// The policy rampart-enforce applies in the kernel (Landlock for exec, writes and reads; the
/// cgroup connection guard for egress and binds): the same allow-lists as the runtime rules.
fn enforce_policy(intent: &Intent, audit: bool, notes: &mut Vec<Note>) -> Value {
    let mut egress: Vec<Value> = Vec::new();
    let mut push = |nets: &[ipnet::IpNet], ports: &[PortRange], protocol: Protocol| {
        let proto = match protocol {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => return false,
        };
        for net in nets {
            if ports.is_empty() {
                egress.push(json!({ "net": net.to_string(), "protocol": proto }));
            }
            for r in ports {
                egress.push(json!({ "net": net.to_string(), "ports": [r.first, r.last], "protocol": proto }));
            }
        }
        true
    };
    // loopback: the workload talking to itself, as the runtime rule does not count it either
    let loopback: [ipnet::IpNet; 2] = [
        "127.0.0.0/8".parse().unwrap_or_else(|_| any_address()[0]),
        "::1/128".parse().unwrap_or_else(|_| any_address()[1]),
    ];
    push(&loopback, &[], Protocol::Tcp);
    push(&loopback, &[], Protocol::Udp);
    for e in &intent.network.egress {
        let nets: Vec<ipnet::IpNet> = match &e.to {
            Destination::Peer(Peer::Cidr { cidr, except }) => subtract(*cidr, except),
            Destination::Peer(Peer::Pods { .. }) => {
                notes.push(Note {
                    target: Target::Enforce,
                    message: format!(
                        "egress to pods by label: the connection guard cannot know their addresses and allows any address on {}",
                        ports_text(&e.ports, e.protocol)
                    ),
                });
                any_address().to_vec()
            }
            Destination::Dns(d) => {
                notes.push(Note {
                    target: Target::Enforce,
                    message: format!(
                        "egress to `{d}`: the connection guard does not resolve names and allows any address on {}",
                        ports_text(&e.ports, e.protocol)
                    ),
                });
                any_address().to_vec()
            }
        };
        if !push(&nets, &e.ports, e.protocol) {
            notes.push(Note {
                target: Target::Enforce,
                message: "SCTP egress: the connection guard judges TCP and UDP only; SCTP is not enforced in the kernel".into(),
            });
        }
    }
    if intent.network.cluster_dns {
        let dns = [PortRange {
            first: 53,
            last: 53,
        }];
        push(&any_address(), &dns, Protocol::Udp);
        push(&any_address(), &dns, Protocol::Tcp);
    }
    let listen: Vec<Value> = intent
        .network
        .listen
        .iter()
        .filter_map(|l| {
            let proto = match l.protocol {
                Protocol::Tcp => "tcp",
                Protocol::Udp => "udp",
                Protocol::Sctp => return None,
            };
            Some(json!({ "port": l.port.0, "protocol": proto }))
        })
        .collect();
    if intent
        .network
        .listen
        .iter()
        .any(|l| l.protocol == Protocol::Sctp)
    {
        notes.push(Note {
            target: Target::Enforce,
            message: "SCTP listen ports are not enforced in the kernel (TCP and UDP only)".into(),
        });
    }
    if intent.process.executables.iter().any(|e| e.args.is_some()) {
        notes.push(Note {
            target: Target::Enforce,
            message: "argument patterns are checked by the runtime rule only: the kernel allows an executable whatever its arguments".into(),
        });
    }
    json!({
        "mode": if audit { "audit" } else { "enforce" },
        "exec": intent.process.executables.iter().map(|e| e.path.as_str()).collect::<Vec<_>>(),
        "writable": intent.files.writable.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
        "never-read": intent.files.never_read.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
        "egress": egress,
        "listen": listen,
    })
}
