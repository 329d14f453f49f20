//! The fleet's inventory: each analysed image's packages, its last vulnerability match and its
//! report, in the shared store, so `rampart inventory --inventory postgres://...` answers
//! `find`, `list` and `rescan` for the whole fleet without pulling any image again.
//!
//! Packages are stored once (`fleet_packages`, keyed by a hash of every field the matcher and
//! `find` read) and images hold an array of package ids: a thousand images on one base hold
//! its packages once. A rescan matches each distinct package once per distribution release
//! and hands every image the findings of its own packages.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::{Read, Write};

use postgres::GenericClient;
use rampart_core::Vulnerability;
use rampart_sbom::{Distro, Package, PackageLocation};
use rampart_vuln::inventory::{
    Found, ImageEntry, Query, Rescanned, StoredColumns, distro_text, stored_columns, stored_distro,
    stored_package,
};
use rampart_vuln::store::Database;
use sha2::{Digest as _, Sha256};

use crate::FleetError;
use crate::store::{KnownIds, Prepared, Store};

/// Largest report accepted back from the store once inflated (a hostile or corrupt row must not
/// exhaust memory).
const MAX_REPORT_BYTES: u64 = 256 << 20;

/// What a worker learnt about one image, written in one transaction with its job's end.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// the manifest digest (`sha256:...`)
    pub digest: String,
    /// the reference it was analysed under
    pub name: String,
    /// rampart's analysis version (an image analysed by another version is analysed again)
    pub analysis: String,
    /// its distribution
    pub distro: Option<Distro>,
    /// its packages
    pub packages: Vec<Package>,
    /// the vulnerabilities of its report (empty when the worker matched none)
    pub vulnerabilities: Vec<Vulnerability>,
    /// whether vulnerabilities were matched at all (a worker without a database did not)
    pub matched: bool,
    /// the report (`rampart scan --format json` of the image)
    pub report: String,
    /// a few facts for listings: layer states, findings by severity
    pub summary: serde_json::Value,
}

impl Analysis {
    /// An image analysed under `analysis` in which nothing was found: no distribution, no
    /// packages, no vulnerabilities matched, an empty report (an analyser fills in the rest).
    pub fn empty(digest: &str, name: &str, analysis: &str) -> Self {
        Self {
            digest: digest.to_owned(),
            name: name.to_owned(),
            analysis: analysis.to_owned(),
            distro: None,
            packages: Vec::new(),
            vulnerabilities: Vec::new(),
            matched: false,
            report: String::from("{}"),
            summary: serde_json::json!({}),
        }
    }
}

/// The columns a package is stored with.
struct Row {
    key: Vec<u8>,
    ecosystem: String,
    name: String,
    full_name: String,
    version: String,
    purl: String,
    source: Option<String>,
    locations: String,
    /// JSON array (none when the package states no license)
    licenses: Option<String>,
    arch: Option<String>,
}

/// A package's key in `fleet_packages`: sha256 over the length (8 bytes, little-endian) and
/// bytes of each of its ecosystem's purl type, name, version, purl, source package (JSON
/// `[name, version]`, empty when none) and locations (JSON), the columns [`row_of`] stores.
/// Made without building the row, in `scratch` (an image on a known base needs only the keys of
/// its ~300 packages, nearly all of them stored already).
fn key_of(p: &Package, scratch: &mut Vec<u8>) -> [u8; 32] {
    let mut h = Sha256::new();
    let mut field = |bytes: &[u8]| {
        h.update(bytes.len().to_le_bytes());
        h.update(bytes);
    };
    field(p.ecosystem.purl_type().as_bytes());
    field(p.name.as_bytes());
    field(p.version.as_bytes());
    // writing to a Vec cannot fail
    scratch.clear();
    let _ = write!(scratch, "{}", p.purl);
    field(scratch);
    scratch.clear();
    if let Some(s) = &p.source_package {
        let _ = serde_json::to_writer(&mut *scratch, &(&s.name, &s.version));
    }
    field(scratch);
    scratch.clear();
    if serde_json::to_writer(&mut *scratch, &p.locations).is_err() {
        scratch.clear();
        scratch.extend_from_slice(b"[]");
    }
    field(scratch);
    h.finalize().into()
}

