//! The process tree, kept from the sensor's fork, exec and exit events (and `/proc` for the
//! processes that were running before the monitor started), so every event carries its
//! process's full command line and its ancestors (`proc.pname`, `proc.aname[N]`,
//! `proc.pcmdline`...) even when the process has already exited by the time the event is read.
//!
//! Entries are keyed by pid and checked against the kernel's start time, so a recycled pid never
//! inherits another process's identity. The table is bounded: exited processes are dropped, and
//! beyond [`MAX_PROCESSES`] the oldest unreferenced entries go.

use crate::sensor::{Exec, Fork, Header};
use rampart_falco::event::Process;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

/// Most processes tracked.
pub const MAX_PROCESSES: usize = 1 << 20;
/// Ancestors attached to an event (`proc.aname[N]` beyond this is absent).
pub const MAX_ANCESTORS: usize = 16;

#[derive(Debug, Clone)]
struct Entry {
    ppid: u32,
    /// Kernel start time (`CLOCK_BOOTTIME` ns), 0 when unknown (seeded from /proc).
    start_boot_ns: u64,
    proc: Arc<Process>,
}

/// `user.name` and `group.name` as the process's own root filesystem names them (the
/// container's /etc/passwd and /etc/group), read once per root directory (its device and inode:
/// a process of a new container that has not yet pivoted into its root is not mistaken for
/// one that has), bounded.
#[derive(Debug, Default)]
struct Names {
    by_root: HashMap<(u64, u64), (IdNames, IdNames)>,
}

/// Names by numeric id (uid or gid).
type IdNames = HashMap<u32, String>;

/// Most root directories whose names are cached.
const MAX_NAMESPACES: usize = 4096;

fn parse_db(text: &str) -> HashMap<u32, String> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?;
            let id = f.nth(1)?.parse().ok()?;
            Some((id, name.to_owned()))
        })
        .collect()
}

impl Names {
    /// The names of the mount namespace `h` runs in, read through `/proc/<pid>/root` and cached
    /// once read (a process already gone, or still outside its final root, is not cached).
    fn lookup(
        &mut self,
        proc_root: &Path,
        h: &Header,
        fallback: Option<&Path>,
    ) -> Option<(Option<String>, Option<String>)> {
        use std::os::unix::fs::MetadataExt;
        // The process's own root; when it is already gone, its container's root on the host.
        let own = proc_root.join(h.pid.to_string()).join("root");
        let (root_dir, meta) = match std::fs::metadata(&own) {
            Ok(m) => (own, m),
            Err(_) => {
                let f = fallback?.to_path_buf();
                let m = std::fs::metadata(&f).ok()?;
                (f, m)
            }
        };
        let key = (meta.dev(), meta.ino());
        if !self.by_root.contains_key(&key) {
            let root = root_dir.join("etc");
            let read = |f: &str| {
                read_capped(&root.join(f), 1 << 20).map(|b| parse_db(&String::from_utf8_lossy(&b)))
            };
            let users = read("passwd")?;
            let groups = read("group").unwrap_or_default();
            if self.by_root.len() >= MAX_NAMESPACES {
                self.by_root.clear();
            }
            self.by_root.insert(key, (users, groups));
        }
        let (users, groups) = self.by_root.get(&key)?;
        Some((users.get(&h.uid).cloned(), groups.get(&h.gid).cloned()))
    }

    fn fill(&mut self, proc_root: &Path, h: &Header, fallback: Option<&Path>, p: &mut Process) {
        let (user, group) = self.lookup(proc_root, h, fallback).unwrap_or((None, None));
        p.user_name = user.or_else(|| user_name(h.uid));
        p.group_name = group.or_else(|| (h.gid == 0).then(|| "root".to_owned()));
    }
}

/// The table. One writer (the event reader thread).
#[derive(Debug)]
pub struct ProcessTable {
    procs: HashMap<u32, Entry>,
    names: Names,
    proc_root: std::path::PathBuf,
    /// Boot time as ns since the epoch (to turn start times into `proc.start_ts`... values).
    boot_epoch_ns: u64,
}

fn read_capped(path: &Path, cap: u64) -> Option<Vec<u8>> {
    use std::io::Read;
    let mut buf = Vec::new();
    std::fs::File::open(path)
        .ok()?
        .take(cap)
        .read_to_end(&mut buf)
        .ok()?;
    Some(buf)
}

