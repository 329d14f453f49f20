//! The report for people: the castle view (layer map) first, then each subject's layers, then
//! the findings grouped by file, then input errors, then the verdict.

use crate::style::{self, Col, Give, Style, fit};
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
    /// The width the report must fit in, in columns (0: no limit). Tables narrow their free-text
    /// columns (cut with `…` or wrapped inside the cell), never letting the terminal break a row.
    pub width: usize,
    /// Findings only: no layer map, no subjects, no image facts, no summary line.
    pub quiet: bool,
    /// The verdict the one-line summary ends with (omitted when `None`).
    pub verdict: Option<Verdict>,
}

/// How the run ends, for the summary line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// The `--fail-on` threshold (`None`: never fails on findings).
    pub fail_on: Option<Severity>,
    /// The exit code.
    pub exit: u8,
}

/// Consecutive characters that are not text (controls, bytes that were not UTF-8) shown
/// escaped before the rest of the run is elided.
const MAX_ESCAPED_RUN: usize = 8;

/// `text` safe to print on a terminal: control characters (tab and newline aside) and the
/// replacement character of bytes that were not UTF-8 are escaped (`\x1b`, `\u{fffd}`), and
/// a run of more than a few of them is cut with `…`, so binary input never reaches the
/// terminal raw nor floods it.
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = 0;
    for c in text.chars() {
        let escape = (c.is_control() && c != '\n' && c != '\t') || c == '\u{fffd}';
        if !escape {
            run = 0;
            out.push(c);
            continue;
        }
        run += 1;
        if run <= MAX_ESCAPED_RUN {
            if (c as u32) < 0x100 {
                let _ = write!(out, "\\x{:02x}", c as u32);
            } else {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
        } else if run == MAX_ESCAPED_RUN + 1 {
            out.push('…');
        }
    }
    out
}

/// Default width when nothing tells the terminal's (a pipe, a CI log).
pub const DEFAULT_WIDTH: usize = 80;

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
    if !opts.quiet {
        overview(&mut out, report, st, opts.width);
        images_section(&mut out, report, st, opts.width);
        nodes_section(&mut out, report, st, opts.width);
    }
    vulnerabilities_section(&mut out, report, st, opts);
    findings_section(&mut out, report, st, opts);
    input_problems(
        &mut out,
        "Input errors",
        &report.errors,
        Severity::High,
        st,
        opts.width,
    );
    input_problems(
        &mut out,
        "Input warnings (accepted)",
        &report.warnings,
        Severity::Medium,
        st,
        opts.width,
    );
    if let (false, Some(v)) = (opts.quiet, opts.verdict) {
        out.push('\n');
        for (i, l) in wrap_width(&summary_line(report, v), opts.width, 2)
            .iter()
            .enumerate()
        {
            let lead = if i == 0 { "" } else { "  " };
            let _ = writeln!(out, "{lead}{}", st.bold(l));
        }
    }
    out
}

/// Wraps `text` to `width` less `indent` columns (no limit when `width` is 0).
fn wrap_width(text: &str, width: usize, indent: usize) -> Vec<String> {
    if width == 0 {
        vec![text.to_owned()]
    } else {
        style::wrap(text, width.saturating_sub(indent).max(20))
    }
}

/// The last line, as Trivy prints its totals: findings by severity, the layers that hold, the
/// input errors, and the exit code with its reason.
pub fn summary_line(report: &Report, verdict: Verdict) -> String {
    let s = &report.summary;
    let total: usize = s.findings.values().sum();
    let counts: Vec<String> = Severity::ALL
        .iter()
        .filter_map(|sev| {
            let n = s.findings.get(sev).copied().unwrap_or(0);
            (n > 0).then(|| format!("{n} {sev}"))
        })
        .collect();
    let mut line = format!("{total} finding{}", if total == 1 { "" } else { "s" });
    if !counts.is_empty() {
        let _ = write!(line, ": {}", counts.join(", "));
    }
    if s.suppressed > 0 {
        let _ = write!(line, " ({} suppressed)", s.suppressed);
    }
    let holding = report
        .layers
        .iter()
        .filter(|l| l.state == LayerState::Holds)
        .count();
    let _ = write!(line, "; {holding} of {} layers hold", report.layers.len());
    if !report.errors.is_empty() {
        let n = report.errors.len();
        let _ = write!(line, "; {n} input error{}", if n == 1 { "" } else { "s" });
    }
    let why = match (verdict.exit, verdict.fail_on) {
        (2, _) if !report.errors.is_empty() => String::from("incomplete"),
        (_, Some(t)) => format!("fail-on {t}"),
        (_, None) => String::from("fail-on none"),
    };
    let _ = write!(line, "; exit {} ({why})", verdict.exit);
    line
}

