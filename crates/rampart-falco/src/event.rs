//! The event model Falco rules are evaluated on: one owned [`Event`] per kernel event, carrying
//! what Falco's syscall fields read (the event itself, the thread and its process, the ancestor
//! chain, the file descriptor, the container and the Kubernetes pod).
//!
//! Everything that may be unknown is an `Option` (or an empty collection): an unknown field
//! evaluates as Falco evaluates a field it cannot extract (every comparison on it is false,
//! `exists` is false, outputs print `<NA>`).

use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

/// Direction of a syscall event: Falco's `evt.dir` (`>` enter, `<` exit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dir {
    /// `>`: the call is entered.
    Enter,
    /// `<`: the call returned (the default: rampart's sensor emits exit events).
    #[default]
    Exit,
}

/// One kernel event, owned.
#[derive(Debug, Clone, Default)]
pub struct Event {
    /// `evt.num`: a sequence number.
    pub num: u64,
    /// `evt.time`: nanoseconds since the Unix epoch.
    pub time_ns: u64,
    /// `evt.type`: the syscall (or Falco event) name, e.g. `execve`, `openat`, `connect`.
    pub evt_type: Cow<'static, str>,
    /// `evt.dir`.
    pub dir: Dir,
    /// `evt.rawres`: the return value when known (`evt.res` is `SUCCESS` or the errno name).
    pub res: Option<i64>,
    /// `evt.arg.NAME` and `evt.arg[N]`: the arguments in Falco's order and rendering
    /// (e.g. `flags` = `O_RDONLY|O_CLOEXEC`, see [`open_flags_str`]; `request` = `PTRACE_ATTACH`).
    pub args: Vec<(Cow<'static, str>, String)>,
    /// Raw `open` flags (Linux `O_*` bits) for `evt.is_open_read/write/exec`; `None` when the
    /// event is not an open.
    pub open_flags: Option<u32>,
    /// `evt.buffer`: the I/O buffer when captured.
    pub buffer: Option<Vec<u8>>,
    /// `evt.hostname`.
    pub hostname: Option<Arc<str>>,
    /// The calling process and thread.
    /// Shared with the monitor's process table (and its string caches with every event of the
    /// process): building an event never copies a process.
    pub proc: Arc<Process>,
    /// Ancestors, parent first (`proc.pname` = `ancestors[0].name`, `proc.aname[N]` =
    /// `ancestors[N-1].name`).
    pub ancestors: Vec<Arc<Process>>,
    /// The file descriptor the event is about, when it has one.
    pub fd: Option<Fd>,
    /// The container; `None` for a host process (`container.id` = `host`). Shared: the
    /// monitor builds it once per container, not per event.
    pub container: Option<Arc<Container>>,
    /// The Kubernetes pod of the container, when known.
    pub k8s: Option<Arc<K8s>>,
}

/// A process (or the calling thread's process), as `proc.*`, `thread.*`, `user.*` and `group.*`
/// read it. Ancestors use the same struct; for them only the `proc.*` facts matter.
#[derive(Debug, Clone, Default)]
pub struct Process {
    /// `proc.pid` (host pid namespace).
    pub pid: i64,
    /// `proc.vpid` (the pid seen inside the container's pid namespace); `None` when unknown.
    pub vpid: Option<i64>,
    /// `thread.tid`; `None` means same as `pid`.
    pub tid: Option<i64>,
    /// `proc.name`: the kernel's `comm` (at most 15 bytes), as Falco reports it.
    pub name: String,
    /// `proc.exe`: argv[0] as given.
    pub exe: String,
    /// `proc.exepath`: the full executable path, from the kernel.
    pub exepath: String,
    /// `proc.args`: argv[1..].
    pub args: Vec<String>,
    /// `proc.cwd`.
    pub cwd: Option<String>,
    /// `proc.tty`: the controlling terminal device number, 0 when none.
    pub tty: u32,
    /// `proc.sid`.
    pub sid: Option<i64>,
    /// `proc.vpgid`.
    pub vpgid: Option<i64>,
    /// `proc.start_ts`... (process start, ns since the epoch).
    pub start_ns: Option<u64>,
    /// `proc.env`: `NAME=value` strings when known.
    pub env: Option<Vec<String>>,
    /// `user.uid`.
    pub uid: Option<u32>,
    /// `group.gid`.
    pub gid: Option<u32>,
    /// `user.loginuid`: -1 when unset.
    pub loginuid: Option<i64>,
    /// `user.name`.
    pub user_name: Option<String>,
    /// `user.loginname`.
    pub login_name: Option<String>,
    /// `group.name`.
    pub group_name: Option<String>,
    /// `thread.cap_effective` (bit N = capability N).
    pub cap_effective: Option<u64>,
    /// `thread.cap_permitted`.
    pub cap_permitted: Option<u64>,
    /// `thread.cap_inheritable`.
    pub cap_inheritable: Option<u64>,
    /// `proc.is_exe_upper_layer`: the executable lives in the container's writable layer.
    pub is_exe_upper_layer: Option<bool>,
    /// `proc.is_exe_from_memfd`.
    pub is_exe_from_memfd: Option<bool>,
    /// `proc.is_exe_writable`: the executable is writable by the process's user.
    pub is_exe_writable: Option<bool>,
    /// `proc.exe_ino`: the executable's inode number.
    pub exe_ino: Option<u64>,
    /// `proc.is_container_healthcheck`.
    pub is_container_healthcheck: Option<bool>,
    /// `proc.is_container_liveness_probe`.
    pub is_container_liveness_probe: Option<bool>,
    /// `proc.is_container_readiness_probe`.
    pub is_container_readiness_probe: Option<bool>,
    /// `proc.exe_ino.ctime` (ns since the epoch).
    pub exe_ino_ctime: Option<u64>,
    /// `proc.exe_ino.mtime` (ns since the epoch).
    pub exe_ino_mtime: Option<u64>,
    /// Caches of rendered strings (`proc.args`, `proc.cmdline`, capability names), filled on
    /// first read and never per evaluation: fill the process before evaluating, and build a new
    /// `Process` (or `ProcCache::default()`) rather than changing `args` or capabilities after.
    #[doc(hidden)]
    pub cache: ProcCache,
}

/// Strings computed once per process on first use.
#[derive(Debug, Clone, Default)]
pub struct ProcCache {
    pub(crate) args: OnceLock<String>,
    pub(crate) cmdline: OnceLock<String>,
    pub(crate) cap_e: OnceLock<String>,
    pub(crate) cap_p: OnceLock<String>,
    pub(crate) cap_i: OnceLock<String>,
}

impl Process {
    /// `proc.args`: the arguments joined by spaces.
    pub fn args_str(&self) -> &str {
        self.cache.args.get_or_init(|| self.args.join(" "))
    }
    /// `proc.cmdline`: `proc.name` then the arguments, as Falco prints it.
    pub fn cmdline(&self) -> &str {
        self.cache.cmdline.get_or_init(|| {
            let mut s = self.name.clone();
            for a in &self.args {
                s.push(' ');
                s.push_str(a);
            }
            s
        })
    }
    pub(crate) fn caps_str(&self, which: u8) -> Option<&str> {
        let (bits, cell) = match which {
            0 => (self.cap_effective?, &self.cache.cap_e),
            1 => (self.cap_permitted?, &self.cache.cap_p),
            _ => (self.cap_inheritable?, &self.cache.cap_i),
        };
        Some(cell.get_or_init(|| caps_to_string(bits)))
    }
}

/// Kinds of file descriptor, as `fd.type` and `fd.typechar` name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FdKind {
    /// A regular file (`file`, `f`).
    #[default]
    File,
    /// A directory (`directory`, `d`).
    Directory,
    /// An IPv4 socket (`ipv4`, `4`).
    Ipv4,
    /// An IPv6 socket (`ipv6`, `6`).
    Ipv6,
    /// A unix socket (`unix`, `u`).
    Unix,
    /// A pipe (`pipe`, `p`).
    Pipe,
    /// An eventfd (`event`, `e`).
    Event,
    /// A signalfd (`signalfd`, `s`).
    Signalfd,
    /// An epoll fd (`eventpoll`, `l`).
    Eventpoll,
    /// An inotify fd (`inotify`, `i`).
    Inotify,
    /// A timerfd (`timerfd`, `t`).
    Timerfd,
    /// A netlink socket (`netlink`, `n`).
    Netlink,
    /// A BPF object (`bpf`, `b`).
    Bpf,
    /// A userfaultfd (`userfaultfd`, `u`).
    Userfaultfd,
    /// An io_uring (`io_uring`, `r`).
    IoUring,
    /// A memfd (`memfd`, `m`).
    Memfd,
    /// A pidfd (`pidfd`, `P`).
    Pidfd,
}

