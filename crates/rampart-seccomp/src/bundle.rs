//! Recording an OCI bundle run under runc, only the container's processes.
//!
//! The bundle's config is copied into a temporary bundle (the original is not touched) with
//! `linux.seccomp` replaced by a filter whose default action is `SCMP_ACT_TRACE`, and `runc run`
//! is run under the ptrace recorder in [`Mode::SeccompTrace`]: runc installs that filter in the
//! container's init just before it execs the workload, so every call from then on (runc's own
//! post-filter calls, the workload and all its descendants) stops at the tracer, and nothing
//! before it (runc's mounts, pivot_root, keyring...) or outside the container does. The calls
//! proceed normally once recorded.

use crate::profile::native_architectures;
use crate::record::{self, Mode, Recording};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Largest `config.json` read.
pub const MAX_CONFIG_BYTES: u64 = 16 << 20;

/// Why a bundle could not be recorded.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// The runtime is not installed.
    #[error("runtime `{0}` not found in PATH (Debian: apt-get install runc)")]
    RuntimeMissing(String),
    /// The bundle's config could not be read.
    #[error("{path}: {cause}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        cause: std::io::Error,
    },
    /// The bundle's config is not a usable OCI runtime config.
    #[error("{path}: {message}")]
    Config {
        /// The config file.
        path: PathBuf,
        /// What was expected and what was found.
        message: String,
    },
    /// The recording failed.
    #[error(transparent)]
    Record(#[from] record::RecordError),
}

/// `program` as given when it holds a slash, else its first match in `PATH`.
pub fn find_in_path(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        let p = PathBuf::from(program);
        return p.is_file().then_some(p);
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// Reads and checks `bundle/config.json` (at most [`MAX_CONFIG_BYTES`], JSON, a non-empty
/// `process.args` of strings, a `root.path` that is a directory) and returns it with the
/// rootfs made absolute and the terminal off.
pub fn load_config(bundle: &Path) -> Result<Value, BundleError> {
    load_config_with(bundle, None)
}

/// Read and check `bundle/config.json`, and return it with the rootfs made absolute, the
/// terminal off, and `linux.seccomp` replaced by `seccomp` when given.
pub(crate) fn load_config_with(
    bundle: &Path,
    seccomp: Option<Value>,
) -> Result<Value, BundleError> {
    use std::io::Read;
    let path = bundle.join("config.json");
    let io = |cause| BundleError::Io {
        path: path.clone(),
        cause,
    };
    let bad = |message: String| BundleError::Config {
        path: path.clone(),
        message,
    };
    let mut bytes = Vec::new();
    std::fs::File::open(&path)
        .map_err(io)?
        .take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(bad(format!(
            "config is larger than {MAX_CONFIG_BYTES} bytes"
        )));
    }
    let mut config: Value =
        serde_json::from_slice(&bytes).map_err(|e| bad(format!("invalid JSON: {e}")))?;
    let args_ok = config
        .pointer("/process/args")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty() && a.iter().all(Value::is_string));
    if !args_ok {
        return Err(bad(
            "expected `process.args`, a non-empty list of strings".into()
        ));
    }
    let root = config
        .pointer("/root/path")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("expected `root.path`, a string".into()))?;
    let root = bundle.join(root);
    if !root.is_dir() {
        return Err(bad(format!(
            "root.path {} is not a directory",
            root.display()
        )));
    }
    let root = std::fs::canonicalize(&root).map_err(|cause| BundleError::Io {
        path: root.clone(),
        cause,
    })?;
    if let Some(r) = config.pointer_mut("/root/path") {
        *r = Value::String(root.to_string_lossy().into_owned());
    }
    if let Some(t) = config.pointer_mut("/process/terminal") {
        *t = Value::Bool(false);
    }
    let Some(linux) = config
        .as_object_mut()
        .map(|c| c.entry("linux").or_insert_with(|| serde_json::json!({})))
        .and_then(Value::as_object_mut)
    else {
        return Err(bad("expected an object".into()));
    };
    if let Some(seccomp) = seccomp {
        linux.insert("seccomp".into(), seccomp);
    }
    Ok(config)
}

/// Removes the container (`runc delete -f`) when the recording ends, however it ends.
struct Cleanup<'a> {
    runtime: &'a Path,
    root: &'a Path,
    id: &'a str,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        let _ = Command::new(self.runtime)
            .arg("--root")
            .arg(self.root)
            .args(["delete", "-f", self.id])
            .output();
    }
}

/// A container being recorded, as [`BundleRun::drive`] sees it.
#[derive(Debug, Clone)]
pub struct Running {
    /// The runtime binary.
    pub runtime: PathBuf,
    /// Its state root (`--root`).
    pub root: PathBuf,
    /// The container's id.
    pub id: String,
}

/// What runs while a recorded container does (see [`BundleRun::drive`]).
pub type Driver<'a> = Box<dyn FnOnce(&Running) + Send + 'a>;

