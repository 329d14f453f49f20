//! Who can reach whom: for every ordered pair of workloads, and between workloads and the
//! IPv4 ranges outside the cluster, the connections both ends' policies allow (the source's
//! egress and the destination's ingress; a direction no policy isolates allows everything).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::ip::{self, Range};
use crate::model::{Cluster, ContainerPort, Member, Peer, PeerName, Policy, Rule};
use crate::ports::ConnSet;

/// The namespace the ingress controller is taken to run in.
pub const INGRESS_CONTROLLER_NS: &str = "ingress-controller-ns";

/// One end of a connection.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Endpoint {
    /// a workload
    Workload(PeerName),
    /// the cluster's ingress controller (where Ingress objects send traffic from)
    IngressController,
    /// addresses outside the cluster
    External {
        /// the range
        #[serde(serialize_with = "range_text")]
        range: Range,
    },
}

fn range_text<S: serde::Serializer>(r: &Range, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&r.to_string())
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Workload(p) => write!(f, "{p}"),
            Endpoint::External { range } => write!(f, "{range}[External]"),
            Endpoint::IngressController => f.write_str("{ingress-controller}"),
        }
    }
}

/// An allowed connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Connection {
    /// from
    pub src: Endpoint,
    /// to
    pub dst: Endpoint,
    /// what is allowed
    pub conns: ConnSet,
}

impl std::fmt::Display for Connection {
    /// netpol-analyzer's line: `src => dst : conns`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} => {} : {}", self.src, self.dst, self.conns)
    }
}

/// A direction of traffic, seen from the pod a policy selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// into the pod
    Ingress,
    /// out of the pod
    Egress,
}

/// Why a direction allows what it allows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "by", rename_all = "kebab-case")]
pub enum Reason {
    /// no policy selects the pod for this direction: everything is allowed
    NotIsolated,
    /// a rule of a policy selecting the pod allows these connections
    Rule {
        /// `namespace/name` of the policy
        policy: String,
        /// the rule's index in its list
        rule: usize,
        /// what it allows here
        conns: ConnSet,
    },
    /// policies select the pod and none of their rules admits the other end
    Denied {
        /// the policies that isolate the pod
        policies: Vec<String>,
    },
}

/// The engine over a cluster: which policies isolate each pod in each direction.
pub struct Engine<'c> {
    cluster: &'c Cluster,
    ingress_of: Vec<Vec<usize>>,
    egress_of: Vec<Vec<usize>>,
    peers: BTreeMap<&'c PeerName, Vec<usize>>,
}

impl<'c> Engine<'c> {
    /// Indexes a cluster.
    pub fn new(cluster: &'c Cluster) -> Engine<'c> {
        let mut ingress_of = vec![Vec::new(); cluster.members.len()];
        let mut egress_of = vec![Vec::new(); cluster.members.len()];
        for (pi, p) in cluster.policies.iter().enumerate() {
            for (mi, m) in cluster.members.iter().enumerate() {
                if m.peer.namespace == p.namespace && p.pod_selector.matches(&m.labels) {
                    if p.ingress_type {
                        ingress_of[mi].push(pi);
                    }
                    if p.egress_type {
                        egress_of[mi].push(pi);
                    }
                }
            }
        }
        let mut peers: BTreeMap<&PeerName, Vec<usize>> = BTreeMap::new();
        for (mi, m) in cluster.members.iter().enumerate() {
            peers.entry(&m.peer).or_default().push(mi);
        }
        Engine {
            cluster,
            ingress_of,
            egress_of,
            peers,
        }
    }

    /// The workloads, by name.
    pub fn workloads(&self) -> impl Iterator<Item = &'c PeerName> + '_ {
        self.peers.keys().copied()
    }

    fn member(&self, i: usize) -> Option<&'c Member> {
        self.cluster.members.get(i)
    }

