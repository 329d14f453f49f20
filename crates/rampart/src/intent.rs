//! `rampart intent`: check an intent document, compile it into every layer, print its schema.
//! The arguments live here (not in cli.rs) so the subcommand is one self-contained file.

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use rampart_intent::{Intent, Options, compile};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// `rampart intent`.
#[derive(Debug, Args)]
pub struct IntentArgs {
    #[command(subcommand)]
    pub command: IntentCommand,
}

#[derive(Debug, Subcommand)]
pub enum IntentCommand {
    /// Check intent documents: every error with its file, line and column. Exit 0 valid, 2 not.
    Check {
        /// The intent files.
        #[arg(required = true, value_name = "INTENT")]
        files: Vec<PathBuf>,
    },
    /// Compile an intent into every layer's artefacts, deterministically: the seccomp profile,
    /// the securityContext patch for the workload, the runc config.json settings,
    /// NetworkPolicies, the monitor's rules and answers, the admission profile. Prints what was
    /// written and what a layer cannot express exactly.
    Compile {
        /// The intent file.
        #[arg(value_name = "INTENT")]
        file: PathBuf,
        /// The directory to write into (created if missing).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// The workload's namespace (NetworkPolicies); default: none (`kubectl apply -n`).
        #[arg(long, value_name = "NS")]
        namespace: Option<String>,
        /// A label selecting the workload's pods (repeatable; default `app=<name>`).
        #[arg(long = "pod-label", value_name = "KEY=VALUE")]
        pod_labels: Vec<String>,
        /// The container's name in the pod (default: the intent's name).
        #[arg(long, value_name = "NAME")]
        container: Option<String>,
        /// The public key the image must be signed with (the admission profile then requires
        /// its signature).
        #[arg(long, value_name = "PUBKEY")]
        key: Option<PathBuf>,
        /// Also apply the runc settings to this OCI bundle's config.json (rewritten in place).
        #[arg(long, value_name = "DIR")]
        bundle: Option<PathBuf>,
    },
    /// Print the intent document's JSON schema (docs/intent.schema.json).
    Schema,
}

pub fn run(args: &IntentArgs) -> Result<u8> {
    match &args.command {
        IntentCommand::Check { files } => check(files),
        IntentCommand::Compile {
            file,
            out,
            namespace,
            pod_labels,
            container,
            key,
            bundle,
        } => {
            let intent = Intent::load(file)?;
            let mut opts = Options::for_file(file);
            opts.namespace = namespace.clone();
            opts.container = container.clone();
            // absolute: the trust policy is written elsewhere and resolves keys from its place
            opts.key = key
                .as_ref()
                .map(|k| std::fs::canonicalize(k).with_context(|| format!("--key {}", k.display())))
                .transpose()?;
            opts.pod_labels = labels(pod_labels)?;
            let compiled = compile(&intent, &opts)?;
            std::fs::create_dir_all(out).with_context(|| format!("{}", out.display()))?;
            for a in &compiled.artefacts {
                let path = out.join(&a.file);
                rampart_seccomp::profile::write_atomic(&path, &a.bytes)
                    .with_context(|| format!("writing {}", path.display()))?;
                println!("{:<16} {}", a.target.as_str(), path.display());
            }
            if let Some(b) = bundle {
                apply_bundle(b, &compiled.runc)?;
                println!(
                    "{:<16} {}",
                    "runc (applied)",
                    b.join("config.json").display()
                );
            }
            for n in &compiled.notes {
                println!("note: {}: {}", n.target.as_str(), n.message);
            }
            Ok(0)
        }
        IntentCommand::Schema => {
            println!(
                "{}",
                serde_json::to_string_pretty(&rampart_intent::schema())?
            );
            Ok(0)
        }
    }
}

fn check(files: &[PathBuf]) -> Result<u8> {
    let mut bad = 0usize;
    for f in files {
        match Intent::load(f) {
            Ok(i) => println!(
                "{}: valid intent for {} ({} executable(s), {} writable path(s), {} listen, {} egress)",
                f.display(),
                i.image,
                i.process.executables.len(),
                i.files.writable.len(),
                i.network.listen.len(),
                i.network.egress.len()
            ),
            Err(e) => {
                eprintln!("{e}");
                bad += 1;
            }
        }
    }
    if bad > 0 {
        eprintln!("rampart: {bad} of {} intent(s) invalid", files.len());
        return Ok(crate::EXIT_ERROR);
    }
    Ok(0)
}

fn labels(pairs: &[String]) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for p in pairs {
        let Some((k, v)) = p.split_once('=') else {
            bail!("--pod-label `{p}`: expected KEY=VALUE");
        };
        out.insert(k.to_owned(), v.to_owned());
    }
    Ok(out)
}

fn apply_bundle(bundle: &Path, settings: &serde_json::Value) -> Result<()> {
    let path = bundle.join("config.json");
    let text = std::fs::read(&path).with_context(|| format!("{}", path.display()))?;
    let mut config: serde_json::Value =
        serde_json::from_slice(&text).with_context(|| format!("{}", path.display()))?;
    if !config.is_object() {
        bail!("{}: not a JSON object", path.display());
    }
    rampart_intent::compile::apply_to_bundle_config(&mut config, settings);
    let bytes = serde_json::to_vec_pretty(&config)?;
    rampart_seccomp::profile::write_atomic(&path, &bytes)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
