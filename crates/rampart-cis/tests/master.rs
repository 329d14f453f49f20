//! rampart's control-plane checks for static pod manifests: the benchmark's items and
//! kube-bench's tests, and how a container's arguments are judged: kube-bench's reading of
//! the raw command line against rampart's reading of the effective one (the flag as the
//! component parses it), which agree whenever flags are written `--flag=value` once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rampart_cis::master::{Component, ManifestCheck, checks_for, container_input, manifest_checks};
use rampart_cis::{Input, State, TestItem, evaluate};
use rampart_testkit::paths::corpus;

/// The CIS v1.12 items of kube-bench's master.yaml, etcd.yaml and controlplane.yaml whose tests
/// look at a control-plane flag (kube-bench's cfg/cis-1.12, commit a73ce378).
const FLAG_ITEMS: &[&str] = &[
    "1.2.1", "1.2.2", "1.2.3", "1.2.4", "1.2.5", "1.2.6", "1.2.7", "1.2.8", "1.2.9", "1.2.10",
    "1.2.11", "1.2.12", "1.2.13", "1.2.14", "1.2.15", "1.2.16", "1.2.17", "1.2.18", "1.2.19",
    "1.2.21", "1.2.22", "1.2.23", "1.2.24", "1.2.25", "1.2.26", "1.2.27", "1.2.29", "1.2.30",
    "1.3.1", "1.3.2", "1.3.3", "1.3.4", "1.3.5", "1.3.6", "1.3.7", "1.4.1", "1.4.2", "2.1", "2.2",
    "2.3", "2.4", "2.5", "2.6", "2.7", "3.2.1",
];

fn check(id: &str) -> &'static ManifestCheck {
    manifest_checks()
        .unwrap()
        .iter()
        .find(|c| c.check.id == id)
        .unwrap()
}

fn title(text: &str) -> &str {
    text.trim_end_matches(" (Automated)")
        .trim_end_matches(" (Manual)")
}

fn shape(items: &[TestItem]) -> Vec<(String, String, bool, Option<String>)> {
    items
        .iter()
        .map(|i| {
            (
                i.flag.clone(),
                i.env.clone(),
                i.set,
                i.compare.as_ref().map(|c| c.op.to_string()),
            )
        })
        .collect()
}

#[test]
fn the_items_and_their_components() {
    let ids: Vec<&str> = manifest_checks()
        .unwrap()
        .iter()
        .map(|c| c.check.id.as_str())
        .collect();
    assert_eq!(ids, FLAG_ITEMS);
    assert_eq!(checks_for(Component::ApiServer).unwrap().count(), 29);
    assert_eq!(checks_for(Component::ControllerManager).unwrap().count(), 7);
    assert_eq!(checks_for(Component::Scheduler).unwrap().count(), 2);
    assert_eq!(checks_for(Component::Etcd).unwrap().count(), 7);
    assert_eq!(check("3.2.1").component, Component::ApiServer);
    assert_eq!(
        Component::from_program("/usr/local/bin/kube-apiserver"),
        Some(Component::ApiServer)
    );
    assert_eq!(Component::from_program("kube-apiserver-proxy"), None);
}

/// Where cis-1.20 (in the corpus) has an item of the same title, kube-bench tests the same
/// flags the same way: a guard against a mistyped flag or operator.
#[test]
fn same_items_as_kube_benchs_cis_1_20_test_the_same_flags() {
    let mut older = Vec::new();
    for file in ["master", "etcd", "controlplane"] {
        let c = rampart_cis::load(corpus(&format!("kube-bench/cfg/cis-1.20/{file}.yaml"))).unwrap();
        older.extend(c.checks().cloned());
    }
    let mut same = 0;
    let ours = manifest_checks().unwrap().iter().map(|c| &c.check).chain(
        rampart_cis::master::file_checks()
            .unwrap()
            .iter()
            .map(|c| &c.check),
    );
    for ours in ours {
        let Some(theirs) = older.iter().find(|o| title(&o.text) == title(&ours.text)) else {
            continue;
        };
        let (Some(a), Some(b)) = (&ours.tests, &theirs.tests) else {
            continue;
        };
        let mut a = shape(&a.test_items);
        let mut b = shape(&b.test_items);
        a.sort();
        b.sort();
        // v1.20 writes `set: true` explicitly where v1.12 relies on the default: same thing.
        assert_eq!(a, b, "{} / {}", ours.id, theirs.id);
        same += 1;
    }
    assert!(same >= 45, "only {same} items in common");
}

