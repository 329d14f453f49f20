//! One trial: a bundle run under one runtime (runc or runsc), bounded in time, then torn down.
//!
//! The runtime's `run` is our child (its own process group), with the container's standard
//! output and error on pipes (never files: runsc's sandbox reopens a file it is given and
//! writes from its start, measured). In exec mode the smoke test runs in the container with
//! the runtime's `exec` once `state` says `running`; then the container gets SIGKILL. In
//! one-shot mode the container's process is the test. Every wait has a deadline; a runtime
//! that overruns it is killed (`kill`, then its process group, then any process still naming
//! the trial's private `--root`: runsc's sandbox and gofer run in sessions of their own), the
//! container deleted, the state root removed and the overlay unmounted. A hung runtime is a
//! result with a message, never a hang.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::SandboxError;
use crate::bundle::{RootCopy, TrialBundle};
use crate::gvisor::{self, GvisorLog};
use rampart_seccomp::bundle::find_in_path;

/// Bytes of each output stream kept (the rest is read and dropped).
pub const MAX_OUTPUT: usize = 1 << 20;

/// How long the runtime's bookkeeping commands (`state`, `kill`, `delete`) may take.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a killed container's runtime has to exit.
pub const STOP_GRACE: Duration = Duration::from_secs(5);

/// The OCI runtimes compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RuntimeKind {
    /// runc: namespaces and cgroups on the host kernel (the baseline)
    Runc,
    /// runsc: gVisor's user-space kernel (the sandbox)
    Runsc,
}

impl RuntimeKind {
    /// The runtime's usual binary name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Runc => "runc",
            Self::Runsc => "runsc",
        }
    }

    /// The Debian package that installs it.
    pub fn package(self) -> &'static str {
        self.name()
    }
}

/// A runtime to try a bundle under.
#[derive(Debug, Clone)]
pub struct Runtime {
    /// Which runtime.
    pub kind: RuntimeKind,
    /// Its binary (a name looked up in `PATH`, or a path).
    pub program: String,
    /// Extra global flags before the command (runsc: `--platform=kvm`...).
    pub flags: Vec<String>,
}

impl Runtime {
    /// The runtime with its usual binary and no extra flags.
    pub fn new(kind: RuntimeKind) -> Self {
        Self {
            kind,
            program: kind.name().to_owned(),
            flags: Vec::new(),
        }
    }

    /// The binary's path, or [`SandboxError::RuntimeMissing`].
    pub fn locate(&self) -> Result<PathBuf, SandboxError> {
        find_in_path(&self.program).ok_or_else(|| SandboxError::RuntimeMissing {
            runtime: self.program.clone(),
            package: self.kind.package(),
        })
    }
}

/// How the smoke test runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// The workload runs as configured; the smoke test runs inside it (`exec`).
    Exec(Vec<String>),
    /// The container's process is the test (the bundle's args, or the smoke test put in their
    /// place by the caller).
    OneShot,
}

/// How a process ended and what it wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// Its exit code (a process killed by signal N exits 128+N through the runtime).
    pub exit_code: Option<i32>,
    /// Whether it was still running at the deadline (and was killed).
    pub timed_out: bool,
    /// Its standard output (at most [`MAX_OUTPUT`] bytes, lossy UTF-8).
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
    /// Whether an output stream was longer than [`MAX_OUTPUT`].
    pub truncated: bool,
    /// Its wall time in milliseconds.
    pub millis: u64,
}

impl Outcome {
    /// Exited 0 in time.
    pub fn passed(&self) -> bool {
        self.exit_code == Some(0) && !self.timed_out
    }
}

/// The result of one trial.
#[derive(Debug, Clone, Serialize)]
pub struct Trial {
    /// The runtime.
    pub runtime: RuntimeKind,
    /// The runtime's version (`--version`), when it says.
    pub version: Option<String>,
    /// Whether the smoke test was to run inside the workload (exec mode).
    pub exec_mode: bool,
    /// Whether the container started (its process ran).
    pub started: bool,
    /// The runtime's own error, when it failed or hung (the container's failures are in the
    /// outcomes).
    pub error: Option<String>,
    /// Milliseconds from `run` to the container running (exec mode).
    pub start_millis: Option<u64>,
    /// The container's process: in one-shot mode the test itself; in exec mode the workload,
    /// killed after the smoke test (its exit code is then the kill's).
    pub workload: Option<Outcome>,
    /// Whether the workload was still running when the smoke test ended (exec mode).
    pub workload_up_after_smoke: Option<bool>,
    /// The smoke test (exec mode).
    pub smoke: Option<Outcome>,
    /// Milliseconds from `run` until the test ended (start + test, teardown excluded).
    pub wall_millis: u64,
    /// What gVisor's logs say (runsc only).
    pub gvisor: Option<GvisorLog>,
    /// How the trial's root was made.
    pub root: RootCopy,
    /// Problems of the teardown (a process that had to be killed by pid, a state left...).
    pub cleanup: Vec<String>,
}

