//! Least-privilege NetworkPolicies from flows: a default deny per namespace, then for each
//! workload one ingress policy admitting exactly its sources on their ports and one egress
//! policy reaching exactly its destinations, plus DNS to the cluster's DNS pods. Flows come
//! from observed connections (netpol-analyzer's line format), from Services the manifests
//! name in environment variables, or from any connection list. [`check`] proves the result:
//! the reachability of the generated policies, computed by the engine, against the flows.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::ip::Range;
use crate::model::{Cluster, Member, PeerName};
use crate::ports::{ConnSet, Protocol};
use crate::reach::{Connection, Endpoint, Engine};

/// A flow: what one workload opens to another, or to addresses outside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flow {
    /// from
    pub src: Endpoint,
    /// to
    pub dst: Endpoint,
    /// what
    pub conns: ConnSet,
}

/// Labels that differ between the pods of one workload or its revisions: never selected on.
const VOLATILE: &[&str] = &[
    "pod-template-hash",
    "controller-revision-hash",
    "pod-template-generation",
    "statefulset.kubernetes.io/pod-name",
    "batch.kubernetes.io/controller-uid",
    "controller-uid",
    "batch.kubernetes.io/job-name",
    "job-name",
];

/// What generation gives: the policies, and what the user must know about them.
#[derive(Debug, Clone, Default)]
pub struct Generated {
    /// NetworkPolicy objects, in a stable order
    pub policies: Vec<Value>,
    /// flows that could not be expressed exactly, and why
    pub notes: Vec<String>,
}

