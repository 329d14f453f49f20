//! The schema and its migrations. Each migration is applied once, in order, in one transaction
//! with its record in `migrations`; a store written by a newer rampart (a migration this build
//! does not know) is refused, never written to.
//!
//! Times are `BIGINT` milliseconds since the Unix epoch (UTC). `{id}` is the dialect's
//! auto-numbered primary key.

use crate::HistoryError;
use crate::sql::{Dialect, Tx, Val};

/// The identifier every rampart store carries in `meta` (a foreign database is refused).
pub const STORE_KIND: &str = "rampart-history";

/// `(version, name, DDL)`, in order.
pub const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "runs, subjects, layer state spans, findings, events",
        r#"
CREATE TABLE runs (
    id {id},
    kind TEXT NOT NULL,
    at BIGINT NOT NULL,
    recorded_at BIGINT NOT NULL,
    scope TEXT NOT NULL,
    tool_version TEXT,
    report_schema TEXT,
    repo TEXT,
    commit_id TEXT,
    commit_at BIGINT,
    cluster TEXT,
    namespace TEXT,
    image_digest TEXT,
    origin TEXT,
    complete BIGINT NOT NULL
);
CREATE INDEX runs_scope_at ON runs (scope, at);
CREATE TABLE subjects (
    id {id},
    scope TEXT NOT NULL,
    name TEXT NOT NULL,
    file TEXT,
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    UNIQUE (scope, name)
);
CREATE TABLE layer_states (
    id {id},
    subject_id BIGINT NOT NULL REFERENCES subjects (id),
    layer TEXT NOT NULL,
    state TEXT NOT NULL,
    since BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    since_run BIGINT NOT NULL REFERENCES runs (id),
    last_run BIGINT NOT NULL REFERENCES runs (id),
    current BIGINT NOT NULL
);
CREATE UNIQUE INDEX layer_states_current ON layer_states (subject_id, layer) WHERE current = 1;
CREATE INDEX layer_states_since ON layer_states (layer, since);
CREATE TABLE findings (
    id {id},
    fingerprint TEXT NOT NULL UNIQUE,
    subject_id BIGINT NOT NULL REFERENCES subjects (id),
    rule_id TEXT NOT NULL,
    layer TEXT NOT NULL,
    severity TEXT NOT NULL,
    title TEXT,
    message TEXT NOT NULL,
    location TEXT,
    suppressed BIGINT NOT NULL,
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    resolved_at BIGINT,
    first_run BIGINT NOT NULL REFERENCES runs (id),
    last_run BIGINT NOT NULL REFERENCES runs (id),
    introduced_at BIGINT,
    reopened BIGINT NOT NULL
);
CREATE INDEX findings_open ON findings (subject_id, resolved_at);
CREATE INDEX findings_rule ON findings (rule_id, first_seen);
CREATE TABLE events (
    id {id},
    run_id BIGINT REFERENCES runs (id),
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    subject_id BIGINT REFERENCES subjects (id),
    data TEXT NOT NULL
);
CREATE INDEX events_kind_at ON events (kind, at);
"#,
    ),
    (
        2,
        "events keyed by their source's id (an admission request's uid): imported once; span and age indexes; a layer's recovery kept on the span that ends it",
        r#"
ALTER TABLE events ADD COLUMN key TEXT;
CREATE UNIQUE INDEX events_key ON events (kind, key);
CREATE INDEX layer_states_subject ON layer_states (subject_id, layer, since);
ALTER TABLE layer_states ADD COLUMN down_since BIGINT;
ALTER TABLE layer_states ADD COLUMN recovered_from BIGINT;
CREATE INDEX findings_first_seen ON findings (first_seen);
"#,
    ),
    (
        3,
        "covering indexes for the finding metrics (index-only scans on PostgreSQL)",
        r#"
CREATE INDEX findings_by_severity ON findings (severity, suppressed, resolved_at, first_seen);
CREATE INDEX findings_timing ON findings (suppressed, resolved_at, first_seen, introduced_at);
"#,
    ),
    (
        4,
        "what rescans and monitor alerts are about, in columns of their events: image digest and reference, container, rule, priority, runtime drift, when rampart reported it, the worst new severity",
        r#"
ALTER TABLE events ADD COLUMN image TEXT;
ALTER TABLE events ADD COLUMN image_ref TEXT;
ALTER TABLE events ADD COLUMN container TEXT;
ALTER TABLE events ADD COLUMN rule TEXT;
ALTER TABLE events ADD COLUMN priority TEXT;
ALTER TABLE events ADD COLUMN drift BIGINT;
ALTER TABLE events ADD COLUMN reported_at BIGINT;
ALTER TABLE events ADD COLUMN level BIGINT;
CREATE INDEX events_image ON events (kind, image, at);
CREATE INDEX events_drift ON events (kind, drift, at);
"#,
    ),
    (
        5,
        "partial indexes for the recovery and layers-now metrics (read only the recovered and the current spans)",
        r#"
CREATE INDEX layer_states_recovered ON layer_states (subject_id, since, recovered_from) WHERE recovered_from IS NOT NULL;
CREATE INDEX layer_states_now ON layer_states (layer, state, subject_id) WHERE current = 1;
"#,
    ),
    (
        6,
        "daily trend rows: open findings by layer and severity, layers by state, times to detect and remediate (sums and counts), as deltas per scope and day (and for the whole store), filled from the rows already recorded",
        TREND_DAYS,
    ),
    (
        7,
        "each subject's rank in the castle (its breached and weak layers, its open critical and high findings), kept by every run: the worst-first page is an index read; findings by severity and time to resolve (the deadlines' late counts are index ranges); recoveries kept on subjects' spans only (a scope's own layer map is not a subject)",
        SUBJECT_RANKS,
    ),
];

