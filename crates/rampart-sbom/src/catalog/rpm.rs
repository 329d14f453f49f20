//! RPM: the sqlite rpmdb (`var/lib/rpm/rpmdb.sqlite`, `usr/lib/sysimage/rpm/rpmdb.sqlite`).
//!
//! The database is opened from memory (SQLite's deserialize; nothing is written to disk),
//! read-only, in defensive mode. Each row of its `Packages` table is an RPM header blob, parsed
//! by [`parse_rpm_header`]. Older Berkeley DB and ndb databases are not read.

use std::io::Read;

use rusqlite::{Connection, OpenFlags, config::DbConfig, limits::Limit};

use super::{CatalogContext, Cataloger, clean_path};
use crate::{CatalogError, Ecosystem, Package, Purl, SourcePackage};

/// Largest rpmdb.sqlite accepted: a full Fedora or RHEL install's database is tens of MiB.
pub const MAX_RPMDB: usize = 256 * 1024 * 1024;

/// Header tags read (rpm's `rpmTag` values).
const TAG_NAME: u32 = 1000;
const TAG_VERSION: u32 = 1001;
const TAG_RELEASE: u32 = 1002;
const TAG_EPOCH: u32 = 1003;
const TAG_VENDOR: u32 = 1011;
const TAG_LICENSE: u32 = 1014;
const TAG_ARCH: u32 = 1022;
const TAG_SOURCERPM: u32 = 1044;

/// Header data types (rpm's `rpmTagType`).
const TYPE_INT32: u32 = 4;
const TYPE_STRING: u32 = 6;
const TYPE_STRING_ARRAY: u32 = 8;
const TYPE_I18NSTRING: u32 = 9;
const TYPE_MAX: u32 = 9;

/// rpm's own bounds on a header: at most 0xffff index entries and 256 MiB of data.
const MAX_INDEX_ENTRIES: u32 = 0xffff;
const MAX_DATA: u32 = 0x0fff_ffff;

/// Why an RPM header blob could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RpmHeaderError {
    /// the blob is shorter than its own counts say
    #[error("header blob is {found} bytes, expected at least {expected}")]
    Truncated {
        /// Bytes the counts require.
        expected: u64,
        /// Bytes present.
        found: usize,
    },
    /// the index entry count is zero or over rpm's limit
    #[error("header declares {0} index entries, expected 1 to 65535")]
    IndexCount(u32),
    /// the data length is over rpm's limit
    #[error("header declares {0} data bytes, expected at most 268435455")]
    DataLength(u32),
    /// an index entry points outside the data store or has an unknown type
    #[error("header index entry {index} (tag {tag}): {message}")]
    Entry {
        /// Position in the index.
        index: usize,
        /// The entry's tag.
        tag: u32,
        /// What is wrong.
        message: String,
    },
}

/// The fields of an RPM header that make a package (absent tags are `None`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RpmHeader {
    /// `NAME`.
    pub name: Option<String>,
    /// `VERSION`.
    pub version: Option<String>,
    /// `RELEASE`.
    pub release: Option<String>,
    /// `EPOCH`.
    pub epoch: Option<u32>,
    /// `ARCH` (`x86_64`, `noarch`...).
    pub arch: Option<String>,
    /// `LICENSE` (an SPDX expression or Fedora's older short names).
    pub license: Option<String>,
    /// `SOURCERPM`, e.g. `openssl-3.0.7-27.el9.src.rpm`.
    pub source_rpm: Option<String>,
    /// `VENDOR`.
    pub vendor: Option<String>,
}

struct Entry {
    tag: u32,
    ty: u32,
    offset: u32,
    count: u32,
}

