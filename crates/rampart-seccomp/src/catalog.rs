//! The lint rules as catalog entries (`rampart rules`, `rampart rules explain SC001`): the same
//! ids, severities and reasons as [`crate::lint::RULES`], with a title, a fix and a profile that
//! shows each rule firing and one that does not (checked by a test).

use rampart_core::{Layer, RefKind, Reference, Rule, RuleTarget, Severity};

const REFS: &[Reference] = &[
    Reference::new(RefKind::Docs, "rampart seccomp profiles", "docs/seccomp.md"),
    Reference::new(
        RefKind::Docs,
        "Docker's default seccomp profile",
        "https://docs.docker.com/engine/security/seccomp/",
    ),
];

/// `SC001`.
pub static SC001: Rule = Rule {
    id: "SC001",
    name: "default-action-allows",
    title: "The profile's default action allows every system call",
    severity: Severity::Critical,
    layer: Layer::Runtime,
    target: RuleTarget::Seccomp,
    rationale: "The default action lets every syscall no rule names through (SCMP_ACT_ALLOW or SCMP_ACT_LOG): the profile is a deny-list.",
    remediation: "Set `defaultAction` to `SCMP_ACT_ERRNO` (with `defaultErrnoRet: 1`) and allow only the calls the workload makes: `rampart seccomp record` writes such a profile.",
    bad_example: "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\", \"write\", \"exit_group\"], \"action\": \"SCMP_ACT_ALLOW\"}]}\n",
    good_example: "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\", \"write\", \"exit_group\"], \"action\": \"SCMP_ACT_ALLOW\"}]}\n",
    references: REFS,
};

/// `SC002`.
pub static SC002: Rule = Rule {
    id: "SC002",
    name: "mount-allowed",
    title: "Mount system calls are allowed",
    severity: Severity::High,
    layer: Layer::Runtime,
    target: RuleTarget::Seccomp,
    rationale: "Mounting can hide or expose host paths and is the first step of most container escapes.",
    remediation: "Remove the mount family (`mount`, `umount2`, `pivot_root`, the new mount API) from the allowed calls; mount volumes from the runtime instead.",
    bad_example: "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\", \"write\", \"exit_group\", \"mount\"], \"action\": \"SCMP_ACT_ALLOW\"}]}\n",
    good_example: "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\", \"write\", \"exit_group\"], \"action\": \"SCMP_ACT_ALLOW\"}]}\n",
    references: REFS,
};

/// `SC003`.
pub static SC003: Rule = Rule {
    id: "SC003",
    name: "process-memory-access-allowed",
    title: "Other processes' memory can be read and written (ptrace, process_vm_*)",
    severity: Severity::High,
    layer: Layer::Runtime,
    target: RuleTarget::Seccomp,
    rationale: "Reads and writes other processes' memory; ptrace also bypasses seccomp on old kernels (< 4.8).",
    remediation: "Remove `ptrace`, `process_vm_readv`/`writev`, `kcmp` and `pidfd_getfd`; if a debugger must run, allow `ptrace` only with `includes.minKernel` 4.8, as Docker's default profile does.",
    bad_example: "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\", \"write\", \"exit_group\", \"ptrace\"], \"action\": \"SCMP_ACT_ALLOW\"}]}\n",
    good_example: "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\", \"write\", \"exit_group\"], \"action\": \"SCMP_ACT_ALLOW\"}]}\n",
    references: REFS,
};

/// `SC004`.
pub static SC004: Rule = Rule {
    id: "SC004",
    name: "bpf-allowed",
    title: "bpf is allowed",
    severity: Severity::High,
    layer: Layer::Runtime,
    target: RuleTarget::Seccomp,
    rationale: "Loads eBPF programs into the shared kernel.",
    remediation: "Remove `bpf`: containers that need eBPF (agents) get a profile of their own.",
    bad_example: "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\", \"write\", \"exit_group\", \"bpf\"], \"action\": \"SCMP_ACT_ALLOW\"}]}\n",
    good_example: "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\", \"write\", \"exit_group\"], \"action\": \"SCMP_ACT_ALLOW\"}]}\n",
    references: REFS,
};

