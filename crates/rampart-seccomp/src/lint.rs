//! Lint (dangerous allowances, comparison with Docker's default profile) and diff of profiles.

use crate::generate::CLONE_NAMESPACE_FLAGS;
use crate::profile::{Action, Arg, Op, Profile, native_number};
use rampart_core::Severity;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Docker/Moby's default profile (moby/profiles, Apache-2.0).
pub const DOCKER_DEFAULT: &str = include_str!("../data/docker-default.json");

/// Docker's default profile, parsed once (it is valid: a unit test parses it).
static DOCKER: std::sync::LazyLock<Option<Profile>> = std::sync::LazyLock::new(|| {
    Profile::parse(DOCKER_DEFAULT.as_bytes(), "docker-default.json").ok()
});

/// The capabilities Docker grants a container by default.
pub const DOCKER_DEFAULT_CAPS: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// A lint rule.
#[derive(Debug, Clone, Copy)]
pub struct LintRule {
    /// Stable id.
    pub id: &'static str,
    /// Severity of its findings.
    pub severity: Severity,
    /// Syscalls it is about (empty: about the profile as a whole).
    pub syscalls: &'static [&'static str],
    /// Why allowing them is dangerous.
    pub why: &'static str,
}

/// The rules, in id order.
pub const RULES: &[LintRule] = &[
    LintRule {
        id: "SC001",
        severity: Severity::Critical,
        syscalls: &[],
        why: "the default action lets every syscall no rule names through (SCMP_ACT_ALLOW or SCMP_ACT_LOG): the profile is a deny-list",
    },
    LintRule {
        id: "SC002",
        severity: Severity::High,
        syscalls: &[
            "mount",
            "umount",
            "umount2",
            "pivot_root",
            "fsopen",
            "fsconfig",
            "fsmount",
            "fspick",
            "move_mount",
            "open_tree",
            "mount_setattr",
        ],
        why: "mounting can hide or expose host paths and is the first step of most container escapes",
    },
    LintRule {
        id: "SC003",
        severity: Severity::High,
        syscalls: &[
            "ptrace",
            "process_vm_readv",
            "process_vm_writev",
            "kcmp",
            "pidfd_getfd",
        ],
        why: "reads and writes other processes' memory; ptrace also bypasses seccomp on old kernels (< 4.8)",
    },
    LintRule {
        id: "SC004",
        severity: Severity::High,
        syscalls: &["bpf"],
        why: "loads eBPF programs into the shared kernel",
    },
    LintRule {
        id: "SC005",
        severity: Severity::Medium,
        syscalls: &["keyctl", "add_key", "request_key"],
        why: "the kernel keyring is not namespaced: keys of other containers and the host may be reached",
    },
    LintRule {
        id: "SC006",
        severity: Severity::High,
        syscalls: &["unshare", "setns"],
        why: "new or foreign namespaces (a new user namespace gives root-equivalent capabilities over kernel code paths)",
    },
    LintRule {
        id: "SC007",
        severity: Severity::High,
        syscalls: &["clone", "clone3"],
        why: "clone with namespace flags (CLONE_NEWUSER...) creates namespaces; restrict clone with MASKED_EQ 0x7e020000 and refuse clone3 (ENOSYS)",
    },
    LintRule {
        id: "SC008",
        severity: Severity::Critical,
        syscalls: &["kexec_load", "kexec_file_load", "reboot"],
        why: "replaces or restarts the running kernel",
    },
    LintRule {
        id: "SC009",
        severity: Severity::High,
        syscalls: &["open_by_handle_at"],
        why: "opens host files by handle, outside the container's mount namespace (the 'shocker' escape)",
    },
    LintRule {
        id: "SC010",
        severity: Severity::Critical,
        syscalls: &[
            "init_module",
            "finit_module",
            "delete_module",
            "create_module",
        ],
        why: "loads or unloads kernel modules",
    },
    LintRule {
        id: "SC011",
        severity: Severity::Medium,
        syscalls: &["userfaultfd"],
        why: "stalls kernel page faults at will, a classic aid to exploiting kernel races",
    },
    LintRule {
        id: "SC012",
        severity: Severity::Medium,
        syscalls: &["perf_event_open"],
        why: "large kernel attack surface and information about other processes",
    },
    LintRule {
        id: "SC013",
        severity: Severity::Low,
        syscalls: &["personality"],
        why: "personality without an argument filter can turn off address-space randomisation (ADDR_NO_RANDOMIZE)",
    },
    LintRule {
        id: "SC014",
        severity: Severity::Medium,
        syscalls: &["io_uring_setup", "io_uring_enter", "io_uring_register"],
        why: "io_uring performs operations that seccomp never sees, and has had many kernel bugs",
    },
    LintRule {
        id: "SC015",
        severity: Severity::Medium,
        syscalls: &[
            "iopl",
            "ioperm",
            "swapon",
            "swapoff",
            "syslog",
            "acct",
            "settimeofday",
            "clock_settime",
            "stime",
            "quotactl",
            "vhangup",
            "uselib",
            "nfsservctl",
            "lookup_dcookie",
        ],
        why: "changes or reads host-wide state (I/O ports, swap, kernel log, clock, accounting)",
    },
    LintRule {
        id: "SC100",
        severity: Severity::Low,
        syscalls: &[],
        why: "allowed here but not by Docker's default profile (for a container with Docker's default capabilities)",
    },
    LintRule {
        id: "SC101",
        severity: Severity::Low,
        syscalls: &[],
        why: "allowed here without the argument conditions Docker's default profile puts on it",
    },
];

