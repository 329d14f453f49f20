//! The metrics on a history whose every time is known, on SQLite and PostgreSQL: each figure
//! is checked against the value worked out by hand from the definitions (docs/metrics.md).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use rampart_history::Store;
use rampart_history::metrics::{self, Measure, Options, Ratio};
use rampart_history::scan::{Source, record_scan};
use rampart_testkit::postgres::Postgres;
use serde_json::{Value, json};

const H: i64 = 3_600_000;
const D: i64 = 24 * H;
const T0: i64 = 1_780_000_000_000;

fn finding(rule: &str, severity: &str) -> Value {
    json!({
        "rule_id": rule, "rule_name": rule, "title": rule, "severity": severity,
        "layer": "runtime", "subject": "Deployment/shop/web",
        "location": {"file": "web.yaml", "line": 3, "column": 1},
        "message": format!("{rule} on web"), "remediation": "", "references": []
    })
}

fn report(runtime: &str, findings: Vec<Value>) -> Value {
    json!({
        "schema_version": "1.3", "tool": {"name": "rampart", "version": "0.1.0"}, "target": "k8s",
        "summary": {}, "layers": [{"layer": "runtime", "state": runtime}],
        "subjects": [
            {"subject": "Deployment/shop/web", "file": "web.yaml", "layers": {"runtime": runtime}},
            {"subject": "Deployment/shop/api", "file": "api.yaml", "layers": {"runtime": "holds"}}
        ],
        "findings": findings, "errors": []
    })
}

fn at_commit(commit_at: i64) -> Source {
    Source {
        scope: "shop".into(),
        repo: Some("https://git.example.com/shop.git".into()),
        commit: Some(format!("c{commit_at}")),
        commit_at: Some(commit_at),
        ..Source::default()
    }
}

/// The recovery query of docs/metrics.md, over the spans alone.
const RECOVER_FROM_SPANS: &str = "WITH spans AS (
  SELECT l.subject_id, l.layer, l.state, l.since,
         LAG(l.state) OVER (PARTITION BY l.subject_id, l.layer ORDER BY l.since, l.id) AS prev
  FROM layer_states l JOIN subjects s ON s.id = l.subject_id WHERE s.name <> ''
), marks AS (
  SELECT subject_id, layer, since,
         CASE WHEN state IN ('weak', 'breached') AND (prev IS NULL OR prev NOT IN ('weak', 'breached')) THEN 'down'
              WHEN state = 'holds' AND prev IN ('weak', 'breached') THEN 'up' END AS mark
  FROM spans
), ordered AS (
  SELECT mark, since, LAG(since) OVER (PARTITION BY subject_id, layer ORDER BY since) AS prev_since,
         LAG(mark) OVER (PARTITION BY subject_id, layer ORDER BY since) AS prev_mark
  FROM marks WHERE mark IS NOT NULL
)
SELECT since - prev_since FROM ordered WHERE mark = 'up' AND prev_mark = 'down'";

/// The history of the example in docs/metrics.md.
fn history(s: &mut Store) {
    let (a, b, c) = (
        finding("K8S001", "high"),
        finding("K8S003", "critical"),
        finding("K8S005", "critical"),
    );
    let runs = [
        (T0, T0 - H, "weak", vec![a.clone(), b.clone()]),
        (T0 + D, T0 + D - 2 * H, "weak", vec![a, b.clone(), c]),
        (T0 + 3 * D, T0 + 3 * D - H, "holds", vec![b.clone()]),
        (T0 + 10 * D, T0 + 10 * D - H, "weak", vec![b]),
    ];
    for (at, commit_at, state, findings) in runs {
        record_scan(s, &report(state, findings), &at_commit(commit_at), at).unwrap();
    }
}

fn measured(m: &Measure) -> (u64, f64, f64, f64) {
    match m {
        Measure::Measured {
            count,
            mean_seconds,
            p50_seconds,
            p90_seconds,
            ..
        } => (*count, *mean_seconds, *p50_seconds, *p90_seconds),
        Measure::NotMeasured { why } => panic!("not measured: {why}"),
    }
}

