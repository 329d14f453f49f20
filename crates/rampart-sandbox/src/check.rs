//! The check: the same workload and smoke test under runc, then under runsc, compared into a
//! verdict.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::SandboxError;
use crate::runtime::{Mode, Outcome, Runtime, RuntimeKind, Trial, run_trial};

/// What to check: an OCI runtime config and the root filesystem it runs.
#[derive(Debug, Clone)]
pub struct Subject {
    /// How the user named it (a bundle path, an image reference).
    pub name: String,
    /// The OCI runtime config (`config.json`).
    pub config: serde_json::Value,
    /// The root filesystem (never written: each trial runs on its own overlay).
    pub rootfs: PathBuf,
}

impl Subject {
    /// The workload's command (`process.args`).
    pub fn args(&self) -> Vec<String> {
        self.config
            .pointer("/process/args")
            .and_then(serde_json::Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(serde_json::Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// How to check.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// The baseline runtime.
    pub runc: Runtime,
    /// The sandbox runtime.
    pub runsc: Runtime,
    /// Deadline of each phase: the start, the smoke test (or the one-shot process).
    pub timeout: Duration,
    /// Run the smoke test as the container's process instead of inside the running workload.
    pub one_shot: bool,
    /// Whether different standard output (trimmed) of a passing test breaks the move.
    pub compare_output: bool,
    /// Where trials keep their bundles, state and logs (default: the system's temporary
    /// directory).
    pub work_dir: Option<PathBuf>,
}

impl Default for CheckOptions {
    fn default() -> Self {
        Self {
            runc: Runtime::new(RuntimeKind::Runc),
            runsc: Runtime::new(RuntimeKind::Runsc),
            timeout: Duration::from_secs(30),
            one_shot: false,
            compare_output: true,
            work_dir: None,
        }
    }
}

/// The verdict's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum VerdictKind {
    /// Works under runc and under gVisor alike.
    CanMove,
    /// Works under runc, not under gVisor.
    Breaks,
    /// Does not work under runc either: nothing to compare.
    BaselineFails,
}

/// The verdict: its kind, one line, and the reasons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// What it is.
    pub kind: VerdictKind,
    /// One line: "can move into gVisor", "breaks under gVisor: ...", "does not work under runc
    /// either: ...".
    pub summary: String,
    /// Why, one reason per entry.
    pub reasons: Vec<String>,
}

impl Verdict {
    /// The exit code of `rampart sandbox check`: 0 can move, 1 breaks, 2 the baseline fails
    /// (as for an input error: the check could not say anything).
    pub fn exit_code(&self) -> u8 {
        match self.kind {
            VerdictKind::CanMove => 0,
            VerdictKind::Breaks => 1,
            VerdictKind::BaselineFails => 2,
        }
    }
}

/// One thing that differs between the two runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// What (`started`, `exit code`, `stdout`, `stderr`, `workload after the test`).
    pub what: String,
    /// Under runc.
    pub runc: String,
    /// Under runsc.
    pub runsc: String,
}

/// The check's report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// What was checked.
    pub subject: String,
    /// `exec` (the smoke test inside the running workload) or `one-shot` (the test is the
    /// container's process).
    pub mode: &'static str,
    /// The test's command.
    pub smoke_test: Vec<String>,
    /// The verdict.
    pub verdict: Verdict,
    /// What differs (the wall time is in the trials).
    pub differences: Vec<Difference>,
    /// The run under runc.
    pub runc: Trial,
    /// The run under runsc.
    pub runsc: Trial,
}

