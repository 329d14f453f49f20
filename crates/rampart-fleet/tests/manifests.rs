//! `rampart fleet manifests`' generator: its NetworkPolicies read back by the netpol engine
//! (rampart-netpol) in a cluster with DNS, a PostgreSQL, neighbours and the outside world allow
//! the workers exactly DNS, PostgreSQL and the given registries, and nothing in; the pod is
//! `restricted` for rampart's own Pod Security Standards evaluator; the default output is a
//! snapshot.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;

use rampart_fleet::manifests::{
    Block, Destination, ManifestOptions, Mode, PRIVATE_V4, Pods, generate, to_yaml,
};
use rampart_netpol::reach::Endpoint;
use rampart_netpol::{Engine, read};
use serde_json::Value;

/// The rest of the cluster: CoreDNS, a PostgreSQL and a pgAdmin beside it, a metrics pod in
/// kube-system, a web pod elsewhere, and a neighbour in the workers' namespace that serves
/// everything.
fn cluster_around(fleet_ns: &str, postgres_ns: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata: {{name: coredns, namespace: kube-system}}
spec:
  selector: {{matchLabels: {{k8s-app: kube-dns}}}}
  template:
    metadata: {{labels: {{k8s-app: kube-dns}}}}
    spec:
      containers: [{{name: coredns, image: coredns, ports: [{{containerPort: 53, protocol: UDP}}, {{containerPort: 53, protocol: TCP}}, {{containerPort: 9153}}]}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: metrics, namespace: kube-system, labels: {{app: metrics}}}}
spec: {{containers: [{{name: m, image: m, ports: [{{containerPort: 53, protocol: UDP}}]}}]}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: postgresql, namespace: {postgres_ns}}}
spec:
  selector: {{matchLabels: {{app.kubernetes.io/name: postgresql}}}}
  serviceName: postgresql
  template:
    metadata: {{labels: {{app.kubernetes.io/name: postgresql}}}}
    spec:
      containers: [{{name: pg, image: postgres, ports: [{{containerPort: 5432}}]}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: pgadmin, namespace: {postgres_ns}, labels: {{app.kubernetes.io/name: pgadmin}}}}
spec: {{containers: [{{name: a, image: a, ports: [{{containerPort: 5432}}]}}]}}
---
apiVersion: v1
kind: Pod
metadata: {{name: web, namespace: default, labels: {{app: web}}}}
spec: {{containers: [{{name: w, image: w}}]}}
---
apiVersion: v1
kind: Pod
metadata: {{name: neighbour, namespace: {fleet_ns}, labels: {{app: neighbour}}}}
spec: {{containers: [{{name: n, image: n}}]}}
"
    )
}

/// Every allowed connection from or to the workers, as netpol-analyzer's lines
/// (`src => dst : conns`), after reading the manifests and the cluster around them back with
/// the netpol engine.
fn worker_connections(o: &ManifestOptions, postgres_ns: &str) -> Vec<String> {
    let yaml = to_yaml(&generate(o).unwrap()).unwrap();
    let around = cluster_around(&o.namespace, postgres_ns);
    let cluster = read([
        ("fleet.yaml".to_owned(), yaml.as_str()),
        ("cluster.yaml".to_owned(), around.as_str()),
    ]);
    assert!(cluster.errors.is_empty(), "{:?}", cluster.errors);
    let kind = match o.mode {
        Mode::Deployment => "Deployment",
        Mode::CronJob { .. } => "CronJob",
    };
    let worker = format!("{}/{}[{kind}]", o.namespace, o.name);
    let engine = Engine::new(&cluster);
    assert!(
        engine.workloads().any(|w| w.to_string() == worker),
        "{worker} not among {:?}",
        engine
            .workloads()
            .map(|w| w.to_string())
            .collect::<Vec<_>>()
    );
    engine
        .connections()
        .iter()
        .filter(|c| c.src.to_string() == worker || c.dst.to_string() == worker)
        .map(|c| c.to_string())
        .collect()
}

fn registries() -> Vec<Block> {
    vec![
        Block::parse("registry", "203.0.113.7:443").unwrap(),
        Block::parse("registry", "198.51.100.0/24:5000").unwrap(),
    ]
}

