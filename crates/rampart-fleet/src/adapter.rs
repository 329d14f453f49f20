//! `rampart serve --scanner-adapter`: Harbor's pluggable scanner API over the fleet store
//! (docs/harbor.md). Blocking workers on `tiny_http`, each with its own connection to the
//! store, as the dashboard's server: a request is a few reads or one short transaction, and the
//! analysis itself runs in the fleet's workers (in this process with `--fleet-workers`, or
//! anywhere else on the same store).
//!
//! - `GET /api/v1/metadata`: the scanner and its capabilities;
//! - `POST /api/v1/scan`: a job for the artifact, `202` with the id;
//! - `GET /api/v1/scan/{id}/report`: `302` with `Refresh-After` and `Retry-After` while the job
//!   is queued or running, the report once it is done, `500` with the reason when it failed,
//!   `404` for an unknown id;
//! - `GET /probe/healthy`, `/probe/ready`: liveness, and readiness (the store answers), without
//!   the token.
//!
//! Every `/api/` request carries the bearer token when one is set (required off loopback).

// requests and headers come from the network: no indexing that could panic on them
#![deny(clippy::indexing_slicing)]

use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use serde_json::Value;
use tiny_http::{Header, Method, Request, Response};

use crate::FleetError;
use crate::harbor::{self, DatabaseFacts, ReportType, SbomMedia, ScanRequest, ScanState, mime};
use crate::inventory;
use crate::store::Store;

/// What can keep the adapter from starting.
#[derive(Debug, thiserror::Error)]
pub enum AdapterError {
    /// A non-loopback address without a token.
    #[error(
        "{0} is not a loopback address: give a bearer token (--token-file or RAMPART_TOKEN) to serve on it"
    )]
    NeedsToken(SocketAddr),
    /// An empty token.
    #[error("the bearer token is empty")]
    EmptyToken,
    /// The address cannot be bound.
    #[error("cannot listen on {addr}: {message}")]
    Bind { addr: SocketAddr, message: String },
    /// The advisory database cannot be read.
    #[error("the advisory database {path}: {message}")]
    Database { path: String, message: String },
    /// The store cannot be opened.
    #[error(transparent)]
    Store(#[from] FleetError),
}

/// How to serve.
#[derive(Debug, Clone)]
pub struct Options {
    /// where to listen
    pub addr: SocketAddr,
    /// the bearer token every `/api/` request must carry (required off loopback)
    pub token: Option<String>,
    /// request threads (each with a connection to the store)
    pub threads: usize,
    /// the advisory database vulnerability reports are matched against (none: SBOMs only)
    pub db: Option<PathBuf>,
    /// seconds a client is told to wait before asking again for a report being made
    pub refresh_after: u32,
    /// attempts of a job before it fails for good
    pub max_attempts: i32,
}

/// A running adapter.
pub struct Running {
    server: Arc<tiny_http::Server>,
    threads: Vec<std::thread::JoinHandle<()>>,
    addr: SocketAddr,
}

impl Running {
    /// The address it listens on (the port chosen when 0 was asked).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until the process ends.
    pub fn wait(self) {
        for t in self.threads {
            let _ = t.join();
        }
    }

    /// Stops serving and waits for the request threads.
    pub fn stop(self) {
        for _ in 0..self.threads.len() {
            self.server.unblock();
        }
        for t in self.threads {
            let _ = t.join();
        }
    }
}

/// The database's facts for the metadata, read again when the file changes (`rampart db
/// update` replaces it).
#[derive(Default)]
struct Facts {
    cached: Mutex<Option<(Option<SystemTime>, DatabaseFacts)>>,
}

fn read_facts(path: &std::path::Path) -> Result<DatabaseFacts, String> {
    let db = rampart_vuln::store::Database::open(path).map_err(|e| e.to_string())?;
    let status = db.status().map_err(|e| e.to_string())?;
    Ok(DatabaseFacts {
        built_at: status.built_at,
        ecosystems: status.coverage.keys().cloned().collect(),
    })
}

impl Facts {
    fn get(&self, path: &std::path::Path) -> Result<DatabaseFacts, String> {
        let mtime = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        if let Ok(c) = self.cached.lock()
            && let Some((at, facts)) = c.as_ref()
            && *at == mtime
        {
            return Ok(facts.clone());
        }
        let facts = read_facts(path)?;
        if let Ok(mut c) = self.cached.lock() {
            *c = Some((mtime, facts.clone()));
        }
        Ok(facts)
    }
}

