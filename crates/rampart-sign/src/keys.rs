//! cosign-compatible keys: ECDSA P-256 key pairs, public keys as PKIX `PUBLIC KEY` PEM, private
//! keys in the Sigstore encrypted format (`ENCRYPTED SIGSTORE PRIVATE KEY`: a JSON document
//! holding scrypt parameters, a NaCl secretbox nonce and the sealed PKCS#8 DER), and ECDSA
//! signatures over SHA-256 in ASN.1 DER, as cosign writes and reads them.
//!
//! The JSON envelope (go-securesystemslib's `encrypted` format) is small enough that it is
//! written by hand with serde; every cryptographic step uses a RustCrypto crate.

#![deny(clippy::indexing_slicing)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use crypto_secretbox::aead::{Aead, KeyInit};
use crypto_secretbox::{Key as SecretboxKey, Nonce as SecretboxNonce, XSalsa20Poly1305};
use p256::ecdsa::signature::hazmat::PrehashSigner;
use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::pkcs8::der::asn1::ObjectIdentifier;
use p256::pkcs8::spki::{AlgorithmIdentifierRef, SubjectPublicKeyInfoRef};
use p256::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding,
    PrivateKeyInfo,
};
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// PEM label cosign writes for encrypted private keys.
pub const SIGSTORE_PRIVATE_KEY_LABEL: &str = "ENCRYPTED SIGSTORE PRIVATE KEY";
/// PEM label of encrypted private keys written by older cosign releases (same body).
pub const COSIGN_PRIVATE_KEY_LABEL: &str = "ENCRYPTED COSIGN PRIVATE KEY";
/// PEM label of a PKIX SubjectPublicKeyInfo public key.
pub const PUBLIC_KEY_LABEL: &str = "PUBLIC KEY";

/// Largest key file accepted, in bytes (a cosign P-256 key is about 600 bytes, an RSA-4096
/// one about 3.5 KiB).
pub const MAX_PEM_LEN: usize = 64 * 1024;

/// scrypt cost cosign uses when writing keys: N = 2^16, r = 8, p = 1.
const SCRYPT_LOG_N: u8 = 16;
const SCRYPT_R: u32 = 8;
const SCRYPT_P: u32 = 1;
/// Largest scrypt memory accepted when reading (128·r·N bytes): 256 MiB, 4× cosign's 64 MiB.
const MAX_SCRYPT_MEMORY: u64 = 256 * 1024 * 1024;
/// Largest scrypt work accepted when reading (N·r·p): 8× cosign's default.
const MAX_SCRYPT_WORK: u64 = 1 << 22;

const SALT_LEN: usize = 32;
const NONCE_LEN: usize = 24;
const SECRETBOX_TAG_LEN: usize = 16;

const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");

/// Names of key algorithms and curves that are recognised but not supported.
const KNOWN_ALGORITHMS: &[(&str, &str)] = &[
    ("1.2.840.113549.1.1.1", "rsa"),
    ("1.2.840.113549.1.1.10", "rsa-pss"),
    ("1.3.101.112", "ed25519"),
    ("1.3.101.113", "ed448"),
    ("1.3.101.110", "x25519"),
    ("1.2.840.10040.4.1", "dsa"),
    ("1.3.132.0.34", "ecdsa p-384"),
    ("1.3.132.0.35", "ecdsa p-521"),
    ("1.3.132.0.10", "ecdsa secp256k1"),
];

