//! `rampart monitor manifests`: the DaemonSet that runs the monitor on every node, its
//! ServiceAccount and the ConfigMap of rules and settings.
//!
//! The pod is as restricted as a kernel sensor can be, and every privilege it keeps is
//! suppressed inline (`# rampart:ignore RULE reason`) with the reason, so `rampart scan` of the
//! output passes and says why each exception exists:
//! - `CAP_BPF` and `CAP_PERFMON`: load and attach the tracing and LSM programs and read kernel
//!   memory from them (the kernel checks exactly these two for those program types since 5.8);
//! - `CAP_SYS_PTRACE`: read `/proc/<pid>/root` and `/proc/<pid>/cgroup` of other users'
//!   processes (identity, drift hashes) — `ptrace_may_access` in read mode;
//! - `CAP_DAC_READ_SEARCH`: read the runtimes' state directories and the containers' files;
//! - `CAP_KILL`: the `kill-process` and `kill-container` answers, to processes of any user;
//! - `hostPID`: container processes are addressed by their host pids (signals, `/proc`);
//! - read-only `hostPath` mounts of the runtimes' state directories and of the cgroup tree.
//!
//! With `[[enforce]]` entries in its configuration (intents enforced in the kernel), two more,
//! and the policies in the ConfigMap: `CAP_SYS_ADMIN` (fanotify permission events) and
//! `CAP_NET_ADMIN` (attaching cgroup programs).
//!
//! Nothing else: no `privileged`, no `CAP_SYS_ADMIN` without `[[enforce]]`, no host network, a read-only root, the
//! runtime's default seccomp profile, no service-account token (the monitor never calls the
//! Kubernetes API: pod and namespace come from the CRI annotations on the node).

use std::fmt::Write as _;

/// The default rules (they live with the rules language, `rampart_falco::rules`).
pub use rampart_falco::rules::{
    RAMPART as RAMPART_RULES, RAMPART_NAME as RAMPART_RULES_NAME, STABLE as DEFAULT_RULES,
    STABLE_NAME as DEFAULT_RULES_NAME, defaults as default_rules,
};
/// Where the ConfigMap is mounted in the pod.
pub const CONFIG_DIR: &str = "/etc/rampart/monitor";
/// Port of `/metrics`, `/status` and `/healthz`.
pub const METRICS_PORT: u16 = 9376;

/// Capabilities the sensor keeps, each with why (printed in the manifests and the docs).
pub const CAPABILITIES: &[(&str, &str)] = &[
    (
        "BPF",
        "load the sensor's BPF programs and maps (bpf_capable)",
    ),
    (
        "PERFMON",
        "tracing and LSM programs and their kernel-memory reads (perfmon_capable)",
    ),
    (
        "SYS_PTRACE",
        "read /proc/<pid>/root and /proc/<pid>/cgroup of other users' processes",
    ),
    (
        "DAC_READ_SEARCH",
        "read runtime state directories and container files for identity and drift",
    ),
    ("KILL", "kill-process and kill-container answers"),
];

/// Capabilities added when the configuration enforces intents (`[[enforce]]`), each with why.
pub const ENFORCE_CAPABILITIES: &[(&str, &str)] = &[
    (
        "SYS_ADMIN",
        "[[enforce]]: the file guard's fanotify permission events (fanotify_init, FAN_CLASS_CONTENT)",
    ),
    (
        "NET_ADMIN",
        "[[enforce]]: attach the connection guard's cgroup sock_addr programs",
    ),
];

/// What to generate.
#[derive(Debug, Clone)]
pub struct ManifestOptions {
    pub namespace: String,
    pub name: String,
    /// Image of rampart (pinned by digest when [`ManifestOptions::image_digest`] is given).
    pub image: String,
    pub image_digest: Option<String>,
    /// Rules files put in the ConfigMap, `(file name, text)`, in load order.
    pub rules: Vec<(String, String)>,
    /// `monitor.toml` put in the ConfigMap (actions, sinks); `None` writes a default that
    /// alerts on every rule as JSON, to standard output and to [`ManifestOptions::webhook`].
    pub config_toml: Option<String>,
    /// A webhook sink for the default configuration.
    pub webhook: Option<String>,
    /// Other files for the ConfigMap, `(file name, text)`: the policies of `[[enforce]]`
    /// entries (named beside monitor.toml).
    pub files: Vec<(String, String)>,
}

