//! SPDX 2.2 and 2.3 JSON (<https://spdx.github.io/spdx-spec/v2.3/>): `packages` with a purl
//! external reference, the operating system as an `OPERATING-SYSTEM` package, the subject as
//! what the document `DESCRIBES`.

use std::fmt;

use serde::Deserialize;
use serde::de::{Deserializer, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::entry::{Entry, OsHint, ecosystem_hint, location, prop};
use super::{
    Parsed, ReadError, SbomFormat, SkipReason, Skipped, bounded_entries, parse_document,
    parse_entry,
};

/// Most described elements kept (the document's subjects; one in practice).
const MAX_DESCRIBED: usize = 64;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Document<'a> {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    document_describes: Option<Vec<String>>,
    #[serde(default, borrow, deserialize_with = "bounded_entries")]
    packages: Option<Vec<&'a RawValue>>,
    #[serde(default, deserialize_with = "described")]
    relationships: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Package {
    #[serde(default)]
    name: Option<String>,
    #[serde(rename = "SPDXID", default)]
    spdx_id: Option<String>,
    #[serde(default)]
    version_info: Option<String>,
    #[serde(default)]
    external_refs: Option<Vec<ExternalRef>>,
    #[serde(default)]
    primary_package_purpose: Option<String>,
    #[serde(default)]
    source_info: Option<String>,
    #[serde(default)]
    license_declared: Option<String>,
    #[serde(default)]
    comment: Option<String>,
    #[serde(default)]
    annotations: Option<Vec<Annotation>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExternalRef {
    #[serde(default)]
    reference_type: Option<String>,
    #[serde(default)]
    reference_locator: Option<String>,
}

#[derive(Deserialize)]
struct Annotation {
    #[serde(default)]
    annotator: Option<String>,
    #[serde(default)]
    comment: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Relationship {
    #[serde(default)]
    spdx_element_id: Option<String>,
    #[serde(default)]
    relationship_type: Option<String>,
    #[serde(default)]
    related_spdx_element: Option<String>,
}

/// Reads the relationships without keeping them: only the ids the document describes
/// (`SPDXRef-DOCUMENT DESCRIBES x`, `x DESCRIBED_BY SPDXRef-DOCUMENT`). Entries that are not
/// relationships are ignored.
fn described<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    struct Opt;
    struct Seq;
    impl<'de> Visitor<'de> for Seq {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an array of relationships")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(raw) = seq.next_element::<&'de RawValue>()? {
                let Ok(r) = serde_json::from_str::<Relationship>(raw.get()) else {
                    continue;
                };
                let ty = r.relationship_type.as_deref().unwrap_or_default();
                let id = match ty {
                    "DESCRIBES" if r.spdx_element_id.as_deref() == Some("SPDXRef-DOCUMENT") => {
                        r.related_spdx_element
                    }
                    "DESCRIBED_BY"
                        if r.related_spdx_element.as_deref() == Some("SPDXRef-DOCUMENT") =>
                    {
                        r.spdx_element_id
                    }
                    _ => None,
                };
                if let Some(id) = id {
                    if out.len() < MAX_DESCRIBED {
                        out.push(id);
                    }
                }
            }
            Ok(out)
        }
    }
    impl<'de> Visitor<'de> for Opt {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an array of relationships or null")
        }
        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            d.deserialize_seq(Seq)
        }
    }
    d.deserialize_option(Opt)
}

