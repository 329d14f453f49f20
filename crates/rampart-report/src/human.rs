//! The report for people: the castle view (layer map) first, then each subject's layers, then
//! the findings grouped by file, then input errors, then the verdict.

use crate::style::{Style, table};
use rampart_core::{Finding, Layer, LayerState, Report, Severity};
use std::fmt::Write as _;

/// Rows of the subjects × layers table shown before it is cut (worst subjects first).
pub const MAX_SUBJECT_ROWS: usize = 40;

/// Options for the human report.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// ANSI colour (only on a terminal).
    pub color: bool,
    /// Show suppressed findings too.
    pub show_suppressed: bool,
}

fn glyph(state: LayerState) -> &'static str {
    match state {
        LayerState::Holds => "✔",
        LayerState::Weak => "▲",
        LayerState::Breached => "✘",
        LayerState::NotAssessed => "·",
        LayerState::PartlyAssessed => "◐",
    }
}

/// Renders the whole human report.
pub fn render(report: &Report, opts: Options) -> String {
    let st = Style { color: opts.color };
    let mut out = String::new();
    let s = &report.summary;
    let images = match report.images.len() {
        0 => String::new(),
        1 => String::from(", 1 image"),
        n => format!(", {n} images"),
    };
    let _ = writeln!(
        out,
        "{} {} scanned {}: {} files ({} Dockerfiles, {} manifests, {} Kubernetes objects){images}\n",
        st.bold(report.tool.name),
        report.tool.version,
        report.target,
        s.files_scanned,
        s.dockerfiles,
        s.manifests,
        s.objects
    );

    // The castle view.
    let _ = writeln!(out, "{}", st.bold("Defense in depth: the layer map"));
    let mut rows = vec![vec![
        st.dim("layer"),
        st.dim("state"),
        st.dim("controls"),
        st.dim("passed"),
        st.dim("failed"),
        st.dim("waived"),
        st.dim("findings"),
        st.dim("defends"),
    ]];
    for l in &report.layers {
        let state = st.state(l.state, &format!("{} {}", glyph(l.state), l.state.as_str()));
        if l.state == LayerState::NotAssessed {
            rows.push(vec![
                l.layer.to_string(),
                state,
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                st.dim(l.reason.as_deref().unwrap_or("")),
            ]);
        } else {
            rows.push(vec![
                l.layer.to_string(),
                state,
                l.assessed.to_string(),
                l.passed.to_string(),
                l.failed.to_string(),
                l.waived.to_string(),
                l.findings.to_string(),
                st.dim(l.reason.as_deref().unwrap_or(l.description)),
            ]);
        }
    }
    out.push_str(&table(
        &rows,
        &[false, false, true, true, true, true, true, false],
        "  ",
    ));
    let missing: Vec<&str> = report
        .layers
        .iter()
        .filter(|l| l.state == LayerState::NotAssessed)
        .map(|l| l.layer.as_str())
        .collect();
    let standing = report
        .layers
        .iter()
        .filter(|l| l.state == LayerState::Holds)
        .count();
    let _ = writeln!(
        out,
        "  {standing} of {} layers hold; not assessed: {}\n",
        report.layers.len(),
        if missing.is_empty() {
            "none".to_owned()
        } else {
            missing.join(", ")
        }
    );

    // Subjects by layer.
    if !report.subjects.is_empty() {
        let _ = writeln!(
            out,
            "{}  {}",
            st.bold("Layers by subject"),
            st.dim("(✔ holds  ▲ weak  ✘ breached  · not assessed)")
        );
        let shown: Vec<Layer> = Layer::ALL
            .into_iter()
            .filter(|l| report.subjects.iter().any(|s| s.layers.contains_key(l)))
            .collect();
        let mut header = vec![st.dim("subject")];
        header.extend(shown.iter().map(|l| st.dim(short(*l))));
        let mut rows = vec![header];
        // Worst first, so a long list still shows what matters; the JSON report has them all.
        let worst = |s: &rampart_core::SubjectLayers| {
            s.layers
                .values()
                .copied()
                .max()
                .unwrap_or(LayerState::NotAssessed)
        };
        let mut subjects: Vec<&rampart_core::SubjectLayers> = report.subjects.iter().collect();
        subjects.sort_by(|a, b| {
            worst(b)
                .cmp(&worst(a))
                .then_with(|| a.subject.cmp(&b.subject))
        });
        let hidden = subjects.len().saturating_sub(MAX_SUBJECT_ROWS);
        subjects.truncate(MAX_SUBJECT_ROWS);
        for subj in subjects {
            let mut row = vec![subj.subject.clone()];
            for l in &shown {
                let state = subj
                    .layers
                    .get(l)
                    .copied()
                    .unwrap_or(LayerState::NotAssessed);
                row.push(st.state(state, glyph(state)));
            }
            rows.push(row);
        }
        out.push_str(&table(&rows, &[], "  "));
        if hidden > 0 {
            let _ = writeln!(
                out,
                "  {}",
                st.dim(&format!(
                    "… and {hidden} more subjects (all in --format json)"
                ))
            );
        }
        out.push('\n');
    }

    images_section(&mut out, report, st);
    vulnerabilities_section(&mut out, report, st, opts.show_suppressed);

    // Findings; known vulnerabilities are listed in their own table above.
    let visible: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| opts.show_suppressed || f.suppressed.is_none())
        .filter(|f| f.rule_id != VULNERABILITY_RULE)
        .collect();
    let vuln_findings = report
        .findings
        .iter()
        .filter(|f| f.rule_id == VULNERABILITY_RULE && f.suppressed.is_none())
        .count();
    let counts: Vec<String> = Severity::ALL
        .iter()
        .filter_map(|sev| {
            let n = s.findings.get(sev).copied().unwrap_or(0);
            (n > 0).then(|| st.severity(*sev, &format!("{n} {sev}")))
        })
        .collect();
    let total: usize = s.findings.values().sum();
    let _ = writeln!(
        out,
        "{} {}",
        st.bold(&format!("Findings: {total}")),
        if counts.is_empty() {
            String::new()
        } else {
            format!("({})", counts.join(", "))
        }
    );
    let mut last_file: Option<&str> = None;
    for f in &visible {
        if last_file != Some(f.location.file.as_str()) {
            let _ = writeln!(out, "\n  {}", st.bold(&f.location.file));
            last_file = Some(f.location.file.as_str());
        }
        let sev = st.severity(
            f.severity,
            &format!("{:<8}", f.severity.as_str().to_uppercase()),
        );
        let mut whereabouts = if f.location.line > 0 {
            format!("{}:{}", f.location.line, f.location.column)
        } else {
            String::new()
        };
        if let Some(o) = &f.location.object {
            let _ = write!(whereabouts, "  {}", f.subject);
            if let Some(c) = &o.container {
                let _ = write!(whereabouts, " [{c}]");
            }
        } else if let Some(stage) = &f.location.stage {
            let name = stage
                .name
                .as_deref()
                .map(|n| format!(" \"{n}\""))
                .unwrap_or_default();
            let which = if stage.is_final {
                "final stage"
            } else {
                "build stage"
            };
            let _ = write!(whereabouts, "  {which} {}{name}", stage.index);
        }
        let _ = writeln!(
            out,
            "    {sev} {} {}  {}  {}",
            st.bold(f.rule_id),
            f.title,
            st.dim(&format!("[{}]", f.layer)),
            st.dim(&whereabouts)
        );
        let _ = writeln!(out, "             {}", f.message);
        if let Some(sup) = &f.suppressed {
            let _ = writeln!(
                out,
                "             {}",
                st.dim(&format!(
                    "suppressed ({}, {}): {}",
                    sup.kind, sup.source, sup.reason
                ))
            );
        }
    }
    if vuln_findings > 0 {
        let _ = writeln!(
            out,
            "\n  {}",
            st.dim(&format!(
                "{vuln_findings} {VULNERABILITY_RULE} finding(s) (known vulnerabilities) are listed under Vulnerabilities above"
            ))
        );
    }
    if s.suppressed > 0 && !opts.show_suppressed {
        let _ = writeln!(
            out,
            "\n  {}",
            st.dim(&format!(
                "{} suppressed finding(s) not shown (--show-suppressed)",
                s.suppressed
            ))
        );
    }

    if !report.errors.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            st.bold(&format!("Input errors: {}", report.errors.len()))
        );
        for e in &report.errors {
            let at = if e.line > 0 {
                format!("{}:{}:{}", e.file, e.line, e.column)
            } else {
                e.file.clone()
            };
            let _ = writeln!(out, "  {}: {}", st.severity(Severity::High, &at), e.message);
        }
    }
    if !report.warnings.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            st.bold(&format!(
                "Input warnings (accepted): {}",
                report.warnings.len()
            ))
        );
        for e in &report.warnings {
            let at = if e.line > 0 {
                format!("{}:{}:{}", e.file, e.line, e.column)
            } else {
                e.file.clone()
            };
            let _ = writeln!(
                out,
                "  {}: {}",
                st.severity(Severity::Medium, &at),
                e.message
            );
        }
    }
    out
}

