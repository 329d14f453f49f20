//! Container runtimes and engines on the node: which are installed and at which version
//! (the package database, else the binaries asked on the running node), their known escape
//! vulnerabilities, Docker's effective daemon configuration (the running daemon's flags over
//! `daemon.json`) and the ownership and modes of its files (CIS Docker Benchmark v1.6.0,
//! sections 2 and 3), containerd's and CRI-O's configuration, and the sandbox runtimes the
//! node offers (installed, or configured as a CRI runtime handler).

use std::cmp::Ordering;
use std::collections::BTreeMap;

use rampart_core::{Component, Layer, RefKind, Reference, Rule, RuleTarget, Severity};
use rampart_version::Scheme;
use serde_json::Value;

use crate::root::{Meta, Root};
use crate::units::{dpkg_packages, processes, unit_command, unit_file};
use crate::{Check, Host};

/// A known escape in a runtime.
pub struct RuntimeCve {
    pub component: &'static str,
    pub cve: &'static str,
    /// the first fixed upstream version of each maintained branch
    pub fixed: &'static [&'static str],
    /// Debian package versions that carry the fix (a backport under an older number)
    pub debian_fixed: &'static [&'static str],
    pub why: &'static str,
    pub source: &'static str,
}

/// The table (docs/host.md lists it with its sources).
pub static RUNTIME_CVES: &[RuntimeCve] = &[
    RuntimeCve {
        component: "runc",
        cve: "CVE-2019-5736",
        fixed: &["1.0.0~rc7"],
        debian_fixed: &[],
        why: "a container process overwrites the host's runc binary through /proc/self/exe and runs as root on the host",
        source: "https://github.com/opencontainers/runc/security/advisories/GHSA-gxmr-w5mj-v8hh",
    },
    RuntimeCve {
        component: "runc",
        cve: "CVE-2024-21626",
        fixed: &["1.1.12"],
        debian_fixed: &["1.1.5+ds1-1+deb12u1", "1.0.0~rc93+ds1-5+deb11u3"],
        why: "a file descriptor of the host leaks into the container (Leaky Vessels): a workdir of /proc/self/fd/N gives the container the host's filesystem",
        source: "https://github.com/opencontainers/runc/security/advisories/GHSA-xr7r-f8xq-vfvv, https://security-tracker.debian.org/tracker/CVE-2024-21626",
    },
    RuntimeCve {
        component: "runc",
        cve: "CVE-2025-31133",
        fixed: &["1.2.8", "1.3.3", "1.4.0~rc.3"],
        debian_fixed: &[],
        why: "masked paths bind-mounted over /dev/null can be swapped for a symlink: a container writes arbitrary procfs files of the host (with CVE-2025-52565 and CVE-2025-52881, fixed in the same releases)",
        source: "https://github.com/opencontainers/runc/security/advisories/GHSA-9493-h29p-rfm2",
    },
    RuntimeCve {
        component: "containerd",
        cve: "CVE-2020-15257",
        fixed: &["1.3.9", "1.4.3"],
        debian_fixed: &[],
        why: "containers in the host network namespace reach the shim's abstract socket and run processes as root on the host",
        source: "https://github.com/containerd/containerd/security/advisories/GHSA-36xw-fx78-c5r4",
    },
    RuntimeCve {
        component: "containerd",
        cve: "CVE-2022-23648",
        fixed: &["1.4.13", "1.5.10", "1.6.1"],
        debian_fixed: &[],
        why: "an image's volume path traversal in the CRI plugin copies any host file (kubelet credentials, keys) into the container",
        source: "https://github.com/containerd/containerd/security/advisories/GHSA-crp2-qrr5-8pq7",
    },
];

/// The upstream version in a package or `--version` string, in dpkg's ordering
/// (`1.0.0-rc6` → `1.0.0~rc6`, an epoch and a Debian revision dropped).
fn upstream(v: &str) -> String {
    let v = v.split_once(':').map_or(v, |(_, r)| r);
    let v = match v.rsplit_once('-') {
        // a Debian revision (`-1+deb12u1`), not a pre-release (`-rc6`)
        Some((up, rev)) if rev.chars().next().is_some_and(|c| c.is_ascii_digit()) => up,
        _ => v,
    };
    let v = v.split(['+']).next().unwrap_or(v);
    let v = v.split("~ds").next().unwrap_or(v);
    v.replace("-rc", "~rc")
        .replace("-beta", "~beta")
        .replace(".rc", "~rc")
}

