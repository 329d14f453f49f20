//! The HTTPS server: AdmissionReview in, AdmissionReview out, within a deadline.
//!
//! Each review runs the [`Reviewer`] on tokio's blocking pool, holding one of
//! [`ServerConfig::max_concurrent`] permits. When no permit is free (overload), when the
//! reviewer does not answer within [`ServerConfig::deadline_ms`], or when it panics, the answer
//! is given by the [`FailureMode`] at once; a late result is discarded. Nothing is queued
//! without bound and no request waits past its deadline.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{ALLOW, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio_rustls::TlsAcceptor;

use crate::audit::{AuditError, AuditLog, AuditRecord, AuditTarget};
use crate::metrics::Metrics;
use crate::review::{
    API_VERSION, AdmissionRequest, AdmissionResponse, AdmissionReview, Decision, Endpoint, KIND,
    Reviewer,
};
use crate::tls::{ReloadingCert, TlsError};

pub use crate::config::FailureMode;

/// The `[server]` table of the admission configuration file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ServerConfig {
    /// Address to listen on; default `0.0.0.0:8443`.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// The serving certificate chain (PEM); default `/etc/rampart/tls/tls.crt`.
    #[serde(default = "default_cert")]
    pub cert: PathBuf,
    /// The serving key (PEM); default `/etc/rampart/tls/tls.key`.
    #[serde(default = "default_key")]
    pub key: PathBuf,
    /// Largest request body accepted, in bytes; default 8 MiB (kube-apiserver sends `object`
    /// and `oldObject`, each up to etcd's 1.5 MiB limit, as JSON that may grow on conversion).
    #[serde(default = "default_body_limit")]
    pub body_limit: u64,
    /// Time allowed for one review from its arrival, in milliseconds; default 3000, below the
    /// `timeoutSeconds: 5` of the generated webhook configurations.
    #[serde(default = "default_deadline_ms")]
    pub deadline_ms: u64,
    /// Decisions running at once at most; beyond, the failure mode answers; default 64.
    #[serde(default = "default_max_concurrent")]
    pub max_concurrent: usize,
    /// The answer when no decision can be made in time (deadline, overload, internal error):
    /// not a key of `[server]` but the configuration's top-level `failure-mode`, the same one
    /// that decides when a gate cannot (one switch for failing closed or open).
    #[serde(skip)]
    pub failure_mode: FailureMode,
    /// `"stdout"` (default), `"none"` or a file path for the JSON-lines audit log.
    #[serde(default)]
    pub audit_log: AuditTarget,
    /// Threads serving connections; 0 (default) means one per CPU.
    #[serde(default)]
    pub worker_threads: usize,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([0, 0, 0, 0], 8443))
}
fn default_cert() -> PathBuf {
    PathBuf::from("/etc/rampart/tls/tls.crt")
}
fn default_key() -> PathBuf {
    PathBuf::from("/etc/rampart/tls/tls.key")
}
fn default_body_limit() -> u64 {
    8 * 1024 * 1024
}
fn default_deadline_ms() -> u64 {
    3000
}
fn default_max_concurrent() -> usize {
    64
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: default_listen(),
            cert: default_cert(),
            key: default_key(),
            body_limit: default_body_limit(),
            deadline_ms: default_deadline_ms(),
            max_concurrent: default_max_concurrent(),
            failure_mode: FailureMode::Deny,
            audit_log: AuditTarget::Stdout,
            worker_threads: 0,
        }
    }
}

/// Errors starting or running the server.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The certificate or key could not be loaded.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The audit log could not be opened.
    #[error(transparent)]
    Audit(#[from] AuditError),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The async runtime could not be built.
    #[error("cannot start the runtime: {0}")]
    Runtime(std::io::Error),
    /// A configuration value is out of range.
    #[error("server configuration: {0}")]
    Config(String),
}

/// Why the failure mode answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cause {
    Deadline,
    Overload,
    Panic,
    Malformed,
}

