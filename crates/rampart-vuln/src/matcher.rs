//! Matching installed packages against the database: OSV `affected` entries with `ECOSYSTEM`
//! and `SEMVER` ranges (introduced / fixed / last_affected / limit, evaluated as the OSV
//! specification's algorithm does), explicit version lists, distribution releases, source
//! packages; withdrawn advisories never match; advisories that are aliases of one another are
//! merged into one finding per package.

use std::collections::{BTreeMap, BTreeSet};

use rampart_core::{Score, Severity, VulnLocation, VulnPackage, Vulnerability};
use rampart_sbom::{Distro, Package};
use rampart_version::{Scheme, Version};
use serde::Serialize;

use crate::ecosystem;
use crate::osv::{Affected, EventKind};
use crate::severity::{self, Rating};
use crate::skips::Skips;
use crate::store::{Advisory, Database, DbError};

/// The result of matching a set of packages.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Matches {
    /// Findings, sorted by severity (worst first), id, package.
    pub findings: Vec<Vulnerability>,
    /// Packages looked up.
    pub packages: usize,
    /// Packages that could not be looked up or compared, by reason.
    pub skips: Skips,
}

/// Matches `packages` (from an image, a rootfs or an SBOM whose OS is `distro`); findings are
/// about `subject`.
///
/// Large sets are split across threads, each with its own read-only connection to the
/// database (SQLite connections are not shared between threads).
pub fn match_packages(
    db: &Database,
    subject: &str,
    packages: &[Package],
    distro: Option<&Distro>,
) -> Result<Matches, DbError> {
    use rayon::prelude::*;
    const CHUNK: usize = 1024;
    let threads = rayon::current_num_threads();
    let mut out = if packages.len() <= CHUNK || threads < 2 {
        match_chunk(db, &mut Cache::default(), subject, packages, distro)?
    } else {
        let per = packages.len().div_ceil(threads).max(CHUNK);
        let path = db.path();
        let parts: Vec<Result<Matches, DbError>> = packages
            .par_chunks(per)
            .map(|chunk| {
                match_chunk(
                    &Database::open(path)?,
                    &mut Cache::default(),
                    subject,
                    chunk,
                    distro,
                )
            })
            .collect();
        let mut all = Matches::default();
        for p in parts {
            let p = p?;
            all.findings.extend(p.findings);
            all.skips.merge(p.skips);
        }
        all
    };
    out.packages = packages.len();
    sort_findings(&mut out.findings);
    Ok(out)
}

/// [`match_packages`] on this thread only, keeping what it reads from the database in `cache`
/// for the next calls (the inventory rescan matches many similar package sets).
pub fn match_packages_cached(
    db: &Database,
    cache: &mut Cache,
    subject: &str,
    packages: &[Package],
    distro: Option<&Distro>,
) -> Result<Matches, DbError> {
    let mut out = match_chunk(db, cache, subject, packages, distro)?;
    out.packages = packages.len();
    sort_findings(&mut out.findings);
    Ok(out)
}

fn sort_findings(findings: &mut [Vulnerability]) {
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.id.cmp(&b.id))
            .then_with(|| a.package.purl.cmp(&b.package.purl))
    });
}

