//! Layer records (`Image::squash_cached`) over real OCI layouts on disk: a replay gives the
//! squash of the blobs, blobs of recorded layers are never opened, a record that cannot answer
//! sends its layer back to the blob, and only verified layers are recorded.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use rampart_image::{
    BlobReader, BlobStore, CONFIG_ROWS, CacheReport, Descriptor, Digest, DirStore, EntryMeta,
    Image, ImageError, LayerStore, Limits, Lookup, MatchCollector, Squashed,
};
use support::{Comp, E, Layer, layer};

/// Records in memory (the real stores are rampart-layercache's, tested there).
#[derive(Default)]
struct MemRecords(Mutex<HashMap<(String, String), Vec<u8>>>);

impl LayerStore for MemRecords {
    fn get(&self, diff_id: &Digest, analysis: &str) -> Result<Option<Vec<u8>>, String> {
        let key = (diff_id.to_string(), analysis.to_owned());
        Ok(self.0.lock().unwrap().get(&key).cloned())
    }
    fn put(&self, diff_id: &Digest, analysis: &str, payload: &[u8]) -> Result<(), String> {
        let key = (diff_id.to_string(), analysis.to_owned());
        self.0.lock().unwrap().insert(key, payload.to_vec());
        Ok(())
    }
}

impl MemRecords {
    fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }
    fn set(&self, diff_id: &str, analysis: &str, payload: Vec<u8>) {
        let key = (diff_id.to_owned(), analysis.to_owned());
        self.0.lock().unwrap().insert(key, payload);
    }
    fn payload(&self, diff_id: &str, analysis: &str) -> Option<Vec<u8>> {
        let key = (diff_id.to_owned(), analysis.to_owned());
        self.0.lock().unwrap().get(&key).cloned()
    }
}

/// A directory store that counts the blobs opened, by path.
#[derive(Clone)]
struct Counting {
    inner: DirStore,
    opened: Arc<Mutex<Vec<String>>>,
}

impl BlobStore for Counting {
    fn open_path(&self, path: &str) -> Result<BlobReader<'_>, ImageError> {
        self.opened.lock().unwrap().push(path.to_owned());
        self.inner.open_path(path)
    }
    fn has_path(&self, path: &str) -> bool {
        self.inner.has_path(path)
    }
}

fn counting(dir: &Path) -> (Counting, Arc<Mutex<Vec<String>>>) {
    let opened = Arc::new(Mutex::new(Vec::new()));
    (
        Counting {
            inner: DirStore::new(dir),
            opened: Arc::clone(&opened),
        },
        opened,
    )
}

fn open(store: Counting, limits: &Limits) -> Image {
    Image::from_oci_layout(Box::new(store), None, limits).unwrap()
}

fn blob_file(dir: &Path, l: &Layer) -> std::path::PathBuf {
    let d = support::sha256(&l.blob);
    dir.join("blobs/sha256")
        .join(d.strip_prefix("sha256:").unwrap())
}

fn shown<T: std::fmt::Debug>(s: &Squashed<T>) -> String {
    let entries: Vec<String> = s.fs.iter().map(|(p, m)| format!("{p} {m:?}")).collect();
    format!(
        "{}\n{:?}\n{}\n{:?}",
        entries.join("\n"),
        s.fs.anomalies(),
        s.fs.anomalies_dropped(),
        s.files
    )
}

fn collector() -> MatchCollector<impl Fn(&str, &EntryMeta) -> bool + Sync> {
    // Only some files are wanted, so hardlinks to unwanted files need a second pass.
    MatchCollector::new(|p: &str, _: &EntryMeta| {
        p.ends_with(".conf") || p.ends_with("link") || p.starts_with("/usr/lib/")
    })
}

