//! The kubelet's effective configuration and the CIS Kubernetes node items (v1.12 section 4;
//! `protectKernelDefaults` from v1.20's 4.2.6).
//!
//! The kubelet's settings come from three places, and a check that reads one of them gives
//! false results (kube-bench's most reported problem): its command line (the running
//! process, else its systemd unit with drop-ins and environment files), its configuration
//! file (`--config`, YAML or JSON, a relative path resolved against the kubelet's working
//! directory) with the drop-ins of `--config-dir`, and the defaults of the version. Flags win
//! over the file, the file over the defaults; and the defaults differ: a kubelet started
//! without a configuration file keeps the old flag defaults (anonymous access on, the
//! AlwaysAllow authorizer, the read-only port 10255), one with a file gets the
//! `KubeletConfiguration` defaults (anonymous off, Webhook, port 0). Relative paths inside
//! the file are resolved against the file's directory, as the kubelet does.

use std::collections::BTreeMap;

use rampart_core::{InputError, Layer, RefKind, Reference, Rule, RuleTarget, Severity};
use serde_json::{Value, json};

use crate::Host;
use crate::units::{Started, processes, unit_command};

const CIS_K8S: &str = "https://www.cisecurity.org/benchmark/kubernetes";

pub static KUBELET: Rule = Rule {
    id: "HOST020",
    name: "kubelet-configuration",
    title: "The kubelet's effective configuration is weaker than the CIS node items",
    severity: Severity::High,
    layer: Layer::Host,
    target: RuleTarget::Host,
    rationale: "The kubelet runs every pod of the node and answers on port 10250: anonymous access or the AlwaysAllow authorizer lets anyone who reaches it exec into every pod; the read-only port shows every pod's spec; without certificate rotation and strong ciphers its TLS weakens. The effective value is what counts: a flag overrides the file, and a kubelet without a file has insecure defaults.",
    remediation: "Set the value the finding names in the kubelet's configuration file (and remove the flag that overrides it from the unit or kubeadm-flags.env), then restart the kubelet.",
    bad_example: "/var/lib/kubelet/config.yaml: authentication: {anonymous: {enabled: true}}",
    good_example: "/var/lib/kubelet/config.yaml: authentication: {anonymous: {enabled: false}, webhook: {enabled: true}}, authorization: {mode: Webhook}",
    references: &[Reference::new(
        RefKind::CisKubernetes,
        "4.2 Kubelet (v1.12)",
        CIS_K8S,
    )],
};

pub static KUBELET_FILES: Rule = Rule {
    id: "HOST021",
    name: "kubelet-files",
    title: "A kubelet file is writable or readable beyond root",
    severity: Severity::Medium,
    layer: Layer::Host,
    target: RuleTarget::Host,
    rationale: "The kubelet's unit and configuration decide how every pod of the node is isolated, and its kubeconfig holds the node's credentials: whoever may change or read them controls or impersonates the node.",
    remediation: "`chown root:root` and `chmod 600` the file the finding names (644 for the CA file).",
    bad_example: "/var/lib/kubelet/config.yaml: root:root 0644",
    good_example: "/var/lib/kubelet/config.yaml: root:root 0600",
    references: &[Reference::new(
        RefKind::CisKubernetes,
        "4.1 Worker node configuration files (v1.12)",
        CIS_K8S,
    )],
};

pub static RULES: &[&Rule] = &[&KUBELET, &KUBELET_FILES];

/// Flags that are booleans (`--flag` alone is true; a value needs `=`).
const BOOL_FLAGS: &[&str] = &[
    "anonymous-auth",
    "authentication-token-webhook",
    "protect-kernel-defaults",
    "make-iptables-util-chains",
    "rotate-certificates",
    "rotate-server-certificates",
    "seccomp-default",
    "fail-swap-on",
    "serialize-image-pulls",
    "enable-server",
    "enable-debugging-handlers",
    "cgroups-per-qos",
    "register-node",
    "register-schedulable",
    "exit-on-lock-contention",
    "local-storage-capacity-isolation",
    "kernel-memcg-notification",
    "enable-controller-attach-detach",
    "keep-terminated-pod-volumes",
    "logtostderr",
    "alsologtostderr",
    "help",
    "version",
];

