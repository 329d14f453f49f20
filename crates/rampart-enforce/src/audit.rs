//! Landlock's denials as events: the kernel's audit records (Linux 6.15+, Landlock ABI 7),
//! read from the audit netlink socket's read-only multicast group (`AUDIT_NLGRP_READLOG`, as
//! `journald` reads them), so no audit daemon is displaced.
//!
//! Records come only while audit is enabled (`audit_enabled`, `auditctl -e 1`); [`enable`]
//! turns it on (a system-wide switch; with no audit daemon registered, the kernel also prints
//! the records to its log). Landlock writes, per denied access:
//! - `AUDIT_LANDLOCK_ACCESS` (1423): `domain=<id> blockers=<rights> path=... dev=... ino=...`
//!   (or `daddr=`/`dest=` for TCP);
//! - `AUDIT_LANDLOCK_DOMAIN` (1424), once per domain on its first denial: `status=allocated
//!   mode=enforcing pid=... uid=... exe=... comm=...`, and when the domain is freed:
//!   `status=deallocated denials=<n>`, the kernel's own count.

use std::collections::BTreeMap;
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use nix::sys::socket::{
    AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol, SockType, bind, recv, sendto,
    setsockopt, socket, sockopt,
};
use nix::sys::time::TimeVal;
use serde::Serialize;

use crate::Error;

const AUDIT_GET: u16 = 1000;
const AUDIT_SET: u16 = 1001;
const AUDIT_STATUS_ENABLED: u32 = 1;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_ACK: u16 = 4;
const NLMSG_ERROR: u16 = 2;
/// `AUDIT_NLGRP_READLOG`: the read-only multicast group (needs CAP_AUDIT_READ).
const AUDIT_NLGRP_READLOG: u32 = 1;
/// Landlock's record types (include/uapi/linux/audit.h).
pub const AUDIT_LANDLOCK_ACCESS: u16 = 1423;
/// The domain record.
pub const AUDIT_LANDLOCK_DOMAIN: u16 = 1424;

fn err(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Audit(format!("{what}: {e}"))
}

fn request_socket() -> Result<OwnedFd, Error> {
    let fd = socket(
        AddressFamily::Netlink,
        SockType::Raw,
        SockFlag::SOCK_CLOEXEC,
        SockProtocol::NetlinkAudit,
    )
    .map_err(|e| err("socket", e))?;
    bind(fd.as_raw_fd(), &NetlinkAddr::new(0, 0)).map_err(|e| err("bind", e))?;
    setsockopt(&fd, sockopt::ReceiveTimeout, &TimeVal::new(2, 0)).map_err(|e| err("timeout", e))?;
    Ok(fd)
}

fn message(kind: u16, flags: u16, payload: &[u8]) -> Vec<u8> {
    let len = (16 + payload.len()) as u32;
    let mut m = Vec::with_capacity(len as usize);
    m.extend_from_slice(&len.to_ne_bytes());
    m.extend_from_slice(&kind.to_ne_bytes());
    m.extend_from_slice(&flags.to_ne_bytes());
    m.extend_from_slice(&1u32.to_ne_bytes());
    m.extend_from_slice(&0u32.to_ne_bytes());
    m.extend_from_slice(payload);
    m
}

/// Whether audit is enabled (`AUDIT_GET`).
pub fn enabled() -> Result<bool, Error> {
    let fd = request_socket()?;
    sendto(
        fd.as_raw_fd(),
        &message(AUDIT_GET, NLM_F_REQUEST, &[]),
        &NetlinkAddr::new(0, 0),
        MsgFlags::empty(),
    )
    .map_err(|e| err("AUDIT_GET", e))?;
    let mut buf = vec![0u8; 8192];
    for _ in 0..4 {
        let n = recv(fd.as_raw_fd(), &mut buf, MsgFlags::empty()).map_err(|e| err("recv", e))?;
        let msg = buf.get(..n).unwrap_or_default();
        let Some(kind) = msg
            .get(4..6)
            .and_then(|b| b.try_into().ok())
            .map(u16::from_ne_bytes)
        else {
            continue;
        };
        if kind == AUDIT_GET {
            // struct audit_status { u32 mask; u32 enabled; ... }
            let enabled = msg
                .get(20..24)
                .and_then(|b| b.try_into().ok())
                .map(u32::from_ne_bytes)
                .ok_or_else(|| Error::Audit("short AUDIT_GET reply".into()))?;
            return Ok(enabled != 0);
        }
    }
    Err(Error::Audit("no AUDIT_GET reply".into()))
}

