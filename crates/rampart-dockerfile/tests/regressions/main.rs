//! Regression tests for inputs found by fuzzing (`fuzz/`, target `dockerfile_parser`).
//! Each input lives next to this file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rampart_dockerfile::{ScanInput, parse, scan};
use std::path::PathBuf;

/// The parsed tree of a ~500-byte file has no business being bigger than this (as `Debug` text).
const MAX_TREE: usize = 4 << 20;

fn read(name: &str) -> String {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "regressions", name]
        .iter()
        .collect();
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// What the fuzz target does, bounded in the size of what comes out.
fn check_bounded(name: &str) {
    let text = read(name);
    let parsed = parse(&text);
    let tree = format!("{parsed:?}").len();
    let (assessment, diagnostics) = scan(&ScanInput {
        path: "Dockerfile",
        text: &text,
        has_dockerignore: false,
    });
    assert!(
        tree < MAX_TREE,
        "{name}: {} bytes of input parsed into {tree} bytes of tree (unbounded variable expansion?)",
        text.len()
    );
    // A still-valid Dockerfile: one stage, rules evaluated, and the cut-off expansion reported.
    assert_eq!(parsed.dockerfile.stages.len(), 1, "{name}");
    assert!(
        !assessment.controls.is_empty(),
        "{name}: no control evaluated"
    );
    assert!(
        !diagnostics.is_empty(),
        "{name}: the truncated expansion should be reported as a diagnostic"
    );
}

#[test]
fn arg_expansion_bomb_is_bounded() {
    check_bounded("arg-expansion-bomb.Dockerfile");
}

#[test]
fn env_expansion_bomb_is_bounded() {
    check_bounded("env-expansion-bomb.Dockerfile");
}
