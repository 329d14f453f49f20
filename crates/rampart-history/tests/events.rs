//! Inventory rescans and the monitor's alerts in the history, on SQLite and PostgreSQL: a
//! rescan imported once, an alert log imported once and refused whole when a line is not an
//! alert, the runtime drift time to detect from known times, the escape rate found later on a
//! constructed history, and every figure's reason when it is not measured (docs/metrics.md).
//! The rule alerts are made by rampart's own rule engine (`rampart_falco`, with the container
//! fields the monitor appends); the drift detector's and the enforcer's carry the fields their
//! code writes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use rampart_falco::event::{Container, Event, Process};
use rampart_history::Store;
use rampart_history::alerts::{MONITOR_DRIFT_RULE, looks_like_alert_log, record_alerts};
use rampart_history::metrics::{self, Counts, DriftImage, Measure, OpenDrift, Options, Ratio};
use rampart_history::rescan::{looks_like_rescan, record_rescan};
use rampart_history::sql::Val;
use rampart_testkit::postgres::Postgres;
use serde_json::{Value, json};

const MIN: i64 = 60_000;
const H: i64 = 60 * MIN;
const D: i64 = 24 * H;
const T0: i64 = 1_780_000_000_000;

const WEB: &str = "sha256:aaaa000000000000000000000000000000000000000000000000000000000001";
const API: &str = "sha256:bbbb000000000000000000000000000000000000000000000000000000000002";
const OLD: &str = "sha256:cccc000000000000000000000000000000000000000000000000000000000003";
const LATE: &str = "sha256:eeee000000000000000000000000000000000000000000000000000000000005";

/// RFC 3339 with nanoseconds, as the monitor writes `time` (`ms` a whole second here).
fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .unwrap()
        .to_string()
        .replace('Z', ".000000042Z")
}

fn vuln(id: &str, severity: &str, purl: &str) -> Value {
    // the fields of rampart_core::Vulnerability a rescan writes
    json!({
        "subject": "Image x", "id": id, "aliases": [id], "advisories": [id],
        "package": {"name": "p", "version": "1", "ecosystem": "deb", "purl": purl,
                    "osv_ecosystem": "Debian:12", "locations": []},
        "fixed": [], "severity": severity, "summary": "s", "references": []
    })
}

/// One image of `rampart inventory rescan --format json`.
fn entry(id: &str, name: &str, at: Option<i64>, new: Vec<Value>) -> Value {
    let mut e = json!({
        "image": {"id": id, "name": name, "recorded_at": "2026-05-01T00:00:00Z"},
        "total": new.len() + 2, "new": new,
        "fixed": [["CVE-2020-0001", "pkg:deb/debian/zlib@1"]],
        "not_checked": [["GHSA-x", "pkg:npm/a@1"]], "unchecked_packages": {"npm": 3}
    });
    if let Some(at) = at {
        e["rescanned_at"] = rfc3339(at).into();
    }
    e
}

fn admission(uid: &str, at: i64, images: &[&str], allowed: bool) -> String {
    // as rampart_admission::audit::AuditRecord serializes (camelCase)
    json!({
        "time": jiff::Timestamp::from_millisecond(at).unwrap().to_string(), "uid": uid,
        "endpoint": "validate", "kind": "Pod", "namespace": "shop", "name": uid,
        "operation": "CREATE", "username": "u", "dryRun": false, "allowed": allowed,
        "gates": [{"gate": "vulnerabilities", "outcome": "allow", "mode": "enforce"}],
        "images": images, "latencyUs": 90
    })
    .to_string()
}

