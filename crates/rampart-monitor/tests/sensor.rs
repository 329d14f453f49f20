//! The eBPF sensor on the real kernel (tests run as root): real commands, their events, the
//! in-kernel loss counters, hold and kill, and the committed object against its source.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use rampart_monitor::sensor::{
    BPF_OBJECT, EventKind, FLAG_PATH_ERROR, FileOp, Filter, RawEvent, Sensor, SensorConfig,
    SensorError, Syscall, kill_cgroup,
};
use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

fn load(filter: Filter, ring_bytes: u32) -> Sensor {
    match Sensor::load(SensorConfig {
        ring_bytes,
        filter,
        ..SensorConfig::default()
    }) {
        Ok(s) => s,
        Err(e) => panic!("loading the sensor: {}", chain(&e)),
    }
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        out.push_str(": ");
        out.push_str(&s.to_string());
        src = s.source();
    }
    out
}

fn all_events() -> Filter {
    Filter::default()
}

/// Run a Python script with `dir` as its argument (see `run`).
fn run_python(
    sensor: &mut Sensor,
    script: &str,
    dir: &Path,
) -> (ExitStatus, Vec<RawEvent>, String) {
    run(
        sensor,
        Command::new("python3")
            .arg("-c")
            .arg(script)
            .arg(dir)
            .stdin(Stdio::null()),
    )
}

/// Run a command to its end while reading events; keep the events of it and its descendants.
fn run(sensor: &mut Sensor, cmd: &mut Command) -> (ExitStatus, Vec<RawEvent>, String) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawning {cmd:?}: {e}"));
    let root = child.id();
    let mut all = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        sensor
            .poll(Duration::from_millis(20), |e| all.push(e))
            .unwrap_or_else(|e| panic!("poll: {}", chain(&e)));
        if let Some(st) = child.try_wait().expect("wait") {
            break st;
        }
        assert!(Instant::now() < deadline, "{cmd:?} did not finish");
    };
    let end = Instant::now() + Duration::from_millis(300);
    while Instant::now() < end {
        sensor
            .poll(Duration::from_millis(20), |e| all.push(e))
            .expect("poll");
    }
    let mut out = String::new();
    if let Some(mut o) = child.stdout.take() {
        use std::io::Read;
        o.read_to_string(&mut out).expect("stdout");
    }
    (status, descendants(root, all), out)
}

fn descendants(root: u32, all: Vec<RawEvent>) -> Vec<RawEvent> {
    let mut set = HashSet::from([root]);
    loop {
        let before = set.len();
        for e in &all {
            if let RawEvent::Fork(f) = e {
                if set.contains(&f.header.pid) {
                    set.insert(f.child_pid);
                }
            }
        }
        if set.len() == before {
            break;
        }
    }
    all.into_iter()
        .filter(|e| set.contains(&e.header().pid))
        .collect()
}

fn files(events: &[RawEvent], kind: EventKind) -> Vec<&FileOp> {
    events
        .iter()
        .filter_map(|e| match e {
            RawEvent::File(f) if f.header.kind == kind => Some(f),
            _ => None,
        })
        .collect()
}

fn syscalls(events: &[RawEvent], kind: EventKind) -> Vec<&Syscall> {
    events
        .iter()
        .filter_map(|e| match e {
            RawEvent::Syscall(s) if s.header.kind == kind => Some(s),
            _ => None,
        })
        .collect()
}

/// A directory under /tmp for one test, removed on drop.
struct TempDir(PathBuf);

impl std::ops::Deref for TempDir {
    type Target = PathBuf;
    fn deref(&self) -> &PathBuf {
        &self.0
    }
}

impl AsRef<std::ffi::OsStr> for TempDir {
    fn as_ref(&self) -> &std::ffi::OsStr {
        self.0.as_os_str()
    }
}

