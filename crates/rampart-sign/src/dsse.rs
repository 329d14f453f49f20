//! In-toto statements in DSSE envelopes (`cosign attest --key`) and the `.att` layer layout.
//!
//! The envelope signature covers the DSSE pre-authentication encoding (PAE) of the payload
//! type and the raw statement bytes, not the statement itself.

#![deny(clippy::indexing_slicing)]

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::signature::{Layer, LayoutError, SIGNATURE_ANNOTATION, Signer, Verifier, read_layers};

/// Payload type of an in-toto statement inside a DSSE envelope.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// Media type of an attestation layer in a `.att` manifest.
pub const DSSE_MEDIA_TYPE: &str = "application/vnd.dsse.envelope.v1+json";
/// Layer annotation naming the attestation's predicate type.
pub const PREDICATE_TYPE_ANNOTATION: &str = "predicateType";
/// `_type` of an in-toto v0.1 statement (what cosign writes).
pub const STATEMENT_V01: &str = "https://in-toto.io/Statement/v0.1";
/// `_type` of an in-toto v1 statement (read too).
pub const STATEMENT_V1: &str = "https://in-toto.io/Statement/v1";
/// The predicate type of a cosign v3 image signature: an in-toto statement about the image
/// digest, in a DSSE envelope inside a Sigstore bundle.
pub const COSIGN_SIGN_PREDICATE: &str = "https://sigstore.dev/cosign/sign/v1";
/// Largest envelope read (attestations may carry whole SBOMs).
pub const MAX_ENVELOPE_BYTES: usize = 128 << 20;

/// A predicate type by cosign's `--type` name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PredicateKind {
    /// `custom`: `{"Data": <text>, "Timestamp": <RFC 3339>}`.
    Custom,
    /// `cyclonedx`: a CycloneDX JSON document.
    CycloneDx,
    /// `spdx`: an SPDX document embedded as a string (tag-value or any text).
    Spdx,
    /// `spdxjson`: an SPDX JSON document.
    SpdxJson,
    /// `slsaprovenance`: SLSA provenance v0.2.
    SlsaProvenance,
    /// `slsaprovenance1`: SLSA provenance v1.
    SlsaProvenance1,
    /// `vuln`: cosign's vulnerability scan predicate.
    Vuln,
    /// `openvex`: an OpenVEX document.
    OpenVex,
    /// `intent` (rampart's): the image's intent document as JSON (docs/intent.md).
    Intent,
}

/// The predicate type of rampart's intent attestation.
pub const INTENT_PREDICATE_TYPE: &str = "https://rampart.dev/attestation/intent/v1";

impl PredicateKind {
    /// The kind cosign's `--type` name stands for.
    pub fn from_cosign_type(name: &str) -> Option<Self> {
        Some(match name {
            "custom" => Self::Custom,
            "cyclonedx" => Self::CycloneDx,
            "spdx" => Self::Spdx,
            "spdxjson" => Self::SpdxJson,
            "slsaprovenance" | "slsaprovenance02" => Self::SlsaProvenance,
            "slsaprovenance1" => Self::SlsaProvenance1,
            "vuln" => Self::Vuln,
            "openvex" => Self::OpenVex,
            "intent" => Self::Intent,
            _ => return None,
        })
    }

    /// The predicate type URI.
    pub fn uri(self) -> &'static str {
        match self {
            Self::Custom => "https://cosign.sigstore.dev/attestation/v1",
            Self::CycloneDx => "https://cyclonedx.org/bom",
            Self::Spdx | Self::SpdxJson => "https://spdx.dev/Document",
            Self::SlsaProvenance => "https://slsa.dev/provenance/v0.2",
            Self::SlsaProvenance1 => "https://slsa.dev/provenance/v1",
            Self::Vuln => "https://cosign.sigstore.dev/attestation/vuln/v1",
            Self::OpenVex => "https://openvex.dev/ns",
            Self::Intent => INTENT_PREDICATE_TYPE,
        }
    }
}

/// The predicate type URI for a cosign `--type` value: a known name, or the value itself
/// (cosign accepts a URI there).
pub fn predicate_type_uri(type_or_uri: &str) -> &str {
    match PredicateKind::from_cosign_type(type_or_uri) {
        Some(kind) => kind.uri(),
        None => type_or_uri,
    }
}

/// An artifact an in-toto statement is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    /// The artifact's name (the repository, for cosign); absent in some v1 statements.
    #[serde(default)]
    pub name: String,
    /// Digests by algorithm (`sha256` → hex).
    pub digest: BTreeMap<String, String>,
}