/// Sets each subject's rank columns (migration 7) from its current spans and open findings;
/// `$where` restricts the subjects (a run re-ranks its scope's). One subquery per table, by
/// the subject's id alone (the index on `(subject_id, resolved_at)` exactly): a condition on
/// the state, the severity or `suppressed` would let a planner without statistics read that
/// index instead, for every subject.
macro_rules! rank_subjects {
    ($where:literal) => {
        concat!(
            "UPDATE subjects SET
  (breached, weak) = (SELECT COALESCE(SUM(CASE WHEN l.state = 'breached' THEN 1 ELSE 0 END), 0), COALESCE(SUM(CASE WHEN l.state = 'weak' THEN 1 ELSE 0 END), 0)
    FROM layer_states l WHERE l.subject_id = subjects.id AND l.current = 1),
  (open_critical, open_high) = (SELECT COALESCE(SUM(CASE WHEN f.severity = 'critical' AND f.suppressed = 0 THEN 1 ELSE 0 END), 0), COALESCE(SUM(CASE WHEN f.severity = 'high' AND f.suppressed = 0 THEN 1 ELSE 0 END), 0)
    FROM findings f WHERE f.subject_id = subjects.id AND f.resolved_at IS NULL)",
            $where
        )
    };
}

/// Re-ranks subjects (a run, after its spans and findings, those it changed: `WHERE` follows).
pub const RANK: &str = rank_subjects!("");

/// Re-ranks every subject (migration 7's fill; tests rerun it against what the runs kept).
pub const RANK_ALL: &str = rank_subjects!(";");

