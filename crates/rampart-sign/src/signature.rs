//! Cosign's simple-signing payload, the `.sig` manifest layout, and key-based verification.
//!
//! Pure functions: the registry client fetches and pushes the manifests and blobs built or read
//! here. The signature chain is `Sign(sha256(payload(sha256(manifest))))`: the signature covers
//! the payload bytes, and the payload names the image's manifest digest.

#![deny(clippy::indexing_slicing)]

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

/// Media type of a simple-signing payload layer in a `.sig` manifest.
pub const SIMPLESIGNING_MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// Layer annotation holding the standard base64 of the raw (DER) signature.
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
/// The `critical.type` of a cosign image signature.
pub const COSIGN_SIGNATURE_TYPE: &str = "cosign container image signature";
/// Media type of the signature manifest (an OCI image manifest).
pub const OCI_MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
/// Media type of the signature manifest's config blob.
pub const OCI_CONFIG_MEDIA_TYPE: &str = "application/vnd.oci.image.config.v1+json";

/// Largest simple-signing payload read (cosign's are a few hundred bytes).
pub const MAX_PAYLOAD_BYTES: usize = 1 << 20;
/// Largest signature or attestation manifest read.
pub const MAX_MANIFEST_BYTES: usize = 4 << 20;
/// Most layers (signatures or attestations) read from one manifest.
pub const MAX_LAYERS: usize = 1024;
/// Largest layer blob accepted when reading a manifest (attestations may carry SBOMs).
pub const MAX_LAYER_BYTES: u64 = 128 << 20;
/// Deepest JSON nesting accepted in a payload's `optional` section.
const MAX_OPTIONAL_DEPTH: usize = 32;

/// Signs a message: ECDSA (P-256 by default) over SHA-256(message), returning the ASN.1 DER
/// signature. Implemented by the key module, or by tests directly on `p256`.
pub trait Signer {
    /// The DER signature of `message`.
    fn sign(&self, message: &[u8]) -> Vec<u8>;
}

/// Verifies a DER signature over SHA-256(message) with a public key.
pub trait Verifier {
    /// `Ok` if `der_signature` is a valid signature of `message` under this key.
    fn verify(&self, message: &[u8], der_signature: &[u8]) -> Result<(), String>;
}

/// Why a simple-signing payload could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// Not JSON of the expected shape.
    #[error("malformed simple-signing payload: {0}")]
    Malformed(String),
    /// A key inside `critical` that this verifier does not understand.
    #[error("unknown critical field `{0}` in simple-signing payload")]
    UnknownCriticalField(String),
    /// `critical.type` is not `cosign container image signature`.
    #[error("wrong payload type: expected `{COSIGN_SIGNATURE_TYPE}`, found `{0}`")]
    WrongType(String),
}

/// The simple-signing payload cosign signs (containers-signature JSON with cosign's type).
#[derive(Debug, Clone, PartialEq)]
pub struct SimpleSigning {
    /// `critical.identity.docker-reference`: the repository signed (informational).
    pub docker_reference: String,
    /// `critical.image.docker-manifest-digest`: `sha256:<hex>` of the signed manifest.
    pub manifest_digest: String,
    /// `optional`: user annotations (`cosign sign -a k=v`), or `None` for JSON `null`.
    pub optional: Option<BTreeMap<String, Value>>,
}

impl SimpleSigning {
    /// A payload for `docker_reference` at `manifest_digest` with optional string annotations.
    pub fn new(
        docker_reference: impl Into<String>,
        manifest_digest: impl Into<String>,
        optional: Option<BTreeMap<String, String>>,
    ) -> Self {
        Self {
            docker_reference: docker_reference.into(),
            manifest_digest: manifest_digest.into(),
            optional: optional.map(|m| m.into_iter().map(|(k, v)| (k, Value::String(v))).collect()),
        }
    }

