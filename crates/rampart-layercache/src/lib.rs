//! The content-addressed layer cache (issue 19): what rampart learnt from each image layer,
//! kept by the layer's diff id and the analysis version, so that an image whose layers were all
//! seen before is assessed without reading a blob, and images sharing a base pay for it once.
//!
//! [`LayerCache`] is a [`LayerStore`]: opaque payloads (rampart-image's layer records) by
//! `(diff_id, analysis)`, in SQLite (a file, the default: [`default_path`]) or PostgreSQL
//! (`postgres://...`, shared by a team or a fleet of workers). One table, the same in both:
//!
//! ```text
//! layer_cache(diff_id, analysis, sha256, payload, size, stored_at, used_at,
//!             PRIMARY KEY (diff_id, analysis))
//! ```
//!
//! - Reads check the payload's sha256 against the row's: a damaged row is a miss, never an
//!   error, and the fresh record that follows overwrites it.
//! - Writes are one upsert (`ON CONFLICT ... DO UPDATE`): idempotent, and safe with several
//!   processes writing the same layer at once (SQLite in WAL mode with a busy timeout;
//!   PostgreSQL's upsert is atomic). A write that fails is an error of the write only: the
//!   caller goes on without the cache.
//! - Rows of other analysis versions are never read; [`LayerCache::purge`] removes them, and
//!   [`LayerCache::trim`] bounds the cache's size, least recently used first.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use rampart_image::{Image, Source};
//! use rampart_inspect::{InspectOptions, inspect_cached};
//! use rampart_layercache::LayerCache;
//!
//! let cache = LayerCache::open("postgres://rampart@db/rampart")?;
//! let image = Image::open(&Source::OciLayout("app-oci".into()), None)?;
//! let opts = InspectOptions { secrets: true, today: jiff::civil::date(2026, 1, 1) };
//! let (inspection, report) = inspect_cached(&image, "app:1", &opts, &cache)?;
//! println!("{} packages, {} of {} layers from the cache",
//!     inspection.packages.len(), report.hits(), report.layers.len());
//! # Ok(()) }
//! ```

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rampart_image::{Digest, LayerStore, MAX_PAYLOAD_BYTES};

/// The version of the cache's schema this crate writes and reads.
pub const SCHEMA_VERSION: i64 = 1;

/// How long an SQLite writer waits for another before its write fails (and the scan goes on
/// without storing that layer).
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// A used row's `used_at` is refreshed at most this often (reads stay reads).
const TOUCH_EVERY_MS: i64 = 3_600_000;

/// The advisory lock PostgreSQL clients take while creating the schema.
const PG_SCHEMA_LOCK: i64 = 0x6c61_7965_7263_6163; // "layercac"

/// What can go wrong with the cache.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// The cache cannot be opened or created.
    #[error("layer cache {location}: {message}")]
    Open { location: String, message: String },
    /// The SQLite file holds something else.
    #[error("layer cache {location}: not a rampart layer cache ({message})")]
    Foreign { location: String, message: String },
    /// A newer rampart made the cache.
    #[error(
        "layer cache {location}: schema version {found}, this rampart knows up to {SCHEMA_VERSION}"
    )]
    Newer { location: String, found: i64 },
    /// No place for the default cache.
    #[error(
        "no cache directory for the layer cache: set RAMPART_CACHE_DIR, XDG_CACHE_HOME or HOME"
    )]
    NoCacheDir,
    /// An SQLite error.
    #[error("layer cache {location}: sqlite: {message}")]
    Sqlite { location: String, message: String },
    /// A PostgreSQL error.
    #[error("layer cache {location}: postgresql: {message}")]
    Postgres { location: String, message: String },
}

