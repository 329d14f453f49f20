//! The file guard: the monitor enforces an intent's file rules on a running container from
//! outside it, synchronously, with fanotify permission events.
//!
//! BPF LSM programs are refused on these machines and Landlock only restricts the process that
//! applies it (the guard launcher, [`crate::bundle`]). A fanotify group of class
//! `FAN_CLASS_CONTENT` with `FAN_OPEN_EXEC_PERM | FAN_OPEN_PERM` marks on every mount of a
//! container makes the kernel wait, in the opening process, for this process's answer:
//! `FAN_DENY` fails the `open`/`execve` with `EPERM`. What the marks see and what the rules are:
//!
//! | event | the intent's rule ([`Plan`], the same as Landlock's and the runtime rules') | denied |
//! |---|---|---|
//! | `FAN_OPEN_EXEC_PERM` (execve, the ELF loader, a `#!` interpreter) | the file is beneath an `exec` path or is an interpreter they need | `execve` fails with `EPERM` |
//! | `FAN_OPEN_PERM`, opened for write (`O_WRONLY`, `O_RDWR`, `O_CREAT`, `O_TRUNC`) | beneath a `writable` path | `open` fails with `EPERM` |
//! | `FAN_OPEN_PERM`, any open | not beneath a `never-read` path (unless writable) | `open` fails with `EPERM` |
//!
//! Only what needs judging is sent: every mount is marked for exec; a read-write mount outside
//! the writable paths for every open (writes there are the kernel's to allow); on a read-only
//! mount (writes fail with `EROFS` anyway) and beneath the writable paths, only the never-read
//! files, marked one by one. The reads of a container with a read-only root cost nothing.
//!
//! fanotify does not say how a file is being opened, only that it is. The requesting thread
//! (`FAN_REPORT_TID`) is blocked in its system call while the group decides, so its
//! `/proc/TID/syscall` holds the call and its arguments: the flags of `open`, `openat`,
//! `open_by_handle_at`, `creat`, and of `openat2` (read from the caller's `struct open_how`).
//! An open whose flags cannot be read is judged as a write (fail closed).
//!
//! What it does not see, said in docs/enforce.md: `unlink`, `rename`, `mkdir`, `link`,
//! `symlink`, `truncate(2)` and `chmod` open nothing (the read-only root and Landlock cover
//! them); a file created with `O_CREAT` outside the writable paths is created before the open is
//! denied (it stays empty); and fanotify is fail-open: if the monitor dies, its marks go with
//! it.

use std::collections::BTreeMap;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::fanotify::{
    EventFFlags, Fanotify, FanotifyEvent, FanotifyResponse, InitFlags, MarkFlags, MaskFlags,
    Response,
};

use crate::event::{Action, Event, Mechanism, Outcome};
use crate::landlock::{Access, Plan};
use crate::root::Root;
use crate::{Error, Mode, Policy};

/// Filesystems whose files are not the container's own: not marked.
const UNMARKED_FS: [&str; 14] = [
    "proc",
    "sysfs",
    "cgroup",
    "cgroup2",
    "devpts",
    "mqueue",
    "securityfs",
    "debugfs",
    "tracefs",
    "bpf",
    "fusectl",
    "configfs",
    "pstore",
    "binfmt_misc",
];

/// One guarded container.
#[derive(Debug)]
pub struct Scope {
    /// a name for reports (the container's id or name)
    pub name: String,
    /// the container's cgroup v2 path, as `/proc/PID/cgroup` writes it after `0::`; its
    /// processes and those of cgroups beneath it are judged
    pub cgroup: String,
    /// the rules, with the container's paths
    pub plan: Plan,
    /// enforce or audit
    pub mode: Mode,
    /// the mount points marked (the container's paths): each for exec
    pub marked: Vec<PathBuf>,
    /// the mount points whose every open is judged (read-write, outside the writable paths)
    pub judged: Vec<PathBuf>,
    /// never-read files marked one by one (on the mounts not judged)
    pub never_read_marks: usize,
    /// what of the intent this guard cannot enforce, and why
    pub not_guarded: Vec<String>,
    counts: Mutex<BTreeMap<(Action, Outcome), u64>>,
}

