//! The monitoring layer as manifests show it: is a runtime monitor (rampart monitor, or Falco)
//! deployed, and what do its rules catch?
//!
//! Coverage is decided by running the deployed rules, not by reading their names: the monitor's
//! rules (the `*.yaml` keys of the ConfigMaps its pod mounts, in key order, or the stable
//! ruleset both tools ship when none is mounted) are loaded with Falco's semantics
//! (`rampart-falco`) and evaluated on canonical events of each threat — a shell started in a
//! container (interactive, and by a server process), `/etc/shadow` read in a container, a
//! connection from a container to an address on the internet, a file written after the
//! container started and executed. A threat is covered when an enabled rule fires on one of its
//! events; lists and macros the operator tuned count as they would at run time.

use super::{Ctx, Inventory, rule};
use crate::objects::Workload;
use crate::yaml::Seg;
use rampart_core::{Assessment, Layer, RefKind, Reference, Rule, Severity};
use rampart_falco::event::{Container, Event, Fd, L4Proto, Process};
use std::net::{IpAddr, Ipv4Addr};

const FALCO_REF: Reference = Reference::new(
    RefKind::Docs,
    "Falco rules",
    "https://falco.org/docs/concepts/rules/",
);

pub static NO_SHELL_DETECTION: Rule = rule(
    "MON001",
    "monitor-misses-shell-in-container",
    "The runtime monitor's rules miss a shell started in a container",
    Severity::Medium,
    Layer::Monitoring,
    [
        "A shell in a container is the first thing an attacker who got code execution starts, and the most common sign of `kubectl exec` misuse. If no enabled rule fires on it, the monitor watches without seeing the intrusion.",
        "Enable Falco's `Terminal shell in container` and `Run shell untrusted` rules (stable ruleset), or a rule of your own on `spawned_process and container and shell_procs`.",
        "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: falco, namespace: falco}\nspec:\n  selector: {matchLabels: {app: falco}}\n  template:\n    metadata: {labels: {app: falco}}\n    spec:\n      containers:\n      - name: falco\n        image: falcosecurity/falco:0.41.0\n        volumeMounts: [{name: rules, mountPath: /etc/falco/rules.d}]\n      volumes:\n      - name: rules\n        configMap: {name: falco-rules}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: falco-rules, namespace: falco}\ndata:\n  rules.yaml: |\n    - rule: Shadow read in container\n      desc: shadow read in container\n      condition: evt.type in (open, openat, openat2) and evt.is_open_read = true and fd.name = /etc/shadow and container.id != host\n      output: \"shadow read in container (command=%proc.cmdline container=%container.id)\"\n      priority: WARNING\n",
        "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: falco, namespace: falco}\nspec:\n  selector: {matchLabels: {app: falco}}\n  template:\n    metadata: {labels: {app: falco}}\n    spec:\n      containers:\n      - name: falco\n        image: falcosecurity/falco:0.41.0\n        volumeMounts: [{name: rules, mountPath: /etc/falco/rules.d}]\n      volumes:\n      - name: rules\n        configMap: {name: falco-rules}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: falco-rules, namespace: falco}\ndata:\n  rules.yaml: |\n    - rule: Shell in container\n      desc: shell in container\n      condition: evt.type in (execve, execveat) and container.id != host and proc.name in (sh, bash)\n      output: \"shell in container (command=%proc.cmdline container=%container.id)\"\n      priority: WARNING\n",
    ],
    &[FALCO_REF],
);

