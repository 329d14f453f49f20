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

/// The members (pods) a rule admits as its other end: `None` when it admits every pod (no
/// `from`/`to`), else a bit per member.
type Admits = Option<Vec<u64>>;

fn bit(bits: &[u64], i: usize) -> bool {
    bits.get(i / 64)
        .is_some_and(|w| w & (1u64 << (i % 64)) != 0)
}

fn set_bit(bits: &mut [u64], i: usize) {
    if let Some(w) = bits.get_mut(i / 64) {
        *w |= 1u64 << (i % 64);
    }
}

/// The engine over a cluster: which policies isolate each pod in each direction, and which
/// pods each rule admits, worked out once (selectors are matched per namespace and per pod
/// of the namespaces that match, not per pair).
pub struct Engine<'c> {
    cluster: &'c Cluster,
    ingress_of: Vec<Vec<usize>>,
    egress_of: Vec<Vec<usize>>,
    peers: BTreeMap<&'c PeerName, Vec<usize>>,
    /// per policy, per ingress rule
    ingress_admits: Vec<Vec<Admits>>,
    /// per policy, per egress rule
    egress_admits: Vec<Vec<Admits>>,
}

impl<'c> Engine<'c> {
    /// Indexes a cluster.
    pub fn new(cluster: &'c Cluster) -> Engine<'c> {
        let n = cluster.members.len();
        let mut by_ns: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (mi, m) in cluster.members.iter().enumerate() {
            by_ns.entry(m.peer.namespace.as_str()).or_default().push(mi);
        }
        let mut ingress_of = vec![Vec::new(); n];
        let mut egress_of = vec![Vec::new(); n];
        for (pi, p) in cluster.policies.iter().enumerate() {
            for &mi in by_ns
                .get(p.namespace.as_str())
                .map(Vec::as_slice)
                .unwrap_or(&[])
            {
                let Some(m) = cluster.members.get(mi) else {
                    continue;
                };
                if p.pod_selector.matches(&m.labels) {
                    if p.ingress_type {
                        if let Some(v) = ingress_of.get_mut(mi) {
                            v.push(pi);
                        }
                    }
                    if p.egress_type {
                        if let Some(v) = egress_of.get_mut(mi) {
                            v.push(pi);
                        }
                    }
                }
            }
        }
        let admits = |policy: &Policy, rule: &Rule| -> Admits {
            let peers = rule.peers.as_ref()?;
            let mut bits = vec![0u64; n.div_ceil(64)];
            for peer in peers {
                let Peer::Pods { pods, namespaces } = peer else {
                    continue;
                };
                let spaces: Vec<&str> = match namespaces {
                    None => vec![policy.namespace.as_str()],
                    Some(sel) => by_ns
                        .keys()
                        .copied()
                        .filter(|ns| ns_labels(cluster, ns, |l| sel.matches(l)))
                        .collect(),
                };
                for ns in spaces {
                    for &mi in by_ns.get(ns).map(Vec::as_slice).unwrap_or(&[]) {
                        if cluster
                            .members
                            .get(mi)
                            .is_some_and(|m| pods.as_ref().is_none_or(|s| s.matches(&m.labels)))
                        {
                            set_bit(&mut bits, mi);
                        }
                    }
                }
            }
            Some(bits)
        };
        let ingress_admits = cluster
            .policies
            .iter()
            .map(|p| p.ingress.iter().map(|r| admits(p, r)).collect())
            .collect();
        let egress_admits = cluster
            .policies
            .iter()
            .map(|p| p.egress.iter().map(|r| admits(p, r)).collect())
            .collect();
        let mut peers: BTreeMap<&PeerName, Vec<usize>> = BTreeMap::new();
        for (mi, m) in cluster.members.iter().enumerate() {
            peers.entry(&m.peer).or_default().push(mi);
        }
        Engine {
            cluster,
            ingress_of,
            egress_of,
            peers,
            ingress_admits,
            egress_admits,
        }
    }

    /// The workloads, by name.
    pub fn workloads(&self) -> impl Iterator<Item = &'c PeerName> + '_ {
        self.peers.keys().copied()
    }

    /// The policies that isolate pod `of` in a direction (none: it is open).
    fn policies_of(&self, of: usize, dir: Direction) -> &[usize] {
        match dir {
            Direction::Ingress => self.ingress_of.get(of),
            Direction::Egress => self.egress_of.get(of),
        }
        .map(Vec::as_slice)
        .unwrap_or(&[])
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
                    Some(sel) => ns_labels(self.cluster, &m.peer.namespace, |l| sel.matches(l)),
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
        let policies = self.policies_of(of, dir);
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
            (Direction::Egress, Other::Pod(m, _)) => Some(m.ports.as_slice()),
            (Direction::Egress, Other::Range(_)) => None,
        };
        let mut out = ConnSet::none();
        for &pi in policies {
            let Some(p) = self.cluster.policies.get(pi) else {
                continue;
            };
            let (rules, admitted) = match dir {
                Direction::Ingress => (&p.ingress, self.ingress_admits.get(pi)),
                Direction::Egress => (&p.egress, self.egress_admits.get(pi)),
            };
            for (ri, r) in rules.iter().enumerate() {
                let admits = match (&r.peers, &other) {
                    (None, _) => true,
                    (Some(_), Other::Pod(_, Some(i))) => admitted
                        .and_then(|a| a.get(ri))
                        .is_some_and(|a| a.as_deref().is_none_or(|bits| bit(bits, *i))),
                    (Some(peers), Other::Pod(m, None)) => peers
                        .iter()
                        .any(|peer| self.peer_has(&p.namespace, peer, m)),
                    (Some(peers), Other::Range(range)) => peers
                        .iter()
                        .any(|peer| matches!(peer, Peer::Block(b) if b.holds(range))),
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
        let open = |of: &[Vec<usize>], i: usize| of.get(i).is_none_or(Vec::is_empty);
        if open(&self.egress_of, s) && open(&self.ingress_of, d) {
            return ConnSet::all();
        }
        let e = self.direction(s, Direction::Egress, Other::Pod(dm, Some(d)), None);
        if e.is_empty() {
            return e;
        }
        e.intersect(&self.direction(d, Direction::Ingress, Other::Pod(sm, Some(s)), None))
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
        for ((a, b), conns) in self.pod_pairs() {
            out.push(Connection {
                src: Endpoint::Workload(a.clone()),
                dst: Endpoint::Workload(b.clone()),
                conns,
            });
        }
        for (a, am) in &self.peers {
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

    /// The members a direction's rules admit as the other end, over all its policies: `None`
    /// when that is every pod (not isolated, or a rule without peers).
    fn admitted(&self, of: usize, dir: Direction) -> Option<Vec<u64>> {
        let (policies, admits) = match dir {
            Direction::Ingress => (self.ingress_of.get(of)?, &self.ingress_admits),
            Direction::Egress => (self.egress_of.get(of)?, &self.egress_admits),
        };
        if policies.is_empty() {
            return None;
        }
        let mut bits = vec![0u64; self.cluster.members.len().div_ceil(64)];
        for pi in policies {
            for a in admits.get(*pi).map(Vec::as_slice).unwrap_or(&[]) {
                let rule_bits = a.as_ref()?;
                for (w, r) in bits.iter_mut().zip(rule_bits) {
                    *w |= r;
                }
            }
        }
        Some(bits)
    }

    /// The connections between workloads, pair by pair. Only the pairs both ends' rules can
    /// admit are judged: a source's candidates are the destinations whose ingress is not
    /// isolated and those whose ingress rules admit it (the admissions transposed), kept when
    /// the source's egress admits them too.
    fn pod_pairs(&self) -> BTreeMap<(&'c PeerName, &'c PeerName), ConnSet> {
        let n = self.cluster.members.len();
        let mut open_ingress: Vec<usize> = Vec::new();
        // for each source, the isolated destinations whose ingress rules admit it
        let mut admitted_by: Vec<Vec<usize>> = vec![Vec::new(); n];
        for d in 0..n {
            match self.admitted(d, Direction::Ingress) {
                None => open_ingress.push(d),
                Some(bits) => {
                    for (wi, w) in bits.iter().enumerate() {
                        let mut w = *w;
                        while w != 0 {
                            let s = wi * 64 + w.trailing_zeros() as usize;
                            w &= w - 1;
                            if let Some(v) = admitted_by.get_mut(s) {
                                v.push(d);
                            }
                        }
                    }
                }
            }
        }
        let mut out: BTreeMap<(&PeerName, &PeerName), ConnSet> = BTreeMap::new();
        for (s, sm) in self.cluster.members.iter().enumerate() {
            let egress = self.admitted(s, Direction::Egress);
            let candidates = open_ingress
                .iter()
                .chain(admitted_by.get(s).map(Vec::as_slice).unwrap_or(&[]));
            for &d in candidates {
                let Some(dm) = self.member(d) else { continue };
                if dm.peer == sm.peer || egress.as_deref().is_some_and(|e| !bit(e, d)) {
                    continue;
                }
                let c = self.pods(s, d);
                if !c.is_empty() {
                    let e = out.entry((&sm.peer, &dm.peer)).or_default();
                    *e = e.union(&c);
                }
            }
        }
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
            subject: String::new(),
            ips: Vec::new(),
            pod_names: Vec::new(),
            env: Vec::new(),
            images: Vec::new(),
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
                        Other::Pod(&controller, None),
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
                        let e = self.direction(
                            s,
                            Direction::Egress,
                            Other::Pod(dm, Some(d)),
                            Some(&mut egress),
                        );
                        let i = self.direction(
                            d,
                            Direction::Ingress,
                            Other::Pod(sm, Some(s)),
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
        let policies = self.policies_of(of, dir);
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

/// Applies `f` to a namespace's labels (a namespace only the engine knows, such as the
/// ingress controller's, carries only its name label).
fn ns_labels(cluster: &Cluster, ns: &str, f: impl Fn(&BTreeMap<String, String>) -> bool) -> bool {
    match cluster.namespaces.get(ns) {
        Some(labels) => f(labels),
        None => f(&BTreeMap::from([(
            crate::model::NAME_LABEL.to_owned(),
            ns.to_owned(),
        )])),
    }
}

/// The other end, as a direction's rules see it.
enum Other<'a> {
    /// a pod, with its index among the members (`None`: a pod the engine made up)
    Pod(&'a Member, Option<usize>),
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
