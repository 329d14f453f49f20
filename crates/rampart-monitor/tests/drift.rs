//! Drift on real runc containers: an image index built from the container's own image (a
//! busybox rootfs, or an OCI layout of two layers made by umoci), then execs inside the
//! container checked against it: the image's binaries are not drift; a binary copied in is not
//! in the image; an image file overwritten differs, with its layer of origin; a file made
//! executable or written after start is modified after start. On a plain root directory, an
//! overlayfs root and a read-only root (drift written to a tmpfs).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use rampart_image::{Image, Source};
use rampart_monitor::drift::{DriftDetector, DriftKind, ImageIndex};
use rampart_monitor::identity::{ContainerInfo, ContainerResolver, ResolverConfig};
use rampart_testkit::runc::{Bundle, Container, StateRoot, busybox_layout};
use rampart_testkit::tools;

fn now() -> u64 {
    u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    )
    .unwrap()
}

/// Extra files of the test image: an executable script, a non-executable one, a third left as
/// it is.
fn add_tools(rootfs: &Path) {
    let dir = rootfs.join("usr/local/bin");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, mode) in [("tool", 0o755), ("notexec", 0o644), ("touched", 0o755)] {
        let p = dir.join(name);
        std::fs::write(&p, format!("#!/bin/sh\necho {name}\n")).unwrap();
        std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(mode)).unwrap();
    }
}

/// The container as the resolver describes it (its start time, init pid, rootfs).
fn info(c: &Container) -> Arc<ContainerInfo> {
    let resolver = ContainerResolver::new(ResolverConfig {
        state_roots: vec![c.root.clone()],
        ..ResolverConfig::default()
    })
    .unwrap();
    resolver
        .resolve_pid(c.pid)
        .container()
        .cloned()
        .unwrap_or_else(|| panic!("{} not resolved", c.id))
}

fn index_of_rootfs(dir: &Path) -> ImageIndex {
    let image = Image::open(&Source::Rootfs(dir.to_path_buf()), None).unwrap();
    ImageIndex::build(&image).unwrap()
}

/// The drift scenario shared by the root kinds. `scratch` is a writable directory inside the
/// container.
fn scenario(c: &Container, index: &ImageIndex, scratch: &str) {
    let info = info(c);
    let d = DriftDetector::new();
    let check = |path: &str| {
        d.check_exec(&info, Some(index), path, Some(c.pid), now())
            .unwrap()
    };

    // the image's own binaries, directly and through the applet symlinks
    c.exec_ok(&["/bin/busybox", "true"]);
    assert_eq!(check("/bin/busybox"), None);
    assert_eq!(check("/bin/sh"), None);
    c.exec_ok(&["/usr/local/bin/tool"]);
    assert_eq!(check("/usr/local/bin/tool"), None);

    // a binary copied in after start
    // named after an applet: busybox picks its applet from argv[0]
    let dropped = format!("{scratch}/echo");
    c.exec_ok(&["cp", "/bin/busybox", &dropped]);
    assert_eq!(c.exec_ok(&[&dropped, "ran"]), "ran\n");
    let e = check(&dropped).unwrap();
    assert_eq!(e.kind, DriftKind::NotInImage);
    assert_eq!(e.layer, None);
    assert_eq!(e.layer_text(), "not in the image");
    assert_eq!(e.path, dropped);
    assert_eq!(e.count, 1);
    // deduplicated: the same drift again counts
    let again = check(&dropped).unwrap();
    assert_eq!((again.count, again.first_seen), (2, e.first_seen));
    assert!(again.last_seen >= e.last_seen);

    // an image file overwritten
    c.exec_ok(&[
        "sh",
        "-c",
        "printf '#!/bin/sh\\necho evil\\n' > /usr/local/bin/tool",
    ]);
    assert_eq!(c.exec_ok(&["/usr/local/bin/tool"]), "evil\n");
    let e = check("/usr/local/bin/tool").unwrap();
    let DriftKind::ContentDiffers { expected, actual } = &e.kind else {
        panic!("{e:?}")
    };
    let want = &index.files["/usr/local/bin/tool"];
    assert_eq!(expected, &format!("sha256:{}", want.sha256));
    assert_ne!(expected, actual);
    assert_eq!(e.layer.as_ref().map(|l| l.index), Some(want.layer));

    // an image file made executable after start
    c.exec_ok(&["chmod", "+x", "/usr/local/bin/notexec"]);
    let e = check("/usr/local/bin/notexec").unwrap();
    assert!(
        matches!(e.kind, DriftKind::ModifiedAfterStart { .. }),
        "{e:?}"
    );
    assert!(e.layer.is_some());

    // an image file rewritten after start with its own content and mode: the same program,
    // not drift against the image (the change time alone is not, `chown -R` sets it too) ...
    c.exec_ok(&[
        "sh",
        "-c",
        "cp -p /usr/local/bin/touched /usr/local/bin/t.new && mv /usr/local/bin/t.new /usr/local/bin/touched",
    ]);
    assert_eq!(check("/usr/local/bin/touched"), None);
    // ... but with no image to compare with, its change time says it changed after start
    let e = d
        .check_exec(&info, None, "/usr/local/bin/touched", Some(c.pid), now())
        .unwrap()
        .unwrap();
    assert_eq!(
        e.kind,
        DriftKind::ModifiedAfterStart {
            evidence: "ctime".into()
        }
    );

    // no image known: only changes after start tell, the change time among them
    let no_image = |p: &str| d.check_exec(&info, None, p, Some(c.pid), now()).unwrap();
    assert_eq!(no_image("/bin/busybox"), None);
    let e = no_image(&dropped).unwrap();
    assert!(
        matches!(e.kind, DriftKind::ModifiedAfterStart { .. }),
        "{e:?}"
    );
    assert_eq!(e.image_digest, info.image_digest);

    // the file deleted after its exec: still not in the image
    c.exec_ok(&["cp", "/bin/busybox", &format!("{scratch}/gone")]);
    c.exec_ok(&["rm", &format!("{scratch}/gone")]);
    let e = check(&format!("{scratch}/gone")).unwrap();
    assert_eq!(e.kind, DriftKind::NotInImage);

    let kinds: Vec<&str> = d.events().iter().map(|e| e.kind.name()).collect();
    assert_eq!(kinds.len(), 6, "{kinds:?}");

    // figures: a cached check of an unchanged image binary
    let n = 2000u32;
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(check("/bin/busybox"));
    }
    eprintln!(
        "figure: check_exec of an unchanged image file (cached digest) {:.1} µs",
        t.elapsed().as_secs_f64() * 1e6 / f64::from(n)
    );
}

