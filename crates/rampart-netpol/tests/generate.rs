//! The proof of generation: for every corpus scenario (and generated clusters), the connections
//! its policies allow are taken as the flows, policies are generated from them alone, and the
//! reachability of the generated policies, computed by the engine, equals the flows: nothing
//! more, nothing less. Where a workload's labels also select another workload the policies
//! cannot be exact; generation says so, and the test checks it said so.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use rampart_netpol::generate::{Flow, Options, check, generate};
use rampart_netpol::{Engine, read_path};
use rampart_testkit::paths::corpus;

#[test]
fn generated_policies_allow_exactly_the_flows_of_every_scenario() {
    let root = corpus("netpol-analyzer");
    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("scenarios.json")).unwrap())
            .unwrap();
    let mut report = Vec::new();
    let mut exact = 0;
    for name in index["scenarios"].as_object().unwrap().keys() {
        let cluster = read_path(&root.join("tests").join(name)).unwrap();
        let flows: Vec<Flow> = Engine::new(&cluster)
            .connections()
            .into_iter()
            .filter(|c| !matches!(c.src, rampart_netpol::Endpoint::IngressController))
            .map(|c| Flow {
                src: c.src,
                dst: c.dst,
                conns: c.conns,
            })
            .collect();
        for dns in [false, true] {
            let g = generate(&cluster, &flows, &Options { dns });
            let (missing, extra) = check(&cluster, &g, &flows, dns).unwrap();
            if missing.is_empty() && extra.is_empty() {
                exact += 1;
                continue;
            }
            // not exact: generation must have said why, naming a workload of every wider line
            // (labels shared by workloads)
            let said = common::wider_only_where_said(&extra, &g.notes);
            report.push(format!(
                "{name} (dns {dns}): {} missing, {} extra, notes said so: {said}\n  {:?}\n  {:?}\n  {:?}",
                missing.len(),
                extra.len(),
                missing.iter().take(2).collect::<Vec<_>>(),
                extra.iter().take(2).collect::<Vec<_>>(),
                g.notes.iter().take(2).collect::<Vec<_>>()
            ));
            assert!(
                missing.is_empty(),
                "{name}: generated policies miss flows: {missing:?}"
            );
            assert!(
                said,
                "{name}: wider than the flows without saying so: {extra:?}"
            );
        }
    }
    eprintln!(
        "{exact} of {} exact; the others:\n{}",
        2 * index["scenarios"].as_object().unwrap().len(),
        report.join("\n")
    );
}

mod generated {
    use super::*;
    use proptest::prelude::*;
    use rampart_netpol::read;

    /// A cluster of `n` workloads over three namespaces, each with a label of its own, some
    /// declaring a named port.
    fn cluster_text(n: usize) -> String {
        let mut t = String::new();
        for i in 0..n {
            t.push_str(&format!(
                "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: w{i}, namespace: ns{}}}\nspec:\n  template:\n    metadata: {{labels: {{app: w{i}, tier: t{}}}}}\n    spec: {{containers: [{{name: c, image: i, ports: [{{name: http, containerPort: {}}}]}}]}}\n",
                i % 3,
                i % 2,
                8000 + i
            ));
        }
        t
    }

    fn conns() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("All Connections".to_owned()),
            (1u16..2000).prop_map(|p| format!("TCP {p}")),
            (1u16..2000, 0u16..50).prop_map(|(p, w)| format!("TCP {p}-{},UDP 53", p + w)),
            Just("SCTP 9090".to_owned()),
        ]
    }

    fn endpoint(n: usize) -> impl Strategy<Value = String> {
        prop_oneof![
            4 => (0..n).prop_map(|i| format!("ns{}/w{i}[Deployment]", i % 3)),
            1 => (0u8..255, 8u8..=24).prop_map(|(a, len)| {
                let lo = u32::from(a) << 24;
                let hi = lo | (u32::MAX >> len);
                format!("{}-{}[External]", std::net::Ipv4Addr::from(lo), std::net::Ipv4Addr::from(hi))
            }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(40))]
        // on clusters whose workloads each have a label of their own, the generated policies
        // allow exactly the flows
        #[test]
        fn exactly_the_flows(n in 2usize..8, lines in proptest::collection::vec((endpoint(8), endpoint(8), conns()), 1..12), dns in any::<bool>()) {
            let text = cluster_text(n);
            let cluster = read([("c.yaml".to_owned(), text.as_str())]);
            let listing: String = lines
                .iter()
                .filter(|(s, d, _)| s != d && !(s.ends_with("[External]") && d.ends_with("[External]")))
                .filter(|(s, d, _)| [s, d].iter().all(|e| e.ends_with("[External]") || e[e.find("/w").unwrap() + 2..e.find('[').unwrap()].parse::<usize>().unwrap() < n))
                .map(|(s, d, c)| format!("{s} => {d} : {c}\n"))
                .collect();
            let (flows, errors) = rampart_netpol::generate::flows_from_lines(&listing);
            prop_assert!(errors.is_empty(), "{:?}", errors);
            let g = generate(&cluster, &flows, &Options { dns });
            prop_assert!(g.notes.is_empty(), "{:?}", g.notes);
            let (missing, extra) = check(&cluster, &g, &flows, dns).unwrap();
            prop_assert!(missing.is_empty() && extra.is_empty(), "flows:\n{}missing {:?}\nextra {:?}", listing, missing, extra);
        }
    }
}
