//! The engine's configuration: a TOML file, parsed once, validated with every problem named
//! by file and key, and compiled (globs, keys, policies) so that no request parses or
//! compiles anything.
//!
//! The format is described in the crate documentation.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};
use rampart_core::Severity;
use rampart_pss::{Level, Version};
use rampart_sign::trust::TrustPolicy;
use serde::Deserialize;
use serde_json::Value;

use crate::review::Route;

/// The most bytes read from a configuration file.
pub const MAX_CONFIG: u64 = 1024 * 1024;

/// The label prefix of the built-in Pod Security Admission.
pub const PSS_LABEL_PREFIX: &str = "pod-security.kubernetes.io/";

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not valid: every problem found, each naming its key.
    #[error("{path}: {}", problems.join("; "))]
    Invalid {
        /// The file.
        path: String,
        /// One entry per problem, e.g. `profiles.web.pss.level: expected ... found ...`.
        problems: Vec<String>,
    },
}

/// What happens when rampart cannot decide: a gate cannot (registry unreachable, inventory
/// unreadable), or the server cannot in time (deadline, overload, internal error).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailureMode {
    /// Refuse the request (the default: fail closed).
    #[default]
    Deny,
    /// Admit it, with a warning.
    Allow,
}

/// How a gate's violations are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Deny the request.
    Enforce,
    /// Admit it with response warnings (kubectl prints them).
    Warn,
    /// Admit it with audit annotations (kube-apiserver's audit log).
    Audit,
}

impl Mode {
    /// `enforce`, `warn` or `audit`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Warn => "warn",
            Mode::Audit => "audit",
        }
    }
}

/// What to do with kinds that carry no pod template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnknownKinds {
    /// Admit them: there is nothing to check (the default).
    Allow,
    /// Refuse them (for webhooks registered on more kinds than rampart checks).
    Deny,
}

