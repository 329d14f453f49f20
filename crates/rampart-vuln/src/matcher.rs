//! Matching installed packages against the database: OSV `affected` entries with `ECOSYSTEM`
//! and `SEMVER` ranges (introduced / fixed / last_affected / limit, evaluated as the OSV
//! specification's algorithm does), explicit version lists, distribution releases, source
//! packages; withdrawn advisories never match; advisories that are aliases of one another are
//! merged into one finding per package.

use std::collections::{BTreeMap, BTreeSet};

use rampart_core::{Score, Severity, StreamFix, VulnLocation, VulnPackage, Vulnerability};
use rampart_sbom::{Distro, Package};
use rampart_version::{Scheme, Version};
use serde::Serialize;

use crate::ecosystem;
use crate::osv::{Affected, EventKind};
use crate::severity::{self, Rating};
use crate::skips::Skips;
use crate::store::{Advisory, Coverage, Database, DbError};

/// The result of matching a set of packages.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Matches {
    /// Findings, sorted by severity (worst first), id, package.
    pub findings: Vec<Vulnerability>,
    /// Packages looked up.
    pub packages: usize,
    /// Packages that could not be looked up or compared, by reason.
    pub skips: Skips,
    /// Packages not checked because the database holds no advisory for their ecosystem (or
    /// distribution release), by OSV ecosystem (`npm`, `Debian:12`). Never a "none known".
    pub not_checked: BTreeMap<String, usize>,
    /// The purls of the packages not checked.
    #[serde(skip)]
    pub unchecked: BTreeSet<String>,
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
            for (k, n) in p.not_checked {
                *all.not_checked.entry(k).or_default() += n;
            }
            all.unchecked.extend(p.unchecked);
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
    let coverage = db.coverage()?;
    for pkg in packages {
        let lookup = match ecosystem::lookup(pkg, distro) {
            Ok(l) => l,
            Err(e) => {
                out.skips
                    .add(&reason_of(&e), &pkg.purl.to_string(), &e.to_string());
                continue;
            }
        };
        if let Some(ecosystem) = uncovered(coverage, &lookup) {
            *out.not_checked.entry(ecosystem).or_default() += 1;
            out.unchecked.insert(pkg.purl.to_string());
            continue;
        }
        let mut hits: Vec<Hit> = Vec::new();
        // Fixes published in another stream of the release (Ubuntu Pro), per advisory.
        let mut elsewhere: BTreeMap<String, BTreeSet<StreamFix>> = BTreeMap::new();
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
                    if let Some(stream) = rel.other_stream(lookup.base, release) {
                        // Never a match for this package: only what that stream fixes.
                        if let Some(fixed) = prepared.affects(lookup.scheme, &installed, version) {
                            for f in fixed {
                                elsewhere
                                    .entry(advisory.clone())
                                    .or_default()
                                    .insert(StreamFix {
                                        stream: stream.clone(),
                                        osv_ecosystem: ecosystem::join(lookup.base, release),
                                        version: f,
                                    });
                            }
                        }
                        continue;
                    }
                    if !rel.fits(lookup.base, release) {
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
                        fixed_elsewhere: Vec::new(),
                    });
                }
            }
        }
        if hits.is_empty() {
            continue;
        }
        for h in &mut hits {
            if h.fixed.is_empty() {
                if let Some(f) = elsewhere.remove(&h.advisory) {
                    h.fixed_elsewhere = f.into_iter().collect();
                }
            }
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

/// The OSV ecosystem a package's lookup needs and the database does not cover, if any: a
/// language ecosystem without a single advisory, a distribution release (`Debian:12`,
/// `Ubuntu:22.04:LTS`) without one, even when other releases of the distribution are there.
/// An ecosystem with advisories, none about this package, is covered: that is a genuine "none
/// known".
pub fn uncovered(coverage: &Coverage, lookup: &ecosystem::Lookup) -> Option<String> {
    let base = lookup.base;
    match &lookup.release {
        Some(rel) => {
            let covered = coverage
                .entries
                .keys()
                .any(|(b, r)| b == base && rel.fits(base, r));
            (!covered).then(|| release_label(base, rel))
        }
        None => (!coverage.has_base(base)).then(|| base.to_owned()),
    }
}

/// How a release is named in messages, as its OSV ecosystem: `Debian:12`, `Alpine:v3.19`,
/// `Ubuntu:22.04:LTS` (the even-year April releases are Ubuntu's LTS ones), `Ubuntu:Pro:18.04:LTS`.
fn release_label(base: &str, rel: &ecosystem::Release) -> String {
    let mut s = ecosystem::join(base, &rel.label());
    if base == "Ubuntu" {
        let lts = rel
            .version
            .split_once('.')
            .and_then(|(y, m)| Some((y.parse::<u32>().ok()?, m)))
            .is_some_and(|(y, m)| y % 2 == 0 && m == "04");
        if lts {
            s.push_str(":LTS");
        }
    }
    s
}

/// One matched advisory for a package.
struct Hit {
    advisory: String,
    fixed: Vec<String>,
    fixed_elsewhere: Vec<StreamFix>,
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
    // The ids that name a hit's vulnerability: its own, its aliases, and its upstream id when
    // it has exactly one (Ubuntu's `UBUNTU-CVE-2024-1234` is CVE-2024-1234; a `USN-...` fixing
    // one CVE is that CVE). A record with several upstream ids (a USN fixing several CVEs)
    // groups vulnerabilities rather than naming one: it joins no finding by them.
    let same = |h: &Hit| -> Vec<String> {
        let adv = advisories.get(&h.advisory).and_then(Option::as_ref);
        let mut ids = vec![h.advisory.clone()];
        if let Some(a) = adv {
            ids.extend(a.aliases.iter().cloned());
            if let [one] = a.upstream.as_slice() {
                ids.push(one.clone());
            }
        }
        ids
    };
    let hit_ids: Vec<Vec<String>> = hits.iter().map(same).collect();
    let mut by_id: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, ids) in hit_ids.iter().enumerate() {
        for id in ids {
            match by_id.get(id.as_str()) {
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
    // A record with several upstream ids whose vulnerabilities were matched on their own (a
    // USN and the UBUNTU-CVE records it fixes) is told with them, not as one more finding.
    let mut told_with: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, h) in hits.iter().enumerate() {
        let Some(a) = advisories.get(&h.advisory).and_then(Option::as_ref) else {
            continue;
        };
        if a.upstream.len() < 2 || find(&mut parent, i) != i {
            continue;
        }
        let mut roots: Vec<usize> = a
            .upstream
            .iter()
            .filter_map(|u| by_id.get(u.as_str()).copied())
            .map(|j| find(&mut parent, j))
            .filter(|r| *r != i)
            .collect();
        roots.sort_unstable();
        roots.dedup();
        let alone = (0..n)
            .filter(|&k| k != i)
            .all(|k| find(&mut parent, k) != i);
        if !roots.is_empty() && alone {
            told_with.insert(i, roots);
        }
    }
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..n {
        if told_with.contains_key(&i) {
            continue;
        }
        let root = find(&mut parent, i);
        groups.entry(root).or_default().push(i);
    }
    // The grouping records join the findings they are told with as advisories.
    let mut extra: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for (i, roots) in &told_with {
        if let Some(h) = hits.get(*i) {
            for r in roots {
                extra.entry(*r).or_default().push(h.advisory.clone());
            }
        }
    }
    let mut out = Vec::new();
    for (root, members) in &groups {
        let mut ids = BTreeSet::new();
        let mut recs: BTreeSet<String> = extra.get(root).into_iter().flatten().cloned().collect();
        let mut fixed = BTreeSet::new();
        let mut fixed_elsewhere = BTreeSet::new();
        let mut best: Option<Rating> = None;
        let mut summary = String::new();
        let mut references = Vec::new();
        let mut matched_as = None;
        let mut osv_ecosystem = String::new();
        for &i in members {
            let Some(h) = hits.get(i) else { continue };
            ids.extend(hit_ids.get(i).into_iter().flatten().cloned());
            recs.insert(h.advisory.clone());
            fixed.extend(h.fixed.iter().cloned());
            fixed_elsewhere.extend(h.fixed_elsewhere.iter().cloned());
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
            fixed_elsewhere: if fixed.is_empty() {
                fixed_elsewhere.into_iter().collect()
            } else {
                Vec::new()
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
