//! What the pages and the API show, read from the store: the castle (each subject's layers
//! now), findings, events and trends. Everything is a query over the raw rows of
//! `rampart-history` (the same rows `rampart metrics` reads), in one read transaction per
//! request, so a page never mixes two moments of the store.

use std::collections::{BTreeMap, BTreeSet};

use rampart_history::HistoryError;
use rampart_history::metrics::DAY_MS;
use rampart_history::sql::{Tx, Val};
use serde::{Deserialize, Serialize};

/// A layer's states, worst first.
pub const STATES: [&str; 5] = [
    "breached",
    "weak",
    "partly-assessed",
    "not-assessed",
    "holds",
];

/// Severities, worst first.
pub const SEVERITIES: [&str; 5] = ["critical", "high", "medium", "low", "info"];

/// Rows per page of the castle, findings and events.
pub const PAGE: usize = 100;

/// The layers, in the castle's order (outermost first).
pub fn layers() -> Vec<&'static str> {
    rampart_core::Layer::ALL
        .iter()
        .map(|l| l.as_str())
        .collect()
}

/// Which findings a findings list shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// not resolved
    #[default]
    Open,
    /// resolved
    Resolved,
    /// both
    All,
}

impl Status {
    /// Its name in a URL.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Resolved => "resolved",
            Status::All => "all",
        }
    }
}

/// What a page or an API call is narrowed to (the query string).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Filter {
    /// a scope (a repository and path, or a cluster)
    pub scope: Option<String>,
    /// a namespace (of `Kind namespace/name` subjects, and `Namespace name`)
    pub namespace: Option<String>,
    /// a subject kind (`Deployment`, `Image`, `Dockerfile`...)
    pub kind: Option<String>,
    /// one subject, by its full name
    pub subject: Option<String>,
    /// a layer
    pub layer: Option<String>,
    /// a severity (findings)
    pub severity: Option<String>,
    /// open, resolved or all (findings)
    pub status: Status,
    /// an event kind (events)
    pub event: Option<String>,
    /// the page, from 1
    pub page: usize,
}

/// A query parameter that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("query parameter `{name}`: {message}")]
pub struct BadQuery {
    /// the parameter
    pub name: String,
    /// why
    pub message: String,
}

impl Filter {
    /// Reads a URL's query string. Unknown parameters are ignored; a known one with a value
    /// outside its set is an error (a typo never shows an unfiltered page as if filtered).
    pub fn from_query(query: &str) -> Result<Filter, BadQuery> {
        let mut f = Filter {
            page: 1,
            ..Filter::default()
        };
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            let v = v.trim().to_owned();
            let bad = |message: String| BadQuery {
                name: k.to_string(),
                message,
            };
            let one_of = |allowed: &[&str]| -> Result<Option<String>, BadQuery> {
                if v.is_empty() {
                    Ok(None)
                } else if allowed.contains(&v.as_str()) {
                    Ok(Some(v.clone()))
                } else {
                    Err(bad(format!("`{v}` is not one of {}", allowed.join(", "))))
                }
            };
            let text = || (!v.is_empty()).then(|| v.clone());
            match k.as_ref() {
                "scope" => f.scope = text(),
                "namespace" => f.namespace = text(),
                "kind" => f.kind = text(),
                "subject" => f.subject = text(),
                "layer" => f.layer = one_of(&layers())?,
                "severity" => f.severity = one_of(&SEVERITIES)?,
                "event" => f.event = text(),
                "status" => {
                    f.status = match v.as_str() {
                        "" | "open" => Status::Open,
                        "resolved" => Status::Resolved,
                        "all" => Status::All,
                        _ => return Err(bad(format!("`{v}` is not open, resolved or all"))),
                    }
                }
                "page" => {
                    f.page = match v.parse::<usize>() {
                        Ok(n) if (1..=1_000_000).contains(&n) => n,
                        _ if v.is_empty() => 1,
                        _ => return Err(bad(format!("`{v}` is not a page number"))),
                    }
                }
                _ => {}
            }
        }
        Ok(f)
    }

    /// The query string of this filter with some parameters replaced (`""` removes one).
    pub fn query_with(&self, changes: &[(&str, &str)]) -> String {
        let page = self.page.to_string();
        let status = self.status.as_str();
        let mut pairs: Vec<(&str, &str)> = [
            ("scope", self.scope.as_deref()),
            ("namespace", self.namespace.as_deref()),
            ("kind", self.kind.as_deref()),
            ("subject", self.subject.as_deref()),
            ("layer", self.layer.as_deref()),
            ("severity", self.severity.as_deref()),
            ("status", (self.status != Status::Open).then_some(status)),
            ("event", self.event.as_deref()),
            ("page", (self.page > 1).then_some(page.as_str())),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect();
        for (k, v) in changes {
            pairs.retain(|(name, _)| name != k);
            if !v.is_empty() {
                pairs.push((k, v));
            }
        }
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            s.append_pair(k, v);
        }
        s.finish()
    }

    /// Whether anything narrows the subjects.
    pub fn narrows_subjects(&self) -> bool {
        self.scope.is_some()
            || self.namespace.is_some()
            || self.kind.is_some()
            || self.subject.is_some()
    }

    /// The `WHERE` part restricting subjects (alias `s`) and its parameters, numbered from
    /// `first`.
    fn subject_sql(&self, first: usize, params: &mut Vec<Val>) -> String {
        let mut parts = vec!["s.name <> ''".to_owned()];
        let mut n = first;
        let mut bind = |v: String, params: &mut Vec<Val>| {
            params.push(Val::from(v));
            let p = format!("${n}");
            n += 1;
            p
        };
        if let Some(scope) = &self.scope {
            let p = bind(scope.clone(), params);
            parts.push(format!("s.scope = {p}"));
        }
        if let Some(subject) = &self.subject {
            let p = bind(subject.clone(), params);
            parts.push(format!("s.name = {p}"));
        }
        if let Some(ns) = &self.namespace {
            let a = bind(format!("% {}/%", like_escape(ns)), params);
            let b = bind(format!("Namespace {ns}"), params);
            parts.push(format!("(s.name LIKE {a} ESCAPE '\\' OR s.name = {b})"));
        }
        if let Some(kind) = &self.kind {
            let p = bind(format!("{} %", like_escape(kind)), params);
            parts.push(format!("s.name LIKE {p} ESCAPE '\\'"));
        }
        parts.join(" AND ")
    }
}

