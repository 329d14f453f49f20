//! What the runtimes leave on disk about a running container: runc's `state.json` (also written
//! by containerd's, Docker's and CRI-O's runc), crun's `status`, the OCI bundle's `config.json`
//! and Docker's `config.v2.json`, read into a [`ContainerInfo`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{ContainerInfo, Runtime};

/// The largest state or config file read (a runc `state.json` is a few tens of KiB).
const MAX_FILE: u64 = 4 << 20;

/// Annotation keys rampart reads, by who writes them.
pub mod keys {
    /// containerd CRI: the container name in the pod spec
    pub const CRI_CONTAINER_NAME: &str = "io.kubernetes.cri.container-name";
    /// containerd CRI: `sandbox` (the pause container) or `container`
    pub const CRI_CONTAINER_TYPE: &str = "io.kubernetes.cri.container-type";
    /// containerd CRI: the pod name
    pub const CRI_SANDBOX_NAME: &str = "io.kubernetes.cri.sandbox-name";
    /// containerd CRI: the pod namespace
    pub const CRI_SANDBOX_NAMESPACE: &str = "io.kubernetes.cri.sandbox-namespace";
    /// containerd CRI: the pod uid
    pub const CRI_SANDBOX_UID: &str = "io.kubernetes.cri.sandbox-uid";
    /// containerd CRI: the sandbox (pod) id
    pub const CRI_SANDBOX_ID: &str = "io.kubernetes.cri.sandbox-id";
    /// containerd CRI: the image reference the pod spec names
    pub const CRI_IMAGE_NAME: &str = "io.kubernetes.cri.image-name";
    /// CRI-O (and the kubelet's labels): the container name
    pub const K8S_CONTAINER_NAME: &str = "io.kubernetes.container.name";
    /// CRI-O (and the kubelet's labels): the pod name
    pub const K8S_POD_NAME: &str = "io.kubernetes.pod.name";
    /// CRI-O (and the kubelet's labels): the pod namespace
    pub const K8S_POD_NAMESPACE: &str = "io.kubernetes.pod.namespace";
    /// CRI-O (and the kubelet's labels): the pod uid
    pub const K8S_POD_UID: &str = "io.kubernetes.pod.uid";
    /// CRI-O: `sandbox` or `container`
    pub const CRIO_CONTAINER_TYPE: &str = "io.kubernetes.cri-o.ContainerType";
    /// CRI-O: the image reference the user gave
    pub const CRIO_IMAGE_NAME: &str = "io.kubernetes.cri-o.ImageName";
    /// CRI-O: the resolved image (an image id or a `name@sha256:` reference)
    pub const CRIO_IMAGE_REF: &str = "io.kubernetes.cri-o.ImageRef";
    /// CRI-O: the image id
    pub const CRIO_IMAGE: &str = "io.kubernetes.cri-o.Image";
    /// CRI-O: the runtime's name for the container
    pub const CRIO_NAME: &str = "io.kubernetes.cri-o.Name";
    /// OCI image-spec: the reference name (tag) of the image
    pub const OCI_REF_NAME: &str = "org.opencontainers.image.ref.name";
    /// OCI image-spec: the base image digest (not this image's; never used as its digest)
    pub const OCI_BASE_DIGEST: &str = "org.opencontainers.image.base.digest";
    /// rampart's own: the digest of the image a plain bundle was unpacked from (the manifest
    /// digest, or the config digest when there is no manifest), `sha256:<hex>`
    pub const RAMPART_IMAGE_DIGEST: &str = "io.rampart.image.digest";
    /// rampart's own: the image reference a plain bundle was unpacked from
    pub const RAMPART_IMAGE_REF: &str = "io.rampart.image.ref";
    /// rampart's own: a name for a plain bundle's container
    pub const RAMPART_NAME: &str = "io.rampart.container.name";
    /// Podman: the container name
    pub const PODMAN_NAME: &str = "io.podman.annotations.container.name";
}