impl FdKind {
    /// `fd.type`.
    pub fn type_name(self) -> &'static str {
        match self {
            FdKind::File => "file",
            FdKind::Directory => "directory",
            FdKind::Ipv4 => "ipv4",
            FdKind::Ipv6 => "ipv6",
            FdKind::Unix => "unix",
            FdKind::Pipe => "pipe",
            FdKind::Event => "event",
            FdKind::Signalfd => "signalfd",
            FdKind::Eventpoll => "eventpoll",
            FdKind::Inotify => "inotify",
            FdKind::Timerfd => "timerfd",
            FdKind::Netlink => "netlink",
            FdKind::Bpf => "bpf",
            FdKind::Userfaultfd => "userfaultfd",
            FdKind::IoUring => "io_uring",
            FdKind::Memfd => "memfd",
            FdKind::Pidfd => "pidfd",
        }
    }
    /// `fd.typechar`.
    pub fn type_char(self) -> &'static str {
        match self {
            FdKind::File => "f",
            FdKind::Directory => "d",
            FdKind::Ipv4 => "4",
            FdKind::Ipv6 => "6",
            FdKind::Unix => "u",
            FdKind::Pipe => "p",
            FdKind::Event => "e",
            FdKind::Signalfd => "s",
            FdKind::Eventpoll => "l",
            FdKind::Inotify => "i",
            FdKind::Timerfd => "t",
            FdKind::Netlink => "n",
            FdKind::Bpf => "b",
            FdKind::Userfaultfd => "u",
            FdKind::IoUring => "r",
            FdKind::Memfd => "m",
            FdKind::Pidfd => "P",
        }
    }
    fn is_ip(self) -> bool {
        matches!(self, FdKind::Ipv4 | FdKind::Ipv6)
    }
}

