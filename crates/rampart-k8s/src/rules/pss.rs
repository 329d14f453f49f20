//! The Pod Security Standards, evaluated by `rampart-pss` (the same engine the admission webhook
//! uses), each check reported as its own rule so a reader sees which control failed.

use super::{Ctx, nsa, pss_ref, rule};
use crate::objects::Workload;
use crate::yaml::{Pos, Seg};
use rampart_core::{Finding, Layer, Rule, Severity};
use rampart_pss::{Level, PathSeg, Version};

/// Which Pod Security Standard to hold workloads to.
#[derive(Debug, Clone, Copy)]
pub struct PssOptions {
    /// `Restricted` (default) reports baseline and restricted checks; `Baseline` only baseline
    /// ones; `Privileged` none.
    pub level: Level,
    pub version: Version,
}

impl Default for PssOptions {
    fn default() -> Self {
        PssOptions {
            level: Level::Restricted,
            version: Version::LATEST,
        }
    }
}

macro_rules! pss_rule {
    ($id:literal, $name:literal, $title:literal, $sev:ident, $layer:ident, $control:literal, $why:literal, $fix:literal, $bad:expr, $good:expr) => {
        rule(
            $id,
            $name,
            $title,
            Severity::$sev,
            Layer::$layer,
            [$why, $fix, $bad, $good],
            &[pss_ref($control), nsa("Kubernetes Pod security")],
        )
    };
}

/// A restricted-compliant container, used in the good examples.
macro_rules! good_pod {
    ($extra:literal) => {
        concat!(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: app}\nspec:\n  securityContext:\n    runAsNonRoot: true\n    seccompProfile: {type: RuntimeDefault}\n",
            $extra,
            "  containers:\n  - name: app\n    image: registry.example/app@sha256:0000000000000000000000000000000000000000000000000000000000000000\n    securityContext:\n      allowPrivilegeEscalation: false\n      capabilities: {drop: [ALL]}\n"
        )
    };
}