/// Alerts of rules run by rampart's rule engine, with the monitor's container fields.
fn rule_alerts() -> (String, String) {
    let intent_exec = rampart_intent_like_exec_rule();
    let mut l = rampart_falco::Loader::new();
    l.load(
        "rules.yaml",
        &format!(
            "{intent_exec}
- rule: Terminal shell in container
  desc: d
  condition: evt.type = execve and proc.name = bash
  output: A shell was spawned in a container (user=%user.name shell=%proc.name)
  priority: NOTICE
  tags: [maturity_stable, container, shell, mitre_execution, T1059]
"
        ),
    );
    let mut rs = l.finish().unwrap();
    rs.set_hostname("node-1");
    rs.append_output(rampart_falco::ruleset::CONTAINER_OUTPUT)
        .unwrap();
    let event = |ms: i64, name: &str, container: &str| Event {
        num: 1,
        time_ns: u64::try_from(ms).unwrap() * 1_000_000 + 42,
        evt_type: "execve".into(),
        res: Some(0),
        proc: Arc::new(Process {
            pid: 7,
            name: name.into(),
            exepath: format!("/tmp/{name}"),
            ..Process::default()
        }),
        container: Some(Arc::new(Container {
            id: container.into(),
            image: Some("registry.example/shop/web:1.0".into()),
            image_repository: Some("registry.example/shop/web".into()),
            image_tag: Some("1.0".into()),
            image_digest: Some(WEB.into()),
            ..Container::default()
        })),
        ..Event::default()
    };
    let exec = event(T0 + 3 * D + MIN, "miner", "c2c2c2c2c2c2");
    let shell = event(T0 + 3 * D + 2 * MIN, "bash", "c1c1c1c1c1c1");
    let a = rs
        .evaluate(&exec)
        .next()
        .expect("the intent's exec rule fires");
    let b = rs.evaluate(&shell).next().expect("the shell rule fires");
    (rs.alert_json(&a, &exec), rs.alert_json(&b, &shell))
}

/// The intent's exec rule as `rampart_intent::rules` writes it for workload `web` (name,
/// priority, tags, output with the digest).
fn rampart_intent_like_exec_rule() -> String {
    "- rule: \"web: executable outside the intent\"
  desc: d
  condition: evt.type = execve and proc.exepath = /tmp/miner
  output: Executable outside the intent of web (exe=%proc.exepath user=%user.uid container=%container.id image=%container.image.repository digest=%container.image.digest)
  priority: CRITICAL
  tags: [rampart, intent, process]
"
    .to_owned()
}

/// The monitor's drift detector's alert (rampart-monitor's `drift_alert`: its fields).
fn drift_alert(ms: i64, container: &str) -> String {
    json!({
        "hostname": "node-1",
        "output": "Critical Executable not from the image ran in a container | drift=not-in-image",
        "output_fields": {
            "container.id": container, "container.image.repository": "registry.example/shop/web",
            "container.image.tag": "1.0", "container.image.digest": WEB,
            "proc.exepath": "/tmp/x", "proc.cmdline": "x", "proc.pname": "sh",
            "rampart.drift.kind": "not-in-image", "rampart.drift.reason": "not in the image",
            "rampart.drift.path": "/tmp/x", "rampart.drift.layer": "<NA>",
            "rampart.drift.expected_sha256": null, "rampart.drift.actual_sha256": null,
            "rampart.drift.first_seen": rfc3339(ms), "rampart.drift.last_seen": rfc3339(ms),
            "rampart.drift.count": 1
        },
        "priority": "Critical", "rule": MONITOR_DRIFT_RULE, "source": "syscall",
        "tags": ["container", "drift", "maturity_rampart", "mitre_execution", "T1059"],
        "time": rfc3339(ms)
    })
    .to_string()
}

/// The enforcer's denial of a write (rampart-monitor's `enforce::alert`: its fields).
fn enforce_alert(ms: i64) -> String {
    json!({
        "hostname": "node-2",
        "output": "Critical api: write outside the intent's writable paths | write /etc/x denied (EPERM) by fanotify",
        "output_fields": {
            "container.id": "c3c3c3c3c3c3", "container.name": "api", "container.image.digest": API,
            "proc.pid": 9, "proc.name": "sh", "rampart.target": "/etc/x", "rampart.step": "write",
            "rampart.mechanism": "fanotify", "rampart.outcome": "denied",
            "rampart.action": "denied (EPERM)"
        },
        "priority": "Critical", "rule": "api: write outside the intent's writable paths",
        "source": "syscall", "tags": ["intent", "enforce"], "time": rfc3339(ms)
    })
    .to_string()
}