/// Parses an RPM header blob as stored in the rpmdb (no lead magic): a big-endian index count
/// and data length, that many 16-byte index entries (tag, type, offset, count), then the data
/// store. Every count and offset is checked against the blob. Written by hand because no
/// maintained Rust crate parses headers from an rpmdb with bounds checks and without pulling in a
/// package-file reader; the format is rpm's `lib/header.c` (`hdrblobInit`).
pub fn parse_rpm_header(blob: &[u8]) -> Result<RpmHeader, RpmHeaderError> {
    let be32 = |at: usize| {
        blob.get(at..at + 4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map(u32::from_be_bytes)
    };
    let (Some(il), Some(dl)) = (be32(0), be32(4)) else {
        return Err(RpmHeaderError::Truncated {
            expected: 8,
            found: blob.len(),
        });
    };
    if il == 0 || il > MAX_INDEX_ENTRIES {
        return Err(RpmHeaderError::IndexCount(il));
    }
    if dl > MAX_DATA {
        return Err(RpmHeaderError::DataLength(dl));
    }
    let index_len = u64::from(il) * 16;
    let expected = 8 + index_len + u64::from(dl);
    if (blob.len() as u64) < expected {
        return Err(RpmHeaderError::Truncated {
            expected,
            found: blob.len(),
        });
    }
    // Both fit: il <= 0xffff and dl < 2^28, and the blob is at least that long.
    let data_start = 8 + 16 * il as usize;
    let data = blob
        .get(data_start..data_start + dl as usize)
        .unwrap_or_default();
    let mut header = RpmHeader::default();
    for index in 0..il as usize {
        let at = 8 + 16 * index;
        let (Some(tag), Some(ty), Some(offset), Some(count)) =
            (be32(at), be32(at + 4), be32(at + 8), be32(at + 12))
        else {
            continue; // unreachable: the length was checked above
        };
        let e = Entry {
            tag,
            ty,
            offset,
            count,
        };
        let bad = |message: String| RpmHeaderError::Entry {
            index,
            tag,
            message,
        };
        if e.ty > TYPE_MAX {
            return Err(bad(format!("unknown type {}", e.ty)));
        }
        if e.offset >= dl && !(e.offset == dl && e.count == 0) {
            return Err(bad(format!(
                "offset {} is outside the {dl} byte data store",
                e.offset
            )));
        }
        if e.count > dl {
            return Err(bad(format!(
                "count {} cannot fit in the {dl} byte data store",
                e.count
            )));
        }
        match e.tag {
            TAG_NAME => header.name = string(data, &e).map_err(bad)?,
            TAG_VERSION => header.version = string(data, &e).map_err(bad)?,
            TAG_RELEASE => header.release = string(data, &e).map_err(bad)?,
            TAG_VENDOR => header.vendor = string(data, &e).map_err(bad)?,
            TAG_LICENSE => header.license = string(data, &e).map_err(bad)?,
            TAG_ARCH => header.arch = string(data, &e).map_err(bad)?,
            TAG_SOURCERPM => header.source_rpm = string(data, &e).map_err(bad)?,
            TAG_EPOCH => header.epoch = int32(data, &e).map_err(bad)?,
            _ => {}
        }
    }
    Ok(header)
}

/// A string tag: `STRING` (count 1), or the first of an `I18NSTRING`/`STRING_ARRAY`.
fn string(data: &[u8], e: &Entry) -> Result<Option<String>, String> {
    match e.ty {
        TYPE_STRING | TYPE_I18NSTRING | TYPE_STRING_ARRAY => {}
        other => return Err(format!("expected a string type, found type {other}")),
    }
    if e.count == 0 {
        return Ok(None);
    }
    let rest = data.get(e.offset as usize..).unwrap_or_default();
    let Some(end) = rest.iter().position(|&b| b == 0) else {
        return Err(format!(
            "string at offset {} has no terminating NUL in the data store",
            e.offset
        ));
    };
    let s = String::from_utf8_lossy(rest.get(..end).unwrap_or_default());
    Ok(Some(s.into_owned()).filter(|s| !s.is_empty()))
}

fn int32(data: &[u8], e: &Entry) -> Result<Option<u32>, String> {
    if e.ty != TYPE_INT32 {
        return Err(format!("expected type INT32 (4), found type {}", e.ty));
    }
    if e.count == 0 {
        return Ok(None);
    }
    let at = e.offset as usize;
    data.get(at..at + 4)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(|b| Some(u32::from_be_bytes(b)))
        .ok_or_else(|| format!("INT32 at offset {} runs past the data store", e.offset))
}

/// `name-version-release.src.rpm` → (name, version-release).
pub(crate) fn parse_source_rpm(s: &str) -> Option<(&str, &str)> {
    let stem = s
        .strip_suffix(".src.rpm")
        .or_else(|| s.strip_suffix(".nosrc.rpm"))?;
    let (rest, release) = stem.rsplit_once('-')?;
    let (name, version) = rest.rsplit_once('-')?;
    if name.is_empty() || version.is_empty() || release.is_empty() {
        return None;
    }
    let version_release = stem.get(name.len() + 1..)?;
    Some((name, version_release))
}

/// Installed RPM packages from the sqlite rpmdb. Paths: `var/lib/rpm/rpmdb.sqlite`,
/// `usr/lib/sysimage/rpm/rpmdb.sqlite`. `gpg-pubkey` entries (imported signing keys, not
/// software) are skipped. The version is `[epoch:]version-release`; the purl is
/// `pkg:rpm/<distro id>/<name>@<version>-<release>?arch=..&epoch=..&distro=..` (no namespace
/// when the distribution is unknown). Licenses: `LICENSE` as written. Source package: from
/// `SOURCERPM` (`name-version-release.src.rpm`), with the binary's epoch.
#[derive(Debug, Clone, Copy)]
pub struct RpmDb;

impl Cataloger for RpmDb {
    fn name(&self) -> &'static str {
        "rpm"
    }

    fn wants(&self, path: &str) -> bool {
        matches!(
            clean_path(path),
            "var/lib/rpm/rpmdb.sqlite" | "usr/lib/sysimage/rpm/rpmdb.sqlite"
        )
    }

    fn max_input(&self) -> usize {
        MAX_RPMDB
    }

    fn parse(
        &self,
        path: &str,
        content: &[u8],
        ctx: &CatalogContext,
    ) -> Result<Vec<Package>, CatalogError> {
        let conn = open(path, content)?;
        let err = |e: rusqlite::Error| CatalogError::Format {
            path: path.to_owned(),
            message: format!("cannot read the Packages table: {e}"),
        };
        let mut stmt = conn
            .prepare("SELECT hnum, blob FROM Packages ORDER BY hnum")
            .map_err(err)?;
        let mut rows = stmt.query([]).map_err(err)?;
        let mut pkgs = Vec::new();
        while let Some(row) = rows.next().map_err(err)? {
            // A row whose blob is not a readable header is skipped, like any bad record.
            let Ok(blob) = row.get_ref(1).and_then(|v| v.as_blob().map_err(Into::into)) else {
                continue;
            };
            let Ok(h) = parse_rpm_header(blob) else {
                continue;
            };
            if let Some(p) = package(&h, path, ctx) {
                pkgs.push(p);
            }
        }
        Ok(pkgs)
    }
}

