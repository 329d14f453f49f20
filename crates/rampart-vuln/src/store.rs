//! The advisory database: one SQLite file (SQLite compiled in, no system library).
//!
//! Readers open it read-only. Writers never change it in place: [`modify`] copies it to a
//! temporary file next to it, changes the copy in one transaction and renames the copy over the
//! original, so a writer killed half-way leaves the previous database whole and usable (the
//! stray temporary is removed by the next writer). Writers hold an exclusive lock on
//! `<db>.lock` so two updates do not race.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use crate::osv::{Affected, Record, SeverityEntry};
use crate::skips::Skips;
use crate::{ecosystem, version_ok};

/// Version of the table layout; a database with another one is rebuilt by `db update`.
/// 2 added the `coverage` table (the OSV ecosystems and releases the database holds
/// advisories for, recorded at every import) and the advisories' `upstream` ids. A schema 1 file
/// still opens: its coverage is derived from its affected entries, its upstream ids are unknown.
pub const SCHEMA_VERSION: i64 = 2;

/// The oldest schema still read.
pub const OLDEST_SCHEMA: i64 = 1;

/// A database error.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// No database file.
    #[error(
        "no vulnerability database at {0}: run `rampart db update` (or `rampart db import PATH` offline)"
    )]
    Missing(String),
    /// SQLite failed.
    #[error("vulnerability database {path}: {source}")]
    Sqlite {
        /// The file.
        path: String,
        /// The cause.
        source: rusqlite::Error,
    },
    /// A file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The database was written by another version of rampart.
    #[error(
        "vulnerability database {path} has schema {found}, this rampart reads {OLDEST_SCHEMA} to {SCHEMA_VERSION}: run `rampart db update`"
    )]
    Schema {
        /// The file.
        path: String,
        /// Its schema version.
        found: i64,
    },
}

impl DbError {
    /// Whether SQLite refused because another connection held a lock past the busy timeout
    /// (or in a case its busy handler does not wait for): trying again later may succeed.
    pub fn is_busy(&self) -> bool {
        matches!(
            self,
            DbError::Sqlite {
                source: rusqlite::Error::SqliteFailure(e, _),
                ..
            } if matches!(
                e.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            )
        )
    }
}

/// What a source (a downloaded ecosystem archive or an imported path) contributed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SourceInfo {
    /// `osv:PyPI` for downloads, the path for imports.
    pub name: String,
    /// Where it was read from (URL or path).
    pub location: String,
    /// RFC 3339 time of the import.
    pub imported_at: String,
    /// Records stored.
    pub records: u64,
    /// Records or parts skipped, by reason.
    pub skipped: BTreeMap<String, u64>,
}

/// `rampart db status`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Status {
    /// The file.
    pub path: String,
    /// Its size in bytes.
    pub size: u64,
    /// RFC 3339 time of the last change.
    pub built_at: Option<String>,
    /// Advisories stored (withdrawn ones included).
    pub advisories: u64,
    /// Withdrawn advisories (never matched).
    pub withdrawn: u64,
    /// Affected-package entries per ecosystem base.
    pub ecosystems: BTreeMap<String, u64>,
    /// The OSV ecosystems (with their release: `Debian:12`, `Ubuntu:Pro:22.04:LTS`, `npm`) the
    /// database holds advisories for, with the number of advisories each.
    pub coverage: BTreeMap<String, u64>,
    /// Whether the coverage was recorded at import (schema 2) rather than derived.
    pub coverage_recorded: bool,
    /// The sources.
    pub sources: Vec<SourceInfo>,
}

/// An advisory, as a finding shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Advisory {
    /// Its id.
    pub id: String,
    /// Other ids.
    pub aliases: Vec<String>,
    /// The upstream ids it refers to (Ubuntu keeps the CVE of `UBUNTU-CVE-...` here, and the
    /// `UBUNTU-CVE-...` records a `USN-...` fixes).
    pub upstream: Vec<String>,
    /// One line.
    pub summary: String,
    /// CVSS vectors and other scores.
    pub severity: Vec<SeverityEntry>,
    /// A severity word from the database (`HIGH`, `MODERATE`, ...).
    pub db_severity: Option<String>,
    /// Links (advisory first).
    pub references: Vec<String>,
    /// Publication time.
    pub published: Option<String>,
    /// Last change.
    pub modified: Option<String>,
}

