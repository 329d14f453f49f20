//! The host layer (issue 18): the node under the containers, assessed as it is actually
//! configured. `rampart host` reads the running node (`/`) or an offline copy of a node's files
//! (`--root DIR`), and reports into the same report and layer map as `rampart scan`, with
//! the subject `Node <hostname>` in the host layer:
//!
//! - [`kernel`]: version and known container escapes, security modules, seccomp, cgroups,
//!   unprivileged user namespaces and BPF, hardening sysctls;
//! - [`runtimes`]: container runtimes and engines, their versions against known escapes,
//!   Docker's daemon configuration (its flags over `daemon.json`) and files, containerd's and
//!   CRI-O's configuration and the sandbox runtimes they offer;
//! - [`kubelet`]: the kubelet's effective configuration (flags over its config file over the
//!   defaults) and the CIS Kubernetes node items;
//! - [`ssh`]: how root and passwords may log in.
//!
//! Checks that could not be made (a file absent, a value unreadable) are said: the layer is
//! then `partly assessed`, never `holds`.

pub mod cis;
pub mod kernel;
pub mod kubelet;
pub mod root;
pub mod runtimes;
pub mod ssh;
pub mod units;

use std::collections::BTreeMap;

use rampart_core::{Assessment, Finding, InputError, Location, NodeSummary, Rule};

pub use root::Root;

/// Every rule of the host layer, in id order.
pub fn rules() -> Vec<&'static Rule> {
    let mut all: Vec<&'static Rule> = Vec::new();
    all.extend_from_slice(kernel::RULES);
    all.extend_from_slice(runtimes::RULES);
    all.extend_from_slice(kubelet::RULES);
    all.extend_from_slice(ssh::RULES);
    all.extend_from_slice(cis::RULES);
    all.sort_by_key(|r| r.id);
    all
}

/// What assessing a node gives.
#[derive(Debug)]
pub struct Host {
    /// where its files are read
    pub root: Root,
    /// `Node <hostname>`
    pub subject: String,
    /// the node's facts
    pub summary: NodeSummary,
    /// controls and findings
    pub assessment: Assessment,
    /// files that could not be read or parsed, unknown flags
    pub errors: Vec<InputError>,
}

/// One control being assessed: its findings and what kept part of it from being checked.
#[derive(Debug)]
pub struct Check {
    rule: &'static Rule,
    file: String,
    failures: Vec<(String, String, Option<rampart_core::Severity>)>,
    partial: Vec<String>,
    /// input problems met on the way
    pub errors: Vec<InputError>,
}

impl Check {
    /// A finding at the control's file.
    pub fn fail(&mut self, message: impl Into<String>) {
        let f = self.file.clone();
        self.failures.push((f, message.into(), None));
    }

    /// A finding at the control's file, with a severity of its own (one CIS item matters
    /// more than another under the same rule).
    pub fn fail_sev(&mut self, severity: rampart_core::Severity, message: impl Into<String>) {
        let f = self.file.clone();
        self.failures.push((f, message.into(), Some(severity)));
    }

    /// A finding at another file.
    pub fn fail_at(&mut self, file: &str, message: impl Into<String>) {
        self.failures.push((file.to_owned(), message.into(), None));
    }

    /// Part of the control could not be checked, and why.
    pub fn partly(&mut self, why: impl Into<String>) {
        self.partial.push(why.into());
    }

    /// An input error (a value that does not parse) at a file.
    pub fn error(&mut self, file: &str, message: impl Into<String>) {
        self.errors.push(InputError {
            file: file.to_owned(),
            line: 0,
            column: 0,
            message: message.into(),
        });
    }
}

impl Host {
    /// Starts a control of `rule`, read from `file` (as on the node).
    pub fn check(&self, rule: &'static Rule, file: &str) -> Check {
        Check {
            rule,
            file: file.to_owned(),
            failures: Vec::new(),
            partial: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// Records a control: assessed, its findings, what was not checked.
    pub fn finish(&mut self, c: Check) {
        self.assessment.assessed(c.rule, &self.subject, &c.file);
        for (file, message, severity) in c.failures {
            let f = Finding::new(
                c.rule,
                self.subject.clone(),
                Location::new(file, 0, 0),
                message,
            );
            self.assessment.push(match severity {
                Some(s) => f.with_severity(s),
                None => f,
            });
        }
        for why in c.partial {
            self.partly(format!("{}: {why}", c.rule.id));
        }
        self.errors.extend(c.errors);
    }

    /// A control that could not be made at all: said, and the layer is partly assessed.
    pub fn not_checked(&mut self, rule: &'static Rule, why: &str) {
        self.partly(format!("{} not checked: {why}", rule.id));
    }

    fn partly(&mut self, why: String) {
        self.assessment
            .partial
            .entry((rampart_core::Layer::Host, self.subject.clone()))
            .or_default()
            .push(why);
    }
}

/// Options of an assessment.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// the node's name (default: its hostname, from `/proc/sys/kernel/hostname` or
    /// `/etc/hostname` of the root)
    pub name: Option<String>,
}

/// Assesses the node whose files are under `root`.
pub fn assess(root: Root, opts: &Options) -> Host {
    let name = opts
        .name
        .clone()
        .or_else(|| {
            ["/proc/sys/kernel/hostname", "/etc/hostname"]
                .iter()
                .find_map(|p| root.read_value(p).ok().flatten().filter(|v| !v.is_empty()))
        })
        .unwrap_or_else(|| "unknown".to_owned());
    let mut host = Host {
        subject: format!("Node {name}"),
        summary: NodeSummary {
            name,
            root: root.dir().display().to_string(),
            ..NodeSummary::default()
        },
        root,
        assessment: Assessment::new(),
        errors: Vec::new(),
    };
    kernel::assess(&mut host);
    runtimes::assess(&mut host);
    kubelet::assess(&mut host);
    cis::control_plane_files(&mut host);
    ssh::assess(&mut host);
    host
}

/// The reasons the report gives for layers a host assessment does not cover.
pub fn not_assessed_reasons() -> BTreeMap<rampart_core::Layer, String> {
    rampart_core::Layer::ALL
        .into_iter()
        .filter(|l| *l != rampart_core::Layer::Host)
        .map(|l| {
            (
                l,
                "not a node setting (`rampart scan` assesses workloads)".to_owned(),
            )
        })
        .collect()
}