/// `SC005`.
pub static SC005: Rule = Rule {
    id: "SC005",
    name: "keyring-allowed",
    title: "Kernel keyring calls are allowed",
    severity: Severity::Medium,
    layer: Layer::Runtime,
    target: RuleTarget::Seccomp,
    rationale: "The kernel keyring is not namespaced: keys of other containers and the host may be reached.",
    remediation: "Remove `keyctl`, `add_key` and `request_key`, as Docker's default profile does.",
    bad_example: "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\", \"write\", \"exit_group\", \"keyctl\"], \"action\": \"SCMP_ACT_ALLOW\"}]}\n",
    good_example: "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\", \"write\", \"exit_group\"], \"action\": \"SCMP_ACT_ALLOW\"}]}\n",
    references: REFS,
};

/// `SC006`.
pub static SC006: Rule = Rule {
    id: "SC006",
    name: "namespace-calls-allowed",
    title: "Namespaces can be created or joined (unshare, setns)",
    severity: Severity::High,
    layer: Layer::Runtime,
    target: RuleTarget::Seccomp,
    rationale: "New or foreign namespaces (a new user namespace gives root-equivalent capabilities over kernel code paths).",
    remediation: "Remove `unshare` and `setns`; a workload that needs them needs a reviewed profile of its own.",
    bad_example: "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\", \"write\", \"exit_group\", \"unshare\"], \"action\": \"SCMP_ACT_ALLOW\"}]}\n",
    good_example: "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\", \"write\", \"exit_group\"], \"action\": \"SCMP_ACT_ALLOW\"}]}\n",
    references: REFS,
};

/// `SC007`.
pub static SC007: Rule = Rule {
    id: "SC007",
    name: "clone-namespaces-allowed",
    title: "clone may create namespaces, or clone3 is allowed",
    severity: Severity::High,
    layer: Layer::Runtime,
    target: RuleTarget::Seccomp,
    rationale: "Clone with namespace flags (CLONE_NEWUSER...) creates namespaces; restrict clone with MASKED_EQ 0x7e020000 and refuse clone3 (ENOSYS).",
    remediation: "Allow `clone` only with the flags filter `MASKED_EQ 0x7e020000 == 0` (no namespace flags) and refuse `clone3` with ENOSYS so libc falls back to `clone`, as `rampart seccomp record` does.",
    bad_example: "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\", \"write\", \"exit_group\", \"clone\"], \"action\": \"SCMP_ACT_ALLOW\"}]}\n",
    good_example: "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\", \"write\", \"exit_group\"], \"action\": \"SCMP_ACT_ALLOW\"}, {\"names\": [\"clone\"], \"action\": \"SCMP_ACT_ALLOW\", \"args\": [{\"index\": 0, \"value\": 2114060288, \"valueTwo\": 0, \"op\": \"SCMP_CMP_MASKED_EQ\"}]}]}\n",
    references: REFS,
};

/// `SC008`.
pub static SC008: Rule = Rule {
    id: "SC008",
    name: "kernel-replace-allowed",
    title: "The kernel can be replaced or rebooted",
    severity: Severity::Critical,
    layer: Layer::Runtime,
    target: RuleTarget::Seccomp,
    rationale: "Replaces or restarts the running kernel.",
    remediation: "Remove `kexec_load`, `kexec_file_load` and `reboot`.",
    bad_example: "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\", \"write\", \"exit_group\", \"reboot\"], \"action\": \"SCMP_ACT_ALLOW\"}]}\n",
    good_example: "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\", \"write\", \"exit_group\"], \"action\": \"SCMP_ACT_ALLOW\"}]}\n",
    references: REFS,
};

/// `SC009`.
pub static SC009: Rule = Rule {
    id: "SC009",
    name: "open-by-handle-allowed",
    title: "open_by_handle_at is allowed",
    severity: Severity::High,
    layer: Layer::Runtime,
    target: RuleTarget::Seccomp,
    rationale: "Opens host files by handle, outside the container's mount namespace (the 'shocker' escape).",
    remediation: "Remove `open_by_handle_at` (the 'shocker' escape).",
    bad_example: "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\", \"write\", \"exit_group\", \"open_by_handle_at\"], \"action\": \"SCMP_ACT_ALLOW\"}]}\n",
    good_example: "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\", \"write\", \"exit_group\"], \"action\": \"SCMP_ACT_ALLOW\"}]}\n",
    references: REFS,
};