impl Trial {
    /// The test's outcome: the smoke test in exec mode, the process in one-shot mode.
    pub fn test(&self) -> Option<&Outcome> {
        if self.exec_mode {
            self.smoke.as_ref()
        } else {
            self.workload.as_ref()
        }
    }

    /// Started, and the test passed.
    pub fn passed(&self) -> bool {
        self.started && self.error.is_none() && self.test().is_some_and(Outcome::passed)
    }
}

/// A spawned command: its child (own process group) and the readers of its output.
struct Spawned {
    child: Child,
    stdout: mpsc::Receiver<(Vec<u8>, bool)>,
    stderr: mpsc::Receiver<(Vec<u8>, bool)>,
    started: Instant,
}

fn capture(mut r: impl Read + Send + 'static) -> mpsc::Receiver<(Vec<u8>, bool)> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let mut buf = [0u8; 8192];
        let mut truncated = false;
        loop {
            match r.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let room = MAX_OUTPUT.saturating_sub(kept.len());
                    let chunk = buf.get(..n.min(room)).unwrap_or(&[]);
                    kept.extend_from_slice(chunk);
                    truncated |= n > room;
                }
            }
        }
        let _ = tx.send((kept, truncated));
    });
    rx
}

fn describe(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

fn spawn(mut cmd: Command) -> Result<Spawned, SandboxError> {
    use std::os::unix::process::CommandExt;
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = cmd.spawn().map_err(|source| SandboxError::Spawn {
        command: describe(&cmd),
        source,
    })?;
    let (Some(out), Some(err)) = (child.stdout.take(), child.stderr.take()) else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(SandboxError::Spawn {
            command: describe(&cmd),
            source: std::io::Error::other("no pipes"),
        });
    };
    Ok(Spawned {
        child,
        stdout: capture(out),
        stderr: capture(err),
        started: Instant::now(),
    })
}