/// Reads a small JSON file; `None` when missing, unreadable, too large or not JSON.
pub fn read_json(path: &Path) -> Option<Value> {
    use std::io::Read;
    let f = std::fs::File::open(path).ok()?;
    let mut buf = Vec::new();
    f.take(MAX_FILE).read_to_end(&mut buf).ok()?;
    serde_json::from_slice(&buf).ok()
}

fn str_of(v: &Value, key: &str) -> Option<String> {
    v.get(key)?
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Nanoseconds since the Unix epoch of an RFC 3339 time (`created` of runc and crun).
pub fn parse_time(s: &str) -> Option<u64> {
    let ts: jiff::Timestamp = s.parse().ok()?;
    u64::try_from(ts.as_nanosecond()).ok()
}

/// A container as its runtime's state directory describes it, before annotations are mapped.
#[derive(Debug, Clone, Default)]
pub struct RuntimeState {
    /// the state directory (`<root>/<id>`)
    pub dir: PathBuf,
    /// container id
    pub id: String,
    /// pid of the container's init process on the host
    pub init_pid: Option<u32>,
    /// the init process's start time in clock ticks since boot (`/proc/<pid>/stat` field 22)
    pub init_start: Option<u64>,
    /// creation time, ns since the epoch
    pub created: Option<u64>,
    /// the bundle directory
    pub bundle: Option<PathBuf>,
    /// the root filesystem, absolute (host view)
    pub rootfs: Option<PathBuf>,
    /// root mounted read-only
    pub readonly: bool,
    /// the cgroup v2 path (absolute within the cgroup2 hierarchy), when the state names it
    pub cgroup_v2: Option<String>,
    /// the cgroups path of any hierarchy (v1 fallback), relative to its mount
    pub cgroup_any: Option<String>,
    /// annotations (from the bundle's config.json, else runc's labels)
    pub annotations: BTreeMap<String, String>,
    /// bounding capabilities of the init process
    pub bounding_caps: Vec<String>,
    /// masked paths (a privileged container has none)
    pub masked_paths: usize,
    /// the state was read from crun's `status` (else runc's `state.json`)
    pub crun: bool,
}

/// Strips the mount point of a cgroup hierarchy from an absolute host path:
/// `/sys/fs/cgroup/unified/x` → `/x` when `mount` is `/sys/fs/cgroup/unified`.
fn under_mount(path: &str, mount: &Path) -> Option<String> {
    let rest = Path::new(path).strip_prefix(mount).ok()?;
    Some(format!("/{}", rest.to_string_lossy()))
}

/// Reads runc's `<dir>/state.json`.
pub fn read_runc_state(dir: &Path, cgroup2_mount: Option<&Path>) -> Option<RuntimeState> {
    let v = read_json(&dir.join("state.json"))?;
    let config = v.get("config").cloned().unwrap_or(Value::Null);
    let mut st = RuntimeState {
        dir: dir.to_path_buf(),
        id: str_of(&v, "id")?,
        init_pid: v
            .get("init_process_pid")
            .and_then(Value::as_u64)
            .and_then(|p| u32::try_from(p).ok()),
        init_start: v.get("init_process_start").and_then(Value::as_u64),
        created: str_of(&v, "created").as_deref().and_then(parse_time),
        rootfs: str_of(&config, "rootfs").map(PathBuf::from),
        readonly: config
            .get("readonlyfs")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        ..RuntimeState::default()
    };
    if let Some(paths) = v.get("cgroup_paths").and_then(Value::as_object) {
        if let (Some(p), Some(mount)) = (paths.get("").and_then(Value::as_str), cgroup2_mount) {
            st.cgroup_v2 = under_mount(p, mount);
        }
    }
    if let Some(cg) = config.get("cgroups") {
        st.cgroup_any = str_of(cg, "path").or_else(|| {
            // systemd driver: parent slice + scope name
            let parent = str_of(cg, "parent")?;
            let name = str_of(cg, "name")?;
            Some(format!("{parent}/{name}"))
        });
    }
    for label in config
        .get("labels")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some((k, val)) = label.as_str().and_then(|l| l.split_once('=')) {
            if k == "bundle" {
                st.bundle = Some(PathBuf::from(val));
            } else {
                st.annotations.insert(k.to_string(), val.to_string());
            }
        }
    }
    if let Some(caps) = config.get("capabilities").and_then(|c| c.get("Bounding")) {
        st.bounding_caps = strings(caps);
    }
    st.masked_paths = config
        .get("mask_paths")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    read_bundle(&mut st);
    Some(st)
}

