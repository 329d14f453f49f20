//! Command-line definitions (kept apart from dispatch so they read as the user manual).

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "rampart",
    version,
    about = "Defense in depth for containerized applications",
    long_about = "rampart checks every layer around a containerized application, from the Dockerfile \
                  to the cluster, and shows which layers stand and which are missing.\n\n\
                  Exit codes: 0 no finding at or above --fail-on, 1 findings at or above it, \
                  2 usage or input errors."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan Dockerfiles and Kubernetes manifests (files or directories).
    Scan(ScanArgs),
    /// List the rule catalog, or explain one rule.
    Rules(RulesArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Tables for people: the layer map, layers by subject, findings.
    Human,
    /// The JSON report (schema: docs/report.schema.json).
    Json,
    /// SARIF 2.1.0 for code-scanning tools.
    Sarif,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Files or directories to scan.
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Write the report to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Exit 1 when an unsuppressed finding at or above SEVERITY exists
    /// (critical, high, medium, low, info; `none` never fails).
    #[arg(long, value_name = "SEVERITY")]
    pub fail_on: Option<String>,
    /// Configuration file (default: rampart.toml in the first directory scanned, if present).
    #[arg(long, value_name = "FILE", conflicts_with = "no_config")]
    pub config: Option<PathBuf>,
    /// Ignore rampart.toml.
    #[arg(long)]
    pub no_config: bool,
    /// Pod Security Standard level workloads are held to.
    #[arg(long, value_name = "LEVEL", value_parser = ["privileged", "baseline", "restricted"])]
    pub pss_level: Option<String>,
    /// Pod Security Standards version (e.g. v1.33, latest).
    #[arg(long, value_name = "VERSION")]
    pub pss_version: Option<String>,
    /// Skip paths matching GLOB (relative to the directory scanned); repeatable.
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Do not honour .gitignore, .ignore and .git/info/exclude files when walking directories.
    #[arg(long)]
    pub no_ignore: bool,
    /// Show suppressed findings in the human report.
    #[arg(long)]
    pub show_suppressed: bool,
    /// When to use colour in the human report.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    #[command(subcommand)]
    pub command: Option<RulesCommand>,
    /// Output format for the list.
    #[arg(short, long, value_enum, default_value_t = RulesFormat::Table)]
    pub format: RulesFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RulesFormat {
    Table,
    Json,
    /// The rule reference, as in docs/rules.md.
    Markdown,
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Print a rule's rationale, fix, example and references.
    Explain {
        /// Rule id (e.g. PSS001) or name (e.g. privileged).
        id: String,
    },
}
