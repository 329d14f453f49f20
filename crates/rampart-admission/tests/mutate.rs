//! `/mutate`: the hardening patch, applied with an independent RFC 6902 implementation (the
//! `json-patch` crate), must make pods pass `rampart_pss::evaluate` at restricted, keep
//! explicit user values unless `override = true`, and work on every pod template kind.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use rampart_admission::engine::decode_patch;
use rampart_admission::review::AdmissionRequest;
use rampart_pss::{Level, Version, evaluate};
use serde_json::{Value, json};

const HARDEN: &str = r#"
default-profile = "harden"
[profiles.harden]
mutate = { seccomp = true, allow-privilege-escalation = true, drop-all = true, run-as-non-root = true }
[profiles.force]
mutate = { seccomp = true, allow-privilege-escalation = true, drop-all = true, run-as-non-root = true, override = true }
"#;

/// Applies the response's patch to the request's object with `json-patch`.
fn patched(req: &AdmissionRequest, profile: Option<&str>) -> (Value, Vec<Value>) {
    let e = engine(HARDEN);
    let d = mutate(&e, req, profile);
    assert!(d.response.allowed);
    let ops = decode_patch(&d.response).unwrap_or_default();
    if !ops.is_empty() {
        assert_eq!(d.response.patch_type.as_deref(), Some("JSONPatch"));
    }
    let patch: json_patch::Patch = serde_json::from_value(Value::Array(ops.clone())).unwrap();
    let mut object = req.object.clone();
    json_patch::patch(&mut object, &patch)
        .unwrap_or_else(|e| panic!("patch {ops:?} does not apply: {e}"));
    (object, ops)
}

fn template_of<'a>(object: &'a Value, kind: &str) -> &'a Value {
    match kind {
        "Pod" => object,
        "CronJob" => &object["spec"]["jobTemplate"]["spec"]["template"],
        _ => &object["spec"]["template"],
    }
}

#[test]
fn hardening_makes_bare_pods_restricted_on_every_kind() {
    for name in [
        "deployment-create.json",
        "cronjob-create.json",
        "pod-create.json",
    ] {
        let mut raw = fixture_json(name);
        let kind = raw["request"]["kind"]["kind"].as_str().unwrap().to_owned();
        // strip every security setting, and add an init container with an empty one
        {
            let obj = &mut raw["request"]["object"];
            let tpl = match kind.as_str() {
                "Pod" => obj,
                "CronJob" => &mut obj["spec"]["jobTemplate"]["spec"]["template"],
                _ => &mut obj["spec"]["template"],
            };
            tpl["spec"]
                .as_object_mut()
                .unwrap()
                .remove("securityContext");
            tpl["spec"]["containers"][0]
                .as_object_mut()
                .unwrap()
                .remove("securityContext");
            tpl["spec"]["initContainers"] =
                json!([{"name": "init", "image": "busybox", "securityContext": null}]);
        }
        let req = request_from(&raw);
        assert!(
            !evaluate(
                Level::Restricted,
                Version::LATEST,
                template_of(&req.object, &kind)
            )
            .allowed()
        );
        let (object, ops) = patched(&req, None);
        let eval = evaluate(
            Level::Restricted,
            Version::LATEST,
            template_of(&object, &kind),
        );
        assert!(eval.allowed(), "{name}: {} after {ops:#?}", eval.message());
        // the validating side agrees
        let e = engine(
            "default-profile = \"r\"\n[profiles.r]\npss = { level = \"restricted\" }\nseccomp = {}\n",
        );
        let mut after = raw.clone();
        after["request"]["object"] = object;
        assert!(
            validate(&e, &request_from(&after), None).response.allowed,
            "{name}"
        );
    }
}

