//! Reading SBOMs made by any tool (Syft, Trivy, rampart's own [`format`](crate::format), ...)
//! into rampart's package model, so packages listed in an SBOM are matched exactly like packages
//! found in an image.
//!
//! [`read_sbom`] detects the format from the content: CycloneDX JSON (spec 1.2 and later 1.x)
//! or SPDX JSON (2.2, 2.3). Other encodings of the same formats (CycloneDX XML, SPDX tag-value,
//! RDF or YAML) and SPDX 3 are recognised and refused with an error saying so.
//!
//! Every package-like entry (CycloneDX components, nested ones included; SPDX packages) becomes
//! a [`Package`] built the way rampart's catalogers build it, so ecosystem, name, version and
//! purl are the same for the same software:
//! - the purl is parsed and rebuilt in rampart's canonical form: qualifiers rampart does not
//!   write (`upstream`, `package-id`, maven `type`...) are dropped; OS packages get the
//!   document's distribution as namespace and `distro` qualifier;
//! - versions: the epoch of deb and rpm packages (a `epoch=` qualifier, or inside the version)
//!   is part of the version (`1:2.66-4`); rpm purls carry it as the `epoch` qualifier, deb purls
//!   in the version, as the catalogers write them; Go's standard library is `1.22.5` whatever
//!   the prefix (`go1.22.5`, `v1.22.5`); a Go main module without version is `(devel)`;
//! - names: npm `@scope/name`, composer `vendor/name`, Go the module path (the entry's own name
//!   when it spells the purl's path, keeping its case), maven the artifact id (the group is the
//!   purl namespace); for PyPI and composer, whose purls normalize names, the entry's own
//!   spelling when it names the same package (`PyYAML` for `pkg:pypi/pyyaml`);
//! - OS packages (deb, rpm, apk) get their architecture and source package, from the
//!   properties each tool writes (`syft:metadata:source`, `aquasecurity:trivy:SrcName`,
//!   rampart's own), the purl's `upstream` qualifier or SPDX `sourceInfo`, else the binary
//!   package itself (as the catalogers do);
//! - locations from `rampart:location:*`, `syft:location:*`, `aquasecurity:trivy:FilePath`
//!   properties or CycloneDX evidence, SPDX `sourceInfo`.
//!
//! Entries listed twice (same canonical purl) are merged: locations and licenses are unioned.
//! Entries that cannot become a package are reported in [`SbomInput::skipped`] with the reason
//! (no purl and no way to tell the ecosystem, bad purl, a purl type rampart does not match, no
//! version, an entry whose fields have the wrong types, rpm's `gpg-pubkey` signing keys); they
//! never fail the document.
//!
//! The distribution comes from the `operating-system` component (CycloneDX) or the
//! `OPERATING-SYSTEM` package (SPDX), else from the `distro` qualifier most OS purls carry.
//! Debian point releases (`12.11`, what Trivy reads from `/etc/debian_version`) become the major
//! version (`12`), which is what os-release's `VERSION_ID` says and what rampart records.
//!
//! Bounds: [`MAX_SBOM_INPUT`] bytes, [`MAX_SBOM_COMPONENTS`] entries in all, components nested
//! [`MAX_COMPONENT_DEPTH`] deep; JSON nesting inside an entry is bounded by the parser (128).

mod cyclonedx;
mod entry;
mod spdx;

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{Deserializer, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::{Distro, Package, PurlError};
use entry::{Entry, OsHint};

/// Largest SBOM [`read_sbom`] accepts: SBOMs of large images run to tens of MiB; this leaves
/// room while bounding memory.
pub const MAX_SBOM_INPUT: usize = 256 * 1024 * 1024;

/// Most entries (components, nested ones included, or SPDX packages) one SBOM may hold.
pub const MAX_SBOM_COMPONENTS: usize = 1_000_000;

/// Deepest nesting of CycloneDX components (a component's `components`) read.
pub const MAX_COMPONENT_DEPTH: usize = 64;

/// How much of the start of a file [`looks_like_sbom`] looks at.
const SNIFF_LEN: usize = 1 << 20;

/// Which format (and version) an SBOM is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SbomFormat {
    /// CycloneDX JSON, with its `specVersion` (`1.6`).
    CycloneDx {
        /// The document's `specVersion`.
        spec_version: String,
    },
    /// SPDX JSON, with the version of its `spdxVersion` (`2.3` for `SPDX-2.3`).
    Spdx {
        /// The version after `SPDX-`.
        version: String,
    },
}

