//! The cluster as the reachability engine sees it, read from manifests: namespaces and their
//! labels, workloads (the pods they run, their labels and container ports), NetworkPolicies
//! checked as the API server checks them. What cannot be read is an input error with its file
//! and position; the object is then left out, as the API server would have refused it.

use std::collections::BTreeMap;

use rampart_k8s::objects::{Object, Workload as K8sWorkload};
use rampart_k8s::yaml::{Node, Pos, Value};
use serde::Serialize;

use crate::ip::{self, Block, Cidr};
use crate::ports::{PortSet, Protocol};
use crate::selector::Selector;

/// A problem in the input: where, and what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct InputError {
    /// the file
    pub file: String,
    /// 1-based line
    pub line: u32,
    /// 1-based column
    pub column: u32,
    /// what is wrong
    pub message: String,
}

/// A workload as the connection list names it: `ns/name[Kind]`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct PeerName {
    /// its namespace
    pub namespace: String,
    /// its name (a pod's controller's, for a pod that has one)
    pub name: String,
    /// its kind (`Deployment`, `ReplicaSet`, `Pod`...)
    pub kind: String,
}

impl std::fmt::Display for PeerName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}[{}]", self.namespace, self.name, self.kind)
    }
}

/// A port a container declares.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ContainerPort {
    /// its name, if named
    pub name: Option<String>,
    /// the number
    pub number: u16,
    /// the protocol (TCP unless said)
    pub protocol: Protocol,
}

/// Pods of one workload with one set of labels (a controller's pods that differ in labels are
/// several members of one peer).
#[derive(Debug, Clone)]
pub struct Member {
    /// the peer it belongs to
    pub peer: PeerName,
    /// its pods' labels
    pub labels: BTreeMap<String, String>,
    /// its containers' ports
    pub ports: Vec<ContainerPort>,
    /// the object it was read from, as findings name it (`Deployment shop/web`)
    pub subject: String,
    /// its pods' IPv4 addresses (`status.podIPs` of a `kubectl get pods -o json` dump)
    pub ips: Vec<u32>,
    /// the names of the Pod objects it was read from (none for a workload's template)
    pub pod_names: Vec<String>,
    /// what its containers are told at start: environment values, and the ConfigMaps they
    /// read variables from (`configmap:NAME`), for inferring the Services it calls
    pub env: Vec<String>,
    /// its containers' images (init containers' too), as written
    pub images: Vec<String>,
    /// where it was read
    pub file: String,
    /// and at which line
    pub line: u32,
}

/// Where a rule port points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortRef {
    /// every port of the protocol
    Any,
    /// a number, up to `endPort` when given
    Range(u16, u16),
    /// a container port's name, resolved on the destination pod
    Named(String),
}

/// One entry of a rule's `ports`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulePort {
    /// the protocol
    pub protocol: Protocol,
    /// the port
    pub port: PortRef,
}

/// One entry of a rule's `from` or `to`.
#[derive(Debug, Clone, PartialEq)]
pub enum Peer {
    /// pods: a pod selector in the policy's namespace, or namespaces by selector (with a pod
    /// selector, or all their pods)
    Pods {
        /// `podSelector` (absent: every pod)
        pods: Option<Selector>,
        /// `namespaceSelector` (absent: the policy's namespace)
        namespaces: Option<Selector>,
    },
    /// an IPv4 block (outside the cluster)
    Block(Block),
    /// an IPv6 block: read, not analysed (the connection list covers IPv4)
    V6(String),
}

/// An ingress or egress rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// its index in the policy's list
    pub index: usize,
    /// `from`/`to`: `None` when absent or empty (every source or destination)
    pub peers: Option<Vec<Peer>>,
    /// `ports`: empty for every port
    pub ports: Vec<RulePort>,
    /// where it starts
    pub line: u32,
}

/// A NetworkPolicy.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// its namespace
    pub namespace: String,
    /// its name
    pub name: String,
    /// the pods it selects
    pub pod_selector: Selector,
    /// whether it governs ingress (isolates the pods it selects for ingress)
    pub ingress_type: bool,
    /// whether it governs egress
    pub egress_type: bool,
    /// ingress rules
    pub ingress: Vec<Rule>,
    /// egress rules
    pub egress: Vec<Rule>,
    /// the file
    pub file: String,
    /// the line of its `kind`
    pub line: u32,
}