impl Default for ManifestOptions {
    fn default() -> Self {
        ManifestOptions {
            namespace: "rampart-system".to_owned(),
            name: "rampart-monitor".to_owned(),
            image: rampart_core::RAMPART_IMAGE.to_owned(),
            image_digest: None,
            rules: default_rules(),
            config_toml: None,
            webhook: None,
            files: Vec::new(),
        }
    }
}

/// Why manifests could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// A name is not a DNS-1123 label.
    #[error(
        "{what} `{value}` is not a DNS-1123 label (lowercase letters, digits and `-`, at most 63)"
    )]
    Name { what: &'static str, value: String },
    /// A rules file name cannot be a ConfigMap key.
    #[error("rules file name `{0}` is not a valid ConfigMap key ([-._a-zA-Z0-9]+)")]
    Key(String),
    /// The configuration does not parse, or names a file the ConfigMap cannot hold.
    #[error("monitor.toml: {0}")]
    Config(String),
}

fn label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn config_key(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// The default `monitor.toml` of the ConfigMap.
pub fn default_config(rules: &[String], webhook: Option<&str>) -> String {
    let list = rules
        .iter()
        .map(|r| format!("\"{CONFIG_DIR}/{r}\""))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "# rampart monitor settings (docs/monitor.md)\n\
         rules = [{list}]\n\
         mode = \"enforce\"\n\
         \n\
         [output]\n\
         format = \"json\"\n\
         \n\
         [metrics]\n\
         listen = \"0.0.0.0:{METRICS_PORT}\"\n{sink}",
        sink = webhook
            .map(|u| format!("\n[[webhook]]\nurl = \"{u}\"\n"))
            .unwrap_or_default()
    )
}

/// The port of an http(s) URL.
fn url_port(url: &str) -> u16 {
    let (default, rest) = match url.split_once("://") {
        Some(("https", rest)) => (443, rest),
        Some((_, rest)) => (80, rest),
        None => (80, url),
    };
    let host = rest.split('/').next().unwrap_or(rest);
    host.rsplit_once(':')
        .filter(|(h, _)| !h.ends_with(']') || host.starts_with('['))
        .and_then(|(_, p)| p.parse().ok())
        .unwrap_or(default)
}

/// A YAML block scalar body: every line indented by `indent` spaces.
fn block(text: &str, indent: usize) -> String {
    let pad = " ".repeat(indent);
    let mut out = String::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            out.push('\n');
        } else {
            let _ = writeln!(out, "{pad}{}", line.trim_end());
        }
    }
    out
}

/// Host directories the monitor reads (read-only): where runtimes keep container state and
/// bundles (never a directory holding a runtime socket), and the cgroup tree.
pub const HOST_PATHS: &[(&str, &str)] = &[
    ("runc", "/run/runc"),
    ("containerd-runc", "/run/containerd/runc"),
    (
        "containerd-tasks",
        "/run/containerd/io.containerd.runtime.v2.task",
    ),
    ("docker-runc", "/run/docker/runtime-runc"),
    ("crio-bundles", "/run/containers/storage"),
    ("crun", "/run/crun"),
    ("cgroup", "/sys/fs/cgroup"),
];

fn state_mounts() -> (String, String) {
    let (mut mounts, mut volumes) = (String::new(), String::new());
    for (i, (name, path)) in HOST_PATHS.iter().enumerate() {
        // The pod-level findings are placed at the first hostPath volume.
        let ignore = if i == 0 {
            "   # rampart:ignore PSS004,PSS013 read-only mounts of the runtimes' state directories (identity, CRI annotations) and of the cgroup tree (cgroup id -> container); no runtime socket"
        } else {
            ""
        };
        let _ = write!(
            mounts,
            "            - name: {name}\n              mountPath: {path}\n              readOnly: true\n"
        );
        let _ = write!(
            volumes,
            "        - name: {name}\n          hostPath:{ignore}\n            path: {path}\n"
        );
    }
    (mounts, volumes)
}

