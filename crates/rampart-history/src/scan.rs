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

    // subjects: the scope itself ("") with the layer map, then each subject
    let mut states: Vec<(String, Option<String>, BTreeMap<String, String>)> = vec![(
        String::new(),
        None,
        r.layers
            .iter()
            .map(|l| (l.layer.clone(), l.state.clone()))
            .collect(),
    )];
    for s in &r.subjects {
        states.push((s.subject.clone(), s.file.clone(), s.layers.clone()));
    }
    // subjects that only have findings (a finding's subject is always in `subjects` in
    // rampart's reports; an imported older report may differ)
    let listed: BTreeSet<&str> = states.iter().map(|s| s.0.as_str()).collect();
    let extra: BTreeSet<String> = r
        .findings
        .iter()
        .filter(|f| !listed.contains(f.subject.as_str()))
        .map(|f| f.subject.clone())
        .collect();
    for s in extra {
        states.push((s, None, BTreeMap::new()));
    }
    let mut ids: BTreeMap<String, i64> = BTreeMap::new();
    for (name, file, layers) in &states {
        let id = id_of(
            tx.one(
                "INSERT INTO subjects (scope, name, file, first_seen, last_seen) VALUES ($1, $2, $3, $4, $4)
                 ON CONFLICT (scope, name) DO UPDATE SET last_seen = excluded.last_seen, file = COALESCE(excluded.file, subjects.file)
                 RETURNING id",
                &[
                    src.scope.as_str().into(),
                    name.as_str().into(),
                    file.clone().into(),
                    at.into(),
                ],
            )?,
            "a subject",
        )?;
        ids.insert(name.clone(), id);
        out.subjects += 1;
        out.layer_changes += layer_spans(tx, id, layers, run, at)?;
    }

    // findings
    let mut seen_now: BTreeSet<String> = BTreeSet::new();
    for f in &r.findings {
        let Some(&subject_id) = ids.get(&f.subject) else {
            continue;
        };
        let fp = fingerprint(&src.scope, &f.subject, &f.rule_id, &f.message);
        if !seen_now.insert(fp.clone()) {
            continue; // the same finding twice in one report counts once
        }
        let location = f
            .location
            .as_ref()
            .map(|l| format!("{}:{}", l.file, l.line));
        let existing = tx.query(
            "SELECT id, resolved_at FROM findings WHERE fingerprint = $1",
            &[fp.as_str().into()],
        )?;
        match existing.first() {
            None => {
                tx.exec(
                    "INSERT INTO findings (fingerprint, subject_id, rule_id, layer, severity, title, message, location, suppressed, first_seen, last_seen, resolved_at, first_run, last_run, introduced_at, reopened)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, NULL, $11, $11, $12, 0)",
                    &[
                        fp.as_str().into(),
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
                        src.commit_at.into(),
                    ],
                )?;
                out.new += 1;
            }
            Some(row) => {
                let reopened = row.get(1).is_some_and(|v| *v != Val::Null);
                tx.exec(
                    "UPDATE findings SET last_seen = $2, last_run = $3, resolved_at = NULL, severity = $4, location = $5, suppressed = $6,
                     reopened = reopened + $7 WHERE fingerprint = $1",
                    &[
                        fp.as_str().into(),
                        at.into(),
                        run.into(),
                        f.severity.as_str().into(),
                        location.into(),
                        i64::from(f.suppressed.is_some()).into(),
                        i64::from(reopened).into(),
                    ],
                )?;
                if reopened {
                    out.reopened += 1;
                } else {
                    out.seen += 1;
                }
            }
        }
    }

    // resolution: open findings of the scope (of the reported subjects, after input errors)
    // that this run did not see
    let resolved = if complete {
        tx.exec(
            "UPDATE findings SET resolved_at = $1 WHERE resolved_at IS NULL AND last_run <> $2
             AND subject_id IN (SELECT id FROM subjects WHERE scope = $3)",
            &[at.into(), run.into(), src.scope.as_str().into()],
        )?
    } else {
        let mut n = 0;
        for id in ids.values() {
            n += tx.exec(
                "UPDATE findings SET resolved_at = $1 WHERE resolved_at IS NULL AND last_run <> $2 AND subject_id = $3",
                &[at.into(), run.into(), (*id).into()],
            )?;
        }
        n
    };
    out.resolved = resolved;
    Ok(out)
}

/// Extends or replaces the current span of each layer of a subject; layers no longer assessed
/// become `not-assessed`. Returns the spans opened.
fn layer_spans(
    tx: &mut Tx<'_>,
    subject: i64,
    layers: &BTreeMap<String, String>,
    run: i64,
    at: i64,
) -> Result<u64, HistoryError> {
    let current: BTreeMap<String, String> = tx
        .query(
            "SELECT layer, state FROM layer_states WHERE subject_id = $1 AND current = 1",
            &[subject.into()],
        )?
        .into_iter()
        .filter_map(|r| {
            let mut it = r.into_iter();
            let layer = it.next()?.text()?.to_owned();
            let state = it.next()?.text()?.to_owned();
            Some((layer, state))
        })
        .collect();
    let mut wanted = layers.clone();
    for layer in current.keys() {
        wanted
            .entry(layer.clone())
            .or_insert_with(|| "not-assessed".to_owned());
    }
    let mut opened = 0;
    for (layer, state) in &wanted {
        if current.get(layer) == Some(state) {
            tx.exec(
                "UPDATE layer_states SET last_seen = $3, last_run = $4 WHERE subject_id = $1 AND layer = $2 AND current = 1",
                &[subject.into(), layer.as_str().into(), at.into(), run.into()],
            )?;
            continue;
        }
        tx.exec(
            "UPDATE layer_states SET current = 0 WHERE subject_id = $1 AND layer = $2 AND current = 1",
            &[subject.into(), layer.as_str().into()],
        )?;
        tx.exec(
            "INSERT INTO layer_states (subject_id, layer, state, since, last_seen, since_run, last_run, current)
             VALUES ($1, $2, $3, $4, $4, $5, $5, 1)",
            &[
                subject.into(),
                layer.as_str().into(),
                state.as_str().into(),
                at.into(),
                run.into(),
            ],
        )?;
        opened += 1;
    }
    Ok(opened)
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
