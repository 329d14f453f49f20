//! Property tests for the condition parser: printing a parsed condition and parsing it again
//! gives the same tree, and no input makes the parser panic.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code: a failed expectation is a test failure"
)]

use proptest::prelude::*;
use rampart_falco::parser::{Expr, FieldExpr, Op, Rhs, Transformer, parse, strip_positions};

fn field() -> impl Strategy<Value = FieldExpr> {
    let name = prop::sample::select(vec![
        "proc.name",
        "fd.name",
        "proc.aname",
        "evt.arg.flags",
        "k8s.ns.name",
        "x.y_1.z",
    ]);
    let arg = prop::option::of(prop::sample::select(vec![
        "2", "HOME", "/etc/*", "a b", "q\"uote",
    ]));
    let base = (name, arg).prop_map(|(n, a)| FieldExpr::Field {
        name: n.to_owned(),
        arg: a.map(str::to_owned),
        pos: 0,
    });
    (
        base,
        prop::option::of(prop::sample::select(vec![
            Transformer::ToLower,
            Transformer::ToUpper,
            Transformer::B64,
            Transformer::Basename,
            Transformer::Len,
        ])),
    )
        .prop_map(|(f, t)| match t {
            Some(t) => FieldExpr::Transform(t, Box::new(f)),
            None => f,
        })
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9_/.:*-]{1,12}",
        any::<String>(),
        Just("and".to_owned()),
        Just("not".to_owned()),
        Just(String::new()),
        Just("a\"b\\c".to_owned()),
    ]
}

fn check() -> impl Strategy<Value = Expr> {
    let ops = vec![
        Op::Eq,
        Op::Ne,
        Op::Lt,
        Op::Ge,
        Op::Contains,
        Op::IContains,
        Op::StartsWith,
        Op::EndsWith,
        Op::Glob,
        Op::Regex,
        Op::BContains,
    ];
    let lists = vec![Op::In, Op::Intersects, Op::Pmatch];
    prop_oneof![
        (field(), prop::sample::select(ops.clone()), value()).prop_map(|(l, op, v)| Expr::Check {
            lhs: l,
            op,
            rhs: Rhs::Value(v)
        }),
        (
            field(),
            prop::sample::select(lists),
            prop::collection::vec(value(), 0..4)
        )
            .prop_map(|(l, op, v)| Expr::Check {
                lhs: l,
                op,
                rhs: Rhs::List(v)
            }),
        field().prop_map(|l| Expr::Check {
            lhs: l,
            op: Op::Exists,
            rhs: Rhs::None
        }),
        (field(), prop::sample::select(ops), field()).prop_map(|(l, op, r)| Expr::Check {
            lhs: l,
            op,
            rhs: Rhs::Field(r)
        }),
        prop::sample::select(vec!["spawned_process", "container", "exists", "len", "m_1"])
            .prop_map(|n| Expr::Macro {
                name: n.to_owned(),
                pos: 0
            }),
    ]
}

fn expr() -> impl Strategy<Value = Expr> {
    check().prop_recursive(5, 48, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::And),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::Or),
            inner.prop_map(|e| Expr::Not(Box::new(e))),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn print_then_parse_is_identity(e in expr()) {
        let text = e.to_string();
        let back = parse(&text).unwrap_or_else(|err| panic!("{text}: {err}"));
        prop_assert_eq!(strip_positions(&back), strip_positions(&e), "{}", text);
        // Printing is stable.
        prop_assert_eq!(back.to_string(), text);
    }

    #[test]
    fn parser_never_panics(s in any::<String>()) {
        let _ = parse(&s);
    }

    #[test]
    fn parser_never_panics_on_condition_like_text(s in "[a-z. ()=!<>,'\"\\[\\]0-9]{0,64}") {
        let _ = parse(&s);
    }
}