fn cmp(a: &str, b: &str) -> Option<Ordering> {
    Scheme::Dpkg.compare(a, b).ok()
}

fn branch(v: &str) -> String {
    v.split('.').take(2).collect::<Vec<_>>().join(".")
}

impl RuntimeCve {
    /// Whether `version` (from `source`: `dpkg` or a binary) lacks the fix: `None` when it
    /// cannot be told.
    pub fn affects(&self, version: &str, from_dpkg: bool) -> Option<bool> {
        if from_dpkg {
            // a Debian fix of the same upstream version decides
            for d in self.debian_fixed {
                if upstream(d) == upstream(version) {
                    return cmp(version, d).map(|o| o == Ordering::Less);
                }
            }
        }
        let v = upstream(version);
        let same_branch = self.fixed.iter().find(|f| branch(f) == branch(&v));
        if let Some(f) = same_branch {
            return cmp(&v, f).map(|o| o == Ordering::Less);
        }
        let lowest = self
            .fixed
            .iter()
            .min_by(|a, b| cmp(a, b).unwrap_or(Ordering::Equal))?;
        cmp(&v, lowest).map(|o| o == Ordering::Less)
    }
}

const CIS_DOCKER: &str = "https://www.cisecurity.org/benchmark/docker";

pub static RUNTIME_CVE: Rule = Rule {
    id: "HOST010",
    name: "runtime-container-escape",
    title: "A container runtime has a known container-escape vulnerability",
    severity: Severity::Critical,
    layer: Layer::Host,
    target: RuleTarget::Host,
    rationale: "runc and containerd run as root and set up every container's isolation: their escape flaws hand the host to any container that triggers them, whatever the pod's own settings.",
    remediation: "Update the runtime package to the fixed version the finding names (or your distribution's build that carries the fix) and restart the containers.",
    bad_example: "/var/lib/dpkg/status: Package: runc, Version: 1.1.11-1",
    good_example: "/var/lib/dpkg/status: Package: runc, Version: 1.1.12-1",
    references: &[Reference::new(
        RefKind::Docs,
        "runc security advisories",
        "https://github.com/opencontainers/runc/security/advisories",
    )],
};

pub static DOCKER_DAEMON: Rule = Rule {
    id: "HOST011",
    name: "docker-daemon-configuration",
    title: "The Docker daemon's effective configuration is weaker than CIS Docker section 2",
    severity: Severity::Medium,
    layer: Layer::Host,
    target: RuleTarget::Host,
    rationale: "The daemon's defaults let containers on the default bridge talk to each other, keep setuid escalation open, run containers as the host's root user and drop every container on a daemon restart. Flags of the running daemon override daemon.json, so both are read as the daemon sees them.",
    remediation: "Set the value the finding names in /etc/docker/daemon.json (and remove the conflicting flag from the unit), then restart the daemon.",
    bad_example: "/etc/docker/daemon.json: {\"icc\": true}",
    good_example: "/etc/docker/daemon.json: {\"icc\": false, \"no-new-privileges\": true, \"live-restore\": true, \"userland-proxy\": false, \"userns-remap\": \"default\"}",
    references: &[Reference::new(
        RefKind::CisDocker,
        "2 Docker daemon configuration (v1.6.0)",
        CIS_DOCKER,
    )],
};

pub static DOCKER_FILES: Rule = Rule {
    id: "HOST012",
    name: "container-runtime-files",
    title: "A container runtime's socket or configuration is writable beyond root",
    severity: Severity::High,
    layer: Layer::Host,
    target: RuleTarget::Host,
    rationale: "Whoever can write the Docker or containerd socket starts a privileged container with the host's root filesystem mounted: it is root on the node. Whoever can write the daemon's configuration or unit changes how every container is isolated.",
    remediation: "Restore the ownership and mode the finding names (`chown root:docker /var/run/docker.sock; chmod 660 ...`, `chown root:root ... ; chmod 644 ...`).",
    bad_example: "/var/run/docker.sock: root:root 0666",
    good_example: "/var/run/docker.sock: root:docker 0660",
    references: &[Reference::new(
        RefKind::CisDocker,
        "3 Docker daemon configuration files (v1.6.0)",
        CIS_DOCKER,
    )],
};

