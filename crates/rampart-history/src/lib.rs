//! The measurement layer's store (issue 16): what rampart saw, over time.
//!
//! An append-only log of runs (a scan, an admission decision, a rescan, a monitor event) with
//! change-only snapshots, as Dependency-Track keeps them: a subject's layer state is a span
//! (`since` .. `last_seen`) that ends only when the state changes; a finding is one row per
//! fingerprint with first seen, last seen, resolved and reopened. SQLite by default (a file, no
//! server), PostgreSQL for teams (`postgres://...`): the same schema, the same queries and the
//! same migrations ([`schema`]), through [`sql::Tx`].
//!
//! Every write is one transaction: a run is recorded whole or not at all. Writers are
//! serialised (SQLite `BEGIN IMMEDIATE` with a busy timeout; PostgreSQL an advisory
//! transaction lock), so concurrent writers lose nothing.

pub mod admission;
pub mod alerts;
pub mod metrics;
pub mod rescan;
pub mod scan;
pub mod schema;
pub mod sql;

use std::time::Duration;

use sql::{Conn, Dialect, Tx};

/// What can go wrong with the store.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The store cannot be opened or is not a rampart store.
    #[error("{location}: {message}")]
    Open { location: String, message: String },
    /// The database holds something else.
    #[error("not a rampart history store: {0}")]
    Foreign(String),
    /// A newer rampart migrated the store.
    #[error(
        "the store is at schema version {store}, this rampart knows up to {known}: upgrade rampart"
    )]
    Newer { store: i64, known: i64 },
    /// An SQLite error.
    #[error("sqlite: {0}")]
    Sqlite(String),
    /// A PostgreSQL error.
    #[error("postgresql: {0}")]
    Postgres(String),
    /// A report that cannot be recorded (its origin, and why).
    #[error("{origin}: {message}")]
    Report { origin: String, message: String },
    /// An option the metrics cannot use (which, and why).
    #[error("{0}")]
    Invalid(String),
}

impl HistoryError {
    /// Whether another writer held the store (worth retrying).
    fn is_contention(&self) -> bool {
        match self {
            HistoryError::Sqlite(m) => m.contains("database is locked") || m.contains("busy"),
            // serialization_failure, deadlock_detected
            HistoryError::Postgres(m) => m.starts_with("40001") || m.starts_with("40P01"),
            _ => false,
        }
    }
}

/// How long an SQLite writer waits for another.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// The advisory lock every PostgreSQL writer takes (one writer at a time per database).
const PG_WRITE_LOCK: i64 = 0x0072_616d_7061_7274; // "rampart" in ASCII

/// An open store.
pub struct Store {
    conn: Conn,
    location: String,
    /// where it was opened (a URL's password kept: for a second connection)
    opened: String,
    /// a second connection, opened on first use by [`Store::parallel`]
    aside: Option<Box<Store>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("location", &self.location)
            .field("dialect", &self.dialect())
            .finish()
    }
}

/// Records the run of an import of events (`kind`: admission, alert, rescan) and returns its
/// id: at its first event's time, in the cluster's scope (else `scope`).
pub(crate) fn event_run(
    tx: &mut sql::Tx<'_>,
    kind: &str,
    at: i64,
    recorded_at: i64,
    cluster: Option<&str>,
    scope: &str,
    origin: &str,
) -> Result<i64, HistoryError> {
    tx.one(
        "INSERT INTO runs (kind, at, recorded_at, scope, cluster, origin, complete) VALUES ($1, $2, $3, $4, $5, $6, 1) RETURNING id",
        &[
            kind.into(),
            at.into(),
            recorded_at.into(),
            cluster.unwrap_or(scope).into(),
            cluster.map(str::to_owned).into(),
            origin.into(),
        ],
    )?
    .and_then(|v| v.int())
    .ok_or_else(|| HistoryError::Sqlite("no id returned for the run".into()))
}