/// Layer-4 protocol of a socket (`fd.l4proto`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum L4Proto {
    /// `tcp`.
    Tcp,
    /// `udp`.
    Udp,
    /// `icmp`.
    Icmp,
    /// `raw`.
    Raw,
}

impl L4Proto {
    /// Falco's name.
    pub fn name(self) -> &'static str {
        match self {
            L4Proto::Tcp => "tcp",
            L4Proto::Udp => "udp",
            L4Proto::Icmp => "icmp",
            L4Proto::Raw => "raw",
        }
    }
}

/// A file descriptor. For sockets, the connection is described client → server as Falco does
/// (`fd.cip`/`fd.cport` the client, `fd.sip`/`fd.sport` the server); `is_server` says which end
/// the process is, so `fd.lip`/`fd.rip`/`fd.lport`/`fd.rport` follow.
#[derive(Debug, Clone, Default)]
pub struct Fd {
    /// `fd.num`.
    pub num: i64,
    /// `fd.type`, `fd.typechar`.
    pub kind: FdKind,
    /// `fd.name`: the path for files; for IP sockets Falco's `cip:cport->sip:sport` (build it
    /// with [`Fd::ip_socket`]); for unix sockets the path.
    pub name: String,
    /// `fd.nameraw` when it differs from `fd.name`.
    pub name_raw: Option<String>,
    /// Client address and port.
    pub client: Option<(IpAddr, u16)>,
    /// Server address and port.
    pub server: Option<(IpAddr, u16)>,
    /// `fd.l4proto`.
    pub l4proto: Option<L4Proto>,
    /// The process is the server end (accept/listen) rather than the client (connect).
    pub is_server: bool,
    /// `fd.connected`.
    pub connected: Option<bool>,
    /// `fd.name_changed`.
    pub name_changed: Option<bool>,
    /// `fd.sip.name`: the DNS name the server address was resolved from, when known.
    pub sip_name: Option<String>,
    /// `fd.cip.name`.
    pub cip_name: Option<String>,
}

