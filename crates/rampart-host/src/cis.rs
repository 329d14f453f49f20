//! The CIS Kubernetes node items judged with kube-bench's own checks (rampart-cis: cis-1.12's
//! `node.yaml`, v1.20's 4.2.6, the control-plane node files 1.1.x), on what is in effect: the
//! kubelet's command line and its **effective** configuration (file over defaults, see
//! [`crate::kubelet`]), and the files' real owners and modes. kube-bench marks most kubelet
//! items "Manual" and only warns; rampart runs their tests too, since it has the effective
//! values to judge, and says so in the finding.

use rampart_cis::master::ControlPlaneFile;
use rampart_cis::node::FileStat;
use rampart_cis::node::{NodeFile, Subject};
use rampart_cis::{Check, CheckType, Input, Outcome, Source, State, evaluate};
use rampart_core::Severity;
use serde_json::Value;

use crate::kubelet::Effective;
use crate::{Check as Control, Host};

/// How much a kubelet item matters (the rule's default is High).
fn severity(id: &str) -> Severity {
    match id {
        "4.2.1" | "4.2.2" => Severity::Critical,
        "4.2.3" | "4.2.4" => Severity::High,
        "4.2.5" | "4.2.9" | "4.2.10" | "4.2.11" | "4.2.12" | "4.2.13" | "4.2.14" => {
            Severity::Medium
        }
        _ => Severity::Low,
    }
}

/// Judges a check, running the tests of a manual or unscored one as if it were scored (a
/// failing test is then FAIL, not kube-bench's WARN): `(outcome, was manual or unscored)`.
fn judge(check: &Check, input: &Input<'_>) -> (Outcome, bool) {
    let lenient = check.kind == CheckType::Manual || !check.scored;
    if lenient {
        let mut c = check.clone();
        c.kind = CheckType::Automated;
        c.scored = true;
        (evaluate(&c, input), true)
    } else {
        (evaluate(check, input), false)
    }
}

fn manual_note(lenient: bool) -> &'static str {
    if lenient {
        "; a manual or unscored item: kube-bench only warns, rampart judges its test on the values in effect"
    } else {
        ""
    }
}

/// The kubelet items (4.2).
pub fn kubelet(eff: &Effective, c: &mut Control) {
    let Ok(checks) = rampart_cis::node::kubelet_checks() else {
        c.partly("rampart's CIS node data did not load (a bug): kubelet items not checked");
        return;
    };
    let command = &eff.command;
    let config = eff.config.to_string();
    for nc in checks {
        let input = rampart_cis::node::component_input(&nc.check, command, Some(&config));
        let (outcome, manual) = judge(&nc.check, &input);
        for e in outcome.errors() {
            c.partly(format!("CIS {}: {e}", nc.check.id));
        }
        if outcome.state != State::Fail {
            continue;
        }
        // kube-bench's one false result here: a kubelet whose serving certificate is
        // bootstrapped (serverTLSBootstrap, kubeadm's way) has no tlsCertFile and is right
        if nc.check.id == "4.2.9"
            && eff
                .config
                .pointer("/serverTLSBootstrap")
                .and_then(Value::as_bool)
                == Some(true)
        {
            continue;
        }
        // the value judged and where it came from: the first failing item's flag or field
        let failing = outcome
            .items
            .iter()
            .zip(nc.check.tests.iter().flat_map(|t| &t.test_items))
            .find(|(r, _)| !r.passed);
        let from = failing
            .map(|(r, item)| match (r.source, r.found) {
                (Source::Command, true) => format!("set by flag {}", item.flag),
                _ => {
                    let path = item.path.trim_start_matches("{.").trim_end_matches('}');
                    eff.source(&path.split('.').collect::<Vec<_>>())
                }
            })
            .unwrap_or_default();
        let value = failing.filter(|(r, _)| r.found).map(|(r, item)| {
            let name = if r.source == Source::Command {
                item.flag.clone()
            } else {
                item.path
                    .trim_start_matches("{.")
                    .trim_end_matches('}')
                    .to_owned()
            };
            format!("{name} = {}", r.value)
        });
        let benchmark = if nc.benchmark == "cis-1.12" {
            String::new()
        } else {
            format!(" of {}", nc.benchmark)
        };
        let found = match value {
            Some(v) => format!("found {v}"),
            None => "not set".to_owned(),
        };
        c.fail_sev(
            severity(&nc.check.id),
            format!(
                "CIS {}{benchmark} {}: expected {}; {found} ({from}{})",
                nc.check.id,
                nc.check.text,
                outcome.expected,
                manual_note(manual)
            ),
        );
    }
}

