//! `rampart history`: the measurement layer's store (crate `rampart-history`,
//! docs/history.md). `rampart scan --history STORE` records each scan; `rampart history
//! import` backfills saved JSON reports.

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
    /// (`postgres://user@host/db`). Default: `$XDG_DATA_HOME/rampart/history.db`.
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
    /// Record saved JSON scan reports (`rampart scan --format json`), each in one transaction:
    /// a report that cannot be read is an error naming it, and the others are still recorded.
    Import(ImportArgs),
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// JSON reports, recorded in the order given.
    #[arg(required = true)]
    pub reports: Vec<PathBuf>,
    #[command(flatten)]
    pub store: StoreArg,
    /// The scope the reports cover (default: each report's target).
    #[arg(long)]
    pub scope: Option<String>,
    /// When the scans ran (RFC 3339, e.g. 2026-11-02T10:00:00Z; default: each file's
    /// modification time).
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
}

/// `rampart history ...`.
pub fn run(args: &HistoryArgs) -> Result<u8> {
    match &args.command {
        HistoryCommand::Import(a) => import(a),
    }
}

fn parse_time(s: &str) -> Result<i64> {
    let t: jiff::Timestamp = s
        .parse()
        .with_context(|| format!("--at: `{s}` is not an RFC 3339 time"))?;
    Ok(t.as_millisecond())
}

fn import(args: &ImportArgs) -> Result<u8> {
    let location = args.store.location()?;
    let mut store = Store::open(&location)?;
    let at = args.at.as_deref().map(parse_time).transpose()?;
    let mut failed = 0usize;
    for path in &args.reports {
        let result = (|| -> Result<Recorded> {
            let text =
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            let report: serde_json::Value = serde_json::from_slice(&text).map_err(|e| {
                anyhow::anyhow!(
                    "{}:{}:{}: not JSON: {e}",
                    path.display(),
                    e.line(),
                    e.column()
                )
            })?;
            let when = match at {
                Some(t) => t,
                None => std::fs::metadata(path)
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|m| jiff::Timestamp::try_from(m).ok())
                    .map_or_else(rampart_history::now_ms, |t| t.as_millisecond()),
            };
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