/// Look a rule up.
pub fn rule(id: &str) -> Option<&'static LintRule> {
    RULES.iter().find(|r| r.id == id)
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Rule id.
    pub rule: &'static str,
    /// Severity.
    pub severity: Severity,
    /// The syscall concerned, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub syscall: Option<String>,
    /// What is wrong.
    pub message: String,
}

/// How a syscall is allowed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Allowance {
    /// Whatever its arguments.
    Always,
    /// When one of these condition lists (each AND-ed) holds.
    When(BTreeSet<Vec<Arg>>),
}

impl std::fmt::Display for Allowance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Allowance::Always => f.write_str("always"),
            Allowance::When(alts) => {
                let alts: Vec<String> = alts
                    .iter()
                    .map(|args| {
                        args.iter()
                            .map(|a| match (a.op, a.value_two) {
                                (Op::MaskedEq, v2) => format!(
                                    "arg{} & {:#x} == {:#x}",
                                    a.index,
                                    a.value,
                                    v2.unwrap_or(0)
                                ),
                                (op, _) => format!("arg{} {:?} {}", a.index, op, a.value),
                            })
                            .collect::<Vec<_>>()
                            .join(" and ")
                    })
                    .collect();
                write!(f, "when {}", alts.join(" or "))
            }
        }
    }
}

/// Where a profile is applied (resolves Moby's `includes`/`excludes`).
#[derive(Debug, Clone)]
pub struct Context {
    /// The container's capabilities.
    pub caps: BTreeSet<String>,
    /// Go architecture name (`amd64`, `arm64`).
    pub arch: &'static str,
    /// Kernel version (major, minor).
    pub kernel: (u32, u32),
}

impl Default for Context {
    fn default() -> Self {
        let kernel = nix::sys::utsname::uname()
            .ok()
            .and_then(|u| parse_kernel(&u.release().to_string_lossy()))
            .unwrap_or((6, 0));
        Context {
            caps: DOCKER_DEFAULT_CAPS
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            arch: if cfg!(target_arch = "aarch64") {
                "arm64"
            } else {
                "amd64"
            },
            kernel,
        }
    }
}

fn parse_kernel(s: &str) -> Option<(u32, u32)> {
    let mut it = s.split(|c: char| !c.is_ascii_digit());
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}

/// What a profile allows in a context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Effective {
    /// Whether calls no rule names go through.
    pub default_permits: bool,
    /// The syscalls rules allow.
    pub allowed: BTreeMap<String, Allowance>,
    /// The syscalls rules deny (errno, kill, trap...) and none allows: what a profile whose
    /// default allows everything still refuses.
    pub denied: BTreeSet<String>,
}

