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