/// The labels that select a workload's pods: its pod labels without the volatile ones.
pub(crate) fn selector_of(m: &Member) -> BTreeMap<String, String> {
    m.labels
        .iter()
        .filter(|(k, _)| !VOLATILE.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn peer_json(of: &Member) -> Value {
    json!({
        "namespaceSelector": {"matchLabels": {crate::model::NAME_LABEL: of.peer.namespace}},
        "podSelector": {"matchLabels": selector_of(of)},
    })
}

/// The addresses of `set` (sorted, disjoint) inside the block `[lo, lo + size)`, as the
/// fewest `ipBlock` entries and `except` blocks: either the block itself with the gaps as
/// `except`, or its two halves each said on their own, whichever is shorter.
fn cover(set: &[Range], lo: u64, size: u64) -> (usize, Vec<Value>) {
    let hi = lo + size - 1;
    let inside: Vec<(u64, u64)> = set
        .iter()
        .map(|r| (u64::from(r.lo).max(lo), u64::from(r.hi).min(hi)))
        .filter(|(a, b)| a <= b)
        .collect();
    let cidr = |lo: u64, size: u64| {
        format!(
            "{}/{}",
            std::net::Ipv4Addr::from(lo as u32),
            32 - size.trailing_zeros()
        )
    };
    if inside.is_empty() {
        return (0, Vec::new());
    }
    if inside == [(lo, hi)] {
        return (1, vec![json!({"ipBlock": {"cidr": cidr(lo, size)}})]);
    }
    // the block with its gaps excepted (the gaps are strictly inside it)
    let mut except = Vec::new();
    let mut next = lo;
    for (a, b) in inside.iter().copied().chain([(hi + 1, hi + 1)]) {
        if a > next {
            except.extend(cidrs(&Range {
                lo: next as u32,
                hi: (a - 1) as u32,
            }));
        }
        next = b + 1;
    }
    let whole = (
        1 + except.len(),
        vec![json!({"ipBlock": {"cidr": cidr(lo, size), "except": except}})],
    );
    let half = size / 2;
    let (l, r) = (cover(set, lo, half), cover(set, lo + half, half));
    if l.0 + r.0 <= whole.0 {
        (l.0 + r.0, [l.1, r.1].concat())
    } else {
        whole
    }
}

/// The rules of one workload's flows to (or from) addresses outside, as few as say them:
/// the ports are cut wherever some flow's ports start or end, each piece goes to the
/// addresses whose flows hold it, and pieces going to the same addresses share one rule.
fn external_rules(flows: &[(Range, ConnSet)], key: &str) -> Vec<Value> {
    let mut by_addresses: BTreeMap<Vec<Range>, ConnSet> = BTreeMap::new();
    for p in Protocol::ALL {
        let mut cuts: BTreeSet<u32> = BTreeSet::new();
        for (_, c) in flows {
            for (lo, hi) in c.ports(p).ranges() {
                cuts.insert(u32::from(*lo));
                cuts.insert(u32::from(*hi) + 1);
            }
        }
        let cuts: Vec<u32> = cuts.into_iter().collect();
        for w in cuts.windows(2) {
            let (lo, hi) = (w[0] as u16, (w[1] - 1) as u16);
            let mut addresses: Vec<Range> = flows
                .iter()
                .filter(|(_, c)| c.ports(p).contains(lo))
                .map(|(r, _)| *r)
                .collect();
            if addresses.is_empty() {
                continue;
            }
            addresses.sort();
            // adjacent ranges are one
            let mut merged: Vec<Range> = Vec::with_capacity(addresses.len());
            for r in addresses {
                match merged.last_mut() {
                    Some(last) if u64::from(last.hi) + 1 >= u64::from(r.lo) => {
                        last.hi = last.hi.max(r.hi);
                    }
                    _ => merged.push(r),
                }
            }
            let e = by_addresses.entry(merged).or_default();
            *e = e.union(&ConnSet::of(p, crate::ports::PortSet::range(lo, hi)));
        }
    }
    by_addresses
        .into_iter()
        .map(|(addresses, conns)| rule(json!(cover(&addresses, 0, 1 << 32).1), &conns, key))
        .collect()
}

/// The fewest CIDR blocks covering exactly `r`.
pub fn cidrs(r: &Range) -> Vec<String> {
    let mut out = Vec::new();
    let mut lo = u64::from(r.lo);
    let hi = u64::from(r.hi);
    while lo <= hi {
        // the largest block starting at lo that fits
        let mut size: u64 = if lo == 0 {
            1 << 32
        } else {
            1u64 << lo.trailing_zeros().min(32)
        };
        while lo + size - 1 > hi {
            size >>= 1;
        }
        let len = 32 - size.trailing_zeros();
        out.push(format!("{}/{len}", std::net::Ipv4Addr::from(lo as u32)));
        lo += size;
    }
    out
}

fn ports_json(c: &ConnSet) -> Option<Vec<Value>> {
    if c.is_all() {
        return None;
    }
    let mut out = Vec::new();
    for p in Protocol::ALL {
        for (lo, hi) in c.ports(p).ranges() {
            let mut e = json!({"protocol": p.as_str()});
            if !(*lo == crate::ports::MIN_PORT && *hi == crate::ports::MAX_PORT) {
                e["port"] = json!(lo);
                if hi > lo {
                    e["endPort"] = json!(hi);
                }
            }
            out.push(e);
        }
    }
    Some(out)
}

fn rule(peers: Value, c: &ConnSet, key: &str) -> Value {
    let mut r = json!({ key: peers });
    if let Some(p) = ports_json(c) {
        r["ports"] = json!(p);
    }
    r
}

fn policy(
    ns: &str,
    name: &str,
    selector: Value,
    types: &[&str],
    ingress: Vec<Value>,
    egress: Vec<Value>,
) -> Value {
    let mut spec = json!({"podSelector": selector, "policyTypes": types});
    if types.contains(&"Ingress") {
        spec["ingress"] = json!(ingress);
    }
    if types.contains(&"Egress") {
        spec["egress"] = json!(egress);
    }
    json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": ns, "labels": {"app.kubernetes.io/managed-by": "rampart"}},
        "spec": spec,
    })
}