/// Errors reading, writing or using keys and signatures.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The key text is larger than [`MAX_PEM_LEN`].
    #[error("key file is {found} bytes, more than the {limit}-byte limit")]
    TooLarge {
        /// Size found.
        found: usize,
        /// The limit.
        limit: usize,
    },
    /// The text is not a well-formed PEM document.
    #[error(
        "malformed pem (expected -----BEGIN ...----- / -----END ...----- around base64): {message}"
    )]
    Pem {
        /// What the PEM decoder reported.
        message: String,
    },
    /// The PEM label is not one this reader accepts.
    #[error("unexpected pem label {found:?}: expected {expected}")]
    UnexpectedLabel {
        /// Label found.
        found: String,
        /// Labels accepted.
        expected: &'static str,
    },
    /// A base64 field is not valid standard base64.
    #[error("bad base64 in {field}: {message}")]
    Base64 {
        /// Which field (`pem body`, `salt`, `nonce`, `ciphertext`).
        field: &'static str,
        /// What the decoder reported.
        message: String,
    },
    /// The encrypted key body is not the expected JSON document.
    #[error(
        "encrypted key body is not the expected json {{\"kdf\", \"cipher\", \"ciphertext\"}}: {message}"
    )]
    Json {
        /// What the JSON parser reported.
        message: String,
    },
    /// The key derivation function is not scrypt.
    #[error("unsupported key derivation function {found:?}: expected \"scrypt\"")]
    UnsupportedKdf {
        /// Name found.
        found: String,
    },
    /// The cipher is not NaCl secretbox.
    #[error("unsupported cipher {found:?}: expected \"nacl/secretbox\"")]
    UnsupportedCipher {
        /// Name found.
        found: String,
    },
    /// The scrypt parameters are invalid or too costly to run.
    #[error("scrypt parameters N={n} r={r} p={p} refused: {reason}")]
    ScryptParams {
        /// N (CPU/memory cost).
        n: u64,
        /// r (block size).
        r: u64,
        /// p (parallelism).
        p: u64,
        /// Why they were refused.
        reason: String,
    },
    /// A fixed-length field has the wrong length.
    #[error("{field} is {found} bytes, expected {expected}")]
    FieldLength {
        /// Which field.
        field: &'static str,
        /// Length expected.
        expected: usize,
        /// Length found.
        found: usize,
    },
    /// The ciphertext is shorter than the secretbox tag.
    #[error("ciphertext is {found} bytes, shorter than the {SECRETBOX_TAG_LEN}-byte secretbox tag")]
    CiphertextTooShort {
        /// Length found.
        found: usize,
    },
    /// The secretbox did not authenticate: the password is wrong or the key was altered.
    #[error("wrong password or corrupted key: the encrypted private key does not authenticate")]
    WrongPassword,
    /// The key is of a type other than ECDSA P-256.
    #[error("unsupported key type {found}: only ecdsa p-256 keys are supported")]
    UnsupportedKeyType {
        /// Key type found.
        found: String,
    },
    /// The key material does not decode.
    #[error("invalid {what}: {message}")]
    InvalidKey {
        /// What was being decoded.
        what: &'static str,
        /// What the decoder reported.
        message: String,
    },
    /// The operating system's random number generator failed.
    #[error("the system random number generator failed: {message}")]
    Random {
        /// What the generator reported.
        message: String,
    },
    /// Encoding a key failed.
    #[error("cannot encode {what}: {message}")]
    Encode {
        /// What was being encoded.
        what: &'static str,
        /// What the encoder reported.
        message: String,
    },
    /// A signature is not an ASN.1 DER ECDSA signature.
    #[error("malformed signature (expected an asn.1 der ecdsa p-256 signature): {message}")]
    MalformedSignature {
        /// What the decoder reported.
        message: String,
    },
    /// A well-formed signature does not verify against the key.
    #[error("signature does not verify against the public key")]
    SignatureMismatch,
}

/// An ECDSA P-256 key pair.
#[derive(Debug)]
pub struct KeyPair {
    /// The private key.
    pub private_key: PrivateKey,
    /// Its public key.
    pub public_key: PublicKey,
}

impl KeyPair {
    /// Generates a fresh P-256 key pair from the operating system's random number generator.
    pub fn generate() -> Result<Self, KeyError> {
        let private_key = PrivateKey::generate()?;
        let public_key = private_key.public_key();
        Ok(Self {
            private_key,
            public_key,
        })
    }
}

/// An ECDSA P-256 private key (zeroised on drop; `Debug` does not show it).
#[derive(Clone)]
pub struct PrivateKey {
    secret: p256::SecretKey,
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PrivateKey(<redacted>)")
    }
}

/// An ECDSA P-256 public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    key: p256::PublicKey,
}

/// The JSON body of an encrypted key, field for field as go-securesystemslib marshals it.
#[derive(Serialize, Deserialize)]
struct EncryptedKey {
    kdf: Kdf,
    cipher: Cipher,
    ciphertext: String,
}

