//! `rampart fleet manifests` from the command line: what it prints passes `rampart scan` (the
//! real binary) with nothing at or above medium and no input error (the objects validate
//! against the embedded Kubernetes schemas), as a Deployment and as a CronJob, with the
//! runtime's seccomp profile or rampart's own recorded one (deploy/rampart.seccomp.json, read
//! and linted by the scan); the webhook's manifests take that profile too; an unpinned image
//! is said; bad options are usage errors.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn rampart(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn digest() -> String {
    format!("sha256:{}", "ab".repeat(32))
}

/// `rampart scan FILE --format json --fail-on medium` in the file's directory.
fn scan(dir: &Path, file: &str) -> (Output, Value) {
    let out = rampart(
        &[
            "scan",
            file,
            "--no-config",
            "--format",
            "json",
            "--fail-on",
            "medium",
        ],
        dir,
    );
    let report = common::json(&out);
    (out, report)
}

/// Unsuppressed findings at or above medium, as `RULE subject: message`.
fn serious(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["suppressed"].is_null())
        .filter(|f| ["critical", "high", "medium"].contains(&f["severity"].as_str().unwrap()))
        .map(|f| format!("{} {}: {}", f["rule_id"], f["subject"], f["message"]))
        .collect()
}

fn rule_ids(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule_id"].as_str().unwrap().to_owned())
        .collect()
}

fn layer<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["layer"] == name)
        .unwrap()
}

/// The output in each mode, with either seccomp profile, passes the scan: exit 0 with
/// `--fail-on medium`, nothing at or above medium, no input error; the runtime, network and
/// access layers hold; the recorded profile is found beside the manifests and linted clean.
#[test]
fn fleet_manifests_pass_rampart_scan_in_every_mode() {
    let profile = common::root().join("deploy/rampart.seccomp.json");
    assert!(
        profile.is_file(),
        "deploy/rampart.seccomp.json is committed"
    );
    let digest = digest();
    for cronjob in [None, Some("*/30 * * * *")] {
        for localhost in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let d = dir.path();
            let mut args = vec![
                "fleet",
                "manifests",
                "--image-digest",
                &digest,
                "--registry",
                "203.0.113.7/32:443",
                "--postgres",
                "10.20.0.5/32:5432",
            ];
            if let Some(schedule) = cronjob {
                args.extend(["--cronjob", schedule]);
            }
            if localhost {
                std::fs::copy(&profile, d.join("rampart.seccomp.json")).unwrap();
                args.extend(["--seccomp-profile", "rampart.seccomp.json"]);
            }
            let out = rampart(&args, d);
            common::ok(&out);
            let yaml = text(&out.stdout);
            let kind = if cronjob.is_some() {
                "kind: CronJob"
            } else {
                "kind: Deployment"
            };
            assert!(yaml.contains(kind), "{yaml}");
            assert!(
                yaml.contains(&format!("{}@{digest}", rampart_core::RAMPART_IMAGE)),
                "the default image, pinned"
            );
            // The store URL is never in the objects (a comment shows the Secret to create).
            assert!(
                yaml.lines()
                    .filter(|l| !l.trim_start().starts_with('#'))
                    .all(|l| !l.contains("postgres://")),
                "{yaml}"
            );
            assert!(yaml.contains("secretKeyRef:"), "{yaml}");
            assert_eq!(
                yaml.contains("--exit-when-idle"),
                cronjob.is_some(),
                "{yaml}"
            );
            std::fs::write(d.join("fleet.yaml"), &yaml).unwrap();
            let (out, report) = scan(d, "fleet.yaml");
            let what = format!("cronjob {cronjob:?}, localhost {localhost}");
            assert!(
                serious(&report).is_empty(),
                "{what}: {:#?}",
                serious(&report)
            );
            assert_eq!(
                report["errors"].as_array().unwrap().len(),
                0,
                "{what}: input errors (schema validation): {:#?}",
                report["errors"]
            );
            assert_eq!(out.status.code(), Some(0), "{what}: {}", text(&out.stderr));
            for name in ["runtime", "network", "access", "supply-chain"] {
                assert_eq!(layer(&report, name)["state"], "holds", "{what}: {name}");
            }
            let ids = rule_ids(&report);
            // The profile was found and read (SEC002 says it was not), and its lint found
            // nothing at or above high (SEC001).
            assert!(!ids.iter().any(|i| i.starts_with("SEC")), "{what}: {ids:?}");
            if localhost {
                assert!(yaml.contains("localhostProfile: rampart.seccomp.json"));
            }
        }
    }
}