/// The page shown of `total` rows when page `asked` is asked (clamped to those there are), the
/// pages in all, and the offset of the page's first row.
fn paging(total: usize, asked: usize) -> (usize, usize, usize) {
    let pages = total.div_ceil(PAGE).max(1);
    let page = asked.clamp(1, pages);
    (page, pages, (page - 1) * PAGE)
}

/// `s` with LIKE's wildcards and the escape character escaped.
fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A subject's kind and namespace from its name (`Deployment shop/web`, `Namespace shop`,
/// `Image examples/images/worker`).
pub fn kind_and_namespace(name: &str) -> (&str, Option<&str>) {
    let (kind, rest) = name.split_once(' ').unwrap_or((name, ""));
    let namespace = match kind {
        "Namespace" => Some(rest),
        "Dockerfile" | "Image" | "Config" => None,
        _ => rest.split_once('/').map(|(ns, _)| ns),
    };
    (kind, namespace.filter(|n| !n.is_empty()))
}

fn int(r: &[Val], i: usize) -> i64 {
    r.get(i).and_then(Val::int).unwrap_or(0)
}

fn opt_int(r: &[Val], i: usize) -> Option<i64> {
    r.get(i).and_then(Val::int)
}

fn text(r: &[Val], i: usize) -> String {
    r.get(i).and_then(Val::text).unwrap_or_default().to_owned()
}

fn opt_text(r: &[Val], i: usize) -> Option<String> {
    r.get(i).and_then(Val::text).map(str::to_owned)
}

/// One subject's layers now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CastleRow {
    /// its id in the store (not in the API: ids are the store's own)
    #[serde(skip)]
    pub id: i64,
    /// its scope
    pub scope: String,
    /// its name
    pub subject: String,
    /// its kind
    pub kind: String,
    /// its namespace, if it has one
    pub namespace: Option<String>,
    /// the file it was read from
    pub file: Option<String>,
    /// each layer's state (layers never assessed are absent)
    pub layers: BTreeMap<String, String>,
    /// open, unsuppressed findings by severity
    pub open: BTreeMap<String, u64>,
}

/// The castle view: how many subjects are in each state of each layer, and the subjects,
/// worst first, a page at a time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Castle {
    /// the layers, outermost first
    pub layer_order: Vec<String>,
    /// per layer, subjects per state (the filter applied)
    pub layers: BTreeMap<String, BTreeMap<String, u64>>,
    /// subjects matching the filter
    pub subjects: u64,
    /// this page's subjects, worst first (most breached layers, then weak, then open
    /// critical and high findings)
    pub rows: Vec<CastleRow>,
    /// the page
    pub page: usize,
    /// pages in all
    pub pages: usize,
    /// what the filters offer
    #[serde(flatten)]
    pub facets: Facets,
}

/// What the filters offer: the scopes in the store, and the namespaces and kinds of its
/// subjects (of the filter's scope).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Facets {
    /// the scopes in the store
    pub scopes: Vec<String>,
    /// the namespaces of the subjects
    pub namespaces: Vec<String>,
    /// the subject kinds
    pub kinds: Vec<String>,
}

fn scopes(tx: &mut Tx<'_>) -> Result<Vec<String>, HistoryError> {
    Ok(tx
        .query("SELECT DISTINCT scope FROM subjects ORDER BY scope", &[])?
        .iter()
        .map(|r| text(r, 0))
        .collect())
}

/// Reads the facets (a page that lists no subjects needs only these for its filters).
pub fn facets(tx: &mut Tx<'_>, f: &Filter) -> Result<Facets, HistoryError> {
    let scoped = Filter {
        scope: f.scope.clone(),
        ..Filter::default()
    };
    Ok(facets_of(tx, &scoped)?.0)
}

/// The facets of the subjects a filter keeps (their namespaces and kinds, and every scope),
/// and how many subjects it keeps.
fn facets_of(tx: &mut Tx<'_>, f: &Filter) -> Result<(Facets, u64), HistoryError> {
    let mut params = Vec::new();
    let wh = f.subject_sql(1, &mut params);
    let mut namespaces = BTreeSet::new();
    let mut kinds = BTreeSet::new();
    let mut n = 0;
    for r in tx.query(
        &format!("SELECT s.name FROM subjects s WHERE {wh}"),
        &params,
    )? {
        let name = text(&r, 0);
        let (kind, ns) = kind_and_namespace(&name);
        if let Some(ns) = ns {
            namespaces.insert(ns.to_owned());
        }
        kinds.insert(kind.to_owned());
        n += 1;
    }
    let facets = Facets {
        scopes: scopes(tx)?,
        namespaces: namespaces.into_iter().collect(),
        kinds: kinds.into_iter().collect(),
    };
    Ok((facets, n))
}

