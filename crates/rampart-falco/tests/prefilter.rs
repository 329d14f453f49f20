//! The in-kernel open filter derived from the rules (rampart_falco::prefilter): what it keeps
//! for the shipped rules, that it is sound (an open any rule matches is always kept: a property
//! test against the rules themselves, on random opens), and where it must give up.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code: a failed expectation is a test failure"
)]

use proptest::prelude::*;
use rampart_falco::event::{Container, Event, Fd, FdKind, Process, open_flags_str};
use rampart_falco::prefilter::{OpenFacts, OpenFilter};
use rampart_falco::{Loader, RuleSet};
use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};

fn load(files: &[(&str, &str)]) -> RuleSet {
    let mut l = Loader::new();
    for (n, t) in files {
        l.load(n, t);
    }
    l.finish().expect("rules load")
}

fn defaults() -> &'static RuleSet {
    static RS: OnceLock<RuleSet> = OnceLock::new();
    RS.get_or_init(|| {
        let files = rampart_falco::rules::defaults();
        let refs: Vec<(&str, &str)> = files
            .iter()
            .map(|(n, t)| (n.as_str(), t.as_str()))
            .collect();
        load(&refs)
    })
}

fn clauses(f: &OpenFilter) -> &[rampart_falco::prefilter::OpenClause] {
    match f {
        OpenFilter::Clauses(c) => c,
        OpenFilter::All { reason } => panic!("no filter: {reason}"),
    }
}

const O_WRONLY: u32 = 1;
const O_RDWR: u32 = 2;
const O_CREAT: u32 = 0o100;
const O_TRUNC: u32 = 0o1000;
const O_DIRECTORY: u32 = 0o200000;

fn facts<'a>(flags: u32, ok: bool, name: &'a str, raw: Option<&'a str>) -> OpenFacts<'a> {
    let (dir, base) = name.rsplit_once('/').unwrap_or(("", name));
    OpenFacts {
        flags,
        ok,
        container: true,
        caps: u64::MAX,
        base: Some(base),
        parent: Some(dir.rsplit('/').next().unwrap_or("")),
        raw: raw.or(Some(name)),
    }
}

#[test]
fn the_shipped_rules_keep_only_the_opens_they_look_at() {
    let f = OpenFilter::for_rules(defaults());
    let cs = clauses(&f);
    assert!(cs.len() <= 16, "{cs:#?}");
    // kept: what the stable rules read
    for (flags, ok, name, raw) in [
        (0, true, "/etc/shadow", None),
        (O_RDWR, true, "/etc/sudoers", None),
        (0, true, "/etc/pam.d/common-auth", None),
        (O_WRONLY | O_TRUNC, true, "/var/log/syslog", None),
        (O_WRONLY | O_TRUNC, true, "/srv/app/log/x.txt", None),
        (O_WRONLY, true, "/sys/fs/cgroup/x/release_agent", None),
        (0, true, "/etc/passwd", Some("/srv/www/../../etc/passwd")),
        (0, false, "/nope", Some("../../nope")),
    ] {
        assert!(
            f.accepts(&facts(flags, ok, name, raw)),
            "{name} {flags:o} {ok}"
        );
    }
    // dropped: what a build or an archive extraction does all day
    for (flags, ok, name, raw) in [
        (0, true, "/usr/include/stdio.h", None),
        (O_WRONLY | O_CREAT, true, "/tmp/x/usr/include/stdio.h", None),
        (O_DIRECTORY, true, "/usr/share/doc", None),
        // a directory is not a file (`open_read` says `fd.typechar='f'`)
        (O_DIRECTORY, true, "/etc/sudoers.d", None),
        (O_DIRECTORY, true, "/etc/pam.d", None),
        (0, true, "/etc/passwd", None),
        (O_WRONLY | O_CREAT, true, "/var/log/syslog", None),
        (O_WRONLY, true, "/etc/shadow", None),
        (0, false, "/usr/lib/x86_64-linux-gnu/libfoo.so", None),
    ] {
        assert!(
            !f.accepts(&facts(flags, ok, name, raw)),
            "{name} {flags:o} {ok}"
        );
    }
    // the host's release_agent writes do not match (the rule says `container`)
    let mut host = facts(O_WRONLY, true, "/sys/fs/cgroup/release_agent", None);
    host.container = false;
    assert!(!f.accepts(&host));
    // nor those of a container without CAP_SYS_ADMIN (the rule asks for it)
    let mut unprivileged = facts(O_WRONLY, true, "/sys/fs/cgroup/release_agent", None);
    unprivileged.caps = (1 << 1) | (1 << 0);
    assert!(!f.accepts(&unprivileged));
    // unknown facts pass
    let mut unknown = facts(0, true, "/usr/include/stdio.h", None);
    unknown.base = None;
    assert!(f.accepts(&unknown));
}

