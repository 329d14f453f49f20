//! What gVisor's own logs say about a run: the system calls the Sentry reported as unsupported,
//! and the fatal errors of `runsc` itself.
//!
//! `runsc --debug-log=DIR/` writes one file per command (`runsc.log.<time>.run.txt`,
//! `...gofer.txt`, `...boot.txt` for the sandbox, `...exec.txt`...). The Sentry's compatibility
//! reporter (`pkg/sentry/strace`... `runsc/boot/compat.go`) logs each unimplemented call once per
//! call and arguments, at Info level (so `--debug` is not needed), as measured with runsc
//! 0.0~20221219 (Debian 12):
//!
//! ```text
//! I1206 21:34:49.569686   22446 compat.go:123] Unsupported syscall pidfd_open(0x1,0x0,...). It is likely that you can safely ignore this message and that this is not the cause of any error. Please, refer to https://gvisor.dev/c/linux/amd64/pidfd_open for more information.
//! I1206 21:34:49.569569   22446 compat.go:123] Unsupported syscall sys_444(0x0,0x0,0x1,...). ...
//! ```
//!
//! Calls gVisor's table does not name are `sys_<number>`; they are named here from the native
//! table (444 is `landlock_create_ruleset` on x86-64). `runsc` errors are
//! `W... util.go:64] FATAL ERROR: <message>`.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use serde::Serialize;

/// Largest log file read (a debug log of a long run can be large; the lines wanted are short).
pub const MAX_LOG_BYTES: u64 = 64 << 20;

/// The marker of the Sentry's unsupported-call lines.
const UNSUPPORTED: &str = "Unsupported syscall ";
/// The marker of runsc's own fatal errors.
const FATAL: &str = "FATAL ERROR: ";

/// Calls that glibc makes at every start and whose absence it handles silently: listed, but
/// never given as the reason a run broke. `rseq` is registered by glibc 2.35+ in every thread;
/// gVisor 2022 does not implement it and glibc goes on without it.
pub const HARMLESS: &[&str] = &["rseq"];

/// One system call gVisor reported as unsupported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unsupported {
    /// The call's name (named from the native table when gVisor wrote `sys_<n>`).
    pub name: String,
    /// How many times it was reported (gVisor reports each distinct call once).
    pub count: u32,
    /// The arguments of its first report, as gVisor printed them.
    pub first_args: String,
    /// Whether it is one of the calls whose absence programs handle silently ([`HARMLESS`]).
    pub harmless: bool,
}

/// What a directory of runsc logs says.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GvisorLog {
    /// The unsupported calls, by name.
    pub unsupported: Vec<Unsupported>,
    /// runsc's fatal errors, in the order found.
    pub fatal: Vec<Fatal>,
}

/// A fatal error of one runsc command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fatal {
    /// The command whose log held it (`run`, `exec`, `boot`...; empty when unknown).
    pub command: String,
    /// runsc's message.
    pub message: String,
}

impl GvisorLog {
    /// The unsupported calls that are not [`HARMLESS`].
    pub fn significant(&self) -> impl Iterator<Item = &Unsupported> {
        self.unsupported.iter().filter(|u| !u.harmless)
    }
}

/// A call's name as the Sentry printed it, with `sys_<n>` named from the native table.
pub fn syscall_name(printed: &str) -> String {
    if let Some(n) = printed.strip_prefix("sys_")
        && let Ok(n) = n.parse::<usize>()
        && let Some(s) = syscalls::Sysno::new(n)
    {
        return s.name().to_owned();
    }
    printed.to_owned()
}

/// Parses the lines of one runsc log of `command` (`run`, `exec`...) into `log`.
pub fn parse_text(command: &str, text: &str, log: &mut GvisorLog) {
    let mut found: BTreeMap<String, Unsupported> = log
        .unsupported
        .drain(..)
        .map(|u| (u.name.clone(), u))
        .collect();
    for line in text.lines() {
        if let Some(at) = line.find(UNSUPPORTED) {
            let rest = line.get(at + UNSUPPORTED.len()..).unwrap_or("");
            let (printed, args) = match rest.find('(') {
                Some(open) => {
                    let args = rest.get(open + 1..).unwrap_or("");
                    let args = args.find(')').and_then(|c| args.get(..c)).unwrap_or(args);
                    (rest.get(..open).unwrap_or(rest), args)
                }
                None => (rest.split_whitespace().next().unwrap_or(rest), ""),
            };
            let printed = printed.trim();
            if printed.is_empty() {
                continue;
            }
            let name = syscall_name(printed);
            let entry = found.entry(name.clone()).or_insert_with(|| Unsupported {
                harmless: HARMLESS.contains(&name.as_str()),
                name,
                count: 0,
                first_args: args.to_owned(),
            });
            entry.count = entry.count.saturating_add(1);
        } else if let Some(at) = line.find(FATAL) {
            let message = line.get(at + FATAL.len()..).unwrap_or("").trim();
            if !message.is_empty() && !log.fatal.iter().any(|f| f.message == message) {
                log.fatal.push(Fatal {
                    command: command.to_owned(),
                    message: message.to_owned(),
                });
            }
        }
    }
    log.unsupported = found.into_values().collect();
}

