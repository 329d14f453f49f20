//! Harbor's pluggable scanner API end to end, with real parts only: `rampart serve
//! --scanner-adapter` as a process over a PostgreSQL server started here, Debian's
//! `docker-registry` behind htpasswd holding images pushed by skopeo, `rampart fleet worker`
//! processes (and the adapter's own workers) pulling with the credential each scan request
//! carries. Reports are checked against a direct `rampart scan --image` and `rampart sbom` of
//! the same image with the same advisory database, and the API against the specification's
//! OpenAPI document by schemathesis.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
#[path = "../../rampart-image/tests/support/mod.rs"]
mod layouts;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::{Auth, Registry, ok, rampart_command};
use layouts::{Comp, E, layer};
use rampart_testkit::browser;
use rampart_testkit::postgres::Postgres;
use rampart_testkit::registry::skopeo;
use serde_json::{Value, json};

const USER: &str = "robot$harbor";
const PASSWORD: &str = "s3cret-robot";

const SCAN_REQUEST: &str = "application/vnd.scanner.adapter.scan.request+json; version=1.1";
const VULN_V1_1: &str = "application/vnd.security.vulnerability.report; version=1.1";
const VULN_V1_0: &str = "application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.0";
const SBOM: &str = "application/vnd.security.sbom.report+json; version=1.0";
const ERROR: &str = "application/vnd.scanner.adapter.error+json; version=1.0";

fn spec() -> std::path::PathBuf {
    common::root()
        .join("../shared/corpus/harbor-scanner-spec/api/spec/scanner-adapter-openapi-v1.2.yaml")
}

fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

fn dist_info(name: &str, version: &str) -> E {
    let path = Box::leak(
        format!("usr/lib/python3.11/site-packages/{name}-{version}.dist-info/METADATA")
            .into_boxed_str(),
    );
    let text = Box::leak(
        format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nLicense: BSD-3-Clause\n")
            .into_boxed_str(),
    );
    E::File(path, text.as_bytes())
}

/// Pushes an image holding Jinja2 2.10 (PyPA advisories without CVSS), Werkzeug 2.3.7 (one
/// rated by a CVSS 3.1 vector), tomli (none) and an npm package (an ecosystem the database
/// does not cover) as `repo:v1`; returns its manifest digest.
fn push(reg: &Registry, repo: &str, app: &str) -> String {
    let base = layer(
        &[
            E::File("etc/os-release", b"ID=rampart-harbor-base\nVERSION_ID=1\n"),
            dist_info("Jinja2", "2.10"),
            dist_info("tomli", "2.0.1"),
            dist_info("Werkzeug", "2.3.7"),
        ],
        Comp::Gzip,
    );
    let app_version: &'static str = Box::leak(app.to_owned().into_boxed_str());
    let pkg: &'static str = Box::leak(
        format!("{{\"name\": \"left-pad\", \"version\": \"{app_version}\"}}").into_boxed_str(),
    );
    let top = layer(
        &[
            E::File("srv/node_modules/left-pad/package.json", pkg.as_bytes()),
            dist_info("harborapp", app_version),
        ],
        Comp::Gzip,
    );
    let dir = tempfile::tempdir().unwrap();
    let digest = layouts::oci_layout(dir.path(), &[base, top]);
    skopeo(&[
        "copy",
        "--quiet",
        "--dest-tls-verify=false",
        "--dest-creds",
        &format!("{USER}:{PASSWORD}"),
        &format!("oci:{}", dir.path().display()),
        &format!("docker://{}/{repo}:v1", reg.host()),
    ]);
    digest
}

/// A `rampart serve --scanner-adapter` process, killed on drop.
struct Adapter {
    child: Child,
    base: String,
}

impl Drop for Adapter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The adapter with the shared advisory database and a bearer token read from a file in `dir`
/// (written as `token_text`).
fn adapter_with_token(
    url: &str,
    dir: &std::path::Path,
    token_text: &str,
    args: &[&str],
) -> Adapter {
    let db = common::cache_dir().join("osv.db");
    let token_file = dir.join("token");
    std::fs::write(&token_file, token_text).unwrap();
    let mut all = vec![
        "--db",
        db.to_str().unwrap(),
        "--token-file",
        token_file.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    adapter(url, &all)
}

fn adapter(url: &str, args: &[&str]) -> Adapter {
    let mut child = rampart_command()
        .args(["serve", "--scanner-adapter", "--listen", "127.0.0.1:0"])
        .args(args)
        .env("RAMPART_FLEET_STORE", url)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.starts_with("http://"), "no address printed: {line:?}");
    Adapter {
        child,
        base: line.trim().trim_end_matches('/').to_owned(),
    }
}

