//! The work queue in `fleet_jobs`: enqueue (idempotent per reference), claim (`FOR UPDATE SKIP
//! LOCKED`, under the per-registry bound), heartbeat, finish, fail with backoff, status.
//!
//! Claims are serialised by a transaction-level advisory lock so the per-registry count a claim
//! reads is the count when it commits: the bound holds across every worker process, whatever
//! their number. A claim is one short transaction; the analysis runs outside any transaction.

use std::time::Duration;

use postgres::GenericClient;
use serde::Serialize;

use rampart_registry::Secret;

use crate::FleetError;
use crate::store::{Prepared, Store};

/// The advisory lock every claim takes for its (short) transaction.
const CLAIM_LOCK: i64 = 0x666c_6565_7400_0002;

/// Jobs inserted per statement.
const ENQUEUE_BATCH: usize = 5_000;

/// An image reference to enqueue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    /// The normalised reference (`registry/repository:tag` or `...@sha256:...`).
    pub reference: String,
    /// Its registry as written in references (`127.0.0.1:5000`, `docker.io`).
    pub registry: String,
}

/// What an enqueue did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Enqueued {
    /// new jobs
    pub added: usize,
    /// references that already had a pending (queued or running) job
    pub pending: usize,
}

/// How a job's image is pulled when the job itself says (a Harbor scan request names its
/// registry's URL and hands over a credential): that credential only, over that scheme. A job
/// without one is pulled with the worker's own registry options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    /// the `Authorization` value to pull with (`Basic ...` or `Bearer ...`; none: anonymous);
    /// never printed, cleared from the store when the job ends
    pub authorization: Option<Secret>,
    /// plain HTTP (an `http://` registry URL) rather than HTTPS
    pub plain_http: bool,
}

/// A claimed job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// its id
    pub id: i64,
    /// the reference to analyse
    pub reference: String,
    /// its registry
    pub registry: String,
    /// this attempt's number (1 for the first)
    pub attempt: i32,
    /// attempts allowed before the job fails for good
    pub max_attempts: i32,
    /// the job's own registry access (`None`: the worker's)
    pub access: Option<Access>,
}

