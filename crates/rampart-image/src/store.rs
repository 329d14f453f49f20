//! Where blobs come from: the [`BlobStore`] trait and its local implementations (a directory,
//! a tar archive read in place). A registry client is another implementation.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::digest::Digest;
use crate::path::normalize;
use crate::{ImageError, Limits};

/// A blob's bytes as a stream. `Send`, so a layer can be read on another thread than the one
/// that opened it.
pub type BlobReader<'a> = Box<dyn Read + Send + 'a>;

/// A source of blobs. Implementations only fetch bytes: the caller verifies every digest while
/// streaming, so a store never has to be trusted.
pub trait BlobStore: Send + Sync {
    /// Opens the blob with this digest.
    fn open_blob(&self, digest: &Digest) -> Result<BlobReader<'_>, ImageError> {
        self.open_path(&format!(
            "blobs/{}/{}",
            digest.algorithm().name(),
            digest.hex()
        ))
    }

    /// Opens a member by its path relative to the store root (`index.json`, `manifest.json`,
    /// `<id>/layer.tar`). Stores without paths (a registry) return [`ImageError::BlobNotFound`].
    fn open_path(&self, path: &str) -> Result<BlobReader<'_>, ImageError>;

    /// Whether a member exists at this path.
    fn has_path(&self, path: &str) -> bool;

    /// The size of the member at this path, when the store knows it without reading it.
    fn path_size(&self, _path: &str) -> Option<u64> {
        None
    }
}

/// Turns a member path from a manifest into a key relative to the store root, or `None` when it
/// climbs out of the root (`../x`): such members are treated as missing, never looked up.
pub(crate) fn member_key(path: &str) -> Option<String> {
    let n = normalize(path);
    if n.escaped {
        return None;
    }
    Some(n.path.trim_start_matches('/').to_owned())
}

/// Blobs in a local directory (an OCI image layout). Symlinks inside the directory are not
/// followed: a member must be a regular file.
#[derive(Debug, Clone)]
pub struct DirStore {
    root: PathBuf,
}

impl DirStore {
    /// A store rooted at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    fn file(&self, path: &str) -> Option<PathBuf> {
        let key = member_key(path)?;
        if key.is_empty() {
            return None;
        }
        // Every component is checked with lstat so a symlinked directory cannot lead outside.
        let mut cur = self.root.clone();
        for comp in key.split('/') {
            cur.push(comp);
            let meta = std::fs::symlink_metadata(&cur).ok()?;
            if meta.file_type().is_symlink() {
                return None;
            }
        }
        std::fs::symlink_metadata(&cur)
            .ok()
            .filter(|m| m.is_file())
            .map(|_| cur)
    }
}

impl BlobStore for DirStore {
    fn open_path(&self, path: &str) -> Result<BlobReader<'_>, ImageError> {
        let file = self.file(path).ok_or_else(|| ImageError::BlobNotFound {
            blob: path.to_owned(),
        })?;
        let f = File::open(&file).map_err(|e| ImageError::io(file.display().to_string(), e))?;
        Ok(Box::new(BufReader::with_capacity(64 * 1024, f)))
    }

    fn has_path(&self, path: &str) -> bool {
        self.file(path).is_some()
    }
}

/// Members of a tar archive (an OCI archive or a `docker save` archive), read in place: the
/// archive is indexed once (member → offset, size) and each member is read by seeking, so
/// nothing is extracted.
#[derive(Debug, Clone)]
pub struct ArchiveStore {
    path: PathBuf,
    members: HashMap<String, (u64, u64)>,
}

impl ArchiveStore {
    /// Indexes the regular files of the tar archive at `path`.
    pub fn open(path: impl AsRef<Path>, limits: &Limits) -> Result<Self, ImageError> {
        let path = path.as_ref().to_path_buf();
        let shown = path.display().to_string();
        let f = File::open(&path).map_err(|e| ImageError::io(&shown, e))?;
        let mut archive = tar::Archive::new(BufReader::new(f));
        let mut members = HashMap::new();
        // The tar reader's messages quote the damaged header at length: keep their start.
        let corrupt = |e: std::io::Error| {
            let mut text = e.to_string();
            if text.len() > 160 {
                let mut cut = 160;
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                text.truncate(cut);
                text.push('…');
            }
            ImageError::CorruptArchive {
                path: shown.clone(),
                source: std::io::Error::new(e.kind(), text),
            }
        };
        let mut count: u64 = 0;
        for entry in archive.entries_with_seek().map_err(corrupt)? {
            let entry = entry.map_err(corrupt)?;
            count += 1;
            if count > limits.max_archive_members {
                return Err(ImageError::ArchiveTooLarge {
                    path: shown,
                    limit: limits.max_archive_members,
                });
            }
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            if let Some(key) = member_key(&name) {
                members.insert(key, (entry.raw_file_position(), entry.size()));
            }
        }
        Ok(Self { path, members })
    }
}

impl BlobStore for ArchiveStore {
    fn open_path(&self, path: &str) -> Result<BlobReader<'_>, ImageError> {
        let &(offset, size) = member_key(path)
            .and_then(|k| self.members.get(&k))
            .ok_or_else(|| ImageError::BlobNotFound {
                blob: path.to_owned(),
            })?;
        let shown = self.path.display().to_string();
        let mut f = File::open(&self.path).map_err(|e| ImageError::io(&shown, e))?;
        f.seek(SeekFrom::Start(offset))
            .map_err(|e| ImageError::io(&shown, e))?;
        Ok(Box::new(BufReader::with_capacity(64 * 1024, f.take(size))))
    }

    fn has_path(&self, path: &str) -> bool {
        member_key(path).is_some_and(|k| self.members.contains_key(&k))
    }

    fn path_size(&self, path: &str) -> Option<u64> {
        member_key(path).and_then(|k| self.members.get(&k).map(|&(_, size)| size))
    }
}
