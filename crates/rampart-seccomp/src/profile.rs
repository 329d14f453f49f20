//! The OCI runtime-spec / Docker seccomp profile model: read (bounded, validated) and write.
//!
//! One model covers both dialects: the OCI form (`architectures`) that runc consumes in
//! `linux.seccomp`, and Moby's superset (`archMap`, per-rule `includes`/`excludes`/`comment`) that
//! Docker's default profile uses. Unknown fields are rejected, except the top-level `rampart`
//! block that records how a profile was made (runc and Docker ignore keys they do not know).

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

/// Limits on what a profile may contain; a real profile is far below each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of JSON.
    pub max_bytes: usize,
    /// Rules in `syscalls`.
    pub max_rules: usize,
    /// Syscall names in all rules together.
    pub max_names: usize,
    /// Argument conditions in one rule (the kernel passes six arguments).
    pub max_args: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 4 << 20,
            max_rules: 4096,
            max_names: 65_536,
            max_args: 6,
        }
    }
}

/// Why a profile could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// The file could not be read or written.
    #[error("{path}: {cause}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        cause: std::io::Error,
    },
    /// The profile is larger than the limit.
    #[error("{origin}: profile is {found} bytes, expected at most {limit}")]
    TooLarge {
        /// File or other origin.
        origin: String,
        /// Its size.
        found: usize,
        /// The limit.
        limit: usize,
    },
    /// Not JSON, or not the shape of a seccomp profile (unknown action, operator, field...).
    #[error("{origin}: invalid seccomp profile at line {line} column {column}: {message}")]
    Json {
        /// File or other origin.
        origin: String,
        /// Line of the error (1-based).
        line: usize,
        /// Column of the error (1-based).
        column: usize,
        /// serde's message.
        message: String,
    },
    /// The JSON has the right shape but a value is invalid.
    #[error("{origin}: {at}: {message}")]
    Invalid {
        /// File or other origin.
        origin: String,
        /// JSON path of the value, e.g. `syscalls[3].names[1]`.
        at: String,
        /// What was expected and what was found.
        message: String,
    },
}

/// A seccomp action (`SCMP_ACT_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Action {
    /// Kill the thread (the historical meaning of `SCMP_ACT_KILL`).
    #[serde(rename = "SCMP_ACT_KILL")]
    Kill,
    /// Kill the whole process.
    #[serde(rename = "SCMP_ACT_KILL_PROCESS")]
    KillProcess,
    /// Kill the thread.
    #[serde(rename = "SCMP_ACT_KILL_THREAD")]
    KillThread,
    /// Send SIGSYS.
    #[serde(rename = "SCMP_ACT_TRAP")]
    Trap,
    /// Fail with an errno (`errnoRet`, `defaultErrnoRet`, else EPERM).
    #[serde(rename = "SCMP_ACT_ERRNO")]
    Errno,
    /// Notify a ptrace tracer (ENOSYS without one).
    #[serde(rename = "SCMP_ACT_TRACE")]
    Trace,
    /// Allow.
    #[serde(rename = "SCMP_ACT_ALLOW")]
    Allow,
    /// Allow and log.
    #[serde(rename = "SCMP_ACT_LOG")]
    Log,
    /// Ask a user-space supervisor (`listenerPath`).
    #[serde(rename = "SCMP_ACT_NOTIFY")]
    Notify,
}

impl Action {
    /// Whether the call goes through (ALLOW or LOG).
    pub fn permits(self) -> bool {
        matches!(self, Action::Allow | Action::Log)
    }
}

/// A comparison operator of an argument condition (`SCMP_CMP_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Op {
    /// Not equal.
    #[serde(rename = "SCMP_CMP_NE")]
    Ne,
    /// Less than.
    #[serde(rename = "SCMP_CMP_LT")]
    Lt,
    /// Less or equal.
    #[serde(rename = "SCMP_CMP_LE")]
    Le,
    /// Equal.
    #[serde(rename = "SCMP_CMP_EQ")]
    Eq,
    /// Greater or equal.
    #[serde(rename = "SCMP_CMP_GE")]
    Ge,
    /// Greater than.
    #[serde(rename = "SCMP_CMP_GT")]
    Gt,
    /// `(arg & value) == valueTwo`.
    #[serde(rename = "SCMP_CMP_MASKED_EQ")]
    MaskedEq,
}

/// One argument condition; several in one rule are AND-ed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Arg {
    /// Argument index, 0 to 5.
    pub index: u32,
    /// The value (the mask for MASKED_EQ).
    pub value: u64,
    /// The expected value for MASKED_EQ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_two: Option<u64>,
    /// The operator.
    pub op: Op,
}

