//! The ptrace recorder: run a command and record every syscall made by it and all its
//! descendants (threads, forks, vforks, execs), with the arguments the argument filters need.
//!
//! ptrace works on every kernel with no extra setup (the eBPF recorder in the notes needs tracefs
//! and over-records runc's own pre-filter work). The tracee is stopped at each syscall entry and
//! exit; `PTRACE_GET_SYSCALL_INFO` says which, the architecture and the arguments.
//! `PTRACE_O_EXITKILL` kills every tracee if the recorder dies, and a guard kills them if the
//! recording fails half-way, so nothing is left behind.

use nix::errno::Errno;
use nix::sys::ptrace;
use nix::sys::signal::{self, Signal};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::ffi::CString;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;

/// At most this many distinct values are kept per argument kind (a hostile workload cannot grow
/// the recording without bound; past it the value is recorded as `u64::MAX`, "anything").
const MAX_DISTINCT: usize = 1024;

/// What a workload did: syscall names with counts and the arguments of the risky multiplexers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Observed {
    /// Syscall name → number of calls.
    pub syscalls: BTreeMap<String, u64>,
    /// Distinct `clone` flags (and `clone3`'s `clone_args.flags`; `u64::MAX` when unreadable).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub clone_flags: BTreeSet<u64>,
    /// Distinct `socket` address families.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub socket_families: BTreeSet<u64>,
    /// Distinct `personality` values.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub personalities: BTreeSet<u64>,
}

impl Observed {
    /// Count one call.
    pub fn count(&mut self, name: &str) {
        *self.syscalls.entry(name.to_owned()).or_insert(0) += 1;
    }

    /// Add another observation (counts add up, value sets unite).
    pub fn merge(&mut self, other: &Observed) {
        for (name, n) in &other.syscalls {
            let c = self.syscalls.entry(name.clone()).or_insert(0);
            *c = c.saturating_add(*n);
        }
        for v in &other.clone_flags {
            insert_bounded(&mut self.clone_flags, *v);
        }
        for v in &other.socket_families {
            insert_bounded(&mut self.socket_families, *v);
        }
        for v in &other.personalities {
            insert_bounded(&mut self.personalities, *v);
        }
    }
}

fn insert_bounded(set: &mut BTreeSet<u64>, v: u64) {
    if set.len() < MAX_DISTINCT || set.contains(&v) {
        set.insert(v);
    } else {
        set.insert(u64::MAX);
    }
}

/// How the recorded command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    /// It exited with this code.
    Code(i32),
    /// It was killed by this signal.
    Signal(Signal),
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exit::Code(c) => write!(f, "exited {c}"),
            Exit::Signal(s) => write!(f, "killed by {}", s.as_str()),
        }
    }
}

/// One recording.
#[derive(Debug, Clone)]
pub struct Recording {
    /// The command and its arguments.
    pub command: Vec<String>,
    /// What it did.
    pub observed: Observed,
    /// How the command (the first process) ended.
    pub exit: Exit,
    /// When the recording started.
    pub started: jiff::Timestamp,
    /// How it was recorded.
    pub method: String,
}

/// Which calls a recording counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Mode {
    /// Every syscall of every traced task (syscall-entry stops).
    #[default]
    Syscalls,
    /// Only the calls a seccomp filter returning `SCMP_ACT_TRACE` hands to the tracer
    /// (`PTRACE_EVENT_SECCOMP` stops): the calls of the tasks that installed such a filter, from
    /// the moment they did. Used to record a container under runc ([`crate::bundle`]).
    SeccompTrace,
}

/// Options of a recording.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Run the command chrooted into this directory (e.g. an OCI bundle's rootfs).
    pub chroot: Option<PathBuf>,
    /// Which calls to count.
    pub mode: Mode,
}

