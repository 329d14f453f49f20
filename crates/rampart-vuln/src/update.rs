//! `rampart db update`: download OSV's per-ecosystem archives (`<source>/<ecosystem>/all.zip`,
//! the layout of <https://osv-vulnerabilities.storage.googleapis.com> and of any mirror) and
//! import them, all in one atomic change of the database.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::import::{Imported, import_archive};
use crate::store::{DbError, SourceInfo, modify, now};

/// OSV's public bucket.
pub const DEFAULT_SOURCE: &str = "https://osv-vulnerabilities.storage.googleapis.com";

/// The ecosystems downloaded by default: those rampart's catalogers find packages of.
pub const DEFAULT_ECOSYSTEMS: &[&str] = &[
    "Debian",
    "Ubuntu",
    "Alpine",
    "Red Hat",
    "Rocky Linux",
    "AlmaLinux",
    "PyPI",
    "npm",
    "Go",
    "crates.io",
    "Maven",
    "RubyGems",
    "NuGet",
];

/// The largest archive downloaded (OSV's biggest, Debian's, is well under this).
pub const MAX_ARCHIVE: u64 = 8 * 1024 * 1024 * 1024;

/// What to download.
#[derive(Debug, Clone)]
pub struct UpdateOptions {
    /// Base URL (`https://...` or `http://...`).
    pub source: String,
    /// OSV ecosystem names.
    pub ecosystems: Vec<String>,
    /// Extra CA bundle for an HTTPS mirror.
    pub ca_file: Option<PathBuf>,
    /// Connect and read timeout.
    pub timeout: Duration,
}

impl Default for UpdateOptions {
    fn default() -> Self {
        Self {
            source: DEFAULT_SOURCE.to_owned(),
            ecosystems: DEFAULT_ECOSYSTEMS.iter().map(|s| (*s).to_owned()).collect(),
            ca_file: None,
            timeout: Duration::from_secs(60),
        }
    }
}

/// An update failure that kept the previous database.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    /// The database could not be written.
    #[error(transparent)]
    Db(#[from] DbError),
    /// Downloads failed; nothing was changed.
    #[error("download failed, the database was not changed: {0}")]
    Download(String),
    /// Bad options.
    #[error("{0}")]
    Options(String),
}

/// What one ecosystem's archive gave.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EcosystemUpdate {
    /// The OSV ecosystem.
    pub ecosystem: String,
    /// The URL.
    pub url: String,
    /// Bytes downloaded.
    pub bytes: u64,
    /// What the import stored and skipped.
    pub imported: Imported,
}

/// Downloads every ecosystem's archive, then imports them into the database at `db` in one
/// atomic change. A failed download changes nothing: the previous database stays as it was.
/// An archive that downloads but is corrupt leaves that ecosystem's previous data in place
/// and is reported in its `imported.skips`.
pub fn update(
    db: &Path,
    opts: &UpdateOptions,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<Vec<EcosystemUpdate>, UpdateError> {
    let source = opts.source.trim_end_matches('/');
    let insecure = if source.starts_with("http://") {
        true
    } else if source.starts_with("https://") {
        false
    } else {
        return Err(UpdateError::Options(format!(
            "database source {source:?}: expected an http:// or https:// URL (use `rampart db import PATH` for local files)"
        )));
    };
    if opts.ecosystems.is_empty() {
        return Err(UpdateError::Options("no ecosystems to update".to_owned()));
    }
    let agent = agent(opts, insecure)?;
    let dir = db.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| DbError::Io {
        path: dir.display().to_string(),
        source: e,
    })?;
    let mut downloads = Vec::new();
    for eco in &opts.ecosystems {
        let url = format!("{source}/{}/all.zip", encode_segment(eco));
        progress(&format!("downloading {url}"));
        let file = tempfile_in(dir)?;
        let (file, bytes) = download(&agent, &url, file).map_err(UpdateError::Download)?;
        downloads.push((eco.clone(), url, file, bytes));
    }
    let updates = modify(db, |w| {
        let mut out = Vec::new();
        for (eco, url, mut file, bytes) in downloads {
            progress(&format!("importing {eco}"));
            let name = format!("osv:{eco}");
            file.seek(SeekFrom::Start(0)).map_err(|e| DbError::Io {
                path: url.clone(),
                source: e,
            })?;
            // A corrupt archive must not wipe the ecosystem's previous data: check it opens
            // before clearing the source.
            let opens = zip::ZipArchive::new(std::io::BufReader::new(&mut file)).is_ok();
            file.seek(SeekFrom::Start(0)).map_err(|e| DbError::Io {
                path: url.clone(),
                source: e,
            })?;
            let imported = if opens {
                let imported = import_archive(w, &name, std::io::BufReader::new(file), &url)?;
                w.set_source(&SourceInfo {
                    name,
                    location: url.clone(),
                    imported_at: now(),
                    records: imported.stored,
                    skipped: imported.skips.counts.clone(),
                })?;
                imported
            } else {
                let mut imported = Imported::default();
                imported.skips.add(
                    "corrupt archive",
                    &url,
                    "not a zip archive; previous data kept",
                );
                imported
            };
            out.push(EcosystemUpdate {
                ecosystem: eco,
                url,
                bytes,
                imported,
            });
        }
        Ok(out)
    })?;
    Ok(updates)
}

fn tempfile_in(dir: &Path) -> Result<std::fs::File, UpdateError> {
    // Unnamed temporary files (O_TMPFILE or unlinked at once): a killed download leaves nothing.
    tempfile_unnamed(dir).map_err(|e| {
        UpdateError::Db(DbError::Io {
            path: dir.display().to_string(),
            source: e,
        })
    })
}

fn tempfile_unnamed(dir: &Path) -> std::io::Result<std::fs::File> {
    let path = dir.join(format!(".download-{}-{}", std::process::id(), unique()));
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)?;
    std::fs::remove_file(&path)?;
    Ok(f)
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

fn agent(opts: &UpdateOptions, insecure: bool) -> Result<ureq::Agent, UpdateError> {
    let tls = rampart_registry::tls_config(opts.ca_file.as_deref())
        .map_err(|e| UpdateError::Options(e.to_string()))?;
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .https_only(!insecure)
        .tls_config(tls)
        .max_redirects(5)
        .user_agent(concat!("rampart/", env!("CARGO_PKG_VERSION")))
        .timeout_connect(Some(opts.timeout))
        .timeout_recv_response(Some(opts.timeout))
        .timeout_per_read(Some(opts.timeout))
        .build();
    Ok(config.new_agent())
}

fn download(
    agent: &ureq::Agent,
    url: &str,
    mut file: std::fs::File,
) -> Result<(std::fs::File, u64), String> {
    let resp = agent.get(url).call().map_err(|e| format!("{url}: {e}"))?;
    let status = resp.status();
    if !status.is_success() {
        return Err(format!("{url}: HTTP {status}"));
    }
    let mut reader = resp
        .into_body()
        .into_with_config()
        .limit(MAX_ARCHIVE + 1)
        .reader();
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0u64;
    loop {
        let n = reader.read(&mut buf).map_err(|e| format!("{url}: {e}"))?;
        if n == 0 {
            break;
        }
        total += n as u64;
        if total > MAX_ARCHIVE {
            return Err(format!("{url}: larger than {MAX_ARCHIVE} bytes"));
        }
        file.write_all(buf.get(..n).unwrap_or_default())
            .map_err(|e| format!("{url}: writing the download: {e}"))?;
    }
    Ok((file, total))
}

/// Percent-encodes a path segment (`Red Hat` → `Red%20Hat`).
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b':') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
