//! cosign-compatible keys: the sigstore-rs and cosign key files, round trips, hostile input,
//! and Python's `cryptography` + `PyNaCl` (pinned in scripts/install-oracles.sh) as an
//! independent oracle through tests/keys_oracle.py.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use proptest::prelude::*;
use rampart_sign::keys::{KeyError, KeyPair, PrivateKey, PublicKey, password_from_env};
use serde_json::{Value, json};

fn corpus(rel: &str) -> PathBuf {
    rampart_testkit::paths::corpus("cosign").join(rel)
}

fn read(rel: &str) -> String {
    let path = corpus(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

const KEYS: &str = "sigstore-rs/tests/data/keys";

fn key_file(name: &str) -> String {
    read(&format!("{KEYS}/{name}"))
}

/// Runs a batch of requests through tests/keys_oracle.py and returns its answers.
fn oracle(requests: &[Value]) -> Vec<Value> {
    let mut child = Command::new(rampart_testkit::oracles::python())
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/keys_oracle.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&serde_json::to_vec(requests).unwrap())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "keys_oracle.py failed: {}",
        out.status
    );
    let answers: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answers.len(), requests.len());
    answers
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn str_of(v: &Value, field: &str) -> String {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} in {v}"))
        .to_string()
}

/// The JSON body of an encrypted key PEM.
fn body(pem: &str) -> Value {
    let (_, der) = pem_rfc7468::decode_vec(pem.as_bytes()).unwrap();
    serde_json::from_slice(&der).unwrap()
}

/// An encrypted key PEM around `doc`.
fn wrap(label: &str, doc: &Value) -> String {
    pem_rfc7468::encode_string(
        label,
        pem_rfc7468::LineEnding::LF,
        &serde_json::to_vec(doc).unwrap(),
    )
    .unwrap()
}

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
    assert_ne!(other.public_key, pair.public_key);
    assert!(matches!(
        other.public_key.verify(b"payload", &sig),
        Err(KeyError::SignatureMismatch)
    ));
    assert!(matches!(
        pair.public_key.verify(b"payload", b"\x30\x02garbage"),
        Err(KeyError::MalformedSignature { .. })
    ));
    // sign_prehash over SHA-256 of the message is the same signature scheme.
    let digest: [u8; 32] = sha256(b"payload");
    let pre = pair.private_key.sign_prehash(&digest).unwrap();
    pair.public_key.verify(b"payload", &pre).unwrap();
    assert_eq!(format!("{:?}", pair.private_key), "PrivateKey(<redacted>)");
}

fn sha256(data: &[u8]) -> [u8; 32] {
    use sha2::Digest as _;
    let mut out = [0u8; 32];
    out.copy_from_slice(&sha2::Sha256::digest(data));
    out
}

