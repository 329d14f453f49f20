//! The policy enforced in real runc containers: the guard (Landlock) as the container's first
//! process, the connection guard (cgroup sock_addr programs) attached between `runc create` and
//! `runc start`, denials read back as events with counts. The workload is a busybox shell
//! script run as the entrypoint (so it is inside the guard's Landlock domain; `runc exec`
//! processes are not, see docs/enforce.md); it records each step's status and error text.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use rampart_enforce::audit;
use rampart_enforce::bundle::{GuardFiles, guard_bundle};
use rampart_enforce::event::{self, Action, Event, Mechanism, Outcome};
use rampart_enforce::landlock::{Access, Plan};
use rampart_enforce::net::{self, Verdict};
use rampart_enforce::{Egress, Listen, Mode, Policy, Protocol};
use rampart_testkit::eventgen::NetNs;
use rampart_testkit::runc::{Bundle, StateRoot};

const SCRIPT: &str = r#"
out=/srv/data/out
exec 2>>$out
echo "echo:$(/bin/echo allowed)" >> $out
/usr/local/bin/busybox touch /srv/data/tool-ran; echo "tool:$?" >> $out
echo evil > /usr/bin/evil; echo "usrbin:$?" >> $out
echo fine > /srv/data/fine; echo "writable:$?" >> $out
cat /etc/secret > /dev/null; echo "secret:$?" >> $out
cat /etc/sibling > /dev/null; echo "sibling:$?" >> $out
nc -l -p 8080 > /srv/data/got &
sleep 1
echo hello | nc -w 2 127.0.0.1 8080; echo "connect-allowed:$?" >> $out
nc -w 1 127.0.0.2 8080 < /dev/null; echo "connect-cidr:$?" >> $out
nc -w 1 127.0.0.1 9090 < /dev/null; echo "connect-port:$?" >> $out
nslookup -port=5353 example.test 127.0.0.1 > /dev/null; echo "udp:$?" >> $out
wait
echo end >> $out
"#;

fn policy(mode: Mode) -> Policy {
    Policy {
        mode,
        exec: vec!["/bin".into()],
        writable: vec!["/srv/data".into(), "/tmp".into()],
        never_read: vec!["/etc/secret".into()],
        egress: vec![Egress {
            net: "127.0.0.1/32".parse().unwrap(),
            ports: Some((8080, 8080)),
            protocol: Protocol::Tcp,
        }],
        listen: vec![Listen {
            port: 8080,
            protocol: Protocol::Tcp,
        }],
    }
}

fn guard_files() -> GuardFiles {
    GuardFiles::for_binary(Path::new(env!("CARGO_BIN_EXE_rampart-guard"))).unwrap()
}

struct Run {
    out: String,
    rootfs: PathBuf,
    report: serde_json::Value,
    counts: net::Counts,
    events: Vec<net::NetEvent>,
    denials: Vec<audit::Denial>,
    audit_counts: std::collections::BTreeMap<String, u64>,
}

/// The busybox bundle of the tests, running `args` through the guard with `policy`, in a
/// network namespace made by the test (lo up).
fn prepare(policy: &Policy, args: &[&str]) -> (Bundle, NetNs) {
    prepare_with(policy, args, false)
}

fn prepare_with(policy: &Policy, args: &[&str], privileged: bool) -> (Bundle, NetNs) {
    let bundle = Bundle::busybox().args(args).privileged(privileged).build();
    let r = &bundle.rootfs;
    rampart_testkit::runc::attack_fixture(r, SCRIPT);
    let original = guard_bundle(&bundle.dir, &guard_files(), policy).unwrap();
    assert_eq!(original, args);
    // the guard's report, written where the container can (an open file, before the
    // restriction); the container's network namespace: lo up, made by the test
    let netns = NetNs::new();
    let cfg_path = bundle.dir.join("config.json");
    let mut cfg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&cfg_path).unwrap()).unwrap();
    let args = cfg["process"]["args"].as_array_mut().unwrap();
    let at = args.iter().position(|a| a == "--").unwrap();
    args.insert(at, "/srv/data/report.json".into());
    args.insert(at, "--report".into());
    let ns = cfg["linux"]["namespaces"].as_array_mut().unwrap();
    ns.retain(|n| n["type"] != "network");
    ns.push(serde_json::json!({"type": "network", "path": netns.path()}));
    std::fs::write(&cfg_path, serde_json::to_vec_pretty(&cfg).unwrap()).unwrap();
    (bundle, netns)
}