    /// The payload bytes exactly as cosign writes them: compact JSON, keys in cosign's order,
    /// `optional` sorted by key, and Go's escaping of `<`, `>`, `&`, U+2028 and U+2029.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Written by hand (not a derived struct) to pin cosign's key order and null/object form.
        let mut out = String::from(r#"{"critical":{"identity":{"docker-reference":"#);
        out.push_str(&json_string(&self.docker_reference));
        out.push_str(r#"},"image":{"docker-manifest-digest":"#);
        out.push_str(&json_string(&self.manifest_digest));
        out.push_str(r#"},"type":"#);
        out.push_str(&json_string(COSIGN_SIGNATURE_TYPE));
        out.push_str(r#"},"optional":"#);
        match &self.optional {
            None => out.push_str("null"),
            Some(map) => out.push_str(&go_escape(
                &serde_json::to_string(map).unwrap_or_else(|_| "null".into()),
            )),
        }
        out.push('}');
        out.into_bytes()
    }

    /// Reads a payload. Keys match case-insensitively (as Go's decoder does, and as the spec's
    /// `Docker-manifest-digest` example needs); unknown keys inside `critical` are rejected.
    pub fn parse(bytes: &[u8]) -> Result<Self, PayloadError> {
        if bytes.len() > MAX_PAYLOAD_BYTES {
            return Err(PayloadError::Malformed(format!(
                "payload is {} bytes, more than the limit of {MAX_PAYLOAD_BYTES}",
                bytes.len()
            )));
        }
        let value: Value = serde_json::from_slice(bytes)
            .map_err(|e| PayloadError::Malformed(format!("not JSON: {e}")))?;
        let top = as_object(&value, "payload")?;
        for key in top.keys() {
            let k = key.to_ascii_lowercase();
            if k != "critical" && k != "optional" {
                return Err(PayloadError::Malformed(format!(
                    "expected only `critical` and `optional` at the top level, found `{key}`"
                )));
            }
        }
        let critical = field(top, "critical", "payload")?
            .ok_or_else(|| PayloadError::Malformed("missing `critical`".into()))?;
        let critical = as_object(critical, "critical")?;
        for key in critical.keys() {
            let k = key.to_ascii_lowercase();
            if k != "identity" && k != "image" && k != "type" {
                return Err(PayloadError::UnknownCriticalField(format!(
                    "critical.{key}"
                )));
            }
        }
        let ty = required_string(critical, "type", "critical")?;
        if ty != COSIGN_SIGNATURE_TYPE {
            return Err(PayloadError::WrongType(ty.to_owned()));
        }
        let image = field(critical, "image", "critical")?
            .ok_or_else(|| PayloadError::Malformed("missing `critical.image`".into()))?;
        let image = as_object(image, "critical.image")?;
        only_keys(image, &["docker-manifest-digest"], "critical.image")?;
        let digest = required_string(image, "docker-manifest-digest", "critical.image")?;
        let docker_reference = match field(critical, "identity", "critical")? {
            None | Some(Value::Null) => String::new(),
            Some(identity) => {
                let identity = as_object(identity, "critical.identity")?;
                only_keys(identity, &["docker-reference"], "critical.identity")?;
                match field(identity, "docker-reference", "critical.identity")? {
                    None | Some(Value::Null) => String::new(),
                    Some(Value::String(s)) => s.clone(),
                    Some(other) => {
                        return Err(PayloadError::Malformed(format!(
                            "expected a string for `critical.identity.docker-reference`, found {}",
                            kind(other)
                        )));
                    }
                }
            }
        };
        let optional = match field(top, "optional", "payload")? {
            None | Some(Value::Null) => None,
            Some(Value::Object(map)) => {
                if depth(&Value::Object(map.clone())) > MAX_OPTIONAL_DEPTH {
                    return Err(PayloadError::Malformed(format!(
                        "`optional` nests deeper than {MAX_OPTIONAL_DEPTH} levels"
                    )));
                }
                Some(map.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            }
            Some(other) => {
                return Err(PayloadError::Malformed(format!(
                    "expected an object or null for `optional`, found {}",
                    kind(other)
                )));
            }
        };
        Ok(Self {
            docker_reference,
            manifest_digest: digest.to_owned(),
            optional,
        })
    }
}

fn json_string(s: &str) -> String {
    go_escape(&serde_json::to_string(s).unwrap_or_default())
}

/// Go's `encoding/json` escapes these for HTML safety; cosign's bytes carry them escaped. They
/// can only occur inside JSON strings, so replacing them in serialized JSON is safe.
fn go_escape(json: &str) -> String {
    json.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

fn depth(v: &Value) -> usize {
    // Iterative, so hostile nesting cannot overflow the stack here.
    let mut max = 0;
    let mut stack = vec![(v, 1usize)];
    while let Some((v, d)) = stack.pop() {
        max = max.max(d);
        match v {
            Value::Array(a) => stack.extend(a.iter().map(|x| (x, d + 1))),
            Value::Object(o) => stack.extend(o.values().map(|x| (x, d + 1))),
            _ => {}
        }
    }
    max
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn as_object<'a>(
    v: &'a Value,
    what: &str,
) -> Result<&'a serde_json::Map<String, Value>, PayloadError> {
    v.as_object().ok_or_else(|| {
        PayloadError::Malformed(format!(
            "expected an object for `{what}`, found {}",
            kind(v)
        ))
    })
}

/// The value under `key` compared case-insensitively; two keys differing only in case are
/// ambiguous and rejected.
fn field<'a>(
    map: &'a serde_json::Map<String, Value>,
    key: &str,
    within: &str,
) -> Result<Option<&'a Value>, PayloadError> {
    let mut found = None;
    for (k, v) in map {
        if k.eq_ignore_ascii_case(key) {
            if found.is_some() {
                return Err(PayloadError::Malformed(format!(
                    "`{within}` has `{key}` twice (keys differing only in case)"
                )));
            }
            found = Some(v);
        }
    }
    Ok(found)
}

fn required_string<'a>(
    map: &'a serde_json::Map<String, Value>,
    key: &str,
    within: &str,
) -> Result<&'a str, PayloadError> {
    match field(map, key, within)? {
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(PayloadError::Malformed(format!(
            "expected a string for `{within}.{key}`, found {}",
            kind(other)
        ))),
        None => Err(PayloadError::Malformed(format!("missing `{within}.{key}`"))),
    }
}

