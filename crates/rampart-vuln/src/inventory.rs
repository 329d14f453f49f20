//! The inventory: every scanned image's packages (its SBOM), recorded by digest in a local
//! SQLite file, so "which images contain log4j-core < 2.17.1?" is answered without touching the
//! images again, and every stored SBOM can be re-matched against a newer advisory database.
//!
//! It is a separate file from the advisory database on purpose: the advisory database is
//! replaced wholesale by updates (atomic rename), the inventory is the user's history.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rampart_sbom::{Distro, Ecosystem, Package, PackageLocation, Purl, SourcePackage};
use rampart_version::Scheme;
use rusqlite::{Connection, params};
use serde::Serialize;

use crate::store::{Database, DbError, now, sqlite};
use rampart_core::Vulnerability;

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
CREATE TABLE IF NOT EXISTS images (
  id TEXT PRIMARY KEY, name TEXT NOT NULL, recorded_at TEXT NOT NULL, matched_at TEXT,
  distro TEXT);
CREATE TABLE IF NOT EXISTS packages (
  image TEXT NOT NULL, ecosystem TEXT NOT NULL, name TEXT NOT NULL, full_name TEXT NOT NULL,
  version TEXT NOT NULL, purl TEXT NOT NULL, source TEXT, locations TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS packages_name ON packages(name COLLATE NOCASE);
CREATE INDEX IF NOT EXISTS packages_full ON packages(full_name COLLATE NOCASE);
CREATE INDEX IF NOT EXISTS packages_image ON packages(image);
CREATE TABLE IF NOT EXISTS matches (
  image TEXT NOT NULL, vuln TEXT NOT NULL, purl TEXT NOT NULL, severity TEXT NOT NULL,
  fixed TEXT NOT NULL, PRIMARY KEY (image, vuln, purl));
";

/// An image as the inventory knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageEntry {
    /// The image digest (manifest digest, else config digest), or `path:...` for a root
    /// filesystem or an SBOM without one.
    pub id: String,
    /// The name it was last scanned under.
    pub name: String,
    /// When its packages were recorded.
    pub recorded_at: String,
}

/// A package found by [`Inventory::find`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Found {
    /// The image.
    pub image: ImageEntry,
    /// Package name.
    pub name: String,
    /// Installed version.
    pub version: String,
    /// purl.
    pub purl: String,
    /// Where in the image.
    pub locations: Vec<PackageLocation>,
}

/// What a rescan found changed for one image.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rescanned {
    /// The image.
    pub image: ImageEntry,
    /// Vulnerabilities now.
    pub total: usize,
    /// Findings that were not there at the last match.
    pub new: Vec<Vulnerability>,
    /// `(vulnerability id, purl)` pairs that were there at the last match and are gone.
    pub fixed: Vec<(String, String)>,
    /// `(vulnerability id, purl)` pairs of the last match whose package could not be checked
    /// this time (the database holds no advisory for its ecosystem or release): not fixed,
    /// kept as they were.
    pub not_checked: Vec<(String, String)>,
    /// Packages not checked, by OSV ecosystem (`npm`, `Debian:12`).
    pub unchecked_packages: BTreeMap<String, usize>,
}

/// Why a range can match no version at all (`>=3,<2`), judged under the first common version
/// scheme both bounds parse in; `None` when it can match, or when that cannot be told.
fn empty_range(constraints: &[(Op, String)]) -> Option<String> {
    for (lo_op, lo) in constraints
        .iter()
        .filter(|(o, _)| matches!(o, Op::Gt | Op::Ge))
    {
        for (hi_op, hi) in constraints
            .iter()
            .filter(|(o, _)| matches!(o, Op::Lt | Op::Le))
        {
            for scheme in [Scheme::SemVer, Scheme::Pep440, Scheme::Dpkg] {
                let (Ok(a), Ok(b)) = (scheme.parse(lo), scheme.parse(hi)) else {
                    continue;
                };
                let empty = match a.cmp(&b) {
                    std::cmp::Ordering::Greater => true,
                    std::cmp::Ordering::Equal => !(*lo_op == Op::Ge && *hi_op == Op::Le),
                    std::cmp::Ordering::Less => false,
                };
                if empty {
                    return Some(format!(
                        "the range is empty: no version is {} {lo} and {} {hi}",
                        op_text(*lo_op),
                        op_text(*hi_op)
                    ));
                }
                break;
            }
        }
    }
    None
}

