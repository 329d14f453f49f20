//! The confidence metrics (docs/metrics.md), computed from the raw rows so anyone can
//! recompute them: each is a query over `findings`, `layer_states` and `events` (scans,
//! admission decisions, inventory rescans, the monitor's alerts), summarised here. A metric without input is [`Measure::NotMeasured`] with the reason: zero and unknown
//! are never confused.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::sql::{Dialect, Tx, Val};
use crate::{HistoryError, Store};

/// One day in milliseconds.
pub const DAY_MS: i64 = 86_400_000;

/// What to compute.
#[derive(Debug, Clone)]
pub struct Options {
    /// "now" (ms since the epoch): ages and deadlines are measured to it
    pub now: i64,
    /// only this scope
    pub scope: Option<String>,
    /// only findings first seen (and layer spans started) at or after this time
    pub since: Option<i64>,
    /// remediation deadline per severity (ms); severities without one have none
    pub deadlines: BTreeMap<String, i64>,
    /// the escape rate found later counts new vulnerabilities at or above this severity
    /// (`critical`, `high`, `medium`, `low`, `info`)
    pub escape_threshold: String,
    /// list every open finding past its deadline (`breaches`); the counts are there either
    /// way (the dashboard's pages show only the counts)
    pub list_breaches: bool,
}

impl Options {
    /// The defaults: now, every scope, all time, 7 days for critical and 30 for high.
    pub fn new(now: i64) -> Self {
        Options {
            now,
            scope: None,
            since: None,
            deadlines: default_deadlines(),
            escape_threshold: "high".to_owned(),
            list_breaches: true,
        }
    }
}

/// 7 days for critical findings, 30 for high (the common policy: CISA BOD 19-02's 15/30 days
/// tightened for critical, as most programs do).
pub fn default_deadlines() -> BTreeMap<String, i64> {
    BTreeMap::from([
        ("critical".to_owned(), 7 * DAY_MS),
        ("high".to_owned(), 30 * DAY_MS),
    ])
}

/// A duration metric over a population.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Measure {
    /// measured over `count` cases
    Measured {
        /// how many cases
        count: u64,
        /// mean, seconds
        mean_seconds: f64,
        /// median (nearest rank), seconds
        p50_seconds: f64,
        /// 90th percentile (nearest rank), seconds
        p90_seconds: f64,
        /// the longest, seconds
        max_seconds: f64,
    },
    /// nothing to measure, and why
    NotMeasured {
        /// why
        why: String,
    },
}

impl Measure {
    /// From durations in milliseconds (negative ones dropped: a clock out of order is not a
    /// measurement).
    pub fn of(mut ms: Vec<i64>, why_none: &str) -> Measure {
        ms.retain(|v| *v >= 0);
        let n = ms.len();
        if n == 0 {
            return Measure::NotMeasured {
                why: why_none.to_owned(),
            };
        }
        // the two ranks by selection, not a sort (a year holds half a million durations)
        let (k50, k90) = (nearest_rank(0.5, n), nearest_rank(0.9, n));
        let p90 = *ms.select_nth_unstable(k90 - 1).1;
        let p50 = if k50 < k90 {
            *ms[..k90 - 1].select_nth_unstable(k50 - 1).1
        } else {
            p90
        };
        let sum: i128 = ms.iter().map(|v| i128::from(*v)).sum();
        let max = ms.iter().copied().max().unwrap_or(0);
        Measure::from_stats(n as u64, sum, p50, p90, max)
    }

    /// From a population's count, sum, nearest-rank median and 90th percentile, and maximum
    /// (ms; `count` > 0).
    fn from_stats(count: u64, sum: i128, p50: i64, p90: i64, max: i64) -> Measure {
        Measure::Measured {
            count,
            mean_seconds: (sum as f64 / count.max(1) as f64) / 1000.0,
            p50_seconds: p50 as f64 / 1000.0,
            p90_seconds: p90 as f64 / 1000.0,
            max_seconds: max as f64 / 1000.0,
        }
    }
}

/// The nearest rank of the quantile `q` of `n` values (1-based): the smallest rank with at
/// least `q` of the values at or below it (PostgreSQL's `percentile_disc`).
fn nearest_rank(q: f64, n: usize) -> usize {
    ((q * n as f64).ceil() as usize).clamp(1, n)
}

/// A duration metric over `value` (ms) of the rows of `from` (`FROM ... WHERE ...`),
/// negative values left out. PostgreSQL ranks on the server (its `percentile_disc` is the
/// nearest rank) and sends five numbers; SQLite, which has no ordered-set aggregate, reads
/// the values in place for [`Measure::of`].
fn measure(
    tx: &mut Tx<'_>,
    value: &str,
    from: &str,
    params: &[Val],
    why_none: &str,
) -> Result<Measure, HistoryError> {
    match tx.dialect() {
        Dialect::Sqlite => Ok(Measure::of(
            tx.ints(&format!("SELECT {value} {from}"), params)?,
            why_none,
        )),
        Dialect::Postgres => {
            let row = tx
                .query(
                    // both ranks from one sort (the array form), read out of the array
                    &format!(
                        "SELECT n, s, m, p[1], p[2] FROM (
                           SELECT COUNT(*) AS n, CAST(SUM(v) AS BIGINT) AS s, MAX(v) AS m,
                             percentile_disc(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY v) AS p
                           FROM (SELECT {value} AS v {from}) d WHERE v >= 0) x"
                    ),
                    params,
                )?
                .into_iter()
                .next()
                .unwrap_or_default();
            let at = |i: usize| row.get(i).and_then(Val::int).unwrap_or(0);
            Ok(if at(0) > 0 {
                Measure::from_stats(at(0) as u64, i128::from(at(1)), at(3), at(4), at(2))
            } else {
                Measure::NotMeasured {
                    why: why_none.to_owned(),
                }
            })
        }
    }
}

