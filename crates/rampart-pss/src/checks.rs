//! The check implementations.
//!
//! Each check mirrors one upstream `policy/check_*.go` check of
//! `k8s.io/pod-security-admission`: same forbidden reason and detail wording,
//! same container visiting order (init containers, containers, ephemeral
//! containers) and same sorting of reported values.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::pod::{Container, Pod, annotation_path, display, field, is_true, is_zero, spec_path};
use crate::{FieldPath, PathSeg};

/// What a failing check reports (the check ID and level are added later).
pub(crate) struct Finding {
    pub(crate) reason: String,
    pub(crate) detail: String,
    pub(crate) paths: Vec<FieldPath>,
    pub(crate) container: Option<String>,
}

// ---------------------------------------------------------------------------
// Message helpers (wording identical to upstream)

fn pluralize<'s>(singular: &'s str, plural: &'s str, count: usize) -> &'s str {
    if count == 1 { singular } else { plural }
}

/// `"a", "b", "c"`.
fn join_quote<S: AsRef<str>>(items: &[S]) -> String {
    let mut out = String::new();
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push('"');
        out.push_str(item.as_ref());
        out.push('"');
    }
    out
}

/// `container "a"` or `containers "a", "b"`.
fn containers_phrase<S: AsRef<str>>(names: &[S]) -> String {
    format!(
        "{} {}",
        pluralize("container", "containers", names.len()),
        join_quote(names)
    )
}

/// `<subject> uses|use <noun|nouns> <items>`: the shape of upstream's "uses" details, the verb
/// agreeing with `subjects` and the noun with `items.len()`.
fn uses_phrase<S: AsRef<str>>(
    subject: &str,
    subjects: usize,
    noun: (&str, &str),
    items: &[S],
    quote: bool,
) -> String {
    let list = if quote {
        join_quote(items)
    } else {
        items
            .iter()
            .map(AsRef::as_ref)
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "{subject} {} {} {list}",
        pluralize("uses", "use", subjects),
        pluralize(noun.0, noun.1, items.len()),
    )
}

/// Quotes like Go's `%q` verb (`strconv.Quote`).
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Accumulates offending paths and the first offending container.
#[derive(Default)]
struct Hits {
    paths: Vec<FieldPath>,
    container: Option<String>,
}

impl Hits {
    fn path(&mut self, path: FieldPath) {
        self.paths.push(path);
    }

    fn container(&mut self, c: &Container<'_>, path: FieldPath) {
        if self.container.is_none() {
            self.container = Some(c.name().to_owned());
        }
        self.paths.push(path);
    }

    fn finding(self, reason: impl Into<String>, detail: impl Into<String>) -> Option<Finding> {
        Some(Finding {
            reason: reason.into(),
            detail: detail.into(),
            paths: self.paths,
            container: self.container,
        })
    }
}

/// A field value shown in a message, `""` when absent.
fn shown(value: Option<&Value>) -> String {
    value.map(display).unwrap_or_default()
}

/// `value` is a string in `allowed`.
fn one_of(value: Option<&Value>, allowed: &[&str]) -> bool {
    value
        .and_then(Value::as_str)
        .is_some_and(|s| allowed.contains(&s))
}

/// Who set something: `pod`, `containers "a"`, joined with " and ".
fn setters(pod: bool, containers: &[&str], extra: Option<String>) -> String {
    let mut parts = Vec::new();
    if pod {
        parts.push("pod".to_owned());
    }
    if !containers.is_empty() {
        parts.push(containers_phrase(containers));
    }
    parts.extend(extra);
    parts.join(" and ")
}

// ---------------------------------------------------------------------------
// Baseline checks

pub(crate) fn host_namespaces(pod: &Pod<'_>) -> Option<Finding> {
    let mut hits = Hits::default();
    let mut forbidden = Vec::new();
    for key in ["hostNetwork", "hostPID", "hostIPC"] {
        if is_true(pod.spec(&[key])) {
            forbidden.push(format!("{key}=true"));
            hits.path(spec_path(&[key]));
        }
    }
    if forbidden.is_empty() {
        return None;
    }
    hits.finding("host namespaces", forbidden.join(", "))
}