/// Cold squash, then cached squash (first: all read and recorded), then a replay with the layer
/// blobs deleted: all three equal. Returns the last report.
fn cold_first_replay(layers: &[Layer], store: &MemRecords, limits: &Limits) -> CacheReport {
    let dir = tempfile::tempdir().unwrap();
    support::oci_layout(dir.path(), layers);
    let (blobs, _) = counting(dir.path());
    let image = open(blobs.clone(), limits);
    let cold = image.squash(&collector()).unwrap();
    let (first, _) = image.squash_cached(&collector(), store, "t").unwrap();
    assert_eq!(shown(&cold), shown(&first));
    for l in layers {
        let _ = std::fs::remove_file(blob_file(dir.path(), l));
    }
    let (blobs, opened) = counting(dir.path());
    let (replayed, report) = open(blobs, limits)
        .squash_cached(&collector(), store, "t")
        .unwrap();
    assert_eq!(shown(&cold), shown(&replayed));
    assert_eq!(report.blobs_read(), 0, "{report:?}");
    let layer_opens = opened
        .lock()
        .unwrap()
        .iter()
        .filter(|p| {
            layers
                .iter()
                .any(|l| p.ends_with(&support::sha256(&l.blob)[7..]))
        })
        .count();
    assert_eq!(layer_opens, 0);
    report
}

/// Whiteouts, an opaque directory, hardlinks (one to a file not wanted: a second pass) and a
/// symlinked parent.
fn tricky_layers() -> [Layer; 3] {
    [
        layer(
            &[
                E::Dir("usr/"),
                E::Dir("usr/lib/"),
                E::Symlink("lib", "usr/lib"),
                E::File("usr/lib/a.conf", b"base a"),
                E::File("usr/lib/gone", b"to be whited out"),
                E::Dir("opt/"),
                E::File("opt/x.conf", b"opaque victim"),
                E::File("data/target", b"linked content"),
                E::Fifo("run/fifo"),
            ],
            Comp::Gzip,
        ),
        layer(
            &[
                // lands in /usr/lib through the symlink
                E::File("lib/b.conf", b"via symlink"),
                E::File("usr/lib/.wh.gone", b""),
                E::Dir("opt/"),
                E::File("opt/.wh..wh..opq", b""),
                E::File("opt/y.conf", b"after opaque"),
                // a link to a file of the layer below that was not wanted: a second pass
                E::Hardlink("srv/link", "data/target"),
            ],
            Comp::Zstd,
        ),
        layer(
            &[
                E::FileMode("usr/lib/a.conf", b"replaced", 0o4755),
                E::Hardlink("srv/otherlink", "usr/lib/a.conf"),
            ],
            Comp::None,
        ),
    ]
}

#[test]
fn whiteouts_opaque_dirs_hardlinks_and_symlinked_parents_replay_without_blobs() {
    let layers = tricky_layers();
    let store = MemRecords::default();
    let report = cold_first_replay(&layers, &store, &Limits::default());
    assert_eq!(report.hits(), 3);
    assert!(report.layers.iter().all(|l| l.lookup == Lookup::Hit));
    assert_eq!(store.len(), 3);
}

#[test]
fn a_layer_over_another_base_is_read_again_and_then_replays_over_both() {
    // The same top layer lands in /usr/lib over a base where /lib is a symlink, in /lib over a
    // base where it is a directory: the record of one context cannot answer the other.
    let top = layer(&[E::File("lib/app.conf", b"setting=1")], Comp::Gzip);
    let linked = layer(
        &[
            E::Dir("usr/"),
            E::Dir("usr/lib/"),
            E::Symlink("lib", "usr/lib"),
        ],
        Comp::Gzip,
    );
    let plain = layer(
        &[E::Dir("lib/"), E::File("lib/base.conf", b"b")],
        Comp::Gzip,
    );
    let store = MemRecords::default();
    cold_first_replay(&[linked.clone(), top.clone()], &store, &Limits::default());
    // Over the other base: the top layer's record has no answer for /lib/app.conf.
    let dir = tempfile::tempdir().unwrap();
    support::oci_layout(dir.path(), &[plain.clone(), top.clone()]);
    let (blobs, _) = counting(dir.path());
    let image = open(blobs, &Limits::default());
    let cold = image.squash(&collector()).unwrap();
    let (cached, report) = image.squash_cached(&collector(), &store, "t").unwrap();
    assert_eq!(shown(&cold), shown(&cached));
    assert_eq!(report.layers[1].lookup, Lookup::Hit);
    assert!(report.layers[1].blob_read, "{report:?}");
    assert!(cached.files.iter().any(|f| f.path == "/lib/app.conf"));
    // The merged record answers both contexts without blobs.
    let report = cold_first_replay(&[plain, top.clone()], &store, &Limits::default());
    assert_eq!(report.hits(), 2);
    let report = cold_first_replay(&[linked, top], &store, &Limits::default());
    assert_eq!(report.hits(), 2);
}

