//! `rampart rbac`: who may do what, what an identity may do, and the escalation paths to
//! cluster-admin, from manifests or a `kubectl get -o json` dump, with the Kubernetes RBAC
//! authorizer's semantics (crate `rampart-rbac`, docs/rbac.md). The arguments live here (not in
//! cli.rs) so the subcommand is one self-contained file.

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use rampart_rbac::authz::{Identity, Request, Target, is_cluster_scoped, parse_target};
use rampart_rbac::{Cluster, GrantView, LoadError, load_paths};
use serde::Serialize;
use std::path::PathBuf;

/// `rampart rbac`.
#[derive(Debug, Args)]
pub struct RbacArgs {
    #[command(subcommand)]
    pub command: RbacCommand,
}

/// Output format of `who-can` and `can`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// Output format of `paths`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PathsFormat {
    Text,
    Json,
    /// Graphviz DOT.
    Dot,
    /// SVG drawn by Graphviz `dot` (Debian package graphviz).
    Svg,
}

#[derive(Debug, Subcommand)]
pub enum RbacCommand {
    /// Every subject allowed VERB on RESOURCE, with the binding and role that grant it. Without
    /// -n, every namespace's RoleBindings count (each in its own namespace) besides the
    /// ClusterRoleBindings. Exit 0, or 2 on input errors (the rest is still analysed).
    WhoCan {
        /// The verb: get, list, create, delete, escalate, impersonate... (`*` asks for
        /// wildcard rules only).
        verb: String,
        /// `pods`, `pods/exec`, `deployments.apps`, `apps/deployments/scale`, or a
        /// non-resource URL starting with `/`.
        resource: String,
        /// The namespace of the request.
        #[arg(short = 'n', long)]
        namespace: Option<String>,
        /// The object's name (rules with resourceNames match only named requests).
        #[arg(long)]
        name: Option<String>,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// Manifest files or directories, or `kubectl get -o json` dumps.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Everything SUBJECT may do, cluster-wide and per namespace: `user:alice`, `group:devs`,
    /// `sa:NS:NAME` or `system:serviceaccount:NS:NAME`. Exit 0, or 2 on input errors.
    Can {
        subject: String,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Escalation paths from every user, group and service account to cluster-admin-equivalent
    /// power, each step a named move with its reason. Exit 1 when there is a path, 0 when there
    /// is none, 2 on input errors.
    Paths {
        #[arg(long, value_enum, default_value = "text")]
        format: PathsFormat,
        /// Write the output to FILE.
        #[arg(short = 'o', long, value_name = "FILE")]
        output: Option<PathBuf>,
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
}

pub fn run(args: &RbacArgs) -> Result<u8> {
    match &args.command {
        RbacCommand::WhoCan {
            verb,
            resource,
            namespace,
            name,
            format,
            paths,
        } => who_can(
            verb,
            resource,
            namespace.as_deref(),
            name.as_deref(),
            *format,
            paths,
        ),
        RbacCommand::Can {
            subject,
            format,
            paths,
        } => can(subject, *format, paths),
        RbacCommand::Paths {
            format,
            output,
            paths,
        } => paths_command(*format, output.as_deref(), paths),
    }
}

/// Loads the input, printing its errors on standard error.
fn load(paths: &[PathBuf]) -> (Cluster, Vec<LoadError>) {
    let (cluster, errors) = load_paths(paths);
    for e in &errors {
        eprintln!(
            "rampart: {}",
            rampart_report::human::printable(&e.to_string())
        );
    }
    (cluster, errors)
}

fn exit(errors: &[LoadError], otherwise: u8) -> u8 {
    if errors.is_empty() {
        otherwise
    } else {
        eprintln!(
            "rampart: {} input error(s): those objects were left out (exit {})",
            errors.len(),
            crate::EXIT_ERROR
        );
        crate::EXIT_ERROR
    }
}

fn notes_text(cluster: &Cluster) -> String {
    cluster
        .notes
        .iter()
        .map(|n| format!("note: {}:{}:{}: {}\n", n.file, n.line, n.column, n.message))
        .collect()
}

/// The grants as a table that fits the terminal (`COLUMNS`, else 80 in a pipe): the kind and
/// scope never narrow; names, bindings and roles are shortened in the middle, the role wraps.
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    use rampart_report::style::{Col, Give, fit};
    let mut all = vec![header.iter().map(|h| (*h).to_owned()).collect::<Vec<_>>()];
    all.extend(rows.iter().cloned());
    fit(
        &all,
        &[
            Col::left(Give::Fixed),
            Col::left(Give::Elide(6)),
            Col::left(Give::ElideMiddle(12)),
            Col::left(Give::Fixed),
            Col::left(Give::ElideMiddle(16)),
            Col::left(Give::Wrap(10)),
        ],
        "",
        crate::terminal_width(),
    )
}

#[derive(Serialize)]
struct WhoCanOutput<'a> {
    request: &'a Request,
    #[serde(rename = "everyNamespace")]
    every_namespace: bool,
    allowed: Vec<GrantView>,
    notes: &'a [rampart_rbac::model::Note],
    errors: Vec<&'a LoadError>,
}

fn who_can(
    verb: &str,
    resource: &str,
    namespace: Option<&str>,
    name: Option<&str>,
    format: Format,
    paths: &[PathBuf],
) -> Result<u8> {
    let target = parse_target(resource, name.unwrap_or("")).map_err(anyhow::Error::msg)?;
    let cluster_scoped = match &target {
        Target::NonResource { .. } => true,
        Target::Resource {
            api_group,
            resource,
            ..
        } => is_cluster_scoped(api_group, resource),
    };
    if cluster_scoped && namespace.is_some() {
        eprintln!(
            "rampart: {resource} is not namespaced: only ClusterRoleBindings grant it, -n is ignored"
        );
    }
    let ns = if cluster_scoped {
        ""
    } else {
        namespace.unwrap_or("")
    };
    let request = Request {
        verb: verb.to_owned(),
        namespace: ns.to_owned(),
        target,
    };
    let every = !cluster_scoped && namespace.is_none();
    let (cluster, errors) = load(paths);
    let mut allowed: Vec<GrantView> = cluster
        .who_can(&request, every)
        .iter()
        .filter_map(|g| cluster.view(g))
        .collect();
    allowed.sort();
    let text = match format {
        Format::Json => {
            serde_json::to_string_pretty(&WhoCanOutput {
                request: &request,
                every_namespace: every,
                allowed,
                notes: &cluster.notes,
                errors: errors.iter().collect(),
            })? + "\n"
        }
        Format::Text => {
            let what = if every {
                request
                    .display()
                    .replace(" cluster-wide", " in any namespace")
            } else {
                request.display()
            };
            let mut out = format!("{what}: {} grant(s)\n", allowed.len());
            let rows: Vec<Vec<String>> = allowed
                .iter()
                .map(|g| {
                    vec![
                        g.subject.kind.as_str().to_owned(),
                        g.subject.namespace.clone().unwrap_or_default(),
                        g.subject.name.clone(),
                        g.scope.clone().unwrap_or_else(|| "*".to_owned()),
                        g.binding.clone(),
                        g.role.clone(),
                    ]
                })
                .collect();
            if !rows.is_empty() {
                out.push_str(&table(
                    &["KIND", "NAMESPACE", "NAME", "SCOPE", "BINDING", "ROLE"],
                    &rows,
                ));
            }
            out + &notes_text(&cluster)
        }
    };
    crate::write_out(None, &text)?;
    Ok(exit(&errors, 0))
}

#[derive(Serialize)]
struct CanOutput<'a> {
    subject: &'a Identity,
    grants: Vec<GrantView>,
    notes: &'a [rampart_rbac::model::Note],
    errors: Vec<&'a LoadError>,
}

