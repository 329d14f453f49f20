//! The generated deployment: parsed back from YAML, rampart's pod checked by rampart's own
//! Pod Security Standards evaluator, and the generated certificates checked by `openssl verify`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::process::Command;

use base64::Engine as _;
use rampart_admission::ServerConfig;
use rampart_admission::manifests::{
    CertSource, ManifestError, ManifestOptions, generate, service_dns_names, to_yaml, write_tls,
};
use rampart_admission::review::Route;
use serde_json::{Value, json};

fn options() -> ManifestOptions {
    ManifestOptions {
        image: "registry.example/rampart@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef".to_owned(),
        routes: vec![
            Route {
                profile: "prod".to_owned(),
                namespace_selector: json!({"matchLabels": {"env": "prod"}}),
                mutate: true,
            },
            Route {
                profile: "sandbox".to_owned(),
                namespace_selector: json!({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["untrusted"]}]}),
                mutate: false,
            },
        ],
        config_toml: Some("[server]\ndeadline-ms = 3000\n".to_owned()),
        ..ManifestOptions::default()
    }
}

fn by_kind<'a>(docs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    docs.iter().filter(|d| d["kind"] == kind).collect()
}

fn one<'a>(docs: &'a [Value], kind: &str) -> &'a Value {
    let found = by_kind(docs, kind);
    assert_eq!(found.len(), 1, "expected one {kind}");
    found[0]
}

fn parse_yaml(text: &str) -> Vec<Value> {
    rampart_testkit::yaml::documents("the generated manifests", text)
}

#[test]
fn yaml_parses_back_to_the_documents() {
    let manifests = generate(&options()).unwrap();
    let yaml = to_yaml(&manifests.documents).unwrap();
    assert!(yaml.starts_with("---\n"));
    assert!(
        !yaml.trim_start().starts_with("{"),
        "readable YAML, not JSON"
    );
    assert_eq!(parse_yaml(&yaml), manifests.documents);
    let kinds: Vec<&str> = manifests
        .documents
        .iter()
        .map(|d| d["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "Namespace",
            "ServiceAccount",
            "ConfigMap",
            "Secret",
            "Service",
            "Deployment",
            "NetworkPolicy",
            "PodDisruptionBudget",
            "MutatingWebhookConfiguration",
            "ValidatingWebhookConfiguration"
        ]
    );
}

#[test]
fn rampart_pod_passes_restricted_pod_security() {
    let manifests = generate(&options()).unwrap();
    let deployment = one(&manifests.documents, "Deployment");
    let template = &deployment["spec"]["template"];
    let evaluation = rampart_pss::evaluate(
        rampart_pss::Level::Restricted,
        rampart_pss::Version::LATEST,
        template,
    );
    assert!(evaluation.allowed(), "{}", evaluation.message());
    let container = &template["spec"]["containers"][0];
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(
        container["livenessProbe"]["httpGet"],
        json!({"path": "/healthz", "port": "https", "scheme": "HTTPS"})
    );
    assert_eq!(
        container["readinessProbe"]["httpGet"],
        json!({"path": "/readyz", "port": "https", "scheme": "HTTPS"})
    );
    assert!(container["resources"]["requests"]["memory"].is_string());
    assert!(container["resources"]["limits"]["memory"].is_string());
    assert_eq!(container["ports"][0]["containerPort"], 8443);
    // The server's default listen port is the container port.
    assert_eq!(ServerConfig::default().listen.port(), 8443);
    assert_eq!(
        ServerConfig::default()
            .cert
            .parent()
            .unwrap()
            .to_str()
            .unwrap(),
        rampart_admission::manifests::TLS_DIR
    );
    let service = one(&manifests.documents, "Service");
    assert_eq!(service["spec"]["ports"][0]["port"], 443);
    assert_eq!(service["spec"]["ports"][0]["targetPort"], "https");
    let namespace = one(&manifests.documents, "Namespace");
    assert_eq!(namespace["metadata"]["name"], "rampart-system");
    assert_eq!(
        namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
        "restricted"
    );
}

