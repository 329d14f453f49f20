//! `rampart fleet manifests`: the workers of the fleet queue on Kubernetes (docs/fleet.md,
//! "Manifests"). A Deployment of workers (or a CronJob whose Jobs drain the queue and exit),
//! their ServiceAccount (no RBAC: the worker never calls the Kubernetes API), the reference to
//! the Secret holding the PostgreSQL URL (never its value), a default-deny NetworkPolicy and the
//! worker's egress (PostgreSQL, the registries, DNS; nothing else), resource requests and
//! limits, and a PodDisruptionBudget.
//!
//! The pod passes Pod Security Standards `restricted` and rampart's own rules: a non-root user,
//! a read-only root (emptyDir volumes for `/tmp` and the cache), every capability dropped, no
//! privilege escalation, a seccomp profile (the runtime's default, or rampart's recorded
//! profile as a `Localhost` one), no service-account token. `rampart scan` of the output finds
//! nothing at or above medium once the image is pinned by digest (`--image-digest`).
//!
//! Nothing is kept in etcd but this configuration: the queue, the inventory and the results
//! live in PostgreSQL.

use std::fmt;
use std::net::IpAddr;

use serde_json::{Map, Value, json};

/// The environment variable the worker reads the store URL from (set from the Secret).
pub const STORE_ENV: &str = "RAMPART_FLEET_STORE";
/// Where the pod mounts its cache directory (`RAMPART_CACHE_DIR`: advisory database, scratch).
pub const CACHE_DIR: &str = "/var/cache/rampart";
/// The address ranges that are not "the internet": the default registry allowance (TCP 443 to
/// any IPv4 address) excepts them, so the cluster's own networks, the node's link-local
/// metadata service and loopback stay unreachable.
pub const PRIVATE_V4: &[&str] = &[
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.168.0.0/16",
];

/// How the workers run.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Mode {
    /// A Deployment of long-running workers.
    #[default]
    Deployment,
    /// A CronJob on this schedule: each run is a Job of `replicas` workers that exit when the
    /// queue is empty (`--exit-when-idle`).
    CronJob {
        /// The cron schedule (`*/15 * * * *`, `@hourly`).
        schedule: String,
    },
}

/// The Secret holding the PostgreSQL URL (the manifests name it; the user creates it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretRef {
    /// The Secret's name.
    pub name: String,
    /// Its key holding the URL.
    pub key: String,
}

impl Default for SecretRef {
    fn default() -> Self {
        SecretRef {
            name: "rampart-fleet-store".to_owned(),
            key: "url".to_owned(),
        }
    }
}

/// An address range and a TCP port (`CIDR:PORT`, `[v6 CIDR]:PORT`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// The range, normalised (`10.0.0.0/8`, `2001:db8::/32`).
    pub cidr: String,
    /// The TCP port.
    pub port: u16,
}

/// Pods selected by labels in a namespace, on a TCP port (an in-cluster PostgreSQL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pods {
    /// The namespace; `None`: the workers' own.
    pub namespace: Option<String>,
    /// The labels the pods carry (`matchLabels`), at least one.
    pub labels: Vec<(String, String)>,
    /// The TCP port.
    pub port: u16,
}

/// Where a destination is: outside the cluster (an address range) or pods in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// Addresses (a managed database, a registry).
    Block(Block),
    /// Pods (a PostgreSQL in the cluster).
    Pods(Pods),
}

/// Where DNS answers come from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Dns {
    /// The cluster's DNS pods: `k8s-app: kube-dns` in `kube-system` (CoreDNS and kube-dns both
    /// carry that label).
    #[default]
    KubeDns,
    /// An address range (a node-local DNS cache such as `169.254.20.10/32`), UDP and TCP 53.
    Block(String),
}

/// The seccomp profile of the pod.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Seccomp {
    /// The container runtime's default profile.
    #[default]
    RuntimeDefault,
    /// A profile on the node, relative to the kubelet's seccomp directory
    /// (`/var/lib/kubelet/seccomp`): rampart's recorded one is `deploy/rampart.seccomp.json`.
    Localhost(String),
}

/// CPU and memory of the worker container (Kubernetes quantities).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resources {
    pub cpu_request: String,
    pub cpu_limit: String,
    pub memory_request: String,
    pub memory_limit: String,
}

