//! cosign-compatible keys: the sigstore-rs and cosign key files, round trips, hostile input,
//! and Python's `cryptography` + `PyNaCl` as an independent oracle.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use rampart_sign::keys::{KeyError, KeyPair, PrivateKey, PublicKey};

fn corpus(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpus/cosign")
        .join(rel)
}

fn read(rel: &str) -> String {
    let path = corpus(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

const KEYS: &str = "sigstore-rs/tests/data/keys";

#[test]
fn sign_verify_round_trip() {
    let pair = KeyPair::generate().unwrap();
    let sig = pair.private_key.sign(b"payload");
    pair.public_key.verify(b"payload", &sig).unwrap();
    assert!(matches!(
        pair.public_key.verify(b"payloaD", &sig),
        Err(KeyError::SignatureMismatch)
    ));
    let other = KeyPair::generate().unwrap();
    assert!(matches!(
        other.public_key.verify(b"payload", &sig),
        Err(KeyError::SignatureMismatch)
    ));
    assert!(matches!(
        pair.public_key.verify(b"payload", b"\x30\x02garbage"),
        Err(KeyError::MalformedSignature { .. })
    ));
}

#[test]
fn sigstore_rs_ecdsa_keys_load() {
    let legacy = PrivateKey::from_pem(
        &read(&format!("{KEYS}/ecdsa_encrypted_private.key")),
        b"123",
    )
    .unwrap();
    let plain = PrivateKey::from_pem(&read(&format!("{KEYS}/ecdsa_private.key")), b"").unwrap();
    let cosign_cli = PrivateKey::from_pem(
        &read(&format!(
            "{KEYS}/cosign_generated_encrypted_empty_private.key"
        )),
        b"",
    )
    .unwrap();
    for key in [&legacy, &plain, &cosign_cli] {
        let sig = key.sign(b"hello");
        key.public_key().verify(b"hello", &sig).unwrap();
        let pem = key.public_key().to_pem().unwrap();
        assert_eq!(PublicKey::from_pem(&pem).unwrap(), key.public_key());
    }
}