/// A policy name from a workload's (DNS-1123, at most 63 characters).
fn name_for(prefix: &str, w: &PeerName) -> String {
    let base: String = format!("{prefix}-{}", w.name)
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    base.chars()
        .take(63)
        .collect::<String>()
        .trim_end_matches('-')
        .to_owned()
}

/// Options of generation.
#[derive(Debug, Clone)]
pub struct Options {
    /// allow every workload DNS to the cluster's DNS pods (kube-system, `k8s-app: kube-dns`,
    /// UDP and TCP 53)
    pub dns: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { dns: true }
    }
}

/// Whether a pod is one of the cluster's DNS pods (kube-system, `k8s-app: kube-dns`).
pub fn is_dns(m: &Member) -> bool {
    m.peer.namespace == "kube-system"
        && m.labels.get("k8s-app").map(String::as_str) == Some("kube-dns")
}

/// The DNS egress rule.
fn dns_rule() -> Value {
    json!({
        "to": [{"namespaceSelector": {"matchLabels": {crate::model::NAME_LABEL: "kube-system"}},
                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
    })
}

/// Generates the policies for `flows` over the workloads of `cluster`.
pub fn generate(cluster: &Cluster, flows: &[Flow], opts: &Options) -> Generated {
    let mut out = Generated::default();
    // one representative pod per workload
    let mut members: BTreeMap<&PeerName, &Member> = BTreeMap::new();
    for m in &cluster.members {
        members.entry(&m.peer).or_insert(m);
    }
    let mut ingress: BTreeMap<&PeerName, Vec<Value>> = BTreeMap::new();
    let mut egress: BTreeMap<&PeerName, Vec<Value>> = BTreeMap::new();
    // flows to and from addresses outside, said per workload once all are known
    let mut outside: BTreeMap<(&PeerName, bool), Vec<(Range, ConnSet)>> = BTreeMap::new();
    for f in flows {
        if f.conns.is_empty() {
            continue;
        }
        match (&f.src, &f.dst) {
            (Endpoint::Workload(s), Endpoint::Workload(d)) => {
                let (Some(sm), Some(dm)) = (members.get(s), members.get(d)) else {
                    out.notes.push(format!(
                        "{} => {}: not a workload of the manifests, left out",
                        f.src, f.dst
                    ));
                    continue;
                };
                egress.entry(&sm.peer).or_default().push(rule(
                    json!([peer_json(dm)]),
                    &f.conns,
                    "to",
                ));
                ingress.entry(&dm.peer).or_default().push(rule(
                    json!([peer_json(sm)]),
                    &f.conns,
                    "from",
                ));
            }
            (Endpoint::Workload(s), Endpoint::External { range }) => {
                let Some(sm) = members.get(s) else {
                    out.notes.push(format!(
                        "{}: not a workload of the manifests, left out",
                        f.src
                    ));
                    continue;
                };
                outside
                    .entry((&sm.peer, true))
                    .or_default()
                    .push((*range, f.conns.clone()));
            }
            (Endpoint::External { range }, Endpoint::Workload(d)) => {
                let Some(dm) = members.get(d) else {
                    out.notes.push(format!(
                        "{}: not a workload of the manifests, left out",
                        f.dst
                    ));
                    continue;
                };
                outside
                    .entry((&dm.peer, false))
                    .or_default()
                    .push((*range, f.conns.clone()));
            }
            _ => out.notes.push(format!(
                "{} => {}: only flows between workloads and addresses are generated",
                f.src, f.dst
            )),
        }
    }
    for ((w, to), flows) in outside {
        let (rules, key) = match to {
            true => (egress.entry(w).or_default(), "to"),
            false => (ingress.entry(w).or_default(), "from"),
        };
        rules.extend(external_rules(&flows, key));
    }
    let namespaces: BTreeSet<&str> = members.keys().map(|p| p.namespace.as_str()).collect();
    for ns in &namespaces {
        let mut deny = policy(
            ns,
            "default-deny",
            json!({}),
            &["Ingress", "Egress"],
            vec![],
            vec![],
        );
        if opts.dns {
            deny["spec"]["egress"] = json!([dns_rule()]);
            deny["metadata"]["name"] = json!("default-deny-allow-dns");
        }
        out.policies.push(deny);
    }
    // the cluster's DNS pods, when the manifests hold them: every namespace may ask them
    if opts.dns {
        for m in members.values().filter(|m| is_dns(m)) {
            ingress.entry(&m.peer).or_default().push(json!({
                "from": [{"namespaceSelector": {}}],
                "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
            }));
        }
    }
    for (w, m) in &members {
        let sel = selector_of(m);
        // a selector that also selects another workload of the namespace widens every rule
        let others: Vec<String> = members
            .values()
            .filter(|o| o.peer != **w && o.peer.namespace == w.namespace)
            .filter(|o| sel.iter().all(|(k, v)| o.labels.get(k) == Some(v)))
            .map(|o| o.peer.to_string())
            .collect();
        if !others.is_empty() && (ingress.contains_key(w) || egress.contains_key(w)) {
            out.notes.push(format!(
                "{w}: its pod labels also select {}: the policies for it apply to them too (give it a label of its own)",
                others.join(", ")
            ));
        }
        if sel.is_empty() && (ingress.contains_key(w) || egress.contains_key(w)) {
            out.notes.push(format!("{w}: its pods have no labels to select them by: its policies select every pod of {}", w.namespace));
        }
        if let Some(rules) = ingress.get(w) {
            out.policies.push(policy(
                &w.namespace,
                &name_for("ingress", w),
                json!({"matchLabels": sel}),
                &["Ingress"],
                rules.clone(),
                vec![],
            ));
        }
        if let Some(rules) = egress.get(w) {
            out.policies.push(policy(
                &w.namespace,
                &name_for("egress", w),
                json!({"matchLabels": sel}),
                &["Egress"],
                vec![],
                rules.clone(),
            ));
        }
    }
    out
}

/// The policies as a YAML stream.
pub fn to_yaml(g: &Generated) -> Result<String, String> {
    let mut out = String::new();
    for p in &g.policies {
        out.push_str("---\n");
        out.push_str(&serde_saphyr::to_string(p).map_err(|e| e.to_string())?);
    }
    Ok(out)
}

/// Flows from connection lines (`src => dst : connections`, netpol-analyzer's format, as
/// `rampart netpol reach` prints them): the line numbers of those that cannot be read.
pub fn flows_from_lines(text: &str) -> (Vec<Flow>, Vec<(usize, String)>) {
    let mut flows = Vec::new();
    let mut errors = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match parse_line(line) {
            Ok(f) => flows.push(f),
            Err(e) => errors.push((i + 1, e)),
        }
    }
    (flows, errors)
}

fn parse_endpoint(s: &str) -> Result<Endpoint, String> {
    let s = s.trim();
    if s == "{ingress-controller}" {
        return Ok(Endpoint::IngressController);
    }
    if let Some(r) = s.strip_suffix("[External]") {
        let (lo, hi) = r
            .split_once('-')
            .ok_or_else(|| format!("{s:?}: a range is first-last"))?;
        let ip = |t: &str| {
            t.parse::<std::net::Ipv4Addr>()
                .map(u32::from)
                .map_err(|_| format!("{t:?} is not an IPv4 address"))
        };
        let (lo, hi) = (ip(lo)?, ip(hi)?);
        if lo > hi {
            return Err(format!("{s:?}: the range ends before it starts"));
        }
        return Ok(Endpoint::External {
            range: Range { lo, hi },
        });
    }
    let (nsname, kind) = s
        .strip_suffix(']')
        .and_then(|t| t.rsplit_once('['))
        .ok_or_else(|| format!("{s:?} is neither ns/name[Kind] nor a range[External]"))?;
    let (ns, name) = nsname
        .split_once('/')
        .ok_or_else(|| format!("{s:?}: the workload needs its namespace"))?;
    Ok(Endpoint::Workload(PeerName {
        namespace: ns.to_owned(),
        name: name.to_owned(),
        kind: kind.to_owned(),
    }))
}

/// Parses `All Connections` or `SCTP 9090,TCP 80,443,UDP 53-60`.
pub fn parse_conns(s: &str) -> Result<ConnSet, String> {
    let s = s.trim();
    if s == "All Connections" {
        return Ok(ConnSet::all());
    }
    let mut out = ConnSet::none();
    let mut proto: Option<Protocol> = None;
    for part in s.split(',') {
        let part = part.trim();
        let ports = match part.split_once(' ') {
            Some((p, rest)) => {
                proto = Some(
                    Protocol::parse(p).ok_or_else(|| format!("{p:?} is not TCP, UDP or SCTP"))?,
                );
                rest
            }
            None => part,
        };
        let p = proto.ok_or_else(|| format!("{s:?}: ports before a protocol"))?;
        let num = |t: &str| {
            t.trim()
                .parse::<u16>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| format!("{t:?} is not a port"))
        };
        let (lo, hi) = match ports.split_once('-') {
            Some((a, b)) => (num(a)?, num(b)?),
            None => (num(ports)?, num(ports)?),
        };
        if lo > hi {
            return Err(format!("{ports:?}: the range ends before it starts"));
        }
        out = out.union(&ConnSet::of(p, crate::ports::PortSet::range(lo, hi)));
    }
    Ok(out)
}

