//! An open-loop load generator for the admission webhook (a benchmark tool, not a test).
//!
//! Sends AdmissionReview bodies over HTTPS (rustls trusting only `--ca`, verifying
//! `--server-name`) on `--connections` keep-alive connections at a fixed `--rate`, for
//! `--duration` seconds. Requests are scheduled on a clock of their own, independent of the
//! answers (open loop), and latency is measured from each request's scheduled send time, so a
//! slow server is not hidden by the client waiting for it (no coordinated omission).
//!
//! ```text
//! cargo run --release -p rampart-admission --example loadgen -- \
//!     --addr 127.0.0.1:8443 --ca ca.crt --rate 5000 --duration 30 [--body review.json] [--json]
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use clap::Parser;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use serde_json::{Value, json};
use tokio::sync::{Mutex, mpsc};

/// Open-loop HTTPS load for the rampart admission webhook.
#[derive(Parser, Debug)]
struct Args {
    /// Server address.
    #[arg(long, default_value = "127.0.0.1:8443")]
    addr: SocketAddr,
    /// CA certificate (PEM) to trust.
    #[arg(long)]
    ca: PathBuf,
    /// TLS server name to verify.
    #[arg(long, default_value = "rampart-admission.rampart-system.svc")]
    server_name: String,
    /// Request path.
    #[arg(long, default_value = "/validate")]
    path: String,
    /// AdmissionReview request body (JSON); its request.uid is replaced per request. Default: a
    /// Pod CREATE with one hardened container.
    #[arg(long)]
    body: Option<PathBuf>,
    /// Requests per second.
    #[arg(long, default_value_t = 1000)]
    rate: u32,
    /// Seconds of measured load.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Seconds of load before measuring (connections, caches).
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    /// Keep-alive connections.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Client threads.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

const UID_MARK: &str = "@@RAMPART-LOADGEN-UID@@";

fn default_review() -> Value {
    json!({
        "kind": "AdmissionReview",
        "apiVersion": "admission.k8s.io/v1",
        "request": {
            "uid": "x",
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "requestKind": {"group": "", "version": "v1", "kind": "Pod"},
            "requestResource": {"group": "", "version": "v1", "resource": "pods"},
            "name": "web",
            "namespace": "team-a",
            "operation": "CREATE",
            "userInfo": {"username": "kubernetes-admin", "groups": ["system:authenticated"]},
            "object": {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "web", "namespace": "team-a", "labels": {"app": "web"}},
                "spec": {
                    "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [{
                        "name": "app",
                        "image": "registry.example/app@sha256:4b9f2bbf6a0f1d8ab5f2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708",
                        "securityContext": {
                            "allowPrivilegeEscalation": false,
                            "capabilities": {"drop": ["ALL"]},
                            "readOnlyRootFilesystem": true,
                        },
                    }],
                },
            },
            "oldObject": null,
            "dryRun": false,
            "options": {"kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1", "fieldManager": "kubectl"},
        },
    })
}

/// The body split around the uid, so each request gets its own uid without re-serializing.
struct Template {
    before: String,
    after: String,
}

impl Template {
    fn new(mut review: Value) -> anyhow::Result<Template> {
        let Some(request) = review.get_mut("request").and_then(Value::as_object_mut) else {
            bail!("the body has no request object");
        };
        request.insert("uid".to_owned(), json!(UID_MARK));
        let text = serde_json::to_string(&review)?;
        let Some((before, after)) = text.split_once(UID_MARK) else {
            bail!("cannot place the uid in the body");
        };
        Ok(Template {
            before: before.to_owned(),
            after: after.to_owned(),
        })
    }

    fn body(&self, n: u64) -> Bytes {
        Bytes::from(format!("{}loadgen-{n}{}", self.before, self.after))
    }
}

#[derive(Default)]
struct Tally {
    ok: u64,
    allowed: u64,
    denied: u64,
    http_errors: u64,
    transport_errors: u64,
}

struct Shared {
    template: Template,
    path: String,
    server_name: ServerName<'static>,
    addr: SocketAddr,
    connector: tokio_rustls::TlsConnector,
    measure_from: Instant,
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn connect(shared: &Shared) -> anyhow::Result<Sender> {
    let tcp = tokio::net::TcpStream::connect(shared.addr).await?;
    tcp.set_nodelay(true)?;
    let tls = shared
        .connector
        .connect(shared.server_name.clone(), tcp)
        .await?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls)).await?;
    tokio::spawn(conn);
    Ok(sender)
}

async fn one(shared: &Shared, sender: &mut Sender, n: u64) -> anyhow::Result<(u16, bool)> {
    sender.ready().await?;
    let request = hyper::Request::post(shared.path.as_str())
        .header("host", shared.server_name.to_str().as_ref())
        .header("content-type", "application/json")
        .body(Full::new(shared.template.body(n)))?;
    let response = sender.send_request(request).await?;
    let status = response.status().as_u16();
    let body = response.into_body().collect().await?.to_bytes();
    let allowed = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v["response"]["allowed"].as_bool())
        .unwrap_or(false);
    Ok((status, allowed))
}

