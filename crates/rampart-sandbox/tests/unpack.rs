//! Images unpacked for a check, from layers written raw as a malicious builder would
//! (rampart-image's test helper): nothing lands outside the new root, links made by the image
//! are never followed while writing, whiteouts and later layers win, devices are skipped.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../../rampart-image/tests/support/mod.rs"]
mod support;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use rampart_image::{Image, Source};
use rampart_sandbox::image::bundle_from_image;
use support::{Comp, E, layer};

#[test]
fn a_hostile_image_is_unpacked_inside_its_root_only() {
    let dir = tempfile::tempdir().unwrap();
    // host places the layers aim at (must stay untouched)
    let host = tempfile::tempdir().unwrap();
    let host_dir: &'static str = Box::leak(host.path().display().to_string().into_boxed_str());
    let escape: &'static str =
        Box::leak(format!("../../../../../..{host_dir}/escaped").into_boxed_str());
    let through: &'static str = Box::leak(format!("{host_dir}/through-link").into_boxed_str());
    let l0 = layer(
        &[
            E::File(escape, b"owned"),
            // a link to a host directory, then a file under it in the same and a later layer
            E::Symlink("hostdir", host_dir),
            E::File("hostdir/planted", b"owned"),
            E::Hardlink("app/steal", "../../../etc/passwd"),
            E::Symlink("loop/a", "b"),
            E::Symlink("loop/b", "a"),
            E::Fifo("run/fifo"),
            E::FileMode("bin/tool", b"#!/bin/sh\n", 0o4755),
            E::File("etc/removed", b"gone"),
            E::File(
                "etc/passwd",
                b"root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/srv:/bin/sh\n",
            ),
            E::File("etc/group", b"root:x:0:\napp:x:1001:\n"),
            E::File("opt/a", b"shared"),
            E::Hardlink("opt/b", "opt/a"),
        ],
        Comp::Gzip,
    );
    let l1 = layer(
        &[
            E::File("etc/.wh.removed", b""),
            E::File("hostdir/later", b"owned"),
            E::File("opt/a", b"replaced"),
        ],
        Comp::Zstd,
    );
    support::oci_layout(dir.path(), &[l0, l1]);
    let image = Image::open(&Source::OciLayout(dir.path().to_path_buf()), None).unwrap();
    let work = tempfile::tempdir().unwrap();
    let unpacked = bundle_from_image(&image, "hostile", Some(work.path())).unwrap();
    let root = &unpacked.subject.rootfs.clone();

    // nothing reached the host
    let on_host: Vec<_> = std::fs::read_dir(host.path()).unwrap().collect();
    assert!(on_host.is_empty(), "{on_host:?}");
    assert!(!Path::new(through).exists());
    // the link is in the root, as written (a runtime resolves it inside the container)
    assert_eq!(
        std::fs::read_link(root.join("hostdir")).unwrap(),
        Path::new(host_dir)
    );
    // what the image wrote under it is in the root, where the image's own view puts it
    for f in ["planted", "later"] {
        let p = root.join(host_dir.trim_start_matches('/')).join(f);
        assert_eq!(std::fs::read(&p).unwrap(), b"owned", "{}", p.display());
    }
    // the whiteout removed, the later layer won, the hard link kept its first content's inode
    assert!(!root.join("etc/removed").exists());
    assert_eq!(std::fs::read(root.join("opt/a")).unwrap(), b"replaced");
    assert_eq!(std::fs::read(root.join("opt/b")).unwrap(), b"shared");
    // the setuid bit kept, the fifo skipped
    let mode = std::fs::metadata(root.join("bin/tool"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o7777, 0o4755);
    assert!(!root.join("run/fifo").exists());
    assert!(unpacked.skipped >= 1);
    // every path is inside the root
    for entry in walk(root) {
        assert!(entry.starts_with(root), "{}", entry.display());
    }
    // nothing of the staging is left, and the root is all the work directory holds
    let staging: Vec<_> = walk(work.path())
        .into_iter()
        .filter(|p| !p.starts_with(root) && p.is_file())
        .collect();
    assert!(staging.is_empty(), "{staging:?}");
    // the image's config: its command, environment, directory and user (names resolved in the
    // image's own /etc/passwd and /etc/group)
    let process = &unpacked.subject.config["process"];
    assert_eq!(unpacked.subject.args(), ["/bin/app"]);
    assert_eq!(
        process["env"],
        serde_json::json!(["PATH=/usr/bin", "TOKEN=x"])
    );
    assert_eq!(process["cwd"], "/srv");
    assert_eq!(
        process["user"],
        serde_json::json!({"uid": 1000, "gid": 1001})
    );
    assert_ne!(
        std::fs::symlink_metadata(root.join("opt/a")).unwrap().ino(),
        std::fs::symlink_metadata(root.join("opt/b")).unwrap().ino(),
        "opt/a was replaced by a new file: opt/b keeps the old content"
    );
    drop(unpacked);
    assert!(!root.exists(), "the unpacked root is removed with it");
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().filter_map(Result::ok) {
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                stack.push(p.clone());
            }
            out.push(p);
        }
    }
    out
}