impl fmt::Display for SbomFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CycloneDx { spec_version } => write!(f, "CycloneDX {spec_version}"),
            Self::Spdx { version } => write!(f, "SPDX {version}"),
        }
    }
}

/// What an SBOM says, in rampart's model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SbomInput {
    /// The format it was read from.
    pub format: SbomFormat,
    /// The packages, merged by purl, sorted by ecosystem, name, version, purl.
    pub packages: Vec<Package>,
    /// The distribution the packages were installed on, when the SBOM states it.
    pub distro: Option<Distro>,
    /// What the SBOM describes (image reference, `name@sha256:...`, or path), when stated.
    pub subject: Option<String>,
    /// Entries that could not become packages, in document order.
    pub skipped: Vec<Skipped>,
}

/// An SBOM entry that was not turned into a package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Where it is in the document (`components[3].components[0]`, `packages[12]`).
    pub at: String,
    /// Its name, when it has one.
    pub name: Option<String>,
    /// Why it was skipped.
    pub reason: SkipReason,
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(n) => write!(f, "{} ({n}): {}", self.at, self.reason),
            None => write!(f, "{}: {}", self.at, self.reason),
        }
    }
}

/// Why an entry was skipped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SkipReason {
    /// no purl, and no property says which ecosystem it belongs to
    #[error("no purl, and no property says which ecosystem it belongs to")]
    NoPurl,
    /// the purl does not parse
    #[error("bad purl {purl:?}: {error}")]
    BadPurl {
        /// The purl as written.
        purl: String,
        /// Why it does not parse.
        error: PurlError,
    },
    /// the purl's type is not one rampart catalogs (and so matches)
    #[error(
        "purl type {0:?} is not matched: expected deb, apk, rpm, pypi, npm, golang, cargo, maven, gem, composer or nuget"
    )]
    UnsupportedType(String),
    /// an entry that lists something other than software: rpm's `gpg-pubkey` (an imported
    /// signing key), which the rpmdb cataloger skips too
    #[error("not software: {0}")]
    NotSoftware(&'static str),
    /// neither the purl nor the entry states a version
    #[error("no version")]
    NoVersion,
    /// the entry's fields have the wrong types (or nest too deeply)
    #[error("unreadable entry: {0}")]
    Unreadable(String),
}

/// Why an SBOM could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// the input is larger than [`MAX_SBOM_INPUT`]
    #[error("the SBOM is {size} bytes, over the {limit} byte limit")]
    TooLarge {
        /// Size of the input.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// an SBOM in an encoding other than JSON (CycloneDX XML, SPDX tag-value, RDF, YAML)
    #[error(
        "found {found}: only JSON SBOMs are read (CycloneDX 1.2 or later, SPDX 2.2 or 2.3); convert it to JSON"
    )]
    NotJson {
        /// What it is.
        found: &'static str,
    },
    /// not an SBOM at all
    #[error(
        "expected a CycloneDX or SPDX JSON document (with a `bomFormat` or `spdxVersion` key), found {found}"
    )]
    NotSbom {
        /// What was found instead.
        found: String,
    },
    /// the input is not valid JSON
    #[error("invalid JSON: {0}")]
    Json(serde_json::Error),
    /// the JSON ends before the document does
    #[error("the document ends early (truncated?): {0}")]
    Truncated(serde_json::Error),
    /// a field of the document has the wrong type or a required one is missing
    #[error("{path}: {message}")]
    Field {
        /// JSON path of the field (`metadata.component`, `components`).
        path: String,
        /// What was expected and what was found.
        message: String,
    },
    /// a format version rampart does not read
    #[error("unsupported {format} version {found:?}: expected {expected}")]
    UnsupportedVersion {
        /// `CycloneDX` or `SPDX`.
        format: &'static str,
        /// The version the document states.
        found: String,
        /// The versions read.
        expected: &'static str,
    },
    /// the document exceeds a limit (entry count, nesting of components)
    #[error("{at}: {what} exceeds the limit of {limit}")]
    Limit {
        /// Where (`components[0].components[0]...`, or `document`).
        at: String,
        /// Which limit.
        what: &'static str,
        /// The limit.
        limit: usize,
    },
}

