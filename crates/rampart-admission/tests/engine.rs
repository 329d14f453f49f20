//! The engine on AdmissionReview requests shaped as kube-apiserver sends them: every kind with
//! a pod template, subresources, updates, dryRun, exemptions, profiles chosen by name and by
//! label route, and each local gate in each mode.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use rampart_admission::review::Operation;
use serde_json::json;

const RESTRICTED: &str = r#"
default-profile = "web"

[server]
listen = "0.0.0.0:8443"          # the server's table: skipped by the engine

[exemptions]
usernames = ["system:serviceaccount:kube-system:replicaset-controller"]
namespaces = ["kube-system"]
runtime-classes = ["kata-trusted"]

[profiles.web]
pss = { level = "restricted", version = "latest" }

[profiles.relaxed]
pss = { mode = "warn", level = "restricted" }

[[namespaces]]
names = ["dev-*"]
profile = "relaxed"
"#;

#[test]
fn pods_and_every_pod_template_kind_are_checked() {
    let e = engine(RESTRICTED);
    let ok = fixture("pod-create.json");
    assert!(
        validate(&e, &ok, None).response.allowed,
        "{:?}",
        validate(&e, &ok, None)
    );
    let bad = fixture("pod-create-privileged.json");
    let d = validate(&e, &bad, None);
    assert!(!d.response.allowed);
    let m = message(&d);
    assert_eq!(d.response.uid, bad.uid);
    assert_eq!(d.response.status.as_ref().unwrap().code, Some(403));
    assert!(m.contains("[pss]") && m.contains("privileged"), "{m}");
    assert!(m.contains(r#"container "web""#), "{m}");
    assert!(
        m.contains("spec.containers[0].securityContext.privileged"),
        "{m}"
    );
    // the template of a Deployment and a CronJob (no securityContext: restricted refuses)
    for (name, field) in [
        ("deployment-create.json", "spec.template.spec.containers[0]"),
        (
            "cronjob-create.json",
            "spec.jobTemplate.spec.template.spec.containers[0]",
        ),
    ] {
        let d = validate(&e, &fixture(name), None);
        assert!(!d.response.allowed, "{name}");
        let m = message(&d);
        assert!(m.contains(field), "{name}: {m}");
        assert!(m.contains("allowPrivilegeEscalation"), "{name}: {m}");
        // the same template, hardened, passes
        let mut raw = fixture_json(name);
        let ptr = if name.starts_with("cron") {
            "/request/object/spec/jobTemplate/spec/template/spec/containers/0"
        } else {
            "/request/object/spec/template/spec/containers/0"
        };
        raw.pointer_mut(ptr).unwrap()["securityContext"] = json!({
            "allowPrivilegeEscalation": false, "runAsNonRoot": true,
            "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}
        });
        let d = validate(&e, &request_from(&raw), None);
        assert!(d.response.allowed, "{name}: {}", message(&d));
    }
}

#[test]
fn every_template_kind_is_found() {
    use rampart_admission::workload::{Extracted, KINDS, extract};
    for loc in KINDS {
        let mut obj = json!({});
        let mut cur = &mut obj;
        for k in loc.keys {
            cur[*k] = json!({});
            cur = &mut cur[*k];
        }
        *cur = json!({"spec": {"containers": [{"name": "c", "image": "x"}]}});
        match extract(loc.group, loc.kind, &obj) {
            Extracted::Pod(v) => assert_eq!(v.containers().len(), 1, "{}", loc.kind),
            other => panic!("{}: {other:?}", loc.kind),
        }
        // the template missing: a clear refusal, not a panic (a Pod is its own template)
        if !loc.keys.is_empty() {
            assert!(matches!(
                extract(loc.group, loc.kind, &json!({"spec": 3})),
                Extracted::Malformed(_)
            ));
        }
    }
}

#[test]
fn ephemeral_containers_are_checked() {
    let e = engine(RESTRICTED);
    let req = fixture("pod-ephemeralcontainers.json");
    assert_eq!(req.sub_resource, "ephemeralcontainers");
    let d = validate(&e, &req, None);
    assert!(!d.response.allowed);
    assert!(
        message(&d).contains("spec.ephemeralContainers[0]"),
        "{}",
        message(&d)
    );
    assert!(message(&d).contains("debugger-x7k2p"), "{}", message(&d));
}

#[test]
fn pod_updates_are_reevaluated_only_when_significant() {
    let e = engine(RESTRICTED);
    let labels = fixture("pod-update-labels.json");
    assert_eq!(labels.operation, Operation::Update);
    assert!(
        validate(&e, &labels, None).response.allowed,
        "metadata-only update"
    );
    let image = fixture("pod-update-image.json");
    assert!(!validate(&e, &image, None).response.allowed, "image change");
    // a status update of the same (privileged) pod is not a pod spec change
    let mut status = fixture_json("pod-update-labels.json");
    status["request"]["subResource"] = json!("status");
    assert!(validate(&e, &request_from(&status), None).response.allowed);
}

#[test]
fn workload_updates_are_reevaluated_when_the_template_changes() {
    let e = engine(RESTRICTED);
    let mut raw = fixture_json("deployment-create.json");
    raw["request"]["operation"] = json!("UPDATE");
    raw["request"]["oldObject"] = raw["request"]["object"].clone();
    raw["request"]["object"]["spec"]["replicas"] = json!(5);
    assert!(
        validate(&e, &request_from(&raw), None).response.allowed,
        "scaling only"
    );
    raw["request"]["object"]["spec"]["template"]["spec"]["containers"][0]["image"] = json!("x:2");
    assert!(!validate(&e, &request_from(&raw), None).response.allowed);
}

#[test]
fn dry_run_is_decided_like_a_real_request() {
    let e = engine(RESTRICTED);
    let dry = fixture("pod-create-dryrun.json");
    assert!(dry.dry_run);
    let real = fixture("pod-create-privileged.json");
    let (a, b) = (validate(&e, &dry, None), validate(&e, &real, None));
    assert_eq!(a.response.allowed, b.response.allowed);
    assert_eq!(a.gates, b.gates);
}

#[test]
fn deletes_and_other_kinds_are_allowed_or_refused_per_config() {
    let e = engine(RESTRICTED);
    assert!(
        validate(&e, &fixture("pod-delete.json"), None)
            .response
            .allowed
    );
    assert!(
        validate(&e, &fixture("configmap-create.json"), None)
            .response
            .allowed
    );
    let strict = engine(&format!("unknown-kinds = \"deny\"\n{RESTRICTED}"));
    let d = validate(&strict, &fixture("configmap-create.json"), None);
    assert!(!d.response.allowed);
    assert!(message(&d).contains("ConfigMap"), "{}", message(&d));
}

#[test]
fn exemptions_by_username_namespace_and_runtime_class() {
    let e = engine(RESTRICTED);
    let mut raw = fixture_json("pod-create-privileged.json");
    raw["request"]["userInfo"]["username"] =
        json!("system:serviceaccount:kube-system:replicaset-controller");
    let d = validate(&e, &request_from(&raw), None);
    assert!(d.response.allowed);
    assert_eq!(d.gates[0].outcome, "exempt");

    let mut raw = fixture_json("pod-create-privileged.json");
    raw["request"]["namespace"] = json!("kube-system");
    assert!(validate(&e, &request_from(&raw), None).response.allowed);

    let mut raw = fixture_json("pod-create-privileged.json");
    raw["request"]["object"]["spec"]["runtimeClassName"] = json!("kata-trusted");
    assert!(validate(&e, &request_from(&raw), None).response.allowed);
    raw["request"]["object"]["spec"]["runtimeClassName"] = json!("runc");
    assert!(!validate(&e, &request_from(&raw), None).response.allowed);
}

#[test]
fn profiles_by_namespace_name_default_and_url() {
    let e = engine(RESTRICTED);
    let mut raw = fixture_json("pod-create-privileged.json");
    raw["request"]["namespace"] = json!("dev-alice");
    let d = validate(&e, &request_from(&raw), None);
    assert!(d.response.allowed, "the relaxed profile warns");
    assert!(
        d.response.warnings.iter().any(|w| w.contains("privileged")),
        "{:?}",
        d.response.warnings
    );
    // the URL names the profile: it wins over name rules
    assert!(
        !validate(&e, &request_from(&raw), Some("web"))
            .response
            .allowed
    );
    // an unknown profile in the URL fails closed
    let d = validate(&e, &request_from(&raw), Some("nope"));
    assert!(!d.response.allowed);
    assert!(message(&d).contains("nope"));
    // no default profile and no rule: nothing to check
    let none = engine("[profiles.p]\nseccomp = {}\n");
    assert!(
        validate(&none, &fixture("pod-create-privileged.json"), None)
            .response
            .allowed
    );
}

#[test]
fn pss_label_profiles_and_routes() {
    let e = engine("pss-label-versions = [\"v1.29\"]\n");
    let routes = e.config().routes();
    // 3 modes x 2 levels, each with a latest route and one pinned version
    assert_eq!(routes.len(), 12);
    let names: Vec<&str> = routes.iter().map(|r| r.profile.as_str()).collect();
    for want in [
        "pss-enforce-restricted",
        "pss-warn-baseline",
        "pss-audit-restricted-v1.29",
    ] {
        assert!(names.contains(&want), "{names:?}");
    }
    let enforce = routes
        .iter()
        .find(|r| r.profile == "pss-enforce-baseline")
        .unwrap();
    assert_eq!(
        enforce.namespace_selector["matchExpressions"][0],
        json!({"key": "pod-security.kubernetes.io/enforce", "operator": "In", "values": ["baseline"]})
    );
    let pinned = routes
        .iter()
        .find(|r| r.profile == "pss-warn-restricted-v1.29")
        .unwrap();
    assert_eq!(
        pinned.namespace_selector["matchLabels"],
        json!({"pod-security.kubernetes.io/warn": "restricted", "pod-security.kubernetes.io/warn-version": "v1.29"})
    );
    let bad = fixture("pod-create-privileged.json");
    let d = validate(&e, &bad, Some("pss-enforce-baseline"));
    assert!(!d.response.allowed);
    assert!(
        message(&d).contains(r#"violates PodSecurity "baseline:latest""#),
        "{}",
        message(&d)
    );
    let d = validate(&e, &bad, Some("pss-warn-baseline-v1.29"));
    assert!(d.response.allowed);
    assert!(
        d.response.warnings[0].contains("baseline:v1.29"),
        "{:?}",
        d.response.warnings
    );
    let d = validate(&e, &bad, Some("pss-audit-restricted"));
    assert!(d.response.allowed);
    assert!(d.response.audit_annotations["pss"].contains("privileged"));
    // a label rule becomes a route; mutate follows the profile
    let e = engine(
        r#"
[profiles.sandboxed]
runtime-class = { allow = ["gvisor"] }
mutate = { seccomp = true }
[[namespaces]]
selector = { matchLabels = { "rampart.dev/sandbox" = "true" } }
profile = "sandboxed"
"#,
    );
    let r = &e.config().routes()[0];
    assert_eq!(r.profile, "sandboxed");
    assert!(r.mutate);
    assert_eq!(
        r.namespace_selector,
        json!({"matchLabels": {"rampart.dev/sandbox": "true"}})
    );
}

/// One gate, each mode, on a violating and a passing pod.
#[test]
fn local_gates_in_each_mode() {
    // (gate table, violating container/pod changes, passing changes, words in the message)
    let cases: Vec<(&str, serde_json::Value, serde_json::Value, &str)> = vec![
        (
            r#"registries = { MODE allow = ["registry.example.com/shop/*", "nginx"] }"#,
            json!({"image": "quay.io/evil/miner:1"}),
            json!({"image": "nginx:1.25"}),
            "quay.io/evil/miner",
        ),
        (
            r#"digest = { MODE }"#,
            json!({"image": "registry.example.com/shop/web:1.2"}),
            json!({"image": "registry.example.com/shop/web@sha256:97fc222cee7991b5b061d4d4afdb5f3428fcb0c9054e1690313786befa1e4e36"}),
            "not pinned by digest",
        ),
        (
            r#"seccomp = { MODE }"#,
            json!({"securityContext": {"seccompProfile": {"type": "Unconfined"}}}),
            json!({"securityContext": {"seccompProfile": {"type": "Localhost", "localhostProfile": "p.json"}}}),
            "Unconfined",
        ),
        (
            r#"runtime-class = { MODE allow = ["gvisor"] }"#,
            json!({"__pod": {"runtimeClassName": "runc"}}),
            json!({"__pod": {"runtimeClassName": "gvisor"}}),
            "runc",
        ),
        (
            r#"pss = { MODE level = "baseline" }"#,
            json!({"securityContext": {"privileged": true}}),
            json!({"securityContext": {"privileged": false}}),
            "privileged",
        ),
    ];
    for (gate, bad, good, word) in cases {
        for (mode, mode_text) in [
            ("enforce", ""),
            ("warn", "mode = \"warn\", "),
            ("audit", "mode = \"audit\", "),
        ] {
            let table = gate
                .replace(
                    "{ MODE }",
                    &format!("{{ {} }}", mode_text.trim_end_matches(", ")),
                )
                .replace("MODE ", mode_text);
            let e = engine(&format!("default-profile = \"p\"\n[profiles.p]\n{table}\n"));
            let apply = |change: &serde_json::Value| {
                let mut raw = fixture_json("pod-create.json");
                let target = if let Some(p) = change.get("__pod") {
                    (&mut raw["request"]["object"]["spec"], p)
                } else {
                    (
                        &mut raw["request"]["object"]["spec"]["containers"][0],
                        change,
                    )
                };
                for (k, v) in target.1.as_object().unwrap() {
                    target.0[k] = v.clone();
                }
                request_from(&raw)
            };
            let d = validate(&e, &apply(&good), None);
            assert!(
                d.response.allowed
                    && d.response.warnings.is_empty()
                    && d.response.audit_annotations.is_empty(),
                "{table}: {d:?}"
            );
            let d = validate(&e, &apply(&bad), None);
            let gate_id = &d.gates[0].gate;
            match mode {
                "enforce" => {
                    assert!(!d.response.allowed, "{table}");
                    assert!(message(&d).contains(word), "{table}: {}", message(&d));
                    assert!(
                        message(&d).contains(&format!("[{gate_id}]")),
                        "{}",
                        message(&d)
                    );
                    assert_eq!(d.gates[0].outcome, "deny");
                }
                "warn" => {
                    assert!(d.response.allowed, "{table}");
                    assert!(
                        d.response.warnings.iter().any(|w| w.contains(word)),
                        "{table}: {:?}",
                        d.response.warnings
                    );
                    assert_eq!(d.gates[0].outcome, "warn");
                }
                _ => {
                    assert!(
                        d.response.allowed && d.response.warnings.is_empty(),
                        "{table}"
                    );
                    assert!(
                        d.response.audit_annotations[gate_id.as_str()].contains(word),
                        "{table}: {:?}",
                        d.response.audit_annotations
                    );
                    assert_eq!(d.gates[0].outcome, "audit");
                }
            }
        }
    }
}

#[test]
fn a_denial_lists_every_violation_of_every_gate() {
    let e = engine(
        r#"
default-profile = "p"
[profiles.p]
pss = { level = "restricted" }
registries = { allow = ["registry.example.com/**"] }
digest = {}
"#,
    );
    let mut raw = fixture_json("pod-create-privileged.json");
    raw["request"]["object"]["spec"]["initContainers"] =
        json!([{"name": "init", "image": "busybox"}]);
    let d = validate(&e, &request_from(&raw), None);
    let m = message(&d);
    for want in [
        "[pss]",
        "[registries]",
        "[digest]",
        r#"container "init" (spec.initContainers[0])"#,
        r#"container "web" (spec.containers[0])"#,
        "docker.io/library/busybox",
        "docker.io/library/nginx",
    ] {
        assert!(m.contains(want), "{want} missing from {m}");
    }
}

#[test]
fn ill_typed_fields_give_clear_outcomes() {
    let e = engine(
        r#"
default-profile = "p"
[profiles.p]
pss = { level = "restricted" }
registries = { allow = ["**"] }
"#,
    );
    let mut raw = fixture_json("pod-create.json");
    raw["request"]["object"]["spec"]["containers"][0]["image"] = json!(42);
    let d = validate(&e, &request_from(&raw), None);
    assert!(!d.response.allowed);
    assert!(
        message(&d).contains("expected a string at image, found a number"),
        "{}",
        message(&d)
    );
    let mut raw = fixture_json("deployment-create.json");
    raw["request"]["object"]["spec"]["template"] = json!("oops");
    let d = validate(&e, &request_from(&raw), None);
    assert!(!d.response.allowed);
    assert!(
        message(&d).contains("expected an object at spec.template, found a string"),
        "{}",
        message(&d)
    );
}

#[test]
fn config_errors_name_the_file_and_the_key() {
    use rampart_admission::Config;
    use std::path::Path;
    let err = |text: &str| Config::parse(text, Path::new("/")).unwrap_err().to_string();
    assert!(
        err("bogus = 1").contains("unknown field `bogus`"),
        "{}",
        err("bogus = 1")
    );
    let e = err(
        "[profiles.p]\npss = { level = \"strict\" }\n[profiles.q]\nregistries = { allow = [] }\n",
    );
    assert!(
        e.contains("profiles.p.pss.level") && e.contains("profiles.q.registries.allow"),
        "{e}"
    );
    assert!(err("default-profile = \"x\"").contains("default-profile: no profile named \"x\""));
    assert!(err("[[namespaces]]\nprofile = \"pss-enforce-baseline\"\n").contains("namespaces[0]"));
    assert!(err("[profiles.pss-x]\n").contains("reserved"));
    assert!(err("[profiles.p]\npss = { level = \"baseline\", colour = 1 }").contains("colour"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("admission.toml");
    std::fs::write(&path, "failure-mode = \"maybe\"\n").unwrap();
    let e = Config::load(&path).unwrap_err().to_string();
    assert!(
        e.starts_with(&path.display().to_string()) && e.contains("line 1"),
        "{e}"
    );
    // the server's table is checked too, with its line
    let e = err("failure-mode = \"deny\"\n[server]\nanything = { goes = true }\n");
    assert!(e.contains("line 3") && e.contains("anything"), "{e}");
}

/// The configuration example of the crate documentation parses, and gives the routes it says.
#[test]
fn the_documented_example_configuration_parses() {
    let lib = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs"),
    )
    .unwrap();
    let doc: Vec<&str> = lib
        .lines()
        .filter_map(|l| l.strip_prefix("//!"))
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .collect();
    let start = doc.iter().position(|l| *l == "```toml").unwrap() + 1;
    let end = start + doc[start..].iter().position(|l| *l == "```").unwrap();
    let text = doc[start..end].join("\n");
    let dir = tempfile::tempdir().unwrap();
    let key = rampart_sign::keys::KeyPair::generate().unwrap();
    std::fs::write(
        dir.path().join("release.pub"),
        key.public_key.to_pem().unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("trust.toml"),
        "[[image]]\nmatch = [\"registry.example.com/**\"]\nkeys = [\"release.pub\"]\n",
    )
    .unwrap();
    let config = rampart_admission::Config::parse(&text, dir.path()).unwrap();
    let routes = config.routes();
    assert_eq!(routes.len(), 1 + 3 * 2 * 2, "{routes:#?}");
    assert_eq!(routes[0].profile, "sandboxed");
    assert_eq!(config.profile_for_namespace("shop-eu"), Some("standard"));
    assert_eq!(config.profile_for_namespace("other"), Some("standard"));
    assert!(config.profile("standard").unwrap().mutates());
}