#[test]
fn webhook_configurations_fail_closed_and_exclude_their_namespace() {
    let manifests = generate(&options()).unwrap();
    let docs = &manifests.documents;
    let tls = manifests.tls.as_ref().unwrap();
    let ca_bundle = base64::engine::general_purpose::STANDARD.encode(&tls.ca_pem);
    let validating = one(docs, "ValidatingWebhookConfiguration");
    let mutating = one(docs, "MutatingWebhookConfiguration");
    let own = json!({"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["rampart-system"]});
    let deadline_s = ServerConfig::default().deadline_ms / 1000;
    let mut names = Vec::new();
    let mut paths = Vec::new();
    for config in [validating, mutating] {
        assert_eq!(config["apiVersion"], "admissionregistration.k8s.io/v1");
        for webhook in config["webhooks"].as_array().unwrap() {
            names.push(webhook["name"].as_str().unwrap().to_owned());
            assert_eq!(webhook["admissionReviewVersions"], json!(["v1"]));
            assert_eq!(webhook["sideEffects"], "None");
            assert_eq!(webhook["failurePolicy"], "Fail");
            let timeout = webhook["timeoutSeconds"].as_u64().unwrap();
            assert!(
                timeout > deadline_s && timeout <= 30,
                "timeoutSeconds {timeout}"
            );
            let service = &webhook["clientConfig"]["service"];
            assert_eq!(service["namespace"], "rampart-system");
            assert_eq!(service["name"], "rampart-admission");
            assert_eq!(service["port"], 443);
            paths.push(service["path"].as_str().unwrap().to_owned());
            assert_eq!(webhook["clientConfig"]["caBundle"], ca_bundle);
            let expressions = webhook["namespaceSelector"]["matchExpressions"]
                .as_array()
                .unwrap();
            assert!(expressions.contains(&own), "{webhook}");
            let rules = webhook["rules"].as_array().unwrap();
            let mut resources = Vec::new();
            for rule in rules {
                assert_eq!(rule["operations"], json!(["CREATE", "UPDATE"]));
                for r in rule["resources"].as_array().unwrap() {
                    resources.push(format!(
                        "{}/{}",
                        rule["apiGroups"][0].as_str().unwrap(),
                        r.as_str().unwrap()
                    ));
                }
            }
            resources.sort();
            assert_eq!(
                resources,
                [
                    "/pods",
                    "/pods/ephemeralcontainers",
                    "/podtemplates",
                    "/replicationcontrollers",
                    "apps/daemonsets",
                    "apps/deployments",
                    "apps/replicasets",
                    "apps/statefulsets",
                    "batch/cronjobs",
                    "batch/jobs"
                ]
            );
        }
    }
    assert_eq!(
        paths,
        [
            "/validate",
            "/validate/prod",
            "/validate/sandbox",
            "/mutate/prod"
        ]
    );
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), names.len(), "{names:?}");
    // The routes keep their own selectors, ANDed with the exclusion.
    let prod = &validating["webhooks"][1]["namespaceSelector"];
    assert_eq!(prod["matchLabels"], json!({"env": "prod"}));
    let sandbox = &validating["webhooks"][2]["namespaceSelector"]["matchExpressions"];
    assert_eq!(
        sandbox[0],
        json!({"key": "tier", "operator": "In", "values": ["untrusted"]})
    );
    assert_eq!(sandbox.as_array().unwrap().len(), 2);
    // The Secret carries the same certificate.
    let secret = one(docs, "Secret");
    assert_eq!(secret["type"], "kubernetes.io/tls");
    let decode = |k: &str| {
        String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(secret["data"][k].as_str().unwrap())
                .unwrap(),
        )
        .unwrap()
    };
    assert_eq!(decode("tls.crt"), tls.cert_pem);
    assert_eq!(decode("tls.key"), tls.key_pem);
    assert_eq!(decode("ca.crt"), tls.ca_pem);
}

