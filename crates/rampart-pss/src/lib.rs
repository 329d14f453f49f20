//! Kubernetes [Pod Security Standards] evaluator, versioned like the built-in
//! `pod-security-admission` controller.
//!
//! [`evaluate`] checks a pod (or a workload's pod template) against a level
//! (`privileged`, `baseline`, `restricted`) pinned at a policy version
//! (`v1.<minor>` or `latest`), and reports each failing check with the
//! upstream check ID, reason and detail wording, plus the offending field
//! paths. Results agree with every case of the upstream conformance fixtures
//! (`test/testdata` of `k8s.io/pod-security-admission`).
//!
//! ```
//! use rampart_pss::{evaluate, Level, Version};
//!
//! let pod = serde_json::json!({
//!     "spec": {"containers": [{"name": "app", "securityContext": {"privileged": true}}]}
//! });
//! let result = evaluate(Level::Baseline, "v1.29".parse().unwrap(), &pod);
//! assert!(!result.allowed());
//! assert_eq!(
//!     result.message(),
//!     r#"violates PodSecurity "baseline:v1.29": privileged (container "app" must not set securityContext.privileged=true)"#
//! );
//! assert!(evaluate(Level::Privileged, Version::LATEST, &pod).allowed());
//! ```
//!
//! # Untrusted input
//!
//! The API server never admits a pod whose fields have the wrong JSON type,
//! but this crate also sees raw YAML and webhook payloads. [`evaluate`]
//! never panics, whatever the JSON shape, and malformed input can only make
//! a verdict stricter, never looser:
//!
//! * `null` is the same as an absent field (as in Go's JSON decoding).
//! * Containers, ports, volumes, sysctls and capability lists are read only
//!   when they are JSON arrays; any other type counts as an empty list.
//!   Non-object list items are visited as empty objects, so checks that
//!   *require* a setting (runAsNonRoot, allowPrivilegeEscalation, drop ALL)
//!   still report them.
//! * Booleans that a check *forbids* being true (`privileged`, `hostPID`,
//!   `hostProcess`, ...) count as true for JSON `true` and for the strings
//!   a YAML 1.1 parser such as kubectl's would read as true (`"true"`,
//!   `"yes"`, `"on"`, `"y"`, any case).
//! * Booleans that a check *requires* (`runAsNonRoot: true`,
//!   `allowPrivilegeEscalation: false`) only count with that exact JSON
//!   boolean; any other present value is an explicit bad setting.
//! * Relaxations (`hostUsers: false`, `os.name: windows`) only apply for the
//!   exact JSON value.
//! * Enumerated strings (`procMount`, seccomp / AppArmor `type`, SELinux
//!   options, probe hosts, sysctl names, capabilities, annotations) compare
//!   as strings; a present value of another type never matches an allowed
//!   value and is shown by its JSON text.
//! * `runAsUser` is 0 when it is the number 0 (or 0.0) or a string holding
//!   0; any present `hostPort` other than that is a host port.
//! * A volume with no source is allowed (the API server defaults it to
//!   `emptyDir`). A present (non-null) volume source of any type counts as
//!   that source, a forbidden source wins over an allowed one, and at
//!   `restricted` any other member than `name` and the allowed sources
//!   (e.g. an `image` volume, or a misspelt source) is type `"unknown"`.
//!
//! [Pod Security Standards]: https://kubernetes.io/docs/concepts/security/pod-security-standards/

#![forbid(unsafe_code)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![warn(missing_docs)]

mod catalog;
mod checks;
mod pod;
mod version;

use std::fmt;

use serde::Serialize;
use serde_json::Value;

pub use catalog::CheckInfo;
pub use version::{Level, ParseError, Version};

/// One segment of a [`FieldPath`]: an object key or an array index.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(untagged)]
pub enum PathSeg {
    /// An object member.
    Key(String),
    /// An array element.
    Index(usize),
}

impl PathSeg {
    /// An object-key segment.
    pub fn key(key: &str) -> Self {
        Self::Key(key.to_owned())
    }
}

/// A path from the root of the evaluated pod object, e.g.
/// `["spec", "containers", 0, "securityContext", "privileged"]`.
pub type FieldPath = Vec<PathSeg>;

