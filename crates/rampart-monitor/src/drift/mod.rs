//! Drift: a process executes a file that is not the image's. For an exec in a container
//! ([`DriftDetector::check_exec`]), the file the container sees at that path is compared with
//! the image's [`ImageIndex`]:
//!
//! - not in the image at all ([`DriftKind::NotInImage`]);
//! - in the image, but its content differs ([`DriftKind::ContentDiffers`], with both digests);
//! - in the image with the same content, but made executable after the container started
//!   ([`DriftKind::ModifiedAfterStart`]: exec bits the image's entry lacks); with no image known,
//!   created, written or changed after the start (its change time, ctime, is later).
//!
//! Everything is read from the file at exec: no write of any container is followed (that would
//! cost the kernel a path walk per write, tens of thousands for an archive extraction), and the
//! file's content and mode, or its ctime, which no user can set back, already tell.
//!
//! The file is read through `/proc/<pid>/root` (the process's own view: overlay upper dir, tmpfs
//! mounts), else the container's init process's root, else its root filesystem on the host; the
//! path is resolved component by component inside that root (symlinks never leave it). Digests
//! are cached by (device, inode, size, mtime, ctime). Drift events are deduplicated per
//! (container, path, kind), with first and last seen times and a count.
//!
//! What the pipeline calls per event:
//!
//! ```no_run
//! use rampart_monitor::drift::{DriftDetector, ImageIndexCache};
//! use rampart_monitor::identity::{ContainerResolver, Identity, ResolverConfig};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let resolver = ContainerResolver::new(ResolverConfig::default())?; // finds running containers
//! let drift = DriftDetector::new();
//! // an index per image digest, built once and kept on disk
//! let images = ImageIndexCache::new(Some("/var/lib/rampart/images".into()));
//! images.index(&rampart_image::Source::OciLayout("/srv/images/app".into()), None)?;
//! # let (cgroup_id, tgid, now_ns, exec_path) = (0u64, 0u32, 0u64, "/bin/sh");
//! // every event: who it belongs to (a hash lookup once the cgroup is known)
//! match resolver.resolve(cgroup_id, Some(tgid)) {
//!     Identity::Container(c) => {
//!         // exec events
//!         let index = images.for_container(&c);
//!         if let Some(e) = drift.check_exec(&c, index.as_deref(), exec_path, Some(tgid), now_ns)? {
//!             if e.count == 1 {
//!                 println!("drift in {}: {} ({}, {})", c.id, e.path, e.kind.name(), e.layer_text());
//!             }
//!         }
//!     }
//!     Identity::Host => { /* container.id = host */ }
//!     Identity::Unknown => { /* counted, never guessed */ }
//! }
//! resolver.prune(); // every few seconds: cgroups gone
//! # Ok(())
//! # }
//! ```

pub mod cache;
pub mod index;

use std::collections::HashMap;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Serialize;

use crate::identity::ContainerInfo;
pub use cache::ImageIndexCache;
pub use index::{ImageIndex, IndexedFile, LayerRef};

