//! Container identity: which container an event comes from, from its cgroup id (what the
//! sensor reads with `bpf_get_current_cgroup_id()`) and pid.
//!
//! [`ContainerResolver::resolve`] is a hash lookup once a cgroup is known. A cgroup id never
//! seen before is resolved synchronously, so a container's first exec is attributed: the
//! process's `/proc/<pid>/cgroup`, or, when the process is already gone, the cgroup id → path
//! index built by walking the cgroup2 tree (rebuilt on a miss); then the path is matched with
//! the containers of the runtimes' state directories (runc, crun; containerd's, Docker's, CRI-O's
//! and Podman's runc roots) and, failing that, with the cgroup path layouts of each runtime
//! ([`layout`]). Containers already running are found when the resolver starts. See
//! docs/monitor-identity.md.

pub mod cgroup;
pub mod layout;
pub mod state;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use serde::Serialize;

pub use layout::{PathMatch, parse_cgroup_path};

/// The container runtime (or engine) that made a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Runtime {
    /// containerd (CRI plugin or ctr)
    Containerd,
    /// CRI-O
    #[serde(rename = "cri-o")]
    CriO,
    /// Docker (moby)
    Docker,
    /// Podman (libpod)
    Podman,
    /// plain runc
    Runc,
    /// plain crun
    Crun,
    /// a cgroup that names a container id but no runtime
    Unknown,
}

impl Runtime {
    /// The name Falco uses for `container.type`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Containerd => "containerd",
            Self::CriO => "cri-o",
            Self::Docker => "docker",
            Self::Podman => "podman",
            Self::Runc => "runc",
            Self::Crun => "crun",
            Self::Unknown => "unknown",
        }
    }
}

/// What is known about one container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContainerInfo {
    /// the container id (the runtime's; 64 hex digits for Docker, containerd and CRI-O)
    pub id: String,
    /// the runtime
    pub runtime: Runtime,
    /// a name: Docker's or Podman's, CRI-O's, rampart's annotation, else the Kubernetes
    /// container name
    pub name: Option<String>,
    /// the image reference (as the pod spec, `docker run` or the bundle's annotation named it)
    pub image: Option<String>,
    /// a digest naming the image, `sha256:<hex>`: the manifest digest when the reference pins
    /// one or `io.rampart.image.digest` gives it, else the image id (config digest) the runtime
    /// records (CRI-O's `ImageRef`, Docker's `Image`)
    pub image_digest: Option<String>,
    /// Kubernetes pod name
    pub pod_name: Option<String>,
    /// Kubernetes namespace
    pub pod_namespace: Option<String>,
    /// Kubernetes pod uid
    pub pod_uid: Option<String>,
    /// the container's name in the pod spec
    pub k8s_container_name: Option<String>,
    /// the pod's sandbox (pause) container
    pub sandbox: bool,
    /// privileged: CAP_SYS_ADMIN in the bounding set and no masked paths (what
    /// `privileged: true` and `docker run --privileged` produce), or Docker's own flag
    pub privileged: bool,
    /// creation time, ns since the Unix epoch
    pub start_time: Option<u64>,
    /// the OCI bundle directory
    pub bundle: Option<PathBuf>,
    /// the root filesystem as the host sees it
    pub rootfs: Option<PathBuf>,
    /// pid of the container's init process on the host
    pub init_pid: Option<u32>,
    /// the root filesystem is mounted read-only
    pub readonly_root: bool,
    /// the container's cgroup v2 path (relative to the cgroup2 mount)
    pub cgroup_path: String,
    /// the container's cgroup id (0 when its cgroup could not be found)
    pub cgroup_id: u64,
    /// the runtime state directory it was read from
    pub state_dir: Option<PathBuf>,
    /// the bundle's annotations
    pub annotations: BTreeMap<String, String>,
}

impl ContainerInfo {
    /// A container known only from its cgroup path's shape.
    pub(crate) fn from_path(m: &PathMatch) -> Self {
        Self {
            id: m.id.clone(),
            runtime: m.runtime,
            name: None,
            image: None,
            image_digest: None,
            pod_name: None,
            pod_namespace: None,
            pod_uid: m.pod_uid.clone(),
            k8s_container_name: None,
            sandbox: false,
            privileged: false,
            start_time: None,
            bundle: None,
            rootfs: None,
            init_pid: None,
            readonly_root: false,
            cgroup_path: m.container_cgroup.clone(),
            cgroup_id: 0,
            state_dir: None,
            annotations: BTreeMap::new(),
        }
    }