impl Cause {
    fn as_str(self) -> &'static str {
        match self {
            Cause::Deadline => "deadline",
            Cause::Overload => "overload",
            Cause::Panic => "panic",
            Cause::Malformed => "malformed",
        }
    }
}

struct State {
    reviewer: Arc<dyn Reviewer>,
    permits: Arc<Semaphore>,
    deadline: Duration,
    body_limit: u64,
    max_concurrent: usize,
    failure_mode: FailureMode,
    metrics: Metrics,
    audit: AuditLog,
    ready: AtomicBool,
}

/// Stops a running [`Server`]; cheap to clone.
#[derive(Debug, Clone)]
pub struct ShutdownHandle {
    sender: Arc<watch::Sender<bool>>,
}

impl ShutdownHandle {
    /// Asks the server to stop: it stops accepting, finishes the reviews in progress (up to
    /// one deadline), flushes the audit log and returns from [`Server::run`].
    pub fn shutdown(&self) {
        self.sender.send_replace(true);
    }
}

/// A bound, not yet running, webhook server.
pub struct Server {
    runtime: tokio::runtime::Runtime,
    listener: TcpListener,
    acceptor: TlsAcceptor,
    state: Arc<State>,
    shutdown: watch::Receiver<bool>,
    handle: ShutdownHandle,
    local_addr: SocketAddr,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Loads the certificate, opens the audit log, builds the runtime and binds the listen
    /// address (port 0 picks a free port: see [`Server::local_addr`]).
    pub fn bind(config: ServerConfig, reviewer: Arc<dyn Reviewer>) -> Result<Server, ServerError> {
        if config.max_concurrent == 0 {
            return Err(ServerError::Config(
                "max-concurrent must be at least 1, found 0".to_owned(),
            ));
        }
        if config.deadline_ms == 0 {
            return Err(ServerError::Config(
                "deadline-ms must be at least 1, found 0".to_owned(),
            ));
        }
        let resolver = Arc::new(ReloadingCert::load(&config.cert, &config.key)?);
        let acceptor = TlsAcceptor::from(Arc::new(crate::tls::server_config(resolver)?));
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder
            .enable_all()
            .thread_name("rampart-admission")
            // Reviewers hold a permit while they run, so at most `max_concurrent` blocking
            // threads decide at once; the margin leaves room for tokio's own blocking work.
            .max_blocking_threads(config.max_concurrent.saturating_add(4));
        if config.worker_threads > 0 {
            builder.worker_threads(config.worker_threads);
        }
        let runtime = builder.build().map_err(ServerError::Runtime)?;
        let addr = config.listen;
        let listener = runtime
            .block_on(TcpListener::bind(addr))
            .map_err(|source| ServerError::Bind { addr, source })?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| ServerError::Bind { addr, source })?;
        let audit = AuditLog::start(&config.audit_log)?;
        let state = Arc::new(State {
            reviewer,
            permits: Arc::new(Semaphore::new(config.max_concurrent)),
            deadline: Duration::from_millis(config.deadline_ms),
            body_limit: config.body_limit,
            max_concurrent: config.max_concurrent,
            failure_mode: config.failure_mode,
            metrics: Metrics::new(),
            audit,
            ready: AtomicBool::new(true),
        });
        let (sender, shutdown) = watch::channel(false);
        Ok(Server {
            runtime,
            listener,
            acceptor,
            state,
            shutdown,
            handle: ShutdownHandle {
                sender: Arc::new(sender),
            },
            local_addr,
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// A handle that stops [`Server::run`] from another thread.
    pub fn handle(&self) -> ShutdownHandle {
        self.handle.clone()
    }

    /// Serves until [`ShutdownHandle::shutdown`] is called, then shuts down gracefully.
    pub fn run(self) -> Result<(), ServerError> {
        self.serve(false)
    }

    /// Like [`Server::run`], and also stops on SIGTERM or SIGINT (what kubelet sends).
    pub fn run_until_signal(self) -> Result<(), ServerError> {
        self.serve(true)
    }

    fn serve(self, signals: bool) -> Result<(), ServerError> {
        let Server {
            runtime,
            listener,
            acceptor,
            state,
            mut shutdown,
            handle,
            ..
        } = self;
        if signals {
            let handle = handle.clone();
            runtime.spawn(async move {
                wait_for_signal().await;
                handle.shutdown();
            });
        }
        let grace = state.deadline.saturating_add(Duration::from_secs(1));
        runtime.block_on(async {
            let graceful = hyper_util::server::graceful::GracefulShutdown::new();
            loop {
                tokio::select! {
                    changed = shutdown.changed() => {
                        if changed.is_err() || *shutdown.borrow() {
                            break;
                        }
                    }
                    accepted = listener.accept() => {
                        let Ok((tcp, _peer)) = accepted else {
                            // EMFILE and the like: back off briefly instead of spinning.
                            tokio::time::sleep(Duration::from_millis(10)).await;
                            continue;
                        };
                        let _ = tcp.set_nodelay(true);
                        let acceptor = acceptor.clone();
                        let state = Arc::clone(&state);
                        let watcher = graceful.watcher();
                        tokio::spawn(async move {
                            let Ok(Ok(tls)) = tokio::time::timeout(
                                HANDSHAKE_TIMEOUT,
                                acceptor.accept(tcp),
                            )
                            .await
                            else {
                                return;
                            };
                            let service = hyper::service::service_fn(move |req| {
                                let state = Arc::clone(&state);
                                async move { Ok::<_, std::convert::Infallible>(handle_request(&state, req).await) }
                            });
                            let conn = hyper::server::conn::http1::Builder::new()
                                .timer(TokioTimer::new())
                                .header_read_timeout(HEADER_READ_TIMEOUT)
                                .serve_connection(TokioIo::new(tls), service);
                            let _ = watcher.watch(conn).await;
                        });
                    }
                }
            }
            state.ready.store(false, Ordering::SeqCst);
            drop(listener);
            let _ = tokio::time::timeout(grace, graceful.shutdown()).await;
        });
        // Reviewers still running past their deadline are abandoned.
        runtime.shutdown_timeout(Duration::from_millis(100));
        match Arc::try_unwrap(state) {
            Ok(state) => state.audit.close(),
            // A connection task still holds the state: dropping our reference flushes the log
            // when the last one goes, which the runtime shutdown above has already forced.
            Err(state) => drop(state),
        }
        Ok(())
    }
}

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

type Body = Full<Bytes>;

fn text(status: StatusCode, message: impl Into<String>) -> Response<Body> {
    let mut body = message.into();
    body.push('\n');
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

fn json(status: StatusCode, body: Vec<u8>) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn method_not_allowed(state: &State, allow: &'static str) -> Response<Body> {
    state.metrics.observe_rejected(405);
    let mut response = text(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("method not allowed, expected {allow}"),
    );
    response
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allow));
    response
}

fn reject(state: &State, status: StatusCode, message: impl Into<String>) -> Response<Body> {
    state.metrics.observe_rejected(status.as_u16());
    text(status, message)
}

/// Parses `/validate[/<profile>]` and `/mutate[/<profile>]`; a profile is a DNS label.
pub fn parse_endpoint(path: &str) -> Option<Endpoint> {
    let rest = path.strip_prefix('/')?;
    let (kind, profile) = match rest.split_once('/') {
        Some((kind, profile)) => (kind, Some(profile)),
        None => (rest, None),
    };
    let profile = match profile {
        None => None,
        Some(p) if is_profile_name(p) => Some(p.to_owned()),
        Some(_) => return None,
    };
    match kind {
        "validate" => Some(Endpoint::Validate { profile }),
        "mutate" => Some(Endpoint::Mutate { profile }),
        _ => None,
    }
}

/// Whether `s` can be a profile name in a URL path: 1 to 128 of ASCII letters, digits, `-`,
/// `_` and `.` (versioned label profiles are `pss-enforce-baseline-v1.29`), not `.` or `..`.
fn is_profile_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && s != "."
        && s != ".."
}

