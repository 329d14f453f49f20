//! Profiles from recordings: default deny (EPERM), the recorded syscalls allowed, argument
//! filters on the risky multiplexers, a provenance block; merging; Kubernetes and
//! security-profiles-operator emitters.

use crate::profile::{
    Action, Arg, Op, Profile, Provenance, RecordingMeta, Rule, is_known_syscall,
    native_architectures,
};
use crate::record::{Observed, Recording};
use std::collections::BTreeSet;

/// The namespace flags of `clone` (CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID |
/// NEWNET), the mask Docker's default profile uses.
pub const CLONE_NAMESPACE_FLAGS: u64 = 0x7E02_0000;

/// ENOSYS: what `clone3` returns when it is refused, so that libc falls back to `clone` (whose
/// flags a filter can see), as Docker's default profile does.
pub const ENOSYS: u32 = 38;

/// The syscalls runc 1.1.5 itself makes after installing the filter and before exec'ing the
/// workload, measured with `SCMP_ACT_LOG` (see shared/notes/runtime-feasibility.md), with
/// `noNewPrivileges: true` (runc's default: the filter is installed just before exec).
pub const RUNC_AFTER_FILTER: &[&str] = &[
    "close",
    "epoll_ctl",
    "execve",
    "fstatfs",
    "futex",
    "getdents64",
    "getpid",
    "openat",
    "rt_sigreturn",
    "write",
];

/// Same, with `noNewPrivileges: false` (the filter is installed earlier).
pub const RUNC_AFTER_FILTER_NO_NNP: &[&str] = &[
    "capget",
    "capset",
    "chdir",
    "close",
    "epoll_ctl",
    "execve",
    "faccessat2",
    "fcntl",
    "fstat",
    "fstatfs",
    "futex",
    "getcwd",
    "getdents64",
    "getpid",
    "getppid",
    "newfstatat",
    "openat",
    "prctl",
    "read",
    "rt_sigreturn",
    "setgid",
    "setgroups",
    "setuid",
    "write",
];

/// Why a profile could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// A name added by hand is not a syscall.
    #[error("unknown syscall name `{0}`")]
    UnknownSyscall(String),
    /// `--merge` into a profile rampart did not record.
    #[error(
        "{0}: cannot merge: the profile has no `rampart` recording block (it was not recorded by rampart)"
    )]
    NotRecorded(String),
    /// A Kubernetes object name that is not a DNS-1123 subdomain.
    #[error(
        "invalid resource name `{0}`: expected lowercase letters, digits, `-` and `.`, at most 253 characters"
    )]
    BadName(String),
}

/// Builds a profile from recordings.
#[derive(Debug, Clone)]
pub struct Generator {
    /// Everything observed so far.
    pub observed: Observed,
    /// The recordings merged.
    pub recordings: Vec<RecordingMeta>,
    /// Syscalls allowed without being recorded (e.g. the runtime's).
    pub added: BTreeSet<String>,
    /// Whether to restrict clone, clone3, socket and personality to what was observed.
    pub arg_filters: bool,
}

impl Default for Generator {
    fn default() -> Self {
        Generator {
            observed: Observed::default(),
            recordings: Vec::new(),
            added: BTreeSet::new(),
            arg_filters: true,
        }
    }
}

impl Generator {
    /// Add a recording.
    pub fn add_recording(&mut self, r: &Recording) {
        self.observed.merge(&r.observed);
        self.recordings.push(RecordingMeta {
            command: r.command.clone(),
            date: r.started.to_string(),
            status: r.exit.to_string(),
            method: r.method.clone(),
        });
    }

    /// Allow a syscall that was not recorded.
    pub fn allow(&mut self, name: &str) -> Result<(), GenerateError> {
        if !is_known_syscall(name) {
            return Err(GenerateError::UnknownSyscall(name.to_owned()));
        }
        self.added.insert(name.to_owned());
        Ok(())
    }

    /// Take in what a profile recorded earlier by rampart holds (`--merge`).
    pub fn merge_profile(&mut self, p: &Profile, origin: &str) -> Result<(), GenerateError> {
        let prov = p
            .rampart
            .as_ref()
            .ok_or_else(|| GenerateError::NotRecorded(origin.to_owned()))?;
        self.observed.merge(&prov.observed);
        self.recordings.extend(prov.recordings.iter().cloned());
        for name in &prov.added {
            self.allow(name)?;
        }
        Ok(())
    }

