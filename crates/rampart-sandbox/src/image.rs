//! An image made into a bundle: its layers squashed by rampart-image (digests verified,
//! whiteouts applied, hostile paths clamped) and written into a private root filesystem, and an
//! OCI runtime config from the image's config (entrypoint and command, environment, working
//! directory, user), with the capabilities `docker run` grants by default and a writable root.
//!
//! This is the one place rampart writes an image to disk, because running it needs its files.
//! Every file is first streamed into a staging directory by a [`Collector`]; only the files
//! that survive the squash are moved into the root (hard links as hard links), directories and
//! files before any symbolic link, so no write ever follows a link the image made; owners and
//! modes last, deepest first. Devices and fifos are skipped (the runtimes make `/dev`).

use std::collections::{BTreeSet, HashMap};
use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rampart_image::{Collector, EntryKind, EntryMeta, FileContent, Image};
use serde_json::{Value, json};

use crate::SandboxError;
use crate::check::Subject;

/// The capabilities Docker grants a container by default.
pub use rampart_seccomp::lint::DOCKER_DEFAULT_CAPS;

/// Streams each wanted file into its own staging file.
struct Stage {
    dir: PathBuf,
    next: AtomicU64,
}

impl Collector for Stage {
    type Output = PathBuf;
    fn wants(&self, _: &str, entry: &EntryMeta) -> bool {
        matches!(entry.kind, EntryKind::File | EntryKind::Hardlink)
    }
    fn analyze(
        &self,
        _: &str,
        _: &EntryMeta,
        mut content: FileContent<'_>,
        _: u64,
    ) -> io::Result<Option<PathBuf>> {
        let path = self
            .dir
            .join(self.next.fetch_add(1, Ordering::Relaxed).to_string());
        let mut f = std::fs::File::create(&path)?;
        io::copy(content.reader(), &mut f)?;
        Ok(Some(path))
    }
    fn weight(_: &PathBuf) -> u64 {
        // kept on disk, not in memory
        0
    }
}

/// An image unpacked for a check: the subject, and the directory that holds its root (removed
/// on drop).
#[derive(Debug)]
pub struct Unpacked {
    /// What to check.
    pub subject: Subject,
    /// How many entries were skipped (devices, fifos).
    pub skipped: u64,
    _dir: tempfile::TempDir,
}

/// `path` of the image (absolute, normalized) under `root`; refused when a component would
/// leave it.
fn under(root: &Path, path: &str) -> Result<PathBuf, SandboxError> {
    let rel = Path::new(path.trim_start_matches('/'));
    if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return Err(SandboxError::Unpack {
            path: path.to_owned(),
            message: "not a normalized path".into(),
        });
    }
    Ok(root.join(rel))
}

