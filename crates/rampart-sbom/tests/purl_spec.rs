//! The purl specification's own test suite (tests/data/purl-test-suite-data.json, see
//! tests/data/SOURCE.md): every valid case, built from its components and parsed from its
//! `purl` string, must render exactly the canonical purl (which must parse back to itself);
//! invalid cases must be refused by both, except the type-specific rules listed below.

mod common;

use rampart_sbom::Purl;
use serde_json::Value;

const SUITE: &str = include_str!("data/purl-test-suite-data.json");

/// Invalid cases whose invalidity is a type-specific rule rampart's builder does not enforce
/// (conan channel/namespace pairing, cran and swift required parts). Listed so a new kind of
/// invalid case makes this test fail instead of passing unnoticed.
const TYPE_RULES_NOT_ENFORCED: &[&str] = &[
    "invalid conan purl only namespace",
    "invalid conan purl only channel qualifier",
    "invalid cran purl without version",
    "invalid swift purl without namespace",
    "invalid swift purl without version",
];

/// Valid cases whose canonical form this 2019-era file spells with a raw `/` in a qualifier
/// value; the current specification (docs/standard/characters-and-encoding.md and
/// tests/types/*-test.json, e.g. npm's `vcs_url=git:%2F%2Fhost.com...`, checked in
/// tests/purl_spec_types.rs) percent-encodes it, as rampart does.
const SUPERSEDED_SLASH_IN_QUALIFIER: &[&str] =
    &["maven often uses qualifiers", "maven pom reference"];

fn build(case: &Value) -> Result<Purl, rampart_sbom::PurlError> {
    let empty = serde_json::Map::new();
    common::build_purl(case.as_object().unwrap_or(&empty))
}

#[test]
fn purl_spec_test_suite() -> Result<(), Box<dyn std::error::Error>> {
    let cases: Vec<Value> = serde_json::from_str(SUITE)?;
    assert_eq!(cases.len(), 39);
    let (mut valid, mut refused, mut not_enforced) = (0, 0, 0);
    for case in &cases {
        let desc = case
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let invalid = case.get("is_invalid").and_then(Value::as_bool) == Some(true);
        let built = build(case);
        let input = case.get("purl").and_then(Value::as_str).unwrap_or_default();
        let parsed = input.parse::<Purl>();
        if invalid {
            if TYPE_RULES_NOT_ENFORCED.contains(&desc) {
                not_enforced += 1;
            } else {
                assert!(built.is_err(), "{desc}: expected an error, built {built:?}");
                assert!(
                    parsed.is_err(),
                    "{desc}: expected an error, parsed {parsed:?}"
                );
                refused += 1;
            }
        } else {
            let mut canonical = case
                .get("canonical_purl")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            if SUPERSEDED_SLASH_IN_QUALIFIER.contains(&desc) {
                canonical = canonical.replace("repo.spring.io/release", "repo.spring.io%2Frelease");
            }
            assert_eq!(built?.to_string(), canonical, "{desc}: built");
            assert_eq!(
                parsed?.to_string(),
                canonical,
                "{desc}: parsed from {input}"
            );
            assert_eq!(
                canonical.parse::<Purl>()?.to_string(),
                canonical,
                "{desc}: reparsed"
            );
            valid += 1;
        }
    }
    assert_eq!((valid, refused, not_enforced), (27, 7, 5));
    Ok(())
}
