//! `rampart seccomp` proven under a real runtime: Debian's runc runs an OCI bundle built from
//! Debian's busybox-static with the profile rampart recorded.
//!
//! How the profile is recorded: the workload's command is run under rampart's ptrace recorder
//! chrooted into the bundle's rootfs (`--chroot`), which records exactly the workload's calls;
//! `--runtime runc` then adds the calls runc 1.1.5 itself makes after installing the filter and
//! before exec'ing the workload (measured with SCMP_ACT_LOG, shared/notes/runtime-feasibility.md).
//! Tracing `runc run` itself would record runc's pre-filter work (mount, pivot_root, keyctl...),
//! an over-permissive profile.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rampart_testkit::runc::{busybox_rootfs, ensure_runc};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

fn rampart(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// An OCI bundle (from `runc spec`) whose rootfs is busybox with its applets.
fn bundle(dir: &Path) -> PathBuf {
    ensure_runc();
    let bundle = dir.join("bundle");
    let rootfs = bundle.join("rootfs");
    busybox_rootfs(&rootfs);
    let out = Command::new("runc")
        .arg("spec")
        .current_dir(&bundle)
        .output()
        .unwrap();
    assert!(out.status.success(), "runc spec: {}", text(&out.stderr));
    bundle
}

/// Set the bundle's command and seccomp profile (None: no `linux.seccomp`).
fn configure(bundle: &Path, args: &[&str], profile: Option<&Path>) {
    let path = bundle.join("config.json");
    let mut config: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    config["process"]["args"] = serde_json::json!(args);
    config["process"]["terminal"] = Value::Bool(false);
    let linux = config["linux"].as_object_mut().unwrap();
    match profile {
        Some(p) => {
            let p: Value = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
            linux.insert("seccomp".into(), p);
        }
        None => {
            linux.remove("seccomp");
        }
    }
    std::fs::write(&path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
}

/// A container run: unique id, own state directory, deleted even if the test fails.
struct Container {
    root: tempfile::TempDir,
    id: String,
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = Command::new("runc")
            .arg("--root")
            .arg(self.root.path())
            .args(["delete", "-f", &self.id])
            .output();
    }
}

fn runc_run(bundle: &Path) -> Output {
    static N: AtomicUsize = AtomicUsize::new(0);
    let c = Container {
        root: tempfile::tempdir().unwrap(),
        id: format!(
            "rampart-seccomp-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ),
    };
    Command::new("runc")
        .arg("--root")
        .arg(c.root.path())
        .args(["run", "--bundle"])
        .arg(bundle)
        .arg(&c.id)
        .output()
        .unwrap()
}

const WORKLOAD: &str = "ls / > /dev/null; cat /etc/hostname; echo hello-from-container";

fn record(dir: &Path, bundle: &Path, extra: &[&str], command: &[&str]) -> Output {
    let rootfs = bundle.join("rootfs");
    let mut args = vec![
        "seccomp",
        "record",
        "--out",
        "profile.json",
        "--chroot",
        rootfs.to_str().unwrap(),
        "--runtime",
        "runc",
    ];
    args.extend(extra);
    args.push("--");
    args.extend(command);
    rampart(&args, dir)
}

fn dangerous_rules(findings: &Value) -> Vec<String> {
    findings
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_owned())
        .filter(|r| r.starts_with("SC0"))
        .collect()
}

#[test]
fn recorded_profile_runs_the_workload_under_runc_and_denies_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = bundle(dir.path());
    let out = record(
        dir.path(),
        &bundle,
        &["--k8s", "pod-snippet.yaml", "--spo", "busybox-app"],
        &["/bin/sh", "-c", WORKLOAD],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let profile_path = dir.path().join("profile.json");
    let profile: Value = serde_json::from_slice(&std::fs::read(&profile_path).unwrap()).unwrap();
    assert_eq!(profile["defaultAction"], "SCMP_ACT_ERRNO");
    assert_eq!(profile["defaultErrnoRet"], 1);
    // The provenance block (a key runc ignores, as the runs below prove).
    assert_eq!(
        profile["rampart"]["recordings"][0]["command"][2],
        Value::String(WORKLOAD.into())
    );
    let allowed: Vec<&str> = profile["syscalls"][0]["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(allowed.contains(&"execve") && allowed.contains(&"futex"));
    assert!(!allowed.contains(&"mkdir") && !allowed.contains(&"mount"));

    // The workload runs under the profile (several times: runc's Go runtime is not
    // deterministic in the calls it makes).
    configure(&bundle, &["/bin/sh", "-c", WORKLOAD], Some(&profile_path));
    for _ in 0..3 {
        let out = runc_run(&bundle);
        assert!(
            out.status.success(),
            "stdout: {}\nstderr: {}",
            text(&out.stdout),
            text(&out.stderr)
        );
        assert_eq!(text(&out.stdout), "busybox-bundle\nhello-from-container\n");
    }

    // A call the workload never made (mkdir) is denied with EPERM under the same profile...
    configure(&bundle, &["/bin/mkdir", "/newdir"], Some(&profile_path));
    let out = runc_run(&bundle);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("Operation not permitted"),
        "{}",
        text(&out.stderr)
    );
    // ...by seccomp: without the profile the same call reaches the file system, which refuses
    // it for another reason (runc spec's rootfs is read-only).
    configure(&bundle, &["/bin/mkdir", "/newdir"], None);
    let out = runc_run(&bundle);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("Read-only file system"),
        "{}",
        text(&out.stderr)
    );

    // The recorded profile has none of the dangerous allowances.
    let out = rampart(
        &["seccomp", "lint", "profile.json", "-f", "json"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let findings: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(dangerous_rules(&findings), Vec::<String>::new());

    // Kubernetes and security-profiles-operator outputs.
    let snippet = std::fs::read_to_string(dir.path().join("pod-snippet.yaml")).unwrap();
    assert!(snippet.contains("type: Localhost"), "{snippet}");
    assert!(snippet.contains("profiles/profile.json"), "{snippet}");
    let spo: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("profile.json.spo.json")).unwrap())
            .unwrap();
    assert_eq!(spo["kind"], "SeccompProfile");
    assert_eq!(spo["metadata"]["name"], "busybox-app");
    // The same rules (SPO's syscall type has no `comment`).
    let mut rules = profile["syscalls"].clone();
    for r in rules.as_array_mut().unwrap() {
        r.as_object_mut().unwrap().remove("comment");
    }
    assert_eq!(spo["spec"]["syscalls"], rules);
}