#[test]
fn a_rule_the_analysis_cannot_bound_turns_the_filter_off_and_says_which() {
    let stable = rampart_falco::rules::STABLE;
    for (extra, why) in [
        // no event type at all
        (
            "- rule: any\n  desc: d\n  condition: proc.name = nc\n  output: o\n  priority: WARNING\n",
            "has no event type",
        ),
        // an open with no constraint the kernel can check
        (
            "- rule: opens\n  desc: d\n  condition: evt.type = openat and proc.name = cat\n  output: o\n  priority: WARNING\n",
            "can match any",
        ),
        // a negated path test
        (
            "- rule: not shadow\n  desc: d\n  condition: evt.type = openat and not fd.name = /etc/shadow\n  output: o\n  priority: WARNING\n",
            "can match any",
        ),
        // a prefix, which only the full path shows
        (
            "- rule: under srv\n  desc: d\n  condition: evt.type = openat and fd.name startswith /srv/\n  output: o\n  priority: WARNING\n",
            "can match any",
        ),
    ] {
        let rs = load(&[("falco_rules.yaml", stable), ("extra.yaml", extra)]);
        match OpenFilter::for_rules(&rs) {
            OpenFilter::All { reason } => assert!(reason.contains(why), "{reason}"),
            OpenFilter::Clauses(c) => panic!("filtered for {extra}: {c:#?}"),
        }
    }
    // the same with open_read: every successful read is kept, writes and failures are not
    let rs = load(&[
        ("falco_rules.yaml", stable),
        (
            "x.yaml",
            "- rule: srv\n  desc: d\n  condition: open_read and fd.name startswith /srv/\n  output: o\n  priority: WARNING\n",
        ),
    ]);
    let f = OpenFilter::for_rules(&rs);
    assert!(f.accepts(&facts(0, true, "/usr/include/stdio.h", None)));
    assert!(!f.accepts(&facts(O_WRONLY, true, "/usr/include/stdio.h", None)));
    assert!(!f.accepts(&facts(0, false, "/usr/include/stdio.h", None)));
    // a rule on other event types changes nothing; disabling the rules that read opens empties it
    let rs = load(&[
        ("falco_rules.yaml", stable),
        (
            "x.yaml",
            "- rule: nc\n  desc: d\n  condition: spawned_process and proc.name = nc\n  output: o\n  priority: WARNING\n",
        ),
    ]);
    assert_eq!(
        OpenFilter::for_rules(&rs),
        OpenFilter::for_rules(&load(&[("falco_rules.yaml", stable)]))
    );
    let mut rs = load(&[("falco_rules.yaml", stable)]);
    for r in [
        "Directory traversal monitored file read",
        "Read sensitive file trusted after startup",
        "Read sensitive file untrusted",
        "Clear Log Activities",
        "Detect release_agent File Container Escapes",
    ] {
        assert!(rs.set_enabled(r, false), "{r}");
    }
    assert_eq!(OpenFilter::for_rules(&rs), OpenFilter::Clauses(Vec::new()));
}