/// An affected entry found for a package name.
#[derive(Debug, Clone, PartialEq)]
pub struct AffectedRow {
    /// The advisory id.
    pub advisory: String,
    /// The release part of the ecosystem (`12` of `Debian:12`).
    pub release: String,
    /// Ranges, versions and severity.
    pub affected: Affected,
}

/// A read-only open database.
pub struct Database {
    conn: Connection,
    path: PathBuf,
    schema: i64,
    coverage: std::sync::OnceLock<Coverage>,
}

/// The OSV ecosystems a database holds advisories for: (base, release) pairs, `("Debian",
/// "12")`, `("npm", "")`, `("Ubuntu", "Pro:22.04:LTS")`, with the number of advisories.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Coverage {
    /// (base, release) → advisories.
    pub entries: BTreeMap<(String, String), u64>,
}

impl Coverage {
    /// Whether the database holds advisories for the base at all.
    pub fn has_base(&self, base: &str) -> bool {
        self.entries.keys().any(|(b, _)| b == base)
    }

    /// The OSV ecosystem strings of a base (`Debian:11`, `Debian:12`).
    pub fn of_base(&self, base: &str) -> Vec<String> {
        self.entries
            .keys()
            .filter(|(b, _)| b == base)
            .map(|(b, r)| ecosystem::join(b, r))
            .collect()
    }

    /// Every OSV ecosystem string.
    pub fn names(&self) -> Vec<String> {
        self.entries
            .keys()
            .map(|(b, r)| ecosystem::join(b, r))
            .collect()
    }
}

/// The query that derives coverage from the affected entries.
const COVERAGE_QUERY: &str = "SELECT ecosystem, release, count(DISTINCT advisory) FROM affected \
     GROUP BY ecosystem, release";

