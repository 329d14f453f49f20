//! Inspections through the cache on real images equal cold inspections: every image rule's
//! examples, the realistic test image in its every form (scripts/build-test-image.sh) with its
//! blobs deleted after the first read, and images in a real registry that share a base, whose
//! blob is deleted from the registry once read; with SQLite and with PostgreSQL, and with a
//! cache server that goes away.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../../rampart-image/tests/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use rampart_image::{CacheReport, Image, LayerStore, Lookup, Source};
use rampart_inspect::{InspectOptions, Inspection, inspect, inspect_cached, rules, sketch};
use rampart_layercache::LayerCache;
use rampart_testkit::postgres::Postgres;
use rampart_testkit::registry::{Auth, Registry};
use serde_json::Value;

fn pg() -> &'static Postgres {
    static PG: OnceLock<Postgres> = OnceLock::new();
    PG.get_or_init(Postgres::start)
}

fn test_image() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| rampart_testkit::oracles::cached_script_dir("build-test-image.sh"))
}

fn opts(secrets: bool) -> InspectOptions {
    InspectOptions {
        secrets,
        today: jiff::civil::date(2026, 11, 27),
    }
}

/// Everything an inspection holds: its JSON (what reports are made of) and its debug form (every
/// field, purls' parts included).
fn shown(ins: &Inspection) -> String {
    format!("{}\n{ins:?}", serde_json::to_string_pretty(ins).unwrap())
}

fn sqlite_cache(dir: &Path) -> LayerCache {
    LayerCache::open(&dir.join("layers.db").to_string_lossy()).unwrap()
}

/// Inspects through the cache and checks the result against `cold`.
fn cached(
    image: &Image,
    cold: &Inspection,
    opts: &InspectOptions,
    cache: &dyn LayerStore,
) -> CacheReport {
    let (ins, report) = inspect_cached(image, &cold.name, opts, cache).unwrap();
    assert_eq!(shown(cold), shown(&ins), "{report:?}");
    report
}

#[test]
fn every_image_rule_example_inspects_the_same_through_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let cache = sqlite_cache(dir.path());
    for r in rules::rules() {
        for text in [r.bad_example, r.good_example] {
            let image = sketch::image(text).unwrap();
            let opts = opts(true);
            let cold = inspect(&image, "example:1", &opts).unwrap();
            let first = cached(&image, &cold, &opts, &cache);
            let second = cached(&image, &cold, &opts, &cache);
            assert_eq!(second.hits(), image.layers().len(), "{}: {second:?}", r.id);
            assert!(
                first.saved() + first.hits() >= image.layers().len(),
                "{}",
                r.id
            );
        }
    }
}

/// The blobs of `layout`'s image (an OCI layout) that are layers.
fn layer_blobs(layout: &Path) -> Vec<PathBuf> {
    let index: Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let mut blobs = Vec::new();
    for m in index["manifests"].as_array().unwrap() {
        let d = m["digest"].as_str().unwrap();
        let manifest: Value = serde_json::from_slice(
            &std::fs::read(layout.join("blobs/sha256").join(&d[7..])).unwrap(),
        )
        .unwrap();
        for l in manifest["layers"].as_array().unwrap() {
            blobs.push(
                layout
                    .join("blobs/sha256")
                    .join(&l["digest"].as_str().unwrap()[7..]),
            );
        }
    }
    blobs
}

