//! The queue's rules against a real PostgreSQL server (one cluster for this binary, a database
//! per test): enqueue is idempotent per reference, the per-registry bound holds across workers,
//! a digest is never analysed twice at once nor twice at all, failed attempts are retried with
//! backoff and fail for good with the reason, a lost job is claimed again; package ids a worker
//! remembers are forgotten when its connection is lost (the database may have been restored).
//!
//! The analyser here is the worker's seam with a recorder in it: it measures what the queue
//! lets happen (how many analyses run at once, per registry and per digest), which is what is
//! under test; the registry-backed analyser is tested end to end in crates/rampart/tests/fleet.rs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::AtomicBool;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use rampart_fleet::inventory::Analysis;
use rampart_fleet::queue::{self, ClaimRules, NewJob};
use rampart_fleet::worker::{self, Analyser, WorkerOptions};
use rampart_fleet::{FleetError, Store};
use rampart_testkit::postgres::Postgres;

fn server() -> &'static Postgres {
    static PG: OnceLock<Postgres> = OnceLock::new();
    PG.get_or_init(Postgres::start)
}

fn job(r: &str) -> NewJob {
    rampart_fleet::sources::job(r).unwrap()
}

/// Records what runs at once.
#[derive(Default)]
struct Recorder {
    /// registry → running now, most at once
    registries: Mutex<HashMap<String, (usize, usize)>>,
    /// digest → running now, most at once, analyses
    digests: Mutex<HashMap<String, (usize, usize, usize)>>,
    /// reference → attempts seen
    attempts: Mutex<BTreeMap<String, usize>>,
}

struct TestAnalyser {
    rec: Recorder,
    /// reference → digest (default: one digest per reference)
    digests: HashMap<String, String>,
    /// reference → attempts that fail before one succeeds (usize::MAX: always)
    failures: HashMap<String, usize>,
    pause: Duration,
}

impl TestAnalyser {
    fn new(pause: Duration) -> Self {
        Self {
            rec: Recorder::default(),
            digests: HashMap::new(),
            failures: HashMap::new(),
            pause,
        }
    }
}

fn registry_of(reference: &str) -> String {
    reference.split('/').next().unwrap().to_owned()
}

impl Analyser for TestAnalyser {
    fn version(&self) -> String {
        String::from("test 1")
    }

    fn resolve(&self, reference: &str) -> Result<String, String> {
        Ok(self.digests.get(reference).cloned().unwrap_or_else(|| {
            let mut h = 0u64;
            for b in reference.bytes() {
                h = h.wrapping_mul(31).wrapping_add(u64::from(b));
            }
            format!("sha256:{h:064x}")
        }))
    }

    fn analyse(&self, reference: &str, digest: &str) -> Result<Analysis, String> {
        let attempt = {
            let mut a = self.rec.attempts.lock().unwrap();
            let n = a.entry(reference.to_owned()).or_default();
            *n += 1;
            *n
        };
        let reg = registry_of(reference);
        {
            let mut r = self.rec.registries.lock().unwrap();
            let e = r.entry(reg.clone()).or_default();
            e.0 += 1;
            e.1 = e.1.max(e.0);
            let mut d = self.rec.digests.lock().unwrap();
            let e = d.entry(digest.to_owned()).or_default();
            e.0 += 1;
            e.1 = e.1.max(e.0);
            e.2 += 1;
        }
        std::thread::sleep(self.pause);
        {
            self.rec.registries.lock().unwrap().get_mut(&reg).unwrap().0 -= 1;
            self.rec.digests.lock().unwrap().get_mut(digest).unwrap().0 -= 1;
        }
        if attempt <= self.failures.get(reference).copied().unwrap_or(0) {
            return Err(format!("registry said 503 on attempt {attempt}"));
        }
        Ok(Analysis::empty(digest, reference, &self.version()))
    }
}

fn options(id: &str) -> WorkerOptions {
    let mut o = WorkerOptions::new(id.to_owned());
    o.poll = Duration::from_millis(50);
    o.backoff = Duration::from_millis(50);
    o.lease = Duration::from_secs(3);
    o.exit_when_idle = true;
    o
}

fn count(pg: &Postgres, url: &str, sql: &str) -> i64 {
    let db = url.rsplit('/').next().unwrap();
    pg.psql(db, sql).unwrap().trim().parse().unwrap()
}