/// Where a Service port sends traffic on its pods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetPort {
    /// a number
    Number(u16),
    /// a container port's name
    Named(String),
}

/// A Service port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePort {
    /// its name
    pub name: Option<String>,
    /// the port clients use
    pub port: u16,
    /// the port on the pods (`port` when not said)
    pub target: TargetPort,
}

/// A Service: the pods it selects and its ports.
#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    /// its namespace
    pub namespace: String,
    /// its name
    pub name: String,
    /// `spec.selector` (`None`: a Service without selector, whose endpoints are managed
    /// elsewhere)
    pub selector: Option<BTreeMap<String, String>>,
    /// its ports
    pub ports: Vec<ServicePort>,
}

/// Which Service port an Ingress backend names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendPort {
    /// every port of the Service
    Any,
    /// by number
    Number(u16),
    /// by name
    Named(String),
}

/// An Ingress: the Services its rules and default backend send to.
#[derive(Debug, Clone, PartialEq)]
pub struct Ingress {
    /// its namespace
    pub namespace: String,
    /// its name
    pub name: String,
    /// `(service, port)` of each backend
    pub backends: Vec<(String, BackendPort)>,
}

/// Everything the engine needs.
#[derive(Debug, Clone, Default)]
pub struct Cluster {
    /// namespaces by name with their labels (those only implied by objects in them carry
    /// only `kubernetes.io/metadata.name`)
    pub namespaces: BTreeMap<String, BTreeMap<String, String>>,
    /// the workloads' pods
    pub members: Vec<Member>,
    /// the policies
    pub policies: Vec<Policy>,
    /// the Services
    pub services: Vec<Service>,
    /// the Ingress objects
    pub ingresses: Vec<Ingress>,
    /// ConfigMaps' values by namespace and name
    pub configmaps: BTreeMap<(String, String), Vec<String>>,
    /// the input errors met
    pub errors: Vec<InputError>,
    /// what was read but not analysed (IPv6 blocks, kinds the engine does not model)
    pub notes: Vec<String>,
}

/// The label every namespace carries.
pub const NAME_LABEL: &str = "kubernetes.io/metadata.name";

struct Ctx<'a> {
    file: &'a str,
    errors: Vec<InputError>,
}

impl Ctx<'_> {
    fn err(&mut self, pos: Pos, message: impl Into<String>) {
        self.errors.push(InputError {
            file: self.file.to_owned(),
            line: pos.line,
            column: pos.column,
            message: message.into(),
        });
    }
}

/// Reads a string map (`labels`, `matchLabels`): each value a string.
pub(crate) fn string_map(
    node: Option<&Node>,
    what: &str,
    errors: &mut Vec<(Pos, String)>,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Some(node) = node else { return out };
    match &node.value {
        Value::Map(entries) => {
            for (k, v) in entries {
                match (k.as_str(), v.as_str()) {
                    (Some(k), Some(v)) => {
                        out.insert(k.to_owned(), v.to_owned());
                    }
                    (Some(k), None) => errors.push((
                        v.pos,
                        format!("{what}: the value of {k:?} must be a string (quote it)"),
                    )),
                    (None, _) => errors.push((k.pos, format!("{what}: a key must be a string"))),
                }
            }
        }
        Value::Null => {}
        _ => errors.push((node.pos, format!("{what} must be a map of strings"))),
    }
    out
}

fn int(node: &Node) -> Option<i64> {
    match node.value {
        Value::Int(i) => Some(i),
        _ => None,
    }
}