    /// Whether a rule peer designates the pod `m` (for a policy in namespace `policy_ns`).
    fn peer_has(&self, policy_ns: &str, peer: &Peer, m: &Member) -> bool {
        match peer {
            Peer::Pods { pods, namespaces } => {
                let ns_ok = match namespaces {
                    None => m.peer.namespace == policy_ns,
                    Some(sel) => match self.cluster.namespaces.get(&m.peer.namespace) {
                        Some(labels) => sel.matches(labels),
                        // a namespace only the engine knows (the ingress controller's)
                        None => sel.matches(&BTreeMap::from([(
                            crate::model::NAME_LABEL.to_owned(),
                            m.peer.namespace.clone(),
                        )])),
                    },
                };
                ns_ok && pods.as_ref().is_none_or(|s| s.matches(&m.labels))
            }
            Peer::Block(_) | Peer::V6(_) => false,
        }
    }

    fn rule_conns(rule: &Rule, dst_ports: Option<&[ContainerPort]>) -> ConnSet {
        if rule.ports.is_empty() {
            return ConnSet::all();
        }
        rule.ports.iter().fold(ConnSet::none(), |acc, p| {
            acc.union(&ConnSet::of(p.protocol, p.on(dst_ports)))
        })
    }

    /// What the policies of `of` (the pod they select) allow in `dir` with `other`: a pod, or
    /// an external range. Reasons are collected when asked.
    fn direction(
        &self,
        of: usize,
        dir: Direction,
        other: Other<'_>,
        mut why: Option<&mut Vec<Reason>>,
    ) -> ConnSet {
        let policies = match dir {
            Direction::Ingress => self.ingress_of.get(of),
            Direction::Egress => self.egress_of.get(of),
        }
        .map(Vec::as_slice)
        .unwrap_or(&[]);
        if policies.is_empty() {
            if let Some(w) = why {
                w.push(Reason::NotIsolated);
            }
            return ConnSet::all();
        }
        // named ports resolve on the destination: the pod itself for ingress, the other pod
        // for egress (nothing outside the cluster)
        let dst_ports: Option<&[ContainerPort]> = match (dir, &other) {
            (Direction::Ingress, _) => self.member(of).map(|m| m.ports.as_slice()),
            (Direction::Egress, Other::Pod(m)) => Some(m.ports.as_slice()),
            (Direction::Egress, Other::Range(_)) => None,
        };
        let mut out = ConnSet::none();
        for &pi in policies {
            let Some(p) = self.cluster.policies.get(pi) else {
                continue;
            };
            let rules = match dir {
                Direction::Ingress => &p.ingress,
                Direction::Egress => &p.egress,
            };
            for r in rules {
                let admits = match &r.peers {
                    None => true,
                    Some(peers) => peers.iter().any(|peer| match (&other, peer) {
                        (Other::Pod(m), _) => self.peer_has(&p.namespace, peer, m),
                        (Other::Range(range), Peer::Block(b)) => b.holds(range),
                        (Other::Range(_), _) => false,
                    }),
                };
                if admits {
                    let c = Self::rule_conns(r, dst_ports);
                    if let Some(w) = why.as_deref_mut()
                        && !c.is_empty()
                    {
                        w.push(Reason::Rule {
                            policy: policy_name(p),
                            rule: r.index,
                            conns: c.clone(),
                        });
                    }
                    out = out.union(&c);
                }
            }
        }
        if out.is_empty()
            && let Some(w) = why
        {
            w.push(Reason::Denied {
                policies: policies
                    .iter()
                    .filter_map(|pi| self.cluster.policies.get(*pi))
                    .map(policy_name)
                    .collect(),
            });
        }
        out
    }

    /// The connections from pod `s` to pod `d`.
    fn pods(&self, s: usize, d: usize) -> ConnSet {
        let (Some(sm), Some(dm)) = (self.member(s), self.member(d)) else {
            return ConnSet::none();
        };
        let e = self.direction(s, Direction::Egress, Other::Pod(dm), None);
        if e.is_empty() {
            return e;
        }
        e.intersect(&self.direction(d, Direction::Ingress, Other::Pod(sm), None))
    }

