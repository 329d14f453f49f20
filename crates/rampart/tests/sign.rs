//! `rampart key`: key files cosign reads (checked by an independent implementation: Python's
//! `cryptography` and PyNaCl decrypt what rampart wrote), keys cosign wrote load here, files are
//! never overwritten by accident, and a missing password is a clear error.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output, Stdio};

use common::root;

fn rampart(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rampart"));
    c.args(args)
        .env_remove("COSIGN_PASSWORD")
        .env_remove("RAMPART_PASSWORD")
        .stdin(Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

#[test]
fn generated_keys_are_cosign_format_and_load_back() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("release");
    let p = prefix.to_str().unwrap();
    let out = rampart(
        &["key", "generate", "--output-prefix", p],
        &[("RAMPART_PASSWORD", "s3cret pass")],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = std::fs::read_to_string(dir.path().join("release.key")).unwrap();
    let public = std::fs::read_to_string(dir.path().join("release.pub")).unwrap();
    assert!(
        key.starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n"),
        "{key}"
    );
    assert!(public.starts_with("-----BEGIN PUBLIC KEY-----\n"));
    let mode = std::fs::metadata(dir.path().join("release.key"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600, "the private key is readable by its owner only");

    // The independent implementation decrypts it with the password and finds the same public key.
    let oracles = common::oracles();
    let req = serde_json::json!([{"op": "decrypt", "pem": key, "password": hex(b"s3cret pass")}]);
    let mut child = Command::new(oracles.join("venv/bin/python"))
        .arg(root().join("crates/rampart-sign/tests/keys_oracle.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), req.to_string().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        answer[0]["public_pem"].as_str().unwrap().trim(),
        public.trim()
    );
    assert_eq!(
        answer[0]["go_layout"], true,
        "the JSON body is laid out as cosign (Go) writes it"
    );

    // `key public` derives the same public key; a wrong password is named as such.
    let out = rampart(
        &["key", "public", "--key", &format!("{p}.key")],
        &[("COSIGN_PASSWORD", "s3cret pass")],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), public.trim());
    let out = rampart(
        &["key", "public", "--key", &format!("{p}.key")],
        &[("COSIGN_PASSWORD", "wrong")],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("wrong password"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Existing files are not overwritten unless asked.
    let out = rampart(
        &["key", "generate", "--output-prefix", p],
        &[("RAMPART_PASSWORD", "x")],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--force"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("release.key")).unwrap(),
        key
    );
    let out = rampart(
        &["key", "generate", "--output-prefix", p, "--force"],
        &[("RAMPART_PASSWORD", "x")],
    );
    assert!(out.status.success());
    assert_ne!(
        std::fs::read_to_string(dir.path().join("release.key")).unwrap(),
        key
    );

    // No password and no terminal to ask on: a clear error, nothing written.
    let out = rampart(
        &[
            "key",
            "generate",
            "--output-prefix",
            dir.path().join("other").to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("COSIGN_PASSWORD"));
    assert!(!dir.path().join("other.key").exists());
}

/// A key the cosign CLI generated (empty password) loads, as cosign users keep theirs.
#[test]
fn a_key_made_by_cosign_loads() {
    let key = root().join("../shared/corpus/cosign/sigstore-rs/tests/data/keys/cosign_generated_encrypted_empty_private.key");
    let out = rampart(
        &["key", "public", "--key", key.to_str().unwrap()],
        &[("COSIGN_PASSWORD", "")],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pem = String::from_utf8(out.stdout).unwrap();
    assert!(
        pem.starts_with("-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE"),
        "{pem}"
    );
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
