//! The image side of drift: every regular file of an image with its digest, mode, size and the
//! layer it comes from, built in one pass over the layers (`rampart_image::Image::squash` with a
//! hashing collector) and serialisable so it is built once per image digest.

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::path::Path;

use rampart_image::{Collector, EntryKind, EntryMeta, FileContent, Image};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::DriftError;

/// The format version of a saved index.
pub const INDEX_VERSION: u32 = 1;

/// The most symlinks followed when resolving a path (the kernel's limit).
pub const MAX_LINKS: usize = 40;

/// One layer of the image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerRef {
    /// position, 0 = base
    pub index: usize,
    /// the blob digest, when the source names it
    pub digest: Option<String>,
    /// the uncompressed tar's digest (the config's diff id)
    pub diff_id: Option<String>,
}

/// One regular file of the image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexedFile {
    /// sha256 of the content, hex
    pub sha256: String,
    /// permission bits (`mode & 0o7777`)
    pub mode: u32,
    /// size in bytes
    pub size: u64,
    /// the layer the entry comes from (index into [`ImageIndex::layers`]; 0 for a rootfs)
    pub layer: usize,
}

/// Every regular file of an image: path → digest, mode, size, layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageIndex {
    /// [`INDEX_VERSION`]
    pub version: u32,
    /// the manifest digest (OCI sources)
    pub manifest_digest: Option<String>,
    /// the config digest (the image id)
    pub config_digest: Option<String>,
    /// a digest given by the caller (for a root filesystem directory, which has none)
    pub assigned_digest: Option<String>,
    /// the layers, base first (empty for a root filesystem directory)
    pub layers: Vec<LayerRef>,
    /// regular files (and hardlinks, with their target's content)
    pub files: BTreeMap<String, IndexedFile>,
    /// symbolic links: path → target as written
    pub links: BTreeMap<String, String>,
}

/// Hashes every file with content.
struct HashCollector;

impl Collector for HashCollector {
    type Output = [u8; 32];
    fn wants(&self, _: &str, entry: &EntryMeta) -> bool {
        entry.has_content() || entry.kind == EntryKind::Hardlink
    }
    fn analyze(
        &self,
        _: &str,
        _: &EntryMeta,
        mut content: FileContent<'_>,
        _: u64,
    ) -> io::Result<Option<[u8; 32]>> {
        Ok(Some(sha256_reader(content.reader())?))
    }
    fn weight(_: &[u8; 32]) -> u64 {
        32
    }
}

/// sha256 of a stream.
pub fn sha256_reader(r: &mut dyn Read) -> io::Result<[u8; 32]> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        h.update(buf.get(..n).unwrap_or_default());
    }
    Ok(h.finalize().into())
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

impl ImageIndex {
    /// Indexes an opened image (any source `rampart_image` reads: OCI layout or archive,
    /// `docker save` archive, root filesystem directory). Reads every layer once.
    pub fn build(image: &Image) -> Result<Self, DriftError> {
        let squashed = image.squash(&HashCollector)?;
        let mut files = BTreeMap::new();
        for c in &squashed.files {
            let Some(entry) = squashed.fs.get(&c.path) else {
                continue;
            };
            files.insert(
                c.path.clone(),
                IndexedFile {
                    sha256: hex(c.output.as_ref()),
                    mode: entry.mode,
                    size: entry.size,
                    layer: entry.layer,
                },
            );
        }
        let links = squashed
            .fs
            .iter()
            .filter(|(_, e)| e.kind == EntryKind::Symlink)
            .filter_map(|(p, e)| Some((p.to_string(), e.link_target.clone()?)))
            .collect();
        Ok(Self {
            version: INDEX_VERSION,
            manifest_digest: image.manifest_digest().map(ToString::to_string),
            config_digest: image.config_digest().map(ToString::to_string),
            assigned_digest: None,
            layers: image
                .layers()
                .iter()
                .map(|l| LayerRef {
                    index: l.index,
                    digest: l.digest.as_ref().map(ToString::to_string),
                    diff_id: l.diff_id.as_ref().map(ToString::to_string),
                })
                .collect(),
            files,
            links,
        })
    }

    /// Sets the digest that names this image when its source has none (a root filesystem
    /// directory: the `io.rampart.image.digest` its bundles carry).
    #[must_use]
    pub fn with_digest(mut self, digest: &str) -> Self {
        self.assigned_digest = Some(digest.to_string());
        self
    }

    /// The digest naming the image: the manifest's, else the config's, else the assigned one.
    pub fn digest(&self) -> Option<&str> {
        self.manifest_digest
            .as_deref()
            .or(self.config_digest.as_deref())
            .or(self.assigned_digest.as_deref())
    }

    /// Whether `digest` names this image (manifest, config or assigned digest).
    pub fn matches(&self, digest: &str) -> bool {
        [
            &self.manifest_digest,
            &self.config_digest,
            &self.assigned_digest,
        ]
        .iter()
        .any(|d| d.as_deref() == Some(digest))
    }

