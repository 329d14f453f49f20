//! The `intent` gate: a pod is admitted only when every container whose image has an intent
//! runs that image's digest and is at least as strict as the intent; images without an intent
//! are refused unless `require = false`; a broken intent is a configuration error.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use serde_json::{Value, json};

const DIGEST: &str = "sha256:9b7c5f3c2d1e0a4b6c8d7e9f0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3";

fn intents_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("intents")).unwrap();
    std::fs::copy(
        rampart_testkit::paths::example("intent/web.intent.toml"),
        dir.path().join("intents/web.intent.toml"),
    )
    .unwrap();
    dir
}

/// A pod of the web image made as the intent says.
fn pod(change: impl FnOnce(&mut Value)) -> rampart_admission::review::AdmissionRequest {
    let mut raw = fixture_json("pod-create.json");
    let spec = &mut raw["request"]["object"]["spec"];
    spec["containers"] = json!([{
        "name": "web",
        "image": format!("registry.example.com/shop/web@{DIGEST}"),
        "ports": [{ "containerPort": 8080 }],
        "securityContext": {
            "allowPrivilegeEscalation": false,
            "capabilities": { "drop": ["ALL"] },
            "readOnlyRootFilesystem": true,
            "runAsNonRoot": true,
            "runAsUser": 10001,
            "seccompProfile": { "type": "Localhost", "localhostProfile": "rampart/web.json" },
        },
    }]);
    change(spec);
    request_from(&raw)
}

#[test]
fn pods_beyond_their_intent_are_denied_with_the_reason() {
    let dir = intents_dir();
    let e = engine_in(
        "default-profile = \"p\"\n[profiles.p]\nintent = { intents = [\"intents\"] }\n",
        dir.path(),
    );
    let d = validate(&e, &pod(|_| {}), None);
    assert!(d.response.allowed, "{}", message(&d));

    let d = validate(
        &e,
        &pod(|s| {
            s["containers"][0]["securityContext"]["capabilities"]["add"] = json!(["SYS_ADMIN"]);
            s["containers"][0]["ports"] =
                json!([{ "containerPort": 8080 }, { "containerPort": 9090 }]);
            s["hostNetwork"] = json!(true);
        }),
        None,
    );
    assert!(!d.response.allowed);
    let m = message(&d);
    assert!(m.contains("[intent]"), "{m}");
    assert!(m.contains("adds SYS_ADMIN"), "{m}");
    assert!(m.contains("TCP 9090"), "{m}");
    assert!(m.contains("at spec.hostNetwork"), "{m}");
    assert!(
        m.contains("at spec.containers[0].securityContext.capabilities.add"),
        "{m}"
    );

    // another digest of the same repository
    let d = validate(
        &e,
        &pod(|s| {
            s["containers"][0]["image"] = json!("registry.example.com/shop/web:latest");
        }),
        None,
    );
    assert!(!d.response.allowed);
    assert!(
        message(&d).contains("not the intent's digest"),
        "{}",
        message(&d)
    );

    // an image with no intent: refused by default, admitted with require = false
    let sidecar = |s: &mut Value| {
        s["containers"]
            .as_array_mut()
            .unwrap()
            .push(json!({ "name": "side", "image": "busybox:1.36" }));
    };
    let d = validate(&e, &pod(sidecar), None);
    assert!(!d.response.allowed);
    assert!(
        message(&d).contains("image \"busybox:1.36\" has no intent"),
        "{}",
        message(&d)
    );
    let lenient = engine_in(
        "default-profile = \"p\"\n[profiles.p]\nintent = { intents = [\"intents\"], require = false }\n",
        dir.path(),
    );
    assert!(validate(&lenient, &pod(sidecar), None).response.allowed);
}

#[test]
fn warn_mode_admits_with_the_reason_as_a_warning() {
    let dir = intents_dir();
    let e = engine_in(
        "default-profile = \"p\"\n[profiles.p]\nintent = { mode = \"warn\", intents = [\"intents/web.intent.toml\"] }\n",
        dir.path(),
    );
    let d = validate(
        &e,
        &pod(|s| s["containers"][0]["securityContext"]["privileged"] = json!(true)),
        None,
    );
    assert!(d.response.allowed);
    assert!(
        d.response.warnings.iter().any(|w| w.contains("privileged")),
        "{:?}",
        d.response.warnings
    );
}

#[test]
fn a_broken_intent_is_a_configuration_error_naming_it() {
    let dir = intents_dir();
    std::fs::write(
        dir.path().join("intents/bad.toml"),
        "version = 1\nimage = \"a/b:1\"\n",
    )
    .unwrap();
    let err = rampart_admission::config::Config::parse(
        "default-profile = \"p\"\n[profiles.p]\nintent = { intents = [\"intents\"] }\n",
        dir.path(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("profiles.p.intent.intents"), "{err}");
    assert!(err.contains("bad.toml:2:9"), "{err}");
}
