//! The layer cache from the command line (docs/layer-cache.md): a report from the cache is the
//! cold report, byte for byte, for a local image whose blobs are gone and for a registry image
//! whose blobs left the registry; scans running together share one cache; a cache that cannot
//! be used is said once and changes nothing else; `rampart cache` shows and purges it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::{Auth, Registry, image_dir, json, ok, rampart_command, root};
use serde_json::Value;

/// The ecosystems of the test database: the test image's other packages are accepted as not
/// checked (tests/image.rs says why).
const COVERED: [&str; 2] = ["--vuln-ecosystems", "go,pypi,crates.io"];

/// `rampart args` with the layer cache at `cache` (`None`: `--no-layer-cache`).
fn rampart(args: &[&str], cache: Option<&Path>) -> Output {
    let mut c = rampart_command();
    c.args(args).current_dir(root()).stdin(Stdio::null());
    match cache {
        Some(file) => c.env("RAMPART_LAYER_CACHE", file),
        None => c.arg("--no-layer-cache"),
    };
    c.output().unwrap()
}

fn scan_args(target: &str) -> Vec<&str> {
    let mut args = vec![
        "scan",
        "--image",
        target,
        "--format",
        "json",
        "--no-config",
        "--no-inventory",
    ];
    args.extend(COVERED);
    args
}

/// Standard output of a scan that ended as the cold one did (findings: exit 1 or 0).
fn report(out: &Output) -> String {
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn layers_in(cache: &Path) -> u64 {
    let info = json(ok(&rampart_command()
        .args(["cache", "info", "-f", "json"])
        .env("RAMPART_LAYER_CACHE", cache)
        .output()
        .unwrap()));
    info["layers"].as_u64().unwrap()
}

fn layer_blobs(layout: &Path) -> Vec<std::path::PathBuf> {
    let index: Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let d = index["manifests"][0]["digest"].as_str().unwrap();
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(layout.join("blobs/sha256").join(&d[7..])).unwrap())
            .unwrap();
    manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            layout
                .join("blobs/sha256")
                .join(&l["digest"].as_str().unwrap()[7..])
        })
        .collect()
}

#[test]
fn a_report_from_the_cache_is_the_cold_report_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("oci");
    let status = Command::new("cp")
        .arg("-a")
        .arg(image_dir().join("oci"))
        .arg(&layout)
        .status()
        .unwrap();
    assert!(status.success());
    let target = format!("oci-dir:{}", layout.display());
    let cache = dir.path().join("layers.db");
    let cold = report(&rampart(&scan_args(&target), None));
    assert!(!cache.exists(), "--no-layer-cache writes nothing");
    assert!(cold.contains("\"packages\""), "{cold}");
    let recorded = report(&rampart(&scan_args(&target), Some(&cache)));
    assert_eq!(cold, recorded);
    assert_eq!(layers_in(&cache), 2);
    // The SBOM too (no secret search: records of its own).
    let sbom = |cache: Option<&Path>| {
        let out = rampart(
            &["sbom", &target, "-f", "cyclonedx-json", "--reproducible"],
            cache,
        );
        String::from_utf8(ok(&out).stdout.clone()).unwrap()
    };
    let cold_sbom = sbom(None);
    assert_eq!(cold_sbom, sbom(Some(&cache)));
    assert_eq!(layers_in(&cache), 4);
    // The blobs are gone: only the cache can give the report now.
    for blob in layer_blobs(&layout) {
        std::fs::remove_file(blob).unwrap();
    }
    let without_cache = rampart(&scan_args(&target), None);
    assert_eq!(
        without_cache.status.code(),
        Some(2),
        "the blobs are needed without the cache"
    );
    assert_eq!(cold, report(&rampart(&scan_args(&target), Some(&cache))));
    assert_eq!(cold_sbom, sbom(Some(&cache)));
}

#[test]
fn a_registry_image_is_reported_the_same_once_its_blobs_left_the_registry() {
    let reg = Registry::start(Auth::None);
    common::push(&reg, "team/app:1", None);
    let target = reg.reference("team/app:1");
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("layers.db");
    let mut args = scan_args(&target);
    args.push("--insecure");
    let cold = report(&rampart(&args, None));
    assert_eq!(cold, report(&rampart(&args, Some(&cache))));
    let pulled = common::pull_insecure(&target);
    assert_eq!(pulled.layers().len(), 2);
    for l in pulled.layers() {
        let digest = l.digest.as_ref().unwrap().to_string();
        std::fs::remove_file(reg.blob_file(&digest)).unwrap();
    }
    assert_eq!(rampart(&args, None).status.code(), Some(2));
    assert_eq!(cold, report(&rampart(&args, Some(&cache))));
}

