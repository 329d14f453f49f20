//! `rampart monitor`: the monitoring layer (crate `rampart-monitor`). Without a subcommand it
//! runs the eBPF monitor; `manifests` prints its DaemonSet; `status` reads a running monitor's
//! health. The arguments live here so the subcommand is one self-contained file.

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use rampart_monitor::manifests::{self, ManifestOptions};
use std::path::PathBuf;

/// `rampart monitor`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct MonitorArgs {
    #[command(subcommand)]
    pub command: Option<MonitorCommand>,
    #[command(flatten)]
    pub run: RunArgs,
}

/// Running the monitor.
#[derive(Debug, Args, Default)]
pub struct RunArgs {
    /// monitor.toml: rules, actions, sinks, metrics (docs/monitor.md).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// A Falco rules file or a directory of them, in load order (repeatable; replaces the
    /// configuration's `rules`). Default: Falco's stable ruleset, embedded.
    #[arg(long = "rules", value_name = "FILE")]
    pub rules: Vec<PathBuf>,
    /// Alert lines on standard output as Falco's JSON (default) or its text form.
    #[arg(long, value_name = "json|text")]
    pub format: Option<String>,
    /// Also POST every alert to this URL (repeatable).
    #[arg(long, value_name = "URL")]
    pub webhook: Vec<String>,
    /// Serve /metrics, /status and /healthz here.
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<std::net::SocketAddr>,
    /// Also watch host processes (default: only when some rule can match one).
    #[arg(long)]
    pub include_host: bool,
    /// Record what kill answers would have done instead of doing it.
    #[arg(long)]
    pub audit: bool,
    /// RULE=ACTION: answer a rule (name or glob) with alert, kill-process or kill-container
    /// (repeatable; before the configuration's `[[action]]` entries).
    #[arg(long = "action", value_name = "RULE=ACTION")]
    pub actions: Vec<String>,
    /// Stop after this many seconds (default: until SIGINT or SIGTERM).
    #[arg(long, value_name = "SECONDS")]
    pub duration: Option<f64>,
}

#[derive(Debug, Subcommand)]
pub enum MonitorCommand {
    /// Print the DaemonSet that runs the monitor on every node, its ServiceAccount, the
    /// ConfigMap of rules and settings, and a NetworkPolicy, as YAML.
    Manifests(ManifestsArgs),
    /// Read a running monitor's health from its metrics address. Exit 0 healthy, 1 running
    /// but losing events or not reading, 2 unreachable.
    Status(StatusArgs),
}

