//! The store itself, on a real SQLite file and a real PostgreSQL server: round trips, damaged
//! and other-version rows (misses, then replaced), concurrent writers of one layer, purge and
//! trim, and the files it refuses.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::{Arc, Barrier, OnceLock};

use rampart_image::{Digest, LayerStore};
use rampart_layercache::{CacheError, LayerCache};
use rampart_testkit::postgres::Postgres;

fn pg() -> &'static Postgres {
    static PG: OnceLock<Postgres> = OnceLock::new();
    PG.get_or_init(Postgres::start)
}

fn digest(n: u32) -> Digest {
    Digest::sha256_of(&n.to_le_bytes())
}

/// Runs SQL against the cache's database, beside the cache (as another client would).
fn raw_sql(location: &str, sql: &str) {
    if location.starts_with("postgres") {
        let mut c = postgres::Client::connect(location, postgres::NoTls).unwrap();
        c.batch_execute(sql).unwrap();
    } else {
        let c = rusqlite::Connection::open(location).unwrap();
        c.execute_batch(sql).unwrap();
    }
}

/// A new SQLite location (in a directory that does not exist yet) and its directory's guard.
fn sqlite() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deeper/rampart/layers.db");
    (dir, path.to_string_lossy().into_owned())
}

fn round_trips_and_replaces(location: &str) {
    let cache = LayerCache::open(location).unwrap();
    let d = digest(1);
    assert_eq!(cache.get(&d, "v1").unwrap(), None);
    cache.put(&d, "v1", b"payload one").unwrap();
    assert_eq!(
        cache.get(&d, "v1").unwrap().as_deref(),
        Some(&b"payload one"[..])
    );
    // idempotent, and a second write replaces
    cache.put(&d, "v1", b"payload one").unwrap();
    cache.put(&d, "v1", b"payload two").unwrap();
    assert_eq!(
        cache.get(&d, "v1").unwrap().as_deref(),
        Some(&b"payload two"[..])
    );
    // another analysis version is another row: never read for this one
    assert_eq!(cache.get(&d, "v2").unwrap(), None);
    cache.put(&d, "v2", b"other version").unwrap();
    assert_eq!(
        cache.get(&d, "v1").unwrap().as_deref(),
        Some(&b"payload two"[..])
    );
    // a reopened cache (another process) sees the same
    drop(cache);
    let cache = LayerCache::open(location).unwrap();
    assert_eq!(
        cache.get(&d, "v2").unwrap().as_deref(),
        Some(&b"other version"[..])
    );
    let info = cache.info().unwrap();
    assert_eq!(info.rows(), 2);
    assert_eq!(
        info.bytes(),
        (b"payload two".len() + b"other version".len()) as u64
    );
}

fn damaged_rows_are_misses_then_replaced(location: &str) {
    let cache = LayerCache::open(location).unwrap();
    let d = digest(2);
    cache.put(&d, "v1", b"good bytes").unwrap();
    let key = d.to_string();
    // the payload changed behind the checksum's back
    raw_sql(
        location,
        &format!(
            "UPDATE layer_cache SET payload = {} WHERE diff_id = '{key}'",
            hex_literal(location, b"evil bytes")
        ),
    );
    let err = cache.get(&d, "v1").unwrap_err();
    assert!(err.contains("damaged") && err.contains(&key), "{err}");
    // a checksum that is no checksum at all
    raw_sql(
        location,
        &format!("UPDATE layer_cache SET sha256 = 'zz' WHERE diff_id = '{key}'"),
    );
    assert!(cache.get(&d, "v1").unwrap_err().contains("damaged"));
    // the fresh result overwrites it
    cache.put(&d, "v1", b"fresh bytes").unwrap();
    assert_eq!(
        cache.get(&d, "v1").unwrap().as_deref(),
        Some(&b"fresh bytes"[..])
    );
}

fn hex_literal(location: &str, bytes: &[u8]) -> String {
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    if location.starts_with("postgres") {
        format!("'\\x{hex}'::bytea")
    } else {
        format!("X'{hex}'")
    }
}