/// Reads crun's `<dir>/status` (and the copy of config.json beside it).
pub fn read_crun_status(dir: &Path) -> Option<RuntimeState> {
    let v = read_json(&dir.join("status"))?;
    let id = dir.file_name()?.to_string_lossy().into_owned();
    let bundle = str_of(&v, "bundle").map(PathBuf::from);
    let rootfs = str_of(&v, "rootfs").map(|r| match &bundle {
        Some(b) if !r.starts_with('/') => b.join(r),
        _ => PathBuf::from(r),
    });
    let cgroup = str_of(&v, "cgroup-path").map(|p| {
        if p.starts_with('/') {
            p
        } else {
            format!("/{p}")
        }
    });
    let mut st = RuntimeState {
        dir: dir.to_path_buf(),
        id,
        init_pid: v
            .get("pid")
            .and_then(Value::as_u64)
            .and_then(|p| u32::try_from(p).ok()),
        init_start: v.get("process-start-time").and_then(Value::as_u64),
        created: str_of(&v, "created").as_deref().and_then(parse_time),
        bundle,
        rootfs,
        cgroup_v2: cgroup.clone(),
        cgroup_any: cgroup,
        crun: true,
        ..RuntimeState::default()
    };
    // crun keeps a copy of the config it ran
    if let Some(config) = read_json(&dir.join("config.json")) {
        apply_config(&mut st, &config);
    } else {
        read_bundle(&mut st);
    }
    Some(st)
}

/// Adds what the bundle's `config.json` says (annotations, read-only root, capabilities).
fn read_bundle(st: &mut RuntimeState) {
    let Some(bundle) = st.bundle.clone() else {
        return;
    };
    if let Some(config) = read_json(&bundle.join("config.json")) {
        apply_config(st, &config);
    }
}

fn apply_config(st: &mut RuntimeState, config: &Value) {
    if let Some(ann) = config.get("annotations").and_then(Value::as_object) {
        for (k, v) in ann {
            if let Some(v) = v.as_str() {
                st.annotations.insert(k.clone(), v.to_string());
            }
        }
    }
    if let Some(root) = config.get("root") {
        if let Some(ro) = root.get("readonly").and_then(Value::as_bool) {
            st.readonly = ro;
        }
        if st.rootfs.is_none() {
            if let (Some(p), Some(b)) = (str_of(root, "path"), &st.bundle) {
                st.rootfs = Some(b.join(p));
            }
        }
    }
    if st.bounding_caps.is_empty() {
        if let Some(caps) = config.pointer("/process/capabilities/bounding") {
            st.bounding_caps = strings(caps);
        }
        st.masked_paths = config
            .pointer("/linux/maskedPaths")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
    }
}

/// The strings of a JSON array (others skipped; not an array: none).
fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|c| c.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether an image string names a digest: `sha256:<64 hex>` alone or after `@`.
fn digest_of(reference: &str) -> Option<String> {
    let d = reference.rsplit_once('@').map_or(reference, |(_, d)| d);
    let hex = d.strip_prefix("sha256:")?;
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then(|| d.to_ascii_lowercase())
}