impl Effective {
    /// Whether `name` can be called (in some way).
    pub fn permits(&self, name: &str) -> bool {
        self.allowed.contains_key(name) || (self.default_permits && !self.denied.contains(name))
    }

    /// How `name` is allowed, when it is: by a rule, or always by the default action.
    pub fn allowance(&self, name: &str) -> Option<Allowance> {
        match self.allowed.get(name) {
            Some(a) => Some(a.clone()),
            None if self.permits(name) => Some(Allowance::Always),
            None => None,
        }
    }
}

/// What `p` allows in `ctx`.
pub fn effective(p: &Profile, ctx: &Context) -> Effective {
    let mut allowed: BTreeMap<String, Allowance> = BTreeMap::new();
    let mut denied: BTreeSet<String> = BTreeSet::new();
    for rule in &p.syscalls {
        let inc = &rule.includes;
        let exc = &rule.excludes;
        let kernel_at_least = |v: &Option<String>| {
            v.as_deref()
                .and_then(parse_kernel)
                .is_none_or(|min| ctx.kernel >= min)
        };
        let applies = inc.caps.iter().all(|c| ctx.caps.contains(c))
            && (inc.arches.is_empty() || inc.arches.iter().any(|a| a == ctx.arch))
            && kernel_at_least(&inc.min_kernel)
            && !exc.caps.iter().any(|c| ctx.caps.contains(c))
            && !exc.arches.iter().any(|a| a == ctx.arch)
            && !(exc.min_kernel.is_some() && kernel_at_least(&exc.min_kernel));
        if !applies {
            continue;
        }
        if !rule.action.permits() {
            denied.extend(rule.names.iter().cloned());
            continue;
        }
        for name in &rule.names {
            let entry = allowed
                .entry(name.clone())
                .or_insert_with(|| Allowance::When(BTreeSet::new()));
            if rule.args.is_empty() {
                *entry = Allowance::Always;
            } else if let Allowance::When(alts) = entry {
                alts.insert(rule.args.clone());
            }
        }
    }
    denied.retain(|n| !allowed.contains_key(n));
    Effective {
        default_permits: p.default_action.permits(),
        allowed,
        denied,
    }
}

/// Whether a `clone` allowance excludes every namespace flag.
fn clone_restricted(a: &Allowance) -> bool {
    match a {
        Allowance::Always => false,
        Allowance::When(alts) => alts.iter().all(|args| {
            args.iter().any(|arg| {
                arg.op == Op::MaskedEq
                    && arg.value & CLONE_NAMESPACE_FLAGS == CLONE_NAMESPACE_FLAGS
                    && arg.value_two.unwrap_or(0) & CLONE_NAMESPACE_FLAGS == 0
            })
        }),
    }
}

