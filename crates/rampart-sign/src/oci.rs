//! Signatures and attestations on the registry, as cosign stores them: an OCI manifest under
//! the tag `sha256-<hex>.sig` (`.att` for attestations) in the image's repository, one layer
//! per signature, the signed payload as the layer's blob. This module moves those objects; the
//! formats are built and checked by [`crate::signature`] and [`crate::dsse`].

use std::collections::BTreeMap;

use rampart_image::Digest;
use rampart_registry::{Client, Reference, RegistryError};
use serde::Deserialize;

/// The most bytes read for one attached blob (a signature payload is a few hundred bytes; an
/// attestation carries an SBOM, which can be large).
pub const MAX_ATTACHED_BLOB: u64 = 64 * 1024 * 1024;

/// Which kind of object is attached to an image digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attached {
    /// `.sig`: simple-signing signatures.
    Signature,
    /// `.att`: DSSE attestations.
    Attestation,
}

impl Attached {
    fn suffix(self) -> &'static str {
        match self {
            Self::Signature => "sig",
            Self::Attestation => "att",
        }
    }
}

/// The tag cosign stores `kind` for the image `digest` under: `sha256-<hex>.sig`.
pub fn attached_tag(digest: &Digest, kind: Attached) -> String {
    format!(
        "{}.{}",
        digest.to_string().replacen(':', "-", 1),
        kind.suffix()
    )
}

/// One layer of an attached manifest, with its blob (digest verified).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLayer {
    /// The layer's media type.
    pub media_type: String,
    /// The blob's digest.
    pub digest: String,
    /// The layer's annotations (the signature, the predicate type...).
    pub annotations: BTreeMap<String, String>,
    /// The blob (the signed payload, or the DSSE envelope).
    pub blob: Vec<u8>,
}

/// An attached manifest as fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredManifest {
    /// The manifest bytes.
    pub bytes: Vec<u8>,
    /// Its digest.
    pub digest: String,
    /// Its layers, in order.
    pub layers: Vec<StoredLayer>,
}

impl StoredManifest {
    /// The layers' blobs by digest, as the layout readers take them.
    pub fn blobs(&self) -> BTreeMap<String, Vec<u8>> {
        self.layers
            .iter()
            .map(|l| (l.digest.clone(), l.blob.clone()))
            .collect()
    }
}

/// A transport failure (distinct from "nothing attached").
#[derive(Debug, thiserror::Error)]
pub enum OciError {
    /// The registry failed.
    #[error(transparent)]
    Registry(Box<RegistryError>),
    /// The attached manifest is not what cosign writes.
    #[error("{tag}: {problem}")]
    Malformed {
        /// The tag.
        tag: String,
        /// What is wrong.
        problem: String,
    },
}

impl From<RegistryError> for OciError {
    fn from(e: RegistryError) -> Self {
        Self::Registry(Box::new(e))
    }
}