/// An in-toto statement (v0.1 written, v0.1 and v1 read).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Statement {
    /// `_type`: [`STATEMENT_V01`] or [`STATEMENT_V1`].
    #[serde(rename = "_type")]
    pub statement_type: String,
    /// The predicate type URI.
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    /// What the statement is about.
    pub subject: Vec<Subject>,
    /// The predicate (null when absent).
    #[serde(default)]
    pub predicate: Value,
}

/// Why a statement could not be built or an attestation could not be read or verified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttError {
    /// No attestations at all.
    #[error("no attestations found")]
    NoAttestations,
    /// No envelope signature verifies under the key.
    #[error("envelope {index}: no signature verifies with the given key: {reason}")]
    BadSignature {
        /// Position of the envelope.
        index: usize,
        /// The verifier's reason.
        reason: String,
    },
    /// The envelope's payload type is not in-toto's.
    #[error("envelope {index}: expected payloadType `{IN_TOTO_PAYLOAD_TYPE}`, found `{found}`")]
    WrongPayloadType {
        /// Position of the envelope.
        index: usize,
        /// The payload type found.
        found: String,
    },
    /// No subject of the statement has the image's digest.
    #[error("envelope {index}: no subject has digest {expected}, found [{}]", found.join(", "))]
    SubjectMismatch {
        /// Position of the envelope.
        index: usize,
        /// The image digest.
        expected: String,
        /// The subject sha256 digests found.
        found: Vec<String>,
    },
    /// The statement's predicate type is not the one asked for.
    #[error("envelope {index}: expected predicate type `{expected}`, found `{found}`")]
    PredicateTypeMismatch {
        /// Position of the envelope.
        index: usize,
        /// The predicate type asked for.
        expected: String,
        /// The predicate type signed.
        found: String,
    },
    /// Bytes that are not an envelope, statement or predicate of the expected shape.
    #[error("{0}")]
    Malformed(String),
}

impl Statement {
    /// A v0.1 statement about image `name` at `digest` (`sha256:<hex>`).
    pub fn new(
        name: impl Into<String>,
        digest: &str,
        predicate_type: impl Into<String>,
        predicate: Value,
    ) -> Result<Self, AttError> {
        let hex = digest
            .strip_prefix("sha256:")
            .filter(|_| crate::signature::is_sha256_digest(digest))
            .ok_or_else(|| {
                AttError::Malformed(format!(
                    "expected a subject digest `sha256:<64 hex>`, found `{digest}`"
                ))
            })?;
        Ok(Self {
            statement_type: STATEMENT_V01.to_owned(),
            predicate_type: predicate_type.into(),
            subject: vec![Subject {
                name: name.into(),
                digest: BTreeMap::from([("sha256".to_owned(), hex.to_owned())]),
            }],
            predicate,
        })
    }

    /// The statement cosign builds for `--type kind` from the predicate file's bytes. For
    /// `custom`, `timestamp` (RFC 3339) is written next to the text; other kinds ignore it.
    pub fn for_predicate(
        name: impl Into<String>,
        digest: &str,
        kind: PredicateKind,
        predicate_file: &[u8],
        timestamp: &str,
    ) -> Result<Self, AttError> {
        let text = || {
            std::str::from_utf8(predicate_file)
                .map(str::to_owned)
                .map_err(|e| AttError::Malformed(format!("predicate is not UTF-8: {e}")))
        };
        let predicate = match kind {
            PredicateKind::Custom => {
                serde_json::json!({ "Data": text()?, "Timestamp": timestamp })
            }
            PredicateKind::Spdx => Value::String(text()?),
            _ => serde_json::from_slice(predicate_file).map_err(|e| {
                AttError::Malformed(format!("{} predicate is not JSON: {e}", kind.uri()))
            })?,
        };
        Self::new(name, digest, kind.uri(), predicate)
    }

    /// The statement's JSON bytes (compact, keys in in-toto's order).
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Reads a statement (v0.1 or v1).
    pub fn parse(bytes: &[u8]) -> Result<Self, AttError> {
        let s: Self = serde_json::from_slice(bytes)
            .map_err(|e| AttError::Malformed(format!("not an in-toto statement: {e}")))?;
        if s.statement_type != STATEMENT_V01 && s.statement_type != STATEMENT_V1 {
            return Err(AttError::Malformed(format!(
                "expected _type `{STATEMENT_V01}` or `{STATEMENT_V1}`, found `{}`",
                s.statement_type
            )));
        }
        Ok(s)
    }
}

/// DSSE's pre-authentication encoding: `DSSEv1 SP len(type) SP type SP len(body) SP body`.
pub fn pae(payload_type: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

/// One signature in an envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvelopeSignature {
    /// Key id (cosign writes an empty string; bundles omit it).
    #[serde(default)]
    pub keyid: String,
    /// Standard base64 of the DER signature over the PAE.
    pub sig: String,
}

