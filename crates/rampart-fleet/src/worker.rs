//! `rampart fleet worker`: threads that claim jobs, analyse images and write the results, a
//! heartbeat thread that keeps the claimed jobs alive, and the rules that make the fleet safe:
//!
//! - at most `concurrency` jobs at once in this worker, at most `per_registry` at once against
//!   one registry across the fleet (the claim checks it under a lock);
//! - the same digest is never analysed by two workers at once: a session advisory lock keyed by
//!   the digest is held while it is analysed (released by PostgreSQL if the worker dies);
//!   a digest already analysed by this analysis version is not analysed again;
//! - results and the job's end are one transaction, written only while this worker still holds
//!   the job: a worker that lost its lease (killed, paused, cut off) writes nothing;
//! - a failed attempt is retried after a backoff; after its attempts the job fails with the
//!   reason; a job whose worker vanished is claimed again when its lease runs out.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::FleetError;
use crate::inventory::{self, Analysis};
use crate::queue::{self, Access, ClaimRules, Job};
use crate::store::Store;

/// What analyses images: the registry-backed one is [`crate::analyse::RegistryAnalyser`].
pub trait Analyser: Sync {
    /// The analysis version: an image analysed by another version is analysed again.
    fn version(&self) -> String;
    /// The manifest digest `reference` names now (a cheap request: no layer is read).
    fn resolve(&self, reference: &str) -> Result<String, String>;
    /// Analyses the image `reference` at `digest`.
    fn analyse(&self, reference: &str, digest: &str) -> Result<Analysis, String>;
    /// [`Analyser::resolve`] for a job that carries its own registry access (a Harbor scan
    /// request's credential and scheme). An analyser that cannot pull with it refuses the job:
    /// it never falls back to credentials of its own.
    fn resolve_with(&self, reference: &str, access: &Access) -> Result<String, String> {
        let _ = access;
        Err(format!(
            "{reference}: this worker cannot pull with the job's own registry credential"
        ))
    }
    /// [`Analyser::analyse`] with the job's own registry access (see [`Analyser::resolve_with`]).
    fn analyse_with(
        &self,
        reference: &str,
        digest: &str,
        access: &Access,
    ) -> Result<Analysis, String> {
        let _ = (digest, access);
        Err(format!(
            "{reference}: this worker cannot pull with the job's own registry credential"
        ))
    }
}

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// this worker's name in the queue (host, process, a random part)
    pub id: String,
    /// jobs at once in this worker
    pub concurrency: usize,
    /// jobs at once against one registry, across the fleet
    pub per_registry: i64,
    /// a job whose heartbeat is older than this is lost; heartbeats are sent every third of it
    pub lease: Duration,
    /// the pause between looks at an empty queue
    pub poll: Duration,
    /// the first retry's pause (doubled per attempt)
    pub backoff: Duration,
    /// stop when no job is queued or running anywhere
    pub exit_when_idle: bool,
    /// how long to wait for another worker analysing the same digest before the attempt fails
    pub digest_wait: Duration,
    /// record each analysed image's report as a scan run in this history store (a path or
    /// a postgres:// URL; docs/history.md), so metrics and the dashboard see the fleet
    pub history: Option<String>,
}

impl WorkerOptions {
    /// Defaults: 2 jobs at once, 4 per registry, a 60 s lease, 1 s polls, 5 s first backoff.
    pub fn new(id: String) -> Self {
        Self {
            id,
            concurrency: 2,
            per_registry: 4,
            lease: Duration::from_secs(60),
            poll: Duration::from_secs(1),
            backoff: Duration::from_secs(5),
            exit_when_idle: false,
            digest_wait: Duration::from_secs(600),
            history: None,
        }
    }
}

/// A worker name: host, process id and a random part.
pub fn default_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| String::from("worker"));
    let mut rnd = [0u8; 4];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        use std::io::Read;
        let _ = f.read_exact(&mut rnd);
    }
    format!(
        "{host}/{}/{:08x}",
        std::process::id(),
        u32::from_le_bytes(rnd)
    )
}

/// What a worker did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WorkerStats {
    /// images analysed and written
    pub analysed: usize,
    /// jobs done without analysis (the digest was analysed already)
    pub cached: usize,
    /// attempts that failed (retried or failed for good)
    pub failed_attempts: usize,
    /// jobs this worker lost to another (its lease ran out)
    pub lost: usize,
    /// analysed images whose report could not be recorded in the history store
    pub unrecorded: usize,
}

#[derive(Default)]
struct Counters {
    analysed: AtomicUsize,
    cached: AtomicUsize,
    failed: AtomicUsize,
    lost: AtomicUsize,
    unrecorded: AtomicUsize,
}

/// An advisory-lock key for a digest: 64 bits of FNV-1a over its text (a sha256 digest is
/// already uniform; the fold keeps any digest text apart from another).
fn digest_key(digest: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in digest.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    i64::from_ne_bytes(h.to_ne_bytes())
}