#[test]
fn scans_running_together_share_one_cache() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("layers.db");
    let target = format!("oci-dir:{}", image_dir().join("oci").display());
    let cold = report(&rampart(&scan_args(&target), None));
    let children: Vec<_> = (0..6)
        .map(|_| {
            rampart_command()
                .args(scan_args(&target))
                .current_dir(root())
                .env("RAMPART_LAYER_CACHE", &cache)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert_eq!(report(&out), cold);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("layer cache"), "{err}");
    }
    assert_eq!(layers_in(&cache), 2);
}

#[test]
fn a_cache_that_cannot_be_used_is_said_once_and_changes_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let target = format!("oci-dir:{}", image_dir().join("oci").display());
    let cold = rampart(&scan_args(&target), None);
    // a file where the cache's directory should be; a server that is not there
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "x").unwrap();
    for location in [
        blocker.join("layers.db").display().to_string(),
        String::from("postgres://rampart:s3cret@127.0.0.1:1/cache"),
    ] {
        let out = rampart_command()
            .args(scan_args(&target))
            .arg("--image")
            .arg(format!(
                "oci-dir:{}",
                image_dir().join("oci-zstd").display()
            ))
            .current_dir(root())
            .env("RAMPART_LAYER_CACHE", &location)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), cold.status.code());
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.matches("going on without it").count(), 1, "{err}");
        assert!(!err.contains("s3cret"), "{err}");
        let v = json(&out);
        assert_eq!(v["images"].as_array().unwrap().len(), 2);
        assert!(v["errors"].as_array().unwrap().is_empty(), "{v}");
    }
}

#[test]
fn the_default_cache_is_in_the_user_cache_directory() {
    let home = tempfile::tempdir().unwrap();
    let target = format!("oci-dir:{}", image_dir().join("oci").display());
    let out = rampart_command()
        // the advisory database is not in that cache directory: no vulnerability check
        .args([
            "scan",
            "--image",
            &target,
            "-f",
            "json",
            "--no-config",
            "--no-vulns",
        ])
        .args(["--no-inventory"])
        .current_dir(root())
        .env_remove("RAMPART_CACHE_DIR")
        .env("XDG_CACHE_HOME", home.path().join("xdg"))
        .env("HOME", home.path())
        .output()
        .unwrap();
    report(&out);
    let file = home.path().join("xdg/rampart/layers.db");
    assert!(file.is_file());
    assert_eq!(layers_in(&file), 2);
    // without XDG_CACHE_HOME, ~/.cache
    let out = rampart_command()
        .args(["sbom", &target, "-f", "json"])
        .env_remove("RAMPART_CACHE_DIR")
        .env_remove("XDG_CACHE_HOME")
        .env("HOME", home.path())
        .output()
        .unwrap();
    ok(&out);
    assert!(home.path().join(".cache/rampart/layers.db").is_file());
}

#[test]
fn cache_info_and_purge_keep_this_version_and_bound_the_size() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("layers.db");
    let target = format!("oci-dir:{}", image_dir().join("oci").display());
    report(&rampart(&scan_args(&target), Some(&cache)));
    ok(&rampart(&["sbom", &target, "-f", "json"], Some(&cache)));
    // a record of an older rampart
    let old = rampart_layercache::LayerCache::open(&cache.to_string_lossy()).unwrap();
    old.store(
        &rampart_image::Digest::sha256_of(b"old layer"),
        "rampart-inspect 0.0.1+0 r1 secrets",
        b"old payload",
    )
    .unwrap();
    drop(old);
    let info = json(ok(&rampart(&["cache", "info", "-f", "json"], Some(&cache))));
    assert_eq!(info["layers"], 5, "{info}");
    let analyses = info["analyses"].as_array().unwrap();
    assert_eq!(analyses.len(), 3, "{info}");
    assert_eq!(
        analyses.iter().filter(|a| a["current"] == true).count(),
        2,
        "secrets and no-secrets of this version: {info}"
    );
    let table = ok(&rampart(&["cache", "info"], Some(&cache)))
        .stdout
        .clone();
    assert!(String::from_utf8_lossy(&table).contains("0.0.1+0"));
    let purge = ok(&rampart(&["cache", "purge"], Some(&cache)))
        .stderr
        .clone();
    assert!(
        String::from_utf8_lossy(&purge).contains("1 record(s)"),
        "{}",
        String::from_utf8_lossy(&purge)
    );
    assert_eq!(layers_in(&cache), 4);
    // bounded: the least recently used go first (every record is larger than this bound)
    ok(&rampart(
        &["cache", "purge", "--max-size", "1K"],
        Some(&cache),
    ));
    assert_eq!(layers_in(&cache), 0);
    ok(&rampart(&["cache", "purge", "--all"], Some(&cache)));
    assert_eq!(layers_in(&cache), 0);
    let bad = rampart(&["cache", "purge", "--max-size", "lots"], Some(&cache));
    assert_eq!(bad.status.code(), Some(2));
}