impl Fd {
    /// An IP socket fd with Falco's name `cip:cport->sip:sport`.
    pub fn ip_socket(
        num: i64,
        client: (IpAddr, u16),
        server: (IpAddr, u16),
        l4: L4Proto,
        is_server: bool,
    ) -> Fd {
        let kind = if client.0.is_ipv6() || server.0.is_ipv6() {
            FdKind::Ipv6
        } else {
            FdKind::Ipv4
        };
        let fmt = |(ip, port): (IpAddr, u16)| match ip {
            IpAddr::V4(a) => format!("{a}:{port}"),
            IpAddr::V6(a) => format!("{a}:{port}"),
        };
        Fd {
            num,
            kind,
            name: format!("{}->{}", fmt(client), fmt(server)),
            client: Some(client),
            server: Some(server),
            l4proto: Some(l4),
            is_server,
            connected: Some(true),
            ..Fd::default()
        }
    }
    /// A file fd.
    pub fn file(num: i64, path: &str) -> Fd {
        Fd {
            num,
            kind: FdKind::File,
            name: path.to_owned(),
            ..Fd::default()
        }
    }
    pub(crate) fn is_ip(&self) -> bool {
        self.kind.is_ip()
    }
    pub(crate) fn local(&self) -> Option<(IpAddr, u16)> {
        if self.is_server {
            self.server
        } else {
            self.client
        }
    }
    pub(crate) fn remote(&self) -> Option<(IpAddr, u16)> {
        if self.is_server {
            self.client
        } else {
            self.server
        }
    }
}

/// A container mount (`container.mounts`, `container.mount.dest[...]`).
#[derive(Debug, Clone, Default)]
pub struct Mount {
    /// Host path.
    pub source: String,
    /// Path in the container.
    pub dest: String,
    /// Mount mode (`rw`, `ro`...).
    pub mode: String,
    /// Read-write.
    pub rw: bool,
    /// Propagation.
    pub propagation: String,
}

/// A container (`container.*`).
#[derive(Debug, Clone, Default)]
pub struct Container {
    /// `container.id`: the 12-character short id, as Falco prints it.
    pub id: String,
    /// `container.full_id`.
    pub full_id: Option<String>,
    /// `container.name`.
    pub name: Option<String>,
    /// `container.image`: the reference as given (`repo:tag`).
    pub image: Option<String>,
    /// `container.image.repository`.
    pub image_repository: Option<String>,
    /// `container.image.tag`.
    pub image_tag: Option<String>,
    /// `container.image.digest`.
    pub image_digest: Option<String>,
    /// `container.type` (`docker`, `containerd`, `cri-o`, `podman`, `runc`...).
    pub runtime: Option<String>,
    /// `container.privileged`.
    pub privileged: Option<bool>,
    /// `container.start_ts` (ns since the epoch).
    pub start_ns: Option<u64>,
    /// `container.mounts`, when known.
    pub mounts: Option<Vec<Mount>>,
}

/// The Kubernetes pod of a container (`k8s.*`).
#[derive(Debug, Clone, Default)]
pub struct K8s {
    /// `k8s.ns.name`.
    pub namespace: Option<String>,
    /// `k8s.pod.name`.
    pub pod_name: Option<String>,
    /// `k8s.pod.uid`.
    pub pod_uid: Option<String>,
    /// `k8s.pod.labels` as `key:value`.
    pub pod_labels: Vec<(String, String)>,
    /// Container name in the pod spec (`k8s.container.name`... shown as `container.name` by CRI).
    pub container_name: Option<String>,
}