/// Every key file of sigstore-rs: the P-256 ones load (and agree with the oracle's decryption),
/// the others are named as unsupported key types.
#[test]
fn sigstore_rs_key_files() {
    let ecdsa = [
        (
            "ecdsa_encrypted_private.key",
            "123",
            "ENCRYPTED COSIGN PRIVATE KEY",
        ),
        (
            "cosign_generated_encrypted_empty_private.key",
            "",
            "ENCRYPTED SIGSTORE PRIVATE KEY",
        ),
    ];
    let requests: Vec<Value> = ecdsa
        .iter()
        .map(|(name, pw, _)| json!({"op": "decrypt", "pem": key_file(name), "password": hex(pw.as_bytes())}))
        .chain([json!({"op": "public_of", "pem": key_file("ecdsa_private.key")})])
        .collect();
    let answers = oracle(&requests);
    for ((name, pw, label), answer) in ecdsa.iter().zip(&answers) {
        let key = PrivateKey::from_pem(&key_file(name), pw.as_bytes())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(str_of(answer, "label"), *label);
        assert_eq!(
            key.public_key().to_pem().unwrap(),
            str_of(answer, "public_pem"),
            "{name}"
        );
        let sig = key.sign(b"hello");
        key.public_key().verify(b"hello", &sig).unwrap();
        // A wrong password is told apart from a malformed file.
        let err = PrivateKey::from_pem(&key_file(name), b"not the password").unwrap_err();
        assert!(matches!(err, KeyError::WrongPassword), "{name}: {err}");
        assert!(err.to_string().contains("wrong password or corrupted key"));
    }
    for (name, _, _) in ecdsa {
        assert!(PrivateKey::pem_is_encrypted(&key_file(name)), "{name}");
    }
    assert!(!PrivateKey::pem_is_encrypted(&key_file(
        "ecdsa_private.key"
    )));
    assert!(!PrivateKey::pem_is_encrypted("garbage"));
    let plain = PrivateKey::from_pem(&key_file("ecdsa_private.key"), b"").unwrap();
    assert_eq!(
        plain.public_key().to_pem().unwrap(),
        str_of(&answers[2], "public_pem")
    );

    for (name, pw, kind) in [
        ("ed25519_private.key", "", "ed25519"),
        ("ed25519_encrypted_private.key", "123", "ed25519"),
        ("rsa_private.key", "", "rsa"),
        ("rsa_encrypted_private.key", "123", "rsa"),
    ] {
        let err = PrivateKey::from_pem(&key_file(name), pw.as_bytes()).unwrap_err();
        match &err {
            KeyError::UnsupportedKeyType { found } => assert_eq!(found, kind, "{name}"),
            other => panic!("{name}: {other}"),
        }
        assert!(err.to_string().starts_with("unsupported key type"), "{err}");
    }
}

/// The public keys of the cosign repository and sigstore-rs's example parse and are written
/// back byte for byte as cosign (Go's encoding/pem) wrote them; the DER example is the same key
/// as the PEM one when its bytes say so.
#[test]
fn cosign_public_keys_round_trip() {
    for rel in [
        "cosign-repo/.github/workflows/cosign-test.pub",
        "cosign-repo/release/release-cosign.pub",
        "sigstore-rs/examples/key_interface/key_pair_import/ECDSA_P256_ASN1_PUBLIC_PEM.pub",
    ] {
        let text = read(rel);
        let key = PublicKey::from_pem(&text).unwrap_or_else(|e| panic!("{rel}: {e}"));
        assert_eq!(key.to_pem().unwrap(), text, "{rel}");
        assert_eq!(PublicKey::from_der(&key.to_der().unwrap()).unwrap(), key);
    }
    let dir = "sigstore-rs/examples/key_interface/key_pair_import";
    let der = std::fs::read(corpus(&format!("{dir}/ECDSA_P256_ASN1_PUBLIC_DER.pub"))).unwrap();
    let from_der = PublicKey::from_der(&der).unwrap();
    assert_eq!(from_der.to_der().unwrap(), der);
    // The example's DER and PEM files hold two different keys, and neither is the key of the
    // sigstore-rs test key files (checked: only the round trips above apply).
    let from_pem =
        PublicKey::from_pem(&read(&format!("{dir}/ECDSA_P256_ASN1_PUBLIC_PEM.pub"))).unwrap();
    let test_key = PrivateKey::from_pem(&key_file("ecdsa_private.key"), b"")
        .unwrap()
        .public_key();
    assert_ne!(from_der, from_pem);
    assert_ne!(test_key, from_pem);
    assert_ne!(test_key, from_der);
}

/// cosign's CI key: its password is a secret, but the file parses as far as decryption.
#[test]
fn cosign_test_key_parses_without_its_password() {
    let text = read("cosign-repo/.github/workflows/cosign-test.key");
    let doc = body(&text);
    assert_eq!(doc["kdf"]["name"], "scrypt");
    assert_eq!(doc["cipher"]["name"], "nacl/secretbox");
    let err = PrivateKey::from_pem(&text, b"").unwrap_err();
    assert!(matches!(err, KeyError::WrongPassword), "{err}");
}