/// A base layer with a directory, a configuration file and a library.
fn small_base() -> Layer {
    layer(
        &[
            E::Dir("etc/"),
            E::File("etc/os.conf", b"ID=debian"),
            E::File("usr/lib/libc.so", b"\x7fELF..."),
        ],
        Comp::Gzip,
    )
}

#[test]
fn images_sharing_a_base_read_its_blob_once() {
    let base = small_base();
    let app1 = layer(&[E::File("app/one.conf", b"1")], Comp::Gzip);
    let app2 = layer(&[E::File("app/two.conf", b"2")], Comp::Zstd);
    let store = MemRecords::default();
    let base_blob = &support::sha256(&base.blob)[7..];
    let mut base_opens = 0;
    for (i, app) in [app1, app2].into_iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        support::oci_layout(dir.path(), &[base.clone(), app]);
        let (blobs, opened) = counting(dir.path());
        let (_, report) = open(blobs, &Limits::default())
            .squash_cached(&collector(), &store, "t")
            .unwrap();
        base_opens += opened
            .lock()
            .unwrap()
            .iter()
            .filter(|p| p.ends_with(base_blob))
            .count();
        assert_eq!(report.layers[0].blob_read, i == 0);
        assert!(report.layers[1].blob_read);
    }
    assert_eq!(base_opens, 1);
}

#[test]
fn a_shorter_capture_budget_reads_the_layer_again_and_gives_the_cold_result() {
    let layers = [layer(
        &[
            E::File("etc/a.conf", b"0123456789abcdef"),
            E::File("etc/b.conf", b"0123456789abcdef"),
            E::File("etc/c.conf", b"0123456789abcdef"),
        ],
        Comp::Gzip,
    )];
    let store = MemRecords::default();
    cold_first_replay(&layers, &store, &Limits::default());
    // A budget for two files: the third's cap differs from what the record answered.
    let tight = Limits {
        max_total_capture: 40,
        ..Limits::default()
    };
    let dir = tempfile::tempdir().unwrap();
    support::oci_layout(dir.path(), &layers);
    let (blobs, _) = counting(dir.path());
    let image = open(blobs, &tight);
    let cold = image.squash(&collector()).unwrap();
    let (cached, _) = image.squash_cached(&collector(), &store, "t").unwrap();
    assert_eq!(shown(&cold), shown(&cached));
    assert!(
        cold.fs
            .anomalies()
            .iter()
            .any(|a| a.kind == rampart_image::AnomalyKind::CaptureBudgetExhausted)
    );
}

#[test]
fn limits_hold_on_replay_as_on_the_stream() {
    let layers = [layer(&[E::File("big.conf", &[b'x'; 4096])], Comp::Gzip)];
    let store = MemRecords::default();
    cold_first_replay(&layers, &store, &Limits::default());
    let small = Limits {
        max_layer_bytes: 2048,
        ..Limits::default()
    };
    let dir = tempfile::tempdir().unwrap();
    support::oci_layout(dir.path(), &layers);
    let (blobs, _) = counting(dir.path());
    let image = open(blobs, &small);
    let cold = image.squash(&collector()).unwrap_err();
    let cached = image.squash_cached(&collector(), &store, "t").unwrap_err();
    assert!(matches!(cold, ImageError::LayerTooLarge { .. }), "{cold}");
    assert_eq!(cold.to_string(), cached.to_string());
    let few = Limits {
        max_entries: 0,
        ..Limits::default()
    };
    let image = open(counting(dir.path()).0, &few);
    let cold = image.squash(&collector()).unwrap_err();
    let cached = image.squash_cached(&collector(), &store, "t").unwrap_err();
    assert_eq!(cold.to_string(), cached.to_string());
}