impl Arg {
    /// Whether an argument value satisfies this condition.
    pub fn matches(&self, arg: u64) -> bool {
        match self.op {
            Op::Ne => arg != self.value,
            Op::Lt => arg < self.value,
            Op::Le => arg <= self.value,
            Op::Eq => arg == self.value,
            Op::Ge => arg >= self.value,
            Op::Gt => arg > self.value,
            Op::MaskedEq => arg & self.value == self.value_two.unwrap_or(0),
        }
    }
}

/// Moby's conditions on a rule (`includes` / `excludes`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Filter {
    /// Capabilities (`CAP_*`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub caps: Vec<String>,
    /// Go architecture names (`amd64`, `arm64`...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub arches: Vec<String>,
    /// Minimum kernel version (`4.8`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_kernel: Option<String>,
}

impl Filter {
    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        self.caps.is_empty() && self.arches.is_empty() && self.min_kernel.is_none()
    }
}

/// One rule of `syscalls`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Rule {
    /// The syscall names (the old single `name` form is read into this list).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    /// Old form: one name.
    #[serde(default, skip_serializing)]
    pub name: Option<String>,
    /// The action.
    pub action: Action,
    /// The errno for ERRNO/TRACE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errno_ret: Option<u32>,
    /// Argument conditions, AND-ed.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_empty"
    )]
    pub args: Vec<Arg>,
    /// Moby: a comment.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub comment: String,
    /// Moby: the rule applies only when these hold.
    #[serde(default, skip_serializing_if = "Filter::is_empty")]
    pub includes: Filter,
    /// Moby: the rule does not apply when one of these holds.
    #[serde(default, skip_serializing_if = "Filter::is_empty")]
    pub excludes: Filter,
}

impl Rule {
    /// A rule applying `action` to `names` without conditions.
    pub fn new(names: Vec<String>, action: Action) -> Self {
        Rule {
            names,
            name: None,
            action,
            errno_ret: None,
            args: Vec::new(),
            comment: String::new(),
            includes: Filter::default(),
            excludes: Filter::default(),
        }
    }
}

/// Moby's `archMap` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ArchMap {
    /// The main architecture.
    pub architecture: String,
    /// Its compat architectures.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_empty"
    )]
    pub sub_architectures: Vec<String>,
}

/// How a profile was made (top-level key `rampart`, ignored by runc and Docker).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Provenance {
    /// A sentence for humans.
    pub comment: String,
    /// The rampart version that wrote the profile.
    pub version: String,
    /// One entry per recording merged into the profile.
    pub recordings: Vec<RecordingMeta>,
    /// Syscalls added by hand or for the runtime, not recorded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub added: Vec<String>,
    /// What was observed, kept so later recordings can be merged exactly.
    pub observed: crate::record::Observed,
}

/// One recording merged into a profile.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RecordingMeta {
    /// The command and its arguments.
    pub command: Vec<String>,
    /// When (RFC 3339, UTC).
    pub date: String,
    /// How it ended (`exited 0`, `killed by SIGKILL`).
    pub status: String,
    /// The recorder (`ptrace`).
    pub method: String,
}

/// A seccomp profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Profile {
    /// What happens to calls no rule matches.
    pub default_action: Action,
    /// The errno of the default action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_errno_ret: Option<u32>,
    /// OCI: the architectures (`SCMP_ARCH_*`).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_empty"
    )]
    pub architectures: Vec<String>,
    /// Moby: architectures and their compat architectures.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_empty"
    )]
    pub arch_map: Vec<ArchMap>,
    /// `SECCOMP_FILTER_FLAG_*`.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_empty"
    )]
    pub flags: Vec<String>,
    /// The notify listener socket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listener_path: Option<String>,
    /// Opaque data for the listener.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listener_metadata: Option<String>,
    /// The rules.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub syscalls: Vec<Rule>,
    /// How rampart made this profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rampart: Option<Provenance>,
}

fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// The architectures the OCI schema knows.
pub const ARCHITECTURES: &[&str] = &[
    "SCMP_ARCH_X86",
    "SCMP_ARCH_X86_64",
    "SCMP_ARCH_X32",
    "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64",
    "SCMP_ARCH_LOONGARCH64",
    "SCMP_ARCH_M68K",
    "SCMP_ARCH_MIPS",
    "SCMP_ARCH_MIPS64",
    "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",
    "SCMP_ARCH_MIPSEL64",
    "SCMP_ARCH_MIPSEL64N32",
    "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",
    "SCMP_ARCH_PPC64LE",
    "SCMP_ARCH_S390",
    "SCMP_ARCH_S390X",
    "SCMP_ARCH_PARISC",
    "SCMP_ARCH_PARISC64",
    "SCMP_ARCH_RISCV64",
    "SCMP_ARCH_SH",
    "SCMP_ARCH_SHEB",
];

