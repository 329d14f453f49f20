//! Scans every file under a directory with `scan_file` and prints the hits and the time:
//! `cargo run --release -p rampart-secrets --example scan_tree DIR`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::Instant;

fn main() {
    let dir = PathBuf::from(std::env::args().nth(1).expect("usage: scan_tree DIR"));
    let mut stack = vec![dir.clone()];
    let mut files: Vec<PathBuf> = Vec::new();
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let Ok(t) = e.file_type() else { continue };
            if t.is_dir() {
                stack.push(e.path());
            } else if t.is_file() {
                files.push(e.path());
            }
        }
    }
    let t = Instant::now();
    let (mut n, mut bytes, mut hits) = (0usize, 0usize, 0usize);
    for f in &files {
        let Ok(b) = std::fs::read(f) else { continue };
        if b.len() > 1 << 20 || b.contains(&0) {
            continue;
        }
        n += 1;
        bytes += b.len();
        let rel = format!(
            "/{}",
            f.strip_prefix(&dir).unwrap_or(Path::new("")).display()
        );
        for h in rampart_secrets::scan_file(&rel, &String::from_utf8_lossy(&b)) {
            hits += 1;
            println!(
                "{rel}:{}:{} {} {} {}",
                h.line,
                h.column,
                h.kind,
                h.redacted,
                h.fixture.unwrap_or_default()
            );
        }
    }
    eprintln!(
        "{n} text files, {} MB, {hits} hits, {:.2?}",
        bytes >> 20,
        t.elapsed()
    );
}
