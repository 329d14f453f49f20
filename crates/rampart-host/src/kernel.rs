//! The kernel: its version and the container escapes known for it, the active security
//! modules, seccomp, the cgroup version, unprivileged user namespaces and BPF, and the
//! hardening sysctls, read from `/proc` and `/sys` (of the node, or of an offline copy).

use std::fmt;

use crate::Host;
use crate::root::Root;
use rampart_core::{Layer, RefKind, Reference, Rule, RuleTarget, Severity};

/// A kernel version, `major.minor.patch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(pub u32, pub u32, pub u32);

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

impl Version {
    /// The leading `a.b[.c]` of a release string (`6.1.0-28-amd64`, `5.15.0-91-generic`).
    pub fn parse(s: &str) -> Option<Version> {
        let head: String = s
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        let mut it = head.split('.').filter(|p| !p.is_empty());
        let major = it.next()?.parse().ok()?;
        let minor = it.next()?.parse().ok()?;
        let patch = it.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        Some(Version(major, minor, patch))
    }
}

/// Where the kernel's version was read, and how far it tells what the kernel holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelVersion {
    /// the release as the node reports it (`uname -r`)
    pub release: String,
    /// the upstream version its fixes can be compared with
    pub upstream: Option<Version>,
    /// a distribution's own build (its fixes may be backported under an older number)
    pub distribution: Option<String>,
}

/// Reads the kernel's release and the upstream version behind it: Debian's and Ubuntu's
/// kernels carry it in `/proc/version` (`Debian 6.1.119-1`) and `/proc/version_signature`
/// (`Ubuntu 5.15.0-91.101-generic 5.15.131`), since their release string keeps the ABI's
/// `.0`.
pub fn version(root: &Root) -> Option<KernelVersion> {
    let release = root
        .read_value("/proc/sys/kernel/osrelease")
        .ok()
        .flatten()?;
    let banner = root
        .read("/proc/version")
        .ok()
        .flatten()
        .unwrap_or_default();
    let signature = root
        .read_value("/proc/version_signature")
        .ok()
        .flatten()
        .unwrap_or_default();
    if let Some(v) = signature
        .split_whitespace()
        .nth(2)
        .and_then(Version::parse)
        .filter(|_| signature.starts_with("Ubuntu"))
    {
        return Some(KernelVersion {
            release,
            upstream: Some(v),
            distribution: Some("Ubuntu".into()),
        });
    }
    if let Some(i) = banner.find(" Debian ") {
        let after = banner.get(i + 8..).unwrap_or("");
        if let Some(v) = Version::parse(after) {
            return Some(KernelVersion {
                release,
                upstream: Some(v),
                distribution: Some("Debian".into()),
            });
        }
    }
    // Red Hat's and SUSE's builds backport under the base version: only the base is known
    let distribution = [
        "el7", "el8", "el9", ".el", "-default", "amzn", "azure", "gke", "-aws",
    ]
    .iter()
    .find(|m| release.contains(*m))
    .map(|m| format!("a distribution build (`{m}`)"));
    Some(KernelVersion {
        upstream: Version::parse(&release),
        release,
        distribution,
    })
}

/// A container escape known for a range of kernels.
pub struct Escape {
    pub cve: &'static str,
    pub name: &'static str,
    /// the first affected version
    pub introduced: Version,
    /// fixed in mainline from this version on
    pub mainline: Version,
    /// the stable branches that got the fix earlier: `(major, minor, first fixed patch)`
    pub stable: &'static [(u32, u32, u32)],
    /// why it matters to containers
    pub why: &'static str,
    pub source: &'static str,
}