fn rule_text(rule: &rampart_rbac::model::PolicyRule) -> String {
    let list = |l: &[String]| l.join(",");
    if !rule.non_resource_urls.is_empty() {
        return format!("{} on {}", list(&rule.verbs), list(&rule.non_resource_urls));
    }
    let groups: Vec<String> = rule
        .api_groups
        .iter()
        .map(|g| {
            if g.is_empty() {
                "\"\"".to_owned()
            } else {
                g.clone()
            }
        })
        .collect();
    let mut out = format!(
        "{} on {} (apiGroups {})",
        list(&rule.verbs),
        list(&rule.resources),
        groups.join(",")
    );
    if !rule.resource_names.is_empty() {
        out.push_str(&format!(" named {}", list(&rule.resource_names)));
    }
    out
}

fn can(subject: &str, format: Format, paths: &[PathBuf]) -> Result<u8> {
    let identity = Identity::parse(subject).map_err(anyhow::Error::msg)?;
    let (cluster, errors) = load(paths);
    let mut grants: Vec<GrantView> = cluster
        .can(&identity)
        .iter()
        .filter_map(|g| cluster.view(g))
        .collect();
    // cluster-wide first, then by namespace
    grants.sort_by(|a, b| (&a.scope, &a.binding, &a.role).cmp(&(&b.scope, &b.binding, &b.role)));
    let text = match format {
        Format::Json => {
            serde_json::to_string_pretty(&CanOutput {
                subject: &identity,
                grants,
                notes: &cluster.notes,
                errors: errors.iter().collect(),
            })? + "\n"
        }
        Format::Text => {
            let mut out = format!(
                "{} (groups {}): {} rule(s)\n",
                identity.display(),
                identity.groups.join(", "),
                grants.len()
            );
            let mut scope: Option<Option<String>> = None;
            for g in &grants {
                if scope.as_ref() != Some(&g.scope) {
                    out.push_str(&match &g.scope {
                        None => "cluster-wide:\n".to_owned(),
                        Some(ns) => format!("in namespace {ns}:\n"),
                    });
                    scope = Some(g.scope.clone());
                }
                out.push_str(&format!(
                    "  {}  via {} → {} (as {})\n",
                    rule_text(&g.rule),
                    g.binding,
                    g.role,
                    g.subject.display()
                ));
            }
            out + &notes_text(&cluster)
        }
    };
    crate::write_out(None, &text)?;
    Ok(exit(&errors, 0))
}

