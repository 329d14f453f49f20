//! Recording the monitor's alerts: JSON lines in Falco's output format (`hostname`, `output`,
//! `output_fields`, `priority`, `rule`, `source`, `tags`, `time`), as `rampart monitor` writes
//! them for its rules, its drift detector and its intent enforcement, imported as events of
//! kind `alert`. A file is one transaction: a line that is not an alert (a truncated last
//! line, another file's content) is an error naming the file and line, and nothing of that file
//! is written.
//!
//! - **Columns.** Besides the line itself (`data`): the rule, the priority, the container
//!   (`container.id`), the image digest (`container.image.digest`) and reference
//!   (`container.image`, else `container.image.repository` and `.tag`), whether the rule is
//!   runtime drift ([`is_drift`]), the event's time (`at`: the alert's `time`) and when rampart
//!   reported it (`reported_at`, see below).
//! - **Two times, one written.** The monitor writes one time per alert: for its rules and its
//!   drift detector, the kernel's time of the event (`evt.time`: the exec, the open); for the
//!   enforcer's denials, the time the enforcer read the denial. It does not write when it
//!   emitted the alert, so `reported_at` is when the alert reached the store (the import): the
//!   time to detect is an upper bound, the monitor's own latency plus the time the log took to
//!   be imported.
//! - **Once.** An alert is keyed by a SHA-256 of its host, time, rule and output text (the
//!   output fields when there is no output): the same log imported twice counts once.

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::sql::Val;
use crate::{HistoryError, Store};

/// The rule of rampart monitor's own drift detector (`rampart_monitor::pipeline::DRIFT_RULE`):
/// a container executed a file that is not its image's (not in it, different content, changed
/// after start). Tagged `drift`.
pub const MONITOR_DRIFT_RULE: &str = "Executable drift from the image";

/// Falco's rules for the same drift: the stable ruleset's executable outside the image's
/// layers (`proc.is_exe_upper_layer`), and the sandbox ruleset's drift rules (a file made
/// executable, or created executable, in a running container).
pub const FALCO_DRIFT_RULES: &[&str] = &[
    "Drop and execute new binary in container",
    "Container Drift Detected (chmod)",
    "Container Drift Detected (open+create)",
];

/// The endings of the intent's runtime rules that are drift from the image's intent
/// (`rampart_intent::rules::rule_name(name, "exec" | "write")`; the enforcer's denials carry
/// the same names): an executable the intent does not list, a write outside its writable
/// paths. A read of a forbidden path, a connection or a kernel call outside the intent is a
/// policy violation, not drift from the image, and is not counted.
pub const INTENT_DRIFT_ENDINGS: &[&str] = &[
    ": executable outside the intent",
    ": write outside the intent's writable paths",
];

/// Whether an alert of `rule` with `tags` is runtime drift: the container runs or writes what
/// its image (or its intent) does not hold. The monitor's drift rule, Falco's drift rules, the
/// intent's exec and write rules, and any rule tagged `drift`.
pub fn is_drift(rule: &str, tags: &[String]) -> bool {
    rule == MONITOR_DRIFT_RULE
        || FALCO_DRIFT_RULES.contains(&rule)
        || INTENT_DRIFT_ENDINGS.iter().any(|e| rule.ends_with(e))
        || tags.iter().any(|t| t == "drift")
}

/// Falco's priorities, as alerts write them.
const PRIORITIES: &[&str] = &[
    "Emergency",
    "Alert",
    "Critical",
    "Error",
    "Warning",
    "Notice",
    "Informational",
    "Debug",
];

/// One alert as the monitor writes it (the fields read; the whole line is stored).
#[derive(Debug, Deserialize)]
pub struct Alert {
    /// RFC 3339, nanoseconds: the event's time (the enforcer's: when it read the denial)
    pub time: String,
    /// the rule
    pub rule: String,
    /// Falco's priority (`Critical`, `Warning`...)
    pub priority: String,
    /// the whole text line (absent when Falco's `json_include_output_property` is off)
    #[serde(default)]
    pub output: Option<String>,
    /// the fields of the rule's output
    pub output_fields: serde_json::Map<String, serde_json::Value>,
    /// the node
    #[serde(default)]
    pub hostname: String,
    /// `syscall`
    #[serde(default)]
    pub source: Option<String>,
    /// the rule's tags
    #[serde(default)]
    pub tags: Vec<String>,
}

impl Alert {
    fn field(&self, name: &str) -> Option<&str> {
        self.output_fields
            .get(name)
            .and_then(serde_json::Value::as_str)
            .filter(|s| !s.is_empty() && *s != "<NA>")
    }

    /// The container (`None` for a host process).
    pub fn container(&self) -> Option<&str> {
        self.field("container.id").filter(|c| *c != "host")
    }

    /// The image digest, when the alert carries it.
    pub fn image_digest(&self) -> Option<&str> {
        self.field("container.image.digest")
    }