/// Reads the castle view: the page's subjects in the order of their rank columns (kept by
/// every run, migration 7), then only their layers and open findings; the counts per layer and
/// state and the facets over every subject the filter keeps.
pub fn castle(tx: &mut Tx<'_>, f: &Filter) -> Result<Castle, HistoryError> {
    let mut params = Vec::new();
    let wh = f.subject_sql(1, &mut params);
    // the facets and the total, from the names of every subject the filter keeps
    let (facets, subjects) = facets_of(tx, f)?;
    let mut layers: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for r in tx.query(
        &format!(
            "SELECT l.layer, l.state, COUNT(*) FROM layer_states l JOIN subjects s ON s.id = l.subject_id
             WHERE l.current = 1 AND {wh} GROUP BY l.layer, l.state"
        ),
        &params,
    )? {
        layers
            .entry(text(&r, 0))
            .or_default()
            .insert(text(&r, 1), int(&r, 2) as u64);
    }
    let (page, pages, offset) = paging(subjects as usize, f.page);
    let bytes = rampart_history::schema::bytewise(tx.dialect());
    let mut rows: Vec<CastleRow> = tx
        .query(
            &format!(
                "SELECT s.id, s.scope, s.name, s.file FROM subjects s WHERE {wh}
                 ORDER BY s.breached DESC, s.weak DESC, s.open_critical DESC, s.open_high DESC, s.scope {bytes}, s.name {bytes}
                 LIMIT {PAGE} OFFSET {offset}"
            ),
            &params,
        )?
        .iter()
        .map(|r| {
            let name = text(r, 2);
            let (kind, ns) = kind_and_namespace(&name);
            CastleRow {
                id: int(r, 0),
                scope: text(r, 1),
                kind: kind.to_owned(),
                namespace: ns.map(str::to_owned),
                subject: name.clone(),
                file: opt_text(r, 3),
                layers: BTreeMap::new(),
                open: BTreeMap::new(),
            }
        })
        .collect();
    if !rows.is_empty() {
        let at: BTreeMap<i64, usize> = rows.iter().enumerate().map(|(i, r)| (r.id, i)).collect();
        // the store's own integers, written as literals
        let ids = at.keys().map(i64::to_string).collect::<Vec<_>>().join(",");
        for r in tx.query(
            &format!(
                "SELECT subject_id, layer, state FROM layer_states WHERE current = 1 AND subject_id IN ({ids})"
            ),
            &[],
        )? {
            if let Some(row) = at.get(&int(&r, 0)).and_then(|i| rows.get_mut(*i)) {
                row.layers.insert(text(&r, 1), text(&r, 2));
            }
        }
        for r in tx.query(
            &format!(
                "SELECT subject_id, severity, COUNT(*) FROM findings
                 WHERE resolved_at IS NULL AND suppressed = 0 AND subject_id IN ({ids}) GROUP BY subject_id, severity"
            ),
            &[],
        )? {
            if let Some(row) = at.get(&int(&r, 0)).and_then(|i| rows.get_mut(*i)) {
                row.open.insert(text(&r, 1), int(&r, 2) as u64);
            }
        }
    }
    Ok(Castle {
        layer_order: layers_in_order(),
        layers,
        subjects,
        rows,
        page,
        pages,
        facets,
    })
}

fn layers_in_order() -> Vec<String> {
    layers().into_iter().map(str::to_owned).collect()
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FindingRow {
    /// its id in the store
    pub id: i64,
    /// the subject's scope
    pub scope: String,
    /// the subject
    pub subject: String,
    /// the rule
    pub rule_id: String,
    /// the layer
    pub layer: String,
    /// the severity
    pub severity: String,
    /// the rule's title
    pub title: Option<String>,
    /// what was found
    pub message: String,
    /// where (`file:line`)
    pub location: Option<String>,
    /// first reported (ms since the epoch)
    pub first_seen: i64,
    /// last reported
    pub last_seen: i64,
    /// resolved (the first complete run without it), if it is
    pub resolved_at: Option<i64>,
    /// when it was introduced (the commit time), when known
    pub introduced_at: Option<i64>,
    /// times it came back after being resolved
    pub reopened: i64,
}

/// A page of findings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Findings {
    /// findings matching the filter
    pub total: u64,
    /// the page
    pub page: usize,
    /// pages in all
    pub pages: usize,
    /// this page's findings, worst severity first, then oldest
    pub rows: Vec<FindingRow>,
}

/// `CASE` ranking severities, worst first.
fn severity_rank(col: &str) -> String {
    let mut s = format!("CASE {col}");
    for (i, sev) in SEVERITIES.iter().enumerate() {
        s.push_str(&format!(" WHEN '{sev}' THEN {i}"));
    }
    s.push_str(" ELSE 9 END");
    s
}