#[test]
fn enqueue_is_idempotent_per_pending_reference() {
    let url = server().database();
    let mut store = Store::open(&url).unwrap();
    let jobs = [job("r.example/a:1"), job("r.example/b:1")];
    let first = queue::enqueue(&mut store, &jobs, "cli", 3).unwrap();
    assert_eq!((first.added, first.pending), (2, 0));
    let again = queue::enqueue(&mut store, &jobs, "cli", 3).unwrap();
    assert_eq!((again.added, again.pending), (0, 2));
    assert_eq!(count(server(), &url, "SELECT count(*) FROM fleet_jobs"), 2);
    // a second store on the same database finds the schema and does not create it again
    Store::open(&url).unwrap();
    assert_eq!(
        count(server(), &url, "SELECT count(*) FROM fleet_schema"),
        1
    );
}

#[test]
fn a_store_written_by_a_newer_rampart_is_refused() {
    let url = server().database();
    Store::open(&url).unwrap();
    let db = url.rsplit('/').next().unwrap();
    server()
        .psql(db, "INSERT INTO fleet_schema (version) VALUES (99)")
        .unwrap();
    match Store::open(&url) {
        Err(FleetError::NewerSchema { found: 99, .. }) => {}
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// A server that is down is waited for (tests/fleet.rs restarts one under the workers); a
/// database that does not exist will not appear by waiting.
#[test]
fn a_database_that_does_not_exist_is_refused_at_once_with_its_name() {
    let started = std::time::Instant::now();
    match Store::open(&server().url("no_such_fleet")) {
        Err(e @ FleetError::Connect { .. }) => {
            assert!(e.to_string().contains("no_such_fleet"), "{e}");
        }
        other => panic!("expected a connection error, got {other:?}"),
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn the_per_registry_bound_holds_across_workers_and_every_job_is_done_once() {
    let url = server().database();
    let mut store = Store::open(&url).unwrap();
    let mut jobs = Vec::new();
    for i in 0..12 {
        jobs.push(job(&format!("one.example/app{i}:1")));
        jobs.push(job(&format!("two.example/app{i}:1")));
    }
    queue::enqueue(&mut store, &jobs, "cli", 3).unwrap();
    let analyser = TestAnalyser::new(Duration::from_millis(150));
    let stop = AtomicBool::new(false);
    // two workers of 4 threads each, 2 per registry
    std::thread::scope(|s| {
        for id in ["w1", "w2"] {
            let (url, analyser, stop) = (&url, &analyser, &stop);
            s.spawn(move || {
                let mut o = options(id);
                o.concurrency = 4;
                o.per_registry = 2;
                worker::run(url, &o, analyser, stop).unwrap()
            });
        }
    });
    let regs = analyser.rec.registries.lock().unwrap();
    for reg in ["one.example", "two.example"] {
        let (_, most) = regs[reg];
        assert_eq!(
            most, 2,
            "{reg}: at most 2 at once, and the bound was reached"
        );
    }
    assert_eq!(
        count(
            server(),
            &url,
            "SELECT count(*) FROM fleet_jobs WHERE state = 'done'"
        ),
        24
    );
    assert_eq!(
        count(server(), &url, "SELECT count(*) FROM fleet_images"),
        24
    );
    let analyses: usize = analyser
        .rec
        .digests
        .lock()
        .unwrap()
        .values()
        .map(|v| v.2)
        .sum();
    assert_eq!(analyses, 24, "each image analysed once");
}

#[test]
fn one_digest_is_analysed_once_even_under_many_names_at_once() {
    let url = server().database();
    let mut store = Store::open(&url).unwrap();
    let mut analyser = TestAnalyser::new(Duration::from_millis(300));
    let shared = format!("sha256:{}", "5".repeat(64));
    let mut jobs = Vec::new();
    for i in 0..6 {
        let j = job(&format!("r{i}.example/same:v{i}"));
        analyser.digests.insert(j.reference.clone(), shared.clone());
        jobs.push(j);
    }
    queue::enqueue(&mut store, &jobs, "cli", 3).unwrap();
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        for id in ["w1", "w2", "w3"] {
            let (url, analyser, stop) = (&url, &analyser, &stop);
            s.spawn(move || {
                let mut o = options(id);
                o.concurrency = 2;
                worker::run(url, &o, analyser, stop).unwrap()
            });
        }
    });
    let d = analyser.rec.digests.lock().unwrap();
    let (_, most, analyses) = d[&shared];
    assert_eq!(most, 1, "never two at once");
    assert_eq!(
        analyses, 1,
        "analysed once; the other names were answered from the store"
    );
    assert_eq!(
        count(
            server(),
            &url,
            "SELECT count(*) FROM fleet_jobs WHERE state = 'done' AND outcome = 'cached'"
        ),
        5
    );
    assert_eq!(count(server(), &url, "SELECT count(*) FROM fleet_refs"), 6);
    assert_eq!(
        count(server(), &url, "SELECT count(*) FROM fleet_images"),
        1
    );
}

#[test]
fn failed_attempts_are_retried_then_failed_for_good_with_the_reason() {
    let url = server().database();
    let mut store = Store::open(&url).unwrap();
    let mut analyser = TestAnalyser::new(Duration::from_millis(10));
    let flaky = job("r.example/flaky:1");
    let broken = job("r.example/broken:1");
    analyser.failures.insert(flaky.reference.clone(), 2);
    analyser
        .failures
        .insert(broken.reference.clone(), usize::MAX);
    queue::enqueue(&mut store, &[flaky.clone(), broken.clone()], "cli", 3).unwrap();
    let stop = AtomicBool::new(false);
    let stats = worker::run(&url, &options("w1"), &analyser, &stop).unwrap();
    assert_eq!(stats.analysed, 1);
    assert_eq!(stats.failed_attempts, 2 + 3);
    let s = queue::status(&mut store).unwrap();
    assert_eq!((s.done, s.failed, s.queued, s.running), (1, 1, 0, 0));
    let f = &s.failures[0];
    assert_eq!(f.reference, broken.reference);
    assert_eq!(f.attempts, 3);
    assert_eq!(f.error, "registry said 503 on attempt 3");
    let attempts = analyser.rec.attempts.lock().unwrap();
    assert_eq!(attempts[&flaky.reference], 3);
    assert_eq!(attempts[&broken.reference], 3);
}

#[test]
fn backoff_doubles_per_attempt_and_is_bounded() {
    let b = Duration::from_secs(5);
    assert_eq!(queue::backoff(b, 1), Duration::from_secs(5));
    assert_eq!(queue::backoff(b, 2), Duration::from_secs(10));
    assert_eq!(queue::backoff(b, 4), Duration::from_secs(40));
    assert_eq!(queue::backoff(b, 40), Duration::from_secs(600));
}

#[test]
fn claims_take_the_oldest_job_of_a_registry_below_its_bound() {
    let url = server().database();
    let mut store = Store::open(&url).unwrap();
    let jobs: Vec<NewJob> = ["busy.example/a:1", "busy.example/b:1", "busy.example/c:1"]
        .into_iter()
        .chain(["free.example/x:1", "free.example/y:1"])
        .map(job)
        .collect();
    queue::enqueue(&mut store, &jobs, "cli", 2).unwrap();
    let rules = ClaimRules {
        per_registry: 1,
        lease: Duration::from_secs(60),
    };
    let mut claim = || {
        queue::claim(&mut store, "w", rules)
            .unwrap()
            .map(|j| j.reference)
    };
    assert_eq!(claim().as_deref(), Some("busy.example/a:1"));
    // busy.example is at its bound: its queued jobs are passed over, in front as they are
    assert_eq!(claim().as_deref(), Some("free.example/x:1"));
    assert_eq!(claim(), None);
}

#[test]
fn a_job_whose_worker_vanished_is_claimed_again_after_its_lease() {
    let url = server().database();
    let mut store = Store::open(&url).unwrap();
    queue::enqueue(&mut store, &[job("r.example/a:1")], "cli", 2).unwrap();
    let rules = ClaimRules {
        per_registry: 1,
        lease: Duration::from_secs(1),
    };
    let first = queue::claim(&mut store, "gone", rules).unwrap().unwrap();
    assert_eq!(first.attempt, 1);
    // within the lease nobody else may take it, and the registry's one slot is used
    assert!(queue::claim(&mut store, "other", rules).unwrap().is_none());
    std::thread::sleep(Duration::from_millis(1300));
    let second = queue::claim(&mut store, "other", rules).unwrap().unwrap();
    assert_eq!((second.id, second.attempt), (first.id, 2));
    // the vanished worker can no longer write its result or its failure
    assert!(!queue::fail(&mut store, &first, "gone", "late", Duration::ZERO).unwrap());
    // out of attempts after the second loss: failed with the reason
    std::thread::sleep(Duration::from_millis(1300));
    assert!(queue::claim(&mut store, "third", rules).unwrap().is_none());
    let s = queue::status(&mut store).unwrap();
    assert_eq!(s.failed, 1);
    assert!(
        s.failures[0].error.contains("was lost (no heartbeat"),
        "{:?}",
        s.failures[0]
    );
}

/// Gives each reference its packages; at `restore_at`, empties the store's images and packages
/// (a restore from an older backup) and drops the worker's connections, before answering.
struct PackagesAnalyser {
    packages: HashMap<String, Vec<rampart_sbom::Package>>,
    restore_at: String,
    db: String,
}

fn package(name: &str) -> rampart_sbom::Package {
    let purl = rampart_sbom::Purl::new("pypi", None, name, Some("1.0")).unwrap();
    let path = format!("/usr/lib/python3/site-packages/{name}-1.0.dist-info/METADATA");
    rampart_sbom::Package::new(
        rampart_sbom::Ecosystem::PyPI,
        name.to_owned(),
        String::from("1.0"),
        purl,
        &path,
    )
}

impl Analyser for PackagesAnalyser {
    fn version(&self) -> String {
        String::from("test 1")
    }

    fn resolve(&self, reference: &str) -> Result<String, String> {
        let h = reference
            .bytes()
            .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
        Ok(format!("sha256:{h:064x}"))
    }

    fn analyse(&self, reference: &str, digest: &str) -> Result<Analysis, String> {
        if reference == self.restore_at {
            server()
                .psql(
                    &self.db,
                    "DELETE FROM fleet_refs; DELETE FROM fleet_images; DELETE FROM fleet_packages; \
                     SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
                     WHERE datname = current_database() AND pid <> pg_backend_pid()",
                )
                .unwrap();
        }
        Ok(Analysis {
            packages: self.packages[reference].clone(),
            ..Analysis::empty(digest, reference, &self.version())
        })
    }
}

#[test]
fn images_on_a_shared_base_hold_their_packages_and_a_restored_store_is_asked_again() {
    let url = server().database();
    let db = url.rsplit('/').next().unwrap().to_owned();
    let mut store = Store::open(&url).unwrap();
    let base = ["base-a", "base-b", "base-c"];
    let mut packages = HashMap::new();
    let refs = [
        "reg.example/one:v1",
        "reg.example/two:v1",
        "reg.example/six:v1",
    ];
    for r in refs {
        let own = r.split('/').nth(1).unwrap().split(':').next().unwrap();
        let mut p: Vec<_> = base.iter().map(|n| package(n)).collect();
        p.push(package(&format!("app-{own}")));
        packages.insert(r.to_owned(), p);
    }
    let analyser = PackagesAnalyser {
        packages,
        restore_at: refs[2].to_owned(),
        db: db.clone(),
    };
    let jobs: Vec<NewJob> = refs.iter().map(|r| job(r)).collect();
    queue::enqueue(&mut store, &jobs, "cli", 3).unwrap();
    let stop = AtomicBool::new(false);
    let mut o = options("w1");
    o.concurrency = 1;
    worker::run(&url, &o, &analyser, &stop).unwrap();
    // the last image (written after the restore) names only packages that exist, its own four
    let names = server()
        .psql(
            &db,
            "SELECT i.name || ':' || string_agg(p.name, ',' ORDER BY p.name) || ':' \
                    || cardinality(i.packages) \
             FROM fleet_images i LEFT JOIN fleet_packages p ON p.id = ANY(i.packages) \
             GROUP BY i.name, i.packages ORDER BY 1",
        )
        .unwrap();
    assert_eq!(
        names.trim(),
        "reg.example/six:v1:app-six,base-a,base-b,base-c:4"
    );
    assert_eq!(
        count(server(), &url, "SELECT count(*) FROM fleet_packages"),
        4
    );
}