/// rampart writes keys the oracle decrypts (scrypt with the file's parameters, secretbox,
/// PKCS#8), in exactly the JSON layout of a key the cosign CLI made.
#[test]
fn oracle_decrypts_keys_rampart_wrote() {
    let passwords: [&[u8]; 3] = [
        b"",
        b"correct horse battery staple",
        "pässwörd\u{0}".as_bytes(),
    ];
    let pairs: Vec<(KeyPair, String)> = passwords
        .iter()
        .map(|pw| {
            let pair = KeyPair::generate().unwrap();
            let pem = pair.private_key.to_encrypted_pem(pw).unwrap();
            (pair, pem)
        })
        .collect();
    let mut requests: Vec<Value> = pairs
        .iter()
        .zip(passwords)
        .map(|((_, pem), pw)| json!({"op": "decrypt", "pem": pem, "password": hex(pw)}))
        .collect();
    requests.push(json!({"op": "decrypt",
        "pem": key_file("cosign_generated_encrypted_empty_private.key"), "password": ""}));
    let answers = oracle(&requests);
    let cosign_shape = &answers[3]["shape"];
    assert_eq!(answers[3]["go_layout"], true);
    for (((pair, pem), pw), answer) in pairs.iter().zip(passwords).zip(&answers) {
        assert_eq!(str_of(answer, "label"), "ENCRYPTED SIGSTORE PRIVATE KEY");
        assert_eq!(
            str_of(answer, "public_pem"),
            pair.public_key.to_pem().unwrap()
        );
        assert_eq!(&answer["shape"], cosign_shape, "{pem}");
        assert_eq!(answer["go_layout"], true, "{pem}");
        // PEM lines as Go writes them: 64 columns, '\n', a final newline.
        let lines: Vec<&str> = pem.lines().collect();
        assert!(
            lines[1..lines.len() - 2].iter().all(|l| l.len() == 64),
            "{pem}"
        );
        assert!(pem.ends_with("-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n"));
        // And rampart reads its own key back.
        let back = PrivateKey::from_pem(pem, pw).unwrap();
        assert_eq!(back.public_key(), pair.public_key);
    }
    // Fresh salt and nonce each time.
    let a = body(&pairs[0].1);
    let b = body(&pairs[0].0.private_key.to_encrypted_pem(b"").unwrap());
    assert_ne!(a["kdf"]["salt"], b["kdf"]["salt"]);
    assert_ne!(a["cipher"]["nonce"], b["cipher"]["nonce"]);
}

/// Keys the oracle generated and encrypted in the cosign format (both labels, N = 2^15 and
/// 2^16), and the same keys as plain PKCS#8 and SEC1 PEM, load in rampart.
#[test]
fn rampart_loads_keys_the_oracle_wrote() {
    let cases = [
        ("ENCRYPTED SIGSTORE PRIVATE KEY", 65536, &b""[..]),
        ("ENCRYPTED SIGSTORE PRIVATE KEY", 32768, &b"s3cret"[..]),
        ("ENCRYPTED COSIGN PRIVATE KEY", 32768, &b"123"[..]),
    ];
    let requests: Vec<Value> = cases
        .iter()
        .map(|(label, n, pw)| json!({"op": "encrypt", "label": label, "n": n, "password": hex(pw)}))
        .collect();
    for ((_, _, pw), answer) in cases.iter().zip(oracle(&requests)) {
        let want = str_of(&answer, "public_pem");
        let key = PrivateKey::from_pem(&str_of(&answer, "encrypted_pem"), pw).unwrap();
        assert_eq!(key.public_key().to_pem().unwrap(), want);
        for plain in ["pkcs8_pem", "sec1_pem"] {
            let key = PrivateKey::from_pem(&str_of(&answer, plain), b"ignored").unwrap();
            assert_eq!(key.public_key().to_pem().unwrap(), want, "{plain}");
        }
        assert!(matches!(
            PrivateKey::from_pem(&str_of(&answer, "encrypted_pem"), b"wrong"),
            Err(KeyError::WrongPassword)
        ));
    }
}