/// rampart's cache directory: `$RAMPART_CACHE_DIR`, else `$XDG_CACHE_HOME/rampart`, else
/// `~/.cache/rampart` (where the advisory database also lives).
pub fn cache_dir() -> Result<PathBuf, CacheError> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(d) = var("RAMPART_CACHE_DIR") {
        return Ok(PathBuf::from(d));
    }
    if let Some(d) = var("XDG_CACHE_HOME") {
        return Ok(PathBuf::from(d).join("rampart"));
    }
    var("HOME")
        .map(|h| PathBuf::from(h).join(".cache").join("rampart"))
        .ok_or(CacheError::NoCacheDir)
}

/// The default cache: `layers.db` in [`cache_dir`].
pub fn default_path() -> Result<PathBuf, CacheError> {
    Ok(cache_dir()?.join("layers.db"))
}

pub use rampart_core::location::{is_postgres, redacted};

enum Conn {
    Sqlite(rusqlite::Connection),
    Postgres(Box<postgres::Client>),
}

/// An open layer cache. `Sync`: one connection, used by one caller at a time.
pub struct LayerCache {
    conn: Mutex<Conn>,
    /// the location as shown (password redacted)
    location: String,
    /// the SQLite file, when it is one
    file: Option<PathBuf>,
    /// records read may stay decoded in this process ([`LayerCache::keeping_decoded`])
    keep_decoded: bool,
}

impl std::fmt::Debug for LayerCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LayerCache")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

/// What the cache holds for one analysis version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalysisRows {
    /// the analysis version (and options) the rows were made by
    pub analysis: String,
    /// layers recorded
    pub rows: u64,
    /// payload bytes
    pub bytes: u64,
    /// when the newest row was stored (ms since the Unix epoch)
    pub newest_ms: i64,
}

/// What the cache holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheInfo {
    /// where it is (password redacted)
    pub location: String,
    /// per analysis version, most rows first
    pub analyses: Vec<AnalysisRows>,
    /// the SQLite file's size on disk, when it is one
    pub file_bytes: Option<u64>,
}

impl CacheInfo {
    /// Rows of every version.
    pub fn rows(&self) -> u64 {
        self.analyses.iter().map(|a| a.rows).sum()
    }

    /// Payload bytes of every version.
    pub fn bytes(&self) -> u64 {
        self.analyses.iter().map(|a| a.bytes).sum()
    }
}

const SQLITE_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS layer_cache_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO layer_cache_meta (key, value) VALUES ('schema', '1') ON CONFLICT (key) DO NOTHING;
CREATE TABLE IF NOT EXISTS layer_cache (
    diff_id TEXT NOT NULL,
    analysis TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    payload BLOB NOT NULL,
    size BIGINT NOT NULL,
    stored_at BIGINT NOT NULL,
    used_at BIGINT NOT NULL,
    PRIMARY KEY (diff_id, analysis)
);
CREATE INDEX IF NOT EXISTS layer_cache_by_used_at ON layer_cache (used_at);
";

const PG_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS layer_cache_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO layer_cache_meta (key, value) VALUES ('schema', '1') ON CONFLICT (key) DO NOTHING;
CREATE TABLE IF NOT EXISTS layer_cache (
    diff_id TEXT NOT NULL,
    analysis TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    payload BYTEA NOT NULL,
    size BIGINT NOT NULL,
    stored_at BIGINT NOT NULL,
    used_at BIGINT NOT NULL,
    PRIMARY KEY (diff_id, analysis)
);
CREATE INDEX IF NOT EXISTS layer_cache_by_used_at ON layer_cache (used_at);
";

const UPSERT: &str = "INSERT INTO layer_cache (diff_id, analysis, sha256, payload, size, stored_at, used_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $6) \
     ON CONFLICT (diff_id, analysis) DO UPDATE SET sha256 = excluded.sha256, \
     payload = excluded.payload, size = excluded.size, stored_at = excluded.stored_at, \
     used_at = excluded.used_at";

/// `$1` → `?1` for SQLite.
fn sqlite_sql(sql: &str) -> String {
    sql.replace('$', "?")
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

fn pg_message(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {}", db.code().code(), db.message()),
        None => e.to_string(),
    }
}