    /// The layer an entry comes from.
    pub fn layer(&self, index: usize) -> Option<&LayerRef> {
        self.layers.get(index)
    }

    /// A regular file at `path` after following the image's own symlinks (within the image),
    /// with its final path.
    pub fn lookup(&self, path: &str) -> Option<(String, &IndexedFile)> {
        let mut path = normalize(path);
        for _ in 0..=MAX_LINKS {
            // resolve the parents first, then the last component
            let resolved = self.resolve_parents(&path)?;
            if let Some(f) = self.files.get(&resolved) {
                return Some((resolved, f));
            }
            let target = self.links.get(&resolved)?;
            path = join_link(&resolved, target);
        }
        None
    }

    fn resolve_parents(&self, path: &str) -> Option<String> {
        let (parent, name) = path.rsplit_once('/')?;
        if parent.is_empty() {
            return Some(path.to_string());
        }
        let mut dir = String::new();
        let mut links = 0;
        let mut pending: Vec<String> = parent
            .split('/')
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .collect();
        pending.reverse();
        while let Some(c) = pending.pop() {
            let candidate = format!("{dir}/{c}");
            if let Some(target) = self.links.get(&candidate) {
                links += 1;
                if links > MAX_LINKS {
                    return None;
                }
                let full = join_link(&candidate, target);
                dir.clear();
                let mut parts: Vec<String> = full
                    .split('/')
                    .filter(|c| !c.is_empty())
                    .map(str::to_string)
                    .collect();
                parts.reverse();
                pending.extend(parts);
            } else {
                dir = candidate;
            }
        }
        Some(format!("{dir}/{name}"))
    }

    /// Writes the index as JSON (to a temporary file renamed into place).
    pub fn save(&self, path: &Path) -> Result<(), DriftError> {
        let tmp = path.with_extension("tmp");
        let data = serde_json::to_vec(self).map_err(|e| DriftError::Index(e.to_string()))?;
        std::fs::write(&tmp, data).map_err(|e| DriftError::io(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| DriftError::io(path, e))
    }

    /// Reads an index written by [`save`](Self::save); a different format version is an error.
    pub fn load(path: &Path) -> Result<Self, DriftError> {
        let data = std::fs::read(path).map_err(|e| DriftError::io(path, e))?;
        let index: Self = serde_json::from_slice(&data)
            .map_err(|e| DriftError::Index(format!("{}: {e}", path.display())))?;
        if index.version != INDEX_VERSION {
            return Err(DriftError::Index(format!(
                "{}: index format {} (expected {INDEX_VERSION})",
                path.display(),
                index.version
            )));
        }
        Ok(index)
    }
}

/// An absolute path with `.` and `..` resolved lexically (clamped at the root), no trailing `/`.
pub fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

/// Where a symlink at `link` pointing to `target` leads.
fn join_link(link: &str, target: &str) -> String {
    if target.starts_with('/') {
        normalize(target)
    } else {
        let parent = link.rsplit_once('/').map_or("", |(p, _)| p);
        normalize(&format!("{parent}/{target}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> ImageIndex {
        let f = |layer| IndexedFile {
            sha256: "00".into(),
            mode: 0o755,
            size: 1,
            layer,
        };
        ImageIndex {
            version: INDEX_VERSION,
            manifest_digest: None,
            config_digest: None,
            assigned_digest: None,
            layers: Vec::new(),
            files: [
                ("/usr/bin/busybox".to_string(), f(0)),
                ("/etc/x".to_string(), f(1)),
            ]
            .into_iter()
            .collect(),
            links: [
                ("/bin".to_string(), "usr/bin".to_string()),
                ("/usr/bin/sh".to_string(), "busybox".to_string()),
                ("/loop".to_string(), "/loop".to_string()),
                ("/abs".to_string(), "/usr/bin/sh".to_string()),
            ]
            .into_iter()
            .collect(),
        }
    }

    #[test]
    fn lookups_follow_the_image_links_only() {
        let i = index();
        assert_eq!(
            i.lookup("/bin/sh").map(|(p, _)| p),
            Some("/usr/bin/busybox".into())
        );
        assert_eq!(
            i.lookup("/abs").map(|(p, _)| p),
            Some("/usr/bin/busybox".into())
        );
        assert_eq!(
            i.lookup("/bin/../etc/x").map(|(p, _)| p),
            Some("/etc/x".into())
        );
        assert_eq!(i.lookup("/loop"), None);
        assert_eq!(i.lookup("/bin/missing"), None);
    }

    #[test]
    fn paths_normalize_inside_the_root() {
        assert_eq!(normalize("/a/./b/../c/"), "/a/c");
        assert_eq!(normalize("/../../etc"), "/etc");
        assert_eq!(join_link("/usr/bin/sh", "../lib/x"), "/usr/lib/x");
    }
}
