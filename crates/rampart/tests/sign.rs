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

use common::{ok, root};

fn rampart(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rampart"));
    c.args(args)
        .env("RAMPART_LAYER_CACHE", common::layer_cache_file())
        .env_remove("COSIGN_PASSWORD")
        .env_remove("RAMPART_PASSWORD")
        .env_remove("COSIGN_REPOSITORY")
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
    exits(&out, 2, "wrong password");

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

/// The run exited with `code` and said `message` on stderr.
fn exits(out: &Output, code: i32, message: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{err}");
    assert!(err.contains(message), "{err}");
}

/// The signature manifest and blobs as an independent client sees them: skopeo reads the
/// manifest, Python fetches the payload blob over plain HTTP and verifies the signature with
/// `cryptography` against the public key; returns the payload's JSON.
fn independent_check(port: u16, repo: &str, digest: &str, public_pem: &str) -> serde_json::Value {
    let tag = format!("sha256-{}.sig", &digest[7..]);
    let raw = Command::new("skopeo")
        .args([
            "inspect",
            "--raw",
            "--tls-verify=false",
            &format!("docker://127.0.0.1:{port}/{repo}:{tag}"),
        ])
        .output()
        .unwrap();
    assert!(
        raw.status.success(),
        "{}",
        String::from_utf8_lossy(&raw.stderr)
    );
    let script = r#"
import base64, json, sys, urllib.request
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
port, repo, pub = sys.argv[1], sys.argv[2], sys.argv[3]
manifest = json.load(sys.stdin)
layer = manifest["layers"][-1]
assert layer["mediaType"] == "application/vnd.dev.cosign.simplesigning.v1+json", layer
payload = urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/{repo}/blobs/{layer['digest']}").read()
sig = base64.b64decode(layer["annotations"]["dev.cosignproject.cosign/signature"])
serialization.load_pem_public_key(pub.encode()).verify(sig, payload, ec.ECDSA(hashes.SHA256()))
print(payload.decode())
"#;
    let mut child = Command::new(common::oracles().join("venv/bin/python"))
        .args(["-c", script, &port.to_string(), repo, public_pem])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), &raw.stdout).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "independent verification failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn sign_and_verify_on_a_real_registry() {
    let Setup {
        reg,
        host,
        image,
        dir,
        pw,
        key,
        public,
    } = Setup::new();
    let public_pem = std::fs::read_to_string(&public).unwrap();

    // Nothing signed yet: "no signature" has its own exit code.
    let out = rampart(&["verify", "--insecure", "--key", &public, &image], &[]);
    exits(&out, 3, "no signature found");

    ok(&rampart(
        &[
            "sign",
            "--insecure",
            "--key",
            &key,
            "-a",
            "env=prod",
            &image,
        ],
        &pw,
    ));
    let out = rampart(
        &[
            "verify",
            "--insecure",
            "--key",
            &public,
            "-f",
            "json",
            "-a",
            "env=prod",
            &image,
        ],
        &[],
    );
    ok(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let digest = v[0]["digest"].as_str().unwrap().to_owned();
    // What is on the registry is cosign's layout, checked without rampart.
    let payload = independent_check(reg.port, "shop/app", &digest, &public_pem);
    assert_eq!(
        payload["critical"]["image"]["docker-manifest-digest"],
        digest.as_str()
    );
    assert_eq!(
        payload["critical"]["identity"]["docker-reference"],
        format!("{host}/shop/app")
    );
    assert_eq!(
        payload["critical"]["type"],
        "cosign container image signature"
    );
    assert_eq!(payload["optional"]["env"], "prod");

    // A required annotation the signature does not carry; another key: invalid (exit 1).
    let out = rampart(
        &[
            "verify",
            "--insecure",
            "--key",
            &public,
            "-a",
            "env=dev",
            &image,
        ],
        &[],
    );
    exits(&out, 1, "");
    let (other_key, other_pub) = keypair(dir.path(), "other");
    let out = rampart(&["verify", "--insecure", "--key", &other_pub, &image], &[]);
    exits(&out, 1, "verification failed");

    // Signing again with the same key and annotations adds nothing; a second key appends a layer
    // and both verify.
    let out = rampart(
        &[
            "sign",
            "--insecure",
            "--key",
            &key,
            "-a",
            "env=prod",
            &image,
        ],
        &pw,
    );
    ok(&out);
    assert!(String::from_utf8_lossy(&out.stderr).contains("already carries"));
    ok(&rampart(
        &["sign", "--insecure", "--key", &other_key, &image],
        &pw,
    ));
    ok(&rampart(
        &["verify", "--insecure", "--key", &other_pub, &image],
        &[],
    ));
    ok(&rampart(
        &["verify", "--insecure", "--key", &public, &image],
        &[],
    ));

    // The signature follows the digest: the same image under another tag verifies.
    common::push(&reg, "shop/app:renamed", None);
    ok(&rampart(
        &[
            "verify",
            "--insecure",
            "--key",
            &public,
            &format!("{host}/shop/app:renamed"),
        ],
        &[],
    ));
    // By digest too; the registry's answer is checked against that digest.
    ok(&rampart(
        &[
            "verify",
            "--insecure",
            "--key",
            &public,
            &format!("{host}/shop/app@{digest}"),
        ],
        &[],
    ));

    // Another image (the example's worker) with the first image's signature manifest copied
    // onto its digest: the payload names another digest.
    let worker = format!("{host}/shop/worker:1");
    let worker_digest = &push_worker(&worker);
    copy_attached(&host, &digest, worker_digest, "sig");
    let out = rampart(&["verify", "--insecure", "--key", &public, &worker], &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&digest[..19]) && err.contains(&worker_digest[..19]),
        "names both digests: {err}"
    );

    // Another repository with the same image but no signatures: no signature (exit 3).
    common::push(&reg, "mirror/app:1", None);
    let out = rampart(
        &[
            "verify",
            "--insecure",
            "--key",
            &public,
            &format!("{host}/mirror/app:1"),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(3));

    // A trust policy: shop/* must be signed by the key with env=prod; others are refused.
    let policy = dir.path().join("policy.toml");
    std::fs::write(
        &policy,
        format!("[[image]]\nmatch = [\"{host}/shop/*\"]\nkeys = [\"k.pub\"]\nannotations = {{ env = \"prod\" }}\n"),
    )
    .unwrap();
    let p = policy.to_str().unwrap();
    ok(&rampart(
        &["verify", "--insecure", "--policy", p, &image],
        &[],
    ));
    let out = rampart(&["verify", "--insecure", "--policy", p, &worker], &[]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the worker's copied signature does not count"
    );
    let out = rampart(
        &[
            "verify",
            "--insecure",
            "--policy",
            p,
            &format!("{host}/mirror/app:1"),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "unmatched images are refused");
    assert!(String::from_utf8_lossy(&out.stderr).contains("no rule"));
}

/// An SBOM attached as a signed CycloneDX attestation, verified, handed to `rampart scan`; the
/// envelope checked by an independent verifier; wrong types, keys, copies and policies caught.
#[test]
fn attest_verify_and_scan_the_verified_sbom() {
    let Setup {
        reg,
        host,
        image,
        dir,
        pw,
        key,
        public,
    } = Setup::new();
    let sbom = dir.path().join("app.cdx.json");
    let oci = format!("oci-dir:{}", common::image_dir().join("oci").display());
    ok(&rampart(&["sbom", &oci, "-o", sbom.to_str().unwrap()], &[]));

    let out = rampart(
        &["verify-attestation", "--insecure", "--key", &public, &image],
        &[],
    );
    assert_eq!(out.status.code(), Some(3), "none yet");
    ok(&rampart(
        &[
            "attest",
            "--insecure",
            "--key",
            &key,
            "--type",
            "cyclonedx",
            "--predicate",
            sbom.to_str().unwrap(),
            &image,
        ],
        &pw,
    ));
    let verified = dir.path().join("verified.cdx.json");
    let out = rampart(
        &[
            "verify-attestation",
            "--insecure",
            "--key",
            &public,
            "--type",
            "cyclonedx",
            "--output-predicate",
            verified.to_str().unwrap(),
            &image,
        ],
        &[],
    );
    ok(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("https://cyclonedx.org/bom"));
    // The verified predicate is the SBOM: `rampart scan` reads it and finds the image's
    // vulnerabilities (the Go standard library of its binary).
    let scan = common::rampart_command()
        .args(["scan", "--no-config", "--no-inventory", "-f", "json"])
        .arg(&verified)
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&scan.stdout).unwrap();
    assert!(
        report["vulnerabilities"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["id"] == "CVE-2023-24539"),
        "{}",
        String::from_utf8_lossy(&scan.stderr)
    );

    // The envelope on the registry, checked without rampart: DSSE PAE over the statement,
    // ECDSA P-256 with the public key, subject = the image digest.
    let digest = {
        let out = Command::new("skopeo")
            .args([
                "inspect",
                "--raw",
                "--tls-verify=false",
                &format!("docker://{image}"),
            ])
            .output()
            .unwrap();
        format!("sha256:{}", hex(&sha256(&out.stdout)))
    };
    let script = r#"
import base64, json, sys, urllib.request, subprocess
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
port, repo, digest, pub = sys.argv[1:5]
tag = "sha256-" + digest[7:] + ".att"
raw = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://127.0.0.1:{port}/{repo}:{tag}"], capture_output=True, check=True).stdout
layer = json.loads(raw)["layers"][0]
assert layer["mediaType"] == "application/vnd.dsse.envelope.v1+json", layer
assert layer["annotations"]["predicateType"] == "https://cyclonedx.org/bom", layer
env = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/{repo}/blobs/{layer['digest']}").read())
body = base64.b64decode(env["payload"])
t = env["payloadType"].encode()
pae = b"DSSEv1 %d %s %d %s" % (len(t), t, len(body), body)
serialization.load_pem_public_key(pub.encode()).verify(base64.b64decode(env["signatures"][0]["sig"]), pae, ec.ECDSA(hashes.SHA256()))
st = json.loads(body)
assert st["subject"][0]["digest"]["sha256"] == digest[7:], st["subject"]
assert st["predicate"]["bomFormat"] == "CycloneDX"
print("ok")
"#;
    let out = Command::new(common::oracles().join("venv/bin/python"))
        .args([
            "-c",
            script,
            &reg.port.to_string(),
            "shop/app",
            &digest,
            &std::fs::read_to_string(&public).unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "independent check: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Another predicate type, another key: invalid (exit 1).
    let out = rampart(
        &[
            "verify-attestation",
            "--insecure",
            "--key",
            &public,
            "--type",
            "slsaprovenance",
            &image,
        ],
        &[],
    );
    exits(&out, 1, "");
    let (_, other_pub) = keypair(dir.path(), "other");
    let out = rampart(
        &[
            "verify-attestation",
            "--insecure",
            "--key",
            &other_pub,
            &image,
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));

    // The attestation copied onto another image's digest: its subject names another digest.
    let worker = format!("{host}/shop/worker:1");
    let worker_digest = &push_worker(&worker);
    copy_attached(&host, &digest, worker_digest, "att");
    let out = rampart(
        &[
            "verify-attestation",
            "--insecure",
            "--key",
            &public,
            &worker,
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .to_lowercase()
            .contains("subject"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A policy requiring a signature and a CycloneDX attestation; then also provenance.
    ok(&rampart(
        &["sign", "--insecure", "--key", &key, &image],
        &pw,
    ));
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, format!("[[image]]\nmatch = [\"{host}/shop/*\"]\nkeys = [\"k.pub\"]\nattestations = [\"cyclonedx\"]\n")).unwrap();
    ok(&rampart(
        &[
            "verify",
            "--insecure",
            "--policy",
            policy.to_str().unwrap(),
            &image,
        ],
        &[],
    ));
    std::fs::write(&policy, format!("[[image]]\nmatch = [\"{host}/shop/*\"]\nkeys = [\"k.pub\"]\nattestations = [\"cyclonedx\", \"slsaprovenance\"]\n")).unwrap();
    let out = rampart(
        &[
            "verify",
            "--insecure",
            "--policy",
            policy.to_str().unwrap(),
            &image,
        ],
        &[],
    );
    exits(&out, 1, "https://slsa.dev/provenance/v0.2");
}

fn sha256(data: &[u8]) -> Vec<u8> {
    use sha2::Digest as _;
    sha2::Sha256::digest(data).to_vec()
}

/// Copies the example's worker image (another image) in as `reference`; returns its digest.
fn push_worker(reference: &str) -> String {
    let st = Command::new("skopeo")
        .args(["copy", "-q", "--dest-tls-verify=false"])
        .arg(format!(
            "oci:{}",
            root().join("examples/images/worker").display()
        ))
        .arg(format!("docker://{reference}"))
        .status()
        .unwrap();
    assert!(st.success());
    let index: serde_json::Value = serde_json::from_slice(
        &std::fs::read(root().join("examples/images/worker/index.json")).unwrap(),
    )
    .unwrap();
    index["manifests"][0]["digest"].as_str().unwrap().to_owned()
}

/// Copies (with skopeo) the `.sig`/`.att` manifest attached to `from` in shop/app onto the tag
/// of `to` in shop/worker: an attacker reusing a signature for another image.
fn copy_attached(host: &str, from: &str, to: &str, suffix: &str) {
    let st = Command::new("skopeo")
        .args([
            "copy",
            "-q",
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
        ])
        .arg(format!(
            "docker://{host}/shop/app:sha256-{}.{suffix}",
            &from[7..]
        ))
        .arg(format!(
            "docker://{host}/shop/worker:sha256-{}.{suffix}",
            &to[7..]
        ))
        .status()
        .unwrap();
    assert!(st.success());
}

/// A registry with the test image as `shop/app:1` and a key pair `k` (password `pw`).
struct Setup {
    reg: common::Registry,
    host: String,
    image: String,
    dir: tempfile::TempDir,
    pw: [(&'static str, &'static str); 1],
    key: String,
    public: String,
}

impl Setup {
    fn new() -> Self {
        let reg = common::Registry::start(common::Auth::None);
        common::push(&reg, "shop/app:1", None);
        let host = format!("127.0.0.1:{}", reg.port);
        let dir = tempfile::tempdir().unwrap();
        let (key, public) = keypair(dir.path(), "k");
        Self {
            image: format!("{host}/shop/app:1"),
            reg,
            host,
            dir,
            pw: [("COSIGN_PASSWORD", "pw")],
            key,
            public,
        }
    }
}

/// `rampart key generate` of `dir/name.{key,pub}` with the password `pw`; the two paths.
fn keypair(dir: &std::path::Path, name: &str) -> (String, String) {
    let prefix = dir.join(name);
    ok(&rampart(
        &[
            "key",
            "generate",
            "--output-prefix",
            prefix.to_str().unwrap(),
        ],
        &[("COSIGN_PASSWORD", "pw")],
    ));
    (
        format!("{}.key", prefix.display()),
        format!("{}.pub", prefix.display()),
    )
}

/// Exit code and stderr of a run.
fn code_and_err(out: &Output) -> (Option<i32>, String) {
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A registry that lies: an HTTP proxy in front of the real one that forwards reads verbatim,
/// except manifest requests whose path `tamper` answers for: those get the bytes and the
/// `Docker-Content-Digest` header `tamper` returns. Returns its port; serves until the test ends.
fn lying_registry(
    upstream: u16,
    tamper: impl Fn(&str) -> Option<(Vec<u8>, String)> + Send + 'static,
) -> u16 {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let port = server.server_addr().to_ip().unwrap().port();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    std::thread::spawn(move || {
        for req in server.incoming_requests() {
            let url = req.url().to_owned();
            let header = |name: &str| {
                req.headers()
                    .iter()
                    .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
                    .map(|h| h.value.as_str().to_owned())
            };
            let response = if let Some((bytes, digest)) = tamper(&url) {
                tiny_http::Response::from_data(bytes)
                    .with_header(
                        tiny_http::Header::from_bytes(
                            "Content-Type",
                            "application/vnd.oci.image.manifest.v1+json",
                        )
                        .unwrap(),
                    )
                    .with_header(
                        tiny_http::Header::from_bytes("Docker-Content-Digest", digest).unwrap(),
                    )
            } else {
                let target = format!("http://127.0.0.1:{upstream}{url}");
                let mut call = match req.method() {
                    tiny_http::Method::Get => agent.get(&target),
                    tiny_http::Method::Head => agent.head(&target),
                    _ => {
                        let _ = req.respond(tiny_http::Response::empty(405));
                        continue;
                    }
                };
                if let Some(a) = header("Accept") {
                    call = call.header("Accept", &a);
                }
                let mut up = call.call().unwrap();
                let mut r = tiny_http::Response::from_data(
                    up.body_mut()
                        .with_config()
                        .limit(1 << 30)
                        .read_to_vec()
                        .unwrap_or_default(),
                )
                .with_status_code(up.status().as_u16());
                for name in ["Content-Type", "Docker-Content-Digest"] {
                    if let Some(v) = up.headers().get(name) {
                        r = r.with_header(
                            tiny_http::Header::from_bytes(name, v.as_bytes()).unwrap(),
                        );
                    }
                }
                r
            };
            let _ = req.respond(response);
        }
    });
    port
}

/// Tampering by the registry: it serves another image's manifest for the signed tag or digest.
/// When it lies about the digest, rampart refuses (exit 1, "not the one it names") for
/// signatures, attestations and policies alike; when it serves another image honestly under the
/// tag, that image has no signature (exit 3). Through the same proxy without tampering, the
/// signature verifies, so the failures come from the tampering.
#[test]
fn a_registry_serving_another_manifest_is_caught() {
    let s = Setup::new();
    let worker = push_worker(&format!("{}/shop/worker:2", s.host));
    sign_and_attest(&s, &[]);
    let signed = served_digest(&s.host, "shop/app", "1");
    // The worker's manifest bytes, as the registry stores them.
    let worker_manifest = ureq::get(format!(
        "http://{}/v2/shop/worker/manifests/{worker}",
        s.host
    ))
    .header("Accept", "application/vnd.oci.image.manifest.v1+json")
    .call()
    .unwrap()
    .body_mut()
    .read_to_vec()
    .unwrap();

    let mode = std::sync::Arc::new(std::sync::atomic::AtomicU8::new(0));
    let m = mode.clone();
    let (signed_path, worker_digest) = (signed.clone(), worker.clone());
    let port = lying_registry(s.reg.port, move |url| {
        let is_image = url == "/v2/shop/app/manifests/1"
            || url == format!("/v2/shop/app/manifests/{signed_path}");
        match m.load(std::sync::atomic::Ordering::SeqCst) {
            1 if is_image => Some((worker_manifest.clone(), signed_path.clone())),
            2 if is_image => Some((worker_manifest.clone(), worker_digest.clone())),
            _ => None,
        }
    });
    let via = |reference: &str| format!("127.0.0.1:{port}/shop/app{reference}");
    let policy = s.dir.path().join("trust.toml");
    std::fs::write(
        &policy,
        format!(
            "[[image]]\nmatch = [\"127.0.0.1:{port}/shop/*\"]\nkeys = [{:?}]\nattestations = [\"slsaprovenance\"]\n",
            s.public
        ),
    )
    .unwrap();

    // No tampering: verified through the proxy.
    ok(&rampart(
        &["verify", "--insecure", "--key", &s.public, &via(":1")],
        &[],
    ));
    ok(&rampart(
        &[
            "verify",
            "--insecure",
            "--policy",
            policy.to_str().unwrap(),
            &via(":1"),
        ],
        &[],
    ));

    // The registry lies: other bytes under the signed digest.
    mode.store(1, std::sync::atomic::Ordering::SeqCst);
    for reference in [":1".to_owned(), format!("@{signed}")] {
        for args in [
            vec!["verify", "--insecure", "--key", &s.public],
            vec![
                "verify-attestation",
                "--insecure",
                "--key",
                &s.public,
                "--type",
                "slsaprovenance",
            ],
            vec!["verify", "--insecure", "--policy", policy.to_str().unwrap()],
        ] {
            let image = via(&reference);
            let mut args = args.clone();
            args.push(&image);
            let (code, err) = code_and_err(&rampart(&args, &[]));
            assert_eq!(code, Some(1), "{args:?}: {err}");
            assert!(err.contains("not the one it names"), "{args:?}: {err}");
            assert!(err.contains(&signed), "{args:?}: {err}");
        }
    }

    // The registry serves the other image honestly under the tag: that image is not signed.
    mode.store(2, std::sync::atomic::Ordering::SeqCst);
    let (code, err) = code_and_err(&rampart(
        &["verify", "--insecure", "--key", &s.public, &via(":1")],
        &[],
    ));
    assert_eq!(code, Some(3), "{err}");
    assert!(
        err.contains(&format!("no signature found for {}@{worker}", via(":1"))),
        "{err}"
    );
    // By digest the client checks the bytes itself: other bytes are refused.
    let (code, err) = code_and_err(&rampart(
        &[
            "verify",
            "--insecure",
            "--key",
            &s.public,
            &via(&format!("@{signed}")),
        ],
        &[],
    ));
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("not the one it names"), "{err}");
}

/// `COSIGN_REPOSITORY`: signatures and attestations stored in another repository, as cosign
/// does; found there only when the variable is set, and never written beside the image.
#[test]
fn signatures_in_another_repository() {
    let s = Setup::new();
    let store = format!("{}/shop/signatures", s.host);
    let env = [("COSIGN_REPOSITORY", store.as_str())];
    sign_and_attest(&s, &env);
    ok(&rampart(
        &["verify", "--insecure", "--key", &s.public, &s.image],
        &env,
    ));
    ok(&rampart(
        &[
            "verify-attestation",
            "--insecure",
            "--key",
            &s.public,
            "--type",
            "slsaprovenance",
            &s.image,
        ],
        &env,
    ));
    // The tags are in shop/signatures, none beside the image.
    let tags = |repo: &str| -> Vec<String> {
        let body = ureq::get(format!("http://{}/v2/{repo}/tags/list", s.host))
            .call()
            .unwrap()
            .body_mut()
            .read_to_vec()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        v["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().to_owned())
            .collect()
    };
    let stored = tags("shop/signatures");
    assert_eq!(stored.len(), 2, "{stored:?}");
    assert!(
        stored.iter().any(|t| t.ends_with(".sig")) && stored.iter().any(|t| t.ends_with(".att"))
    );
    assert_eq!(tags("shop/app"), vec!["1".to_owned()]);
    // Without the variable, nothing is found beside the image.
    let (code, err) = code_and_err(&rampart(
        &["verify", "--insecure", "--key", &s.public, &s.image],
        &[],
    ));
    assert_eq!(code, Some(3), "{err}");
}

/// The manifest digest the registry serves for `reference` (`host/repo:tag`), read without
/// rampart.
fn served_digest(host: &str, repo: &str, tag: &str) -> String {
    let resp = ureq::get(format!("http://{host}/v2/{repo}/manifests/{tag}"))
        .header("Accept", "application/vnd.oci.image.manifest.v1+json")
        .call()
        .unwrap();
    resp.headers()["docker-content-digest"]
        .to_str()
        .unwrap()
        .to_owned()
}

/// Attaches a Sigstore bundle as cosign v3 does (tests/support/cosign_v3_attach.py, written
/// from cosign's bundle spec, signing with Python `cryptography`).
fn attach_v3(
    host: &str,
    repo: &str,
    digest: &str,
    predicate_type: &str,
    key: &str,
    bundle: Option<&str>,
) {
    let mut c = Command::new(common::oracles().join("venv/bin/python"));
    c.arg(root().join("crates/rampart/tests/support/cosign_v3_attach.py"))
        .args([host, repo, digest, predicate_type, key]);
    if let Some(b) = bundle {
        c.arg(b);
    }
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// cosign v3's default layout: signatures and attestations as Sigstore bundles attached through
/// OCI referrers (here the referrers fallback tag, as Debian's registry has no referrers API),
/// written independently of rampart. rampart verifies them, refuses them with another key or
/// when annotations are required (v3 statements carry none), tells "none" from "invalid", and
/// refuses cosign's real keyless bundle (it cannot verify Fulcio certificates offline).
#[test]
fn cosign_v3_bundles_found_through_referrers() {
    let s = Setup::new();
    let digest = served_digest(&s.host, "shop/app", "1");
    let key = s.dir.path().join("v3.pem");
    let public = s.dir.path().join("v3.pub");
    let st = Command::new(common::oracles().join("venv/bin/python"))
        .args([
            "-c",
            "import sys\nfrom cryptography.hazmat.primitives import serialization as s\nfrom cryptography.hazmat.primitives.asymmetric import ec\nk = ec.generate_private_key(ec.SECP256R1())\nopen(sys.argv[1], 'wb').write(k.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption()))\nopen(sys.argv[2], 'wb').write(k.public_key().public_bytes(s.Encoding.PEM, s.PublicFormat.SubjectPublicKeyInfo))",
            key.to_str().unwrap(),
            public.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(st.success());
    let public = public.to_str().unwrap();
    let verify = |key: &str, extra: &[&str]| {
        let mut args = vec!["verify", "--insecure", "--key", key];
        args.extend_from_slice(extra);
        args.push(&s.image);
        code_and_err(&rampart(&args, &[]))
    };
    assert_eq!(verify(public, &[]).0, Some(3));

    attach_v3(
        &s.host,
        "shop/app",
        &digest,
        "https://sigstore.dev/cosign/sign/v1",
        key.to_str().unwrap(),
        None,
    );
    let out = rampart(
        &[
            "verify",
            "--insecure",
            "--key",
            public,
            "-f",
            "json",
            &s.image,
        ],
        &[],
    );
    ok(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["digest"], digest.as_str());
    // Another key, or a required annotation: invalid, not "none".
    let (code, err) = verify(&s.public, &[]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("sigstore bundle"), "{err}");
    let (code, err) = verify(public, &["-a", "env=prod"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("annotations"), "{err}");
    // The signature bundle is not an attestation.
    let att = |key: &str| {
        code_and_err(&rampart(
            &[
                "verify-attestation",
                "--insecure",
                "--key",
                key,
                "--type",
                "slsaprovenance",
                &s.image,
            ],
            &[],
        ))
    };
    assert_eq!(att(public).0, Some(3));
    attach_v3(
        &s.host,
        "shop/app",
        &digest,
        "https://slsa.dev/provenance/v0.2",
        key.to_str().unwrap(),
        None,
    );
    let predicate = s.dir.path().join("out.json");
    ok(&rampart(
        &[
            "verify-attestation",
            "--insecure",
            "--key",
            public,
            "--type",
            "slsaprovenance",
            "--output-predicate",
            predicate.to_str().unwrap(),
            &s.image,
        ],
        &[],
    ));
    let p: serde_json::Value = serde_json::from_slice(&std::fs::read(&predicate).unwrap()).unwrap();
    assert_eq!(p["builder"]["id"], "ci");
    assert_eq!(att(&s.public).0, Some(1));

    // cosign's real keyless bundle, attached to another image: found, and refused.
    let worker = push_worker(&format!("{}/shop/worker:2", s.host));
    let real = root().join(
        "../shared/corpus/cosign/cosign-repo/pkg/cosign/testdata/oci-attestation.sigstore.json",
    );
    attach_v3(
        &s.host,
        "shop/worker",
        &worker,
        "https://slsa.dev/provenance/v1",
        key.to_str().unwrap(),
        Some(real.to_str().unwrap()),
    );
    let (code, err) = code_and_err(&rampart(
        &[
            "verify-attestation",
            "--insecure",
            "--key",
            public,
            &format!("{}/shop/worker:2", s.host),
        ],
        &[],
    ));
    assert_eq!(code, Some(1), "{err}");
}

/// Signs `s.image` and attests it with a small SLSA provenance predicate, `env` added to the
/// key's password.
fn sign_and_attest(s: &Setup, env: &[(&str, &str)]) {
    let env: Vec<(&str, &str)> = env.iter().chain(s.pw.iter()).copied().collect();
    ok(&rampart(
        &["sign", "--insecure", "--key", &s.key, &s.image],
        &env,
    ));
    let predicate = s.dir.path().join("provenance.json");
    std::fs::write(&predicate, r#"{"builder":{"id":"ci"}}"#).unwrap();
    ok(&rampart(
        &[
            "attest",
            "--insecure",
            "--key",
            &s.key,
            "--type",
            "slsaprovenance",
            "--predicate",
            predicate.to_str().unwrap(),
            &s.image,
        ],
        &env,
    ));
}

/// The intent carried with the image: attested only when bound to the image's digest, verified
/// and returned as a document `rampart intent` reads; an intent of another image is refused.
#[test]
fn an_intent_attestation_is_bound_to_its_image() {
    let s = Setup::new();
    let digest = {
        let out = Command::new("skopeo")
            .args([
                "inspect",
                "--raw",
                "--tls-verify=false",
                &format!("docker://{}", s.image),
            ])
            .output()
            .unwrap();
        format!("sha256:{}", hex(&sha256(&out.stdout)))
    };
    let example =
        std::fs::read_to_string(common::root().join("examples/intent/web.intent.toml")).unwrap();
    let mine = example.replace(
        "registry.example.com/shop/web:1.4.2@sha256:9b7c5f3c2d1e0a4b6c8d7e9f0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3",
        &format!("{}/shop/app@{digest}", s.host),
    );
    assert_ne!(mine, example);
    let intent = s.dir.path().join("app.intent.toml");
    std::fs::write(&intent, &mine).unwrap();
    let other = s.dir.path().join("other.intent.toml");
    std::fs::write(&other, &example).unwrap();

    // an intent for another digest is not attached
    let (code, err) = code_and_err(&rampart(
        &[
            "attest",
            "--insecure",
            "--key",
            &s.key,
            "--type",
            "intent",
            "--predicate",
            other.to_str().unwrap(),
            &s.image,
        ],
        &s.pw,
    ));
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("the intent is for registry.example.com/shop/web"),
        "{err}"
    );
    // an invalid document is not attached either, with its position
    let bad = s.dir.path().join("bad.intent.toml");
    std::fs::write(&bad, mine.replace("user = 10001", "user = -1")).unwrap();
    let (code, err) = code_and_err(&rampart(
        &[
            "attest",
            "--insecure",
            "--key",
            &s.key,
            "--type",
            "intent",
            "--predicate",
            bad.to_str().unwrap(),
            &s.image,
        ],
        &s.pw,
    ));
    assert_eq!(code, Some(2));
    assert!(err.contains("bad.intent.toml:9:8"), "{err}");

    ok(&rampart(
        &[
            "attest",
            "--insecure",
            "--key",
            &s.key,
            "--type",
            "intent",
            "--predicate",
            intent.to_str().unwrap(),
            &s.image,
        ],
        &s.pw,
    ));
    let out_file = s.dir.path().join("verified.intent.json");
    let out = rampart(
        &[
            "verify-attestation",
            "--insecure",
            "--key",
            &s.public,
            "--type",
            "intent",
            "--output-predicate",
            out_file.to_str().unwrap(),
            &s.image,
        ],
        &[],
    );
    ok(&out);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("https://rampart.dev/attestation/intent/v1")
    );
    // the verified predicate is the intent: check and compile read it as it is
    let check = common::rampart_in(
        &["intent", "check", out_file.to_str().unwrap()],
        s.dir.path(),
    );
    ok(&check);
    assert!(String::from_utf8_lossy(&check.stdout).contains(&digest));
    // a trust policy (and so the admission webhook's signature gate) can require it by name
    ok(&rampart(
        &["sign", "--insecure", "--key", &s.key, &s.image],
        &s.pw,
    ));
    common::push(&s.reg, "shop/bare:1", None);
    let bare = format!("{}/shop/bare:1", s.host);
    ok(&rampart(
        &["sign", "--insecure", "--key", &s.key, &bare],
        &s.pw,
    ));
    let policy = s.dir.path().join("trust.toml");
    std::fs::write(
        &policy,
        format!(
            "[[image]]\nmatch = [\"{}/shop/**\"]\nkeys = [\"{}\"]\nattestations = [\"intent\"]\n",
            s.host, s.public
        ),
    )
    .unwrap();
    let p = policy.to_str().unwrap();
    ok(&rampart(
        &["verify", "--insecure", "--policy", p, &s.image],
        &[],
    ));
    let (code, err) = code_and_err(&rampart(
        &["verify", "--insecure", "--policy", p, &bare],
        &[],
    ));
    assert_eq!(
        code,
        Some(3),
        "signed, but no intent attested (none found: 3): {err}"
    );
    assert!(
        err.contains("requires a https://rampart.dev/attestation/intent/v1 attestation"),
        "{err}"
    );

    // `rampart scan --intent-from IMAGE`: the attested intent checks the workloads running it
    let k8s = s.dir.path().join("k8s");
    std::fs::create_dir(&k8s).unwrap();
    std::fs::write(
        k8s.join("app.yaml"),
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: app, namespace: shop}}\nspec:\n  containers:\n  - name: app\n    image: {}/shop/app@{digest}\n    ports: [{{containerPort: 8080}}]\n    securityContext:\n      runAsNonRoot: true\n      runAsUser: 10001\n      allowPrivilegeEscalation: false\n      readOnlyRootFilesystem: true\n      capabilities: {{drop: [ALL], add: [SYS_ADMIN]}}\n      seccompProfile: {{type: Localhost, localhostProfile: rampart/web.json}}\n",
            s.host
        ),
    )
    .unwrap();
    let scan = |extra: &[&str]| {
        let mut args = vec![
            "scan",
            "--no-config",
            "--format",
            "json",
            "--insecure",
            k8s.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        rampart(&args, &[])
    };
    let out = scan(&["--policy", p, "--intent-from", &s.image]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let int001: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule_id"] == "INT001")
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        int001.len(),
        1,
        "{int001:?} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(int001[0].contains("adds SYS_ADMIN"), "{int001:?}");
    // an image without an attested intent: said, the scan incomplete (exit 2)
    let out = scan(&["--policy", p, "--intent-from", &bare]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no intent attestation verified"));
    // without a trust policy, attested intents cannot be verified
    let out = scan(&["--intent-from", &s.image]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("trust policy"));
}
