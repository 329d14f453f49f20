//! The filesystem a node is read from: `/` for the running node, or an offline copy of a
//! node's files (`--root DIR`), so that tests and audits of other machines use fixture trees.
//! Every path the checks name is absolute as on the node; the root is prefixed here, in one
//! place.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use rampart_core::InputError;

/// A file's owner and mode bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    /// permission bits (`0o644`), without the file type
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub is_dir: bool,
}

/// Where the node's files are.
#[derive(Debug, Clone)]
pub struct Root {
    dir: PathBuf,
}

impl Root {
    /// The node's files under `dir` (`/`: the running node).
    pub fn new(dir: impl Into<PathBuf>) -> Root {
        Root { dir: dir.into() }
    }

    /// Whether this is the running node (processes and commands are asked too).
    pub fn is_live(&self) -> bool {
        self.dir == Path::new("/")
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the node's `path` is here. On an offline copy the path is resolved as if the
    /// copy were `/` (a chroot): `..` stops at its top, and symbolic links, absolute ones
    /// included (`/etc/alternatives/...`), are followed inside it, so nothing of the machine
    /// running rampart is read in its place.
    pub fn path(&self, path: &str) -> PathBuf {
        if self.is_live() {
            return PathBuf::from("/").join(path.trim_start_matches('/'));
        }
        let mut todo: Vec<String> = path
            .split('/')
            .filter(|c| !c.is_empty())
            .rev()
            .map(str::to_owned)
            .collect();
        let mut done: Vec<String> = Vec::new();
        let mut hops = 0;
        while let Some(c) = todo.pop() {
            match c.as_str() {
                "." => continue,
                ".." => {
                    done.pop();
                    continue;
                }
                _ => {}
            }
            let here = self.dir.join(done.join("/")).join(&c);
            match std::fs::symlink_metadata(&here) {
                Ok(m) if m.file_type().is_symlink() && hops < 40 => {
                    hops += 1;
                    let Ok(target) = std::fs::read_link(&here) else {
                        done.push(c);
                        continue;
                    };
                    let t = target.to_string_lossy().into_owned();
                    if t.starts_with('/') {
                        done.clear();
                    }
                    todo.extend(
                        t.split('/')
                            .filter(|x| !x.is_empty())
                            .rev()
                            .map(str::to_owned),
                    );
                }
                _ => done.push(c),
            }
        }
        self.dir.join(done.join("/"))
    }

    /// A file's text: `None` when it does not exist; an input error (line 0) when it exists
    /// and cannot be read.
    pub fn read(&self, path: &str) -> Result<Option<String>, InputError> {
        match std::fs::read(self.path(path)) {
            Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) if e.raw_os_error() == Some(libc_enotdir()) => Ok(None),
            Err(e) => Err(InputError {
                file: path.to_owned(),
                line: 0,
                column: 0,
                message: format!("cannot be read: {e}"),
            }),
        }
    }

    /// A file's first line, trimmed (a sysctl, a version file).
    pub fn read_value(&self, path: &str) -> Result<Option<String>, InputError> {
        Ok(self
            .read(path)?
            .map(|t| t.lines().next().unwrap_or("").trim().to_owned()))
    }

    /// A file's owner and mode (of the file a link points to), `None` when it does not exist.
    pub fn stat(&self, path: &str) -> Option<Meta> {
        std::fs::metadata(self.path(path)).ok().map(|m| Meta {
            mode: m.mode() & 0o7777,
            uid: m.uid(),
            gid: m.gid(),
            is_dir: m.is_dir(),
        })
    }

    /// Where a symbolic link points (its own text, not followed), as on the node.
    pub fn read_link(&self, path: &str) -> Option<String> {
        let (dir, name) = path.rsplit_once('/')?;
        let link = self.path(dir).join(name);
        std::fs::read_link(link)
            .ok()
            .map(|t| t.to_string_lossy().into_owned())
    }

    /// Whether the path exists.
    pub fn exists(&self, path: &str) -> bool {
        self.path(path).exists()
    }

    /// The entries of a directory, sorted by name (none when it does not exist).
    pub fn list(&self, path: &str) -> Vec<String> {
        let mut out: Vec<String> = std::fs::read_dir(self.path(path))
            .map(|rd| {
                rd.filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    }

    /// The first of `candidates` that exists.
    pub fn first_existing<'a>(&self, candidates: &[&'a str]) -> Option<&'a str> {
        candidates.iter().copied().find(|p| self.exists(p))
    }

    /// A group's name from the root's `/etc/group`.
    pub fn group_name(&self, gid: u32) -> Option<String> {
        self.id_name("/etc/group", gid)
    }

    /// A user's name from the root's `/etc/passwd`.
    pub fn user_name(&self, uid: u32) -> Option<String> {
        self.id_name("/etc/passwd", uid)
    }

    fn id_name(&self, file: &str, id: u32) -> Option<String> {
        let text = self.read(file).ok().flatten()?;
        text.lines().find_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?;
            let _ = f.next();
            (f.next()?.parse::<u32>().ok()? == id).then(|| name.to_owned())
        })
    }
}

/// ENOTDIR: a path under a file (`/etc/passwd/x`) does not exist either.
fn libc_enotdir() -> i32 {
    20
}