/// Whether a `Content-Type` is JSON: `application/json`, optionally with `charset=utf-8`.
fn is_json(content_type: Option<&HeaderValue>) -> bool {
    let Some(value) = content_type.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let mut parts = value.split(';');
    let essence = parts.next().unwrap_or_default().trim();
    if !essence.eq_ignore_ascii_case("application/json") {
        return false;
    }
    parts.all(|param| match param.split_once('=') {
        Some((name, value)) if name.trim().eq_ignore_ascii_case("charset") => {
            value.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
        }
        Some(_) => true,
        None => param.trim().is_empty(),
    })
}

fn endpoint_name(endpoint: &Endpoint) -> (&'static str, Option<&str>) {
    match endpoint {
        Endpoint::Validate { profile } => ("validate", profile.as_deref()),
        Endpoint::Mutate { profile } => ("mutate", profile.as_deref()),
    }
}

async fn handle_request(state: &State, req: Request<Incoming>) -> Response<Body> {
    let start = Instant::now();
    let path = req.uri().path();
    match path {
        "/healthz" | "/readyz" | "/metrics" => {
            if req.method() != Method::GET && req.method() != Method::HEAD {
                return method_not_allowed(state, "GET");
            }
            return match path {
                "/healthz" => text(StatusCode::OK, "ok"),
                "/readyz" if state.ready.load(Ordering::SeqCst) => text(StatusCode::OK, "ready"),
                "/readyz" => text(StatusCode::SERVICE_UNAVAILABLE, "shutting down"),
                _ => {
                    // As encoded: OpenMetrics allows nothing after the final `# EOF` line.
                    let mut response =
                        Response::new(Full::new(Bytes::from(state.metrics.encode())));
                    response.headers_mut().insert(
                        CONTENT_TYPE,
                        HeaderValue::from_static(
                            "application/openmetrics-text; version=1.0.0; charset=utf-8",
                        ),
                    );
                    response
                }
            };
        }
        _ => {}
    }
    let Some(endpoint) = parse_endpoint(path) else {
        return reject(
            state,
            StatusCode::NOT_FOUND,
            format!(
                "not found: expected /validate[/<profile>] or /mutate[/<profile>], found {}",
                truncate(path, 100)
            ),
        );
    };
    if req.method() != Method::POST {
        return method_not_allowed(state, "POST");
    }
    if !is_json(req.headers().get(CONTENT_TYPE)) {
        let found = req
            .headers()
            .get(CONTENT_TYPE)
            .map(|v| truncate(&String::from_utf8_lossy(v.as_bytes()), 100))
            .unwrap_or_else(|| "none".to_owned());
        return reject(
            state,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("unsupported content type: expected application/json, found {found}"),
        );
    }
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > state.body_limit) {
        return too_large(state);
    }
    let limit = usize::try_from(state.body_limit).unwrap_or(usize::MAX);
    let body = match tokio::time::timeout(
        state.deadline,
        Limited::new(req.into_body(), limit).collect(),
    )
    .await
    {
        Err(_) => {
            return reject(
                state,
                StatusCode::REQUEST_TIMEOUT,
                "the request body did not arrive within the deadline",
            );
        }
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => return too_large(state),
        Ok(Err(e)) => {
            return reject(
                state,
                StatusCode::BAD_REQUEST,
                format!("cannot read the request body: {e}"),
            );
        }
        Ok(Ok(collected)) => collected.to_bytes(),
    };
    let request = match parse_review(&body) {
        Ok(request) => request,
        Err(Malformed {
            uid: Some(uid),
            reason,
        }) => {
            let response = failure(state, &endpoint, &uid, Cause::Malformed, &reason);
            return answer(
                state,
                &endpoint,
                None,
                &uid,
                response,
                &[],
                start,
                Some(Cause::Malformed),
                None,
            );
        }
        Err(Malformed { uid: None, reason }) => {
            return reject(
                state,
                StatusCode::BAD_REQUEST,
                format!("malformed admission review: {reason}"),
            );
        }
    };
    let request = Arc::new(request);
    let (response, gates, cause, decided) = decide(state, &endpoint, &request, start).await;
    answer(
        state,
        &endpoint,
        Some(&request),
        &request.uid,
        response,
        &gates,
        start,
        cause,
        decided.as_deref(),
    )
}

