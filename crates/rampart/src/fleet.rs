//! `rampart fleet`: the fleet store and work queue in PostgreSQL (rampart-fleet; docs/fleet.md).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use rampart_fleet::manifests::{
    self, Block, Destination, Dns, ManifestOptions, Mode, Pods, Resources, Seccomp, SecretRef,
};
use rampart_fleet::{Store, queue, sources, worker};

use crate::cli::{ImageArgs, ListFormat};

/// The environment variable holding the store's URL (the worker's Deployment takes it from a
/// Secret).
pub const STORE_ENV: &str = "RAMPART_FLEET_STORE";

/// `rampart fleet`.
#[derive(Debug, Args)]
pub struct FleetArgs {
    #[command(subcommand)]
    pub command: FleetCommand,
}

/// The store's location.
#[derive(Debug, Args)]
pub struct StoreLocation {
    /// The fleet store: a PostgreSQL URL (postgres://user@host:port/db). Default:
    /// $RAMPART_FLEET_STORE.
    #[arg(long, value_name = "URL", env = STORE_ENV, hide_env_values = true)]
    pub store: String,
}

#[derive(Debug, Subcommand)]
pub enum FleetCommand {
    /// Queue images for analysis: references, a registry's whole catalog, or the images a
    /// cluster runs. A reference already queued or running is not queued twice. Exit 2 when
    /// some input was refused (the rest is queued).
    Enqueue(EnqueueArgs),
    /// Take jobs from the queue and analyse them until stopped (SIGTERM finishes the jobs in
    /// flight), or until the queue is empty with --exit-when-idle.
    Worker(Box<WorkerArgs>),
    /// The queue: jobs by state, running per registry, failures with their reasons.
    Status(StatusArgs),
    /// Print the stored report (`rampart scan --format json`) of an analysed image, by
    /// reference or digest.
    Report(ReportArgs),
    /// Print the workers' Kubernetes manifests as YAML: Namespace (Pod Security restricted),
    /// ServiceAccount (no RBAC, no token), a Deployment of workers or a CronJob of Jobs that
    /// drain the queue, the reference to the Secret with the PostgreSQL URL, a
    /// PodDisruptionBudget, and NetworkPolicies (default deny; egress only to PostgreSQL, the
    /// registries and DNS).
    Manifests(Box<ManifestsArgs>),
}

#[derive(Debug, Args)]
pub struct EnqueueArgs {
    /// Image references.
    pub references: Vec<String>,
    /// A file of references, one per line (`#` comments); `-` for standard input.
    #[arg(long, value_name = "FILE")]
    pub file: Vec<PathBuf>,
    /// Every tag of every repository of this registry (host[:port]), from its catalog.
    #[arg(long, value_name = "REGISTRY")]
    pub catalog: Vec<String>,
    /// The images running in a cluster: a `kubectl get pods,deployments,... -A -o yaml` dump
    /// (a Pod's container status pins the digest it runs).
    #[arg(long, value_name = "FILE")]
    pub cluster: Vec<PathBuf>,
    /// Attempts before a job fails for good.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub max_attempts: i32,
    #[command(flatten)]
    pub store: StoreLocation,
    #[command(flatten)]
    pub registry: ImageArgs,
}

#[derive(Debug, Args)]
pub struct WorkerArgs {
    #[command(flatten)]
    pub store: StoreLocation,
    /// Jobs analysed at once by this worker.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub concurrency: usize,
    /// Jobs running at once against one registry, across every worker of the fleet.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub per_registry: i64,
    /// Match vulnerabilities with this advisory database (default: packages only; `rampart
    /// inventory --inventory URL rescan` matches the stored packages later).
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// Seconds without a heartbeat after which a running job is taken as lost and claimed
    /// again (heartbeats are sent every third of it).
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0)]
    pub lease: f64,
    /// Seconds between looks at an empty queue.
    #[arg(long, value_name = "SECONDS", default_value_t = 1.0)]
    pub poll: f64,
    /// Seconds before the first retry of a failed attempt (doubled per attempt).
    #[arg(long, value_name = "SECONDS", default_value_t = 5.0)]
    pub backoff: f64,
    /// Stop when no job is queued or running anywhere (a Job or CronJob's worker).
    #[arg(long)]
    pub exit_when_idle: bool,
    /// Seconds a registry may take to connect, to answer, and between reads of an answer:
    /// past it the attempt fails (and is retried with backoff).
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0)]
    pub registry_timeout: f64,
    /// The layer cache (default: the fleet store itself, shared by every worker: each layer
    /// of the fleet is read once; docs/layer-cache.md).
    #[command(flatten)]
    pub layer_cache: crate::cli::LayerCacheArgs,
    /// Also record each analysed image's report as a scan run in this history store (a path
    /// or postgres:// URL, e.g. the fleet store's own), for `rampart metrics` and the dashboard.
    #[arg(long, value_name = "STORE")]
    pub history: Option<String>,
    /// This worker's name in the queue (default: host/pid/random).
    #[arg(long, value_name = "NAME")]
    pub id: Option<String>,
    #[command(flatten)]
    pub registry: ImageArgs,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub store: StoreLocation,
    #[arg(short, long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The image: a reference the fleet analysed, or a digest (sha256:...).
    pub image: String,
    #[command(flatten)]
    pub store: StoreLocation,
}

