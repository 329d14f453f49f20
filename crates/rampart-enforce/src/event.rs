//! One shape for the denials of both mechanisms: what the monitor's pipeline, the CLI and the
//! castle test's matrix consume ("blocked by Landlock", "blocked by the connection guard").

use serde::Serialize;

use crate::Protocol;
use crate::audit::Denial;
use crate::net::{Hook, NetEvent, Verdict as NetVerdict};

/// Which mechanism judged the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mechanism {
    /// the guard's Landlock ruleset
    Landlock,
    /// the cgroup sock_addr programs
    CgroupBpf,
    /// the monitor's file guard (fanotify permission events)
    Fanotify,
}

/// What the process tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// execute a file
    Exec,
    /// write, create, remove, rename or truncate
    Write,
    /// read a file or list a directory
    Read,
    /// connect (TCP or UDP)
    Connect,
    /// send a datagram to an address
    Send,
    /// bind a local port
    Bind,
    /// another Landlock right (device ioctl, scopes)
    Other,
}

/// Denied, or would have been.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// the call failed (EACCES from Landlock, EPERM from the cgroup programs and the file guard)
    Denied,
    /// audit mode: the call went through
    WouldDeny,
}

/// A denial, from either mechanism.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Event {
    /// who judged
    pub mechanism: Mechanism,
    /// what was tried
    pub action: Action,
    /// denied or would be
    pub outcome: Outcome,
    /// the file (`/usr/bin/x`) or the address and port (`10.0.0.1:443`, `[::1]:53`, or
    /// `:9090` for a Landlock TCP port)
    pub target: String,
    /// TCP or UDP, for network actions
    pub protocol: Option<Protocol>,
    /// the process (host pid namespace), when known
    pub pid: Option<u32>,
    /// its command name, when known
    pub comm: Option<String>,
}

/// The action a Landlock blocker (`fs.execute`, `net.connect_tcp`...) denies.
pub fn action_of_blocker(blocker: &str) -> Action {
    match blocker {
        "fs.execute" => Action::Exec,
        "fs.read_file" | "fs.read_dir" => Action::Read,
        "fs.write_file" | "fs.remove_dir" | "fs.remove_file" | "fs.make_char" | "fs.make_dir"
        | "fs.make_reg" | "fs.make_sock" | "fs.make_fifo" | "fs.make_block" | "fs.make_sym"
        | "fs.refer" | "fs.truncate" => Action::Write,
        "net.bind_tcp" => Action::Bind,
        "net.connect_tcp" => Action::Connect,
        _ => Action::Other,
    }
}

impl From<&NetEvent> for Event {
    fn from(e: &NetEvent) -> Self {
        let action = match e.hook {
            Hook::Connect4 | Hook::Connect6 => Action::Connect,
            Hook::Sendmsg4 | Hook::Sendmsg6 => Action::Send,
            Hook::Bind4 | Hook::Bind6 => Action::Bind,
        };
        Self {
            mechanism: Mechanism::CgroupBpf,
            action,
            outcome: match e.verdict {
                NetVerdict::Denied => Outcome::Denied,
                NetVerdict::WouldDeny => Outcome::WouldDeny,
            },
            target: std::net::SocketAddr::new(e.addr, e.port).to_string(),
            protocol: e.protocol,
            pid: Some(e.pid),
            comm: Some(e.comm.clone()),
        }
    }
}

/// The events of one Landlock denial: one per blocker (a rename can be denied two rights).
pub fn from_denial(d: &Denial) -> Vec<Event> {
    d.blockers
        .iter()
        .map(|b| {
            let action = action_of_blocker(b);
            Event {
                mechanism: Mechanism::Landlock,
                action,
                outcome: Outcome::Denied,
                target: match (&d.path, d.port) {
                    (Some(p), _) => p.clone(),
                    (None, Some(port)) => format!(":{port}"),
                    (None, None) => String::new(),
                },
                protocol: b.starts_with("net.").then_some(Protocol::Tcp),
                pid: d.pid,
                comm: d.comm.clone(),
            }
        })
        .collect()
}

/// Events counted by mechanism, action and outcome.
pub fn count(events: &[Event]) -> std::collections::BTreeMap<(Mechanism, Action, Outcome), u64> {
    let mut m = std::collections::BTreeMap::new();
    for e in events {
        *m.entry((e.mechanism, e.action, e.outcome)).or_default() += 1;
    }
    m
}