/// Flags that map onto a field of the configuration file: flag, JSON path, kind.
const FLAG_FIELDS: &[(&str, &[&str], Kind)] = &[
    (
        "anonymous-auth",
        &["authentication", "anonymous", "enabled"],
        Kind::Bool,
    ),
    (
        "authentication-token-webhook",
        &["authentication", "webhook", "enabled"],
        Kind::Bool,
    ),
    ("authorization-mode", &["authorization", "mode"], Kind::Text),
    (
        "client-ca-file",
        &["authentication", "x509", "clientCAFile"],
        Kind::Text,
    ),
    ("read-only-port", &["readOnlyPort"], Kind::Int),
    (
        "streaming-connection-idle-timeout",
        &["streamingConnectionIdleTimeout"],
        Kind::Text,
    ),
    (
        "protect-kernel-defaults",
        &["protectKernelDefaults"],
        Kind::Bool,
    ),
    (
        "make-iptables-util-chains",
        &["makeIPTablesUtilChains"],
        Kind::Bool,
    ),
    ("event-qps", &["eventRecordQPS"], Kind::Int),
    ("tls-cert-file", &["tlsCertFile"], Kind::Text),
    ("tls-private-key-file", &["tlsPrivateKeyFile"], Kind::Text),
    ("rotate-certificates", &["rotateCertificates"], Kind::Bool),
    (
        "rotate-server-certificates",
        &["serverTLSBootstrap"],
        Kind::Bool,
    ),
    ("tls-cipher-suites", &["tlsCipherSuites"], Kind::List),
    ("tls-min-version", &["tlsMinVersion"], Kind::Text),
    ("pod-max-pids", &["podPidsLimit"], Kind::Int),
    ("seccomp-default", &["seccompDefault"], Kind::Bool),
    ("feature-gates", &["featureGates"], Kind::Gates),
    ("pod-manifest-path", &["staticPodPath"], Kind::Text),
    ("cgroup-driver", &["cgroupDriver"], Kind::Text),
    ("max-pods", &["maxPods"], Kind::Int),
];

/// Other flags the kubelet knows (read, not checked); anything else is an input error.
const OTHER_FLAGS: &[&str] = &[
    "config",
    "config-dir",
    "kubeconfig",
    "bootstrap-kubeconfig",
    "container-runtime-endpoint",
    "image-service-endpoint",
    "pod-infra-container-image",
    "node-ip",
    "hostname-override",
    "node-labels",
    "register-with-taints",
    "cloud-provider",
    "cloud-config",
    "root-dir",
    "cert-dir",
    "runtime-cgroups",
    "kubelet-cgroups",
    "system-cgroups",
    "cluster-dns",
    "cluster-domain",
    "resolv-conf",
    "v",
    "vmodule",
    "network-plugin",
    "cni-bin-dir",
    "cni-conf-dir",
    "container-runtime",
    "runtime-request-timeout",
    "volume-plugin-dir",
    "provider-id",
    "address",
    "port",
    "healthz-port",
    "healthz-bind-address",
    "eviction-hard",
    "eviction-soft",
    "eviction-soft-grace-period",
    "kube-reserved",
    "system-reserved",
    "enforce-node-allocatable",
    "image-gc-high-threshold",
    "image-gc-low-threshold",
    "node-status-update-frequency",
    "lock-file",
    "log-dir",
    "log-file",
    "log-flush-frequency",
    "allowed-unsafe-sysctls",
    "cpu-manager-policy",
    "topology-manager-policy",
    "reserved-cpus",
    "container-log-max-size",
    "container-log-max-files",
    "experimental-mounter-path",
    "dynamic-config-dir",
    "authorization-webhook-cache-authorized-ttl",
    "authorization-webhook-cache-unauthorized-ttl",
    "authentication-token-webhook-cache-ttl",
    "http-check-frequency",
    "sync-frequency",
    "file-check-frequency",
    "manifest-url",
    "manifest-url-header",
    "max-open-files",
    "oom-score-adj",
    "pods-per-core",
    "serialize-image-pulls",
    "registry-qps",
    "registry-burst",
    "event-burst",
    "kube-api-qps",
    "kube-api-burst",
    "image-credential-provider-config",
    "image-credential-provider-bin-dir",
    "node-status-max-images",
    "seccomp-profile-root",
    "housekeeping-interval",
    "minimum-container-ttl-duration",
    "volume-stats-agg-period",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bool,
    Int,
    Text,
    List,
    Gates,
}