pub static PRIVILEGED: Rule = pss_rule!(
    "PSS001",
    "privileged",
    "Privileged container",
    Critical,
    Runtime,
    "Privileged Containers",
    "A privileged container has every capability and every device of the node, and AppArmor/SELinux/seccomp are off: escaping to the host is one command away.",
    "Remove `securityContext.privileged: true`; grant the one capability the workload needs instead.",
    "apiVersion: v1\nkind: Pod\nmetadata: {name: app}\nspec:\n  containers:\n  - name: app\n    image: app\n    securityContext: {privileged: true}\n",
    good_pod!("")
);
pub static HOST_NAMESPACES: Rule = pss_rule!(
    "PSS002",
    "host-namespaces",
    "Host namespaces shared",
    High,
    Host,
    "Host Namespaces",
    "Sharing the node's network, PID or IPC namespace lets a container see and reach the node's processes and interfaces.",
    "Remove `hostNetwork`, `hostPID` and `hostIPC` (or set them to false).",
    "apiVersion: v1\nkind: Pod\nmetadata: {name: app}\nspec:\n  hostPID: true\n  containers:\n  - name: app\n    image: app\n",
    good_pod!("")
);
pub static CAPABILITIES_BASELINE: Rule = pss_rule!(
    "PSS003",
    "added-capabilities",
    "Non-default capabilities added",
    High,
    Runtime,
    "Capabilities",
    "Capabilities beyond the container runtime's default set (e.g. SYS_ADMIN, NET_ADMIN) open kernel interfaces that enable escapes.",
    "Remove the added capabilities; only those in the baseline default set may be added.",
    "apiVersion: v1\nkind: Pod\nmetadata: {name: app}\nspec:\n  containers:\n  - name: app\n    image: app\n    securityContext:\n      capabilities: {add: [SYS_ADMIN]}\n",
    good_pod!("")
);
pub static HOST_PATH_VOLUMES: Rule = pss_rule!(
    "PSS004",
    "host-path-volume",
    "hostPath volume",
    High,
    Host,
    "HostPath Volumes",
    "A hostPath volume exposes the node's filesystem to the container.",
    "Use an emptyDir, a ConfigMap/Secret, or a PersistentVolumeClaim instead of hostPath.",
    "apiVersion: v1\nkind: Pod\nmetadata: {name: app}\nspec:\n  containers:\n  - name: app\n    image: app\n  volumes:\n  - name: h\n    hostPath: {path: /var/log}\n",
    good_pod!("  volumes:\n  - name: cache\n    emptyDir: {}\n")
);
pub static HOST_PORTS: Rule = pss_rule!(
    "PSS005",
    "host-port",
    "Host port",
    Medium,
    Host,
    "Host Ports",
    "A hostPort binds the node's interface, bypassing Services and often NetworkPolicy.",
    "Remove `hostPort`; expose the pod through a Service.",
    "apiVersion: v1\nkind: Pod\nmetadata: {name: app}\nspec:\n  containers:\n  - name: app\n    image: app\n    ports: [{containerPort: 80, hostPort: 80}]\n",
    good_pod!("")
);
pub static APPARMOR: Rule = pss_rule!(
    "PSS006",
    "apparmor-unconfined",
    "AppArmor disabled or overridden",
    Medium,
    Runtime,
    "AppArmor",
    "Turning AppArmor off or to an unknown profile removes a mandatory access control layer.",
    "Leave the AppArmor profile unset, or use `RuntimeDefault` or a `Localhost` profile.",
    "apiVersion: v1\nkind: Pod\nmetadata: {name: app}\nspec:\n  securityContext:\n    appArmorProfile: {type: Unconfined}\n  containers:\n  - name: app\n    image: app\n",
    good_pod!("")
);
pub static SELINUX: Rule = pss_rule!(
    "PSS007",
    "selinux-options",
    "Custom SELinux options",
    Medium,
    Runtime,
    "SELinux",
    "Setting a custom SELinux user or role, or an unexpected type, can lift the container out of its confinement.",
    "Remove `seLinuxOptions.user`/`role`; use only the container types `container_t`, `container_init_t`, `container_kvm_t` or `container_engine_t`.",
    "apiVersion: v1\nkind: Pod\nmetadata: {name: app}\nspec:\n  securityContext:\n    seLinuxOptions: {type: spc_t}\n  containers:\n  - name: app\n    image: app\n",
    good_pod!("")
);
pub static PROC_MOUNT: Rule = pss_rule!(
    "PSS008",
    "proc-mount",
    "Unmasked /proc",
    Medium,
    Runtime,
    "/proc Mount Type",
    "An unmasked /proc exposes kernel interfaces the runtime normally hides.",
    "Remove `procMount: Unmasked` (use the Default proc mount).",
    "apiVersion: v1\nkind: Pod\nmetadata: {name: app}\nspec:\n  containers:\n  - name: app\n    image: app\n    securityContext: {procMount: Unmasked}\n",
    good_pod!("")
);
pub static SECCOMP_BASELINE: Rule = pss_rule!(
    "PSS009",
    "seccomp-unconfined",
    "seccomp explicitly disabled",
    High,
    Runtime,
    "Seccomp",
    "An Unconfined seccomp profile lets the container make every system call, including the rarely used ones behind most kernel exploits.",
    "Use `seccompProfile.type: RuntimeDefault` or a `Localhost` profile.",
    "apiVersion: v1\nkind: Pod\nmetadata: {name: app}\nspec:\n  securityContext:\n    seccompProfile: {type: Unconfined}\n  containers:\n  - name: app\n    image: app\n",
    good_pod!("")
);
pub static SYSCTLS: Rule = pss_rule!(
    "PSS010",
    "unsafe-sysctl",
    "Unsafe sysctl",
    Medium,
    Host,
    "Sysctls",
    "Sysctls outside the namespaced safe set can change the node's kernel for every pod.",
    "Only set sysctls from the safe set (e.g. `net.ipv4.ip_local_port_range`).",
    "apiVersion: v1\nkind: Pod\nmetadata: {name: app}\nspec:\n  securityContext:\n    sysctls: [{name: kernel.msgmax, value: '65536'}]\n  containers:\n  - name: app\n    image: app\n",
    good_pod!("")
);
pub static WINDOWS_HOST_PROCESS: Rule = pss_rule!(
    "PSS011",
    "windows-host-process",
    "Windows HostProcess container",
    High,
    Host,
    "HostProcess",
    "A Windows HostProcess container runs directly on the node with the node's privileges.",
    "Remove `windowsOptions.hostProcess: true`.",
    "apiVersion: v1\nkind: Pod\nmetadata: {name: app}\nspec:\n  securityContext:\n    windowsOptions: {hostProcess: true}\n  hostNetwork: true\n  containers:\n  - name: app\n    image: app\n",
    good_pod!("")
);
pub static HOST_PROBES: Rule = pss_rule!(
    "PSS012",
    "host-probe",
    "Probe or lifecycle hook targets another host",
    Medium,
    Host,
    "Probes / Lifecycle Hooks",
    "Setting `host` in an HTTP or TCP probe or lifecycle hook makes the kubelet connect to an arbitrary address on the pod's behalf.",
    "Remove the `host` field from probes and lifecycle handlers.",
    "apiVersion: v1\nkind: Pod\nmetadata: {name: app}\nspec:\n  containers:\n  - name: app\n    image: app\n    livenessProbe:\n      httpGet: {host: 169.254.169.254, path: /, port: 80}\n",
    good_pod!("")
);
pub static RESTRICTED_VOLUMES: Rule = pss_rule!(
    "PSS013",
    "restricted-volume-types",
    "Volume type outside the restricted set",
    Medium,
    Host,
    "Volume Types",
    "Only configMap, csi, downwardAPI, emptyDir, ephemeral, persistentVolumeClaim, projected and secret volumes are allowed by the restricted profile; others reach into the node or external systems.",
    "Replace the volume with one of the allowed types.",
    "apiVersion: v1\nkind: Pod\nmetadata: {name: app}\nspec:\n  containers:\n  - name: app\n    image: app\n  volumes:\n  - name: data\n    nfs: {server: nfs.example, path: /}\n",
    good_pod!("  volumes:\n  - name: cache\n    emptyDir: {}\n")
);
pub static ALLOW_PRIVILEGE_ESCALATION: Rule = pss_rule!(
    "PSS014",
    "allow-privilege-escalation",
    "Privilege escalation allowed",
    Medium,
    Runtime,
    "Privilege Escalation",
    "Unless `allowPrivilegeEscalation: false`, a process can gain more privileges than its parent through setuid binaries or file capabilities.",
    "Set `securityContext.allowPrivilegeEscalation: false` on every container.",
    "apiVersion: v1\nkind: Pod\nmetadata: {name: app}\nspec:\n  containers:\n  - name: app\n    image: app\n",
    good_pod!("")
);
pub static RUN_AS_NON_ROOT: Rule = pss_rule!(
    "PSS015",
    "run-as-non-root",
    "Running as non-root is not enforced (runAsNonRoot)",
    Medium,
    Runtime,
    "Running as Non-root",
    "Without `runAsNonRoot: true` the kubelet starts a container whose user is root: unless every container sets a non-zero `runAsUser`, the image's USER decides, and a container that runs as root turns any escape or writable host mount into root on the node. Even with non-zero UIDs set everywhere, `runAsNonRoot: true` is the guarantee the restricted profile asks for (a later edit or a mutating webhook can change the UID). Each finding's title says which case it is.",
    "Set `runAsNonRoot: true` on the pod or every container (and build the image with a non-root USER).",
    "apiVersion: v1\nkind: Pod\nmetadata: {name: app}\nspec:\n  containers:\n  - name: app\n    image: app\n",
    good_pod!("")
);
pub static RUN_AS_USER: Rule = pss_rule!(
    "PSS016",
    "run-as-user-root",
    "Runs as UID 0",
    High,
    Runtime,
    "Running as Non-root user",
    "`runAsUser: 0` runs the container as root explicitly.",
    "Set `runAsUser` to a non-zero UID, or leave it unset with `runAsNonRoot: true`.",
    "apiVersion: v1\nkind: Pod\nmetadata: {name: app}\nspec:\n  securityContext: {runAsUser: 0}\n  containers:\n  - name: app\n    image: app\n",
    good_pod!("")
);
pub static SECCOMP_RESTRICTED: Rule = pss_rule!(
    "PSS017",
    "seccomp-not-set",
    "No seccomp profile",
    Medium,
    Runtime,
    "Seccomp",
    "Without a seccomp profile every system call is allowed; RuntimeDefault blocks the riskiest ones at no cost to most workloads.",
    "Set `securityContext.seccompProfile.type: RuntimeDefault` (or `Localhost`) on the pod.",
    "apiVersion: v1\nkind: Pod\nmetadata: {name: app}\nspec:\n  containers:\n  - name: app\n    image: app\n",
    good_pod!("")
);
pub static CAPABILITIES_RESTRICTED: Rule = pss_rule!(
    "PSS018",
    "capabilities-not-dropped",
    "Capabilities not dropped",
    Medium,
    Runtime,
    "Capabilities",
    "Containers start with a default capability set (CHOWN, DAC_OVERRIDE, NET_RAW, ...) most never need; the restricted profile drops ALL and adds back only NET_BIND_SERVICE.",
    "Set `capabilities.drop: [ALL]`; add only `NET_BIND_SERVICE` if needed.",
    "apiVersion: v1\nkind: Pod\nmetadata: {name: app}\nspec:\n  containers:\n  - name: app\n    image: app\n",
    good_pod!("")
);
pub static PROC_MOUNT_RESTRICTED: Rule = pss_rule!(
    "PSS019",
    "proc-mount-restricted",
    "Unmasked /proc (restricted)",
    Medium,
    Runtime,
    "/proc Mount Type",
    "The restricted profile forbids an unmasked /proc even in user-namespaced pods.",
    "Remove `procMount: Unmasked`.",
    "apiVersion: v1\nkind: Pod\nmetadata: {name: app}\nspec:\n  hostUsers: false\n  containers:\n  - name: app\n    image: app\n    securityContext: {procMount: Unmasked}\n",
    good_pod!("")
);

