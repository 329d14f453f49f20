//! `rampart netpol` through the binary: the connection list against netpol-analyzer's, JSON,
//! DOT and SVG, explanations, exposure, diff, and input errors with positions and exit 2.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{ok, rampart_command, root};

fn scenario(name: &str) -> std::path::PathBuf {
    root()
        .join("../shared/corpus/netpol-analyzer/tests")
        .join(name)
}

/// A temporary directory holding `tree/NAME` with `text`: the directory (kept alive) and the
/// tree.
fn tree(name: &str, text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    std::fs::create_dir(&tree).unwrap();
    std::fs::write(tree.join(name), text).unwrap();
    (dir, tree)
}

fn run(args: &[&str]) -> std::process::Output {
    rampart_command().args(args).output().unwrap()
}

#[test]
fn reach_prints_netpol_analyzers_lines_and_pictures() {
    let dir = scenario("minimal_test_in_ns");
    let d = dir.to_str().unwrap();
    let out = ok(&run(&["netpol", "reach", d])).stdout.clone();
    let expected = std::fs::read_to_string(
        root().join("../shared/corpus/netpol-analyzer/expected/minimal_test_in_ns.txt"),
    )
    .unwrap();
    let mut want: Vec<&str> = expected.lines().filter(|l| !l.is_empty()).collect();
    want.sort_unstable();
    assert_eq!(
        String::from_utf8(out).unwrap().lines().collect::<Vec<_>>(),
        want
    );

    let json: serde_json::Value =
        serde_json::from_slice(&ok(&run(&["netpol", "reach", d, "--format", "json"])).stdout)
            .unwrap();
    let conns = json["connections"].as_array().unwrap();
    assert_eq!(conns.len(), want.len());
    assert!(conns.iter().any(|c| c["conns"] == "TCP 8050"
        && c["src"]["name"] == "workload-b"
        && c["dst"]["name"] == "workload-a"));

    let dot = String::from_utf8(
        ok(&run(&["netpol", "reach", d, "--format", "dot"]))
            .stdout
            .clone(),
    )
    .unwrap();
    assert!(dot.starts_with("digraph"));
    assert!(dot.contains("\"hello-world/workload-b[Deployment]\" -> \"hello-world/workload-a[Deployment]\" [label=\"TCP 8050\"]"), "{dot}");
    let svg = String::from_utf8(
        ok(&run(&["netpol", "reach", d, "--format", "svg"]))
            .stdout
            .clone(),
    )
    .unwrap();
    assert!(svg.starts_with("<svg"));
    assert_eq!(svg.matches("class=\"edge\"").count(), want.len());
    assert_eq!(svg.matches("class=\"node\"").count(), 3);
}

#[test]
fn explain_names_the_rule_and_exposure_the_open_doors() {
    let d = scenario("minimal_test_in_ns");
    let d = d.to_str().unwrap();
    let text = String::from_utf8(
        ok(&run(&["netpol", "reach", d, "--explain"]))
            .stdout
            .clone(),
    )
    .unwrap();
    assert!(text.contains("hello-world/workload-b[Deployment] => hello-world/workload-a[Deployment] : TCP 8050\n  egress of hello-world/workload-b[Deployment]: no policy selects it: everything allowed\n  ingress of hello-world/workload-a[Deployment]: hello-world/allow-hello-world-b-to-a-app rule 0: TCP 8050"), "{text}");
    assert!(text.contains("0.0.0.0-255.255.255.255[External] => hello-world/workload-a[Deployment] : No Connections\n  ingress of hello-world/workload-a[Deployment]: denied: isolated by hello-world/allow-hello-world-b-to-a-app"), "{text}");
    let exp: serde_json::Value = serde_json::from_slice(
        &ok(&run(&[
            "netpol",
            "reach",
            d,
            "--exposure",
            "--format",
            "json",
        ]))
        .stdout,
    )
    .unwrap();
    let a = exp
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["workload"]["name"] == "workload-a")
        .unwrap();
    assert_eq!(a["ingress_from_all_namespaces"], "No Connections");
    assert_eq!(a["ingress_from_anywhere"], "No Connections");
    assert_eq!(a["egress_to_anywhere"], "All Connections");
    let b = exp
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["workload"]["name"] == "workload-b")
        .unwrap();
    assert_eq!(b["ingress_from_anywhere"], "All Connections");
}

