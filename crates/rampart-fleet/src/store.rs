//! The fleet store: one PostgreSQL database shared by every worker, enqueuer, rescan and the
//! Harbor adapter. Its tables (all `fleet_`):
//!
//! - `fleet_jobs`: the work queue. A job is an image reference to analyse; its state is
//!   `queued` → `running` (claimed by a worker, `FOR UPDATE SKIP LOCKED`, kept alive by
//!   heartbeats) → `done` or `failed` (with the reason, after its attempts). A reference has at
//!   most one pending (queued or running) job: enqueueing it again is a no-op.
//! - `fleet_images`: one row per analysed image **digest** (never two: the digest is unique),
//!   with the analysis version, its distribution, its package set (ids into `fleet_packages`,
//!   an `integer[]` with a GIN index) and its report (JSON, gzip).
//! - `fleet_refs`: the references (tags) seen, each pointing at the digest it resolved to.
//! - `fleet_packages`: every distinct package (ecosystem, name, version, purl, source package,
//!   locations) once, keyed by a hash of those fields: images sharing a base share its rows.
//! - `fleet_image_matches` (schema 3; `fleet_matches`, a row per finding, before): each
//!   image's last vulnerability match, one row of parallel arrays (vulnerability, purl,
//!   severity, fixed versions) and when it was made: what a rescan compares with.
//! - `fleet_scans` (schema 2): Harbor's scan requests, each an unguessable id mapped to the job
//!   that analyses its artifact; a job from Harbor carries the registry's `authorization` and
//!   scheme (`fleet_jobs.registry_auth`, `plain_http`) until it ends, then the credential is
//!   cleared.
//!
//! Nothing here is in etcd: a cluster holds only the workers' configuration.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use postgres::types::ToSql;
use postgres::{Client, GenericClient, NoTls, Row, Statement};

use crate::FleetError;

/// The schema version this build writes; a store migrated by a newer rampart is refused.
pub const SCHEMA_VERSION: i32 = 3;

/// The advisory lock taken while the schema is created (several workers may start at once).
const SCHEMA_LOCK: i64 = 0x666c_6565_7400_0001;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS fleet_schema (version integer NOT NULL);
CREATE TABLE IF NOT EXISTS fleet_jobs (
  id bigserial PRIMARY KEY,
  reference text NOT NULL,
  registry text NOT NULL,
  source text NOT NULL,
  state text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'done', 'failed')),
  attempts integer NOT NULL DEFAULT 0,
  max_attempts integer NOT NULL,
  not_before timestamptz NOT NULL DEFAULT now(),
  worker text,
  heartbeat_at timestamptz,
  digest text,
  outcome text,
  error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  finished_at timestamptz);
CREATE UNIQUE INDEX IF NOT EXISTS fleet_jobs_pending ON fleet_jobs (reference)
  WHERE state IN ('queued', 'running');
CREATE INDEX IF NOT EXISTS fleet_jobs_queued ON fleet_jobs (not_before, id) WHERE state = 'queued';
CREATE INDEX IF NOT EXISTS fleet_jobs_running ON fleet_jobs (registry) WHERE state = 'running';
CREATE TABLE IF NOT EXISTS fleet_packages (
  id serial PRIMARY KEY,
  key bytea NOT NULL UNIQUE,
  ecosystem text NOT NULL,
  name text NOT NULL,
  full_name text NOT NULL,
  version text NOT NULL,
  purl text NOT NULL,
  source text,
  locations text NOT NULL);
CREATE INDEX IF NOT EXISTS fleet_packages_name ON fleet_packages (lower(name));
CREATE INDEX IF NOT EXISTS fleet_packages_full_name ON fleet_packages (lower(full_name));
CREATE TABLE IF NOT EXISTS fleet_images (
  id bigserial PRIMARY KEY,
  digest text NOT NULL UNIQUE,
  name text NOT NULL,
  analysis text NOT NULL,
  distro text,
  packages integer[] NOT NULL,
  summary text NOT NULL,
  report bytea NOT NULL,
  analysed_at timestamptz NOT NULL,
  matched_at timestamptz);
CREATE INDEX IF NOT EXISTS fleet_images_packages ON fleet_images USING gin (packages);
CREATE TABLE IF NOT EXISTS fleet_refs (
  reference text PRIMARY KEY,
  digest text NOT NULL,
  seen_at timestamptz NOT NULL);
CREATE TABLE IF NOT EXISTS fleet_matches (
  image bigint NOT NULL REFERENCES fleet_images (id) ON DELETE CASCADE,
  vuln text NOT NULL,
  purl text NOT NULL,
  severity text NOT NULL,
  fixed text NOT NULL,
  PRIMARY KEY (image, vuln, purl));
