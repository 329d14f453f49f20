//! The spanned YAML loader against an independent parser (`serde_yaml`): on every official Pod
//! Security fixture and every real-world manifest in shared/corpus, both give the same JSON
//! (up to YAML 1.1 booleans, which Kubernetes honours and serde_yaml does not), and the fixtures
//! keep their Pod Security verdict when loaded through rampart's loader.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rampart_k8s::yaml::{Limits, load};
use std::path::{Path, PathBuf};

fn corpus(rel: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpus")
        .join(rel);
    assert!(
        p.is_dir(),
        "{} not found (shared/ must sit beside the repository)",
        p.display()
    );
    p
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, out);
        } else if matches!(
            p.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml" | "json")
        ) {
            out.push(p);
        }
    }
}

/// serde_yaml reads YAML 1.2: `yes`/`no`/`on`/`off` are strings there, booleans to kubectl.
fn normalize(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        J::String(s) if matches!(s.as_str(), "yes" | "Yes" | "YES" | "on" | "On" | "ON") => {
            J::Bool(true)
        }
        J::String(s) if matches!(s.as_str(), "no" | "No" | "NO" | "off" | "Off" | "OFF") => {
            J::Bool(false)
        }
        J::Array(a) => J::Array(a.into_iter().map(normalize).collect()),
        J::Object(o) => J::Object(o.into_iter().map(|(k, v)| (k, normalize(v))).collect()),
        J::Number(n)
            if n.as_f64()
                .is_some_and(|f| f.fract() == 0.0 && f.abs() < 1e15)
                && !n.is_i64()
                && !n.is_u64() =>
        {
            J::from(n.as_f64().unwrap_or_default() as i64)
        }
        other => other,
    }
}

fn compare(path: &Path) -> usize {
    let mut text = std::fs::read_to_string(path).unwrap();
    // Known difference: for a clipped block scalar (`|`) that ends the input without a final
    // line break, saphyr-parser keeps a `\n` and libyaml does not. Compare on terminated text.
    if !text.ends_with('\n') {
        text.push('\n');
    }
    let ours = load(&text, Limits::default());
    let mut n = 0;
    let mut theirs = Vec::new();
    let mut their_error = None;
    for doc in serde_yaml::Deserializer::from_str(&text) {
        match <serde_json::Value as serde::Deserialize>::deserialize(doc) {
            Ok(serde_json::Value::Null) => {}
            Ok(v) => theirs.push(normalize(v)),
            Err(e) => {
                // serde_yaml's iterator repeats an error forever: stop at the first.
                their_error = Some(e.to_string());
                break;
            }
        }
    }
    // Valid YAML that is not JSON (a mapping as a key, as in `{{placeholder}}` templates):
    // serde_yaml cannot build JSON from it, rampart renders the key as text. Not comparable.
    if their_error
        .as_deref()
        .is_some_and(|e| e.contains("invalid type"))
    {
        return 0;
    }
    // Both reject invalid YAML (the corpus has one such file), or both accept it.
    assert_eq!(
        ours.errors.is_empty(),
        their_error.is_none(),
        "{}: ours {:?}, serde_yaml {:?}",
        path.display(),
        ours.errors,
        their_error
    );
    if their_error.is_some() {
        return 0;
    }
    let ours: Vec<_> = ours
        .documents
        .iter()
        .map(|d| normalize(d.root.to_json()))
        .filter(|v| !v.is_null())
        .collect();
    assert_eq!(
        ours.len(),
        theirs.len(),
        "{}: document count",
        path.display()
    );
    for (a, b) in ours.iter().zip(&theirs) {
        assert_eq!(a, b, "{}", path.display());
        n += 1;
    }
    n
}

#[test]
fn same_json_as_serde_yaml_on_real_manifests() {
    let mut all = Vec::new();
    files(&corpus("manifests"), &mut all);
    assert!(all.len() > 400, "{} files", all.len());
    let docs: usize = all.iter().map(|p| compare(p)).sum();
    assert!(docs > 500, "{docs} documents compared");
}

#[test]
fn pss_fixtures_keep_their_verdict_through_the_loader() {
    let root = corpus("psa-fixtures/testdata");
    let mut checked = 0;
    for level in ["baseline", "restricted"] {
        for minor in [0u32, 8, 19, 22, 23, 25, 27, 29, 32, 34, 35, 37] {
            for outcome in ["pass", "fail"] {
                let dir = root.join(level).join(format!("v1.{minor}")).join(outcome);
                let mut list = Vec::new();
                files(&dir, &mut list);
                for file in list {
                    compare(&file);
                    let text = std::fs::read_to_string(&file).unwrap();
                    let pod = load(&text, Limits::default())
                        .documents
                        .remove(0)
                        .root
                        .to_json();
                    let eval = rampart_pss::evaluate(
                        level.parse().unwrap(),
                        rampart_pss::Version::v1(minor),
                        &pod,
                    );
                    assert_eq!(
                        eval.allowed(),
                        outcome == "pass",
                        "{}: {}",
                        file.display(),
                        eval.message()
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 1000, "{checked} fixtures");
}
