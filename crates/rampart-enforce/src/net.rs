//! Connections, datagrams and binds by CIDR, port and protocol: the cgroup `sock_addr` BPF
//! programs of `bpf/netguard.bpf.c`, attached to a container's cgroup v2 node.
//!
//! Six programs (`connect4`, `connect6`, `sendmsg4`, `sendmsg6`, `bind4`, `bind6`) run on every
//! such call of a process in the cgroup (or beneath it), before the call proceeds. A call that
//! no rule allows returns `EPERM` in enforce mode and goes through in audit mode; both are
//! counted ([`Counts`]) and reported ([`NetEvent`], from a ring buffer). IPv4-mapped IPv6
//! destinations are judged by the IPv4 rules. Protocols other than TCP and UDP (ICMP "ping"
//! sockets) match no rule. A bind to port 0 (an ephemeral port) is always allowed.
//!
//! Runc (1.1, hybrid cgroups) puts each container in a cgroup v2 node as well as the v1
//! controllers (`0::/<id>` in `/proc/<pid>/cgroup`, under `/sys/fs/cgroup/unified`): attach
//! between `runc create` and `runc start` so the entrypoint's first call is already checked.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};

use aya::maps::{Array, MapData, PerCpuArray, RingBuf};
use aya::programs::{CgroupAttachMode, CgroupSockAddr};
use aya::{Ebpf, EbpfLoader};
use serde::Serialize;

use crate::{Error, Mode, Policy, Protocol};

/// The compiled programs (scripts/build-bpf.sh netguard), 8-byte aligned as the ELF parser
/// wants.
#[repr(C, align(8))]
struct Aligned<T: ?Sized>(T);
static ALIGNED_OBJECT: &Aligned<[u8]> = &Aligned(*include_bytes!("../bpf/netguard.bpf.o"));
/// The committed BPF object.
pub static BPF_OBJECT: &[u8] = &ALIGNED_OBJECT.0;

/// The programs, by section function name.
pub const PROGRAMS: [&str; 6] = [
    "connect4", "connect6", "sendmsg4", "sendmsg6", "bind4", "bind6",
];

/// Capacity of the egress map (`MAX_EGRESS` in bpf/netguard.h).
pub const MAX_EGRESS: usize = 128;
/// Capacity of the listen map (`MAX_LISTEN`).
pub const MAX_LISTEN: usize = 64;

const RULE_BYTES: usize = 24;
const CONFIG_BYTES: usize = 16;
/// `struct event` in bpf/netguard.h.
pub const EVENT_BYTES: usize = 56;
const N_COUNTERS: u32 = 7;

/// Which hook saw a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Hook {
    /// connect(2) of an IPv4 socket
    Connect4,
    /// connect(2) of an IPv6 socket
    Connect6,
    /// sendmsg(2)/sendto(2) with a destination, IPv4
    Sendmsg4,
    /// the same, IPv6
    Sendmsg6,
    /// bind(2), IPv4
    Bind4,
    /// bind(2), IPv6
    Bind6,
}

/// What happened to the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// failed with EPERM (enforce mode)
    Denied,
    /// let through, would have been denied (audit mode)
    WouldDeny,
}

/// One denial or would-be denial.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct NetEvent {
    /// the caller's cgroup v2 id
    pub cgroup_id: u64,
    /// the caller's process id (host pid namespace)
    pub pid: u32,
    /// the caller's thread id
    pub tid: u32,
    /// its command name
    pub comm: String,
    /// the hook
    pub hook: Hook,
    /// denied or would be
    pub verdict: Verdict,
    /// TCP, UDP, or `None` for another protocol (its number in `protocol_number`)
    pub protocol: Option<Protocol>,
    /// the IP protocol number
    pub protocol_number: u8,
    /// the destination (connect, sendmsg) or local (bind) address
    pub addr: IpAddr,
    /// its port
    pub port: u16,
}

/// The programs' counters, summed over CPUs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Counts {
    /// connect/sendmsg calls a rule allowed
    pub connect_allowed: u64,
    /// connect/sendmsg calls denied (enforce)
    pub connect_denied: u64,
    /// connect/sendmsg calls that would have been denied (audit)
    pub connect_would_deny: u64,
    /// binds allowed
    pub bind_allowed: u64,
    /// binds denied (enforce)
    pub bind_denied: u64,
    /// binds that would have been denied (audit)
    pub bind_would_deny: u64,
    /// events the ring buffer had no room for (the counts above still include them)
    pub events_lost: u64,
}

