//! SBOM documents: [CycloneDX 1.6 JSON](cyclonedx_json) and [SPDX 2.3 JSON](spdx_json).
//!
//! Both render an [`SbomDocument`]: what was scanned ([`Subject`]), its distribution and its
//! packages. Output is deterministic: packages are merged by purl (one entry per purl, with the
//! union of their locations and licenses) and sorted by purl, properties are sorted, and no map
//! is iterated in hash order. The only varying parts are the document id and the timestamp, and
//! both come from [`Options`]: with [`Options::reproducible`] the id is a UUID derived from the
//! SHA-256 of the document rendered without it, and the timestamp is `SOURCE_DATE_EPOCH` or the
//! Unix epoch (1970-01-01T00:00:00Z), so the same input gives the same bytes.
//!
//! Licenses are classified once with the `spdx` crate (SPDX license list
//! [`license_version`](::spdx::license_version)) into a single listed id, a valid expression or
//! free text. Ids match case-insensitively; deprecated ids with a defined successor are replaced
//! (`GPL-2.0+` -> `GPL-2.0-or-later`, `GPL-2.0-with-classpath-exception` ->
//! `GPL-2.0-only WITH Classpath-exception-2.0`); the other deprecated ids stay, still valid.

mod cyclonedx;
mod license;
mod spdx;

pub use cyclonedx::cyclonedx_json;
pub use spdx::{SPDX_NAMESPACE_BASE, spdx_json};

use std::cmp::Ordering;

use sha2::Digest as _;

use crate::{Distro, Package, PackageLocation};

/// The environment variable that fixes the timestamp of reproducible documents
/// (<https://reproducible-builds.org/specs/source-date-epoch/>).
pub const SOURCE_DATE_EPOCH: &str = "SOURCE_DATE_EPOCH";

/// Largest accepted `SOURCE_DATE_EPOCH`: 9999-12-30T22:00:00Z, the last second `jiff` represents
/// (both formats need a 4-digit year anyway).
const MAX_EPOCH: i64 = 253_402_207_200;

/// What kind of thing was scanned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SubjectKind {
    /// A container image (OCI layout, archive or registry reference).
    #[default]
    ContainerImage,
    /// A root filesystem directory.
    Filesystem,
}

/// What was scanned. Only `name` and `kind` are required; the rest is filled from the image
/// when known.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Subject {
    /// The name as the user wrote it: image reference or path.
    pub name: String,
    /// Container image or filesystem.
    pub kind: SubjectKind,
    /// The image repository with its registry (`docker.io/library/debian`), for the subject's
    /// `pkg:oci` purl (which also needs `manifest_digest`).
    pub repository: Option<String>,
    /// Digest of the image manifest (`sha256:...`).
    pub manifest_digest: Option<String>,
    /// Digest of the image config, i.e. the image id (`sha256:...`).
    pub config_digest: Option<String>,
    /// Repository digests (`docker.io/library/debian@sha256:...`).
    pub repo_digests: Vec<String>,
    /// Tags (`bookworm`, `12.8`).
    pub tags: Vec<String>,
    /// Platform as `os/architecture[/variant]` (`linux/arm64/v8`).
    pub platform: Option<String>,
    /// Layer digests, bottom first.
    pub layers: Vec<String>,
}

/// The tool that wrote the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tool {
    /// Tool name (`rampart`).
    pub name: String,
    /// Tool version (`0.1.0`).
    pub version: String,
}

/// Everything an SBOM says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SbomDocument {
    /// What was scanned.
    pub subject: Subject,
    /// The distribution, from os-release.
    pub distro: Option<Distro>,
    /// The packages found, in any order, duplicates allowed (merged by purl on output).
    pub packages: Vec<Package>,
    /// The tool that wrote the document.
    pub tool: Tool,
}