/// The oracle verifies rampart's signatures and rampart verifies the oracle's (randomised
/// ECDSA, so high-S signatures occur too), and each rejects a signature over another message.
#[test]
fn signatures_cross_verify_with_the_oracle() {
    let pair = KeyPair::generate().unwrap();
    let public_pem = pair.public_key.to_pem().unwrap();
    let messages: Vec<Vec<u8>> = (0u8..24).map(|i| vec![i; usize::from(i) * 7]).collect();
    let mut requests = Vec::new();
    for m in &messages {
        let sig = pair.private_key.sign(m);
        requests.push(json!({"op": "verify", "public_pem": public_pem, "message": hex(m), "signature": hex(&sig)}));
        requests.push(json!({"op": "verify", "public_pem": public_pem, "message": hex(&[m.as_slice(), b"x"].concat()), "signature": hex(&sig)}));
        requests.push(json!({"op": "sign", "message": hex(m)}));
    }
    let answers = oracle(&requests);
    for (m, chunk) in messages.iter().zip(answers.chunks(3)) {
        assert_eq!(
            chunk[0]["ok"], true,
            "oracle rejects rampart's signature over {m:?}"
        );
        assert_eq!(chunk[1]["ok"], false);
        let key = PublicKey::from_pem(&str_of(&chunk[2], "public_pem")).unwrap();
        let sig = unhex(&str_of(&chunk[2], "signature"));
        key.verify(m, &sig)
            .unwrap_or_else(|e| panic!("oracle signature over {m:?}: {e}"));
        assert!(matches!(
            key.verify(b"other", &sig),
            Err(KeyError::SignatureMismatch)
        ));
    }
}

/// Public and private keys of other types generated by the oracle are named, not misread.
#[test]
fn other_key_types_are_named() {
    let kinds = [
        ("p384", "ecdsa p-384"),
        ("secp256k1", "ecdsa secp256k1"),
        ("rsa", "rsa"),
        ("ed25519", "ed25519"),
    ];
    let requests: Vec<Value> = kinds
        .iter()
        .map(|(k, _)| json!({"op": "other", "kind": k}))
        .collect();
    for ((kind, name), answer) in kinds.iter().zip(oracle(&requests)) {
        for result in [
            PublicKey::from_pem(&str_of(&answer, "public_pem")).map(|_| ()),
            PrivateKey::from_pem(&str_of(&answer, "pkcs8_pem"), b"").map(|_| ()),
        ] {
            match result {
                Err(KeyError::UnsupportedKeyType { found }) => assert_eq!(found, *name, "{kind}"),
                other => panic!("{kind}: {other:?}"),
            }
        }
    }
}