fn row_of(p: &Package, key: &[u8]) -> Row {
    let StoredColumns {
        full_name,
        source,
        locations,
    } = stored_columns(p);
    // licenses and architecture are not part of the key: they come from the file that declares
    // the package, which the locations (path and layer digest) already name
    let licenses = (!p.licenses.is_empty())
        .then(|| serde_json::to_string(&p.licenses).unwrap_or_else(|_| String::from("[]")));
    Row {
        licenses,
        arch: p.arch.clone(),
        key: key.to_vec(),
        ecosystem: p.ecosystem.purl_type().to_owned(),
        name: p.name.clone(),
        full_name,
        version: p.version.clone(),
        purl: p.purl.to_string(),
        source,
        locations,
    }
}

/// gzip of the report.
fn pack(text: &str) -> Vec<u8> {
    let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    // writing to a Vec cannot fail
    let _ = z.write_all(text.as_bytes());
    z.finish().unwrap_or_default()
}

/// The report stored for an image, inflated (bounded).
pub fn unpack(bytes: &[u8]) -> Result<String, String> {
    let mut out = String::new();
    flate2::read::GzDecoder::new(bytes)
        .take(MAX_REPORT_BYTES + 1)
        .read_to_string(&mut out)
        .map_err(|e| format!("the stored report does not inflate: {e}"))?;
    if out.len() as u64 > MAX_REPORT_BYTES {
        return Err(format!(
            "the stored report is larger than {MAX_REPORT_BYTES} bytes"
        ));
    }
    Ok(out)
}

