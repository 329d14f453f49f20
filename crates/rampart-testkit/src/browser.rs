//! Pages and APIs tested as a person (and a client) would use them: real headless Chromium
//! (Debian's `chromium`) driven by Playwright (`playwright-core`, which never downloads a browser
//! of its own), pages checked with axe-core, and an OpenAPI document checked against the live
//! server by schemathesis.
//!
//! Installed on first use, like the other oracles: Chromium with apt ([`ensure_chromium`]); the
//! npm packages pinned by `browser/package-lock.json` with `npm ci` into the oracle cache
//! ([`node_modules`]); schemathesis into a venv of its own there ([`schemathesis`]). Each cache
//! is filled under a file lock, so concurrent test binaries share one installation.
//!
//! A test lists what a person does as JSON steps and reads back what they saw, writing no
//! JavaScript ([`drive`]; the steps are those of `browser/harness.js`, `Session.step`):
//!
//! ```no_run
//! use rampart_testkit::browser;
//! use serde_json::json;
//!
//! let out = browser::drive("report_opens", &[
//!     json!({"goto": "http://127.0.0.1:8080/"}),
//!     json!({"text": "h1", "as": "title"}),
//!     json!({"click": "button#details"}),
//!     json!({"wait": "#details-panel"}),
//!     json!({"count": "table tr", "as": "rows"}),
//!     json!({"points": "svg polyline", "as": "trend"}),
//!     json!({"axe": true}),
//!     json!({"screenshot": "report"}),
//! ]).unwrap();
//! assert_eq!(out.text("title"), Some("rampart report"));
//! assert!(out.problems().is_empty(), "{:#?}", out.problems());
//! ```
//!
//! Every request the page makes is recorded; one leaving loopback (or file:) is listed in
//! [`Outcome::outside_requests`] and aborted before it leaves, so a self-contained page is proven
//! to make none. Screenshots are kept under `target/test-artifacts/<test>/` ([`artifacts_dir`]).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use nix::fcntl::{Flock, FlockArg};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::paths;

/// Where Debian's package puts Chromium.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// The pinned schemathesis (PyPI); it runs on the machine's Python 3.11.
pub const SCHEMATHESIS_VERSION: &str = "4.32.5";

/// How long one Node script may run before it is killed (with its browser).
pub const SCRIPT_TIMEOUT: Duration = Duration::from_secs(180);

/// How long one schemathesis run may take before it is killed (its own budget is shorter).
pub const SCHEMATHESIS_TIMEOUT: Duration = Duration::from_secs(150);

/// What went wrong installing or running the browser and API oracles.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A component could not be installed.
    #[error("cannot install {what}: {detail}")]
    Install { what: String, detail: String },
    /// A file or process operation failed.
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// A script exited unsuccessfully.
    #[error("{program} exited with {status}\n--- stderr ---\n{stderr}\n--- stdout ---\n{stdout}")]
    Failed {
        program: String,
        status: String,
        stdout: String,
        stderr: String,
    },
    /// A script ran past its deadline and was killed.
    #[error(
        "{program} still running after {} s, killed\n--- stderr ---\n{stderr}\n--- stdout ---\n{stdout}",
        .after.as_secs()
    )]
    Timeout {
        program: String,
        after: Duration,
        stdout: String,
        stderr: String,
    },
    /// A script's standard output was not the one JSON document expected.
    #[error("{program} printed no JSON document ({reason})\n--- stdout ---\n{stdout}")]
    Output {
        program: String,
        reason: String,
        stdout: String,
    },
    /// A browser step failed (an element never appeared, a click timed out...).
    #[error(
        "browser step failed: {message}\nscreenshot of the page then: {}\nconsole errors: {console_errors:?}\npage errors: {page_errors:?}",
        .screenshot.as_ref().map_or_else(|| "(none)".to_string(), |p| p.display().to_string())
    )]
    Step {
        message: String,
        /// the index in the steps given, when a step (not the launch) failed
        step_index: Option<usize>,
        screenshot: Option<PathBuf>,
        console_errors: Vec<String>,
        page_errors: Vec<String>,
    },
}

/// The result of this module's functions.
pub type Result<T> = std::result::Result<T, Error>;

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
    let what = what.into();
    move |source| Error::Io { what, source }
}

// -- caches and locks ------------------------------------------------------------------------

