//! The workload of the monitor's end-to-end tests: Falco's event-generator syscall actions
//! (`rampart-eventgen`, this crate's dev-only binary) run in real `runc` containers.
//!
//! - [`actions`]: the action table, read from `../shared/corpus/falco-event-generator/
//!   actions.json` at test time (the expected rule, its maturity, whether the action needs root
//!   or a privileged container, whether it can run in a container at all, and why not);
//! - [`Rootfs`]: a container root filesystem: Debian's busybox-static and its applets,
//!   `rampart-eventgen` in `/usr/local/bin` with the shared libraries it needs, its stand-ins
//!   for the programs busybox lacks, `/etc/passwd`, `/etc/shadow`, `/etc/group`, `/etc/hosts`;
//! - [`Sandbox`]: a detached container whose init is `rampart-eventgen idle` (so the tool is the
//!   container's PID 1, upstream's test for "in a container"), with Docker's default
//!   capabilities or privileged, in its own network namespace with a default route into a veth
//!   pair nothing answers on (outbound connects return `EINPROGRESS` at once, UDP connects
//!   succeed, nothing leaves the machine); [`Sandbox::run`] performs one action with `runc exec`
//!   and returns its exit status and timing; [`run_fresh`] does it in a new container;
//!   [`Sandboxes`] holds one sandbox per [`Profile`] and runs a whole set ([`Sandboxes::run_all`]);
//! - [`extras`]: our actions for two stable rules upstream has no action for.
//!
//! docs/monitor-eventgen.md has the action table and the differences from the Go tool.
//!
//! ```no_run
//! use rampart_testkit::eventgen::{self, Profile, Rootfs, Sandbox};
//! let rootfs = Rootfs::build(&eventgen::binary());
//! let sandbox = Sandbox::start(&rootfs, Profile::Default);
//! let action = eventgen::action("syscall.ReadSensitiveFileUntrusted");
//! let run = sandbox.run(&action);
//! assert!(run.succeeded(), "{run:?}");
//! println!("{} in container {} took {:?}", action.expected_rule, sandbox.id, run.elapsed);
//! ```
//!
//! The container code is this module's own (small: `runc spec`, then capabilities, network
//! namespace and init adjusted); the `runc` module of the identity work may replace it.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};

use crate::{paths, tools};

/// Where the tool is installed in the container.
pub const IN_CONTAINER: &str = "/usr/local/bin/rampart-eventgen";

/// The addresses `/etc/hosts` gives the names the actions resolve (TEST-NET-3, RFC 5737: never
/// routed; in the sandbox's network namespace their packets die in a veth nobody answers).
pub const HOSTS: &[(&str, &str)] = &[
    ("example.com", "203.0.113.10"),
    ("example.net", "203.0.113.11"),
];

/// The sandbox's own address (a non-loopback IPv4 address, which one action listens on).
pub const SANDBOX_ADDR: &str = "10.200.0.2";

// ---------------------------------------------------------------------------------------------
// the action table

/// Which runc settings an action needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Profile {
    /// Docker's default capability set (`CAP_NET_RAW`, `CAP_SETUID`... no `CAP_SYS_ADMIN`),
    /// root, a writable root filesystem, no terminal: the environment upstream's documentation
    /// runs event-generator in (`docker run falcosecurity/event-generator`)
    Default,
    /// `docker run --privileged`: every capability of the caller's bounding set, no masked or
    /// read-only `/proc` paths
    Privileged,
}

/// Whether an action can run in a container here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applicability {
    /// it runs in a [`Sandbox`] of its [`Profile`]
    Yes,
    /// it cannot, for the reason given
    No(String),
}

/// One action of `actions.json`, with what the tests need to run it.
#[derive(Debug, Clone)]
pub struct Action {
    /// `syscall.<Name>`, the argument of `rampart-eventgen run`
    pub name: String,
    /// the Falco rule it must trigger (exact name in falcosecurity/rules)
    pub expected_rule: String,
    /// the rule's maturity (`stable`, `incubating`, `sandbox`)
    pub maturity: String,
    /// the rule's priority (`WARNING`...)
    pub priority: String,
    /// whether the rule is `enabled: true` in its rules file
    pub rule_enabled: bool,
    /// whether upstream runs it without `--all`
    pub enabled_by_default: bool,
    /// whether it needs uid 0 (root `required`, or `required_or_CAP_DAC_OVERRIDE`); the sandbox
    /// always runs actions as root
    pub needs_root: bool,
    /// whether it needs `CAP_SYS_ADMIN`, i.e. a privileged container
    pub needs_privileged: bool,
    /// the runc settings it runs under (no action ever gets a terminal)
    pub profile: Profile,
    /// whether it can run in a container
    pub applicable: Applicability,
    /// upstream's precondition on where it runs: `required`, `host_only` or `either`
    pub container: String,
    /// what it does at the syscall level
    pub description: String,
}