pub static NO_SENSITIVE_READ_DETECTION: Rule = rule(
    "MON002",
    "monitor-misses-sensitive-file-read",
    "The runtime monitor's rules miss a sensitive file read in a container",
    Severity::Medium,
    Layer::Monitoring,
    [
        "Reading /etc/shadow, credentials or keys is how an intruder moves from code execution to accounts. Without a rule on it, credential access goes unseen.",
        "Enable `Read sensitive file untrusted` (stable ruleset) or a rule on `open_read and sensitive_files and container`.",
        "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: falco, namespace: falco}\nspec:\n  selector: {matchLabels: {app: falco}}\n  template:\n    metadata: {labels: {app: falco}}\n    spec:\n      containers:\n      - name: falco\n        image: falcosecurity/falco:0.41.0\n        volumeMounts: [{name: rules, mountPath: /etc/falco/rules.d}]\n      volumes:\n      - name: rules\n        configMap: {name: falco-rules}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: falco-rules, namespace: falco}\ndata:\n  rules.yaml: |\n    - rule: Shell in container\n      desc: shell in container\n      condition: evt.type in (execve, execveat) and container.id != host and proc.name in (sh, bash)\n      output: \"shell in container (command=%proc.cmdline container=%container.id)\"\n      priority: WARNING\n",
        "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: falco, namespace: falco}\nspec:\n  selector: {matchLabels: {app: falco}}\n  template:\n    metadata: {labels: {app: falco}}\n    spec:\n      containers:\n      - name: falco\n        image: falcosecurity/falco:0.41.0\n        volumeMounts: [{name: rules, mountPath: /etc/falco/rules.d}]\n      volumes:\n      - name: rules\n        configMap: {name: falco-rules}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: falco-rules, namespace: falco}\ndata:\n  rules.yaml: |\n    - rule: Shadow read in container\n      desc: shadow read in container\n      condition: evt.type in (open, openat, openat2) and evt.is_open_read = true and fd.name = /etc/shadow and container.id != host\n      output: \"shadow read in container (command=%proc.cmdline container=%container.id)\"\n      priority: WARNING\n",
    ],
    &[FALCO_REF],
);

pub static NO_EGRESS_DETECTION: Rule = rule(
    "MON003",
    "monitor-misses-outbound-connection",
    "The runtime monitor's rules miss an unexpected outbound connection",
    Severity::Medium,
    Layer::Monitoring,
    [
        "Command-and-control, exfiltration and reverse shells all connect out. Falco's stable rules only see SSH on odd ports and the API server: a connection from a container to an arbitrary address on the internet fires nothing.",
        "Add a rule on outbound connections from containers to addresses outside the ones the workload needs (`outbound and container and not fd.snet in (allowed_networks)`), or use the incubating `Unexpected outbound connection destination` rule with the list filled in.",
        "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: falco, namespace: falco}\nspec:\n  selector: {matchLabels: {app: falco}}\n  template:\n    metadata: {labels: {app: falco}}\n    spec:\n      containers:\n      - name: falco\n        image: falcosecurity/falco:0.41.0\n        volumeMounts: [{name: rules, mountPath: /etc/falco/rules.d}]\n      volumes:\n      - name: rules\n        configMap: {name: falco-rules}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: falco-rules, namespace: falco}\ndata:\n  rules.yaml: |\n    - rule: Shell in container\n      desc: shell in container\n      condition: evt.type in (execve, execveat) and container.id != host and proc.name in (sh, bash)\n      output: \"shell in container (command=%proc.cmdline container=%container.id)\"\n      priority: WARNING\n",
        "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: falco, namespace: falco}\nspec:\n  selector: {matchLabels: {app: falco}}\n  template:\n    metadata: {labels: {app: falco}}\n    spec:\n      containers:\n      - name: falco\n        image: falcosecurity/falco:0.41.0\n        volumeMounts: [{name: rules, mountPath: /etc/falco/rules.d}]\n      volumes:\n      - name: rules\n        configMap: {name: falco-rules}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: falco-rules, namespace: falco}\ndata:\n  rules.yaml: |\n    - rule: Egress from container\n      desc: egress from container\n      condition: evt.type = connect and container.id != host and fd.typechar = 4 and not fd.snet in (\"10.0.0.0/8\")\n      output: \"egress from container (command=%proc.cmdline container=%container.id)\"\n      priority: WARNING\n",
    ],
    &[FALCO_REF],
);