/// Reads the objects of one file into the cluster.
pub fn add_objects(cluster: &mut Cluster, file: &str, objects: &[Object<'_>]) {
    let mut cx = Ctx {
        file,
        errors: Vec::new(),
    };
    for o in objects {
        match o.kind {
            "Namespace" => {
                let mut errs = Vec::new();
                let mut labels =
                    string_map(o.node.path(&["metadata", "labels"]), "labels", &mut errs);
                for (pos, m) in errs {
                    cx.err(pos, m);
                }
                labels.insert(NAME_LABEL.to_owned(), o.name.to_owned());
                cluster.namespaces.insert(o.name.to_owned(), labels);
            }
            "NetworkPolicy" if o.api_version.starts_with("networking.k8s.io/") => {
                if let Some(p) = read_policy(&mut cx, o) {
                    cluster.policies.push(p);
                }
            }
            "Service" if o.api_version == "v1" => {
                if let Some(svc) = read_service(&mut cx, o) {
                    cluster.services.push(svc);
                }
            }
            "Ingress" if o.api_version.starts_with("networking.k8s.io/") => {
                cluster.ingresses.push(read_ingress(&mut cx, o));
            }
            "ConfigMap" => {
                let values = o
                    .node
                    .get("data")
                    .map(Node::entries)
                    .unwrap_or(&[])
                    .iter()
                    .filter_map(|(_, v)| v.as_str().map(str::to_owned))
                    .collect();
                cluster.configmaps.insert(
                    (o.effective_namespace().to_owned(), o.name.to_owned()),
                    values,
                );
            }
            _ => {
                if let Some(w) = K8sWorkload::from_object(*o) {
                    read_workload(&mut cx, cluster, &w);
                }
            }
        }
    }
    cluster.errors.append(&mut cx.errors);
}

fn read_workload(cx: &mut Ctx<'_>, cluster: &mut Cluster, w: &K8sWorkload<'_>) {
    let o = &w.object;
    let namespace = o.effective_namespace().to_owned();
    // a pod with a controller (other than a node) is shown as its controller
    let mut peer = PeerName {
        namespace: namespace.clone(),
        name: o.name.to_owned(),
        kind: o.kind.to_owned(),
    };
    if o.kind == "Pod" {
        let owner = o
            .node
            .path(&["metadata", "ownerReferences"])
            .map(Node::as_seq)
            .unwrap_or(&[])
            .iter()
            .find(|r| r.get("controller").and_then(Node::as_bool) == Some(true));
        if let Some(r) = owner {
            let kind = r.str_at(&["kind"]).unwrap_or("");
            if kind != "Node"
                && let Some(name) = r.str_at(&["name"])
            {
                peer.name = name.to_owned();
                peer.kind = if kind.is_empty() { "Pod" } else { kind }.to_owned();
            }
        }
    }
    let mut errs = Vec::new();
    let labels = string_map(w.pod.path(&["metadata", "labels"]), "labels", &mut errs);
    for (pos, m) in errs {
        cx.err(pos, m);
    }
    let mut env = Vec::new();
    let mut images = Vec::new();
    for c in w.containers() {
        if let Some(i) = c.node.str_at(&["image"]) {
            images.push(i.to_owned());
        }
        for e in c.node.get("env").map(Node::as_seq).unwrap_or(&[]) {
            if let Some(v) = e.str_at(&["value"]) {
                env.push(v.to_owned());
            }
            if let Some(cm) = e.str_at(&["valueFrom", "configMapKeyRef", "name"]) {
                env.push(format!("configmap:{cm}"));
            }
        }
        for e in c.node.get("envFrom").map(Node::as_seq).unwrap_or(&[]) {
            if let Some(cm) = e.str_at(&["configMapRef", "name"]) {
                env.push(format!("configmap:{cm}"));
            }
        }
    }
    let mut ports = Vec::new();
    for c in w.containers() {
        for p in c.node.get("ports").map(Node::as_seq).unwrap_or(&[]) {
            let Some(n) = p.get("containerPort") else {
                continue;
            };
            let Some(number) = int(n)
                .and_then(|v| u16::try_from(v).ok())
                .filter(|v| *v >= 1)
            else {
                cx.err(n.pos, "containerPort must be a number from 1 to 65535");
                continue;
            };
            let Some(protocol) = read_protocol(cx, p) else {
                continue;
            };
            ports.push(ContainerPort {
                name: p.str_at(&["name"]).map(str::to_owned),
                number,
                protocol,
            });
        }
    }
    cluster
        .namespaces
        .entry(namespace.clone())
        .or_insert_with(|| BTreeMap::from([(NAME_LABEL.to_owned(), namespace)]));
    let mut ips: Vec<u32> = o
        .node
        .path(&["status", "podIPs"])
        .map(Node::as_seq)
        .unwrap_or(&[])
        .iter()
        .filter_map(|i| i.str_at(&["ip"]))
        .chain(o.node.str_at(&["status", "podIP"]))
        .filter_map(|ip| ip.parse::<std::net::Ipv4Addr>().ok().map(u32::from))
        .collect();
    ips.sort_unstable();
    ips.dedup();
    let pod_names = if o.kind == "Pod" {
        vec![o.name.to_owned()]
    } else {
        Vec::new()
    };
    cluster.members.push(Member {
        peer,
        labels,
        ports,
        ips,
        pod_names,
        subject: o.subject(),
        env,
        images,
        file: cx.file.to_owned(),
        line: o.node.pos.line,
    });
}

/// IANA service names: what a named port may be (1-15 characters, lowercase letters, digits
/// and inner single hyphens, at least one letter).
fn is_port_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 15
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && s.bytes().any(|b| b.is_ascii_lowercase())
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--")
}

