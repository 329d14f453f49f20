//! The check catalog: metadata for every check, and its version variants.

use serde::Serialize;

use crate::checks::{self as c, Finding};
use crate::pod::Pod;
use crate::{Level, Version};

/// Catalog entry describing one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckInfo {
    /// Upstream check ID, e.g. `"capabilities_restricted"`.
    pub id: &'static str,
    /// Level at which the check is defined.
    pub level: Level,
    /// Short human title.
    pub title: &'static str,
    /// Name of the Pod Security Standards control the check implements.
    pub control: &'static str,
    /// First policy version that includes the check.
    pub min_version: Version,
    /// Versions that introduced a new variant of the check (the first one is
    /// `min_version`); evaluation uses the newest variant not newer than the
    /// requested version.
    pub variants: &'static [Version],
    /// Baseline checks this restricted check replaces when it applies.
    pub overrides: &'static [&'static str],
    /// What the check allows.
    pub description: &'static str,
}

/// The full catalog, baseline checks then restricted checks, each group
/// sorted by ID (the order upstream reports violations in).
pub(crate) static CHECKS: [CheckInfo; 19] = [
    CheckInfo {
        id: "appArmorProfile",
        level: Level::Baseline,
        title: "AppArmor profile",
        control: "AppArmor",
        min_version: Version::v1(0),
        variants: &[Version::v1(0)],
        overrides: &[],
        description: "securityContext.appArmorProfile.type (pod and containers) must be unset, \
            RuntimeDefault or Localhost; container.apparmor.security.beta.kubernetes.io/* \
            annotations must be empty, runtime/default or localhost/*.",
    },
    CheckInfo {
        id: "capabilities_baseline",
        level: Level::Baseline,
        title: "Non-default capabilities",
        control: "Capabilities",
        min_version: Version::v1(0),
        variants: &[Version::v1(0)],
        overrides: &[],
        description: "securityContext.capabilities.add may only contain AUDIT_WRITE, CHOWN, \
            DAC_OVERRIDE, FOWNER, FSETID, KILL, MKNOD, NET_BIND_SERVICE, SETFCAP, SETGID, \
            SETPCAP, SETUID and SYS_CHROOT.",
    },
    CheckInfo {
        id: "hostNamespaces",
        level: Level::Baseline,
        title: "Host namespaces",
        control: "Host Namespaces",
        min_version: Version::v1(0),
        variants: &[Version::v1(0)],
        overrides: &[],
        description: "spec.hostNetwork, spec.hostPID and spec.hostIPC must be unset or false.",
    },
    CheckInfo {
        id: "hostPathVolumes",
        level: Level::Baseline,
        title: "hostPath volumes",
        control: "HostPath Volumes",
        min_version: Version::v1(0),
        variants: &[Version::v1(0)],
        overrides: &[],
        description: "spec.volumes[*].hostPath must be unset.",
    },
    CheckInfo {
        id: "hostPorts",
        level: Level::Baseline,
        title: "Host ports",
        control: "Host Ports",
        min_version: Version::v1(0),
        variants: &[Version::v1(0)],
        overrides: &[],
        description: "Container ports[*].hostPort must be unset or 0.",
    },
    CheckInfo {
        id: "hostProbesAndHostLifecycle",
        level: Level::Baseline,
        title: "Probe or lifecycle host",
        control: "Host Probes / Lifecycle Hooks",
        min_version: Version::v1(34),
        variants: &[Version::v1(34)],
        overrides: &[],
        description: "httpGet.host and tcpSocket.host of liveness, readiness and startup probes \
            and of postStart / preStop lifecycle handlers must be unset or empty.",
    },
    CheckInfo {
        id: "privileged",
        level: Level::Baseline,
        title: "Privileged containers",
        control: "Privileged Containers",
        min_version: Version::v1(0),
        variants: &[Version::v1(0)],
        overrides: &[],
        description: "Container securityContext.privileged must be unset or false.",
    },
    CheckInfo {
        id: "procMount",
        level: Level::Baseline,
        title: "Unmasked /proc",
        control: "/proc Mount Type",
        min_version: Version::v1(0),
        variants: &[Version::v1(0), Version::v1(35)],
        overrides: &[],
        description: "Container securityContext.procMount must be unset or Default; from v1.35 \
            any value is allowed when spec.hostUsers is false.",
    },
    CheckInfo {
        id: "seLinuxOptions",
        level: Level::Baseline,
        title: "SELinux options",
        control: "SELinux",
        min_version: Version::v1(0),
        variants: &[Version::v1(0), Version::v1(31)],
        overrides: &[],
        description: "seLinuxOptions.type (pod and containers) must be unset, container_t, \
            container_init_t, container_kvm_t or (from v1.31) container_engine_t; \
            seLinuxOptions.user and .role must be unset.",
    },
    CheckInfo {
        id: "seccompProfile_baseline",
        level: Level::Baseline,
        title: "Unconfined seccomp",
        control: "Seccomp",
        min_version: Version::v1(0),
        variants: &[Version::v1(0), Version::v1(19)],
        overrides: &[],
        description: "Before v1.19, the seccomp.security.alpha.kubernetes.io/pod and \
            container.seccomp.security.alpha.kubernetes.io/<name> annotations must be \
            runtime/default, docker/default or localhost/*; from v1.19, \
            securityContext.seccompProfile.type (pod and containers) must be unset, \
            RuntimeDefault or Localhost.",
    },
    CheckInfo {
        id: "sysctls",
        level: Level::Baseline,
        title: "Unsafe sysctls",
        control: "Sysctls",
        min_version: Version::v1(0),
        variants: &[
            Version::v1(0),
            Version::v1(27),
            Version::v1(29),
            Version::v1(32),
            Version::v1(37),
        ],
        overrides: &[],
        description: "spec.securityContext.sysctls[*].name must be one of kernel.shm_rmid_forced, \
            net.ipv4.ip_local_port_range, net.ipv4.tcp_syncookies, net.ipv4.ping_group_range, \
            net.ipv4.ip_unprivileged_port_start; from v1.27 net.ipv4.ip_local_reserved_ports; \
            from v1.29 net.ipv4.tcp_keepalive_time, net.ipv4.tcp_fin_timeout, \
            net.ipv4.tcp_keepalive_intvl, net.ipv4.tcp_keepalive_probes; from v1.32 \
            net.ipv4.tcp_rmem, net.ipv4.tcp_wmem; from v1.37 net.ipv4.tcp_slow_start_after_idle, \
            net.ipv4.tcp_notsent_lowat.",
    },
    CheckInfo {
        id: "windowsHostProcess",
        level: Level::Baseline,
        title: "Windows HostProcess",
        control: "HostProcess",
        min_version: Version::v1(0),
        variants: &[Version::v1(0)],
        overrides: &[],
        description: "securityContext.windowsOptions.hostProcess (pod and containers) must be \
            unset or false.",
    },
    CheckInfo {
        id: "allowPrivilegeEscalation",
        level: Level::Restricted,
        title: "Privilege escalation",
        control: "Privilege Escalation",
        min_version: Version::v1(8),
        variants: &[Version::v1(8), Version::v1(25)],
        overrides: &[],
        description: "Every container must set securityContext.allowPrivilegeEscalation=false; \
            from v1.25 pods with spec.os.name=windows are exempt.",
    },
    CheckInfo {
        id: "capabilities_restricted",
        level: Level::Restricted,
        title: "Unrestricted capabilities",
        control: "Capabilities",
        min_version: Version::v1(22),
        variants: &[Version::v1(22), Version::v1(25)],
        overrides: &["capabilities_baseline"],
        description: "Every container must drop ALL capabilities and may only add \
            NET_BIND_SERVICE; from v1.25 pods with spec.os.name=windows are exempt.",
    },
    CheckInfo {
        id: "procMount_restricted",
        level: Level::Restricted,
        title: "Unmasked /proc",
        control: "/proc Mount Type",
        min_version: Version::v1(35),
        variants: &[Version::v1(35)],
        overrides: &["procMount"],
        description: "Container securityContext.procMount must be unset or Default, even in a \
            user namespace.",
    },
    CheckInfo {
        id: "restrictedVolumes",
        level: Level::Restricted,
        title: "Restricted volume types",
        control: "Volume Types",
        min_version: Version::v1(0),
        variants: &[Version::v1(0)],
        overrides: &["hostPathVolumes"],
        description: "Volumes may only be configMap, csi, downwardAPI, emptyDir, ephemeral, \
            persistentVolumeClaim, projected or secret.",
    },
    CheckInfo {
        id: "runAsNonRoot",
        level: Level::Restricted,
        title: "Running as root",
        control: "Running as Non-root",
        min_version: Version::v1(0),
        variants: &[Version::v1(0), Version::v1(35)],
        overrides: &[],
        description: "securityContext.runAsNonRoot must be true at pod level or in every \
            container, and never false; from v1.35 pods with spec.hostUsers=false are exempt.",
    },
    CheckInfo {
        id: "runAsUser",
        level: Level::Restricted,
        title: "Running as UID 0",
        control: "Running as Non-root user",
        min_version: Version::v1(23),
        variants: &[Version::v1(23), Version::v1(35)],
        overrides: &[],
        description: "securityContext.runAsUser (pod and containers) must not be 0; from v1.35 \
            pods with spec.hostUsers=false are exempt.",
    },
    CheckInfo {
        id: "seccompProfile_restricted",
        level: Level::Restricted,
        title: "Missing seccomp profile",
        control: "Seccomp",
        min_version: Version::v1(19),
        variants: &[Version::v1(19), Version::v1(25)],
        overrides: &["seccompProfile_baseline"],
        description: "securityContext.seccompProfile.type must be RuntimeDefault or Localhost at \
            pod level or in every container, and never anything else; from v1.25 pods with \
            spec.os.name=windows are exempt.",
    },
];

