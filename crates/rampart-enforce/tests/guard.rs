//! The guard binary on the host (no container): dynamically linked programs and scripts on the
//! exec allow-list run (their ELF and `#!` interpreters are added), others do not, and a policy
//! that cannot be applied stops the command (fail closed).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::process::{Command, Output};

use rampart_enforce::{Mode, Policy};

fn guard(policy: &Policy, dir: &std::path::Path, cmd: &[&str]) -> Output {
    let p = dir.join("policy.json");
    std::fs::write(&p, serde_json::to_vec(policy).unwrap()).unwrap();
    Command::new(env!("CARGO_BIN_EXE_rampart-guard"))
        .arg("--policy")
        .arg(&p)
        .arg("--")
        .args(cmd)
        .output()
        .unwrap()
}

fn policy(exec: Vec<std::path::PathBuf>) -> Policy {
    Policy {
        mode: Mode::Enforce,
        exec,
        writable: vec![],
        never_read: vec![],
        egress: vec![],
        listen: vec![],
    }
}

#[test]
fn dynamic_programs_and_scripts_run_with_their_interpreters_others_do_not() {
    let d = tempfile::tempdir().unwrap();
    // env and true are dynamically linked (Debian): their loader is not on the list, it is
    // added from PT_INTERP
    let p = policy(vec!["/usr/bin/env".into(), "/usr/bin/true".into()]);
    let out = guard(&p, d.path(), &["/usr/bin/env", "/usr/bin/true"]);
    assert!(out.status.success(), "{out:?}");
    // id is not on the list: env's execve fails with EACCES
    let out = guard(&p, d.path(), &["/usr/bin/env", "/usr/bin/id"]);
    assert_eq!(out.status.code(), Some(126), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("Permission denied"));

    // a script on the list runs: its #! interpreter (/bin/sh) and sh's loader are added
    let script = d.path().join("s.sh");
    std::fs::write(&script, "#!/bin/sh\necho from-script\n").unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let p = policy(vec![script.clone()]);
    let out = guard(&p, d.path(), &[script.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "from-script\n");
    // but the interpreter is not a way to run anything else from the script's list
    let out = guard(&p, d.path(), &["/usr/bin/id"]);
    assert_eq!(out.status.code(), Some(127), "{out:?}");
}

#[test]
fn a_policy_that_cannot_be_applied_stops_the_command() {
    let d = tempfile::tempdir().unwrap();
    let marker = d.path().join("ran");
    let p = d.path().join("policy.json");
    std::fs::write(&p, r#"{"mode": "enforce", "exec": ["/"], "unknown": 1}"#).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_rampart-guard"))
        .arg("--policy")
        .arg(&p)
        .args(["--", "/usr/bin/touch"])
        .arg(&marker)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown field"));
    assert!(!marker.exists());
    // a relative path in an enforce-mode policy: refused too
    std::fs::write(&p, r#"{"mode": "enforce", "exec": ["usr/bin"]}"#).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_rampart-guard"))
        .arg("--policy")
        .arg(&p)
        .args(["--", "/usr/bin/touch"])
        .arg(&marker)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125), "{out:?}");
    assert!(!marker.exists());
}

/// `bundle::GUARD_SYSCALLS` holds every call the guard makes before the workload runs: the
/// guard is recorded under ptrace (started by the host's loader, as in a container) running a
/// static program, and what it calls beyond that program alone is in the list (a bundle's
/// seccomp profile allows the list, or the guard dies before the workload starts).
#[test]
fn the_guard_makes_only_the_calls_bundles_allow_it() {
    use rampart_seccomp::record::{Options, record};
    let d = tempfile::tempdir().unwrap();
    let busybox = rampart_testkit::runc::busybox();
    let p = d.path().join("policy.json");
    let mut pol = policy(vec![busybox.to_path_buf()]);
    pol.writable = vec![d.path().to_path_buf()];
    pol.never_read = vec!["/etc/shadow".into()];
    std::fs::write(&p, serde_json::to_vec(&pol).unwrap()).unwrap();
    let guard = env!("CARGO_BIN_EXE_rampart-guard");
    let loader = rampart_enforce::elf::interpreter(std::path::Path::new(guard)).unwrap();
    let run = |cmd: Vec<String>| {
        let r = record(&cmd, &Options::default()).unwrap();
        assert_eq!(r.exit.to_string(), "exited 0", "{cmd:?}");
        r.observed
            .syscalls
            .keys()
            .cloned()
            .collect::<std::collections::BTreeSet<String>>()
    };
    let target = vec![busybox.display().to_string(), "true".into()];
    let alone = run(target.clone());
    let mut through = vec![
        loader.display().to_string(),
        guard.to_owned(),
        "--policy".into(),
        p.display().to_string(),
        "--".into(),
    ];
    through.extend(target);
    let guarded = run(through);
    let extra: Vec<&String> = guarded
        .iter()
        .filter(|s| !alone.contains(*s))
        .filter(|s| !rampart_enforce::bundle::GUARD_SYSCALLS.contains(&s.as_str()))
        .collect();
    assert!(
        extra.is_empty(),
        "calls of the guard missing from GUARD_SYSCALLS: {extra:?}"
    );
    assert!(guarded.contains("landlock_restrict_self"), "{guarded:?}");
}