#[test]
fn explicit_user_values_are_kept_unless_override() {
    let mut raw = fixture_json("pod-create.json");
    raw["request"]["object"]["spec"]["securityContext"] = json!({"runAsNonRoot": false, "seccompProfile": {"type": "Localhost", "localhostProfile": "my.json"}});
    raw["request"]["object"]["spec"]["containers"][0]["securityContext"] = json!({
        "allowPrivilegeEscalation": true,
        "capabilities": {"drop": ["NET_RAW"]},
        "seccompProfile": {"type": "Unconfined"}
    });
    raw["request"]["object"]["spec"]["containers"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "side", "image": "busybox"}));
    let req = request_from(&raw);
    let (kept, _) = patched(&req, None);
    assert_eq!(
        kept["spec"]["securityContext"]["runAsNonRoot"],
        json!(false)
    );
    assert_eq!(
        kept["spec"]["securityContext"]["seccompProfile"]["type"],
        json!("Localhost")
    );
    let c = &kept["spec"]["containers"][0]["securityContext"];
    assert_eq!(c["allowPrivilegeEscalation"], json!(true));
    assert_eq!(c["capabilities"]["drop"], json!(["NET_RAW"]));
    assert_eq!(c["seccompProfile"]["type"], json!("Unconfined"));
    // the container without a choice got the defaults
    let side = &kept["spec"]["containers"][1]["securityContext"];
    assert_eq!(side["allowPrivilegeEscalation"], json!(false));
    assert_eq!(side["capabilities"]["drop"], json!(["ALL"]));

    let (forced, _) = patched(&req, Some("force"));
    let eval = evaluate(Level::Restricted, Version::LATEST, &forced);
    assert!(eval.allowed(), "{}", eval.message());
    assert_eq!(
        forced["spec"]["containers"][0]["securityContext"]["capabilities"]["drop"],
        json!(["NET_RAW", "ALL"])
    );
}

#[test]
fn an_already_hardened_pod_gets_no_patch() {
    let req = fixture("pod-create.json");
    let mut raw = fixture_json("pod-create.json");
    raw["request"]["object"]["spec"]["securityContext"] =
        json!({"seccompProfile": {"type": "RuntimeDefault"}, "runAsNonRoot": true});
    let (_, ops) = patched(&request_from(&raw), None);
    assert!(ops.is_empty(), "{ops:?}");
    // the fixture's pod has container-level settings only: pod-level ones are added
    let (_, ops) = patched(&req, None);
    let paths: Vec<&Value> = ops.iter().map(|o| &o["path"]).collect();
    assert_eq!(
        paths,
        [
            &json!("/spec/securityContext/seccompProfile"),
            &json!("/spec/securityContext/runAsNonRoot")
        ],
        "{ops:?}"
    );
}

#[test]
fn ill_typed_objects_never_break_the_patch() {
    for spec in [
        json!(null),
        json!(3),
        json!({"containers": "x"}),
        json!({"containers": [1, null, {"securityContext": 7}]}),
        json!({"securityContext": []}),
    ] {
        let mut raw = fixture_json("pod-create.json");
        raw["request"]["object"]["spec"] = spec.clone();
        let req = request_from(&raw);
        for profile in [None, Some("force")] {
            let (_, _) = patched(&req, profile);
        }
    }
}

#[test]
fn pods_are_mutated_at_creation_only_workloads_on_update_too() {
    let e = engine(HARDEN);
    // a significant pod update (new image) and an ephemeral container: no patch
    for name in ["pod-update-image.json", "pod-ephemeralcontainers.json"] {
        let d = mutate(&e, &fixture(name), None);
        assert!(
            d.response.allowed && d.response.patch.is_none(),
            "{name}: {d:?}"
        );
    }
    // a Deployment update changing the template is hardened
    let mut raw = fixture_json("deployment-create.json");
    raw["request"]["operation"] = json!("UPDATE");
    raw["request"]["oldObject"] = raw["request"]["object"].clone();
    raw["request"]["object"]["spec"]["template"]["spec"]["containers"][0]["image"] = json!("x:2");
    let (object, ops) = patched(&request_from(&raw), None);
    assert!(!ops.is_empty());
    assert!(
        evaluate(
            Level::Restricted,
            Version::LATEST,
            &object["spec"]["template"]
        )
        .allowed()
    );
}
