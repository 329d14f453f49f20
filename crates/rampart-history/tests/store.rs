//! The history store on both databases it supports, with the same assertions: a real SQLite
//! file and a real PostgreSQL server started by the test (Debian's `postgresql`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use rampart_history::scan::{Source, record_scan};
use rampart_history::sql::Val;
use rampart_history::{HistoryError, Store};
use rampart_testkit::postgres::Postgres;
use serde_json::{Value, json};
use std::sync::OnceLock;

/// One server for the tests of this binary (each store gets its own database).
fn server() -> &'static Postgres {
    static PG: OnceLock<Postgres> = OnceLock::new();
    PG.get_or_init(Postgres::start)
}

/// A fresh store of each kind: (name, location).
fn stores() -> Vec<(&'static str, String, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("history.db").display().to_string();
    vec![
        ("sqlite", file, Some(dir)),
        ("postgres", server().database(), None),
    ]
}

const DAY: i64 = 86_400_000;
const T0: i64 = 1_780_000_000_000;

fn finding(subject: &str, rule: &str, message: &str, severity: &str) -> Value {
    json!({
        "rule_id": rule, "rule_name": rule, "title": rule, "severity": severity,
        "layer": "runtime", "subject": subject,
        "location": {"file": "deploy.yaml", "line": 3, "column": 1},
        "message": message, "remediation": "", "references": []
    })
}

/// A report of schema 1.x as `rampart scan --format json` writes it (the parts recorded).
fn report(runtime: &str, findings: Vec<Value>, errors: Vec<Value>) -> Value {
    json!({
        "schema_version": "1.3",
        "tool": {"name": "rampart", "version": "0.1.0"},
        "target": "deploy",
        "summary": {},
        "layers": [{"layer": "runtime", "state": runtime}, {"layer": "build", "state": "holds"}],
        "subjects": [
            {"subject": "Deployment/shop/web", "file": "deploy.yaml", "layers": {"runtime": runtime}},
            {"subject": "Deployment/shop/api", "file": "api.yaml", "layers": {"runtime": "holds"}}
        ],
        "findings": findings,
        "errors": errors
    })
}

fn src() -> Source {
    Source {
        scope: "git@example.com:shop/deploy.git".into(),
        repo: Some("git@example.com:shop/deploy.git".into()),
        commit: Some("abc123".into()),
        commit_at: Some(T0 - DAY),
        ..Source::default()
    }
}

fn rows(store: &mut Store, sql: &str) -> Vec<Vec<Val>> {
    store.read(|tx| tx.query(sql, &[])).unwrap()
}

fn int(v: &Val) -> i64 {
    v.int().unwrap_or_else(|| panic!("not an integer: {v:?}"))
}