/// Runs a worker until `stop` is set (SIGTERM), or, with `exit_when_idle`, until the queue has
/// nothing queued or running. Jobs in flight when it stops are finished first.
pub fn run(
    url: &str,
    opts: &WorkerOptions,
    analyser: &dyn Analyser,
    stop: &AtomicBool,
) -> Result<WorkerStats, FleetError> {
    let base = Store::open(url)?;
    let in_flight: Mutex<BTreeSet<i64>> = Mutex::new(BTreeSet::new());
    let counters = Counters::default();
    let done = AtomicBool::new(false);
    let threads = opts.concurrency.max(1);
    let result: Result<(), FleetError> = std::thread::scope(|scope| {
        let mut hb_store = base.another()?;
        let (in_flight_hb, done_hb) = (&in_flight, &done);
        let heartbeat = scope.spawn(move || {
            let every = (opts.lease / 3).max(Duration::from_millis(100));
            let mut last = Instant::now();
            while !done_hb.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(50));
                if last.elapsed() < every {
                    continue;
                }
                last = Instant::now();
                let ids: Vec<i64> = in_flight_hb
                    .lock()
                    .map(|s| s.iter().copied().collect())
                    .unwrap_or_default();
                if let Err(e) = queue::heartbeat(&mut hb_store, &opts.id, &ids) {
                    tracing::warn!(error = %e, "heartbeat failed");
                }
            }
        });
        let mut handles = Vec::new();
        for n in 0..threads {
            let mut store = base.another()?;
            let (in_flight, counters) = (&in_flight, &counters);
            handles.push(scope.spawn(move || -> Result<(), FleetError> {
                work(&mut store, opts, analyser, stop, in_flight, counters, n)
            }));
        }
        let mut first_err = None;
        for h in handles {
            match h.join() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    first_err.get_or_insert(e);
                }
                Err(_) => {
                    first_err.get_or_insert(FleetError::Worker(String::from(
                        "a worker thread panicked",
                    )));
                }
            }
        }
        done.store(true, Ordering::Relaxed);
        let _ = heartbeat.join();
        first_err.map_or(Ok(()), Err)
    });
    result?;
    Ok(WorkerStats {
        analysed: counters.analysed.load(Ordering::Relaxed),
        cached: counters.cached.load(Ordering::Relaxed),
        failed_attempts: counters.failed.load(Ordering::Relaxed),
        lost: counters.lost.load(Ordering::Relaxed),
        unrecorded: counters.unrecorded.load(Ordering::Relaxed),
    })
}

/// One worker thread's loop.
fn work(
    store: &mut Store,
    opts: &WorkerOptions,
    analyser: &dyn Analyser,
    stop: &AtomicBool,
    in_flight: &Mutex<BTreeSet<i64>>,
    counters: &Counters,
    thread: usize,
) -> Result<(), FleetError> {
    let rules = ClaimRules {
        per_registry: opts.per_registry,
        lease: opts.lease,
    };
    let mut history: Option<rampart_history::Store> = None;
    // a store that stays unreachable for longer than this stops the worker with its error
    let give_up = opts.lease.max(Duration::from_secs(60)) * 5;
    let mut unreachable_since: Option<Instant> = None;
    while !stop.load(Ordering::Relaxed) {
        let claimed = match queue::claim(store, &opts.id, rules) {
            Ok(c) => {
                unreachable_since = None;
                c
            }
            Err(e) => {
                let since = *unreachable_since.get_or_insert_with(Instant::now);
                if since.elapsed() > give_up {
                    return Err(e);
                }
                tracing::warn!(error = %e, "claim failed; trying again");
                std::thread::sleep(opts.poll);
                continue;
            }
        };
        let Some(job) = claimed else {
            if opts.exit_when_idle && queue::pending(store).unwrap_or(1) == 0 {
                return Ok(());
            }
            // spread the looks of the threads over the poll interval
            let jitter = opts.poll / u32::try_from(thread + 2).unwrap_or(2);
            std::thread::sleep(opts.poll + jitter);
            continue;
        };
        if let Ok(mut s) = in_flight.lock() {
            s.insert(job.id);
        }
        tracing::info!(job = job.id, reference = %job.reference, attempt = job.attempt, "claimed");
        let outcome = run_job(store, opts, analyser, &job);
        if let Ok(mut s) = in_flight.lock() {
            s.remove(&job.id);
        }
        match outcome {
            Ok(Outcome::Analysed(analysis)) => {
                counters.analysed.fetch_add(1, Ordering::Relaxed);
                if let Some(location) = &opts.history
                    && let Err(e) = record_history(&mut history, location, &analysis)
                {
                    counters.unrecorded.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(reference = %job.reference, error = %e,
                        "the analysis was stored in the fleet but not recorded in the history");
                }
            }
            Ok(Outcome::Cached) => {
                counters.cached.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Outcome::Lost) => {
                counters.lost.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Outcome::Busy) => {}
            Err(reason) => {
                counters.failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(job = job.id, reference = %job.reference, %reason, "attempt failed");
                match queue::fail(store, &job, &opts.id, &reason, opts.backoff) {
                    Ok(true) => {}
                    Ok(false) => {
                        counters.lost.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => tracing::warn!(error = %e, "recording the failure failed"),
                }
            }
        }
    }
    Ok(())
}

/// Records an analysed image's report as a scan run of its repository (the history store is
/// opened on first use and kept).
fn record_history(
    history: &mut Option<rampart_history::Store>,
    location: &str,
    analysis: &Analysis,
) -> Result<(), String> {
    let report: serde_json::Value =
        serde_json::from_str(&analysis.report).map_err(|e| e.to_string())?;
    let repository = analysis
        .name
        .split_once('@')
        .map_or(analysis.name.as_str(), |(r, _)| r);
    let source = rampart_history::scan::Source {
        scope: repository.to_owned(),
        image_digest: Some(analysis.digest.clone()),
        origin: Some(String::from("fleet")),
        ..Default::default()
    };
    // a store restarting (or a connection cut) is waited for, a while: the connection is
    // opened again and the run recorded (a run is one transaction: a failed try wrote nothing)
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut pause = Duration::from_millis(100);
    loop {
        let mut attempt = || -> Result<(), rampart_history::HistoryError> {
            if history.is_none() {
                *history = Some(rampart_history::Store::open(location)?);
            }
            match history.as_mut() {
                Some(store) => rampart_history::scan::record_scan(
                    store,
                    &report,
                    &source,
                    rampart_history::now_ms(),
                )
                .map(|_| ()),
                None => Ok(()),
            }
        };
        match attempt() {
            Ok(()) => return Ok(()),
            // what waiting cannot mend: a store that is not (or no longer) rampart's, a report
            // the store refuses
            Err(
                e @ (rampart_history::HistoryError::Foreign(_)
                | rampart_history::HistoryError::Newer { .. }
                | rampart_history::HistoryError::Report { .. }
                | rampart_history::HistoryError::Invalid(_)),
            ) => return Err(e.to_string()),
            Err(e) if Instant::now() >= deadline => return Err(e.to_string()),
            Err(_) => {
                *history = None;
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_secs(2));
            }
        }
    }
}