pub static CRI_CONFIG: Rule = Rule {
    id: "HOST013",
    name: "cri-runtime-configuration",
    title: "containerd or CRI-O is configured to switch off a container protection",
    severity: Severity::High,
    layer: Layer::Host,
    target: RuleTarget::Host,
    rationale: "The CRI runtime applies the pod's AppArmor, SELinux and seccomp settings; a runtime told to skip them runs every pod without those walls, whatever the pod asks for.",
    remediation: "Remove the setting the finding names from the runtime's configuration and restart it.",
    bad_example: "/etc/containerd/config.toml: [plugins.\"io.containerd.grpc.v1.cri\"] disable_apparmor = true",
    good_example: "/etc/containerd/config.toml: [plugins.\"io.containerd.grpc.v1.cri\"] (disable_apparmor unset)",
    references: &[Reference::new(
        RefKind::Docs,
        "containerd CRI plugin configuration",
        "https://github.com/containerd/containerd/blob/main/docs/cri/config.md",
    )],
};

pub static NO_SANDBOX: Rule = Rule {
    id: "HOST014",
    name: "no-sandbox-runtime",
    title: "The node offers no sandbox runtime",
    severity: Severity::Low,
    layer: Layer::Host,
    target: RuleTarget::Host,
    rationale: "For the most sensitive workloads the innermost wall is a sandbox between the container and the host kernel (gVisor's runsc, or a VM per pod with Kata). A node without one cannot run them there; `rampart sandbox check` tells whether an image still works inside one.",
    remediation: "Install runsc (Debian: `apt-get install runsc`) or Kata Containers and register it as a RuntimeClass handler in containerd or CRI-O.",
    bad_example: "no runsc or kata-runtime on the node",
    good_example: "/usr/bin/runsc, and a containerd runtime handler `runsc`",
    references: &[Reference::new(
        RefKind::Docs,
        "Kubernetes: Runtime Class",
        "https://kubernetes.io/docs/concepts/containers/runtime-class/",
    )],
};

pub static RULES: &[&Rule] = &[
    &RUNTIME_CVE,
    &DOCKER_DAEMON,
    &DOCKER_FILES,
    &CRI_CONFIG,
    &NO_SANDBOX,
];

const BIN_DIRS: &[&str] = &[
    "/usr/bin",
    "/usr/sbin",
    "/usr/local/bin",
    "/usr/local/sbin",
    "/bin",
    "/sbin",
    "/opt/kata/bin",
];

/// Where a program is installed, if it is.
fn find_binary(root: &Root, name: &str) -> Option<String> {
    BIN_DIRS
        .iter()
        .map(|d| format!("{d}/{name}"))
        .find(|p| root.path(p).is_file())
}

/// `program --version`, first version-looking word (live node only; two seconds at most).
fn ask_version(path: &str, arg: &str) -> Option<String> {
    let mut child = std::process::Command::new(path)
        .arg(arg)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
    let out = child.wait_with_output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace()
        .map(|w| w.trim_end_matches(',').trim_start_matches('v'))
        .map(|w| w.strip_prefix("release-").unwrap_or(w))
        .find(|w| w.chars().next().is_some_and(|c| c.is_ascii_digit()) && w.contains('.'))
        .map(str::to_owned)
}

/// The components looked for: name, packages that ship it, binary, version argument.
const COMPONENTS: &[(&str, &[&str], &str, &str)] = &[
    ("runc", &["runc"], "runc", "--version"),
    ("crun", &["crun"], "crun", "--version"),
    (
        "containerd",
        &["containerd", "containerd.io"],
        "containerd",
        "--version",
    ),
    (
        "docker",
        &["docker.io", "docker-ce", "moby-engine"],
        "dockerd",
        "--version",
    ),
    ("cri-o", &["cri-o"], "crio", "--version"),
    ("podman", &["podman"], "podman", "--version"),
];