#[derive(Serialize)]
struct PathsOutput<'a> {
    paths: &'a [rampart_rbac::Path],
    nodes: usize,
    edges: usize,
    notes: &'a [rampart_rbac::model::Note],
    errors: Vec<&'a LoadError>,
}

fn paths_command(
    format: PathsFormat,
    output: Option<&std::path::Path>,
    paths: &[PathBuf],
) -> Result<u8> {
    let (cluster, errors) = load(paths);
    let graph = rampart_rbac::paths::graph(&cluster);
    let found = graph.paths();
    let (nodes, edges) = graph.size();
    let text = match format {
        PathsFormat::Json => {
            serde_json::to_string_pretty(&PathsOutput {
                paths: &found,
                nodes,
                edges,
                notes: &cluster.notes,
                errors: errors.iter().collect(),
            })? + "\n"
        }
        PathsFormat::Dot => rampart_rbac::paths::dot(&found),
        PathsFormat::Svg => svg(&rampart_rbac::paths::dot(&found))?,
        PathsFormat::Text => {
            let mut out = format!(
                "{} identit{} can reach cluster-admin ({nodes} nodes, {edges} edges)\n",
                found.len(),
                if found.len() == 1 { "y" } else { "ies" }
            );
            for p in &found {
                out.push_str(&format!(
                    "\n{} ({} step{})\n",
                    p.start.display(),
                    p.steps.len(),
                    if p.steps.len() == 1 { "" } else { "s" }
                ));
                for (i, s) in p.steps.iter().enumerate() {
                    let at = match (&s.file, s.line) {
                        (Some(f), Some(l)) => format!(" [{f}:{l}]"),
                        _ => String::new(),
                    };
                    out.push_str(&format!(
                        "  {}. {} → {}\n     {}: {}{at}\n",
                        i + 1,
                        s.from,
                        s.to,
                        s.kind.as_str(),
                        s.reason
                    ));
                }
            }
            out + &notes_text(&cluster)
        }
    };
    crate::write_out(output, &text)?;
    Ok(exit(&errors, u8::from(!found.is_empty())))
}

/// Renders DOT as SVG with Graphviz's `dot`.
fn svg(dot: &str) -> Result<String> {
    use std::io::Write;
    let mut child = std::process::Command::new("dot")
        .arg("-Tsvg")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .context("--format svg runs Graphviz `dot` (Debian package graphviz), which cannot be started; --format dot writes the graph without it")?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(dot.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!(
            "dot -Tsvg failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    String::from_utf8(out.stdout).context("dot -Tsvg wrote no UTF-8")
}