/// Reads a CycloneDX or SPDX JSON SBOM (the format is detected from the content). Entries that
/// cannot become packages are listed in [`SbomInput::skipped`]; only a document that cannot be
/// read as a whole is an error.
pub fn read_sbom(bytes: &[u8]) -> Result<SbomInput, ReadError> {
    if bytes.len() > MAX_SBOM_INPUT {
        return Err(ReadError::TooLarge {
            size: bytes.len(),
            limit: MAX_SBOM_INPUT,
        });
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match sniff(bytes) {
        Sniffed::JsonObject => {}
        Sniffed::Unsupported(found) => return Err(ReadError::NotJson { found }),
        Sniffed::Other(found) => return Err(ReadError::NotSbom { found }),
    }
    let head: Head<'_> = parse_document(bytes)?;
    let parsed = if let Some(raw) = head.bom_format {
        let format = string_field(raw, "bomFormat")?;
        if format != "CycloneDX" {
            return Err(ReadError::NotSbom {
                found: format!("bomFormat {format:?}"),
            });
        }
        cyclonedx::read(bytes)?
    } else if let Some(raw) = head.spdx_version {
        let version = string_field(raw, "spdxVersion")?;
        spdx::read(bytes, &version)?
    } else if head.context.is_some_and(|c| c.get().contains("spdx")) {
        return Err(ReadError::UnsupportedVersion {
            format: "SPDX",
            found: "3 (JSON-LD)".to_owned(),
            expected: "2.2 or 2.3",
        });
    } else {
        return Err(ReadError::NotSbom {
            found: describe_object(bytes),
        });
    };
    Ok(finish(parsed))
}

/// Whether `bytes` look like an SBOM [`read_sbom`] should be given: a JSON object with a
/// `bomFormat` or `spdxVersion` key (or an SPDX 3 `@context`) in its first MiB. SBOMs in
/// encodings rampart does not read (CycloneDX XML, SPDX tag-value, RDF/XML, YAML) also answer
/// `true`, so that `read_sbom` explains why they are refused. Cheap: no parsing.
pub fn looks_like_sbom(bytes: &[u8]) -> bool {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match sniff(bytes) {
        Sniffed::JsonObject => {
            let head = bytes.get(..SNIFF_LEN).unwrap_or(bytes);
            contains(head, b"\"bomFormat\"")
                || contains(head, b"\"spdxVersion\"")
                || (contains(head, b"\"@context\"") && contains(head, b"spdx.org/rdf/3"))
        }
        Sniffed::Unsupported(_) => true,
        Sniffed::Other(_) => false,
    }
}

/// What the start of the input says it is.
enum Sniffed {
    /// A JSON object (maybe an SBOM).
    JsonObject,
    /// An SBOM format rampart does not read.
    Unsupported(&'static str),
    /// Something else, described.
    Other(String),
}

fn sniff(bytes: &[u8]) -> Sniffed {
    let head = bytes.get(..SNIFF_LEN).unwrap_or(bytes);
    let Some(start) = head.iter().position(|b| !b.is_ascii_whitespace()) else {
        return Sniffed::Other("an empty document".to_owned());
    };
    let rest = head.get(start..).unwrap_or_default();
    match rest.first() {
        Some(b'{') => Sniffed::JsonObject,
        Some(b'<') if contains(head, b"cyclonedx.org/schema/bom") => {
            Sniffed::Unsupported("CycloneDX XML")
        }
        Some(b'<') if contains(head, b"spdx.org/rdf") => Sniffed::Unsupported("SPDX RDF/XML"),
        Some(b'<') => Sniffed::Other("XML".to_owned()),
        Some(b'[') => Sniffed::Other("a JSON array".to_owned()),
        _ => {
            // The first line that is not blank or a comment.
            let text = String::from_utf8_lossy(rest);
            let first = text
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty() && !l.starts_with('#'))
                .unwrap_or_default();
            if first.starts_with("SPDXVersion:") {
                Sniffed::Unsupported("SPDX tag-value")
            } else if first.starts_with("spdxVersion:") {
                Sniffed::Unsupported("SPDX YAML")
            } else if first.starts_with("bomFormat:") {
                Sniffed::Unsupported("CycloneDX YAML")
            } else {
                Sniffed::Other("content that is not a JSON object".to_owned())
            }
        }
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// The keys that tell the formats apart.
#[derive(Deserialize)]
struct Head<'a> {
    #[serde(rename = "bomFormat", default, borrow)]
    bom_format: Option<&'a RawValue>,
    #[serde(rename = "spdxVersion", default, borrow)]
    spdx_version: Option<&'a RawValue>,
    #[serde(rename = "@context", default, borrow)]
    context: Option<&'a RawValue>,
}

/// Describes a JSON object that is not an SBOM by its first keys.
fn describe_object(bytes: &[u8]) -> String {
    #[derive(Deserialize)]
    struct Keys(BTreeMap<String, serde::de::IgnoredAny>);
    match serde_json::from_slice::<Keys>(bytes) {
        Ok(Keys(map)) if map.is_empty() => "an empty JSON object".to_owned(),
        Ok(Keys(map)) => {
            let keys: Vec<&str> = map.keys().take(6).map(String::as_str).collect();
            let more = if map.len() > keys.len() { ", ..." } else { "" };
            format!("a JSON object with keys {}{more}", keys.join(", "))
        }
        Err(_) => "a JSON object".to_owned(),
    }
}

/// Parses the whole document as `T` (fields it does not name are skipped without being kept),
/// with JSON paths in errors.
fn parse_document<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, ReadError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_eof() {
            ReadError::Truncated(inner)
        } else if inner.is_syntax() || inner.is_io() {
            ReadError::Json(inner)
        } else {
            ReadError::Field {
                path: display_path(&path, "document"),
                message: inner.to_string(),
            }
        }
    })?;
    de.end().map_err(ReadError::Json)?;
    Ok(value)
}