impl Default for Resources {
    fn default() -> Self {
        Resources {
            cpu_request: "500m".to_owned(),
            cpu_limit: "2".to_owned(),
            memory_request: "512Mi".to_owned(),
            memory_limit: "2Gi".to_owned(),
        }
    }
}

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestOptions {
    /// The namespace (default `rampart-fleet`), created with Pod Security `restricted`.
    pub namespace: String,
    /// Name of the Deployment or CronJob, ServiceAccount, PodDisruptionBudget and the
    /// NetworkPolicies' prefix (default `rampart-fleet-worker`).
    pub name: String,
    /// The rampart image (default [`rampart_core::RAMPART_IMAGE`]).
    pub image: String,
    /// The image's digest (`sha256:<64 hex>`): the pods run `image@digest`.
    pub image_digest: Option<String>,
    /// Workers (Deployment replicas, or the Jobs' parallelism); default 2.
    pub replicas: u32,
    /// Images each worker assesses at once (`--concurrency`); default 4.
    pub concurrency: u32,
    /// Of those, at most this many from one registry (`--per-registry`); default 2.
    pub per_registry: u32,
    /// The Secret with the store URL.
    pub secret: SecretRef,
    /// PostgreSQL: default the pods labelled `app.kubernetes.io/name: postgresql` in namespace
    /// `postgres`, port 5432.
    pub postgres: Destination,
    /// The registries the workers pull from; empty: TCP 443 to any IPv4 address but
    /// [`PRIVATE_V4`].
    pub registries: Vec<Block>,
    /// DNS.
    pub dns: Dns,
    /// Deployment or CronJob.
    pub mode: Mode,
    /// `activeDeadlineSeconds` of each Job (CronJob mode); default 6 hours.
    pub job_deadline_seconds: u32,
    /// Requests and limits.
    pub resources: Resources,
    /// The pod's seccomp profile.
    pub seccomp: Seccomp,
    /// The advisory database the worker reads (`--db`), a path in the pod.
    pub db: Option<String>,
    /// A PersistentVolumeClaim holding the database, mounted read-only at the directory of
    /// [`ManifestOptions::db`].
    pub db_claim: Option<String>,
    /// `runtimeClassName` of the pods (a sandbox such as gVisor: the workers parse hostile
    /// images).
    pub runtime_class: Option<String>,
    /// `sizeLimit` of the cache and `/tmp` emptyDir volumes (default `2Gi`).
    pub scratch_size: String,
}

impl Default for ManifestOptions {
    fn default() -> Self {
        ManifestOptions {
            namespace: "rampart-fleet".to_owned(),
            name: "rampart-fleet-worker".to_owned(),
            image: rampart_core::RAMPART_IMAGE.to_owned(),
            image_digest: None,
            replicas: 2,
            concurrency: 4,
            per_registry: 2,
            secret: SecretRef::default(),
            postgres: Destination::Pods(Pods {
                namespace: Some("postgres".to_owned()),
                labels: vec![("app.kubernetes.io/name".to_owned(), "postgresql".to_owned())],
                port: 5432,
            }),
            registries: Vec::new(),
            dns: Dns::KubeDns,
            mode: Mode::Deployment,
            job_deadline_seconds: 6 * 3600,
            resources: Resources::default(),
            seccomp: Seccomp::RuntimeDefault,
            db: None,
            db_claim: None,
            runtime_class: None,
            scratch_size: "2Gi".to_owned(),
        }
    }
}

/// Why manifests could not be generated (or an option could not be read).
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// An option is out of range or malformed.
    #[error("invalid manifest option {option}: expected {expected}, found {found:?}")]
    Option {
        /// The option.
        option: &'static str,
        /// What is allowed.
        expected: &'static str,
        /// What was given.
        found: String,
    },
    /// YAML rendering failed.
    #[error("cannot render YAML: {0}")]
    Yaml(String),
}

fn bad<T>(option: &'static str, expected: &'static str, found: &str) -> Result<T, ManifestError> {
    Err(ManifestError::Option {
        option,
        expected,
        found: found.to_owned(),
    })
}

/// An RFC 1123 label (namespaces, names of most objects).
fn label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// An RFC 1123 subdomain (Secret, PersistentVolumeClaim and RuntimeClass names).
fn subdomain(s: &str) -> bool {
    !s.is_empty() && s.len() <= 253 && s.split('.').all(label)
}

/// A label value: at most 63 of `[A-Za-z0-9._-]`, alphanumeric at both ends (or empty).
fn label_value(s: &str) -> bool {
    s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && s.bytes().next().is_none_or(|b| b.is_ascii_alphanumeric())
        && s.bytes().last().is_none_or(|b| b.is_ascii_alphanumeric())
}

/// A label key: `[prefix/]name`, the prefix a subdomain, the name a label value of at least one
/// character.
fn label_key(s: &str) -> bool {
    let (prefix, name) = match s.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, s),
    };
    prefix.is_none_or(subdomain) && !name.is_empty() && label_value(name)
}

