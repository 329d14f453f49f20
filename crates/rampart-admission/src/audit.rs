//! The audit log: one JSON line per decision, written by a dedicated thread fed through a
//! bounded channel, so a slow disk never blocks a decision and memory stays bounded.

use std::fs::OpenOptions;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::thread::JoinHandle;

use serde::{Deserialize, Serialize};

use crate::review::GateOutcome;

/// Records waiting for the writer thread at most; beyond, records are dropped and counted.
pub const AUDIT_QUEUE: usize = 65_536;

/// Where audit lines go.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(from = "String")]
pub enum AuditTarget {
    /// Standard output (`"stdout"`), the container log: the default.
    #[default]
    Stdout,
    /// Nowhere (`"none"`).
    None,
    /// Appended to a file (any other string is a path).
    File(PathBuf),
}

impl From<String> for AuditTarget {
    fn from(s: String) -> Self {
        match s.as_str() {
            "stdout" | "-" => AuditTarget::Stdout,
            "none" => AuditTarget::None,
            _ => AuditTarget::File(PathBuf::from(s)),
        }
    }
}

/// One decision as written to the audit log.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord {
    /// When the answer was sent, RFC 3339.
    pub time: String,
    /// The request uid.
    pub uid: String,
    /// `validate` or `mutate`.
    pub endpoint: &'static str,
    /// The profile from the URL path, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// The kind of the object (`Pod`, `Deployment`...).
    pub kind: String,
    /// The namespace.
    pub namespace: String,
    /// The object's name.
    pub name: String,
    /// `CREATE`, `UPDATE`...
    pub operation: String,
    /// Who asked.
    pub username: String,
    /// Whether the request was a dry run.
    pub dry_run: bool,
    /// The verdict.
    pub allowed: bool,
    /// The gates' outcomes.
    pub gates: Vec<GateOutcome>,
    /// The image references of the pod's containers (init, regular and ephemeral, each once,
    /// as the object names them), for a pod or a pod template: what the history matches
    /// against the inventory's rescans (docs/metrics.md, escape rate found later). Absent for
    /// other objects and in logs of earlier versions.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<String>,
    /// Time from receiving the review to answering it, in microseconds.
    pub latency_us: u64,
    /// Set when the failure mode answered: `deadline`, `overload`, `panic` or `malformed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<&'static str>,
}

/// The image references of the containers of the pod (or pod template) in `request`'s object,
/// each once, in the order the pod lists them; empty for objects without one.
pub fn images_of(request: &crate::review::AdmissionRequest) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if let crate::workload::Extracted::Pod(pod) =
        crate::workload::extract(&request.kind.group, &request.kind.kind, &request.object)
    {
        for c in pod.containers() {
            if let Some(image) = c.image
                && !out.iter().any(|i| i == image)
            {
                out.push(image.to_owned());
            }
        }
    }
    out
}

/// Errors opening the audit log.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The log file could not be opened for appending.
    #[error("cannot open audit log {path}: {source}")]
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The writer thread could not be started.
    #[error("cannot start the audit writer thread: {0}")]
    Thread(std::io::Error),
}

/// The sending side of the audit log. Dropping it (or [`AuditLog::close`]) flushes every
/// queued line.
#[derive(Debug)]
pub struct AuditLog {
    sender: Option<SyncSender<AuditRecord>>,
    writer: Option<JoinHandle<()>>,
}

impl AuditLog {
    /// Opens the target and starts the writer thread.
    pub fn start(target: &AuditTarget) -> Result<AuditLog, AuditError> {
        let out: Box<dyn Write + Send> = match target {
            AuditTarget::None => {
                return Ok(AuditLog {
                    sender: None,
                    writer: None,
                });
            }
            AuditTarget::Stdout => Box::new(std::io::stdout()),
            AuditTarget::File(path) => Box::new(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|source| AuditError::Open {
                        path: path.clone(),
                        source,
                    })?,
            ),
        };
        let (sender, receiver) = mpsc::sync_channel(AUDIT_QUEUE);
        let writer = std::thread::Builder::new()
            .name("rampart-audit".to_owned())
            .spawn(move || write_loop(receiver, out))
            .map_err(AuditError::Thread)?;
        Ok(AuditLog {
            sender: Some(sender),
            writer: Some(writer),
        })
    }

    /// Queues one record without blocking; returns false when it was dropped (queue full or
    /// writer gone). Nothing is queued for [`AuditTarget::None`], which counts as written.
    pub fn record(&self, record: AuditRecord) -> bool {
        match &self.sender {
            None => true,
            Some(sender) => match sender.try_send(record) {
                Ok(()) => true,
                Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => false,
            },
        }
    }

    /// Stops accepting records, writes and flushes every queued one, and waits for the writer.
    pub fn close(mut self) {
        self.finish();
    }

    fn finish(&mut self) {
        self.sender = None;
        if let Some(writer) = self.writer.take() {
            // A panicking writer has nothing left to flush; there is nobody to report it to.
            let _ = writer.join();
        }
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        self.finish();
    }
}

fn write_loop(receiver: Receiver<AuditRecord>, out: Box<dyn Write + Send>) {
    let mut out = BufWriter::new(out);
    let mut failed = false;
    // Block for one record, then drain what is queued, then flush: lines reach the file in
    // batches under load and immediately when idle.
    while let Ok(first) = receiver.recv() {
        let mut next = Some(first);
        while let Some(record) = next {
            if let Err(e) = write_record(&mut out, &record) {
                report(&mut failed, &e);
            }
            next = receiver.try_recv().ok();
        }
        if let Err(e) = out.flush() {
            report(&mut failed, &e);
        }
    }
    if let Err(e) = out.flush() {
        report(&mut failed, &e);
    }
}

fn write_record(out: &mut impl Write, record: &AuditRecord) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, record)?;
    out.write_all(b"\n")
}

/// The audit writer has no caller to return an error to: it reports the first failure on
/// standard error, once, and keeps trying.
fn report(failed: &mut bool, e: &std::io::Error) {
    if !*failed {
        *failed = true;
        eprintln!("rampart-admission: error: cannot write the audit log: {e}");
    }
}