/// Reads a page of findings.
pub fn findings(tx: &mut Tx<'_>, f: &Filter) -> Result<Findings, HistoryError> {
    let mut params = Vec::new();
    let mut wh = vec![f.subject_sql(1, &mut params), "f.suppressed = 0".to_owned()];
    match f.status {
        Status::Open => wh.push("f.resolved_at IS NULL".into()),
        Status::Resolved => wh.push("f.resolved_at IS NOT NULL".into()),
        Status::All => {}
    }
    if let Some(layer) = &f.layer {
        params.push(Val::from(layer.as_str()));
        wh.push(format!("f.layer = ${}", params.len()));
    }
    if let Some(sev) = &f.severity {
        params.push(Val::from(sev.as_str()));
        wh.push(format!("f.severity = ${}", params.len()));
    }
    let wh = wh.join(" AND ");
    let total = tx
        .one(
            &format!(
                "SELECT COUNT(*) FROM findings f JOIN subjects s ON s.id = f.subject_id WHERE {wh}"
            ),
            &params,
        )?
        .and_then(|v| v.int())
        .unwrap_or(0) as u64;
    let (page, pages, offset) = paging(total as usize, f.page);
    let rows = tx
        .query(
            &format!(
                "SELECT f.id, s.scope, s.name, f.rule_id, f.layer, f.severity, f.title, f.message,
                        f.location, f.first_seen, f.last_seen, f.resolved_at, f.introduced_at, f.reopened
                 FROM findings f JOIN subjects s ON s.id = f.subject_id WHERE {wh}
                 ORDER BY {}, f.first_seen, f.id LIMIT {PAGE} OFFSET {offset}",
                severity_rank("f.severity")
            ),
            &params,
        )?
        .iter()
        .map(|r| finding_row(r))
        .collect();
    Ok(Findings {
        total,
        page,
        pages,
        rows,
    })
}

/// The open findings of some subjects (their store ids), worst severity first, at most
/// `limit`; and how many open findings the store (the scope) holds in all.
pub fn open_findings_of(
    tx: &mut Tx<'_>,
    scope: Option<&str>,
    ids: &[i64],
    limit: usize,
) -> Result<(Vec<FindingRow>, u64), HistoryError> {
    let (wh, params) = match scope {
        Some(s) => ("AND s.scope = $1", vec![Val::from(s)]),
        None => ("", Vec::new()),
    };
    let total = tx
        .one(
            &format!(
                "SELECT COUNT(*) FROM findings f JOIN subjects s ON s.id = f.subject_id
                 WHERE f.resolved_at IS NULL AND f.suppressed = 0 AND s.name <> '' {wh}"
            ),
            &params,
        )?
        .and_then(|v| v.int())
        .unwrap_or(0) as u64;
    if ids.is_empty() {
        return Ok((Vec::new(), total));
    }
    // the ids are the store's own integers, written as literals
    let list = ids
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let rows = tx
        .query(
            &format!(
                "SELECT f.id, s.scope, s.name, f.rule_id, f.layer, f.severity, f.title, f.message,
                        f.location, f.first_seen, f.last_seen, f.resolved_at, f.introduced_at, f.reopened
                 FROM findings f JOIN subjects s ON s.id = f.subject_id
                 WHERE f.subject_id IN ({list}) AND f.resolved_at IS NULL AND f.suppressed = 0
                 ORDER BY {}, f.first_seen, f.id LIMIT {limit}",
                severity_rank("f.severity")
            ),
            &[],
        )?
        .iter()
        .map(|r| finding_row(r))
        .collect();
    Ok((rows, total))
}

fn finding_row(r: &[Val]) -> FindingRow {
    FindingRow {
        id: int(r, 0),
        scope: text(r, 1),
        subject: text(r, 2),
        rule_id: text(r, 3),
        layer: text(r, 4),
        severity: text(r, 5),
        title: opt_text(r, 6),
        message: text(r, 7),
        location: opt_text(r, 8),
        first_seen: int(r, 9),
        last_seen: int(r, 10),
        resolved_at: opt_int(r, 11),
        introduced_at: opt_int(r, 12),
        reopened: int(r, 13),
    }
}

/// One recorded event (an admission decision, a rescan, an alert...).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventRow {
    /// its id in the store
    pub id: i64,
    /// when it happened (ms since the epoch)
    pub at: i64,
    /// its kind
    pub kind: String,
    /// the subject it concerns, if one
    pub subject: Option<String>,
    /// one line for people
    pub summary: String,
    /// the record as it was imported
    pub data: serde_json::Value,
}

/// A page of events.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Events {
    /// events matching the filter
    pub total: u64,
    /// the page
    pub page: usize,
    /// pages in all
    pub pages: usize,
    /// the kinds of event in the store (for the filter)
    pub kinds: Vec<String>,
    /// this page's events, newest first
    pub rows: Vec<EventRow>,
}