#[test]
fn layer_states_are_spans_and_findings_have_a_lifecycle() {
    for (kind, location, _keep) in stores() {
        let mut s = Store::open(&location).unwrap();
        let a = finding(
            "Deployment/shop/web",
            "K8S001",
            "container web runs as root",
            "high",
        );
        let b = finding(
            "Deployment/shop/web",
            "K8S002",
            "container web has no limits",
            "medium",
        );
        // day 0: weak, two findings; day 1: the same; day 2: one fixed, the layer holds;
        // day 3: the fixed one is back
        let r0 = record_scan(
            &mut s,
            &report("weak", vec![a.clone(), b.clone()], vec![]),
            &src(),
            T0,
        )
        .unwrap();
        assert_eq!((r0.new, r0.seen, r0.resolved), (2, 0, 0), "{kind}");
        // day 1 also brings a new finding, with the commit scanned
        let c = finding(
            "Deployment/shop/web",
            "K8S003",
            "container web mounts the docker socket",
            "critical",
        );
        let r1 = record_scan(
            &mut s,
            &report("weak", vec![a.clone(), b.clone(), c], vec![]),
            &src(),
            T0 + DAY,
        )
        .unwrap();
        assert_eq!(
            (r1.new, r1.seen, r1.layer_changes),
            (1, 2, 0),
            "{kind}: no state changed"
        );
        let r2 = record_scan(
            &mut s,
            &report("holds", vec![b.clone()], vec![]),
            &src(),
            T0 + 2 * DAY,
        )
        .unwrap();
        assert_eq!((r2.seen, r2.resolved), (1, 2), "{kind}");
        assert_eq!(
            r2.layer_changes, 2,
            "{kind}: the scope's and web's runtime layer"
        );
        let r3 = record_scan(
            &mut s,
            &report("weak", vec![a, b], vec![]),
            &src(),
            T0 + 3 * DAY,
        )
        .unwrap();
        assert_eq!((r3.reopened, r3.seen, r3.new), (1, 1, 0), "{kind}");

        // web's runtime layer: weak (day 0..1), holds (day 2), weak (day 3): three spans
        let spans = rows(
            &mut s,
            "SELECT l.state, l.since, l.last_seen, l.current FROM layer_states l JOIN subjects s ON s.id = l.subject_id
             WHERE s.name = 'Deployment/shop/web' AND l.layer = 'runtime' ORDER BY l.since",
        );
        let got: Vec<(String, i64, i64, i64)> = spans
            .iter()
            .map(|r| {
                (
                    r[0].text().unwrap().to_owned(),
                    int(&r[1]),
                    int(&r[2]),
                    int(&r[3]),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("weak".into(), T0, T0 + DAY, 0),
                ("holds".into(), T0 + 2 * DAY, T0 + 2 * DAY, 0),
                ("weak".into(), T0 + 3 * DAY, T0 + 3 * DAY, 1),
            ],
            "{kind}"
        );
        // api held throughout: one span, extended
        let api = rows(
            &mut s,
            "SELECT COUNT(*), MIN(l.since), MAX(l.last_seen) FROM layer_states l JOIN subjects s ON s.id = l.subject_id WHERE s.name = 'Deployment/shop/api'",
        );
        assert_eq!(
            (int(&api[0][0]), int(&api[0][1]), int(&api[0][2])),
            (1, T0, T0 + 3 * DAY),
            "{kind}"
        );

        let f = rows(
            &mut s,
            "SELECT rule_id, first_seen, last_seen, resolved_at, reopened, introduced_at FROM findings ORDER BY rule_id",
        );
        assert_eq!(f.len(), 3, "{kind}");
        assert_eq!(f[0][0].text(), Some("K8S001"));
        assert_eq!((int(&f[0][1]), int(&f[0][2])), (T0, T0 + 3 * DAY), "{kind}");
        assert_eq!(f[0][3], Val::Null, "{kind}: open again");
        assert_eq!(int(&f[0][4]), 1, "{kind}: reopened once");
        assert_eq!(f[0][5], Val::Null, "{kind}: there before the history began");
        assert_eq!((int(&f[1][1]), int(&f[1][2])), (T0, T0 + 3 * DAY), "{kind}");
        assert_eq!(int(&f[1][4]), 0, "{kind}");
        // K8S003: introduced by the commit of the run that first saw it, resolved on day 2
        assert_eq!(f[2][0].text(), Some("K8S003"));
        assert_eq!(int(&f[2][5]), T0 - DAY, "{kind}: introduced by the commit");
        assert_eq!(int(&f[2][3]), T0 + 2 * DAY, "{kind}");
        let runs = rows(
            &mut s,
            "SELECT COUNT(*) FROM runs WHERE kind = 'scan' AND repo IS NOT NULL AND commit_id = 'abc123'",
        );
        assert_eq!(int(&runs[0][0]), 4, "{kind}");
    }
}

#[test]
fn a_run_with_input_errors_never_resolves_what_it_could_not_read() {
    for (kind, location, _keep) in stores() {
        let mut s = Store::open(&location).unwrap();
        let web = finding("Deployment/shop/web", "K8S001", "root", "high");
        let gone = finding("Deployment/shop/old", "K8S001", "root", "high");
        let mut r = report("weak", vec![web.clone(), gone], vec![]);
        r["subjects"].as_array_mut().unwrap().push(json!({"subject": "Deployment/shop/old", "file": "old.yaml", "layers": {"runtime": "weak"}}));
        record_scan(&mut s, &r, &src(), T0).unwrap();
        // old.yaml does not parse now: its finding stays open; web's fixed one is resolved
        let err = json!({"file": "old.yaml", "line": 3, "column": 1, "message": "bad YAML"});
        let rec = record_scan(
            &mut s,
            &report("holds", vec![], vec![err]),
            &src(),
            T0 + DAY,
        )
        .unwrap();
        assert_eq!(rec.resolved, 1, "{kind}");
        let open = rows(
            &mut s,
            "SELECT s.name FROM findings f JOIN subjects s ON s.id = f.subject_id WHERE f.resolved_at IS NULL",
        );
        assert_eq!(
            open,
            vec![vec![Val::Text("Deployment/shop/old".into())]],
            "{kind}"
        );
        let complete = rows(&mut s, "SELECT complete FROM runs ORDER BY id");
        assert_eq!(
            complete,
            vec![vec![Val::Int(1)], vec![Val::Int(0)]],
            "{kind}"
        );
        // a complete run without it resolves it (the workload was deleted)
        let rec = record_scan(
            &mut s,
            &report("holds", vec![], vec![]),
            &src(),
            T0 + 2 * DAY,
        )
        .unwrap();
        assert_eq!(rec.resolved, 1, "{kind}");
    }
}

#[test]
fn concurrent_writers_lose_nothing() {
    for (kind, location, _keep) in stores() {
        Store::open(&location).unwrap();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let location = location.clone();
                std::thread::spawn(move || {
                    let mut s = Store::open(&location).unwrap();
                    for i in 0..15 {
                        let src = Source {
                            scope: format!("repo-{t}"),
                            ..Source::default()
                        };
                        let f = finding(
                            "Deployment/shop/web",
                            "K8S001",
                            &format!("finding {i}"),
                            "low",
                        );
                        record_scan(&mut s, &report("weak", vec![f], vec![]), &src, T0 + i)
                            .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let mut s = Store::open(&location).unwrap();
        let n = rows(&mut s, "SELECT COUNT(*) FROM runs");
        assert_eq!(int(&n[0][0]), 60, "{kind}");
        // each scope's last run left exactly its last finding open
        let open = rows(
            &mut s,
            "SELECT COUNT(*) FROM findings WHERE resolved_at IS NULL",
        );
        assert_eq!(int(&open[0][0]), 4, "{kind}");
        let all = rows(&mut s, "SELECT COUNT(*) FROM findings");
        assert_eq!(int(&all[0][0]), 60, "{kind}");
    }
}

#[test]
fn a_failed_write_leaves_nothing_half_written() {
    for (kind, location, _keep) in stores() {
        let mut s = Store::open(&location).unwrap();
        let result: Result<(), HistoryError> = s.write(|tx| {
            tx.exec(
                "INSERT INTO runs (kind, at, recorded_at, scope, complete) VALUES ('scan', 1, 1, 'x', 1)",
                &[],
            )?;
            Err(HistoryError::Report {
                origin: "test".into(),
                message: "fails midway".into(),
            })
        });
        assert!(result.is_err());
        let n = rows(&mut s, "SELECT COUNT(*) FROM runs");
        assert_eq!(int(&n[0][0]), 0, "{kind}");
    }
}

#[test]
fn a_server_that_goes_away_mid_write_is_a_clear_error_and_commits_nothing() {
    let mut pg = Postgres::start();
    let location = pg.database();
    let mut s = Store::open(&location).unwrap();
    let result: Result<(), HistoryError> = s.write(|tx| {
        tx.exec(
            "INSERT INTO runs (kind, at, recorded_at, scope, complete) VALUES ('scan', 1, 1, 'x', 1)",
            &[],
        )?;
        pg.stop();
        tx.exec(
            "INSERT INTO runs (kind, at, recorded_at, scope, complete) VALUES ('scan', 2, 2, 'x', 1)",
            &[],
        )?;
        Ok(())
    });
    let e = result.expect_err("the write failed").to_string();
    assert!(e.starts_with("postgresql:"), "{e}");
    pg.spawn();
    let mut s = Store::open(&location).unwrap();
    let n = rows(&mut s, "SELECT COUNT(*) FROM runs");
    assert_eq!(int(&n[0][0]), 0);
}

#[test]
fn foreign_corrupt_and_newer_stores_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    // not a database at all
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, vec![0x5a; 8192]).unwrap();
    let e = Store::open(junk.to_str().unwrap())
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("junk.db") && e.contains("not a rampart history store"),
        "{e}"
    );
    // another application's SQLite database
    let other = dir.path().join("other.db");
    sqlite_create(&other, "CREATE TABLE customers (id INTEGER)");
    let e = Store::open(other.to_str().unwrap())
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("other.db") && e.contains("customers"), "{e}");
    // the same on PostgreSQL
    let url = server().database();
    server()
        .psql(
            url.rsplit('/').next().unwrap(),
            "CREATE TABLE customers (id INT)",
        )
        .unwrap();
    let e = Store::open(&url).err().unwrap().to_string();
    assert!(e.contains("customers"), "{e}");
    // a store a newer rampart migrated
    for (kind, location, _keep) in stores() {
        Store::open(&location).unwrap();
        let mut s = Store::open(&location).unwrap();
        s.write(|tx| {
            tx.exec(
                "INSERT INTO migrations (version, name, applied_at) VALUES (99, 'future', 0)",
                &[],
            )
        })
        .unwrap();
        let e = Store::open(&location).err().unwrap().to_string();
        assert!(e.contains("schema version 99"), "{kind}: {e}");
    }
}

