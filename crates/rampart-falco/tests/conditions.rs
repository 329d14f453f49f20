//! Operators, field kinds, missing fields, transformers, macros and lists, one table row each:
//! a condition, an event, and whether Falco's semantics make it true.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code: a failed expectation is a test failure"
)]

use rampart_falco::event::{Container, Event, Fd, L4Proto, Process, caps_to_string};
use rampart_falco::{Code, Loader, RuleSet};
use std::sync::Arc;

fn rules(extra: &str, cond: &str) -> Result<RuleSet, Vec<rampart_falco::FileResult>> {
    let yaml = format!(
        "{extra}\n- rule: r\n  desc: d\n  condition: {}\n  output: o\n  priority: INFO\n",
        serde_json::to_string(cond).unwrap()
    );
    let mut l = Loader::new();
    l.load("t.yaml", &yaml);
    l.finish()
}

fn eval(cond: &str, ev: &Event) -> bool {
    let rs = rules("", cond).unwrap_or_else(|e| panic!("{cond}: {:#?}", e));
    rs.rule("r").unwrap().matches(ev)
}

fn base() -> Event {
    let mut e = Event {
        num: 5,
        time_ns: 1_700_000_000_123_456_789,
        evt_type: "openat".into(),
        res: Some(3),
        open_flags: Some(0o1101),
        proc: Arc::new(Process {
            pid: 100,
            vpid: Some(1),
            name: "bash".into(),
            exe: "/bin/bash".into(),
            exepath: "/usr/bin/bash".into(),
            args: vec!["-c".into(), "cat /etc/Shadow".into()],
            cwd: Some("/root".into()),
            tty: 0,
            uid: Some(0),
            loginuid: Some(-1),
            user_name: Some("root".into()),
            cap_effective: Some((1 << 21) | (1 << 1)),
            env: Some(vec!["HOME=/root".into(), "PATH=/bin".into()]),
            ..Process::default()
        }),
        ancestors: vec![
            Arc::new(Process {
                pid: 50,
                name: "sshd".into(),
                exe: "sshd".into(),
                exepath: "/usr/sbin/sshd".into(),
                args: vec!["-D".into()],
                ..Process::default()
            }),
            Arc::new(Process {
                pid: 1,
                name: "systemd".into(),
                exepath: "/usr/lib/systemd/systemd".into(),
                ..Process::default()
            }),
        ],
        fd: Some(Fd::file(3, "/etc/ssh/sshd_config")),
        container: Some(std::sync::Arc::new(Container {
            id: "abcdef123456".into(),
            image_repository: Some("docker.io/library/nginx".into()),
            privileged: Some(true),
            ..Container::default()
        })),
        ..Event::default()
    };
    e.set_arg("flags", "O_WRONLY|O_CREAT|O_TRUNC");
    e.set_arg("name", "/etc/ssh/sshd_config");
    e
}

