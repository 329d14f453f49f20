//! The events of the sensor, decoded from the ring buffer's bytes by bounds-checked reads at
//! the offsets of `bpf/sensor.h` (never a cast of the untrusted bytes to a struct).

use std::net::IpAddr;

/// Why a record from the ring buffer could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// shorter than its layout
    #[error("event of type {kind} is {len} bytes, shorter than its {need}-byte layout")]
    Short {
        /// the event type number
        kind: u32,
        /// bytes received
        len: usize,
        /// bytes the layout needs
        need: usize,
    },
    /// a type number this version does not know
    #[error("unknown event type {0}")]
    UnknownType(u32),
}

/// The kinds of event, the bit numbers of the in-kernel enabled and held masks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[repr(u32)]
pub enum EventKind {
    /// execve / execveat (after the point of no return)
    Exec = 1,
    /// fork / clone / vfork of a new process (threads are not reported)
    Fork = 2,
    /// a process (thread group leader) exits
    Exit = 3,
    /// a file is opened
    Open = 4,
    /// unlink, unlinkat, rmdir
    Unlink = 5,
    /// mkdir, mkdirat
    Mkdir = 6,
    /// rename, renameat, renameat2
    Rename = 7,
    /// chmod, fchmod, fchmodat
    Chmod = 8,
    /// link, linkat
    Link = 9,
    /// symlink, symlinkat
    Symlink = 10,
    /// connect
    Connect = 11,
    /// accept, accept4
    Accept = 12,
    /// bind
    Bind = 13,
    /// listen
    Listen = 14,
    /// sendto, sendmsg
    Send = 15,
    /// setuid, setreuid, setresuid
    Setuid = 16,
    /// setgid, setregid, setresgid
    Setgid = 17,
    /// capset
    Capset = 18,
    /// ptrace
    Ptrace = 19,
    /// mount
    Mount = 20,
    /// umount2
    Umount = 21,
    /// init_module, finit_module
    Module = 22,
    /// bpf
    Bpf = 23,
    /// unshare
    Unshare = 24,
    /// setns
    Setns = 25,
    /// memfd_create
    MemfdCreate = 26,
    /// dup, dup2, dup3
    Dup = 27,
    /// socket (the caller's domain, type and protocol; the new descriptor)
    Socket = 28,
    /// userfaultfd
    Userfaultfd = 29,
    /// recvfrom, recvmsg that received data on a non-TCP IP socket (UDP): the sender and the
    /// first 16 bytes (recvfrom)
    Recv = 30,
}

impl EventKind {
    /// Every kind, in type-number order.
    pub const ALL: [EventKind; 30] = [
        EventKind::Exec,
        EventKind::Fork,
        EventKind::Exit,
        EventKind::Open,
        EventKind::Unlink,
        EventKind::Mkdir,
        EventKind::Rename,
        EventKind::Chmod,
        EventKind::Link,
        EventKind::Symlink,
        EventKind::Connect,
        EventKind::Accept,
        EventKind::Bind,
        EventKind::Listen,
        EventKind::Send,
        EventKind::Setuid,
        EventKind::Setgid,
        EventKind::Capset,
        EventKind::Ptrace,
        EventKind::Mount,
        EventKind::Umount,
        EventKind::Module,
        EventKind::Bpf,
        EventKind::Unshare,
        EventKind::Setns,
        EventKind::MemfdCreate,
        EventKind::Dup,
        EventKind::Socket,
        EventKind::Userfaultfd,
        EventKind::Recv,
    ];

    /// The type number on the wire (and the bit in the masks).
    pub fn number(self) -> u32 {
        self as u32
    }

    /// The kind of a type number.
    pub fn from_number(n: u32) -> Option<EventKind> {
        EventKind::ALL.iter().copied().find(|k| k.number() == n)
    }

    /// A stable lowercase name (metrics labels, logs).
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Exec => "exec",
            EventKind::Fork => "fork",
            EventKind::Exit => "exit",
            EventKind::Open => "open",
            EventKind::Unlink => "unlink",
            EventKind::Mkdir => "mkdir",
            EventKind::Rename => "rename",
            EventKind::Chmod => "chmod",
            EventKind::Link => "link",
            EventKind::Symlink => "symlink",
            EventKind::Connect => "connect",
            EventKind::Accept => "accept",
            EventKind::Bind => "bind",
            EventKind::Listen => "listen",
            EventKind::Send => "send",
            EventKind::Setuid => "setuid",
            EventKind::Setgid => "setgid",
            EventKind::Capset => "capset",
            EventKind::Ptrace => "ptrace",
            EventKind::Mount => "mount",
            EventKind::Umount => "umount",
            EventKind::Module => "module",
            EventKind::Bpf => "bpf",
            EventKind::Unshare => "unshare",
            EventKind::Setns => "setns",
            EventKind::MemfdCreate => "memfd_create",
            EventKind::Dup => "dup",
            EventKind::Socket => "socket",
            EventKind::Userfaultfd => "userfaultfd",
            EventKind::Recv => "recv",
        }
    }

    /// A mask with the bits of these kinds.
    pub fn mask(kinds: &[EventKind]) -> u64 {
        kinds.iter().fold(0, |m, k| m | (1u64 << k.number()))
    }
}