";

/// Schema 2 over schema 1: what a Harbor job pulls with, the packages' licenses and
/// architecture (the SBOM report), Harbor's scan requests. Each statement is idempotent: a
/// schema 1 store is brought up, a schema 2 store is left as it is.
const SCHEMA_2: &str = "
ALTER TABLE fleet_jobs ADD COLUMN IF NOT EXISTS registry_auth text;
ALTER TABLE fleet_jobs ADD COLUMN IF NOT EXISTS plain_http boolean;
ALTER TABLE fleet_packages ADD COLUMN IF NOT EXISTS licenses text;
ALTER TABLE fleet_packages ADD COLUMN IF NOT EXISTS arch text;
CREATE TABLE IF NOT EXISTS fleet_scans (
  id text PRIMARY KEY,
  job bigint NOT NULL REFERENCES fleet_jobs (id) ON DELETE CASCADE,
  registry_url text NOT NULL,
  repository text NOT NULL,
  digest text NOT NULL,
  tag text,
  mime_type text,
  created_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX IF NOT EXISTS fleet_scans_created ON fleet_scans (created_at);
";

/// Schema 3 over schema 2: each image's last vulnerability match is one row of parallel arrays
/// (`fleet_image_matches`), not one row per finding. A rescan after a large advisory import
/// rewrites ten thousand rows instead of inserting a million and a half index entries (24 s
/// down to 3 s, and a tenth of the size, measured by bench/fleet.sh). The rows of schema 2 are
/// carried over; `matched_at` moves from the image to its match, and means when it last changed.
const SCHEMA_3: &str = "
CREATE TABLE IF NOT EXISTS fleet_image_matches (
  image bigint PRIMARY KEY REFERENCES fleet_images (id) ON DELETE CASCADE,
  vulns text[] NOT NULL,
  purls text[] NOT NULL,
  severities text[] NOT NULL,
  fixed text[] NOT NULL,
  matched_at timestamptz NOT NULL);
INSERT INTO fleet_image_matches (image, vulns, purls, severities, fixed, matched_at)
SELECT i.id,
       coalesce(array_agg(m.vuln ORDER BY m.vuln, m.purl) FILTER (WHERE m.vuln IS NOT NULL), '{}'),
       coalesce(array_agg(m.purl ORDER BY m.vuln, m.purl) FILTER (WHERE m.vuln IS NOT NULL), '{}'),
       coalesce(array_agg(m.severity ORDER BY m.vuln, m.purl) FILTER (WHERE m.vuln IS NOT NULL), '{}'),
       coalesce(array_agg(m.fixed ORDER BY m.vuln, m.purl) FILTER (WHERE m.vuln IS NOT NULL), '{}'),
       coalesce(i.matched_at, i.analysed_at)
FROM fleet_images i LEFT JOIN fleet_matches m ON m.image = i.id
WHERE i.matched_at IS NOT NULL OR m.image IS NOT NULL
GROUP BY i.id
ON CONFLICT (image) DO NOTHING;
DROP TABLE fleet_matches;
ALTER TABLE fleet_images DROP COLUMN matched_at;
";

/// Whether a location names a PostgreSQL server.
pub fn is_postgres(location: &str) -> bool {
    rampart_history::is_postgres(location)
}

/// A connection to the fleet store, reconnecting when the server went away (a restart, a
/// failover): [`Store::with`] runs an operation, and once more on a fresh connection when the
/// first attempt lost its connection.
pub struct Store {
    url: String,
    client: Option<Client>,
    /// the statements prepared on `client` (emptied with a new connection)
    prepared: Prepared,
    /// package ids read from `fleet_packages`, shared by the connections of this process
    known: KnownIds,
    /// how long a reconnection is tried before the operation fails
    pub reconnect_for: Duration,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("url", &rampart_history::redacted(&self.url))
            .finish()
    }
}

/// Package ids by key, as read from `fleet_packages` in committed rows (a row is never changed
/// or deleted once committed: its key is a hash of its fields), so that an image on a known base
/// sends only its new packages' keys; forgotten on a new connection and past [`KnownIds::MAX`].
#[derive(Clone, Default)]
pub(crate) struct KnownIds(Arc<Mutex<HashMap<Vec<u8>, i32>>>);

impl KnownIds {
    /// At most this many ids held (about 100 bytes each).
    const MAX: usize = 200_000;