/// Each kind of damage to an encrypted key gives its own error, never a panic.
#[test]
fn damaged_encrypted_keys() {
    let good = key_file("ecdsa_encrypted_private.key");
    let label = "ENCRYPTED COSIGN PRIVATE KEY";
    let doc = body(&good);
    let with = |path: &[&str], value: Value| {
        let mut d = doc.clone();
        let mut slot = &mut d;
        for p in path {
            slot = &mut slot[*p];
        }
        *slot = value;
        wrap(label, &d)
    };
    let load = |pem: &str| PrivateKey::from_pem(pem, b"123").unwrap_err();

    // Wrong password.
    assert!(matches!(
        PrivateKey::from_pem(&good, b"124").unwrap_err(),
        KeyError::WrongPassword
    ));
    // Truncated PEM: cut in the middle of the body, and just before the END line.
    for cut in [good.len() / 2, good.find("-----END").unwrap()] {
        let err = load(&good[..cut]);
        assert!(matches!(err, KeyError::Pem { .. }), "cut at {cut}: {err}");
    }
    // Bad base64 in the PEM body.
    let err = load(&good.replacen("eyJr", "ey!r", 1));
    assert!(
        matches!(
            err,
            KeyError::Base64 {
                field: "pem body",
                ..
            }
        ),
        "{err}"
    );
    // Bad base64 in the JSON fields.
    for field in [&["kdf", "salt"][..], &["cipher", "nonce"], &["ciphertext"]] {
        let err = load(&with(field, json!("not*base64")));
        match err {
            KeyError::Base64 { field: f, .. } => assert_eq!(f, *field.last().unwrap()),
            other => panic!("{field:?}: {other}"),
        }
    }
    // Not JSON, and JSON of the wrong shape.
    let err = load(
        &pem_rfc7468::encode_string(label, pem_rfc7468::LineEnding::LF, b"{\"kdf\":").unwrap(),
    );
    assert!(matches!(err, KeyError::Json { .. }), "{err}");
    let err = load(&with(&["kdf", "params", "N"], json!(-1)));
    assert!(matches!(err, KeyError::Json { .. }), "{err}");
    // Tampered ciphertext: one bit flipped in the sealed key, or in the tag.
    let sealed = BASE64.decode(doc["ciphertext"].as_str().unwrap()).unwrap();
    for at in [0, 20, sealed.len() - 1] {
        let mut t = sealed.clone();
        t[at] ^= 1;
        let err = load(&with(&["ciphertext"], json!(BASE64.encode(&t))));
        assert!(matches!(err, KeyError::WrongPassword), "byte {at}: {err}");
    }
    let err = load(&with(&["ciphertext"], json!(BASE64.encode(&sealed[..10]))));
    assert!(
        matches!(err, KeyError::CiphertextTooShort { found: 10 }),
        "{err}"
    );
    let err = load(&with(&["cipher", "nonce"], json!(BASE64.encode([0u8; 12]))));
    assert!(
        matches!(
            err,
            KeyError::FieldLength {
                field: "nonce",
                expected: 24,
                found: 12
            }
        ),
        "{err}"
    );
    // Absurd or invalid scrypt parameters are refused before any work.
    for (n, r, p) in [
        (1u64 << 40, 8u64, 1u64),
        (1 << 22, 8, 1),
        (65536, 1 << 20, 1),
        (65536, 8, 1 << 20),
        (65536, 8, 16),
        (u64::MAX, u64::MAX, u64::MAX),
        (65535, 8, 1),
        (0, 8, 1),
        (1, 8, 1),
        (65536, 0, 1),
        (65536, 8, 0),
    ] {
        let err = load(&with(&["kdf", "params"], json!({"N": n, "r": r, "p": p})));
        match &err {
            KeyError::ScryptParams {
                n: en,
                r: er,
                p: ep,
                ..
            } => assert_eq!((*en, *er, *ep), (n, r, p)),
            other => panic!("N={n} r={r} p={p}: {other}"),
        }
        assert!(err.to_string().contains("scrypt parameters"), "{err}");
    }
    // Other algorithms.
    let err = load(&with(&["kdf", "name"], json!("pbkdf2")));
    assert!(matches!(err, KeyError::UnsupportedKdf { .. }), "{err}");
    let err = load(&with(&["cipher", "name"], json!("aes-gcm")));
    assert!(matches!(err, KeyError::UnsupportedCipher { .. }), "{err}");
    // A sealed plaintext that is not PKCS#8 decrypts but does not decode.
    let sealed = seal(b"123", b"not a pkcs#8 document");
    let err = load(&wrap(label, &sealed));
    assert!(matches!(err, KeyError::InvalidKey { .. }), "{err}");
    // Wrong label, and oversized input.
    let err = load(&good.replace("COSIGN PRIVATE KEY", "CERTIFICATE"));
    assert!(matches!(err, KeyError::UnexpectedLabel { .. }), "{err}");
    let err = load(&" ".repeat(70_000));
    assert!(matches!(err, KeyError::TooLarge { .. }), "{err}");
    assert!(matches!(
        PublicKey::from_pem(&good),
        Err(KeyError::UnexpectedLabel { .. })
    ));
}

