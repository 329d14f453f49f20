use crate::{Layer, Reference, Rule, Severity};
use serde::Serialize;
use std::collections::BTreeSet;

/// A Kubernetes object a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Default)]
pub struct K8sObject {
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
}

/// A Dockerfile build stage a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Stage {
    /// 0-based index of the `FROM` in the file.
    pub index: usize,
    /// The `AS` name, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Whether this stage is the one the image is built from (the last one).
    #[serde(rename = "final")]
    pub is_final: bool,
}

/// Where a finding is. Lines and columns are 1-based; `0` means "the whole file".
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Default)]
pub struct Location {
    /// Path as given to the scan (relative to the scan root where possible, `/` separators).
    pub file: String,
    pub line: u32,
    pub column: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<K8sObject>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<Stage>,
}

impl Location {
    pub fn new(file: impl Into<String>, line: u32, column: u32) -> Self {
        Location {
            file: file.into(),
            line,
            column,
            object: None,
            stage: None,
        }
    }
}

/// Why a finding does not count against the result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suppression {
    /// `inline` or `config`.
    pub kind: &'static str,
    pub reason: String,
    /// Where the suppression is written (`file:line`).
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

/// One weakness found in one place. Findings are data, not errors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub rule_id: &'static str,
    pub rule_name: &'static str,
    pub title: &'static str,
    pub severity: Severity,
    pub layer: Layer,
    /// The thing the control was assessed on (e.g. `Deployment shop/web`, `Dockerfile`): findings
    /// and controls share it, which is how the layer map counts failed controls.
    pub subject: String,
    pub location: Location,
    /// What is wrong in this case, naming the offending value.
    pub message: String,
    pub remediation: &'static str,
    pub references: &'static [Reference],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<Suppression>,
}

impl Finding {
    pub fn new(
        rule: &'static Rule,
        subject: impl Into<String>,
        location: Location,
        message: impl Into<String>,
    ) -> Self {
        Finding {
            rule_id: rule.id,
            rule_name: rule.name,
            title: rule.title,
            severity: rule.severity,
            layer: rule.layer,
            subject: subject.into(),
            location,
            message: message.into(),
            remediation: rule.remediation,
            references: rule.references,
            suppressed: None,
        }
    }

    pub fn with_severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    /// A stable key for ordering reports: file, line, column, rule.
    pub fn sort_key(&self) -> (&str, u32, u32, &str, &str) {
        (
            &self.location.file,
            self.location.line,
            self.location.column,
            self.rule_id,
            &self.message,
        )
    }
}

/// One control (a rule) assessed on one subject.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Control {
    pub rule_id: &'static str,
    pub layer: Layer,
    pub subject: String,
    /// The file the subject was read from.
    pub file: String,
}

/// What evaluating rules on some input produced: the controls that were assessed and the
/// findings. A control with no unsuppressed finding (same rule, same subject) passed.
#[derive(Debug, Default, Clone)]
pub struct Assessment {
    pub controls: BTreeSet<Control>,
    pub findings: Vec<Finding>,
    /// Controls assessed on only part of their input, with why (a vulnerability check whose
    /// advisory database does not cover some packages' ecosystem): keyed by layer and subject.
    pub partial: std::collections::BTreeMap<(crate::Layer, String), Vec<String>>,
}

impl Assessment {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `rule` was evaluated on `subject` (read from `file`).
    pub fn assessed(&mut self, rule: &'static Rule, subject: &str, file: &str) {
        self.controls.insert(Control {
            rule_id: rule.id,
            layer: rule.layer,
            subject: subject.to_owned(),
            file: file.to_owned(),
        });
    }

    /// Records a finding; its control counts as assessed.
    pub fn push(&mut self, finding: Finding) {
        self.controls.insert(Control {
            rule_id: finding.rule_id,
            layer: finding.layer,
            subject: finding.subject.clone(),
            file: finding.location.file.clone(),
        });
        self.findings.push(finding);
    }

    /// Records that what was assessed on `subject` in `layer` left part of its input unchecked,
    /// and why: the layer is at best "partly assessed".
    pub fn partly(&mut self, layer: crate::Layer, subject: &str, why: String) {
        self.partial
            .entry((layer, subject.to_owned()))
            .or_default()
            .push(why);
    }

    pub fn extend(&mut self, other: Assessment) {
        self.controls.extend(other.controls);
        self.findings.extend(other.findings);
        for (k, mut v) in other.partial {
            self.partial.entry(k).or_default().append(&mut v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RuleTarget;

    static R: Rule = Rule {
        id: "T001",
        name: "test",
        title: "a test rule",
        severity: Severity::High,
        layer: Layer::Runtime,
        target: RuleTarget::Kubernetes,
        rationale: "",
        remediation: "fix it",
        bad_example: "",
        good_example: "",
        references: &[],
    };

    #[test]
    fn finding_takes_rule_metadata_and_push_marks_control_assessed() {
        let mut a = Assessment::new();
        a.assessed(&R, "Pod a", "x.yaml");
        a.push(Finding::new(
            &R,
            "Pod b",
            Location::new("x.yaml", 3, 5),
            "boom",
        ));
        assert_eq!(a.controls.len(), 2);
        let f = &a.findings[0];
        assert_eq!(
            (f.rule_id, f.severity, f.layer),
            ("T001", Severity::High, Layer::Runtime)
        );
        assert_eq!(
            f.clone().with_severity(Severity::Low).severity,
            Severity::Low
        );
    }
}