impl Event {
    /// `evt.arg.NAME`.
    pub fn arg(&self, name: &str) -> Option<&str> {
        self.args
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    /// Sets (or replaces) `evt.arg.NAME`.
    pub fn set_arg(&mut self, name: impl Into<Cow<'static, str>>, value: impl Into<String>) {
        let name = name.into();
        let value = value.into();
        match self.args.iter_mut().find(|(k, _)| *k == name) {
            Some(slot) => slot.1 = value,
            None => self.args.push((name, value)),
        }
    }
    pub(crate) fn ancestor(&self, n: usize) -> Option<&Process> {
        if n == 0 {
            Some(&self.proc)
        } else {
            self.ancestors.get(n - 1).map(|p| &**p)
        }
    }
}

/// Linux capability names by bit, as Falco prints them.
pub const CAP_NAMES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// The bit of a capability name (`CAP_SYS_ADMIN` → 21).
pub fn cap_bit(name: &str) -> Option<u32> {
    CAP_NAMES
        .iter()
        .position(|n| *n == name)
        .and_then(|p| u32::try_from(p).ok())
}

/// A capability set as Falco prints it: names separated by spaces, in bit order.
pub fn caps_to_string(bits: u64) -> String {
    let mut s = String::new();
    for (i, name) in CAP_NAMES.iter().enumerate() {
        if bits & (1u64 << i) != 0 {
            if !s.is_empty() {
                s.push(' ');
            }
            s.push_str(name);
        }
    }
    s
}

/// The `open` flags `evt.arg.flags` names, with their Linux bits (the access mode apart).
pub const OPEN_FLAG_NAMES: [(u32, &str); 12] = [
    (0o100, "O_CREAT"),
    (0o200, "O_EXCL"),
    (0o400, "O_NOCTTY"),
    (0o1000, "O_TRUNC"),
    (0o2000, "O_APPEND"),
    (0o4000, "O_NONBLOCK"),
    (0o10000, "O_DSYNC"),
    (0o40000, "O_DIRECT"),
    (0o100000, "O_LARGEFILE"),
    (0o200000, "O_DIRECTORY"),
    (0o2000000, "O_CLOEXEC"),
    (0o10000000, "O_PATH"),
];

/// Linux `open` flags rendered as Falco renders `evt.arg.flags` (`O_RDONLY|O_CLOEXEC`).
pub fn open_flags_str(raw: u32) -> String {
    let mut parts: Vec<&str> = Vec::new();
    match raw & 0o3 {
        0 => parts.push("O_RDONLY"),
        1 => parts.push("O_WRONLY"),
        _ => parts.push("O_RDWR"),
    }
    for (bit, name) in OPEN_FLAG_NAMES {
        if raw & bit != 0 {
            parts.push(name);
        }
    }
    if raw & 0o20200000 == 0o20200000 {
        parts.retain(|p| *p != "O_DIRECTORY");
        parts.push("O_TMPFILE");
    }
    parts.join("|")
}

/// Linux errno names by number (`evt.res` for a failed call).
pub fn errno_name(errno: i64) -> Option<&'static str> {
    const NAMES: [&str; 41] = [
        "SUCCESS",
        "EPERM",
        "ENOENT",
        "ESRCH",
        "EINTR",
        "EIO",
        "ENXIO",
        "E2BIG",
        "ENOEXEC",
        "EBADF",
        "ECHILD",
        "EAGAIN",
        "ENOMEM",
        "EACCES",
        "EFAULT",
        "ENOTBLK",
        "EBUSY",
        "EEXIST",
        "EXDEV",
        "ENODEV",
        "ENOTDIR",
        "EISDIR",
        "EINVAL",
        "ENFILE",
        "EMFILE",
        "ENOTTY",
        "ETXTBSY",
        "EFBIG",
        "ENOSPC",
        "ESPIPE",
        "EROFS",
        "EMLINK",
        "EPIPE",
        "EDOM",
        "ERANGE",
        "EDEADLK",
        "ENAMETOOLONG",
        "ENOLCK",
        "ENOSYS",
        "ENOTEMPTY",
        "ELOOP",
    ];
    match errno {
        95 => Some("EOPNOTSUPP"),
        97 => Some("EAFNOSUPPORT"),
        98 => Some("EADDRINUSE"),
        99 => Some("EADDRNOTAVAIL"),
        101 => Some("ENETUNREACH"),
        104 => Some("ECONNRESET"),
        110 => Some("ETIMEDOUT"),
        111 => Some("ECONNREFUSED"),
        113 => Some("EHOSTUNREACH"),
        115 => Some("EINPROGRESS"),
        n => usize::try_from(n).ok().and_then(|i| NAMES.get(i)).copied(),
    }
}