/// The manifests as one multi-document YAML stream.
pub fn generate(o: &ManifestOptions) -> Result<String, ManifestError> {
    if !label(&o.namespace) {
        return Err(ManifestError::Name {
            what: "namespace",
            value: o.namespace.clone(),
        });
    }
    if !label(&o.name) {
        return Err(ManifestError::Name {
            what: "name",
            value: o.name.clone(),
        });
    }
    for (file, _) in o.rules.iter().chain(&o.files) {
        if !config_key(file) || file == "monitor.toml" {
            return Err(ManifestError::Key(file.clone()));
        }
    }
    // Enforcing intents: the policies must be in the ConfigMap, beside monitor.toml, and the
    // pod needs two more capabilities.
    let enforce = match &o.config_toml {
        Some(text) => {
            let c = crate::config::MonitorConfig::parse(text, std::path::Path::new("monitor.toml"))
                .map_err(|e| ManifestError::Config(e.to_string()))?;
            for e in &c.enforce {
                let file = e.policy.to_string_lossy();
                if !o.files.iter().any(|(f, _)| *f == file) {
                    return Err(ManifestError::Config(format!(
                        "[[enforce]] {}: policy `{file}` must be a file beside monitor.toml, given to the ConfigMap",
                        e.name
                    )));
                }
            }
            !c.enforce.is_empty()
        }
        None => false,
    };
    let (ns, name) = (o.namespace.as_str(), o.name.as_str());
    let image = match &o.image_digest {
        Some(d) => format!("{}@{d}", o.image),
        None => o.image.clone(),
    };
    let names: Vec<String> = o.rules.iter().map(|(n, _)| n.clone()).collect();
    let config = o
        .config_toml
        .clone()
        .unwrap_or_else(|| default_config(&names, o.webhook.as_deref()));
    // Without a sink the alerts stay in the pod's log: the scan says so (MON005), and the
    // manifests say why, until one is given.
    let no_sink = if o.config_toml.is_none() && o.webhook.is_none() {
        "# rampart:ignore MON005 no alert sink was given to `rampart monitor manifests` (--webhook URL): alerts go to the pod's log\n"
    } else {
        ""
    };
    let labels = format!(
        "app.kubernetes.io/name: {name}\n    app.kubernetes.io/component: monitor\n    app.kubernetes.io/part-of: rampart"
    );
    let pull = if o.image_digest.is_some() {
        "IfNotPresent"
    } else {
        "Always"
    };
    let (state_mounts, state_volumes) = state_mounts();
    let kept: Vec<&(&str, &str)> = CAPABILITIES
        .iter()
        .chain(if enforce { ENFORCE_CAPABILITIES } else { &[] })
        .collect();
    let caps = kept
        .iter()
        .map(|(c, why)| format!("                - {c}   # {why}\n"))
        .collect::<String>();
    let n_caps = match kept.len() {
        5 => "five".to_owned(),
        7 => "seven".to_owned(),
        n => n.to_string(),
    };
    let mut out = String::new();
    let _ = write!(
        out,
        "# rampart monitor: the monitoring layer on every node (docs/monitor.md).\n\
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {name}
  namespace: {ns}
  labels:
    {labels}
automountServiceAccountToken: false
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}-rules
  namespace: {ns}
  labels:
    {labels}
data:
  monitor.toml: |
{config_block}",
        config_block = block(&config, 4),
    );
    for (file, text) in o.rules.iter().chain(&o.files) {
        let _ = write!(out, "  {file}: |\n{}", block(text, 4));
    }
    let _ = write!(
        out,
        "---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: {name}
  namespace: {ns}
  labels:
    {labels}
{no_sink}spec:
  selector:
    matchLabels:
      app.kubernetes.io/name: {name}
  updateStrategy:
    type: RollingUpdate
    rollingUpdate:
      maxUnavailable: 1
  template:
    metadata:
      labels:
        app.kubernetes.io/name: {name}
        app.kubernetes.io/component: monitor
        app.kubernetes.io/part-of: rampart
      annotations:
        prometheus.io/scrape: \"true\"
        prometheus.io/port: \"{METRICS_PORT}\"
        prometheus.io/path: /metrics
    spec:
      serviceAccountName: {name}
      automountServiceAccountToken: false
      enableServiceLinks: false
      priorityClassName: system-node-critical
      # rampart:ignore PSS002 the sensor addresses container processes by their host pids (signals for kill-process, /proc/<pid>/root for drift, /proc/<pid>/cgroup for identity)
      hostPID: true
      tolerations:
        - operator: Exists
      securityContext:
        seccompProfile:
          type: RuntimeDefault
      containers:
        - name: monitor
          image: {image}
          imagePullPolicy: {pull}
          args:
            - monitor
            - --config
            - {CONFIG_DIR}/monitor.toml
          ports:
            - name: metrics
              containerPort: {METRICS_PORT}
              protocol: TCP
          livenessProbe:
            httpGet:
              path: /healthz
              port: metrics
            periodSeconds: 10
          readinessProbe:
            httpGet:
              path: /healthz
              port: metrics
            periodSeconds: 10
          resources:
            requests:
              cpu: 100m
              memory: 64Mi
            limits:
              cpu: \"2\"
              memory: 256Mi
          securityContext:
            # rampart:ignore PSS016 the sensor runs as root (BPF, /proc of every user's processes); every capability but the {n_caps} below is dropped
            runAsUser: 0
            # rampart:ignore PSS015 as above: root, with {n_caps} capabilities
            runAsNonRoot: false
            privileged: false
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            seccompProfile:
              type: RuntimeDefault
            capabilities:
              drop:
                - ALL
              add:
                # rampart:ignore PSS003,PSS018 what the eBPF sensor needs, each stated (docs/monitor.md)
{caps}          volumeMounts:
            - name: config
              mountPath: {CONFIG_DIR}
              readOnly: true
{state_mounts}      volumes:
        - name: config
          configMap:
            name: {name}-rules
{state_volumes}"
    );
    let egress = match o.webhook.as_deref().map(url_port) {
        Some(port) => format!(
            "\n    - ports:\n        - port: {port}\n          protocol: TCP\n    - ports:\n        - port: 53\n          protocol: UDP\n        - port: 53\n          protocol: TCP"
        ),
        None => "[]".to_owned(),
    };
    let _ = write!(
        out,
        "---
# Only Prometheus (any namespace) reaches the metrics port; nothing leaves the pod but alerts to
# the webhook sink (its port, and DNS), when one is configured.
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {name}
  namespace: {ns}
  labels:
    {labels}
spec:
  podSelector:
    matchLabels:
      app.kubernetes.io/name: {name}
  policyTypes:
    - Ingress
    - Egress
  ingress:
    - ports:
        - port: {METRICS_PORT}
          protocol: TCP
  egress: {egress}
"
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        let o = ManifestOptions {
            namespace: "Bad_NS".into(),
            ..ManifestOptions::default()
        };
        assert!(matches!(generate(&o), Err(ManifestError::Name { .. })));
        let o = ManifestOptions {
            rules: vec![("a b.yaml".into(), String::new())],
            ..ManifestOptions::default()
        };
        assert!(matches!(generate(&o), Err(ManifestError::Key(_))));
    }

    #[test]
    fn webhook_ports() {
        assert_eq!(url_port("http://alerts:2801/x"), 2801);
        assert_eq!(url_port("https://alerts.example/x"), 443);
        assert_eq!(url_port("http://alerts.example"), 80);
    }
}
