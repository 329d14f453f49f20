//! The purl specification's current per-type test suite for the OS and language types rampart
//! emits most (tests/data/purl-types/*.json, see tests/data/SOURCE.md): `build` (components to
//! canonical string), `parse` (string to components) and `roundtrip` (string to canonical
//! string) tests, all of them.

mod common;

use rampart_sbom::Purl;
use serde_json::{Map, Value};

use common::build_purl as build;

fn components(p: &Purl) -> Value {
    let q: Map<String, Value> = p
        .qualifiers()
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    serde_json::json!({
        "type": p.ty(),
        "namespace": p.namespace(),
        "name": p.name(),
        "version": p.version(),
        "qualifiers": if q.is_empty() { Value::Null } else { Value::Object(q) },
        "subpath": p.subpath(),
    })
}

fn run(file: &str, text: &str) -> Result<usize, Box<dyn std::error::Error>> {
    let suite: Value = serde_json::from_str(text)?;
    let tests = suite
        .get("tests")
        .and_then(Value::as_array)
        .ok_or("no tests")?;
    for t in tests {
        let desc = t
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let kind = t
            .get("test_type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let input = t.get("input").ok_or("no input")?;
        let expected = t.get("expected_output").ok_or("no expected_output")?;
        assert_eq!(
            t.get("expected_failure").and_then(Value::as_bool),
            Some(false),
            "{file}: {desc}: failure cases not expected here"
        );
        match kind {
            "build" => {
                let p = build(input.as_object().ok_or("build input")?)?;
                assert_eq!(
                    Some(p.to_string().as_str()),
                    expected.as_str(),
                    "{file}: {desc}"
                );
            }
            "parse" => {
                let p: Purl = input.as_str().ok_or("parse input")?.parse()?;
                assert_eq!(&components(&p), expected, "{file}: {desc}");
            }
            "roundtrip" => {
                let p: Purl = input.as_str().ok_or("roundtrip input")?.parse()?;
                assert_eq!(
                    Some(p.to_string().as_str()),
                    expected.as_str(),
                    "{file}: {desc}"
                );
            }
            other => return Err(format!("{file}: {desc}: unknown test type {other}").into()),
        }
    }
    Ok(tests.len())
}

#[test]
fn npm_type_suite() -> Result<(), Box<dyn std::error::Error>> {
    assert_eq!(
        run("npm", include_str!("data/purl-types/npm-test.json"))?,
        17
    );
    Ok(())
}

#[test]
fn deb_type_suite() -> Result<(), Box<dyn std::error::Error>> {
    assert_eq!(
        run("deb", include_str!("data/purl-types/deb-test.json"))?,
        19
    );
    Ok(())
}