/// Builds the container's description from its runtime state: names, Kubernetes metadata and
/// the image from the annotations, by who wrote them (containerd CRI, CRI-O, OCI image-spec,
/// rampart's own, Docker's `config.v2.json` found under `docker_root`).
pub fn container_info(
    st: &RuntimeState,
    runtime_hint: Runtime,
    docker_root: Option<&Path>,
) -> ContainerInfo {
    let a = &st.annotations;
    let get = |k: &str| a.get(k).filter(|v| !v.is_empty()).cloned();
    let runtime = if runtime_hint != Runtime::Unknown {
        runtime_hint
    } else if a.contains_key(keys::CRI_CONTAINER_TYPE) || a.contains_key(keys::CRI_SANDBOX_ID) {
        Runtime::Containerd
    } else if a.keys().any(|k| k.starts_with("io.kubernetes.cri-o.")) {
        Runtime::CriO
    } else if a.keys().any(|k| k.starts_with("io.podman."))
        || a.get("io.container.manager").is_some_and(|m| m == "libpod")
    {
        Runtime::Podman
    } else if st.crun {
        Runtime::Crun
    } else {
        Runtime::Runc
    };
    let k8s_container = get(keys::CRI_CONTAINER_NAME).or_else(|| get(keys::K8S_CONTAINER_NAME));
    let mut info = ContainerInfo {
        id: st.id.clone(),
        runtime,
        name: get(keys::RAMPART_NAME)
            .or_else(|| get(keys::PODMAN_NAME))
            .or_else(|| get(keys::CRIO_NAME))
            .or_else(|| k8s_container.clone()),
        image: get(keys::CRI_IMAGE_NAME)
            .or_else(|| get(keys::CRIO_IMAGE_NAME))
            .or_else(|| get(keys::RAMPART_IMAGE_REF))
            .or_else(|| get(keys::OCI_REF_NAME)),
        image_digest: get(keys::RAMPART_IMAGE_DIGEST)
            .as_deref()
            .and_then(digest_of),
        pod_name: get(keys::CRI_SANDBOX_NAME).or_else(|| get(keys::K8S_POD_NAME)),
        pod_namespace: get(keys::CRI_SANDBOX_NAMESPACE).or_else(|| get(keys::K8S_POD_NAMESPACE)),
        pod_uid: get(keys::CRI_SANDBOX_UID).or_else(|| get(keys::K8S_POD_UID)),
        k8s_container_name: k8s_container,
        sandbox: get(keys::CRI_CONTAINER_TYPE)
            .or_else(|| get(keys::CRIO_CONTAINER_TYPE))
            .is_some_and(|t| t == "sandbox"),
        privileged: st.bounding_caps.iter().any(|c| c == "CAP_SYS_ADMIN") && st.masked_paths == 0,
        start_time: st.created,
        bundle: st.bundle.clone(),
        rootfs: st.rootfs.clone(),
        init_pid: st.init_pid,
        readonly_root: st.readonly,
        cgroup_path: st
            .cgroup_v2
            .clone()
            .or_else(|| st.cgroup_any.clone())
            .unwrap_or_default(),
        cgroup_id: 0,
        state_dir: Some(st.dir.clone()),
        annotations: st.annotations.clone(),
    };
    if info.image_digest.is_none() {
        info.image_digest = [
            keys::CRIO_IMAGE_REF,
            keys::CRIO_IMAGE,
            keys::CRI_IMAGE_NAME,
            keys::RAMPART_IMAGE_REF,
        ]
        .iter()
        .filter_map(|k| get(k))
        .find_map(|v| {
            digest_of(&v).or_else(|| {
                // CRI-O's ImageRef may be a bare image id (64 hex)
                (v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
                    .then(|| format!("sha256:{v}"))
            })
        });
    }
    if let Some(root) = docker_root {
        apply_docker(&mut info, root);
    }
    info
}

/// Adds Docker's view (`<root>/containers/<id>/config.v2.json` and `hostconfig.json`): the
/// container name, the image reference and the image id.
pub fn apply_docker(info: &mut ContainerInfo, docker_root: &Path) {
    let dir = docker_root.join("containers").join(&info.id);
    let Some(v) = read_json(&dir.join("config.v2.json")) else {
        return;
    };
    info.runtime = if info.pod_uid.is_some() {
        info.runtime
    } else {
        Runtime::Docker
    };
    if let Some(name) = str_of(&v, "Name") {
        info.name = Some(name.trim_start_matches('/').to_string());
    }
    if let Some(image) = v.get("Config").and_then(|c| str_of(c, "Image")) {
        info.image = Some(image);
    }
    if info.image_digest.is_none() {
        info.image_digest = str_of(&v, "Image").as_deref().and_then(digest_of);
    }
    if let Some(labels) = v.pointer("/Config/Labels").and_then(Value::as_object) {
        let label = |k: &str| labels.get(k).and_then(Value::as_str).map(str::to_string);
        // dockershim's labels carry the pod
        info.pod_name = info.pod_name.take().or_else(|| label(keys::K8S_POD_NAME));
        info.pod_namespace = info
            .pod_namespace
            .take()
            .or_else(|| label(keys::K8S_POD_NAMESPACE));
        info.pod_uid = info.pod_uid.take().or_else(|| label(keys::K8S_POD_UID));
        info.k8s_container_name = info
            .k8s_container_name
            .take()
            .or_else(|| label(keys::K8S_CONTAINER_NAME));
    }
    if let Some(h) = read_json(&dir.join("hostconfig.json")) {
        if let Some(p) = h.get("Privileged").and_then(Value::as_bool) {
            info.privileged = p;
        }
        if let Some(ro) = h.get("ReadonlyRootfs").and_then(Value::as_bool) {
            info.readonly_root = ro;
        }
    }
    if info.start_time.is_none() {
        info.start_time = v
            .pointer("/State/StartedAt")
            .and_then(Value::as_str)
            .and_then(parse_time);
    }
}

/// The container state directories below a state root: `<root>/<id>` (runc, crun) or
/// `<root>/<namespace>/<id>` (containerd's runc root, one directory per namespace).
pub fn scan_root(root: &Path, cgroup2_mount: Option<&Path>) -> Vec<RuntimeState> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(root) else {
        return out;
    };
    for e in entries.flatten() {
        let dir = e.path();
        if !dir.is_dir() {
            continue;
        }
        if let Some(st) = read_state_dir(&dir, cgroup2_mount) {
            out.push(st);
            continue;
        }
        // a namespace directory of containerd's runc root
        if let Ok(inner) = std::fs::read_dir(&dir) {
            for e in inner.flatten() {
                if let Some(st) = read_state_dir(&e.path(), cgroup2_mount) {
                    out.push(st);
                }
            }
        }
    }
    out
}

