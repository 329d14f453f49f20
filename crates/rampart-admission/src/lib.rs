//! The admission layer: a Kubernetes admission webhook (`admission.k8s.io/v1`) that only lets
//! hardened, signed, scanned workloads in, and fails closed when in doubt.
//!
//! The crate has two halves that meet at one seam, [`review::Reviewer`]:
//! - the decision engine (configuration, gates, mutation) turns one
//!   [`review::AdmissionRequest`] into a [`review::Decision`], synchronously;
//! - the server (HTTPS, metrics, audit log, deadlines, overload) parses AdmissionReview bodies,
//!   calls the reviewer on a worker thread within the deadline, and falls back to the configured
//!   failure mode when the reviewer cannot answer in time.
//!
//! # The decision engine
//!
//! [`Engine`] (built from a [`Config`]) implements [`review::Reviewer`]. For each request it:
//! allows DELETE / CONNECT and subresources other than `pods/ephemeralcontainers`; picks the
//! profile (named in the URL, else the first `[[namespaces]]` name rule matching
//! `request.namespace`, else `default-profile`, else nothing is checked); admits exempt
//! usernames, namespaces and runtime classes; finds the pod (a Pod, or the pod template of a
//! Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob, ReplicationController or
//! PodTemplate; other kinds per `unknown-kinds`); skips updates that do not change what is
//! checked (Pods: as Pod Security Admission, images / container count / new ephemeral
//! containers; workloads: the template); then runs the profile's gates (`/validate`) or builds
//! its JSON Patch (`/mutate`).
//!
//! Gate modes: `enforce` denies with one message listing every violation (gate, container,
//! field), `warn` returns response warnings, `audit` returns `auditAnnotations` (key = gate
//! id). A gate that cannot decide (registry unreachable, inventory unreadable) is an `error`
//! outcome; in `enforce` mode the `failure-mode` decides (`deny`, the default, or `allow` with
//! a warning).
//!
//! The engine has no side effects: it reads the registry and the inventory (read-only) and
//! keeps in-memory TTL caches (tag → digest, signature verdicts keyed by digest + repository +
//! trust-policy rule, inventory lookups), so `dryRun` needs nothing special.
//!
//! ## Configuration
//!
//! TOML; unknown keys are refused; relative paths are resolved against the file's directory;
//! errors name the file and every bad key.
//!
//! ```toml
//! failure-mode = "deny"          # or "allow": when a gate or the server cannot decide in time
//! unknown-kinds = "allow"        # or "deny": kinds without a pod template
//! default-profile = "standard"   # /validate and /mutate without a profile, no name rule
//! pss-labels = true              # routes for the pod-security.kubernetes.io/* labels
//! pss-label-versions = ["v1.29"] # pinned <mode>-version label values that get their own route
//!
//! [server]                       # the HTTPS server; every key optional
//! listen = "0.0.0.0:8443"
//! cert = "/etc/rampart/tls/tls.crt"  # reloaded when the files change
//! key = "/etc/rampart/tls/tls.key"
//! deadline-ms = 3000             # past it, failure-mode answers (webhook timeoutSeconds is 5)
//! max-concurrent = 64            # beyond, failure-mode answers at once
//! body-limit = 8388608           # bytes; larger bodies get 413
//! audit-log = "stdout"           # or "none", or a file (JSON lines)
//!
//! [exemptions]                   # as Pod Security Admission's
//! usernames = ["system:serviceaccount:kube-system:replicaset-controller"]
//! namespaces = ["kube-system"]
//! runtime-classes = ["kata-trusted"]
//!
//! [registry]                     # for the signature, digest and vulnerability gates
//! insecure = false               # plain HTTP (loopback registries)
//! ca-file = "registry-ca.pem"
//! docker-config = "/var/run/rampart/config.json"  # credentials; none read when unset
//! timeout-seconds = 5
//!
//! [cache]
//! ttl-seconds = 300              # how long registry answers are trusted
//! max-entries = 10000
//!
//! [profiles.standard]            # every gate is optional; mode defaults to "enforce"
//! pss = { level = "restricted", version = "latest" }
//! registries = { allow = ["registry.example.com/**", "nginx"] }  # globs on registry/repository
//! signatures = { policy = "trust.toml" }    # rampart-sign's trust policy (keys, attestations)
//! digest = { mode = "warn", resolve = true } # resolve: /mutate pins tags to (verified) digests
//! vulnerabilities = { inventory = "inventory.db", severity = "high", max-age-days = 7, require-scanned = true }
//! seccomp = { mode = "audit" }              # RuntimeDefault or Localhost, pod or container level
//! mutate = { seccomp = true, allow-privilege-escalation = true, drop-all = true, run-as-non-root = true, override = false }
//!
//! [profiles.sandboxed]
//! runtime-class = { allow = ["gvisor", "kata"] }
//!
//! [[namespaces]]                 # by name: decided by rampart from request.namespace
//! names = ["shop-*", "payments"]
//! profile = "standard"
//!
//! [[namespaces]]                 # by label: kube-apiserver's namespaceSelector, /validate/sandboxed
//! selector = { matchLabels = { "rampart.dev/sandbox" = "true" } }
//! profile = "sandboxed"
//! ```
//!
//! [`Config::routes`] lists the label routes the webhook configurations are generated from:
//! one per `selector` rule, and for the Pod Security Admission labels one per mode and level,
//! named `pss-<mode>-<level>` (`enforce|warn|audit` × `baseline|restricted`, evaluated at
//! `latest` or the namespace's unlisted `-version`) and `pss-<mode>-<level>-v1.<minor>` for
//! each version of `pss-label-versions`. These names are reserved: a configured profile may
//! not start with `pss-`, and any such name in a URL is understood without configuration.
//!
//! Gate ids, in messages, outcomes and audit annotation keys: `pss`, `registries`,
//! `signatures`, `digest`, `vulnerabilities`, `seccomp`, `runtime-class`.
#![deny(clippy::indexing_slicing)]

pub mod audit;
pub mod cache;
pub mod config;
pub mod engine;
pub mod gates;
pub mod manifests;
pub mod metrics;
pub mod mutate;
pub mod review;
pub mod server;
pub mod tls;
pub mod workload;

pub use config::{Config, ConfigError, FailureMode, Mode};
pub use engine::{Engine, EngineError};
pub use server::{Server, ServerConfig, ServerError, ShutdownHandle};