/// Migration 7: the castle's rank columns, filled, and the index its page reads in order
/// (`{bytes}`: names in byte order on PostgreSQL too, as SQLite and Rust order them).
const SUBJECT_RANKS: &str = concat!(
    r#"
ALTER TABLE subjects ADD COLUMN breached BIGINT NOT NULL DEFAULT 0;
ALTER TABLE subjects ADD COLUMN weak BIGINT NOT NULL DEFAULT 0;
ALTER TABLE subjects ADD COLUMN open_critical BIGINT NOT NULL DEFAULT 0;
ALTER TABLE subjects ADD COLUMN open_high BIGINT NOT NULL DEFAULT 0;
"#,
    rank_subjects!(";"),
    r#"
UPDATE layer_states SET recovered_from = NULL WHERE recovered_from IS NOT NULL AND subject_id IN (SELECT id FROM subjects WHERE name = '');
CREATE INDEX findings_late ON findings (severity, suppressed, (resolved_at - first_seen), first_seen, resolved_at) WHERE resolved_at IS NOT NULL;
CREATE INDEX subjects_worst ON subjects (breached DESC, weak DESC, open_critical DESC, open_high DESC, scope {bytes}, name {bytes});
"#
);

/// The backfill of the daily trend rows from what a store already holds (the same deltas
/// `scan::record_scan` writes, from the findings' first seen and resolved times and the spans'
/// starts; a finding reopened before migration 6 counts as open from its first report).
macro_rules! trend_days_fill {
    () => {
        r#"
INSERT INTO trend_days (scope, day, series, layer, name, delta)
SELECT scope, day, series, layer, name, SUM(delta) FROM (
  SELECT s.scope AS scope, (f.first_seen / 86400000) * 86400000 AS day, 'open' AS series, f.layer AS layer, f.severity AS name, 1 AS delta
    FROM findings f JOIN subjects s ON s.id = f.subject_id WHERE f.suppressed = 0
  UNION ALL
  SELECT s.scope, (f.resolved_at / 86400000) * 86400000, 'open', f.layer, f.severity, -1
    FROM findings f JOIN subjects s ON s.id = f.subject_id WHERE f.suppressed = 0 AND f.resolved_at IS NOT NULL
  UNION ALL
  SELECT s.scope, (f.first_seen / 86400000) * 86400000, 'detect_sum', f.layer, '', f.first_seen - f.introduced_at
    FROM findings f JOIN subjects s ON s.id = f.subject_id WHERE f.suppressed = 0 AND f.introduced_at IS NOT NULL AND f.first_seen >= f.introduced_at
  UNION ALL
  SELECT s.scope, (f.first_seen / 86400000) * 86400000, 'detect_n', f.layer, '', 1
    FROM findings f JOIN subjects s ON s.id = f.subject_id WHERE f.suppressed = 0 AND f.introduced_at IS NOT NULL AND f.first_seen >= f.introduced_at
  UNION ALL
  SELECT s.scope, (f.resolved_at / 86400000) * 86400000, 'remediate_sum', f.layer, '', f.resolved_at - f.first_seen
    FROM findings f JOIN subjects s ON s.id = f.subject_id WHERE f.suppressed = 0 AND f.resolved_at IS NOT NULL
  UNION ALL
  SELECT s.scope, (f.resolved_at / 86400000) * 86400000, 'remediate_n', f.layer, '', 1
    FROM findings f JOIN subjects s ON s.id = f.subject_id WHERE f.suppressed = 0 AND f.resolved_at IS NOT NULL
  UNION ALL
  SELECT s.scope, (l.since / 86400000) * 86400000, 'state', l.layer, l.state, 1
    FROM layer_states l JOIN subjects s ON s.id = l.subject_id WHERE s.name <> ''
  UNION ALL
  SELECT p.scope, p.day, 'state', p.layer, p.prev, -1 FROM (
    SELECT s.scope AS scope, (l.since / 86400000) * 86400000 AS day, l.layer AS layer,
           LAG(l.state) OVER (PARTITION BY l.subject_id, l.layer ORDER BY l.since, l.id) AS prev
    FROM layer_states l JOIN subjects s ON s.id = l.subject_id WHERE s.name <> ''
  ) p WHERE p.prev IS NOT NULL
) d GROUP BY scope, day, series, layer, name;
INSERT INTO trend_days (scope, day, series, layer, name, delta)
SELECT '', day, series, layer, name, SUM(delta) FROM trend_days GROUP BY day, series, layer, name;
"#
    };
}