fn check(kind: &str, location: &str) {
    let mut s = Store::open(location).unwrap();
    // an empty store: nothing is zero, everything is unknown with its reason
    let m = metrics::compute(&mut s, &Options::new(T0)).unwrap();
    assert!(matches!(m.detect, Measure::NotMeasured { .. }), "{kind}");
    assert!(matches!(m.remediate, Measure::NotMeasured { .. }), "{kind}");
    assert!(m.open.is_empty() && m.breaches.is_empty(), "{kind}");

    history(&mut s);
    let m = metrics::compute(&mut s, &Options::new(T0 + 10 * D)).unwrap();
    assert_eq!(m.runs.get("scan"), Some(&4), "{kind}");
    // detect: only K8S005 has a known introduction (its commit, 2 h before the scan)
    assert_eq!(measured(&m.detect), (1, 7200.0, 7200.0, 7200.0), "{kind}");
    // remediate: K8S001 after 3 days, K8S005 after 2 days
    assert_eq!(
        measured(&m.remediate),
        (2, 2.5 * 86400.0, 2.0 * 86400.0, 3.0 * 86400.0),
        "{kind}"
    );
    // recover: web's runtime layer weak from T0, holding at T0 + 3 d
    assert_eq!(measured(&m.recover).0, 1, "{kind}");
    assert_eq!(measured(&m.recover).1, 3.0 * 86400.0, "{kind}");
    // the same from the spans alone, by the query docs/metrics.md gives
    let recomputed = s
        .read(|tx| tx.query(RECOVER_FROM_SPANS, &[]))
        .unwrap()
        .into_iter()
        .map(|r| r[0].int().unwrap())
        .collect::<Vec<_>>();
    assert_eq!(recomputed, vec![3 * D], "{kind}");
    assert_eq!(m.open.get("critical"), Some(&1), "{kind}");
    assert_eq!(m.open.get("high"), None, "{kind}");
    let crit = m
        .deadlines
        .iter()
        .find(|d| d.severity == "critical")
        .unwrap();
    assert_eq!(
        (crit.days, crit.open, crit.breached, crit.resolved_late),
        (7, 1, 1, 0),
        "{kind}"
    );
    let high = m.deadlines.iter().find(|d| d.severity == "high").unwrap();
    assert_eq!(
        (high.days, high.open, high.breached, high.resolved_late),
        (30, 0, 0, 0),
        "{kind}"
    );
    assert_eq!(m.breaches.len(), 1, "{kind}");
    assert_eq!(m.breaches[0].rule_id, "K8S003");
    assert_eq!(m.breaches[0].age_days, 10);
    // without the list (the dashboard's pages), the counts are the same
    let mut counts_only = Options::new(T0 + 10 * D);
    counts_only.list_breaches = false;
    let c = metrics::compute(&mut s, &counts_only).unwrap();
    assert_eq!(c.deadlines, m.deadlines, "{kind}");
    assert!(c.breaches.is_empty(), "{kind}");
    let runtime = m.layers.iter().find(|l| l.layer == "runtime").unwrap();
    assert_eq!(runtime.states.get("weak"), Some(&1), "{kind}");
    assert_eq!(runtime.states.get("holds"), Some(&1), "{kind}");
    assert!(
        matches!(m.gate_coverage, Ratio::NotMeasured { .. }),
        "{kind}"
    );

    // a scope: the same figures for the scope recorded, nothing for another
    let mut scoped = Options::new(T0 + 10 * D);
    scoped.scope = Some("shop".into());
    let ms = metrics::compute(&mut s, &scoped).unwrap();
    assert_eq!(
        (ms.detect.clone(), ms.remediate.clone(), ms.open.clone()),
        (m.detect.clone(), m.remediate.clone(), m.open.clone()),
        "{kind}"
    );
    assert_eq!(ms.deadlines, m.deadlines, "{kind}");
    scoped.scope = Some("elsewhere".into());
    let other = metrics::compute(&mut s, &scoped).unwrap();
    assert!(
        matches!(other.remediate, Measure::NotMeasured { .. }),
        "{kind}"
    );
    assert!(other.breaches.is_empty() && other.open.is_empty(), "{kind}");

    // a tighter deadline makes the resolved ones late
    let mut o = Options::new(T0 + 10 * D);
    o.deadlines.insert("critical".into(), D);
    o.deadlines.insert("high".into(), D);
    let m2 = metrics::compute(&mut s, &o).unwrap();
    let crit = m2
        .deadlines
        .iter()
        .find(|d| d.severity == "critical")
        .unwrap();
    assert_eq!(crit.resolved_late, 1, "{kind}");
    let high = m2.deadlines.iter().find(|d| d.severity == "high").unwrap();
    assert_eq!(high.resolved_late, 1, "{kind}");

    let text = metrics::prometheus(&m);
    assert!(
        text.contains("rampart_drift_detect_seconds_count 1\n"),
        "{text}"
    );
    assert!(
        text.contains("rampart_drift_remediate_seconds{quantile=\"0.9\"} 259200\n"),
        "{text}"
    );
    assert!(
        text.contains("rampart_metric_measured{metric=\"rampart_gate_coverage_ratio\"} 0\n"),
        "{text}"
    );
    assert!(
        text.contains("rampart_findings_past_deadline{severity=\"critical\"} 1\n"),
        "{text}"
    );
    assert!(
        text.contains("rampart_layer_subjects{layer=\"runtime\",state=\"weak\"} 1\n"),
        "{text}"
    );
}

#[test]
fn metrics_match_their_definitions_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    check("sqlite", &dir.path().join("h.db").display().to_string());
}

#[test]
fn metrics_match_their_definitions_on_postgres() {
    let pg = Postgres::start();
    check("postgres", &pg.database());
}

mod recovery {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        // the recovery kept on the spans when they are written equals the recomputation from
        // the spans alone, whatever the sequence of states
        #[test]
        fn stored_recoveries_equal_the_query_over_the_spans(
            states in proptest::collection::vec(
                prop_oneof!["holds", "weak", "breached", "partly-assessed", "not-assessed"], 1..25)
        ) {
            let dir = tempfile::tempdir().unwrap();
            let mut s = Store::open(&dir.path().join("h.db").display().to_string()).unwrap();
            for (i, state) in states.iter().enumerate() {
                record_scan(&mut s, &report(state, vec![]), &at_commit(T0), T0 + i as i64 * D).unwrap();
            }
            let mut recomputed: Vec<i64> = s
                .read(|tx| tx.query(RECOVER_FROM_SPANS, &[]))
                .unwrap()
                .into_iter()
                .map(|r| r[0].int().unwrap())
                .collect();
            recomputed.sort_unstable();
            let mut stored: Vec<i64> = s
                // every span that carries a recovery is a subject's (the scope's own layer
                // map, subject "", never does: the metric reads the spans without a join)
                .read(|tx| tx.query("SELECT since - recovered_from FROM layer_states WHERE recovered_from IS NOT NULL", &[]))
                .unwrap()
                .into_iter()
                .map(|r| r[0].int().unwrap())
                .collect();
            stored.sort_unstable();
            prop_assert_eq!(stored, recomputed, "{:?}", states);
        }
    }
}
