//! A container's filesystem seen from outside it: the guard computes its plan inside the
//! container (the root is `/`); the monitor computes the same plan from the host, through
//! `/proc/PID/root`. Paths stay the container's own (`/usr/bin/python3`); only opening them
//! goes through the root.

use std::path::{Component, Path, PathBuf};

/// The most symbolic links followed resolving one path (the kernel's `MAXSYMLINKS`).
const MAX_SYMLINKS: usize = 40;

/// The directory that is `/` for the paths of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root(PathBuf);

impl Root {
    /// This process's own root.
    pub fn host() -> Self {
        Self(PathBuf::from("/"))
    }

    /// The root of a process seen from here (`/proc/PID/root`), or any directory.
    pub fn at(dir: impl Into<PathBuf>) -> Self {
        Self(dir.into())
    }

    /// A running process's root.
    pub fn of_pid(pid: u32) -> Self {
        Self(PathBuf::from(format!("/proc/{pid}/root")))
    }

    /// Whether this is the process's own root.
    pub fn is_host(&self) -> bool {
        self.0 == Path::new("/")
    }

    /// Where the container's absolute path `inside` is opened from here.
    pub fn outside(&self, inside: &Path) -> PathBuf {
        if self.is_host() {
            return inside.to_path_buf();
        }
        let rel = inside.strip_prefix("/").unwrap_or(inside);
        self.0.join(rel)
    }

    /// `inside` (absolute, normalised) with its symbolic links resolved within the root, as
    /// the kernel resolves it for a process whose root this is: an absolute link target starts
    /// again at the root, `..` stops at it. What does not exist is kept as written. With the
    /// host root this is `canonicalize` for existing paths.
    pub fn resolve(&self, inside: &Path) -> PathBuf {
        if self.is_host() {
            return std::fs::canonicalize(inside).unwrap_or_else(|_| inside.to_path_buf());
        }
        let mut todo: Vec<PathBuf> = normal_components(inside).into_iter().rev().collect();
        let mut cur = PathBuf::from("/");
        let mut links = 0usize;
        while let Some(name) = todo.pop() {
            if name.as_os_str() == ".." {
                cur.pop();
                continue;
            }
            let next = cur.join(&name);
            let meta = std::fs::symlink_metadata(self.outside(&next));
            match meta {
                Ok(m) if m.file_type().is_symlink() && links < MAX_SYMLINKS => {
                    links += 1;
                    let Ok(target) = std::fs::read_link(self.outside(&next)) else {
                        cur = next;
                        continue;
                    };
                    if target.is_absolute() {
                        cur = PathBuf::from("/");
                    }
                    todo.extend(normal_components(&target).into_iter().rev());
                }
                _ => cur = next,
            }
        }
        cur
    }
}

/// The names of `p`, `.` dropped, `..` kept (resolution decides what it means).
fn normal_components(p: &Path) -> Vec<PathBuf> {
    p.components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(PathBuf::from(s)),
            Component::ParentDir => Some(PathBuf::from("..")),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn links_resolve_inside_the_root_never_above_it() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        std::fs::create_dir_all(r.join("usr/bin")).unwrap();
        std::fs::write(r.join("usr/bin/dash"), "").unwrap();
        symlink("usr/bin", r.join("bin")).unwrap();
        symlink("dash", r.join("usr/bin/sh")).unwrap();
        // absolute target: the container's root, not the host's
        symlink("/usr/bin/dash", r.join("usr/bin/abs")).unwrap();
        // `..` above the root stays at the root
        symlink("../../../../../../usr/bin/dash", r.join("usr/bin/up")).unwrap();
        symlink("loop2", r.join("loop1")).unwrap();
        symlink("loop1", r.join("loop2")).unwrap();
        let root = Root::at(r);
        assert_eq!(
            root.resolve(Path::new("/bin/sh")),
            Path::new("/usr/bin/dash")
        );
        assert_eq!(
            root.resolve(Path::new("/usr/bin/abs")),
            Path::new("/usr/bin/dash")
        );
        assert_eq!(
            root.resolve(Path::new("/usr/bin/up")),
            Path::new("/usr/bin/dash")
        );
        assert_eq!(
            root.resolve(Path::new("/bin/nothing/x")),
            Path::new("/usr/bin/nothing/x")
        );
        // a loop ends (at the kernel's limit) instead of spinning
        let _ = root.resolve(Path::new("/loop1"));
        assert_eq!(root.outside(Path::new("/etc/shadow")), r.join("etc/shadow"));
        assert_eq!(Root::host().outside(Path::new("/etc")), Path::new("/etc"));
    }
}
