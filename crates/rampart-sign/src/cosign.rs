//! Signing and verifying images on a registry, as `cosign sign --key` and `cosign verify --key`
//! do: resolve the image to its digest, sign the simple-signing payload that names it, append
//! the signature to the `.sig` manifest of that digest; verify by reading that manifest back
//! and checking every signature against the digest the registry serves for the image now.

use std::collections::BTreeMap;

use rampart_image::Digest;
use rampart_registry::{Client, Reference};

use crate::keys::{PrivateKey, PublicKey};
use crate::oci::{self, Attached, OciError};
use crate::signature::{
    LayoutError, SignatureLayer, Signer, SimpleSigning, Verified, Verifier, VerifyError,
    append_layer, read_signature_layers,
};

impl Signer for PrivateKey {
    fn sign(&self, message: &[u8]) -> Vec<u8> {
        PrivateKey::sign(self, message)
    }
}

impl Verifier for PublicKey {
    fn verify(&self, message: &[u8], der_signature: &[u8]) -> Result<(), String> {
        PublicKey::verify(self, message, der_signature).map_err(|e| e.to_string())
    }
}

/// A signing or verification failure.
#[derive(Debug, thiserror::Error)]
pub enum CosignError {
    /// The registry or the stored objects.
    #[error(transparent)]
    Oci(#[from] OciError),
    /// A stored manifest that is not cosign's layout.
    #[error("signature manifest {tag}: {source}")]
    Layout {
        /// The tag.
        tag: String,
        /// The cause.
        source: Box<LayoutError>,
    },
    /// No signature is attached to the image digest.
    #[error("no signature found for {image}@{digest}")]
    NoSignature {
        /// The image as named.
        image: String,
        /// Its digest.
        digest: String,
    },
    /// No attestation is attached to the image digest.
    #[error("no attestation found for {image}@{digest}")]
    NoAttestation {
        /// The image as named.
        image: String,
        /// Its digest.
        digest: String,
    },
    /// Attestations exist but none is valid for this key, image and predicate type.
    #[error("{image}@{digest}: {source}")]
    InvalidAttestation {
        /// The image as named.
        image: String,
        /// Its digest.
        digest: String,
        /// Why the best attestation failed.
        source: Box<crate::dsse::AttError>,
    },
    /// The predicate could not be made into a statement.
    #[error("predicate: {0}")]
    Predicate(Box<crate::dsse::AttError>),
    /// The registry served, for the image, a manifest whose bytes do not hash to the digest it
    /// was asked by or announced: a tampered or broken registry. Nothing is verified.
    #[error(
        "{image}: the registry served a manifest that is not the one it names (expected {expected}, the bytes hash to {found}); refusing to verify"
    )]
    Tampered {
        /// The image as named.
        image: String,
        /// The digest asked for or announced by the registry.
        expected: String,
        /// The digest of the bytes served.
        found: String,
    },
    /// Signatures exist but none is valid for this key and image.
    #[error("{image}@{digest}: {source}")]
    Invalid {
        /// The image as named.
        image: String,
        /// Its digest.
        digest: String,
        /// Why the best signature failed.
        source: Box<VerifyError>,
    },
}

/// What `sign` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// The image digest signed.
    pub digest: String,
    /// The signature manifest's tag.
    pub tag: String,
    /// Whether an identical signature was already there (nothing pushed).
    pub already_there: bool,
}

/// The image's digest as the registry serves it; a manifest that does not hash to the digest
/// asked for (or announced in `Docker-Content-Digest`) is [`CosignError::Tampered`].
fn resolve(client: &Client, image: &Reference) -> Result<Digest, CosignError> {
    match oci::resolve(client, image) {
        Err(OciError::Registry(e)) => match *e {
            rampart_registry::RegistryError::DigestMismatch {
                expected, found, ..
            } => Err(CosignError::Tampered {
                image: image.to_string(),
                expected,
                found,
            }),
            other => Err(OciError::Registry(Box::new(other)).into()),
        },
        other => Ok(other?),
    }
}

/// The environment variable cosign reads for a repository that holds signatures and
/// attestations apart from the images (`registry/repository`).
pub const REPOSITORY_ENV: &str = "COSIGN_REPOSITORY";

/// The repository named by `$COSIGN_REPOSITORY`, if set and not empty.
pub fn store_from_env() -> Result<Option<Reference>, rampart_registry::ReferenceError> {
    match std::env::var(REPOSITORY_ENV) {
        Ok(v) if !v.trim().is_empty() => Reference::parse(v.trim()).map(Some),
        _ => Ok(None),
    }
}