pub(crate) fn sqlite(path: &Path) -> impl Fn(rusqlite::Error) -> DbError + '_ {
    move |source| DbError::Sqlite {
        path: path.display().to_string(),
        source,
    }
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> DbError + '_ {
    move |source| DbError::Io {
        path: path.display().to_string(),
        source,
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sources (
  name TEXT PRIMARY KEY, location TEXT NOT NULL, imported_at TEXT NOT NULL,
  records INTEGER NOT NULL, skipped TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS advisories (
  id TEXT PRIMARY KEY, source TEXT NOT NULL, modified TEXT, published TEXT, withdrawn TEXT,
  summary TEXT NOT NULL, aliases TEXT NOT NULL, severity TEXT NOT NULL, db_severity TEXT,
  refs TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS advisories_source ON advisories(source);
CREATE TABLE IF NOT EXISTS affected (
  advisory TEXT NOT NULL, ecosystem TEXT NOT NULL, release TEXT NOT NULL, name TEXT NOT NULL,
  data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS affected_pkg ON affected(ecosystem, name);
CREATE INDEX IF NOT EXISTS affected_advisory ON affected(advisory);
CREATE TABLE IF NOT EXISTS coverage (
  ecosystem TEXT NOT NULL, release TEXT NOT NULL, advisories INTEGER NOT NULL,
  PRIMARY KEY (ecosystem, release));
";

impl Database {
    /// Opens the database at `path` read-only.
    pub fn open(path: &Path) -> Result<Self, DbError> {
        if !path.is_file() {
            return Err(DbError::Missing(path.display().to_string()));
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(sqlite(path))?;
        let mut db = Self {
            conn,
            path: path.to_owned(),
            schema: 0,
            coverage: std::sync::OnceLock::new(),
        };
        let found = db
            .meta("schema")?
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(0);
        if !(OLDEST_SCHEMA..=SCHEMA_VERSION).contains(&found) {
            return Err(DbError::Schema {
                path: path.display().to_string(),
                found,
            });
        }
        db.schema = found;
        Ok(db)
    }

    /// The schema version of the file.
    pub fn schema(&self) -> i64 {
        self.schema
    }

    /// The OSV ecosystems and releases the database holds advisories for: as recorded at
    /// import (schema 2), else derived from the affected entries (schema 1). Read once.
    pub fn coverage(&self) -> Result<&Coverage, DbError> {
        if let Some(c) = self.coverage.get() {
            return Ok(c);
        }
        let sql = if self.schema >= 2 {
            "SELECT ecosystem, release, advisories FROM coverage"
        } else {
            COVERAGE_QUERY
        };
        let e = sqlite(&self.path);
        let mut stmt = self.conn.prepare(sql).map_err(&e)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })
            .map_err(&e)?;
        let mut c = Coverage::default();
        for row in rows {
            let (base, release, n) = row.map_err(&e)?;
            c.entries.insert((base, release), n.max(0) as u64);
        }
        Ok(self.coverage.get_or_init(|| c))
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn meta(&self, key: &str) -> Result<Option<String>, DbError> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(sqlite(&self.path))
    }

    /// Metadata and counts.
    pub fn status(&self) -> Result<Status, DbError> {
        let e = sqlite(&self.path);
        let count = |sql: &str| -> Result<u64, DbError> {
            self.conn
                .query_row(sql, [], |r| r.get::<_, i64>(0))
                .map(|n| n.max(0) as u64)
                .map_err(&e)
        };
        let advisories = count("SELECT count(*) FROM advisories")?;
        let withdrawn = count("SELECT count(*) FROM advisories WHERE withdrawn IS NOT NULL")?;
        let mut ecosystems = BTreeMap::new();
        let mut stmt = self
            .conn
            .prepare("SELECT ecosystem, count(*) FROM affected GROUP BY ecosystem")
            .map_err(&e)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .map_err(&e)?;
        for row in rows {
            let (eco, n) = row.map_err(&e)?;
            ecosystems.insert(eco, n.max(0) as u64);
        }
        let mut sources = Vec::new();
        let mut stmt = self
            .conn
            .prepare(
                "SELECT name, location, imported_at, records, skipped FROM sources ORDER BY name",
            )
            .map_err(&e)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, String>(4)?,
                ))
            })
            .map_err(&e)?;
        for row in rows {
            let (name, location, imported_at, records, skipped) = row.map_err(&e)?;
            sources.push(SourceInfo {
                name,
                location,
                imported_at,
                records: records.max(0) as u64,
                skipped: serde_json::from_str(&skipped).unwrap_or_default(),
            });
        }
        let size = std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0);
        let coverage = self
            .coverage()?
            .entries
            .iter()
            .map(|((b, r), n)| (ecosystem::join(b, r), *n))
            .collect();
        Ok(Status {
            coverage,
            coverage_recorded: self.schema >= 2,
            path: self.path.display().to_string(),
            size,
            built_at: self.meta("built_at")?,
            advisories,
            withdrawn,
            ecosystems,
            sources,
        })
    }

    /// Whether the database holds no advisory that can match anything.
    pub fn is_empty(&self) -> Result<bool, DbError> {
        self.conn
            .query_row("SELECT NOT EXISTS (SELECT 1 FROM affected)", [], |r| {
                r.get(0)
            })
            .map_err(sqlite(&self.path))
    }

    /// The affected entries of a (normalized) package name in an ecosystem base, from
    /// advisories that are not withdrawn.
    pub fn affected(&self, base: &str, name: &str) -> Result<Vec<AffectedRow>, DbError> {
        let e = sqlite(&self.path);
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT advisory, release, data FROM affected WHERE ecosystem = ?1 AND name = ?2",
            )
            .map_err(&e)?;
        let rows = stmt
            .query_map(params![base, name], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .map_err(&e)?;
        let mut out = Vec::new();
        for row in rows {
            let (advisory, release, data) = row.map_err(&e)?;
            // Written by `Writer::insert` from a parsed record; a row that does not read back
            // is skipped rather than failing the whole scan.
            if let Ok(affected) = serde_json::from_str(&data) {
                out.push(AffectedRow {
                    advisory,
                    release,
                    affected,
                });
            }
        }
        Ok(out)
    }

    /// One advisory.
    pub fn advisory(&self, id: &str) -> Result<Option<Advisory>, DbError> {
        let e = sqlite(&self.path);
        // Schema 1 has no upstream column: an empty list stands in.
        let sql = if self.schema >= 2 {
            "SELECT id, aliases, summary, severity, db_severity, refs, published, modified, upstream \
             FROM advisories WHERE id = ?1"
        } else {
            "SELECT id, aliases, summary, severity, db_severity, refs, published, modified, '[]' \
             FROM advisories WHERE id = ?1"
        };
        let mut stmt = self.conn.prepare_cached(sql).map_err(&e)?;
        stmt.query_row([id], |r| {
            Ok(Advisory {
                id: r.get(0)?,
                aliases: serde_json::from_str(&r.get::<_, String>(1)?).unwrap_or_default(),
                upstream: serde_json::from_str(&r.get::<_, String>(8)?).unwrap_or_default(),
                summary: r.get(2)?,
                severity: serde_json::from_str(&r.get::<_, String>(3)?).unwrap_or_default(),
                db_severity: r.get(4)?,
                references: serde_json::from_str(&r.get::<_, String>(5)?).unwrap_or_default(),
                published: r.get(6)?,
                modified: r.get(7)?,
            })
        })
        .optional()
        .map_err(e)
    }
}

