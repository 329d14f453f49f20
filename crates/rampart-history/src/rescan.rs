//! Recording inventory rescans: what `rampart inventory rescan --format json` (an array of
//! `rampart_vuln::inventory::Rescanned`) says changed per image since its last match, imported
//! as one run of kind `rescan` with one event of kind `rescan` per image.
//!
//! - **What an event keeps.** A compact JSON (the image's name and id, the vulnerabilities it
//!   has now, the new ones with id, severity and purl, the fixed ones, how many findings were
//!   kept unchecked and the ecosystems not checked) and, in columns, the image id (`image`: its
//!   digest, or `path:...` for a root filesystem or an SBOM), the name it was scanned under
//!   (`image_ref`) and the rank of the worst new vulnerability (`level`: 0 when nothing is new,
//!   then info 1, low 2, medium 3, high 4, critical 5), which the escape-later metric reads.
//! - **When.** Each entry's `rescanned_at` (written by `rampart inventory rescan` since the
//!   history records rescans), else the time the caller gives (a saved file's modification
//!   time, `--at`).
//! - **Once.** An event is keyed by the image id and the rescan's time, so a file imported
//!   twice, or a rescan recorded directly (`--history`) and its saved output imported later,
//!   counts once.
//! - **Whole or nothing.** A file that is not a rescan's output (another JSON document, an
//!   entry without an image, a severity rampart does not know) is an error naming the file,
//!   and nothing of it is written.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::sql::Val;
use crate::{HistoryError, Store};

/// What an import of a rescan added.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Imported {
    /// the run of the import
    pub run: i64,
    /// images recorded
    pub images: u64,
    /// images of this rescan already in the store (the same image and time), skipped
    pub duplicates: u64,
    /// new vulnerabilities in the images recorded
    pub new: u64,
}

/// One image of a rescan, as `rampart inventory rescan --format json` writes it (the fields
/// recorded).
#[derive(Debug, Deserialize)]
struct Entry {
    image: ImageEntry,
    total: u64,
    new: Vec<NewVuln>,
    fixed: Vec<(String, String)>,
    #[serde(default)]
    not_checked: Vec<(String, String)>,
    #[serde(default)]
    unchecked_packages: BTreeMap<String, u64>,
    #[serde(default)]
    rescanned_at: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ImageEntry {
    id: String,
    name: String,
}

#[derive(Debug, Deserialize)]
struct NewVuln {
    id: String,
    severity: String,
    package: Package,
    #[serde(default)]
    waived: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct Package {
    purl: String,
}

/// The compact record of one image's rescan (the event's `data`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RescanEvent {
    /// the name the image was scanned under
    pub image: String,
    /// its id: the image digest, or `path:...`
    pub id: String,
    /// vulnerabilities it has now
    pub total: u64,
    /// vulnerabilities that were not there at the last match
    pub new: Vec<NewRecord>,
    /// `(id, purl)` pairs gone since the last match
    pub fixed: Vec<(String, String)>,
    /// findings of the last match kept because their package could not be checked
    pub not_checked: u64,
    /// packages not checked, by OSV ecosystem
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unchecked: BTreeMap<String, u64>,
}

/// A new vulnerability, as a rescan event keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewRecord {
    /// the vulnerability id shown (the CVE when there is one)
    pub id: String,
    /// its severity (`critical`, `high`, `medium`, `low`, `info`)
    pub severity: String,
    /// the package's purl
    pub purl: String,
    /// waived by a VEX statement (not counted as an escape)
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub waived: bool,
}

/// The rank of a severity (info 1 .. critical 5), `None` for a word rampart does not use.
pub fn severity_rank(severity: &str) -> Option<i64> {
    match severity.to_ascii_lowercase().as_str() {
        "info" => Some(1),
        "low" => Some(2),
        "medium" => Some(3),
        "high" => Some(4),
        "critical" => Some(5),
        _ => None,
    }
}

/// Whether `text` looks like a saved rescan: a JSON array whose entries have an `image`, `new`
/// and `fixed`. (An empty array is not told from other JSON: it records nothing anyway.)
pub fn looks_like_rescan(text: &str) -> bool {
    let Ok(serde_json::Value::Array(items)) = serde_json::from_str::<serde_json::Value>(text)
    else {
        return false;
    };
    !items.is_empty()
        && items.iter().all(|i| {
            i.get("image").is_some_and(serde_json::Value::is_object)
                && i.get("new").is_some_and(serde_json::Value::is_array)
                && i.get("fixed").is_some_and(serde_json::Value::is_array)
        })
}

