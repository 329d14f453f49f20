//! The squashed filesystem view: path → [`EntryMeta`], the [`Collector`] interface that receives
//! the content of interesting files, and the anomalies met on the way.

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::sync::Arc;

use crate::ImageError;
use crate::digest::Digest;
use crate::path::{normalize, normalize_from, parent};

/// The kind of a filesystem entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    /// a regular file
    File,
    /// a directory
    Dir,
    /// a symbolic link (never followed when squashing)
    Symlink,
    /// a hard link to another path of the image (its content is the target's)
    Hardlink,
    /// a device, fifo or anything else
    Other,
}

/// Metadata of one entry of the squashed view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryMeta {
    /// file, dir, symlink, hardlink or other
    pub kind: EntryKind,
    /// permission bits including setuid / setgid / sticky (`mode & 0o7777`)
    pub mode: u32,
    /// owner user id
    pub uid: u64,
    /// owner group id
    pub gid: u64,
    /// size in bytes (for a hardlink, the size of its target)
    pub size: u64,
    /// symlink: the target as written in the layer; hardlink: the normalized absolute target
    pub link_target: Option<String>,
    /// index of the layer this entry comes from (0 = base; 0 for a rootfs directory)
    pub layer: usize,
    /// digest of that layer (the blob digest, or the diff id when only that is known; `None` for
    /// a rootfs directory and for directories implied by a deeper path)
    pub layer_digest: Option<Arc<Digest>>,
    /// for a hardlink to a regular file: the layer and path whose tar entry holds the content
    pub(crate) data_source: Option<Box<(usize, String)>>,
}

impl EntryMeta {
    /// An entry of `kind` with permission bits `mode` and `size` bytes, owned by root, in the
    /// base layer (for callers that build entries, such as tests of collectors).
    pub fn new(kind: EntryKind, mode: u32, size: u64) -> Self {
        Self {
            kind,
            mode: mode & 0o7777,
            uid: 0,
            gid: 0,
            size,
            link_target: None,
            layer: 0,
            layer_digest: None,
            data_source: None,
        }
    }

    /// Whether this is a regular file or a hardlink resolved to one (something with content).
    pub fn has_content(&self) -> bool {
        self.kind == EntryKind::File
            || (self.kind == EntryKind::Hardlink && self.data_source.is_some())
    }

    /// Whether the setuid or setgid bit is set.
    pub fn is_setid(&self) -> bool {
        self.mode & 0o6000 != 0
    }
}

/// How a [`Collector`] reads a wanted file: a tar entry streams forward only; a file of a root
/// filesystem directory may also seek (read a header, then jump to a section table).
pub enum FileContent<'a> {
    /// the content as a forward-only stream (a tar entry)
    Stream(&'a mut dyn Read),
    /// a regular file of a root filesystem directory, positioned at its start
    File(&'a mut std::fs::File),
}

impl FileContent<'_> {
    /// Reads at most `cap` bytes; returns them and whether the file was longer.
    pub fn read_capped(&mut self, cap: u64) -> io::Result<(Vec<u8>, bool)> {
        let reader: &mut dyn Read = match self {
            Self::Stream(r) => *r,
            Self::File(f) => *f,
        };
        let mut buf = Vec::new();
        reader.take(cap.saturating_add(1)).read_to_end(&mut buf)?;
        let truncated = buf.len() as u64 > cap;
        buf.truncate(usize::try_from(cap).unwrap_or(usize::MAX));
        Ok((buf, truncated))
    }

    /// The content as a plain reader (for a file: from the current position).
    pub fn reader(&mut self) -> &mut dyn Read {
        match self {
            Self::Stream(r) => *r,
            Self::File(f) => *f,
        }
    }
}

