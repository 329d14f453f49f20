//! What the RBAC tests share.

use rampart_k8s::ManifestFile;
use rampart_rbac::load_manifests;
use rampart_rbac::model::Cluster;

/// The cluster of one manifest text, read as file `name`; neither reading nor loading may fail.
pub fn cluster(name: &str, yaml: &str) -> Cluster {
    let (file, errors) = ManifestFile::load(name, yaml);
    assert!(errors.is_empty(), "{errors:?}");
    let (cluster, errors) = load_manifests(&[file]);
    assert!(errors.is_empty(), "{errors:?}");
    cluster
}
