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
        /// Also apply the runc settings to this OCI bundle's config.json (rewritten in place)
        /// and start it through the guard that applies the kernel enforcement (Landlock) with
        /// the compiled policy; `rampart intent run` then runs it with the connection guard.
        #[arg(long, value_name = "DIR")]
        bundle: Option<PathBuf>,
        /// The kernel enforcement only reports what it would deny (audit before enforce).
        #[arg(long)]
        audit: bool,
        /// The guard binary for --bundle (default: `rampart-guard` beside this binary, else in
        /// PATH).
        #[arg(long, value_name = "PATH")]
        guard: Option<PathBuf>,
        /// With --bundle: apply the runc settings only, no guard (no Landlock enforcement).
        #[arg(long)]
        no_guard: bool,
    },
    /// Run an OCI bundle compiled with `compile --bundle` under its kernel enforcement: create
    /// the container, attach the connection guard (cgroup BPF) to its cgroup before its first
    /// instruction, start it, report each denial (Landlock and connection guard) as a JSON line
    /// on stderr, and exit with the container's status.
    Run {
        /// The bundle.
        #[arg(long, value_name = "DIR")]
        bundle: PathBuf,
        /// The container's id (default: rampart-<pid>).
        #[arg(long)]
        id: Option<String>,
        /// runc's state root (default: runc's, /run/runc).
        #[arg(long, value_name = "DIR")]
        root: Option<PathBuf>,
        /// The runc binary.
        #[arg(long, value_name = "PATH", default_value = "runc")]
        runc: String,
    },
    /// Print the intent document's JSON schema (docs/intent.schema.json).
    Schema,
    /// Learn an intent: run an OCI bundle under runc with the monitor (executables, files,
    /// ports, destinations) and the seccomp recorder (syscalls) watching, drive it with a smoke
    /// test, and write what it did as an intent. Exit 2 when the run or the smoke test fails
    /// (no intent is written from a broken run).
    Learn(LearnArgs),
}

/// `rampart intent learn`.
#[derive(Debug, Args)]
pub struct LearnArgs {
    /// The OCI bundle (its config.json and root filesystem) to run under runc.
    #[arg(long, value_name = "DIR", required_unless_present = "command")]
    pub bundle: Option<PathBuf>,
    /// Or a command to run on the host (after `--`), with everything it starts; it must end by
    /// itself (a script that starts the service, drives it and stops it).
    #[arg(last = true, value_name = "COMMAND", conflicts_with_all = ["bundle", "smoke", "caps"])]
    pub command: Vec<String>,
    /// The image the bundle's root filesystem is, by digest (`repository@sha256:...`).
    #[arg(long, value_name = "REF")]
    pub image: String,
    /// A smoke test run on the host (`sh -c`) once the container runs; the container is
    /// stopped when it ends. Without it the workload runs until it exits.
    #[arg(long, value_name = "COMMAND")]
    pub smoke: Option<String>,
    /// The intent to write.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Join this run with the intent already at --out (same image).
    #[arg(long)]
    pub merge: bool,
    /// Find the minimal capability set by experiment (the bundle runs once per capability;
    /// its workload must end by itself). Without it, the bundle's own set is kept.
    #[arg(long)]
    pub caps: bool,
    /// The runc binary.
    #[arg(long, value_name = "PATH", default_value = "runc")]
    pub runc: String,
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
            audit,
            guard,
            no_guard,
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
            opts.audit = *audit;
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
                if !*no_guard {
                    let policy = rampart_enforce::Policy::from_json(&serde_json::to_vec(
                        &compiled.enforce,
                    )?)?;
                    let guard = match guard {
                        Some(g) => g.clone(),
                        None => find_guard()?,
                    };
                    let files = rampart_enforce::bundle::GuardFiles::for_binary(&guard)?;
                    rampart_enforce::bundle::guard_bundle(b, &files, &policy)?;
                    println!(
                        "{:<16} {} (through {})",
                        "guard (applied)",
                        b.join("config.json").display(),
                        guard.display()
                    );
                }
            }
            for n in &compiled.notes {
                println!("note: {}: {}", n.target.as_str(), n.message);
            }
            Ok(0)
        }
        IntentCommand::Learn(a) => learn(a),
        IntentCommand::Run {
            bundle,
            id,
            root,
            runc,
        } => run_bundle(bundle, id.as_deref(), root.as_deref(), runc),
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

