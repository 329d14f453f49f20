//! The result of a scan, and the castle view: which layers stand, which are weak, which were not
//! assessed at all.

use crate::{Assessment, Finding, Layer, Severity};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Version of the JSON report schema (`docs/report.schema.json`). Bump the minor for additions,
/// the major for anything that breaks a consumer.
pub const REPORT_SCHEMA_VERSION: &str = "1.4";

/// How a layer held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LayerState {
    /// Nothing to assess it on: a missing wall, as far as the scan can tell.
    NotAssessed,
    /// Every control passed (or was waived).
    Holds,
    /// What was checked passed, but part of the input could not be checked (packages of an
    /// ecosystem the advisory database does not cover), or rules that would have assessed more
    /// in this layer were not run (`--skip-rule`, `--rule`): not a "holds".
    PartlyAssessed,
    /// Some controls failed, none at high or critical severity.
    Weak,
    /// A control failed at high or critical severity.
    Breached,
}

impl LayerState {
    pub fn as_str(self) -> &'static str {
        match self {
            LayerState::NotAssessed => "not assessed",
            LayerState::Holds => "holds",
            LayerState::PartlyAssessed => "partly assessed",
            LayerState::Weak => "weak",
            LayerState::Breached => "breached",
        }
    }
}

/// One row of the layer map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LayerSummary {
    pub layer: Layer,
    pub description: &'static str,
    pub state: LayerState,
    /// Controls (rule × subject) assessed.
    pub assessed: usize,
    pub passed: usize,
    pub failed: usize,
    /// Failed controls whose every finding is suppressed.
    pub waived: usize,
    /// Unsuppressed findings in this layer.
    pub findings: usize,
    /// Why the layer was not assessed, when it was not; what was left unchecked, when it was
    /// only partly assessed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// For one subject (a workload, a Dockerfile, a namespace...), the state of each layer assessed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubjectLayers {
    pub subject: String,
    pub file: String,
    pub layers: BTreeMap<Layer, LayerState>,
}

/// A problem reading input: not a finding, but it makes the scan incomplete (exit code 2).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct InputError {
    pub file: String,
    /// 1-based; 0 when the problem is not at a position.
    pub line: u32,
    pub column: u32,
    pub message: String,
}

impl InputError {
    /// Where the problem is: `file:line:column`, or the file alone when it is not at a position.
    pub fn at(&self) -> String {
        if self.line > 0 {
            format!("{}:{}:{}", self.file, self.line, self.column)
        } else {
            self.file.clone()
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tool {
    pub name: &'static str,
    pub version: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Summary {
    pub files_scanned: usize,
    pub dockerfiles: usize,
    pub manifests: usize,
    pub objects: usize,
    /// Unsuppressed findings by severity (every severity present, zeros included).
    pub findings: BTreeMap<Severity, usize>,
    pub suppressed: usize,
    pub errors: usize,
}

/// What an image (or root filesystem) scanned holds, in brief: the facts a person reads first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct ImageSummary {
    /// The image as named on the command line (reference or path).
    pub name: String,
    /// `image` or `filesystem`.
    pub kind: String,
    /// Manifest digest, when the image has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Config digest (the image id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// The operating system, as os-release names it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    /// `supported until DATE`, `ended DATE`, `rolling`, or `unknown`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os_support: Option<String>,
    /// The user containers start as, as configured (`root (default)` when unset).
    pub user: String,
    /// `ENTRYPOINT` and `CMD`, as configured.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub entrypoint: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cmd: Vec<String>,
    /// `EXPOSE`d ports (`8080/tcp`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exposed_ports: Vec<String>,
    /// How much of a general-purpose system it carries (`distroless`, `shell-only`, `full`).
    pub minimality: String,
    pub layers: usize,
    /// Entries in the final filesystem.
    pub files: usize,
    /// Packages by ecosystem (`deb`, `pypi`, `npm`, `golang`...).
    pub packages: BTreeMap<String, usize>,
    /// Shells, package managers and build tools found, by path.
    pub tools: Vec<String>,
    /// Known vulnerabilities, when they were checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vulnerabilities: Option<crate::VulnCounts>,
}

/// A component found on a node, with its version (`runc`, `1.1.5+ds1-1+deb12u1`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Component {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Where it was found (`dpkg`, `runsc --version`, a path, a CRI runtime handler...).
    pub source: String,
}

/// What a node assessed by `rampart host` is, in brief: the walls it can offer the layers
/// above it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct NodeSummary {
    /// The node's name (its hostname).
    pub name: String,
    /// The root assessed: `/` for the running node, else the offline copy's directory.
    pub root: String,
    /// The kernel release, as the node reports it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernel: Option<String>,
    /// The active Linux security modules, in the kernel's order.
    pub lsms: Vec<String>,
    /// Whether the kernel filters system calls for processes (seccomp).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seccomp: Option<bool>,
    /// `v2`, `v1` or `hybrid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<String>,
    /// Container runtimes and engines installed.
    pub runtimes: Vec<Component>,
    /// Sandbox runtimes installed or configured (gVisor's runsc, Kata).
    pub sandboxes: Vec<Component>,
    /// Where the kubelet's effective configuration came from, when there is a kubelet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kubelet: Option<String>,
}

/// A complete scan result. Serialized as the JSON report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub schema_version: &'static str,
    pub tool: Tool,
    /// What was scanned, as given on the command line.
    pub target: String,
    pub summary: Summary,
    pub layers: Vec<LayerSummary>,
    pub subjects: Vec<SubjectLayers>,
    /// Sorted by file, line, column, rule.
    pub findings: Vec<Finding>,
    pub errors: Vec<InputError>,
    /// The images scanned, in the order given (absent when none was).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<ImageSummary>,
    /// Known vulnerabilities of the images and SBOMs scanned, worst first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub vulnerabilities: Vec<crate::Vulnerability>,
    /// Input problems the user accepted (e.g. `--allow-unrendered`): reported, not counted as
    /// errors.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<InputError>,
    /// The nodes assessed (`rampart host`), absent when none was.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<NodeSummary>,
}