/// Why a recording failed.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// No command was given.
    #[error("no command to record")]
    NoCommand,
    /// The chroot directory is not a valid path.
    #[error("chroot directory {0}: contains a NUL byte")]
    BadChroot(PathBuf),
    /// The command could not be started (does not exist, not executable, chroot failed...).
    #[error("cannot run `{command}`: {cause}")]
    Spawn {
        /// The program.
        command: String,
        /// The cause.
        cause: std::io::Error,
    },
    /// A ptrace or wait call failed.
    #[error("tracing `{command}` failed in {what}: {errno}")]
    Trace {
        /// The program.
        command: String,
        /// The call that failed.
        what: &'static str,
        /// The error.
        errno: Errno,
    },
}

const AUDIT_ARCH_I386: u32 = 0x4000_0003;
const AUDIT_ARCH_ARM: u32 = 0x4000_0028;
const X32_SYSCALL_BIT: u64 = 0x4000_0000;

/// Kills and reaps every tracee still alive when the recording ends early (an error).
struct Tracees {
    pids: HashSet<Pid>,
    done: bool,
}

impl Drop for Tracees {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        kill_all(&self.pids);
        // Reap them (a killed tracee reports its death; ECHILD ends the loop).
        while !self.pids.is_empty() {
            match waitpid(None, Some(WaitPidFlag::__WALL | WaitPidFlag::__WNOTHREAD)) {
                Ok(WaitStatus::Exited(pid, _) | WaitStatus::Signaled(pid, _, _)) => {
                    self.pids.remove(&pid);
                }
                Ok(_) | Err(Errno::EINTR) => {}
                Err(_) => break,
            }
        }
    }
}