#[test]
fn operator_table() {
    let e = base();
    let rows: &[(&str, bool)] = &[
        ("evt.type = openat", true),
        ("evt.type == openat", true),
        ("evt.type != openat", false),
        ("evt.type in (open, openat)", true),
        ("proc.name in (sh, zsh)", false),
        ("proc.pid > 99", true),
        ("proc.pid >= 100", true),
        ("proc.pid < 100", false),
        ("proc.pid <= 100", true),
        ("proc.pid = 0x64", true),
        ("proc.cmdline contains \"cat /etc\"", true),
        ("proc.cmdline contains \"CAT\"", false),
        ("proc.cmdline icontains \"CAT /ETC/shadow\"", true),
        ("proc.exepath startswith /usr/", true),
        ("proc.exepath endswith /bash", true),
        ("fd.name glob '/etc/*/sshd_*'", true),
        ("fd.name glob '/etc/?sh/[a-s]shd_config'", true),
        ("fd.name glob '/etc/[!s]sh/*'", false),
        ("fd.name iglob '/ETC/SSH/*'", true),
        ("fd.name regex '/etc/ss+h/.*'", true),
        ("fd.name regex 'ssh'", false),
        ("fd.name pmatch (/etc/ssh, /var)", true),
        ("fd.name pmatch (/etc/ss)", false),
        ("fd.name pmatch (/)", true),
        ("fd.directory = /etc/ssh", true),
        ("fd.filename = sshd_config", true),
        ("proc.name exists", true),
        ("fd.sip exists", false),
        ("thread.cap_effective contains CAP_SYS_ADMIN", true),
        ("thread.cap_effective intersects (CAP_SYS_ADMIN)", false),
        ("proc.aname[1] = sshd", true),
        ("proc.aname[2] = systemd", true),
        ("proc.aname[0] = bash", true),
        ("proc.aname = systemd", true),
        ("proc.aname in (init, systemd)", true),
        ("proc.aname = bash", false),
        ("proc.apid[2] = 1", true),
        (
            "proc.pname = sshd and proc.pexepath = /usr/sbin/sshd and proc.pcmdline = \"sshd -D\"",
            true,
        ),
        ("proc.env[HOME] = /root", true),
        ("proc.env contains \"PATH=\"", true),
        ("evt.arg.flags contains O_TRUNC", true),
        ("evt.arg[1] = /etc/ssh/sshd_config", true),
        ("evt.arg[name] = /etc/ssh/sshd_config", true),
        (
            "evt.is_open_write = true and evt.is_open_read = false",
            true,
        ),
        (
            "evt.res = SUCCESS and evt.rawres = 3 and evt.failed = false",
            true,
        ),
        ("container.id != host and container.privileged = true", true),
        ("container.image.repository endswith /nginx", true),
        ("user.loginuid = -1", true),
        ("tolower(proc.cmdline) contains \"/etc/shadow\"", true),
        ("toupper(proc.name) = BASH", true),
        ("len(proc.name) = 4", true),
        ("basename(proc.exepath) = bash", true),
        ("proc.name = val(proc.aname[0])", true),
        ("proc.name = val(proc.pname)", false),
        ("not proc.name = bash or evt.num = 5", true),
        ("not (proc.name = bash and evt.num = 5)", false),
        ("proc.name=bash and(evt.num=5)", true),
        ("evt.dir = <", true),
        ("evt.time > 0 and evt.num = 5", true),
    ];
    for (cond, want) in rows {
        assert_eq!(eval(cond, &e), *want, "{cond}");
    }
}

#[test]
fn missing_fields_are_false_for_every_operator_and_exists() {
    let mut e = base();
    e.fd = None;
    e.container = None;
    for cond in [
        "fd.name = x",
        "fd.name != x",
        "fd.name contains x",
        "fd.name in (x)",
        "fd.num >= 0",
        "fd.num < 0",
        "fd.name exists",
        "container.image.repository != x",
    ] {
        assert!(!eval(cond, &e), "{cond} should be false on a missing field");
    }
    assert!(eval("not fd.name = x", &e));
    // A host process: container.id is "host".
    assert!(eval("container.id = host", &e));
    assert!(!eval("container.id != host", &e));
}

#[test]
fn network_fields_and_either_end_semantics() {
    let mut e = base();
    e.evt_type = "connect".into();
    e.fd = Some(Fd::ip_socket(
        3,
        ("10.1.2.3".parse().unwrap(), 40000),
        ("93.184.216.34".parse().unwrap(), 443),
        L4Proto::Tcp,
        false,
    ));
    let t = |c: &str| eval(c, &e);
    assert!(t(
        "fd.typechar = 4 and fd.type = ipv4 and fd.l4proto = tcp and fd.sockfamily = ip"
    ));
    assert!(t(
        "fd.sip = 93.184.216.34 and fd.cip = 10.1.2.3 and fd.rip = 93.184.216.34 and fd.lip = 10.1.2.3"
    ));
    assert!(t("fd.sport = 443 and fd.rport = 443 and fd.lport = 40000"));
    assert!(t("fd.net = \"10.0.0.0/8\""));
    assert!(
        !t("fd.net != \"10.0.0.0/8\""),
        "!= on either end: true only when neither end matches"
    );
    assert!(t("fd.snet != \"10.0.0.0/8\""));
    assert!(t("fd.snet in (\"192.168.0.0/16\", \"93.184.0.0/16\")"));
    assert!(t("fd.ip = 10.1.2.3 and fd.port = 443"));
    assert!(!t("fd.ip != 10.1.2.3"));
    assert!(t("fd.ip != \"0.0.0.0\""));
    assert!(t("fd.name = \"10.1.2.3:40000->93.184.216.34:443\""));
    assert!(!t("fd.is_server = true"));
}

#[test]
fn cap_names_render_like_falco() {
    assert_eq!(
        caps_to_string((1 << 21) | (1 << 1)),
        "CAP_DAC_OVERRIDE CAP_SYS_ADMIN"
    );
}