/// The owner and mode of a node file, as kube-bench's `stat` prints them.
fn stat(host: &Host, path: &str) -> Option<FileStat> {
    let m = host.root.stat(path)?;
    Some(FileStat {
        mode: m.mode,
        user: host
            .root
            .user_name(m.uid)
            .unwrap_or_else(|| "UNKNOWN".to_owned()),
        group: host
            .root
            .group_name(m.gid)
            .unwrap_or_else(|| "UNKNOWN".to_owned()),
    })
}

/// Judges a file check on the files' stat lines; a finding per failing check.
fn file_check(
    c: &mut Control,
    check: &Check,
    files: &[String],
    stats: &[FileStat],
    output: String,
) {
    let input = Input {
        command: &output,
        config: None,
        env: "",
        error: None,
    };
    let (outcome, manual) = judge(check, &input);
    if outcome.state == State::Fail {
        c.fail_at(
            files.first().map_or("", String::as_str),
            format!(
                "CIS {} {}: expected {}; {} is {}{}",
                check.id,
                check.text,
                outcome.expected,
                files.join(", "),
                stats
                    .iter()
                    .map(|s| format!("{}:{} {:o}", s.user, s.group, s.mode))
                    .collect::<Vec<_>>()
                    .join(", "),
                manual_note(manual)
            ),
        );
    }
}

/// The kubelet's files (4.1).
pub fn kubelet_files(host: &Host, eff: &Effective, c: &mut Control) {
    let Ok(checks) = rampart_cis::node::file_checks() else {
        c.partly("rampart's CIS node data did not load (a bug): file items not checked");
        return;
    };
    let service = [
        "/etc/systemd/system/kubelet.service.d/10-kubeadm.conf",
        "/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf",
    ]
    .into_iter()
    .find(|p| host.root.exists(p))
    .map(str::to_owned)
    .or_else(|| crate::units::unit_file(&host.root, "kubelet.service"));
    let ca = eff
        .config
        .pointer("/authentication/x509/clientCAFile")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let proxy = [
        "/etc/kubernetes/proxy.conf",
        "/var/lib/kube-proxy/kubeconfig.conf",
    ]
    .into_iter()
    .find(|p| host.root.exists(p))
    .map(str::to_owned);
    for nc in checks {
        let Subject::File(file, _) = nc.subject else {
            continue;
        };
        let path = match file {
            NodeFile::KubeletService => service.clone(),
            NodeFile::ProxyKubeconfig => proxy.clone(),
            NodeFile::KubeletKubeconfig => eff.kubeconfig.clone(),
            NodeFile::ClientCaFile => ca.clone(),
            NodeFile::KubeletConfig => eff.config_file.clone(),
        };
        let Some(path) = path else {
            continue; // no such file is configured: nothing to judge
        };
        let Some(s) = stat(host, &path) else {
            if file != NodeFile::ProxyKubeconfig {
                c.partly(format!("CIS {}: {path} does not exist", nc.check.id));
            }
            continue;
        };
        let output = rampart_cis::node::file_audit_output(nc, Some(&s)).unwrap_or_default();
        file_check(c, &nc.check, &[path], &[s], output);
    }
}

/// Every file under `dir` (not following links), sorted.
fn walk(host: &Host, dir: &str, out: &mut Vec<String>, depth: usize) {
    if depth > 8 {
        return;
    }
    for e in host.root.list(dir) {
        let p = format!("{}/{e}", dir.trim_end_matches('/'));
        match host.root.stat(&p) {
            Some(m) if m.is_dir => {
                out.push(p.clone());
                walk(host, &p, out, depth + 1);
            }
            Some(_) => out.push(p),
            None => {}
        }
    }
}