#[test]
fn damaged_foreign_and_other_version_records_are_misses_and_are_replaced() {
    let layers = [layer(&[E::File("etc/a.conf", b"a")], Comp::Gzip)];
    let diff_id = support::sha256(&layers[0].tar);
    let store = MemRecords::default();
    cold_first_replay(&layers, &store, &Limits::default());
    let good = store.payload(&diff_id, "t").unwrap();
    let dir = tempfile::tempdir().unwrap();
    support::oci_layout(dir.path(), &layers);
    // (what is stored, what the miss says)
    let mut damaged = good.clone();
    let mid = damaged.len() / 2;
    damaged[mid] ^= 0xff;
    let other_version = {
        // a record of the same layer made under another analysis version
        let other = MemRecords::default();
        let (blobs, _) = counting(dir.path());
        open(blobs, &Limits::default())
            .squash_cached(&collector(), &other, "t-old")
            .unwrap();
        other.payload(&diff_id, "t-old").unwrap()
    };
    let other_diff = {
        let other = MemRecords::default();
        let l2 = [layer(&[E::File("x.conf", b"x")], Comp::Gzip)];
        let d2 = tempfile::tempdir().unwrap();
        support::oci_layout(d2.path(), &l2);
        open(counting(d2.path()).0, &Limits::default())
            .squash_cached(&collector(), &other, "t")
            .unwrap();
        other.payload(&support::sha256(&l2[0].tar), "t").unwrap()
    };
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (damaged, "decompressed"),
        (b"not zstd at all".to_vec(), "decompressed"),
        (
            zstd::encode_all(&b"{\"format\":1}\n[1,2"[..], 1).unwrap(),
            "decoded",
        ),
        (
            zstd::encode_all(
                &b"{\"format\":99,\"analysis\":\"t\",\"diff_id\":\"x\"}\n{}"[..],
                1,
            )
            .unwrap(),
            "format 99",
        ),
        (other_version, "t-old"),
        (other_diff, "not"),
        (Vec::new(), "decompressed"),
    ];
    for (payload, why) in cases {
        store.set(&diff_id, "t", payload);
        let (blobs, _) = counting(dir.path());
        let image = open(blobs, &Limits::default());
        let cold = image.squash(&collector()).unwrap();
        let (cached, report) = image.squash_cached(&collector(), &store, "t").unwrap();
        assert_eq!(shown(&cold), shown(&cached));
        match &report.layers[0].lookup {
            Lookup::Unusable(text) => assert!(text.contains(why), "{why}: {text}"),
            other => panic!("{why}: {other:?}"),
        }
        assert!(report.layers[0].blob_read);
        assert_eq!(report.saved(), 1);
        // the fresh record replaced it
        assert_eq!(store.payload(&diff_id, "t").unwrap(), good);
    }
}

#[test]
fn a_layer_that_fails_verification_is_not_recorded() {
    let good = layer(&[E::File("etc/a.conf", b"a")], Comp::Gzip);
    let bad = layer(&[E::File("etc/b.conf", b"b")], Comp::Gzip);
    let dir = tempfile::tempdir().unwrap();
    support::oci_layout(dir.path(), &[good.clone(), bad.clone()]);
    // the second layer's blob is damaged after its digest was written
    let file = blob_file(dir.path(), &bad);
    let mut bytes = std::fs::read(&file).unwrap();
    let n = bytes.len();
    bytes[n - 5] ^= 0x55;
    std::fs::write(&file, bytes).unwrap();
    let store = MemRecords::default();
    let (blobs, _) = counting(dir.path());
    let err = open(blobs, &Limits::default())
        .squash_cached(&collector(), &store, "t")
        .unwrap_err();
    assert!(
        matches!(
            err,
            ImageError::DigestMismatch { .. } | ImageError::CorruptLayer { .. }
        ),
        "{err}"
    );
    assert!(store.payload(&support::sha256(&good.tar), "t").is_some());
    assert!(store.payload(&support::sha256(&bad.tar), "t").is_none());
}

