//! The dashboard's server time over a store (bench/history.sh runs it after the history
//! generator): each page rendered as `rampart serve` renders it, the best of `RUNS` runs
//! (target < 300 ms a page at 10,000 subjects over a year).
//!
//!   cargo run --release -p rampart-dashboard --example dashboard_bench -- STORE NOW_MS
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use rampart_dashboard::view::{self, Filter};
use rampart_dashboard::{Settings, html, overview, report};
use rampart_history::Store;

const RUNS: usize = 3;

fn best(mut f: impl FnMut() -> usize) -> (Duration, usize) {
    let mut best = Duration::MAX;
    let mut size = 0;
    for _ in 0..RUNS {
        let t = Instant::now();
        size = f();
        best = best.min(t.elapsed());
    }
    (best, size)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let location = args.get(1).expect("STORE");
    let now: i64 = args.get(2).and_then(|v| v.parse().ok()).expect("NOW_MS");
    let mut store = Store::open(location).unwrap();
    let settings = Settings {
        now: Some(now),
        ..Settings::default()
    };
    let all = Filter {
        page: 1,
        ..Filter::default()
    };
    let scope = {
        let c = store.read(|tx| view::castle(tx, &all)).unwrap();
        c.facets.scopes.first().cloned()
    };
    let one_scope = Filter {
        scope: scope.clone(),
        ..all.clone()
    };
    let mut pages: Vec<(String, Duration, usize)> = Vec::new();
    for (name, f) in [("/", &all), ("/?scope=S", &one_scope)] {
        let (d, n) = best(|| {
            let ov = overview(&mut store, f, &settings).unwrap();
            html::overview(&ov.metrics, &ov.castle, &ov.trends, f, "")
                .into_string()
                .len()
        });
        pages.push((name.into(), d, n));
    }
    let (d, n) = best(|| {
        let (fs, c) = store
            .read(|tx| Ok((view::findings(tx, &all)?, view::facets(tx, &all)?)))
            .unwrap();
        html::findings_page(&fs, &c, &all, "").into_string().len()
    });
    pages.push(("/findings".into(), d, n));
    let (d, n) = best(|| {
        let ev = store.read(|tx| view::events(tx, &all)).unwrap();
        html::events_page(&ev, &all, "").into_string().len()
    });
    pages.push(("/events".into(), d, n));
    let (d, n) = best(|| {
        store
            .read(|tx| {
                let (from, to) = view::default_period(tx, now, settings.max_days)?;
                view::trends(tx, &all, from, to, &settings.deadlines)
            })
            .map(|t| serde_json::to_string(&t).unwrap().len())
            .unwrap()
    });
    pages.push(("/api/trends".into(), d, n));
    let (d, n) = best(|| report(&mut store, None, &[], &settings).unwrap().len());
    pages.push(("report --html".into(), d, n));
    // where the overview's time goes (the best of RUNS for each part)
    let part = |f: &mut dyn FnMut()| {
        let mut best = Duration::MAX;
        for _ in 0..RUNS {
            let t = Instant::now();
            f();
            best = best.min(t.elapsed());
        }
        best.as_secs_f64() * 1000.0
    };
    for (name, f) in [("/", &all), ("/?scope=S", &one_scope)] {
        let o = settings.options(f.scope.as_deref());
        let m = part(&mut || {
            rampart_history::metrics::compute(&mut store, &o).unwrap();
        });
        let c = part(&mut || {
            store.read(|tx| view::castle(tx, f)).unwrap();
        });
        let t = part(&mut || {
            store
                .read(|tx| {
                    let (from, to) = view::default_period(tx, now, settings.max_days)?;
                    view::trends(tx, f, from, to, &settings.deadlines)
                })
                .unwrap();
        });
        let ov = overview(&mut store, f, &settings).unwrap();
        let r = part(&mut || {
            html::overview(&ov.metrics, &ov.castle, &ov.trends, f, "").into_string();
        });
        let (_, each) = rampart_history::metrics::compute_timed(&mut store, &o).unwrap();
        println!(
            "{name} in parts, ms: metrics {m:.0} ({}), castle {c:.0}, trends {t:.0}, rendering {r:.0}",
            each.iter()
                .map(|(k, d)| format!("{k} {:.0}", d.as_secs_f64() * 1000.0))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let slowest = pages.iter().max_by_key(|p| p.1).map(|p| p.0.clone());
    println!(
        "dashboard server time, ms (best of {RUNS}): {} (slowest: {}; target < 300 ms a page)",
        pages
            .iter()
            .map(|(p, d, n)| format!("{p} {:.0} ({} KiB)", d.as_secs_f64() * 1000.0, n / 1024))
            .collect::<Vec<_>>()
            .join(", "),
        slowest.unwrap_or_default()
    );
}