/// The attached programs. Dropping it detaches them.
pub struct Handle {
    _bpf: Ebpf,
    cgroup: PathBuf,
    config: Array<MapData, [u8; CONFIG_BYTES]>,
    egress: Array<MapData, [u8; RULE_BYTES]>,
    listen: Array<MapData, [u8; RULE_BYTES]>,
    counters: PerCpuArray<MapData, u64>,
    events: RingBuf<MapData>,
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle")
            .field("cgroup", &self.cgroup)
            .finish()
    }
}

/// The error and its sources (aya's Display omits the errno of a failed system call).
fn bpf_err(what: &str, e: impl std::error::Error) -> Error {
    let mut msg = format!("{what}: {e}");
    let mut src = e.source();
    while let Some(s) = src {
        msg.push_str(&format!(": {s}"));
        src = s.source();
    }
    Error::Bpf(msg)
}

/// The cgroup v2 mount point (`/sys/fs/cgroup` on a unified host, `/sys/fs/cgroup/unified` on a
/// hybrid one), from this process's mountinfo.
pub fn cgroup2_mount() -> Result<PathBuf, Error> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").map_err(|e| Error::Io {
        path: "/proc/self/mountinfo".into(),
        source: e,
    })?;
    crate::files::mounts(&info)
        .into_iter()
        .find(|m| m.fstype == "cgroup2")
        .map(|m| m.point)
        .ok_or_else(|| Error::Cgroup("no cgroup2 filesystem is mounted".into()))
}

/// The cgroup v2 node (a directory) of process `pid`.
pub fn cgroup_of_pid(pid: u32) -> Result<PathBuf, Error> {
    let rel = crate::files::cgroup_line(pid)?;
    let dir = cgroup2_mount()?.join(rel.trim_start_matches('/'));
    if !dir.is_dir() {
        return Err(Error::Cgroup(format!("{}: not a directory", dir.display())));
    }
    Ok(dir)
}

fn encode_rule(
    family: u8,
    proto: u8,
    prefix: u8,
    ports: (u16, u16),
    addr: &[u8],
) -> [u8; RULE_BYTES] {
    let mut r = [0u8; RULE_BYTES];
    let head = [family, proto, prefix, 0];
    let lo = ports.0.to_ne_bytes();
    let hi = ports.1.to_ne_bytes();
    for (dst, src) in r
        .iter_mut()
        .zip(head.iter().chain(&lo).chain(&hi).chain(addr.iter()))
    {
        *dst = *src;
    }
    r
}

fn egress_rules(policy: &Policy) -> Result<Vec<[u8; RULE_BYTES]>, Error> {
    if policy.egress.len() > MAX_EGRESS {
        return Err(Error::TooManyRules {
            what: "egress",
            count: policy.egress.len(),
            max: MAX_EGRESS,
        });
    }
    Ok(policy
        .egress
        .iter()
        .map(|e| {
            let ports = e.ports.unwrap_or((0, u16::MAX));
            match e.net {
                ipnet::IpNet::V4(n) => encode_rule(
                    2,
                    e.protocol.number(),
                    n.prefix_len(),
                    ports,
                    &n.network().octets(),
                ),
                ipnet::IpNet::V6(n) => encode_rule(
                    10,
                    e.protocol.number(),
                    n.prefix_len(),
                    ports,
                    &n.network().octets(),
                ),
            }
        })
        .collect())
}

fn listen_rules(policy: &Policy) -> Result<Vec<[u8; RULE_BYTES]>, Error> {
    if policy.listen.len() > MAX_LISTEN {
        return Err(Error::TooManyRules {
            what: "listen",
            count: policy.listen.len(),
            max: MAX_LISTEN,
        });
    }
    Ok(policy
        .listen
        .iter()
        .map(|l| encode_rule(0, l.protocol.number(), 0, (l.port, l.port), &[]))
        .collect())
}

fn encode_config(mode: Mode, n_egress: usize, n_listen: usize) -> [u8; CONFIG_BYTES] {
    let mode: u32 = match mode {
        Mode::Audit => 0,
        Mode::Enforce => 1,
    };
    let mut c = [0u8; CONFIG_BYTES];
    let words = [mode, n_egress as u32, n_listen as u32, 0];
    for (chunk, w) in c.chunks_mut(4).zip(words) {
        chunk.copy_from_slice(&w.to_ne_bytes());
    }
    c
}

