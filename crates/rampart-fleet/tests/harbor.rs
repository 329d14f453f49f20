//! Harbor's scan requests in the store, against a real PostgreSQL server: the schema 2 and 3
//! migrations of a schema 1 store, what `accept` does with a digest analysed, pending or new, and
//! that a job's credential reaches only an analyser that pulls with it and is cleared when the
//! job ends. The adapter over HTTP is tested end to end in crates/rampart/tests/harbor.rs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Mutex;
use std::sync::OnceLock;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use rampart_fleet::harbor::{self, ScanRequest, ScanState};
use rampart_fleet::inventory::Analysis;
use rampart_fleet::queue::Access;
use rampart_fleet::worker::{self, Analyser, WorkerOptions};
use rampart_fleet::{Store, store};
use rampart_testkit::postgres::Postgres;
use serde_json::json;

fn server() -> &'static Postgres {
    static PG: OnceLock<Postgres> = OnceLock::new();
    PG.get_or_init(Postgres::start)
}

fn sql(url: &str, q: &str) -> String {
    server()
        .psql(url.rsplit('/').next().unwrap(), q)
        .unwrap()
        .trim()
        .to_owned()
}

const DIGEST: &str = "sha256:6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b";

fn request(authorization: &str) -> ScanRequest {
    let body = json!({
        "registry": {"url": "http://registry.example:5000", "authorization": authorization},
        "artifact": {"repository": "library/mongo", "digest": DIGEST, "tag": "4"},
    });
    ScanRequest::parse(
        Some("application/vnd.scanner.adapter.scan.request+json; version=1.1"),
        body.to_string().as_bytes(),
        true,
    )
    .unwrap()
}

#[test]
fn a_schema_1_store_is_migrated_and_keeps_its_rows() {
    let url = server().database();
    Store::open(&url).unwrap();
    // back to what schema 1 was: no Harbor columns or table, a row per finding in
    // `fleet_matches`, `matched_at` on the image, version 1; one job, three images (matched
    // with two findings, matched with none, never matched)
    sql(
        &url,
        "ALTER TABLE fleet_jobs DROP COLUMN registry_auth; ALTER TABLE fleet_jobs DROP COLUMN plain_http; \
         ALTER TABLE fleet_packages DROP COLUMN licenses; ALTER TABLE fleet_packages DROP COLUMN arch; \
         DROP TABLE fleet_scans; DROP TABLE fleet_image_matches; \
         ALTER TABLE fleet_images ADD COLUMN matched_at timestamptz; \
         CREATE TABLE fleet_matches (image bigint NOT NULL REFERENCES fleet_images (id) ON DELETE CASCADE, \
           vuln text NOT NULL, purl text NOT NULL, severity text NOT NULL, fixed text NOT NULL, \
           PRIMARY KEY (image, vuln, purl)); \
         UPDATE fleet_schema SET version = 1; \
         INSERT INTO fleet_jobs (reference, registry, source, max_attempts) \
           VALUES ('r.example/a:1', 'r.example', 'cli', 3); \
         INSERT INTO fleet_images (id, digest, name, analysis, packages, summary, report, analysed_at, matched_at) \
           VALUES (1, 'sha256:1', 'a', 'v', '{}', '{}', '', '2026-01-01Z', '2026-01-02Z'), \
                  (2, 'sha256:2', 'b', 'v', '{}', '{}', '', '2026-01-01Z', '2026-01-03Z'), \
                  (3, 'sha256:3', 'c', 'v', '{}', '{}', '', '2026-01-01Z', NULL); \
         INSERT INTO fleet_matches VALUES (1, 'CVE-2', 'pkg:pypi/b@1', 'high', '1.1'), \
                                          (1, 'CVE-1', 'pkg:pypi/a@1', 'low', '');",
    );
    let mut store = Store::open(&url).unwrap();
    assert_eq!(
        sql(
            &url,
            "SELECT string_agg(version::text, ',') FROM fleet_schema"
        ),
        store::SCHEMA_VERSION.to_string()
    );
    assert_eq!(store::SCHEMA_VERSION, 3);
    assert_eq!(
        sql(
            &url,
            "SELECT count(*) FROM fleet_jobs WHERE registry_auth IS NULL AND plain_http IS NULL"
        ),
        "1"
    );
    // each image's match is one row, in (vulnerability, purl) order, with the image's time
    assert_eq!(
        sql(
            &url,
            "SELECT string_agg(image || ' ' || array_to_string(vulns, ',') || ' ' \
               || array_to_string(purls, ',') || ' ' || array_to_string(severities, ',') || ' ' \
               || array_to_string(fixed, ',') || ' ' || to_char(matched_at AT TIME ZONE 'UTC', 'MM-DD'), \
               ' | ' ORDER BY image) FROM fleet_image_matches"
        ),
        "1 CVE-1,CVE-2 pkg:pypi/a@1,pkg:pypi/b@1 low,high ,1.1 01-02 | 2     01-03"
    );
    assert_eq!(
        sql(
            &url,
            "SELECT (to_regclass('fleet_matches') IS NULL)::text || ' ' || count(*) \
             FROM information_schema.columns WHERE table_name = 'fleet_images' AND column_name = 'matched_at'"
        ),
        "true 0"
    );
    // the migrated store takes scan requests
    let a = harbor::accept(&mut store, &request("Basic dTpw"), "test 1", 3).unwrap();
    assert!(!a.cached);
    // and opening it again changes nothing
    Store::open(&url).unwrap();
    assert_eq!(sql(&url, "SELECT count(*) FROM fleet_schema"), "1");
}

