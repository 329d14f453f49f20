//! The minimal capability set of a workload, found by experiment under runc.
//!
//! Which capability a call needs is not visible in the syscalls (the same `chown` needs
//! CAP_CHOWN or not depending on the file's owner), and watching the kernel's `cap_capable`
//! needs eBPF. So the bundle is run under runc with a starting set (Docker's default by
//! default), then once without each capability in turn: a capability whose removal leaves the
//! run successful with the same output is dropped for good. The result is verified by one more
//! run with exactly that set.
//!
//! The runs must be independent: a workload that changes its root filesystem changes the later
//! runs (use a read-only rootfs, as `runc spec` makes, and tmpfs mounts for scratch files).

use crate::bundle::{BundleError, find_in_path, load_config_with};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long one container run may take before it is killed (the workload must terminate).
pub const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// The result of [`minimize`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CapsReport {
    /// The starting set.
    pub start: Vec<String>,
    /// The capabilities the workload needs (each one's removal made it fail or change output).
    pub required: Vec<String>,
    /// Container runs made.
    pub runs: usize,
}

impl CapsReport {
    /// The Kubernetes `securityContext.capabilities` (YAML): drop ALL, add the required ones.
    pub fn kubernetes_snippet(&self) -> String {
        let add: Vec<String> = self
            .required
            .iter()
            .map(|c| serde_json::Value::String(c.trim_start_matches("CAP_").to_owned()).to_string())
            .collect();
        format!(
            "securityContext:\n  capabilities:\n    drop: [\"ALL\"]\n    add: [{}]\n",
            add.join(", ")
        )
    }
}

/// The outcome of one run: success and standard output.
type Outcome = (bool, Vec<u8>);

fn run_with(
    runtime: &Path,
    config: &Value,
    caps: &[String],
    runs: &mut usize,
) -> Result<Outcome, BundleError> {
    static N: AtomicUsize = AtomicUsize::new(0);
    *runs += 1;
    let tmp_io = |cause| BundleError::Io {
        path: std::env::temp_dir(),
        cause,
    };
    let mut config = config.clone();
    let set = serde_json::json!(caps);
    if let Some(p) = config
        .pointer_mut("/process")
        .and_then(Value::as_object_mut)
    {
        p.insert(
            "capabilities".into(),
            serde_json::json!({
                "bounding": set, "effective": set, "inheritable": set,
                "permitted": set, "ambient": set,
            }),
        );
    }
    let work = tempfile::Builder::new()
        .prefix("rampart-caps-")
        .tempdir()
        .map_err(tmp_io)?;
    let state = work.path().join("state");
    let bundle = work.path().join("bundle");
    for d in [&state, &bundle] {
        std::fs::create_dir(d).map_err(tmp_io)?;
    }
    std::fs::write(
        bundle.join("config.json"),
        serde_json::to_vec_pretty(&config).unwrap_or_default(),
    )
    .map_err(tmp_io)?;
    let id = format!(
        "rampart-caps-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    );
    let delete = || {
        let _ = Command::new(runtime)
            .arg("--root")
            .arg(&state)
            .args(["delete", "-f", &id])
            .output();
    };
    let out_path = work.path().join("stdout");
    let stdout = std::fs::File::create(&out_path).map_err(tmp_io)?;
    let mut child = Command::new(runtime)
        .arg("--root")
        .arg(&state)
        .args(["run", "--bundle"])
        .arg(&bundle)
        .arg(&id)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::null())
        .spawn()
        .map_err(|cause| BundleError::Io {
            path: runtime.to_owned(),
            cause,
        })?;
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() > RUN_TIMEOUT => {
                delete();
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(cause) => {
                delete();
                return Err(tmp_io(cause));
            }
        }
    };
    delete();
    let output = std::fs::read(&out_path).map_err(tmp_io)?;
    Ok((status.is_some_and(|s| s.success()), output))
}

/// Find the smallest capability set, starting from `start`, with which the bundle's workload
/// still succeeds with the same output (see the module documentation).
pub fn minimize(bundle: &Path, runtime: &str, start: &[String]) -> Result<CapsReport, BundleError> {
    let runtime_path =
        find_in_path(runtime).ok_or_else(|| BundleError::RuntimeMissing(runtime.to_owned()))?;
    let config = load_config_with(bundle, None)?;
    let config_path = bundle.join("config.json");
    let mut runs = 0;
    let (ok, baseline) = run_with(&runtime_path, &config, start, &mut runs)?;
    if !ok {
        return Err(BundleError::Config {
            path: config_path,
            message: format!(
                "the workload fails even with the starting capabilities ({})",
                start.join(", ")
            ),
        });
    }
    let mut required: Vec<String> = start.to_vec();
    for cap in start {
        let without: Vec<String> = required.iter().filter(|c| *c != cap).cloned().collect();
        let (ok, out) = run_with(&runtime_path, &config, &without, &mut runs)?;
        if ok && out == baseline {
            required = without;
        }
    }
    let (ok, out) = run_with(&runtime_path, &config, &required, &mut runs)?;
    if !ok || out != baseline {
        return Err(BundleError::Config {
            path: config_path,
            message: format!(
                "the workload is not deterministic: it failed or changed its output with the \
                 minimal set ({})",
                required.join(", ")
            ),
        });
    }
    Ok(CapsReport {
        start: start.to_vec(),
        required,
        runs,
    })
}