/// `SC010`.
pub static SC010: Rule = Rule {
    id: "SC010",
    name: "kernel-modules-allowed",
    title: "Kernel modules can be loaded or unloaded",
    severity: Severity::Critical,
    layer: Layer::Runtime,
    target: RuleTarget::Seccomp,
    rationale: "Loads or unloads kernel modules.",
    remediation: "Remove `init_module`, `finit_module`, `delete_module` and `create_module`.",
    bad_example: "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\", \"write\", \"exit_group\", \"init_module\"], \"action\": \"SCMP_ACT_ALLOW\"}]}\n",
    good_example: "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\", \"write\", \"exit_group\"], \"action\": \"SCMP_ACT_ALLOW\"}]}\n",
    references: REFS,
};

/// `SC011`.
pub static SC011: Rule = Rule {
    id: "SC011",
    name: "userfaultfd-allowed",
    title: "userfaultfd is allowed",
    severity: Severity::Medium,
    layer: Layer::Runtime,
    target: RuleTarget::Seccomp,
    rationale: "Stalls kernel page faults at will, a classic aid to exploiting kernel races.",
    remediation: "Remove `userfaultfd` unless the workload is known to need it (some JVM and CRIU set-ups).",
    bad_example: "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\", \"write\", \"exit_group\", \"userfaultfd\"], \"action\": \"SCMP_ACT_ALLOW\"}]}\n",
    good_example: "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\", \"write\", \"exit_group\"], \"action\": \"SCMP_ACT_ALLOW\"}]}\n",
    references: REFS,
};

/// `SC012`.
pub static SC012: Rule = Rule {
    id: "SC012",
    name: "perf-events-allowed",
    title: "perf_event_open is allowed",
    severity: Severity::Medium,
    layer: Layer::Runtime,
    target: RuleTarget::Seccomp,
    rationale: "Large kernel attack surface and information about other processes.",
    remediation: "Remove `perf_event_open`; profile workloads outside production or with a dedicated profile.",
    bad_example: "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\", \"write\", \"exit_group\", \"perf_event_open\"], \"action\": \"SCMP_ACT_ALLOW\"}]}\n",
    good_example: "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\", \"write\", \"exit_group\"], \"action\": \"SCMP_ACT_ALLOW\"}]}\n",
    references: REFS,
};

/// `SC013`.
pub static SC013: Rule = Rule {
    id: "SC013",
    name: "personality-unfiltered",
    title: "personality is allowed without an argument filter",
    severity: Severity::Low,
    layer: Layer::Runtime,
    target: RuleTarget::Seccomp,
    rationale: "Personality without an argument filter can turn off address-space randomisation (ADDR_NO_RANDOMIZE).",
    remediation: "Allow `personality` only for the values the workload uses (Docker's default: 0, 8, 0x20000, 0x20008, 0xffffffff).",
    bad_example: "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\", \"write\", \"exit_group\", \"personality\"], \"action\": \"SCMP_ACT_ALLOW\"}]}\n",
    good_example: "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\", \"write\", \"exit_group\"], \"action\": \"SCMP_ACT_ALLOW\"}, {\"names\": [\"personality\"], \"action\": \"SCMP_ACT_ALLOW\", \"args\": [{\"index\": 0, \"value\": 0, \"op\": \"SCMP_CMP_EQ\"}]}]}\n",
    references: REFS,
};

/// `SC014`.
pub static SC014: Rule = Rule {
    id: "SC014",
    name: "io-uring-allowed",
    title: "io_uring is allowed",
    severity: Severity::Medium,
    layer: Layer::Runtime,
    target: RuleTarget::Seccomp,
    rationale: "Io_uring performs operations that seccomp never sees, and has had many kernel bugs.",
    remediation: "Remove `io_uring_setup`, `io_uring_enter` and `io_uring_register`, as Docker's default profile does since 2023.",
    bad_example: "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\", \"write\", \"exit_group\", \"io_uring_setup\"], \"action\": \"SCMP_ACT_ALLOW\"}]}\n",
    good_example: "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\", \"write\", \"exit_group\"], \"action\": \"SCMP_ACT_ALLOW\"}]}\n",
    references: REFS,
};