struct Shared {
    o: Options,
    facts: Facts,
}

/// Opens the store (once per thread) and starts serving. The advisory database is opened once
/// now, so a wrong path stops the start rather than every report.
pub fn start(store_url: &str, o: Options) -> Result<Running, AdapterError> {
    if let Some(t) = &o.token
        && t.trim().is_empty()
    {
        return Err(AdapterError::EmptyToken);
    }
    if !o.addr.ip().is_loopback() && o.token.is_none() {
        return Err(AdapterError::NeedsToken(o.addr));
    }
    let facts = Facts::default();
    if let Some(db) = &o.db {
        facts.get(db).map_err(|message| AdapterError::Database {
            path: db.display().to_string(),
            message,
        })?;
    }
    let first = Store::open(store_url)?;
    let mut stores = Vec::new();
    for _ in 1..o.threads.max(1) {
        stores.push(first.another()?);
    }
    stores.push(first);
    let server = tiny_http::Server::http(o.addr).map_err(|e| AdapterError::Bind {
        addr: o.addr,
        message: e.to_string(),
    })?;
    let addr = server
        .server_addr()
        .to_ip()
        .ok_or_else(|| AdapterError::Bind {
            addr: o.addr,
            message: "not an IP socket".into(),
        })?;
    let server = Arc::new(server);
    let shared = Arc::new(Shared { o, facts });
    let threads = stores
        .into_iter()
        .map(|mut store| {
            let server = Arc::clone(&server);
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || {
                while let Ok(req) = server.recv() {
                    handle(&mut store, &shared, req);
                }
            })
        })
        .collect();
    Ok(Running {
        server,
        threads,
        addr,
    })
}

/// A response on its way out.
struct Reply {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
    extra: Vec<(&'static str, String)>,
}

impl Reply {
    fn json(status: u16, content_type: &'static str, v: &Value) -> Self {
        Self {
            status,
            content_type,
            body: serde_json::to_vec(v).unwrap_or_default(),
            extra: Vec::new(),
        }
    }

    fn error(status: u16, message: &str) -> Self {
        Self::json(status, mime::ERROR, &harbor::error_body(message))
    }