/// Loads the programs, fills their maps from `policy` and attaches them to `cgroup` (a cgroup
/// v2 directory; [`cgroup_of_pid`] finds a container's), through BPF links. Other programs
/// attached there keep running: a call must pass all of them.
pub fn attach(cgroup: &Path, policy: &Policy) -> Result<Handle, Error> {
    let egress = egress_rules(policy)?;
    let listen = listen_rules(policy)?;
    let cg = std::fs::File::open(cgroup).map_err(|e| Error::Io {
        path: cgroup.to_path_buf(),
        source: e,
    })?;
    let mut bpf = EbpfLoader::new()
        .load(BPF_OBJECT)
        .map_err(|e| bpf_err("load object", e))?;
    let take = |bpf: &mut Ebpf, name: &str| {
        bpf.take_map(name)
            .ok_or_else(|| Error::Bpf(format!("map {name} missing from the object")))
    };
    let mut config: Array<MapData, [u8; CONFIG_BYTES]> =
        Array::try_from(take(&mut bpf, "config")?).map_err(|e| bpf_err("config map", e))?;
    let mut egress_map: Array<MapData, [u8; RULE_BYTES]> =
        Array::try_from(take(&mut bpf, "egress")?).map_err(|e| bpf_err("egress map", e))?;
    let mut listen_map: Array<MapData, [u8; RULE_BYTES]> =
        Array::try_from(take(&mut bpf, "listen")?).map_err(|e| bpf_err("listen map", e))?;
    let counters: PerCpuArray<MapData, u64> = PerCpuArray::try_from(take(&mut bpf, "counters")?)
        .map_err(|e| bpf_err("counters map", e))?;
    let events =
        RingBuf::try_from(take(&mut bpf, "events")?).map_err(|e| bpf_err("events map", e))?;
    for (i, r) in egress.iter().enumerate() {
        egress_map
            .set(i as u32, r, 0)
            .map_err(|e| bpf_err("egress rule", e))?;
    }
    for (i, r) in listen.iter().enumerate() {
        listen_map
            .set(i as u32, r, 0)
            .map_err(|e| bpf_err("listen rule", e))?;
    }
    config
        .set(0, encode_config(policy.mode, egress.len(), listen.len()), 0)
        .map_err(|e| bpf_err("config", e))?;
    for name in PROGRAMS {
        let prog: &mut CgroupSockAddr = bpf
            .program_mut(name)
            .ok_or_else(|| Error::Bpf(format!("program {name} missing from the object")))?
            .try_into()
            .map_err(|e| bpf_err(name, e))?;
        prog.load().map_err(|e| bpf_err(name, e))?;
        // through a BPF link (Linux 5.7+): links always coexist with the cgroup's other
        // programs, and the kernel refuses (EINVAL) attach flags on them, so `Single` (no
        // flag) is what works here, multi-attach included
        prog.attach(&cg, CgroupAttachMode::Single)
            .map_err(|e| bpf_err(&format!("attach {name} to {}", cgroup.display()), e))?;
    }
    Ok(Handle {
        _bpf: bpf,
        cgroup: cgroup.to_path_buf(),
        config,
        egress: egress_map,
        listen: listen_map,
        counters,
        events,
    })
}

impl Handle {
    /// The cgroup the programs are attached to.
    pub fn cgroup(&self) -> &Path {
        &self.cgroup
    }

    /// Replaces the rules and mode (audit to enforce, for example) without detaching: the rule
    /// counts shrink before and grow after the rules are written, so no call sees a half-written
    /// rule.
    pub fn update(&mut self, policy: &Policy) -> Result<(), Error> {
        let egress = egress_rules(policy)?;
        let listen = listen_rules(policy)?;
        self.config
            .set(0, encode_config(policy.mode, 0, 0), 0)
            .map_err(|e| bpf_err("config", e))?;
        for (i, r) in egress.iter().enumerate() {
            self.egress
                .set(i as u32, r, 0)
                .map_err(|e| bpf_err("egress rule", e))?;
        }
        for (i, r) in listen.iter().enumerate() {
            self.listen
                .set(i as u32, r, 0)
                .map_err(|e| bpf_err("listen rule", e))?;
        }
        self.config
            .set(0, encode_config(policy.mode, egress.len(), listen.len()), 0)
            .map_err(|e| bpf_err("config", e))
    }

    /// The counters, summed over CPUs.
    pub fn counts(&self) -> Result<Counts, Error> {
        let mut v = [0u64; N_COUNTERS as usize];
        for (i, slot) in (0..N_COUNTERS).zip(v.iter_mut()) {
            let per_cpu = self
                .counters
                .get(&i, 0)
                .map_err(|e| bpf_err("counters", e))?;
            *slot = per_cpu.iter().sum();
        }
        let [
            connect_allowed,
            connect_denied,
            connect_would_deny,
            bind_allowed,
            bind_denied,
            bind_would_deny,
            events_lost,
        ] = v;
        Ok(Counts {
            connect_allowed,
            connect_denied,
            connect_would_deny,
            bind_allowed,
            bind_denied,
            bind_would_deny,
            events_lost,
        })
    }