/// The title line, the layer map and the subjects × layers table.
fn overview(out: &mut String, report: &Report, st: Style, max: usize) {
    let s = &report.summary;
    let images = match report.images.len() {
        0 => String::new(),
        1 => String::from(", 1 image"),
        n => format!(", {n} images"),
    };
    let title = if !report.nodes.is_empty() && s.files_scanned == 0 {
        format!(
            "{} {} assessed {}",
            report.tool.name, report.tool.version, report.target
        )
    } else {
        format!(
            "{} {} scanned {}: {} files ({} Dockerfiles, {} manifests, {} Kubernetes objects){images}",
            report.tool.name,
            report.tool.version,
            report.target,
            s.files_scanned,
            s.dockerfiles,
            s.manifests,
            s.objects
        )
    };
    for (i, line) in wrap_width(&title, max, 0).iter().enumerate() {
        if i == 0 {
            let _ = writeln!(
                out,
                "{}",
                line.replacen(report.tool.name, &st.bold(report.tool.name), 1)
            );
        } else {
            let _ = writeln!(out, "  {line}");
        }
    }
    out.push('\n');

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
                st.dim(match (l.state, &l.reason) {
                    (LayerState::PartlyAssessed, Some(r)) => r.as_str(),
                    _ => l.description,
                }),
            ]);
        }
    }
    // Too narrow for the descriptions beside the counts: the layers' names say what they
    // defend; only the reasons a layer was not assessed stay, on a line of their own.
    if max > 0 && style::natural_width(&rows, "  ") > max {
        for (row, l) in rows.iter_mut().skip(1).zip(&report.layers) {
            if l.state != LayerState::NotAssessed
                && let Some(last) = row.last_mut()
            {
                last.clear();
            }
        }
        if let Some(last) = rows.first_mut().and_then(|h| h.last_mut()) {
            last.clear();
        }
    }
    let fixed = Col::left(Give::Fixed);
    out.push_str(&fit(
        &rows,
        &[
            fixed,
            fixed,
            Col::right(),
            Col::right(),
            Col::right(),
            Col::right(),
            Col::right(),
            Col::left(Give::Wrap(24)),
        ],
        "  ",
        max,
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
    let line = format!(
        "{standing} of {} layers hold; not assessed: {}",
        report.layers.len(),
        if missing.is_empty() {
            "none".to_owned()
        } else {
            missing.join(", ")
        }
    );
    for l in wrap_width(&line, max, 4) {
        let _ = writeln!(out, "  {l}");
    }
    out.push('\n');

    // Subjects by layer.
    if !report.subjects.is_empty() {
        // The legend goes on its own line when the title and it do not fit the width.
        let legend = "(✔ holds  ◐ partly assessed  ▲ weak  ✘ breached  · not assessed)";
        let title = "Layers by subject";
        if max == 0 || title.len() + 2 + legend.chars().count() <= max {
            let _ = writeln!(out, "{}  {}", st.bold(title), st.dim(legend));
        } else {
            let _ = writeln!(out, "{}\n  {}", st.bold(title), st.dim(legend));
        }
        let shown: Vec<Layer> = Layer::ALL
            .into_iter()
            .filter(|l| report.subjects.iter().any(|s| s.layers.contains_key(l)))
            .collect();
        let mut header = vec![st.dim("subject")];
        header.extend(shown.iter().map(|l| st.dim(short(*l))));
        // Narrow: three-letter layer names leave the subjects room (same order as the map).
        let natural = 2
            + report
                .subjects
                .iter()
                .map(|s| s.subject.chars().count())
                .max()
                .unwrap_or(0)
            + shown.iter().map(|l| short(*l).len() + 2).sum::<usize>();
        if max > 0 && natural > max {
            header.truncate(1);
            header.extend(shown.iter().map(|l| st.dim(short3(*l))));
        }
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
        out.push_str(&fit(&rows, &[Col::left(Give::ElideMiddle(20))], "  ", max));
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
}

/// Where a finding is, as `path:line:col` (the path alone for a whole file).
pub fn location(f: &Finding) -> String {
    if f.location.line > 0 {
        format!(
            "{}:{}:{}",
            f.location.file, f.location.line, f.location.column
        )
    } else {
        f.location.file.clone()
    }
}

/// What the finding is about beyond its file: the Kubernetes object (and container), the
/// Dockerfile stage, or the image or SBOM it was found in.
pub fn whereabouts(f: &Finding) -> String {
    let mut w = String::new();
    if let Some(o) = &f.location.object {
        w.push_str(&f.subject);
        if let Some(c) = &o.container {
            let _ = write!(w, " [{c}]");
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
        let _ = write!(w, "{which} {}{name}", stage.index);
    } else if !f.subject.ends_with(&f.location.file)
        || ["Image ", "Filesystem ", "SBOM "]
            .iter()
            .any(|k| f.subject.starts_with(k))
    {
        // a path inside an image, an SBOM, a namespace...: name what it is in
        w.push_str(&f.subject);
    }
    w
}

/// The findings (known vulnerabilities have their own table): per finding, the severity, rule
/// and title; the location `path:line:col` and what it is in; the message, wrapped.
fn findings_section(out: &mut String, report: &Report, st: Style, opts: Options) {
    let s = &report.summary;
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
    if !opts.quiet {
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
    }
    // Continuation lines line up under the rule id.
    const HANG: usize = 11;
    let pad = " ".repeat(HANG);
    let max = opts.width;
    let text_width = if max == 0 {
        0
    } else {
        max.saturating_sub(HANG).max(20)
    };
    for f in &visible {
        out.push('\n');
        let sev = st.severity(
            f.severity,
            &format!("{:<8}", f.severity.as_str().to_uppercase()),
        );
        let layer = format!("[{}]", f.layer);
        let mut title = f.title.to_owned();
        if max > 0 {
            // severity, id, title and layer on one line: the title gives way
            let fixed = 2 + 9 + f.rule_id.len() + 1 + 2 + layer.chars().count();
            title = style::elide(&title, max.saturating_sub(fixed).max(12));
        }
        let _ = writeln!(
            out,
            "  {sev} {} {title}  {}",
            st.bold(f.rule_id),
            st.dim(&layer)
        );
        let at = printable(&location(f));
        let about = printable(&whereabouts(f));
        if about.is_empty() {
            let _ = writeln!(out, "{pad}{at}");
        } else if text_width == 0 || at.chars().count() + 2 + about.chars().count() <= text_width {
            let _ = writeln!(out, "{pad}{at}  {}", st.dim(&about));
        } else {
            let _ = writeln!(out, "{pad}{at}");
            for l in wrap_width(&about, text_width, 0) {
                let _ = writeln!(out, "{pad}{}", st.dim(&l));
            }
        }
        for l in wrap_width(&printable(&f.message), text_width, 0) {
            let _ = writeln!(out, "{pad}{l}");
        }
        if let Some(sup) = &f.suppressed {
            let text = format!("suppressed ({}, {}): {}", sup.kind, sup.source, sup.reason);
            for l in wrap_width(&text, text_width, 0) {
                let _ = writeln!(out, "{pad}{}", st.dim(&l));
            }
        }
    }
    let mut notes = Vec::new();
    if vuln_findings > 0 {
        notes.push(format!(
            "{vuln_findings} {VULNERABILITY_RULE} finding(s) (known vulnerabilities) are listed under Vulnerabilities above"
        ));
    }
    if s.suppressed > 0 && !opts.show_suppressed && !opts.quiet {
        notes.push(format!(
            "{} suppressed finding(s) not shown (--show-suppressed)",
            s.suppressed
        ));
    }
    for note in notes {
        out.push('\n');
        for l in wrap_width(&note, max, 2) {
            let _ = writeln!(out, "  {}", st.dim(&l));
        }
    }
}

/// Input errors or accepted warnings: where (`path:line:col`) and what, wrapped to the width.
fn input_problems(
    out: &mut String,
    title: &str,
    list: &[rampart_core::InputError],
    severity: Severity,
    st: Style,
    width: usize,
) {
    if list.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n{}", st.bold(&format!("{title}: {}", list.len())));
    for e in list {
        let at = e.at();
        let at = printable(&at);
        let text = format!("{at}: {}", printable(&e.message));
        for (i, line) in wrap_width(&text, width, 4).iter().enumerate() {
            let line = if i == 0 {
                line.replacen(&at, &st.severity(severity, &at), 1)
            } else {
                format!("  {line}")
            };
            let _ = writeln!(out, "  {line}");
        }
    }
}

/// What each image holds, in brief: the facts the image layer is judged on.
fn images_section(out: &mut String, report: &Report, st: Style, max: usize) {
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
            let mut text = if v.total == 0 && !v.not_checked.is_empty() {
                String::from("none known in the packages checked")
            } else if v.total == 0 {
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
            if !v.not_checked.is_empty() {
                let what: Vec<String> = v
                    .not_checked
                    .iter()
                    .map(|(e, n)| format!("{e}: {n} package(s), no {e} advisories in the database"))
                    .collect();
                row(
                    "not checked",
                    st.state(LayerState::PartlyAssessed, &what.join("; ")),
                );
            }
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
        out.push_str(&fit(
            &rows,
            &[Col::left(Give::Fixed), Col::left(Give::Wrap(20))],
            "  ",
            max,
        ));
        out.push('\n');
    }
}

/// The facts of each node assessed (`rampart host`): the walls it offers the layers above.
fn nodes_section(out: &mut String, report: &Report, st: Style, max: usize) {
    for node in &report.nodes {
        let _ = writeln!(out, "{} {}", st.bold("Node"), st.bold(&node.name));
        let mut rows: Vec<Vec<String>> = Vec::new();
        let mut row = |k: &str, v: String| rows.push(vec![st.dim(k), v]);
        if node.root != "/" {
            row("root", format!("{} (an offline copy)", node.root));
        }
        row(
            "kernel",
            node.kernel.clone().unwrap_or_else(|| "unknown".into()),
        );
        row(
            "security modules",
            if node.lsms.is_empty() {
                "unknown".into()
            } else {
                node.lsms.join(", ")
            },
        );
        row(
            "seccomp",
            match node.seccomp {
                Some(true) => "available".into(),
                Some(false) => "not available".into(),
                None => "unknown".into(),
            },
        );
        row(
            "cgroup",
            node.cgroup.clone().unwrap_or_else(|| "unknown".into()),
        );
        let components = |list: &[rampart_core::Component]| {
            if list.is_empty() {
                return "none found".to_owned();
            }
            list.iter()
                .map(|c| match &c.version {
                    Some(v) => format!("{} {v} ({})", c.name, c.source),
                    None => format!("{} ({})", c.name, c.source),
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        row("runtimes", components(&node.runtimes));
        row("sandboxes", components(&node.sandboxes));
        row(
            "kubelet",
            node.kubelet.clone().unwrap_or_else(|| "none".into()),
        );
        out.push_str(&fit(
            &rows,
            &[Col::left(Give::Fixed), Col::left(Give::Wrap(20))],
            "  ",
            max,
        ));
        out.push('\n');
    }
}

/// The rule id of known-vulnerability findings (`rampart-vuln`), shown in their own table.
const VULNERABILITY_RULE: &str = "VUL001";

/// Vulnerabilities shown per subject before the rest is left to the JSON report.
const MAX_VULN_ROWS: usize = 40;

/// Known vulnerabilities, per image or SBOM, worst first.
fn vulnerabilities_section(out: &mut String, report: &Report, st: Style, opts: Options) {
    let show_waived = opts.show_suppressed;
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
            let fixed = if !v.fixed_elsewhere.is_empty() && v.fixed.is_empty() {
                let f: Vec<String> = v
                    .fixed_elsewhere
                    .iter()
                    .map(|f| format!("{} ({})", f.version, f.stream))
                    .collect();
                st.dim(&format!("no fix; {}", f.join(", ")))
            } else if v.fixed.is_empty() {
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
        out.push_str(&fit(
            &rows,
            &[
                Col::left(Give::Fixed),
                Col::left(Give::Fixed),
                Col::left(Give::Elide(14)),
                Col::left(Give::Elide(9)),
                Col::left(Give::Elide(9)),
                Col::left(Give::Wrap(24)),
            ],
            "  ",
            opts.width,
        ));
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

fn short3(layer: Layer) -> &'static str {
    match layer {
        Layer::Build => "bld",
        Layer::Image => "img",
        Layer::SupplyChain => "sup",
        Layer::Admission => "adm",
        Layer::Runtime => "run",
        Layer::Network => "net",
        Layer::Access => "acc",
        Layer::Monitoring => "mon",
        Layer::Host => "hst",
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
            nodes: Vec::new(),
        }
    }

    #[test]
    fn printable_escapes_controls_and_cuts_long_binary_runs() {
        assert_eq!(printable("a\x1b[2Jb"), "a\\x1b[2Jb");
        let binary: String = std::iter::repeat_n('\u{fffd}', 50).collect();
        let shown = printable(&format!("bad {binary} end"));
        assert_eq!(shown.matches("\\u{fffd}").count(), MAX_ESCAPED_RUN);
        assert!(shown.ends_with("… end"), "{shown}");
        assert_eq!(printable("line\ttab\nnext"), "line\ttab\nnext");
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