/// Builds the bundle, starts it through the guard with `policy`, waits for the script.
fn run(policy: &Policy) -> Run {
    let (bundle, _netns) = prepare(policy, &["/bin/sh", "/opt/run.sh"]);
    let r = &bundle.rootfs;
    audit::enable().unwrap();
    let mut reader = audit::Reader::open().unwrap();
    let c = bundle.create(StateRoot::Private);
    let cgroup = net::cgroup_of_pid(c.pid).unwrap();
    assert!(
        cgroup.to_string_lossy().contains(&c.id),
        "runc's cgroup v2 node is named after the container: {}",
        cgroup.display()
    );
    let mut handle = net::attach(&cgroup, policy).unwrap();
    c.start_created();
    assert!(
        c.wait_stopped(Duration::from_secs(30)),
        "the script did not finish"
    );
    let records = reader.records(Duration::from_millis(800));
    assert_eq!(reader.overflows(), 0, "audit records were dropped");
    // this container's denials: its domain was created by the guard, the container's init
    let mut denials = audit::denials(&records);
    denials.retain(|d| d.domain_pid == Some(c.pid));
    let out = std::fs::read_to_string(r.join("srv/data/out")).unwrap_or_default();
    let report = std::fs::read(r.join("srv/data/report.json")).unwrap();
    let run = Run {
        out,
        rootfs: r.clone(),
        report: serde_json::from_slice(&report).unwrap(),
        counts: handle.counts().unwrap(),
        events: handle.events(),
        audit_counts: denials.iter().flat_map(|d| d.blockers.iter()).fold(
            Default::default(),
            |mut m, b| {
                *m.entry(b.clone()).or_default() += 1;
                m
            },
        ),
        denials,
    };
    drop(c);
    // keep the rootfs for the asserts on files: copy what is needed before the bundle goes
    let keep = tempfile::tempdir().unwrap().keep();
    for f in [
        "srv/data/tool-ran",
        "usr/bin/evil",
        "srv/data/fine",
        "srv/data/got",
    ] {
        let src = r.join(f);
        if src.exists() {
            let dst = keep.join(f);
            std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
            std::fs::copy(&src, &dst).unwrap();
        }
    }
    Run {
        rootfs: keep,
        ..run
    }
}

fn line<'a>(out: &'a str, key: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .unwrap_or_else(|| panic!("no {key}: line in\n{out}"))
}