fn parse_line(line: &str) -> Result<Flow, String> {
    let (pair, conns) = line
        .rsplit_once(" : ")
        .ok_or("expected `src => dst : connections`")?;
    let (src, dst) = pair
        .split_once(" => ")
        .ok_or("expected `src => dst : connections`")?;
    Ok(Flow {
        src: parse_endpoint(src)?,
        dst: parse_endpoint(dst)?,
        conns: parse_conns(conns)?,
    })
}

/// The proof: the connections the generated policies allow (with the manifests' workloads,
/// and no other policy), against the flows, as `(missing, extra)` connection lines. Outside
/// ranges are compared address by address, on ranges that refine both sides'.
pub fn check(
    cluster: &Cluster,
    generated: &Generated,
    flows: &[Flow],
    dns: bool,
) -> Result<(Vec<String>, Vec<String>), String> {
    let yaml = to_yaml(generated)?;
    let mut with = crate::read([("generated.yaml".to_owned(), yaml.as_str())]);
    if let Some(e) = with.errors.first() {
        return Err(format!("the generated policies do not read back: {e}"));
    }
    // the manifests' workloads and namespaces, the generated policies only
    with.members = cluster.members.clone();
    for (k, v) in &cluster.namespaces {
        with.namespaces
            .entry(k.clone())
            .or_insert_with(|| v.clone());
    }
    let got: Vec<Connection> = Engine::new(&with).connections();
    // outside addresses are compared on ranges that refine both sides' ranges (the flows may
    // be cut finer or coarser than the generated policies' own blocks)
    let mut cuts: BTreeSet<u64> = BTreeSet::from([0, 1 << 32]);
    let ranges = got
        .iter()
        .flat_map(|c| [&c.src, &c.dst])
        .chain(flows.iter().flat_map(|f| [&f.src, &f.dst]));
    for e in ranges {
        if let Endpoint::External { range } = e {
            cuts.insert(u64::from(range.lo));
            cuts.insert(u64::from(range.hi) + 1);
        }
    }
    let cuts: Vec<u64> = cuts.into_iter().collect();
    let atoms: Vec<Range> = cuts
        .windows(2)
        .map(|w| Range {
            lo: w[0] as u32,
            hi: (w[1] - 1) as u32,
        })
        .collect();
    let pieces = |e: &Endpoint| -> Vec<String> {
        match e {
            Endpoint::External { range } => atoms
                .iter()
                .filter(|a| range.covers(a))
                .map(|a| Endpoint::External { range: *a }.to_string())
                .collect(),
            e => vec![e.to_string()],
        }
    };
    let mut want: BTreeMap<(String, String), ConnSet> = BTreeMap::new();
    let mut have: BTreeMap<(String, String), ConnSet> = BTreeMap::new();
    let pairs = flows
        .iter()
        .map(|f| (&f.src, &f.dst, &f.conns, true))
        .chain(got.iter().map(|c| (&c.src, &c.dst, &c.conns, false)));
    for (src, dst, conns, wanted) in pairs {
        for s in pieces(src) {
            for d in pieces(dst) {
                let into = if wanted { &mut want } else { &mut have };
                let e = into.entry((s.clone(), d)).or_default();
                *e = e.union(conns);
            }
        }
    }
    // with DNS: every workload asks the DNS pods (TCP and UDP 53), and every pod of a
    // namespace may ask them
    if dns {
        let dns53 = ConnSet::of(Protocol::Udp, crate::ports::PortSet::range(53, 53)).union(
            &ConnSet::of(Protocol::Tcp, crate::ports::PortSet::range(53, 53)),
        );
        for d in cluster.members.iter().filter(|m| is_dns(m)) {
            for s in cluster.members.iter().filter(|s| s.peer != d.peer) {
                let e = want
                    .entry((s.peer.to_string(), d.peer.to_string()))
                    .or_default();
                *e = e.union(&dns53);
            }
        }
    }
    let mut missing = Vec::new();
    let mut extra = Vec::new();
    for (k, w) in &want {
        let h = have.get(k).cloned().unwrap_or_default();
        let m = w.minus(&h);
        if !m.is_empty() {
            missing.push(format!("{} => {} : {m}", k.0, k.1));
        }
    }
    for (k, h) in &have {
        let w = want.get(k).cloned().unwrap_or_default();
        let x = h.minus(&w);
        if !x.is_empty() {
            extra.push(format!("{} => {} : {x}", k.0, k.1));
        }
    }
    Ok((missing, extra))
}