/// A ratio metric.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Ratio {
    /// `part` of `whole`
    Measured {
        /// the cases counted
        part: u64,
        /// the population
        whole: u64,
        /// part / whole
        ratio: f64,
    },
    /// nothing to measure, and why
    NotMeasured {
        /// why
        why: String,
    },
}

/// The deadline account of one severity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deadline {
    /// the severity
    pub severity: String,
    /// its deadline, days
    pub days: i64,
    /// open findings of it
    pub open: u64,
    /// open past the deadline
    pub breached: u64,
    /// resolved, but after the deadline
    pub resolved_late: u64,
}

/// An open finding past its deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Breach {
    /// the scope
    pub scope: String,
    /// the subject
    pub subject: String,
    /// the rule
    pub rule_id: String,
    /// the severity
    pub severity: String,
    /// the message
    pub message: String,
    /// first seen (ms since the epoch)
    pub first_seen: i64,
    /// days open
    pub age_days: i64,
    /// the deadline, days
    pub deadline_days: i64,
}

/// Counts over the period, by a key.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Counts {
    /// counted (zero is a count: the input was there and held none)
    Measured {
        /// every case
        total: u64,
        /// cases per key
        by: BTreeMap<String, u64>,
    },
    /// nothing to count, and why
    NotMeasured {
        /// why
        why: String,
    },
}

/// The runtime drift of one image: containers of it that ran or wrote what it does not hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DriftImage {
    /// the image digest, else its reference, else `unknown` (the alert named no image)
    pub image: String,
    /// its reference, when an alert carried one
    pub reference: Option<String>,
    /// containers with drift
    pub containers: u64,
    /// drift alerts
    pub alerts: u64,
    /// the first drift (ms since the epoch)
    pub first_seen: i64,
    /// the last drift (ms since the epoch)
    pub last_seen: i64,
}

/// Open runtime drift per image.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum OpenDrift {
    /// the images with drift (none is a measurement: the monitor's alerts were recorded)
    Measured {
        /// by image, most containers first
        images: Vec<DriftImage>,
    },
    /// nothing to measure, and why
    NotMeasured {
        /// why
        why: String,
    },
}

/// How many subjects are in each state of a layer now.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LayerNow {
    /// the layer
    pub layer: String,
    /// subjects per state (`holds`, `weak`, `breached`, `partly-assessed`, `not-assessed`)
    pub states: BTreeMap<String, u64>,
}

/// Every metric.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metrics {
    /// when computed (ms since the epoch)
    pub now: i64,
    /// the scope, when one was asked
    pub scope: Option<String>,
    /// runs recorded, by kind
    pub runs: BTreeMap<String, u64>,
    /// time to detect configuration drift: from the change (its commit) to rampart's first
    /// report of the finding
    pub detect: Measure,
    /// time to remediate: from the first report to the run that no longer found it
    pub remediate: Measure,
    /// time for a layer to hold again: from the start of a weak or breached span to the start
    /// of the next holding span of the same subject and layer
    pub recover: Measure,
    /// open, unsuppressed findings by severity
    pub open: BTreeMap<String, u64>,
    /// remediation deadlines
    pub deadlines: Vec<Deadline>,
    /// open findings past their deadline, oldest first
    pub breaches: Vec<Breach>,
    /// each layer's subjects by state, now
    pub layers: Vec<LayerNow>,
    /// policy-gate coverage: admitted workloads that passed every gate in enforce mode
    pub gate_coverage: Ratio,
    /// per gate: admitted workloads that passed it in enforce mode
    pub gate_coverage_by_gate: BTreeMap<String, Ratio>,
    /// namespaces whose every admitted workload passed every gate in enforce mode
    pub namespaces_enforced: Ratio,
    /// admitted workloads whose images passed the signatures and the vulnerabilities gates in
    /// enforce mode (signed and scanned before admission)
    pub signed_and_scanned: Ratio,
    /// vulnerable-artifact escape rate: admitted images carrying a known vulnerability at or
    /// above the threshold when admitted
    pub escape_rate: Ratio,
    /// escape rate found later: of the images admitted (else scanned) that an inventory rescan
    /// looked at afterwards, those a rescan after their admission (else their scan) found a
    /// new vulnerability at or above the threshold in
    pub escape_rate_later: Ratio,
    /// the severity the escape rate found later counts from
    pub escape_threshold: String,
    /// admitted image references no rescan looked at after their admission: outside the
    /// escape rate found later (unknown, not safe)
    pub admitted_not_rescanned: u64,
    /// runtime drift time to detect: from the event (the exec, the write) to the alert being
    /// reported; the monitor writes one time per alert, so the end is when the alert reached
    /// the store (docs/metrics.md)
    pub drift_detect_runtime: Measure,
    /// the monitor's alerts over the period, by rule
    pub alerts_by_rule: Counts,
    /// the monitor's alerts over the period, by priority
    pub alerts_by_priority: Counts,
    /// runtime drift per image over the period (containers are not reported gone: drift of a
    /// replaced container stays in the figure until `--since` leaves it out)
    pub open_drift: OpenDrift,
}

