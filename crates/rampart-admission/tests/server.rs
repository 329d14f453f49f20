//! The webhook server over real TLS on loopback, with small reviewers defined here: they test
//! the server (protocol, failure modes, metrics, audit, reload), not the policy.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use rampart_admission::FailureMode;
use rampart_admission::manifests::{generate_tls, write_tls};
use rampart_admission::review::{
    AdmissionRequest, AdmissionResponse, Decision, Endpoint, GateOutcome, Reviewer,
};
use rustls_pki_types::pem::PemObject;
use serde_json::{Value, json};
use support::*;

/// Denies pods (or pod templates) with a privileged container; mutating endpoints add a label.
struct DenyPrivileged;

fn pod_spec(request: &AdmissionRequest) -> Value {
    let object = &request.object;
    if object["kind"] == "Pod" {
        object["spec"].clone()
    } else {
        object["spec"]["template"]["spec"].clone()
    }
}

impl Reviewer for DenyPrivileged {
    fn review(&self, endpoint: &Endpoint, request: &AdmissionRequest) -> Decision {
        let spec = pod_spec(request);
        let privileged = spec["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["securityContext"]["privileged"] == true);
        let gate = |outcome: &'static str, message: &str| GateOutcome {
            mode: None,
            gate: "privileged".to_owned(),
            outcome,
            message: message.to_owned(),
        };
        if privileged {
            return Decision {
                response: AdmissionResponse::deny(
                    &request.uid,
                    "privileged containers are not allowed",
                ),
                gates: vec![gate("deny", "container app is privileged")],
                profile: None,
            };
        }
        let mut response = AdmissionResponse::allow(&request.uid);
        // Validating endpoints must not patch: the server strips a patch there.
        response = response.with_patch(&[
            json!({"op": "add", "path": "/metadata/labels/rampart", "value": "seen"}),
        ]);
        if let Endpoint::Validate { profile: Some(p) } = endpoint {
            response.warnings.push(format!("profile {p}"));
        }
        Decision {
            response,
            gates: vec![gate("allow", "")],
            profile: None,
        }
    }
}

/// Sleeps longer than any deadline used here before allowing.
struct Sleeper(Duration);

impl Reviewer for Sleeper {
    fn review(&self, _: &Endpoint, request: &AdmissionRequest) -> Decision {
        std::thread::sleep(self.0);
        Decision {
            response: AdmissionResponse::allow(&request.uid),
            gates: vec![],
            profile: None,
        }
    }
}

/// Panics on objects named `boom`, allows the rest.
struct PanicOnBoom;

impl Reviewer for PanicOnBoom {
    fn review(&self, _: &Endpoint, request: &AdmissionRequest) -> Decision {
        if request.name == "boom" {
            panic!("reviewer bug");
        }
        Decision {
            response: AdmissionResponse::allow(&request.uid),
            gates: vec![],
            profile: None,
        }
    }
}

/// Blocks until released, telling the test when it entered.
struct Blocker {
    entered: Mutex<mpsc::Sender<()>>,
    release: Mutex<mpsc::Receiver<()>>,
    calls: AtomicUsize,
}

impl Reviewer for Blocker {
    fn review(&self, _: &Endpoint, request: &AdmissionRequest) -> Decision {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.entered.lock().unwrap().send(()).unwrap();
        let _ = self.release.lock().unwrap().recv();
        Decision {
            response: AdmissionResponse::allow(&request.uid),
            gates: vec![],
            profile: None,
        }
    }
}

