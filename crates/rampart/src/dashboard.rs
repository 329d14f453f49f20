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
}

/// `rampart serve`.
pub fn serve(args: &ServeArgs) -> Result<u8> {
    let settings = args.picture.settings()?;
    let (store, location) = args.picture.open()?;
    drop(store);
    let token = match &args.token_file {
        Some(f) => Some(
            std::fs::read_to_string(f)
                .with_context(|| format!("cannot read the token file {}", f.display()))?
                .trim()
                .to_owned(),
        ),
        None => std::env::var("RAMPART_TOKEN").ok(),
    };
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