/// The image's manifest digest: a tag is resolved; a digest reference is fetched so the
/// registry's answer is verified against it.
pub fn resolve(client: &Client, reference: &Reference) -> Result<Digest, OciError> {
    let d = client.resolve(reference)?;
    Digest::parse(&d.digest).map_err(|e| OciError::Malformed {
        tag: reference.manifest_key(),
        problem: format!("the registry's digest does not parse: {e}"),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawManifest {
    #[serde(default)]
    layers: Vec<RawDescriptor>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawDescriptor {
    media_type: String,
    digest: String,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

/// The `kind` objects attached to `digest` in `repo`'s repository: `None` when there are none
/// (no such tag), never an error for that.
pub fn fetch(
    client: &Client,
    repo: &Reference,
    digest: &Digest,
    kind: Attached,
) -> Result<Option<StoredManifest>, OciError> {
    let tag = attached_tag(digest, kind);
    let reference = repo.with_tag(&tag).map_err(RegistryError::from)?;
    let manifest = match client.fetch_manifest(&reference) {
        Ok(m) => m,
        Err(RegistryError::Status { status: 404, .. }) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let raw: RawManifest =
        serde_json::from_slice(&manifest.bytes).map_err(|e| OciError::Malformed {
            tag: tag.clone(),
            problem: format!("not an OCI manifest: {e}"),
        })?;
    let mut layers = Vec::with_capacity(raw.layers.len());
    for l in raw.layers {
        let d = Digest::parse(&l.digest).map_err(|e| OciError::Malformed {
            tag: tag.clone(),
            problem: format!("layer digest {:?}: {e}", l.digest),
        })?;
        // Verified against its digest by the client.
        let blob = client.fetch_blob(reference.repository(), &d, MAX_ATTACHED_BLOB)?;
        layers.push(StoredLayer {
            media_type: l.media_type,
            digest: l.digest,
            annotations: l.annotations,
            blob,
        });
    }
    Ok(Some(StoredManifest {
        bytes: manifest.bytes,
        digest: manifest.descriptor.digest,
        layers,
    }))
}

/// Uploads the blobs, then the manifest under the `kind` tag of `digest` in `repo`'s
/// repository; returns the manifest's digest.
pub fn push(
    client: &Client,
    repo: &Reference,
    digest: &Digest,
    kind: Attached,
    manifest: &[u8],
    blobs: &[&[u8]],
) -> Result<Digest, OciError> {
    let tag = attached_tag(digest, kind);
    let reference = repo.with_tag(&tag).map_err(RegistryError::from)?;
    for blob in blobs {
        let d = Digest::sha256_of(blob);
        let mut reader: &[u8] = blob;
        client.push_blob(reference.repository(), &d, blob.len() as u64, &mut reader)?;
    }
    Ok(client.push_manifest(
        &reference,
        crate::signature::OCI_MANIFEST_MEDIA_TYPE,
        manifest,
    )?)
}

/// The most referrers considered for one image.
pub const MAX_REFERRERS: usize = 1024;

/// Artifact type prefix of Sigstore bundles pushed as OCI referrers (cosign v3's default).
pub const BUNDLE_ARTIFACT_PREFIX: &str = "application/vnd.dev.sigstore.bundle";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawIndex {
    #[serde(default)]
    manifests: Vec<RawReferrer>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawReferrer {
    digest: String,
    #[serde(default)]
    artifact_type: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawArtifact {
    #[serde(default)]
    artifact_type: Option<String>,
    #[serde(default)]
    subject: Option<RawSubject>,
    #[serde(default)]
    layers: Vec<RawDescriptor>,
}

#[derive(Deserialize)]
struct RawSubject {
    digest: String,
}

/// A Sigstore bundle attached to an image as an OCI referrer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBundle {
    /// The referrer manifest's digest.
    pub manifest_digest: String,
    /// The bundle blob (digest verified).
    pub blob: Vec<u8>,
}

/// The Sigstore bundles that refer to `digest` in `store`'s repository (cosign v3 pushes
/// signatures and attestations this way): through the referrers API or its fallback tag.
/// Referrers of other artifact types are ignored; one whose manifest names another subject, or
/// has no bundle layer, is skipped (it says nothing about this image).
pub fn fetch_bundles(
    client: &Client,
    store: &Reference,
    digest: &Digest,
) -> Result<Vec<StoredBundle>, OciError> {
    let what = || format!("referrers of {digest}");
    let Some(index) = client.referrers(store.repository(), digest)? else {
        return Ok(Vec::new());
    };
    let index: RawIndex = serde_json::from_slice(&index).map_err(|e| OciError::Malformed {
        tag: what(),
        problem: format!("not an OCI image index: {e}"),
    })?;
    let mut out = Vec::new();
    for r in index.manifests.into_iter().take(MAX_REFERRERS) {
        if !r
            .artifact_type
            .as_deref()
            .is_some_and(|t| t.starts_with(BUNDLE_ARTIFACT_PREFIX))
        {
            continue;
        }
        let reference = Reference::parse(&format!("{}@{}", store.repository(), r.digest))
            .map_err(RegistryError::from)?;
        let manifest = client.fetch_manifest(&reference)?;
        let Ok(artifact) = serde_json::from_slice::<RawArtifact>(&manifest.bytes) else {
            continue;
        };
        let about_this = artifact
            .subject
            .as_ref()
            .is_some_and(|s| s.digest == digest.to_string());
        let is_bundle = artifact
            .artifact_type
            .as_deref()
            .is_some_and(|t| t.starts_with(BUNDLE_ARTIFACT_PREFIX));
        let layer = artifact
            .layers
            .iter()
            .find(|l| l.media_type.starts_with(BUNDLE_ARTIFACT_PREFIX));
        let (true, true, Some(layer)) = (about_this, is_bundle, layer) else {
            continue;
        };
        let Ok(d) = Digest::parse(&layer.digest) else {
            continue;
        };
        let blob = client.fetch_blob(reference.repository(), &d, MAX_ATTACHED_BLOB)?;
        out.push(StoredBundle {
            manifest_digest: manifest.descriptor.digest,
            blob,
        });
    }
    Ok(out)
}
