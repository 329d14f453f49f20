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
    Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(args)
        .current_dir(cwd)
        .env_remove("NO_COLOR")
        .output()
        .unwrap()
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
