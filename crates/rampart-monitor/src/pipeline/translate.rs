//! Sensor events into the Falco event model: syscall names, Falco's argument names and
//! renderings, the file descriptor, the process and its ancestors, the container and its pod.

// Falco's lexical normalisation (`concatenate_paths`: `.` and empty components dropped, `..`
// removes the one before, never above the root, symlinks not followed) is drift's.
use crate::drift::index::normalize as normalise;
use crate::identity::ContainerInfo;
use crate::sensor::{EventKind, FileOp, RawEvent, Syscall};
use rampart_falco::event::{self, Container, Event, Fd, FdKind, K8s, L4Proto};
use std::borrow::Cow;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

/// `evt.type` of a file operation. The sensor sees file operations at the kernel's own hooks
/// (after path resolution and every permission check), where the syscall that asked is not
/// known: each is named by the syscall of that family every libc uses today.
fn file_evt_type(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Open => "openat",
        EventKind::Unlink => "unlinkat",
        EventKind::Mkdir => "mkdirat",
        EventKind::Rename => "renameat2",
        EventKind::Chmod => "fchmodat",
        EventKind::Link => "linkat",
        EventKind::Symlink => "symlinkat",
        _ => "unknown",
    }
}

/// `evt.type` of a syscall event: the syscall's own name.
fn syscall_name(nr: u32) -> Cow<'static, str> {
    syscalls::Sysno::new(nr as usize)
        .map(|s| Cow::Borrowed(s.name()))
        .unwrap_or_else(|| Cow::Owned(format!("syscall_{nr}")))
}

fn ptrace_request(r: u64) -> String {
    event::ptrace_request_name(r)
        .map(str::to_owned)
        .unwrap_or_else(|| r.to_string())
}

/// Falco's rendering of a file mode (`chmod`'s `mode`): its permission bits by name.
const MODE_FLAGS: &[(u64, &str)] = &[
    (0o1, "S_IXOTH"),
    (0o2, "S_IWOTH"),
    (0o4, "S_IROTH"),
    (0o10, "S_IXGRP"),
    (0o20, "S_IWGRP"),
    (0o40, "S_IRGRP"),
    (0o100, "S_IXUSR"),
    (0o200, "S_IWUSR"),
    (0o400, "S_IRUSR"),
    (0o1000, "S_ISVTX"),
    (0o2000, "S_ISGID"),
    (0o4000, "S_ISUID"),
];

fn flags_str(bits: u64, table: &[(u64, &str)]) -> String {
    let names: Vec<&str> = table
        .iter()
        .filter(|(b, _)| bits & b == *b)
        .map(|(_, n)| *n)
        .collect();
    if names.is_empty() {
        bits.to_string()
    } else {
        names.join("|")
    }
}

/// `evt.arg.domain` of `socket`: the family's name (Falco's resolved rendering of an
/// enumeration), or the number when it has none.
fn socket_family(domain: u16) -> String {
    event::socket_domain_name(u32::from(domain))
        .map(str::to_owned)
        .unwrap_or_else(|| domain.to_string())
}

/// The descriptor `socket` returned: its type from the family, no address yet (Falco's
/// `fd.name` of a socket nobody bound or connected is empty).
fn new_socket_fd(s: &Syscall) -> Fd {
    let kind = match s.family {
        2 => FdKind::Ipv4,
        10 => FdKind::Ipv6,
        1 => FdKind::Unix,
        16 => FdKind::Netlink,
        _ => FdKind::File,
    };
    Fd {
        num: s.ret,
        kind,
        l4proto: matches!(s.family, 2 | 10).then(|| l4(s)),
        ..Fd::default()
    }
}

/// Falco's `evt.res`: `SUCCESS`, or the errno's name for a negative result.
fn ip(addr: Option<(IpAddr, u16)>) -> (IpAddr, u16) {
    addr.unwrap_or((IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0))
}

fn l4(s: &Syscall) -> L4Proto {
    match (s.protocol, s.sock_type) {
        (17, _) | (0, 2) => L4Proto::Udp,
        (1 | 58, _) => L4Proto::Icmp,
        (_, 3) => L4Proto::Raw,
        _ => L4Proto::Tcp,
    }
}

