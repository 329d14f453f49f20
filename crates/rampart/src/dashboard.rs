//! `rampart report --html` and `rampart serve`: the measurement layer's pictures over the
//! history store (crate `rampart-dashboard`, docs/history.md).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use rampart_dashboard::Settings;
use rampart_history::Store;

use crate::history::{StoreArg, deadlines, parse_time};

/// What both pictures are computed with.
#[derive(Debug, Args)]
pub struct PictureArgs {
    #[command(flatten)]
    pub store: StoreArg,
    /// A remediation deadline: SEVERITY=DAYS (repeatable; default critical=7, high=30;
    /// SEVERITY=none removes one), as `rampart metrics --deadline`.
    #[arg(long, value_name = "SEVERITY=DAYS")]
    pub deadline: Vec<String>,
    /// Compute ages, deadlines and the trends' end at this time instead of now (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub now: Option<String>,
    /// The longest period the trend charts cover, in days.
    #[arg(long, default_value_t = 365, value_name = "DAYS")]
    pub days: i64,
}

impl PictureArgs {
    fn settings(&self) -> Result<Settings> {
        if self.days < 1 {
            bail!("--days must be at least 1");
        }
        Ok(Settings {
            deadlines: deadlines(&self.deadline)?,
            max_days: self.days,
            now: self
                .now
                .as_deref()
                .map(parse_time)
                .transpose()
                .context("--now")?,
        })
    }

    /// The store, which must exist (a picture of a store never recorded is a typo).
    fn open(&self) -> Result<(Store, String)> {
        let location = self.store.location()?;
        if !rampart_history::is_postgres(&location) && !std::path::Path::new(&location).exists() {
            bail!(
                "no history store at {location}: record scans with `rampart scan --history {location}` or `rampart history import`"
            );
        }
        let store = Store::open(&location)?;
        Ok((store, location))
    }
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Write the self-contained HTML report here (`-`: standard output).
    #[arg(long, value_name = "FILE")]
    pub html: PathBuf,
    /// Only this scope (a repository and path, or a cluster).
    #[arg(long)]
    pub scope: Option<String>,
    #[command(flatten)]
    pub picture: PictureArgs,
}

/// `rampart report --html FILE`.
pub fn report(args: &ReportArgs) -> Result<u8> {
    let settings = args.picture.settings()?;
    let (mut store, _) = args.picture.open()?;
    let rules = rampart_scan::catalog();
    let html = rampart_dashboard::report(&mut store, args.scope.as_deref(), &rules, &settings)?;
    if args.html.as_os_str() == "-" {
        crate::write_out(None, &html)?;
    } else {
        std::fs::write(&args.html, html)
            .with_context(|| format!("cannot write {}", args.html.display()))?;
        eprintln!("rampart: wrote {}", args.html.display());
    }
    Ok(0)
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Where to listen. Off loopback a bearer token is required.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub listen: SocketAddr,
    /// A file holding the bearer token every request must carry (`Authorization: Bearer`;
    /// a browser opens the dashboard once with `?token=`). Also RAMPART_TOKEN.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Worker threads (each with its own connection to the store).
    #[arg(long, default_value_t = 4)]
    pub workers: usize,
    #[command(flatten)]
    pub picture: PictureArgs,
    #[command(flatten)]
    pub adapter: AdapterArgs,
}

/// `rampart serve --scanner-adapter` (docs/harbor.md).
#[derive(Debug, Args)]
#[command(next_help_heading = "Harbor scanner adapter")]
pub struct AdapterArgs {
    /// Serve Harbor's pluggable scanner API (adapter specification v1.2) over the fleet store
    /// instead of the dashboard: scan requests become jobs of the fleet's queue, reports are
    /// made from the stored analyses.
    #[arg(long, requires = "fleet_store")]
    pub scanner_adapter: bool,
    /// The fleet store: a PostgreSQL URL (postgres://user@host:port/db). Default:
    /// $RAMPART_FLEET_STORE.
    #[arg(long = "store", value_name = "URL", env = crate::fleet::STORE_ENV, hide_env_values = true)]
    pub fleet_store: Option<String>,
    /// The advisory database vulnerability reports are matched against when they are asked
    /// for. Without one the adapter makes SBOM reports only and refuses vulnerability reports.
    #[arg(long, value_name = "FILE", requires = "scanner_adapter")]
    pub db: Option<PathBuf>,
    /// Fleet workers analysing images in this process (a small installation); 0: the jobs
    /// are left to `rampart fleet worker` processes on the same store.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 0,
        requires = "scanner_adapter"
    )]
    pub fleet_workers: usize,
    /// Seconds Harbor is told to wait (Refresh-After, Retry-After) before asking again for a
    /// report still being made.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 5,
        requires = "scanner_adapter"
    )]
    pub refresh_after: u32,
    /// Attempts of a scan's job before it fails for good (its reason is the report's error).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 3,
        requires = "scanner_adapter"
    )]
    pub max_attempts: i32,
    /// How the embedded fleet workers reach registries for jobs without their own access
    /// (a Harbor job pulls with its request's credential, over its URL's scheme).
    #[command(flatten)]
    pub registry: crate::cli::ImageArgs,
}