/// Header flag: the task was sent SIGSTOP and will stop before running user code again.
pub const FLAG_HELD: u32 = 1;
/// Header flag: the task was sent SIGKILL by the kernel's kill list.
pub const FLAG_KILLED: u32 = 2;
/// Header flag: a string or path was cut at its bound.
pub const FLAG_TRUNCATED: u32 = 4;
/// Header flag: the kernel could not resolve a path.
pub const FLAG_PATH_ERROR: u32 = 8;

/// What every event carries: who did it, when, in which cgroup and mount namespace.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Header {
    /// the event's kind
    pub kind: EventKind,
    /// `FLAG_*` bits
    pub flags: u32,
    /// `CLOCK_BOOTTIME` nanoseconds (see `Sensor::wall_clock_ns`)
    pub boot_ns: u64,
    /// thread id
    pub tid: u32,
    /// process id (thread group id)
    pub pid: u32,
    /// the parent's process id
    pub ppid: u32,
    /// real user id
    pub uid: u32,
    /// real group id
    pub gid: u32,
    /// effective user id
    pub euid: u32,
    /// audit login uid (`u32::MAX` when unset)
    pub loginuid: u32,
    /// mount namespace inode number
    pub mntns: u32,
    /// cgroup (v2) id of the task
    pub cgroup_id: u64,
    /// effective capabilities
    pub cap_effective: u64,
    /// permitted capabilities
    pub cap_permitted: u64,
    /// the process's start, `CLOCK_BOOTTIME` ns (with pid, a key no pid reuse can collide with)
    pub start_boot_ns: u64,
    /// the task's comm (15 bytes at most)
    pub comm: String,
}

impl Header {
    /// Was the task held (SIGSTOP) in the kernel?
    pub fn held(&self) -> bool {
        self.flags & FLAG_HELD != 0
    }
    /// Was the task killed by the kernel's kill list?
    pub fn killed(&self) -> bool {
        self.flags & FLAG_KILLED != 0
    }
}

/// An executable was run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Exec {
    /// the common fields (after the exec: new comm and credentials)
    pub header: Header,
    /// the executed file's full path, from the kernel (`bprm->file`)
    pub path: String,
    /// the arguments (bounded: 4 KiB of argv and environment strings)
    pub argv: Vec<String>,
    /// the argument count the kernel counted (may exceed `argv.len()` when cut)
    pub argc: u32,
    /// the environment (bounded: 4 KiB), `NAME=value` strings
    pub env: Vec<String>,
    /// the working directory, from the kernel
    pub cwd: String,
    /// the pid in the process's own pid namespace (1: a container's init)
    pub vpid: u32,
    /// the process group in that namespace (`vpid == vpgid`: a group leader)
    pub vpgid: u32,
    /// the process group, host pid
    pub pgid: u32,
    /// the session, host pid (its leader's name is Falco's `proc.sname`)
    pub sid: u32,
    /// controlling tty as `/proc/<pid>/stat`'s tty_nr (0: none)
    pub tty_nr: u32,
    /// the tty's name (`pts3`), empty without one
    pub tty: String,
    /// the executed file's mode bits
    pub exe_mode: u32,
    /// the executed file's inode number
    pub exe_ino: u64,
    /// the executed file's device (kernel encoding)
    pub exe_dev: u32,
    /// the file is a memfd
    pub exe_memfd: bool,
    /// the file is on overlayfs
    pub exe_overlay: bool,
    /// the file is on overlayfs and has an upper-layer copy (written in the container)
    pub exe_upper_layer: bool,
    /// the file had no link left (deleted) when executed
    pub exe_unlinked: bool,
}

/// A new process.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Fork {
    /// the parent (the task that forked)
    pub header: Header,
    /// the child's process id
    pub child_pid: u32,
    /// the child's start time, `CLOCK_BOOTTIME` ns
    pub child_start_boot_ns: u64,
}