/// An entry's `protocol` (TCP when absent); `None` after reporting one the API refuses.
fn read_protocol(cx: &mut Ctx<'_>, entry: &Node) -> Option<Protocol> {
    match entry.get("protocol") {
        None => Some(Protocol::Tcp),
        Some(v) => {
            let p = v.as_str().and_then(Protocol::parse);
            if p.is_none() {
                cx.err(v.pos, "protocol must be TCP, UDP or SCTP");
            }
            p
        }
    }
}

fn read_ports(cx: &mut Ctx<'_>, node: Option<&Node>) -> Option<Vec<RulePort>> {
    let mut out = Vec::new();
    let mut ok = true;
    for p in node.map(Node::as_seq).unwrap_or(&[]) {
        let Some(protocol) = read_protocol(cx, p) else {
            ok = false;
            continue;
        };
        let end = p.get("endPort");
        let port = match p.get("port") {
            None => {
                if let Some(e) = end {
                    cx.err(e.pos, "endPort needs a numeric port");
                    ok = false;
                    continue;
                }
                PortRef::Any
            }
            Some(v) => match (&v.value, end) {
                (Value::Int(n), end) => {
                    let Some(lo) = u16::try_from(*n).ok().filter(|n| *n >= 1) else {
                        cx.err(v.pos, format!("port {n} is out of range (1-65535)"));
                        ok = false;
                        continue;
                    };
                    let hi = match end {
                        None => lo,
                        Some(e) => match int(e).and_then(|n| u16::try_from(n).ok()) {
                            Some(hi) if hi >= lo => hi,
                            _ => {
                                cx.err(
                                    e.pos,
                                    format!("endPort must be a number from {lo} to 65535"),
                                );
                                ok = false;
                                continue;
                            }
                        },
                    };
                    PortRef::Range(lo, hi)
                }
                (Value::String(name), None) => {
                    // a number written as a string is a number (intstr)
                    if let Ok(n) = name.parse::<u16>() {
                        if n == 0 {
                            cx.err(v.pos, "port 0 is out of range (1-65535)");
                            ok = false;
                            continue;
                        }
                        PortRef::Range(n, n)
                    } else if is_port_name(name) {
                        PortRef::Named(name.clone())
                    } else {
                        cx.err(
                            v.pos,
                            format!("port {name:?} is neither a number nor a valid port name"),
                        );
                        ok = false;
                        continue;
                    }
                }
                (Value::String(_), Some(e)) => {
                    cx.err(e.pos, "endPort needs a numeric port, not a named one");
                    ok = false;
                    continue;
                }
                _ => {
                    cx.err(v.pos, "port must be a number or a port name");
                    ok = false;
                    continue;
                }
            },
        };
        out.push(RulePort { protocol, port });
    }
    ok.then_some(out)
}