/// What a caller wants to learn from the files of an image. `wants` is asked for each regular
/// file and each hardlink as it is met (with its final path); `analyze` then reads the content
/// of a wanted file at once and returns a compact result (bytes, packages, facts). The squash
/// keeps each result only while its file survives: results of files that a later layer deletes
/// or replaces are dropped, and [`Squashed::files`] lists the survivors' results in path order.
/// `wants` and `analyze` take `&self` and the collector is `Sync`, so a root filesystem can be
/// analyzed on several threads.
pub trait Collector: Sync {
    /// The result of analyzing one file.
    type Output: Send + Sync;
    /// Whether the content of the file at `path` (absolute, normalized) is wanted.
    fn wants(&self, path: &str, entry: &EntryMeta) -> bool;
    /// Reads a wanted file. A result may hold at most `cap` bytes of the content (the per-file
    /// capture limit, lowered when the total capture budget runs short); streaming analyses may
    /// read the whole file but keep only what they found. `Ok(None)`: nothing to keep. An I/O
    /// error is an error of the layer stream.
    fn analyze(
        &self,
        path: &str,
        entry: &EntryMeta,
        content: FileContent<'_>,
        cap: u64,
    ) -> io::Result<Option<Self::Output>>;
    /// The bytes an output holds, counted against the total capture budget.
    fn weight(output: &Self::Output) -> u64;
}

/// A collector that wants nothing: squash for the metadata index only.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoContent;

impl Collector for NoContent {
    type Output = ();
    fn wants(&self, _: &str, _: &EntryMeta) -> bool {
        false
    }
    fn analyze(
        &self,
        _: &str,
        _: &EntryMeta,
        _: FileContent<'_>,
        _: u64,
    ) -> io::Result<Option<()>> {
        Ok(None)
    }
    fn weight((): &()) -> u64 {
        0
    }
}

/// The result of one wanted file that survives in the squashed view.
#[derive(Debug)]
pub struct Collected<T> {
    /// absolute normalized path
    pub path: String,
    /// the layer whose tar entry held the bytes (for a hardlink, the target's layer)
    pub layer: usize,
    /// that layer's digest
    pub layer_digest: Option<Arc<Digest>>,
    /// what the collector made of it (shared between hardlinks to the same content)
    pub output: Arc<T>,
}

/// The squashed view and the collector's results for the files that survive.
#[derive(Debug)]
pub struct Squashed<T> {
    /// path -> metadata of every surviving entry
    pub fs: Filesystem,
    /// the results of wanted files that survive, in path order
    pub files: Vec<Collected<T>>,
}

/// The bytes of a file captured by [`MatchCollector`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Captured {
    /// the first bytes, at most the per-file capture limit
    pub content: Vec<u8>,
    /// whether the file was longer
    pub truncated: bool,
}

/// A file captured by [`MatchCollector`], as [`Image::capture`](crate::Image::capture) lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectedFile {
    /// absolute normalized path
    pub path: String,
    /// the bytes (at most the per-file capture limit)
    pub content: Vec<u8>,
    /// whether the file was longer
    pub truncated: bool,
    /// the layer that held the bytes
    pub layer: usize,
    /// that layer's digest
    pub layer_digest: Option<Digest>,
}

impl From<Collected<Captured>> for CollectedFile {
    fn from(c: Collected<Captured>) -> Self {
        Self {
            path: c.path,
            content: c.output.content.clone(),
            truncated: c.output.truncated,
            layer: c.layer,
            layer_digest: c.layer_digest.as_deref().cloned(),
        }
    }
}

/// A collector that captures the bytes of the files matching a predicate on path and metadata.
pub struct MatchCollector<F> {
    predicate: F,
}

impl<F: Fn(&str, &EntryMeta) -> bool + Sync> MatchCollector<F> {
    /// A collector capturing every file for which `predicate` returns true.
    pub fn new(predicate: F) -> Self {
        Self { predicate }
    }
}

impl<F: Fn(&str, &EntryMeta) -> bool + Sync> Collector for MatchCollector<F> {
    type Output = Captured;
    fn wants(&self, path: &str, entry: &EntryMeta) -> bool {
        (self.predicate)(path, entry)
    }
    fn analyze(
        &self,
        _: &str,
        _: &EntryMeta,
        mut content: FileContent<'_>,
        cap: u64,
    ) -> io::Result<Option<Captured>> {
        let (content, truncated) = content.read_capped(cap)?;
        Ok(Some(Captured { content, truncated }))
    }
    fn weight(output: &Captured) -> u64 {
        output.content.len() as u64
    }
}

/// Something unusual met while squashing that did not stop it: hostile or broken input that was
/// contained. Later steps can turn these into findings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Anomaly {
    /// the layer
    pub layer: usize,
    /// the path as written in the layer (lossy UTF-8, cut to 256 bytes)
    pub path: String,
    /// what happened
    pub kind: AnomalyKind,
}

