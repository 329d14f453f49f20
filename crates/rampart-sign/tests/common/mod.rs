//! Test keys on `p256` directly, and the Python `cryptography` oracle.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use std::path::PathBuf;

use p256::ecdsa::signature::{Signer as _, Verifier as _};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};

/// A P-256 key pair derived from a seed byte.
pub struct Key(pub SigningKey);

impl Key {
    pub fn new(seed: u8) -> Self {
        let mut bytes = [seed; 32];
        bytes[0] = 1; // keep the scalar in range and non-zero
        Key(SigningKey::from_slice(&bytes).unwrap())
    }
    pub fn verifier(&self) -> Pub {
        Pub(*self.0.verifying_key())
    }
    pub fn public_pem(&self) -> String {
        self.0
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap()
    }
    pub fn private_pem(&self) -> String {
        self.0.to_pkcs8_pem(LineEnding::LF).unwrap().to_string()
    }
}

impl rampart_sign::signature::Signer for Key {
    fn sign(&self, message: &[u8]) -> Vec<u8> {
        let sig: Signature = self.0.sign(message);
        sig.to_der().as_bytes().to_vec()
    }
}

/// A P-256 public key.
pub struct Pub(pub VerifyingKey);

impl rampart_sign::signature::Verifier for Pub {
    fn verify(&self, message: &[u8], der_signature: &[u8]) -> Result<(), String> {
        let sig = Signature::from_der(der_signature).map_err(|e| format!("not DER: {e}"))?;
        self.0.verify(message, &sig).map_err(|e| e.to_string())
    }
}

/// Runs a Python script with the oracle venv; `files` are written to a temp dir given as
/// argv[1].
pub use rampart_testkit::oracles::run_python as python;

pub fn corpus(rel: &str) -> PathBuf {
    rampart_testkit::paths::corpus("cosign").join(rel)
}

/// Python `cryptography`: prints `ok` or `bad` for each (message file, signature file) pair
/// verified with `pub.pem` (ECDSA P-256, SHA-256, DER).
pub const PY_VERIFY: &str = r#"
import sys, os
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.exceptions import InvalidSignature
d = sys.argv[1]
key = serialization.load_pem_public_key(open(os.path.join(d, "pub.pem"), "rb").read())
i = 0
while os.path.exists(os.path.join(d, f"msg{i}")):
    msg = open(os.path.join(d, f"msg{i}"), "rb").read()
    sig = open(os.path.join(d, f"sig{i}"), "rb").read()
    try:
        key.verify(sig, msg, ec.ECDSA(hashes.SHA256()))
        print("ok")
    except InvalidSignature:
        print("bad")
    i += 1
"#;

/// Python `cryptography`: signs `msg` with `key.pem`, writes the DER signature to stdout as hex.
pub const PY_SIGN: &str = r#"
import sys, os
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
d = sys.argv[1]
key = serialization.load_pem_private_key(open(os.path.join(d, "key.pem"), "rb").read(), None)
print(key.sign(open(os.path.join(d, "msg"), "rb").read(), ec.ECDSA(hashes.SHA256())).hex())
"#;

pub fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

pub const DIGEST: &str = "sha256:97fc222cee7991b5b061d4d4afdb5f3428fcb0c9054e1690313786befa1e4e36";
pub const OTHER_DIGEST: &str =
    "sha256:0000000000000000000000000000000000000000000000000000000000000001";