/// A Secret data key: `[-._a-zA-Z0-9]+`.
fn config_key(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// A Kubernetes quantity as the API accepts it for CPU and memory: a decimal number with an
/// optional binary or decimal suffix (`500m`, `2`, `1.5Gi`, `512Mi`).
fn quantity(s: &str) -> bool {
    let digits_end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, suffix) = s.split_at(digits_end);
    let mut parts = number.split('.');
    let whole = parts.next().unwrap_or_default();
    let fraction = parts.next();
    parts.next().is_none()
        && (!whole.is_empty() || fraction.is_some_and(|f| !f.is_empty()))
        && fraction.is_none_or(|f| !f.is_empty() || !whole.is_empty())
        && matches!(
            suffix,
            "" | "m" | "k" | "M" | "G" | "T" | "P" | "E" | "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei"
        )
}

/// A cron schedule as the CronJob controller reads it: five fields, or a `@` macro.
fn schedule(s: &str) -> bool {
    if let Some(m) = s.strip_prefix('@') {
        return matches!(
            m,
            "yearly" | "annually" | "monthly" | "weekly" | "daily" | "midnight" | "hourly"
        );
    }
    let fields: Vec<&str> = s.split_whitespace().collect();
    fields.len() == 5
        && fields.iter().all(|f| {
            f.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'*' | b'/' | b',' | b'-' | b'?'))
        })
}

/// A CIDR (`10.0.0.0/8`, `2001:db8::/32`; a bare address is `/32` or `/128`), normalised: the
/// address given with its host bits must already be the network address, as the API server
/// requires of `ipBlock.cidr`.
pub fn parse_cidr(text: &str) -> Result<String, ManifestError> {
    let expected = "a CIDR such as 10.0.0.0/8 or 2001:db8::/32 (host bits zero)";
    let (addr, len) = match text.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (text, None),
    };
    let Ok(ip) = addr.parse::<IpAddr>() else {
        return bad("cidr", expected, text);
    };
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let len: u32 = match len {
        None => max,
        Some(l) => match l.parse::<u32>() {
            Ok(n) if n <= max && !l.starts_with('+') => n,
            _ => return bad("cidr", expected, text),
        },
    };
    let host_bits_zero = match ip {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            len == 32 || bits & (u32::MAX >> len) == 0
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            len == 128 || bits & (u128::MAX >> len) == 0
        }
    };
    if !host_bits_zero {
        return bad("cidr", expected, text);
    }
    Ok(format!("{ip}/{len}"))
}

fn parse_port(option: &'static str, text: &str, whole: &str) -> Result<u16, ManifestError> {
    match text.parse::<u16>() {
        Ok(p) if p > 0 && !text.starts_with('+') => Ok(p),
        _ => bad(option, "a TCP port from 1 to 65535", whole),
    }
}

impl Block {
    /// Parses `CIDR:PORT` (`203.0.113.0/24:443`, `[2001:db8::/32]:5000`).
    pub fn parse(option: &'static str, text: &str) -> Result<Block, ManifestError> {
        let expected = "CIDR:PORT, such as 203.0.113.7/32:443 or [2001:db8::/32]:443";
        let (cidr, port) = if let Some(rest) = text.strip_prefix('[') {
            match rest.split_once("]:") {
                Some((c, p)) => (c, p),
                None => return bad(option, expected, text),
            }
        } else {
            match text.rsplit_once(':') {
                Some((c, p)) if !c.contains(':') => (c, p),
                _ => return bad(option, expected, text),
            }
        };
        let cidr = parse_cidr(cidr).or_else(|_| bad(option, expected, text))?;
        let port = parse_port(option, port, text)?;
        Ok(Block { cidr, port })
    }
}

impl fmt::Display for Block {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.cidr.contains(':') {
            write!(f, "[{}]:{}", self.cidr, self.port)
        } else {
            write!(f, "{}:{}", self.cidr, self.port)
        }
    }
}

impl Pods {
    /// Parses `[NAMESPACE/]KEY=VALUE[,KEY=VALUE...][:PORT]` (port 5432 when not given); the
    /// namespace is what comes before the first `/` when that part holds no `=` and no `.`
    /// (label keys may have a `/`: `postgres/app.kubernetes.io/name=postgresql:5432`).
    pub fn parse(option: &'static str, text: &str) -> Result<Pods, ManifestError> {
        let expected = "[NAMESPACE/]KEY=VALUE[,KEY=VALUE...][:PORT]";
        let (rest, port) = match text.rsplit_once(':') {
            Some((r, p)) => (r, parse_port(option, p, text)?),
            None => (text, 5432),
        };
        let (namespace, selector) = match rest.split_once('/') {
            Some((ns, sel)) if !ns.contains('=') && !ns.contains('.') => (Some(ns), sel),
            _ => (None, rest),
        };
        if let Some(ns) = namespace
            && !label(ns)
        {
            return bad(option, "a namespace that is an RFC 1123 label", text);
        }
        let mut labels = Vec::new();
        for pair in selector.split(',') {
            match pair.split_once('=') {
                Some((k, v)) if label_key(k) && label_value(v) => {
                    labels.push((k.to_owned(), v.to_owned()));
                }
                _ => return bad(option, expected, text),
            }
        }
        Ok(Pods {
            namespace: namespace.map(str::to_owned),
            labels,
            port,
        })
    }
}