    /// The events reported since the last call (never blocks; poll [`Handle::events_fd`] to
    /// wait).
    pub fn events(&mut self) -> Vec<NetEvent> {
        let mut out = Vec::new();
        while let Some(item) = self.events.next() {
            if let Some(e) = decode_event(&item) {
                out.push(e);
            }
        }
        out
    }

    /// The ring buffer's descriptor: readable (poll) when events wait.
    pub fn events_fd(&self) -> RawFd {
        self.events.as_raw_fd()
    }
}

fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(off..off + 2)?.try_into().ok()?))
}
fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(off..off + 4)?.try_into().ok()?))
}

/// Decodes one `struct event`.
pub fn decode_event(b: &[u8]) -> Option<NetEvent> {
    if b.len() < EVENT_BYTES {
        return None;
    }
    let cgroup_id = u64::from_ne_bytes(b.get(0..8)?.try_into().ok()?);
    let hook = match b.get(16)? {
        1 => Hook::Connect4,
        2 => Hook::Connect6,
        3 => Hook::Sendmsg4,
        4 => Hook::Sendmsg6,
        5 => Hook::Bind4,
        6 => Hook::Bind6,
        _ => return None,
    };
    let verdict = match b.get(17)? {
        1 => Verdict::Denied,
        2 => Verdict::WouldDeny,
        _ => return None,
    };
    let family = *b.get(18)?;
    let protocol_number = *b.get(19)?;
    let raw: [u8; 16] = b.get(24..40)?.try_into().ok()?;
    let addr = if family == 2 {
        let v4: [u8; 4] = raw.get(0..4)?.try_into().ok()?;
        IpAddr::V4(Ipv4Addr::from(v4))
    } else {
        IpAddr::V6(Ipv6Addr::from(raw))
    };
    let comm = b.get(40..56)?;
    let end = comm.iter().position(|&c| c == 0).unwrap_or(comm.len());
    Some(NetEvent {
        cgroup_id,
        pid: u32_at(b, 8)?,
        tid: u32_at(b, 12)?,
        comm: String::from_utf8_lossy(comm.get(..end)?).into_owned(),
        hook,
        verdict,
        protocol: match protocol_number {
            6 => Some(Protocol::Tcp),
            17 => Some(Protocol::Udp),
            _ => None,
        },
        protocol_number,
        addr,
        port: u16_at(b, 20)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Egress;

    #[test]
    fn rules_encode_as_the_c_struct() {
        let p = Policy {
            mode: Mode::Enforce,
            exec: vec![],
            writable: vec![],
            never_read: vec![],
            egress: vec![Egress {
                net: "10.1.2.0/24".parse().unwrap(),
                ports: Some((80, 443)),
                protocol: Protocol::Tcp,
            }],
            listen: vec![],
        };
        let r = egress_rules(&p).unwrap();
        let r = r.first().unwrap();
        assert_eq!(&r[..4], &[2, 6, 24, 0]);
        assert_eq!(u16_at(r, 4), Some(80));
        assert_eq!(u16_at(r, 6), Some(443));
        assert_eq!(&r[8..12], &[10, 1, 2, 0]);
        let c = encode_config(Mode::Enforce, 1, 0);
        assert_eq!(u32_at(&c, 0), Some(1));
        assert_eq!(u32_at(&c, 4), Some(1));
    }

    #[test]
    fn events_decode() {
        let mut b = vec![0u8; EVENT_BYTES];
        b[..8].copy_from_slice(&7u64.to_ne_bytes());
        b[8..12].copy_from_slice(&42u32.to_ne_bytes());
        b[16] = 1;
        b[17] = 1;
        b[18] = 2;
        b[19] = 6;
        b[20..22].copy_from_slice(&9090u16.to_ne_bytes());
        b[24..28].copy_from_slice(&[127, 0, 0, 2]);
        b[40..42].copy_from_slice(b"nc");
        let e = decode_event(&b).unwrap();
        assert_eq!(e.addr, "127.0.0.2".parse::<IpAddr>().unwrap());
        assert_eq!((e.port, e.pid, e.cgroup_id), (9090, 42, 7));
        assert_eq!(e.comm, "nc");
        assert_eq!(e.protocol, Some(Protocol::Tcp));
        assert!(decode_event(&b[..10]).is_none());
    }
}