fn socket_fd(s: &Syscall, num: i64, server_side: bool) -> Fd {
    match s.family {
        2 | 10 => {
            let (local, remote) = (ip(s.local), ip(s.remote));
            let (client, server) = if server_side {
                (remote, local)
            } else {
                (local, remote)
            };
            Fd::ip_socket(num, client, server, l4(s), server_side)
        }
        1 => Fd {
            num,
            kind: FdKind::Unix,
            name: s.text.clone(),
            ..Fd::default()
        },
        _ => Fd {
            num,
            kind: FdKind::File,
            name: String::new(),
            ..Fd::default()
        },
    }
}

/// A bound or listening socket, as Falco's server socket (`SCAP_FD_IPV4_SERVSOCK`): one
/// address, the local one the kernel's `struct sock` holds (bind: the caller's), so `fd.ip`,
/// `fd.net`, `fd.sip`, `fd.lport` are the bound address and port. There is no client end: a
/// listening socket's peer (0.0.0.0:0) is not an address rules should compare against.
fn server_socket_fd(s: &Syscall, num: i64) -> Fd {
    match (s.family, s.local) {
        (2 | 10, Some((addr, port))) => Fd {
            num,
            kind: if addr.is_ipv6() {
                FdKind::Ipv6
            } else {
                FdKind::Ipv4
            },
            name: format!("{addr}:{port}"),
            server: Some((addr, port)),
            l4proto: Some(l4(s)),
            is_server: true,
            connected: Some(false),
            ..Fd::default()
        },
        _ => {
            let mut fd = socket_fd(s, num, true);
            fd.connected = Some(false);
            fd
        }
    }
}

/// Falco's `fd.name` of an open: the path the caller gave, made absolute and normalised
/// lexically, symlinks NOT followed (`/proc/self/fd/1` stays itself; `/etc/../etc/shadow` is
/// `/etc/shadow`), not the file the kernel opened (`FileOp::path`, which drift and identity
/// use). A failed open's `path` is already the caller's string after its directory. A relative
/// name of a successful open is the kernel's path: the directory it is relative to is not
/// walked a second time, so the two differ only when that relative name crosses a symlink.
fn open_name(f: &FileOp) -> String {
    match f.raw.as_deref() {
        Some(raw) if raw.starts_with('/') => normalise(raw),
        _ if f.ret < 0 => normalise(&f.path),
        _ => f.path.clone(),
    }
}

/// Linux's `O_DIRECTORY`.
const O_DIRECTORY: u32 = 0o200000;

fn file_event(ev: &mut Event, f: &FileOp) {
    let kind = f.header.kind;
    ev.evt_type = file_evt_type(kind).into();
    ev.res = Some(i64::from(f.ret));
    match kind {
        EventKind::Open => {
            ev.open_flags = Some(f.flags);
            ev.res = Some(i64::from(f.ret));
            ev.set_arg("flags", event::open_flags_str(f.flags));
            let name = open_name(f);
            ev.set_arg("name", name.clone());
            ev.set_arg("mode", format!("0{:o}", f.mode & 0o7777));
            ev.set_arg("ino", f.ino.to_string());
            ev.set_arg("dev", format!("{:X}", f.dev));
            // The descriptor the open returned (-1 when it failed: Falco's open_file_failed).
            let mut fd = Fd::file(if f.ret >= 0 { i64::from(f.ret) } else { -1 }, &name);
            // fd.nameraw: the string as the caller wrote it.
            fd.name_raw = f.raw.clone().filter(|raw| *raw != name);
            // fd.type as Falco sets it on an open: a directory when the caller asked for one
            // (O_DIRECTORY), else a file, whatever the inode is (a pipe or a device reached
            // through /proc/self/fd/N is a `file`, which `open_write`'s `fd.typechar='f'` needs).
            fd.kind = if f.flags & O_DIRECTORY != 0 {
                FdKind::Directory
            } else {
                FdKind::File
            };
            ev.fd = Some(fd);
        }
        EventKind::Unlink => {
            ev.set_arg("name", f.path.clone());
            ev.set_arg("path", f.path.clone());
            ev.set_arg("flags", if f.flags == 1 { "AT_REMOVEDIR" } else { "0" });
        }
        EventKind::Mkdir => {
            ev.set_arg("path", f.path.clone());
            ev.set_arg("mode", format!("0{:o}", f.flags & 0o7777));
        }
        EventKind::Chmod => {
            ev.set_arg("filename", f.path.clone());
            ev.set_arg("mode", flags_str(u64::from(f.flags & 0o7777), MODE_FLAGS));
        }
        EventKind::Rename => {
            ev.set_arg("oldpath", f.path.clone());
            ev.set_arg("newpath", f.path2.clone().unwrap_or_default());
        }
        EventKind::Link => {
            // path: the new link; path2: the existing file.
            ev.set_arg("oldpath", f.path2.clone().unwrap_or_default());
            ev.set_arg("newpath", f.path.clone());
        }
        EventKind::Symlink => {
            ev.set_arg("target", f.path2.clone().unwrap_or_default());
            ev.set_arg("linkpath", f.path.clone());
        }
        _ => {}
    }
}