async fn worker(
    shared: Arc<Shared>,
    queue: Arc<Mutex<mpsc::UnboundedReceiver<(u64, Instant)>>>,
    mut histogram: Histogram<u64>,
) -> (Histogram<u64>, Tally) {
    let mut tally = Tally::default();
    let mut sender: Option<Sender> = None;
    loop {
        let next = queue.lock().await.recv().await;
        let Some((n, scheduled)) = next else { break };
        if sender.is_none() {
            sender = connect(&shared).await.ok();
        }
        let result = match sender.as_mut() {
            Some(s) => one(&shared, s, n).await,
            None => Err(anyhow::anyhow!("cannot connect")),
        };
        let done = Instant::now();
        if scheduled < shared.measure_from {
            continue;
        }
        match result {
            Ok((200, allowed)) => {
                tally.ok += 1;
                if allowed {
                    tally.allowed += 1
                } else {
                    tally.denied += 1
                }
                let micros =
                    u64::try_from(done.duration_since(scheduled).as_micros()).unwrap_or(u64::MAX);
                let _ = histogram.record(micros.max(1));
            }
            Ok(_) => tally.http_errors += 1,
            Err(_) => {
                tally.transport_errors += 1;
                sender = None;
            }
        }
    }
    (histogram, tally)
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.rate == 0 || args.connections == 0 {
        bail!("--rate and --connections must be at least 1");
    }
    let review = match &args.body {
        Some(path) => serde_json::from_slice(
            &std::fs::read(path).with_context(|| format!("reading {}", path.display()))?,
        )
        .with_context(|| format!("parsing {}", path.display()))?,
        None => default_review(),
    };
    let ca = std::fs::read(&args.ca).with_context(|| format!("reading {}", args.ca.display()))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&ca) {
        roots.add(cert.with_context(|| format!("parsing {}", args.ca.display()))?)?;
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .enable_all()
        .build()?;
    let start = Instant::now() + Duration::from_millis(200);
    let shared = Arc::new(Shared {
        template: Template::new(review)?,
        path: args.path.clone(),
        server_name: ServerName::try_from(args.server_name.clone())?,
        addr: args.addr,
        connector: tokio_rustls::TlsConnector::from(Arc::new(config)),
        measure_from: start + Duration::from_secs(args.warmup),
    });
    let (tx, rx) = mpsc::unbounded_channel();
    let queue = Arc::new(Mutex::new(rx));
    // Microseconds from 1 µs to 60 s, 3 significant digits.
    let mut histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let workers: Vec<_> = (0..args.connections)
        .map(|_| {
            runtime.spawn(worker(
                Arc::clone(&shared),
                Arc::clone(&queue),
                histogram.clone(),
            ))
        })
        .collect();
    // The schedule runs on its own thread with OS sleeps (tokio's timer has 1 ms granularity,
    // too coarse at 5,000 requests per second).
    let total = u64::from(args.rate) * (args.warmup + args.duration);
    let interval = Duration::from_secs(1).as_nanos() as f64 / f64::from(args.rate);
    let scheduler = std::thread::spawn(move || {
        for n in 0..total {
            let at = start + Duration::from_nanos((n as f64 * interval) as u64);
            let now = Instant::now();
            if at > now {
                std::thread::sleep(at - now);
            }
            if tx.send((n, at)).is_err() {
                break;
            }
        }
    });
    let _ = scheduler.join();
    let mut tally = Tally::default();
    runtime.block_on(async {
        for w in workers {
            if let Ok((h, t)) = w.await {
                let _ = histogram.add(&h);
                tally.ok += t.ok;
                tally.allowed += t.allowed;
                tally.denied += t.denied;
                tally.http_errors += t.http_errors;
                tally.transport_errors += t.transport_errors;
            }
        }
    });
    let elapsed = Instant::now()
        .duration_since(shared.measure_from)
        .as_secs_f64();
    let ms = |q: f64| histogram.value_at_quantile(q) as f64 / 1000.0;
    let report = json!({
        "target_rps": args.rate,
        "duration_s": args.duration,
        "connections": args.connections,
        "completed": tally.ok,
        "throughput_rps": tally.ok as f64 / elapsed,
        "allowed": tally.allowed,
        "denied": tally.denied,
        "http_errors": tally.http_errors,
        "transport_errors": tally.transport_errors,
        "p50_ms": ms(0.5),
        "p99_ms": ms(0.99),
        "p999_ms": ms(0.999),
        "max_ms": histogram.max() as f64 / 1000.0,
    });
    if args.json {
        println!("{report}");
    } else {
        println!(
            "rate {} rps for {} s on {} connections: {} ok ({:.0} rps; {} allowed, {} denied), {} http errors, {} transport errors",
            args.rate,
            args.duration,
            args.connections,
            tally.ok,
            tally.ok as f64 / elapsed,
            tally.allowed,
            tally.denied,
            tally.http_errors,
            tally.transport_errors
        );
        println!(
            "latency from scheduled send: p50 {:.3} ms  p99 {:.3} ms  p99.9 {:.3} ms  max {:.3} ms",
            ms(0.5),
            ms(0.99),
            ms(0.999),
            histogram.max() as f64 / 1000.0
        );
    }
    Ok(())
}