/// Reads every `runsc.log.*` file of `dir` (each at most [`MAX_LOG_BYTES`]). A directory that
/// does not exist gives an empty result (runsc did not get far enough to write one).
pub fn read_dir(dir: &Path) -> std::io::Result<GvisorLog> {
    let mut log = GvisorLog::default();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(log),
        Err(e) => return Err(e),
    };
    let mut files: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    for path in files {
        let mut bytes = Vec::new();
        std::fs::File::open(&path)?
            .take(MAX_LOG_BYTES)
            .read_to_end(&mut bytes)?;
        // runsc.log.<date>-<time>.<command>.txt
        let command = path
            .file_stem()
            .and_then(|s| s.to_str())
            .and_then(|s| s.rsplit('.').next())
            .unwrap_or("");
        parse_text(command, &String::from_utf8_lossy(&bytes), &mut log);
    }
    Ok(log)
}

#[cfg(test)]
mod tests {
    use super::*;

    // lines as runsc 0.0~20221219 wrote them on this machine (a Python probe and a missing binary)
    const BOOT: &str = "\
I1206 21:34:49.496699   22446 compat.go:123] Unsupported syscall rseq(0x7ff9a63c4960,0x20,0x0,0x53053053,0x0,0x0). It is likely that you can safely ignore this message and that this is not the cause of any error. Please, refer to https://gvisor.dev/c/linux/amd64/rseq for more information.
I1206 21:34:49.569569   22446 compat.go:123] Unsupported syscall sys_444(0x0,0x0,0x1,0x7fe8d9e20570,0x7fe8d9e20620,0x6). It is likely that you can safely ignore this message and that this is not the cause of any error. Please, refer to https://gvisor.dev/c/linux/amd64/sys_444 for more information.
I1206 21:34:49.569686   22446 compat.go:123] Unsupported syscall pidfd_open(0x1,0x0,0x5b8619,0x7fe8d9e20030,0xa5c128,0x6). It is likely that you can safely ignore this message and that this is not the cause of any error. Please, refer to https://gvisor.dev/c/linux/amd64/pidfd_open for more information.
D1206 21:34:49.569700   22446 task_exit.go:204] [   1:   1] Transitioning from exit state TaskExitNone to TaskExitInitiated
I1206 21:34:49.569744   22446 compat.go:123] Unsupported syscall pidfd_open(0x2,0x0,0x5b8619,0x7fe8d9e20030,0xa5c128,0x6). It is likely ...
W1206 21:34:41.097541   22035 util.go:64] FATAL ERROR: running container: starting container: starting root container: starting sandbox: creating process: failed to load /nonexistent: no such file or directory
";

    #[test]
    fn unsupported_calls_are_named_counted_and_flagged() {
        let mut log = GvisorLog::default();
        parse_text("boot", BOOT, &mut log);
        let names: Vec<(&str, u32, bool)> = log
            .unsupported
            .iter()
            .map(|u| (u.name.as_str(), u.count, u.harmless))
            .collect();
        assert_eq!(
            names,
            [
                ("landlock_create_ruleset", 1, false),
                ("pidfd_open", 2, false),
                ("rseq", 1, true)
            ]
        );
        assert_eq!(
            log.unsupported[1].first_args,
            "0x1,0x0,0x5b8619,0x7fe8d9e20030,0xa5c128,0x6"
        );
        assert_eq!(log.significant().count(), 2);
        assert_eq!(
            log.fatal,
            [Fatal {
                command: "boot".into(),
                message: "running container: starting container: starting root container: starting sandbox: creating process: failed to load /nonexistent: no such file or directory".into()
            }]
        );
    }

    #[test]
    fn hostile_lines_do_not_panic() {
        let mut log = GvisorLog::default();
        for text in [
            "Unsupported syscall ",
            "Unsupported syscall (",
            "Unsupported syscall x(",
            "FATAL ERROR: ",
            "Unsupported syscall sys_99999999999999999999(1)",
            "Unsupported syscall \u{1F600}(",
        ] {
            parse_text("run", text, &mut log);
        }
        let names: Vec<&str> = log.unsupported.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(names, ["sys_99999999999999999999", "x", "\u{1F600}"]);
        assert!(log.fatal.is_empty());
    }

    #[test]
    fn a_missing_directory_is_an_empty_log() {
        let log = read_dir(Path::new("/nonexistent/rampart-sandbox-logs")).unwrap();
        assert_eq!(log, GvisorLog::default());
    }
}
