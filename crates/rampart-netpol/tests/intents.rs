//! Generation from intents: the flows the intents of a tree's images declare (both ends'
//! words required where both have an intent), and the proof that the policies generated from
//! them allow exactly those flows, on a hand-checked tree, on every corpus scenario (with
//! intents made up for its images) and on generated clusters.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use rampart_intent::conform::{IntentSet, normalise_repository};
use rampart_intent::doc::Intent;
use rampart_netpol::generate::{Options, check, generate};
use rampart_netpol::intents::declared;
use rampart_netpol::{Cluster, read, read_path};
use rampart_testkit::paths::corpus;

const DIGEST: &str = "@sha256:9b7c5f3c2d1e0a4b6c8d7e9f0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3";

fn intent(repository: &str, network: &str) -> Intent {
    let text = format!(
        "version = 1\nimage = \"{repository}{DIGEST}\"\n[process]\nuser = 1000\nexecutables = [{{ path = \"/app\" }}]\n{network}"
    );
    Intent::parse(&text, std::path::Path::new("test.toml"))
        .unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn set(intents: &[(&str, Intent)]) -> IntentSet {
    let mut s = IntentSet::default();
    for (origin, i) in intents {
        s.add(i.clone(), origin).unwrap();
    }
    s
}

fn deployment(ns: &str, name: &str, image: &str, ports: &[u16]) -> String {
    let ports: Vec<String> = ports
        .iter()
        .map(|p| format!("{{containerPort: {p}}}"))
        .collect();
    format!(
        "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: {ns}}}\nspec:\n  selector: {{matchLabels: {{app: {name}}}}}\n  template:\n    metadata: {{labels: {{app: {name}}}}}\n    spec: {{containers: [{{name: c, image: \"{image}\", ports: [{}]}}]}}\n",
        ports.join(", ")
    )
}

/// A shop: a frontend without an intent, an api and a database with intents, Prometheus in
/// its own namespace, and the cluster's DNS pods.
fn shop() -> Cluster {
    let mut t = String::new();
    t.push_str(&deployment(
        "shop",
        "frontend",
        "registry.example.com/shop/frontend:2",
        &[80],
    ));
    t.push_str(&deployment(
        "shop",
        "api",
        "registry.example.com/shop/api:1.4",
        &[8080, 9090],
    ));
    t.push_str(&deployment(
        "shop",
        "db",
        "docker.io/library/postgres:16",
        &[5432],
    ));
    t.push_str(&deployment(
        "monitoring",
        "prometheus",
        "quay.io/prometheus/prometheus",
        &[9090],
    ));
    t.push_str("---\napiVersion: v1\nkind: Pod\nmetadata: {name: coredns-1, namespace: kube-system, labels: {k8s-app: kube-dns}}\nspec: {containers: [{name: c, image: coredns}]}\n");
    let c = read([("shop.yaml".to_owned(), t.as_str())]);
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    c
}

const API: &str = r#"
[[network.listen]]
port = 8080
from = [{ pods = { app = "frontend" } }]

[[network.listen]]
port = 9090
from = [{ namespaces = { "kubernetes.io/metadata.name" = "monitoring" } }]

[[network.egress]]
pods = { app = "db" }
ports = [5432]

[[network.egress]]
dns = "api.payments.example.com"
ports = [443]
"#;

fn lines(d: &rampart_netpol::intents::Declared) -> Vec<String> {
    d.flows
        .iter()
        .map(|f| format!("{} => {} : {}", f.src, f.dst, f.conns))
        .collect()
}

#[test]
fn the_flows_the_intents_of_a_tree_declare() {
    let db = "[network]\ncluster-dns = false\n[[network.listen]]\nport = 5432\nfrom = [{ pods = { app = \"api\" } }]\n";
    let s = set(&[
        ("api.toml", intent("registry.example.com/shop/api", API)),
        ("db.toml", intent("docker.io/library/postgres", db)),
        ("cache.toml", intent("docker.io/library/redis", "")),
    ]);
    let d = declared(&shop(), &s);
    assert_eq!(
        lines(&d),
        [
            // the monitoring namespace's pods, on the metrics port (Prometheus has no intent)
            "monitoring/prometheus[Deployment] => shop/api[Deployment] : TCP 9090",
            // the payment API by name (any address), DNS (the DNS pods have no intent), the
            // database (its intent admits the api on 5432 too)
            "shop/api[Deployment] => 0.0.0.0-255.255.255.255[External] : TCP 443",
            "shop/api[Deployment] => kube-system/coredns-1[Pod] : TCP 53,UDP 53",
            "shop/api[Deployment] => shop/db[Deployment] : TCP 5432",
            // the frontend has no intent: the api's listen decides
            "shop/frontend[Deployment] => shop/api[Deployment] : TCP 8080",
        ]
    );
    assert_eq!(
        d.workloads
            .keys()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["shop/api[Deployment]", "shop/db[Deployment]"]
    );
    // said: the database turns DNS off, the cache's image runs nowhere, hosts by name
    assert_eq!(
        d.without_dns
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["shop/db[Deployment]"]
    );
    assert!(
        d.notes
            .iter()
            .any(|n| n.starts_with("cache.toml: its image runs in no workload")),
        "{:?}",
        d.notes
    );
    assert!(
        d.notes
            .iter()
            .any(|n| n.contains("api.payments.example.com")),
        "{:?}",
        d.notes
    );

    // and the policies generated from them allow exactly these flows
    for dns in [false, true] {
        let c = shop();
        let g = generate(&c, &d.flows, &Options { dns });
        assert_eq!(check(&c, &g, &d.flows, dns).unwrap(), (vec![], vec![]));
    }
}

#[test]
fn both_ends_must_declare_a_connection_between_two_intents() {
    // the database listens on 5433 only: the api's egress to it on 5432 is declared by one
    // end and refused by the other, so it is no flow; a database without `from` admits
    // every source, the outside too
    let db = "[[network.listen]]\nport = 5433\n";
    let s = set(&[
        ("api.toml", intent("registry.example.com/shop/api", API)),
        ("db.toml", intent("docker.io/library/postgres", db)),
    ]);
    let got = lines(&declared(&shop(), &s));
    assert!(
        !got.iter()
            .any(|l| l.starts_with("shop/api[Deployment] => shop/db")),
        "{got:?}"
    );
    for from in [
        "shop/frontend[Deployment]",
        "monitoring/prometheus[Deployment]",
        "kube-system/coredns-1[Pod]",
        "0.0.0.0-255.255.255.255[External]",
    ] {
        assert!(
            got.contains(&format!("{from} => shop/db[Deployment] : TCP 5433")),
            "{from}: {got:?}"
        );
    }

    // the api on its own: it says nothing about the outside's ingress, so only its listens
    let s = set(&[("api.toml", intent("registry.example.com/shop/api", API))]);
    let got = lines(&declared(&shop(), &s));
    assert!(got.contains(&"shop/api[Deployment] => shop/db[Deployment] : TCP 5432".to_owned()));
    assert!(
        !got.iter()
            .any(|l| l.starts_with("shop/frontend[Deployment] => shop/db"))
    );
}

#[test]
fn two_containers_with_intents_share_the_pods_network() {
    let mut t = deployment("shop", "api", "registry.example.com/shop/api:1.4", &[8080]);
    t = t.replace(
        "ports: [{containerPort: 8080}]}]",
        "ports: [{containerPort: 8080}]}, {name: side, image: \"docker.io/envoyproxy/envoy:v1\"}]",
    );
    t.push_str(&deployment("shop", "frontend", "f", &[80]));
    let c = read([("t.yaml".to_owned(), t.as_str())]);
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    let s = set(&[
        (
            "api.toml",
            intent(
                "registry.example.com/shop/api",
                "[[network.listen]]\nport = 8080\nfrom = [{ pods = { app = \"frontend\" } }]\n",
            ),
        ),
        (
            "envoy.toml",
            intent(
                "docker.io/envoyproxy/envoy",
                "[[network.listen]]\nport = 15001\nfrom = [{ pods = { app = \"frontend\" } }]\n",
            ),
        ),
    ]);
    let d = declared(&c, &s);
    assert_eq!(
        lines(&d),
        ["shop/frontend[Deployment] => shop/api[Deployment] : TCP 8080,15001"]
    );
    assert!(
        d.notes.iter().any(|n| n.contains("2 intents")),
        "{:?}",
        d.notes
    );
}

/// A small deterministic generator (no seed file to keep: the scenario's name is the seed).
struct Lcg(u64);

impl Lcg {
    fn of(name: &str) -> Lcg {
        Lcg(name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        }))
    }
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) as usize) % n.max(1)
    }
}

