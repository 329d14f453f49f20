//! A pod against its image's intent: the pod the compiled patch makes conforms; each grant
//! beyond the intent is found once, at its field.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code: a failed expectation is a test failure"
)]

use rampart_intent::conform::{IntentSet, check_pod_spec, normalise_repository};
use rampart_intent::{Intent, Options, Target, compile};
use serde_json::{Value, json};

const DIGEST: &str = "sha256:9b7c5f3c2d1e0a4b6c8d7e9f0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3";

fn set() -> (IntentSet, Intent) {
    let path = rampart_testkit::paths::example("intent/web.intent.toml");
    let intent = Intent::load(&path).unwrap();
    let mut s = IntentSet::default();
    s.add(intent.clone(), "web.intent.toml").unwrap();
    (s, intent)
}

/// The pod spec the compiled patch gives, with the image by digest and its port.
fn conforming() -> Value {
    let (_, intent) = set();
    let c = compile(&intent, &Options::for_file(std::path::Path::new("x"))).unwrap();
    let patch = c
        .artefacts
        .iter()
        .find(|a| a.target == Target::SecurityContext)
        .unwrap();
    let patch: Value =
        serde_saphyr::from_str(String::from_utf8_lossy(&patch.bytes).trim_start_matches("---\n"))
            .unwrap();
    let mut spec = patch["spec"]["template"]["spec"].clone();
    spec["containers"][0]["image"] = json!(format!("registry.example.com/shop/web@{DIGEST}"));
    spec["containers"][0]["ports"] = json!([{ "containerPort": 8080 }]);
    spec
}

#[test]
fn the_compiled_patch_conforms() {
    let (s, _) = set();
    let check = check_pod_spec(&s, &conforming());
    assert!(check.excess.is_empty(), "{:#?}", check.excess);
    assert!(check.without_intent.is_empty());
}

