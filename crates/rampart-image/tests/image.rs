//! Integration tests over images built by the tests themselves.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::path::Path;

use rampart_image::{
    AnomalyKind, CollectedFile, EntryKind, Filesystem, Image, ImageError, Limits, Platform, Source,
};
use support::{Comp, E, Layer, layer};

/// Squashes `layers` stored as an OCI layout, collecting every file.
fn squash_all(layers: &[Layer]) -> (Filesystem, Vec<CollectedFile>) {
    let dir = tempfile::tempdir().unwrap();
    support::oci_layout(dir.path(), layers);
    let image = Image::open(&Source::OciLayout(dir.path().to_path_buf()), None).unwrap();
    image.capture(|_: &str, _: &_| true).unwrap()
}

fn squash_err(dir: &Path, limits: &Limits) -> ImageError {
    let image = Image::open_with(&Source::OciLayout(dir.to_path_buf()), None, limits).unwrap();
    image.filesystem().unwrap_err()
}

fn paths(fs: &Filesystem) -> Vec<String> {
    fs.iter()
        .map(|(p, m)| format!("{p}:{:?}", m.kind))
        .collect()
}

fn contents(files: &[CollectedFile]) -> Vec<(String, String, usize)> {
    files
        .iter()
        .map(|f| {
            (
                f.path.clone(),
                String::from_utf8_lossy(&f.content).into_owned(),
                f.layer,
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// squash semantics

#[test]
fn squash_semantics_table() {
    struct Case {
        name: &'static str,
        layers: Vec<Vec<E>>,
        paths: &'static [&'static str],
        contents: &'static [(&'static str, &'static str, usize)],
    }
    let cases = vec![
        Case {
            name: "later layer replaces a file",
            layers: vec![
                vec![E::File("etc/a", b"old")],
                vec![E::File("etc/a", b"new")],
            ],
            paths: &["/etc:Dir", "/etc/a:File"],
            contents: &[("/etc/a", "new", 1)],
        },
        Case {
            name: "whiteout deletes a lower file and its content is not reported",
            layers: vec![
                vec![E::File("etc/secret", b"key"), E::File("etc/keep", b"k")],
                vec![E::File("etc/.wh.secret", b"")],
            ],
            paths: &["/etc:Dir", "/etc/keep:File"],
            contents: &[("/etc/keep", "k", 0)],
        },
        Case {
            name: "whiteout of a directory removes the subtree",
            layers: vec![
                vec![E::Dir("a/"), E::File("a/b/c", b"x"), E::File("z", b"z")],
                vec![E::File(".wh.a", b"")],
            ],
            paths: &["/z:File"],
            contents: &[("/z", "z", 0)],
        },
        Case {
            name: "opaque directory hides lower children, keeps its own",
            layers: vec![
                vec![
                    E::Dir("d/"),
                    E::File("d/old", b"o"),
                    E::File("d/sub/x", b"x"),
                ],
                vec![
                    E::Dir("d/"),
                    E::File("d/.wh..wh..opq", b""),
                    E::File("d/new", b"n"),
                ],
            ],
            paths: &["/d:Dir", "/d/new:File"],
            contents: &[("/d/new", "n", 1)],
        },
        Case {
            name: "a file replacing a directory removes its children",
            layers: vec![vec![E::File("d/x", b"x")], vec![E::File("d", b"file")]],
            paths: &["/d:File"],
            contents: &[("/d", "file", 1)],
        },
        Case {
            name: "a directory over a directory merges",
            layers: vec![
                vec![E::File("d/x", b"x")],
                vec![E::Dir("d"), E::File("d/y", b"y")],
            ],
            paths: &["/d:Dir", "/d/x:File", "/d/y:File"],
            contents: &[("/d/x", "x", 0), ("/d/y", "y", 1)],
        },
        Case {
            name: "hardlink in the same layer shares the content",
            layers: vec![vec![
                E::File("bin/busybox", b"BB"),
                E::Hardlink("bin/sh", "bin/busybox"),
            ]],
            paths: &["/bin:Dir", "/bin/busybox:File", "/bin/sh:Hardlink"],
            contents: &[("/bin/busybox", "BB", 0), ("/bin/sh", "BB", 0)],
        },
        Case {
            name: "hardlink keeps content when its target is deleted later",
            layers: vec![
                vec![E::File("a", b"A"), E::Hardlink("b", "a")],
                vec![E::File(".wh.a", b"")],
            ],
            paths: &["/b:Hardlink"],
            contents: &[("/b", "A", 0)],
        },
        Case {
            name: "hardlink to a lower-layer file gets the content as of its layer",
            layers: vec![
                vec![E::File("a", b"A0")],
                vec![E::Hardlink("b", "a")],
                vec![E::File("a", b"A2")],
            ],
            paths: &["/a:File", "/b:Hardlink"],
            contents: &[("/a", "A2", 2), ("/b", "A0", 0)],
        },
        Case {
            name: "symlink is recorded, never followed",
            layers: vec![vec![
                E::Symlink("etc/passwd", "/host/etc/passwd"),
                E::Symlink("lib", "usr/lib"),
                E::Dir("usr/lib/"),
            ]],
            paths: &[
                "/etc:Dir",
                "/etc/passwd:Symlink",
                "/lib:Symlink",
                "/usr:Dir",
                "/usr/lib:Dir",
            ],
            contents: &[],
        },
        Case {
            name: "entries below a symlinked directory land at its target (usrmerge)",
            layers: vec![
                vec![
                    E::Dir("usr/lib/"),
                    E::Symlink("lib", "usr/lib"),
                    E::File("usr/lib/old", b"o"),
                ],
                vec![
                    E::File("lib/new", b"n"),
                    E::File("lib/.wh.old", b""),
                    E::Hardlink("lib/link", "lib/new"),
                ],
            ],
            paths: &[
                "/lib:Symlink",
                "/usr:Dir",
                "/usr/lib:Dir",
                "/usr/lib/link:Hardlink",
                "/usr/lib/new:File",
            ],
            contents: &[("/usr/lib/link", "n", 1), ("/usr/lib/new", "n", 1)],
        },
        Case {
            name: "a symlink loop in a parent is replaced by a directory",
            layers: vec![
                vec![E::Symlink("x", "y"), E::Symlink("y", "x")],
                vec![E::File("x/f", b"f")],
            ],
            paths: &["/x:Dir", "/x/f:File", "/y:Symlink"],
            contents: &[("/x/f", "f", 1)],
        },
        Case {
            name: "implicit parents and devices",
            layers: vec![vec![E::File("./x/y/z", b"z"), E::Fifo("run/fifo")]],
            paths: &[
                "/run:Dir",
                "/run/fifo:Other",
                "/x:Dir",
                "/x/y:Dir",
                "/x/y/z:File",
            ],
            contents: &[("/x/y/z", "z", 0)],
        },
        Case {
            name: "whiteout in a layer does not hide the same layer's file",
            layers: vec![
                vec![E::File("a", b"0")],
                vec![E::File("a", b"1"), E::File(".wh.a", b"")],
            ],
            paths: &["/a:File"],
            contents: &[("/a", "1", 1)],
        },
        Case {
            name: "a file re-added after a whiteout is present with the new content",
            layers: vec![
                vec![E::File("a", b"0")],
                vec![E::File(".wh.a", b"")],
                vec![E::File("a", b"2")],
            ],
            paths: &["/a:File"],
            contents: &[("/a", "2", 2)],
        },
    ];
    for case in cases {
        for comp in [Comp::None, Comp::Gzip, Comp::Zstd] {
            let layers: Vec<Layer> = case.layers.iter().map(|es| layer(es, comp)).collect();
            let (fs, files) = squash_all(&layers);
            assert_eq!(paths(&fs), case.paths, "{} ({comp:?})", case.name);
            let want: Vec<_> = case
                .contents
                .iter()
                .map(|(p, c, l)| ((*p).to_owned(), (*c).to_owned(), *l))
                .collect();
            assert_eq!(contents(&files), want, "{} ({comp:?})", case.name);
        }
    }
}

#[test]
fn entry_metadata_and_layer_digests() {
    let l0 = layer(
        &[E::FileMode("usr/bin/su", b"su", 0o4755), E::Dir("tmp")],
        Comp::Gzip,
    );
    let l1 = layer(&[E::File("app", b"hello")], Comp::Zstd);
    let (fs, files) = squash_all(&[l0.clone(), l1.clone()]);
    let su = fs.get("/usr/bin/su").unwrap();
    assert_eq!(
        (su.kind, su.mode, su.size, su.layer),
        (EntryKind::File, 0o4755, 2, 0)
    );
    assert!(su.is_setid());
    assert_eq!(
        su.layer_digest.as_ref().unwrap().to_string(),
        support::sha256(&l0.blob)
    );
    let app = files.iter().find(|f| f.path == "/app").unwrap();
    assert_eq!(
        app.layer_digest.as_ref().unwrap().to_string(),
        support::sha256(&l1.blob)
    );
    assert_eq!(fs.get("usr/../app").unwrap().layer, 1);
}

#[test]
fn collector_predicate_and_capture_caps() {
    let dir = tempfile::tempdir().unwrap();
    let big = vec![b'x'; 5000];
    let big: &'static [u8] = Box::leak(big.into_boxed_slice());
    let l = layer(
        &[
            E::File("etc/os-release", b"ID=debian"),
            E::File("big", big),
            E::File("a", b"aaaa"),
            E::File("b", b"bbbb"),
        ],
        Comp::Gzip,
    );
    support::oci_layout(dir.path(), &[l]);
    let src = Source::OciLayout(dir.path().to_path_buf());
    // predicate on the path
    let image = Image::open(&src, None).unwrap();
    let (_, files) = image
        .capture(|p: &str, _: &_| p == "/etc/os-release")
        .unwrap();
    assert_eq!(
        contents(&files),
        [("/etc/os-release".to_owned(), "ID=debian".to_owned(), 0)]
    );
    // per-file cap truncates, total cap skips with an anomaly
    let limits = Limits {
        max_file_capture: 100,
        max_total_capture: 110,
        ..Limits::default()
    };
    let image = Image::open_with(&src, None, &limits).unwrap();
    let (fs, files) = image.capture(|_: &str, _: &_| true).unwrap();
    let got: Vec<(&str, usize, bool)> = files
        .iter()
        .map(|f| (f.path.as_str(), f.content.len(), f.truncated))
        .collect();
    assert_eq!(got, [("/big", 100, true), ("/etc/os-release", 9, false)]);
    let skipped: Vec<&str> = fs
        .anomalies()
        .iter()
        .filter(|a| a.kind == AnomalyKind::CaptureBudgetExhausted)
        .map(|a| a.path.as_str())
        .collect();
    assert_eq!(skipped, ["a", "b"]);
}

// ---------------------------------------------------------------------------------------------
// sources

fn sample_layers(comp: Comp) -> Vec<Layer> {
    vec![
        layer(
            &[
                E::Dir("etc/"),
                E::File("etc/os-release", b"ID=alpine"),
                E::File("etc/shadow", b"root:x"),
            ],
            comp,
        ),
        layer(
            &[E::File("etc/.wh.shadow", b""), E::File("srv/app", b"bin")],
            comp,
        ),
    ]
}

fn check_sample(image: &Image) {
    let cfg = image.config().unwrap();
    assert_eq!(
        (cfg.os.as_str(), cfg.architecture.as_str()),
        ("linux", "amd64")
    );
    assert_eq!(cfg.config.user, "app:app");
    assert!(!cfg.config.runs_as_root());
    assert_eq!(cfg.config.entrypoint, ["/bin/app"]);
    assert!(cfg.config.cmd.is_empty());
    assert_eq!(cfg.config.env, ["PATH=/usr/bin", "TOKEN=x"]);
    assert_eq!(cfg.config.exposed_ports, ["53/udp", "8080/tcp"]);
    assert_eq!(cfg.config.working_dir, "/srv");
    assert_eq!(
        cfg.config
            .labels
            .get("org.opencontainers.image.title")
            .map(String::as_str),
        Some("demo")
    );
    assert_eq!(cfg.history.len(), 2);
    assert_eq!(cfg.history[0].created_by, "COPY . /srv");
    assert!(cfg.history[1].empty_layer);
    assert_eq!(cfg.rootfs.diff_ids.len(), 2);
    assert_eq!(image.layers().len(), 2);
    let (fs, files) = image
        .capture(|p: &str, _: &_| p.starts_with("/etc/"))
        .unwrap();
    assert_eq!(
        paths(&fs),
        [
            "/etc:Dir",
            "/etc/os-release:File",
            "/srv:Dir",
            "/srv/app:File"
        ]
    );
    assert_eq!(
        contents(&files),
        [("/etc/os-release".to_owned(), "ID=alpine".to_owned(), 0)]
    );
}

#[test]
fn opens_oci_layout_gzip_zstd_plain() {
    for comp in [Comp::None, Comp::Gzip, Comp::Zstd] {
        let dir = tempfile::tempdir().unwrap();
        let manifest = support::oci_layout(dir.path(), &sample_layers(comp));
        let src = Source::detect(dir.path(), &Limits::default()).unwrap();
        assert_eq!(src, Source::OciLayout(dir.path().to_path_buf()));
        let image = Image::open(&src, None).unwrap();
        assert_eq!(image.manifest_digest().unwrap().to_string(), manifest);
        check_sample(&image);
    }
}

#[test]
fn opens_oci_archive() {
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("layout");
    support::oci_layout(&layout, &sample_layers(Comp::Gzip));
    let archive = dir.path().join("image.tar");
    support::tar_dir(&layout, &archive);
    let src = Source::detect(&archive, &Limits::default()).unwrap();
    assert_eq!(src, Source::OciArchive(archive.clone()));
    check_sample(&Image::open(&src, None).unwrap());
}

#[test]
fn opens_docker_save_legacy_and_oci_layouts() {
    for legacy in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let comp = if legacy { Comp::None } else { Comp::Gzip };
        let archive =
            support::docker_archive(&dir.path().join("docker.tar"), &sample_layers(comp), legacy);
        let src = Source::detect(&archive, &Limits::default()).unwrap();
        assert_eq!(src, Source::DockerArchive(archive.clone()));
        let image = Image::open(&src, None).unwrap();
        check_sample(&image);
        assert_eq!(
            image.layers()[0].digest.is_some(),
            !legacy,
            "legacy layers are known by diff id only"
        );
        assert!(image.layers()[0].diff_id.is_some());
        // The layers' sizes are the archive members': a progress bar has a total (issue 13).
        let layers = sample_layers(comp);
        let expected: u64 = layers.iter().map(|l| l.blob.len() as u64).sum();
        assert_eq!(image.total_layer_bytes(), Some(expected));
        let wrong: Platform = "linux/arm64".parse().unwrap();
        let err = Image::open(&src, Some(&wrong)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "platform linux/arm64 not in the image, available: linux/amd64"
        );
    }
}

#[test]
fn docker_save_legacy_layer_tampering_is_caught_by_diff_id() {
    let dir = tempfile::tempdir().unwrap();
    let mut layers = sample_layers(Comp::None);
    let archive = support::docker_archive(&dir.path().join("ok.tar"), &layers, true);
    drop(archive);
    // same config (diff ids of the original) but different layer bytes
    let evil = layer(&[E::File("srv/app", b"evil")], Comp::None);
    let config = support::config_json(&layers, "linux", "amd64");
    layers[1] = evil;
    let out = dir.path().join("evil.tar");
    let mut b = tar::Builder::new(std::fs::File::create(&out).unwrap());
    let config_name = format!(
        "{}.json",
        support::sha256(&config).strip_prefix("sha256:").unwrap()
    );
    let mut add = |name: &str, data: &[u8]| {
        let h = support::raw_header(tar::EntryType::Regular, name, "", data.len() as u64, 0o644);
        b.append(&h, data).unwrap();
    };
    add(&config_name, &config);
    add("l0/layer.tar", &layers[0].blob);
    add("l1/layer.tar", &layers[1].blob);
    let manifest = format!(
        r#"[{{"Config":"{config_name}","RepoTags":null,"Layers":["l0/layer.tar","l1/layer.tar"]}}]"#
    );
    add("manifest.json", manifest.as_bytes());
    b.finish().unwrap();
    drop(b);
    let image = Image::open(&Source::DockerArchive(out), None).unwrap();
    let err = image.filesystem().unwrap_err();
    assert!(
        matches!(&err, ImageError::DigestMismatch { blob, .. } if blob.contains("(uncompressed)")),
        "{err}"
    );
}

#[test]
fn opens_rootfs_directory_without_following_symlinks() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("rootfs");
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(root.join("etc/os-release"), "ID=debian").unwrap();
    std::os::unix::fs::symlink("/etc", root.join("hostetc")).unwrap();
    std::os::unix::fs::symlink("/etc/hostname", root.join("etc/hostname")).unwrap();
    let src = Source::detect(&root, &Limits::default()).unwrap();
    assert_eq!(src, Source::Rootfs(root.clone()));
    let image = Image::open(&src, None).unwrap();
    assert!(image.config().is_none() && image.layers().is_empty());
    let (fs, files) = image.capture(|_: &str, _: &_| true).unwrap();
    assert_eq!(
        paths(&fs),
        [
            "/etc:Dir",
            "/etc/hostname:Symlink",
            "/etc/os-release:File",
            "/hostetc:Symlink"
        ]
    );
    assert_eq!(
        contents(&files),
        [("/etc/os-release".to_owned(), "ID=debian".to_owned(), 0)]
    );
    // /hostetc/os-release resolves inside the image (its /etc), never the host's
    assert_eq!(
        fs.lookup("/hostetc/os-release").unwrap().unwrap().0,
        "/etc/os-release"
    );
}

#[test]
fn multi_platform_index_selection() {
    let dir = tempfile::tempdir().unwrap();
    support::multi_platform_layout(
        dir.path(),
        &[
            ("linux", "amd64", None),
            ("linux", "arm64", Some("v8")),
            ("linux", "arm", Some("v7")),
        ],
    );
    let src = Source::OciLayout(dir.path().to_path_buf());
    let err = Image::open(&src, None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the image has several platforms, choose one of: linux/amd64, linux/arm/v7, linux/arm64/v8"
    );
    for (want, file) in [
        ("linux/amd64", "linux/amd64"),
        ("linux/arm64", "linux/arm64/v8"),
        ("linux/arm64/v8", "linux/arm64/v8"),
        ("linux/arm/v7", "linux/arm/v7"),
    ] {
        let p: Platform = want.parse().unwrap();
        let image = Image::open(&src, Some(&p)).unwrap();
        let (_, files) = image.capture(|_: &str, _: &_| true).unwrap();
        assert_eq!(String::from_utf8_lossy(&files[0].content), file, "{want}");
    }
    let p: Platform = "linux/s390x".parse().unwrap();
    let err = Image::open(&src, Some(&p)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "platform linux/s390x not in the image, available: linux/amd64, linux/arm/v7, linux/arm64/v8"
    );
    for bad in ["linux", "linux/", "/amd64", "a/b/c/d", "linux/arm/"] {
        assert!(
            matches!(
                bad.parse::<Platform>(),
                Err(ImageError::InvalidPlatform { .. })
            ),
            "{bad}"
        );
    }
}

#[test]
fn sha512_layer_digest_is_verified() {
    let dir = tempfile::tempdir().unwrap();
    let l = layer(&[E::File("a", b"a")], Comp::Gzip);
    let config = support::config_json(std::slice::from_ref(&l), "linux", "amd64");
    support::put_blob(dir.path(), &config);
    let d512 = support::sha512(&l.blob);
    std::fs::create_dir_all(dir.path().join("blobs/sha512")).unwrap();
    std::fs::write(
        dir.path()
            .join("blobs/sha512")
            .join(d512.strip_prefix("sha512:").unwrap()),
        &l.blob,
    )
    .unwrap();
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": support::descriptor("application/vnd.oci.image.config.v1+json", &config),
        "layers": [{"mediaType": support::media_type(Comp::Gzip), "digest": d512, "size": l.blob.len()}]
    }))
    .unwrap();
    support::put_blob(dir.path(), &manifest);
    let index = serde_json::json!({"schemaVersion": 2, "manifests": [support::descriptor("application/vnd.oci.image.manifest.v1+json", &manifest)]});
    std::fs::write(
        dir.path().join("index.json"),
        serde_json::to_vec(&index).unwrap(),
    )
    .unwrap();
    let image = Image::open(&Source::OciLayout(dir.path().to_path_buf()), None).unwrap();
    assert_eq!(image.filesystem().unwrap().len(), 1);
    // corrupt it: the sha512 check fails
    let path = dir
        .path()
        .join("blobs/sha512")
        .join(d512.strip_prefix("sha512:").unwrap());
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&path, bytes).unwrap();
    let err = image.filesystem().unwrap_err();
    assert!(
        matches!(&err, ImageError::DigestMismatch { expected, .. } if expected == &d512),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// hostile input (issue 3 point 8). Nothing is ever extracted: every test only checks that the
// in-memory view stays inside the image and that errors are clear.

#[test]
fn path_traversal_and_absolute_paths_stay_inside() {
    let l = layer(
        &[
            E::File("../../../../tmp/evil", b"x"),
            E::File("/etc/abs", b"y"),
            E::File("a/../../b", b"z"),
            E::File("..", b""),
        ],
        Comp::Gzip,
    );
    let (fs, files) = squash_all(&[l]);
    assert_eq!(
        paths(&fs),
        [
            "/b:File",
            "/etc:Dir",
            "/etc/abs:File",
            "/tmp:Dir",
            "/tmp/evil:File"
        ]
    );
    assert_eq!(files.len(), 3);
    let kinds: Vec<AnomalyKind> = fs.anomalies().iter().map(|a| a.kind).collect();
    assert_eq!(
        kinds,
        [
            AnomalyKind::PathEscape,
            AnomalyKind::AbsolutePath,
            AnomalyKind::PathEscape,
            AnomalyKind::PathEscape
        ]
    );
}

#[test]
fn hardlink_escape_never_reads_host_files() {
    // /etc/passwd exists on the host; the image has none: the link is dangling, no content
    let l = layer(
        &[
            E::Hardlink("x", "../../etc/passwd"),
            E::Hardlink("y", "/etc/shadow"),
        ],
        Comp::None,
    );
    let (fs, files) = squash_all(&[l]);
    assert!(files.is_empty(), "{files:?}");
    let x = fs.get("/x").unwrap();
    assert_eq!(
        (x.kind, x.link_target.as_deref(), x.has_content()),
        (EntryKind::Hardlink, Some("/etc/passwd"), false)
    );
    let kinds: Vec<AnomalyKind> = fs.anomalies().iter().map(|a| a.kind).collect();
    assert_eq!(
        kinds,
        [
            AnomalyKind::HardlinkEscape,
            AnomalyKind::DanglingHardlink,
            AnomalyKind::DanglingHardlink
        ]
    );
    // with an /etc/passwd in the image, the escaping link resolves to the image's own file
    let l = layer(
        &[
            E::File("etc/passwd", b"image-root"),
            E::Hardlink("x", "../../etc/passwd"),
        ],
        Comp::None,
    );
    let (_, files) = squash_all(&[l]);
    assert_eq!(
        contents(&files),
        [
            ("/etc/passwd".into(), "image-root".into(), 0),
            ("/x".into(), "image-root".into(), 0)
        ]
    );
}

#[test]
fn symlink_escapes_resolve_inside_the_image_and_loops_error() {
    let l = layer(
        &[
            E::File("etc/passwd", b"image"),
            E::Symlink("up", "../../../../"),
            E::Symlink("abs", "/etc"),
            E::Symlink("loop1", "loop2"),
            E::Symlink("loop2", "loop1"),
            E::Symlink("self", "self/x"),
        ],
        Comp::None,
    );
    let (fs, _) = squash_all(&[l]);
    assert_eq!(fs.resolve("/up/etc/passwd").unwrap(), "/etc/passwd");
    assert_eq!(fs.lookup("/abs/passwd").unwrap().unwrap().0, "/etc/passwd");
    assert_eq!(fs.lookup("/up/nonexistent").unwrap(), None);
    for p in ["/loop1", "/loop2/x", "/self"] {
        let err = fs.resolve(p).unwrap_err();
        assert!(
            matches!(err, ImageError::SymlinkLoop { limit: 40, .. }),
            "{p}: {err}"
        );
    }
}

/// Writes a layout whose single layer is `blob` (with whatever digest it really has).
fn layout_with_blob(dir: &Path, blob: Vec<u8>, tar: Vec<u8>, comp: Comp) {
    support::oci_layout(dir, &[Layer { tar, blob, comp }]);
}

#[test]
fn decompression_bomb_per_layer_and_per_image() {
    let zeros = vec![0u8; 8 << 20];
    let mut b = tar::Builder::new(Vec::new());
    let h = support::raw_header(
        tar::EntryType::Regular,
        "bomb",
        "",
        zeros.len() as u64,
        0o644,
    );
    b.append(&h, zeros.as_slice()).unwrap();
    let tar = b.into_inner().unwrap();
    let blob = support::compress(&tar, Comp::Gzip);
    assert!(
        blob.len() < 64 << 10,
        "gzip of zeros is small: {}",
        blob.len()
    );
    let dir = tempfile::tempdir().unwrap();
    layout_with_blob(dir.path(), blob.clone(), tar.clone(), Comp::Gzip);
    let err = squash_err(
        dir.path(),
        &Limits {
            max_layer_bytes: 1 << 20,
            ..Limits::default()
        },
    );
    assert!(
        matches!(&err, ImageError::LayerTooLarge { limit, .. } if *limit == 1 << 20),
        "{err}"
    );
    assert!(err.to_string().starts_with("layer sha256:"), "{err}");
    // two layers each under the per-layer limit, together over the per-image limit
    let dir = tempfile::tempdir().unwrap();
    let l = Layer {
        tar,
        blob,
        comp: Comp::Gzip,
    };
    support::oci_layout(dir.path(), &[l.clone(), l]);
    let err = squash_err(
        dir.path(),
        &Limits {
            max_layer_bytes: 9 << 20,
            max_image_bytes: 12 << 20,
            ..Limits::default()
        },
    );
    assert!(matches!(err, ImageError::ImageTooLarge { .. }), "{err}");
}

#[test]
fn many_tiny_files_hit_the_entry_limit() {
    // 200k entries, built as a gzip stream so the fixture stays small in memory
    let mut b = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::fast(),
    ));
    for i in 0..200_000u32 {
        let h = support::raw_header(
            tar::EntryType::Regular,
            &format!("d{}/f{i}", i % 100),
            "",
            0,
            0o644,
        );
        b.append(&h, &[][..]).unwrap();
    }
    let blob = b.into_inner().unwrap().finish().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config =
        br#"{"os":"linux","architecture":"amd64","rootfs":{"type":"layers","diff_ids":[]}}"#;
    support::oci_layout_with(
        dir.path(),
        &[Layer {
            tar: Vec::new(),
            blob,
            comp: Comp::Gzip,
        }],
        config,
    );
    let err = squash_err(
        dir.path(),
        &Limits {
            max_entries: 100_000,
            ..Limits::default()
        },
    );
    assert!(
        matches!(err, ImageError::TooManyEntries { limit: 100_000, .. }),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with("the image has more than 100000 entries (at layer sha256:"),
        "{err}"
    );
}