fn count(s: &mut Store, sql: &str) -> i64 {
    s.read(|tx| tx.one(sql, &[]))
        .unwrap()
        .and_then(|v| v.int())
        .unwrap()
}

fn measured(r: &Ratio) -> (u64, u64) {
    match r {
        Ratio::Measured { part, whole, .. } => (*part, *whole),
        Ratio::NotMeasured { why } => panic!("not measured: {why}"),
    }
}

fn why_ratio(r: &Ratio) -> String {
    match r {
        Ratio::NotMeasured { why } => why.clone(),
        other => panic!("measured: {other:?}"),
    }
}

/// The escape rate found later in SQL alone (docs/metrics.md), per dialect: `(escaped,
/// rescanned after their start)` at the threshold `high`.
const ESCAPE_LATER_SQLITE: &str = "WITH admitted AS (
  SELECT j.value AS ref, MIN(e.at) AS at
  FROM events e, json_each(e.data, '$.images') j
  WHERE e.kind = 'admission' AND json_extract(e.data, '$.endpoint') = 'validate'
    AND json_extract(e.data, '$.allowed') = 1
    AND COALESCE(json_extract(e.data, '$.dryRun'), json_extract(e.data, '$.dry_run'), 0) = 0
  GROUP BY j.value
), starts AS (
  SELECT r.image, MIN(a.at) AS at
  FROM admitted a JOIN events r ON r.kind = 'rescan' AND (
    (instr(a.ref, '@') > 0 AND r.image = substr(a.ref, instr(a.ref, '@') + 1))
    OR (instr(a.ref, '@') = 0 AND r.image_ref = a.ref))
  GROUP BY r.image
)
SELECT COUNT(DISTINCT CASE WHEN r.level >= 4 THEN r.image END), COUNT(DISTINCT r.image)
FROM events r LEFT JOIN starts s ON s.image = r.image
WHERE r.kind = 'rescan' AND (s.at IS NULL OR r.at > s.at)";

const ESCAPE_LATER_POSTGRES: &str = "WITH admitted AS (
  SELECT j.ref, MIN(e.at) AS at
  FROM events e, jsonb_array_elements_text(e.data::jsonb -> 'images') AS j(ref)
  WHERE e.kind = 'admission' AND e.data::jsonb ->> 'endpoint' = 'validate'
    AND (e.data::jsonb ->> 'allowed')::boolean
    AND NOT COALESCE((e.data::jsonb ->> 'dryRun')::boolean, (e.data::jsonb ->> 'dry_run')::boolean, false)
  GROUP BY j.ref
), starts AS (
  SELECT r.image, MIN(a.at) AS at
  FROM admitted a JOIN events r ON r.kind = 'rescan' AND (
    (strpos(a.ref, '@') > 0 AND r.image = substr(a.ref, strpos(a.ref, '@') + 1))
    OR (strpos(a.ref, '@') = 0 AND r.image_ref = a.ref))
  GROUP BY r.image
)
SELECT COUNT(DISTINCT CASE WHEN r.level >= 4 THEN r.image END), COUNT(DISTINCT r.image)
FROM events r LEFT JOIN starts s ON s.image = r.image
WHERE r.kind = 'rescan' AND (s.at IS NULL OR r.at > s.at)";