/// Reads a page of events.
pub fn events(tx: &mut Tx<'_>, f: &Filter) -> Result<Events, HistoryError> {
    let mut params = Vec::new();
    let mut wh = vec!["1 = 1".to_owned()];
    if let Some(kind) = &f.event {
        params.push(Val::from(kind.as_str()));
        wh.push(format!("e.kind = ${}", params.len()));
    }
    if let Some(ns) = &f.namespace {
        // admission decisions carry their namespace in the record
        params.push(Val::from(format!(
            "%\"namespace\":\"{}\"%",
            like_escape(ns)
        )));
        wh.push(format!("e.data LIKE ${} ESCAPE '\\'", params.len()));
    }
    let wh = wh.join(" AND ");
    let total = tx
        .one(
            &format!("SELECT COUNT(*) FROM events e WHERE {wh}"),
            &params,
        )?
        .and_then(|v| v.int())
        .unwrap_or(0) as u64;
    let (page, pages, offset) = paging(total as usize, f.page);
    let rows = tx
        .query(
            &format!(
                "SELECT e.id, e.at, e.kind, s.name, e.data FROM events e LEFT JOIN subjects s ON s.id = e.subject_id
                 WHERE {wh} ORDER BY e.at DESC, e.id DESC LIMIT {PAGE} OFFSET {offset}"
            ),
            &params,
        )?
        .iter()
        .map(|r| {
            let kind = text(r, 2);
            let raw = text(r, 4);
            let data = serde_json::from_str(&raw).unwrap_or(serde_json::Value::String(raw));
            EventRow {
                id: int(r, 0),
                at: int(r, 1),
                summary: summarize(&kind, &data),
                kind,
                subject: opt_text(r, 3),
                data,
            }
        })
        .collect();
    let kinds = tx
        .query("SELECT DISTINCT kind FROM events ORDER BY kind", &[])?
        .iter()
        .map(|r| text(r, 0))
        .collect();
    Ok(Events {
        total,
        page,
        pages,
        kinds,
        rows,
    })
}

/// One line on an event for people.
pub fn summarize(kind: &str, data: &serde_json::Value) -> String {
    let s = |k: &str| {
        data.get(k)
            .and_then(serde_json::Value::as_str)
            .unwrap_or("")
    };
    match kind {
        "admission" => {
            let verdict = if data.get("allowed").and_then(serde_json::Value::as_bool) == Some(true)
            {
                "admitted"
            } else {
                "denied"
            };
            let gates: Vec<String> = data
                .get("gates")
                .and_then(serde_json::Value::as_array)
                .map(|gs| {
                    gs.iter()
                        .map(|g| {
                            let get = |k: &str| {
                                g.get(k).and_then(serde_json::Value::as_str).unwrap_or("?")
                            };
                            format!("{} {}", get("gate"), get("outcome"))
                        })
                        .collect()
                })
                .unwrap_or_default();
            format!(
                "{verdict}: {} {}/{} ({} {}){}",
                s("kind"),
                s("namespace"),
                s("name"),
                s("operation"),
                s("endpoint"),
                if gates.is_empty() {
                    String::new()
                } else {
                    format!(": {}", gates.join(", "))
                }
            )
        }
        _ => {
            for k in ["output", "rule", "summary", "message", "image"] {
                if !s(k).is_empty() {
                    return s(k).to_owned();
                }
            }
            let mut t = data.to_string();
            if t.len() > 200 {
                let mut cut = 200;
                while !t.is_char_boundary(cut) {
                    cut -= 1;
                }
                t.truncate(cut);
                t.push('…');
            }
            t
        }
    }
}

/// One point of a series: the end of a bucket (ms since the epoch) and the value there.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// the bucket's end (ms since the epoch, UTC midnight)
    pub at: i64,
    /// the value
    pub value: f64,
}

/// A named line of a chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// its name in the legend
    pub name: String,
    /// its points, in time order
    pub points: Vec<Point>,
}

/// A chart's data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chart {
    /// a stable id (`open-findings`...)
    pub id: String,
    /// its title
    pub title: String,
    /// what the values are
    pub unit: String,
    /// its lines
    pub series: Vec<Series>,
    /// why it is empty, when it is
    pub empty_because: Option<String>,
}

/// The trends: each metric over time, a point per bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trends {
    /// the first bucket's start (ms since the epoch)
    pub from: i64,
    /// the last bucket's end
    pub to: i64,
    /// the bucket, days (1, or 7 over long periods)
    pub bucket_days: i64,
    /// the charts
    pub charts: Vec<Chart>,
}

/// Bucket boundaries: UTC midnights from `from` to `to`, every `step` ms; the value of a
/// bucket is read at its end.
fn buckets(from: i64, to: i64, step: i64) -> Vec<i64> {
    let mut out = Vec::new();
    let mut t = from.div_euclid(DAY_MS) * DAY_MS + step;
    while t < to + step {
        out.push(t.min(to));
        if t >= to {
            break;
        }
        t += step;
    }
    out
}

/// For events `(at, delta)`, the running sum at each bucket end (`at < end`).
fn running(mut deltas: Vec<(i64, i64)>, ends: &[i64]) -> Vec<Point> {
    deltas.sort_unstable();
    let mut sum = 0i64;
    let mut i = 0;
    let mut out = Vec::with_capacity(ends.len());
    for &end in ends {
        while let Some(&(at, d)) = deltas.get(i) {
            if at >= end {
                break;
            }
            sum += d;
            i += 1;
        }
        out.push(Point {
            at: end,
            value: sum as f64,
        });
    }
    out
}

/// Grouped counts `(bucket start, group, count)` turned into deltas at each bucket's start.
fn grouped(rows: Vec<Vec<Val>>, sign: i64) -> BTreeMap<String, Vec<(i64, i64)>> {
    let mut out: BTreeMap<String, Vec<(i64, i64)>> = BTreeMap::new();
    for r in rows {
        out.entry(text(&r, 1))
            .or_default()
            .push((int(&r, 0) * DAY_MS, sign * int(&r, 2)));
    }
    out
}

/// A bucket's admitted workloads: covered by every gate in enforce mode, through the
/// vulnerabilities gate, and escaped it.
#[derive(Debug, Default)]
struct Tally {
    admitted: u64,
    covered: u64,
    scanned: u64,
    escaped: u64,
}

