//! Shared helpers: fixtures shaped as kube-apiserver sends them, engines from config text.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};

use rampart_admission::review::{AdmissionRequest, AdmissionReview, Decision, Endpoint, Reviewer};
use rampart_admission::{Config, Engine};
use serde_json::Value;

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The raw JSON of a fixture.
pub fn fixture_json(name: &str) -> Value {
    let path = fixtures().join(name);
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

/// Parses a full AdmissionReview body as the server does, and returns its request.
pub fn request_from(review: &Value) -> AdmissionRequest {
    let review: AdmissionReview = serde_json::from_value(review.clone()).unwrap();
    assert_eq!(review.api_version, "admission.k8s.io/v1");
    review.request.unwrap()
}

pub fn fixture(name: &str) -> AdmissionRequest {
    request_from(&fixture_json(name))
}

pub fn engine(toml: &str) -> Engine {
    engine_in(toml, Path::new("/nonexistent"))
}

pub fn engine_in(toml: &str, base: &Path) -> Engine {
    Engine::new(Config::parse(toml, base).unwrap()).unwrap()
}

pub fn validate(engine: &Engine, req: &AdmissionRequest, profile: Option<&str>) -> Decision {
    engine.review(
        &Endpoint::Validate {
            profile: profile.map(str::to_owned),
        },
        req,
    )
}

pub fn mutate(engine: &Engine, req: &AdmissionRequest, profile: Option<&str>) -> Decision {
    engine.review(
        &Endpoint::Mutate {
            profile: profile.map(str::to_owned),
        },
        req,
    )
}

/// The denial message, or "" when allowed.
pub fn message(d: &Decision) -> String {
    d.response
        .status
        .as_ref()
        .map(|s| s.message.clone())
        .unwrap_or_default()
}
