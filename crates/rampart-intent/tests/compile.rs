//! The intent compiled into every layer: deterministic bytes, and each artefact judged by the
//! component that consumes it (rampart-k8s's Kubernetes 1.37 schemas for the NetworkPolicies,
//! rampart-pss for the pod the patch makes, rampart-falco's loader and evaluator for the rules,
//! rampart-admission's configuration reader for the profile, rampart-seccomp for the profile).

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code: a failed expectation is a test failure"
)]

use rampart_falco::event::{Container, Event, Fd, L4Proto, Process};
use rampart_intent::compile::{Target, apply_to_bundle_config};
use rampart_intent::{Compiled, Intent, Options, compile};
use serde_json::{Value, json};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const DIGEST: &str = "sha256:9b7c5f3c2d1e0a4b6c8d7e9f0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3";

fn example() -> PathBuf {
    rampart_testkit::paths::example("intent/web.intent.toml")
}

fn compiled_example() -> Compiled {
    let path = example();
    let intent = Intent::load(&path).unwrap();
    let mut opts = Options::for_file(&path);
    opts.namespace = Some("shop".into());
    opts.key = Some(PathBuf::from("/keys/release.pub"));
    compile(&intent, &opts).unwrap()
}

fn artefact(c: &Compiled, target: Target) -> String {
    let a = c
        .artefacts
        .iter()
        .find(|a| a.target == target)
        .unwrap_or_else(|| panic!("no {target:?} artefact"));
    String::from_utf8(a.bytes.clone()).unwrap()
}

fn intent_with(extra: &str) -> Intent {
    Intent::parse(
        &format!(
            "version = 1\nimage = \"registry.example.com/x@{DIGEST}\"\n[process]\nuser = 1000\nexecutables = [{{ path = \"/bin/app\" }}]\n{extra}"
        ),
        Path::new("t.toml"),
    )
    .unwrap()
}

#[test]
fn compiling_twice_gives_the_same_bytes_and_the_snapshot() {
    let a = compiled_example();
    let b = compiled_example();
    assert_eq!(a.artefacts, b.artefacts);
    let mut all = String::new();
    for x in &a.artefacts {
        all.push_str(&format!("==> {} ({})\n", x.file, x.target.as_str()));
        all.push_str(&String::from_utf8_lossy(&x.bytes));
    }
    for n in &a.notes {
        all.push_str(&format!("note: {}: {}\n", n.target.as_str(), n.message));
    }
    insta::assert_snapshot!("web_compiled", all);
}

#[test]
fn network_policies_are_valid_kubernetes_objects_and_say_what_they_widen() {
    let c = compiled_example();
    let text = artefact(&c, Target::NetworkPolicy);
    let (mut file, errors) = rampart_k8s::ManifestFile::load("np.yaml", &text);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(file.documents.len(), 3, "default deny, ingress, egress");
    let report = file.remove_invalid();
    assert!(report.invalid.is_empty(), "{:?}", report.invalid);
    assert!(report.unknown.is_empty(), "{:?}", report.unknown);
    // every policy selects the workload and lives in its namespace
    let docs: Vec<Value> = text
        .split("---\n")
        .filter(|d| !d.trim().is_empty())
        .map(|d| serde_saphyr::from_str::<Value>(d).unwrap())
        .collect();
    for d in &docs {
        assert_eq!(d["metadata"]["namespace"], "shop");
        assert_eq!(d["spec"]["podSelector"]["matchLabels"]["app"], "web");
    }
    assert_eq!(docs[0]["spec"]["policyTypes"], json!(["Ingress", "Egress"]));
    assert!(docs[0]["spec"].get("ingress").is_none() && docs[0]["spec"].get("egress").is_none());
    let ingress = &docs[1]["spec"]["ingress"][0];
    assert_eq!(
        ingress["ports"],
        json!([{ "protocol": "TCP", "port": 8080 }])
    );
    assert_eq!(
        ingress["from"][0]["podSelector"]["matchLabels"]["app"],
        "frontend"
    );
    let egress = docs[2]["spec"]["egress"].as_array().unwrap();
    assert_eq!(
        egress[0]["to"][0]["ipBlock"]["except"],
        json!(["10.30.9.0/24"])
    );
    // cluster DNS last
    assert_eq!(egress.last().unwrap()["ports"][0]["port"], 53);
    // the DNS-named destination cannot be expressed: said, not silent
    assert!(
        c.notes
            .iter()
            .any(|n| n.target == Target::NetworkPolicy
                && n.message.contains("api.payments.example.com")),
        "{:?}",
        c.notes
    );
}

