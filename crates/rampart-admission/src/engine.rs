//! The decision engine: a [`Config`] applied to one request at a time.
//!
//! # Side effects and `dryRun`
//!
//! The engine writes nothing anywhere: it reads the registry (tag resolution, signatures) and
//! the inventory (opened read-only), and keeps in-memory caches of what it read. A `dryRun`
//! request is therefore decided exactly like a real one; the only state it can leave behind
//! is a cache entry, which is not a side effect visible to the cluster.

use std::sync::Arc;

use base64::Engine as _;
use rampart_registry::{Client, ClientOptions};
use serde_json::Value;

use crate::cache::{Clock, SystemClock};
use crate::config::{Config, FailureMode, Mode, Profile, UnknownKinds};
use crate::gates::{self, Supply, Verdict};
use crate::review::{
    AdmissionRequest, AdmissionResponse, Decision, Endpoint, GateOutcome, Operation, Reviewer,
};
use crate::workload::{self, Extracted, PodView};

/// The engine could not be built.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The registry client could not be set up (e.g. an unreadable CA file).
    #[error("registry client: {0}")]
    Registry(Box<rampart_registry::RegistryError>),
}

/// The decision engine: [`Reviewer`] for the server. Cheap to share (`Arc`), safe to call from
/// many threads at once.
pub struct Engine {
    config: Config,
    supply: Supply,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.config.path)
            .field("supply", &self.supply)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine for `config`, with the system clock.
    pub fn new(config: Config) -> Result<Self, EngineError> {
        Self::with_clock(config, Arc::new(SystemClock))
    }

    /// An engine reading time (for cache expiry) from `clock`.
    pub fn with_clock(config: Config, clock: Arc<dyn Clock>) -> Result<Self, EngineError> {
        let r = &config.registry;
        let options = ClientOptions {
            insecure: r.insecure,
            ca_file: r.ca_file.clone(),
            docker_config: r.docker_config.clone(),
            use_docker_config: r.docker_config.is_some(),
            connect_timeout: r.timeout,
            read_timeout: r.timeout,
            credential_helper_timeout: r.timeout,
            ..ClientOptions::default()
        };
        let client = Client::new(&options).map_err(|e| EngineError::Registry(Box::new(e)))?;
        let supply = Supply::new(client, config.cache_ttl, config.cache_max_entries);
        Ok(Engine {
            config,
            supply,
            clock,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    fn decide(&self, endpoint: &Endpoint, req: &AdmissionRequest) -> Decision {
        let uid = req.uid.as_str();
        let allow = |gates| Decision {
            response: AdmissionResponse::allow(uid),
            gates,
            profile: None,
        };
        if !matches!(req.operation, Operation::Create | Operation::Update) {
            return allow(Vec::new());
        }
        // Subresources: only ephemeral containers of pods carry a pod to check.
        let sub = req.sub_resource.as_str();
        if !(sub.is_empty() || (sub == "ephemeralcontainers" && req.kind.kind == "Pod")) {
            return allow(Vec::new());
        }
        let (mutate, named) = match endpoint {
            Endpoint::Validate { profile } => (false, profile.as_deref()),
            Endpoint::Mutate { profile } => (true, profile.as_deref()),
        };
        let profile_name = match named {
            Some(n) => Some(n),
            None => self.config.profile_for_namespace(&req.namespace),
        };
        let Some(profile_name) = profile_name else {
            return allow(Vec::new());
        };
        let mut decision = self.decide_with(req, mutate, profile_name);
        decision.profile = Some(profile_name.to_owned());
        decision
    }

    /// Decides `req` under the profile `profile_name` (named by the URL, a namespace rule or
    /// the default).
    fn decide_with(&self, req: &AdmissionRequest, mutate: bool, profile_name: &str) -> Decision {
        let uid = req.uid.as_str();
        let allow = |gates| Decision {
            response: AdmissionResponse::allow(uid),
            gates,
            profile: None,
        };
        let Some(profile) = self.config.profile(profile_name) else {
            return Decision {
                response: AdmissionResponse::deny(
                    uid,
                    format!(
                        "rampart: no profile named {profile_name:?} in the configuration (the webhook URL names it)"
                    ),
                ),
                gates: vec![outcome(
                    "config",
                    "error",
                    format!("no profile {profile_name:?}"),
                )],
                profile: None,
            };
        };
        let ex = &self.config.exemptions;
        if ex.usernames.contains(&req.user_info.username) {
            return allow(vec![outcome(
                "exemptions",
                "exempt",
                format!("username {:?}", req.user_info.username),
            )]);
        }
        if ex.namespaces.contains(&req.namespace) {
            return allow(vec![outcome(
                "exemptions",
                "exempt",
                format!("namespace {:?}", req.namespace),
            )]);
        }
        let kind = &req.kind;
        let view = match workload::extract(&kind.group, &kind.kind, &req.object) {
            Extracted::Pod(v) => v,
            Extracted::NotAWorkload => {
                return match self.config.unknown_kinds {
                    UnknownKinds::Allow => allow(Vec::new()),
                    UnknownKinds::Deny => Decision {
                        response: AdmissionResponse::deny(
                            uid,
                            format!(
                                "rampart: kind {}/{} has no pod template to check and the configuration refuses unknown kinds",
                                kind.group, kind.kind
                            ),
                        ),
                        gates: vec![outcome(
                            "kind",
                            "deny",
                            format!("unknown kind {}", kind.kind),
                        )],
                        profile: None,
                    },
                };
            }
            Extracted::Malformed(why) => {
                return Decision {
                    response: AdmissionResponse::deny(
                        uid,
                        format!("rampart: malformed object: {why}"),
                    ),
                    gates: vec![outcome("object", "deny", why)],
                    profile: None,
                };
            }
        };
        if let Some(rc) = view.runtime_class() {
            if ex.runtime_classes.iter().any(|r| r == rc) {
                return allow(vec![outcome(
                    "exemptions",
                    "exempt",
                    format!("runtime class {rc:?}"),
                )]);
            }
        }
        if req.operation == Operation::Update && !self.update_is_significant(req, &view) {
            return allow(Vec::new());
        }
        if mutate {
            // A pod's spec is immutable but for images: patching a running pod's security
            // context would make kube-apiserver refuse the update, and pinning unchanged images
            // would restart containers. Pods are mutated at creation only.
            if req.operation == Operation::Update && req.kind.kind == "Pod" {
                return allow(Vec::new());
            }
            return self.mutate(uid, &profile, &view);
        }
        self.validate(req, &profile, &view)
    }

    /// Updates re-evaluated: for Pods, as Pod Security Admission does; for workloads, when
    /// the pod template changed.
    fn update_is_significant(&self, req: &AdmissionRequest, view: &PodView<'_>) -> bool {
        if req.old_object.is_null() {
            return true;
        }
        if req.kind.kind == "Pod" && req.kind.group.is_empty() {
            return workload::is_significant_pod_update(&req.object, &req.old_object);
        }
        match workload::extract(&req.kind.group, &req.kind.kind, &req.old_object) {
            Extracted::Pod(old) => old.pod != view.pod,
            _ => true,
        }
    }

    fn run_gates(
        &self,
        profile: &Profile,
        view: &PodView<'_>,
    ) -> Vec<(&'static str, Mode, Verdict)> {
        let now = self.clock.now();
        let mut out = Vec::new();
        if let Some(g) = &profile.pss {
            out.push(("pss", g.mode, gates::pss(g, view)));
        }
        if let Some(g) = &profile.registries {
            out.push(("registries", g.mode, gates::registries(g, view)));
        }
        if let Some(g) = &profile.digest {
            out.push(("digest", g.mode, gates::digest(view)));
        }
        if let Some(g) = &profile.seccomp {
            out.push(("seccomp", g.mode, gates::seccomp(view)));
        }
        if let Some(g) = &profile.runtime_class {
            out.push(("runtime-class", g.mode, gates::runtime_class(g, view)));
        }
        if let Some(g) = &profile.intent {
            out.push(("intent", g.mode, gates::intent(g, view, &self.supply, now)));
        }
        if let Some(g) = &profile.signatures {
            out.push((
                "signatures",
                g.mode,
                gates::signatures(g, view, &self.supply, now),
            ));
        }
        if let Some(g) = &profile.vulnerabilities {
            out.push((
                "vulnerabilities",
                g.mode,
                gates::vulnerabilities(g, view, &self.supply, now),
            ));
        }
        out
    }

    fn validate(&self, req: &AdmissionRequest, profile: &Profile, view: &PodView<'_>) -> Decision {
        let mut denials = Vec::new();
        let mut warnings = Vec::new();
        let mut audit = std::collections::BTreeMap::new();
        let mut outcomes = Vec::new();
        for (gate, mode, verdict) in self.run_gates(profile, view) {
            let before = outcomes.len();
            match verdict {
                Verdict::Pass => outcomes.push(outcome(gate, "allow", String::new())),
                Verdict::Violations(list) => {
                    let joined = list.join("; ");
                    let word = match mode {
                        Mode::Enforce => {
                            denials.extend(list.iter().map(|v| format!("[{gate}] {v}")));
                            "deny"
                        }
                        Mode::Warn => {
                            warnings.extend(list.iter().map(|v| format!("[{gate}] {v}")));
                            "warn"
                        }
                        Mode::Audit => {
                            audit.insert(gate.to_owned(), joined.clone());
                            "audit"
                        }
                    };
                    outcomes.push(outcome(gate, word, joined));
                }
                Verdict::Error(e) => {
                    let msg = format!("[{gate}] cannot decide: {e}");
                    match (mode, self.config.failure_mode) {
                        (Mode::Enforce, FailureMode::Deny) => {
                            denials.push(format!("{msg} (failure-mode deny)"))
                        }
                        (Mode::Enforce, FailureMode::Allow) => {
                            warnings.push(format!("{msg} (admitted: failure-mode allow)"))
                        }
                        (Mode::Warn, _) => warnings.push(msg),
                        (Mode::Audit, _) => {
                            audit.insert(gate.to_owned(), msg);
                        }
                    }
                    outcomes.push(outcome(gate, "error", e));
                }
            }
            let word = match mode {
                Mode::Enforce => "enforce",
                Mode::Warn => "warn",
                Mode::Audit => "audit",
            };
            for o in outcomes.iter_mut().skip(before) {
                o.mode = Some(word);
            }
        }
        let mut response = if denials.is_empty() {
            AdmissionResponse::allow(&req.uid)
        } else {
            let what = if req.name.is_empty() {
                format!("{} in namespace {:?}", req.kind.kind, req.namespace)
            } else {
                format!(
                    "{} {:?} in namespace {:?}",
                    req.kind.kind, req.name, req.namespace
                )
            };
            AdmissionResponse::deny(
                &req.uid,
                format!(
                    "rampart (profile {:?}) denied {what}: {}",
                    profile.name,
                    denials.join("; ")
                ),
            )
        };
        response.warnings = warnings;
        if !audit.is_empty() {
            audit.insert("profile".to_owned(), profile.name.clone());
        }
        response.audit_annotations = audit;
        Decision {
            response,
            gates: outcomes,
            profile: None,
        }
    }

    fn mutate(&self, uid: &str, profile: &Profile, view: &PodView<'_>) -> Decision {
        let mut ops = Vec::new();
        let mut outcomes = Vec::new();
        let mut warnings = Vec::new();
        if let Some(settings) = &profile.mutate {
            let hardening = crate::mutate::hardening_patch(view, settings);
            outcomes.push(outcome(
                "mutate",
                "allow",
                format!("{} operation(s)", hardening.len()),
            ));
            ops.extend(hardening);
        }
        if profile.digest.as_ref().is_some_and(|d| d.resolve) {
            let now = self.clock.now();
            let base = view.pointer();
            for (c, parsed) in gates::images(view) {
                let Ok(r) = parsed else { continue };
                if r.digest().is_some() {
                    continue;
                }
                let shown = c.image.unwrap_or("");
                // With the signature gate on, only a digest whose signature verified is pinned.
                if let Some(sig) = &profile.signatures {
                    match self.supply.signature(sig, &r, now) {
                        Ok(None) => {}
                        Ok(Some(why)) => {
                            warnings.push(format!(
                                "[digest] {shown:?} not pinned: not signed as required: {why}"
                            ));
                            continue;
                        }
                        Err(e) => {
                            warnings.push(format!("[digest] {shown:?} not pinned: {e}"));
                            outcomes.push(outcome("digest", "error", e));
                            continue;
                        }
                    }
                }
                match self.supply.digest_of(&r, now) {
                    Ok(d) => ops.push(serde_json::json!({
                        "op": "replace",
                        "path": format!("{base}/spec/{}/{}/image", c.list, c.index),
                        "value": format!("{shown}@{d}"),
                    })),
                    Err(e) => {
                        warnings.push(format!("[digest] {shown:?} not pinned: {e}"));
                        outcomes.push(outcome("digest", "error", e));
                    }
                }
            }
        }
        let mut response = AdmissionResponse::allow(uid).with_patch(&ops);
        response.warnings = warnings;
        Decision {
            response,
            gates: outcomes,
            profile: None,
        }
    }
}

fn outcome(gate: &str, outcome: &'static str, message: String) -> GateOutcome {
    GateOutcome {
        mode: None,
        gate: gate.to_owned(),
        outcome,
        message,
    }
}

impl Reviewer for Engine {
    fn review(&self, endpoint: &Endpoint, request: &AdmissionRequest) -> Decision {
        self.decide(endpoint, request)
    }

    /// Decides at once when the registry and the inventory answers needed are cached (the
    /// steady state: signatures, digests and scans are cached for the TTL); `None` otherwise.
    fn review_now(&self, endpoint: &Endpoint, request: &AdmissionRequest) -> Option<Decision> {
        gates::cached_only(|| self.decide(endpoint, request))
    }
}

/// Decodes the JSON Patch of a response (for tests and the audit log).
pub fn decode_patch(response: &AdmissionResponse) -> Option<Vec<Value>> {
    let b = response.patch.as_ref()?;
    let bytes = base64::engine::general_purpose::STANDARD.decode(b).ok()?;
    serde_json::from_slice(&bytes).ok()
}