/// The oracle cache of `scripts/install-oracles.sh` (`$RAMPART_ORACLES`, else
/// `$XDG_CACHE_HOME/rampart-oracles`, else `~/.cache/rampart-oracles`), without running it.
pub fn cache_dir() -> Result<PathBuf> {
    if let Some(d) = std::env::var_os("RAMPART_ORACLES").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(d));
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(d).join("rampart-oracles"));
    }
    match std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        Some(h) => Ok(PathBuf::from(h).join(".cache/rampart-oracles")),
        None => Err(Error::Install {
            what: "the oracle cache".into(),
            detail: "neither RAMPART_ORACLES, XDG_CACHE_HOME nor HOME is set".into(),
        }),
    }
}

/// An exclusive lock on `path` (created), held until dropped; waits for other holders (other
/// test binaries installing the same cache).
fn lock(path: &Path) -> Result<Flock<File>> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io(format!("create {}", parent.display())))?;
    }
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(io(format!("open lock file {}", path.display())))?;
    Flock::lock(file, FlockArg::LockExclusive).map_err(|(_, errno)| Error::Io {
        what: format!("lock {}", path.display()),
        source: std::io::Error::from(errno),
    })
}

/// The `browser/` directory of this crate: package.json, package-lock.json, harness.js.
pub fn harness_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("browser")
}

/// Installs Debian packages for missing commands or files (`COMMAND:PACKAGE`, `/PATH:PACKAGE`)
/// with `scripts/ensure-tools.sh`, whose apt-get waits for the dpkg lock other tests may hold.
fn ensure_debian(pairs: &[&str]) -> Result<()> {
    let script = paths::script("ensure-tools.sh");
    let out = Command::new("bash")
        .arg(&script)
        .args(pairs)
        .stdin(Stdio::null())
        .output()
        .map_err(io(format!("run {}", script.display())))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(Error::Install {
            what: pairs.join(" "),
            detail: format!(
                "scripts/ensure-tools.sh exited with {}: {}",
                out.status,
                tail(&String::from_utf8_lossy(&out.stderr), 4000)
            ),
        })
    }
}

/// Debian's Chromium, installed with apt when missing; its path.
pub fn ensure_chromium() -> Result<PathBuf> {
    let path = PathBuf::from(CHROMIUM);
    if !path.is_file() {
        ensure_debian(&[&format!("{CHROMIUM}:chromium")])?;
    }
    if path.is_file() {
        Ok(path)
    } else {
        Err(Error::Install {
            what: "chromium".into(),
            detail: format!("{CHROMIUM} is missing after installing Debian's chromium"),
        })
    }
}

/// The `node_modules` of `browser/package-lock.json` (playwright-core, axe-core), installed with
/// `npm ci` into `<oracle cache>/browser/` on first use and whenever the lock file changes;
/// reused otherwise. Concurrent callers (test binaries) wait for one installation.
pub fn node_modules() -> Result<PathBuf> {
    static DONE: OnceLock<std::result::Result<PathBuf, String>> = OnceLock::new();
    once(
        &DONE,
        "the browser harness's npm packages",
        install_node_modules,
    )
}

/// The outcome of `install`, run once per test binary (later callers get the same path, or
/// the same failure).
fn once(
    done: &'static OnceLock<std::result::Result<PathBuf, String>>,
    what: &str,
    install: fn() -> Result<PathBuf>,
) -> Result<PathBuf> {
    if let Some(done) = done.get() {
        return done.clone().map_err(|detail| Error::Install {
            what: what.into(),
            detail,
        });
    }
    let result = install();
    let _ = done.set(
        result
            .as_ref()
            .map(Clone::clone)
            .map_err(ToString::to_string),
    );
    result
}

