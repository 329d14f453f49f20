//! A benign workload raises no alert from Falco's stable rules (nor rampart's own) beyond the
//! ones documented below as expected on it: the monitor (in-process, the default rules: Falco's
//! stable ruleset and `crates/rampart-falco/rules/rampart_rules.yaml`) watches one real runc container in which
//!
//! - a real Debian package is installed with `dpkg -i` (`hello`, from `apt-get download`);
//! - a C program is built with `make` and gcc, and run;
//! - busybox httpd serves a page, loaded for 3 s by `wrk` from the host across a veth pair, and
//!   fetched from inside the container over loopback and over the container's private address
//!   (so rampart's "Unexpected outbound connection from container" sees loopback and private
//!   connects and must stay silent).
//!
//! The container's root: symlinks (`bin` -> `usr/bin`, ...), the host's `/usr` as the lower
//! layer of an overlay (dpkg writes into the upper layer, the host is untouched), copies of the
//! host's `/etc` and `/var/lib/dpkg` (dpkg's database), a tmpfs `/tmp`.
//!
//! A positive control ends the test: the container reads `/etc/shadow`, and "Read sensitive file
//! untrusted" must fire for this container; so an empty result cannot come from a monitor that
//! did not see the container.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use rampart_monitor::config::MonitorConfig;
use rampart_testkit::runc::{Bundle, StateRoot};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use support::Running;

/// Alerts expected on this workload: the rule, the output field and value that pin it to the
/// process expected to raise it, and why. Any other alert from the container fails the test.
const EXPECTED: &[(&str, &str, &str, &str)] = &[
    (
        "Redirect STDOUT/STDIN to Network Connection in Container",
        "proc.cmdline",
        "busybox httpd -p 8080 -h /www",
        "busybox httpd serves each connection inetd-style: its child dup2()s the accepted socket \
         onto fds 0 and 1, which is exactly the rule's condition (dup to 0-2 of an ipv4/ipv6 \
         socket in a container); Falco fires the same, twice per connection, and the ruleset \
         leaves `user_known_stand_streams_redirect_activities` for operators to allow such servers",
    ),
    (
        "Drop and execute new binary in container",
        "proc.exepath",
        "/usr/bin/hello",
        "the package install put /usr/bin/hello in the overlay's upper layer and the test runs it: \
         Falco fires the same (EXE_UPPER_LAYER); installing packages in a running container is \
         drift, which `known_drop_and_execute_activities` lets an operator allow",
    ),
    (
        "Executable drift from the image",
        "proc.exepath",
        "/usr/bin/hello",
        "rampart's drift rule: /usr/bin/hello was created after the container started",
    ),
    (
        "Executable drift from the image",
        "proc.exepath",
        "/tmp/app",
        "rampart's drift rule (not Falco's), for the same reason: /tmp/app was created after the \
         container started",
    ),
];

/// The positive control's rule.
const CONTROL: &str = "Read sensitive file untrusted";

fn sh(cmd: &str) -> std::process::Output {
    Command::new("sh").args(["-c", cmd]).output().unwrap()
}

fn sh_ok(cmd: &str) -> String {
    let out = sh(cmd);
    assert!(
        out.status.success(),
        "{cmd}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `hello` from Debian, downloaded once into the workspace's `target/tmp`.
fn hello_deb() -> std::path::PathBuf {
    let dir = rampart_testkit::paths::root().join("target/tmp/hello-deb");
    std::fs::create_dir_all(&dir).unwrap();
    let find = |dir: &Path| {
        std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "deb"))
    };
    if let Some(p) = find(&dir) {
        return p;
    }
    // apt drops to the _apt user for downloads: give it a directory it may write
    let cd = format!("cd {} && chmod 777 . && ", dir.display());
    if !sh(&format!("{cd}apt-get download hello")).status.success() {
        sh("apt-get update");
        sh_ok(&format!("{cd}apt-get download hello"));
    }
    find(&dir).expect("hello .deb")
}

/// The container's root (see the module comment). The overlay on `usr` is unmounted on drop.
struct Root {
    dir: tempfile::TempDir,
}

