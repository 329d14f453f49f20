//! The report and the dashboard over a history whose every time is known, on SQLite and on a
//! real PostgreSQL: the castle, the tiles (equal to the metrics), the chart points (worked out
//! by hand), drill-down filters, escaping of planted markup, and the server's rules
//! (read-only, token, status codes). The browser tests (Chromium, axe-core, schemathesis) are
//! in crates/rampart/tests/dashboard.rs, through the CLI.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use rampart_dashboard::server::{self, Options, ServeError};
use rampart_dashboard::view::{self, Filter};
use rampart_dashboard::{Settings, report};
use rampart_history::Store;
use rampart_history::metrics::{self, Measure, Ratio};
use rampart_history::scan::{Source, record_scan};
use rampart_testkit::postgres::Postgres;
use serde_json::{Value, json};

const H: i64 = 3_600_000;
const D: i64 = 24 * H;
/// noon, 2026-05-25 (UTC)
const T0: i64 = 20_598 * D + 12 * H;
const HOSTILE: &str = "Deployment shop/<script>alert(1)</script>";
const HOSTILE_MESSAGE: &str = "runs as root <img src=x onerror=alert(2)> \"quoted\"";

fn finding(rule: &str, severity: &str, subject: &str, message: &str) -> Value {
    json!({
        "rule_id": rule, "rule_name": rule, "title": rule, "severity": severity,
        "layer": "runtime", "subject": subject,
        "location": {"file": "web.yaml", "line": 3, "column": 1},
        "message": message, "remediation": "", "references": []
    })
}

fn report_json(runtime: &str, findings: Vec<Value>) -> Value {
    json!({
        "schema_version": "1.3", "tool": {"name": "rampart", "version": "0.1.0"}, "target": "k8s",
        "summary": {}, "layers": [{"layer": "runtime", "state": runtime}],
        "subjects": [
            {"subject": "Deployment shop/web", "file": "web.yaml", "layers": {"runtime": runtime, "network": "holds"}},
            {"subject": HOSTILE, "file": "evil.yaml", "layers": {"runtime": "breached"}},
            {"subject": "Image registry.local/api", "file": "api", "layers": {"image": "holds"}}
        ],
        "findings": findings, "errors": []
    })
}

fn audit_line(uid: &str, gates: Value) -> String {
    json!({
        "time": "2026-05-27T10:00:00Z", "uid": uid, "endpoint": "validate",
        "kind": "Pod", "namespace": "shop", "name": format!("pod-{uid}"), "operation": "CREATE",
        "username": "u", "dry_run": false, "allowed": true, "gates": gates, "latency_us": 1
    })
    .to_string()
}

/// Four scans (a high and two criticals on web, one resolved, a hostile subject with a
/// hostile message) and two admission decisions (one covered, one escaped).
fn history(s: &mut Store) {
    let a = finding("K8S001", "high", "Deployment shop/web", "a on web");
    let b = finding("K8S003", "critical", "Deployment shop/web", "b on web");
    let c = finding("K8S005", "critical", "Deployment shop/web", "c on web");
    let evil = finding("K8S002", "medium", HOSTILE, HOSTILE_MESSAGE);
    let runs = [
        (T0, "weak", vec![a.clone(), b.clone(), evil.clone()]),
        (T0 + D, "weak", vec![a, b.clone(), c, evil.clone()]),
        (T0 + 3 * D, "holds", vec![b.clone(), evil.clone()]),
        (T0 + 10 * D, "weak", vec![b, evil]),
    ];
    for (at, state, findings) in runs {
        let source = Source {
            scope: "shop".into(),
            repo: Some("https://git.example.com/shop.git".into()),
            commit: Some(format!("c{at}")),
            commit_at: Some(at - H),
            ..Source::default()
        };
        record_scan(s, &report_json(state, findings), &source, at).unwrap();
    }
    let log = [
        audit_line(
            "1",
            json!([{"gate": "pss", "outcome": "allow", "mode": "enforce"},
                   {"gate": "vulnerabilities", "outcome": "allow", "mode": "enforce"}]),
        ),
        audit_line(
            "2",
            json!([{"gate": "pss", "outcome": "allow", "mode": "enforce"},
                   {"gate": "vulnerabilities", "outcome": "warn", "mode": "warn"}]),
        ),
    ]
    .join("\n");
    rampart_history::admission::record_audit_log(s, &log, "audit.jsonl", Some("prod")).unwrap();
}

