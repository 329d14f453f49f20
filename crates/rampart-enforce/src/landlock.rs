//! The file and TCP-port part of a policy, as a Landlock ruleset applied to the current process
//! (and inherited by everything it execs and forks).
//!
//! Landlock is an allow-list: every handled access is denied unless a rule grants it on the
//! file or on a directory above it. The ruleset built from a [`Policy`]:
//!
//! | access | granted beneath |
//! |---|---|
//! | execute | each `exec` path, and the interpreters they need ([`crate::elf`]) |
//! | write, create, remove, rename (`Refer`), truncate | each `writable` path, the usual character devices (`/dev/null`...) |
//! | read file, read directory | `/`, or with `never-read` paths the sibling trick below; the writable paths |
//! | device ioctl | `/dev` |
//! | TCP bind | the `listen` TCP ports and port 0 (ABI 4) |
//! | TCP connect | the ports of the TCP `egress` rules, when every TCP rule has a port range (ABI 4) |
//!
//! **Never read, on an allow-list.** A rule cannot be subtracted, so a never-read path `P` gets
//! no rule at all: every ancestor `A` of `P` gets read-directory access (listing), and every
//! entry of `A` that is neither `P` nor another ancestor gets full read access. Entries are
//! enumerated when the ruleset is built; a file created later directly in an ancestor directory
//! is unreadable (no rule covers it), and the names beneath a never-read directory stay
//! listable (read-directory is inherited from its ancestors). Symbolic links among the entries
//! get no rule: opening through one resolves to its target, which has its own.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use landlock::{
    ABI, Access as _, AccessFs, AccessNet, BitFlags, CompatLevel, Compatible, LandlockStatus,
    NetPort, PathBeneath, PathFd, Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetStatus,
};
use serde::{Deserialize, Serialize};

use crate::root::Root;
use crate::{Error, Mode, Policy, Protocol};

/// The Landlock ABI the ruleset is written for (Linux 6.15+: audit-log flags). On an older
/// kernel the landlock crate drops what it cannot enforce, and [`Applied`] says so.
pub const TARGET_ABI: ABI = ABI::V7;

/// Writing is allowed to these devices whatever the policy (programs write to them routinely;
/// they hold no state).
pub const DEVICES: [&str; 6] = [
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/tty",
    "/dev/ptmx",
    "/dev/pts",
];

/// The most TCP ports expanded into individual Landlock port rules; a policy allowing more
/// leaves TCP connect to the cgroup programs.
pub const MAX_PORT_RULES: usize = 4096;

/// The most files read to find the interpreters of exec directories.
pub const MAX_EXEC_FILES: usize = 20_000;

/// An access judged by [`Plan::would_deny`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Access {
    /// execve of the file (or its opening as an interpreter)
    Execute,
    /// opening for write, creating, removing, renaming, truncating
    Write,
    /// opening for read, listing a directory's entries excepted
    Read,
}

/// The ruleset computed from a policy in the current mount namespace (the container's, when
/// the guard computes it): which paths get which rights.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Plan {
    /// execute is granted beneath these (the policy's, then the interpreters); like every path
    /// of the plan, resolved through symlinks when it exists
    pub exec: BTreeSet<PathBuf>,
    /// interpreters added to the exec list (PT_INTERP, `#!`)
    pub interpreters: BTreeSet<PathBuf>,
    /// write rights are granted beneath these
    pub writable: BTreeSet<PathBuf>,
    /// read rights are granted beneath these
    pub read: BTreeSet<PathBuf>,
    /// only listing (read-directory) is granted beneath these: the ancestors of never-read paths
    pub list_only: BTreeSet<PathBuf>,
    /// the never-read paths (resolved when they exist)
    pub never_read: BTreeSet<PathBuf>,
    /// TCP ports that may be bound, when Landlock restricts bind
    pub tcp_bind: Option<BTreeSet<u16>>,
    /// TCP ports that may be connected to, when Landlock restricts connect
    pub tcp_connect: Option<BTreeSet<u16>>,
    /// what the policy asks that this ruleset does not enforce, and why
    pub not_enforced: Vec<String>,
}