/// How a worker claims.
#[derive(Debug, Clone, Copy)]
pub struct ClaimRules {
    /// jobs running at once against one registry, across all workers
    pub per_registry: i64,
    /// a running job whose last heartbeat is older than this is lost (its worker died) and
    /// may be claimed again
    pub lease: Duration,
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// Adds jobs for `jobs` (from `source`: `cli`, `catalog`, `cluster`, `harbor`); a reference
/// with a pending job is not added twice.
pub fn enqueue(
    store: &mut Store,
    jobs: &[NewJob],
    source: &str,
    max_attempts: i32,
) -> Result<Enqueued, FleetError> {
    let mut out = Enqueued::default();
    for chunk in jobs.chunks(ENQUEUE_BATCH) {
        let refs: Vec<&str> = chunk.iter().map(|j| j.reference.as_str()).collect();
        let regs: Vec<&str> = chunk.iter().map(|j| j.registry.as_str()).collect();
        let added = store.with(|c| {
            c.execute(
                "INSERT INTO fleet_jobs (reference, registry, source, max_attempts) \
                 SELECT r, g, $3, $4 FROM unnest($1::text[], $2::text[]) AS t(r, g) \
                 ON CONFLICT (reference) WHERE state IN ('queued', 'running') DO NOTHING",
                &[&refs, &regs, &source, &max_attempts],
            )
        })?;
        let added = usize::try_from(added).unwrap_or(usize::MAX);
        out.added += added;
        out.pending += chunk.len().saturating_sub(added);
    }
    Ok(out)
}

/// Claims the next job this worker may run, or `None`. Jobs whose worker was lost and that
/// have no attempt left are failed first, with the reason.
pub fn claim(
    store: &mut Store,
    worker: &str,
    rules: ClaimRules,
) -> Result<Option<Job>, FleetError> {
    let lease = secs(rules.lease);
    store.with_prepared(|c, p| {
        let mut tx = c.transaction()?;
        p.execute(&mut tx, "SELECT pg_advisory_xact_lock($1)", &[&CLAIM_LOCK])?;
        p.execute(
            &mut tx,
            "UPDATE fleet_jobs SET state = 'failed', finished_at = now(), \
               error = 'the worker ' || coalesce(worker, '?') || ' was lost (no heartbeat for ' \
                 || $1::text || ' s) on attempt ' || attempts || ' of ' || max_attempts, \
               worker = NULL, registry_auth = NULL \
             WHERE state = 'running' AND heartbeat_at < now() - make_interval(secs => $1) \
               AND attempts >= max_attempts",
            &[&lease],
        )?;
        // the registries at their bound are found first; then the oldest job of another
        // registry: a job of a lost worker (its heartbeat older than the lease), else a queued
        // one, each walking its partial index in order and stopping at the first row free
        // to take (a claim costs the same with ten jobs queued or a hundred thousand)
        let taken = p.query_opt(
            &mut tx,
            "UPDATE fleet_jobs SET state = 'running', worker = $3, heartbeat_at = now(), \
               started_at = now(), attempts = attempts + 1 \
             WHERE id = ( \
               WITH busy AS ( \
                 SELECT registry FROM fleet_jobs \
                 WHERE state = 'running' AND heartbeat_at >= now() - make_interval(secs => $1) \
                 GROUP BY registry HAVING count(*) >= $2) \
               SELECT coalesce( \
                 (SELECT j.id FROM fleet_jobs j \
                  WHERE j.state = 'running' \
                    AND j.heartbeat_at < now() - make_interval(secs => $1) \
                    AND j.registry NOT IN (SELECT registry FROM busy) \
                  ORDER BY j.not_before, j.id LIMIT 1 FOR UPDATE OF j SKIP LOCKED), \
                 (SELECT j.id FROM fleet_jobs j \
                  WHERE j.state = 'queued' AND j.not_before <= now() \
                    AND j.registry NOT IN (SELECT registry FROM busy) \
                  ORDER BY j.not_before, j.id LIMIT 1 FOR UPDATE OF j SKIP LOCKED))) \
             RETURNING id, reference, registry, attempts, max_attempts, registry_auth, plain_http",
            &[&lease, &rules.per_registry, &worker],
        )?;
        let Some(job) = taken else {
            tx.commit()?;
            return Ok(None);
        };
        tx.commit()?;
        let plain_http: Option<bool> = job.get(6);
        Ok(Some(Job {
            id: job.get(0),
            reference: job.get(1),
            registry: job.get(2),
            attempt: job.get(3),
            max_attempts: job.get(4),
            access: plain_http.map(|plain_http| Access {
                authorization: job.get::<_, Option<String>>(5).map(Secret::new),
                plain_http,
            }),
        }))
    })
}

/// Keeps this worker's running jobs `ids` alive; returns how many rows it refreshed (a job
/// taken over by another worker after a lost lease is not refreshed).
pub fn heartbeat(store: &mut Store, worker: &str, ids: &[i64]) -> Result<u64, FleetError> {
    if ids.is_empty() {
        return Ok(0);
    }
    store.with(|c| {
        c.execute(
            "UPDATE fleet_jobs SET heartbeat_at = now() \
             WHERE worker = $1 AND state = 'running' AND id = ANY($2)",
            &[&worker, &ids],
        )
    })
}

/// Marks the job done inside `tx` (with what it wrote); `false` when this worker no longer
/// holds it (its lease was lost and another worker took it): the caller rolls back.
pub(crate) fn finish_in(
    tx: &mut impl GenericClient,
    p: &mut Prepared,
    job: &Job,
    worker: &str,
    digest: &str,
    outcome: &str,
) -> Result<bool, postgres::Error> {
    let n = p.execute(
        tx,
        "UPDATE fleet_jobs SET state = 'done', digest = $3, outcome = $4, error = NULL, \
           finished_at = now(), registry_auth = NULL \
         WHERE id = $1 AND worker = $2 AND state = 'running'",
        &[&job.id, &worker, &digest, &outcome],
    )?;
    Ok(n == 1)
}

/// The pause before attempt `attempt + 1`: `base` doubled per attempt, at most 10 minutes.
pub fn backoff(base: Duration, attempt: i32) -> Duration {
    let exp = u32::try_from(attempt.saturating_sub(1))
        .unwrap_or(0)
        .min(16);
    base.saturating_mul(1 << exp).min(Duration::from_secs(600))
}

/// Records a failed attempt: the job is queued again after [`backoff`], or failed for good
/// with `reason` when it has no attempt left. `false` when this worker no longer held it.
pub fn fail(
    store: &mut Store,
    job: &Job,
    worker: &str,
    reason: &str,
    base: Duration,
) -> Result<bool, FleetError> {
    let pause = secs(backoff(base, job.attempt));
    let n = store.with(|c| {
        c.execute(
            "UPDATE fleet_jobs SET \
               state = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'queued' END, \
               finished_at = CASE WHEN attempts >= max_attempts THEN now() END, \
               not_before = now() + make_interval(secs => $4), \
               registry_auth = CASE WHEN attempts >= max_attempts THEN NULL ELSE registry_auth END, \
               error = $3, worker = NULL, heartbeat_at = NULL \
             WHERE id = $1 AND worker = $2 AND state = 'running'",
            &[&job.id, &worker, &reason, &pause],
        )
    })?;
    Ok(n == 1)
}

/// Puts a job back without counting the attempt (another worker is analysing the same digest,
/// or this worker is stopping), to be claimed after `after`.
pub fn release(
    store: &mut Store,
    job: &Job,
    worker: &str,
    after: Duration,
) -> Result<bool, FleetError> {
    let after = secs(after);
    let n = store.with(|c| {
        c.execute(
            "UPDATE fleet_jobs SET state = 'queued', attempts = attempts - 1, worker = NULL, \
               heartbeat_at = NULL, not_before = now() + make_interval(secs => $3) \
             WHERE id = $1 AND worker = $2 AND state = 'running'",
            &[&job.id, &worker, &after],
        )
    })?;
    Ok(n == 1)
}

/// Jobs by state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Status {
    pub queued: i64,
    pub running: i64,
    pub done: i64,
    pub failed: i64,
    /// analysed images (distinct digests)
    pub images: i64,
    /// running jobs per registry
    pub running_by_registry: Vec<(String, i64)>,
    /// the failed jobs: reference, attempts, reason (the latest first, at most 100)
    pub failures: Vec<Failure>,
}

