//! The monitor's file guard on real runc containers: fanotify permission marks placed on the
//! container's mounts from outside it (between `runc create` and `runc start`), answering each
//! exec and open by the intent's rules. The offending call fails with EPERM in the offending
//! process; audit mode lets everything through and counts what it would have denied. The
//! container's root is an overlayfs, as under containerd, with a tmpfs at /tmp.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rampart_enforce::event::{Action, Event, Mechanism, Outcome};
use rampart_enforce::files::FileGuard;
use rampart_enforce::{Mode, Policy};
use rampart_testkit::runc::{Bundle, StateRoot};

const SCRIPT: &str = r#"
out=/srv/data/out
exec 2>>$out
echo "echo:$(/bin/echo allowed)" >> $out
/usr/local/bin/busybox touch /srv/data/tool-ran; echo "tool:$?" >> $out
echo evil > /usr/bin/evil; echo "usrbin:$?" >> $out
echo more >> /etc/passwd; echo "append:$?" >> $out
echo fine > /srv/data/fine; echo "writable:$?" >> $out
cat /etc/secret > /dev/null; echo "secret:$?" >> $out
cat /etc/sibling > /dev/null; echo "sibling:$?" >> $out
cp /bin/busybox /tmp/true; echo "copy:$?" >> $out
/tmp/true; echo "tmp-tool:$?" >> $out
echo end >> $out
"#;

fn policy(mode: Mode) -> Policy {
    Policy {
        mode,
        exec: vec!["/bin".into()],
        writable: vec!["/srv/data".into(), "/tmp".into()],
        never_read: vec!["/etc/secret".into()],
        egress: vec![],
        listen: vec![],
    }
}

/// A file guard answering on a thread of its own (as the monitor runs it), its events kept.
struct Serving {
    guard: Arc<FileGuard>,
    stop: Arc<AtomicBool>,
    events: Arc<Mutex<Vec<Event>>>,
    server: std::thread::JoinHandle<()>,
}

impl Serving {
    fn start() -> Self {
        let guard = Arc::new(FileGuard::new().unwrap());
        let stop = Arc::new(AtomicBool::new(false));
        let events = Arc::new(Mutex::new(Vec::new()));
        let server = {
            let (guard, stop, events) = (guard.clone(), stop.clone(), events.clone());
            std::thread::spawn(move || {
                guard
                    .serve(&stop, &mut |_, e| events.lock().unwrap().push(e))
                    .unwrap();
            })
        };
        Serving {
            guard,
            stop,
            events,
            server,
        }
    }

    /// Stops the thread; the events it reported.
    fn stop(self) -> Vec<Event> {
        self.stop.store(true, Ordering::Relaxed);
        self.server.join().unwrap();
        self.events.lock().unwrap().clone()
    }
}

struct Run {
    out: String,
    events: Vec<Event>,
    counts: BTreeMap<(Action, Outcome), u64>,
    upper: PathBuf,
    marked: Vec<PathBuf>,
}

fn run(mode: Mode) -> Run {
    let bundle = Bundle::busybox()
        .args(&["/bin/sh", "/opt/run.sh"])
        .overlay(true)
        .tmpfs("/tmp")
        .build();
    let r = &bundle.lower;
    rampart_testkit::runc::attack_fixture(r, SCRIPT);

    let serving = Serving::start();
    let guard = serving.guard.clone();
    let c = bundle.create(StateRoot::Private);
    let scope = guard.guard(c.pid, &c.id, &policy(mode)).unwrap();
    c.start_created();
    assert!(
        c.wait_stopped(Duration::from_secs(30)),
        "the script did not finish"
    );
    let upper = bundle.upper.clone().unwrap();
    let out = std::fs::read_to_string(upper.join("srv/data/out")).unwrap_or_default();
    let counts = scope.counts();
    let marked = scope.marked.clone();
    drop(c);
    let events = serving.stop();
    assert_eq!(guard.stats().unknown_flags, 0, "{:?}", guard.stats());
    let keep = tempfile::tempdir().unwrap().keep();
    for f in [
        "srv/data/tool-ran",
        "usr/bin/evil",
        "srv/data/fine",
        "etc/passwd",
    ] {
        if upper.join(f).exists() {
            let dst = keep.join(f);
            std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
            std::fs::copy(upper.join(f), &dst).unwrap();
        }
    }
    Run {
        out,
        events,
        counts,
        upper: keep,
        marked,
    }
}