fn settings() -> Settings {
    Settings {
        now: Some(T0 + 12 * D),
        ..Settings::default()
    }
}

/// A GET (or another method) over a plain socket: status, headers, body.
fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("Content-Length: 0\r\n\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap();
    (status, head.to_owned(), body.to_owned())
}

fn series(t: &view::Trends, chart: &str, name: &str) -> Vec<f64> {
    t.charts
        .iter()
        .find(|c| c.id == chart)
        .unwrap()
        .series
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("{chart}: no series {name}"))
        .points
        .iter()
        .map(|p| p.value)
        .collect()
}

/// Everything the pages read, as JSON (compared across SQLite and PostgreSQL).
fn views(s: &mut Store) -> Value {
    let st = settings();
    s.read(|tx| {
        let f = Filter {
            page: 1,
            ..Filter::default()
        };
        let shop = Filter {
            namespace: Some("shop".into()),
            status: view::Status::All,
            ..f.clone()
        };
        let (from, to) = view::default_period(tx, st.now(), st.max_days)?;
        Ok(json!({
            "castle": view::castle(tx, &f)?,
            "castle_images": view::castle(tx, &Filter { kind: Some("Image".into()), ..f.clone() })?,
            "findings": view::findings(tx, &f)?,
            "findings_shop_all": view::findings(tx, &shop)?,
            "findings_web_runtime": view::findings(tx, &Filter { subject: Some("Deployment shop/web".into()), layer: Some("runtime".into()), ..f.clone() })?,
            "events": view::events(tx, &f)?,
            "trends": view::trends(tx, &f, from, to, &st.deadlines)?,
        }))
    })
    .unwrap()
}

