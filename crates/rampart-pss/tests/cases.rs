//! Table tests for tricky cases, and a property test that evaluation never
//! panics on arbitrary, roughly pod-shaped JSON.

// Test code: panicking with context is how a failure is reported.
#![allow(clippy::panic, clippy::expect_used, clippy::unwrap_used)]

use proptest::prelude::*;
use rampart_pss::{Evaluation, FieldPath, Level, PathSeg, Version, checks, evaluate, format_path};
use serde_json::{Value, json};

fn v(s: &str) -> Version {
    s.parse().unwrap()
}

fn ids(e: &Evaluation) -> Vec<&'static str> {
    e.failed_check_ids()
}

/// The minimal restricted pod of the newest policy.
fn restricted_pod() -> Value {
    json!({
        "metadata": {"name": "p"},
        "spec": {
            "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{
                "name": "app",
                "image": "img",
                "securityContext": {
                    "allowPrivilegeEscalation": false,
                    "capabilities": {"drop": ["ALL"]}
                }
            }]
        }
    })
}

fn resolve<'a>(value: &'a Value, path: &FieldPath) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, seg| match seg {
        PathSeg::Key(k) => v.get(k.as_str()),
        PathSeg::Index(i) => v.get(*i),
    })
}

#[test]
fn minimal_pods() {
    let pod = restricted_pod();
    for minor in 0..=40 {
        assert!(evaluate(Level::Restricted, Version::v1(minor), &pod).allowed());
        assert!(evaluate(Level::Baseline, Version::v1(minor), &pod).allowed());
    }
    assert!(evaluate(Level::Restricted, Version::LATEST, &pod).allowed());
    // An empty or non-object input is an empty pod: nothing to object to.
    for input in [json!({}), json!(null), json!([1, 2]), json!("pod")] {
        assert!(evaluate(Level::Restricted, Version::LATEST, &input).allowed());
    }
}

#[test]
fn privileged_level_allows_everything() {
    let pod = json!({"spec": {
        "hostNetwork": true, "hostPID": true,
        "volumes": [{"name": "h", "hostPath": {"path": "/"}}],
        "containers": [{"name": "c", "securityContext": {"privileged": true, "runAsUser": 0}}]
    }});
    let e = evaluate(Level::Privileged, Version::LATEST, &pod);
    assert!(e.allowed());
    assert_eq!(e.message(), "");
    assert!(!evaluate(Level::Baseline, Version::LATEST, &pod).allowed());
}

#[test]
fn windows_exemption_starts_at_1_25() {
    let pod = json!({"spec": {
        "os": {"name": "windows"},
        "securityContext": {"runAsNonRoot": true},
        "containers": [{"name": "win"}]
    }});
    let e = evaluate(Level::Restricted, v("v1.24"), &pod);
    assert_eq!(
        ids(&e),
        [
            "allowPrivilegeEscalation",
            "capabilities_restricted",
            "seccompProfile_restricted"
        ]
    );
    assert!(evaluate(Level::Restricted, v("v1.25"), &pod).allowed());
    assert!(evaluate(Level::Restricted, Version::LATEST, &pod).allowed());

    // runAsNonRoot still applies to Windows pods.
    let mut no_non_root = pod.clone();
    no_non_root["spec"]["securityContext"] = json!({});
    let e = evaluate(Level::Restricted, v("v1.25"), &no_non_root);
    assert_eq!(ids(&e), ["runAsNonRoot"]);

    // Only the exact value counts; a Linux pod is not exempt.
    for os in [json!("Windows"), json!(["windows"]), json!("linux")] {
        let mut other = pod.clone();
        other["spec"]["os"]["name"] = os;
        assert!(!evaluate(Level::Restricted, v("v1.25"), &other).allowed());
    }
}