/// Stores the packages (each distinct one once) and returns their ids, in the packages' order
/// without repeats.
fn package_ids(
    tx: &mut impl GenericClient,
    p: &mut Prepared,
    packages: &[Package],
    known: &KnownIds,
) -> Result<Vec<i32>, postgres::Error> {
    let mut scratch = Vec::new();
    let mut keyed: Vec<([u8; 32], &Package)> = packages
        .iter()
        .map(|p| (key_of(p, &mut scratch), p))
        .collect();
    // one order for every writer: two transactions inserting overlapping sets wait for each
    // other instead of deadlocking
    keyed.sort_unstable_by_key(|a| a.0);
    keyed.dedup_by(|a, b| a.0 == b.0);
    if keyed.is_empty() {
        return Ok(Vec::new());
    }
    // the packages this process has seen stored need no question; the others stored already
    // (images sharing a base: nearly all of them) are looked up by key; only the rest are sent
    // whole
    let mut ids = known.lookup(keyed.iter().map(|(k, _)| k.as_slice()));
    let unknown: Vec<&[u8]> = keyed
        .iter()
        .filter(|(k, _)| !ids.contains_key(k.as_slice()))
        .map(|(k, _)| k.as_slice())
        .collect();
    if !unknown.is_empty() {
        // committed before this transaction: kept for the next images
        let stored = stored_ids(tx, p, &unknown)?;
        known.add(stored.iter().cloned());
        ids.extend(stored);
    }
    let missing: Vec<Row> = keyed
        .iter()
        .filter(|(k, _)| !ids.contains_key(k.as_slice()))
        .map(|(k, package)| row_of(package, k))
        .collect();
    if !missing.is_empty() {
        let keys: Vec<&[u8]> = missing.iter().map(|r| r.key.as_slice()).collect();
        let col = |f: fn(&Row) -> &str| missing.iter().map(f).collect::<Vec<&str>>();
        let sources: Vec<Option<&str>> = missing.iter().map(|r| r.source.as_deref()).collect();
        let licenses: Vec<Option<&str>> = missing.iter().map(|r| r.licenses.as_deref()).collect();
        let arches: Vec<Option<&str>> = missing.iter().map(|r| r.arch.as_deref()).collect();
        p.execute(
            tx,
            "INSERT INTO fleet_packages (key, ecosystem, name, full_name, version, purl, source, \
                                         locations, licenses, arch) \
             SELECT * FROM unnest($1::bytea[], $2::text[], $3::text[], $4::text[], $5::text[], \
                                  $6::text[], $7::text[], $8::text[], $9::text[], $10::text[]) \
             ORDER BY 1 ON CONFLICT (key) DO NOTHING",
            &[
                &keys,
                &col(|r| &r.ecosystem),
                &col(|r| &r.name),
                &col(|r| &r.full_name),
                &col(|r| &r.version),
                &col(|r| &r.purl),
                &sources,
                &col(|r| &r.locations),
                &licenses,
                &arches,
            ],
        )?;
        // not kept: this transaction may yet be rolled back
        ids.extend(stored_ids(tx, p, &keys)?);
    }
    let mut out: Vec<i32> = keyed
        .iter()
        .filter_map(|(k, _)| ids.get(k.as_slice()).copied())
        .collect();
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// The ids of the packages stored under `keys`.
fn stored_ids(
    tx: &mut impl GenericClient,
    p: &mut Prepared,
    keys: &[&[u8]],
) -> Result<Vec<(Vec<u8>, i32)>, postgres::Error> {
    p.query(
        tx,
        "SELECT key, id FROM fleet_packages WHERE key = ANY($1)",
        &[&keys],
    )?
    .iter()
    .map(|r| Ok((r.try_get::<_, Vec<u8>>(0)?, r.try_get::<_, i32>(1)?)))
    .collect()
}

/// Writes an analysis: the image (once per digest: an image already analysed by the same
/// analysis version is left as it is), the reference it was reached by, its last match.
/// Returns the image's row id and whether this call wrote it.
pub(crate) fn record_in(
    tx: &mut impl GenericClient,
    p: &mut Prepared,
    a: &Analysis,
    known: &KnownIds,
) -> Result<(i64, bool), postgres::Error> {
    let ids = package_ids(tx, p, &a.packages, known)?;
    let distro = a.distro.as_ref().map(distro_text);
    let summary = a.summary.to_string();
    let report = pack(&a.report);
    let written = p.query_opt(
        tx,
        "INSERT INTO fleet_images (digest, name, analysis, distro, packages, summary, report, \
                                   analysed_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, now()) \
         ON CONFLICT (digest) DO UPDATE SET name = EXCLUDED.name, analysis = EXCLUDED.analysis, \
           distro = EXCLUDED.distro, packages = EXCLUDED.packages, summary = EXCLUDED.summary, \
           report = EXCLUDED.report, analysed_at = EXCLUDED.analysed_at \
         WHERE fleet_images.analysis <> EXCLUDED.analysis \
         RETURNING id",
        &[
            &a.digest,
            &a.name,
            &a.analysis,
            &distro,
            &ids,
            &summary,
            &report,
        ],
    )?;
    p.execute(tx, SEEN, &[&a.name, &a.digest])?;
    let Some(row) = written else {
        let id: i64 = tx
            .query_one(
                "SELECT id FROM fleet_images WHERE digest = $1",
                &[&a.digest],
            )?
            .get(0);
        return Ok((id, false));
    };
    let id: i64 = row.get(0);
    if a.matched {
        let m = match_of(a.vulnerabilities.iter());
        let [vulns, purls, severities, fixed] = match_columns(&m);
        p.execute(tx, WRITE_MATCH, &[&id, &vulns, &purls, &severities, &fixed])?;
    } else {
        p.execute(
            tx,
            "DELETE FROM fleet_image_matches WHERE image = $1",
            &[&id],
        )?;
    }
    Ok((id, true))
}

/// An image's match as stored: (vulnerability, purl) → (severity, fixed versions).
type LastMatch = BTreeMap<(String, String), (String, String)>;

fn match_of<'v>(vulns: impl Iterator<Item = &'v Vulnerability>) -> LastMatch {
    let mut m = LastMatch::new();
    for v in vulns {
        m.entry((v.id.clone(), v.package.purl.clone()))
            .or_insert_with(|| (v.severity.as_str().to_owned(), v.fixed.join(", ")));
    }
    m
}

/// A match's four columns (`fleet_image_matches`: vulns, purls, severities, fixed).
fn match_columns(m: &LastMatch) -> [Vec<&str>; 4] {
    let mut c: [Vec<&str>; 4] = Default::default();
    for ((vuln, purl), (severity, fixed)) in m {
        c[0].push(vuln);
        c[1].push(purl);
        c[2].push(severity);
        c[3].push(fixed);
    }
    c
}

/// Reads a stored match back (arrays of unequal length, which only a foreign writer makes, are
/// read as far as all four go).
fn match_from(
    vulns: Vec<String>,
    purls: Vec<String>,
    severities: Vec<String>,
    fixed: Vec<String>,
) -> LastMatch {
    vulns
        .into_iter()
        .zip(purls)
        .zip(severities.into_iter().zip(fixed))
        .collect()
}

