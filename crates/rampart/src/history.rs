//! `rampart history`: the measurement layer's store (crate `rampart-history`,
//! docs/history.md). `rampart scan --history STORE` records each scan and `rampart inventory
//! rescan --history STORE` each rescan; `rampart history import` backfills saved JSON reports,
//! rescans, admission audit logs and the monitor's alerts.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use rampart_history::Store;
use rampart_history::scan::{Recorded, Source, record_scan};

/// The store: a SQLite file or a `postgres://` URL.
#[derive(Debug, Clone, Args)]
pub struct StoreArg {
    /// The history store: a file (SQLite, created when missing) or a PostgreSQL URL
    /// (`postgres://user@host/db`). `history` and `metrics` default to
    /// `$XDG_DATA_HOME/rampart/history.db`; `inventory rescan` records only when it is given.
    #[arg(long = "history", env = "RAMPART_HISTORY", value_name = "STORE")]
    pub location: Option<String>,
}

impl StoreArg {
    /// The location given, or the default file.
    pub fn location(&self) -> Result<String> {
        if let Some(l) = &self.location {
            return Ok(l.clone());
        }
        let base = std::env::var_os("XDG_DATA_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
            .context("no history store given (--history) and no HOME for the default")?;
        let dir = base.join("rampart");
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(dir.join("history.db").display().to_string())
    }
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    #[command(subcommand)]
    pub command: HistoryCommand,
}

#[derive(Debug, Subcommand)]
pub enum HistoryCommand {
    /// Record saved JSON scan reports (`rampart scan --format json`), inventory rescans
    /// (`rampart inventory rescan --format json`), admission audit logs (the webhook's JSON
    /// lines) and the monitor's alerts (its JSON lines), told apart by their content, each file
    /// in one transaction: a file that cannot be read is an error naming it (and the line), and
    /// the others are still recorded.
    Import(ImportArgs),
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Reports, rescans, audit logs and alert logs, recorded in the order given.
    #[arg(required = true)]
    pub reports: Vec<PathBuf>,
    #[command(flatten)]
    pub store: StoreArg,
    /// The scope the reports cover (default: each report's target).
    #[arg(long)]
    pub scope: Option<String>,
    /// The cluster the admission audit logs and the monitor's alerts come from.
    #[arg(long)]
    pub cluster: Option<String>,
    /// When the scans (and rescans saved without their time) ran, and when the alerts were
    /// reported (RFC 3339, e.g. 2026-11-02T10:00:00Z; default: each file's modification time,
    /// and for alerts the import's time).
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// The repository the scanned reports come from (a CI's backfill; `rampart scan
    /// --history` finds it itself).
    #[arg(long, value_name = "URL")]
    pub repo: Option<String>,
    /// The commit the scanned reports were made at.
    #[arg(long, value_name = "SHA")]
    pub commit: Option<String>,
    /// The commit's time (RFC 3339): when a finding a scan first reports was introduced, for
    /// the time to detect.
    #[arg(long, value_name = "TIME")]
    pub commit_at: Option<String>,
}

/// `rampart history ...`.
pub fn run(args: &HistoryArgs) -> Result<u8> {
    match &args.command {
        HistoryCommand::Import(a) => import(a),
    }
}

pub fn parse_time(s: &str) -> Result<i64> {
    let t: jiff::Timestamp = s
        .parse()
        .with_context(|| format!("`{s}` is not an RFC 3339 time (e.g. 2026-11-02T10:00:00Z)"))?;
    Ok(t.as_millisecond())
}

fn import(args: &ImportArgs) -> Result<u8> {
    let location = args.store.location()?;
    let mut store = Store::open(&location)?;
    let at = args
        .at
        .as_deref()
        .map(parse_time)
        .transpose()
        .context("--at")?;
    let commit_at = args
        .commit_at
        .as_deref()
        .map(parse_time)
        .transpose()
        .context("--commit-at")?;
    let mut failed = 0usize;
    for path in &args.reports {
        let text = match std::fs::read(path) {
            Ok(t) => t,
            Err(e) => {
                failed += 1;
                eprintln!("rampart: cannot read {}: {e}", path.display());
                continue;
            }
        };
        let shown = path.display().to_string();
        let when = || match at {
            Some(t) => t,
            None => modified(path),
        };
        // an inventory rescan (a JSON array of images), an admission audit log or the
        // monitor's alerts (JSON lines), else a scan report (one JSON document)
        let lossy = String::from_utf8_lossy(&text);
        let other = if rampart_history::rescan::looks_like_rescan(&lossy) {
            Some(
                rampart_history::rescan::record_rescan(&mut store, &lossy, &shown, when()).map(
                    |i| {
                        format!(
                            "run {}: rescan of {} image(s) ({} new vulnerabilities), {} already recorded",
                            i.run, i.images, i.new, i.duplicates
                        )
                    },
                ),
            )
        } else if rampart_history::admission::looks_like_audit_log(&lossy) {
            Some(
                rampart_history::admission::record_audit_log(
                    &mut store,
                    &lossy,
                    &shown,
                    args.cluster.as_deref(),
                )
                .map(|i| {
                    format!(
                        "run {}: {} admission decision(s), {} already recorded",
                        i.run, i.decisions, i.duplicates
                    )
                }),
            )
        } else if rampart_history::alerts::looks_like_alert_log(&lossy) {
            Some(
                rampart_history::alerts::record_alerts(
                    &mut store,
                    &lossy,
                    &shown,
                    args.cluster.as_deref(),
                    // when rampart reported them: the import, or --at for a backfill
                    at.unwrap_or_else(rampart_history::now_ms),
                )
                .map(|i| {
                    format!(
                        "run {}: {} monitor alert(s) ({} runtime drift), {} already recorded",
                        i.run, i.alerts, i.drift, i.duplicates
                    )
                }),
            )
        } else {
            None
        };
        if let Some(result) = other {
            match result {
                Ok(line) => eprintln!("rampart: {shown}: {line}"),
                Err(e) => {
                    failed += 1;
                    eprintln!("rampart: {e} (nothing of {shown} recorded)");
                }
            }
            continue;
        }
        let result = (|| -> Result<Recorded> {
            let report: serde_json::Value = serde_json::from_slice(&text).map_err(|e| {
                anyhow::anyhow!(
                    "{}:{}:{}: not JSON: {e}",
                    path.display(),
                    e.line(),
                    e.column()
                )
            })?;
            let when = when();
            let scope = match &args.scope {
                Some(s) => s.clone(),
                None => report
                    .get("target")
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_owned)
                    .with_context(|| {
                        format!("{}: the report has no target: give --scope", path.display())
                    })?,
            };
            let source = Source {
                scope,
                origin: Some(path.display().to_string()),
                repo: args.repo.clone(),
                commit: args.commit.clone(),
                commit_at,
                ..Source::default()
            };
            Ok(record_scan(&mut store, &report, &source, when)?)
        })();
        match result {
            Ok(r) => eprintln!("rampart: {}: {}", path.display(), summary(&r)),
            Err(e) => {
                failed += 1;
                eprintln!("rampart: {e:#}");
            }
        }
    }
    if failed > 0 {
        eprintln!(
            "rampart: {failed} of {} report(s) not recorded (exit 2)",
            args.reports.len()
        );
        return Ok(crate::EXIT_ERROR);
    }
    Ok(0)
}

