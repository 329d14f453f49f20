//! Real parts for the server tests: a certificate made by rampart's own generator, the server on
//! a free loopback port, a rustls + hyper client that trusts only the given CA and verifies the
//! server name, and AdmissionReview bodies shaped as kube-apiserver sends them.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::thread::JoinHandle;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame};
use hyper_util::rt::TokioIo;
use rampart_admission::manifests::{GeneratedTls, generate_tls, write_tls};
use rampart_admission::review::Reviewer;
use rampart_admission::{Server, ServerConfig, ShutdownHandle};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use serde_json::{Value, json};

pub const SERVICE: &str = "rampart-admission";
pub const NAMESPACE: &str = "rampart-system";
/// The name kube-apiserver verifies: `<svc>.<ns>.svc`.
pub const SERVER_NAME: &str = "rampart-admission.rampart-system.svc";

#[allow(unused_imports, reason = "used by some of the test binaries")]
pub use rampart_testkit::tools::ensure_tool;

/// A running server and what a test needs to talk to it.
pub struct Running {
    pub addr: SocketAddr,
    pub handle: ShutdownHandle,
    thread: Option<JoinHandle<()>>,
    pub dir: tempfile::TempDir,
    pub tls: GeneratedTls,
    pub audit: PathBuf,
}

impl Running {
    /// A client trusting the server's current CA.
    pub fn client(&self) -> Client {
        Client::new(&self.tls.ca_pem, SERVER_NAME, self.addr)
    }

    /// Stops the server and waits for it (the audit log is flushed when this returns).
    pub fn stop(mut self) -> Vec<Value> {
        self.handle.shutdown();
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
        read_audit(&self.audit)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.handle.shutdown();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

pub fn read_audit(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("audit line {line:?}: {e}"))
        })
        .collect()
}

/// Starts a server on 127.0.0.1:0 with a fresh certificate and an audit log file.
pub fn start(reviewer: impl Reviewer, configure: impl FnOnce(&mut ServerConfig)) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let tls = generate_tls(SERVICE, NAMESPACE).unwrap();
    let files = write_tls(&tls, dir.path()).unwrap();
    let audit = dir.path().join("audit.jsonl");
    let mut config = ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        cert: files.cert,
        key: files.key,
        audit_log: rampart_admission::audit::AuditTarget::File(audit.clone()),
        worker_threads: 2,
        ..ServerConfig::default()
    };
    configure(&mut config);
    let server = Server::bind(config, Arc::new(reviewer)).unwrap();
    let addr = server.local_addr();
    let handle = server.handle();
    let thread = std::thread::spawn(move || server.run().unwrap());
    Running {
        addr,
        handle,
        thread: Some(thread),
        dir,
        tls,
        audit,
    }
}

/// An HTTP response as the client saw it.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("expected JSON, found {:?}: {e}", self.text()))
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    /// The `response` of an AdmissionReview answer, after checking the envelope.
    pub fn review_response(&self) -> Value {
        assert_eq!(self.status, 200, "{}", self.text());
        let review = self.json();
        assert_eq!(review["apiVersion"], "admission.k8s.io/v1");
        assert_eq!(review["kind"], "AdmissionReview");
        review["response"].clone()
    }
}

/// A client over real TLS: rustls trusting only `ca_pem`, verifying `server_name`, one
/// connection per request.
#[derive(Clone)]
pub struct Client {
    connector: tokio_rustls::TlsConnector,
    server_name: ServerName<'static>,
    addr: SocketAddr,
}

impl Client {
    pub fn new(ca_pem: &str, server_name: &str, addr: SocketAddr) -> Client {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
            roots.add(cert.unwrap()).unwrap();
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        Client {
            connector: tokio_rustls::TlsConnector::from(Arc::new(config)),
            server_name: ServerName::try_from(server_name.to_owned()).unwrap(),
            addr,
        }
    }

    /// Sends one request; `Err` when the connection or the TLS handshake fails.
    pub fn try_send<B>(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: B,
    ) -> Result<Reply, String>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let tcp = tokio::net::TcpStream::connect(self.addr)
                .await
                .map_err(|e| e.to_string())?;
            let tls = self
                .connector
                .connect(self.server_name.clone(), tcp)
                .await
                .map_err(|e| format!("tls: {e}"))?;
            let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
                .await
                .map_err(|e| e.to_string())?;
            tokio::spawn(conn);
            let mut request = hyper::Request::builder()
                .method(method)
                .uri(path)
                .header("host", SERVER_NAME);
            for (k, v) in headers {
                request = request.header(*k, *v);
            }
            let response = sender
                .send_request(request.body(body).unwrap())
                .await
                .map_err(|e| e.to_string())?;
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| e.to_string())?
                .to_bytes()
                .to_vec();
            Ok(Reply {
                status,
                headers,
                body,
            })
        })
    }

    pub fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Reply {
        self.try_send(method, path, headers, Full::new(Bytes::from(body)))
            .unwrap()
    }

    /// POSTs an AdmissionReview body as kube-apiserver does.
    pub fn review(&self, path: &str, body: &Value) -> Reply {
        self.send(
            "POST",
            path,
            &[
                ("content-type", "application/json"),
                ("accept", "application/json, */*"),
            ],
            serde_json::to_vec(body).unwrap(),
        )
    }

    pub fn get(&self, path: &str) -> Reply {
        self.send("GET", path, &[], Vec::new())
    }
}

/// A body of `chunks` chunks of `size` bytes with no length (sent chunked), counting what
/// was actually produced.
pub struct CountingBody {
    pub chunks: usize,
    pub size: usize,
    pub produced: Arc<AtomicUsize>,
}