/// The backfill of migration 6 (tests rerun it against what the runs wrote).
pub const TREND_DAYS_FILL: &str = trend_days_fill!();

/// Migration 6: the daily trend rows (`scan::Deltas` writes them), filled from the rows a
/// store already holds.
pub const TREND_DAYS: &str = concat!(
    r#"
CREATE TABLE trend_days (
    scope TEXT NOT NULL,
    day BIGINT NOT NULL,
    series TEXT NOT NULL,
    layer TEXT NOT NULL,
    name TEXT NOT NULL,
    delta BIGINT NOT NULL,
    PRIMARY KEY (scope, series, day, layer, name)
);
"#,
    trend_days_fill!()
);

/// The DDL of a migration in a dialect.
pub fn ddl(sql: &str, d: Dialect) -> String {
    let id = match d {
        Dialect::Sqlite => "INTEGER PRIMARY KEY",
        Dialect::Postgres => "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
    };
    sql.replace("{id}", id).replace("{bytes}", bytewise(d))
}

/// The collation that orders text by its bytes (Rust's and SQLite's order; PostgreSQL's
/// default follows the database's locale).
pub fn bytewise(d: Dialect) -> &'static str {
    match d {
        Dialect::Sqlite => "",
        Dialect::Postgres => "COLLATE \"C\"",
    }
}

/// The newest migration this build knows.
pub fn latest() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.0)
}

/// Creates the bookkeeping tables of a new store, or checks that an existing database is a
/// rampart store; then applies the migrations it lacks. Returns the versions applied.
pub fn migrate(tx: &mut Tx<'_>, now: i64) -> Result<Vec<i64>, HistoryError> {
    let d = tx.dialect();
    let tables = match d {
        Dialect::Sqlite => tx.query(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
            &[],
        )?,
        Dialect::Postgres => tx.query(
            "SELECT table_name::TEXT FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1",
            &[],
        )?,
    };
    // rampart's other stores may share the database (the fleet's `fleet_*` tables, the layer
    // cache): they are rampart's own, not a foreign application's
    let names: Vec<String> = tables
        .iter()
        .filter_map(|r| r.first().and_then(Val::text).map(str::to_owned))
        .filter(|n| !n.starts_with("fleet_") && !n.starts_with("layer_cache"))
        .collect();
    if names.is_empty() {
        tx.batch(
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL);",
        )?;
        tx.exec(
            "INSERT INTO meta (key, value) VALUES ('kind', $1)",
            &[STORE_KIND.into()],
        )?;
    } else if !names.iter().any(|n| n == "meta") {
        return Err(HistoryError::Foreign(format!(
            "it holds tables ({}) but no rampart store",
            names.join(", ")
        )));
    } else {
        let kind = tx.one("SELECT value FROM meta WHERE key = 'kind'", &[])?;
        if kind.as_ref().and_then(Val::text) != Some(STORE_KIND) {
            return Err(HistoryError::Foreign(format!(
                "its meta table says kind {:?}",
                kind.and_then(|k| k.text().map(str::to_owned))
            )));
        }
    }
    let applied: Vec<i64> = tx
        .query("SELECT version FROM migrations ORDER BY version", &[])?
        .iter()
        .filter_map(|r| r.first().and_then(Val::int))
        .collect();
    if let Some(newest) = applied.iter().max()
        && *newest > latest()
    {
        return Err(HistoryError::Newer {
            store: *newest,
            known: latest(),
        });
    }
    let mut done = Vec::new();
    for (version, name, sql) in MIGRATIONS {
        if applied.contains(version) {
            continue;
        }
        tx.batch(&ddl(sql, d))?;
        tx.exec(
            "INSERT INTO migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            &[(*version).into(), (*name).into(), now.into()],
        )?;
        done.push(*version);
    }
    Ok(done)
}
