//! Learning an intent from a run: what the monitor saw the container do (executables, files
//! written and read, ports listened on, destinations), what the seccomp recorder saw it call,
//! and what the bundle's configuration says (user, no-new-privileges, capabilities, mounts),
//! turned into an [`Intent`]; several runs merged. Pure: the run itself (the monitor, the
//! recorder, runc, the smoke test) is driven by `rampart intent learn`.

use crate::doc::{
    AbsPath, Answers, Capability, Destination, Egress, Executable, FORMAT_VERSION, Files,
    ImageDigest, Intent, Kernel, Listen, Network, Peer, PortNumber, PortRange, Process, Protocol,
    Syscall,
};
use ipnet::IpNet;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::str::FromStr;

/// The rules the monitor runs while learning: one per kind of observation, every container,
/// the fields learning reads in their outputs.
pub const LEARN_RULES: &str = r#"
- rule: rampart learn exec
  desc: an executable run in a container
  condition: evt.type in (execve, execveat) and evt.dir = < and container.id != host
  output: exec %proc.exepath %proc.args %container.full_id %user.uid
  priority: INFO
- rule: rampart learn open
  desc: a file opened in a container
  condition: evt.type in (open, openat, openat2) and evt.dir = < and container.id != host and fd.num >= 0
  output: open %fd.name %evt.is_open_write %evt.is_open_read %container.full_id
  priority: INFO
- rule: rampart learn listen
  desc: a port listened on (TCP) or bound (UDP) in a container
  condition: ((evt.type = listen) or (evt.type = bind and fd.l4proto = udp)) and evt.dir = < and container.id != host and evt.res = SUCCESS
  output: listen %fd.sport %fd.l4proto %container.full_id
  priority: INFO
- rule: rampart learn connect
  desc: a connection from a container
  condition: evt.type = connect and evt.dir = < and fd.typechar in (4, 6) and container.id != host
  output: connect %fd.sip %fd.sport %fd.l4proto %container.full_id
  priority: INFO
"#;

/// Sensitive files never to be read, unless the workload read them while learning (Falco's
/// `sensitive_file_names` and the like).
pub const SENSITIVE: &[&str] = &[
    "/etc/shadow",
    "/etc/gshadow",
    "/etc/sudoers",
    "/etc/sudoers.d",
    "/etc/pam.conf",
    "/etc/security/pwquality.conf",
    "/root",
];

/// What was observed in one or more runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observations {
    /// Executables and the argument vectors each was run with.
    pub execs: BTreeMap<String, BTreeSet<Vec<String>>>,
    /// Files opened for writing.
    pub writes: BTreeSet<String>,
    /// Files opened for reading.
    pub reads: BTreeSet<String>,
    /// Ports listened on.
    pub listens: BTreeSet<(u16, Protocol)>,
    /// Destinations connected to.
    pub connects: BTreeSet<(IpAddr, u16, Protocol)>,
    /// System calls made.
    pub syscalls: BTreeSet<String>,
    /// Alerts of the learning rules read.
    pub events: usize,
}

fn field<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    v.get("output_fields").and_then(|f| f.get(name))
}

fn text<'a>(v: &'a Value, name: &str) -> Option<&'a str> {
    field(v, name).and_then(Value::as_str)
}

fn number(v: &Value, name: &str) -> Option<u64> {
    field(v, name).and_then(|x| {
        x.as_u64()
            .or_else(|| x.as_str().and_then(|s| s.parse().ok()))
    })
}

fn protocol(v: &Value) -> Protocol {
    match text(v, "fd.l4proto") {
        Some("udp") => Protocol::Udp,
        _ => Protocol::Tcp,
    }
}

fn yes(v: &Value, name: &str) -> bool {
    field(v, name).is_some_and(|x| x.as_bool() == Some(true) || x.as_str() == Some("true"))
}

