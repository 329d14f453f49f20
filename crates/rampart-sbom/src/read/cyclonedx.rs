//! CycloneDX JSON (<https://cyclonedx.org/docs/1.6/json/>): `metadata.component` (the subject),
//! `components` (nested too).

use serde::Deserialize;
use serde_json::value::RawValue;

use super::entry::{Entry, OsHint, location, locations_from_props, prop};
use super::{
    MAX_COMPONENT_DEPTH, MAX_SBOM_COMPONENTS, Parsed, ReadError, SbomFormat, SkipReason, Skipped,
    bounded_entries, parse_document, parse_entry,
};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Bom<'a> {
    #[serde(default)]
    spec_version: Option<String>,
    #[serde(default, borrow, deserialize_with = "metadata")]
    metadata: Option<Metadata<'a>>,
    #[serde(default, borrow, deserialize_with = "bounded_entries")]
    components: Option<Vec<&'a RawValue>>,
}

#[derive(Deserialize)]
struct Metadata<'a> {
    #[serde(default, borrow)]
    component: Option<&'a RawValue>,
}

/// `metadata`, which must be an object (serde would read an array as its fields in order).
fn metadata<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Metadata<'de>>, D::Error> {
    let raw: Option<&'de RawValue> = Deserialize::deserialize(d)?;
    match raw {
        None => Ok(None),
        Some(r) if r.get().trim_start().starts_with('{') => serde_json::from_str(r.get())
            .map(Some)
            .map_err(serde::de::Error::custom),
        Some(r) => Err(serde::de::Error::custom(format_args!(
            "expected an object, found {}",
            super::truncate(r.get(), 40)
        ))),
    }
}

#[derive(Deserialize)]
struct Component<'a> {
    #[serde(rename = "type", default)]
    ty: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    group: Option<String>,
    #[serde(default)]
    purl: Option<String>,
    #[serde(default)]
    properties: Option<Vec<Property>>,
    #[serde(default)]
    licenses: Option<Vec<LicenseChoice>>,
    #[serde(default)]
    evidence: Option<Evidence>,
    #[serde(default, borrow, deserialize_with = "bounded_entries")]
    components: Option<Vec<&'a RawValue>>,
}

#[derive(Deserialize)]
struct Property {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    value: Option<String>,
}

#[derive(Deserialize)]
struct LicenseChoice {
    #[serde(default)]
    license: Option<License>,
    #[serde(default)]
    expression: Option<String>,
}

#[derive(Deserialize)]
struct License {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
struct Evidence {
    #[serde(default)]
    occurrences: Option<Vec<Occurrence>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Occurrence {
    #[serde(default)]
    location: Option<String>,
    #[serde(default)]
    additional_context: Option<String>,
}

/// Component types that are not software packages when they carry no purl.
const NOT_PACKAGES: &[&str] = &[
    "file",
    "container",
    "platform",
    "device",
    "device-driver",
    "firmware",
    "data",
    "machine-learning-model",
    "cryptographic-asset",
];

/// Reads a CycloneDX JSON document (spec 1.2 or a later 1.x).
pub(super) fn read(bytes: &[u8]) -> Result<Parsed, ReadError> {
    let bom: Bom<'_> = parse_document(bytes)?;
    let spec_version = bom.spec_version.ok_or_else(|| ReadError::Field {
        path: "specVersion".to_owned(),
        message: "missing: expected the CycloneDX spec version (1.2 or later)".to_owned(),
    })?;
    let minor = spec_version
        .strip_prefix("1.")
        .and_then(|m| m.parse::<u32>().ok());
    if minor.is_none_or(|m| m < 2) {
        return Err(ReadError::UnsupportedVersion {
            format: "CycloneDX",
            found: spec_version,
            expected: "1.2 or a later 1.x (JSON exists from 1.2)",
        });
    }
    let mut out = Parsed {
        format: SbomFormat::CycloneDx { spec_version },
        entries: Vec::new(),
        os: Vec::new(),
        subject: None,
        skipped: Vec::new(),
    };
    // (path, component, depth), popped in document order: top-level components first, then
    // those nested under the subject.
    let mut stack: Vec<(String, &RawValue, usize)> = Vec::new();
    let mut pushed = 0usize;
    if let Some(raw) = bom.metadata.and_then(|m| m.component) {
        // The subject is what the SBOM describes, a package only when its purl is one rampart
        // matches (an application's own SBOM); a broken one only loses the subject's name.
        if let Ok(mut c) = parse_entry::<Component<'_>>(raw) {
            out.subject = subject(&c);
            if let Some(children) = c.components.take() {
                push(
                    &mut stack,
                    &mut pushed,
                    "metadata.component.components",
                    children,
                    1,
                )?;
            }
            if super::entry::supported_purl(c.purl.as_deref()) {
                add(&mut out, 0, "metadata.component".to_owned(), c);
            }
        }
    }
    if let Some(children) = bom.components {
        push(&mut stack, &mut pushed, "components", children, 1)?;
    }
    let mut seq = 0usize;
    while let Some((at, raw, depth)) = stack.pop() {
        seq += 1;
        let mut c = match parse_entry::<Component<'_>>(raw) {
            Ok(c) => c,
            Err(message) => {
                out.skipped.push((
                    seq,
                    Skipped {
                        at,
                        name: None,
                        reason: SkipReason::Unreadable(message),
                    },
                ));
                continue;
            }
        };
        if let Some(children) = c.components.take() {
            if !children.is_empty() {
                if depth >= MAX_COMPONENT_DEPTH {
                    return Err(ReadError::Limit {
                        at,
                        what: "the nesting of components",
                        limit: MAX_COMPONENT_DEPTH,
                    });
                }
                let parent = format!("{at}.components");
                push(&mut stack, &mut pushed, &parent, children, depth + 1)?;
            }
        }
        add(&mut out, seq, at, c);
    }
    Ok(out)
}

