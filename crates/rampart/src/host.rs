//! `rampart host`: the node under the containers (rampart-host), into the same report and
//! layer map as `rampart scan`.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use rampart_core::{Severity, Summary, Tool};

use crate::cli::{ColorChoice, Format};

/// `rampart host`.
#[derive(Debug, Args)]
pub struct HostArgs {
    /// Assess an offline copy of a node's files under DIR instead of the running node (its
    /// /proc, /sys, /etc, /var/lib...; nothing is run there).
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,
    /// The node's name in the report (default: its hostname).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Output format (human, json, sarif, junit).
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Exit 1 when a finding is at or above this severity (info, low, medium, high,
    /// critical; `none`: never).
    #[arg(long, value_name = "SEVERITY", default_value = "high")]
    pub fail_on: String,
    /// When to use colour in the human report.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

pub fn run(args: &HostArgs) -> Result<u8> {
    if args.format == Format::Cyclonedx {
        bail!(
            "--format cyclonedx describes images; `rampart host` writes human, json, sarif or junit"
        );
    }
    if !args.root.is_dir() {
        bail!("--root {}: not a directory", args.root.display());
    }
    let fail_on: Option<Severity> = match args.fail_on.as_str() {
        "none" => None,
        s => Some(
            s.parse::<Severity>()
                .map_err(anyhow::Error::msg)
                .context("--fail-on")?,
        ),
    };
    let host = rampart_host::assess(
        rampart_host::Root::new(&args.root),
        &rampart_host::Options {
            name: args.name.clone(),
        },
    );
    let mut report = rampart_core::Report::build(
        Tool {
            name: "rampart",
            version: env!("CARGO_PKG_VERSION"),
        },
        format!("node {}", host.summary.name),
        host.assessment,
        host.errors,
        Summary::default(),
        &rampart_host::not_assessed_reasons(),
    );
    report.nodes.push(host.summary);
    let failing = fail_on.map_or(0, |t| report.count_at_or_above(t));
    let exit = if !report.errors.is_empty() {
        crate::EXIT_ERROR
    } else if failing > 0 {
        1
    } else {
        0
    };
    let text = match args.format {
        Format::Json => rampart_report::json(&report) + "\n",
        Format::Sarif => rampart_report::sarif::render(&report, &rampart_scan::catalog()) + "\n",
        Format::Junit => rampart_report::junit::render(&report),
        _ => {
            let terminal = args.output.is_none() && std::io::stdout().is_terminal();
            rampart_report::human::render(
                &report,
                rampart_report::human::Options {
                    color: crate::use_color(args.color, terminal),
                    show_suppressed: false,
                    width: if args.output.is_some() {
                        0
                    } else {
                        crate::terminal_width()
                    },
                    quiet: false,
                    verdict: Some(rampart_report::human::Verdict { fail_on, exit }),
                },
            )
        }
    };
    crate::write_out(args.output.as_deref(), &text)?;
    for e in report.errors.iter().take(10) {
        eprintln!("rampart: input error: {}: {}", e.at(), e.message);
    }
    Ok(exit)
}