    /// The IPv4 ranges the outside world is cut into, for sources (cut at the ingress rules'
    /// blocks) and for destinations (cut at the egress rules' blocks).
    pub fn external_ranges(&self) -> (Vec<Range>, Vec<Range>) {
        let blocks = |ingress: bool| {
            let mut v = Vec::new();
            for p in &self.cluster.policies {
                let rules = if ingress { &p.ingress } else { &p.egress };
                for r in rules {
                    for peer in r.peers.iter().flatten() {
                        if let Peer::Block(b) = peer {
                            v.push(b.clone());
                        }
                    }
                }
            }
            v
        };
        (ip::atoms(&blocks(true)), ip::atoms(&blocks(false)))
    }

    /// Every allowed connection, in the order of their lines.
    pub fn connections(&self) -> Vec<Connection> {
        let mut out = Vec::new();
        let (sources, destinations) = self.external_ranges();
        for (a, am) in &self.peers {
            for (b, bm) in &self.peers {
                if a == b {
                    continue;
                }
                let mut c = ConnSet::none();
                for &s in am {
                    for &d in bm {
                        c = c.union(&self.pods(s, d));
                    }
                }
                if !c.is_empty() {
                    out.push(Connection {
                        src: Endpoint::Workload((*a).clone()),
                        dst: Endpoint::Workload((*b).clone()),
                        conns: c,
                    });
                }
            }
            for range in &sources {
                let c = am.iter().fold(ConnSet::none(), |acc, &d| {
                    acc.union(&self.direction(d, Direction::Ingress, Other::Range(*range), None))
                });
                if !c.is_empty() {
                    out.push(Connection {
                        src: Endpoint::External { range: *range },
                        dst: Endpoint::Workload((*a).clone()),
                        conns: c,
                    });
                }
            }
            for range in &destinations {
                let c = am.iter().fold(ConnSet::none(), |acc, &s| {
                    acc.union(&self.direction(s, Direction::Egress, Other::Range(*range), None))
                });
                if !c.is_empty() {
                    out.push(Connection {
                        src: Endpoint::Workload((*a).clone()),
                        dst: Endpoint::External { range: *range },
                        conns: c,
                    });
                }
            }
        }
        out.extend(self.ingress_controller_connections());
        out.sort_by_cached_key(|c| c.to_string());
        out
    }

    /// The pod the cluster's ingress controller is taken to be: no labels, in a namespace of
    /// its own (as netpol-analyzer takes it), so only rules open to every namespace admit it.
    fn ingress_controller() -> Member {
        Member {
            peer: PeerName {
                namespace: INGRESS_CONTROLLER_NS.to_owned(),
                name: "ingress-controller".to_owned(),
                kind: "Pod".to_owned(),
            },
            labels: BTreeMap::new(),
            ports: Vec::new(),
            file: String::new(),
            line: 0,
        }
    }

    /// What the Ingress objects send from the ingress controller to each workload: TCP to
    /// the target port of the Service port each backend names, on the pods the Service
    /// selects that declare it, as far as their ingress policies admit the controller.
    fn ingress_controller_connections(&self) -> Vec<Connection> {
        use crate::model::{BackendPort, TargetPort};
        use crate::ports::{PortSet, Protocol};
        let controller = Self::ingress_controller();
        let mut by_peer: BTreeMap<&PeerName, ConnSet> = BTreeMap::new();
        for ing in &self.cluster.ingresses {
            for (svc_name, port) in &ing.backends {
                let Some(svc) = self
                    .cluster
                    .services
                    .iter()
                    .find(|s| s.namespace == ing.namespace && &s.name == svc_name)
                else {
                    continue;
                };
                let Some(selector) = &svc.selector else {
                    continue;
                };
                // the pod port(s): the first Service port the backend names, or all
                let targets: Vec<&TargetPort> = match port {
                    BackendPort::Any => svc.ports.iter().map(|p| &p.target).collect(),
                    BackendPort::Number(n) => svc
                        .ports
                        .iter()
                        .find(|p| p.port == *n || p.target == TargetPort::Number(*n))
                        .map(|p| &p.target)
                        .into_iter()
                        .collect(),
                    BackendPort::Named(name) => svc
                        .ports
                        .iter()
                        .find(|p| {
                            p.name.as_deref() == Some(name)
                                || p.target == TargetPort::Named(name.clone())
                        })
                        .map(|p| &p.target)
                        .into_iter()
                        .collect(),
                };
                for (mi, m) in self.cluster.members.iter().enumerate() {
                    if m.peer.namespace != svc.namespace
                        || !selector.iter().all(|(k, v)| m.labels.get(k) == Some(v))
                    {
                        continue;
                    }
                    let mut ports = PortSet::default();
                    for t in &targets {
                        let number = match t {
                            TargetPort::Number(n) => {
                                m.ports.iter().any(|c| c.number == *n).then_some(*n)
                            }
                            TargetPort::Named(name) => m
                                .ports
                                .iter()
                                .find(|c| c.name.as_deref() == Some(name.as_str()))
                                .filter(|c| c.protocol == Protocol::Tcp)
                                .map(|c| c.number),
                        };
                        if let Some(n) = number {
                            ports = ports.union(&PortSet::range(n, n));
                        }
                    }
                    let c = ConnSet::of(Protocol::Tcp, ports).intersect(&self.direction(
                        mi,
                        Direction::Ingress,
                        Other::Pod(&controller),
                        None,
                    ));
                    let e = by_peer.entry(&m.peer).or_default();
                    *e = e.union(&c);
                }
            }
        }
        by_peer
            .into_iter()
            .filter(|(_, c)| !c.is_empty())
            .map(|(p, c)| Connection {
                src: Endpoint::IngressController,
                dst: Endpoint::Workload(p.clone()),
                conns: c,
            })
            .collect()
    }