    fn empty(status: u16) -> Self {
        Self {
            status,
            content_type: "text/plain; charset=utf-8",
            body: Vec::new(),
            extra: Vec::new(),
        }
    }
}

fn header_value<'r>(req: &'r Request, name: &'static str) -> Option<&'r str> {
    req.headers()
        .iter()
        .find(|h| h.field.equiv(name))
        .map(|h| h.value.as_str())
}

/// Constant-time comparison of a presented token with the configured one.
fn token_matches(given: &str, want: &str) -> bool {
    let (a, b) = (given.as_bytes(), want.as_bytes());
    let mut diff = a.len() ^ b.len();
    for (i, x) in b.iter().enumerate() {
        diff |= usize::from(a.get(i).copied().unwrap_or(0) ^ x);
    }
    diff == 0
}

fn handle(store: &mut Store, shared: &Shared, mut req: Request) {
    let url = req.url().to_owned();
    let (path, query) = url.split_once('?').unwrap_or((url.as_str(), ""));
    let reply = route(store, shared, &mut req, path, query);
    let mut resp = Response::from_data(reply.body).with_status_code(reply.status);
    let mut headers = vec![
        ("Content-Type", reply.content_type.to_owned()),
        ("X-Content-Type-Options", "nosniff".to_owned()),
        ("Cache-Control", "no-store".to_owned()),
    ];
    headers.extend(reply.extra);
    for (k, v) in headers {
        if let Ok(h) = Header::from_bytes(k.as_bytes(), v.as_bytes()) {
            resp.add_header(h);
        }
    }
    if let Err(e) = req.respond(resp) {
        tracing::warn!(path, error = %e, "cannot answer");
    }
}

fn route(store: &mut Store, shared: &Shared, req: &mut Request, path: &str, query: &str) -> Reply {
    let o = &shared.o;
    match path {
        "/probe/healthy" => return Reply::empty(200),
        "/probe/ready" => {
            return match store.with(|c| c.query_one("SELECT 1", &[]).map(|_| ())) {
                Ok(()) => Reply::empty(200),
                Err(e) => Reply::error(503, &format!("the fleet store: {e}")),
            };
        }
        _ => {}
    }
    if let Some(want) = &o.token {
        let given = header_value(req, "Authorization")
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        if !given.is_some_and(|g| token_matches(g, want)) {
            let mut r = Reply::error(
                401,
                "this scanner adapter needs its bearer token (Authorization: Bearer)",
            );
            r.extra
                .push(("WWW-Authenticate", "Bearer realm=\"rampart\"".into()));
            return r;
        }
    }
    let method = req.method().clone();
    let allow = |allowed: &'static str| {
        let mut r = Reply::error(405, &format!("method not allowed here: {allowed} only"));
        r.extra.push(("Allow", allowed.to_owned()));
        r
    };
    if path == "/api/v1/metadata" {
        if method != Method::Get {
            return allow("GET");
        }
        return metadata(shared, header_value(req, "Accept"));
    }
    if path == "/api/v1/scan" {
        if method != Method::Post {
            return allow("POST");
        }
        return scan(store, o, req);
    }
    if let Some(id) = path
        .strip_prefix("/api/v1/scan/")
        .and_then(|rest| rest.strip_suffix("/report"))
        .filter(|id| !id.contains('/'))
    {
        if method != Method::Get {
            return allow("GET");
        }
        let id: String = form_urlencoded::parse(format!("x={id}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        let sbom_media_type = form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == "sbom_media_type")
            .map(|(_, v)| v.into_owned());
        return report(
            store,
            shared,
            &id,
            header_value(req, "Accept"),
            sbom_media_type.as_deref(),
        );
    }
    Reply::error(404, &format!("no such endpoint: {path}"))
}

fn metadata(shared: &Shared, accept: Option<&str>) -> Reply {
    let version = harbor::metadata_version(accept);
    let facts = match &shared.o.db {
        None => None,
        Some(db) => match shared.facts.get(db) {
            Ok(f) => Some(f),
            Err(e) => {
                return Reply::error(500, &format!("the advisory database {}: {e}", db.display()));
            }
        },
    };
    Reply::json(200, version, &harbor::metadata(version, facts.as_ref()))
}

fn scan(store: &mut Store, o: &Options, req: &mut Request) -> Reply {
    let content_type = header_value(req, "Content-Type").map(str::to_owned);
    let mut body = Vec::new();
    if let Err(e) = req
        .as_reader()
        .take(harbor::MAX_REQUEST_BYTES as u64 + 1)
        .read_to_end(&mut body)
    {
        return Reply::error(400, &format!("reading the request: {e}"));
    }
    let parsed = match ScanRequest::parse(content_type.as_deref(), &body, o.db.is_some()) {
        Ok(r) => r,
        Err(refusal) => return Reply::error(refusal.status(), refusal.message()),
    };
    match harbor::accept(
        store,
        &parsed,
        &crate::analyse::analysis_version(),
        o.max_attempts,
    ) {
        Ok(a) => {
            tracing::info!(id = %a.id, job = a.job, reference = %parsed.reference, cached = a.cached, "scan accepted");
            Reply::json(202, mime::SCAN_RESPONSE, &serde_json::json!({"id": a.id}))
        }
        Err(e) => Reply::error(500, &format!("queueing the scan: {e}")),
    }
}

fn now() -> String {
    jiff::Timestamp::now().to_string()
}

fn report(
    store: &mut Store,
    shared: &Shared,
    id: &str,
    accept: Option<&str>,
    sbom_media_type: Option<&str>,
) -> Reply {
    let o = &shared.o;
    let scan = match harbor::lookup(store, id) {
        Ok(Some(s)) => s,
        Ok(None) => {
            return Reply::error(
                404,
                &format!(
                    "no scan request {}: unknown, or older than {} days",
                    id.chars().take(64).collect::<String>(),
                    harbor::SCAN_TTL_DAYS
                ),
            );
        }
        Err(e) => return Reply::error(500, &format!("reading the scan request: {e}")),
    };
    let kind = match harbor::negotiate(accept) {
        Ok(k) => k,
        Err(e) => return Reply::error(501, &e),
    };
    // what is made, decided before the job's state: a client asking for what cannot be made
    // is told so at once rather than after the analysis
    enum Want<'a> {
        Vulnerabilities(&'a std::path::Path),
        Sbom(SbomMedia),
    }
    let want = if kind == ReportType::Sbom {
        match SbomMedia::parse(sbom_media_type) {
            Ok(m) => Want::Sbom(m),
            Err(e) => return Reply::error(400, &e),
        }
    } else {
        match &o.db {
            Some(db) => Want::Vulnerabilities(db),
            // fail closed: without advisories an empty list would read as "no vulnerability"
            None => {
                return Reply::error(
                    501,
                    "this adapter has no advisory database (--db): it makes SBOM reports only, never a vulnerability report that checked nothing",
                );
            }
        }
    };
    match (scan.state.clone(), want) {
        (ScanState::Pending, _) => pending(o),
        (ScanState::Failed(reason), _) => Reply::error(500, &reason),
        (ScanState::Done, Want::Vulnerabilities(db)) => vulnerabilities(store, &scan, kind, db),
        (ScanState::Done, Want::Sbom(media)) => sbom(store, &scan, media),
    }
}

fn pending(o: &Options) -> Reply {
    let mut r = Reply::empty(302);
    let secs = o.refresh_after.to_string();
    // the specification's header, and the one HTTP knows
    r.extra.push(("Refresh-After", secs.clone()));
    r.extra.push(("Retry-After", secs));
    r
}

fn stored(store: &mut Store, scan: &harbor::Scan) -> Result<inventory::StoredImage, Reply> {
    match inventory::stored_image(store, &scan.artifact.digest) {
        Ok(Some(i)) => Ok(i),
        Ok(None) => Err(Reply::error(
            500,
            &format!(
                "{}: the job is done but the store holds no analysis of it (removed?): request a new scan",
                scan.artifact.digest
            ),
        )),
        Err(e) => Err(Reply::error(500, &format!("reading the analysis: {e}"))),
    }
}

fn vulnerabilities(
    store: &mut Store,
    scan: &harbor::Scan,
    kind: ReportType,
    db_path: &std::path::Path,
) -> Reply {
    let image = match stored(store, scan) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let result = (|| -> Result<Value, String> {
        let db = rampart_vuln::store::Database::open(db_path).map_err(|e| e.to_string())?;
        let subject = format!("Image {}", image.name);
        let matches = rampart_vuln::matcher::match_packages(
            &db,
            &subject,
            &image.packages,
            image.distro.as_ref(),
        )
        .map_err(|e| e.to_string())?;
        let coverage = db.coverage().map_err(|e| e.to_string())?;
        Ok(harbor::vulnerability_report(
            kind,
            &scan.artifact,
            &matches,
            coverage,
            image.unreadable,
            &now(),
        ))
    })();
    match result {
        Ok(v) => Reply::json(200, kind.mime(), &v),
        Err(e) => Reply::error(
            500,
            &format!(
                "matching against the advisory database {}: {e}",
                db_path.display()
            ),
        ),
    }
}

fn sbom(store: &mut Store, scan: &harbor::Scan, media: SbomMedia) -> Reply {
    let image = match stored(store, scan) {
        Ok(i) => i,
        Err(r) => return r,
    };
    // the config digest and platform, from the stored report's image summary
    let summary = inventory::report(store, &scan.artifact.digest)
        .ok()
        .flatten()
        .and_then(|r| serde_json::from_str::<Value>(&r).ok())
        .and_then(|r| r.get("images").and_then(|i| i.get(0)).cloned())
        .unwrap_or(Value::Null);
    let registry = rampart_registry::Reference::parse(&image.name)
        .map(|r| r.registry().to_owned())
        .unwrap_or_default();
    let src = harbor::SbomSource {
        registry: &registry,
        artifact: &scan.artifact,
        config_digest: summary.get("id").and_then(Value::as_str).map(str::to_owned),
        platform: summary
            .get("platform")
            .and_then(Value::as_str)
            .map(str::to_owned),
        distro: image.distro.clone(),
        packages: &image.packages,
    };
    let opts = match rampart_sbom::Options::fresh(jiff::Timestamp::now()) {
        Ok(o) => o,
        Err(e) => return Reply::error(500, &e.to_string()),
    };
    match harbor::sbom_report(&src, media, &opts, &now()) {
        Ok(v) => Reply::json(200, mime::SBOM_REPORT, &v),
        Err(e) => Reply::error(500, &e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_whole() {
        assert!(token_matches("s3cret", "s3cret"));
        assert!(!token_matches("s3cre", "s3cret"));
        assert!(!token_matches("", "s3cret"));
    }
}