fn check(kind: &str, location: &str) {
    let mut s = Store::open(location).unwrap();

    // nothing recorded: every new figure says why, none is zero
    let m = metrics::compute(&mut s, &Options::new(T0)).unwrap();
    assert_eq!(
        why_ratio(&m.escape_rate_later),
        "no inventory rescan recorded: run `rampart inventory rescan --history STORE`",
        "{kind}"
    );
    let no_alerts = "no monitor alert recorded: import the monitor's alerts (`rampart history import alerts.jsonl`)";
    assert_eq!(
        m.drift_detect_runtime,
        Measure::NotMeasured {
            why: no_alerts.into()
        },
        "{kind}"
    );
    assert_eq!(
        m.alerts_by_rule,
        Counts::NotMeasured {
            why: no_alerts.into()
        },
        "{kind}"
    );
    assert_eq!(
        m.open_drift,
        OpenDrift::NotMeasured {
            why: no_alerts.into()
        },
        "{kind}"
    );

    // admissions: web pinned by digest at T0 + 1 H, api by name at T0 + 1 H, an image the
    // inventory does not know, the late image after the last rescan, and a denied pod (not
    // admitted: its image is not counted)
    let audit = [
        admission(
            "1",
            T0 + H,
            &[&format!("registry.example/shop/web@{WEB}")],
            true,
        ),
        admission("2", T0 + H, &["registry.example/shop/api:2.0"], true),
        admission("3", T0 + H, &["registry.example/shop/unknown:9"], true),
        admission("4", T0 + 10 * D, &["registry.example/shop/late:1"], true),
        admission("5", T0 + H, &["registry.example/shop/old:1"], false),
    ]
    .join("\n");
    rampart_history::admission::record_audit_log(&mut s, &audit, "audit.jsonl", Some("prod"))
        .unwrap();

    // a rescan before the admissions: web's high vulnerability was known when it was admitted
    let first = json!([
        entry(
            WEB,
            "registry.example/shop/web:1.0",
            Some(T0),
            vec![vuln("CVE-2026-1000", "high", "pkg:deb/debian/openssl@3")]
        ),
        entry(API, "registry.example/shop/api:2.0", Some(T0), vec![]),
        entry(OLD, "registry.example/shop/old:1", Some(T0), vec![]),
        entry(LATE, "registry.example/shop/late:1", Some(T0), vec![]),
    ])
    .to_string();
    assert!(looks_like_rescan(&first));
    assert!(!looks_like_alert_log(&first));
    let i = record_rescan(&mut s, &first, "rescan-1.json", T0 + 5 * D).unwrap();
    assert_eq!((i.images, i.duplicates, i.new), (4, 0, 1), "{kind}");
    // the same file again, whatever time the caller guesses: its entries carry theirs
    let again = record_rescan(&mut s, &first, "rescan-1.json", T0 + 9 * D).unwrap();
    assert_eq!((again.images, again.duplicates), (0, 4), "{kind}");
    let rows = s
        .read(|tx| {
            tx.query(
                "SELECT at, image_ref, level, data FROM events WHERE kind = 'rescan' AND image = $1",
                &[Val::from(WEB)],
            )
        })
        .unwrap();
    assert_eq!(rows.len(), 1, "{kind}");
    assert_eq!(rows[0][0], Val::Int(T0), "{kind}");
    assert_eq!(
        rows[0][1],
        Val::Text("registry.example/shop/web:1.0".into()),
        "{kind}"
    );
    assert_eq!(rows[0][2], Val::Int(4), "{kind}");
    let data: Value = serde_json::from_str(rows[0][3].text().unwrap()).unwrap();
    assert_eq!(
        data,
        json!({
            "image": "registry.example/shop/web:1.0", "id": WEB, "total": 3,
            "new": [{"id": "CVE-2026-1000", "severity": "high", "purl": "pkg:deb/debian/openssl@3"}],
            "fixed": [["CVE-2020-0001", "pkg:deb/debian/zlib@1"]], "not_checked": 1,
            "unchecked": {"npm": 3}
        }),
        "{kind}"
    );

    // a rescan after the admissions (saved without its time: the caller's is used): api has a
    // new critical one (an escape found later), old a medium one and a waived critical one
    let mut waived = vuln("CVE-2026-3001", "critical", "pkg:deb/debian/curl@8");
    waived["waived"] = json!({"kind": "vex", "reason": "not reachable"});
    let second = json!([
        entry(WEB, "registry.example/shop/web:1.0", None, vec![]),
        entry(
            API,
            "registry.example/shop/api:2.0",
            None,
            vec![vuln("CVE-2026-2000", "critical", "pkg:deb/debian/glibc@2")]
        ),
        entry(
            OLD,
            "registry.example/shop/old:1",
            None,
            vec![
                vuln("CVE-2026-3000", "medium", "pkg:deb/debian/curl@8"),
                waived
            ]
        ),
        entry(LATE, "registry.example/shop/late:1", None, vec![]),
    ])
    .to_string();
    let i = record_rescan(&mut s, &second, "rescan-2.json", T0 + 2 * D).unwrap();
    assert_eq!((i.images, i.new), (4, 3), "{kind}");
    let again = record_rescan(&mut s, &second, "rescan-2.json", T0 + 2 * D).unwrap();
    assert_eq!(again.duplicates, 4, "{kind}");

    // a file that is not a rescan's output is refused whole, naming it
    let bad = json!([
        entry(WEB, "web", Some(T0 + 20 * D), vec![]),
        entry(
            API,
            "api",
            Some(T0 + 20 * D),
            vec![vuln("CVE-1", "severe", "pkg:x/y@1")]
        )
    ])
    .to_string();
    let e = record_rescan(&mut s, &bad, "bad.json", T0)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("bad.json: entry 2 (api): CVE-1: unknown severity"),
        "{kind}: {e}"
    );
    let e = record_rescan(&mut s, "{\"image\": 1}", "other.json", T0)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("other.json:1:"), "{kind}: {e}");
    assert_eq!(
        count(&mut s, "SELECT COUNT(*) FROM events WHERE kind = 'rescan'"),
        8,
        "{kind}"
    );

    // the escape rate found later: web (rescanned after its admission, nothing new since),
    // api (a new critical after its admission: escaped), old (never admitted: from its scan;
    // a medium one only, the critical one waived); late was admitted after the last rescan
    // (unknown, like the image the inventory does not know)
    let m = metrics::compute(&mut s, &Options::new(T0 + 20 * D)).unwrap();
    assert_eq!(measured(&m.escape_rate_later), (1, 3), "{kind}");
    assert_eq!(m.admitted_not_rescanned, 2, "{kind}");
    assert_eq!(m.escape_threshold, "high", "{kind}");
    let mut medium = Options::new(T0 + 20 * D);
    medium.escape_threshold = "medium".into();
    let m2 = metrics::compute(&mut s, &medium).unwrap();
    assert_eq!(measured(&m2.escape_rate_later), (2, 3), "{kind}");
    let mut bad = Options::new(T0);
    bad.escape_threshold = "severe".into();
    assert!(metrics::compute(&mut s, &bad).is_err(), "{kind}");
    // only rescans in the period: none since T0 + 3 D
    let mut late = Options::new(T0 + 20 * D);
    late.since = Some(T0 + 3 * D);
    let m3 = metrics::compute(&mut s, &late).unwrap();
    assert_eq!(
        why_ratio(&m3.escape_rate_later),
        "no inventory rescan in the period",
        "{kind}"
    );
    // the query of docs/metrics.md gives the same
    let sql = match s.dialect() {
        rampart_history::sql::Dialect::Sqlite => ESCAPE_LATER_SQLITE,
        rampart_history::sql::Dialect::Postgres => ESCAPE_LATER_POSTGRES,
    };
    let row = s.read(|tx| tx.query(sql, &[])).unwrap();
    assert_eq!(row[0], vec![Val::Int(1), Val::Int(3)], "{kind}");

    // alerts: the drift detector's at T0 + 3 D, the intent's exec rule at + 1 min, a shell
    // (not drift) at + 2 min, the enforcer's write denial at + 5 min; imported at + 10 min
    let (exec, shell) = rule_alerts();
    let log = [
        drift_alert(T0 + 3 * D, "c1c1c1c1c1c1"),
        exec,
        shell,
        enforce_alert(T0 + 3 * D + 5 * MIN),
    ]
    .join("\n")
        + "\n";
    assert!(looks_like_alert_log(&log));
    assert!(!looks_like_rescan(&log));
    assert!(!rampart_history::admission::looks_like_audit_log(&log));
    let reported = T0 + 3 * D + 10 * MIN;
    let i = record_alerts(&mut s, &log, "alerts.jsonl", Some("prod"), reported).unwrap();
    assert_eq!((i.alerts, i.drift, i.duplicates), (4, 3, 0), "{kind}");
    let again = record_alerts(&mut s, &log, "alerts.jsonl", Some("prod"), reported + H).unwrap();
    assert_eq!((again.alerts, again.duplicates), (0, 4), "{kind}");
    let cols = s
        .read(|tx| {
            tx.query(
                "SELECT container, image, image_ref, priority, drift FROM events
                 WHERE kind = 'alert' ORDER BY at",
                &[],
            )
        })
        .unwrap();
    assert_eq!(
        cols[1],
        vec![
            Val::Text("c2c2c2c2c2c2".into()),
            Val::Text(WEB.into()),
            Val::Text("registry.example/shop/web:1.0".into()),
            Val::Text("Critical".into()),
            Val::Int(1)
        ],
        "{kind}"
    );
    assert_eq!(cols[2][4], Val::Int(0), "{kind}: the shell is not drift");
    assert_eq!(cols[3][1], Val::Text(API.into()), "{kind}");

    // a truncated log: an error naming the line, nothing of it recorded
    let mut cut = drift_alert(T0 + 4 * D, "c9c9c9c9c9c9");
    cut.truncate(cut.len() / 2);
    let truncated = format!("{}\n{cut}\n", enforce_alert(T0 + 4 * D));
    let e = record_alerts(&mut s, &truncated, "live.jsonl", None, reported)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("live.jsonl:2: not a monitor alert"),
        "{kind}: {e}"
    );
    // another file's line (an admission decision) in the middle
    let mixed = format!(
        "{}\n\n{}\n",
        enforce_alert(T0 + 4 * D),
        admission("9", T0, &[], true)
    );
    let e = record_alerts(&mut s, &mixed, "mixed.jsonl", None, reported)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("mixed.jsonl:3:"), "{kind}: {e}");
    assert_eq!(
        count(&mut s, "SELECT COUNT(*) FROM events WHERE kind = 'alert'"),
        4,
        "{kind}"
    );
    assert_eq!(
        count(&mut s, "SELECT COUNT(*) FROM runs WHERE kind = 'alert'"),
        2,
        "{kind}"
    );

    // drift detected 10, 9 and 5 minutes after the exec or write (to its import)
    let m = metrics::compute(&mut s, &Options::new(T0 + 20 * D)).unwrap();
    assert_eq!(
        m.drift_detect_runtime,
        Measure::Measured {
            count: 3,
            mean_seconds: 8.0 * 60.0,
            p50_seconds: 9.0 * 60.0,
            p90_seconds: 10.0 * 60.0,
            max_seconds: 10.0 * 60.0
        },
        "{kind}"
    );
    let Counts::Measured { total, by } = &m.alerts_by_priority else {
        panic!("{kind}: {:?}", m.alerts_by_priority)
    };
    assert_eq!(*total, 4, "{kind}");
    assert_eq!(
        by.clone().into_iter().collect::<Vec<_>>(),
        vec![("Critical".to_owned(), 3), ("Notice".to_owned(), 1)],
        "{kind}"
    );
    let Counts::Measured { by, .. } = &m.alerts_by_rule else {
        panic!("{kind}")
    };
    assert_eq!(by.len(), 4, "{kind}");
    assert_eq!(by["Terminal shell in container"], 1, "{kind}");
    assert_eq!(by[MONITOR_DRIFT_RULE], 1, "{kind}");
    assert_eq!(
        m.open_drift,
        OpenDrift::Measured {
            images: vec![
                DriftImage {
                    image: WEB.into(),
                    reference: Some("registry.example/shop/web:1.0".into()),
                    containers: 2,
                    alerts: 2,
                    first_seen: T0 + 3 * D,
                    last_seen: T0 + 3 * D + MIN,
                },
                DriftImage {
                    image: API.into(),
                    reference: None,
                    containers: 1,
                    alerts: 1,
                    first_seen: T0 + 3 * D + 5 * MIN,
                    last_seen: T0 + 3 * D + 5 * MIN,
                },
            ]
        },
        "{kind}"
    );
    let prom = metrics::prometheus(&m);
    for line in [
        "rampart_escape_later_ratio 0.3333333333333333\n",
        "rampart_runtime_drift_detect_seconds{quantile=\"0.5\"} 540\n",
        "rampart_runtime_alerts{rule=\"Terminal shell in container\"} 1\n",
        "rampart_runtime_alerts_by_priority{priority=\"Critical\"} 3\n",
        &format!("rampart_drift_containers{{image=\"{WEB}\"}} 2\n"),
        "rampart_metric_measured{metric=\"rampart_runtime_drift_detect_seconds\"} 1\n",
    ] {
        assert!(prom.contains(line), "{kind}: {line} in\n{prom}");
    }

    // alerts recorded, none in the period: zero counted, the duration not measured
    let mut later = Options::new(T0 + 20 * D);
    later.since = Some(T0 + 10 * D);
    let m = metrics::compute(&mut s, &later).unwrap();
    assert_eq!(
        m.alerts_by_rule,
        Counts::Measured {
            total: 0,
            by: Default::default()
        },
        "{kind}"
    );
    assert_eq!(
        m.drift_detect_runtime,
        Measure::NotMeasured {
            why: "no runtime drift alert recorded in the period".into()
        },
        "{kind}"
    );
    assert_eq!(
        m.open_drift,
        OpenDrift::Measured { images: vec![] },
        "{kind}"
    );
}

