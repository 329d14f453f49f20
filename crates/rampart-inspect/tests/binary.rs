//! The streaming and seeking ELF readers against the whole-file parsers of rampart-sbom (which
//! are themselves checked against `go version -m` and cargo's metadata), on real binaries:
//! skopeo (a Go program from Debian, installed for the registry tests), the Go programs of the
//! test image, and real ELF files given a `.dep-v0` section by binutils' objcopy.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use rampart_image::FileContent;
use rampart_inspect::binary::analyze;
use rampart_sbom::catalog::{go_binary, rust_binary};

use rampart_testkit::paths::root;

fn purls(p: &[rampart_sbom::Package]) -> Vec<String> {
    let mut v: Vec<String> = p
        .iter()
        .filter(|p| p.name != "stdlib")
        .map(|p| p.purl.to_string())
        .collect();
    v.sort();
    v
}

/// (stream result, seek result) for a file.
fn both(path: &Path) -> (Vec<String>, Vec<String>) {
    let bytes = std::fs::read(path).unwrap();
    let mut slice = bytes.as_slice();
    let stream = analyze("x", FileContent::Stream(&mut slice)).unwrap();
    let mut f = std::fs::File::open(path).unwrap();
    let seek = analyze("x", FileContent::File(&mut f)).unwrap();
    let p =
        |x: Option<rampart_inspect::BinaryFacts>| x.map(|f| purls(&f.packages)).unwrap_or_default();
    (p(stream), p(seek))
}

use rampart_testkit::tools::ensure_tool as ensure;

#[test]
fn go_binaries_read_streaming_and_seeking_match_the_whole_file_parser() {
    ensure("skopeo", "skopeo");
    let out = Command::new("bash")
        .arg(root().join("scripts/build-test-image.sh"))
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    assert!(out.status.success());
    let image = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim()).join("rootfs");
    let mut with_modules = 0;
    for bin in [
        PathBuf::from("/usr/bin/skopeo"),
        image.join("app/testapp"),
        image.join("usr/local/go/bin/go"),
        image.join("usr/local/go/bin/gofmt"),
    ] {
        let whole = purls(&go_binary("x", &std::fs::read(&bin).unwrap()).unwrap());
        let (stream, seek) = both(&bin);
        assert_eq!(stream, whole, "stream {}", bin.display());
        assert_eq!(seek, whole, "seek {}", bin.display());
        // Every Go binary also yields the standard library it was built with.
        let bytes = std::fs::read(&bin).unwrap();
        let mut slice = bytes.as_slice();
        let facts = analyze("x", FileContent::Stream(&mut slice))
            .unwrap()
            .unwrap();
        assert!(
            facts
                .packages
                .iter()
                .any(|p| p.name == "stdlib"
                    && p.purl.to_string().starts_with("pkg:golang/stdlib@1."))
        );
        with_modules += usize::from(whole.len() > 1);
    }
    assert!(
        with_modules >= 1,
        "the test image's program has module dependencies"
    );
}

#[test]
fn dep_v0_sections_added_by_objcopy_are_found_streaming_and_seeking() {
    let dir = tempfile::tempdir().unwrap();
    let json = br#"{"packages":[{"name":"app","version":"0.1.0","source":"local","kind":"runtime","root":true,"dependencies":[1]},{"name":"serde","version":"1.0.200","source":"crates.io","kind":"runtime"},{"name":"cc","version":"1.0.0","source":"crates.io","kind":"build"}]}"#;
    let compressed = miniz_oxide::deflate::compress_to_vec_zlib(json, 6);
    let section = dir.path().join("dep");
    std::fs::write(&section, compressed).unwrap();
    // A small C program, a larger one, and this test's own (unstripped, with debug info) binary.
    let me = std::env::current_exe().unwrap().display().to_string();
    for base in ["/usr/bin/true", "/usr/bin/objcopy", me.as_str()] {
        let bin = dir.path().join("bin");
        let ok = Command::new("objcopy")
            .arg("--add-section")
            .arg(format!(".dep-v0={}", section.display()))
            .arg(base)
            .arg(&bin)
            .status()
            .unwrap()
            .success();
        assert!(ok, "objcopy on {base}");
        let whole = purls(&rust_binary("x", &std::fs::read(&bin).unwrap()).unwrap());
        assert_eq!(
            whole,
            ["pkg:cargo/app@0.1.0", "pkg:cargo/serde@1.0.200"],
            "{base}"
        );
        let (stream, seek) = both(&bin);
        assert_eq!(stream, whole, "stream {base}");
        assert_eq!(seek, whole, "seek {base}");
        // and the original, without the section, has nothing
        let none: (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
        assert_eq!(both(Path::new(base)), none, "{base}");
    }
}

#[test]
fn hostile_elf_headers_never_panic() {
    let mut cases: Vec<Vec<u8>> = Vec::new();
    let mut h = b"\x7fELF\x02\x01\x01".to_vec();
    h.resize(64, 0);
    cases.push(h.clone());
    for (off, len) in [
        (0x28usize, 8usize),
        (0x3a, 2),
        (0x3c, 2),
        (0x3e, 2),
        (0x20, 8),
        (0x36, 2),
        (0x38, 2),
    ] {
        let mut c = h.clone();
        for b in &mut c[off..off + len] {
            *b = 0xff;
        }
        cases.push(c);
    }
    let mut go = h.clone();
    go.extend_from_slice(b"\xff Go buildinf:\x08\x02");
    go.resize(go.len() + 16, 0);
    go.extend_from_slice(&[0xff; 12]);
    cases.push(go);
    for c in cases {
        let mut s = c.as_slice();
        let _ = analyze("x", FileContent::Stream(&mut s));
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, &c).unwrap();
        let mut f = std::fs::File::open(&p).unwrap();
        let _ = analyze("x", FileContent::File(&mut f));
    }
}

#[test]
fn dotnet_single_file_bundles_are_read_streaming_and_seeking() {
    // The SARIF Multitool the report tests install is a .NET single-file bundle.
    let bin = rampart_testkit::oracles::dir().join("sarif/Sarif.Multitool");
    let whole =
        purls(&rampart_sbom::catalog::dotnet_bundle("x", &std::fs::read(&bin).unwrap()).unwrap());
    assert!(whole.len() > 50, "{}", whole.len());
    assert!(whole.iter().all(|p| p.starts_with("pkg:nuget/")));
    let (stream, seek) = both(&bin);
    assert_eq!(stream, whole);
    assert_eq!(seek, whole);
}
