//! `rampart sandbox check` end to end: an image (an OCI layout umoci built, unpacked by rampart
//! with its whiteouts, hard links, symbolic links, owners, modes and USER) and a bundle, under
//! the real runc and gVisor's runsc; exit codes 0 / 1 / 2; bad input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output};

use rampart_testkit::runc::{Bundle, busybox_layout};
use rampart_testkit::tools;
use serde_json::Value;

fn rampart(args: &[&str]) -> Output {
    rampart_testkit::runsc::ensure_runsc();
    Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn an_image_is_unpacked_faithfully_and_can_move_into_gvisor() {
    let tmp = tempfile::tempdir().unwrap();
    let first = |root: &Path| {
        std::fs::write(root.join("bin/deleted"), "gone in the next layer").unwrap();
        std::fs::create_dir_all(root.join("home/app")).unwrap();
        std::fs::write(
            root.join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n",
        )
        .unwrap();
        std::fs::write(root.join("etc/group"), "root:x:0:\napp:x:1001:\n").unwrap();
    };
    let second = |root: &Path| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::remove_file(root.join("bin/deleted")).unwrap();
        std::fs::create_dir_all(root.join("opt")).unwrap();
        std::fs::write(root.join("opt/a"), "same content").unwrap();
        std::fs::hard_link(root.join("opt/a"), root.join("opt/b")).unwrap();
        std::os::unix::fs::symlink("../etc/hostname", root.join("opt/link")).unwrap();
        std::fs::write(root.join("opt/suid"), "x").unwrap();
        std::os::unix::fs::chown(root.join("opt/suid"), Some(1000), Some(1001)).unwrap();
        std::fs::set_permissions(
            root.join("opt/suid"),
            std::fs::Permissions::from_mode(0o4750),
        )
        .unwrap();
    };
    let layout = busybox_layout(tmp.path(), &[&first, &second], &["sleep", "100000"]);
    tools::run(
        "umoci",
        &[
            "config",
            "--image",
            &format!("{}:test", layout.display()),
            "--config.user",
            "app",
        ],
    );
    let check = |target: &str, extra: &[&str]| {
        let mut args = vec!["sandbox", "check", "--format", "json"];
        args.extend_from_slice(extra);
        args.extend([
            target,
            "--",
            "sh",
            "-c",
            "test ! -e /bin/deleted && test $(stat -c %i /opt/a) = $(stat -c %i /opt/b) && \
             cat /opt/link && stat -c '%a %u %g' /opt/suid && id -u && id -g",
        ]);
        let out = rampart(&args);
        let report: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}{}", text(&out.stdout), text(&out.stderr)));
        assert_eq!(out.status.code(), Some(0), "{report:#}");
        assert_eq!(report["verdict"]["kind"], "can-move");
        assert_eq!(report["mode"], "exec");
        for rt in ["runc", "runsc"] {
            assert_eq!(
                report[rt]["smoke"]["stdout"], "busybox-bundle\n4750 1000 1001\n1000\n1001\n",
                "{rt}: {:#}",
                report[rt]
            );
        }
        assert_eq!(report["runsc"]["runtime"], "runsc");
        assert!(report["runsc"]["gvisor"]["unsupported"].is_array());
    };
    check(layout.to_str().unwrap(), &[]);
    // the same image pulled from a registry, as `rampart scan --image` pulls it
    rampart_testkit::registry::ensure_registry_tools();
    let registry =
        rampart_testkit::registry::Registry::start(rampart_testkit::registry::Auth::None);
    registry.push_layout(&layout, Some("test"), "shop/box:1");
    check(&registry.reference("shop/box:1"), &["--insecure"]);
}

#[test]
fn a_bundle_whose_output_differs_under_gvisor_breaks_unless_output_is_ignored() {
    // gVisor reports its own kernel release (4.4.0), not the host's
    let bundle = Bundle::busybox().args(&["uname", "-r"]).build();
    let dir = bundle.dir.to_str().unwrap();
    let out = rampart(&["sandbox", "check", dir]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("one-shot mode, test: uname -r"), "{stdout}");
    assert!(
        stdout.contains("verdict: breaks under gVisor: the test's output differs at line 1"),
        "{stdout}"
    );
    assert!(stdout.contains("gVisor `4.4.0`"), "{stdout}");
    let out = rampart(&["sandbox", "check", "--ignore-output", dir]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("verdict: can move into gVisor"));
}

#[test]
fn bad_input_is_exit_2_with_a_message() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("missing");
    let out = rampart(&["sandbox", "check", missing.to_str().unwrap(), "--", "true"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no such bundle directory or image"),
        "{}",
        text(&out.stderr)
    );

    let bad = tmp.path().join("bad");
    std::fs::create_dir_all(bad.join("rootfs")).unwrap();
    std::fs::write(bad.join("config.json"), "{\"process\": ").unwrap();
    let out = rampart(&["sandbox", "check", bad.to_str().unwrap(), "--", "true"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("config.json: invalid JSON: EOF while parsing"),
        "{err}"
    );
    assert!(out.stdout.is_empty());

    let out = rampart(&["sandbox", "check", "--one-shot", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--one-shot needs a smoke test"));

    std::fs::write(
        bad.join("config.json"),
        r#"{"process": {"args": ["true"]}, "root": {"path": "rootfs"}}"#,
    )
    .unwrap();
    let out = rampart(&[
        "sandbox",
        "check",
        "--runsc",
        "/nonexistent/runsc",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("/nonexistent/runsc: not found (Debian: apt-get install runsc)"),
        "{}",
        text(&out.stderr)
    );
}