/// Parses one entry (a component or package) as `T`; the error names the field inside it.
/// Entries must be objects (serde would read an array as the fields in order).
fn parse_entry<'a, T: Deserialize<'a>>(raw: &'a RawValue) -> Result<T, String> {
    let text = raw.get().trim_start();
    if !text.starts_with('{') {
        return Err(format!("expected an object, found {}", truncate(text, 40)));
    }
    let mut de = serde_json::Deserializer::from_str(raw.get());
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        // Positions inside the entry's own text would mislead: the path says where.
        let message = strip_position(&e.into_inner().to_string());
        match path.as_str() {
            "" | "." => message,
            p => format!("{p}: {message}"),
        }
    })
}

fn display_path(path: &str, root: &str) -> String {
    match path {
        "" | "." => root.to_owned(),
        p => p.to_owned(),
    }
}

/// `message at line 3 column 7` -> `message`.
fn strip_position(message: &str) -> String {
    match message.rsplit_once(" at line ") {
        Some((m, pos))
            if pos
                .split_once(" column ")
                .is_some_and(|(l, c)| l.parse::<u64>().is_ok() && c.parse::<u64>().is_ok()) =>
        {
            m.to_owned()
        }
        _ => message.to_owned(),
    }
}

fn string_field(raw: &RawValue, path: &str) -> Result<String, ReadError> {
    serde_json::from_str::<String>(raw.get()).map_err(|_| ReadError::Field {
        path: path.to_owned(),
        message: format!("expected a string, found {}", truncate(raw.get(), 40)),
    })
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        format!("{}...", s.chars().take(max).collect::<String>())
    }
}

