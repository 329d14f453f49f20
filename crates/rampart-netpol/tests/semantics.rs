//! The NetworkPolicy semantics case by case (table tests): each case a small cluster and the
//! lines it must give for a pair (or that the pair has none).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rampart_netpol::{Engine, read};

/// Two namespaces (`a` labelled team=x, `b`), a client in each and a server in `a` that
/// declares `http` (TCP 8080) and `dns` (UDP 53).
const BASE: &str = "apiVersion: v1
kind: Namespace
metadata: {name: a, labels: {team: x}}
---
apiVersion: v1
kind: Namespace
metadata: {name: b}
---
apiVersion: v1
kind: Pod
metadata: {name: server, namespace: a, labels: {app: server}}
spec:
  containers: [{name: s, image: s, ports: [{name: http, containerPort: 8080}, {name: dns, containerPort: 53, protocol: UDP}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: a, labels: {app: client}}
spec: {containers: [{name: c, image: c}]}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: b, labels: {app: client}}
spec: {containers: [{name: c, image: c}]}
";

fn policy(spec: &str) -> String {
    format!(
        "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: p, namespace: a}}\nspec:\n{spec}"
    )
}

fn line(extra: &str, src: &str, dst: &str) -> Option<String> {
    let text = format!("{BASE}{extra}");
    let cluster = read([("t.yaml".to_owned(), text.as_str())]);
    assert!(cluster.errors.is_empty(), "{:?}", cluster.errors);
    Engine::new(&cluster)
        .connections()
        .iter()
        .find(|c| c.src.to_string() == src && c.dst.to_string() == dst)
        .map(|c| c.conns.to_string())
}

const A_CLIENT: &str = "a/client[Pod]";
const B_CLIENT: &str = "b/client[Pod]";
const SERVER: &str = "a/server[Pod]";

#[test]
fn the_semantics_case_by_case() {
    let isolate = "  podSelector: {matchLabels: {app: server}}\n";
    let cases: Vec<(&str, String, &str, &str, Option<&str>)> = vec![
        ("no policy: open", String::new(), B_CLIENT, SERVER, Some("All Connections")),
        ("ingress isolated, no rule", policy(&format!("{isolate}  policyTypes: [Ingress]\n")), A_CLIENT, SERVER, None),
        ("default types: Ingress only", policy(isolate), SERVER, B_CLIENT, Some("All Connections")),
        ("podSelector alone: own namespace", policy(&format!("{isolate}  ingress: [{{from: [{{podSelector: {{}}}}]}}]\n")), B_CLIENT, SERVER, None),
        ("podSelector alone admits own namespace", policy(&format!("{isolate}  ingress: [{{from: [{{podSelector: {{}}}}]}}]\n")), A_CLIENT, SERVER, Some("All Connections")),
        ("empty namespaceSelector: every namespace", policy(&format!("{isolate}  ingress: [{{from: [{{namespaceSelector: {{}}}}]}}]\n")), B_CLIENT, SERVER, Some("All Connections")),
        ("namespaceSelector by label", policy(&format!("{isolate}  ingress: [{{from: [{{namespaceSelector: {{matchLabels: {{team: x}}}}}}]}}]\n")), B_CLIENT, SERVER, None),
        ("both selectors in one peer: AND", policy(&format!("{isolate}  ingress: [{{from: [{{namespaceSelector: {{}}, podSelector: {{matchLabels: {{app: other}}}}}}]}}]\n")), B_CLIENT, SERVER, None),
        ("two peers: OR", policy(&format!("{isolate}  ingress: [{{from: [{{namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: b}}}}}}, {{podSelector: {{matchLabels: {{app: other}}}}}}]}}]\n")), B_CLIENT, SERVER, Some("All Connections")),
        ("named port resolved on the server", policy(&format!("{isolate}  ingress: [{{ports: [{{port: http}}]}}]\n")), B_CLIENT, SERVER, Some("TCP 8080")),
        ("named port with its protocol", policy(&format!("{isolate}  ingress: [{{ports: [{{port: dns, protocol: UDP}}, {{port: dns}}]}}]\n")), B_CLIENT, SERVER, Some("UDP 53")),
        ("endPort range", policy(&format!("{isolate}  ingress: [{{ports: [{{port: 8000, endPort: 8090}}, {{protocol: SCTP}}]}}]\n")), B_CLIENT, SERVER, Some("SCTP 1-65535,TCP 8000-8090")),
        ("matchExpressions NotIn admits absent labels", policy(&format!("{isolate}  ingress: [{{from: [{{podSelector: {{matchExpressions: [{{key: tier, operator: NotIn, values: [web]}}]}}}}]}}]\n")), A_CLIENT, SERVER, Some("All Connections")),
        ("egress isolation of the client", "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: e, namespace: b}\nspec:\n  podSelector: {}\n  egress: [{to: [{namespaceSelector: {}}], ports: [{port: 53, protocol: UDP}]}]\n".to_owned(), B_CLIENT, SERVER, Some("UDP 53")),
        ("egress and ingress both required", format!("{}---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: e, namespace: b}}\nspec:\n  podSelector: {{}}\n  egress: [{{ports: [{{port: 53, protocol: UDP}}]}}]\n", policy(&format!("{isolate}  ingress: [{{ports: [{{port: http}}]}}]\n"))), B_CLIENT, SERVER, None),
        ("ipBlock except", policy(&format!("{isolate}  ingress: [{{from: [{{ipBlock: {{cidr: 10.0.0.0/8, except: [10.1.0.0/16]}}}}]}}]\n")), "10.1.0.0-10.1.255.255[External]", SERVER, None),
        ("ipBlock cidr", policy(&format!("{isolate}  ingress: [{{from: [{{ipBlock: {{cidr: 10.0.0.0/8, except: [10.1.0.0/16]}}}}]}}]\n")), "10.2.0.0-10.255.255.255[External]", SERVER, Some("All Connections")),
        ("ipBlock does not admit pods", policy(&format!("{isolate}  ingress: [{{from: [{{ipBlock: {{cidr: 0.0.0.0/0}}}}]}}]\n")), A_CLIENT, SERVER, None),
    ];
    let mut failed = Vec::new();
    for (name, extra, src, dst, want) in &cases {
        let got = line(extra, src, dst);
        if got.as_deref() != *want {
            failed.push(format!(
                "{name}: {src} => {dst}: got {got:?}, want {want:?}"
            ));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

const INGRESS: &str = "---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: a}
spec:
  selector: {app: server}
  ports: [{name: web, port: 80, targetPort: http}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: a}
spec:
  rules: [{http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}]
";

#[test]
fn the_ingress_controller_reaches_backends_its_policies_admit() {
    // the Service's named target port resolves on the pod
    assert_eq!(
        line(INGRESS, "{ingress-controller}", SERVER).as_deref(),
        Some("TCP 8080")
    );
    // a policy admitting only its own namespace shuts the controller out
    let own = format!(
        "{INGRESS}{}",
        policy(
            "  podSelector: {matchLabels: {app: server}}\n  ingress: [{from: [{podSelector: {}}]}]\n"
        )
    );
    assert_eq!(line(&own, "{ingress-controller}", SERVER), None);
    // one admitting every namespace lets it in
    let all = format!(
        "{INGRESS}{}",
        policy(
            "  podSelector: {matchLabels: {app: server}}\n  ingress: [{from: [{namespaceSelector: {}}], ports: [{port: 8080}]}]\n"
        )
    );
    assert_eq!(
        line(&all, "{ingress-controller}", SERVER).as_deref(),
        Some("TCP 8080")
    );
}
