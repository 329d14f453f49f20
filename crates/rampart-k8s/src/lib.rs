//! Kubernetes manifests: YAML and JSON loaded with positions ([`yaml`]), objects and the pod
//! templates of every workload kind ([`objects`]), and the hardening rules ([`rules`]) for the
//! runtime, host, network, access, supply-chain and admission layers, the Pod Security Standards
//! among them.

pub mod objects;
pub mod rules;
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

/// Whether text that failed to load was probably meant as a Kubernetes manifest (so its errors
/// are worth reporting rather than ignoring an unrelated YAML file).
pub fn looks_like_manifest(text: &str) -> bool {
    text.contains("apiVersion") && text.contains("kind")
}

/// Evaluates every rule over a set of files, together (policies, namespaces and service accounts
/// apply across files).
pub fn scan(files: &[ManifestFile], pss: &PssOptions) -> rampart_core::Assessment {
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
    evaluate(&Inventory::new(all), pss)
}