/// The table (docs/host.md lists its sources). Stable fix versions from the Linux kernel
/// CVE tracker (github.com/nluedtke/linux_kernel_cves, `data/<branch>/<branch>_CVEs.txt`)
/// and the advisories named in `source`.
pub static ESCAPES: &[Escape] = &[
    Escape {
        cve: "CVE-2016-5195",
        name: "Dirty COW",
        introduced: Version(2, 6, 22),
        mainline: Version(4, 9, 0),
        stable: &[(4, 8, 3), (4, 7, 9), (4, 4, 26)],
        why: "a race in copy-on-write lets any process write read-only mappings: a container writes the host's files through a shared read-only mount (the vDSO escape)",
        source: "https://dirtycow.ninja, https://nvd.nist.gov/vuln/detail/CVE-2016-5195",
    },
    Escape {
        cve: "CVE-2022-0185",
        name: "fsconfig heap overflow",
        introduced: Version(5, 1, 0),
        mainline: Version(5, 16, 2),
        stable: &[(5, 15, 16), (5, 10, 93), (5, 4, 173)],
        why: "a heap overflow in legacy_parse_param, reachable by an unprivileged user namespace with CAP_SYS_ADMIN inside it: a container escape where user namespaces are allowed",
        source: "https://nvd.nist.gov/vuln/detail/CVE-2022-0185",
    },
    Escape {
        cve: "CVE-2022-0492",
        name: "cgroup v1 release_agent",
        introduced: Version(2, 6, 24),
        mainline: Version(5, 17, 0),
        stable: &[
            (5, 16, 6),
            (5, 15, 20),
            (5, 10, 97),
            (5, 4, 177),
            (4, 19, 229),
        ],
        why: "writing a cgroup v1 release_agent was not restricted to the initial user namespace's CAP_SYS_ADMIN: a container without AppArmor, SELinux or seccomp runs a command on the host",
        source: "https://unit42.paloaltonetworks.com/cve-2022-0492-cgroups/, https://nvd.nist.gov/vuln/detail/CVE-2022-0492",
    },
    Escape {
        cve: "CVE-2022-0847",
        name: "Dirty Pipe",
        introduced: Version(5, 8, 0),
        mainline: Version(5, 16, 11),
        stable: &[(5, 15, 25), (5, 10, 102)],
        why: "pipe buffers' flags were left uninitialised: any process overwrites read-only files, including the host's runc binary or files of other containers' image layers",
        source: "https://dirtypipe.cm4all.com, https://nvd.nist.gov/vuln/detail/CVE-2022-0847",
    },
];

impl Escape {
    /// Whether version `v` lacks the fix.
    pub fn affects(&self, v: Version) -> bool {
        if v < self.introduced || v >= self.mainline {
            return false;
        }
        // on a stable branch that got the fix
        match self
            .stable
            .iter()
            .find(|(ma, mi, _)| *ma == v.0 && *mi == v.1)
        {
            Some((_, _, p)) => v.2 < *p,
            None => true,
        }
    }
}

const KERNEL_DOCS: Reference = Reference::new(
    RefKind::Docs,
    "Linux kernel CVEs by stable branch",
    "https://github.com/nluedtke/linux_kernel_cves",
);

pub static KERNEL_ESCAPE: Rule = Rule {
    id: "HOST001",
    name: "kernel-container-escape",
    title: "The kernel has a known container-escape vulnerability",
    severity: Severity::Critical,
    layer: Layer::Host,
    target: RuleTarget::Host,
    rationale: "Every container shares the node's kernel: a kernel flaw that lets a process write read-only files or gain the host's privileges undoes every layer above it, whatever the pod's securityContext says.",
    remediation: "Update the kernel to a release that carries the fix (the finding names the first fixed version of its stable branch) and reboot the node.",
    bad_example: "/proc/sys/kernel/osrelease: 5.10.90",
    good_example: "/proc/sys/kernel/osrelease: 5.10.200",
    references: &[KERNEL_DOCS],
};