pub(crate) fn privileged(pod: &Pod<'_>) -> Option<Finding> {
    let mut hits = Hits::default();
    let mut bad = Vec::new();
    for c in pod.containers() {
        if is_true(c.sc(&["privileged"])) {
            bad.push(c.name());
            hits.container(c, c.sc_path(&["privileged"]));
        }
    }
    if bad.is_empty() {
        return None;
    }
    let detail = format!(
        "{} must not set securityContext.privileged=true",
        containers_phrase(&bad)
    );
    hits.finding("privileged", detail)
}

const DEFAULT_CAPABILITIES: &[&str] = &[
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

/// Adds of a container not in `allowed`, with their paths.
fn forbidden_adds<'a>(c: &Container<'a>, allowed: &[&str]) -> Vec<(String, FieldPath)> {
    let mut out = Vec::new();
    for (i, cap) in c
        .array(&["securityContext", "capabilities", "add"])
        .iter()
        .enumerate()
    {
        if !one_of(Some(cap), allowed) {
            let mut path = c.sc_path(&["capabilities", "add"]);
            path.push(PathSeg::Index(i));
            out.push((display(cap), path));
        }
    }
    out
}

pub(crate) fn capabilities_baseline(pod: &Pod<'_>) -> Option<Finding> {
    let mut hits = Hits::default();
    let mut bad = Vec::new();
    let mut caps = BTreeSet::new();
    for c in pod.containers() {
        let adds = forbidden_adds(c, DEFAULT_CAPABILITIES);
        if adds.is_empty() {
            continue;
        }
        bad.push(c.name());
        for (cap, path) in adds {
            caps.insert(cap);
            hits.container(c, path);
        }
    }
    if bad.is_empty() {
        return None;
    }
    let caps: Vec<_> = caps.into_iter().collect();
    let detail = format!(
        "{} must not include {} in securityContext.capabilities.add",
        containers_phrase(&bad),
        join_quote(&caps)
    );
    hits.finding("non-default capabilities", detail)
}

/// The name of a volume (empty if missing or not a string).
fn volume_name(volume: &Value) -> &str {
    field(volume, &["name"])
        .and_then(Value::as_str)
        .unwrap_or_default()
}

pub(crate) fn host_path_volumes(pod: &Pod<'_>) -> Option<Finding> {
    let mut hits = Hits::default();
    let mut bad = Vec::new();
    for (i, volume) in pod.spec_array(&["volumes"]).iter().enumerate() {
        if field(volume, &["hostPath"]).is_some() {
            bad.push(volume_name(volume));
            let mut path = spec_path(&["volumes"]);
            path.extend([PathSeg::Index(i), PathSeg::key("hostPath")]);
            hits.path(path);
        }
    }
    if bad.is_empty() {
        return None;
    }
    let detail = format!(
        "{} {}",
        pluralize("volume", "volumes", bad.len()),
        join_quote(&bad)
    );
    hits.finding("hostPath volumes", detail)
}

pub(crate) fn host_ports(pod: &Pod<'_>) -> Option<Finding> {
    let mut hits = Hits::default();
    let mut bad = Vec::new();
    // Upstream keeps the ports as a sorted set of strings.
    let mut ports = BTreeSet::new();
    for c in pod.containers() {
        let mut found = false;
        for (i, port) in c.array(&["ports"]).iter().enumerate() {
            let Some(host_port) = field(port, &["hostPort"]) else {
                continue;
            };
            if is_zero(host_port) {
                continue;
            }
            found = true;
            ports.insert(display(host_port));
            let mut path = c.path(&["ports"]);
            path.extend([PathSeg::Index(i), PathSeg::key("hostPort")]);
            hits.container(c, path);
        }
        if found {
            bad.push(c.name());
        }
    }
    if bad.is_empty() {
        return None;
    }
    let ports: Vec<_> = ports.into_iter().collect();
    let detail = uses_phrase(
        &containers_phrase(&bad),
        bad.len(),
        ("hostPort", "hostPorts"),
        &ports,
        false,
    );
    hits.finding("hostPort", detail)
}

const APPARMOR_ANNOTATION_PREFIX: &str = "container.apparmor.security.beta.kubernetes.io/";

