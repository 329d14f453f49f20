//! Container identity on real runc containers: cgroup ids resolved to the right container from
//! the first event, annotations mapped, containers found at start-up and after a restart,
//! exited processes resolved through the cgroup index, host processes as `host`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::time::Instant;

use rampart_monitor::identity::{ContainerResolver, Identity, ResolverConfig, Runtime};
use rampart_testkit::runc::{Bundle, Container, StateRoot};

fn config(roots: &[PathBuf]) -> ResolverConfig {
    ResolverConfig {
        state_roots: roots.to_vec(),
        ..ResolverConfig::default()
    }
}

/// The cgroup id the kernel gives a process's events: the inode of its cgroup2 directory.
fn cgroup_id_of(pid: u32) -> u64 {
    let mount = rampart_monitor::identity::cgroup::cgroup2_mount("/proc".as_ref()).unwrap();
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let path = text.lines().find_map(|l| l.strip_prefix("0::")).unwrap();
    std::fs::metadata(mount.join(path.trim_start_matches('/')))
        .unwrap()
        .ino()
}

/// A process started in the container that stays (its host pid).
fn worker(c: &Container) -> u32 {
    c.exec_detached(&["sleep", "100000"]);
    let init = c.pid;
    for _ in 0..100 {
        if let Some(p) = c.pids().into_iter().find(|p| *p != init) {
            return p;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("no worker process in {}", c.id)
}

fn container(id: &Identity) -> &rampart_monitor::identity::ContainerInfo {
    id.container()
        .unwrap_or_else(|| panic!("not a container: {id:?}"))
}

#[test]
fn concurrent_containers_resolved_from_their_first_event_with_annotations() {
    let a_bundle = Bundle::busybox()
        .annotation("io.kubernetes.cri.container-type", "container")
        .annotation("io.kubernetes.cri.container-name", "web")
        .annotation("io.kubernetes.cri.sandbox-name", "shop-5c7d")
        .annotation("io.kubernetes.cri.sandbox-namespace", "prod")
        .annotation(
            "io.kubernetes.cri.sandbox-uid",
            "0f5a8c3e-7a0b-4f1e-9c57-2a9d6c3b1e42",
        )
        .annotation(
            "io.kubernetes.cri.image-name",
            "docker.io/library/busybox:1.36",
        )
        .build();
    let b_bundle = Bundle::busybox()
        .annotation("io.kubernetes.container.name", "api")
        .annotation("io.kubernetes.pod.name", "api-0")
        .annotation("io.kubernetes.pod.namespace", "default")
        .annotation(
            "io.kubernetes.pod.uid",
            "1e2d3c4b-0000-4000-8000-000000000001",
        )
        .annotation("io.kubernetes.cri-o.ContainerType", "container")
        .annotation("io.kubernetes.cri-o.ImageName", "quay.io/org/api:v2")
        .annotation(
            "io.kubernetes.cri-o.ImageRef",
            &format!("quay.io/org/api@sha256:{}", "ab".repeat(32)),
        )
        .readonly(true)
        .build();
    let p_bundle = Bundle::busybox().privileged(true).build();
    let a = a_bundle.run(StateRoot::Private);
    let p = p_bundle.run(StateRoot::Private);
    let b = b_bundle.run(StateRoot::Private);
    let resolver =
        ContainerResolver::new(config(&[a.root.clone(), b.root.clone(), p.root.clone()])).unwrap();
    let privileged = resolver.resolve(cgroup_id_of(p.pid), Some(p.pid));
    assert!(container(&privileged).privileged);

    // processes started after the resolver: their first event resolves them
    let (pa, pb) = (worker(&a), worker(&b));
    let (ga, gb) = (cgroup_id_of(pa), cgroup_id_of(pb));
    assert_ne!(ga, gb);
    let ia = resolver.resolve(ga, Some(pa));
    let ib = resolver.resolve(gb, Some(pb));
    let (ca, cb) = (container(&ia), container(&ib));
    assert_eq!(ca.id, a.id);
    assert_eq!(cb.id, b.id);
    assert_eq!(ca.cgroup_id, ga);
    assert_eq!(ca.init_pid, Some(a.pid));
    assert_eq!(ca.bundle.as_deref(), Some(a_bundle.dir.as_path()));
    assert_eq!(ca.rootfs.as_deref(), Some(a_bundle.rootfs.as_path()));
    assert!(!ca.readonly_root);
    assert!(cb.readonly_root);
    assert!(!ca.privileged, "runc spec's default is unprivileged");
    assert!(ca.start_time.is_some());

    assert_eq!(ca.runtime, Runtime::Containerd);
    assert_eq!(ca.k8s_container_name.as_deref(), Some("web"));
    assert_eq!(ca.pod_name.as_deref(), Some("shop-5c7d"));
    assert_eq!(ca.pod_namespace.as_deref(), Some("prod"));
    assert_eq!(
        ca.pod_uid.as_deref(),
        Some("0f5a8c3e-7a0b-4f1e-9c57-2a9d6c3b1e42")
    );
    assert_eq!(ca.image.as_deref(), Some("docker.io/library/busybox:1.36"));

    assert_eq!(cb.runtime, Runtime::CriO);
    assert_eq!(cb.k8s_container_name.as_deref(), Some("api"));
    assert_eq!(cb.pod_name.as_deref(), Some("api-0"));
    assert_eq!(cb.pod_namespace.as_deref(), Some("default"));
    assert_eq!(cb.image.as_deref(), Some("quay.io/org/api:v2"));
    assert_eq!(
        cb.image_digest.as_deref(),
        Some(format!("sha256:{}", "ab".repeat(32)).as_str())
    );

    // the init process and the worker share the cgroup: one container
    assert_eq!(
        resolver.resolve(cgroup_id_of(a.pid), Some(a.pid)).id(),
        a.id
    );
    // host processes
    assert_eq!(resolver.resolve_pid(std::process::id()), Identity::Host);
    assert_eq!(resolver.resolve(cgroup_id_of(1), Some(1)), Identity::Host);

    // figures: a cached event is a hash lookup
    let n = 200_000u32;
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(resolver.resolve(ga, Some(pa)));
    }
    eprintln!(
        "figure: cached resolve {:.0} ns/event",
        t.elapsed().as_nanos() as f64 / f64::from(n)
    );
}

#[test]
fn containers_running_before_the_resolver_and_after_a_restart_are_found() {
    let bundles: Vec<Bundle> = (0..2)
        .map(|i| {
            Bundle::busybox()
                .annotation("io.rampart.container.name", &format!("early-{i}"))
                .build()
        })
        .collect();
    // one in a private state root, one in runc's default /run/runc
    let c0 = bundles[0].run(StateRoot::Private);
    let c1 = bundles[1].run(StateRoot::Default);
    let roots = vec![c0.root.clone(), PathBuf::from("/run/runc")];
    let ids = [cgroup_id_of(c0.pid), cgroup_id_of(c1.pid)];

    let t = Instant::now();
    let resolver = ContainerResolver::new(config(&roots)).unwrap();
    eprintln!(
        "figure: start-up scan {:?} ({} cgroups cached)",
        t.elapsed(),
        resolver.cached()
    );
    let names: Vec<_> = resolver.containers().iter().map(|c| c.id.clone()).collect();
    assert!(
        names.contains(&c0.id) && names.contains(&c1.id),
        "{names:?}"
    );
    for (c, g) in [(&c0, ids[0]), (&c1, ids[1])] {
        // found at start-up: the first event is a cache hit, no process needed
        let id = resolver.resolve(g, None);
        assert_eq!(id.id(), c.id);
    }
    assert_eq!(resolver.stats().misses, 0, "{:?}", resolver.stats());
    assert_eq!(
        container(&resolver.resolve(ids[1], None)).name.as_deref(),
        Some("early-1")
    );

    // the monitor killed and restarted: a new resolver finds the same containers
    drop(resolver);
    let again = ContainerResolver::new(config(&roots)).unwrap();
    for (c, g) in [(&c0, ids[0]), (&c1, ids[1])] {
        assert_eq!(again.resolve(g, None).id(), c.id);
    }
    assert_eq!(again.stats().misses, 0);

    // a container gone: pruned
    c0.delete();
    assert!(again.prune() >= 1);
    assert!(again.container(&c0.id).is_none());
    assert_eq!(again.resolve(ids[1], None).id(), c1.id);
}

#[test]
fn an_exited_process_resolves_through_the_cgroup_index() {
    let resolver = ContainerResolver::new(config(&[])).unwrap();
    let bundle = Bundle::busybox().build();
    let state = tempfile::tempdir().unwrap();
    let c = bundle.run(StateRoot::At(state.path().to_path_buf()));
    let g = cgroup_id_of(c.pid);
    // a pid that no longer exists
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();

    // state root unknown to this resolver, plain runc path `/<id>`: no layout names it, so it
    // is the host... until its state root is known
    let t = Instant::now();
    let id = resolver.resolve(g, Some(dead));
    let first = t.elapsed();
    assert_eq!(id, Identity::Host);
    assert_eq!(resolver.stats().via_index, 1, "{:?}", resolver.stats());

    let resolver = ContainerResolver::new(config(&[state.path().to_path_buf()])).unwrap();
    resolver.forget(g);
    let t = Instant::now();
    let id = resolver.resolve(g, Some(dead));
    eprintln!(
        "figure: first event of a new container, process gone: {:?} (index walk); unknown root: {first:?}",
        t.elapsed()
    );
    assert_eq!(id.id(), c.id);
    assert_eq!(resolver.stats().via_index, 1, "{:?}", resolver.stats());
}

#[test]
fn a_container_created_after_the_resolver_is_attributed_on_its_first_exec() {
    let state = tempfile::tempdir().unwrap();
    let resolver = ContainerResolver::new(config(&[state.path().to_path_buf()])).unwrap();
    let bundle = Bundle::busybox()
        .annotation("io.rampart.image.ref", "busybox:test")
        .build();
    let c = bundle.run(StateRoot::At(state.path().to_path_buf()));
    let p = worker(&c);
    let g = cgroup_id_of(p);
    let t = Instant::now();
    let id = resolver.resolve(g, Some(p));
    eprintln!(
        "figure: first event of a new container (pid alive): {:?}",
        t.elapsed()
    );
    assert_eq!(id.id(), c.id);
    assert_eq!(container(&id).image.as_deref(), Some("busybox:test"));
    assert_eq!(resolver.stats().via_index, 0);

    // many threads at once on the same new cgroup: one answer
    let bundle2 = Bundle::busybox().build();
    let c2 = bundle2.run(StateRoot::At(state.path().to_path_buf()));
    let g2 = cgroup_id_of(c2.pid);
    std::thread::scope(|s| {
        let hs: Vec<_> = (0..8)
            .map(|_| s.spawn(|| resolver.resolve(g2, Some(c2.pid))))
            .collect();
        for h in hs {
            assert_eq!(h.join().unwrap().id(), c2.id);
        }
    });
}

/// A cgroup seen before its container's state exists (runc's init process runs in the
/// container's cgroup before `state.json` is written; a plain runc cgroup path has no runtime
/// layout) is first the host, then the container once its state appears.
#[test]
fn a_host_verdict_on_a_new_cgroup_is_revised_when_its_container_appears() {
    let state = tempfile::tempdir().unwrap();
    let resolver = ContainerResolver::new(config(&[state.path().to_path_buf()])).unwrap();
    let name = rampart_testkit::runc::unique_id("rampart-early");
    let dir = resolver.cgroup2_mount().join(&name);
    std::fs::create_dir(&dir).unwrap();
    let g = std::fs::metadata(&dir).unwrap().ino();
    assert_eq!(resolver.resolve(g, None), Identity::Host);

    let bundle = Bundle::busybox().cgroups_path(&format!("/{name}")).build();
    let c = bundle.run(StateRoot::At(state.path().to_path_buf()));
    assert_eq!(cgroup_id_of(c.pid), g);
    std::thread::sleep(std::time::Duration::from_millis(30));
    assert_eq!(resolver.resolve(g, Some(c.pid)).id(), c.id);
    drop(c);
    let _ = std::fs::remove_dir(&dir);
}

/// Memory is bounded: past `max_entries`, vanished cgroups go first, then host entries; the
/// containers stay resolvable.
#[test]
fn the_cache_is_bounded() {
    let bundle = Bundle::busybox().build();
    let c = bundle.run(StateRoot::Private);
    let resolver = ContainerResolver::new(ResolverConfig {
        state_roots: vec![c.root.clone()],
        max_entries: 4,
        ..ResolverConfig::default()
    })
    .unwrap();
    let mount = resolver.cgroup2_mount().to_path_buf();
    let dirs: Vec<PathBuf> = (0..6)
        .map(|_| {
            let d = mount.join(rampart_testkit::runc::unique_id("rampart-bound"));
            std::fs::create_dir(&d).unwrap();
            d
        })
        .collect();
    for d in &dirs {
        let g = std::fs::metadata(d).unwrap().ino();
        assert_eq!(resolver.resolve(g, None), Identity::Host);
        assert!(resolver.cached() <= 4, "{}", resolver.cached());
    }
    assert_eq!(
        resolver.resolve(cgroup_id_of(c.pid), Some(c.pid)).id(),
        c.id
    );
    for d in &dirs {
        std::fs::remove_dir(d).unwrap();
    }
    resolver.prune();
    assert!(resolver.cached() <= 4);
}

/// Under load: containers created at once from several threads, each resolved on its first
/// event while the others are being created (half with the process gone, through the index).
/// None is left unattributed or attributed to another.
#[test]
fn containers_created_at_once_are_each_attributed() {
    let state = tempfile::tempdir().unwrap();
    let resolver = ContainerResolver::new(config(&[state.path().to_path_buf()])).unwrap();
    let mut dead = std::process::Command::new("true").spawn().unwrap();
    let dead_pid = dead.id();
    dead.wait().unwrap();
    let results: Vec<(String, String)> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..6)
            .map(|i| {
                let (resolver, root) = (&resolver, state.path().to_path_buf());
                s.spawn(move || {
                    let bundle = Bundle::busybox().build();
                    let c = bundle.run(StateRoot::At(root));
                    let pid = if i % 2 == 0 { c.pid } else { dead_pid };
                    let got = resolver
                        .resolve(cgroup_id_of(c.pid), Some(pid))
                        .id()
                        .to_string();
                    (c.id.clone(), got)
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (want, got) in &results {
        assert_eq!(got, want);
    }
    assert_eq!(resolver.stats().unknown, 0);
}