fn install_node_modules() -> Result<PathBuf> {
    let dir = cache_dir()?.join("browser");
    let _lock = lock(&dir.join(".lock"))?;
    let src = harness_dir();
    let want_lock = std::fs::read(src.join("package-lock.json")).map_err(io(format!(
        "read {}",
        src.join("package-lock.json").display()
    )))?;
    let modules = dir.join("node_modules");
    let stamp = modules.join(".rampart-installed");
    if std::fs::read(&stamp).is_ok_and(|s| s == want_lock) {
        return Ok(modules);
    }
    ensure_debian(&["node:nodejs", "npm:npm"])?;
    if modules.exists() {
        std::fs::remove_dir_all(&modules).map_err(io(format!("remove {}", modules.display())))?;
    }
    for f in ["package.json", "package-lock.json"] {
        std::fs::copy(src.join(f), dir.join(f)).map_err(io(format!(
            "copy {} to {}",
            src.join(f).display(),
            dir.display()
        )))?;
    }
    // no install scripts: playwright-core has none, and nothing here may download a browser
    let out = Command::new("npm")
        .args([
            "ci",
            "--no-audit",
            "--no-fund",
            "--ignore-scripts",
            "--loglevel=error",
        ])
        .current_dir(&dir)
        .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
        .stdin(Stdio::null())
        .output()
        .map_err(io("run npm ci (is npm installed?)"))?;
    if !out.status.success() {
        return Err(Error::Install {
            what: "the browser harness's npm packages (npm ci)".into(),
            detail: format!(
                "npm ci in {} exited with {}: {}{}",
                dir.display(),
                out.status,
                tail(&String::from_utf8_lossy(&out.stdout), 2000),
                tail(&String::from_utf8_lossy(&out.stderr), 4000)
            ),
        });
    }
    for package in ["playwright-core", "axe-core"] {
        if !modules.join(package).join("package.json").is_file() {
            return Err(Error::Install {
                what: package.into(),
                detail: format!("npm ci left no {}", modules.join(package).display()),
            });
        }
    }
    std::fs::write(&stamp, &want_lock).map_err(io(format!("write {}", stamp.display())))?;
    Ok(modules)
}

// -- artifacts ---------------------------------------------------------------------------------

/// The target directory of the running test: the ancestor of the test executable that holds
/// cargo's `CACHEDIR.TAG`, else `$CARGO_TARGET_DIR`, else the workspace's `target/`.
pub fn target_dir() -> PathBuf {
    if let Ok(exe) = std::env::current_exe() {
        if let Some(dir) = exe.ancestors().find(|a| a.join("CACHEDIR.TAG").is_file()) {
            return dir.to_path_buf();
        }
    }
    match std::env::var_os("CARGO_TARGET_DIR").filter(|d| !d.is_empty()) {
        Some(d) => paths::root().join(d),
        None => paths::root().join("target"),
    }
}

/// `target/test-artifacts/<test>/` (created): where a test's screenshots are kept after it ran.
/// Files of earlier runs stay until overwritten.
pub fn artifacts_dir(test: &str) -> PathBuf {
    let name: String = test
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let name = name.trim_start_matches('.');
    let dir = target_dir()
        .join("test-artifacts")
        .join(if name.is_empty() { "test" } else { name });
    if let Err(e) = std::fs::create_dir_all(&dir) {
        panic!(
            "cannot create the artifacts directory {}: {e}",
            dir.display()
        );
    }
    dir
}

// -- running Node scripts ------------------------------------------------------------------------