/// What matching read from the database and prepared, kept across calls on one thread: the
/// rows of each package name (parsed once: a name recurs within an image, where a library is
/// vendored in several places, and across the images of an inventory) and the advisories.
#[derive(Default)]
pub struct Cache {
    rows: std::collections::HashMap<(&'static str, String), Rows>,
    advisories: BTreeMap<String, Option<Advisory>>,
}

type Rows = std::rc::Rc<Vec<(String, String, Prepared)>>;

/// [`match_packages`] on one thread.
fn match_chunk(
    db: &Database,
    cache: &mut Cache,
    subject: &str,
    packages: &[Package],
    distro: Option<&Distro>,
) -> Result<Matches, DbError> {
    let mut out = Matches::default();
    let Cache {
        rows: cache,
        advisories,
    } = cache;
    for pkg in packages {
        let lookup = match ecosystem::lookup(pkg, distro) {
            Ok(l) => l,
            Err(e) => {
                out.skips
                    .add(&reason_of(&e), &pkg.purl.to_string(), &e.to_string());
                continue;
            }
        };
        let mut hits: Vec<Hit> = Vec::new();
        for cand in &lookup.names {
            let (name, version) = (&cand.name, &cand.version);
            let key = (lookup.base, name.clone());
            let rows = match cache.get(&key) {
                Some(r) => std::rc::Rc::clone(r),
                None => {
                    let rows: Vec<(String, String, Prepared)> = db
                        .affected(lookup.base, name)?
                        .into_iter()
                        .map(|r| {
                            let p = Prepared::new(lookup.scheme, &r.affected);
                            (r.advisory, r.release, p)
                        })
                        .collect();
                    let rows = std::rc::Rc::new(rows);
                    cache.insert(key, std::rc::Rc::clone(&rows));
                    rows
                }
            };
            if rows.is_empty() {
                continue;
            }
            let installed = match lookup.scheme.parse(version) {
                Ok(v) => v,
                Err(e) => {
                    out.skips.add(
                        "unparseable installed version",
                        &pkg.purl.to_string(),
                        &e.to_string(),
                    );
                    continue;
                }
            };
            for (advisory, release, prepared) in rows.iter() {
                if let Some(rel) = &lookup.release {
                    if !rel.fits(release) {
                        continue;
                    }
                } else if !release.is_empty()
                    && lookup.base != "Wolfi"
                    && lookup.base != "Chainguard"
                {
                    // A language package never matches a release-specific row.
                    continue;
                }
                if hits.iter().any(|h| &h.advisory == advisory) {
                    continue;
                }
                if let Some(fixed) = prepared.affects(lookup.scheme, &installed, version) {
                    let osv_ecosystem = if release.is_empty() {
                        lookup.base.to_owned()
                    } else {
                        format!("{}:{}", lookup.base, release)
                    };
                    hits.push(Hit {
                        advisory: advisory.clone(),
                        fixed,
                        severity: prepared.severity.clone(),
                        matched_as: cand.source.then(|| format!("{name} {version}")),
                        osv_ecosystem,
                    });
                }
            }
        }
        if hits.is_empty() {
            continue;
        }
        for h in &hits {
            if !advisories.contains_key(&h.advisory) {
                advisories.insert(h.advisory.clone(), db.advisory(&h.advisory)?);
            }
        }
        out.findings.extend(merge(subject, pkg, hits, advisories));
    }
    Ok(out)
}

fn reason_of(e: &ecosystem::Unmatchable) -> String {
    match e {
        ecosystem::Unmatchable::NoRelease(_) => "OS release unknown".to_owned(),
        ecosystem::Unmatchable::UnknownDistro(_) => "distribution without OSV data".to_owned(),
        ecosystem::Unmatchable::NoEcosystem(_) => "ecosystem without OSV data".to_owned(),
    }
}

/// One matched advisory for a package.
struct Hit {
    advisory: String,
    fixed: Vec<String>,
    severity: Vec<crate::osv::SeverityEntry>,
    matched_as: Option<String>,
    osv_ecosystem: String,
}

/// Whether `installed` (its text `text`) is affected by `aff`; if so, the fixed versions that
/// apply to it.
pub fn affects(
    scheme: Scheme,
    installed: &Version,
    text: &str,
    aff: &Affected,
) -> Option<Vec<String>> {
    Prepared::new(scheme, aff).affects(scheme, installed, text)
}

/// An `affected` entry ready to evaluate many times: every range's events parsed and sorted
/// once, the listed versions parsed once.
#[derive(Debug)]
pub struct Prepared {
    ranges: Vec<PreparedRange>,
    versions: Vec<String>,
    /// `versions` parsed, on first need (lists run to hundreds of versions and ranges usually
    /// decide first).
    parsed_versions: std::cell::OnceCell<Vec<Option<Version>>>,
    scheme: Scheme,
    severity: Vec<crate::osv::SeverityEntry>,
}

#[derive(Debug)]
struct PreparedRange {
    scheme: Scheme,
    /// Sorted by version, `None` (introduced 0) first; at equal versions the order given.
    events: Vec<(Option<Version>, Ev)>,
}

#[derive(Debug)]
enum Ev {
    Introduced,
    Fixed(String),
    LastAffected,
    Limit,
}

impl Prepared {
    /// Parses `aff`'s ranges under `scheme` (`SEMVER` ranges under SemVer). A range with a
    /// malformed event or a version that does not parse is left out (import already skipped
    /// and counted those).
    pub fn new(scheme: Scheme, aff: &Affected) -> Self {
        let ranges = aff
            .ranges
            .iter()
            .filter_map(|range| {
                let sch = if range.kind == "SEMVER" {
                    Scheme::SemVer
                } else {
                    scheme
                };
                let mut events = Vec::with_capacity(range.events.len());
                for ev in &range.events {
                    let (text, e) = match ev.kind()? {
                        EventKind::Introduced("0") => {
                            events.push((None, Ev::Introduced));
                            continue;
                        }
                        EventKind::Limit("*") => continue,
                        EventKind::Introduced(t) => (t, Ev::Introduced),
                        EventKind::Fixed(t) => (t, Ev::Fixed(t.to_owned())),
                        EventKind::LastAffected(t) => (t, Ev::LastAffected),
                        EventKind::Limit(t) => (t, Ev::Limit),
                    };
                    events.push((Some(sch.parse(text).ok()?), e));
                }
                events.sort_by(|a, b| a.0.cmp(&b.0));
                Some(PreparedRange {
                    scheme: sch,
                    events,
                })
            })
            .collect();
        Self {
            ranges,
            versions: aff.versions.clone(),
            parsed_versions: std::cell::OnceCell::new(),
            scheme,
            severity: aff.severity.clone(),
        }
    }

