//! Shared by the rampart-vuln tests: the real advisory corpus, databases built from it, a
//! real HTTP server on loopback.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use rampart_vuln::import::{Imported, import_path};
use rampart_vuln::store::{SourceInfo, modify};

/// `../shared/corpus/<name>` (real OSV data: RustSec, Go, PyPA, the OSV schema's testdata).
pub fn corpus(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpus")
        .join(name)
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Imports `paths` into a new database in `dir`.
pub fn build_db(dir: &Path, paths: &[PathBuf]) -> (PathBuf, Vec<Imported>) {
    let db = dir.join("osv.db");
    let imported = modify(&db, |w| {
        let mut out = Vec::new();
        for p in paths {
            let name = p.display().to_string();
            let i = import_path(w, &name, p)?;
            w.set_source(&SourceInfo {
                name: name.clone(),
                location: name,
                imported_at: String::from("2026-11-27T00:00:00Z"),
                records: i.stored,
                skipped: i.skips.counts.clone(),
            })?;
            out.push(i);
        }
        Ok(out)
    })
    .unwrap();
    (db, imported)
}

/// A database of the whole corpus (RustSec, Go, PyPA), built once per test binary.
pub fn corpus_db() -> &'static Path {
    static DB: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, p) = DB.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let (db, _) = build_db(
            dir.path(),
            &[
                corpus("osv-rustsec/crates"),
                corpus("osv-go/data/osv"),
                corpus("osv-pypa/vulns"),
            ],
        );
        (dir, db)
    });
    p
}

/// A real HTTP server (Python's http.server) serving `dir` on 127.0.0.1; killed on drop.
pub struct HttpServer {
    child: std::process::Child,
    pub url: String,
}

impl HttpServer {
    pub fn serve(dir: &Path) -> Self {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let child = std::process::Command::new("python3")
            .args([
                "-m",
                "http.server",
                "--bind",
                "127.0.0.1",
                &port.to_string(),
                "--directory",
            ])
            .arg(dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python3 -m http.server");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "http.server did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Zips every `.json`/`.yaml` file under `src` (flat, as OSV's all.zip) into `dest` with
/// Python's zipfile (an independent zip writer).
pub fn zip_dir(src: &Path, dest: &Path) {
    let script = r#"
import os, sys, zipfile
src, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as z:
    for root, _, files in os.walk(src):
        for f in sorted(files):
            if f.endswith((".json", ".yaml", ".yml")):
                z.write(os.path.join(root, f), f)
"#;
    let st = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(src)
        .arg(dest)
        .status()
        .unwrap();
    assert!(st.success());
}