#[test]
fn legacy_docker_archives_are_recorded_by_diff_id_and_replayed() {
    // Legacy `docker save` layers have no blob digest: the diff id is all there is.
    let layers = [
        layer(
            &[E::File("etc/a.conf", b"a"), E::File("data/t", b"t")],
            Comp::None,
        ),
        layer(&[E::Hardlink("srv/link", "data/t")], Comp::None),
    ];
    let dir = tempfile::tempdir().unwrap();
    let archive = support::docker_archive(&dir.path().join("img.tar"), &layers, true);
    let image = Image::open(&rampart_image::Source::DockerArchive(archive), None).unwrap();
    assert!(image.layers().iter().all(|l| l.digest.is_none()));
    let store = MemRecords::default();
    let cold = image.squash(&collector()).unwrap();
    let (first, report) = image.squash_cached(&collector(), &store, "t").unwrap();
    assert_eq!(report.saved(), 2);
    let (second, report) = image.squash_cached(&collector(), &store, "t").unwrap();
    assert_eq!(report.hits(), 2);
    assert_eq!(shown(&cold), shown(&first));
    assert_eq!(shown(&cold), shown(&second));
}

/// A store that lets its records stay decoded in the process, and counts what it is asked.
#[derive(Default)]
struct Keeping {
    inner: MemRecords,
    gets: std::sync::atomic::AtomicUsize,
}

impl LayerStore for Keeping {
    fn get(&self, diff_id: &Digest, analysis: &str) -> Result<Option<Vec<u8>>, String> {
        self.gets.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.get(diff_id, analysis)
    }
    fn put(&self, diff_id: &Digest, analysis: &str, payload: &[u8]) -> Result<(), String> {
        self.inner.put(diff_id, analysis, payload)
    }
    fn keep_decoded(&self) -> bool {
        true
    }
}

#[test]
fn records_kept_decoded_replay_without_the_store_and_give_the_cold_result() {
    let layers = tricky_layers();
    let dir = tempfile::tempdir().unwrap();
    support::oci_layout(dir.path(), &layers);
    let (blobs, _) = counting(dir.path());
    let image = open(blobs, &Limits::default());
    let cold = image.squash(&collector()).unwrap();
    // an analysis of its own: the memory is the process's, shared with the other tests
    let analysis = "kept-decoded-test";
    let store = Keeping::default();
    let (first, _) = image.squash_cached(&collector(), &store, analysis).unwrap();
    assert_eq!(shown(&cold), shown(&first));
    assert_eq!(store.inner.len(), 3);
    // the store's rows damaged and the blobs gone: the records kept decoded still answer
    for l in &layers {
        let _ = std::fs::remove_file(blob_file(dir.path(), l));
    }
    let keys: Vec<(String, String)> = store.inner.0.lock().unwrap().keys().cloned().collect();
    for (d, a) in &keys {
        store.inner.set(d, a, b"damaged".to_vec());
    }
    let asked = store.gets.load(std::sync::atomic::Ordering::SeqCst);
    let (blobs, _) = counting(dir.path());
    let (kept, report) = open(blobs, &Limits::default())
        .squash_cached(&collector(), &store, analysis)
        .unwrap();
    assert_eq!(shown(&cold), shown(&kept));
    assert_eq!(report.blobs_read(), 0, "{report:?}");
    assert!(
        report.layers.iter().all(|l| l.lookup == Lookup::Hit),
        "{report:?}"
    );
    assert_eq!(store.gets.load(std::sync::atomic::Ordering::SeqCst), asked);
    // a store that does not allow it is asked again, and its damaged rows are misses
    let plain = MemRecords::default();
    for (d, a) in &keys {
        plain.set(d, a, b"damaged".to_vec());
    }
    let (blobs, _) = counting(dir.path());
    let missed = open(blobs, &Limits::default()).squash_cached(&collector(), &plain, analysis);
    // the blobs are gone: the layers cannot be read, the records cannot be used
    assert!(missed.is_err(), "{missed:?}");
}