// ---------------------------------------------------------------------------------------------
// raw TOML

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawConfig {
    /// The server's table.
    #[serde(default)]
    server: Option<crate::server::ServerConfig>,
    #[serde(default)]
    failure_mode: Option<FailureMode>,
    #[serde(default)]
    unknown_kinds: Option<UnknownKinds>,
    #[serde(default)]
    default_profile: Option<String>,
    #[serde(default)]
    pss_labels: Option<bool>,
    #[serde(default)]
    pss_label_versions: Vec<String>,
    #[serde(default)]
    exemptions: RawExemptions,
    #[serde(default)]
    registry: RawRegistry,
    #[serde(default)]
    cache: RawCache,
    #[serde(default)]
    profiles: BTreeMap<String, RawProfile>,
    #[serde(default)]
    namespaces: Vec<RawNamespaceRule>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawExemptions {
    #[serde(default)]
    usernames: Vec<String>,
    #[serde(default)]
    namespaces: Vec<String>,
    #[serde(default)]
    runtime_classes: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawRegistry {
    #[serde(default)]
    insecure: bool,
    #[serde(default)]
    ca_file: Option<PathBuf>,
    #[serde(default)]
    docker_config: Option<PathBuf>,
    #[serde(default)]
    timeout_seconds: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawCache {
    #[serde(default)]
    ttl_seconds: Option<u64>,
    #[serde(default)]
    max_entries: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawProfile {
    #[serde(default)]
    pss: Option<RawPss>,
    #[serde(default)]
    registries: Option<RawRegistries>,
    #[serde(default)]
    signatures: Option<RawSignatures>,
    #[serde(default)]
    digest: Option<RawDigest>,
    #[serde(default)]
    vulnerabilities: Option<RawVulns>,
    #[serde(default)]
    seccomp: Option<RawModeOnly>,
    #[serde(default)]
    runtime_class: Option<RawRuntimeClass>,
    #[serde(default)]
    intent: Option<RawIntent>,
    #[serde(default)]
    mutate: Option<RawMutate>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawIntent {
    #[serde(default)]
    mode: Option<Mode>,
    /// Intent files or directories of them (relative to the configuration).
    #[serde(default)]
    intents: Vec<PathBuf>,
    /// Also take an image's intent from its signed intent attestation, verified with the keys
    /// of the profile's `signatures` trust policy.
    #[serde(default)]
    attested: bool,
    /// Images without an intent are violations (default true).
    #[serde(default)]
    require: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawPss {
    #[serde(default)]
    mode: Option<Mode>,
    level: String,
    #[serde(default)]
    version: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawRegistries {
    #[serde(default)]
    mode: Option<Mode>,
    allow: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawSignatures {
    #[serde(default)]
    mode: Option<Mode>,
    policy: PathBuf,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawDigest {
    #[serde(default)]
    mode: Option<Mode>,
    #[serde(default)]
    resolve: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawVulns {
    #[serde(default)]
    mode: Option<Mode>,
    inventory: PathBuf,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    max_age_days: Option<u64>,
    #[serde(default)]
    require_scanned: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawModeOnly {
    #[serde(default)]
    mode: Option<Mode>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawRuntimeClass {
    #[serde(default)]
    mode: Option<Mode>,
    allow: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawMutate {
    #[serde(default)]
    seccomp: bool,
    #[serde(default)]
    allow_privilege_escalation: bool,
    #[serde(default)]
    drop_all: bool,
    #[serde(default)]
    run_as_non_root: bool,
    #[serde(default, rename = "override")]
    override_user: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawNamespaceRule {
    #[serde(default)]
    names: Vec<String>,
    #[serde(default)]
    selector: Option<toml::Value>,
    profile: String,
}

// ---------------------------------------------------------------------------------------------
// compiled

/// Exemptions, as Pod Security Admission has them: matching requests are admitted unchecked.
#[derive(Debug, Clone, Default)]
pub struct Exemptions {
    /// Exact usernames (`request.userInfo.username`).
    pub usernames: Vec<String>,
    /// Exact namespace names.
    pub namespaces: Vec<String>,
    /// Exact `runtimeClassName`s of the pod.
    pub runtime_classes: Vec<String>,
}

/// Registry client options for the signature and digest gates.
#[derive(Debug, Clone, Default)]
pub struct RegistrySettings {
    /// Plain HTTP (loopback registries only).
    pub insecure: bool,
    /// Extra CA certificates (PEM).
    pub ca_file: Option<PathBuf>,
    /// A docker `config.json` with credentials; none read when unset.
    pub docker_config: Option<PathBuf>,
    /// Connect and read timeout.
    pub timeout: Duration,
}

/// The Pod Security Standards gate.
#[derive(Debug, Clone)]
pub struct PssGate {
    /// How violations are reported.
    pub mode: Mode,
    /// The level.
    pub level: Level,
    /// The policy version.
    pub version: Version,
}

/// The allowed-registries gate.
#[derive(Debug, Clone)]
pub struct RegistriesGate {
    /// How violations are reported.
    pub mode: Mode,
    /// The allowed images (patterns on `registry/repository`, normalised).
    pub allow: rampart_sign::policy::ImageAllowList,
}

/// The signature gate: a trust policy of the supply-chain layer with its keys loaded.
#[derive(Debug, Clone)]
pub struct SignaturesGate {
    /// How violations are reported.
    pub mode: Mode,
    /// The policy, its keys loaded once.
    pub policy: TrustPolicy,
}

/// The digest-pinning gate.
#[derive(Debug, Clone)]
pub struct DigestGate {
    /// How unpinned images are reported.
    pub mode: Mode,
    /// Whether `/mutate` resolves tags to digests and pins them.
    pub resolve: bool,
}

/// The vulnerability gate.
#[derive(Debug, Clone)]
pub struct VulnerabilitiesGate {
    /// How violations are reported.
    pub mode: Mode,
    /// The inventory file (opened read-only).
    pub inventory: PathBuf,
    /// Findings at or above this severity deny.
    pub severity: Severity,
    /// The last match must be at most this old.
    pub max_age: Option<Duration>,
    /// Images absent from the inventory are violations (default true).
    pub require_scanned: bool,
}

/// A gate that only has a mode.
#[derive(Debug, Clone)]
pub struct SeccompGate {
    /// How violations are reported.
    pub mode: Mode,
}

/// The runtime class gate.
#[derive(Debug, Clone)]
pub struct RuntimeClassGate {
    /// How violations are reported.
    pub mode: Mode,
    /// Allowed `runtimeClassName`s.
    pub allow: Vec<String>,
}

/// The intent gate: pods must be at least as strict as their images' intents.
#[derive(Debug, Clone)]
pub struct IntentGate {
    /// How violations are reported.
    pub mode: Mode,
    /// The intents, by image repository.
    pub intents: std::sync::Arc<rampart_intent::conform::IntentSet>,
    /// Images without an intent are violations.
    pub require: bool,
    /// Intents also come from signed attestations, verified with this policy's keys.
    pub attested: Option<TrustPolicy>,
}

/// Hardening defaults added by `/mutate`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MutateSettings {
    /// `seccompProfile: {type: RuntimeDefault}` on the pod.
    pub seccomp: bool,
    /// `allowPrivilegeEscalation: false` on every container.
    pub allow_privilege_escalation: bool,
    /// `capabilities.drop: [ALL]` on every container.
    pub drop_all: bool,
    /// `runAsNonRoot: true` on the pod.
    pub run_as_non_root: bool,
    /// Replace explicit user values too.
    pub override_user: bool,
}

impl MutateSettings {
    /// Whether any default is added.
    pub fn any(&self) -> bool {
        self.seccomp || self.allow_privilege_escalation || self.drop_all || self.run_as_non_root
    }
}

/// A profile: a set of gates.
#[derive(Debug, Clone, Default)]
pub struct Profile {
    /// The profile's name.
    pub name: String,
    /// Pod Security Standards.
    pub pss: Option<PssGate>,
    /// Allowed registries.
    pub registries: Option<RegistriesGate>,
    /// Signatures.
    pub signatures: Option<SignaturesGate>,
    /// Digest pinning.
    pub digest: Option<DigestGate>,
    /// Vulnerabilities.
    pub vulnerabilities: Option<VulnerabilitiesGate>,
    /// Seccomp profile set.
    pub seccomp: Option<SeccompGate>,
    /// Runtime class.
    pub runtime_class: Option<RuntimeClassGate>,
    /// Images' intents.
    pub intent: Option<IntentGate>,
    /// Hardening mutation.
    pub mutate: Option<MutateSettings>,
}

impl Profile {
    /// Whether `/mutate` has anything to do for this profile.
    pub fn mutates(&self) -> bool {
        self.mutate.is_some_and(|m| m.any()) || self.digest.as_ref().is_some_and(|d| d.resolve)
    }

    /// The profile a built-in Pod Security Admission label route names:
    /// `pss-<mode>-<level>` (policy version `latest`) or `pss-<mode>-<level>-v1.<minor>`.
    pub fn from_pss_name(name: &str) -> Option<Profile> {
        let rest = name.strip_prefix("pss-")?;
        let (mode, rest) = rest.split_once('-')?;
        let mode = match mode {
            "enforce" => Mode::Enforce,
            "warn" => Mode::Warn,
            "audit" => Mode::Audit,
            _ => return None,
        };
        let (level, version) = match rest.split_once('-') {
            Some((level, version)) => (level, version.parse::<Version>().ok()?),
            None => (rest, Version::LATEST),
        };
        let level: Level = level.parse().ok()?;
        Some(Profile {
            name: name.to_owned(),
            pss: Some(PssGate {
                mode,
                level,
                version,
            }),
            ..Profile::default()
        })
    }
}

/// A rule choosing a profile by namespace name.
#[derive(Debug, Clone)]
pub struct NameRule {
    /// The globs as written.
    pub names: Vec<String>,
    /// Compiled.
    pub matcher: GlobSet,
    /// The profile.
    pub profile: String,
}

/// The loaded configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where it was read from (empty when parsed from text).
    pub path: PathBuf,
    /// The `[server]` table (defaults when absent); relative paths resolved against the file's
    /// directory, and its failure mode is the top-level `failure-mode`.
    pub server: crate::server::ServerConfig,
    /// When a gate cannot decide.
    pub failure_mode: FailureMode,
    /// Kinds without a pod template.
    pub unknown_kinds: UnknownKinds,
    /// The profile for `/validate` when no name rule matches (none: nothing is checked).
    pub default_profile: Option<String>,
    /// Whether routes for the `pod-security.kubernetes.io/*` labels are generated.
    pub pss_labels: bool,
    /// Pinned versions for which `-version` label routes are generated.
    pub pss_label_versions: Vec<Version>,
    /// Exemptions.
    pub exemptions: Exemptions,
    /// Registry client settings.
    pub registry: RegistrySettings,
    /// How long a registry answer (tag resolution, signature verification) is trusted.
    pub cache_ttl: Duration,
    /// The most entries each cache holds.
    pub cache_max_entries: usize,
    /// Profiles by name.
    pub profiles: BTreeMap<String, Profile>,
    /// Name rules, first match wins.
    pub name_rules: Vec<NameRule>,
    /// Label rules: (selector as a Kubernetes `LabelSelector`, profile).
    pub label_rules: Vec<(Value, String)>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            path: PathBuf::new(),
            server: crate::server::ServerConfig::default(),
            failure_mode: FailureMode::Deny,
            unknown_kinds: UnknownKinds::Allow,
            default_profile: None,
            pss_labels: true,
            pss_label_versions: Vec::new(),
            exemptions: Exemptions::default(),
            registry: RegistrySettings {
                timeout: DEFAULT_TIMEOUT,
                ..RegistrySettings::default()
            },
            cache_ttl: DEFAULT_TTL,
            cache_max_entries: DEFAULT_CACHE_ENTRIES,
            profiles: BTreeMap::new(),
            name_rules: Vec::new(),
            label_rules: Vec::new(),
        }
    }
}

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
const DEFAULT_TTL: Duration = Duration::from_secs(300);
const DEFAULT_CACHE_ENTRIES: usize = 10_000;

/// A glob on `registry/repository` or a namespace: `*` stays within a path segment, `**`
/// crosses them.
fn glob(pattern: &str) -> Result<Glob, globset::Error> {
    GlobBuilder::new(pattern).literal_separator(true).build()
}

fn mode_or_enforce(mode: Option<Mode>) -> Mode {
    mode.unwrap_or(Mode::Enforce)
}

impl Config {
    /// Reads and validates a configuration file; relative paths in it (trust policy,
    /// inventory, CA file, docker config) are resolved against its directory.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        use std::io::Read;
        let shown = path.display().to_string();
        let io = |source| ConfigError::Io {
            path: shown.clone(),
            source,
        };
        let mut text = String::new();
        std::fs::File::open(path)
            .map_err(io)?
            .take(MAX_CONFIG)
            .read_to_string(&mut text)
            .map_err(io)?;
        let base = path.parent().unwrap_or(Path::new("."));
        let mut config = Self::parse_named(&text, base, &shown)?;
        config.path = path.to_owned();
        Ok(config)
    }

    /// Parses configuration text; `base_dir` resolves relative paths.
    pub fn parse(text: &str, base_dir: &Path) -> Result<Self, ConfigError> {
        Self::parse_named(text, base_dir, "<config>")
    }

    fn parse_named(text: &str, base: &Path, shown: &str) -> Result<Self, ConfigError> {
        let invalid = |problems: Vec<String>| ConfigError::Invalid {
            path: shown.to_owned(),
            problems,
        };
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text.get(..s.start).unwrap_or("").matches('\n').count() + 1);
            invalid(vec![match line {
                Some(l) => format!("line {l}: {}", e.message()),
                None => e.message().to_owned(),
            }])
        })?;
        let mut problems = Vec::new();
        let failure_mode = raw.failure_mode.unwrap_or_default();
        let mut server = raw.server.clone().unwrap_or_default();
        server.failure_mode = failure_mode;
        server.cert = base.join(&server.cert);
        server.key = base.join(&server.key);
        if let crate::audit::AuditTarget::File(f) = &server.audit_log {
            server.audit_log = crate::audit::AuditTarget::File(base.join(f));
        }
        let mut config = Config {
            server,
            failure_mode,
            unknown_kinds: raw.unknown_kinds.unwrap_or(UnknownKinds::Allow),
            default_profile: raw.default_profile.clone(),
            pss_labels: raw.pss_labels.unwrap_or(true),
            exemptions: Exemptions {
                usernames: raw.exemptions.usernames,
                namespaces: raw.exemptions.namespaces,
                runtime_classes: raw.exemptions.runtime_classes,
            },
            registry: RegistrySettings {
                insecure: raw.registry.insecure,
                ca_file: raw.registry.ca_file.map(|p| base.join(p)),
                docker_config: raw.registry.docker_config.map(|p| base.join(p)),
                timeout: raw
                    .registry
                    .timeout_seconds
                    .map_or(DEFAULT_TIMEOUT, Duration::from_secs),
            },
            cache_ttl: raw
                .cache
                .ttl_seconds
                .map_or(DEFAULT_TTL, Duration::from_secs),
            cache_max_entries: raw.cache.max_entries.unwrap_or(DEFAULT_CACHE_ENTRIES),
            ..Config::default()
        };
        for v in &raw.pss_label_versions {
            match v.parse::<Version>() {
                Ok(version) if !version.is_latest() => config.pss_label_versions.push(version),
                Ok(_) => problems.push(
                    "pss-label-versions: expected pinned versions \"v1.<minor>\", found \"latest\" (latest is always routed)".to_owned(),
                ),
                Err(e) => problems.push(format!("pss-label-versions: {e}")),
            }
        }
        for (name, raw_profile) in raw.profiles {
            if name.starts_with("pss-") {
                problems.push(format!(
                    "profiles.{name}: the prefix \"pss-\" is reserved for the Pod Security Admission label profiles"
                ));
                continue;
            }
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
            {
                problems.push(format!(
                    "profiles.{name:?}: expected a name of letters, digits, '-', '_' and '.' (it is used in the URL path)"
                ));
                continue;
            }
            let profile = compile_profile(&name, raw_profile, base, &mut problems);
            config.profiles.insert(name, profile);
        }
        let known = |name: &str| {
            config.profiles.contains_key(name) || Profile::from_pss_name(name).is_some()
        };
        if let Some(d) = &config.default_profile {
            if !known(d) {
                problems.push(format!("default-profile: no profile named {d:?}"));
            }
        }
        for (i, rule) in raw.namespaces.into_iter().enumerate() {
            let at = format!("namespaces[{i}]");
            if !known(&rule.profile) {
                problems.push(format!("{at}.profile: no profile named {:?}", rule.profile));
            }
            match (rule.names.is_empty(), rule.selector) {
                (false, None) => {
                    let mut builder = GlobSetBuilder::new();
                    for n in &rule.names {
                        match glob(n) {
                            Ok(g) => {
                                builder.add(g);
                            }
                            Err(e) => problems.push(format!("{at}.names: pattern {n:?}: {e}")),
                        }
                    }
                    match builder.build() {
                        Ok(matcher) => config.name_rules.push(NameRule {
                            names: rule.names,
                            matcher,
                            profile: rule.profile,
                        }),
                        Err(e) => problems.push(format!("{at}.names: {e}")),
                    }
                }
                (true, Some(selector)) => match label_selector(&selector) {
                    Ok(selector) => config.label_rules.push((selector, rule.profile)),
                    Err(e) => problems.push(format!("{at}.selector: {e}")),
                },
                (false, Some(_)) => problems.push(format!(
                    "{at}: expected either `names` or `selector`, found both (names are matched by rampart, selectors by kube-apiserver)"
                )),
                (true, None) => problems.push(format!(
                    "{at}: expected `names` (namespace globs) or `selector` (a LabelSelector), found neither"
                )),
            }
        }
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(invalid(problems))
        }
    }

    /// Looks a profile up by name: a configured one, or a `pss-<mode>-<level>[-v1.<minor>]`
    /// label profile.
    pub fn profile(&self, name: &str) -> Option<std::borrow::Cow<'_, Profile>> {
        match self.profiles.get(name) {
            Some(p) => Some(std::borrow::Cow::Borrowed(p)),
            None => Profile::from_pss_name(name).map(std::borrow::Cow::Owned),
        }
    }

    /// The profile name-based rules choose for `namespace`, else the default profile.
    pub fn profile_for_namespace(&self, namespace: &str) -> Option<&str> {
        self.name_rules
            .iter()
            .find(|r| r.matcher.is_match(namespace))
            .map(|r| r.profile.as_str())
            .or(self.default_profile.as_deref())
    }

    /// Whether a profile rampart chooses itself (the default profile, or a namespace name
    /// rule's) mutates: the deployment then needs a default `/mutate` webhook entry.
    pub fn default_mutates(&self) -> bool {
        self.default_profile
            .iter()
            .chain(self.name_rules.iter().map(|r| &r.profile))
            .any(|name| self.profile(name).is_some_and(|p| p.mutates()))
    }

    /// The routes the webhook configurations are generated from: one per label rule, then,
    /// when `pss-labels` is on, one per Pod Security Admission mode and level (and per pinned
    /// version of `pss-label-versions`).
    ///
    /// Label profile names: `pss-<mode>-<level>` for a namespace labelled
    /// `pod-security.kubernetes.io/<mode>: <level>` whose `<mode>-version` label is absent,
    /// `latest`, or a version without its own route (evaluated at `latest`, which is never
    /// looser), and `pss-<mode>-<level>-v1.<minor>` for each pinned version listed.
    /// `<mode>` is `enforce`, `warn` or `audit`; `<level>` is `baseline` or `restricted`
    /// (`privileged` allows everything, so it has no route).
    pub fn routes(&self) -> Vec<Route> {
        let mut routes = Vec::new();
        for (selector, profile) in &self.label_rules {
            routes.push(Route {
                profile: profile.clone(),
                namespace_selector: selector.clone(),
                mutate: self.profile(profile).is_some_and(|p| p.mutates()),
            });
        }
        if self.pss_labels {
            for mode in ["enforce", "warn", "audit"] {
                for level in ["baseline", "restricted"] {
                    let label = format!("{PSS_LABEL_PREFIX}{mode}");
                    let version_label = format!("{label}-version");
                    let pinned: Vec<String> = self
                        .pss_label_versions
                        .iter()
                        .map(|v| v.to_string())
                        .collect();
                    let mut expressions = vec![serde_json::json!({
                        "key": label, "operator": "In", "values": [level]
                    })];
                    if !pinned.is_empty() {
                        expressions.push(serde_json::json!({
                            "key": version_label, "operator": "NotIn", "values": pinned
                        }));
                    }
                    routes.push(Route {
                        profile: format!("pss-{mode}-{level}"),
                        namespace_selector: serde_json::json!({ "matchExpressions": expressions }),
                        mutate: false,
                    });
                    for v in &pinned {
                        routes.push(Route {
                            profile: format!("pss-{mode}-{level}-{v}"),
                            namespace_selector: serde_json::json!({
                                "matchLabels": { label.clone(): level, version_label.clone(): v }
                            }),
                            mutate: false,
                        });
                    }
                }
            }
        }
        routes
    }
}

/// Checks a `LabelSelector` and converts it to JSON.
fn label_selector(value: &toml::Value) -> Result<Value, String> {
    let json = serde_json::to_value(value).map_err(|e| e.to_string())?;
    let Some(obj) = json.as_object() else {
        return Err("expected a table with matchLabels and/or matchExpressions".into());
    };
    for (key, v) in obj {
        match key.as_str() {
            "matchLabels" => {
                let Some(labels) = v.as_object() else {
                    return Err("matchLabels: expected a table of strings".into());
                };
                if labels.values().any(|l| !l.is_string()) {
                    return Err("matchLabels: expected string values".into());
                }
            }
            "matchExpressions" => {
                let Some(list) = v.as_array() else {
                    return Err("matchExpressions: expected an array".into());
                };
                for (i, e) in list.iter().enumerate() {
                    let key_ok = e.get("key").is_some_and(Value::is_string);
                    let op = e.get("operator").and_then(Value::as_str).unwrap_or("");
                    let values = e.get("values").and_then(Value::as_array);
                    let ok = key_ok
                        && match op {
                            "In" | "NotIn" => values
                                .is_some_and(|v| !v.is_empty() && v.iter().all(Value::is_string)),
                            "Exists" | "DoesNotExist" => values.is_none_or(Vec::is_empty),
                            _ => false,
                        };
                    if !ok {
                        return Err(format!(
                            "matchExpressions[{i}]: expected key, operator In|NotIn (with values) or Exists|DoesNotExist (without), found {e}"
                        ));
                    }
                }
            }
            other => {
                return Err(format!(
                    "unknown field {other:?}: expected matchLabels or matchExpressions"
                ));
            }
        }
    }
    if obj.is_empty() {
        return Err(
            "an empty selector matches every namespace: use default-profile instead".into(),
        );
    }
    Ok(json)
}

fn compile_profile(
    name: &str,
    raw: RawProfile,
    base: &Path,
    problems: &mut Vec<String>,
) -> Profile {
    let at = |key: &str| format!("profiles.{name}.{key}");
    let mut profile = Profile {
        name: name.to_owned(),
        ..Profile::default()
    };
    if let Some(p) = raw.pss {
        let level = p.level.parse::<Level>();
        let version = p.version.as_deref().unwrap_or("latest").parse::<Version>();
        match (level, version) {
            (Ok(level), Ok(version)) => {
                profile.pss = Some(PssGate {
                    mode: mode_or_enforce(p.mode),
                    level,
                    version,
                })
            }
            (Err(e), _) => problems.push(format!("{}: {e}", at("pss.level"))),
            (_, Err(e)) => problems.push(format!("{}: {e}", at("pss.version"))),
        }
    }
    if let Some(r) = raw.registries {
        match rampart_sign::policy::ImageAllowList::new(r.allow) {
            Ok(allow) => {
                profile.registries = Some(RegistriesGate {
                    mode: mode_or_enforce(r.mode),
                    allow,
                });
            }
            Err(list) => {
                for e in list {
                    problems.push(format!("{}: {e}", at("registries.allow")));
                }
            }
        }
    }
    if let Some(s) = raw.signatures {
        match TrustPolicy::load(&base.join(&s.policy)) {
            Ok(policy) => {
                profile.signatures = Some(SignaturesGate {
                    mode: mode_or_enforce(s.mode),
                    policy,
                });
            }
            Err(e) => problems.push(format!("{}: {e}", at("signatures.policy"))),
        }
    }
    if let Some(d) = raw.digest {
        profile.digest = Some(DigestGate {
            mode: mode_or_enforce(d.mode),
            resolve: d.resolve,
        });
    }
    if let Some(v) = raw.vulnerabilities {
        let severity = match v.severity.as_deref().unwrap_or("high").parse::<Severity>() {
            Ok(s) => Some(s),
            Err(e) => {
                problems.push(format!("{}: {e}", at("vulnerabilities.severity")));
                None
            }
        };
        if let Some(severity) = severity {
            profile.vulnerabilities = Some(VulnerabilitiesGate {
                mode: mode_or_enforce(v.mode),
                inventory: base.join(v.inventory),
                severity,
                max_age: v
                    .max_age_days
                    .map(|d| Duration::from_secs(d.saturating_mul(86_400))),
                require_scanned: v.require_scanned.unwrap_or(true),
            });
        }
    }
    if let Some(s) = raw.seccomp {
        profile.seccomp = Some(SeccompGate {
            mode: mode_or_enforce(s.mode),
        });
    }
    if let Some(r) = raw.runtime_class {
        if r.allow.is_empty() {
            problems.push(format!(
                "{}: expected at least one runtime class name",
                at("runtime-class.allow")
            ));
        }
        profile.runtime_class = Some(RuntimeClassGate {
            mode: mode_or_enforce(r.mode),
            allow: r.allow,
        });
    }
    if let Some(i) = raw.intent {
        if i.intents.is_empty() && !i.attested {
            problems.push(format!(
                "{}: expected intent files or directories, or `attested = true`",
                at("intent.intents")
            ));
        }
        let attested = match (&profile.signatures, i.attested) {
            (Some(s), true) => Some(s.policy.clone()),
            (None, true) => {
                problems.push(format!(
                    "{}: attested intents are verified with the keys of the profile's `signatures` trust policy: add one",
                    at("intent.attested")
                ));
                None
            }
            (_, false) => None,
        };
        let paths = rampart_intent::conform::resolve(base, &i.intents);
        match rampart_intent::conform::IntentSet::load(&paths) {
            Ok(set) => {
                profile.intent = Some(IntentGate {
                    mode: mode_or_enforce(i.mode),
                    intents: std::sync::Arc::new(set),
                    require: i.require.unwrap_or(true),
                    attested,
                });
            }
            Err(e) => problems.push(format!("{}: {e}", at("intent.intents"))),
        }
    }
    if let Some(m) = raw.mutate {
        profile.mutate = Some(MutateSettings {
            seccomp: m.seccomp,
            allow_privilege_escalation: m.allow_privilege_escalation,
            drop_all: m.drop_all,
            run_as_non_root: m.run_as_non_root,
            override_user: m.override_user,
        });
    }
    profile
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_patterns_are_normalised_like_references() {
        for (pattern, want) in [
            ("nginx", "docker.io/library/nginx"),
            ("bitnami/*", "docker.io/bitnami/*"),
            ("index.docker.io/org/app", "docker.io/org/app"),
            (
                "Registry.Example.com/shop/**",
                "registry.example.com/shop/**",
            ),
            ("localhost/app", "localhost/app"),
            ("127.0.0.1:5000/a", "127.0.0.1:5000/a"),
        ] {
            assert_eq!(
                rampart_sign::policy::normalize_image_pattern(pattern),
                want,
                "{pattern}"
            );
        }
    }

    #[test]
    fn pss_profile_names() {
        for (name, want) in [
            (
                "pss-enforce-restricted",
                Some((Mode::Enforce, Level::Restricted, Version::LATEST)),
            ),
            (
                "pss-warn-baseline-v1.29",
                Some((Mode::Warn, Level::Baseline, Version::v1(29))),
            ),
            (
                "pss-audit-privileged",
                Some((Mode::Audit, Level::Privileged, Version::LATEST)),
            ),
            ("pss-enforce-strict", None),
            ("pss-block-baseline", None),
            ("pss-enforce-baseline-v1.x", None),
            ("web", None),
        ] {
            let got = Profile::from_pss_name(name)
                .and_then(|p| p.pss)
                .map(|g| (g.mode, g.level, g.version));
            assert_eq!(got, want, "{name}");
        }
    }
}