/// Appends what the monitor writes (its JSON alerts) to a shared buffer.
#[derive(Clone, Default)]
struct Collect(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Collect {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What the bundle's config.json says that a run does not show.
fn learn_context(
    bundle: &Path,
    image: rampart_intent::doc::ImageDigest,
) -> Result<rampart_intent::learn::Context> {
    let path = bundle.join("config.json");
    let config: serde_json::Value = serde_json::from_slice(
        &std::fs::read(&path).with_context(|| format!("{}", path.display()))?,
    )
    .with_context(|| format!("{}", path.display()))?;
    let num = |p: &str| {
        config
            .pointer(p)
            .and_then(serde_json::Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0)
    };
    let rootfs = config
        .pointer("/root/path")
        .and_then(serde_json::Value::as_str)
        .map(|r| bundle.join(r))
        .unwrap_or_else(|| bundle.join("rootfs"));
    let capabilities = config
        .pointer("/process/capabilities/effective")
        .and_then(serde_json::Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(serde_json::Value::as_str)
                .map(|c| c.trim_start_matches("CAP_").to_owned())
                .collect()
        })
        .unwrap_or_default();
    let scratch_mounts = config
        .get("mounts")
        .and_then(serde_json::Value::as_array)
        .map(|ms| {
            ms.iter()
                .filter(|m| m.get("type").and_then(serde_json::Value::as_str) == Some("tmpfs"))
                .filter_map(|m| m.get("destination").and_then(serde_json::Value::as_str))
                .filter(|d| !["/dev", "/run"].contains(d))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let sensitive_present = rampart_intent::learn::SENSITIVE
        .iter()
        .filter(|p| std::fs::symlink_metadata(rootfs.join(p.trim_start_matches('/'))).is_ok())
        .map(|p| (*p).to_owned())
        .collect();
    Ok(rampart_intent::learn::Context {
        image,
        user: num("/process/user/uid"),
        group: num("/process/user/gid"),
        no_new_privileges: config
            .pointer("/process/noNewPrivileges")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false),
        capabilities,
        scratch_mounts,
        sensitive_present,
    })
}

/// What a host command's run cannot show: its user, no capabilities or no-new-privileges
/// claimed, the usual scratch directories, the host's sensitive files.
fn command_context(image: rampart_intent::doc::ImageDigest) -> rampart_intent::learn::Context {
    rampart_intent::learn::Context {
        image,
        user: nix::unistd::getuid().as_raw(),
        group: nix::unistd::getgid().as_raw(),
        no_new_privileges: false,
        capabilities: Vec::new(),
        scratch_mounts: vec!["/tmp".into(), "/var/tmp".into(), "/dev/shm".into()],
        sensitive_present: rampart_intent::learn::SENSITIVE
            .iter()
            .filter(|p| std::fs::symlink_metadata(p).is_ok())
            .map(|p| (*p).to_owned())
            .collect(),
    }
}

fn learn(a: &LearnArgs) -> Result<u8> {
    use std::str::FromStr;
    use std::sync::atomic::{AtomicBool, Ordering};
    let image = rampart_intent::doc::ImageDigest::from_str(&a.image)
        .map_err(|e| anyhow::anyhow!("--image: {e}"))?;
    let bundle = a.bundle.as_deref().filter(|_| a.command.is_empty());
    let mut ctx = match bundle {
        Some(b) => learn_context(b, image)?,
        None => command_context(image),
    };
    let existing = if a.merge && a.out.exists() {
        let i = Intent::load(&a.out)?;
        if i.image.digest() != ctx.image.digest() {
            bail!(
                "--merge: {} is the intent of {}, not of {}",
                a.out.display(),
                i.image,
                ctx.image
            );
        }
        Some(i)
    } else {
        None
    };
    let work = tempfile::Builder::new()
        .prefix("rampart-learn-")
        .tempdir()?;
    let state = work.path().join("runc");
    std::fs::create_dir(&state)?;
    let id = format!("rampart-learn-{}", std::process::id());
    // A host command is told apart by a variable in its environment (and its descendants').
    let token = format!("RAMPART_LEARN_TOKEN={id}");
    let rules = match bundle {
        Some(_) => rampart_intent::learn::LEARN_RULES.to_owned(),
        None => rampart_intent::learn::LEARN_RULES.replace(
            "container.id != host",
            &format!("proc.env contains \"{token}\""),
        ),
    };

    // The monitor, with the learning rules, its alerts collected.
    let config_text = format!(
        "include-host = {}\nappend-output = \"\"\nstate-roots = [{}]\n",
        bundle.is_none(),
        serde_json::Value::String(state.display().to_string())
    );
    let config = rampart_monitor::config::MonitorConfig::parse(&config_text, Path::new("learn"))?;
    let collected = Collect::default();
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let monitor = {
        let stop = stop.clone();
        let out = collected.clone();
        std::thread::spawn(move || {
            rampart_monitor::pipeline::run(rampart_monitor::pipeline::RunOptions {
                config,
                rules: vec![("rampart-learn.yaml".to_owned(), rules)],
                duration: None,
                stop,
                stdout: Box::new(out),
                notes: Box::new(|n| tracing::debug!("monitor: {n}")),
                ready: Some(Box::new(move |_| {
                    let _ = ready_tx.send(());
                })),
            })
        })
    };
    if ready_rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .is_err()
    {
        stop.store(true, Ordering::SeqCst);
        return match monitor.join() {
            Ok(Err(e)) => Err(anyhow::Error::new(e).context("the monitor could not start")),
            _ => bail!("the monitor did not start within 60 s"),
        };
    }
    match bundle {
        Some(b) => eprintln!(
            "rampart: monitor attached; running {} under {}",
            b.display(),
            a.runc
        ),
        None => eprintln!("rampart: monitor attached; running {}", a.command.join(" ")),
    }

    // The run, under the seccomp recorder, driven by the smoke test.
    let smoke_failed = std::sync::Mutex::new(None::<String>);
    let drive: Option<rampart_seccomp::bundle::Driver<'_>> = a.smoke.as_ref().map(|cmd| {
        let smoke_failed = &smoke_failed;
        Box::new(move |_: &rampart_seccomp::bundle::Running| {
            let status = std::process::Command::new("sh").args(["-c", cmd]).status();
            let failed = match status {
                Ok(s) if s.success() => None,
                Ok(s) => Some(format!("the smoke test `{cmd}` failed ({s})")),
                Err(e) => Some(format!("the smoke test `{cmd}` could not run: {e}")),
            };
            *smoke_failed
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = failed;
        }) as rampart_seccomp::bundle::Driver<'_>
    });
    let recording = match bundle {
        Some(b) => rampart_seccomp::bundle::record_bundle_with(
            b,
            &a.runc,
            rampart_seccomp::bundle::BundleRun {
                state_root: Some(state.clone()),
                id: Some(id.clone()),
                drive,
            },
        )
        .map_err(anyhow::Error::new),
        None => {
            drop(drive);
            let mut command = vec!["env".to_owned(), token.clone()];
            command.extend(a.command.iter().cloned());
            rampart_seccomp::record::record(&command, &rampart_seccomp::record::Options::default())
                .map_err(anyhow::Error::new)
        }
    };
    // let the monitor read the last events
    std::thread::sleep(std::time::Duration::from_millis(300));
    stop.store(true, Ordering::SeqCst);
    let summary = match monitor.join() {
        Ok(r) => r?,
        Err(_) => bail!("the monitor thread panicked"),
    };
    let recording = recording?;
    if let Some(failed) = smoke_failed
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
    {
        bail!("{failed}: no intent is learned from a failing run");
    }
    if a.smoke.is_none() && !matches!(recording.exit, rampart_seccomp::record::Exit::Code(0)) {
        bail!(
            "the workload ended with {}: no intent is learned from a failing run",
            recording.exit
        );
    }
    if summary.lost > 0 {
        bail!(
            "the monitor lost {} events in the kernel: the intent would miss what it did not see",
            summary.lost
        );
    }
    let mut obs = rampart_intent::learn::Observations::default();
    let text = collected
        .0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    let text = String::from_utf8_lossy(&text);
    let mut others = 0usize;
    let container = if bundle.is_some() {
        id.as_str()
    } else {
        "host"
    };
    for line in text.lines() {
        if !obs.add_alert(line, container) {
            others += 1;
        }
    }
    if obs.execs.is_empty() {
        tracing::debug!("monitor output:\n{text}");
        bail!(
            "the monitor saw no executable run by {} ({others} other alert(s)): nothing to learn from",
            bundle.map_or_else(|| a.command.join(" "), |_| format!("container {id}"))
        );
    }
    obs.syscalls = recording.observed.syscalls.keys().cloned().collect();

    if a.caps {
        let start = ctx
            .capabilities
            .iter()
            .map(|c| format!("CAP_{c}"))
            .collect::<Vec<_>>();
        let b = bundle.context("--caps needs --bundle")?;
        let report = rampart_seccomp::caps::minimize(b, &a.runc, &start)?;
        eprintln!(
            "rampart: capabilities: {} needed of {} ({} runs)",
            report.required.len(),
            report.start.len(),
            report.runs
        );
        ctx.capabilities = report
            .required
            .iter()
            .map(|c| c.trim_start_matches("CAP_").to_owned())
            .collect();
    } else if !ctx.capabilities.is_empty() {
        eprintln!(
            "rampart: note: the bundle's {} capabilities are kept (not measured; --caps finds the minimal set)",
            ctx.capabilities.len()
        );
    }
    let learned = rampart_intent::learn::intent_from(&obs, &ctx);
    let intent = match &existing {
        Some(old) => rampart_intent::learn::merge(old, &learned),
        None => learned,
    };
    let body = intent.to_toml()?;
    let header = format!(
        "# Learned by rampart {} from {} of {} ({} monitor events, {} syscalls recorded).\n# Review it: it allows what the run did, nothing more.\n",
        env!("CARGO_PKG_VERSION"),
        if existing.is_some() {
            "several runs"
        } else {
            "one run"
        },
        bundle.map_or_else(|| a.command.join(" "), |b| b.display().to_string()),
        obs.events,
        obs.syscalls.len()
    );
    // re-read to be sure what is written is a valid intent
    Intent::parse(&body, &a.out)?;
    rampart_seccomp::profile::write_atomic(&a.out, (header + &body).as_bytes())
        .with_context(|| format!("writing {}", a.out.display()))?;
    println!(
        "{}: {} executable(s), {} writable path(s), {} listen, {} egress, {} syscalls, {} capabilities",
        a.out.display(),
        intent.process.executables.len(),
        intent.files.writable.len(),
        intent.network.listen.len(),
        intent.network.egress.len(),
        intent.kernel.syscalls.as_ref().map_or(0, Vec::len),
        intent.kernel.capabilities.len()
    );
    Ok(0)
}