/// A Node script for [`run`]: a file, or its text.
#[derive(Debug, Clone, Copy)]
pub enum Script<'a> {
    File(&'a Path),
    Text(&'a str),
}

/// What a process left when it ended in time.
struct Finished {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

/// Runs `cmd` in a process group of its own with piped output; kills the group (a browser with
/// it) when it outlives `timeout`.
fn run_bounded(mut cmd: Command, program: &str, timeout: Duration) -> Result<Finished> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = cmd.spawn().map_err(io(format!("start {program}")))?;
    let reader = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let out = reader(child.stdout.take().map(|p| Box::new(p) as Box<_>));
    let err = reader(child.stderr.take().map(|p| Box::new(p) as Box<_>));
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child
            .try_wait()
            .map_err(io(format!("wait for {program}")))?
        {
            Some(status) => break Some(status),
            None if Instant::now() >= deadline => break None,
            None => std::thread::sleep(Duration::from_millis(50)),
        }
    };
    let kill_group = || {
        if let Ok(pid) = i32::try_from(child.id()) {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    };
    if status.is_none() {
        kill_group();
        let _ = child.wait();
    }
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    match status {
        Some(status) => Ok(Finished {
            status,
            stdout,
            stderr,
        }),
        None => Err(Error::Timeout {
            program: program.to_string(),
            after: timeout,
            stdout: tail(&stdout, 8000),
            stderr: tail(&stderr, 8000),
        }),
    }
}

/// A `node` command for `script` with the harness's environment: NODE_PATH = the cached
/// node_modules and `browser/` (so `require('harness')`, `require('playwright-core')` work),
/// RAMPART_CHROMIUM = Debian's Chromium (installed when missing).
fn node_command(script: &Path) -> Result<Command> {
    let chromium = ensure_chromium()?;
    let modules = node_modules()?;
    let node_path = std::env::join_paths([modules, harness_dir()]).map_err(|e| Error::Install {
        what: "NODE_PATH".into(),
        detail: e.to_string(),
    })?;
    let mut cmd = Command::new("node");
    cmd.arg(script)
        .env("NODE_PATH", node_path)
        .env("RAMPART_CHROMIUM", chromium)
        .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
        // a proxy from the environment would take the page's loopback requests elsewhere
        .env_remove("HTTP_PROXY")
        .env_remove("HTTPS_PROXY")
        .env_remove("http_proxy")
        .env_remove("https_proxy");
    Ok(cmd)
}

/// Runs a Node script (which may `require('harness')`, `require('playwright-core')`,
/// `require('axe-core')`) with `args`, and parses the one JSON document it prints on stdout.
/// A non-zero exit, no JSON, or more than [`SCRIPT_TIMEOUT`] is an error carrying its stderr
/// and stdout.
pub fn run(script: Script<'_>, args: &[&str]) -> Result<Value> {
    let tmp = tempfile::Builder::new()
        .prefix("rampart-node.")
        .tempdir()
        .map_err(io("create a temporary directory"))?;
    let (path, program) = match script {
        // the script runs in a temporary directory: a relative path is the caller's
        Script::File(p) => (
            std::path::absolute(p).map_err(io(format!("resolve {}", p.display())))?,
            format!("node {}", p.display()),
        ),
        Script::Text(text) => {
            let p = tmp.path().join("script.js");
            std::fs::write(&p, text).map_err(io(format!("write {}", p.display())))?;
            (p, "node (script text)".to_string())
        }
    };
    let mut cmd = node_command(&path)?;
    cmd.args(args).current_dir(tmp.path());
    let done = run_bounded(cmd, &program, SCRIPT_TIMEOUT)?;
    if !done.status.success() {
        return Err(Error::Failed {
            program,
            status: done.status.to_string(),
            stdout: tail(&done.stdout, 8000),
            stderr: tail(&done.stderr, 8000),
        });
    }
    parse_json(&program, &done.stdout)
}

/// The one JSON document of `stdout`; when the script also logged lines, its last line.
fn parse_json(program: &str, stdout: &str) -> Result<Value> {
    match serde_json::from_str(stdout.trim()) {
        Ok(v) => Ok(v),
        Err(whole) => stdout
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .and_then(|l| serde_json::from_str(l.trim()).ok())
            .ok_or_else(|| Error::Output {
                program: program.to_string(),
                reason: whole.to_string(),
                stdout: tail(stdout, 8000),
            }),
    }
}

// -- steps -------------------------------------------------------------------------------------------

/// An axe-core violation of impact serious or critical.
#[derive(Debug, Clone, Deserialize)]
pub struct Violation {
    /// axe's rule id, e.g. `image-alt`, `label`, `color-contrast`
    pub id: String,
    pub impact: String,
    pub help: String,
    #[serde(rename = "helpUrl")]
    pub help_url: String,
    pub nodes: Vec<ViolationNode>,
}

/// One element a [`Violation`] concerns.
#[derive(Debug, Clone, Deserialize)]
pub struct ViolationNode {
    /// axe's selector path (nested arrays for shadow DOM)
    pub target: Vec<Value>,
    pub html: String,
    #[serde(default)]
    pub summary: Option<String>,
}

/// A console message of the page.
#[derive(Debug, Clone, Deserialize)]
pub struct ConsoleMessage {
    /// `log`, `info`, `warning`, `error`, ...
    #[serde(rename = "type")]
    pub kind: String,
    pub text: String,
    #[serde(default)]
    pub url: String,
}

/// A loopback request that failed, or a response with an error status.
#[derive(Debug, Clone, Deserialize)]
pub struct RequestProblem {
    pub url: String,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub status: Option<u16>,
}

/// What a person saw while doing the steps, and what the page did meanwhile.
#[derive(Debug, Clone, Deserialize)]
pub struct Outcome {
    /// the steps' values by name (a step's `"as"`, else its action's name)
    pub values: Map<String, Value>,
    /// every axe violation of impact serious or critical found by `{"axe": ...}` steps
    pub axe: Vec<Violation>,
    /// every URL requested, in order (the page's, its frames' and workers'; websockets)
    pub requests: Vec<String>,
    /// the requests to anything but loopback, file: or an inline scheme (aborted)
    pub outside_requests: Vec<String>,
    /// loopback requests that failed (connection refused, aborted...)
    pub failed_requests: Vec<RequestProblem>,
    /// responses with a status of 400 or more
    pub bad_responses: Vec<RequestProblem>,
    pub console: Vec<ConsoleMessage>,
    /// the text of the console's error messages
    pub console_errors: Vec<String>,
    /// uncaught exceptions of the page
    pub page_errors: Vec<String>,
    /// screenshot name -> PNG file
    pub screenshots: BTreeMap<String, PathBuf>,
}

impl Outcome {
    /// The value a step stored under `name`.
    pub fn value(&self, name: &str) -> Option<&Value> {
        self.values.get(name)
    }

    /// The string a step stored under `name`.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.value(name).and_then(Value::as_str)
    }

    /// The number a step stored under `name` (a count, a status).
    pub fn number(&self, name: &str) -> Option<f64> {
        self.value(name).and_then(Value::as_f64)
    }

    /// The strings a step stored under `name` (`all_text`, `attr_all`).
    pub fn texts(&self, name: &str) -> Vec<String> {
        self.value(name)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The ids of the axe violations found.
    pub fn violation_ids(&self) -> Vec<&str> {
        self.axe.iter().map(|v| v.id.as_str()).collect()
    }

    /// What a well-behaved page never does, described: serious or critical axe violations,
    /// requests leaving the machine, console errors, uncaught exceptions, failed loopback
    /// requests and error responses. Empty for a clean run.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        for v in &self.axe {
            let targets: Vec<String> = v.nodes.iter().map(|n| n.html.clone()).collect();
            out.push(format!(
                "axe {} ({}): {} at {targets:?}",
                v.id, v.impact, v.help
            ));
        }
        out.extend(
            self.outside_requests
                .iter()
                .map(|u| format!("request leaving the machine: {u}")),
        );
        out.extend(
            self.console_errors
                .iter()
                .map(|e| format!("console error: {e}")),
        );
        out.extend(self.page_errors.iter().map(|e| format!("page error: {e}")));
        out.extend(self.failed_requests.iter().map(|r| {
            format!(
                "request failed: {} ({})",
                r.url,
                r.error.as_deref().unwrap_or("")
            )
        }));
        out.extend(self.bad_responses.iter().map(|r| {
            format!(
                "error response: {} {}",
                r.status.map_or_else(String::new, |s| s.to_string()),
                r.url
            )
        }));
        out
    }
}

