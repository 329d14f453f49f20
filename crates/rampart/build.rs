//! Records the git commit the binary is built from (`rampart version`), when it is built from a
//! git checkout; a source tarball gives `RAMPART_GIT_COMMIT` from the environment or nothing.

use std::path::{Path, PathBuf};
use std::process::Command;

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (!s.is_empty()).then_some(s)
}

fn main() {
    println!("cargo:rerun-if-env-changed=RAMPART_GIT_COMMIT");
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let commit = std::env::var("RAMPART_GIT_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(|| {
            let commit = git(&dir, &["rev-parse", "--short=12", "HEAD"])?;
            // Rebuild when HEAD moves: HEAD itself, the branch it names, packed refs.
            if let Some(git_dir) = git(&dir, &["rev-parse", "--absolute-git-dir"]) {
                let git_dir = PathBuf::from(git_dir);
                println!("cargo:rerun-if-changed={}", git_dir.join("HEAD").display());
                if let Some(common) = git(&dir, &["rev-parse", "--git-common-dir"]) {
                    let common = dir.join(common);
                    println!(
                        "cargo:rerun-if-changed={}",
                        common.join("packed-refs").display()
                    );
                    if let Some(branch) = git(&dir, &["symbolic-ref", "-q", "HEAD"]) {
                        println!("cargo:rerun-if-changed={}", common.join(branch).display());
                    }
                }
            }
            Some(commit)
        });
    if let Some(c) = commit {
        println!("cargo:rustc-env=RAMPART_GIT_COMMIT={c}");
    }
}