#[test]
fn enforce_mode_denies_in_the_offending_process_and_reports_each_denial() {
    let run = run(&policy(Mode::Enforce));
    let out = &run.out;
    assert!(out.contains("end"), "{out}");
    assert_eq!(run.report["restricted"], true, "{}", run.report);
    assert_eq!(run.report["abi"], 7);
    assert_eq!(run.report["status"], "fully-enforced");

    // exec: the allowed program runs, the copy outside the allow-list does not, nor its effect
    assert_eq!(line(out, "echo"), "allowed");
    assert_eq!(line(out, "tool"), "126", "{out}");
    assert!(
        out.contains("/usr/local/bin/busybox: Permission denied"),
        "{out}"
    );
    assert!(!run.rootfs.join("srv/data/tool-ran").exists());
    // write: not under /usr/bin, yes under the writable directory
    assert_ne!(line(out, "usrbin"), "0");
    assert!(
        out.contains("can't create /usr/bin/evil: Permission denied"),
        "{out}"
    );
    assert!(!run.rootfs.join("usr/bin/evil").exists());
    assert_eq!(line(out, "writable"), "0");
    assert_eq!(
        std::fs::read_to_string(run.rootfs.join("srv/data/fine")).unwrap(),
        "fine\n"
    );
    // never read: the file is not readable, its sibling is
    assert_eq!(line(out, "secret"), "1");
    assert!(
        out.contains("can't open '/etc/secret': Permission denied"),
        "{out}"
    );
    assert_eq!(line(out, "sibling"), "0");

    // network: the allowed destination is reached; another address on the allowed port fails
    // with EPERM (the cgroup program), another port with EACCES (Landlock, which checks first),
    // UDP to an address outside the intent with EPERM
    assert_eq!(line(out, "connect-allowed"), "0", "{out}");
    assert_eq!(
        std::fs::read_to_string(run.rootfs.join("srv/data/got")).unwrap(),
        "hello\n",
        "{out}"
    );
    assert_ne!(line(out, "connect-cidr"), "0");
    assert!(
        out.contains("(127.0.0.2): Operation not permitted"),
        "{out}"
    );
    assert_ne!(line(out, "connect-port"), "0");
    assert!(out.contains("(127.0.0.1): Permission denied"), "{out}");
    assert_ne!(line(out, "udp"), "0");

    // each network denial is an event, and counted
    assert_eq!(run.counts.connect_denied, 2, "{:?}\n{out}", run.counts);
    assert_eq!(run.counts.connect_would_deny, 0);
    assert!(run.counts.connect_allowed >= 1, "{:?}", run.counts);
    // nc -l binds 8080 (nslookup binds port 0, allowed too)
    assert!(run.counts.bind_allowed >= 1, "{:?}", run.counts);
    assert_eq!(run.counts.bind_denied, 0, "{:?}", run.counts);
    assert_eq!(run.events.len(), 2, "{:?}", run.events);
    assert!(run.events.iter().all(|e| e.verdict == Verdict::Denied));
    let tcp = run
        .events
        .iter()
        .find(|e| e.protocol == Some(Protocol::Tcp))
        .unwrap();
    assert_eq!(
        (tcp.addr.to_string().as_str(), tcp.port),
        ("127.0.0.2", 8080)
    );
    assert_eq!(tcp.comm, "nc");
    let udp = run
        .events
        .iter()
        .find(|e| e.protocol == Some(Protocol::Udp))
        .unwrap();
    assert_eq!(
        (udp.addr.to_string().as_str(), udp.port),
        ("127.0.0.1", 5353)
    );
    assert_eq!(udp.comm, "nslookup");

    // each Landlock denial is an audit record, with its process and system call
    let find = |blocker: &str, path: &str| {
        run.denials
            .iter()
            .find(|d| d.blockers.iter().any(|b| b == blocker) && d.path.as_deref() == Some(path))
            .unwrap_or_else(|| panic!("no {blocker} denial on {path}: {:#?}", run.denials))
    };
    let exec = find("fs.execute", "/usr/local/bin/busybox");
    assert_eq!(exec.exit, Some(-13));
    assert_eq!(exec.syscall, Some(59), "execve");
    find("fs.make_reg", "/usr/bin");
    let read = find("fs.read_file", "/etc/secret");
    assert_eq!(read.comm.as_deref(), Some("cat"));
    assert!(
        run.denials
            .iter()
            .any(|d| d.blockers.iter().any(|b| b == "net.connect_tcp") && d.port == Some(9090)),
        "{:#?}",
        run.denials
    );
    // both mechanisms' denials in one shape, counted
    let mut all: Vec<Event> = run.events.iter().map(Event::from).collect();
    all.extend(run.denials.iter().flat_map(event::from_denial));
    let counted = event::count(&all);
    let n = |m, a| counted.get(&(m, a, Outcome::Denied)).copied().unwrap_or(0);
    assert_eq!(n(Mechanism::CgroupBpf, Action::Connect), 2, "{counted:?}");
    for a in [Action::Exec, Action::Write, Action::Read, Action::Connect] {
        assert!(n(Mechanism::Landlock, a) >= 1, "{a:?}: {counted:?}");
    }
    assert!(all.iter().any(|e| e.mechanism == Mechanism::Landlock
        && e.action == Action::Connect
        && e.target == ":9090"));
    for b in [
        "fs.execute",
        "fs.make_reg",
        "fs.read_file",
        "net.connect_tcp",
    ] {
        assert!(
            run.audit_counts.get(b).is_some_and(|n| *n >= 1),
            "{b}: {:?}",
            run.audit_counts
        );
    }
}

