//! `rampart serve`: the dashboard over a history store. Read-only (GET and HEAD only; the
//! store is only read), on loopback unless a bearer token is set; every response carries a
//! Content-Security-Policy that allows no script and no load from elsewhere, and a
//! `Server-Timing` header with the time the page took on the server.
//!
//! Blocking workers on `tiny_http`, each with its own connection to the store: the requests
//! are a few reads each, and a thread per worker keeps the store's connection single-owner.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rampart_core::Rule;
use rampart_history::{HistoryError, Store};
use serde::Serialize;
use tiny_http::{Header, Method, Request, Response};

use crate::view::Filter;
use crate::{Settings, html, view};

/// The OpenAPI document of the JSON API.
pub const OPENAPI: &str = include_str!("../openapi.json");

/// The cookie a browser keeps the token in after `?token=` (a page's links carry no header).
const TOKEN_COOKIE: &str = "rampart_token";

/// What can keep the dashboard from starting.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
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
    /// The store cannot be opened.
    #[error(transparent)]
    Store(#[from] HistoryError),
}

/// How to serve.
#[derive(Debug, Clone)]
pub struct Options {
    /// where to listen
    pub addr: SocketAddr,
    /// the bearer token every request must carry (required off loopback)
    pub token: Option<String>,
    /// worker threads (each with a connection to the store)
    pub workers: usize,
    /// what pages are computed with
    pub settings: Settings,
    /// the rule catalog (rule pages)
    pub rules: Vec<&'static Rule>,
}

/// A running dashboard.
pub struct Running {
    server: Arc<tiny_http::Server>,
    workers: Vec<std::thread::JoinHandle<()>>,
    addr: SocketAddr,
}

impl Running {
    /// The address it listens on (the port chosen when 0 was asked).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until the process ends.
    pub fn wait(self) {
        for w in self.workers {
            let _ = w.join();
        }
    }

    /// Stops serving and waits for the workers.
    pub fn stop(self) {
        self.server.unblock();
        for _ in 1..self.workers.len() {
            self.server.unblock();
        }
        for w in self.workers {
            let _ = w.join();
        }
    }
}

/// Opens the store (once per worker) and starts serving.
pub fn start(location: &str, o: Options) -> Result<Running, ServeError> {
    if let Some(t) = &o.token
        && t.trim().is_empty()
    {
        return Err(ServeError::EmptyToken);
    }
    if !o.addr.ip().is_loopback() && o.token.is_none() {
        return Err(ServeError::NeedsToken(o.addr));
    }
    // the first connection migrates a store written by an older rampart; the others then
    // find it current
    let mut stores = vec![Store::open(location)?];
    for _ in 1..o.workers.max(1) {
        stores.push(Store::open(location)?);
    }
    let server = tiny_http::Server::http(o.addr).map_err(|e| ServeError::Bind {
        addr: o.addr,
        message: e.to_string(),
    })?;
    let addr = server
        .server_addr()
        .to_ip()
        .ok_or_else(|| ServeError::Bind {
            addr: o.addr,
            message: "not an IP socket".into(),
        })?;
    let server = Arc::new(server);
    let shared = Arc::new(o);
    let cache = Arc::new(Cache::default());
    let workers = stores
        .into_iter()
        .map(|mut store| {
            let server = Arc::clone(&server);
            let o = Arc::clone(&shared);
            let cache = Arc::clone(&cache);
            std::thread::spawn(move || {
                while let Ok(req) = server.recv() {
                    handle(&mut store, &o, &cache, req);
                }
            })
        })
        .collect();
    Ok(Running {
        server,
        workers,
        addr,
    })
}

fn header(name: &str, value: &str) -> Option<Header> {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).ok()
}

/// How long a computed page is served again while the store is unchanged (ages and deadlines
/// move with the clock).
pub const CACHE_TTL: Duration = Duration::from_secs(60);

/// Pages kept at most (the oldest are dropped beyond).
const CACHE_MAX: usize = 256;

/// Pages computed since the store last changed, served again without reading it: a dashboard
/// is read far more often than its store is written (a scan or an import a few times a day).
/// An entry is good while the store's version (its newest run and newest event) is the one it
/// was computed at, and for at most [`CACHE_TTL`].
#[derive(Default)]
struct Cache {
    entries: Mutex<HashMap<String, (Version, Instant, Reply)>>,
}

/// The store's newest run and newest event: any write changes one of them.
type Version = (i64, i64);

fn version(store: &mut Store) -> Result<Version, HistoryError> {
    store.read(|tx| {
        let run = tx
            .one("SELECT MAX(id) FROM runs", &[])?
            .and_then(|v| v.int());
        let event = tx
            .one("SELECT MAX(id) FROM events", &[])?
            .and_then(|v| v.int());
        Ok((run.unwrap_or(0), event.unwrap_or(0)))
    })
}