#[test]
fn merged_recordings_allow_both_workloads() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = bundle(dir.path());
    let first = ["/bin/sh", "-c", "echo one"];
    let second = [
        "/bin/sh",
        "-c",
        "mkdir -p /tmp/x 2>/dev/null; ls -l / > /dev/null; echo two",
    ];
    assert!(record(dir.path(), &bundle, &[], &first).status.success());
    let only_first =
        serde_json::from_slice::<Value>(&std::fs::read(dir.path().join("profile.json")).unwrap())
            .unwrap();
    let out = record(dir.path(), &bundle, &["--merge"], &second);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let merged =
        serde_json::from_slice::<Value>(&std::fs::read(dir.path().join("profile.json")).unwrap())
            .unwrap();
    assert_eq!(merged["rampart"]["recordings"].as_array().unwrap().len(), 2);
    std::fs::write(
        dir.path().join("first.json"),
        serde_json::to_vec(&only_first).unwrap(),
    )
    .unwrap();
    // diff: the merged profile allows more (exit 1), e.g. mkdir.
    let out = rampart(
        &["seccomp", "diff", "first.json", "profile.json"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("+ mkdir (always)"),
        "{}",
        text(&out.stdout)
    );
    for cmd in [&first[..], &second[..]] {
        configure(&bundle, cmd, Some(&dir.path().join("profile.json")));
        let out = runc_run(&bundle);
        assert!(out.status.success(), "{:?}: {}", cmd, text(&out.stderr));
    }
}

#[test]
fn lint_flags_a_loose_profile() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("loose.json"),
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
            {"names":["mount","unshare","clone","keyctl","read"],"action":"SCMP_ACT_ALLOW"}]}"#,
    )
    .unwrap();
    let out = rampart(&["seccomp", "lint", "loose.json", "-f", "json"], dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let rules = dangerous_rules(&serde_json::from_slice(&out.stdout).unwrap());
    for id in ["SC001", "SC002", "SC005", "SC006", "SC007"] {
        assert!(rules.iter().any(|r| r == id), "{id}: {rules:?}");
    }
    let out = rampart(&["seccomp", "lint", "loose.json"], dir.path());
    assert!(text(&out.stdout).contains("SC002"), "{}", text(&out.stdout));
}

/// The run failed with exit 2 (an error, not a finding) and said `message` on stderr.
fn fails_with(out: &Output, message: &str) {
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains(message), "{}", text(&out.stderr));
}