/// Runs the check (see the crate documentation). `smoke` empty: the workload itself is the
/// test (one-shot).
pub fn check(
    subject: &Subject,
    smoke: &[String],
    opts: &CheckOptions,
) -> Result<Report, SandboxError> {
    // both runtimes first: a missing one is an input error before anything runs
    opts.runc.locate()?;
    opts.runsc.locate()?;
    let (mode, args, test): (Mode, Option<&[String]>, Vec<String>) = if smoke.is_empty() {
        (Mode::OneShot, None, subject.args())
    } else if opts.one_shot {
        (Mode::OneShot, Some(smoke), smoke.to_vec())
    } else {
        (Mode::Exec(smoke.to_vec()), None, smoke.to_vec())
    };
    let work = match &opts.work_dir {
        Some(d) => tempfile::Builder::new()
            .prefix("rampart-sandbox.")
            .tempdir_in(d),
        None => tempfile::Builder::new()
            .prefix("rampart-sandbox.")
            .tempdir(),
    }
    .map_err(SandboxError::io(opts.work_dir.clone().unwrap_or_default()))?;
    let trial = |rt: &Runtime, name: &str| {
        run_trial(
            rt,
            &subject.config,
            &subject.rootfs,
            args,
            &mode,
            opts.timeout,
            &work.path().join(name),
        )
    };
    let runc = trial(&opts.runc, "runc")?;
    let runsc = trial(&opts.runsc, "runsc")?;
    let differences = differences(&runc, &runsc);
    let verdict = verdict(&runc, &runsc, opts.compare_output);
    Ok(Report {
        subject: subject.name.clone(),
        mode: match mode {
            Mode::Exec(_) => "exec",
            Mode::OneShot => "one-shot",
        },
        smoke_test: test,
        verdict,
        differences,
        runc,
        runsc,
    })
}

fn exit_text(o: Option<&Outcome>) -> String {
    match o {
        None => "did not run".into(),
        Some(o) if o.timed_out => format!("timed out after {} ms", o.millis),
        Some(o) => match o.exit_code {
            Some(c) => format!("exit {c}"),
            None => "no exit status".into(),
        },
    }
}

/// The first line where two texts differ (1-based), with both lines (cut to 120 characters).
pub fn first_difference(a: &str, b: &str) -> Option<(usize, String, String)> {
    let (a, b) = (a.trim(), b.trim());
    if a == b {
        return None;
    }
    let cut = |s: Option<&str>| -> String {
        match s {
            None => "(nothing)".into(),
            Some(s) if s.chars().count() > 120 => {
                format!("{}...", s.chars().take(120).collect::<String>())
            }
            Some(s) => s.to_owned(),
        }
    };
    let (mut la, mut lb) = (a.lines(), b.lines());
    let mut n = 0;
    loop {
        n += 1;
        match (la.next(), lb.next()) {
            (None, None) => return None,
            (x, y) if x.map(str::trim_end) != y.map(str::trim_end) => {
                return Some((n, cut(x), cut(y)));
            }
            _ => {}
        }
    }
}

fn first_line(s: &str) -> Option<String> {
    s.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(|l| l.chars().take(200).collect())
}

/// The last non-empty line: what a failing program says last is its error (a Python traceback
/// ends with the exception, a shell with its message).
fn last_line(s: &str) -> Option<String> {
    s.lines()
        .map(str::trim)
        .rev()
        .find(|l| !l.is_empty())
        .map(|l| l.chars().take(200).collect())
}

/// Why a trial did not pass.
fn failure(t: &Trial) -> Vec<String> {
    let name = match t.runtime {
        RuntimeKind::Runc => "runc",
        RuntimeKind::Runsc => "gVisor",
    };
    let mut out = Vec::new();
    if let Some(e) = &t.error {
        out.push(format!("{} error: {e}", t.runtime.name()));
    }
    if !t.started {
        if t.error.is_none() {
            out.push(format!("the container did not start under {name}"));
        }
        return out;
    }
    match t.test() {
        None if t.exec_mode => out.push(format!(
            "the workload {} before the smoke test could run under {name} (for an image whose process exits, use --one-shot)",
            exit_text(t.workload.as_ref()).replace("exit", "exited")
        )),
        None => out.push(format!("the test did not run under {name}")),
        Some(o) if o.timed_out => out.push(format!(
            "the test did not finish within {} ms under {name}",
            o.millis
        )),
        Some(o) if o.exit_code != Some(0) => {
            let mut r = format!(
                "the test {} under {name}",
                exit_text(Some(o)).replace("exit", "exits")
            );
            if let Some(l) = last_line(&o.stderr) {
                r.push_str(&format!(" (stderr: {l})"));
            }
            out.push(r);
        }
        Some(_) => {}
    }
    out
}