/// Reads an SPDX JSON document whose `spdxVersion` is `spdx_version`.
pub(super) fn read(bytes: &[u8], spdx_version: &str) -> Result<Parsed, ReadError> {
    let version = match spdx_version.strip_prefix("SPDX-") {
        Some(v @ ("2.2" | "2.3")) => v.to_owned(),
        _ => {
            return Err(ReadError::UnsupportedVersion {
                format: "SPDX",
                found: spdx_version.to_owned(),
                expected: "SPDX-2.2 or SPDX-2.3",
            });
        }
    };
    let doc: Document<'_> = parse_document(bytes)?;
    let mut described = doc.relationships;
    described.extend(doc.document_describes.unwrap_or_default());
    let mut out = Parsed {
        format: SbomFormat::Spdx { version },
        entries: Vec::new(),
        os: Vec::new(),
        subject: None,
        skipped: Vec::new(),
    };
    for (i, raw) in doc.packages.unwrap_or_default().into_iter().enumerate() {
        let at = format!("packages[{i}]");
        let mut p = match parse_entry::<Package>(raw) {
            Ok(p) => p,
            Err(message) => {
                out.skipped.push((
                    i,
                    Skipped {
                        at,
                        name: None,
                        reason: SkipReason::Unreadable(message),
                    },
                ));
                continue;
            }
        };
        let purpose = p
            .primary_package_purpose
            .as_deref()
            .map(|s| s.trim().to_ascii_uppercase().replace('_', "-"));
        if purpose.as_deref() == Some("OPERATING-SYSTEM") {
            out.os.push(OsHint {
                id: p.name,
                version: p.version_info,
                codename: p
                    .comment
                    .as_deref()
                    .and_then(|c| c.lines().find_map(|l| l.strip_prefix("codename: ")))
                    .map(|c| c.trim().to_owned()),
            });
            continue;
        }
        let purl = p
            .external_refs
            .take()
            .unwrap_or_default()
            .into_iter()
            .filter(|r| {
                r.reference_type
                    .as_deref()
                    .is_some_and(|t| t.trim().eq_ignore_ascii_case("purl"))
            })
            .find_map(|r| r.reference_locator.filter(|l| !l.trim().is_empty()));
        // The subject is what the document describes, a package only when its purl is one
        // rampart matches (an application's own SBOM).
        if p.spdx_id.as_ref().is_some_and(|id| described.contains(id)) {
            if out.subject.is_none() {
                out.subject = subject(&p);
            }
            if !super::entry::supported_purl(purl.as_deref()) {
                continue;
            }
        }
        // Trivy states its package type, class and ids as `Key: value` annotations.
        let props: Vec<(String, String)> = p
            .annotations
            .unwrap_or_default()
            .into_iter()
            .filter(|a| {
                a.annotator
                    .as_deref()
                    .is_some_and(|a| a.starts_with("Tool: trivy"))
            })
            .filter_map(|a| {
                let (k, v) = a
                    .comment?
                    .split_once(": ")
                    .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))?;
                Some((format!("aquasecurity:trivy:{k}"), v))
            })
            .collect();
        if purl.is_none()
            && (ecosystem_hint(&props).is_none()
                && (prop(&props, "aquasecurity:trivy:Class").is_some()
                    || !matches!(
                        purpose.as_deref(),
                        None | Some("LIBRARY" | "FRAMEWORK" | "APPLICATION" | "OTHER")
                    )))
        {
            // Not a package: grouping entries, files, containers, sources.
            continue;
        }
        let source_info = p.source_info.as_deref().unwrap_or_default();
        let licenses = p
            .license_declared
            .filter(|l| {
                let l = l.trim();
                !l.is_empty() && l != "NOASSERTION" && l != "NONE"
            })
            .into_iter()
            .collect();
        out.entries.push(Entry {
            seq: i,
            at,
            name: p.name,
            version: p.version_info,
            group: None,
            purl,
            props,
            licenses,
            locations: locations_from_source_info(source_info),
            source: source_from_source_info(source_info),
        });
    }
    if out.subject.is_none() {
        out.subject = doc.name.filter(|n| !n.trim().is_empty());
    }
    Ok(out)
}

/// `name`, with `@digest` when the version is an image digest.
fn subject(p: &Package) -> Option<String> {
    let name = p.name.as_deref().map(str::trim).filter(|n| !n.is_empty())?;
    Some(match p.version_info.as_deref() {
        Some(v) if v.starts_with("sha256:") && !name.contains('@') => format!("{name}@{v}"),
        _ => name.to_owned(),
    })
}

/// The source package stated in `sourceInfo`: Trivy writes `built package from: NAME VERSION`,
/// rampart `...; built from source package NAME VERSION`.
fn source_from_source_info(info: &str) -> Option<(String, Option<String>)> {
    let rest = ["built package from: ", "built from source package "]
        .iter()
        .find_map(|marker| info.split_once(marker).map(|(_, r)| r))?;
    let rest = rest.split(';').next().unwrap_or_default().trim();
    let mut words = rest.split_whitespace();
    let name = words.next()?.to_owned();
    Some((name, words.next().map(str::to_owned)))
}

/// The files named in `sourceInfo`: Syft writes `acquired package info from <what>: <path>,
/// <path>`, rampart `acquired package info from <path> (layer <digest>), <path>; built from
/// ...`.
fn locations_from_source_info(info: &str) -> Vec<crate::PackageLocation> {
    let Some((_, rest)) = info.split_once("acquired package info from ") else {
        return Vec::new();
    };
    let rest = rest.split("; built from").next().unwrap_or_default();
    let rest = match rest.split_once(": ") {
        Some((what, paths)) if !what.contains('/') => paths,
        _ => rest,
    };
    rest.split(", ")
        .filter_map(|item| {
            let item = item.trim();
            match item
                .strip_suffix(')')
                .and_then(|i| i.rsplit_once(" (layer "))
            {
                Some((path, layer)) => location(path, Some(layer.to_owned())),
                None => location(item, None),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_info_forms() {
        assert_eq!(
            source_from_source_info("built package from: libcap2 1:2.66-4+deb12u2"),
            Some(("libcap2".into(), Some("1:2.66-4+deb12u2".into())))
        );
        assert_eq!(
            source_from_source_info(
                "acquired package info from var/lib/dpkg/status; built from source package openssl 3.0.15-1"
            ),
            Some(("openssl".into(), Some("3.0.15-1".into())))
        );
        let locs = locations_from_source_info(
            "acquired package info from DPKG DB: /usr/share/doc/x/copyright, /var/lib/dpkg/status",
        );
        let paths: Vec<_> = locs.iter().map(|l| l.path.as_str()).collect();
        assert_eq!(
            paths,
            ["/usr/share/doc/x/copyright", "/var/lib/dpkg/status"]
        );
        let locs = locations_from_source_info(
            "acquired package info from var/lib/dpkg/status (layer sha256:ab), a/b; built from source package x 1",
        );
        assert_eq!(locs.len(), 2);
        assert_eq!(
            locs.first().and_then(|l| l.layer.as_deref()),
            Some("sha256:ab")
        );
    }
}