    /// The short id Falco prints (`container.id`: the first 12 characters).
    pub fn short_id(&self) -> &str {
        self.id.get(..12).unwrap_or(&self.id)
    }

    /// The image repository, as Falco's `container.image.repository`: the reference without its
    /// tag and digest (`docker.io/library/nginx` of `docker.io/library/nginx:1.25@sha256:…`).
    pub fn image_repository(&self) -> Option<&str> {
        let image = self.image.as_deref()?;
        let name = image.split_once('@').map_or(image, |(n, _)| n);
        Some(match name.rsplit_once(':') {
            Some((repo, tag)) if !tag.contains('/') => repo,
            _ => name,
        })
    }

    /// The image tag, as Falco's `container.image.tag` (`None` when the reference has none).
    pub fn image_tag(&self) -> Option<&str> {
        let image = self.image.as_deref()?;
        let name = image.split_once('@').map_or(image, |(n, _)| n);
        match name.rsplit_once(':') {
            Some((_, tag)) if !tag.contains('/') => Some(tag),
            _ => None,
        }
    }
}

/// Who an event belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// a process of the host (Falco's `container.id = host`)
    Host,
    /// a container
    Container(Arc<ContainerInfo>),
    /// the cgroup could not be found any more (the process and its cgroup were gone before the
    /// event was read): not attributed, never guessed
    Unknown,
}

impl Identity {
    /// `host`, the container id, or `""` when unknown.
    pub fn id(&self) -> &str {
        match self {
            Self::Host => "host",
            Self::Container(c) => &c.id,
            Self::Unknown => "",
        }
    }

    /// The container, if this is one.
    pub fn container(&self) -> Option<&Arc<ContainerInfo>> {
        match self {
            Self::Container(c) => Some(c),
            _ => None,
        }
    }
}

/// The runtime a state root belongs to, by its conventional location: containerd's runc shims
/// keep `<state>/runc/<namespace>` (`/run/containerd/runc`), Docker's `/run/docker/runtime-runc`.
/// Other roots (`/run/runc`, shared by plain runc, CRI-O and Podman) tell nothing: the
/// annotations decide.
fn runtime_of_root(root: &Path, crun: bool) -> Runtime {
    let text = root.to_string_lossy();
    if text.contains("/containerd/") || text.ends_with("/containerd") {
        Runtime::Containerd
    } else if text.contains("/docker/") {
        Runtime::Docker
    } else if crun {
        Runtime::Crun
    } else {
        Runtime::Unknown
    }
}

/// Where the resolver looks.
#[derive(Debug, Clone)]
pub struct ResolverConfig {
    /// `/proc` (a different root for tests, or a host /proc mounted in a pod)
    pub proc_root: PathBuf,
    /// the cgroup2 mount; `None`: found in `/proc/self/mountinfo`
    pub cgroup2_mount: Option<PathBuf>,
    /// runtime state roots, each `<root>/<id>` or `<root>/<namespace>/<id>`
    pub state_roots: Vec<PathBuf>,
    /// Docker's data root (`/var/lib/docker`), for `config.v2.json`
    pub docker_root: Option<PathBuf>,
    /// the most cgroups cached; beyond it, vanished cgroups are dropped, then host ones
    pub max_entries: usize,
}

/// The state roots of the runtimes by default: runc (also CRI-O's and Podman's runc), crun,
/// containerd's runc shims (one directory per namespace: `k8s.io`, `moby`, `default`), Docker's
/// runc root.
pub const DEFAULT_STATE_ROOTS: [&str; 5] = [
    "/run/runc",
    "/run/crun",
    "/run/containerd/runc",
    "/run/docker/runtime-runc",
    "/run/user/0/runc",
];

impl Default for ResolverConfig {
    fn default() -> Self {
        Self {
            proc_root: PathBuf::from("/proc"),
            cgroup2_mount: None,
            state_roots: DEFAULT_STATE_ROOTS.iter().map(PathBuf::from).collect(),
            docker_root: Some(PathBuf::from("/var/lib/docker")),
            max_entries: 65_536,
        }
    }
}