/// How to run a recorded bundle: where runc keeps its state, the container's id, and what to
/// do while it runs (a smoke test against a server), after which it is stopped.
#[derive(Default)]
pub struct BundleRun<'a> {
    /// runc's state root (default: a temporary directory).
    pub state_root: Option<PathBuf>,
    /// The container's id (default: generated).
    pub id: Option<String>,
    /// Called on its own thread once the container runs; when it returns, the container gets
    /// SIGTERM, then SIGKILL after [`STOP_GRACE`]. Without it, the recording ends when the
    /// workload does.
    pub drive: Option<Driver<'a>>,
}

/// How long a driven container has to exit after SIGTERM before SIGKILL.
pub const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// How long to wait for a driven container to be running.
pub const START_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Run the bundle under `runtime` (runc) and record the container's calls (see the module
/// documentation). The bundle directory is not modified.
pub fn record_bundle(bundle: &Path, runtime: &str) -> Result<Recording, BundleError> {
    record_bundle_with(bundle, runtime, BundleRun::default())
}

/// `runc state`'s status of a container (`running`, `stopped`...), `None` when it is unknown.
fn status(r: &Running) -> Option<String> {
    let out = Command::new(&r.runtime)
        .arg("--root")
        .arg(&r.root)
        .args(["state", &r.id])
        .output()
        .ok()?;
    let v: Value = serde_json::from_slice(&out.stdout).ok()?;
    v.get("status").and_then(Value::as_str).map(str::to_owned)
}

/// Waits for the container to run, drives it, stops it.
fn drive_then_stop(r: &Running, drive: Driver<'_>, finished: &std::sync::atomic::AtomicBool) {
    let started = std::time::Instant::now();
    loop {
        if finished.load(Ordering::SeqCst) || started.elapsed() > START_TIMEOUT {
            return;
        }
        if status(r).as_deref() == Some("running") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    drive(r);
    let kill = |sig: &str| {
        let _ = Command::new(&r.runtime)
            .arg("--root")
            .arg(&r.root)
            .args(["kill", &r.id, sig])
            .output();
    };
    kill("TERM");
    let stopping = std::time::Instant::now();
    while !finished.load(Ordering::SeqCst) {
        if stopping.elapsed() > STOP_GRACE {
            kill("KILL");
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// [`record_bundle`] with a chosen state root and id, driven while it runs (see [`BundleRun`]).
pub fn record_bundle_with(
    bundle: &Path,
    runtime: &str,
    run: BundleRun<'_>,
) -> Result<Recording, BundleError> {
    static N: AtomicUsize = AtomicUsize::new(0);
    let runtime_path =
        find_in_path(runtime).ok_or_else(|| BundleError::RuntimeMissing(runtime.to_owned()))?;
    let config = load_config_with(
        bundle,
        Some(serde_json::json!({
            "defaultAction": "SCMP_ACT_TRACE",
            "architectures": native_architectures(),
            "syscalls": [],
        })),
    )?;
    let tmp_io = |cause| BundleError::Io {
        path: std::env::temp_dir(),
        cause,
    };
    let work = tempfile::Builder::new()
        .prefix("rampart-bundle-")
        .tempdir()
        .map_err(tmp_io)?;
    let state = run
        .state_root
        .clone()
        .unwrap_or_else(|| work.path().join("state"));
    let tmp_bundle = work.path().join("bundle");
    for d in [&state, &tmp_bundle] {
        std::fs::create_dir_all(d).map_err(tmp_io)?;
    }
    let bytes = serde_json::to_vec_pretty(&config).unwrap_or_default();
    std::fs::write(tmp_bundle.join("config.json"), bytes).map_err(tmp_io)?;
    let id = run.id.clone().unwrap_or_else(|| {
        format!(
            "rampart-record-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        )
    });
    let _cleanup = Cleanup {
        runtime: &runtime_path,
        root: &state,
        id: &id,
    };
    let command = vec![
        runtime_path.to_string_lossy().into_owned(),
        "--root".into(),
        state.to_string_lossy().into_owned(),
        "run".into(),
        "--bundle".into(),
        tmp_bundle.to_string_lossy().into_owned(),
        id.clone(),
    ];
    let options = record::Options {
        chroot: None,
        mode: Mode::SeccompTrace,
    };
    let mut recording = match run.drive {
        None => record::record(&command, &options)?,
        Some(drive) => {
            let running = Running {
                runtime: runtime_path.clone(),
                root: state.clone(),
                id: id.clone(),
            };
            let finished = std::sync::atomic::AtomicBool::new(false);
            std::thread::scope(|scope| {
                let driver = scope.spawn(|| drive_then_stop(&running, drive, &finished));
                let result = record::record(&command, &options);
                finished.store(true, Ordering::SeqCst);
                let _ = driver.join();
                result
            })?
        }
    };
    let args: Vec<String> = config
        .pointer("/process/args")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    recording.command = args;
    recording.method = format!(
        "ptrace + SCMP_ACT_TRACE under {runtime}, bundle {}",
        bundle.display()
    );
    Ok(recording)
}