pub static NO_DRIFT_DETECTION: Rule = rule(
    "MON004",
    "monitor-misses-drift",
    "The runtime monitor misses executables that are not in the image",
    Severity::Medium,
    Layer::Monitoring,
    [
        "A binary dropped into a running container and executed (a miner, a toolkit) is drift from the image that was scanned and signed: every earlier layer vouched for something else. Falco's `Drop and execute new binary in container` sees it on overlayfs; rampart's monitor compares every executed file with the image.",
        "Keep `Drop and execute new binary in container` enabled, or run rampart's monitor, whose drift detection is built in.",
        "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: falco, namespace: falco}\nspec:\n  selector: {matchLabels: {app: falco}}\n  template:\n    metadata: {labels: {app: falco}}\n    spec:\n      containers:\n      - name: falco\n        image: falcosecurity/falco:0.41.0\n        volumeMounts: [{name: rules, mountPath: /etc/falco/rules.d}]\n      volumes:\n      - name: rules\n        configMap: {name: falco-rules}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: falco-rules, namespace: falco}\ndata:\n  rules.yaml: |\n    - rule: Shell in container\n      desc: shell in container\n      condition: evt.type in (execve, execveat) and container.id != host and proc.name in (sh, bash)\n      output: \"shell in container (command=%proc.cmdline container=%container.id)\"\n      priority: WARNING\n",
        "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: falco, namespace: falco}\nspec:\n  selector: {matchLabels: {app: falco}}\n  template:\n    metadata: {labels: {app: falco}}\n    spec:\n      containers:\n      - name: falco\n        image: falcosecurity/falco:0.41.0\n        volumeMounts: [{name: rules, mountPath: /etc/falco/rules.d}]\n      volumes:\n      - name: rules\n        configMap: {name: falco-rules}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: falco-rules, namespace: falco}\ndata:\n  rules.yaml: |\n    - rule: Drift in container\n      desc: drift in container\n      condition: evt.type in (execve, execveat) and container.id != host and proc.is_exe_upper_layer = true\n      output: \"drift in container (command=%proc.cmdline container=%container.id)\"\n      priority: WARNING\n",
    ],
    &[FALCO_REF],
);

pub static NO_ANSWER: Rule = rule(
    "MON005",
    "monitor-alerts-go-nowhere",
    "The runtime monitor's alerts only reach the pod's log",
    Severity::Low,
    Layer::Monitoring,
    [
        "A detection nobody receives is not a defence: with neither an alert sink (webhook, HTTP output) nor an answer (kill the process or container), alerts wait in a container log until someone looks, long after the attacker acted.",
        "rampart: add a `[[webhook]]` sink or `[[action]]` kill answers to monitor.toml. Falco: enable `http_output` (or falcosidekick) in falco.yaml.",
        "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: falco, namespace: falco}\nspec:\n  selector: {matchLabels: {app: falco}}\n  template:\n    metadata: {labels: {app: falco}}\n    spec:\n      containers:\n      - name: falco\n        image: falcosecurity/falco:0.41.0\n        volumeMounts: [{name: rules, mountPath: /etc/falco/rules.d}]\n      volumes:\n      - name: rules\n        configMap: {name: falco-rules}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: falco-rules, namespace: falco}\ndata:\n  rules.yaml: |\n    - rule: Shell in container\n      desc: shell in container\n      condition: evt.type in (execve, execveat) and container.id != host and proc.name in (sh, bash)\n      output: \"shell in container (command=%proc.cmdline container=%container.id)\"\n      priority: WARNING\n",
        "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: falco, namespace: falco}\nspec:\n  selector: {matchLabels: {app: falco}}\n  template:\n    metadata: {labels: {app: falco}}\n    spec:\n      containers:\n      - name: falco\n        image: falcosecurity/falco:0.41.0\n        volumeMounts: [{name: rules, mountPath: /etc/falco/rules.d}]\n      volumes:\n      - name: rules\n        configMap: {name: falco-rules}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: falco-rules, namespace: falco}\ndata:\n  rules.yaml: |\n    - rule: Shell in container\n      desc: shell in container\n      condition: evt.type in (execve, execveat) and container.id != host and proc.name in (sh, bash)\n      output: \"shell in container (command=%proc.cmdline container=%container.id)\"\n      priority: WARNING\n  falco.yaml: |\n    http_output:\n      enabled: true\n      url: http://falcosidekick.falco:2801/\n",
    ],
    &[Reference::new(
        RefKind::Docs,
        "Falco outputs",
        "https://falco.org/docs/concepts/outputs/",
    )],
);

pub static RULES: &[&Rule] = &[
    &NO_SHELL_DETECTION,
    &NO_SENSITIVE_READ_DETECTION,
    &NO_EGRESS_DETECTION,
    &NO_DRIFT_DETECTION,
    &NO_ANSWER,
];

