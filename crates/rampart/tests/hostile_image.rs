//! Hostile images through the `rampart` binary: escapes are contained and reported as findings,
//! broken images are clear errors, nothing is written anywhere, and the rest of the scan goes
//! on. The layers are written raw (rampart-image's test helper), as a malicious builder would.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;
#[path = "../../rampart-image/tests/support/mod.rs"]
mod support;

use serde_json::Value;
use std::path::Path;
use std::process::Output;
use support::{Comp, E, layer};

fn rampart(args: &[&str]) -> Output {
    common::rampart_command().args(args).output().unwrap()
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn escaping_entries_are_contained_reported_and_never_written() {
    let dir = tempfile::tempdir().unwrap();
    let canary = format!("rampart-canary-{}", std::process::id());
    let escape: &'static str =
        Box::leak(format!("../../../../../../tmp/{canary}").into_boxed_str());
    let absolute: &'static str = Box::leak(format!("/tmp/{canary}-abs").into_boxed_str());
    let l0 = layer(
        &[
            E::File(escape, b"owned"),
            E::File(absolute, b"owned"),
            E::Symlink("etc/evil", "/../../../etc/shadow"),
            E::Symlink("loop/a", "b"),
            E::Symlink("loop/b", "a"),
            E::Hardlink("app/steal", "../../../etc/passwd"),
            E::Symlink("bin", "usr/bin"),
            E::FileMode("bin/sh", b"#!/bin/sh\n", 0o755),
        ],
        Comp::Gzip,
    );
    support::oci_layout(dir.path(), &[l0]);
    let out = rampart(&[
        "scan",
        "--image",
        dir.path().to_str().unwrap(),
        "--format",
        "json",
        "--fail-on",
        "high",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    let hostile: Vec<String> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule_id"] == "IMG011")
        .map(|f| f["message"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(hostile.len(), 3, "{hostile:?}");
    for kind in ["PathEscape", "AbsolutePath", "HardlinkEscape"] {
        assert!(
            hostile.iter().any(|m| m.contains(kind)),
            "{kind}: {hostile:?}"
        );
    }
    // The symlinked parent (bin -> usr/bin) still gives the shell its real path.
    assert!(
        v["images"][0]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "/usr/bin/sh")
    );
    for p in [format!("/tmp/{canary}"), format!("/tmp/{canary}-abs")] {
        assert!(!Path::new(&p).exists(), "{p} was written");
    }
}

#[test]
fn broken_and_bomb_images_are_errors_with_names_and_no_panic() {
    let dir = tempfile::tempdir().unwrap();
    // 1. truncated gzip layer (blob digest of the truncated bytes, so only the stream breaks)
    let good = layer(&[E::File("etc/os-release", b"ID=debian\n")], Comp::Gzip);
    let mut cut = good.blob.clone();
    cut.truncate(cut.len() / 2);
    let truncated = dir.path().join("truncated");
    support::oci_layout(
        &truncated,
        &[support::Layer {
            tar: good.tar.clone(),
            blob: cut,
            comp: Comp::Gzip,
        }],
    );
    // 2. a malformed manifest: index.json that is not JSON
    let malformed = dir.path().join("malformed");
    support::oci_layout(&malformed, std::slice::from_ref(&good));
    std::fs::write(malformed.join("index.json"), b"{\"manifests\": [").unwrap();
    // 3. an archive that is not a tar at all
    let junk = dir.path().join("junk.tar");
    std::fs::write(&junk, b"this is not a tar archive").unwrap();
    for (target, expected) in [
        (truncated.to_str().unwrap(), "corrupt layer"),
        (malformed.to_str().unwrap(), "index.json"),
        (junk.to_str().unwrap(), "junk.tar"),
    ] {
        // A layer cache of its own: the blobs must be read (a record of the good layer's diff
        // id, left by another test, would stand for the truncated one).
        let out = common::rampart_command()
            .args(["sbom", target, "-f", "table"])
            .env("RAMPART_LAYER_CACHE", dir.path().join("layers.db"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{target}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expected), "{target}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}