/// The daily trend rows a run writes (`trend_days`: open findings, layers by state) of the
/// filter's scope (or the whole store) and layer, summed per day and name.
fn trend_days(
    tx: &mut Tx<'_>,
    f: &Filter,
    series: &str,
) -> Result<BTreeMap<String, Vec<(i64, i64)>>, HistoryError> {
    let mut params = vec![
        Val::from(
            f.scope
                .as_deref()
                .unwrap_or(rampart_history::scan::ALL_SCOPES),
        ),
        Val::from(series),
    ];
    let mut sql = String::from(
        "SELECT day, name, CAST(SUM(delta) AS BIGINT) FROM trend_days WHERE scope = $1 AND series = $2",
    );
    if let Some(layer) = &f.layer {
        params.push(Val::from(layer.as_str()));
        sql.push_str(" AND layer = $3");
    }
    sql.push_str(" GROUP BY day, name");
    let mut out: BTreeMap<String, Vec<(i64, i64)>> = BTreeMap::new();
    for r in tx.query(&sql, &params)? {
        let d = int(&r, 2);
        if d != 0 {
            out.entry(text(&r, 1)).or_default().push((int(&r, 0), d));
        }
    }
    Ok(out)
}

/// Reads the trends from `from` to `to` (ms since the epoch): from the daily trend rows, but
/// for a filter by namespace, kind or subject, which the rows do not keep (then from the
/// findings and spans themselves).
pub fn trends(
    tx: &mut Tx<'_>,
    f: &Filter,
    from: i64,
    to: i64,
    deadlines: &BTreeMap<String, i64>,
) -> Result<Trends, HistoryError> {
    let from_rows = f.namespace.is_some() || f.kind.is_some() || f.subject.is_some();
    trends_with(tx, f, from, to, deadlines, from_rows)
}

