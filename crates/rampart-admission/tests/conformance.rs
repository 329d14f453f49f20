//! The official pod-security-admission conformance fixtures
//! (`testdata/<level>/v1.<minor>/<pass|fail>/*.yaml`), each wrapped into AdmissionReview
//! requests (a Pod CREATE and a Deployment CREATE, from the envelopes in `fixtures/`), replayed
//! through `Engine::review` on the label route `pss-enforce-<level>-v1.<minor>`, and over real
//! TLS through the webhook server hosting the engine: the verdict must equal the fixture's
//! expectation and `rampart_pss::evaluate`'s.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;
mod support;

use common::*;
use rampart_pss::{Level, Version, evaluate};
use serde_json::{Value, json};

#[test]
fn conformance_fixtures_through_the_engine() {
    let engine = engine("");
    let webhook = support::start(common::engine(""), |_| {});
    let client = webhook.client();
    let pod_envelope = fixture_json("pod-create.json");
    let deployment_envelope = fixture_json("deployment-create.json");
    let (mut cases, mut files) = (0usize, 0usize);
    let mut failures = Vec::new();
    for fx in rampart_testkit::pss::walk().fixtures {
        let (level_name, version_name) = (fx.level, fx.version.as_str());
        let level = match level_name {
            "baseline" => Level::Baseline,
            _ => Level::Restricted,
        };
        let version: Version = version_name.parse().unwrap();
        let profile = format!("pss-enforce-{level_name}-{version_name}");
        files += 1;
        let pod = fx.pod.clone();
        let expected = evaluate(level, version, &pod);
        let file = format!(
            "{level_name}/{version_name}/{}/{}",
            fx.outcome,
            fx.path.file_name().unwrap().to_str().unwrap()
        );
        if expected.allowed() != fx.pass() {
            failures.push(format!("{file}: evaluator disagrees with the fixture"));
        }
        let mut as_pod = pod_envelope.clone();
        as_pod["request"]["object"] = pod.clone();
        let mut as_deployment = deployment_envelope.clone();
        as_deployment["request"]["object"]["spec"]["template"] = json!({
            "metadata": pod.get("metadata").cloned().unwrap_or(Value::Null),
            "spec": pod.get("spec").cloned().unwrap_or(Value::Null),
        });
        for (what, review) in [("Pod", as_pod), ("Deployment", as_deployment)] {
            cases += 1;
            let d = validate(&engine, &request_from(&review), Some(&profile));
            let served = client
                .review(&format!("/validate/{profile}"), &review)
                .review_response();
            if served["allowed"] != d.response.allowed || served["uid"] != review["request"]["uid"]
            {
                failures.push(format!(
                    "{file} as a {what}: over TLS {served}, in process allowed={}",
                    d.response.allowed
                ));
            }
            if d.response.allowed != expected.allowed() {
                failures.push(format!(
                    "{file} as a {what}: engine allowed={}, evaluator {}",
                    d.response.allowed,
                    expected.message()
                ));
            } else if !expected.allowed() {
                // every failing check is in the denial
                let m = message(&d);
                for v in &expected.violations {
                    if !m.contains(&v.to_string()) {
                        failures.push(format!("{file} as a {what}: {v} missing from {m}"));
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(files > 4000, "only {files} fixture files");
    let audit = webhook.stop();
    assert_eq!(audit.len(), cases, "one audit line per review served");
    println!("{files} fixtures, {cases} admission reviews agree, in process and over TLS");
}