impl Cache {
    fn get(&self, key: &str, v: Version) -> Option<Reply> {
        let entries = self.entries.lock().ok()?;
        let (at_version, at, reply) = entries.get(key)?;
        (*at_version == v && at.elapsed() < CACHE_TTL).then(|| reply.clone())
    }

    fn put(&self, key: String, v: Version, reply: &Reply) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= CACHE_MAX {
                let oldest = entries
                    .iter()
                    .min_by_key(|(_, (_, at, _))| *at)
                    .map(|(k, _)| k.clone());
                if let Some(k) = oldest {
                    entries.remove(&k);
                }
            }
            entries.insert(key, (v, Instant::now(), reply.clone()));
        }
    }
}

/// A response on its way out: status, type and body.
#[derive(Clone)]
struct Reply {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
    extra: Vec<(String, String)>,
    /// served from the cache
    cached: bool,
}

impl Reply {
    fn html(status: u16, m: maud::Markup) -> Reply {
        Reply {
            status,
            content_type: "text/html; charset=utf-8",
            body: m.into_string().into_bytes(),
            extra: Vec::new(),
            cached: false,
        }
    }

    fn json(status: u16, v: &impl Serialize) -> Reply {
        let body = serde_json::to_vec(v).unwrap_or_else(|e| {
            format!("{{\"error\":\"cannot serialise the answer: {e}\"}}").into_bytes()
        });
        Reply {
            status,
            content_type: "application/json",
            body,
            extra: Vec::new(),
            cached: false,
        }
    }

    fn error(api: bool, status: u16, title: &str, message: &str) -> Reply {
        if api {
            Reply::json(status, &serde_json::json!({ "error": message }))
        } else {
            Reply::html(status, html::message_page(title, message))
        }
    }
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

/// The token a request carries: `Authorization: Bearer`, else the cookie.
fn presented(req: &Request) -> Option<String> {
    for h in req.headers() {
        if h.field.equiv("Authorization")
            && let Some(t) = h.value.as_str().strip_prefix("Bearer ")
        {
            return Some(t.trim().to_owned());
        }
    }
    for h in req.headers() {
        if h.field.equiv("Cookie") {
            for part in h.value.as_str().split(';') {
                if let Some((k, v)) = part.trim().split_once('=')
                    && k == TOKEN_COOKIE
                {
                    return Some(v.to_owned());
                }
            }
        }
    }
    None
}

fn handle(store: &mut Store, o: &Options, cache: &Cache, req: Request) {
    let started = Instant::now();
    let url = req.url().to_owned();
    let (path, query) = url.split_once('?').unwrap_or((url.as_str(), ""));
    let head = *req.method() == Method::Head;
    let reply = route(store, o, cache, &req, path, query);
    let mut resp = Response::from_data(if head { Vec::new() } else { reply.body })
        .with_status_code(reply.status);
    let elapsed = started.elapsed().as_secs_f64() * 1000.0;
    let mut headers = vec![
        ("Content-Type".to_owned(), reply.content_type.to_owned()),
        ("Content-Security-Policy".to_owned(), html::CSP.to_owned()),
        ("X-Content-Type-Options".to_owned(), "nosniff".to_owned()),
        ("Referrer-Policy".to_owned(), "no-referrer".to_owned()),
        ("Cache-Control".to_owned(), "no-store".to_owned()),
        (
            "Server-Timing".to_owned(),
            format!(
                "app;dur={elapsed:.1}, cache;desc={}",
                if reply.cached { "hit" } else { "miss" }
            ),
        ),
    ];
    headers.extend(reply.extra);
    for (k, v) in headers {
        if let Some(h) = header(&k, &v) {
            resp.add_header(h);
        }
    }
    if let Err(e) = req.respond(resp) {
        eprintln!("rampart serve: {path}: cannot answer: {e}");
    }
}

fn route(
    store: &mut Store,
    o: &Options,
    cache: &Cache,
    req: &Request,
    path: &str,
    query: &str,
) -> Reply {
    let api = path.starts_with("/api/") || path == "/openapi.json";
    if !matches!(req.method(), Method::Get | Method::Head) {
        let mut r = Reply::error(
            api,
            405,
            "Method not allowed",
            "the dashboard is read-only: GET and HEAD only",
        );
        r.extra.push(("Allow".into(), "GET, HEAD".into()));
        return r;
    }
    if let Some(want) = &o.token {
        // `?token=` from a link: kept as a cookie, then the address without it
        let from_query = form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == "token")
            .map(|(_, v)| v.into_owned());
        if let Some(t) = from_query {
            if !token_matches(&t, want) {
                return unauthorized(api);
            }
            let rest: String = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(
                    form_urlencoded::parse(query.as_bytes()).filter(|(k, _)| k != "token"),
                )
                .finish();
            let mut r = Reply::html(303, html::message_page("Signed in", "Signed in."));
            r.extra.push((
                "Location".into(),
                if rest.is_empty() {
                    path.to_owned()
                } else {
                    format!("{path}?{rest}")
                },
            ));
            r.extra.push((
                "Set-Cookie".into(),
                format!("{TOKEN_COOKIE}={t}; HttpOnly; SameSite=Strict; Path=/"),
            ));
            return r;
        }
        match presented(req) {
            Some(t) if token_matches(&t, want) => {}
            _ => return unauthorized(api),
        }
    }
    if path == "/openapi.json" {
        return Reply {
            status: 200,
            content_type: "application/json",
            body: OPENAPI.as_bytes().to_vec(),
            extra: Vec::new(),
            cached: false,
        };
    }
    if path == "/healthz" {
        return Reply {
            status: 200,
            content_type: "text/plain; charset=utf-8",
            body: b"ok\n".to_vec(),
            extra: Vec::new(),
            cached: false,
        };
    }
    let f = match Filter::from_query(query) {
        Ok(f) => f,
        Err(e) => return Reply::error(api, 400, "Bad request", &e.to_string()),
    };
    // the token is not part of the key: it was checked above, and a page is the same for all
    let key = format!("{path}?{query}");
    let current = version(store).ok();
    if let Some(v) = current
        && let Some(mut hit) = cache.get(&key, v)
    {
        hit.cached = true;
        return hit;
    }
    let reply = compute(store, o, &f, path);
    if let Some(v) = current
        && reply.status == 200
    {
        cache.put(key, v, &reply);
    }
    reply
}