fn only_keys(
    map: &serde_json::Map<String, Value>,
    allowed: &[&str],
    within: &str,
) -> Result<(), PayloadError> {
    for key in map.keys() {
        if !allowed.iter().any(|a| a.eq_ignore_ascii_case(key)) {
            return Err(PayloadError::UnknownCriticalField(format!(
                "{within}.{key}"
            )));
        }
    }
    Ok(())
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let mut out = String::with_capacity(71);
    out.push_str("sha256:");
    for b in hash.iter() {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Whether `digest` is `sha256:` followed by 64 lowercase hex digits.
pub fn is_sha256_digest(digest: &str) -> bool {
    digest.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// Why a signature tag or manifest could not be built or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    /// The digest is not `sha256:<64 hex>`.
    #[error("expected a digest `sha256:<64 lowercase hex>`, found `{0}`")]
    BadDigest(String),
    /// The manifest JSON is not an OCI manifest of the expected shape.
    #[error("malformed signature manifest: {0}")]
    Malformed(String),
    /// A layer's media type is not the one expected for this kind of manifest.
    #[error("layer {index}: expected media type `{expected}`, found `{found}`")]
    WrongMediaType {
        /// Position of the layer in the manifest.
        index: usize,
        /// The media type required.
        expected: String,
        /// The media type found.
        found: String,
    },
    /// The caller has no blob for a layer's digest.
    #[error("layer {index}: blob {digest} was not given")]
    MissingBlob {
        /// Position of the layer in the manifest.
        index: usize,
        /// Digest named by the layer descriptor.
        digest: String,
    },
    /// A blob's bytes do not hash to, or are not the size of, its descriptor.
    #[error(
        "layer {index}: blob should be {expected} ({expected_size} bytes), found {found} ({found_size} bytes)"
    )]
    BlobMismatch {
        /// Position of the layer in the manifest.
        index: usize,
        /// Digest named by the descriptor.
        expected: String,
        /// Size named by the descriptor.
        expected_size: u64,
        /// Digest of the bytes given.
        found: String,
        /// Size of the bytes given.
        found_size: u64,
    },
}

/// The tag under which cosign stores signatures of `manifest_digest`: `sha256-<hex>.sig`.
pub fn signature_tag(manifest_digest: &str) -> Result<String, LayoutError> {
    tag(manifest_digest, "sig")
}

/// The tag under which cosign stores attestations of `manifest_digest`: `sha256-<hex>.att`.
pub fn attestation_tag(manifest_digest: &str) -> Result<String, LayoutError> {
    tag(manifest_digest, "att")
}