/// Records a rescan's output (`origin` names it in errors) in one transaction; `at` (ms since
/// the epoch) is its time when the entries do not carry one.
pub fn record_rescan(
    store: &mut Store,
    text: &str,
    origin: &str,
    at: i64,
) -> Result<Imported, HistoryError> {
    let err = |message: String| HistoryError::Report {
        origin: origin.to_owned(),
        message,
    };
    let entries: Vec<Entry> = serde_json::from_str(text).map_err(|e| HistoryError::Report {
        origin: format!("{origin}:{}:{}", e.line(), e.column()),
        message: format!("not an inventory rescan (`rampart inventory rescan --format json`): {e}"),
    })?;
    let mut parsed = Vec::with_capacity(entries.len());
    for (i, e) in entries.into_iter().enumerate() {
        let when = match &e.rescanned_at {
            Some(t) => t
                .parse::<jiff::Timestamp>()
                .map_err(|x| err(format!("entry {}: rescanned_at {t:?}: {x}", i + 1)))?
                .as_millisecond(),
            None => at,
        };
        let mut level = 0;
        let mut new = Vec::with_capacity(e.new.len());
        for v in e.new {
            let rank = severity_rank(&v.severity).ok_or_else(|| {
                err(format!(
                    "entry {} ({}): {}: unknown severity {:?}",
                    i + 1,
                    e.image.name,
                    v.id,
                    v.severity
                ))
            })?;
            let waived = v.waived.is_some_and(|w| !w.is_null());
            if !waived {
                level = level.max(rank);
            }
            new.push(NewRecord {
                id: clean(&v.id),
                severity: v.severity.to_ascii_lowercase(),
                purl: clean(&v.package.purl),
                waived,
            });
        }
        let record = RescanEvent {
            image: clean(&e.image.name),
            id: clean(&e.image.id),
            total: e.total,
            new,
            fixed: e.fixed.iter().map(|(a, b)| (clean(a), clean(b))).collect(),
            not_checked: e.not_checked.len() as u64,
            unchecked: e
                .unchecked_packages
                .into_iter()
                .map(|(k, v)| (clean(&k), v))
                .collect(),
        };
        let data =
            serde_json::to_string(&record).map_err(|x| err(format!("entry {}: {x}", i + 1)))?;
        parsed.push((when, level, record, data));
    }
    let now = crate::now_ms();
    store.write(|tx| {
        let first = parsed.iter().map(|p| p.0).min().unwrap_or(at);
        let run = crate::event_run(tx, "rescan", first, now, None, "inventory", origin)?;
        let mut out = Imported {
            run,
            ..Imported::default()
        };
        for (when, level, record, data) in &parsed {
            let key = format!("{}@{when}", record.id);
            let n = tx.exec(
                "INSERT INTO events (run_id, at, kind, subject_id, data, key, image, image_ref, level)
                 VALUES ($1, $2, 'rescan', NULL, $3, $4, $5, $6, $7)
                 ON CONFLICT (kind, key) DO NOTHING",
                &[
                    run.into(),
                    (*when).into(),
                    data.as_str().into(),
                    Val::from(key),
                    record.id.as_str().into(),
                    record.image.as_str().into(),
                    (*level).into(),
                ],
            )?;
            if n == 1 {
                out.images += 1;
                out.new += record.new.len() as u64;
            } else {
                out.duplicates += 1;
            }
        }
        Ok(out)
    })
}

/// Text as both databases store it (PostgreSQL's TEXT holds no NUL).
fn clean(s: &str) -> String {
    s.replace('\0', "\u{FFFD}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rescan_is_told_from_other_json() {
        assert!(looks_like_rescan(
            r#"[{"image": {"id": "sha256:1", "name": "a"}, "total": 0, "new": [], "fixed": []}]"#
        ));
        assert!(!looks_like_rescan("[]"));
        assert!(!looks_like_rescan(r#"{"schema_version": "1.3"}"#));
        assert!(!looks_like_rescan(
            r#"[{"image": "a", "new": [], "fixed": []}]"#
        ));
        assert_eq!(severity_rank("High"), Some(4));
        assert_eq!(severity_rank("severe"), None);
    }
}