#[test]
fn each_grant_beyond_the_intent_is_found_at_its_field() {
    let (s, _) = set();
    // (what, change, expected field, part of the message)
    type Change = fn(&mut Value);
    let cases: Vec<(&str, Change, &str, &str)> = vec![
        (
            "a tag",
            |v| v["containers"][0]["image"] = json!("registry.example.com/shop/web:1.4.2"),
            "containers[0].image",
            "not the intent's digest",
        ),
        (
            "another digest",
            |v| {
                v["containers"][0]["image"] = json!(
                    "registry.example.com/shop/web@sha256:1111111111111111111111111111111111111111111111111111111111111111"
                )
            },
            "containers[0].image",
            "not the intent's digest",
        ),
        (
            "privileged",
            |v| v["containers"][0]["securityContext"]["privileged"] = json!(true),
            "containers[0].securityContext.privileged",
            "privileged",
        ),
        (
            "escalation",
            |v| v["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = json!(true),
            "containers[0].securityContext.allowPrivilegeEscalation",
            "escalation",
        ),
        (
            "root",
            |v| v["containers"][0]["securityContext"]["runAsUser"] = json!(0),
            "containers[0].securityContext.runAsUser",
            "runs as root",
        ),
        (
            "user unset",
            |v| {
                let sc = v["containers"][0]["securityContext"]
                    .as_object_mut()
                    .unwrap();
                sc.remove("runAsUser");
                sc.remove("runAsNonRoot");
            },
            "containers[0].securityContext.runAsNonRoot",
            "may run as root",
        ),
        (
            "writable root",
            |v| v["containers"][0]["securityContext"]["readOnlyRootFilesystem"] = json!(false),
            "containers[0].securityContext.readOnlyRootFilesystem",
            "writable",
        ),
        (
            "no drop ALL",
            |v| v["containers"][0]["securityContext"]["capabilities"] = json!({}),
            "containers[0].securityContext.capabilities.drop",
            "drop ALL",
        ),
        (
            "an added capability",
            |v| v["containers"][0]["securityContext"]["capabilities"]["add"] = json!(["NET_ADMIN"]),
            "containers[0].securityContext.capabilities.add",
            "adds NET_ADMIN",
        ),
        (
            "seccomp unconfined",
            |v| {
                v["containers"][0]["securityContext"]["seccompProfile"] =
                    json!({ "type": "Unconfined" })
            },
            "containers[0].securityContext.seccompProfile",
            "no seccomp",
        ),
        (
            "seccomp runtime default",
            |v| {
                v["containers"][0]["securityContext"]["seccompProfile"] =
                    json!({ "type": "RuntimeDefault" })
            },
            "containers[0].securityContext.seccompProfile",
            "wider",
        ),
        (
            "host network",
            |v| v["hostNetwork"] = json!(true),
            "hostNetwork",
            "host's network",
        ),
        (
            "host PID",
            |v| v["hostPID"] = json!(true),
            "hostPID",
            "process namespace",
        ),
        (
            "another port",
            |v| {
                v["containers"][0]["ports"] =
                    json!([{ "containerPort": 8080 }, { "containerPort": 22 }])
            },
            "containers[0].ports[1]",
            "TCP 22",
        ),
        (
            "the port over UDP",
            |v| v["containers"][0]["ports"] = json!([{ "containerPort": 8080, "protocol": "UDP" }]),
            "containers[0].ports[0]",
            "UDP 8080",
        ),
        (
            "a host port",
            |v| v["containers"][0]["ports"] = json!([{ "containerPort": 8080, "hostPort": 8080 }]),
            "containers[0].ports[0].hostPort",
            "host port",
        ),
        (
            "a host path",
            |v| {
                v["volumes"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({ "name": "root", "hostPath": { "path": "/" } }));
                v["containers"][0]["volumeMounts"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({ "name": "root", "mountPath": "/host" }));
            },
            "containers[0].volumeMounts[1]",
            "host path",
        ),
    ];
    let mut wrong = Vec::new();
    for (what, change, field, part) in cases {
        let mut spec = conforming();
        change(&mut spec);
        let found = check_pod_spec(&s, &spec).excess;
        let ok = found.len() == 1 && found[0].field == field && found[0].message.contains(part);
        if !ok {
            wrong.push(format!("{what}: {found:#?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_pod_level_security_context_counts_and_other_images_are_listed() {
    let (s, _) = set();
    let mut spec = conforming();
    // runAsNonRoot moved to the pod level: still conforming
    let sc = spec["containers"][0]["securityContext"]
        .as_object_mut()
        .unwrap();
    sc.remove("runAsUser");
    sc.remove("runAsNonRoot");
    spec["securityContext"] = json!({ "runAsNonRoot": true });
    spec["initContainers"] = json!([{ "name": "init", "image": "busybox:1.36" }]);
    let check = check_pod_spec(&s, &spec);
    assert!(check.excess.is_empty(), "{:#?}", check.excess);
    assert_eq!(
        check.without_intent,
        [(
            "init".to_owned(),
            "initContainers[0]".to_owned(),
            "busybox:1.36".to_owned()
        )]
    );
}

#[test]
fn repositories_are_compared_as_docker_normalises_them() {
    assert_eq!(
        normalise_repository("nginx:1").unwrap(),
        "docker.io/library/nginx"
    );
    assert_eq!(
        normalise_repository("docker.io/library/nginx@sha256:9b7c5f3c2d1e0a4b6c8d7e9f0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3").unwrap(),
        "docker.io/library/nginx"
    );
    assert_eq!(
        normalise_repository("index.docker.io/bitnami/redis").unwrap(),
        "docker.io/bitnami/redis"
    );
    assert_eq!(
        normalise_repository("Ghcr.IO/a/b:2").unwrap(),
        "ghcr.io/a/b"
    );
}

#[test]
fn a_second_intent_for_one_repository_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let example = rampart_testkit::paths::example("intent/web.intent.toml");
    std::fs::copy(&example, dir.path().join("a.toml")).unwrap();
    std::fs::copy(&example, dir.path().join("b.toml")).unwrap();
    let err = IntentSet::load(&[dir.path().to_owned()])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("a second intent for registry.example.com/shop/web"),
        "{err}"
    );
    std::fs::remove_file(dir.path().join("b.toml")).unwrap();
    assert_eq!(IntentSet::load(&[dir.path().to_owned()]).unwrap().len(), 1);
}