/// Options of a [`drive_with`] session.
#[derive(Debug, Clone)]
pub struct Options {
    /// the window's size in CSS pixels (1280 x 800 by default)
    pub viewport: (u32, u32),
    /// the longest one action (a click, a wait) may take, in milliseconds
    pub timeout_ms: u64,
    /// `light` or `dark`
    pub color_scheme: &'static str,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            viewport: (1280, 800),
            timeout_ms: 15_000,
            color_scheme: "light",
        }
    }
}

/// Opens Chromium, does `steps` (JSON objects, see the module's example and `harness.js`'s
/// `Session.step`) and returns what was seen. Screenshots go to [`artifacts_dir`]`(test)`. A
/// failing step is an [`Error::Step`] naming it, with a screenshot of the page at that moment.
pub fn drive(test: &str, steps: &[Value]) -> Result<Outcome> {
    drive_with(test, &Options::default(), steps)
}

/// [`drive`] with [`Options`].
pub fn drive_with(test: &str, options: &Options, steps: &[Value]) -> Result<Outcome> {
    let artifacts = artifacts_dir(test);
    let doc = serde_json::json!({
        "artifacts": artifacts,
        "steps": steps,
        "options": {
            "viewport": {"width": options.viewport.0, "height": options.viewport.1},
            "timeout": options.timeout_ms,
            "colorScheme": options.color_scheme,
        },
    });
    let tmp = tempfile::Builder::new()
        .prefix("rampart-steps.")
        .tempdir()
        .map_err(io("create a temporary directory"))?;
    let file = tmp.path().join("steps.json");
    std::fs::write(&file, doc.to_string()).map_err(io(format!("write {}", file.display())))?;
    let program = format!("browser steps of {test}");
    let mut cmd = node_command(&harness_dir().join("steps.js"))?;
    cmd.arg(&file).current_dir(tmp.path());
    let done = run_bounded(cmd, &program, SCRIPT_TIMEOUT)?;
    let parsed = parse_json(&program, &done.stdout);
    if done.status.success() {
        return serde_json::from_value(parsed?).map_err(|e| Error::Output {
            program,
            reason: format!("not the harness's report: {e}"),
            stdout: tail(&done.stdout, 8000),
        });
    }
    let Some(error) = parsed.as_ref().ok().and_then(|v| v.get("error")) else {
        return Err(Error::Failed {
            program,
            status: done.status.to_string(),
            stdout: tail(&done.stdout, 8000),
            stderr: tail(&done.stderr, 8000),
        });
    };
    let strings = |key: &str| -> Vec<String> {
        parsed
            .as_ref()
            .ok()
            .and_then(|v| v.get(key))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    Err(Error::Step {
        message: error
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("(no message)")
            .to_string(),
        step_index: error
            .get("step_index")
            .and_then(Value::as_u64)
            .and_then(|i| usize::try_from(i).ok()),
        screenshot: error
            .get("screenshot")
            .and_then(Value::as_str)
            .map(PathBuf::from),
        console_errors: strings("console_errors"),
        page_errors: strings("page_errors"),
    })
}

// -- schemathesis --------------------------------------------------------------------------------

/// The `schemathesis` command of a venv of its own in the oracle cache
/// (`<cache>/schemathesis/venv`, apart from the oracles' venv so its dependencies never move
/// theirs), with [`SCHEMATHESIS_VERSION`] installed from PyPI on first use.
pub fn schemathesis() -> Result<PathBuf> {
    static DONE: OnceLock<std::result::Result<PathBuf, String>> = OnceLock::new();
    once(&DONE, "schemathesis", install_schemathesis)
}

fn install_schemathesis() -> Result<PathBuf> {
    let dir = cache_dir()?.join("schemathesis");
    let _lock = lock(&dir.join(".lock"))?;
    let venv = dir.join("venv");
    let python = venv.join("bin/python");
    let exe = venv.join("bin/schemathesis");
    let check = format!(
        "import importlib.metadata as m, sys; sys.exit(m.version('schemathesis') != '{SCHEMATHESIS_VERSION}')"
    );
    let installed = || {
        exe.is_file()
            && Command::new(&python)
                .args(["-c", &check])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
    };
    if installed() {
        return Ok(exe);
    }
    let step = |what: &str, cmd: &mut Command| -> Result<()> {
        let out = cmd
            .stdin(Stdio::null())
            .output()
            .map_err(io(format!("run {what}")))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(Error::Install {
                what: format!("schemathesis {SCHEMATHESIS_VERSION}"),
                detail: format!(
                    "{what} exited with {}: {}",
                    out.status,
                    tail(&String::from_utf8_lossy(&out.stderr), 4000)
                ),
            })
        }
    };
    if !python.is_file() {
        step(
            "python3 -m venv",
            Command::new("python3").args(["-m", "venv"]).arg(&venv),
        )?;
    }
    step(
        "pip install schemathesis",
        Command::new(&python).args([
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            &format!("schemathesis=={SCHEMATHESIS_VERSION}"),
        ]),
    )?;
    if installed() {
        Ok(exe)
    } else {
        Err(Error::Install {
            what: format!("schemathesis {SCHEMATHESIS_VERSION}"),
            detail: format!("pip succeeded but {} is not that version", exe.display()),
        })
    }
}