pub(crate) fn app_armor_profile(pod: &Pod<'_>) -> Option<Finding> {
    const ALLOWED_TYPES: &[&str] = &["RuntimeDefault", "Localhost"];
    let mut hits = Hits::default();
    let mut bad_values = BTreeSet::new();

    let pod_profile = pod.spec(&["securityContext", "appArmorProfile"]);
    let pod_bad = pod_profile.is_some_and(|p| !one_of(field(p, &["type"]), ALLOWED_TYPES));
    if let Some(profile) = pod_profile.filter(|_| pod_bad) {
        bad_values.insert(shown(field(profile, &["type"])));
        hits.path(pod.spec_nearest(&["securityContext", "appArmorProfile", "type"]));
    }

    let mut bad_containers = Vec::new();
    for c in pod.containers() {
        let Some(profile) = c.sc(&["appArmorProfile"]) else {
            continue;
        };
        if !one_of(field(profile, &["type"]), ALLOWED_TYPES) {
            bad_containers.push(c.name());
            bad_values.insert(shown(field(profile, &["type"])));
            hits.container(
                c,
                c.nearest(&["securityContext", "appArmorProfile", "type"]),
            );
        }
    }

    let mut bad_annotations = Vec::new();
    for (key, value) in pod.annotations() {
        let Some(container) = key.strip_prefix(APPARMOR_ANNOTATION_PREFIX) else {
            continue;
        };
        let allowed = match value {
            Value::Null => true,
            Value::String(s) => {
                s.is_empty() || s == "runtime/default" || s.starts_with("localhost/")
            }
            _ => false,
        };
        if !allowed {
            bad_annotations.push(format!("{key}={}", go_quote(&display(value))));
            if hits.container.is_none() {
                hits.container = Some(container.to_owned());
            }
            hits.path(annotation_path(key));
        }
    }
    bad_annotations.sort();

    let annotations_setter = (!bad_annotations.is_empty())
        .then(|| pluralize("annotation", "annotations", bad_annotations.len()).to_owned());
    if !pod_bad && bad_containers.is_empty() && annotations_setter.is_none() {
        return None;
    }
    let mut values: Vec<String> = bad_values.into_iter().collect();
    values.extend(bad_annotations);
    let reason = pluralize(
        "forbidden AppArmor profile",
        "forbidden AppArmor profiles",
        values.len(),
    );
    let detail = format!(
        "{} must not set AppArmor profile type to {}",
        setters(pod_bad, &bad_containers, annotations_setter),
        join_quote(&values)
    );
    hits.finding(reason, detail)
}

fn selinux_options(pod: &Pod<'_>, allowed_types: &[&str]) -> Option<Finding> {
    let mut hits = Hits::default();
    let mut bad_types = BTreeSet::new();
    let mut set_user = false;
    let mut set_role = false;

    // Checks one seLinuxOptions object; returns whether it is invalid.
    let mut inspect = |opts: &Value, base: FieldPath, hits: &mut Hits| -> bool {
        let mut valid = true;
        let typ = field(opts, &["type"]);
        if !(typ.is_none() || one_of(typ, allowed_types)) {
            valid = false;
            bad_types.insert(shown(typ));
            hits.path(extend(&base, "type"));
        }
        for (key, flag) in [("user", &mut set_user), ("role", &mut set_role)] {
            let set = field(opts, &[key]).is_some_and(|v| v.as_str() != Some(""));
            if set {
                valid = false;
                *flag = true;
                hits.path(extend(&base, key));
            }
        }
        valid
    };

    let pod_bad = pod
        .spec(&["securityContext", "seLinuxOptions"])
        .is_some_and(|opts| {
            !inspect(
                opts,
                spec_path(&["securityContext", "seLinuxOptions"]),
                &mut hits,
            )
        });
    let mut bad_containers = Vec::new();
    for c in pod.containers() {
        let Some(opts) = c.sc(&["seLinuxOptions"]) else {
            continue;
        };
        if !inspect(opts, c.sc_path(&["seLinuxOptions"]), &mut hits) {
            bad_containers.push(c.name());
            if hits.container.is_none() {
                hits.container = Some(c.name().to_owned());
            }
        }
    }
    if !pod_bad && bad_containers.is_empty() {
        return None;
    }
    let mut data = Vec::new();
    if !bad_types.is_empty() {
        let types: Vec<_> = bad_types.into_iter().collect();
        data.push(format!(
            "{} {}",
            pluralize("type", "types", types.len()),
            join_quote(&types)
        ));
    }
    if set_user {
        data.push("user may not be set".to_owned());
    }
    if set_role {
        data.push("role may not be set".to_owned());
    }
    let detail = format!(
        "{} set forbidden securityContext.seLinuxOptions: {}",
        setters(pod_bad, &bad_containers, None),
        data.join("; ")
    );
    hits.finding("seLinuxOptions", detail)
}