impl Scope {
    /// Denials (or would-be denials) so far, by action and outcome.
    pub fn counts(&self) -> BTreeMap<(Action, Outcome), u64> {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn holds(&self, cgroup: &str) -> bool {
        cgroup == self.cgroup
            || cgroup
                .strip_prefix(self.cgroup.as_str())
                .is_some_and(|rest| rest.starts_with('/'))
    }

    fn count(&self, action: Action, outcome: Outcome) {
        *self
            .counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry((action, outcome))
            .or_default() += 1;
    }
}

/// Counters of the guard as a whole.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// permission events answered
    pub answered: u64,
    /// events from processes of no guarded container (allowed)
    pub outside: u64,
    /// opens whose flags could not be read (judged as writes)
    pub unknown_flags: u64,
}

/// A fanotify group answering permission events for the guarded containers.
pub struct FileGuard {
    fan: Fanotify,
    scopes: Mutex<Vec<Arc<Scope>>>,
    stats: Mutex<Stats>,
}

impl std::fmt::Debug for FileGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileGuard")
            .field("scopes", &self.scopes())
            .finish_non_exhaustive()
    }
}

fn errno(what: &str, e: Errno) -> Error {
    Error::Fanotify(format!("{what}: {e}"))
}

impl FileGuard {
    /// A new group (needs CAP_SYS_ADMIN).
    pub fn new() -> Result<Self, Error> {
        let fan = Fanotify::init(
            InitFlags::FAN_CLASS_CONTENT
                | InitFlags::FAN_CLOEXEC
                | InitFlags::FAN_NONBLOCK
                | InitFlags::FAN_REPORT_TID,
            EventFFlags::O_RDONLY | EventFFlags::O_LARGEFILE | EventFFlags::O_CLOEXEC,
        )
        .map_err(|e| errno("fanotify_init", e))?;
        Ok(Self {
            fan,
            scopes: Mutex::new(Vec::new()),
            stats: Mutex::new(Stats::default()),
        })
    }