#[test]
fn requests_share_a_pending_job_take_the_newer_credential_and_an_analysed_digest_is_ready() {
    let url = server().database();
    let mut store = Store::open(&url).unwrap();
    let first = harbor::accept(&mut store, &request("Basic b2xkOm9sZA=="), "test 1", 3).unwrap();
    let second = harbor::accept(&mut store, &request("Basic bmV3Om5ldw=="), "test 1", 3).unwrap();
    assert_ne!(first.id, second.id);
    assert_eq!(first.job, second.job, "one job for one reference");
    assert_eq!(
        sql(
            &url,
            "SELECT registry_auth || ' ' || plain_http || ' ' || source FROM fleet_jobs"
        ),
        "Basic bmV3Om5ldw== true harbor"
    );
    let scan = harbor::lookup(&mut store, &first.id).unwrap().unwrap();
    assert_eq!(scan.state, ScanState::Pending);
    assert_eq!(scan.artifact.tag.as_deref(), Some("4"));
    assert_eq!(scan.registry_url, "http://registry.example:5000");
    assert!(harbor::lookup(&mut store, "no-such-id").unwrap().is_none());

    // the digest analysed (by this analysis version): the next request is done at once
    sql(
        &url,
        &format!(
            "INSERT INTO fleet_images (digest, name, analysis, packages, summary, report, analysed_at) \
             VALUES ('{DIGEST}', 'x', 'test 1', '{{}}', '{{}}', ''::bytea, now())"
        ),
    );
    let cached = harbor::accept(&mut store, &request("Basic bmV3Om5ldw=="), "test 1", 3).unwrap();
    assert!(cached.cached);
    assert_eq!(
        harbor::lookup(&mut store, &cached.id)
            .unwrap()
            .unwrap()
            .state,
        ScanState::Done
    );
    assert_eq!(
        sql(
            &url,
            &format!(
                "SELECT state || ':' || outcome || ':' || (registry_auth IS NULL) FROM fleet_jobs WHERE id = {}",
                cached.job
            )
        ),
        "done:cached:true"
    );
    // analysed by another version: analysed again
    let other = harbor::accept(&mut store, &request("Basic bmV3Om5ldw=="), "test 2", 3).unwrap();
    assert!(!other.cached);

    // ids older than their lifetime are forgotten
    sql(
        &url,
        &format!(
            "UPDATE fleet_scans SET created_at = now() - interval '{} days 1 hour' WHERE id = '{}'",
            harbor::SCAN_TTL_DAYS,
            first.id
        ),
    );
    assert!(harbor::lookup(&mut store, &first.id).unwrap().is_none());
}

