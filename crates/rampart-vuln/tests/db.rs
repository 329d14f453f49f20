//! The advisory database: importing the real corpus (JSON and YAML), downloading it from a real
//! HTTP server, atomic changes, and bad input skipped and counted.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Write;

use common::*;
use rampart_vuln::Database;
use rampart_vuln::store::{DbError, modify};
use rampart_vuln::update::{UpdateOptions, update};

fn count_files(dir: &std::path::Path, ext: &[&str]) -> u64 {
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            n += count_files(&p, ext);
        } else if p
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| ext.contains(&e))
        {
            n += 1;
        }
    }
    n
}

#[test]
fn the_real_corpus_imports_with_every_record_accounted_for() {
    let dir = tempfile::tempdir().unwrap();
    let sources = [
        (corpus("osv-rustsec/crates"), "crates.io"),
        (corpus("osv-go/data/osv"), "Go"),
        (corpus("osv-pypa/vulns"), "PyPI"),
    ];
    let (db_path, imported) = build_db(
        dir.path(),
        &sources.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>(),
    );
    let db = Database::open(&db_path).unwrap();
    let status = db.status().unwrap();
    for ((path, eco), imp) in sources.iter().zip(&imported) {
        let files = count_files(path, &["json", "yaml"]);
        assert_eq!(imp.read, files, "{eco}: every file is read");
        // Real data is well-formed: nothing is broken, and every record is either stored or
        // skipped for a stated reason (e.g. only GIT ranges).
        assert!(!imp.had_broken_input(), "{eco}: {:?}", imp.skips);
        assert!(
            imp.stored as f64 >= 0.9 * files as f64,
            "{eco}: {} of {files} stored; {:?}",
            imp.stored,
            imp.skips.counts
        );
        // Withdrawn advisories are stored without affected rows; the rest has at least one.
        assert!(
            status.ecosystems.get(*eco).copied().unwrap_or(0) as f64 >= 0.95 * imp.stored as f64,
            "{eco}: {status:?}"
        );
        println!(
            "{eco}: read {}, stored {}, skipped {:?}",
            imp.read, imp.stored, imp.skips.counts
        );
    }
    assert_eq!(status.sources.len(), 3);
    assert!(status.built_at.is_some());
    // Withdrawn advisories are kept (and counted) but have no affected rows.
    assert!(status.withdrawn > 0, "the corpus has withdrawn advisories");
    assert!(!db.is_empty().unwrap());
    // YAML records read like JSON ones: PYSEC-2021-335 (AccessControl, fixed 4.3 and 5.2).
    let rows = db.affected("PyPI", "accesscontrol").unwrap();
    let row = rows
        .iter()
        .find(|r| r.advisory == "PYSEC-2021-335")
        .expect("PYSEC-2021-335 stored");
    let fixed: Vec<_> = row
        .affected
        .ranges
        .iter()
        .flat_map(|r| &r.events)
        .filter_map(|e| e.fixed.clone())
        .collect();
    assert_eq!(
        fixed,
        ["4.3", "5.2"],
        "the GIT range is left out, the ECOSYSTEM one kept"
    );
}