/// Flows inferred from the manifests: a workload whose environment (values, and the values of
/// the ConfigMaps it reads variables from) names a Service (`svc`, `svc.ns`,
/// `svc.ns.svc[.cluster.local]`, with `:port` or not) reaches the pods the Service selects on
/// the target port of that Service port (of every port when none is named).
pub fn infer(cluster: &Cluster) -> Vec<Flow> {
    use crate::model::TargetPort;
    let mut out: BTreeMap<(PeerName, PeerName), ConnSet> = BTreeMap::new();
    for m in &cluster.members {
        let mut texts: Vec<&str> = Vec::new();
        for e in &m.env {
            match e.strip_prefix("configmap:") {
                Some(cm) => texts.extend(
                    cluster
                        .configmaps
                        .get(&(m.peer.namespace.clone(), cm.to_owned()))
                        .into_iter()
                        .flatten()
                        .map(String::as_str),
                ),
                None => texts.push(e),
            }
        }
        for text in texts {
            let tokens = text
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == ':'));
            for token in tokens {
                let (host, port) = match token.rsplit_once(':') {
                    Some((h, p)) => (h, p.parse::<u16>().ok()),
                    None => (token, None),
                };
                for svc in &cluster.services {
                    let local = svc.namespace == m.peer.namespace && host == svc.name;
                    let qualified = [
                        format!("{}.{}", svc.name, svc.namespace),
                        format!("{}.{}.svc", svc.name, svc.namespace),
                        format!("{}.{}.svc.cluster.local", svc.name, svc.namespace),
                    ]
                    .contains(&host.to_owned());
                    if !(local || qualified) {
                        continue;
                    }
                    let Some(selector) = &svc.selector else {
                        continue;
                    };
                    let ports: Vec<&crate::model::ServicePort> = svc
                        .ports
                        .iter()
                        .filter(|p| port.is_none_or(|n| p.port == n))
                        .collect();
                    for d in cluster.members.iter().filter(|d| {
                        d.peer.namespace == svc.namespace
                            && d.peer != m.peer
                            && selector.iter().all(|(k, v)| d.labels.get(k) == Some(v))
                    }) {
                        let mut c = ConnSet::none();
                        for p in &ports {
                            let number = match &p.target {
                                TargetPort::Number(n) => Some((*n, Protocol::Tcp)),
                                TargetPort::Named(name) => d
                                    .ports
                                    .iter()
                                    .find(|cp| cp.name.as_deref() == Some(name.as_str()))
                                    .map(|cp| (cp.number, cp.protocol)),
                            };
                            if let Some((n, proto)) = number {
                                c = c
                                    .union(&ConnSet::of(proto, crate::ports::PortSet::range(n, n)));
                            }
                        }
                        if !c.is_empty() {
                            let e = out.entry((m.peer.clone(), d.peer.clone())).or_default();
                            *e = e.union(&c);
                        }
                    }
                }
            }
        }
    }
    out.into_iter()
        .map(|((s, d), conns)| Flow {
            src: Endpoint::Workload(s),
            dst: Endpoint::Workload(d),
            conns,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::ip::{Block, Cidr, atoms, parse_cidr};
    use proptest::prelude::*;

    fn range(s: &str) -> Range {
        match parse_cidr(s).unwrap() {
            Cidr::V4(r) => r,
            Cidr::V6(_) => unreachable!(),
        }
    }

    /// What `ipBlock` entries hold, as blocks.
    fn blocks(entries: &[Value]) -> Vec<Block> {
        entries
            .iter()
            .map(|e| Block {
                cidr: range(e["ipBlock"]["cidr"].as_str().unwrap()),
                except: e["ipBlock"]["except"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|x| range(x.as_str().unwrap()))
                    .collect(),
            })
            .collect()
    }

    #[test]
    fn a_block_with_a_hole_is_written_with_except() {
        let set = [range("10.30.0.0/16")];
        let hole = range("10.30.9.0/24");
        let set = [
            Range {
                lo: set[0].lo,
                hi: hole.lo - 1,
            },
            Range {
                lo: hole.hi + 1,
                hi: set[0].hi,
            },
        ];
        let (cost, v) = cover(&set, 0, 1 << 32);
        assert_eq!(cost, 2);
        assert_eq!(
            v,
            [json!({"ipBlock": {"cidr": "10.30.0.0/16", "except": ["10.30.9.0/24"]}})]
        );
        assert_eq!(
            cover(&[Range::ALL], 0, 1 << 32).1,
            [json!({"ipBlock": {"cidr": "0.0.0.0/0"}})]
        );
    }

    proptest! {
        // the blocks hold exactly the addresses of the set, in no more entries than the
        // plain CIDR blocks of its ranges
        #[test]
        fn cover_says_exactly_the_set(mut points in proptest::collection::vec(any::<u32>(), 2..12)) {
            points.sort_unstable();
            points.dedup();
            let set: Vec<Range> = points
                .chunks(2)
                .filter(|c| c.len() == 2)
                .map(|c| Range { lo: c[0], hi: c[1] })
                .collect();
            let (cost, v) = cover(&set, 0, 1 << 32);
            let plain: usize = set.iter().map(|r| cidrs(r).len()).sum();
            prop_assert!(cost <= plain, "{cost} > {plain}");
            let b = blocks(&v);
            for a in atoms(b.iter().chain(set.iter().map(|r| Block { cidr: *r, except: vec![] }).collect::<Vec<_>>().iter())) {
                let held = b.iter().any(|x| x.holds(&a));
                let inside = set.iter().any(|r| r.covers(&a));
                prop_assert_eq!(held, inside, "{}", a);
            }
        }
    }
}