pub static RULES: [&Rule; 19] = [
    &PRIVILEGED,
    &HOST_NAMESPACES,
    &CAPABILITIES_BASELINE,
    &HOST_PATH_VOLUMES,
    &HOST_PORTS,
    &APPARMOR,
    &SELINUX,
    &PROC_MOUNT,
    &SECCOMP_BASELINE,
    &SYSCTLS,
    &WINDOWS_HOST_PROCESS,
    &HOST_PROBES,
    &RESTRICTED_VOLUMES,
    &ALLOW_PRIVILEGE_ESCALATION,
    &RUN_AS_NON_ROOT,
    &RUN_AS_USER,
    &SECCOMP_RESTRICTED,
    &CAPABILITIES_RESTRICTED,
    &PROC_MOUNT_RESTRICTED,
];

/// The rule for an upstream check ID.
pub fn rule_for(check_id: &str) -> Option<&'static Rule> {
    Some(match check_id {
        "privileged" => &PRIVILEGED,
        "hostNamespaces" => &HOST_NAMESPACES,
        "capabilities_baseline" => &CAPABILITIES_BASELINE,
        "hostPathVolumes" => &HOST_PATH_VOLUMES,
        "hostPorts" => &HOST_PORTS,
        "appArmorProfile" => &APPARMOR,
        "seLinuxOptions" => &SELINUX,
        "procMount" => &PROC_MOUNT,
        "seccompProfile_baseline" => &SECCOMP_BASELINE,
        "sysctls" => &SYSCTLS,
        "windowsHostProcess" => &WINDOWS_HOST_PROCESS,
        "hostProbesAndHostLifecycle" => &HOST_PROBES,
        "restrictedVolumes" => &RESTRICTED_VOLUMES,
        "allowPrivilegeEscalation" => &ALLOW_PRIVILEGE_ESCALATION,
        "runAsNonRoot" => &RUN_AS_NON_ROOT,
        "runAsUser" => &RUN_AS_USER,
        "seccompProfile_restricted" => &SECCOMP_RESTRICTED,
        "capabilities_restricted" => &CAPABILITIES_RESTRICTED,
        "procMount_restricted" => &PROC_MOUNT_RESTRICTED,
        _ => return None,
    })
}