#[test]
fn drift_on_a_plain_root_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let rootfs = tmp.path().join("rootfs");
    rampart_testkit::runc::busybox_rootfs(&rootfs);
    add_tools(&rootfs);
    let t = Instant::now();
    let index = index_of_rootfs(&rootfs);
    eprintln!(
        "figure: index of the busybox rootfs ({} files) {:?}",
        index.files.len(),
        t.elapsed()
    );
    let bundle = Bundle::with_rootfs(&rootfs).build();
    let c = bundle.run(StateRoot::Private);
    scenario(&c, &index, "/tmp");
}

#[test]
fn drift_on_an_overlay_root() {
    let tmp = tempfile::tempdir().unwrap();
    let lower = tmp.path().join("lower");
    rampart_testkit::runc::busybox_rootfs(&lower);
    add_tools(&lower);
    let index = index_of_rootfs(&lower);
    let bundle = Bundle::with_rootfs(&lower).overlay(true).build();
    let c = bundle.run(StateRoot::Private);
    scenario(&c, &index, "/tmp");
    // the writes landed in the upper directory, the image (lower) is untouched
    let upper = bundle.upper.clone().unwrap();
    assert!(upper.join("tmp/echo").is_file());
    assert!(upper.join("usr/local/bin/tool").is_file());
    assert_eq!(index_of_rootfs(&lower), index);
}

#[test]
fn drift_on_a_read_only_root_written_to_a_tmpfs() {
    let tmp = tempfile::tempdir().unwrap();
    let rootfs = tmp.path().join("rootfs");
    rampart_testkit::runc::busybox_rootfs(&rootfs);
    add_tools(&rootfs);
    std::fs::create_dir_all(rootfs.join("scratch")).unwrap();
    let index = index_of_rootfs(&rootfs);
    let bundle = Bundle::with_rootfs(&rootfs)
        .readonly(true)
        .tmpfs("/scratch")
        .build();
    let c = bundle.run(StateRoot::Private);
    assert!(
        !c.exec(&["touch", "/x"]).status.success(),
        "the root is read-only"
    );
    let info = info(&c);
    assert!(info.readonly_root);
    let d = DriftDetector::new();
    c.exec_ok(&["cp", "/bin/busybox", "/scratch/echo"]);
    assert_eq!(c.exec_ok(&["/scratch/echo", "ran"]), "ran\n");
    // the tmpfs is only visible from inside: through the exec'ing process or the init process
    assert!(!rootfs.join("scratch/echo").exists());
    for pid in [Some(c.pid), None] {
        let e = d
            .check_exec(&info, Some(&index), "/scratch/echo", pid, now())
            .unwrap()
            .unwrap();
        assert_eq!(e.kind, DriftKind::NotInImage);
    }
    assert_eq!(
        d.check_exec(&info, Some(&index), "/bin/sh", None, now())
            .unwrap(),
        None
    );
}

