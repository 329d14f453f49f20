//! Debian root filesystems made of real packages: `apt-get download` of a fixed list (no
//! dependency resolution: the caller names what the program needs), each `.deb` extracted with
//! `dpkg-deb -x`, cached once per package list in the workspace's `target/tmp` and shared by
//! every test binary (built in a temporary directory, then renamed into place). Tests copy the
//! cached tree ([`rootfs_copy`]) before running a container in it.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::paths;

/// The packages of a Python 3.11 root filesystem (the interpreter and its standard library,
/// `ctypes` included) with a shell (`dash` as `/bin/sh`).
pub const PYTHON: &[&str] = &[
    "python3.11-minimal",
    "libpython3.11-minimal",
    "libpython3.11-stdlib",
    "libffi8",
    "libc6",
    "libssl3",
    "zlib1g",
    "libexpat1",
    "dash",
];

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The cached root filesystem of `packages` (do not write into it: copy it).
pub fn rootfs(packages: &[&str]) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| paths::root().join("target"), PathBuf::from);
    // the package list names the cache (a hash within one toolchain is enough for a cache)
    let key = {
        use std::hash::{Hash, Hasher};
        let mut h = std::hash::DefaultHasher::new();
        packages.hash(&mut h);
        format!("{:016x}", h.finish())
    };
    let dir = target.join(format!("tmp/debian-rootfs-{key}"));
    let done = dir.join("rootfs/.complete");
    if done.is_file() {
        return dir.join("rootfs");
    }
    std::fs::create_dir_all(target.join("tmp")).unwrap();
    let work = tempfile::Builder::new()
        .prefix("debian-rootfs.")
        .tempdir_in(target.join("tmp"))
        .unwrap();
    let sh = |cmd: &str| {
        Command::new("sh")
            .args(["-c", cmd])
            .current_dir(work.path())
            .output()
            .unwrap()
    };
    // apt drops to the _apt user for downloads: give it a directory it may write
    sh("chmod 777 .");
    let list = packages.join(" ");
    let mut out = sh(&format!("apt-get download {list}"));
    if !out.status.success() {
        sh("apt-get update");
        out = sh(&format!("apt-get download {list}"));
    }
    assert!(
        out.status.success(),
        "cannot download {list}: {}",
        text(&out.stderr)
    );
    let out = sh(
        "mkdir rootfs && for d in *.deb; do dpkg-deb -x \"$d\" rootfs || exit 1; done && rm -f *.deb",
    );
    assert!(out.status.success(), "dpkg-deb: {}", text(&out.stderr));
    let root = work.path().join("rootfs");
    for d in ["proc", "dev", "sys", "tmp", "root", "run"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::fs::write(root.join(".complete"), list).unwrap();
    // another test binary may have won the race: either copy is the same packages
    if std::fs::rename(work.path(), &dir).is_err() {
        assert!(done.is_file(), "{} not in place", dir.display());
    } else {
        std::mem::forget(work);
    }
    dir.join("rootfs")
}

/// A private copy of the root filesystem of `packages` at `dest` (`cp -a`: owners, modes,
/// symlinks kept).
pub fn rootfs_copy(packages: &[&str], dest: &Path) {
    let src = rootfs(packages);
    let out = Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", src.display()))
        .arg(dest)
        .output()
        .unwrap();
    assert!(out.status.success(), "cp -a: {}", text(&out.stderr));
}
