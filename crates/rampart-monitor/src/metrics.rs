//! The monitor's health, as Prometheus metrics (`/metrics`), a JSON status (`/status`, read by
//! `rampart monitor status`) and a liveness answer (`/healthz`).
//!
//! Counters are written in batches (the pipeline folds its per-thread counts in about once a
//! second, the sensor's kernel counters are read as totals), never per event, so the lock here
//! is off the hot path.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A metric family's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
}

#[derive(Debug, Clone)]
struct Family {
    help: &'static str,
    kind: Kind,
    /// Label pairs (sorted by name, rendered in that order) -> value.
    series: BTreeMap<Vec<(&'static str, String)>, f64>,
}

/// The registry: families by name.
#[derive(Debug, Default)]
pub struct Metrics {
    families: Mutex<BTreeMap<&'static str, Family>>,
    started: Mutex<Option<Instant>>,
    heartbeat: Mutex<Option<Instant>>,
}

/// How long the event reader may be silent before `/healthz` fails.
pub const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(10);

impl Metrics {
    pub fn new() -> Arc<Metrics> {
        let m = Metrics::default();
        *m.started.lock().unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
        Arc::new(m)
    }

    fn with<R>(&self, f: impl FnOnce(&mut BTreeMap<&'static str, Family>) -> R) -> R {
        f(&mut self.families.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Declares a family (idempotent).
    pub fn describe(&self, name: &'static str, kind: Kind, help: &'static str) {
        self.with(|f| {
            f.entry(name).or_insert_with(|| Family {
                help,
                kind,
                series: BTreeMap::new(),
            });
        });
    }

    fn key(labels: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
        let mut k: Vec<(&'static str, String)> =
            labels.iter().map(|(n, v)| (*n, (*v).to_owned())).collect();
        k.sort();
        k
    }

    /// Adds to a series (declaring the family as a counter when unknown).
    pub fn add(&self, name: &'static str, labels: &[(&'static str, &str)], by: f64) {
        self.with(|f| {
            let fam = f.entry(name).or_insert_with(|| Family {
                help: "",
                kind: Kind::Counter,
                series: BTreeMap::new(),
            });
            *fam.series.entry(Self::key(labels)).or_insert(0.0) += by;
        });
    }

    /// Sets a series (a gauge, or a counter whose total is kept elsewhere, e.g. in the kernel).
    pub fn set(&self, name: &'static str, labels: &[(&'static str, &str)], value: f64) {
        self.with(|f| {
            let fam = f.entry(name).or_insert_with(|| Family {
                help: "",
                kind: Kind::Gauge,
                series: BTreeMap::new(),
            });
            fam.series.insert(Self::key(labels), value);
        });
    }

