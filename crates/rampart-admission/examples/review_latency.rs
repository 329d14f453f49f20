//! Measures `Engine::review` on the fixture pod (PSS restricted, registries, seccomp, digest
//! in warn mode: the local gates) and on a Deployment, single-threaded. A figure, not a test:
//! `cargo run --release -p rampart-admission --example review_latency [iterations]`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Instant;

use rampart_admission::review::{AdmissionReview, Endpoint, Reviewer};
use rampart_admission::{Config, Engine};

const CONFIG: &str = r#"
default-profile = "p"
[profiles.p]
pss = { level = "restricted" }
registries = { allow = ["registry.example.com/**"] }
seccomp = {}
digest = { mode = "warn" }
"#;

fn main() {
    let n: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let engine = Engine::new(Config::parse(CONFIG, Path::new("/")).unwrap()).unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    for name in [
        "pod-create.json",
        "deployment-create.json",
        "pod-create-privileged.json",
    ] {
        let body = std::fs::read(dir.join(name)).unwrap();
        let endpoint = Endpoint::Validate { profile: None };
        // parse + review, as the server does per request
        let start = Instant::now();
        let mut allowed = 0u32;
        for _ in 0..n {
            let review: AdmissionReview = serde_json::from_slice(&body).unwrap();
            let request = review.request.unwrap();
            allowed += u32::from(engine.review(&endpoint, &request).response.allowed);
        }
        let per = start.elapsed() / n;
        println!("{name}: {per:?} per parse+review ({allowed}/{n} allowed)");
    }
}