/// Renders a path as `spec.containers[0].securityContext.privileged`; keys
/// that are not plain identifiers are written `["key"]`, as in
/// `metadata.annotations["seccomp.security.alpha.kubernetes.io/pod"]`.
pub fn format_path(path: &[PathSeg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            PathSeg::Index(i) => out.push_str(&format!("[{i}]")),
            PathSeg::Key(k)
                if !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
            {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            PathSeg::Key(k) => out.push_str(&format!("[{k:?}]")),
        }
    }
    out
}

/// One failing check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// Upstream check ID, e.g. `"privileged"` or `"capabilities_restricted"`.
    pub check_id: &'static str,
    /// Level at which the check is defined (baseline or restricted).
    pub level: Level,
    /// Upstream forbidden reason, e.g. `"privileged"`.
    pub reason: String,
    /// Upstream forbidden detail, e.g.
    /// `container "app" must not set securityContext.privileged=true`.
    pub detail: String,
    /// Every offending field, from the pod object root. For a missing
    /// required field: the deepest existing object that should contain it
    /// (e.g. the container, or its `securityContext`).
    pub paths: Vec<FieldPath>,
    /// The (first) offending container, when the violation is about
    /// containers; the detail names all of them.
    pub container: Option<String>,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.detail.is_empty() {
            f.write_str(&self.reason)
        } else {
            write!(f, "{} ({})", self.reason, self.detail)
        }
    }
}

/// The result of [`evaluate`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evaluation {
    /// Level evaluated against.
    pub level: Level,
    /// Version requested (shown as given in [`Evaluation::message`]).
    pub version: Version,
    /// Failing checks: baseline checks first, then restricted, each group
    /// sorted by check ID (upstream order).
    pub violations: Vec<Violation>,
}

impl Evaluation {
    /// Whether the pod satisfies the level.
    pub fn allowed(&self) -> bool {
        self.violations.is_empty()
    }

    /// The IDs of the failing checks, in report order.
    pub fn failed_check_ids(&self) -> Vec<&'static str> {
        self.violations.iter().map(|v| v.check_id).collect()
    }

    /// The upstream denial message,
    /// `violates PodSecurity "<level>:<version>": reason (detail), ...`,
    /// or an empty string when the pod is allowed.
    pub fn message(&self) -> String {
        if self.allowed() {
            return String::new();
        }
        let reasons: Vec<String> = self.violations.iter().map(ToString::to_string).collect();
        format!(
            "violates PodSecurity \"{}:{}\": {}",
            self.level,
            self.version,
            reasons.join(", ")
        )
    }
}

/// The catalog of all checks, baseline first, then restricted, each group
/// sorted by ID.
pub fn checks() -> &'static [CheckInfo] {
    &catalog::CHECKS
}

/// Evaluates `pod` against `level` pinned at `version`.
///
/// `pod` is an object with optional `metadata` (its `annotations` are read)
/// and `spec` (a core/v1 PodSpec): a v1 Pod, or a workload's pod template.
/// Any other JSON value is treated as a pod with an empty spec.
///
/// At `restricted`, every baseline check runs too, except those replaced by a
/// restricted check that applies at that version (`CheckInfo::overrides`).
/// Versions newer than [`Version::NEWEST_POLICY`], and `latest`, use the
/// newest policy.
pub fn evaluate(level: Level, version: Version, pod: &Value) -> Evaluation {
    let mut violations = Vec::new();
    if level != Level::Privileged {
        let view = pod::Pod::new(pod);
        let minor = version.policy_minor();
        // The newest variant of a check that applies at (level, minor).
        let applicable = |info: &CheckInfo| -> Option<&'static catalog::Variant> {
            if info.level > level {
                return None;
            }
            catalog::variants(info.id)
                .iter()
                .rev()
                .find(|v| v.min_minor <= minor)
        };
        let overridden: Vec<&str> = catalog::CHECKS
            .iter()
            .filter(|info| applicable(info).is_some())
            .flat_map(|info| info.overrides.iter().copied())
            .collect();
        for info in &catalog::CHECKS {
            if overridden.contains(&info.id) {
                continue;
            }
            let Some(variant) = applicable(info) else {
                continue;
            };
            if let Some(finding) = (variant.run)(&view) {
                violations.push(Violation {
                    check_id: info.id,
                    level: info.level,
                    reason: finding.reason,
                    detail: finding.detail,
                    paths: finding.paths,
                    container: finding.container,
                });
            }
        }
    }
    Evaluation {
        level,
        version,
        violations,
    }
}