#[derive(Serialize, Deserialize)]
struct Kdf {
    name: String,
    params: ScryptParams,
    salt: String,
}

#[derive(Serialize, Deserialize)]
struct ScryptParams {
    #[serde(rename = "N")]
    n: u64,
    r: u64,
    p: u64,
}

#[derive(Serialize, Deserialize)]
struct Cipher {
    name: String,
    nonce: String,
}

impl PrivateKey {
    /// Generates a fresh P-256 private key from the operating system's random number generator.
    pub fn generate() -> Result<Self, KeyError> {
        // Rejection sampling: a 32-byte string is a valid scalar unless it is zero or ≥ the
        // group order (probability about 2^-32); bounded so a broken generator cannot loop.
        for _ in 0..64 {
            let mut bytes = Zeroizing::new([0u8; 32]);
            random_bytes(bytes.as_mut())?;
            if let Ok(secret) = p256::SecretKey::from_slice(bytes.as_ref()) {
                return Ok(Self { secret });
            }
        }
        Err(KeyError::Random {
            message: "64 draws in a row were not valid p-256 scalars".to_string(),
        })
    }

    /// Reads a private key from PEM: `ENCRYPTED SIGSTORE PRIVATE KEY` or the legacy
    /// `ENCRYPTED COSIGN PRIVATE KEY` (decrypted with `password`, scrypt parameters read from
    /// the file and bounded), or an unencrypted `PRIVATE KEY` (PKCS#8) or `EC PRIVATE KEY`
    /// (SEC1), for which `password` is ignored.
    pub fn from_pem(pem: &str, password: &[u8]) -> Result<Self, KeyError> {
        let (label, der) = decode_pem(pem)?;
        let der = Zeroizing::new(der);
        match label.as_str() {
            SIGSTORE_PRIVATE_KEY_LABEL | COSIGN_PRIVATE_KEY_LABEL => {
                let pkcs8 = decrypt(&der, password)?;
                Self::from_pkcs8_der(&pkcs8)
            }
            "PRIVATE KEY" => Self::from_pkcs8_der(&der),
            "EC PRIVATE KEY" => {
                let secret =
                    p256::SecretKey::from_sec1_der(&der).map_err(|e| KeyError::InvalidKey {
                        what: "sec1 ec private key (expected a p-256 key)",
                        message: e.to_string(),
                    })?;
                Ok(Self { secret })
            }
            "RSA PRIVATE KEY" => Err(KeyError::UnsupportedKeyType {
                found: "rsa".to_string(),
            }),
            _ => Err(KeyError::UnexpectedLabel {
                found: label,
                expected: "ENCRYPTED SIGSTORE PRIVATE KEY, ENCRYPTED COSIGN PRIVATE KEY, PRIVATE KEY or EC PRIVATE KEY",
            }),
        }
    }

    /// Whether `pem` is an encrypted private key (so a password is needed: the CLI prompts
    /// when [`password_from_env`] gives none). Unreadable text counts as not encrypted; reading
    /// it reports the error.
    pub fn pem_is_encrypted(pem: &str) -> bool {
        pem_rfc7468::decode_label(pem.trim_start().as_bytes()).is_ok_and(|label| {
            label == SIGSTORE_PRIVATE_KEY_LABEL || label == COSIGN_PRIVATE_KEY_LABEL
        })
    }