/// The rules a monitor runs when no rules file is mounted: Falco's image ships its stable
/// ruleset; rampart's embeds the same and its own rules after it (rampart_falco::rules).
fn default_rules(kind: MonitorKind) -> (String, Vec<(String, String)>) {
    match kind {
        MonitorKind::Falco => (
            "the default stable ruleset (no rules ConfigMap mounted)".to_owned(),
            vec![(
                "the stable ruleset (default)".to_owned(),
                rampart_falco::rules::STABLE.to_owned(),
            )],
        ),
        MonitorKind::Rampart => (
            "rampart's default rules, the stable ruleset and rampart's own (no rules ConfigMap mounted)"
                .to_owned(),
            rampart_falco::rules::defaults(),
        ),
    }
}

/// Which monitor a container runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MonitorKind {
    Rampart,
    Falco,
}

fn monitor_kind(image: &str, args: &[&str]) -> Option<MonitorKind> {
    let repo = image.split('@').next().unwrap_or(image);
    let name = repo.rsplit('/').next().unwrap_or(repo);
    let name = name.split(':').next().unwrap_or(name);
    if name == "falco" || name == "falco-no-driver" || name == "falco-distroless" {
        return Some(MonitorKind::Falco);
    }
    (name == "rampart" && args.first() == Some(&"monitor")).then_some(MonitorKind::Rampart)
}

/// A canonical event of a threat.
struct Probe {
    what: &'static str,
    event: Event,
}

fn process(name: &str, exepath: &str, args: &[&str], pid: i64) -> Process {
    Process {
        pid,
        vpid: Some(pid - 1000),
        name: name.to_owned(),
        exe: exepath.to_owned(),
        exepath: exepath.to_owned(),
        args: args.iter().map(|a| (*a).to_owned()).collect(),
        cwd: Some("/".to_owned()),
        uid: Some(0),
        gid: Some(0),
        loginuid: Some(-1),
        user_name: Some("root".to_owned()),
        cap_effective: Some(0xa80425fb),
        cap_permitted: Some(0xa80425fb),
        ..Process::default()
    }
}

fn container() -> Container {
    Container {
        id: "3f1e2d4c5b6a".to_owned(),
        full_id: Some("3f1e2d4c5b6a".repeat(5) + "0000"),
        name: Some("app".to_owned()),
        image: Some("registry.example/shop/app:1.4.2".to_owned()),
        image_repository: Some("registry.example/shop/app".to_owned()),
        image_tag: Some("1.4.2".to_owned()),
        runtime: Some("containerd".to_owned()),
        privileged: Some(false),
        start_ns: Some(1_765_000_000_000_000_000),
        ..Container::default()
    }
}

fn event(evt_type: &str, proc: Process, ancestors: Vec<Process>) -> Event {
    Event {
        num: 1,
        time_ns: 1_765_000_100_000_000_000,
        evt_type: evt_type.to_owned().into(),
        res: Some(0),
        proc: proc.into(),
        ancestors: ancestors.into_iter().map(Into::into).collect(),
        container: Some(std::sync::Arc::new(container())),
        ..Event::default()
    }
}

fn exec(name: &str, path: &str, args: &[&str], tty: u32, parents: &[(&str, &str)]) -> Event {
    let mut p = process(name, path, args, 4242);
    p.tty = tty;
    let ancestors = parents
        .iter()
        .enumerate()
        .map(|(i, (n, e))| process(n, e, &[], 4241 - i as i64))
        .collect();
    let mut ev = event("execve", p, ancestors);
    ev.set_arg("flags", "0");
    ev
}

fn shell_probes() -> Vec<Probe> {
    vec![
        Probe {
            what: "an interactive shell (kubectl exec -it ... sh)",
            event: exec("sh", "/bin/sh", &[], 34816, &[("runc", "/usr/bin/runc")]),
        },
        Probe {
            what: "a shell started by a web server",
            event: exec(
                "sh",
                "/bin/sh",
                &["-c", "id"],
                0,
                &[("nginx", "/usr/sbin/nginx"), ("nginx", "/usr/sbin/nginx")],
            ),
        },
        Probe {
            what: "a shell started by an application process",
            event: exec(
                "bash",
                "/bin/bash",
                &["-i"],
                0,
                &[("node", "/usr/local/bin/node")],
            ),
        },
    ]
}

