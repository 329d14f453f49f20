//! The few system calls std does not wrap: pidfds (signals that cannot reach a recycled pid),
//! poll(2) on the ring buffer, CLOCK_BOOTTIME, the effective uid; and the cgroup kill.

use super::Header;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Why a held task could not be signalled.
#[derive(Debug, thiserror::Error)]
pub enum SignalError {
    /// the process is gone (exited, or killed by someone else)
    #[error("process {0} no longer exists")]
    Gone(u32),
    /// the pid now names another process (its start time differs from the event's)
    #[error(
        "pid {pid} was reused: start time {found} ticks, the event's process started at {expected}"
    )]
    Reused {
        /// the pid
        pid: u32,
        /// start time of the process that has the pid now (clock ticks since boot)
        found: u64,
        /// start time of the event's process
        expected: u64,
    },
    /// pidfd_open or pidfd_send_signal failed
    #[error("signalling process {pid}")]
    Io {
        /// the pid
        pid: u32,
        /// the error
        #[source]
        source: io::Error,
    },
    /// no cgroup v2 directory has this id
    #[error("no cgroup v2 directory with id {0}")]
    NoCgroup(u64),
    /// writing cgroup.kill failed
    #[error("writing {}", path.display())]
    CgroupKill {
        /// the cgroup.kill file
        path: PathBuf,
        /// the error
        #[source]
        source: io::Error,
    },
}

/// A process the sensor reported, pinned by a pidfd: signals sent through it reach that process
/// or fail, never a later process that got the same pid.
#[derive(Debug)]
pub struct HeldTask {
    pid: u32,
    pidfd: OwnedFd,
}

const SIGKILL: i32 = 9;
const SIGCONT: i32 = 18;

fn clock_ticks_per_second() -> u64 {
    100 // USER_HZ, the unit of /proc/<pid>/stat times on every Linux architecture rampart builds for
}

/// Field 22 of /proc/<pid>/stat: start time in clock ticks since boot.
fn proc_start_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // the comm (field 2) may hold spaces and parentheses: fields after the last ')'
    let rest = stat.get(stat.rfind(')')?.saturating_add(2)..)?;
    rest.split(' ').nth(19)?.parse().ok()
}