/// What each image holds, in brief: the facts the image layer is judged on.
fn images_section(out: &mut String, report: &Report, st: Style) {
    for img in &report.images {
        let what = if img.kind.starts_with("sbom") {
            "SBOM"
        } else {
            "Image"
        };
        let _ = writeln!(out, "{} {}", st.bold(what), st.bold(&img.name));
        let mut rows: Vec<Vec<String>> = Vec::new();
        let mut row = |k: &str, v: String| rows.push(vec![st.dim(k), v]);
        if let Some(d) = &img.digest {
            row("digest", d.clone());
        } else if let Some(id) = &img.id {
            row("id", id.clone());
        }
        if let Some(p) = &img.platform {
            row("platform", p.clone());
        }
        let os = match (&img.os, &img.os_support) {
            (Some(os), Some(sup)) => format!("{os} ({sup})"),
            (Some(os), None) => os.clone(),
            (None, _) => String::from("not identified (no os-release)"),
        };
        row("os", os);
        row("user", img.user.clone());
        let command: Vec<String> = img.entrypoint.iter().chain(&img.cmd).cloned().collect();
        if !command.is_empty() {
            row("command", command.join(" "));
        }
        if !img.exposed_ports.is_empty() {
            row("ports", img.exposed_ports.join(", "));
        }
        row("minimality", img.minimality.clone());
        let packages: Vec<String> = img
            .packages
            .iter()
            .map(|(eco, n)| format!("{n} {eco}"))
            .collect();
        let total: usize = img.packages.values().sum();
        row(
            "packages",
            if packages.is_empty() {
                String::from("none found")
            } else {
                format!("{total} ({})", packages.join(", "))
            },
        );
        row("files", format!("{} in {} layer(s)", img.files, img.layers));
        if let Some(v) = &img.vulnerabilities {
            let by: Vec<String> = Severity::ALL
                .iter()
                .filter_map(|sev| {
                    let n = v.by_severity.get(sev).copied().unwrap_or(0);
                    (n > 0).then(|| st.severity(*sev, &format!("{n} {sev}")))
                })
                .collect();
            let mut text = if v.total == 0 {
                String::from("none known")
            } else {
                format!("{} ({}), {} with a fix", v.total, by.join(", "), v.fixable)
            };
            if v.waived > 0 {
                let _ = write!(text, ", {} waived by VEX", v.waived);
            }
            if v.ignored_unfixed > 0 {
                let _ = write!(text, ", {} without a fix left out", v.ignored_unfixed);
            }
            if let Some(b) = &v.database_built {
                let _ = write!(text, "  {}", st.dim(&format!("(advisories of {b})")));
            }
            row("vulnerabilities", text);
            let unmatched: u64 = v.unmatched.values().sum();
            if unmatched > 0 {
                let why: Vec<String> = v
                    .unmatched
                    .iter()
                    .map(|(k, n)| format!("{n} {k}"))
                    .collect();
                row(
                    "not matched",
                    format!("{unmatched} package(s): {}", why.join(", ")),
                );
            }
        }
        if !img.tools.is_empty() {
            let mut tools: Vec<String> = img.tools.iter().take(8).cloned().collect();
            if img.tools.len() > 8 {
                tools.push(format!("… {} more", img.tools.len() - 8));
            }
            row("tools", tools.join(", "));
        }
        out.push_str(&table(&rows, &[], "  "));
        out.push('\n');
    }
}