#[derive(Debug, Args)]
pub struct ManifestsArgs {
    #[arg(long, default_value = "rampart-system")]
    pub namespace: String,
    /// Name of the DaemonSet, ServiceAccount, ConfigMap (NAME-rules) and NetworkPolicy.
    #[arg(long, default_value = "rampart-monitor")]
    pub name: String,
    /// The rampart image (entrypoint `rampart`; default: rampart's release image, built by
    /// scripts/build-image.sh, docs/image.md).
    #[arg(long, default_value = rampart_core::RAMPART_IMAGE)]
    pub image: String,
    /// The image's digest (sha256:...): the DaemonSet runs IMAGE@DIGEST, pinned.
    #[arg(long, value_name = "DIGEST")]
    pub image_digest: Option<String>,
    /// Rules files for the ConfigMap (repeatable; default: Falco's stable ruleset).
    #[arg(long = "rules", value_name = "FILE")]
    pub rules: Vec<PathBuf>,
    /// monitor.toml for the ConfigMap (default: alert on every rule, JSON on standard output
    /// and to --webhook).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Also POST alerts to this URL (the default configuration's sink; the NetworkPolicy lets
    /// its port out).
    #[arg(long, value_name = "URL", conflicts_with = "config")]
    pub webhook: Option<String>,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The monitor's metrics address.
    #[arg(long, default_value = "127.0.0.1:9376")]
    pub addr: String,
    /// Print the status document as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `rampart monitor ...`.
pub fn run(args: &MonitorArgs) -> Result<u8> {
    match &args.command {
        Some(MonitorCommand::Manifests(a)) => print_manifests(a),
        Some(MonitorCommand::Status(a)) => status(a),
        None => run_monitor(&args.run),
    }
}

fn print_manifests(args: &ManifestsArgs) -> Result<u8> {
    let mut rules = Vec::new();
    for path in &args.rules {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "rules.yaml".to_owned());
        rules.push((name, text));
    }
    if rules.is_empty() {
        rules = manifests::default_rules();
    }
    let mut files = Vec::new();
    let config_toml = match &args.config {
        Some(p) => {
            // Validated here so a broken file never reaches a cluster.
            let config = rampart_monitor::config::MonitorConfig::load(p)?;
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read {}", p.display()))?;
            // The policies of [[enforce]] go into the ConfigMap beside monitor.toml: each must
            // be named beside it (its file name alone), as `rampart intent compile` writes it.
            let raw = rampart_monitor::config::MonitorConfig::parse(&text, p)?;
            for (e, loaded) in raw.enforce.iter().zip(&config.enforce) {
                if e.policy.components().count() != 1 {
                    anyhow::bail!(
                        "{}: [[enforce]] {}: policy `{}` must be a file beside monitor.toml for the ConfigMap",
                        p.display(),
                        e.name,
                        e.policy.display()
                    );
                }
                let body = std::fs::read_to_string(&loaded.policy)
                    .with_context(|| format!("cannot read {}", loaded.policy.display()))?;
                rampart_enforce::Policy::from_json(body.as_bytes())
                    .with_context(|| format!("{}", loaded.policy.display()))?;
                files.push((e.policy.to_string_lossy().into_owned(), body));
            }
            Some(text)
        }
        None => None,
    };
    let options = ManifestOptions {
        namespace: args.namespace.clone(),
        name: args.name.clone(),
        image: args.image.clone(),
        image_digest: args.image_digest.clone(),
        rules,
        config_toml,
        webhook: args.webhook.clone(),
        files,
    };
    crate::write_out(None, &manifests::generate(&options)?)?;
    Ok(0)
}

fn status(args: &StatusArgs) -> Result<u8> {
    let doc = match rampart_monitor::metrics::fetch_status(&args.addr) {
        Ok(doc) => doc,
        Err(e) => {
            eprintln!("rampart: {e}");
            return Ok(2);
        }
    };
    let healthy = doc["healthy"].as_bool().unwrap_or(false);
    let lost = doc["events"]["lost"].as_u64().unwrap_or(0);
    if args.json {
        println!("{doc:#}");
    } else {
        println!(
            "rampart monitor at {}: {}",
            args.addr,
            if healthy {
                "reading events"
            } else {
                "NOT reading events"
            }
        );
        println!(
            "  up {}s, mode {}, {} rules loaded ({} not evaluable)",
            doc["uptime_seconds"].as_u64().unwrap_or(0),
            doc["mode"].as_str().unwrap_or("?"),
            doc["rules"]["loaded"].as_u64().unwrap_or(0),
            doc["rules"]["not_evaluable"].as_u64().unwrap_or(0),
        );
        println!(
            "  events {} received, {} lost in the kernel; {} alerts; {} containers known",
            doc["events"]["received"].as_u64().unwrap_or(0),
            lost,
            doc["alerts"].as_u64().unwrap_or(0),
            doc["containers"].as_u64().unwrap_or(0),
        );
        if let Some(sinks) = doc["sinks"].as_array() {
            for s in sinks {
                println!(
                    "  sink {}: {} delivered, {} failed, {} dropped",
                    s["sink"].as_str().unwrap_or("?"),
                    s["delivered"].as_u64().unwrap_or(0),
                    s["failed"].as_u64().unwrap_or(0),
                    s["dropped"].as_u64().unwrap_or(0),
                );
            }
        }
    }
    Ok(if healthy && lost == 0 { 0 } else { 1 })
}