/// An OCI layout of two layers made by umoci: busybox and a tool in the base layer, a second
/// tool and a changed file in the second. The layer of origin comes from the manifest.
#[test]
fn layer_of_origin_in_a_two_layer_oci_image() {
    let tmp = tempfile::tempdir().unwrap();
    let second = |r: &Path| {
        std::fs::write(r.join("usr/local/bin/app"), "#!/bin/sh\necho app\n").unwrap();
        std::fs::set_permissions(
            r.join("usr/local/bin/app"),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        std::fs::write(
            r.join("usr/local/bin/touched"),
            "#!/bin/sh\necho touched v2\n",
        )
        .unwrap();
    };
    let layout = busybox_layout(tmp.path(), &[&add_tools, &second], &["sleep", "100000"]);
    let image = format!("{}:test", layout.display());

    // the oracle: the manifest umoci wrote
    let idx: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let manifest_digest = idx["manifests"][0]["digest"].as_str().unwrap().to_string();
    let blob = |d: &str| {
        layout
            .join("blobs/sha256")
            .join(d.trim_start_matches("sha256:"))
    };
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(blob(&manifest_digest)).unwrap()).unwrap();
    let layers: Vec<String> = manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["digest"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(layers.len(), 2);

    let t = Instant::now();
    let index =
        ImageIndex::build(&Image::open(&Source::OciLayout(layout.clone()), None).unwrap()).unwrap();
    eprintln!(
        "figure: index of a two-layer OCI layout ({} files) {:?}",
        index.files.len(),
        t.elapsed()
    );
    assert_eq!(index.digest(), Some(manifest_digest.as_str()));
    assert_eq!(index.files["/bin/busybox"].layer, 0);
    assert_eq!(index.files["/usr/local/bin/app"].layer, 1);
    assert_eq!(index.files["/usr/local/bin/touched"].layer, 1);
    assert_eq!(index.files["/usr/local/bin/tool"].layer, 0);
    // cached per image digest
    let saved = tmp.path().join("index.json");
    index.save(&saved).unwrap();
    assert_eq!(ImageIndex::load(&saved).unwrap(), index);

    // the container runs the image unpacked, its bundle naming the image
    let unpacked = tmp.path().join("unpacked");
    tools::run(
        "umoci",
        &["unpack", "--image", &image, unpacked.to_str().unwrap()],
    );
    let bundle = Bundle::with_rootfs(unpacked.join("rootfs"))
        .annotation("io.rampart.image.digest", &manifest_digest)
        .annotation("io.rampart.image.ref", "localhost/drift-test:test")
        .build();
    let c = bundle.run(StateRoot::Private);
    let info = info(&c);
    assert_eq!(info.image_digest.as_deref(), Some(manifest_digest.as_str()));
    assert_eq!(info.image.as_deref(), Some("localhost/drift-test:test"));
    assert!(index.matches(info.image_digest.as_deref().unwrap()));

    let d = DriftDetector::new();
    for (path, layer) in [("/usr/local/bin/app", 1usize), ("/usr/local/bin/tool", 0)] {
        assert_eq!(
            d.check_exec(&info, Some(&index), path, Some(c.pid), now())
                .unwrap(),
            None
        );
        c.exec_ok(&["sh", "-c", &format!("echo 'echo changed' >> {path}")]);
        let e = d
            .check_exec(&info, Some(&index), path, Some(c.pid), now())
            .unwrap()
            .unwrap();
        assert!(matches!(e.kind, DriftKind::ContentDiffers { .. }), "{e:?}");
        let origin = e.layer.clone().unwrap();
        assert_eq!(origin.index, layer, "{path}");
        assert_eq!(
            origin.digest.as_deref(),
            Some(layers[layer].as_str()),
            "{path}"
        );
        assert_eq!(e.layer_text(), layers[layer]);
        assert_eq!(e.image_digest.as_deref(), Some(manifest_digest.as_str()));
    }
}
