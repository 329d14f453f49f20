//! `rampart sandbox check`: a workload tried under runc and under gVisor (rampart-sandbox),
//! compared into a verdict. The arguments live here so the subcommand is one self-contained
//! file. docs/sandbox.md.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use rampart_image::Limits;
use rampart_sandbox::check::{self, CheckOptions, Subject};
use rampart_sandbox::{Runtime, RuntimeKind};
use rampart_scan::images::{ImageOptions, ImageTarget};

use crate::cli::ImageArgs;

/// `rampart sandbox`.
#[derive(Debug, Args)]
pub struct SandboxArgs {
    #[command(subcommand)]
    pub command: SandboxCommand,
}

#[derive(Debug, Subcommand)]
pub enum SandboxCommand {
    /// Try a workload under runc and under gVisor (runsc), each on a fresh copy of its root
    /// with no network, run the smoke test, and compare: does it start, does the test pass,
    /// exit codes, output, wall time, the system calls gVisor reported as unsupported. Exit 0
    /// can move into gVisor, 1 breaks under gVisor, 2 input or runtime error (or the test fails
    /// under runc too). Needs root.
    Check(CheckArgs),
}

/// How the report is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// a short table and the verdict
    Table,
    /// the full report as JSON
    Json,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// An OCI runtime bundle directory (config.json and its root), or an image: an OCI layout
    /// directory, an OCI or docker archive, a registry reference.
    #[arg(value_name = "IMAGE|BUNDLE")]
    pub target: String,
    /// The smoke test: a command run inside the running workload (the runtime's exec), or,
    /// with --one-shot, as the container's process. Without one, the workload's own command is
    /// the test and must exit 0.
    #[arg(last = true, value_name = "SMOKE-TEST")]
    pub smoke: Vec<String>,
    /// Run the smoke test as the container's process instead of the workload's command (for
    /// images whose process exits, such as command-line tools).
    #[arg(long)]
    pub one_shot: bool,
    /// Deadline in seconds for each phase: the container's start, the smoke test. A runtime or
    /// test that overruns it is killed and cleaned up.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub timeout: u64,
    /// Compare exit codes only: a test whose standard output differs still passes.
    #[arg(long)]
    pub ignore_output: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: CheckFormat,
    /// The runc binary.
    #[arg(long, value_name = "PATH", default_value = "runc")]
    pub runc: String,
    /// The runsc binary.
    #[arg(long, value_name = "PATH", default_value = "runsc")]
    pub runsc: String,
    /// An extra global flag for runsc (repeatable), e.g. --runsc-flag=--platform=ptrace.
    #[arg(long = "runsc-flag", value_name = "FLAG", allow_hyphen_values = true)]
    pub runsc_flags: Vec<String>,
    /// Where the trials' bundles, state and logs go (default: the temporary directory).
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub images: ImageArgs,
}

pub fn run(args: &SandboxArgs) -> Result<u8> {
    match &args.command {
        SandboxCommand::Check(a) => check_command(a),
    }
}

fn check_command(a: &CheckArgs) -> Result<u8> {
    if a.timeout == 0 {
        bail!("--timeout: expected a number of seconds above 0");
    }
    let opts = CheckOptions {
        runc: Runtime {
            program: a.runc.clone(),
            ..Runtime::new(RuntimeKind::Runc)
        },
        runsc: Runtime {
            program: a.runsc.clone(),
            flags: a.runsc_flags.clone(),
            ..Runtime::new(RuntimeKind::Runsc)
        },
        timeout: Duration::from_secs(a.timeout),
        one_shot: a.one_shot,
        compare_output: !a.ignore_output,
        work_dir: a.work_dir.clone(),
    };
    if a.one_shot && a.smoke.is_empty() {
        bail!("--one-shot needs a smoke test after `--`");
    }
    // keeps an unpacked image until the check is done
    let mut _unpacked = None;
    let subject: Subject = if Path::new(&a.target).join("config.json").is_file() {
        check::subject_from_bundle(Path::new(&a.target))?
    } else {
        let unpacked = unpack(a, opts.work_dir.as_deref())?;
        let s = unpacked.subject.clone();
        _unpacked = Some(unpacked);
        s
    };
    // one-shot with a smoke test replaces the command; otherwise the workload must have one
    if subject.args().is_empty() && !a.one_shot {
        bail!(
            "{}: no command to run (no Entrypoint or Cmd): give a smoke test with --one-shot",
            a.target
        );
    }
    let report = rampart_sandbox::check(&subject, &a.smoke, &opts)?;
    let text = match a.format {
        CheckFormat::Table => check::render_table(&report),
        CheckFormat::Json => format!("{}\n", serde_json::to_string_pretty(&report)?),
    };
    crate::write_out(None, &text)?;
    Ok(report.verdict.exit_code())
}

/// Opens the image as `rampart scan --image` does and unpacks it into a bundle.
fn unpack(a: &CheckArgs, work: Option<&Path>) -> Result<rampart_sandbox::image::Unpacked> {
    let limits = Limits::default();
    let target = &a.target;
    if rampart_scan::images::looks_like_path(target) && !Path::new(target).exists() {
        bail!("{target}: no such bundle directory or image");
    }
    let platform = a
        .images
        .platform
        .as_deref()
        .map(str::parse)
        .transpose()
        .context("--platform")?;
    let opts = ImageOptions {
        platform,
        limits: limits.clone(),
        inspect: rampart_inspect::InspectOptions {
            secrets: false,
            today: jiff::Zoned::now().date(),
        },
        progress: None,
    };
    let image = match ImageTarget::parse(target, &limits).with_context(|| target.clone())? {
        ImageTarget::Local(source) => {
            rampart_scan::images::open_local(&source, &opts).with_context(|| target.clone())?
        }
        ImageTarget::Registry(reference) => crate::registry::open(&reference, &a.images, &opts)?.0,
    };
    rampart_sandbox::image::bundle_from_image(&image, target, work)
        .with_context(|| format!("unpacking {target}"))
}
