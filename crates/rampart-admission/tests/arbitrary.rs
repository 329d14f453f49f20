//! Arbitrary JSON as `object` / `oldObject`, for every kind and both endpoints, never panics
//! the engine, and every response is well-formed (the uid echoed, a denial carries a message,
//! a patch is valid base64 of a JSON array that applies to the object).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use proptest::prelude::*;
use rampart_admission::engine::decode_patch;
use rampart_admission::workload::KINDS;
use serde_json::{Map, Value, json};

/// Keys the engine and the evaluator look for, so generated objects reach deep code.
const KEYS: &[&str] = &[
    "spec",
    "template",
    "jobTemplate",
    "metadata",
    "annotations",
    "containers",
    "initContainers",
    "ephemeralContainers",
    "securityContext",
    "seccompProfile",
    "type",
    "capabilities",
    "drop",
    "add",
    "image",
    "name",
    "runAsNonRoot",
    "allowPrivilegeEscalation",
    "privileged",
    "runtimeClassName",
    "volumes",
    "hostPath",
    "a/b~c",
    "",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        prop_oneof![
            Just("RuntimeDefault".to_owned()),
            Just("ALL".to_owned()),
            Just("nginx:1".to_owned()),
            Just("127.0.0.1:1/x@sha256:00".to_owned()),
            ".{0,12}".prop_map(|s| s),
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 96, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..6).prop_map(|kv| {
                let mut m = Map::new();
                for (k, v) in kv {
                    m.insert(k.to_owned(), v);
                }
                Value::Object(m)
            }),
        ]
    })
}

const CONFIG: &str = r#"
default-profile = "all"
[profiles.all]
pss = { level = "restricted" }
registries = { mode = "warn", allow = ["registry.example.com/**"] }
digest = { mode = "audit" }
seccomp = {}
runtime-class = { mode = "warn", allow = ["gvisor"] }
mutate = { seccomp = true, allow-privilege-escalation = true, drop-all = true, run-as-non-root = true }
[profiles.force]
mutate = { seccomp = true, allow-privilege-escalation = true, drop-all = true, run-as-non-root = true, override = true }
"#;

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]
    #[test]
    fn arbitrary_objects_never_panic(
        object in json_value(),
        old in json_value(),
        kind_index in 0..KINDS.len() + 1,
        update in any::<bool>(),
    ) {
        let engine = engine(CONFIG);
        let mut raw = fixture_json("pod-create.json");
        let (group, kind) = KINDS.get(kind_index).map_or(("", "Secret"), |l| (l.group, l.kind));
        raw["request"]["kind"] = json!({"group": group, "version": "v1", "kind": kind});
        raw["request"]["object"] = object.clone();
        if update {
            raw["request"]["operation"] = json!("UPDATE");
            raw["request"]["oldObject"] = old;
        }
        let req = request_from(&raw);
        for profile in [None, Some("force")] {
            let d = validate(&engine, &req, profile);
            prop_assert_eq!(&d.response.uid, &req.uid);
            if !d.response.allowed {
                prop_assert!(!message(&d).is_empty());
            }
            let m = mutate(&engine, &req, profile);
            // a malformed workload is refused on both endpoints (never patched)
            prop_assert!(m.response.allowed || (!message(&m).is_empty() && m.response.patch.is_none()));
            if m.response.patch.is_some() {
                let ops = decode_patch(&m.response).unwrap();
                let patch: json_patch::Patch = serde_json::from_value(Value::Array(ops)).unwrap();
                let mut target = object.clone();
                prop_assert!(json_patch::patch(&mut target, &patch).is_ok());
            }
        }
    }
}
