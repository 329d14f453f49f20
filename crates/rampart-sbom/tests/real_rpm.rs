//! The rpmdb cataloger on a real sqlite rpmdb written by rpm itself: Debian's `rpm` package
//! builds small packages from spec files written here (`rpmbuild`), installs them into an empty
//! database (`rpm -i --justdb`), imports signing keys (`gpg-pubkey` entries), and `rpm -qa
//! --queryformat` is the oracle.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use rampart_sbom::catalog::RpmDb;
use rampart_sbom::{CatalogContext, Cataloger, Distro, Package};

type Row = (String, String, String, String, String, String, String);

fn oracle(dir: &Path) -> Vec<Row> {
    let db = dir.join("db");
    let out = common::run(
        dir,
        60,
        "rpm",
        &[
            "-qa",
            "--dbpath",
            db.to_str().unwrap_or_default(),
            "--define",
            "_db_backend sqlite",
            "--qf",
            "%{NAME}|%{EPOCH}|%{VERSION}|%{RELEASE}|%{ARCH}|%{LICENSE}|%{SOURCERPM}\\n",
        ],
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let f: Vec<String> = l.split('|').map(str::to_owned).collect();
            match <[String; 7]>::try_from(f) {
                Ok([a, b, c, d, e, g, h]) => (a, b, c, d, e, g, h),
                Err(_) => common::panic_msg(&format!("unexpected rpm line {l:?}")),
            }
        })
        .collect()
}

/// The oracle's fields, recovered from a package.
fn row(p: &Package) -> Row {
    let none = || "(none)".to_owned();
    let epoch = p
        .purl
        .qualifiers()
        .get("epoch")
        .cloned()
        .unwrap_or_else(none);
    let vr = p.purl.version().unwrap_or_default();
    let (version, release) = vr.rsplit_once('-').unwrap_or((vr, ""));
    let src = p
        .source_package
        .as_ref()
        .map(|s| {
            let v = s
                .version
                .split_once(':')
                .map_or(s.version.as_str(), |x| x.1);
            format!("{}-{v}.src.rpm", s.name)
        })
        .unwrap_or_else(none);
    (
        p.name.clone(),
        epoch,
        version.to_owned(),
        release.to_owned(),
        p.arch.clone().unwrap_or_else(none),
        p.licenses.first().cloned().unwrap_or_else(none),
        src,
    )
}