    /// The ids held of `keys`, by key.
    pub(crate) fn lookup<'k>(
        &self,
        keys: impl IntoIterator<Item = &'k [u8]>,
    ) -> HashMap<Vec<u8>, i32> {
        let Ok(m) = self.0.lock() else {
            return HashMap::new();
        };
        keys.into_iter()
            .filter_map(|k| Some((k.to_vec(), *m.get(k)?)))
            .collect()
    }

    /// Adds ids read from committed rows.
    pub(crate) fn add(&self, ids: impl IntoIterator<Item = (Vec<u8>, i32)>) {
        if let Ok(mut m) = self.0.lock() {
            for (k, id) in ids {
                if m.len() >= Self::MAX {
                    m.clear();
                }
                m.insert(k, id);
            }
        }
    }

    fn clear(&self) {
        if let Ok(mut m) = self.0.lock() {
            m.clear();
        }
    }
}

/// The statements prepared on one connection, by their text. A worker runs the same dozen
/// statements for every job: each is parsed and planned once per connection, and each later
/// use is one round trip instead of two (a statement given as text is prepared again each time
/// by the `postgres` crate).
#[derive(Default)]
pub(crate) struct Prepared(HashMap<&'static str, Statement>);

impl Prepared {
    /// `sql` prepared on `c`'s connection (prepared now when it is met for the first time).
    pub(crate) fn get(
        &mut self,
        c: &mut impl GenericClient,
        sql: &'static str,
    ) -> Result<Statement, postgres::Error> {
        if let Some(s) = self.0.get(sql) {
            return Ok(s.clone());
        }
        let s = c.prepare(sql)?;
        self.0.insert(sql, s.clone());
        Ok(s)
    }

    /// Runs `sql`, prepared, on `c`: the rows it changed.
    pub(crate) fn execute(
        &mut self,
        c: &mut impl GenericClient,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, postgres::Error> {
        let s = self.get(c, sql)?;
        c.execute(&s, params)
    }

    /// Runs `sql`, prepared, on `c`: its rows.
    pub(crate) fn query(
        &mut self,
        c: &mut impl GenericClient,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, postgres::Error> {
        let s = self.get(c, sql)?;
        c.query(&s, params)
    }

    /// Runs `sql`, prepared, on `c`: its row, when it gives one.
    pub(crate) fn query_opt(
        &mut self,
        c: &mut impl GenericClient,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, postgres::Error> {
        let s = self.get(c, sql)?;
        c.query_opt(&s, params)
    }
}

/// Whether an error means the connection is gone (the operation may be tried again on a new
/// one) rather than that the statement failed.
pub(crate) fn connection_lost(e: &postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    match e.code() {
        // admin_shutdown, crash_shutdown, cannot_connect_now: a restart under us
        Some(c) => matches!(c.code(), "57P01" | "57P02" | "57P03" | "08006" | "08003"),
        // an I/O error on the socket carries no SQLSTATE
        None => e.as_db_error().is_none(),
    }
}

impl Store {
    /// Connects to `url` (`postgres://...`) and creates or checks the schema.
    pub fn open(url: &str) -> Result<Self, FleetError> {
        if !is_postgres(url) {
            return Err(FleetError::Location(rampart_history::redacted(url)));
        }
        let mut store = Self {
            url: url.to_owned(),
            client: None,
            prepared: Prepared::default(),
            known: KnownIds::default(),
            reconnect_for: Duration::from_secs(60),
        };
        if let Some(found) = store.with(migrate)? {
            return Err(FleetError::NewerSchema {
                location: store.location(),
                found,
                supported: SCHEMA_VERSION,
            });
        }
        Ok(store)
    }

    /// The package ids this process has read from the store.
    pub(crate) fn known(&self) -> KnownIds {
        self.known.clone()
    }

    /// The location, password hidden.
    pub fn location(&self) -> String {
        rampart_history::redacted(&self.url)
    }

    /// A second connection to the same store (each worker thread has its own).
    pub fn another(&self) -> Result<Self, FleetError> {
        let mut s = Self {
            url: self.url.clone(),
            client: None,
            prepared: Prepared::default(),
            known: self.known.clone(),
            reconnect_for: self.reconnect_for,
        };
        s.client()?;
        Ok(s)
    }

    /// One connection attempt; the error says whether trying again may succeed (the server is
    /// down, restarting or unreachable) or not (no such database, a password refused).
    fn connect(&self) -> Result<Client, (FleetError, bool)> {
        let fail = |e: &postgres::Error| FleetError::Connect {
            location: self.location(),
            message: e.to_string(),
        };
        let mut config: postgres::Config = self
            .url
            .parse()
            .map_err(|e: postgres::Error| (fail(&e), false))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        // a database that does not exist or a password refused is said at once, not retried
        // for a minute: only a server that is not there (yet) is waited for
        config
            .connect(NoTls)
            .map_err(|e| (fail(&e), connection_lost(&e)))
    }

    /// The connection, made (again) when there is none: tried with backoff for
    /// [`Store::reconnect_for`] while the server cannot be reached (a server restarting refuses
    /// connections for a while).
    fn client(&mut self) -> Result<&mut Client, FleetError> {
        if self.client.as_ref().is_some_and(Client::is_closed) {
            self.client = None;
        }
        if self.client.is_none() {
            let started = Instant::now();
            let mut pause = Duration::from_millis(100);
            let client = loop {
                match self.connect() {
                    Ok(c) => break c,
                    Err((e, transient))
                        if !transient || started.elapsed() >= self.reconnect_for =>
                    {
                        return Err(e);
                    }
                    Err(_) => {
                        std::thread::sleep(pause);
                        pause = (pause * 2).min(Duration::from_secs(2));
                    }
                }
            };
            // a database met again after a lost connection may have been restored from a backup
            self.known.clear();
            self.prepared = Prepared::default();
            self.client = Some(client);
        }
        match self.client.as_mut() {
            Some(c) => Ok(c),
            None => Err(FleetError::Connect {
                location: rampart_history::redacted(&self.url),
                message: String::from("no connection"),
            }),
        }
    }

    /// Runs `op` on the connection; when it fails because the connection was lost, once more
    /// on a new connection (operations are single transactions: a lost one was rolled back).
    pub fn with<T>(
        &mut self,
        mut op: impl FnMut(&mut Client) -> Result<T, postgres::Error>,
    ) -> Result<T, FleetError> {
        self.with_prepared(|c, _| op(c))
    }

    /// [`Store::with`], with the statements prepared on the connection (for the statements a
    /// worker runs on every job).
    pub(crate) fn with_prepared<T>(
        &mut self,
        mut op: impl FnMut(&mut Client, &mut Prepared) -> Result<T, postgres::Error>,
    ) -> Result<T, FleetError> {
        match self.attempt(&mut op)? {
            Ok(v) => Ok(v),
            Err(e) if connection_lost(&e) => {
                self.client = None;
                self.attempt(&mut op)?.map_err(FleetError::from)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// `op` run once on the connection (made when there is none).
    fn attempt<T>(
        &mut self,
        op: &mut impl FnMut(&mut Client, &mut Prepared) -> Result<T, postgres::Error>,
    ) -> Result<Result<T, postgres::Error>, FleetError> {
        self.client()?;
        let Self {
            client, prepared, ..
        } = self;
        match client {
            Some(c) => Ok(op(c, prepared)),
            None => Err(FleetError::Connect {
                location: rampart_history::redacted(&self.url),
                message: String::from("no connection"),
            }),
        }
    }
}

/// Creates the schema when missing; returns the version of a store a newer rampart wrote
/// (refused by the caller, nothing written).
fn migrate(c: &mut Client) -> Result<Option<i32>, postgres::Error> {
    let mut tx = c.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])?;
    let exists: bool = tx
        .query_one("SELECT to_regclass('fleet_schema') IS NOT NULL", &[])?
        .get(0);
    if exists {
        let version: Option<i32> = tx
            .query_one("SELECT max(version) FROM fleet_schema", &[])?
            .get(0);
        if let Some(v) = version.filter(|v| *v > SCHEMA_VERSION) {
            return Ok(Some(v));
        }
        // Current already: no DDL. `ALTER TABLE ... IF NOT EXISTS` still takes an ACCESS
        // EXCLUSIVE lock, which would stall every worker's queries each time one starts or
        // reconnects.
        if version == Some(SCHEMA_VERSION) {
            tx.commit()?;
            return Ok(None);
        }
    }
    tx.batch_execute(SCHEMA)?;
    tx.batch_execute(SCHEMA_2)?;
    // schema 1 and 2 stores, and a new one (whose schema 1 tables were just made)
    let old_matches: bool = tx
        .query_one("SELECT to_regclass('fleet_matches') IS NOT NULL", &[])?
        .get(0);
    if old_matches {
        tx.batch_execute(SCHEMA_3)?;
    }
    tx.execute(
        "INSERT INTO fleet_schema (version) SELECT $1 WHERE NOT EXISTS (SELECT 1 FROM fleet_schema)",
        &[&SCHEMA_VERSION],
    )?;
    tx.execute(
        "UPDATE fleet_schema SET version = $1 WHERE version < $1",
        &[&SCHEMA_VERSION],
    )?;
    tx.commit()?;
    Ok(None)
}