#[test]
fn audit_mode_denies_nothing_and_reports_what_it_would_have_denied() {
    let run = run(&policy(Mode::Audit));
    let out = &run.out;
    assert!(out.contains("end"), "{out}");
    assert_eq!(run.report["restricted"], false, "{}", run.report);
    // every step goes through
    assert_eq!(line(out, "tool"), "0", "{out}");
    assert!(run.rootfs.join("srv/data/tool-ran").exists());
    assert_eq!(line(out, "usrbin"), "0");
    assert_eq!(line(out, "secret"), "0");
    assert_eq!(line(out, "connect-allowed"), "0");
    // nothing listens any more: refused by the peer, not by the policy
    assert!(out.contains("(127.0.0.2): Connection refused"), "{out}");
    assert!(!out.contains("Operation not permitted"), "{out}");
    assert!(!out.contains("Permission denied"), "{out}");
    // the connection guard reports and counts what it would have denied: 127.0.0.2:8080,
    // 127.0.0.1:9090 (no Landlock in front of it in audit mode) and the UDP datagram
    assert_eq!(run.counts.connect_denied, 0);
    assert_eq!(run.counts.connect_would_deny, 3, "{:?}", run.counts);
    assert_eq!(run.events.len(), 3, "{:?}", run.events);
    assert!(run.events.iter().all(|e| e.verdict == Verdict::WouldDeny));
    assert!(run.events.iter().any(|e| e.port == 9090));
    // no Landlock domain, no Landlock record
    assert!(run.denials.is_empty(), "{:#?}", run.denials);
    // the files: the plan the guard computed in the container judges the same accesses as
    // the kernel did in enforce mode
    let plan: Plan = serde_json::from_value(run.report["plan"].clone()).unwrap();
    assert!(plan.would_deny(Access::Execute, Path::new("/usr/local/bin/busybox")));
    assert!(!plan.would_deny(Access::Execute, Path::new("/bin/busybox")));
    assert!(plan.would_deny(Access::Write, Path::new("/usr/bin/evil")));
    assert!(!plan.would_deny(Access::Write, Path::new("/srv/data/fine")));
    assert!(plan.would_deny(Access::Read, Path::new("/etc/secret")));
    assert!(!plan.would_deny(Access::Read, Path::new("/etc/sibling")));
}

#[test]
fn runc_exec_is_outside_the_landlock_domain_unless_it_goes_through_the_guard() {
    let policy = policy(Mode::Enforce);
    let (bundle, _netns) = prepare(&policy, &["sleep", "100000"]);
    let c = bundle.create(StateRoot::Private);
    let _handle = net::attach(&net::cgroup_of_pid(c.pid).unwrap(), &policy).unwrap();
    c.start_created();
    // a process started by `runc exec` is a child of runc, not of the guarded entrypoint: no
    // Landlock domain (measured: the never-read file is read)
    let out = c.exec(&["cat", "/etc/secret"]);
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "s3cret\n");
    // through the guard, it gets the same ruleset
    let wrapped = guard_files().wrap(&["cat".into(), "/etc/secret".into()]);
    let wrapped: Vec<&str> = wrapped.iter().map(String::as_str).collect();
    let out = c.exec(&wrapped);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("can't open '/etc/secret': Permission denied"),
        "{out:?}"
    );
    // the connection guard covers it either way: it joins the container's cgroup
    let out = c.exec(&["nc", "-w", "1", "127.0.0.2", "8080"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Operation not permitted"),
        "{out:?}"
    );
}

#[test]
fn a_privileged_container_under_the_guard_cannot_mount() {
    // every capability, CAP_SYS_ADMIN included: mount works without the Landlock domain (audit
    // mode applies none) and fails with EPERM inside it, whatever the rules allow
    let script = "mount -t tmpfs none /mnt > /srv/data/mount 2>&1; echo rc=$? >> /srv/data/mount";
    let mut outs = Vec::new();
    for mode in [Mode::Audit, Mode::Enforce] {
        let (bundle, _netns) = prepare_with(&policy(mode), &["/bin/sh", "-c", script], true);
        std::fs::create_dir_all(bundle.rootfs.join("mnt")).unwrap();
        let c = bundle.create(StateRoot::Private);
        c.start_created();
        assert!(c.wait_stopped(Duration::from_secs(30)));
        outs.push(std::fs::read_to_string(bundle.rootfs.join("srv/data/mount")).unwrap());
    }
    assert_eq!(outs[0], "rc=0\n", "audit mode: {}", outs[0]);
    // busybox's words for EPERM from mount(2)
    assert_eq!(
        outs[1], "mount: permission denied (are you root?)\nrc=1\n",
        "enforce mode"
    );
}