/// A failed job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    pub id: i64,
    pub reference: String,
    pub attempts: i32,
    pub error: String,
}

/// The queue's state.
pub fn status(store: &mut Store) -> Result<Status, FleetError> {
    store.with(|c| {
        let mut s = Status::default();
        for row in c.query("SELECT state, count(*) FROM fleet_jobs GROUP BY state", &[])? {
            let state: String = row.get(0);
            let n: i64 = row.get(1);
            match state.as_str() {
                "queued" => s.queued = n,
                "running" => s.running = n,
                "done" => s.done = n,
                _ => s.failed = n,
            }
        }
        s.images = c
            .query_one("SELECT count(*) FROM fleet_images", &[])?
            .get(0);
        s.running_by_registry = c
            .query(
                "SELECT registry, count(*) FROM fleet_jobs WHERE state = 'running' \
                 GROUP BY registry ORDER BY registry",
                &[],
            )?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        s.failures = c
            .query(
                "SELECT id, reference, attempts, coalesce(error, '') FROM fleet_jobs \
                 WHERE state = 'failed' ORDER BY finished_at DESC, id DESC LIMIT 100",
                &[],
            )?
            .iter()
            .map(|r| Failure {
                id: r.get(0),
                reference: r.get(1),
                attempts: r.get(2),
                error: r.get(3),
            })
            .collect();
        Ok(s)
    })
}

/// Whether any job is queued or running (a worker with `--exit-when-idle` stops when none is).
pub fn pending(store: &mut Store) -> Result<i64, FleetError> {
    store.with(|c| {
        c.query_one(
            "SELECT count(*) FROM fleet_jobs WHERE state IN ('queued', 'running')",
            &[],
        )
        .map(|r| r.get(0))
    })
}
