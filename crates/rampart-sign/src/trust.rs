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
    /// be asked); every policy outcome, including tampering, is a [`Verdict`].
    pub fn check(
        &self,
        client: &Client,
        image: &Reference,
        store: Option<&Reference>,
    ) -> Result<Verdict, CosignError> {
        let rule = match self.policy.requirement(image.registry(), image.path()) {
            Requirement::Rule(rule) => rule,
            Requirement::AllowedByDefault => return Ok(Verdict::AllowedByDefault),
            Requirement::Unmatched => {
                return Ok(Verdict::Refused {
                    reason: format!(
                        "no rule of {} matches {}/{}, and the policy refuses unmatched images",
                        self.policy.path.display(),
                        image.registry(),
                        image.path()
                    ),
                    none_found: false,
                });
            }
        };
        if rule.allow_unsigned {
            return Ok(Verdict::Exempt { rule: rule.index });
        }
        let keys: Vec<(&PathBuf, &PublicKey)> = rule
            .keys
            .iter()
            .filter_map(|k| self.keys.get(k).map(|v| (k, v)))
            .collect();
        let rule_name = format!("{} rule #{}", self.policy.path.display(), rule.index + 1);
        if keys.is_empty() {
            return Ok(Verdict::Refused {
                reason: format!("{rule_name} names no key"),
                none_found: false,
            });
        }
        // Each required attestation must verify with one of the rule's keys.
        for want in &rule.attestations {
            let mut failure = None;
            for (_, key) in &keys {
                match cosign::verify_attestations(client, image, store, key, Some(want)) {
                    Ok(_) => {
                        failure = None;
                        break;
                    }
                    Err(e) if is_transport(&e) => return Err(e),
                    Err(e) => failure = Some(e),
                }
            }
            if let Some(e) = failure {
                return Ok(Verdict::Refused {
                    reason: format!("{rule_name} requires a {want} attestation: {e}"),
                    none_found: matches!(e, CosignError::NoAttestation { .. }),
                });
            }
        }
        // A valid signature by any one key, carrying the rule's annotations.
        let mut failure = None;
        for (path, key) in &keys {
            match cosign::verify(client, image, store, key, &rule.annotations) {
                Ok((digest, _)) => {
                    return Ok(Verdict::Verified {
                        digest,
                        key: (*path).clone(),
                        rule: rule.index,
                        attestations: rule.attestations.clone(),
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
        Ok(Verdict::Refused {
            none_found,
            reason: format!("{rule_name}: {reason}"),
        })
    }
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