/// A data page or API answer, read from the store.
fn compute(store: &mut Store, o: &Options, f: &Filter, path: &str) -> Reply {
    let api = path.starts_with("/api/");
    let generated = format!(
        "{} · {}",
        store.location(),
        crate::svg::date(o.settings.now())
    );
    let result: Result<Reply, HistoryError> = match path {
        "/" => crate::overview(store, f, &o.settings).map(|ov| {
            Reply::html(
                200,
                html::overview(&ov.metrics, &ov.castle, &ov.trends, f, &generated),
            )
        }),
        "/findings" => store
            .read(|tx| Ok((view::findings(tx, f)?, view::facets(tx, f)?)))
            .map(|(fs, c)| Reply::html(200, html::findings_page(&fs, &c, f, &generated))),
        "/events" => store
            .read(|tx| view::events(tx, f))
            .map(|ev| Reply::html(200, html::events_page(&ev, f, &generated))),
        "/api/metrics" => {
            rampart_history::metrics::compute(store, &o.settings.options(f.scope.as_deref()))
                .map(|m| Reply::json(200, &m))
        }
        "/api/castle" => store
            .read(|tx| view::castle(tx, f))
            .map(|c| Reply::json(200, &c)),
        "/api/findings" => store
            .read(|tx| view::findings(tx, f))
            .map(|c| Reply::json(200, &c)),
        "/api/events" => store
            .read(|tx| view::events(tx, f))
            .map(|c| Reply::json(200, &c)),
        "/api/trends" => {
            let now = o.settings.now();
            store
                .read(|tx| {
                    let (from, to) = view::default_period(tx, now, o.settings.max_days)?;
                    view::trends(tx, f, from, to, &o.settings.deadlines)
                })
                .map(|t| Reply::json(200, &t))
        }
        _ => {
            if let Some(id) = path.strip_prefix("/rules/") {
                let id: String = form_urlencoded::parse(format!("x={id}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default();
                return match o.rules.iter().find(|r| r.id.eq_ignore_ascii_case(&id)) {
                    Some(r) => Reply::html(200, html::rule_page(r, &generated)),
                    None => Reply::error(false, 404, "Not found", &format!("no rule {id}")),
                };
            }
            return Reply::error(api, 404, "Not found", &format!("no page {path}"));
        }
    };
    result.unwrap_or_else(|e| {
        eprintln!("rampart serve: {path}: {e}");
        Reply::error(
            api,
            500,
            "Store error",
            &format!("the store could not be read: {e}"),
        )
    })
}

fn unauthorized(api: bool) -> Reply {
    let mut r = Reply::error(
        api,
        401,
        "Token required",
        "this dashboard needs its bearer token: an `Authorization: Bearer` header, or open it once with ?token=",
    );
    r.extra
        .push(("WWW-Authenticate".into(), "Bearer realm=\"rampart\"".into()));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_whole() {
        assert!(token_matches("s3cret", "s3cret"));
        assert!(!token_matches("s3cre", "s3cret"));
        assert!(!token_matches("s3cretX", "s3cret"));
        assert!(!token_matches("", "s3cret"));
    }
}