/// What [`apply`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Applied {
    /// whether the ruleset restricts the process (false in audit mode)
    pub restricted: bool,
    /// the kernel's Landlock ABI as the crate uses it (0: none)
    pub abi: i32,
    /// `fully-enforced`, `partially-enforced` or `not-enforced` (the crate's status)
    pub status: String,
    /// whether no_new_privs is set
    pub no_new_privs: bool,
    /// denials of executed programs are logged to audit (LANDLOCK_RESTRICT_SELF_LOG_NEW_EXEC_ON)
    pub log_new_exec: bool,
    /// the ruleset
    pub plan: Plan,
}

fn absolute(p: &Path) -> Result<PathBuf, Error> {
    if !p.is_absolute() {
        return Err(Error::RelativePath(p.to_path_buf()));
    }
    // lexical normalisation: `.` and `..` (a policy path is not resolved through symlinks here;
    // the kernel resolves the rule's file when the rule is added)
    let mut out = PathBuf::from("/");
    for c in p.components() {
        match c {
            Component::Normal(s) => out.push(s),
            Component::ParentDir => {
                out.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    Ok(out)
}

/// `p` resolved through symlinks within `root` when it exists, else normalised.
fn resolved(root: &Root, p: &Path) -> Result<PathBuf, Error> {
    Ok(root.resolve(&absolute(p)?))
}

fn beneath(path: &Path, dir: &Path) -> bool {
    path.starts_with(dir)
}

impl Plan {
    /// Computes the ruleset for `policy` from the filesystem as this process sees it.
    pub fn new(policy: &Policy) -> Result<Self, Error> {
        Self::new_in(policy, &Root::host())
    }

    /// Computes the ruleset for `policy` from the filesystem under `root`: a container's, seen
    /// from the host (`/proc/PID/root`), for the monitor's file guard. The paths of the plan are
    /// the container's.
    pub fn new_in(policy: &Policy, root: &Root) -> Result<Self, Error> {
        let exists = |p: &Path| std::fs::symlink_metadata(root.outside(p)).is_ok();
        let mut not_enforced = Vec::new();
        let mut exec = BTreeSet::new();
        for p in &policy.exec {
            let p = resolved(root, p)?;
            if exists(&p) {
                exec.insert(p);
            } else {
                not_enforced.push(format!("exec {}: does not exist, no rule", p.display()));
            }
        }
        let (interp, complete) = crate::elf::interpreters_beneath_in(
            root,
            &exec.iter().cloned().collect::<Vec<_>>(),
            MAX_EXEC_FILES,
        );
        if !complete {
            not_enforced.push(format!(
                "exec: more than {MAX_EXEC_FILES} files beneath the exec paths, interpreters of the rest not added"
            ));
        }
        let interpreters: BTreeSet<PathBuf> = interp
            .into_iter()
            .filter_map(|i| resolved(root, &i).ok())
            .filter(|i| exists(i) && !exec.iter().any(|e| beneath(i, e)))
            .collect();
        exec.extend(interpreters.iter().cloned());

        let mut writable = BTreeSet::new();
        for p in &policy.writable {
            let p = resolved(root, p)?;
            if exists(&p) {
                writable.insert(p);
            } else {
                not_enforced.push(format!("writable {}: does not exist, no rule", p.display()));
            }
        }
        for d in DEVICES {
            let d = PathBuf::from(d);
            if exists(&d) {
                writable.insert(d);
            }
        }

        let mut never_read = BTreeSet::new();
        for p in &policy.never_read {
            never_read.insert(resolved(root, p)?);
        }
        for n in &never_read {
            for w in &writable {
                if beneath(n, w) {
                    not_enforced.push(format!(
                        "never-read {}: beneath writable {}, which is readable (files created there must be)",
                        n.display(),
                        w.display()
                    ));
                }
            }
            for e in &exec {
                if beneath(n, e) && n != e {
                    // execute is granted, reading is not: the file can still be run
                    not_enforced.push(format!(
                        "never-read {}: beneath exec {}, it can be executed (not read)",
                        n.display(),
                        e.display()
                    ));
                }
            }
        }
        let (read, list_only) = read_rules(root, &never_read);

        let tcp_bind = Some(
            std::iter::once(0)
                .chain(
                    policy
                        .listen
                        .iter()
                        .filter(|l| l.protocol == Protocol::Tcp)
                        .map(|l| l.port),
                )
                .collect(),
        );
        let tcp_connect = connect_ports(policy, &mut not_enforced);
        if policy.egress.iter().any(|e| e.protocol == Protocol::Udp)
            || policy.listen.iter().any(|l| l.protocol == Protocol::Udp)
        {
            not_enforced
                .push("udp: Landlock has no UDP rights, the cgroup programs enforce UDP".into());
        }
        not_enforced.push(
            "network destinations: Landlock rules are ports only, the cgroup programs enforce addresses".into(),
        );
        Ok(Self {
            exec,
            interpreters,
            writable,
            read,
            list_only,
            never_read,
            tcp_bind,
            tcp_connect,
            not_enforced,
        })
    }

    /// Whether the ruleset denies `access` to `path` (an absolute path as the kernel resolved
    /// it, as in the monitor's events): the same rules the kernel enforces in enforce mode,
    /// judged in user space for audit mode.
    pub fn would_deny(&self, access: Access, path: &Path) -> bool {
        let under = |set: &BTreeSet<PathBuf>| set.iter().any(|d| beneath(path, d));
        match access {
            Access::Execute => !under(&self.exec),
            Access::Write => !under(&self.writable),
            Access::Read => !(under(&self.read) || under(&self.writable)),
        }
    }

    /// Whether the intent forbids reading `path`: beneath a never-read path and not beneath a
    /// writable one. The file guard's read rule; Landlock's allow-list approximates it with the
    /// sibling trick (a file created later beside a never-read path is unreadable there too).
    pub fn forbids_read(&self, path: &Path) -> bool {
        self.never_read.iter().any(|n| beneath(path, n))
            && !self.writable.iter().any(|w| beneath(path, w))
    }
}

/// The read rules: `/` without never-read paths, else the sibling trick.
fn read_rules(
    root: &Root,
    never_read: &BTreeSet<PathBuf>,
) -> (BTreeSet<PathBuf>, BTreeSet<PathBuf>) {
    let mut read = BTreeSet::new();
    let mut list_only = BTreeSet::new();
    if never_read.contains(Path::new("/")) {
        // nothing is readable
        return (read, list_only);
    }
    if never_read.is_empty() {
        read.insert(PathBuf::from("/"));
        return (read, list_only);
    }
    let ancestors: BTreeSet<PathBuf> = never_read
        .iter()
        .flat_map(|p| p.ancestors().skip(1).map(Path::to_path_buf))
        .collect();
    let mut stack = vec![PathBuf::from("/")];
    while let Some(dir) = stack.pop() {
        list_only.insert(dir.clone());
        let Ok(entries) = std::fs::read_dir(root.outside(&dir)) else {
            continue;
        };
        for e in entries.flatten() {
            let p = dir.join(e.file_name());
            if never_read.contains(&p) {
                continue;
            }
            let is_link = e.file_type().is_ok_and(|t| t.is_symlink());
            if ancestors.contains(&p) {
                if !is_link {
                    stack.push(p);
                }
                continue;
            }
            if !is_link {
                read.insert(p);
            }
        }
    }
    (read, list_only)
}

fn connect_ports(policy: &Policy, notes: &mut Vec<String>) -> Option<BTreeSet<u16>> {
    let mut ports = BTreeSet::new();
    for e in policy.egress.iter().filter(|e| e.protocol == Protocol::Tcp) {
        let Some((lo, hi)) = e.ports else {
            notes.push(format!(
                "tcp connect: egress {} allows every port, Landlock does not restrict connect ports",
                e.net
            ));
            return None;
        };
        ports.extend(lo..=hi);
        if ports.len() > MAX_PORT_RULES {
            notes.push(format!(
                "tcp connect: more than {MAX_PORT_RULES} ports, Landlock does not restrict connect ports"
            ));
            return None;
        }
    }
    Some(ports)
}

/// Applies `policy` to the current process (and its future children): in enforce mode, builds
/// the ruleset of [`Plan::new`] and restricts the process (setting no_new_privs); in audit mode
/// computes the plan and restricts nothing. Never silent: the result says which ABI and which
/// rights were enforced, and what was not.
pub fn apply(policy: &Policy) -> Result<Applied, Error> {
    let mut plan = Plan::new(policy)?;
    if policy.mode == Mode::Audit {
        plan.not_enforced.push(
            "audit mode: Landlock has no permissive mode, nothing is restricted; judge events with Plan::would_deny"
                .into(),
        );
        return Ok(Applied {
            restricted: false,
            abi: 0,
            status: "not-enforced".into(),
            no_new_privs: false,
            log_new_exec: false,
            plan,
        });
    }
    let fs_all = AccessFs::from_all(TARGET_ABI);
    let read = AccessFs::ReadFile | AccessFs::ReadDir;
    let write = AccessFs::from_write(TARGET_ABI) & !BitFlags::from(AccessFs::IoctlDev);
    let mut net: BitFlags<AccessNet> = AccessNet::BindTcp.into();
    if plan.tcp_connect.is_some() {
        net |= AccessNet::ConnectTcp;
    }
    let mut ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(fs_all)?
        .handle_access(net)?
        .create()?
        .no_new_privs(true);
    let mut rules: Vec<(PathBuf, BitFlags<AccessFs>)> = Vec::new();
    rules.extend(plan.read.iter().map(|p| (p.clone(), read)));
    rules.extend(
        plan.list_only
            .iter()
            .map(|p| (p.clone(), AccessFs::ReadDir.into())),
    );
    rules.extend(
        plan.exec
            .iter()
            .map(|p| (p.clone(), AccessFs::Execute.into())),
    );
    rules.extend(plan.writable.iter().map(|p| (p.clone(), write | read)));
    rules.push((PathBuf::from("/dev"), AccessFs::IoctlDev.into()));
    for (path, access) in rules {
        let Ok(fd) = PathFd::new(&path) else {
            plan.not_enforced
                .push(format!("{}: cannot be opened, no rule", path.display()));
            continue;
        };
        // a rule on a file may only carry file rights
        let access = if path.is_dir() {
            access
        } else {
            access & AccessFs::from_file(TARGET_ABI)
        };
        if access.is_empty() {
            continue;
        }
        ruleset = ruleset.add_rule(PathBeneath::new(fd, access))?;
    }
    for port in plan.tcp_bind.iter().flatten() {
        ruleset = ruleset.add_rule(NetPort::new(*port, AccessNet::BindTcp))?;
    }
    for port in plan.tcp_connect.iter().flatten() {
        ruleset = ruleset.add_rule(NetPort::new(*port, AccessNet::ConnectTcp))?;
    }
    // denials by the programs exec'd after this point (the entrypoint and its children) are
    // logged to audit (ABI 7; ignored before)
    let ruleset = ruleset.log_new_exec(true)?;
    let status = ruleset.restrict_self()?;
    let abi = match status.landlock {
        LandlockStatus::Available { effective_abi, .. } => effective_abi as i32,
        LandlockStatus::NotEnabled => {
            return Err(Error::LandlockUnavailable(
                "not enabled (EOPNOTSUPP)".into(),
            ));
        }
        LandlockStatus::NotImplemented => {
            return Err(Error::LandlockUnavailable("not built (ENOSYS)".into()));
        }
    };
    let status_name = match status.ruleset {
        RulesetStatus::FullyEnforced => "fully-enforced",
        RulesetStatus::PartiallyEnforced => "partially-enforced",
        RulesetStatus::NotEnforced => "not-enforced",
    };
    if status.ruleset != RulesetStatus::FullyEnforced {
        plan.not_enforced.push(format!(
            "landlock ABI {abi} is older than {}: rights it lacks are not enforced ({status_name})",
            TARGET_ABI as i32
        ));
    }
    Ok(Applied {
        restricted: status.ruleset != RulesetStatus::NotEnforced,
        abi,
        status: status_name.into(),
        no_new_privs: status.no_new_privs,
        log_new_exec: status.log_new_exec,
        plan,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Egress, Listen};

    fn policy() -> Policy {
        Policy {
            mode: Mode::Enforce,
            exec: vec!["/bin".into()],
            writable: vec!["/tmp".into()],
            never_read: vec![],
            egress: vec![],
            listen: vec![],
        }
    }

    #[test]
    fn the_sibling_trick_grants_everything_but_the_forbidden_path() {
        let d = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(d.path()).unwrap();
        std::fs::create_dir_all(base.join("etc/ssl")).unwrap();
        std::fs::write(base.join("etc/shadow"), "x").unwrap();
        std::fs::write(base.join("etc/passwd"), "x").unwrap();
        std::os::unix::fs::symlink("shadow", base.join("etc/link")).unwrap();
        let mut p = policy();
        p.never_read = vec![base.join("etc/shadow")];
        // the temporary directory is beneath writable /tmp: readable, and said so
        let plan = Plan::new(&p).unwrap();
        assert!(!plan.would_deny(Access::Read, &base.join("etc/shadow")));
        assert!(
            plan.not_enforced
                .iter()
                .any(|n| n.contains("beneath writable /tmp"))
        );
        p.writable = vec![];
        let plan = Plan::new(&p).unwrap();
        assert!(plan.read.contains(&base.join("etc/passwd")));
        assert!(plan.read.contains(&base.join("etc/ssl")));
        assert!(!plan.read.contains(&base.join("etc/shadow")));
        // no rule on a symlink (it would grant its target)
        assert!(!plan.read.contains(&base.join("etc/link")));
        assert!(plan.list_only.contains(&base.join("etc")));
        assert!(plan.list_only.contains(Path::new("/")));
        assert!(plan.would_deny(Access::Read, &base.join("etc/shadow")));
        assert!(!plan.would_deny(Access::Read, &base.join("etc/passwd")));
        assert!(!plan.would_deny(Access::Read, &base.join("etc/ssl/cert.pem")));
        // created later in an ancestor: no rule covers it
        assert!(plan.would_deny(Access::Read, &base.join("etc/new")));
        // the rest of the system stays readable
        assert!(!plan.would_deny(Access::Read, Path::new("/usr/bin/env")));
    }

    #[test]
    fn exec_and_write_are_allow_lists() {
        let plan = Plan::new(&policy()).unwrap();
        let sh = std::fs::canonicalize("/bin/sh").unwrap();
        assert!(!plan.would_deny(Access::Execute, &sh));
        assert!(plan.would_deny(Access::Execute, Path::new("/tmp/tool")));
        assert!(!plan.would_deny(Access::Write, Path::new("/tmp/x")));
        assert!(!plan.would_deny(Access::Write, Path::new("/dev/null")));
        assert!(plan.would_deny(Access::Write, Path::new("/usr/bin/x")));
        // /bin/sh's loader is outside /bin on Debian (/lib64 -> usr/lib...): added
        assert!(
            plan.interpreters
                .iter()
                .any(|i| i.to_string_lossy().contains("ld-linux")),
            "{:?}",
            plan.interpreters
        );
    }

    #[test]
    fn tcp_ports_go_to_landlock_only_when_bounded() {
        let mut p = policy();
        p.listen = vec![Listen {
            port: 8080,
            protocol: Protocol::Tcp,
        }];
        p.egress = vec![Egress {
            net: "10.0.0.0/8".parse().unwrap(),
            ports: Some((443, 444)),
            protocol: Protocol::Tcp,
        }];
        let plan = Plan::new(&p).unwrap();
        assert_eq!(plan.tcp_connect, Some([443, 444].into()));
        assert_eq!(plan.tcp_bind, Some([0, 8080].into()));
        p.egress.push(Egress {
            net: "192.0.2.0/24".parse().unwrap(),
            ports: None,
            protocol: Protocol::Tcp,
        });
        let plan = Plan::new(&p).unwrap();
        assert_eq!(plan.tcp_connect, None);
        assert!(plan.not_enforced.iter().any(|n| n.contains("every port")));
    }

    #[test]
    fn never_reading_the_root_leaves_nothing_readable() {
        let mut p = policy();
        p.writable = vec![];
        p.never_read = vec!["/".into()];
        let plan = Plan::new(&p).unwrap();
        assert!(plan.read.is_empty() && plan.list_only.is_empty());
        assert!(plan.would_deny(Access::Read, Path::new("/etc/passwd")));
    }

    #[test]
    fn relative_paths_are_refused() {
        let mut p = policy();
        p.writable = vec!["tmp".into()];
        assert!(matches!(Plan::new(&p), Err(Error::RelativePath(_))));
    }
}