#[test]
fn macros_and_nested_lists_expand() {
    let extra = "- list: a\n  items: [sh]\n- list: b\n  items: [a, bash]\n- macro: m\n  condition: proc.name in (b)\n- macro: n\n  condition: m and evt.num=5\n";
    let rs = rules(extra, "n").unwrap();
    assert!(rs.rule("r").unwrap().matches(&base()));
    let mut e = base();
    Arc::make_mut(&mut e.proc).name = "sh".into();
    assert!(rs.rule("r").unwrap().matches(&e));
    Arc::make_mut(&mut e.proc).name = "a".into();
    assert!(
        !rs.rule("r").unwrap().matches(&e),
        "a list name is expanded, never compared as a word"
    );
}

fn first_error(extra: &str, cond: &str) -> rampart_falco::Diagnostic {
    let res = rules(extra, cond).expect_err("must fail");
    res.into_iter()
        .flat_map(|r| r.errors)
        .next()
        .expect("an error")
}

#[test]
fn errors_name_what_is_wrong_and_where() {
    let e = first_error("", "evt.type=open and proc.nobody=cat");
    assert_eq!(e.code, Code::LoadErrCompileCondition);
    assert_eq!(
        e.message,
        "filter_check called with nonexistent field proc.nobody"
    );
    let cond_loc = e.locations.last().unwrap();
    assert_eq!(cond_loc.item_type, "condition expression");
    assert_eq!(
        (cond_loc.line, cond_loc.column),
        (4, 33),
        "column of proc.nobody in the file"
    );

    // A field in a macro: the error is the rule's, the position is in the macro's text.
    let e = first_error(
        "- macro: m\n  condition: evt.type=open and fd.nope=1\n",
        "m",
    );
    assert_eq!(e.item_name(), "r");
    let l = e.locations.last().unwrap();
    assert_eq!((l.line, l.column), (2, 32), "{e}");

    let e = first_error("", "evt.type=open and (proc.name=cat");
    assert_eq!(e.code, Code::LoadErrCompileCondition);
    assert!(e.message.contains("expecting ')'"), "{}", e.message);

    let e = first_error("", "evt.type=open and undefined_macro");
    assert_eq!(e.code, Code::LoadErrValidate);
    assert_eq!(
        e.message,
        "Undefined macro 'undefined_macro' used in filter."
    );

    let e = first_error("", "evt.type=opne");
    assert_eq!(e.message, "unknown event type opne");

    let e = first_error("", "proc.pid > abc and evt.type=open");
    assert!(e.message.contains("abc"), "{}", e.message);

    let e = first_error("", "proc.pid contains 1 and evt.type=open");
    assert!(e.message.contains("contains"), "{}", e.message);

    let e = first_error(
        "- macro: loop\n  condition: evt.type=open and loop\n",
        "loop",
    );
    assert!(e.message.contains("refers to itself"), "{}", e.message);
}

#[test]
fn unsupported_falco_field_is_reported_and_not_evaluated() {
    let mut l = Loader::new();
    l.load("t.yaml", "- rule: r\n  desc: d\n  condition: evt.type=open and proc.vmsize > 10\n  output: o %proc.vmrss\n  priority: INFO\n- rule: ok\n  desc: d\n  condition: evt.type=open\n  output: o\n  priority: INFO\n");
    let w: Vec<_> = l.results()[0]
        .warnings
        .iter()
        .filter(|w| w.code == Code::LoadUnsupportedField)
        .map(|w| (w.item_name().to_owned(), w.message.clone()))
        .collect();
    assert!(
        w.iter().any(|(n, m)| n == "r" && m.contains("proc.vmsize")),
        "{w:?}"
    );
    assert!(
        w.iter().any(|(n, m)| n == "r" && m.contains("proc.vmrss")),
        "{w:?}"
    );
    let rs = l.finish().unwrap();
    let ne: Vec<_> = rs
        .not_evaluable()
        .map(|(n, f)| (n.to_owned(), f.to_vec()))
        .collect();
    assert_eq!(ne, vec![("r".to_owned(), vec!["proc.vmsize".to_owned()])]);
    let mut e = base();
    e.evt_type = "open".into();
    let names: Vec<_> = rs.evaluate(&e).map(|m| m.rule.name.clone()).collect();
    assert_eq!(names, vec!["ok"]);
}