/// Errors of the resolver.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// no cgroup2 hierarchy is mounted (cgroup v1 only): cgroup ids cannot be mapped
    #[error("no cgroup2 hierarchy is mounted (looked in {0}/self/mountinfo)")]
    NoCgroup2(String),
}

#[derive(Debug, Clone)]
struct Entry {
    identity: Identity,
    path: String,
    /// a host verdict given after start-up stays provisional for a while: a plain runc
    /// container's cgroup (any path) holds `runc init` before its state file is written
    provisional_until: Option<Instant>,
}

/// How long a host verdict on a new cgroup is re-checked against new state directories.
const PROVISIONAL: Duration = Duration::from_secs(30);
/// The shortest interval between two rescans of the state roots on behalf of provisional
/// verdicts.
const RESCAN_INTERVAL: Duration = Duration::from_millis(20);

/// The slow-path state, behind one lock: the known containers and the cgroup index.
#[derive(Default)]
struct Known {
    /// container cgroup path → container
    by_path: HashMap<String, Arc<ContainerInfo>>,
    /// container id → container
    by_id: HashMap<String, Arc<ContainerInfo>>,
    /// cgroup id → path, from the last walk of the tree
    index: HashMap<u64, String>,
}

/// Counters of the resolver's work.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ResolverStats {
    /// lookups answered from the cache
    pub hits: u64,
    /// cgroups resolved on their first event
    pub misses: u64,
    /// of which through the cgroup index (the process was already gone)
    pub via_index: u64,
    /// cgroups that could not be found at all
    pub unknown: u64,
    /// walks of the cgroup tree
    pub index_walks: u64,
    /// rescans of the state roots
    pub state_scans: u64,
}

#[derive(Default)]
struct Stats {
    hits: AtomicU64,
    misses: AtomicU64,
    via_index: AtomicU64,
    unknown: AtomicU64,
    index_walks: AtomicU64,
    state_scans: AtomicU64,
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// Maps cgroup ids and pids to containers. Thread-safe: `resolve` takes a read lock on the hit
/// path; a miss is resolved under one mutex so that concurrent first events of one container
/// resolve it once.
pub struct ContainerResolver {
    config: ResolverConfig,
    mount: PathBuf,
    cache: RwLock<HashMap<u64, Entry>>,
    known: Mutex<Known>,
    stats: Stats,
    last_scan: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for ContainerResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContainerResolver")
            .field("mount", &self.mount)
            .finish_non_exhaustive()
    }
}