/// Evaluates the workload's pod template against the Pod Security Standards. Baseline checks are
/// evaluated at the baseline level and restricted-only checks at the restricted level, so that
/// (for example) an added SYS_ADMIN is reported as the high-severity baseline violation it is,
/// not only as the restricted "capabilities not dropped".
pub(crate) fn check(ctx: &mut Ctx<'_, '_>, workload: &Workload<'_>, opts: &PssOptions) {
    let levels: &[Level] = match opts.level {
        Level::Privileged => &[],
        Level::Baseline => &[Level::Baseline],
        Level::Restricted => &[Level::Baseline, Level::Restricted],
    };
    if levels.is_empty() {
        return;
    }
    let pod_json = workload.pod.to_json();
    for &level in levels {
        for info in rampart_pss::checks() {
            if info.level == level
                && let Some(rule) = rule_for(info.id)
            {
                ctx.assessed(rule);
            }
        }
        let eval = rampart_pss::evaluate(level, opts.version, &pod_json);
        for v in &eval.violations {
            if v.level != level {
                continue;
            }
            let Some(rule) = rule_for(v.check_id) else {
                continue;
            };
            let message = format!("{}: {}", v.reason, v.detail);
            // One finding per offending container (each at its own field), so every line that
            // needs a fix is annotated; pod-level fields only when no container is involved.
            let mut sites: Vec<(Option<String>, Pos)> = Vec::new();
            for path in &v.paths {
                let container = container_of(workload, path);
                if !sites.iter().any(|(c, _)| *c == container) {
                    sites.push((container, workload.pod.pos_of(&segs(path))));
                }
            }
            if sites.iter().any(|(c, _)| c.is_some()) {
                sites.retain(|(c, _)| c.is_some());
            }
            if sites.is_empty() {
                sites.push((v.container.clone(), workload.pod.pos));
            }
            let (title, message) = if std::ptr::eq(rule, &RUN_AS_NON_ROOT) {
                run_as_non_root_wording(workload, message)
            } else {
                (rule.title, message)
            };
            for (container, pos) in sites {
                let mut finding = Finding::new(
                    rule,
                    ctx.subject.clone(),
                    ctx.location(pos, container.as_deref()),
                    message.clone(),
                );
                finding.title = title;
                ctx.out.push(finding);
            }
        }
    }
}

