//! rampart's CIS worker node checks (benchmark section 4), as data for `rampart host`.
//!
//! The checks are kube-bench's cis-1.12 `node.yaml` (4.1 configuration files, 4.2 kubelet, 4.3
//! kube-proxy; `data/node.yaml`, proven equal to kube-bench's in `tests/node.rs`) plus v1.20's
//! 4.2.6 (protectKernelDefaults), which v1.12 dropped. They carry no audit commands: the caller
//! gives each its input.
//!
//! - File checks (4.1): [`file_audit_output`] writes what kube-bench's `stat` audit prints for a
//!   file (`permissions=600`, `root:root`, nothing for a missing file), and the check's
//!   `bitmask` / `eq` items judge it.
//! - Kubelet and kube-proxy checks (4.2, 4.3): [`Input::command`] is the process's flags (a flag
//!   there overrides the configuration, as for the kubelet itself), [`Input::config`] its
//!   configuration as JSON or YAML with KubeletConfiguration field names (`readOnlyPort`,
//!   `authentication.anonymous.enabled`); [`component_input`] builds it. Give the effective
//!   configuration (file merged over the version's defaults) as `config` and the flags as
//!   `command`, and the checks judge what is in effect rather than what is written.

use crate::eval::Input;
pub use crate::files::FileStat;
use crate::files::stat_line;
use crate::load::{LoadError, parse};
use crate::model::Check;
use std::sync::LazyLock;

/// The node file a 4.1 check is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeFile {
    /// The kubelet's systemd unit and drop-ins (kube-bench's `$kubeletsvc`).
    KubeletService,
    /// kube-proxy's kubeconfig (`$proxykubeconfig`).
    ProxyKubeconfig,
    /// The kubelet's `--kubeconfig` (`$kubeletkubeconfig`).
    KubeletKubeconfig,
    /// The kubelet's client CA file (`--client-ca-file`, `authentication.x509.clientCAFile`).
    ClientCaFile,
    /// The kubelet's `--config` file (`$kubeletconf`).
    KubeletConfig,
}

/// What of a file a 4.1 check looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileFact {
    /// Its mode (`permissions=%a`).
    Permissions,
    /// Its owner and group names (`%U:%G`).
    Ownership,
}

/// What a node check is judged on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subject {
    File(NodeFile, FileFact),
    Kubelet,
    KubeProxy,
}

/// A node check and what it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeCheck {
    pub check: Check,
    pub subject: Subject,
    /// The benchmark the check comes from (`cis-1.12`, or `cis-1.20` for 4.2.6).
    pub benchmark: &'static str,
}

static CHECKS: LazyLock<Result<Vec<NodeCheck>, LoadError>> = LazyLock::new(|| {
    let mut out = Vec::new();
    for (text, name, benchmark) in [
        (
            include_str!("../data/node.yaml"),
            "rampart-cis/data/node.yaml",
            "cis-1.12",
        ),
        (
            include_str!("../data/node-cis-1.20.yaml"),
            "rampart-cis/data/node-cis-1.20.yaml",
            "cis-1.20",
        ),
    ] {
        let controls = parse(text, name)?;
        for check in controls.checks() {
            let Some(subject) = subject_of(&check.id) else {
                continue;
            };
            out.push(NodeCheck {
                check: check.clone(),
                subject,
                benchmark,
            });
        }
    }
    Ok(out)
});

fn subject_of(id: &str) -> Option<Subject> {
    use FileFact::{Ownership, Permissions};
    use NodeFile::*;
    let file = |f, fact| Some(Subject::File(f, fact));
    match id {
        "4.1.1" => file(KubeletService, Permissions),
        "4.1.2" => file(KubeletService, Ownership),
        "4.1.3" => file(ProxyKubeconfig, Permissions),
        "4.1.4" => file(ProxyKubeconfig, Ownership),
        "4.1.5" => file(KubeletKubeconfig, Permissions),
        "4.1.6" => file(KubeletKubeconfig, Ownership),
        "4.1.7" => file(ClientCaFile, Permissions),
        "4.1.8" => file(ClientCaFile, Ownership),
        "4.1.9" => file(KubeletConfig, Permissions),
        "4.1.10" => file(KubeletConfig, Ownership),
        id if id.starts_with("4.2.") => Some(Subject::Kubelet),
        id if id.starts_with("4.3.") => Some(Subject::KubeProxy),
        _ => None,
    }
}

/// Every node check: 4.1.1–4.1.10, 4.2.1–4.2.14, 4.3.1 of cis-1.12, then 4.2.6 of cis-1.20.
/// The error cannot happen with the data this crate ships (a test loads it).
pub fn checks() -> Result<&'static [NodeCheck], &'static LoadError> {
    CHECKS.as_ref().map(Vec::as_slice)
}

/// The file checks (4.1).
pub fn file_checks() -> Result<impl Iterator<Item = &'static NodeCheck>, &'static LoadError> {
    Ok(checks()?
        .iter()
        .filter(|c| matches!(c.subject, Subject::File(..))))
}

/// The kubelet checks: 4.2.x of cis-1.12 and 4.2.6 (protectKernelDefaults) of cis-1.20.
pub fn kubelet_checks() -> Result<impl Iterator<Item = &'static NodeCheck>, &'static LoadError> {
    Ok(checks()?.iter().filter(|c| c.subject == Subject::Kubelet))
}

/// The kube-proxy check (4.3.1).
pub fn proxy_checks() -> Result<impl Iterator<Item = &'static NodeCheck>, &'static LoadError> {
    Ok(checks()?.iter().filter(|c| c.subject == Subject::KubeProxy))
}

/// What kube-bench's audit for a file check prints: `permissions=<mode>` (octal, as `stat -c
/// %a` writes it: `600`, `4755`) or `<user>:<group>`. For a missing file its audits print
/// nothing (the check then fails, or warns when unscored), except 4.1.2, whose audit prints
/// `File not found` (and passes). `None` for a check that is not about a file.
pub fn file_audit_output(check: &NodeCheck, stat: Option<&FileStat>) -> Option<String> {
    let Subject::File(file, fact) = check.subject else {
        return None;
    };
    Some(match stat {
        Some(s) => stat_line(&check.check, s),
        None if file == NodeFile::KubeletService && fact == FileFact::Ownership => {
            "File not found".to_owned()
        }
        None => String::new(),
    })
}

/// The input of a kubelet or kube-proxy check: the process's flags (a command line, e.g.
/// `kubelet --anonymous-auth=false --config=/var/lib/kubelet/config.yaml`) and its
/// configuration (JSON or YAML), looked into by the checks that have one.
pub fn component_input<'a>(check: &Check, flags: &'a str, config: Option<&'a str>) -> Input<'a> {
    Input {
        command: flags,
        config: if check.audit_config.is_empty() {
            None
        } else {
            config
        },
        env: "",
        error: None,
    }
}
