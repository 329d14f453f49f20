//! The measurement layer's pictures (issue 16): the castle view (each subject's layers now),
//! the metric tiles (the numbers of `rampart metrics`), trend charts, and the findings and
//! events behind them, read from the history store (`rampart-history`).
//!
//! Two ways out, one renderer ([`html`]):
//! - [`report`]: one self-contained HTML file (`rampart report --html FILE`): inline styles and
//!   SVG, no script, a Content-Security-Policy that lets nothing load;
//! - [`server`]: `rampart serve`, a read-only dashboard with drill-down and filters (plain
//!   links and GET forms, no JavaScript) and a JSON API documented in OpenAPI
//!   (`/openapi.json`), on loopback unless a bearer token guards it.

pub mod html;
pub mod server;
pub mod svg;
pub mod view;

use std::collections::BTreeMap;

use rampart_core::Rule;
use rampart_history::metrics::{self, Metrics, Options};
use rampart_history::{HistoryError, Store};

/// What the pages are computed with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// remediation deadline per severity (ms), as `rampart metrics --deadline`
    pub deadlines: BTreeMap<String, i64>,
    /// the longest period the trends cover, days
    pub max_days: i64,
    /// "now" (ms since the epoch); `None`: the clock at each request
    pub now: Option<i64>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            deadlines: metrics::default_deadlines(),
            max_days: 365,
            now: None,
        }
    }
}

impl Settings {
    /// The time pages are computed at.
    pub fn now(&self) -> i64 {
        self.now.unwrap_or_else(rampart_history::now_ms)
    }

    /// The metrics' options for a scope.
    pub fn options(&self, scope: Option<&str>) -> Options {
        let mut o = Options::new(self.now());
        o.scope = scope.map(str::to_owned);
        o.deadlines.clone_from(&self.deadlines);
        o
    }
}

/// What the overview shows for a filter, read in one transaction.
pub struct Overview {
    /// the metrics (of the filter's scope)
    pub metrics: Metrics,
    /// the castle
    pub castle: view::Castle,
    /// the trends
    pub trends: view::Trends,
}

/// Reads the overview.
pub fn overview(
    store: &mut Store,
    f: &view::Filter,
    s: &Settings,
) -> Result<Overview, HistoryError> {
    let now = s.now();
    let mut o = s.options(f.scope.as_deref());
    // the pages show the deadlines' counts, not each breach
    o.list_breaches = false;
    // the metrics on a second connection while this one reads the castle and the trends
    let (metrics, rest) = store.parallel(
        |aside| metrics::compute(aside, &o),
        |store| {
            store.read(|tx| {
                let castle = view::castle(tx, f)?;
                let (from, to) = view::default_period(tx, now, s.max_days)?;
                let trends = view::trends(tx, f, from, to, &s.deadlines)?;
                Ok((castle, trends))
            })
        },
    )?;
    let (castle, trends) = rest?;
    Ok(Overview {
        metrics: metrics?,
        castle,
        trends,
    })
}

/// The most open findings a report lists (the rest are counted and left to the dashboard).
pub const REPORT_FINDINGS: usize = 2000;

/// Renders the one-file HTML report of a store (a scope of it, when given).
pub fn report(
    store: &mut Store,
    scope: Option<&str>,
    rules: &[&'static Rule],
    s: &Settings,
) -> Result<String, HistoryError> {
    let f = view::Filter {
        scope: scope.map(str::to_owned),
        page: 1,
        ..view::Filter::default()
    };
    let ov = overview(store, &f, s)?;
    let (findings, left_out, events) = store.read(|tx| {
        // the open findings of the subjects the castle lists, worst first
        let ids: Vec<i64> = ov.castle.rows.iter().map(|r| r.id).collect();
        let (rows, total) = view::open_findings_of(tx, scope, &ids, REPORT_FINDINGS)?;
        let kept = rows.len() as u64;
        let mut by_subject: BTreeMap<String, Vec<view::FindingRow>> = BTreeMap::new();
        for r in rows {
            by_subject
                .entry(format!("{}\u{0}{}", r.scope, r.subject))
                .or_default()
                .push(r);
        }
        let events = view::events(
            tx,
            &view::Filter {
                page: 1,
                ..view::Filter::default()
            },
        )?;
        Ok((by_subject, total.saturating_sub(kept), events))
    })?;
    let generated = format!(
        "Made {} by rampart {}{}",
        svg::date(s.now()),
        env!("CARGO_PKG_VERSION"),
        scope.map(|s| format!(", scope {s}")).unwrap_or_default()
    );
    let d = html::ReportData {
        metrics: &ov.metrics,
        castle: &ov.castle,
        trends: &ov.trends,
        findings: &findings,
        findings_left_out: left_out,
        events: &events,
        rules,
        generated,
        store: store.location().to_owned(),
    };
    Ok(html::report(&d).into_string())
}