#[test]
fn rpmdb_matches_rpm_query() -> Result<(), Box<dyn std::error::Error>> {
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path();
    let bytes = common::build_rpmdb(dir);
    let all = oracle(dir);
    let keys = all.iter().filter(|r| r.0 == "gpg-pubkey").count();
    assert!(keys > 0, "no gpg-pubkey entries to skip: {all:?}");
    let want: BTreeSet<Row> = all.into_iter().filter(|r| r.0 != "gpg-pubkey").collect();
    assert_eq!(want.len(), 4, "{want:?}");

    let ctx = CatalogContext {
        distro: Distro::from_os_release(b"ID=fedora\nVERSION_ID=40\n"),
    };
    for path in [
        "/var/lib/rpm/rpmdb.sqlite",
        "usr/lib/sysimage/rpm/rpmdb.sqlite",
    ] {
        assert!(RpmDb.wants(path));
        let pkgs = RpmDb.parse(path, &bytes, &ctx)?;
        let got: BTreeSet<Row> = pkgs.iter().map(row).collect();
        assert_eq!(got.len(), pkgs.len(), "duplicates");
        assert_eq!(got, want);
        for p in &pkgs {
            let s = p.purl.to_string();
            assert!(
                s.starts_with("pkg:rpm/fedora/") && s.contains("distro=fedora-40"),
                "{s}"
            );
            // The package version is the EVR, with the epoch when there is one.
            let epoch = p.purl.qualifiers().get("epoch");
            let vr = p.purl.version().unwrap_or_default();
            match epoch {
                Some(e) => assert_eq!(p.version, format!("{e}:{vr}")),
                None => assert_eq!(p.version, vr),
            }
        }
        assert!(pkgs.iter().any(|p| p.purl.to_string()
            == "pkg:rpm/fedora/hello-rampart@1.2.3-4.fc40?arch=noarch&distro=fedora-40&epoch=2"));
    }

    // The header parser on every blob (keys included) against rpm's NAME and VENDOR.
    let vendors = common::run(
        dir,
        60,
        "rpm",
        &[
            "-qa",
            "--dbpath",
            dir.join("db").to_str().unwrap_or_default(),
            "--define",
            "_db_backend sqlite",
            "--qf",
            "%{NAME}|%{VENDOR}\\n",
        ],
    );
    let want_vendors: BTreeSet<String> = String::from_utf8_lossy(&vendors.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    let conn = rusqlite::Connection::open(dir.join("db/rpmdb.sqlite"))?;
    let blobs: Vec<Vec<u8>> = conn
        .prepare("SELECT blob FROM Packages")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let got_vendors: BTreeSet<String> = blobs
        .iter()
        .map(|b| {
            let h = rampart_sbom::catalog::parse_rpm_header(b)?;
            Ok(format!(
                "{}|{}",
                h.name.unwrap_or_default(),
                h.vendor.unwrap_or_else(|| "(none)".to_owned())
            ))
        })
        .collect::<Result<_, rampart_sbom::catalog::RpmHeaderError>>()?;
    assert_eq!(got_vendors, want_vendors);
    assert!(got_vendors.contains("zero-epoch|Ünïcode Vendor"));
    eprintln!(
        "rpm: {} packages agree with rpm -qa, {keys} keys skipped",
        want.len()
    );
    Ok(())
}

#[test]
fn corrupt_rpmdb() -> Result<(), Box<dyn std::error::Error>> {
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path();
    let bytes = common::build_rpmdb(dir);
    let ctx = CatalogContext::default();
    let path = "var/lib/rpm/rpmdb.sqlite";
    let good = RpmDb.parse(path, &bytes, &ctx)?;
    assert_eq!(good.len(), 4);

    // Hostile header blobs inside a valid database: rewrite rows with SQLite itself.
    let copy = dir.join("hostile.sqlite");
    std::fs::write(&copy, &bytes)?;
    {
        let conn = rusqlite::Connection::open(&copy)?;
        conn.pragma_update(None, "journal_mode", "DELETE")?;
        let hnums: Vec<i64> = conn
            .prepare("SELECT hnum FROM Packages ORDER BY hnum")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let [first, second, third, ..] = hnums.as_slice() else {
            common::panic_msg("too few rows");
        };
        // Truncated blob, counts claiming more than the blob holds, and a non-blob value.
        conn.execute(
            "UPDATE Packages SET blob = substr(blob, 1, 40) WHERE hnum = ?1",
            [first],
        )?;
        conn.execute(
            "UPDATE Packages SET blob = X'0000FFFF0FFFFFFF' || substr(blob, 9) WHERE hnum = ?1",
            [second],
        )?;
        conn.execute(
            "UPDATE Packages SET blob = 'text, not a header' WHERE hnum = ?1",
            [third],
        )?;
    }
    let hostile = std::fs::read(&copy)?;
    let pkgs = RpmDb.parse(path, &hostile, &ctx)?;
    let names: BTreeSet<&str> = pkgs.iter().map(|p| p.name.as_str()).collect();
    assert!(pkgs.len() < good.len(), "{names:?}");
    assert!(names.iter().all(|n| good.iter().any(|g| g.name == *n)));

    // Corrupt database files: garbage pages, a truncated file, a wrong header. An error or fewer
    // packages, never a panic.
    let mut garbage = bytes.clone();
    for (i, b) in garbage.iter_mut().enumerate().skip(4096) {
        *b = (i.wrapping_mul(2_654_435_761) >> 7) as u8;
    }
    match RpmDb.parse(path, &garbage, &ctx) {
        Ok(p) => assert!(p.len() <= good.len()),
        Err(e) => assert!(e.to_string().contains(path), "{e}"),
    }
    let half = bytes.get(..bytes.len() / 2).unwrap_or_default();
    match RpmDb.parse(path, half, &ctx) {
        Ok(p) => assert!(p.len() <= good.len()),
        Err(e) => assert!(e.to_string().contains(path), "{e}"),
    }
    let mut not_sqlite = bytes.clone();
    if let Some(b) = not_sqlite.get_mut(0) {
        *b = b'X';
    }
    assert!(RpmDb.parse(path, &not_sqlite, &ctx).is_err());
    Ok(())
}
