//! Generates a history and measures it (bench/history.sh runs it; a figure, not a test):
//! SCOPES scopes of SUBJECTS subjects each, one scan per scope per day for DAYS days, FINDINGS
//! findings per subject of which CHURN percent change each day (fixed, or new). Prints the
//! ingest rate (findings recorded per second), the metric query time and the store size.
//!
//!     cargo run --release -p rampart-history --example history_bench -- STORE [SCOPES SUBJECTS DAYS FINDINGS CHURN]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Instant;

use rampart_history::Store;
use rampart_history::metrics::{self, Options};
use rampart_history::scan::{Source, record_scan};
use serde_json::{Value, json};

const DAY: i64 = 86_400_000;
const T0: i64 = 1_750_000_000_000;

fn report(scope: usize, subjects: usize, findings: usize, churn: usize, day: usize) -> Value {
    let mut subs = Vec::with_capacity(subjects);
    let mut fs = Vec::with_capacity(subjects * findings);
    for s in 0..subjects {
        let name = format!("Deployment ns{scope}/app{s}");
        let weak = (s + day) % 7 == 0;
        subs.push(json!({"subject": name, "file": format!("app{s}.yaml"),
            "layers": {"runtime": if weak { "weak" } else { "holds" }, "supply-chain": "weak", "access": "holds"}}));
        for f in 0..findings {
            // a finding slot changes generation every so many days, at a rate of CHURN %
            let period = (100 / churn.max(1)).max(1);
            let generation = (day + s + f) / period;
            let severity = ["critical", "high", "medium", "low"][f % 4];
            fs.push(json!({
                "rule_id": format!("K8S{:03}", f + 1), "rule_name": "r", "title": "t",
                "severity": severity, "layer": "runtime",
                "subject": name, "location": {"file": format!("app{s}.yaml"), "line": f + 1, "column": 1},
                "message": format!("container app{s} finding {f} generation {generation}"),
                "remediation": "", "references": []
            }));
        }
    }
    json!({"schema_version": "1.3", "tool": {"name": "rampart", "version": "bench"}, "target": "bench",
        "summary": {}, "layers": [{"layer": "runtime", "state": "weak"}], "subjects": subs, "findings": fs, "errors": []})
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let store_at = args.get(1).expect("STORE").clone();
    let n = |i: usize, d: usize| args.get(i).and_then(|v| v.parse().ok()).unwrap_or(d);
    let (scopes, subjects, days, findings, churn) =
        (n(2, 100), n(3, 100), n(4, 30), n(5, 3), n(6, 5));
    let mut store = Store::open(&store_at).unwrap();
    let mut recorded = 0u64;
    let mut spent = std::time::Duration::ZERO;
    for day in 0..days {
        for scope in 0..scopes {
            let r = report(scope, subjects, findings, churn, day);
            let source = Source {
                scope: format!("bench/{scope}"),
                commit_at: Some(T0 + day as i64 * DAY - 3_600_000),
                ..Source::default()
            };
            let t = Instant::now();
            record_scan(&mut store, &r, &source, T0 + day as i64 * DAY).unwrap();
            spent += t.elapsed();
            recorded += (subjects * findings) as u64;
        }
    }
    if rampart_history::is_postgres(&store_at) {
        // what autovacuum does between a year's scans: without it the metrics read the dead
        // row versions every update leaves
        let mut c = postgres::Client::connect(&store_at, postgres::NoTls).unwrap();
        let t = Instant::now();
        c.batch_execute("VACUUM ANALYZE").unwrap();
        println!("VACUUM ANALYZE: {:.1} s", t.elapsed().as_secs_f64());
    }
    let t = Instant::now();
    let (m, parts) =
        metrics::compute_timed(&mut store, &Options::new(T0 + days as i64 * DAY)).unwrap();
    let query = t.elapsed();
    println!(
        "subjects {} days {days} runs {} findings recorded {recorded}: {:.0} findings/s ({:.1} s)",
        scopes * subjects,
        scopes * days,
        recorded as f64 / spent.as_secs_f64(),
        spent.as_secs_f64()
    );
    println!(
        "metrics (every figure, one read transaction): {:.1} ms; open {:?}",
        query.as_secs_f64() * 1000.0,
        m.open
    );
    let slowest = parts
        .iter()
        .max_by_key(|p| p.1)
        .map(|p| (p.0, p.1.as_secs_f64() * 1000.0));
    println!(
        "each metric's queries, ms: {} (slowest: {:?}; target < 100 ms each)",
        parts
            .iter()
            .map(|(n, d)| format!("{n} {:.1}", d.as_secs_f64() * 1000.0))
            .collect::<Vec<_>>()
            .join(", "),
        slowest
    );
}