#[test]
fn exceptions_expand_as_falco_does() {
    let extra = "";
    let yaml = format!(
        "{extra}- rule: r\n  desc: d\n  condition: evt.type=openat\n  output: o\n  priority: INFO\n  exceptions:\n    - name: by_proc\n      fields: [proc.name, fd.directory]\n      comps: [=, in]\n      values:\n        - [bash, [/etc/ssh, /tmp]]\n    - name: single\n      fields: proc.pname\n      values: [cron, \"weird name\"]\n"
    );
    let mut l = Loader::new();
    l.load("t.yaml", &yaml);
    let rs = l.finish().unwrap();
    let r = rs.rule("r").unwrap();
    let mut e = base();
    assert!(!r.matches(&e), "bash in /etc/ssh is excepted");
    Arc::make_mut(&mut e.proc).name = "zsh".into();
    assert!(r.matches(&e));
    Arc::make_mut(&mut e.ancestors[0]).name = "weird name".into();
    assert!(!r.matches(&e), "single-field form uses `in`");
}

#[test]
fn override_and_append_apply_in_file_order() {
    let mut l = Loader::new();
    l.load("a.yaml", "- list: l\n  items: [bash]\n- macro: m\n  condition: proc.name in (l)\n- rule: r\n  desc: d\n  condition: evt.type=openat and m\n  output: o\n  priority: INFO\n  tags: [a]\n");
    l.load("b.yaml", "- list: l\n  items: [zsh]\n  override:\n    items: append\n- rule: r\n  condition: and evt.num=5\n  override:\n    condition: append\n- rule: r\n  priority: CRITICAL\n  tags: [b]\n  override:\n    priority: replace\n    tags: append\n");
    assert!(
        l.results().iter().all(|r| r.successful),
        "{:#?}",
        l.results()
    );
    let rs = l.finish().unwrap();
    let r = rs.rule("r").unwrap();
    assert_eq!(r.priority, rampart_falco::Priority::Critical);
    assert_eq!(r.tags, vec!["a", "b"]);
    let mut e = base();
    assert!(r.matches(&e));
    Arc::make_mut(&mut e.proc).name = "zsh".into();
    assert!(r.matches(&e));
    e.num = 6;
    assert!(!r.matches(&e));
}

#[test]
fn disabled_rules_are_not_evaluated_and_can_be_enabled() {
    let mut l = Loader::new();
    l.load("a.yaml", "- rule: r\n  desc: d\n  condition: evt.type=openat\n  output: o\n  priority: INFO\n  enabled: false\n");
    let mut rs = l.finish().unwrap();
    assert_eq!(rs.evaluate(&base()).count(), 0);
    assert!(rs.set_enabled("r", true));
    assert_eq!(rs.evaluate(&base()).count(), 1);
}

#[test]
fn event_type_index_and_host_analysis() {
    let mut l = Loader::new();
    l.load("a.yaml", "- rule: c\n  desc: d\n  condition: evt.type=execve and container.id != host\n  output: o\n  priority: INFO\n- rule: h\n  desc: d\n  condition: evt.type in (connect, openat) and proc.name=x\n  output: o\n  priority: INFO\n");
    let rs = l.finish().unwrap();
    let et = rs.event_types();
    assert!(!et.all());
    assert_eq!(
        et.types.into_iter().collect::<Vec<_>>(),
        vec!["connect", "execve", "openat"]
    );
    assert_eq!(rs.host_rules(), vec!["h"]);
    let mut l = Loader::new();
    l.load("a.yaml", "- rule: c\n  desc: d\n  condition: evt.type=execve and container.id != host\n  output: o\n  priority: INFO\n- rule: k\n  desc: d\n  condition: evt.type=execve and k8s.ns.name = default\n  output: o\n  priority: INFO\n");
    let rs = l.finish().unwrap();
    assert!(!rs.needs_host_events(), "{:?}", rs.host_rules());
    let mut l = Loader::new();
    l.load(
        "a.yaml",
        "- rule: any\n  desc: d\n  condition: proc.name = x\n  output: o\n  priority: INFO\n",
    );
    assert!(
        l.results()[0]
            .warnings
            .iter()
            .any(|w| w.code == Code::LoadNoEvttype)
    );
    let rs = l.finish().unwrap();
    assert!(rs.event_types().all());
    assert_eq!(rs.event_types().unconstrained_rules, vec!["any"]);
    // A rule with no type constraint meets every event type.
    let mut e = base();
    Arc::make_mut(&mut e.proc).name = "x".into();
    e.evt_type = "weird_type".into();
    assert_eq!(rs.evaluate(&e).count(), 1);
}

