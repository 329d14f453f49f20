//! The sandbox check with the real runtimes: runc 1.1 and gVisor's runsc (Debian's, installed
//! when missing), on busybox and Python root filesystems from Debian packages. Few and deep:
//! each runsc start costs 0.2-1 s.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test helpers: a failed prerequisite fails the test"
)]

use std::path::Path;
use std::time::{Duration, Instant};

use rampart_sandbox::check::{CheckOptions, VerdictKind, check, subject_from_bundle};
use rampart_sandbox::runtime::{Runtime, RuntimeKind};
use rampart_testkit::debian;
use rampart_testkit::runc::Bundle;

/// Options with the deadline, trials under `work` (private to the test, so its leftovers are
/// its own: the tests run in parallel).
fn opts(timeout: u64, work: &Path) -> CheckOptions {
    rampart_testkit::runsc::ensure_runsc();
    CheckOptions {
        timeout: Duration::from_secs(timeout),
        work_dir: Some(work.to_path_buf()),
        ..CheckOptions::default()
    }
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| (*s).to_owned()).collect()
}

/// Processes of a test's trials still alive (their state roots and bundles are under `work`),
/// mounts of its trial bundles left behind, and files left in `work`.
fn leftovers(work: &Path) -> (Vec<String>, Vec<String>) {
    let mark = work.to_string_lossy().into_owned();
    let mut procs = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().filter_map(Result::ok) {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if pid == std::process::id() {
            continue;
        }
        if let Ok(c) = std::fs::read(format!("/proc/{pid}/cmdline")) {
            let c = String::from_utf8_lossy(&c).replace('\0', " ");
            if c.contains(&mark) {
                procs.push(format!("{pid}: {c}"));
            }
        }
    }
    let mounts = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter(|l| l.contains(&mark))
        .map(str::to_owned)
        .chain(
            std::fs::read_dir(work)
                .unwrap()
                .filter_map(Result::ok)
                .map(|e| format!("left in the work directory: {}", e.path().display())),
        )
        .collect();
    (procs, mounts)
}

#[test]
fn a_busybox_server_can_move_and_its_smoke_test_runs_inside_it_on_a_fresh_root() {
    let work = tempfile::tempdir().unwrap();
    let o = opts(30, work.path());
    let bundle = Bundle::busybox().args(&["sleep", "100000"]).build();
    let config_before = std::fs::read(bundle.dir.join("config.json")).unwrap();
    let subject = subject_from_bundle(&bundle.dir).unwrap();
    // the test writes into the root: each runtime must start from the original
    let smoke = strings(&[
        "sh",
        "-c",
        "test ! -e /written && touch /written && echo ok && cat /etc/hostname",
    ]);
    let r = check(&subject, &smoke, &o).unwrap();
    assert_eq!(r.verdict.kind, VerdictKind::CanMove, "{r:#?}");
    assert_eq!(r.verdict.summary, "can move into gVisor");
    assert_eq!(r.verdict.exit_code(), 0);
    assert_eq!(r.mode, "exec");
    for t in [&r.runc, &r.runsc] {
        assert!(t.started && t.error.is_none(), "{t:#?}");
        let smoke = t.smoke.as_ref().unwrap();
        assert_eq!(smoke.exit_code, Some(0));
        assert_eq!(smoke.stdout, "ok\nbusybox-bundle\n", "{:?}", t.runtime);
        assert_eq!(t.workload_up_after_smoke, Some(true), "sleep was running");
        // the workload was killed after the test
        assert_eq!(t.workload.as_ref().unwrap().exit_code, Some(137));
        assert!(t.start_millis.is_some_and(|ms| ms <= t.wall_millis));
    }
    assert!(r.runc.gvisor.is_none());
    // the versions that ran (runc 1.1.5+ds1, runsc 0.0~20221219.0 on Debian 12)
    assert!(
        r.runc
            .version
            .as_deref()
            .is_some_and(|v| v.starts_with("1.")),
        "{:?}",
        r.runc.version
    );
    assert!(
        r.runsc
            .version
            .as_deref()
            .is_some_and(|v| v.starts_with("0.0~")),
        "{:?}",
        r.runsc.version
    );
    let g = r.runsc.gvisor.as_ref().unwrap();
    assert!(
        g.unsupported.iter().all(|u| u.harmless),
        "busybox needs nothing gVisor lacks: {g:?}"
    );
    assert!(r.differences.is_empty(), "{:?}", r.differences);
    assert!(
        !bundle.rootfs.join("written").exists(),
        "the original root was written"
    );
    assert_eq!(
        std::fs::read(bundle.dir.join("config.json")).unwrap(),
        config_before,
        "the bundle's config was changed"
    );
    let (procs, mounts) = leftovers(work.path());
    assert!(
        procs.is_empty() && mounts.is_empty(),
        "{procs:?} {mounts:?}"
    );
    let table = rampart_sandbox::check::render_table(&r);
    assert!(table.contains("verdict: can move into gVisor"), "{table}");
    assert!(
        table.contains("rseq (harmless)") || !table.contains("rseq"),
        "{table}"
    );
}

