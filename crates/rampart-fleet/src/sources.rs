//! Where jobs come from: image references as given, a registry's whole catalog (the OCI
//! `_catalog` and tags APIs, paged, bounded, loops refused), and the images a cluster runs (a
//! `kubectl get -A -o yaml` dump: every container of every workload and Pod; a Pod's
//! `status.containerStatuses[].imageID` pins the digest it actually runs).

use std::collections::BTreeSet;

use rampart_registry::{Client, Reference};

use crate::queue::NewJob;

/// A reference that cannot be enqueued, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// `file:line:column`, a registry, or `argument N`
    pub at: String,
    /// why
    pub message: String,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.at, self.message)
    }
}

/// The job for a reference, normalised (`nginx` → `docker.io/library/nginx:latest`).
pub fn job(reference: &str) -> Result<NewJob, String> {
    let r = Reference::parse(reference)
        .map_err(|e| format!("`{reference}` is not an image reference: {e}"))?;
    Ok(NewJob {
        reference: r.to_string(),
        registry: r.registry().to_owned(),
    })
}

/// Jobs for references given one by one (arguments, lines of a file: blank lines and `#`
/// comments skipped), deduplicated.
pub fn from_references<'a>(
    refs: impl IntoIterator<Item = (String, &'a str)>,
) -> (Vec<NewJob>, Vec<Refused>) {
    let mut jobs = Vec::new();
    let mut refused = Vec::new();
    let mut seen = BTreeSet::new();
    for (at, text) in refs {
        let text = text.trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        match job(text) {
            Ok(j) => {
                if seen.insert(j.reference.clone()) {
                    jobs.push(j);
                }
            }
            Err(message) => refused.push(Refused { at, message }),
        }
    }
    (jobs, refused)
}

/// Jobs for every tag of every repository of `registry` (`host[:port]`). A repository whose
/// tags cannot be listed is refused with the reason; the rest are still enqueued. An error
/// listing the catalog itself is returned as the only refusal.
pub fn from_catalog(client: &Client, registry: &str) -> (Vec<NewJob>, Vec<Refused>) {
    let mut jobs = Vec::new();
    let mut refused = Vec::new();
    let repos = match client.catalog(registry) {
        Ok(r) => r,
        Err(e) => {
            refused.push(Refused {
                at: registry.to_owned(),
                message: format!("listing the catalog: {e}"),
            });
            return (jobs, refused);
        }
    };
    for repo in repos {
        let at = format!("{registry}/{repo}");
        let parsed = match Reference::parse(&at) {
            Ok(r) => r,
            Err(e) => {
                refused.push(Refused {
                    at,
                    message: format!("not a repository name: {e}"),
                });
                continue;
            }
        };
        match client.list_tags(parsed.repository()) {
            Ok(tags) => {
                for tag in tags {
                    match parsed.with_tag(&tag) {
                        Ok(r) => jobs.push(NewJob {
                            reference: r.to_string(),
                            registry: r.registry().to_owned(),
                        }),
                        Err(e) => refused.push(Refused {
                            at: at.clone(),
                            message: format!("tag `{tag}`: {e}"),
                        }),
                    }
                }
            }
            Err(e) => refused.push(Refused {
                at,
                message: format!("listing the tags: {e}"),
            }),
        }
    }
    (jobs, refused)
}

/// The digest a container status says runs (`docker-pullable://repo@sha256:...`,
/// `repo@sha256:...`, `sha256:...`).
fn status_digest(image_id: &str) -> Option<&str> {
    let at = image_id.rfind("sha256:")?;
    let d = &image_id[at..];
    (d.len() == 71 && d[7..].bytes().all(|b| b.is_ascii_hexdigit())).then_some(d)
}