/// Finds a component: the package database first (its version is the distribution's,
/// backports included), else the binary (asked for its version on the running node).
fn locate(
    root: &Root,
    dpkg: &BTreeMap<String, String>,
    name: &str,
    packages: &[&str],
    binaries: &[&str],
    arg: &str,
) -> Option<(Component, bool)> {
    for p in packages {
        if let Some(v) = dpkg.get(*p) {
            return Some((
                Component {
                    name: name.to_owned(),
                    version: Some(v.clone()),
                    source: format!("dpkg package {p}"),
                },
                true,
            ));
        }
    }
    for b in binaries {
        if let Some(path) = find_binary(root, b) {
            let version = if root.is_live() {
                ask_version(&path, arg)
            } else {
                None
            };
            return Some((
                Component {
                    name: name.to_owned(),
                    version,
                    source: path,
                },
                false,
            ));
        }
    }
    None
}

fn mode_text(m: &Meta, root: &Root) -> String {
    format!(
        "{}:{} {:04o}",
        root.user_name(m.uid).unwrap_or_else(|| m.uid.to_string()),
        root.group_name(m.gid).unwrap_or_else(|| m.gid.to_string()),
        m.mode
    )
}

/// A file-ownership check: owner root, group root or `group`, no mode bit beyond `max`.
fn file_check(host: &Host, c: &mut Check, path: &str, max: u32, group: Option<&str>, item: &str) {
    let Some(m) = host.root.stat(path) else {
        return;
    };
    let group_ok =
        m.gid == 0 || group.is_some_and(|g| host.root.group_name(m.gid).as_deref() == Some(g));
    let mut wrong = Vec::new();
    if m.uid != 0 {
        wrong.push("its owner is not root".to_owned());
    }
    if !group_ok {
        wrong.push(format!(
            "its group is not root{}",
            group.map(|g| format!(" or {g}")).unwrap_or_default()
        ));
    }
    if m.mode & !max != 0 {
        wrong.push(format!("mode {:04o} is wider than {max:04o}", m.mode));
    }
    if !wrong.is_empty() {
        c.fail_at(
            path,
            format!(
                "{path} is {} ({}): {}",
                mode_text(&m, &host.root),
                item,
                wrong.join(", ")
            ),
        );
    }
}

/// Assesses the runtimes.
pub fn assess(host: &mut Host) {
    let dpkg = dpkg_packages(&host.root);
    // what is installed
    let mut found: Vec<(Component, bool)> = Vec::new();
    for (name, packages, binary, arg) in COMPONENTS {
        if let Some(x) = locate(&host.root, &dpkg, name, packages, &[binary], arg) {
            found.push(x);
        }
    }
    host.summary.runtimes = found.iter().map(|(c, _)| c.clone()).collect();

    // known escapes
    let mut c = host.check(&RUNTIME_CVE, "/var/lib/dpkg/status");
    let mut judged = 0;
    for (comp, from_dpkg) in &found {
        let cves: Vec<&RuntimeCve> = RUNTIME_CVES
            .iter()
            .filter(|r| r.component == comp.name)
            .collect();
        if cves.is_empty() {
            continue;
        }
        let Some(version) = &comp.version else {
            c.partly(format!(
                "{} at {}: its version is unknown (not run on an offline copy), its known escapes not checked",
                comp.name, comp.source
            ));
            continue;
        };
        judged += 1;
        for r in cves {
            match r.affects(version, *from_dpkg) {
                Some(true) => {
                    let caveat = if *from_dpkg && r.debian_fixed.is_empty() {
                        " (by its upstream version: rampart knows no distribution build that carries the fix; check the distribution's advisory)"
                    } else {
                        ""
                    };
                    c.fail_at(
                        &comp.source,
                        format!(
                            "{} {version} ({}) has {}: {}; fixed in {}{caveat} ({})",
                            comp.name,
                            comp.source,
                            r.cve,
                            r.why,
                            r.fixed.join(", "),
                            r.source
                        ),
                    );
                }
                Some(false) => {}
                None => c.partly(format!(
                    "{} {version}: the version does not compare with {}'s fixed versions",
                    comp.name, r.cve
                )),
            }
        }
    }
    if judged > 0
        || found
            .iter()
            .any(|(x, _)| RUNTIME_CVES.iter().any(|r| r.component == x.name))
    {
        host.finish(c);
    } else {
        // nothing to judge: said, not counted as holding
        host.not_checked(&RUNTIME_CVE, "no runc or containerd found on the node");
    }

    docker(host, &found);
    cri(host);
    sandboxes(host, &dpkg);
}

