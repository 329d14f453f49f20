//! Cgroup path layouts of the container runtimes: which container (if any) a cgroup v2 path
//! belongs to.
//!
//! | runtime | cgroupfs driver | systemd driver |
//! |---|---|---|
//! | containerd (CRI) | `/kubepods/<qos>/pod<uid>/<id>` | `/kubepods.slice/kubepods-<qos>.slice/kubepods-<qos>-pod<uid>.slice/cri-containerd-<id>.scope` |
//! | CRI-O | `/kubepods/<qos>/pod<uid>/crio-<id>` | `.../kubepods-<qos>-pod<uid>.slice/crio-<id>.scope` (and `.../crio-<id>.scope/container`) |
//! | Docker | `/docker/<id>` | `/system.slice/docker-<id>.scope` |
//! | Podman | `/libpod_parent/libpod-<id>` | `/machine.slice/libpod-<id>.scope` (rootless: under `user@<uid>.service`) |
//! | containerd (ctr, no CRI) | `/<namespace>/<id>` | `system.slice:containerd:<id>` → `/system.slice/containerd-<id>.scope` |
//!
//! Runtime helpers that share the pod's cgroup are **not** containers: CRI-O's
//! `crio-conmon-<id>.scope` and Podman's `libpod-conmon-<id>.scope` hold the monitor process
//! (conmon) in the host's namespaces. The guaranteed QoS class has no `<qos>` level
//! (`/kubepods/pod<uid>/<id>`, `kubepods-pod<uid>.slice`). A container may create cgroups below
//! its own (systemd in a container, crun's `container` leaf): the innermost component that names
//! a container wins, walking from the leaf up.
//!
//! Plain runc containers use any cgroups path (`linux.cgroupsPath` of the bundle, by default
//! `/<id>`): they are recognized through their state directory, not by the path's shape.

use super::Runtime;

/// What a cgroup path says about the container that owns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathMatch {
    /// the runtime the layout belongs to
    pub runtime: Runtime,
    /// the container id (for Kubernetes runtimes, the CRI container id)
    pub id: String,
    /// the Kubernetes pod uid, when the path is under a pod's cgroup (dashes restored)
    pub pod_uid: Option<String>,
    /// the cgroup path of the container itself (the path cut after the matching component)
    pub container_cgroup: String,
}