/// Unpacks `image` into a new directory (under `work`, default the temporary directory) and
/// makes its bundle config. `name` names the subject.
pub fn bundle_from_image(
    image: &Image,
    name: &str,
    work: Option<&Path>,
) -> Result<Unpacked, SandboxError> {
    let dir = match work {
        Some(w) => tempfile::Builder::new()
            .prefix("rampart-image.")
            .tempdir_in(w),
        None => tempfile::Builder::new().prefix("rampart-image.").tempdir(),
    }
    .map_err(SandboxError::io(work.unwrap_or(Path::new("/tmp"))))?;
    let stage = dir.path().join("stage");
    let root = dir.path().join("rootfs");
    for d in [&stage, &root] {
        std::fs::create_dir(d).map_err(SandboxError::io(d))?;
    }
    let squashed = image.squash(&Stage {
        dir: stage.clone(),
        next: AtomicU64::new(0),
    })?;
    let mut skipped = 0u64;
    let mut symlinks = Vec::new();
    for (path, meta) in squashed.fs.iter() {
        if path == "/" {
            continue;
        }
        match meta.kind {
            EntryKind::Dir => {
                let d = under(&root, path)?;
                std::fs::create_dir_all(&d).map_err(SandboxError::io(&d))?;
            }
            EntryKind::Symlink => symlinks.push((path, meta)),
            EntryKind::Other => skipped += 1,
            EntryKind::File | EntryKind::Hardlink => {}
        }
    }
    // files: the first path of each content takes the staged file, the others link to it
    let mut placed: HashMap<*const PathBuf, PathBuf> = HashMap::new();
    let mut with_content = BTreeSet::new();
    for c in &squashed.files {
        let dest = under(&root, &c.path)?;
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent).map_err(SandboxError::io(parent))?;
        }
        let key = Arc::as_ptr(&c.output);
        match placed.get(&key) {
            Some(first) => std::fs::hard_link(first, &dest).map_err(SandboxError::io(&dest))?,
            None => {
                std::fs::rename(c.output.as_path(), &dest).map_err(SandboxError::io(&dest))?;
                placed.insert(key, dest);
            }
        }
        with_content.insert(c.path.as_str());
    }
    for (path, meta) in squashed.fs.iter() {
        if matches!(meta.kind, EntryKind::File | EntryKind::Hardlink)
            && !with_content.contains(path)
        {
            if meta.kind == EntryKind::Hardlink && !meta.has_content() {
                // a link to something that is not a regular file (dangling in the image)
                skipped += 1;
                continue;
            }
            return Err(SandboxError::Unpack {
                path: path.to_owned(),
                message: "its content was not read".into(),
            });
        }
    }
    // symbolic links last, none under another link
    let links: BTreeSet<&str> = symlinks.iter().map(|(p, _)| *p).collect();
    for (path, meta) in &symlinks {
        let mut parent = Path::new(path).parent();
        while let Some(p) = parent {
            if p.to_str().is_some_and(|s| links.contains(s)) {
                return Err(SandboxError::Unpack {
                    path: (*path).to_owned(),
                    message: "under a symbolic link".into(),
                });
            }
            parent = p.parent();
        }
        let dest = under(&root, path)?;
        let target = meta.link_target.as_deref().unwrap_or("");
        std::os::unix::fs::symlink(target, &dest).map_err(SandboxError::io(&dest))?;
    }
    // owners and modes, deepest first (a read-only directory after its contents)
    let entries: Vec<(&str, &EntryMeta)> = squashed.fs.iter().collect();
    for (path, meta) in entries.iter().rev() {
        if meta.kind == EntryKind::Other {
            continue;
        }
        let Ok(dest) = under(&root, path) else {
            continue;
        };
        let (uid, gid) = (
            u32::try_from(meta.uid).unwrap_or(u32::MAX),
            u32::try_from(meta.gid).unwrap_or(u32::MAX),
        );
        if std::fs::symlink_metadata(&dest).is_err() {
            continue;
        }
        std::os::unix::fs::lchown(&dest, Some(uid), Some(gid)).map_err(SandboxError::io(&dest))?;
        if meta.kind != EntryKind::Symlink {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(meta.mode & 0o7777))
                .map_err(SandboxError::io(&dest))?;
        }
    }
    let _ = std::fs::remove_dir_all(&stage);
    let config = image_config(image, &root, &squashed.fs)?;
    Ok(Unpacked {
        subject: Subject {
            name: name.to_owned(),
            config,
            rootfs: root,
        },
        skipped,
        _dir: dir,
    })
}

/// The contents of a text file of the image (resolved inside the image), empty when absent.
fn image_text(root: &Path, fs: &rampart_image::Filesystem, path: &str) -> String {
    match fs.lookup(path) {
        Ok(Some((resolved, meta))) if meta.kind == EntryKind::File => under(root, &resolved)
            .ok()
            .and_then(|p| std::fs::read(p).ok())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default(),
        _ => String::new(),
    }
}

/// Resolves `USER` (`name`, `uid`, `name:group`, `uid:gid`) with the image's `/etc/passwd` and
/// `/etc/group`, as Docker does: a numeric user without a group gets its passwd group or 0.
pub fn resolve_user(user: &str, passwd: &str, group: &str) -> Result<(u32, u32), SandboxError> {
    let user = user.trim();
    if user.is_empty() {
        return Ok((0, 0));
    }
    let (u, g) = match user.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (user, None),
    };
    let fields = |text: &str, name: &str| -> Option<Vec<String>> {
        text.lines()
            .map(|l| l.split(':').map(str::to_owned).collect::<Vec<_>>())
            .find(|f| f.first().map(String::as_str) == Some(name))
    };
    let bad = |what: &str| SandboxError::Usage(format!("the image's USER `{user}`: {what}"));
    let (uid, passwd_gid) = match u.parse::<u32>() {
        Ok(n) => {
            let gid = passwd
                .lines()
                .map(|l| l.split(':').collect::<Vec<_>>())
                .find(|f| f.get(2).and_then(|x| x.parse::<u32>().ok()) == Some(n))
                .and_then(|f| f.get(3).and_then(|x| x.parse::<u32>().ok()));
            (n, gid)
        }
        Err(_) => {
            let f = fields(passwd, u).ok_or_else(|| bad("no such user in /etc/passwd"))?;
            let uid = f
                .get(2)
                .and_then(|x| x.parse::<u32>().ok())
                .ok_or_else(|| bad("its /etc/passwd entry has no uid"))?;
            (uid, f.get(3).and_then(|x| x.parse::<u32>().ok()))
        }
    };
    let gid = match g {
        None => passwd_gid.unwrap_or(0),
        Some(g) => match g.parse::<u32>() {
            Ok(n) => n,
            Err(_) => fields(group, g)
                .and_then(|f| f.get(2).and_then(|x| x.parse::<u32>().ok()))
                .ok_or_else(|| bad("no such group in /etc/group"))?,
        },
    };
    Ok((uid, gid))
}