fn copy_dir(from: &Path, to: &Path) {
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn the_realistic_image_in_every_form_inspects_the_same_with_its_blobs_gone() {
    let image_dir = test_image();
    let work = tempfile::tempdir().unwrap();
    let cache = sqlite_cache(work.path());
    let layout = work.path().join("oci");
    copy_dir(&image_dir.join("oci"), &layout);
    for secrets in [false, true] {
        let opts = opts(secrets);
        let image = Image::open(&Source::OciLayout(layout.clone()), None).unwrap();
        let cold = inspect(&image, "test-image", &opts).unwrap();
        assert!(cold.packages.len() > 50, "the realistic image has packages");
        let first = cached(&image, &cold, &opts, &cache);
        assert_eq!(first.hits(), 0, "nothing cached yet for secrets={secrets}");
        assert_eq!(first.saved(), image.layers().len());
        // The layer blobs are deleted: only the records can give the inspection now.
        if secrets {
            for blob in layer_blobs(&layout) {
                std::fs::remove_file(blob).unwrap();
            }
            let again = Image::open(&Source::OciLayout(layout.clone()), None).unwrap();
            assert!(
                inspect(&again, "test-image", &opts).is_err(),
                "the blobs are gone"
            );
            let report = cached(&again, &cold, &opts, &cache);
            assert_eq!(report.blobs_read(), 0, "{report:?}");
        }
    }
    // The other forms (zstd layers, docker-archive, OCI archive) carry the same diff ids: their
    // layers are replayed from the records of the first, and equal their own cold inspection.
    for (form, source) in [
        ("oci-zstd", Source::OciLayout(image_dir.join("oci-zstd"))),
        (
            "docker.tar",
            Source::DockerArchive(image_dir.join("docker.tar")),
        ),
        ("oci.tar", Source::OciArchive(image_dir.join("oci.tar"))),
    ] {
        let opts = opts(true);
        let image = Image::open(&source, None).unwrap();
        let cold = inspect(&image, form, &opts).unwrap();
        let report = cached(&image, &cold, &opts, &cache);
        assert_eq!(report.hits(), image.layers().len(), "{form}: {report:?}");
    }
    let info = cache.info().unwrap();
    assert_eq!(info.analyses.len(), 2, "one key with secrets, one without");
}

/// Pushes an OCI layout to the registry.
fn push(reg: &Registry, layout: &Path, name: &str) -> rampart_registry::Reference {
    reg.push_layout(layout, None, name);
    rampart_registry::Reference::parse(&reg.reference(name)).unwrap()
}

fn registry_image(r: &rampart_registry::Reference) -> Image {
    let client = rampart_registry::ClientOptions {
        insecure: true,
        ..rampart_registry::ClientOptions::default()
    };
    rampart_registry::open_image(r, None, &client, &rampart_image::Limits::default()).unwrap()
}

/// A second image on the realistic image's base layer: its base blob, and an app layer of its
/// own (a Python package and a credential file).
fn sibling_of(base_layout: &Path, out: &Path) {
    let index: Value =
        serde_json::from_slice(&std::fs::read(base_layout.join("index.json")).unwrap()).unwrap();
    let md = index["manifests"][0]["digest"].as_str().unwrap();
    let manifest: Value = serde_json::from_slice(
        &std::fs::read(base_layout.join("blobs/sha256").join(&md[7..])).unwrap(),
    )
    .unwrap();
    let cd = manifest["config"]["digest"].as_str().unwrap();
    let config: Value = serde_json::from_slice(
        &std::fs::read(base_layout.join("blobs/sha256").join(&cd[7..])).unwrap(),
    )
    .unwrap();
    let base = &manifest["layers"][0];
    let base_blob = std::fs::read(
        base_layout
            .join("blobs/sha256")
            .join(&base["digest"].as_str().unwrap()[7..]),
    )
    .unwrap();
    let app = support::layer(
        &[
            support::E::Dir("srv/"),
            support::E::File(
                "srv/venv/lib/python3.11/site-packages/tiny-1.0.dist-info/METADATA",
                b"Metadata-Version: 2.1\nName: tiny\nVersion: 1.0\n",
            ),
            support::E::File(
                "srv/.env",
                b"AWS_ACCESS_KEY_ID=AKIAZ7QK3XHV9PLM2RTW\nAWS_SECRET_ACCESS_KEY=q8Fh2kLm9Xv3Rt7Yp1Wz5Nc4Bd6Gs0Ja8Ke2Ui9O\n",
            ),
        ],
        support::Comp::Gzip,
    );
    std::fs::create_dir_all(out.join("blobs/sha256")).unwrap();
    support::put_blob(out, &base_blob);
    support::put_blob(out, &app.blob);
    let mut config = config;
    config["rootfs"]["diff_ids"] = serde_json::json!([
        config["rootfs"]["diff_ids"][0].clone(),
        support::sha256(&app.tar)
    ]);
    config["history"] = serde_json::json!([]);
    let config = serde_json::to_vec(&config).unwrap();
    support::put_blob(out, &config);
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": support::descriptor("application/vnd.oci.image.config.v1+json", &config),
        "layers": [base.clone(), support::descriptor(support::media_type(app.comp), &app.blob)]
    }))
    .unwrap();
    support::put_blob(out, &manifest);
    let index = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [support::descriptor("application/vnd.oci.image.manifest.v1+json", &manifest)]
    });
    std::fs::write(out.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    std::fs::write(out.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
}

#[test]
fn registry_images_sharing_a_base_read_it_once_through_postgres() {
    let reg = Registry::start(Auth::None);
    let work = tempfile::tempdir().unwrap();
    let sibling = work.path().join("sibling");
    sibling_of(&test_image().join("oci"), &sibling);
    let first_ref = push(&reg, &test_image().join("oci"), "team/app:1");
    let second_ref = push(&reg, &sibling, "team/tool:1");
    let opts = opts(true);
    let first = registry_image(&first_ref);
    let second = registry_image(&second_ref);
    let base_digest = first.layers()[0].digest.clone().unwrap();
    assert_eq!(second.layers()[0].digest.as_ref(), Some(&base_digest));
    let cold_first = inspect(&first, "team/app:1", &opts).unwrap();
    let cold_second = inspect(&second, "team/tool:1", &opts).unwrap();
    assert!(
        cold_second
            .facts
            .secrets
            .iter()
            .any(|s| s.place == "/srv/.env")
    );

    let url = pg().database();
    let cache = LayerCache::open(&url).unwrap();
    let report = cached(&first, &cold_first, &opts, &cache);
    assert_eq!(report.saved(), 2);
    // The base blob leaves the registry: the second image is assessed all the same, its base
    // from the record the first one left (by another connection, as another worker would).
    std::fs::remove_file(reg.blob_file(&base_digest.to_string())).unwrap();
    assert!(inspect(&registry_image(&second_ref), "x", &opts).is_err());
    let other_worker = LayerCache::open(&url).unwrap();
    let report = cached(
        &registry_image(&second_ref),
        &cold_second,
        &opts,
        &other_worker,
    );
    assert_eq!(report.layers[0].lookup, Lookup::Hit);
    assert!(!report.layers[0].blob_read);
    assert!(report.layers[1].blob_read);
    // And the first again, entirely from the cache.
    let report = cached(
        &registry_image(&first_ref),
        &cold_first,
        &opts,
        &other_worker,
    );
    assert_eq!(report.blobs_read(), 0);
}

#[test]
fn a_cache_server_that_goes_away_leaves_the_inspection_unchanged() {
    let mut server = Postgres::start();
    let cache = LayerCache::open(&server.database()).unwrap();
    let image = sketch::image(rules::rules()[0].bad_example).unwrap();
    let opts = opts(true);
    let cold = inspect(&image, "example:1", &opts).unwrap();
    cached(&image, &cold, &opts, &cache);
    server.stop();
    let report = cached(&image, &cold, &opts, &cache);
    assert!(
        report
            .layers
            .iter()
            .all(|l| matches!(l.lookup, Lookup::Unusable(_)))
    );
    assert_eq!(report.save_errors().count(), image.layers().len());
    assert!(report.blobs_read() == image.layers().len());
}