    /// The guarded containers.
    pub fn scopes(&self) -> Vec<Arc<Scope>> {
        self.scopes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The guard's counters.
    pub fn stats(&self) -> Stats {
        self.stats
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Guards the container of process `pid` (any of its processes; its init is usual): the
    /// plan is computed from its root, then every mount of its mount namespace that holds
    /// files is marked. Must not be called from the thread that runs [`FileGuard::serve`]: the
    /// marks can make this thread's own opens wait for an answer.
    pub fn guard(&self, pid: u32, name: &str, policy: &Policy) -> Result<Arc<Scope>, Error> {
        let cgroup = cgroup_line(pid)?;
        let root = Root::of_pid(pid);
        let mut plan = Plan::new_in(policy, &root)?;
        let mountinfo = format!("/proc/{pid}/mountinfo");
        let text = std::fs::read_to_string(&mountinfo).map_err(|e| Error::Io {
            path: mountinfo.clone().into(),
            source: e,
        })?;
        let mut marked = Vec::new();
        let table = mounts(&text);
        // The guard launcher's files ([`crate::bundle`]): a read-only bind mount made by the
        // runtime from the bundle, which the container cannot create or change. Its loader is
        // the container's first exec when the bundle starts through the guard.
        if table
            .iter()
            .any(|m| m.point == Path::new(crate::bundle::GUARD_DIR) && m.read_only)
        {
            plan.exec.insert(PathBuf::from(crate::bundle::GUARD_DIR));
        }
        // Which opens need the monitor: every exec, on every mount; opens for write only where
        // the kernel would allow them and the intent does not (a read-write mount outside the
        // writable paths); reads only of never-read files. A read-only mount fails writes with
        // EROFS by itself, so its opens are not sent at all, but for the never-read files,
        // marked one by one: the common open of a hardened container costs nothing.
        let mut judged = Vec::new();
        for m in &table {
            if UNMARKED_FS.contains(&m.fstype.as_str()) {
                continue;
            }
            let beneath_writable = plan.writable.iter().any(|w| m.point.starts_with(w));
            let judge_writes = !m.read_only && !beneath_writable;
            let mut mask = MaskFlags::FAN_OPEN_EXEC_PERM;
            if judge_writes {
                mask |= MaskFlags::FAN_OPEN_PERM;
                judged.push(m.point.clone());
            }
            let at = root.outside(&m.point);
            self.fan
                .mark(
                    MarkFlags::FAN_MARK_ADD | MarkFlags::FAN_MARK_MOUNT,
                    mask,
                    nix::fcntl::AT_FDCWD,
                    Some(&at),
                )
                .map_err(|e| errno(&format!("fanotify_mark {}", at.display()), e))?;
            marked.push(m.point.clone());
        }
        if marked.is_empty() {
            return Err(Error::Fanotify(format!(
                "{mountinfo}: no mount holding files to mark"
            )));
        }
        let mut never_read_marks = 0usize;
        let mut not_guarded = Vec::new();
        for n in &plan.never_read {
            // the mount the path is on: the longest mount point above it
            let Some(m) = table
                .iter()
                .filter(|m| n.starts_with(&m.point))
                .max_by_key(|m| m.point.components().count())
            else {
                continue;
            };
            if judged.contains(&m.point) {
                continue; // the mount's mark sees every open there
            }
            if UNMARKED_FS.contains(&m.fstype.as_str()) {
                not_guarded.push(format!(
                    "never-read {}: on a {} mount, which has no permission events",
                    n.display(),
                    m.fstype
                ));
                continue;
            }
            let files = files_beneath(&root, n, MAX_NEVER_READ_FILES);
            if files.len() >= MAX_NEVER_READ_FILES {
                not_guarded.push(format!(
                    "never-read {}: more than {MAX_NEVER_READ_FILES} files, the rest unmarked",
                    n.display()
                ));
            }
            for f in files {
                let at = root.outside(&f);
                self.fan
                    .mark(
                        MarkFlags::FAN_MARK_ADD,
                        MaskFlags::FAN_OPEN_PERM,
                        nix::fcntl::AT_FDCWD,
                        Some(&at),
                    )
                    .map_err(|e| errno(&format!("fanotify_mark {}", at.display()), e))?;
                never_read_marks += 1;
            }
        }
        let scope = Arc::new(Scope {
            name: name.to_string(),
            cgroup,
            plan,
            mode: policy.mode,
            marked,
            judged,
            never_read_marks,
            not_guarded,
            counts: Mutex::new(BTreeMap::new()),
        });
        self.scopes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(scope.clone());
        Ok(scope)
    }

    /// Forgets a container (its marks go when its mounts do).
    pub fn forget(&self, name: &str) {
        self.scopes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|s| s.name != name);
    }

    /// Answers permission events until `stop` is set, calling `report` for each denial (or
    /// would-be denial in audit mode). Run it on a thread of its own.
    pub fn serve(
        &self,
        stop: &AtomicBool,
        report: &mut dyn FnMut(&Scope, Event),
    ) -> Result<(), Error> {
        while !stop.load(Ordering::Relaxed) {
            let mut fds = [PollFd::new(self.fan.as_fd(), PollFlags::POLLIN)];
            match poll(&mut fds, PollTimeout::from(100u16)) {
                Ok(0) | Err(Errno::EINTR) => continue,
                Ok(_) => self.answer_pending(report)?,
                Err(e) => return Err(errno("poll", e)),
            }
        }
        Ok(())
    }

    /// Answers every event queued now.
    pub fn answer_pending(&self, report: &mut dyn FnMut(&Scope, Event)) -> Result<(), Error> {
        loop {
            let events = match self.fan.read_events() {
                Ok(e) => e,
                Err(Errno::EAGAIN) => return Ok(()),
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(errno("read fanotify events", e)),
            };
            if events.is_empty() {
                return Ok(());
            }
            for ev in &events {
                self.answer(ev, report)?;
            }
        }
    }

    fn answer(
        &self,
        ev: &FanotifyEvent,
        report: &mut dyn FnMut(&Scope, Event),
    ) -> Result<(), Error> {
        if !ev.check_version() {
            return Err(Error::Fanotify(format!(
                "event metadata version {} is not the one this build reads",
                ev.version()
            )));
        }
        // no descriptor: a queue overflow, which permission events never cause
        let Some(fd) = ev.fd() else { return Ok(()) };
        let verdict = self.judge(ev, fd);
        let response = match verdict {
            Some((scope, event)) => {
                let deny = event.outcome == Outcome::Denied;
                scope.count(event.action, event.outcome);
                report(&scope, event);
                if deny {
                    Response::FAN_DENY
                } else {
                    Response::FAN_ALLOW
                }
            }
            None => Response::FAN_ALLOW,
        };
        self.stats
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .answered += 1;
        match self.fan.write_response(FanotifyResponse::new(fd, response)) {
            // the process died meanwhile: nobody waits for the answer
            Ok(()) | Err(Errno::ENOENT) => Ok(()),
            Err(e) => Err(errno("write fanotify response", e)),
        }
    }

    /// The denial an event is, if any: `None` allows it.
    fn judge(&self, ev: &FanotifyEvent, fd: BorrowedFd<'_>) -> Option<(Arc<Scope>, Event)> {
        let tid = u32::try_from(ev.pid()).ok()?;
        // a thread that is gone, or outside every guarded container, is not judged
        let Ok(cgroup) = cgroup_line(tid) else {
            self.stats
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .outside += 1;
            return None;
        };
        let scope = self.scopes().into_iter().find(|s| s.holds(&cgroup));
        let Some(scope) = scope else {
            self.stats
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .outside += 1;
            return None;
        };
        let path = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).ok()?;
        let mask = ev.mask();
        let (action, denied) = if mask.contains(MaskFlags::FAN_OPEN_EXEC_PERM) {
            (Action::Exec, scope.plan.would_deny(Access::Execute, &path))
        } else if scope.plan.forbids_read(&path) {
            // any open of a never-read file: no need to know how
            (Action::Read, true)
        } else {
            // an open on a judged mount: allowed for reading, judged for writing
            match open_intent(tid) {
                Intent::Exec | Intent::Read => (Action::Read, false),
                Intent::Write { .. } => {
                    (Action::Write, scope.plan.would_deny(Access::Write, &path))
                }
                Intent::Unknown => {
                    self.stats
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .unknown_flags += 1;
                    (Action::Write, scope.plan.would_deny(Access::Write, &path))
                }
            }
        };
        if !denied {
            return None;
        }
        let outcome = match scope.mode {
            Mode::Enforce => Outcome::Denied,
            Mode::Audit => Outcome::WouldDeny,
        };
        let comm = std::fs::read_to_string(format!("/proc/{tid}/comm"))
            .ok()
            .map(|c| c.trim_end().to_string());
        let event = Event {
            mechanism: Mechanism::Fanotify,
            action,
            outcome,
            target: path.to_string_lossy().into_owned(),
            protocol: None,
            pid: Some(tid),
            comm,
        };
        Some((scope, event))
    }
}