fn syscall_event(ev: &mut Event, s: &Syscall) {
    ev.evt_type = syscall_name(s.nr);
    ev.res = Some(s.ret);
    let a = s.args;
    match s.header.kind {
        EventKind::Connect | EventKind::Send => {
            let num = a[0] as i64;
            ev.fd = Some(socket_fd(s, num, false));
            ev.set_arg("fd", num.to_string());
            if let Some(fd) = &ev.fd {
                ev.set_arg("tuple", fd.name.clone());
            }
        }
        EventKind::Accept => {
            ev.fd = Some(socket_fd(s, s.ret, true));
            if let Some(fd) = &ev.fd {
                ev.set_arg("tuple", fd.name.clone());
            }
            ev.set_arg("fd", s.ret.to_string());
        }
        EventKind::Bind | EventKind::Listen => {
            let num = a[0] as i64;
            ev.fd = Some(server_socket_fd(s, num));
            ev.set_arg("fd", num.to_string());
            if s.header.kind == EventKind::Listen {
                ev.set_arg("backlog", a[1].to_string());
            }
        }
        EventKind::Ptrace => {
            ev.set_arg("request", ptrace_request(a[0]));
            ev.set_arg("pid", (a[1] as i64).to_string());
        }
        EventKind::Setuid | EventKind::Setgid => {
            ev.set_arg(
                if s.header.kind == EventKind::Setuid {
                    "uid"
                } else {
                    "gid"
                },
                (a[0] as u32).to_string(),
            );
        }
        EventKind::Unshare => ev.set_arg("flags", event::clone_flags_str(a[0])),
        EventKind::Setns => {
            ev.set_arg("fd", (a[0] as i64).to_string());
            ev.set_arg("nstype", event::clone_flags_str(a[1]));
        }
        EventKind::MemfdCreate => {
            ev.set_arg("name", s.text.clone());
            ev.set_arg("flags", a[1].to_string());
            let mut fd = Fd::file(s.ret, &format!("/memfd:{}", s.text));
            fd.kind = FdKind::Memfd;
            ev.fd = Some(fd);
        }
        EventKind::Dup => {
            ev.set_arg("oldfd", (a[0] as i64).to_string());
            if ev.evt_type != "dup" {
                ev.set_arg("newfd", (a[1] as i64).to_string());
            }
            // The fd is the duplicated one: a socket makes this a reverse-shell candidate.
            ev.fd = Some(socket_fd(s, a[0] as i64, false));
        }
        EventKind::Mount | EventKind::Umount => {
            ev.set_arg("dir", s.text.clone());
            let flags = if s.header.kind == EventKind::Mount {
                a[3]
            } else {
                a[1]
            };
            ev.set_arg("flags", flags.to_string());
        }
        EventKind::Module => {
            ev.set_arg("flags", a[2].to_string());
        }
        EventKind::Bpf => ev.set_arg("cmd", a[0].to_string()),
        EventKind::Socket => {
            // Falco's socket exit event: the new descriptor, then the caller's arguments.
            ev.set_arg("fd", s.ret.to_string());
            ev.set_arg("domain", socket_family(s.family));
            ev.set_arg("type", s.sock_type.to_string());
            ev.set_arg("proto", s.protocol.to_string());
            if s.ret >= 0 {
                ev.fd = Some(new_socket_fd(s));
            }
        }
        EventKind::Recv => {
            // A datagram received: the process is the receiving (server) end, the sender the
            // client, as Falco's inbound tuple; evt.buffer is the first bytes (16 at most).
            let num = a[0] as i64;
            ev.fd = Some(socket_fd(s, num, true));
            ev.set_arg("fd", num.to_string());
            ev.set_arg("size", s.ret.to_string());
            if let Some(fd) = &ev.fd {
                ev.set_arg("tuple", fd.name.clone());
            }
            ev.buffer = Some(s.data.clone());
        }
        EventKind::Userfaultfd => {
            ev.set_arg("res", s.ret.to_string());
            ev.set_arg("flags", a[0].to_string());
            if s.ret >= 0 {
                ev.fd = Some(Fd {
                    num: s.ret,
                    kind: FdKind::Userfaultfd,
                    ..Fd::default()
                });
            }
        }
        EventKind::Capset => {}
        _ => {}
    }
}