/// Writes (or replaces) an image's last match: `$1` the image, `$2`-`$5` [`match_columns`].
const WRITE_MATCH: &str = "INSERT INTO fleet_image_matches (image, vulns, purls, severities, fixed, matched_at) \
     VALUES ($1, $2, $3, $4, $5, now()) \
     ON CONFLICT (image) DO UPDATE SET vulns = EXCLUDED.vulns, purls = EXCLUDED.purls, \
       severities = EXCLUDED.severities, fixed = EXCLUDED.fixed, matched_at = now()";

/// Records that a reference (`$1`) was seen pointing at a digest (`$2`).
pub(crate) const SEEN: &str = "INSERT INTO fleet_refs (reference, digest, seen_at) \
     VALUES ($1, $2, now()) \
     ON CONFLICT (reference) DO UPDATE SET digest = EXCLUDED.digest, seen_at = now()";

/// Whether the image `digest` was analysed by `analysis` already.
pub fn analysed(store: &mut Store, digest: &str, analysis: &str) -> Result<bool, FleetError> {
    store.with_prepared(|c, p| {
        p.query_opt(
            c,
            "SELECT 1 FROM fleet_images WHERE digest = $1 AND analysis = $2",
            &[&digest, &analysis],
        )
        .map(|r| r.is_some())
    })
}

/// The stored report of an image (by digest), when there is one.
pub fn report(store: &mut Store, digest: &str) -> Result<Option<String>, FleetError> {
    let bytes: Option<Vec<u8>> = store.with(|c| {
        c.query_opt(
            "SELECT report FROM fleet_images WHERE digest = $1",
            &[&digest],
        )
        .map(|r| r.map(|r| r.get(0)))
    })?;
    bytes
        .map(|b| unpack(&b))
        .transpose()
        .map_err(|message| FleetError::Corrupt {
            what: format!("the report of {digest}"),
            message,
        })
}

fn timestamp(v: &str) -> String {
    // PostgreSQL's text form of timestamptz (`2026-12-07 01:02:03.456+00`) as RFC 3339
    v.parse::<jiff::Timestamp>()
        .map_or_else(|_| v.to_owned(), |t| t.to_string())
}

/// The analysed images, by name.
pub fn images(store: &mut Store) -> Result<Vec<ImageEntry>, FleetError> {
    store.with(|c| {
        c.query(
            "SELECT digest, name, analysed_at::text FROM fleet_images ORDER BY name, digest",
            &[],
        )
        .map(|rows| {
            rows.iter()
                .map(|r| ImageEntry {
                    id: r.get(0),
                    name: r.get(1),
                    recorded_at: timestamp(r.get(2)),
                })
                .collect()
        })
    })
}

/// The images of the fleet that contain a package matching `query`.
pub fn find(store: &mut Store, query: &Query) -> Result<Vec<Found>, FleetError> {
    let full = query.name().replace(':', "/");
    let name = query.name().to_owned();
    let rows = store.with(|c| {
        c.query(
            "SELECT i.digest, i.name, i.analysed_at::text, p.ecosystem, p.name, p.version, \
                    p.purl, p.locations \
             FROM fleet_packages p JOIN fleet_images i ON i.packages @> ARRAY[p.id] \
             WHERE lower(p.name) = lower($1) OR lower(p.full_name) = lower($2) \
             ORDER BY i.name, p.name, p.version, i.digest",
            &[&name, &full],
        )
    })?;
    let mut out = Vec::new();
    for r in &rows {
        let ty: String = r.get(3);
        let version: String = r.get(5);
        if !query.accepts(&ty, &version) {
            continue;
        }
        let locations: String = r.get(7);
        out.push(Found {
            image: ImageEntry {
                id: r.get(0),
                name: r.get(1),
                recorded_at: timestamp(r.get(2)),
            },
            name: r.get(4),
            version,
            purl: r.get(6),
            locations: serde_json::from_str::<Vec<PackageLocation>>(&locations).unwrap_or_default(),
        });
    }
    Ok(out)
}

/// The columns [`package_of`] reads, in its order.
const PACKAGE_COLUMNS: &str =
    "id, ecosystem, name, version, purl, source, locations, licenses, arch";

/// A stored package, as the matcher and the SBOM writers take it (`None` for a row that no
/// longer parses: it was written from a parsed package).
fn package_of(r: &postgres::Row) -> Option<(i32, Package)> {
    let source: Option<String> = r.get(5);
    let mut p = stored_package(
        r.get(1),
        r.get(2),
        r.get(3),
        r.get(4),
        source.as_deref(),
        r.get(6),
    )?;
    p.licenses = r
        .get::<_, Option<String>>(7)
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default();
    p.arch = r.get(8);
    Some((r.get::<_, i32>(0), p))
}