#[test]
fn python_using_pidfd_open_breaks_under_gvisor_which_names_the_call() {
    let work = tempfile::tempdir().unwrap();
    let o = CheckOptions {
        one_shot: true,
        ..opts(60, work.path())
    };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("rootfs");
    std::fs::create_dir(&root).unwrap();
    debian::rootfs_copy(debian::PYTHON, &root);
    let bundle = Bundle::with_rootfs(&root)
        .args(&["/usr/bin/python3.11", "-c", "pass"])
        .in_dir(&dir.path().join("bundle"))
        .build();
    let subject = subject_from_bundle(&bundle.dir).unwrap();
    // asyncio's PidfdChildWatcher and subprocess managers call os.pidfd_open (Linux 5.3)
    let smoke = strings(&[
        "/usr/bin/python3.11",
        "-c",
        "import os; fd = os.pidfd_open(os.getpid()); print('pidfd', fd > 0)",
    ]);
    let r = check(&subject, &smoke, &o).unwrap();
    assert_eq!(r.verdict.kind, VerdictKind::Breaks, "{r:#?}");
    assert_eq!(r.verdict.exit_code(), 1);
    assert_eq!(r.mode, "one-shot");
    let runc = r.runc.workload.as_ref().unwrap();
    assert_eq!(
        (runc.exit_code, runc.stdout.as_str()),
        (Some(0), "pidfd True\n")
    );
    let runsc = r.runsc.workload.as_ref().unwrap();
    assert_eq!(runsc.exit_code, Some(1));
    assert!(
        runsc.stderr.contains("Function not implemented"),
        "{}",
        runsc.stderr
    );
    assert!(r.runsc.started, "the process ran; the call failed");
    let g = r.runsc.gvisor.as_ref().unwrap();
    let pidfd = g.unsupported.iter().find(|u| u.name == "pidfd_open");
    assert!(pidfd.is_some_and(|u| !u.harmless), "{g:?}");
    assert_eq!(
        r.verdict.summary,
        "breaks under gVisor: the test exits 1 under gVisor (stderr: OSError: [Errno 38] Function not implemented) (unsupported: pidfd_open)"
    );
    let table = rampart_sandbox::check::render_table(&r);
    assert!(
        table.contains("  exit code: runc `exit 0`, gVisor `exit 1`\n")
            && table.contains("pidfd_open, rseq (harmless)\n"),
        "{table}"
    );
    assert!(
        r.differences
            .iter()
            .any(|d| d.what == "exit code" && d.runc == "exit 0" && d.runsc == "exit 1"),
        "{:?}",
        r.differences
    );
    assert!(root.join("usr/bin/python3.11").is_file());
    let (procs, mounts) = leftovers(work.path());
    assert!(
        procs.is_empty() && mounts.is_empty(),
        "{procs:?} {mounts:?}"
    );
}

