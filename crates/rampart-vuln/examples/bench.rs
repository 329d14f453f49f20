//! Benchmark driver for bench/vuln.sh (figures, not a test): matching time for N packages once
//! the database is open, and inventory rescan throughput.
//!
//!     cargo run --release -p rampart-vuln --example bench -- DB match N
//!     cargo run --release -p rampart-vuln --example bench -- DB rescan IMAGES PACKAGES_PER_IMAGE
//!
//! Packages are drawn deterministically from the database's own affected package names (so
//! lookups hit real rows and real ranges) mixed with names it does not know, at versions
//! spread over each ecosystem's version line.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Instant;

use rampart_sbom::{Ecosystem, Package, Purl};
use rampart_vuln::Database;
use rampart_vuln::inventory::Inventory;
use rampart_vuln::matcher::match_packages;

/// A small deterministic generator (xorshift), so runs are comparable.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn names(db_path: &str) -> Vec<(String, String)> {
    let conn =
        rusqlite::Connection::open_with_flags(db_path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let mut stmt = conn
        .prepare("SELECT DISTINCT ecosystem, name FROM affected ORDER BY ecosystem, name")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn packages(known: &[(String, String)], n: usize, seed: u64) -> Vec<Package> {
    let mut rng = Rng(seed | 1);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        // Two thirds known to the database, one third not (as in a real image).
        let (eco, name) = if rng.below(3) < 2 {
            let (e, n) = &known[rng.below(known.len())];
            (e.as_str(), n.clone())
        } else {
            (
                ["PyPI", "Go", "crates.io"][i % 3],
                format!("unknown-package-{i}"),
            )
        };
        let (major, minor, patch) = (rng.below(5), rng.below(20), rng.below(10));
        let (ecosystem, purl) = match eco {
            "Go" => {
                let (ns, last) = name
                    .rsplit_once('/')
                    .unwrap_or(("example.com", name.as_str()));
                (
                    Ecosystem::Go,
                    Purl::new(
                        "golang",
                        Some(ns),
                        last,
                        Some(&format!("v{major}.{minor}.{patch}")),
                    )
                    .unwrap(),
                )
            }
            "crates.io" => (
                Ecosystem::Cargo,
                Purl::new(
                    "cargo",
                    None,
                    &name,
                    Some(&format!("{major}.{minor}.{patch}")),
                )
                .unwrap(),
            ),
            _ => (
                Ecosystem::PyPI,
                Purl::new(
                    "pypi",
                    None,
                    &name,
                    Some(&format!("{major}.{minor}.{patch}")),
                )
                .unwrap(),
            ),
        };
        let version = purl.version().unwrap_or_default().to_owned();
        out.push(Package::new(ecosystem, name, version, purl, "/bench"));
    }
    out
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let db_path = &args[1];
    let known = names(db_path);
    let db = Database::open(std::path::Path::new(db_path)).unwrap();
    match args[2].as_str() {
        "match" => {
            let n: usize = args[3].parse().unwrap();
            let pkgs = packages(&known, n, 42);
            // Warm the page cache once, then time.
            let _ = match_packages(&db, "bench", &pkgs, None).unwrap();
            let mut best = f64::MAX;
            let mut found = 0;
            for _ in 0..5 {
                let t = Instant::now();
                let m = match_packages(&db, "bench", &pkgs, None).unwrap();
                best = best.min(t.elapsed().as_secs_f64());
                found = m.findings.len();
            }
            println!(
                "match packages={n} findings={found} best_ms={:.1}",
                best * 1000.0
            );
        }
        "rescan" => {
            let images: usize = args[3].parse().unwrap();
            let per: usize = args[4].parse().unwrap();
            let dir = tempfile::tempdir().unwrap();
            let mut inv = Inventory::open(&dir.path().join("inventory.db")).unwrap();
            for i in 0..images {
                let pkgs = packages(&known, per, 1000 + i as u64);
                inv.record(
                    &format!("sha256:{i:064x}"),
                    &format!("bench/image-{i}"),
                    None,
                    &pkgs,
                    &[],
                )
                .unwrap();
            }
            let t = Instant::now();
            let r = inv.rescan(&db).unwrap();
            let s = t.elapsed().as_secs_f64();
            let new: usize = r.iter().map(|x| x.new.len()).sum();
            println!(
                "rescan images={images} packages_per_image={per} new_findings={new} seconds={s:.2} sboms_per_second={:.1}",
                images as f64 / s
            );
        }
        other => panic!("unknown mode {other}"),
    }
}