/// Lint a profile: dangerous allowances, then the comparison with Docker's default profile.
pub fn lint(p: &Profile) -> Vec<Finding> {
    let ctx = Context::default();
    let eff = effective(p, &ctx);
    let mut out = Vec::new();
    let finding = |id: &'static str, syscall: Option<&str>, message: String| {
        let sev = rule(id).map_or(Severity::Info, |r| r.severity);
        Finding {
            rule: id,
            severity: sev,
            syscall: syscall.map(str::to_owned),
            message,
        }
    };
    if eff.default_permits {
        out.push(finding(
            "SC001",
            None,
            format!(
                "defaultAction is {}: {}",
                serde_json::to_value(p.default_action)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                rule("SC001").map_or("", |r| r.why)
            ),
        ));
    }
    for r in RULES.iter().filter(|r| !r.syscalls.is_empty()) {
        for name in r.syscalls {
            let Some(a) = eff.allowed.get(*name) else {
                continue;
            };
            let message = match (r.id, *name) {
                ("SC007", "clone") if clone_restricted(a) => continue,
                ("SC007", "clone") => {
                    "clone is allowed with namespace flags (CLONE_NEWUSER, CLONE_NEWNS...)".into()
                }
                ("SC007", _) => format!("{name} is allowed: its flags cannot be filtered"),
                ("SC013", _) if *a != Allowance::Always => continue,
                // Allowed only from kernel 4.8 on, where ptrace no longer bypasses seccomp: as
                // Docker's own default profile does it.
                ("SC003", "ptrace" | "process_vm_readv" | "process_vm_writev")
                    if kernel_guarded(p, name, &ctx) =>
                {
                    continue;
                }
                _ => format!("{name} is allowed ({a}): {}", r.why),
            };
            out.push(finding(r.id, Some(name), message));
        }
    }
    // Comparison with Docker's default profile.
    if let Some(docker) = DOCKER.as_ref() {
        let d = effective(docker, &ctx);
        let flagged: BTreeSet<String> = out.iter().filter_map(|f| f.syscall.clone()).collect();
        for (name, a) in &eff.allowed {
            if native_number(name).is_none() || flagged.contains(name) {
                continue;
            }
            match d.allowed.get(name) {
                None => {
                    let caps = caps_for(docker, name);
                    let how = if caps.is_empty() {
                        "denied there".to_owned()
                    } else {
                        format!("Docker allows it only with {}", caps.join(" or "))
                    };
                    out.push(finding(
                        "SC100",
                        Some(name),
                        format!(
                            "{name} is allowed, Docker's default profile does not allow it ({how})"
                        ),
                    ));
                }
                Some(da @ Allowance::When(_)) if *a == Allowance::Always => out.push(finding(
                    "SC101",
                    Some(name),
                    format!("{name} is allowed always; Docker's default allows it only {da}"),
                )),
                Some(_) => {}
            }
        }
    }
    out.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.rule.cmp(b.rule)));
    out
}

/// Whether every rule of `p` that allows `name` in `ctx` applies only from kernel 4.8 on
/// (`includes.minKernel`), and the default action does not allow it anyway.
fn kernel_guarded(p: &Profile, name: &str, ctx: &Context) -> bool {
    if p.default_action.permits() {
        return false;
    }
    let mut allowing = p
        .syscalls
        .iter()
        .filter(|r| r.action.permits() && r.names.iter().any(|n| n == name))
        // the rules that apply here, the kernel aside
        .filter(|r| {
            r.includes.caps.iter().all(|c| ctx.caps.contains(c))
                && (r.includes.arches.is_empty() || r.includes.arches.iter().any(|a| a == ctx.arch))
                && !r.excludes.caps.iter().any(|c| ctx.caps.contains(c))
                && !r.excludes.arches.iter().any(|a| a == ctx.arch)
        })
        .peekable();
    allowing.peek().is_some()
        && allowing.all(|r| {
            r.includes
                .min_kernel
                .as_deref()
                .and_then(parse_kernel)
                .is_some_and(|k| k >= (4, 8))
        })
}

/// The capabilities under which Docker's profile allows `name`.
fn caps_for(docker: &Profile, name: &str) -> Vec<String> {
    let mut caps: BTreeSet<String> = BTreeSet::new();
    for r in &docker.syscalls {
        if r.action == Action::Allow && r.names.iter().any(|n| n == name) {
            caps.extend(r.includes.caps.iter().cloned());
        }
    }
    caps.into_iter().collect()
}

/// What two profiles allow differently.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileDiff {
    /// Default action permits (A, B).
    pub default_permits: (bool, bool),
    /// Allowed by A, not by B.
    pub only_a: BTreeMap<String, Allowance>,
    /// Allowed by B, not by A.
    pub only_b: BTreeMap<String, Allowance>,
    /// Allowed by both, under different conditions: (A, B).
    pub conditions: BTreeMap<String, (Allowance, Allowance)>,
}

impl ProfileDiff {
    /// Whether the two profiles allow the same.
    pub fn is_empty(&self) -> bool {
        self.default_permits.0 == self.default_permits.1
            && self.only_a.is_empty()
            && self.only_b.is_empty()
            && self.conditions.is_empty()
    }