/// A file's modification time (ms since the epoch), else now.
fn modified(path: &Path) -> i64 {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|m| jiff::Timestamp::try_from(m).ok())
        .map_or_else(rampart_history::now_ms, |t| t.as_millisecond())
}

/// One line on what a recorded run changed.
pub fn summary(r: &Recorded) -> String {
    format!(
        "run {}: {} subject(s), {} layer change(s), findings {} new, {} seen again, {} reopened, {} resolved",
        r.run, r.subjects, r.layer_changes, r.new, r.seen, r.reopened, r.resolved
    )
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// Where a scan of `paths` comes from: the git repository (its `origin` remote, else its
/// top-level directory), the commit and its time, and the paths within it; else the paths.
pub fn source_of(paths: &[PathBuf], scope: Option<&str>) -> Source {
    let canon: Vec<PathBuf> = paths
        .iter()
        .map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone()))
        .collect();
    let first = canon.first().cloned().unwrap_or_else(|| PathBuf::from("."));
    let dir = if first.is_dir() {
        first.clone()
    } else {
        first
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or(first.clone())
    };
    let mut source = Source::default();
    let mut names: Vec<String> = canon.iter().map(|p| p.display().to_string()).collect();
    if let Some(top) = git(&dir, &["rev-parse", "--show-toplevel"]) {
        let repo = git(&dir, &["remote", "get-url", "origin"]).unwrap_or_else(|| top.clone());
        source.commit = git(&dir, &["rev-parse", "HEAD"]);
        source.commit_at = git(&dir, &["log", "-1", "--format=%ct"])
            .and_then(|s| s.parse::<i64>().ok())
            .map(|s| s * 1000);
        names = canon
            .iter()
            .map(|p| {
                let rel = p.strip_prefix(&top).unwrap_or(p).display().to_string();
                if rel.is_empty() {
                    repo.clone()
                } else {
                    format!("{repo}:{rel}")
                }
            })
            .collect();
        source.repo = Some(repo);
    }
    names.sort();
    source.scope = scope.map_or_else(|| names.join(","), str::to_owned);
    source
}