/// The workers reach the cluster DNS (UDP and TCP 53, not the metrics port of CoreDNS), the
/// PostgreSQL pods on 5432 (not pgAdmin on the same port), each registry on its own port only,
/// and nothing else; nothing reaches them; in both modes.
#[test]
fn workers_reach_exactly_dns_postgres_and_the_registries() {
    for mode in [
        Mode::Deployment,
        Mode::CronJob {
            schedule: "*/30 * * * *".into(),
        },
    ] {
        let o = ManifestOptions {
            registries: registries(),
            mode: mode.clone(),
            ..ManifestOptions::default()
        };
        let kind = if mode == Mode::Deployment {
            "Deployment"
        } else {
            "CronJob"
        };
        let w = format!("rampart-fleet/rampart-fleet-worker[{kind}]");
        assert_eq!(
            worker_connections(&o, "postgres"),
            [
                format!("{w} => 198.51.100.0-198.51.100.255[External] : TCP 5000"),
                format!("{w} => 203.0.113.7-203.0.113.7[External] : TCP 443"),
                format!("{w} => kube-system/coredns[Deployment] : TCP 53,UDP 53"),
                format!("{w} => postgres/postgresql[StatefulSet] : TCP 5432"),
            ],
            "{kind}"
        );
    }
}

/// A PostgreSQL outside the cluster is one more address range on its port; pods in the cluster
/// are then out of reach, the database's namespace included.
#[test]
fn a_postgres_outside_the_cluster_is_its_address_and_port() {
    let o = ManifestOptions {
        registries: registries(),
        postgres: Destination::Block(Block::parse("postgres", "10.20.0.5/32:5432").unwrap()),
        ..ManifestOptions::default()
    };
    let w = "rampart-fleet/rampart-fleet-worker[Deployment]";
    assert_eq!(
        worker_connections(&o, "postgres"),
        [
            format!("{w} => 10.20.0.5-10.20.0.5[External] : TCP 5432"),
            format!("{w} => 198.51.100.0-198.51.100.255[External] : TCP 5000"),
            format!("{w} => 203.0.113.7-203.0.113.7[External] : TCP 443"),
            format!("{w} => kube-system/coredns[Deployment] : TCP 53,UDP 53"),
        ]
    );
}

/// A PostgreSQL in the workers' own namespace sits behind the namespace's default deny: the
/// generated ingress policy lets the workers (and only them) in, on its port; the neighbour in
/// that namespace reaches neither.
#[test]
fn a_postgres_in_the_workers_namespace_admits_the_workers() {
    let o = ManifestOptions {
        registries: registries(),
        postgres: Destination::Pods(
            Pods::parse("postgres-pods", "app.kubernetes.io/name=postgresql").unwrap(),
        ),
        ..ManifestOptions::default()
    };
    let w = "rampart-fleet/rampart-fleet-worker[Deployment]";
    let lines = worker_connections(&o, "rampart-fleet");
    assert!(
        lines.contains(&format!(
            "{w} => rampart-fleet/postgresql[StatefulSet] : TCP 5432"
        )),
        "{lines:#?}"
    );
    assert!(!lines.iter().any(|l| l.contains("neighbour")), "{lines:#?}");
    assert_eq!(lines.len(), 4, "{lines:#?}");

    // The neighbour reaches nothing and nothing reaches the database but the workers.
    let yaml = to_yaml(&generate(&o).unwrap()).unwrap();
    let around = cluster_around("rampart-fleet", "rampart-fleet");
    let cluster = read([
        ("fleet.yaml".to_owned(), yaml.as_str()),
        ("cluster.yaml".to_owned(), around.as_str()),
    ]);
    let into_db: Vec<String> = Engine::new(&cluster)
        .connections()
        .iter()
        .filter(|c| c.dst.to_string() == "rampart-fleet/postgresql[StatefulSet]")
        .map(|c| c.to_string())
        .collect();
    assert_eq!(
        into_db,
        [format!(
            "{w} => rampart-fleet/postgresql[StatefulSet] : TCP 5432"
        )]
    );
}

