//! The reference implementations of `scripts/install-oracles.sh` (pinned PyPI packages in a
//! venv, npm packages, the SARIF Multitool), installed once per test binary into the oracle
//! cache (idempotent and flock-guarded, so parallel tests share one installation).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use crate::paths;

/// The oracle cache directory, installed on first use; fails the test when it cannot be.
pub fn dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| cached_script_dir("install-oracles.sh"))
}

/// The oracle venv's Python interpreter.
pub fn python() -> PathBuf {
    dir().join("venv/bin/python")
}

/// Runs a script of `scripts/` that prepares a cache and prints its directory on stdout (the
/// oracles, the realistic test image); its stderr goes to the test's.
pub fn cached_script_dir(script: &str) -> PathBuf {
    let out = Command::new("bash")
        .arg(paths::script(script))
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("cannot run scripts/{script}: {e}"));
    assert!(
        out.status.success(),
        "scripts/{script} failed: {}",
        out.status
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// Runs a Python script (`-c`) with the oracle venv; `files` are written to a temporary
/// directory given as `argv[1]`. Returns stdout; fails the test with stderr when the script
/// fails.
pub fn run_python(script: &str, files: &[(&str, &[u8])]) -> String {
    let dir = tempfile::tempdir().unwrap();
    for (name, data) in files {
        std::fs::write(dir.path().join(name), data).unwrap();
    }
    let out = Command::new(python())
        .arg("-c")
        .arg(script)
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python oracle failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs the oracle venv's Python with `args`, writing `stdin` to it; returns (success, stdout,
/// stderr) so the caller decides what a failure means.
pub fn python_with_stdin(args: &[&std::ffi::OsStr], stdin: &[u8]) -> (bool, Vec<u8>, String) {
    use std::io::Write as _;
    let mut child = Command::new(python())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || input.write_all(&data));
    let out = child.wait_with_output().unwrap();
    let _ = writer.join();
    (
        out.status.success(),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