/// The kubelet's effective configuration.
#[derive(Debug, Clone, Default)]
pub struct Effective {
    /// the merged `KubeletConfiguration` (camelCase fields)
    pub config: Value,
    /// where each set field's value came from (`flag --anonymous-auth`, the file, `default`)
    pub from: BTreeMap<String, String>,
    /// the command line and where it was read
    pub started: Option<Started>,
    /// the configuration file, as on the node (absolute)
    pub config_file: Option<String>,
    /// the `--kubeconfig` file
    pub kubeconfig: Option<String>,
    /// `--hostname-override`, when given
    pub hostname_override: Option<String>,
    /// the command line as the kubelet reads it, every flag as `--name=value` (a value in the
    /// next word attached, a boolean alone made `=true`), for the CIS checks
    pub command: String,
}

/// The defaults of a kubelet with a configuration file (`KubeletConfiguration` v1beta1), for
/// the settings whose default differs from a flags-only kubelet's. The others are left unset,
/// as the CIS tests judge an unset value (by the benchmark's own reading of the default).
fn file_defaults() -> Value {
    json!({
        "authentication": {"anonymous": {"enabled": false}, "webhook": {"enabled": true}},
        "authorization": {"mode": "Webhook"},
        "readOnlyPort": 0,
    })
}

/// The same settings' defaults for a kubelet started with flags only (the flags' own).
fn flag_defaults() -> Value {
    json!({
        "authentication": {"anonymous": {"enabled": true}, "webhook": {"enabled": false}},
        "authorization": {"mode": "AlwaysAllow"},
        "readOnlyPort": 10255,
    })
}

fn set(v: &mut Value, path: &[&str], value: Value) {
    let mut cur = v;
    for (i, k) in path.iter().enumerate() {
        if !cur.is_object() {
            *cur = json!({});
        }
        let Some(map) = cur.as_object_mut() else {
            return;
        };
        if i + 1 == path.len() {
            map.insert((*k).to_owned(), value);
            return;
        }
        cur = map.entry((*k).to_owned()).or_insert_with(|| json!({}));
    }
}

fn get<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |cur, k| cur.get(*k))
}

/// `over` merged into `base`, recording where each leaf came from.
fn merge(
    base: &mut Value,
    over: &Value,
    source: &str,
    from: &mut BTreeMap<String, String>,
    prefix: &str,
) {
    let Some(map) = over.as_object() else { return };
    for (k, v) in map {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match (base.get_mut(k), v) {
            (Some(b), Value::Object(_)) if b.is_object() && k != "featureGates" => {
                merge(b, v, source, from, &key);
            }
            _ => {
                if let Some(obj) = base.as_object_mut() {
                    obj.insert(k.clone(), v.clone());
                }
                from.insert(key, source.to_owned());
            }
        }
    }
}

/// `path` resolved against `dir` when relative.
fn resolve(dir: &str, path: &str) -> String {
    if path.starts_with('/') {
        path.to_owned()
    } else {
        let joined = format!("{}/{path}", dir.trim_end_matches('/'));
        // normalise `./` and `../`
        let mut parts: Vec<&str> = Vec::new();
        for p in joined.split('/') {
            match p {
                "" | "." => {}
                ".." => {
                    parts.pop();
                }
                p => parts.push(p),
            }
        }
        format!("/{}", parts.join("/"))
    }
}