fn token(args: &ServeArgs) -> Result<Option<String>> {
    Ok(match &args.token_file {
        Some(f) => Some(
            std::fs::read_to_string(f)
                .with_context(|| format!("cannot read the token file {}", f.display()))?
                .trim()
                .to_owned(),
        ),
        None => std::env::var("RAMPART_TOKEN").ok(),
    })
}

/// `rampart serve --scanner-adapter`: Harbor's pluggable scanner API, with fleet workers in
/// this process when asked.
fn serve_adapter(args: &ServeArgs) -> Result<u8> {
    let a = &args.adapter;
    let url = a
        .fleet_store
        .clone()
        .context("--scanner-adapter needs the fleet store: --store URL or RAMPART_FLEET_STORE")?;
    if let Some(db) = &a.db
        && !db.is_file()
    {
        bail!("--db {}: no advisory database there", db.display());
    }
    if a.max_attempts < 1 {
        bail!("--max-attempts: at least 1");
    }
    let running = rampart_fleet::adapter::start(
        &url,
        rampart_fleet::adapter::Options {
            addr: args.listen,
            token: token(args)?,
            threads: args.workers.clamp(1, 64),
            db: a.db.clone(),
            refresh_after: a.refresh_after,
            max_attempts: a.max_attempts,
        },
    )?;
    println!("http://{}/", running.addr());
    eprintln!(
        "rampart: Harbor scanner adapter on http://{}/api/v1 over {}; {}; {} fleet worker(s) in this process",
        running.addr(),
        rampart_history::redacted(&url),
        match &a.db {
            Some(db) => format!("vulnerability reports from {}", db.display()),
            None => String::from("no advisory database: SBOM reports only"),
        },
        a.fleet_workers
    );
    if a.fleet_workers == 0 {
        running.wait();
        return Ok(0);
    }
    let platform = a
        .registry
        .platform
        .as_deref()
        .map(str::parse)
        .transpose()
        .context("--platform")?;
    // the workers match nothing themselves: reports are matched against --db when asked for
    let analyser = rampart_fleet::analyse::RegistryAnalyser::new(
        &crate::registry::client_options(&a.registry)?,
        platform,
        None,
    )?
    .with_secrets(!a.registry.no_secrets);
    let mut opts = rampart_fleet::worker::WorkerOptions::new(rampart_fleet::worker::default_id());
    opts.concurrency = a.fleet_workers;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, std::sync::Arc::clone(&stop)).context("signal handler")?;
    }
    let stats = rampart_fleet::worker::run(&url, &opts, &analyser, &stop);
    running.stop();
    let stats = stats?;
    eprintln!(
        "rampart: fleet worker {}: {} analysed, {} already analysed, {} attempt(s) failed",
        opts.id, stats.analysed, stats.cached, stats.failed_attempts
    );
    Ok(0)
}

/// `rampart serve`.
pub fn serve(args: &ServeArgs) -> Result<u8> {
    if args.adapter.scanner_adapter {
        return serve_adapter(args);
    }
    let settings = args.picture.settings()?;
    let (store, location) = args.picture.open()?;
    drop(store);
    let token = token(args)?;
    let running = rampart_dashboard::server::start(
        &location,
        rampart_dashboard::server::Options {
            addr: args.listen,
            token,
            workers: args.workers.clamp(1, 64),
            settings,
            rules: rampart_scan::catalog(),
        },
    )?;
    // the address on standard output (a test or a script reads the port chosen for :0)
    println!("http://{}/", running.addr());
    eprintln!(
        "rampart: serving {} on http://{}/ (read-only; Ctrl-C stops)",
        rampart_history::redacted(&location),
        running.addr()
    );
    running.wait();
    Ok(0)
}
