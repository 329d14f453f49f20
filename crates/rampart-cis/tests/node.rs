//! rampart's node checks (for `rampart host`): the same checks kube-bench runs (cis-1.12
//! `node.yaml`, cis-1.20's 4.2.6), and their verdicts on small inputs: file facts as `stat`
//! prints them, kubelet flags over its configuration (YAML and JSON).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rampart_cis::node::{
    FileFact, FileStat, NodeCheck, NodeFile, Subject, checks, component_input, file_audit_output,
    file_checks, kubelet_checks, proxy_checks,
};
use rampart_cis::{Check, State, evaluate};
use rampart_testkit::paths::corpus;

fn node(id: &str, benchmark: &str) -> &'static NodeCheck {
    checks()
        .unwrap()
        .iter()
        .find(|c| c.check.id == id && c.benchmark == benchmark)
        .unwrap_or_else(|| panic!("{id}"))
}

/// What kube-bench judges: everything but the audit commands and the remediation text.
fn semantics(c: &Check) -> impl PartialEq + std::fmt::Debug {
    (
        c.id.clone(),
        c.text.clone(),
        c.kind.clone(),
        c.scored,
        c.use_multiple_values,
        c.tests.clone(),
        !c.audit_config.is_empty(),
    )
}

#[test]
fn the_checks_are_kube_benchs() {
    let upstream = rampart_cis::load(corpus("kube-bench/cfg/cis-1.12/node.yaml")).unwrap();
    let ours: Vec<&Check> = checks()
        .unwrap()
        .iter()
        .filter(|c| c.benchmark == "cis-1.12")
        .map(|c| &c.check)
        .collect();
    assert_eq!(ours.len(), upstream.checks().count());
    for (ours, theirs) in ours.iter().zip(upstream.checks()) {
        assert_eq!(semantics(ours), semantics(theirs));
    }
    let v120 = rampart_cis::load(corpus("kube-bench/cfg/cis-1.20/node.yaml")).unwrap();
    assert_eq!(
        semantics(&node("4.2.6", "cis-1.20").check),
        semantics(v120.check("4.2.6").unwrap())
    );
    assert_eq!(file_checks().unwrap().count(), 10);
    assert_eq!(kubelet_checks().unwrap().count(), 15);
    assert_eq!(proxy_checks().unwrap().count(), 1);
    assert_eq!(
        node("4.1.7", "cis-1.12").subject,
        Subject::File(NodeFile::ClientCaFile, FileFact::Permissions)
    );
}

fn stat(mode: u32, owner: &str) -> FileStat {
    let (user, group) = owner.split_once(':').unwrap();
    FileStat {
        mode,
        user: user.into(),
        group: group.into(),
    }
}

#[test]
fn file_checks_judge_stat_output_as_kube_bench() {
    // (check, file facts, state, kube-bench's sentence)
    let cases: &[(&str, Option<FileStat>, State, &str)] = &[
        (
            "4.1.1",
            Some(stat(0o644, "root:root")),
            State::Fail,
            "permissions has permissions 644, expected 600 or more restrictive",
        ),
        (
            "4.1.1",
            Some(stat(0o100600, "root:root")),
            State::Pass,
            "permissions has permissions 600, expected 600 or more restrictive",
        ),
        (
            "4.1.1",
            Some(stat(0o400, "root:root")),
            State::Pass,
            "permissions has permissions 400, expected 600 or more restrictive",
        ),
        (
            "4.1.9",
            Some(stat(0o4600, "root:root")),
            State::Fail,
            "permissions has permissions 4600, expected 600 or more restrictive",
        ),
        ("4.1.1", None, State::Fail, "'permissions' is present"),
        (
            "4.1.2",
            None,
            State::Pass,
            "'root:root' is present OR 'File not found' is present",
        ),
        (
            "4.1.2",
            Some(stat(0o600, "root:root")),
            State::Pass,
            "'root:root' is present OR 'File not found' is present",
        ),
        (
            "4.1.6",
            Some(stat(0o600, "kubelet:root")),
            State::Fail,
            "'root:root' is present",
        ),
        ("4.1.3", None, State::Warn, "'permissions' is present"),
        (
            "4.1.7",
            Some(stat(0o644, "root:root")),
            State::Pass,
            "permissions has permissions 644, expected 644 or more restrictive",
        ),
        (
            "4.1.8",
            Some(stat(0o644, "root:root")),
            State::Pass,
            "'root:root' is equal to 'root:root'",
        ),
        (
            "4.1.8",
            Some(stat(0o644, "root:wheel")),
            State::Warn,
            "'root:root' is present",
        ),
    ];
    for (id, facts, state, sentence) in cases {
        let c = node(id, "cis-1.12");
        let output = file_audit_output(c, facts.as_ref()).unwrap();
        let outcome = evaluate(&c.check, &component_input(&c.check, &output, None));
        assert_eq!(
            (outcome.state, outcome.expected.as_str()),
            (*state, *sentence),
            "{id} {facts:?}"
        );
    }
    assert!(file_audit_output(node("4.2.1", "cis-1.12"), None).is_none());
}

