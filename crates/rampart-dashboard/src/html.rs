//! The pages, as HTML. Every value that comes from the store (subject names, messages, paths:
//! all from untrusted manifests and images) goes through maud's escaping; no page carries a
//! script, and each is served (or, for the report, written) under a Content-Security-Policy
//! that allows none, so a planted `<script>` is text twice over.

use std::collections::BTreeMap;

use maud::{DOCTYPE, Markup, PreEscaped, html};
use rampart_core::Rule;
use rampart_history::metrics::{Counts, Measure, Metrics, Ratio};

use crate::svg::{date, line_chart};
use crate::view::{Castle, EventRow, Events, Facets, Filter, FindingRow, Findings, Status, Trends};

/// The policy every page is served under (and the report carries in a `<meta>`): nothing
/// loads from anywhere, no script runs, styles only inline.
pub const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The report's policy, in a `<meta>` (where `frame-ancestors` has no effect): the same, and
/// no form goes anywhere.
pub const REPORT_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; base-uri 'none'";

const STYLE: &str = r#"
:root { font-family: system-ui, sans-serif; color: #1b1b1b; background: #fff; }
body { margin: 0 auto; max-width: 80rem; padding: 0 1rem 2rem; }
header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 1rem; border-bottom: 1px solid #ccc; }
header h1 { font-size: 1.3rem; margin: .6rem 0; }
nav ul { display: flex; gap: 1rem; list-style: none; padding: 0; margin: 0; }
a { color: #0645ad; }
h2 { font-size: 1.1rem; margin-top: 1.6rem; }
.tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(13rem, 1fr)); gap: .6rem; padding: 0; list-style: none; }
.tile { border: 1px solid #bbb; border-radius: 6px; padding: .5rem .7rem; }
.tile .name { font-size: .85rem; color: #333; margin: 0; }
.tile .value { font-size: 1.5rem; font-weight: 600; margin: .2rem 0; }
.tile .detail { font-size: .8rem; color: #333; margin: 0; }
.tile .why { font-size: .8rem; color: #333; margin: 0; }
table { border-collapse: collapse; font-size: .85rem; }
th, td { border: 1px solid #ccc; padding: .2rem .4rem; text-align: left; vertical-align: top; }
td.num { text-align: right; }
.st-holds { background: #d7f0dc; color: #0b3d1a; }
.st-weak { background: #fff0c2; color: #4d3900; }
.st-breached { background: #fbd5d5; color: #6e0b0b; font-weight: 600; }
.st-partly-assessed { background: #dbe7fb; color: #17325e; }
.st-not-assessed { background: #f2f2f2; color: #333; }
td[class^="st-"] a { color: inherit; }
.sev-critical { color: #6e0b0b; font-weight: 600; }
.sev-high { color: #7a2e00; font-weight: 600; }
form.filters { display: flex; flex-wrap: wrap; gap: .8rem; align-items: end; margin: .8rem 0; }
form.filters label { display: flex; flex-direction: column; font-size: .8rem; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(24rem, 1fr)); gap: 1rem; }
figure.chart { margin: 0; border: 1px solid #ddd; border-radius: 6px; padding: .5rem; }
figure.chart svg { width: 100%; height: auto; }
figcaption { font-weight: 600; font-size: .9rem; }
.unit { font-weight: normal; color: #333; }
line.grid { stroke: #ddd; }
text.tick { font-size: 10px; fill: #333; }
.series polyline { stroke-width: 2; }
.s0 polyline, .swatch.s0 { stroke: #b2182b; background: #b2182b; } .s0 circle { fill: #b2182b; }
.s1 polyline, .swatch.s1 { stroke: #ef8a62; background: #ef8a62; } .s1 circle { fill: #ef8a62; }
.s2 polyline, .swatch.s2 { stroke: #2166ac; background: #2166ac; } .s2 circle { fill: #2166ac; }
.s3 polyline, .swatch.s3 { stroke: #67a9cf; background: #67a9cf; } .s3 circle { fill: #67a9cf; }
.s4 polyline, .swatch.s4 { stroke: #1b7837; background: #1b7837; } .s4 circle { fill: #1b7837; }
.s5 polyline, .swatch.s5 { stroke: #762a83; background: #762a83; } .s5 circle { fill: #762a83; }
ul.legend { list-style: none; display: flex; flex-wrap: wrap; gap: .8rem; padding: 0; font-size: .8rem; }
.swatch { display: inline-block; width: .8rem; height: .8rem; margin-right: .3rem; vertical-align: middle; }
.empty { color: #333; font-style: italic; }
.pager { display: flex; gap: 1rem; margin: .6rem 0; }
code, pre { font-family: ui-monospace, monospace; font-size: .85rem; }
pre { background: #f6f6f6; padding: .5rem; overflow-x: auto; }
.message { max-width: 40rem; overflow-wrap: anywhere; }
"#;

/// Where links go: the dashboard's pages, or anchors inside the one-file report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Links {
    /// `rampart serve`
    Server,
    /// `rampart report --html`
    Report,
}

impl Links {
    fn overview(self, f: &Filter, changes: &[(&str, &str)]) -> String {
        match self {
            Links::Server => with_query("/", &f.query_with(changes)),
            Links::Report => "#castle".into(),
        }
    }

    fn findings(
        self,
        f: &Filter,
        changes: &[(&str, &str)],
        subject_anchor: Option<usize>,
    ) -> String {
        match self {
            Links::Server => with_query("/findings", &f.query_with(changes)),
            Links::Report => {
                subject_anchor.map_or_else(|| "#findings".into(), |i| format!("#subject-{i}"))
            }
        }
    }

    fn events(self, f: &Filter, changes: &[(&str, &str)]) -> String {
        match self {
            Links::Server => with_query("/events", &f.query_with(changes)),
            Links::Report => "#events".into(),
        }
    }

    fn rule(self, id: &str) -> String {
        match self {
            Links::Server => format!(
                "/rules/{}",
                form_urlencoded::byte_serialize(id.as_bytes()).collect::<String>()
            ),
            Links::Report => format!("#rule-{}", anchor(id)),
        }
    }
}

fn with_query(path: &str, q: &str) -> String {
    if q.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{q}")
    }
}

/// An id usable as an HTML anchor.
fn anchor(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// A duration for people: seconds, minutes, hours or days (`rampart metrics` prints the same).
pub fn human(seconds: f64) -> String {
    if seconds < 120.0 {
        format!("{seconds:.0} s")
    } else if seconds < 7200.0 {
        format!("{:.0} min", seconds / 60.0)
    } else if seconds < 2.0 * 86400.0 {
        format!("{:.1} h", seconds / 3600.0)
    } else {
        format!("{:.1} d", seconds / 86400.0)
    }
}

/// A ratio for people: `87.5 %`.
pub fn percent(r: f64) -> String {
    format!("{:.1} %", r * 100.0)
}

fn page(title: &str, links: Links, current: &str, generated: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                @if links == Links::Report {
                    meta http-equiv="Content-Security-Policy" content=(REPORT_CSP);
                }
                title { (title) " · rampart" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    h1 { "rampart · " (title) }
                    @if links == Links::Server {
                        nav aria-label="Pages" {
                            ul {
                                @for (href, name) in [("/", "Castle"), ("/findings", "Findings"), ("/events", "Events"), ("/openapi.json", "API")] {
                                    li {
                                        @if name == current { a href=(href) aria-current="page" { (name) } }
                                        @else { a href=(href) { (name) } }
                                    }
                                }
                            }
                        }
                    } @else {
                        nav aria-label="Sections" {
                            ul {
                                li { a href="#metrics" { "Metrics" } }
                                li { a href="#castle" { "Castle" } }
                                li { a href="#trends" { "Trends" } }
                                li { a href="#findings" { "Findings" } }
                                li { a href="#rules" { "Rules" } }
                            }
                        }
                    }
                    p.generated { (generated) }
                }
                main { (body) }
            }
        }
    }
}

/// A metric tile: its name, its value, and how it was measured or why it was not.
fn measure_tile(id: &str, name: &str, what: &str, m: &Measure, href: Option<&str>) -> Markup {
    html! {
        li.tile data-metric=(id) {
            p.name { (name) }
            @match m {
                Measure::Measured { count, mean_seconds, p50_seconds, p90_seconds, max_seconds } => {
                    p.value data-value=(mean_seconds) { @if let Some(h) = href { a href=(h) { (human(*mean_seconds)) } } @else { (human(*mean_seconds)) } }
                    p.detail { "mean · p50 " (human(*p50_seconds)) " · p90 " (human(*p90_seconds)) " · max " (human(*max_seconds)) " · " span data-count=(count) { (count) } " " (what) }
                }
                Measure::NotMeasured { why } => {
                    p.value data-value="" { "not measured" }
                    p.why { (why) }
                }
            }
        }
    }
}

fn ratio_tile(id: &str, name: &str, r: &Ratio, href: Option<&str>) -> Markup {
    html! {
        li.tile data-metric=(id) {
            p.name { (name) }
            @match r {
                Ratio::Measured { part, whole, ratio } => {
                    p.value data-value=(ratio) { @if let Some(h) = href { a href=(h) { (percent(*ratio)) } } @else { (percent(*ratio)) } }
                    p.detail { span data-part=(part) { (part) } " of " span data-whole=(whole) { (whole) } }
                }
                Ratio::NotMeasured { why } => {
                    p.value data-value="" { "not measured" }
                    p.why { (why) }
                }
            }
        }
    }
}

fn counts_tile(id: &str, name: &str, c: &Counts, href: &str) -> Markup {
    match c {
        Counts::Measured { total, by } => {
            let detail: Vec<String> = by.iter().map(|(k, v)| format!("{v} {k}")).collect();
            count_tile(
                id,
                name,
                *total,
                &if detail.is_empty() {
                    "none in the period".to_owned()
                } else {
                    detail.join(", ")
                },
                href,
            )
        }
        Counts::NotMeasured { why } => html! {
            li.tile data-metric=(id) {
                p.name { (name) }
                p.value data-value="" { "not measured" }
                p.why { (why) }
            }
        },
    }
}

fn count_tile(id: &str, name: &str, n: u64, detail: &str, href: &str) -> Markup {
    html! {
        li.tile data-metric=(id) {
            p.name { (name) }
            p.value data-value=(n) { a href=(href) { (n) } }
            p.detail { (detail) }
        }
    }
}

/// The metric tiles (the numbers of `rampart metrics`).
pub fn tiles(m: &Metrics, f: &Filter, links: Links) -> Markup {
    let open: u64 = m.open.values().sum();
    let open_detail: Vec<String> = crate::view::SEVERITIES
        .iter()
        .filter_map(|s| m.open.get(*s).map(|n| format!("{n} {s}")))
        .collect();
    let breached: u64 = m.deadlines.iter().map(|d| d.breached).sum();
    let deadline_detail: Vec<String> = m
        .deadlines
        .iter()
        .map(|d| format!("{} {} (> {} d)", d.breached, d.severity, d.days))
        .collect();
    let findings = links.findings(f, &[("page", "")], None);
    let events = links.events(f, &[("event", "admission"), ("page", "")]);
    let resolved = links.findings(f, &[("status", "resolved"), ("page", "")], None);
    let rescans = links.events(f, &[("event", "rescan"), ("namespace", ""), ("page", "")]);
    let alerts = links.events(f, &[("event", "alert"), ("namespace", ""), ("page", "")]);
    html! {
        ul.tiles {
            (measure_tile("detect", "Time to detect drift", "finding(s)", &m.detect, Some(&links.findings(f, &[("status", "all"), ("page", "")], None))))
            (measure_tile("remediate", "Time to remediate", "finding(s)", &m.remediate, Some(&resolved)))
            (measure_tile("recover", "Time for a layer to hold again", "layer span(s)", &m.recover, None))
            (count_tile("open", "Open findings", open, &if open_detail.is_empty() { "none".to_owned() } else { open_detail.join(", ") }, &findings))
            (count_tile("past-deadline", "Past the remediation deadline", breached, &if deadline_detail.is_empty() { "no deadline set".to_owned() } else { deadline_detail.join(", ") }, &findings))
            (ratio_tile("gate-coverage", "Policy-gate coverage", &m.gate_coverage, Some(&events)))
            (ratio_tile("namespaces-enforced", "Namespaces under enforcement", &m.namespaces_enforced, Some(&events)))
            (ratio_tile("signed-and-scanned", "Signed and scanned before admission", &m.signed_and_scanned, Some(&events)))
            (ratio_tile("escape-rate", "Vulnerable-artifact escape rate", &m.escape_rate, Some(&events)))
            (ratio_tile("escape-rate-later", &format!("Escapes found later by rescans ({} and above)", m.escape_threshold), &m.escape_rate_later, Some(&rescans)))
            (measure_tile("drift-detect-runtime", "Time to detect runtime drift", "alert(s)", &m.drift_detect_runtime, Some(&alerts)))
            (counts_tile("alerts", "Runtime alerts", &m.alerts_by_priority, &alerts))
        }
    }
}

fn state_label(s: &str) -> &str {
    match s {
        "partly-assessed" => "partly",
        "not-assessed" => "not assessed",
        other => other,
    }
}

/// The castle: each layer's subjects by state, then the subjects (worst first) by layer.
pub fn castle(c: &Castle, f: &Filter, links: Links) -> Markup {
    html! {
        section aria-labelledby="layers-heading" {
            h2 #layers-heading { "Layers" }
            table.layers {
                thead { tr { th scope="col" { "layer" } @for s in crate::view::STATES { th scope="col" { (state_label(s)) } } } }
                tbody {
                    @for layer in &c.layer_order {
                        tr data-layer=(layer) {
                            th scope="row" {
                                @if links == Links::Server { a href=(links.overview(f, &[("layer", layer), ("page", "")])) { (layer) } } @else { (layer) }
                            }
                            @for s in crate::view::STATES {
                                @let n = c.layers.get(layer).and_then(|m| m.get(s)).copied().unwrap_or(0);
                                td.num class=(format!("st-{s}")) data-state=(s) { (n) }
                            }
                        }
                    }
                }
            }
        }
        section aria-labelledby="subjects-heading" {
            h2 #subjects-heading { "Subjects" " " span.count data-subjects=(c.subjects) { "(" (c.subjects) ")" } }
            @if c.rows.is_empty() {
                p.empty { "No subject recorded" @if f.narrows_subjects() { " matches this filter" } "." }
            } @else {
                table.castle {
                    thead {
                        tr {
                            th scope="col" { "subject" }
                            @for layer in &c.layer_order { th scope="col" { (layer) } }
                            th scope="col" { "open findings" }
                        }
                    }
                    tbody {
                        @for (i, row) in c.rows.iter().enumerate() {
                            tr data-subject=(row.subject) {
                                th scope="row" {
                                    a href=(links.findings(f, &[("subject", &row.subject), ("scope", &row.scope), ("layer", ""), ("page", "")], Some(i))) { (row.subject) }
                                    @if c.facets.scopes.len() > 1 { br; small { (row.scope) } }
                                }
                                @for layer in &c.layer_order {
                                    @match row.layers.get(layer) {
                                        Some(state) => td class=(format!("st-{state}")) data-layer=(layer) data-state=(state) {
                                            @if matches!(state.as_str(), "weak" | "breached") {
                                                a href=(links.findings(f, &[("subject", &row.subject), ("scope", &row.scope), ("layer", layer), ("page", "")], Some(i))) { (state_label(state)) }
                                            } @else { (state_label(state)) }
                                        },
                                        None => td.st-not-assessed data-layer=(layer) data-state="" { "—" },
                                    }
                                }
                                td.num data-open=(row.open.values().sum::<u64>()) { (row.open.values().sum::<u64>()) }
                            }
                        }
                    }
                }
                @if c.pages > 1 && links == Links::Server {
                    (pager(c.page, c.pages, |p| links.overview(f, &[("page", p)])))
                }
                @if c.pages > 1 && links == Links::Report {
                    p { "The " (c.rows.len()) " worst of " (c.subjects) " subjects." }
                }
            }
        }
    }
}

fn pager(page: usize, pages: usize, href: impl Fn(&str) -> String) -> Markup {
    html! {
        nav.pager aria-label="Pages of results" {
            @if page > 1 { a href=(href(&(page - 1).to_string())) rel="prev" { "previous" } }
            span { "page " (page) " of " (pages) }
            @if page < pages { a href=(href(&(page + 1).to_string())) rel="next" { "next" } }
        }
    }
}

/// The trend charts.
pub fn trends(t: &Trends) -> Markup {
    html! {
        p { "From " (date(t.from)) " to " (date(t.to)) ", a point per " @if t.bucket_days == 1 { "day" } @else { (t.bucket_days) " days" } "." }
        div.charts {
            @for c in &t.charts { (line_chart(c, t.from, t.to)) }
        }
    }
}

fn filter_form(c: &Facets, f: &Filter, action: &str, extra: Markup) -> Markup {
    let select = |name: &str, label: &str, options: &[String], current: Option<&str>| {
        html! {
            label { (label)
                select name=(name) {
                    option value="" { "all" }
                    @for o in options {
                        @if current == Some(o.as_str()) { option value=(o) selected { (o) } } @else { option value=(o) { (o) } }
                    }
                }
            }
        }
    };
    let layers: Vec<String> = crate::view::layers()
        .into_iter()
        .map(str::to_owned)
        .collect();
    html! {
        form.filters method="get" action=(action) role="search" aria-label="Filter" {
            (select("scope", "scope (repository or cluster)", &c.scopes, f.scope.as_deref()))
            (select("namespace", "namespace", &c.namespaces, f.namespace.as_deref()))
            (select("kind", "kind", &c.kinds, f.kind.as_deref()))
            (select("layer", "layer", &layers, f.layer.as_deref()))
            (extra)
            button type="submit" { "Apply" }
        }
    }
}

/// The dashboard's home: tiles, castle and trends for a filter.
pub fn overview(m: &Metrics, c: &Castle, t: &Trends, f: &Filter, generated: &str) -> Markup {
    let body = html! {
        (filter_form(&c.facets, f, "/", html! {}))
        section aria-labelledby="metrics-heading" {
            h2 #metrics-heading { "Metrics" @if let Some(s) = &m.scope { " of " (s) } }
            @if f.namespace.is_some() || f.kind.is_some() || f.subject.is_some() {
                p { "The metrics cover the whole " @if m.scope.is_some() { "scope" } @else { "store" } "; the castle and the trends below follow the filter." }
            }
            (tiles(m, f, Links::Server))
        }
        (castle(c, f, Links::Server))
        section aria-labelledby="trends-heading" {
            h2 #trends-heading { "Trends" }
            (trends(t))
        }
    };
    page("Castle", Links::Server, "Castle", generated, body)
}

fn finding_rows(rows: &[FindingRow], links: Links, show_subject: bool, f: &Filter) -> Markup {
    html! {
        table.findings {
            thead {
                tr {
                    th scope="col" { "severity" }
                    th scope="col" { "rule" }
                    @if show_subject { th scope="col" { "subject" } }
                    th scope="col" { "layer" }
                    th scope="col" { "message" }
                    th scope="col" { "location" }
                    th scope="col" { "first seen" }
                    th scope="col" { "resolved" }
                }
            }
            tbody {
                @for r in rows {
                    tr data-finding=(r.id) {
                        td class=(format!("sev-{}", r.severity)) { (r.severity) }
                        td { a href=(links.rule(&r.rule_id)) { (r.rule_id) } }
                        @if show_subject {
                            td { @if links == Links::Server { a href=(links.findings(f, &[("subject", &r.subject), ("scope", &r.scope), ("page", "")], None)) { (r.subject) } } @else { (r.subject) } }
                        }
                        td { (r.layer) }
                        td.message { @if let Some(t) = &r.title { strong { (t) } br; } (r.message) }
                        td { @if let Some(l) = &r.location { code { (l) } } }
                        td { (date(r.first_seen)) }
                        td { @if let Some(t) = r.resolved_at { (date(t)) } @else { "open" } }
                    }
                }
            }
        }
    }
}

/// The findings page.
pub fn findings_page(fs: &Findings, c: &Facets, f: &Filter, generated: &str) -> Markup {
    let status = html! {
        label { "status"
            select name="status" {
                @for s in [Status::Open, Status::Resolved, Status::All] {
                    @if s == f.status { option value=(s.as_str()) selected { (s.as_str()) } } @else { option value=(s.as_str()) { (s.as_str()) } }
                }
            }
        }
        label { "severity"
            select name="severity" {
                option value="" { "all" }
                @for s in crate::view::SEVERITIES {
                    @if f.severity.as_deref() == Some(s) { option value=(s) selected { (s) } } @else { option value=(s) { (s) } }
                }
            }
        }
        @if let Some(s) = &f.subject { input type="hidden" name="subject" value=(s); }
    };
    let body = html! {
        (filter_form(c, f, "/findings", status))
        @if let Some(s) = &f.subject {
            p { "Subject " strong data-filter-subject=(s) { (s) } " · " a href=(Links::Server.findings(f, &[("subject", ""), ("page", "")], None)) { "all subjects" } }
        }
        h2 { span data-total=(fs.total) { (fs.total) } " " (f.status.as_str()) " finding(s)" }
        @if fs.rows.is_empty() { p.empty { "None." } } @else {
            (finding_rows(&fs.rows, Links::Server, true, f))
            @if fs.pages > 1 { (pager(fs.page, fs.pages, |p| Links::Server.findings(f, &[("page", p)], None))) }
        }
    };
    page("Findings", Links::Server, "Findings", generated, body)
}

fn event_rows(rows: &[EventRow]) -> Markup {
    html! {
        table.events {
            thead { tr { th scope="col" { "time" } th scope="col" { "kind" } th scope="col" { "subject" } th scope="col" { "what" } } }
            tbody {
                @for e in rows {
                    tr data-event=(e.id) data-kind=(e.kind) {
                        td { (crate::svg::date(e.at)) " " (time_of_day(e.at)) }
                        td { (e.kind) }
                        td { @if let Some(s) = &e.subject { (s) } }
                        td.message { (e.summary) }
                    }
                }
            }
        }
    }
}

fn time_of_day(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%H:%M:%S").to_string())
        .unwrap_or_default()
}

/// The events page.
pub fn events_page(ev: &Events, f: &Filter, generated: &str) -> Markup {
    let body = html! {
        form.filters method="get" action="/events" role="search" aria-label="Filter" {
            label { "kind"
                select name="event" {
                    option value="" { "all" }
                    @for k in &ev.kinds {
                        @if f.event.as_deref() == Some(k.as_str()) { option value=(k) selected { (k) } } @else { option value=(k) { (k) } }
                    }
                }
            }
            label { "namespace" input type="text" name="namespace" value=(f.namespace.clone().unwrap_or_default()); }
            button type="submit" { "Apply" }
        }
        h2 { span data-total=(ev.total) { (ev.total) } " event(s)" }
        @if ev.rows.is_empty() { p.empty { "None." } } @else {
            (event_rows(&ev.rows))
            @if ev.pages > 1 { (pager(ev.page, ev.pages, |p| Links::Server.events(f, &[("page", p)]))) }
        }
    };
    page("Events", Links::Server, "Events", generated, body)
}

fn rule_doc(r: &Rule, heading_id: &str) -> Markup {
    html! {
        article.rule id=(heading_id) {
            h3 { (r.id) " " (r.title) }
            p { "Severity " strong { (r.severity.to_string()) } " · layer " (r.layer.as_str()) " · " code { (r.name) } }
            p { (r.rationale) }
            p { strong { "Fix: " } (r.remediation) }
            @if !r.bad_example.is_empty() {
                p { "Flagged:" } pre tabindex="0" { code { (r.bad_example) } }
                p { "Fixed:" } pre tabindex="0" { code { (r.good_example) } }
            }
            @if !r.references.is_empty() {
                ul {
                    @for x in r.references { li { (x.kind.label()) ": " a href=(x.url) rel="noreferrer" { (x.id) } } }
                }
            }
        }
    }
}

/// A rule's documentation page.
pub fn rule_page(r: &Rule, generated: &str) -> Markup {
    page(
        &format!("Rule {}", r.id),
        Links::Server,
        "",
        generated,
        rule_doc(r, &format!("rule-{}", anchor(r.id))),
    )
}

/// A page saying something is not there (404) or not right (400).
pub fn message_page(title: &str, message: &str) -> Markup {
    page(
        title,
        Links::Server,
        "",
        "",
        html! { p { (message) } p { a href="/" { "Back to the castle" } } },
    )
}

/// What the one-file report holds.
pub struct ReportData<'a> {
    /// the metrics
    pub metrics: &'a Metrics,
    /// the castle
    pub castle: &'a Castle,
    /// the trends
    pub trends: &'a Trends,
    /// open findings, by subject (the castle's rows order)
    pub findings: &'a BTreeMap<String, Vec<FindingRow>>,
    /// open findings left out (over the report's limit)
    pub findings_left_out: u64,
    /// the latest events
    pub events: &'a Events,
    /// the rule catalog
    pub rules: &'a [&'static Rule],
    /// what the report covers and when it was made
    pub generated: String,
    /// the store it was read from
    pub store: String,
}

/// The one-file report: metrics, castle, trends, findings by subject, events and the
/// documentation of every rule it cites.
pub fn report(d: &ReportData<'_>) -> Markup {
    let f = Filter {
        scope: d.metrics.scope.clone(),
        ..Filter::default()
    };
    let cited: std::collections::BTreeSet<&str> = d
        .findings
        .values()
        .flatten()
        .map(|r| r.rule_id.as_str())
        .collect();
    let body = html! {
        p { "History store " code { (d.store) } "." }
        section #metrics aria-labelledby="metrics-heading" {
            h2 #metrics-heading { "Metrics" @if let Some(s) = &d.metrics.scope { " of " (s) } }
            (tiles(d.metrics, &f, Links::Report))
        }
        div #castle { (castle(d.castle, &f, Links::Report)) }
        section #trends aria-labelledby="trends-heading" {
            h2 #trends-heading { "Trends" }
            (trends(d.trends))
        }
        section #findings aria-labelledby="findings-heading" {
            h2 #findings-heading { "Open findings by subject" }
            @if d.findings.is_empty() { p.empty { "No open finding." } }
            @for (i, row) in d.castle.rows.iter().enumerate() {
                @if let Some(rows) = d.findings.get(&format!("{}\u{0}{}", row.scope, row.subject)) {
                    section.subject id=(format!("subject-{i}")) aria-label=(row.subject) {
                        h3 { (row.subject) " " small { (row.scope) } }
                        (finding_rows(rows, Links::Report, false, &f))
                    }
                }
            }
            @if d.findings_left_out > 0 {
                p { (d.findings_left_out) " more open finding(s) are not in this report: " code { "rampart serve" } " lists them all." }
            }
        }
        section #events aria-labelledby="events-heading" {
            h2 #events-heading { "Latest events" }
            @if d.events.rows.is_empty() { p.empty { "No event recorded." } } @else {
                p { "The latest " (d.events.rows.len()) " of " (d.events.total) "." }
                (event_rows(&d.events.rows))
            }
        }
        section #rules aria-labelledby="rules-heading" {
            h2 #rules-heading { "Rules cited" }
            @for r in d.rules.iter().filter(|r| cited.contains(r.id)) {
                (rule_doc(r, &format!("rule-{}", anchor(r.id))))
            }
            @for id in cited.iter().filter(|id| !d.rules.iter().any(|r| r.id == **id)) {
                article.rule id=(format!("rule-{}", anchor(id))) { h3 { (id) } p { "A rule this rampart does not document (recorded by another version or tool)." } }
            }
        }
    };
    page("Report", Links::Report, "", &d.generated, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_the_cli() {
        assert_eq!(human(30.0), "30 s");
        assert_eq!(human(600.0), "10 min");
        assert_eq!(human(3.0 * 3600.0), "3.0 h");
        assert_eq!(human(3.0 * 86400.0), "3.0 d");
        assert_eq!(percent(0.875), "87.5 %");
    }

    #[test]
    fn anchors_keep_only_safe_characters() {
        assert_eq!(anchor("K8S-001"), "K8S-001");
        assert_eq!(anchor("a\"><script>"), "a___script_");
    }
}