/// The rule id of known-vulnerability findings (`rampart-vuln`), shown in their own table.
const VULNERABILITY_RULE: &str = "VUL001";

/// Vulnerabilities shown per subject before the rest is left to the JSON report.
const MAX_VULN_ROWS: usize = 40;

/// Known vulnerabilities, per image or SBOM, worst first.
fn vulnerabilities_section(out: &mut String, report: &Report, st: Style, show_waived: bool) {
    let mut subjects: Vec<&str> = Vec::new();
    for v in &report.vulnerabilities {
        if !subjects.contains(&v.subject.as_str()) {
            subjects.push(&v.subject);
        }
    }
    for subject in subjects {
        let all: Vec<&rampart_core::Vulnerability> = report
            .vulnerabilities
            .iter()
            .filter(|v| v.subject == subject && (show_waived || v.waived.is_none()))
            .collect();
        if all.is_empty() {
            continue;
        }
        let _ = writeln!(out, "{} {}", st.bold("Vulnerabilities"), st.bold(subject));
        let mut rows = vec![vec![
            st.dim("severity"),
            st.dim("id"),
            st.dim("package"),
            st.dim("installed"),
            st.dim("fixed in"),
            st.dim("where"),
        ]];
        for v in all.iter().take(MAX_VULN_ROWS) {
            let sev = match (v.score, &v.rated_from) {
                (Some(score), _) => format!("{} {score}", v.severity.as_str().to_uppercase()),
                (None, None) => String::from("UNRATED"),
                (None, Some(_)) => v.severity.as_str().to_uppercase(),
            };
            let mut id = v.id.clone();
            if v.waived.is_some() {
                id.push_str(" (waived)");
            }
            let fixed = if v.fixed.is_empty() {
                st.dim("no fix")
            } else {
                v.fixed.join(", ")
            };
            let at = v
                .package
                .locations
                .first()
                .map_or(String::new(), |l| l.path.clone());
            rows.push(vec![
                st.severity(v.severity, &sev),
                id,
                format!("{} ({})", v.package.name, v.package.ecosystem),
                v.package.version.clone(),
                fixed,
                st.dim(&at),
            ]);
        }
        out.push_str(&table(&rows, &[], "  "));
        if all.len() > MAX_VULN_ROWS {
            let _ = writeln!(
                out,
                "  {}",
                st.dim(&format!(
                    "… and {} more (all in --format json)",
                    all.len() - MAX_VULN_ROWS
                ))
            );
        }
        out.push('\n');
    }
}