fn extend(base: &FieldPath, key: &str) -> FieldPath {
    let mut path = base.clone();
    path.push(PathSeg::key(key));
    path
}

const SELINUX_TYPES_1_0: &[&str] = &["container_t", "container_init_t", "container_kvm_t"];
const SELINUX_TYPES_1_31: &[&str] = &[
    "container_t",
    "container_init_t",
    "container_kvm_t",
    "container_engine_t",
];

pub(crate) fn selinux_options_1_0(pod: &Pod<'_>) -> Option<Finding> {
    selinux_options(pod, SELINUX_TYPES_1_0)
}

pub(crate) fn selinux_options_1_31(pod: &Pod<'_>) -> Option<Finding> {
    selinux_options(pod, SELINUX_TYPES_1_31)
}

/// procMount must be unset or `Default` (baseline v1.0, procMount_restricted).
pub(crate) fn proc_mount(pod: &Pod<'_>) -> Option<Finding> {
    let mut hits = Hits::default();
    let mut bad = Vec::new();
    let mut types = BTreeSet::new();
    for c in pod.containers() {
        let Some(value) = c.sc(&["procMount"]) else {
            continue;
        };
        if value.as_str() != Some("Default") {
            bad.push(c.name());
            types.insert(display(value));
            hits.container(c, c.sc_path(&["procMount"]));
        }
    }
    if bad.is_empty() {
        return None;
    }
    let types: Vec<_> = types.into_iter().collect();
    let detail = format!(
        "{} must not set securityContext.procMount to {}",
        containers_phrase(&bad),
        join_quote(&types)
    );
    hits.finding("procMount", detail)
}

const SECCOMP_POD_ANNOTATION: &str = "seccomp.security.alpha.kubernetes.io/pod";
const SECCOMP_CONTAINER_ANNOTATION_PREFIX: &str = "container.seccomp.security.alpha.kubernetes.io/";

fn valid_seccomp_annotation(value: &Value) -> bool {
    value.as_str().is_some_and(|v| {
        v == "runtime/default" || v == "docker/default" || v.starts_with("localhost/")
    })
}

/// Baseline seccomp before v1.19: the alpha annotations.
pub(crate) fn seccomp_baseline_annotations(pod: &Pod<'_>) -> Option<Finding> {
    let mut hits = Hits::default();
    let mut forbidden = BTreeSet::new();
    if let Some(value) = pod.annotation(SECCOMP_POD_ANNOTATION) {
        if !valid_seccomp_annotation(value) {
            forbidden.insert(format!(
                "{SECCOMP_POD_ANNOTATION}={}",
                go_quote(&display(value))
            ));
            hits.path(annotation_path(SECCOMP_POD_ANNOTATION));
        }
    }
    for c in pod.containers() {
        let key = format!("{SECCOMP_CONTAINER_ANNOTATION_PREFIX}{}", c.name());
        if let Some(value) = pod.annotation(&key) {
            if !valid_seccomp_annotation(value) {
                forbidden.insert(format!("{key}={}", go_quote(&display(value))));
                hits.container(c, annotation_path(&key));
            }
        }
    }
    if forbidden.is_empty() {
        return None;
    }
    let forbidden: Vec<_> = forbidden.into_iter().collect();
    let detail = format!(
        "forbidden {} {}",
        pluralize("annotation", "annotations", forbidden.len()),
        forbidden.join(", ")
    );
    hits.finding("seccompProfile", detail)
}

const SECCOMP_TYPES: &[&str] = &["RuntimeDefault", "Localhost"];