/// Run `command` (program and arguments) under ptrace until it has exited, and return what it and
/// all its descendants did. Descendants still running when it exits are killed (as in a
/// container when its init exits). The recorder must run on one thread from start to end
/// (ptrace binds tracees to the tracing thread).
pub fn record(command: &[String], options: &Options) -> Result<Recording, RecordError> {
    let (program, args) = command.split_first().ok_or(RecordError::NoCommand)?;
    let root = match &options.chroot {
        Some(dir) => Some(
            CString::new(dir.as_os_str().as_encoded_bytes())
                .map_err(|_| RecordError::BadChroot(dir.clone()))?,
        ),
        None => None,
    };
    let started = jiff::Timestamp::now();
    let method = match &options.chroot {
        Some(dir) => format!("ptrace, chrooted into {}", dir.display()),
        None => "ptrace".to_owned(),
    };
    let mut cmd = Command::new(program);
    cmd.args(args);
    #[expect(
        unsafe_code,
        reason = "PTRACE_TRACEME and chroot must run in the child between fork and exec, which \
                  only `pre_exec` (unsafe by signature) allows"
    )]
    // SAFETY: the closure runs in the forked child before exec. It only makes raw syscalls
    // (chroot, chdir, ptrace) on data prepared before the fork (`root` is a CString built above,
    // passed as &CStr so nix does not allocate), so it is async-signal-safe, allocates nothing
    // and touches no lock the parent's other threads may hold.
    unsafe {
        cmd.pre_exec(move || {
            if let Some(root) = &root {
                nix::unistd::chroot(root.as_c_str())?;
                nix::unistd::chdir(c"/")?;
            }
            ptrace::traceme()?;
            Ok(())
        });
    }
    let child = cmd.spawn().map_err(|cause| RecordError::Spawn {
        command: program.clone(),
        cause,
    })?;
    let main = Pid::from_raw(i32::try_from(child.id()).unwrap_or(i32::MAX));
    let trace = |what: &'static str| {
        let command = program.clone();
        move |errno| RecordError::Trace {
            command,
            what,
            errno,
        }
    };
    let mut tracees = Tracees {
        pids: HashSet::from([main]),
        done: false,
    };
    let mut observed = Observed::default();

    // The first stop is the SIGTRAP of the successful exec.
    match waitpid(main, Some(WaitPidFlag::__WALL)).map_err(trace("waitpid"))? {
        WaitStatus::Stopped(_, Signal::SIGTRAP) => {}
        WaitStatus::Exited(_, code) => {
            tracees.done = true;
            return Ok(Recording {
                command: command.to_vec(),
                observed,
                exit: Exit::Code(code),
                started,
                method,
            });
        }
        WaitStatus::Signaled(_, sig, _) => {
            tracees.done = true;
            return Ok(Recording {
                command: command.to_vec(),
                observed,
                exit: Exit::Signal(sig),
                started,
                method,
            });
        }
        _ => return Err(trace("the first stop")(Errno::EPROTO)),
    }
    let mut ptrace_options = ptrace::Options::PTRACE_O_TRACESYSGOOD
        | ptrace::Options::PTRACE_O_TRACEFORK
        | ptrace::Options::PTRACE_O_TRACEVFORK
        | ptrace::Options::PTRACE_O_TRACECLONE
        | ptrace::Options::PTRACE_O_TRACEEXEC
        | ptrace::Options::PTRACE_O_EXITKILL;
    let mode = options.mode;
    if mode == Mode::SeccompTrace {
        ptrace_options |= ptrace::Options::PTRACE_O_TRACESECCOMP;
    } else {
        // The first execve happened before tracing started.
        observed.count("execve");
    }
    ptrace::setoptions(main, ptrace_options).map_err(trace("PTRACE_SETOPTIONS"))?;
    let resume = |pid: Pid, sig: Option<Signal>| resume(pid, sig, mode);
    // Tracees whose initial attach stop has been seen (new children start with a SIGSTOP).
    let mut started_pids: HashSet<Pid> = HashSet::from([main]);
    let mut exit = None;
    resume(main, None);
    loop {
        let status = match waitpid(None, Some(WaitPidFlag::__WALL | WaitPidFlag::__WNOTHREAD)) {
            Ok(s) => s,
            Err(Errno::ECHILD) => break,
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(trace("waitpid")(e)),
        };
        // Once the first process is gone, its descendants are killed, as the kernel does to a
        // container whose init exits: the recording is of the command's lifetime.
        if exit.is_some()
            && let Some(pid) = status.pid()
            && !matches!(status, WaitStatus::Exited(..) | WaitStatus::Signaled(..))
        {
            let _ = signal::kill(pid, Signal::SIGKILL);
            resume(pid, None);
            continue;
        }
        match status {
            WaitStatus::PtraceSyscall(pid) => {
                on_syscall(pid, &mut observed);
                resume(pid, None);
            }
            WaitStatus::PtraceEvent(pid, _, event) => {
                if event == libc::PTRACE_EVENT_SECCOMP {
                    on_syscall(pid, &mut observed);
                } else if event == libc::PTRACE_EVENT_FORK
                    || event == libc::PTRACE_EVENT_VFORK
                    || event == libc::PTRACE_EVENT_CLONE
                {
                    if let Ok(new) = ptrace::getevent(pid) {
                        tracees
                            .pids
                            .insert(Pid::from_raw(i32::try_from(new).unwrap_or(0)));
                    }
                }
                resume(pid, None);
            }
            WaitStatus::Stopped(pid, sig) => {
                tracees.pids.insert(pid);
                if started_pids.insert(pid) && sig == Signal::SIGSTOP {
                    // The attach stop of a new child: not a signal to deliver.
                    resume(pid, None);
                } else if ptrace::getsiginfo(pid).is_err() {
                    // A group-stop (no siginfo): let it continue.
                    resume(pid, None);
                } else {
                    // A signal-delivery stop: deliver the signal.
                    resume(pid, Some(sig));
                }
            }
            WaitStatus::Exited(pid, code) => {
                tracees.pids.remove(&pid);
                if pid == main {
                    exit = Some(Exit::Code(code));
                    kill_all(&tracees.pids);
                }
            }
            WaitStatus::Signaled(pid, sig, _) => {
                tracees.pids.remove(&pid);
                if pid == main {
                    exit = Some(Exit::Signal(sig));
                    kill_all(&tracees.pids);
                }
            }
            _ => {}
        }
    }
    tracees.done = true;
    Ok(Recording {
        command: command.to_vec(),
        observed,
        exit: exit.unwrap_or(Exit::Code(-1)),
        started,
        method,
    })
}