impl Body for CountingBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.chunks == 0 {
            return Poll::Ready(None);
        }
        self.chunks -= 1;
        self.produced.fetch_add(self.size, Ordering::SeqCst);
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(vec![b' '; self.size])))))
    }
}

/// A body that declares `len` bytes (Content-Length) and never sends them: the answer must come
/// from the headers alone.
pub struct DeclaredOnly {
    pub len: u64,
}

impl Body for DeclaredOnly {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Poll::Pending
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        hyper::body::SizeHint::with_exact(self.len)
    }
}

/// A Pod as kubectl creates it (after defaulting by the apiserver).
pub fn pod(name: &str, privileged: bool) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": "team-a",
            "uid": "0b6c9e5e-0a57-4a8a-9f38-0e8b2a1f4c11",
            "creationTimestamp": null,
            "labels": {"app": name},
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"},
            "managedFields": [{"manager": "kubectl-client-side-apply", "operation": "Update", "apiVersion": "v1",
                               "time": "2026-11-28T00:00:00Z", "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {}}}],
        },
        "spec": {
            "containers": [{
                "name": "app",
                "image": "registry.example/app@sha256:4b9f2bbf6a0f1d8ab5f2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708",
                "resources": {},
                "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File",
                "imagePullPolicy": "IfNotPresent",
                "securityContext": {"privileged": privileged},
                "volumeMounts": [{"name": "kube-api-access-x1", "readOnly": true,
                                  "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}],
            }],
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst",
            "serviceAccountName": "default",
            "serviceAccount": "default",
            "securityContext": {},
            "schedulerName": "default-scheduler",
            "tolerations": [
                {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
            ],
            "priority": 0,
            "enableServiceLinks": true,
            "preemptionPolicy": "PreemptLowerPriority",
        },
        "status": {},
    })
}

/// An AdmissionReview for a Pod CREATE, every field kube-apiserver sets.
pub fn pod_review(uid: &str, name: &str, privileged: bool) -> Value {
    json!({
        "kind": "AdmissionReview",
        "apiVersion": "admission.k8s.io/v1",
        "request": {
            "uid": uid,
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "requestKind": {"group": "", "version": "v1", "kind": "Pod"},
            "requestResource": {"group": "", "version": "v1", "resource": "pods"},
            "name": name,
            "namespace": "team-a",
            "operation": "CREATE",
            "userInfo": {
                "username": "kubernetes-admin",
                "groups": ["kubeadm:cluster-admins", "system:authenticated"],
                "extra": {"authentication.kubernetes.io/credential-id": ["X509SHA256=1a2b"]},
            },
            "object": pod(name, privileged),
            "oldObject": null,
            "dryRun": false,
            "options": {
                "kind": "CreateOptions",
                "apiVersion": "meta.k8s.io/v1",
                "fieldManager": "kubectl-client-side-apply",
                "fieldValidation": "Strict",
            },
        },
    })
}

/// An AdmissionReview for a Deployment UPDATE (dry run), with `oldObject`, converted from a
/// request made against `apps/v1beta2`-like clients: `requestKind` equals `kind` here.
pub fn deployment_update_review(uid: &str, privileged: bool) -> Value {
    let template = |privileged: bool| {
        let pod = pod("web", privileged);
        json!({"metadata": {"labels": {"app": "web"}}, "spec": pod["spec"].clone()})
    };
    let deployment = |generation: u64, privileged: bool| {
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "team-a", "generation": generation,
                         "uid": "6f0c1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b", "resourceVersion": "4711"},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "web"}},
                "template": template(privileged),
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
                "revisionHistoryLimit": 10,
                "progressDeadlineSeconds": 600,
            },
            "status": {},
        })
    };
    json!({
        "kind": "AdmissionReview",
        "apiVersion": "admission.k8s.io/v1",
        "request": {
            "uid": uid,
            "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
            "resource": {"group": "apps", "version": "v1", "resource": "deployments"},
            "requestKind": {"group": "apps", "version": "v1", "kind": "Deployment"},
            "requestResource": {"group": "apps", "version": "v1", "resource": "deployments"},
            "name": "web",
            "namespace": "team-a",
            "operation": "UPDATE",
            "userInfo": {"username": "system:serviceaccount:ci:deployer", "uid": "9d1c",
                         "groups": ["system:serviceaccounts", "system:serviceaccounts:ci", "system:authenticated"]},
            "object": deployment(2, privileged),
            "oldObject": deployment(1, false),
            "dryRun": true,
            "options": {"kind": "UpdateOptions", "apiVersion": "meta.k8s.io/v1", "fieldManager": "kubectl-edit"},
        },
    })
}

/// One sample of the metrics text.
#[derive(Debug, Clone)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

const OPENMETRICS_PARSER: &str = r#"
import json, math, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
out = []
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        out.append({"name": s.name, "labels": s.labels, "value": s.value if math.isfinite(s.value) else None})
print(json.dumps(out))
"#;

/// Parses `/metrics` output with the strict OpenMetrics parser of Python's `prometheus_client`
/// (the oracle): the test fails when the text is not valid OpenMetrics.
pub fn parse_metrics(text: &str) -> Vec<Sample> {
    use std::io::Write;
    let mut child = Command::new(rampart_testkit::oracles::python())
        .arg("-c")
        .arg(OPENMETRICS_PARSER)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the OpenMetrics parser refused the metrics: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let samples: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    samples
        .into_iter()
        .map(|s| Sample {
            name: s["name"].as_str().unwrap().to_owned(),
            labels: serde_json::from_value(s["labels"].clone()).unwrap(),
            value: s["value"].as_f64().unwrap_or(f64::INFINITY),
        })
        .collect()
}

/// The value of the sample named `name` whose labels include `labels` (0 when absent).
pub fn metric(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
        .sum()
}
