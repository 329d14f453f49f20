//! rampart-guard: applies an enforcement policy's Landlock ruleset to itself, then execs the
//! workload, which inherits it (and so does everything the workload starts).
//!
//!   rampart-guard --policy FILE [--report FILE] [--verbose] -- CMD [ARGS...]
//!
//! Fails closed: when the policy is in enforce mode and cannot be applied, the command is not
//! run (exit 125). CMD is looked up in PATH like `execvp`. Exit 127 when it cannot be executed.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitCode};

use rampart_enforce::{Policy, landlock};

const USAGE: &str =
    "usage: rampart-guard --policy FILE [--report FILE] [--verbose] -- CMD [ARGS...]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut policy_path = None;
    let mut report_path = None;
    let mut verbose = false;
    let mut it = args.iter();
    let mut cmd: Vec<String> = Vec::new();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--policy" => policy_path = it.next().cloned(),
            "--report" => report_path = it.next().cloned(),
            "--verbose" => verbose = true,
            "--" => {
                cmd = it.by_ref().cloned().collect();
                break;
            }
            _ => {
                eprintln!("rampart-guard: unexpected argument {a:?}\n{USAGE}");
                return ExitCode::from(125);
            }
        }
    }
    let (Some(policy_path), Some((program, rest))) = (policy_path, cmd.split_first()) else {
        eprintln!("{USAGE}");
        return ExitCode::from(125);
    };
    let policy = match std::fs::read(&policy_path)
        .map_err(|e| format!("{policy_path}: {e}"))
        .and_then(|b| Policy::from_json(&b).map_err(|e| format!("{policy_path}: {e}")))
    {
        Ok(p) => p,
        Err(e) => {
            eprintln!("rampart-guard: {e}");
            return ExitCode::from(125);
        }
    };
    // opened before the restriction: writing to an open file is not checked again
    let mut report = match report_path
        .as_deref()
        .map(|p| std::fs::File::create(p).map_err(|e| format!("{p}: {e}")))
    {
        Some(Ok(f)) => Some(f),
        Some(Err(e)) => {
            eprintln!("rampart-guard: report: {e}");
            return ExitCode::from(125);
        }
        None => None,
    };
    let applied = match landlock::apply(&policy) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("rampart-guard: {e}");
            return ExitCode::from(125);
        }
    };
    if let Some(f) = report.as_mut() {
        let _ = serde_json::to_writer(&mut *f, &applied);
        let _ = f.write_all(b"\n");
    }
    // never silent: a ruleset the kernel only partly enforces is said on stderr
    if verbose
        || (policy.mode == rampart_enforce::Mode::Enforce && applied.status != "fully-enforced")
    {
        eprintln!(
            "rampart-guard: landlock ABI {} {} (restricted: {}); not enforced: {}",
            applied.abi,
            applied.status,
            applied.restricted,
            applied.plan.not_enforced.join("; ")
        );
    }
    drop(report);
    let err = Command::new(program).args(rest).exec();
    eprintln!("rampart-guard: {program}: {err}");
    ExitCode::from(127)
}