enum Outcome {
    Analysed(Box<Analysis>),
    Cached,
    Lost,
    /// another worker holds the digest: released to be tried later
    Busy,
}

/// One job: resolve, take the digest, analyse unless analysed, write with the job's end.
fn run_job(
    store: &mut Store,
    opts: &WorkerOptions,
    analyser: &dyn Analyser,
    job: &Job,
) -> Result<Outcome, String> {
    let digest = match &job.access {
        Some(a) => analyser.resolve_with(&job.reference, a)?,
        None => analyser.resolve(&job.reference)?,
    };
    let version = analyser.version();
    let key = digest_key(&digest);
    let started = Instant::now();
    loop {
        let got: bool = store
            .with_prepared(|c, p| {
                p.query_opt(c, "SELECT pg_try_advisory_lock($1)", &[&key])
                    .map(|r| r.is_some_and(|r| r.get(0)))
            })
            .map_err(|e| e.to_string())?;
        if got {
            break;
        }
        if started.elapsed() > opts.digest_wait {
            let _ = queue::release(store, job, &opts.id, opts.poll);
            return Ok(Outcome::Busy);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let result = analyse_locked(store, opts, analyser, job, &digest, &version);
    let _ = store.with_prepared(|c, p| p.execute(c, "SELECT pg_advisory_unlock($1)", &[&key]));
    result
}

fn analyse_locked(
    store: &mut Store,
    opts: &WorkerOptions,
    analyser: &dyn Analyser,
    job: &Job,
    digest: &str,
    version: &str,
) -> Result<Outcome, String> {
    if inventory::analysed(store, digest, version).map_err(|e| e.to_string())? {
        let kept = store
            .with_prepared(|c, p| {
                let mut tx = c.transaction()?;
                p.execute(&mut tx, inventory::SEEN, &[&job.reference, &digest])?;
                if queue::finish_in(&mut tx, p, job, &opts.id, digest, "cached")? {
                    tx.commit()?;
                    Ok(true)
                } else {
                    Ok(false)
                }
            })
            .map_err(|e| e.to_string())?;
        return Ok(if kept { Outcome::Cached } else { Outcome::Lost });
    }
    let analysis = match &job.access {
        Some(a) => analyser.analyse_with(&job.reference, digest, a)?,
        None => analyser.analyse(&job.reference, digest)?,
    };
    let known = store.known();
    let kept = store
        .with_prepared(|c, p| {
            let mut tx = c.transaction()?;
            inventory::record_in(&mut tx, p, &analysis, &known)?;
            if queue::finish_in(&mut tx, p, job, &opts.id, digest, "analysed")? {
                tx.commit()?;
                Ok(true)
            } else {
                // the lease was lost: another worker holds the job now; nothing is written
                Ok(false)
            }
        })
        .map_err(|e| format!("writing the result: {e}"))?;
    Ok(if kept {
        Outcome::Analysed(Box::new(analysis))
    } else {
        Outcome::Lost
    })
}

/// Shared handle for a stop flag set by a signal handler.
pub type StopFlag = Arc<AtomicBool>;