/// Opens `content` as an in-memory, read-only, defensive SQLite database.
fn open(path: &str, content: &[u8]) -> Result<Connection, CatalogError> {
    let err = |message: String| CatalogError::Format {
        path: path.to_owned(),
        message,
    };
    if content.len() > MAX_RPMDB {
        return Err(CatalogError::TooLarge {
            path: path.to_owned(),
            size: content.len(),
            limit: MAX_RPMDB,
        });
    }
    if !content.starts_with(b"SQLite format 3\0") || content.len() < 100 {
        return Err(err(
            "expected an sqlite database (\"SQLite format 3\" header)".to_owned(),
        ));
    }
    let mut conn = Connection::open_in_memory_with_flags(
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| err(format!("cannot open sqlite in memory: {e}")))?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true)
        .map_err(|e| err(format!("cannot set defensive mode: {e}")))?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_TRUSTED_SCHEMA, false)
        .map_err(|e| err(format!("cannot distrust the schema: {e}")))?;
    // rpm keeps its database in WAL mode (header bytes 18 and 19 are 2), which an in-memory
    // database cannot open; rewrite them to the rollback journal (1) while copying. The WAL file
    // itself is not read: rpm checkpoints it when it closes the database.
    let (head, tail) = content.split_at(18);
    let versions: &[u8] = match tail.get(..2) {
        Some([2, 2]) => &[1, 1],
        Some(v) => v,
        None => &[],
    };
    let reader = head
        .chain(versions)
        .chain(tail.get(2..).unwrap_or_default());
    conn.deserialize_read_exact("main", reader, content.len(), true)
        .map_err(|e| err(format!("cannot load the sqlite database: {e}")))?;
    conn.pragma_update(None, "query_only", true)
        .map_err(|e| err(format!("cannot make the database read-only: {e}")))?;
    // No value larger than rpm's own header limit, whatever the schema computes.
    conn.set_limit(Limit::SQLITE_LIMIT_LENGTH, MAX_DATA as i32)
        .map_err(|e| err(format!("cannot limit value sizes: {e}")))?;
    // `Packages` must be a plain table: a view (recursive CTEs) or generated columns would let the
    // file make the query run unbounded work. Scanning a table is bounded by the file's size.
    let (ty, sql): (String, String) = conn
        .query_row(
            "SELECT type, sql FROM sqlite_schema WHERE name = 'Packages'",
            [],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                ))
            },
        )
        .map_err(|e| err(format!("expected a Packages table: {e}")))?;
    let upper = sql.to_ascii_uppercase();
    if ty != "table" || upper.contains("GENERATED") || upper.contains("VIRTUAL") {
        return Err(err(format!(
            "expected Packages to be a plain table, found {ty}: {sql}"
        )));
    }
    Ok(conn)
}

