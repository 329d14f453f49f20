//! A registry that accepts connections and never answers: the webhook (server + engine, over
//! real TLS) still answers within its deadline, with the configured failure mode, and keeps
//! serving requests that need no registry.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;
mod support;

use std::time::{Duration, Instant};

use rampart_sign::keys::KeyPair;
use serde_json::Value;

/// A listener that accepts and holds every connection, answering nothing.
fn hanging_registry() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    port
}

fn webhook(failure_mode: &str, port: u16, dir: &std::path::Path) -> support::Running {
    let key = KeyPair::generate().unwrap();
    std::fs::write(dir.join("k.pub"), key.public_key.to_pem().unwrap()).unwrap();
    std::fs::write(
        dir.join("trust.toml"),
        format!("[[image]]\nmatch = [\"127.0.0.1:{port}/**\"]\nkeys = [\"k.pub\"]\n"),
    )
    .unwrap();
    let config = format!(
        "failure-mode = \"{failure_mode}\"\ndefault-profile = \"p\"\n[registry]\ninsecure = true\ntimeout-seconds = 30\n[profiles.p]\npss = {{ level = \"baseline\" }}\nsignatures = {{ policy = \"trust.toml\" }}\n"
    );
    std::fs::write(dir.join("admission.toml"), &config).unwrap();
    let engine = common::engine_in(&config, dir);
    support::start(engine, |c| {
        c.deadline_ms = 500;
        c.failure_mode = if failure_mode == "allow" {
            rampart_admission::FailureMode::Allow
        } else {
            rampart_admission::FailureMode::Deny
        };
    })
}

fn review_with(image: &str, uid: &str) -> Value {
    let mut review = common::fixture_json("pod-create.json");
    review["request"]["uid"] = uid.into();
    review["request"]["object"]["spec"]["containers"][0]["image"] = image.into();
    review
}

/// The server's quick path: a review that would need the registry is not decided on the
/// server's thread (it would block it); one that needs nothing uncached is, with the same
/// answer as a full review.
#[test]
fn review_now_never_waits_for_the_registry() {
    use rampart_admission::review::{Endpoint, Reviewer};
    let port = hanging_registry();
    let dir = tempfile::tempdir().unwrap();
    let _ = webhook("deny", port, dir.path()).stop();
    let config = std::fs::read_to_string(dir.path().join("admission.toml")).unwrap();
    let engine = common::engine_in(&config, dir.path());
    let endpoint = Endpoint::Validate { profile: None };
    let started = Instant::now();
    let hanging = common::request_from(&review_with(&format!("127.0.0.1:{port}/shop/app:1"), "a"));
    assert!(engine.review_now(&endpoint, &hanging).is_none());
    assert!(started.elapsed() < Duration::from_secs(5));
    let other = common::request_from(&review_with("registry.example.com/shop/web:1.2", "b"));
    let now = engine
        .review_now(&endpoint, &other)
        .expect("decided without I/O");
    let full = engine.review(&endpoint, &other);
    assert_eq!(now.response, full.response);
    assert!(!now.response.allowed);
}

#[test]
fn a_hanging_registry_gets_the_failure_mode_within_the_deadline() {
    let port = hanging_registry();
    for mode in ["deny", "allow"] {
        let dir = tempfile::tempdir().unwrap();
        let running = webhook(mode, port, dir.path());
        let client = running.client();
        let started = Instant::now();
        let r = client
            .review(
                "/validate",
                &review_with(&format!("127.0.0.1:{port}/shop/app:1"), "u-hang"),
            )
            .review_response();
        // Answered by the deadline, not by the registry client's 30 s timeout.
        assert!(started.elapsed() < Duration::from_secs(20), "{r}");
        assert_eq!(r["uid"], "u-hang");
        assert_eq!(r["allowed"], mode == "allow", "{r}");
        let said = if mode == "deny" {
            r["status"]["message"].to_string()
        } else {
            r["warnings"].to_string()
        };
        assert!(said.contains("500 ms"), "{said}");
        // A pod whose images the policy does not cover needs no registry: decided normally.
        let r = client
            .review(
                "/validate",
                &review_with("registry.example.com/shop/web:1.2", "u-other"),
            )
            .review_response();
        assert_eq!(r["uid"], "u-other");
        assert_eq!(r["allowed"], false, "{r}");
        assert!(
            r["status"]["message"]
                .as_str()
                .unwrap()
                .contains("no rule of the trust policy"),
            "{r}"
        );
        running.stop();
    }
}