/// Every stored package, as the matcher takes them (rows that no longer parse are left out:
/// they were written from parsed packages).
fn all_packages(c: &mut postgres::Client) -> Result<HashMap<i32, Package>, postgres::Error> {
    Ok(c.query(
        &format!("SELECT {PACKAGE_COLUMNS} FROM fleet_packages"),
        &[],
    )?
    .iter()
    .filter_map(package_of)
    .collect())
}

/// An analysed image as the store holds it: what a report is built from without pulling it.
#[derive(Debug, Clone)]
pub struct StoredImage {
    /// the manifest digest
    pub digest: String,
    /// the reference it was analysed under
    pub name: String,
    /// when (RFC 3339)
    pub analysed_at: String,
    /// its distribution
    pub distro: Option<Distro>,
    /// its packages, in the order of their ids
    pub packages: Vec<Package>,
    /// packages whose stored row no longer parses (said, never dropped silently)
    pub unreadable: usize,
}

/// The stored image `digest` with its packages, when the fleet analysed it.
pub fn stored_image(store: &mut Store, digest: &str) -> Result<Option<StoredImage>, FleetError> {
    store.with(|c| {
        let Some(row) = c.query_opt(
            "SELECT digest, name, analysed_at::text, distro, packages FROM fleet_images \
             WHERE digest = $1",
            &[&digest],
        )?
        else {
            return Ok(None);
        };
        let ids: Vec<i32> = row.get(4);
        let rows = c.query(
            &format!("SELECT {PACKAGE_COLUMNS} FROM fleet_packages WHERE id = ANY($1) ORDER BY id"),
            &[&ids],
        )?;
        let packages: Vec<Package> = rows.iter().filter_map(package_of).map(|(_, p)| p).collect();
        Ok(Some(StoredImage {
            digest: row.get(0),
            name: row.get(1),
            analysed_at: timestamp(row.get(2)),
            distro: row
                .get::<_, Option<String>>(3)
                .as_deref()
                .and_then(stored_distro),
            unreadable: ids.len().saturating_sub(packages.len()),
            packages,
        }))
    })
}

/// One stored image, as a rescan reads it.
struct Stored {
    id: i64,
    entry: ImageEntry,
    distro: Option<String>,
    packages: Vec<i32>,
}