/// Enables audit (`AUDIT_SET` enabled=1) when it is off; returns whether it changed anything.
pub fn enable() -> Result<bool, Error> {
    if enabled()? {
        return Ok(false);
    }
    let fd = request_socket()?;
    // struct audit_status: mask, enabled, then 7 more u32 (unused here) and two more
    let mut status = [0u8; 40];
    status[..4].copy_from_slice(&AUDIT_STATUS_ENABLED.to_ne_bytes());
    status[4..8].copy_from_slice(&1u32.to_ne_bytes());
    sendto(
        fd.as_raw_fd(),
        &message(AUDIT_SET, NLM_F_REQUEST | NLM_F_ACK, &status),
        &NetlinkAddr::new(0, 0),
        MsgFlags::empty(),
    )
    .map_err(|e| err("AUDIT_SET", e))?;
    let mut buf = vec![0u8; 8192];
    let n = recv(fd.as_raw_fd(), &mut buf, MsgFlags::empty()).map_err(|e| err("recv", e))?;
    let msg = buf.get(..n).unwrap_or_default();
    let kind = msg
        .get(4..6)
        .and_then(|b| b.try_into().ok())
        .map(u16::from_ne_bytes);
    let code = msg
        .get(16..20)
        .and_then(|b| b.try_into().ok())
        .map(i32::from_ne_bytes);
    if kind == Some(NLMSG_ERROR) && code != Some(0) {
        return Err(Error::Audit(format!(
            "AUDIT_SET refused: errno {}",
            -code.unwrap_or(0)
        )));
    }
    Ok(true)
}

/// One audit record: its type and text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Record {
    /// the record type (1423, 1424 for Landlock)
    pub kind: u16,
    /// the text after the type (`audit(<time>:<serial>): key=value ...`)
    pub text: String,
}

impl Record {
    /// The value of `key=` (unquoted when quoted; hex-encoded values are left as they are).
    pub fn field(&self, key: &str) -> Option<&str> {
        let pat = format!(" {key}=");
        let start = self.text.find(&pat)? + pat.len();
        let rest = self.text.get(start..)?;
        if let Some(q) = rest.strip_prefix('"') {
            return q.split('"').next();
        }
        rest.split(' ').next()
    }

    /// The audit serial number (`audit(<sec>.<ms>:<serial>)`): the records of one event share it.
    pub fn serial(&self) -> Option<u64> {
        let s = self.text.split_once(':')?.1;
        s.split(')').next()?.parse().ok()
    }
}

/// A Landlock denial.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Denial {
    /// the Landlock domain (hex id)
    pub domain: String,
    /// the denied rights (`fs.execute`, `fs.write_file`, `fs.read_file`, `net.connect_tcp`...)
    pub blockers: Vec<String>,
    /// the file, when a file access was denied
    pub path: Option<String>,
    /// the TCP port, when a network access was denied
    pub port: Option<u16>,
    /// the process that created the domain (`landlock_restrict_self`: the guard, the
    /// container's init, host pid), from the domain's allocation record
    pub domain_pid: Option<u32>,
    /// the denied process (from the event's SYSCALL record)
    pub pid: Option<u32>,
    /// its command name
    pub comm: Option<String>,
    /// its executable
    pub exe: Option<String>,
    /// the system call number
    pub syscall: Option<u32>,
    /// what it returned (-13: EACCES)
    pub exit: Option<i64>,
    /// the record's text
    pub raw: String,
}

/// Reads audit records from the multicast group.
#[derive(Debug)]
pub struct Reader {
    fd: OwnedFd,
    /// Landlock denials seen, by blocker
    counts: BTreeMap<String, u64>,
    /// times the socket overflowed (ENOBUFS: records were dropped)
    overflows: u64,
}

