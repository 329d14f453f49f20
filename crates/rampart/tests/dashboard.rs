//! The report and the dashboard as a person uses them: the example's recorded history
//! (examples/history/load.sh) opened in real headless Chromium driven by Playwright
//! (rampart_testkit::browser): the tiles show `rampart metrics`' numbers, the charts have their
//! points, a click on a breached layer drills down to its findings, the filters narrow the
//! castle, axe-core finds no serious violation, nothing is fetched from outside; the JSON API
//! is checked against its OpenAPI document by schemathesis; markup planted in a workload name
//! and a finding message stays text. Screenshots are kept under target/test-artifacts/.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use rampart_testkit::browser;
use serde_json::{Value, json};

mod common;

const NOW: &str = "2026-11-30T00:00:00Z";

fn rampart() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rampart"))
}

/// The example's history, recorded by its own script.
fn example_store(dir: &Path) -> String {
    let store = dir.join("example.db").display().to_string();
    let out = Command::new("bash")
        .arg(common::root().join("examples/history/load.sh"))
        .arg(&store)
        .env("RAMPART", env!("CARGO_BIN_EXE_rampart"))
        .output()
        .unwrap();
    common::ok(&out);
    store
}

fn metrics_json(store: &str) -> Value {
    let out = rampart()
        .args([
            "metrics",
            "--history",
            store,
            "--format",
            "json",
            "--now",
            NOW,
        ])
        .output()
        .unwrap();
    common::ok(&out);
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A running `rampart serve`, stopped on drop.
struct Served {
    child: Child,
    base: String,
}

impl Served {
    fn start(store: &str, extra: &[&str]) -> Served {
        let mut child = rampart()
            .args([
                "serve",
                "--history",
                store,
                "--listen",
                "127.0.0.1:0",
                "--now",
                NOW,
            ])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let base = line.trim().trim_end_matches('/').to_owned();
        assert!(base.starts_with("http://127.0.0.1:"), "{line}");
        Served { child, base }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value a tile shows for a metric of `rampart metrics --format json`.
fn expected_tile(m: &Value, id: &str) -> String {
    let measure = |v: &Value| match v["status"].as_str() {
        Some("measured") => v
            .get("mean_seconds")
            .or_else(|| v.get("ratio"))
            .unwrap()
            .to_string(),
        _ => String::new(),
    };
    match id {
        "detect" => measure(&m["detect"]),
        "remediate" => measure(&m["remediate"]),
        "recover" => measure(&m["recover"]),
        "gate-coverage" => measure(&m["gate_coverage"]),
        "namespaces-enforced" => measure(&m["namespaces_enforced"]),
        "signed-and-scanned" => measure(&m["signed_and_scanned"]),
        "escape-rate" => measure(&m["escape_rate"]),
        "escape-rate-later" => measure(&m["escape_rate_later"]),
        "drift-detect-runtime" => measure(&m["drift_detect_runtime"]),
        "alerts" => m["alerts_by_priority"]["total"].to_string(),
        "open" => m["open"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum::<u64>()
            .to_string(),
        "past-deadline" => m["deadlines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["breached"].as_u64().unwrap())
            .sum::<u64>()
            .to_string(),
        other => panic!("no tile {other}"),
    }
}

/// The tiles a page shows equal the metrics (as numbers: the page prints f64s as Rust does,
/// the JSON as serde_json does).
fn assert_tiles(out: &browser::Outcome, m: &Value, page: &str) {
    let ids = out.texts("tile_ids");
    let values = out.texts("tile_values");
    assert_eq!(ids.len(), 12, "{page}: {ids:?}");
    for (id, shown) in ids.iter().zip(&values) {
        let want = expected_tile(m, id);
        match (shown.parse::<f64>(), want.parse::<f64>()) {
            (Ok(a), Ok(b)) => assert!((a - b).abs() < 1e-9, "{page}: tile {id}: {a} != {b}"),
            _ => assert_eq!(shown, &want, "{page}: tile {id}"),
        }
    }
}

fn clean(out: &browser::Outcome, page: &str) {
    assert!(out.problems().is_empty(), "{page}: {:#?}", out.problems());
    assert!(
        out.axe.is_empty(),
        "{page}: axe: {:#?}",
        out.violation_ids()
    );
    assert!(
        out.outside_requests.is_empty(),
        "{page}: {:?}",
        out.outside_requests
    );
}

#[test]
fn the_example_history_in_the_report_and_the_dashboard() {
    let dir = tempfile::tempdir().unwrap();
    let store = example_store(dir.path());
    let m = metrics_json(&store);
    // the example's story is in the figures: its drift was detected and remediated, the
    // layer held again, and the admission log gives coverage and an escape
    for k in [
        "detect",
        "remediate",
        "recover",
        "gate_coverage",
        "escape_rate",
        "escape_rate_later",
        "drift_detect_runtime",
    ] {
        assert_eq!(m[k]["status"], "measured", "{k}: {}", m[k]);
    }

    // the one-file report, opened from disk
    let report = dir.path().join("report.html");
    let out = rampart()
        .args(["report", "--html"])
        .arg(&report)
        .args(["--history", &store, "--now", NOW])
        .output()
        .unwrap();
    common::ok(&out);
    let html = std::fs::read_to_string(&report).unwrap();
    let points = html.matches("<circle").count();
    let out = browser::drive(
        "example_report",
        &[
            json!({"goto": report.display().to_string()}),
            json!({"attr_all": ["li.tile", "data-metric"], "as": "tile_ids"}),
            json!({"attr_all": ["li.tile .value", "data-value"], "as": "tile_values"}),
            json!({"count": "figure.chart circle", "as": "points"}),
            json!({"count": "#chart-open-findings circle", "as": "open_points"}),
            json!({"count": "table.castle tbody tr", "as": "castle_rows"}),
            json!({"attr_all": ["#chart-layer-states g.series", "data-series"], "as": "states"}),
            json!({"click": "a[href='#findings']"}),
            json!({"eval": "location.hash", "as": "hash"}),
            json!({"axe": true}),
            json!({"screenshot": "report"}),
        ],
    )
    .unwrap();
    clean(&out, "report");
    assert_tiles(&out, &m, "report");
    assert_eq!(out.number("points"), Some(points as f64));
    // a point a day from the first scan (2 November) to "now" (30 November)
    let open_points = out.number("open_points").unwrap();
    assert!(open_points >= 28.0, "{open_points}");
    assert!(out.number("castle_rows").unwrap() >= 10.0);
    let states = out.texts("states");
    assert!(
        states.contains(&"holds".to_owned()) && states.contains(&"breached".to_owned()),
        "{states:?}"
    );
    assert_eq!(out.text("hash"), Some("#findings"));

    // the dashboard
    let served = Served::start(&store, &[]);
    let base = &served.base;
    let out = browser::drive(
        "example_dashboard",
        &[
            json!({"goto": format!("{base}/")}),
            json!({"attr_all": ["li.tile", "data-metric"], "as": "tile_ids"}),
            json!({"attr_all": ["li.tile .value", "data-value"], "as": "tile_values"}),
            json!({"count": "figure.chart circle", "as": "points"}),
            json!({"axe": true}),
            json!({"screenshot": "castle"}),
            // drill-down: the first breached layer of the castle to its findings
            json!({"attr": ["table.castle td.st-breached a", "href"], "as": "drill"}),
            json!({"text": "table.castle tbody tr:has(td.st-breached) th a", "as": "drilled_subject"}),
            json!({"click": "table.castle td.st-breached a"}),
            json!({"wait": "[data-filter-subject]"}),
            json!({"text": "[data-filter-subject]", "as": "filtered_subject"}),
            json!({"attr": ["[data-total]", "data-total"], "as": "drilled_total"}),
            json!({"all_text": "table.findings tbody tr td:nth-child(4)", "as": "drilled_layers"}),
            json!({"axe": true}),
            json!({"screenshot": "findings"}),
            // the filters: the castle of one namespace
            json!({"goto": format!("{base}/")}),
            json!({"select": ["select[name=namespace]", "shop"]}),
            json!({"click": "form.filters button[type=submit]"}),
            json!({"wait": "table.castle"}),
            json!({"eval": "location.search", "as": "search"}),
            json!({"all_text": "table.castle tbody th a", "as": "shop_subjects"}),
            // the admission decisions behind the coverage tile
            json!({"click": "li.tile[data-metric=gate-coverage] a"}),
            json!({"wait": "table.events"}),
            json!({"attr": ["[data-total]", "data-total"], "as": "decisions"}),
            json!({"axe": true}),
            json!({"screenshot": "events"}),
        ],
    )
    .unwrap();
    clean(&out, "dashboard");
    assert_tiles(&out, &m, "dashboard");
    assert!(out.number("points").unwrap() >= open_points);
    let subject = out.text("drilled_subject").unwrap().to_owned();
    assert_eq!(out.text("filtered_subject"), Some(subject.as_str()));
    let layer = out
        .text("drill")
        .unwrap()
        .split('&')
        .find_map(|p| p.strip_prefix("layer="))
        .unwrap()
        .to_owned();
    let layers = out.texts("drilled_layers");
    assert!(
        !layers.is_empty() && layers.iter().all(|l| *l == layer),
        "{layer}: {layers:?}"
    );
    assert_eq!(
        out.text("drilled_total").unwrap().parse::<usize>().unwrap(),
        layers.len()
    );
    // a GET form sends its empty fields too: they filter nothing
    assert!(
        out.text("search").unwrap().contains("namespace=shop"),
        "{:?}",
        out.text("search")
    );
    let shop = out.texts("shop_subjects");
    assert!(!shop.is_empty(), "no subject in shop");
    assert!(
        shop.iter()
            .all(|s| s.contains(" shop/") || s == "Namespace shop"),
        "{shop:?}"
    );
    // the namespace filter carries over: shop's 11 of the log's 14 decisions
    assert_eq!(out.text("decisions"), Some("11"));

    // the API keeps its OpenAPI document
    let check = browser::run_schemathesis(&format!("{base}/openapi.json"), base, &[]).unwrap();
    assert!(check.passed, "{}", check.output);
}

#[test]
fn markup_planted_in_a_workload_and_a_message_is_shown_as_text() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("h.db").display().to_string();
    let name = "Deployment shop/<script>window.__xss=1</script>";
    let message = "<img src=x onerror=\"window.__xss=2\"> & <b>bold</b>";
    let report = json!({
        "schema_version": "1.3", "tool": {"name": "rampart", "version": "0.1.0"}, "target": "evil",
        "summary": {}, "layers": [{"layer": "runtime", "state": "breached"}],
        "subjects": [{"subject": name, "file": "<i>evil</i>.yaml", "layers": {"runtime": "breached"}}],
        "findings": [{
            "rule_id": "K8S001", "rule_name": "privileged", "title": "<u>title</u>", "severity": "critical",
            "layer": "runtime", "subject": name, "location": {"file": "<i>evil</i>.yaml", "line": 1, "column": 1},
            "message": message, "remediation": "", "references": []
        }],
        "errors": []
    });
    let file = dir.path().join("evil.json");
    std::fs::write(&file, report.to_string()).unwrap();
    let out = rampart()
        .args([
            "history",
            "import",
            "--history",
            &store,
            "--at",
            "2026-11-20T10:00:00Z",
        ])
        .arg(&file)
        .output()
        .unwrap();
    common::ok(&out);
    // served with a token (a browser signs in once with ?token=), and as the one-file report
    let token = dir.path().join("token");
    std::fs::write(&token, "t0ken-for-the-test\n").unwrap();
    let served = Served::start(&store, &["--token-file", token.to_str().unwrap()]);
    let html = dir.path().join("report.html");
    let out = rampart()
        .args(["report", "--history", &store, "--now", NOW, "--html"])
        .arg(&html)
        .output()
        .unwrap();
    common::ok(&out);
    let read = |page: &str| {
        let mut steps = Vec::new();
        if page != "findings" {
            steps.push(json!({"text": "table.castle tbody th a", "as": format!("{page}_subject")}));
        }
        steps.extend([
            json!({"all_text": "td.message", "as": format!("{page}_message")}),
            json!({"eval": "String(window.__xss)", "as": format!("{page}_xss")}),
            json!({"count": "main script, main img, main b, main u, main i", "as": format!("{page}_planted")}),
        ]);
        steps
    };
    let mut steps =
        vec![json!({"goto": format!("{}/findings", served.base), "as": "unauthorized"})];
    steps.push(json!({"goto": format!("{}/?token=t0ken-for-the-test", served.base)}));
    steps.extend(read("castle"));
    steps.push(json!({"goto": format!("{}/findings", served.base)}));
    steps.extend(read("findings"));
    steps.push(json!({"goto": html.display().to_string()}));
    steps.extend(read("report"));
    let out = browser::drive("planted_markup", &steps).unwrap();
    assert_eq!(out.number("unauthorized"), Some(401.0));
    for page in ["castle", "findings", "report"] {
        if page != "findings" {
            assert_eq!(out.text(&format!("{page}_subject")), Some(name), "{page}");
        }
        if page != "castle" {
            let messages = out.texts(&format!("{page}_message"));
            assert!(
                messages.iter().any(|m| m.contains(message)),
                "{page}: {messages:?}"
            );
        }
        assert_eq!(
            out.text(&format!("{page}_xss")),
            Some("undefined"),
            "{page}"
        );
        assert_eq!(out.number(&format!("{page}_planted")), Some(0.0), "{page}");
    }
}