/// Shared by the v1.19 baseline and restricted seccomp checks. With
/// `required`, containers without a valid profile of their own and no valid
/// pod-level profile are reported too.
fn seccomp_fields(pod: &Pod<'_>, required: bool) -> Option<Finding> {
    let mut hits = Hits::default();
    let mut bad_values = BTreeSet::new();
    let type_path = ["securityContext", "seccompProfile", "type"];

    let pod_profile = pod.spec(&["securityContext", "seccompProfile"]);
    let pod_type = pod_profile.and_then(|p| field(p, &["type"]));
    let pod_bad = pod_profile.is_some() && !one_of(pod_type, SECCOMP_TYPES);
    let pod_valid = pod_profile.is_some() && !pod_bad;
    if pod_bad {
        bad_values.insert(shown(pod_type));
        hits.path(pod.spec_nearest(&type_path));
    }

    let mut explicit = Vec::new();
    let mut implicit = Vec::new();
    let mut implicit_paths = Vec::new();
    for c in pod.containers() {
        match c.sc(&["seccompProfile"]) {
            Some(profile) => {
                let typ = field(profile, &["type"]);
                if !one_of(typ, SECCOMP_TYPES) {
                    explicit.push(c.name());
                    bad_values.insert(shown(typ));
                    hits.container(c, c.nearest(&type_path));
                }
            }
            None if required && !pod_valid => {
                implicit.push(c);
                implicit_paths.push(c.nearest(&["securityContext", "seccompProfile"]));
            }
            None => {}
        }
    }

    if pod_bad || !explicit.is_empty() {
        let values: Vec<_> = bad_values.into_iter().collect();
        let detail = format!(
            "{} must not set securityContext.seccompProfile.type to {}",
            setters(pod_bad, &explicit, None),
            join_quote(&values)
        );
        return hits.finding("seccompProfile", detail);
    }
    let first = implicit.first()?;
    let hits = Hits {
        container: Some(first.name().to_owned()),
        paths: implicit_paths,
    };
    let names: Vec<_> = implicit.iter().map(|c| c.name()).collect();
    let detail = format!(
        r#"pod or {} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost""#,
        containers_phrase(&names)
    );
    hits.finding("seccompProfile", detail)
}

pub(crate) fn seccomp_baseline_fields(pod: &Pod<'_>) -> Option<Finding> {
    seccomp_fields(pod, false)
}

fn sysctls(pod: &Pod<'_>, allowed: &[&[&str]]) -> Option<Finding> {
    let mut hits = Hits::default();
    let mut forbidden = Vec::new();
    for (i, sysctl) in pod
        .spec_array(&["securityContext", "sysctls"])
        .iter()
        .enumerate()
    {
        let name = field(sysctl, &["name"]);
        let ok = name
            .and_then(Value::as_str)
            .is_some_and(|n| allowed.iter().any(|set| set.contains(&n)));
        if !ok {
            forbidden.push(shown(name));
            let mut path = spec_path(&["securityContext", "sysctls"]);
            path.push(PathSeg::Index(i));
            if name.is_some() {
                path.push(PathSeg::key("name"));
            }
            hits.path(path);
        }
    }
    if forbidden.is_empty() {
        return None;
    }
    hits.finding("forbidden sysctls", forbidden.join(", "))
}

const SYSCTLS_1_0: &[&str] = &[
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_unprivileged_port_start",
];
const SYSCTLS_1_27: &[&str] = &["net.ipv4.ip_local_reserved_ports"];
const SYSCTLS_1_29: &[&str] = &[
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
];
const SYSCTLS_1_32: &[&str] = &["net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"];
const SYSCTLS_1_37: &[&str] = &[
    "net.ipv4.tcp_slow_start_after_idle",
    "net.ipv4.tcp_notsent_lowat",
];

pub(crate) fn sysctls_1_0(pod: &Pod<'_>) -> Option<Finding> {
    sysctls(pod, &[SYSCTLS_1_0])
}

pub(crate) fn sysctls_1_27(pod: &Pod<'_>) -> Option<Finding> {
    sysctls(pod, &[SYSCTLS_1_0, SYSCTLS_1_27])
}

pub(crate) fn sysctls_1_29(pod: &Pod<'_>) -> Option<Finding> {
    sysctls(pod, &[SYSCTLS_1_0, SYSCTLS_1_27, SYSCTLS_1_29])
}