/// Output format of `rampart metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MetricsFormat {
    /// A summary for people.
    Table,
    /// Every figure, with the reason of each one not measured.
    Json,
    /// The Prometheus text format (a node exporter textfile, a scrape).
    Prometheus,
}

#[derive(Debug, Args)]
pub struct MetricsArgs {
    #[command(flatten)]
    pub store: StoreArg,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = MetricsFormat::Table)]
    pub format: MetricsFormat,
    /// Only this scope (a repository and path, as `rampart scan --history` records it).
    #[arg(long)]
    pub scope: Option<String>,
    /// Only findings first seen (and layer changes) since this time (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Measure ages and deadlines to this time instead of now (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub now: Option<String>,
    /// A remediation deadline: SEVERITY=DAYS (repeatable; default critical=7, high=30;
    /// SEVERITY=none removes one).
    #[arg(long, value_name = "SEVERITY=DAYS")]
    pub deadline: Vec<String>,
    /// The escape rate found later counts new vulnerabilities at or above SEVERITY
    /// (critical, high, medium, low, info).
    #[arg(long, value_name = "SEVERITY", default_value = "high")]
    pub escape_threshold: String,
}

/// `rampart metrics`.
pub fn metrics(args: &MetricsArgs) -> Result<u8> {
    use rampart_history::metrics::{self, Options};
    let now = args
        .now
        .as_deref()
        .map(parse_time)
        .transpose()
        .context("--now")?
        .unwrap_or_else(rampart_history::now_ms);
    let mut o = Options::new(now);
    o.scope.clone_from(&args.scope);
    o.since = args
        .since
        .as_deref()
        .map(parse_time)
        .transpose()
        .context("--since")?;
    o.deadlines = deadlines(&args.deadline)?;
    o.escape_threshold = escape_threshold(&args.escape_threshold)?;
    let location = args.store.location()?;
    let mut store = Store::open(&location)?;
    let m = metrics::compute(&mut store, &o)?;
    let text = match args.format {
        MetricsFormat::Json => serde_json::to_string_pretty(&m)? + "\n",
        MetricsFormat::Prometheus => metrics::prometheus(&m),
        MetricsFormat::Table => table(&m, store.location()),
    };
    crate::write_out(None, &text)?;
    Ok(0)
}