impl Report {
    /// Builds the report from an assessment whose suppressions are already applied.
    /// `not_assessed_reasons` says, per layer, why it would have nothing to assess.
    pub fn build(
        tool: Tool,
        target: String,
        mut assessment: Assessment,
        mut errors: Vec<InputError>,
        mut summary: Summary,
        not_assessed_reasons: &BTreeMap<Layer, String>,
    ) -> Report {
        assessment
            .findings
            .sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        assessment.findings.dedup();
        errors.sort();
        errors.dedup();

        // Per control: failed (an unsuppressed finding), waived (only suppressed ones), passed.
        let mut failing: BTreeMap<(&str, &str), Severity> = BTreeMap::new();
        let mut suppressed_only: BTreeSet<(&str, &str)> = BTreeSet::new();
        for f in &assessment.findings {
            let key = (f.rule_id, f.subject.as_str());
            if f.suppressed.is_none() {
                let worst = failing.entry(key).or_insert(f.severity);
                *worst = (*worst).max(f.severity);
            } else {
                suppressed_only.insert(key);
            }
        }

        let mut layers = Vec::new();
        for layer in Layer::ALL {
            let mut s = LayerSummary {
                layer,
                description: layer.describe(),
                state: LayerState::NotAssessed,
                assessed: 0,
                passed: 0,
                failed: 0,
                waived: 0,
                findings: assessment
                    .findings
                    .iter()
                    .filter(|f| f.layer == layer && f.suppressed.is_none())
                    .count(),
                reason: None,
            };
            let mut worst: Option<Severity> = None;
            for c in assessment.controls.iter().filter(|c| c.layer == layer) {
                s.assessed += 1;
                let key = (c.rule_id, c.subject.as_str());
                if let Some(sev) = failing.get(&key) {
                    s.failed += 1;
                    worst = worst.max(Some(*sev));
                } else if suppressed_only.contains(&key) {
                    s.waived += 1;
                } else {
                    s.passed += 1;
                }
            }
            let partial: Vec<String> = assessment
                .partial
                .iter()
                .filter(|((l, _), _)| *l == layer)
                .flat_map(|((_, subject), why)| why.iter().map(move |w| format!("{subject}: {w}")))
                .collect();
            s.state = match (s.assessed, worst) {
                (0, _) => LayerState::NotAssessed,
                (_, None) if !partial.is_empty() => LayerState::PartlyAssessed,
                (_, None) => LayerState::Holds,
                (_, Some(sev)) if sev >= Severity::High => LayerState::Breached,
                (_, Some(_)) => LayerState::Weak,
            };
            if s.assessed > 0 && !partial.is_empty() {
                s.reason = Some(partial.join("; "));
            }
            if s.state == LayerState::NotAssessed {
                s.reason = Some(
                    not_assessed_reasons
                        .get(&layer)
                        .cloned()
                        .unwrap_or_else(|| "no input for this layer".to_owned()),
                );
            }
            layers.push(s);
        }

        // Keyed by subject; the file is the first one the subject was seen in.
        let mut subjects: BTreeMap<&str, (&str, BTreeMap<Layer, LayerState>)> = BTreeMap::new();
        for c in &assessment.controls {
            let key = (c.rule_id, c.subject.as_str());
            let state = match failing.get(&key) {
                Some(sev) if *sev >= Severity::High => LayerState::Breached,
                Some(_) => LayerState::Weak,
                None => LayerState::Holds,
            };
            let partial = assessment
                .partial
                .contains_key(&(c.layer, c.subject.clone()));
            let state = if partial {
                state.max(LayerState::PartlyAssessed)
            } else {
                state
            };
            let entry = subjects
                .entry(c.subject.as_str())
                .or_insert_with(|| (c.file.as_str(), BTreeMap::new()))
                .1
                .entry(c.layer)
                .or_insert(LayerState::Holds);
            *entry = (*entry).max(state);
        }
        let subjects = subjects
            .into_iter()
            .map(|(subject, (file, layers))| SubjectLayers {
                subject: subject.to_owned(),
                file: file.to_owned(),
                layers,
            })
            .collect();

        summary.findings = Severity::ALL.into_iter().map(|s| (s, 0)).collect();
        for f in assessment
            .findings
            .iter()
            .filter(|f| f.suppressed.is_none())
        {
            *summary.findings.entry(f.severity).or_default() += 1;
        }
        summary.suppressed = assessment
            .findings
            .iter()
            .filter(|f| f.suppressed.is_some())
            .count();
        summary.errors = errors.len();

        Report {
            schema_version: REPORT_SCHEMA_VERSION,
            tool,
            target,
            summary,
            layers,
            subjects,
            findings: assessment.findings,
            errors,
            images: Vec::new(),
            vulnerabilities: Vec::new(),
            warnings: Vec::new(),
            nodes: Vec::new(),
        }
    }

