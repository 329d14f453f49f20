//! Recording a scan report (`rampart scan --format json`, report schema 1.x): its run, each
//! subject's layer states as change-only spans, each finding by fingerprint.
//!
//! - **Scope.** A run covers a scope: the repository (and the path scanned in it) when the
//!   scan ran in a git work tree, else the path as given (or what the caller names). Subjects
//!   are keyed by scope and name, so two repositories never share a `Deployment/shop/web`.
//! - **Layer states.** For each subject (and for the scope as a whole, subject `""`, from the
//!   report's layer map) and layer, the current span is extended while the state is unchanged;
//!   a change closes it and opens a new one. A layer the report no longer assesses on a subject
//!   gets the state `not-assessed`.
//! - **Findings.** The fingerprint is SHA-256 of scope, subject, rule id and message: stable
//!   across runs when the file moves or lines shift, distinct for two containers of one
//!   workload (the message names the container). A finding seen again extends `last_seen`; one
//!   seen after it was resolved is reopened. A finding of the scope not seen by a complete run
//!   is resolved at the run's time. A run with input errors (a file that did not parse)
//!   resolves only findings of the subjects it did report: an unreadable file never makes its
//!   findings look fixed.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::sql::{Tx, Val};
use crate::{HistoryError, Store};

/// Where a run comes from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Source {
    /// what the run covers (a repository and path, a directory, a cluster)
    pub scope: String,
    /// the repository (remote URL or top-level directory)
    pub repo: Option<String>,
    /// the commit scanned
    pub commit: Option<String>,
    /// the commit's time (ms since the epoch): when a configuration change was introduced
    pub commit_at: Option<i64>,
    /// the cluster
    pub cluster: Option<String>,
    /// the namespace
    pub namespace: Option<String>,
    /// the image digest scanned
    pub image_digest: Option<String>,
    /// the file the record was imported from
    pub origin: Option<String>,
}

/// What recording a run changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Recorded {
    /// the run's id
    pub run: i64,
    /// subjects in the report (the scope itself included)
    pub subjects: u64,
    /// layer states that changed (or were first seen)
    pub layer_changes: u64,
    /// findings never seen before
    pub new: u64,
    /// findings seen again
    pub seen: u64,
    /// findings seen again after they were resolved
    pub reopened: u64,
    /// findings resolved by this run
    pub resolved: u64,
}

/// The report schema major version this build reads.
pub const REPORT_MAJOR: &str = "1";