fn sensitive_probes() -> Vec<Probe> {
    let mut ev = event(
        "openat",
        process("cat", "/bin/cat", &["/etc/shadow"], 4242),
        vec![process("sh", "/bin/sh", &["-c", "cat /etc/shadow"], 4241)],
    );
    ev.open_flags = Some(0);
    ev.set_arg("flags", "O_RDONLY");
    ev.set_arg("name", "/etc/shadow");
    ev.fd = Some(Fd::file(3, "/etc/shadow"));
    vec![Probe {
        what: "/etc/shadow read by cat",
        event: ev,
    }]
}

fn egress_probes() -> Vec<Probe> {
    let mut ev = event(
        "connect",
        process("python3", "/usr/bin/python3", &["-c", "..."], 4242),
        vec![process("sh", "/bin/sh", &[], 4241)],
    );
    ev.fd = Some(Fd::ip_socket(
        5,
        (IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3)), 40122),
        (IpAddr::V4(Ipv4Addr::new(203, 0, 113, 10)), 4444),
        L4Proto::Tcp,
        false,
    ));
    ev.set_arg("fd", "5");
    vec![Probe {
        what: "a TCP connection from a container to 203.0.113.10:4444",
        event: ev,
    }]
}

fn drift_probes() -> Vec<Probe> {
    let mut ev = exec(
        "xmrig",
        "/tmp/xmrig",
        &["-o", "pool:3333"],
        0,
        &[("sh", "/bin/sh")],
    );
    let mut p = (*ev.proc).clone();
    p.is_exe_upper_layer = Some(true);
    p.is_exe_writable = Some(true);
    ev.proc = p.into();
    ev.set_arg("flags", "EXE_WRITABLE|EXE_UPPER_LAYER");
    vec![Probe {
        what: "a binary written after the container started, then executed",
        event: ev,
    }]
}

/// `(name, text)` of files.
type Files = Vec<(String, String)>;

/// Rules files of the monitor: the `*.yaml`/`*.yml` entries of the ConfigMaps its pod mounts.
fn mounted_files<'a>(
    inventory: &Inventory<'a>,
    workload: &Workload<'a>,
    namespace: &str,
) -> (Files, Files) {
    let mut rules = Vec::new();
    let mut configs = Vec::new();
    let Some(spec) = workload.spec() else {
        return (rules, configs);
    };
    for vol in spec.get("volumes").map(|v| v.as_seq()).unwrap_or(&[]) {
        let Some(cm) = vol.str_at(&["configMap", "name"]) else {
            continue;
        };
        let Some(found) = inventory
            .of_kind("ConfigMap")
            .find(|o| o.object.name == cm && o.object.effective_namespace() == namespace)
        else {
            continue;
        };
        let Some(data) = found.object.node.get("data") else {
            continue;
        };
        let mut entries: Vec<(String, String)> = data
            .entries()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), v.as_str()?.to_owned())))
            .collect();
        entries.sort();
        for (k, v) in entries {
            if k.ends_with(".yaml") || k.ends_with(".yml") {
                if k == "falco.yaml" {
                    configs.push((k, v));
                } else {
                    rules.push((format!("ConfigMap {cm}: {k}"), v));
                }
            } else if k.ends_with(".toml") {
                configs.push((k, v));
            }
        }
    }
    (rules, configs)
}

/// Whether alerts reach someone: a sink or an answer besides the log.
fn answer_wired(kind: MonitorKind, configs: &[(String, String)], args: &[&str]) -> bool {
    if args
        .iter()
        .any(|a| *a == "--webhook" || a.starts_with("--action"))
    {
        return true;
    }
    configs.iter().any(|(name, text)| match kind {
        MonitorKind::Rampart if name.ends_with(".toml") => {
            toml::from_str::<toml::Value>(text).ok().is_some_and(|v| {
                let has = |k: &str| {
                    v.get(k)
                        .and_then(|x| x.as_array())
                        .is_some_and(|a| !a.is_empty())
                };
                let kills = v.get("action").and_then(|x| x.as_array()).is_some_and(|a| {
                    a.iter().any(|e| {
                        e.get("do")
                            .and_then(|d| d.as_str())
                            .is_some_and(|d| d != "alert")
                    })
                });
                has("webhook") || kills
            })
        }
        MonitorKind::Falco if name == "falco.yaml" => {
            ["http_output", "program_output", "grpc_output"]
                .iter()
                .any(|o| falco_output_enabled(text, o))
        }
        _ => false,
    })
}

