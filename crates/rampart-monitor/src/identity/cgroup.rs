//! The cgroup v2 hierarchy: where it is mounted, which cgroup a process is in, and the index
//! from cgroup id (the directory's inode number, what `bpf_get_current_cgroup_id()` returns) to
//! path, for processes that are gone before their first event is read.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The most cgroup directories walked when indexing (a node has a few thousand).
pub const MAX_INDEXED: usize = 200_000;

/// The cgroup2 mount point: from `/proc/self/mountinfo` (hybrid hosts mount it at
/// `/sys/fs/cgroup/unified`, pure v2 hosts at `/sys/fs/cgroup`).
pub fn cgroup2_mount(proc_root: &Path) -> Option<PathBuf> {
    let info = std::fs::read_to_string(proc_root.join("self/mountinfo")).ok()?;
    info.lines().find_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        let fstype = right.split_whitespace().next()?;
        let mount = left.split_whitespace().nth(4)?;
        (fstype == "cgroup2").then(|| PathBuf::from(unescape(mount)))
    })
}

/// Undoes mountinfo's octal escapes (`\040` for a space).
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            let code: String = chars.clone().take(3).collect();
            if code.len() == 3 {
                if let Ok(n) = u8::from_str_radix(&code, 8) {
                    out.push(char::from(n));
                    chars.nth(2);
                    continue;
                }
            }
        }
        out.push(c);
    }
    out
}

/// The cgroup v2 path of a process (the `0::` line of `/proc/<pid>/cgroup`), `None` when the
/// process is gone. A deleted cgroup reads with a ` (deleted)` suffix, which is removed.
pub fn proc_cgroup(proc_root: &Path, pid: u32) -> Option<String> {
    let text = std::fs::read_to_string(proc_root.join(pid.to_string()).join("cgroup")).ok()?;
    let path = text.lines().find_map(|l| l.strip_prefix("0::"))?;
    Some(path.strip_suffix(" (deleted)").unwrap_or(path).to_string())
}

/// The id of the cgroup at `path` (relative to the mount): its directory's inode number.
pub fn cgroup_id(mount: &Path, path: &str) -> Option<u64> {
    std::fs::metadata(mount.join(path.trim_start_matches('/')))
        .ok()
        .map(|m| m.ino())
}

/// Walks the cgroup2 tree: cgroup id → path (relative to the mount, `/`-rooted). Bounded by
/// [`MAX_INDEXED`] directories; symlinks are not followed (cgroupfs has none).
pub fn index(mount: &Path) -> HashMap<u64, String> {
    let mut out = HashMap::new();
    let mut stack = vec![(mount.to_path_buf(), String::from("/"))];
    while let Some((dir, rel)) = stack.pop() {
        if let Ok(m) = std::fs::symlink_metadata(&dir) {
            out.insert(m.ino(), rel.clone());
        }
        if out.len() >= MAX_INDEXED {
            break;
        }
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                let name = e.file_name().to_string_lossy().into_owned();
                let child = if rel == "/" {
                    format!("/{name}")
                } else {
                    format!("{rel}/{name}")
                };
                stack.push((e.path(), child));
            }
        }
    }
    out
}

/// The start time of a process in clock ticks since boot (`/proc/<pid>/stat` field 22), to tell
/// a live init process from a reused pid.
pub fn start_time(proc_root: &Path, pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(proc_root.join(pid.to_string()).join("stat")).ok()?;
    // the command name may hold spaces and parentheses: fields start after the last ')'
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_escapes() {
        assert_eq!(unescape(r"/sys/fs/cgroup\040x"), "/sys/fs/cgroup x");
        assert_eq!(unescape("/plain"), "/plain");
    }

    #[test]
    fn this_process_is_in_the_index() {
        let proc_root = Path::new("/proc");
        let mount = cgroup2_mount(proc_root).unwrap();
        let own = proc_cgroup(proc_root, std::process::id()).unwrap();
        let id = cgroup_id(&mount, &own).unwrap();
        assert_eq!(index(&mount).get(&id), Some(&own));
        assert_eq!(
            start_time(proc_root, std::process::id()).map(|t| t > 0),
            Some(true)
        );
    }
}
