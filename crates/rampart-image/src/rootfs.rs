//! Walking a root filesystem directory: level by level, each level's directories in parallel
//! (rayon), symlinks never followed, wanted files analyzed by the collector on the worker that
//! found them with seekable access. Entries are then added to the squash in a fixed order, so
//! the result does not depend on thread timing.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;

use crate::fs::{Collector, EntryKind, EntryMeta, FileContent};
use crate::image::{Progress, ProgressEvent};
use crate::squash::Squasher;
use crate::{ImageError, Limits};

/// One directory's children: entries (with analysis results) and subdirectories to walk next.
struct Listing<T> {
    entries: Vec<(String, EntryMeta, Option<T>)>,
    subdirs: Vec<(PathBuf, String)>,
}

pub(crate) fn walk<C: Collector>(
    root: &Path,
    sq: &mut Squasher<'_, C>,
    collector: &C,
    progress: Option<&Progress>,
) -> Result<(), ImageError> {
    let limits = sq.limits().clone();
    let seen = AtomicU64::new(0);
    let mut level: Vec<(PathBuf, String)> = vec![(root.to_path_buf(), String::from("/"))];
    while !level.is_empty() {
        let listings: Vec<Result<Listing<C::Output>, ImageError>> = level
            .par_iter()
            .map(|(dir, vpath)| list(dir, vpath, collector, &limits, &seen))
            .collect();
        let mut next = Vec::new();
        for listing in listings {
            let listing = listing?;
            if let Some(p) = progress {
                p(ProgressEvent::Entries(listing.entries.len() as u64));
            }
            for (path, meta, output) in listing.entries {
                sq.rootfs_entry(path, meta, output)?;
            }
            next.extend(listing.subdirs);
        }
        level = next;
    }
    Ok(())
}

fn list<C: Collector>(
    dir: &Path,
    vpath: &str,
    collector: &C,
    limits: &Limits,
    seen: &AtomicU64,
) -> Result<Listing<C::Output>, ImageError> {
    let shown = dir.display().to_string();
    let mut children: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| ImageError::io(&shown, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| ImageError::io(&shown, e))?;
    let total = seen.fetch_add(children.len() as u64, Ordering::Relaxed) + children.len() as u64;
    if total > limits.max_entries {
        return Err(ImageError::TooManyEntries {
            layer: String::from("rootfs"),
            limit: limits.max_entries,
        });
    }
    children.sort_by_key(std::fs::DirEntry::file_name);
    let mut out = Listing {
        entries: Vec::with_capacity(children.len()),
        subdirs: Vec::new(),
    };
    for child in children {
        let name = child.file_name().to_string_lossy().into_owned();
        let path = crate::path::join(vpath, &name);
        if path.len() > limits.max_path_bytes {
            continue;
        }
        let fpath = child.path();
        // Relative to the open directory (fstatat), not a walk of the whole path; symlinks are
        // not followed.
        let meta = child
            .metadata()
            .map_err(|e| ImageError::io(fpath.display().to_string(), e))?;
        let ft = meta.file_type();
        let kind = if ft.is_file() {
            EntryKind::File
        } else if ft.is_dir() {
            EntryKind::Dir
        } else if ft.is_symlink() {
            EntryKind::Symlink
        } else {
            EntryKind::Other
        };
        let link_target = if kind == EntryKind::Symlink {
            Some(
                std::fs::read_link(&fpath)
                    .map_err(|e| ImageError::io(fpath.display().to_string(), e))?
                    .to_string_lossy()
                    .into_owned(),
            )
        } else {
            None
        };
        let entry = EntryMeta {
            kind,
            mode: meta.mode() & 0o7777,
            uid: u64::from(meta.uid()),
            gid: u64::from(meta.gid()),
            size: if kind == EntryKind::File {
                meta.len()
            } else {
                0
            },
            link_target,
            layer: 0,
            layer_digest: None,
            data_source: None,
        };
        let mut output = None;
        if kind == EntryKind::File && collector.wants(&path, &entry) {
            let mut f = std::fs::File::open(&fpath)
                .map_err(|e| ImageError::io(fpath.display().to_string(), e))?;
            output = collector
                .analyze(
                    &path,
                    &entry,
                    FileContent::File(&mut f),
                    limits.max_file_capture,
                )
                .map_err(|e| ImageError::io(fpath.display().to_string(), e))?;
        } else if kind == EntryKind::Dir {
            out.subdirs.push((fpath, path.clone()));
        }
        out.entries.push((path, entry, output));
    }
    Ok(out)
}