    /// Reads an unencrypted PKCS#8 DER private key.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        let info = PrivateKeyInfo::try_from(der).map_err(|e| KeyError::InvalidKey {
            what: "pkcs#8 private key",
            message: e.to_string(),
        })?;
        check_algorithm(&info.algorithm)?;
        let secret = p256::SecretKey::from_pkcs8_der(der).map_err(|e| KeyError::InvalidKey {
            what: "pkcs#8 p-256 private key",
            message: e.to_string(),
        })?;
        Ok(Self { secret })
    }

    /// Writes the key as cosign does: PEM `ENCRYPTED SIGSTORE PRIVATE KEY` around the JSON
    /// envelope (scrypt N=65536 r=8 p=1 with a random 32-byte salt, NaCl secretbox with a
    /// random 24-byte nonce) sealing the PKCS#8 DER. An empty password is allowed, as in cosign.
    pub fn to_encrypted_pem(&self, password: &[u8]) -> Result<String, KeyError> {
        let pkcs8 = self.secret.to_pkcs8_der().map_err(|e| KeyError::Encode {
            what: "pkcs#8 private key",
            message: e.to_string(),
        })?;
        let mut salt = [0u8; SALT_LEN];
        random_bytes(&mut salt)?;
        let mut nonce = [0u8; NONCE_LEN];
        random_bytes(&mut nonce)?;
        let params = scrypt::Params::new(SCRYPT_LOG_N, SCRYPT_R, SCRYPT_P, 32).map_err(|e| {
            KeyError::ScryptParams {
                n: 1 << SCRYPT_LOG_N,
                r: SCRYPT_R.into(),
                p: SCRYPT_P.into(),
                reason: e.to_string(),
            }
        })?;
        let key = derive_key(password, &salt, &params)?;
        let ciphertext = XSalsa20Poly1305::new(SecretboxKey::from_slice(key.as_ref()))
            .encrypt(SecretboxNonce::from_slice(&nonce), pkcs8.as_bytes())
            .map_err(|e| KeyError::Encode {
                what: "encrypted private key",
                message: e.to_string(),
            })?;
        let body = EncryptedKey {
            kdf: Kdf {
                name: "scrypt".to_string(),
                params: ScryptParams {
                    n: 1 << SCRYPT_LOG_N,
                    r: SCRYPT_R.into(),
                    p: SCRYPT_P.into(),
                },
                salt: BASE64.encode(salt),
            },
            cipher: Cipher {
                name: "nacl/secretbox".to_string(),
                nonce: BASE64.encode(nonce),
            },
            ciphertext: BASE64.encode(ciphertext),
        };
        let json = serde_json::to_vec(&body).map_err(|e| KeyError::Encode {
            what: "encrypted key json",
            message: e.to_string(),
        })?;
        pem_rfc7468::encode_string(SIGSTORE_PRIVATE_KEY_LABEL, LineEnding::LF, &json).map_err(|e| {
            KeyError::Encode {
                what: "encrypted key pem",
                message: e.to_string(),
            }
        })
    }

    /// The public key of this private key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey {
            key: self.secret.public_key(),
        }
    }

    /// Signs `message`: ECDSA P-256 over SHA-256 of the message, as an ASN.1 DER signature.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let signature: Signature = SigningKey::from(&self.secret).sign(message);
        signature.to_der().as_bytes().to_vec()
    }

    /// Signs an already computed SHA-256 digest, as an ASN.1 DER signature.
    pub fn sign_prehash(&self, digest: &[u8; 32]) -> Result<Vec<u8>, KeyError> {
        let signature: Signature = SigningKey::from(&self.secret)
            .sign_prehash(digest)
            .map_err(|e| KeyError::Encode {
                what: "signature",
                message: e.to_string(),
            })?;
        Ok(signature.to_der().as_bytes().to_vec())
    }
}