/// Reads rules files: a file, or a directory's `*.yaml`/`*.yml` in name order.
fn read_rules(paths: &[PathBuf]) -> Result<Vec<(String, String)>> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("cannot read {}", p.display()))?
                .flatten()
                .map(|e| e.path())
                .filter(|e| e.extension().is_some_and(|x| x == "yaml" || x == "yml"))
                .collect();
            entries.sort();
            for e in entries {
                files.push((
                    e.display().to_string(),
                    std::fs::read_to_string(&e)
                        .with_context(|| format!("cannot read {}", e.display()))?,
                ));
            }
        } else {
            files.push((
                p.display().to_string(),
                std::fs::read_to_string(p)
                    .with_context(|| format!("cannot read {}", p.display()))?,
            ));
        }
    }
    if files.is_empty() {
        files = manifests::default_rules();
    }
    Ok(files)
}

fn run_monitor(args: &RunArgs) -> Result<u8> {
    use rampart_monitor::config::{
        Action, ActionConfig, Format, MetricsConfig, Mode, MonitorConfig, WebhookConfig,
    };
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;
    let mut config = match &args.config {
        Some(p) => MonitorConfig::load(p)?,
        None => MonitorConfig::default(),
    };
    if !args.rules.is_empty() {
        config.rules = args.rules.clone();
    }
    match args.format.as_deref() {
        None => {}
        Some("json") => config.output.format = Format::Json,
        Some("text") => config.output.format = Format::Text,
        Some(other) => anyhow::bail!("--format {other}: expected json or text"),
    }
    for url in &args.webhook {
        config.webhook.push(WebhookConfig {
            url: url.clone(),
            queue: 1024,
            retries: 3,
            timeout_ms: 2000,
        });
    }
    if let Some(listen) = args.metrics {
        config.metrics = Some(MetricsConfig { listen });
    }
    if args.audit {
        config.mode = Mode::Audit;
    }
    if args.include_host {
        config.include_host = Some(true);
    }
    let mut cli_actions = Vec::new();
    for a in &args.actions {
        let (rule, action) = a
            .rsplit_once('=')
            .with_context(|| format!("--action {a}: expected RULE=ACTION"))?;
        let action = match action {
            "alert" => Action::Alert,
            "kill-process" => Action::KillProcess,
            "kill-container" => Action::KillContainer,
            other => anyhow::bail!(
                "--action {a}: `{other}` is not alert, kill-process or kill-container"
            ),
        };
        cli_actions.push(ActionConfig {
            rule: Some(rule.to_owned()),
            priority: None,
            tag: None,
            action,
        });
    }
    cli_actions.append(&mut config.actions);
    config.actions = cli_actions;
    let rules = read_rules(&config.rules)?;
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop))
            .context("cannot install the signal handlers")?;
    }
    let summary = rampart_monitor::pipeline::run(rampart_monitor::pipeline::RunOptions {
        config,
        rules,
        duration: args.duration.map(std::time::Duration::from_secs_f64),
        stop,
        stdout: Box::new(std::io::stdout()),
        notes: Box::new(|n| eprintln!("rampart: {n}")),
        ready: Some(Box::new(|info| {
            eprintln!(
                "rampart: monitor running (sensor loaded in {} ms; {} event kinds{}{}); stop with Ctrl-C",
                info.load_time.as_millis(),
                info.filter.enabled.len(),
                if info.filter.host {
                    ", host processes included"
                } else {
                    ", containers only"
                },
                info.metrics_addr
                    .map(|a| format!("; metrics on http://{a}/metrics"))
                    .unwrap_or_default(),
            );
        })),
    })?;
    eprintln!(
        "rampart: {} events, {} alerts, {} lost in the kernel{}; {} opens filtered",
        summary.events,
        summary.alerts,
        summary.lost,
        if summary.lost > 0 {
            format!(
                " ({})",
                summary
                    .lost_by_kind
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        } else {
            String::new()
        },
        summary.opens_filtered,
    );
    let mut failed = 0;
    if let Some(e) = &summary.enforce {
        eprintln!(
            "rampart: enforce: {} container(s) guarded, {} could not be{}",
            e.containers,
            e.failed,
            if e.denials.is_empty() {
                "; no denials".to_owned()
            } else {
                format!(
                    "; {}",
                    e.denials
                        .iter()
                        .map(|(k, v)| format!("{k}: {v}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        );
        failed = e.failed;
    }
    // Lost events mean the watch was incomplete, a container left unguarded means the intent
    // was not enforced: never a silent clean exit.
    Ok(if summary.lost > 0 || failed > 0 { 1 } else { 0 })
}
