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
    #[command(flatten)]
    pub log: LogArgs,
}

// --- output and logging (issue 13, sections 3-4) ---

/// What rampart tells about its own work, on standard error (every command).
#[derive(Debug, Args)]
pub struct LogArgs {
    /// Log what rampart is doing to standard error: -v steps (files found, images opened,
    /// database), -vv every file parsed.
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Log everything (as -vv, with the source of each event).
    #[arg(long, global = true)]
    pub debug: bool,
}

/// What `scan` shows (flattened into [`ScanArgs`]).
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Report only findings and vulnerabilities of these severities, comma-separated
    /// (e.g. critical,high; Trivy's UNKNOWN is info). Only what is shown counts for --fail-on;
    /// the layer map keeps the state of every control.
    #[arg(long, value_name = "LIST")]
    pub severity: Option<String>,
    /// Print the findings only: no layer map, no image facts, no summary, no progress, no
    /// notes on standard error (errors are still printed).
    #[arg(short, long)]
    pub quiet: bool,
}

// --- end output and logging ---

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan Dockerfiles and Kubernetes manifests (files or directories) and container images.
    Scan(Box<ScanArgs>),
    /// Write the software bill of materials of an image or root filesystem.
    Sbom(SbomArgs),
    /// List the rule catalog, or explain one rule.
    Rules(RulesArgs),
    /// The vulnerability database: download, import offline, show what it holds.
    Db(DbArgs),
    /// The inventory of scanned images: which contain a package, what changed since.
    Inventory(InventoryArgs),
    /// Signing keys in cosign's formats.
    Key(KeyArgs),
    /// Sign an image in a registry with a key, as `cosign sign --key` does.
    Sign(SignArgs),
    /// Verify an image's signatures with a key or a trust policy, as `cosign verify --key` does.
    /// Exit 0 verified, 1 signatures invalid or policy not met, 3 no signature found, 2 errors.
    Verify(VerifyArgs),
    /// Attach a signed in-toto attestation (an SBOM, provenance...) to an image, as
    /// `cosign attest --key` does.
    Attest(AttestArgs),
    /// Verify an image's attestations; optionally write the verified predicate (e.g. the SBOM,
    /// for `rampart scan`). Exit 0 verified, 1 invalid, 3 none found, 2 errors.
    VerifyAttestation(VerifyAttestationArgs),
    /// The Kubernetes admission webhook: serve it, or print its deployment.
    Admission(AdmissionArgs),
    /// Seccomp profiles: record a workload into a least-privilege profile, lint, diff.
    Seccomp(crate::seccomp::SeccompArgs),
    /// The runtime monitor: run the eBPF sensor with Falco's rules (alert, kill, drift), print
    /// its DaemonSet, or read a running monitor's health.
    Monitor(crate::monitor::MonitorArgs),
    /// One intent per image: check an intent document, compile it into every layer (seccomp,
    /// securityContext, runc, NetworkPolicies, runtime rules, admission), print its schema.
    Intent(crate::intent::IntentArgs),
    /// Network reachability under NetworkPolicies: every allowed connection (netpol-analyzer's
    /// format, JSON, DOT, SVG), why each pair is allowed or denied, what is exposed, and what
    /// changes between two revisions.
    Netpol(crate::netpol::NetpolArgs),
    /// Kubernetes RBAC as the authorizer resolves it: who may do what (who-can), what an
    /// identity may do (can), and escalation paths to cluster-admin (paths); docs/rbac.md.
    Rbac(crate::rbac::RbacArgs),
    /// The node under the containers, as actually configured (docs/host.md): kernel and its
    /// known escapes, security modules, container runtimes and Docker's daemon, the kubelet's
    /// effective configuration (CIS node items), SSH, sandbox runtimes. The running node, or
    /// an offline copy (`--root DIR`). Exit 1 at --fail-on, 2 on input errors.
    Host(crate::host::HostArgs),
    /// Sandbox runtimes tried for real: whether a workload can move into gVisor (runsc),
    /// compared with runc (docs/sandbox.md).
    Sandbox(crate::sandbox::SandboxArgs),
    /// Fleet scale (docs/fleet.md): a shared PostgreSQL store and work queue; enqueue images,
    /// run workers, print their Kubernetes manifests.
    Fleet(crate::fleet::FleetArgs),
    /// The layer cache (docs/layer-cache.md): what it holds, and purging old versions or
    /// bounding its size.
    Cache(crate::cache::CacheArgs),
    /// The history store: record saved scan reports (the measurement layer, docs/history.md).
    History(crate::history::HistoryArgs),
    /// The confidence metrics over the history store (docs/metrics.md): time to detect and to
    /// remediate drift, layers holding again, deadlines and their breaches; what has no input
    /// says why it is not measured.
    Metrics(crate::history::MetricsArgs),
    /// Write the one-file HTML report of the history store: metrics, the castle view, trend
    /// charts, open findings with their rules' documentation (no network when opened).
    Report(crate::dashboard::ReportArgs),
    /// Serve the dashboard over the history store: the castle per cluster, namespace and
    /// image, trends, drill-down to findings and events, and a JSON API (OpenAPI at
    /// /openapi.json). Read-only; loopback unless given a bearer token. With
    /// --scanner-adapter: Harbor's pluggable scanner API over the fleet store instead.
    Serve(crate::dashboard::ServeArgs),
    // Everyday habits (issue 13 §5): version, completions, man page.
    /// Print the version, the build's git commit and the advisory database's age.
    Version(VersionArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell), e.g.
    /// `source <(rampart completions bash)`.
    Completions(CompletionsArgs),
    /// Print the man page (roff), e.g. `rampart man | man -l -`.
    Man(ManArgs),
}