impl Action {
    /// Whether it can run in a container here.
    pub fn is_applicable(&self) -> bool {
        self.applicable == Applicability::Yes
    }
}

/// `../shared/corpus/falco-event-generator/actions.json`.
pub fn actions_json() -> PathBuf {
    paths::corpus("falco-event-generator/actions.json")
}

fn str_field<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("actions.json: no string {key} in {v}"))
}

/// Every action of `actions.json`, in its order, with the runc settings it needs.
pub fn actions() -> Vec<Action> {
    let path = actions_json();
    let doc: Value = serde_json::from_slice(
        &std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let list = doc["actions"]
        .as_array()
        .expect("actions.json: no actions[]");
    list.iter().map(parse_action).collect()
}

fn parse_action(a: &Value) -> Action {
    let pre = &a["preconditions"];
    let rule = &a["rule_in_falcosecurity_rules"];
    let caps: Vec<&str> = pre["capabilities"]
        .as_array()
        .map(|c| c.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    // "CAP_SYS_ADMIN (privileged container) or the action is skipped", "in a container:
    // CAP_SYS_ADMIN (privileged)...", but not "must NOT have CAP_SYS_ADMIN"
    let needs_privileged = caps
        .iter()
        .any(|c| c.contains("CAP_SYS_ADMIN") && !c.contains("NOT"));
    let root = str_field(pre, "root");
    let container = str_field(pre, "container").to_string();
    let applicable = if container == "host_only" {
        Applicability::No(
            "host_only: upstream skips it inside a container (it is the host-side twin of a \
             container rule)"
                .into(),
        )
    } else if pre["tty"].as_bool() == Some(true) {
        Applicability::No("needs a terminal, which no sandbox gets".into())
    } else {
        Applicability::Yes
    };
    Action {
        name: str_field(a, "action").into(),
        expected_rule: str_field(a, "expected_rule").into(),
        maturity: str_field(rule, "maturity").into(),
        priority: str_field(rule, "priority").into(),
        rule_enabled: rule["enabled_in_rules_file"].as_bool().unwrap_or(true),
        enabled_by_default: a["enabled_by_default"].as_bool().unwrap_or(false),
        needs_root: matches!(root, "required" | "required_or_CAP_DAC_OVERRIDE"),
        needs_privileged,
        profile: if needs_privileged {
            Profile::Privileged
        } else {
            Profile::Default
        },
        applicable,
        container,
        description: str_field(a, "description").into(),
    }
}

/// The action named `name` (`syscall.<Name>` from actions.json, or one of [`extras`]).
pub fn action(name: &str) -> Action {
    actions()
        .into_iter()
        .chain(extras())
        .find(|a| a.name == name)
        .unwrap_or_else(|| panic!("no action {name} in actions.json or the extras"))
}

/// Ours, not upstream's: actions for two of the four stable rules upstream has no action for
/// (the other two need a terminal or a Kubernetes API server). Rule names, maturity and
/// priority as in `../shared/corpus/falco-rules/rules/falco_rules.yaml`.
pub fn extras() -> Vec<Action> {
    let extra = |name: &str, rule: &str, priority: &str, profile: Profile, what: &str| Action {
        name: name.into(),
        expected_rule: rule.into(),
        maturity: "stable".into(),
        priority: priority.into(),
        rule_enabled: true,
        enabled_by_default: false,
        needs_root: false,
        needs_privileged: profile == Profile::Privileged,
        profile,
        applicable: Applicability::Yes,
        container: "required".into(),
        description: what.into(),
    };
    vec![
        extra(
            "extra.RedirectStdoutStdinToNetworkConnectionInContainer",
            "Redirect STDOUT/STDIN to Network Connection in Container",
            "NOTICE",
            Profile::Default,
            "Inside a container, accepts a loopback TCP connection and dup2s the accepted socket \
             onto standard output (once), then restores standard output from a saved copy.",
        ),
        extra(
            "extra.LinuxKernelModuleInjection",
            "Linux Kernel Module Injection Detected",
            "WARNING",
            Profile::Privileged,
            "Inside a container with CAP_SYS_MODULE, calls init_module with an image that is no \
             ELF module; the kernel refuses it and loads nothing. The attempt is the signal.",
        ),
    ]
}

// ---------------------------------------------------------------------------------------------
// the binary and the root filesystem

/// The `rampart-eventgen` binary: `$RAMPART_EVENTGEN` when set; else `target/debug/
/// rampart-eventgen` when it is newer than its sources (any `cargo build` or `cargo test` of this
/// crate leaves it there); else built with `cargo build -p rampart-testkit --bin
/// rampart-eventgen` (once per test binary). This crate's own tests use
/// `env!("CARGO_BIN_EXE_rampart-eventgen")` instead.
pub fn binary() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(p) = std::env::var_os("RAMPART_EVENTGEN") {
            return PathBuf::from(p);
        }
        let built = target_tmp()
            .with_file_name("debug")
            .join("rampart-eventgen");
        let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut sources = paths::files(&crate_dir.join("src/bin/rampart-eventgen"), &["rs"]);
        sources.push(crate_dir.join("Cargo.toml"));
        let mtime = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        if let Some(bin_time) = mtime(&built) {
            if sources
                .iter()
                .all(|s| mtime(s).is_some_and(|t| t <= bin_time))
            {
                return built;
            }
        }
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let out = Command::new(cargo)
            .args([
                "build",
                "-p",
                "rampart-testkit",
                "--bin",
                "rampart-eventgen",
            ])
            .args(["--message-format", "json-render-diagnostics"])
            .current_dir(paths::root())
            .stderr(Stdio::inherit())
            .output()
            .expect("cannot run cargo build");
        assert!(
            out.status.success(),
            "cargo build --bin rampart-eventgen failed"
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|m| m["target"]["name"] == "rampart-eventgen")
            .find_map(|m| m["executable"].as_str().map(PathBuf::from))
            .expect("cargo build did not report the rampart-eventgen executable")
    })
    .clone()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn target_tmp() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| paths::root().join("target"), PathBuf::from);
    target.join("tmp")
}