struct Answer {
    status: u16,
    content_type: String,
    headers: Vec<(String, String)>,
    body: Value,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .max_redirects_will_error(false)
        .build()
        .new_agent()
}

fn answer(resp: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Answer {
    let mut resp = resp.unwrap();
    let status = resp.status().as_u16();
    let headers: Vec<(String, String)> = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_owned()))
        .collect();
    let content_type = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    Answer {
        status,
        content_type,
        headers,
        body,
    }
}

fn get(a: &Adapter, path: &str, accept: Option<&str>, token: Option<&str>) -> Answer {
    let mut r = agent().get(&format!("{}{path}", a.base));
    if let Some(acc) = accept {
        r = r.header("Accept", acc);
    }
    if let Some(t) = token {
        r = r.header("Authorization", &format!("Bearer {t}"));
    }
    answer(r.call())
}

fn post(a: &Adapter, content_type: &str, body: &Value, token: Option<&str>) -> Answer {
    let mut r = agent()
        .post(&format!("{}/api/v1/scan", a.base))
        .header("Content-Type", content_type);
    if let Some(t) = token {
        r = r.header("Authorization", &format!("Bearer {t}"));
    }
    answer(r.send(body.to_string().as_bytes()))
}

fn scan_request(reg: &Registry, repo: &str, digest: &str, authorization: &str) -> Value {
    json!({
        "registry": {"url": format!("http://{}", reg.host()), "authorization": authorization},
        "artifact": {
            "repository": repo, "digest": digest, "tag": "v1",
            "mime_type": "application/vnd.oci.image.manifest.v1+json"
        },
        "enabled_capabilities": [
            {"type": "vulnerability", "produces_mime_types": [VULN_V1_1]},
            {"type": "sbom", "produces_mime_types": [SBOM],
             "parameters": {"sbom_media_types": ["application/spdx+json"]}}
        ]
    })
}

fn sql(pg: &Postgres, url: &str, q: &str) -> String {
    pg.psql(url.rsplit('/').next().unwrap(), q)
        .unwrap()
        .trim()
        .to_owned()
}

fn run_worker(url: &str) {
    let out = rampart_command()
        .args([
            "fleet",
            "worker",
            "--exit-when-idle",
            "--poll",
            "0.1",
            "--backoff",
            "0.1",
        ])
        .env("RAMPART_FLEET_STORE", url)
        .output()
        .unwrap();
    ok(&out);
}