impl SecretRef {
    /// Parses `NAME[:KEY]` (key `url` when not given).
    pub fn parse(text: &str) -> Result<SecretRef, ManifestError> {
        let (name, key) = text.split_once(':').unwrap_or((text, "url"));
        if !subdomain(name) || !config_key(key) {
            return bad(
                "secret",
                "NAME[:KEY], a Secret name (RFC 1123 subdomain) and a data key ([-._a-zA-Z0-9]+)",
                text,
            );
        }
        Ok(SecretRef {
            name: name.to_owned(),
            key: key.to_owned(),
        })
    }
}

fn check(o: &ManifestOptions) -> Result<(), ManifestError> {
    if !label(&o.namespace) {
        return bad("namespace", "an RFC 1123 label", &o.namespace);
    }
    // The NetworkPolicies are named `<name>-default-deny` and so on: room for the suffix.
    if !label(&o.name) || o.name.len() > 40 {
        return bad(
            "name",
            "an RFC 1123 label of at most 40 characters",
            &o.name,
        );
    }
    let image = o.image.trim();
    if image.is_empty() || image.contains(char::is_whitespace) {
        return bad("image", "a container image reference", &o.image);
    }
    if let Some(d) = &o.image_digest {
        let hex = d.strip_prefix("sha256:").unwrap_or_default();
        if hex.len() != 64
            || !hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return bad("image-digest", "sha256:<64 lowercase hex digits>", d);
        }
        if o.image.contains('@') {
            return bad(
                "image",
                "a reference without a digest when --image-digest is given",
                &o.image,
            );
        }
    }
    if !(1..=1000).contains(&o.replicas) {
        return bad("replicas", "1 to 1000", &o.replicas.to_string());
    }
    if !(1..=256).contains(&o.concurrency) {
        return bad("concurrency", "1 to 256", &o.concurrency.to_string());
    }
    if !(1..=o.concurrency).contains(&o.per_registry) {
        return bad(
            "per-registry",
            "1 to the concurrency",
            &o.per_registry.to_string(),
        );
    }
    if let Destination::Pods(p) = &o.postgres
        && p.labels.is_empty()
    {
        return bad("postgres-pods", "at least one label", "");
    }
    if let Dns::Block(cidr) = &o.dns {
        parse_cidr(cidr)?;
    }
    if let Mode::CronJob { schedule: s } = &o.mode
        && !schedule(s)
    {
        return bad(
            "cronjob",
            "a cron schedule: five fields (`*/30 * * * *`) or @hourly, @daily...",
            s,
        );
    }
    if o.job_deadline_seconds == 0 {
        return bad("job-deadline", "a number of seconds above 0", "0");
    }
    for (option, q) in [
        ("cpu-request", &o.resources.cpu_request),
        ("cpu-limit", &o.resources.cpu_limit),
        ("memory-request", &o.resources.memory_request),
        ("memory-limit", &o.resources.memory_limit),
        ("scratch-size", &o.scratch_size),
    ] {
        if !quantity(q) {
            return bad(option, "a Kubernetes quantity (500m, 2, 512Mi, 2Gi)", q);
        }
    }
    if let Seccomp::Localhost(p) = &o.seccomp
        && (p.is_empty()
            || p.starts_with('/')
            || p.split('/').any(|c| c == ".." || c.is_empty())
            || p.contains(char::is_whitespace))
    {
        return bad(
            "seccomp-profile",
            "a path relative to the kubelet's seccomp directory, without `..`",
            p,
        );
    }
    if let Some(db) = &o.db
        && (!db.starts_with('/') || db.ends_with('/') || db.split('/').any(|c| c == ".."))
    {
        return bad("db", "an absolute file path in the pod, without `..`", db);
    }
    if let Some(claim) = &o.db_claim {
        if !subdomain(claim) {
            return bad("db-claim", "a PersistentVolumeClaim name", claim);
        }
        match &o.db {
            None => return bad("db-claim", "--db naming the file on the claim", claim),
            Some(db) if db_dir(db) == "/" || [CACHE_DIR, "/tmp"].contains(&db_dir(db)) => {
                return bad(
                    "db",
                    "a file in its own directory (the claim is mounted there)",
                    db,
                );
            }
            Some(_) => {}
        }
    }
    if let Some(rc) = &o.runtime_class
        && !subdomain(rc)
    {
        return bad("runtime-class", "a RuntimeClass name", rc);
    }
    Ok(())
}