impl PublicKey {
    /// Reads a PEM `PUBLIC KEY` (PKIX SubjectPublicKeyInfo). Keys other than P-256 give
    /// [`KeyError::UnsupportedKeyType`].
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let (label, der) = decode_pem(pem)?;
        if label != PUBLIC_KEY_LABEL {
            return Err(KeyError::UnexpectedLabel {
                found: label,
                expected: "PUBLIC KEY",
            });
        }
        Self::from_der(&der)
    }

    /// Reads a DER PKIX SubjectPublicKeyInfo.
    pub fn from_der(der: &[u8]) -> Result<Self, KeyError> {
        let info = SubjectPublicKeyInfoRef::try_from(der).map_err(|e| KeyError::InvalidKey {
            what: "subject public key info",
            message: e.to_string(),
        })?;
        check_algorithm(&info.algorithm)?;
        let key = p256::PublicKey::from_public_key_der(der).map_err(|e| KeyError::InvalidKey {
            what: "p-256 public key",
            message: e.to_string(),
        })?;
        Ok(Self { key })
    }

    /// The key as PEM `PUBLIC KEY` (64-column lines, `\n` endings, as cosign writes it).
    pub fn to_pem(&self) -> Result<String, KeyError> {
        self.key
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| KeyError::Encode {
                what: "public key pem",
                message: e.to_string(),
            })
    }

    /// The key as DER PKIX SubjectPublicKeyInfo.
    pub fn to_der(&self) -> Result<Vec<u8>, KeyError> {
        self.key
            .to_public_key_der()
            .map(|doc| doc.into_vec())
            .map_err(|e| KeyError::Encode {
                what: "public key der",
                message: e.to_string(),
            })
    }

    /// Verifies an ASN.1 DER ECDSA P-256 signature over SHA-256 of `message`.
    pub fn verify(&self, message: &[u8], der_signature: &[u8]) -> Result<(), KeyError> {
        let signature =
            Signature::from_der(der_signature).map_err(|e| KeyError::MalformedSignature {
                message: e.to_string(),
            })?;
        VerifyingKey::from(&self.key)
            .verify(message, &signature)
            .map_err(|_| KeyError::SignatureMismatch)
    }
}

/// The key password from the environment: `COSIGN_PASSWORD` (as cosign reads it), else
/// `RAMPART_PASSWORD`. A variable set to the empty string is an empty password, not an absent
/// one. `None` when neither is set (the CLI then prompts).
pub fn password_from_env() -> Option<Vec<u8>> {
    ["COSIGN_PASSWORD", "RAMPART_PASSWORD"]
        .iter()
        .find_map(std::env::var_os)
        .map(os_to_bytes)
}

#[cfg(unix)]
fn os_to_bytes(value: std::ffi::OsString) -> Vec<u8> {
    use std::os::unix::ffi::OsStringExt as _;
    value.into_vec()
}

#[cfg(not(unix))]
fn os_to_bytes(value: std::ffi::OsString) -> Vec<u8> {
    value.to_string_lossy().into_owned().into_bytes()
}

fn random_bytes(out: &mut [u8]) -> Result<(), KeyError> {
    OsRng.try_fill_bytes(out).map_err(|e| KeyError::Random {
        message: e.to_string(),
    })
}

/// Decodes a PEM document (leading and trailing whitespace allowed) into label and body.
fn decode_pem(pem: &str) -> Result<(String, Vec<u8>), KeyError> {
    if pem.len() > MAX_PEM_LEN {
        return Err(KeyError::TooLarge {
            found: pem.len(),
            limit: MAX_PEM_LEN,
        });
    }
    let text = pem.trim();
    // Go's encoding/pem (cosign) writes a final newline; pem-rfc7468 accepts it but not other
    // trailing whitespace, so normalise to exactly one.
    let text = Zeroizing::new(format!("{text}\n"));
    match pem_rfc7468::decode_vec(text.as_bytes()) {
        Ok((label, der)) => Ok((label.to_string(), der)),
        Err(pem_rfc7468::Error::Base64(e)) => Err(KeyError::Base64 {
            field: "pem body",
            message: e.to_string(),
        }),
        Err(e) => Err(KeyError::Pem {
            message: e.to_string(),
        }),
    }
}

/// Accepts an id-ecPublicKey / P-256 algorithm identifier; names other known key types.
fn check_algorithm(algorithm: &AlgorithmIdentifierRef<'_>) -> Result<(), KeyError> {
    let oid = if algorithm.oid == OID_EC_PUBLIC_KEY {
        match algorithm.parameters_oid() {
            Ok(curve) if curve == OID_P256 => return Ok(()),
            Ok(curve) => curve,
            Err(_) => {
                return Err(KeyError::UnsupportedKeyType {
                    found: "ecdsa with explicit or missing curve parameters".to_string(),
                });
            }
        }
    } else {
        algorithm.oid
    };
    let text = oid.to_string();
    let found = KNOWN_ALGORITHMS
        .iter()
        .find(|(known, _)| *known == text)
        .map_or_else(
            || format!("with oid {text}"),
            |(_, name)| (*name).to_string(),
        );
    Err(KeyError::UnsupportedKeyType { found })
}