/// Debian's statically linked busybox, shared with the other container tests
/// ([`crate::runc::busybox`]).
pub fn busybox_static() -> PathBuf {
    crate::runc::busybox().to_path_buf()
}

/// The shared libraries `bin` loads, as `ldd` reports them (absolute paths, the loader too).
pub fn shared_libraries(bin: &Path) -> Vec<PathBuf> {
    let out = tools::run("ldd", &[bin.to_str().unwrap()]);
    out.lines()
        .filter_map(|l| {
            let l = l.trim();
            let path = match l.split_once("=>") {
                Some((_, rest)) => rest.split_whitespace().next()?,
                None => l.split_whitespace().next()?,
            };
            path.starts_with('/').then(|| PathBuf::from(path))
        })
        .collect()
}

/// A container root filesystem for the actions (a directory, removed on drop).
#[derive(Debug)]
pub struct Rootfs {
    /// the directory (what `config.json`'s `root.path` names)
    pub dir: PathBuf,
    /// the program names `rampart-eventgen` stands in for (hard links to it in `/usr/bin`)
    pub standins: Vec<String>,
}

impl Drop for Rootfs {
    /// Removes the directory, retrying while a dying container's processes still write in it;
    /// says so on standard error when it cannot (never panics in a drop).
    fn drop(&mut self) {
        let mut last = None;
        for _ in 0..10 {
            match std::fs::remove_dir_all(&self.dir) {
                Ok(()) => return,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
                Err(e) => last = Some(e),
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        if let Some(e) = last {
            eprintln!("eventgen: cannot remove {}: {e}", self.dir.display());
        }
    }
}

const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n\
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n\
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
const GROUP: &str = "root:x:0:\ndaemon:x:1:\nshadow:x:42:\nnogroup:x:65534:\n";
const SHADOW: &str = "root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n\
nobody:*:19000:0:99999:7:::\n";

impl Rootfs {
    /// Builds the root filesystem around `bin` (a `rampart-eventgen` executable).
    pub fn build(bin: &Path) -> Self {
        tools::ensure_tool("chroot", "coreutils");
        // removed by Rootfs::drop (a TempDir would ignore a failed removal silently)
        let dir = tempfile::Builder::new()
            .prefix("rampart-eventgen-rootfs.")
            .tempdir()
            .unwrap()
            .keep();
        std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let mkdir = |rel: &str, mode: u32| {
            let p = dir.join(rel);
            std::fs::create_dir_all(&p).unwrap();
            std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(mode))
                .unwrap();
        };
        for d in [
            "bin",
            "sbin",
            "usr/bin",
            "usr/sbin",
            "usr/local/bin",
            "proc",
            "dev",
            "sys",
            "etc",
            "home",
            "var/lib",
            "lib",
        ] {
            mkdir(d, 0o755);
        }
        mkdir("root", 0o700);
        mkdir("tmp", 0o1777);
        // busybox and its applets, as symlinks in /bin
        std::fs::copy(busybox_static(), dir.join("bin/busybox")).unwrap();
        let out = Command::new("chroot")
            .arg(&dir)
            .args(["/bin/busybox", "--install", "-s", "/bin"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "busybox --install: {}",
            text(&out.stderr)
        );
        // the tool and what it links
        let tool = dir.join(IN_CONTAINER.trim_start_matches('/'));
        std::fs::copy(bin, &tool).unwrap();
        std::fs::set_permissions(&tool, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        for lib in shared_libraries(bin) {
            let dest = dir.join(lib.strip_prefix("/").unwrap());
            std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
            std::fs::copy(&lib, &dest).unwrap_or_else(|e| panic!("{}: {e}", lib.display()));
        }
        // the stand-ins: hard links, so the kernel's exe path is /usr/bin/<name> itself
        let standins: Vec<String> = tools::run(bin.to_str().unwrap(), &["standins"])
            .lines()
            .map(str::to_string)
            .collect();
        for name in &standins {
            let _ = std::fs::remove_file(dir.join("bin").join(name)); // busybox's applet, if any
            std::fs::hard_link(&tool, dir.join("usr/bin").join(name)).unwrap();
        }
        // users, groups, names
        let write = |rel: &str, body: &str, mode: u32| {
            let p = dir.join(rel);
            std::fs::write(&p, body).unwrap();
            std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(mode))
                .unwrap();
        };
        write("etc/passwd", PASSWD, 0o644);
        write("etc/group", GROUP, 0o644);
        write("etc/shadow", SHADOW, 0o640);
        std::os::unix::fs::chown(dir.join("etc/shadow"), Some(0), Some(42)).unwrap();
        let mut hosts = String::from("127.0.0.1\tlocalhost\n");
        for (name, addr) in HOSTS {
            hosts.push_str(&format!("{addr}\t{name}\n"));
        }
        write("etc/hosts", &hosts, 0o644);
        write(
            "etc/nsswitch.conf",
            "passwd: files\ngroup: files\nshadow: files\nhosts: files\n",
            0o644,
        );
        write("etc/hostname", "eventgen\n", 0o644);
        Self { dir, standins }
    }
}

// ---------------------------------------------------------------------------------------------
// the sandbox

/// Docker's default capabilities (moby `oci/caps/defaults.go`), as the seccomp layer knows them.
pub use rampart_seccomp::lint::DOCKER_DEFAULT_CAPS;

/// Every capability this kernel knows (up to `/proc/sys/kernel/cap_last_cap`) that this
/// process's bounding set holds (Docker's `--privileged` grants the daemon's).
fn all_caps() -> Vec<String> {
    // Linux capability names by bit, as Falco prints them.
    const NAMES: &[&str] = &rampart_falco::event::CAP_NAMES;
    let last: usize = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(40);
    // what this process may hand out (a sandboxed host may lack some, as CAP_SYS_RESOURCE here)
    let bounding = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let hex = s
                .lines()
                .find_map(|l| l.strip_prefix("CapBnd:"))?
                .trim()
                .to_string();
            u64::from_str_radix(&hex, 16).ok()
        })
        .unwrap_or(u64::MAX);
    NAMES
        .iter()
        .take(last + 1)
        .enumerate()
        .filter(|(bit, _)| bounding & (1u64 << bit) != 0)
        .map(|(_, s)| s.to_string())
        .collect()
}