/// One version variant of a check.
pub(crate) struct Variant {
    /// First v1 minor using this variant.
    pub(crate) min_minor: u32,
    /// Evaluates the pod; `None` means allowed.
    pub(crate) run: fn(&Pod<'_>) -> Option<Finding>,
}

const fn v(min_minor: u32, run: fn(&Pod<'_>) -> Option<Finding>) -> Variant {
    Variant { min_minor, run }
}

/// The variants of the check `id`, oldest first.
pub(crate) fn variants(id: &str) -> &'static [Variant] {
    match id {
        "appArmorProfile" => const { &[v(0, c::app_armor_profile)] },
        "capabilities_baseline" => const { &[v(0, c::capabilities_baseline)] },
        "hostNamespaces" => const { &[v(0, c::host_namespaces)] },
        "hostPathVolumes" => const { &[v(0, c::host_path_volumes)] },
        "hostPorts" => const { &[v(0, c::host_ports)] },
        "hostProbesAndHostLifecycle" => const { &[v(34, c::host_probes_and_lifecycle)] },
        "privileged" => const { &[v(0, c::privileged)] },
        "procMount" => const { &[v(0, c::proc_mount), v(35, c::proc_mount_1_35)] },
        "seLinuxOptions" => {
            const { &[v(0, c::selinux_options_1_0), v(31, c::selinux_options_1_31)] }
        }
        "seccompProfile_baseline" => {
            const {
                &[
                    v(0, c::seccomp_baseline_annotations),
                    v(19, c::seccomp_baseline_fields),
                ]
            }
        }
        "sysctls" => {
            const {
                &[
                    v(0, c::sysctls_1_0),
                    v(27, c::sysctls_1_27),
                    v(29, c::sysctls_1_29),
                    v(32, c::sysctls_1_32),
                    v(37, c::sysctls_1_37),
                ]
            }
        }
        "windowsHostProcess" => const { &[v(0, c::windows_host_process)] },
        "allowPrivilegeEscalation" => {
            const {
                &[
                    v(8, c::allow_privilege_escalation),
                    v(25, c::allow_privilege_escalation_1_25),
                ]
            }
        }
        "capabilities_restricted" => {
            const {
                &[
                    v(22, c::capabilities_restricted),
                    v(25, c::capabilities_restricted_1_25),
                ]
            }
        }
        "procMount_restricted" => const { &[v(35, c::proc_mount)] },
        "restrictedVolumes" => const { &[v(0, c::restricted_volumes)] },
        "runAsNonRoot" => const { &[v(0, c::run_as_non_root), v(35, c::run_as_non_root_1_35)] },
        "runAsUser" => const { &[v(23, c::run_as_user), v(35, c::run_as_user_1_35)] },
        "seccompProfile_restricted" => {
            const {
                &[
                    v(19, c::seccomp_restricted),
                    v(25, c::seccomp_restricted_1_25),
                ]
            }
        }
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_is_sorted_and_consistent() {
        let mut previous: Option<&CheckInfo> = None;
        for info in &CHECKS {
            if let Some(prev) = previous {
                assert!(
                    (prev.level, prev.id) < (info.level, info.id),
                    "{} must come after {}",
                    info.id,
                    prev.id
                );
            }
            previous = Some(info);
            let variants = variants(info.id);
            let mins: Vec<Version> = variants.iter().map(|v| Version::v1(v.min_minor)).collect();
            assert_eq!(mins, info.variants, "{}", info.id);
            assert_eq!(
                info.variants.first(),
                Some(&info.min_version),
                "{}",
                info.id
            );
            for id in info.overrides {
                assert!(
                    CHECKS
                        .iter()
                        .any(|c| c.id == *id && c.level == Level::Baseline),
                    "{id}"
                );
            }
        }
    }
}