/// Whether `s` is a full container id: 64 lowercase hex digits.
fn is_full_id(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The pod uid named by a cgroup component: `pod<uid>` (cgroupfs) or
/// `kubepods[-<qos>]-pod<uid_with_underscores>.slice` (systemd).
fn pod_uid(component: &str) -> Option<String> {
    if let Some(rest) = component.strip_suffix(".slice") {
        let (_, uid) = rest.rsplit_once("-pod")?;
        // `kubepods-…` or, under a kubelet slice (kind), `kubelet-kubepods-…`
        if !rest.contains("kubepods") || uid.is_empty() {
            return None;
        }
        return Some(uid.replace('_', "-"));
    }
    let uid = component.strip_prefix("pod")?;
    (uid.len() >= 32
        && uid
            .bytes()
            .all(|b| b.is_ascii_hexdigit() || b == b'-' || b == b'_'))
    .then(|| uid.replace('_', "-"))
}

/// The container named by one cgroup component, given whether it sits under a Kubernetes pod.
fn component_match(
    component: &str,
    in_pod: bool,
    parent: Option<&str>,
) -> Option<(Runtime, String)> {
    let scoped = |prefix: &str| -> Option<String> {
        let rest = component.strip_prefix(prefix)?;
        let id = rest.strip_suffix(".scope").unwrap_or(rest);
        is_full_id(id).then(|| id.to_string())
    };
    // the systemd driver's `<slice>:<prefix>:<id>` written as a path (containerd on cgroup v1
    // hosts with the systemd driver)
    if let Some((_, rest)) = component.split_once(':') {
        let (prefix, id) = rest.split_once(':')?;
        return component_match(&format!("{prefix}-{id}"), in_pod, parent);
    }
    // conmon, the runtime monitor: not the container (checked before the shorter prefixes)
    if component.starts_with("crio-conmon-") || component.starts_with("libpod-conmon-") {
        return None;
    }
    if let Some(id) = scoped("cri-containerd-") {
        return Some((Runtime::Containerd, id));
    }
    if let Some(id) = scoped("crio-") {
        return Some((Runtime::CriO, id));
    }
    if let Some(id) = scoped("docker-") {
        return Some((Runtime::Docker, id));
    }
    if let Some(id) = scoped("libpod-") {
        return Some((Runtime::Podman, id));
    }
    if let Some(id) = scoped("containerd-") {
        return Some((Runtime::Containerd, id));
    }
    if is_full_id(component) {
        let runtime = match parent {
            Some("docker") => Runtime::Docker,
            // dockershim and containerd write the same cgroupfs path under a pod
            _ if in_pod => Runtime::Containerd,
            _ => Runtime::Unknown,
        };
        return Some((runtime, component.to_string()));
    }
    None
}

/// The container a cgroup v2 path (as in `/proc/<pid>/cgroup`'s `0::` line, relative to the
/// cgroup2 mount) belongs to by its shape, or `None` for a path no runtime layout names (host
/// services, user sessions, plain runc containers under a custom path).
pub fn parse_cgroup_path(path: &str) -> Option<PathMatch> {
    let components: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    let mut pod = None;
    let mut best = None;
    let mut parent: Option<&str> = None;
    for (i, component) in components.iter().enumerate() {
        if let Some(uid) = pod_uid(component) {
            pod = Some(uid);
            parent = Some(component);
            continue;
        }
        // `<pod slice>:<prefix>:<id>`: the pod is in the same component
        if let Some(uid) = component.split_once(':').and_then(|(s, _)| pod_uid(s)) {
            pod = Some(uid);
        }
        if let Some((runtime, id)) = component_match(component, pod.is_some(), parent) {
            // the innermost container component wins: a nested runtime (docker in docker,
            // kind nodes) names the container that really owns the process
            best = Some(PathMatch {
                runtime,
                id,
                pod_uid: pod.clone(),
                container_cgroup: format!(
                    "/{}",
                    components.get(..=i).unwrap_or_default().join("/")
                ),
            });
        }
        parent = Some(component);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "4b9ab8a6a3d1ef6d3b0c5e1d70e2d5a3c7f7e6a2a89f4a44c1c0f1e6d2b3c4d5";

    fn m(path: &str) -> Option<(Runtime, String, Option<String>, String)> {
        parse_cgroup_path(path).map(|p| (p.runtime, p.id, p.pod_uid, p.container_cgroup))
    }

    /// Paths as each runtime writes them (shapes from the runtimes' own code and bug reports:
    /// containerd's `cri-containerd-<id>.scope` under the kubelet's pod slice, CRI-O's
    /// `crio-<id>.scope` with the `crio-conmon-<id>.scope` sibling and crun's `container` leaf,
    /// Docker's `/docker/<id>` and `docker-<id>.scope`, Podman's `libpod-<id>.scope` and
    /// `libpod-conmon-<id>.scope`).
    #[test]
    fn layouts_of_each_runtime() {
        let uid = "0f5a8c3e-7a0b-4f1e-9c57-2a9d6c3b1e42";
        let uid_ = uid.replace('-', "_");
        type Case<'a> = (String, Option<(Runtime, Option<&'a str>)>, usize);
        let cases: Vec<Case> = vec![
            // containerd, cgroupfs driver
            (
                format!("/kubepods/besteffort/pod{uid}/{ID}"),
                Some((Runtime::Containerd, Some(uid))),
                4,
            ),
            (
                format!("/kubepods/burstable/pod{uid}/{ID}"),
                Some((Runtime::Containerd, Some(uid))),
                4,
            ),
            (
                format!("/kubepods/pod{uid}/{ID}"),
                Some((Runtime::Containerd, Some(uid))),
                3,
            ),
            // containerd, systemd driver
            (
                format!(
                    "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{uid_}.slice/cri-containerd-{ID}.scope"
                ),
                Some((Runtime::Containerd, Some(uid))),
                4,
            ),
            (
                format!("/kubepods.slice/kubepods-pod{uid_}.slice/cri-containerd-{ID}.scope"),
                Some((Runtime::Containerd, Some(uid))),
                3,
            ),
            // CRI-O, systemd driver, with crun's nested leaf; conmon is not the container
            (
                format!(
                    "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{uid_}.slice/crio-{ID}.scope"
                ),
                Some((Runtime::CriO, Some(uid))),
                4,
            ),
            (
                format!(
                    "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{uid_}.slice/crio-{ID}.scope/container"
                ),
                Some((Runtime::CriO, Some(uid))),
                4,
            ),
            (
                format!(
                    "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{uid_}.slice/crio-conmon-{ID}.scope"
                ),
                None,
                0,
            ),
            // CRI-O, cgroupfs driver
            (
                format!("/kubepods/burstable/pod{uid}/crio-{ID}"),
                Some((Runtime::CriO, Some(uid))),
                4,
            ),
            (
                format!("/kubepods/burstable/pod{uid}/crio-conmon-{ID}"),
                None,
                0,
            ),
            // Docker
            (format!("/docker/{ID}"), Some((Runtime::Docker, None)), 2),
            (
                format!("/system.slice/docker-{ID}.scope"),
                Some((Runtime::Docker, None)),
                2,
            ),
            // Podman (root and rootless); conmon excluded
            (
                format!("/machine.slice/libpod-{ID}.scope"),
                Some((Runtime::Podman, None)),
                2,
            ),
            (
                format!("/machine.slice/libpod-{ID}.scope/container"),
                Some((Runtime::Podman, None)),
                2,
            ),
            (
                format!(
                    "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{ID}.scope"
                ),
                Some((Runtime::Podman, None)),
                5,
            ),
            (format!("/machine.slice/libpod-conmon-{ID}.scope"), None, 0),
            (
                format!("/libpod_parent/libpod-{ID}"),
                Some((Runtime::Podman, None)),
                2,
            ),
            // containerd without CRI (ctr run --systemd-cgroup / default namespace)
            (
                format!("/system.slice/containerd-{ID}.scope"),
                Some((Runtime::Containerd, None)),
                2,
            ),
            // docker in docker: the inner container wins
            (
                format!("/docker/{ID}/docker/{}", ID.replace('4', "5")),
                Some((Runtime::Docker, None)),
                4,
            ),
            // host paths
            ("/".to_string(), None, 0),
            ("/system.slice/ssh.service".to_string(), None, 0),
            (
                "/user.slice/user-0.slice/session-3.scope".to_string(),
                None,
                0,
            ),
            (format!("/kubepods/besteffort/pod{uid}"), None, 0),
            ("/init.scope".to_string(), None, 0),
            ("/docker/abc".to_string(), None, 0),
        ];
        for (path, want, depth) in cases {
            let got = m(&path);
            match want {
                None => assert_eq!(got, None, "{path}"),
                Some((runtime, pod)) => {
                    let (r, id, p, cg) = got.unwrap_or_else(|| panic!("no match for {path}"));
                    assert_eq!(r, runtime, "{path}");
                    assert!(is_full_id(&id), "{path}: {id}");
                    assert_eq!(p.as_deref(), pod, "{path}");
                    assert_eq!(
                        cg.split('/').filter(|c| !c.is_empty()).count(),
                        depth,
                        "{path}: {cg}"
                    );
                    assert!(path.starts_with(&cg), "{path}: {cg}");
                }
            }
        }
    }

    /// Paths copied from public bug reports.
    #[test]
    fn real_world_paths() {
        let cases: [(&str, Runtime, &str, Option<&str>); 5] = [
            // minikube with CRI-O inside a Docker node container (kubernetes/minikube#11280):
            // the innermost container, CRI-O's, is the process's
            (
                "/docker/d6701ec289c56e4391acb11d07474b3139466857a305490575508a8b7a9fcf22/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod2ca4a155_3599_498d_bb9d_4446693fa3ea.slice/crio-0ba8ac17e4e7a31fb82279503552fe94e64bab4745bf6fd2ff231e7c8ca8bed0.scope",
                Runtime::CriO,
                "0ba8ac17e4e7a31fb82279503552fe94e64bab4745bf6fd2ff231e7c8ca8bed0",
                Some("2ca4a155-3599-498d-bb9d-4446693fa3ea"),
            ),
            // kind, containerd under the kubelet slice (containerd/nri#227)
            (
                "/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod1e597579_417e_482f_bf65_5fe170c3aebd.slice/cri-containerd-a09bc17f5aa29b0dbdec9ede5f46cf1396d2405917ab02e6f1eb1019f388396e.scope",
                Runtime::Containerd,
                "a09bc17f5aa29b0dbdec9ede5f46cf1396d2405917ab02e6f1eb1019f388396e",
                Some("1e597579-417e-482f-bf65-5fe170c3aebd"),
            ),
            // CRI-O, systemd driver (opencontainers/runc#4620)
            (
                "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-poda5c1f8d5_1919_434d_add7_4afaafdaef89.slice/crio-5eed917563583925ffdbd40a64efb2aaffe58638e57add8becaf460fe74f5b1c.scope",
                Runtime::CriO,
                "5eed917563583925ffdbd40a64efb2aaffe58638e57add8becaf460fe74f5b1c",
                Some("a5c1f8d5-1919-434d-add7-4afaafdaef89"),
            ),
            // dockershim, systemd driver (kontena/pharos-cluster#440)
            (
                "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod9692aa0e_748e_11e8_8dfa_76d458035df6.slice/docker-abddff03dfd7710c79a750ce3e730365cbb2c8247a974170c1062683bc3e9152.scope",
                Runtime::Docker,
                "abddff03dfd7710c79a750ce3e730365cbb2c8247a974170c1062683bc3e9152",
                Some("9692aa0e-748e-11e8-8dfa-76d458035df6"),
            ),
            // containerd's systemd cgroup name written as a path on a v1 host
            // (open-telemetry/opentelemetry-java#4507)
            (
                "/system.slice/containerd.service/kubepods-besteffort-pod0125ec2f_b64a_4868_8f5b_94b56cbab864.slice:cri-containerd:ee4b20e90ac7f42a10bd004d05646b13d8ab5e2c5e7cbc01abf8006bac016459",
                Runtime::Containerd,
                "ee4b20e90ac7f42a10bd004d05646b13d8ab5e2c5e7cbc01abf8006bac016459",
                Some("0125ec2f-b64a-4868-8f5b-94b56cbab864"),
            ),
        ];
        for (path, runtime, id, pod) in cases {
            let m = parse_cgroup_path(path).unwrap_or_else(|| panic!("{path}"));
            assert_eq!(
                (m.runtime, m.id.as_str(), m.pod_uid.as_deref()),
                (runtime, id, pod),
                "{path}"
            );
            assert!(
                path.ends_with(&m.container_cgroup),
                "{path}: {}",
                m.container_cgroup
            );
        }
    }

    #[test]
    fn id_in_the_path_is_the_one_returned() {
        let p = parse_cgroup_path(&format!("/system.slice/docker-{ID}.scope")).unwrap();
        assert_eq!(p.id, ID);
        let inner = ID.replace('4', "5");
        let p = parse_cgroup_path(&format!("/docker/{ID}/docker/{inner}")).unwrap();
        assert_eq!(p.id, inner);
    }
}