pub static NO_MAC: Rule = Rule {
    id: "HOST002",
    name: "no-mandatory-access-control",
    title: "No AppArmor or SELinux on the node",
    severity: Severity::Medium,
    layer: Layer::Host,
    target: RuleTarget::Host,
    rationale: "AppArmor and SELinux confine a container's processes even when they run as root and a runtime or kernel flaw lets them out of their namespaces; the runtimes' default profiles stop known escapes (the cgroup release_agent escape among them). Without either, the pod's `appArmorProfile` and `seLinuxOptions` do nothing.",
    remediation: "Boot the node with AppArmor (`security=apparmor`, Debian and Ubuntu) or SELinux (RHEL family) enabled and keep the container runtime's default profiles; Landlock and BPF LSM do not replace them for containers.",
    bad_example: "/sys/kernel/security/lsm: lockdown,capability,landlock,bpf",
    good_example: "/sys/kernel/security/lsm: lockdown,capability,landlock,yama,apparmor,bpf",
    references: &[Reference::new(
        RefKind::Docs,
        "Kubernetes: restrict a container's access with AppArmor",
        "https://kubernetes.io/docs/tutorials/security/apparmor/",
    )],
};

pub static NO_SECCOMP: Rule = Rule {
    id: "HOST003",
    name: "seccomp-unavailable",
    title: "The kernel cannot filter system calls (no seccomp)",
    severity: Severity::High,
    layer: Layer::Host,
    target: RuleTarget::Host,
    rationale: "Seccomp is what the runtimes' default profiles and rampart's recorded profiles rest on: without it every system call, including the ones most escapes use (unshare, mount, keyctl, bpf), is open to every container.",
    remediation: "Use a kernel built with CONFIG_SECCOMP and CONFIG_SECCOMP_FILTER (every mainstream distribution's is).",
    bad_example: "/proc/self/status without a Seccomp line; no /proc/sys/kernel/seccomp",
    good_example: "/proc/sys/kernel/seccomp/actions_avail: kill_process kill_thread trap errno user_notif trace log allow",
    references: &[Reference::new(
        RefKind::Docs,
        "Kubernetes: restrict a container's syscalls with seccomp",
        "https://kubernetes.io/docs/tutorials/security/seccomp/",
    )],
};

pub static CGROUP_V1: Rule = Rule {
    id: "HOST004",
    name: "cgroup-v1",
    title: "The node uses cgroup v1",
    severity: Severity::Low,
    layer: Layer::Host,
    target: RuleTarget::Host,
    rationale: "cgroup v1's release_agent and notify_on_release are the mechanism of several escapes (CVE-2022-0492 among them); cgroup v2 has no release agent and delegates safely to unprivileged users. Kubernetes moved cgroup v1 support to maintenance mode in 1.31.",
    remediation: "Boot with the unified hierarchy (`systemd.unified_cgroup_hierarchy=1`; the default of current distributions) and a runtime configured for cgroup v2 (`SystemdCgroup = true`).",
    bad_example: "/sys/fs/cgroup: blkio cpu cpuacct devices memory ...",
    good_example: "/sys/fs/cgroup/cgroup.controllers: cpuset cpu io memory pids",
    references: &[Reference::new(
        RefKind::Docs,
        "Kubernetes: about cgroup v2",
        "https://kubernetes.io/docs/concepts/architecture/cgroups/",
    )],
};

pub static UNPRIVILEGED_USERNS: Rule = Rule {
    id: "HOST005",
    name: "unprivileged-user-namespaces",
    title: "Unprivileged users may create user namespaces",
    severity: Severity::Medium,
    layer: Layer::Host,
    target: RuleTarget::Host,
    rationale: "A user namespace gives its creator CAP_SYS_ADMIN over the namespaces it owns, which opens kernel code (filesystems, netfilter, mount) to unprivileged processes: most kernel escapes of recent years (CVE-2022-0185, CVE-2023-0386, CVE-2024-1086) start there. Containers rarely need it; the runtime's seccomp profile blocks it for containers but not for the node's other processes.",
    remediation: "Set `kernel.unprivileged_userns_clone = 0` (Debian, Ubuntu) or `user.max_user_namespaces = 0` where nothing on the node needs user namespaces (rootless containers do), or restrict them with AppArmor (`kernel.apparmor_restrict_unprivileged_userns = 1`, Ubuntu 23.10+).",
    bad_example: "/proc/sys/kernel/unprivileged_userns_clone: 1",
    good_example: "/proc/sys/kernel/unprivileged_userns_clone: 0",
    references: &[Reference::new(
        RefKind::Docs,
        "user_namespaces(7)",
        "https://man7.org/linux/man-pages/man7/user_namespaces.7.html",
    )],
};