fn too_large(state: &State) -> Response<Body> {
    reject(
        state,
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "request body too large: expected at most {} bytes",
            state.body_limit
        ),
    )
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max).collect();
    out.push('…');
    out
}

struct Malformed {
    uid: Option<String>,
    reason: String,
}

/// Parses an AdmissionReview request. On failure, recovers the uid when the envelope is a v1
/// AdmissionReview whose `request.uid` is a non-empty string, so that the answer can be a
/// well-formed denial kube-apiserver matches to its request.
fn parse_review(body: &[u8]) -> Result<AdmissionRequest, Malformed> {
    let reason = match serde_json::from_slice::<AdmissionReview>(body) {
        Ok(review) => {
            if review.api_version != API_VERSION {
                return Err(Malformed {
                    uid: None,
                    reason: format!(
                        "expected apiVersion {API_VERSION}, found {}",
                        truncate(&review.api_version, 60)
                    ),
                });
            }
            if review.kind != KIND {
                return Err(Malformed {
                    uid: None,
                    reason: format!("expected kind {KIND}, found {}", truncate(&review.kind, 60)),
                });
            }
            match review.request {
                None => {
                    return Err(Malformed {
                        uid: None,
                        reason: "expected a request, found none".to_owned(),
                    });
                }
                Some(request) if request.uid.is_empty() => {
                    return Err(Malformed {
                        uid: None,
                        reason: "expected request.uid, found an empty string".to_owned(),
                    });
                }
                Some(request) => return Ok(request),
            }
        }
        Err(e) => truncate(&e.to_string(), 200),
    };
    // The typed parse failed: look at the envelope, then for the uid only.
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Err(Malformed { uid: None, reason });
    };
    let field = |name: &str| value.get(name).and_then(|v| v.as_str()).unwrap_or_default();
    if value.is_object() && field("apiVersion") != API_VERSION {
        let found = truncate(field("apiVersion"), 60);
        let reason = format!("expected apiVersion {API_VERSION}, found {found:?}");
        return Err(Malformed { uid: None, reason });
    }
    if value.is_object() && field("kind") != KIND {
        let reason = format!(
            "expected kind {KIND}, found {:?}",
            truncate(field("kind"), 60)
        );
        return Err(Malformed { uid: None, reason });
    }
    let uid = value
        .get("request")
        .and_then(|r| r.get("uid"))
        .and_then(|u| u.as_str())
        .filter(|u| !u.is_empty())
        .map(str::to_owned);
    Err(Malformed { uid, reason })
}