#[test]
fn update_downloads_per_ecosystem_archives_from_a_real_server() {
    let served = tempfile::tempdir().unwrap();
    for (eco, src) in [
        ("crates.io", "osv-rustsec/crates"),
        ("PyPI", "osv-pypa/vulns"),
        ("Go", "osv-go/data/osv"),
    ] {
        let d = served.path().join(eco);
        std::fs::create_dir_all(&d).unwrap();
        zip_dir(&corpus(src), &d.join("all.zip"));
    }
    let server = HttpServer::serve(served.path());
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cache/osv.db");
    let opts = UpdateOptions {
        source: server.url.clone(),
        ecosystems: vec!["crates.io".into(), "PyPI".into(), "Go".into()],
        ..UpdateOptions::default()
    };
    let updates = update(&db, &opts, &|_| {}).unwrap();
    assert_eq!(updates.len(), 3);
    // The same records as importing the directories.
    let (direct, imported) = build_db(
        dir.path(),
        &[
            corpus("osv-rustsec/crates"),
            corpus("osv-pypa/vulns"),
            corpus("osv-go/data/osv"),
        ],
    );
    for (u, i) in updates.iter().zip(&imported) {
        assert_eq!(u.imported.stored, i.stored, "{}", u.ecosystem);
        assert!(u.bytes > 0);
    }
    let a = Database::open(&db).unwrap().status().unwrap();
    let b = Database::open(&direct).unwrap().status().unwrap();
    assert_eq!(a.advisories, b.advisories);
    assert_eq!(a.ecosystems, b.ecosystems);
    assert_eq!(
        a.sources
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>(),
        ["osv:Go", "osv:PyPI", "osv:crates.io"]
    );
    // Updating one ecosystem again replaces only its data.
    let again = UpdateOptions {
        ecosystems: vec!["crates.io".into()],
        ..opts.clone()
    };
    update(&db, &again, &|_| {}).unwrap();
    let c = Database::open(&db).unwrap().status().unwrap();
    assert_eq!(c.advisories, a.advisories);
    assert_eq!(c.ecosystems, a.ecosystems);

    // An ecosystem the server does not have: the download fails and nothing changes.
    let before = std::fs::read(&db).unwrap();
    let missing = UpdateOptions {
        ecosystems: vec!["crates.io".into(), "NoSuchEcosystem".into()],
        ..opts.clone()
    };
    let err = update(&db, &missing, &|_| {}).unwrap_err().to_string();
    assert!(
        err.contains("404") && err.contains("NoSuchEcosystem"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&db).unwrap(),
        before,
        "a failed update leaves the database untouched"
    );

    // A corrupt archive: reported, and the ecosystem keeps its previous data.
    std::fs::write(
        served.path().join("crates.io/all.zip"),
        b"PK\x03\x04 this is not a zip",
    )
    .unwrap();
    let updates = update(&db, &again, &|_| {}).unwrap();
    assert!(updates[0].imported.had_broken_input());
    assert_eq!(
        updates[0].imported.skips.counts.get("corrupt archive"),
        Some(&1)
    );
    let d = Database::open(&db).unwrap().status().unwrap();
    assert_eq!(d.ecosystems.get("crates.io"), a.ecosystems.get("crates.io"));
}

#[test]
fn a_failed_change_leaves_the_previous_database() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = build_db(dir.path(), &[corpus("osv-rustsec/crates")]);
    let before = Database::open(&db).unwrap().status().unwrap();
    let r: Result<(), DbError> = modify(&db, |w| {
        w.clear_source(&corpus("osv-rustsec/crates").display().to_string())?;
        Err(DbError::Missing("simulated failure half-way".into()))
    });
    assert!(r.is_err());
    let after = Database::open(&db).unwrap().status().unwrap();
    assert_eq!(before.advisories, after.advisories);
    assert_eq!(before.ecosystems, after.ecosystems);
    // No temporary file is left behind.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        left.iter().all(|n| !n.to_string_lossy().contains(".tmp-")),
        "{left:?}"
    );
}

#[test]
fn missing_database_says_how_to_get_one() {
    let dir = tempfile::tempdir().unwrap();
    let err = Database::open(&dir.path().join("none.db"))
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("rampart db update") && err.contains("rampart db import"),
        "{err}"
    );
}