#[test]
fn diff_shows_what_changes_and_exits_one() {
    let (a, b) = (
        scenario("semanticDiff-same-topologies-old2"),
        scenario("semanticDiff-same-topologies-new2"),
    );
    let out = run(&["netpol", "diff", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(
        text.starts_with(
            "~ demo/cog-agents-bank-ui[DaemonSet] => demo/cog-agents-account-command[DaemonSet] : "
        ),
        "{text}"
    );
    let same = run(&["netpol", "diff", a.to_str().unwrap(), a.to_str().unwrap()]);
    assert_eq!(same.status.code(), Some(0));
    assert!(same.stdout.is_empty());
}

#[test]
fn input_errors_name_file_and_position_and_exit_two() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.yaml"), "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: bad}\nspec:\n  podSelector: {}\n  ingress:\n  - from: [{ipBlock: {cidr: 300.1.1.1/8}}]\n").unwrap();
    std::fs::write(dir.path().join("app.yaml"), "apiVersion: v1\nkind: Pod\nmetadata: {name: app}\nspec: {containers: [{name: a, image: a}]}\n").unwrap();
    let out = run(&["netpol", "reach", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("bad.yaml:7:29: \"300.1.1.1/8\": \"300.1.1.1\" is not an IP address"),
        "{err}"
    );
    // the rest is analysed: the pod is open both ways
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("0.0.0.0-255.255.255.255[External] => default/app[Pod] : All Connections"),
        "{text}"
    );
}