/// A DSSE envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// The payload's type.
    #[serde(rename = "payloadType")]
    pub payload_type: String,
    /// Standard base64 of the payload bytes.
    pub payload: String,
    /// Signatures over the PAE.
    pub signatures: Vec<EnvelopeSignature>,
}

impl Envelope {
    /// Signs `body` of type `payload_type` with `signer` (key id empty, as cosign writes it).
    pub fn sign(payload_type: &str, body: &[u8], signer: &dyn Signer) -> Self {
        let sig = B64.encode(signer.sign(&pae(payload_type, body)));
        Self {
            payload_type: payload_type.to_owned(),
            payload: B64.encode(body),
            signatures: vec![EnvelopeSignature {
                keyid: String::new(),
                sig,
            }],
        }
    }

    /// Signs a statement as an in-toto envelope.
    pub fn sign_statement(statement: &Statement, signer: &dyn Signer) -> Self {
        Self::sign(IN_TOTO_PAYLOAD_TYPE, &statement.to_bytes(), signer)
    }

    /// Reads an envelope (bounded size).
    pub fn parse(bytes: &[u8]) -> Result<Self, AttError> {
        if bytes.len() > MAX_ENVELOPE_BYTES {
            return Err(AttError::Malformed(format!(
                "envelope is {} bytes, more than the limit of {MAX_ENVELOPE_BYTES}",
                bytes.len()
            )));
        }
        serde_json::from_slice(bytes)
            .map_err(|e| AttError::Malformed(format!("not a DSSE envelope: {e}")))
    }

    /// The envelope's JSON bytes (compact, cosign's key order).
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The decoded payload bytes.
    pub fn body(&self) -> Result<Vec<u8>, AttError> {
        B64.decode(self.payload.trim())
            .map_err(|e| AttError::Malformed(format!("envelope payload is not base64: {e}")))
    }

    /// The decoded payload if at least one signature verifies over its PAE.
    pub fn verify(&self, verifier: &dyn Verifier) -> Result<Vec<u8>, AttError> {
        self.verify_at(0, verifier)
    }

    fn verify_at(&self, index: usize, verifier: &dyn Verifier) -> Result<Vec<u8>, AttError> {
        let body = self.body()?;
        let message = pae(&self.payload_type, &body);
        let mut reason = String::from("the envelope has no signatures");
        for s in &self.signatures {
            match B64.decode(s.sig.trim()) {
                Err(e) => reason = format!("signature is not base64: {e}"),
                Ok(der) => match verifier.verify(&message, &der) {
                    Ok(()) => return Ok(body),
                    Err(r) => reason = r,
                },
            }
        }
        Err(AttError::BadSignature { index, reason })
    }

    /// The `.att` layer cosign stores this envelope as.
    pub fn to_layer(&self, predicate_type: &str) -> Layer {
        Layer {
            media_type: DSSE_MEDIA_TYPE.to_owned(),
            blob: self.to_bytes(),
            annotations: BTreeMap::from([
                (SIGNATURE_ANNOTATION.to_owned(), String::new()),
                (
                    PREDICATE_TYPE_ANNOTATION.to_owned(),
                    predicate_type.to_owned(),
                ),
            ]),
        }
    }
}

/// Reads a fetched `.att` manifest into envelopes (media types and blob digests checked).
pub fn read_attestation_layers(
    manifest: &[u8],
    blobs: &BTreeMap<String, Vec<u8>>,
) -> Result<Vec<Envelope>, AttError> {
    let layers = read_layers(manifest, DSSE_MEDIA_TYPE, blobs)
        .map_err(|e: LayoutError| AttError::Malformed(e.to_string()))?;
    layers
        .iter()
        .enumerate()
        .map(|(i, l)| {
            Envelope::parse(&l.blob).map_err(|e| AttError::Malformed(format!("layer {i}: {e}")))
        })
        .collect()
}

/// An attestation that verified.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedStatement {
    /// Position of the envelope among those given.
    pub index: usize,
    /// The statement signed.
    pub statement: Statement,
}

