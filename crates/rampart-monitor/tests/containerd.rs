//! A real containerd (Debian's, a private daemon) runs an image imported from an OCI layout,
//! with the annotations containerd's CRI plugin writes: the resolver finds the container in
//! containerd's runc state root (`/run/containerd/runc/<namespace>/<id>`) and its bundle (the
//! shim's task directory), and drift is judged on the overlayfs root containerd's snapshotter
//! mounted.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use rampart_image::{Image, Source};
use rampart_monitor::drift::{DriftDetector, DriftKind, ImageIndex};
use rampart_monitor::identity::{ContainerResolver, ResolverConfig, Runtime};
use rampart_testkit::containerd::Containerd;
use rampart_testkit::runc::{busybox_layout, unique_id};

fn cgroup_id_of(pid: u32) -> u64 {
    let mount = rampart_monitor::identity::cgroup::cgroup2_mount("/proc".as_ref()).unwrap();
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let path = text.lines().find_map(|l| l.strip_prefix("0::")).unwrap();
    std::fs::metadata(mount.join(path.trim_start_matches('/')))
        .unwrap()
        .ino()
}

fn now() -> u64 {
    u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    )
    .unwrap()
}

#[test]
fn a_containerd_container_is_resolved_with_its_cri_annotations_and_drift_found() {
    let tmp = tempfile::tempdir().unwrap();
    let tool = |r: &Path| {
        std::fs::create_dir_all(r.join("usr/local/bin")).unwrap();
        std::fs::write(r.join("usr/local/bin/tool"), "#!/bin/sh\necho tool\n").unwrap();
        std::fs::set_permissions(
            r.join("usr/local/bin/tool"),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
    };
    let app = |r: &Path| std::fs::write(r.join("etc/app.conf"), "x=1\n").unwrap();
    let layout = busybox_layout(tmp.path(), &[&tool, &app], &["sleep", "100000"]);

    let d = Containerd::start();
    let image = d.import_layout(&layout, "localhost/rampart-bb");
    let id = unique_id("ctrd");
    let pid = d.run(
        &image,
        &id,
        &[
            ("io.kubernetes.cri.container-type", "container"),
            ("io.kubernetes.cri.container-name", "web"),
            ("io.kubernetes.cri.sandbox-name", "web-6b9f"),
            ("io.kubernetes.cri.sandbox-namespace", "shop"),
            (
                "io.kubernetes.cri.sandbox-uid",
                "7d1f3c2e-1111-4222-8333-944455556666",
            ),
            ("io.kubernetes.cri.image-name", &image),
        ],
    );

    // containerd's default runc root is among the resolver's defaults
    let resolver = ContainerResolver::new(ResolverConfig::default()).unwrap();
    let found = resolver.container(&id).expect("found at start-up");
    assert_eq!(found.runtime, Runtime::Containerd);
    let who = resolver.resolve(cgroup_id_of(pid), Some(pid));
    let c = who.container().unwrap();
    assert_eq!(c.id, id);
    assert_eq!(c.init_pid, Some(pid));
    assert_eq!(c.bundle.as_deref(), Some(d.bundle(&id).as_path()));
    assert_eq!(
        c.rootfs.as_deref(),
        Some(d.bundle(&id).join("rootfs").as_path())
    );
    assert_eq!(
        c.cgroup_path,
        format!("/{}/{id}", rampart_testkit::containerd::NAMESPACE)
    );
    assert_eq!(c.k8s_container_name.as_deref(), Some("web"));
    assert_eq!(c.pod_name.as_deref(), Some("web-6b9f"));
    assert_eq!(c.pod_namespace.as_deref(), Some("shop"));
    assert_eq!(
        c.pod_uid.as_deref(),
        Some("7d1f3c2e-1111-4222-8333-944455556666")
    );
    assert_eq!(c.image.as_deref(), Some(image.as_str()));
    // the reference is pinned: its digest is the image's (the manifest digest)
    let manifest = image.rsplit_once('@').unwrap().1;
    assert_eq!(c.image_digest.as_deref(), Some(manifest));

    // drift against the image containerd runs, on its overlayfs snapshot
    let index =
        ImageIndex::build(&Image::open(&Source::OciLayout(layout.clone()), None).unwrap()).unwrap();
    assert!(index.matches(manifest));
    let drift = DriftDetector::new();
    let check = |p: &str| {
        drift
            .check_exec(c, Some(&index), p, Some(pid), now())
            .unwrap()
    };
    assert_eq!(check("/bin/sh"), None);
    assert_eq!(check("/usr/local/bin/tool"), None);
    d.exec_ok(&id, &["cp", "/bin/busybox", "/tmp/ls"]);
    assert_eq!(check("/tmp/ls").unwrap().kind, DriftKind::NotInImage);
    d.exec_ok(
        &id,
        &["sh", "-c", "echo 'echo changed' >> /usr/local/bin/tool"],
    );
    let e = check("/usr/local/bin/tool").unwrap();
    assert!(matches!(e.kind, DriftKind::ContentDiffers { .. }), "{e:?}");
    assert_eq!(e.layer.as_ref().map(|l| l.index), Some(0));
    assert_eq!(
        e.layer.as_ref().and_then(|l| l.digest.clone()),
        index.layers[0].digest
    );
    assert_eq!(e.image_digest.as_deref(), Some(manifest));
}
