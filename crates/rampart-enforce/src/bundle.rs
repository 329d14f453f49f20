//! Starting a runc container through the guard: the guard binary, the host's ELF loader and the
//! libraries the guard needs are staged in a directory bind-mounted read-only at
//! [`GUARD_DIR`], and `process.args` becomes `loader --library-path lib guard --policy ... --
//! <the original args>`. Started through the host's loader, the guard runs in any root
//! filesystem (busybox's has no libc); it applies Landlock, then execs the original entrypoint,
//! which the container's own filesystem provides.
//!
//! Landlock cannot be applied to `runc run` itself: a Landlock domain forbids `mount(2)` and
//! `pivot_root(2)` (EPERM), which runc's container setup needs, and runc re-executes itself
//! from a memfd (runc 1.1), an exec the ruleset would have to allow.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use crate::{Error, Policy};

/// Where the guard's files appear inside the container.
pub const GUARD_DIR: &str = "/.rampart";

/// The system calls the guard (and the host loader starting it) makes before it execs the
/// workload, recorded with `rampart seccomp record` (tests/guard.rs checks the list against a
/// new recording). A bundle whose seccomp profile denies by default must allow them, or the
/// guard dies before the workload starts.
pub const GUARD_SYSCALLS: &[&str] = &[
    "access",
    "arch_prctl",
    "brk",
    "close",
    "execve",
    "exit",
    "exit_group",
    "fcntl",
    "getdents64",
    "getrandom",
    "gettid",
    "getuid",
    "landlock_add_rule",
    "landlock_create_ruleset",
    "landlock_restrict_self",
    "lseek",
    "mmap",
    "mprotect",
    "munmap",
    "newfstatat",
    "openat",
    "poll",
    "prctl",
    "pread64",
    "prlimit64",
    "read",
    "readlink",
    "rseq",
    "rt_sigaction",
    "sched_getaffinity",
    "set_robust_list",
    "set_tid_address",
    "sigaltstack",
    "statx",
    "write",
];

