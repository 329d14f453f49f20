//! OSV advisories and OpenVEX documents, as downloaded or imported (untrusted): the first byte
//! picks the form (OSV JSON, OSV YAML, an OSV archive, OpenVEX), the rest is the input. Records
//! that parse are stored in a database and matched against a package, so range evaluation on
//! hostile events and versions runs too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_vuln::osv::Record;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    match which % 4 {
        0 => {
            if let Ok(r) = Record::from_json(rest) {
                store_and_match(&r);
            }
        }
        1 => {
            if let Ok(r) = Record::from_yaml(&String::from_utf8_lossy(rest)) {
                store_and_match(&r);
            }
        }
        2 => {
            let dir = tempfile::tempdir().expect("tempdir");
            let _ = rampart_vuln::store::modify(&dir.path().join("osv.db"), |w| {
                rampart_vuln::import::import_archive(w, "fuzz", std::io::Cursor::new(rest), "fuzz.zip")
            });
        }
        _ => {
            let mut vex = rampart_vuln::vex::Vex::default();
            let _ = vex.add_document("fuzz.vex.json", rest);
        }
    }
});

fn store_and_match(r: &Record) {
    use rampart_sbom::{Ecosystem, Package, Purl};
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("osv.db");
    let stored = rampart_vuln::store::modify(&db, |w| {
        let mut skips = rampart_vuln::Skips::default();
        w.insert("fuzz", r, "fuzz.json", &mut skips)
    });
    if !matches!(stored, Ok(true)) {
        return;
    }
    let Ok(db) = rampart_vuln::Database::open(&db) else { return };
    for a in &r.affected {
        let Some(p) = &a.package else { continue };
        for v in a.versions.iter().take(4) {
            if let Ok(purl) = Purl::new("pypi", None, &p.name, Some(v)) {
                let pkg = Package::new(Ecosystem::PyPI, p.name.clone(), v.clone(), purl, "x");
                let _ = rampart_vuln::matcher::match_packages(&db, "fuzz", &[pkg], None);
            }
        }
    }
}