impl Observations {
    /// Adds one alert line of the learning rules (Falco's JSON) if it is about `container`
    /// (its full id); whether it was.
    pub fn add_alert(&mut self, line: &str, container: &str) -> bool {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            return false;
        };
        if text(&v, "container.full_id") != Some(container) {
            return false;
        }
        let rule = v.get("rule").and_then(Value::as_str).unwrap_or("");
        match rule {
            "rampart learn exec" => {
                let Some(exe) = text(&v, "proc.exepath")
                    .filter(|e| e.starts_with('/') && !e.starts_with("/memfd:"))
                else {
                    return false;
                };
                let args: Vec<String> = text(&v, "proc.args")
                    .unwrap_or("")
                    .split(' ')
                    .filter(|a| !a.is_empty())
                    .map(str::to_owned)
                    .collect();
                self.execs.entry(exe.to_owned()).or_default().insert(args);
            }
            "rampart learn open" => {
                let Some(name) = text(&v, "fd.name").filter(|n| n.starts_with('/')) else {
                    return false;
                };
                if yes(&v, "evt.is_open_write") {
                    self.writes.insert(name.to_owned());
                }
                if yes(&v, "evt.is_open_read") {
                    self.reads.insert(name.to_owned());
                }
            }
            "rampart learn listen" => {
                let Some(port) = number(&v, "fd.sport").and_then(|p| u16::try_from(p).ok()) else {
                    return false;
                };
                self.listens.insert((port, protocol(&v)));
            }
            "rampart learn connect" => {
                let ip = text(&v, "fd.sip").and_then(|s| IpAddr::from_str(s).ok());
                let port = number(&v, "fd.sport").and_then(|p| u16::try_from(p).ok());
                let (Some(ip), Some(port)) = (ip, port) else {
                    return false;
                };
                self.connects.insert((ip, port, protocol(&v)));
            }
            _ => return false,
        }
        self.events += 1;
        true
    }
}

/// What the bundle (or the user) says, which a run does not show.
#[derive(Debug, Clone)]
pub struct Context {
    /// The image the run was of.
    pub image: ImageDigest,
    /// The process's user and group (the bundle's `process.user`).
    pub user: u32,
    pub group: u32,
    /// The bundle's `process.noNewPrivileges`.
    pub no_new_privileges: bool,
    /// The capabilities the workload needs (measured by experiment, or the bundle's set).
    pub capabilities: Vec<String>,
    /// Mount destinations of the bundle that are writable scratch space (tmpfs...).
    pub scratch_mounts: Vec<String>,
    /// Sensitive paths present in the root filesystem (candidates for `never-read`).
    pub sensitive_present: Vec<String>,
}

/// Trees of the runtime's own (device nodes, proc, sys): a write there is kept as the exact
/// path, never generalised to the tree.
const RUNTIME_TREES: &[&str] = &["/dev", "/proc", "/sys"];