#[derive(Debug, Args)]
pub struct ManifestsArgs {
    /// The namespace (created with Pod Security `restricted`).
    #[arg(long, default_value = "rampart-fleet")]
    pub namespace: String,
    /// Name of the Deployment or CronJob, ServiceAccount and PodDisruptionBudget (and prefix of
    /// the NetworkPolicies).
    #[arg(long, default_value = "rampart-fleet-worker")]
    pub name: String,
    /// The rampart image (entrypoint `rampart`; default: rampart's release image, built by
    /// scripts/build-image.sh, docs/image.md).
    #[arg(long, default_value = rampart_core::RAMPART_IMAGE)]
    pub image: String,
    /// The image's digest (sha256:...): the pods run IMAGE@DIGEST, pinned.
    #[arg(long, value_name = "DIGEST")]
    pub image_digest: Option<String>,
    /// Workers: the Deployment's replicas, or each Job's parallelism with --cronjob.
    #[arg(long, default_value_t = 2)]
    pub replicas: u32,
    /// Images each worker assesses at once (the worker's --concurrency).
    #[arg(long, default_value_t = 4)]
    pub concurrency: u32,
    /// At most this many of them from one registry (the worker's --per-registry).
    #[arg(long, default_value_t = 2)]
    pub per_registry: u32,
    /// The Secret holding the PostgreSQL URL, NAME[:KEY] (key `url` by default); the pods read
    /// it into RAMPART_FLEET_STORE. The output never holds the URL.
    #[arg(long, value_name = "NAME[:KEY]", default_value = "rampart-fleet-store:url",
          value_parser = |s: &str| SecretRef::parse(s).map_err(|e| e.to_string()))]
    pub secret: SecretRef,
    /// PostgreSQL outside the cluster: CIDR:PORT (e.g. 10.20.0.5/32:5432). The workers' only
    /// database egress.
    #[arg(long, value_name = "CIDR:PORT", conflicts_with = "postgres_pods",
          value_parser = |s: &str| Block::parse("postgres", s).map_err(|e| e.to_string()))]
    pub postgres: Option<Block>,
    /// PostgreSQL in the cluster: its pods, [NAMESPACE/]KEY=VALUE[,KEY=VALUE...][:PORT]
    /// (namespace: the workers' own; port 5432).
    #[arg(long, value_name = "[NS/]LABELS[:PORT]",
          default_value = "postgres/app.kubernetes.io/name=postgresql:5432",
          value_parser = |s: &str| Pods::parse("postgres-pods", s).map_err(|e| e.to_string()))]
    pub postgres_pods: Pods,
    /// A registry the workers pull from, CIDR:PORT (repeatable). Default: TCP 443 to any IPv4
    /// address outside the private, shared, link-local and loopback ranges.
    #[arg(long = "registry", value_name = "CIDR:PORT",
          value_parser = |s: &str| Block::parse("registry", s).map_err(|e| e.to_string()))]
    pub registries: Vec<Block>,
    /// DNS at an address range (a node-local cache, e.g. 169.254.20.10/32) instead of the
    /// cluster's kube-dns pods.
    #[arg(long, value_name = "CIDR",
          value_parser = |s: &str| manifests::parse_cidr(s).map_err(|e| e.to_string()))]
    pub dns: Option<String>,
    /// A CronJob on this schedule instead of a Deployment: each run's Job of --replicas
    /// workers drains the queue and exits (the worker's --exit-when-idle).
    #[arg(long, value_name = "SCHEDULE")]
    pub cronjob: Option<String>,
    /// activeDeadlineSeconds of each Job (with --cronjob).
    #[arg(long, value_name = "SECONDS", default_value_t = 6 * 3600, requires = "cronjob")]
    pub job_deadline: u32,
    #[arg(long, default_value = "500m")]
    pub cpu_request: String,
    #[arg(long, default_value = "2")]
    pub cpu_limit: String,
    #[arg(long, default_value = "512Mi")]
    pub memory_request: String,
    #[arg(long, default_value = "2Gi")]
    pub memory_limit: String,
    /// sizeLimit of the emptyDir volumes for /tmp and the cache directory.
    #[arg(long, default_value = "2Gi")]
    pub scratch_size: String,
    /// A Localhost seccomp profile, relative to the kubelet's seccomp directory (rampart's
    /// recorded profile is deploy/rampart.seccomp.json; docs/image.md). Default: the
    /// runtime's default profile.
    #[arg(long, value_name = "PATH")]
    pub seccomp_profile: Option<String>,
    /// The advisory database in the pod, passed to the worker as --db.
    #[arg(long, value_name = "PATH")]
    pub db: Option<String>,
    /// A PersistentVolumeClaim holding --db, mounted read-only at its directory.
    #[arg(long, value_name = "CLAIM", requires = "db")]
    pub db_claim: Option<String>,
    /// runtimeClassName of the pods (a sandbox such as gVisor: workers parse untrusted images).
    #[arg(long, value_name = "NAME")]
    pub runtime_class: Option<String>,
}