/// Splits a NUL-separated `/proc/<pid>/cmdline`.
fn split_nul(bytes: &[u8]) -> Vec<String> {
    bytes
        .split(|b| *b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}

impl ProcessTable {
    pub fn new(proc_root: &Path, boot_epoch_ns: u64) -> Self {
        ProcessTable {
            procs: HashMap::new(),
            names: Names::default(),
            proc_root: proc_root.to_owned(),
            boot_epoch_ns,
        }
    }

    pub fn len(&self) -> usize {
        self.procs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.procs.is_empty()
    }

    /// Reads every running process from `/proc` (start-up).
    pub fn seed(&mut self) {
        let Ok(dir) = std::fs::read_dir(&self.proc_root) else {
            return;
        };
        for e in dir.flatten() {
            if let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) {
                self.load_from_proc(pid);
            }
        }
    }

    /// What `/proc/<pid>` says about a process, if it still runs.
    fn load_from_proc(&mut self, pid: u32) -> Option<Arc<Process>> {
        let base = self.proc_root.join(pid.to_string());
        let stat = read_capped(&base.join("stat"), 4096)?;
        let stat = String::from_utf8_lossy(&stat);
        // "pid (comm) state ppid pgrp session tty_nr ... starttime(22)"
        let open = stat.find('(')?;
        let close = stat.rfind(')')?;
        let comm = stat.get(open + 1..close)?.to_owned();
        let rest: Vec<&str> = stat.get(close + 2..)?.split(' ').collect();
        let ppid: u32 = rest.get(1)?.parse().ok()?;
        let sid: i64 = rest.get(3)?.parse().ok()?;
        let tty: u32 = rest.get(4)?.parse::<i64>().ok()? as u32;
        let argv = split_nul(&read_capped(&base.join("cmdline"), 4096).unwrap_or_default());
        let exepath = std::fs::read_link(base.join("exe"))
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let cwd = std::fs::read_link(base.join("cwd"))
            .ok()
            .map(|p| p.to_string_lossy().into_owned());
        let status = read_capped(&base.join("status"), 8192).unwrap_or_default();
        let status = String::from_utf8_lossy(&status);
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .map(str::trim)
        };
        let first_u32 = |name: &str| {
            field(name)
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse::<u32>().ok())
        };
        let hex = |name: &str| field(name).and_then(|v| u64::from_str_radix(v, 16).ok());
        let vpid = field("NSpid:")
            .and_then(|v| v.split_whitespace().last())
            .and_then(|v| v.parse::<i64>().ok());
        let loginuid = read_capped(&base.join("loginuid"), 32)
            .and_then(|b| String::from_utf8_lossy(&b).trim().parse::<u32>().ok());
        let mut p = Process {
            pid: i64::from(pid),
            vpid,
            name: comm,
            exe: argv.first().cloned().unwrap_or_default(),
            exepath,
            args: argv.iter().skip(1).cloned().collect(),
            cwd,
            tty,
            sid: Some(sid),
            uid: first_u32("Uid:"),
            gid: first_u32("Gid:"),
            loginuid: Some(loginuid.map_or(-1, |l| if l == u32::MAX { -1 } else { i64::from(l) })),
            cap_effective: hex("CapEff:"),
            cap_permitted: hex("CapPrm:"),
            cap_inheritable: hex("CapInh:"),
            ..Process::default()
        };
        p.user_name = p.uid.and_then(user_name);
        let proc = Arc::new(p);
        self.insert(
            pid,
            Entry {
                ppid,
                start_boot_ns: 0,
                proc: Arc::clone(&proc),
            },
        );
        Some(proc)
    }

    fn insert(&mut self, pid: u32, entry: Entry) {
        if self.procs.len() >= MAX_PROCESSES && !self.procs.contains_key(&pid) {
            // Drop entries whose process is gone; if none, the one with the oldest start.
            let proc_root = self.proc_root.clone();
            self.procs
                .retain(|pid, _| proc_root.join(pid.to_string()).exists());
            if self.procs.len() >= MAX_PROCESSES
                && let Some(oldest) = self
                    .procs
                    .iter()
                    .min_by_key(|(_, e)| e.start_boot_ns)
                    .map(|(p, _)| *p)
            {
                self.procs.remove(&oldest);
            }
        }
        self.procs.insert(pid, entry);
    }

    /// The process of an event's header, from the table or, for a process the monitor has not
    /// seen yet (started before it), from `/proc`. The header's credentials are the current ones
    /// and replace the remembered ones.
    /// `root`: the root filesystem of the process's container on the host, if known (names are
    /// read from it when the process is already gone).
    pub fn process(&mut self, h: &Header, root: Option<&Path>) -> Arc<Process> {
        let known = self.procs.get(&h.pid).filter(|e| {
            e.start_boot_ns == 0 || h.start_boot_ns == 0 || e.start_boot_ns == h.start_boot_ns
        });
        let base = match known {
            Some(e) => Arc::clone(&e.proc),
            None => match self.load_from_proc(h.pid) {
                Some(p) => p,
                None => {
                    // Gone already: what the header says.
                    let p = Arc::new(Process {
                        pid: i64::from(h.pid),
                        name: h.comm.clone(),
                        ..Process::default()
                    });
                    self.insert(
                        h.pid,
                        Entry {
                            ppid: h.ppid,
                            start_boot_ns: h.start_boot_ns,
                            proc: Arc::clone(&p),
                        },
                    );
                    p
                }
            },
        };
        if creds_match(&base, h) {
            return base;
        }
        // Credentials changed since (setuid, capset): a fresh snapshot for this and later events.
        let mut p = (*base).clone();
        set_creds(&mut p, h);
        self.names.fill(&self.proc_root, h, root, &mut p);
        let p = Arc::new(p);
        if let Some(e) = self.procs.get_mut(&h.pid) {
            e.proc = Arc::clone(&p);
        }
        p
    }

    /// The ancestors of `pid`, parent first.
    pub fn ancestors(&mut self, pid: u32) -> Vec<Arc<Process>> {
        let mut out = Vec::new();
        let mut cur = self.procs.get(&pid).map(|e| e.ppid);
        while let Some(ppid) = cur {
            if ppid == 0 || out.len() >= MAX_ANCESTORS {
                break;
            }
            let entry = match self.procs.get(&ppid) {
                Some(e) => Some((Arc::clone(&e.proc), e.ppid)),
                None => self
                    .load_from_proc(ppid)
                    .and_then(|p| self.procs.get(&ppid).map(|e| (p, e.ppid))),
            };
            match entry {
                Some((p, next)) => {
                    out.push(p);
                    cur = (next != ppid).then_some(next);
                }
                None => break,
            }
        }
        out
    }

    /// A fork: the child starts as a copy of its parent.
    pub fn fork(&mut self, f: &Fork) {
        let parent = self.process(&f.header, None);
        let mut child = (*parent).clone();
        child.pid = i64::from(f.child_pid);
        child.vpid = None;
        child.start_ns = Some(self.boot_epoch_ns.saturating_add(f.child_start_boot_ns));
        self.insert(
            f.child_pid,
            Entry {
                ppid: f.header.pid,
                start_boot_ns: f.child_start_boot_ns,
                proc: Arc::new(child),
            },
        );
    }

    /// An exec: the process becomes the new program. Returns its new description.
    pub fn exec(&mut self, e: &Exec, vpid: Option<i64>, root: Option<&Path>) -> Arc<Process> {
        let h = &e.header;
        let prev_start = self.procs.get(&h.pid).map(|x| x.start_ns_or(h));
        let mut p = Process {
            pid: i64::from(h.pid),
            vpid,
            tid: (h.tid != h.pid).then_some(i64::from(h.tid)),
            name: h.comm.clone(),
            exe: e.argv.first().cloned().unwrap_or_else(|| e.path.clone()),
            exepath: e.path.clone(),
            args: e.argv.iter().skip(1).cloned().collect(),
            cwd: (!e.cwd.is_empty()).then(|| e.cwd.clone()),
            tty: e.tty_nr,
            sid: Some(i64::from(e.sid)),
            vpgid: Some(i64::from(e.vpgid)),
            env: Some(e.env.clone()),
            start_ns: prev_start
                .flatten()
                .or(Some(self.boot_epoch_ns.saturating_add(h.start_boot_ns))),
            is_exe_upper_layer: Some(e.exe_upper_layer),
            is_exe_from_memfd: Some(e.exe_memfd),
            ..Process::default()
        };
        set_creds(&mut p, h);
        self.names.fill(&self.proc_root, h, root, &mut p);
        let p = Arc::new(p);
        self.insert(
            h.pid,
            Entry {
                ppid: h.ppid,
                start_boot_ns: h.start_boot_ns,
                proc: Arc::clone(&p),
            },
        );
        p
    }

    /// An exit: the entry goes.
    pub fn exit(&mut self, h: &Header) {
        if let Some(e) = self.procs.get(&h.pid)
            && (e.start_boot_ns == 0 || h.start_boot_ns == 0 || e.start_boot_ns == h.start_boot_ns)
        {
            self.procs.remove(&h.pid);
        }
    }
}

impl Entry {
    fn start_ns_or(&self, _h: &Header) -> Option<u64> {
        self.proc.start_ns
    }
}

fn creds_match(p: &Process, h: &Header) -> bool {
    p.uid == Some(h.uid)
        && p.gid == Some(h.gid)
        && p.cap_effective == Some(h.cap_effective)
        && p.cap_permitted == Some(h.cap_permitted)
        && p.loginuid == Some(loginuid(h.loginuid))
}

fn loginuid(l: u32) -> i64 {
    if l == u32::MAX { -1 } else { i64::from(l) }
}

fn set_creds(p: &mut Process, h: &Header) {
    p.uid = Some(h.uid);
    p.gid = Some(h.gid);
    p.cap_effective = Some(h.cap_effective);
    p.cap_permitted = Some(h.cap_permitted);
    p.loginuid = Some(loginuid(h.loginuid));
}

/// `user.name`: `root` for 0 (what every image calls it); other names are resolved per
/// container by the caller when it can read the container's /etc/passwd.
fn user_name(uid: u32) -> Option<String> {
    (uid == 0).then(|| "root".to_owned())
}