fn beneath(path: &str, dir: &str) -> bool {
    dir == "/"
        || path == dir
        || path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// The writable paths a set of written files needs: the scratch mount they are beneath, the
/// exact file under the runtime's trees, else the file's directory.
fn writable_paths(writes: &BTreeSet<String>, scratch: &[String]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for w in writes {
        if let Some(m) = scratch
            .iter()
            .filter(|m| beneath(w, m))
            .max_by_key(|m| m.len())
        {
            out.insert(m.clone());
        } else if RUNTIME_TREES.iter().any(|t| beneath(w, t)) {
            out.insert(w.clone());
        } else {
            let dir = w
                .rsplit_once('/')
                .map_or("/", |(d, _)| if d.is_empty() { "/" } else { d });
            out.insert(dir.to_owned());
        }
    }
    // a path beneath another is covered by it
    let all: Vec<String> = out.iter().cloned().collect();
    out.retain(|p| !all.iter().any(|q| q != p && beneath(p, q)));
    out
}

fn abs(p: &str) -> Option<AbsPath> {
    AbsPath::from_str(p).ok()
}

/// The intent a run shows.
pub fn intent_from(obs: &Observations, ctx: &Context) -> Intent {
    let executables = obs
        .execs
        .iter()
        .filter_map(|(path, argvs)| {
            let path = abs(path)?;
            // one argument vector seen: it is the intent; several: any arguments
            let args = match argvs.iter().collect::<Vec<_>>().as_slice() {
                [one] => one
                    .iter()
                    .map(|a| crate::doc::ArgPattern::from_str(&escape_glob(a)).ok())
                    .collect::<Option<Vec<_>>>(),
                _ => None,
            };
            Some(Executable { path, args })
        })
        .collect();
    let writable: Vec<AbsPath> = writable_paths(&obs.writes, &ctx.scratch_mounts)
        .iter()
        .filter_map(|p| abs(p))
        .collect();
    let never_read: Vec<AbsPath> = ctx
        .sensitive_present
        .iter()
        .filter(|s| !obs.reads.iter().any(|r| beneath(r, s)))
        .filter(|s| !writable.iter().any(|w| w.covers(s)))
        .filter_map(|s| abs(s))
        .collect();
    let listen = obs
        .listens
        .iter()
        .filter_map(|(port, protocol)| {
            (*port > 0).then_some(Listen {
                port: PortNumber(*port),
                protocol: *protocol,
                from: None,
            })
        })
        .collect();
    let egress = obs
        .connects
        .iter()
        .filter(|(ip, port, _)| !ip.is_loopback() && *port != 53)
        .map(|(ip, port, protocol)| Egress {
            to: Destination::Peer(Peer::Cidr {
                cidr: IpNet::from(*ip),
                except: Vec::new(),
            }),
            ports: vec![PortRange {
                first: *port,
                last: *port,
            }],
            protocol: *protocol,
        })
        .collect();
    let syscalls: Vec<Syscall> = obs
        .syscalls
        .iter()
        .filter_map(|s| Syscall::from_str(s).ok())
        .collect();
    Intent {
        version: FORMAT_VERSION,
        image: ctx.image.clone(),
        name: None,
        process: Process {
            user: ctx.user,
            group: Some(ctx.group),
            no_new_privileges: ctx.no_new_privileges,
            executables,
        },
        files: Files {
            read_only_root: true,
            writable,
            never_read,
        },
        network: Network {
            listen,
            egress,
            cluster_dns: true,
        },
        kernel: Kernel {
            syscalls: (!syscalls.is_empty()).then_some(syscalls),
            seccomp: None,
            capabilities: ctx
                .capabilities
                .iter()
                .filter_map(|c| Capability::from_str(c).ok())
                .collect(),
        },
        runtime: None,
        answers: Answers::default(),
    }
}

/// An argument seen, as a pattern matching exactly it (`*`, `?` and `[` escaped as classes).
fn escape_glob(a: &str) -> String {
    let mut out = String::with_capacity(a.len());
    for c in a.chars() {
        match c {
            '*' | '?' | '[' => {
                out.push('[');
                out.push(c);
                out.push(']');
            }
            c => out.push(c),
        }
    }
    out
}

/// Two intents of one image joined (`--merge`): everything either allows; never-read only
/// what neither run read; an executable's arguments kept only when both runs agree.
pub fn merge(a: &Intent, b: &Intent) -> Intent {
    let mut out = a.clone();
    for e in &b.process.executables {
        match out
            .process
            .executables
            .iter_mut()
            .find(|x| x.path == e.path)
        {
            Some(x) if x.args != e.args => x.args = None,
            Some(_) => {}
            None => out.process.executables.push(e.clone()),
        }
    }
    out.process.executables.sort_by(|x, y| x.path.cmp(&y.path));
    let mut writable: BTreeSet<AbsPath> = a.files.writable.iter().cloned().collect();
    writable.extend(b.files.writable.iter().cloned());
    let all: Vec<AbsPath> = writable.iter().cloned().collect();
    writable.retain(|p| !all.iter().any(|q| q != p && q.covers(p.as_str())));
    out.files.writable = writable.into_iter().collect();
    out.files
        .never_read
        .retain(|p| b.files.never_read.contains(p));
    out.files
        .never_read
        .retain(|p| !out.files.writable.iter().any(|w| w.covers(p.as_str())));
    out.files.read_only_root = a.files.read_only_root && b.files.read_only_root;
    for l in &b.network.listen {
        if !out
            .network
            .listen
            .iter()
            .any(|x| x.port == l.port && x.protocol == l.protocol)
        {
            out.network.listen.push(l.clone());
        }
    }
    for e in &b.network.egress {
        if !out.network.egress.contains(e) {
            out.network.egress.push(e.clone());
        }
    }
    out.network.cluster_dns = a.network.cluster_dns || b.network.cluster_dns;
    out.kernel.syscalls = match (&a.kernel.syscalls, &b.kernel.syscalls) {
        (Some(x), Some(y)) => {
            let set: BTreeSet<Syscall> = x.iter().chain(y).cloned().collect();
            Some(set.into_iter().collect())
        }
        (x, y) => x.clone().or_else(|| y.clone()),
    };
    let caps: BTreeSet<Capability> = a
        .kernel
        .capabilities
        .iter()
        .chain(&b.kernel.capabilities)
        .cloned()
        .collect();
    out.kernel.capabilities = caps.into_iter().collect();
    out.process.no_new_privileges = a.process.no_new_privileges && b.process.no_new_privileges;
    out
}