/// The image as named, less its digest (errors add the digest verified).
fn without_digest(image: &Reference) -> String {
    match image.tag() {
        Some(tag) => format!("{}:{tag}", image.repository()),
        None => image.repository().to_string(),
    }
}

/// The `docker-reference` cosign writes: `registry/repository` (no tag or digest).
fn docker_reference(image: &Reference) -> String {
    format!("{}/{}", image.registry(), image.path())
}

/// Signs `image` (a tag is resolved to its digest first) with `key`; `annotations` go into the
/// signed payload's `optional` section. The signature is stored in `store` when given (cosign's
/// `COSIGN_REPOSITORY`), else in the image's repository.
pub fn sign(
    client: &Client,
    image: &Reference,
    store: Option<&Reference>,
    key: &PrivateKey,
    annotations: &BTreeMap<String, String>,
) -> Result<Signed, CosignError> {
    let digest = resolve(client, image)?;
    let optional = (!annotations.is_empty()).then(|| annotations.clone());
    let payload = SimpleSigning::new(docker_reference(image), digest.to_string(), optional);
    let layer = SignatureLayer::sign(payload.to_bytes(), key);
    attach(
        client,
        store.unwrap_or(image),
        &digest,
        Attached::Signature,
        &layer.to_layer(),
    )
}

/// Appends `layer` to the `kind` manifest of `digest` in the `store` repository (creating it
/// when there is none) and pushes what is new; an identical layer already there is left alone.
fn attach(
    client: &Client,
    store: &Reference,
    digest: &Digest,
    kind: Attached,
    layer: &crate::signature::Layer,
) -> Result<Signed, CosignError> {
    let tag = oci::attached_tag(digest, kind);
    let built = match oci::fetch(client, store, digest, kind)? {
        Some(existing) => {
            append_layer(&existing.bytes, layer).map_err(|source| CosignError::Layout {
                tag: tag.clone(),
                source: Box::new(source),
            })?
        }
        None => Some(crate::signature::build_manifest(std::slice::from_ref(
            layer,
        ))),
    };
    let Some(built) = built else {
        return Ok(Signed {
            digest: digest.to_string(),
            tag,
            already_there: true,
        });
    };
    let mut blobs: Vec<&[u8]> = vec![&built.config.data];
    blobs.extend(built.layers.iter().map(|b| b.data.as_slice()));
    oci::push(client, store, digest, kind, &built.manifest, &blobs)?;
    Ok(Signed {
        digest: digest.to_string(),
        tag,
        already_there: false,
    })
}

/// The DSSE envelopes of the Sigstore bundles that refer to `digest` (cosign v3), split into
/// image signatures (statement type [`crate::dsse::COSIGN_SIGN_PREDICATE`], as read before
/// verification) and attestations; each with its referrer manifest's digest. Bundles without an
/// envelope (a `messageSignature` signs a blob, not an image) are left out.
type BundleEnvelopes = Vec<(String, crate::dsse::Envelope)>;

fn bundle_envelopes(
    client: &Client,
    store: &Reference,
    digest: &Digest,
) -> Result<(BundleEnvelopes, BundleEnvelopes), CosignError> {
    let (mut signatures, mut attestations) = (Vec::new(), Vec::new());
    for stored in oci::fetch_bundles(client, store, digest)? {
        let Ok(bundle) = crate::dsse::Bundle::parse(&stored.blob) else {
            continue;
        };
        let Some(envelope) = bundle.dsse_envelope.clone() else {
            continue;
        };
        let is_signature = bundle
            .statement()
            .is_ok_and(|s| s.predicate_type == crate::dsse::COSIGN_SIGN_PREDICATE);
        let entry = (stored.manifest_digest, envelope);
        if is_signature {
            signatures.push(entry);
        } else {
            attestations.push(entry);
        }
    }
    Ok((signatures, attestations))
}