/// Runs the reviewer on the blocking pool within the remaining deadline.
/// A reviewer's decision as sent: the request's uid (kube-apiserver matches answers by it), and
/// no patch from a validating webhook.
fn accepted(
    decision: Decision,
    endpoint: &Endpoint,
    request: &AdmissionRequest,
) -> (
    AdmissionResponse,
    Vec<crate::review::GateOutcome>,
    Option<Cause>,
    Option<String>,
) {
    let Decision {
        mut response,
        gates,
        profile,
    } = decision;
    response.uid = request.uid.clone();
    if matches!(endpoint, Endpoint::Validate { .. }) {
        response.patch = None;
        response.patch_type = None;
    }
    (response, gates, None, profile)
}

async fn decide(
    state: &State,
    endpoint: &Endpoint,
    request: &Arc<AdmissionRequest>,
    start: Instant,
) -> (
    AdmissionResponse,
    Vec<crate::review::GateOutcome>,
    Option<Cause>,
    Option<String>,
) {
    let uid = request.uid.as_str();
    let Ok(permit) = Arc::clone(&state.permits).try_acquire_owned() else {
        let message = format!(
            "rampart is overloaded ({} decisions in flight)",
            state.max_concurrent
        );
        return (
            failure(state, endpoint, uid, Cause::Overload, &message),
            Vec::new(),
            Some(Cause::Overload),
            None,
        );
    };
    // The steady state (registry and inventory answers cached) is decided here, on the
    // connection's own thread: no hand-over to a worker, no wake-ups.
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        state.reviewer.review_now(endpoint, request)
    })) {
        Ok(Some(decision)) => return accepted(decision, endpoint, request),
        Ok(None) => {}
        Err(_) => {
            let message =
                "rampart failed to decide: internal error in the decision engine".to_owned();
            return (
                failure(state, endpoint, uid, Cause::Panic, &message),
                Vec::new(),
                Some(Cause::Panic),
                None,
            );
        }
    }
    let reviewer = Arc::clone(&state.reviewer);
    let task_request = Arc::clone(request);
    let task_endpoint = endpoint.clone();
    let in_flight = state.metrics.in_flight().clone();
    in_flight.inc();
    let task = tokio::task::spawn_blocking(move || {
        // The permit and the gauge are released when the reviewer returns, not when the
        // deadline answers for it: a stuck reviewer keeps its slot, so overload is detected.
        let _permit = permit;
        let decision = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            reviewer.review(&task_endpoint, &task_request)
        }));
        in_flight.dec();
        decision
    });
    let remaining = state.deadline.saturating_sub(start.elapsed());
    match tokio::time::timeout(remaining, task).await {
        Ok(Ok(Ok(decision))) => accepted(decision, endpoint, request),
        Ok(_) => {
            let message =
                "rampart failed to decide: internal error in the decision engine".to_owned();
            (
                failure(state, endpoint, uid, Cause::Panic, &message),
                Vec::new(),
                Some(Cause::Panic),
                None,
            )
        }
        Err(_) => {
            let message = format!(
                "rampart could not decide within {} ms",
                state.deadline.as_millis()
            );
            (
                failure(state, endpoint, uid, Cause::Deadline, &message),
                Vec::new(),
                Some(Cause::Deadline),
                None,
            )
        }
    }
}