fn check(kind: &str, location: &str) -> Value {
    let mut s = Store::open(location).unwrap();
    history(&mut s);
    let st = settings();
    let v = views(&mut s);

    // the castle: three subjects, worst first (the hostile one has a breached layer)
    let rows = v["castle"]["rows"].as_array().unwrap();
    let names: Vec<&str> = rows
        .iter()
        .map(|r| r["subject"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [HOSTILE, "Deployment shop/web", "Image registry.local/api"],
        "{kind}"
    );
    assert_eq!(rows[1]["layers"]["runtime"], "weak", "{kind}");
    assert_eq!(rows[1]["open"]["critical"], 1, "{kind}");
    assert_eq!(rows[1]["namespace"], "shop", "{kind}");
    assert_eq!(v["castle"]["layers"]["runtime"]["weak"], 1, "{kind}");
    assert_eq!(v["castle"]["layers"]["runtime"]["breached"], 1, "{kind}");
    assert_eq!(v["castle"]["namespaces"], json!(["shop"]), "{kind}");
    // the image filter keeps only the image
    assert_eq!(v["castle_images"]["subjects"], 1, "{kind}");
    // findings: open ones worst first; the namespace filter with every status; drill-down to
    // one subject and layer
    let sev: Vec<&str> = v["findings"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["severity"].as_str().unwrap())
        .collect();
    assert_eq!(sev, ["critical", "medium"], "{kind}");
    assert_eq!(v["findings_shop_all"]["total"], 4, "{kind}");
    assert_eq!(v["findings_web_runtime"]["total"], 1, "{kind}");
    assert_eq!(
        v["findings_web_runtime"]["rows"][0]["rule_id"], "K8S003",
        "{kind}"
    );
    assert_eq!(v["events"]["total"], 2, "{kind}");
    assert!(
        v["events"]["rows"][0]["summary"]
            .as_str()
            .unwrap()
            .starts_with("admitted: Pod shop/pod-"),
        "{kind}"
    );

    // trends, worked out by hand: a point at each UTC midnight from the first scan (noon of
    // day 0) and one at "now" (noon of day 12); b (critical) open from day 0, c (critical)
    // from day 1 to day 3, a (high) from day 0 to day 3
    let t: view::Trends = serde_json::from_value(v["trends"].clone()).unwrap();
    assert_eq!(t.bucket_days, 1, "{kind}");
    let crit = series(&t, "open-findings", "critical");
    assert_eq!(crit.len(), 13, "{kind}");
    assert_eq!(&crit[..5], &[1.0, 2.0, 2.0, 1.0, 1.0], "{kind}");
    assert_eq!(
        &series(&t, "open-findings", "high")[..5],
        &[1.0, 1.0, 1.0, 0.0, 0.0],
        "{kind}"
    );
    // b is past its 7-day deadline from day 7 (still open at "now")
    let past = series(&t, "past-deadline", "critical past 7 d");
    assert_eq!(
        past.iter().filter(|v| **v == 1.0).count(),
        6,
        "{kind}: {past:?}"
    );
    // detect: only c has a known introduction (the first scan's findings predate the
    // history), found 1 h after its commit
    let detect = series(&t, "drift-timing", "time to detect");
    assert_eq!(detect.len(), 1, "{kind}");
    assert!((detect[0] - 1.0 / 24.0).abs() < 1e-9, "{kind}: {detect:?}");
    // remediate: a after 3 d and c after 2 d, both resolved on day 3: a mean of 2.5 d
    assert_eq!(
        series(&t, "drift-timing", "time to remediate"),
        vec![2.5],
        "{kind}"
    );
    // layer states: web's runtime weak, holding on day 3, weak again on day 10
    let holds = series(&t, "layer-states", "holds");
    // (web's network and the image hold throughout)
    assert_eq!(
        (holds[0], holds[3], holds[10]),
        (2.0, 3.0, 2.0),
        "{kind}: {holds:?}"
    );
    // admission: both decisions on day 2 (2026-05-27): one of two covered, one of two escaped
    assert_eq!(
        series(&t, "admission", "policy-gate coverage"),
        vec![50.0],
        "{kind}"
    );
    assert_eq!(series(&t, "admission", "escape rate"), vec![50.0], "{kind}");

    // the daily trend rows the runs wrote give what the findings and spans themselves give,
    // and so does migration 6's backfill of them
    let both = |s: &mut Store| {
        s.read(|tx| {
            let mut out = Vec::new();
            for f in [
                Filter::default(),
                Filter {
                    scope: Some("shop".into()),
                    ..Filter::default()
                },
                Filter {
                    layer: Some("runtime".into()),
                    ..Filter::default()
                },
            ] {
                let (from, to) = view::default_period(tx, st.now(), st.max_days)?;
                let rows = view::trends_with(tx, &f, from, to, &st.deadlines, true)?;
                let days = view::trends_with(tx, &f, from, to, &st.deadlines, false)?;
                out.push((rows, days));
            }
            Ok(out)
        })
        .unwrap()
    };
    let incremental = both(&mut s);
    for (rows, days) in &incremental {
        assert_eq!(rows, days, "{kind}");
    }
    s.write(|tx| {
        tx.batch("DELETE FROM trend_days")?;
        tx.batch(rampart_history::schema::TREND_DAYS_FILL)
    })
    .unwrap();
    assert_eq!(both(&mut s), incremental, "{kind}: the backfill differs");

    // the report: the tiles are the metrics, the hostile strings are text, nothing loads
    let m = metrics::compute(&mut s, &st.options(None)).unwrap();
    let html = report(&mut s, None, &[], &st).unwrap();
    assert!(
        !html.contains("<script"),
        "{kind}: a planted script became markup"
    );
    assert!(
        !html.contains("<img"),
        "{kind}: a planted image became markup"
    );
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{kind}"
    );
    assert!(
        html.contains("&lt;img src=x onerror=alert(2)&gt;"),
        "{kind}"
    );
    assert!(
        html.contains("http-equiv=\"Content-Security-Policy\""),
        "{kind}"
    );
    assert!(
        !html.contains(" src=\""),
        "{kind}: the report loads nothing"
    );
    let Measure::Measured { mean_seconds, .. } = m.remediate else {
        panic!("{kind}: remediate not measured")
    };
    assert!(
        html.contains(&format!(
            "data-metric=\"remediate\"><p class=\"name\">Time to remediate</p><p class=\"value\" data-value=\"{mean_seconds}\""
        )),
        "{kind}"
    );
    let Ratio::Measured { ratio, .. } = m.gate_coverage else {
        panic!("{kind}: gate coverage not measured")
    };
    assert_eq!(ratio, 0.5, "{kind}");
    assert!(html.contains(&format!("data-metric=\"gate-coverage\"><p class=\"name\">Policy-gate coverage</p><p class=\"value\" data-value=\"{ratio}\"")), "{kind}");
    // every chart point is drawn, as a circle
    let circles = html.matches("<circle").count();
    let points: usize = t
        .charts
        .iter()
        .flat_map(|c| &c.series)
        .map(|s| s.points.len())
        .sum();
    assert_eq!(circles, points, "{kind}");
    v
}