fn unique(prefix: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "{prefix}-{}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst),
        nanos % 100_000
    )
}

/// A network namespace (`ip netns add`) with `lo` up and a veth pair whose two ends both live in
/// it: `eg0` holds [`SANDBOX_ADDR`]/24 and the default route, `eg1` is up without an address, so
/// whatever is sent out is dropped and nothing answers. Deleted on drop.
#[derive(Debug)]
pub struct NetNs {
    /// the name under /run/netns
    pub name: String,
}

impl NetNs {
    /// Creates it.
    pub fn new() -> Self {
        tools::ensure_tool("ip", "iproute2");
        let name = unique("rampart-eg");
        tools::run_output("ip", &["netns", "add", &name]);
        let ns = Self { name };
        for args in [
            &["link", "set", "lo", "up"][..],
            &["link", "add", "eg0", "type", "veth", "peer", "name", "eg1"],
            &["addr", "add", &format!("{SANDBOX_ADDR}/24"), "dev", "eg0"],
            &["link", "set", "eg0", "up"],
            &["link", "set", "eg1", "up"],
            &["route", "add", "default", "dev", "eg0"],
        ] {
            let mut full = vec!["-n", ns.name.as_str()];
            full.extend_from_slice(args);
            tools::run_output("ip", &full);
        }
        ns
    }