    /// The image reference (`repository:tag`), when the alert carries it.
    pub fn image_ref(&self) -> Option<String> {
        if let Some(i) = self.field("container.image") {
            return Some(i.to_owned());
        }
        let repo = self.field("container.image.repository")?;
        Some(match self.field("container.image.tag") {
            Some(tag) => format!("{repo}:{tag}"),
            None => repo.to_owned(),
        })
    }

    /// The key that makes a re-import count once.
    fn key(&self) -> String {
        let mut h = Sha256::new();
        let fields;
        let text = match &self.output {
            Some(o) => o.as_str(),
            None => {
                fields = serde_json::Value::Object(self.output_fields.clone()).to_string();
                fields.as_str()
            }
        };
        for part in [self.hostname.as_str(), &self.time, &self.rule, text] {
            h.update(part.as_bytes());
            h.update([0u8]);
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// What an import of alerts added.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Imported {
    /// the run of the import
    pub run: i64,
    /// alerts recorded
    pub alerts: u64,
    /// of them, runtime drift
    pub drift: u64,
    /// alerts already in the store, skipped
    pub duplicates: u64,
}

/// Whether `text` looks like the monitor's alerts: its first line is a JSON object with a time,
/// a rule, a priority and output fields.
pub fn looks_like_alert_log(text: &str) -> bool {
    crate::first_json_line(text).is_some_and(|v| {
        ["time", "rule", "priority"]
            .iter()
            .all(|k| v.get(k).is_some_and(serde_json::Value::is_string))
            && v.get("output_fields")
                .is_some_and(serde_json::Value::is_object)
    })
}

/// Records the alerts of a log (`origin` names it in errors) in one transaction, as reported
/// at `recorded_at` (ms since the epoch: now, for an import).
pub fn record_alerts(
    store: &mut Store,
    text: &str,
    origin: &str,
    cluster: Option<&str>,
    recorded_at: i64,
) -> Result<Imported, HistoryError> {
    let mut parsed = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let err = |message: String| HistoryError::Report {
            origin: format!("{origin}:{}", i + 1),
            message,
        };
        let a: Alert =
            serde_json::from_str(line).map_err(|e| err(format!("not a monitor alert: {e}")))?;
        let at: jiff::Timestamp = a
            .time
            .parse()
            .map_err(|e| err(format!("time {:?}: {e}", a.time)))?;
        let priority = PRIORITIES
            .iter()
            .find(|p| p.eq_ignore_ascii_case(&a.priority))
            .or_else(|| {
                a.priority
                    .eq_ignore_ascii_case("info")
                    .then_some(&"Informational")
            })
            .ok_or_else(|| err(format!("unknown priority {:?}", a.priority)))?;
        if a.rule.trim().is_empty() {
            return Err(err("an alert without a rule".to_owned()));
        }
        parsed.push((
            at.as_millisecond(),
            *priority,
            a,
            line.replace('\0', "\u{FFFD}"),
        ));
    }
    let clean = |s: &str| s.replace('\0', "\u{FFFD}");
    store.write(|tx| {
        let first = parsed.iter().map(|p| p.0).min().unwrap_or(recorded_at);
        let run = crate::event_run(tx, "alert", first, recorded_at, cluster, "monitor", origin)?;
        let mut out = Imported {
            run,
            ..Imported::default()
        };
        for (at, priority, a, line) in &parsed {
            let drift = is_drift(&a.rule, &a.tags);
            let n = tx.exec(
                "INSERT INTO events (run_id, at, kind, subject_id, data, key, image, image_ref, container, rule, priority, drift, reported_at)
                 VALUES ($1, $2, 'alert', NULL, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                 ON CONFLICT (kind, key) DO NOTHING",
                &[
                    run.into(),
                    (*at).into(),
                    line.as_str().into(),
                    Val::from(a.key()),
                    a.image_digest().map(clean).into(),
                    a.image_ref().as_deref().map(clean).into(),
                    a.container().map(clean).into(),
                    clean(&a.rule).into(),
                    (*priority).into(),
                    i64::from(drift).into(),
                    recorded_at.into(),
                ],
            )?;
            if n == 1 {
                out.alerts += 1;
                out.drift += u64::from(drift);
            } else {
                out.duplicates += 1;
            }
        }
        Ok(out)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drift_rules_are_the_image_and_intent_ones() {
        let none: Vec<String> = Vec::new();
        assert!(is_drift(MONITOR_DRIFT_RULE, &none));
        assert!(is_drift("Drop and execute new binary in container", &none));
        assert!(is_drift("web: executable outside the intent", &none));
        assert!(is_drift(
            "web: write outside the intent's writable paths",
            &none
        ));
        assert!(!is_drift("web: read of a path the intent forbids", &none));
        assert!(!is_drift("web: connection outside the intent", &none));
        assert!(!is_drift("Terminal shell in container", &none));
        assert!(is_drift("Custom", &["drift".to_owned()]));
    }
}