fn concurrent_writers_of_one_layer_all_succeed(location: &str) {
    let d = digest(3);
    let writers = 8;
    let barrier = Arc::new(Barrier::new(writers));
    let handles: Vec<_> = (0..writers)
        .map(|i| {
            let barrier = Arc::clone(&barrier);
            let location = location.to_owned();
            let d = d.clone();
            std::thread::spawn(move || {
                // each its own connection, as separate processes have
                let cache = LayerCache::open(&location).unwrap();
                barrier.wait();
                for round in 0..20 {
                    let payload = format!("writer {i} round {round}").repeat(200);
                    cache.put(&d, "v1", payload.as_bytes()).unwrap();
                    // whatever is read is one whole write, never a mix
                    let got = cache.get(&d, "v1").unwrap().unwrap();
                    let text = String::from_utf8(got).unwrap();
                    let first = text.get(..text.len() / 200).unwrap().to_owned();
                    assert_eq!(text, first.repeat(200));
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let cache = LayerCache::open(location).unwrap();
    assert_eq!(cache.info().unwrap().rows(), 1);
}

fn purge_and_trim(location: &str) {
    let cache = LayerCache::open(location).unwrap();
    for n in 0..6 {
        cache
            .put(&digest(100 + n), "rampart-inspect 9 secrets", &[b'x'; 1000])
            .unwrap();
        cache
            .put(&digest(100 + n), "rampart-inspect 8 secrets", &[b'y'; 1000])
            .unwrap();
    }
    let removed = cache
        .purge(&|a: &str| a.starts_with("rampart-inspect 9 "))
        .unwrap();
    assert_eq!(removed, 6);
    let info = cache.info().unwrap();
    assert_eq!(info.analyses.len(), 1);
    assert_eq!(info.analyses[0].analysis, "rampart-inspect 9 secrets");
    // Least recently used go first: make the first three the oldest.
    raw_sql(
        location,
        "UPDATE layer_cache SET used_at = 0, stored_at = 0",
    );
    for n in 3..6 {
        raw_sql(
            location,
            &format!(
                "UPDATE layer_cache SET used_at = {} WHERE diff_id = '{}'",
                1000 + n,
                digest(100 + n)
            ),
        );
    }
    assert_eq!(cache.trim(3500).unwrap(), 3);
    assert_eq!(cache.bytes().unwrap(), 3000);
    for n in 0..6 {
        let present = cache
            .get(&digest(100 + n), "rampart-inspect 9 secrets")
            .unwrap()
            .is_some();
        assert_eq!(present, n >= 3, "layer {n}");
    }
    assert_eq!(cache.trim(10_000).unwrap(), 0);
    assert_eq!(cache.purge(&|_| false).unwrap(), 3);
    assert_eq!(cache.info().unwrap().rows(), 0);
}

fn oversized_rows_are_misses(location: &str) {
    let cache = LayerCache::open(location).unwrap();
    let d = digest(4);
    let big = vec![0u8; rampart_image::MAX_PAYLOAD_BYTES + 1];
    cache.put(&d, "v1", &big).unwrap();
    let err = cache.get(&d, "v1").unwrap_err();
    assert!(err.contains("over the limit"), "{err}");
}

#[test]
fn sqlite_round_trips_and_replaces() {
    let (_dir, loc) = sqlite();
    round_trips_and_replaces(&loc);
}

#[test]
fn postgres_round_trips_and_replaces() {
    round_trips_and_replaces(&pg().database());
}

#[test]
fn sqlite_damaged_rows_are_misses_then_replaced() {
    let (_dir, loc) = sqlite();
    damaged_rows_are_misses_then_replaced(&loc);
}

#[test]
fn postgres_damaged_rows_are_misses_then_replaced() {
    damaged_rows_are_misses_then_replaced(&pg().database());
}

#[test]
fn sqlite_concurrent_writers_of_one_layer_all_succeed() {
    let (_dir, loc) = sqlite();
    concurrent_writers_of_one_layer_all_succeed(&loc);
}

#[test]
fn postgres_concurrent_writers_of_one_layer_all_succeed() {
    concurrent_writers_of_one_layer_all_succeed(&pg().database());
}

#[test]
fn sqlite_purge_and_trim() {
    let (_dir, loc) = sqlite();
    purge_and_trim(&loc);
}

#[test]
fn postgres_purge_and_trim() {
    purge_and_trim(&pg().database());
}

#[test]
fn sqlite_oversized_rows_are_misses() {
    let (_dir, loc) = sqlite();
    oversized_rows_are_misses(&loc);
}

#[test]
fn postgres_oversized_rows_are_misses() {
    oversized_rows_are_misses(&pg().database());
}

#[test]
fn postgres_clients_starting_together_create_the_schema_once() {
    let url = pg().database();
    let barrier = Arc::new(Barrier::new(6));
    let handles: Vec<_> = (0..6)
        .map(|_| {
            let (url, barrier) = (url.clone(), Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                LayerCache::open(&url).map(|_| ())
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap().unwrap();
    }
}

#[test]
fn other_files_and_newer_caches_are_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    // not a database
    let text = dir.path().join("notes.txt");
    std::fs::write(
        &text,
        "hello, this is not a database file at all ...........",
    )
    .unwrap();
    let err = LayerCache::open(&text.to_string_lossy()).unwrap_err();
    assert!(matches!(err, CacheError::Foreign { .. }), "{err}");
    assert!(std::fs::read_to_string(&text).unwrap().starts_with("hello"));
    // another program's database (the advisory database, say)
    let other = dir.path().join("osv.db");
    raw_sql(
        &other.to_string_lossy(),
        "CREATE TABLE advisories (id TEXT)",
    );
    let err = LayerCache::open(&other.to_string_lossy()).unwrap_err();
    assert!(err.to_string().contains("advisories"), "{err}");
    let c = rusqlite::Connection::open(&other).unwrap();
    let n: i64 = c
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name LIKE 'layer_cache%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 0);
    // a cache of a newer rampart
    let newer = dir.path().join("layers.db");
    LayerCache::open(&newer.to_string_lossy()).unwrap();
    raw_sql(
        &newer.to_string_lossy(),
        "UPDATE layer_cache_meta SET value = '7' WHERE key = 'schema'",
    );
    let err = LayerCache::open(&newer.to_string_lossy()).unwrap_err();
    assert!(matches!(err, CacheError::Newer { found: 7, .. }), "{err}");
    // PostgreSQL: a database that cannot be reached is an open error naming it, no password
    let err = LayerCache::open("postgres://rampart:s3cret@127.0.0.1:1/x").unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("127.0.0.1:1") && !text.contains("s3cret"),
        "{text}"
    );
}

/// Layers claimed for reading by one process (a connection) are refused to the others until
/// let go, or until that process's connection ends (a worker that died); a refused claim holds
/// nothing. An SQLite cache coordinates no processes: every claim is granted.
#[test]
fn postgres_claims_layers_for_reading_across_processes() {
    let url = pg().database();
    let [a, b, c] = [0, 1, 2].map(|_| LayerCache::open(&url).unwrap());
    let key = |n: u32| (digest(n).to_string(), String::from("claims-test"));
    assert!(a.claim_reading(&[key(1), key(2)]).unwrap());
    // b meets layer 2, being read by a: refused, and layer 3 is not held by b either
    assert!(!b.claim_reading(&[key(2), key(3)]).unwrap());
    assert!(c.claim_reading(&[key(3)]).unwrap());
    c.release_reading(&key(3).0, &key(3).1);
    // a's record of layer 2 is stored: let go
    a.release_reading(&key(2).0, &key(2).1);
    assert!(b.claim_reading(&[key(2), key(3)]).unwrap());
    assert!(!c.claim_reading(&[key(1)]).unwrap());
    // a dies while reading layer 1: PostgreSQL lets its claim go
    drop(a);
    let started = std::time::Instant::now();
    while !c.claim_reading(&[key(1)]).unwrap() {
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
        std::thread::sleep(std::time::Duration::from_millis(50));
    }

    let (_dir, file) = sqlite();
    let [x, y] = [0, 1].map(|_| LayerCache::open(&file).unwrap());
    assert!(x.claim_reading(&[key(1)]).unwrap());
    assert!(y.claim_reading(&[key(1)]).unwrap());
}