    /// Its path, for `config.json`'s `linux.namespaces`.
    pub fn path(&self) -> PathBuf {
        Path::new("/run/netns").join(&self.name)
    }
}

impl Default for NetNs {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

/// How to start a [`Sandbox`] (see [`Sandbox::builder`]).
#[derive(Debug, Clone)]
pub struct SandboxBuilder {
    rootfs: PathBuf,
    profile: Profile,
    annotations: Vec<(String, String)>,
    state_root: Option<PathBuf>,
    overlay: bool,
}

impl SandboxBuilder {
    /// Makes the root an overlayfs (lower = the [`Rootfs`], upper and work in the bundle), as
    /// container engines do: what the actions write lands in the upper layer (what Falco's
    /// `proc.is_exe_upper_layer` asks about), the shared root filesystem stays untouched.
    pub fn overlay(mut self, yes: bool) -> Self {
        self.overlay = yes;
        self
    }
    /// The runc settings (default: [`Profile::Default`]).
    pub fn profile(mut self, p: Profile) -> Self {
        self.profile = p;
        self
    }
    /// An annotation in `config.json` (an image reference, CRI annotations...).
    pub fn annotation(mut self, key: &str, value: &str) -> Self {
        self.annotations.push((key.into(), value.into()));
        self
    }
    /// runc's `--root` (default: runc's own, `/run/runc`).
    pub fn state_root(mut self, dir: &Path) -> Self {
        self.state_root = Some(dir.to_path_buf());
        self
    }
    /// Starts the container.
    pub fn start(self) -> Sandbox {
        Sandbox::start_with(self)
    }
}

/// A detached runc container over a [`Rootfs`], whose init is `rampart-eventgen idle`. Killed
/// and deleted on drop, with its bundle and network namespace.
#[derive(Debug)]
pub struct Sandbox {
    /// the container id
    pub id: String,
    /// the host pid of its init
    pub pid: u32,
    /// its runc settings
    pub profile: Profile,
    /// the bundle directory (holds `config.json`)
    pub bundle: PathBuf,
    /// runc's `--root`, when not runc's default
    pub state_root: Option<PathBuf>,
    /// its network namespace
    pub netns: NetNs,
    /// the overlay's upper directory, when the root is an overlay
    pub upper: Option<PathBuf>,
    /// the root filesystem the container sees (the overlay mount point when overlaid)
    pub root: PathBuf,
    _bundle: tempfile::TempDir,
}

/// What one `rampart-eventgen run` in a container did.
#[derive(Debug, Clone)]
pub struct ActionRun {
    /// the action
    pub action: String,
    /// the container it ran in
    pub container_id: String,
    /// the exit status of `runc exec` (the action's own: 0 done, 3 skipped, 1 failed)
    pub status: ExitStatus,
    /// its standard output
    pub stdout: String,
    /// its standard error (the tool's `done`/`skipped: why`/`failed: why` line is last)
    pub stderr: String,
    /// when `runc exec` started (wall clock, to bound an alert's time)
    pub started: SystemTime,
    /// how long `runc exec` took, runc's own set-up included
    pub elapsed: Duration,
    /// the host pid of the action's process (`runc exec --pid-file`), the `rampart-eventgen run`
    /// the monitor sees exec in the container
    pub pid: Option<u32>,
}

impl ActionRun {
    /// Exit 0: the action did what it does.
    pub fn succeeded(&self) -> bool {
        self.status.code() == Some(0)
    }
    /// Exit 3: a precondition did not hold (the reason is in `stderr`).
    pub fn skipped(&self) -> bool {
        self.status.code() == Some(3)
    }
}

impl Sandbox {
    /// A builder over `rootfs`.
    pub fn builder(rootfs: &Rootfs) -> SandboxBuilder {
        SandboxBuilder {
            rootfs: rootfs.dir.clone(),
            profile: Profile::Default,
            annotations: Vec::new(),
            state_root: None,
            overlay: false,
        }
    }