/// The container fields Falco rules read.
pub fn container_fields(c: &ContainerInfo) -> (Container, Option<K8s>) {
    let (repository, tag) = match &c.image {
        Some(image) => split_image(image),
        None => (None, None),
    };
    let container = Container {
        id: c.short_id().to_owned(),
        full_id: Some(c.id.clone()),
        name: c.name.clone().or_else(|| c.k8s_container_name.clone()),
        image: c.image.clone(),
        image_repository: repository,
        image_tag: tag,
        image_digest: c.image_digest.clone(),
        runtime: Some(c.runtime.as_str().to_owned()),
        privileged: Some(c.privileged),
        start_ns: c.start_time,
        mounts: None,
    };
    let k8s = (c.pod_name.is_some() || c.pod_namespace.is_some()).then(|| K8s {
        namespace: c.pod_namespace.clone(),
        pod_name: c.pod_name.clone(),
        pod_uid: c.pod_uid.clone(),
        pod_labels: Vec::new(),
        container_name: c.k8s_container_name.clone(),
    });
    (container, k8s)
}

/// `registry/repo:tag@digest` into repository and tag, as Falco's container plugin splits it.
pub fn split_image(image: &str) -> (Option<String>, Option<String>) {
    let no_digest = image.split('@').next().unwrap_or(image);
    let slash = no_digest.rfind('/').map_or(0, |i| i + 1);
    match no_digest.get(slash..).and_then(|last| last.rfind(':')) {
        Some(colon) => {
            let at = slash + colon;
            (
                no_digest.get(..at).map(str::to_owned),
                no_digest.get(at + 1..).map(str::to_owned),
            )
        }
        None => (Some(no_digest.to_owned()), None),
    }
}

/// The Falco view of each container (`container.*`, `k8s.*`), built once per container and
/// shared by its events.
#[derive(Debug, Default)]
pub struct ContainerFields {
    /// by the address of the `ContainerInfo` (kept alive here, so the address is not reused);
    /// the resolver hands out a new one when it learns more
    by_info: HashMap<usize, (Arc<ContainerInfo>, Shared)>,
}

/// A container's Falco fields, shared by its events.
pub type Shared = (Arc<Container>, Option<Arc<K8s>>);

impl ContainerFields {
    /// The fields of `c`.
    pub fn get(&mut self, c: &Arc<ContainerInfo>) -> Shared {
        let key = Arc::as_ptr(c) as usize;
        if let Some((_, shared)) = self.by_info.get(&key) {
            return shared.clone();
        }
        if self.by_info.len() >= 4096 {
            self.by_info.clear();
        }
        let (ct, k8s) = container_fields(c);
        let (ct, k8s) = (Arc::new(ct), k8s.map(Arc::new));
        self.by_info
            .insert(key, (Arc::clone(c), (Arc::clone(&ct), k8s.clone())));
        (ct, k8s)
    }
}