/// One container's state directory, runc's or crun's.
pub fn read_state_dir(dir: &Path, cgroup2_mount: Option<&Path>) -> Option<RuntimeState> {
    if dir.join("state.json").is_file() {
        read_runc_state(dir, cgroup2_mount)
    } else if dir.join("status").is_file() {
        read_crun_status(dir)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_from_references() {
        let hex = "a".repeat(64);
        assert_eq!(
            digest_of(&format!("docker.io/library/nginx@sha256:{hex}")),
            Some(format!("sha256:{hex}"))
        );
        assert_eq!(
            digest_of(&format!("sha256:{hex}")),
            Some(format!("sha256:{hex}"))
        );
        assert_eq!(digest_of("nginx:1.25"), None);
        assert_eq!(digest_of("sha256:abc"), None);
    }

    #[test]
    fn rfc3339_times() {
        assert_eq!(parse_time("1970-01-01T00:00:01.5Z"), Some(1_500_000_000));
        assert_eq!(
            parse_time("2026-12-06T03:59:13.479201475Z").map(|t| t % 1_000_000_000),
            Some(479_201_475)
        );
        assert_eq!(parse_time("yesterday"), None);
    }

    /// The annotations each runtime writes, mapped to the same fields (values as containerd's
    /// CRI plugin, CRI-O and the kubelet write them).
    #[test]
    fn annotations_of_containerd_and_crio() {
        let hex = "b".repeat(64);
        let mut st = RuntimeState {
            id: "c1".into(),
            ..RuntimeState::default()
        };
        for (k, v) in [
            (keys::CRI_CONTAINER_TYPE, "container"),
            (keys::CRI_CONTAINER_NAME, "web"),
            (keys::CRI_SANDBOX_NAME, "shop-7d9f"),
            (keys::CRI_SANDBOX_NAMESPACE, "prod"),
            (
                keys::CRI_SANDBOX_UID,
                "0f5a8c3e-7a0b-4f1e-9c57-2a9d6c3b1e42",
            ),
            (keys::CRI_IMAGE_NAME, "docker.io/library/nginx:1.25"),
        ] {
            st.annotations.insert(k.into(), v.into());
        }
        let i = container_info(&st, Runtime::Unknown, None);
        assert_eq!(i.runtime, Runtime::Containerd);
        assert_eq!(i.k8s_container_name.as_deref(), Some("web"));
        assert_eq!(i.pod_name.as_deref(), Some("shop-7d9f"));
        assert_eq!(i.pod_namespace.as_deref(), Some("prod"));
        assert_eq!(
            i.pod_uid.as_deref(),
            Some("0f5a8c3e-7a0b-4f1e-9c57-2a9d6c3b1e42")
        );
        assert_eq!(i.image.as_deref(), Some("docker.io/library/nginx:1.25"));
        assert_eq!(i.image_digest, None);
        assert!(!i.sandbox);

        let mut st = RuntimeState {
            id: "c2".into(),
            ..RuntimeState::default()
        };
        for (k, v) in [
            (keys::CRIO_CONTAINER_TYPE, "container"),
            (keys::K8S_CONTAINER_NAME, "api"),
            (keys::K8S_POD_NAME, "api-0"),
            (keys::K8S_POD_NAMESPACE, "default"),
            (keys::K8S_POD_UID, "uid-2"),
            (keys::CRIO_IMAGE_NAME, "quay.io/org/api:v2"),
            (
                keys::CRIO_IMAGE_REF,
                &format!("quay.io/org/api@sha256:{hex}"),
            ),
        ] {
            st.annotations.insert(k.into(), v.into());
        }
        let i = container_info(&st, Runtime::Unknown, None);
        assert_eq!(i.runtime, Runtime::CriO);
        assert_eq!(i.k8s_container_name.as_deref(), Some("api"));
        assert_eq!(i.pod_name.as_deref(), Some("api-0"));
        assert_eq!(i.image.as_deref(), Some("quay.io/org/api:v2"));
        assert_eq!(i.image_digest, Some(format!("sha256:{hex}")));

        // CRI-O's ImageRef as a bare image id
        st.annotations
            .insert(keys::CRIO_IMAGE_REF.into(), hex.clone());
        assert_eq!(
            container_info(&st, Runtime::Unknown, None).image_digest,
            Some(format!("sha256:{hex}"))
        );
    }

    /// crun's `status` (the fields libcrun writes: pid, process-start-time, cgroup-path, rootfs
    /// relative to the bundle, bundle, created) and the copy of config.json beside it. crun is
    /// not run here: it refuses hybrid cgroup hosts such as the development machines.
    #[test]
    fn crun_status_and_its_config_copy() {
        let dir = tempfile::tempdir().unwrap();
        let c = dir.path().join("busybox1");
        std::fs::create_dir(&c).unwrap();
        std::fs::write(
            c.join("status"),
            r#"{"pid": 139179, "process-start-time": 263473330, "cgroup-path": "/busybox1",
                "scope": "", "rootfs": "rootfs", "systemd-cgroup": false,
                "bundle": "/home/u/my_container", "created": "2021-08-29T14:34:52.000293421Z",
                "owner": "root", "detached": true, "external_descriptors": "[]"}"#,
        )
        .unwrap();
        std::fs::write(
            c.join("config.json"),
            r#"{"root": {"path": "rootfs", "readonly": true},
                "annotations": {"io.rampart.image.ref": "busybox:1"},
                "process": {"capabilities": {"bounding": ["CAP_KILL"]}},
                "linux": {"maskedPaths": ["/proc/kcore"]}}"#,
        )
        .unwrap();
        let roots = scan_root(dir.path(), None);
        assert_eq!(roots.len(), 1);
        let st = &roots[0];
        assert!(st.crun);
        assert_eq!(st.id, "busybox1");
        assert_eq!(st.init_pid, Some(139_179));
        assert_eq!(st.init_start, Some(263_473_330));
        assert_eq!(st.cgroup_v2.as_deref(), Some("/busybox1"));
        assert_eq!(
            st.rootfs.as_deref(),
            Some(Path::new("/home/u/my_container/rootfs"))
        );
        assert!(st.readonly);
        let info = container_info(st, Runtime::Crun, None);
        assert_eq!(info.runtime, Runtime::Crun);
        assert_eq!(info.image.as_deref(), Some("busybox:1"));
        assert!(!info.privileged);
        assert_eq!(
            info.start_time,
            parse_time("2021-08-29T14:34:52.000293421Z")
        );
    }

    /// Docker's `config.v2.json` and `hostconfig.json` (fields as dockerd writes them) name a
    /// container found by its cgroup layout.
    #[test]
    fn docker_config_names_the_container() {
        let root = tempfile::tempdir().unwrap();
        let id = "4b9ab8a6a3d1ef6d3b0c5e1d70e2d5a3c7f7e6a2a89f4a44c1c0f1e6d2b3c4d5";
        let image_id = format!("sha256:{}", "e".repeat(64));
        let dir = root.path().join("containers").join(id);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("config.v2.json"),
            format!(
                r#"{{"StreamConfig":{{}},"State":{{"Running":true,"Pid":4242,
                "StartedAt":"2026-12-06T04:00:00.5Z"}},"ID":"{id}","Created":"2026-12-06T03:59:59Z",
                "Path":"nginx","Args":["-g","daemon off;"],
                "Config":{{"Hostname":"4b9ab8a6a3d1","Image":"nginx:1.25","Labels":{{}}}},
                "Image":"{image_id}","Name":"/shop-web","Driver":"overlay2"}}"#
            ),
        )
        .unwrap();
        std::fs::write(
            dir.join("hostconfig.json"),
            r#"{"Binds":null,"NetworkMode":"bridge","Privileged":true,"ReadonlyRootfs":true}"#,
        )
        .unwrap();
        let m = crate::identity::parse_cgroup_path(&format!("/system.slice/docker-{id}.scope"))
            .unwrap();
        let mut info = ContainerInfo::from_path(&m);
        apply_docker(&mut info, root.path());
        assert_eq!(info.runtime, Runtime::Docker);
        assert_eq!(info.name.as_deref(), Some("shop-web"));
        assert_eq!(info.image.as_deref(), Some("nginx:1.25"));
        assert_eq!(info.image_digest.as_deref(), Some(image_id.as_str()));
        assert!(info.privileged);
        assert!(info.readonly_root);
        assert_eq!(info.start_time, parse_time("2026-12-06T04:00:00.5Z"));
    }

    #[test]
    fn broken_state_files_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        for (name, file, body) in [
            ("a", "state.json", "{not json"),
            ("b", "state.json", r#"{"no_id": 1}"#),
            ("c", "status", "[]"),
        ] {
            std::fs::create_dir(dir.path().join(name)).unwrap();
            std::fs::write(dir.path().join(name).join(file), body).unwrap();
        }
        // `c` has no pid: read but never alive; `a` and `b` are not containers
        let ids: Vec<String> = scan_root(dir.path(), None)
            .into_iter()
            .map(|s| s.id)
            .collect();
        assert_eq!(ids, vec!["c".to_string()]);
    }

    #[test]
    fn rampart_annotations_for_plain_bundles() {
        let hex = "c".repeat(64);
        let mut st = RuntimeState {
            id: "p".into(),
            ..RuntimeState::default()
        };
        st.annotations.insert(
            keys::RAMPART_IMAGE_REF.into(),
            "registry.local/app:1".into(),
        );
        st.annotations
            .insert(keys::RAMPART_IMAGE_DIGEST.into(), format!("sha256:{hex}"));
        st.annotations.insert(
            keys::OCI_BASE_DIGEST.into(),
            format!("sha256:{}", "d".repeat(64)),
        );
        let i = container_info(&st, Runtime::Unknown, None);
        assert_eq!(i.runtime, Runtime::Runc);
        assert_eq!(i.image.as_deref(), Some("registry.local/app:1"));
        assert_eq!(i.image_digest, Some(format!("sha256:{hex}")));
    }
}