/// SIGKILL the tracees, checking first that each pid is still traced by this thread (a thread
/// that vanished in another thread's exec is not reported, and its pid could be reused).
fn kill_all(pids: &HashSet<Pid>) {
    let me = nix::unistd::gettid().as_raw();
    for pid in pids {
        if traced_by(*pid) == Some(me) {
            let _ = signal::kill(*pid, Signal::SIGKILL);
        }
    }
}

/// The tracer of `pid` (`TracerPid` in /proc/PID/status).
fn traced_by(pid: Pid) -> Option<i32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("TracerPid:"))
        .and_then(|v| v.trim().parse().ok())
}

/// Continue a tracee (to its next syscall stop in `Syscalls` mode); it may have died meanwhile
/// (ESRCH), which the wait loop then reports.
fn resume(pid: Pid, sig: Option<Signal>, mode: Mode) {
    let _ = match mode {
        Mode::Syscalls => ptrace::syscall(pid, sig),
        Mode::SeccompTrace => ptrace::cont(pid, sig),
    };
}

fn on_syscall(pid: Pid, observed: &mut Observed) {
    let Ok(info) = ptrace::syscall_info(pid) else {
        return;
    };
    #[expect(unsafe_code, reason = "reading the union the kernel filled")]
    // SAFETY: `op` says which member of the union the kernel filled (linux/ptrace.h): `entry`
    // for PTRACE_SYSCALL_INFO_ENTRY, `seccomp` for PTRACE_SYSCALL_INFO_SECCOMP; both are plain
    // integers, valid for any bit pattern.
    let (nr, args) = unsafe {
        match info.op {
            libc::PTRACE_SYSCALL_INFO_ENTRY => (info.u.entry.nr, info.u.entry.args),
            libc::PTRACE_SYSCALL_INFO_SECCOMP => (info.u.seccomp.nr, info.u.seccomp.args),
            _ => return,
        }
    };
    let compat = info.arch == AUDIT_ARCH_I386 || info.arch == AUDIT_ARCH_ARM;
    let name = if compat {
        compat_name(nr)
    } else {
        crate::profile::native_name(nr & !X32_SYSCALL_BIT)
    };
    let Some(name) = name else {
        return;
    };
    observed.count(name);
    let [a0, ..] = args;
    match name {
        "clone" => insert_bounded(&mut observed.clone_flags, clone_flags_arg(&args)),
        "clone3" => {
            // clone3(struct clone_args *, size): flags are the struct's first u64.
            let flags = usize::try_from(a0)
                .ok()
                .and_then(|addr| ptrace::read(pid, addr as ptrace::AddressType).ok())
                .map_or(u64::MAX, |w| w as u64);
            insert_bounded(&mut observed.clone_flags, flags);
        }
        "socket" => insert_bounded(&mut observed.socket_families, a0 & 0xffff_ffff),
        "personality" => insert_bounded(&mut observed.personalities, a0 & 0xffff_ffff),
        _ => {}
    }
}

/// `clone`'s flags: the first argument, except on s390x (second).
fn clone_flags_arg(args: &[u64; 6]) -> u64 {
    let [a0, a1, ..] = *args;
    if cfg!(target_arch = "s390x") { a1 } else { a0 }
}