fn tag(manifest_digest: &str, suffix: &str) -> Result<String, LayoutError> {
    match manifest_digest.strip_prefix("sha256:") {
        Some(hex) if is_sha256_digest(manifest_digest) => Ok(format!("sha256-{hex}.{suffix}")),
        _ => Err(LayoutError::BadDigest(manifest_digest.to_owned())),
    }
}

/// One signature: the payload blob, its base64 signature, and the layer's other annotations
/// (certificate, bundle, ... ; the signature annotation itself is `signature_b64`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureLayer {
    /// The exact payload bytes that were signed (the layer blob).
    pub payload: Vec<u8>,
    /// Standard base64 (padded) of the DER signature.
    pub signature_b64: String,
    /// Other layer annotations.
    pub annotations: BTreeMap<String, String>,
}

impl SignatureLayer {
    /// Signs `payload` with `signer` (no other annotations).
    pub fn sign(payload: Vec<u8>, signer: &dyn Signer) -> Self {
        let signature_b64 = B64.encode(signer.sign(&payload));
        Self {
            payload,
            signature_b64,
            annotations: BTreeMap::new(),
        }
    }

    /// The generic layer (media type, blob, all annotations) this signature is stored as.
    pub fn to_layer(&self) -> Layer {
        let mut annotations = self.annotations.clone();
        annotations.insert(SIGNATURE_ANNOTATION.to_owned(), self.signature_b64.clone());
        Layer {
            media_type: SIMPLESIGNING_MEDIA_TYPE.to_owned(),
            blob: self.payload.clone(),
            annotations,
        }
    }
}

/// A layer of a `.sig` or `.att` manifest: media type, blob bytes and annotations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    /// The descriptor's media type.
    pub media_type: String,
    /// The blob's bytes.
    pub blob: Vec<u8>,
    /// The descriptor's annotations.
    pub annotations: BTreeMap<String, String>,
}

/// An OCI content descriptor as it appears in a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Descriptor {
    /// Media type of the referenced content.
    #[serde(rename = "mediaType")]
    pub media_type: String,
    /// Size in bytes.
    pub size: u64,
    /// `sha256:<hex>` of the content.
    pub digest: String,
    /// Annotations, omitted when empty.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

#[derive(Serialize, Deserialize)]
struct ManifestJson {
    #[serde(rename = "schemaVersion")]
    schema_version: u32,
    #[serde(rename = "mediaType", default, skip_serializing_if = "Option::is_none")]
    media_type: Option<String>,
    config: Descriptor,
    layers: Vec<Descriptor>,
}

/// A blob to push: bytes with their digest and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    /// `sha256:<hex>` of `data`.
    pub digest: String,
    /// Length of `data`.
    pub size: u64,
    /// The bytes.
    pub data: Vec<u8>,
}

impl Blob {
    /// A blob of `data` with its digest computed.
    pub fn new(data: Vec<u8>) -> Self {
        Self {
            digest: sha256_digest(&data),
            size: data.len() as u64,
            data,
        }
    }
}

/// A built signature (or attestation) manifest and the blobs to push before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltManifest {
    /// The manifest JSON, to push with media type [`OCI_MANIFEST_MEDIA_TYPE`].
    pub manifest: Vec<u8>,
    /// `sha256:<hex>` of `manifest`.
    pub manifest_digest: String,
    /// The config blob.
    pub config: Blob,
    /// Layer blobs to push (for an append, only the new one).
    pub layers: Vec<Blob>,
}