/// The cgroup v2 path of a process or thread (after `0::` in `/proc/ID/cgroup`).
pub fn cgroup_line(id: u32) -> Result<String, Error> {
    let path = PathBuf::from(format!("/proc/{id}/cgroup"));
    let text = std::fs::read_to_string(&path).map_err(|e| Error::Io {
        path: path.clone(),
        source: e,
    })?;
    text.lines()
        .find_map(|l| l.strip_prefix("0::"))
        .map(str::to_string)
        .ok_or_else(|| Error::Cgroup(format!("{}: no cgroup v2 line (0::)", path.display())))
}

/// A line of mountinfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// the mount point, as the process sees it
    pub point: PathBuf,
    /// the filesystem type
    pub fstype: String,
    /// mounted read-only (the mount's `ro`, or its filesystem's)
    pub read_only: bool,
}

/// The mounts of a mountinfo text.
pub fn mounts(mountinfo: &str) -> Vec<Mount> {
    mountinfo
        .lines()
        .filter_map(|line| {
            // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS... - FSTYPE SOURCE SUPER
            let (left, right) = line.split_once(" - ")?;
            let mut f = left.split(' ');
            let point = f.nth(4)?;
            let opts = f.next()?;
            let mut r = right.split(' ');
            let fstype = r.next()?;
            let superopts = r.nth(1).unwrap_or("");
            Some(Mount {
                point: PathBuf::from(unescape(point)),
                fstype: fstype.to_string(),
                // read-only as a mount, or its whole filesystem
                read_only: opts
                    .split(',')
                    .chain(superopts.split(','))
                    .any(|o| o == "ro"),
            })
        })
        .collect()
}