fn raw_line(program: &str, args: &[&str]) -> String {
    std::iter::once(program)
        .chain(args.iter().copied())
        .collect::<Vec<_>>()
        .join(" ")
}

/// (item, arguments, rampart's state on the effective line, kube-bench's on the raw line)
#[test]
fn flags_as_the_component_reads_them() {
    use State::*;
    let cases: &[(&str, &[&str], State, State)] = &[
        // --flag=value and --flag value: the same setting to the API server; kube-bench reads
        // `--authorization-mode Node,RBAC` as the flag without a value.
        ("1.2.7", &["--authorization-mode=Node,RBAC"], Pass, Pass),
        ("1.2.7", &["--authorization-mode", "Node,RBAC"], Pass, Fail),
        ("1.2.8", &["--authorization-mode", "RBAC"], Pass, Fail),
        // A boolean takes no separate value: `--profiling false` is profiling on.
        ("1.2.15", &["--profiling", "false"], Fail, Fail),
        ("1.2.15", &["--profiling=false"], Pass, Pass),
        // Set twice: the last one counts; kube-bench reads the first.
        (
            "1.2.15",
            &["--profiling=true", "--profiling=false"],
            Pass,
            Fail,
        ),
        (
            "1.2.15",
            &["--profiling=false", "--profiling=true"],
            Fail,
            Pass,
        ),
        // kube-bench passes anonymous auth that the last flag turns back on.
        (
            "1.2.1",
            &["--anonymous-auth=false", "--anonymous-auth=true"],
            Warn,
            Pass,
        ),
        // Comma lists.
        (
            "1.2.14",
            &["--enable-admission-plugins=EventRateLimit,NodeRestriction"],
            Pass,
            Pass,
        ),
        (
            "1.2.9",
            &["--enable-admission-plugins=NodeRestriction"],
            Warn,
            Warn,
        ),
        // A list flag given twice enables both lists.
        (
            "1.2.14",
            &[
                "--enable-admission-plugins=EventRateLimit",
                "--enable-admission-plugins=NodeRestriction",
            ],
            Pass,
            Fail,
        ),
        (
            "1.2.10",
            &["--enable-admission-plugins=NodeRestriction,AlwaysAdmit"],
            Fail,
            Fail,
        ),
        ("1.2.10", &[], Pass, Pass),
        ("1.2.6", &["--authorization-mode=AlwaysAllow"], Fail, Fail),
        (
            "1.2.6",
            &["--authorization-mode=RBAC,AlwaysAllow"],
            Fail,
            Fail,
        ),
        ("1.2.2", &["--token-auth-file=/etc/tokens.csv"], Fail, Fail),
        ("1.2.17", &["--audit-log-maxage=7"], Fail, Fail),
        ("1.2.17", &["--audit-log-maxage", "30"], Pass, Fail),
        // An empty value is no setting.
        ("1.2.16", &["--audit-log-path="], Fail, Pass),
        (
            "1.2.29",
            &["--tls-cipher-suites=TLS_RSA_WITH_RC4_128_SHA"],
            Warn,
            Warn,
        ),
        (
            "3.2.1",
            &["--audit-policy-file=/etc/kubernetes/audit.yaml"],
            Pass,
            Pass,
        ),
    ];
    for (id, args, ours, theirs) in cases {
        let c = check(id);
        let program = c.component.program();
        let owned: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let input = container_input(program, &owned, &[]);
        let rampart = evaluate(
            &c.check,
            &Input {
                command: &input.command,
                ..Input::default()
            },
        );
        let raw = raw_line(program, args);
        let kube_bench = evaluate(
            &c.check,
            &Input {
                command: &raw,
                ..Input::default()
            },
        );
        assert_eq!(
            (rampart.state, kube_bench.state),
            (*ours, *theirs),
            "{id} {args:?}: effective `{}`",
            input.command
        );
    }
}