/// Verifies attestations of the image at `manifest_digest`: an envelope is good when one of
/// its signatures verifies over the PAE, its payload type is in-toto's, a subject's sha256 is
/// the image's, and (if asked) its predicate type matches `predicate_type` (a URI or a cosign
/// `--type` name). Succeeds with every good one if there is at least one; otherwise reports
/// the first error of an envelope whose signature was valid, else the first error.
pub fn verify_attestations(
    manifest_digest: &str,
    envelopes: &[Envelope],
    verifier: &dyn Verifier,
    predicate_type: Option<&str>,
) -> Result<Vec<VerifiedStatement>, AttError> {
    let want = predicate_type.map(predicate_type_uri);
    let mut good = Vec::new();
    let mut first_err = None;
    let mut first_signed_err = None;
    for (index, env) in envelopes.iter().enumerate() {
        match verify_one(index, manifest_digest, env, verifier, want) {
            Ok(statement) => good.push(VerifiedStatement { index, statement }),
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
        .unwrap_or(AttError::NoAttestations))
}

fn verify_one(
    index: usize,
    manifest_digest: &str,
    env: &Envelope,
    verifier: &dyn Verifier,
    want: Option<&str>,
) -> Result<Statement, (bool, AttError)> {
    let body = env.verify_at(index, verifier).map_err(|e| (false, e))?;
    if env.payload_type != IN_TOTO_PAYLOAD_TYPE {
        return Err((
            true,
            AttError::WrongPayloadType {
                index,
                found: env.payload_type.clone(),
            },
        ));
    }
    let statement = Statement::parse(&body)
        .map_err(|e| (true, AttError::Malformed(format!("envelope {index}: {e}"))))?;
    let hex = manifest_digest.strip_prefix("sha256:").unwrap_or_default();
    let found: Vec<String> = statement
        .subject
        .iter()
        .filter_map(|s| s.digest.get("sha256").map(|h| format!("sha256:{h}")))
        .collect();
    if hex.is_empty()
        || !statement
            .subject
            .iter()
            .any(|s| s.digest.get("sha256").is_some_and(|h| h == hex))
    {
        return Err((
            true,
            AttError::SubjectMismatch {
                index,
                expected: manifest_digest.to_owned(),
                found,
            },
        ));
    }
    if let Some(want) = want {
        if statement.predicate_type != want {
            return Err((
                true,
                AttError::PredicateTypeMismatch {
                    index,
                    expected: want.to_owned(),
                    found: statement.predicate_type,
                },
            ));
        }
    }
    Ok(statement)
}

/// Media types of Sigstore bundles read.
pub const BUNDLE_MEDIA_TYPES: [&str; 3] = [
    "application/vnd.dev.sigstore.bundle.v0.3+json",
    "application/vnd.dev.sigstore.bundle+json;version=0.3",
    "application/vnd.dev.sigstore.bundle+json;version=0.2",
];

/// A Sigstore bundle (`.sigstore.json`, cosign v3's default): read to extract its DSSE
/// envelope. Keyless verification (Fulcio certificate chain, Rekor and timestamp proofs) is
/// not supported offline: the verification material is kept unread.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Bundle {
    /// The bundle's media type.
    #[serde(rename = "mediaType")]
    pub media_type: String,
    /// Certificate or public key hint, transparency log entries, timestamps (not verified).
    #[serde(rename = "verificationMaterial", default)]
    pub verification_material: Value,
    /// The DSSE envelope, for attestation bundles.
    #[serde(rename = "dsseEnvelope", default)]
    pub dsse_envelope: Option<Envelope>,
}

impl Bundle {
    /// Reads a bundle (bounded size, known media type).
    pub fn parse(bytes: &[u8]) -> Result<Self, AttError> {
        if bytes.len() > MAX_ENVELOPE_BYTES {
            return Err(AttError::Malformed(format!(
                "bundle is {} bytes, more than the limit of {MAX_ENVELOPE_BYTES}",
                bytes.len()
            )));
        }
        let b: Self = serde_json::from_slice(bytes)
            .map_err(|e| AttError::Malformed(format!("not a sigstore bundle: {e}")))?;
        if !BUNDLE_MEDIA_TYPES.contains(&b.media_type.as_str()) {
            return Err(AttError::Malformed(format!(
                "expected a sigstore bundle media type, found `{}`",
                b.media_type
            )));
        }
        Ok(b)
    }

    /// The in-toto statement inside the bundle's envelope (signature not checked: keyless).
    pub fn statement(&self) -> Result<Statement, AttError> {
        let env = self
            .dsse_envelope
            .as_ref()
            .ok_or_else(|| AttError::Malformed("bundle has no dsseEnvelope".into()))?;
        if env.payload_type != IN_TOTO_PAYLOAD_TYPE {
            return Err(AttError::WrongPayloadType {
                index: 0,
                found: env.payload_type.clone(),
            });
        }
        Statement::parse(&env.body()?)
    }
}

/// A Sigstore trusted root (`trusted_root.json`), read only so a later keyless verifier has a
/// type to start from. Keyless is not supported offline: nothing here verifies certificates.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TrustRoot {
    /// The trusted root's media type.
    #[serde(rename = "mediaType")]
    pub media_type: String,
    /// Everything else (transparency logs, certificate authorities, ...), unread.
    #[serde(flatten)]
    pub rest: BTreeMap<String, Value>,
}
