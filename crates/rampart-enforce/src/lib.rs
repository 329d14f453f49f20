//! Kernel enforcement of an image's intent (issue 15, point 4), with what this kernel loads.
//!
//! BPF LSM and fentry programs are refused on these machines (docs/monitor-sensor.md, "Program
//! types"), so the intent is enforced by three mechanisms that are available, each synchronous
//! (the offending system call fails in the offending process):
//!
//! - **fanotify permission events** ([`files`]): the monitor's file guard, from outside the
//!   container: exec outside the allow-list, opens for write outside the writable paths, reads
//!   of never-read paths fail with EPERM. The rules are the same [`landlock::Plan`], computed
//!   from the container's root seen from the host ([`root`]).
//! - **Landlock** ([`landlock`]): exec outside the allow-list, writes outside the writable paths,
//!   reads of never-read paths, TCP binds and connects on ports outside the intent. Landlock only
//!   restricts the calling process and its future children, so a guard launcher
//!   (`rampart-guard`, [`bundle`] puts it into a runc bundle) applies it as the container's first
//!   process, then execs the real entrypoint. Denials are Landlock audit records ([`audit`]).
//! - **cgroup sock_addr BPF programs** ([`net`]): connect, unconnected sendmsg and bind of IPv4 and
//!   IPv6 sockets, by CIDR, port and protocol (TCP and UDP), attached to the container's cgroup
//!   v2 node; denials fail with EPERM and are reported on a ring buffer with per-verdict counters.
//!
//! Audit mode ([`Mode::Audit`]): the BPF programs let everything through and report what they
//! would have denied; Landlock has no permissive mode, so the guard applies nothing to files and
//! [`landlock::Plan::would_deny`] (the same rules the kernel would apply) judges the monitor's exec
//! and open events instead. See docs/enforce.md.

pub mod audit;
pub mod bundle;
pub mod elf;
pub mod event;
pub mod files;
pub mod landlock;
pub mod net;
pub mod root;

use std::net::IpAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Enforce (deny) or audit (only report) the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// nothing is denied; what would have been denied is reported and counted
    Audit,
    /// violations fail with EACCES (Landlock) or EPERM (cgroup programs) and are reported
    Enforce,
}

/// A transport protocol of a network rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Protocol {
    /// TCP (IPPROTO_TCP)
    Tcp,
    /// UDP (IPPROTO_UDP)
    Udp,
}

impl Protocol {
    /// The IP protocol number.
    pub fn number(self) -> u8 {
        match self {
            Self::Tcp => 6,
            Self::Udp => 17,
        }
    }
}

/// An allowed destination: a network, an optional inclusive port range (all ports when absent)
/// and a protocol.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Egress {
    /// the destination network (`10.0.0.0/8`, `2001:db8::/32`, `192.0.2.1/32`)
    pub net: ipnet::IpNet,
    /// first and last allowed port; `None` allows every port
    #[serde(default)]
    pub ports: Option<(u16, u16)>,
    /// the transport protocol
    pub protocol: Protocol,
}

impl Egress {
    /// Whether this rule allows `addr:port` over `protocol` (IPv4-mapped IPv6 addresses are
    /// judged as IPv4, as the BPF program does).
    pub fn allows(&self, addr: IpAddr, port: u16, protocol: Protocol) -> bool {
        let addr = match addr {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
            v4 => v4,
        };
        self.protocol == protocol
            && self.net.contains(&addr)
            && self.ports.is_none_or(|(lo, hi)| lo <= port && port <= hi)
    }
}

/// A local port the workload may bind (listen on, or send from for UDP).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Listen {
    /// the port
    pub port: u16,
    /// the transport protocol
    pub protocol: Protocol,
}

/// What the kernel enforces for one container: plain data, produced by the intent compiler.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Policy {
    /// enforce or only audit
    pub mode: Mode,
    /// absolute paths inside the container that may be executed: files, or directories
    /// (everything beneath). The ELF interpreters and `#!` interpreters they need are added.
    pub exec: Vec<PathBuf>,
    /// writing, creating, removing and renaming are allowed beneath these
    #[serde(default)]
    pub writable: Vec<PathBuf>,
    /// reading these (files, or everything beneath a directory) is denied
    #[serde(default)]
    pub never_read: Vec<PathBuf>,
    /// allowed destinations of connect and sendmsg
    #[serde(default)]
    pub egress: Vec<Egress>,
    /// allowed local ports of bind
    #[serde(default)]
    pub listen: Vec<Listen>,
}

/// The largest policy file the guard reads.
pub const MAX_POLICY_BYTES: u64 = 1 << 20;

impl Policy {
    /// Parses a policy from JSON (unknown fields rejected).
    pub fn from_json(bytes: &[u8]) -> Result<Self, Error> {
        if bytes.len() as u64 > MAX_POLICY_BYTES {
            return Err(Error::PolicyTooLarge(bytes.len()));
        }
        serde_json::from_slice(bytes).map_err(Error::PolicyJson)
    }

    /// Whether an outgoing connection (or datagram) to `addr:port` is allowed.
    pub fn allows_egress(&self, addr: IpAddr, port: u16, protocol: Protocol) -> bool {
        self.egress.iter().any(|e| e.allows(addr, port, protocol))
    }

    /// Whether binding local `port` is allowed (port 0, an ephemeral port, always is).
    pub fn allows_bind(&self, port: u16, protocol: Protocol) -> bool {
        port == 0
            || self
                .listen
                .iter()
                .any(|l| l.port == port && l.protocol == protocol)
    }
}

/// What can go wrong enforcing a policy.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// the policy is not valid JSON of the expected shape
    #[error("policy: {0}")]
    PolicyJson(#[source] serde_json::Error),
    /// the policy file is larger than [`MAX_POLICY_BYTES`]
    #[error("policy: {0} bytes, more than the 1 MiB accepted")]
    PolicyTooLarge(usize),
    /// a path of the policy is not absolute
    #[error("policy: {0} is not an absolute path")]
    RelativePath(PathBuf),
    /// reading or writing a file
    #[error("{path}: {source}")]
    Io {
        /// the file
        path: PathBuf,
        /// what failed
        #[source]
        source: std::io::Error,
    },
    /// the kernel has no Landlock (not built, or not in the active LSM list)
    #[error("landlock is not available on this kernel ({0})")]
    LandlockUnavailable(String),
    /// building or applying the Landlock ruleset failed
    #[error("landlock: {0}")]
    Landlock(#[from] ::landlock::RulesetError),
    /// the policy holds more network rules than the BPF maps
    #[error("policy: {what}: {count} rules, the BPF maps hold {max}")]
    TooManyRules {
        /// egress or listen
        what: &'static str,
        /// how many the policy has
        count: usize,
        /// the capacity
        max: usize,
    },
    /// loading or attaching the BPF programs, or a map operation
    #[error("bpf: {0}")]
    Bpf(String),
    /// the container's cgroup v2 node cannot be found
    #[error("cgroup: {0}")]
    Cgroup(String),
    /// the OCI bundle's config.json is not what was expected
    #[error("bundle: {0}")]
    Bundle(String),
    /// the fanotify group of the file guard
    #[error("fanotify: {0}")]
    Fanotify(String),
    /// the audit netlink socket
    #[error("audit netlink: {0}")]
    Audit(String),
}
