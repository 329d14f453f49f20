//! The `rampart` binary: parse arguments, dispatch, render, set the exit code. Logic lives in
//! the library crates.

mod admission;
mod cache;
mod cli;
mod cyclonedx;
mod dashboard;
mod fleet;
mod habits;
mod history;
mod host;
mod images;
mod intent;
mod logging;
mod monitor;
mod netpol;
mod rbac;
mod registry;
mod sandbox;
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
    logging::init(&cli.log);
    let result = match cli.command {
        Command::Scan(args) => scan(*args),
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
        Command::Monitor(args) => monitor::run(&args),
        Command::Cache(args) => cache::run(&args),
        Command::History(args) => history::run(&args),
        Command::Metrics(args) => history::metrics(&args),
        Command::Report(args) => dashboard::report(&args),
        Command::Serve(args) => dashboard::serve(&args),
        Command::Intent(args) => intent::run(&args),
        Command::Netpol(args) => netpol::run(&args),
        Command::Rbac(args) => rbac::run(&args),
        Command::Host(args) => host::run(&args),
        Command::Fleet(args) => fleet::run(args),
        Command::Sandbox(args) => sandbox::run(&args),
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
            eprintln!("rampart: error: {}", error_text(&e));
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// An error and its causes on one line, `outer: cause: cause`. A cause whose text the message
/// before it already holds is left out (a `thiserror` message that prints its `#[source]`
/// would otherwise say it twice: `No such file or directory (os error 2): No such file or
/// directory (os error 2)`), and bytes that are not text are escaped.
pub(crate) fn error_text(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if text.is_empty() || parts.iter().any(|p| p.contains(&text)) {
            continue;
        }
        // `app.tar` then `app.tar: not an image`: the cause already names it
        if let Some(last) = parts.last()
            && text.starts_with(&format!("{last}: "))
        {
            parts.pop();
        }
        parts.push(text);
    }
    let out = parts.join(": ");
    rampart_report::human::printable(&out)
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

pub(crate) fn use_color(choice: ColorChoice, to_terminal: bool) -> bool {
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
    let shown = args
        .show
        .severity
        .as_deref()
        .map(rampart_report::filter::parse_severities)
        .transpose()
        .map_err(anyhow::Error::msg)
        .context("--severity")?;
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
    // A path that does not exist makes the run mean less than the user thinks: say so first,
    // before any report, and stop when nothing else is left to scan.
    let missing: Vec<&std::path::Path> = paths
        .iter()
        .map(std::path::PathBuf::as_path)
        .filter(|p| p.as_os_str() != "-" && std::fs::symlink_metadata(p).is_err())
        .collect();
    for p in &missing {
        eprintln!("rampart: {}: no such file or directory", p.display());
    }
    if !missing.is_empty()
        && missing.len() == paths.len()
        && args.image.is_empty()
        && opts.config.images.is_empty()
    {
        bail!("nothing to scan: no path given exists");
    }
    // Image archives among the paths are scanned as images, as `trivy image` would.
    let (archive_paths, paths): (Vec<_>, Vec<_>) =
        paths.into_iter().partition(|p| images::is_image_archive(p));
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
    image_targets.extend(archive_paths.iter().map(|p| p.display().to_string()));
    // Intents: those of the configuration file (relative to it), then those of the flags.
    let mut intent_paths: Vec<std::path::PathBuf> =
        opts.config.intents.iter().map(|i| base.join(i)).collect();
    intent_paths.extend(args.intents.iter().cloned());
    (opts.intents, opts.intent_errors) = rampart_scan::intent::load(&intent_paths);
    let attested = sign::attested_intents(&args, &opts.config, &base, &mut opts.intents)?;
    opts.intent_errors.extend(attested);
    for f in &args.flows {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("reading flows {}", f.display()))?;
        let (flows, errors) = rampart_netpol::generate::flows_from_lines(&text);
        opts.flows.extend(flows);
        opts.intent_errors
            .extend(
                errors
                    .into_iter()
                    .map(|(line, message)| rampart_core::InputError {
                        file: f.display().to_string(),
                        line: u32::try_from(line).unwrap_or(u32::MAX),
                        column: 1,
                        message,
                    }),
            );
    }
    let mut documents = Vec::new();
    opts.trust = sign::scan_trust(&args, &opts.config, &base, &image_targets)?;
    let layer_cache = if image_targets.is_empty() {
        None
    } else {
        images::open_layer_cache(&args.layer_cache, args.show.quiet)
    };
    let inspected: Vec<rampart_scan::ImageResult> = image_targets
        .iter()
        .map(|target| {
            images::inspect_target(target, &args.images, layer_cache.as_ref(), args.show.quiet)
                .map(|(ins, reference)| {
                    if args.format == Format::Cyclonedx {
                        documents.push(sbom::document(&ins, reference.as_ref()));
                    }
                    ins
                })
                .map_err(|e| rampart_scan::images::input_error(target, &error_text(&e)))
        })
        .collect();
    if let Some(cache) = &layer_cache {
        images::bound_layer_cache(cache, args.show.quiet);
    }
    // SBOM files among the paths are checked for vulnerabilities, not scanned as manifests.
    let (sbom_paths, paths): (Vec<_>, Vec<_>) =
        paths.into_iter().partition(|p| sbom::is_sbom_file(p));
    let sboms: Vec<_> = sbom_paths.iter().map(|p| sbom::read_for_scan(p)).collect();
    if args.format == Format::Cyclonedx {
        documents.extend(sboms.iter().flatten().map(sbom::subject_document));
        if documents.len() != 1 {
            bail!(
                "--format cyclonedx describes one image or SBOM, and this scan has {}: scan them one at a time (or use --format json)",
                documents.len()
            );
        }
    }
    let (vuln_scan, _temporary_db) = vulns::scan_setup(&args, &opts.config.vulns, &base)?;
    opts.vulns = vuln_scan;
    let mut report = rampart_scan::scan_all(&paths, inspected, sboms, &opts);
    if let Some(keep) = &shown {
        rampart_report::filter::retain_severities(&mut report, keep);
    }

    // The exit code is decided before rendering, so the report can end with it.
    let failing = fail_on.map_or(0, |t| report.count_at_or_above(t));
    let exit = if !report.errors.is_empty() {
        EXIT_ERROR
    } else if fail_on.is_some() && failing > 0 {
        EXIT_FINDINGS
    } else {
        0
    };
    // A scan that assessed nothing is never a quiet "clean": say so before any report.
    let empty = report.layers.iter().all(|l| l.assessed == 0);
    if empty {
        eprintln!(
            "rampart: nothing was assessed: no Dockerfile, Kubernetes object, image or SBOM found in {}{}",
            report.target,
            if args.allow_empty {
                " (--allow-empty)"
            } else {
                " (exit 2; --allow-empty accepts it)"
            }
        );
    }
    let exit = if empty && !args.allow_empty && exit == 0 {
        EXIT_ERROR
    } else {
        exit
    };
    let text = match args.format {
        Format::Json => rampart_report::json(&report) + "\n",
        Format::Sarif => rampart_report::sarif::render(&report, &rampart_scan::catalog()) + "\n",
        Format::Junit => rampart_report::junit::render(&report),
        Format::Cyclonedx => {
            let sbom_opts = rampart_sbom::Options::from_env(false)?;
            cyclonedx::render(&documents, &report, &sbom_opts)?
        }
        Format::Human => {
            let terminal = args.output.is_none() && std::io::stdout().is_terminal();
            rampart_report::human::render(
                &report,
                rampart_report::human::Options {
                    color: use_color(args.color, terminal),
                    show_suppressed: args.show_suppressed,
                    width: if args.output.is_some() {
                        0
                    } else {
                        terminal_width()
                    },
                    quiet: args.show.quiet,
                    verdict: Some(rampart_report::human::Verdict { fail_on, exit }),
                },
            )
        }
    };
    write_out(args.output.as_deref(), &text)?;

    if exit == EXIT_ERROR && !report.errors.is_empty() {
        eprintln!(
            "rampart: {} input error(s): the scan is incomplete (exit {EXIT_ERROR})",
            report.errors.len()
        );
        // Name them on stderr too: a machine format on stdout must not hide why the exit is 2.
        const SHOWN: usize = 10;
        for e in report.errors.iter().take(SHOWN) {
            eprintln!("  {}: {}", e.at(), e.message);
        }
        if report.errors.len() > SHOWN {
            eprintln!(
                "  ... and {} more (in the report)",
                report.errors.len() - SHOWN
            );
        }
    } else if exit == EXIT_FINDINGS && !args.show.quiet {
        if let Some(t) = fail_on {
            eprintln!("rampart: {failing} finding(s) at or above {t} (exit {EXIT_FINDINGS})");
        }
    }
    // The history (docs/history.md): a scan asked to be recorded and not recorded is an error.
    if let Some(location) = &args.history {
        let scanned = if args.paths.is_empty() {
            vec![std::path::PathBuf::from(".")]
        } else {
            args.paths.clone()
        };
        let source = history::source_of(&scanned, args.history_scope.as_deref());
        let recorded = serde_json::from_str::<serde_json::Value>(&rampart_report::json(&report))
            .map_err(anyhow::Error::from)
            .and_then(|value| {
                let mut store = rampart_history::Store::open(location)?;
                Ok(rampart_history::scan::record_scan(
                    &mut store,
                    &value,
                    &source,
                    rampart_history::now_ms(),
                )?)
            });
        match recorded {
            Ok(r) => {
                if !args.show.quiet {
                    eprintln!(
                        "rampart: recorded in {} ({}): {}",
                        rampart_history::redacted(location),
                        source.scope,
                        history::summary(&r)
                    );
                }
            }
            Err(e) => {
                eprintln!(
                    "rampart: the scan was not recorded in the history: {e:#} (exit {EXIT_ERROR})"
                );
                return Ok(EXIT_ERROR);
            }
        }
    }
    Ok(exit)
}

/// The width the human report fits in: `COLUMNS` when set (as `ls`, clap and most terminal
/// tools honour it), else the terminal's when standard output is one, else 80 (a pipe or a CI
/// log: 80 columns read well everywhere).
pub(crate) fn terminal_width() -> usize {
    if let Some(n) = std::env::var("COLUMNS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| *n > 0)
    {
        return n.max(40);
    }
    if std::io::stdout().is_terminal()
        && let Some((_, cols)) = console::Term::stdout().size_checked()
    {
        return usize::from(cols).max(40);
    }
    rampart_report::human::DEFAULT_WIDTH
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
