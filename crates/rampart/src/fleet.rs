//! `rampart fleet`: the fleet store and work queue in PostgreSQL (rampart-fleet; docs/fleet.md).

use anyhow::Result;
use clap::{Args, Subcommand};
use rampart_fleet::manifests::{
    self, Block, Destination, Dns, ManifestOptions, Mode, Pods, Resources, Seccomp, SecretRef,
};

/// `rampart fleet`.
#[derive(Debug, Args)]
pub struct FleetArgs {
    #[command(subcommand)]
    pub command: FleetCommand,
}

#[derive(Debug, Subcommand)]
pub enum FleetCommand {
    /// Print the workers' Kubernetes manifests as YAML: Namespace (Pod Security restricted),
    /// ServiceAccount (no RBAC, no token), a Deployment of workers or a CronJob of Jobs that
    /// drain the queue, the reference to the Secret with the PostgreSQL URL, a
    /// PodDisruptionBudget, and NetworkPolicies (default deny; egress only to PostgreSQL, the
    /// registries and DNS).
    Manifests(ManifestsArgs),
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
        FleetCommand::Manifests(a) => print_manifests(a),
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