impl Root {
    fn build() -> Root {
        let dir = tempfile::Builder::new()
            .prefix("rampart-benign.")
            .tempdir()
            .unwrap();
        let r = dir.path().join("rootfs");
        for d in [
            "proc",
            "dev",
            "sys",
            "tmp",
            "usr",
            "root",
            "var/log",
            "var/cache",
            "src",
            "www",
            "pkg",
        ] {
            std::fs::create_dir_all(r.join(d)).unwrap();
        }
        for l in ["bin", "sbin", "lib", "lib64"] {
            std::os::unix::fs::symlink(format!("usr/{l}"), r.join(l)).unwrap();
        }
        for d in ["usr-upper", "usr-work"] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        sh_ok(&format!(
            "mount -t overlay overlay -o lowerdir=/usr,upperdir={0}/usr-upper,workdir={0}/usr-work {1}/usr \
             && cp -a /etc {1}/etc && mkdir -p {1}/var/lib && cp -a /var/lib/dpkg {1}/var/lib/dpkg",
            dir.path().display(),
            r.display()
        ));
        std::fs::copy(hello_deb(), r.join("pkg/hello.deb")).unwrap();
        std::fs::write(
            r.join("src/app.c"),
            "#include <stdio.h>\n#include <string.h>\nint main(void) { char b[64]; \
             snprintf(b, sizeof b, \"built %zu\", strlen(\"benign\")); puts(b); return 0; }\n",
        )
        .unwrap();
        std::fs::write(
            r.join("src/Makefile"),
            "/tmp/app: app.c\n\tgcc -O2 -Wall -o $@ $<\n",
        )
        .unwrap();
        std::fs::write(r.join("www/index.html"), "<h1>benign</h1>\n".repeat(64)).unwrap();
        Root { dir }
    }

    fn path(&self) -> std::path::PathBuf {
        self.dir.path().join("rootfs")
    }
}

impl Drop for Root {
    fn drop(&mut self) {
        let _ = sh(&format!("umount {}/usr", self.path().display()));
    }
}

/// A veth pair between the host and the container's network namespace, on a private /24 chosen
/// from this process's id. Deleted on drop.
struct Veth {
    host: String,
    host_ip: String,
    container_ip: String,
}

impl Veth {
    fn connect(pid: u32) -> Veth {
        let n = std::process::id() % 200 + 20;
        let host = format!("rbh{}", std::process::id());
        let peer = format!("rbc{}", std::process::id());
        let (host_ip, container_ip) = (format!("10.213.{n}.1"), format!("10.213.{n}.2"));
        sh_ok(&format!(
            "ip link add {host} type veth peer name {peer} && ip link set {peer} netns {pid} \
             && ip addr add {host_ip}/24 dev {host} && ip link set {host} up \
             && nsenter -t {pid} -n ip addr add {container_ip}/24 dev {peer} \
             && nsenter -t {pid} -n ip link set {peer} up && nsenter -t {pid} -n ip link set lo up"
        ));
        Veth {
            host,
            host_ip,
            container_ip,
        }
    }
}

impl Drop for Veth {
    fn drop(&mut self) {
        let _ = sh(&format!("ip link del {}", self.host));
    }
}

/// Docker's default capability set (moby's `oci/caps/defaults.go`), as a container that installs
/// packages runs with: dpkg's maintainer scripts chown and setuid.
fn docker_capabilities(bundle: &Bundle) {
    const CAPS: &[&str] = rampart_testkit::eventgen::DOCKER_DEFAULT_CAPS;
    let mut config = bundle.config();
    for set in ["bounding", "effective", "permitted"] {
        config["process"]["capabilities"][set] = serde_json::json!(CAPS);
    }
    std::fs::write(
        bundle.dir.join("config.json"),
        serde_json::to_vec_pretty(&config).unwrap(),
    )
    .unwrap();
}