impl Reader {
    /// Joins the read-only audit multicast group (CAP_AUDIT_READ).
    pub fn open() -> Result<Self, Error> {
        let fd = socket(
            AddressFamily::Netlink,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC,
            SockProtocol::NetlinkAudit,
        )
        .map_err(|e| err("socket", e))?;
        bind(
            fd.as_raw_fd(),
            &NetlinkAddr::new(0, 1 << (AUDIT_NLGRP_READLOG - 1)),
        )
        .map_err(|e| err("bind to the readlog group", e))?;
        setsockopt(&fd, sockopt::ReceiveTimeout, &TimeVal::new(0, 100_000))
            .map_err(|e| err("timeout", e))?;
        // room for bursts (the kernel caps it at net.core.rmem_max)
        let _ = setsockopt(&fd, sockopt::RcvBuf, &(4 << 20));
        Ok(Self {
            fd,
            counts: BTreeMap::new(),
            overflows: 0,
        })
    }

    /// The records that arrive within `wait`.
    pub fn records(&mut self, wait: Duration) -> Vec<Record> {
        let deadline = Instant::now() + wait;
        let mut out = Vec::new();
        let mut buf = vec![0u8; 16384];
        while Instant::now() < deadline {
            let n = match recv(self.fd.as_raw_fd(), &mut buf, MsgFlags::empty()) {
                Ok(n) => n,
                Err(nix::errno::Errno::ENOBUFS) => {
                    self.overflows += 1;
                    continue;
                }
                // the receive timeout (EAGAIN), a signal: wait on
                Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EINTR) => continue,
                Err(_) => break,
            };
            let mut msg = buf.get(..n).unwrap_or_default();
            // a datagram may hold several netlink messages
            while msg.len() >= 16 {
                let len = msg
                    .get(..4)
                    .and_then(|b| b.try_into().ok())
                    .map_or(0, u32::from_ne_bytes) as usize;
                let kind = msg
                    .get(4..6)
                    .and_then(|b| b.try_into().ok())
                    .map_or(0, u16::from_ne_bytes);
                let len = len.clamp(16, msg.len());
                let body = msg.get(16..len).unwrap_or_default();
                let end = body.iter().position(|&b| b == 0).unwrap_or(body.len());
                let text =
                    String::from_utf8_lossy(body.get(..end).unwrap_or_default()).into_owned();
                let r = Record { kind, text };
                if r.kind == AUDIT_LANDLOCK_ACCESS {
                    for b in denial(&r).blockers {
                        *self.counts.entry(b).or_default() += 1;
                    }
                }
                out.push(r);
                msg = msg.get((len + 3) & !3..).unwrap_or_default();
            }
        }
        out
    }

    /// Landlock denials seen so far, by blocker (`fs.execute`: 2...).
    pub fn counts(&self) -> &BTreeMap<String, u64> {
        &self.counts
    }

    /// How many times the socket overflowed and the kernel dropped records for this reader
    /// (counted, never silent).
    pub fn overflows(&self) -> u64 {
        self.overflows
    }
}

/// `AUDIT_SYSCALL`: the system call of an event (with its process).
pub const AUDIT_SYSCALL: u16 = 1300;

/// The denial an `AUDIT_LANDLOCK_ACCESS` record describes (without its process: see
/// [`denials`]).
pub fn denial(r: &Record) -> Denial {
    Denial {
        domain_pid: None,
        pid: None,
        comm: None,
        exe: None,
        syscall: None,
        exit: None,
        domain: r.field("domain").unwrap_or_default().into(),
        blockers: r
            .field("blockers")
            .map(|b| b.split(',').map(str::to_owned).collect())
            .unwrap_or_default(),
        path: r.field("path").map(|v| untrusted(&r.text, "path", v)),
        port: r.field("dest").and_then(|p| p.parse().ok()),
        raw: r.text.clone(),
    }
}