/// `rampart-guard` beside this binary, else in PATH.
fn find_guard() -> Result<PathBuf> {
    let beside = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(|d| d.join("rampart-guard")))
        .filter(|p| p.is_file());
    let in_path = || {
        std::env::var_os("PATH").and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("rampart-guard"))
                .find(|c| c.is_file())
        })
    };
    beside.or_else(in_path).with_context(|| {
        "rampart-guard not found beside rampart or in PATH (cargo build -p rampart-enforce builds it; --guard PATH names it; --no-guard compiles without kernel enforcement)"
    })
}

/// `rampart intent run`: create, attach the connection guard, start, report denials, wait.
fn run_bundle(bundle: &Path, id: Option<&str>, root: Option<&Path>, runc: &str) -> Result<u8> {
    use rampart_enforce::{audit, event, net};
    let policy_path = bundle.join("rampart-guard").join("policy.json");
    let policy =
        rampart_enforce::Policy::from_json(&std::fs::read(&policy_path).with_context(|| {
            format!(
                "{}: the bundle was not compiled with the guard (rampart intent compile --bundle)",
                policy_path.display()
            )
        })?)?;
    let id = id.map_or_else(|| format!("rampart-{}", std::process::id()), str::to_owned);
    let state = root.map_or_else(|| PathBuf::from("/run/runc"), Path::to_path_buf);
    let runc_cmd = |args: &[&str]| {
        let mut c = std::process::Command::new(runc);
        c.arg("--root").arg(&state).args(args);
        c
    };
    // The container's init becomes our child once `runc create` exits: its status is ours.
    nix::sys::prctl::set_child_subreaper(true).context("PR_SET_CHILD_SUBREAPER")?;
    // Landlock denials come as audit records; the reader joins before the container starts.
    audit::enable()?;
    let mut reader = audit::Reader::open()?;
    let created = runc_cmd(&["create", "--bundle"])
        .arg(bundle)
        .arg(&id)
        .stdin(std::process::Stdio::null())
        .status()
        .with_context(|| format!("running {runc}"))?;
    if !created.success() {
        bail!("{runc} create {id} failed ({created})");
    }
    let cleanup = |code: u8| {
        let _ = runc_cmd(&["delete", "-f", &id]).output();
        code
    };
    let state_json = runc_cmd(&["state", &id]).output()?;
    let pid = serde_json::from_slice::<serde_json::Value>(&state_json.stdout)
        .ok()
        .and_then(|v| v.get("pid").and_then(serde_json::Value::as_u64))
        .and_then(|p| u32::try_from(p).ok());
    let Some(pid) = pid else {
        cleanup(0);
        bail!("{runc} state {id}: no init pid");
    };
    let mut handle = match net::cgroup_of_pid(pid).and_then(|cg| net::attach(&cg, &policy)) {
        Ok(h) => h,
        Err(e) => {
            cleanup(0);
            return Err(anyhow::Error::new(e)
                .context("attaching the connection guard (the container was not started)"));
        }
    };
    let started = runc_cmd(&["start", &id]).status()?;
    if !started.success() {
        cleanup(0);
        bail!("{runc} start {id} failed ({started})");
    }
    eprintln!("rampart: {id} started under its intent ({:?})", policy.mode);
    // SIGINT/SIGTERM stop the container (then we exit with its status)
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, std::sync::Arc::clone(&stop))
            .context("cannot install the signal handlers")?;
    }
    let mut stopping: Option<std::time::Instant> = None;
    let report = |events: &[event::Event]| {
        for e in events {
            if let Ok(line) = serde_json::to_string(e) {
                eprintln!("{line}");
            }
        }
    };
    let mut all = Vec::new();
    let mut domains = std::collections::BTreeSet::new();
    let init = nix::unistd::Pid::from_raw(i32::try_from(pid).unwrap_or(i32::MAX));
    let status = loop {
        let net_events: Vec<event::Event> =
            handle.events().iter().map(event::Event::from).collect();
        let records = reader.records(std::time::Duration::from_millis(50));
        // a domain's allocation record (with the pid that created it) comes with its first
        // denial only: remember the container's domains
        let denials = audit::denials(&records);
        for d in &denials {
            if d.domain_pid == Some(pid) {
                domains.insert(d.domain.clone());
            }
        }
        let land: Vec<event::Event> = denials
            .iter()
            .filter(|d| domains.contains(&d.domain))
            .flat_map(event::from_denial)
            .collect();
        report(&net_events);
        report(&land);
        all.extend(net_events);
        all.extend(land);
        match stopping {
            None if stop.load(std::sync::atomic::Ordering::SeqCst) => {
                stopping = Some(std::time::Instant::now());
                let _ = runc_cmd(&["kill", &id, "TERM"]).output();
            }
            // a PID 1 without a handler ignores SIGTERM
            Some(t) if t.elapsed() > rampart_seccomp::bundle::STOP_GRACE => {
                let _ = runc_cmd(&["kill", &id, "KILL"]).output();
            }
            _ => {}
        }
        match nix::sys::wait::waitpid(init, Some(nix::sys::wait::WaitPidFlag::WNOHANG)) {
            Ok(nix::sys::wait::WaitStatus::Exited(_, c)) => break u8::try_from(c).unwrap_or(1),
            Ok(nix::sys::wait::WaitStatus::Signaled(_, sig, _)) => {
                break 128u8.saturating_add(u8::try_from(sig as i32).unwrap_or(0));
            }
            Ok(_) => {}
            Err(e) => {
                eprintln!("rampart: waiting for {id}: {e}");
                break 1;
            }
        }
    };
    // what the last moments produced
    let tail: Vec<event::Event> = handle.events().iter().map(event::Event::from).collect();
    report(&tail);
    all.extend(tail);
    let counts = handle.counts()?;
    eprintln!(
        "rampart: {id} exited ({status}); {} denial event(s): connect {} denied, {} would be; bind {} denied, {} would be",
        all.len(),
        counts.connect_denied,
        counts.connect_would_deny,
        counts.bind_denied,
        counts.bind_would_deny
    );
    drop(handle);
    Ok(cleanup(status))
}
