//! Falco event types (syscall names) and the sensor's event kinds.

use crate::sensor::EventKind;

/// Every kind the sensor produces.
pub const ALL_OBSERVED: &[EventKind] = &EventKind::ALL;

/// Kinds produced whatever the rules need: the process tree (fork, exec, exit; drift is decided
/// at exec). File changes (opens that write, chmod, rename) are not produced for drift alone:
/// following every write of every container costs a path walk each (an archive extraction
/// writes tens of thousands of files), and drift reads what it needs from the file at exec
/// (content against the image, mode, change time); see docs/monitor.md, "Drift".
pub const ALWAYS: &[EventKind] = &[EventKind::Exec, EventKind::Fork, EventKind::Exit];

/// Kinds whose task the kernel can hold (stop before it runs another instruction of its own)
/// until the rules have been evaluated: the ones a `kill-process` answer must beat.
pub const HOLDABLE: &[EventKind] = &[
    EventKind::Exec,
    EventKind::Open,
    EventKind::Connect,
    EventKind::Symlink,
    EventKind::Link,
    EventKind::Ptrace,
    EventKind::Module,
    EventKind::MemfdCreate,
    EventKind::Dup,
    EventKind::Socket,
    EventKind::Userfaultfd,
    EventKind::Unshare,
    EventKind::Setns,
    EventKind::Mount,
];

/// The sensor kind that carries a Falco event type, if any.
pub fn kind_of(evt_type: &str) -> Option<EventKind> {
    Some(match evt_type {
        "execve" | "execveat" => EventKind::Exec,
        "clone" | "clone3" | "fork" | "vfork" => EventKind::Fork,
        "procexit" => EventKind::Exit,
        "open" | "openat" | "openat2" | "creat" | "open_by_handle_at" => EventKind::Open,
        "unlink" | "unlinkat" | "rmdir" => EventKind::Unlink,
        "mkdir" | "mkdirat" => EventKind::Mkdir,
        "rename" | "renameat" | "renameat2" => EventKind::Rename,
        "chmod" | "fchmod" | "fchmodat" | "fchmodat2" => EventKind::Chmod,
        "link" | "linkat" => EventKind::Link,
        "symlink" | "symlinkat" => EventKind::Symlink,
        "connect" => EventKind::Connect,
        "accept" | "accept4" => EventKind::Accept,
        "bind" => EventKind::Bind,
        "listen" => EventKind::Listen,
        "sendto" | "sendmsg" | "sendmmsg" => EventKind::Send,
        "setuid" | "setreuid" | "setresuid" => EventKind::Setuid,
        "setgid" | "setregid" | "setresgid" => EventKind::Setgid,
        "capset" => EventKind::Capset,
        "ptrace" => EventKind::Ptrace,
        "mount" => EventKind::Mount,
        "umount" | "umount2" => EventKind::Umount,
        "init_module" | "finit_module" => EventKind::Module,
        "bpf" => EventKind::Bpf,
        "unshare" => EventKind::Unshare,
        "setns" => EventKind::Setns,
        "memfd_create" => EventKind::MemfdCreate,
        "dup" | "dup2" | "dup3" => EventKind::Dup,
        "socket" => EventKind::Socket,
        "userfaultfd" => EventKind::Userfaultfd,
        "recvfrom" | "recvmsg" => EventKind::Recv,
        _ => return None,
    })
}

/// The kinds that carry these event types, and the types no kind carries.
pub fn kinds_of<'a>(types: impl Iterator<Item = &'a str>) -> (Vec<EventKind>, Vec<String>) {
    let mut kinds = Vec::new();
    let mut missing = Vec::new();
    for t in types {
        match kind_of(t) {
            Some(k) if !kinds.contains(&k) => kinds.push(k),
            Some(_) => {}
            None => missing.push(t.to_owned()),
        }
    }
    (kinds, missing)
}
