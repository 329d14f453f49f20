//! OCI bundles: the one given (read and checked, never modified), and the fresh copy each trial
//! runs in.
//!
//! A trial's bundle is a new directory holding an adjusted `config.json` and a root that is an
//! overlayfs over the original root (lower = the given root, upper and work in the trial's
//! directory), so neither runtime sees what the other wrote and the original stays untouched.
//! When the overlay cannot be mounted (a lower path overlayfs cannot take), the root is copied
//! (`cp -a`). The adjustments: the terminal off (output is captured), the root made absolute,
//! a fresh network namespace (a `path` to join an existing one is dropped: loopback only, no
//! network), `linux.cgroupsPath` dropped (each runtime picks one per container id), `hooks`
//! dropped (they are host commands the bundle's author meant for another runtime), and in
//! one-shot mode `process.args` replaced by the smoke test.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::SandboxError;

pub use rampart_seccomp::bundle::MAX_CONFIG_BYTES;

/// A checked OCI bundle: its config and its root's absolute path.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// The bundle directory.
    pub dir: PathBuf,
    /// Its `config.json`, as read.
    pub config: Value,
    /// The absolute root filesystem directory.
    pub rootfs: PathBuf,
}

impl Bundle {
    /// Reads and checks `dir/config.json` with the seccomp recorder's loader (at most
    /// [`MAX_CONFIG_BYTES`], JSON, a non-empty `process.args` of strings, a `root.path` that is
    /// a directory).
    pub fn load(dir: &Path) -> Result<Self, SandboxError> {
        use rampart_seccomp::bundle::BundleError;
        if !dir.is_dir() {
            return Err(SandboxError::NoBundle(dir.to_path_buf()));
        }
        let config = rampart_seccomp::bundle::load_config(dir).map_err(|e| match e {
            BundleError::Io { path, cause } => SandboxError::Io {
                path,
                source: cause,
            },
            BundleError::Config { path, message } => SandboxError::Config { path, message },
            other => SandboxError::Config {
                path: dir.join("config.json"),
                message: other.to_string(),
            },
        })?;
        let rootfs = config
            .pointer("/root/path")
            .and_then(Value::as_str)
            .map(PathBuf::from)
            .unwrap_or_default();
        Ok(Self {
            dir: dir.to_path_buf(),
            config,
            rootfs,
        })
    }
}

/// The config a trial runs: see the module documentation.
pub fn trial_config(config: &Value, rootfs: &Path, args: Option<&[String]>) -> Value {
    let mut c = config.clone();
    if let Some(obj) = c.as_object_mut() {
        obj.remove("hooks");
        let root = obj.entry("root").or_insert_with(|| json!({}));
        if let Some(root) = root.as_object_mut() {
            root.insert(
                "path".into(),
                Value::String(rootfs.to_string_lossy().into_owned()),
            );
        }
        let process = obj.entry("process").or_insert_with(|| json!({}));
        if let Some(p) = process.as_object_mut() {
            p.insert("terminal".into(), Value::Bool(false));
            if let Some(args) = args {
                p.insert("args".into(), json!(args));
            }
        }
        let linux = obj.entry("linux").or_insert_with(|| json!({}));
        if let Some(linux) = linux.as_object_mut() {
            linux.remove("cgroupsPath");
            let ns = linux.entry("namespaces").or_insert_with(|| json!([]));
            if let Some(list) = ns.as_array_mut() {
                list.retain(|n| n.get("type").and_then(Value::as_str) != Some("network"));
                list.push(json!({"type": "network"}));
            }
        }
    }
    c
}

/// How a trial's root was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RootCopy {
    /// an overlayfs over the original root
    Overlay,
    /// a full copy (`cp -a`)
    Copy,
}

/// A trial's bundle directory; dropping it unmounts its overlay (lazily, in case a process of
/// a killed sandbox still holds it) and removes the directory.
#[derive(Debug)]
pub struct TrialBundle {
    /// The bundle directory (holds `config.json`).
    pub dir: PathBuf,
    /// Its root.
    pub rootfs: PathBuf,
    /// How the root was made.
    pub copy: RootCopy,
    mounted: bool,
}

impl TrialBundle {
    /// Makes `dir` (which must not exist) a bundle running `config` on a fresh view of
    /// `original_root`.
    pub fn create(
        dir: &Path,
        config: &Value,
        original_root: &Path,
        args: Option<&[String]>,
    ) -> Result<Self, SandboxError> {
        std::fs::create_dir_all(dir).map_err(SandboxError::io(dir))?;
        let rootfs = dir.join("rootfs");
        std::fs::create_dir(&rootfs).map_err(SandboxError::io(&rootfs))?;
        let mut bundle = Self {
            dir: dir.to_path_buf(),
            rootfs: rootfs.clone(),
            copy: RootCopy::Overlay,
            mounted: false,
        };
        if mount_overlay(original_root, dir, &rootfs).is_ok() {
            bundle.mounted = true;
        } else {
            let out = std::process::Command::new("cp")
                .arg("-a")
                .arg(format!("{}/.", original_root.display()))
                .arg(&rootfs)
                .output()
                .map_err(|source| SandboxError::Spawn {
                    command: "cp -a".into(),
                    source,
                })?;
            if !out.status.success() {
                return Err(SandboxError::Io {
                    path: original_root.to_path_buf(),
                    source: std::io::Error::other(format!(
                        "cp -a: {}",
                        String::from_utf8_lossy(&out.stderr).trim()
                    )),
                });
            }
            bundle.copy = RootCopy::Copy;
        }
        let config = trial_config(config, &rootfs, args);
        let path = dir.join("config.json");
        let text = serde_json::to_vec_pretty(&config).map_err(|e| SandboxError::Config {
            path: path.clone(),
            message: e.to_string(),
        })?;
        std::fs::write(&path, text).map_err(SandboxError::io(&path))?;
        Ok(bundle)
    }
}