fn db_dir(db: &str) -> &str {
    match db.rsplit_once('/') {
        Some(("", _)) | None => "/",
        Some((dir, _)) => dir,
    }
}

/// One generated object and the comments printed with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// Comment lines (without `# `), printed after the `---`.
    pub comment: Vec<String>,
    /// The object.
    pub object: Value,
    /// `(line, comment)`: the comment is printed above the first line of the object's YAML
    /// that reads `line` (indentation aside), at its indentation: inline suppressions
    /// (`rampart:ignore RULE reason`) where the finding would be.
    pub line_comments: Vec<(String, String)>,
}

fn doc(comment: &[&str], object: Value) -> Document {
    Document {
        comment: comment.iter().map(|s| (*s).to_owned()).collect(),
        object,
        line_comments: Vec::new(),
    }
}

/// The pods' image reference: pinned by digest when one is given.
fn image(o: &ManifestOptions) -> String {
    match &o.image_digest {
        Some(d) => format!("{}@{d}", o.image),
        None => o.image.clone(),
    }
}

fn labels(o: &ManifestOptions) -> Value {
    json!({
        "app.kubernetes.io/name": o.name,
        "app.kubernetes.io/component": "fleet-worker",
        "app.kubernetes.io/part-of": "rampart",
    })
}

fn selector(o: &ManifestOptions) -> Value {
    json!({"matchLabels": {"app.kubernetes.io/name": o.name}})
}

fn seccomp_profile(o: &ManifestOptions) -> Value {
    match &o.seccomp {
        Seccomp::RuntimeDefault => json!({"type": "RuntimeDefault"}),
        Seccomp::Localhost(p) => json!({"type": "Localhost", "localhostProfile": p}),
    }
}