#[test]
fn allow_and_deny_round_trip_with_the_request_uid() {
    let server = start(DenyPrivileged, |_| {});
    let client = server.client();

    let uid = "705ab4f5-6393-11e8-b7cc-42010a800002";
    let response = client
        .review("/validate", &pod_review(uid, "web", false))
        .review_response();
    assert_eq!(response["uid"], uid);
    assert_eq!(response["allowed"], true);
    assert!(
        response.get("patch").is_none(),
        "validating answers carry no patch: {response}"
    );

    let uid2 = "d9f6a1c2-0000-4000-8000-000000000002";
    let response = client
        .review("/validate", &pod_review(uid2, "root", true))
        .review_response();
    assert_eq!(response["uid"], uid2);
    assert_eq!(response["allowed"], false);
    assert_eq!(response["status"]["code"], 403);
    assert_eq!(
        response["status"]["message"],
        "privileged containers are not allowed"
    );

    // A workload UPDATE with oldObject and dryRun, on a profile path.
    let uid3 = "3c0ffee0-0000-4000-8000-000000000003";
    let response = client
        .review("/validate/prod", &deployment_update_review(uid3, true))
        .review_response();
    assert_eq!(response["uid"], uid3);
    assert_eq!(response["allowed"], false);
    let response = client
        .review("/validate/prod", &deployment_update_review("u4", false))
        .review_response();
    assert_eq!(response["allowed"], true);
    assert_eq!(response["warnings"], json!(["profile prod"]));

    // The mutating endpoint keeps the patch, base64 of a JSON Patch.
    let response = client
        .review("/mutate", &pod_review("u5", "web", false))
        .review_response();
    assert_eq!(response["patchType"], "JSONPatch");
    let patch = base64::engine::general_purpose::STANDARD
        .decode(response["patch"].as_str().unwrap())
        .unwrap();
    let patch: Value = serde_json::from_slice(&patch).unwrap();
    assert_eq!(patch[0]["path"], "/metadata/labels/rampart");

    let audit = server.stop();
    let uids: Vec<&str> = audit.iter().map(|r| r["uid"].as_str().unwrap()).collect();
    assert_eq!(uids, [uid, uid2, uid3, "u4", "u5"]);
    let denied = &audit[1];
    assert_eq!(denied["allowed"], false);
    assert_eq!(denied["kind"], "Pod");
    assert_eq!(denied["namespace"], "team-a");
    assert_eq!(denied["name"], "root");
    assert_eq!(denied["operation"], "CREATE");
    assert_eq!(denied["username"], "kubernetes-admin");
    assert_eq!(denied["endpoint"], "validate");
    assert_eq!(denied["dryRun"], false);
    assert_eq!(
        denied["gates"],
        json!([{"gate": "privileged", "outcome": "deny", "message": "container app is privileged"}])
    );
    assert!(denied["latencyUs"].is_u64());
    assert!(denied.get("cause").is_none());
    // the pod's images, for the history's escape rate found later (a Deployment's from its
    // template)
    let image = "registry.example/app@sha256:4b9f2bbf6a0f1d8ab5f2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708";
    assert_eq!(denied["images"], json!([image]));
    assert_eq!(audit[2]["images"], json!([image]));
    denied["time"]
        .as_str()
        .unwrap()
        .parse::<jiff::Timestamp>()
        .unwrap();
    assert_eq!(audit[2]["dryRun"], true);
    assert_eq!(audit[2]["operation"], "UPDATE");
    assert_eq!(audit[2]["profile"], "prod");
    assert_eq!(audit[4]["endpoint"], "mutate");
}