/// Changes the database at `path` atomically (see the module docs): `change` runs inside one
/// transaction on a copy, which replaces the original only if `change` succeeds.
pub fn modify<T>(
    path: &Path,
    change: impl FnOnce(&mut Writer<'_>) -> Result<T, DbError>,
) -> Result<T, DbError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let lock_path = path.with_extension("lock");
    let lock = std::fs::File::create(&lock_path).map_err(io(&lock_path))?;
    // flock(2), held until this function returns (the guard unlocks on drop; the kernel drops
    // it if the process dies). `File::lock` would do, but needs Rust 1.89 (MSRV is 1.85).
    let _guard = nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, errno)| io(&lock_path)(std::io::Error::from(errno)))?;
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    remove_stale_temporaries(path);
    if path.is_file() {
        std::fs::copy(path, &tmp).map_err(io(path))?;
    }
    let result = (|| {
        let mut conn = Connection::open(&tmp).map_err(sqlite(&tmp))?;
        conn.execute_batch("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;")
            .map_err(sqlite(&tmp))?;
        conn.execute_batch(SCHEMA).map_err(sqlite(&tmp))?;
        migrate(&conn).map_err(sqlite(&tmp))?;
        let out = {
            let tx = conn.transaction().map_err(sqlite(&tmp))?;
            let mut writer = Writer { tx, path: &tmp };
            let out = change(&mut writer)?;
            writer.record_coverage()?;
            writer.set_meta("schema", &SCHEMA_VERSION.to_string())?;
            writer.set_meta("built_at", &now())?;
            writer.tx.commit().map_err(sqlite(&tmp))?;
            out
        };
        conn.execute_batch("VACUUM").map_err(sqlite(&tmp))?;
        conn.close().map_err(|(_, e)| sqlite(&tmp)(e))?;
        let f = std::fs::File::open(&tmp).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
        Ok(out)
    })();
    match result {
        Ok(out) => {
            std::fs::rename(&tmp, path).map_err(io(path))?;
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
            Ok(out)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// Brings a schema 1 file to schema 2 (the tables themselves are created by `SCHEMA`).
fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    let has_upstream: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM pragma_table_info('advisories') WHERE name = 'upstream')",
        [],
        |r| r.get(0),
    )?;
    if !has_upstream {
        conn.execute_batch(
            "ALTER TABLE advisories ADD COLUMN upstream TEXT NOT NULL DEFAULT '[]'",
        )?;
    }
    Ok(())
}

/// Temporaries of writers that died (we hold the lock, so none is alive).
fn remove_stale_temporaries(path: &Path) {
    let (Some(dir), Some(stem)) = (path.parent(), path.file_stem()) else {
        return;
    };
    let prefix = format!("{}.tmp-", stem.to_string_lossy());
    if let Ok(entries) = std::fs::read_dir(if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    }) {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

/// The current time, RFC 3339 UTC.
pub(crate) fn now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Writes into the copy [`modify`] made.
pub struct Writer<'a> {
    tx: rusqlite::Transaction<'a>,
    path: &'a Path,
}