/// A profile that is not beside the manifests is reported (SEC002, low): the scan really looks
/// it up; a loose one (every call allowed) is high (SEC001) and fails the scan.
#[test]
fn the_localhost_profile_is_really_read() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let digest = digest();
    let args = [
        "fleet",
        "manifests",
        "--image-digest",
        &digest,
        "--seccomp-profile",
        "rampart.seccomp.json",
    ];
    let out = rampart(&args, d);
    common::ok(&out);
    std::fs::write(d.join("fleet.yaml"), &out.stdout).unwrap();
    let (_, report) = scan(d, "fleet.yaml");
    assert!(
        rule_ids(&report).contains(&"SEC002".to_owned()),
        "{:?}",
        rule_ids(&report)
    );
    std::fs::write(
        d.join("rampart.seccomp.json"),
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": []}"#,
    )
    .unwrap();
    let (out, report) = scan(d, "fleet.yaml");
    assert!(
        rule_ids(&report).contains(&"SEC001".to_owned()),
        "{:?}",
        rule_ids(&report)
    );
    assert_eq!(out.status.code(), Some(1));
}

/// Without --image-digest the scan says the image is not pinned (K8S004, medium): the one
/// thing the defaults leave to the user, said on standard error too.
#[test]
fn an_unpinned_image_is_said() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = rampart(&["fleet", "manifests"], d);
    common::ok(&out);
    assert!(
        text(&out.stderr).contains("--image-digest"),
        "{}",
        text(&out.stderr)
    );
    std::fs::write(d.join("fleet.yaml"), &out.stdout).unwrap();
    let (out, report) = scan(d, "fleet.yaml");
    let serious = serious(&report);
    assert!(
        !serious.is_empty() && serious.iter().all(|s| s.starts_with("\"K8S004\"")),
        "{serious:#?}"
    );
    assert_eq!(out.status.code(), Some(1));
}

/// The webhook's manifests take rampart's recorded profile as well (it covers `admission
/// serve`), and still pass the scan.
#[test]
fn admission_manifests_with_the_recorded_profile_pass_the_scan() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::copy(
        common::root().join("deploy/rampart.seccomp.json"),
        d.join("rampart.seccomp.json"),
    )
    .unwrap();
    let digest = digest();
    let out = rampart(
        &[
            "admission",
            "manifests",
            "--image-digest",
            &digest,
            "--seccomp-profile",
            "rampart.seccomp.json",
        ],
        d,
    );
    common::ok(&out);
    let yaml = text(&out.stdout);
    assert!(yaml.contains(&format!("{}@{digest}", rampart_core::RAMPART_IMAGE)));
    assert_eq!(
        yaml.matches("localhostProfile: rampart.seccomp.json")
            .count(),
        2
    );
    std::fs::write(d.join("webhook.yaml"), &yaml).unwrap();
    let (out, report) = scan(d, "webhook.yaml");
    assert!(serious(&report).is_empty(), "{:#?}", serious(&report));
    assert!(!rule_ids(&report).iter().any(|i| i.starts_with("SEC")));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