#[test]
fn the_pages_read_the_same_history_on_sqlite_and_postgresql() {
    let dir = tempfile::tempdir().unwrap();
    let lite = check("sqlite", &dir.path().join("h.db").display().to_string());
    let pg = Postgres::start();
    let post = check("postgres", &pg.database());
    // the same answers from both stores, but for the ids the databases chose
    let strip = |mut v: Value| {
        for k in [
            "findings",
            "findings_shop_all",
            "findings_web_runtime",
            "events",
        ] {
            for r in v[k]["rows"].as_array_mut().unwrap() {
                r["id"] = Value::Null;
            }
        }
        v
    };
    assert_eq!(strip(lite), strip(post));
}

fn serve(location: &str, addr: &str, token: Option<&str>) -> Result<server::Running, ServeError> {
    server::start(
        location,
        Options {
            addr: addr.parse().unwrap(),
            token: token.map(str::to_owned),
            workers: 2,
            settings: settings(),
            rules: Vec::new(),
        },
    )
}

#[test]
fn the_server_is_read_only_and_says_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let location = dir.path().join("h.db").display().to_string();
    let mut s = Store::open(&location).unwrap();
    history(&mut s);
    let expected =
        serde_json::to_value(metrics::compute(&mut s, &settings().options(None)).unwrap()).unwrap();
    drop(s);
    let running = serve(&location, "127.0.0.1:0", None).unwrap();
    let addr = running.addr();

    let (status, head, body) = request(addr, "GET", "/", &[]);
    assert_eq!(status, 200);
    assert!(
        head.contains("Content-Security-Policy: default-src 'none'"),
        "{head}"
    );
    assert!(head.contains("Server-Timing: app;dur="), "{head}");
    assert!(body.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && !body.contains("<script"));
    // the API's metrics are `rampart metrics`' JSON
    let (status, _, body) = request(addr, "GET", "/api/metrics", &[]);
    assert_eq!(status, 200);
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), expected);
    // drill-down: a subject's findings in one layer
    let (status, _, body) = request(
        addr,
        "GET",
        "/api/findings?subject=Deployment%20shop%2Fweb&layer=runtime&status=all",
        &[],
    );
    assert_eq!(status, 200);
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["total"], 3);
    let (status, _, body) = request(
        addr,
        "GET",
        "/findings?subject=Deployment%20shop%2Fweb",
        &[],
    );
    assert_eq!(status, 200);
    assert!(body.contains("data-total=\"1\""), "{body}");
    // a value outside its set is a 400 that names the parameter, as JSON on the API
    let (status, _, body) = request(addr, "GET", "/api/findings?layer=moat", &[]);
    assert_eq!(status, 400);
    assert!(body.contains("query parameter `layer`"), "{body}");
    let (status, _, _) = request(addr, "GET", "/nowhere", &[]);
    assert_eq!(status, 404);
    // read-only
    let (status, head, _) = request(addr, "POST", "/api/findings", &[]);
    assert_eq!(status, 405);
    assert!(head.contains("Allow: GET, HEAD"), "{head}");
    let (status, _, body) = request(addr, "GET", "/openapi.json", &[]);
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["openapi"],
        "3.0.3"
    );

    // a page is computed once while the store is unchanged, and again after a write
    let (_, head, first) = request(addr, "GET", "/api/castle", &[]);
    assert!(head.contains("cache;desc=miss"), "{head}");
    let (_, head, again) = request(addr, "GET", "/api/castle", &[]);
    assert!(head.contains("cache;desc=hit"), "{head}");
    assert_eq!(first, again);
    let mut s = Store::open(&location).unwrap();
    let source = Source {
        scope: "other".into(),
        ..Source::default()
    };
    record_scan(
        &mut s,
        &report_json("holds", Vec::new()),
        &source,
        T0 + 11 * D,
    )
    .unwrap();
    drop(s);
    let (_, head, after) = request(addr, "GET", "/api/castle", &[]);
    assert!(head.contains("cache;desc=miss"), "{head}");
    let subjects = |b: &str| serde_json::from_str::<Value>(b).unwrap()["subjects"].clone();
    assert_eq!((subjects(&first), subjects(&after)), (json!(3), json!(6)));
    running.stop();

    // off loopback a token is required; with one, every request must carry it
    assert!(matches!(
        serve(&location, "0.0.0.0:0", None),
        Err(ServeError::NeedsToken(_))
    ));
    let running = serve(&location, "127.0.0.1:0", Some("s3cret")).unwrap();
    let addr = running.addr();
    assert_eq!(request(addr, "GET", "/api/metrics", &[]).0, 401);
    assert_eq!(
        request(
            addr,
            "GET",
            "/api/metrics",
            &[("Authorization", "Bearer wrong")]
        )
        .0,
        401
    );
    assert_eq!(
        request(
            addr,
            "GET",
            "/api/metrics",
            &[("Authorization", "Bearer s3cret")]
        )
        .0,
        200
    );
    // a browser: ?token= once, then the cookie
    let (status, head, _) = request(addr, "GET", "/findings?token=s3cret&layer=runtime", &[]);
    assert_eq!(status, 303);
    assert!(head.contains("Location: /findings?layer=runtime"), "{head}");
    assert!(
        head.contains("Set-Cookie: rampart_token=s3cret; HttpOnly; SameSite=Strict"),
        "{head}"
    );
    assert_eq!(
        request(addr, "GET", "/", &[("Cookie", "rampart_token=s3cret")]).0,
        200
    );
    assert_eq!(request(addr, "GET", "/?token=nope", &[]).0, 401);
    running.stop();
}