/// An envelope (N = 1024) sealing `plaintext`, made with the same crates rampart uses; the
/// oracle tests check those crates against Python's.
fn seal(password: &[u8], plaintext: &[u8]) -> Value {
    use crypto_secretbox::aead::{Aead, KeyInit};
    let (salt, nonce) = ([7u8; 32], [9u8; 24]);
    let mut key = [0u8; 32];
    scrypt::scrypt(
        password,
        &salt,
        &scrypt::Params::new(10, 8, 1, 32).unwrap(),
        &mut key,
    )
    .unwrap();
    let sealed = crypto_secretbox::XSalsa20Poly1305::new(&key.into())
        .encrypt(&nonce.into(), plaintext)
        .unwrap();
    json!({
        "kdf": {"name": "scrypt", "params": {"N": 1024, "r": 8, "p": 1}, "salt": BASE64.encode(salt)},
        "cipher": {"name": "nacl/secretbox", "nonce": BASE64.encode(nonce)},
        "ciphertext": BASE64.encode(sealed),
    })
}

/// `password_from_env` prefers COSIGN_PASSWORD, then RAMPART_PASSWORD; an empty value is an
/// empty password. Checked in child processes of this test binary (the environment of the
/// running tests cannot be changed safely).
#[test]
fn password_from_env_order() {
    let cases: [(&[(&str, &str)], &str); 4] = [
        (
            &[("COSIGN_PASSWORD", "c"), ("RAMPART_PASSWORD", "r")],
            "some:c",
        ),
        (&[("RAMPART_PASSWORD", "r")], "some:r"),
        (&[("COSIGN_PASSWORD", "")], "some:"),
        (&[], "none"),
    ];
    for (vars, want) in cases {
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.args([
            "--exact",
            "password_from_env_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env_remove("COSIGN_PASSWORD")
        .env_remove("RAMPART_PASSWORD")
        .env("RAMPART_KEYS_TEST_EXPECT", want);
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{vars:?}: {stdout}");
        assert!(stdout.contains("1 passed"), "{vars:?}: {stdout}");
    }
}

/// The child half of `password_from_env_order`: checks only when the parent set the variable.
#[test]
fn password_from_env_child() {
    if let Ok(want) = std::env::var("RAMPART_KEYS_TEST_EXPECT") {
        let got = match password_from_env() {
            Some(p) => format!("some:{}", String::from_utf8(p).unwrap()),
            None => "none".to_string(),
        };
        assert_eq!(got, want);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Arbitrary text never panics the private or public key readers.
    #[test]
    fn from_pem_never_panics_on_text(text in "\\PC{0,400}", pw in proptest::collection::vec(any::<u8>(), 0..8)) {
        let _ = PrivateKey::from_pem(&text, &pw);
        let _ = PublicKey::from_pem(&text);
    }

    /// Arbitrary bytes inside each accepted armour never panic either.
    #[test]
    fn from_pem_never_panics_in_armour(
        label in prop::sample::select(vec![
            "ENCRYPTED SIGSTORE PRIVATE KEY", "ENCRYPTED COSIGN PRIVATE KEY", "PRIVATE KEY",
            "EC PRIVATE KEY", "RSA PRIVATE KEY", "PUBLIC KEY",
        ]),
        bytes in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let pem = pem_rfc7468::encode_string(label, pem_rfc7468::LineEnding::LF, &bytes).unwrap();
        let _ = PrivateKey::from_pem(&pem, b"");
        let _ = PublicKey::from_pem(&pem);
    }

    /// Well-formed envelopes with arbitrary (cheap or absurd) parameters and field contents.
    #[test]
    fn from_pem_never_panics_on_envelopes(
        n in prop::sample::select(vec![0u64, 1, 2, 3, 16, 1024, 1 << 40, u64::MAX]),
        r in 0u64..40,
        p in 0u64..4,
        salt in proptest::collection::vec(any::<u8>(), 0..40),
        nonce in proptest::collection::vec(any::<u8>(), 0..30),
        sealed in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let doc = json!({
            "kdf": {"name": "scrypt", "params": {"N": n, "r": r, "p": p}, "salt": BASE64.encode(salt)},
            "cipher": {"name": "nacl/secretbox", "nonce": BASE64.encode(nonce)},
            "ciphertext": BASE64.encode(sealed),
        });
        let result = PrivateKey::from_pem(&wrap("ENCRYPTED SIGSTORE PRIVATE KEY", &doc), b"");
        prop_assert!(result.is_err());
    }
}
