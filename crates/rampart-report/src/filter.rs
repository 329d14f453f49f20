//! `--severity LIST`: the report restricted to some severities, as Trivy's `--severity`.
//!
//! Findings and vulnerabilities of other severities leave the report (every format), the
//! summary counts and each layer's finding count are recounted, and so the exit code, which is
//! computed from the findings left, counts only what is shown. The layer map's states are not
//! recomputed: they are the state of the defenses, whatever part of the findings is shown.

use rampart_core::{Report, Severity};

/// Keeps only the findings and vulnerabilities whose severity is in `keep`.
pub fn retain_severities(report: &mut Report, keep: &[Severity]) {
    report.findings.retain(|f| keep.contains(&f.severity));
    report
        .vulnerabilities
        .retain(|v| keep.contains(&v.severity));
    for n in report.summary.findings.values_mut() {
        *n = 0;
    }
    for f in report.findings.iter().filter(|f| f.suppressed.is_none()) {
        *report.summary.findings.entry(f.severity).or_default() += 1;
    }
    report.summary.suppressed = report
        .findings
        .iter()
        .filter(|f| f.suppressed.is_some())
        .count();
    for layer in &mut report.layers {
        layer.findings = report
            .findings
            .iter()
            .filter(|f| f.layer == layer.layer && f.suppressed.is_none())
            .count();
    }
}

/// Parses `critical,high` (any case, as Trivy's `CRITICAL,HIGH`; `unknown` is `info`).
pub fn parse_severities(list: &str) -> Result<Vec<Severity>, String> {
    let mut out = Vec::new();
    for word in list.split(',').map(str::trim).filter(|w| !w.is_empty()) {
        // Trivy's UNKNOWN (unrated) is rampart's info.
        let word = if word.eq_ignore_ascii_case("unknown") {
            "info"
        } else {
            word
        };
        let sev: Severity = word.parse().map_err(|_| {
            format!(
                "unknown severity `{word}` (expected a comma-separated list of critical, high, medium, low, info)"
            )
        })?;
        if !out.contains(&sev) {
            out.push(sev);
        }
    }
    if out.is_empty() {
        return Err(String::from("expected at least one severity"));
    }
    Ok(out)
}
