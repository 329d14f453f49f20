//! `rampart admission serve` end to end: the binary serves real TLS on loopback; requests are
//! shaped as kube-apiserver sends them (the fixtures of rampart-admission); the signature gate
//! verifies real signatures made by `rampart sign` on Debian's docker-registry; /mutate pins
//! the verified digest; every decision is in the audit log; SIGTERM stops it cleanly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{ok, root};
use serde_json::Value;

fn rampart(args: &[&str], dir: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(args)
        .current_dir(dir)
        .env("COSIGN_PASSWORD", "pw")
        .env_remove("COSIGN_REPOSITORY")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

use rampart_testkit::registry::free_port;

/// The webhook process, killed on drop if the test fails first.
struct Webhook(Child);

impl Drop for Webhook {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A Pod CREATE as kube-apiserver sends it, with `image` and a fresh uid.
fn pod_review(image: &str, uid: &str, dry_run: bool) -> Value {
    let path = root().join("crates/rampart-admission/tests/fixtures/pod-create.json");
    let mut review: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    review["request"]["uid"] = uid.into();
    review["request"]["dryRun"] = dry_run.into();
    review["request"]["object"]["spec"]["containers"][0]["image"] = image.into();
    review
}

#[test]
fn the_webhook_binary_gates_on_signatures_over_tls() {
    let reg = common::Registry::start(common::Auth::None);
    common::push(&reg, "shop/app:1", None);
    common::push(&reg, "shop/unsigned:1", None);
    let host = format!("127.0.0.1:{}", reg.port);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&rampart(
        &["key", "generate", "--output-prefix", "release"],
        d,
    ));
    ok(&rampart(
        &[
            "sign",
            "--insecure",
            "--key",
            "release.key",
            &format!("{host}/shop/app:1"),
        ],
        d,
    ));
    std::fs::write(
        d.join("trust.toml"),
        format!("[[image]]\nmatch = [\"{host}/shop/*\"]\nkeys = [\"release.pub\"]\n"),
    )
    .unwrap();
    let port = free_port();
    std::fs::write(
        d.join("admission.toml"),
        format!(
            r#"default-profile = "gate"
[server]
listen = "127.0.0.1:{port}"
cert = "tls/tls.crt"
key = "tls/tls.key"
audit-log = "audit.jsonl"
[registry]
insecure = true
[profiles.gate]
pss = {{ level = "restricted" }}
registries = {{ allow = ["{host}/shop/**"] }}
signatures = {{ policy = "trust.toml" }}
digest = {{ mode = "warn", resolve = true }}
"#
        ),
    )
    .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args([
            "admission",
            "serve",
            "--config",
            "admission.toml",
            "--self-signed",
        ])
        .current_dir(d)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut webhook = Webhook(child);

    // A client that trusts only the CA the webhook generated, and checks the name.
    let ca = d.join("tls/ca.crt");
    let started = Instant::now();
    while !ca.exists() || std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the webhook did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let tls = ureq::tls::TlsConfig::builder()
        .provider(ureq::tls::TlsProvider::Rustls)
        .root_certs(ureq::tls::RootCerts::new_with_certs(&[
            ureq::tls::Certificate::from_pem(&std::fs::read(&ca).unwrap())
                .unwrap()
                .to_owned(),
        ]))
        .build();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .tls_config(tls)
        .http_status_as_error(false)
        .build()
        .into();
    let base = format!("https://localhost:{port}");
    let ready = agent.get(format!("{base}/readyz")).call().unwrap();
    assert_eq!(ready.status(), 200);
    let review = |path: &str, body: &Value| -> Value {
        let mut resp = agent
            .post(format!("{base}{path}"))
            .header("Content-Type", "application/json")
            .send(serde_json::to_vec(body).unwrap())
            .unwrap();
        assert_eq!(resp.status(), 200);
        let v: Value = serde_json::from_slice(&resp.body_mut().read_to_vec().unwrap()).unwrap();
        assert_eq!(v["apiVersion"], "admission.k8s.io/v1");
        assert_eq!(v["response"]["uid"], body["request"]["uid"]);
        v["response"].clone()
    };

    let signed = format!("{host}/shop/app:1");
    let r = review("/validate", &pod_review(&signed, "u-signed", false));
    assert_eq!(r["allowed"], true, "{r}");
    // dryRun: the same decision.
    let r = review("/validate", &pod_review(&signed, "u-dry", true));
    assert_eq!(r["allowed"], true, "{r}");
    let r = review(
        "/validate",
        &pod_review(&format!("{host}/shop/unsigned:1"), "u-unsigned", false),
    );
    assert_eq!(r["allowed"], false);
    let m = r["status"]["message"].as_str().unwrap();
    assert!(
        m.contains("[signatures]") && m.contains("no signature found"),
        "{m}"
    );
    let r = review(
        "/validate",
        &pod_review("docker.io/library/nginx:1", "u-hub", false),
    );
    assert_eq!(r["allowed"], false);
    assert!(
        r["status"]["message"]
            .as_str()
            .unwrap()
            .contains("[registries]"),
        "{r}"
    );

    // /mutate pins the tag to the digest whose signature verified.
    let digest = {
        let out = rampart(
            &[
                "verify",
                "--insecure",
                "--key",
                "release.pub",
                "-f",
                "json",
                &signed,
            ],
            d,
        );
        ok(&out);
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v[0]["digest"].as_str().unwrap().to_owned()
    };
    let r = review("/mutate", &pod_review(&signed, "u-mutate", false));
    assert_eq!(r["patchType"], "JSONPatch", "{r}");
    let response: rampart_admission::review::AdmissionResponse =
        serde_json::from_value(r.clone()).unwrap();
    let patch = Value::Array(rampart_admission::engine::decode_patch(&response).unwrap());
    assert!(
        patch
            .as_array()
            .unwrap()
            .iter()
            .any(|op| op["path"] == "/spec/containers/0/image"
                && op["value"] == format!("{signed}@{digest}")),
        "{patch}"
    );

    // SIGTERM: a clean stop, and every decision in the audit log.
    let pid = webhook.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = webhook.0.wait().unwrap();
    assert!(status.success(), "{status}");
    let audit = std::fs::read_to_string(d.join("audit.jsonl")).unwrap();
    let uids: Vec<String> = audit
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["uid"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    for uid in ["u-signed", "u-dry", "u-unsigned", "u-hub", "u-mutate"] {
        assert!(uids.iter().any(|u| u == uid), "{uid} not in {audit}");
    }
}

/// `rampart admission manifests` on the bundled example: the label rule and the Pod Security
/// Admission labels become validating entries with their selectors, the name-rule profile that
/// mutates gets a default `/mutate` entry, the pod is told where its certificate is mounted,
/// and `--tls-dir` writes the CA whose PEM is the webhooks' `caBundle`.
#[test]
fn manifests_of_the_bundled_example() {
    let dir = tempfile::tempdir().unwrap();
    let out = rampart(
        &[
            "admission",
            "manifests",
            "--config",
            root()
                .join("examples/admission/admission.toml")
                .to_str()
                .unwrap(),
            "--tls-dir",
            dir.path().join("tls").to_str().unwrap(),
        ],
        dir.path(),
    );
    ok(&out);
    let yaml = String::from_utf8(out.stdout).unwrap();
    for want in [
        "kind: MutatingWebhookConfiguration",
        "path: /mutate\n",
        "path: /validate\n",
        "path: /validate/sandboxed",
        "rampart.dev/sandbox",
        "path: /validate/pss-enforce-restricted",
        "failurePolicy: Fail",
        "- --listen\n",
        "/etc/rampart/tls/tls.crt",
    ] {
        assert!(yaml.contains(want), "{want:?} missing from\n{yaml}");
    }
    use base64::Engine as _;
    let ca = std::fs::read(dir.path().join("tls/ca.crt")).unwrap();
    let bundle = base64::engine::general_purpose::STANDARD.encode(&ca);
    assert!(yaml.contains(&bundle), "the caBundle is not the CA written");
}