/// Verifies `image` against `key`: at least one signature attached to the digest the registry
/// serves for `image` must be valid, name that digest, and carry `required` annotations. Both
/// layouts are read: the `.sig` tag (cosign v2, what rampart writes) and Sigstore bundles
/// referring to the digest (cosign v3). Annotations can only be required of `.sig` signatures
/// (a v3 bundle signature's statement has no place cosign puts them).
pub fn verify(
    client: &Client,
    image: &Reference,
    store: Option<&Reference>,
    key: &PublicKey,
    required: &BTreeMap<String, String>,
) -> Result<(Digest, Vec<Verified>), CosignError> {
    let digest = resolve(client, image)?;
    let store = store.unwrap_or(image);
    let shown = without_digest(image);
    let tag = oci::attached_tag(&digest, Attached::Signature);
    let legacy = oci::fetch(client, store, &digest, Attached::Signature)?;
    let (bundles, _) = bundle_envelopes(client, store, &digest)?;
    let mut failure = None;
    if let Some(stored) = legacy {
        let blobs = stored.blobs();
        let layers =
            read_signature_layers(&stored.bytes, &blobs).map_err(|source| CosignError::Layout {
                tag,
                source: Box::new(source),
            })?;
        match crate::signature::verify_signatures(&digest.to_string(), &layers, key, required) {
            Ok(v) => return Ok((digest, v)),
            Err(VerifyError::NoSignatures) => {}
            Err(e) => failure = Some(e),
        }
    }
    if !bundles.is_empty() && required.is_empty() {
        let envelopes: Vec<_> = bundles.iter().map(|(_, e)| e.clone()).collect();
        match crate::dsse::verify_attestations(
            &digest.to_string(),
            &envelopes,
            key,
            Some(crate::dsse::COSIGN_SIGN_PREDICATE),
        ) {
            Ok(good) => {
                let verified = good
                    .into_iter()
                    .map(|v| Verified {
                        layer: v.index,
                        payload: SimpleSigning::new(
                            v.statement
                                .subject
                                .first()
                                .map(|s| s.name.clone())
                                .unwrap_or_default(),
                            digest.to_string(),
                            None,
                        ),
                        bundle: bundles.get(v.index).map(|(d, _)| d.clone()),
                    })
                    .collect();
                return Ok((digest, verified));
            }
            Err(e) => {
                failure.get_or_insert(VerifyError::Bundle(e.to_string()));
            }
        }
    } else if !bundles.is_empty() {
        failure.get_or_insert(VerifyError::Bundle(
            "only sigstore bundle signatures were found, and annotations can only be required of `.sig` signatures".into(),
        ));
    }
    match failure {
        None => Err(CosignError::NoSignature {
            image: shown,
            digest: digest.to_string(),
        }),
        Some(source) => Err(CosignError::Invalid {
            image: shown,
            digest: digest.to_string(),
            source: Box::new(source),
        }),
    }
}

/// Attests `image` (a tag is resolved to its digest first): an in-toto statement about the
/// digest with the predicate read from `predicate` (its kind as cosign's `--type`), signed in a
/// DSSE envelope and appended to the `.att` manifest of the digest.
pub fn attest(
    client: &Client,
    image: &Reference,
    store: Option<&Reference>,
    key: &PrivateKey,
    kind: crate::dsse::PredicateKind,
    predicate: &[u8],
    timestamp: &str,
) -> Result<Signed, CosignError> {
    use crate::dsse::{Envelope, Statement};
    let digest = resolve(client, image)?;
    let statement = Statement::for_predicate(
        docker_reference(image),
        &digest.to_string(),
        kind,
        predicate,
        timestamp,
    )
    .map_err(|e| CosignError::Predicate(Box::new(e)))?;
    let envelope = Envelope::sign_statement(&statement, key);
    let layer = envelope.to_layer(kind.uri());
    attach(
        client,
        store.unwrap_or(image),
        &digest,
        Attached::Attestation,
        &layer,
    )
}

/// Verifies the attestations of `image` against `key`: at least one envelope attached to the
/// digest the registry serves must verify, be about that digest and (if given) have
/// `predicate_type` (a URI or a cosign `--type` name). Envelopes are read from the `.att` tag
/// and from Sigstore bundles referring to the digest (cosign v3).
pub fn verify_attestations(
    client: &Client,
    image: &Reference,
    store: Option<&Reference>,
    key: &PublicKey,
    predicate_type: Option<&str>,
) -> Result<(Digest, Vec<crate::dsse::VerifiedStatement>), CosignError> {
    use crate::dsse::AttError;
    let digest = resolve(client, image)?;
    let store = store.unwrap_or(image);
    let shown = without_digest(image);
    let invalid = |source| CosignError::InvalidAttestation {
        image: shown.clone(),
        digest: digest.to_string(),
        source: Box::new(source),
    };
    let mut envelopes = Vec::new();
    if let Some(stored) = oci::fetch(client, store, &digest, Attached::Attestation)? {
        let blobs = stored.blobs();
        envelopes = crate::dsse::read_attestation_layers(&stored.bytes, &blobs).map_err(invalid)?;
    }
    let (_, bundles) = bundle_envelopes(client, store, &digest)?;
    envelopes.extend(bundles.into_iter().map(|(_, e)| e));
    match crate::dsse::verify_attestations(&digest.to_string(), &envelopes, key, predicate_type) {
        Ok(v) => Ok((digest, v)),
        Err(AttError::NoAttestations) => Err(CosignError::NoAttestation {
            image: shown.clone(),
            digest: digest.to_string(),
        }),
        Err(source) => Err(invalid(source)),
    }
}