#[test]
fn rescans_and_alerts_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    check("sqlite", &dir.path().join("h.db").display().to_string());
}

#[test]
fn rescans_and_alerts_on_postgres() {
    let pg = Postgres::start();
    check("postgres", &pg.database());
}

/// Every image rescanned after its admission, none found vulnerable: zero, measured.
#[test]
fn no_escape_found_later_is_zero_not_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(&dir.path().join("h.db").display().to_string()).unwrap();
    rampart_history::admission::record_audit_log(
        &mut s,
        &admission("1", T0, &[&format!("web@{WEB}")], true),
        "a.jsonl",
        None,
    )
    .unwrap();
    // rescanned only before the admission: nobody looked since, not measured
    let before = json!([entry(WEB, "web", Some(T0 - H), vec![])]).to_string();
    record_rescan(&mut s, &before, "r0.json", 0).unwrap();
    let m = metrics::compute(&mut s, &Options::new(T0 + D)).unwrap();
    assert!(
        why_ratio(&m.escape_rate_later).starts_with("no image was rescanned after its admission"),
        "{:?}",
        m.escape_rate_later
    );
    assert_eq!(m.admitted_not_rescanned, 1);
    let after = json!([entry(WEB, "web", Some(T0 + H), vec![])]).to_string();
    record_rescan(&mut s, &after, "r1.json", 0).unwrap();
    let m = metrics::compute(&mut s, &Options::new(T0 + D)).unwrap();
    assert_eq!(measured(&m.escape_rate_later), (0, 1));
    assert_eq!(m.admitted_not_rescanned, 0);
}