fn decode_field(field: &'static str, value: &str) -> Result<Vec<u8>, KeyError> {
    BASE64.decode(value).map_err(|e| KeyError::Base64 {
        field,
        message: e.to_string(),
    })
}

/// Checks the scrypt parameters read from a key file and turns them into [`scrypt::Params`].
fn scrypt_params(params: &ScryptParams) -> Result<scrypt::Params, KeyError> {
    let refuse = |reason: String| KeyError::ScryptParams {
        n: params.n,
        r: params.r,
        p: params.p,
        reason,
    };
    if params.n < 2 || !params.n.is_power_of_two() {
        return Err(refuse(
            "N must be a power of two greater than 1".to_string(),
        ));
    }
    if params.r == 0 || params.p == 0 {
        return Err(refuse("r and p must be at least 1".to_string()));
    }
    let memory = params
        .n
        .checked_mul(params.r)
        .and_then(|v| v.checked_mul(128));
    if memory.is_none_or(|m| m > MAX_SCRYPT_MEMORY) {
        return Err(refuse(format!(
            "128·N·r bytes of memory exceeds the {} MiB limit",
            MAX_SCRYPT_MEMORY >> 20
        )));
    }
    let work = params
        .n
        .checked_mul(params.r)
        .and_then(|v| v.checked_mul(params.p));
    if work.is_none_or(|w| w > MAX_SCRYPT_WORK) {
        return Err(refuse(format!(
            "N·r·p exceeds the work limit of {MAX_SCRYPT_WORK} (cosign uses 65536·8·1)"
        )));
    }
    // N is a power of two below 2^32 here (memory bound), and r, p below 2^22 (work bound).
    let log_n = u8::try_from(params.n.trailing_zeros()).map_err(|e| refuse(e.to_string()))?;
    let r = u32::try_from(params.r).map_err(|e| refuse(e.to_string()))?;
    let p = u32::try_from(params.p).map_err(|e| refuse(e.to_string()))?;
    scrypt::Params::new(log_n, r, p, 32).map_err(|e| refuse(e.to_string()))
}

fn derive_key(
    password: &[u8],
    salt: &[u8],
    params: &scrypt::Params,
) -> Result<Zeroizing<[u8; 32]>, KeyError> {
    let mut key = Zeroizing::new([0u8; 32]);
    scrypt::scrypt(password, salt, params, key.as_mut()).map_err(|e| KeyError::ScryptParams {
        n: 1u64 << params.log_n(),
        r: params.r().into(),
        p: params.p().into(),
        reason: e.to_string(),
    })?;
    Ok(key)
}

/// Opens the JSON envelope of an encrypted key and returns the sealed PKCS#8 DER.
fn decrypt(body: &[u8], password: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let envelope: EncryptedKey = serde_json::from_slice(body).map_err(|e| KeyError::Json {
        message: e.to_string(),
    })?;
    if envelope.kdf.name != "scrypt" {
        return Err(KeyError::UnsupportedKdf {
            found: envelope.kdf.name,
        });
    }
    if envelope.cipher.name != "nacl/secretbox" {
        return Err(KeyError::UnsupportedCipher {
            found: envelope.cipher.name,
        });
    }
    let params = scrypt_params(&envelope.kdf.params)?;
    let salt = decode_field("salt", &envelope.kdf.salt)?;
    let nonce = decode_field("nonce", &envelope.cipher.nonce)?;
    if nonce.len() != NONCE_LEN {
        return Err(KeyError::FieldLength {
            field: "nonce",
            expected: NONCE_LEN,
            found: nonce.len(),
        });
    }
    let ciphertext = decode_field("ciphertext", &envelope.ciphertext)?;
    if ciphertext.len() < SECRETBOX_TAG_LEN {
        return Err(KeyError::CiphertextTooShort {
            found: ciphertext.len(),
        });
    }
    let key = derive_key(password, &salt, &params)?;
    XSalsa20Poly1305::new(SecretboxKey::from_slice(key.as_ref()))
        .decrypt(SecretboxNonce::from_slice(&nonce), ciphertext.as_slice())
        .map(Zeroizing::new)
        .map_err(|_| KeyError::WrongPassword)
}
