//! Flows observed at run time: the monitor's connect and accept events (Falco's JSON output, as
//! `rampart monitor` and Falco write it: `output_fields` with `evt.type`, `k8s.ns.name`,
//! `k8s.pod.name`, `fd.cip`, `fd.cport`, `fd.sip`, `fd.sport`, `fd.l4proto`), mapped to the
//! workloads of a manifest tree or a `kubectl get -o json` dump, as connection lines for
//! `rampart netpol generate --flows` and `rampart scan --flows`.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use crate::generate::Flow;
use crate::ip::Range;
use crate::model::{Cluster, PeerName};
use crate::ports::{ConnSet, PortSet, Protocol};
use crate::reach::Endpoint;

/// What reading the events gave: the flows, and what was left out (by line), never silently.
#[derive(Debug, Default)]
pub struct Observed {
    /// the flows, one per pair, their ports joined
    pub flows: Vec<Flow>,
    /// `(line, why)` of each event left out
    pub skipped: Vec<(usize, String)>,
    /// events read
    pub events: usize,
}

/// The workload a pod belongs to: a Pod object of that name (a dump), else the workload of its
/// namespace whose name is the longest prefix of the pod's followed by `-` (a Deployment's
/// `web-7d77fb55cc-x2z9k`, a StatefulSet's `db-0`).
fn workload_of<'c>(cluster: &'c Cluster, ns: &str, pod: &str) -> Option<&'c PeerName> {
    let in_ns = || {
        cluster
            .members
            .iter()
            .filter(move |m| m.peer.namespace == ns)
    };
    if let Some(m) = in_ns().find(|m| m.pod_names.iter().any(|p| p == pod)) {
        return Some(&m.peer);
    }
    in_ns()
        .filter(|m| {
            pod.strip_prefix(m.peer.name.as_str())
                .is_some_and(|rest| rest.starts_with('-'))
        })
        .max_by_key(|m| m.peer.name.len())
        .map(|m| &m.peer)
}

/// The workload with this pod address, else the address itself outside the cluster.
fn endpoint_of(cluster: &Cluster, ip: u32) -> Endpoint {
    match cluster.members.iter().find(|m| m.ips.contains(&ip)) {
        Some(m) => Endpoint::Workload(m.peer.clone()),
        None => Endpoint::External {
            range: Range { lo: ip, hi: ip },
        },
    }
}

/// Reads events (JSON lines) into flows over the cluster's workloads.
pub fn from_events(cluster: &Cluster, text: &str) -> Observed {
    let mut out = Observed::default();
    let mut pairs: BTreeMap<(Endpoint, Endpoint), ConnSet> = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => {
                out.skipped.push((n, format!("not JSON: {e}")));
                continue;
            }
        };
        let f = &v["output_fields"];
        let text_of = |k: &str| f.get(k).and_then(serde_json::Value::as_str);
        let num = |k: &str| {
            f.get(k).and_then(|x| {
                x.as_u64()
                    .or_else(|| x.as_str().and_then(|s| s.parse().ok()))
            })
        };
        let Some(kind) = text_of("evt.type") else {
            out.skipped.push((n, "no evt.type".into()));
            continue;
        };
        if kind != "connect" && kind != "accept" && kind != "accept4" {
            continue; // not a connection event
        }
        out.events += 1;
        let (Some(ns), Some(pod)) = (text_of("k8s.ns.name"), text_of("k8s.pod.name")) else {
            out.skipped.push((
                n,
                "no k8s.ns.name and k8s.pod.name: the container is not a pod's".into(),
            ));
            continue;
        };
        let Some(me) = workload_of(cluster, ns, pod) else {
            out.skipped
                .push((n, format!("pod {ns}/{pod} is no workload of the manifests")));
            continue;
        };
        let protocol = match text_of("fd.l4proto").unwrap_or("tcp") {
            "tcp" => Protocol::Tcp,
            "udp" => Protocol::Udp,
            "sctp" => Protocol::Sctp,
            other => {
                out.skipped.push((n, format!("protocol {other:?}")));
                continue;
            }
        };
        let (Some(sip), Some(sport)) = (
            text_of("fd.sip").and_then(|s| s.parse::<Ipv4Addr>().ok()),
            num("fd.sport")
                .and_then(|p| u16::try_from(p).ok())
                .filter(|p| *p >= 1),
        ) else {
            out.skipped.push((n, "no IPv4 fd.sip and fd.sport".into()));
            continue;
        };
        let me = Endpoint::Workload(me.clone());
        let (src, dst) = if kind == "connect" {
            (me, endpoint_of(cluster, u32::from(sip)))
        } else {
            let Some(cip) = text_of("fd.cip").and_then(|s| s.parse::<Ipv4Addr>().ok()) else {
                out.skipped
                    .push((n, "an accept without an IPv4 fd.cip".into()));
                continue;
            };
            (endpoint_of(cluster, u32::from(cip)), me)
        };
        if src == dst {
            continue;
        }
        let e = pairs.entry((src, dst)).or_default();
        *e = e.union(&ConnSet::of(protocol, PortSet::range(sport, sport)));
    }
    out.flows = pairs
        .into_iter()
        .map(|((src, dst), conns)| Flow { src, dst, conns })
        .collect();
    out
}
