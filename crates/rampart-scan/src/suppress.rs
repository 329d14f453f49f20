//! Suppressions: inline `# rampart:ignore RULE reason` comments and `[[suppress]]` entries of
//! `rampart.toml`. A suppressed finding stays in the report, marked, so nothing is lost; an
//! expired suppression no longer applies and is itself reported.

use crate::config::ConfigSuppression;
use rampart_core::{
    Finding, InputError, Layer, Location, RefKind, Reference, Rule, RuleTarget, Severity,
    Suppression,
};
use std::collections::BTreeMap;

pub static EXPIRED_SUPPRESSION: Rule = Rule {
    id: "CFG001",
    name: "expired-suppression",
    title: "Suppression has expired",
    severity: Severity::Low,
    layer: Layer::Build,
    target: RuleTarget::Config,
    rationale: "A suppression with an expiry date is a promise to fix or re-review by then. Once the date passes the suppression stops applying, the findings it hid count again, and this finding says so.",
    remediation: "Fix the suppressed findings, or extend `expires` with a fresh reason after review.",
    bad_example: "[[suppress]]\nrule = \"K8S001\"\nreason = \"limits after load test\"\nexpires = \"2020-01-01\"\n",
    good_example: "[[suppress]]\nrule = \"K8S001\"\nreason = \"limits after load test\"\nexpires = \"2099-01-01\"\n",
    references: &[Reference::new(
        RefKind::Docs,
        "rampart suppressions",
        "docs/suppressions.md",
    )],
};

/// The marker that starts an inline directive.
pub const MARKER: &str = "rampart:ignore";

/// One inline directive.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Directive {
    rules: Vec<String>,
    reason: String,
    line: u32,
    whole_file: bool,
}

/// Inline directives of one file, by the line they apply to.
#[derive(Debug, Default)]
pub struct InlineSuppressions {
    /// Target line -> directives applying to it.
    by_line: BTreeMap<u32, Vec<Directive>>,
    whole_file: Vec<Directive>,
}