pub static UNPRIVILEGED_BPF: Rule = Rule {
    id: "HOST006",
    name: "unprivileged-bpf",
    title: "Unprivileged users may load BPF programs",
    severity: Severity::High,
    layer: Layer::Host,
    target: RuleTarget::Host,
    rationale: "The BPF verifier has had a long line of privilege-escalation flaws (CVE-2021-3490, CVE-2022-23222...): with unprivileged BPF allowed, any process of any container not blocked by seccomp can reach them.",
    remediation: "Set `kernel.unprivileged_bpf_disabled = 2` (or 1, which cannot be undone until reboot).",
    bad_example: "/proc/sys/kernel/unprivileged_bpf_disabled: 0",
    good_example: "/proc/sys/kernel/unprivileged_bpf_disabled: 2",
    references: &[Reference::new(
        RefKind::Docs,
        "Kernel sysctl documentation: unprivileged_bpf_disabled",
        "https://docs.kernel.org/admin-guide/sysctl/kernel.html#unprivileged-bpf-disabled",
    )],
};

pub static WEAK_SYSCTL: Rule = Rule {
    id: "HOST007",
    name: "kernel-hardening-sysctl",
    title: "A kernel hardening setting is off",
    severity: Severity::Medium,
    layer: Layer::Host,
    target: RuleTarget::Host,
    rationale: "These settings close the information leaks and file tricks that turn a foothold into a privilege escalation: kernel pointers in /proc (kptr_restrict), the kernel log (dmesg_restrict), links and FIFOs in shared sticky directories (fs.protected_*), and ptrace of other processes (Yama).",
    remediation: "Set them in /etc/sysctl.d/ (the finding names the value wanted) and apply with `sysctl --system`.",
    bad_example: "/proc/sys/kernel/kptr_restrict: 0",
    good_example: "/proc/sys/kernel/kptr_restrict: 1",
    references: &[Reference::new(
        RefKind::Docs,
        "Kernel sysctl documentation",
        "https://docs.kernel.org/admin-guide/sysctl/kernel.html",
    )],
};

/// The hardening sysctls: path, the least value wanted, why.
const SYSCTLS: &[(&str, u32, &str)] = &[
    (
        "kernel.kptr_restrict",
        1,
        "kernel addresses in /proc are shown to unprivileged users",
    ),
    (
        "kernel.dmesg_restrict",
        1,
        "unprivileged users read the kernel log",
    ),
    (
        "fs.protected_symlinks",
        1,
        "symlinks in sticky world-writable directories are followed for anyone",
    ),
    (
        "fs.protected_hardlinks",
        1,
        "anyone may hard-link files they cannot write",
    ),
    (
        "fs.protected_fifos",
        1,
        "FIFOs in sticky world-writable directories are opened for anyone",
    ),
    (
        "fs.protected_regular",
        1,
        "regular files in sticky world-writable directories are opened for anyone",
    ),
    (
        "kernel.yama.ptrace_scope",
        1,
        "a process may trace any other process of the same user",
    ),
];

pub static RULES: &[&Rule] = &[
    &KERNEL_ESCAPE,
    &NO_MAC,
    &NO_SECCOMP,
    &CGROUP_V1,
    &UNPRIVILEGED_USERNS,
    &UNPRIVILEGED_BPF,
    &WEAK_SYSCTL,
];