fn op_text(op: Op) -> &'static str {
    match op {
        Op::Lt => "<",
        Op::Le => "<=",
        Op::Gt => ">",
        Op::Ge => ">=",
        Op::Eq => "=",
        Op::Ne => "!=",
    }
}

/// A package query: `NAME`, `NAME@RANGE` or a purl.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    name: String,
    purl_type: Option<String>,
    exact_version: Option<String>,
    constraints: Vec<(Op, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

/// A query that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid package query {query:?}: {reason}")]
pub struct QueryError {
    /// The query.
    pub query: String,
    /// What is wrong.
    pub reason: String,
}

impl Query {
    /// Parses `log4j-core`, `log4j-core@<2.17.1`, `log4j-core@>=2.0,<2.17.1`,
    /// `org.apache.logging.log4j:log4j-core@2.14.1` or `pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1`.
    pub fn parse(text: &str) -> Result<Self, QueryError> {
        let err = |reason: &str| QueryError {
            query: text.to_owned(),
            reason: reason.to_owned(),
        };
        let t = text.trim();
        if t.starts_with("pkg:") {
            let purl: Purl = t
                .parse()
                .map_err(|e: rampart_sbom::PurlError| err(&e.to_string()))?;
            let name = match purl.namespace() {
                Some(ns) if !ns.is_empty() => format!("{ns}/{}", purl.name()),
                _ => purl.name().to_owned(),
            };
            return Ok(Self {
                name,
                purl_type: Some(purl.ty().to_owned()),
                exact_version: purl.version().map(str::to_owned),
                constraints: Vec::new(),
            });
        }
        // A scoped npm name starts with `@`: the version separator is the last `@`.
        let (name, range) = match t.rfind('@') {
            Some(i) if i > 0 => (t.get(..i).unwrap_or(t), t.get(i + 1..)),
            _ => (t, None),
        };
        if name.trim().is_empty() || (name.starts_with('@') && !name.contains('/')) {
            return Err(err("no package name"));
        }
        let mut q = Self {
            name: name.trim().to_owned(),
            purl_type: None,
            exact_version: None,
            constraints: Vec::new(),
        };
        if let Some(range) = range {
            for part in range
                .split([',', ' '])
                .map(str::trim)
                .filter(|p| !p.is_empty())
            {
                let (op, v) = if let Some(v) = part.strip_prefix("<=") {
                    (Op::Le, v)
                } else if let Some(v) = part.strip_prefix(">=") {
                    (Op::Ge, v)
                } else if let Some(v) = part.strip_prefix("!=") {
                    (Op::Ne, v)
                } else if let Some(v) = part.strip_prefix("==") {
                    (Op::Eq, v)
                } else if let Some(v) = part.strip_prefix('<') {
                    (Op::Lt, v)
                } else if let Some(v) = part.strip_prefix('>') {
                    (Op::Gt, v)
                } else if let Some(v) = part.strip_prefix('=') {
                    (Op::Eq, v)
                } else {
                    (Op::Eq, part)
                };
                let v = v.trim();
                if v.is_empty() {
                    return Err(err(&format!("no version after the operator in {part:?}")));
                }
                if let Some(c) = v
                    .chars()
                    .find(|c| matches!(c, '<' | '>' | '=' | '!' | ';' | '|'))
                {
                    return Err(err(&format!(
                        "{v:?} is not a version ({c:?} inside it): separate constraints with a \
                         comma, e.g. NAME@>=2.0,<2.17.1"
                    )));
                }
                if !v.chars().any(|c| c.is_ascii_alphanumeric()) {
                    return Err(err(&format!("{v:?} is not a version")));
                }
                q.constraints.push((op, v.to_owned()));
            }
            if q.constraints.is_empty() {
                return Err(err("empty version range after '@'"));
            }
            if let Some(why) = empty_range(&q.constraints) {
                return Err(err(&why));
            }
        }
        Ok(q)
    }

    /// The package name asked for (a Maven `group:artifact` as written).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether a stored package (purl type, version) satisfies the version part. A version
    /// the package's ecosystem cannot order fails the query unless it is equal as text.
    pub fn accepts(&self, ty: &str, version: &str) -> bool {
        if let Some(t) = &self.purl_type {
            if t != ty {
                return false;
            }
        }
        if let Some(v) = &self.exact_version {
            if v != version {
                return false;
            }
        }
        if self.constraints.is_empty() {
            return true;
        }
        let Some(scheme) = scheme_of_purl_type(ty) else {
            return self
                .constraints
                .iter()
                .all(|(op, v)| *op == Op::Eq && v == version);
        };
        let Ok(installed) = scheme.parse(version) else {
            return self
                .constraints
                .iter()
                .all(|(op, v)| *op == Op::Eq && v == version);
        };
        self.constraints
            .iter()
            .all(|(op, v)| match parse_bound(scheme, v) {
                Ok(bound) => match op {
                    Op::Lt => installed < bound,
                    Op::Le => installed <= bound,
                    Op::Gt => installed > bound,
                    Op::Ge => installed >= bound,
                    Op::Eq => installed == bound,
                    Op::Ne => installed != bound,
                },
                Err(_) => false,
            })
    }
}

/// A bound as people write it: `<1.20` means `<1.20.0` where the scheme (SemVer) needs three
/// components.
fn parse_bound(
    scheme: Scheme,
    v: &str,
) -> Result<rampart_version::Version, rampart_version::VersionError> {
    let mut text = v.to_owned();
    let mut result = scheme.parse(&text);
    for _ in 0..2 {
        if result.is_ok() || scheme != Scheme::SemVer {
            break;
        }
        text.push_str(".0");
        result = scheme.parse(&text);
    }
    result
}

/// The version scheme of a purl type: that of its ecosystem ([`crate::ecosystem::scheme`]).
pub fn scheme_of_purl_type(ty: &str) -> Option<Scheme> {
    Ecosystem::from_purl_type(ty).and_then(crate::ecosystem::scheme)
}

/// What the inventory recorded of one image's last scan, for readers that only check it (the
/// admission webhook's vulnerability gate).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageScan {
    /// The image.
    pub image: ImageEntry,
    /// When its packages were last matched against an advisory database (`record` or
    /// `rescan`), RFC 3339 UTC.
    pub matched_at: Option<String>,
    /// The findings of that match: (vulnerability id, purl, severity). A severity the file
    /// holds but this version does not know reads as `critical` (fail closed).
    pub findings: Vec<(String, String, rampart_core::Severity)>,
}

