//! Image indexes by digest: in memory, and on disk so a restarted monitor does not read its
//! images again (`<dir>/sha256-<hex>.json`, one file per digest naming the image).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use rampart_image::{Image, Source};

use super::{DriftError, ImageIndex};
use crate::identity::ContainerInfo;

/// Image indexes by digest (manifest, config or assigned digest: each names the same index).
#[derive(Debug, Default)]
pub struct ImageIndexCache {
    dir: Option<PathBuf>,
    mem: Mutex<HashMap<String, Arc<ImageIndex>>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The file name of a digest: `sha256:<hex>` → `sha256-<hex>.json`; `None` for anything that is
/// not `<algorithm>:<hex>` (never a path).
fn file_name(digest: &str) -> Option<String> {
    let (alg, hex) = digest.split_once(':')?;
    let ok = !alg.is_empty()
        && alg.bytes().all(|b| b.is_ascii_alphanumeric())
        && !hex.is_empty()
        && hex.bytes().all(|b| b.is_ascii_hexdigit());
    ok.then(|| format!("{alg}-{hex}.json"))
}

impl ImageIndexCache {
    /// A cache in memory, and in `dir` when given (created when missing).
    pub fn new(dir: Option<PathBuf>) -> Self {
        Self {
            dir,
            mem: Mutex::new(HashMap::new()),
        }
    }

    /// The index of the image `digest` names: from memory, else from the directory.
    pub fn get(&self, digest: &str) -> Option<Arc<ImageIndex>> {
        if let Some(i) = lock(&self.mem).get(digest) {
            return Some(i.clone());
        }
        let path = self.dir.as_ref()?.join(file_name(digest)?);
        let index = Arc::new(ImageIndex::load(&path).ok()?);
        self.remember(&index);
        Some(index)
    }

    /// The index of a container's image, when its digest is known and indexed.
    pub fn for_container(&self, container: &ContainerInfo) -> Option<Arc<ImageIndex>> {
        self.get(container.image_digest.as_deref()?)
    }

    fn remember(&self, index: &Arc<ImageIndex>) {
        let mut mem = lock(&self.mem);
        for d in [
            &index.manifest_digest,
            &index.config_digest,
            &index.assigned_digest,
        ]
        .into_iter()
        .flatten()
        {
            mem.insert(d.clone(), index.clone());
        }
    }

    /// Keeps an index (in memory and on disk, under each digest naming it).
    pub fn insert(&self, index: ImageIndex) -> Result<Arc<ImageIndex>, DriftError> {
        let index = Arc::new(index);
        if let Some(dir) = &self.dir {
            std::fs::create_dir_all(dir).map_err(|e| DriftError::io(dir, e))?;
            for d in [
                &index.manifest_digest,
                &index.config_digest,
                &index.assigned_digest,
            ]
            .into_iter()
            .flatten()
            {
                if let Some(name) = file_name(d) {
                    index.save(&dir.join(name))?;
                }
            }
        }
        self.remember(&index);
        Ok(index)
    }

    /// The index of the image at `source`: opened (cheap) to learn its digest, read and indexed
    /// only when no index is cached under that digest. `digest` names a source that has none
    /// (a root filesystem directory).
    pub fn index(
        &self,
        source: &Source,
        digest: Option<&str>,
    ) -> Result<Arc<ImageIndex>, DriftError> {
        let image = Image::open(source, None)?;
        let known = image
            .manifest_digest()
            .map(ToString::to_string)
            .or_else(|| image.config_digest().map(ToString::to_string))
            .or_else(|| digest.map(str::to_string));
        if let Some(i) = known.as_deref().and_then(|d| self.get(d)) {
            return Ok(i);
        }
        let mut index = ImageIndex::build(&image)?;
        if let Some(d) = digest {
            index = index.with_digest(d);
        }
        self.insert(index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_become_file_names_never_paths() {
        assert_eq!(
            file_name(&format!("sha256:{}", "a".repeat(64))),
            Some(format!("sha256-{}.json", "a".repeat(64)))
        );
        assert_eq!(file_name("sha256:../../etc/passwd"), None);
        assert_eq!(file_name("../x:aa"), None);
        assert_eq!(file_name("nodigest"), None);
    }

    #[test]
    fn indexes_are_kept_on_disk_by_digest() {
        let tmp = tempfile::tempdir().unwrap();
        let rootfs = tmp.path().join("rootfs");
        std::fs::create_dir_all(rootfs.join("bin")).unwrap();
        std::fs::write(rootfs.join("bin/app"), "#!/bin/sh\n").unwrap();
        let digest = format!("sha256:{}", "c".repeat(64));
        let cache = ImageIndexCache::new(Some(tmp.path().join("cache")));
        let built = cache
            .index(&Source::Rootfs(rootfs.clone()), Some(&digest))
            .unwrap();
        assert!(built.files.contains_key("/bin/app"));
        // a new cache (a restarted monitor) reads it from disk, without the image
        std::fs::remove_dir_all(&rootfs).unwrap();
        let again = ImageIndexCache::new(Some(tmp.path().join("cache")));
        assert_eq!(again.get(&digest).as_deref(), Some(&*built));
        assert!(again.get(&format!("sha256:{}", "d".repeat(64))).is_none());
    }
}