impl InlineSuppressions {
    /// Finds the directives in `text`. A directive on a line with content applies to that line;
    /// one on a comment-only line applies to the next line that is neither blank nor a comment.
    /// `rampart:ignore-file` applies to the whole file. Directives without a reason are errors.
    pub fn parse(file: &str, text: &str) -> (InlineSuppressions, Vec<InputError>) {
        let mut out = InlineSuppressions::default();
        let mut errors = Vec::new();
        // One pass over the whole file first: almost no file has a directive.
        if !text.contains(MARKER) {
            return (out, errors);
        }
        let mut pending: Vec<Directive> = Vec::new();
        for (idx, line) in text.lines().enumerate() {
            let lineno = u32::try_from(idx + 1).unwrap_or(u32::MAX);
            let trimmed = line.trim_start();
            let comment_only = trimmed.starts_with('#');
            if let Some(at) = line.find(MARKER)
                && line.get(..at).is_some_and(|before| before.contains('#'))
            {
                let rest = line.get(at + MARKER.len()..).unwrap_or("");
                let (whole_file, rest) = match rest.strip_prefix("-file") {
                    Some(r) => (true, r),
                    None => (false, rest),
                };
                let mut words = rest.split_whitespace();
                let rules: Vec<String> = words
                    .next()
                    .map(|w| {
                        w.split(',')
                            .filter(|s| !s.is_empty())
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default();
                let reason = words.collect::<Vec<_>>().join(" ");
                let column = u32::try_from(at + 1).unwrap_or(u32::MAX);
                if rules.is_empty() || reason.is_empty() {
                    errors.push(InputError {
                        file: file.to_owned(),
                        line: lineno,
                        column,
                        message: format!(
                            "inline suppression needs a rule id and a reason: `# {MARKER} RULE-ID why it is acceptable`"
                        ),
                    });
                } else {
                    let d = Directive {
                        rules,
                        reason,
                        line: lineno,
                        whole_file,
                    };
                    if whole_file {
                        out.whole_file.push(d);
                    } else if comment_only {
                        pending.push(d);
                    } else {
                        out.by_line.entry(lineno).or_default().push(d);
                    }
                }
            }
            if !comment_only && !trimmed.is_empty() && !pending.is_empty() {
                out.by_line.entry(lineno).or_default().append(&mut pending);
            }
        }
        (out, errors)
    }

    fn find(&self, finding: &Finding) -> Option<&Directive> {
        let matches = |d: &&Directive| {
            d.rules.iter().any(|r| {
                r.eq_ignore_ascii_case(finding.rule_id) || r == finding.rule_name || r == "all"
            })
        };
        self.by_line
            .get(&finding.location.line)
            .and_then(|ds| ds.iter().find(matches))
            .or_else(|| self.whole_file.iter().find(matches))
    }

    /// Marks `finding` suppressed if a directive covers it.
    pub fn apply(&self, file: &str, finding: &mut Finding) {
        if finding.suppressed.is_some() {
            return;
        }
        if let Some(d) = self.find(finding) {
            finding.suppressed = Some(Suppression {
                kind: "inline",
                reason: d.reason.clone(),
                source: format!("{file}:{}", d.line),
                expires: None,
            });
        }
    }
}

/// Applies the configuration's suppressions; returns a finding for each expired one that would
/// otherwise have applied to something (and for each expired one at all, once).
///
/// Path globs are matched against the finding's file relative to the configuration file's
/// directory (`relative` maps one to the other), so `k8s/*.yaml` in `examples/rampart.toml`
/// means `examples/k8s/*.yaml`. An entry with a vulnerability `id` applies to a finding whose
/// vulnerability has that id or alias (`vuln_ids` gives them, case-insensitive).
pub fn apply_config(
    suppressions: &[ConfigSuppression],
    config_file: &str,
    relative: &dyn Fn(&str) -> String,
    vuln_ids: &dyn Fn(&Finding) -> Vec<String>,
    today: jiff::civil::Date,
    findings: &mut [Finding],
) -> Vec<Finding> {
    let mut expired_hits: BTreeMap<usize, usize> = BTreeMap::new();
    for f in findings.iter_mut().filter(|f| f.suppressed.is_none()) {
        // Expired suppressions that would have covered this finding, counted only if no valid
        // suppression covers it instead.
        let mut expired_here = Vec::new();
        let relative = relative(&f.location.file);
        let ids = if suppressions.iter().any(|s| s.vuln_id.is_some()) {
            vuln_ids(f)
        } else {
            Vec::new()
        };
        for (i, s) in suppressions.iter().enumerate() {
            let matches = s.rule.id == f.rule_id
                && (s.path_text.is_empty() || s.paths.is_match(&relative))
                && s.subject.as_ref().is_none_or(|subj| *subj == f.subject)
                && s.vuln_id
                    .as_ref()
                    .is_none_or(|id| ids.iter().any(|v| v.eq_ignore_ascii_case(id)));
            if !matches {
                continue;
            }
            if s.expires.is_some_and(|d| d < today) {
                expired_here.push(i);
                continue;
            }
            f.suppressed = Some(Suppression {
                kind: "config",
                reason: s.reason.clone(),
                source: format!("{config_file}:{}", s.line),
                expires: s.expires.map(|d| d.to_string()),
            });
            break;
        }
        if f.suppressed.is_none() {
            for i in expired_here {
                *expired_hits.entry(i).or_default() += 1;
            }
        }
    }
    suppressions
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let date = s.expires.filter(|d| *d < today)?;
            let hits = expired_hits.get(&i).copied().unwrap_or(0);
            let mut finding = Finding::new(
                &EXPIRED_SUPPRESSION,
                format!("Config {config_file}"),
                Location::new(config_file, s.line, 1),
                format!(
                    "suppression of {} (\"{}\") expired on {date}; {hits} finding{} it covered now count{}",
                    s.vuln_id.as_ref().map_or_else(|| s.rule.id.to_owned(), |id| format!("{id} ({})", s.rule.id)),
                    s.reason,
                    if hits == 1 { "" } else { "s" },
                    if hits == 1 { "s" } else { "" },
                ),
            );
            // It weakens the layer of the rule it suppressed.
            finding.layer = s.rule.layer;
            if hits > 0 {
                finding.severity = Severity::Medium;
            }
            Some(finding)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    static R: Rule = Rule {
        id: "K8S001",
        name: "resource-limits",
        title: "",
        severity: Severity::Medium,
        layer: Layer::Runtime,
        target: RuleTarget::Kubernetes,
        rationale: "",
        remediation: "",
        bad_example: "",
        good_example: "",
        references: &[],
    };

    fn finding(line: u32) -> Finding {
        Finding::new(&R, "Pod a", Location::new("f.yaml", line, 1), "m")
    }

    #[test]
    fn inline_directives_apply_to_same_or_next_content_line() {
        let text = "a: 1 # rampart:ignore K8S001 trailing reason\n# rampart:ignore resource-limits above\n\n# another comment\nb: 2\nc: 3\n# rampart:ignore K8S001\nd: 4\n";
        let (s, errors) = InlineSuppressions::parse("f.yaml", text);
        assert_eq!(errors.len(), 1, "missing reason is an error");
        assert_eq!(errors[0].line, 7);
        let mut hits = Vec::new();
        for line in 1..=8 {
            let mut f = finding(line);
            s.apply("f.yaml", &mut f);
            if let Some(sup) = f.suppressed {
                hits.push((line, sup.reason, sup.source));
            }
        }
        assert_eq!(
            hits,
            [
                (1, "trailing reason".to_owned(), "f.yaml:1".to_owned()),
                (5, "above".to_owned(), "f.yaml:2".to_owned())
            ]
        );
    }

    #[test]
    fn whole_file_directive() {
        let (s, _) = InlineSuppressions::parse(
            "f",
            "# rampart:ignore-file K8S001,K8S002 generated file\nx: 1\n",
        );
        let mut f = finding(40);
        s.apply("f", &mut f);
        assert!(f.suppressed.is_some());
    }

    #[test]
    fn config_suppression_and_expiry() {
        let known = |id: &str| (id == "K8S001").then_some(&R);
        let cfg = crate::config::Config::parse(
            "[[suppress]]\nrule = \"K8S001\"\nreason = \"old\"\nexpires = \"2020-01-01\"\n[[suppress]]\nrule = \"K8S001\"\nreason = \"only jobs\"\npaths = [\"jobs/**\"]\n",
            &known,
        )
        .map_err(|e| format!("{e:?}"));
        let cfg = cfg.unwrap();
        let today = jiff::civil::date(2026, 11, 24);
        let mut findings = vec![
            finding(3),
            Finding::new(&R, "Pod j", Location::new("jobs/j.yaml", 1, 1), "m"),
        ];
        let expired = apply_config(
            &cfg.suppressions,
            "rampart.toml",
            &|f| f.to_owned(),
            &|_| Vec::new(),
            today,
            &mut findings,
        );
        assert!(
            findings[0].suppressed.is_none(),
            "expired suppression does not apply"
        );
        assert_eq!(
            findings[1].suppressed.as_ref().map(|s| s.reason.as_str()),
            Some("only jobs")
        );
        assert_eq!(expired.len(), 1);
        assert_eq!(expired[0].rule_id, "CFG001");
        assert_eq!(expired[0].location.line, 2, "the line of its `rule =`");
        assert!(
            expired[0]
                .message
                .contains("expired on 2020-01-01; 1 finding it covered now counts"),
            "{}",
            expired[0].message
        );
    }
}
