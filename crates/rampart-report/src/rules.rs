//! The rule catalog: `rampart rules` (table, JSON) and `rampart rules explain ID`.

use crate::style::{Style, table};
use rampart_core::Rule;
use std::fmt::Write as _;

/// The catalog as a table.
pub fn table_view(rules: &[&Rule], color: bool) -> String {
    let st = Style { color };
    let mut rows = vec![vec![
        st.dim("id"),
        st.dim("severity"),
        st.dim("layer"),
        st.dim("target"),
        st.dim("name"),
        st.dim("title"),
    ]];
    for r in rules {
        rows.push(vec![
            st.bold(r.id),
            st.severity(r.severity, r.severity.as_str()),
            r.layer.to_string(),
            r.target.as_str().to_owned(),
            r.name.to_owned(),
            r.title.to_owned(),
        ]);
    }
    let mut out = table(&rows, &[], "");
    let _ = writeln!(
        out,
        "\n{} rules. `rampart rules explain ID` shows one in full.",
        rules.len()
    );
    out
}

/// The catalog as JSON.
pub fn json_view(rules: &[&Rule]) -> String {
    serde_json::to_string_pretty(rules).unwrap_or_default()
}

/// One rule in full: rationale, fix, example and its fixed form, references.
pub fn explain(rule: &Rule, color: bool) -> String {
    let st = Style { color };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {}: {}",
        st.bold(rule.id),
        rule.name,
        st.bold(rule.title)
    );
    let _ = writeln!(
        out,
        "severity: {}   layer: {}   applies to: {}\n",
        st.severity(rule.severity, rule.severity.as_str()),
        rule.layer,
        rule.target.as_str()
    );
    let _ = writeln!(out, "{}\n  {}\n", st.bold("Why it matters"), rule.rationale);
    let _ = writeln!(out, "{}\n  {}\n", st.bold("How to fix"), rule.remediation);
    let indent = |s: &str| s.lines().map(|l| format!("    {l}\n")).collect::<String>();
    let _ = writeln!(
        out,
        "{}\n{}",
        st.bold("Example (flagged)"),
        indent(rule.bad_example)
    );
    let _ = writeln!(out, "{}\n{}", st.bold("Fixed"), indent(rule.good_example));
    if !rule.references.is_empty() {
        let _ = writeln!(out, "{}", st.bold("References"));
        for r in rule.references {
            let _ = writeln!(out, "  - {}: {} <{}>", r.kind.label(), r.id, r.url);
        }
    }
    out
}