/// The filter flags the OCI schema knows.
pub const FLAGS: &[&str] = &[
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
];

/// The architectures of a profile for this machine, as Docker picks them: the native one first,
/// then its compat architectures (x86_64: x86 and x32; aarch64: arm).
pub fn native_architectures() -> Vec<String> {
    let list: &[&str] = if cfg!(target_arch = "aarch64") {
        &["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]
    } else {
        &["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
    };
    list.iter().map(|s| (*s).to_owned()).collect()
}

macro_rules! names_of {
    ($set:ident, $($arch:ident),*) => {
        $( for s in syscalls::$arch::Sysno::iter() { $set.insert(s.name()); } )*
    };
}

/// Every syscall name of every architecture the `syscalls` crate knows (profiles such as Docker's
/// name calls of other architectures, which libseccomp ignores on this one).
static KNOWN_NAMES: LazyLock<BTreeSet<&'static str>> = LazyLock::new(|| {
    let mut set = BTreeSet::new();
    names_of!(
        set,
        x86_64,
        x86,
        aarch64,
        arm,
        loongarch64,
        mips,
        mips64,
        powerpc,
        powerpc64,
        riscv32,
        riscv64,
        s390x,
        sparc,
        sparc64
    );
    set
});

/// Names libseccomp resolves that are not in the kernel's generated syscall tables (ARM's private
/// `__ARM_NR_*` calls), which Docker's profile uses.
const LIBSECCOMP_EXTRA: &[&str] = &["breakpoint", "cacheflush", "set_tls", "usr26", "usr32"];

/// Whether `name` is a syscall of some architecture.
pub fn is_known_syscall(name: &str) -> bool {
    KNOWN_NAMES.contains(name) || LIBSECCOMP_EXTRA.contains(&name)
}

/// The number of a syscall on this machine's native architecture.
pub fn native_number(name: &str) -> Option<usize> {
    name.parse::<syscalls::Sysno>()
        .ok()
        .map(|s| s.id() as usize)
}

/// The name of a native syscall number.
pub fn native_name(nr: u64) -> Option<&'static str> {
    usize::try_from(nr)
        .ok()
        .and_then(syscalls::Sysno::new)
        .map(|s| s.name())
}

/// The name of an x86 (i386, `int 0x80` compat) syscall number.
pub fn x86_name(nr: u64) -> Option<&'static str> {
    usize::try_from(nr)
        .ok()
        .and_then(syscalls::x86::Sysno::new)
        .map(|s| s.name())
}

impl Profile {
    /// Parse and validate a profile with the default limits.
    pub fn parse(bytes: &[u8], origin: &str) -> Result<Profile, ProfileError> {
        Self::parse_with(bytes, origin, Limits::default())
    }

    /// Parse and validate a profile.
    pub fn parse_with(bytes: &[u8], origin: &str, limits: Limits) -> Result<Profile, ProfileError> {
        if bytes.len() > limits.max_bytes {
            return Err(ProfileError::TooLarge {
                origin: origin.to_owned(),
                found: bytes.len(),
                limit: limits.max_bytes,
            });
        }
        let mut profile: Profile =
            serde_json::from_slice(bytes).map_err(|e| ProfileError::Json {
                origin: origin.to_owned(),
                line: e.line(),
                column: e.column(),
                message: e.to_string(),
            })?;
        profile.validate(origin, limits)?;
        Ok(profile)
    }

