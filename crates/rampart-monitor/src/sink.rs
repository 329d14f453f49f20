//! Where alerts go: a stream (standard output or a file) in Falco's JSON or text form, and HTTP
//! webhooks (one POST per alert, the JSON line as body, retries with backoff, a bounded queue
//! whose overflow is counted, never silent).

use crate::config::{Format, WebhookConfig};
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::thread::JoinHandle;
use std::time::Duration;

/// One alert, rendered once for every sink.
#[derive(Debug, Clone)]
pub struct AlertLine {
    pub rule: String,
    pub priority: String,
    /// Falco's JSON line (no trailing newline).
    pub json: String,
    /// Falco's one-line text form (no trailing newline).
    pub text: String,
}

/// Delivery counters of one sink.
#[derive(Debug, Default)]
pub struct SinkCounters {
    pub delivered: AtomicU64,
    /// Alerts given up on after the retries.
    pub failed: AtomicU64,
    /// Alerts dropped because the queue was full.
    pub dropped: AtomicU64,
    pub retries: AtomicU64,
}

/// A snapshot of [`SinkCounters`], named.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SinkStats {
    pub sink: String,
    pub delivered: u64,
    pub failed: u64,
    pub dropped: u64,
    pub retries: u64,
}

/// An alert destination.
pub trait Sink: Send {
    /// Hands one alert over; never blocks for long (a slow destination queues or drops).
    fn send(&mut self, alert: &AlertLine);
    /// Name used in metrics (`stdout`, a file path, a URL).
    fn name(&self) -> String;
    fn stats(&self) -> SinkStats;
    /// Delivers what is queued (bounded by the sink's own timeouts) and stops.
    fn close(&mut self) {}
}

/// Lines to a writer (standard output or a file), flushed per alert so consumers see them at
/// once.
pub struct StreamSink {
    name: String,
    format: Format,
    out: Box<dyn Write + Send>,
    counters: SinkCounters,
}

impl StreamSink {
    pub fn new(name: impl Into<String>, format: Format, out: Box<dyn Write + Send>) -> Self {
        StreamSink {
            name: name.into(),
            format,
            out,
            counters: SinkCounters::default(),
        }
    }
}

impl Sink for StreamSink {
    fn send(&mut self, alert: &AlertLine) {
        let line = match self.format {
            Format::Json => &alert.json,
            Format::Text => &alert.text,
        };
        let ok = writeln!(self.out, "{line}").and_then(|()| self.out.flush());
        let counter = if ok.is_ok() {
            &self.counters.delivered
        } else {
            &self.counters.failed
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
    fn name(&self) -> String {
        self.name.clone()
    }
    fn stats(&self) -> SinkStats {
        stats(&self.name, &self.counters)
    }
}

fn stats(name: &str, c: &SinkCounters) -> SinkStats {
    SinkStats {
        sink: name.to_owned(),
        delivered: c.delivered.load(Ordering::Relaxed),
        failed: c.failed.load(Ordering::Relaxed),
        dropped: c.dropped.load(Ordering::Relaxed),
        retries: c.retries.load(Ordering::Relaxed),
    }
}

/// POSTs each alert's JSON line to a URL from its own thread.
pub struct WebhookSink {
    url: String,
    tx: Option<SyncSender<String>>,
    worker: Option<JoinHandle<()>>,
    counters: Arc<SinkCounters>,
}

impl WebhookSink {
    pub fn start(config: &WebhookConfig) -> Self {
        let (tx, rx) = std::sync::mpsc::sync_channel(config.queue);
        let counters = Arc::new(SinkCounters::default());
        let worker = {
            let counters = Arc::clone(&counters);
            let config = config.clone();
            std::thread::Builder::new()
                .name("rampart-webhook".into())
                .spawn(move || deliver(&config, &rx, &counters))
                .ok()
        };
        WebhookSink {
            url: config.url.clone(),
            tx: Some(tx),
            worker,
            counters,
        }
    }
}

fn deliver(config: &WebhookConfig, rx: &Receiver<String>, counters: &SinkCounters) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_millis(config.timeout_ms)))
        .http_status_as_error(false)
        .build()
        .into();
    while let Ok(body) = rx.recv() {
        let mut attempt = 0u32;
        loop {
            let result = agent
                .post(&config.url)
                .header("content-type", "application/json")
                .header(
                    "user-agent",
                    concat!("rampart-monitor/", env!("CARGO_PKG_VERSION")),
                )
                .send(body.as_bytes());
            // Retry transport errors, 429 and 5xx; other answers are final.
            let retry = match &result {
                Ok(r) if r.status().is_success() => {
                    counters.delivered.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                Ok(r) => r.status().as_u16() == 429 || r.status().is_server_error(),
                Err(_) => true,
            };
            if !retry || attempt >= config.retries {
                counters.failed.fetch_add(1, Ordering::Relaxed);
                break;
            }
            attempt += 1;
            counters.retries.fetch_add(1, Ordering::Relaxed);
            std::thread::sleep(Duration::from_millis(100u64 << attempt.min(6)));
        }
    }
}