    /// Records rules that were not run (rule selection) although they had something to assess:
    /// `skipped` maps each layer to those rules. A layer whose remaining controls all pass is
    /// `partly assessed`, never `holds`; one left with no control is `not assessed` because of
    /// the skip; the others keep their state with the skip named in the reason.
    pub fn note_skipped_rules(&mut self, skipped: &BTreeMap<Layer, BTreeSet<&'static str>>) {
        for l in &mut self.layers {
            let Some(rules) = skipped.get(&l.layer).filter(|r| !r.is_empty()) else {
                continue;
            };
            let list = rules.iter().copied().collect::<Vec<_>>().join(", ");
            match l.state {
                LayerState::NotAssessed => {
                    l.reason = Some(format!("rules not run (rule selection): {list}"));
                }
                LayerState::Holds | LayerState::PartlyAssessed => {
                    l.state = LayerState::PartlyAssessed;
                    l.reason = Some(format!(
                        "rules not run (rule selection): {list}; the controls assessed passed"
                    ));
                }
                LayerState::Weak | LayerState::Breached => {
                    l.reason = Some(format!("rules not run (rule selection): {list}"));
                }
            }
        }
    }

    /// Unsuppressed findings at or above `threshold`.
    pub fn count_at_or_above(&self, threshold: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.suppressed.is_none() && f.severity >= threshold)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Location, Rule, RuleTarget, Suppression};

    const fn r(id: &'static str, severity: Severity, layer: Layer) -> Rule {
        Rule {
            id,
            name: id,
            title: id,
            severity,
            layer,
            target: RuleTarget::Kubernetes,
            rationale: "",
            remediation: "",
            bad_example: "",
            good_example: "",
            references: &[],
        }
    }
    static HIGH_RT: Rule = r("A1", Severity::High, Layer::Runtime);
    static LOW_RT: Rule = r("A2", Severity::Low, Layer::Runtime);
    static NET: Rule = r("N1", Severity::Medium, Layer::Network);
    static BUILD: Rule = r("B1", Severity::Medium, Layer::Build);

    #[test]
    fn a_control_assessed_on_part_of_its_input_is_partly_assessed_never_holds() {
        static IMG: Rule = r("I1", Severity::High, Layer::Image);
        let tool = Tool {
            name: "rampart",
            version: "0",
        };
        let mut a = Assessment::new();
        a.assessed(&IMG, "SBOM a.json", "a.json");
        a.assessed(&IMG, "SBOM b.json", "b.json");
        a.partly(
            Layer::Image,
            "SBOM a.json",
            "npm: 10 packages not checked".into(),
        );
        let report = Report::build(
            tool.clone(),
            ".".into(),
            a.clone(),
            vec![],
            Summary::default(),
            &BTreeMap::new(),
        );
        let img = report.layers.iter().find(|l| l.layer == Layer::Image);
        assert_eq!(img.map(|l| l.state), Some(LayerState::PartlyAssessed));
        assert_eq!(
            img.and_then(|l| l.reason.as_deref()),
            Some("SBOM a.json: npm: 10 packages not checked")
        );
        assert_eq!(
            serde_json::to_value(LayerState::PartlyAssessed).ok(),
            Some(serde_json::json!("partly-assessed"))
        );
        let states: BTreeMap<&str, LayerState> = report
            .subjects
            .iter()
            .filter_map(|s| Some((s.subject.as_str(), *s.layers.get(&Layer::Image)?)))
            .collect();
        assert_eq!(states.get("SBOM a.json"), Some(&LayerState::PartlyAssessed));
        assert_eq!(states.get("SBOM b.json"), Some(&LayerState::Holds));
        // A failed control outranks it.
        a.push(Finding::new(
            &IMG,
            "SBOM a.json",
            Location::new("a.json", 0, 0),
            "x",
        ));
        let report = Report::build(
            tool,
            ".".into(),
            a,
            vec![],
            Summary::default(),
            &BTreeMap::new(),
        );
        let img = report.layers.iter().find(|l| l.layer == Layer::Image);
        assert_eq!(img.map(|l| l.state), Some(LayerState::Breached));
    }

    #[test]
    fn layer_map_counts_controls_and_states() {
        let mut a = Assessment::new();
        for s in ["Pod a", "Pod b"] {
            a.assessed(&HIGH_RT, s, "f.yaml");
            a.assessed(&LOW_RT, s, "f.yaml");
        }
        a.push(Finding::new(
            &LOW_RT,
            "Pod a",
            Location::new("f.yaml", 1, 1),
            "x",
        ));
        a.push(Finding::new(
            &LOW_RT,
            "Pod a",
            Location::new("f.yaml", 2, 1),
            "y",
        ));
        a.assessed(&NET, "Namespace n", "f.yaml");
        let mut waived = Finding::new(&NET, "Namespace n", Location::new("f.yaml", 3, 1), "z");
        waived.suppressed = Some(Suppression {
            kind: "inline",
            reason: "ok".into(),
            source: "f.yaml:2".into(),
            expires: None,
        });
        a.push(waived);
        a.assessed(&BUILD, "Dockerfile", "Dockerfile");
        a.push(
            Finding::new(&BUILD, "Dockerfile", Location::new("Dockerfile", 1, 1), "b")
                .with_severity(Severity::Critical),
        );

        let reasons = BTreeMap::from([(Layer::Image, "no image given".to_owned())]);
        let report = Report::build(
            Tool {
                name: "rampart",
                version: "0",
            },
            ".".into(),
            a,
            vec![],
            Summary::default(),
            &reasons,
        );
        let get = |l: Layer| report.layers.iter().find(|s| s.layer == l).cloned();
        let rt = get(Layer::Runtime).map(|s| (s.state, s.assessed, s.passed, s.failed, s.findings));
        assert_eq!(rt, Some((LayerState::Weak, 4, 3, 1, 2)));
        let net = get(Layer::Network).map(|s| (s.state, s.waived, s.failed));
        assert_eq!(net, Some((LayerState::Holds, 1, 0)));
        assert_eq!(
            get(Layer::Build).map(|s| s.state),
            Some(LayerState::Breached),
            "severity as raised on the finding"
        );
        let img = get(Layer::Image);
        assert_eq!(img.as_ref().map(|s| s.state), Some(LayerState::NotAssessed));
        assert_eq!(
            img.and_then(|s| s.reason).as_deref(),
            Some("no image given")
        );
        assert_eq!(report.summary.suppressed, 1);
        assert_eq!(report.count_at_or_above(Severity::Low), 3);
        assert_eq!(report.count_at_or_above(Severity::High), 1);
        let pod_a = report
            .subjects
            .iter()
            .find(|s| s.subject == "Pod a")
            .map(|s| s.layers.clone());
        assert_eq!(
            pod_a,
            Some(BTreeMap::from([(Layer::Runtime, LayerState::Weak)]))
        );
    }
}
