//! Renders a [`Report`](rampart_core::Report): [`human`] (the castle view first, then workloads
//! by layer, then findings; colour only when asked; fitted to the terminal's width), [`json`]
//! (the versioned schema in `docs/report.schema.json`), [`sarif`] (SARIF 2.1.0) and [`junit`]
//! (JUnit XML for CI servers); [`filter`] restricts a report to some severities; and the rule
//! catalog ([`rules`]); [`style`] lays out tables that fit the terminal (other commands use it too).

pub mod filter;
pub mod human;
pub mod junit;
pub mod rules;
pub mod sarif;
pub mod style;

use rampart_core::Report;

/// The JSON report.
pub fn json(report: &Report) -> String {
    serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}