/// PSS015 says what is missing: "may run as root" only when some container has no non-zero
/// `runAsUser` (its own or the pod's), so the image's USER, possibly root, decides.
fn run_as_non_root_wording(workload: &Workload<'_>, message: String) -> (&'static str, String) {
    let pod_uid = workload
        .spec()
        .and_then(|s| s.path(&["securityContext", "runAsUser"]))
        .and_then(super::as_int);
    let containers = workload.containers();
    let all_non_zero = !containers.is_empty()
        && containers.iter().all(|c| {
            c.node
                .path(&["securityContext", "runAsUser"])
                .and_then(super::as_int)
                .or(pod_uid)
                .is_some_and(|uid| uid > 0)
        });
    if all_non_zero {
        (
            "runAsNonRoot: true is missing (every container sets a non-zero runAsUser)",
            format!(
                "{message}; every container runs with a non-zero runAsUser, so none runs as root as written, but without runAsNonRoot: true the kubelet would not refuse a root user if that changed"
            ),
        )
    } else {
        (
            "May run as root: no runAsNonRoot and no non-zero runAsUser",
            format!(
                "{message}; a container without a non-zero runAsUser runs as the image's USER, root unless the image sets another"
            ),
        )
    }
}

fn segs(path: &[PathSeg]) -> Vec<Seg<'_>> {
    path.iter()
        .map(|s| match s {
            PathSeg::Key(k) => Seg::Key(k.as_str()),
            PathSeg::Index(i) => Seg::Index(*i),
        })
        .collect()
}

/// The container a field path points into (`spec.<kind>[i]...`), by name.
fn container_of(workload: &Workload<'_>, path: &[PathSeg]) -> Option<String> {
    let [
        PathSeg::Key(spec),
        PathSeg::Key(field),
        PathSeg::Index(i),
        ..,
    ] = path
    else {
        return None;
    };
    if spec != "spec"
        || !matches!(
            field.as_str(),
            "containers" | "initContainers" | "ephemeralContainers"
        )
    {
        return None;
    }
    let node = workload
        .pod
        .path(&["spec", field.as_str()])?
        .as_seq()
        .get(*i)?;
    Some(node.str_at(&["name"]).unwrap_or("<unnamed>").to_owned())
}