#[test]
fn a_test_that_fails_or_hangs_under_runc_too_is_no_verdict_on_gvisor() {
    let work = tempfile::tempdir().unwrap();
    let bundle = Bundle::busybox().args(&["sleep", "100000"]).build();
    let subject = subject_from_bundle(&bundle.dir).unwrap();

    // fails under both
    let r = check(
        &subject,
        &strings(&["sh", "-c", "echo broken >&2; exit 3"]),
        &opts(30, work.path()),
    )
    .unwrap();
    assert_eq!(r.verdict.kind, VerdictKind::BaselineFails, "{r:#?}");
    assert_eq!(r.verdict.exit_code(), 2);
    assert_eq!(
        r.verdict.summary,
        "does not work under runc either: the test exits 3 under runc (stderr: broken)"
    );
    assert_eq!(r.runsc.smoke.as_ref().unwrap().exit_code, Some(3));

    // a workload that exits at once leaves nothing to exec into
    let once = Bundle::busybox().args(&["true"]).build();
    let r = check(
        &subject_from_bundle(&once.dir).unwrap(),
        &strings(&["echo", "ok"]),
        &opts(30, work.path()),
    )
    .unwrap();
    assert_eq!(
        r.verdict.summary,
        "does not work under runc either: the workload exited 0 before the smoke test could run under runc (for an image whose process exits, use --one-shot)"
    );
    assert!(r.runc.started && r.runc.smoke.is_none(), "{:#?}", r.runc);

    // hangs past the deadline: killed, under both runtimes, and everything torn down
    let o = CheckOptions {
        one_shot: true,
        ..opts(2, work.path())
    };
    let t0 = Instant::now();
    let r = check(&subject, &strings(&["sleep", "1000"]), &o).unwrap();
    let took = t0.elapsed();
    assert!(took < Duration::from_secs(20), "took {took:?}");
    assert_eq!(r.verdict.kind, VerdictKind::BaselineFails, "{r:#?}");
    assert!(
        r.verdict.summary.contains("did not finish within"),
        "{}",
        r.verdict.summary
    );
    for t in [&r.runc, &r.runsc] {
        let w = t.workload.as_ref().unwrap();
        assert!(w.timed_out && w.exit_code.is_none(), "{t:#?}");
        assert!(t.started, "it ran, then hung: {t:#?}");
    }
    let (procs, mounts) = leftovers(work.path());
    assert!(
        procs.is_empty() && mounts.is_empty(),
        "{procs:?} {mounts:?}"
    );
}

#[test]
fn a_runsc_that_hangs_is_killed_and_cleaned_up_with_a_clear_message() {
    // runsc's KVM platform hangs at boot on these nested VMs (docs/sandbox.md)
    let work = tempfile::tempdir().unwrap();
    let mut o = opts(3, work.path());
    o.runsc = Runtime {
        flags: vec!["--platform=kvm".into()],
        ..Runtime::new(RuntimeKind::Runsc)
    };
    let bundle = Bundle::busybox().args(&["sleep", "100000"]).build();
    let subject = subject_from_bundle(&bundle.dir).unwrap();
    let t0 = Instant::now();
    let r = check(&subject, &strings(&["echo", "ok"]), &o).unwrap();
    assert!(t0.elapsed() < Duration::from_secs(30), "{:?}", t0.elapsed());
    assert!(r.runc.passed(), "{:#?}", r.runc);
    assert!(!r.runsc.started);
    assert_eq!(
        r.runsc.error.as_deref(),
        Some("runsc did not start the container within 3 s (killed)")
    );
    assert_eq!(r.verdict.kind, VerdictKind::Breaks);
    assert_eq!(
        r.verdict.summary,
        "breaks under gVisor: runsc error: runsc did not start the container within 3 s (killed)"
    );
    let (procs, mounts) = leftovers(work.path());
    assert!(
        procs.is_empty() && mounts.is_empty(),
        "{procs:?} {mounts:?}"
    );
    assert!(Path::new(&bundle.rootfs).join("bin/busybox").is_file());
}

#[test]
fn the_live_node_offers_debians_runsc_with_its_version() {
    rampart_testkit::runsc::ensure_runsc();
    let found = rampart_sandbox::available(Path::new("/"));
    let runsc = found.iter().find(|a| a.name == "runsc").unwrap();
    assert_eq!(runsc.path, Path::new("/usr/bin/runsc"));
    // the oracle: what dpkg says was installed (0.0~20221219.0-2+b3 → 0.0~20221219.0)
    let dpkg = rampart_testkit::tools::run("dpkg-query", &["-W", "-f=${Version}", "runsc"]);
    let upstream = dpkg.rsplit_once('-').map_or(dpkg.as_str(), |(u, _)| u);
    assert_eq!(runsc.version.as_deref(), Some(upstream));
}