/// Errors of drift detection.
#[derive(Debug, thiserror::Error)]
pub enum DriftError {
    /// the image could not be read
    #[error("cannot index the image: {0}")]
    Image(#[from] rampart_image::ImageError),
    /// a saved index is unreadable
    #[error("image index: {0}")]
    Index(String),
    /// a file could not be read
    #[error("{path}: {source}")]
    Io {
        /// the file
        path: PathBuf,
        /// the cause
        source: io::Error,
    },
}

impl DriftError {
    fn io(path: &Path, source: io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Why an exec is drift.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum DriftKind {
    /// the executed file is not in the image
    NotInImage,
    /// the file is in the image but its content differs (sha256, `sha256:<hex>`)
    ContentDiffers {
        /// the image's digest of the file
        expected: String,
        /// the digest of the file executed
        actual: String,
    },
    /// same content as the image but made executable after the container started (`mode`), or,
    /// with no image known, changed after the container started (`ctime`)
    ModifiedAfterStart {
        /// what was seen: `ctime` or `mode`
        evidence: String,
    },
}

impl DriftKind {
    fn key(&self) -> u8 {
        match self {
            Self::NotInImage => 0,
            Self::ContentDiffers { .. } => 1,
            Self::ModifiedAfterStart { .. } => 2,
        }
    }

    /// `not-in-image`, `content-differs` or `modified-after-start`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::NotInImage => "not-in-image",
            Self::ContentDiffers { .. } => "content-differs",
            Self::ModifiedAfterStart { .. } => "modified-after-start",
        }
    }
}

/// Where an image file comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LayerOrigin {
    /// the layer's position, 0 = base
    pub index: usize,
    /// the layer blob digest
    pub digest: Option<String>,
    /// the layer's diff id
    pub diff_id: Option<String>,
}

/// One drift, deduplicated per (container, path, kind).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DriftEvent {
    /// the container id
    pub container: String,
    /// the path executed, resolved inside the container (symlinks followed)
    pub path: String,
    /// why it is drift
    pub kind: DriftKind,
    /// the image's digest, when known
    pub image_digest: Option<String>,
    /// the layer the image's file comes from; `None`: not in the image (or no image known)
    pub layer: Option<LayerOrigin>,
    /// first seen, ns since the Unix epoch
    pub first_seen: u64,
    /// last seen, ns since the Unix epoch
    pub last_seen: u64,
    /// how many execs
    pub count: u64,
}

