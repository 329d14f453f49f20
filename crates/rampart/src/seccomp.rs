//! `rampart seccomp`: record a workload's syscalls into a least-privilege seccomp profile, lint
//! a profile, diff two profiles. The arguments live here (not in cli.rs) so the subcommand is
//! one self-contained file.

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use rampart_core::Severity;
use rampart_seccomp::generate::{
    Generator, RUNC_AFTER_FILTER, RUNC_AFTER_FILTER_NO_NNP, kubernetes_snippet, spo_resource,
};
use rampart_seccomp::profile::{Profile, write_atomic};
use rampart_seccomp::record::{self, Exit};
use std::path::{Path, PathBuf};

/// `rampart seccomp`.
#[derive(Debug, Args)]
pub struct SeccompArgs {
    #[command(subcommand)]
    pub command: SeccompCommand,
}

/// The runtime whose own post-filter syscalls a profile must allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Runtime {
    /// runc with `noNewPrivileges: true` (its default).
    Runc,
    /// runc with `noNewPrivileges: false` (the filter is installed earlier).
    RuncNoNewPrivilegesFalse,
}

/// Output format of `seccomp lint` and `seccomp diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutFormat {
    Table,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum SeccompCommand {
    /// Run a command under ptrace, record every syscall of it and its descendants, and write a
    /// seccomp profile (OCI / Docker JSON) that allows only those. Exit 2 if the command cannot
    /// run, fails or is killed (no profile is written then, unless --allow-failure).
    Record {
        /// The profile to write (atomically).
        #[arg(long, value_name = "PROFILE")]
        out: PathBuf,
        /// Merge into the profile already at --out (recorded earlier by rampart).
        #[arg(long)]
        merge: bool,
        /// Also write the Kubernetes securityContext (Localhost) snippet to FILE.
        #[arg(long, value_name = "FILE")]
        k8s: Option<PathBuf>,
        /// Also write a security-profiles-operator SeccompProfile named NAME to PROFILE.spo.json.
        #[arg(long, value_name = "NAME")]
        spo: Option<String>,
        /// Run the command chrooted into DIR (e.g. an OCI bundle's rootfs).
        #[arg(long, value_name = "DIR", conflicts_with = "bundle")]
        chroot: Option<PathBuf>,
        /// Record an OCI bundle run under runc instead of a command: only the container's calls
        /// (the workload's and runc's own after it installs the filter). The bundle is not
        /// modified; its seccomp profile is replaced during the recording.
        #[arg(long, value_name = "DIR")]
        bundle: Option<PathBuf>,
        /// The runc binary for --bundle.
        #[arg(long, value_name = "PATH", default_value = "runc")]
        runc: String,
        /// Also allow the syscalls this runtime makes after installing the filter.
        #[arg(long, value_enum)]
        runtime: Option<Runtime>,
        /// Also allow this syscall (repeatable).
        #[arg(long = "allow", value_name = "SYSCALL")]
        allow: Vec<String>,
        /// Allow clone, socket and personality whatever their arguments.
        #[arg(long)]
        no_arg_filters: bool,
        /// Write the profile even if the command failed or was killed.
        #[arg(long)]
        allow_failure: bool,
        /// The command and its arguments.
        #[arg(
            last = true,
            required_unless_present = "bundle",
            conflicts_with = "bundle",
            value_name = "CMD"
        )]
        command: Vec<String>,
    },
    /// Report dangerous allowances and what the profile allows beyond Docker's default profile.
    /// Exit 1 if a finding is at or above --fail-on.
    Lint {
        /// The profile.
        profile: PathBuf,
        #[arg(short, long, value_enum, default_value_t = OutFormat::Table)]
        format: OutFormat,
        /// The lowest severity that fails (critical, high, medium, low, info, none).
        #[arg(long, default_value = "high")]
        fail_on: String,
    },
    /// Find the minimal capabilities of an OCI bundle's workload by running it under runc
    /// (Docker's default set, then without each capability in turn; verified with exactly the
    /// result) and print the Kubernetes `capabilities` (drop ALL, add the needed ones).
    Caps {
        /// The bundle.
        #[arg(long, value_name = "DIR")]
        bundle: PathBuf,
        /// The runc binary.
        #[arg(long, value_name = "PATH", default_value = "runc")]
        runc: String,
        /// Start from this set instead of Docker's default (comma-separated, CAP_ names).
        #[arg(long, value_name = "CAPS", value_delimiter = ',')]
        start: Vec<String>,
        #[arg(short, long, value_enum, default_value_t = OutFormat::Table)]
        format: OutFormat,
    },
    /// Show what one profile allows that the other does not. Exit 0 same, 1 different.
    Diff {
        /// The first profile.
        a: PathBuf,
        /// The second profile.
        b: PathBuf,
        #[arg(short, long, value_enum, default_value_t = OutFormat::Table)]
        format: OutFormat,
    },
}