impl Spawned {
    /// Waits until it exits or `deadline`; `None` at the deadline.
    fn wait_until(&mut self, deadline: Instant) -> Option<std::process::ExitStatus> {
        loop {
            match self.child.try_wait() {
                Ok(Some(s)) => return Some(s),
                Ok(None) => {}
                Err(_) => return None,
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn kill_group(&mut self) {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let _ = self.child.kill();
    }

    /// Kills it when still running, reaps it, and collects its output (each stream waited for
    /// at most `grace`: a process that inherited the pipe may hold it).
    fn finish(mut self, status: Option<std::process::ExitStatus>, grace: Duration) -> Outcome {
        use std::os::unix::process::ExitStatusExt;
        let millis = millis(self.started.elapsed());
        let timed_out = status.is_none();
        let status = match status {
            Some(s) => Some(s),
            None => {
                self.kill_group();
                self.child.wait().ok()
            }
        };
        let exit_code = status.and_then(|s| s.code().or_else(|| s.signal().map(|n| 128 + n)));
        let (stdout, t1) = self.stdout.recv_timeout(grace).unwrap_or_default();
        let (stderr, t2) = self.stderr.recv_timeout(grace).unwrap_or_default();
        Outcome {
            exit_code: if timed_out { None } else { exit_code },
            timed_out,
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
            truncated: t1 || t2,
            millis,
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Runs a bookkeeping command of the runtime, killed after `limit`.
fn bounded(cmd: Command, limit: Duration) -> Result<Outcome, String> {
    let mut s = spawn(cmd).map_err(|e| e.to_string())?;
    let status = s.wait_until(Instant::now() + limit);
    let o = s.finish(status, Duration::from_secs(1));
    if o.timed_out {
        Err(format!("did not answer within {} s", limit.as_secs_f64()))
    } else {
        Ok(o)
    }
}

/// A unique container id.
fn container_id() -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "rampart-sandbox-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Where a trial keeps its things (all under one private directory).
struct Paths {
    state: PathBuf,
    logs: PathBuf,
    bundle: PathBuf,
}

/// The runtime's command with its global flags: runc logs its own errors as JSON in `log`;
/// runsc gets its private root, no network, no cgroups of its own, and its log directory.
fn base(rt: &Runtime, program: &Path, p: &Paths, log: &str, with_flags: bool) -> Command {
    let mut cmd = Command::new(program);
    cmd.arg("--root").arg(&p.state);
    match rt.kind {
        RuntimeKind::Runc => {
            cmd.arg("--log")
                .arg(p.logs.join(log))
                .args(["--log-format", "json"]);
        }
        RuntimeKind::Runsc => {
            // the logs' directory form (trailing slash): one file per command
            cmd.args(["--network=none", "--ignore-cgroups"]);
            cmd.arg(format!("--debug-log={}/", p.logs.display()));
        }
    }
    if with_flags {
        cmd.args(&rt.flags);
    }
    cmd
}

/// runc's own error messages in its JSON log.
fn runc_errors(path: &Path) -> Vec<String> {
    let mut bytes = Vec::new();
    if std::fs::File::open(path)
        .and_then(|f| f.take(gvisor::MAX_LOG_BYTES).read_to_end(&mut bytes))
        .is_err()
    {
        return Vec::new();
    }
    String::from_utf8_lossy(&bytes)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| {
            matches!(
                v.get("level").and_then(|l| l.as_str()),
                Some("error" | "fatal")
            )
        })
        .filter_map(|v| v.get("msg").and_then(|m| m.as_str()).map(str::to_owned))
        .collect()
}

/// `state`'s status of the container, `None` when unknown or when `state` takes longer than
/// `limit`.
fn state_status(
    rt: &Runtime,
    program: &Path,
    p: &Paths,
    id: &str,
    limit: Duration,
) -> Option<String> {
    let mut cmd = base(rt, program, p, "state.log", false);
    cmd.args(["state", id]);
    let o = bounded(cmd, limit).ok()?;
    let v: serde_json::Value = serde_json::from_str(&o.stdout).ok()?;
    v.get("status")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
}

/// Runs `bundle` (config and original root) under `rt` as described in the module
/// documentation. `work` is a private directory for this trial (created).
pub fn run_trial(
    rt: &Runtime,
    config: &serde_json::Value,
    original_root: &Path,
    args: Option<&[String]>,
    mode: &Mode,
    timeout: Duration,
    work: &Path,
) -> Result<Trial, SandboxError> {
    let program = rt.locate()?;
    let p = Paths {
        state: work.join("state"),
        logs: work.join("logs"),
        bundle: work.join("bundle"),
    };
    for d in [&p.state, &p.logs] {
        std::fs::create_dir_all(d).map_err(SandboxError::io(d))?;
    }
    let bundle = TrialBundle::create(&p.bundle, config, original_root, args)?;
    let id = container_id();
    let mut trial = Trial {
        runtime: rt.kind,
        version: crate::available::version_of(&program),
        exec_mode: matches!(mode, Mode::Exec(_)),
        started: false,
        error: None,
        start_millis: None,
        workload: None,
        workload_up_after_smoke: None,
        smoke: None,
        wall_millis: 0,
        gvisor: None,
        root: bundle.copy,
        cleanup: Vec::new(),
    };
    let mut cmd = base(rt, &program, &p, "run.log", true);
    cmd.arg("run").arg("--bundle").arg(&bundle.dir).arg(&id);
    let t0 = Instant::now();
    let mut run = spawn(cmd)?;
    let deadline = t0 + timeout;
    let run_status = match mode {
        Mode::OneShot => {
            let status = run.wait_until(deadline);
            trial.wall_millis = millis(t0.elapsed());
            if status.is_none() {
                // did the container get as far as running?
                trial.started = matches!(
                    state_status(rt, &program, &p, &id, Duration::from_secs(2)).as_deref(),
                    Some("running" | "stopped")
                );
            }
            status
        }
        Mode::Exec(smoke) => {
            let mut exited = None;
            loop {
                if let Ok(Some(s)) = run.child.try_wait() {
                    exited = Some(s);
                    break;
                }
                // never past the deadline, however slow `state` is
                let left = deadline
                    .saturating_duration_since(Instant::now())
                    .clamp(Duration::from_millis(100), COMMAND_TIMEOUT);
                if state_status(rt, &program, &p, &id, left).as_deref() == Some("running") {
                    trial.started = true;
                    trial.start_millis = Some(millis(t0.elapsed()));
                    break;
                }
                if Instant::now() >= deadline {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            if trial.started {
                let mut cmd = base(rt, &program, &p, "exec.log", false);
                cmd.arg("exec");
                // runc's exec runs as the config's user; runsc's as root unless told (measured)
                if rt.kind == RuntimeKind::Runsc
                    && let Some(uid) = config.pointer("/process/user/uid").and_then(|v| v.as_u64())
                {
                    let gid = config
                        .pointer("/process/user/gid")
                        .and_then(|v| v.as_u64())
                        .unwrap_or(0);
                    cmd.arg("--user").arg(format!("{uid}:{gid}"));
                }
                cmd.arg(&id).args(smoke);
                let mut exec = spawn(cmd)?;
                let s = exec.wait_until(Instant::now() + timeout);
                trial.smoke = Some(exec.finish(s, Duration::from_secs(2)));
                trial.wall_millis = millis(t0.elapsed());
                let up = matches!(run.child.try_wait(), Ok(None));
                trial.workload_up_after_smoke = Some(up);
                if up {
                    let mut kill = base(rt, &program, &p, "kill.log", false);
                    kill.args(["kill", &id, "KILL"]);
                    if let Err(e) = bounded(kill, COMMAND_TIMEOUT) {
                        trial.cleanup.push(format!("{} kill: {e}", rt.kind.name()));
                    }
                }
                run.wait_until(Instant::now() + STOP_GRACE)
            } else {
                trial.wall_millis = millis(t0.elapsed());
                exited
            }
        }
    };
    let timed_out_before_start = run_status.is_none() && !trial.started;
    trial.workload = Some(run.finish(run_status, Duration::from_secs(2)));
    teardown(rt, &program, &p, &id, &mut trial);
    // what the runtime itself said
    let mut errors = match rt.kind {
        RuntimeKind::Runc => {
            let mut e = runc_errors(&p.logs.join("run.log"));
            e.extend(runc_errors(&p.logs.join("exec.log")));
            e
        }
        RuntimeKind::Runsc => {
            let log = gvisor::read_dir(&p.logs).map_err(SandboxError::io(&p.logs))?;
            let e = log
                .fatal
                .iter()
                .filter(|f| f.command == "run" || f.command == "exec")
                .map(|f| f.message.clone())
                .collect();
            trial.gvisor = Some(log);
            e
        }
    };
    if run_status.is_some() && !trial.started {
        // the process ran unless the runtime said it could not start it (in exec mode: it
        // exited before the container was seen running, so the smoke test never ran)
        trial.started = errors.is_empty();
    }
    if timed_out_before_start {
        errors.insert(
            0,
            format!(
                "{} did not start the container within {} s (killed)",
                rt.kind.name(),
                timeout.as_secs_f64()
            ),
        );
    }
    if !errors.is_empty() {
        trial.error = Some(errors.join("; "));
    }
    drop(bundle);
    let _ = std::fs::remove_dir_all(work);
    Ok(trial)
}

/// Deletes the container, kills whatever still runs for this trial, removes its state.
fn teardown(rt: &Runtime, program: &Path, p: &Paths, id: &str, trial: &mut Trial) {
    let mut delete = base(rt, program, p, "delete.log", false);
    delete.args(["delete", "--force", id]);
    if let Err(e) = bounded(delete, COMMAND_TIMEOUT) {
        trial
            .cleanup
            .push(format!("{} delete: {e}", rt.kind.name()));
    }
    for pid in processes_naming(&p.state) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
        trial.cleanup.push(format!(
            "process {pid} of the trial was still running after delete: killed"
        ));
    }
    if let Err(e) = std::fs::remove_dir_all(&p.state)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        trial
            .cleanup
            .push(format!("removing {}: {e}", p.state.display()));
    }
}

/// The processes whose command line names `root` as the runtime's state root (`--root DIR` or
/// `--root=DIR`): runsc's sandbox and gofer of this trial, which run in sessions of their own.
pub fn processes_naming(root: &Path) -> Vec<i32> {
    let root = root.to_string_lossy();
    let joined = format!("--root={root}");
    let me = std::process::id();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| u32::try_from(*pid).ok() != Some(me))
        .filter(|pid| {
            let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
                return false;
            };
            let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
            args.contains(&joined.as_bytes())
                || args
                    .windows(2)
                    .any(|w| matches!(w, [a, b] if *a == b"--root" && *b == root.as_bytes()))
        })
        .collect()
}