/// What a schemathesis run found.
#[derive(Debug, Clone)]
pub struct ApiCheck {
    /// every check passed on every generated request
    pub passed: bool,
    /// schemathesis's exit status (0 passed, 1 failures found, other: could not test)
    pub status: ExitStatus,
    /// its report (stdout, then stderr)
    pub output: String,
}

/// The options [`run_schemathesis`] gives: every check, positive and negative data, at most
/// 25 examples per operation (and per stateful scenario) with a fixed seed, one worker, no
/// example database, 5 s per request, no colour. No `--max-time`: it is a budget that fuzzing
/// and stateful testing spend whole, not a bound.
pub const SCHEMATHESIS_ARGS: &[&str] = &[
    "--checks",
    "all",
    "--mode",
    "all",
    "--max-examples",
    "25",
    "--seed",
    "20240601",
    "--workers",
    "1",
    "--generation-database",
    "none",
    "--request-timeout",
    "5",
    "--wait-for-schema",
    "10",
    "--no-color",
];

/// Runs `schemathesis run` on the OpenAPI document at `openapi_url` against the live server at
/// `base_url` (both on loopback) with [`SCHEMATHESIS_ARGS`] and `headers` sent on every request
/// (a token). `Ok` with [`ApiCheck::passed`] false is a failed check; `Err` is a run that could
/// not happen (install, start, no report).
pub fn run_schemathesis(
    openapi_url: &str,
    base_url: &str,
    headers: &[(&str, &str)],
) -> Result<ApiCheck> {
    run_schemathesis_with(openapi_url, base_url, headers, &[])
}