/// The inventory file, open read-write.
pub struct Inventory {
    conn: Connection,
    path: PathBuf,
}

/// Runs `f` again while SQLite says another connection holds the inventory, for up to 60 s:
/// the busy timeout covers most waits, not all (a WAL database being recovered or checkpointed
/// by another process answers "database is locked" at once; concurrent scans failed so).
fn retry_busy<T>(mut f: impl FnMut() -> Result<T, DbError>) -> Result<T, DbError> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut pause = std::time::Duration::from_millis(10);
    loop {
        match f() {
            Err(e) if e.is_busy() && std::time::Instant::now() < deadline => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(std::time::Duration::from_millis(500));
            }
            other => return other,
        }
    }
}

/// A distribution as the inventories store it (JSON text).
pub fn distro_text(d: &Distro) -> String {
    serde_json::json!({"id": d.id, "version_id": d.version_id, "codename": d.codename}).to_string()
}

/// A stored distribution read back ([`distro_text`]'s form); `None` when it does not read.
pub fn stored_distro(text: &str) -> Option<Distro> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    Some(Distro {
        id: v.get("id")?.as_str()?.to_owned(),
        version_id: v
            .get("version_id")
            .and_then(|x| x.as_str())
            .map(str::to_owned),
        codename: v
            .get("codename")
            .and_then(|x| x.as_str())
            .map(str::to_owned),
    })
}

