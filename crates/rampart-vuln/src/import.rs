//! Reading OSV records from archives (`all.zip` as OSV publishes them per ecosystem),
//! directories (a clone of an advisory repository: JSON or YAML files) and single files into
//! the database. Bad input is skipped and counted, never fatal: a corrupt archive or an invalid
//! record is reported with its file and the rest is imported.

use std::io::{Read, Seek};
use std::path::Path;

use rayon::prelude::*;

use crate::osv::Record;
use crate::skips::Skips;
use crate::store::{DbError, Writer};

/// The largest OSV record read (the biggest real ones, Debian's, are a few hundred KiB).
pub const MAX_RECORD: u64 = 16 * 1024 * 1024;
/// The most entries read from one archive.
pub const MAX_ARCHIVE_ENTRIES: usize = 4_000_000;
/// How deep a directory is walked.
const MAX_DEPTH: usize = 32;
/// Records parsed in parallel per batch.
const BATCH: usize = 2048;

/// Reasons that mean the input itself was broken (as opposed to data rampart does not use).
pub const BROKEN: &[&str] = &[
    "corrupt archive",
    "invalid OSV record",
    "unreadable file",
    "record too large",
];

/// What an import stored and skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Imported {
    /// Records read.
    pub read: u64,
    /// Records stored.
    pub stored: u64,
    /// What was skipped and why.
    pub skips: Skips,
}

impl Imported {
    /// Whether some input was broken (corrupt archive, invalid record, unreadable file).
    pub fn had_broken_input(&self) -> bool {
        BROKEN.iter().any(|r| self.skips.counts.contains_key(*r))
    }
}

/// Imports `path` (a `.zip` archive, a directory walked recursively, or one `.json`/`.yaml`
/// file) under the source name `source`, which is cleared first.
pub fn import_path(w: &mut Writer<'_>, source: &str, path: &Path) -> Result<Imported, DbError> {
    let meta = std::fs::metadata(path).map_err(|e| DbError::Io {
        path: path.display().to_string(),
        source: e,
    })?;
    w.clear_source(source)?;
    let mut batch = Batch::new(source);
    if meta.is_dir() {
        walk(w, &mut batch, path, 0)?;
    } else {
        import_file(w, &mut batch, path)?;
    }
    batch.flush(w)?;
    Ok(batch.done)
}

/// Imports an archive already open (a download) under `source`, which is cleared first.
pub fn import_archive<R: Read + Seek>(
    w: &mut Writer<'_>,
    source: &str,
    archive: R,
    label: &str,
) -> Result<Imported, DbError> {
    w.clear_source(source)?;
    let mut batch = Batch::new(source);
    zip_entries(w, &mut batch, archive, label)?;
    batch.flush(w)?;
    Ok(batch.done)
}

fn walk(
    w: &mut Writer<'_>,
    batch: &mut Batch<'_>,
    dir: &Path,
    depth: usize,
) -> Result<(), DbError> {
    let label = dir.display().to_string();
    if depth > MAX_DEPTH {
        batch.done.skips.add("directory too deep", &label, "");
        return Ok(());
    }
    let mut entries: Vec<_> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.flatten().collect(),
        Err(e) => {
            batch
                .done
                .skips
                .add("unreadable file", &label, &e.to_string());
            return Ok(());
        }
    };
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let p = e.path();
        // Symbolic links are not followed: an advisory tree has none, and following them
        // could leave the tree or loop.
        match e.file_type() {
            Ok(t) if t.is_dir() => walk(w, batch, &p, depth + 1)?,
            Ok(t) if t.is_file() => import_file(w, batch, &p)?,
            _ => {}
        }
    }
    Ok(())
}

fn import_file(w: &mut Writer<'_>, batch: &mut Batch<'_>, path: &Path) -> Result<(), DbError> {
    let label = path.display().to_string();
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "zip" => match std::fs::File::open(path) {
            Ok(f) => zip_entries(w, batch, std::io::BufReader::new(f), &label),
            Err(e) => {
                batch
                    .done
                    .skips
                    .add("unreadable file", &label, &e.to_string());
                Ok(())
            }
        },
        "json" | "yaml" | "yml" => {
            let mut buf = Vec::new();
            match std::fs::File::open(path)
                .and_then(|f| f.take(MAX_RECORD + 1).read_to_end(&mut buf))
            {
                Ok(_) if buf.len() as u64 > MAX_RECORD => {
                    batch.done.skips.add("record too large", &label, "");
                    Ok(())
                }
                Ok(_) => batch.push(w, label, ext != "json", buf),
                Err(e) => {
                    batch
                        .done
                        .skips
                        .add("unreadable file", &label, &e.to_string());
                    Ok(())
                }
            }
        }
        _ => Ok(()),
    }
}