/// Bad options are usage errors that name the option.
#[test]
fn bad_options_are_named() {
    let dir = tempfile::tempdir().unwrap();
    for (args, name) in [
        (&["--registry", "203.0.113.7"][..], "CIDR:PORT"),
        (&["--postgres", "10.0.0.1/8:5432"], "CIDR"),
        (&["--cronjob", "every hour"], "cronjob"),
        (&["--image-digest", "sha256:xyz"], "image-digest"),
        (&["--per-registry", "9"], "per-registry"),
        (&["--secret", "Bad_Name"], "NAME[:KEY]"),
        (&["--db-claim", "advisories"], "--db"),
    ] {
        let mut all = vec!["fleet", "manifests"];
        all.extend_from_slice(args);
        let out = rampart(&all, dir.path());
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            text(&out.stderr).contains(name),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
}

/// Every object printed, the PodDisruptionBudget included (rampart's scan does not validate
/// that kind), is valid for the strict Kubernetes 1.37 schemas (unknown fields rejected) of an
/// independent validator, `kubernetes-validate` (scripts/install-oracles.sh), in both modes and
/// with every option that adds fields; so are the webhook's and the monitor's.
#[test]
fn every_object_is_valid_for_the_strict_kubernetes_schemas() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let digest = digest();
    let runs: Vec<(&str, Vec<&str>)> = vec![
        (
            "deployment.yaml",
            vec!["fleet", "manifests", "--image-digest", &digest],
        ),
        (
            "cronjob.yaml",
            vec![
                "fleet",
                "manifests",
                "--image-digest",
                &digest,
                "--cronjob",
                "@hourly",
                "--replicas",
                "3",
                "--postgres-pods",
                "app=pg,role=primary:6432",
                "--registry",
                "[2001:db8::/32]:443",
                "--registry",
                "198.51.100.0/24:5000",
                "--dns",
                "169.254.20.10/32",
                "--seccomp-profile",
                "rampart.seccomp.json",
                "--db",
                "/var/lib/rampart/osv.db",
                "--db-claim",
                "advisories",
                "--runtime-class",
                "gvisor",
            ],
        ),
        (
            "webhook.yaml",
            vec!["admission", "manifests", "--image-digest", &digest],
        ),
        (
            "monitor.yaml",
            vec!["monitor", "manifests", "--image-digest", &digest],
        ),
    ];
    let mut files = Vec::new();
    for (name, args) in &runs {
        let out = rampart(args, d);
        common::ok(&out);
        std::fs::write(d.join(name), &out.stdout).unwrap();
        files.push(d.join(name).display().to_string());
    }
    let driver = r#"import json, sys, yaml
import kubernetes_validate.utils as u
out = []
for path in sys.argv[1:]:
    with open(path) as f:
        for doc in yaml.safe_load_all(f):
            if doc is None:
                continue
            try:
                u.validate(doc, "1.37.0", True)
                verdict = "valid"
            except u.ValidationError as e:
                verdict = ".".join(map(str, e.path)) + ": " + e.message[:300]
            except u.SchemaNotFoundError:
                verdict = "no schema"
            out.append([path.rsplit("/", 1)[-1], doc["kind"], verdict])
print(json.dumps(out))
"#;
    let out = Command::new(common::oracles().join("venv/bin/python"))
        .arg("-c")
        .arg(driver)
        .args(&files)
        .output()
        .unwrap();
    common::ok(&out);
    let verdicts: Vec<(String, String, String)> = serde_json::from_slice(&out.stdout).unwrap();
    let kinds: Vec<&str> = verdicts
        .iter()
        .filter(|v| v.0 == "cronjob.yaml")
        .map(|v| v.1.as_str())
        .collect();
    assert_eq!(
        kinds,
        [
            "Namespace",
            "ServiceAccount",
            "CronJob",
            "PodDisruptionBudget",
            "NetworkPolicy",
            "NetworkPolicy",
            "NetworkPolicy"
        ]
    );
    let invalid: Vec<_> = verdicts.iter().filter(|v| v.2 != "valid").collect();
    assert!(invalid.is_empty(), "{invalid:#?}");
}