    /// The profile.
    pub fn profile(&self) -> Profile {
        let obs = &self.observed;
        let mut names: BTreeSet<&str> = obs.syscalls.keys().map(String::as_str).collect();
        names.extend(self.added.iter().map(String::as_str));
        let mut rules = Vec::new();
        let mut filtered = Vec::new();
        if self.arg_filters {
            let uses_ns = obs
                .clone_flags
                .iter()
                .any(|f| f & CLONE_NAMESPACE_FLAGS != 0);
            let wants_clone = names.remove("clone") | names.remove("clone3");
            if wants_clone && !uses_ns {
                let mut clone = Rule::new(vec!["clone".into()], Action::Allow);
                clone.args.push(Arg {
                    index: if cfg!(target_arch = "s390x") { 1 } else { 0 },
                    value: CLONE_NAMESPACE_FLAGS,
                    value_two: Some(0),
                    op: Op::MaskedEq,
                });
                clone.comment = "clone without namespace flags".into();
                filtered.push(clone);
                let mut clone3 = Rule::new(vec!["clone3".into()], Action::Errno);
                clone3.errno_ret = Some(ENOSYS);
                clone3.comment =
                    "clone3's flags are out of a filter's reach: ENOSYS makes libc use clone"
                        .into();
                filtered.push(clone3);
            } else if wants_clone {
                names.insert("clone");
                names.insert("clone3");
            }
            for (name, values) in [
                ("socket", &obs.socket_families),
                ("personality", &obs.personalities),
            ] {
                if !names.contains(name) || values.contains(&u64::MAX) || values.is_empty() {
                    continue;
                }
                names.remove(name);
                for v in values {
                    let mut r = Rule::new(vec![name.into()], Action::Allow);
                    r.args.push(Arg {
                        index: 0,
                        value: *v,
                        value_two: None,
                        op: Op::Eq,
                    });
                    filtered.push(r);
                }
            }
        }
        if !names.is_empty() {
            rules.push(Rule::new(
                names.iter().map(|s| (*s).to_owned()).collect(),
                Action::Allow,
            ));
        }
        rules.extend(filtered);
        Profile {
            default_action: Action::Errno,
            default_errno_ret: Some(1),
            architectures: native_architectures(),
            arch_map: Vec::new(),
            flags: Vec::new(),
            listener_path: None,
            listener_metadata: None,
            syscalls: rules,
            rampart: Some(Provenance {
                comment: format!(
                    "recorded by rampart {} with ptrace from {} run(s); every other syscall fails with EPERM",
                    env!("CARGO_PKG_VERSION"),
                    self.recordings.len()
                ),
                version: env!("CARGO_PKG_VERSION").into(),
                recordings: self.recordings.clone(),
                added: self.added.iter().cloned().collect(),
                observed: self.observed.clone(),
            }),
        }
    }
}

fn check_name(name: &str) -> Result<(), GenerateError> {
    let ok = !name.is_empty()
        && name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(GenerateError::BadName(name.to_owned()))
    }
}

/// The Kubernetes `securityContext` snippet using a profile installed on the node as
/// `<kubelet root>/seccomp/<localhost_profile>` (YAML).
pub fn kubernetes_snippet(localhost_profile: &str) -> String {
    format!(
        "# the profile must be on every node at /var/lib/kubelet/seccomp/{p}\n\
         securityContext:\n  seccompProfile:\n    type: Localhost\n    localhostProfile: {q}\n",
        p = localhost_profile,
        q = serde_json::Value::String(localhost_profile.to_owned()),
    )
}