#[test]
fn bad_input_gets_a_clear_4xx() {
    let server = start(DenyPrivileged, |c| c.body_limit = 64 * 1024);
    let client = server.client();
    let body = serde_json::to_vec(&pod_review("u1", "web", false)).unwrap();
    let json_ct = [("content-type", "application/json")];

    // wrong method
    let reply = client.send("GET", "/validate", &json_ct, Vec::new());
    assert_eq!(reply.status, 405);
    assert_eq!(reply.headers["allow"], "POST");
    assert_eq!(client.send("POST", "/healthz", &[], Vec::new()).status, 405);
    // unknown paths
    for path in [
        "/",
        "/validat",
        "/validate/",
        "/validate/..",
        "/validate/a/b",
        "/mutate/../x",
    ] {
        let reply = client.send("POST", path, &json_ct, body.clone());
        assert_eq!(reply.status, 404, "{path}: {}", reply.text());
    }
    // content type
    for ct in [
        None,
        Some("text/plain"),
        Some("application/json; charset=latin1"),
        Some("application/yaml"),
    ] {
        let headers: Vec<(&str, &str)> = ct.iter().map(|ct| ("content-type", *ct)).collect();
        let reply = client.send("POST", "/validate", &headers, body.clone());
        assert_eq!(reply.status, 415, "{ct:?}");
        assert!(
            reply.text().contains("expected application/json"),
            "{}",
            reply.text()
        );
    }
    let reply = client.send(
        "POST",
        "/validate",
        &[("content-type", "application/json; charset=utf-8")],
        body.clone(),
    );
    assert_eq!(reply.review_response()["allowed"], true);
    // too large, declared
    let reply = client
        .try_send(
            "POST",
            "/validate",
            &json_ct,
            DeclaredOnly { len: 64 * 1024 + 1 },
        )
        .unwrap();
    assert_eq!(reply.status, 413);
    assert!(
        reply.text().contains("at most 65536 bytes"),
        "{}",
        reply.text()
    );
    // too large, chunked without a length: the server stops reading at the limit
    let produced = Arc::new(AtomicUsize::new(0));
    let total = 1024 * 64 * 1024;
    let reply = client.try_send(
        "POST",
        "/validate",
        &json_ct,
        CountingBody {
            chunks: 1024,
            size: 64 * 1024,
            produced: Arc::clone(&produced),
        },
    );
    if let Ok(reply) = &reply {
        assert_eq!(reply.status, 413, "{}", reply.text());
    }
    assert!(
        produced.load(Ordering::SeqCst) < total,
        "the server read the whole 64 MiB body"
    );

    // malformed JSON, wrong envelope, missing request or uid: 400 with a reason
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"{not json".to_vec(), "key must be a string"),
        (br#"{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{"uid":"x"}}"#.to_vec(), "expected apiVersion admission.k8s.io/v1"),
        (br#"{"apiVersion":"admission.k8s.io/v1","kind":"Pod"}"#.to_vec(), "expected kind AdmissionReview"),
        (br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}"#.to_vec(), "expected a request"),
        (serde_json::to_vec(&{ let mut r = pod_review("", "web", false); r["request"]["uid"] = json!(""); r }).unwrap(), "request.uid"),
        (serde_json::to_vec(&{ let mut r = pod_review("x", "web", false); r["request"].as_object_mut().unwrap().remove("uid"); r }).unwrap(), "missing field `uid`"),
        (b"[]".to_vec(), "expected struct AdmissionReview"),
        (b"".to_vec(), "EOF"),
    ];
    for (body, reason) in cases {
        let reply = client.send("POST", "/validate", &json_ct, body.clone());
        assert_eq!(
            reply.status,
            400,
            "{}: {}",
            String::from_utf8_lossy(&body),
            reply.text()
        );
        assert!(
            reply.text().contains(reason),
            "expected {reason:?} in {:?}",
            reply.text()
        );
    }
    // uid readable, the rest broken: a well-formed denial carrying the uid
    let mut broken = pod_review("keep-this-uid", "web", false);
    broken["request"]["operation"] = json!("EXPLODE");
    let response = client.review("/validate", &broken).review_response();
    assert_eq!(response["uid"], "keep-this-uid");
    assert_eq!(response["allowed"], false);
    assert_eq!(response["status"]["code"], 400);
    assert!(
        response["status"]["message"]
            .as_str()
            .unwrap()
            .contains("EXPLODE"),
        "{response}"
    );
    let mut broken = pod_review("uid-2", "web", false);
    broken["request"]["kind"] = json!("Pod");
    let response = client.review("/validate", &broken).review_response();
    assert_eq!(response["uid"], "uid-2");
    assert_eq!(response["allowed"], false);

    // still serving after all that
    assert_eq!(
        client
            .review("/validate", &pod_review("ok", "web", false))
            .review_response()["allowed"],
        true
    );
    let samples = parse_metrics(&client.get("/metrics").text());
    for code in ["400", "404", "405", "413", "415"] {
        assert!(
            metric(
                &samples,
                "rampart_admission_rejected_requests_total",
                &[("code", code)]
            ) >= 1.0,
            "{code}"
        );
    }
    assert_eq!(
        metric(
            &samples,
            "rampart_admission_failure_mode_responses_total",
            &[("cause", "malformed")]
        ),
        2.0
    );
    let audit = server.stop();
    let malformed: Vec<&Value> = audit.iter().filter(|r| r["cause"] == "malformed").collect();
    assert_eq!(malformed.len(), 2);
    assert_eq!(malformed[0]["uid"], "keep-this-uid");
}