/// The directory holds exactly these names (no half-written or temporary files).
fn assert_files(dir: &Path, expected: &[&str]) {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, expected);
}

fn processes_with(marker: &str) -> Vec<String> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| {
            let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
            String::from_utf8_lossy(&cmdline).contains(marker)
        })
        .map(|e| e.path().display().to_string())
        .collect()
}

#[test]
fn bad_input_gives_clear_errors_and_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A command that does not exist.
    let out = rampart(
        &["seccomp", "record", "--out", "p.json", "--", "/no/such/cmd"],
        d,
    );
    fails_with(&out, "cannot run `/no/such/cmd`: No such file or directory");
    assert_files(d, &[]);
    // A command killed by a signal, with a child still running: an error, no profile, and the
    // child does not survive.
    let out = rampart(
        &[
            "seccomp",
            "record",
            "--out",
            "p.json",
            "--",
            "/bin/sh",
            "-c",
            "sleep 7654321 & kill -KILL $$",
        ],
        d,
    );
    fails_with(&out, "killed by SIGKILL: no profile written");
    assert_files(d, &[]);
    assert_eq!(processes_with("7654321"), Vec::<String>::new());
    // A crashing command.
    let out = rampart(
        &[
            "seccomp",
            "record",
            "--out",
            "p.json",
            "--",
            "/bin/sh",
            "-c",
            "kill -SEGV $$",
        ],
        d,
    );
    fails_with(&out, "killed by SIGSEGV");
    assert_files(d, &[]);
    // --merge into a profile rampart did not record: error, the file is untouched.
    let docker = include_str!("../../rampart-seccomp/data/docker-default.json");
    std::fs::write(d.join("docker.json"), docker).unwrap();
    let out = rampart(
        &[
            "seccomp",
            "record",
            "--merge",
            "--out",
            "docker.json",
            "--",
            "/bin/true",
        ],
        d,
    );
    fails_with(&out, "no `rampart` recording block");
    assert_eq!(
        std::fs::read_to_string(d.join("docker.json")).unwrap(),
        docker
    );
    // Invalid and hostile profiles.
    let cases: &[(&str, Vec<u8>, &str)] = &[
        ("bad.json", b"{\"defaultAction\": \"SCMP_ACT_ERRNO\",".to_vec(), "bad.json: invalid seccomp profile at line 1"),
        (
            "action.json",
            br#"{"defaultAction":"SCMP_ACT_YOLO"}"#.to_vec(),
            "unknown variant `SCMP_ACT_YOLO`",
        ),
        (
            "name.json",
            br#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read","evil"],"action":"SCMP_ACT_ALLOW"}]}"#.to_vec(),
            "syscalls[0].names[1]: unknown syscall name `evil`",
        ),
        ("huge.json", vec![b' '; 5 << 20], "expected at most 4194304"),
        ("deep.json", b"[".repeat(1 << 20), "invalid seccomp profile"),
    ];
    for (name, bytes, expected) in cases {
        std::fs::write(d.join(name), bytes).unwrap();
        for args in [
            vec!["seccomp", "lint", name],
            vec!["seccomp", "diff", name, "docker.json"],
        ] {
            let out = rampart(&args, d);
            assert_eq!(out.status.code(), Some(2), "{args:?}");
            assert!(
                text(&out.stderr).contains(expected),
                "{args:?}: {}",
                text(&out.stderr)
            );
        }
    }
    // A profile that is a directory, a profile that is missing.
    let out = rampart(&["seccomp", "lint", "missing.json"], d);
    fails_with(&out, "missing.json: No such file");
}