/// [`trends`], choosing the source: the findings and spans themselves (`from_rows`), or the
/// daily trend rows (the tests check both agree).
pub fn trends_with(
    tx: &mut Tx<'_>,
    f: &Filter,
    from: i64,
    to: i64,
    deadlines: &BTreeMap<String, i64>,
    from_rows: bool,
) -> Result<Trends, HistoryError> {
    let span_days = (to - from) / DAY_MS + 1;
    let bucket_days = if span_days > 120 { 7 } else { 1 };
    let ends = buckets(from, to, bucket_days * DAY_MS);
    let mut params = Vec::new();
    // the subjects are joined only when the filter narrows them: the findings' own indexes
    // then answer the whole store's queries
    let (mut wh, join) = if f.narrows_subjects() {
        (
            vec![f.subject_sql(1, &mut params), "f.suppressed = 0".to_owned()],
            "JOIN subjects s ON s.id = f.subject_id",
        )
    } else {
        (vec!["f.suppressed = 0".to_owned()], "")
    };
    if let Some(layer) = &f.layer {
        params.push(Val::from(layer.as_str()));
        wh.push(format!("f.layer = ${}", params.len()));
    }
    let wh = wh.join(" AND ");
    let mut charts = Vec::new();

    // open findings by severity: +1 on the day first seen, -1 on the day resolved
    let mut deltas = if from_rows {
        let mut d = grouped(
            tx.query(
                &format!(
                    "SELECT f.first_seen / {DAY_MS}, f.severity, COUNT(*) FROM findings f {join}
                     WHERE {wh} GROUP BY 1, 2"
                ),
                &params,
            )?,
            1,
        );
        for (sev, mut r) in grouped(
            tx.query(
                &format!(
                    "SELECT f.resolved_at / {DAY_MS}, f.severity, COUNT(*) FROM findings f {join}
                     WHERE f.resolved_at IS NOT NULL AND {wh} GROUP BY 1, 2"
                ),
                &params,
            )?,
            -1,
        ) {
            d.entry(sev).or_default().append(&mut r);
        }
        d
    } else {
        trend_days(tx, f, "open")?
    };
    charts.push(Chart {
        id: "open-findings".into(),
        title: "Open findings by severity".into(),
        unit: "findings".into(),
        empty_because: deltas
            .is_empty()
            .then(|| "no finding recorded: record scans with `rampart scan --history`".into()),
        series: SEVERITIES
            .iter()
            .filter_map(|sev| {
                deltas.remove(*sev).map(|d| Series {
                    name: (*sev).to_owned(),
                    points: running(d, &ends),
                })
            })
            .collect(),
    });

    // open past the deadline: +1 when a finding still open reaches its deadline, -1 when one
    // past it is resolved
    let mut past = Vec::new();
    for (sev, limit) in deadlines {
        let mut p = params.clone();
        p.push(Val::from(sev.as_str()));
        let n = p.len();
        // open ones, and those resolved late, reach the deadline; the late ones leave when
        // resolved (ranges of the severity index and of the time-to-resolve index)
        let late = format!("f.resolved_at IS NOT NULL AND f.resolved_at - f.first_seen > {limit}");
        let mut d: Vec<(i64, i64)> = Vec::new();
        for (day, cond, sign) in [
            ("f.first_seen + {limit}", "f.resolved_at IS NULL", 1),
            ("f.first_seen + {limit}", late.as_str(), 1),
            ("f.resolved_at", late.as_str(), -1),
        ] {
            let day = day.replace("{limit}", &limit.to_string());
            d.extend(
                tx.query(
                    &format!(
                        "SELECT ({day}) / {DAY_MS}, COUNT(*) FROM findings f {join}
                         WHERE f.severity = ${n} AND {cond} AND {wh} GROUP BY 1"
                    ),
                    &p,
                )?
                .iter()
                .map(|r| (int(r, 0) * DAY_MS, sign * int(r, 1))),
            );
        }
        if !d.is_empty() {
            past.push(Series {
                name: format!("{sev} past {} d", limit / DAY_MS),
                points: running(d, &ends),
            });
        }
    }
    charts.push(Chart {
        id: "past-deadline".into(),
        title: "Open findings past their remediation deadline".into(),
        unit: "findings".into(),
        empty_because: past
            .is_empty()
            .then(|| "no finding of a severity with a deadline has been recorded".into()),
        series: past,
    });

    // time to detect and to remediate: the mean of the findings first seen (resolved) in
    // each bucket, in days
    let start = ends.first().map_or(from, |e| e - bucket_days * DAY_MS);
    let step = bucket_days * DAY_MS;
    // (series, bucket) -> (sum ms, count)
    let mut sums: BTreeMap<(&str, i64), (i64, i64)> = BTreeMap::new();
    if from_rows {
        for (name, value, at, cond) in [
            (
                "detect",
                "f.first_seen - f.introduced_at",
                "f.first_seen",
                "f.introduced_at IS NOT NULL AND f.first_seen >= f.introduced_at",
            ),
            (
                "remediate",
                "f.resolved_at - f.first_seen",
                "f.resolved_at",
                "f.resolved_at IS NOT NULL",
            ),
        ] {
            for r in tx.query(
                &format!(
                    "SELECT ({at} - {start}) / {step}, CAST(SUM({value}) AS BIGINT), COUNT(*) FROM findings f {join}
                     WHERE {cond} AND {at} >= {start} AND {wh} GROUP BY 1"
                ),
                &params,
            )? {
                sums.insert((name, int(&r, 0)), (int(&r, 1), int(&r, 2)));
            }
        }
    } else {
        let mut p = vec![Val::from(
            f.scope
                .as_deref()
                .unwrap_or(rampart_history::scan::ALL_SCOPES),
        )];
        let mut sql = format!(
            "SELECT day, series, CAST(SUM(delta) AS BIGINT) FROM trend_days
             WHERE scope = $1 AND series IN ('detect_sum', 'detect_n', 'remediate_sum', 'remediate_n') AND day >= {start}"
        );
        if let Some(layer) = &f.layer {
            p.push(Val::from(layer.as_str()));
            sql.push_str(" AND layer = $2");
        }
        sql.push_str(" GROUP BY day, series");
        for r in tx.query(&sql, &p)? {
            let bucket = (int(&r, 0) - start) / step;
            let series = text(&r, 1);
            let (name, is_n) = match series.as_str() {
                "detect_sum" => ("detect", false),
                "detect_n" => ("detect", true),
                "remediate_sum" => ("remediate", false),
                _ => ("remediate", true),
            };
            let e = sums.entry((name, bucket)).or_default();
            if is_n {
                e.1 += int(&r, 2);
            } else {
                e.0 += int(&r, 2);
            }
        }
    }
    let mut timing = Vec::new();
    for (key, title) in [
        ("detect", "time to detect"),
        ("remediate", "time to remediate"),
    ] {
        let points: Vec<Point> = sums
            .range((key, i64::MIN)..=(key, i64::MAX))
            .filter_map(|((_, b), (sum, n))| {
                let end = ends.get(usize::try_from(*b).ok()?).copied()?;
                (*n > 0).then(|| Point {
                    at: end,
                    value: *sum as f64 / *n as f64 / DAY_MS as f64,
                })
            })
            .collect();
        if !points.is_empty() {
            timing.push(Series {
                name: title.to_owned(),
                points,
            });
        }
    }
    charts.push(Chart {
        id: "drift-timing".into(),
        title: "Time to detect and to remediate (mean per bucket)".into(),
        unit: "days".into(),
        empty_because: timing
            .is_empty()
            .then(|| "no finding with a known introduction or a resolution in the period".into()),
        series: timing,
    });

    // each state's subjects over time: a span starting adds to its state and takes from the
    // state before it (the previous span of the same subject and layer)
    let mut lp = Vec::new();
    let mut lwh = vec![f.subject_sql(1, &mut lp)];
    if let Some(layer) = &f.layer {
        lp.push(Val::from(layer.as_str()));
        lwh.push(format!("l.layer = ${}", lp.len()));
    }
    let lwh = lwh.join(" AND ");
    let mut states: BTreeMap<String, Vec<(i64, i64)>> = BTreeMap::new();
    if from_rows {
        for r in tx.query(
            &format!(
                "SELECT l.since / {DAY_MS}, l.state, LAG(l.state) OVER (PARTITION BY l.subject_id, l.layer ORDER BY l.since, l.id)
                 FROM layer_states l JOIN subjects s ON s.id = l.subject_id WHERE {lwh}"
            ),
            &lp,
        )? {
            let at = int(&r, 0) * DAY_MS;
            states.entry(text(&r, 1)).or_default().push((at, 1));
            if let Some(prev) = opt_text(&r, 2) {
                states.entry(prev).or_default().push((at, -1));
            }
        }
    } else {
        states = trend_days(tx, f, "state")?;
    }
    charts.push(Chart {
        id: "layer-states".into(),
        title: match &f.layer {
            Some(l) => format!("Subjects by state of the {l} layer"),
            None => "Layers by state (subjects × layers)".into(),
        },
        unit: "layers".into(),
        empty_because: states
            .is_empty()
            .then(|| "no layer state recorded: record scans with `rampart scan --history`".into()),
        series: STATES
            .iter()
            .filter_map(|s| {
                states.remove(*s).map(|d| Series {
                    name: (*s).to_owned(),
                    points: running(d, &ends),
                })
            })
            .collect(),
    });

    // admission: the share of admitted workloads that passed every gate in enforce mode, and
    // the share admitted with a vulnerability the gate only warned or audited on (escaped),
    // per bucket
    let first_end = ends.first().copied().unwrap_or(to);
    let start = first_end - bucket_days * DAY_MS;
    let mut covered: BTreeMap<usize, Tally> = BTreeMap::new();
    for r in tx.query(
        &format!(
            "SELECT at, data FROM events WHERE kind = 'admission' AND at >= {start} AND at < {}",
            to + 1
        ),
        &[],
    )? {
        let at = int(&r, 0);
        let Ok(d) = serde_json::from_str::<rampart_history::admission::Decision>(&text(&r, 1))
        else {
            continue;
        };
        if !d.admitted() {
            continue;
        }
        if let Some(ns) = &f.namespace
            && &d.namespace != ns
        {
            continue;
        }
        let b = ((at - start) / (bucket_days * DAY_MS)) as usize;
        let e = covered.entry(b).or_default();
        e.admitted += 1;
        e.covered += u64::from(d.covered());
        e.scanned += u64::from(d.scanned());
        e.escaped += u64::from(d.scanned() && d.escaped());
    }
    let pct = |select: fn(&Tally) -> (u64, u64)| -> Vec<Point> {
        covered
            .iter()
            .filter_map(|(b, v)| {
                let (part, whole) = select(v);
                let at = *ends.get(*b)?;
                (whole > 0).then(|| Point {
                    at,
                    value: 100.0 * part as f64 / whole as f64,
                })
            })
            .collect()
    };
    let mut adm = Vec::new();
    let cov = pct(|v| (v.covered, v.admitted));
    if !cov.is_empty() {
        adm.push(Series {
            name: "policy-gate coverage".into(),
            points: cov,
        });
    }
    let esc = pct(|v| (v.escaped, v.scanned));
    if !esc.is_empty() {
        adm.push(Series {
            name: "escape rate".into(),
            points: esc,
        });
    }
    charts.push(Chart {
        id: "admission".into(),
        title: "Policy-gate coverage and escape rate of admitted workloads".into(),
        unit: "%".into(),
        empty_because: adm.is_empty().then(|| {
            "no admission decision recorded: import the webhook's audit log (`rampart history import audit.jsonl`)".into()
        }),
        series: adm,
    });
    Ok(Trends {
        from: ends.first().map_or(from, |e| e - bucket_days * DAY_MS),
        to,
        bucket_days,
        charts,
    })
}

