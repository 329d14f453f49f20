//! Real `runc` containers for the tests: a busybox root filesystem built from Debian's
//! `busybox-static`, OCI bundles from `runc spec` with settable annotations, a read-only root,
//! an overlayfs root (lower = the busybox rootfs, upper and work in the bundle) and tmpfs mounts,
//! and detached long-running containers (unique id, a private `--root` state directory or the
//! default `/run/runc`) to `exec` into. Everything is cleaned up on drop: the container is
//! killed and deleted, the overlay unmounted, the bundle removed.
//!
//! ```no_run
//! use rampart_testkit::runc::{Bundle, StateRoot};
//! let bundle = Bundle::busybox().annotation("io.rampart.image.ref", "busybox:test").build();
//! let c = bundle.run(StateRoot::Private);
//! assert_eq!(c.exec_ok(&["echo", "hi"]), "hi\n");
//! ```

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};

use crate::tools;

/// Installs Debian's `runc` when missing.
pub fn ensure_runc() {
    tools::ensure_tool("runc", "runc");
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Debian's statically linked busybox (`busybox-static`, fetched and unpacked once by
/// [`crate::debian::rootfs`], shared by every test binary).
pub fn busybox() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| crate::debian::rootfs(&["busybox-static"]).join("bin/busybox"))
}