/// The worker's command line (the image's entrypoint is `rampart`).
pub fn worker_args(o: &ManifestOptions) -> Vec<String> {
    let mut args: Vec<String> = [
        // the store's URL (with its password) is read from the environment the Secret fills
        // (RAMPART_FLEET_STORE), never written on the command line, where /proc shows it
        "fleet",
        "worker",
        "--concurrency",
        &o.concurrency.to_string(),
        "--per-registry",
        &o.per_registry.to_string(),
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    if let Some(db) = &o.db {
        args.extend(["--db".to_owned(), db.clone()]);
    }
    if matches!(o.mode, Mode::CronJob { .. }) {
        args.push("--exit-when-idle".to_owned());
    }
    args
}

/// The pod template's spec.
fn pod_spec(o: &ManifestOptions, restart: Option<&str>) -> Value {
    let uid = rampart_core::RAMPART_UID;
    let mut mounts = vec![
        json!({"name": "tmp", "mountPath": "/tmp"}),
        json!({"name": "cache", "mountPath": CACHE_DIR}),
    ];
    let mut volumes = vec![
        json!({"name": "tmp", "emptyDir": {"sizeLimit": o.scratch_size}}),
        json!({"name": "cache", "emptyDir": {"sizeLimit": o.scratch_size}}),
    ];
    if let (Some(claim), Some(db)) = (&o.db_claim, &o.db) {
        mounts.push(json!({"name": "advisories", "mountPath": db_dir(db), "readOnly": true}));
        volumes.push(json!({
            "name": "advisories",
            "persistentVolumeClaim": {"claimName": claim, "readOnly": true},
        }));
    }
    let mut spec = json!({
        "serviceAccountName": o.name,
        "automountServiceAccountToken": false,
        "enableServiceLinks": false,
        // a worker stopped mid-image loses nothing: its lease expires and another takes it
        "terminationGracePeriodSeconds": 30,
        "securityContext": {
            "runAsNonRoot": true,
            "runAsUser": uid,
            "runAsGroup": uid,
            "fsGroup": uid,
            "seccompProfile": seccomp_profile(o),
        },
        "containers": [{
            "name": "worker",
            "image": image(o),
            "imagePullPolicy": if o.image_digest.is_some() { "IfNotPresent" } else { "Always" },
            "args": worker_args(o),
            "env": [
                {"name": STORE_ENV, "valueFrom": {"secretKeyRef": {"name": o.secret.name, "key": o.secret.key}}},
                {"name": "RAMPART_CACHE_DIR", "value": CACHE_DIR},
            ],
            "resources": {
                "requests": {"cpu": o.resources.cpu_request, "memory": o.resources.memory_request},
                "limits": {"cpu": o.resources.cpu_limit, "memory": o.resources.memory_limit},
            },
            "securityContext": {
                "runAsNonRoot": true,
                "runAsUser": uid,
                "runAsGroup": uid,
                "allowPrivilegeEscalation": false,
                "readOnlyRootFilesystem": true,
                "privileged": false,
                "capabilities": {"drop": ["ALL"]},
                "seccompProfile": seccomp_profile(o),
            },
            "volumeMounts": mounts,
        }],
        "volumes": volumes,
    });
    if let Some(map) = spec.as_object_mut() {
        if let Some(rc) = &o.runtime_class {
            map.insert("runtimeClassName".to_owned(), json!(rc));
        }
        if let Some(r) = restart {
            map.insert("restartPolicy".to_owned(), json!(r));
        }
        if o.mode == Mode::Deployment {
            map.insert(
                "topologySpreadConstraints".to_owned(),
                json!([{
                    "maxSkew": 1,
                    "topologyKey": "kubernetes.io/hostname",
                    "whenUnsatisfiable": "ScheduleAnyway",
                    "labelSelector": selector(o),
                }]),
            );
        }
    }
    spec
}

fn workload(o: &ManifestOptions) -> Document {
    let meta = json!({"name": o.name, "namespace": o.namespace, "labels": labels(o)});
    let template =
        |restart| json!({"metadata": {"labels": labels(o)}, "spec": pod_spec(o, restart)});
    match &o.mode {
        Mode::Deployment => doc(
            &[
                "The workers: each takes images from the PostgreSQL queue (FOR UPDATE SKIP LOCKED),",
                "assesses them and writes the results back.",
            ],
            json!({
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": meta,
                "spec": {
                    "replicas": o.replicas,
                    "selector": selector(o),
                    "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 1}},
                    "template": template(None),
                },
            }),
        ),
        Mode::CronJob { schedule } => doc(
            &[
                "Each run is a Job of workers that drain the PostgreSQL queue and exit when it is",
                "empty (--exit-when-idle); a run never overlaps the previous one.",
            ],
            json!({
                "apiVersion": "batch/v1",
                "kind": "CronJob",
                "metadata": meta,
                "spec": {
                    "schedule": schedule,
                    "concurrencyPolicy": "Forbid",
                    "startingDeadlineSeconds": 300,
                    "successfulJobsHistoryLimit": 3,
                    "failedJobsHistoryLimit": 3,
                    "jobTemplate": {
                        "metadata": {"labels": labels(o)},
                        "spec": {
                            // the work-queue pattern: no completions, done when a worker
                            // succeeds and all have exited
                            "parallelism": o.replicas,
                            "backoffLimit": 3,
                            "activeDeadlineSeconds": o.job_deadline_seconds,
                            "ttlSecondsAfterFinished": 86400,
                            "template": template(Some("OnFailure")),
                        },
                    },
                },
            }),
        ),
    }
}

fn pdb(o: &ManifestOptions) -> Document {
    // A Deployment's pods: one at a time may go. A Job's pods have no scale subresource, so only
    // an integer minAvailable applies: all but one of the run's workers stay.
    let (comment, budget) = match o.mode {
        Mode::Deployment => (
            "Voluntary disruptions (node drains) take one worker at a time.",
            ("maxUnavailable", 1),
        ),
        Mode::CronJob { .. } => (
            "Voluntary disruptions (node drains) take one of a run's workers at a time.",
            ("minAvailable", o.replicas.saturating_sub(1)),
        ),
    };
    let mut spec = Map::new();
    spec.insert(budget.0.to_owned(), json!(budget.1));
    spec.insert("selector".to_owned(), selector(o));
    // a worker that is not ready holds nothing: it can always go
    spec.insert(
        "unhealthyPodEvictionPolicy".to_owned(),
        json!("AlwaysAllow"),
    );
    doc(
        &[comment],
        json!({
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": o.name, "namespace": o.namespace, "labels": labels(o)},
            "spec": spec,
        }),
    )
}

fn tcp(port: u16) -> Value {
    json!([{"protocol": "TCP", "port": port}])
}

fn ip_block(cidr: &str) -> Value {
    json!({"ipBlock": {"cidr": cidr}})
}

fn pods_peer(o: &ManifestOptions, p: &Pods) -> Value {
    let labels: Map<String, Value> = p
        .labels
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    let ns = p.namespace.as_deref().unwrap_or(&o.namespace);
    json!({
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}},
        "podSelector": {"matchLabels": labels},
    })
}

