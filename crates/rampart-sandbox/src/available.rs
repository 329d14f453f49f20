//! The sandbox runtimes a node offers, found under a root directory (`/` for the live node, or
//! an offline copy of a node's files).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

/// The sandbox runtimes looked for: the binary's name and what it is.
pub const SANDBOXES: &[(&str, &str)] = &[
    ("runsc", "gVisor (runsc)"),
    ("containerd-shim-runsc-v1", "gVisor containerd shim"),
    ("kata-runtime", "Kata Containers"),
    ("containerd-shim-kata-v2", "Kata Containers containerd shim"),
];

/// Where they are usually installed (relative to the root).
pub const BIN_DIRS: &[&str] = &[
    "usr/local/bin",
    "usr/local/sbin",
    "usr/bin",
    "usr/sbin",
    "bin",
    "sbin",
    "opt/kata/bin",
    "opt/gvisor/bin",
];

/// How long `--version` may take on the live node.
pub const VERSION_TIMEOUT: Duration = Duration::from_secs(5);

/// A sandbox runtime found on a node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Available {
    /// The binary's name (`runsc`, `kata-runtime`...).
    pub name: String,
    /// What it is.
    pub kind: String,
    /// Its path on the node (absolute, as the node sees it: the root prefix removed).
    pub path: PathBuf,
    /// Its version: from `<binary> --version` on the live root; never run for another root
    /// (an offline copy's binaries are not executed).
    pub version: Option<String>,
}

/// The sandbox runtimes under `root` (see [`SANDBOXES`], [`BIN_DIRS`]): one entry per name, the
/// first directory in [`BIN_DIRS`] order that holds it as a regular file (symlinks followed
/// within the root's own `/`-relative meaning are not resolved for an offline root: a link is
/// reported as found). On `/` the runtime's `--version` is asked.
pub fn available(root: &Path) -> Vec<Available> {
    let live = root == Path::new("/");
    let mut out = Vec::new();
    for (name, kind) in SANDBOXES {
        let Some(rel) = BIN_DIRS
            .iter()
            .map(|d| Path::new(d).join(name))
            .find(|rel| {
                let p = root.join(rel);
                std::fs::symlink_metadata(&p).is_ok_and(|m| m.is_file() || m.is_symlink())
            })
        else {
            continue;
        };
        let path = Path::new("/").join(&rel);
        let version = if live { version_of(&path) } else { None };
        out.push(Available {
            name: (*name).to_owned(),
            kind: (*kind).to_owned(),
            path,
            version,
        });
    }
    out
}

/// The first line of `program --version` that names a version, within [`VERSION_TIMEOUT`].
pub(crate) fn version_of(program: &Path) -> Option<String> {
    use std::os::unix::process::CommandExt;
    let mut child = std::process::Command::new(program)
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .process_group(0)
        .spawn()
        .ok()?;
    let end = Instant::now() + VERSION_TIMEOUT;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < end => std::thread::sleep(Duration::from_millis(10)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
    let mut text = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take()?, &mut text).ok()?;
    parse_version(&text)
}

/// The version in a runtime's `--version` output: the word after `version` (`runsc version
/// 0.0~20221219.0`, the Kata shim's `..., version: 3.2.0, commit: ...`), else the word after
/// the first colon (`kata-runtime  : 3.2.0`), else the first line.
pub fn parse_version(text: &str) -> Option<String> {
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    if let Some(at) = line.find("version") {
        let rest = line.get(at + "version".len()..).unwrap_or("");
        let word = rest
            .trim_start_matches([':', ' '])
            .split([' ', ','])
            .next()
            .filter(|w| !w.is_empty());
        if let Some(w) = word {
            return Some(w.to_owned());
        }
    }
    if let Some((_, v)) = line.split_once(':') {
        return v.split_whitespace().next().map(str::to_owned);
    }
    Some(line.chars().take(100).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offline_roots_are_searched_without_running_anything() {
        let t = tempfile::tempdir().unwrap();
        for (dir, name) in [
            ("usr/bin", "runsc"),
            ("opt/kata/bin", "kata-runtime"),
            ("usr/local/bin", "containerd-shim-kata-v2"),
            ("usr/local/bin", "runc"),
        ] {
            std::fs::create_dir_all(t.path().join(dir)).unwrap();
            // a script that would leave a mark if run
            std::fs::write(
                t.path().join(dir).join(name),
                format!("#!/bin/sh\ntouch {}/ran\n", t.path().display()),
            )
            .unwrap();
        }
        std::fs::create_dir_all(t.path().join("usr/sbin/containerd-shim-runsc-v1")).unwrap();
        let found = available(t.path());
        let names: Vec<(&str, &Path, Option<&str>)> = found
            .iter()
            .map(|a| (a.name.as_str(), a.path.as_path(), a.version.as_deref()))
            .collect();
        assert_eq!(
            names,
            [
                ("runsc", Path::new("/usr/bin/runsc"), None),
                (
                    "kata-runtime",
                    Path::new("/opt/kata/bin/kata-runtime"),
                    None
                ),
                (
                    "containerd-shim-kata-v2",
                    Path::new("/usr/local/bin/containerd-shim-kata-v2"),
                    None
                ),
            ],
            "a directory named like a runtime is not one; runc is not a sandbox"
        );
        assert!(!t.path().join("ran").exists());
        assert!(available(&t.path().join("missing")).is_empty());
    }

    #[test]
    fn versions_are_read_from_the_usual_outputs() {
        assert_eq!(
            parse_version("runsc version 0.0~20221219.0\nspec: 1.0.2-dev\n").as_deref(),
            Some("0.0~20221219.0")
        );
        assert_eq!(
            parse_version("kata-runtime  : 3.2.0\n   commit   : abc\n").as_deref(),
            Some("3.2.0")
        );
        assert_eq!(
            parse_version("Kata Containers containerd shim (Golang): id: \"io.containerd.kata.v2\", version: 3.2.0\n").as_deref(),
            Some("3.2.0")
        );
        assert_eq!(parse_version("\n"), None);
    }
}