/// `<name>:\n  enabled: true` in falco.yaml (a plain reading of the two-level key).
fn falco_output_enabled(text: &str, name: &str) -> bool {
    let mut inside = false;
    for line in text.lines() {
        if !line.starts_with(' ') && !line.trim().is_empty() {
            inside = line.trim_end() == format!("{name}:");
            continue;
        }
        if inside && line.trim() == "enabled: true" {
            return true;
        }
    }
    false
}

pub(crate) fn check(inventory: &Inventory<'_>, out: &mut Assessment) {
    for (file, workload) in inventory.workloads() {
        let containers = workload.containers();
        let found = containers.iter().find_map(|c| {
            let image = c.image()?;
            let args: Vec<&str> = c
                .node
                .get("args")
                .map(|a| a.as_seq().iter().filter_map(|n| n.as_str()).collect())
                .unwrap_or_default();
            monitor_kind(image, &args).map(|k| (k, *c, args))
        });
        let Some((kind, container, args)) = found else {
            continue;
        };
        let namespace = workload.object.effective_namespace();
        let (mut rules, configs) = mounted_files(inventory, &workload, namespace);
        let source = if rules.is_empty() {
            let (source, files) = default_rules(kind);
            rules = files;
            source
        } else {
            format!(
                "its rules ({})",
                rules
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let mut ctx = Ctx::new(file, workload.object, out);
        let pos = ctx.object.node.pos_of(&[Seg::Key("spec")]);
        let loaded = rampart_falco::load_files(rules.iter().map(|(n, t)| (n.as_str(), t.as_str())));
        let ruleset = match loaded {
            Ok((rs, _)) => Some(rs),
            Err(results) => {
                let first = results
                    .iter()
                    .flat_map(|r| r.errors.iter())
                    .next()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                for r in [
                    &NO_SHELL_DETECTION,
                    &NO_SENSITIVE_READ_DETECTION,
                    &NO_EGRESS_DETECTION,
                    &NO_DRIFT_DETECTION,
                ] {
                    ctx.assessed(r);
                    ctx.report(
                        r,
                        pos,
                        Some(container.name()),
                        format!("the monitor's rules do not load, so nothing is detected: {first}"),
                    );
                }
                None
            }
        };
        if let Some(rs) = ruleset {
            let threats: [(&'static Rule, &str, Vec<Probe>); 4] = [
                (
                    &NO_SHELL_DETECTION,
                    "a shell started in a container",
                    shell_probes(),
                ),
                (
                    &NO_SENSITIVE_READ_DETECTION,
                    "a sensitive file read in a container",
                    sensitive_probes(),
                ),
                (
                    &NO_EGRESS_DETECTION,
                    "an unexpected outbound connection from a container",
                    egress_probes(),
                ),
                (
                    &NO_DRIFT_DETECTION,
                    "an executable that is not in the image",
                    drift_probes(),
                ),
            ];
            for (r, threat, probes) in threats {
                ctx.assessed(r);
                if r.id == NO_DRIFT_DETECTION.id && kind == MonitorKind::Rampart {
                    continue; // built into rampart's monitor, whatever the rules say
                }
                let caught: Vec<&str> = probes
                    .iter()
                    .filter(|p| rs.evaluate(&p.event).next().is_some())
                    .map(|p| p.what)
                    .collect();
                if caught.is_empty() {
                    ctx.report(
                        r,
                        pos,
                        Some(container.name()),
                        format!(
                            "no enabled rule of {source} fires on {threat} (tried: {})",
                            probes.iter().map(|p| p.what).collect::<Vec<_>>().join("; ")
                        ),
                    );
                }
            }
        }
        ctx.assessed(&NO_ANSWER);
        if !answer_wired(kind, &configs, &args) {
            ctx.report(
                &NO_ANSWER,
                pos,
                Some(container.name()),
                match kind {
                    MonitorKind::Rampart => "monitor.toml has no [[webhook]] sink and no kill [[action]]: alerts only reach the pod's log".to_owned(),
                    MonitorKind::Falco => "falco.yaml enables no http_output, program_output or grpc_output: alerts only reach the pod's log".to_owned(),
                },
            );
        }
    }
}