/// The OCI runtime config of an image (see the module documentation).
fn image_config(
    image: &Image,
    root: &Path,
    fs: &rampart_image::Filesystem,
) -> Result<Value, SandboxError> {
    let run = image.config().map(|c| c.config.clone()).unwrap_or_default();
    let args: Vec<String> = run.entrypoint.iter().chain(&run.cmd).cloned().collect();
    let mut env = run.env.clone();
    if !env.iter().any(|e| e.starts_with("PATH=")) {
        env.insert(
            0,
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
        );
    }
    let (uid, gid) = resolve_user(
        &run.user,
        &image_text(root, fs, "/etc/passwd"),
        &image_text(root, fs, "/etc/group"),
    )?;
    let cwd = if run.working_dir.starts_with('/') {
        run.working_dir.clone()
    } else {
        "/".into()
    };
    Ok(oci_config(&args, &env, &cwd, uid, gid))
}

/// What `runc spec` writes (runc 1.1), with the workload's process, Docker's default
/// capabilities and a writable root.
pub fn oci_config(args: &[String], env: &[String], cwd: &str, uid: u32, gid: u32) -> Value {
    json!({
        "ociVersion": "1.0.2-dev",
        "process": {
            "terminal": false,
            "user": {"uid": uid, "gid": gid},
            "args": args,
            "env": env,
            "cwd": cwd,
            "capabilities": {
                "bounding": DOCKER_DEFAULT_CAPS,
                "effective": DOCKER_DEFAULT_CAPS,
                "permitted": DOCKER_DEFAULT_CAPS,
            },
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "root": {"path": "rootfs", "readonly": false},
        "hostname": "sandbox-check",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
             "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
        ],
        "linux": {
            "resources": {"devices": [{"allow": false, "access": "rwm"}]},
            "namespaces": [
                {"type": "pid"}, {"type": "network"}, {"type": "ipc"},
                {"type": "uts"}, {"type": "mount"}
            ],
            "maskedPaths": [
                "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
                "/proc/scsi"
            ],
            "readonlyPaths": [
                "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"
            ]
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n";
    const GROUP: &str = "root:x:0:\nstaff:x:50:\napp:x:1001:\n";

    #[test]
    fn users_resolve_as_docker_resolves_them() {
        let r = |u: &str| resolve_user(u, PASSWD, GROUP);
        assert_eq!(r("").unwrap(), (0, 0));
        assert_eq!(r("app").unwrap(), (1000, 1001));
        assert_eq!(r("1000").unwrap(), (1000, 1001));
        assert_eq!(r("4242").unwrap(), (4242, 0));
        assert_eq!(r("app:staff").unwrap(), (1000, 50));
        assert_eq!(r("1000:7").unwrap(), (1000, 7));
        assert!(matches!(r("nobody"), Err(SandboxError::Usage(m)) if m.contains("/etc/passwd")));
        assert!(matches!(r("app:wheel"), Err(SandboxError::Usage(m)) if m.contains("/etc/group")));
    }

    #[test]
    fn paths_never_leave_the_root() {
        let root = Path::new("/r");
        assert_eq!(
            under(root, "/etc/passwd").unwrap(),
            Path::new("/r/etc/passwd")
        );
        assert!(under(root, "/../etc").is_err());
        assert!(under(root, "/a/./b").is_ok_and(|p| p == Path::new("/r/a/b")));
    }
}