/// Mounts an overlayfs at `merged` with `lower` below and `dir/upper`, `dir/work`.
fn mount_overlay(lower: &Path, dir: &Path, merged: &Path) -> Result<(), String> {
    let (upper, work) = (dir.join("upper"), dir.join("work"));
    for d in [&upper, &work] {
        std::fs::create_dir_all(d).map_err(|e| e.to_string())?;
    }
    let paths = [lower, &upper, &work].map(|p| p.to_string_lossy().into_owned());
    // overlayfs separates options with commas and lower layers with colons
    if paths.iter().any(|p| p.contains([',', ':'])) {
        return Err("a path overlayfs cannot take".into());
    }
    let [l, u, w] = &paths;
    let opts = format!("lowerdir={l},upperdir={u},workdir={w}");
    nix::mount::mount(
        Some("overlay"),
        merged,
        Some("overlay"),
        nix::mount::MsFlags::empty(),
        Some(opts.as_str()),
    )
    .map_err(|e| e.to_string())
}

impl Drop for TrialBundle {
    fn drop(&mut self) {
        if self.mounted {
            let _ = nix::mount::umount2(&self.rootfs, nix::mount::MntFlags::MNT_DETACH);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trial_config_isolates_the_network_and_drops_host_hooks() {
        let config = json!({
            "process": {"args": ["srv"], "terminal": true},
            "root": {"path": "rootfs", "readonly": true},
            "hooks": {"prestart": [{"path": "/usr/bin/nvidia-hook"}]},
            "linux": {
                "cgroupsPath": "/kubepods/x",
                "namespaces": [{"type": "pid"}, {"type": "network", "path": "/var/run/netns/host"}]
            }
        });
        let smoke = vec!["sh".to_owned(), "-c".to_owned(), "echo ok".to_owned()];
        let c = trial_config(&config, Path::new("/t/rootfs"), Some(&smoke));
        assert_eq!(c["root"], json!({"path": "/t/rootfs", "readonly": true}));
        assert_eq!(c["process"]["args"], json!(["sh", "-c", "echo ok"]));
        assert_eq!(c["process"]["terminal"], json!(false));
        assert!(c.get("hooks").is_none());
        assert!(c["linux"].get("cgroupsPath").is_none());
        assert_eq!(
            c["linux"]["namespaces"],
            json!([{"type": "pid"}, {"type": "network"}])
        );
        // the workload's own args are kept without a smoke test
        let c = trial_config(&config, Path::new("/t/rootfs"), None);
        assert_eq!(c["process"]["args"], json!(["srv"]));
    }

    #[test]
    fn a_config_without_linux_gets_a_network_namespace() {
        let c = trial_config(&json!({"process": {"args": ["x"]}}), Path::new("/r"), None);
        assert_eq!(c["linux"]["namespaces"], json!([{"type": "network"}]));
    }

    #[test]
    fn bad_bundles_are_typed_errors() {
        let t = tempfile::tempdir().unwrap();
        let missing = t.path().join("nope");
        assert!(matches!(
            Bundle::load(&missing),
            Err(SandboxError::NoBundle(p)) if p == missing
        ));
        assert!(matches!(
            Bundle::load(t.path()),
            Err(SandboxError::Io { .. })
        ));
        let cases = [
            ("{not json", "invalid JSON"),
            ("[1]", "process.args"),
            ("{\"process\": {\"args\": []}}", "process.args"),
            ("{\"process\": {\"args\": [1]}}", "process.args"),
            ("{\"process\": {\"args\": [\"x\"]}}", "root.path"),
            (
                "{\"process\": {\"args\": [\"x\"]}, \"root\": {\"path\": \"nowhere\"}}",
                "is not a directory",
            ),
        ];
        for (text, expected) in cases {
            std::fs::write(t.path().join("config.json"), text).unwrap();
            let e = Bundle::load(t.path()).unwrap_err();
            assert!(
                matches!(e, SandboxError::Config { .. }) && e.to_string().contains(expected),
                "{text}: {e}"
            );
        }
        std::fs::create_dir(t.path().join("rootfs")).unwrap();
        std::fs::write(
            t.path().join("config.json"),
            "{\"process\": {\"args\": [\"x\"]}, \"root\": {\"path\": \"rootfs\"}}",
        )
        .unwrap();
        let b = Bundle::load(t.path()).unwrap();
        assert_eq!(b.config["process"]["args"], json!(["x"]));
        assert!(b.rootfs.is_absolute());
    }
}