#[test]
fn generate_writes_policies_that_allow_exactly_the_flows() {
    let (dir, tree) = tree(
        "apps.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  template:\n    metadata: {labels: {app: web, pod-template-hash: abc}}\n    spec:\n      containers:\n      - name: web\n        image: web\n        env: [{name: DB, value: 'postgres://db.shop.svc.cluster.local:5432/app'}]\n        envFrom: [{configMapRef: {name: web-config}}]\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: web-config, namespace: shop}\ndata: {CACHE_URL: 'redis://cache:6379'}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: db, namespace: shop}\nspec:\n  template:\n    metadata: {labels: {app: db}}\n    spec: {containers: [{name: db, image: db, ports: [{name: pg, containerPort: 5432}]}]}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: db, namespace: shop}\nspec: {selector: {app: db}, ports: [{port: 5432, targetPort: pg}]}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: cache, namespace: shop}\nspec:\n  template:\n    metadata: {labels: {app: cache}}\n    spec: {containers: [{name: c, image: redis}]}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: cache, namespace: shop}\nspec: {selector: {app: cache}, ports: [{port: 6379}]}\n",
    );
    std::fs::write(
        dir.path().join("flows.txt"),
        "0.0.0.0-255.255.255.255[External] => shop/web[Deployment] : TCP 443\n",
    )
    .unwrap();
    let policies = dir.path().join("policies.yaml");
    let out = run(&[
        "netpol",
        "generate",
        tree.to_str().unwrap(),
        "--infer",
        "--no-dns",
        "--flows",
        dir.path().join("flows.txt").to_str().unwrap(),
        "-o",
        policies.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("2 flows inferred"), "{err}");
    // the generated policies, applied to the tree, allow exactly the flows
    std::fs::copy(&policies, tree.join("policies.yaml")).unwrap();
    let reach = String::from_utf8(
        ok(&run(&["netpol", "reach", tree.to_str().unwrap()]))
            .stdout
            .clone(),
    )
    .unwrap();
    assert_eq!(
        reach.lines().collect::<Vec<_>>(),
        [
            "0.0.0.0-255.255.255.255[External] => shop/web[Deployment] : TCP 443",
            "shop/web[Deployment] => shop/cache[Deployment] : TCP 6379",
            "shop/web[Deployment] => shop/db[Deployment] : TCP 5432",
        ]
    );
    // the volatile label is not selected on
    assert!(
        !std::fs::read_to_string(&policies)
            .unwrap()
            .contains("pod-template-hash")
    );
    // bad flow lines are input errors with their line
    std::fs::write(
        dir.path().join("bad.txt"),
        "shop/web[Deployment] => shop/db[Deployment] : TCP 5432\nnot a flow\n",
    )
    .unwrap();
    let out = run(&[
        "netpol",
        "generate",
        tree.to_str().unwrap(),
        "--flows",
        dir.path().join("bad.txt").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("bad.txt:2: expected `src => dst : connections`")
    );
}

#[test]
fn scan_reports_egress_wider_than_observed_flows() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("web.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers: [{name: web, image: web}]\n",
    )
    .unwrap();
    let flows = dir.path().join("flows.txt");
    std::fs::write(
        &flows,
        "shop/web[Deployment] => 10.30.0.0-10.30.255.255[External] : TCP 5432\n",
    )
    .unwrap();
    let scan = || {
        run(&[
            "scan",
            dir.path().to_str().unwrap(),
            "--flows",
            flows.to_str().unwrap(),
            "--format",
            "json",
        ])
    };
    let out = scan();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let net005: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule_id"] == "NET005")
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert_eq!(net005.len(), 2, "{net005:?}");
    assert!(
        net005
            .iter()
            .any(|m| m.starts_with("may reach anywhere outside the cluster on All Connections"))
    );
    // a line that is not a flow is an input error with its line
    std::fs::write(&flows, "shop/web[Deployment] => nowhere : TCP 5432\n").unwrap();
    let out = scan();
    assert_eq!(out.status.code(), Some(2));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        report["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["line"] == 1 && e["message"].as_str().unwrap().contains("nowhere")),
        "{}",
        report["errors"]
    );
}

/// One event as Falco's JSON output carries it.
fn event(kind: &str, ns: &str, pod: &str, cip: &str, sip: &str, sport: u16, proto: &str) -> String {
    serde_json::json!({
        "time": "2026-12-06T10:00:00.000000000Z", "rule": "Learn connections", "priority": "Informational",
        "output": "connection", "source": "syscall",
        "output_fields": {"evt.type": kind, "k8s.ns.name": ns, "k8s.pod.name": pod,
            "fd.cip": cip, "fd.cport": 40000, "fd.sip": sip, "fd.sport": sport, "fd.l4proto": proto}
    })
    .to_string()
}

#[test]
fn observed_events_become_flows_and_policies() {
    // a dump: the db pod with its address; the web Deployment's pods are named after it
    let (dir, tree) = tree(
        "cluster.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: web, image: web}]}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: db-0, namespace: shop, labels: {app: db}, ownerReferences: [{kind: StatefulSet, name: db, controller: true}]}\nspec: {containers: [{name: db, image: db}]}\nstatus: {podIP: 10.1.0.7, podIPs: [{ip: 10.1.0.7}]}\n",
    );
    let events = [
        event(
            "connect",
            "shop",
            "web-7d77fb55cc-x2z9k",
            "10.1.0.5",
            "10.1.0.7",
            5432,
            "tcp",
        ),
        event(
            "connect",
            "shop",
            "web-7d77fb55cc-q8p2m",
            "10.1.0.6",
            "10.1.0.7",
            5432,
            "tcp",
        ),
        event(
            "connect",
            "shop",
            "web-7d77fb55cc-x2z9k",
            "10.1.0.5",
            "93.184.216.34",
            443,
            "tcp",
        ),
        event(
            "accept",
            "shop",
            "web-7d77fb55cc-x2z9k",
            "203.0.113.9",
            "10.1.0.5",
            8080,
            "tcp",
        ),
        event("open", "shop", "web-7d77fb55cc-x2z9k", "", "", 0, ""),
        event(
            "connect",
            "other",
            "stranger-1",
            "10.9.0.1",
            "10.1.0.7",
            5432,
            "tcp",
        ),
        "not json".to_owned(),
    ]
    .join("\n");
    let ev = dir.path().join("events.jsonl");
    std::fs::write(&ev, events).unwrap();
    let out = run(&[
        "netpol",
        "flows",
        ev.to_str().unwrap(),
        "--cluster",
        tree.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "a line that is not JSON");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("events.jsonl:6: pod other/stranger-1 is no workload of the manifests"),
        "{err}"
    );
    assert!(err.contains("events.jsonl:7: not JSON"), "{err}");
    let lines = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        lines.lines().collect::<Vec<_>>(),
        [
            "shop/web[Deployment] => shop/db[StatefulSet] : TCP 5432",
            "shop/web[Deployment] => 93.184.216.34-93.184.216.34[External] : TCP 443",
            "203.0.113.9-203.0.113.9[External] => shop/web[Deployment] : TCP 8080",
        ]
    );
    // the flows generate policies that allow exactly them
    let flows = dir.path().join("flows.txt");
    std::fs::write(&flows, &lines).unwrap();
    let out = run(&[
        "netpol",
        "generate",
        tree.to_str().unwrap(),
        "--flows",
        flows.to_str().unwrap(),
        "--no-dns",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("cidr: 93.184.216.34/32"));
}

#[test]
fn generate_from_intents_writes_what_they_declare_and_no_more() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    std::fs::create_dir(&tree).unwrap();
    // the example's workloads, without its own policies
    for f in ["namespaces.yaml", "web.yaml", "worker.yaml", "legacy.yaml"] {
        std::fs::copy(root().join("examples/k8s").join(f), tree.join(f)).unwrap();
    }
    let intent = root().join("examples/intent/web.intent.toml");
    // a second intent that is not valid: said with its position, the rest still generated
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "version = 1\nimage = \"x@sha256:00\"\n").unwrap();
    let out = run(&[
        "netpol",
        "generate",
        tree.to_str().unwrap(),
        "--intent",
        intent.to_str().unwrap(),
        "--intent",
        bad.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("input error: {}:2:", bad.display())),
        "{err}"
    );
    assert!(err.contains("of 1 workloads"), "{err}");
    assert!(err.contains("api.payments.example.com"), "{err}");
    let yaml = String::from_utf8(out.stdout.clone()).unwrap();
    // the intent's egress, said as the intent says it
    assert!(
        yaml.contains("cidr: 10.30.0.0/16\n        except:\n        - 10.30.9.0/24"),
        "{yaml}"
    );
    assert!(yaml.contains("cidr: 0.0.0.0/0"), "{yaml}");
    std::fs::write(tree.join("generated.yaml"), &yaml).unwrap();
    let reach = String::from_utf8(
        ok(&run(&["netpol", "reach", tree.to_str().unwrap()]))
            .stdout
            .clone(),
    )
    .unwrap();
    let web: Vec<&str> = reach.lines().filter(|l| l.contains("shop/web")).collect();
    assert_eq!(
        web,
        [
            "10.20.0.0-10.20.255.255[External] => shop/web[Deployment] : TCP 8080",
            "shop/web[Deployment] => 0.0.0.0-10.29.255.255[External] : TCP 443",
            "shop/web[Deployment] => 10.30.0.0-10.30.8.255[External] : TCP 443,5432",
            "shop/web[Deployment] => 10.30.10.0-10.30.255.255[External] : TCP 443,5432",
            "shop/web[Deployment] => 10.30.9.0-10.30.9.255[External] : TCP 443",
            "shop/web[Deployment] => 10.31.0.0-255.255.255.255[External] : TCP 443",
        ],
        "{reach}"
    );
}