/// A row as read: its checksum and payload, or its size when over the limit.
struct Row {
    sha256: String,
    payload: Option<Vec<u8>>,
    size: i64,
}

impl LayerCache {
    /// Lets the records read from this cache stay decoded in this process, so a layer met
    /// again (a base under every image of a fleet) is replayed without asking the cache
    /// (`rampart fleet worker`; a single scan asks the cache for each layer).
    pub fn keeping_decoded(mut self) -> Self {
        self.keep_decoded = true;
        self
    }

    /// Opens (creating it when missing) the cache at `location`: an SQLite file path (its
    /// directory is created), or a `postgres://` / `postgresql://` URL.
    pub fn open(location: &str) -> Result<Self, CacheError> {
        let shown = redacted(location);
        let open_err = |message: String| CacheError::Open {
            location: shown.clone(),
            message,
        };
        if is_postgres(location) {
            let mut client = postgres::Client::connect(location, postgres::NoTls)
                .map_err(|e| open_err(pg_message(&e)))?;
            // Clients starting together create the schema one at a time.
            let mut tx = client.transaction().map_err(|e| open_err(pg_message(&e)))?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&PG_SCHEMA_LOCK])
                .map_err(|e| open_err(pg_message(&e)))?;
            // DDL only when the cache is new: even `CREATE INDEX IF NOT EXISTS` locks the table
            // against writers until this transaction ends.
            let exists: bool = tx
                .query_one(
                    "SELECT to_regclass('layer_cache') IS NOT NULL \
                     AND to_regclass('layer_cache_meta') IS NOT NULL",
                    &[],
                )
                .and_then(|r| r.try_get(0))
                .map_err(|e| open_err(pg_message(&e)))?;
            if !exists {
                tx.batch_execute(PG_SCHEMA)
                    .map_err(|e| open_err(pg_message(&e)))?;
            }
            let schema: Option<String> = tx
                .query_opt(
                    "SELECT value FROM layer_cache_meta WHERE key = 'schema'",
                    &[],
                )
                .map_err(|e| open_err(pg_message(&e)))?
                .map(|r| r.try_get(0))
                .transpose()
                .map_err(|e| open_err(pg_message(&e)))?;
            tx.commit().map_err(|e| open_err(pg_message(&e)))?;
            check_schema(&shown, schema)?;
            return Ok(Self {
                conn: Mutex::new(Conn::Postgres(Box::new(client))),
                location: shown,
                file: None,
                keep_decoded: false,
            });
        }
        let path = Path::new(location);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| open_err(e.to_string()))?;
        }
        let conn = rusqlite::Connection::open(path).map_err(|e| open_err(e.to_string()))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| open_err(e.to_string()))?;
        // A file that is not a database fails here, with SQLite's own words.
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| CacheError::Foreign {
                location: shown.clone(),
                message: e.to_string(),
            })?;
        // Another program's database is left alone.
        let tables: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
            .and_then(|mut st| {
                st.query_map([], |r| r.get::<_, String>(0))?
                    .collect::<Result<Vec<_>, _>>()
            })
            .map_err(|e| open_err(e.to_string()))?;
        if !tables.is_empty() && !tables.iter().any(|t| t == "layer_cache_meta") {
            return Err(CacheError::Foreign {
                location: shown,
                message: format!("it holds the tables {}", tables.join(", ")),
            });
        }
        conn.execute_batch(&format!("BEGIN IMMEDIATE; {SQLITE_SCHEMA} COMMIT;"))
            .map_err(|e| open_err(e.to_string()))?;
        let schema: Option<String> = conn
            .query_row(
                "SELECT value FROM layer_cache_meta WHERE key = 'schema'",
                [],
                |r| r.get(0),
            )
            .map_err(|e| open_err(e.to_string()))
            .map(Some)?;
        check_schema(&shown, schema)?;
        Ok(Self {
            conn: Mutex::new(Conn::Sqlite(conn)),
            location: shown,
            file: Some(path.to_path_buf()),
            keep_decoded: false,
        })
    }

    /// Opens the default cache ([`default_path`]).
    pub fn open_default() -> Result<Self, CacheError> {
        let path = default_path()?;
        Self::open(&path.to_string_lossy())
    }

    /// Where the cache is (a URL's password redacted).
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Whether this is a PostgreSQL cache.
    pub fn is_shared(&self) -> bool {
        self.file.is_none()
    }

    fn sqlite_err(&self, e: &rusqlite::Error) -> CacheError {
        CacheError::Sqlite {
            location: self.location.clone(),
            message: e.to_string(),
        }
    }

    fn pg_err(&self, e: &postgres::Error) -> CacheError {
        CacheError::Postgres {
            location: self.location.clone(),
            message: pg_message(e),
        }
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Conn> {
        // A panic while holding the lock cannot leave a half-done write behind (every write is
        // one statement or one transaction): the connection stays usable.
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn read_row(&self, diff_id: &str, analysis: &str) -> Result<Option<Row>, CacheError> {
        let max = MAX_PAYLOAD_BYTES as i64;
        let mut conn = self.conn();
        match &mut *conn {
            Conn::Sqlite(c) => {
                let mut st = c
                    .prepare_cached(
                        "SELECT sha256, CASE WHEN length(payload) <= ?3 THEN payload END, \
                         length(payload) FROM layer_cache WHERE diff_id = ?1 AND analysis = ?2",
                    )
                    .map_err(|e| self.sqlite_err(&e))?;
                let mut rows = st
                    .query(rusqlite::params![diff_id, analysis, max])
                    .map_err(|e| self.sqlite_err(&e))?;
                let Some(r) = rows.next().map_err(|e| self.sqlite_err(&e))? else {
                    return Ok(None);
                };
                use rusqlite::types::ValueRef;
                let text = |v: ValueRef<'_>| match v {
                    ValueRef::Text(t) | ValueRef::Blob(t) => {
                        String::from_utf8_lossy(t).into_owned()
                    }
                    _ => String::new(),
                };
                let sha256 = text(r.get_ref(0).map_err(|e| self.sqlite_err(&e))?);
                // A payload stored as text by another writer reads as its bytes.
                let payload = match r.get_ref(1).map_err(|e| self.sqlite_err(&e))? {
                    ValueRef::Blob(b) | ValueRef::Text(b) => Some(b.to_vec()),
                    _ => None,
                };
                let size = match r.get_ref(2).map_err(|e| self.sqlite_err(&e))? {
                    ValueRef::Integer(n) => n,
                    _ => 0,
                };
                Ok(Some(Row {
                    sha256,
                    payload,
                    size,
                }))
            }
            Conn::Postgres(c) => {
                let row = c
                    .query_opt(
                        "SELECT sha256, CASE WHEN CAST(octet_length(payload) AS BIGINT) <= $3 THEN payload END, \
                         octet_length(payload)::BIGINT FROM layer_cache \
                         WHERE diff_id = $1 AND analysis = $2",
                        &[&diff_id, &analysis, &max],
                    )
                    .map_err(|e| self.pg_err(&e))?;
                let Some(r) = row else { return Ok(None) };
                Ok(Some(Row {
                    sha256: r.try_get(0).map_err(|e| self.pg_err(&e))?,
                    payload: r.try_get(1).map_err(|e| self.pg_err(&e))?,
                    size: r
                        .try_get::<_, Option<i64>>(2)
                        .map_err(|e| self.pg_err(&e))?
                        .unwrap_or(0),
                }))
            }
        }
    }

    /// Refreshes a used row's `used_at` (at most once an hour); a cache that cannot be written
    /// is still read.
    fn touch(&self, diff_id: &str, analysis: &str) {
        let now = now_ms();
        let stale = now - TOUCH_EVERY_MS;
        let sql = "UPDATE layer_cache SET used_at = $3 WHERE diff_id = $1 AND analysis = $2 AND used_at < $4";
        let mut conn = self.conn();
        match &mut *conn {
            Conn::Sqlite(c) => {
                let _ = c.execute(
                    &sqlite_sql(sql),
                    rusqlite::params![diff_id, analysis, now, stale],
                );
            }
            Conn::Postgres(c) => {
                let _ = c.execute(sql, &[&diff_id, &analysis, &now, &stale]);
            }
        }
    }

    /// The payload stored for a layer and analysis, checked against its checksum: `Ok(None)`
    /// when there is none, `Err` with the reason when the row cannot be used (damaged, too
    /// large, unreadable).
    pub fn fetch(&self, diff_id: &Digest, analysis: &str) -> Result<Option<Vec<u8>>, String> {
        let key = diff_id.to_string();
        let row = self.read_row(&key, analysis).map_err(|e| e.to_string())?;
        let Some(row) = row else { return Ok(None) };
        let Some(payload) = row.payload else {
            return Err(format!(
                "the row of {key} holds {} bytes, over the limit of {MAX_PAYLOAD_BYTES}",
                row.size
            ));
        };
        let sum = Digest::sha256_of(&payload);
        if !sum.hex().eq_ignore_ascii_case(row.sha256.trim()) {
            return Err(format!(
                "the row of {key} is damaged: its payload's sha256 is {}, the row says {}",
                sum.hex(),
                row.sha256.chars().take(80).collect::<String>()
            ));
        }
        self.touch(&key, analysis);
        Ok(Some(payload))
    }

    /// Stores (or replaces) the payload of a layer and analysis, with its checksum: one upsert.
    pub fn store(
        &self,
        diff_id: &Digest,
        analysis: &str,
        payload: &[u8],
    ) -> Result<(), CacheError> {
        let key = diff_id.to_string();
        let sha = Digest::sha256_of(payload).hex().to_owned();
        let size = payload.len() as i64;
        let now = now_ms();
        let mut conn = self.conn();
        match &mut *conn {
            Conn::Sqlite(c) => c
                .prepare_cached(&sqlite_sql(UPSERT))
                .and_then(|mut st| {
                    st.execute(rusqlite::params![key, analysis, sha, payload, size, now])
                })
                .map(|_| ())
                .map_err(|e| self.sqlite_err(&e)),
            Conn::Postgres(c) => c
                .execute(UPSERT, &[&key, &analysis, &sha, &payload, &size, &now])
                .map(|_| ())
                .map_err(|e| self.pg_err(&e)),
        }
    }

    /// What the cache holds, per analysis version.
    pub fn info(&self) -> Result<CacheInfo, CacheError> {
        let sql = "SELECT analysis, COUNT(*), CAST(COALESCE(SUM(size), 0) AS BIGINT), MAX(stored_at) \
                   FROM layer_cache GROUP BY analysis ORDER BY COUNT(*) DESC, analysis";
        let mut analyses = Vec::new();
        {
            let mut conn = self.conn();
            match &mut *conn {
                Conn::Sqlite(c) => {
                    let mut st = c.prepare(sql).map_err(|e| self.sqlite_err(&e))?;
                    let rows = st
                        .query_map([], |r| {
                            Ok(AnalysisRows {
                                analysis: r.get(0)?,
                                rows: u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
                                bytes: u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
                                newest_ms: r.get::<_, Option<i64>>(3)?.unwrap_or(0),
                            })
                        })
                        .map_err(|e| self.sqlite_err(&e))?;
                    for row in rows {
                        analyses.push(row.map_err(|e| self.sqlite_err(&e))?);
                    }
                }
                Conn::Postgres(c) => {
                    for r in c.query(sql, &[]).map_err(|e| self.pg_err(&e))? {
                        let get_i64 = |i: usize| -> Result<i64, CacheError> {
                            r.try_get::<_, Option<i64>>(i)
                                .map(Option::unwrap_or_default)
                                .map_err(|e| self.pg_err(&e))
                        };
                        analyses.push(AnalysisRows {
                            analysis: r.try_get(0).map_err(|e| self.pg_err(&e))?,
                            rows: u64::try_from(get_i64(1)?).unwrap_or(0),
                            bytes: u64::try_from(get_i64(2)?).unwrap_or(0),
                            newest_ms: get_i64(3)?,
                        });
                    }
                }
            }
        }
        let file_bytes = self.file.as_ref().map(|f| {
            ["", "-wal"]
                .iter()
                .filter_map(|suffix| {
                    let mut name = f.as_os_str().to_owned();
                    name.push(suffix);
                    std::fs::metadata(PathBuf::from(name)).ok()
                })
                .map(|m| m.len())
                .sum()
        });
        Ok(CacheInfo {
            location: self.location.clone(),
            analyses,
            file_bytes,
        })
    }

    /// Removes the rows of every analysis version for which `keep` is false; the number
    /// removed. An SQLite file is compacted afterwards.
    pub fn purge(&self, keep: &dyn Fn(&str) -> bool) -> Result<u64, CacheError> {
        let doomed: Vec<String> = self
            .info()?
            .analyses
            .into_iter()
            .map(|a| a.analysis)
            .filter(|a| !keep(a))
            .collect();
        let mut removed = 0;
        {
            let mut conn = self.conn();
            for analysis in &doomed {
                removed += match &mut *conn {
                    Conn::Sqlite(c) => {
                        c.execute("DELETE FROM layer_cache WHERE analysis = ?1", [analysis])
                            .map_err(|e| self.sqlite_err(&e))? as u64
                    }
                    Conn::Postgres(c) => c
                        .execute("DELETE FROM layer_cache WHERE analysis = $1", &[analysis])
                        .map_err(|e| self.pg_err(&e))?,
                };
            }
        }
        if removed > 0 {
            self.compact();
        }
        Ok(removed)
    }

    /// Removes the least recently used rows until the payloads take at most `max_bytes`; the
    /// number removed. One transaction.
    pub fn trim(&self, max_bytes: u64) -> Result<u64, CacheError> {
        let max = i64::try_from(max_bytes).unwrap_or(i64::MAX);
        // The newest rows whose running total stays under the bound are kept.
        let sql = "DELETE FROM layer_cache WHERE (diff_id, analysis) IN ( \
                   SELECT diff_id, analysis FROM ( \
                   SELECT diff_id, analysis, \
                   CAST(SUM(size) OVER (ORDER BY used_at DESC, stored_at DESC, diff_id, analysis) AS BIGINT) AS kept \
                   FROM layer_cache) ranked WHERE kept > $1)";
        let removed = {
            let mut conn = self.conn();
            match &mut *conn {
                Conn::Sqlite(c) => c
                    .execute(&sqlite_sql(sql), [max])
                    .map_err(|e| self.sqlite_err(&e))? as u64,
                Conn::Postgres(c) => c.execute(sql, &[&max]).map_err(|e| self.pg_err(&e))?,
            }
        };
        if removed > 0 {
            self.compact();
        }
        Ok(removed)
    }

    /// The payload bytes the cache holds.
    pub fn bytes(&self) -> Result<u64, CacheError> {
        let sql = "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM layer_cache";
        let mut conn = self.conn();
        let n: i64 = match &mut *conn {
            Conn::Sqlite(c) => c
                .query_row(sql, [], |r| r.get(0))
                .map_err(|e| self.sqlite_err(&e))?,
            Conn::Postgres(c) => c
                .query_one(sql, &[])
                .and_then(|r| r.try_get(0))
                .map_err(|e| self.pg_err(&e))?,
        };
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Gives an SQLite file's free pages back (best effort: another process may hold it).
    fn compact(&self) {
        if let Conn::Sqlite(c) = &mut *self.conn() {
            let _ = c.execute_batch("VACUUM; PRAGMA wal_checkpoint(TRUNCATE);");
        }
    }
}

fn check_schema(location: &str, schema: Option<String>) -> Result<(), CacheError> {
    let found = schema
        .as_deref()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .ok_or_else(|| CacheError::Foreign {
            location: location.to_owned(),
            message: format!("its schema version is {schema:?}"),
        })?;
    if found > SCHEMA_VERSION {
        return Err(CacheError::Newer {
            location: location.to_owned(),
            found,
        });
    }
    Ok(())
}

impl LayerStore for LayerCache {
    fn get(&self, diff_id: &Digest, analysis: &str) -> Result<Option<Vec<u8>>, String> {
        self.fetch(diff_id, analysis)
    }

    fn keep_decoded(&self) -> bool {
        self.keep_decoded
    }

    fn put(&self, diff_id: &Digest, analysis: &str, payload: &[u8]) -> Result<(), String> {
        self.store(diff_id, analysis, payload)
            .map_err(|e| e.to_string())
    }

    /// A PostgreSQL cache claims layers with session advisory locks (let go by PostgreSQL when
    /// the process dies); an SQLite cache claims nothing.
    fn claim_reading(&self, layers: &[(String, String)]) -> Result<bool, String> {
        let mut conn = self.conn();
        let Conn::Postgres(c) = &mut *conn else {
            return Ok(true);
        };
        let keys: Vec<i32> = layers.iter().map(|(d, a)| reading_key(d, a)).collect();
        let got: Vec<bool> = c
            .query(
                "SELECT pg_try_advisory_lock($1, k) FROM unnest($2::int4[]) AS k",
                &[&READING_LOCKS, &keys],
            )
            .and_then(|rows| rows.iter().map(|r| r.try_get(0)).collect())
            .map_err(|e| self.pg_err(&e).to_string())?;
        if got.iter().all(|g| *g) {
            return Ok(true);
        }
        let taken: Vec<i32> = keys
            .iter()
            .zip(&got)
            .filter(|(_, g)| **g)
            .map(|(k, _)| *k)
            .collect();
        let _ = c.execute(
            "SELECT pg_advisory_unlock($1, k) FROM unnest($2::int4[]) AS k",
            &[&READING_LOCKS, &taken],
        );
        Ok(false)
    }

    fn release_reading(&self, diff_id: &str, analysis: &str) {
        if let Conn::Postgres(c) = &mut *self.conn() {
            let _ = c.execute(
                "SELECT pg_advisory_unlock($1, $2)",
                &[&READING_LOCKS, &reading_key(diff_id, analysis)],
            );
        }
    }
}

/// The first key of the advisory locks that claim layers for reading (two-key locks: apart
/// from every one-key lock of the fleet's database). Reads "layr".
const READING_LOCKS: i32 = 0x6c61_7972;

/// The second key of a layer's reading lock: 32 bits of sha256 over its diff id and analysis
/// (two layers sharing a key only make one wait for the other's record a while).
fn reading_key(diff_id: &str, analysis: &str) -> i32 {
    let d = Digest::sha256_of(format!("{diff_id}\0{analysis}").as_bytes());
    let hex = d.hex();
    u32::from_str_radix(hex.get(..8).unwrap_or("0"), 16)
        .map_or(0, |n| i32::from_ne_bytes(n.to_ne_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_shown_without_their_password() {
        assert_eq!(
            redacted("postgres://rampart:s3cret@db:5432/x"),
            "postgres://rampart:***@db:5432/x"
        );
        assert_eq!(redacted("/var/cache/layers.db"), "/var/cache/layers.db");
        assert!(is_postgres("postgresql://db/x") && !is_postgres("layers.db"));
        assert_eq!(sqlite_sql("a = $1 AND b = $2"), "a = ?1 AND b = ?2");
    }
}