fn line<'a>(out: &'a str, key: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .unwrap_or_else(|| panic!("no {key}: line in\n{out}"))
}

fn has(events: &[Event], action: Action, target: &str, outcome: Outcome) -> bool {
    events.iter().any(|e| {
        e.mechanism == Mechanism::Fanotify
            && e.action == action
            && e.target == target
            && e.outcome == outcome
    })
}

#[test]
fn enforce_mode_fails_the_call_with_eperm_and_reports_it() {
    let run = run(Mode::Enforce);
    let out = &run.out;
    assert!(out.contains("end"), "{out}");
    assert!(run.marked.contains(&PathBuf::from("/")), "{:?}", run.marked);
    assert!(
        run.marked.contains(&PathBuf::from("/tmp")),
        "{:?}",
        run.marked
    );

    // exec: the allow-list runs, a copy elsewhere does not, in the image or in a writable tmpfs
    assert_eq!(line(out, "echo"), "allowed");
    assert_eq!(line(out, "tool"), "126", "{out}");
    assert!(
        out.contains("/usr/local/bin/busybox: Operation not permitted"),
        "{out}"
    );
    assert!(!run.upper.join("srv/data/tool-ran").exists());
    assert_eq!(
        line(out, "copy"),
        "0",
        "writing into the writable /tmp: {out}"
    );
    assert_eq!(line(out, "tmp-tool"), "126", "{out}");

    // write: refused outside the writable paths (O_CREAT leaves the new file empty), allowed
    // beneath them; an append to an existing file is refused and leaves it whole
    assert_ne!(line(out, "usrbin"), "0");
    assert!(
        out.contains("/usr/bin/evil: Operation not permitted"),
        "{out}"
    );
    let evil = run.upper.join("usr/bin/evil");
    assert!(!evil.exists() || std::fs::read(&evil).unwrap().is_empty());
    assert_ne!(line(out, "append"), "0");
    // (overlayfs copies the file up when it is opened for write, before the permission event:
    // the copy is the original)
    let passwd = run.upper.join("etc/passwd");
    assert!(
        !passwd.exists() || !std::fs::read_to_string(&passwd).unwrap().contains("more"),
        "the append went through"
    );
    assert_eq!(line(out, "writable"), "0");
    assert_eq!(
        std::fs::read_to_string(run.upper.join("srv/data/fine")).unwrap(),
        "fine\n"
    );

    // read: the never-read file is refused, its sibling is not
    assert_ne!(line(out, "secret"), "0");
    assert!(
        out.contains("'/etc/secret': Operation not permitted"),
        "{out}"
    );
    assert_eq!(line(out, "sibling"), "0");

    // each denial is an event naming the container's path, with the process
    let ev = &run.events;
    assert!(
        has(ev, Action::Exec, "/usr/local/bin/busybox", Outcome::Denied),
        "{ev:#?}"
    );
    assert!(
        has(ev, Action::Exec, "/tmp/true", Outcome::Denied),
        "{ev:#?}"
    );
    assert!(
        has(ev, Action::Write, "/usr/bin/evil", Outcome::Denied),
        "{ev:#?}"
    );
    assert!(
        has(ev, Action::Write, "/etc/passwd", Outcome::Denied),
        "{ev:#?}"
    );
    assert!(
        has(ev, Action::Read, "/etc/secret", Outcome::Denied),
        "{ev:#?}"
    );
    assert!(
        ev.iter().all(|e| e.pid.is_some() && e.comm.is_some()),
        "{ev:#?}"
    );
    assert!(
        !ev.iter()
            .any(|e| e.target.starts_with("/srv/data") || e.target == "/etc/sibling"),
        "{ev:#?}"
    );
    assert_eq!(
        run.counts.get(&(Action::Exec, Outcome::Denied)),
        Some(&2),
        "{:?}",
        run.counts
    );
    assert_eq!(
        run.counts.get(&(Action::Read, Outcome::Denied)),
        Some(&1),
        "{:?}",
        run.counts
    );
    assert_eq!(
        run.counts.get(&(Action::Write, Outcome::Denied)),
        Some(&2),
        "{:?}",
        run.counts
    );
}

