//! Applying a trust policy to one image: the rule that matches it decides which keys must have
//! signed it, which attestations must exist and which annotations the signature must carry.
//! `rampart verify --policy` and the admission webhook both decide through [`TrustPolicy::check`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rampart_image::Digest;
use rampart_registry::{Client, Reference};

use crate::cosign::{self, CosignError};
use crate::keys::PublicKey;
use crate::policy::{Policy, PolicyError, Requirement};

/// A policy with its keys loaded (once, so checking many images reads no files).
#[derive(Debug, Clone)]
pub struct TrustPolicy {
    /// The policy.
    pub policy: Policy,
    keys: BTreeMap<PathBuf, PublicKey>,
}

/// The outcome of checking one image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A rule matched and everything it requires verified.
    Verified {
        /// The digest verified (the registry's manifest for the image).
        digest: Digest,
        /// The key whose signature verified.
        key: PathBuf,
        /// The rule (0-based).
        rule: usize,
        /// Predicate types of the attestations the rule required, all verified.
        attestations: Vec<String>,
    },
    /// A rule matched that exempts the image from signing (`allow-unsigned`).
    Exempt {
        /// The rule (0-based).
        rule: usize,
    },
    /// No rule matched and the policy's default allows.
    AllowedByDefault,
    /// Refused: unmatched (fail closed), or the rule's requirements are not met.
    Refused {
        /// Why, for a human.
        reason: String,
        /// True when the cause is that nothing was found (no signature / no attestation), as
        /// opposed to something found and invalid (wrong key, tampering).
        none_found: bool,
    },
}

impl Verdict {
    /// Whether the image may be used.
    pub fn allowed(&self) -> bool {
        !matches!(self, Verdict::Refused { .. })
    }
}

impl TrustPolicy {
    /// Loads the policy and every key it names; an unreadable or unsupported key is an error
    /// naming the key file.
    pub fn load(path: &Path) -> Result<Self, PolicyError> {
        Self::new(Policy::load(path)?)
    }

    /// Loads the keys of an already parsed policy.
    pub fn new(policy: Policy) -> Result<Self, PolicyError> {
        let mut keys = BTreeMap::new();
        for file in policy.rules.iter().flat_map(|r| r.keys.iter()) {
            if keys.contains_key(file) {
                continue;
            }
            let invalid = |message: String| PolicyError::Invalid {
                path: policy.path.display().to_string(),
                message: format!("key {}: {message}", file.display()),
            };
            let bytes = read_bounded(file).map_err(|e| invalid(e.to_string()))?;
            let pem = String::from_utf8(bytes).map_err(|_| invalid("not PEM text".into()))?;
            let key = PublicKey::from_pem(&pem).map_err(|e| invalid(e.to_string()))?;
            keys.insert(file.clone(), key);
        }
        Ok(Self { policy, keys })
    }

    /// Checks `image` against the policy, reading signatures from `store` when given
    /// (`COSIGN_REPOSITORY`). Errors are transport or storage failures (the registry could not
    /// be asked); every policy outcome, including tampering, is a [`Verdict`]. The verdict is
    /// [`TrustPolicy::check_each`]'s requirements folded: the first required attestation that
    /// failed, else the signature.
    pub fn check(
        &self,
        client: &Client,
        image: &Reference,
        store: Option<&Reference>,
    ) -> Result<Verdict, CosignError> {
        let checks = self.requirements(client, image, store, true)?;
        let (rule, signature) = match checks {
            Checks::Decided(verdict) => return Ok(verdict),
            Checks::Required {
                rule,
                attestations,
                signature,
            } => {
                if let Some((_, Outcome::Refused { reason, none_found })) = attestations
                    .into_iter()
                    .find(|(_, o)| matches!(o, Outcome::Refused { .. }))
                {
                    return Ok(Verdict::Refused { reason, none_found });
                }
                (rule, signature)
            }
        };
        Ok(match signature {
            None => Verdict::Refused {
                reason: String::from("the signature was not checked"),
                none_found: false,
            },
            Some(Outcome::Verified { digest, key }) => Verdict::Verified {
                digest,
                key,
                rule,
                attestations: self
                    .policy
                    .rules
                    .get(rule)
                    .map(|r| r.attestations.clone())
                    .unwrap_or_default(),
            },
            Some(Outcome::Refused { reason, none_found }) => {
                Verdict::Refused { reason, none_found }
            }
        })
    }

    /// The predicate of a `predicate_type` attestation on `image` (pinned by digest) verified
    /// with a key of the rule that matches it: `Ok(None)` when no rule with keys matches or no
    /// such attestation verifies, `Err` when the registry could not be asked.
    pub fn attested_predicate(
        &self,
        client: &Client,
        image: &Reference,
        predicate_type: &str,
    ) -> Result<Option<serde_json::Value>, CosignError> {
        let Requirement::Rule(rule) = self.policy.requirement(image.registry(), image.path())
        else {
            return Ok(None);
        };
        for key in rule.keys.iter().filter_map(|k| self.keys.get(k)) {
            match cosign::verify_attestations(client, image, None, key, Some(predicate_type)) {
                Ok((_, verified)) => {
                    if let Some(v) = verified.into_iter().next() {
                        return Ok(Some(v.statement.predicate));
                    }
                }
                Err(e) if is_transport(&e) => return Err(e),
                Err(_) => {}
            }
        }
        Ok(None)
    }

    /// Checks each requirement the matching rule places on `image` on its own: every required
    /// attestation, then the signature (the scan reports each as a control). A policy outcome
    /// that needs no registry (unmatched, exempt, allowed by default, a rule without a key) is
    /// [`Checks::Decided`]. Errors are transport or storage failures.
    pub fn check_each(
        &self,
        client: &Client,
        image: &Reference,
        store: Option<&Reference>,
    ) -> Result<Checks, CosignError> {
        self.requirements(client, image, store, false)
    }

