//! Helpers shared by the binary's integration tests: running `rampart`, reading its JSON, and
//! the cached real components (validator venv, test image) installed or built on first use.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

pub use rampart_testkit::paths::root;
#[allow(unused_imports, reason = "used by some of the test binaries")]
pub use rampart_testkit::registry::{Auth, Registry};

/// Runs `rampart args` in `cwd`, colour not forced off by the environment.
pub fn rampart_in(args: &[&str], cwd: &Path) -> Output {
    rampart_command()
        .args(args)
        .current_dir(cwd)
        .env_remove("NO_COLOR")
        .output()
        .unwrap()
}

/// The `rampart` binary with its cache directory (advisory database, inventory, layer cache)
/// set to [`cache_dir`], whatever the environment says about the layer cache.
pub fn rampart_command() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rampart"));
    c.env("RAMPART_CACHE_DIR", cache_dir())
        .env_remove("RAMPART_LAYER_CACHE")
        .env_remove("RAMPART_NO_LAYER_CACHE");
    c
}

/// The real advisories of ../shared/corpus (RustSec, Go, PyPA) imported with `rampart db
/// import` into `osv.db` of a temporary cache directory, once per test binary.
pub fn cache_dir() -> &'static Path {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, p) = DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let corpus = root().join("../shared/corpus");
        let out = Command::new(env!("CARGO_BIN_EXE_rampart"))
            .args(["db", "import", "--db"])
            .arg(dir.path().join("osv.db"))
            .arg(corpus.join("osv-rustsec/crates"))
            .arg(corpus.join("osv-go/data/osv"))
            .arg(corpus.join("osv-pypa/vulns"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "db import: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let p = dir.path().to_owned();
        (dir, p)
    });
    p
}

/// A layer cache file of this test binary's own, for tests whose `rampart` keeps its default
/// cache directory (they must not write to the user's).
pub fn layer_cache_file() -> PathBuf {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().unwrap())
        .path()
        .join("layers.db")
}

/// Asserts the command succeeded, or fails the test with its exit code and both streams.
pub fn ok(out: &Output) -> &Output {
    assert!(
        out.status.success(),
        "exit {:?}\n{}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Parses standard output as JSON, or fails the test with both streams.
pub fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// The reference validators (scripts/install-oracles.sh).
pub fn oracles() -> &'static Path {
    rampart_testkit::oracles::dir()
}

/// The realistic test image in every form (scripts/build-test-image.sh).
pub fn image_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| rampart_testkit::oracles::cached_script_dir("build-test-image.sh"))
}

/// Validates `instance` against `schema` with Python's `jsonschema` (format checks on).
pub fn validate_with_jsonschema(schema: &Path, instance: &Path) -> Result<(), String> {
    let script = "import json,sys,jsonschema\n\
        schema=json.load(open(sys.argv[1])); inst=json.load(open(sys.argv[2]))\n\
        cls=jsonschema.validators.validator_for(schema); cls.check_schema(schema)\n\
        errs=sorted(cls(schema, format_checker=cls.FORMAT_CHECKER).iter_errors(inst), key=lambda e: list(e.path))\n\
        [print(list(e.path), e.message) for e in errs[:20]]\n\
        sys.exit(1 if errs else 0)";
    let out = Command::new(oracles().join("venv/bin/python"))
        .args(["-c", script])
        .arg(schema)
        .arg(instance)
        .output()
        .unwrap();
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// Copies the test image (tag `test` of its OCI layout) into `reg` as `reference`.
pub fn push(reg: &Registry, reference: &str, creds: Option<&str>) {
    let source = format!("oci:{}:test", image_dir().join("oci").display());
    reg.push(&source, reference, creds);
}

/// Opens `reference` from a plain-HTTP test registry (manifest and config fetched, no layer
/// read): its layers' and config's digests, for the blobs a test deletes from the registry.
pub fn pull_insecure(reference: &str) -> rampart_image::Image {
    rampart_registry::open_image(
        &rampart_registry::Reference::parse(reference).unwrap(),
        None,
        &rampart_registry::ClientOptions {
            insecure: true,
            ..rampart_registry::ClientOptions::default()
        },
        &rampart_image::Limits::default(),
    )
    .unwrap()
}