#[derive(Deserialize)]
struct Report {
    schema_version: String,
    tool: Tool,
    #[serde(default)]
    layers: Vec<LayerEntry>,
    #[serde(default)]
    subjects: Vec<SubjectEntry>,
    #[serde(default)]
    findings: Vec<FindingEntry>,
    #[serde(default)]
    errors: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct Tool {
    version: String,
}

#[derive(Deserialize)]
struct LayerEntry {
    layer: String,
    state: String,
}

#[derive(Deserialize)]
struct SubjectEntry {
    subject: String,
    #[serde(default)]
    file: Option<String>,
    #[serde(default)]
    layers: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct FindingEntry {
    rule_id: String,
    #[serde(default)]
    title: Option<String>,
    severity: String,
    layer: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    location: Option<Location>,
    message: String,
    #[serde(default)]
    suppressed: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Location {
    file: String,
    #[serde(default)]
    line: u64,
}

/// A finding's fingerprint.
pub fn fingerprint(scope: &str, subject: &str, rule_id: &str, message: &str) -> String {
    let mut h = Sha256::new();
    for part in [scope, subject, rule_id, message] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    let d = h.finalize();
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Text as both databases store it: PostgreSQL's TEXT holds no NUL character, so one (from a
/// hostile file name or message) becomes U+FFFD, the same in SQLite.
fn clean(s: &str) -> String {
    s.replace('\0', "\u{FFFD}")
}

/// Checks a report's schema and reads it.
fn parse(report: &serde_json::Value, origin: &str) -> Result<Report, HistoryError> {
    let err = |message: String| HistoryError::Report {
        origin: origin.to_owned(),
        message,
    };
    let version = report
        .get("schema_version")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| err("not a rampart scan report (no schema_version)".into()))?;
    let major = version.split('.').next().unwrap_or("");
    if major != REPORT_MAJOR {
        return Err(err(format!(
            "report schema version {version}: this rampart reads {REPORT_MAJOR}.x"
        )));
    }
    let mut r =
        Report::deserialize(report).map_err(|e| err(format!("report schema {version}: {e}")))?;
    for s in &mut r.subjects {
        s.subject = clean(&s.subject);
        s.file = s.file.as_deref().map(clean);
    }
    for f in &mut r.findings {
        f.subject = clean(&f.subject);
        f.message = clean(&f.message);
        f.rule_id = clean(&f.rule_id);
        f.title = f.title.as_deref().map(clean);
        if let Some(l) = &mut f.location {
            l.file = clean(&l.file);
        }
    }
    Ok(r)
}

/// Records one scan report in one transaction. `at` is the scan's time (ms since the epoch).
pub fn record_scan(
    store: &mut Store,
    report: &serde_json::Value,
    source: &Source,
    at: i64,
) -> Result<Recorded, HistoryError> {
    let origin = source.origin.as_deref().unwrap_or(&source.scope);
    let r = parse(report, origin)?;
    let now = crate::now_ms();
    store.write(|tx| record(tx, &r, source, at, now))
}

fn id_of(v: Option<Val>, what: &str) -> Result<i64, HistoryError> {
    v.and_then(|v| v.int())
        .ok_or_else(|| HistoryError::Sqlite(format!("no id returned for {what}")))
}

fn record(
    tx: &mut Tx<'_>,
    r: &Report,
    src: &Source,
    at: i64,
    now: i64,
) -> Result<Recorded, HistoryError> {
    let complete = r.errors.is_empty();
    let run = id_of(
        tx.one(
            "INSERT INTO runs (kind, at, recorded_at, scope, tool_version, report_schema, repo, commit_id, commit_at, cluster, namespace, image_digest, origin, complete)
             VALUES ('scan', $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
            &[
                at.into(),
                now.into(),
                src.scope.as_str().into(),
                r.tool.version.as_str().into(),
                r.schema_version.as_str().into(),
                src.repo.clone().into(),
                src.commit.clone().into(),
                src.commit_at.into(),
                src.cluster.clone().into(),
                src.namespace.clone().into(),
                src.image_digest.clone().into(),
                src.origin.clone().into(),
                i64::from(complete).into(),
            ],
        )?,
        "the run",
    )?;
    let mut out = Recorded {
        run,
        ..Recorded::default()
    };
    // A finding first seen by a scope's first run was there before the history began: its
    // introduction is unknown. Later, it came with the change this run scanned: the commit's
    // time (unknown outside git).
    let prior = tx
        .one(
            "SELECT COUNT(*) FROM runs WHERE scope = $1 AND kind = 'scan' AND id <> $2",
            &[src.scope.as_str().into(), run.into()],
        )?
        .and_then(|v| v.int())
        .unwrap_or(0);
    let introduced_at = if prior > 0 { src.commit_at } else { None };

    // subjects: the scope itself ("") with the layer map, then each subject
    let mut states: Vec<(String, Option<String>, BTreeMap<String, String>)> = vec![(
        String::new(),
        None,
        r.layers
            .iter()
            .map(|l| (l.layer.clone(), l.state.clone()))
            .collect(),
    )];
    let mut listed: BTreeSet<String> = BTreeSet::from([String::new()]);
    for s in &r.subjects {
        if listed.insert(s.subject.clone()) {
            states.push((s.subject.clone(), s.file.clone(), s.layers.clone()));
        }
    }
    // subjects that only have findings (a finding's subject is always in `subjects` in
    // rampart's reports; an imported older report may differ)
    for f in &r.findings {
        if listed.insert(f.subject.clone()) {
            states.push((f.subject.clone(), None, BTreeMap::new()));
        }
    }
    // Statements carry many rows each (a round trip per row is what a server cannot afford).
    let mut ids: BTreeMap<String, i64> = BTreeMap::new();
    for chunk in states.chunks(CHUNK) {
        let mut params = Vec::with_capacity(chunk.len() * 4);
        for (name, file, _) in chunk {
            params.extend([
                Val::from(src.scope.as_str()),
                Val::from(name.as_str()),
                Val::from(file.clone()),
                Val::from(at),
            ]);
        }
        let rows = tx.query(
            &format!(
                "INSERT INTO subjects (scope, name, file, first_seen, last_seen) VALUES {}
                 ON CONFLICT (scope, name) DO UPDATE SET last_seen = excluded.last_seen, file = COALESCE(excluded.file, subjects.file)
                 RETURNING id, name",
                values(chunk.len(), 4, &[4], "")
            ),
            &params,
        )?;
        for row in rows {
            if let (Some(id), Some(name)) = (
                row.first().and_then(Val::int),
                row.get(1).and_then(Val::text),
            ) {
                ids.insert(name.to_owned(), id);
            }
        }
    }
    out.subjects = ids.len() as u64;
    let id_list = ids
        .values()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let mut deltas = Deltas::new();
    // the subjects whose rank in the castle may change: spans opened, findings new, reopened,
    // resolved, or of another severity or suppression
    let opened = layer_spans(tx, &ids, &id_list, &states, run, at, &mut deltas)?;
    out.layer_changes = opened.len() as u64;
    let mut touched: BTreeSet<i64> = opened.into_iter().collect();

    // findings: what the store knows of this scope's, then one upsert per chunk
    let known: BTreeMap<String, Known> = tx
        .query(
            "SELECT f.fingerprint, f.resolved_at, f.layer, f.severity, f.suppressed FROM findings f JOIN subjects s ON s.id = f.subject_id WHERE s.scope = $1",
            &[src.scope.as_str().into()],
        )?
        .into_iter()
        .filter_map(|row| {
            let mut it = row.into_iter();
            let fp = it.next()?.text()?.to_owned();
            let resolved = it.next().is_some_and(|v| v != Val::Null);
            let layer = it.next()?.text()?.to_owned();
            let severity = it.next()?.text()?.to_owned();
            let suppressed = it.next().and_then(|v| v.int()).unwrap_or(0) != 0;
            Some((
                fp,
                Known {
                    resolved,
                    layer,
                    severity,
                    suppressed,
                },
            ))
        })
        .collect();
    let mut seen_now: BTreeSet<String> = BTreeSet::new();
    let mut rows: Vec<Vec<Val>> = Vec::new();
    for f in &r.findings {
        let Some(&subject_id) = ids.get(&f.subject) else {
            continue;
        };
        let fp = fingerprint(&src.scope, &f.subject, &f.rule_id, &f.message);
        if !seen_now.insert(fp.clone()) {
            continue; // the same finding twice in one report counts once
        }
        let old = known.get(&fp);
        if old.is_none_or(|k| {
            k.resolved || k.severity != f.severity || k.suppressed != f.suppressed.is_some()
        }) {
            touched.insert(subject_id);
        }
        match old {
            None => out.new += 1,
            Some(k) if k.resolved => out.reopened += 1,
            Some(_) => out.seen += 1,
        }
        // open, unsuppressed findings by layer (kept from the first report) and severity
        if let Some(k) = old.filter(|k| !k.resolved && !k.suppressed) {
            deltas.add("open", &k.layer, &k.severity, -1);
        }
        if f.suppressed.is_none() {
            let layer = old.map_or(f.layer.as_str(), |k| k.layer.as_str());
            deltas.add("open", layer, &f.severity, 1);
            // time to detect, summed per day of the first report (the mean is sum / n)
            if old.is_none()
                && let Some(t) = introduced_at.filter(|t| at >= *t)
            {
                deltas.add("detect_sum", layer, "", at - t);
                deltas.add("detect_n", layer, "", 1);
            }
        }
        let location = f
            .location
            .as_ref()
            .map(|l| format!("{}:{}", l.file, l.line));
        rows.push(vec![
            fp.into(),
            subject_id.into(),
            f.rule_id.as_str().into(),
            f.layer.as_str().into(),
            f.severity.as_str().into(),
            f.title.clone().into(),
            f.message.as_str().into(),
            location.into(),
            i64::from(f.suppressed.is_some()).into(),
            at.into(),
            run.into(),
            introduced_at.into(),
        ]);
    }
    for chunk in rows.chunks(CHUNK) {
        let params: Vec<Val> = chunk.iter().flatten().cloned().collect();
        tx.exec(
            &format!(
                "INSERT INTO findings (fingerprint, subject_id, rule_id, layer, severity, title, message, location, suppressed, first_seen, first_run, introduced_at, last_seen, last_run, resolved_at, reopened)
                 VALUES {}
                 ON CONFLICT (fingerprint) DO UPDATE SET last_seen = excluded.last_seen, last_run = excluded.last_run,
                   reopened = findings.reopened + CASE WHEN findings.resolved_at IS NULL THEN 0 ELSE 1 END,
                   resolved_at = NULL, severity = excluded.severity, location = excluded.location, suppressed = excluded.suppressed",
                values(chunk.len(), 12, &[10, 11], "NULL, 0")
            ),
            &params,
        )?;
    }

    // resolution: open findings of the scope (of the reported subjects, after input errors)
    // that this run did not see
    let resolved = if complete {
        tx.query(
            "UPDATE findings SET resolved_at = $1 WHERE resolved_at IS NULL AND last_run <> $2
             AND subject_id IN (SELECT id FROM subjects WHERE scope = $3)
             RETURNING layer, severity, suppressed, first_seen, subject_id",
            &[at.into(), run.into(), src.scope.as_str().into()],
        )?
    } else {
        tx.query(
            &format!(
                "UPDATE findings SET resolved_at = $1 WHERE resolved_at IS NULL AND last_run <> $2 AND subject_id IN ({id_list})
                 RETURNING layer, severity, suppressed, first_seen, subject_id"
            ),
            &[at.into(), run.into()],
        )?
    };
    out.resolved = resolved.len() as u64;
    for r in &resolved {
        touched.extend(r.get(4).and_then(Val::int));
        let text = |i: usize| r.get(i).and_then(Val::text).unwrap_or_default();
        if r.get(2).and_then(Val::int) == Some(0) {
            deltas.add("open", text(0), text(1), -1);
            // time to remediate, summed per day of the resolution
            if let Some(first) = r.get(3).and_then(Val::int) {
                deltas.add("remediate_sum", text(0), "", at - first);
                deltas.add("remediate_n", text(0), "", 1);
            }
        }
    }
    deltas.write(tx, &src.scope, at)?;
    if !touched.is_empty() {
        // the store's own integers, written as literals
        let list = touched
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        tx.exec(
            &format!("{} WHERE id IN ({list})", crate::schema::RANK),
            &[],
        )?;
    }
    Ok(out)
}

/// What the store knew of a finding before this run.
struct Known {
    resolved: bool,
    layer: String,
    severity: String,
    suppressed: bool,
}

/// The scope used for the trend rows of the whole store.
pub const ALL_SCOPES: &str = "";

/// A run's changes to the daily trend rows (`trend_days`): open, unsuppressed findings by
/// layer and severity (`open`), subjects' layers by state (`state`), the times to detect and
/// to remediate summed with their counts (`detect_sum`, `detect_n`, `remediate_sum`,
/// `remediate_n`, by layer), as deltas on the run's UTC day, for its scope and for the whole
/// store. The dashboard's trends sum them instead of
/// reading every finding and span (docs/dashboard.md).
pub struct Deltas(BTreeMap<(&'static str, String, String), i64>);

impl Deltas {
    fn new() -> Self {
        Deltas(BTreeMap::new())
    }

    fn add(&mut self, series: &'static str, layer: &str, name: &str, d: i64) {
        *self
            .0
            .entry((series, layer.to_owned(), name.to_owned()))
            .or_default() += d;
    }

    fn write(self, tx: &mut Tx<'_>, scope: &str, at: i64) -> Result<(), HistoryError> {
        let day = at.div_euclid(crate::metrics::DAY_MS) * crate::metrics::DAY_MS;
        let rows: Vec<Vec<Val>> = self
            .0
            .into_iter()
            .filter(|(_, d)| *d != 0)
            .flat_map(|((series, layer, name), d)| {
                [scope, ALL_SCOPES].map(|sc| {
                    vec![
                        Val::from(sc),
                        Val::from(day),
                        Val::from(series),
                        Val::from(layer.as_str()),
                        Val::from(name.as_str()),
                        Val::from(d),
                    ]
                })
            })
            .collect();
        for chunk in rows.chunks(CHUNK) {
            let params: Vec<Val> = chunk.iter().flatten().cloned().collect();
            tx.exec(
                &format!(
                    "INSERT INTO trend_days (scope, day, series, layer, name, delta) VALUES {}
                     ON CONFLICT (scope, series, day, layer, name) DO UPDATE SET delta = trend_days.delta + excluded.delta",
                    values(chunk.len(), 6, &[], "")
                ),
                &params,
            )?;
        }
        Ok(())
    }
}

/// Rows per statement: well under SQLite's 32,766 and PostgreSQL's 65,535 parameters.
const CHUNK: usize = 400;

/// `($1, $2, ...), (...)`: `rows` rows of `cols` parameters each, then in each row the
/// parameters at the 1-based positions `repeat` again (a value written to two columns), then
/// the constant `tail` (`NULL, 0`; empty for none).
fn values(rows: usize, cols: usize, repeat: &[usize], tail: &str) -> String {
    (0..rows)
        .map(|r| {
            let base = r * cols;
            let mut parts: Vec<String> = (1..=cols).map(|c| format!("${}", base + c)).collect();
            parts.extend(repeat.iter().map(|c| format!("${}", base + c)));
            if !tail.is_empty() {
                parts.push(tail.to_owned());
            }
            format!("({})", parts.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Extends the current spans of the run's subjects whose state is unchanged, closes the
/// changed ones and opens their successors (layers no longer assessed become
/// `not-assessed`). Returns the subject of each span opened.
fn layer_spans(
    tx: &mut Tx<'_>,
    ids: &BTreeMap<String, i64>,
    id_list: &str,
    states: &[(String, Option<String>, BTreeMap<String, String>)],
    run: i64,
    at: i64,
    deltas: &mut Deltas,
) -> Result<Vec<i64>, HistoryError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // the current span of each (subject, layer): its state and, while weak or breached, when
    // the layer stopped holding
    let mut current: BTreeMap<(i64, String), String> = BTreeMap::new();
    let mut down: BTreeMap<(i64, String), i64> = BTreeMap::new();
    for row in tx.query(
        &format!(
            "SELECT subject_id, layer, state, down_since FROM layer_states WHERE current = 1 AND subject_id IN ({id_list})"
        ),
        &[],
    )? {
        let mut it = row.into_iter();
        if let (Some(id), Some(layer), Some(state)) = (
            it.next().and_then(|v| v.int()),
            it.next().and_then(|v| v.text().map(str::to_owned)),
            it.next().and_then(|v| v.text().map(str::to_owned)),
        ) {
            if let Some(d) = it.next().and_then(|v| v.int()) {
                down.insert((id, layer.clone()), d);
            }
            current.insert((id, layer), state);
        }
    }
    let mut changed: Vec<(i64, String)> = Vec::new();
    let mut opened: Vec<(i64, String, String)> = Vec::new();
    for (name, _, layers) in states {
        let Some(&id) = ids.get(name) else { continue };
        let mut wanted = layers.clone();
        for ((sid, layer), _) in current.range((id, String::new())..) {
            if *sid != id {
                break;
            }
            wanted
                .entry(layer.clone())
                .or_insert_with(|| "not-assessed".to_owned());
        }
        for (layer, state) in wanted {
            match current.get(&(id, layer.clone())) {
                Some(s) if *s == state => {}
                Some(_) => {
                    changed.push((id, layer.clone()));
                    opened.push((id, layer, state));
                }
                None => opened.push((id, layer, state)),
            }
        }
    }
    // the day's layer states: a span opened adds to its state and takes from the one it ends
    // (the scope's own layer map, subject "", is not a subject)
    let scope_id = ids.get("").copied();
    for (id, layer, state) in &opened {
        if Some(*id) == scope_id {
            continue;
        }
        deltas.add("state", layer, state, 1);
        if let Some(prev) = current.get(&(*id, layer.clone())) {
            deltas.add("state", layer, prev, -1);
        }
    }
    // close the changed spans, extend what is left current, then open the new spans
    for chunk in changed.chunks(CHUNK) {
        // the ids are the store's own integers, written as literals: a VALUES list has no
        // column types for PostgreSQL to infer a parameter's from
        let params: Vec<Val> = chunk
            .iter()
            .map(|(_, layer)| Val::from(layer.as_str()))
            .collect();
        let list = chunk
            .iter()
            .enumerate()
            .map(|(i, (id, _))| format!("({id}, ${})", i + 1))
            .collect::<Vec<_>>()
            .join(", ");
        tx.exec(
            &format!(
                "UPDATE layer_states SET current = 0 WHERE current = 1 AND (subject_id, layer) IN (VALUES {list})"
            ),
            &params,
        )?;
    }
    tx.exec(
        &format!(
            "UPDATE layer_states SET last_seen = $1, last_run = $2 WHERE current = 1 AND subject_id IN ({id_list})"
        ),
        &[at.into(), run.into()],
    )?;
    // A weak or breached span carries when the layer stopped holding (its own start, or its
    // predecessor's when that was weak or breached too); a holding span after one carries it
    // as `recovered_from`: the recovery metric is then a plain read (docs/metrics.md gives the
    // query over the spans alone that recomputes it).
    let down_state = |s: &str| matches!(s, "weak" | "breached");
    for chunk in opened.chunks(CHUNK) {
        let mut params = Vec::with_capacity(chunk.len() * 7);
        for (id, layer, state) in chunk {
            let key = (*id, layer.clone());
            let prev_down = current
                .get(&key)
                .filter(|s| down_state(s))
                .map(|_| down.get(&key).copied().unwrap_or(at));
            let (down_since, recovered_from) = if down_state(state) {
                (Some(prev_down.unwrap_or(at)), None)
            } else if state == "holds" && Some(*id) != scope_id {
                // a recovery is a subject's (the scope's own layer map is not a subject)
                (None, prev_down)
            } else {
                (None, None)
            };
            params.extend([
                Val::from(*id),
                Val::from(layer.as_str()),
                Val::from(state.as_str()),
                Val::from(at),
                Val::from(run),
                Val::from(down_since),
                Val::from(recovered_from),
            ]);
        }
        tx.exec(
            &format!(
                "INSERT INTO layer_states (subject_id, layer, state, since, since_run, down_since, recovered_from, last_seen, last_run, current) VALUES {}",
                values(chunk.len(), 7, &[4, 5], "1")
            ),
            &params,
        )?;
    }
    Ok(opened.into_iter().map(|(id, _, _)| id).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_separate_their_parts() {
        let a = fingerprint("repo", "Deployment/a", "K8S001", "x");
        assert_eq!(a.len(), 64);
        assert_eq!(a, fingerprint("repo", "Deployment/a", "K8S001", "x"));
        // the separator keeps "ab"+"c" apart from "a"+"bc"
        assert_ne!(
            fingerprint("repo", "ab", "c", "x"),
            fingerprint("repo", "a", "bc", "x")
        );
    }

    #[test]
    fn reports_of_another_major_version_are_refused() {
        let v = serde_json::json!({"schema_version": "2.0", "tool": {"version": "9"}});
        let e = parse(&v, "old.json").err().unwrap().to_string();
        assert!(e.contains("old.json") && e.contains("2.0"), "{e}");
        let v = serde_json::json!({"hello": 1});
        assert!(parse(&v, "x.json").is_err());
    }
}