/// The config blob as cosign (go-containerregistry's `empty.Image` plus appended static layers)
/// writes it: zero timestamps, one history entry and one diff id per layer.
fn config_blob(layer_digests: &[&str]) -> Vec<u8> {
    let history = vec![r#"{"created":"0001-01-01T00:00:00Z"}"#; layer_digests.len()].join(",");
    let diff_ids = layer_digests
        .iter()
        .map(|d| json_string(d))
        .collect::<Vec<_>>()
        .join(",");
    let history = if layer_digests.is_empty() {
        String::new()
    } else {
        format!(r#""history":[{history}],"#)
    };
    format!(
        r#"{{"architecture":"","created":"0001-01-01T00:00:00Z",{history}"os":"","rootfs":{{"type":"layers","diff_ids":[{diff_ids}]}},"config":{{}}}}"#
    )
    .into_bytes()
}

fn assemble(descriptors: Vec<Descriptor>, new_blobs: Vec<Blob>) -> BuiltManifest {
    let digests: Vec<&str> = descriptors.iter().map(|d| d.digest.as_str()).collect();
    let config = Blob::new(config_blob(&digests));
    let manifest = ManifestJson {
        schema_version: 2,
        media_type: Some(OCI_MANIFEST_MEDIA_TYPE.to_owned()),
        config: Descriptor {
            media_type: OCI_CONFIG_MEDIA_TYPE.to_owned(),
            size: config.size,
            digest: config.digest.clone(),
            annotations: BTreeMap::new(),
        },
        layers: descriptors,
    };
    let manifest = go_escape(&serde_json::to_string(&manifest).unwrap_or_default()).into_bytes();
    BuiltManifest {
        manifest_digest: sha256_digest(&manifest),
        manifest,
        config,
        layers: new_blobs,
    }
}

fn descriptor(layer: &Layer) -> (Descriptor, Blob) {
    let blob = Blob::new(layer.blob.clone());
    (
        Descriptor {
            media_type: layer.media_type.clone(),
            size: blob.size,
            digest: blob.digest.clone(),
            annotations: layer.annotations.clone(),
        },
        blob,
    )
}

/// Builds the OCI image manifest holding `layers` (one per signature or attestation), with
/// the config blob cosign writes, and returns it with the config and layer blobs to push.
pub fn build_manifest(layers: &[Layer]) -> BuiltManifest {
    let (descriptors, blobs) = layers.iter().map(descriptor).unzip();
    assemble(descriptors, blobs)
}

/// Builds the `.sig` manifest for `signatures`.
pub fn build_signature_manifest(signatures: &[SignatureLayer]) -> BuiltManifest {
    let layers: Vec<Layer> = signatures.iter().map(SignatureLayer::to_layer).collect();
    build_manifest(&layers)
}

/// Appends `layer` to an existing signature or attestation manifest, as cosign does (earlier
/// layers are kept as they are; the config is rewritten). Returns `None` when an identical
/// layer (same blob and annotations) is already there. Only the new blob is returned to push.
pub fn append_layer(existing: &[u8], layer: &Layer) -> Result<Option<BuiltManifest>, LayoutError> {
    let parsed = parse_manifest(existing)?;
    let (new, blob) = descriptor(layer);
    if parsed.layers.contains(&new) {
        return Ok(None);
    }
    if parsed.layers.len() >= MAX_LAYERS {
        return Err(LayoutError::Malformed(format!(
            "manifest already has {} layers, the limit",
            parsed.layers.len()
        )));
    }
    let mut descriptors = parsed.layers;
    descriptors.push(new);
    Ok(Some(assemble(descriptors, vec![blob])))
}

/// A manifest read back: its config and layer descriptors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedManifest {
    /// The config descriptor.
    pub config: Descriptor,
    /// The layer descriptors, in order.
    pub layers: Vec<Descriptor>,
}

/// Reads an OCI image manifest (bounded size and layer count, valid digests).
pub fn parse_manifest(bytes: &[u8]) -> Result<ParsedManifest, LayoutError> {
    if bytes.len() > MAX_MANIFEST_BYTES {
        return Err(LayoutError::Malformed(format!(
            "manifest is {} bytes, more than the limit of {MAX_MANIFEST_BYTES}",
            bytes.len()
        )));
    }
    let m: ManifestJson = serde_json::from_slice(bytes)
        .map_err(|e| LayoutError::Malformed(format!("not an OCI manifest: {e}")))?;
    if m.schema_version != 2 {
        return Err(LayoutError::Malformed(format!(
            "expected schemaVersion 2, found {}",
            m.schema_version
        )));
    }
    if let Some(mt) = &m.media_type {
        if mt != OCI_MANIFEST_MEDIA_TYPE {
            return Err(LayoutError::Malformed(format!(
                "expected mediaType `{OCI_MANIFEST_MEDIA_TYPE}`, found `{mt}`"
            )));
        }
    }
    if m.layers.len() > MAX_LAYERS {
        return Err(LayoutError::Malformed(format!(
            "{} layers, more than the limit of {MAX_LAYERS}",
            m.layers.len()
        )));
    }
    for d in std::iter::once(&m.config).chain(&m.layers) {
        if !is_sha256_digest(&d.digest) {
            return Err(LayoutError::BadDigest(d.digest.clone()));
        }
    }
    Ok(ParsedManifest {
        config: m.config,
        layers: m.layers,
    })
}

/// Reads the layers of a manifest whose layers must all have `media_type`, checking each blob
/// given by the caller (keyed by digest) against its descriptor's digest and size.
pub fn read_layers(
    manifest: &[u8],
    media_type: &str,
    blobs: &BTreeMap<String, Vec<u8>>,
) -> Result<Vec<Layer>, LayoutError> {
    let parsed = parse_manifest(manifest)?;
    let mut out = Vec::with_capacity(parsed.layers.len());
    for (index, d) in parsed.layers.into_iter().enumerate() {
        if d.media_type != media_type {
            return Err(LayoutError::WrongMediaType {
                index,
                expected: media_type.to_owned(),
                found: d.media_type,
            });
        }
        if d.size > MAX_LAYER_BYTES {
            return Err(LayoutError::Malformed(format!(
                "layer {index} is {} bytes, more than the limit of {MAX_LAYER_BYTES}",
                d.size
            )));
        }
        let blob = blobs
            .get(&d.digest)
            .ok_or_else(|| LayoutError::MissingBlob {
                index,
                digest: d.digest.clone(),
            })?;
        let found = sha256_digest(blob);
        if found != d.digest || blob.len() as u64 != d.size {
            return Err(LayoutError::BlobMismatch {
                index,
                expected: d.digest,
                expected_size: d.size,
                found,
                found_size: blob.len() as u64,
            });
        }
        out.push(Layer {
            media_type: d.media_type,
            blob: blob.clone(),
            annotations: d.annotations,
        });
    }
    Ok(out)
}

/// Reads a fetched `.sig` manifest back into signature layers (media types, blob digests and
/// the presence of the signature annotation checked).
pub fn read_signature_layers(
    manifest: &[u8],
    blobs: &BTreeMap<String, Vec<u8>>,
) -> Result<Vec<SignatureLayer>, LayoutError> {
    read_layers(manifest, SIMPLESIGNING_MEDIA_TYPE, blobs)?
        .into_iter()
        .enumerate()
        .map(|(index, mut layer)| {
            let signature_b64 =
                layer
                    .annotations
                    .remove(SIGNATURE_ANNOTATION)
                    .ok_or_else(|| {
                        LayoutError::Malformed(format!(
                            "layer {index} has no `{SIGNATURE_ANNOTATION}` annotation"
                        ))
                    })?;
            Ok(SignatureLayer {
                payload: layer.blob,
                signature_b64,
                annotations: layer.annotations,
            })
        })
        .collect()
}

/// A signature that verified: which layer, and its payload.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    /// Position of the layer among those given.
    pub layer: usize,
    /// The payload read (for a bundle signature: the statement's subject name and digest).
    pub payload: SimpleSigning,
    /// The referrer manifest's digest when the signature came from a Sigstore bundle (cosign
    /// v3), `None` for the tag-based `.sig` layout.
    pub bundle: Option<String>,
}

