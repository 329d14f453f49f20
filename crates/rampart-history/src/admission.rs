//! Recording admission decisions: the webhook's audit log (JSON lines, one
//! `rampart_admission::audit::AuditRecord` per request), imported into `events` of kind
//! `admission`, each keyed by its request uid and endpoint so a log imported twice counts
//! once. A file is one transaction: a line that is not a decision (a truncated last line, a
//! foreign file) is an error naming the file and line, and nothing of that file is written.

use serde::Deserialize;

use crate::sql::Val;
use crate::{HistoryError, Store};

/// One decision as the audit log writes it (the fields the metrics read; the whole line is
/// stored).
#[derive(Debug, Deserialize)]
pub struct Decision {
    /// RFC 3339
    pub time: String,
    /// the request uid
    pub uid: String,
    /// `validate` or `mutate`
    pub endpoint: String,
    /// the object's kind
    pub kind: String,
    /// its namespace
    pub namespace: String,
    /// its name
    pub name: String,
    /// CREATE, UPDATE...
    #[serde(default)]
    pub operation: String,
    /// a dry run changes nothing and is not counted (the audit log writes `dryRun`)
    #[serde(default, alias = "dryRun")]
    pub dry_run: bool,
    /// the verdict
    pub allowed: bool,
    /// each gate's outcome
    pub gates: Vec<GateOutcome>,
    /// the image references of the pod's containers (absent in logs of rampart before the
    /// history recorded rescans)
    #[serde(default)]
    pub images: Vec<String>,
}

impl Decision {
    /// A workload let in: the validating endpoint's decision that allowed it (dry runs change
    /// nothing and are left out).
    pub fn admitted(&self) -> bool {
        self.endpoint == "validate" && !self.dry_run && self.allowed
    }

    /// Whether `gate` passed it in enforce mode.
    pub fn passed(&self, gate: &str) -> bool {
        self.gates
            .iter()
            .any(|g| g.gate == gate && g.outcome == "allow" && g.mode.as_deref() == Some("enforce"))
    }

    /// Covered: every gate ran in enforce mode and passed it.
    pub fn covered(&self) -> bool {
        !self.gates.is_empty()
            && self
                .gates
                .iter()
                .all(|g| g.outcome == "allow" && g.mode.as_deref() == Some("enforce"))
    }

    /// Whether the vulnerabilities gate looked at it.
    pub fn scanned(&self) -> bool {
        self.gates.iter().any(|g| g.gate == "vulnerabilities")
    }

    /// An escape: the vulnerabilities gate found a vulnerability at or above its threshold and
    /// only warned or audited, so the workload was let in anyway.
    pub fn escaped(&self) -> bool {
        self.gates
            .iter()
            .any(|g| g.gate == "vulnerabilities" && matches!(g.outcome.as_str(), "warn" | "audit"))
    }
}

/// A gate's outcome in a decision.
#[derive(Debug, Deserialize)]
pub struct GateOutcome {
    /// the gate
    pub gate: String,
    /// `allow`, `deny`, `warn`, `audit`, `exempt`, `error`
    pub outcome: String,
    /// `enforce`, `warn`, `audit` (absent in logs of rampart before 0.1.0's history)
    #[serde(default)]
    pub mode: Option<String>,
}

/// What an import added.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Imported {
    /// the run of the import
    pub run: i64,
    /// decisions recorded
    pub decisions: u64,
    /// decisions already in the store (the same uid and endpoint), skipped
    pub duplicates: u64,
}

/// Whether `text` looks like an admission audit log: its first line is a JSON object with a
/// request uid and gates.
pub fn looks_like_audit_log(text: &str) -> bool {
    crate::first_json_line(text).is_some_and(|v| v.get("uid").is_some() && v.get("gates").is_some())
}

/// Records the decisions of an audit log (`origin` names it in errors), in one transaction.
pub fn record_audit_log(
    store: &mut Store,
    text: &str,
    origin: &str,
    cluster: Option<&str>,
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
        let d: Decision = serde_json::from_str(line)
            .map_err(|e| err(format!("not an admission decision: {e}")))?;
        let at: jiff::Timestamp = d
            .time
            .parse()
            .map_err(|e| err(format!("time {:?}: {e}", d.time)))?;
        parsed.push((at.as_millisecond(), d, line.replace('\0', "\u{FFFD}")));
    }
    let now = crate::now_ms();
    store.write(|tx| {
        let first = parsed.iter().map(|p| p.0).min().unwrap_or(now);
        let run = crate::event_run(tx, "admission", first, now, cluster, "admission", origin)?;
        let mut out = Imported {
            run,
            ..Imported::default()
        };
        for (at, d, line) in &parsed {
            let key = format!("{}/{}/{}", cluster.unwrap_or(""), d.endpoint, d.uid);
            let n = tx.exec(
                "INSERT INTO events (run_id, at, kind, subject_id, data, key) VALUES ($1, $2, 'admission', NULL, $3, $4)
                 ON CONFLICT (kind, key) DO NOTHING",
                &[run.into(), (*at).into(), line.as_str().into(), Val::from(key)],
            )?;
            if n == 1 {
                out.decisions += 1;
            } else {
                out.duplicates += 1;
            }
        }
        Ok(out)
    })
}