fn sysctl_path(name: &str) -> String {
    format!("/proc/sys/{}", name.replace('.', "/"))
}

/// A sysctl's value; input errors go to the host's errors.
fn sysctl(host: &mut Host, name: &str) -> Option<String> {
    match host.root.read_value(&sysctl_path(name)) {
        Ok(v) => v,
        Err(e) => {
            host.errors.push(e);
            None
        }
    }
}

/// Assesses the kernel.
pub fn assess(host: &mut Host) {
    // the version and its known escapes
    let version = version(&host.root);
    host.summary.kernel = version.as_ref().map(|v| v.release.clone());
    match version.as_ref().and_then(|v| v.upstream.map(|u| (v, u))) {
        Some((kv, v)) => {
            let mut c = host.check(&KERNEL_ESCAPE, "/proc/sys/kernel/osrelease");
            for e in ESCAPES.iter().filter(|e| e.affects(v)) {
                let fixed = e
                    .stable
                    .iter()
                    .find(|(ma, mi, _)| *ma == v.0 && *mi == v.1)
                    .map(|(ma, mi, p)| format!("{ma}.{mi}.{p}"))
                    .unwrap_or_else(|| {
                        format!(
                            "{} (no fix on the {}.{} branch is known to rampart)",
                            e.mainline, v.0, v.1
                        )
                    });
                let caveat = match &kv.distribution {
                    Some(d) if d.starts_with("a distribution") => format!(
                        "; the kernel is {d}, whose fixes may be backported under this number: check its advisory"
                    ),
                    _ => String::new(),
                };
                c.fail(format!(
                    "kernel {v} ({}) has {} ({}), fixed in {fixed}: {}{caveat} ({})",
                    kv.release, e.cve, e.name, e.why, e.source
                ));
            }
            if kv
                .distribution
                .as_deref()
                .is_some_and(|d| d.starts_with("a distribution"))
            {
                c.partly(format!(
                    "kernel {}: {} judged by its base version only",
                    kv.release,
                    kv.distribution.as_deref().unwrap_or("")
                ));
            }
            host.finish(c);
        }
        None => host.not_checked(
            &KERNEL_ESCAPE,
            "the kernel's version could not be read (/proc/sys/kernel/osrelease)",
        ),
    }

    // security modules
    match host.root.read_value("/sys/kernel/security/lsm") {
        Ok(Some(list)) => {
            let lsms: Vec<String> = list
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            let mut c = host.check(&NO_MAC, "/sys/kernel/security/lsm");
            if !lsms
                .iter()
                .any(|l| matches!(l.as_str(), "apparmor" | "selinux" | "smack" | "tomoyo"))
            {
                c.fail(format!(
                    "active security modules: {}: neither AppArmor nor SELinux confines containers",
                    lsms.join(", ")
                ));
            }
            host.finish(c);
            host.summary.lsms = lsms;
        }
        Ok(None) => host.not_checked(
            &NO_MAC,
            "/sys/kernel/security/lsm is absent (securityfs not mounted)",
        ),
        Err(e) => host.errors.push(e),
    }

    // seccomp
    let actions = host
        .root
        .read_value("/proc/sys/kernel/seccomp/actions_avail");
    let status = host.root.read("/proc/self/status");
    let seccomp = match (actions, status) {
        (Ok(Some(a)), _) => Some(a.split_whitespace().any(|x| x == "errno")),
        (_, Ok(Some(s))) => Some(s.lines().any(|l| l.starts_with("Seccomp:"))),
        _ => None,
    };
    host.summary.seccomp = seccomp;
    match seccomp {
        Some(on) => {
            let mut c = host.check(&NO_SECCOMP, "/proc/sys/kernel/seccomp/actions_avail");
            if !on {
                c.fail(
                    "the kernel offers no seccomp filter actions: system calls cannot be filtered",
                );
            }
            host.finish(c);
        }
        None => host.not_checked(
            &NO_SECCOMP,
            "neither /proc/sys/kernel/seccomp nor /proc/self/status could be read",
        ),
    }

    // cgroups
    let cgroup = if host.root.exists("/sys/fs/cgroup/cgroup.controllers") {
        Some("v2")
    } else if host
        .root
        .exists("/sys/fs/cgroup/unified/cgroup.controllers")
        || host.root.exists("/sys/fs/cgroup/unified")
    {
        Some("hybrid")
    } else if !host.root.list("/sys/fs/cgroup").is_empty() {
        Some("v1")
    } else {
        None
    };
    host.summary.cgroup = cgroup.map(str::to_owned);
    match cgroup {
        Some(v) => {
            let mut c = host.check(&CGROUP_V1, "/sys/fs/cgroup");
            if v != "v2" {
                c.fail(format!(
                    "cgroup {v}: the v1 hierarchies (and their release_agent) are in use"
                ));
            }
            host.finish(c);
        }
        None => host.not_checked(&CGROUP_V1, "/sys/fs/cgroup is empty or absent"),
    }

    // unprivileged user namespaces
    let clone = sysctl(host, "kernel.unprivileged_userns_clone");
    let max = sysctl(host, "user.max_user_namespaces");
    let restricted = sysctl(host, "kernel.apparmor_restrict_unprivileged_userns");
    match (clone.as_deref(), max.as_deref()) {
        (None, None) => host.not_checked(
            &UNPRIVILEGED_USERNS,
            "neither kernel.unprivileged_userns_clone nor user.max_user_namespaces could be read",
        ),
        _ => {
            let mut c = host.check(
                &UNPRIVILEGED_USERNS,
                &sysctl_path("user.max_user_namespaces"),
            );
            let off = clone.as_deref() == Some("0")
                || max.as_deref() == Some("0")
                || restricted.as_deref() == Some("1");
            if !off {
                c.fail(format!(
                    "unprivileged processes may create user namespaces ({})",
                    [
                        clone
                            .as_ref()
                            .map(|v| format!("kernel.unprivileged_userns_clone = {v}")),
                        max.as_ref()
                            .map(|v| format!("user.max_user_namespaces = {v}")),
                    ]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(", ")
                ));
            }
            host.finish(c);
        }
    }

    // unprivileged BPF
    match sysctl(host, "kernel.unprivileged_bpf_disabled") {
        Some(v) => {
            let mut c = host.check(
                &UNPRIVILEGED_BPF,
                &sysctl_path("kernel.unprivileged_bpf_disabled"),
            );
            if v == "0" {
                c.fail("kernel.unprivileged_bpf_disabled = 0: any process may load BPF programs");
            }
            host.finish(c);
        }
        None => host.not_checked(
            &UNPRIVILEGED_BPF,
            "kernel.unprivileged_bpf_disabled could not be read",
        ),
    }

    // hardening sysctls: one control, a finding per setting
    let mut c = host.check(&WEAK_SYSCTL, "/proc/sys");
    let mut missing = Vec::new();
    for (name, want, why) in SYSCTLS {
        match host.root.read_value(&sysctl_path(name)) {
            Ok(Some(v)) => match v.parse::<u32>() {
                Ok(n) if n >= *want => {}
                Ok(n) => c.fail_at(
                    &sysctl_path(name),
                    format!("{name} = {n} (want {want} or more): {why}"),
                ),
                Err(_) => c.error(&sysctl_path(name), format!("{name}: {v:?} is not a number")),
            },
            Ok(None) => missing.push(*name),
            Err(e) => c.errors.push(e),
        }
    }
    if !missing.is_empty() {
        c.partly(format!(
            "not present on this kernel (not checked): {}",
            missing.join(", ")
        ));
    }
    host.finish(c);
}
