//! `rampart-eventgen`: Falco's event-generator syscall actions (falcosecurity/event-generator,
//! `events/syscall/*.go`) rewritten in Rust, one action per invocation, as the workload of
//! rampart's monitor tests. Dev-only tooling: never shipped.
//!
//! ```text
//! rampart-eventgen list                      every action, one per line: name, then where it runs
//! rampart-eventgen run syscall.NAME [--sleep 6s]  perform one action (`^syscall.NAME$` accepted)
//! rampart-eventgen idle                      a container's init: reap children, sleep forever
//! rampart-eventgen standins                  the program names it stands in for
//! rampart-eventgen extras                    our actions for stable rules upstream has none for
//! ```
//!
//! Exit status of `run`: 0 done, 3 skipped (a precondition does not hold: the reason is on
//! standard error, as upstream's `ErrSkipped`), 1 failed, 2 usage.
//!
//! Started under the name of a program the rules key on that is not a busybox applet (or whose
//! busybox applet cannot do what the action needs), this binary is that program's stand-in:
//! see [`standin`].

mod actions;
mod standin;

use std::ffi::OsString;
use std::path::Path;
use std::process::ExitCode;

/// What an action ended with, besides an error.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// it did what it does
    Done,
    /// a precondition does not hold (upstream's `ErrSkipped`)
    Skipped(String),
}

/// Why an action failed.
#[derive(Debug)]
pub(crate) struct Fail(pub String);

impl std::fmt::Display for Fail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<std::io::Error> for Fail {
    fn from(e: std::io::Error) -> Self {
        Self(e.to_string())
    }
}

impl From<nix::Error> for Fail {
    fn from(e: nix::Error) -> Self {
        Self(e.to_string())
    }
}

/// A failure with context.
pub(crate) fn fail<T>(what: impl Into<String>) -> Result<T, Fail> {
    Err(Fail(what.into()))
}

const USAGE: &str =
    "usage: rampart-eventgen list | extras | run syscall.NAME [--sleep DURATION] | idle | standins";

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    let argv0 = args
        .first()
        .and_then(|a| Path::new(a).file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if let Some(code) = standin::dispatch(&argv0, args.get(1..).unwrap_or_default()) {
        return code;
    }
    let args: Vec<String> = args
        .iter()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["list"] => {
            for a in actions::ACTIONS {
                println!("{}\t{}", a.name, a.place.as_str());
            }
            ExitCode::SUCCESS
        }
        ["extras"] => {
            for a in actions::EXTRAS {
                println!("{}\t{}", a.name, a.place.as_str());
            }
            ExitCode::SUCCESS
        }
        ["standins"] => {
            for s in standin::STANDINS {
                println!("{s}");
            }
            ExitCode::SUCCESS
        }
        ["run", name] => run(name, None),
        ["run", name, "--sleep", d] => match parse_duration(d) {
            Some(d) => run(name, Some(d)),
            None => {
                eprintln!("rampart-eventgen: bad duration {d:?} (e.g. 6s, 500ms)");
                ExitCode::from(2)
            }
        },
        ["idle"] => actions::idle(),
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// `6s`, `500ms`.
fn parse_duration(d: &str) -> Option<std::time::Duration> {
    if let Some(ms) = d.strip_suffix("ms") {
        return ms.parse().ok().map(std::time::Duration::from_millis);
    }
    d.strip_suffix('s')?
        .parse()
        .ok()
        .map(std::time::Duration::from_secs)
}

/// Runs the action `name` (upstream's `^name$` form accepted), after `sleep` (upstream's
/// `--sleep`, before the action).
fn run(name: &str, sleep: Option<std::time::Duration>) -> ExitCode {
    let name = name.trim_start_matches('^').trim_end_matches('$');
    let Some(action) = actions::find(name) else {
        eprintln!("rampart-eventgen: no action {name:?} ({USAGE})");
        return ExitCode::from(2);
    };
    if let Some(d) = sleep {
        std::thread::sleep(d);
    }
    match actions::perform(action) {
        Ok(Outcome::Done) => {
            eprintln!("rampart-eventgen: {name}: done");
            ExitCode::SUCCESS
        }
        Ok(Outcome::Skipped(why)) => {
            eprintln!("rampart-eventgen: {name}: skipped: {why}");
            ExitCode::from(3)
        }
        Err(e) => {
            eprintln!("rampart-eventgen: {name}: failed: {e}");
            ExitCode::from(1)
        }
    }
}