    /// A human rendering (`+` only in B, `-` only in A, `~` conditions differ).
    pub fn render(&self, a: &str, b: &str) -> String {
        let mut s = format!("--- {a}\n+++ {b}\n");
        if self.default_permits.0 != self.default_permits.1 {
            let (open, closed) = if self.default_permits.1 {
                (b, a)
            } else {
                (a, b)
            };
            s += &format!(
                "default action: {} -> {} (every syscall not listed below is allowed by {open}, denied by {closed})\n",
                if self.default_permits.0 {
                    "allow"
                } else {
                    "deny"
                },
                if self.default_permits.1 {
                    "allow"
                } else {
                    "deny"
                }
            );
        }
        for (n, x) in &self.only_a {
            s += &format!("- {n} ({x})\n");
        }
        for (n, x) in &self.only_b {
            s += &format!("+ {n} ({x})\n");
        }
        for (n, (x, y)) in &self.conditions {
            s += &format!("~ {n}: {x} -> {y}\n");
        }
        s
    }
}

/// Compare what `a` and `b` allow (Moby conditions resolved with Docker's default capabilities).
pub fn diff(a: &Profile, b: &Profile) -> ProfileDiff {
    let ctx = Context::default();
    let ea = effective(a, &ctx);
    let eb = effective(b, &ctx);
    let mut d = ProfileDiff {
        default_permits: (ea.default_permits, eb.default_permits),
        only_a: BTreeMap::new(),
        only_b: BTreeMap::new(),
        conditions: BTreeMap::new(),
    };
    // Every syscall either side names; one allowed by a side's default action is allowed
    // there always (unless a rule of that side denies it).
    let names: BTreeSet<&String> = ea
        .allowed
        .keys()
        .chain(eb.allowed.keys())
        .chain(&ea.denied)
        .chain(&eb.denied)
        .collect();
    for n in names {
        match (ea.allowance(n), eb.allowance(n)) {
            (Some(x), None) => {
                d.only_a.insert(n.clone(), x);
            }
            (None, Some(y)) => {
                d.only_b.insert(n.clone(), y);
            }
            (Some(x), Some(y)) if x != y => {
                d.conditions.insert(n.clone(), (x, y));
            }
            _ => {}
        }
    }
    d
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn profile(json: &str) -> Profile {
        Profile::parse(json.as_bytes(), "t").unwrap()
    }

    #[test]
    fn rule_ids_are_unique_and_documented() {
        let ids: BTreeSet<&str> = RULES.iter().map(|r| r.id).collect();
        assert_eq!(ids.len(), RULES.len());
        assert!(RULES.iter().all(|r| !r.why.is_empty()));
    }

    #[test]
    fn table_of_dangerous_allowances() {
        // (allowed syscalls, rule expected; None: no SC0xx finding)
        let table: &[(&str, Option<&str>)] = &[
            ("mount", Some("SC002")),
            ("ptrace", Some("SC003")),
            ("bpf", Some("SC004")),
            ("keyctl", Some("SC005")),
            ("unshare", Some("SC006")),
            ("clone", Some("SC007")),
            ("clone3", Some("SC007")),
            ("kexec_load", Some("SC008")),
            ("open_by_handle_at", Some("SC009")),
            ("finit_module", Some("SC010")),
            ("userfaultfd", Some("SC011")),
            ("perf_event_open", Some("SC012")),
            ("personality", Some("SC013")),
            ("io_uring_setup", Some("SC014")),
            ("iopl", Some("SC015")),
            ("read", None),
            ("futex", None),
        ];
        for (name, expected) in table {
            let p = profile(&format!(
                r#"{{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{{"names":["{name}"],"action":"SCMP_ACT_ALLOW"}}]}}"#
            ));
            let ids: Vec<&str> = lint(&p)
                .iter()
                .map(|f| f.rule)
                .filter(|r| !r.starts_with("SC1"))
                .collect();
            assert_eq!(ids, expected.iter().copied().collect::<Vec<_>>(), "{name}");
        }
    }

    #[test]
    fn restricted_clone_and_personality_pass() {
        let p = profile(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
            {"names":["clone"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":2114060288,"valueTwo":0,"op":"SCMP_CMP_MASKED_EQ"}]},
            {"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":0,"op":"SCMP_CMP_EQ"}]},
            {"names":["clone3"],"action":"SCMP_ACT_ERRNO","errnoRet":38}]}"#,
        );
        assert_eq!(lint(&p), vec![]);
    }

    #[test]
    fn default_allow_and_docker_comparison() {
        let p = profile(
            r#"{"defaultAction":"SCMP_ACT_LOG","syscalls":[{"names":["socket","reboot","read"],"action":"SCMP_ACT_ALLOW"}]}"#,
        );
        let f = lint(&p);
        assert_eq!(f[0].rule, "SC001");
        assert!(f.iter().any(|f| f.rule == "SC008"));
        let socket = f.iter().find(|f| f.rule == "SC101").unwrap();
        assert_eq!(socket.syscall.as_deref(), Some("socket"));
        let p = profile(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["chroot","mbind"],"action":"SCMP_ACT_ALLOW"}]}"#,
        );
        let f = lint(&p);
        // chroot is allowed by Docker with its default CAP_SYS_CHROOT; mbind needs CAP_SYS_NICE.
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(f[0].message.contains("CAP_SYS_NICE"), "{f:?}");
    }

    #[test]
    fn docker_default_has_no_findings_against_itself_beyond_its_own_choices() {
        let d = profile(DOCKER_DEFAULT);
        let f = lint(&d);
        assert!(f.iter().all(|f| !f.rule.starts_with("SC1")), "{f:?}");
        // Docker allows ptrace on kernels >= 4.8 only, where it no longer bypasses seccomp
        // (issue 13): not an SC003 finding; personality is allowed with filters.
        assert!(
            !f.iter().any(|f| f.rule == "SC003"
                && matches!(
                    f.syscall.as_deref(),
                    Some("ptrace" | "process_vm_readv" | "process_vm_writev")
                )),
            "{f:?}"
        );
        // The same allowance without the kernel guard is a finding.
        let unguarded = profile(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["ptrace"],"action":"SCMP_ACT_ALLOW"}]}"#,
        );
        assert!(lint(&unguarded).iter().any(|f| f.rule == "SC003"));
        assert!(!f.iter().any(|f| f.rule == "SC013" || f.rule == "SC007"));
    }

    #[test]
    fn diff_both_ways() {
        let a = profile(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read","mount"],"action":"SCMP_ACT_ALLOW"},{"names":["socket"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ"}]}]}"#,
        );
        let b = profile(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read","write","socket"],"action":"SCMP_ACT_ALLOW"}]}"#,
        );
        let d = diff(&a, &b);
        assert_eq!(d.only_a.keys().collect::<Vec<_>>(), vec!["mount"]);
        assert_eq!(d.only_b.keys().collect::<Vec<_>>(), vec!["write"]);
        assert!(d.conditions.contains_key("socket"));
        let text = d.render("a", "b");
        assert!(text.contains("- mount (always)"), "{text}");
        assert!(
            text.contains("~ socket: when arg0 Eq 1 -> always"),
            "{text}"
        );
        assert!(diff(&a, &a).is_empty());
    }

    #[test]
    fn diff_against_a_profile_that_allows_everything_by_default() {
        // b allows every syscall but mount: a's explicit allowances are not "only in a".
        let a = profile(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read","mount"],"action":"SCMP_ACT_ALLOW"},{"names":["socket"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ"}]}]}"#,
        );
        let b = profile(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mount"],"action":"SCMP_ACT_ERRNO"}]}"#,
        );
        let d = diff(&a, &b);
        assert_eq!(d.only_a.keys().collect::<Vec<_>>(), vec!["mount"], "{d:?}");
        assert!(d.only_b.is_empty(), "{d:?}");
        assert!(
            !d.conditions.contains_key("read"),
            "read is allowed by both: {d:?}"
        );
        assert!(d.conditions.contains_key("socket"), "{d:?}");
        let text = d.render("a", "b");
        assert!(text.contains("deny -> allow"), "{text}");
        assert!(text.contains("allowed by b, denied by a"), "{text}");
        assert!(!text.contains("- read"), "{text}");
    }
}