#[test]
fn windows_exemption_also_drops_overridden_baseline_capabilities() {
    // capabilities_restricted replaces capabilities_baseline at restricted,
    // so a Windows pod is not checked for added capabilities at all (as
    // upstream); baseline still catches it.
    let pod = json!({"spec": {
        "os": {"name": "windows"},
        "securityContext": {"runAsNonRoot": true},
        "containers": [{"name": "c", "securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}}]
    }});
    assert!(evaluate(Level::Restricted, v("v1.30"), &pod).allowed());
    let e = evaluate(Level::Baseline, v("v1.30"), &pod);
    assert_eq!(ids(&e), ["capabilities_baseline"]);
}

#[test]
fn user_namespaces_relax_checks_from_1_35() {
    let pod = json!({"spec": {
        "hostUsers": false,
        "securityContext": {"runAsUser": 0, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{
            "name": "c",
            "securityContext": {
                "allowPrivilegeEscalation": false,
                "capabilities": {"drop": ["ALL"]},
                "procMount": "Unmasked"
            }
        }]
    }});
    let e = evaluate(Level::Restricted, v("v1.34"), &pod);
    assert_eq!(ids(&e), ["procMount", "runAsNonRoot", "runAsUser"]);
    let e = evaluate(Level::Restricted, v("v1.35"), &pod);
    assert_eq!(ids(&e), ["procMount_restricted"]);
    assert_eq!(
        e.message(),
        r#"violates PodSecurity "restricted:v1.35": procMount (container "c" must not set securityContext.procMount to "Unmasked")"#
    );

    assert_eq!(
        ids(&evaluate(Level::Baseline, v("v1.34"), &pod)),
        ["procMount"]
    );
    assert!(evaluate(Level::Baseline, v("v1.35"), &pod).allowed());

    // hostUsers must be the boolean false.
    let mut host_users = pod.clone();
    for value in [json!(true), json!("false"), json!(0), json!(null)] {
        host_users["spec"]["hostUsers"] = value.clone();
        let e = evaluate(Level::Restricted, v("v1.35"), &host_users);
        assert_eq!(
            ids(&e),
            ["procMount_restricted", "runAsNonRoot", "runAsUser"],
            "hostUsers={value}"
        );
        assert_eq!(
            ids(&evaluate(Level::Baseline, v("v1.35"), &host_users)),
            ["procMount"]
        );
    }
}

#[test]
fn seccomp_annotations_apply_before_1_19() {
    let pod = json!({
        "metadata": {"annotations": {
            "seccomp.security.alpha.kubernetes.io/pod": "unconfined",
            "container.seccomp.security.alpha.kubernetes.io/c": "localhost/ok",
            "container.seccomp.security.alpha.kubernetes.io/d": "docker/default",
            "container.seccomp.security.alpha.kubernetes.io/other": "unconfined"
        }},
        "spec": {"containers": [{"name": "c"}, {"name": "d"}]}
    });
    let e = evaluate(Level::Baseline, v("v1.18"), &pod);
    assert_eq!(
        e.message(),
        r#"violates PodSecurity "baseline:v1.18": seccompProfile (forbidden annotation seccomp.security.alpha.kubernetes.io/pod="unconfined")"#
    );
    assert_eq!(
        format_path(&e.violations[0].paths[0]),
        r#"metadata.annotations["seccomp.security.alpha.kubernetes.io/pod"]"#
    );
    // From 1.19 only the fields count (the API server copies annotations
    // into fields for new pods).
    assert!(evaluate(Level::Baseline, v("v1.19"), &pod).allowed());

    let fields = json!({"spec": {
        "securityContext": {"seccompProfile": {"type": "Unconfined"}},
        "containers": [{"name": "c", "securityContext": {"seccompProfile": {"type": "Unconfined"}}}]
    }});
    assert!(evaluate(Level::Baseline, v("v1.18"), &fields).allowed());
    let e = evaluate(Level::Baseline, v("v1.19"), &fields);
    assert_eq!(
        e.violations[0].detail,
        r#"pod and container "c" must not set securityContext.seccompProfile.type to "Unconfined""#
    );
}

#[test]
fn apparmor_annotation_and_field_forms() {
    let pod = json!({
        "metadata": {"annotations": {
            "container.apparmor.security.beta.kubernetes.io/a": "unconfined",
            "container.apparmor.security.beta.kubernetes.io/b": "localhost/custom",
            "container.apparmor.security.beta.kubernetes.io/c": "runtime/default"
        }},
        "spec": {"containers": [{"name": "a"}]}
    });
    let e = evaluate(Level::Baseline, v("v1.0"), &pod);
    assert_eq!(ids(&e), ["appArmorProfile"]);
    assert_eq!(e.violations[0].reason, "forbidden AppArmor profile");
    assert_eq!(e.violations[0].container.as_deref(), Some("a"));

    let fields = json!({"spec": {
        "securityContext": {"appArmorProfile": {"type": "Unconfined"}},
        "containers": [
            {"name": "x", "securityContext": {"appArmorProfile": {"type": "Localhost", "localhostProfile": "p"}}},
            {"name": "y", "securityContext": {"appArmorProfile": {"type": "Unconfined"}}}
        ]
    }});
    let e = evaluate(Level::Baseline, Version::LATEST, &fields);
    assert_eq!(
        e.message(),
        r#"violates PodSecurity "baseline:latest": forbidden AppArmor profile (pod and container "y" must not set AppArmor profile type to "Unconfined")"#
    );
    assert_eq!(e.violations[0].paths.len(), 2);
}

#[test]
fn selinux_container_engine_type_from_1_31() {
    let pod = json!({"spec": {"containers": [{"name": "c", "securityContext": {
        "seLinuxOptions": {"type": "container_engine_t"}
    }}]}});
    let e = evaluate(Level::Baseline, v("v1.30"), &pod);
    assert_eq!(
        e.violations[0].detail,
        r#"container "c" set forbidden securityContext.seLinuxOptions: type "container_engine_t""#
    );
    assert!(evaluate(Level::Baseline, v("v1.31"), &pod).allowed());

    let pod = json!({"spec": {
        "securityContext": {"seLinuxOptions": {"type": "spc_t", "user": "u", "role": "r"}},
        "containers": [{"name": "c", "securityContext": {"seLinuxOptions": {"type": "unconfined_t"}}}]
    }});
    let e = evaluate(Level::Baseline, Version::LATEST, &pod);
    assert_eq!(
        e.violations[0].detail,
        r#"pod and container "c" set forbidden securityContext.seLinuxOptions: types "spc_t", "unconfined_t"; user may not be set; role may not be set"#
    );
    assert_eq!(e.violations[0].paths.len(), 4);
}

#[test]
fn sysctl_allow_list_grows_and_latest_is_newest() {
    let pod = |name: &str| json!({"spec": {"securityContext": {"sysctls": [{"name": name, "value": "1"}]}}});
    for (name, since) in [
        ("kernel.shm_rmid_forced", 0),
        ("net.ipv4.ip_local_reserved_ports", 27),
        ("net.ipv4.tcp_keepalive_time", 29),
        ("net.ipv4.tcp_wmem", 32),
        ("net.ipv4.tcp_notsent_lowat", 37),
    ] {
        if since > 0 {
            assert!(
                !evaluate(Level::Baseline, Version::v1(since - 1), &pod(name)).allowed(),
                "{name} before v1.{since}"
            );
        }
        for version in [Version::v1(since), Version::v1(99), Version::LATEST] {
            assert!(
                evaluate(Level::Baseline, version, &pod(name)).allowed(),
                "{name} at {version}"
            );
        }
    }
    let e = evaluate(Level::Baseline, v("v1.99"), &pod("kernel.foo"));
    assert_eq!(
        e.message(),
        r#"violates PodSecurity "baseline:v1.99": forbidden sysctls (kernel.foo)"#
    );
}

#[test]
fn overrides_depend_on_version() {
    let pod = json!({"spec": {
        "securityContext": {"runAsNonRoot": true},
        "containers": [{"name": "c", "securityContext": {
            "allowPrivilegeEscalation": false,
            "capabilities": {"add": ["NET_RAW"]}
        }}]
    }});
    assert_eq!(
        ids(&evaluate(Level::Restricted, v("v1.21"), &pod)),
        ["capabilities_baseline", "seccompProfile_restricted"]
    );
    assert_eq!(
        ids(&evaluate(Level::Restricted, v("v1.22"), &pod)),
        ["capabilities_restricted", "seccompProfile_restricted"]
    );
    let e = evaluate(Level::Restricted, v("v1.22"), &pod);
    assert_eq!(
        e.violations[0].detail,
        r#"container "c" must set securityContext.capabilities.drop=["ALL"]; container "c" must not include "NET_RAW" in securityContext.capabilities.add"#
    );
}

#[test]
fn message_orders_baseline_then_restricted_by_id() {
    let pod = json!({"spec": {
        "hostPID": true,
        "volumes": [{"name": "v", "nfs": {"server": "s", "path": "/"}}, {"name": "img", "image": {"reference": "x"}}, {"name": "default"}],
        "ephemeralContainers": [{"name": "debug", "securityContext": {"privileged": true}}]
    }});
    let e = evaluate(Level::Restricted, Version::LATEST, &pod);
    assert_eq!(
        ids(&e),
        [
            "hostNamespaces",
            "privileged",
            "allowPrivilegeEscalation",
            "capabilities_restricted",
            "restrictedVolumes",
            "runAsNonRoot",
            "seccompProfile_restricted"
        ]
    );
    let msg = e.message();
    assert!(msg.starts_with(r#"violates PodSecurity "restricted:latest": host namespaces (hostPID=true), privileged (container "debug" must not set securityContext.privileged=true), "#), "{msg}");
    assert!(
        msg.contains(r#"restricted volume types (volumes "v", "img" use restricted volume types "nfs", "unknown")"#),
        "{msg}"
    );
    let privileged = &e.violations[1];
    assert_eq!(privileged.level, Level::Baseline);
    assert_eq!(privileged.container.as_deref(), Some("debug"));
    assert_eq!(
        serde_json::to_value(&privileged.paths).unwrap(),
        json!([[
            "spec",
            "ephemeralContainers",
            0,
            "securityContext",
            "privileged"
        ]])
    );
    for violation in &e.violations {
        for path in &violation.paths {
            assert!(resolve(&pod, path).is_some(), "{path:?}");
        }
    }
}

#[test]
fn malformed_fields_never_loosen_the_verdict() {
    // Truthy strings for forbidden flags count as set.
    let pod = json!({"spec": {
        "hostNetwork": "yes",
        "containers": [{"name": "c", "securityContext": {"privileged": "True"}}]
    }});
    assert_eq!(
        ids(&evaluate(Level::Baseline, Version::LATEST, &pod)),
        ["hostNamespaces", "privileged"]
    );
    // Required values only count when exact.
    let mut pod = restricted_pod();
    pod["spec"]["securityContext"]["runAsNonRoot"] = json!("true");
    pod["spec"]["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = json!("false");
    let e = evaluate(Level::Restricted, Version::LATEST, &pod);
    assert_eq!(ids(&e), ["allowPrivilegeEscalation", "runAsNonRoot"]);
    // A non-object container is still a container that lacks settings.
    let pod = json!({"spec": {"securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "Localhost"}}, "containers": [7]}});
    let e = evaluate(Level::Restricted, Version::LATEST, &pod);
    assert_eq!(
        ids(&e),
        ["allowPrivilegeEscalation", "capabilities_restricted"]
    );
    assert_eq!(
        e.violations[0].paths,
        vec![vec![
            PathSeg::key("spec"),
            PathSeg::key("containers"),
            PathSeg::Index(0)
        ]]
    );
    // Wrong-typed enumerations never match an allowed value.
    let pod = json!({"spec": {"containers": [{"name": "c", "ports": [{"hostPort": "8080"}], "securityContext": {"procMount": 1}}]}});
    let e = evaluate(Level::Baseline, Version::LATEST, &pod);
    assert_eq!(ids(&e), ["hostPorts", "procMount"]);
    assert_eq!(
        e.violations[1].detail,
        r#"container "c" must not set securityContext.procMount to "1""#
    );
    // hostPort 0 and runAsUser non-zero are fine; float zero is zero.
    let pod = json!({"spec": {"securityContext": {"runAsUser": 0.0}, "containers": [{"name": "c", "ports": [{"hostPort": 0}]}]}});
    assert_eq!(
        ids(&evaluate(Level::Baseline, Version::LATEST, &pod)),
        Vec::<&str>::new()
    );
    assert!(ids(&evaluate(Level::Restricted, Version::LATEST, &pod)).contains(&"runAsUser"));
}

#[test]
fn huge_pods_are_handled() {
    let containers: Vec<Value> = (0..20_000)
        .map(|i| json!({"name": format!("c{i}"), "securityContext": {"privileged": i % 2 == 0}}))
        .collect();
    let pod = json!({"spec": {"containers": containers}});
    let e = evaluate(Level::Restricted, Version::LATEST, &pod);
    assert_eq!(e.violations[0].check_id, "privileged");
    assert_eq!(e.violations[0].paths.len(), 10_000);
    assert_eq!(e.violations[0].container.as_deref(), Some("c0"));
}

#[test]
fn version_parsing() {
    assert_eq!(v("v1.29"), Version::v1(29));
    assert_eq!(v("1.29"), Version::new(1, 29));
    assert_eq!(v("v1.0"), Version::v1(0));
    assert_eq!(v("latest"), Version::LATEST);
    assert!(Version::LATEST.is_latest());
    for bad in [
        "",
        "v1",
        "v1.",
        "v2.0",
        "v0.1",
        "v1.x",
        "v1.+3",
        " v1.2",
        "v1.2 ",
        "V1.2",
        "Latest",
        "v1.2.3",
        "1.99999999999",
    ] {
        assert!(bad.parse::<Version>().is_err(), "{bad:?} should not parse");
    }
    assert_eq!(Version::v1(29).to_string(), "v1.29");
    assert_eq!(Version::LATEST.to_string(), "latest");
    assert!(Version::LATEST > Version::v1(u32::MAX - 1));
    assert!(Version::v1(9) < Version::v1(10));

    assert_eq!(Version::v1(12).policy_minor(), 12);
    assert_eq!(Version::v1(99).policy_minor(), Version::NEWEST_POLICY.minor);
    assert_eq!(Version::LATEST.policy_minor(), Version::NEWEST_POLICY.minor);
    assert_eq!(
        Version::new(2, 0).policy_minor(),
        Version::NEWEST_POLICY.minor
    );
    assert_eq!(Version::new(0, 30).policy_minor(), 0);

    assert_eq!(
        serde_json::to_value(Version::v1(29)).unwrap(),
        json!("v1.29")
    );
    assert_eq!(
        serde_json::to_value(Version::LATEST).unwrap(),
        json!("latest")
    );
    assert_eq!(
        serde_json::from_value::<Version>(json!("1.3")).unwrap(),
        Version::v1(3)
    );
    assert!(serde_json::from_value::<Version>(json!("nope")).is_err());
    let err = "v2.0".parse::<Version>().unwrap_err().to_string();
    assert!(err.contains("v2.0"), "{err}");
}

#[test]
fn level_parsing() {
    for (s, level) in [
        ("privileged", Level::Privileged),
        ("baseline", Level::Baseline),
        ("restricted", Level::Restricted),
    ] {
        assert_eq!(s.parse::<Level>().unwrap(), level);
        assert_eq!(level.to_string(), s);
        assert_eq!(serde_json::to_value(level).unwrap(), json!(s));
        assert_eq!(serde_json::from_value::<Level>(json!(s)).unwrap(), level);
    }
    assert!("Baseline".parse::<Level>().is_err());
    assert!(Level::Privileged < Level::Baseline && Level::Baseline < Level::Restricted);
}

#[test]
fn catalog() {
    let all = checks();
    assert_eq!(all.len(), 19);
    assert_eq!(
        all.iter().filter(|c| c.level == Level::Baseline).count(),
        12
    );
    let mut ids: Vec<_> = all.iter().map(|c| c.id).collect();
    ids.dedup();
    assert_eq!(ids.len(), 19);
    let probes = all
        .iter()
        .find(|c| c.id == "hostProbesAndHostLifecycle")
        .unwrap();
    assert_eq!(probes.min_version, Version::v1(34));
    let json = serde_json::to_value(all).unwrap();
    assert_eq!(json[0]["min_version"], json!("v1.0"));
}

// ---------------------------------------------------------------------------
// Property test

const KEYS: &[&str] = &[
    "metadata",
    "annotations",
    "spec",
    "containers",
    "initContainers",
    "ephemeralContainers",
    "securityContext",
    "name",
    "privileged",
    "hostNetwork",
    "hostPID",
    "hostIPC",
    "hostUsers",
    "os",
    "capabilities",
    "add",
    "drop",
    "volumes",
    "hostPath",
    "image",
    "ports",
    "hostPort",
    "seccompProfile",
    "type",
    "appArmorProfile",
    "seLinuxOptions",
    "user",
    "role",
    "procMount",
    "sysctls",
    "windowsOptions",
    "hostProcess",
    "runAsNonRoot",
    "runAsUser",
    "allowPrivilegeEscalation",
    "livenessProbe",
    "startupProbe",
    "httpGet",
    "tcpSocket",
    "host",
    "lifecycle",
    "preStop",
    "emptyDir",
    "seccomp.security.alpha.kubernetes.io/pod",
    "container.seccomp.security.alpha.kubernetes.io/c",
    "container.apparmor.security.beta.kubernetes.io/c",
];

const STRINGS: &[&str] = &[
    "",
    "c",
    "ALL",
    "NET_RAW",
    "NET_BIND_SERVICE",
    "Unmasked",
    "Default",
    "windows",
    "linux",
    "RuntimeDefault",
    "Localhost",
    "Unconfined",
    "unconfined",
    "runtime/default",
    "localhost/x",
    "true",
    "yes",
    "false",
    "0",
    "container_t",
    "kernel.shm_rmid_forced",
    "127.0.0.1",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        prop_oneof![Just(0i64), Just(1)].prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        prop::sample::select(STRINGS).prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(KEYS).prop_map(str::to_owned),
        1 => "[a-zA-Z./]{0,8}",
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(5, 96, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn container() -> impl Strategy<Value = Value> {
    (
        prop::option::of(prop::sample::select(STRINGS)),
        prop::collection::btree_map(key(), json_value(), 0..6),
        json_value(),
    )
        .prop_map(|(name, mut sc, other)| {
            let mut c = serde_json::Map::new();
            if let Some(name) = name {
                c.insert("name".into(), Value::from(name));
            }
            sc.insert("capabilities".into(), other.clone());
            c.insert(
                "securityContext".into(),
                Value::Object(sc.into_iter().collect()),
            );
            c.insert("ports".into(), other.clone());
            c.insert("livenessProbe".into(), other);
            Value::Object(c)
        })
}

fn pod() -> impl Strategy<Value = Value> {
    (
        json_value(),
        prop::collection::vec(container(), 0..4),
        prop::collection::vec(json_value(), 0..3),
        prop::collection::btree_map(key(), json_value(), 0..8),
        json_value(),
    )
        .prop_map(|(metadata, containers, init, spec_extra, any)| {
            let mut spec: serde_json::Map<String, Value> = spec_extra.into_iter().collect();
            spec.insert("containers".into(), Value::Array(containers));
            spec.insert("initContainers".into(), Value::Array(init));
            spec.insert("volumes".into(), any.clone());
            spec.insert("securityContext".into(), any);
            json!({"metadata": metadata, "spec": spec})
        })
}

fn check_invariants(input: &Value) {
    for level in [Level::Privileged, Level::Baseline, Level::Restricted] {
        for version in [
            Version::v1(0),
            Version::v1(19),
            Version::v1(25),
            Version::v1(35),
            Version::LATEST,
            Version::new(0, 0),
        ] {
            let e = evaluate(level, version, input);
            assert_eq!(e.allowed(), e.message().is_empty());
            if level == Level::Privileged {
                assert!(e.allowed());
            }
            for violation in &e.violations {
                assert!(!violation.paths.is_empty(), "{violation:?}");
                for path in &violation.paths {
                    assert!(resolve(input, path).is_some(), "{path:?} not in {input}");
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 384,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn never_panics_on_pod_shaped_json(input in pod()) {
        check_invariants(&input);
    }

    #[test]
    fn never_panics_on_arbitrary_json(input in json_value()) {
        check_invariants(&input);
        check_invariants(&json!({"spec": input}));
    }
}
