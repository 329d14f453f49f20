//! The signature and digest gates against a real registry (Debian's docker-registry on
//! 127.0.0.1, an image copied in by skopeo) with real signatures made by
//! `rampart_sign::cosign::sign`: signed, unsigned, wrong key, the digest pinned on `/mutate`,
//! the TTL cache (the registry stopped: still decided from the cache, then the failure mode
//! once the TTL passed), and an unreachable registry.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use rampart_admission::cache::ManualClock;
use rampart_admission::engine::decode_patch;
use rampart_admission::{Config, Engine};
use rampart_registry::{Client, ClientOptions, Reference};
use rampart_sign::keys::KeyPair;
use rampart_testkit::registry::{Auth, Registry, skopeo};
use serde_json::json;

fn worker_layout() -> String {
    format!(
        "oci:{}",
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../examples/images/worker")
            .display()
    )
}

fn push(reg: &Registry, repo: &str) {
    skopeo(&[
        "copy",
        "--quiet",
        "--dest-tls-verify=false",
        &worker_layout(),
        &format!("docker://{}/{repo}", reg.host()),
    ]);
}

/// A pod request whose only container runs `image`.
fn pod_with(image: &str) -> rampart_admission::review::AdmissionRequest {
    let mut raw = fixture_json("pod-create.json");
    raw["request"]["object"]["spec"]["containers"][0]["image"] = json!(image);
    request_from(&raw)
}

/// GET requests for manifests the registry logged so far.
fn manifest_gets(reg: &Registry) -> usize {
    reg.log().matches("GET /v2/").count()
}

struct Setup {
    reg: Registry,
    dir: tempfile::TempDir,
    signed_digest: String,
}

fn setup() -> Setup {
    let reg = Registry::start(Auth::None);
    push(&reg, "shop/worker:1");
    push(&reg, "shop/unsigned:1");
    let client = Client::new(&ClientOptions {
        insecure: true,
        use_docker_config: false,
        ..ClientOptions::default()
    })
    .unwrap();
    let key = KeyPair::generate().unwrap();
    let wrong = KeyPair::generate().unwrap();
    let image = Reference::parse(&format!("{}/shop/worker:1", reg.host())).unwrap();
    let signed =
        rampart_sign::cosign::sign(&client, &image, None, &key.private_key, &Default::default())
            .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("good.pub"),
        key.public_key.to_pem().unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("wrong.pub"),
        wrong.public_key.to_pem().unwrap(),
    )
    .unwrap();
    let host = reg.host();
    std::fs::write(
        dir.path().join("trust.toml"),
        format!("[[image]]\nmatch = [\"{host}/shop/*\"]\nkeys = [\"good.pub\"]\n"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("trust-wrong.toml"),
        format!("[[image]]\nmatch = [\"{host}/shop/*\"]\nkeys = [\"wrong.pub\"]\n"),
    )
    .unwrap();
    Setup {
        reg,
        dir,
        signed_digest: signed.digest,
    }
}

fn config(setup: &Setup, extra: &str) -> Config {
    Config::parse(
        &format!(
            r#"
{extra}
default-profile = "signed"
[registry]
insecure = true
timeout-seconds = 5
[cache]
ttl-seconds = 60
[profiles.signed]
signatures = {{ policy = "trust.toml" }}
digest = {{ mode = "warn", resolve = true }}
[profiles.wrong]
signatures = {{ policy = "trust-wrong.toml" }}
"#
        ),
        setup.dir.path(),
    )
    .unwrap()
}

