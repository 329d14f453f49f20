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
    /// Least-privilege NetworkPolicies for the workloads of a manifest tree: a default deny
    /// per namespace (with DNS to the cluster's DNS pods), then for each workload one ingress
    /// policy admitting exactly its sources and one egress policy reaching exactly its
    /// destinations, on their ports. Flows come from intents (`--intent`), from connection
    /// lines (`--flows`: observed flows, or a `reach` listing) and from the Services the
    /// manifests name in environment variables and ConfigMaps (`--infer`). Checked before writing: the engine's
    /// reachability of the generated policies must equal the flows; what would widen the
    /// tree's existing policies is said.
    Generate {
        /// The manifest tree (its workloads, Services and ConfigMaps).
        #[arg(value_name = "PATH")]
        path: PathBuf,
        /// A file of connection lines (`src => dst : connections`), repeatable.
        #[arg(long, value_name = "FILE")]
        flows: Vec<PathBuf>,
        /// Infer flows from Services named in the workloads' environment and ConfigMaps.
        #[arg(long)]
        infer: bool,
        /// Intents (`intent.toml` files, or directories of them), repeatable: the flows each
        /// workload whose image has an intent declares (its `listen` and `egress`, both ends'
        /// intents required where both have one).
        #[arg(long = "intent", value_name = "FILE|DIR")]
        intents: Vec<PathBuf>,
        /// Leave out DNS to the cluster's DNS pods.
        #[arg(long)]
        no_dns: bool,
        /// Write the policies here (default: standard output).
        #[arg(long, short = 'o', value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Flows observed at run time: the monitor's connect and accept events (Falco's JSON
    /// lines, as `rampart monitor` and Falco write them) mapped to the workloads of a manifest
    /// tree or a `kubectl get -o json` dump (pods by name, peers by pod address, else an
    /// address outside), printed as connection lines for `generate --flows` and
    /// `scan --flows`. Events left out are said with their line; exit 2 if a line is not JSON.
    Flows {
        /// The events (JSON lines).
        #[arg(value_name = "EVENTS")]
        events: PathBuf,
        /// The manifests or cluster dump the pods belong to.
        #[arg(long, value_name = "PATH")]
        cluster: PathBuf,
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
        NetpolCommand::Generate {
            path,
            flows,
            infer,
            intents,
            no_dns,
            out: file,
        } => generate(
            path,
            &Sources {
                flows,
                intents,
                infer: *infer,
            },
            !*no_dns,
            file.as_deref(),
            &mut out,
        ),
        NetpolCommand::Flows {
            events,
            cluster: tree,
        } => {
            let c = cluster(tree)?;
            let text = std::fs::read_to_string(events)
                .with_context(|| format!("reading {}", events.display()))?;
            let o = rampart_netpol::flows::from_events(&c, &text);
            let mut code = exit(&c, 0);
            for (line, why) in &o.skipped {
                eprintln!("rampart: left out: {}:{line}: {why}", events.display());
                if why.starts_with("not JSON") {
                    code = crate::EXIT_ERROR;
                }
            }
            eprintln!(
                "rampart: {} connection events, {} flows, {} events left out",
                o.events,
                o.flows.len(),
                o.skipped.len()
            );
            for f in &o.flows {
                writeln!(out, "{} => {} : {}", f.src, f.dst, f.conns)?;
            }
            Ok(code)
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

/// Where `generate` takes its flows from.
struct Sources<'a> {
    flows: &'a [PathBuf],
    intents: &'a [PathBuf],
    infer: bool,
}

fn generate(
    path: &Path,
    sources: &Sources<'_>,
    dns: bool,
    file: Option<&Path>,
    out: &mut impl Write,
) -> Result<u8> {
    use rampart_netpol::generate::{self as g, Options};
    let c = cluster(path)?;
    let mut code = exit(&c, 0);
    let mut flows = Vec::new();
    if !sources.intents.is_empty() {
        let (set, problems) = rampart_intent::conform::IntentSet::load_each(sources.intents);
        for p in &problems {
            eprintln!("rampart: input error: {p}");
            code = crate::EXIT_ERROR;
        }
        let declared = rampart_netpol::intents::declared(&c, &set);
        for n in &declared.notes {
            eprintln!("rampart: note: {n}");
        }
        if dns {
            for w in &declared.without_dns {
                eprintln!(
                    "rampart: note: {w}: its intent says cluster-dns = false, but every pod gets DNS to the cluster's DNS pods (give --no-dns to leave it out)"
                );
            }
        }
        eprintln!(
            "rampart: {} flows declared by the intents of {} workloads",
            declared.flows.len(),
            declared.workloads.len()
        );
        flows.extend(declared.flows);
    }
    for f in sources.flows {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
        let (mut v, errors) = g::flows_from_lines(&text);
        for (line, e) in errors {
            eprintln!("rampart: input error: {}:{line}: {e}", f.display());
            code = crate::EXIT_ERROR;
        }
        flows.append(&mut v);
    }
    if sources.infer {
        let inferred = g::infer(&c);
        eprintln!(
            "rampart: {} flows inferred from Services named in the manifests",
            inferred.len()
        );
        flows.extend(inferred);
    }
    if flows.is_empty() {
        anyhow::bail!("no flows: give --intent FILE, --flows FILE (connection lines) or --infer");
    }
    let generated = g::generate(&c, &flows, &Options { dns });
    for n in &generated.notes {
        eprintln!("rampart: note: {n}");
    }
    // the proof, before anything is written
    let (missing, extra) = g::check(&c, &generated, &flows, dns).map_err(anyhow::Error::msg)?;
    for m in &missing {
        eprintln!("rampart: error: the generated policies miss {m}");
    }
    for x in &extra {
        eprintln!("rampart: note: the generated policies also allow {x}");
    }
    if !missing.is_empty() {
        code = crate::EXIT_ERROR;
    }
    let yaml = g::to_yaml(&generated).map_err(anyhow::Error::msg)?;
    // policies add up: say what the generated ones open beyond the tree's own
    if !c.policies.is_empty() {
        let before = Engine::new(&c).connections();
        let mut with = c.clone();
        let extra_policies = rampart_netpol::read([("generated.yaml".to_owned(), yaml.as_str())]);
        with.policies.extend(extra_policies.policies);
        let mut narrowed = 0;
        for ch in diff::diff(&before, &Engine::new(&with).connections()) {
            let wider = ch.after.minus(&ch.before);
            if wider.is_empty() {
                narrowed += 1;
            } else {
                eprintln!(
                    "rampart: note: added to the tree's policies, these open {} => {} : {wider}",
                    ch.src, ch.dst
                );
            }
        }
        if narrowed > 0 {
            eprintln!(
                "rampart: {narrowed} connections the tree allows now are closed by the generated policies (pods they isolate)"
            );
        }
    }
    match file {
        Some(f) => std::fs::write(f, &yaml).with_context(|| format!("writing {}", f.display()))?,
        None => out.write_all(yaml.as_bytes())?,
    }
    Ok(code)
}