impl AsRef<Path> for TempDir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tempdir(tag: &str) -> TempDir {
    let dir = std::env::temp_dir().join(format!("rampart-sensor-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    TempDir(dir.canonicalize().expect("canonical"))
}

/// This process's session id, from /proc/self/stat (the field after pgrp).
fn own_session() -> u32 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("stat");
    let rest = &stat[stat.rfind(')').expect("comm") + 2..];
    rest.split(' ')
        .nth(3)
        .expect("session")
        .parse()
        .expect("number")
}

#[test]
fn exec_event_has_the_kernel_path_argv_cwd_and_credentials() {
    let mut sensor = load(all_events(), 16 << 20);
    let dir = tempdir("exec");
    let (st, events, _) = run(
        &mut sensor,
        Command::new("/bin/sh")
            .arg("-c")
            .arg("/bin/echo hello 'two words' >/dev/null; exit 3")
            .env("RAMPART_SENSOR_PROBE", "in the environment")
            .current_dir(&dir)
            .process_group(0),
    );
    assert_eq!(st.code(), Some(3));
    let echo = std::fs::canonicalize("/bin/echo").expect("echo");
    let exec = events
        .iter()
        .find_map(|e| match e {
            RawEvent::Exec(x) if x.argv.first().map(String::as_str) == Some("/bin/echo") => Some(x),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no exec of echo in {events:#?}"));
    assert_eq!(Path::new(&exec.path), echo, "the resolved executable");
    assert_eq!(exec.argv, ["/bin/echo", "hello", "two words"]);
    assert_eq!(exec.argc, 3);
    assert_eq!(Path::new(&exec.cwd), dir.as_path());
    assert_eq!(exec.header.comm, "echo");
    assert!(
        exec.env
            .iter()
            .any(|v| v == "RAMPART_SENSOR_PROBE=in the environment"),
        "{:?}",
        exec.env
    );
    // the host's pid namespace: the namespaced pid is the pid
    assert_eq!(exec.vpid, exec.header.pid);
    // the shell leads its own process group (process_group(0)) and echo stays in it; the
    // session is the test's own, which is 0 when the harness runs under a container's init
    let sh = events
        .iter()
        .find_map(|e| match e {
            RawEvent::Exec(x) if x.argv.first().map(String::as_str) == Some("/bin/sh") => Some(x),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no exec of sh in {events:#?}"));
    assert_eq!((exec.pgid, exec.vpgid), (sh.header.pid, sh.header.pid));
    assert_eq!(exec.sid, own_session());
    assert_eq!((exec.header.uid, exec.header.euid), (0, 0));
    assert_eq!(exec.exe_ino, std::fs::metadata(&echo).expect("stat").ino());
    assert_eq!(exec.exe_mode & 0o170000, 0o100000, "a regular file");
    assert!(!exec.exe_memfd && !exec.exe_upper_layer);
    assert_ne!(exec.header.cgroup_id, 0);
    assert_eq!(exec.header.mntns as u64, sensor.host_mntns());
    assert!(
        exec.header.cap_effective & (1 << 21) != 0,
        "root has CAP_SYS_ADMIN"
    );
    // the wall clock of the event is now, give or take the run
    let wall = sensor.wall_clock_ns(exec.header.boot_ns);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos() as i128;
    assert!(
        (now - wall).abs() < 30_000_000_000,
        "event time {wall} vs now {now}"
    );
    // the shell's fork, its exit with the status
    let sh = events
        .iter()
        .find_map(|e| match e {
            RawEvent::Exec(x) if x.argv.first().map(String::as_str) == Some("/bin/sh") => Some(x),
            _ => None,
        })
        .expect("exec of sh");
    let exit = events
        .iter()
        .find_map(|e| match e {
            RawEvent::Exit(x) if x.header.pid == sh.header.pid => Some(x),
            _ => None,
        })
        .expect("exit of sh");
    assert_eq!(exit.code >> 8, 3);
}

const PY_RAW: &str = r#"
import os, sys
d = sys.argv[1]
os.close(os.open(d + "/sub/../link", os.O_RDONLY))
os.chdir(d + "/sub")
os.close(os.open("../link", os.O_RDONLY))
try:
    os.open("../sub/../nope", os.O_RDONLY)
except FileNotFoundError:
    pass
os.close(os.open("/proc/self/fd/0", os.O_RDONLY))
"#;

const PY_FILTER: &str = r#"
import os, sys
d = sys.argv[1]
os.chdir(d)
def o(path, flags=os.O_RDONLY):
    try:
        os.close(os.open(path, flags))
    except OSError:
        pass
o(d + "/etc/shadow")
o("etc/shadow")
o(d + "/etc/passwd")
o(d + "/etc/shadow", os.O_WRONLY)
o(d + "/log/app.txt", os.O_WRONLY | os.O_TRUNC)
o(d + "/log/app.txt", os.O_WRONLY | os.O_APPEND)
o("pam.d/x")
o("sub/../../nope")
o("nope2")
o(d + "/alias/shadow")
o("alias/shadow")
o(d + "/sudoers.d", os.O_RDONLY | os.O_DIRECTORY)
o(d + "/etc", os.O_RDONLY | os.O_DIRECTORY)
for target, name in (("/etc/shadow", "l1"), ("etc/passwd", "l2")):
    try:
        os.unlink(name)
    except OSError:
        pass
    os.symlink(target, name)
"#;

/// With the open filter of the shipped rules, the kernel sends the opens a rule can match and
/// counts the rest as filtered: names are judged as `fd.name` is built (the caller's string when
/// absolute or failed, symlinks not followed; the opened file's own name when relative).
#[test]
fn the_open_filter_sends_only_opens_a_rule_can_match() {
    let mut l = rampart_falco::Loader::new();
    for (n, t) in rampart_falco::rules::defaults() {
        l.load(&n, &t);
    }
    let rules = l.finish().expect("the shipped rules load");
    let open = rampart_falco::prefilter::OpenFilter::for_rules(&rules);
    assert!(matches!(
        open,
        rampart_falco::prefilter::OpenFilter::Clauses(_)
    ));
    let symlinks = rampart_falco::prefilter::TargetFilter::for_rules(&rules);
    let mut sensor = load(
        Filter {
            open,
            symlinks,
            ..all_events()
        },
        16 << 20,
    );
    let dir = tempdir("filter");
    for sub in ["etc", "log", "pam.d", "sub", "alias", "sudoers.d"] {
        std::fs::create_dir(dir.join(sub)).unwrap();
    }
    for f in ["etc/shadow", "etc/passwd", "log/app.txt", "pam.d/x"] {
        std::fs::write(dir.join(f), b"x").unwrap();
    }
    std::os::unix::fs::symlink("../etc/passwd", dir.join("alias/shadow")).unwrap();
    let before = sensor.stats().unwrap().filtered;
    let (st, events, _) = run_python(&mut sensor, PY_FILTER, &dir);
    assert!(st.success());
    let d = dir.to_string_lossy();
    let seen: Vec<(String, u32)> = files(&events, EventKind::Open)
        .iter()
        .filter_map(|o| o.raw.clone().map(|r| (r, o.flags)))
        .collect();
    let sent = |raw: &str, flags: u32| seen.iter().any(|(r, f)| r == raw && *f & 0o3003 == flags);
    let abs = |p: &str| format!("{d}/{p}");
    for (raw, flags) in [
        (abs("etc/shadow"), 0),
        ("etc/shadow".into(), 0),
        (abs("log/app.txt"), 0o1001),
        ("pam.d/x".into(), 0),
        ("sub/../../nope".into(), 0),
        (abs("alias/shadow"), 0),
    ] {
        assert!(sent(&raw, flags), "{raw} {flags:o} not sent: {seen:#?}");
    }
    for (raw, flags) in [
        (abs("etc/passwd"), 0),
        (abs("etc/shadow"), 1),
        (abs("log/app.txt"), 0o2001 & 0o3003),
        ("nope2".into(), 0),
        ("alias/shadow".into(), 0),
        // a directory is not a file to `open_read` (`fd.typechar='f'`)
        (abs("sudoers.d"), 0),
        (abs("etc"), 0),
    ] {
        assert!(
            !seen.iter().any(|(r, f)| *r == raw && *f & 0o3003 == flags),
            "{raw} {flags:o} sent"
        );
    }
    // symlinks by their target text: one over a sensitive file, one not
    let targets: Vec<Option<String>> = files(&events, EventKind::Symlink)
        .iter()
        .map(|f| f.path2.clone())
        .collect();
    assert_eq!(targets, [Some("/etc/shadow".to_owned())]);
    let filtered = sensor.stats().unwrap().filtered - before;
    assert!(filtered >= 7, "{filtered}");
    // and switched off, every open is sent again
    sensor.set_filter(&all_events()).unwrap();
    let (_, events, _) = run_python(&mut sensor, PY_FILTER, &dir);
    let raws: Vec<String> = files(&events, EventKind::Open)
        .iter()
        .filter_map(|o| o.raw.clone())
        .collect();
    assert!(raws.contains(&abs("etc/passwd")) && raws.contains(&"nope2".to_owned()));
    assert_eq!(files(&events, EventKind::Symlink).len(), 2);
}

/// Opens report the file the kernel opened (`path`, symlinks followed) and the path exactly as
/// the caller wrote it (`raw`, Falco's `fd.nameraw`).
#[test]
fn opens_carry_the_callers_path_as_written_and_the_file_it_reached() {
    let mut sensor = load(all_events(), 16 << 20);
    let dir = tempdir("raw");
    std::fs::create_dir(dir.join("sub")).unwrap();
    std::fs::write(dir.join("target"), b"x").unwrap();
    std::os::unix::fs::symlink(dir.join("target"), dir.join("link")).unwrap();
    let (st, events, _) = run_python(&mut sensor, PY_RAW, &dir);
    assert!(st.success());
    let d = dir.to_string_lossy();
    let opens = files(&events, EventKind::Open);
    let find = |raw: &str| {
        opens
            .iter()
            .find(|o| o.raw.as_deref() == Some(raw))
            .unwrap_or_else(|| panic!("no open of {raw}: {opens:#?}"))
    };
    let abs = find(&format!("{d}/sub/../link"));
    assert_eq!(abs.path, format!("{d}/target"));
    assert!(abs.ret >= 0);
    let rel = find("../link");
    assert_eq!(rel.path, format!("{d}/target"));
    // a failed open: the directory walked in the kernel, then the caller's name
    let failed = find("../sub/../nope");
    assert_eq!(failed.ret, -2);
    assert_eq!(failed.path, format!("{d}/sub/../sub/../nope"));
    // /proc/self/fd/0 is /dev/null to the kernel
    let fd0 = find("/proc/self/fd/0");
    assert_eq!(fd0.path, "/dev/null");
    // other operations carry no raw path
    assert!(events.iter().all(
        |e| !matches!(e, RawEvent::File(f) if f.header.kind != EventKind::Open && f.raw.is_some())
    ));
}

#[test]
fn opens_carry_the_full_path_of_a_deep_tree_flags_and_result() {
    let mut sensor = load(all_events(), 16 << 20);
    let base = tempdir("open");
    let mut deep = base.clone();
    for i in 0..30 {
        deep.push(format!("d{i:02}-{}", "x".repeat(40)));
    }
    std::fs::create_dir_all(&deep).expect("mkdir deep");
    assert!(deep.as_os_str().len() > 1300);
    let (st, events, _) = run(
        &mut sensor,
        Command::new("/bin/sh")
            .arg("-c")
            .arg(r#"echo x > "$1/f.txt"; cat "$1/f.txt" > /dev/null; cd "$1" && cat f.txt nonexist > /dev/null 2>&1; ls "$1" > /dev/null; true"#)
            .arg("sh")
            .arg(&deep),
    );
    assert!(st.success());
    let target = deep.join("f.txt").to_string_lossy().into_owned();
    let opens = files(&events, EventKind::Open);
    let of_target: Vec<_> = opens.iter().filter(|o| o.path == target).collect();
    let write = of_target
        .iter()
        .find(|o| o.flags & 3 == 1)
        .unwrap_or_else(|| panic!("no write open of {target} in {opens:#?}"));
    assert!(
        write.flags & 0o100 != 0 && write.flags & 0o1000 != 0,
        "O_CREAT|O_TRUNC"
    );
    assert!(write.created(), "the open created the file");
    assert_eq!(write.typechar(), 'f');
    assert!(
        opens
            .iter()
            .any(|o| o.typechar() == 'd' && o.path == deep.to_string_lossy()),
        "ls's open of the directory"
    );
    assert!(write.ret >= 0);
    assert_eq!(write.ino, std::fs::metadata(&target).expect("stat").ino());
    // two reads: by absolute path, and relative to the cwd (resolved in the kernel)
    let reads = of_target.iter().filter(|o| o.flags & 3 == 0).count();
    assert!(reads >= 2, "reads of {target}: {reads}");
    let missing = deep.join("nonexist").to_string_lossy().into_owned();
    let failed = opens
        .iter()
        .find(|o| o.path == missing)
        .unwrap_or_else(|| panic!("no failed open of {missing}"));
    assert_eq!(failed.ret, -2, "ENOENT");
    assert!(
        opens
            .iter()
            .all(|o| !o.path.is_empty() && o.header.flags & FLAG_PATH_ERROR == 0)
    );
}

#[test]
fn file_operations_carry_both_resolved_paths() {
    let mut sensor = load(all_events(), 16 << 20);
    let dir = tempdir("fileops");
    let (st, events, _) = run(
        &mut sensor,
        Command::new("/bin/sh")
            .arg("-c")
            .arg("mkdir sub && chmod 700 sub && touch a && mv a b && ln b c && ln -s b s && rm b && rmdir sub")
            .current_dir(&dir),
    );
    assert!(st.success());
    let p = |n: &str| dir.join(n).to_string_lossy().into_owned();
    let mkdir = files(&events, EventKind::Mkdir);
    assert!(
        mkdir.iter().any(|m| m.path == p("sub") && m.ret == 0),
        "{mkdir:#?}"
    );
    let chmod = files(&events, EventKind::Chmod);
    assert!(
        chmod
            .iter()
            .any(|c| c.path == p("sub") && c.flags & 0o7777 == 0o700),
        "{chmod:#?}"
    );
    let rename = files(&events, EventKind::Rename);
    assert!(
        rename
            .iter()
            .any(|r| r.path == p("a") && r.path2.as_deref() == Some(p("b").as_str())),
        "{rename:#?}"
    );
    let link = files(&events, EventKind::Link);
    assert!(
        link.iter()
            .any(|l| l.path == p("c") && l.path2.as_deref() == Some(p("b").as_str())),
        "{link:#?}"
    );
    let symlink = files(&events, EventKind::Symlink);
    assert!(
        symlink
            .iter()
            .any(|l| l.path == p("s") && l.path2.as_deref() == Some("b")),
        "{symlink:#?}"
    );
    let unlink = files(&events, EventKind::Unlink);
    assert!(
        unlink
            .iter()
            .any(|u| u.path == p("b") && u.flags == 0 && u.ret == 0),
        "{unlink:#?}"
    );
    assert!(
        unlink.iter().any(|u| u.path == p("sub") && u.flags == 1),
        "rmdir: {unlink:#?}"
    );
}

const PY_NET: &str = r#"
import socket, os, sys
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(4)
port = srv.getsockname()[1]
c = socket.socket(); c.connect(("127.0.0.1", port)); a, peer = srv.accept()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.sendto(b"x", ("127.0.0.1", 9))
os.dup2(c.fileno(), 100)
us = socket.socket(socket.AF_UNIX); us.bind(sys.argv[1]); us.listen(1)
uc = socket.socket(socket.AF_UNIX); uc.connect(sys.argv[1])
s6 = socket.socket(socket.AF_INET6); s6.bind(("::1", 0)); s6.listen(1)
c6 = socket.socket(socket.AF_INET6); c6.connect(("::1", s6.getsockname()[1]))
print(port, peer[1], s6.getsockname()[1])
"#;

#[test]
fn loopback_tcp_bind_listen_connect_accept_send_and_dup_of_a_socket() {
    let mut sensor = load(all_events(), 16 << 20);
    let dir = tempdir("net");
    let unix_path = dir.join("sock").to_string_lossy().into_owned();
    let (st, events, out) = run(
        &mut sensor,
        Command::new("python3")
            .arg("-c")
            .arg(PY_NET)
            .arg(&unix_path),
    );
    assert!(st.success());
    let mut nums = out
        .split_whitespace()
        .map(|n| n.parse::<u16>().expect("port"));
    let (port, client_port, port6) = (
        nums.next().expect("port"),
        nums.next().expect("peer"),
        nums.next().expect("port6"),
    );
    let lo = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let bind = syscalls(&events, EventKind::Bind);
    assert!(
        bind.iter()
            .any(|b| b.ret == 0 && b.family == 2 && b.protocol == 6),
        "{bind:#?}"
    );
    let listen = syscalls(&events, EventKind::Listen);
    assert!(
        listen
            .iter()
            .any(|l| l.ret == 0 && l.local == Some((lo, port))),
        "{listen:#?}"
    );
    let connect = syscalls(&events, EventKind::Connect);
    assert!(
        connect.iter().any(|c| c.ret == 0
            && c.remote == Some((lo, port))
            && c.local == Some((lo, client_port))),
        "{connect:#?}"
    );
    let accept = syscalls(&events, EventKind::Accept);
    assert!(
        accept.iter().any(|a| a.ret >= 0
            && a.local == Some((lo, port))
            && a.remote == Some((lo, client_port))),
        "{accept:#?}"
    );
    let send = syscalls(&events, EventKind::Send);
    assert!(
        send.iter()
            .any(|s| s.ret == 1 && s.protocol == 17 && s.remote == Some((lo, 9))),
        "{send:#?}"
    );
    assert!(
        connect
            .iter()
            .any(|c| c.ret == 0 && c.family == 1 && c.text == unix_path),
        "unix: {connect:#?}"
    );
    let lo6 = IpAddr::V6(std::net::Ipv6Addr::LOCALHOST);
    assert!(
        connect
            .iter()
            .any(|c| c.ret == 0 && c.family == 10 && c.remote == Some((lo6, port6))),
        "IPv6: {connect:#?}"
    );
    let dup = syscalls(&events, EventKind::Dup);
    assert!(
        dup.iter()
            .any(|d| d.family == 2 && d.args[1] == 100 && d.ret == 100),
        "{dup:#?}"
    );
}

const PY_SOCKET: &str = r#"
import socket, ctypes
libc = ctypes.CDLL(None, use_errno=True)
p = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
bad = libc.socket(9999, 1, 0)
ufd = libc.syscall(323, 0x80000)
print(p.fileno(), u.fileno(), ufd)
"#;

#[test]
fn socket_and_userfaultfd_calls_carry_their_arguments_and_result() {
    let mut sensor = load(all_events(), 16 << 20);
    let (st, events, out) = run(
        &mut sensor,
        Command::new("python3").arg("-c").arg(PY_SOCKET),
    );
    assert!(st.success());
    let fds: Vec<i64> = out
        .split_whitespace()
        .map(|n| n.parse().expect("fd"))
        .collect();
    let socket = syscalls(&events, EventKind::Socket);
    // AF_PACKET, SOCK_RAW, htons(ETH_P_ALL): the caller's arguments and the new descriptor
    assert!(
        socket.iter().any(|s| s.nr == 41
            && s.family == 17
            && s.sock_type == 3
            && s.protocol == 0x0300
            && s.ret == fds[0]),
        "{socket:#?}"
    );
    // the type without SOCK_CLOEXEC; no address yet
    assert!(
        socket.iter().any(|s| s.family == 10
            && s.sock_type == 2
            && s.ret == fds[1]
            && s.local.is_none_or(|(_, port)| port == 0)),
        "{socket:#?}"
    );
    assert!(
        socket.iter().any(|s| s.args[0] == 9999 && s.ret == -97),
        "EAFNOSUPPORT: {socket:#?}"
    );
    let uffd = syscalls(&events, EventKind::Userfaultfd);
    // the result as the caller saw it (a descriptor, or -1 with errno when refused)
    assert!(
        uffd.iter().any(|u| u.nr == 323
            && u.args[0] == 0x80000
            && (u.ret == fds[2] || (fds[2] == -1 && u.ret < 0))),
        "{uffd:#?}"
    );
}

const PY_RECV: &str = r#"
import socket
srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); srv.bind(("127.0.0.1", 0))
cli = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); cli.bind(("127.0.0.1", 0))
cli.sendto(bytes([0xCA, 0xFE, 0xBA, 0xBE]) + bytes(range(40)), srv.getsockname())
data, peer = srv.recvfrom(100)
srv.setblocking(False)
try:
    srv.recvfrom(100)
except BlockingIOError:
    pass
t = socket.socket(); t.bind(("127.0.0.1", 0)); t.listen(1)
c = socket.socket(); c.connect(t.getsockname()); a, _ = t.accept()
c.send(bytes([0xCA, 0xFE, 0xBA, 0xBE])); a.recv(100)
print(srv.getsockname()[1], cli.getsockname()[1], len(data))
"#;

/// A datagram received on a UDP socket: the receiving socket, the sender and the first 16
/// bytes; no event for a TCP read or a receive that got nothing.
#[test]
fn a_udp_receive_carries_its_sender_and_first_bytes_and_tcp_reads_are_not_reported() {
    let mut sensor = load(all_events(), 16 << 20);
    let (st, events, out) = run(&mut sensor, Command::new("python3").arg("-c").arg(PY_RECV));
    assert!(st.success());
    let nums: Vec<u16> = out
        .split_whitespace()
        .map(|n| n.parse().expect("number"))
        .collect();
    let (srv, cli, len) = (nums[0], nums[1], nums[2]);
    assert_eq!(len, 44);
    let lo = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let recv = syscalls(&events, EventKind::Recv);
    assert_eq!(recv.len(), 1, "only the UDP datagram: {recv:#?}");
    let r = recv[0];
    assert_eq!((r.nr, r.ret, r.protocol), (45, 44, 17));
    assert_eq!(r.local, Some((lo, srv)));
    assert_eq!(r.remote, Some((lo, cli)));
    let mut want = vec![0xCA, 0xFE, 0xBA, 0xBE];
    want.extend(0u8..12);
    assert_eq!(r.data, want);
}

const PY_PRIV: &str = r#"
import os, ctypes
libc = ctypes.CDLL(None, use_errno=True)
os.setuid(0)
os.setgid(0)
libc.syscall(126, 0, 0)
libc.setns(-1, 0)
libc.syscall(313, -1, 0, 0)
libc.ptrace(16, 999999999, 0, 0)
libc.unshare(0x04000000)
libc.syscall(321, 9999, 0, 0)
fd = os.memfd_create("rampart-mfd")
with open("/bin/true", "rb") as f:
    os.write(fd, f.read())
os.execv("/proc/self/fd/%d" % fd, ["memfd-true"])
"#;

#[test]
fn privilege_calls_and_an_exec_from_a_memfd() {
    let mut sensor = load(all_events(), 16 << 20);
    let (st, events, _) = run(&mut sensor, Command::new("python3").arg("-c").arg(PY_PRIV));
    assert!(st.success());
    let setuid = syscalls(&events, EventKind::Setuid);
    assert!(
        setuid
            .iter()
            .any(|s| s.nr == 105 && s.args[0] == 0 && s.ret == 0),
        "{setuid:#?}"
    );
    let setgid = syscalls(&events, EventKind::Setgid);
    assert!(
        setgid.iter().any(|s| s.nr == 106 && s.ret == 0),
        "{setgid:#?}"
    );
    let capset = syscalls(&events, EventKind::Capset);
    assert!(
        capset.iter().any(|c| c.nr == 126 && c.ret == -14),
        "EFAULT: {capset:#?}"
    );
    let setns = syscalls(&events, EventKind::Setns);
    assert!(
        setns.iter().any(|s| s.args[0] as i32 == -1 && s.ret == -9),
        "EBADF: {setns:#?}"
    );
    let module = syscalls(&events, EventKind::Module);
    // EBADF, or ENOSYS on a kernel without modules (this one)
    assert!(
        module
            .iter()
            .any(|m| m.nr == 313 && m.args[0] as i32 == -1 && m.ret < 0),
        "{module:#?}"
    );
    let ptrace = syscalls(&events, EventKind::Ptrace);
    assert!(
        ptrace
            .iter()
            .any(|p| p.args[0] == 16 && p.args[1] == 999_999_999 && p.ret == -3),
        "{ptrace:#?}"
    );
    let unshare = syscalls(&events, EventKind::Unshare);
    assert!(
        unshare
            .iter()
            .any(|u| u.args[0] == 0x0400_0000 && u.ret == 0),
        "{unshare:#?}"
    );
    let bpf = syscalls(&events, EventKind::Bpf);
    assert!(
        bpf.iter().any(|b| b.args[0] == 9999 && b.ret < 0),
        "{bpf:#?}"
    );
    let memfd = syscalls(&events, EventKind::MemfdCreate);
    assert!(
        memfd.iter().any(|m| m.text == "rampart-mfd" && m.ret >= 0),
        "{memfd:#?}"
    );
    let exec = events
        .iter()
        .find_map(|e| match e {
            RawEvent::Exec(x) if x.argv.first().map(String::as_str) == Some("memfd-true") => {
                Some(x)
            }
            _ => None,
        })
        .expect("exec from the memfd");
    assert!(exec.exe_memfd, "{exec:#?}");
    assert!(exec.path.contains("memfd:rampart-mfd"), "{}", exec.path);
}

#[test]
fn thousands_of_execs_and_opens_have_no_empty_path() {
    let mut sensor = load(all_events(), 64 << 20);
    let dir = tempdir("many");
    let (st, events, _) = run(
        &mut sensor,
        Command::new("/bin/sh")
            .arg("-c")
            .arg(r#"i=0; while [ $i -lt 1500 ]; do /bin/true; i=$((i+1)); done; python3 -c 'import sys
for i in range(3000): open(sys.argv[1] + "/f%d" % (i % 7), "a").close()' "$PWD""#)
            .current_dir(&dir),
    );
    assert!(st.success());
    let truth = std::fs::canonicalize("/bin/true").expect("true");
    let execs: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            RawEvent::Exec(x) => Some(x),
            _ => None,
        })
        .collect();
    let trues = execs.iter().filter(|x| Path::new(&x.path) == truth).count();
    let opens = files(&events, EventKind::Open);
    let ours = opens
        .iter()
        .filter(|o| o.path.starts_with(&*dir.to_string_lossy()))
        .count();
    let stats = sensor.stats().expect("stats");
    assert_eq!(stats.total_dropped(), 0, "{stats:?}");
    assert_eq!(trues, 1500, "every exec of true seen");
    assert_eq!(ours, 3000, "every open seen");
    let empty = execs
        .iter()
        .filter(|x| x.path.is_empty() || x.cwd.is_empty())
        .count()
        + opens
            .iter()
            .filter(|o| o.path.is_empty() || o.header.flags & FLAG_PATH_ERROR != 0)
            .count();
    assert_eq!(empty, 0, "events without a path");
}

fn own_cgroup_id() -> u64 {
    let line = std::fs::read_to_string("/proc/self/cgroup").expect("cgroup");
    let path = line
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .expect("a cgroup v2 line");
    let root = if Path::new("/sys/fs/cgroup/unified/cgroup.procs").exists() {
        "/sys/fs/cgroup/unified"
    } else {
        "/sys/fs/cgroup"
    };
    std::fs::metadata(format!("{root}{path}"))
        .expect("cgroup dir")
        .ino()
}

#[test]
fn a_full_ring_buffer_counts_its_drops_per_type_and_cgroup() {
    let filter = Filter {
        enabled: vec![EventKind::Open],
        ..Filter::default()
    };
    let mut sensor = load(filter, 16 * 1024);
    let dir = tempdir("drops");
    // nobody reads while the child opens 20,000 times
    let st = Command::new("python3")
        .arg("-c")
        .arg("import sys\nfor i in range(20000): open(sys.argv[1] + '/f', 'a').close()")
        .arg(&dir)
        .status()
        .expect("python3");
    assert!(st.success());
    // read from another thread, as a metrics endpoint would while the reader owns the sensor
    let reader = sensor.stats_reader();
    let stats = std::thread::spawn(move || reader.read())
        .join()
        .expect("thread")
        .expect("stats");
    let dropped = stats.dropped.get(&EventKind::Open).copied().unwrap_or(0);
    let emitted = stats.emitted.get(&EventKind::Open).copied().unwrap_or(0);
    assert!(dropped > 10_000, "{stats:?}");
    assert!(emitted + dropped >= 20_000, "{stats:?}");
    assert!(emitted < 200, "a 16 KiB ring holds few events: {stats:?}");
    assert!(
        stats.emitted.keys().all(|k| *k == EventKind::Open),
        "only opens enabled"
    );
    let cg = own_cgroup_id();
    assert!(
        stats.dropped_by_cgroup.get(&cg).copied().unwrap_or(0) > 10_000,
        "cgroup {cg}: {stats:?}"
    );
    // the ring then drains and the counters stay
    let mut n = 0;
    sensor
        .poll(Duration::from_millis(10), |_| n += 1)
        .expect("poll");
    assert!(n > 0);
}

/// A child cgroup (v2) of ours for one test, removed on drop.
struct TestCgroup(PathBuf);

impl TestCgroup {
    fn new(tag: &str) -> TestCgroup {
        let root = if Path::new("/sys/fs/cgroup/unified/cgroup.procs").exists() {
            PathBuf::from("/sys/fs/cgroup/unified")
        } else {
            PathBuf::from("/sys/fs/cgroup")
        };
        let dir = root.join(format!("rampart-sensor-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir(&dir);
        std::fs::create_dir(&dir).expect("mkdir cgroup");
        TestCgroup(dir)
    }
    fn id(&self) -> u64 {
        std::fs::metadata(&self.0).expect("cgroup").ino()
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        for _ in 0..50 {
            if std::fs::remove_dir(&self.0).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

enum Verdict {
    KillPidfd,
    KillCgroup,
    Resume,
}

fn state_of(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.get(stat.rfind(')')? + 2..)?.chars().next()
}

/// `sh -c 'touch X'` in a new mount namespace (a container to the sensor) in a test cgroup,
/// every exec held; the verdict decides. Returns whether X exists afterwards.
fn held_touch(verdict: Verdict, tag: &str) -> bool {
    rampart_testkit::tools::ensure_tool("unshare", "util-linux");
    let cg = TestCgroup::new(tag);
    let tmp = tempdir(tag);
    let target = tmp.join("x");
    let filter = Filter {
        enabled: vec![EventKind::Exec],
        held: vec![EventKind::Exec],
        host: false,
        hold_cgroups: Some(vec![cg.id()]),
        ..Filter::default()
    };
    let mut sensor = load(filter, 4 << 20);
    let mut child = Command::new("/bin/sh")
        .arg("-c")
        .arg(r#"echo $$ > "$1/cgroup.procs" && exec unshare -m /bin/sh -c "touch $2""#)
        .arg("sh")
        .arg(&cg.0)
        .arg(&target)
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut held = 0;
    while child.try_wait().expect("wait").is_none() {
        assert!(Instant::now() < deadline, "the held command never finished");
        let mut events = Vec::new();
        sensor
            .poll(Duration::from_millis(20), |e| events.push(e))
            .expect("poll");
        for e in events {
            let RawEvent::Exec(x) = e else { continue };
            if x.header.cgroup_id != cg.id() {
                continue;
            }
            assert!(x.header.held(), "exec in the test cgroup not held: {x:#?}");
            assert_ne!(x.header.mntns as u64, sensor.host_mntns());
            held += 1;
            // stopped before running anything of the new program
            let mut st = None;
            for _ in 0..100 {
                st = state_of(x.header.pid);
                if st == Some('T') {
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            assert_eq!(st, Some('T'), "held task {} is stopped", x.header.pid);
            match verdict {
                Verdict::KillPidfd => sensor.kill_held(&x.header).expect("kill"),
                Verdict::KillCgroup => {
                    let dir = kill_cgroup(x.header.cgroup_id).expect("kill cgroup");
                    assert_eq!(dir, cg.0);
                }
                Verdict::Resume => sensor.resume_held(&x.header).expect("resume"),
            }
        }
    }
    assert!(held >= 1, "no held exec");
    target.exists()
}

#[test]
fn a_held_shell_killed_by_pidfd_never_runs_its_command() {
    assert!(
        !held_touch(Verdict::KillPidfd, "hold-kill"),
        "/x was created"
    );
}

#[test]
fn a_held_shell_killed_with_its_cgroup_never_runs_its_command() {
    assert!(
        !held_touch(Verdict::KillCgroup, "hold-cgkill"),
        "/x was created"
    );
}

#[test]
fn a_held_shell_resumed_runs_its_command() {
    assert!(
        held_touch(Verdict::Resume, "hold-resume"),
        "/x was not created"
    );
}

#[test]
fn a_hold_that_cannot_be_reported_is_undone() {
    rampart_testkit::tools::ensure_tool("unshare", "util-linux");
    let cg = TestCgroup::new("hold-undo");
    let tmp = tempdir("hold-undo");
    let target = tmp.join("x");
    let filter = Filter {
        enabled: vec![EventKind::Exec],
        held: vec![EventKind::Exec],
        host: false,
        hold_cgroups: Some(vec![cg.id()]),
        ..Filter::default()
    };
    // one page of ring: an exec event (12 KiB and more) never fits
    let sensor = load(filter, 4096);
    let mut child = Command::new("/bin/sh")
        .arg("-c")
        .arg(r#"echo $$ > "$1/cgroup.procs" && exec unshare -m /bin/sh -c "touch $2""#)
        .arg("sh")
        .arg(&cg.0)
        .arg(&target)
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = kill_cgroup(cg.id());
            panic!("the unreported hold was not undone: the shell stayed stopped");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(target.exists(), "the shell ran its command");
    let stats = sensor.stats().expect("stats");
    assert!(
        stats.dropped.get(&EventKind::Exec).copied().unwrap_or(0) >= 2,
        "{stats:?}"
    );
    assert!(
        stats.dropped_by_cgroup.get(&cg.id()).copied().unwrap_or(0) >= 2,
        "{stats:?}"
    );
}

#[test]
fn the_kill_list_kills_at_exec_in_the_kernel() {
    let mut sensor = load(
        Filter {
            enabled: vec![EventKind::Exec],
            ..Filter::default()
        },
        4 << 20,
    );
    let dir = tempdir("killlist");
    let exe = dir.join("rampart-kexe");
    std::fs::copy("/bin/sleep", &exe).expect("copy sleep");
    sensor.kill_on_exec("rampart-kexe").expect("kill list");
    let started = Instant::now();
    let (st, events, _) = run(&mut sensor, Command::new(&exe).arg("20"));
    assert_eq!(st.signal(), Some(9), "{st:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
    let exec = events
        .iter()
        .find_map(|e| match e {
            RawEvent::Exec(x) => Some(x),
            _ => None,
        })
        .expect("exec");
    assert!(exec.header.killed());
    sensor.forget_kill_on_exec("rampart-kexe").expect("forget");
    let (st, _, _) = run(&mut sensor, Command::new(&exe).arg("0"));
    assert!(st.success(), "off the list, it runs");
    assert!(matches!(
        sensor.kill_on_exec("a-name-longer-than-15"),
        Err(SensorError::KillName(_))
    ));
}

#[test]
fn a_bad_ring_size_is_refused_before_loading() {
    let err = Sensor::load(SensorConfig {
        ring_bytes: 10_000,
        ..SensorConfig::default()
    });
    assert!(matches!(err, Err(SensorError::RingSize(10_000))));
}

#[test]
fn bpf_object_matches_source() {
    let out = std::env::temp_dir().join(format!("rampart-sensor-{}.bpf.o", std::process::id()));
    let st = Command::new("bash")
        .arg(rampart_testkit::paths::script("build-bpf.sh"))
        .arg(&out)
        .status()
        .expect("scripts/build-bpf.sh");
    assert!(st.success(), "scripts/build-bpf.sh failed");
    let built = std::fs::read(&out).expect("built object");
    let _ = std::fs::remove_file(&out);
    assert!(
        built == BPF_OBJECT,
        "crates/rampart-monitor/bpf/sensor.bpf.o does not match its source: run scripts/build-bpf.sh and commit the object"
    );
}

/// A runc bundle with a busybox rootfs (writable root) in `dir`, joining cgroup `cgroups_path`.
fn busybox_bundle(dir: &Path, cgroups_path: &str, args: &[&str]) -> PathBuf {
    rampart_testkit::tools::ensure_tool("runc", "runc");
    rampart_testkit::tools::ensure_tool("/bin/busybox", "busybox-static");
    let bundle = dir.join("bundle");
    let bin = bundle.join("rootfs/bin");
    std::fs::create_dir_all(&bin).expect("rootfs");
    for d in ["proc", "dev", "sys", "tmp", "etc"] {
        std::fs::create_dir_all(bundle.join("rootfs").join(d)).expect("rootfs dir");
    }
    std::fs::copy("/bin/busybox", bin.join("busybox")).expect("busybox");
    for applet in ["sh", "touch", "cat", "echo"] {
        std::os::unix::fs::symlink("busybox", bin.join(applet)).expect("applet");
    }
    let st = Command::new("runc")
        .arg("spec")
        .current_dir(&bundle)
        .status()
        .expect("runc spec");
    assert!(st.success());
    let path = bundle.join("config.json");
    let mut spec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("config")).expect("json");
    spec["process"]["terminal"] = false.into();
    spec["process"]["args"] = args.iter().map(|a| serde_json::Value::from(*a)).collect();
    spec["root"]["readonly"] = false.into();
    spec["linux"]["cgroupsPath"] = cgroups_path.into();
    std::fs::write(&path, serde_json::to_vec_pretty(&spec).expect("json")).expect("write");
    bundle
}

/// `sh -c 'touch /x'` as a runc container's process, its exec held; returns whether the
/// container's /x exists afterwards.
fn held_runc_touch(verdict: Verdict, tag: &str) -> bool {
    let tmp = tempdir(tag);
    let name = format!("rampart-sensor-{tag}-{}", std::process::id());
    // the container's v2 cgroup, made first so the hold can be scoped to it
    let cg = TestCgroup::new(tag);
    // runc removes the cgroup when the container ends: its id is taken now
    let cg_id = cg.id();
    let cg_name =
        cg.0.file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
    let bundle = busybox_bundle(&tmp, &format!("/{cg_name}"), &["sh", "-c", "touch /x"]);
    let filter = Filter {
        enabled: vec![EventKind::Exec, EventKind::Open],
        held: vec![EventKind::Exec],
        host: false,
        hold_cgroups: Some(vec![cg_id]),
        ..Filter::default()
    };
    let mut sensor = load(filter, 16 << 20);
    let mut child = Command::new("runc")
        .arg("--root")
        .arg(tmp.join("state"))
        .arg("run")
        .arg("--bundle")
        .arg(&bundle)
        .arg(&name)
        .stdin(Stdio::null())
        .spawn()
        .expect("runc run");
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut target_seen = false;
    let mut created_open = None;
    while child.try_wait().expect("wait").is_none() {
        assert!(Instant::now() < deadline, "runc run never finished");
        let mut events = Vec::new();
        sensor
            .poll(Duration::from_millis(20), |e| events.push(e))
            .expect("poll");
        for e in events {
            if e.header().cgroup_id != cg_id {
                continue;
            }
            match e {
                RawEvent::Exec(x) => {
                    assert!(x.header.held(), "container exec not held: {x:#?}");
                    assert_ne!(u64::from(x.header.mntns), sensor.host_mntns());
                    if x.argv == ["sh", "-c", "touch /x"] {
                        // the path inside the container, walked to its root
                        assert_eq!(x.path, "/bin/busybox");
                        assert_eq!(x.cwd, "/");
                        // the container's init, in its own pid namespace
                        assert_eq!(x.vpid, 1);
                        assert_ne!(x.header.pid, 1);
                        target_seen = true;
                        match verdict {
                            Verdict::KillPidfd => sensor.kill_held(&x.header).expect("kill"),
                            Verdict::KillCgroup => {
                                kill_cgroup(x.header.cgroup_id).expect("kill cgroup");
                            }
                            Verdict::Resume => sensor.resume_held(&x.header).expect("resume"),
                        }
                    } else {
                        sensor.resume_held(&x.header).expect("resume");
                    }
                }
                RawEvent::File(f) if f.path == "/x" && f.flags & 0o100 != 0 => {
                    created_open = Some(f);
                }
                _ => {}
            }
        }
    }
    let _ = Command::new("runc")
        .arg("--root")
        .arg(tmp.join("state"))
        .args(["delete", "-f", &name])
        .status();
    assert!(target_seen, "no exec of the container's shell");
    let exists = bundle.join("rootfs/x").exists();
    if exists {
        let f = created_open.expect("the container's open of /x");
        assert!(f.created());
    }
    exists
}

#[test]
fn a_held_runc_container_shell_killed_never_runs_its_command() {
    assert!(
        !held_runc_touch(Verdict::KillPidfd, "runc-kill"),
        "/x was created"
    );
}

#[test]
fn a_held_runc_container_shell_resumed_runs_it_and_its_open_is_container_relative() {
    assert!(
        held_runc_touch(Verdict::Resume, "runc-resume"),
        "/x was not created"
    );
}

/// Unmounts on drop (the test's overlay), lazily so a failing test leaves no mount behind.
struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
fn overlayfs_execs_say_whether_the_file_came_from_the_upper_layer_and_mounts_are_reported() {
    let mut sensor = load(all_events(), 16 << 20);
    let dir = tempdir("overlay");
    for d in ["lower", "upper", "work", "merged"] {
        std::fs::create_dir(dir.join(d)).expect("mkdir");
    }
    std::fs::copy("/bin/true", dir.join("lower/from-lower")).expect("copy");
    let merged = dir.join("merged");
    let opts = format!(
        "lowerdir={},upperdir={},workdir={}",
        dir.join("lower").display(),
        dir.join("upper").display(),
        dir.join("work").display()
    );
    let (st, events, _) = run(
        &mut sensor,
        Command::new("mount")
            .args(["-t", "overlay", "overlay", "-o", &opts])
            .arg(&merged),
    );
    assert!(st.success(), "mount overlay");
    let _mounted = Mounted(merged.clone());
    let mount = syscalls(&events, EventKind::Mount);
    let target = merged.to_string_lossy().into_owned();
    assert!(
        mount.iter().any(|m| m.text == target && m.ret == 0),
        "{mount:#?}"
    );
    // a file written through the overlay lives in the upper layer
    std::fs::copy("/bin/true", merged.join("from-upper")).expect("copy into the overlay");
    let (st, events, _) = run(
        &mut sensor,
        Command::new("/bin/sh")
            .arg("-c")
            .arg(r#""$1/from-lower" && "$1/from-upper""#)
            .arg("sh")
            .arg(&merged),
    );
    assert!(st.success());
    let exec_of = |name: &str| {
        events
            .iter()
            .find_map(|e| match e {
                RawEvent::Exec(x) if x.path == format!("{target}/{name}") => Some(x.clone()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no exec of {name}"))
    };
    let lower = exec_of("from-lower");
    assert!(lower.exe_overlay && !lower.exe_upper_layer, "{lower:#?}");
    let upper = exec_of("from-upper");
    assert!(upper.exe_overlay && upper.exe_upper_layer, "{upper:#?}");
    let (st, events, _) = run(&mut sensor, Command::new("umount").arg(&merged));
    assert!(st.success());
    let umount = syscalls(&events, EventKind::Umount);
    assert!(
        umount.iter().any(|u| u.text == target && u.ret == 0),
        "{umount:#?}"
    );
}