/// `ptrace` requests as Falco renders `evt.arg.request`.
pub fn ptrace_request_name(req: u64) -> Option<&'static str> {
    Some(match req {
        0 => "PTRACE_TRACEME",
        1 => "PTRACE_PEEKTEXT",
        2 => "PTRACE_PEEKDATA",
        3 => "PTRACE_PEEKUSR",
        4 => "PTRACE_POKETEXT",
        5 => "PTRACE_POKEDATA",
        6 => "PTRACE_POKEUSR",
        7 => "PTRACE_CONT",
        8 => "PTRACE_KILL",
        9 => "PTRACE_SINGLESTEP",
        12 => "PTRACE_GETREGS",
        13 => "PTRACE_SETREGS",
        14 => "PTRACE_GETFPREGS",
        15 => "PTRACE_SETFPREGS",
        16 => "PTRACE_ATTACH",
        17 => "PTRACE_DETACH",
        24 => "PTRACE_SYSCALL",
        0x4200 => "PTRACE_SETOPTIONS",
        0x4201 => "PTRACE_GETEVENTMSG",
        0x4202 => "PTRACE_GETSIGINFO",
        0x4203 => "PTRACE_SETSIGINFO",
        0x4204 => "PTRACE_GETREGSET",
        0x4205 => "PTRACE_SETREGSET",
        0x4206 => "PTRACE_SEIZE",
        0x4207 => "PTRACE_INTERRUPT",
        0x4208 => "PTRACE_LISTEN",
        _ => return None,
    })
}

/// Falco's names of the socket address families (`socket_families` in libscap's flag tables;
/// Linux's `AF_*` values): `socket`'s `domain` renders as one of these.
const SOCKET_FAMILIES: &[&str] = &[
    "AF_UNSPEC",
    "AF_UNIX",
    "AF_INET",
    "AF_AX25",
    "AF_IPX",
    "AF_APPLETALK",
    "AF_NETROM",
    "AF_BRIDGE",
    "AF_ATMPVC",
    "AF_X25",
    "AF_INET6",
    "AF_ROSE",
    "AF_DECnet",
    "AF_NETBEUI",
    "AF_SECURITY",
    "AF_KEY",
    "AF_NETLINK",
    "AF_PACKET",
    "AF_ASH",
    "AF_ECONET",
    "AF_ATMSVC",
    "AF_RDS",
    "AF_SNA",
    "AF_IRDA",
    "AF_PPPOX",
    "AF_WANPIPE",
    "AF_LLC",
    "AF_IB",
    "AF_MPLS",
    "AF_CAN",
    "AF_TIPC",
    "AF_BLUETOOTH",
    "AF_IUCV",
    "AF_RXRPC",
    "AF_ISDN",
    "AF_PHONET",
    "AF_IEEE802154",
    "AF_CAIF",
    "AF_ALG",
    "AF_NFC",
    "AF_VSOCK",
    "AF_KCM",
    "AF_QIPCRTR",
    "AF_SMC",
    "AF_XDP",
    "AF_MCTP",
];

/// Socket address families as Falco renders `evt.arg.domain` (`AF_PACKET`).
pub fn socket_domain_name(domain: u32) -> Option<&'static str> {
    usize::try_from(domain)
        .ok()
        .and_then(|i| SOCKET_FAMILIES.get(i))
        .copied()
}

/// `clone`/`unshare`/`setns` namespace flags as Falco renders `evt.arg.flags`
/// (`CLONE_NEWNS|CLONE_NEWUSER`).
pub fn clone_flags_str(raw: u64) -> String {
    const BITS: [(u64, &str); 20] = [
        (0x0000_0100, "CLONE_VM"),
        (0x0000_0200, "CLONE_FS"),
        (0x0000_0400, "CLONE_FILES"),
        (0x0000_0800, "CLONE_SIGHAND"),
        (0x0000_1000, "CLONE_PIDFD"),
        (0x0000_2000, "CLONE_PTRACE"),
        (0x0000_4000, "CLONE_VFORK"),
        (0x0000_8000, "CLONE_PARENT"),
        (0x0001_0000, "CLONE_THREAD"),
        (0x0002_0000, "CLONE_NEWNS"),
        (0x0004_0000, "CLONE_SYSVSEM"),
        (0x0008_0000, "CLONE_SETTLS"),
        (0x0200_0000, "CLONE_NEWCGROUP"),
        (0x0400_0000, "CLONE_NEWUTS"),
        (0x0800_0000, "CLONE_NEWIPC"),
        (0x1000_0000, "CLONE_NEWUSER"),
        (0x2000_0000, "CLONE_NEWPID"),
        (0x4000_0000, "CLONE_NEWNET"),
        (0x8000_0000, "CLONE_IO"),
        (0x0000_0080, "CLONE_NEWTIME"),
    ];
    let parts: Vec<&str> = BITS
        .iter()
        .filter(|(b, _)| raw & b != 0)
        .map(|(_, n)| *n)
        .collect();
    if parts.is_empty() {
        "0".to_owned()
    } else {
        parts.join("|")
    }
}
