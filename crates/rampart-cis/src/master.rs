//! rampart's CIS control-plane checks that a static pod manifest shows (benchmark v1.12: 1.2
//! API server, 1.3 controller manager, 1.4 scheduler, 2 etcd, 3.2.1 audit policy), as data
//! (`data/manifests.yaml`, kube-bench's tests for those ids) for `rampart scan`.
//!
//! A component's container is judged on its effective command line ([`container_input`]: the
//! command and arguments read as the component reads them, see [`crate::cmdline`]) and, for
//! etcd, its `ETCD_*` environment variables.
//!
//! The control-plane node's files (1.1: the static pod manifests, kubeconfigs, the etcd data
//! directory, the PKI) are not in a manifest: [`file_checks`] gives them to `rampart host` as
//! data (`data/control-plane-files.yaml`), judged on `stat`'s output ([`file_audit_output`]).

use crate::cmdline::{self, Parsed};
use crate::files::{FileStat, stat_output};
use crate::load::{LoadError, parse};
use crate::model::Check;
use std::sync::LazyLock;

/// A control-plane component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Component {
    ApiServer,
    ControllerManager,
    Scheduler,
    Etcd,
}

impl Component {
    pub const ALL: [Component; 4] = [
        Component::ApiServer,
        Component::ControllerManager,
        Component::Scheduler,
        Component::Etcd,
    ];

    /// The program's name (`kube-apiserver`), as kubeadm's manifests run it and label it
    /// (`component: kube-apiserver`).
    pub fn program(self) -> &'static str {
        match self {
            Component::ApiServer => "kube-apiserver",
            Component::ControllerManager => "kube-controller-manager",
            Component::Scheduler => "kube-scheduler",
            Component::Etcd => "etcd",
        }
    }

    /// The component a program name or path (`/usr/local/bin/kube-apiserver`) runs.
    pub fn from_program(word: &str) -> Option<Component> {
        let base = word.rsplit('/').next().unwrap_or(word);
        Component::ALL.into_iter().find(|c| c.program() == base)
    }
}

/// A check and the component it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestCheck {
    pub check: Check,
    pub component: Component,
}

static CHECKS: LazyLock<Result<Vec<ManifestCheck>, LoadError>> = LazyLock::new(|| {
    let controls = parse(
        include_str!("../data/manifests.yaml"),
        "rampart-cis/data/manifests.yaml",
    )?;
    let mut out = Vec::new();
    for group in &controls.groups {
        let component = match group.id.as_str() {
            "1.2" | "3.2" => Component::ApiServer,
            "1.3" => Component::ControllerManager,
            "1.4" => Component::Scheduler,
            _ => Component::Etcd,
        };
        out.extend(group.checks.iter().map(|check| ManifestCheck {
            check: check.clone(),
            component,
        }));
    }
    Ok(out)
});

/// Every control-plane check a manifest shows, in benchmark order. The error cannot happen
/// with the data this crate ships (a test loads it).
pub fn manifest_checks() -> Result<&'static [ManifestCheck], &'static LoadError> {
    CHECKS.as_ref().map(Vec::as_slice)
}

/// The checks of one component.
pub fn checks_for(
    component: Component,
) -> Result<impl Iterator<Item = &'static ManifestCheck>, &'static LoadError> {
    Ok(manifest_checks()?
        .iter()
        .filter(move |c| c.component == component))
}

/// What a component's container is judged on: its command and arguments read as the
/// component reads them (`args`: everything after the program), the effective command line
/// (`program --flag=value ...`, for [`crate::Input::command`]), and its environment as
/// `NAME=value` lines (for [`crate::Input::env`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerInput {
    pub parsed: Parsed,
    pub command: String,
    pub env: String,
}

/// Builds a container's input from its program, its arguments after the program, and its
/// environment variables with literal values.
pub fn container_input(program: &str, args: &[String], env: &[(&str, &str)]) -> ContainerInput {
    let parsed = cmdline::parse(args, cmdline::BOOL_FLAGS, cmdline::LIST_FLAGS);
    let command = cmdline::effective(program, &parsed);
    let env = env
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("\n");
    ContainerInput {
        parsed,
        command,
        env,
    }
}

/// The control-plane node file (or files) a 1.1 check is about, with kubeadm's paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ControlPlaneFile {
    /// `/etc/kubernetes/manifests/kube-apiserver.yaml` (1.1.1, 1.1.2).
    ApiServerManifest,
    /// `/etc/kubernetes/manifests/kube-controller-manager.yaml` (1.1.3, 1.1.4).
    ControllerManagerManifest,
    /// `/etc/kubernetes/manifests/kube-scheduler.yaml` (1.1.5, 1.1.6).
    SchedulerManifest,
    /// `/etc/kubernetes/manifests/etcd.yaml` (1.1.7, 1.1.8).
    EtcdManifest,
    /// The files in the kubelet's `--cni-conf-dir` and `/var/lib/cni/networks` (1.1.9, 1.1.10).
    CniFiles,
    /// etcd's `--data-dir`, `/var/lib/etcd` by default (1.1.11, 1.1.12).
    EtcdDataDir,
    /// `/etc/kubernetes/admin.conf` and `super-admin.conf` (1.1.13, 1.1.14).
    AdminConf,
    /// `/etc/kubernetes/scheduler.conf` (1.1.15, 1.1.16).
    SchedulerConf,
    /// `/etc/kubernetes/controller-manager.conf` (1.1.17, 1.1.18).
    ControllerManagerConf,
    /// `/etc/kubernetes/pki/` and everything below (1.1.19).
    PkiTree,
    /// `/etc/kubernetes/pki/**/*.crt` (1.1.20).
    PkiCertificates,
    /// `/etc/kubernetes/pki/**/*.key` (1.1.21).
    PkiKeys,
}

/// A 1.1 check and the file it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileCheck {
    pub check: Check,
    pub file: ControlPlaneFile,
}

static FILE_CHECKS: LazyLock<Result<Vec<FileCheck>, LoadError>> = LazyLock::new(|| {
    use ControlPlaneFile::*;
    let controls = parse(
        include_str!("../data/control-plane-files.yaml"),
        "rampart-cis/data/control-plane-files.yaml",
    )?;
    Ok(controls
        .checks()
        .filter_map(|check| {
            let n: u32 = check.id.strip_prefix("1.1.")?.parse().ok()?;
            let file = match n {
                1 | 2 => ApiServerManifest,
                3 | 4 => ControllerManagerManifest,
                5 | 6 => SchedulerManifest,
                7 | 8 => EtcdManifest,
                9 | 10 => CniFiles,
                11 | 12 => EtcdDataDir,
                13 | 14 => AdminConf,
                15 | 16 => SchedulerConf,
                17 | 18 => ControllerManagerConf,
                19 => PkiTree,
                20 => PkiCertificates,
                _ => PkiKeys,
            };
            Some(FileCheck {
                check: check.clone(),
                file,
            })
        })
        .collect())
});

/// The control-plane node file checks, 1.1.1 to 1.1.21. The error cannot happen with the data
/// this crate ships (a test loads it).
pub fn file_checks() -> Result<&'static [FileCheck], &'static LoadError> {
    FILE_CHECKS.as_ref().map(Vec::as_slice)
}

/// What kube-bench's audit for a 1.1 check prints for the files found (one line each; nothing
/// when there is none, and the check then fails, or warns when unscored).
pub fn file_audit_output(check: &FileCheck, stats: &[FileStat]) -> String {
    stat_output(&check.check, stats)
}