fn package(h: &RpmHeader, path: &str, ctx: &CatalogContext) -> Option<Package> {
    let name = h.name.as_deref()?;
    if name == "gpg-pubkey" {
        return None;
    }
    let version = h.version.as_deref()?;
    let release = h.release.as_deref()?;
    let vr = format!("{version}-{release}");
    let evr = match h.epoch {
        Some(e) => format!("{e}:{vr}"),
        None => vr.clone(),
    };
    let namespace = ctx.distro.as_ref().map(|d| d.id.as_str());
    let mut purl = Purl::new("rpm", namespace, name, Some(&vr)).ok()?;
    if let Some(a) = &h.arch {
        purl = purl.with_qualifier("arch", a).ok()?;
    }
    if let Some(e) = h.epoch {
        purl = purl.with_qualifier("epoch", &e.to_string()).ok()?;
    }
    if let Some(d) = &ctx.distro {
        purl = purl.with_qualifier("distro", &d.purl_qualifier()).ok()?;
    }
    let mut pkg = Package::new(Ecosystem::Rpm, name.to_owned(), evr.clone(), purl, path);
    pkg.arch = h.arch.clone();
    if let Some(l) = &h.license {
        pkg.add_license(l);
    }
    let epoch_prefix = h.epoch.map(|e| format!("{e}:")).unwrap_or_default();
    pkg.source_package = Some(match h.source_rpm.as_deref().and_then(parse_source_rpm) {
        Some((src, src_vr)) => SourcePackage {
            name: src.to_owned(),
            version: format!("{epoch_prefix}{src_vr}"),
        },
        None => SourcePackage {
            name: name.to_owned(),
            version: evr,
        },
    });
    Some(pkg)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Builds a header blob from (tag, type, data bytes, count) entries.
    fn blob(entries: &[(u32, u32, Vec<u8>, u32)]) -> Vec<u8> {
        let mut index = Vec::new();
        let mut data = Vec::new();
        for (tag, ty, bytes, count) in entries {
            if *ty == TYPE_INT32 {
                while data.len() % 4 != 0 {
                    data.push(0);
                }
            }
            for v in [*tag, *ty, data.len() as u32, *count] {
                index.extend(v.to_be_bytes());
            }
            data.extend(bytes);
        }
        let mut out = Vec::new();
        out.extend((entries.len() as u32).to_be_bytes());
        out.extend((data.len() as u32).to_be_bytes());
        out.extend(index);
        out.extend(data);
        out
    }

    fn s(tag: u32, v: &str) -> (u32, u32, Vec<u8>, u32) {
        let mut b = v.as_bytes().to_vec();
        b.push(0);
        (tag, TYPE_STRING, b, 1)
    }

    fn sample() -> Vec<u8> {
        blob(&[
            (63, 7, vec![0; 16], 16), // an immutable region tag, ignored
            s(TAG_NAME, "openssl-libs"),
            s(TAG_VERSION, "3.0.7"),
            s(TAG_RELEASE, "27.el9"),
            (TAG_EPOCH, TYPE_INT32, 1u32.to_be_bytes().to_vec(), 1),
            (TAG_LICENSE, TYPE_I18NSTRING, b"Apache-2.0\0x\0".to_vec(), 2),
            s(TAG_ARCH, "x86_64"),
            s(TAG_SOURCERPM, "openssl-3.0.7-27.el9.src.rpm"),
        ])
    }

    #[test]
    fn header_fields() {
        let h = parse_rpm_header(&sample()).unwrap();
        assert_eq!(h.name.as_deref(), Some("openssl-libs"));
        assert_eq!(h.epoch, Some(1));
        assert_eq!(h.license.as_deref(), Some("Apache-2.0"));
        let ctx = CatalogContext {
            distro: crate::Distro::from_os_release(b"ID=rhel\nVERSION_ID=9.4\n"),
        };
        let p = package(&h, "var/lib/rpm/rpmdb.sqlite", &ctx).unwrap();
        assert_eq!(
            p.purl.to_string(),
            "pkg:rpm/rhel/openssl-libs@3.0.7-27.el9?arch=x86_64&distro=rhel-9.4&epoch=1"
        );
        assert_eq!(p.version, "1:3.0.7-27.el9");
        let src = p.source_package.unwrap();
        assert_eq!(
            (src.name.as_str(), src.version.as_str()),
            ("openssl", "1:3.0.7-27.el9")
        );
        let no_distro = package(&h, "x", &CatalogContext::default()).unwrap();
        assert_eq!(
            no_distro.purl.to_string(),
            "pkg:rpm/openssl-libs@3.0.7-27.el9?arch=x86_64&epoch=1"
        );
    }

    #[test]
    fn source_rpm_names() {
        assert_eq!(
            parse_source_rpm("glibc-2.34-100.el9_4.2.src.rpm"),
            Some(("glibc", "2.34-100.el9_4.2"))
        );
        assert_eq!(
            parse_source_rpm("python3.11-pip-22.3.1-4.el9.nosrc.rpm"),
            Some(("python3.11-pip", "22.3.1-4.el9"))
        );
        assert_eq!(parse_source_rpm("x-1.src.rpm"), None);
        assert_eq!(parse_source_rpm("x-1-2.rpm"), None);
    }

    #[test]
    fn hostile_headers() {
        let good = sample();
        // Truncated anywhere: an error, never a panic.
        for n in 0..good.len() {
            assert!(parse_rpm_header(&good[..n]).is_err(), "{n}");
        }
        // Counts out of range.
        let mut b = good.clone();
        b[..4].copy_from_slice(&0u32.to_be_bytes());
        assert_eq!(parse_rpm_header(&b), Err(RpmHeaderError::IndexCount(0)));
        b[..4].copy_from_slice(&0x1_0000u32.to_be_bytes());
        assert_eq!(
            parse_rpm_header(&b),
            Err(RpmHeaderError::IndexCount(0x1_0000))
        );
        let mut b = good.clone();
        b[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(
            parse_rpm_header(&b),
            Err(RpmHeaderError::DataLength(u32::MAX))
        );
        let mut b = good.clone();
        b[4..8].copy_from_slice(&0x0fff_0000u32.to_be_bytes());
        assert!(matches!(
            parse_rpm_header(&b),
            Err(RpmHeaderError::Truncated { .. })
        ));
        // Offset outside the data store (entry 1 = NAME).
        let mut b = good.clone();
        b[8 + 16 + 8..8 + 16 + 12].copy_from_slice(&0xffff_fff0u32.to_be_bytes());
        assert!(matches!(
            parse_rpm_header(&b),
            Err(RpmHeaderError::Entry {
                index: 1,
                tag: TAG_NAME,
                ..
            })
        ));
        // Unknown type, huge count.
        let mut b = good.clone();
        b[8 + 16 + 4..8 + 16 + 8].copy_from_slice(&77u32.to_be_bytes());
        assert!(matches!(
            parse_rpm_header(&b),
            Err(RpmHeaderError::Entry { .. })
        ));
        let mut b = good.clone();
        b[8 + 16 + 12..8 + 16 + 16].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            parse_rpm_header(&b),
            Err(RpmHeaderError::Entry { .. })
        ));
        // A string without its NUL, an INT32 at the very end.
        let unterminated = blob(&[(TAG_NAME, TYPE_STRING, b"abc".to_vec(), 1)]);
        assert!(matches!(
            parse_rpm_header(&unterminated),
            Err(RpmHeaderError::Entry { .. })
        ));
        let mut short_int = blob(&[
            s(TAG_NAME, "abc"),
            (TAG_EPOCH, TYPE_INT32, vec![0, 0, 0, 1], 1),
        ]);
        let n = short_int.len();
        short_int[4..8].copy_from_slice(&((n - 8 - 32 - 2) as u32).to_be_bytes());
        assert!(parse_rpm_header(&short_int[..n - 2]).is_err());
    }

    #[test]
    fn not_sqlite() {
        let ctx = CatalogContext::default();
        for bad in [&b""[..], b"SQLite format 3\0", &[0u8; 4096][..]] {
            assert!(matches!(
                RpmDb.parse("var/lib/rpm/rpmdb.sqlite", bad, &ctx),
                Err(CatalogError::Format { .. })
            ));
        }
        let mut corrupt = b"SQLite format 3\0".to_vec();
        corrupt.extend((0..8192u32).map(|i| (i * 7919 % 251) as u8));
        assert!(
            RpmDb
                .parse("var/lib/rpm/rpmdb.sqlite", &corrupt, &ctx)
                .is_err()
        );
        assert!(RpmDb.wants("/usr/lib/sysimage/rpm/rpmdb.sqlite"));
        assert!(RpmDb.wants("var/lib/rpm/rpmdb.sqlite"));
        assert!(!RpmDb.wants("var/lib/rpm/Packages"));
    }

    /// An in-memory database built with `sql`, serialized to bytes as a file would hold them.
    fn db_bytes(sql: &str) -> Vec<u8> {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(sql).unwrap();
        conn.serialize("main").unwrap().to_vec()
    }

    #[test]
    fn schema_must_be_a_plain_table() {
        let ctx = CatalogContext::default();
        let path = "var/lib/rpm/rpmdb.sqlite";
        let ok = db_bytes(&format!(
            "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL);\
             INSERT INTO Packages (blob) VALUES (X'{}');",
            sample()
                .iter()
                .map(|b| format!("{b:02X}"))
                .collect::<String>()
        ));
        assert_eq!(RpmDb.parse(path, &ok, &ctx).unwrap().len(), 1);
        // A view that never ends, a generated column, a missing table: refused up front.
        for sql in [
            "CREATE VIEW Packages AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) \
             SELECT x AS hnum, zeroblob(16) AS blob FROM c;",
            "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY, b BLOB, \
             blob BLOB GENERATED ALWAYS AS (zeroblob(1000000000)));\
             INSERT INTO Packages (hnum, b) VALUES (1, X'00');",
            "CREATE TABLE Other (x);",
        ] {
            let e = RpmDb.parse(path, &db_bytes(sql), &ctx).err();
            assert!(
                matches!(&e, Some(CatalogError::Format { message, .. }) if message.contains("Packages")),
                "{sql}: {e:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn header_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_rpm_header(&bytes);
        }

        #[test]
        fn mutated_header_never_panics(flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6)) {
            let mut b = sample();
            let n = b.len();
            for (at, v) in flips {
                b[at % n] = v;
            }
            let _ = parse_rpm_header(&b);
        }
    }
}