/// Dispatch `rampart seccomp`.
pub fn run(args: &SeccompArgs) -> Result<u8> {
    match &args.command {
        SeccompCommand::Record {
            out,
            merge,
            k8s,
            spo,
            chroot,
            bundle,
            runc,
            runtime,
            allow,
            no_arg_filters,
            allow_failure,
            command,
        } => {
            let mut generator = Generator {
                arg_filters: !no_arg_filters,
                ..Generator::default()
            };
            if *merge && out.exists() {
                let existing = Profile::read(out)?;
                generator.merge_profile(&existing, &out.display().to_string())?;
            }
            let extra: &[&str] = match runtime {
                Some(Runtime::Runc) => RUNC_AFTER_FILTER,
                Some(Runtime::RuncNoNewPrivilegesFalse) => RUNC_AFTER_FILTER_NO_NNP,
                // A bundle recording sees runc's post-filter calls, but the Go runtime makes
                // some (futex, rt_sigreturn) only in some runs: add the measured set too.
                None if bundle.is_some() => RUNC_AFTER_FILTER,
                None => &[],
            };
            for name in extra
                .iter()
                .copied()
                .chain(allow.iter().map(String::as_str))
            {
                generator.allow(name).context("--allow")?;
            }
            if let Some(name) = spo {
                // Check the name before the (possibly long) recording.
                spo_resource(name, &generator.profile()).context("--spo")?;
            }
            let recording = match bundle {
                Some(dir) => rampart_seccomp::bundle::record_bundle(dir, runc)?,
                None => {
                    let options = record::Options {
                        chroot: chroot.clone(),
                        ..record::Options::default()
                    };
                    record::record(command, &options)?
                }
            };
            let what = recording.command.join(" ");
            if recording.exit != Exit::Code(0) && !allow_failure {
                bail!(
                    "`{what}` {}: no profile written (a failed run may miss syscalls; \
                     --allow-failure writes it anyway)",
                    recording.exit
                );
            }
            generator.add_recording(&recording);
            let profile = generator.profile();
            profile.write(out)?;
            eprintln!(
                "rampart: `{what}` recorded ({}), {} distinct syscalls; profile written to {}",
                recording.exit,
                recording.observed.syscalls.len(),
                out.display()
            );
            if let Some(path) = k8s {
                let name = out
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                write_atomic(
                    path,
                    kubernetes_snippet(&format!("profiles/{name}")).as_bytes(),
                )?;
            }
            if let Some(name) = spo {
                let mut path = out.as_os_str().to_owned();
                path.push(".spo.json");
                write_atomic(Path::new(&path), spo_resource(name, &profile)?.as_bytes())?;
            }
            Ok(0)
        }
        SeccompCommand::Lint {
            profile,
            format,
            fail_on,
        } => {
            let threshold: Option<Severity> = match fail_on.as_str() {
                "none" => None,
                s => Some(
                    s.parse::<Severity>()
                        .map_err(anyhow::Error::msg)
                        .context("--fail-on")?,
                ),
            };
            let p = Profile::read(profile)?;
            let findings = rampart_seccomp::lint(&p);
            let text = match format {
                OutFormat::Json => serde_json::to_string_pretty(&findings)? + "\n",
                OutFormat::Table => {
                    let mut table = comfy_table::Table::new();
                    table.load_preset(comfy_table::presets::NOTHING);
                    table.set_header(["rule", "severity", "syscall", "finding"]);
                    for f in &findings {
                        table.add_row([
                            f.rule.to_owned(),
                            f.severity.to_string(),
                            f.syscall.clone().unwrap_or_default(),
                            f.message.clone(),
                        ]);
                    }
                    if findings.is_empty() {
                        format!("{}: no findings\n", profile.display())
                    } else {
                        format!("{table}\n")
                    }
                }
            };
            crate::write_out(None, &text)?;
            let failing =
                threshold.map_or(0, |t| findings.iter().filter(|f| f.severity >= t).count());
            Ok(if failing > 0 { 1 } else { 0 })
        }
        SeccompCommand::Caps {
            bundle,
            runc,
            start,
            format,
        } => {
            let start: Vec<String> = if start.is_empty() {
                rampart_seccomp::lint::DOCKER_DEFAULT_CAPS
                    .iter()
                    .map(|s| (*s).to_owned())
                    .collect()
            } else {
                start.clone()
            };
            let report = rampart_seccomp::caps::minimize(bundle, runc, &start)?;
            let text = match format {
                OutFormat::Json => serde_json::to_string_pretty(&report)? + "\n",
                OutFormat::Table => report.kubernetes_snippet(),
            };
            crate::write_out(None, &text)?;
            eprintln!(
                "rampart: {} of {} capabilities needed ({} runs under {runc})",
                report.required.len(),
                report.start.len(),
                report.runs
            );
            Ok(0)
        }
        SeccompCommand::Diff { a, b, format } => {
            let pa = Profile::read(a)?;
            let pb = Profile::read(b)?;
            let d = rampart_seccomp::diff(&pa, &pb);
            let text = match format {
                OutFormat::Json => serde_json::to_string_pretty(&d)? + "\n",
                OutFormat::Table => d.render(&a.display().to_string(), &b.display().to_string()),
            };
            crate::write_out(None, &text)?;
            Ok(if d.is_empty() { 0 } else { 1 })
        }
    }
}
