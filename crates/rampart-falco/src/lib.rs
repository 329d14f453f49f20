//! Falco's rules language for rampart's monitor: the event model ([`event`]), the field registry
//! ([`fields::FIELDS`]), the rules-file loader ([`load`]), the condition parser and compiler, the
//! evaluator ([`RuleSet`]) and Falco's output formats. Pure Rust, no kernel access.
//!
//! ```
//! use rampart_falco::{Loader, event::{Event, Process}};
//! let mut loader = Loader::new();
//! loader.load("rules.yaml", "- rule: shell\n  desc: d\n  condition: evt.type=execve and proc.name=bash\n  output: shell %proc.cmdline\n  priority: NOTICE\n");
//! let rules = loader.finish().map_err(|_| "load failed").unwrap();
//! let ev = Event { evt_type: "execve".into(), proc: Process { name: "bash".into(), ..Process::default() }.into(), ..Event::default() };
//! assert_eq!(rules.evaluate(&ev).count(), 1);
//! ```

pub mod compile;
pub mod event;
mod evttypes;
pub mod fields;
pub mod load;
pub mod output;
pub mod parser;
pub mod prefilter;
pub mod rules;
pub mod ruleset;
pub mod yaml;

pub use event::Event;
pub use load::{Code, Diagnostic, ENGINE_VERSION, FileResult, Loader, Location};
pub use ruleset::{CompiledRule, EventTypes, Match, RuleSet};

/// Falco's priorities, most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum Priority {
    /// `EMERGENCY`.
    Emergency,
    /// `ALERT`.
    Alert,
    /// `CRITICAL`.
    Critical,
    /// `ERROR`.
    Error,
    /// `WARNING`.
    Warning,
    /// `NOTICE`.
    Notice,
    /// `INFORMATIONAL` (also `INFO`).
    Informational,
    /// `DEBUG`.
    Debug,
}

impl Priority {
    /// Parses a priority as Falco accepts it (any case; `info` and `informational` alike).
    pub fn parse(s: &str) -> Option<Priority> {
        Some(match s.to_ascii_lowercase().as_str() {
            "emergency" => Priority::Emergency,
            "alert" => Priority::Alert,
            "critical" => Priority::Critical,
            "error" => Priority::Error,
            "warning" => Priority::Warning,
            "notice" => Priority::Notice,
            "informational" | "info" => Priority::Informational,
            "debug" => Priority::Debug,
            _ => return None,
        })
    }
    /// Falco's capitalised name (`Warning`), as in alerts.
    pub fn name(self) -> &'static str {
        match self {
            Priority::Emergency => "Emergency",
            Priority::Alert => "Alert",
            Priority::Critical => "Critical",
            Priority::Error => "Error",
            Priority::Warning => "Warning",
            Priority::Notice => "Notice",
            Priority::Informational => "Informational",
            Priority::Debug => "Debug",
        }
    }
}

/// Loads files in order (name, content) like `falco -r a -r b`; `Err` carries every file's
/// result when any failed.
pub fn load_files<'a>(
    files: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<(RuleSet, Vec<FileResult>), Vec<FileResult>> {
    let mut loader = Loader::new();
    for (name, content) in files {
        loader.load(name, content);
    }
    let results = loader.results().to_vec();
    loader.finish().map(|rs| (rs, results))
}