/// How to fill the parts of a document that are not content: its id and timestamp. The clock
/// and the randomness are fields so callers (and tests) decide them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Derive the id from the content and take the timestamp from `source_date_epoch` (or the
    /// Unix epoch); `now` and `random` are then ignored.
    pub reproducible: bool,
    /// Seconds since the Unix epoch, as `SOURCE_DATE_EPOCH` gives them; used when reproducible.
    pub source_date_epoch: Option<i64>,
    /// The creation time; used when not reproducible (truncated to the second).
    pub now: jiff::Timestamp,
    /// Random bytes of the version-4 UUID; used when not reproducible.
    pub random: [u8; 16],
}

impl Options {
    /// Options for a reproducible document.
    pub fn reproducible(source_date_epoch: Option<i64>) -> Self {
        Self {
            reproducible: true,
            source_date_epoch,
            now: jiff::Timestamp::UNIX_EPOCH,
            random: [0; 16],
        }
    }

    /// Options for a fresh document created at `now`, with a random id from the operating
    /// system.
    pub fn fresh(now: jiff::Timestamp) -> Result<Self, FormatError> {
        let mut random = [0u8; 16];
        getrandom::fill(&mut random).map_err(|e| FormatError::Random(e.to_string()))?;
        Ok(Self {
            reproducible: false,
            source_date_epoch: None,
            now,
            random,
        })
    }

    /// Reproducible options with `SOURCE_DATE_EPOCH` from the environment (an unparsable value
    /// is an error), or fresh ones at the current time (which ignore `SOURCE_DATE_EPOCH`).
    pub fn from_env(reproducible: bool) -> Result<Self, FormatError> {
        if reproducible {
            let epoch = match std::env::var_os(SOURCE_DATE_EPOCH) {
                Some(v) => Some(parse_source_date_epoch(&v.to_string_lossy())?),
                None => None,
            };
            Ok(Self::reproducible(epoch))
        } else {
            Self::fresh(jiff::Timestamp::now())
        }
    }
}

/// Parses a `SOURCE_DATE_EPOCH` value: decimal seconds since 1970-01-01T00:00:00Z, at most
/// 9999-12-30T22:00:00Z.
pub fn parse_source_date_epoch(value: &str) -> Result<i64, FormatError> {
    value
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|s| (0..=MAX_EPOCH).contains(s))
        .ok_or_else(|| FormatError::SourceDateEpoch(value.to_owned()))
}

/// Why SBOM options could not be set up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// `SOURCE_DATE_EPOCH` is not a number of seconds in range
    #[error(
        "SOURCE_DATE_EPOCH: expected decimal seconds since 1970-01-01 up to {MAX_EPOCH}, found {0:?}"
    )]
    SourceDateEpoch(String),
    /// the operating system gave no random bytes
    #[error("cannot read random bytes for the document id: {0}")]
    Random(String),
}

