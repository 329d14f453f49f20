//! Hostile rules files are refused (or bounded) quickly, with an error that names the file, the
//! item and the position, never a hang, a crash or unbounded memory.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code: a failed expectation is a test failure"
)]

use rampart_falco::{Code, Diagnostic, Loader};
use std::fmt::Write as _;
use std::time::{Duration, Instant};

fn load(text: &str) -> (Vec<Diagnostic>, Duration) {
    let t = Instant::now();
    let mut l = Loader::new();
    l.load("hostile.yaml", text);
    let errs = l.results()[0].errors.clone();
    (errs, t.elapsed())
}

fn refused(text: &str, needle: &str) -> Diagnostic {
    let (errs, took) = load(text);
    assert!(took < Duration::from_secs(20), "took {took:?}");
    let e = errs
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("accepted; expected an error containing {needle:?}"));
    assert!(e.message.contains(needle), "{e}");
    let l = e.locations.last().unwrap();
    assert_eq!(l.file, "hostile.yaml");
    assert!(l.line >= 1 && l.column >= 1, "{e}");
    e
}

fn rule(cond: &str) -> String {
    format!(
        "- rule: r\n  desc: d\n  condition: {}\n  output: o\n  priority: INFO\n",
        serde_json::to_string(cond).unwrap()
    )
}

#[test]
fn a_list_of_a_million_items_is_refused() {
    let mut s = String::from("- list: big\n  items: [");
    for i in 0..1_000_001 {
        let _ = write!(s, "a{i},");
    }
    s.push_str("z]\n");
    let e = refused(&s, "a sequence with more than 100000 items");
    assert_eq!(e.code, Code::LoadErrYamlParse);
    let l = &e.locations[0];
    assert_eq!(l.line, 2, "{e}");
    assert!(
        l.column > 100_000,
        "points at the first item over the limit: {e}"
    );
}

#[test]
fn lists_that_multiply_through_nesting_are_bounded() {
    let mut s = String::from("- list: l0\n  items: [a, b, c, d, e, f, g, h, i, j]\n");
    for i in 1..8 {
        let prev = format!("l{}", i - 1);
        let _ = writeln!(
            s,
            "- list: l{i}\n  items: [{prev}, {prev}, {prev}, {prev}, {prev}, {prev}, {prev}, {prev}, {prev}, {prev}]"
        );
    }
    let e = refused(&s, "more than 100000 items");
    assert_eq!(e.item_name(), "l5");
}

#[test]
fn deeply_nested_macros_are_refused() {
    let mut s = String::from("- macro: m0\n  condition: evt.type=open\n");
    for i in 1..3000 {
        let _ = writeln!(s, "- macro: m{i}\n  condition: m{}", i - 1);
    }
    s.push_str(&rule("m2999"));
    let e = refused(&s, "nested deeper than");
    assert_eq!(e.item_name(), "r");
    assert_eq!(e.code, Code::LoadErrCompileCondition);
}

#[test]
fn recursive_macros_are_refused() {
    let s = format!(
        "- macro: a\n  condition: evt.type=open and b\n- macro: b\n  condition: a\n{}",
        rule("a")
    );
    let e = refused(&s, "refers to itself");
    assert!(e.message.contains("a -> b"), "{e}");
}

#[test]
fn macros_that_double_at_each_level_are_bounded() {
    let mut s = String::from("- macro: m0\n  condition: evt.type=open\n");
    for i in 1..40 {
        let _ = writeln!(s, "- macro: m{i}\n  condition: (m{0} and m{0})", i - 1);
    }
    s.push_str(&rule("m39"));
    refused(&s, "expands to more than");
}

#[test]
fn conditions_of_huge_depth_are_refused() {
    let deep = format!(
        "{}evt.type=open{}",
        "(".repeat(100_000),
        ")".repeat(100_000)
    );
    let e = refused(&rule(&deep), "nested deeper than");
    assert_eq!(e.code, Code::LoadErrCompileCondition);
    let nots = format!("{}evt.type=open", "not ".repeat(100_000));
    refused(&rule(&nots), "nested deeper than");
}

#[test]
fn regex_bombs_are_refused_or_linear() {
    // Too big to compile within the limit.
    refused(
        &rule("evt.type=open and fd.name regex 'a{1000}{1000}'"),
        "invalid regex",
    );
    // Catastrophic-backtracking patterns run in linear time (the regex crate never backtracks).
    let mut l = Loader::new();
    l.load("r.yaml", &rule("evt.type=open and fd.name regex '(a+)+$'"));
    let rs = l.finish().unwrap();
    let mut e = rampart_falco::Event {
        evt_type: "open".into(),
        ..Default::default()
    };
    e.fd = Some(rampart_falco::event::Fd::file(
        3,
        &format!("{}b", "a".repeat(100_000)),
    ));
    let t = Instant::now();
    assert_eq!(rs.evaluate(&e).count(), 0);
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
}

#[test]
fn yaml_alias_bombs_are_refused() {
    let mut s = String::from("- list: l\n  items: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let p = i - 1;
        let _ = writeln!(
            s,
            "- list: l{i}\n  items: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]"
        );
    }
    let e = refused(&s, "alias bomb");
    assert_eq!(e.code, Code::LoadErrYamlParse);
}

#[test]
fn yaml_nesting_is_bounded() {
    // Refused by our depth limit or by saphyr-parser's own recursion limit, whichever is lower.
    let s = format!(
        "- list: l\n  items: {}x{}\n",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let e = refused(&s, "");
    assert_eq!(e.code, Code::LoadErrYamlParse);
    assert!(
        e.message.contains("nesting deeper than") || e.message.contains("recursion limit"),
        "{e}"
    );
    let s = format!(
        "- list: l\n  items: {}x{}\n",
        "[".repeat(100),
        "]".repeat(100)
    );
    refused(&s, "nesting deeper than 64");
}

#[test]
fn garbage_is_an_error_not_a_crash() {
    for text in [
        "\u{0}\u{1}",
        "- [",
        "- rule: {",
        "- rule: r\n  condition: [1, 2]\n  desc: 1\n  output: {}\n  priority: []\n",
        "---\n- list: x\n  items: 5\n",
    ] {
        let (errs, _) = load(text);
        assert!(!errs.is_empty(), "{text:?} accepted");
    }
}