#[test]
fn signatures_are_verified_against_the_registry_and_cached() {
    let s = setup();
    let host = s.reg.host();
    let clock = Arc::new(ManualClock::default());
    let engine = Engine::with_clock(config(&s, ""), clock.clone()).unwrap();

    // signed -> allowed (the digest gate only warns about the tag)
    let signed = pod_with(&format!("{host}/shop/worker:1"));
    let d = validate(&engine, &signed, None);
    assert!(d.response.allowed, "{}", message(&d));
    assert!(
        d.gates
            .iter()
            .any(|g| g.gate == "signatures" && g.outcome == "allow")
    );
    // pinned by its digest too
    let pinned = pod_with(&format!("{host}/shop/worker@{}", s.signed_digest));
    assert!(validate(&engine, &pinned, None).response.allowed);

    // unsigned -> denied, naming the container and the missing signature
    let d = validate(&engine, &pod_with(&format!("{host}/shop/unsigned:1")), None);
    assert!(!d.response.allowed);
    let m = message(&d);
    assert!(
        m.contains("[signatures]")
            && m.contains("no signature found")
            && m.contains(r#"container "web""#),
        "{m}"
    );

    // signed, but not by the key the policy names -> denied
    let d = validate(&engine, &signed, Some("wrong"));
    assert!(!d.response.allowed);
    assert!(message(&d).contains("wrong.pub"), "{}", message(&d));

    // /mutate pins the tag to the verified digest
    let d = mutate(&engine, &signed, None);
    let ops = decode_patch(&d.response).unwrap();
    assert_eq!(
        ops,
        vec![json!({"op": "replace", "path": "/spec/containers/0/image",
                    "value": format!("{host}/shop/worker:1@{}", s.signed_digest)})]
    );
    // ... but never an unsigned image
    let d = mutate(&engine, &pod_with(&format!("{host}/shop/unsigned:1")), None);
    assert!(d.response.patch.is_none());
    assert!(
        d.response.warnings[0].contains("not pinned"),
        "{:?}",
        d.response.warnings
    );

    // many threads at once (as the server calls it): one answer, no poisoning
    let fresh = Engine::with_clock(config(&s, ""), clock.clone()).unwrap();
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                for _ in 0..10 {
                    assert!(validate(&fresh, &signed, None).response.allowed);
                    assert!(
                        !validate(&fresh, &pod_with(&format!("{host}/shop/unsigned:1")), None)
                            .response
                            .allowed
                    );
                }
            });
        }
    });

    // repeated admissions within the TTL do not contact the registry
    let before = manifest_gets(&s.reg);
    assert!(
        before > 0,
        "the registry log shows no requests:\n{}",
        s.reg.log()
    );
    for _ in 0..5 {
        assert!(validate(&engine, &signed, None).response.allowed);
    }
    assert_eq!(
        manifest_gets(&s.reg),
        before,
        "a cached decision asked the registry"
    );

    // the registry stopped: still allowed from the cache within the TTL
    let Setup { reg, dir, .. } = s;
    drop(reg);
    clock.advance(Duration::from_secs(59));
    assert!(validate(&engine, &signed, None).response.allowed);
    // after the TTL: the registry must be asked, cannot be, and the failure mode (deny) decides
    clock.advance(Duration::from_secs(2));
    let d = validate(&engine, &signed, None);
    assert!(!d.response.allowed);
    assert!(
        message(&d).contains("cannot decide") && message(&d).contains("failure-mode deny"),
        "{}",
        message(&d)
    );
    assert!(
        d.gates
            .iter()
            .any(|g| g.gate == "signatures" && g.outcome == "error")
    );
    drop(dir);
}

#[test]
fn an_unreachable_registry_follows_the_failure_mode() {
    // a port nothing listens on
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let key = KeyPair::generate().unwrap();
    std::fs::write(dir.path().join("k.pub"), key.public_key.to_pem().unwrap()).unwrap();
    std::fs::write(
        dir.path().join("trust.toml"),
        format!("[[image]]\nmatch = [\"127.0.0.1:{port}/**\"]\nkeys = [\"k.pub\"]\n"),
    )
    .unwrap();
    let image = format!("127.0.0.1:{port}/shop/app:1");
    let text = |mode: &str| {
        format!(
            "failure-mode = \"{mode}\"\ndefault-profile = \"p\"\n[registry]\ninsecure = true\ntimeout-seconds = 2\n[profiles.p]\nsignatures = {{ policy = \"trust.toml\" }}\n"
        )
    };
    let deny = Engine::new(Config::parse(&text("deny"), dir.path()).unwrap()).unwrap();
    let d = validate(&deny, &pod_with(&image), None);
    assert!(!d.response.allowed);
    assert!(message(&d).contains("cannot decide"), "{}", message(&d));
    // the default is deny
    let default = Engine::new(
        Config::parse(
            &text("deny").replace("failure-mode = \"deny\"\n", ""),
            dir.path(),
        )
        .unwrap(),
    )
    .unwrap();
    assert!(!validate(&default, &pod_with(&image), None).response.allowed);
    let allow = Engine::new(Config::parse(&text("allow"), dir.path()).unwrap()).unwrap();
    let d = validate(&allow, &pod_with(&image), None);
    assert!(d.response.allowed);
    assert!(
        d.response.warnings[0].contains("failure-mode allow"),
        "{:?}",
        d.response.warnings
    );
    assert_eq!(d.gates[0].outcome, "error");
}