fn read_peer(cx: &mut Ctx<'_>, node: &Node) -> Option<Peer> {
    let pods = node.get("podSelector");
    let namespaces = node.get("namespaceSelector");
    let block = node.get("ipBlock");
    if block.is_some() && (pods.is_some() || namespaces.is_some()) {
        cx.err(node.pos, "a peer may not have an ipBlock and a selector");
        return None;
    }
    if let Some(b) = block {
        let Some(c) = b.get("cidr") else {
            cx.err(b.pos, "ipBlock needs a cidr");
            return None;
        };
        let Some(cs) = c.as_str() else {
            cx.err(c.pos, "cidr must be a string");
            return None;
        };
        let cidr = match ip::parse_cidr(cs) {
            Ok(v) => v,
            Err(e) => {
                cx.err(c.pos, e);
                return None;
            }
        };
        let mut except = Vec::new();
        for e in b.get("except").map(Node::as_seq).unwrap_or(&[]) {
            match (e.as_str().map(ip::parse_cidr), &cidr) {
                (Some(Ok(Cidr::V4(r))), Cidr::V4(outer)) if outer.covers(&r) && r != *outer => {
                    except.push(r)
                }
                (Some(Ok(Cidr::V6(_))), Cidr::V6(_)) => {}
                (Some(Err(m)), _) => {
                    cx.err(e.pos, m);
                    return None;
                }
                _ => {
                    cx.err(e.pos, format!("except must be a strict subset of {cs}"));
                    return None;
                }
            }
        }
        return Some(match cidr {
            Cidr::V4(r) => Peer::Block(Block { cidr: r, except }),
            Cidr::V6(s) => Peer::V6(s),
        });
    }
    if pods.is_none() && namespaces.is_none() {
        cx.err(
            node.pos,
            "a peer needs a podSelector, a namespaceSelector or an ipBlock",
        );
        return None;
    }
    let mut sel = |n: Option<&Node>, what: &str| -> Result<Option<Selector>, ()> {
        match n {
            None => Ok(None),
            Some(n) => Selector::read(n)
                .map(Some)
                .map_err(|(pos, m)| cx.err(pos, format!("{what}: {m}"))),
        }
    };
    let pods = sel(pods, "podSelector").ok()?;
    let namespaces = sel(namespaces, "namespaceSelector").ok()?;
    Some(Peer::Pods { pods, namespaces })
}

