//! The fleet end to end, with real parts only: Debian's `docker-registry` holding images pushed
//! by skopeo, a PostgreSQL server started here, several `rampart fleet worker` processes, one of
//! them killed with SIGKILL in the middle of its jobs, and the server itself restarted under
//! the workers. Then the shared store answers `inventory find` and `rescan` with the registry
//! gone, and the stored reports equal a direct `rampart scan --image`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
#[path = "../../rampart-image/tests/support/mod.rs"]
mod layouts;

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::{Auth, Registry, ok, rampart_command};
use layouts::{Comp, E, layer};
use rampart_testkit::postgres::Postgres;
use rampart_testkit::registry::skopeo;
use serde_json::Value;

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn dist_info(name: &str, version: &str) -> E {
    E::File(
        leak(format!(
            "usr/lib/python3.11/site-packages/{name}-{version}.dist-info/METADATA"
        )),
        leak(format!(
            "Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        ))
        .as_bytes(),
    )
}

/// Images `base{b}-app{a}:v1`: three bases (one holding Jinja2 2.10, which has PyPA
/// advisories), each with three application layers of their own.
fn push_images(reg: &Registry) -> Vec<String> {
    let mut refs = Vec::new();
    for b in 0..3 {
        let base_pkg = if b == 0 {
            dist_info("Jinja2", "2.10")
        } else {
            dist_info("tomli", &format!("2.0.{b}"))
        };
        let base = layer(
            &[
                E::File(
                    "etc/os-release",
                    leak(format!("ID=rampart-fleet-base\nVERSION_ID={b}\n")).as_bytes(),
                ),
                base_pkg,
            ],
            Comp::Gzip,
        );
        for a in 0..3 {
            let app = layer(
                &[
                    dist_info("fleetapp", &format!("1.{b}.{a}")),
                    E::File(leak(format!("srv/app{a}")), b"app\n"),
                ],
                Comp::Gzip,
            );
            let dir = tempfile::tempdir().unwrap();
            layouts::oci_layout(dir.path(), &[base.clone(), app]);
            let name = format!("base{b}-app{a}:v1");
            skopeo(&[
                "copy",
                "--quiet",
                "--dest-tls-verify=false",
                &format!("oci:{}", dir.path().display()),
                &format!("docker://{}/{name}", reg.host()),
            ]);
            refs.push(format!("{}/{name}", reg.host()));
        }
    }
    refs
}

fn db_name(url: &str) -> &str {
    url.rsplit('/').next().unwrap()
}

fn sql(pg: &Postgres, url: &str, q: &str) -> String {
    pg.psql(db_name(url), q).unwrap().trim().to_owned()
}

fn worker(url: &str, id: &str) -> Child {
    rampart_command()
        .args([
            "fleet",
            "worker",
            "--history",
            url,
            "--insecure",
            "--concurrency",
            "2",
            "--per-registry",
            "3",
            "--lease",
            "2",
            "--poll",
            "0.1",
            "--backoff",
            "0.2",
            "--exit-when-idle",
            "--id",
            id,
        ])
        .env("RAMPART_FLEET_STORE", url)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn wait(mut c: Child, within: Duration) -> String {
    let end = Instant::now() + within;
    loop {
        if let Some(status) = c.try_wait().unwrap() {
            let out = c.wait_with_output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr).into_owned();
            assert!(status.success(), "worker failed: {status}\n{err}");
            return err;
        }
        if Instant::now() > end {
            let _ = c.kill();
            let out = c.wait_with_output().unwrap();
            panic!(
                "worker did not finish in {within:?}\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[test]
fn workers_share_the_queue_survive_a_killed_worker_and_the_store_answers_for_the_fleet() {
    let reg = Registry::start(Auth::None);
    let refs = push_images(&reg);
    let pg = Postgres::start();
    let url = pg.database();

    // the registry's whole catalog, and a reference that does not exist
    let out = rampart_command()
        .args([
            "fleet",
            "enqueue",
            "--insecure",
            "--max-attempts",
            "2",
            "--catalog",
        ])
        .arg(reg.host())
        .arg(format!("{}/missing:v1", reg.host()))
        .env("RAMPART_FLEET_STORE", &url)
        .output()
        .unwrap();
    ok(&out);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("enqueued 10 job(s)"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // enqueueing again adds nothing: every reference is pending already
    let again = rampart_command()
        .args(["fleet", "enqueue", "--insecure", "--catalog"])
        .arg(reg.host())
        .env("RAMPART_FLEET_STORE", &url)
        .output()
        .unwrap();
    ok(&again);
    assert!(String::from_utf8_lossy(&again.stdout).contains("enqueued 0 job(s)"));

    // a worker killed (SIGKILL) while it holds jobs. It is frozen (SIGSTOP) before each look at
    // the queue, so what the look sees is what the kill strands: no race with a fast job.
    let mut w1 = worker(&url, "w1");
    let pid = nix::unistd::Pid::from_raw(i32::try_from(w1.id()).unwrap());
    let mut stranded = String::new();
    let end = Instant::now() + Duration::from_secs(60);
    while Instant::now() < end && w1.try_wait().unwrap().is_none() {
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGSTOP).unwrap();
        // A frozen worker must not lock readers out of the queue (a lock wait fails here).
        stranded = sql(
            &pg,
            &url,
            // the missing image's job fails whoever holds it: the stranded jobs that prove the
            // takeover are the others
            "SET lock_timeout = '10s'; SELECT string_agg(id::text, ',') FROM fleet_jobs \
             WHERE worker = 'w1' AND state = 'running' AND reference NOT LIKE '%/missing:%'",
        );
        if !stranded.is_empty() {
            break;
        }
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGCONT).unwrap();
        std::thread::sleep(Duration::from_millis(2));
    }
    let _ = w1.kill();
    let _ = w1.wait();
    assert!(!stranded.is_empty(), "w1 was never caught holding a job");

    // two more workers finish everything, the stranded jobs included
    let (w2, w3) = (worker(&url, "w2"), worker(&url, "w3"));
    wait(w2, Duration::from_secs(180));
    wait(w3, Duration::from_secs(180));

    let status = rampart_command()
        .args(["fleet", "status", "--format", "json", "--store", &url])
        .output()
        .unwrap();
    ok(&status);
    let s = json(&status);
    assert_eq!(s["done"], 9, "{s}");
    assert_eq!(s["failed"], 1, "{s}");
    assert_eq!(s["queued"], 0, "{s}");
    assert_eq!(s["running"], 0, "{s}");
    assert_eq!(s["images"], 9, "{s}");
    let failure = &s["failures"][0];
    assert!(
        failure["reference"]
            .as_str()
            .unwrap()
            .ends_with("/missing:v1")
    );
    assert_eq!(failure["attempts"], 2);
    assert!(
        failure["error"].as_str().unwrap().contains("404")
            || failure["error"]
                .as_str()
                .unwrap()
                .contains("MANIFEST_UNKNOWN"),
        "{failure}"
    );
    // the stranded jobs were finished by the others, not by the killed worker
    let finished = sql(
        &pg,
        &url,
        &format!(
            "SELECT string_agg(state || ':' || coalesce(worker, '-'), ',') FROM fleet_jobs WHERE id IN ({stranded})"
        ),
    );
    assert!(
        finished
            .split(',')
            .all(|s| s == "done:w2" || s == "done:w3"),
        "{finished}"
    );
    // nothing twice: one image row per digest, one job per reference, one ref row each
    assert_eq!(
        sql(&pg, &url, "SELECT count(DISTINCT digest) FROM fleet_images"),
        "9"
    );
    assert_eq!(sql(&pg, &url, "SELECT count(*) FROM fleet_refs"), "9");
    assert_eq!(sql(&pg, &url, "SELECT count(*) FROM fleet_jobs"), "10");
    // every layer was learnt once, in the layer cache the workers share (the store by default):
    // three bases and nine application layers; and each image's config, by its digest
    assert_eq!(
        sql(
            &pg,
            &url,
            "SELECT count(DISTINCT diff_id) FROM layer_cache WHERE analysis <> 'image config'"
        ),
        "12"
    );
    assert_eq!(
        sql(
            &pg,
            &url,
            "SELECT count(*) FROM layer_cache WHERE analysis = 'image config'"
        ),
        "9"
    );
    // the shared base's packages are stored once
    assert_eq!(
        sql(
            &pg,
            &url,
            "SELECT count(*) FROM fleet_packages WHERE name = 'Jinja2'"
        ),
        "1"
    );

    // every image analysed by a worker that was not killed is a scan run in the history (the
    // same database), for the metrics and the dashboard
    assert_eq!(
        sql(&pg, &url, "SELECT count(*) FROM runs WHERE kind = 'scan'"),
        sql(
            &pg,
            &url,
            "SELECT count(*) FROM fleet_jobs WHERE outcome = 'analysed' AND worker IN ('w2', 'w3')"
        ),
    );

    // a stored report is the report of a direct scan of the image
    let direct = rampart_command()
        .args([
            "scan",
            "--insecure",
            "--no-vulns",
            "--format",
            "json",
            "--image",
            &refs[4],
        ])
        .output()
        .unwrap();
    let stored = rampart_command()
        .args(["fleet", "report", &refs[4], "--store", &url])
        .output()
        .unwrap();
    ok(&stored);
    let (direct, stored) = (json(&direct), json(&stored));
    for key in ["layers", "findings", "images", "subjects", "summary"] {
        assert_eq!(direct[key], stored[key], "{key} differs");
    }

    // an image met again reads no blob: with its config and layers gone from the registry, a
    // second fleet (another database) whose layer cache is this store analyses it from its
    // manifest and the cache, and stores the same report
    let pulled = common::pull_insecure(&refs[4]);
    let mut blobs = vec![pulled.config_digest().unwrap().to_string()];
    blobs.extend(
        pulled
            .layers()
            .iter()
            .map(|l| l.digest.as_ref().unwrap().to_string()),
    );
    assert_eq!(blobs.len(), 3);
    for digest in &blobs {
        std::fs::remove_file(reg.blob_file(digest)).unwrap();
    }
    let second = pg.database();
    ok(&rampart_command()
        .args(["fleet", "enqueue", &refs[4]])
        .env("RAMPART_FLEET_STORE", &second)
        .output()
        .unwrap());
    let again = rampart_command()
        .args([
            "fleet",
            "worker",
            "--insecure",
            "--poll",
            "0.1",
            "--exit-when-idle",
        ])
        .args(["--layer-cache", &url])
        .env("RAMPART_FLEET_STORE", &second)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = wait(again, Duration::from_secs(60));
    assert_eq!(
        sql(
            &pg,
            &second,
            "SELECT state || ':' || coalesce(outcome, '-') || ':' || coalesce(error, '-') FROM fleet_jobs"
        ),
        "done:analysed:-",
        "{log}"
    );
    let again = rampart_command()
        .args(["fleet", "report", &refs[4], "--store", &second])
        .output()
        .unwrap();
    let again = json(ok(&again));
    for key in ["layers", "findings", "images", "subjects", "summary"] {
        assert_eq!(again[key], stored[key], "{key} differs");
    }

    // the registry is gone: what follows reads the store only
    drop(reg);
    let found = rampart_command()
        .args([
            "inventory",
            "--inventory",
            &url,
            "find",
            "jinja2@<2.11",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    ok(&found);
    let found = json(&found);
    let mut names: Vec<&str> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["image"]["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, [&refs[0], &refs[1], &refs[2]]);

    // an advisory database without PyPI: nothing is called clean, the packages are not checked
    let cache = tempfile::tempdir().unwrap();
    let db = cache.path().join("osv.db");
    let corpus = common::root().join("../shared/corpus");
    let import = |path: &std::path::Path, dirs: &[std::path::PathBuf]| {
        ok(&rampart_command()
            .args(["db", "import", "--db"])
            .arg(path)
            .args(dirs)
            .output()
            .unwrap());
    };
    import(&db, &[corpus.join("osv-rustsec/crates")]);
    let rescan = |db: &std::path::Path| {
        let out = rampart_command()
            .args([
                "inventory",
                "--inventory",
                &url,
                "rescan",
                "--format",
                "json",
                "--db",
            ])
            .arg(db)
            .output()
            .unwrap();
        ok(&out);
        json(&out)
    };
    let before = rescan(&db);
    assert_eq!(before.as_array().unwrap().len(), 9);
    for r in before.as_array().unwrap() {
        assert_eq!(r["new"].as_array().unwrap().len(), 0, "{r}");
        assert!(
            r["unchecked_packages"]["pypi"].as_u64().unwrap() >= 2,
            "{r}"
        );
    }
    // the database is updated with PyPI's advisories: the rescan says what is new, where
    import(&db, &[corpus.join("osv-pypa/vulns")]);
    let after = rescan(&db);
    for r in after.as_array().unwrap() {
        let name = r["image"]["name"].as_str().unwrap();
        let new: Vec<&str> = r["new"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["package"]["name"].as_str().unwrap())
            .collect();
        if name.contains("/base0-") {
            assert!(!new.is_empty() && new.iter().all(|n| *n == "Jinja2"), "{r}");
        } else {
            assert!(new.is_empty(), "{r}");
        }
    }
    // matched again with nothing changed: nothing new
    let again = rescan(&db);
    assert!(
        again
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["new"].as_array().unwrap().is_empty())
    );

    // the stored matches are what the next rescans compare with: a database without PyPI
    // keeps Jinja2's findings (not checked, never called fixed) ...
    let jinja_rows = |items: &Value, field: &str| -> Vec<(String, usize)> {
        items
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let rows = r[field].as_array().unwrap();
                assert!(
                    rows.iter()
                        .all(|x| x[1].as_str().unwrap().starts_with("pkg:pypi/jinja2@")),
                    "{r}"
                );
                (r["image"]["name"].as_str().unwrap().to_owned(), rows.len())
            })
            .filter(|(_, n)| *n > 0)
            .map(|(name, n)| (name.rsplit('/').next().unwrap().to_owned(), n))
            .collect()
    };
    let no_pypi = cache.path().join("no-pypi.db");
    import(&no_pypi, &[corpus.join("osv-rustsec/crates")]);
    let kept = rescan(&no_pypi);
    let kept_rows = jinja_rows(&kept, "not_checked");
    assert_eq!(kept_rows.len(), 3, "{kept_rows:?}");
    assert!(kept_rows.iter().all(|(n, _)| n.starts_with("base0-")));
    assert!(jinja_rows(&kept, "fixed").is_empty());
    // ... a database whose PyPI holds no Jinja2 advisory calls them fixed ...
    let no_jinja = cache.path().join("no-jinja.db");
    let mut dirs: Vec<std::path::PathBuf> = std::fs::read_dir(corpus.join("osv-pypa/vulns"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap() != "jinja2")
        .collect();
    dirs.sort();
    import(&no_jinja, &dirs);
    let fixed = rescan(&no_jinja);
    assert_eq!(jinja_rows(&fixed, "fixed"), kept_rows, "{fixed}");
    assert!(jinja_rows(&fixed, "not_checked").is_empty());
    // ... and the full database finds them new again
    let back = rescan(&db);
    let back_new: Vec<(String, usize)> = back
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["image"]["name"]
                    .as_str()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_owned(),
                r["new"].as_array().unwrap().len(),
            )
        })
        .filter(|(_, n)| *n > 0)
        .collect();
    assert_eq!(back_new, kept_rows);
}

#[test]
fn workers_ride_out_a_postgresql_restart() {
    let reg = Registry::start(Auth::None);
    push_images(&reg);
    let mut pg = Postgres::start();
    let url = pg.database();
    ok(&rampart_command()
        .args(["fleet", "enqueue", "--insecure", "--catalog"])
        .arg(reg.host())
        .env("RAMPART_FLEET_STORE", &url)
        .output()
        .unwrap());
    let (w1, w2) = (worker(&url, "w1"), worker(&url, "w2"));
    // wait for the first results, then restart the server under the workers
    let end = Instant::now() + Duration::from_secs(60);
    while sql(&pg, &url, "SELECT count(*) FROM fleet_images") == "0" {
        assert!(Instant::now() < end, "no result in 60 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    pg.stop();
    std::thread::sleep(Duration::from_secs(2));
    pg.spawn();
    wait(w1, Duration::from_secs(180));
    wait(w2, Duration::from_secs(180));
    assert_eq!(
        sql(
            &pg,
            &url,
            "SELECT count(*) FROM fleet_jobs WHERE state = 'done'"
        ),
        "9"
    );
    assert_eq!(sql(&pg, &url, "SELECT count(*) FROM fleet_images"), "9");
}

#[test]
fn hostile_catalogs_are_refused_with_the_reason_and_the_rest_is_queued() {
    use rampart_testkit::registry::{FakeServer, header};
    use std::sync::Arc;
    // a catalog whose pages link back to themselves
    let looping = FakeServer::start(
        "127.0.0.1",
        Arc::new(|_m: &str, url: &str| {
            if url.starts_with("/v2/_catalog") {
                tiny_http::Response::from_string(r#"{"repositories":["a"]}"#)
                    .with_header(header("Content-Type", "application/json"))
                    .with_header(header("Link", r#"</v2/_catalog?last=a&n=1>; rel="next""#))
                    .boxed()
            } else {
                tiny_http::Response::from_string("{}")
                    .with_status_code(404)
                    .boxed()
            }
        }),
    );
    // a catalog page larger than any manifest
    let huge = FakeServer::start(
        "127.0.0.1",
        Arc::new(|_m: &str, _url: &str| {
            let names: Vec<String> = (0..400_000).map(|i| format!("\"repo{i}\"")).collect();
            tiny_http::Response::from_string(format!("{{\"repositories\":[{}]}}", names.join(",")))
                .boxed()
        }),
    );
    let pg = Postgres::start();
    let url = pg.database();
    let out = rampart_command()
        .args([
            "fleet",
            "enqueue",
            "--insecure",
            "--catalog",
            &looping.addr,
            "--catalog",
            &huge.addr,
        ])
        .arg("127.0.0.1:1/fine:v1")
        .env("RAMPART_FLEET_STORE", &url)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("loop"), "{err}");
    let huge_line = err
        .lines()
        .find(|l| l.contains(&huge.addr))
        .unwrap_or_default();
    assert!(
        huge_line.contains("list repositories") && huge_line.contains("byte limit"),
        "{err}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("enqueued 1 job(s)"));
}

#[test]
fn a_slow_or_failing_registry_fails_the_job_with_the_reason_after_its_retries() {
    use rampart_testkit::registry::FakeServer;
    use std::sync::Arc;
    let fake = FakeServer::start(
        "127.0.0.1",
        Arc::new(|_m: &str, url: &str| {
            if url.starts_with("/v2/slow/") {
                // answers long after the worker's timeout
                std::thread::sleep(Duration::from_secs(5));
            }
            tiny_http::Response::from_string(r#"{"errors":[{"code":"UNKNOWN","message":"boom"}]}"#)
                .with_status_code(500)
                .boxed()
        }),
    );
    let pg = Postgres::start();
    let url = pg.database();
    ok(&rampart_command()
        .args(["fleet", "enqueue", "--max-attempts", "2"])
        .arg(format!("{}/slow:v1", fake.addr))
        .arg(format!("{}/broken:v1", fake.addr))
        .env("RAMPART_FLEET_STORE", &url)
        .output()
        .unwrap());
    let started = Instant::now();
    let w = rampart_command()
        .args([
            "fleet",
            "worker",
            "--insecure",
            "--registry-timeout",
            "0.5",
            "--backoff",
            "0.1",
            "--poll",
            "0.1",
            "--exit-when-idle",
        ])
        .env("RAMPART_FLEET_STORE", &url)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = wait(w, Duration::from_secs(60));
    // bounded: two attempts of each, not the registry's five seconds per request
    assert!(started.elapsed() < Duration::from_secs(30), "{log}");
    let status = rampart_command()
        .args(["fleet", "status", "--format", "json", "--store", &url])
        .output()
        .unwrap();
    let s = json(&status);
    assert_eq!(s["failed"], 2, "{s}");
    assert_eq!(s["done"], 0, "{s}");
    for f in s["failures"].as_array().unwrap() {
        assert_eq!(f["attempts"], 2, "{f}");
        let error = f["error"].as_str().unwrap();
        if f["reference"].as_str().unwrap().contains("/slow:") {
            assert!(error.contains("tim"), "a timeout names itself: {error}");
        } else {
            assert!(error.contains("500"), "the status is named: {error}");
        }
    }
    // nothing half-written
    assert_eq!(sql(&pg, &url, "SELECT count(*) FROM fleet_images"), "0");
    assert_eq!(sql(&pg, &url, "SELECT count(*) FROM fleet_refs"), "0");
}