pub(crate) fn sysctls_1_32(pod: &Pod<'_>) -> Option<Finding> {
    sysctls(
        pod,
        &[SYSCTLS_1_0, SYSCTLS_1_27, SYSCTLS_1_29, SYSCTLS_1_32],
    )
}

pub(crate) fn sysctls_1_37(pod: &Pod<'_>) -> Option<Finding> {
    sysctls(
        pod,
        &[
            SYSCTLS_1_0,
            SYSCTLS_1_27,
            SYSCTLS_1_29,
            SYSCTLS_1_32,
            SYSCTLS_1_37,
        ],
    )
}

pub(crate) fn windows_host_process(pod: &Pod<'_>) -> Option<Finding> {
    let mut hits = Hits::default();
    let host_process = ["windowsOptions", "hostProcess"];
    let mut bad = Vec::new();
    for c in pod.containers() {
        if is_true(c.sc(&host_process)) {
            bad.push(c.name());
            hits.container(c, c.sc_path(&host_process));
        }
    }
    let pod_bad = is_true(pod.spec(&["securityContext", "windowsOptions", "hostProcess"]));
    if pod_bad {
        hits.path(spec_path(&[
            "securityContext",
            "windowsOptions",
            "hostProcess",
        ]));
    }
    if !pod_bad && bad.is_empty() {
        return None;
    }
    let detail = format!(
        "{} must not set securityContext.windowsOptions.hostProcess=true",
        setters(pod_bad, &bad, None)
    );
    hits.finding("hostProcess", detail)
}

pub(crate) fn host_probes_and_lifecycle(pod: &Pod<'_>) -> Option<Finding> {
    const HANDLERS: [[&str; 2]; 5] = [
        ["livenessProbe", ""],
        ["readinessProbe", ""],
        ["startupProbe", ""],
        ["lifecycle", "postStart"],
        ["lifecycle", "preStop"],
    ];
    let mut hits = Hits::default();
    let mut bad = BTreeSet::new();
    let mut hosts = BTreeSet::new();
    for c in pod.containers() {
        for handler in HANDLERS {
            let handler: Vec<&str> = handler.into_iter().filter(|k| !k.is_empty()).collect();
            for action in ["httpGet", "tcpSocket"] {
                let mut keys = handler.clone();
                keys.extend([action, "host"]);
                let Some(host) = c.get(&keys) else {
                    continue;
                };
                if host.as_str() == Some("") {
                    continue;
                }
                bad.insert(c.name());
                hosts.insert(display(host));
                hits.container(c, c.path(&keys));
            }
        }
    }
    if bad.is_empty() {
        return None;
    }
    let bad: Vec<_> = bad.into_iter().collect();
    let hosts: Vec<_> = hosts.into_iter().collect();
    let detail = uses_phrase(
        &containers_phrase(&bad),
        bad.len(),
        ("probe or lifecycle host", "probe or lifecycle hosts"),
        &hosts,
        true,
    );
    hits.finding("probe or lifecycle host", detail)
}

// ---------------------------------------------------------------------------
// Restricted checks

pub(crate) fn allow_privilege_escalation(pod: &Pod<'_>) -> Option<Finding> {
    let mut hits = Hits::default();
    let mut bad = Vec::new();
    for c in pod.containers() {
        let value = c.sc(&["allowPrivilegeEscalation"]);
        if value == Some(&Value::Bool(false)) {
            continue;
        }
        bad.push(c.name());
        let path = match value {
            Some(_) => c.sc_path(&["allowPrivilegeEscalation"]),
            None => c.nearest(&["securityContext"]),
        };
        hits.container(c, path);
    }
    if bad.is_empty() {
        return None;
    }
    let detail = format!(
        "{} must set securityContext.allowPrivilegeEscalation=false",
        containers_phrase(&bad)
    );
    hits.finding("allowPrivilegeEscalation != false", detail)
}