/// The effective value of a Docker daemon setting: a flag of the running daemon (or of its
/// unit) over `daemon.json`.
struct DockerConfig {
    file: Option<Value>,
    flags: Vec<String>,
}

impl DockerConfig {
    /// The flag's values (`--icc=false`, `--icc false` for non-booleans, repeated flags).
    fn flag(&self, name: &str) -> Vec<String> {
        let mut out = Vec::new();
        let long = format!("--{name}");
        let mut it = self.flags.iter().peekable();
        while let Some(a) = it.next() {
            if let Some(v) = a.strip_prefix(&format!("{long}=")) {
                out.push(v.to_owned());
            } else if *a == long {
                match it.peek() {
                    Some(n) if !n.starts_with('-') && !matches!(n.as_str(), "true" | "false") => {
                        out.push((*n).clone());
                        it.next();
                    }
                    Some(n) if matches!(n.as_str(), "true" | "false") => {
                        out.push((*n).clone());
                        it.next();
                    }
                    _ => out.push("true".into()),
                }
            }
        }
        out
    }

    fn bool(&self, flag: &str, key: &str, default: bool) -> (bool, &'static str) {
        if let Some(v) = self.flag(flag).last() {
            return (v != "false", "flag");
        }
        match self.file.as_ref().and_then(|f| f.get(key)) {
            Some(Value::Bool(b)) => (*b, "daemon.json"),
            _ => (default, "default"),
        }
    }

    fn text(&self, flag: &str, key: &str) -> Option<(String, &'static str)> {
        if let Some(v) = self.flag(flag).last() {
            return Some((v.clone(), "flag"));
        }
        match self.file.as_ref().and_then(|f| f.get(key)) {
            Some(Value::String(s)) => Some((s.clone(), "daemon.json")),
            _ => None,
        }
    }

    fn list(&self, flag: &str, key: &str) -> Vec<String> {
        let mut v = self.flag(flag);
        if let Some(Value::Array(a)) = self.file.as_ref().and_then(|f| f.get(key)) {
            v.extend(a.iter().filter_map(|x| x.as_str().map(str::to_owned)));
        }
        v
    }
}