fn lock_read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}
fn lock_write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(std::sync::PoisonError::into_inner)
}
fn lock<T>(l: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    l.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl ContainerResolver {
    /// A resolver that has found every running container: the state roots are scanned, then
    /// every process of `/proc` whose cgroup names a container by its layout.
    pub fn new(config: ResolverConfig) -> Result<Self, IdentityError> {
        let mount = match &config.cgroup2_mount {
            Some(m) => m.clone(),
            None => cgroup::cgroup2_mount(&config.proc_root)
                .ok_or_else(|| IdentityError::NoCgroup2(config.proc_root.display().to_string()))?,
        };
        let resolver = Self {
            config,
            mount,
            cache: RwLock::new(HashMap::new()),
            known: Mutex::new(Known::default()),
            stats: Stats::default(),
            last_scan: Mutex::new(None),
        };
        resolver.startup_scan();
        Ok(resolver)
    }

    /// The cgroup2 mount in use.
    pub fn cgroup2_mount(&self) -> &Path {
        &self.mount
    }

    /// Who the event of a task in cgroup `cgroup_id` (and thread group `pid`, when known) belongs
    /// to. A hash lookup when the cgroup was seen before; else resolved now and cached.
    pub fn resolve(&self, cgroup_id: u64, pid: Option<u32>) -> Identity {
        self.resolve_with(cgroup_id, pid, false)
    }

    /// [`Self::resolve`] for an exec: a provisional host verdict is re-checked against the
    /// state roots now, not after [`RESCAN_INTERVAL`]. A container's first exec (its
    /// entrypoint) comes a few milliseconds after runc wrote its state, often within the
    /// interval of the rescan its init's first events caused; execs are rare enough to pay it.
    pub fn resolve_exec(&self, cgroup_id: u64, pid: Option<u32>) -> Identity {
        self.resolve_with(cgroup_id, pid, true)
    }

    fn resolve_with(&self, cgroup_id: u64, pid: Option<u32>, force: bool) -> Identity {
        let recheck = match lock_read(&self.cache).get(&cgroup_id) {
            Some(e) => match e.provisional_until {
                Some(until) if Instant::now() < until => Some(e.path.clone()),
                _ => {
                    bump(&self.stats.hits);
                    return e.identity.clone();
                }
            },
            None => None,
        };
        match recheck {
            Some(path) => self.recheck(cgroup_id, path, force),
            None => self.resolve_slow(cgroup_id, pid),
        }
    }

    /// A provisional host verdict: is the cgroup a container's now that its state may exist?
    fn recheck(&self, cgroup_id: u64, path: String, force: bool) -> Identity {
        let due = {
            let mut last = lock(&self.last_scan);
            let due = force || last.is_none_or(|t| t.elapsed() >= RESCAN_INTERVAL);
            if due {
                *last = Some(Instant::now());
            }
            due
        };
        if due {
            self.scan_states();
        }
        match self.known_ancestor(&path) {
            Some(c) => {
                let identity = Identity::Container(c);
                self.insert(cgroup_id, path, identity.clone(), None);
                identity
            }
            None => Identity::Host,
        }
    }

    /// The identity of a process by pid alone (its current cgroup).
    pub fn resolve_pid(&self, pid: u32) -> Identity {
        let Some(path) = cgroup::proc_cgroup(&self.config.proc_root, pid) else {
            return Identity::Unknown;
        };
        match cgroup::cgroup_id(&self.mount, &path) {
            Some(id) => self.resolve(id, Some(pid)),
            None => Identity::Unknown,
        }
    }

    /// Every container known (running when last seen), sorted by id.
    pub fn containers(&self) -> Vec<Arc<ContainerInfo>> {
        let known = lock(&self.known);
        let mut v: Vec<_> = known.by_id.values().cloned().collect();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    }

    /// A known container by id (full id or a unique prefix of at least 12 characters).
    pub fn container(&self, id: &str) -> Option<Arc<ContainerInfo>> {
        let known = lock(&self.known);
        if let Some(c) = known.by_id.get(id) {
            return Some(c.clone());
        }
        if id.len() < 12 {
            return None;
        }
        let mut found = known.by_id.values().filter(|c| c.id.starts_with(id));
        let first = found.next()?;
        found.next().is_none().then(|| first.clone())
    }

    /// Counters.
    pub fn stats(&self) -> ResolverStats {
        let s = &self.stats;
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        ResolverStats {
            hits: get(&s.hits),
            misses: get(&s.misses),
            via_index: get(&s.via_index),
            unknown: get(&s.unknown),
            index_walks: get(&s.index_walks),
            state_scans: get(&s.state_scans),
        }
    }

    /// The number of cgroups cached.
    pub fn cached(&self) -> usize {
        lock_read(&self.cache).len()
    }

    /// Drops the cgroups that no longer exist (or whose directory now has another id) and the
    /// containers in them; returns how many cgroups were dropped. Call it periodically (each
    /// few seconds) or on a cgroup-removal event.
    pub fn prune(&self) -> usize {
        let gone: Vec<u64> = lock_read(&self.cache)
            .iter()
            .filter(|(id, e)| cgroup::cgroup_id(&self.mount, &e.path) != Some(**id))
            .map(|(id, _)| *id)
            .collect();
        if gone.is_empty() {
            return 0;
        }
        // lock order everywhere: `known` before `cache`, never both the other way round
        let removed: Vec<Entry> = {
            let mut cache = lock_write(&self.cache);
            gone.iter().filter_map(|id| cache.remove(id)).collect()
        };
        let mut known = lock(&self.known);
        for id in &gone {
            known.index.remove(id);
        }
        drop(removed);
        // containers whose cgroup is gone (also those attributed through a nested cgroup)
        let mount = &self.mount;
        known
            .by_id
            .retain(|_, c| cgroup::cgroup_id(mount, &c.cgroup_path).is_some());
        known
            .by_path
            .retain(|_, c| cgroup::cgroup_id(mount, &c.cgroup_path).is_some());
        gone.len()
    }

    /// Forgets one cgroup (its removal was observed); its container goes at the next `prune`.
    pub fn forget(&self, cgroup_id: u64) {
        lock_write(&self.cache).remove(&cgroup_id);
    }

    fn startup_scan(&self) {
        self.scan_states();
        // processes in containers whose runtime state is not readable here (another runtime
        // root, a container engine's private directory): found by their cgroup's layout
        let Ok(entries) = std::fs::read_dir(&self.config.proc_root) else {
            return;
        };
        let mut seen = std::collections::HashSet::new();
        for e in entries.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            let Some(path) = cgroup::proc_cgroup(&self.config.proc_root, pid) else {
                continue;
            };
            if !seen.insert(path.clone()) {
                continue;
            }
            if let Some(id) = cgroup::cgroup_id(&self.mount, &path) {
                let identity = self.identify_path(&path, false);
                self.insert(id, path, identity, None);
            }
        }
    }

    /// Reads every state root; registers the containers whose init process is alive.
    fn scan_states(&self) {
        bump(&self.stats.state_scans);
        let mut found = Vec::new();
        for root in &self.config.state_roots {
            for st in state::scan_root(root, Some(&self.mount)) {
                let alive = match (st.init_pid, st.init_start) {
                    (Some(pid), Some(start)) => {
                        cgroup::start_time(&self.config.proc_root, pid) == Some(start)
                    }
                    (Some(pid), None) => self.config.proc_root.join(pid.to_string()).exists(),
                    _ => false,
                };
                if !alive {
                    continue;
                }
                let hint = runtime_of_root(root, st.crun);
                let mut info = state::container_info(&st, hint, self.config.docker_root.as_deref());
                // the init process tells the cgroup v2 path when the state does not (v1 paths,
                // crun's relative path, a systemd scope)
                if st.cgroup_v2.is_none()
                    || cgroup::cgroup_id(&self.mount, &info.cgroup_path).is_none()
                {
                    if let Some(p) = st
                        .init_pid
                        .and_then(|pid| cgroup::proc_cgroup(&self.config.proc_root, pid))
                    {
                        info.cgroup_path = p;
                    }
                }
                if let Some(m) = parse_cgroup_path(&info.cgroup_path) {
                    if info.pod_uid.is_none() {
                        info.pod_uid = m.pod_uid;
                    }
                    if info.runtime == Runtime::Runc
                        && m.runtime != Runtime::Unknown
                        && m.id == info.id
                    {
                        info.runtime = m.runtime;
                    }
                }
                info.cgroup_id = cgroup::cgroup_id(&self.mount, &info.cgroup_path).unwrap_or(0);
                found.push(Arc::new(info));
            }
        }
        let mut known = lock(&self.known);
        for c in found {
            // a state read again replaces the earlier (the same container), never the cache's
            // Arc identity of a container already attributed
            if known.by_id.get(&c.id).is_some_and(|old| **old == *c) {
                continue;
            }
            known.by_path.insert(c.cgroup_path.clone(), c.clone());
            known.by_id.insert(c.id.clone(), c.clone());
            if c.cgroup_id != 0 {
                drop(known);
                self.insert(
                    c.cgroup_id,
                    c.cgroup_path.clone(),
                    Identity::Container(c.clone()),
                    None,
                );
                known = lock(&self.known);
            }
        }
    }

    fn insert(
        &self,
        id: u64,
        path: String,
        identity: Identity,
        provisional_until: Option<Instant>,
    ) {
        let mut cache = lock_write(&self.cache);
        if cache.len() >= self.config.max_entries {
            // bounded: drop vanished cgroups, then host entries (re-resolved cheaply on demand)
            cache.retain(|cid, e| cgroup::cgroup_id(&self.mount, &e.path) == Some(*cid));
            if cache.len() >= self.config.max_entries {
                cache.retain(|_, e| matches!(e.identity, Identity::Container(_)));
            }
            if cache.len() >= self.config.max_entries {
                cache.clear();
            }
        }
        cache.insert(
            id,
            Entry {
                identity,
                path,
                provisional_until,
            },
        );
    }

    fn resolve_slow(&self, cgroup_id: u64, pid: Option<u32>) -> Identity {
        // one slow path at a time: concurrent first events of a container resolve it once
        let mut known = lock(&self.known);
        if let Some(e) = lock_read(&self.cache).get(&cgroup_id) {
            if e.provisional_until.is_none() {
                return e.identity.clone();
            }
        }
        bump(&self.stats.misses);
        let mut path = pid
            .and_then(|pid| cgroup::proc_cgroup(&self.config.proc_root, pid))
            .filter(|p| cgroup::cgroup_id(&self.mount, p) == Some(cgroup_id));
        if path.is_none() {
            path = known.index.get(&cgroup_id).cloned();
            if path.is_none() {
                bump(&self.stats.index_walks);
                known.index = cgroup::index(&self.mount);
                path = known.index.get(&cgroup_id).cloned();
            }
            if path.is_some() {
                bump(&self.stats.via_index);
            }
        }
        drop(known);
        let Some(path) = path else {
            bump(&self.stats.unknown);
            return Identity::Unknown;
        };
        let identity = self.identify_path(&path, true);
        let provisional = (identity == Identity::Host).then(|| Instant::now() + PROVISIONAL);
        self.insert(cgroup_id, path, identity.clone(), provisional);
        identity
    }

    /// The container a cgroup path belongs to: a known container's cgroup or an ancestor of it
    /// (nested cgroups), a state directory read again, or the path's layout.
    fn identify_path(&self, path: &str, rescan: bool) -> Identity {
        if let Some(c) = self.known_ancestor(path) {
            return Identity::Container(c);
        }
        let layout = parse_cgroup_path(path);
        // a container created since the last scan: its state directory exists before its
        // first process runs
        if rescan {
            *lock(&self.last_scan) = Some(Instant::now());
            self.scan_states();
            if let Some(c) = self.known_ancestor(path) {
                return Identity::Container(c);
            }
        }
        let Some(m) = layout else {
            return Identity::Host;
        };
        let mut known = lock(&self.known);
        if let Some(c) = known.by_id.get(&m.id) {
            return Identity::Container(c.clone());
        }
        let mut info = ContainerInfo::from_path(&m);
        if let Some(root) = &self.config.docker_root {
            state::apply_docker(&mut info, root);
        }
        info.cgroup_id = cgroup::cgroup_id(&self.mount, &info.cgroup_path).unwrap_or(0);
        let c = Arc::new(info);
        known.by_id.insert(c.id.clone(), c.clone());
        known.by_path.insert(c.cgroup_path.clone(), c.clone());
        Identity::Container(c)
    }

    fn known_ancestor(&self, path: &str) -> Option<Arc<ContainerInfo>> {
        let known = lock(&self.known);
        let mut p = path;
        loop {
            if let Some(c) = known.by_path.get(p) {
                return Some(c.clone());
            }
            match p.rsplit_once('/') {
                Some(("", _)) | None => return None,
                Some((parent, _)) => p = parent,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_repository_and_tag_as_falco_splits_them() {
        let mut c = ContainerInfo::from_path(&PathMatch {
            runtime: Runtime::Docker,
            id: "0123456789abcdef".into(),
            pod_uid: None,
            container_cgroup: "/docker/0123456789abcdef".into(),
        });
        assert_eq!(c.short_id(), "0123456789ab");
        let d = format!("sha256:{}", "a".repeat(64));
        for (image, repo, tag) in [
            (
                "docker.io/library/nginx:1.25",
                "docker.io/library/nginx",
                Some("1.25"),
            ),
            ("localhost:5000/app", "localhost:5000/app", None),
            ("localhost:5000/app:v2", "localhost:5000/app", Some("v2")),
            (&format!("quay.io/org/api@{d}"), "quay.io/org/api", None),
            (&format!("nginx:1@{d}"), "nginx", Some("1")),
        ] {
            c.image = Some(image.to_string());
            assert_eq!(
                (c.image_repository(), c.image_tag()),
                (Some(repo), tag),
                "{image}"
            );
        }
    }
}