#[test]
fn etcd_reads_its_environment() {
    let c = check("2.2");
    let judge = |args: &[&str], env: &[(&str, &str)]| {
        let owned: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let input = container_input("etcd", &owned, env);
        evaluate(
            &c.check,
            &Input {
                command: &input.command,
                env: &input.env,
                ..Input::default()
            },
        )
        .state
    };
    assert_eq!(
        judge(&[], &[("ETCD_CLIENT_CERT_AUTH", "true")]),
        State::Pass
    );
    assert_eq!(
        judge(&[], &[("ETCD_CLIENT_CERT_AUTH", "false")]),
        State::Fail
    );
    assert_eq!(judge(&[], &[]), State::Fail);
    // The flag, when given, is what counts.
    assert_eq!(
        judge(
            &["--client-cert-auth=false"],
            &[("ETCD_CLIENT_CERT_AUTH", "true")]
        ),
        State::Fail
    );
}

/// The 1.1 file checks for `rampart host`: kube-bench's tests on `stat` output, one line per
/// file where the benchmark looks at several.
#[test]
fn control_plane_file_checks() {
    use rampart_cis::files::FileStat;
    use rampart_cis::master::{ControlPlaneFile, file_audit_output, file_checks};
    let checks = file_checks().unwrap();
    let ids: Vec<String> = checks.iter().map(|c| c.check.id.clone()).collect();
    let want: Vec<String> = (1..=21).map(|i| format!("1.1.{i}")).collect();
    assert_eq!(ids, want);
    let by = |id: &str| checks.iter().find(|c| c.check.id == id).unwrap();
    assert_eq!(by("1.1.12").file, ControlPlaneFile::EtcdDataDir);
    let stat = |mode: u32, owner: &str| {
        let (u, g) = owner.split_once(':').unwrap();
        FileStat {
            mode,
            user: u.into(),
            group: g.into(),
        }
    };
    let judge = |id: &str, stats: &[FileStat]| {
        let c = by(id);
        let out = file_audit_output(c, stats);
        evaluate(
            &c.check,
            &Input {
                command: &out,
                ..Input::default()
            },
        )
    };
    for (id, mode, owner, state) in [
        ("1.1.1", 0o600, "root:root", State::Pass),
        ("1.1.1", 0o644, "root:root", State::Fail),
        ("1.1.11", 0o700, "etcd:etcd", State::Pass),
        ("1.1.11", 0o755, "etcd:etcd", State::Fail),
        ("1.1.12", 0o700, "etcd:etcd", State::Pass),
        ("1.1.12", 0o700, "root:root", State::Fail),
        ("1.1.21", 0o644, "root:root", State::Warn),
    ] {
        assert_eq!(
            judge(id, &[stat(mode, owner)]).state,
            state,
            "{id} {mode:o} {owner}"
        );
    }
    assert_eq!(judge("1.1.1", &[]).state, State::Fail);
    // Several files: every one must pass.
    let admin = [stat(0o600, "root:root"), stat(0o640, "root:root")];
    let o = judge("1.1.13", &admin);
    assert_eq!(o.state, State::Fail);
    assert_eq!(o.actual, "permissions=600\npermissions=640");
    assert_eq!(
        o.expected,
        "permissions has permissions 640, expected 600 or more restrictive"
    );
    let o = judge(
        "1.1.14",
        &[stat(0o600, "root:root"), stat(0o600, "root:root")],
    );
    assert_eq!(
        (o.state, o.expected.as_str()),
        (State::Pass, "'ownership' is equal to 'root:root'")
    );
    assert_eq!(
        judge(
            "1.1.19",
            &[stat(0o755, "root:root"), stat(0o600, "kube:root")]
        )
        .state,
        State::Fail
    );
}