fn network_policies(o: &ManifestOptions) -> Vec<Document> {
    let meta = |suffix: &str| json!({"name": format!("{}-{suffix}", o.name), "namespace": o.namespace, "labels": labels(o)});
    let dns_ports = json!([{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]);
    let dns_peer = match &o.dns {
        Dns::KubeDns => json!({
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
        }),
        Dns::Block(cidr) => ip_block(&parse_cidr(cidr).unwrap_or_else(|_| cidr.clone())),
    };
    let mut egress = vec![json!({"to": [dns_peer], "ports": dns_ports})];
    match &o.postgres {
        Destination::Block(b) => {
            egress.push(json!({"to": [ip_block(&b.cidr)], "ports": tcp(b.port)}))
        }
        Destination::Pods(p) => egress.push(json!({"to": [pods_peer(o, p)], "ports": tcp(p.port)})),
    }
    if o.registries.is_empty() {
        egress.push(json!({
            "to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": PRIVATE_V4}}],
            "ports": tcp(443),
        }));
    } else {
        // one rule per registry: a rule's peers and ports combine, and the registries' ports
        // must not
        for b in &o.registries {
            egress.push(json!({"to": [ip_block(&b.cidr)], "ports": tcp(b.port)}));
        }
    }
    let mut docs = vec![
        doc(
            &["Nothing in the namespace sends or receives anything a policy below does not allow."],
            json!({
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": meta("default-deny"),
                "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
            }),
        ),
        doc(
            &[
                "The workers reach DNS, PostgreSQL and the registries, and nothing else; nothing",
                "reaches them (they serve nothing).",
            ],
            json!({
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": meta("egress"),
                "spec": {
                    "podSelector": selector(o),
                    "policyTypes": ["Ingress", "Egress"],
                    "egress": egress,
                },
            }),
        ),
    ];
    // A PostgreSQL in the workers' namespace is behind the default deny too: let the workers in.
    if let Destination::Pods(p) = &o.postgres
        && p.namespace.as_deref().is_none_or(|ns| ns == o.namespace)
    {
        let labels: Map<String, Value> = p
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        docs.push(doc(
            &["The PostgreSQL of this namespace admits the workers on its port."],
            json!({
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": meta("postgres"),
                "spec": {
                    "podSelector": {"matchLabels": labels},
                    "policyTypes": ["Ingress"],
                    "ingress": [{"from": [{"podSelector": selector(o)}], "ports": tcp(p.port)}],
                },
            }),
        ));
    }
    docs
}

/// Every document, in apply order: Namespace, ServiceAccount, Deployment or CronJob,
/// PodDisruptionBudget, NetworkPolicies.
pub fn generate(o: &ManifestOptions) -> Result<Vec<Document>, ManifestError> {
    check(o)?;
    let mut docs = vec![
        doc(
            &[
                "rampart fleet: the workers of the PostgreSQL queue (docs/fleet.md, \"Manifests\").",
                "Nothing is kept in etcd but this configuration: the queue, the inventory and the",
                "results live in PostgreSQL.",
            ],
            json!({
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {
                    "name": o.namespace,
                    "labels": {
                        "pod-security.kubernetes.io/enforce": "restricted",
                        "pod-security.kubernetes.io/enforce-version": "latest",
                        "pod-security.kubernetes.io/warn": "restricted",
                        "pod-security.kubernetes.io/audit": "restricted",
                    },
                },
            }),
        ),
        doc(
            &[
                "Least RBAC is none: the worker never calls the Kubernetes API (its work comes from",
                "PostgreSQL), so no Role or RoleBinding names this account and no token is mounted.",
            ],
            json!({
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": o.name, "namespace": o.namespace, "labels": labels(o)},
                "automountServiceAccountToken": false,
            }),
        ),
    ];
    let mut w = workload(o);
    // The container's first key (serde_json sorts them): where K8S010 points.
    w.line_comments.push((
        "- args:".to_owned(),
        "rampart:ignore K8S010 the worker serves no HTTP endpoint to probe; a stuck worker's lease expires and another worker takes its image".to_owned(),
    ));
    w.comment.extend([
        format!(
            "The store URL comes from Secret {}/{} (key {}), which this output never holds:",
            o.namespace, o.secret.name, o.secret.key
        ),
        format!(
            "  kubectl -n {} create secret generic {} --from-literal={}='postgres://USER:PASSWORD@HOST/DB'",
            o.namespace, o.secret.name, o.secret.key
        ),
    ]);
    docs.push(w);
    docs.push(pdb(o));
    docs.extend(network_policies(o));
    Ok(docs)
}