/// `--escape-threshold SEVERITY`, checked.
pub fn escape_threshold(arg: &str) -> Result<String> {
    let threshold = arg.trim().to_ascii_lowercase();
    if rampart_history::rescan::severity_rank(&threshold).is_none() {
        anyhow::bail!("--escape-threshold {arg}: expected critical, high, medium, low or info");
    }
    Ok(threshold)
}

/// `--deadline SEVERITY=DAYS` options over the defaults (critical 7, high 30).
pub fn deadlines(args: &[String]) -> Result<std::collections::BTreeMap<String, i64>> {
    use rampart_history::metrics::{DAY_MS, default_deadlines};
    let mut out = default_deadlines();
    for d in args {
        let (sev, days) = d
            .split_once('=')
            .with_context(|| format!("--deadline {d}: expected SEVERITY=DAYS"))?;
        let sev = sev.trim().to_ascii_lowercase();
        if !rampart_dashboard::view::SEVERITIES.contains(&sev.as_str()) {
            anyhow::bail!("--deadline {d}: unknown severity `{sev}`");
        }
        if days.trim() == "none" {
            out.remove(&sev);
            continue;
        }
        let n: i64 = days
            .trim()
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .with_context(|| format!("--deadline {d}: DAYS must be a positive number of days"))?;
        out.insert(sev, n * DAY_MS);
    }
    Ok(out)
}

// durations for people: the dashboard's tiles print the same
use rampart_dashboard::html::{human, percent};

/// A "not measured" line of the table, its reason wrapped under it to fit 80 columns.
fn not_measured(name: &str, why: &str) -> String {
    const INDENT: usize = 25;
    const WIDTH: usize = 80;
    let mut out = format!("  {name:<22} not measured:");
    let mut col = out.chars().count();
    for word in why.split_whitespace() {
        let n = word.chars().count();
        if col + 1 + n > WIDTH && col > INDENT {
            out.push('\n');
            out.push_str(&" ".repeat(INDENT - 1));
            col = INDENT - 1;
        }
        out.push(' ');
        out.push_str(word);
        col += 1 + n;
    }
    out.push('\n');
    out
}