impl HeldTask {
    /// Pin the process of an event (its pid and start time).
    pub fn open(header: &Header) -> Result<HeldTask, SignalError> {
        let pid = header.pid;
        let pidfd = pidfd_open(pid).map_err(|source| match source.raw_os_error() {
            Some(3) => SignalError::Gone(pid), // ESRCH
            _ => SignalError::Io { pid, source },
        })?;
        // the pidfd now pins whatever process has the pid: check it is the event's
        let expected = header.start_boot_ns / (1_000_000_000 / clock_ticks_per_second());
        let found = proc_start_ticks(pid).ok_or(SignalError::Gone(pid))?;
        if found != expected {
            return Err(SignalError::Reused {
                pid,
                found,
                expected,
            });
        }
        Ok(HeldTask { pid, pidfd })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// SIGKILL: the held process dies without running another instruction of its own.
    pub fn kill(&self) -> Result<(), SignalError> {
        self.signal(SIGKILL)
    }

    /// SIGCONT: the held process goes on.
    pub fn resume(&self) -> Result<(), SignalError> {
        self.signal(SIGCONT)
    }

    fn signal(&self, sig: i32) -> Result<(), SignalError> {
        pidfd_send_signal(self.pidfd.as_raw_fd(), sig).map_err(|source| {
            match source.raw_os_error() {
                Some(3) => SignalError::Gone(self.pid),
                _ => SignalError::Io {
                    pid: self.pid,
                    source,
                },
            }
        })
    }
}

#[expect(unsafe_code, reason = "pidfd_open has no std wrapper")]
fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
    let pid = libc::pid_t::try_from(pid).map_err(|_| io::Error::from_raw_os_error(libc::ESRCH))?;
    // SAFETY: pidfd_open takes a pid and flags by value and returns a new descriptor or -1; no
    // memory is shared with the kernel.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let fd = i32::try_from(fd).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
    // SAFETY: fd was just returned by pidfd_open, is open, and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

#[expect(unsafe_code, reason = "pidfd_send_signal has no std wrapper")]
fn pidfd_send_signal(pidfd: i32, sig: i32) -> io::Result<()> {
    // SAFETY: the descriptor is a pidfd owned by the caller and kept open across the call; the
    // siginfo pointer is NULL (the kernel fills a default one); flags are 0.
    let r = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd,
            sig,
            std::ptr::null::<libc::siginfo_t>(),
            0u32,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Kill every process of a cgroup (v2) by its id (an event's `cgroup_id`), through
/// `cgroup.kill` (Linux 5.14+). Searches the cgroup2 mount (/sys/fs/cgroup, or
/// /sys/fs/cgroup/unified in hybrid mode) for the directory whose inode is the id.
pub fn kill_cgroup(cgroup_id: u64) -> Result<PathBuf, SignalError> {
    let roots = [
        Path::new("/sys/fs/cgroup/unified"),
        Path::new("/sys/fs/cgroup"),
    ];
    for root in roots {
        // a cgroup2 root has cgroup.kill (5.14+); v1 hierarchies do not
        if !root.join("cgroup.kill").exists() && !root.join("cgroup.controllers").exists() {
            continue;
        }
        if let Some(dir) = find_cgroup(root, cgroup_id, 0) {
            let kill = dir.join("cgroup.kill");
            std::fs::write(&kill, b"1").map_err(|source| SignalError::CgroupKill {
                path: kill.clone(),
                source,
            })?;
            return Ok(dir);
        }
    }
    Err(SignalError::NoCgroup(cgroup_id))
}

fn find_cgroup(dir: &Path, id: u64, depth: u32) -> Option<PathBuf> {
    use std::os::unix::fs::MetadataExt;
    if depth > 16 {
        return None;
    }
    if std::fs::metadata(dir).ok()?.ino() == id {
        return Some(dir.to_path_buf());
    }
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            if let Some(found) = find_cgroup(&entry.path(), id, depth + 1) {
                return Some(found);
            }
        }
    }
    None
}

#[expect(unsafe_code, reason = "geteuid has no std wrapper")]
pub(super) fn effective_uid() -> u32 {
    // SAFETY: geteuid takes no arguments, cannot fail and touches no memory of ours.
    unsafe { libc::geteuid() }
}

#[expect(
    unsafe_code,
    reason = "clock_gettime(CLOCK_BOOTTIME) has no std wrapper"
)]
fn clock_ns(clock: libc::clockid_t) -> i128 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid, writable timespec on our stack for the duration of the call.
    let r = unsafe { libc::clock_gettime(clock, &mut ts) };
    if r != 0 {
        return 0;
    }
    i128::from(ts.tv_sec) * 1_000_000_000 + i128::from(ts.tv_nsec)
}

/// wall − boot, ns: add to a CLOCK_BOOTTIME stamp to get ns since the Unix epoch. Taken as the
/// middle of two wall readings around the boot reading.
pub(super) fn boot_to_wall_offset() -> i128 {
    let w1 = clock_ns(libc::CLOCK_REALTIME);
    let b = clock_ns(libc::CLOCK_BOOTTIME);
    let w2 = clock_ns(libc::CLOCK_REALTIME);
    (w1 + w2) / 2 - b
}

/// Wait until the descriptor is readable or the timeout passes.
#[expect(unsafe_code, reason = "poll(2) has no std wrapper")]
pub(super) fn wait_readable(fd: RawFd, timeout: Duration) -> io::Result<()> {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
    // SAFETY: pfd is one valid pollfd on our stack and nfds is 1; the descriptor belongs to the
    // caller's ring buffer, open for the duration of the call (a closed one only gives POLLNVAL).
    let r = unsafe { libc::poll(&mut pfd, 1, ms) };
    if r < 0 {
        let err = io::Error::last_os_error();
        if err.kind() == io::ErrorKind::Interrupted {
            return Ok(());
        }
        return Err(err);
    }
    Ok(())
}

/// Returns the heap's free memory to the kernel (glibc keeps freed memory for reuse; what a
/// large, short-lived parse freed would otherwise stay resident).
#[expect(unsafe_code, reason = "malloc_trim has no std wrapper")]
pub(crate) fn release_free_memory() {
    // SAFETY: malloc_trim only releases memory the allocator holds free; it takes a byte count
    // to keep (0) and touches no memory the program owns.
    unsafe {
        libc::malloc_trim(0);
    }
}
