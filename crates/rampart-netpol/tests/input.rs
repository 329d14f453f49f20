//! Bad input: every problem an input error naming its file, line and column; the object is
//! left out (the API server would have refused it), and the rest is analysed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rampart_netpol::{Engine, read};

const GOOD: &str = "apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: web, ports: [{name: http, containerPort: 8080}]}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: db, namespace: shop}
spec:
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: db, image: db}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-in, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: db}}}]
    ports: [{port: http}]
";

fn policy(name: &str, rule: &str) -> String {
    format!(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: {name}, namespace: shop}}\nspec:\n  podSelector: {{}}\n  policyTypes: [Ingress, Egress]\n  egress:\n{rule}"
    )
}

#[test]
fn bad_policies_are_errors_with_positions_and_the_rest_is_analysed() {
    let cases: Vec<(&str, String, &str)> = vec![
        ("op", policy("op", "  - to: [{podSelector: {matchExpressions: [{key: app, operator: Is, values: [a]}]}}]\n"), "unknown operator \"Is\""),
        ("in-empty", policy("in-empty", "  - to: [{podSelector: {matchExpressions: [{key: app, operator: In}]}}]\n"), "need values"),
        ("cidr", policy("cidr", "  - to: [{ipBlock: {cidr: 10.0.0.0/40}}]\n"), "at most 32 bits"),
        ("cidr-text", policy("cidr-text", "  - to: [{ipBlock: {cidr: not-an-ip/8}}]\n"), "is not an IP address"),
        ("except", policy("except", "  - to: [{ipBlock: {cidr: 10.0.0.0/8, except: [11.0.0.0/16]}}]\n"), "strict subset"),
        ("port", policy("port", "  - ports: [{port: 70000}]\n"), "out of range"),
        ("port-name", policy("port-name", "  - ports: [{port: Not_A_Name}]\n"), "valid port name"),
        ("proto", policy("proto", "  - ports: [{port: 53, protocol: ICMP}]\n"), "TCP, UDP or SCTP"),
        ("endport", policy("endport", "  - ports: [{port: 8080, endPort: 80}]\n"), "endPort must be"),
        ("both", policy("both", "  - to: [{ipBlock: {cidr: 10.0.0.0/8}, podSelector: {}}]\n"), "an ipBlock and a selector"),
        ("types", "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: types, namespace: shop}\nspec:\n  podSelector: {}\n  policyTypes: [Sideways]\n".to_owned(), "policyTypes"),
    ];
    let mut files: Vec<(String, String)> = vec![("good.yaml".into(), GOOD.into())];
    for (name, text, _) in &cases {
        files.push((format!("{name}.yaml"), text.clone()));
    }
    let cluster = read(files.iter().map(|(n, t)| (n.clone(), t.as_str())));
    for (name, _, message) in &cases {
        let e = cluster
            .errors
            .iter()
            .find(|e| e.file == format!("{name}.yaml"))
            .unwrap_or_else(|| panic!("{name}: no error in {:?}", cluster.errors));
        assert!(e.message.contains(message), "{name}: {e}");
        assert!(e.line >= 1 && e.column >= 1, "{name}: {e}");
    }
    // none of the bad policies exists: only the good one isolates anything
    assert_eq!(cluster.policies.len(), 1);
    let lines: Vec<String> = Engine::new(&cluster)
        .connections()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(
        lines.contains(&"shop/db[Deployment] => shop/web[Deployment] : TCP 8080".to_owned()),
        "{lines:?}"
    );
    assert!(
        !lines
            .iter()
            .any(|l| l.ends_with("=> shop/web[Deployment] : All Connections")),
        "{lines:?}"
    );
}

#[test]
fn a_broken_file_does_not_hide_the_others() {
    let cluster = read([
        ("broken.yaml".to_owned(), "kind: [unclosed\n"),
        ("good.yaml".to_owned(), GOOD),
    ]);
    assert!(
        cluster
            .errors
            .iter()
            .any(|e| e.file == "broken.yaml" && e.line == 1),
        "{:?}",
        cluster.errors
    );
    assert_eq!(cluster.members.len(), 2);
}