#[test]
fn deadline_answers_with_the_failure_mode_deny() {
    let server = start(Sleeper(Duration::from_secs(3)), |c| c.deadline_ms = 200);
    let client = server.client();
    let response = client
        .review("/validate", &pod_review("slow-1", "web", false))
        .review_response();
    assert_eq!(response["uid"], "slow-1");
    assert_eq!(response["allowed"], false);
    assert_eq!(response["status"]["code"], 403);
    let message = response["status"]["message"].as_str().unwrap();
    assert!(
        message.contains("could not decide within 200 ms"),
        "{message}"
    );
    assert!(message.contains("failure mode deny"), "{message}");
    assert_eq!(response["auditAnnotations"]["failure-mode"], "deadline");
    let samples = parse_metrics(&client.get("/metrics").text());
    assert_eq!(
        metric(
            &samples,
            "rampart_admission_failure_mode_responses_total",
            &[("cause", "deadline")]
        ),
        1.0
    );
    let audit = server.stop();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0]["uid"], "slow-1");
    assert_eq!(audit[0]["cause"], "deadline");
    assert_eq!(audit[0]["allowed"], false);
}

#[test]
fn deadline_answers_with_the_failure_mode_allow() {
    let server = start(Sleeper(Duration::from_secs(3)), |c| {
        c.deadline_ms = 200;
        c.failure_mode = FailureMode::Allow;
    });
    let response = server
        .client()
        .review("/mutate", &pod_review("slow-2", "web", false))
        .review_response();
    assert_eq!(response["uid"], "slow-2");
    assert_eq!(response["allowed"], true);
    assert!(response.get("patch").is_none());
    let warning = response["warnings"][0].as_str().unwrap();
    assert!(
        warning.contains("could not decide within 200 ms")
            && warning.contains("failure mode allow"),
        "{warning}"
    );
    let audit = server.stop();
    assert_eq!(audit[0]["cause"], "deadline");
    assert_eq!(audit[0]["allowed"], true);
}