impl Writer<'_> {
    fn set_meta(&mut self, key: &str, value: &str) -> Result<(), DbError> {
        self.tx
            .execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
                params![key, value],
            )
            .map(|_| ())
            .map_err(sqlite(self.path))
    }

    /// Removes everything a source contributed (before it is imported again).
    pub fn clear_source(&mut self, source: &str) -> Result<(), DbError> {
        let e = sqlite(self.path);
        self.tx
            .execute(
                "DELETE FROM affected WHERE advisory IN (SELECT id FROM advisories WHERE source = ?1)",
                [source],
            )
            .map_err(&e)?;
        self.tx
            .execute("DELETE FROM advisories WHERE source = ?1", [source])
            .map_err(&e)?;
        self.tx
            .execute("DELETE FROM sources WHERE name = ?1", [source])
            .map_err(&e)?;
        Ok(())
    }

    /// Records which OSV ecosystems and releases the database now holds advisories for
    /// (withdrawn advisories have no affected rows and count for nothing).
    fn record_coverage(&mut self) -> Result<(), DbError> {
        let e = sqlite(self.path);
        self.tx.execute("DELETE FROM coverage", []).map_err(&e)?;
        self.tx
            .execute(
                &format!("INSERT INTO coverage (ecosystem, release, advisories) {COVERAGE_QUERY}"),
                [],
            )
            .map_err(&e)?;
        Ok(())
    }

    /// Records what a source contributed.
    pub fn set_source(&mut self, info: &SourceInfo) -> Result<(), DbError> {
        let skipped = serde_json::to_string(&info.skipped).unwrap_or_else(|_| "{}".to_owned());
        self.tx
            .execute(
                "INSERT OR REPLACE INTO sources (name, location, imported_at, records, skipped) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    info.name,
                    info.location,
                    info.imported_at,
                    info.records as i64,
                    skipped
                ],
            )
            .map(|_| ())
            .map_err(sqlite(self.path))
    }

    /// Stores a record under `source`, replacing an earlier record with the same id. Parts that
    /// can never match (unknown ecosystems, ranges with versions the ecosystem cannot parse,
    /// `GIT` ranges) are left out and counted in `skips` under `label` (the file or archive
    /// entry). Returns whether anything of the record was stored.
    pub fn insert(
        &mut self,
        source: &str,
        record: &Record,
        label: &str,
        skips: &mut Skips,
    ) -> Result<bool, DbError> {
        let e = sqlite(self.path);
        let mut rows = Vec::new();
        if record.withdrawn.is_none() {
            for (i, aff) in record.affected.iter().enumerate() {
                let Some(pkg) = &aff.package else {
                    skips.add(
                        "affected entry without a package",
                        label,
                        &format!("{}: affected[{i}]", record.id),
                    );
                    continue;
                };
                let (base, release) = ecosystem::split(&pkg.ecosystem);
                let Some(scheme) = rampart_version::Scheme::for_osv_ecosystem(base) else {
                    skips.add(
                        "unknown ecosystem",
                        label,
                        &format!("{}: {:?}", record.id, pkg.ecosystem),
                    );
                    continue;
                };
                if pkg.name.trim().is_empty() {
                    skips.add(
                        "affected entry without a package",
                        label,
                        &format!("{}: affected[{i}]", record.id),
                    );
                    continue;
                }
                let mut kept = Affected {
                    package: None,
                    severity: aff.severity.clone(),
                    ranges: Vec::new(),
                    versions: aff.versions.clone(),
                    ecosystem_specific: None,
                    database_specific: None,
                };
                for range in &aff.ranges {
                    match range.kind.as_str() {
                        "SEMVER" | "ECOSYSTEM" => {}
                        "GIT" => continue,
                        other => {
                            skips.add(
                                "unknown range type",
                                label,
                                &format!("{}: {other:?}", record.id),
                            );
                            continue;
                        }
                    }
                    let scheme = if range.kind == "SEMVER" {
                        rampart_version::Scheme::SemVer
                    } else {
                        scheme
                    };
                    match check_range(scheme, range) {
                        Ok(()) => kept.ranges.push(range.clone()),
                        Err(why) => skips.add(why.0, label, &format!("{}: {}", record.id, why.1)),
                    }
                }
                if kept.ranges.is_empty() && kept.versions.is_empty() {
                    continue;
                }
                let data = serde_json::to_string(&kept).unwrap_or_default();
                rows.push((
                    base.to_owned(),
                    release.to_owned(),
                    ecosystem::normalize_name(base, &pkg.name),
                    data,
                ));
            }
        }
        let stored = record.withdrawn.is_some() || !rows.is_empty();
        if !stored {
            if record.affected.is_empty() {
                skips.add("no affected packages", label, &record.id);
            }
            return Ok(false);
        }
        self.tx
            .execute("DELETE FROM affected WHERE advisory = ?1", [&record.id])
            .map_err(&e)?;
        let summary = summary_of(record);
        let refs: Vec<&str> = record
            .references
            .iter()
            .filter(|r| matches!(r.kind.as_str(), "ADVISORY" | "WEB" | "REPORT"))
            .take(5)
            .map(|r| r.url.as_str())
            .collect();
        let db_severity = record
            .database_specific
            .as_ref()
            .and_then(|d| d.get("severity"))
            .and_then(|s| s.as_str())
            .map(str::to_owned);
        self.tx
            .execute(
                "INSERT OR REPLACE INTO advisories \
                 (id, source, modified, published, withdrawn, summary, aliases, severity, db_severity, refs, upstream) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    record.id,
                    source,
                    record.modified,
                    record.published,
                    record.withdrawn,
                    summary,
                    serde_json::to_string(&record.aliases).unwrap_or_default(),
                    serde_json::to_string(&record.severity).unwrap_or_default(),
                    db_severity,
                    serde_json::to_string(&refs).unwrap_or_default(),
                    serde_json::to_string(&record.upstream).unwrap_or_else(|_| "[]".to_owned()),
                ],
            )
            .map_err(&e)?;
        let mut stmt = self
            .tx
            .prepare_cached("INSERT INTO affected (advisory, ecosystem, release, name, data) VALUES (?1, ?2, ?3, ?4, ?5)")
            .map_err(&e)?;
        for (base, release, name, data) in rows {
            stmt.execute(params![record.id, base, release, name, data])
                .map_err(&e)?;
        }
        Ok(true)
    }
}