/// The document timestamp, `YYYY-MM-DDThh:mm:ssZ` (the form SPDX requires).
fn timestamp(opts: &Options) -> String {
    let ts = if opts.reproducible {
        jiff::Timestamp::from_second(opts.source_date_epoch.unwrap_or(0).clamp(0, MAX_EPOCH))
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
    } else {
        opts.now
    };
    ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The document id: a version-8 UUID from the SHA-256 of `canonical` (the document rendered
/// without its id) when reproducible (RFC 9562 B.2 shows this name-based use of v8), else a
/// version-4 UUID from `random`.
fn document_uuid(opts: &Options, canonical: &[u8]) -> uuid::Uuid {
    if opts.reproducible {
        let digest = sha2::Sha256::digest(canonical);
        let mut bytes = [0u8; 16];
        for (b, d) in bytes.iter_mut().zip(digest.iter()) {
            *b = *d;
        }
        uuid::Builder::from_custom_bytes(bytes).into_uuid()
    } else {
        uuid::Builder::from_random_bytes(opts.random).into_uuid()
    }
}

/// Lowercase hex SHA-256 of `s`, first `n` characters.
fn short_hash(s: &str, n: usize) -> String {
    let digest = sha2::Sha256::digest(s.as_bytes());
    let mut out = String::with_capacity(64);
    for b in digest.iter() {
        out.push_str(&format!("{b:02x}"));
    }
    out.chars().take(n).collect()
}

/// `s` with every character outside `[A-Za-z0-9.-]` turned into `-`, runs of `-` collapsed,
/// leading and trailing `-` removed, cut to `max` characters: the SPDX idstring alphabet.
fn idstring(s: &str, max: usize) -> String {
    let mut out = String::new();
    for c in s.chars() {
        let c = if c.is_ascii_alphanumeric() || c == '.' {
            c
        } else {
            '-'
        };
        if c == '-' && (out.is_empty() || out.ends_with('-')) {
            continue;
        }
        out.push(c);
        if out.len() >= max {
            break;
        }
    }
    out.trim_end_matches('-').to_owned()
}

/// The packages as both formats list them: merged by purl (the purl is the identity: the first
/// package in sort order gives name, version, arch and source; locations and licenses are
/// unioned) and sorted by purl, then name, version, locations.
fn packages(doc: &SbomDocument) -> Vec<Package> {
    let mut keyed: Vec<(String, &Package)> = doc
        .packages
        .iter()
        .map(|p| (p.purl.to_string(), p))
        .collect();
    keyed.sort_by(|(pa, a), (pb, b)| {
        pa.cmp(pb)
            .then_with(|| a.name.cmp(&b.name))
            .then_with(|| a.version.cmp(&b.version))
            .then_with(|| a.locations.cmp(&b.locations))
            .then_with(|| a.ecosystem.cmp(&b.ecosystem))
            .then_with(|| a.licenses.cmp(&b.licenses))
            .then_with(|| a.arch.cmp(&b.arch))
            .then_with(|| a.source_package.cmp(&b.source_package))
    });
    let mut out: Vec<(String, Package)> = Vec::with_capacity(keyed.len());
    for (purl, p) in keyed {
        match out.last_mut() {
            Some((last_purl, merged)) if *last_purl == purl => {
                for l in &p.licenses {
                    if !merged.licenses.contains(l) {
                        merged.licenses.push(l.clone());
                    }
                }
                merged.locations.extend(p.locations.iter().cloned());
            }
            _ => out.push((purl, p.clone())),
        }
    }
    out.into_iter()
        .map(|(_, mut p)| {
            p.locations.sort();
            p.locations.dedup();
            p
        })
        .collect()
}

/// A name/value pair, as CycloneDX properties (and SPDX comments) carry them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
struct Property {
    name: String,
    value: String,
}

impl Property {
    fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// Sorts properties by name (numeric segments such as the `3` in `rampart:location:3:path`
/// compare as numbers), then value.
fn sort_properties(props: &mut [Property]) {
    props.sort_by(|a, b| natural_cmp(&a.name, &b.name).then_with(|| a.value.cmp(&b.value)));
}

/// Compares `:`-separated names segment by segment, numerically where both segments are
/// numbers.
fn natural_cmp(a: &str, b: &str) -> Ordering {
    let mut sa = a.split(':');
    let mut sb = b.split(':');
    loop {
        match (sa.next(), sb.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let ord = match (x.parse::<u64>(), y.parse::<u64>()) {
                    (Ok(m), Ok(n)) => m.cmp(&n).then_with(|| x.cmp(y)),
                    _ => x.cmp(y),
                };
                if ord != Ordering::Equal {
                    return ord;
                }
            }
        }
    }
}

/// The subject's properties (image details), sorted.
fn subject_properties(s: &Subject) -> Vec<Property> {
    let mut props = Vec::new();
    if let Some(d) = &s.manifest_digest {
        props.push(Property::new("rampart:image:manifest-digest", d));
    }
    if let Some(d) = &s.config_digest {
        props.push(Property::new("rampart:image:id", d));
    }
    if let Some(p) = &s.platform {
        props.push(Property::new("rampart:image:platform", p));
    }
    if let Some(r) = &s.repository {
        props.push(Property::new("rampart:image:repository", r));
    }
    for d in &s.repo_digests {
        props.push(Property::new("rampart:image:repo-digest", d));
    }
    for t in &s.tags {
        props.push(Property::new("rampart:image:tag", t));
    }
    for (i, l) in s.layers.iter().enumerate() {
        props.push(Property::new(format!("rampart:image:layer:{i}"), l));
    }
    sort_properties(&mut props);
    props.dedup();
    props
}

/// A package's properties: locations (path and layer), source package, architecture, sorted.
fn package_properties(p: &Package) -> Vec<Property> {
    let mut props = vec![Property::new(
        "rampart:package:ecosystem",
        p.ecosystem.purl_type(),
    )];
    for (i, PackageLocation { path, layer }) in p.locations.iter().enumerate() {
        props.push(Property::new(format!("rampart:location:{i}:path"), path));
        if let Some(l) = layer {
            props.push(Property::new(format!("rampart:location:{i}:layer"), l));
        }
    }
    if let Some(s) = &p.source_package {
        props.push(Property::new("rampart:package:source-name", &s.name));
        props.push(Property::new("rampart:package:source-version", &s.version));
    }
    if let Some(a) = &p.arch {
        props.push(Property::new("rampart:package:arch", a));
    }
    sort_properties(&mut props);
    props
}

/// The subject's `pkg:oci` purl, when its repository and manifest digest are known
/// (<https://github.com/package-url/purl-spec/blob/main/types-doc/oci-definition.md>).
fn subject_purl(s: &Subject) -> Option<String> {
    if s.kind != SubjectKind::ContainerImage {
        return None;
    }
    let repo = s.repository.as_deref()?;
    let digest = s.manifest_digest.as_deref()?;
    let name = repo.rsplit('/').next().filter(|n| !n.is_empty())?;
    let mut purl = crate::Purl::new("oci", None, &name.to_lowercase(), Some(digest)).ok()?;
    purl = purl.with_qualifier("repository_url", repo).ok()?;
    if let Some(arch) = s.platform.as_deref().and_then(|p| p.split('/').nth(1)) {
        purl = purl.with_qualifier("arch", arch).ok()?;
    }
    if let Some(tag) = s.tags.first() {
        purl = purl.with_qualifier("tag", tag).ok()?;
    }
    Some(purl.to_string())
}

/// `s` unless it is blank, then `fallback`.
fn non_empty<'a>(s: &'a str, fallback: &'a str) -> &'a str {
    if s.trim().is_empty() { fallback } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order_of_property_names() {
        let mut names = vec!["a:10:path", "a:2:path", "a:2:layer", "a:b", "a"];
        names.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(names, ["a", "a:2:layer", "a:2:path", "a:10:path", "a:b"]);
    }

    #[test]
    fn idstrings_keep_only_the_spdx_alphabet() {
        assert_eq!(idstring("@types/node", 40), "types-node");
        assert_eq!(idstring("a\u{0}b é..c", 40), "a-b-..c");
        assert_eq!(idstring("---", 40), "");
        assert_eq!(idstring("abcdef", 3), "abc");
    }

    #[test]
    fn source_date_epoch_values() {
        assert_eq!(parse_source_date_epoch("1700000000"), Ok(1_700_000_000));
        assert_eq!(parse_source_date_epoch(" 0\n"), Ok(0));
        for bad in [
            "",
            "-1",
            "1e9",
            "abc",
            "253402207201",
            "99999999999999999999",
        ] {
            assert!(parse_source_date_epoch(bad).is_err(), "{bad:?}");
        }
        let opts = Options::reproducible(Some(MAX_EPOCH));
        assert_eq!(timestamp(&opts), "9999-12-30T22:00:00Z");
        assert_eq!(
            timestamp(&Options::reproducible(None)),
            "1970-01-01T00:00:00Z"
        );
    }

    #[test]
    fn uuids_have_their_version() {
        let r = document_uuid(&Options::reproducible(None), b"x");
        assert_eq!(r.get_version_num(), 8);
        assert_eq!(r, document_uuid(&Options::reproducible(Some(5)), b"x"));
        assert_ne!(r, document_uuid(&Options::reproducible(None), b"y"));
        let mut opts = Options::reproducible(None);
        opts.reproducible = false;
        assert_eq!(document_uuid(&opts, b"x").get_version_num(), 4);
    }
}