    /// A series' value (0 when absent).
    pub fn get(&self, name: &str, labels: &[(&'static str, &str)]) -> f64 {
        self.with(|f| {
            f.get(name)
                .and_then(|fam| fam.series.get(&Self::key(labels)).copied())
                .unwrap_or(0.0)
        })
    }

    /// Sum of every series of a family.
    pub fn total(&self, name: &str) -> f64 {
        self.with(|f| f.get(name).map_or(0.0, |fam| fam.series.values().sum()))
    }

    /// The event reader is alive.
    pub fn beat(&self) {
        *self
            .heartbeat
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
    }

    /// Whether the reader beat within [`HEARTBEAT_TIMEOUT`].
    pub fn healthy(&self) -> bool {
        self.heartbeat
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some_and(|t| t.elapsed() < HEARTBEAT_TIMEOUT)
    }

    pub fn uptime(&self) -> Duration {
        self.started
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .map_or(Duration::ZERO, |t| t.elapsed())
    }

    /// Prometheus text exposition format 0.0.4.
    pub fn render(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        self.with(|families| {
            for (name, fam) in families.iter() {
                if !fam.help.is_empty() {
                    let _ = writeln!(out, "# HELP {name} {}", escape_help(fam.help));
                }
                let kind = match fam.kind {
                    Kind::Counter => "counter",
                    Kind::Gauge => "gauge",
                };
                let _ = writeln!(out, "# TYPE {name} {kind}");
                for (labels, value) in &fam.series {
                    out.push_str(name);
                    if !labels.is_empty() {
                        out.push('{');
                        for (i, (k, v)) in labels.iter().enumerate() {
                            if i > 0 {
                                out.push(',');
                            }
                            let _ = write!(out, "{k}=\"{}\"", escape_label(v));
                        }
                        out.push('}');
                    }
                    let _ = writeln!(out, " {}", number(*value));
                }
            }
        });
        out
    }
}

fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

fn escape_help(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\n', "\\n")
}

fn escape_label(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The HTTP endpoint: `/metrics`, `/status` (the JSON `status` returns), `/healthz`.
pub struct Endpoint {
    addr: SocketAddr,
    server: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
}

/// Why the endpoint could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {addr}: {message}")]
pub struct EndpointError {
    pub addr: SocketAddr,
    pub message: String,
}

impl Endpoint {
    /// Serves until dropped.
    pub fn start(
        addr: SocketAddr,
        metrics: Arc<Metrics>,
        status: Arc<dyn Fn() -> serde_json::Value + Send + Sync>,
    ) -> Result<Endpoint, EndpointError> {
        let server = tiny_http::Server::http(addr).map_err(|e| EndpointError {
            addr,
            message: e.to_string(),
        })?;
        let bound = server.server_addr().to_ip().ok_or_else(|| EndpointError {
            addr,
            message: "not an IP socket".into(),
        })?;
        let server = Arc::new(server);
        let srv = Arc::clone(&server);
        let thread = std::thread::Builder::new()
            .name("rampart-metrics".into())
            .spawn(move || {
                for req in srv.incoming_requests() {
                    let path = req.url().split('?').next().unwrap_or("").to_owned();
                    let (code, body, ctype) = match path.as_str() {
                        "/metrics" => (
                            200,
                            metrics.render(),
                            "text/plain; version=0.0.4; charset=utf-8",
                        ),
                        "/status" => (200, status().to_string(), "application/json"),
                        "/healthz" if metrics.healthy() => (200, "ok\n".into(), "text/plain"),
                        "/healthz" => (
                            503,
                            "the event reader is not running\n".into(),
                            "text/plain",
                        ),
                        _ => (404, "not found\n".into(), "text/plain"),
                    };
                    let mut resp = tiny_http::Response::from_string(body).with_status_code(code);
                    if let Ok(h) = tiny_http::Header::from_bytes("Content-Type", ctype) {
                        resp = resp.with_header(h);
                    }
                    let _ = req.respond(resp);
                }
            })
            .map_err(|e| EndpointError {
                addr,
                message: e.to_string(),
            })?;
        Ok(Endpoint {
            addr: bound,
            server,
            thread: Some(thread),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Reads a running monitor's `/status` (`addr`: `host:port` or an http URL).
pub fn fetch_status(addr: &str) -> Result<serde_json::Value, String> {
    let url = if addr.starts_with("http://") || addr.starts_with("https://") {
        format!("{}/status", addr.trim_end_matches('/'))
    } else {
        format!("http://{addr}/status")
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .into();
    let body = agent
        .get(&url)
        .call()
        .and_then(|mut r| r.body_mut().read_to_string())
        .map_err(|e| format!("no monitor answers at {url}: {e}"))?;
    serde_json::from_str(&body).map_err(|e| format!("{url}: not a status document: {e}"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn exposition_format_with_escaped_labels() {
        let m = Metrics::new();
        m.describe(
            "rampart_monitor_alerts_total",
            Kind::Counter,
            "Alerts by rule.",
        );
        m.add(
            "rampart_monitor_alerts_total",
            &[("rule", "Read \"sensitive\" file")],
            2.0,
        );
        m.set("rampart_monitor_up", &[], 1.0);
        let text = m.render();
        assert!(text.contains("# TYPE rampart_monitor_alerts_total counter\n"));
        assert!(
            text.contains("rampart_monitor_alerts_total{rule=\"Read \\\"sensitive\\\" file\"} 2\n")
        );
        assert!(text.contains("rampart_monitor_up 1\n"));
    }

    #[test]
    fn endpoint_serves_metrics_status_and_health() {
        let m = Metrics::new();
        m.add("rampart_monitor_events_total", &[("type", "execve")], 5.0);
        let ep = Endpoint::start(
            "127.0.0.1:0".parse().unwrap(),
            Arc::clone(&m),
            Arc::new(|| serde_json::json!({"rules": 25})),
        )
        .unwrap();
        let base = format!("http://{}", ep.local_addr());
        let get = |p: &str| {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .build()
                .into();
            let mut r = agent.get(&format!("{base}{p}")).call().unwrap();
            (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
        };
        assert_eq!(
            get("/metrics"),
            (
                200,
                "# TYPE rampart_monitor_events_total counter\nrampart_monitor_events_total{type=\"execve\"} 5\n".to_owned()
            )
        );
        assert_eq!(get("/status"), (200, "{\"rules\":25}".to_owned()));
        assert_eq!(get("/healthz").0, 503);
        m.beat();
        assert_eq!(get("/healthz").0, 200);
    }
}