/// The control-plane node's files (1.1), on a node that holds the static pods.
pub fn control_plane_files(host: &mut Host) -> bool {
    let manifests = "/etc/kubernetes/manifests";
    let components = [
        "kube-apiserver.yaml",
        "kube-controller-manager.yaml",
        "kube-scheduler.yaml",
        "etcd.yaml",
    ];
    if !components
        .iter()
        .any(|f| host.root.exists(&format!("{manifests}/{f}")))
    {
        return false;
    }
    let mut c = host.check(&CONTROL_PLANE_FILES, manifests);
    let Ok(checks) = rampart_cis::master::file_checks() else {
        c.partly("rampart's CIS control-plane data did not load (a bug)");
        host.finish(c);
        return true;
    };
    let mut pki = Vec::new();
    walk(host, "/etc/kubernetes/pki", &mut pki, 0);
    let mut cni = Vec::new();
    for d in ["/etc/cni/net.d", "/var/lib/cni/networks"] {
        walk(host, d, &mut cni, 0);
    }
    for fc in checks {
        let files: Vec<String> = match fc.file {
            ControlPlaneFile::ApiServerManifest => vec![format!("{manifests}/kube-apiserver.yaml")],
            ControlPlaneFile::ControllerManagerManifest => {
                vec![format!("{manifests}/kube-controller-manager.yaml")]
            }
            ControlPlaneFile::SchedulerManifest => vec![format!("{manifests}/kube-scheduler.yaml")],
            ControlPlaneFile::EtcdManifest => vec![format!("{manifests}/etcd.yaml")],
            ControlPlaneFile::CniFiles => cni.clone(),
            ControlPlaneFile::EtcdDataDir => vec!["/var/lib/etcd".to_owned()],
            ControlPlaneFile::AdminConf => vec![
                "/etc/kubernetes/admin.conf".to_owned(),
                "/etc/kubernetes/super-admin.conf".to_owned(),
            ],
            ControlPlaneFile::SchedulerConf => vec!["/etc/kubernetes/scheduler.conf".to_owned()],
            ControlPlaneFile::ControllerManagerConf => {
                vec!["/etc/kubernetes/controller-manager.conf".to_owned()]
            }
            ControlPlaneFile::PkiTree => pki.clone(),
            ControlPlaneFile::PkiCertificates => pki
                .iter()
                .filter(|p| p.ends_with(".crt"))
                .cloned()
                .collect(),
            ControlPlaneFile::PkiKeys => pki
                .iter()
                .filter(|p| p.ends_with(".key"))
                .cloned()
                .collect(),
        };
        let (files, stats): (Vec<String>, Vec<FileStat>) = files
            .into_iter()
            .filter_map(|f| stat(host, &f).map(|s| (f, s)))
            .unzip();
        if files.is_empty() {
            c.partly(format!("CIS {}: no such file on the node", fc.check.id));
            continue;
        }
        let output = rampart_cis::master::file_audit_output(fc, &stats);
        file_check(&mut c, &fc.check, &files, &stats, output);
    }
    host.finish(c);
    true
}

pub static CONTROL_PLANE_FILES: rampart_core::Rule = rampart_core::Rule {
    id: "HOST022",
    name: "control-plane-files",
    title: "A control-plane file is writable or readable beyond its owner",
    severity: Severity::Medium,
    layer: rampart_core::Layer::Host,
    target: rampart_core::RuleTarget::Host,
    rationale: "The static pod manifests decide how the API server, controller manager, scheduler and etcd run; admin.conf and the PKI keys are the cluster's master credentials; etcd's data directory holds every secret. Whoever may write or read them owns the cluster.",
    remediation: "Restore the owner and mode the finding names (`chmod 600`, `chown root:root`; the etcd data directory 700 etcd:etcd).",
    bad_example: "/etc/kubernetes/admin.conf: root:root 0644",
    good_example: "/etc/kubernetes/admin.conf: root:root 0600",
    references: &[rampart_core::Reference::new(
        rampart_core::RefKind::CisKubernetes,
        "1.1 Control plane node configuration files (v1.12)",
        "https://www.cisecurity.org/benchmark/kubernetes",
    )],
};

/// Keeps the rule statics reachable from one list.
pub static RULES: &[&rampart_core::Rule] = &[&CONTROL_PLANE_FILES];