/// Deserializes an optional array of raw entries, refusing more than [`MAX_SBOM_COMPONENTS`]
/// while reading (so a huge array is never held).
fn bounded_entries<'de, D>(d: D) -> Result<Option<Vec<&'de RawValue>>, D::Error>
where
    D: Deserializer<'de>,
{
    struct Opt;
    struct Seq;
    impl<'de> Visitor<'de> for Seq {
        type Value = Vec<&'de RawValue>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an array")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(raw) = seq.next_element::<&'de RawValue>()? {
                if out.len() >= MAX_SBOM_COMPONENTS {
                    return Err(serde::de::Error::custom(format_args!(
                        "more than {MAX_SBOM_COMPONENTS} entries (the limit)"
                    )));
                }
                out.push(raw);
            }
            Ok(out)
        }
    }
    impl<'de> Visitor<'de> for Opt {
        type Value = Option<Vec<&'de RawValue>>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an array or null")
        }
        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            d.deserialize_seq(Seq).map(Some)
        }
    }
    d.deserialize_option(Opt)
}

/// What a format reader found, before packages are built.
struct Parsed {
    format: SbomFormat,
    entries: Vec<Entry>,
    os: Vec<OsHint>,
    subject: Option<String>,
    /// With each entry's place in document order.
    skipped: Vec<(usize, Skipped)>,
}

/// Builds the packages: purls parsed, the distribution settled, packages made and merged.
fn finish(parsed: Parsed) -> SbomInput {
    let Parsed {
        format,
        entries,
        os,
        subject,
        mut skipped,
    } = parsed;
    let mut ready = Vec::with_capacity(entries.len());
    for e in entries {
        match e.purl() {
            Ok(p) => ready.push((e, p)),
            Err(reason) => skipped.push((e.seq, e.skipped(reason))),
        }
    }
    let distro = entry::resolve_distro(&os, ready.iter().map(|(_, p)| p));
    let mut merged: BTreeMap<String, Package> = BTreeMap::new();
    // Consumed as it goes: each entry is freed once its package is built.
    for (e, purl) in ready {
        match e.package(&purl, distro.as_ref()) {
            Ok(p) => match merged.entry(p.purl.to_string()) {
                std::collections::btree_map::Entry::Vacant(v) => {
                    v.insert(p);
                }
                std::collections::btree_map::Entry::Occupied(mut o) => {
                    let m = o.get_mut();
                    for l in &p.licenses {
                        m.add_license(l);
                    }
                    m.locations.extend(p.locations);
                }
            },
            Err(reason) => skipped.push((e.seq, e.skipped(reason))),
        }
    }
    let mut packages: Vec<Package> = merged
        .into_values()
        .map(|mut p| {
            p.locations.sort();
            p.locations.dedup();
            p
        })
        .collect();
    packages.sort_by(|a, b| {
        (a.ecosystem, &a.name, &a.version)
            .cmp(&(b.ecosystem, &b.name, &b.version))
            .then_with(|| a.purl.to_string().cmp(&b.purl.to_string()))
    });
    skipped.sort_by_key(|(seq, _)| *seq);
    SbomInput {
        format,
        packages,
        distro,
        subject,
        skipped: skipped.into_iter().map(|(_, s)| s).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing() {
        assert!(looks_like_sbom(b"  {\"bomFormat\": \"CycloneDX\"}"));
        assert!(looks_like_sbom(
            b"\xEF\xBB\xBF{\"spdxVersion\": \"SPDX-2.3\"}"
        ));
        assert!(looks_like_sbom(
            b"<?xml version=\"1.0\"?>\n<bom xmlns=\"http://cyclonedx.org/schema/bom/1.5\">"
        ));
        assert!(looks_like_sbom(b"# comment\nSPDXVersion: SPDX-2.3\n"));
        assert!(!looks_like_sbom(
            b"{\"apiVersion\": \"v1\", \"kind\": \"Pod\"}"
        ));
        assert!(!looks_like_sbom(b"FROM debian:12\n"));
        assert!(!looks_like_sbom(b""));
    }

    #[test]
    fn positions_are_stripped_from_entry_errors() {
        assert_eq!(
            strip_position("invalid type: integer `5`, expected a string at line 1 column 12"),
            "invalid type: integer `5`, expected a string"
        );
        assert_eq!(strip_position("x at line y"), "x at line y");
    }
}