/// The columns an inventory stores a package with, beyond its ecosystem, name, version and
/// purl (shared by the local inventory and the fleet's).
pub struct StoredColumns {
    /// `namespace/name` of the purl (a Maven `group/artifact`), what `find` also matches
    pub full_name: String,
    /// the source package, `[name, version]` as JSON
    pub source: Option<String>,
    /// the locations, JSON
    pub locations: String,
}

/// [`StoredColumns`] of a package.
pub fn stored_columns(p: &Package) -> StoredColumns {
    StoredColumns {
        full_name: match p.purl.namespace() {
            Some(ns) if !ns.is_empty() => format!("{ns}/{}", p.purl.name()),
            _ => p.purl.name().to_owned(),
        },
        source: p
            .source_package
            .as_ref()
            .map(|s| serde_json::json!([s.name, s.version]).to_string()),
        locations: serde_json::to_string(&p.locations).unwrap_or_else(|_| "[]".into()),
    }
}

/// A stored package read back as the matcher takes it; `None` when its purl type or purl no
/// longer parses (rows are written from parsed packages: a hand-edited store).
pub fn stored_package(
    purl_type: &str,
    name: String,
    version: String,
    purl: &str,
    source: Option<&str>,
    locations: &str,
) -> Option<Package> {
    let (Some(eco), Ok(purl)) = (Ecosystem::from_purl_type(purl_type), purl.parse::<Purl>()) else {
        return None;
    };
    let mut p = Package::new(eco, name, version, purl, "");
    p.locations = serde_json::from_str(locations).unwrap_or_default();
    p.source_package = source
        .and_then(|s| serde_json::from_str::<(String, String)>(s).ok())
        .map(|(name, version)| SourcePackage { name, version });
    Some(p)
}

impl Inventory {
    /// Opens (creating it if needed) the inventory at `path`, waiting while another scan holds
    /// it.
    pub fn open(path: &Path) -> Result<Self, DbError> {
        retry_busy(|| Self::open_once(path))
    }