/// The verdict of two trials (see [`VerdictKind`]).
pub fn verdict(runc: &Trial, runsc: &Trial, compare_output: bool) -> Verdict {
    if !runc.passed() {
        let reasons = failure(runc);
        return Verdict {
            kind: VerdictKind::BaselineFails,
            summary: format!(
                "does not work under runc either: {}",
                reasons.first().map_or("the test failed", String::as_str)
            ),
            reasons,
        };
    }
    let unsupported: Vec<&str> = runsc
        .gvisor
        .iter()
        .flat_map(|g| g.significant())
        .map(|u| u.name.as_str())
        .collect();
    let mut reasons = failure(runsc);
    if reasons.is_empty() {
        if compare_output
            && let (Some(a), Some(b)) = (runc.test(), runsc.test())
            && let Some((n, x, y)) = first_difference(&a.stdout, &b.stdout)
        {
            reasons.push(format!(
                "the test's output differs at line {n}: runc `{x}`, gVisor `{y}`"
            ));
        }
        if runc.workload_up_after_smoke == Some(true)
            && runsc.workload_up_after_smoke == Some(false)
        {
            reasons.push(format!(
                "the workload exited under gVisor during the test ({})",
                exit_text(runsc.workload.as_ref())
            ));
        }
    }
    if reasons.is_empty() {
        return Verdict {
            kind: VerdictKind::CanMove,
            summary: "can move into gVisor".into(),
            reasons: Vec::new(),
        };
    }
    if !unsupported.is_empty() {
        reasons.push(format!(
            "gVisor reported unsupported system calls: {}",
            unsupported.join(", ")
        ));
    }
    let summary = if unsupported.is_empty() {
        format!(
            "breaks under gVisor: {}",
            reasons.first().map_or("", String::as_str)
        )
    } else {
        format!(
            "breaks under gVisor: {} (unsupported: {})",
            reasons.first().map_or("", String::as_str),
            unsupported.join(", ")
        )
    };
    Verdict {
        kind: VerdictKind::Breaks,
        summary,
        reasons,
    }
}

/// What differs between the trials: start, the test's exit, its output, the workload.
pub fn differences(runc: &Trial, runsc: &Trial) -> Vec<Difference> {
    let mut out = Vec::new();
    let yes = |b: bool| if b { "yes" } else { "no" }.to_owned();
    if runc.started != runsc.started {
        out.push(Difference {
            what: "started".into(),
            runc: yes(runc.started),
            runsc: yes(runsc.started),
        });
    }
    let (a, b) = (runc.test(), runsc.test());
    if exit_text(a) != exit_text(b) || a.map(|o| o.timed_out) != b.map(|o| o.timed_out) {
        let text = |o: Option<&Outcome>| match o {
            Some(o) if o.timed_out => "timed out".to_owned(),
            o => exit_text(o),
        };
        if text(a) != text(b) {
            out.push(Difference {
                what: "exit code".into(),
                runc: text(a),
                runsc: text(b),
            });
        }
    }
    for (what, pick) in [
        (
            "stdout",
            (|o: &Outcome| o.stdout.clone()) as fn(&Outcome) -> String,
        ),
        ("stderr", |o: &Outcome| o.stderr.clone()),
    ] {
        let (x, y) = (
            a.map(pick).unwrap_or_default(),
            b.map(pick).unwrap_or_default(),
        );
        if let Some((n, l1, l2)) = first_difference(&x, &y) {
            out.push(Difference {
                what: format!("{what} (line {n})"),
                runc: l1,
                runsc: l2,
            });
        }
    }
    if runc.workload_up_after_smoke != runsc.workload_up_after_smoke
        && let (Some(x), Some(y)) = (runc.workload_up_after_smoke, runsc.workload_up_after_smoke)
    {
        let up = |u: bool| if u { "running" } else { "exited" }.to_owned();
        out.push(Difference {
            what: "workload after the test".into(),
            runc: up(x),
            runsc: up(y),
        });
    }
    out
}