/// A string the kernel logged with `audit_log_untrustedstring`: quoted when plain, hex-encoded
/// (unquoted) when it holds a space, a quote or a control or non-ASCII byte.
fn untrusted(text: &str, key: &str, value: &str) -> String {
    let quoted = text.contains(&format!(" {key}=\""));
    if quoted || value.len() % 2 != 0 || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
        return value.to_owned();
    }
    let bytes: Option<Vec<u8>> = (0..value.len())
        .step_by(2)
        .map(|i| {
            value
                .get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect();
    bytes.map_or_else(
        || value.to_owned(),
        |b| String::from_utf8_lossy(&b).into_owned(),
    )
}

/// The Landlock denials among `records`, each joined with the `AUDIT_SYSCALL` record of the
/// same event (same serial) for the process and the system call, and with its domain's
/// allocation record for the domain's creator (which tells one container's denials from
/// another's: the guard is the container's init).
pub fn denials(records: &[Record]) -> Vec<Denial> {
    let creators: BTreeMap<&str, u32> = records
        .iter()
        .filter(|r| r.kind == AUDIT_LANDLOCK_DOMAIN && r.field("status") == Some("allocated"))
        .filter_map(|r| Some((r.field("domain")?, r.field("pid")?.parse().ok()?)))
        .collect();
    records
        .iter()
        .filter(|r| r.kind == AUDIT_LANDLOCK_ACCESS)
        .map(|r| {
            let mut d = denial(r);
            d.domain_pid = creators.get(d.domain.as_str()).copied();
            let serial = r.serial();
            if let Some(sc) = records
                .iter()
                .find(|s| s.kind == AUDIT_SYSCALL && s.serial() == serial)
            {
                d.pid = sc.field("pid").and_then(|v| v.parse().ok());
                d.comm = sc.field("comm").map(str::to_owned);
                d.exe = sc.field("exe").map(str::to_owned);
                d.syscall = sc.field("syscall").and_then(|v| v.parse().ok());
                d.exit = sc.field("exit").and_then(|v| v.parse().ok());
            }
            d
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // the records of one denial as this kernel (6.18) wrote them
    fn rec(kind: u16, text: &str) -> Record {
        Record {
            kind,
            text: text.into(),
        }
    }

    #[test]
    fn a_denial_is_joined_with_its_syscall_record() {
        let rs = [
            rec(
                1424,
                r#"audit(1796551928.764:2): domain=1dc9f633e status=allocated mode=enforcing pid=16729 uid=0 exe="/work/wt/enforce/target/debug/rampart-guard" comm="rampart-guard""#,
            ),
            rec(
                1423,
                r#"audit(1796551928.772:4): domain=1dc9f633e blockers=fs.read_file path="/etc/shadow" dev="vda" ino=737"#,
            ),
            rec(
                1300,
                r#"audit(1796551928.772:4): arch=c000003e syscall=257 success=no exit=-13 a0=ffffff9c a1=7ffde1b27ac8 a2=0 a3=0 items=0 ppid=16729 pid=16733 auid=4294967295 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=4294967295 comm="cat" exe="/usr/bin/cat" key=(null)"#,
            ),
            rec(
                1424,
                r#"audit(1796551928.836:5): domain=1dc9f633e status=deallocated denials=3"#,
            ),
        ];
        let d = denials(&rs);
        assert_eq!(d.len(), 1);
        let d = d.first().unwrap();
        assert_eq!(d.blockers, vec!["fs.read_file"]);
        assert_eq!(d.path.as_deref(), Some("/etc/shadow"));
        assert_eq!(d.pid, Some(16733));
        assert_eq!(d.domain_pid, Some(16729));
        assert_eq!(d.comm.as_deref(), Some("cat"));
        assert_eq!(d.exit, Some(-13));
        assert_eq!(d.syscall, Some(257));
        assert_eq!(rs.get(3).unwrap().field("denials"), Some("3"));
        // a path with a space is hex-encoded by the kernel
        let r = rec(
            1423,
            "audit(1.2:9): domain=1 blockers=fs.read_file path=2F746D702F612062 dev=\"vda\" ino=1",
        );
        assert_eq!(denial(&r).path.as_deref(), Some("/tmp/a b"));
    }
}