/// Re-matches every image of the fleet against `db` from the stored packages (no image is
/// pulled) and reports what changed since each image's last match; the new matches become the
/// last ones. Each distinct package is matched once per distribution release.
pub fn rescan(store: &mut Store, db: &Database) -> Result<Vec<Rescanned>, FleetError> {
    let (packages, images) = store.with(|c| {
        let packages = all_packages(c)?;
        let images: Vec<Stored> = c
            .query(
                "SELECT id, digest, name, analysed_at::text, distro, packages FROM fleet_images \
                 ORDER BY name, digest",
                &[],
            )?
            .iter()
            .map(|r| Stored {
                id: r.get(0),
                entry: ImageEntry {
                    id: r.get(1),
                    name: r.get(2),
                    recorded_at: timestamp(r.get(3)),
                },
                distro: r.get(4),
                packages: r.get(5),
            })
            .collect();
        Ok((packages, images))
    })?;
    // each distinct package once per distribution release
    let mut groups: BTreeMap<Option<String>, BTreeSet<i32>> = BTreeMap::new();
    for i in &images {
        groups
            .entry(i.distro.clone())
            .or_default()
            .extend(i.packages.iter().copied());
    }
    // (distro, purl) → findings; (distro) → purls not checked
    let mut findings: HashMap<Option<String>, HashMap<String, Vec<Vulnerability>>> = HashMap::new();
    let mut unchecked: HashMap<Option<String>, BTreeSet<String>> = HashMap::new();
    let mut cache = rampart_vuln::matcher::Cache::default();
    for (distro, ids) in &groups {
        let set: Vec<Package> = ids
            .iter()
            .filter_map(|id| packages.get(id).cloned())
            .collect();
        let d = distro.as_deref().and_then(stored_distro);
        let m = rampart_vuln::matcher::match_packages_cached(db, &mut cache, "", &set, d.as_ref())
            .map_err(|e| FleetError::Advisories(e.to_string()))?;
        let group = findings.entry(distro.clone()).or_default();
        for f in m.findings {
            group.entry(f.package.purl.clone()).or_default().push(f);
        }
        unchecked.insert(distro.clone(), m.unchecked);
    }
    let mut out = Vec::with_capacity(images.len());
    let before: HashMap<i64, LastMatch> = store.with(|c| {
        let mut m: HashMap<i64, LastMatch> = HashMap::new();
        for r in c.query(
            "SELECT image, vulns, purls, severities, fixed FROM fleet_image_matches",
            &[],
        )? {
            m.insert(
                r.try_get(0)?,
                match_from(r.try_get(1)?, r.try_get(2)?, r.try_get(3)?, r.try_get(4)?),
            );
        }
        Ok(m)
    })?;
    let empty = BTreeMap::new();
    let no_unchecked = BTreeSet::new();
    let no_findings = HashMap::new();
    // each package's purl, written once
    let purls: HashMap<i32, String> = packages
        .iter()
        .map(|(id, p)| (*id, p.purl.to_string()))
        .collect();
    // the images whose stored match changes, with what it becomes
    let mut changed: Vec<(i64, LastMatch)> = Vec::new();
    for image in &images {
        let mut own_unchecked: BTreeMap<String, usize> = BTreeMap::new();
        let group_unchecked = unchecked.get(&image.distro).unwrap_or(&no_unchecked);
        let group_findings = findings.get(&image.distro).unwrap_or(&no_findings);
        for (p, purl) in image
            .packages
            .iter()
            .filter_map(|id| packages.get(id).zip(purls.get(id)))
        {
            if group_unchecked.contains(purl) {
                *own_unchecked
                    .entry(p.ecosystem.purl_type().to_owned())
                    .or_default() += 1;
            }
        }
        // the image's findings now, borrowed: only the new ones are copied out
        let mut now: BTreeMap<(&str, &str), &Vulnerability> = BTreeMap::new();
        for purl in image.packages.iter().filter_map(|id| purls.get(id)) {
            if let Some(fs) = group_findings.get(purl) {
                for f in fs {
                    now.entry((f.id.as_str(), f.package.purl.as_str()))
                        .or_insert(f);
                }
            }
        }
        let before = before.get(&image.id).unwrap_or(&empty);
        let had: HashSet<(&str, &str)> = before
            .keys()
            .map(|(id, purl)| (id.as_str(), purl.as_str()))
            .collect();
        let mut new: Vec<Vulnerability> = now
            .iter()
            .filter(|(k, _)| !had.contains(*k))
            .map(|(_, f)| {
                let mut f = (*f).clone();
                f.subject.clone_from(&image.entry.name);
                f
            })
            .collect();
        let (kept, fixed): (Vec<_>, Vec<_>) = before
            .keys()
            .filter(|(id, purl)| !now.contains_key(&(id.as_str(), purl.as_str())))
            .cloned()
            .partition(|(_, purl)| group_unchecked.contains(purl));
        // the stored match becomes what matched now and what could not be checked
        let mut stored = match_of(now.values().copied());
        for k in &kept {
            if let Some(was) = before.get(k) {
                stored.insert(k.clone(), was.clone());
            }
        }
        if stored != *before {
            changed.push((image.id, stored));
        }
        new.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then_with(|| a.id.cmp(&b.id))
                .then_with(|| a.package.purl.cmp(&b.package.purl))
        });
        out.push(Rescanned {
            image: image.entry.clone(),
            total: now.len(),
            new,
            fixed,
            not_checked: kept,
            unchecked_packages: own_unchecked,
        });
    }
    // only the matches that changed are written, in bulk: one binary COPY into a temporary
    // table and one upsert (after a large advisory import every image changes)
    store.with(|c| {
        use postgres::binary_copy::BinaryCopyInWriter;
        use postgres::types::Type;
        if changed.is_empty() {
            return Ok(());
        }
        let mut tx = c.transaction()?;
        tx.batch_execute(
            "CREATE TEMPORARY TABLE fleet_image_matches_new (image bigint, vulns text[], \
               purls text[], severities text[], fixed text[]) ON COMMIT DROP",
        )?;
        let sink = tx.copy_in(
            "COPY fleet_image_matches_new (image, vulns, purls, severities, fixed) \
             FROM STDIN BINARY",
        )?;
        let mut w = BinaryCopyInWriter::new(
            sink,
            &[
                Type::INT8,
                Type::TEXT_ARRAY,
                Type::TEXT_ARRAY,
                Type::TEXT_ARRAY,
                Type::TEXT_ARRAY,
            ],
        );
        for (image, m) in &changed {
            let [vulns, purls, severities, fixed] = match_columns(m);
            w.write(&[image, &vulns, &purls, &severities, &fixed])?;
        }
        w.finish()?;
        // an image deleted meanwhile is left deleted
        tx.execute(
            "INSERT INTO fleet_image_matches (image, vulns, purls, severities, fixed, matched_at) \
             SELECT n.image, n.vulns, n.purls, n.severities, n.fixed, now() \
             FROM fleet_image_matches_new n JOIN fleet_images i ON i.id = n.image \
             ON CONFLICT (image) DO UPDATE SET vulns = EXCLUDED.vulns, purls = EXCLUDED.purls, \
               severities = EXCLUDED.severities, fixed = EXCLUDED.fixed, matched_at = now()",
            &[],
        )?;
        tx.commit()
    })?;
    Ok(out)
}