pub(crate) fn capabilities_restricted(pod: &Pod<'_>) -> Option<Finding> {
    let mut hits = Hits::default();
    let mut missing_drop = Vec::new();
    let mut adding = Vec::new();
    let mut caps = BTreeSet::new();
    for c in pod.containers() {
        let dropped_all = c
            .array(&["securityContext", "capabilities", "drop"])
            .iter()
            .any(|cap| cap.as_str() == Some("ALL"));
        if !dropped_all {
            missing_drop.push(c.name());
            hits.container(c, c.nearest(&["securityContext", "capabilities", "drop"]));
        }
        let adds = forbidden_adds(c, &["NET_BIND_SERVICE"]);
        if !adds.is_empty() {
            adding.push(c.name());
            for (cap, path) in adds {
                caps.insert(cap);
                hits.container(c, path);
            }
        }
    }
    let mut details = Vec::new();
    if !missing_drop.is_empty() {
        details.push(format!(
            r#"{} must set securityContext.capabilities.drop=["ALL"]"#,
            containers_phrase(&missing_drop)
        ));
    }
    if !adding.is_empty() {
        let caps: Vec<_> = caps.into_iter().collect();
        details.push(format!(
            "{} must not include {} in securityContext.capabilities.add",
            containers_phrase(&adding),
            join_quote(&caps)
        ));
    }
    if details.is_empty() {
        return None;
    }
    hits.finding("unrestricted capabilities", details.join("; "))
}

