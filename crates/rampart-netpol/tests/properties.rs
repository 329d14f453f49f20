//! Properties of the parsers and the set algebra: port sets against a port-by-port model, CIDR
//! blocks against their definition, and no panic on arbitrary selectors and manifests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::Ipv4Addr;

use proptest::prelude::*;
use rampart_netpol::ip::{Cidr, parse_cidr};
use rampart_netpol::ports::PortSet;
use rampart_netpol::read;

fn set(ranges: &[(u16, u16)]) -> PortSet {
    ranges.iter().fold(PortSet::default(), |acc, (a, b)| {
        acc.union(&PortSet::range(*a.min(b), *a.max(b)))
    })
}

fn model(ranges: &[(u16, u16)]) -> Vec<bool> {
    let mut v = vec![false; 65536];
    for (a, b) in ranges {
        for p in (*a.min(b)).max(1)..=*a.max(b) {
            v[p as usize] = true;
        }
    }
    v
}

fn ranges() -> impl Strategy<Value = Vec<(u16, u16)>> {
    proptest::collection::vec((0u16..400, 0u16..400), 0..6)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn port_sets_agree_with_a_port_by_port_model(a in ranges(), b in ranges()) {
        let (sa, sb) = (set(&a), set(&b));
        let (ma, mb) = (model(&a), model(&b));
        for p in 1..=400u16 {
            let (x, y) = (ma[p as usize], mb[p as usize]);
            prop_assert_eq!(sa.union(&sb).contains(p), x || y);
            prop_assert_eq!(sa.intersect(&sb).contains(p), x && y);
            prop_assert_eq!(sa.minus(&sb).contains(p), x && !y);
        }
        // canonical: sorted, disjoint, not adjacent, so equal sets are equal values
        let u = sa.union(&sb);
        for w in u.ranges().windows(2) {
            prop_assert!(u32::from(w[0].1) + 1 < u32::from(w[1].0));
        }
        prop_assert_eq!(sb.union(&sa), u);
    }

    #[test]
    fn cidr_blocks_hold_their_addresses(addr in any::<u32>(), len in 0u8..=32) {
        let text = format!("{}/{len}", Ipv4Addr::from(addr));
        let Cidr::V4(r) = parse_cidr(&text).unwrap() else { panic!("{text}") };
        prop_assert!(r.lo <= addr && addr <= r.hi, "{} {:?}", text, r);
        prop_assert_eq!(u64::from(r.hi - r.lo) + 1, 1u64 << (32 - u32::from(len)));
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
        let _ = parse_cidr(&text);
        let _ = read([("t.yaml".to_owned(), text.as_str())]);
    }

    #[test]
    fn arbitrary_selectors_are_read_or_refused_with_a_position(
        op in "[A-Za-z]{0,12}", key in "[a-z./-]{0,10}", values in proptest::collection::vec("[a-z0-9]{0,5}", 0..3)
    ) {
        let text = format!(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: p}}\nspec:\n  podSelector:\n    matchExpressions: [{{key: '{key}', operator: '{op}', values: [{}]}}]\n",
            values.iter().map(|v| format!("'{v}'")).collect::<Vec<_>>().join(", ")
        );
        let c = read([("p.yaml".to_owned(), text.as_str())]);
        prop_assert_eq!(c.policies.len() + c.errors.len(), 1, "{:?}", c.errors);
        for e in &c.errors {
            prop_assert!(e.line >= 5, "{}", e);
        }
    }
}
