//! Every case of ../shared/corpus/falco-rules-loader (falcosecurity/testing, outcomes transcribed
//! from Falco's own tests): the loader must give Falco's outcome (accepted or rejected), with the
//! same error and warning codes, item types, item names and messages where the case asserts them.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code: a failed expectation is a test failure"
)]

use rampart_falco::{FileResult, Loader};
use rampart_testkit::paths::corpus;
use serde_json::Value;

/// Cases that need something outside the rules language itself; each says why.
const NOT_APPLICABLE: &[(&str, &str)] = &[(
    "Print_Rules__json-valid-rules",
    "needs Falco's json plugin (field json.value[/test]) loaded with -o load_plugins[0]=json",
)];

fn matches(want: &Value, got: &rampart_falco::Diagnostic) -> bool {
    let s = |k: &str| want.get(k).and_then(Value::as_str);
    s("code").is_none_or(|c| c.eq_ignore_ascii_case(got.code.as_str()))
        && s("item_type").is_none_or(|t| t.eq_ignore_ascii_case(got.item_type()))
        && s("item_name").is_none_or(|n| n == got.item_name())
        && s("message").is_none_or(|m| m == got.message)
}

fn run(case: &str, spec: &Value) -> Result<(), String> {
    let files: Vec<String> = spec["rules_files"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    let mut loader = Loader::new();
    for f in &files {
        let text = std::fs::read_to_string(corpus(&format!("falco-rules-loader/{f}")))
            .map_err(|e| format!("{f}: {e}"))?;
        loader.load(f, &text);
    }
    let results: Vec<FileResult> = loader.results().to_vec();
    let errors: Vec<_> = results.iter().flat_map(|r| r.errors.iter()).collect();
    let warnings: Vec<_> = results.iter().flat_map(|r| r.warnings.iter()).collect();
    let exp = &spec["expected"];
    let mut ok_load = errors.is_empty();
    // `-o rules[].disable.rule=NAME` and `-l NAME` name a rule that must exist.
    let extra: Vec<&str> = spec["invocation"]["extra_args"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let rs = loader.finish().ok();
    if spec["invocation"]["mode"] == "describe_rule" {
        if let Some(name) = extra.windows(2).find(|w| w[0] == "-l").map(|w| w[1]) {
            ok_load = ok_load && rs.as_ref().is_some_and(|r| r.rule(name).is_some());
        }
    }
    let want_ok = exp["load"] == "succeeds";
    let dump = || format!("errors={errors:#?}\nwarnings={warnings:#?}");
    if ok_load != want_ok {
        return Err(format!(
            "{case}: load ok={ok_load}, Falco: {}\n{}",
            exp["load"],
            dump()
        ));
    }
    for w in exp["errors"].as_array().into_iter().flatten() {
        if !errors.iter().any(|e| matches(w, e)) {
            return Err(format!("{case}: missing error {w}\n{}", dump()));
        }
    }
    for w in exp["warnings"].as_array().into_iter().flatten() {
        if !warnings.iter().any(|e| matches(w, e)) {
            return Err(format!("{case}: missing warning {w}\n{}", dump()));
        }
    }
    if let Some(n) = exp["errors_count"].as_u64() {
        if errors.len() as u64 != n {
            return Err(format!(
                "{case}: {} errors, Falco {n}\n{}",
                errors.len(),
                dump()
            ));
        }
    }
    if let Some(n) = exp["warnings_count"].as_u64() {
        if warnings.len() as u64 != n {
            return Err(format!(
                "{case}: {} warnings, Falco {n}\n{}",
                warnings.len(),
                dump()
            ));
        }
    }
    for fr in exp["file_results"].as_array().into_iter().flatten() {
        let i = fr["index"].as_u64().unwrap_or(0) as usize;
        let want = fr["successful"].as_bool().unwrap_or(true);
        if results.get(i).map(|r| r.successful) != Some(want) {
            return Err(format!("{case}: file {i} successful != {want}\n{}", dump()));
        }
    }
    if let (Some(rs), Some(needles)) = (rs.as_ref(), exp["stdout_contains"].as_array()) {
        // `-L` lists rules, macros and lists: each expected name must be a loaded item.
        for n in needles.iter().filter_map(Value::as_str) {
            let known = rs.rule(n).is_some()
                || files.iter().any(|f| {
                    std::fs::read_to_string(corpus(&format!("falco-rules-loader/{f}"))).is_ok_and(
                        |t| t.contains(&format!("macro: {n}")) || t.contains(&format!("list: {n}")),
                    )
                });
            if !known {
                return Err(format!("{case}: {n} not listed"));
            }
        }
    }
    Ok(())
}

#[test]
fn every_loader_case_matches_falco() {
    let text =
        std::fs::read_to_string(corpus("falco-rules-loader/expected.json")).expect("expected.json");
    let all: Value = serde_json::from_str(&text).expect("json");
    let cases = all["cases"].as_object().expect("cases");
    assert_eq!(cases.len(), 59, "the corpus has 59 cases");
    let mut failures = Vec::new();
    let mut ran = 0;
    for (case, spec) in cases {
        if NOT_APPLICABLE.iter().any(|(n, _)| n == case) {
            continue;
        }
        ran += 1;
        if let Err(e) = run(case, spec) {
            failures.push(e);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {ran} cases differ from Falco:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    assert_eq!(ran, 58);
}

#[test]
fn the_not_applicable_case_is_refused_for_its_missing_field() {
    // Without the json plugin Falco itself rejects this file; rampart names the field.
    let mut loader = Loader::new();
    for f in [
        "cases/Print_Rules__json-valid-rules/1-000-single_rule.yaml",
        "cases/Print_Rules__json-valid-rules/2-rule-list-with-plugin-json.yaml",
    ] {
        let text =
            std::fs::read_to_string(corpus(&format!("falco-rules-loader/{f}"))).expect("read");
        loader.load(f, &text);
    }
    let errs: Vec<String> = loader
        .results()
        .iter()
        .flat_map(|r| r.errors.iter().map(|e| e.message.clone()))
        .collect();
    assert!(errs.iter().any(|m| m.contains("json.value")), "{errs:?}");
}

#[test]
fn falco_1_0_1_builtin_rules_load_without_warnings() {
    // The case's name is its assertion upstream: the released ruleset loads with no warning.
    let f = "cases/BuiltinRulesNoWarnings.yaml";
    let text = std::fs::read_to_string(corpus(&format!("falco-rules-loader/{f}"))).expect("read");
    let mut loader = Loader::new();
    let r = loader.load(f, &text).clone();
    assert!(r.successful, "{:#?}", r.errors);
    assert!(r.warnings.is_empty(), "{:#?}", r.warnings);
    assert!(loader.finish().expect("loads").rules().len() > 50);
}