fn read_rules(cx: &mut Ctx<'_>, node: Option<&Node>, peers_key: &str) -> Option<Vec<Rule>> {
    let mut out = Vec::new();
    let mut ok = true;
    for (index, r) in node.map(Node::as_seq).unwrap_or(&[]).iter().enumerate() {
        let peers = match r.get(peers_key).map(Node::as_seq) {
            None | Some([]) => None,
            Some(list) => {
                let mut v = Vec::new();
                for p in list {
                    match read_peer(cx, p) {
                        Some(p) => v.push(p),
                        None => ok = false,
                    }
                }
                Some(v)
            }
        };
        let ports = read_ports(cx, r.get("ports"));
        match ports {
            Some(ports) => out.push(Rule {
                index,
                peers,
                ports,
                line: r.pos.line,
            }),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

fn read_policy(cx: &mut Ctx<'_>, o: &Object<'_>) -> Option<Policy> {
    let spec = o.node.get("spec");
    let Some(spec) = spec else {
        cx.err(o.node.pos, format!("NetworkPolicy {} has no spec", o.name));
        return None;
    };
    let pod_selector = match spec.get("podSelector") {
        None => Selector::everything(),
        Some(n) => match Selector::read(n) {
            Ok(s) => s,
            Err((pos, m)) => {
                cx.err(pos, format!("podSelector: {m}"));
                return None;
            }
        },
    };
    let (ingress_type, egress_type) = match spec.get("policyTypes") {
        Some(types) => {
            let mut i = false;
            let mut e = false;
            for t in types.as_seq() {
                match t.as_str() {
                    Some("Ingress") => i = true,
                    Some("Egress") => e = true,
                    _ => {
                        cx.err(t.pos, "policyTypes holds Ingress and Egress only");
                        return None;
                    }
                }
            }
            (i, e)
        }
        // the API's default: Ingress, and Egress when egress rules are given
        None => (true, spec.get("egress").is_some()),
    };
    let before = cx.errors.len();
    let ingress = read_rules(cx, spec.get("ingress"), "from");
    let egress = read_rules(cx, spec.get("egress"), "to");
    let (Some(ingress), Some(egress)) = (ingress, egress) else {
        if cx.errors.len() == before {
            cx.err(o.node.pos, "the policy cannot be read");
        }
        return None;
    };
    Some(Policy {
        namespace: o.effective_namespace().to_owned(),
        name: o.name.to_owned(),
        pod_selector,
        ingress_type,
        egress_type,
        ingress,
        egress,
        file: cx.file.to_owned(),
        line: o.node.pos.line,
    })
}

fn read_service(cx: &mut Ctx<'_>, o: &Object<'_>) -> Option<Service> {
    let spec = o.node.get("spec");
    let mut errs = Vec::new();
    let selector = spec
        .and_then(|s| s.get("selector"))
        .filter(|n| !matches!(n.value, Value::Null))
        .map(|n| string_map(Some(n), "selector", &mut errs));
    for (pos, m) in errs {
        cx.err(pos, m);
    }
    let mut ports = Vec::new();
    for p in spec
        .and_then(|s| s.get("ports"))
        .map(Node::as_seq)
        .unwrap_or(&[])
    {
        let Some(port) = p
            .get("port")
            .and_then(int)
            .and_then(|v| u16::try_from(v).ok())
            .filter(|v| *v >= 1)
        else {
            cx.err(p.pos, "a Service port needs a port from 1 to 65535");
            return None;
        };
        let target = match p.get("targetPort") {
            None => TargetPort::Number(port),
            Some(t) => match &t.value {
                Value::Int(n) => match u16::try_from(*n).ok().filter(|v| *v >= 1) {
                    Some(n) => TargetPort::Number(n),
                    None => {
                        cx.err(t.pos, "targetPort must be from 1 to 65535");
                        return None;
                    }
                },
                Value::String(name) => match name.parse::<u16>() {
                    Ok(n) if n >= 1 => TargetPort::Number(n),
                    _ => TargetPort::Named(name.clone()),
                },
                _ => {
                    cx.err(t.pos, "targetPort must be a number or a port name");
                    return None;
                }
            },
        };
        ports.push(ServicePort {
            name: p.str_at(&["name"]).map(str::to_owned),
            port,
            target,
        });
    }
    Some(Service {
        namespace: o.effective_namespace().to_owned(),
        name: o.name.to_owned(),
        selector,
        ports,
    })
}

fn read_ingress(cx: &mut Ctx<'_>, o: &Object<'_>) -> Ingress {
    let mut backends = Vec::new();
    let mut backend = |cx: &mut Ctx<'_>, b: &Node| {
        let Some(svc) = b.get("service") else {
            return; // a resource backend: not a Service
        };
        let Some(name) = svc.str_at(&["name"]) else {
            cx.err(svc.pos, "an Ingress backend's service needs a name");
            return;
        };
        let port = match (svc.path(&["port", "number"]), svc.str_at(&["port", "name"])) {
            (Some(n), _) => match int(n)
                .and_then(|v| u16::try_from(v).ok())
                .filter(|v| *v >= 1)
            {
                Some(v) => BackendPort::Number(v),
                None => {
                    cx.err(n.pos, "port number must be from 1 to 65535");
                    return;
                }
            },
            (None, Some(name)) => BackendPort::Named(name.to_owned()),
            (None, None) => BackendPort::Any,
        };
        backends.push((name.to_owned(), port));
    };
    if let Some(b) = o.node.path(&["spec", "defaultBackend"]) {
        backend(cx, b);
    }
    for rule in o
        .node
        .path(&["spec", "rules"])
        .map(Node::as_seq)
        .unwrap_or(&[])
    {
        for path in rule
            .path(&["http", "paths"])
            .map(Node::as_seq)
            .unwrap_or(&[])
        {
            if let Some(b) = path.get("backend") {
                backend(cx, b);
            }
        }
    }
    Ingress {
        namespace: o.effective_namespace().to_owned(),
        name: o.name.to_owned(),
        backends,
    }
}

impl RulePort {
    /// The ports this entry allows on a destination whose containers declare `ports` (named
    /// ports resolve there; `None` for a destination outside the cluster, where a name
    /// resolves to nothing).
    pub fn on(&self, ports: Option<&[ContainerPort]>) -> PortSet {
        match &self.port {
            PortRef::Any => PortSet::all(),
            PortRef::Range(lo, hi) => PortSet::range(*lo, *hi),
            PortRef::Named(name) => ports
                .unwrap_or(&[])
                .iter()
                .filter(|c| c.name.as_deref() == Some(name) && c.protocol == self.protocol)
                .fold(PortSet::default(), |acc, c| {
                    acc.union(&PortSet::range(c.number, c.number))
                }),
        }
    }
}
