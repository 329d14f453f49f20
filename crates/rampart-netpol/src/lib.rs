//! The network layer in depth (issue 17): NetworkPolicy v1 reachability between workloads and
//! the IPv4 ranges outside the cluster, with netpol-analyzer's connection-list format, the
//! reasons for each pair, what is exposed, and the difference between two revisions.
//!
//! - [`model`]: the cluster read from manifests (namespaces, workloads' pods, policies),
//!   every field checked as the API server checks it; input errors carry file and position.
//! - [`selector`], [`ports`], [`ip`]: label selectors, connection sets, address ranges.
//! - [`reach`]: the engine.

pub mod diff;
pub mod flows;
pub mod generate;
pub mod intents;
pub mod ip;
pub mod model;
pub mod picture;
pub mod ports;
pub mod reach;
pub mod rules;
pub mod selector;

use std::path::{Path, PathBuf};

use rampart_k8s::yaml::{Document, Limits, load};

pub use model::{Cluster, InputError, PeerName};
pub use reach::{Connection, Endpoint, Engine};

/// The file kinds read: YAML and JSON manifests.
fn is_manifest(p: &Path) -> bool {
    matches!(
        p.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml" | "json")
    )
}

/// Every manifest under `root` (a file, or a directory read recursively), in path order.
pub fn manifest_files(root: &Path) -> Result<Vec<PathBuf>, std::io::Error> {
    if root.is_file() {
        return Ok(vec![root.to_owned()]);
    }
    let mut out = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if is_manifest(&path) {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Reads a cluster from manifest text, file by file: `(name shown in errors, text)`.
pub fn read<'a>(files: impl IntoIterator<Item = (String, &'a str)>) -> Cluster {
    let mut errors = Vec::new();
    let loaded: Vec<(String, Vec<Document>)> = files
        .into_iter()
        .map(|(name, text)| {
            let l = load(text, Limits::default());
            errors.extend(l.errors.into_iter().map(|e| InputError {
                file: name.clone(),
                line: e.line,
                column: e.column,
                message: e.message,
            }));
            (name, l.documents)
        })
        .collect();
    let mut cluster = from_documents(loaded.iter().map(|(n, d)| (n.as_str(), d.as_slice())));
    errors.append(&mut cluster.errors);
    cluster.errors = errors;
    cluster
}

/// Reads a cluster from documents already loaded (a scan's manifests): `(file, documents)`.
pub fn from_documents<'a>(files: impl IntoIterator<Item = (&'a str, &'a [Document])>) -> Cluster {
    let mut cluster = Cluster::default();
    for (name, docs) in files {
        for doc in docs {
            let objects = rampart_k8s::objects::objects(doc);
            model::add_objects(&mut cluster, name, &objects);
        }
    }
    // the pods of one workload that share labels and ports are one member (a ReplicaSet's
    // replicas): the engine judges each member once
    cluster
        .members
        .sort_by(|a, b| (&a.peer, &a.labels, &a.ports).cmp(&(&b.peer, &b.labels, &b.ports)));
    // (the one kept takes the others' addresses and pod names)
    cluster.members.dedup_by(|a, b| {
        let same = a.peer == b.peer && a.labels == b.labels && a.ports == b.ports;
        if same {
            b.ips.append(&mut a.ips);
            b.pod_names.append(&mut a.pod_names);
            for i in a.images.drain(..) {
                if !b.images.contains(&i) {
                    b.images.push(i);
                }
            }
        }
        same
    });
    cluster
}

/// Reads a cluster from a file or a directory tree; files that cannot be read are input
/// errors (line 0).
pub fn read_path(root: &Path) -> Result<Cluster, std::io::Error> {
    let mut texts = Vec::new();
    let mut unreadable = Vec::new();
    for f in manifest_files(root)? {
        match std::fs::read_to_string(&f) {
            Ok(t) => texts.push((f.display().to_string(), t)),
            Err(e) => unreadable.push(InputError {
                file: f.display().to_string(),
                line: 0,
                column: 0,
                message: e.to_string(),
            }),
        }
    }
    let mut c = read(texts.iter().map(|(n, t)| (n.clone(), t.as_str())));
    c.errors.extend(unreadable);
    Ok(c)
}