#[test]
fn yaml_1_2_scalars_stay_strings() {
    // yaml-cpp reads `yes`, `on`, `=` as text: a list item `on` is the word "on".
    let rs = rules(
        "- list: l\n  items: [yes, on, no, =]\n",
        "evt.type=openat and proc.name in (l)",
    )
    .unwrap();
    let mut e = base();
    for n in ["yes", "on", "no", "="] {
        Arc::make_mut(&mut e.proc).name = n.into();
        assert!(rs.rule("r").unwrap().matches(&e), "{n}");
    }
}

#[test]
fn rules_switch_by_name_pattern_tag_and_priority() {
    let mut l = Loader::new();
    l.load("a.yaml", "- rule: open from cat\n  desc: d\n  condition: evt.type=openat\n  output: o\n  priority: INFO\n  tags: [file]\n- rule: open any\n  desc: d\n  condition: evt.type=openat\n  output: o\n  priority: ERROR\n");
    let mut rs = l.finish().unwrap();
    let fired = |rs: &RuleSet| {
        rs.evaluate(&base())
            .map(|m| m.rule.name.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(fired(&rs), ["open from cat", "open any"]);
    assert_eq!(
        rs.first_match(&base()).map(|m| m.rule.name.as_str()),
        Some("open from cat")
    );
    assert_eq!(rs.set_enabled_matching("open from*", false), 1);
    assert_eq!(fired(&rs), ["open any"]);
    assert_eq!(rs.set_enabled_by_tag("file", true), 1);
    assert_eq!(rs.set_min_priority(rampart_falco::Priority::Error), 1);
    assert_eq!(fired(&rs), ["open any"]);
}

#[test]
fn ruleset_and_event_are_send_and_sync() {
    fn both<T: Send + Sync>() {}
    both::<RuleSet>();
    both::<Event>();
}

#[test]
fn field_kinds_bytes_times_bools_ints() {
    let mut e = base();
    e.evt_type = "write".into();
    e.buffer = Some(b"java -jar x\x00\xff".to_vec());
    Arc::make_mut(&mut e.proc).start_ns = Some(e.time_ns - 7_000_000_000);
    Arc::make_mut(&mut e.proc).is_exe_upper_layer = Some(true);
    if let Some(c) = e.container.as_mut() {
        Arc::make_mut(c).start_ns = Some(1_600_000_000_000_000_000);
    }
    let rows: &[(&str, bool)] = &[
        ("evt.buffer bcontains 6a617661", true),
        ("evt.buffer bstartswith 6a617661", true),
        ("evt.buffer bstartswith 2d6a6172", false),
        ("evt.buffer bcontains 00ff", true),
        ("evt.buffer contains \"-jar\"", true),
        ("proc.duration > 5000000000", true),
        ("proc.duration <= 5000000000", false),
        ("container.start_ts < 1700000000000000000", true),
        ("container.duration > 0", true),
        ("proc.is_exe_upper_layer = true", true),
        ("proc.is_exe_upper_layer != true", false),
        ("proc.is_exe_from_memfd = false", false),
        ("user.uid in (0, 1000)", true),
        ("proc.pid in (1, 2)", false),
        ("thread.tid = 100", true),
    ];
    for (cond, want) in rows {
        assert_eq!(
            eval(&format!("evt.type=write and {cond}"), &e),
            *want,
            "{cond}"
        );
    }
    // A boolean compared with something else than true/false is a compile error, as in Falco.
    assert!(rules("", "evt.type=write and proc.is_exe_upper_layer = yes").is_err());
}

#[test]
fn argument_renderers_match_falco_names() {
    use rampart_falco::event::{
        clone_flags_str, errno_name, open_flags_str, ptrace_request_name, socket_domain_name,
    };
    assert_eq!(open_flags_str(0o2_000_101), "O_WRONLY|O_CREAT|O_CLOEXEC");
    assert_eq!(open_flags_str(0), "O_RDONLY");
    assert_eq!(ptrace_request_name(16), Some("PTRACE_ATTACH"));
    assert_eq!(ptrace_request_name(0x4206), Some("PTRACE_SEIZE"));
    assert_eq!(socket_domain_name(17), Some("AF_PACKET"));
    assert_eq!(
        clone_flags_str(0x1000_0000 | 0x0002_0000),
        "CLONE_NEWNS|CLONE_NEWUSER"
    );
    assert_eq!(errno_name(2), Some("ENOENT"));
    assert_eq!(errno_name(115), Some("EINPROGRESS"));
}
