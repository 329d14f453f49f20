//! A real containerd for the tests: Debian's `containerd` started with its own root, state and
//! socket in a temporary directory (the CRI plugin's cgroup handling off), images imported from
//! an OCI layout (`ctr image import`), containers run detached with `ctr run -d` (its runc shim
//! keeps the state in `/run/containerd/runc/<namespace>/<id>`, as on a node). Dropping the
//! daemon kills and removes every container it ran, then stops it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use crate::tools;

/// The namespace the tests' containers live in.
pub const NAMESPACE: &str = "rampart-test";

/// A running containerd daemon.
#[derive(Debug)]
pub struct Containerd {
    /// its directory: `root`, `state`, `containerd.sock`, `log`
    pub dir: tempfile::TempDir,
    child: Child,
    containers: std::sync::Mutex<Vec<String>>,
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

impl Containerd {
    /// Installs containerd when missing and starts a private daemon.
    pub fn start() -> Self {
        tools::ensure_tools(&["containerd:containerd", "ctr:containerd"]);
        crate::runc::ensure_runc();
        let dir = tempfile::Builder::new()
            .prefix("rampart-containerd.")
            .tempdir()
            .unwrap();
        let d = dir.path();
        let config = format!(
            "version = 2\nroot = \"{root}\"\nstate = \"{state}\"\n[grpc]\n  address = \"{sock}\"\n\
             [plugins.\"io.containerd.grpc.v1.cri\"]\n  disable_cgroup = true\n",
            root = d.join("root").display(),
            state = d.join("state").display(),
            sock = d.join("containerd.sock").display(),
        );
        std::fs::write(d.join("config.toml"), config).unwrap();
        let log = std::fs::File::create(d.join("log")).unwrap();
        let child = Command::new("containerd")
            .arg("--config")
            .arg(d.join("config.toml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let c = Self {
            dir,
            child,
            containers: std::sync::Mutex::new(Vec::new()),
        };
        for _ in 0..200 {
            if c.ctr(&["version"]).status.success() {
                return c;
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        panic!(
            "containerd did not start: {}",
            std::fs::read_to_string(c.dir.path().join("log")).unwrap_or_default()
        );
    }

    /// Runs `ctr -a <socket> -n <namespace> args`.
    pub fn ctr(&self, args: &[&str]) -> Output {
        Command::new("ctr")
            .arg("-a")
            .arg(self.dir.path().join("containerd.sock"))
            .args(["-n", NAMESPACE])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// Runs `ctr args`; fails the test when it fails; its standard output.
    pub fn ctr_ok(&self, args: &[&str]) -> String {
        let out = self.ctr(args);
        assert!(
            out.status.success(),
            "ctr {args:?}: {}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    /// Imports an OCI image layout (a directory) under `name`; returns the reference
    /// `name@<manifest digest>`.
    pub fn import_layout(&self, layout: &Path, name: &str) -> String {
        let tar = self.dir.path().join("import.tar");
        tools::run_output(
            "tar",
            &[
                "-C",
                layout.to_str().unwrap(),
                "-cf",
                tar.to_str().unwrap(),
                ".",
            ],
        );
        self.ctr_ok(&[
            "image",
            "import",
            "--base-name",
            name,
            "--digests",
            tar.to_str().unwrap(),
        ]);
        let index: serde_json::Value =
            serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
        format!(
            "{name}@{}",
            index["manifests"][0]["digest"].as_str().unwrap()
        )
    }

    /// Runs `image` detached as container `id` with OCI annotations; returns the task's pid.
    pub fn run(&self, image: &str, id: &str, annotations: &[(&str, &str)]) -> u32 {
        let mut args: Vec<String> = vec!["run".into(), "-d".into()];
        for (k, v) in annotations {
            args.push("--annotation".into());
            args.push(format!("{k}={v}"));
        }
        args.push(image.into());
        args.push(id.into());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = Command::new("ctr")
            .arg("-a")
            .arg(self.dir.path().join("containerd.sock"))
            .args(["-n", NAMESPACE])
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(out.success(), "ctr run {id} failed");
        self.containers.lock().unwrap().push(id.to_string());
        let tasks = self.ctr_ok(&["task", "ls"]);
        tasks
            .lines()
            .find_map(|l| {
                let mut f = l.split_whitespace();
                (f.next() == Some(id)).then(|| f.next()?.parse().ok())?
            })
            .unwrap_or_else(|| panic!("no task {id}: {tasks}"))
    }

    /// Runs `args` in container `id` (`ctr task exec`); its standard output.
    pub fn exec_ok(&self, id: &str, args: &[&str]) -> String {
        let exec_id = crate::runc::unique_id("exec");
        let mut a = vec!["task", "exec", "--exec-id", &exec_id, id];
        a.extend(args);
        self.ctr_ok(&a)
    }

    /// The bundle directory of a container (the shim's task directory).
    pub fn bundle(&self, id: &str) -> PathBuf {
        self.dir
            .path()
            .join("state/io.containerd.runtime.v2.task")
            .join(NAMESPACE)
            .join(id)
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        for id in self.containers.lock().unwrap().drain(..) {
            let _ = self.ctr(&["task", "kill", "-s", "KILL", &id]);
            for _ in 0..40 {
                if self.ctr(&["task", "rm", &id]).status.success() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(25));
            }
            let _ = self.ctr(&["container", "rm", &id]);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        // the namespace's parent cgroup containerd created, in every hierarchy
        if let Ok(hs) = std::fs::read_dir("/sys/fs/cgroup") {
            for h in hs.flatten() {
                let _ = std::fs::remove_dir(h.path().join(NAMESPACE));
            }
        }
        let _ = std::fs::remove_dir(Path::new("/sys/fs/cgroup").join(NAMESPACE));
        let _ = std::fs::remove_dir(Path::new("/run/containerd/runc").join(NAMESPACE));
    }
}