    fn open_once(path: &Path) -> Result<Self, DbError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| DbError::Io {
                path: dir.display().to_string(),
                source: e,
            })?;
        }
        let conn = Connection::open(path).map_err(sqlite(path))?;
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(sqlite(path))?;
        conn.execute_batch(SCHEMA).map_err(sqlite(path))?;
        Ok(Self {
            conn,
            path: path.to_owned(),
        })
    }

    /// Opens an existing inventory read-only: nothing is created, migrated or written.
    pub fn open_read_only(path: &Path) -> Result<Self, DbError> {
        if !path.is_file() {
            return Err(DbError::Io {
                path: path.display().to_string(),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no inventory file (expected one written by `rampart scan --record`)",
                ),
            });
        }
        let conn = Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(sqlite(path))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(sqlite(path))?;
        Ok(Self {
            conn,
            path: path.to_owned(),
        })
    }

    /// The last scan of the image `id` (its digest), or `None` when it was never recorded.
    pub fn scan_of(&self, id: &str) -> Result<Option<ImageScan>, DbError> {
        use rusqlite::OptionalExtension;
        let e = sqlite(&self.path);
        let row = self
            .conn
            .query_row(
                "SELECT id, name, recorded_at, matched_at FROM images WHERE id = ?1",
                [id],
                |r| {
                    Ok((
                        ImageEntry {
                            id: r.get(0)?,
                            name: r.get(1)?,
                            recorded_at: r.get(2)?,
                        },
                        r.get::<_, Option<String>>(3)?,
                    ))
                },
            )
            .optional()
            .map_err(&e)?;
        let Some((image, matched_at)) = row else {
            return Ok(None);
        };
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT vuln, purl, severity FROM matches WHERE image = ?1 ORDER BY vuln, purl",
            )
            .map_err(&e)?;
        let rows = stmt
            .query_map([id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .map_err(&e)?;
        let mut findings = Vec::new();
        for row in rows {
            let (vuln, purl, severity) = row.map_err(&e)?;
            let severity = severity.parse().unwrap_or(rampart_core::Severity::Critical);
            findings.push((vuln, purl, severity));
        }
        Ok(Some(ImageScan {
            image,
            matched_at,
            findings,
        }))
    }

    /// Records the packages of an image (replacing what was recorded for the same id) and
    /// the findings of this scan as its last match.
    pub fn record(
        &mut self,
        id: &str,
        name: &str,
        distro: Option<&Distro>,
        packages: &[Package],
        findings: &[Vulnerability],
    ) -> Result<(), DbError> {
        self.record_checked(
            id,
            name,
            distro,
            packages,
            findings,
            &std::collections::BTreeSet::new(),
        )
    }

    /// [`Inventory::record`] of a match that could not check the packages `unchecked` (purls:
    /// their ecosystem is missing from the database): their earlier findings are kept, not
    /// dropped as if fixed.
    pub fn record_checked(
        &mut self,
        id: &str,
        name: &str,
        distro: Option<&Distro>,
        packages: &[Package],
        findings: &[Vulnerability],
        unchecked: &std::collections::BTreeSet<String>,
    ) -> Result<(), DbError> {
        // a busy failure rolled the transaction back: the whole record is tried again
        retry_busy(|| self.record_once(id, name, distro, packages, findings, unchecked))
    }

    fn record_once(
        &mut self,
        id: &str,
        name: &str,
        distro: Option<&Distro>,
        packages: &[Package],
        findings: &[Vulnerability],
        unchecked: &std::collections::BTreeSet<String>,
    ) -> Result<(), DbError> {
        let e = sqlite(&self.path);
        // Immediate: take the write lock first, so concurrent scans wait for each other (busy
        // timeout) instead of failing when a read transaction cannot be upgraded.
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(&e)?;
        let mut kept: Vec<(String, String, String, String)> = Vec::new();
        if !unchecked.is_empty() {
            let mut stmt = tx
                .prepare_cached("SELECT vuln, purl, severity, fixed FROM matches WHERE image = ?1")
                .map_err(&e)?;
            let rows = stmt
                .query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                .map_err(&e)?;
            for row in rows {
                let row: (String, String, String, String) = row.map_err(&e)?;
                if unchecked.contains(&row.1) {
                    kept.push(row);
                }
            }
        }
        tx.execute("DELETE FROM packages WHERE image = ?1", [id])
            .map_err(&e)?;
        let distro_json = distro.map(distro_text);
        let t = now();
        tx.execute(
            "INSERT OR REPLACE INTO images (id, name, recorded_at, matched_at, distro) VALUES (?1, ?2, ?3, ?3, ?4)",
            params![id, name, t, distro_json],
        )
        .map_err(&e)?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO packages (image, ecosystem, name, full_name, version, purl, source, locations) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )
                .map_err(&e)?;
            for p in packages {
                let StoredColumns {
                    full_name: full,
                    source,
                    locations,
                } = stored_columns(p);
                stmt.execute(params![
                    id,
                    p.ecosystem.purl_type(),
                    p.name,
                    full,
                    p.version,
                    p.purl.to_string(),
                    source,
                    locations
                ])
                .map_err(&e)?;
            }
        }
        store_matches(&tx, id, findings).map_err(&e)?;
        for (vuln, purl, severity, fixed) in &kept {
            tx.execute(
                "INSERT OR REPLACE INTO matches (image, vuln, purl, severity, fixed) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id, vuln, purl, severity, fixed],
            )
            .map_err(&e)?;
        }
        tx.commit().map_err(&e)
    }

    /// The images recorded.
    pub fn images(&self) -> Result<Vec<ImageEntry>, DbError> {
        let e = sqlite(&self.path);
        let mut stmt = self
            .conn
            .prepare("SELECT id, name, recorded_at FROM images ORDER BY name, id")
            .map_err(&e)?;
        let rows = stmt
            .query_map([], |r| {
                Ok(ImageEntry {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    recorded_at: r.get(2)?,
                })
            })
            .map_err(&e)?;
        rows.collect::<Result<_, _>>().map_err(e)
    }

    /// The images that contain a package matching `query`, from the recorded SBOMs only.
    pub fn find(&self, query: &Query) -> Result<Vec<Found>, DbError> {
        let e = sqlite(&self.path);
        // A Maven `group:artifact` is stored as the purl's `group/artifact`.
        let full = query.name.replace(':', "/");
        let mut stmt = self
            .conn
            .prepare(
                "SELECT i.id, i.name, i.recorded_at, p.ecosystem, p.name, p.version, p.purl, p.locations \
                 FROM packages p JOIN images i ON i.id = p.image \
                 WHERE p.name = ?1 COLLATE NOCASE OR p.full_name = ?2 COLLATE NOCASE \
                 ORDER BY i.name, p.name, p.version",
            )
            .map_err(&e)?;
        let rows = stmt
            .query_map(params![query.name, full], |r| {
                Ok((
                    ImageEntry {
                        id: r.get(0)?,
                        name: r.get(1)?,
                        recorded_at: r.get(2)?,
                    },
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, String>(7)?,
                ))
            })
            .map_err(&e)?;
        let mut out = Vec::new();
        for row in rows {
            let (image, ty, name, version, purl, locations) = row.map_err(&e)?;
            if query.accepts(&ty, &version) {
                out.push(Found {
                    image,
                    name,
                    version,
                    purl,
                    locations: serde_json::from_str(&locations).unwrap_or_default(),
                });
            }
        }
        Ok(out)
    }

    /// The recorded packages of one image (as the matcher takes them) and its distribution.
    pub fn packages(&self, id: &str) -> Result<(Vec<Package>, Option<Distro>), DbError> {
        let e = sqlite(&self.path);
        let distro: Option<String> = self
            .conn
            .query_row("SELECT distro FROM images WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .map_err(&e)?;
        let distro = distro.as_deref().and_then(stored_distro);
        let mut stmt = self
            .conn
            .prepare_cached("SELECT ecosystem, name, version, purl, source, locations FROM packages WHERE image = ?1")
            .map_err(&e)?;
        let rows = stmt
            .query_map([id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, String>(5)?,
                ))
            })
            .map_err(&e)?;
        let mut out = Vec::new();
        for row in rows {
            let (ty, name, version, purl, source, locations) = row.map_err(&e)?;
            // Rows were written by `record` from parsed packages; one that no longer reads
            // back (a hand-edited file) is left out.
            out.extend(stored_package(
                &ty,
                name,
                version,
                &purl,
                source.as_deref(),
                &locations,
            ));
        }
        Ok((out, distro))
    }

    /// Re-matches every recorded image against `db` and reports what changed since each
    /// image's last match; the new matches become the last ones.
    pub fn rescan(&mut self, db: &Database) -> Result<Vec<Rescanned>, DbError> {
        use rayon::prelude::*;
        /// Images matched together (in parallel, each thread with its own connection), then
        /// written in one transaction.
        const BATCH: usize = 64;
        let mut out = Vec::new();
        let images = self.images()?;
        let db_path = db.path().to_owned();
        for batch in images.chunks(BATCH) {
            let mut loaded = Vec::with_capacity(batch.len());
            for image in batch {
                loaded.push((image, self.packages(&image.id)?));
            }
            let matched: Vec<Result<crate::matcher::Matches, DbError>> = loaded
                .par_iter()
                .map_init(
                    || (Database::open(&db_path), crate::matcher::Cache::default()),
                    |(conn, cache), (image, (packages, distro))| match conn {
                        Ok(conn) => crate::matcher::match_packages_cached(
                            conn,
                            cache,
                            &image.name,
                            packages,
                            distro.as_ref(),
                        ),
                        Err(e) => Err(DbError::Io {
                            path: db_path.display().to_string(),
                            source: std::io::Error::other(e.to_string()),
                        }),
                    },
                )
                .collect();
            let e = sqlite(&self.path);
            // Immediate: take the write lock first, so concurrent scans wait for each other (busy
            // timeout) instead of failing when a read transaction cannot be upgraded.
            let tx = self
                .conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(&e)?;
            for ((image, _), matches) in loaded.iter().zip(matched) {
                let matches = matches?;
                // (vuln, purl) → (severity, fixed) of the last match.
                let before: BTreeMap<(String, String), (String, String)> = {
                    let mut stmt = tx
                        .prepare_cached(
                            "SELECT vuln, purl, severity, fixed FROM matches WHERE image = ?1",
                        )
                        .map_err(&e)?;
                    let rows = stmt
                        .query_map([&image.id], |r| {
                            Ok(((r.get(0)?, r.get(1)?), (r.get(2)?, r.get(3)?)))
                        })
                        .map_err(&e)?;
                    rows.collect::<Result<_, _>>().map_err(&e)?
                };
                let now_keys: BTreeMap<(String, String), &Vulnerability> = matches
                    .findings
                    .iter()
                    .map(|f| ((f.id.clone(), f.package.purl.clone()), f))
                    .collect();
                let new = now_keys
                    .iter()
                    .filter(|(k, _)| !before.contains_key(*k))
                    .map(|(_, f)| (*f).clone())
                    .collect();
                // A finding whose package was not checked this time is not fixed: the
                // database lacks its ecosystem. It is kept, as it was, for the next rescan.
                let (kept, fixed): (Vec<_>, Vec<_>) = before
                    .iter()
                    .filter(|(k, _)| !now_keys.contains_key(*k))
                    .partition(|((_, purl), _)| matches.unchecked.contains(purl));
                let fixed = fixed.into_iter().map(|(k, _)| k.clone()).collect();
                store_matches(&tx, &image.id, &matches.findings).map_err(&e)?;
                {
                    let mut stmt = tx
                        .prepare_cached(
                            "INSERT OR REPLACE INTO matches (image, vuln, purl, severity, fixed) \
                             VALUES (?1, ?2, ?3, ?4, ?5)",
                        )
                        .map_err(&e)?;
                    for ((vuln, purl), (severity, fixed)) in &kept {
                        stmt.execute(params![image.id, vuln, purl, severity, fixed])
                            .map_err(&e)?;
                    }
                }
                let not_checked = kept.into_iter().map(|(k, _)| k.clone()).collect();
                tx.execute(
                    "UPDATE images SET matched_at = ?2 WHERE id = ?1",
                    params![image.id, now()],
                )
                .map_err(&e)?;
                out.push(Rescanned {
                    image: (*image).clone(),
                    total: matches.findings.len(),
                    new,
                    fixed,
                    not_checked,
                    unchecked_packages: matches.not_checked.clone(),
                });
            }
            tx.commit().map_err(&e)?;
        }
        Ok(out)
    }
}

fn store_matches(
    tx: &rusqlite::Transaction<'_>,
    id: &str,
    findings: &[Vulnerability],
) -> rusqlite::Result<()> {
    tx.execute("DELETE FROM matches WHERE image = ?1", [id])?;
    let mut stmt = tx.prepare_cached(
        "INSERT OR REPLACE INTO matches (image, vuln, purl, severity, fixed) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for f in findings {
        stmt.execute(params![
            id,
            f.id,
            f.package.purl,
            f.severity.as_str(),
            f.fixed.join(", ")
        ])?;
    }
    Ok(())
}