#[test]
fn bad_input_is_skipped_and_counted_by_reason() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("bad");
    std::fs::create_dir_all(&src).unwrap();
    // One good record, so the rest is measured against something real.
    std::fs::copy(
        corpus("osv-rustsec/crates").join("RUSTSEC-2020-0071.json"),
        src.join("good.json"),
    )
    .unwrap();
    std::fs::write(
        src.join("truncated.json"),
        br#"{"id": "X-1", "affected": [{"package": {"ecosystem": "PyPI""#,
    )
    .unwrap();
    std::fs::write(
        src.join("wrongtype.json"),
        br#"{"id": "X-2", "affected": "nope"}"#,
    )
    .unwrap();
    std::fs::write(src.join("noid.json"), br#"{"affected": []}"#).unwrap();
    std::fs::write(
        src.join("unknown-eco.json"),
        br#"{"id": "X-3", "affected": [{"package": {"ecosystem": "NoSuchEco", "name": "a"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.0"}]}]}]}"#,
    )
    .unwrap();
    std::fs::write(
        src.join("badversion.json"),
        br#"{"id": "X-4", "affected": [{"package": {"ecosystem": "PyPI", "name": "a"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "not a version!"}]}]}]}"#,
    )
    .unwrap();
    std::fs::write(
        src.join("two-fields.json"),
        br#"{"id": "X-5", "affected": [{"package": {"ecosystem": "PyPI", "name": "a"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0", "fixed": "1.0"}]}]}]}"#,
    )
    .unwrap();
    std::fs::write(src.join("bomb.yaml"), b"a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n").unwrap();
    std::fs::write(src.join("notutf8.yaml"), b"id: \xff\xfe\n").unwrap();
    // An archive that is not one, and a truncated real archive.
    std::fs::write(src.join("corrupt.zip"), b"PK\x03\x04garbage").unwrap();
    let real = dir.path().join("real.zip");
    zip_dir(&corpus("osv-rustsec/crates"), &real);
    let bytes = std::fs::read(&real).unwrap();
    std::fs::write(src.join("truncated.zip"), &bytes[..bytes.len() / 2]).unwrap();
    // A zip entry far larger than any record (highly compressible: a decompression bomb).
    {
        let f = std::fs::File::create(src.join("bomb.zip")).unwrap();
        let mut z = zip::ZipWriter::new(f);
        z.start_file("huge.json", zip::write::SimpleFileOptions::default())
            .unwrap();
        let chunk = vec![b' '; 1 << 20];
        for _ in 0..20 {
            z.write_all(&chunk).unwrap();
        }
        z.finish().unwrap();
    }
    // A symlink out of the tree is not followed.
    std::os::unix::fs::symlink("/etc", src.join("escape")).unwrap();

    let (db, imported) = build_db(dir.path(), std::slice::from_ref(&src));
    let i = &imported[0];
    let c = &i.skips.counts;
    println!("{c:?}");
    assert!(i.had_broken_input());
    // truncated, wrong type, no id, the alias bomb (YAML budget), not UTF-8
    assert_eq!(c.get("invalid OSV record"), Some(&5), "{c:?}");
    assert_eq!(c.get("unknown ecosystem"), Some(&1));
    assert_eq!(c.get("unparseable version"), Some(&1));
    assert_eq!(c.get("malformed range event"), Some(&1));
    assert!(c.get("corrupt archive").copied().unwrap_or(0) >= 2, "{c:?}");
    assert_eq!(c.get("record too large"), Some(&1));
    // The good record is there.
    let db = Database::open(&db).unwrap();
    assert!(db.advisory("RUSTSEC-2020-0071").unwrap().is_some());
    assert!(i.stored >= 1);
}

/// A database written before coverage was recorded (schema 1: no `coverage` table, no
/// `upstream` column) still opens; its coverage is derived from its affected entries and equals
/// what a current import records; the next change brings it to the current schema.
#[test]
fn coverage_is_recorded_and_derived_for_older_files() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = build_db(dir.path(), &[corpus("osv-go/data/osv"), fixture("debian")]);
    let recorded = Database::open(&path).unwrap().coverage().unwrap().clone();
    assert!(
        recorded
            .entries
            .contains_key(&("Go".to_owned(), String::new()))
    );
    assert!(
        recorded
            .entries
            .contains_key(&("Debian".to_owned(), "12".to_owned()))
    );
    assert!(!recorded.has_base("npm"));
    // Make it a schema 1 file, as older rampart versions wrote it.
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "DROP TABLE coverage; ALTER TABLE advisories DROP COLUMN upstream; \
             UPDATE meta SET value = '1' WHERE key = 'schema';",
        )
        .unwrap();
    }
    let old = Database::open(&path).unwrap();
    assert_eq!(old.schema(), 1);
    assert_eq!(old.coverage().unwrap(), &recorded);
    let status = old.status().unwrap();
    assert!(!status.coverage_recorded);
    assert!(
        status.coverage.contains_key("Debian:12"),
        "{:?}",
        status.coverage
    );
    assert!(old.advisory("GO-2020-0001").unwrap().is_some());
    // Any change migrates it.
    rampart_vuln::store::modify(&path, |_| Ok(())).unwrap();
    let new = Database::open(&path).unwrap();
    assert_eq!(new.schema(), rampart_vuln::store::SCHEMA_VERSION);
    assert_eq!(new.coverage().unwrap(), &recorded);
    assert!(new.status().unwrap().coverage_recorded);
}