/// Reads a YAML or JSON configuration file into JSON; errors with positions.
fn read_config(host: &mut Host, path: &str) -> Option<Value> {
    let text = match host.root.read(path) {
        Ok(Some(t)) => t,
        Ok(None) => {
            host.errors.push(InputError {
                file: path.to_owned(),
                line: 0,
                column: 0,
                message: "the kubelet's configuration file does not exist".into(),
            });
            return None;
        }
        Err(e) => {
            host.errors.push(e);
            return None;
        }
    };
    let loaded = rampart_k8s::yaml::load(&text, rampart_k8s::yaml::Limits::default());
    if let Some(e) = loaded.errors.first() {
        host.errors.push(InputError {
            file: path.to_owned(),
            line: e.line,
            column: e.column,
            message: e.message.clone(),
        });
        return None;
    }
    let doc = loaded.documents.first().map(|d| d.root.to_json());
    match doc {
        Some(v @ Value::Object(_)) => Some(v),
        _ => {
            host.errors.push(InputError {
                file: path.to_owned(),
                line: 1,
                column: 1,
                message: "a KubeletConfiguration must be a map".into(),
            });
            None
        }
    }
}

/// The flags of a command line: name → value (a boolean alone is `true`).
fn flags(host: &mut Host, started: &Started) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut it = started.args.iter().skip(1).peekable();
    while let Some(a) = it.next() {
        let Some(body) = a.strip_prefix("--").or_else(|| a.strip_prefix('-')) else {
            continue; // a positional word
        };
        let (name, value) = match body.split_once('=') {
            Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
            None => (body.to_owned(), None),
        };
        let known = BOOL_FLAGS.contains(&name.as_str())
            || FLAG_FIELDS.iter().any(|(f, _, _)| *f == name)
            || OTHER_FLAGS.contains(&name.as_str());
        if !known {
            host.errors.push(InputError {
                file: started.from.clone(),
                line: 0,
                column: 0,
                message: format!("unknown kubelet flag --{name} (left out; the rest is assessed)"),
            });
        }
        let value = match value {
            Some(v) => v,
            None if BOOL_FLAGS.contains(&name.as_str()) => "true".to_owned(),
            None => match it.peek() {
                Some(n) if !n.starts_with('-') => it.next().cloned().unwrap_or_default(),
                _ => String::new(),
            },
        };
        out.push((name, value));
    }
    out
}