#[test]
fn nul_characters_are_stored_as_replacement_characters() {
    for (kind, location, _keep) in stores() {
        let mut s = Store::open(&location).unwrap();
        let f = finding(
            "Deployment/shop/web",
            "IMG008",
            "secret in /app/a\0b",
            "high",
        );
        record_scan(&mut s, &report("weak", vec![f], vec![]), &src(), T0).unwrap();
        let got = rows(&mut s, "SELECT message FROM findings");
        assert_eq!(
            got[0][0].text(),
            Some("secret in /app/a\u{FFFD}b"),
            "{kind}"
        );
    }
}

#[test]
fn migrations_apply_once() {
    for (kind, location, _keep) in stores() {
        for _ in 0..3 {
            Store::open(&location).unwrap();
        }
        let mut s = Store::open(&location).unwrap();
        let n = rows(&mut s, "SELECT COUNT(*), MAX(version) FROM migrations");
        assert_eq!(
            int(&n[0][0]),
            rampart_history::schema::MIGRATIONS.len() as i64,
            "{kind}"
        );
        assert_eq!(int(&n[0][1]), rampart_history::schema::latest(), "{kind}");
    }
}

fn sqlite_create(path: &std::path::Path, sql: &str) {
    // through the store's own SQLite (the crate's dependency), outside the store API
    let out = std::process::Command::new("python3")
        .args(["-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2]); c.commit()"])
        .arg(path)
        .arg(sql)
        .status()
        .unwrap();
    assert!(out.success());
}

mod hostile {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        // names, messages and rule ids come from untrusted manifests and images: whatever they
        // hold is stored as given (quotes, SQL, NULs, any Unicode) and never breaks a run
        #[test]
        fn any_text_round_trips(subject in "\\PC{0,40}", message in "\\PC{0,200}", rule in "[A-Z]{3}[0-9]{3}") {
            let dir = tempfile::tempdir().unwrap();
            let location = dir.path().join("h.db").display().to_string();
            let mut s = Store::open(&location).unwrap();
            let mut r = report("weak", vec![finding(&subject, &rule, &message, "high")], vec![]);
            r["subjects"].as_array_mut().unwrap().push(json!({"subject": subject, "layers": {"runtime": "weak"}}));
            let rec = record_scan(&mut s, &r, &src(), T0).unwrap();
            prop_assert_eq!(rec.new, 1);
            let got = rows(&mut s, "SELECT f.message, s.name FROM findings f JOIN subjects s ON s.id = f.subject_id");
            prop_assert_eq!(got[0][0].text(), Some(message.as_str()));
            prop_assert_eq!(got[0][1].text(), Some(subject.as_str()));
        }
    }
}
