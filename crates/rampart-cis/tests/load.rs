//! The controls loader: go-yaml's reading of kube-bench's fields, typed errors with positions,
//! hostile input bounded.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use rampart_cis::{BinOp, CheckType, LoadError, Op, parse};

const FILE: &str = r#"---
controls:
version: "cis-x"
id: 1
text: "Section"
type: "master"
unknown_key: [ignored]
groups:
  - id: 1.10
    text: "Group"
    checks:
      - id: 1.10.1
        text: "A check"
        audit: "ps -ef"
        tests:
          bin_op: or
          test_items:
            - flag: "--a"
              compare:
                op: eq
                value: no
            - flag: "--b"
              set: false
            - flag: "--c"
              compare: { op: bitmask, value: 0644 }
            - path: "{.x}"
              compare:
                op: gte
                value: 1.50
        scored: true
        use_multiple_values: yes
      - id: 1.10.2
        text: "Manual"
        type: manual
        scored: false
"#;

#[test]
fn fields_read_as_kube_bench_reads_them() {
    let c = parse(FILE, "x.yaml").unwrap();
    assert_eq!(c.version, "cis-x");
    assert_eq!(c.id, "1");
    assert_eq!(c.node_type, "master");
    let g = &c.groups[0];
    // A string field keeps what is written, not the number it would resolve to.
    assert_eq!(g.id, "1.10");
    let check = &g.checks[0];
    assert!(check.scored && check.use_multiple_values);
    assert_eq!(check.kind, CheckType::Automated);
    let tests = check.tests.as_ref().unwrap();
    assert_eq!(tests.bin_op, BinOp::Or);
    let items = &tests.test_items;
    assert!(items[0].set, "set defaults to true");
    let cmp = items[0].compare.as_ref().unwrap();
    assert_eq!((cmp.op.clone(), cmp.value.as_str()), (Op::Eq, "no"));
    assert!(!items[1].set);
    assert_eq!(items[2].compare.as_ref().unwrap().value, "0644");
    assert_eq!(items[3].compare.as_ref().unwrap().value, "1.50");
    assert_eq!(items[3].path, "{.x}");
    assert_eq!(g.checks[1].kind, CheckType::Manual);
    assert!(g.checks[1].tests.is_none());
}

#[test]
fn wrong_shapes_are_errors_with_positions() {
    let cases = [
        ("groups: {a: 1}\n", (1, 9), "a sequence"),
        (
            "groups:\n  - checks:\n      - scored: maybe\n",
            (3, 17),
            "a boolean",
        ),
        (
            "groups:\n  - checks:\n      - text: [a]\n",
            (3, 15),
            "a string",
        ),
        (
            "groups:\n  - checks:\n      - tests:\n          test_items:\n            - set: \"true\"\n",
            (5, 20),
            "a boolean",
        ),
    ];
    for (text, pos, expected) in cases {
        match parse(text, "bad.yaml") {
            Err(e @ LoadError::Shape { .. }) => {
                assert_eq!(e.file(), "bad.yaml");
                assert_eq!(e.position(), Some(pos), "{text}: {e}");
                assert!(e.to_string().contains(expected), "{e}");
                assert!(e.to_string().starts_with("bad.yaml:"), "{e}");
            }
            other => panic!("{text}: {other:?}"),
        }
    }
    let e = parse("groups:\n  - id: [\n", "broken.yaml").unwrap_err();
    assert!(matches!(e, LoadError::Syntax { .. }), "{e:?}");
    assert!(e.position().is_some());
}

#[test]
fn a_skipped_group_skips_its_checks() {
    let c = parse(
        "groups:\n  - id: 1.1\n    type: skip\n    checks:\n      - id: 1.1.1\n        scored: true\n        tests: {test_items: [{flag: x}]}\n",
        "g.yaml",
    )
    .unwrap();
    let check = c.check("1.1.1").unwrap();
    assert_eq!(check.kind, CheckType::Skip);
    let o = rampart_cis::evaluate(check, &rampart_cis::Input::default());
    assert_eq!(o.state, rampart_cis::State::Info);
}

#[test]
fn empty_and_null_documents_are_empty_controls() {
    assert_eq!(parse("", "e").unwrap().groups.len(), 0);
    assert_eq!(parse("---\n~\n", "e").unwrap().groups.len(), 0);
}

#[test]
fn hostile_input_is_bounded() {
    // Alias expansion ("billion laughs") and deep nesting end in errors, not exhaustion.
    let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 0..12 {
        let prev = if i == 0 {
            "a".to_owned()
        } else {
            format!("l{}", i - 1)
        };
        bomb.push_str(&format!(
            "l{i}: &l{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
        ));
    }
    assert!(parse(&bomb, "bomb").is_err());
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    assert!(parse(&deep, "deep").is_err());
    let big = "x".repeat(rampart_cis::MAX_FILE_BYTES as usize + 1);
    assert!(matches!(
        parse(&big, "big"),
        Err(LoadError::TooLarge { .. })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    /// Any text: loading and evaluating every check it holds never panics.
    #[test]
    fn arbitrary_text_never_panics(text in "[ -~\n]{0,400}", cmd in "[ -~\n]{0,80}") {
        if let Ok(c) = parse(&text, "p") {
            for check in c.checks() {
                let input = rampart_cis::Input { command: &cmd, config: Some(&cmd), env: &cmd, error: None };
                let _ = rampart_cis::evaluate(check, &input);
            }
        }
    }
}
