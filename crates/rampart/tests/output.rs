//! What `rampart` prints (issue 13, sections 3 and 4): the human report fitted to the terminal
//! width and ending with its summary line, locations as `path:line:col`, `--severity`,
//! `--quiet`, `-v`, the JUnit (read back by `junitparser`) and CycloneDX (the CycloneDX Python
//! library) formats; and errors a person can read (causes once, no raw bytes, local targets
//! never sent to a registry, image archives scanned as images, `sign` checking its target
//! before the password).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output, Stdio};

mod common;

use common::{json, oracles, rampart_command, root};

fn run(args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> Output {
    let mut c = rampart_command();
    c.args(args)
        .current_dir(cwd)
        .env_remove("COLUMNS")
        .env_remove("COSIGN_PASSWORD")
        .env_remove("RAMPART_PASSWORD")
        .env_remove("RAMPART_LOG")
        .stdin(Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The human report of the bundled example at a width (None: COLUMNS unset, not a terminal).
fn example_human(columns: Option<&str>) -> (Output, String) {
    let env: Vec<(&str, &str)> = columns.map(|c| ("COLUMNS", c)).into_iter().collect();
    let out = run(&["scan", "examples", "--color", "never"], &root(), &env);
    let t = text(&out.stdout).replace(env!("CARGO_PKG_VERSION"), "[version]");
    (out, t)
}

/// The summary line the example's report must end with, from its JSON report with the same
/// flags (so new rules change both alike).
fn expected_summary(extra: &[&str]) -> String {
    let mut args = vec!["scan", "examples", "-f", "json"];
    args.extend_from_slice(extra);
    let v = json(&run(&args, &root(), &[]));
    let counts = &v["summary"]["findings"];
    let total: u64 = ["critical", "high", "medium", "low", "info"]
        .iter()
        .map(|s| counts[s].as_u64().unwrap())
        .sum();
    let by: Vec<String> = ["critical", "high", "medium", "low", "info"]
        .iter()
        .filter(|s| counts[**s].as_u64().unwrap() > 0)
        .map(|s| format!("{} {s}", counts[*s]))
        .collect();
    let suppressed = v["summary"]["suppressed"].as_u64().unwrap();
    let hold = v["layers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["state"] == "holds")
        .count();
    let failing = v["findings"].as_array().unwrap().iter().any(|f| {
        f["suppressed"].is_null() && ["critical", "high"].contains(&f["severity"].as_str().unwrap())
    });
    format!(
        "{total} findings: {}{}; {hold} of 9 layers hold; exit {} (fail-on high)",
        by.join(", "),
        if suppressed > 0 {
            format!(" ({suppressed} suppressed)")
        } else {
            String::new()
        },
        u8::from(failing)
    )
}

fn widest(t: &str) -> usize {
    t.lines().map(|l| l.chars().count()).max().unwrap_or(0)
}

#[test]
fn human_report_fits_80_columns_and_ends_with_its_summary() {
    let (out, t) = example_human(Some("80"));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let raw = text(&out.stdout);
    assert!(
        widest(&raw) <= 80,
        "a line is wider than 80 columns:\n{raw}"
    );
    // Not a terminal and no COLUMNS: 80 too (a pipe, a CI log).
    let (_, default) = example_human(None);
    assert_eq!(default, t);
    // Rows are never broken: every subject row still has its eight layer cells.
    let subjects: Vec<&str> = t
        .lines()
        .skip_while(|l| !l.starts_with("Layers by subject"))
        // the legend may have its own line at 80 columns; then the header
        .skip_while(|l| !l.trim_start().starts_with("subject"))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .collect();
    assert!(subjects.len() >= 10, "{t}");
    for row in &subjects {
        let cells = row
            .chars()
            .filter(|c| matches!(c, '✔' | '▲' | '✘' | '·'))
            .count();
        assert_eq!(cells, 8, "row broken: {row:?}");
    }
    // The three Dockerfiles stay told apart when their names are cut.
    let dockerfiles: Vec<&&str> = subjects
        .iter()
        .filter(|r| r.trim_start().starts_with("Dockerfile"))
        .collect();
    assert_eq!(dockerfiles.len(), 3);
    let names: std::collections::BTreeSet<&str> = dockerfiles
        .iter()
        .map(|r| r.split("  ").find(|c| !c.is_empty()).unwrap())
        .collect();
    assert_eq!(names.len(), 3, "{dockerfiles:?}");
    // The last lines: the totals, the layers that hold and the exit code with its reason.
    let summary: String = t
        .trim_end()
        .rsplit("\n\n")
        .next()
        .unwrap()
        .lines()
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(summary, expected_summary(&[]));
    assert!(summary.ends_with("exit 1 (fail-on high)"), "{summary}");
    insta::assert_snapshot!("example_human_80", t);
}

#[test]
fn human_report_at_a_wide_terminal_keeps_rows_on_one_line() {
    let (_, t) = example_human(Some("200"));
    assert!(widest(&t) <= 200);
    assert!(
        widest(&t) > 100,
        "the width is used: the layer map's descriptions"
    );
    assert!(t.contains("  build         ✘ breached            60      45      15       0        15  Dockerfile hardening"), "{t}");
    assert_eq!(t.trim_end().lines().last().unwrap(), expected_summary(&[]));
    insta::assert_snapshot!("example_human_200", t);
}

#[test]
fn locations_print_as_path_line_col_and_image_findings_name_the_image() {
    let (_, t) = example_human(Some("120"));
    let lines: Vec<&str> = t
        .lines()
        .skip_while(|l| !l.starts_with("Findings: "))
        .collect();
    // The secret in the image: its file in the image, with line and column, and the image.
    assert!(
        lines
            .iter()
            .any(|l| l.trim() == "/root/.npmrc:1:34  Image examples/images/worker"),
        "{t}"
    );
    // A manifest finding: the file with line and column, then the object and container.
    assert!(
        lines
            .iter()
            .any(|l| l.trim() == "examples/k8s/debug-pod.json:13:9  Pod default/debug [shell]"),
        "{t}"
    );
    // Every finding's second line starts with a location: path:line:col or a whole file/image.
    let locations: Vec<&str> = lines
        .windows(2)
        .filter(|w| {
            [
                "CRITICAL ",
                "HIGH     ",
                "MEDIUM   ",
                "LOW      ",
                "INFO     ",
            ]
            .iter()
            .any(|s| w[0].trim_start().starts_with(s))
                && w[0].starts_with("  ")
                && !w[0].starts_with("   ")
        })
        .map(|w| w[1].split_whitespace().next().unwrap())
        .collect();
    assert!(locations.len() > 40, "{t}");
    let (mut with_line, mut whole) = (0, 0);
    for l in &locations {
        let parts: Vec<&str> = l.rsplitn(3, ':').collect();
        if parts.len() == 3 && parts[0].parse::<u32>().is_ok() && parts[1].parse::<u32>().is_ok() {
            with_line += 1;
        } else {
            assert!(
                !l.contains(':') || l.starts_with('/'),
                "neither path:line:col nor a whole file: {l}"
            );
            whole += 1;
        }
    }
    assert!(with_line > 30 && whole > 0, "{locations:?}");
}

#[test]
fn severity_filters_the_report_and_only_what_is_shown_counts_for_the_exit_code() {
    let out = run(
        &["scan", "examples", "-f", "json", "--severity", "CRITICAL"],
        &root(),
        &[],
    );
    // fail-on high (examples/rampart.toml): the critical findings still fail the run.
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let v = json(&out);
    let findings = v["findings"].as_array().unwrap();
    let all = json(&run(&["scan", "examples", "-f", "json"], &root(), &[]));
    let critical = all["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "critical")
        .count();
    assert!(critical > 0);
    assert_eq!(findings.len(), critical);
    assert!(findings.iter().all(|f| f["severity"] == "critical"));
    assert_eq!(v["summary"]["findings"]["high"], 0);
    assert_eq!(
        v["summary"]["findings"]["critical"],
        all["summary"]["findings"]["critical"]
    );
    // The layer map still tells the state of every control.
    assert!(
        v["layers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["state"] == "breached")
    );
    // Only low and info shown: nothing at or above high, exit 0.
    let out = run(
        &["scan", "examples", "--severity", "low,info"],
        &root(),
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let t = text(&out.stdout);
    assert!(!t.contains("  HIGH ") && !t.contains("  CRITICAL "), "{t}");
    assert!(t.contains("  LOW      "), "{t}");
    let last: Vec<&str> = t
        .trim_end()
        .rsplit("\n\n")
        .next()
        .unwrap()
        .lines()
        .map(str::trim)
        .collect();
    assert_eq!(
        last.join(" "),
        expected_summary(&["--severity", "low,info"])
    );
    assert!(last.join(" ").ends_with("exit 0 (fail-on high)"));
    let out = run(&["scan", "examples", "--severity", "severe"], &root(), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("unknown severity `severe`"));
}

#[test]
fn quiet_prints_the_findings_only_and_verbose_logs_the_steps() {
    let out = run(
        &["scan", "examples", "-q", "--color", "never"],
        &root(),
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    let t = text(&out.stdout);
    assert!(t.contains("IMG008") && t.contains("CVE-2024-45590"), "{t}");
    for absent in [
        "layer map",
        "Layers by subject",
        "layers hold",
        "Findings: ",
    ] {
        assert!(!t.contains(absent), "{absent} in --quiet output:\n{t}");
    }
    assert!(
        out.stderr.is_empty(),
        "no notes with --quiet: {}",
        text(&out.stderr)
    );

    // Silent by default; -v tells the steps; -vv each file.
    let quiet = run(&["scan", "examples", "-f", "json"], &root(), &[]);
    assert!(!text(&quiet.stderr).contains("discovered"));
    let out = run(&["scan", "examples", "-f", "json", "-v"], &root(), &[]);
    let log = text(&out.stderr);
    assert!(log.contains("discovered files=15 dockerfiles=3"), "{log}");
    assert!(log.contains("image opened layers=1"), "{log}");
    assert!(log.contains("advisory database"), "{log}");
    assert!(!log.contains("parsing file="), "{log}");
    let out = run(&["scan", "examples", "-f", "json", "-vv"], &root(), &[]);
    assert!(
        text(&out.stderr).contains("parsing file=examples/k8s/debug-pod.json"),
        "{}",
        text(&out.stderr)
    );
    // The report itself is unchanged by logging.
    assert_eq!(json(&out)["findings"], json(&quiet)["findings"]);
}

#[test]
fn junit_report_is_read_back_by_junitparser() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rampart.xml");
    let out = run(
        &[
            "scan",
            "examples",
            "-f",
            "junit",
            "-o",
            file.to_str().unwrap(),
        ],
        &root(),
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let report = json(&run(&["scan", "examples", "-f", "json"], &root(), &[]));
    let findings = report["findings"].as_array().unwrap();
    let unsuppressed = findings
        .iter()
        .filter(|f| f["suppressed"].is_null())
        .count();
    let suppressed = findings.len() - unsuppressed;
    // junitparser reads the file as CI tools do: suites, cases, and each case's result.
    let script = r#"
import sys, json
from junitparser import JUnitXml, Failure, Skipped, Error
xml = JUnitXml.fromfile(sys.argv[1])
suites = list(xml)
cases = [c for s in suites for c in s]
count = lambda kind: sum(1 for c in cases if any(isinstance(r, kind) for r in c.result))
for s in suites:
    n = list(s)
    assert s.tests == len(n), (s.name, s.tests, len(n))
    assert s.failures == sum(1 for c in n if any(isinstance(r, Failure) for r in c.result)), s.name
    assert s.skipped == sum(1 for c in n if any(isinstance(r, Skipped) for r in c.result)), s.name
first = next(c for c in cases if any(isinstance(r, Failure) for r in c.result))
failure = next(r for r in first.result if isinstance(r, Failure))
print(json.dumps({
    "suites": [s.name for s in suites],
    "tests": xml.tests, "failures": xml.failures, "skipped": xml.skipped, "errors": xml.errors,
    "counted_failures": count(Failure), "counted_skipped": count(Skipped),
    "passed": sum(1 for c in cases if c.is_passed),
    "first": {"classname": first.classname, "name": first.name, "type": failure.type,
              "message": failure.message, "text": failure.text},
}))
"#;
    let py = Command::new(oracles().join("venv/bin/python"))
        .args(["-c", script])
        .arg(&file)
        .output()
        .unwrap();
    assert!(py.status.success(), "{}", text(&py.stderr));
    let v: Value = serde_json::from_slice(&py.stdout).unwrap();
    assert_eq!(
        v["suites"].as_array().unwrap().len(),
        9,
        "a suite per layer"
    );
    assert_eq!(v["failures"], unsuppressed);
    assert_eq!(v["counted_failures"], unsuppressed);
    // suppressed findings and the one layer not assessed are skipped
    assert_eq!(v["skipped"], suppressed + 1);
    assert_eq!(v["counted_skipped"], suppressed + 1);
    assert_eq!(v["errors"], 0);
    let first = &v["first"];
    let f0 = findings
        .iter()
        .find(|f| f["suppressed"].is_null() && f["layer"] == "build")
        .unwrap();
    assert_eq!(first["classname"], f0["location"]["file"]);
    assert_eq!(
        first["type"],
        f0["severity"].as_str().unwrap().to_uppercase()
    );
    assert!(
        first["text"]
            .as_str()
            .unwrap()
            .contains(f0["message"].as_str().unwrap())
    );
    let name = first["name"].as_str().unwrap();
    let loc = &f0["location"];
    assert!(
        name.contains(&format!(
            "{}:{}:{}",
            loc["file"].as_str().unwrap(),
            loc["line"],
            loc["column"]
        )),
        "{name}"
    );
}

#[test]
fn cyclonedx_of_a_scanned_image_carries_its_vulnerabilities_and_validates() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bom.json");
    // examples/rampart.toml names the image and bundles its advisories.
    let out = run(
        &[
            "scan",
            "k8s",
            "--config",
            "rampart.toml",
            "-f",
            "cyclonedx",
            "-o",
            file.to_str().unwrap(),
        ],
        &root().join("examples"),
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let validator = root().join("crates/rampart-sbom/tests/oracle/validate_cyclonedx.py");
    let v = Command::new(oracles().join("venv/bin/python"))
        .arg(&validator)
        .arg(&file)
        .output()
        .unwrap();
    assert!(v.status.success(), "{}{}", text(&v.stdout), text(&v.stderr));
    let bom: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(bom["specVersion"], "1.6");
    assert_eq!(bom["metadata"]["component"]["name"], "images/worker");
    let vulns = bom["vulnerabilities"].as_array().unwrap();
    let ids: Vec<&str> = vulns.iter().map(|v| v["id"].as_str().unwrap()).collect();
    assert_eq!(vulns.len(), 4, "{ids:?}");
    assert!(ids.contains(&"CVE-2024-45590"), "{ids:?}");
    let refs: Vec<&str> = bom["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["bom-ref"].as_str())
        .collect();
    for v in vulns {
        let target = v["affects"][0]["ref"].as_str().unwrap();
        assert!(refs.contains(&target), "{target} is a component of the BOM");
        assert!(target.starts_with("pkg:npm/"), "{target}");
    }
    let body_parser = vulns.iter().find(|v| v["id"] == "CVE-2024-45590").unwrap();
    assert_eq!(body_parser["ratings"][0]["severity"], "high");
    assert_eq!(body_parser["ratings"][0]["score"], 7.5);
    assert_eq!(body_parser["recommendation"], "upgrade to 1.20.3");

    // Two images (or an image and an SBOM) are no one document: said, exit 2.
    let out = run(
        &[
            "scan",
            "k8s",
            "--config",
            "rampart.toml",
            "-f",
            "cyclonedx",
            "--image",
            "images/worker",
        ],
        &root().join("examples"),
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("describes one image or SBOM"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn an_error_says_its_cause_once_and_never_prints_raw_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        &["sbom", "oci-archive:/nonexistent/app.tar"],
        dir.path(),
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert_eq!(
        err.matches("No such file or directory").count(),
        1,
        "the cause once: {err}"
    );
    assert!(err.contains("/nonexistent/app.tar"), "{err}");

    // A damaged tar header: the tar reader quotes it; rampart escapes and cuts it.
    let mut bytes = vec![0xffu8; 1024];
    bytes[257..262].copy_from_slice(b"ustar");
    bytes[0..4].copy_from_slice(b"\x1b[2J");
    std::fs::write(dir.path().join("damaged.tar"), &bytes).unwrap();
    let out = run(&["sbom", "damaged.tar"], dir.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("damaged.tar"), "{err}");
    assert!(
        !err.contains('\u{fffd}') && !err.chars().any(|c| c.is_control() && c != '\n'),
        "raw bytes: {err:?}"
    );
    assert!(err.len() < 600, "a few characters, then cut: {err}");
}

#[test]
fn image_targets_name_their_file_and_local_paths_never_reach_a_registry() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("notes.txt"), "not an image\n").unwrap();
    let out = run(&["sbom", "notes.txt"], d, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr).trim(),
        "rampart: error: notes.txt: not an image (expected an OCI layout, OCI archive or docker save archive)"
    );
    // Written as paths, naming nothing: no such file, no registry pull.
    for target in ["app.tar", "./build/app", "out/image.tar.gz"] {
        let out = run(&["sbom", target], d, &[]);
        assert_eq!(out.status.code(), Some(2), "{target}");
        let err = text(&out.stderr);
        assert_eq!(
            err.trim(),
            format!("rampart: error: {target}: no such file or directory"),
            "{target}"
        );
    }
    std::fs::create_dir(d.join("build")).unwrap();
    let out = run(
        &["scan", "--image", "build/app", "-f", "json", "--no-vulns"],
        d,
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    let report = json(&out);
    assert_eq!(report["errors"][0]["file"], "build/app");
    assert_eq!(report["errors"][0]["message"], "no such file or directory");
}

#[test]
fn scan_of_an_image_archive_scans_the_image() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("app.tar");
    let ok = Command::new("tar")
        .arg("-cf")
        .arg(&archive)
        .arg("-C")
        .arg(root().join("examples/images/worker"))
        .arg(".")
        .status()
        .unwrap();
    assert!(ok.success());
    let out = run(
        &[
            "scan",
            "app.tar",
            "-f",
            "json",
            "--no-vulns",
            "--fail-on",
            "none",
        ],
        dir.path(),
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v = json(&out);
    assert_eq!(v["images"][0]["name"], "app.tar");
    assert_eq!(v["images"][0]["kind"], "image");
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule_id"] == "IMG008" && f["subject"] == "Image app.tar")
    );
}

#[test]
fn sign_checks_its_target_before_asking_for_the_key_password() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = run(
        &["key", "generate", "--output-prefix", "k"],
        d,
        &[("COSIGN_PASSWORD", "pw")],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    // No password anywhere and no terminal: a missing image must be said first.
    let out = run(
        &[
            "sign",
            "--key",
            "k.key",
            "--insecure",
            "127.0.0.1:1/shop/app:1",
        ],
        d,
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("resolving 127.0.0.1:1/shop/app:1"), "{err}");
    assert!(!err.contains("password"), "{err}");
    // A local file is not a registry image; a path naming nothing is no such file.
    let out = run(&["sign", "--key", "k.key", "k.pub"], d, &[]);
    assert!(
        text(&out.stderr).contains("k.pub is a local file"),
        "{}",
        text(&out.stderr)
    );
    let out = run(&["sign", "--key", "k.key", "./app.tar"], d, &[]);
    assert!(
        text(&out.stderr).contains("./app.tar: no such file or directory"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn seccomp_lint_passes_dockers_own_default_profile() {
    let profile = root().join("../shared/corpus/seccomp/seccomp/default.json");
    let out = run(
        &["seccomp", "lint", profile.to_str().unwrap(), "-f", "json"],
        &root(),
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let v = json(&out);
    assert!(
        !v.to_string().contains("ptrace is allowed"),
        "Docker allows ptrace from kernel 4.8 only: {v}"
    );
}

#[test]
fn seccomp_lint_rules_are_in_the_catalog_and_explained() {
    let out = run(&["rules", "--format", "json"], &root(), &[]);
    let rules: Value = json(&out);
    let sc: Vec<&str> = rules
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["target"] == "seccomp")
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(sc.len(), 17, "{sc:?}");
    assert!(sc.contains(&"SC001") && sc.contains(&"SC101"), "{sc:?}");
    let out = run(&["rules", "explain", "SC001"], &root(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let t = text(&out.stdout);
    assert!(
        t.contains("SCMP_ACT_ALLOW") && t.contains("How to fix"),
        "{t}"
    );
}
