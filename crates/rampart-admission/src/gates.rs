//! The gates: each looks at one pod and returns its violations, or an error when it cannot
//! decide (registry unreachable, inventory unreadable).
//!
//! Gate ids (used in messages, metrics and audit annotations): `pss`, `registries`,
//! `signatures`, `digest`, `vulnerabilities`, `seccomp`, `runtime-class`, `intent`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use rampart_core::Severity;
use rampart_registry::{Client, Reference};
use rampart_sign::policy::Requirement;
use rampart_sign::trust::Verdict as TrustVerdict;
use rampart_vuln::inventory::Inventory;
use serde_json::Value;

use crate::cache::TtlCache;

thread_local! {
    /// Set while a review runs on the server's own (async) thread: a cache miss must not block
    /// it on the registry or the inventory, it sends the review to a worker instead.
    static CACHED_ONLY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// Whether a gate needed I/O during a [`cached_only`] run.
    static MISSED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` with the supply (registry, inventory) limited to its caches: `None` when something
/// was not cached (the caller then runs the review where it may block).
pub fn cached_only<T>(f: impl FnOnce() -> T) -> Option<T> {
    CACHED_ONLY.set(true);
    MISSED.set(false);
    let result = f();
    CACHED_ONLY.set(false);
    (!MISSED.replace(false)).then_some(result)
}

/// In a [`cached_only`] run, records the miss and stops the gate.
fn no_io() -> Result<(), String> {
    if CACHED_ONLY.get() {
        MISSED.set(true);
        return Err("not cached".to_owned());
    }
    Ok(())
}
use crate::config::{
    IntentGate, PssGate, RegistriesGate, RuntimeClassGate, SignaturesGate, VulnerabilitiesGate,
};
use crate::workload::{ContainerView, PodView};

/// What a gate concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing to report.
    Pass,
    /// Every violation, one message each (naming the container and the field).
    Violations(Vec<String>),
    /// The gate could not decide; the failure mode applies.
    Error(String),
}

impl Verdict {
    fn from_list(list: Vec<String>) -> Self {
        if list.is_empty() {
            Verdict::Pass
        } else {
            Verdict::Violations(list)
        }
    }
}

/// `container "app" (spec.template.spec.containers[0])`.
fn container_at(view: &PodView<'_>, c: &ContainerView<'_>) -> String {
    format!(
        "container {:?} ({}{})",
        c.name,
        view.field_prefix(),
        c.field()
    )
}

/// Pod Security Standards, with the evaluator of `rampart scan`: one violation listing every
/// failed check, worded as Pod Security Admission words its denials
/// (`violates PodSecurity "restricted:latest": privileged (...) at spec..., ...`).
pub fn pss(gate: &PssGate, view: &PodView<'_>) -> Verdict {
    let eval = rampart_pss::evaluate(gate.level, gate.version, view.pod);
    if eval.violations.is_empty() {
        return Verdict::Pass;
    }
    let prefix = view.field_prefix();
    let checks: Vec<String> = eval
        .violations
        .iter()
        .map(|v| {
            let fields: Vec<String> = v
                .paths
                .iter()
                .map(|p| format!("{prefix}{}", rampart_pss::format_path(p)))
                .collect();
            format!("{v} at {}", fields.join(", "))
        })
        .collect();
    Verdict::from_list(vec![format!(
        "violates PodSecurity \"{}:{}\": {}",
        eval.level,
        eval.version,
        checks.join("; ")
    )])
}

/// The images of a pod, parsed; unparseable or missing images are violations.
pub fn images<'a>(view: &'a PodView<'a>) -> Vec<(ContainerView<'a>, Result<Reference, String>)> {
    view.containers()
        .into_iter()
        .map(|c| {
            let parsed = match c.image {
                Some(text) => Reference::parse(text).map_err(|e| {
                    format!(
                        "{}: image {text:?} is not a valid reference: {e}",
                        container_at(view, &c)
                    )
                }),
                None => Err(format!(
                    "{}: expected a string at image, found {}",
                    container_at(view, &c),
                    c.value
                        .get("image")
                        .map_or("nothing", crate::workload::type_name)
                )),
            };
            (c, parsed)
        })
        .collect()
}

/// Allowed registries and repositories.
pub fn registries(gate: &RegistriesGate, view: &PodView<'_>) -> Verdict {
    let mut list = Vec::new();
    for (c, parsed) in images(view) {
        match parsed {
            Ok(r) => {
                let name = format!("{}/{}", r.registry().to_ascii_lowercase(), r.path());
                if !gate.allow.allows(r.registry(), r.path()) {
                    list.push(format!(
                        "{}: image {:?} ({name}) is not from an allowed registry or repository (allowed: {})",
                        container_at(view, &c),
                        c.image.unwrap_or(""),
                        gate.allow.patterns.join(", ")
                    ));
                }
            }
            Err(e) => list.push(e),
        }
    }
    Verdict::from_list(list)
}

/// Images pinned by digest.
pub fn digest(view: &PodView<'_>) -> Verdict {
    let mut list = Vec::new();
    for (c, parsed) in images(view) {
        match parsed {
            Ok(r) if r.digest().is_some() => {}
            Ok(_) => list.push(format!(
                "{}: image {:?} is not pinned by digest (expected name@sha256:...)",
                container_at(view, &c),
                c.image.unwrap_or("")
            )),
            Err(e) => list.push(e),
        }
    }
    Verdict::from_list(list)
}

/// A seccomp profile set: RuntimeDefault or Localhost, at pod level or on every container.
pub fn seccomp(view: &PodView<'_>) -> Verdict {
    let good = |v: Option<&Value>| {
        v.and_then(|p| p.get("type"))
            .and_then(Value::as_str)
            .is_some_and(|t| t == "RuntimeDefault" || t == "Localhost")
    };
    fn profile_of(v: Option<&Value>) -> Option<&Value> {
        v.and_then(|s| s.get("securityContext"))
            .and_then(|s| s.get("seccompProfile"))
    }
    let pod_level = profile_of(view.pod.get("spec"));
    let pod_ok = good(pod_level);
    let mut list = Vec::new();
    for c in view.containers() {
        let own = profile_of(Some(c.value));
        let own_set = own.is_some_and(|v| !v.is_null());
        let ok = if own_set { good(own) } else { pod_ok };
        if !ok {
            let shown = if own_set { own } else { pod_level };
            list.push(format!(
                "{}: expected securityContext.seccompProfile.type RuntimeDefault or Localhost (on the container or at {}spec.securityContext), found {}",
                container_at(view, &c),
                view.field_prefix(),
                shown.filter(|v| !v.is_null()).map_or_else(|| "none".to_owned(), ToString::to_string)
            ));
        }
    }
    Verdict::from_list(list)
}

/// Pods at least as strict as their images' intents (rampart-intent's check, shared with
/// `rampart scan`'s INT001): the intent's digest, no privilege beyond it, only its ports.
pub fn intent(gate: &IntentGate, view: &PodView<'_>, supply: &Supply, now: Instant) -> Verdict {
    let Some(spec) = view.pod.get("spec") else {
        return Verdict::Pass;
    };
    let mut problems = Vec::new();
    let mut set = (*gate.intents).clone();
    if let Some(policy) = &gate.attested {
        for (c, parsed) in images(view) {
            let (Ok(r), Some(text)) = (parsed, c.image) else {
                continue;
            };
            if set.for_image(text).is_some() {
                continue;
            }
            match supply.attested_intent(policy, &r, now) {
                Err(e) => return Verdict::Error(format!("{}: {e}", container_at(view, &c))),
                Ok(None) => {}
                Ok(Some(Err(why))) => problems.push(format!(
                    "{}: the intent attested on {text:?} is refused: {why}",
                    container_at(view, &c)
                )),
                Ok(Some(Ok(i))) => {
                    // bound to the digest: it applies under the name the pod uses
                    let _ = set.add_for(text, i, "attestation");
                }
            }
        }
    }
    let check = rampart_intent::conform::check_pod_spec(&set, spec);
    let prefix = format!("{}spec.", view.field_prefix());
    let mut list: Vec<String> = check
        .excess
        .iter()
        .map(|e| {
            let who = if e.container.is_empty() {
                String::new()
            } else {
                format!("container {:?}: ", e.container)
            };
            format!("{who}{} (at {prefix}{})", e.message, e.field)
        })
        .collect();
    list.extend(problems);
    if gate.require {
        for (name, field, image) in &check.without_intent {
            list.push(format!(
                "container {name:?}: image {image:?} has no intent (at {prefix}{field}.image)"
            ));
        }
    }
    Verdict::from_list(list)
}

/// A runtime class from the allowed list.
pub fn runtime_class(gate: &RuntimeClassGate, view: &PodView<'_>) -> Verdict {
    let field = format!("{}spec.runtimeClassName", view.field_prefix());
    match view.pod.get("spec").and_then(|s| s.get("runtimeClassName")) {
        Some(Value::String(name)) if gate.allow.iter().any(|a| a == name) => Verdict::Pass,
        Some(Value::String(name)) => Verdict::Violations(vec![format!(
            "{field}: runtime class {name:?} is not allowed (expected one of {})",
            gate.allow.join(", ")
        )]),
        other => Verdict::Violations(vec![format!(
            "{field}: expected a runtime class (one of {}), found {}",
            gate.allow.join(", "),
            other.map_or("nothing", crate::workload::type_name)
        )]),
    }
}

/// The registry side of the gates: one client, the caches, the inventories.
pub struct Supply {
    client: Client,
    /// `registry/repository:tag` → digest.
    tags: TtlCache<String, String>,
    /// (digest, repository, policy file, rule index) → `None` verified, `Some(why)` refused.
    verdicts: TtlCache<(String, String, PathBuf, usize), Option<String>>,
    /// (inventory, digest) → the scan as the gate needs it.
    scans: TtlCache<(PathBuf, String), Option<Scan>>,
    /// (digest, repository, policy file) → the intent attested on the image: none, valid, or
    /// refused with the reason.
    intents: TtlCache<(String, String, PathBuf), Option<Result<rampart_intent::Intent, String>>>,
    inventories: Mutex<BTreeMap<PathBuf, Inventory>>,
}

impl std::fmt::Debug for Supply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Supply")
            .field("tags", &self.tags.len())
            .field("verdicts", &self.verdicts.len())
            .finish_non_exhaustive()
    }
}

/// The part of an inventory entry the vulnerability gate reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan {
    /// When last matched (or recorded), RFC 3339.
    pub matched_at: String,
    /// (vulnerability id, purl, severity).
    pub findings: Vec<(String, String, Severity)>,
}

impl Supply {
    /// A registry client and empty caches.
    pub fn new(client: Client, ttl: std::time::Duration, max: usize) -> Self {
        Supply {
            client,
            tags: TtlCache::new(ttl, max),
            verdicts: TtlCache::new(ttl, max),
            scans: TtlCache::new(ttl, max),
            intents: TtlCache::new(ttl, max),
            inventories: Mutex::new(BTreeMap::new()),
        }
    }

    /// The digest an image names: its own, or its tag resolved (cached).
    pub fn digest_of(&self, image: &Reference, now: Instant) -> Result<String, String> {
        if let Some(d) = image.digest() {
            return Ok(d.to_string());
        }
        let key = image.to_string();
        if let Some(d) = self.tags.get(&key, now) {
            return Ok(d);
        }
        no_io()?;
        let d = rampart_sign::oci::resolve(&self.client, image)
            .map_err(|e| format!("resolving {image}: {e}"))?
            .to_string();
        self.tags.put(key, d.clone(), now);
        Ok(d)
    }

    /// Checks one image against the trust policy: `Ok(None)` verified or exempt, `Ok(Some)`
    /// refused, `Err` the registry could not be asked.
    pub fn signature(
        &self,
        gate: &SignaturesGate,
        image: &Reference,
        now: Instant,
    ) -> Result<Option<String>, String> {
        // Exemptions and refusals that need no registry are answered before resolving.
        let policy = &gate.policy.policy;
        let rule = match policy.requirement(image.registry(), image.path()) {
            Requirement::AllowedByDefault => return Ok(None),
            Requirement::Unmatched => {
                return Ok(Some(format!(
                    "no rule of the trust policy {} matches {}/{}, and it refuses unmatched images",
                    policy.path.display(),
                    image.registry(),
                    image.path()
                )));
            }
            Requirement::Rule(rule) if rule.allow_unsigned => return Ok(None),
            Requirement::Rule(rule) => rule,
        };
        let digest = self.digest_of(image, now)?;
        let key = (
            digest.clone(),
            image.repository().to_string(),
            policy.path.clone(),
            rule.index,
        );
        if let Some(v) = self.verdicts.get(&key, now) {
            return Ok(v);
        }
        no_io()?;
        let parsed = rampart_image::Digest::parse(&digest).map_err(|e| e.to_string())?;
        let pinned = image.with_digest(parsed);
        let verdict = match gate.policy.check(&self.client, &pinned, None) {
            Ok(TrustVerdict::Refused { reason, .. }) => Some(reason),
            Ok(_) => None,
            Err(e) => return Err(format!("verifying {pinned}: {e}")),
        };
        self.verdicts.put(key, verdict.clone(), now);
        Ok(verdict)
    }

    /// The intent attested on `image` (signed with a key of `policy`'s matching rule), as a
    /// document bound to the image's digest: `Ok(None)` none, `Ok(Some(Err))` refused (invalid,
    /// or another image's), `Err` the registry could not be asked. Cached by digest.
    pub fn attested_intent(
        &self,
        policy: &rampart_sign::trust::TrustPolicy,
        image: &Reference,
        now: Instant,
    ) -> Result<Option<Result<rampart_intent::Intent, String>>, String> {
        let digest = self.digest_of(image, now)?;
        let key = (
            digest.clone(),
            image.repository().to_string(),
            policy.policy.path.clone(),
        );
        if let Some(v) = self.intents.get(&key, now) {
            return Ok(v);
        }
        no_io()?;
        let parsed = rampart_image::Digest::parse(&digest).map_err(|e| e.to_string())?;
        let pinned = image.with_digest(parsed);
        let predicate = policy
            .attested_predicate(
                &self.client,
                &pinned,
                rampart_sign::dsse::INTENT_PREDICATE_TYPE,
            )
            .map_err(|e| format!("verifying the intent attestation of {pinned}: {e}"))?;
        let verdict = predicate.map(|p| {
            let text = p.to_string();
            match rampart_intent::Intent::parse(&text, std::path::Path::new("attestation")) {
                Ok(i) if i.image.digest() == digest => Ok(i),
                Ok(i) => Err(format!("it is the intent of {}, not of {digest}", i.image)),
                Err(e) => Err(e.to_string()),
            }
        });
        self.intents.put(key, verdict.clone(), now);
        Ok(verdict)
    }

    /// The inventory's last scan of `digest`.
    pub fn scan(
        &self,
        gate: &VulnerabilitiesGate,
        digest: &str,
        now: Instant,
    ) -> Result<Option<Scan>, String> {
        let key = (gate.inventory.clone(), digest.to_owned());
        if let Some(s) = self.scans.get(&key, now) {
            return Ok(s);
        }
        no_io()?;
        let mut inventories = self
            .inventories
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if !inventories.contains_key(&gate.inventory) {
            let inv = Inventory::open_read_only(&gate.inventory).map_err(|e| e.to_string())?;
            inventories.insert(gate.inventory.clone(), inv);
        }
        let inv = inventories
            .get(&gate.inventory)
            .ok_or_else(|| format!("{}: inventory not open", gate.inventory.display()))?;
        let scan = inv
            .scan_of(digest)
            .map_err(|e| e.to_string())?
            .map(|s| Scan {
                matched_at: s.matched_at.unwrap_or(s.image.recorded_at),
                findings: s.findings,
            });
        drop(inventories);
        self.scans.put(key, scan.clone(), now);
        Ok(scan)
    }
}

/// Signatures of every image.
pub fn signatures(
    gate: &SignaturesGate,
    view: &PodView<'_>,
    supply: &Supply,
    now: Instant,
) -> Verdict {
    let mut list = Vec::new();
    for (c, parsed) in images(view) {
        match parsed {
            Ok(r) => match supply.signature(gate, &r, now) {
                Ok(None) => {}
                Ok(Some(why)) => list.push(format!(
                    "{}: image {:?} is not signed as the trust policy requires: {why}",
                    container_at(view, &c),
                    c.image.unwrap_or("")
                )),
                Err(e) => return Verdict::Error(format!("{}: {e}", container_at(view, &c))),
            },
            Err(e) => list.push(e),
        }
    }
    Verdict::from_list(list)
}

/// Vulnerabilities of every image, from the inventory.
pub fn vulnerabilities(
    gate: &VulnerabilitiesGate,
    view: &PodView<'_>,
    supply: &Supply,
    now: Instant,
) -> Verdict {
    let mut list = Vec::new();
    for (c, parsed) in images(view) {
        let r = match parsed {
            Ok(r) => r,
            Err(e) => {
                list.push(e);
                continue;
            }
        };
        let at = container_at(view, &c);
        let shown = c.image.unwrap_or("");
        let digest = match supply.digest_of(&r, now) {
            Ok(d) => d,
            Err(e) => return Verdict::Error(format!("{at}: {e}")),
        };
        let scan = match supply.scan(gate, &digest, now) {
            Ok(s) => s,
            Err(e) => return Verdict::Error(format!("{at}: inventory: {e}")),
        };
        let Some(scan) = scan else {
            if gate.require_scanned {
                list.push(format!(
                    "{at}: image {shown:?} ({digest}) was never scanned (absent from the inventory {})",
                    gate.inventory.display()
                ));
            }
            continue;
        };
        if let Some(max_age) = gate.max_age {
            let age = scan
                .matched_at
                .parse::<jiff::Timestamp>()
                .ok()
                .and_then(|t| jiff::Timestamp::now().duration_since(t).try_into().ok());
            let fresh = age.is_some_and(|a: std::time::Duration| a <= max_age);
            if !fresh {
                list.push(format!(
                    "{at}: image {shown:?} ({digest}) was last scanned at {}, more than {} days ago",
                    scan.matched_at,
                    max_age.as_secs() / 86_400
                ));
            }
        }
        let bad: Vec<String> = scan
            .findings
            .iter()
            .filter(|(_, _, s)| *s >= gate.severity)
            .map(|(id, purl, s)| format!("{id} ({s}) in {purl}"))
            .collect();
        if !bad.is_empty() {
            list.push(format!(
                "{at}: image {shown:?} ({digest}) has {} finding(s) at or above {}: {}",
                bad.len(),
                gate.severity,
                bad.join(", ")
            ));
        }
    }
    Verdict::from_list(list)
}