fn compat_name(nr: u64) -> Option<&'static str> {
    if cfg!(target_arch = "aarch64") {
        usize::try_from(nr)
            .ok()
            .and_then(syscalls::arm::Sysno::new)
            .map(|s| s.name())
    } else {
        crate::profile::x86_name(nr)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn cmd(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn records_a_shell_and_its_children() {
        let r = record(
            &cmd(&[
                "/bin/sh",
                "-c",
                "/bin/true; mkdir -p /nonexistent-dir-x/y 2>/dev/null; exit 3",
            ]),
            &Options::default(),
        )
        .unwrap();
        assert_eq!(r.exit, Exit::Code(3));
        for name in ["execve", "exit_group", "wait4", "mkdir"] {
            assert!(
                r.observed.syscalls.contains_key(name),
                "{name}: {:?}",
                r.observed
            );
        }
        assert!(
            r.observed.syscalls["execve"] >= 3,
            "{:?}",
            r.observed.syscalls
        );
        // fork from the shell (clone without namespace flags, or vfork)
        assert!(
            r.observed.syscalls.contains_key("clone")
                || r.observed.syscalls.contains_key("vfork")
                || r.observed.syscalls.contains_key("clone3")
        );
    }

    #[test]
    fn threads_vforks_and_multiplexer_arguments_are_recorded() {
        // getpriority only in a thread; mkdir only in a vfork'ed (posix_spawn) child; an IPv6
        // socket; personality through setarch.
        let script = "import os, socket, subprocess, threading\n\
            t = threading.Thread(target=lambda: os.getpriority(os.PRIO_PROCESS, 0))\n\
            t.start(); t.join()\n\
            socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).close()\n\
            subprocess.run(['/bin/mkdir', '/nonexistent-rampart/x'], stderr=subprocess.DEVNULL)\n";
        let r = record(&cmd(&["python3", "-c", script]), &Options::default()).unwrap();
        assert_eq!(r.exit, Exit::Code(0));
        let calls = &r.observed.syscalls;
        for name in ["getpriority", "mkdir", "socket"] {
            assert!(calls.contains_key(name), "{name}: {calls:?}");
        }
        // The thread was created with CLONE_THREAD (clone or clone3 flags).
        assert!(
            r.observed
                .clone_flags
                .iter()
                .any(|f| f & libc::CLONE_THREAD as u64 != 0),
            "{:?}",
            r.observed.clone_flags
        );
        assert!(
            r.observed
                .socket_families
                .contains(&(libc::AF_INET6 as u64))
        );
        let r = record(
            &cmd(&["setarch", std::env::consts::ARCH, "-R", "/bin/true"]),
            &Options::default(),
        )
        .unwrap();
        assert_eq!(r.exit, Exit::Code(0));
        // ADDR_NO_RANDOMIZE (0x0040000) was set.
        assert!(
            r.observed.personalities.iter().any(|p| p & 0x0040000 != 0),
            "{:?}",
            r.observed.personalities
        );
    }

    #[test]
    fn missing_command_is_an_error() {
        let e = record(&cmd(&["/no/such/program"]), &Options::default()).unwrap_err();
        assert!(
            e.to_string().contains("cannot run `/no/such/program`"),
            "{e}"
        );
        assert!(matches!(
            record(&[], &Options::default()),
            Err(RecordError::NoCommand)
        ));
    }

    #[test]
    fn killed_and_crashing_commands_report_the_signal() {
        let r = record(
            &cmd(&["/bin/sh", "-c", "kill -KILL $$"]),
            &Options::default(),
        )
        .unwrap();
        assert_eq!(r.exit, Exit::Signal(Signal::SIGKILL));
        // SIGSEGV is re-injected at its delivery stop, so the process dies of it.
        let r = record(
            &cmd(&["/bin/sh", "-c", "kill -SEGV $$"]),
            &Options::default(),
        )
        .unwrap();
        assert_eq!(r.exit, Exit::Signal(Signal::SIGSEGV));
        // A handled signal reaches its handler (the trap prints, then the shell exits 7).
        let r = record(
            &cmd(&[
                "/bin/sh",
                "-c",
                "trap 'exit 7' USR1; kill -USR1 $$; sleep 5",
            ]),
            &Options::default(),
        )
        .unwrap();
        assert_eq!(r.exit, Exit::Code(7));
    }

    #[test]
    fn descendants_do_not_outlive_the_command() {
        let r = record(
            &cmd(&["/bin/sh", "-c", "sleep 876543 & kill -KILL $$"]),
            &Options::default(),
        )
        .unwrap();
        assert_eq!(r.exit, Exit::Signal(Signal::SIGKILL));
        for e in std::fs::read_dir("/proc").unwrap().flatten() {
            let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
            assert!(
                !String::from_utf8_lossy(&cmdline).contains("876543"),
                "left behind: {}",
                e.path().display()
            );
        }
    }
}