#[test]
fn truncated_and_corrupt_layers_are_clear_errors() {
    let l = layer(
        &[E::File("a", &[7u8; 4000]), E::File("b", b"bb")],
        Comp::Gzip,
    );
    // truncated gzip (the digest is of the truncated bytes, so only decoding can fail)
    let cut = l.blob[..l.blob.len() / 2].to_vec();
    // corrupt gzip: garbage after a valid header
    let mut corrupt = l.blob.clone();
    for b in corrupt.iter_mut().skip(12).take(20) {
        *b ^= 0x5a;
    }
    // short plain tar: header says 4000 bytes, data stops early
    let short = l.tar[..1024].to_vec();
    // zstd garbage after the magic
    let zstd_bad = [0x28, 0xb5, 0x2f, 0xfd, 1, 2, 3, 4, 5, 6, 7, 8].to_vec();
    for (name, blob, comp) in [
        ("truncated gzip", cut, Comp::Gzip),
        ("corrupt gzip", corrupt, Comp::Gzip),
        ("short tar", short, Comp::None),
        ("bad zstd", zstd_bad, Comp::Zstd),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let config = br#"{"os":"linux","architecture":"amd64"}"#;
        support::oci_layout_with(
            dir.path(),
            &[Layer {
                tar: Vec::new(),
                blob,
                comp,
            }],
            config,
        );
        let err = squash_err(dir.path(), &Limits::default());
        assert!(
            matches!(err, ImageError::CorruptLayer { .. }),
            "{name}: {err}"
        );
        assert!(
            err.to_string().starts_with("corrupt layer sha256:"),
            "{name}: {err}"
        );
    }
}