#[test]
fn port_ranges_and_every_port_compile_to_end_port_and_a_bare_protocol() {
    let i = intent_with(
        "[network]\ncluster-dns = false\n[[network.egress]]\ncidr = \"10.0.0.0/8\"\nports = [\"8000-8080\"]\n[[network.egress]]\nnamespaces = { team = \"db\" }\nprotocol = \"UDP\"\n",
    );
    let c = compile(&i, &Options::for_file(Path::new("t.toml"))).unwrap();
    let text = artefact(&c, Target::NetworkPolicy);
    let (mut file, _) = rampart_k8s::ManifestFile::load("np.yaml", &text);
    assert!(file.remove_invalid().invalid.is_empty());
    assert!(text.contains("endPort: 8080"), "{text}");
    assert!(!text.contains("port: 53"), "cluster-dns = false: {text}");
    assert!(text.contains("team: db"), "{text}");
}

/// A pod built from the patch's template (plus an image) meets Pod Security restricted when
/// the intent allows it, and fails it, with a note, when the intent needs more.
#[test]
fn the_patch_makes_a_restricted_pod_or_says_why_not() {
    let pod_of = |c: &Compiled| -> Value {
        let patch: Value = serde_saphyr::from_str(
            artefact(c, Target::SecurityContext).trim_start_matches("---\n"),
        )
        .unwrap();
        let mut spec = patch["spec"]["template"]["spec"].clone();
        spec["containers"][0]["image"] = json!("registry.example.com/x@sha256:00");
        json!({ "apiVersion": "v1", "kind": "Pod", "metadata": { "name": "p" }, "spec": spec })
    };
    let restricted = |pod: &Value| {
        rampart_pss::evaluate(
            rampart_pss::Level::Restricted,
            rampart_pss::Version::LATEST,
            pod,
        )
    };
    let c = compiled_example();
    let pod = pod_of(&c);
    let eval = restricted(&pod);
    assert!(eval.violations.is_empty(), "{:?}", eval.violations);
    let ctx = &pod["spec"]["containers"][0]["securityContext"];
    assert_eq!(
        ctx["seccompProfile"]["localhostProfile"],
        "rampart/web.json"
    );
    assert_eq!(ctx["readOnlyRootFilesystem"], true);
    assert_eq!(
        pod["spec"]["containers"][0]["volumeMounts"][0]["mountPath"],
        "/tmp"
    );
    assert!(
        pod["spec"]["volumes"].as_array().unwrap().len() == 1,
        "/dev/null is the runtime's, no volume"
    );

    let needy =
        intent_with("[kernel]\ncapabilities = [\"SYS_PTRACE\"]\n[runtime]\nclass = \"gvisor\"\n");
    let c = compile(&needy, &Options::for_file(Path::new("t.toml"))).unwrap();
    let pod = pod_of(&c);
    assert!(!restricted(&pod).violations.is_empty());
    assert_eq!(pod["spec"]["runtimeClassName"], "gvisor");
    assert!(
        c.notes.iter().any(|n| n.message.contains("SYS_PTRACE")),
        "{:?}",
        c.notes
    );
    assert!(
        c.notes.iter().any(|n| n.target == Target::Seccomp),
        "no syscalls: RuntimeDefault, said"
    );
    assert_eq!(
        pod["spec"]["containers"][0]["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
}

fn event(evt: &str, exepath: &str, args: &[&str], digest: &str) -> Event {
    Event {
        evt_type: evt.to_owned().into(),
        res: Some(0),
        proc: Arc::new(Process {
            pid: 42,
            name: exepath
                .rsplit('/')
                .next()
                .unwrap()
                .chars()
                .take(15)
                .collect(),
            exe: exepath.into(),
            exepath: exepath.into(),
            args: args.iter().map(|s| (*s).to_owned()).collect(),
            uid: Some(10001),
            ..Process::default()
        }),
        container: Some(Arc::new(Container {
            id: "0123456789ab".into(),
            image_repository: Some("registry.example.com/shop/web".into()),
            image_digest: Some(digest.into()),
            ..Container::default()
        })),
        ..Event::default()
    }
}

/// runc's init process, in the container before the entrypoint runs.
fn runc_init(evt: &str) -> Event {
    let mut e = event(
        evt,
        "/memfd:runc_cloned:/proc/self/exe (deleted)",
        &["init"],
        DIGEST,
    );
    e.proc = Arc::new(Process {
        name: "runc:[2:INIT]".into(),
        ..(*e.proc).clone()
    });
    e
}

fn open(path: &str, flags: u32, res: i64) -> Event {
    let mut e = event("openat", "/usr/bin/python3.11", &[], DIGEST);
    e.res = Some(res);
    e.open_flags = Some(flags);
    e.fd = (res >= 0).then(|| Fd::file(res, path)).or_else(|| {
        Some(Fd {
            num: -1,
            ..Fd::file(-1, path)
        })
    });
    e.set_arg("flags", rampart_falco::event::open_flags_str(flags));
    e.set_arg("name", path);
    e
}

fn connect(ip: &str, port: u16, l4: L4Proto) -> Event {
    let mut e = event("connect", "/usr/bin/python3.11", &[], DIGEST);
    let server: IpAddr = ip.parse().unwrap();
    let client: IpAddr = if server.is_ipv6() {
        "fd00::5".parse().unwrap()
    } else {
        "10.1.1.5".parse().unwrap()
    };
    e.fd = Some(Fd::ip_socket(3, (client, 40000), (server, port), l4, false));
    e
}

/// The runtime rules load in rampart-falco with every field evaluable, and fire exactly on the
/// steps outside the intent, only for this image's digest.
#[test]
fn runtime_rules_fire_on_steps_outside_the_intent_and_only_there() {
    let c = compiled_example();
    let mut loader = rampart_falco::Loader::new();
    loader.load("web.rules.yaml", &artefact(&c, Target::RuntimeRules));
    let rules = loader.finish().unwrap_or_else(|e| panic!("{e:#?}"));
    assert_eq!(
        rules.not_evaluable().count(),
        0,
        "{:?}",
        rules.not_evaluable().collect::<Vec<_>>()
    );
    assert_eq!(rules.rules().len(), 5);
    let fired =
        |e: &Event| -> Vec<String> { rules.evaluate(e).map(|m| m.rule.name.clone()).collect() };
    const O_RDONLY: u32 = 0;
    const O_WRONLY_CREAT: u32 = 0o101;
    let other = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    let cases: Vec<(&str, Event, Option<&str>)> = vec![
        (
            "the server itself",
            event(
                "execve",
                "/usr/bin/python3.11",
                &["-m", "http.server", "8080"],
                DIGEST,
            ),
            None,
        ),
        (
            "the server with more arguments",
            event(
                "execve",
                "/usr/bin/python3.11",
                &["-m", "http.server", "8080", "--bind", "0.0.0.0"],
                DIGEST,
            ),
            None,
        ),
        (
            "python with other arguments",
            event(
                "execve",
                "/usr/bin/python3.11",
                &["-c", "import os"],
                DIGEST,
            ),
            Some("web: executable outside the intent"),
        ),
        (
            "a listed shell",
            event("execve", "/usr/bin/dash", &["-c", "true"], DIGEST),
            None,
        ),
        (
            "a tool not listed",
            event("execve", "/usr/bin/curl", &["http://x"], DIGEST),
            Some("web: executable outside the intent"),
        ),
        (
            "another image",
            event("execve", "/usr/bin/curl", &[], other),
            None,
        ),
        (
            "write in /tmp",
            open("/tmp/cache/x", O_WRONLY_CREAT, 3),
            None,
        ),
        (
            "write to /dev/null",
            open("/dev/null", O_WRONLY_CREAT, 3),
            None,
        ),
        (
            "write in /usr/bin",
            open("/usr/bin/evil", O_WRONLY_CREAT, 3),
            Some("web: write outside the intent's writable paths"),
        ),
        (
            "write to /tmpfoo (not beneath /tmp)",
            open("/tmpfoo", O_WRONLY_CREAT, 3),
            Some("web: write outside the intent's writable paths"),
        ),
        (
            "read /etc/shadow",
            open("/etc/shadow", O_RDONLY, 3),
            Some("web: read of a path the intent forbids"),
        ),
        (
            "read /etc/shadow, refused",
            open("/etc/shadow", O_RDONLY, -13),
            Some("web: read of a path the intent forbids"),
        ),
        (
            "read beneath /root",
            open("/root/.ssh/id_rsa", O_RDONLY, 3),
            Some("web: read of a path the intent forbids"),
        ),
        ("read /etc/passwd", open("/etc/passwd", O_RDONLY, 3), None),
        ("database", connect("10.30.1.1", 5432, L4Proto::Tcp), None),
        (
            "database, excepted block",
            connect("10.30.9.1", 5432, L4Proto::Tcp),
            Some("web: connection outside the intent"),
        ),
        (
            "database, other port",
            connect("10.30.1.1", 22, L4Proto::Tcp),
            Some("web: connection outside the intent"),
        ),
        (
            "database port over UDP",
            connect("10.30.1.1", 5432, L4Proto::Udp),
            Some("web: connection outside the intent"),
        ),
        (
            "the DNS-named API (any address on 443)",
            connect("203.0.113.7", 443, L4Proto::Tcp),
            None,
        ),
        ("cluster DNS", connect("10.96.0.10", 53, L4Proto::Udp), None),
        (
            "elsewhere",
            connect("198.51.100.1", 4444, L4Proto::Tcp),
            Some("web: connection outside the intent"),
        ),
        (
            "elsewhere over IPv6",
            connect("2001:db8::1", 4444, L4Proto::Tcp),
            Some("web: connection outside the intent"),
        ),
        ("loopback", connect("127.0.0.1", 4444, L4Proto::Tcp), None),
        (
            "ptrace",
            event("ptrace", "/usr/bin/python3.11", &[], DIGEST),
            Some("web: kernel call outside the intent"),
        ),
        (
            "mount",
            event("mount", "/usr/bin/python3.11", &[], DIGEST),
            Some("web: kernel call outside the intent"),
        ),
        (
            "setuid",
            event("setuid", "/usr/bin/python3.11", &[], DIGEST),
            Some("web: kernel call outside the intent"),
        ),
        ("runc's init changing its user", runc_init("setuid"), None),
        (
            "a listed call",
            event("read", "/usr/bin/python3.11", &[], DIGEST),
            None,
        ),
        (
            "ptrace in another image",
            event("ptrace", "/usr/bin/gdb", &[], other),
            None,
        ),
    ];
    let mut wrong = Vec::new();
    for (what, e, expected) in &cases {
        let got = fired(e);
        let want: Vec<String> = expected.iter().map(|s| (*s).to_owned()).collect();
        if got != want {
            wrong.push(format!("{what}: fired {got:?}, expected {want:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_monitor_configuration_carries_each_answer() {
    let c = compiled_example();
    let text = artefact(&c, Target::Monitor);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("web.monitor.toml");
    std::fs::write(&path, &text).unwrap();
    let config = rampart_monitor::config::MonitorConfig::parse(&text, &path).unwrap();
    let answers: Vec<(String, String)> = config
        .actions
        .iter()
        .map(|a| (a.rule.clone().unwrap(), format!("{:?}", a.action)))
        .collect();
    assert_eq!(answers.len(), 5, "{answers:?}");
    assert!(
        answers.contains(&(
            "web: write outside the intent's writable paths".into(),
            "KillProcess".into()
        )),
        "{answers:?}"
    );
    assert!(
        answers.contains(&("web: connection outside the intent".into(), "Alert".into())),
        "{answers:?}"
    );
    // the kernel enforcement of the same intent: the compiled policy, on the image's containers
    let config = rampart_monitor::config::MonitorConfig::load(&path).unwrap();
    let [e] = config.enforce.as_slice() else {
        panic!("one [[enforce]] entry: {:?}", config.enforce)
    };
    assert_eq!(e.name, "web");
    assert_eq!(e.image, Intent::load(&example()).unwrap().image.to_string());
    assert_eq!(e.policy, dir.path().join("web.enforce.json"));
    // its denials are alerts of the rules above: one name for detection and enforcement
    use rampart_enforce::event::Action;
    for (kind, action) in [
        ("exec", Action::Exec),
        ("write", Action::Write),
        ("read", Action::Read),
        ("connect", Action::Connect),
    ] {
        let name = rampart_intent::rules::rule_name("web", kind);
        assert_eq!(name, rampart_monitor::enforce::rule_name("web", action));
        assert!(
            answers.iter().any(|(r, _)| *r == name),
            "{name}: {answers:?}"
        );
    }
}

#[test]
fn the_admission_profile_is_a_valid_webhook_configuration() {
    let c = compiled_example();
    let dir = tempfile::tempdir().unwrap();
    for a in &c.artefacts {
        std::fs::write(dir.path().join(&a.file), &a.bytes).unwrap();
    }
    // the trust policy names the key; give it a real one
    let key = rampart_testkit::paths::example("keys/release.pub");
    let trust = artefact(&c, Target::Admission);
    let trust_file = c
        .artefacts
        .iter()
        .find(|a| a.file.ends_with(".trust.toml"))
        .unwrap();
    std::fs::write(
        dir.path().join(&trust_file.file),
        String::from_utf8_lossy(&trust_file.bytes)
            .replace("/keys/release.pub", &key.to_string_lossy()),
    )
    .unwrap();
    let profile = c
        .artefacts
        .iter()
        .find(|a| a.file.ends_with(".admission.toml"))
        .unwrap();
    let text = format!(
        "failure-mode = \"deny\"\ndefault-profile = \"intent-web\"\n{}",
        String::from_utf8_lossy(&profile.bytes)
    );
    let config = rampart_admission::config::Config::parse(&text, dir.path())
        .unwrap_or_else(|e| panic!("{e}\n{text}\n{trust}"));
    let p = config.profiles.get("intent-web").unwrap();
    assert!(
        p.pss.is_some() && p.digest.is_some() && p.registries.is_some() && p.signatures.is_some()
    );
    let gate = p.intent.as_ref().expect("the intent gate");
    assert_eq!(gate.intents.len(), 1, "the gate reads the compiled intent");
}

#[test]
fn the_seccomp_profile_allows_the_intent_and_what_runc_needs() {
    let c = compiled_example();
    let text = artefact(&c, Target::Seccomp);
    let p = rampart_seccomp::profile::Profile::parse(text.as_bytes(), "web.seccomp.json").unwrap();
    let allowed: Vec<&str> = p
        .syscalls
        .iter()
        .flat_map(|r| r.names.iter().map(String::as_str))
        .collect();
    for s in ["accept4", "openat", "futex", "fstatfs", "execve"] {
        assert!(allowed.contains(&s), "{s} missing: {allowed:?}");
    }
    assert!(!allowed.contains(&"ptrace"));
    assert_eq!(
        c.runc["linux"]["seccomp"]["defaultAction"],
        "SCMP_ACT_ERRNO"
    );

    // A referenced profile is used as it is.
    let dir = tempfile::tempdir().unwrap();
    let docker = rampart_testkit::paths::corpus("seccomp/seccomp/default.json");
    std::fs::copy(&docker, dir.path().join("p.json")).unwrap();
    let path = dir.path().join("i.toml");
    std::fs::write(
        &path,
        format!("version = 1\nimage = \"a/b@{DIGEST}\"\n[process]\nuser = 1\nexecutables = [{{ path = \"/x\" }}]\n[kernel]\nseccomp = \"p.json\"\n"),
    )
    .unwrap();
    let i = Intent::load(&path).unwrap();
    let c = compile(&i, &Options::for_file(&path)).unwrap();
    let expected = rampart_seccomp::profile::Profile::read(&dir.path().join("p.json")).unwrap();
    assert_eq!(c.seccomp.as_ref().unwrap(), &expected);
}

/// The runc settings applied to the config.json `runc spec` writes.
#[test]
fn runc_settings_merge_into_a_real_runc_spec() {
    rampart_testkit::runc::ensure_runc();
    let dir = tempfile::tempdir().unwrap();
    let st = std::process::Command::new("runc")
        .args(["spec"])
        .current_dir(dir.path())
        .status()
        .unwrap();
    assert!(st.success());
    let mut config: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("config.json")).unwrap()).unwrap();
    let c = compiled_example();
    apply_to_bundle_config(&mut config, &c.runc);
    assert_eq!(
        config["process"]["user"],
        json!({ "uid": 10001, "gid": 10001 })
    );
    assert_eq!(config["process"]["capabilities"]["bounding"], json!([]));
    assert_eq!(config["process"]["noNewPrivileges"], true);
    assert_eq!(config["root"]["readonly"], true);
    assert_eq!(config["root"]["path"], "rootfs", "kept");
    let mounts = config["mounts"].as_array().unwrap();
    assert_eq!(
        mounts.iter().filter(|m| m["destination"] == "/tmp").count(),
        1
    );
    assert!(
        mounts.iter().any(|m| m["destination"] == "/proc"),
        "runc's own mounts kept"
    );
    assert_eq!(
        config["linux"]["seccomp"]["defaultAction"],
        "SCMP_ACT_ERRNO"
    );
    assert!(
        config["linux"]["namespaces"].is_array(),
        "the rest of linux kept"
    );
    assert_eq!(config["annotations"]["io.rampart.image.digest"], DIGEST);
}

/// The kernel enforcement policy reads as rampart-enforce's policy and allows exactly the
/// intent's destinations (a CIDR without its `except` blocks, loopback, cluster DNS, the
/// DNS-named destination as any address with a note).
#[test]
fn the_enforcement_policy_is_rampart_enforces_and_allows_the_intent() {
    use rampart_enforce::{Policy, Protocol};
    let c = compiled_example();
    let text = artefact(&c, Target::Enforce);
    let p = Policy::from_json(text.as_bytes()).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(p.mode, rampart_enforce::Mode::Enforce);
    let exec: Vec<String> = p.exec.iter().map(|e| e.display().to_string()).collect();
    assert_eq!(exec, ["/usr/bin/python3.11", "/usr/bin/dash"]);
    assert_eq!(p.never_read.len(), 2);
    let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
    let cases = [
        ("10.30.1.1", 5432, Protocol::Tcp, true),
        ("10.30.255.254", 5432, Protocol::Tcp, true),
        ("10.30.9.1", 5432, Protocol::Tcp, false),
        ("10.30.1.1", 5433, Protocol::Tcp, false),
        ("10.30.1.1", 5432, Protocol::Udp, false),
        ("203.0.113.9", 443, Protocol::Tcp, true),
        ("203.0.113.9", 80, Protocol::Tcp, false),
        ("10.96.0.10", 53, Protocol::Udp, true),
        ("127.0.0.1", 4444, Protocol::Tcp, true),
        ("::1", 4444, Protocol::Tcp, true),
        ("2001:db8::1", 4444, Protocol::Tcp, false),
    ];
    for (addr, port, proto, allowed) in cases {
        assert_eq!(
            p.allows_egress(ip(addr), port, proto),
            allowed,
            "{addr}:{port} {proto:?}"
        );
    }
    assert!(p.allows_bind(8080, Protocol::Tcp));
    assert!(!p.allows_bind(22, Protocol::Tcp));
    assert!(
        c.notes
            .iter()
            .any(|n| n.target == Target::Enforce && n.message.contains("api.payments")),
        "{:?}",
        c.notes
    );
    assert!(
        c.notes
            .iter()
            .any(|n| n.target == Target::Enforce && n.message.contains("argument patterns"))
    );

    let path = example();
    let mut opts = Options::for_file(&path);
    opts.audit = true;
    let c = compile(&Intent::load(&path).unwrap(), &opts).unwrap();
    let p = Policy::from_json(artefact(&c, Target::Enforce).as_bytes()).unwrap();
    assert_eq!(p.mode, rampart_enforce::Mode::Audit);
}

proptest::proptest! {
    /// A block without its `except` blocks holds exactly the addresses of the block that are
    /// in no `except` block.
    #[test]
    fn subtracting_blocks_keeps_exactly_the_rest(
        base in 0u32..u32::MAX, len in 8u8..28, cuts in proptest::collection::vec((0u32..u32::MAX, 0u8..8), 0..4),
        probes in proptest::collection::vec(0u32..u32::MAX, 32),
    ) {
        use ipnet::{IpNet, Ipv4Net};
        let net = IpNet::V4(Ipv4Net::new(base.into(), len).unwrap().trunc());
        let except: Vec<IpNet> = cuts
            .iter()
            .map(|(a, extra)| {
                // inside the block
                let IpNet::V4(n) = net else { unreachable!() };
                let host = u32::from(n.network()) | (a & !u32::from(n.netmask()));
                IpNet::V4(Ipv4Net::new(host.into(), (len + 1 + extra).min(32)).unwrap().trunc())
            })
            .collect();
        let parts = rampart_intent::compile::subtract(net, &except);
        let IpNet::V4(n) = net else { unreachable!() };
        for p in probes {
            let addr = std::net::IpAddr::V4((u32::from(n.network()) | (p & !u32::from(n.netmask()))).into());
            let expected = net.contains(&addr) && !except.iter().any(|e| e.contains(&addr));
            let got = parts.iter().any(|x| x.contains(&addr));
            proptest::prop_assert_eq!(got, expected, "{} in {:?} minus {:?} = {:?}", addr, net, except, parts);
        }
    }
}