/// Made-up intents for the images of a cluster: each listens on its declared ports (8080
/// when none) from sources of every kind, and talks to pods, blocks and hosts.
fn made_up(c: &Cluster, rng: &mut Lcg) -> IntentSet {
    let members = &c.members;
    let namespaces: Vec<&String> = c.namespaces.keys().collect();
    let label_of = |rng: &mut Lcg| -> Option<String> {
        let m = &members[rng.below(members.len())];
        let labels: Vec<_> = m
            .labels
            .iter()
            .filter(|(k, _)| *k != "pod-template-hash")
            .collect();
        if labels.is_empty() {
            return None;
        }
        let (k, v) = labels[rng.below(labels.len())];
        Some(format!("{{ {k:?} = {v:?} }}"))
    };
    let mut repos: BTreeMap<String, &rampart_netpol::model::Member> = BTreeMap::new();
    for m in members {
        for i in &m.images {
            if let Some(r) = normalise_repository(i) {
                repos.entry(r).or_insert(m);
            }
        }
    }
    let mut s = IntentSet::default();
    for (repo, m) in repos {
        let mut net = String::new();
        if rng.below(4) == 0 {
            net.push_str("[network]\ncluster-dns = false\n");
        }
        let mut ports: Vec<(u16, &str)> = m
            .ports
            .iter()
            .map(|p| (p.number, p.protocol.as_str()))
            .take(3)
            .collect();
        if ports.is_empty() {
            ports.push((8080, "TCP"));
        }
        for (port, proto) in ports {
            net.push_str(&format!(
                "[[network.listen]]\nport = {port}\nprotocol = \"{proto}\"\n"
            ));
            let ns = namespaces[rng.below(namespaces.len())];
            let from = match rng.below(6) {
                0 => None,
                1 => label_of(rng).map(|l| format!("{{ pods = {l} }}")),
                2 => Some(format!(
                    "{{ namespaces = {{ \"kubernetes.io/metadata.name\" = {ns:?} }} }}"
                )),
                3 => label_of(rng).map(|l| format!("{{ pods = {l}, namespaces = {{}} }}")),
                4 => Some("{ cidr = \"10.0.0.0/8\", except = [\"10.1.0.0/16\"] }".to_owned()),
                _ => label_of(rng)
                    .map(|l| format!("{{ pods = {l} }}, {{ cidr = \"172.16.0.0/12\" }}")),
            };
            if let Some(f) = from {
                net.push_str(&format!("from = [{f}]\n"));
            }
        }
        for _ in 0..rng.below(4) {
            net.push_str("[[network.egress]]\n");
            match rng.below(4) {
                0 => net.push_str("cidr = \"192.168.0.0/16\"\nexcept = [\"192.168.7.0/24\"]\nports = [443, \"8000-8100\"]\n"),
                1 => net.push_str("dns = \"*.example.com\"\nports = [443]\n"),
                2 => net.push_str(&format!(
                    "namespaces = {{ \"kubernetes.io/metadata.name\" = {:?} }}\nprotocol = \"UDP\"\n",
                    namespaces[rng.below(namespaces.len())]
                )),
                _ => match label_of(rng) {
                    Some(l) => net.push_str(&format!("pods = {l}\nnamespaces = {{}}\nports = [{}]\n", 1 + rng.below(9000))),
                    None => net.push_str("cidr = \"8.8.8.8/32\"\nports = [53]\nprotocol = \"UDP\"\n"),
                },
            }
        }
        s.add(intent(&repo, &net), &format!("{repo}.toml")).unwrap();
    }
    s
}