fn docker(host: &mut Host, found: &[(Component, bool)]) {
    let present = found.iter().any(|(c, _)| c.name == "docker")
        || host.root.exists("/etc/docker/daemon.json");
    if !present {
        host.not_checked(&DOCKER_DAEMON, "no Docker daemon on the node");
        return;
    }
    // the daemon's flags: the running process, else its unit
    let running = processes(&host.root, "dockerd");
    let mut unit_errors = Vec::new();
    let started = running
        .first()
        .cloned()
        .or_else(|| unit_command(&host.root, "docker.service", &mut unit_errors));
    for (file, line, message) in unit_errors {
        host.errors.push(rampart_core::InputError {
            file,
            line,
            column: 0,
            message,
        });
    }
    let rootless = running.iter().any(|p| p.uid.is_some_and(|u| u != 0))
        || !processes(&host.root, "rootlesskit").is_empty();
    let path = "/etc/docker/daemon.json";
    let file = match host.root.read(path) {
        Ok(Some(t)) => match serde_json::from_str::<Value>(&t) {
            Ok(v) if v.is_object() => Some(v),
            Ok(_) => {
                host.errors.push(rampart_core::InputError {
                    file: path.into(),
                    line: 1,
                    column: 1,
                    message: "daemon.json must be a JSON object".into(),
                });
                None
            }
            Err(e) => {
                host.errors.push(rampart_core::InputError {
                    file: path.into(),
                    line: e.line() as u32,
                    column: e.column() as u32,
                    message: format!("not valid JSON: {e}"),
                });
                None
            }
        },
        Ok(None) => None,
        Err(e) => {
            host.errors.push(e);
            None
        }
    };
    let cfg = DockerConfig {
        file,
        flags: started.as_ref().map(|s| s.args.clone()).unwrap_or_default(),
    };
    let mut c = host.check(&DOCKER_DAEMON, path);
    if started.is_none() {
        c.partly("the daemon's flags are unknown (no running dockerd, no docker.service unit): daemon.json and the defaults only");
    }
    let says = |how: &str| match how {
        "default" => " (the default)".to_owned(),
        h => format!(" (set by {h})"),
    };
    let (icc, how) = cfg.bool("icc", "icc", true);
    if icc {
        c.fail(format!(
            "icc is true{}: containers on the default bridge reach each other (CIS Docker 2.2)",
            says(how)
        ));
    }
    if let Some((level, how)) = cfg
        .text("log-level", "log-level")
        .filter(|(l, _)| l == "debug")
    {
        c.fail(format!(
            "log-level is {level}{} (CIS Docker 2.3: info)",
            says(how)
        ));
    }
    let (iptables, how) = cfg.bool("iptables", "iptables", true);
    if !iptables {
        c.fail(format!("iptables is false{}: Docker cannot manage the firewall rules its networks need (CIS Docker 2.4)", says(how)));
    }
    let insecure = cfg.list("insecure-registry", "insecure-registries");
    if !insecure.is_empty() {
        c.fail(format!(
            "insecure registries: {} (CIS Docker 2.5)",
            insecure.join(", ")
        ));
    }
    if let Some((driver, how)) = cfg
        .text("storage-driver", "storage-driver")
        .filter(|(d, _)| d == "aufs")
    {
        c.fail(format!(
            "storage-driver is {driver}{} (CIS Docker 2.6)",
            says(how)
        ));
    }
    let hosts = cfg.list("host", "hosts");
    let mut hosts_all = hosts.clone();
    hosts_all.extend(cfg.flag("H"));
    let (tlsverify, _) = cfg.bool("tlsverify", "tlsverify", false);
    for h in hosts_all.iter().filter(|h| h.starts_with("tcp://")) {
        if !tlsverify {
            c.fail(format!("the daemon listens on {h} without tlsverify: anyone who reaches it is root on the node (CIS Docker 2.7)"));
        }
    }
    let userns = cfg.text("userns-remap", "userns-remap");
    if rootless {
        // rootless mode is stronger than remapping: the daemon itself is unprivileged
    } else if userns.is_none() {
        c.fail("userns-remap is not set and the daemon runs as root: root in a container is root on the host (CIS Docker 2.9; or run Docker rootless, 2.1)");
    }
    if cfg
        .list("authorization-plugin", "authorization-plugins")
        .is_empty()
    {
        c.fail("no authorization plugin: every client of the socket may do everything (CIS Docker 2.12)");
    }
    let (nnp, how) = cfg.bool("no-new-privileges", "no-new-privileges", false);
    if !nnp {
        c.fail(format!("no-new-privileges is false{}: setuid programs in containers may gain privileges (CIS Docker 2.14)", says(how)));
    }
    let (live, how) = cfg.bool("live-restore", "live-restore", false);
    if !live {
        c.fail(format!("live-restore is false{}: every container stops when the daemon restarts (CIS Docker 2.15)", says(how)));
    }
    let (proxy, how) = cfg.bool("userland-proxy", "userland-proxy", true);
    if proxy {
        c.fail(format!("userland-proxy is true{}: published ports go through a proxy process instead of the kernel's NAT (CIS Docker 2.16)", says(how)));
    }
    if let Some((p, how)) = cfg
        .text("seccomp-profile", "seccomp-profile")
        .filter(|(p, _)| p == "unconfined")
    {
        c.fail(format!("seccomp-profile is {p}{}: containers run without the default system-call filter (CIS Docker 2.17)", says(how)));
    }
    let (exp, how) = cfg.bool("experimental", "experimental", false);
    if exp {
        c.fail(format!(
            "experimental is true{} (CIS Docker 2.18)",
            says(how)
        ));
    }
    host.finish(c);

    // files (CIS Docker 3)
    let mut c = host.check(&DOCKER_FILES, "/var/run/docker.sock");
    if let Some(unit) = unit_file(&host.root, "docker.service") {
        file_check(
            host,
            &mut c,
            &unit,
            0o644,
            None,
            "CIS Docker 3.1, 3.2: root:root 644",
        );
    }
    if let Some(unit) = unit_file(&host.root, "docker.socket") {
        file_check(
            host,
            &mut c,
            &unit,
            0o644,
            None,
            "CIS Docker 3.3, 3.4: root:root 644",
        );
    }
    file_check(
        host,
        &mut c,
        "/etc/docker",
        0o755,
        None,
        "CIS Docker 3.5, 3.6: root:root 755",
    );
    let socket = if host.root.exists("/var/run/docker.sock") {
        "/var/run/docker.sock"
    } else {
        "/run/docker.sock"
    };
    if let Some(m) = host.root.stat(socket)
        && m.mode & 0o002 != 0
    {
        c.fail_at(socket, format!("{socket} is {}: every user of the node may start a privileged container (CIS Docker 3.15, 3.16)", mode_text(&m, &host.root)));
    } else {
        file_check(
            host,
            &mut c,
            socket,
            0o660,
            Some("docker"),
            "CIS Docker 3.15, 3.16: root:docker 660",
        );
    }
    file_check(
        host,
        &mut c,
        path,
        0o644,
        None,
        "CIS Docker 3.17, 3.18: root:root 644",
    );
    file_check(
        host,
        &mut c,
        "/etc/default/docker",
        0o644,
        None,
        "CIS Docker 3.19, 3.20: root:root 644",
    );
    file_check(
        host,
        &mut c,
        "/etc/containerd/config.toml",
        0o644,
        None,
        "root:root 644",
    );
    file_check(
        host,
        &mut c,
        "/run/containerd/containerd.sock",
        0o660,
        None,
        "root:root 660",
    );
    host.finish(c);
}

