use crate::{Layer, Severity};
use serde::Serialize;

/// What kind of input a rule reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleTarget {
    Dockerfile,
    Kubernetes,
    /// Container images and root filesystems (their files and configuration).
    Image,
    /// Rules about rampart's own configuration (suppressions).
    Config,
    /// Seccomp profiles (`rampart seccomp lint`).
    Seccomp,
    /// A node's own configuration: kernel, runtimes, kubelet, SSH (`rampart host`).
    Host,
}

impl RuleTarget {
    pub fn as_str(self) -> &'static str {
        match self {
            RuleTarget::Dockerfile => "dockerfile",
            RuleTarget::Kubernetes => "kubernetes",
            RuleTarget::Image => "image",
            RuleTarget::Config => "config",
            RuleTarget::Seccomp => "seccomp",
            RuleTarget::Host => "host",
        }
    }
}

/// Which body of guidance a reference points into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RefKind {
    /// A Kubernetes Pod Security Standards control.
    PodSecurityStandard,
    /// CIS Docker Benchmark item.
    CisDocker,
    /// CIS Kubernetes Benchmark item.
    CisKubernetes,
    /// NSA/CISA Kubernetes Hardening Guide section.
    NsaCisa,
    /// Upstream documentation.
    Docs,
}

impl RefKind {
    /// The guidance's name, for people.
    pub fn label(self) -> &'static str {
        match self {
            RefKind::PodSecurityStandard => "Pod Security Standards",
            RefKind::CisDocker => "CIS Docker Benchmark",
            RefKind::CisKubernetes => "CIS Kubernetes Benchmark",
            RefKind::NsaCisa => "NSA/CISA Kubernetes Hardening Guide",
            RefKind::Docs => "Documentation",
        }
    }
}

/// A pointer into published guidance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Reference {
    pub kind: RefKind,
    /// The item: a control name, a benchmark number, a section title.
    pub id: &'static str,
    pub url: &'static str,
}

impl Reference {
    pub const fn new(kind: RefKind, id: &'static str, url: &'static str) -> Self {
        Reference { kind, id, url }
    }
}

/// A rule's static metadata. Every rule is declared once, as a `static Rule`, in the source file
/// that implements it; the catalog is the list of those statics, and ids are unique (tested).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rule {
    /// Stable identifier, e.g. `DF001`. Never reused or renumbered.
    pub id: &'static str,
    /// Short kebab-case name, e.g. `root-user`.
    pub name: &'static str,
    pub title: &'static str,
    /// Default severity; a finding may lower it (e.g. in a non-final build stage).
    pub severity: Severity,
    pub layer: Layer,
    pub target: RuleTarget,
    /// Why the weakness matters.
    pub rationale: &'static str,
    /// How to fix it, in one or two sentences.
    pub remediation: &'static str,
    /// A minimal input that triggers the rule.
    pub bad_example: &'static str,
    /// The same input, fixed.
    pub good_example: &'static str,
    pub references: &'static [Reference],
}