/// `SC015`.
pub static SC015: Rule = Rule {
    id: "SC015",
    name: "host-state-allowed",
    title: "Host-wide state can be changed or read (I/O ports, swap, kernel log, clock)",
    severity: Severity::Medium,
    layer: Layer::Runtime,
    target: RuleTarget::Seccomp,
    rationale: "Changes or reads host-wide state (I/O ports, swap, kernel log, clock, accounting).",
    remediation: "Remove the host-wide calls (`iopl`, `ioperm`, `swapon`, `swapoff`, `syslog`, `acct`, `settimeofday`, `clock_settime`...).",
    bad_example: "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\", \"write\", \"exit_group\", \"syslog\"], \"action\": \"SCMP_ACT_ALLOW\"}]}\n",
    good_example: "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\", \"write\", \"exit_group\"], \"action\": \"SCMP_ACT_ALLOW\"}]}\n",
    references: REFS,
};

/// `SC100`.
pub static SC100: Rule = Rule {
    id: "SC100",
    name: "beyond-docker-default",
    title: "A call Docker's default profile does not allow is allowed",
    severity: Severity::Low,
    layer: Layer::Runtime,
    target: RuleTarget::Seccomp,
    rationale: "Allowed here but not by Docker's default profile (for a container with Docker's default capabilities).",
    remediation: "Remove the call, or document why the workload needs more than Docker's default profile gives a container with its default capabilities.",
    bad_example: "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\", \"write\", \"exit_group\", \"mbind\"], \"action\": \"SCMP_ACT_ALLOW\"}]}\n",
    good_example: "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\", \"write\", \"exit_group\"], \"action\": \"SCMP_ACT_ALLOW\"}]}\n",
    references: REFS,
};

/// `SC101`.
pub static SC101: Rule = Rule {
    id: "SC101",
    name: "without-docker-conditions",
    title: "A call is allowed without the argument conditions Docker's default profile puts on it",
    severity: Severity::Low,
    layer: Layer::Runtime,
    target: RuleTarget::Seccomp,
    rationale: "Allowed here without the argument conditions Docker's default profile puts on it.",
    remediation: "Add the argument filter (for `socket`, the address families the workload uses), as `rampart seccomp record` does from what it saw.",
    bad_example: "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\", \"write\", \"exit_group\", \"socket\"], \"action\": \"SCMP_ACT_ALLOW\"}]}\n",
    good_example: "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\", \"write\", \"exit_group\"], \"action\": \"SCMP_ACT_ALLOW\"}, {\"names\": [\"socket\"], \"action\": \"SCMP_ACT_ALLOW\", \"args\": [{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]}]}\n",
    references: REFS,
};

/// Every lint rule, in id order.
pub static CATALOG: &[&Rule] = &[
    &SC001, &SC002, &SC003, &SC004, &SC005, &SC006, &SC007, &SC008, &SC009, &SC010, &SC011, &SC012,
    &SC013, &SC014, &SC015, &SC100, &SC101,
];

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::CATALOG;
    use crate::lint::{RULES, lint};
    use crate::profile::Profile;

    #[test]
    fn every_lint_rule_is_in_the_catalog_with_its_severity() {
        assert_eq!(CATALOG.len(), RULES.len());
        for (c, l) in CATALOG.iter().zip(RULES) {
            assert_eq!(c.id, l.id);
            assert_eq!(c.severity, l.severity, "{}", c.id);
        }
    }

    #[test]
    fn each_rules_bad_example_fires_it_and_its_good_example_does_not() {
        for r in CATALOG {
            let ids = |text: &str| -> Vec<&'static str> {
                let p = Profile::parse(text.as_bytes(), "example.json")
                    .unwrap_or_else(|e| panic!("{}: {e}", r.id));
                lint(&p).iter().map(|f| f.rule).collect()
            };
            assert!(
                ids(r.bad_example).contains(&r.id),
                "{}: {:?}",
                r.id,
                ids(r.bad_example)
            );
            assert!(
                !ids(r.good_example).contains(&r.id),
                "{}: {:?}",
                r.id,
                ids(r.good_example)
            );
        }
    }
}