#[test]
fn overload_answers_at_once_with_the_failure_mode() {
    let (entered_tx, entered_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel();
    let blocker = Blocker {
        entered: Mutex::new(entered_tx),
        release: Mutex::new(release_rx),
        calls: AtomicUsize::new(0),
    };
    let server = start(blocker, |c| {
        c.max_concurrent = 1;
        c.deadline_ms = 60_000;
    });
    let client = server.client();
    let first = {
        let client = client.clone();
        std::thread::spawn(move || client.review("/validate", &pod_review("first", "web", false)))
    };
    entered_rx.recv_timeout(Duration::from_secs(60)).unwrap();
    // The only slot is taken: the second review is answered by the failure mode, not queued.
    let response = client
        .review("/validate", &pod_review("second", "web", false))
        .review_response();
    assert_eq!(response["uid"], "second");
    assert_eq!(response["allowed"], false);
    let message = response["status"]["message"].as_str().unwrap();
    assert!(message.contains("overloaded"), "{message}");
    let samples = parse_metrics(&client.get("/metrics").text());
    assert_eq!(
        metric(&samples, "rampart_admission_decisions_in_flight", &[]),
        1.0
    );
    assert_eq!(
        metric(
            &samples,
            "rampart_admission_failure_mode_responses_total",
            &[("cause", "overload")]
        ),
        1.0
    );
    release_tx.send(()).unwrap();
    let first = first.join().unwrap().review_response();
    assert_eq!(first["uid"], "first");
    assert_eq!(first["allowed"], true);
    // The slot is free again.
    release_tx.send(()).unwrap();
    let third = client
        .review("/validate", &pod_review("third", "web", false))
        .review_response();
    assert_eq!(third["allowed"], true);
    let audit = server.stop();
    let causes: Vec<(&str, Option<&str>)> = audit
        .iter()
        .map(|r| (r["uid"].as_str().unwrap(), r["cause"].as_str()))
        .collect();
    assert_eq!(
        causes,
        [
            ("second", Some("overload")),
            ("first", None),
            ("third", None)
        ]
    );
}

#[test]
fn a_panicking_reviewer_gets_the_failure_mode_and_the_server_keeps_serving() {
    let server = start(PanicOnBoom, |_| {});
    let client = server.client();
    for round in 0..3 {
        let response = client
            .review(
                "/validate",
                &pod_review(&format!("boom-{round}"), "boom", false),
            )
            .review_response();
        assert_eq!(response["allowed"], false);
        assert!(
            response["status"]["message"]
                .as_str()
                .unwrap()
                .contains("internal error"),
            "{response}"
        );
        let response = client
            .review(
                "/validate",
                &pod_review(&format!("fine-{round}"), "fine", false),
            )
            .review_response();
        assert_eq!(response["allowed"], true);
    }
    let samples = parse_metrics(&client.get("/metrics").text());
    assert_eq!(
        metric(
            &samples,
            "rampart_admission_failure_mode_responses_total",
            &[("cause", "panic")]
        ),
        3.0
    );
    assert_eq!(
        metric(&samples, "rampart_admission_decisions_in_flight", &[]),
        0.0
    );
    let audit = server.stop();
    assert_eq!(audit.iter().filter(|r| r["cause"] == "panic").count(), 3);
}

#[test]
fn metrics_count_requests_gates_and_latency() {
    let server = start(DenyPrivileged, |_| {});
    let client = server.client();
    for i in 0..3 {
        client.review("/validate", &pod_review(&format!("a{i}"), "web", false));
    }
    client.review("/validate", &pod_review("d", "web", true));
    client.review("/validate/prod", &pod_review("p", "web", false));
    let reply = client.get("/metrics");
    assert_eq!(reply.status, 200);
    assert!(
        reply.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let text = reply.text();
    assert!(text.trim_end().ends_with("# EOF"), "{text}");
    let samples = parse_metrics(&text);
    let requests = "rampart_admission_requests_total";
    assert_eq!(
        metric(
            &samples,
            requests,
            &[
                ("endpoint", "validate"),
                ("profile", ""),
                ("allowed", "true")
            ]
        ),
        3.0
    );
    assert_eq!(
        metric(
            &samples,
            requests,
            &[("endpoint", "validate"), ("allowed", "false")]
        ),
        1.0
    );
    assert_eq!(
        metric(
            &samples,
            requests,
            &[("profile", "prod"), ("allowed", "true")]
        ),
        1.0
    );
    let decisions = "rampart_admission_decisions_total";
    assert_eq!(
        metric(
            &samples,
            decisions,
            &[("gate", "privileged"), ("outcome", "allow")]
        ),
        4.0
    );
    assert_eq!(
        metric(
            &samples,
            decisions,
            &[("gate", "privileged"), ("outcome", "deny")]
        ),
        1.0
    );
    let count = metric(
        &samples,
        "rampart_admission_request_duration_seconds_count",
        &[("endpoint", "validate")],
    );
    assert_eq!(count, 5.0);
    // sub-millisecond buckets exist
    assert!(samples.iter().any(|s| {
        s.name == "rampart_admission_request_duration_seconds_bucket"
            && s.labels
                .get("le")
                .is_some_and(|le| le.parse::<f64>().unwrap() < 0.001)
    }));
    let inf = metric(
        &samples,
        "rampart_admission_request_duration_seconds_bucket",
        &[("endpoint", "validate"), ("le", "+Inf")],
    );
    assert_eq!(inf, 5.0);
}

#[test]
fn health_and_readiness() {
    let server = start(DenyPrivileged, |_| {});
    let client = server.client();
    let health = client.get("/healthz");
    assert_eq!((health.status, health.text().trim()), (200, "ok"));
    let ready = client.get("/readyz");
    assert_eq!((ready.status, ready.text().trim()), (200, "ready"));
}

#[test]
fn tls_verifies_the_service_name_and_the_ca() {
    let server = start(DenyPrivileged, |_| {});
    let long = Client::new(
        &server.tls.ca_pem,
        "rampart-admission.rampart-system.svc.cluster.local",
        server.addr,
    );
    assert_eq!(long.get("/healthz").status, 200);
    let wrong_name = Client::new(&server.tls.ca_pem, "other.rampart-system.svc", server.addr);
    let err = wrong_name
        .try_send("GET", "/healthz", &[], http_body_util::Empty::new())
        .unwrap_err();
    assert!(err.contains("tls"), "{err}");
    let other_ca = generate_tls(SERVICE, NAMESPACE).unwrap();
    let wrong_ca = Client::new(&other_ca.ca_pem, SERVER_NAME, server.addr);
    let err = wrong_ca
        .try_send("GET", "/healthz", &[], http_body_util::Empty::new())
        .unwrap_err();
    assert!(err.contains("tls"), "{err}");
}

#[test]
fn certificate_reload_without_restart() {
    let server = start(DenyPrivileged, |_| {});
    assert_eq!(server.client().get("/healthz").status, 200);
    let new = generate_tls(SERVICE, NAMESPACE).unwrap();
    let new_client = Client::new(&new.ca_pem, SERVER_NAME, server.addr);
    assert!(
        new_client
            .try_send("GET", "/healthz", &[], http_body_util::Empty::new())
            .is_err()
    );

    // A broken pair first: the old certificate stays in service.
    std::fs::write(server.dir.path().join("tls.crt"), "not a certificate").unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        server.client().get("/healthz").status,
        200,
        "a bad pair must keep the old certificate"
    );

    write_tls(&new, server.dir.path()).unwrap();
    let start = Instant::now();
    let reply = loop {
        match new_client.try_send("GET", "/healthz", &[], http_body_util::Empty::new()) {
            Ok(reply) => break reply,
            Err(e) if start.elapsed() < Duration::from_secs(60) => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => panic!("the new certificate was never served: {e}"),
        }
    };
    assert_eq!(reply.status, 200);
    // A new connection trusting only the old CA now fails.
    assert!(
        server
            .client()
            .try_send("GET", "/healthz", &[], http_body_util::Empty::new())
            .is_err()
    );
}

#[test]
fn graceful_shutdown_flushes_every_audit_line() {
    let server = start(DenyPrivileged, |_| {});
    let client = server.client();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let client = client.clone();
            std::thread::spawn(move || {
                for i in 0..25 {
                    let r = client.review(
                        "/validate",
                        &pod_review(&format!("t{t}-{i}"), "web", i % 2 == 0),
                    );
                    assert_eq!(r.status, 200);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let audit = server.stop();
    assert_eq!(audit.len(), 100);
    let mut uids: Vec<&str> = audit.iter().map(|r| r["uid"].as_str().unwrap()).collect();
    uids.sort_unstable();
    uids.dedup();
    assert_eq!(uids.len(), 100);
}

#[test]
fn server_config_parses_from_toml_with_defaults_and_rejects_unknown_fields() {
    let config: rampart_admission::ServerConfig = toml::from_str(
        r#"
        listen = "127.0.0.1:9443"
        cert = "/tls/tls.crt"
        key = "/tls/tls.key"
        deadline-ms = 1500
        audit-log = "/var/log/rampart/audit.jsonl"
        "#,
    )
    .unwrap();
    assert_eq!(config.listen.port(), 9443);
    assert_eq!(config.deadline_ms, 1500);
    assert_eq!(
        config.body_limit,
        rampart_admission::ServerConfig::default().body_limit
    );
    assert_eq!(
        config.audit_log,
        rampart_admission::audit::AuditTarget::File("/var/log/rampart/audit.jsonl".into())
    );
    let empty: rampart_admission::ServerConfig = toml::from_str("").unwrap();
    assert_eq!(empty, rampart_admission::ServerConfig::default());
    let err = toml::from_str::<rampart_admission::ServerConfig>("deadline = 5").unwrap_err();
    assert!(
        err.to_string().contains("unknown field `deadline`"),
        "{err}"
    );
    // One failure mode for the whole webhook: the top-level key, not one of `[server]`.
    let err =
        toml::from_str::<rampart_admission::ServerConfig>("failure-mode = \"allow\"").unwrap_err();
    assert!(err.to_string().contains("unknown field"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let config = rampart_admission::Config::parse(
        "failure-mode = \"allow\"\n[server]\ncert = \"tls/tls.crt\"\naudit-log = \"audit.jsonl\"\n",
        dir.path(),
    )
    .unwrap();
    assert_eq!(config.server.failure_mode, FailureMode::Allow);
    assert_eq!(config.server.cert, dir.path().join("tls/tls.crt"));
    assert_eq!(
        config.server.audit_log,
        rampart_admission::audit::AuditTarget::File(dir.path().join("audit.jsonl"))
    );
    let err = rampart_admission::Config::parse("[server]\nfailure-mode = \"allow\"\n", dir.path())
        .unwrap_err();
    assert!(err.to_string().contains("unknown field"), "{err}");
}

#[test]
fn a_body_that_never_arrives_is_answered_at_the_deadline() {
    let server = start(DenyPrivileged, |c| c.deadline_ms = 200);
    let reply = server
        .client()
        .try_send(
            "POST",
            "/validate",
            &[("content-type", "application/json")],
            DeclaredOnly { len: 100 },
        )
        .unwrap();
    assert_eq!(reply.status, 408, "{}", reply.text());
    assert!(reply.text().contains("deadline"), "{}", reply.text());
}

#[test]
fn a_client_offering_h2_first_like_kube_apiserver_gets_http_1_1() {
    let server = start(DenyPrivileged, |_| {});
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pki_types::CertificateDer::pem_slice_iter(server.tls.ca_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let alpn = runtime.block_on(async {
        let tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        let name = rustls_pki_types::ServerName::try_from(SERVER_NAME).unwrap();
        let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .unwrap();
        tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec)
    });
    assert_eq!(alpn.as_deref(), Some(&b"http/1.1"[..]));
}

#[test]
fn metrics_label_requests_with_the_profile_that_decided() {
    let config = rampart_admission::Config::parse(
        "default-profile = \"baseline\"\n\
         [profiles.baseline]\npss = { level = \"baseline\" }\n\
         [profiles.prod]\npss = { level = \"restricted\" }\n\
         [[namespaces]]\nnames = [\"team-*\"]\nprofile = \"prod\"\n",
        std::path::Path::new("/nonexistent"),
    )
    .unwrap();
    let engine = rampart_admission::Engine::new(config).unwrap();
    let server = start(engine, |_| {});
    let client = server.client();
    // team-a: the namespace rule chooses prod (restricted denies this pod)
    client.review("/validate", &pod_review("t1", "web", false));
    client.review("/validate", &pod_review("t2", "web", false));
    // another namespace: the default profile
    let mut other = pod_review("o1", "web", false);
    other["request"]["namespace"] = json!("other");
    other["request"]["object"]["metadata"]["namespace"] = json!("other");
    client.review("/validate", &other);
    // the URL names the profile
    client.review("/validate/baseline", &pod_review("u1", "web", false));
    let samples = parse_metrics(&client.get("/metrics").text());
    let requests = "rampart_admission_requests_total";
    let by_profile = |p: &str| {
        metric(
            &samples,
            requests,
            &[("endpoint", "validate"), ("profile", p)],
        )
    };
    assert_eq!(by_profile("prod"), 2.0, "{samples:#?}");
    assert_eq!(by_profile("baseline"), 2.0, "{samples:#?}");
    assert_eq!(
        by_profile(""),
        0.0,
        "no request is decided without a profile"
    );
}