/// The digest a reference resolved to when the fleet last analysed it.
pub fn digest_of(store: &mut Store, reference: &str) -> Result<Option<String>, FleetError> {
    store.with(|c| {
        c.query_opt(
            "SELECT digest FROM fleet_refs WHERE reference = $1",
            &[&reference],
        )
        .map(|r| r.map(|r| r.get(0)))
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use rampart_sbom::{Ecosystem, SourcePackage};

    /// The key as the rows already in fleet stores were written: sha256 over each stored
    /// column's length and bytes. A key made otherwise would store every package of an
    /// existing fleet a second time.
    fn stored_key(p: &Package) -> Vec<u8> {
        let StoredColumns {
            source, locations, ..
        } = stored_columns(p);
        let mut h = Sha256::new();
        for field in [
            p.ecosystem.purl_type(),
            p.name.as_str(),
            p.version.as_str(),
            p.purl.to_string().as_str(),
            source.as_deref().unwrap_or(""),
            locations.as_str(),
        ] {
            h.update(field.len().to_le_bytes());
            h.update(field.as_bytes());
        }
        h.finalize().to_vec()
    }

    #[test]
    fn keys_are_the_stored_columns_hash() {
        let mut deb = Package::new(
            Ecosystem::Deb,
            String::from("libc6"),
            String::from("2.36-9+deb12u4"),
            "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12"
                .parse()
                .unwrap(),
            "var/lib/dpkg/status",
        );
        deb.source_package = Some(SourcePackage {
            name: String::from("glibc"),
            version: String::from("2.36-9+deb12u4"),
        });
        deb.locations.push(PackageLocation {
            path: String::from("var/lib/dpkg/status.d/\"odd\" \u{e9}\t"),
            layer: Some(format!("sha256:{}", "ab".repeat(32))),
        });
        deb.licenses = vec![String::from("LGPL-2.1")];
        deb.arch = Some(String::from("amd64"));
        let pypi = Package::new(
            Ecosystem::PyPI,
            String::from("Jinja2"),
            String::from("2.10"),
            "pkg:pypi/jinja2@2.10".parse().unwrap(),
            "usr/lib/python3/site-packages/Jinja2-2.10.dist-info/METADATA",
        );
        let mut npm = Package::new(
            Ecosystem::Npm,
            String::from("@types/node"),
            String::from("20.1.0"),
            "pkg:npm/%40types/node@20.1.0".parse().unwrap(),
            "app/node_modules/@types/node/package.json",
        );
        npm.locations.clear();
        let mut scratch = b"left over from another package".to_vec();
        for p in [&deb, &pypi, &npm] {
            let key = key_of(p, &mut scratch);
            assert_eq!(key.as_slice(), stored_key(p), "{}", p.purl);
            assert_eq!(row_of(p, &key).key, stored_key(p));
        }
        // the fields apart: another version, source or location is another key
        let mut other = deb.clone();
        other.source_package = None;
        assert_ne!(key_of(&other, &mut scratch), key_of(&deb, &mut scratch));
        other = deb.clone();
        other.locations.pop();
        assert_ne!(key_of(&other, &mut scratch), key_of(&deb, &mut scratch));
        // licenses and architecture are not part of it
        other = deb.clone();
        other.licenses.clear();
        other.arch = None;
        assert_eq!(key_of(&other, &mut scratch), key_of(&deb, &mut scratch));
    }
}