#[test]
fn digest_mismatch_names_the_blob() {
    let dir = tempfile::tempdir().unwrap();
    let l = layer(&[E::File("a", b"original")], Comp::None);
    support::oci_layout(dir.path(), std::slice::from_ref(&l));
    let digest = support::sha256(&l.blob);
    let path = dir
        .path()
        .join("blobs/sha256")
        .join(digest.strip_prefix("sha256:").unwrap());
    let tampered = layer(&[E::File("a", b"tampered")], Comp::None).blob;
    assert_eq!(tampered.len(), l.blob.len());
    std::fs::write(&path, &tampered).unwrap();
    let err = squash_err(dir.path(), &Limits::default());
    let ImageError::DigestMismatch {
        blob,
        expected,
        found,
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!(
        (blob.as_str(), expected.as_str(), found.as_str()),
        (
            digest.as_str(),
            digest.as_str(),
            support::sha256(&tampered).as_str()
        )
    );
    // a tampered gzip layer reports the mismatch, not the decoder error it causes
    let dir = tempfile::tempdir().unwrap();
    let l = layer(&[E::File("a", &[1u8; 3000])], Comp::Gzip);
    support::oci_layout(dir.path(), std::slice::from_ref(&l));
    let digest = support::sha256(&l.blob);
    let path = dir
        .path()
        .join("blobs/sha256")
        .join(digest.strip_prefix("sha256:").unwrap());
    let mut bytes = l.blob.clone();
    bytes[15] ^= 0xff;
    std::fs::write(&path, &bytes).unwrap();
    let err = squash_err(dir.path(), &Limits::default());
    assert!(matches!(err, ImageError::DigestMismatch { .. }), "{err}");
    // a tampered config is caught when opening
    let dir = tempfile::tempdir().unwrap();
    support::oci_layout(dir.path(), std::slice::from_ref(&l));
    let config = support::config_json(std::slice::from_ref(&l), "linux", "amd64");
    let cpath = dir
        .path()
        .join("blobs/sha256")
        .join(support::sha256(&config).strip_prefix("sha256:").unwrap());
    std::fs::write(&cpath, config.to_ascii_uppercase()).unwrap();
    let err = Image::open(&Source::OciLayout(dir.path().to_path_buf()), None).unwrap_err();
    assert!(
        matches!(&err, ImageError::DigestMismatch { blob, .. } if blob.starts_with("config sha256:")),
        "{err}"
    );
}

#[test]
fn malformed_and_oversized_json_and_missing_blobs() {
    let l = layer(&[E::File("a", b"a")], Comp::None);
    let open = |dir: &Path, limits: &Limits| {
        Image::open_with(&Source::OciLayout(dir.to_path_buf()), None, limits).unwrap_err()
    };
    // malformed index.json
    let dir = tempfile::tempdir().unwrap();
    support::oci_layout(dir.path(), std::slice::from_ref(&l));
    std::fs::write(dir.path().join("index.json"), b"{\"manifests\": [").unwrap();
    let err = open(dir.path(), &Limits::default());
    assert!(
        matches!(&err, ImageError::Json { what, .. } if what == "index.json"),
        "{err}"
    );
    // malformed config (valid digest, broken JSON)
    let dir = tempfile::tempdir().unwrap();
    support::oci_layout_with(
        dir.path(),
        std::slice::from_ref(&l),
        br#"{"config": {"Env": "not a list"}}"#,
    );
    let err = open(dir.path(), &Limits::default());
    assert!(
        err.to_string().starts_with("malformed config sha256:"),
        "{err}"
    );
    // config larger than the JSON limit
    let dir = tempfile::tempdir().unwrap();
    let big = format!(r#"{{"os":"linux","comment":"{}"}}"#, "x".repeat(10_000));
    support::oci_layout_with(dir.path(), std::slice::from_ref(&l), big.as_bytes());
    let err = open(
        dir.path(),
        &Limits {
            max_json_bytes: 4096,
            ..Limits::default()
        },
    );
    assert!(
        matches!(err, ImageError::JsonTooLarge { limit: 4096, .. }),
        "{err}"
    );
    // diff_ids count does not match the layers
    let dir = tempfile::tempdir().unwrap();
    support::oci_layout_with(
        dir.path(),
        std::slice::from_ref(&l),
        br#"{"rootfs":{"type":"layers","diff_ids":[]}, "history": null}"#,
    );
    assert!(Image::open(&Source::OciLayout(dir.path().to_path_buf()), None).is_ok());
    let dir = tempfile::tempdir().unwrap();
    let two = format!(
        r#"{{"rootfs":{{"diff_ids":["{}","{}"]}}}}"#,
        support::sha256(b"1"),
        support::sha256(b"2")
    );
    support::oci_layout_with(dir.path(), std::slice::from_ref(&l), two.as_bytes());
    let err = open(dir.path(), &Limits::default());
    assert_eq!(
        err.to_string(),
        "invalid image config rootfs.diff_ids: expected 1 entries, one per layer, found 2"
    );
    // missing layer blob: an error at squash time naming the digest
    let dir = tempfile::tempdir().unwrap();
    support::oci_layout(dir.path(), std::slice::from_ref(&l));
    let digest = support::sha256(&l.blob);
    std::fs::remove_file(
        dir.path()
            .join("blobs/sha256")
            .join(digest.strip_prefix("sha256:").unwrap()),
    )
    .unwrap();
    let err = squash_err(dir.path(), &Limits::default());
    assert_eq!(
        err.to_string(),
        format!(
            "missing blob blobs/sha256/{}",
            digest.strip_prefix("sha256:").unwrap()
        )
    );
    // a manifest digest that is not a digest (path traversal in a digest)
    let dir = tempfile::tempdir().unwrap();
    support::oci_layout(dir.path(), std::slice::from_ref(&l));
    std::fs::write(
        dir.path().join("index.json"),
        br#"{"manifests":[{"digest":"sha256:../../../etc/passwd"}]}"#,
    )
    .unwrap();
    assert!(matches!(
        open(dir.path(), &Limits::default()),
        ImageError::InvalidDigest { .. }
    ));
    // missing index.json
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        open(dir.path(), &Limits::default()),
        ImageError::BlobNotFound { .. }
    ));
}

