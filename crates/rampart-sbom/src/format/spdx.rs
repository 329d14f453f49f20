//! SPDX 2.3 JSON (<https://spdx.github.io/spdx-spec/v2.3/>).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::license::License;
use super::{
    Options, SbomDocument, SubjectKind, document_uuid, idstring, non_empty, packages, short_hash,
    subject_properties, subject_purl, timestamp,
};
use crate::{Distro, Package};

/// Where document namespaces live: `<base>/<subject name>-<uuid>`. The namespace only has to
/// be a unique absolute URI without `#`; it is not meant to be fetched.
pub const SPDX_NAMESPACE_BASE: &str = "https://rampart.invalid/spdx";

const DOCUMENT_ID: &str = "SPDXRef-DOCUMENT";
const SUBJECT_ID: &str = "SPDXRef-Subject";
const OS_ID: &str = "SPDXRef-OperatingSystem";
const NOASSERTION: &str = "NOASSERTION";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Document {
    spdx_version: &'static str,
    data_license: &'static str,
    #[serde(rename = "SPDXID")]
    spdx_id: &'static str,
    name: String,
    document_namespace: String,
    creation_info: CreationInfo,
    packages: Vec<SpdxPackage>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    has_extracted_licensing_infos: Vec<ExtractedLicense>,
    relationships: Vec<Relationship>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CreationInfo {
    license_list_version: String,
    creators: Vec<String>,
    created: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SpdxPackage {
    name: String,
    #[serde(rename = "SPDXID")]
    spdx_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    version_info: Option<String>,
    download_location: &'static str,
    files_analyzed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_info: Option<String>,
    license_concluded: &'static str,
    license_declared: String,
    copyright_text: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    external_refs: Vec<ExternalRef>,
    primary_package_purpose: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExternalRef {
    reference_category: &'static str,
    reference_type: &'static str,
    reference_locator: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExtractedLicense {
    license_id: String,
    name: String,
    extracted_text: String,
    comment: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Relationship {
    spdx_element_id: String,
    relationship_type: &'static str,
    related_spdx_element: String,
}

/// Renders `doc` as an SPDX 2.3 JSON document (pretty-printed, ending in a newline).
///
/// The document `DESCRIBES` the subject (`SPDXRef-Subject`, purpose `CONTAINER` or `FILE`,
/// image details in its comment), which `CONTAINS` the distribution (`SPDXRef-OperatingSystem`,
/// purpose `OPERATING_SYSTEM`) and every package (merged by purl; purpose `LIBRARY`; SPDXID
/// `SPDXRef-Package-<type>-<name>-<hash of purl>`; purl as a `PACKAGE-MANAGER` external
/// reference; locations and source package in `sourceInfo`). `licenseDeclared` joins the
/// package's licenses with `AND`: listed ids and expressions as they are, free text as a
/// `LicenseRef-<text>-<hash>` defined in `hasExtractedLicensingInfos`; `NOASSERTION` when the
/// package states none. Nothing is concluded (`licenseConcluded` is `NOASSERTION`), no file is
/// analysed, no download location is claimed.
pub fn spdx_json(doc: &SbomDocument, opts: &Options) -> String {
    let pkgs = packages(doc);
    let mut extracted: BTreeMap<String, ExtractedLicense> = BTreeMap::new();
    let mut ids = BTreeSet::new();
    let mut packages = vec![subject_package(doc)];
    if let Some(d) = &doc.distro {
        packages.push(os_package(d));
    }
    for p in &pkgs {
        let id = unique(&mut ids, package_id(p));
        packages.push(package(p, id, &mut extracted));
    }
    let mut relationships = vec![Relationship {
        spdx_element_id: DOCUMENT_ID.to_owned(),
        relationship_type: "DESCRIBES",
        related_spdx_element: SUBJECT_ID.to_owned(),
    }];
    relationships.extend(packages.iter().skip(1).map(|p| Relationship {
        spdx_element_id: SUBJECT_ID.to_owned(),
        relationship_type: "CONTAINS",
        related_spdx_element: p.spdx_id.clone(),
    }));
    let name = non_empty(&doc.subject.name, "unnamed").to_owned();
    let version = spdx::license_version();
    let mut document = Document {
        spdx_version: "SPDX-2.3",
        data_license: "CC0-1.0",
        spdx_id: DOCUMENT_ID,
        document_namespace: String::new(),
        creation_info: CreationInfo {
            // The list's `major.minor`, as SPDX writes it.
            license_list_version: version.split('.').take(2).collect::<Vec<_>>().join("."),
            creators: vec![format!(
                "Tool: {}-{}",
                non_empty(&doc.tool.name, "rampart"),
                doc.tool.version
            )],
            created: timestamp(opts),
        },
        name,
        packages,
        has_extracted_licensing_infos: extracted.into_values().collect(),
        relationships,
    };
    // Serializing these types cannot fail (string keys only, no fallible `Serialize`), so the
    // empty fallback is never taken.
    let canonical = serde_json::to_vec(&document).unwrap_or_default();
    let uuid = document_uuid(opts, &canonical).hyphenated().to_string();
    let slug = idstring(&document.name, 64);
    document.document_namespace = if slug.is_empty() {
        format!("{SPDX_NAMESPACE_BASE}/{uuid}")
    } else {
        format!("{SPDX_NAMESPACE_BASE}/{slug}-{uuid}")
    };
    let mut out = serde_json::to_string_pretty(&document).unwrap_or_default();
    out.push('\n');
    out
}

/// `SPDXRef-Package-<purl type>-<name>-<16 hex of the purl's SHA-256>`: readable, stable across
/// documents, unique since purls are.
fn package_id(p: &Package) -> String {
    let purl = p.purl.to_string();
    let mut id = format!("SPDXRef-Package-{}", idstring(p.purl.ty(), 32));
    let name = idstring(p.purl.name(), 48);
    if !name.is_empty() {
        id.push('-');
        id.push_str(&name);
    }
    id.push('-');
    id.push_str(&short_hash(&purl, 16));
    id
}

/// `id`, or `id-<n>` with the smallest `n` not taken yet (a SHA-256 prefix collision).
fn unique(taken: &mut BTreeSet<String>, id: String) -> String {
    let mut candidate = id.clone();
    let mut n = 2u64;
    while taken.contains(&candidate) {
        candidate = format!("{id}-{n}");
        n += 1;
    }
    taken.insert(candidate.clone());
    candidate
}

fn subject_package(doc: &SbomDocument) -> SpdxPackage {
    let s = &doc.subject;
    let comment = subject_properties(s)
        .into_iter()
        .map(|p| format!("{}: {}", p.name, p.value))
        .collect::<Vec<_>>()
        .join("\n");
    SpdxPackage {
        name: non_empty(&s.name, "unnamed").to_owned(),
        spdx_id: SUBJECT_ID.to_owned(),
        version_info: s
            .manifest_digest
            .clone()
            .or_else(|| s.config_digest.clone()),
        download_location: NOASSERTION,
        files_analyzed: false,
        source_info: None,
        license_concluded: NOASSERTION,
        license_declared: NOASSERTION.to_owned(),
        copyright_text: NOASSERTION,
        comment: (!comment.is_empty()).then_some(comment),
        external_refs: subject_purl(s).map(purl_ref).into_iter().collect(),
        primary_package_purpose: match s.kind {
            SubjectKind::ContainerImage => "CONTAINER",
            SubjectKind::Filesystem => "FILE",
        },
    }
}

fn os_package(d: &Distro) -> SpdxPackage {
    SpdxPackage {
        name: non_empty(&d.id, "unknown").to_owned(),
        spdx_id: OS_ID.to_owned(),
        version_info: d.version_id.clone().filter(|v| !v.is_empty()),
        download_location: NOASSERTION,
        files_analyzed: false,
        source_info: None,
        license_concluded: NOASSERTION,
        license_declared: NOASSERTION.to_owned(),
        copyright_text: NOASSERTION,
        comment: d.codename.as_ref().map(|c| format!("codename: {c}")),
        external_refs: Vec::new(),
        primary_package_purpose: "OPERATING_SYSTEM",
    }
}

fn purl_ref(purl: String) -> ExternalRef {
    ExternalRef {
        reference_category: "PACKAGE-MANAGER",
        reference_type: "purl",
        reference_locator: purl,
    }
}

fn package(
    p: &Package,
    spdx_id: String,
    extracted: &mut BTreeMap<String, ExtractedLicense>,
) -> SpdxPackage {
    let mut terms: Vec<String> = Vec::new();
    for stated in &p.licenses {
        let license = License::classify(stated);
        if matches!(&license, License::Text(t) if t.is_empty()) {
            continue;
        }
        let term = license.spdx_term(|text| {
            let id = license_ref(text);
            extracted
                .entry(id.clone())
                .or_insert_with(|| ExtractedLicense {
                    license_id: id.clone(),
                    name: text.to_owned(),
                    extracted_text: text.to_owned(),
                    comment: "the license as the package metadata states it, not its full text",
                });
            id
        });
        if !terms.contains(&term) {
            terms.push(term);
        }
    }
    let license_declared = match terms.as_slice() {
        [] => NOASSERTION.to_owned(),
        [one] => one
            .strip_prefix('(')
            .and_then(|t| t.strip_suffix(')'))
            .unwrap_or(one)
            .to_owned(),
        _ => terms.join(" AND "),
    };
    let mut source = p
        .locations
        .iter()
        .map(|l| match &l.layer {
            Some(layer) => format!("{} (layer {layer})", l.path),
            None => l.path.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ");
    if !source.is_empty() {
        source.insert_str(0, "acquired package info from ");
    }
    if let Some(s) = &p.source_package {
        if !source.is_empty() {
            source.push_str("; ");
        }
        source.push_str(&format!(
            "built from source package {} {}",
            s.name, s.version
        ));
    }
    SpdxPackage {
        name: non_empty(&p.name, p.purl.name()).to_owned(),
        spdx_id,
        version_info: Some(p.version.clone()).filter(|v| !v.is_empty()),
        download_location: NOASSERTION,
        files_analyzed: false,
        source_info: (!source.is_empty()).then_some(source),
        license_concluded: NOASSERTION,
        license_declared,
        copyright_text: NOASSERTION,
        comment: p.arch.as_ref().map(|a| format!("arch: {a}")),
        external_refs: vec![purl_ref(p.purl.to_string())],
        primary_package_purpose: "LIBRARY",
    }
}

/// `LicenseRef-<text as an idstring>-<12 hex of its SHA-256>`: one per distinct text.
fn license_ref(text: &str) -> String {
    let slug = idstring(text, 40);
    let hash = short_hash(text, 12);
    if slug.is_empty() {
        format!("LicenseRef-{hash}")
    } else {
        format!("LicenseRef-{slug}-{hash}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_use_the_idstring_alphabet() {
        let valid = |id: &str| {
            id.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        };
        for text in ["MIT License", "é", "\u{0}", "a/b c"] {
            let id = license_ref(text);
            assert!(id.starts_with("LicenseRef-") && valid(&id), "{id}");
        }
        assert_ne!(license_ref("a b"), license_ref("a/b"));
        let mut taken = BTreeSet::new();
        assert_eq!(unique(&mut taken, "x".into()), "x");
        assert_eq!(unique(&mut taken, "x".into()), "x-2");
        assert_eq!(unique(&mut taken, "x".into()), "x-3");
    }
}