/// A process exited.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Exit {
    /// the process
    pub header: Header,
    /// the kernel's exit code (a wait status: `code >> 8` is the exit status, low bits the signal)
    pub code: i32,
}

/// A file operation with its resolved path(s).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FileOp {
    /// the common fields; `header.kind` says which operation
    pub header: Header,
    /// the full path (open, unlink, mkdir, chmod: the file; rename: the old path; link, symlink:
    /// the new link)
    pub path: String,
    /// rename: the new path; symlink: the link's target text as given; link: the existing file
    /// (full path). `Some` for rename, link and symlink only
    pub path2: Option<String>,
    /// open: `O_*` flags (the opened file's, else the caller's); mkdir and chmod: the mode;
    /// rename: `RENAME_*` flags; linkat: `AT_*` flags; unlink: 1 for rmdir
    pub flags: u32,
    /// open: the kernel's `f_mode` (`FMODE_CREATED` 0x100000 when the open created the file), 0
    /// when the open failed
    pub fmode: u32,
    /// inode number (0 when the file does not exist yet)
    pub ino: u64,
    /// device of the inode (kernel encoding)
    pub dev: u32,
    /// the syscall's result (open: the new descriptor; negative errno on failure)
    pub ret: i32,
    /// the inode's mode, type bits included (successful opens, fchmod; 0 when the kernel had
    /// no inode at hand): Falco's `fd.typechar` (`f` regular, `d` directory, ...)
    pub mode: u32,
    /// open: the path exactly as the caller wrote it (relative, with `..`, through symlinks:
    /// Falco's `fd.nameraw`); `path` is the file the kernel opened. `None` for other operations
    /// or when the caller's string could not be read
    pub raw: Option<String>,
}

impl FileOp {
    /// open: was the file opened for writing?
    pub fn opened_for_write(&self) -> bool {
        self.flags & 3 != 0
    }
    /// open: did this open create the file?
    pub fn created(&self) -> bool {
        self.fmode & 0x10_0000 != 0
    }
    /// Falco's `fd.typechar` of the file: `f` regular, `d` directory, `l` symlink, `p` pipe,
    /// `u` unix socket, `c`/`b` devices; `o` unknown (no inode at hand)
    pub fn typechar(&self) -> char {
        match self.mode & 0o170000 {
            0o100000 => 'f',
            0o040000 => 'd',
            0o120000 => 'l',
            0o010000 => 'p',
            0o140000 => 'u',
            0o020000 => 'c',
            0o060000 => 'b',
            _ => 'o',
        }
    }
}

/// A network or privilege syscall, at its exit, with its result.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Syscall {
    /// the common fields; `header.kind` groups the syscall
    pub header: Header,
    /// the syscall number (x86_64)
    pub nr: u32,
    /// the return value (negative errno on failure)
    pub ret: i64,
    /// the raw arguments
    pub args: [u64; 6],
    /// the socket's address family (2 IPv4, 10 IPv6, 1 unix, 17 packet; 0 when no socket); for
    /// dup*, the old descriptor's; for socket, the caller's domain (and type and protocol)
    pub family: u16,
    /// socket type (1 stream, 2 datagram, ...)
    pub sock_type: u16,
    /// IP protocol (6 TCP, 17 UDP)
    pub protocol: u16,
    /// local address and port
    pub local: Option<(IpAddr, u16)>,
    /// remote address and port (connect and sendto: the address the caller gave)
    pub remote: Option<(IpAddr, u16)>,
    /// memfd_create: the name; mount, umount: the target; unix sockets: the path
    pub text: String,
    /// recvfrom: the first bytes received (16 at most); empty otherwise
    pub data: Vec<u8>,
}

/// One decoded event.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum RawEvent {
    /// an exec
    Exec(Exec),
    /// a new process
    Fork(Fork),
    /// an exit
    Exit(Exit),
    /// a file operation
    File(FileOp),
    /// a network or privilege syscall
    Syscall(Syscall),
}

impl RawEvent {
    /// The common header.
    pub fn header(&self) -> &Header {
        match self {
            RawEvent::Exec(e) => &e.header,
            RawEvent::Fork(e) => &e.header,
            RawEvent::Exit(e) => &e.header,
            RawEvent::File(e) => &e.header,
            RawEvent::Syscall(e) => &e.header,
        }
    }
}

const HDR: usize = 96;
const EXEC_TTY: usize = 160;
const EXEC_PATH: usize = 192;
const EXEC_CWD: usize = EXEC_PATH + 4096;
const EXEC_ENV: usize = EXEC_CWD + 4096;
const EXEC_ARGS: usize = EXEC_ENV + 4096;
const FILE_PATH: usize = 136;
const FILE_PATH2: usize = FILE_PATH + 4352;
const SYS_STR: usize = 208;