/// Renders documents as one multi-document YAML stream, each after `---` and its comment.
pub fn to_yaml(documents: &[Document]) -> Result<String, ManifestError> {
    let mut out = String::new();
    for d in documents {
        out.push_str("---\n");
        for line in &d.comment {
            out.push_str("# ");
            out.push_str(line);
            out.push('\n');
        }
        let mut options = serde_saphyr::SerializerOptions::default();
        options.folded_wrap_chars = usize::MAX;
        let yaml = serde_saphyr::to_string_with_options(&d.object, options)
            .map_err(|e| ManifestError::Yaml(e.to_string()))?;
        let mut pending: Vec<&(String, String)> = d.line_comments.iter().collect();
        for line in yaml.lines() {
            let text = line.trim_start();
            if let Some(i) = pending.iter().position(|(at, _)| at == text) {
                let (_, comment) = pending.remove(i);
                let indent = line.strip_suffix(text).unwrap_or_default();
                out.push_str(indent);
                out.push_str("# ");
                out.push_str(comment);
                out.push('\n');
            }
            out.push_str(line);
            out.push('\n');
        }
        if let Some((at, _)) = pending.first() {
            return Err(ManifestError::Yaml(format!(
                "no line `{at}` to comment in the {} document",
                d.object["kind"].as_str().unwrap_or("unnamed")
            )));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_parse_and_refuse() {
        let b = Block::parse("registry", "203.0.113.7:443").unwrap();
        assert_eq!((b.cidr.as_str(), b.port), ("203.0.113.7/32", 443));
        let b = Block::parse("registry", "[2001:db8::/32]:5000").unwrap();
        assert_eq!((b.cidr.as_str(), b.port), ("2001:db8::/32", 5000));
        assert_eq!(b.to_string(), "[2001:db8::/32]:5000");
        for wrong in [
            "203.0.113.7",
            "203.0.113.7/24:443",
            "203.0.113.0/33:443",
            "2001:db8::/32:443",
            "10.0.0.0/8:0",
            "10.0.0.0/8:70000",
            "host.example:443",
            "[2001:db8::/32]443",
        ] {
            assert!(Block::parse("registry", wrong).is_err(), "{wrong}");
        }
    }

    #[test]
    fn pod_selectors_parse() {
        let p = Pods::parse("postgres-pods", "db/app.kubernetes.io/name=postgresql:6432").unwrap();
        assert_eq!(p.namespace.as_deref(), Some("db"));
        assert_eq!(
            p.labels,
            [("app.kubernetes.io/name".to_owned(), "postgresql".to_owned())]
        );
        assert_eq!(p.port, 6432);
        let p = Pods::parse("postgres-pods", "app.kubernetes.io/name=pg,role=primary").unwrap();
        assert_eq!((p.namespace, p.labels.len(), p.port), (None, 2, 5432));
        for wrong in ["db/", "db/app", "Db/a=b", "a=b c", "a=b:0", "=x"] {
            assert!(Pods::parse("postgres-pods", wrong).is_err(), "{wrong}");
        }
    }

    #[test]
    fn secrets_quantities_schedules() {
        assert_eq!(
            SecretRef::parse("pg").unwrap(),
            SecretRef {
                name: "pg".into(),
                key: "url".into()
            }
        );
        assert_eq!(SecretRef::parse("pg:DSN").unwrap().key, "DSN");
        assert!(SecretRef::parse("PG:url").is_err());
        assert!(SecretRef::parse("pg:a b").is_err());
        for q in ["500m", "2", "1.5Gi", "512Mi", ".5"] {
            assert!(quantity(q), "{q}");
        }
        for q in ["", "m", "2 Gi", "1..5", "-1", "2gb", "."] {
            assert!(!quantity(q), "{q}");
        }
        for s in ["*/15 * * * *", "0 3 * * 1-5", "@hourly"] {
            assert!(schedule(s), "{s}");
        }
        for s in ["* * * *", "@often", "0 3 * * * *", "$(x) * * * *"] {
            assert!(!schedule(s), "{s}");
        }
    }

    #[test]
    fn options_are_checked() {
        let ok = ManifestOptions::default();
        assert!(generate(&ok).is_ok());
        let cases = [
            ManifestOptions {
                namespace: "Fleet".into(),
                ..ok.clone()
            },
            ManifestOptions {
                image_digest: Some("sha256:xyz".into()),
                ..ok.clone()
            },
            ManifestOptions {
                per_registry: 5,
                ..ok.clone()
            },
            ManifestOptions {
                replicas: 0,
                ..ok.clone()
            },
            ManifestOptions {
                seccomp: Seccomp::Localhost("../etc/x.json".into()),
                ..ok.clone()
            },
            ManifestOptions {
                db_claim: Some("advisories".into()),
                ..ok.clone()
            },
            ManifestOptions {
                db: Some("/tmp/osv.db".into()),
                db_claim: Some("advisories".into()),
                ..ok.clone()
            },
            ManifestOptions {
                mode: Mode::CronJob {
                    schedule: "often".into(),
                },
                ..ok.clone()
            },
        ];
        for c in cases {
            assert!(
                matches!(generate(&c), Err(ManifestError::Option { .. })),
                "{c:?}"
            );
        }
    }

    #[test]
    fn worker_command_line() {
        let o = ManifestOptions {
            db: Some("/var/lib/rampart/osv.db".into()),
            mode: Mode::CronJob {
                schedule: "@hourly".into(),
            },
            ..ManifestOptions::default()
        };
        assert_eq!(
            worker_args(&o).join(" "),
            "fleet worker --concurrency 4 --per-registry 2 --db /var/lib/rampart/osv.db --exit-when-idle"
        );
    }
}
