//! Arbitrary bytes as an AdmissionReview body, parsed as the webhook server does, then decided
//! by the admission engine on both endpoints and several profiles (the local gates, the
//! hardening mutation and a Pod Security Admission label profile; no registry is involved).
//! The engine must never panic; a denial carries a message and a patch always applies.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rampart_admission::review::{AdmissionReview, Endpoint, Reviewer};
use rampart_admission::{Config, Engine};

const CONFIG: &str = r#"
default-profile = "all"
[profiles.all]
pss = { level = "restricted" }
registries = { mode = "warn", allow = ["registry.example.com/**"] }
digest = { mode = "audit" }
seccomp = {}
runtime-class = { mode = "warn", allow = ["gvisor"] }
mutate = { seccomp = true, allow-privilege-escalation = true, drop-all = true, run-as-non-root = true, override = true }
"#;

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let config = Config::parse(CONFIG, std::path::Path::new("/")).expect("fuzz config");
        Engine::new(config).expect("engine")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(review) = serde_json::from_slice::<AdmissionReview>(data) else {
        return;
    };
    let Some(request) = review.request else {
        return;
    };
    let endpoints = [
        Endpoint::Validate { profile: None },
        Endpoint::Validate { profile: Some("pss-enforce-restricted".into()) },
        Endpoint::Validate { profile: Some("no-such-profile".into()) },
        Endpoint::Mutate { profile: None },
    ];
    for endpoint in &endpoints {
        let decision = engine().review(endpoint, &request);
        assert_eq!(decision.response.uid, request.uid);
        if !decision.response.allowed {
            assert!(decision.response.status.as_ref().is_some_and(|s| !s.message.is_empty()));
        }
        if let Some(ops) = rampart_admission::engine::decode_patch(&decision.response) {
            let patch: json_patch::Patch =
                serde_json::from_value(serde_json::Value::Array(ops)).expect("patch shape");
            let mut object = request.object.clone();
            json_patch::patch(&mut object, &patch).expect("the patch applies");
        }
        let _ = serde_json::to_vec(&decision.response.clone().into_review());
    }
});