#[derive(Debug, Args)]
pub struct AdmissionArgs {
    #[command(subcommand)]
    pub command: AdmissionCommand,
}

#[derive(Debug, Subcommand)]
pub enum AdmissionCommand {
    /// Serve the validating and mutating webhook over HTTPS (`admission.k8s.io/v1`), with
    /// /healthz, /readyz and /metrics, until SIGTERM or SIGINT.
    Serve(AdmissionServeArgs),
    /// Print the deployment as YAML: Namespace, ServiceAccount, Secret with a generated CA and
    /// serving certificate (or cert-manager resources), Service, Deployment, and the
    /// Validating/MutatingWebhookConfiguration (failurePolicy Fail, own namespace excluded).
    Manifests(AdmissionManifestsArgs),
}

#[derive(Debug, Args)]
pub struct AdmissionServeArgs {
    /// The admission configuration (TOML: profiles of gates, namespace rules, `[server]`).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// Listen here instead of the configuration's `[server] listen`.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<std::net::SocketAddr>,
    /// The serving certificate (PEM) instead of the configuration's `[server] cert`.
    #[arg(long, value_name = "FILE")]
    pub cert: Option<PathBuf>,
    /// The serving key (PEM) instead of the configuration's `[server] key`.
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// When the configured certificate or key file is missing, generate a CA (`ca.crt` beside
    /// the certificate) and a serving certificate for localhost and 127.0.0.1 (local runs).
    #[arg(long)]
    pub self_signed: bool,
}

#[derive(Debug, Args)]
pub struct AdmissionManifestsArgs {
    /// The admission configuration: shipped in a ConfigMap, and its namespace-label rules
    /// become webhook entries with their namespaceSelector.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The webhook's namespace (excluded from admission).
    #[arg(long, default_value = "rampart-system")]
    pub namespace: String,
    /// Name of the Service, Deployment and webhook configurations.
    #[arg(long, default_value = "rampart-admission")]
    pub name: String,
    /// The rampart image (entrypoint `rampart`; default: rampart's release image, built by
    /// scripts/build-image.sh, docs/image.md).
    #[arg(long, default_value = rampart_core::RAMPART_IMAGE)]
    pub image: String,
    /// The image's digest (sha256:...): the Deployment runs IMAGE@DIGEST, pinned.
    #[arg(long, value_name = "DIGEST")]
    pub image_digest: Option<String>,
    /// Replicas of the Deployment.
    #[arg(long, default_value_t = 2)]
    pub replicas: u32,
    /// The webhooks' failurePolicy.
    #[arg(long, value_enum, default_value = "fail")]
    pub failure_policy: FailurePolicyArg,
    /// The webhooks' timeoutSeconds (1 to 30).
    #[arg(long, default_value_t = 5)]
    pub timeout_seconds: u32,
    /// Let cert-manager issue the certificate (Issuer + Certificate, and the
    /// `cert-manager.io/inject-ca-from` annotation) instead of generating one.
    #[arg(long)]
    pub cert_manager: bool,
    /// Also write the generated `ca.crt`, `tls.crt` and `tls.key` into this directory.
    #[arg(long, value_name = "DIR", conflicts_with = "cert_manager")]
    pub tls_dir: Option<PathBuf>,
    /// A Localhost seccomp profile, relative to the kubelet's seccomp directory (rampart's
    /// recorded profile is deploy/rampart.seccomp.json; docs/image.md). Default: the
    /// runtime's default profile.
    #[arg(long, value_name = "PATH")]
    pub seccomp_profile: Option<String>,
}