/// The host files the guard needs inside a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardFiles {
    /// the guard binary (`rampart-guard`)
    pub guard: PathBuf,
    /// the ELF loader it names (`PT_INTERP`), `None` for a static guard
    pub loader: Option<PathBuf>,
    /// the shared libraries it loads (what the loader's `--list` prints)
    pub libs: Vec<PathBuf>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl GuardFiles {
    /// Finds what `guard` (a host path) needs: its loader and, from the loader's `--list`, its
    /// libraries.
    pub fn for_binary(guard: &Path) -> Result<Self, Error> {
        let guard = std::fs::canonicalize(guard).map_err(io(guard))?;
        let Some(loader) = crate::elf::interpreter(&guard) else {
            return Ok(Self {
                guard,
                loader: None,
                libs: Vec::new(),
            });
        };
        let out = Command::new(&loader)
            .arg("--list")
            .arg(&guard)
            .output()
            .map_err(io(&loader))?;
        if !out.status.success() {
            return Err(Error::Bundle(format!(
                "{} --list {}: {}",
                loader.display(),
                guard.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        // "\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)"
        let libs = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_once("=> ")?.1.split(" (").next().map(PathBuf::from))
            .filter(|p| p.is_absolute())
            .collect();
        Ok(Self {
            guard,
            loader: Some(loader),
            libs,
        })
    }

    /// Copies the files into `dir` (`guard`, `ld.so`, `lib/<name>`), with `policy.json`.
    pub fn stage(&self, dir: &Path, policy: &Policy) -> Result<(), Error> {
        let lib = dir.join("lib");
        std::fs::create_dir_all(&lib).map_err(io(&lib))?;
        let copy = |from: &Path, to: PathBuf| -> Result<(), Error> {
            std::fs::copy(from, &to).map(|_| ()).map_err(io(from))
        };
        copy(&self.guard, dir.join("rampart-guard"))?;
        if let Some(l) = &self.loader {
            copy(l, dir.join("ld.so"))?;
        }
        for l in &self.libs {
            let Some(name) = l.file_name() else { continue };
            copy(l, lib.join(name))?;
        }
        let json =
            serde_json::to_vec_pretty(policy).map_err(|e| Error::Bundle(format!("policy: {e}")))?;
        let p = dir.join("policy.json");
        std::fs::write(&p, json).map_err(io(&p))
    }

    /// The command line that starts `args` through the guard inside the container (for
    /// `process.args`, or `runc exec`: a process started by `runc exec` is outside the
    /// entrypoint's Landlock domain unless it goes through the guard too).
    pub fn wrap(&self, args: &[String]) -> Vec<String> {
        let mut out = Vec::new();
        if self.loader.is_some() {
            out.extend([
                format!("{GUARD_DIR}/ld.so"),
                "--library-path".into(),
                format!("{GUARD_DIR}/lib"),
            ]);
        }
        out.extend([
            format!("{GUARD_DIR}/rampart-guard"),
            "--policy".into(),
            format!("{GUARD_DIR}/policy.json"),
            "--".into(),
        ]);
        out.extend(args.iter().cloned());
        out
    }
}

/// Rewrites the OCI bundle at `bundle` (its `config.json`) to start through the guard with
/// `policy`: stages the files in `<bundle>/rampart-guard/`, bind-mounts it read-only at
/// [`GUARD_DIR`] and wraps `process.args`. Returns the original args.
pub fn guard_bundle(
    bundle: &Path,
    files: &GuardFiles,
    policy: &Policy,
) -> Result<Vec<String>, Error> {
    let staged = bundle.join("rampart-guard");
    files.stage(&staged, policy)?;
    // absolute: runc reads a relative mount source relative to the bundle, not to us
    let staged = std::fs::canonicalize(&staged).map_err(io(&staged))?;
    let path = bundle.join("config.json");
    let bytes = std::fs::read(&path).map_err(io(&path))?;
    let mut config: Value = serde_json::from_slice(&bytes)
        .map_err(|e| Error::Bundle(format!("{}: {e}", path.display())))?;
    let args: Vec<String> = config
        .pointer("/process/args")
        .and_then(Value::as_array)
        .ok_or_else(|| Error::Bundle("config.json has no process.args".into()))?
        .iter()
        .map(|a| a.as_str().map(str::to_owned))
        .collect::<Option<_>>()
        .ok_or_else(|| Error::Bundle("process.args holds a non-string".into()))?;
    if args.first().is_some_and(|a| a.starts_with(GUARD_DIR)) {
        return Err(Error::Bundle(
            "process.args already starts through the guard".into(),
        ));
    }
    let wrapped = files.wrap(&args);
    if let Some(p) = config.pointer_mut("/process/args") {
        *p = json!(wrapped);
    }
    // the guard runs under the container's seccomp filter (runc installs it before the exec)
    if let Some(rules) = config
        .pointer_mut("/linux/seccomp/syscalls")
        .and_then(Value::as_array_mut)
    {
        rules.push(json!({
            "names": GUARD_SYSCALLS,
            "action": "SCMP_ACT_ALLOW",
            "comment": "rampart-guard: applies the Landlock ruleset, then execs the workload",
        }));
    }
    let mount = json!({
        "destination": GUARD_DIR,
        "type": "bind",
        "source": staged,
        "options": ["rbind", "ro", "nosuid", "nodev"]
    });
    match config.get_mut("mounts").and_then(Value::as_array_mut) {
        Some(m) => m.push(mount),
        None => {
            if let Some(obj) = config.as_object_mut() {
                obj.insert("mounts".into(), json!([mount]));
            }
        }
    }
    let out = serde_json::to_vec_pretty(&config)
        .map_err(|e| Error::Bundle(format!("config.json: {e}")))?;
    std::fs::write(&path, out).map_err(io(&path))?;
    Ok(args)
}