/// Why no signature verified. When several layers fail, the error of the first layer whose
/// signature was valid is reported (it says more than a wrong key), else the first error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// No signature layers at all.
    #[error("no signatures found")]
    NoSignatures,
    /// The signature does not verify under the key (wrong key or modified payload).
    #[error("layer {layer}: signature does not verify with the given key: {reason}")]
    BadSignature {
        /// Position of the layer.
        layer: usize,
        /// The verifier's reason.
        reason: String,
    },
    /// The signed payload names another manifest than the one served.
    #[error("signed payload is for {payload_digest}, but the image served is {served}")]
    DigestMismatch {
        /// The digest inside the payload.
        payload_digest: String,
        /// The digest of the manifest served.
        served: String,
    },
    /// The payload has a critical field this verifier does not understand.
    #[error("layer {layer}: unknown critical field `{field}`")]
    UnknownCriticalField {
        /// Position of the layer.
        layer: usize,
        /// Path of the field.
        field: String,
    },
    /// The payload's `critical.type` is not cosign's.
    #[error("layer {layer}: expected payload type `{COSIGN_SIGNATURE_TYPE}`, found `{found}`")]
    WrongType {
        /// Position of the layer.
        layer: usize,
        /// The type found.
        found: String,
    },
    /// A required annotation is missing from, or different in, the signed payload.
    #[error("layer {layer}: annotation `{key}` should be `{expected}`, found {found:?}")]
    AnnotationMismatch {
        /// Position of the layer.
        layer: usize,
        /// The annotation key.
        key: String,
        /// The value required.
        expected: String,
        /// The value signed, if any (non-strings rendered as JSON).
        found: Option<String>,
    },
    /// No Sigstore bundle signature verified (cosign v3 layout).
    #[error("sigstore bundle: {0}")]
    Bundle(String),
    /// The layer or payload cannot be read.
    #[error("layer {layer}: {reason}")]
    Malformed {
        /// Position of the layer.
        layer: usize,
        /// What is wrong.
        reason: String,
    },
}

