//! The `rampart` binary: parse arguments, dispatch, render, set the exit code. Logic lives in
//! the library crates.

mod admission;
mod cli;
mod habits;
mod images;
mod registry;
mod sbom;
mod seccomp;
mod sign;
mod vulns;

use anyhow::{Context, Result, bail};
use clap::Parser;
use cli::{Cli, ColorChoice, Command, Format, RulesCommand, RulesFormat, ScanArgs};
use rampart_core::Severity;
use rampart_scan::{Config, ScanOptions};
use std::io::{IsTerminal, Write};
use std::process::ExitCode;

/// Exit codes: 0 clean, 1 findings at or above the threshold, 2 usage or input error.
const EXIT_FINDINGS: u8 = 1;
pub(crate) const EXIT_ERROR: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Scan(args) => scan(args),
        Command::Sbom(args) => sbom::run(&args),
        Command::Rules(args) => rules(args),
        Command::Db(args) => vulns::db(&args),
        Command::Inventory(args) => vulns::inventory(&args),
        Command::Key(args) => sign::key(&args),
        Command::Sign(args) => sign::sign(&args),
        Command::Verify(args) => sign::verify(&args),
        Command::Attest(args) => sign::attest(&args),
        Command::VerifyAttestation(args) => sign::verify_attestation(&args),
        Command::Admission(args) => admission::run(&args),
        Command::Seccomp(args) => seccomp::run(&args),
        Command::Version(args) => habits::version(&args),
        Command::Completions(args) => habits::completions(&args),
        Command::Man(args) => habits::man(&args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            if is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            eprintln!("rampart: error: {e:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn use_color(choice: ColorChoice, to_terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => to_terminal && std::env::var_os("NO_COLOR").is_none(),
    }
}

pub(crate) fn write_out(output: Option<&std::path::Path>, text: &str) -> Result<()> {
    match output {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(text.as_bytes())?;
            stdout.flush()?;
            Ok(())
        }
    }
}

fn load_config(args: &ScanArgs) -> Result<Config> {
    if args.no_config {
        return Ok(Config::default());
    }
    let known = |id: &str| rampart_scan::find_rule(id);
    if let Some(path) = &args.config {
        return Ok(Config::load(path, &known)?);
    }
    match habits::find_config(&args.paths)? {
        Some(path) => Ok(Config::load(&path, &known)?),
        None => Ok(Config::default()),
    }
}

fn scan(args: ScanArgs) -> Result<u8> {
    let mut config = load_config(&args)?;
    // Flags override the configuration file.
    let fail_on: Option<Severity> = match args.fail_on.as_deref() {
        Some("none") => None,
        Some(s) => Some(
            s.parse::<Severity>()
                .map_err(anyhow::Error::msg)
                .context("--fail-on")?,
        ),
        None => config.fail_on,
    };
    if let Some(level) = &args.pss_level {
        config.pss_level = Some(
            level
                .parse()
                .map_err(|_| anyhow::anyhow!("--pss-level: unknown level `{level}`"))?,
        );
    }
    if let Some(v) = &args.pss_version {
        match v.parse() {
            Ok(version) => config.pss_version = Some(version),
            Err(_) => {
                bail!("--pss-version: expected a version like v1.33 or `latest`, found `{v}`")
            }
        }
    }
    let today = jiff::Zoned::now().date();
    let mut opts = ScanOptions::new(config, today);
    opts.respect_ignore = !args.no_ignore;
    opts.exclude.clone_from(&args.exclude);
    habits::scan_options(&args, &mut opts)?;

    // The current directory is scanned by default, unless only images were named.
    let paths = if args.paths.is_empty() && args.image.is_empty() {
        vec![std::path::PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    // Images: those of the configuration file (relative to it), then those of the flags.
    let base = opts
        .config
        .path
        .as_deref()
        .and_then(std::path::Path::parent)
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    let mut image_targets: Vec<String> = opts
        .config
        .images
        .iter()
        .map(|i| rampart_scan::images::resolve_configured(i, &base))
        .collect();
    image_targets.extend(args.image.iter().cloned());
    let inspected: Vec<rampart_scan::ImageResult> = image_targets
        .iter()
        .map(|target| {
            images::inspect_target(target, &args.images)
                .map(|(ins, _)| ins)
                .map_err(|e| rampart_scan::images::input_error(target, &format!("{e:#}")))
        })
        .collect();
    // SBOM files among the paths are checked for vulnerabilities, not scanned as manifests.
    let (sbom_paths, paths): (Vec<_>, Vec<_>) =
        paths.into_iter().partition(|p| sbom::is_sbom_file(p));
    let sboms = sbom_paths.iter().map(|p| sbom::read_for_scan(p)).collect();
    let (vuln_scan, _temporary_db) = vulns::scan_setup(&args, &opts.config.vulns, &base)?;
    opts.vulns = vuln_scan;
    let report = rampart_scan::scan_all(&paths, inspected, sboms, &opts);

    let text = match args.format {
        Format::Json => rampart_report::json(&report) + "\n",
        Format::Sarif => rampart_report::sarif::render(&report, &rampart_scan::catalog()) + "\n",
        Format::Human => {
            let terminal = args.output.is_none() && std::io::stdout().is_terminal();
            rampart_report::human::render(
                &report,
                rampart_report::human::Options {
                    color: use_color(args.color, terminal),
                    show_suppressed: args.show_suppressed,
                },
            )
        }
    };
    write_out(args.output.as_deref(), &text)?;

    let failing = fail_on.map_or(0, |t| report.count_at_or_above(t));
    if !report.errors.is_empty() {
        eprintln!(
            "rampart: {} input error(s): the scan is incomplete (exit {EXIT_ERROR})",
            report.errors.len()
        );
        return Ok(EXIT_ERROR);
    }
    if let Some(t) = fail_on
        && failing > 0
    {
        eprintln!("rampart: {failing} finding(s) at or above {t} (exit {EXIT_FINDINGS})");
        return Ok(EXIT_FINDINGS);
    }
    Ok(0)
}

fn rules(args: cli::RulesArgs) -> Result<u8> {
    let catalog = rampart_scan::catalog();
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let text = match args.command {
        Some(RulesCommand::Explain { id }) => match rampart_scan::find_rule(&id) {
            Some(rule) => rampart_report::rules::explain(rule, color),
            None => bail!("unknown rule `{id}` (see `rampart rules`)"),
        },
        None => match args.format {
            RulesFormat::Table => rampart_report::rules::table_view(&catalog, color),
            RulesFormat::Json => rampart_report::rules::json_view(&catalog) + "\n",
            RulesFormat::Markdown => rampart_report::rules::markdown_view(&catalog),
        },
    };
    write_out(None, &text)?;
    Ok(0)
}