/// The report as a short table (fixed-width, plain text).
pub fn render_table(r: &Report) -> String {
    let mut rows: Vec<[String; 3]> = Vec::new();
    let both = |f: &dyn Fn(&Trial) -> String| [f(&r.runc), f(&r.runsc)];
    let started = |t: &Trial| match (t.started, t.start_millis) {
        (true, Some(ms)) => format!("yes ({ms} ms)"),
        (true, None) => "yes".into(),
        (false, _) => "no".into(),
    };
    let [a, b] = both(&|t: &Trial| t.version.clone().unwrap_or_else(|| "?".into()));
    rows.push(["version".into(), a, b]);
    let [a, b] = both(&started);
    rows.push(["started".into(), a, b]);
    let [a, b] = both(&|t: &Trial| exit_text(t.test()));
    rows.push(["test".into(), a, b]);
    let [a, b] = both(&|t: &Trial| {
        t.test()
            .and_then(|o| first_line(&o.stdout))
            .unwrap_or_else(|| "-".into())
    });
    rows.push(["stdout".into(), a, b]);
    let [a, b] = both(&|t: &Trial| {
        t.test()
            .and_then(|o| last_line(&o.stderr))
            .unwrap_or_else(|| "-".into())
    });
    rows.push(["stderr (last line)".into(), a, b]);
    if r.mode == "exec" {
        let [a, b] = both(&|t: &Trial| match t.workload_up_after_smoke {
            Some(true) => "running".into(),
            Some(false) => format!("exited ({})", exit_text(t.workload.as_ref())),
            None => "-".into(),
        });
        rows.push(["workload".into(), a, b]);
    }
    let [a, b] = both(&|t: &Trial| match &t.gvisor {
        None => "n/a".into(),
        Some(g) if g.unsupported.is_empty() => "none".into(),
        Some(g) => g
            .unsupported
            .iter()
            .map(|u| {
                if u.harmless {
                    format!("{} (harmless)", u.name)
                } else {
                    u.name.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(", "),
    });
    rows.push(["unsupported syscalls".into(), a, b]);
    let [a, b] = both(&|t: &Trial| format!("{} ms", t.wall_millis));
    rows.push(["wall time".into(), a, b]);
    let [a, b] = both(&|t: &Trial| t.error.clone().unwrap_or_else(|| "-".into()));
    rows.push(["runtime error".into(), a, b]);
    let cut = |s: &str| -> String {
        let s = crate::printable(s);
        if s.chars().count() > 60 {
            format!("{}...", s.chars().take(57).collect::<String>())
        } else {
            s
        }
    };
    let rows: Vec<[String; 3]> = rows
        .into_iter()
        .map(|[a, b, c]| [a, cut(&b), cut(&c)])
        .collect();
    let w0 = rows.iter().map(|r| r[0].chars().count()).max().unwrap_or(0);
    let w1 = rows
        .iter()
        .map(|r| r[1].chars().count())
        .max()
        .unwrap_or(0)
        .max(4);
    let mut out = format!(
        "sandbox check of {} ({} mode, test: {})\n",
        crate::printable(&r.subject),
        r.mode,
        crate::printable(&shell_words(&r.smoke_test))
    );
    out.push_str(&format!(
        "{:w0$}  {:w1$}  {}\n",
        "", "runc", "runsc (gVisor)"
    ));
    for [a, b, c] in &rows {
        out.push_str(&format!("{a:w0$}  {b:w1$}  {c}\n"));
    }
    if !r.differences.is_empty() {
        out.push_str("differences:\n");
        for d in &r.differences {
            out.push_str(&format!(
                "  {}: runc `{}`, gVisor `{}`\n",
                d.what,
                crate::printable(&d.runc),
                crate::printable(&d.runsc)
            ));
        }
    }
    out.push_str(&format!(
        "verdict: {}\n",
        crate::printable(&r.verdict.summary)
    ));
    for reason in r.verdict.reasons.iter().skip(1) {
        out.push_str(&format!("  - {}\n", crate::printable(reason)));
    }
    out
}

/// A command as a shell would read it back: words with spaces or quotes single-quoted.
pub fn shell_words(args: &[String]) -> String {
    args.iter()
        .map(|a| {
            if !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c))
            {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The subject of an OCI bundle directory.
pub fn subject_from_bundle(dir: &Path) -> Result<Subject, SandboxError> {
    let b = crate::bundle::Bundle::load(dir)?;
    Ok(Subject {
        name: dir.display().to_string(),
        config: b.config,
        rootfs: b.rootfs,
    })
}
