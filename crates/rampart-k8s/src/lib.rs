//! Kubernetes manifests: YAML and JSON loaded with positions ([`yaml`]), objects and the pod
//! templates of every workload kind ([`objects`]), and the hardening rules ([`rules`]) for the
//! runtime, host, network, access, supply-chain and admission layers, the Pod Security Standards
//! among them.

pub mod objects;
pub mod rules;
pub mod schema;
mod secrets;
pub mod yaml;

pub use rules::{Inventory, Located, PssOptions, evaluate, rules};
pub use secrets::{classify as classify_secret, redact as redact_secret};

use yaml::{Document, Limits, YamlError};

/// A loaded manifest file.
#[derive(Debug)]
pub struct ManifestFile {
    pub path: String,
    pub documents: Vec<Document>,
}

impl ManifestFile {
    /// Loads `text`; errors carry the position of the broken document, which is skipped.
    pub fn load(path: impl Into<String>, text: &str) -> (ManifestFile, Vec<YamlError>) {
        let loaded = yaml::load(text, Limits::default());
        (
            ManifestFile {
                path: path.into(),
                documents: loaded.documents,
            },
            loaded.errors,
        )
    }

    /// Whether any document is a Kubernetes object (has `apiVersion` and `kind`).
    pub fn has_objects(&self) -> bool {
        self.documents
            .iter()
            .any(|d| !objects::objects(d).is_empty())
    }

    /// Validates every object of a kind rampart reads against the Kubernetes 1.37 API schemas
    /// ([`schema`]) and removes the invalid ones (a document, or an item of a `List`), so no rule
    /// evaluates an object the API server would reject as if it were fine. Returns what was
    /// found: the objects removed with their violations, and the unknown fields of valid ones.
    pub fn remove_invalid(&mut self) -> SchemaReport {
        let mut report = SchemaReport::default();
        self.documents
            .retain_mut(|d| keep_valid(&mut d.root, &mut report, 0));
        report
    }

    /// Counts the objects, then drops the documents no rule reads (CustomResourceDefinitions,
    /// ConfigMaps, Services...), so a scan keeps in memory only what cross-file rules need.
    /// Returns the number of objects the file held.
    pub fn retain_relevant(&mut self) -> usize {
        let mut count = 0;
        self.documents.retain(|d| {
            let objs = objects::objects(d);
            count += objs.len();
            objs.iter().any(rules::is_relevant)
        });
        count
    }
}

/// An object removed because it breaks its Kubernetes API schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidObject {
    /// `Kind namespace/name`, as controls name it.
    pub subject: String,
    pub kind: String,
    pub violations: Vec<schema::Violation>,
}

/// What [`ManifestFile::remove_invalid`] found in a file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchemaReport {
    /// Objects removed, in file order.
    pub invalid: Vec<InvalidObject>,
    /// Fields the schema does not define, in valid objects (`kubectl --validate=strict` rejects
    /// them; the API server drops them), with the subject of their object.
    pub unknown: Vec<(String, schema::Unknown)>,
}

/// Validates the object at `node` (or the items of a `List`, removing the invalid ones); whether
/// to keep the node.
fn keep_valid(node: &mut yaml::Node, report: &mut SchemaReport, depth: usize) -> bool {
    let Some(object) = objects::Object::from_node(node) else {
        return true;
    };
    if object.kind.ends_with("List") && node.get("items").is_some() {
        if let yaml::Value::Map(entries) = &mut node.value
            && let Some((_, items)) = entries
                .iter_mut()
                .find(|(k, _)| k.as_str() == Some("items"))
            && let yaml::Value::Seq(list) = &mut items.value
            && depth < 8
        {
            list.retain_mut(|item| keep_valid(item, report, depth + 1));
        }
        return true;
    }
    let Some(checked) = schema::validate(node, object.api_version, object.kind) else {
        return true;
    };
    let subject = object.subject();
    if checked.is_valid() {
        report
            .unknown
            .extend(checked.unknown.into_iter().map(|u| (subject.clone(), u)));
        true
    } else {
        report.invalid.push(InvalidObject {
            subject,
            kind: object.kind.to_owned(),
            violations: checked.violations,
        });
        false
    }
}

/// Whether text that failed to load was probably meant as a Kubernetes manifest (so its errors
/// are worth reporting rather than ignoring an unrelated YAML file).
pub fn looks_like_manifest(text: &str) -> bool {
    text.contains("apiVersion") && text.contains("kind")
}

/// Evaluates every rule over a set of files, together (policies, namespaces and service accounts
/// apply across files).
pub fn scan(files: &[ManifestFile], pss: &PssOptions) -> rampart_core::Assessment {
    scan_with(files, pss, std::collections::HashMap::new())
}

/// [`scan`], with the workloads (by subject) that must run in a sandbox for a reason the
/// manifests do not carry, and why (see [`rules::Inventory::sandbox_required`]).
pub fn scan_with(
    files: &[ManifestFile],
    pss: &PssOptions,
    sandbox_required: std::collections::HashMap<String, String>,
) -> rampart_core::Assessment {
    let mut all = Vec::new();
    for f in files {
        for doc in &f.documents {
            for object in objects::objects(doc) {
                all.push(Located {
                    file: &f.path,
                    object,
                });
            }
        }
    }
    let mut inventory = Inventory::new(all);
    inventory.sandbox_required = sandbox_required;
    evaluate(&inventory, pss)
}
