//! `rampart host` through the binary: the running node's report validates against the
//! report schema and shows the node's facts; an offline copy with input errors exits 2 and
//! names them; --fail-on decides exit 1.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::os::unix::fs::PermissionsExt;

use common::{rampart_command, root, validate_with_jsonschema};

fn write(dir: &std::path::Path, path: &str, text: &str, mode: u32) {
    let p = dir.join(path.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, text).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn the_running_node_in_every_form() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("host.json");
    let out = rampart_command()
        .args(["host", "--format", "json", "--fail-on", "none", "-o"])
        .arg(&json)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    validate_with_jsonschema(&root().join("docs/report.schema.json"), &json).unwrap();
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let node = &report["nodes"][0];
    assert_eq!(node["root"], "/");
    let uname = std::process::Command::new("uname")
        .arg("-r")
        .output()
        .unwrap();
    assert_eq!(
        node["kernel"],
        String::from_utf8_lossy(&uname.stdout).trim()
    );
    let host = report["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["layer"] == "host")
        .unwrap();
    assert!(host["assessed"].as_u64().unwrap() >= 10, "{host}");
    // the other layers say why they are not assessed
    assert!(
        report["layers"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("rampart scan")
    );
    // every finding is the host layer's, on the node
    for f in report["findings"].as_array().unwrap() {
        assert_eq!(f["layer"], "host");
        assert_eq!(
            f["subject"],
            format!("Node {}", node["name"].as_str().unwrap())
        );
    }

    let human = rampart_command()
        .args(["host", "--fail-on", "none", "--color", "never"])
        .env("COLUMNS", "100")
        .output()
        .unwrap();
    let text = String::from_utf8(human.stdout).unwrap();
    assert!(
        text.starts_with(&format!(
            "rampart {} assessed node ",
            env!("CARGO_PKG_VERSION")
        )),
        "{text}"
    );
    assert!(
        text.contains("\nNode ") && text.contains("  security modules  "),
        "{text}"
    );
    let sarif = rampart_command()
        .args(["host", "--format", "sarif", "--fail-on", "none"])
        .output()
        .unwrap();
    let sarif: serde_json::Value = serde_json::from_slice(&sarif.stdout).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
}

#[test]
fn an_offline_copy_with_bad_input_exits_two_and_fail_on_decides_one() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    write(r, "/proc/sys/kernel/osrelease", "5.10.90\n", 0o444);
    write(r, "/etc/hostname", "worker-7\n", 0o644);
    write(
        r,
        "/etc/ssh/sshd_config",
        "PermitRootLogin no\nPasswordAuthentication no\n",
        0o644,
    );
    let run = |args: &[&str]| {
        rampart_command()
            .args(["host", "--root"])
            .arg(r)
            .args(args)
            .output()
            .unwrap()
    };
    // a critical kernel escape: exit 1 at the default threshold (high), 0 with none
    let out = run(&["--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["nodes"][0]["name"], "worker-7");
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule_id"] == "HOST001"
                && f["message"].as_str().unwrap().contains("CVE-2022-0847"))
    );
    assert_eq!(run(&["--fail-on", "none"]).status.code(), Some(0));
    // a malformed daemon.json: exit 2, named with its position on stderr, the rest assessed
    write(r, "/etc/docker/daemon.json", "{\"icc\": }\n", 0o644);
    let out = run(&["--format", "json", "--fail-on", "none"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/etc/docker/daemon.json:1:"), "{err}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule_id"] == "HOST001")
    );
    // not a directory
    let out = rampart_command()
        .args(["host", "--root", "/nonexistent/x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