#[test]
fn a_store_that_is_not_one_is_refused_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("not-a-store.db");
    std::fs::write(&path, b"this is not SQLite at all, just text").unwrap();
    let err = serve(&path.display().to_string(), "127.0.0.1:0", None)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("not-a-store.db"), "{err}");
}

/// A larger history for the castle's paging: `scopes` x 90 subjects over five runs, their
/// states and findings drawn from a fixed sequence (findings resolved, reopened, changing
/// severity, suppressed), names whose byte order differs from a locale's.
fn ranked_history(s: &mut Store, scopes: usize) {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    let states = ["holds", "weak", "breached", "not-assessed"];
    let severities = ["critical", "high", "medium"];
    for run in 0..5 {
        for scope in 0..scopes {
            let mut subjects = Vec::new();
            let mut findings = Vec::new();
            for i in 0..90 {
                let name = match i % 3 {
                    0 => format!("Deployment ns{}/app-{i}", i % 4),
                    1 => format!("Deployment ns{}/Zed-{i}", i % 4),
                    _ => format!("Image reg.local/élan-{i}"),
                };
                let layers: serde_json::Map<String, Value> = ["build", "runtime", "network"]
                    .iter()
                    .map(|l| ((*l).to_owned(), json!(states[next(4) as usize])))
                    .collect();
                subjects.push(json!({"subject": name, "file": "f.yaml", "layers": layers}));
                for rule in 0..next(4) {
                    let mut f = finding(
                        &format!("K8S00{rule}"),
                        severities[next(3) as usize],
                        &name,
                        &format!("m{rule}"),
                    );
                    if next(10) == 0 {
                        f["suppressed"] = json!({"reason": "accepted"});
                    }
                    findings.push(f);
                }
            }
            let report = json!({
                "schema_version": "1.3", "tool": {"name": "rampart", "version": "0.1.0"},
                "target": "k8s", "summary": {}, "layers": [], "subjects": subjects,
                "findings": findings, "errors": []
            });
            let source = Source {
                scope: format!("scope-{scope}"),
                ..Source::default()
            };
            record_scan(s, &report, &source, T0 + run * D).unwrap();
        }
    }
}