/// Builds the Falco event for `raw`: `proc` and `ancestors` come from the process table,
/// `container` from [`ContainerFields`].
pub fn event(
    raw: &RawEvent,
    num: u64,
    time_ns: u64,
    proc: Arc<event::Process>,
    ancestors: Vec<Arc<event::Process>>,
    container: Option<Shared>,
    hostname: &Arc<str>,
) -> Event {
    let mut ev = Event {
        num,
        time_ns,
        hostname: Some(Arc::clone(hostname)),
        proc,
        ancestors,
        ..Event::default()
    };
    match raw {
        RawEvent::Exec(e) => {
            ev.evt_type = "execve".into();
            ev.res = Some(0);
            let mut flags = Vec::new();
            if e.exe_upper_layer {
                flags.push("EXE_UPPER_LAYER");
            }
            if e.exe_memfd {
                flags.push("EXE_FROM_MEMFD");
            }
            if e.exe_mode & 0o222 != 0 {
                flags.push("EXE_WRITABLE");
            }
            ev.set_arg(
                "flags",
                if flags.is_empty() {
                    "0".to_owned()
                } else {
                    flags.join("|")
                },
            );
            ev.set_arg("exe", e.argv.first().cloned().unwrap_or_default());
            ev.set_arg("filename", e.path.clone());
        }
        RawEvent::File(f) => file_event(&mut ev, f),
        RawEvent::Syscall(s) => syscall_event(&mut ev, s),
        RawEvent::Fork(_) => {
            ev.evt_type = "clone".into();
            ev.res = Some(0);
        }
        RawEvent::Exit(x) => {
            ev.evt_type = "procexit".into();
            ev.set_arg("status", x.code.to_string());
        }
    }
    if let Some((container, k8s)) = container {
        ev.container = Some(container);
        ev.k8s = k8s;
    }
    ev
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_split_as_falco_does() {
        let s = |i: &str| split_image(i);
        assert_eq!(
            s("docker.io/library/nginx:1.27"),
            (Some("docker.io/library/nginx".into()), Some("1.27".into()))
        );
        assert_eq!(
            s("localhost:5000/app@sha256:abc"),
            (Some("localhost:5000/app".into()), None)
        );
        assert_eq!(
            s("localhost:5000/app:v1@sha256:abc"),
            (Some("localhost:5000/app".into()), Some("v1".into()))
        );
    }

    #[test]
    fn modes_render_as_falco_prints_them() {
        assert_eq!(
            flags_str(0o4755, MODE_FLAGS),
            "S_IXOTH|S_IROTH|S_IXGRP|S_IRGRP|S_IXUSR|S_IWUSR|S_IRUSR|S_ISUID"
        );
    }

    fn listen(local: (IpAddr, u16)) -> Syscall {
        Syscall {
            header: crate::sensor::Header {
                kind: EventKind::Listen,
                flags: 0,
                boot_ns: 0,
                tid: 1,
                pid: 1,
                ppid: 0,
                uid: 0,
                gid: 0,
                euid: 0,
                loginuid: u32::MAX,
                mntns: 0,
                cgroup_id: 0,
                cap_effective: 0,
                cap_permitted: 0,
                start_boot_ns: 0,
                comm: "lua".into(),
            },
            nr: 50,
            ret: 0,
            args: [3, 128, 0, 0, 0, 0],
            family: 2,
            sock_type: 1,
            protocol: 6,
            local: Some(local),
            remote: Some((IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0)),
            text: String::new(),
            data: Vec::new(),
        }
    }

    #[test]
    fn a_listening_socket_is_its_bound_address_alone() {
        let addr = (IpAddr::V4(Ipv4Addr::new(10, 200, 0, 2)), 4000);
        let mut ev = Event::default();
        syscall_event(&mut ev, &listen(addr));
        assert_eq!(ev.evt_type, "listen");
        let fd = ev.fd.expect("the listening socket");
        assert_eq!(fd.server, Some(addr));
        // no 0.0.0.0 client end for fd.ip/fd.net to match
        assert_eq!(fd.client, None);
        assert!(fd.is_server && fd.connected == Some(false));
        assert_eq!(fd.name, "10.200.0.2:4000");
        assert_eq!(fd.kind, FdKind::Ipv4);
        assert_eq!(
            ev.args,
            vec![
                ("fd".into(), "3".to_owned()),
                ("backlog".into(), "128".to_owned())
            ]
        );
    }

    #[test]
    fn paths_normalise_lexically_as_falco_does() {
        assert_eq!(normalise("/etc/../etc/../etc/shadow"), "/etc/shadow");
        assert_eq!(normalise("/proc/self/fd/1"), "/proc/self/fd/1");
        assert_eq!(normalise("/a/./b//c/"), "/a/b/c");
        assert_eq!(normalise("/../../x"), "/x");
        assert_eq!(normalise("/a/.."), "/");
    }

    fn open(path: &str, raw: Option<&str>, ret: i32) -> FileOp {
        let mut header = listen((IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0)).header;
        header.kind = EventKind::Open;
        FileOp {
            header,
            path: path.into(),
            path2: None,
            flags: 0,
            fmode: 0,
            ino: 0,
            dev: 0,
            ret,
            mode: 0o100644,
            raw: raw.map(str::to_owned),
        }
    }

    #[test]
    fn an_open_is_named_by_the_callers_path_not_the_file_it_reached() {
        let name = |f: &FileOp| {
            let mut ev = Event::default();
            file_event(&mut ev, f);
            let fd = ev.fd.expect("fd");
            (fd.name.clone(), fd.name_raw.unwrap_or(fd.name))
        };
        // a pipe reached through /proc/self/fd/1 is a `file`; O_DIRECTORY makes a directory
        let mut pipe = open("pipe:[1]", Some("/proc/self/fd/1"), 3);
        pipe.mode = 0o010600;
        let mut ev = Event::default();
        file_event(&mut ev, &pipe);
        assert_eq!(ev.fd.as_ref().map(|fd| fd.kind), Some(FdKind::File));
        pipe.flags = O_DIRECTORY;
        let mut ev = Event::default();
        file_event(&mut ev, &pipe);
        assert_eq!(ev.fd.as_ref().map(|fd| fd.kind), Some(FdKind::Directory));
        // a symlink is not followed: /proc/self/fd/1 is not /dev/null
        assert_eq!(
            name(&open("/dev/null", Some("/proc/self/fd/1"), 3)),
            ("/proc/self/fd/1".into(), "/proc/self/fd/1".into())
        );
        assert_eq!(
            name(&open("/etc/shadow", Some("/etc/../etc/../etc/shadow"), 3)),
            ("/etc/shadow".into(), "/etc/../etc/../etc/shadow".into())
        );
        // relative: the kernel's path for a success; the directory and the name for a failure
        assert_eq!(
            name(&open("/root/x", Some("x"), 3)),
            ("/root/x".into(), "x".into())
        );
        assert_eq!(
            name(&open("/root/../nope", Some("../nope"), -2)),
            ("/nope".into(), "../nope".into())
        );
    }

    #[test]
    fn socket_domains_render_by_name() {
        assert_eq!(socket_family(17), "AF_PACKET");
        assert_eq!(socket_family(2), "AF_INET");
        assert_eq!(socket_family(10), "AF_INET6");
        assert_eq!(socket_family(16), "AF_NETLINK");
        assert_eq!(socket_family(200), "200");
    }

    #[test]
    fn ptrace_and_clone_flags_render_by_name() {
        assert_eq!(ptrace_request(16), "PTRACE_ATTACH");
        assert_eq!(ptrace_request(0x4206), "PTRACE_SEIZE");
        assert_eq!(
            event::clone_flags_str(0x1000_0000 | 0x0002_0000),
            "CLONE_NEWNS|CLONE_NEWUSER"
        );
        assert_eq!(syscall_name(101), "ptrace");
    }
}