#[test]
fn kubelet_checks_judge_flags_over_configuration() {
    // (check, flags, configuration, state)
    let cases: &[(&str, &str, Option<&str>, State)] = &[
        (
            "4.2.1",
            "kubelet",
            Some("authentication:\n  anonymous:\n    enabled: false\n"),
            State::Pass,
        ),
        (
            "4.2.1",
            "kubelet",
            Some("authentication:\n  anonymous:\n    enabled: true\n"),
            State::Fail,
        ),
        // A flag overrides the file, both ways.
        (
            "4.2.1",
            "kubelet --anonymous-auth=true",
            Some("authentication:\n  anonymous:\n    enabled: false\n"),
            State::Fail,
        ),
        (
            "4.2.1",
            "kubelet --anonymous-auth=false",
            Some(r#"{"authentication": {"anonymous": {"enabled": true}}}"#),
            State::Pass,
        ),
        ("4.2.1", "kubelet", None, State::Fail),
        ("4.2.1", "kubelet", Some("{}"), State::Fail),
        (
            "4.2.2",
            "kubelet",
            Some("authorization:\n  mode: AlwaysAllow\n"),
            State::Fail,
        ),
        (
            "4.2.2",
            "kubelet",
            Some("authorization:\n  mode: Webhook\n"),
            State::Pass,
        ),
        (
            "4.2.4",
            "kubelet",
            Some("readOnlyPort: 10255\n"),
            State::Warn,
        ),
        (
            "4.2.4",
            "kubelet",
            Some(r#"{"readOnlyPort": 0}"#),
            State::Pass,
        ),
        (
            "4.2.4",
            "kubelet",
            Some("cgroupDriver: systemd\n"),
            State::Pass,
        ),
        (
            "4.2.4",
            "kubelet --read-only-port=10255",
            Some("readOnlyPort: 0\n"),
            State::Warn,
        ),
        (
            "4.2.5",
            "kubelet",
            Some("streamingConnectionIdleTimeout: 0\n"),
            State::Warn,
        ),
        (
            "4.2.5",
            "kubelet",
            Some("streamingConnectionIdleTimeout: 4h0m0s\n"),
            State::Pass,
        ),
        (
            "4.2.10",
            "kubelet",
            Some("rotateCertificates: false\n"),
            State::Fail,
        ),
        ("4.2.10", "kubelet", Some("{}"), State::Pass),
        (
            "4.2.11",
            "kubelet",
            Some("featureGates:\n  RotateKubeletServerCertificate: false\n"),
            State::Warn,
        ),
        (
            "4.2.11",
            "kubelet --feature-gates=RotateKubeletServerCertificate=false",
            Some("{}"),
            State::Warn,
        ),
        ("4.2.11", "kubelet", Some("{}"), State::Pass),
        (
            "4.2.12",
            "kubelet",
            Some(
                "tlsCipherSuites:\n- TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\n- TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384\n",
            ),
            State::Pass,
        ),
        (
            "4.2.12",
            "kubelet",
            Some(
                r#"{"tlsCipherSuites": ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_RSA_WITH_AES_128_CBC_SHA"]}"#,
            ),
            State::Warn,
        ),
        (
            "4.2.12",
            "kubelet --tls-cipher-suites=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            Some(r#"{"tlsCipherSuites": ["TLS_RSA_WITH_AES_128_CBC_SHA"]}"#),
            State::Pass,
        ),
        ("4.2.12", "kubelet", Some("{}"), State::Warn),
        (
            "4.2.13",
            "kubelet",
            Some("podPidsLimit: 4096\n"),
            State::Pass,
        ),
        ("4.2.13", "kubelet", Some("{}"), State::Warn),
        (
            "4.2.14",
            "kubelet --seccomp-default",
            Some("{}"),
            State::Pass,
        ),
        (
            "4.2.7",
            "kubelet --hostname-override=node-1",
            None,
            State::Warn,
        ),
        ("4.2.7", "kubelet --v=2", None, State::Pass),
        (
            "4.3.1",
            "kube-proxy",
            Some("metricsBindAddress: 0.0.0.0:10249\n"),
            State::Fail,
        ),
        (
            "4.3.1",
            "kube-proxy",
            Some("metricsBindAddress: 127.0.0.1:10249\n"),
            State::Pass,
        ),
        // A configuration that is neither JSON nor YAML is not passed over.
        ("4.2.2", "kubelet", Some("mode: [broken\n"), State::Fail),
    ];
    for (id, flags, config, state) in cases {
        let c = node(id, "cis-1.12");
        let outcome = evaluate(&c.check, &component_input(&c.check, flags, *config));
        assert_eq!(
            outcome.state, *state,
            "{id} {flags} {config:?}: {outcome:?}"
        );
    }
    let pkd = node("4.2.6", "cis-1.20");
    for (config, state) in [
        ("protectKernelDefaults: true\n", State::Pass),
        ("protectKernelDefaults: false\n", State::Fail),
        ("{}", State::Fail),
    ] {
        let outcome = evaluate(
            &pkd.check,
            &component_input(&pkd.check, "kubelet", Some(config)),
        );
        assert_eq!(outcome.state, state, "{config}");
    }
    // The sentence and the value found name what was judged.
    let c = node("4.2.1", "cis-1.12");
    let o = evaluate(
        &c.check,
        &component_input(
            &c.check,
            "kubelet",
            Some("authentication: {anonymous: {enabled: true}}"),
        ),
    );
    assert_eq!(
        o.expected,
        "'{.authentication.anonymous.enabled}' is equal to 'false'"
    );
    assert_eq!(o.items[0].value, "true");
    assert_eq!(o.errors().count(), 0);
    // A broken configuration is an input error beside the state.
    let c = node("4.2.2", "cis-1.12");
    let o = evaluate(
        &c.check,
        &component_input(&c.check, "kubelet", Some("authorization: [broken\n")),
    );
    assert_eq!(o.state, State::Fail);
    let errors: Vec<&str> = o.errors().collect();
    assert_eq!(errors.len(), 1, "{o:?}");
    assert!(
        errors[0].contains("failed to load YAML or JSON"),
        "{errors:?}"
    );
    assert_eq!(o.items[0].source, rampart_cis::Source::Config);
}
