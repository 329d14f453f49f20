//! JUnit XML, the test report CI servers read (GitLab `artifacts:reports:junit`, Jenkins
//! `junit`): one test suite per layer of the layer map, plus one for input errors.
//!
//! In a layer's suite each finding is a failing test case (`classname` its file, `name` the
//! rule, title and location, the message as the failure text); a suppressed one is skipped with
//! its reason; a layer whose controls all pass is one passing case, and a layer not assessed
//! one skipped case naming why. Input errors are `<error>` cases: the scan is incomplete.
//! Counts on every `<testsuite>` and on `<testsuites>` agree with the cases.

use crate::human::{location, whereabouts};
use rampart_core::{Finding, LayerState, Report};
use std::fmt::Write as _;

/// Escapes text for XML attributes and content; characters XML 1.0 cannot hold (controls
/// other than tab, newline, carriage return) become `\u{..}` escapes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

enum Outcome {
    Pass,
    Failure {
        kind: String,
        message: String,
        text: String,
    },
    Skipped(String),
    Error {
        message: String,
    },
}

struct Case {
    classname: String,
    name: String,
    outcome: Outcome,
}

fn finding_case(f: &Finding) -> Case {
    let at = location(f);
    let about = whereabouts(f);
    let mut name = format!("{} {}: {at}", f.rule_id, f.title);
    if !about.is_empty() {
        let _ = write!(name, " ({about})");
    }
    let outcome = match &f.suppressed {
        Some(s) => Outcome::Skipped(format!(
            "suppressed ({}, {}): {}",
            s.kind, s.source, s.reason
        )),
        None => Outcome::Failure {
            kind: f.severity.as_str().to_uppercase(),
            message: format!(
                "{} {}: {}",
                f.severity.as_str().to_uppercase(),
                f.rule_id,
                f.message
            ),
            text: format!(
                "{}\n\nat {at}{}\n\nfix: {}\n\nrampart rules explain {}",
                f.message,
                if about.is_empty() {
                    String::new()
                } else {
                    format!(" ({about})")
                },
                f.remediation,
                f.rule_id
            ),
        },
    };
    Case {
        classname: f.location.file.clone(),
        name,
        outcome,
    }
}

fn suite(out: &mut String, name: &str, cases: &[Case]) {
    let failures = cases
        .iter()
        .filter(|c| matches!(c.outcome, Outcome::Failure { .. }))
        .count();
    let errors = cases
        .iter()
        .filter(|c| matches!(c.outcome, Outcome::Error { .. }))
        .count();
    let skipped = cases
        .iter()
        .filter(|c| matches!(c.outcome, Outcome::Skipped(_)))
        .count();
    let _ = writeln!(
        out,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"0\">",
        escape(name),
        cases.len()
    );
    for c in cases {
        let open = format!(
            "    <testcase classname=\"{}\" name=\"{}\" time=\"0\"",
            escape(&c.classname),
            escape(&c.name)
        );
        match &c.outcome {
            Outcome::Pass => {
                let _ = writeln!(out, "{open}/>");
            }
            Outcome::Skipped(why) => {
                let _ = writeln!(
                    out,
                    "{open}>\n      <skipped message=\"{}\"/>\n    </testcase>",
                    escape(why)
                );
            }
            Outcome::Failure {
                kind,
                message,
                text,
            } => {
                let _ = writeln!(
                    out,
                    "{open}>\n      <failure type=\"{}\" message=\"{}\">{}</failure>\n    </testcase>",
                    escape(kind),
                    escape(message),
                    escape(text)
                );
            }
            Outcome::Error { message } => {
                let _ = writeln!(
                    out,
                    "{open}>\n      <error type=\"input\" message=\"{}\"/>\n    </testcase>",
                    escape(message)
                );
            }
        }
    }
    out.push_str("  </testsuite>\n");
}

/// The report as JUnit XML.
pub fn render(report: &Report) -> String {
    let mut suites: Vec<(String, Vec<Case>)> = Vec::new();
    for l in &report.layers {
        let mut cases: Vec<Case> = report
            .findings
            .iter()
            .filter(|f| f.layer == l.layer)
            .map(finding_case)
            .collect();
        let failing = cases
            .iter()
            .any(|c| matches!(c.outcome, Outcome::Failure { .. }));
        if l.state == LayerState::NotAssessed {
            cases.push(Case {
                classname: format!("layer.{}", l.layer.as_str()),
                name: format!("{} layer assessed", l.layer),
                outcome: Outcome::Skipped(format!(
                    "not assessed: {}",
                    l.reason.as_deref().unwrap_or("no input for this layer")
                )),
            });
        } else if !failing {
            cases.push(Case {
                classname: format!("layer.{}", l.layer.as_str()),
                name: format!(
                    "{} layer: {} of {} controls pass ({} waived)",
                    l.layer, l.passed, l.assessed, l.waived
                ),
                outcome: Outcome::Pass,
            });
        }
        suites.push((format!("rampart {} layer", l.layer), cases));
    }
    if !report.errors.is_empty() {
        let cases = report
            .errors
            .iter()
            .map(|e| {
                let at = e.at();
                Case {
                    classname: e.file.clone(),
                    name: format!("input {at}"),
                    outcome: Outcome::Error {
                        message: format!("{at}: {}", e.message),
                    },
                }
            })
            .collect();
        suites.push((String::from("rampart input errors"), cases));
    }
    let count = |p: fn(&Outcome) -> bool| -> usize {
        suites
            .iter()
            .flat_map(|(_, c)| c)
            .filter(|c| p(&c.outcome))
            .count()
    };
    let tests: usize = suites.iter().map(|(_, c)| c.len()).sum();
    let failures = count(|o| matches!(o, Outcome::Failure { .. }));
    let errors = count(|o| matches!(o, Outcome::Error { .. }));
    let skipped = count(|o| matches!(o, Outcome::Skipped(_)));
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"rampart {}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"0\">",
        escape(&report.target)
    );
    for (name, cases) in &suites {
        suite(&mut out, name, cases);
    }
    out.push_str("</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_markup_and_characters_xml_cannot_hold() {
        assert_eq!(
            escape("a<b & \"c\"\u{1}"),
            "a&lt;b &amp; &quot;c&quot;\\u{1}"
        );
    }
}