    /// Why `src` may (or may not) reach `dst`: each direction's reasons, for each pair of
    /// their pods (a workload's pods that differ in labels are judged one by one).
    pub fn explain(&self, src: &Endpoint, dst: &Endpoint) -> Explanation {
        let members = |e: &Endpoint| -> Vec<usize> {
            match e {
                Endpoint::Workload(p) => self.peers.get(p).cloned().unwrap_or_default(),
                Endpoint::External { .. } | Endpoint::IngressController => Vec::new(),
            }
        };
        let mut egress = Vec::new();
        let mut ingress = Vec::new();
        let mut conns = ConnSet::none();
        match (src, dst) {
            (Endpoint::Workload(_), Endpoint::Workload(_)) => {
                for s in members(src) {
                    for d in members(dst) {
                        let (Some(sm), Some(dm)) = (self.member(s), self.member(d)) else {
                            continue;
                        };
                        let e =
                            self.direction(s, Direction::Egress, Other::Pod(dm), Some(&mut egress));
                        let i = self.direction(
                            d,
                            Direction::Ingress,
                            Other::Pod(sm),
                            Some(&mut ingress),
                        );
                        conns = conns.union(&e.intersect(&i));
                    }
                }
            }
            (Endpoint::External { range }, Endpoint::Workload(_)) => {
                for d in members(dst) {
                    conns = conns.union(&self.direction(
                        d,
                        Direction::Ingress,
                        Other::Range(*range),
                        Some(&mut ingress),
                    ));
                }
            }
            (Endpoint::Workload(_), Endpoint::External { range }) => {
                for s in members(src) {
                    conns = conns.union(&self.direction(
                        s,
                        Direction::Egress,
                        Other::Range(*range),
                        Some(&mut egress),
                    ));
                }
            }
            _ => {}
        }
        dedup(&mut egress);
        dedup(&mut ingress);
        Explanation {
            src: src.clone(),
            dst: dst.clone(),
            conns,
            egress,
            ingress,
        }
    }
}

/// What one workload leaves open beyond the pods the cluster holds now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exposure {
    /// the workload
    pub workload: PeerName,
    /// what any pod, in any namespace (also one created later), may open to it
    pub ingress_from_all_namespaces: ConnSet,
    /// what it may open to any pod in any namespace
    pub egress_to_all_namespaces: ConnSet,
    /// what may come in from every address outside the cluster (`0.0.0.0/0` in full)
    pub ingress_from_anywhere: ConnSet,
    /// what it may open to every address outside the cluster
    pub egress_to_anywhere: ConnSet,
    /// whether no policy isolates its ingress
    pub ingress_unprotected: bool,
    /// whether no policy isolates its egress
    pub egress_unprotected: bool,
}