#[test]
fn generated_certificate_chains_to_the_ca_with_the_service_names() {
    support::ensure_tool("openssl", "openssl");
    let manifests = generate(&options()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let files = write_tls(manifests.tls.as_ref().unwrap(), dir.path()).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&files.key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    for name in service_dns_names("rampart-admission", "rampart-system") {
        let out = Command::new("openssl")
            .args([
                "verify",
                "-purpose",
                "sslserver",
                "-verify_hostname",
                &name,
                "-CAfile",
            ])
            .arg(&files.ca)
            .arg(&files.cert)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains(": OK"),
            "{name}: {stdout} {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = Command::new("openssl")
        .args([
            "verify",
            "-verify_hostname",
            "rampart-admission.other.svc",
            "-CAfile",
        ])
        .arg(&files.ca)
        .arg(&files.cert)
        .output()
        .unwrap();
    assert!(!out.status.success(), "a foreign name must not verify");
    let out = Command::new("openssl")
        .args(["x509", "-noout", "-ext", "subjectAltName", "-in"])
        .arg(&files.cert)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("DNS:rampart-admission.rampart-system.svc, DNS:rampart-admission.rampart-system.svc.cluster.local"),
        "{text}"
    );
    // The key belongs to the certificate: the public keys are equal.
    let cert_pub = Command::new("openssl")
        .args(["x509", "-noout", "-pubkey", "-in"])
        .arg(&files.cert)
        .output()
        .unwrap();
    let key_pub = Command::new("openssl")
        .args(["pkey", "-pubout", "-in"])
        .arg(&files.key)
        .output()
        .unwrap();
    assert!(cert_pub.status.success() && key_pub.status.success());
    assert_eq!(cert_pub.stdout, key_pub.stdout);
    // The CA is a CA.
    let out = Command::new("openssl")
        .args(["x509", "-noout", "-ext", "basicConstraints", "-in"])
        .arg(&files.ca)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("CA:TRUE"));
}

#[test]
fn cert_manager_replaces_the_secret_and_the_ca_bundle() {
    let manifests = generate(&ManifestOptions {
        certificates: CertSource::CertManager,
        ..options()
    })
    .unwrap();
    let docs = &manifests.documents;
    assert!(manifests.tls.is_none());
    assert!(by_kind(docs, "Secret").is_empty());
    assert_eq!(by_kind(docs, "Issuer").len(), 2);
    let certificates = by_kind(docs, "Certificate");
    let serving = certificates
        .iter()
        .find(|c| c["spec"]["secretName"] == "rampart-admission-tls")
        .unwrap();
    assert_eq!(serving["metadata"]["name"], "rampart-admission");
    assert_eq!(
        serving["spec"]["dnsNames"],
        json!(service_dns_names("rampart-admission", "rampart-system"))
    );
    let deployment = one(docs, "Deployment");
    assert_eq!(
        deployment["spec"]["template"]["spec"]["volumes"][0]["secret"]["secretName"],
        "rampart-admission-tls"
    );
    for kind in [
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
    ] {
        let config = one(docs, kind);
        assert_eq!(
            config["metadata"]["annotations"]["cert-manager.io/inject-ca-from"],
            "rampart-system/rampart-admission"
        );
        for webhook in config["webhooks"].as_array().unwrap() {
            assert!(webhook["clientConfig"].get("caBundle").is_none());
        }
    }
    assert_eq!(parse_yaml(&to_yaml(docs).unwrap()), *docs);
}

#[test]
fn bad_options_are_refused_with_the_option_named() {
    let cases: Vec<(ManifestOptions, &str)> = vec![
        (
            ManifestOptions {
                namespace: "Rampart".to_owned(),
                ..options()
            },
            "namespace",
        ),
        (
            ManifestOptions {
                name: String::new(),
                ..options()
            },
            "name",
        ),
        (
            ManifestOptions {
                timeout_seconds: 0,
                ..options()
            },
            "timeout-seconds",
        ),
        (
            ManifestOptions {
                timeout_seconds: 31,
                ..options()
            },
            "timeout-seconds",
        ),
        (
            ManifestOptions {
                container_port: 443,
                ..options()
            },
            "container-port",
        ),
        (
            ManifestOptions {
                routes: vec![Route {
                    profile: "a/b".to_owned(),
                    namespace_selector: json!({}),
                    mutate: false,
                }],
                ..options()
            },
            "route profile",
        ),
    ];
    for (options, option) in cases {
        match generate(&options) {
            Err(ManifestError::Option { option: found, .. }) => assert_eq!(found, option),
            other => panic!("{option}: expected an option error, found {other:?}"),
        }
    }
    let bad_selector = ManifestOptions {
        routes: vec![Route {
            profile: "x".to_owned(),
            namespace_selector: json!(["env"]),
            mutate: false,
        }],
        ..options()
    };
    let err = generate(&bad_selector).unwrap_err();
    assert!(matches!(err, ManifestError::Selector { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("route x: expected a LabelSelector"),
        "{err}"
    );
}

/// The whole deployment with cert-manager (no random key material), for review in diffs.
#[test]
fn cert_manager_deployment_snapshot() {
    let manifests = generate(&ManifestOptions {
        certificates: CertSource::CertManager,
        ..options()
    })
    .unwrap();
    insta::assert_snapshot!(to_yaml(&manifests.documents).unwrap());
}