#[test]
fn bundle_recording_under_runc_records_only_the_container() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = bundle(dir.path());
    configure(&bundle, &["/bin/sh", "-c", WORKLOAD], None);
    let before = std::fs::read(bundle.join("config.json")).unwrap();
    let out = rampart(
        &[
            "seccomp",
            "record",
            "--bundle",
            bundle.to_str().unwrap(),
            "--out",
            "bundle.json",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    // The container ran (its output passes through) and the bundle is untouched.
    assert_eq!(text(&out.stdout), "busybox-bundle\nhello-from-container\n");
    assert_eq!(std::fs::read(bundle.join("config.json")).unwrap(), before);
    let profile: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("bundle.json")).unwrap()).unwrap();
    let observed: Vec<&str> = profile["rampart"]["observed"]["syscalls"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    // The workload's calls and runc's after the filter, none of runc's set-up before it.
    for name in ["execve", "wait4", "getdents64", "write", "exit_group"] {
        assert!(observed.contains(&name), "{name}: {observed:?}");
    }
    for name in [
        "mount",
        "pivot_root",
        "sethostname",
        "keyctl",
        "seccomp",
        "setns",
        "unshare",
    ] {
        assert!(!observed.contains(&name), "{name}: {observed:?}");
    }
    let out = rampart(
        &["seccomp", "lint", "bundle.json", "-f", "json"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        dangerous_rules(&serde_json::from_slice(&out.stdout).unwrap()),
        Vec::<String>::new()
    );
    // The recorded profile runs the container; an unrecorded call is denied.
    configure(
        &bundle,
        &["/bin/sh", "-c", WORKLOAD],
        Some(&dir.path().join("bundle.json")),
    );
    for _ in 0..3 {
        let out = runc_run(&bundle);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(text(&out.stdout), "busybox-bundle\nhello-from-container\n");
    }
    configure(
        &bundle,
        &["/bin/mkdir", "/newdir"],
        Some(&dir.path().join("bundle.json")),
    );
    let out = runc_run(&bundle);
    assert!(
        text(&out.stderr).contains("Operation not permitted"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn bad_bundles_and_a_missing_runtime_give_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let bundle = bundle(d);
    let b = bundle.to_str().unwrap();
    let out = rampart(
        &[
            "seccomp",
            "record",
            "--bundle",
            b,
            "--runc",
            "/nonexistent/runc",
            "--out",
            "p.json",
        ],
        d,
    );
    fails_with(&out, "runtime `/nonexistent/runc` not found");
    let config = bundle.join("config.json");
    let cases: &[(&[u8], &str)] = &[
        (b"{not json", "config.json: invalid JSON"),
        (
            br#"{"process":{"args":[]},"root":{"path":"rootfs"}}"#,
            "expected `process.args`",
        ),
        (
            br#"{"process":{"args":["/bin/true"]},"root":{"path":"nowhere"}}"#,
            "is not a directory",
        ),
    ];
    for (bytes, expected) in cases {
        std::fs::write(&config, bytes).unwrap();
        let out = rampart(&["seccomp", "record", "--bundle", b, "--out", "p.json"], d);
        fails_with(&out, expected);
    }
    std::fs::remove_file(&config).unwrap();
    let out = rampart(&["seccomp", "record", "--bundle", b, "--out", "p.json"], d);
    fails_with(&out, "config.json: No such file");
    // A container that fails: no profile.
    runc_spec_again(&bundle);
    configure(&bundle, &["/bin/sh", "-c", "exit 3"], None);
    let out = rampart(&["seccomp", "record", "--bundle", b, "--out", "p.json"], d);
    fails_with(&out, "exited 3: no profile written");
    assert!(!d.join("p.json").exists());
}

fn runc_spec_again(bundle: &Path) {
    let out = Command::new("runc")
        .arg("spec")
        .current_dir(bundle)
        .output()
        .unwrap();
    assert!(out.status.success(), "runc spec: {}", text(&out.stderr));
}

fn set_caps(bundle: &Path, caps: &[&str]) {
    let path = bundle.join("config.json");
    let mut config: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    config["process"]["capabilities"] = serde_json::json!({
        "bounding": caps, "effective": caps, "inheritable": caps, "permitted": caps, "ambient": caps,
    });
    std::fs::write(&path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
}

#[test]
fn minimal_capabilities_found_and_verified_under_runc() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = bundle(dir.path());
    let b = bundle.to_str().unwrap();
    // chown to another user needs CAP_CHOWN (the file is on the container's own /dev/shm tmpfs,
    // so every run starts afresh).
    let workload = "touch /dev/shm/f && chown 1:1 /dev/shm/f && echo chowned";
    configure(&bundle, &["/bin/sh", "-c", workload], None);
    let out = rampart(
        &["seccomp", "caps", "--bundle", b, "-f", "json"],
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["required"], serde_json::json!(["CAP_CHOWN"]));
    assert_eq!(report["start"].as_array().unwrap().len(), 14);
    let out = rampart(&["seccomp", "caps", "--bundle", b], dir.path());
    assert!(
        text(&out.stdout).contains("drop: [\"ALL\"]\n    add: [\"CHOWN\"]"),
        "{}",
        text(&out.stdout)
    );
    // Verified independently: exactly that set runs the workload, nothing fails without it.
    set_caps(&bundle, &["CAP_CHOWN"]);
    let out = runc_run(&bundle);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "chowned\n");
    set_caps(&bundle, &[]);
    let out = runc_run(&bundle);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("Operation not permitted"),
        "{}",
        text(&out.stderr)
    );
    // A workload that needs none.
    configure(&bundle, &["/bin/sh", "-c", "echo hello"], None);
    let out = rampart(
        &["seccomp", "caps", "--bundle", b, "-f", "json"],
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["required"], serde_json::json!([]));
    // A workload that fails whatever the capabilities, and a missing runtime.
    configure(&bundle, &["/bin/sh", "-c", "exit 4"], None);
    let out = rampart(&["seccomp", "caps", "--bundle", b], dir.path());
    fails_with(&out, "fails even with the starting capabilities");
    let out = rampart(
        &["seccomp", "caps", "--bundle", b, "--runc", "/no/runc"],
        dir.path(),
    );
    fails_with(&out, "runtime `/no/runc` not found");
}

/// `rampart scan` reads the Localhost profiles manifests reference (beside the manifest, in a
/// parent or a `seccomp/` directory) and reports the runtime layer from them: a loose profile
/// is a SEC001 finding at the `localhostProfile` line with the lint's worst severity, a missing
/// or invalid one is SEC002, and a profile recorded by `rampart seccomp record` passes.
#[test]
fn scan_reports_the_profiles_manifests_reference() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("k8s/apps")).unwrap();
    std::fs::create_dir_all(d.join("k8s/seccomp/profiles")).unwrap();
    // recorded from a real command
    let out = rampart(
        &[
            "seccomp",
            "record",
            "--out",
            d.join("k8s/seccomp/profiles/good.json").to_str().unwrap(),
            "--",
            "/bin/true",
        ],
        d,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    std::fs::write(
        d.join("k8s/apps/loose.json"),
        r#"{"defaultAction": "SCMP_ACT_ALLOW"}"#,
    )
    .unwrap();
    std::fs::write(d.join("k8s/apps/broken.json"), "{not json").unwrap();
    let deployment = |name: &str, profile: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  namespace: shop\nspec:\n  selector: {{matchLabels: {{app: {name}}}}}\n  template:\n    metadata:\n      labels: {{app: {name}}}\n    spec:\n      containers:\n      - name: app\n        image: registry.example.com/app@sha256:0000000000000000000000000000000000000000000000000000000000000000\n        securityContext:\n          seccompProfile:\n            type: Localhost\n            localhostProfile: {profile}\n---\n"
        )
    };
    std::fs::write(
        d.join("k8s/apps/deploy.yaml"),
        deployment("good", "profiles/good.json")
            + &deployment("loose", "loose.json")
            + &deployment("missing", "profiles/absent.json")
            + &deployment("broken", "broken.json"),
    )
    .unwrap();
    let out = rampart(&["scan", "k8s", "--format", "json"], d);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule_id"].as_str().unwrap().starts_with("SEC"))
        .collect();
    let of = |name: &str| -> Vec<&Value> {
        findings
            .iter()
            .copied()
            .filter(|f| {
                f["subject"]
                    .as_str()
                    .unwrap()
                    .ends_with(&format!("/{name}"))
            })
            .collect()
    };
    assert!(of("good").is_empty(), "{:?}", of("good"));
    let loose = of("loose");
    assert_eq!(loose.len(), 1, "{findings:?}");
    assert_eq!(loose[0]["rule_id"], "SEC001");
    assert_eq!(loose[0]["severity"], "critical");
    assert!(
        loose[0]["message"].as_str().unwrap().contains("SC001"),
        "{}",
        loose[0]
    );
    assert_eq!(loose[0]["layer"], "runtime");
    // the line of `localhostProfile` in the second document
    let line = std::fs::read_to_string(d.join("k8s/apps/deploy.yaml"))
        .unwrap()
        .lines()
        .position(|l| l.contains("localhostProfile: loose.json"))
        .unwrap()
        + 1;
    assert_eq!(loose[0]["location"]["line"], line);
    for name in ["missing", "broken"] {
        let f = of(name);
        assert_eq!(f.len(), 1, "{name}: {findings:?}");
        assert_eq!(f[0]["rule_id"], "SEC002");
    }
    assert!(
        of("broken")[0]["message"]
            .as_str()
            .unwrap()
            .contains("broken.json")
    );
}