/// The period the trends cover by default: from the first run (at most `max_days` before
/// `now`) to `now`.
pub fn default_period(
    tx: &mut Tx<'_>,
    now: i64,
    max_days: i64,
) -> Result<(i64, i64), HistoryError> {
    let first = tx
        .one("SELECT MIN(at) FROM runs", &[])?
        .and_then(|v| v.int())
        .unwrap_or(now);
    let from = first.max(now - max_days * DAY_MS).min(now);
    Ok((from, now))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_name_their_kind_and_namespace() {
        assert_eq!(
            kind_and_namespace("Deployment shop/web"),
            ("Deployment", Some("shop"))
        );
        assert_eq!(
            kind_and_namespace("Namespace legacy"),
            ("Namespace", Some("legacy"))
        );
        assert_eq!(
            kind_and_namespace("ClusterRole legacy-everything"),
            ("ClusterRole", None)
        );
        assert_eq!(
            kind_and_namespace("Image examples/images/worker"),
            ("Image", None)
        );
    }

    #[test]
    fn a_filter_round_trips_through_its_query_string() {
        let f = Filter::from_query("scope=a%20b&namespace=shop&layer=runtime&status=all&page=3")
            .unwrap();
        assert_eq!(f.scope.as_deref(), Some("a b"));
        assert_eq!(f.layer.as_deref(), Some("runtime"));
        assert_eq!(f.status, Status::All);
        assert_eq!(f.page, 3);
        assert_eq!(Filter::from_query(&f.query_with(&[])).unwrap(), f);
        let g = Filter::from_query(&f.query_with(&[("page", ""), ("layer", "host")])).unwrap();
        assert_eq!((g.page, g.layer.as_deref()), (1, Some("host")));
        assert!(Filter::from_query("layer=moat").is_err());
        assert!(Filter::from_query("page=0").is_err());
        assert!(Filter::from_query("severity=urgent").is_err());
    }

    #[test]
    fn running_sums_count_what_happened_before_each_bucket_end() {
        let ends = buckets(0, 3 * DAY_MS, DAY_MS);
        assert_eq!(ends, vec![DAY_MS, 2 * DAY_MS, 3 * DAY_MS]);
        let p = running(vec![(0, 2), (DAY_MS, -1), (2 * DAY_MS + 5, 3)], &ends);
        let v: Vec<f64> = p.iter().map(|p| p.value).collect();
        assert_eq!(v, vec![2.0, 1.0, 4.0]);
    }

    #[test]
    fn like_patterns_match_names_literally() {
        assert_eq!(like_escape("a_b%c\\"), "a\\_b\\%c\\\\");
    }
}