impl DriftEvent {
    /// The layer as text: its digest (or diff id, or index), or `not in the image`.
    pub fn layer_text(&self) -> String {
        match &self.layer {
            None => "not in the image".to_string(),
            Some(l) => l
                .digest
                .clone()
                .or_else(|| l.diff_id.clone())
                .unwrap_or_else(|| format!("layer {}", l.index)),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct FileKey {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

/// Bounds of the detector's memory.
#[derive(Debug, Clone, Copy)]
pub struct DriftLimits {
    /// file digests cached
    pub hashes: usize,
    /// distinct drift events kept
    pub events: usize,
    /// the largest file hashed (bigger files are compared by size and changes only)
    pub max_hash_bytes: u64,
}

impl Default for DriftLimits {
    fn default() -> Self {
        Self {
            hashes: 16_384,
            events: 16_384,
            max_hash_bytes: 1 << 30,
        }
    }
}

/// Decides whether an exec is drift; remembers the drift seen. Thread-safe.
#[derive(Debug, Default)]
pub struct DriftDetector {
    limits: DriftLimits,
    hashes: Mutex<HashMap<FileKey, [u8; 32]>>,
    events: Mutex<HashMap<(String, String, u8), DriftEvent>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The file a path names inside a root, resolved component by component without leaving it.
struct LiveFile {
    /// the resolved path inside the container
    path: String,
    /// the host path to open (through the root)
    host: PathBuf,
    meta: std::fs::Metadata,
}

/// Resolves `path` inside `root` (a directory or `/proc/<pid>/root`): every component is
/// looked up with `lstat`; symlinks are followed inside the root (absolute targets start again
/// at the root, `..` stops at it), at most [`index::MAX_LINKS`] of them.
fn resolve_live(root: &Path, path: &str) -> Option<LiveFile> {
    let mut pending: Vec<String> = path
        .split('/')
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .collect();
    pending.reverse();
    let mut parts: Vec<String> = Vec::new();
    let mut links = 0;
    while let Some(c) = pending.pop() {
        match c.as_str() {
            "." => continue,
            ".." => {
                parts.pop();
                continue;
            }
            _ => {}
        }
        let rel: PathBuf = parts.iter().chain(std::iter::once(&c)).collect();
        let host = root.join(&rel);
        let meta = std::fs::symlink_metadata(&host).ok()?;
        if meta.file_type().is_symlink() {
            links += 1;
            if links > index::MAX_LINKS {
                return None;
            }
            let target = std::fs::read_link(&host).ok()?;
            let target = target.to_string_lossy();
            if target.starts_with('/') {
                parts.clear();
            }
            let mut t: Vec<String> = target
                .split('/')
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect();
            t.reverse();
            pending.extend(t);
        } else if pending.is_empty() {
            return Some(LiveFile {
                path: format!(
                    "/{}",
                    parts
                        .iter()
                        .chain(std::iter::once(&c))
                        .cloned()
                        .collect::<Vec<_>>()
                        .join("/")
                ),
                host,
                meta,
            });
        } else if meta.is_dir() {
            parts.push(c);
        } else {
            return None;
        }
    }
    None
}

impl DriftDetector {
    /// A detector with the default bounds.
    pub fn new() -> Self {
        Self::default()
    }

    /// A detector with explicit bounds.
    pub fn with_limits(limits: DriftLimits) -> Self {
        Self {
            limits,
            ..Self::default()
        }
    }

    /// Forgets what is remembered about a container (it is gone).
    pub fn forget_container(&self, id: &str) {
        lock(&self.events).retain(|(c, _, _), _| c != id);
    }

    /// Every drift event seen, sorted by first seen.
    pub fn events(&self) -> Vec<DriftEvent> {
        let mut v: Vec<_> = lock(&self.events).values().cloned().collect();
        v.sort_by(|a, b| {
            (a.first_seen, &a.container, &a.path).cmp(&(b.first_seen, &b.container, &b.path))
        });
        v
    }

    /// The digest of a file, cached by (dev, inode, size, mtime, ctime).
    fn digest(&self, file: &LiveFile) -> Result<[u8; 32], DriftError> {
        let m = &file.meta;
        let key = FileKey {
            dev: m.dev(),
            ino: m.ino(),
            size: m.size(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
        };
        if let Some(h) = lock(&self.hashes).get(&key) {
            return Ok(*h);
        }
        let mut f = std::fs::File::open(&file.host).map_err(|e| DriftError::io(&file.host, e))?;
        // the file opened is the one stat'ed (not swapped for another in between)
        let opened = f.metadata().map_err(|e| DriftError::io(&file.host, e))?;
        if opened.ino() != key.ino || opened.dev() != key.dev {
            return Err(DriftError::io(
                &file.host,
                io::Error::other("the file changed while it was read"),
            ));
        }
        let h = index::sha256_reader(&mut f).map_err(|e| DriftError::io(&file.host, e))?;
        let mut hashes = lock(&self.hashes);
        if hashes.len() >= self.limits.hashes {
            hashes.clear();
        }
        hashes.insert(key, h);
        Ok(h)
    }

    /// Whether the exec of `path` (as the container sees it) by host process `pid` in
    /// `container` is drift from `image` (`None`: the image is not known, only changes after
    /// start can be told). `now` in ns since the Unix epoch. Returns the drift event (its count
    /// and last-seen time updated) or `None` when the file is the image's.
    pub fn check_exec(
        &self,
        container: &ContainerInfo,
        image: Option<&ImageIndex>,
        path: &str,
        pid: Option<u32>,
        now: u64,
    ) -> Result<Option<DriftEvent>, DriftError> {
        let mut roots: Vec<PathBuf> = Vec::new();
        for p in [pid, container.init_pid].into_iter().flatten() {
            roots.push(PathBuf::from(format!("/proc/{p}/root")));
        }
        if let Some(r) = &container.rootfs {
            roots.push(r.clone());
        }
        let live = roots.iter().find_map(|r| resolve_live(r, path));
        let Some(live) = live else {
            // the file is gone (a dropper that deleted itself): only the image can tell
            return Ok(match image {
                Some(img) if img.lookup(path).is_none() => Some(self.emit(
                    container,
                    image,
                    index::normalize(path),
                    DriftKind::NotInImage,
                    None,
                    now,
                )),
                _ => None,
            });
        };
        let start = container.start_time.unwrap_or(0);
        let ctime_ns = u64::try_from(live.meta.ctime())
            .unwrap_or(0)
            .saturating_mul(1_000_000_000)
            .saturating_add(u64::try_from(live.meta.ctime_nsec()).unwrap_or(0));
        let after_start = |image_mode: Option<u32>| -> Option<String> {
            match image_mode {
                Some(mode) => {
                    (live.meta.mode() & 0o111 != 0 && mode & 0o111 == 0).then(|| "mode".to_string())
                }
                // no image to compare with: the change time is the only witness. With an image,
                // same content and mode, a later ctime alone (an entrypoint's `chown -R`) is
                // not drift
                None => (start > 0 && ctime_ns > start).then(|| "ctime".to_string()),
            }
        };
        let Some(img) = image else {
            return Ok(after_start(None).map(|evidence| {
                self.emit(
                    container,
                    None,
                    live.path.clone(),
                    DriftKind::ModifiedAfterStart { evidence },
                    None,
                    now,
                )
            }));
        };
        let Some(entry) = img.files.get(&live.path) else {
            return Ok(Some(self.emit(
                container,
                image,
                live.path.clone(),
                DriftKind::NotInImage,
                None,
                now,
            )));
        };
        let origin = img.layer(entry.layer).map_or(
            LayerOrigin {
                index: entry.layer,
                digest: None,
                diff_id: None,
            },
            |l| LayerOrigin {
                index: l.index,
                digest: l.digest.clone(),
                diff_id: l.diff_id.clone(),
            },
        );
        let differs = if live.meta.size() != entry.size {
            // a different size is a different content; the digest says which
            if live.meta.size() <= self.limits.max_hash_bytes {
                Some(index::hex(&self.digest(&live)?))
            } else {
                Some(String::from("unhashed"))
            }
        } else if live.meta.size() <= self.limits.max_hash_bytes {
            let actual = index::hex(&self.digest(&live)?);
            (actual != entry.sha256).then_some(actual)
        } else {
            None
        };
        if let Some(actual) = differs {
            let kind = DriftKind::ContentDiffers {
                expected: format!("sha256:{}", entry.sha256),
                actual: format!("sha256:{actual}"),
            };
            return Ok(Some(self.emit(
                container,
                image,
                live.path.clone(),
                kind,
                Some(origin),
                now,
            )));
        }
        Ok(after_start(Some(entry.mode)).map(|evidence| {
            self.emit(
                container,
                image,
                live.path.clone(),
                DriftKind::ModifiedAfterStart { evidence },
                Some(origin),
                now,
            )
        }))
    }

    fn emit(
        &self,
        container: &ContainerInfo,
        image: Option<&ImageIndex>,
        path: String,
        kind: DriftKind,
        layer: Option<LayerOrigin>,
        now: u64,
    ) -> DriftEvent {
        let mut events = lock(&self.events);
        let key = (container.id.clone(), path.clone(), kind.key());
        if let Some(e) = events.get_mut(&key) {
            e.last_seen = e.last_seen.max(now);
            e.count += 1;
            e.kind = kind;
            return e.clone();
        }
        if events.len() >= self.limits.events {
            // keep the most recent half
            let mut seen: Vec<u64> = events.values().map(|e| e.last_seen).collect();
            seen.sort_unstable();
            let cut = seen.get(seen.len() / 2).copied().unwrap_or(0);
            events.retain(|_, e| e.last_seen > cut);
        }
        let e = DriftEvent {
            container: container.id.clone(),
            path,
            kind,
            image_digest: image
                .and_then(|i| i.digest().map(str::to_string))
                .or_else(|| container.image_digest.clone()),
            layer,
            first_seen: now,
            last_seen: now,
            count: 1,
        };
        events.insert(key, e.clone());
        e
    }
}
