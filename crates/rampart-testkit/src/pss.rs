//! The official pod-security-admission conformance fixtures
//! (`../shared/corpus/psa-fixtures/testdata/<level>/v1.<minor>/<pass|fail>/<name>.yaml`),
//! walked in a stable order and read into JSON values.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::{paths, yaml};

/// The fixtures' root; fails the test when the corpus is not beside the repository.
pub fn testdata() -> PathBuf {
    let dir = paths::corpus("psa-fixtures/testdata");
    assert!(
        dir.join("baseline").is_dir() && dir.join("restricted").is_dir(),
        "PSA conformance fixtures not found at {} (expected shared/ beside the repo clone)",
        dir.display()
    );
    dir
}

/// The levels the fixtures cover, in walking order.
pub const LEVELS: [&str; 2] = ["baseline", "restricted"];

/// One fixture file: a pod the given level and version must allow (`pass`) or deny (`fail`).
#[derive(Debug, Clone)]
pub struct Fixture {
    /// `baseline` or `restricted`
    pub level: &'static str,
    /// the version directory, `v1.<minor>`
    pub version: String,
    /// `pass` or `fail`
    pub outcome: &'static str,
    /// the file name without `.yaml`
    pub name: String,
    pub path: PathBuf,
    /// the pod, read from YAML
    pub pod: Value,
}

impl Fixture {
    /// Whether the pod must be allowed.
    pub fn pass(&self) -> bool {
        self.outcome == "pass"
    }

    /// `<level>/<version>/<outcome>/<name>`: how failures name the fixture.
    pub fn label(&self) -> String {
        format!(
            "{}/{}/{}/{}",
            self.level, self.version, self.outcome, self.name
        )
    }
}

/// Every version directory (`(level, v1.<minor>)`, in order, empty or not) and every fixture.
pub struct Corpus {
    pub version_dirs: Vec<(&'static str, String)>,
    pub fixtures: Vec<Fixture>,
}

fn sorted_dir(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()))
        .map(|e| {
            e.unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()))
                .path()
        })
        .collect();
    entries.sort();
    entries
}

/// Walks the fixtures: levels, then version directories, then `pass` before `fail`, then file
/// names, each sorted; only `.yaml` files.
pub fn walk() -> Corpus {
    let root = testdata();
    let mut corpus = Corpus {
        version_dirs: Vec::new(),
        fixtures: Vec::new(),
    };
    for level in LEVELS {
        for version_dir in sorted_dir(&root.join(level)) {
            let version = version_dir
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_owned();
            corpus.version_dirs.push((level, version.clone()));
            for outcome in ["pass", "fail"] {
                let dir = version_dir.join(outcome);
                if !dir.is_dir() {
                    continue;
                }
                for path in sorted_dir(&dir) {
                    if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
                        continue;
                    }
                    let name = path
                        .file_stem()
                        .and_then(|n| n.to_str())
                        .unwrap_or_default()
                        .to_owned();
                    let pod = yaml::load(&path);
                    corpus.fixtures.push(Fixture {
                        level,
                        version: version.clone(),
                        outcome,
                        name,
                        path,
                        pod,
                    });
                }
            }
        }
    }
    corpus
}