/// Polls a report through its 302s until it is something else.
fn poll(a: &Adapter, id: &str, accept: &str, token: &str, query: &str) -> Answer {
    let end = Instant::now() + Duration::from_secs(120);
    loop {
        let r = get(
            a,
            &format!("/api/v1/scan/{id}/report{query}"),
            Some(accept),
            Some(token),
        );
        if r.status != 302 {
            return r;
        }
        assert!(Instant::now() < end, "still 302 after 120 s");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// (id, package, version, Harbor severity, fix) of the real vulnerabilities of a report.
type Row = (String, String, String, String, String);

fn harbor_rows(report: &Value) -> BTreeSet<Row> {
    report["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| !v["id"].as_str().unwrap().starts_with("rampart:"))
        .map(|v| {
            (
                v["id"].as_str().unwrap().to_owned(),
                v["package"].as_str().unwrap().to_owned(),
                v["version"].as_str().unwrap().to_owned(),
                v["severity"].as_str().unwrap().to_owned(),
                v["fix_version"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

fn direct_rows(scan: &Value) -> BTreeSet<Row> {
    scan["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            let sev = match v["severity"].as_str().unwrap() {
                "info" => "Unknown",
                "low" => "Low",
                "medium" => "Medium",
                "high" => "High",
                "critical" => "Critical",
                other => panic!("severity {other}"),
            };
            let fixed: Vec<&str> = v["fixed"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f.as_str().unwrap())
                .collect();
            (
                v["id"].as_str().unwrap().to_owned(),
                v["package"]["name"].as_str().unwrap().to_owned(),
                v["package"]["version"].as_str().unwrap().to_owned(),
                sev.to_owned(),
                fixed.join(", "),
            )
        })
        .collect()
}

/// `rampart <args> <reference>` with the robot's credentials, as JSON.
fn direct(args: &[&str], reference: &str) -> Value {
    let out = rampart_command()
        .args(args)
        .arg(reference)
        .args(["--insecure", "--username", USER])
        .env("RAMPART_REGISTRY_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    common::json(&out)
}

#[test]
fn harbor_scans_through_the_queue_and_reports_what_a_direct_scan_finds() {
    let reg = Registry::start(Auth::Htpasswd(vec![(USER, PASSWORD)]));
    let digest = push(&reg, "library/shop", "1.0.0");
    let pg = Postgres::start();
    let url = pg.database();
    let dir = tempfile::tempdir().unwrap();
    let token = "adapter-token-1";
    let a = adapter_with_token(
        &url,
        dir.path(),
        "adapter-token-1\n",
        &["--refresh-after", "7"],
    );

    // the metadata in the version asked for, with the database's time
    let m = get(
        &a,
        "/api/v1/metadata",
        Some("application/vnd.scanner.adapter.metadata+json; version=1.1"),
        Some(token),
    );
    assert_eq!(m.status, 200);
    assert_eq!(
        m.content_type,
        "application/vnd.scanner.adapter.metadata+json; version=1.1"
    );
    assert_eq!(m.body["scanner"]["name"], "rampart");
    let caps = m.body["capabilities"].as_array().unwrap();
    assert_eq!(caps[0]["type"], "vulnerability");
    assert!(
        caps[0]["produces_mime_types"]
            .as_array()
            .unwrap()
            .contains(&json!(VULN_V1_1))
    );
    assert_eq!(caps[1]["type"], "sbom");
    assert!(
        m.body["properties"]["harbor.scanner-adapter/vulnerability-database-updated-at"]
            .as_str()
            .is_some_and(|t| t.starts_with("20")),
        "{}",
        m.body
    );
    let old = get(
        &a,
        "/api/v1/metadata",
        Some("application/vnd.scanner.adapter.metadata+json; version=1.0"),
        Some(token),
    );
    assert_eq!(
        old.content_type,
        "application/vnd.scanner.adapter.metadata+json; version=1.0"
    );
    // the token is required
    assert_eq!(get(&a, "/api/v1/metadata", None, None).status, 401);
    assert_eq!(get(&a, "/api/v1/metadata", None, Some("wrong")).status, 401);

    // a scan request: 202 with an id; nothing runs it yet, so the report is a 302
    let accepted = post(
        &a,
        SCAN_REQUEST,
        &scan_request(&reg, "library/shop", &digest, &basic(USER, PASSWORD)),
        Some(token),
    );
    assert_eq!(accepted.status, 202, "{}", accepted.body);
    assert_eq!(
        accepted.content_type,
        "application/vnd.scanner.adapter.scan.response+json; version=1.0"
    );
    let id = accepted.body["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 36, "{id}");
    let pending = get(
        &a,
        &format!("/api/v1/scan/{id}/report"),
        Some(VULN_V1_1),
        Some(token),
    );
    assert_eq!(pending.status, 302);
    assert_eq!(pending.header("Refresh-After"), Some("7"));
    assert_eq!(pending.header("Retry-After"), Some("7"));
    // the job carries the credential while it waits
    let reference = format!("{}/library/shop@{digest}", reg.host());
    assert_eq!(
        sql(
            &pg,
            &url,
            &format!(
                "SELECT registry_auth = '{}' AND plain_http FROM fleet_jobs WHERE reference = '{reference}'",
                basic(USER, PASSWORD)
            )
        ),
        "t"
    );

    // a worker of the fleet (another process) pulls with it
    run_worker(&url);
    assert_eq!(
        sql(
            &pg,
            &url,
            &format!(
                "SELECT state || ':' || (registry_auth IS NULL) FROM fleet_jobs WHERE reference = '{reference}'"
            )
        ),
        "done:true",
        "the credential is cleared when the job ends"
    );

    // the report equals a direct scan's vulnerabilities with the same database
    let v11 = poll(&a, &id, VULN_V1_1, token, "");
    assert_eq!(v11.status, 200, "{}", v11.body);
    assert_eq!(v11.content_type, VULN_V1_1);
    let scan = direct(&["scan", "--format", "json", "--image"], &reference);
    let want = direct_rows(&scan);
    assert!(
        want.iter().any(|r| r.1 == "Jinja2"),
        "the direct scan found no Jinja2 advisory: {want:?}"
    );
    assert_eq!(harbor_rows(&v11.body), want);
    assert_eq!(v11.body["artifact"]["digest"], digest.as_str());
    assert_eq!(v11.body["artifact"]["repository"], "library/shop");
    assert_eq!(v11.body["artifact"]["tag"], "v1");
    let rank = |s: &str| {
        ["Unknown", "Low", "Medium", "High", "Critical"]
            .iter()
            .position(|x| *x == s)
            .unwrap()
    };
    let worst = want
        .iter()
        .map(|r| r.3.as_str())
        .max_by_key(|s| rank(s))
        .unwrap();
    assert_eq!(v11.body["severity"], worst);
    assert_eq!(worst, "High", "Werkzeug's CVSS 3.1 vector rates it high");
    // v1.1 carries the CVSS vector the severity came from, and where the package is
    let rated: Vec<&Value> = v11.body["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v.get("preferred_cvss").is_some())
        .collect();
    assert!(
        rated.iter().any(|v| v["package"] == "Werkzeug"
            && v["preferred_cvss"]["vector_v3"] == "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"
            && v["preferred_cvss"]["score_v3"] == 7.5),
        "{}",
        v11.body
    );
    let jinja = v11.body["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["package"] == "Jinja2")
        .unwrap();
    assert_eq!(jinja["vendor_attributes"]["purl"], "pkg:pypi/jinja2@2.10");
    assert!(
        jinja["layer"]["digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    // npm is not in the database: said, as the direct scan says it
    let npm = v11.body["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == "rampart:not-checked:npm")
        .unwrap_or_else(|| panic!("no not-checked item: {}", v11.body));
    assert_eq!(npm["severity"], "Unknown");
    assert_eq!(
        scan["images"][0]["vulnerabilities"]["not_checked"]["npm"], 1,
        "{}",
        scan["images"][0]
    );
    // Harbor's report of version 1.0: the same findings, no vendor attributes
    let v10 = get(
        &a,
        &format!("/api/v1/scan/{id}/report"),
        Some(VULN_V1_0),
        Some(token),
    );
    assert_eq!(v10.status, 200);
    assert_eq!(v10.content_type, VULN_V1_0);
    assert_eq!(harbor_rows(&v10.body), want);
    assert!(
        v10.body["vulnerabilities"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v.get("vendor_attributes").is_none() && v.get("preferred_cvss").is_none())
    );
    // no Accept: version 1.0, as the specification says
    assert_eq!(
        get(&a, &format!("/api/v1/scan/{id}/report"), None, Some(token)).content_type,
        VULN_V1_0
    );

    // the SBOMs list the packages `rampart sbom` lists
    let spdx = get(
        &a,
        &format!("/api/v1/scan/{id}/report?sbom_media_type=application%2Fspdx%2Bjson"),
        Some(SBOM),
        Some(token),
    );
    assert_eq!(spdx.status, 200, "{}", spdx.body);
    assert_eq!(spdx.content_type, SBOM);
    assert_eq!(spdx.body["media_type"], "application/spdx+json");
    let spdx_packages = |doc: &Value| -> BTreeSet<(String, String, String)> {
        doc["packages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["primaryPackagePurpose"] != "CONTAINER")
            .map(|p| {
                (
                    p["name"].as_str().unwrap().to_owned(),
                    p["versionInfo"].as_str().unwrap_or("").to_owned(),
                    p["licenseDeclared"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect()
    };
    let direct_spdx = direct(&["sbom", "--format", "spdx-json"], &reference);
    assert_eq!(
        spdx_packages(&spdx.body["sbom"]),
        spdx_packages(&direct_spdx)
    );
    // five packages and the operating system
    assert_eq!(spdx_packages(&direct_spdx).len(), 6, "{direct_spdx}");
    let cdx = get(
        &a,
        &format!("/api/v1/scan/{id}/report?sbom_media_type=application%2Fvnd.cyclonedx%2Bjson"),
        Some(SBOM),
        Some(token),
    );
    assert_eq!(cdx.status, 200);
    let components = |doc: &Value| -> BTreeSet<(String, String)> {
        doc["components"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["purl"].as_str().unwrap_or("").to_owned(),
                    c["version"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect()
    };
    let direct_cdx = direct(&["sbom", "--format", "cyclonedx-json"], &reference);
    assert_eq!(components(&cdx.body["sbom"]), components(&direct_cdx));

    // the same digest again: answered from the store at once
    let again = post(
        &a,
        SCAN_REQUEST,
        &scan_request(&reg, "library/shop", &digest, &basic(USER, PASSWORD)),
        Some(token),
    );
    assert_eq!(again.status, 202);
    let again_id = again.body["id"].as_str().unwrap();
    assert_ne!(again_id, id);
    let now = get(
        &a,
        &format!("/api/v1/scan/{again_id}/report"),
        Some(VULN_V1_1),
        Some(token),
    );
    assert_eq!(now.status, 200);
    assert_eq!(harbor_rows(&now.body), want);
    assert_eq!(
        sql(
            &pg,
            &url,
            "SELECT count(*) FROM fleet_jobs WHERE outcome = 'cached' AND registry_auth IS NULL"
        ),
        "1"
    );

    // a refused credential: the job fails, the report is the reason, without the password
    let other = push(&reg, "library/other", "2.0.0");
    let refused = post(
        &a,
        SCAN_REQUEST,
        &scan_request(
            &reg,
            "library/other",
            &other,
            &basic(USER, "not-the-password"),
        ),
        Some(token),
    );
    assert_eq!(refused.status, 202);
    let refused_id = refused.body["id"].as_str().unwrap();
    run_worker(&url);
    let failed = poll(&a, refused_id, VULN_V1_1, token, "");
    assert_eq!(failed.status, 500, "{}", failed.body);
    assert_eq!(failed.content_type, ERROR);
    let message = failed.body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("401") || message.contains("refused"),
        "{message}"
    );
    assert!(!message.contains("not-the-password"), "{message}");
    assert_eq!(
        sql(
            &pg,
            &url,
            "SELECT count(*) FROM fleet_jobs WHERE registry_auth IS NOT NULL"
        ),
        "0"
    );

    // bad requests answer as the specification says
    let mut no_digest = scan_request(&reg, "library/shop", &digest, &basic(USER, PASSWORD));
    no_digest["artifact"]
        .as_object_mut()
        .unwrap()
        .remove("digest");
    let r = post(&a, SCAN_REQUEST, &no_digest, Some(token));
    assert_eq!(r.status, 422);
    assert_eq!(r.content_type, ERROR);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("artifact.digest"),
        "{}",
        r.body
    );
    let r = post(
        &a,
        "application/json",
        &scan_request(&reg, "library/shop", &digest, &basic(USER, PASSWORD)),
        Some(token),
    );
    assert_eq!(r.status, 400);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Content-Type")
    );
    let r = get(
        &a,
        "/api/v1/scan/00000000-0000-4000-8000-000000000000/report",
        Some(VULN_V1_1),
        Some(token),
    );
    assert_eq!(r.status, 404);
    let r = get(
        &a,
        &format!("/api/v1/scan/{id}/report"),
        Some(SBOM),
        Some(token),
    );
    assert_eq!(r.status, 400, "an SBOM without sbom_media_type");
    let r = get(
        &a,
        &format!("/api/v1/scan/{id}/report"),
        Some("application/vnd.scanner.adapter.vuln.report.raw"),
        Some(token),
    );
    assert_eq!(r.status, 501);

    // an adapter without a database: SBOMs, never an empty vulnerability list; and its own
    // worker analyses a new image
    let sbom_only = adapter(&url, &["--fleet-workers", "1"]);
    let m = get(&sbom_only, "/api/v1/metadata", None, None);
    let types: Vec<&str> = m.body["capabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["sbom"]);
    let r = post(
        &sbom_only,
        SCAN_REQUEST,
        &scan_request(&reg, "library/shop", &digest, &basic(USER, PASSWORD)),
        None,
    );
    assert_eq!(r.status, 501, "{}", r.body);
    let third = push(&reg, "library/third", "3.0.0");
    let mut sbom_request = scan_request(&reg, "library/third", &third, &basic(USER, PASSWORD));
    sbom_request["enabled_capabilities"] = json!([{"type": "sbom"}]);
    let r = post(&sbom_only, SCAN_REQUEST, &sbom_request, None);
    assert_eq!(r.status, 202, "{}", r.body);
    let third_id = r.body["id"].as_str().unwrap().to_owned();
    let vuln = get(
        &sbom_only,
        &format!("/api/v1/scan/{third_id}/report"),
        Some(VULN_V1_1),
        None,
    );
    assert_eq!(vuln.status, 501);
    assert!(
        vuln.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no advisory database")
    );
    let end = Instant::now() + Duration::from_secs(120);
    let sbom = loop {
        let r = get(
            &sbom_only,
            &format!("/api/v1/scan/{third_id}/report?sbom_media_type=application/spdx%2Bjson"),
            Some(SBOM),
            None,
        );
        if r.status != 302 {
            break r;
        }
        assert!(Instant::now() < end, "the embedded worker did not finish");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(sbom.status, 200, "{}", sbom.body);
    assert!(
        spdx_packages(&sbom.body["sbom"])
            .iter()
            .any(|p| p.0 == "harborapp" && p.1 == "3.0.0"),
        "{}",
        sbom.body
    );
}

/// The hooks schemathesis loads: the vulnerability report of version 1.1 is JSON under a type
/// without `+json`, which it would otherwise not read (and so not check against the schema).
const HOOKS: &str = r#"
import schemathesis

@schemathesis.deserializer("application/vnd.security.vulnerability.report")
def vulnerability_report(ctx, response):
    return response.json()
"#;

/// Where the specification says more than its schemas: a schema-valid scan request can name a
/// registry URL, digest or credential that is not one (422, the specification's own example)
/// or an artifact type the adapter does not analyse (501); a report asked for in a type the
/// adapter does not make is a 501, an SBOM without a valid `sbom_media_type` a 400 (the
/// specification's words; its enum sits beside the parameter's schema, not in it). The report
/// operation reads an existing scan request.
fn schemathesis_config(scan_request_id: &str) -> String {
    format!(
        r#"hooks = "hooks.py"

[[operations]]
include-name = "POST /scan"
checks.positive_data_acceptance.expected-statuses = ["2xx", "422", "501"]
checks.not_a_server_error.expected-statuses = ["2xx", "3xx", "4xx", "501"]

[[operations]]
include-name = "GET /scan/{{scan_request_id}}/report"
parameters = {{ scan_request_id = "{scan_request_id}" }}
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "400", "404", "501"]
checks.not_a_server_error.expected-statuses = ["2xx", "3xx", "4xx", "501"]
"#
    )
}

#[test]
fn the_api_keeps_the_specification() {
    let reg = Registry::start(Auth::Htpasswd(vec![(USER, PASSWORD)]));
    let digest = push(&reg, "library/shop", "1.0.0");
    let waiting = push(&reg, "library/waiting", "1.1.0");
    let pg = Postgres::start();
    let url = pg.database();
    let dir = tempfile::tempdir().unwrap();
    let token = "schemathesis-token";
    // no worker but the one run below: the requests schemathesis makes up are queued, never
    // pulled
    let a = adapter_with_token(&url, dir.path(), token, &[]);
    // a scan request done (its reports are checked against the schemas), one left pending
    let r = post(
        &a,
        SCAN_REQUEST,
        &scan_request(&reg, "library/shop", &digest, &basic(USER, PASSWORD)),
        Some(token),
    );
    let done = r.body["id"].as_str().unwrap().to_owned();
    run_worker(&url);
    assert_eq!(
        poll(&a, &done, VULN_V1_1, token, "").status,
        200,
        "the scan is done"
    );
    let r = post(
        &a,
        SCAN_REQUEST,
        &scan_request(&reg, "library/waiting", &waiting, &basic(USER, PASSWORD)),
        Some(token),
    );
    let pending = r.body["id"].as_str().unwrap().to_owned();
    let scans_before: i64 = sql(&pg, &url, "SELECT count(*) FROM fleet_scans")
        .parse()
        .unwrap();

    let run = |id: &str, extra: &[&str]| {
        let config = schemathesis_config(id);
        browser::run_schemathesis_in(
            spec().to_str().unwrap(),
            &format!("{}/api/v1", a.base),
            &[("Authorization", &format!("Bearer {token}"))],
            extra,
            &[("schemathesis.toml", &config), ("hooks.py", HOOKS)],
        )
        .unwrap()
    };
    // every operation, the report of the scan done
    let check = run(&done, &[]);
    assert!(check.passed, "{}", check.output);
    assert!(
        !check.output.contains("Schema validation skipped"),
        "{}",
        check.output
    );
    // the report operation again on the pending scan: 302s and their headers
    let check = run(
        &pending,
        &[
            "--include-name",
            "GET /scan/{scan_request_id}/report",
            "--phases",
            "examples,coverage",
        ],
    );
    assert!(check.passed, "{}", check.output);
    // it did reach the operations: scan requests it made up were accepted
    let scans: i64 = sql(&pg, &url, "SELECT count(*) FROM fleet_scans")
        .parse()
        .unwrap();
    assert!(
        scans > scans_before,
        "schemathesis made no scan request that was accepted"
    );
}