pub fn run(args: FleetArgs) -> Result<u8> {
    match args.command {
        FleetCommand::Enqueue(a) => enqueue(&a),
        FleetCommand::Worker(a) => work(&a),
        FleetCommand::Status(a) => status(&a),
        FleetCommand::Report(a) => report(&a),
        FleetCommand::Manifests(a) => print_manifests(*a),
    }
}

fn seconds(what: &str, v: f64) -> Result<Duration> {
    Duration::try_from_secs_f64(v).with_context(|| format!("--{what}: {v} is not a duration"))
}

fn enqueue(args: &EnqueueArgs) -> Result<u8> {
    let mut jobs = Vec::new();
    let mut refused = Vec::new();
    let (j, r) = sources::from_references(
        args.references
            .iter()
            .enumerate()
            .map(|(i, s)| (format!("argument {}", i + 1), s.as_str())),
    );
    jobs.extend(j);
    refused.extend(r);
    for f in &args.file {
        let text = if f.as_os_str() == "-" {
            std::io::read_to_string(std::io::stdin()).context("reading standard input")?
        } else {
            std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?
        };
        let (j, r) = sources::from_references(
            text.lines()
                .enumerate()
                .map(|(n, l)| (format!("{}:{}", f.display(), n + 1), l)),
        );
        jobs.extend(j);
        refused.extend(r);
    }
    if !args.catalog.is_empty() {
        let client =
            rampart_registry::Client::new(&crate::registry::client_options(&args.registry)?)?;
        for registry in &args.catalog {
            let (j, r) = sources::from_catalog(&client, registry);
            jobs.extend(j);
            refused.extend(r);
        }
    }
    for f in &args.cluster {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
        let (j, r) = sources::from_cluster(&f.display().to_string(), &text);
        jobs.extend(j);
        refused.extend(r);
    }
    for r in &refused {
        eprintln!("rampart: {r}");
    }
    if jobs.is_empty() && refused.is_empty() {
        bail!("nothing to enqueue: name references, --file, --catalog or --cluster");
    }
    let mut store = Store::open(&args.store.store)?;
    let done = queue::enqueue(&mut store, &jobs, "cli", args.max_attempts)?;
    println!(
        "enqueued {} job(s) in {}; {} already queued or running{}",
        done.added,
        store.location(),
        done.pending,
        if refused.is_empty() {
            String::new()
        } else {
            format!("; {} refused (exit 2)", refused.len())
        }
    );
    Ok(if refused.is_empty() { 0 } else { 2 })
}

