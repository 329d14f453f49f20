//! `rampart netpol`: who can reach whom under the NetworkPolicies of a manifest tree
//! (rampart-netpol), why, what is exposed, and what changes between two revisions. The
//! arguments live here so the subcommand is one self-contained file.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use rampart_netpol::reach::Reason;
use rampart_netpol::{Cluster, Engine, diff, picture};

/// `rampart netpol`.
#[derive(Debug, Args)]
pub struct NetpolArgs {
    #[command(subcommand)]
    pub command: NetpolCommand,
}

/// How a connection list is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReachFormat {
    /// netpol-analyzer's lines: `src => dst : connections`
    Txt,
    /// JSON: connections, input errors, notes
    Json,
    /// Graphviz DOT
    Dot,
    /// an SVG picture
    Svg,
}

#[derive(Debug, Subcommand)]
pub enum NetpolCommand {
    /// Every allowed connection between the workloads of a manifest tree, and between them
    /// and the IPv4 ranges outside the cluster, in netpol-analyzer's line format (so the two
    /// can be diffed). Exit 0, or 2 when some input could not be read (the rest is analysed).
    Reach {
        /// A manifest file or directory (read recursively: .yaml, .yml, .json).
        #[arg(value_name = "PATH")]
        path: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value = "txt")]
        format: ReachFormat,
        /// For every ordered pair of workloads (and the outside), name the policies and rules
        /// that allow it, or the policies that deny it.
        #[arg(long, conflicts_with = "exposure")]
        explain: bool,
        /// List what each workload leaves open to every namespace (also ones created later) and
        /// to every address outside the cluster.
        #[arg(long)]
        exposure: bool,
    },
    /// What changes between two revisions of a manifest tree: connections added, removed and
    /// changed. Exit 0 when nothing changes, 1 when something does, 2 on input errors.
    Diff {
        /// The tree before.
        #[arg(value_name = "BEFORE")]
        before: PathBuf,
        /// The tree after.
        #[arg(value_name = "AFTER")]
        after: PathBuf,
        /// Output format (txt or json).
        #[arg(long, value_enum, default_value = "txt")]
        format: ReachFormat,
    },
}

/// Reads a tree; input errors go to stderr, each with its file and position.
fn cluster(path: &Path) -> Result<Cluster> {
    let c =
        rampart_netpol::read_path(path).with_context(|| format!("reading {}", path.display()))?;
    for e in &c.errors {
        eprintln!("rampart: input error: {e}");
    }
    for n in &c.notes {
        eprintln!("rampart: note: {n}");
    }
    Ok(c)
}

fn exit(c: &Cluster, code: u8) -> u8 {
    if c.errors.is_empty() {
        code
    } else {
        crate::EXIT_ERROR
    }
}

pub fn run(args: &NetpolArgs) -> Result<u8> {
    let out = std::io::stdout();
    let mut out = out.lock();
    match &args.command {
        NetpolCommand::Reach {
            path,
            format,
            explain,
            exposure,
        } => {
            let c = cluster(path)?;
            let engine = Engine::new(&c);
            if *exposure {
                exposure_report(&engine, *format, &mut out)?;
            } else if *explain {
                explain_report(&engine, *format, &mut out)?;
            } else {
                let conns = engine.connections();
                match format {
                    ReachFormat::Txt => {
                        for x in &conns {
                            writeln!(out, "{x}")?;
                        }
                    }
                    ReachFormat::Json => {
                        serde_json::to_writer_pretty(
                            &mut out,
                            &serde_json::json!({
                                "connections": conns,
                                "errors": c.errors,
                                "notes": c.notes,
                            }),
                        )?;
                        writeln!(out)?;
                    }
                    ReachFormat::Dot => out.write_all(picture::dot(&conns).as_bytes())?,
                    ReachFormat::Svg => out.write_all(picture::svg(&conns).as_bytes())?,
                }
            }
            Ok(exit(&c, 0))
        }
        NetpolCommand::Diff {
            before,
            after,
            format,
        } => {
            let (a, b) = (cluster(before)?, cluster(after)?);
            let changes = diff::diff(
                &Engine::new(&a).connections(),
                &Engine::new(&b).connections(),
            );
            match format {
                ReachFormat::Json => {
                    serde_json::to_writer_pretty(&mut out, &changes)?;
                    writeln!(out)?;
                }
                _ => {
                    for ch in &changes {
                        writeln!(out, "{ch}")?;
                    }
                }
            }
            let code = exit(&a, exit(&b, u8::from(!changes.is_empty())));
            Ok(code)
        }
    }
}

fn reason_text(r: &Reason) -> String {
    match r {
        Reason::NotIsolated => "no policy selects it: everything allowed".to_owned(),
        Reason::Rule {
            policy,
            rule,
            conns,
        } => format!("{policy} rule {rule}: {conns}"),
        Reason::Denied { policies } => format!("denied: isolated by {}", policies.join(", ")),
    }
}

fn explain_report(engine: &Engine<'_>, format: ReachFormat, out: &mut impl Write) -> Result<()> {
    use rampart_netpol::Endpoint;
    let workloads: Vec<Endpoint> = engine
        .workloads()
        .cloned()
        .map(Endpoint::Workload)
        .collect();
    let (sources, destinations) = engine.external_ranges();
    let mut all = Vec::new();
    for a in &workloads {
        for b in &workloads {
            if a != b {
                all.push(engine.explain(a, b));
            }
        }
        for r in &sources {
            all.push(engine.explain(&Endpoint::External { range: *r }, a));
        }
        for r in &destinations {
            all.push(engine.explain(a, &Endpoint::External { range: *r }));
        }
    }
    if format == ReachFormat::Json {
        serde_json::to_writer_pretty(&mut *out, &all)?;
        writeln!(out)?;
        return Ok(());
    }
    for x in &all {
        writeln!(out, "{} => {} : {}", x.src, x.dst, x.conns)?;
        if matches!(x.src, Endpoint::Workload(_)) {
            for r in &x.egress {
                writeln!(out, "  egress of {}: {}", x.src, reason_text(r))?;
            }
        }
        if matches!(x.dst, Endpoint::Workload(_)) {
            for r in &x.ingress {
                writeln!(out, "  ingress of {}: {}", x.dst, reason_text(r))?;
            }
        }
    }
    Ok(())
}

fn exposure_report(engine: &Engine<'_>, format: ReachFormat, out: &mut impl Write) -> Result<()> {
    let exposed: Vec<_> = engine
        .exposure()
        .into_iter()
        .filter(|e| e.is_exposed())
        .collect();
    if format == ReachFormat::Json {
        serde_json::to_writer_pretty(&mut *out, &exposed)?;
        writeln!(out)?;
        return Ok(());
    }
    for e in &exposed {
        writeln!(out, "{}", e.workload)?;
        for (what, conns, unprotected) in [
            (
                "ingress from every namespace",
                &e.ingress_from_all_namespaces,
                e.ingress_unprotected,
            ),
            (
                "ingress from anywhere outside",
                &e.ingress_from_anywhere,
                e.ingress_unprotected,
            ),
            (
                "egress to every namespace",
                &e.egress_to_all_namespaces,
                e.egress_unprotected,
            ),
            (
                "egress to anywhere outside",
                &e.egress_to_anywhere,
                e.egress_unprotected,
            ),
        ] {
            if !conns.is_empty() {
                let why = if unprotected {
                    " (no policy selects it)"
                } else {
                    ""
                };
                writeln!(out, "  {what}: {conns}{why}")?;
            }
        }
    }
    Ok(())
}