/// Jobs for the images a cluster dump runs (file `path` holding `text`): containers of every
/// workload kind and Pod; a Pod's container status pins the digest.
pub fn from_cluster(path: &str, text: &str) -> (Vec<NewJob>, Vec<Refused>) {
    let (file, errors) = rampart_k8s::ManifestFile::load(path, text);
    let mut refused: Vec<Refused> = errors
        .into_iter()
        .map(|e| Refused {
            at: format!("{path}:{}:{}", e.line, e.column),
            message: e.message,
        })
        .collect();
    let mut refs: Vec<(String, String)> = Vec::new();
    for doc in &file.documents {
        for object in rampart_k8s::objects::objects(doc) {
            let Some(w) = rampart_k8s::objects::Workload::from_object(object) else {
                continue;
            };
            // name → digest running, from the Pod's status
            let mut running = std::collections::BTreeMap::new();
            for key in [
                "initContainerStatuses",
                "containerStatuses",
                "ephemeralContainerStatuses",
            ] {
                let Some(list) = object.node.path(&["status", key]) else {
                    continue;
                };
                for s in list.as_seq() {
                    if let (Some(name), Some(d)) = (
                        s.str_at(&["name"]),
                        s.str_at(&["imageID"]).and_then(status_digest),
                    ) {
                        running.insert(name, d);
                    }
                }
            }
            for c in w.containers() {
                let at_node = c.node.get("image").unwrap_or(c.node);
                let at = format!("{path}:{}:{}", at_node.pos.line, at_node.pos.column);
                let Some(image) = c.image() else {
                    refused.push(Refused {
                        at,
                        message: format!("{} of {} names no image", c.describe(), object.subject()),
                    });
                    continue;
                };
                let pinned = match running.get(c.name()) {
                    Some(d) if !image.contains('@') => format!("{image}@{d}"),
                    _ => image.to_owned(),
                };
                refs.push((at, pinned));
            }
        }
    }
    let (jobs, more) = from_references(refs.iter().map(|(at, r)| (at.clone(), r.as_str())));
    refused.extend(more);
    (jobs, refused)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_normalised_and_deduplicated() {
        let (jobs, refused) = from_references([
            ("1".to_owned(), "nginx"),
            ("2".to_owned(), "docker.io/library/nginx:latest"),
            ("3".to_owned(), "# a comment"),
            ("4".to_owned(), "Bad Ref"),
            ("5".to_owned(), "127.0.0.1:5000/app:v1"),
        ]);
        let refs: Vec<&str> = jobs.iter().map(|j| j.reference.as_str()).collect();
        assert_eq!(
            refs,
            ["docker.io/library/nginx:latest", "127.0.0.1:5000/app:v1"]
        );
        assert_eq!(jobs[1].registry, "127.0.0.1:5000");
        assert_eq!(refused.len(), 1);
        assert_eq!(refused[0].at, "4");
    }

    #[test]
    fn a_cluster_dump_gives_its_running_images_pinned_by_status() {
        let digest = format!("sha256:{}", "ab".repeat(32));
        let text = format!(
            "apiVersion: v1\nkind: List\nitems:\n\
             - apiVersion: apps/v1\n  kind: Deployment\n  metadata: {{name: web, namespace: shop}}\n  spec:\n    template:\n      spec:\n        initContainers: [{{name: init, image: 'reg.example:5000/init:1'}}]\n        containers: [{{name: app, image: 'reg.example:5000/web:2'}}]\n\
             - apiVersion: v1\n  kind: Pod\n  metadata: {{name: web-1, namespace: shop}}\n  spec:\n    containers: [{{name: app, image: 'reg.example:5000/web:2'}}, {{name: side}}]\n  status:\n    containerStatuses: [{{name: app, imageID: 'docker-pullable://reg.example:5000/web@{digest}'}}]\n"
        );
        let (jobs, refused) = from_cluster("dump.yaml", &text);
        let refs: Vec<&str> = jobs.iter().map(|j| j.reference.as_str()).collect();
        assert_eq!(
            refs,
            [
                "reg.example:5000/init:1".to_owned(),
                "reg.example:5000/web:2".to_owned(),
                format!("reg.example:5000/web:2@{digest}"),
            ]
        );
        assert_eq!(refused.len(), 1, "{refused:?}");
        assert!(refused[0].message.contains("names no image"), "{refused:?}");
        assert!(refused[0].at.starts_with("dump.yaml:"), "{refused:?}");
    }

    #[test]
    fn status_digests_are_recognised_only_when_whole() {
        let d = format!("sha256:{}", "0f".repeat(32));
        assert_eq!(
            status_digest(&format!("docker-pullable://x@{d}")),
            Some(d.as_str())
        );
        assert_eq!(status_digest(&d), Some(d.as_str()));
        assert_eq!(status_digest("sha256:abc"), None);
        assert_eq!(status_digest("containerd://1234"), None);
    }
}