/// Builds a busybox root filesystem in `rootfs`: `/bin/busybox` and its applets as symlinks
/// (`busybox --install -s`), the usual mount points, `/etc/hostname`.
pub fn busybox_rootfs(rootfs: &Path) {
    for d in ["bin", "proc", "dev", "sys", "tmp", "etc", "root"] {
        std::fs::create_dir_all(rootfs.join(d)).unwrap();
    }
    std::fs::copy(busybox(), rootfs.join("bin/busybox")).unwrap();
    // a fork by another test thread may hold the just-written file open for an instant
    // (ETXTBSY, "Text file busy"): retry
    let mut out = None;
    for _ in 0..50 {
        let o = Command::new("chroot")
            .arg(rootfs)
            .args(["/bin/busybox", "--install", "-s", "/bin"])
            .output()
            .unwrap();
        let busy = !o.status.success() && text(&o.stderr).contains("Text file busy");
        out = Some(o);
        if !busy {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = out.unwrap();
    assert!(
        out.status.success(),
        "busybox --install: {}",
        text(&out.stderr)
    );
    std::fs::write(rootfs.join("etc/hostname"), "busybox-bundle\n").unwrap();
}

/// The files the enforcement tests attack in a busybox root (`rootfs`): a copy of busybox
/// outside `/bin` (an executable no allow-list names), a never-read `/etc/secret` and its
/// readable sibling `/etc/sibling`, the directories the script writes to, and `script` at
/// `/opt/run.sh`.
pub fn attack_fixture(rootfs: &Path, script: &str) {
    for d in ["srv/data", "usr/bin", "usr/local/bin", "opt"] {
        std::fs::create_dir_all(rootfs.join(d)).unwrap();
    }
    std::fs::copy(
        rootfs.join("bin/busybox"),
        rootfs.join("usr/local/bin/busybox"),
    )
    .unwrap();
    std::fs::write(rootfs.join("etc/secret"), "s3cret\n").unwrap();
    std::fs::write(rootfs.join("etc/sibling"), "public\n").unwrap();
    std::fs::write(rootfs.join("opt/run.sh"), script).unwrap();
}

/// Mounts an overlayfs with `lower` as its lower directory, and `dir/upper` and `dir/work`;
/// returns the merged mount point (`dir/rootfs`) and the upper directory. The caller unmounts.
pub fn mount_overlay(lower: &Path, dir: &Path) -> (PathBuf, PathBuf) {
    let (merged, upper, work) = (dir.join("rootfs"), dir.join("upper"), dir.join("work"));
    for d in [&merged, &upper, &work] {
        std::fs::create_dir_all(d).unwrap();
    }
    let opts = format!(
        "lowerdir={},upperdir={},workdir={}",
        lower.display(),
        upper.display(),
        work.display()
    );
    tools::run_output(
        "mount",
        &[
            "-t",
            "overlay",
            "overlay",
            "-o",
            &opts,
            merged.to_str().unwrap(),
        ],
    );
    (merged, upper)
}

/// How a bundle's root filesystem is provided.
#[derive(Debug, Clone)]
enum RootKind {
    /// a fresh busybox rootfs in the bundle
    Busybox,
    /// an existing directory (copied by reference: the bundle's `root.path` points at it)
    Dir(PathBuf),
}

/// Builder of an OCI bundle (what `runc spec` writes, then adjusted).
#[derive(Debug, Clone)]
pub struct BundleBuilder {
    root: RootKind,
    args: Vec<String>,
    annotations: Vec<(String, String)>,
    readonly: bool,
    overlay: bool,
    tmpfs: Vec<String>,
    cgroups_path: Option<String>,
    privileged: bool,
    dir: Option<PathBuf>,
}

/// An OCI bundle on disk. Dropping it unmounts its overlay and removes it.
#[derive(Debug)]
pub struct Bundle {
    /// the bundle directory (holds `config.json`)
    pub dir: PathBuf,
    /// the root filesystem the container sees (the overlay mount point when overlaid)
    pub rootfs: PathBuf,
    /// the lower directory of the overlay, or the rootfs itself
    pub lower: PathBuf,
    /// the overlay's upper directory (where the container's writes land)
    pub upper: Option<PathBuf>,
    _tmp: Option<tempfile::TempDir>,
}

impl Bundle {
    /// A bundle whose root is a new busybox rootfs, running `sleep 100000` by default.
    pub fn busybox() -> BundleBuilder {
        BundleBuilder {
            root: RootKind::Busybox,
            args: vec!["sleep".into(), "100000".into()],
            annotations: Vec::new(),
            readonly: false,
            overlay: false,
            tmpfs: Vec::new(),
            cgroups_path: None,
            privileged: false,
            dir: None,
        }
    }

    /// A bundle over an existing root filesystem directory (for example an unpacked image).
    pub fn with_rootfs(rootfs: impl Into<PathBuf>) -> BundleBuilder {
        BundleBuilder {
            root: RootKind::Dir(rootfs.into()),
            ..Self::busybox()
        }
    }

    /// Runs the bundle as a detached container.
    pub fn run(&self, state: StateRoot) -> Container {
        Container::start(self, state, false)
    }

    /// Creates the container (`runc create`) without starting its process: its cgroups and
    /// namespaces exist, its init waits for [`Container::start_created`].
    pub fn create(&self, state: StateRoot) -> Container {
        Container::start(self, state, true)
    }

    /// Reads `config.json`.
    pub fn config(&self) -> Value {
        serde_json::from_slice(&std::fs::read(self.dir.join("config.json")).unwrap()).unwrap()
    }
}

impl BundleBuilder {
    /// The process to run.
    pub fn args(mut self, args: &[&str]) -> Self {
        self.args = args.iter().map(|s| s.to_string()).collect();
        self
    }
    /// Adds an annotation to `config.json`.
    pub fn annotation(mut self, key: &str, value: &str) -> Self {
        self.annotations.push((key.into(), value.into()));
        self
    }
    /// Mounts the root read-only (`root.readonly`).
    pub fn readonly(mut self, yes: bool) -> Self {
        self.readonly = yes;
        self
    }
    /// Makes the root an overlayfs: lower = the rootfs, upper and work in the bundle.
    pub fn overlay(mut self, yes: bool) -> Self {
        self.overlay = yes;
        self
    }
    /// Adds a writable tmpfs mount at `path` inside the container.
    pub fn tmpfs(mut self, path: &str) -> Self {
        self.tmpfs.push(path.into());
        self
    }
    /// What Kubernetes' `privileged: true` and `docker run --privileged` write: every
    /// capability (of the test's own bounding set), no masked or read-only paths.
    pub fn privileged(mut self, yes: bool) -> Self {
        self.privileged = yes;
        self
    }
    /// Sets `linux.cgroupsPath` (runc's default is `/<id>`).
    pub fn cgroups_path(mut self, path: &str) -> Self {
        self.cgroups_path = Some(path.into());
        self
    }
    /// Builds the bundle in `dir` instead of a new temporary directory (kept after the test).
    pub fn in_dir(mut self, dir: &Path) -> Self {
        self.dir = Some(dir.to_path_buf());
        self
    }

    /// Writes the bundle (and mounts its overlay).
    pub fn build(self) -> Bundle {
        ensure_runc();
        let (tmp, dir) = match &self.dir {
            Some(d) => {
                std::fs::create_dir_all(d).unwrap();
                (None, d.clone())
            }
            None => {
                let t = tempfile::Builder::new()
                    .prefix("rampart-bundle.")
                    .tempdir()
                    .unwrap();
                let d = t.path().to_path_buf();
                (Some(t), d)
            }
        };
        let lower = match &self.root {
            RootKind::Busybox => {
                let r = dir.join(if self.overlay { "lower" } else { "rootfs" });
                busybox_rootfs(&r);
                r
            }
            RootKind::Dir(d) => d.clone(),
        };
        let (rootfs, upper) = if self.overlay {
            let (merged, upper) = mount_overlay(&lower, &dir);
            (merged, Some(upper))
        } else {
            (lower.clone(), None)
        };
        let out = Command::new("runc")
            .arg("spec")
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "runc spec: {}", text(&out.stderr));
        let path = dir.join("config.json");
        let mut config: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        config["process"]["args"] = json!(self.args);
        config["process"]["terminal"] = Value::Bool(false);
        config["root"] = json!({ "path": rootfs, "readonly": self.readonly });
        let annotations: serde_json::Map<String, Value> = self
            .annotations
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        if !annotations.is_empty() {
            config["annotations"] = Value::Object(annotations);
        }
        if self.privileged {
            // every capability this process may grant (its bounding set)
            let status = std::fs::read_to_string("/proc/self/status").unwrap();
            let bnd = status
                .lines()
                .find_map(|l| l.strip_prefix("CapBnd:"))
                .map(|h| u64::from_str_radix(h.trim(), 16).unwrap())
                .unwrap();
            let all: Vec<String> = (0..=40)
                .filter(|n| bnd & (1u64 << n) != 0)
                .filter_map(cap_name)
                .map(|c| format!("CAP_{c}"))
                .collect();
            for set in ["bounding", "effective", "permitted"] {
                config["process"]["capabilities"][set] = json!(all);
            }
            config["linux"]["maskedPaths"] = json!([]);
            config["linux"]["readonlyPaths"] = json!([]);
        }
        if let Some(p) = &self.cgroups_path {
            config["linux"]["cgroupsPath"] = Value::String(p.clone());
        }
        if let Some(mounts) = config["mounts"].as_array_mut() {
            for t in &self.tmpfs {
                mounts.push(json!({
                    "destination": t, "type": "tmpfs", "source": "tmpfs",
                    "options": ["nosuid", "nodev", "mode=1777", "size=16m"]
                }));
            }
        }
        std::fs::write(&path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
        Bundle {
            dir,
            rootfs,
            lower,
            upper,
            _tmp: tmp,
        }
    }
}

impl Drop for Bundle {
    fn drop(&mut self) {
        if self.upper.is_some() {
            let _ = Command::new("umount").arg(&self.rootfs).output();
        }
    }
}

/// The capability with bit `n`, without `CAP_` (rampart-falco's table).
fn cap_name(n: u32) -> Option<&'static str> {
    rampart_falco::event::CAP_NAMES
        .get(n as usize)
        .map(|c| c.trim_start_matches("CAP_"))
}

/// Where runc keeps the container's state.
#[derive(Debug, Clone)]
pub enum StateRoot {
    /// runc's default, `/run/runc`
    Default,
    /// a private temporary directory (removed with the container)
    Private,
    /// a given directory
    At(PathBuf),
}

/// A detached container. Dropping it kills and deletes it.
#[derive(Debug)]
pub struct Container {
    /// the container id (unique per test run)
    pub id: String,
    /// the `--root` given to runc
    pub root: PathBuf,
    /// the host pid of the container's init process
    pub pid: u32,
    _tmp: Option<tempfile::TempDir>,
}

/// A unique container id: `rampart-<pid>-<n>-<nanos>`.
pub fn unique_id(prefix: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "{prefix}-{}-{}-{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

impl Container {
    fn start(bundle: &Bundle, state: StateRoot, create_only: bool) -> Self {
        let (tmp, root) = match state {
            StateRoot::Default => (None, PathBuf::from("/run/runc")),
            StateRoot::Private => {
                let t = tempfile::Builder::new()
                    .prefix("rampart-runc.")
                    .tempdir()
                    .unwrap();
                let p = t.path().to_path_buf();
                (Some(t), p)
            }
            StateRoot::At(p) => (None, p),
        };
        let id = unique_id("rampart");
        // a detached container keeps runc's stdio: never a pipe (reading it would wait for the
        // container to exit); errors go to a file
        let log = tempfile::NamedTempFile::new().unwrap();
        let status = Command::new("runc")
            .arg("--root")
            .arg(&root)
            .args(if create_only {
                &["create", "--bundle"][..]
            } else {
                &["run", "-d", "--bundle"][..]
            })
            .arg(&bundle.dir)
            .arg(&id)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log.reopen().unwrap())
            .status()
            .unwrap();
        assert!(
            status.success(),
            "runc run -d {id}: {}",
            std::fs::read_to_string(log.path()).unwrap_or_default()
        );
        let mut c = Self {
            id,
            root,
            pid: 0,
            _tmp: tmp,
        };
        c.pid = c.state()["pid"].as_u64().unwrap() as u32;
        c
    }

    /// Starts the process of a container made by [`Bundle::create`] (`runc start`).
    pub fn start_created(&self) {
        let out = self.runc().args(["start", &self.id]).output().unwrap();
        assert!(out.status.success(), "runc start: {}", text(&out.stderr));
    }

    /// Waits until the container's process has exited (`runc state` says `stopped`); false
    /// when `timeout` passes first.
    pub fn wait_stopped(&self, timeout: std::time::Duration) -> bool {
        let end = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < end {
            if self.state()["status"] == "stopped" {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        false
    }

    fn runc(&self) -> Command {
        let mut cmd = Command::new("runc");
        cmd.arg("--root").arg(&self.root);
        cmd
    }

    /// `runc state` of the container.
    pub fn state(&self) -> Value {
        let out = self.runc().args(["state", &self.id]).output().unwrap();
        assert!(out.status.success(), "runc state: {}", text(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// The directory runc keeps the container's `state.json` in.
    pub fn state_dir(&self) -> PathBuf {
        self.root.join(&self.id)
    }

    /// Runs `args` in the container (`runc exec`), returning its output whatever the status.
    pub fn exec(&self, args: &[&str]) -> Output {
        self.runc()
            .args(["exec", &self.id])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// Runs `args` in the container; fails the test when it fails; its standard output.
    pub fn exec_ok(&self, args: &[&str]) -> String {
        let out = self.exec(args);
        assert!(
            out.status.success(),
            "runc exec {} {args:?} ({}): {}{}",
            self.id,
            out.status,
            text(&out.stdout),
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    /// Starts `args` in the container without waiting (`runc exec -d`).
    pub fn exec_detached(&self, args: &[&str]) {
        let log = tempfile::NamedTempFile::new().unwrap();
        let status = self
            .runc()
            .args(["exec", "-d", &self.id])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log.reopen().unwrap())
            .status()
            .unwrap();
        assert!(
            status.success(),
            "runc exec -d: {}",
            std::fs::read_to_string(log.path()).unwrap_or_default()
        );
    }

    /// The host pids of the container's processes (`runc ps`).
    pub fn pids(&self) -> Vec<u32> {
        let out = self
            .runc()
            .args(["ps", "--format", "json", &self.id])
            .output()
            .unwrap();
        serde_json::from_slice::<Vec<u32>>(&out.stdout).unwrap_or_default()
    }

    /// Kills and deletes the container now.
    pub fn delete(&self) {
        let _ = self.runc().args(["kill", &self.id, "KILL"]).output();
        let _ = self.runc().args(["delete", "-f", &self.id]).output();
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        self.delete();
    }
}

/// Builds an OCI image layout with umoci in `dir` (tag `test`): the first layer is a busybox
/// rootfs changed by `layers[0]`, each further layer the changes of the next function. The
/// image runs `cmd`. Returns the layout directory.
pub fn busybox_layout(dir: &Path, layers: &[&dyn Fn(&Path)], cmd: &[&str]) -> PathBuf {
    tools::ensure_tool("umoci", "umoci");
    let layout = dir.join("oci");
    let image = format!("{}:test", layout.display());
    let work = dir.join("umoci-bundle");
    tools::run("umoci", &["init", "--layout", layout.to_str().unwrap()]);
    tools::run("umoci", &["new", "--image", &image]);
    tools::run(
        "umoci",
        &["unpack", "--image", &image, work.to_str().unwrap()],
    );
    let rootfs = work.join("rootfs");
    busybox_rootfs(&rootfs);
    for (i, change) in layers.iter().enumerate() {
        change(&rootfs);
        let mut args = vec!["repack"];
        if i + 1 < layers.len() {
            args.push("--refresh-bundle");
        }
        args.extend(["--image", &image, work.to_str().unwrap()]);
        tools::run("umoci", &args);
    }
    let mut args = vec!["config", "--image", &image];
    for c in cmd {
        args.extend(["--config.cmd", c]);
    }
    tools::run("umoci", &args);
    let _ = std::fs::remove_dir_all(&work);
    layout
}