/// `intent = { attested = true }`: an image's intent is taken from its signed intent
/// attestation (verified with the signatures gate's keys, bound to the image's digest) and the
/// pod is checked against it; an image without one, or with another image's, is refused.
#[test]
fn intents_are_taken_from_signed_attestations() {
    let s = setup();
    let host = s.reg.host();
    let client = Client::new(&ClientOptions {
        insecure: true,
        use_docker_config: false,
        ..ClientOptions::default()
    })
    .unwrap();
    // the good key of setup() signs; attest with it (read back from its PEM is not possible:
    // attest with a key whose public half replaces good.pub)
    let key = KeyPair::generate().unwrap();
    std::fs::write(
        s.dir.path().join("good.pub"),
        key.public_key.to_pem().unwrap(),
    )
    .unwrap();
    let worker = Reference::parse(&format!("{host}/shop/worker:1")).unwrap();
    rampart_sign::cosign::sign(
        &client,
        &worker,
        None,
        &key.private_key,
        &Default::default(),
    )
    .unwrap();
    let example = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/intent/web.intent.toml"),
    )
    .unwrap();
    let intent_for = |digest: &str| {
        let text = example.replace(
            "registry.example.com/shop/web:1.4.2@sha256:9b7c5f3c2d1e0a4b6c8d7e9f0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3",
            &format!("{host}/shop/worker@{digest}"),
        );
        let i = rampart_intent::Intent::parse(&text, Path::new("i.toml")).unwrap();
        serde_json::to_vec(&i).unwrap()
    };
    let attest = |image: &Reference, predicate: &[u8]| {
        rampart_sign::cosign::attest(
            &client,
            image,
            None,
            &key.private_key,
            rampart_sign::dsse::PredicateKind::Intent,
            predicate,
            "2026-12-06T00:00:00Z",
        )
        .unwrap();
    };
    attest(&worker, &intent_for(&s.signed_digest));
    // a mirror of the same image (same digest) with its intent: it applies under that name
    push(&s.reg, "shop/mirror:1");
    let mirror = Reference::parse(&format!("{host}/shop/mirror:1")).unwrap();
    rampart_sign::cosign::sign(
        &client,
        &mirror,
        None,
        &key.private_key,
        &Default::default(),
    )
    .unwrap();
    attest(&mirror, &intent_for(&s.signed_digest));
    // a signed image carrying an intent made for another digest
    push(&s.reg, "shop/copy:1");
    let copy = Reference::parse(&format!("{host}/shop/copy:1")).unwrap();
    rampart_sign::cosign::sign(&client, &copy, None, &key.private_key, &Default::default())
        .unwrap();
    attest(
        &copy,
        &intent_for("sha256:1111111111111111111111111111111111111111111111111111111111111111"),
    );

    let config = Config::parse(
        "default-profile = \"p\"\n[registry]\ninsecure = true\ntimeout-seconds = 5\n[profiles.p]\nsignatures = { policy = \"trust.toml\" }\nintent = { attested = true }\n",
        s.dir.path(),
    )
    .unwrap();
    let engine = Engine::new(config).unwrap();
    let pod = |image: &str, add: Option<&str>| {
        let mut raw = fixture_json("pod-create.json");
        let mut sc = json!({
            "allowPrivilegeEscalation": false,
            "capabilities": { "drop": ["ALL"] },
            "readOnlyRootFilesystem": true,
            "runAsNonRoot": true,
            "runAsUser": 10001,
            "seccompProfile": { "type": "Localhost", "localhostProfile": "rampart/web.json" },
        });
        if let Some(c) = add {
            sc["capabilities"]["add"] = json!([c]);
        }
        raw["request"]["object"]["spec"]["containers"] = json!([{
            "name": "web", "image": image, "ports": [{ "containerPort": 8080 }], "securityContext": sc,
        }]);
        request_from(&raw)
    };
    let pinned = format!("{host}/shop/worker@{}", s.signed_digest);
    let d = validate(&engine, &pod(&pinned, None), None);
    assert!(d.response.allowed, "{}", message(&d));
    let d = validate(&engine, &pod(&pinned, Some("SYS_ADMIN")), None);
    assert!(!d.response.allowed);
    assert!(message(&d).contains("adds SYS_ADMIN"), "{}", message(&d));
    let d = validate(
        &engine,
        &pod(&format!("{host}/shop/mirror@{}", s.signed_digest), None),
        None,
    );
    assert!(d.response.allowed, "{}", message(&d));
    let d = validate(&engine, &pod(&format!("{host}/shop/copy:1"), None), None);
    assert!(!d.response.allowed);
    assert!(
        message(&d).contains("is refused: it is the intent of"),
        "{}",
        message(&d)
    );

    // without `signatures`, attested intents cannot be verified: a configuration error
    let err = Config::parse(
        "default-profile = \"p\"\n[profiles.p]\nintent = { attested = true }\n",
        s.dir.path(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("intent.attested"), "{err}");
}