/// The CRI runtime handlers configured in containerd and CRI-O: (handler, runtime type or
/// path), and the switched-off protections.
fn cri(host: &mut Host) {
    let mut handlers: Vec<(String, String, String)> = Vec::new();
    let mut c = host.check(&CRI_CONFIG, "/etc/containerd/config.toml");
    let mut any = false;
    let path = "/etc/containerd/config.toml";
    any |= host.root.exists(path);
    if let Some(t) = toml_file(host, path) {
        let plugins = t.get("plugins").and_then(|p| p.as_table());
        for key in ["io.containerd.grpc.v1.cri", "io.containerd.cri.v1.runtime"] {
            let Some(cri) = plugins.and_then(|p| p.get(key)).and_then(|v| v.as_table()) else {
                continue;
            };
            for off in ["disable_apparmor", "disable_proc_mount"] {
                if cri.get(off).and_then(toml::Value::as_bool) == Some(true) {
                    c.fail_at(path, format!("[plugins.\"{key}\"] {off} = true: the runtime ignores what pods ask for"));
                }
            }
            let runtimes = cri
                .get("containerd")
                .and_then(|v| v.get("runtimes"))
                .and_then(|v| v.as_table());
            for (name, r) in runtimes.into_iter().flatten() {
                let kind = r
                    .get("runtime_type")
                    .and_then(toml::Value::as_str)
                    .unwrap_or("");
                handlers.push((
                    name.clone(),
                    kind.to_owned(),
                    format!("containerd runtime handler {name}"),
                ));
            }
        }
    }
    let mut crio_files = vec!["/etc/crio/crio.conf".to_owned()];
    crio_files.extend(
        host.root
            .list("/etc/crio/crio.conf.d")
            .into_iter()
            .filter(|f| f.ends_with(".conf"))
            .map(|f| format!("/etc/crio/crio.conf.d/{f}")),
    );
    for f in crio_files {
        any |= host.root.exists(&f);
        let Some(t) = toml_file(host, &f) else {
            continue;
        };
        let rt = t.get("crio").and_then(|v| v.get("runtime"));
        if let Some(p) = rt
            .and_then(|r| r.get("seccomp_profile"))
            .and_then(toml::Value::as_str)
            && p == "unconfined"
        {
            c.fail_at(&f, "[crio.runtime] seccomp_profile = \"unconfined\": pods asking for RuntimeDefault run unfiltered");
        }
        for (name, r) in rt
            .and_then(|r| r.get("runtimes"))
            .and_then(|v| v.as_table())
            .into_iter()
            .flatten()
        {
            let kind = r
                .get("runtime_path")
                .and_then(toml::Value::as_str)
                .unwrap_or("");
            handlers.push((
                name.clone(),
                kind.to_owned(),
                format!("CRI-O runtime {name}"),
            ));
        }
    }
    if any {
        host.finish(c);
    } else {
        host.not_checked(
            &CRI_CONFIG,
            "no containerd or CRI-O configuration on the node",
        );
    }
    for (name, kind, source) in handlers {
        let k = format!("{name} {kind}").to_ascii_lowercase();
        if k.contains("runsc") || k.contains("gvisor") || k.contains("kata") {
            host.summary.sandboxes.push(Component {
                name: if k.contains("kata") { "kata" } else { "runsc" }.to_owned(),
                version: None,
                source,
            });
        }
    }
}