// ---------------------------------------------------------------------------------------------
// a real tool: umoci (Debian package) builds the layout from a rootfs this test makes

fn run(cmd: &str, args: &[&str], cwd: &Path) {
    let out = std::process::Command::new(cmd)
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Installs umoci from Debian when missing (fails, never skips).
fn ensure_umoci() {
    rampart_testkit::tools::ensure_tool("umoci", "umoci");
}

#[test]
fn reads_an_oci_layout_built_by_umoci() {
    use std::os::unix::fs::PermissionsExt;
    ensure_umoci();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("rootfs");
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::create_dir_all(root.join("usr/bin")).unwrap();
    std::fs::write(root.join("etc/os-release"), "ID=umoci-test\n").unwrap();
    std::fs::write(root.join("etc/removed"), "gone\n").unwrap();
    std::fs::write(root.join("usr/bin/tool"), "tool\n").unwrap();
    std::fs::set_permissions(
        root.join("usr/bin/tool"),
        std::fs::Permissions::from_mode(0o4755),
    )
    .unwrap();
    std::fs::hard_link(root.join("usr/bin/tool"), root.join("usr/bin/tool2")).unwrap();
    std::os::unix::fs::symlink("../usr/bin/tool", root.join("etc/link")).unwrap();
    let d = dir.path();
    run("umoci", &["init", "--layout", "oci"], d);
    run("umoci", &["new", "--image", "oci:latest"], d);
    run(
        "umoci",
        &["insert", "--image", "oci:latest", "rootfs", "/"],
        d,
    );
    run(
        "umoci",
        &[
            "insert",
            "--image",
            "oci:latest",
            "--whiteout",
            "/etc/removed",
        ],
        d,
    );
    run(
        "umoci",
        &[
            "config",
            "--image",
            "oci:latest",
            "--config.user",
            "1000",
            "--config.env",
            "A=b",
        ],
        d,
    );

    let src = Source::detect(d.join("oci"), &Limits::default()).unwrap();
    assert!(matches!(src, Source::OciLayout(_)));
    let image = Image::open(&src, None).unwrap();
    let cfg = image.config().unwrap();
    assert_eq!(cfg.config.user, "1000");
    assert!(cfg.config.env.contains(&"A=b".to_owned()));
    assert_eq!(image.layers().len(), 2);
    assert!(image.layers().iter().all(|l| {
        l.media_type
            .as_deref()
            .is_some_and(|m| m.ends_with("tar+gzip"))
    }));
    let (fs, files) = image
        .capture(|p: &str, _: &_| {
            p.starts_with("/usr/bin/") || p == "/etc/os-release" || p == "/etc/removed"
        })
        .unwrap();

    // the same tree as the rootfs itself, minus the whited-out file, hardlink recorded as such
    let from_rootfs = Image::open(&Source::Rootfs(root.clone()), None)
        .unwrap()
        .filesystem()
        .unwrap();
    let want: Vec<String> = from_rootfs
        .iter()
        .filter(|(p, _)| *p != "/etc/removed")
        .map(|(p, m)| {
            format!(
                "{p}:{:?}:{:o}",
                if p.ends_with("tool2") {
                    EntryKind::Hardlink
                } else {
                    m.kind
                },
                m.mode
            )
        })
        .collect();
    let got: Vec<String> = fs
        .iter()
        .map(|(p, m)| format!("{p}:{:?}:{:o}", m.kind, m.mode))
        .collect();
    assert_eq!(got, want);
    assert_eq!(
        fs.get("/etc/link").unwrap().link_target.as_deref(),
        Some("../usr/bin/tool")
    );
    assert!(fs.get("/usr/bin/tool").unwrap().is_setid());
    let got: Vec<(String, String, usize)> = contents(&files);
    assert_eq!(
        got.iter()
            .map(|(p, c, _)| (p.as_str(), c.as_str()))
            .collect::<Vec<_>>(),
        [
            ("/etc/os-release", "ID=umoci-test\n"),
            ("/usr/bin/tool", "tool\n"),
            ("/usr/bin/tool2", "tool\n")
        ]
    );
    let layer0 = image.layers()[0].digest.clone();
    assert!(
        files
            .iter()
            .all(|f| f.layer == 0 && f.layer_digest == layer0)
    );
}

#[test]
fn long_names_and_pax_headers_are_read_and_bounded() {
    // legit: a 300-byte path (GNU long name), a PAX path and a PAX size override
    let long = format!("{}/file", "d".repeat(295));
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(4);
    h.set_mode(0o644);
    b.append_data(&mut h, &long, &b"long"[..]).unwrap();
    b.append_pax_extensions([("path", &b"pax/named"[..]), ("size", &b"5"[..])])
        .unwrap();
    let h = support::raw_header(tar::EntryType::Regular, "ignored", "", 0, 0o644);
    let mut data = b"hello".to_vec();
    data.resize(512, 0);
    b.append(&h, &[][..]).unwrap();
    let mut tar = b.into_inner().unwrap();
    // the header declared 0 bytes; the PAX size says 5: put the data block where tar expects it
    let end = tar.len() - 1024;
    tar.splice(end..end, data);
    let l = Layer {
        blob: tar.clone(),
        tar,
        comp: Comp::None,
    };
    let (fs, files) = squash_all(&[l]);
    assert_eq!(fs.get(&format!("/{long}")).unwrap().size, 4);
    assert_eq!(fs.get("/pax/named").unwrap().size, 5);
    assert_eq!(
        contents(&files)
            .iter()
            .map(|(p, c, _)| (p.len(), c.as_str()))
            .collect::<Vec<_>>(),
        [(long.len() + 1, "long"), (10, "hello")]
    );

    // hostile: a GNU long-name entry declaring 8 MiB is refused before it is buffered
    let mut b = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::fast(),
    ));
    let big = vec![b'a'; 8 << 20];
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::GNULongName);
    h.set_size(big.len() as u64);
    h.set_cksum();
    b.append(&h, big.as_slice()).unwrap();
    let blob = b.into_inner().unwrap().finish().unwrap();
    let dir = tempfile::tempdir().unwrap();
    support::oci_layout_with(
        dir.path(),
        &[Layer {
            tar: Vec::new(),
            blob,
            comp: Comp::Gzip,
        }],
        br#"{"os":"linux"}"#,
    );
    let err = squash_err(dir.path(), &Limits::default());
    assert!(
        matches!(
            err,
            ImageError::TarMetadataTooLarge {
                limit: 1_048_576,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn a_file_that_is_no_image_archive_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.tar");
    std::fs::write(&text, "just text\n").unwrap();
    // a tar, but of neither layout
    let plain = dir.path().join("plain.tar");
    let mut b = tar::Builder::new(std::fs::File::create(&plain).unwrap());
    support::append(&mut b, &E::File("etc/hostname", b"box\n"));
    b.finish().unwrap();
    drop(b);
    for f in [&text, &plain] {
        let err = Source::detect(f, &Limits::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{}: not an image (expected an OCI layout, OCI archive or docker save archive)",
                f.display()
            )
        );
    }
}