fn zip_entries<R: Read + Seek>(
    w: &mut Writer<'_>,
    batch: &mut Batch<'_>,
    reader: R,
    label: &str,
) -> Result<(), DbError> {
    let mut zip = match zip::ZipArchive::new(reader) {
        Ok(z) => z,
        Err(e) => {
            batch
                .done
                .skips
                .add("corrupt archive", label, &e.to_string());
            return Ok(());
        }
    };
    if zip.len() > MAX_ARCHIVE_ENTRIES {
        batch.done.skips.add(
            "corrupt archive",
            label,
            &format!("{} entries (limit {MAX_ARCHIVE_ENTRIES})", zip.len()),
        );
        return Ok(());
    }
    for i in 0..zip.len() {
        let mut entry = match zip.by_index(i) {
            Ok(e) => e,
            Err(e) => {
                batch
                    .done
                    .skips
                    .add("corrupt archive", &format!("{label}[{i}]"), &e.to_string());
                continue;
            }
        };
        if !entry.is_file() {
            continue;
        }
        let name = entry.name().to_owned();
        let lower = name.to_ascii_lowercase();
        let yaml = lower.ends_with(".yaml") || lower.ends_with(".yml");
        if !yaml && !lower.ends_with(".json") {
            continue;
        }
        let where_ = format!("{label}:{name}");
        let mut buf = Vec::new();
        // The declared size is not trusted: the read is bounded whatever the header says.
        match (&mut entry).take(MAX_RECORD + 1).read_to_end(&mut buf) {
            Ok(_) if buf.len() as u64 > MAX_RECORD => {
                batch.done.skips.add("record too large", &where_, "")
            }
            // A CRC mismatch or a truncated stream surfaces here, at the end of the entry.
            Ok(_) => {
                drop(entry);
                batch.push(w, where_, yaml, buf)?;
            }
            Err(e) => batch
                .done
                .skips
                .add("corrupt archive", &where_, &e.to_string()),
        }
    }
    Ok(())
}

/// Raw records waiting to be parsed (in parallel) and stored (in order).
struct Batch<'s> {
    source: &'s str,
    pending: Vec<(String, bool, Vec<u8>)>,
    done: Imported,
}

impl<'s> Batch<'s> {
    fn new(source: &'s str) -> Self {
        Self {
            source,
            pending: Vec::new(),
            done: Imported::default(),
        }
    }

    fn push(
        &mut self,
        w: &mut Writer<'_>,
        label: String,
        yaml: bool,
        bytes: Vec<u8>,
    ) -> Result<(), DbError> {
        self.pending.push((label, yaml, bytes));
        if self.pending.len() >= BATCH {
            self.flush(w)?;
        }
        Ok(())
    }

    fn flush(&mut self, w: &mut Writer<'_>) -> Result<(), DbError> {
        let parsed: Vec<(String, Result<Record, String>)> = std::mem::take(&mut self.pending)
            .into_par_iter()
            .map(|(label, yaml, bytes)| {
                let r = if yaml {
                    match std::str::from_utf8(&bytes) {
                        Ok(text) => Record::from_yaml(text).map_err(|e| e.to_string()),
                        Err(e) => Err(format!("not UTF-8: {e}")),
                    }
                } else {
                    Record::from_json(&bytes).map_err(|e| e.to_string())
                };
                (label, r)
            })
            .collect();
        for (label, r) in parsed {
            self.done.read += 1;
            match r {
                Ok(record) => {
                    if w.insert(self.source, &record, &label, &mut self.done.skips)? {
                        self.done.stored += 1;
                    }
                }
                Err(e) => self.done.skips.add("invalid OSV record", &label, &e),
            }
        }
        Ok(())
    }
}