fn work(args: &WorkerArgs) -> Result<u8> {
    if args.concurrency == 0 {
        bail!("--concurrency: at least 1");
    }
    if args.per_registry < 1 {
        bail!("--per-registry: at least 1");
    }
    let mut opts = worker::WorkerOptions::new(args.id.clone().unwrap_or_else(worker::default_id));
    opts.concurrency = args.concurrency;
    opts.per_registry = args.per_registry;
    opts.lease = seconds("lease", args.lease)?;
    opts.poll = seconds("poll", args.poll)?;
    opts.backoff = seconds("backoff", args.backoff)?;
    opts.exit_when_idle = args.exit_when_idle;
    opts.history.clone_from(&args.history);
    if let Some(db) = &args.db
        && !db.is_file()
    {
        bail!("--db {}: no advisory database there", db.display());
    }
    let platform = args
        .registry
        .platform
        .as_deref()
        .map(str::parse)
        .transpose()
        .context("--platform")?;
    let mut client = crate::registry::client_options(&args.registry)?;
    client.read_timeout = seconds("registry-timeout", args.registry_timeout)?;
    client.connect_timeout = client.read_timeout;
    let analyser =
        rampart_fleet::analyse::RegistryAnalyser::new(&client, platform, args.db.clone())?
            .with_secrets(!args.registry.no_secrets)
            .with_layer_cache(if args.layer_cache.no_layer_cache {
                None
            } else {
                let location = args
                    .layer_cache
                    .layer_cache
                    .clone()
                    .filter(|l| !l.is_empty())
                    .unwrap_or_else(|| args.store.store.clone());
                crate::images::open_layer_cache(
                    &crate::cli::LayerCacheArgs {
                        layer_cache: Some(location),
                        no_layer_cache: false,
                    },
                    false,
                )
            });
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop)).context("signal handler")?;
    }
    eprintln!(
        "rampart: fleet worker {} on {}: {} at once, {} per registry",
        opts.id,
        rampart_history::redacted(&args.store.store),
        opts.concurrency,
        opts.per_registry
    );
    let stats = worker::run(&args.store.store, &opts, &analyser, &stop)?;
    eprintln!(
        "rampart: fleet worker {}: {} analysed, {} already analysed, {} attempt(s) failed, {} lost to another worker",
        opts.id, stats.analysed, stats.cached, stats.failed_attempts, stats.lost
    );
    if stats.unrecorded > 0 {
        eprintln!(
            "rampart: {} analysed image(s) not recorded in the history store (exit 2)",
            stats.unrecorded
        );
        return Ok(2);
    }
    Ok(0)
}

fn status(args: &StatusArgs) -> Result<u8> {
    let mut store = Store::open(&args.store.store)?;
    let s = queue::status(&mut store)?;
    let text = match args.format {
        ListFormat::Json => serde_json::to_string_pretty(&s)? + "\n",
        ListFormat::Table => {
            let mut t = Table::new();
            t.load_preset(UTF8_FULL_CONDENSED);
            t.set_header(["queued", "running", "done", "failed", "images"]);
            t.add_row([s.queued, s.running, s.done, s.failed, s.images].map(|n| n.to_string()));
            let mut out = format!("{t}\n");
            for (reg, n) in &s.running_by_registry {
                out.push_str(&format!("running against {reg}: {n}\n"));
            }
            if !s.failures.is_empty() {
                let mut f = Table::new();
                f.load_preset(UTF8_FULL_CONDENSED);
                f.set_header(["failed job", "attempts", "reason"]);
                for x in &s.failures {
                    f.add_row([x.reference.clone(), x.attempts.to_string(), x.error.clone()]);
                }
                out.push_str(&format!("{f}\n"));
            }
            out
        }
    };
    print!("{text}");
    Ok(0)
}

fn report(args: &ReportArgs) -> Result<u8> {
    let mut store = Store::open(&args.store.store)?;
    let digest = if args.image.starts_with("sha256:") {
        args.image.clone()
    } else {
        let job = sources::job(&args.image).map_err(anyhow::Error::msg)?;
        rampart_fleet::inventory::digest_of(&mut store, &job.reference)?
            .with_context(|| format!("{}: the fleet has not analysed it", job.reference))?
    };
    match rampart_fleet::inventory::report(&mut store, &digest)? {
        Some(r) => {
            println!("{r}");
            Ok(0)
        }
        None => bail!("{digest}: the fleet has not analysed it"),
    }
}

fn print_manifests(a: ManifestsArgs) -> Result<u8> {
    let options = ManifestOptions {
        namespace: a.namespace,
        name: a.name,
        image: a.image,
        image_digest: a.image_digest,
        replicas: a.replicas,
        concurrency: a.concurrency,
        per_registry: a.per_registry,
        secret: a.secret,
        postgres: match a.postgres {
            Some(b) => Destination::Block(b),
            None => Destination::Pods(a.postgres_pods),
        },
        registries: a.registries,
        dns: a.dns.map_or(Dns::KubeDns, Dns::Block),
        mode: a
            .cronjob
            .map_or(Mode::Deployment, |schedule| Mode::CronJob { schedule }),
        job_deadline_seconds: a.job_deadline,
        resources: Resources {
            cpu_request: a.cpu_request,
            cpu_limit: a.cpu_limit,
            memory_request: a.memory_request,
            memory_limit: a.memory_limit,
        },
        seccomp: a
            .seccomp_profile
            .map_or(Seccomp::RuntimeDefault, Seccomp::Localhost),
        db: a.db,
        db_claim: a.db_claim,
        runtime_class: a.runtime_class,
        scratch_size: a.scratch_size,
    };
    let docs = manifests::generate(&options)?;
    if options.image_digest.is_none() {
        eprintln!(
            "rampart: the image is not pinned (--image-digest sha256:...): `rampart scan` reports it (K8S004)"
        );
    }
    crate::write_out(None, &manifests::to_yaml(&docs)?)?;
    Ok(0)
}