impl Exposure {
    /// Whether anything is exposed.
    pub fn is_exposed(&self) -> bool {
        !(self.ingress_from_all_namespaces.is_empty()
            && self.egress_to_all_namespaces.is_empty()
            && self.ingress_from_anywhere.is_empty()
            && self.egress_to_anywhere.is_empty())
    }
}

impl Engine<'_> {
    /// What a direction of pod `of` allows for a pod with any labels in any namespace: rules
    /// without peers, or with a peer of an empty namespace selector and no (or an empty) pod
    /// selector.
    fn to_any_pod(&self, of: usize, dir: Direction) -> ConnSet {
        let policies = match dir {
            Direction::Ingress => self.ingress_of.get(of),
            Direction::Egress => self.egress_of.get(of),
        }
        .map(Vec::as_slice)
        .unwrap_or(&[]);
        if policies.is_empty() {
            return ConnSet::all();
        }
        let own = match dir {
            Direction::Ingress => self.member(of).map(|m| m.ports.as_slice()),
            // an unknown pod's named ports are unknown: only numbers count
            Direction::Egress => None,
        };
        let mut out = ConnSet::none();
        for p in policies
            .iter()
            .filter_map(|pi| self.cluster.policies.get(*pi))
        {
            let rules = match dir {
                Direction::Ingress => &p.ingress,
                Direction::Egress => &p.egress,
            };
            for r in rules {
                let any = match &r.peers {
                    None => true,
                    Some(peers) => peers.iter().any(|peer| {
                        matches!(peer, Peer::Pods { pods, namespaces: Some(ns) }
                            if ns.is_empty() && pods.as_ref().is_none_or(|s| s.is_empty()))
                    }),
                };
                if any {
                    out = out.union(&Self::rule_conns(r, own));
                }
            }
        }
        out
    }

    /// What each workload exposes to every namespace and to every address outside.
    pub fn exposure(&self) -> Vec<Exposure> {
        self.peers
            .iter()
            .map(|(name, members)| {
                let fold = |f: &dyn Fn(usize) -> ConnSet| {
                    members
                        .iter()
                        .fold(ConnSet::none(), |acc, m| acc.union(&f(*m)))
                };
                // every address outside: the intersection over the ranges the blocks cut
                let (sources, destinations) = self.external_ranges();
                let all_of = |ranges: &[Range], dir: Direction| {
                    fold(&|m| {
                        ranges.iter().fold(ConnSet::all(), |acc, r| {
                            acc.intersect(&self.direction(m, dir, Other::Range(*r), None))
                        })
                    })
                };
                Exposure {
                    workload: (*name).clone(),
                    ingress_from_all_namespaces: fold(&|m| self.to_any_pod(m, Direction::Ingress)),
                    egress_to_all_namespaces: fold(&|m| self.to_any_pod(m, Direction::Egress)),
                    ingress_from_anywhere: all_of(&sources, Direction::Ingress),
                    egress_to_anywhere: all_of(&destinations, Direction::Egress),
                    ingress_unprotected: members
                        .iter()
                        .any(|m| self.ingress_of.get(*m).is_none_or(Vec::is_empty)),
                    egress_unprotected: members
                        .iter()
                        .any(|m| self.egress_of.get(*m).is_none_or(Vec::is_empty)),
                }
            })
            .collect()
    }
}

fn dedup(v: &mut Vec<Reason>) {
    let mut seen = Vec::new();
    v.retain(|r| {
        if seen.contains(r) {
            false
        } else {
            seen.push(r.clone());
            true
        }
    });
}

/// The other end, as a direction's rules see it.
enum Other<'a> {
    Pod(&'a Member),
    Range(Range),
}

fn policy_name(p: &Policy) -> String {
    format!("{}/{}", p.namespace, p.name)
}

/// Why a pair is connected as it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    /// from
    pub src: Endpoint,
    /// to
    pub dst: Endpoint,
    /// what is allowed (the source's egress and the destination's ingress both)
    pub conns: ConnSet,
    /// the source's egress
    pub egress: Vec<Reason>,
    /// the destination's ingress
    pub ingress: Vec<Reason>,
}
