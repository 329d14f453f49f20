//! Arbitrary bytes (lossy UTF-8) through the RBAC loader (validation of Roles, ClusterRoles with
//! aggregation, bindings, service accounts, workloads), the authorizer (authorize, who-can, can)
//! and the escalation-path search with its DOT rendering.
//!
//! Panics, timeouts and out-of-memory are bugs: the loader's limits bound the objects, and the
//! authorizer and the graph search are linear in them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_k8s::ManifestFile;
use rampart_rbac::{Identity, Request, load_manifests};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (file, _) = ManifestFile::load("f.yaml", &text);
    let (cluster, errors) = load_manifests(&[file]);
    for e in &errors {
        let _ = e.to_string();
    }
    let requests = [
        Request::resource("create", "", "pods", "", "default", ""),
        Request::resource("get", "", "secrets", "", "kube-system", "x"),
        Request::resource("create", "", "pods", "exec", "", ""),
        Request::non_resource("get", "/healthz"),
    ];
    let identities = [
        Identity::user("alice"),
        Identity::group_member("system:authenticated"),
        Identity::service_account("default", "default"),
    ];
    for r in &requests {
        for id in &identities {
            std::hint::black_box(cluster.authorize(id, r));
        }
        for g in cluster.who_can(r, true) {
            std::hint::black_box(cluster.view(&g));
        }
    }
    for id in &identities {
        std::hint::black_box(cluster.can(id));
    }
    for b in &cluster.bindings {
        for s in &b.subjects {
            std::hint::black_box(cluster.can(&Identity::of_subject(s)));
        }
    }
    let paths = rampart_rbac::paths::find(&cluster);
    std::hint::black_box(rampart_rbac::paths::dot(&paths));
    let _ = rampart_rbac::authz::parse_target(&text, "");
    let _ = Identity::parse(&text);
});