/// A TOML file of the node: `None` when it is absent, unreadable or invalid (those two are
/// input errors, with the position of the first problem).
fn toml_file(host: &mut Host, path: &str) -> Option<toml::Table> {
    let text = match host.root.read(path) {
        Ok(Some(t)) => t,
        Ok(None) => return None,
        Err(e) => {
            host.errors.push(e);
            return None;
        }
    };
    match text.parse::<toml::Table>() {
        Ok(t) => Some(t),
        Err(e) => {
            let (line, column) = e.span().map(|s| line_col(&text, s.start)).unwrap_or((0, 0));
            host.errors.push(rampart_core::InputError {
                file: path.to_owned(),
                line,
                column,
                message: format!("not valid TOML: {}", e.message()),
            });
            None
        }
    }
}

fn line_col(text: &str, offset: usize) -> (u32, u32) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() as u32 + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) as u32 + 1;
    (line, column)
}

fn sandboxes(host: &mut Host, dpkg: &BTreeMap<String, String>) {
    // installed: rampart-sandbox's search (it asks the binaries only on the live node); the
    // package database gives an offline copy's versions
    let mut installed: Vec<Component> = rampart_sandbox::available(host.root.dir())
        .into_iter()
        .map(|a| {
            let package = if a.name.contains("kata") {
                "kata-containers"
            } else {
                "runsc"
            };
            Component {
                version: a.version.or_else(|| dpkg.get(package).cloned()),
                source: a.path.display().to_string(),
                name: a.name,
            }
        })
        .collect();
    installed.append(&mut host.summary.sandboxes);
    host.summary.sandboxes = installed;
    let mut c = host.check(&NO_SANDBOX, "/usr/bin");
    if host.summary.sandboxes.is_empty() {
        c.fail("no sandbox runtime: neither gVisor (runsc) nor Kata Containers is installed or configured as a runtime handler");
    }
    host.finish(c);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_as_the_distribution_ships_them() {
        assert_eq!(upstream("1.1.5+ds1-1+deb12u1"), "1.1.5");
        assert_eq!(upstream("1.0.0-rc6"), "1.0.0~rc6");
        assert_eq!(upstream("1.6.20~ds1-1+b1"), "1.6.20");
        assert_eq!(upstream("1:20.10.24+dfsg1-1+b3"), "20.10.24");
        let leaky = &RUNTIME_CVES[1];
        // Debian's backport decides for Debian's build; upstream numbers for the rest
        assert_eq!(leaky.affects("1.1.5+ds1-1+deb12u1", true), Some(false));
        assert_eq!(leaky.affects("1.1.5+ds1-1", true), Some(true));
        assert_eq!(leaky.affects("1.1.11", false), Some(true));
        assert_eq!(leaky.affects("1.1.12", false), Some(false));
        assert_eq!(leaky.affects("1.2.0", false), Some(false));
        let rc = &RUNTIME_CVES[0];
        assert_eq!(rc.affects("1.0.0-rc6", false), Some(true));
        assert_eq!(rc.affects("1.0.0-rc8", false), Some(false));
        let cri = &RUNTIME_CVES[4];
        assert_eq!(cri.affects("1.5.9", false), Some(true));
        assert_eq!(cri.affects("1.5.10", false), Some(false));
        assert_eq!(cri.affects("1.3.0", false), Some(true));
        assert_eq!(cri.affects("1.7.0", false), Some(false));
        let new = &RUNTIME_CVES[2];
        assert_eq!(new.affects("1.3.2", false), Some(true));
        assert_eq!(new.affects("1.3.3", false), Some(false));
        assert_eq!(new.affects("1.4.0-rc.2", false), Some(true));
    }
}