#[test]
fn audit_mode_denies_nothing_and_counts_what_it_would_have() {
    let run = run(Mode::Audit);
    let out = &run.out;
    assert!(out.contains("end"), "{out}");
    for step in [
        "tool", "usrbin", "append", "writable", "secret", "sibling", "copy", "tmp-tool",
    ] {
        assert_eq!(line(out, step), "0", "{step}: {out}");
    }
    assert!(run.upper.join("srv/data/tool-ran").exists());
    let ev = &run.events;
    assert!(
        ev.iter().all(|e| e.outcome == Outcome::WouldDeny),
        "{ev:#?}"
    );
    assert!(
        has(
            ev,
            Action::Exec,
            "/usr/local/bin/busybox",
            Outcome::WouldDeny
        ),
        "{ev:#?}"
    );
    assert!(
        has(ev, Action::Write, "/usr/bin/evil", Outcome::WouldDeny),
        "{ev:#?}"
    );
    assert!(
        has(ev, Action::Read, "/etc/secret", Outcome::WouldDeny),
        "{ev:#?}"
    );
    assert_eq!(
        run.counts.get(&(Action::Exec, Outcome::WouldDeny)),
        Some(&2),
        "{:?}",
        run.counts
    );
}

/// A hardened container (read-only root, writable tmpfs): the root is marked for exec only and
/// its never-read file one by one, so ordinary reads never reach the monitor, and processes
/// `runc exec` starts in the container are judged like its own.
#[test]
fn a_read_only_root_sends_only_execs_and_never_read_files() {
    let bundle = Bundle::busybox()
        .args(&["sleep", "100000"])
        .readonly(true)
        .tmpfs("/tmp")
        .build();
    let r = &bundle.rootfs;
    rampart_testkit::runc::attack_fixture(r, "");

    let serving = Serving::start();
    let guard = serving.guard.clone();
    let c = bundle.create(StateRoot::Private);
    let scope = guard.guard(c.pid, &c.id, &policy(Mode::Enforce)).unwrap();
    c.start_created();
    assert!(scope.marked.contains(&PathBuf::from("/")), "{scope:?}");
    assert!(!scope.judged.contains(&PathBuf::from("/")), "{scope:?}");
    assert!(!scope.judged.contains(&PathBuf::from("/tmp")), "{scope:?}");
    assert_eq!(scope.never_read_marks, 1, "{scope:?}");

    let secret = c.exec(&["cat", "/etc/secret"]);
    assert!(!secret.status.success());
    assert!(
        String::from_utf8_lossy(&secret.stderr).contains("Operation not permitted"),
        "{secret:?}"
    );
    let tool = c.exec(&["/usr/local/bin/busybox", "true"]);
    assert!(!tool.status.success(), "{tool:?}");
    let evil = c.exec(&["sh", "-c", "echo x > /usr/bin/evil"]);
    assert!(
        String::from_utf8_lossy(&evil.stderr).contains("Read-only file system"),
        "{evil:?}"
    );
    assert_eq!(c.exec_ok(&["cat", "/etc/sibling"]).trim(), "public");
    // a hundred reads of an ordinary file in one process: nothing is sent for them
    let before = guard.stats().answered;
    c.exec_ok(&[
        "sh",
        "-c",
        "i=0; while [ $i -lt 100 ]; do read x < /etc/sibling; i=$((i+1)); done",
    ]);
    let sent = guard.stats().answered - before;
    assert!(sent < 10, "{sent} events for 100 reads and one exec");
    drop(c);
    let events = serving.stop();
    let ev = events;
    assert!(
        has(&ev, Action::Read, "/etc/secret", Outcome::Denied),
        "{ev:#?}"
    );
    assert!(
        has(&ev, Action::Exec, "/usr/local/bin/busybox", Outcome::Denied),
        "{ev:#?}"
    );
}