/// The castle, a page at a time: every subject once, worst first (breached layers, weak
/// layers, open critical, open high findings, as its row shows them), then by scope and name
/// in byte order; the rank columns every run keeps equal their recomputation from scratch.
fn check_castle_ranks(kind: &str, location: &str) {
    let mut s = Store::open(location).unwrap();
    ranked_history(&mut s, 3);
    let ranks = |s: &mut Store| {
        s.read(|tx| {
            tx.query(
                "SELECT id, breached, weak, open_critical, open_high FROM subjects ORDER BY id",
                &[],
            )
        })
        .unwrap()
    };
    let kept = ranks(&mut s);
    s.write(|tx| tx.batch(rampart_history::schema::RANK_ALL))
        .unwrap();
    assert_eq!(
        ranks(&mut s),
        kept,
        "{kind}: the kept ranks differ from a recomputation"
    );
    assert!(
        kept.iter().any(|r| r[1].int() > Some(0)) && kept.iter().any(|r| r[3].int() > Some(0)),
        "{kind}: the history has breached layers and open criticals"
    );

    let mut all = Vec::new();
    let mut page = 1;
    loop {
        let c = s
            .read(|tx| {
                view::castle(
                    tx,
                    &Filter {
                        page,
                        ..Filter::default()
                    },
                )
            })
            .unwrap();
        assert_eq!(c.subjects, 270, "{kind}");
        assert_eq!(c.pages, 3, "{kind}");
        all.extend(c.rows);
        if page == c.pages {
            break;
        }
        page += 1;
    }
    let key = |r: &view::CastleRow| {
        let count = |s: &str| r.layers.values().filter(|v| *v == s).count();
        let open = |s: &str| r.open.get(s).copied().unwrap_or(0);
        (
            std::cmp::Reverse((
                count("breached"),
                count("weak"),
                open("critical"),
                open("high"),
            )),
            r.scope.clone(),
            r.subject.clone(),
        )
    };
    let keys: Vec<_> = all.iter().map(key).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(keys, sorted, "{kind}: not worst first, or a subject twice");
    assert_eq!(keys.len(), 270, "{kind}");
    // the counts per layer and state cover every subject
    let c = s.read(|tx| view::castle(tx, &Filter::default())).unwrap();
    for (layer, states) in &c.layers {
        let n: u64 = states.values().sum();
        assert_eq!(n, 270, "{kind}: {layer}");
        let breached = all
            .iter()
            .filter(|r| r.layers.get(layer).map(String::as_str) == Some("breached"))
            .count() as u64;
        assert_eq!(
            states.get("breached").copied().unwrap_or(0),
            breached,
            "{kind}"
        );
    }
}

#[test]
fn the_castle_pages_subjects_worst_first_on_sqlite_and_postgresql() {
    let dir = tempfile::tempdir().unwrap();
    check_castle_ranks("sqlite", &dir.path().join("h.db").display().to_string());
    let pg = Postgres::start();
    check_castle_ranks("postgres", &pg.database());
}