#[test]
fn generated_policies_allow_exactly_what_intents_declare_on_every_scenario() {
    let root = corpus("netpol-analyzer");
    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("scenarios.json")).unwrap())
            .unwrap();
    let (mut exact, mut total, mut flows) = (0, 0, 0);
    let mut report = Vec::new();
    for name in index["scenarios"].as_object().unwrap().keys() {
        let cluster = read_path(&root.join("tests").join(name)).unwrap();
        if cluster.members.is_empty() {
            continue;
        }
        let set = made_up(&cluster, &mut Lcg::of(name));
        let d = declared(&cluster, &set);
        // every flow has an end with an intent
        let with: BTreeSet<String> = d.workloads.keys().map(ToString::to_string).collect();
        for f in &d.flows {
            assert!(
                with.contains(&f.src.to_string()) || with.contains(&f.dst.to_string()),
                "{name}: {} => {} declared by nobody",
                f.src,
                f.dst
            );
        }
        flows += d.flows.len();
        for dns in [false, true] {
            total += 1;
            let g = generate(&cluster, &d.flows, &Options { dns });
            let (missing, extra) = check(&cluster, &g, &d.flows, dns).unwrap();
            assert!(
                missing.is_empty(),
                "{name}: generated policies miss {missing:?}"
            );
            if extra.is_empty() {
                exact += 1;
                continue;
            }
            // wider only where a workload's labels select another one, and said so
            let said = common::wider_only_where_said(&extra, &g.notes);
            assert!(
                said,
                "{name}: wider than the intents without saying so: {extra:?}"
            );
            report.push(format!("{name} (dns {dns}): {} extra", extra.len()));
        }
    }
    eprintln!(
        "{exact} of {total} exact, {flows} flows; the others:\n{}",
        report.join("\n")
    );
    assert!(
        flows > 100,
        "the made-up intents declared only {flows} flows"
    );
    assert!(exact * 4 >= total * 3, "{exact} of {total} exact");
}

mod generated {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        // on clusters whose workloads each have a label of their own, the policies generated
        // from any intents allow exactly what they declare
        #[test]
        fn exactly_what_the_intents_declare(n in 2usize..9, seed in any::<u64>(), dns in any::<bool>()) {
            let mut t = String::new();
            for i in 0..n {
                t.push_str(&deployment(&format!("ns{}", i % 3), &format!("w{i}"), &format!("r.example/img{}", i % 5), &[8000 + i as u16]));
            }
            let cluster = read([("c.yaml".to_owned(), t.as_str())]);
            prop_assert!(cluster.errors.is_empty());
            let set = made_up(&cluster, &mut Lcg(seed));
            let d = declared(&cluster, &set);
            let g = generate(&cluster, &d.flows, &Options { dns });
            prop_assert!(g.notes.is_empty(), "{:?}", g.notes);
            let (missing, extra) = check(&cluster, &g, &d.flows, dns).unwrap();
            prop_assert!(missing.is_empty() && extra.is_empty(), "flows {:?}\nmissing {:?}\nextra {:?}", lines(&d), missing, extra);
        }
    }
}