/// Bounds-checked little-endian reads.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn array<const N: usize>(&self, at: usize) -> [u8; N] {
        let mut out = [0u8; N];
        if let Some(src) = self.0.get(at..at.saturating_add(N)) {
            out.copy_from_slice(src);
        }
        out
    }
    fn u16(&self, at: usize) -> u16 {
        u16::from_le_bytes(self.array(at))
    }
    fn u32(&self, at: usize) -> u32 {
        u32::from_le_bytes(self.array(at))
    }
    fn u64(&self, at: usize) -> u64 {
        u64::from_le_bytes(self.array(at))
    }
    /// A string of at most `max` bytes at `at`, ending at the first NUL or `len` bytes.
    fn str(&self, at: usize, len: usize, max: usize) -> String {
        let len = len.min(max);
        let end = at.saturating_add(len).min(self.0.len());
        let raw = self.0.get(at..end).unwrap_or_default();
        let raw = raw.split(|b| *b == 0).next().unwrap_or_default();
        String::from_utf8_lossy(raw).into_owned()
    }
    /// A NUL-terminated string within [at, at+max).
    fn cstr(&self, at: usize, max: usize) -> String {
        self.str(at, max, max)
    }
}

fn need(kind: u32, data: &[u8], n: usize) -> Result<(), DecodeError> {
    if data.len() < n {
        Err(DecodeError::Short {
            kind,
            len: data.len(),
            need: n,
        })
    } else {
        Ok(())
    }
}

fn header(kind: EventKind, b: &Bytes<'_>) -> Header {
    Header {
        kind,
        flags: b.u32(4),
        boot_ns: b.u64(8),
        tid: b.u32(16),
        pid: b.u32(20),
        ppid: b.u32(24),
        uid: b.u32(28),
        gid: b.u32(32),
        euid: b.u32(36),
        loginuid: b.u32(40),
        mntns: b.u32(44),
        cgroup_id: b.u64(48),
        cap_effective: b.u64(56),
        cap_permitted: b.u64(64),
        start_boot_ns: b.u64(72),
        comm: b.cstr(80, 16),
    }
}

fn addr(family: u16, raw: [u8; 16], port: u16) -> Option<(IpAddr, u16)> {
    match family {
        2 => {
            let [a, b, c, d, ..] = raw;
            Some((IpAddr::from([a, b, c, d]), port))
        }
        10 => Some((IpAddr::from(raw), port)),
        _ => None,
    }
}

