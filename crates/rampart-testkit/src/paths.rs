//! Where things are: the workspace root and `../shared` beside it.

use std::path::{Path, PathBuf};

/// The workspace root (canonical).
pub fn root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

/// `../shared/corpus/<rel>`: the real public data the tests read (see its SOURCE.md files).
pub fn corpus(rel: &str) -> PathBuf {
    root().join("../shared/corpus").join(rel)
}

/// `scripts/<name>` of the workspace.
pub fn script(name: &str) -> PathBuf {
    root().join("scripts").join(name)
}

/// The bundled example application (`examples/<rel>`).
pub fn example(rel: &str) -> PathBuf {
    root().join("examples").join(rel)
}

/// The files below `dir` (recursively, sorted) whose extension is one of `exts`.
pub fn files(dir: &Path, exts: &[&str]) -> Vec<PathBuf> {
    fn walk(dir: &Path, exts: &[&str], out: &mut Vec<PathBuf>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, exts, out);
            } else if p
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| exts.contains(&e))
            {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, exts, &mut out);
    out
}