    /// Whether `installed` (parsed under `scheme`, its text `text`) is affected; if so, the
    /// fixed versions that apply to it.
    pub fn affects(&self, scheme: Scheme, installed: &Version, text: &str) -> Option<Vec<String>> {
        let mut hit = false;
        let mut fixed = BTreeSet::new();
        for range in &self.ranges {
            let reparsed;
            let v = if range.scheme == scheme {
                installed
            } else {
                match range.scheme.parse(text) {
                    Ok(v) => {
                        reparsed = v;
                        &reparsed
                    }
                    Err(_) => continue,
                }
            };
            if let Some(f) = in_range(v, &range.events) {
                hit = true;
                fixed.extend(f);
            }
        }
        if !hit && !self.versions.is_empty() {
            hit = self.versions.iter().any(|t| t == text) || {
                let parsed = self.parsed_versions.get_or_init(|| {
                    self.versions
                        .iter()
                        .map(|v| self.scheme.parse(v).ok())
                        .collect()
                });
                scheme == self.scheme && parsed.iter().any(|p| p.as_ref() == Some(installed))
            };
        }
        hit.then(|| fixed.into_iter().collect())
    }
}

/// The OSV evaluation of one range (events sorted by version, `introduced: "0"` first): at or
/// above `introduced` is affected, at or above `fixed` is not, above `last_affected` is not; at
/// or above a `limit` is never affected. Intervals that overlap (malformed, but real:
/// PYSEC-2021-114 lists `introduced 2.11, fixed 2.11.7, introduced 0, fixed 2.11.6`) are a
/// union, as OSV.dev's own enumeration of affected versions treats them: each `introduced`
/// opens an interval, each end closes one. On well-formed ranges this is the specification's
/// algorithm exactly. Returns, when `v` is affected, the fixed version that ends its interval
/// (if any).
fn in_range(v: &Version, events: &[(Option<Version>, Ev)]) -> Option<Option<String>> {
    let mut open = 0usize;
    for (ver, kind) in events {
        let at_or_above = ver.as_ref().is_none_or(|e| v >= e);
        match kind {
            Ev::Introduced if at_or_above => open += 1,
            Ev::Fixed(_) if at_or_above => open = open.saturating_sub(1),
            Ev::LastAffected if ver.as_ref().is_some_and(|e| v > e) => {
                open = open.saturating_sub(1);
            }
            Ev::Limit if at_or_above && ver.is_some() => return None,
            _ => {}
        }
    }
    if open == 0 {
        return None;
    }
    let fix = events
        .iter()
        .filter_map(|(ver, kind)| match (kind, ver) {
            (Ev::Fixed(t), Some(f)) if f > v => Some((f, t)),
            _ => None,
        })
        .min_by(|a, b| a.0.cmp(b.0))
        .map(|(_, t)| t.clone());
    Some(fix)
}

/// Merges the hits of one package into findings: advisories that share an id (one is an
/// alias of the other, or both alias the same CVE) are one vulnerability.
fn merge(
    subject: &str,
    pkg: &Package,
    hits: Vec<Hit>,
    advisories: &BTreeMap<String, Option<Advisory>>,
) -> Vec<Vulnerability> {
    // Union-find over hit indices, joined through every id they carry.
    let n = hits.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn find(p: &mut [usize], mut i: usize) -> usize {
        while let Some(&q) = p.get(i) {
            if q == i {
                break;
            }
            i = q;
        }
        i
    }
    let mut by_id: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, h) in hits.iter().enumerate() {
        let adv = advisories.get(&h.advisory).and_then(Option::as_ref);
        let ids = std::iter::once(h.advisory.as_str()).chain(
            adv.into_iter()
                .flat_map(|a| a.aliases.iter().map(String::as_str)),
        );
        for id in ids {
            match by_id.get(id) {
                Some(&j) => {
                    let (a, b) = (find(&mut parent, i), find(&mut parent, j));
                    if let Some(slot) = parent.get_mut(a) {
                        *slot = b;
                    }
                }
                None => {
                    by_id.insert(id, i);
                }
            }
        }
    }
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..n {
        let root = find(&mut parent, i);
        groups.entry(root).or_default().push(i);
    }
    let mut out = Vec::new();
    for members in groups.values() {
        let mut ids = BTreeSet::new();
        let mut recs = BTreeSet::new();
        let mut fixed = BTreeSet::new();
        let mut best: Option<Rating> = None;
        let mut summary = String::new();
        let mut references = Vec::new();
        let mut matched_as = None;
        let mut osv_ecosystem = String::new();
        for &i in members {
            let Some(h) = hits.get(i) else { continue };
            ids.insert(h.advisory.clone());
            recs.insert(h.advisory.clone());
            fixed.extend(h.fixed.iter().cloned());
            matched_as = matched_as.or_else(|| h.matched_as.clone());
            if osv_ecosystem.is_empty() {
                osv_ecosystem = h.osv_ecosystem.clone();
            }
            let adv = advisories.get(&h.advisory).and_then(Option::as_ref);
            if let Some(a) = adv {
                ids.extend(a.aliases.iter().cloned());
                if summary.is_empty() {
                    summary = a.summary.clone();
                }
                for r in &a.references {
                    if !references.contains(r) && references.len() < 5 {
                        references.push(r.clone());
                    }
                }
            }
            let entries: Vec<&crate::osv::SeverityEntry> = h
                .severity
                .iter()
                .chain(adv.into_iter().flat_map(|a| a.severity.iter()))
                .collect();
            let rating = severity::rate(&entries, adv.and_then(|a| a.db_severity.as_deref()));
            if let Some(r) = rating {
                if best.as_ref().is_none_or(|b| r.severity > b.severity) {
                    best = Some(r);
                }
            }
        }
        let id = ids
            .iter()
            .find(|i| i.starts_with("CVE-"))
            .or_else(|| recs.iter().next())
            .cloned()
            .unwrap_or_default();
        out.push(Vulnerability {
            subject: subject.to_owned(),
            id,
            aliases: ids.into_iter().collect(),
            advisories: recs.into_iter().collect(),
            package: VulnPackage {
                name: pkg.name.clone(),
                version: pkg.version.clone(),
                ecosystem: pkg.ecosystem.purl_type().to_owned(),
                purl: pkg.purl.to_string(),
                osv_ecosystem,
                matched_as,
                locations: pkg
                    .locations
                    .iter()
                    .map(|l| VulnLocation {
                        path: l.path.clone(),
                        layer: l.layer.clone(),
                    })
                    .collect(),
            },
            fixed: fixed.into_iter().collect(),
            severity: best.as_ref().map_or(Severity::Info, |r| r.severity),
            score: best.as_ref().and_then(|r| r.score).map(Score::from_f64),
            rated_from: best.map(|r| r.from),
            summary,
            references,
            waived: None,
        });
    }
    out
}