fn text(v: Option<&Val>) -> String {
    v.and_then(Val::text).unwrap_or_default().to_owned()
}

/// The `WHERE` clause part and parameters restricting findings (alias `f`, subjects `s`) to the
/// options' scope and period. Parameters start at `$first`.
fn finding_filter(o: &Options, first: usize) -> (String, Vec<Val>) {
    let mut sql = String::from("f.suppressed = 0");
    let mut params = Vec::new();
    let mut n = first;
    if let Some(scope) = &o.scope {
        sql.push_str(&format!(" AND s.scope = ${n}"));
        params.push(Val::from(scope.as_str()));
        n += 1;
    }
    if let Some(since) = o.since {
        sql.push_str(&format!(" AND f.first_seen >= ${n}"));
        params.push(Val::from(since));
    }
    (sql, params)
}

/// Computes every metric in one read transaction.
pub fn compute(store: &mut Store, o: &Options) -> Result<Metrics, HistoryError> {
    store.read(|tx| compute_in(tx, o, &mut Vec::new()))
}

/// How long each metric's queries took, in order.
pub type Timings = Vec<(&'static str, std::time::Duration)>;

/// [`compute`], with the time each metric's queries took (bench/history.sh).
pub fn compute_timed(store: &mut Store, o: &Options) -> Result<(Metrics, Timings), HistoryError> {
    let mut t = Vec::new();
    let m = store.read(|tx| compute_in(tx, o, &mut t))?;
    Ok((m, t))
}

fn compute_in(
    tx: &mut Tx<'_>,
    o: &Options,
    timings: &mut Timings,
) -> Result<Metrics, HistoryError> {
    let mut clock = std::time::Instant::now();
    let mut lap = |name: &'static str, timings: &mut Timings| {
        timings.push((name, clock.elapsed()));
        clock = std::time::Instant::now();
    };
    let runs: BTreeMap<String, u64> = {
        let (sql, params) = match &o.scope {
            Some(s) => (
                "SELECT kind, COUNT(*) FROM runs WHERE scope = $1 GROUP BY kind",
                vec![Val::from(s.as_str())],
            ),
            None => ("SELECT kind, COUNT(*) FROM runs GROUP BY kind", vec![]),
        };
        tx.query(sql, &params)?
            .into_iter()
            .map(|r| {
                (
                    text(r.first()),
                    r.get(1).and_then(Val::int).unwrap_or(0) as u64,
                )
            })
            .collect()
    };

    lap("runs", timings);
    // the subjects are joined only to filter by scope (the counts need nothing else of them)
    let join = if o.scope.is_some() {
        "JOIN subjects s ON s.id = f.subject_id"
    } else {
        ""
    };
    let (filter, params) = finding_filter(o, 1);
    let detect = measure(
        tx,
        "f.first_seen - f.introduced_at",
        &format!("FROM findings f {join} WHERE f.introduced_at IS NOT NULL AND {filter}"),
        &params,
        "no finding with a known introduction: findings of a scope's first scan were there before the history began, and scans outside git have no commit time",
    )?;
    lap("detect", timings);
    let remediate = measure(
        tx,
        "f.resolved_at - f.first_seen",
        &format!("FROM findings f {join} WHERE f.resolved_at IS NOT NULL AND {filter}"),
        &params,
        "no finding has been resolved yet",
    )?;
    lap("remediate", timings);
    let recover = recover_times(tx, o)?;
    lap("recover", timings);

    let open: BTreeMap<String, u64> = tx
        .query(
            &format!(
                "SELECT f.severity, COUNT(*) FROM findings f {join}
                 WHERE f.resolved_at IS NULL AND {filter} GROUP BY f.severity"
            ),
            &params,
        )?
        .into_iter()
        .map(|r| {
            (
                text(r.first()),
                r.get(1).and_then(Val::int).unwrap_or(0) as u64,
            )
        })
        .collect();

    lap("open", timings);
    // every deadline in two queries: the limit of a finding's severity is a CASE over them
    let mut deadlines = Vec::new();
    let mut breaches = Vec::new();
    if !o.deadlines.is_empty() {
        let mut params: Vec<Val> = Vec::new();
        let mut case = String::from("CASE f.severity");
        for (severity, limit) in &o.deadlines {
            // the limit is this program's integer, written as a literal: PostgreSQL cannot
            // type a parameter that is a CASE's result
            params.push(Val::from(severity.as_str()));
            case.push_str(&format!(" WHEN ${} THEN {limit}", params.len()));
        }
        case.push_str(" END");
        // the severities with a deadline, as a list the index on severity can range over
        let listed = (1..=params.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let (filter, mut p) = finding_filter(o, params.len() + 1);
        params.append(&mut p);
        // per severity: the open ones (a range of the severity index), and those resolved late
        // (a range of the index on the time to resolve, migration 7); the limit is this
        // program's integer, written as a literal
        let mut counts: BTreeMap<&str, (u64, u64, u64)> = BTreeMap::new();
        for (severity, limit) in &o.deadlines {
            let (filter, mut p) = finding_filter(o, 2);
            let mut p1 = vec![Val::from(severity.as_str())];
            p1.append(&mut p);
            let mut count = |cond: &str| -> Result<u64, HistoryError> {
                Ok(tx
                    .one(
                        &format!(
                            "SELECT COUNT(*) FROM findings f {join}
                             WHERE f.severity = $1 AND {cond} AND {filter}"
                        ),
                        &p1,
                    )?
                    .and_then(|v| v.int())
                    .unwrap_or(0) as u64)
            };
            let open_n = count("f.resolved_at IS NULL")?;
            let late = count(&format!(
                "f.resolved_at IS NOT NULL AND f.resolved_at - f.first_seen > {limit}"
            ))?;
            // open past the deadline: first seen before now - limit
            let breached = count(&format!(
                "f.resolved_at IS NULL AND f.first_seen < {}",
                o.now.saturating_sub(*limit)
            ))?;
            counts.insert(severity.as_str(), (open_n, late, breached));
        }
        let now = o.now;
        let rows = if !o.list_breaches {
            Vec::new()
        } else {
            tx.query(
            &format!(
                "SELECT s.scope, s.name, f.rule_id, f.message, f.first_seen, f.severity
                 FROM findings f JOIN subjects s ON s.id = f.subject_id
                 WHERE f.severity IN ({listed}) AND f.resolved_at IS NULL AND {now} - f.first_seen > {case} AND {filter}
                 ORDER BY f.first_seen, f.id"
            ),
            &params,
        )?
        };
        for r in &rows {
            let first_seen = r.get(4).and_then(Val::int).unwrap_or(0);
            let severity = text(r.get(5));
            let limit = o.deadlines.get(&severity).copied().unwrap_or(0);
            breaches.push(Breach {
                scope: text(r.first()),
                subject: text(r.get(1)),
                rule_id: text(r.get(2)),
                severity,
                message: text(r.get(3)),
                first_seen,
                age_days: (o.now - first_seen) / DAY_MS,
                deadline_days: limit / DAY_MS,
            });
        }
        for (severity, limit) in &o.deadlines {
            let (open_n, late, breached) =
                counts.get(severity.as_str()).copied().unwrap_or((0, 0, 0));
            deadlines.push(Deadline {
                severity: severity.clone(),
                days: limit / DAY_MS,
                open: open_n,
                breached,
                resolved_late: late,
            });
        }
    }
    breaches.sort_by_key(|b| (b.first_seen, b.subject.clone(), b.rule_id.clone()));

    lap("deadlines", timings);
    let mut layers: BTreeMap<String, LayerNow> = BTreeMap::new();
    let (sql, p) = match &o.scope {
        Some(scope) => (
            "SELECT l.layer, l.state, COUNT(*) FROM layer_states l JOIN subjects s ON s.id = l.subject_id
             WHERE l.current = 1 AND s.name <> '' AND s.scope = $1 GROUP BY l.layer, l.state",
            vec![Val::from(scope.as_str())],
        ),
        None => (
            "SELECT l.layer, l.state, COUNT(*) FROM layer_states l JOIN subjects s ON s.id = l.subject_id
             WHERE l.current = 1 AND s.name <> '' GROUP BY l.layer, l.state",
            vec![],
        ),
    };
    for r in tx.query(sql, &p)? {
        let layer = text(r.first());
        let entry = layers.entry(layer.clone()).or_insert_with(|| LayerNow {
            layer,
            states: BTreeMap::new(),
        });
        entry.states.insert(
            text(r.get(1)),
            r.get(2).and_then(Val::int).unwrap_or(0) as u64,
        );
    }

    lap("layers", timings);
    let admitted = admitted_decisions(tx, o)?;
    let admission = admission_metrics(&admitted);
    lap("admission", timings);
    let later = escape_later(tx, o, &admitted)?;
    lap("escape-later", timings);
    let runtime = runtime_metrics(tx, o)?;
    lap("runtime", timings);
    Ok(Metrics {
        now: o.now,
        scope: o.scope.clone(),
        runs,
        detect,
        remediate,
        recover,
        open,
        deadlines,
        breaches,
        layers: layers.into_values().collect(),
        gate_coverage: admission.coverage,
        gate_coverage_by_gate: admission.by_gate,
        namespaces_enforced: admission.namespaces,
        signed_and_scanned: admission.signed_and_scanned,
        escape_rate: admission.escape,
        escape_rate_later: later.ratio,
        escape_threshold: o.escape_threshold.to_ascii_lowercase(),
        admitted_not_rescanned: later.not_rescanned,
        drift_detect_runtime: runtime.detect,
        alerts_by_rule: runtime.by_rule,
        alerts_by_priority: runtime.by_priority,
        open_drift: runtime.drift,
    })
}

struct AdmissionMetrics {
    coverage: Ratio,
    by_gate: BTreeMap<String, Ratio>,
    namespaces: Ratio,
    signed_and_scanned: Ratio,
    escape: Ratio,
}

fn ratio(part: u64, whole: u64, why_none: &str) -> Ratio {
    if whole == 0 {
        Ratio::NotMeasured {
            why: why_none.to_owned(),
        }
    } else {
        Ratio::Measured {
            part,
            whole,
            ratio: part as f64 / whole as f64,
        }
    }
}

/// The decisions of the validating endpoint that admitted a workload (dry runs left out), in
/// the period, with their times.
fn admitted_decisions(
    tx: &mut Tx<'_>,
    o: &Options,
) -> Result<Vec<(i64, crate::admission::Decision)>, HistoryError> {
    use crate::admission::Decision;
    let (sql, p) = match o.since {
        Some(since) => (
            "SELECT at, data FROM events WHERE kind = 'admission' AND at >= $1",
            vec![Val::from(since)],
        ),
        None => (
            "SELECT at, data FROM events WHERE kind = 'admission'",
            vec![],
        ),
    };
    let mut admitted = Vec::new();
    for row in tx.query(sql, &p)? {
        let at = row.first().and_then(Val::int).unwrap_or(0);
        let Some(d) = row
            .get(1)
            .and_then(Val::text)
            .and_then(|t| serde_json::from_str::<Decision>(t).ok())
        else {
            continue;
        };
        if d.admitted() {
            admitted.push((at, d));
        }
    }
    Ok(admitted)
}

/// The admission figures, from the decisions that admitted a workload.
fn admission_metrics(decisions: &[(i64, crate::admission::Decision)]) -> AdmissionMetrics {
    use crate::admission::Decision;
    let admitted: Vec<&Decision> = decisions.iter().map(|(_, d)| d).collect();
    let none = "no admitted workload recorded: import the webhook's audit log (`rampart history import audit.jsonl`)";
    let whole = admitted.len() as u64;
    let coverage = ratio(
        admitted.iter().filter(|d| d.covered()).count() as u64,
        whole,
        none,
    );
    let gates: std::collections::BTreeSet<String> = admitted
        .iter()
        .flat_map(|d| d.gates.iter().map(|g| g.gate.clone()))
        .collect();
    let by_gate = gates
        .into_iter()
        .map(|g| {
            let part = admitted.iter().filter(|d| d.passed(&g)).count() as u64;
            (g, ratio(part, whole, none))
        })
        .collect();
    let mut namespaces: BTreeMap<&str, bool> = BTreeMap::new();
    for d in &admitted {
        let all = namespaces.entry(d.namespace.as_str()).or_insert(true);
        *all &= d.covered();
    }
    let ns = ratio(
        namespaces.values().filter(|v| **v).count() as u64,
        namespaces.len() as u64,
        none,
    );
    let signed_and_scanned = ratio(
        admitted
            .iter()
            .filter(|d| d.passed("signatures") && d.passed("vulnerabilities"))
            .count() as u64,
        whole,
        none,
    );
    let scanned: Vec<&Decision> = admitted.iter().copied().filter(|d| d.scanned()).collect();
    let escaped = scanned.iter().filter(|d| d.escaped()).count() as u64;
    let escape = ratio(
        escaped,
        scanned.len() as u64,
        if admitted.is_empty() {
            none
        } else {
            "no admitted workload went through the vulnerabilities gate"
        },
    );
    AdmissionMetrics {
        coverage,
        by_gate,
        namespaces: ns,
        signed_and_scanned,
        escape,
    }
}

struct EscapeLater {
    ratio: Ratio,
    not_rescanned: u64,
}

/// The digest an image reference pins (`name@sha256:...`), if any.
fn pinned_digest(reference: &str) -> Option<&str> {
    reference.split_once('@').map(|(_, d)| d)
}

/// The escape rate found later (docs/metrics.md): per image the inventory rescanned, its start
/// is its first admission in the period (its references matched by digest when they pin one,
/// else by the name it was scanned under), else its scan (which every rescan of it follows);
/// the population is the images a rescan looked at after their start, the escapes those a
/// rescan after their start found a new vulnerability at or above the threshold in.
fn escape_later(
    tx: &mut Tx<'_>,
    o: &Options,
    admitted: &[(i64, crate::admission::Decision)],
) -> Result<EscapeLater, HistoryError> {
    let threshold = crate::rescan::severity_rank(&o.escape_threshold).ok_or_else(|| {
        HistoryError::Invalid(format!(
            "escape threshold {:?}: expected critical, high, medium, low or info",
            o.escape_threshold
        ))
    })?;
    let (sql, p) = match o.since {
        Some(since) => (
            "SELECT image, image_ref, at, level FROM events WHERE kind = 'rescan' AND at >= $1",
            vec![Val::from(since)],
        ),
        None => (
            "SELECT image, image_ref, at, level FROM events WHERE kind = 'rescan'",
            vec![],
        ),
    };
    let rows = tx.query(sql, &p)?;
    // image id -> (rescan time, worst new severity); name -> image ids
    let mut rescans: BTreeMap<String, Vec<(i64, i64)>> = BTreeMap::new();
    let mut by_name: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in &rows {
        let id = text(r.first());
        let name = text(r.get(1));
        let at = r.get(2).and_then(Val::int).unwrap_or(0);
        let level = r.get(3).and_then(Val::int).unwrap_or(0);
        rescans.entry(id.clone()).or_default().push((at, level));
        let ids = by_name.entry(name).or_default();
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    if rescans.is_empty() {
        let any = tx
            .one("SELECT COUNT(*) FROM runs WHERE kind = 'rescan'", &[])?
            .and_then(|v| v.int())
            .unwrap_or(0);
        return Ok(EscapeLater {
            ratio: Ratio::NotMeasured {
                why: if any == 0 {
                    "no inventory rescan recorded: run `rampart inventory rescan --history STORE`"
                        .to_owned()
                } else {
                    "no inventory rescan in the period".to_owned()
                },
            },
            not_rescanned: 0,
        });
    }
    // each admitted reference's first admission, and the images it names
    let mut first_admitted: BTreeMap<&str, i64> = BTreeMap::new();
    for (at, d) in admitted {
        for r in &d.images {
            let e = first_admitted.entry(r.as_str()).or_insert(*at);
            *e = (*e).min(*at);
        }
    }
    let mut start: BTreeMap<&str, i64> = BTreeMap::new();
    let mut not_rescanned = 0;
    for (reference, at) in &first_admitted {
        let ids: Vec<&str> = match pinned_digest(reference) {
            Some(d) => rescans
                .get_key_value(d)
                .map(|(k, _)| k.as_str())
                .into_iter()
                .collect(),
            None => by_name
                .get(*reference)
                .map(|v| v.iter().map(String::as_str).collect())
                .unwrap_or_default(),
        };
        let looked_after = ids.iter().any(|id| {
            rescans
                .get(*id)
                .is_some_and(|v| v.iter().any(|(t, _)| t > at))
        });
        if !looked_after {
            not_rescanned += 1;
        }
        for id in ids {
            let e = start.entry(id).or_insert(*at);
            *e = (*e).min(*at);
        }
    }
    let (mut part, mut whole) = (0, 0);
    for (id, seen) in &rescans {
        let from = start.get(id.as_str()).copied().unwrap_or(i64::MIN);
        let after: Vec<i64> = seen
            .iter()
            .filter(|(t, _)| *t > from)
            .map(|(_, l)| *l)
            .collect();
        if after.is_empty() {
            continue;
        }
        whole += 1;
        if after.iter().any(|l| *l >= threshold) {
            part += 1;
        }
    }
    Ok(EscapeLater {
        ratio: ratio(
            part,
            whole,
            "no image was rescanned after its admission: run `rampart inventory rescan --history STORE` again",
        ),
        not_rescanned,
    })
}

struct Runtime {
    detect: Measure,
    by_rule: Counts,
    by_priority: Counts,
    drift: OpenDrift,
}

/// The figures of the monitor's alerts (events of kind `alert`) in the period.
fn runtime_metrics(tx: &mut Tx<'_>, o: &Options) -> Result<Runtime, HistoryError> {
    let alert_runs = tx
        .one("SELECT COUNT(*) FROM runs WHERE kind = 'alert'", &[])?
        .and_then(|v| v.int())
        .unwrap_or(0);
    if alert_runs == 0 {
        let why = "no monitor alert recorded: import the monitor's alerts (`rampart history import alerts.jsonl`)";
        return Ok(Runtime {
            detect: Measure::NotMeasured {
                why: why.to_owned(),
            },
            by_rule: Counts::NotMeasured {
                why: why.to_owned(),
            },
            by_priority: Counts::NotMeasured {
                why: why.to_owned(),
            },
            drift: OpenDrift::NotMeasured {
                why: why.to_owned(),
            },
        });
    }
    let (period, p) = match o.since {
        Some(since) => (" AND at >= $1", vec![Val::from(since)]),
        None => ("", vec![]),
    };
    let detect = measure(
        tx,
        "reported_at - at",
        &format!(
            "FROM events WHERE kind = 'alert' AND drift = 1 AND reported_at IS NOT NULL{period}"
        ),
        &p,
        "no runtime drift alert recorded in the period",
    )?;
    let mut total = 0;
    let mut rules: BTreeMap<String, u64> = BTreeMap::new();
    let mut priorities: BTreeMap<String, u64> = BTreeMap::new();
    for r in tx.query(
        &format!(
            "SELECT rule, priority, COUNT(*) FROM events WHERE kind = 'alert'{period}
             GROUP BY rule, priority"
        ),
        &p,
    )? {
        let n = r.get(2).and_then(Val::int).unwrap_or(0) as u64;
        total += n;
        *rules.entry(text(r.first())).or_default() += n;
        *priorities.entry(text(r.get(1))).or_default() += n;
    }
    let mut images: Vec<DriftImage> = tx
        .query(
            &format!(
                "SELECT COALESCE(image, image_ref, 'unknown'), MAX(image_ref), COUNT(DISTINCT container),
                        COUNT(*), MIN(at), MAX(at)
                 FROM events WHERE kind = 'alert' AND drift = 1{period}
                 GROUP BY COALESCE(image, image_ref, 'unknown')"
            ),
            &p,
        )?
        .into_iter()
        .map(|r| DriftImage {
            image: text(r.first()),
            reference: r.get(1).and_then(Val::text).map(str::to_owned),
            containers: r.get(2).and_then(Val::int).unwrap_or(0) as u64,
            alerts: r.get(3).and_then(Val::int).unwrap_or(0) as u64,
            first_seen: r.get(4).and_then(Val::int).unwrap_or(0),
            last_seen: r.get(5).and_then(Val::int).unwrap_or(0),
        })
        .collect();
    images.sort_by(|a, b| {
        b.containers
            .cmp(&a.containers)
            .then(b.alerts.cmp(&a.alerts))
            .then(a.image.cmp(&b.image))
    });
    Ok(Runtime {
        detect,
        by_rule: Counts::Measured { total, by: rules },
        by_priority: Counts::Measured {
            total,
            by: priorities,
        },
        drift: OpenDrift::Measured { images },
    })
}

/// Recovery times: per subject and layer, a holding span directly after a run of weak or
/// breached spans, measured from the start of that run (kept on the span when it was recorded;
/// docs/metrics.md has the query over the spans alone that gives the same values).
fn recover_times(tx: &mut Tx<'_>, o: &Options) -> Result<Measure, HistoryError> {
    // only subjects' spans carry a recovery (a scope's own layer map does not), so the
    // whole store's recoveries are read from their partial index alone
    let mut wh = String::from("l.recovered_from IS NOT NULL");
    let mut params = Vec::new();
    if let Some(scope) = &o.scope {
        params.push(Val::from(scope.as_str()));
        wh.push_str(&format!(
            " AND l.subject_id IN (SELECT id FROM subjects WHERE scope = ${})",
            params.len()
        ));
    }
    if let Some(t) = o.since {
        params.push(Val::from(t));
        wh.push_str(&format!(" AND l.recovered_from >= ${}", params.len()));
    }
    measure(
        tx,
        "l.since - l.recovered_from",
        &format!("FROM layer_states l WHERE {wh}"),
        &params,
        "no layer has gone from weak or breached back to holding yet",
    )
}

/// The Prometheus text exposition of the metrics.
pub fn prometheus(m: &Metrics) -> String {
    let mut out = String::new();
    let mut measured = Vec::new();
    for (name, help, measure) in [
        (
            "rampart_drift_detect_seconds",
            "Time from a configuration change (its commit) to rampart's first report of the finding.",
            &m.detect,
        ),
        (
            "rampart_drift_remediate_seconds",
            "Time from rampart's first report of a finding to the run that no longer found it.",
            &m.remediate,
        ),
        (
            "rampart_layer_recover_seconds",
            "Time from a layer weakening or breaking on a subject to it holding again.",
            &m.recover,
        ),
        (
            "rampart_runtime_drift_detect_seconds",
            "Time from a runtime drift event (the exec, the write) to its alert reaching the history store.",
            &m.drift_detect_runtime,
        ),
    ] {
        match measure {
            Measure::Measured {
                count,
                mean_seconds,
                p50_seconds,
                p90_seconds,
                ..
            } => {
                out.push_str(&format!(
                    "# HELP {name} {help}\n# TYPE {name} summary\n{name}{{quantile=\"0.5\"}} {p50_seconds}\n{name}{{quantile=\"0.9\"}} {p90_seconds}\n{name}_sum {}\n{name}_count {count}\n",
                    mean_seconds * *count as f64
                ));
                measured.push((name, 1));
            }
            Measure::NotMeasured { .. } => measured.push((name, 0)),
        }
    }
    for (name, ratio) in [
        ("rampart_gate_coverage_ratio", &m.gate_coverage),
        ("rampart_namespaces_enforced_ratio", &m.namespaces_enforced),
        ("rampart_signed_and_scanned_ratio", &m.signed_and_scanned),
        ("rampart_escape_rate_ratio", &m.escape_rate),
        ("rampart_escape_later_ratio", &m.escape_rate_later),
    ] {
        match ratio {
            Ratio::Measured { ratio, .. } => {
                out.push_str(&format!("# TYPE {name} gauge\n{name} {ratio}\n"));
                measured.push((name, 1));
            }
            Ratio::NotMeasured { .. } => measured.push((name, 0)),
        }
    }
    if !m.gate_coverage_by_gate.is_empty() {
        out.push_str("# HELP rampart_gate_pass_ratio Admitted workloads that passed the gate in enforce mode.\n# TYPE rampart_gate_pass_ratio gauge\n");
        for (gate, r) in &m.gate_coverage_by_gate {
            if let Ratio::Measured { ratio, .. } = r {
                out.push_str(&format!(
                    "rampart_gate_pass_ratio{{gate=\"{}\"}} {ratio}\n",
                    label(gate)
                ));
            }
        }
    }
    for (name, key, counts) in [
        ("rampart_runtime_alerts", "rule", &m.alerts_by_rule),
        (
            "rampart_runtime_alerts_by_priority",
            "priority",
            &m.alerts_by_priority,
        ),
    ] {
        match counts {
            Counts::Measured { by, .. } => {
                out.push_str(&format!(
                    "# HELP {name} The monitor's alerts over the period, by {key}.\n# TYPE {name} gauge\n"
                ));
                for (k, n) in by {
                    out.push_str(&format!("{name}{{{key}=\"{}\"}} {n}\n", label(k)));
                }
                measured.push((name, 1));
            }
            Counts::NotMeasured { .. } => measured.push((name, 0)),
        }
    }
    match &m.open_drift {
        OpenDrift::Measured { images } => {
            out.push_str("# HELP rampart_drift_containers Containers with runtime drift over the period, by image.\n# TYPE rampart_drift_containers gauge\n");
            for i in images {
                out.push_str(&format!(
                    "rampart_drift_containers{{image=\"{}\"}} {}\n",
                    label(&i.image),
                    i.containers
                ));
            }
            measured.push(("rampart_drift_containers", 1));
        }
        OpenDrift::NotMeasured { .. } => measured.push(("rampart_drift_containers", 0)),
    }
    out.push_str("# HELP rampart_metric_measured 1 when the metric had input, 0 when it is unknown (never zero by default).\n# TYPE rampart_metric_measured gauge\n");
    for (name, v) in measured {
        out.push_str(&format!(
            "rampart_metric_measured{{metric=\"{name}\"}} {v}\n"
        ));
    }
    out.push_str("# HELP rampart_findings_open Open, unsuppressed findings.\n# TYPE rampart_findings_open gauge\n");
    for (sev, n) in &m.open {
        out.push_str(&format!(
            "rampart_findings_open{{severity=\"{}\"}} {n}\n",
            label(sev)
        ));
    }
    out.push_str("# HELP rampart_findings_past_deadline Open findings past their remediation deadline.\n# TYPE rampart_findings_past_deadline gauge\n");
    for d in &m.deadlines {
        out.push_str(&format!(
            "rampart_findings_past_deadline{{severity=\"{}\"}} {}\n",
            label(&d.severity),
            d.breached
        ));
    }
    out.push_str("# HELP rampart_layer_subjects Subjects per layer and state, now.\n# TYPE rampart_layer_subjects gauge\n");
    for l in &m.layers {
        for (state, n) in &l.states {
            out.push_str(&format!(
                "rampart_layer_subjects{{layer=\"{}\",state=\"{}\"}} {n}\n",
                label(&l.layer),
                label(state)
            ));
        }
    }
    out
}

/// A Prometheus label value: backslash, quote and newline escaped.
fn label(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank_and_empty_is_not_zero() {
        let m = Measure::of(vec![4000, 1000, 3000, 2000, -5], "none");
        assert_eq!(
            m,
            Measure::Measured {
                count: 4,
                mean_seconds: 2.5,
                p50_seconds: 2.0,
                p90_seconds: 4.0,
                max_seconds: 4.0
            }
        );
        assert!(matches!(Measure::of(vec![], "why"), Measure::NotMeasured { why } if why == "why"));
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    /// Nearest rank by sorting, the definition the selection must meet.
    fn sorted_measure(mut v: Vec<i64>) -> Option<(u64, i64, i64, i64)> {
        v.retain(|x| *x >= 0);
        v.sort_unstable();
        let n = v.len();
        (n > 0).then(|| {
            let at = |q: f64| v[((q * n as f64).ceil() as usize).clamp(1, n) - 1];
            (n as u64, at(0.5), at(0.9), v[n - 1])
        })
    }

    fn stats(m: &Measure) -> Option<(u64, i64, i64, i64)> {
        match m {
            Measure::Measured {
                count,
                p50_seconds,
                p90_seconds,
                max_seconds,
                ..
            } => Some((
                *count,
                (p50_seconds * 1000.0).round() as i64,
                (p90_seconds * 1000.0).round() as i64,
                (max_seconds * 1000.0).round() as i64,
            )),
            Measure::NotMeasured { .. } => None,
        }
    }

    proptest::proptest! {
        // the selection finds the ranks a sort finds
        #[test]
        fn selection_is_the_sorted_nearest_rank(v in proptest::collection::vec(-50i64..5_000, 0..300)) {
            proptest::prop_assert_eq!(stats(&Measure::of(v.clone(), "none")), sorted_measure(v));
        }
    }

    /// The same populations measured in each store: PostgreSQL's `percentile_disc` on the
    /// server and SQLite's values through [`Measure::of`] give the same figures.
    fn measured_in(location: &str) -> Vec<Measure> {
        let mut store = Store::open(location).unwrap();
        let mut x: u64 = 88_172_645_463_325_252;
        let mut out = Vec::new();
        for n in [0usize, 1, 2, 3, 9, 10, 11, 100, 1001] {
            let v: Vec<i64> = (0..n)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x % 100_000) as i64 - 1_000
                })
                .collect();
            let m = store
                .write(|tx| {
                    tx.batch("CREATE TEMPORARY TABLE durations (v BIGINT)")?;
                    for x in &v {
                        tx.exec("INSERT INTO durations (v) VALUES ($1)", &[Val::from(*x)])?;
                    }
                    let m = measure(tx, "v", "FROM durations", &[], "none")?;
                    tx.batch("DROP TABLE durations")?;
                    Ok(m)
                })
                .unwrap();
            assert_eq!(m, Measure::of(v, "none"), "{location}: {n} values");
            out.push(m);
        }
        out
    }

    #[test]
    fn both_stores_measure_alike() {
        let dir = tempfile::tempdir().unwrap();
        let lite = measured_in(&dir.path().join("m.db").display().to_string());
        let pg = rampart_testkit::postgres::Postgres::start();
        assert_eq!(measured_in(&pg.database()), lite);
    }
}