#[test]
fn path_atoms_are_read_as_the_kernel_sees_the_name() {
    let rule = |cond: &str| {
        let text = format!(
            "- rule: r\n  desc: d\n  condition: evt.type = openat and {cond}\n  output: o\n  priority: WARNING\n"
        );
        OpenFilter::for_rules(&load(&[("r.yaml", &text)]))
    };
    let base = |f: &OpenFilter| -> Vec<Option<BTreeSet<String>>> {
        clauses(f).iter().map(|c| c.base.clone()).collect()
    };
    let set = |v: &[&str]| Some(v.iter().map(|s| (*s).to_owned()).collect::<BTreeSet<_>>());
    assert_eq!(base(&rule("fd.name = /etc/shadow")), [set(&["shadow"])]);
    assert_eq!(base(&rule("fd.name in (/a/b, /c/d)")), [set(&["b", "d"])]);
    assert_eq!(base(&rule("fd.name endswith /b")), [set(&["b"])]);
    assert_eq!(
        base(&rule("fd.name glob '/home/*/.ssh/id_rsa'")),
        [set(&["id_rsa"])]
    );
    assert_eq!(base(&rule("fd.filename in (a, b)")), [set(&["a", "b"])]);
    // a glob whose last component has a wildcard, `contains`, a transformed field: any open
    for cond in [
        "fd.name glob '/home/*/.ssh/*'",
        "fd.name contains id_rsa",
        "tolower(fd.name) = /etc/shadow",
        "fd.name = /",
        "fd.directory = /",
    ] {
        assert!(matches!(rule(cond), OpenFilter::All { .. }), "{cond}");
    }
    // fd.directory: the parent of a file, the name itself of an O_DIRECTORY open
    let f = rule("fd.directory = /etc/pam.d");
    assert!(f.accepts(&facts(0, true, "/etc/pam.d/x", None)));
    assert!(f.accepts(&facts(O_DIRECTORY, true, "/etc/pam.d", None)));
    assert!(!f.accepts(&facts(0, true, "/etc/pam.d", None)));
    assert!(!f.accepts(&facts(O_DIRECTORY, true, "/etc/pam.d/x", None)));
    // `O_DIRECT` is also inside `O_DIRECTORY`: not a flag test
    assert!(matches!(
        rule("evt.arg.flags contains O_DIRECT"),
        OpenFilter::All { .. }
    ));
    let f = rule("evt.arg.flags contains O_TRUNC and fd.name = /x/y");
    assert!(f.accepts(&facts(O_TRUNC, true, "/x/y", None)));
    assert!(!f.accepts(&facts(0, true, "/x/y", None)));
    // exceeding the kernel's room: merged, never dropped
    let many: Vec<String> = (0..40)
        .map(|i| format!("(evt.arg.flags contains O_TRUNC and fd.name endswith s{i}x)"))
        .collect();
    let f = rule(&format!("({})", many.join(" or ")));
    let fit = f.fit(16, 59, 15);
    assert!(clauses(&fit).len() <= 16);
    for i in 0..40 {
        let name = format!("/a/s{i}x");
        assert!(f.accepts(&facts(O_TRUNC, true, &name, None)));
        assert!(fit.accepts(&facts(O_TRUNC, true, &name, None)), "{name}");
    }
    // names longer than the kernel's key: the name test is dropped, the rest kept
    let long = "n".repeat(80);
    let f = rule(&format!(
        "evt.arg.flags contains O_TRUNC and fd.name = /a/{long}"
    ))
    .fit(16, 59, 15);
    assert!(f.accepts(&facts(O_TRUNC, true, "/a/other", None)));
    assert!(!f.accepts(&facts(0, true, "/a/other", None)));
}

// ------------------------------------------------------------------ soundness, property test

const PARTS: &[&str] = &[
    "etc",
    "shadow",
    "sudoers",
    "pam.d",
    "sudoers.d",
    "pam.conf",
    "log",
    "var",
    "syslog",
    "auth.log",
    "release_agent",
    "x_release_agent",
    "home",
    "u",
    ".ssh",
    "id_rsa",
    "root",
    "tmp",
    "usr",
    "include",
    "a.h",
    "..",
    ".",
];
const PROCS: &[&str] = &[
    "cat", "sshd", "sh", "bash", "nginx", "python3", "sudo", "vi", "tar",
];