    /// The requirements checked; with `first_failure`, it stops at the first attestation that
    /// fails (the signature is then not checked), as a verdict needs no more.
    fn requirements(
        &self,
        client: &Client,
        image: &Reference,
        store: Option<&Reference>,
        first_failure: bool,
    ) -> Result<Checks, CosignError> {
        let rule = match self.policy.requirement(image.registry(), image.path()) {
            Requirement::Rule(rule) => rule,
            Requirement::AllowedByDefault => {
                return Ok(Checks::Decided(Verdict::AllowedByDefault));
            }
            Requirement::Unmatched => {
                return Ok(Checks::Decided(Verdict::Refused {
                    reason: format!(
                        "no rule of {} matches {}/{}, and the policy refuses unmatched images",
                        self.policy.path.display(),
                        image.registry(),
                        image.path()
                    ),
                    none_found: false,
                }));
            }
        };
        if rule.allow_unsigned {
            return Ok(Checks::Decided(Verdict::Exempt { rule: rule.index }));
        }
        let keys: Vec<(&PathBuf, &PublicKey)> = rule
            .keys
            .iter()
            .filter_map(|k| self.keys.get(k).map(|v| (k, v)))
            .collect();
        let rule_name = format!("{} rule #{}", self.policy.path.display(), rule.index + 1);
        if keys.is_empty() {
            return Ok(Checks::Decided(Verdict::Refused {
                reason: format!("{rule_name} names no key"),
                none_found: false,
            }));
        }
        // Each required attestation must verify with one of the rule's keys.
        let mut attestations = Vec::new();
        for want in &rule.attestations {
            let mut failure = None;
            let mut verified = None;
            for (path, key) in &keys {
                match cosign::verify_attestations(client, image, store, key, Some(want)) {
                    Ok((digest, _)) => {
                        failure = None;
                        verified = Some(Outcome::Verified {
                            digest,
                            key: (*path).clone(),
                        });
                        break;
                    }
                    Err(e) if is_transport(&e) => return Err(e),
                    Err(e) => failure = Some(e),
                }
            }
            let outcome = match (verified, failure) {
                (Some(v), _) => v,
                (None, Some(e)) => Outcome::Refused {
                    reason: format!("{rule_name} requires a {want} attestation: {e}"),
                    none_found: matches!(e, CosignError::NoAttestation { .. }),
                },
                (None, None) => Outcome::Refused {
                    reason: format!("{rule_name}: no key to verify with"),
                    none_found: false,
                },
            };
            let failed = !outcome.verified();
            attestations.push((want.clone(), outcome));
            if failed && first_failure {
                return Ok(Checks::Required {
                    rule: rule.index,
                    attestations,
                    signature: None,
                });
            }
        }
        // A valid signature by any one key, carrying the rule's annotations.
        let mut failure = None;
        for (path, key) in &keys {
            match cosign::verify(client, image, store, key, &rule.annotations) {
                Ok((digest, _)) => {
                    return Ok(Checks::Required {
                        rule: rule.index,
                        attestations,
                        signature: Some(Outcome::Verified {
                            digest,
                            key: (*path).clone(),
                        }),
                    });
                }
                Err(e) if is_transport(&e) => return Err(e),
                // Something found but invalid says more than "none" from another key.
                Err(e) => {
                    if failure
                        .as_ref()
                        .is_none_or(|(f, _)| matches!(f, CosignError::NoSignature { .. }))
                    {
                        failure = Some((e, path));
                    }
                }
            }
        }
        let (reason, none_found) = match failure {
            Some((e @ CosignError::NoSignature { .. }, _)) => (e.to_string(), true),
            Some((e, key)) => (format!("{e} (key {})", key.display()), false),
            None => (String::from("no key to verify with"), false),
        };
        Ok(Checks::Required {
            rule: rule.index,
            attestations,
            signature: Some(Outcome::Refused {
                none_found,
                reason: format!("{rule_name}: {reason}"),
            }),
        })
    }
}

/// One requirement of a rule, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Verified on the digest the registry serves, with this key.
    Verified {
        /// The digest verified.
        digest: Digest,
        /// The key file whose signature verified.
        key: PathBuf,
    },
    /// Not met: nothing found (`none_found`), or found and invalid (wrong key, tampering).
    Refused {
        /// Why, for a human.
        reason: String,
        /// True when nothing was found.
        none_found: bool,
    },
}

impl Outcome {
    /// Whether the requirement is met.
    pub fn verified(&self) -> bool {
        matches!(self, Outcome::Verified { .. })
    }
}

/// Each requirement of the rule matching an image (see [`TrustPolicy::check_each`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checks {
    /// Decided without checking a signature: unmatched, exempt, allowed by default, or a rule
    /// that names no key.
    Decided(Verdict),
    /// The rule's requirements, each checked.
    Required {
        /// The rule (0-based).
        rule: usize,
        /// Each required attestation's predicate type and outcome, in the rule's order.
        attestations: Vec<(String, Outcome)>,
        /// The signature's outcome (always checked by [`TrustPolicy::check_each`]).
        signature: Option<Outcome>,
    },
}

/// Errors that mean the registry could not be asked (as opposed to a verdict).
pub fn is_transport(e: &CosignError) -> bool {
    matches!(e, CosignError::Oci(_) | CosignError::Layout { .. })
}

fn read_bounded(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::new();
    std::fs::File::open(path)?
        .take(crate::keys::MAX_PEM_LEN as u64)
        .read_to_end(&mut out)?;
    Ok(out)
}