/// Verifies cosign signatures of the image whose manifest digest is `manifest_digest_served`.
/// A layer is good when its signature verifies over the payload bytes, the payload reads
/// (cosign type, no unknown critical fields), names `manifest_digest_served`, and its
/// `optional` section holds every `required_annotations` pair (`cosign verify -a k=v`).
/// Succeeds with every good layer if there is at least one.
pub fn verify_signatures(
    manifest_digest_served: &str,
    layers: &[SignatureLayer],
    verifier: &dyn Verifier,
    required_annotations: &BTreeMap<String, String>,
) -> Result<Vec<Verified>, VerifyError> {
    let mut good = Vec::new();
    let mut first_err: Option<VerifyError> = None;
    let mut first_signed_err: Option<VerifyError> = None;
    for (index, layer) in layers.iter().enumerate() {
        match verify_one(
            index,
            manifest_digest_served,
            layer,
            verifier,
            required_annotations,
        ) {
            Ok(payload) => good.push(Verified {
                bundle: None,
                layer: index,
                payload,
            }),
            Err((signed, e)) => {
                if signed && first_signed_err.is_none() {
                    first_signed_err = Some(e.clone());
                }
                first_err.get_or_insert(e);
            }
        }
    }
    if !good.is_empty() {
        return Ok(good);
    }
    Err(first_signed_err
        .or(first_err)
        .unwrap_or(VerifyError::NoSignatures))
}

/// Checks one layer; the flag says whether the signature itself was valid.
fn verify_one(
    layer: usize,
    served: &str,
    sig: &SignatureLayer,
    verifier: &dyn Verifier,
    required: &BTreeMap<String, String>,
) -> Result<SimpleSigning, (bool, VerifyError)> {
    let der = B64.decode(sig.signature_b64.trim()).map_err(|e| {
        (
            false,
            VerifyError::Malformed {
                layer,
                reason: format!("signature annotation is not base64: {e}"),
            },
        )
    })?;
    verifier
        .verify(&sig.payload, &der)
        .map_err(|reason| (false, VerifyError::BadSignature { layer, reason }))?;
    let payload = SimpleSigning::parse(&sig.payload).map_err(|e| {
        (
            true,
            match e {
                PayloadError::Malformed(reason) => VerifyError::Malformed { layer, reason },
                PayloadError::UnknownCriticalField(field) => {
                    VerifyError::UnknownCriticalField { layer, field }
                }
                PayloadError::WrongType(found) => VerifyError::WrongType { layer, found },
            },
        )
    })?;
    if payload.manifest_digest != served {
        return Err((
            true,
            VerifyError::DigestMismatch {
                payload_digest: payload.manifest_digest,
                served: served.to_owned(),
            },
        ));
    }
    for (key, expected) in required {
        let found = payload
            .optional
            .as_ref()
            .and_then(|o| o.get(key))
            .map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            });
        if found.as_deref() != Some(expected.as_str()) {
            return Err((
                true,
                VerifyError::AnnotationMismatch {
                    layer,
                    key: key.clone(),
                    expected: expected.clone(),
                    found,
                },
            ));
        }
    }
    Ok(payload)
}
