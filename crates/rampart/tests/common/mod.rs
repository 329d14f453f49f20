//! Helpers shared by the binary's integration tests: running `rampart`, reading its JSON, and
//! the cached real components (validator venv, test image) installed or built on first use.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Runs `rampart args` in `cwd`, colour not forced off by the environment.
pub fn rampart_in(args: &[&str], cwd: &Path) -> Output {
    rampart_command()
        .args(args)
        .current_dir(cwd)
        .env_remove("NO_COLOR")
        .output()
        .unwrap()
}

/// The `rampart` binary with its cache directory (advisory database, inventory) set to
/// [`cache_dir`].
pub fn rampart_command() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rampart"));
    c.env("RAMPART_CACHE_DIR", cache_dir());
    c
}

/// The real advisories of ../shared/corpus (RustSec, Go, PyPA) imported with `rampart db
/// import` into `osv.db` of a temporary cache directory, once per test binary.
pub fn cache_dir() -> &'static Path {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, p) = DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let corpus = root().join("../shared/corpus");
        let out = Command::new(env!("CARGO_BIN_EXE_rampart"))
            .args(["db", "import", "--db"])
            .arg(dir.path().join("osv.db"))
            .arg(corpus.join("osv-rustsec/crates"))
            .arg(corpus.join("osv-go/data/osv"))
            .arg(corpus.join("osv-pypa/vulns"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "db import: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let p = dir.path().to_owned();
        (dir, p)
    });
    p
}

/// Parses standard output as JSON, or fails the test with both streams.
pub fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Runs a script of `scripts/` that prints a cache directory, once per test binary.
fn cached_dir(cell: &'static OnceLock<PathBuf>, script: &str) -> &'static Path {
    cell.get_or_init(|| {
        let out = Command::new("bash")
            .arg(root().join("scripts").join(script))
            .stderr(Stdio::inherit())
            .output()
            .unwrap_or_else(|e| panic!("run scripts/{script}: {e}"));
        assert!(out.status.success(), "scripts/{script} failed");
        PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
    })
}

/// The reference validators (scripts/install-oracles.sh).
pub fn oracles() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    cached_dir(&DIR, "install-oracles.sh")
}

/// The realistic test image in every form (scripts/build-test-image.sh).
pub fn image_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    cached_dir(&DIR, "build-test-image.sh")
}

/// Validates `instance` against `schema` with Python's `jsonschema` (format checks on).
pub fn validate_with_jsonschema(schema: &Path, instance: &Path) -> Result<(), String> {
    let script = "import json,sys,jsonschema\n\
        schema=json.load(open(sys.argv[1])); inst=json.load(open(sys.argv[2]))\n\
        cls=jsonschema.validators.validator_for(schema); cls.check_schema(schema)\n\
        errs=sorted(cls(schema, format_checker=cls.FORMAT_CHECKER).iter_errors(inst), key=lambda e: list(e.path))\n\
        [print(list(e.path), e.message) for e in errs[:20]]\n\
        sys.exit(1 if errs else 0)";
    let out = Command::new(oracles().join("venv/bin/python"))
        .args(["-c", script])
        .arg(schema)
        .arg(instance)
        .output()
        .unwrap();
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// A `docker-registry serve` (Debian's distribution 2.8) on a free loopback port, killed on
/// drop; with `htpasswd`, Basic auth for that one user.
pub struct Registry {
    child: std::process::Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Registry {
    pub fn start(user: Option<(&str, &str)>) -> Self {
        let ok = Command::new("bash")
            .arg(root().join("scripts/ensure-tools.sh"))
            .args(["docker-registry:docker-registry", "skopeo:skopeo"])
            .status()
            .unwrap()
            .success();
        assert!(ok, "docker-registry and skopeo are needed");
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let auth = match user {
            Some((u, p)) => {
                let line = format!("{u}:{}\n", bcrypt::hash(p, 5).unwrap());
                std::fs::write(dir.path().join("htpasswd"), line).unwrap();
                format!(
                    "auth:\n  htpasswd:\n    realm: test\n    path: {}\n",
                    dir.path().join("htpasswd").display()
                )
            }
            None => String::new(),
        };
        let config = format!(
            "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n{auth}",
            dir.path().join("data").display()
        );
        std::fs::write(dir.path().join("config.yml"), config).unwrap();
        let mut child = Command::new("docker-registry")
            .arg("serve")
            .arg(dir.path().join("config.yml"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        for _ in 0..600 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Self {
                    child,
                    port,
                    _dir: dir,
                };
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("docker-registry did not start");
    }

    /// Copies the test image (tag `test` of its OCI layout) in as `reference`.
    pub fn push(&self, reference: &str, creds: Option<&str>) {
        let mut args = vec![
            "copy".to_owned(),
            "-q".to_owned(),
            "--dest-tls-verify=false".to_owned(),
        ];
        if let Some(c) = creds {
            args.push(format!("--dest-creds={c}"));
        }
        args.push(format!("oci:{}:test", image_dir().join("oci").display()));
        args.push(format!("docker://127.0.0.1:{}/{reference}", self.port));
        let out = Command::new("skopeo").args(&args).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