/// [`run_schemathesis`] with more options after the default ones (e.g. `--exclude-checks X`,
/// `--phases examples,coverage`, `--max-examples 100`: a later option wins).
pub fn run_schemathesis_with(
    openapi_url: &str,
    base_url: &str,
    headers: &[(&str, &str)],
    extra_args: &[&str],
) -> Result<ApiCheck> {
    run_schemathesis_in(openapi_url, base_url, headers, extra_args, &[])
}

/// [`run_schemathesis_with`] with `files` (name, content) written into its working directory
/// first: a `schemathesis.toml` there is its configuration (per-operation settings such as
/// the identifier of a resource that exists, or the statuses a check expects), next to the
/// hooks file it names (`hooks = "hooks.py"`: response deserializers, data hooks). Names are
/// plain file names.
pub fn run_schemathesis_in(
    openapi_url: &str,
    base_url: &str,
    headers: &[(&str, &str)],
    extra_args: &[&str],
    files: &[(&str, &str)],
) -> Result<ApiCheck> {
    let exe = schemathesis()?;
    let tmp = tempfile::Builder::new()
        .prefix("rampart-schemathesis.")
        .tempdir()
        .map_err(io("create a temporary directory"))?;
    for (name, content) in files {
        if name.is_empty() || name.contains('/') || *name == ".." {
            return Err(Error::Io {
                what: format!("write {name:?} for schemathesis"),
                source: std::io::Error::other("not a plain file name"),
            });
        }
        std::fs::write(tmp.path().join(name), content)
            .map_err(io(format!("write {name} for schemathesis")))?;
    }
    let mut cmd = Command::new(&exe);
    cmd.args(["run", openapi_url, "--url", base_url])
        .args(SCHEMATHESIS_ARGS)
        .args(extra_args);
    for (name, value) in headers {
        cmd.arg("--header").arg(format!("{name}: {value}"));
    }
    // a directory of its own: no schemathesis.toml picked up but the one given, hypothesis
    // writes nothing here
    cmd.current_dir(tmp.path())
        .env("NO_COLOR", "1")
        .env("NO_PROXY", "*")
        .env_remove("HTTP_PROXY")
        .env_remove("HTTPS_PROXY")
        .env_remove("http_proxy")
        .env_remove("https_proxy");
    let program = format!("schemathesis run {openapi_url}");
    let done = run_bounded(cmd, &program, SCHEMATHESIS_TIMEOUT)?;
    let output = format!("{}{}", done.stdout, done.stderr);
    match done.status.code() {
        Some(0) => Ok(ApiCheck {
            passed: true,
            status: done.status,
            output,
        }),
        Some(1) => Ok(ApiCheck {
            passed: false,
            status: done.status,
            output,
        }),
        _ => Err(Error::Failed {
            program,
            status: done.status.to_string(),
            stdout: tail(&done.stdout, 8000),
            stderr: tail(&done.stderr, 8000),
        }),
    }
}

/// The last `max` bytes of `s` (on a character boundary), marked when cut.
fn tail(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut start = s.len() - max;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    format!("[...]{}", s.get(start..).unwrap_or_default())
}