impl Sink for WebhookSink {
    fn send(&mut self, alert: &AlertLine) {
        let Some(tx) = &self.tx else {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        };
        match tx.try_send(alert.json.clone()) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    fn name(&self) -> String {
        self.url.clone()
    }
    fn stats(&self) -> SinkStats {
        stats(&self.url, &self.counters)
    }
    fn close(&mut self) {
        self.tx = None;
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

impl Drop for WebhookSink {
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn alert(n: usize) -> AlertLine {
        AlertLine {
            rule: "R".into(),
            priority: "Notice".into(),
            json: format!("{{\"n\":{n}}}"),
            text: format!("text {n}"),
        }
    }

    /// A real HTTP server on loopback: the first two requests get 503, then 200; every body is
    /// kept. The sink retries through the 503s and delivers every alert once, in order.
    #[test]
    fn webhook_retries_server_errors_and_delivers_each_alert() {
        let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let port = server.server_addr().to_ip().unwrap().port();
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&bodies);
        let t = std::thread::spawn(move || {
            let mut n = 0;
            for mut req in server.incoming_requests() {
                n += 1;
                let mut body = String::new();
                let _ = req.as_reader().read_to_string(&mut body);
                let ok = n > 2;
                if ok {
                    seen.lock().unwrap().push(body);
                }
                let _ = req.respond(tiny_http::Response::empty(if ok { 200 } else { 503 }));
                if seen.lock().unwrap().len() == 3 {
                    break;
                }
            }
        });
        let mut sink = WebhookSink::start(&WebhookConfig {
            url: format!("http://127.0.0.1:{port}/alerts"),
            queue: 8,
            retries: 3,
            timeout_ms: 2000,
        });
        for n in 0..3 {
            sink.send(&alert(n));
        }
        sink.close();
        t.join().unwrap();
        let got = bodies.lock().unwrap().clone();
        assert_eq!(got, vec!["{\"n\":0}", "{\"n\":1}", "{\"n\":2}"]);
        let s = sink.stats();
        assert_eq!((s.delivered, s.failed, s.dropped, s.retries), (3, 0, 0, 2));
    }

    /// Nothing listens: each alert fails after its retries, and overflow beyond the queue is
    /// counted as dropped.
    #[test]
    fn webhook_failures_and_overflow_are_counted() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let mut sink = WebhookSink::start(&WebhookConfig {
            url: format!("http://127.0.0.1:{port}/"),
            queue: 1,
            retries: 0,
            timeout_ms: 500,
        });
        for n in 0..50 {
            sink.send(&alert(n));
        }
        sink.close();
        let s = sink.stats();
        assert_eq!(s.delivered, 0);
        assert!(s.dropped > 0, "{s:?}");
        assert_eq!(s.failed + s.dropped, 50, "{s:?}");
    }

    #[test]
    fn stream_sink_writes_the_chosen_form() {
        let buf: Arc<Mutex<Vec<u8>>> = Arc::default();
        struct W(Arc<Mutex<Vec<u8>>>);
        impl Write for W {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut s = StreamSink::new("t", Format::Text, Box::new(W(Arc::clone(&buf))));
        s.send(&alert(7));
        let mut j = StreamSink::new("j", Format::Json, Box::new(W(Arc::clone(&buf))));
        j.send(&alert(8));
        assert_eq!(
            String::from_utf8(buf.lock().unwrap().clone()).unwrap(),
            "text 7\n{\"n\":8}\n"
        );
    }
}