fn normalise(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

fn open_event(raw: &str, flags: u32, ok: bool, container: bool, proc: &str, parent: &str) -> Event {
    open_event_caps(raw, flags, ok, container, proc, parent, u64::MAX)
}

fn open_event_caps(
    raw: &str,
    flags: u32,
    ok: bool,
    container: bool,
    proc: &str,
    parent: &str,
    caps: u64,
) -> Event {
    let name = normalise(raw);
    let mut fd = Fd::file(if ok { 3 } else { -1 }, &name);
    fd.name_raw = (raw != name).then(|| raw.to_owned());
    if flags & O_DIRECTORY != 0 {
        fd.kind = FdKind::Directory;
    }
    let p = |n: &str| Process {
        pid: 100,
        name: n.to_owned(),
        exe: format!("/usr/bin/{n}"),
        exepath: format!("/usr/bin/{n}"),
        args: vec!["-x".into()],
        vpid: Some(100),
        cwd: Some("/".into()),
        uid: Some(0),
        gid: Some(0),
        loginuid: Some(-1),
        user_name: Some("root".into()),
        group_name: Some("root".into()),
        start_ns: Some(1),
        cap_effective: Some(caps),
        cap_permitted: Some(caps),
        is_exe_upper_layer: Some(false),
        is_exe_from_memfd: Some(false),
        ..Process::default()
    };
    let mut ev = Event {
        // not 0: the rules' `never_true` macro is `evt.num=0`
        num: 7,
        evt_type: "openat".into(),
        time_ns: 1_000_000_000_000,
        res: Some(if ok { 3 } else { -2 }),
        open_flags: Some(flags),
        proc: Arc::new(p(proc)),
        ancestors: vec![Arc::new(p(parent))],
        container: container.then(|| {
            Arc::new(Container {
                id: "0123456789ab".into(),
                privileged: Some(true),
                ..Container::default()
            })
        }),
        fd: Some(fd),
        ..Event::default()
    };
    ev.set_arg("flags", open_flags_str(flags));
    ev.set_arg("name", name);
    ev
}

/// Every path of up to three components over PARTS, with the flags and results that matter:
/// each open rule of the shipped set matches some of them, and each of those passes.
#[test]
fn every_short_path_a_rule_matches_passes_the_filter() {
    let filter = OpenFilter::for_rules(defaults()).fit(16, 59, 15);
    let mut paths: Vec<String> = vec![String::new()];
    let mut all = Vec::new();
    for _ in 0..3 {
        let mut next = Vec::new();
        for p in &paths {
            for c in PARTS {
                next.push(format!("{p}/{c}"));
            }
        }
        all.extend(next.iter().cloned());
        paths = next;
    }
    // longer ones: traversals (two `../` in the name as written)
    for extra in [
        "/tmp/../../etc/shadow",
        "/../../etc/pam.d/x",
        "/usr/../../etc/../etc/passwd",
        "/home/u/../../root/.ssh/id_rsa",
    ] {
        all.push(extra.to_owned());
    }
    let mut fired: BTreeSet<String> = BTreeSet::new();
    let mut kept = 0usize;
    for raw in &all {
        let name = normalise(raw);
        let (dir, base) = name.rsplit_once('/').unwrap_or(("", &name));
        for flags in [
            0,
            O_RDWR,
            O_WRONLY | O_TRUNC,
            O_WRONLY | O_CREAT,
            O_DIRECTORY,
        ] {
            for ok in [true, false] {
                for container in [true, false] {
                    for proc in ["cat", "sshd"] {
                        let ev = open_event(raw, flags, ok, container, proc, "nginx");
                        let f = OpenFacts {
                            flags,
                            ok,
                            container,
                            caps: u64::MAX,
                            base: Some(base).filter(|b| !b.is_empty()),
                            parent: Some(dir.rsplit('/').next().unwrap_or(""))
                                .filter(|p| !p.is_empty()),
                            raw: Some(raw),
                        };
                        let pass = filter.accepts(&f);
                        kept += usize::from(pass);
                        for m in defaults().evaluate(&ev) {
                            assert!(
                                pass,
                                "{raw} {flags:o} ok={ok} container={container} {proc}: {} matched",
                                m.rule.name
                            );
                            fired.insert(m.rule.name.clone());
                        }
                    }
                }
            }
        }
    }
    let want: BTreeSet<String> = [
        "Directory traversal monitored file read",
        "Read sensitive file untrusted",
        "Clear Log Activities",
        "Detect release_agent File Container Escapes",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    assert!(want.is_subset(&fired), "{fired:?}");
    // and the filter is selective: most of these opens are dropped
    let total = all.len() * 5 * 2 * 2 * 2;
    assert!(kept * 5 < total, "kept {kept} of {total}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]
    #[test]
    fn an_open_a_rule_matches_always_passes_the_filter(
        parts in proptest::collection::vec(proptest::sample::select(PARTS), 1..6),
        mode in 0u32..4,
        bits in proptest::sample::subsequence(vec![O_CREAT, O_TRUNC, O_DIRECTORY, 0o2000, 0o2000000], 0..3),
        ok in any::<bool>(),
        container in any::<bool>(),
        proc in proptest::sample::select(PROCS),
        parent in proptest::sample::select(PROCS),
        caps in proptest::sample::select(vec![0u64, 1 << 21, 1 << 1, (1 << 21) | (1 << 1), u64::MAX]),
    ) {
        let raw = format!("/{}", parts.join("/"));
        let flags = mode | bits.iter().fold(0, |a, b| a | b);
        let ev = open_event_caps(&raw, flags, ok, container, proc, parent, caps);
        let name = normalise(&raw);
        let (dir, base) = name.rsplit_once('/').unwrap_or(("", &name));
        let f = OpenFacts {
            flags,
            ok,
            container,
            caps,
            base: Some(base).filter(|b| !b.is_empty()),
            parent: Some(dir.rsplit('/').next().unwrap_or("")).filter(|p| !p.is_empty()),
            raw: Some(&raw),
        };
        let filter = OpenFilter::for_rules(defaults());
        let fitted = filter.fit(16, 59, 15);
        let matched: Vec<&str> = defaults().evaluate(&ev).map(|m| m.rule.name.as_str()).collect();
        if !matched.is_empty() {
            prop_assert!(filter.accepts(&f), "{raw} {flags:o} ok={ok} matched {matched:?}");
            prop_assert!(fitted.accepts(&f), "{raw} {flags:o} ok={ok} matched {matched:?}");
        }
    }
}

#[test]
fn symlinks_are_kept_by_their_target_text() {
    use rampart_falco::prefilter::TargetFilter;
    let f = TargetFilter::for_rules(defaults());
    let TargetFilter::Targets(t) = &f else {
        panic!("{f:?}")
    };
    // "Create Symlink Over Sensitive Files": sensitive_file_names and sensitive_directory_names
    for want in ["/etc/shadow", "/etc/sudoers", "/etc", "/etc/", "/root", "/"] {
        assert!(t.contains(want), "{want} not in {t:?}");
    }
    assert!(!f.accepts("../lib/libfoo.so.1") && !f.accepts("/etc/hosts"));
    // every symlink the rule fires on passes
    let rule = defaults()
        .rule("Create Symlink Over Sensitive Files")
        .expect("rule");
    for target in t.iter().chain(
        ["/etc/hosts", "x", "/etc/shadowx"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect::<Vec<_>>()
            .iter(),
    ) {
        let mut ev = open_event("/tmp/l", 0, true, true, "ln", "bash");
        ev.evt_type = "symlinkat".into();
        ev.fd = None;
        ev.set_arg("target", target.clone());
        ev.set_arg("linkpath", "/tmp/l".to_owned());
        if rule.matches(&ev) {
            assert!(f.accepts(target), "{target}");
        }
        assert_eq!(rule.matches(&ev), f.accepts(target), "{target}");
    }
    // a symlink rule on something else than the target: every symlink
    let rs = load(&[(
        "x.yaml",
        "- rule: s\n  desc: d\n  condition: evt.type = symlinkat and proc.name = ln\n  output: o\n  priority: WARNING\n",
    )]);
    assert!(matches!(
        TargetFilter::for_rules(&rs),
        TargetFilter::All { .. }
    ));
    // too long for the kernel's key: every symlink
    let long = format!("/{}", "d".repeat(70));
    let rs = load(&[(
        "x.yaml",
        &format!(
            "- rule: s\n  desc: d\n  condition: evt.type = symlinkat and evt.arg.target = {long}\n  output: o\n  priority: WARNING\n"
        ),
    )]);
    assert!(matches!(
        TargetFilter::for_rules(&rs).fit(59),
        TargetFilter::All { .. }
    ));
}