fn short(layer: Layer) -> &'static str {
    match layer {
        Layer::Build => "build",
        Layer::Image => "image",
        Layer::SupplyChain => "supply",
        Layer::Admission => "admit",
        Layer::Runtime => "runtime",
        Layer::Network => "net",
        Layer::Access => "access",
        Layer::Monitoring => "monitor",
        Layer::Host => "host",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_core::{SubjectLayers, Summary, Tool};
    use std::collections::BTreeMap;

    fn report(subjects: Vec<SubjectLayers>) -> Report {
        Report {
            schema_version: rampart_core::REPORT_SCHEMA_VERSION,
            tool: Tool {
                name: "rampart",
                version: "0",
            },
            target: ".".into(),
            summary: Summary::default(),
            layers: Vec::new(),
            subjects,
            findings: Vec::new(),
            errors: Vec::new(),
            images: Vec::new(),
            vulnerabilities: Vec::new(),
            warnings: Vec::new(),
        }
    }

    #[test]
    fn long_subject_lists_are_cut_worst_first() {
        let mut subjects: Vec<SubjectLayers> = (0..50)
            .map(|i| SubjectLayers {
                subject: format!("Pod ok-{i:02}"),
                file: "f".into(),
                layers: BTreeMap::from([(Layer::Runtime, LayerState::Holds)]),
            })
            .collect();
        subjects.push(SubjectLayers {
            subject: "Pod zz-bad".into(),
            file: "f".into(),
            layers: BTreeMap::from([(Layer::Runtime, LayerState::Breached)]),
        });
        let text = render(&report(subjects), Options::default());
        assert!(text.contains("and 11 more subjects"), "{text}");
        let bad = text
            .find("Pod zz-bad")
            .expect("the breached subject is shown");
        assert!(
            bad < text.find("Pod ok-00").unwrap_or(usize::MAX),
            "worst first"
        );
        assert!(!text.contains("Pod ok-49"));
    }
}