/// The kinds of [`Anomaly`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AnomalyKind {
    /// a path with `..` climbing above the root: clamped at the root
    PathEscape,
    /// an absolute path (`/etc/x`) in a layer: taken relative to the image root
    AbsolutePath,
    /// a hardlink whose target climbs above the root: clamped at the root
    HardlinkEscape,
    /// a hardlink to a path that is not a regular file of the image: it has no content
    DanglingHardlink,
    /// a path below a non-directory: the non-directory was replaced by a directory
    ParentNotDirectory,
    /// a path longer than the limit: skipped
    PathTooLong,
    /// a path that is not UTF-8: replacement characters used
    NonUtf8Path,
    /// a whiteout with an empty name: ignored
    InvalidWhiteout,
    /// a wanted file not captured because the total capture budget was spent
    CaptureBudgetExhausted,
}

/// The squashed view of an image: every surviving path with its metadata.
#[derive(Debug, Clone, Default)]
pub struct Filesystem {
    pub(crate) entries: BTreeMap<String, EntryMeta>,
    pub(crate) anomalies: Vec<Anomaly>,
    pub(crate) anomalies_dropped: u64,
    pub(crate) max_symlink_hops: u32,
}

impl Filesystem {
    /// The entry at `path` (normalized first; symlinks not followed).
    pub fn get(&self, path: &str) -> Option<&EntryMeta> {
        self.entries.get(&normalize(path).path)
    }

    /// All entries in path order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &EntryMeta)> {
        self.entries.iter().map(|(p, m)| (p.as_str(), m))
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The anomalies met (at most the limit; see [`Filesystem::anomalies_dropped`]).
    pub fn anomalies(&self) -> &[Anomaly] {
        &self.anomalies
    }

    /// How many anomalies were not kept because of the limit.
    pub fn anomalies_dropped(&self) -> u64 {
        self.anomalies_dropped
    }

    /// Resolves `path` following symlinks inside the image only: an absolute target starts at
    /// the image root, `..` stops at the root, so resolution can never reach a host path.
    /// Returns the final path (which may not exist), or [`ImageError::SymlinkLoop`] after the hop
    /// limit.
    pub fn resolve(&self, path: &str) -> Result<String, ImageError> {
        let limit = if self.max_symlink_hops == 0 {
            40
        } else {
            self.max_symlink_hops
        };
        let mut hops = 0u32;
        // `done` is the resolved prefix, `rest` the components still to walk.
        let mut pending: Vec<String> = Vec::new();
        push_components(&mut pending, &normalize(path).path);
        let mut done = String::from("/");
        while let Some(comp) = pending.pop() {
            if comp == ".." {
                done = parent(&done).to_owned();
                continue;
            }
            let candidate = crate::path::join(&done, &comp);
            match self.entries.get(&candidate) {
                Some(m) if m.kind == EntryKind::Symlink => {
                    hops += 1;
                    if hops > limit {
                        return Err(ImageError::SymlinkLoop {
                            path: path.to_owned(),
                            limit,
                        });
                    }
                    let target = m.link_target.as_deref().unwrap_or("");
                    if target.starts_with('/') {
                        done = String::from("/");
                    }
                    push_components(&mut pending, target);
                }
                _ => done = candidate,
            }
        }
        Ok(done)
    }

    /// The entry at `path` after following symlinks inside the image.
    pub fn lookup(&self, path: &str) -> Result<Option<(String, &EntryMeta)>, ImageError> {
        let resolved = self.resolve(path)?;
        Ok(self.entries.get(&resolved).map(|m| (resolved, m)))
    }
}

/// Pushes the components of `raw` onto the stack so they pop in order (keeping `..`).
fn push_components(stack: &mut Vec<String>, raw: &str) {
    for comp in raw.split('/').filter(|c| !c.is_empty() && *c != ".").rev() {
        stack.push(comp.to_owned());
    }
}

/// Normalizes a hardlink target (tar link names are relative to the root).
pub(crate) fn hardlink_target(raw: &str) -> (String, bool) {
    let n = normalize_from("/", raw);
    (n.path, n.escaped)
}