/// An analyser that pulls with a job's own access, recording what it was given.
#[derive(Default)]
struct Recording {
    seen: Mutex<Vec<(String, Option<String>, bool)>>,
}

impl Analyser for Recording {
    fn version(&self) -> String {
        String::from("test 1")
    }
    fn resolve(&self, _reference: &str) -> Result<String, String> {
        Err(String::from(
            "a Harbor job is never resolved without its access",
        ))
    }
    fn analyse(&self, _reference: &str, _digest: &str) -> Result<Analysis, String> {
        Err(String::from(
            "a Harbor job is never analysed without its access",
        ))
    }
    fn resolve_with(&self, reference: &str, _access: &Access) -> Result<String, String> {
        Ok(reference.rsplit_once('@').unwrap().1.to_owned())
    }
    fn analyse_with(
        &self,
        reference: &str,
        digest: &str,
        access: &Access,
    ) -> Result<Analysis, String> {
        self.seen.lock().unwrap().push((
            reference.to_owned(),
            access.authorization.as_ref().map(|a| a.expose().to_owned()),
            access.plain_http,
        ));
        Ok(Analysis::empty(digest, reference, &self.version()))
    }
}

/// An analyser that knows no per-job access (the trait's defaults).
struct Plain;

impl Analyser for Plain {
    fn version(&self) -> String {
        String::from("test 1")
    }
    fn resolve(&self, reference: &str) -> Result<String, String> {
        Ok(reference.rsplit_once('@').unwrap().1.to_owned())
    }
    fn analyse(&self, _reference: &str, _digest: &str) -> Result<Analysis, String> {
        panic!("a job with its own access was pulled with the worker's")
    }
}

fn options() -> WorkerOptions {
    let mut o = WorkerOptions::new(String::from("w"));
    o.poll = Duration::from_millis(50);
    o.backoff = Duration::from_millis(20);
    o.exit_when_idle = true;
    o
}

#[test]
fn the_credential_reaches_the_analyser_and_is_cleared_when_the_job_ends() {
    let url = server().database();
    let mut store = Store::open(&url).unwrap();
    let a = harbor::accept(&mut store, &request("Bearer tok.en"), "test 1", 3).unwrap();
    let rec = Recording::default();
    worker::run(&url, &options(), &rec, &AtomicBool::new(false)).unwrap();
    assert_eq!(
        *rec.seen.lock().unwrap(),
        [(
            format!("registry.example:5000/library/mongo@{DIGEST}"),
            Some(String::from("Bearer tok.en")),
            true
        )]
    );
    assert_eq!(
        harbor::lookup(&mut store, &a.id).unwrap().unwrap().state,
        ScanState::Done
    );
    assert_eq!(
        sql(
            &url,
            "SELECT count(*) FROM fleet_jobs WHERE registry_auth IS NOT NULL"
        ),
        "0"
    );

    // an analyser that cannot pull with a job's access refuses it: never the worker's own
    // credentials; after its attempts the job fails with the reason, the credential cleared
    let url = server().database();
    let mut store = Store::open(&url).unwrap();
    let a = harbor::accept(&mut store, &request("Bearer tok.en"), "test 1", 2).unwrap();
    worker::run(&url, &options(), &Plain, &AtomicBool::new(false)).unwrap();
    match harbor::lookup(&mut store, &a.id).unwrap().unwrap().state {
        ScanState::Failed(reason) => assert!(
            reason.contains("cannot pull with the job's own registry credential"),
            "{reason}"
        ),
        other => panic!("expected a failure, got {other:?}"),
    }
    assert_eq!(
        sql(
            &url,
            "SELECT attempts || ':' || (registry_auth IS NULL) FROM fleet_jobs"
        ),
        "2:true"
    );
}