/// mountinfo's octal escapes (`\040` for a blank, `\011`, `\012`, `\134`).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'\\' {
            if let Some(oct) = b.get(i + 1..i + 4) {
                if oct.iter().all(|d| (b'0'..=b'7').contains(d)) {
                    let v = oct
                        .iter()
                        .fold(0u32, |acc, d| acc * 8 + u32::from(d - b'0'));
                    if let Ok(byte) = u8::try_from(v) {
                        out.push(byte);
                        i += 4;
                        continue;
                    }
                }
            }
        }
        out.push(c);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// How a blocked open is opening its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// execve or execveat (its open of the program; the exec event judges it)
    Exec,
    /// read only
    Read,
    /// for write (`reads`: also for read)
    Write {
        /// O_RDWR
        reads: bool,
    },
    /// the flags could not be read
    Unknown,
}

/// How long [`open_intent`] waits for the opening thread to be asleep.
pub const SETTLE: Duration = Duration::from_millis(20);

/// The intent of the open thread `tid` is blocked in, from `/proc/TID/syscall`.
///
/// The kernel queues the event and wakes this group before the opening thread has gone to
/// sleep waiting for the answer; until it has, the file says `running` (measured under load:
/// one open in twenty). The thread cannot leave the wait before the answer, so it is read again
/// until it is asleep, for at most [`SETTLE`].
pub fn open_intent(tid: u32) -> Intent {
    let path = format!("/proc/{tid}/syscall");
    let start = std::time::Instant::now();
    let mut tries = 0u32;
    loop {
        let Ok(line) = std::fs::read_to_string(&path) else {
            return Intent::Unknown;
        };
        if !line.starts_with("running") {
            let Some((nr, args)) = parse_syscall(&line) else {
                return Intent::Unknown;
            };
            return intent_of(nr, &args, |addr| read_open_how_flags(tid, addr));
        }
        if start.elapsed() >= SETTLE {
            return Intent::Unknown;
        }
        tries += 1;
        if tries < 64 {
            std::thread::yield_now();
        } else {
            std::thread::sleep(Duration::from_micros(20));
        }
    }
}