#[test]
fn images_on_a_known_base_start_from_its_held_state_and_give_the_cold_result() {
    let [l0, l1, _] = tricky_layers();
    let apps = [
        layer(&[E::File("app/one.conf", b"1")], Comp::Gzip),
        // white-outs and links into the base: the held state must carry what the base left
        layer(
            &[
                E::File("usr/lib/.wh.a.conf", b""),
                E::Hardlink("srv/again", "data/target"),
            ],
            Comp::Zstd,
        ),
        layer(
            &[
                E::Dir("opt/"),
                E::File("opt/.wh..wh..opq", b""),
                E::File("lib/c.conf", b"over the symlink"),
            ],
            Comp::Gzip,
        ),
        layer(&[E::File("app/four.conf", b"4")], Comp::None),
    ];
    // an analysis of its own: the held states are the process's, shared with the other tests
    let analysis = "held-prefix-test";
    let store = Keeping::default();
    let run = |app: &Layer, limits: &Limits, gone: bool| {
        let dir = tempfile::tempdir().unwrap();
        support::oci_layout(dir.path(), &[l0.clone(), l1.clone(), app.clone()]);
        let (blobs, _) = counting(dir.path());
        let cold = open(blobs, limits).squash(&collector()).unwrap();
        if gone {
            for l in [&l0, &l1] {
                std::fs::remove_file(blob_file(dir.path(), l)).unwrap();
            }
        }
        let (blobs, _) = counting(dir.path());
        let (cached, report) = open(blobs, limits)
            .squash_cached(&collector(), &store, analysis)
            .unwrap();
        assert_eq!(shown(&cold), shown(&cached), "{report:?}");
        report
    };
    let limits = Limits::default();
    // met once, then twice (held from then on), then started from it
    assert_eq!(run(&apps[0], &limits, false).resumed, 0);
    assert_eq!(run(&apps[1], &limits, false).resumed, 0);
    let report = run(&apps[2], &limits, false);
    assert_eq!(report.resumed, 2, "{report:?}");
    assert!(!report.layers[0].blob_read && !report.layers[1].blob_read);
    // the base's blobs gone: nothing of them is read
    let report = run(&apps[3], &limits, true);
    assert_eq!(report.resumed, 2, "{report:?}");
    assert_eq!(report.blobs_read(), 1, "{report:?}");
    // other limits keep other states: the base is applied again (read again: the records
    // cannot answer the tighter budget), then held for them, and each gives its cold result
    let tight = Limits {
        max_total_capture: 12,
        ..Limits::default()
    };
    let report = run(&apps[0], &tight, false);
    assert_eq!(report.resumed, 0, "{report:?}");
    assert!(report.layers[0].blob_read, "{report:?}");
    run(&apps[1], &tight, false);
    assert_eq!(run(&apps[2], &tight, false).resumed, 2);
}

/// An image's config is kept in the layer store by its digest, recalled when the image is
/// opened again (its blob is not opened then), and read from the blob store again, and
/// replaced, when what the layer store holds does not match the digest.
#[test]
fn configs_are_remembered_by_digest_and_verified_when_recalled() {
    let dir = tempfile::tempdir().unwrap();
    let layers = [layer(&[E::File("etc/app.conf", b"x=1")], Comp::Gzip)];
    support::oci_layout(dir.path(), &layers);
    let config = support::config_json(&layers, "linux", "amd64");
    let digest = support::sha256(&config);
    let blob = format!("blobs/sha256/{}", &digest[7..]);
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("index.json")).unwrap()).unwrap();
    let root: Descriptor = serde_json::from_value(index["manifests"][0].clone()).unwrap();
    let memo = MemRecords::default();
    let open = |configs: Option<&dyn LayerStore>| {
        let (store, opened) = counting(dir.path());
        let image = Image::from_descriptor_remembering(
            Box::new(store),
            &root,
            None,
            &Limits::default(),
            configs,
        )
        .unwrap();
        let opened = opened.lock().unwrap().clone();
        (image.config().cloned(), opened.contains(&blob))
    };
    let (cold, read) = open(None);
    assert!(read && cold.is_some());
    assert_eq!(memo.len(), 0);

    // first meeting: read from the blob store, kept by digest
    assert_eq!(open(Some(&memo)), (cold.clone(), true));
    assert_eq!(memo.payload(&digest, CONFIG_ROWS), Some(config.clone()));
    assert_eq!(memo.len(), 1);
    // met again: recalled, the blob is not opened
    assert_eq!(open(Some(&memo)), (cold.clone(), false));

    // what the layer store holds is not the config: read again, the row mended
    let forged =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    memo.set(&digest, CONFIG_ROWS, forged.to_vec());
    assert_eq!(open(Some(&memo)), (cold.clone(), true));
    assert_eq!(memo.payload(&digest, CONFIG_ROWS), Some(config));
    assert_eq!(open(Some(&memo)), (cold, false));
}