    /// Read a profile file (at most `max_bytes` are read).
    pub fn read(path: &Path) -> Result<Profile, ProfileError> {
        use std::io::Read;
        let limits = Limits::default();
        let io = |cause| ProfileError::Io {
            path: path.to_owned(),
            cause,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let mut bytes = Vec::new();
        let cap = u64::try_from(limits.max_bytes).unwrap_or(u64::MAX);
        file.take(cap + 1).read_to_end(&mut bytes).map_err(io)?;
        Self::parse_with(&bytes, &path.display().to_string(), limits)
    }

    fn validate(&mut self, origin: &str, limits: Limits) -> Result<(), ProfileError> {
        let invalid = |at: String, message: String| ProfileError::Invalid {
            origin: origin.to_owned(),
            at,
            message,
        };
        for (i, arch) in self.architectures.iter().enumerate() {
            if !ARCHITECTURES.contains(&arch.as_str()) {
                return Err(invalid(
                    format!("architectures[{i}]"),
                    format!("unknown architecture `{arch}`, expected SCMP_ARCH_*"),
                ));
            }
        }
        for (i, m) in self.arch_map.iter().enumerate() {
            for arch in std::iter::once(&m.architecture).chain(&m.sub_architectures) {
                if !ARCHITECTURES.contains(&arch.as_str()) {
                    return Err(invalid(
                        format!("archMap[{i}]"),
                        format!("unknown architecture `{arch}`, expected SCMP_ARCH_*"),
                    ));
                }
            }
        }
        for (i, flag) in self.flags.iter().enumerate() {
            if !FLAGS.contains(&flag.as_str()) {
                return Err(invalid(
                    format!("flags[{i}]"),
                    format!("unknown flag `{flag}`, expected SECCOMP_FILTER_FLAG_*"),
                ));
            }
        }
        if self.syscalls.len() > limits.max_rules {
            return Err(invalid(
                "syscalls".into(),
                format!(
                    "{} rules, expected at most {}",
                    self.syscalls.len(),
                    limits.max_rules
                ),
            ));
        }
        let mut total = 0usize;
        for (i, rule) in self.syscalls.iter_mut().enumerate() {
            if let Some(name) = rule.name.take() {
                rule.names.push(name);
            }
            if rule.names.is_empty() {
                return Err(invalid(
                    format!("syscalls[{i}].names"),
                    "expected at least one syscall name, found none".into(),
                ));
            }
            total = total.saturating_add(rule.names.len());
            if total > limits.max_names {
                return Err(invalid(
                    format!("syscalls[{i}].names"),
                    format!(
                        "more than {} syscall names in the profile",
                        limits.max_names
                    ),
                ));
            }
            for (j, name) in rule.names.iter().enumerate() {
                if !is_known_syscall(name) {
                    return Err(invalid(
                        format!("syscalls[{i}].names[{j}]"),
                        format!("unknown syscall name `{}`", name.escape_debug()),
                    ));
                }
            }
            if rule.args.len() > limits.max_args {
                return Err(invalid(
                    format!("syscalls[{i}].args"),
                    format!(
                        "{} argument conditions, expected at most {}",
                        rule.args.len(),
                        limits.max_args
                    ),
                ));
            }
            for (j, arg) in rule.args.iter().enumerate() {
                if arg.index > 5 {
                    return Err(invalid(
                        format!("syscalls[{i}].args[{j}].index"),
                        format!("argument index {}, expected 0 to 5", arg.index),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The profile as pretty JSON (with a final newline).
    pub fn to_json(&self) -> String {
        // A derived Serialize of strings, integers and enums into a String cannot fail.
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    /// Write the profile to `path` atomically (a temporary file in the same directory, renamed).
    pub fn write(&self, path: &Path) -> Result<(), ProfileError> {
        write_atomic(path, self.to_json().as_bytes())
    }
}

/// Write `bytes` to `path` atomically: a temporary file in the same directory, synced, then
/// renamed over `path`. On error nothing is left behind.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ProfileError> {
    use std::io::Write;
    let io = |cause| ProfileError::Io {
        path: path.to_owned(),
        cause,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".rampart-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(io)?;
    tmp.write_all(bytes).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    const DOCKER: &str = include_str!("../data/docker-default.json");

    /// JSON with nulls and empty objects removed (absent and null mean the same to runc/Docker).
    fn normalize(v: serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        match v {
            Value::Object(m) => Value::Object(
                m.into_iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, v)| (k, normalize(v)))
                    .filter(|(_, v)| !matches!(v, Value::Object(m) if m.is_empty()))
                    .collect(),
            ),
            Value::Array(a) => Value::Array(a.into_iter().map(normalize).collect()),
            other => other,
        }
    }

    #[test]
    fn docker_default_round_trips() {
        let p = Profile::parse(DOCKER.as_bytes(), "default.json").unwrap();
        assert_eq!(p.default_action, Action::Errno);
        assert!(p.syscalls.len() > 30);
        let written = p.to_json();
        let again = Profile::parse(written.as_bytes(), "written").unwrap();
        assert_eq!(p, again);
        let original: serde_json::Value = serde_json::from_str(DOCKER).unwrap();
        let ours: serde_json::Value = serde_json::from_str(&written).unwrap();
        assert_eq!(normalize(original), normalize(ours));
    }

    #[test]
    fn corpus_fixtures_parse() {
        let dir = Path::new("/work/shared/corpus/seccomp/seccomp/fixtures");
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries {
                let path = e.unwrap().path();
                Profile::read(&path).unwrap();
            }
        }
    }

    #[test]
    fn old_single_name_form_is_read() {
        let p = Profile::parse(
            br#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"name":"read","action":"SCMP_ACT_ALLOW"}]}"#,
            "t",
        )
        .unwrap();
        assert_eq!(p.syscalls[0].names, vec!["read".to_owned()]);
    }

    #[test]
    fn invalid_profiles_give_clear_errors() {
        let cases: &[(&str, &str)] = &[
            (
                r#"{"defaultAction":"SCMP_ACT_MAYBE"}"#,
                "unknown variant `SCMP_ACT_MAYBE`",
            ),
            (
                r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["no_such_call"],"action":"SCMP_ACT_ALLOW"}]}"#,
                "syscalls[0].names[0]: unknown syscall name `no_such_call`",
            ),
            (
                r#"{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_Z80"]}"#,
                "unknown architecture `SCMP_ARCH_Z80`",
            ),
            (
                r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":9,"value":1,"op":"SCMP_CMP_EQ"}]}]}"#,
                "argument index 9, expected 0 to 5",
            ),
            (
                r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":[],"action":"SCMP_ACT_ALLOW"}]}"#,
                "expected at least one syscall name",
            ),
            (
                r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultaction":1}"#,
                "unknown field `defaultaction`",
            ),
            (
                r#"{"defaultAction":"SCMP_ACT_ERRNO","#,
                "invalid seccomp profile at line 1",
            ),
            (
                r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":-1,"op":"SCMP_CMP_EQ"}]}]}"#,
                "invalid value",
            ),
        ];
        for (input, expected) in cases {
            let e = Profile::parse(input.as_bytes(), "p.json")
                .unwrap_err()
                .to_string();
            assert!(e.contains(expected), "{input}: {e}");
            assert!(e.starts_with("p.json"), "{e}");
        }
    }

    #[test]
    fn hostile_sizes_are_refused() {
        let big = vec![b' '; Limits::default().max_bytes + 1];
        let e = Profile::parse(&big, "big").unwrap_err().to_string();
        assert!(e.contains("expected at most"), "{e}");
        let names = vec!["\"read\""; 70_000].join(",");
        let many = format!(
            r#"{{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{{"names":[{names}],"action":"SCMP_ACT_ALLOW"}}]}}"#
        );
        let e = Profile::parse(many.as_bytes(), "many")
            .unwrap_err()
            .to_string();
        assert!(e.contains("more than 65536 syscall names"), "{e}");
        let deep = "[".repeat(100_000);
        let e = Profile::parse(deep.as_bytes(), "deep")
            .unwrap_err()
            .to_string();
        assert!(e.contains("invalid seccomp profile"), "{e}");
    }

    #[test]
    fn atomic_write_replaces_and_leaves_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.json");
        let p = Profile::parse(DOCKER.as_bytes(), "d").unwrap();
        p.write(&path).unwrap();
        p.write(&path).unwrap();
        let entries: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(entries.len(), 1);
        assert_eq!(Profile::read(&path).unwrap(), p);
        // A directory that does not exist: an error, no file.
        let e = p.write(&dir.path().join("missing/p.json")).unwrap_err();
        assert!(e.to_string().contains("missing"), "{e}");
    }

    #[test]
    fn native_tables() {
        assert_eq!(native_name(0), Some("read"));
        assert_eq!(native_number("openat"), Some(257));
        assert_eq!(x86_name(11), Some("execve"));
        assert!(is_known_syscall("arm_fadvise64_64"));
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,400}") {
            let _ = Profile::parse(s.as_bytes(), "p");
        }

        #[test]
        fn generated_profiles_round_trip(
            names in proptest::collection::btree_set(proptest::sample::select(vec!["read", "write", "openat", "clone", "socket", "futex"]), 1..6),
            errno in proptest::option::of(0u32..200),
            value in proptest::num::u64::ANY,
        ) {
            let mut rule = Rule::new(names.into_iter().map(str::to_owned).collect(), Action::Allow);
            rule.args.push(Arg { index: 0, value, value_two: Some(0), op: Op::MaskedEq });
            let p = Profile {
                default_action: Action::Errno,
                default_errno_ret: errno,
                architectures: native_architectures(),
                arch_map: vec![],
                flags: vec![],
                listener_path: None,
                listener_metadata: None,
                syscalls: vec![rule],
                rampart: None,
            };
            let again = Profile::parse(p.to_json().as_bytes(), "p").unwrap();
            proptest::prop_assert_eq!(p, again);
        }
    }
}