/// The first non-empty line of a JSON-lines file, parsed (how an import tells an audit log
/// from an alert log).
pub(crate) fn first_json_line(text: &str) -> Option<serde_json::Value> {
    text.lines()
        .find(|l| !l.trim().is_empty())
        .and_then(|l| serde_json::from_str(l).ok())
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

pub use rampart_core::location::{is_postgres, redacted};

impl Store {
    /// Opens (creating a new SQLite file, or a new schema in an empty PostgreSQL database) and
    /// migrates the store at `location`: a path, or a `postgres://` URL.
    pub fn open(location: &str) -> Result<Self, HistoryError> {
        let shown = redacted(location);
        let open_err = |message: String| HistoryError::Open {
            location: shown.clone(),
            message,
        };
        let conn = if is_postgres(location) {
            let client = postgres::Client::connect(location, postgres::NoTls)
                .map_err(|e| open_err(sql::pg_message(&e)))?;
            Conn::Postgres(Box::new(client))
        } else {
            let c = rusqlite::Connection::open(location).map_err(|e| open_err(e.to_string()))?;
            c.busy_timeout(BUSY_TIMEOUT)
                .map_err(|e| open_err(e.to_string()))?;
            // a file that is not a database fails here, with SQLite's own words
            c.pragma_update(None, "journal_mode", "WAL")
                .map_err(|e| open_err(format!("not a rampart history store ({e})")))?;
            c.pragma_update(None, "foreign_keys", "ON")
                .map_err(|e| open_err(e.to_string()))?;
            Conn::Sqlite(c)
        };
        let mut store = Store {
            conn,
            location: shown.clone(),
            opened: location.to_owned(),
            aside: None,
        };
        let now = now_ms();
        store
            .write(|tx| schema::migrate(tx, now))
            .map_err(|e| match e {
                HistoryError::Open { .. } => e,
                other => open_err(other.to_string()),
            })?;
        store.optimize();
        Ok(store)
    }

    /// Keeps SQLite's planner statistics current: the tables never analysed, or grown much
    /// since, are analysed (on a sample: `analysis_limit`). Without statistics SQLite reads a
    /// scope's findings through the wrong index (a scoped metric took 0.6 s instead of 5 ms at
    /// a year). PostgreSQL's autovacuum does the same there. Statistics only steer the
    /// planner, so a store that cannot be written (read-only file) is used without them.
    fn optimize(&mut self) {
        if let Conn::Sqlite(c) = &self.conn {
            let _ = c.execute_batch("PRAGMA optimize = 0x10002;");
        }
    }

    /// Runs `a` on a second connection to the store while `b` runs on this one (each with
    /// its own transactions), and returns both results: two readers use two cores. The
    /// second connection is opened on first use and kept. An SQLite store in memory (which a
    /// second connection would not see) runs them one after the other.
    pub fn parallel<A: Send, B>(
        &mut self,
        a: impl FnOnce(&mut Store) -> A + Send,
        b: impl FnOnce(&mut Store) -> B,
    ) -> Result<(A, B), HistoryError> {
        let in_memory = matches!(self.conn, Conn::Sqlite(_))
            && (self.opened.is_empty() || self.opened.starts_with(":memory:"));
        if in_memory {
            let ra = a(self);
            return Ok((ra, b(self)));
        }
        let mut aside = match self.aside.take() {
            Some(s) => s,
            None => Box::new(Store::open(&self.opened)?),
        };
        let (ra, rb) = std::thread::scope(|scope| {
            let other = scope.spawn(|| a(&mut aside));
            let rb = b(self);
            (other.join(), rb)
        });
        self.aside = Some(aside);
        match ra {
            Ok(ra) => Ok((ra, rb)),
            Err(_) => Err(HistoryError::Invalid(
                "a reader on the second connection failed".to_owned(),
            )),
        }
    }

    /// Where the store is (a URL's password redacted).
    pub fn location(&self) -> &str {
        &self.location
    }

    /// SQLite or PostgreSQL.
    pub fn dialect(&self) -> Dialect {
        match self.conn {
            Conn::Sqlite(_) => Dialect::Sqlite,
            Conn::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Runs `f` in a write transaction, alone among writers, committing when it succeeds. A
    /// transaction that meets another writer's lock is run again (a few times).
    pub fn write<T>(
        &mut self,
        mut f: impl FnMut(&mut Tx<'_>) -> Result<T, HistoryError>,
    ) -> Result<T, HistoryError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = self.write_once(&mut f);
            match result {
                Err(e) if e.is_contention() && attempt < 5 => {
                    std::thread::sleep(Duration::from_millis(50 * attempt));
                }
                other => return other,
            }
        }
    }

    fn write_once<T>(
        &mut self,
        f: &mut impl FnMut(&mut Tx<'_>) -> Result<T, HistoryError>,
    ) -> Result<T, HistoryError> {
        let mut tx = match &mut self.conn {
            Conn::Sqlite(c) => Tx::Sqlite(
                c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                    .map_err(|e| HistoryError::Sqlite(e.to_string()))?,
            ),
            Conn::Postgres(c) => {
                let mut t = c
                    .transaction()
                    .map_err(|e| HistoryError::Postgres(sql::pg_message(&e)))?;
                t.execute("SELECT pg_advisory_xact_lock($1)", &[&PG_WRITE_LOCK])
                    .map_err(|e| HistoryError::Postgres(sql::pg_message(&e)))?;
                Tx::Postgres(t)
            }
        };
        let out = f(&mut tx)?;
        tx.commit()?;
        self.optimize();
        Ok(out)
    }

    /// Runs `f` in a read transaction (one consistent snapshot).
    pub fn read<T>(
        &mut self,
        f: impl FnOnce(&mut Tx<'_>) -> Result<T, HistoryError>,
    ) -> Result<T, HistoryError> {
        let mut tx = match &mut self.conn {
            Conn::Sqlite(c) => Tx::Sqlite(
                c.transaction_with_behavior(rusqlite::TransactionBehavior::Deferred)
                    .map_err(|e| HistoryError::Sqlite(e.to_string()))?,
            ),
            Conn::Postgres(c) => {
                let mut t = c
                    .build_transaction()
                    .isolation_level(postgres::IsolationLevel::RepeatableRead)
                    .read_only(true)
                    .start()
                    .map_err(|e| HistoryError::Postgres(sql::pg_message(&e)))?;
                // the metrics' percentiles sort a year of durations (half a million): in
                // memory, not in temporary files (the default 4 MB spills them)
                t.batch_execute("SET LOCAL work_mem = '64MB'")
                    .map_err(|e| HistoryError::Postgres(sql::pg_message(&e)))?;
                Tx::Postgres(t)
            }
        };
        let out = f(&mut tx)?;
        tx.commit()?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_not_shown() {
        assert_eq!(
            redacted("postgres://rampart:s3cret@db:5432/history"),
            "postgres://rampart:***@db:5432/history"
        );
        assert_eq!(
            redacted("/var/lib/rampart/history.db"),
            "/var/lib/rampart/history.db"
        );
        assert_eq!(redacted("postgres://db/history"), "postgres://db/history");
    }
}