/// `failurePolicy` of the generated webhooks.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FailurePolicyArg {
    /// Reject requests when the webhook cannot be reached (fail closed).
    Fail,
    /// Admit them (fail open).
    Ignore,
}

#[derive(Debug, Args)]
pub struct AttestArgs {
    /// The image (a registry reference; a tag is resolved to its digest first).
    pub image: String,
    /// The private key.
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    /// The predicate type, as cosign names it: custom, cyclonedx, spdx, spdxjson,
    /// slsaprovenance, slsaprovenance1, vuln, openvex; or `intent` (rampart's: the image's
    /// intent document, checked to be bound to the image's digest).
    #[arg(long = "type", value_name = "TYPE", default_value = "custom")]
    pub predicate_type: String,
    /// The predicate file (the SBOM, the provenance...).
    #[arg(long, value_name = "FILE")]
    pub predicate: PathBuf,
    #[command(flatten)]
    pub registry: ImageArgs,
}

#[derive(Debug, Args)]
pub struct VerifyAttestationArgs {
    /// The image (a registry reference).
    pub image: String,
    /// The public key (PEM).
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    /// The predicate type required (a cosign type name or a URI).
    #[arg(long = "type", value_name = "TYPE")]
    pub predicate_type: Option<String>,
    /// Write the verified predicate (of the first verified attestation) to FILE.
    #[arg(long, value_name = "FILE")]
    pub output_predicate: Option<PathBuf>,
    #[command(flatten)]
    pub registry: ImageArgs,
}

/// `key=value`.
fn key_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("expected key=value, found `{s}`")),
    }
}

#[derive(Debug, Args)]
pub struct SignArgs {
    /// The image (a registry reference; a tag is resolved to its digest first).
    pub image: String,
    /// The private key (cosign's encrypted format; the password from COSIGN_PASSWORD or
    /// RAMPART_PASSWORD, else a prompt).
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    /// An annotation signed with the image (repeatable).
    #[arg(short = 'a', long = "annotation", value_name = "KEY=VALUE", value_parser = key_value)]
    pub annotations: Vec<(String, String)>,
    #[command(flatten)]
    pub registry: ImageArgs,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The image (a registry reference).
    pub image: String,
    /// The public key (PEM) that must have signed it.
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "policy",
        conflicts_with = "policy"
    )]
    pub key: Option<PathBuf>,
    /// A trust policy: the keys, annotations and attestations the image must have.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// An annotation the signature must carry (repeatable).
    #[arg(short = 'a', long = "annotation", value_name = "KEY=VALUE", value_parser = key_value)]
    pub annotations: Vec<(String, String)>,
    /// Output format of the verified signatures.
    #[arg(short, long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
    #[command(flatten)]
    pub registry: ImageArgs,
}