/// Without --registry the workers may pull from the internet on 443, and from nowhere in the
/// private, shared, link-local (the cloud metadata service) or loopback ranges.
#[test]
fn the_default_registry_allowance_is_the_internet_on_443() {
    let o = ManifestOptions::default();
    let yaml = to_yaml(&generate(&o).unwrap()).unwrap();
    let around = cluster_around(&o.namespace, "postgres");
    let cluster = read([
        ("fleet.yaml".to_owned(), yaml.as_str()),
        ("cluster.yaml".to_owned(), around.as_str()),
    ]);
    assert!(cluster.errors.is_empty(), "{:?}", cluster.errors);
    let worker = "rampart-fleet/rampart-fleet-worker[Deployment]";
    let engine = Engine::new(&cluster);
    let private: Vec<rampart_netpol::ip::Range> = PRIVATE_V4
        .iter()
        .map(|c| match rampart_netpol::ip::parse_cidr(c).unwrap() {
            rampart_netpol::ip::Cidr::V4(r) => r,
            rampart_netpol::ip::Cidr::V6(_) => unreachable!(),
        })
        .collect();
    let mut public = 0u64;
    for c in engine.connections() {
        if c.src.to_string() != worker {
            assert_ne!(c.dst.to_string(), worker, "{c}");
            continue;
        }
        if let Endpoint::External { range } = &c.dst {
            assert_eq!(c.conns.to_string(), "TCP 443", "{c}");
            assert!(!private.iter().any(|p| p.overlaps(range)), "{c}");
            public += u64::from(range.hi - range.lo) + 1;
        }
    }
    let private_size: u64 = private.iter().map(|r| u64::from(r.hi - r.lo) + 1).sum();
    assert_eq!(public, (1u64 << 32) - private_size, "every public address");
}

/// The pod template is `restricted` for rampart's own Pod Security Standards evaluator, in
/// both modes, with either seccomp profile.
#[test]
fn the_pods_are_restricted() {
    for (mode, seccomp) in [
        (
            Mode::Deployment,
            rampart_fleet::manifests::Seccomp::RuntimeDefault,
        ),
        (
            Mode::CronJob {
                schedule: "@hourly".into(),
            },
            rampart_fleet::manifests::Seccomp::Localhost("rampart/rampart.seccomp.json".into()),
        ),
    ] {
        let o = ManifestOptions {
            mode,
            seccomp,
            ..ManifestOptions::default()
        };
        let docs = generate(&o).unwrap();
        let yaml = to_yaml(&docs).unwrap();
        let back = rampart_testkit::yaml::documents("fleet manifests", &yaml);
        let objects: Vec<Value> = docs.iter().map(|d| d.object.clone()).collect();
        assert_eq!(back, objects, "the YAML reads back as the documents");
        let workload = objects
            .iter()
            .find(|d| ["Deployment", "CronJob"].contains(&d["kind"].as_str().unwrap()))
            .unwrap();
        let template = if workload["kind"] == "CronJob" {
            &workload["spec"]["jobTemplate"]["spec"]["template"]
        } else {
            &workload["spec"]["template"]
        };
        let verdict = rampart_pss::evaluate(
            rampart_pss::Level::Restricted,
            rampart_pss::Version::LATEST,
            template,
        );
        assert!(verdict.allowed(), "{}", verdict.message());
        let spec = &template["spec"];
        assert_eq!(spec["automountServiceAccountToken"], false);
        let c = &spec["containers"][0];
        assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
        assert_eq!(
            c["env"][0]["valueFrom"]["secretKeyRef"],
            serde_json::json!({"name": "rampart-fleet-store", "key": "url"})
        );
        let mounts: BTreeMap<&str, &str> = c["volumeMounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["mountPath"].as_str().unwrap(),
                    m["name"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(mounts.get("/tmp"), Some(&"tmp"));
        assert_eq!(mounts.get("/var/cache/rampart"), Some(&"cache"));
    }
}

/// The default output, as `rampart fleet manifests` prints it with no options but the digest.
#[test]
fn default_manifests_snapshot() {
    let o = ManifestOptions {
        image_digest: Some(format!("sha256:{}", "ab".repeat(32))),
        ..ManifestOptions::default()
    };
    let yaml = to_yaml(&generate(&o).unwrap()).unwrap().replace(
        rampart_core::RAMPART_IMAGE,
        "ghcr.io/rampart/rampart:[VERSION]",
    );
    insta::assert_snapshot!(yaml);
}

/// The CronJob mode's workload, as a snapshot.
#[test]
fn cronjob_snapshot() {
    let o = ManifestOptions {
        image_digest: Some(format!("sha256:{}", "ab".repeat(32))),
        mode: Mode::CronJob {
            schedule: "*/30 * * * *".into(),
        },
        replicas: 3,
        ..ManifestOptions::default()
    };
    let docs = generate(&o).unwrap();
    let yaml = to_yaml(&docs[2..4]).unwrap().replace(
        rampart_core::RAMPART_IMAGE,
        "ghcr.io/rampart/rampart:[VERSION]",
    );
    insta::assert_snapshot!(yaml);
}