/// Volume sources the restricted level allows.
const ALLOWED_VOLUME_SOURCES: &[&str] = &[
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

/// Known volume sources the restricted level forbids, in upstream order.
const RESTRICTED_VOLUME_SOURCES: &[&str] = &[
    "hostPath",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "nfs",
    "iscsi",
    "glusterfs",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "fc",
    "azureFile",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "portworxVolume",
    "scaleIO",
    "storageos",
];

/// The restricted source type of a volume, if it uses one.
///
/// A volume with no source at all is allowed: the API server defaults it to
/// `emptyDir`. Unlike upstream (which sees decoded, validated pods), any
/// forbidden source wins over an allowed one, and a non-null field other than
/// `name` and the allowed sources (e.g. `image`, or a misspelling) is
/// reported as `"unknown"`.
fn restricted_volume_type(volume: &Value) -> Option<(&'static str, Option<&str>)> {
    if let Some(source) = RESTRICTED_VOLUME_SOURCES
        .iter()
        .copied()
        .find(|s| field(volume, &[s]).is_some())
    {
        return Some((source, Some(source)));
    }
    let object = volume.as_object()?;
    let mut unknown = None;
    let mut has_allowed = false;
    for (key, value) in object {
        if key == "name" || value.is_null() {
            continue;
        }
        if ALLOWED_VOLUME_SOURCES.contains(&key.as_str()) {
            has_allowed = true;
        } else if unknown.is_none() {
            unknown = Some(key.as_str());
        }
    }
    match unknown {
        Some(key) if !has_allowed => Some(("unknown", Some(key))),
        _ => None,
    }
}

pub(crate) fn restricted_volumes(pod: &Pod<'_>) -> Option<Finding> {
    let mut hits = Hits::default();
    let mut bad = Vec::new();
    let mut types = BTreeSet::new();
    for (i, volume) in pod.spec_array(&["volumes"]).iter().enumerate() {
        let Some((kind, key)) = restricted_volume_type(volume) else {
            continue;
        };
        bad.push(volume_name(volume));
        types.insert(kind);
        let mut path = spec_path(&["volumes"]);
        path.push(PathSeg::Index(i));
        path.extend(key.map(PathSeg::key));
        hits.path(path);
    }
    if bad.is_empty() {
        return None;
    }
    let types: Vec<_> = types.into_iter().collect();
    let volumes = format!(
        "{} {}",
        pluralize("volume", "volumes", bad.len()),
        join_quote(&bad)
    );
    let detail = uses_phrase(
        &volumes,
        bad.len(),
        ("restricted volume type", "restricted volume types"),
        &types,
        true,
    );
    hits.finding("restricted volume types", detail)
}

pub(crate) fn run_as_non_root(pod: &Pod<'_>) -> Option<Finding> {
    let mut hits = Hits::default();
    let pod_value = pod.spec(&["securityContext", "runAsNonRoot"]);
    let pod_ok = pod_value == Some(&Value::Bool(true));
    let pod_bad = pod_value.is_some() && !pod_ok;
    if pod_bad {
        hits.path(spec_path(&["securityContext", "runAsNonRoot"]));
    }
    let mut explicit = Vec::new();
    let mut implicit = Vec::new();
    let mut implicit_paths = Vec::new();
    for c in pod.containers() {
        match c.sc(&["runAsNonRoot"]) {
            Some(Value::Bool(true)) => {}
            Some(_) => {
                explicit.push(c.name());
                hits.container(c, c.sc_path(&["runAsNonRoot"]));
            }
            None if !pod_ok => {
                implicit.push(c);
                implicit_paths.push(c.nearest(&["securityContext"]));
            }
            None => {}
        }
    }
    if pod_bad || !explicit.is_empty() {
        let detail = format!(
            "{} must not set securityContext.runAsNonRoot=false",
            setters(pod_bad, &explicit, None)
        );
        return hits.finding("runAsNonRoot != true", detail);
    }
    let first = implicit.first()?;
    let hits = Hits {
        container: Some(first.name().to_owned()),
        paths: implicit_paths,
    };
    let names: Vec<_> = implicit.iter().map(|c| c.name()).collect();
    let detail = format!(
        "pod or {} must set securityContext.runAsNonRoot=true",
        containers_phrase(&names)
    );
    hits.finding("runAsNonRoot != true", detail)
}

pub(crate) fn run_as_user(pod: &Pod<'_>) -> Option<Finding> {
    let mut hits = Hits::default();
    let pod_bad = pod
        .spec(&["securityContext", "runAsUser"])
        .is_some_and(is_zero);
    if pod_bad {
        hits.path(spec_path(&["securityContext", "runAsUser"]));
    }
    let mut bad = Vec::new();
    for c in pod.containers() {
        if c.sc(&["runAsUser"]).is_some_and(is_zero) {
            bad.push(c.name());
            hits.container(c, c.sc_path(&["runAsUser"]));
        }
    }
    if !pod_bad && bad.is_empty() {
        return None;
    }
    let detail = format!("{} must not set runAsUser=0", setters(pod_bad, &bad, None));
    hits.finding("runAsUser=0", detail)
}

pub(crate) fn seccomp_restricted(pod: &Pod<'_>) -> Option<Finding> {
    seccomp_fields(pod, true)
}

// ---------------------------------------------------------------------------
// Later variants that exempt some pods

/// Defines a variant that skips some pods and otherwise runs an older one.
macro_rules! exempting {
    ($(#[$doc:meta])* $name:ident = $base:ident unless $exempt:ident) => {
        $(#[$doc])*
        pub(crate) fn $name(pod: &Pod<'_>) -> Option<Finding> {
            if pod.$exempt() { None } else { $base(pod) }
        }
    };
}

exempting!(
    /// v1.25: pods with `spec.os.name: windows` are exempt.
    allow_privilege_escalation_1_25 = allow_privilege_escalation unless is_windows
);
exempting!(
    /// v1.25: pods with `spec.os.name: windows` are exempt.
    capabilities_restricted_1_25 = capabilities_restricted unless is_windows
);
exempting!(
    /// v1.25: pods with `spec.os.name: windows` are exempt.
    seccomp_restricted_1_25 = seccomp_restricted unless is_windows
);
exempting!(
    /// v1.35: pods in a user namespace (`hostUsers: false`) are exempt.
    run_as_non_root_1_35 = run_as_non_root unless in_user_namespace
);
exempting!(
    /// v1.35: pods in a user namespace (`hostUsers: false`) are exempt.
    run_as_user_1_35 = run_as_user unless in_user_namespace
);
exempting!(
    /// v1.35: any procMount is allowed in a user namespace (`hostUsers: false`).
    proc_mount_1_35 = proc_mount unless in_user_namespace
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_quote_escapes() {
        assert_eq!(go_quote("a\"b\\c\n\u{1}"), r#""a\"b\\c\n\x01""#);
        assert_eq!(go_quote("héllo"), "\"héllo\"");
    }

    #[test]
    fn join_and_pluralize() {
        assert_eq!(join_quote(&["a", "b"]), r#""a", "b""#);
        assert_eq!(containers_phrase(&["a"]), r#"container "a""#);
        assert_eq!(containers_phrase(&["a", "b"]), r#"containers "a", "b""#);
    }
}
