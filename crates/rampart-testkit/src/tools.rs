//! Commands the tests need: installed from Debian when missing, run with their status checked.

use std::process::{Command, Output, Stdio};

use crate::paths;

/// Whether `cmd` is on `PATH`.
pub fn have(cmd: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {cmd}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Installs Debian packages for missing commands or files (`COMMAND:PACKAGE` or
/// `/path:PACKAGE`) with `scripts/ensure-tools.sh`, which waits for the dpkg lock (tests run in
/// parallel) and refreshes the package lists once when an install fails. Fails the test when
/// that is impossible: no skipping.
pub fn ensure_tools(pairs: &[&str]) {
    let status = Command::new("bash")
        .arg(paths::script("ensure-tools.sh"))
        .args(pairs)
        .status()
        .unwrap_or_else(|e| panic!("cannot run scripts/ensure-tools.sh: {e}"));
    assert!(
        status.success(),
        "scripts/ensure-tools.sh {pairs:?} failed: {status}"
    );
}

/// Installs the Debian `package` when `cmd` is missing; fails the test when it is still missing.
pub fn ensure_tool(cmd: &str, package: &str) {
    ensure_tools(&[&format!("{cmd}:{package}")]);
    assert!(
        cmd.starts_with('/') || have(cmd),
        "{cmd} not available after installing {package}"
    );
}

/// Runs `cmd args`, fails the test with both streams when it cannot run or exits non-zero.
pub fn run_output(cmd: &str, args: &[&str]) -> Output {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs `cmd args` as [`run_output`] does and returns its standard output.
pub fn run(cmd: &str, args: &[&str]) -> String {
    String::from_utf8_lossy(&run_output(cmd, args).stdout).into_owned()
}