/// The failure-mode answer for `cause`.
fn failure(
    state: &State,
    _endpoint: &Endpoint,
    uid: &str,
    cause: Cause,
    why: &str,
) -> AdmissionResponse {
    state.metrics.observe_failure(cause.as_str());
    let mut response = match (cause, state.failure_mode) {
        // A malformed review is never allowed: there is nothing to allow.
        (Cause::Malformed, _) => {
            let mut r =
                AdmissionResponse::deny(uid, format!("rampart: malformed admission review: {why}"));
            if let Some(status) = r.status.as_mut() {
                status.code = Some(400);
                status.reason = "BadRequest".to_owned();
            }
            r
        }
        (_, FailureMode::Deny) => {
            AdmissionResponse::deny(uid, format!("{why} (failure mode deny)"))
        }
        (_, FailureMode::Allow) => {
            let mut r = AdmissionResponse::allow(uid);
            r.warnings
                .push(format!("{why}; allowed by failure mode allow"));
            r
        }
    };
    response
        .audit_annotations
        .insert("failure-mode".to_owned(), cause.as_str().to_owned());
    response
}

#[allow(clippy::too_many_arguments)]
fn answer(
    state: &State,
    endpoint: &Endpoint,
    request: Option<&AdmissionRequest>,
    uid: &str,
    response: AdmissionResponse,
    gates: &[crate::review::GateOutcome],
    start: Instant,
    cause: Option<Cause>,
    decided: Option<&str>,
) -> Response<Body> {
    let allowed = response.allowed;
    let body = match serde_json::to_vec(&response.into_review()) {
        Ok(body) => body,
        Err(_) => {
            return reject(
                state,
                StatusCode::INTERNAL_SERVER_ERROR,
                "cannot encode the response",
            );
        }
    };
    let elapsed = start.elapsed();
    let (name, profile) = endpoint_name(endpoint);
    // The profile that decided (a namespace rule's, the default), else the URL's.
    state
        .metrics
        .observe_request(name, decided.or(profile), allowed, elapsed.as_secs_f64());
    state.metrics.observe_gates(gates);
    let operation = request
        .and_then(|r| serde_json::to_value(r.operation).ok())
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let record = AuditRecord {
        time: jiff::Timestamp::now().to_string(),
        uid: uid.to_owned(),
        endpoint: name,
        profile: profile.map(str::to_owned),
        kind: request.map(|r| r.kind.kind.clone()).unwrap_or_default(),
        namespace: request.map(|r| r.namespace.clone()).unwrap_or_default(),
        name: request.map(|r| r.name.clone()).unwrap_or_default(),
        operation,
        username: request
            .map(|r| r.user_info.username.clone())
            .unwrap_or_default(),
        dry_run: request.is_some_and(|r| r.dry_run),
        allowed,
        gates: gates.to_vec(),
        images: request.map(crate::audit::images_of).unwrap_or_default(),
        latency_us: u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
        cause: cause.map(Cause::as_str),
    };
    if !state.audit.record(record) {
        state.metrics.observe_audit_dropped();
    }
    json(StatusCode::OK, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        assert_eq!(
            parse_endpoint("/validate"),
            Some(Endpoint::Validate { profile: None })
        );
        assert_eq!(
            parse_endpoint("/mutate/prod-1"),
            Some(Endpoint::Mutate {
                profile: Some("prod-1".to_owned())
            })
        );
        // Versioned label profiles carry a dot.
        assert_eq!(
            parse_endpoint("/validate/pss-enforce-baseline-v1.29"),
            Some(Endpoint::Validate {
                profile: Some("pss-enforce-baseline-v1.29".to_owned())
            })
        );
        for bad in [
            "/",
            "/validate/",
            "/validate/..",
            "/validate/a%2Fb",
            "/validate/a/b",
            "/x",
            "validate",
        ] {
            assert_eq!(parse_endpoint(bad), None, "{bad}");
        }
    }

    #[test]
    fn content_types() {
        let ok = |s: &'static str| is_json(Some(&HeaderValue::from_static(s)));
        assert!(ok("application/json"));
        assert!(ok("Application/JSON; charset=UTF-8"));
        assert!(ok("application/json;charset=\"utf-8\""));
        assert!(!ok("application/json; charset=latin1"));
        assert!(!ok("text/plain"));
        assert!(!ok("application/jsonx"));
        assert!(!is_json(None));
    }

    proptest::proptest! {
        #[test]
        fn parse_review_never_panics_on_bytes(body in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = parse_review(&body);
        }

        #[test]
        fn parse_review_accepts_only_v1_reviews_with_a_uid(
            api in "(admission\\.k8s\\.io/v1|admission\\.k8s\\.io/v1beta1|)",
            kind in "(AdmissionReview|Pod)",
            uid in "[a-z0-9-]{0,8}",
            op in "(CREATE|UPDATE|DELETE|CONNECT|PATCH)",
        ) {
            let body = serde_json::json!({
                "apiVersion": api, "kind": kind,
                "request": {"uid": uid, "kind": {"group": "", "version": "v1", "kind": "Pod"},
                            "resource": {"group": "", "version": "v1", "resource": "pods"}, "operation": op},
            });
            let good = api == API_VERSION && kind == KIND && !uid.is_empty() && op != "PATCH";
            match parse_review(&serde_json::to_vec(&body).unwrap_or_default()) {
                Ok(request) => {
                    proptest::prop_assert!(good);
                    proptest::prop_assert_eq!(request.uid, uid);
                }
                Err(Malformed { uid: recovered, .. }) => {
                    proptest::prop_assert!(!good);
                    // A uid is recovered only from a v1 AdmissionReview envelope.
                    if let Some(recovered) = recovered {
                        proptest::prop_assert!(api == API_VERSION && kind == KIND);
                        proptest::prop_assert_eq!(recovered, uid);
                    }
                }
            }
        }

        #[test]
        fn endpoint_and_content_type_parsers_never_panic(s in "\\PC{0,80}") {
            let _ = parse_endpoint(&s);
            if let Ok(value) = HeaderValue::from_str(&s) {
                let _ = is_json(Some(&value));
            }
        }
    }
}