/// The intent of system call `nr` with `args`; `open_how` reads `struct open_how.flags` at an
/// address of the caller's (openat2).
pub fn intent_of(nr: u64, args: &[u64; 6], open_how: impl FnOnce(u64) -> Option<u64>) -> Intent {
    use syscalls::Sysno;
    let flags = |f: u64| -> Intent {
        let f = OFlag::from_bits_truncate(i32::try_from(f & 0xffff_ffff).unwrap_or(0));
        let acc = f & OFlag::O_ACCMODE;
        if acc == OFlag::O_WRONLY || f.intersects(OFlag::O_CREAT | OFlag::O_TRUNC) {
            Intent::Write {
                reads: acc == OFlag::O_RDWR,
            }
        } else if acc == OFlag::O_RDWR {
            Intent::Write { reads: true }
        } else {
            Intent::Read
        }
    };
    let [_, a1, a2, ..] = *args;
    match Sysno::new(usize::try_from(nr).unwrap_or(usize::MAX)) {
        #[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
        Some(Sysno::open) => flags(a1),
        #[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
        Some(Sysno::creat) => Intent::Write { reads: false },
        Some(Sysno::openat) | Some(Sysno::open_by_handle_at) => flags(a2),
        Some(Sysno::openat2) => open_how(a2).map_or(Intent::Unknown, flags),
        Some(Sysno::execve) | Some(Sysno::execveat) => Intent::Exec,
        _ => Intent::Unknown,
    }
}

/// `/proc/TID/syscall`: `NR ARG1 .. ARG6 SP PC` in hex while blocked in a call; `-1 SP PC` or
/// `running` otherwise.
pub fn parse_syscall(line: &str) -> Option<(u64, [u64; 6])> {
    let mut it = line.split_ascii_whitespace();
    let nr: u64 = it.next()?.parse().ok()?;
    let mut args = [0u64; 6];
    for a in &mut args {
        let s = it.next()?;
        *a = u64::from_str_radix(s.strip_prefix("0x")?, 16).ok()?;
    }
    Some((nr, args))
}

/// `struct open_how.flags` (its first field, a u64) at `addr` in thread `tid`'s memory.
fn read_open_how_flags(tid: u32, addr: u64) -> Option<u64> {
    let mut buf = [0u8; 8];
    let remote = [nix::sys::uio::RemoteIoVec {
        base: usize::try_from(addr).ok()?,
        len: 8,
    }];
    let pid = nix::unistd::Pid::from_raw(i32::try_from(tid).ok()?);
    let n =
        nix::sys::uio::process_vm_readv(pid, &mut [std::io::IoSliceMut::new(&mut buf)], &remote)
            .ok()?;
    (n == 8).then(|| u64::from_ne_bytes(buf))
}

/// The most never-read files marked one by one beneath one never-read path.
pub const MAX_NEVER_READ_FILES: usize = 10_000;

/// The files at or beneath `path` in `root` (not following symbolic links; at most `max`).
fn files_beneath(root: &Root, path: &Path, max: usize) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![path.to_path_buf()];
    while let Some(p) = stack.pop() {
        if out.len() >= max {
            break;
        }
        let Ok(meta) = std::fs::symlink_metadata(root.outside(&p)) else {
            continue;
        };
        if meta.is_dir() {
            if let Ok(rd) = std::fs::read_dir(root.outside(&p)) {
                stack.extend(rd.flatten().map(|e| p.join(e.file_name())));
            }
        } else if meta.is_file() {
            out.push(p);
        }
    }
    out
}