#[derive(Debug, Args)]
pub struct KeyArgs {
    #[command(subcommand)]
    pub command: KeyCommand,
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Write an ECDSA P-256 key pair: PREFIX.key (encrypted with a password, in the Sigstore
    /// format cosign reads) and PREFIX.pub (PEM). The password comes from COSIGN_PASSWORD or
    /// RAMPART_PASSWORD, else a prompt.
    Generate {
        /// File name prefix (directory included).
        #[arg(long, value_name = "PREFIX", default_value = "cosign")]
        output_prefix: std::path::PathBuf,
        /// Overwrite existing files.
        #[arg(long)]
        force: bool,
    },
    /// Print the public key (PEM) of a private key file.
    Public {
        /// The private key (encrypted: the password as for `generate`).
        #[arg(long, value_name = "FILE")]
        key: std::path::PathBuf,
    },
}

/// Where the advisory database is (shared by `scan`, `db` and `inventory`).
#[derive(Debug, Args, Clone)]
pub struct DbLocation {
    /// The advisory database file (default: osv.db in $RAMPART_CACHE_DIR, else
    /// $XDG_CACHE_HOME/rampart, else ~/.cache/rampart).
    #[arg(long, value_name = "FILE", global = true)]
    pub db: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DbArgs {
    #[command(subcommand)]
    pub command: DbCommand,
    #[command(flatten)]
    pub location: DbLocation,
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Download OSV's per-ecosystem archives (<source>/<ecosystem>/all.zip) and replace those
    /// ecosystems' data, atomically.
    Update {
        /// Base URL of the archives (default: $RAMPART_DB_SOURCE, else OSV's public bucket).
        #[arg(long, value_name = "URL")]
        source: Option<String>,
        /// An OSV ecosystem to download (repeatable; default: every ecosystem rampart catalogs).
        #[arg(long = "ecosystem", value_name = "NAME")]
        ecosystems: Vec<String>,
        /// Also trust the CA certificates in FILE (PEM) for an HTTPS mirror.
        #[arg(long, value_name = "FILE")]
        ca_file: Option<PathBuf>,
    },
    /// Load OSV records offline: all.zip archives, directories of JSON or YAML records (an
    /// advisory repository checkout), or single files. Each path replaces what it gave before.
    Import {
        /// Archives, directories or files.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Show where the database is, when it was built, its sources and counts.
    Status {
        #[arg(short, long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct InventoryArgs {
    #[command(subcommand)]
    pub command: InventoryCommand,
    /// The inventory file (default: inventory.db next to the advisory database's default
    /// place), or the fleet's shared store (postgres://...: every image the fleet's workers
    /// analysed; docs/fleet.md).
    #[arg(long, value_name = "FILE|URL", global = true)]
    pub inventory: Option<PathBuf>,
    #[command(flatten)]
    pub location: DbLocation,
}

#[derive(Debug, Subcommand)]
pub enum InventoryCommand {
    /// The images that contain a package: NAME, NAME@RANGE (e.g. log4j-core@<2.17.1,
    /// 'jinja2@>=2.0,<3.1.3'), group:artifact for Maven, or a purl. Reads only the inventory.
    Find {
        /// What to look for.
        query: String,
        #[arg(short, long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
    /// Re-match every recorded image against the current database; show what is new and what
    /// is fixed since the last match. Exit 1 when something new is at or above --fail-on.
    Rescan {
        #[arg(short, long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
        /// Exit 1 when a new vulnerability at or above SEVERITY appeared.
        #[arg(long, value_name = "SEVERITY")]
        fail_on: Option<String>,
        /// Record the rescan in the history store (docs/history.md); recording that fails
        /// makes the exit 2.
        #[command(flatten)]
        history: crate::history::StoreArg,
    },
    /// The images recorded.
    List {
        #[arg(short, long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Tables for people: the layer map, layers by subject, findings.
    Human,
    /// The JSON report (schema: docs/report.schema.json).
    Json,
    /// SARIF 2.1.0 for code-scanning tools.
    Sarif,
    /// JUnit XML for CI test reports (GitLab, Jenkins): a suite per layer, a failing case per
    /// finding.
    Junit,
    /// CycloneDX 1.6 JSON: the SBOM of the one image or SBOM scanned, with its known
    /// vulnerabilities (VEX style: affects, ratings, analysis of waived ones).
    Cyclonedx,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// Where images come from and how they are read (shared by `scan` and `sbom`).
#[derive(Debug, Args, Clone)]
pub struct ImageArgs {
    /// Platform to pick from a multi-platform image (os/arch[/variant], e.g. linux/arm64).
    #[arg(long, value_name = "PLATFORM")]
    pub platform: Option<String>,
    /// Talk plain HTTP to the registry (for a local registry without TLS).
    #[arg(long)]
    pub insecure: bool,
    /// Also trust the CA certificates in FILE (PEM) for registry TLS.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Registry user name (with --password-stdin or RAMPART_REGISTRY_PASSWORD); default: the
    /// Docker config.json credentials for the registry.
    #[arg(long, value_name = "USER")]
    pub username: Option<String>,
    /// Read the registry password from standard input.
    #[arg(long, requires = "username")]
    pub password_stdin: bool,
    /// Docker config file with registry credentials (default: $DOCKER_CONFIG/config.json or
    /// ~/.docker/config.json).
    #[arg(long, value_name = "FILE")]
    pub docker_config: Option<PathBuf>,
    /// Do not look for secrets in image files (`rampart scan`; `rampart sbom` never does).
    #[arg(long)]
    pub no_secrets: bool,
}

/// The layer cache (shared by `scan` and `sbom`; docs/layer-cache.md).
#[derive(Debug, Args, Clone, Default)]
pub struct LayerCacheArgs {
    /// The layer cache: what rampart learnt from each image layer, kept by diff id so an image
    /// whose layers were seen before is read without its blobs. An SQLite file or a
    /// postgres:// URL (shared); default: layers.db in $RAMPART_CACHE_DIR, else
    /// $XDG_CACHE_HOME/rampart, else ~/.cache/rampart.
    #[arg(long, value_name = "LOCATION", env = "RAMPART_LAYER_CACHE")]
    pub layer_cache: Option<String>,
    /// Read every layer from its blob and record nothing.
    #[arg(long, env = "RAMPART_NO_LAYER_CACHE")]
    pub no_layer_cache: bool,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Files or directories to scan (default: the current directory, unless --image is given).
    /// A CycloneDX or SPDX JSON SBOM (from rampart, Syft, Trivy...) is checked for known
    /// vulnerabilities.
    pub paths: Vec<PathBuf>,
    /// An image to scan: a registry reference, an OCI layout directory, an OCI or docker
    /// archive, or a root filesystem (prefix dir: for a directory). Repeatable.
    #[arg(long, value_name = "IMAGE")]
    pub image: Vec<String>,
    /// Trust policy (the format of `rampart verify --policy`) the registry images scanned must
    /// meet: their signatures and required attestations become supply-chain controls.
    /// Default: `policy` in rampart.toml.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    #[command(flatten)]
    pub images: ImageArgs,
    #[command(flatten)]
    pub layer_cache: LayerCacheArgs,
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
    /// An image's intent (a file, or a directory of them; repeatable; also `intents = [...]` in
    /// rampart.toml): workloads running its image must not grant more (INT001).
    #[arg(long = "intent", value_name = "PATH")]
    pub intents: Vec<std::path::PathBuf>,
    /// A registry image whose intent is taken from its signed intent attestation, verified with
    /// the trust policy (`--policy`, or `policy` in rampart.toml; repeatable): workloads running
    /// it must not grant more (INT001, INT002).
    #[arg(long = "intent-from", value_name = "IMAGE")]
    pub intent_from: Vec<String>,
    /// Observed flows, as connection lines (`src => dst : connections`, the format of `rampart
    /// netpol reach`; repeatable): workloads whose egress reaches every namespace or anywhere
    /// outside while their flows go to a few places are reported (NET005).
    #[arg(long = "flows", value_name = "FILE")]
    pub flows: Vec<std::path::PathBuf>,
    /// Exit 0 even when nothing was assessed (no Dockerfile, manifest, image or SBOM found).
    /// Without it such a scan is incomplete: it says so on stderr and exits 2.
    #[arg(long)]
    pub allow_empty: bool,
    /// Show suppressed findings in the human report.
    #[arg(long)]
    pub show_suppressed: bool,
    #[command(flatten)]
    pub location: DbLocation,
    /// Do not check images and SBOMs for known vulnerabilities (no database needed).
    #[arg(long)]
    pub no_vulns: bool,
    /// Leave out vulnerabilities that have no fixed version yet.
    #[arg(long)]
    pub ignore_unfixed: bool,
    /// The only ecosystems the advisory database must cover (comma-separated: `go,pypi`,
    /// `debian:12`, `npm`): packages of others it does not cover are reported as not checked
    /// without making the scan incomplete (exit 2).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub vuln_ecosystems: Vec<String>,
    /// OpenVEX document whose not_affected / fixed statements waive findings (repeatable).
    #[arg(long, value_name = "FILE")]
    pub vex: Vec<PathBuf>,
    /// Do not record the scanned images' packages in the inventory.
    #[arg(long)]
    pub no_inventory: bool,
    /// Record the scan in the history store: a file (SQLite) or a `postgres://` URL
    /// (docs/history.md). Recording that fails makes the exit 2.
    #[arg(long = "history", env = "RAMPART_HISTORY", value_name = "STORE")]
    pub history: Option<String>,
    /// The scope the recorded scan covers (default: the git repository and the paths in it,
    /// else the paths).
    #[arg(long, value_name = "NAME", requires = "history")]
    pub history_scope: Option<String>,
    /// When to use colour in the human report.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    #[command(flatten)]
    pub show: ShowArgs,
    #[command(flatten)]
    pub habits: ScanHabitArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SbomFormat {
    /// CycloneDX 1.6 JSON.
    #[value(name = "cyclonedx-json")]
    CyclonedxJson,
    /// SPDX 2.3 JSON.
    #[value(name = "spdx-json")]
    SpdxJson,
    /// rampart's own JSON: packages with every location, and the image facts.
    Json,
    /// A table for people.
    Table,
}

#[derive(Debug, Args)]
pub struct SbomArgs {
    /// The image: a registry reference, an OCI layout directory, an OCI or docker archive, or a
    /// root filesystem directory (prefixes oci-dir:, oci-archive:, docker-archive:, dir:,
    /// registry: force a form).
    pub target: String,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = SbomFormat::CyclonedxJson)]
    pub format: SbomFormat,
    /// Write the SBOM to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Derive the document id from its content and take the time from SOURCE_DATE_EPOCH (or
    /// the Unix epoch), so the same image gives the same bytes.
    #[arg(long)]
    pub reproducible: bool,
    #[command(flatten)]
    pub images: ImageArgs,
    #[command(flatten)]
    pub layer_cache: LayerCacheArgs,
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

// Everyday habits (issue 13 §5): rule selection, standard input, Helm and Kustomize, version,
// completions and the man page.

/// `rampart scan` options for rule selection, standard input and rendered sources.
#[derive(Debug, Args, Clone, Default)]
pub struct ScanHabitArgs {
    /// Run only these rules: ids, names or globs on ids such as `DF*` (repeatable, or
    /// comma-separated; replaces `rules` of rampart.toml).
    #[arg(long = "rule", value_name = "ID", value_delimiter = ',')]
    pub rules: Vec<String>,
    /// Do not run these rules: ids, names or globs such as `IMG*` (repeatable, or
    /// comma-separated; added to `skip-rules` of rampart.toml). Their controls are reported as
    /// not assessed.
    #[arg(long = "skip-rule", value_name = "ID", value_delimiter = ',')]
    pub skip_rules: Vec<String>,
    /// What `-` (standard input) holds: Kubernetes YAML/JSON manifests (`helm template ... |
    /// rampart scan -`) or a Dockerfile.
    #[arg(long, value_enum, default_value_t = StdinKind::Manifests)]
    pub stdin_kind: StdinKind,
    /// Scan Helm charts and Kustomize directories that cannot be rendered (no `helm`,
    /// `kubectl` or `kustomize` on PATH, or a rendering error) without exit 2: they are still
    /// reported as not rendered.
    #[arg(long)]
    pub allow_unrendered: bool,
}

/// What standard input holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum StdinKind {
    /// YAML or JSON Kubernetes manifests (one or many documents).
    #[default]
    Manifests,
    /// A Dockerfile.
    Dockerfile,
}

#[derive(Debug, Args)]
pub struct VersionArgs {
    #[command(flatten)]
    pub location: DbLocation,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write one page per command (rampart.1, rampart-scan.1, ...) into DIR instead of printing
    /// the main page.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}