fn table(m: &rampart_history::metrics::Metrics, location: &str) -> String {
    use rampart_history::metrics::{Counts, Measure, OpenDrift, Ratio};
    let mut out = String::new();
    let runs: Vec<String> = m.runs.iter().map(|(k, v)| format!("{v} {k}")).collect();
    out.push_str(&format!(
        "rampart metrics of {location}{} ({} run(s): {})\n\n",
        m.scope
            .as_deref()
            .map(|s| format!(", scope {s}"))
            .unwrap_or_default(),
        m.runs.values().sum::<u64>(),
        if runs.is_empty() {
            "none".to_owned()
        } else {
            runs.join(", ")
        }
    ));
    for (name, what, measure) in [
        ("time to detect drift", "finding(s)", &m.detect),
        ("time to remediate", "finding(s)", &m.remediate),
        ("time to hold again", "layer span(s)", &m.recover),
        (
            "runtime drift detect",
            "drift alert(s)",
            &m.drift_detect_runtime,
        ),
    ] {
        match measure {
            Measure::Measured {
                count,
                mean_seconds,
                p50_seconds,
                p90_seconds,
                max_seconds,
            } => {
                let line = format!(
                    "  {name:<22} mean {:<7} p50 {:<7} p90 {:<7} max {:<7}",
                    human(*mean_seconds),
                    human(*p50_seconds),
                    human(*p90_seconds),
                    human(*max_seconds)
                );
                let tail = format!("over {count} {what}");
                // 80 columns: the count goes under the figures when it does not fit beside
                if line.chars().count() + 1 + tail.chars().count() <= 80 {
                    out.push_str(&format!("{line} {tail}\n"));
                } else {
                    out.push_str(&format!("{}\n{:24} {tail}\n", line.trim_end(), ""));
                }
            }
            Measure::NotMeasured { why } => out.push_str(&not_measured(name, why)),
        }
    }
    let mut ratios: Vec<(String, &Ratio)> = vec![
        ("policy-gate coverage".to_owned(), &m.gate_coverage),
        ("namespaces enforced".to_owned(), &m.namespaces_enforced),
        ("signed and scanned".to_owned(), &m.signed_and_scanned),
        ("escape rate".to_owned(), &m.escape_rate),
        (
            format!("escape later ({}+)", m.escape_threshold),
            &m.escape_rate_later,
        ),
    ];
    for (gate, r) in &m.gate_coverage_by_gate {
        ratios.push((format!("  gate {gate}"), r));
    }
    for (name, ratio) in ratios {
        match ratio {
            Ratio::Measured { part, whole, ratio } => out.push_str(&format!(
                "  {name:<22} {} ({part} of {whole})\n",
                percent(*ratio)
            )),
            Ratio::NotMeasured { why } => out.push_str(&not_measured(&name, why)),
        }
    }
    if m.admitted_not_rescanned > 0 {
        out.push_str(&format!(
            "  ({} admitted image(s) no rescan has looked at since their admission: not counted)\n",
            m.admitted_not_rescanned
        ));
    }
    for (name, counts) in [
        ("alerts by priority", &m.alerts_by_priority),
        ("alerts by rule", &m.alerts_by_rule),
    ] {
        match counts {
            Counts::Measured { total, by } => {
                let parts: Vec<String> = by.iter().map(|(k, v)| format!("{k} {v}")).collect();
                out.push_str(&format!(
                    "  {name:<22} {total}{}{}\n",
                    if parts.is_empty() { "" } else { ": " },
                    parts.join(", ")
                ));
            }
            Counts::NotMeasured { why } => out.push_str(&not_measured(name, why)),
        }
    }
    match &m.open_drift {
        OpenDrift::Measured { images } if images.is_empty() => {
            out.push_str("  runtime drift          none\n")
        }
        OpenDrift::Measured { images } => {
            out.push_str("  runtime drift by image:\n");
            for i in images {
                out.push_str(&format!(
                    "    {} {}: {} container(s), {} alert(s)\n",
                    i.image,
                    i.reference.as_deref().unwrap_or(""),
                    i.containers,
                    i.alerts
                ));
            }
        }
        OpenDrift::NotMeasured { why } => out.push_str(&not_measured("runtime drift", why)),
    }
    let open: Vec<String> = m.open.iter().map(|(k, v)| format!("{k} {v}")).collect();
    out.push_str(&format!(
        "\nopen findings: {}\n",
        if open.is_empty() {
            "none".to_owned()
        } else {
            open.join(", ")
        }
    ));
    for d in &m.deadlines {
        out.push_str(&format!(
            "deadline {} ({} d): {} open, {} past the deadline, {} resolved late\n",
            d.severity, d.days, d.open, d.breached, d.resolved_late
        ));
    }
    if !m.breaches.is_empty() {
        out.push_str("\npast the deadline (oldest first):\n");
        for b in &m.breaches {
            out.push_str(&format!(
                "  {} {:<8} {} open {} d (deadline {} d): {}\n",
                b.rule_id, b.severity, b.subject, b.age_days, b.deadline_days, b.message
            ));
        }
    }
    if !m.layers.is_empty() {
        out.push_str("\nlayers now (subjects by state):\n");
        for l in &m.layers {
            let states: Vec<String> = l.states.iter().map(|(k, v)| format!("{k} {v}")).collect();
            out.push_str(&format!("  {:<13} {}\n", l.layer, states.join(", ")));
        }
    }
    out
}