/// A blob store that says when a blob is opened (`path` ends with `slow`) and takes its time
/// to give it.
struct Slow {
    inner: Counting,
    slow: String,
    opening: std::sync::mpsc::SyncSender<()>,
}

impl BlobStore for Slow {
    fn open_path(&self, path: &str) -> Result<BlobReader<'_>, ImageError> {
        if path.ends_with(&self.slow) {
            let _ = self.opening.try_send(());
            std::thread::sleep(std::time::Duration::from_millis(300));
        }
        self.inner.open_path(path)
    }
    fn has_path(&self, path: &str) -> bool {
        self.inner.has_path(path)
    }
}

#[test]
fn a_base_read_by_one_thread_is_waited_for_not_read_again_by_another() {
    let base = small_base();
    let apps = [
        layer(&[E::File("app/one.conf", b"1")], Comp::Gzip),
        layer(&[E::File("app/two.conf", b"2")], Comp::Gzip),
    ];
    let base_blob = support::sha256(&base.blob)[7..].to_owned();
    let dirs: Vec<tempfile::TempDir> = apps
        .iter()
        .map(|app| {
            let dir = tempfile::tempdir().unwrap();
            support::oci_layout(dir.path(), &[base.clone(), app.clone()]);
            dir
        })
        .collect();
    let colds: Vec<String> = dirs
        .iter()
        .map(|d| {
            shown(
                &open(counting(d.path()).0, &Limits::default())
                    .squash(&collector())
                    .unwrap(),
            )
        })
        .collect();
    // an analysis of its own: the memories are the process's, shared with the other tests
    let analysis = "flight-test";
    let store = Keeping::default();
    let (opening, opened_base) = std::sync::mpsc::sync_channel(4);
    let run = |dir: &Path| {
        let (inner, opened) = counting(dir);
        let blobs = Slow {
            inner,
            slow: base_blob.clone(),
            opening: opening.clone(),
        };
        let image = Image::from_oci_layout(Box::new(blobs), None, &Limits::default()).unwrap();
        let (squashed, report) = image.squash_cached(&collector(), &store, analysis).unwrap();
        (shown(&squashed), report, opened)
    };
    let (p0, p1) = (dirs[0].path(), dirs[1].path());
    let opened: Vec<Arc<Mutex<Vec<String>>>> = std::thread::scope(|s| {
        let first = s.spawn(|| run(p0));
        // the first is reading the base when the second looks for it
        opened_base.recv().unwrap();
        let second = s.spawn(|| run(p1));
        let (first, second) = (first.join().unwrap(), second.join().unwrap());
        assert_eq!(first.0, colds[0]);
        assert_eq!(second.0, colds[1]);
        assert!(first.1.layers[0].blob_read);
        // the second image took the base's record made by the first, and read its own layer
        assert!(!second.1.layers[0].blob_read, "{:?}", second.1);
        assert_eq!(second.1.layers[0].lookup, Lookup::Hit);
        assert!(second.1.layers[1].blob_read);
        vec![first.2, second.2]
    });
    let base_reads: usize = opened
        .iter()
        .map(|o| {
            o.lock()
                .unwrap()
                .iter()
                .filter(|p| p.ends_with(&base_blob))
                .count()
        })
        .sum();
    assert_eq!(base_reads, 1);
}