/// Finds and merges the kubelet's configuration; `None` when the node has no kubelet.
pub fn effective(host: &mut Host) -> Option<Effective> {
    let mut unit_errors = Vec::new();
    let started = processes(&host.root, "kubelet")
        .into_iter()
        .next()
        .or_else(|| unit_command(&host.root, "kubelet.service", &mut unit_errors));
    for (file, line, message) in unit_errors {
        host.errors.push(InputError {
            file,
            line,
            column: 0,
            message,
        });
    }
    let started = started?;
    let flags = flags(host, &started);
    let command = std::iter::once("kubelet".to_owned())
        .chain(flags.iter().map(|(n, v)| format!("--{n}={v}")))
        .collect::<Vec<_>>()
        .join(" ");
    let flag = |name: &str| {
        flags
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let config_file = flag("config")
        .filter(|v| !v.is_empty())
        .map(|p| resolve(&started.cwd, &p));
    let mut eff = Effective {
        config: if config_file.is_some() {
            file_defaults()
        } else {
            flag_defaults()
        },
        kubeconfig: flag("kubeconfig").map(|p| resolve(&started.cwd, &p)),
        hostname_override: flag("hostname-override"),
        config_file: config_file.clone(),
        command,
        ..Effective::default()
    };
    if let Some(path) = &config_file
        && let Some(mut file) = read_config(host, path)
    {
        // relative paths in the file are the file's directory's
        let dir = path
            .rsplit_once('/')
            .map_or("/", |(d, _)| if d.is_empty() { "/" } else { d });
        for p in [
            &["authentication", "x509", "clientCAFile"][..],
            &["tlsCertFile"],
            &["tlsPrivateKeyFile"],
            &["staticPodPath"],
        ] {
            if let Some(Value::String(s)) = get(&file, p).cloned() {
                set(&mut file, p, json!(resolve(dir, &s)));
            }
        }
        merge(&mut eff.config, &file, path, &mut eff.from, "");
    }
    if let Some(dir) = flag("config-dir") {
        let dir = resolve(&started.cwd, &dir);
        for f in host
            .root
            .list(&dir)
            .into_iter()
            .filter(|f| f.ends_with(".conf"))
        {
            let p = format!("{dir}/{f}");
            if let Some(v) = read_config(host, &p) {
                merge(&mut eff.config, &v, &p, &mut eff.from, "");
            }
        }
    }
    // flags last: they win
    for (name, value) in &flags {
        let Some((_, path, kind)) = FLAG_FIELDS.iter().find(|(f, _, _)| f == name) else {
            continue;
        };
        let v = match kind {
            Kind::Bool => match value.as_str() {
                "true" | "" => json!(true),
                "false" => json!(false),
                other => {
                    host.errors.push(InputError {
                        file: started.from.clone(),
                        line: 0,
                        column: 0,
                        message: format!("--{name}={other}: not true or false"),
                    });
                    continue;
                }
            },
            Kind::Int => match value.parse::<i64>() {
                Ok(n) => json!(n),
                Err(_) => {
                    host.errors.push(InputError {
                        file: started.from.clone(),
                        line: 0,
                        column: 0,
                        message: format!("--{name}={value}: not a number"),
                    });
                    continue;
                }
            },
            Kind::Text => json!(if *name == "client-ca-file" || name.ends_with("-file") {
                resolve(&started.cwd, value)
            } else {
                value.clone()
            }),
            Kind::List => json!(
                value
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
            ),
            Kind::Gates => {
                let mut gates = get(&eff.config, &["featureGates"])
                    .cloned()
                    .unwrap_or(json!({}));
                for g in value.split(',') {
                    if let Some((k, v)) = g.split_once('=') {
                        set(&mut gates, &[k.trim()], json!(v.trim() == "true"));
                    }
                }
                gates
            }
        };
        set(&mut eff.config, path, v);
        eff.from.insert(path.join("."), format!("flag --{name}"));
    }
    eff.started = Some(started);
    Some(eff)
}

impl Effective {
    /// Where a field's value came from, for a finding's reader.
    pub(crate) fn source(&self, path: &[&str]) -> String {
        match self.from.get(&path.join(".")) {
            Some(s) => format!("set by {s}"),
            None if self.config_file.is_some() => "the configuration file's default".into(),
            None => "the flag default: the kubelet has no configuration file".into(),
        }
    }
}

/// Assesses the kubelet: the CIS node items judged with kube-bench's checks on the effective
/// configuration ([`crate::cis`]).
pub fn assess(host: &mut Host) {
    let Some(eff) = effective(host) else {
        host.not_checked(
            &KUBELET,
            "no kubelet on the node (no process, no kubelet.service unit)",
        );
        host.not_checked(&KUBELET_FILES, "no kubelet on the node");
        return;
    };
    let started_from = eff
        .started
        .as_ref()
        .map(|s| s.from.clone())
        .unwrap_or_default();
    host.summary.kubelet = Some(match &eff.config_file {
        Some(f) => format!("{started_from}, configuration {f}"),
        None => format!("{started_from}, no configuration file (flag defaults)"),
    });
    let file = eff
        .config_file
        .clone()
        .unwrap_or_else(|| started_from.clone());
    let mut c = host.check(&KUBELET, &file);
    crate::cis::kubelet(&eff, &mut c);
    host.finish(c);
    let mut c = host.check(&KUBELET_FILES, &file);
    crate::cis::kubelet_files(host, &eff, &mut c);
    host.finish(c);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_resolve() {
        assert_eq!(
            resolve("/var/lib/kubelet", "config.yaml"),
            "/var/lib/kubelet/config.yaml"
        );
        assert_eq!(
            resolve("/var/lib/kubelet", "../pki/ca.crt"),
            "/var/lib/pki/ca.crt"
        );
        assert_eq!(resolve("/", "./k.yaml"), "/k.yaml");
        assert_eq!(resolve("/x", "/abs"), "/abs");
    }
}