/// The summary, or the first sentence of the details.
fn summary_of(record: &Record) -> String {
    if let Some(s) = record
        .summary
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        return s.to_owned();
    }
    let details = record.details.as_deref().unwrap_or("").trim();
    let first = details.split_inclusive(". ").next().unwrap_or(details);
    let mut out: String = first.split_whitespace().collect::<Vec<_>>().join(" ");
    if out.chars().count() > 200 {
        out = out.chars().take(199).collect::<String>() + "…";
    }
    out
}

/// A range is kept only if every event is well-formed and its version parses.
fn check_range(
    scheme: rampart_version::Scheme,
    range: &crate::osv::Range,
) -> Result<(), (&'static str, String)> {
    if range.events.is_empty() {
        return Err(("range without events", String::new()));
    }
    for ev in &range.events {
        let Some(kind) = ev.kind() else {
            return Err(("malformed range event", format!("{ev:?}")));
        };
        let v = match kind {
            crate::osv::EventKind::Introduced(v) => {
                if v == "0" {
                    continue;
                }
                v
            }
            crate::osv::EventKind::Fixed(v)
            | crate::osv::EventKind::LastAffected(v)
            | crate::osv::EventKind::Limit(v) => v,
        };
        if v == "*" && matches!(kind, crate::osv::EventKind::Limit(_)) {
            continue;
        }
        if !version_ok(scheme, v) {
            return Err(("unparseable version", format!("{scheme:?} {v:?}")));
        }
    }
    Ok(())
}