    /// Starts a container over `rootfs` with `profile`.
    pub fn start(rootfs: &Rootfs, profile: Profile) -> Self {
        Self::builder(rootfs).profile(profile).start()
    }

    fn start_with(b: SandboxBuilder) -> Self {
        tools::ensure_tool("runc", "runc");
        let tmp = tempfile::Builder::new()
            .prefix("rampart-eventgen-bundle.")
            .tempdir()
            .unwrap();
        let bundle = tmp.path().to_path_buf();
        let out = Command::new("runc")
            .arg("spec")
            .current_dir(&bundle)
            .output()
            .unwrap();
        assert!(out.status.success(), "runc spec: {}", text(&out.stderr));
        let netns = NetNs::new();
        let (root, upper) = if b.overlay {
            let (merged, upper) = crate::runc::mount_overlay(&b.rootfs, &bundle);
            (merged, Some(upper))
        } else {
            (b.rootfs.clone(), None)
        };
        let path = bundle.join("config.json");
        let mut config: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        configure(&mut config, &b, &root, &netns.path());
        std::fs::write(&path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
        // from here on, Drop cleans up (container, overlay, namespace) whatever fails
        let mut sandbox = Self {
            id: unique("rampart-eventgen"),
            pid: 0,
            profile: b.profile,
            bundle: bundle.clone(),
            state_root: b.state_root,
            netns,
            upper,
            root,
            _bundle: tmp,
        };
        // the detached init inherits runc's standard streams: a pipe would never reach EOF
        let log = bundle.join("runc-run.log");
        let status = sandbox
            .runc()
            .args(["run", "-d", "--bundle"])
            .arg(&bundle)
            .arg(&sandbox.id)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .status()
            .unwrap();
        assert!(
            status.success(),
            "runc run -d {}: {}",
            sandbox.id,
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        sandbox.pid = sandbox.state()["pid"].as_u64().unwrap() as u32;
        sandbox
    }

    fn runc(&self) -> Command {
        let mut cmd = Command::new("runc");
        if let Some(root) = &self.state_root {
            cmd.arg("--root").arg(root);
        }
        cmd
    }

    /// `runc state`.
    pub fn state(&self) -> Value {
        let out = self.runc().args(["state", &self.id]).output().unwrap();
        assert!(
            out.status.success(),
            "runc state {}: {}",
            self.id,
            text(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// The container's cgroup v2 path (the `0::` line of its init's `/proc/<pid>/cgroup`), or
    /// its first line on a v1-only host: what the kernel's cgroup id of its events belongs to.
    pub fn cgroup(&self) -> String {
        let text = std::fs::read_to_string(format!("/proc/{}/cgroup", self.pid)).unwrap();
        let line = text
            .lines()
            .find(|l| l.starts_with("0::"))
            .or_else(|| text.lines().next())
            .unwrap_or_default();
        line.splitn(3, ':').nth(2).unwrap_or_default().to_string()
    }

    /// `runc exec` of `args` (no terminal, standard input from /dev/null), whatever its status.
    pub fn exec(&self, args: &[&str]) -> Output {
        self.runc()
            .args(["exec", &self.id])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// The command `runc exec <id> rampart-eventgen run <name>`, to wrap (for example in
    /// `strace -f`) or spawn.
    pub fn run_command(&self, name: &str) -> Command {
        let mut cmd = self.runc();
        cmd.args(["exec", &self.id, IN_CONTAINER, "run", name])
            .stdin(Stdio::null());
        cmd
    }

    /// Performs `action` in this container; its exit status and timing.
    pub fn run(&self, action: &Action) -> ActionRun {
        self.run_name(&action.name)
    }

    /// Performs the action named `name` (`syscall.<Name>`).
    pub fn run_name(&self, name: &str) -> ActionRun {
        let pid_file = self.bundle.join(format!("{}.pid", unique("exec")));
        let mut cmd = self.runc();
        cmd.args(["exec", "--pid-file"])
            .arg(&pid_file)
            .args([&self.id, IN_CONTAINER, "run", name])
            .stdin(Stdio::null());
        let started = SystemTime::now();
        let t = Instant::now();
        let out = cmd.output().unwrap();
        let elapsed = t.elapsed();
        let pid = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|p| p.trim().parse().ok());
        let _ = std::fs::remove_file(&pid_file);
        ActionRun {
            action: name.into(),
            container_id: self.id.clone(),
            status: out.status,
            stdout: text(&out.stdout),
            stderr: text(&out.stderr),
            started,
            elapsed,
            pid,
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.runc().args(["kill", &self.id, "KILL"]).output();
        let _ = self.runc().args(["delete", "-f", &self.id]).output();
        if self.upper.is_some() {
            let _ = Command::new("umount").arg(&self.root).output();
        }
    }
}

/// Adjusts `runc spec`'s `config.json` for `b`.
fn configure(config: &mut Value, b: &SandboxBuilder, root: &Path, netns: &Path) {
    config["process"]["args"] = json!([IN_CONTAINER, "idle"]);
    config["process"]["terminal"] = json!(false);
    config["process"]["noNewPrivileges"] = json!(false);
    let caps: Vec<String> = match b.profile {
        Profile::Default => DOCKER_DEFAULT_CAPS.iter().map(|s| s.to_string()).collect(),
        Profile::Privileged => all_caps(),
    };
    config["process"]["capabilities"] =
        json!({ "bounding": caps, "effective": caps, "permitted": caps });
    config["root"] = json!({ "path": root, "readonly": false });
    config["hostname"] = json!("eventgen");
    if b.profile == Profile::Privileged {
        config["linux"]["maskedPaths"] = json!([]);
        config["linux"]["readonlyPaths"] = json!([]);
    }
    if let Some(ns) = config["linux"]["namespaces"].as_array_mut() {
        ns.retain(|n| n["type"] != "network");
        ns.push(json!({ "type": "network", "path": netns }));
    }
    if !b.annotations.is_empty() {
        let map: serde_json::Map<String, Value> = b
            .annotations
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        config["annotations"] = Value::Object(map);
    }
}

/// The two sandboxes every action fits in: one of each [`Profile`].
#[derive(Debug)]
pub struct Sandboxes {
    /// Docker's default capabilities
    pub default: Sandbox,
    /// privileged
    pub privileged: Sandbox,
}

impl Sandboxes {
    /// Starts both over `rootfs`, overlaid or not.
    pub fn start(rootfs: &Rootfs, overlay: bool) -> Self {
        let start = |p| Sandbox::builder(rootfs).profile(p).overlay(overlay).start();
        Self {
            default: start(Profile::Default),
            privileged: start(Profile::Privileged),
        }
    }

    /// The sandbox of `profile`.
    pub fn of(&self, profile: Profile) -> &Sandbox {
        match profile {
            Profile::Default => &self.default,
            Profile::Privileged => &self.privileged,
        }
    }

    /// Runs `actions`, each in the sandbox of its profile, one after the other except
    /// ReadSensitiveFileTrustedAfterStartup (6 s by design), which runs beside them; the runs in
    /// the order of `actions`.
    pub fn run_all(&self, actions: &[Action]) -> Vec<ActionRun> {
        const SLOW: &str = "syscall.ReadSensitiveFileTrustedAfterStartup";
        std::thread::scope(|s| {
            let slow: Vec<_> = actions
                .iter()
                .filter(|a| a.name == SLOW)
                .map(|a| s.spawn(move || self.of(a.profile).run(a)))
                .collect();
            let mut runs: Vec<ActionRun> = actions
                .iter()
                .filter(|a| a.name != SLOW)
                .map(|a| self.of(a.profile).run(a))
                .collect();
            runs.extend(
                slow.into_iter()
                    .map(|h| h.join().expect("the slow action's thread")),
            );
            let order = |r: &ActionRun| actions.iter().position(|a| a.name == r.action);
            runs.sort_by_key(order);
            runs
        })
    }
}

/// Performs `action` in a new container of its profile (started, used once, deleted).
pub fn run_fresh(rootfs: &Rootfs, action: &Action) -> ActionRun {
    Sandbox::start(rootfs, action.profile).run(action)
}
