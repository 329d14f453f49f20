//! The scan's reachability rules: each fires on its bad example and not on its good one, with
//! the message and position a user acts on.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rampart_netpol::read;
use rampart_netpol::rules::{
    EGRESS_BEYOND_FLOWS, REACHABLE_BEYOND_PORTS, RULES, SELECTS_NOTHING, assess_with_flows,
};

/// The findings of a manifest; a `# flows: LINE` first line gives the observed flows.
fn fired(text: &str) -> Vec<(String, String, u32)> {
    let c = read([("t.yaml".to_owned(), text)]);
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    let flows = text
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("# flows: "))
        .map(|l| rampart_netpol::generate::flows_from_lines(l).0)
        .unwrap_or_default();
    assess_with_flows(&c, &flows)
        .findings
        .into_iter()
        .map(|f| (f.rule_id.to_owned(), f.message, f.location.line))
        .collect()
}

#[test]
fn every_rule_fires_on_its_bad_example_only() {
    for r in RULES {
        assert!(
            fired(r.bad_example).iter().any(|f| f.0 == r.id),
            "{} silent on its bad example",
            r.id
        );
        assert!(
            !fired(r.good_example).iter().any(|f| f.0 == r.id),
            "{} fires on its good example",
            r.id
        );
    }
}

#[test]
fn the_messages_say_what_is_open_and_where() {
    let f = fired(REACHABLE_BEYOND_PORTS.bad_example);
    let msgs: Vec<&str> = f
        .iter()
        .filter(|f| f.0 == "NET003")
        .map(|f| f.1.as_str())
        .collect();
    assert_eq!(
        msgs,
        [
            "reachable from every namespace on All Connections, beyond the ports its containers declare (TCP 8080)",
            "reachable from anywhere outside the cluster on All Connections, beyond the ports its containers declare (TCP 8080)"
        ]
    );
    let f = fired(SELECTS_NOTHING.bad_example);
    let n: Vec<_> = f.iter().filter(|f| f.0 == "NET004").collect();
    assert_eq!(n.len(), 1);
    assert_eq!(
        n[0].1,
        "podSelector app=dbb selects none of the 1 workloads of namespace shop"
    );
    assert_eq!(n[0].2, 10);
    // a workload admitted from every namespace on its own port only is fine; from outside on
    // another port is not
    let text = format!(
        "{}  - from: [{{ipBlock: {{cidr: 0.0.0.0/0}}}}]\n    ports: [{{port: 9000}}]\n",
        REACHABLE_BEYOND_PORTS.good_example.replace(
            "ingress: [{from: [{namespaceSelector: {}}], ports: [{port: http}]}]",
            "ingress:\n  - from: [{namespaceSelector: {}}]\n    ports: [{port: http}]"
        )
    );
    let f = fired(&text);
    let msgs: Vec<&str> = f
        .iter()
        .filter(|f| f.0 == "NET003")
        .map(|f| f.1.as_str())
        .collect();
    assert_eq!(
        msgs,
        [
            "reachable from anywhere outside the cluster on TCP 9000, beyond the ports its containers declare (TCP 8080)"
        ]
    );
    let f = fired(EGRESS_BEYOND_FLOWS.bad_example);
    let msgs: Vec<&str> = f
        .iter()
        .filter(|f| f.0 == "NET005")
        .map(|f| f.1.as_str())
        .collect();
    assert_eq!(
        msgs,
        [
            "may reach every namespace on All Connections, while its 1 observed flows go to 10.30.0.0-10.30.255.255[External]",
            "may reach anywhere outside the cluster on All Connections, while its 1 observed flows go to 10.30.0.0-10.30.255.255[External]"
        ]
    );
    // a flow to the whole outside on every port covers the outside
    let wide = EGRESS_BEYOND_FLOWS.bad_example.replacen(
        "10.30.0.0-10.30.255.255[External] : TCP 5432",
        "0.0.0.0-255.255.255.255[External] : All Connections",
        1,
    );
    let msgs: Vec<String> = fired(&wide)
        .into_iter()
        .filter(|f| f.0 == "NET005")
        .map(|f| f.1)
        .collect();
    assert_eq!(msgs.len(), 1, "{msgs:?}");
    assert!(msgs[0].starts_with("may reach every namespace"), "{msgs:?}");
}