/// How long [`FileGuard::serve`] sleeps in `poll` before looking at `stop`.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_flags_tell_read_from_write() {
        use syscalls::Sysno;
        let at = |flags: i32| {
            let mut a = [0u64; 6];
            a[2] = u64::from(flags as u32);
            intent_of(Sysno::openat as u64, &a, |_| None)
        };
        assert_eq!(at(libc_flags::O_RDONLY), Intent::Read);
        assert_eq!(at(libc_flags::O_WRONLY), Intent::Write { reads: false });
        assert_eq!(at(libc_flags::O_RDWR), Intent::Write { reads: true });
        assert_eq!(
            at(libc_flags::O_RDONLY | libc_flags::O_CREAT),
            Intent::Write { reads: false }
        );
        assert_eq!(
            at(libc_flags::O_RDONLY | libc_flags::O_TRUNC),
            Intent::Write { reads: false }
        );
        let how = [0, 0, 0x1000, 24, 0, 0];
        assert_eq!(
            intent_of(Sysno::openat2 as u64, &how, |addr| {
                assert_eq!(addr, 0x1000);
                Some(1)
            }),
            Intent::Write { reads: false }
        );
        assert_eq!(
            intent_of(Sysno::openat2 as u64, &how, |_| None),
            Intent::Unknown
        );
        assert_eq!(
            intent_of(Sysno::execve as u64, &[0; 6], |_| None),
            Intent::Exec
        );
        assert_eq!(
            intent_of(Sysno::read as u64, &[0; 6], |_| None),
            Intent::Unknown
        );
    }

    mod libc_flags {
        pub const O_RDONLY: i32 = 0;
        pub const O_WRONLY: i32 = 1;
        pub const O_RDWR: i32 = 2;
        pub const O_CREAT: i32 = 0o100;
        pub const O_TRUNC: i32 = 0o1000;
    }

    #[test]
    fn proc_syscall_lines_parse() {
        let l = "257 0xffffff9c 0x7ffd3e2a1b40 0x241 0x1b6 0x0 0x0 0x7ffd3e2a1a28 0x7f0c2c0f5a5d\n";
        let (nr, a) = parse_syscall(l).unwrap();
        assert_eq!(nr, 257);
        assert_eq!(a[2], 0x241);
        assert_eq!(parse_syscall("running\n"), None);
        assert_eq!(parse_syscall("-1 0x7ffd 0x7f0c\n"), None);
        assert_eq!(parse_syscall(""), None);
    }

    #[test]
    fn mountinfo_lines_give_mount_points_and_types() {
        let t = "22 1 0:21 / / rw,relatime - overlay overlay rw,lowerdir=/a\n\
                 23 22 0:22 / /proc rw - proc proc rw\n\
                 24 22 0:23 / /my\\040dir ro,nosuid - tmpfs tmpfs rw\n\
                 garbage\n";
        let m = |p: &str, t: &str, ro: bool| Mount {
            point: PathBuf::from(p),
            fstype: t.to_string(),
            read_only: ro,
        };
        assert_eq!(
            mounts(t),
            vec![
                m("/", "overlay", false),
                m("/proc", "proc", false),
                m("/my dir", "tmpfs", true),
            ]
        );
        assert_eq!(unescape("a\\134b\\0"), "a\\b\\0");
    }

    #[test]
    fn scopes_hold_their_cgroup_and_the_cgroups_beneath() {
        let s = Scope {
            name: "c".into(),
            cgroup: "/kubepods/pod1/abc".into(),
            plan: Plan::new(&Policy {
                mode: Mode::Audit,
                exec: vec![],
                writable: vec![],
                never_read: vec![],
                egress: vec![],
                listen: vec![],
            })
            .unwrap(),
            mode: Mode::Audit,
            marked: vec![],
            judged: vec![],
            never_read_marks: 0,
            not_guarded: vec![],
            counts: Mutex::new(BTreeMap::new()),
        };
        assert!(s.holds("/kubepods/pod1/abc"));
        assert!(s.holds("/kubepods/pod1/abc/sub"));
        assert!(!s.holds("/kubepods/pod1/abcd"));
        assert!(!s.holds("/"));
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        // kernel text, but read from another process's /proc entry: never a panic, whatever
        // it holds
        #[test]
        fn proc_lines_never_panic(line in ".{0,300}") {
            let _ = parse_syscall(&line);
            let _ = mounts(&line);
            let _ = unescape(&line);
        }

        #[test]
        fn syscall_lines_round_trip(nr in 0u64..1000, args in proptest::array::uniform6(any::<u64>())) {
            let line = format!(
                "{nr} {} 0x7ffd 0x7f00\n",
                args.iter().map(|a| format!("{a:#x}")).collect::<Vec<_>>().join(" ")
            );
            prop_assert_eq!(parse_syscall(&line), Some((nr, args)));
        }
    }
}
