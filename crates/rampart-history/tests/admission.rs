//! Admission decisions from the webhook's audit log, on SQLite and PostgreSQL: imported once
//! per request, a truncated log refused whole, and the gate coverage and escape rate worked
//! out by hand from the definitions (docs/metrics.md).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use rampart_history::Store;
use rampart_history::admission::{looks_like_audit_log, record_audit_log};
use rampart_history::metrics::{self, Options, Ratio};
use rampart_testkit::postgres::Postgres;
use serde_json::json;

fn line(
    uid: &str,
    endpoint: &str,
    ns: &str,
    allowed: bool,
    dry_run: bool,
    gates: serde_json::Value,
) -> String {
    json!({
        "time": "2026-11-02T10:00:00Z", "uid": uid, "endpoint": endpoint, "profile": "default",
        "kind": "Pod", "namespace": ns, "name": format!("pod-{uid}"), "operation": "CREATE",
        "username": "system:serviceaccount:kube-system:replicaset-controller", "dry_run": dry_run,
        "allowed": allowed, "gates": gates, "latency_us": 120
    })
    .to_string()
}

fn gate(name: &str, outcome: &str, mode: &str) -> serde_json::Value {
    json!({"gate": name, "outcome": outcome, "mode": mode})
}

fn log() -> String {
    [
        // 1: admitted, every gate passed in enforce mode
        line(
            "1",
            "validate",
            "shop",
            true,
            false,
            json!([
                gate("pss", "allow", "enforce"),
                gate("signatures", "allow", "enforce"),
                gate("vulnerabilities", "allow", "enforce")
            ]),
        ),
        // 2: admitted with a vulnerability above the threshold (the gate only warns): an escape
        line(
            "2",
            "validate",
            "shop",
            true,
            false,
            json!([
                gate("pss", "allow", "enforce"),
                gate("vulnerabilities", "warn", "warn")
            ]),
        ),
        // 3: denied, 4: a dry run, 5: the mutating endpoint: none is an admitted workload
        line(
            "3",
            "validate",
            "shop",
            false,
            false,
            json!([gate("pss", "deny", "enforce")]),
        ),
        line(
            "4",
            "validate",
            "shop",
            true,
            true,
            json!([gate("pss", "allow", "enforce")]),
        ),
        line("5", "mutate", "shop", true, false, json!([])),
        // 6: admitted in a namespace whose profile only warns
        line(
            "6",
            "validate",
            "dev",
            true,
            false,
            json!([gate("pss", "allow", "warn")]),
        ),
    ]
    .join("\n")
        + "\n"
}

fn measured(r: &Ratio) -> (u64, u64) {
    match r {
        Ratio::Measured { part, whole, .. } => (*part, *whole),
        Ratio::NotMeasured { why } => panic!("not measured: {why}"),
    }
}

fn check(kind: &str, location: &str) {
    let mut s = Store::open(location).unwrap();
    let m = metrics::compute(&mut s, &Options::new(0)).unwrap();
    assert!(
        matches!(m.gate_coverage, Ratio::NotMeasured { .. }),
        "{kind}"
    );
    assert!(matches!(m.escape_rate, Ratio::NotMeasured { .. }), "{kind}");

    let text = log();
    assert!(looks_like_audit_log(&text));
    let i = record_audit_log(&mut s, &text, "audit.jsonl", Some("prod")).unwrap();
    assert_eq!((i.decisions, i.duplicates), (6, 0), "{kind}");
    // the same log again: nothing counted twice
    let again = record_audit_log(&mut s, &text, "audit.jsonl", Some("prod")).unwrap();
    assert_eq!((again.decisions, again.duplicates), (0, 6), "{kind}");

    let m = metrics::compute(&mut s, &Options::new(0)).unwrap();
    assert_eq!(measured(&m.gate_coverage), (1, 3), "{kind}");
    assert_eq!(measured(&m.gate_coverage_by_gate["pss"]), (2, 3), "{kind}");
    assert_eq!(
        measured(&m.gate_coverage_by_gate["signatures"]),
        (1, 3),
        "{kind}"
    );
    assert_eq!(
        measured(&m.gate_coverage_by_gate["vulnerabilities"]),
        (1, 3),
        "{kind}"
    );
    assert_eq!(measured(&m.namespaces_enforced), (0, 2), "{kind}");
    assert_eq!(measured(&m.signed_and_scanned), (1, 3), "{kind}");
    assert_eq!(measured(&m.escape_rate), (1, 2), "{kind}");
    let prom = metrics::prometheus(&m);
    assert!(prom.contains("rampart_escape_rate_ratio 0.5\n"), "{prom}");
    assert!(
        prom.contains("rampart_gate_pass_ratio{gate=\"pss\"} 0.6666666666666666\n"),
        "{prom}"
    );

    // a truncated log (the last line cut mid-write): an error naming the line, nothing of it
    // recorded
    let mut cut = line(
        "7",
        "validate",
        "shop",
        true,
        false,
        json!([gate("pss", "allow", "enforce")]),
    );
    cut.truncate(cut.len() / 2);
    let truncated = format!(
        "{}\n{cut}",
        line("8", "validate", "shop", true, false, json!([]))
    );
    let e = record_audit_log(&mut s, &truncated, "live.jsonl", Some("prod"))
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("live.jsonl:2:"), "{kind}: {e}");
    let n = s
        .read(|tx| tx.one("SELECT COUNT(*) FROM events WHERE kind = 'admission'", &[]))
        .unwrap()
        .and_then(|v| v.int());
    assert_eq!(n, Some(6), "{kind}");
}

#[test]
fn admission_decisions_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    check("sqlite", &dir.path().join("h.db").display().to_string());
}

#[test]
fn admission_decisions_on_postgres() {
    let pg = Postgres::start();
    check("postgres", &pg.database());
}
