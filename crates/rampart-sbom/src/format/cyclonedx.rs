//! CycloneDX 1.6 JSON (<https://cyclonedx.org/docs/1.6/json/>).

use serde::Serialize;

use super::license::{License, cyclonedx_knows};
use super::{
    Options, Property, SbomDocument, SubjectKind, document_uuid, non_empty, package_properties,
    packages, subject_properties, subject_purl, timestamp,
};
use crate::{Distro, Package};

/// `bom-ref` of the subject (`metadata.component`).
const SUBJECT_REF: &str = "rampart:subject";
/// `bom-ref` of the operating-system component.
const OS_REF: &str = "rampart:operating-system";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Bom {
    #[serde(rename = "$schema")]
    schema: &'static str,
    bom_format: &'static str,
    spec_version: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    serial_number: Option<String>,
    version: u32,
    metadata: Metadata,
    components: Vec<Component>,
    dependencies: Vec<Dependency>,
}

#[derive(Serialize)]
struct Metadata {
    timestamp: String,
    tools: Tools,
    component: Component,
}

#[derive(Serialize)]
struct Tools {
    components: Vec<Component>,
}

#[derive(Serialize)]
struct Component {
    #[serde(rename = "type")]
    ty: &'static str,
    #[serde(rename = "bom-ref", skip_serializing_if = "Option::is_none")]
    bom_ref: Option<String>,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    licenses: Vec<LicenseChoice>,
    #[serde(skip_serializing_if = "Option::is_none")]
    purl: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    properties: Vec<Property>,
    #[serde(skip_serializing_if = "Option::is_none")]
    evidence: Option<Evidence>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum LicenseChoice {
    License { license: LicenseObject },
    Expression { expression: String },
}

#[derive(Serialize)]
struct LicenseObject {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
}

#[derive(Serialize)]
struct Evidence {
    occurrences: Vec<Occurrence>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Occurrence {
    location: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    additional_context: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Dependency {
    #[serde(rename = "ref")]
    reference: String,
    depends_on: Vec<String>,
}

/// Renders `doc` as a CycloneDX 1.6 JSON document (pretty-printed, ending in a newline).
///
/// The subject is `metadata.component` (type `container` or `file`, `bom-ref`
/// `rampart:subject`, image details as `rampart:image:*` properties); the distribution is an
/// `operating-system` component; each package (merged by purl) is a `library` component whose
/// `bom-ref` is its purl, with its locations as `evidence.occurrences` and as
/// `rampart:location:<i>:path|layer` properties, plus `rampart:package:*` properties
/// (ecosystem, arch, source-name, source-version). Licenses: a list of `license.id` (listed
/// id) or `license.name` (free text) entries; a package whose only license is an expression,
/// or whose licenses are all valid and include an expression, gets one `expression` (several
/// joined with `AND`). The subject depends on every component.
pub fn cyclonedx_json(doc: &SbomDocument, opts: &Options) -> String {
    let pkgs = packages(doc);
    let mut components = Vec::with_capacity(pkgs.len() + 1);
    if let Some(d) = &doc.distro {
        components.push(os_component(d));
    }
    components.extend(pkgs.iter().map(package_component));
    let depends_on = components
        .iter()
        .filter_map(|c| c.bom_ref.clone())
        .collect();
    let s = &doc.subject;
    let subject = Component {
        ty: match s.kind {
            SubjectKind::ContainerImage => "container",
            SubjectKind::Filesystem => "file",
        },
        bom_ref: Some(SUBJECT_REF.to_owned()),
        name: non_empty(&s.name, "unnamed").to_owned(),
        version: s
            .manifest_digest
            .clone()
            .or_else(|| s.config_digest.clone()),
        licenses: Vec::new(),
        purl: subject_purl(s),
        properties: subject_properties(s),
        evidence: None,
    };
    let tool = Component {
        ty: "application",
        bom_ref: None,
        name: non_empty(&doc.tool.name, "rampart").to_owned(),
        version: Some(doc.tool.version.clone()).filter(|v| !v.is_empty()),
        licenses: Vec::new(),
        purl: None,
        properties: Vec::new(),
        evidence: None,
    };
    let mut bom = Bom {
        schema: "http://cyclonedx.org/schema/bom-1.6.schema.json",
        bom_format: "CycloneDX",
        spec_version: "1.6",
        serial_number: None,
        version: 1,
        metadata: Metadata {
            timestamp: timestamp(opts),
            tools: Tools {
                components: vec![tool],
            },
            component: subject,
        },
        components,
        dependencies: vec![Dependency {
            reference: SUBJECT_REF.to_owned(),
            depends_on,
        }],
    };
    // Serializing these types cannot fail (string keys only, no fallible `Serialize`), so the
    // empty fallback is never taken.
    let canonical = serde_json::to_vec(&bom).unwrap_or_default();
    bom.serial_number = Some(format!(
        "urn:uuid:{}",
        document_uuid(opts, &canonical).hyphenated()
    ));
    let mut out = serde_json::to_string_pretty(&bom).unwrap_or_default();
    out.push('\n');
    out
}

fn os_component(d: &Distro) -> Component {
    let mut properties = vec![Property::new("rampart:distro:id", &d.id)];
    if let Some(c) = &d.codename {
        properties.push(Property::new("rampart:distro:codename", c));
    }
    super::sort_properties(&mut properties);
    Component {
        ty: "operating-system",
        bom_ref: Some(OS_REF.to_owned()),
        name: non_empty(&d.id, "unknown").to_owned(),
        version: d.version_id.clone().filter(|v| !v.is_empty()),
        licenses: Vec::new(),
        purl: None,
        properties,
        evidence: None,
    }
}

fn package_component(p: &Package) -> Component {
    let purl = p.purl.to_string();
    Component {
        ty: "library",
        bom_ref: Some(purl.clone()),
        name: non_empty(&p.name, p.purl.name()).to_owned(),
        version: Some(p.version.clone()).filter(|v| !v.is_empty()),
        licenses: licenses(&p.licenses),
        purl: Some(purl),
        properties: package_properties(p),
        evidence: (!p.locations.is_empty()).then(|| Evidence {
            occurrences: p
                .locations
                .iter()
                .map(|l| Occurrence {
                    location: l.path.clone(),
                    additional_context: l.layer.as_ref().map(|l| format!("layer {l}")),
                })
                .collect(),
        }),
    }
}

/// CycloneDX allows either a list of licenses (by id or name) or exactly one expression.
fn licenses(stated: &[String]) -> Vec<LicenseChoice> {
    let mut classified: Vec<License> = Vec::with_capacity(stated.len());
    for l in stated.iter().map(|s| License::classify(s)) {
        if !matches!(&l, License::Text(t) if t.is_empty()) && !classified.contains(&l) {
            classified.push(l);
        }
    }
    // An id newer than the CycloneDX schema's list is valid SPDX, but only as an expression.
    let any_expression = classified.iter().any(|l| match l {
        License::Expression(_) => true,
        License::Id(id) => !cyclonedx_knows(id),
        License::Text(_) => false,
    });
    let all_valid = classified.iter().all(|l| !matches!(l, License::Text(_)));
    if any_expression && all_valid {
        let expression = match classified.as_slice() {
            [License::Expression(e)] => e.clone(),
            [License::Id(id)] => (*id).to_owned(),
            _ => classified
                .iter()
                .map(|l| l.spdx_term(str::to_owned))
                .collect::<Vec<_>>()
                .join(" AND "),
        };
        return vec![LicenseChoice::Expression { expression }];
    }
    classified
        .into_iter()
        .map(|l| {
            let (id, name) = match l {
                License::Id(id) if cyclonedx_knows(id) => (Some(id.to_owned()), None),
                License::Id(id) => (None, Some(id.to_owned())),
                License::Expression(e) | License::Text(e) => (None, Some(e)),
            };
            LicenseChoice::License {
                license: LicenseObject { id, name },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(stated: &[&str]) -> String {
        let owned: Vec<String> = stated.iter().map(|s| (*s).to_owned()).collect();
        serde_json::to_string(&licenses(&owned)).unwrap_or_default()
    }

    #[test]
    fn license_choices() {
        assert_eq!(render(&[]), "[]");
        assert_eq!(
            render(&["MIT", "GPL-2.0+"]),
            r#"[{"license":{"id":"MIT"}},{"license":{"id":"GPL-2.0-or-later"}}]"#
        );
        assert_eq!(
            render(&["MIT or Apache-2.0"]),
            r#"[{"expression":"MIT OR Apache-2.0"}]"#
        );
        assert_eq!(
            render(&["MIT OR Apache-2.0", "BSD-3-Clause"]),
            r#"[{"expression":"(MIT OR Apache-2.0) AND BSD-3-Clause"}]"#
        );
        assert_eq!(
            render(&["MIT OR Apache-2.0", "Public Domain", " "]),
            r#"[{"license":{"name":"MIT OR Apache-2.0"}},{"license":{"name":"Public Domain"}}]"#
        );
    }
}