/// Decode one ring-buffer record.
pub fn decode(data: &[u8]) -> Result<RawEvent, DecodeError> {
    let b = Bytes(data);
    let number = b.u32(0);
    need(number, data, HDR)?;
    let kind = EventKind::from_number(number).ok_or(DecodeError::UnknownType(number))?;
    let h = header(kind, &b);
    Ok(match kind {
        EventKind::Exec => {
            need(number, data, EXEC_PATH)?;
            let args_len = b.u32(100) as usize;
            let argc = b.u32(96);
            let args_end = EXEC_ARGS.saturating_add(args_len.min(4096)).min(data.len());
            let raw_args = data.get(EXEC_ARGS..args_end).unwrap_or_default();
            let argv = raw_args
                .split(|c| *c == 0)
                .take(argc as usize)
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect();
            let exe_flags = b.u32(132);
            let env_len = (b.u32(152) as usize).min(4096);
            let env_end = EXEC_ENV.saturating_add(env_len).min(data.len());
            let env = data
                .get(EXEC_ENV..env_end)
                .unwrap_or_default()
                .split(|c| *c == 0)
                .filter(|s| !s.is_empty())
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect();
            RawEvent::Exec(Exec {
                path: b.str(EXEC_PATH, b.u32(104) as usize, 4096),
                cwd: b.str(EXEC_CWD, b.u32(108) as usize, 4096),
                argv,
                argc,
                tty_nr: b.u32(112),
                exe_mode: b.u32(116),
                exe_ino: b.u64(120),
                exe_dev: b.u32(128),
                exe_memfd: exe_flags & 1 != 0,
                exe_overlay: exe_flags & 2 != 0,
                exe_upper_layer: exe_flags & 4 != 0,
                exe_unlinked: exe_flags & 8 != 0,
                tty: b.cstr(EXEC_TTY, 32),
                vpid: b.u32(136),
                vpgid: b.u32(140),
                pgid: b.u32(144),
                sid: b.u32(148),
                env,
                header: h,
            })
        }
        EventKind::Fork => {
            need(number, data, 112)?;
            RawEvent::Fork(Fork {
                child_pid: b.u32(100),
                child_start_boot_ns: b.u64(104),
                header: h,
            })
        }
        EventKind::Exit => {
            need(number, data, 104)?;
            RawEvent::Exit(Exit {
                code: i32::from_le_bytes(b.array(96)),
                header: h,
            })
        }
        EventKind::Open
        | EventKind::Unlink
        | EventKind::Mkdir
        | EventKind::Rename
        | EventKind::Chmod
        | EventKind::Link
        | EventKind::Symlink => {
            need(number, data, FILE_PATH)?;
            let path2_len = b.u32(120) as usize;
            let two = matches!(
                kind,
                EventKind::Rename | EventKind::Link | EventKind::Symlink
            );
            let path_len = (b.u32(116) as usize).min(4352);
            let raw_len = b.u32(132) as usize;
            let raw = (kind == EventKind::Open && raw_len > 0).then(|| {
                b.str(
                    FILE_PATH.saturating_add(path_len).saturating_add(1),
                    raw_len,
                    4096,
                )
            });
            RawEvent::File(FileOp {
                raw,
                ret: i32::from_le_bytes(b.array(124)),
                mode: b.u32(128),
                flags: b.u32(96),
                fmode: b.u32(100),
                ino: b.u64(104),
                dev: b.u32(112),
                path: b.str(FILE_PATH, path_len, 4352),
                path2: two.then(|| b.str(FILE_PATH2, path2_len, 4352)),
                header: h,
            })
        }
        _ => {
            need(number, data, SYS_STR)?;
            let family = b.u16(160);
            let mut args = [0u64; 6];
            for (i, a) in args.iter_mut().enumerate() {
                *a = b.u64(112 + 8 * i);
            }
            let str_len = (b.u32(100) as usize).min(256);
            let (text, bytes) = if kind == EventKind::Recv {
                let end = SYS_STR.saturating_add(str_len.min(16)).min(data.len());
                (
                    String::new(),
                    data.get(SYS_STR..end).unwrap_or_default().to_vec(),
                )
            } else {
                (b.str(SYS_STR, str_len, 256), Vec::new())
            };
            RawEvent::Syscall(Syscall {
                data: bytes,
                nr: b.u32(96),
                ret: i64::from_le_bytes(b.array(104)),
                args,
                family,
                sock_type: b.u16(162),
                protocol: b.u16(164),
                local: addr(family, b.array(172), b.u16(166)),
                remote: addr(family, b.array(188), b.u16(168)),
                text,
                header: h,
            })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_unknown_records_are_errors_not_panics() {
        assert!(matches!(decode(&[]), Err(DecodeError::Short { .. })));
        let mut rec = vec![0u8; 96];
        rec[0] = 99;
        assert_eq!(decode(&rec), Err(DecodeError::UnknownType(99)));
        // an exec record cut inside its fixed part
        rec[0] = 1;
        assert!(matches!(decode(&rec), Err(DecodeError::Short { .. })));
        // lengths pointing past the end are clamped
        let mut rec = vec![0u8; 220];
        rec[0] = 1;
        rec[104..108].copy_from_slice(&4000u32.to_le_bytes());
        rec[192..196].copy_from_slice(b"/bin");
        let Ok(RawEvent::Exec(e)) = decode(&rec) else {
            unreachable!("an exec record")
        };
        assert_eq!(e.path, "/bin");
    }

    proptest::proptest! {
        /// Any bytes, with any type number in front: a value or an error, never a panic, and
        /// no string longer than its bound.
        #[test]
        fn decoding_arbitrary_records_never_panics(
            kind in 0u32..32,
            body in proptest::collection::vec(proptest::num::u8::ANY, 0..13_000),
        ) {
            let mut rec = kind.to_le_bytes().to_vec();
            rec.extend_from_slice(&body);
            match decode(&rec) {
                Ok(RawEvent::Exec(e)) => {
                    proptest::prop_assert!(e.path.len() <= 4096 * 3 && e.argv.len() <= 4096);
                }
                Ok(RawEvent::File(f)) => proptest::prop_assert!(f.path.len() <= 4352 * 3),
                Ok(_) | Err(_) => {}
            }
        }
    }

    #[test]
    fn every_kind_round_trips_its_number() {
        for k in EventKind::ALL {
            assert_eq!(EventKind::from_number(k.number()), Some(k));
        }
        assert_eq!(
            EventKind::mask(&[EventKind::Exec, EventKind::Open]),
            0b10010
        );
    }
}