/// Records one component: the distribution, a package entry, or nothing (not a package).
fn add(out: &mut Parsed, seq: usize, at: String, c: Component<'_>) {
    let props: Vec<(String, String)> = c
        .properties
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| Some((p.name?, p.value?)))
        .filter(|(k, _)| used_property(k))
        .collect();
    let ty = c.ty.as_deref().unwrap_or("library");
    if ty == "operating-system" {
        out.os.push(OsHint {
            id: prop(&props, "syft:distro:id")
                .or_else(|| prop(&props, "rampart:distro:id"))
                .map(str::to_owned)
                .or(c.name),
            version: prop(&props, "syft:distro:versionID")
                .map(str::to_owned)
                .or(c.version),
            codename: prop(&props, "syft:distro:versionCodename")
                .or_else(|| prop(&props, "rampart:distro:codename"))
                .map(str::to_owned),
        });
        return;
    }
    let has_purl = c.purl.as_deref().is_some_and(|p| !p.trim().is_empty());
    if !has_purl
        && (NOT_PACKAGES.contains(&ty)
            // Trivy's grouping components (one per language file or binary).
            || prop(&props, "aquasecurity:trivy:Class").is_some())
    {
        return;
    }
    let mut locations = locations_from_props(&props);
    if locations.is_empty() {
        locations = c
            .evidence
            .and_then(|e| e.occurrences)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|o| {
                let layer = o
                    .additional_context
                    .and_then(|c| c.strip_prefix("layer ").map(str::to_owned));
                location(&o.location?, layer)
            })
            .collect();
    }
    let licenses = c
        .licenses
        .unwrap_or_default()
        .into_iter()
        .filter_map(|l| {
            l.expression
                .or_else(|| l.license.and_then(|l| l.id.or(l.name)))
        })
        .collect();
    out.entries.push(Entry {
        seq,
        at,
        name: c.name,
        version: c.version,
        group: c.group,
        purl: c.purl,
        props,
        licenses,
        locations,
        source: None,
    });
}

/// Whether a property is one reading uses (so the others, such as Syft's many
/// `syft:cpe23`, are not kept).
fn used_property(name: &str) -> bool {
    name.starts_with("rampart:")
        || name.starts_with("aquasecurity:trivy:")
        || [
            "syft:location:",
            "syft:metadata:",
            "syft:distro:",
            "syft:package:type",
        ]
        .iter()
        .any(|p| name.starts_with(p))
}

/// Pushes `children` of `parent` so that they pop in order, counting them against
/// [`MAX_SBOM_COMPONENTS`].
fn push<'a>(
    stack: &mut Vec<(String, &'a RawValue, usize)>,
    pushed: &mut usize,
    parent: &str,
    children: Vec<&'a RawValue>,
    depth: usize,
) -> Result<(), ReadError> {
    *pushed = pushed.saturating_add(children.len());
    if *pushed > MAX_SBOM_COMPONENTS {
        return Err(ReadError::Limit {
            at: parent.to_owned(),
            what: "the number of components",
            limit: MAX_SBOM_COMPONENTS,
        });
    }
    for (i, raw) in children.into_iter().enumerate().rev() {
        stack.push((format!("{parent}[{i}]"), raw, depth));
    }
    Ok(())
}

/// The image reference Trivy states (`aquasecurity:trivy:RepoDigest`, else `RepoTag`: its
/// `name` is what it was given, a file for archives), else `name`, with `@digest` when the
/// version is an image digest (Syft, rampart).
fn subject(c: &Component<'_>) -> Option<String> {
    let stated = |key: &str| {
        c.properties.iter().flatten().find_map(|p| {
            (p.name.as_deref() == Some(key))
                .then(|| p.value.as_deref().map(str::trim))
                .flatten()
                .filter(|v| !v.is_empty())
        })
    };
    if let Some(r) =
        stated("aquasecurity:trivy:RepoDigest").or_else(|| stated("aquasecurity:trivy:RepoTag"))
    {
        return Some(r.to_owned());
    }
    let name = c.name.as_deref().map(str::trim).filter(|n| !n.is_empty())?;
    Some(match c.version.as_deref() {
        Some(v) if v.starts_with("sha256:") && !name.contains('@') => format!("{name}@{v}"),
        _ => name.to_owned(),
    })
}