/// A security-profiles-operator `SeccompProfile` resource (v1beta1) holding the profile, as JSON
/// (which `kubectl apply -f` reads like YAML).
pub fn spo_resource(name: &str, p: &Profile) -> Result<String, GenerateError> {
    check_name(name)?;
    let syscalls: Vec<serde_json::Value> = p
        .syscalls
        .iter()
        .map(|r| {
            let mut v = serde_json::json!({ "names": r.names, "action": r.action });
            if let (Some(e), Some(m)) = (r.errno_ret, v.as_object_mut()) {
                m.insert("errnoRet".into(), e.into());
            }
            if !r.args.is_empty()
                && let Some(m) = v.as_object_mut()
            {
                m.insert(
                    "args".into(),
                    serde_json::to_value(&r.args).unwrap_or_default(),
                );
            }
            v
        })
        .collect();
    let doc = serde_json::json!({
        "apiVersion": "security-profiles-operator.x-k8s.io/v1beta1",
        "kind": "SeccompProfile",
        "metadata": {
            "name": name,
            "annotations": {
                "rampart.dev/comment": p.rampart.as_ref().map(|r| r.comment.clone()).unwrap_or_default(),
            },
        },
        "spec": {
            "defaultAction": p.default_action,
            "architectures": p.architectures,
            "syscalls": syscalls,
        },
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    Ok(s)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::record::Exit;

    fn recording(calls: &[&str], clone_flags: &[u64], families: &[u64]) -> Recording {
        let mut observed = Observed::default();
        for c in calls {
            observed.count(c);
        }
        observed.clone_flags.extend(clone_flags);
        observed.socket_families.extend(families);
        Recording {
            command: vec!["prog".into()],
            observed,
            exit: Exit::Code(0),
            started: jiff::Timestamp::UNIX_EPOCH,
            method: "test".into(),
        }
    }

    #[test]
    fn profile_denies_by_default_and_filters_multiplexers() {
        let mut g = Generator::default();
        g.add_recording(&recording(
            &["read", "clone", "socket", "exit_group"],
            &[0x0120_0011],
            &[1, 10],
        ));
        let p = g.profile();
        assert_eq!(p.default_action, Action::Errno);
        assert_eq!(p.default_errno_ret, Some(1));
        assert_eq!(p.architectures, native_architectures());
        assert_eq!(p.syscalls[0].names, vec!["exit_group", "read"]);
        let clone = p.syscalls.iter().find(|r| r.names == ["clone"]).unwrap();
        assert_eq!(clone.args[0].op, Op::MaskedEq);
        assert_eq!(clone.args[0].value, 2_114_060_288);
        let clone3 = p.syscalls.iter().find(|r| r.names == ["clone3"]).unwrap();
        assert_eq!((clone3.action, clone3.errno_ret), (Action::Errno, Some(38)));
        let families: Vec<u64> = p
            .syscalls
            .iter()
            .filter(|r| r.names == ["socket"])
            .map(|r| r.args[0].value)
            .collect();
        assert_eq!(families, vec![1, 10]);
        // The profile is valid for our own parser.
        Profile::parse(p.to_json().as_bytes(), "gen").unwrap();
    }

    #[test]
    fn namespace_flags_seen_keep_clone_open() {
        let mut g = Generator::default();
        g.add_recording(&recording(&["clone"], &[0x1000_0000 | 0x11], &[]));
        let p = g.profile();
        assert!(p.syscalls[0].names.contains(&"clone".to_owned()));
        assert!(p.syscalls[0].names.contains(&"clone3".to_owned()));
        assert!(p.syscalls[0].args.is_empty());
    }

    #[test]
    fn merge_through_the_provenance_block() {
        let mut g = Generator::default();
        g.add_recording(&recording(&["read"], &[], &[]));
        g.allow("futex").unwrap();
        let first = Profile::parse(g.profile().to_json().as_bytes(), "first").unwrap();
        let mut g2 = Generator::default();
        g2.merge_profile(&first, "first").unwrap();
        g2.add_recording(&recording(&["write", "read"], &[], &[]));
        let p = g2.profile();
        assert_eq!(p.syscalls[0].names, vec!["futex", "read", "write"]);
        let prov = p.rampart.unwrap();
        assert_eq!(prov.recordings.len(), 2);
        assert_eq!(prov.observed.syscalls["read"], 2);
        assert!(g2.allow("nope").is_err());
        let docker = Profile::parse(include_bytes!("../data/docker-default.json"), "d").unwrap();
        assert!(
            Generator::default()
                .merge_profile(&docker, "d")
                .unwrap_err()
                .to_string()
                .contains("no `rampart` recording block")
        );
    }

    #[test]
    fn emitters() {
        let mut g = Generator::default();
        g.add_recording(&recording(&["read", "clone"], &[0x11], &[]));
        let p = g.profile();
        let spo: serde_json::Value =
            serde_json::from_str(&spo_resource("my-app", &p).unwrap()).unwrap();
        assert_eq!(spo["kind"], "SeccompProfile");
        assert_eq!(spo["spec"]["defaultAction"], "SCMP_ACT_ERRNO");
        assert_eq!(
            spo["spec"]["syscalls"][1]["args"][0]["op"],
            "SCMP_CMP_MASKED_EQ"
        );
        assert!(spo_resource("My_App", &p).is_err());
        let k = kubernetes_snippet("profiles/app.json");
        assert!(k.contains("type: Localhost"));
        assert!(k.contains("localhostProfile: \"profiles/app.json\""));
    }
}