#[test]
fn benign_workloads_raise_only_documented_alerts() {
    let t0 = Instant::now();
    rampart_testkit::tools::ensure_tools(&[
        "wrk:wrk",
        "curl:curl",
        "gcc:gcc",
        "make:make",
        "busybox:busybox-static",
        "nsenter:util-linux",
    ]);
    rampart_testkit::runc::ensure_runc();
    let root = Root::build();
    let mon = Running::start(
        MonitorConfig {
            threads: Some(2),
            include_host: Some(false),
            ..MonitorConfig::default()
        },
        rampart_monitor::manifests::default_rules(),
    );
    let bundle = Bundle::with_rootfs(root.path()).tmpfs("/tmp").build();
    docker_capabilities(&bundle);
    let c = bundle.run(StateRoot::Default);
    let short = c.id.get(..12).unwrap().to_owned();
    let net = Veth::connect(c.pid);

    // a package install
    let out = c.exec_ok(&["dpkg", "-i", "/pkg/hello.deb"]);
    assert!(out.contains("Setting up hello"), "dpkg -i: {out}");
    assert_eq!(c.exec_ok(&["hello"]), "Hello, world!\n");
    // a build
    c.exec_ok(&["make", "-C", "/src"]);
    assert_eq!(c.exec_ok(&["/tmp/app"]), "built 6\n");
    // a web server under load, from the host across the veth
    c.exec_ok(&["busybox", "httpd", "-p", "8080", "-h", "/www"]);
    let url = format!("http://{}:8080/index.html", net.container_ip);
    let mut ready = false;
    for _ in 0..50 {
        if sh(&format!("curl -sf -o /dev/null {url}")).status.success() {
            ready = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(ready, "httpd does not answer at {url}");
    let wrk = sh_ok(&format!("wrk -t2 -c16 -d3s {url}"));
    let requests: u64 = wrk
        .lines()
        .find_map(|l| l.trim().split_once(" requests in "))
        .map(|(n, _)| n.trim().parse().unwrap())
        .unwrap_or_else(|| panic!("wrk output: {wrk}"));
    assert!(requests >= 100, "only {requests} requests served: {wrk}");
    // connects from the container: loopback and its private address (rampart's outbound rule
    // must stay silent), and to the host's end of the veth (private too; nothing listens there,
    // so it is refused, as a probe of a private service would be)
    for target in ["127.0.0.1", net.container_ip.as_str()] {
        let page = c.exec_ok(&[
            "busybox",
            "wget",
            "-q",
            "-O",
            "-",
            &format!("http://{target}:8080/index.html"),
        ]);
        assert!(page.contains("benign"), "wget {target}: {page}");
    }
    let _ = c.exec(&[
        "busybox",
        "wget",
        "-q",
        "-T",
        "1",
        "-O",
        "-",
        &format!("http://{}:9/", net.host_ip),
    ]);

    // the positive control, then every alert from this container
    let control_sent = Instant::now();
    c.exec_ok(&["head", "-c", "1", "/etc/shadow"]);
    let ours = |all: &[support::Alert]| -> Vec<support::Alert> {
        all.iter()
            .filter(|a| a.container() == short)
            .cloned()
            .collect()
    };
    mon.collect(Duration::from_secs(5), |all| {
        ours(all).iter().any(|a| a.rule() == CONTROL)
    });
    let all = ours(&mon.collect(Duration::from_millis(300), |_| false));
    assert!(
        all.iter().any(|a| a.rule() == CONTROL),
        "the control read of /etc/shadow raised no `{CONTROL}` for container {short} within {:?}: \
         the monitor did not see the container; alerts: {:?}",
        control_sent.elapsed(),
        all.iter().map(|a| a.rule().to_owned()).collect::<Vec<_>>()
    );
    let mut by_rule = std::collections::BTreeMap::<String, (usize, String)>::new();
    for a in &all {
        let e = by_rule.entry(a.rule().to_owned()).or_default();
        e.0 += 1;
        e.1 = a.json["output"].as_str().unwrap_or("").to_owned();
    }
    for (r, (n, o)) in &by_rule {
        eprintln!("{n} x {r}, e.g. {o}");
    }
    let expected = |a: &support::Alert| {
        EXPECTED
            .iter()
            .any(|(r, f, v, _)| *r == a.rule() && a.json["output_fields"][*f].as_str() == Some(*v))
    };
    let unexpected: Vec<String> = all
        .iter()
        .filter(|a| a.rule() != CONTROL && !expected(a))
        .map(|a| a.json["output"].as_str().unwrap_or("").to_owned())
        .collect();
    drop(net);
    drop(c);
    let summary = mon.stop();
    assert!(
        unexpected.is_empty(),
        "{} alert(s) on a benign workload:\n  {}",
        unexpected.len(),
        unexpected.join("\n  ")
    );
    eprintln!(
        "benign workload: {requests} requests served, {} alerts in all (the control included), \
         {} events, {} lost, {:?}",
        all.len(),
        summary.events,
        summary.lost,
        t0.elapsed()
    );
}
