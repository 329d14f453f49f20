//! `rampart host` on this machine for what it really is, and on fixture trees for the
//! configurations: the kubelet's flags, file, both, a JSON file at a relative path, a
//! missing file; Docker's flags over daemon.json; containerd's and CRI-O's configuration;
//! SSH; the kernel table; bad input (files that cannot be read, malformed YAML, JSON and
//! TOML, unknown flags) as input errors with the rest assessed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use rampart_core::Severity;
use rampart_host::{Host, Options, Root, assess};

/// A node's files in a temporary directory.
struct Tree(tempfile::TempDir);

impl Tree {
    fn new() -> Tree {
        let t = Tree(tempfile::tempdir().unwrap());
        // a kernel with nothing to say, so the tests below see only what they set up
        t.file("/proc/sys/kernel/osrelease", "6.12.0\n", 0o444);
        t.file("/proc/sys/kernel/hostname", "node-1\n", 0o444);
        t.file("/etc/group", "root:x:0:\ndocker:x:998:\n", 0o644);
        t.file("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n", 0o644);
        t
    }

    fn file(&self, path: &str, text: &str, mode: u32) -> &Tree {
        let p = self.0.path().join(path.trim_start_matches('/'));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        self
    }

    /// A running process: its command line (NUL-separated), uid and working directory.
    fn process(&self, pid: u32, args: &[&str], uid: u32, cwd: &str) -> &Tree {
        self.file(
            &format!("/proc/{pid}/cmdline"),
            &(args.join("\0") + "\0"),
            0o444,
        );
        self.file(
            &format!("/proc/{pid}/status"),
            &format!("Name:\tx\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\n"),
            0o444,
        );
        std::os::unix::fs::symlink(cwd, self.0.path().join(format!("proc/{pid}/cwd"))).unwrap();
        self
    }

    fn assess(&self) -> Host {
        assess(Root::new(self.0.path()), &Options::default())
    }
}

/// `(rule, severity, message)` of each finding.
fn findings(h: &Host) -> Vec<(&'static str, Severity, String)> {
    h.assessment
        .findings
        .iter()
        .map(|f| (f.rule_id, f.severity, f.message.clone()))
        .collect()
}

fn has(h: &Host, rule: &str, text: &str) -> bool {
    findings(h)
        .iter()
        .any(|(r, _, m)| *r == rule && m.contains(text))
}

fn errors(h: &Host) -> Vec<String> {
    h.errors
        .iter()
        .map(|e| format!("{}: {}", e.at(), e.message))
        .collect()
}

#[test]
fn this_machine_as_it_is() {
    // the security modules are read from securityfs: mounted here when something on the
    // machine left it unmounted (the test compares rampart's view with the kernel's own file)
    if !std::path::Path::new("/sys/kernel/security/lsm").exists() {
        let _ = std::process::Command::new("mount")
            .args(["-t", "securityfs", "securityfs", "/sys/kernel/security"])
            .status();
    }
    let h = assess(Root::new("/"), &Options::default());
    let uname = std::process::Command::new("uname")
        .arg("-r")
        .output()
        .unwrap();
    assert_eq!(
        h.summary.kernel.as_deref(),
        Some(String::from_utf8_lossy(&uname.stdout).trim())
    );
    // the security modules the kernel reports, and the finding that follows from them
    let lsm = std::fs::read_to_string("/sys/kernel/security/lsm").unwrap();
    assert_eq!(h.summary.lsms.join(","), lsm.trim());
    let mac = h
        .summary
        .lsms
        .iter()
        .any(|l| l == "apparmor" || l == "selinux");
    assert_eq!(has(&h, "HOST002", "neither AppArmor nor SELinux"), !mac);
    assert_eq!(h.summary.seccomp, Some(true));
    // runc as the package database has it (the tests' machines are Debian with runc)
    let dpkg = std::process::Command::new("dpkg-query")
        .args(["-W", "-f=${Version}", "runc"])
        .output()
        .unwrap();
    if dpkg.status.success() {
        let runc = h
            .summary
            .runtimes
            .iter()
            .find(|c| c.name == "runc")
            .unwrap();
        assert_eq!(
            runc.version.as_deref(),
            Some(String::from_utf8_lossy(&dpkg.stdout).trim())
        );
    }
    // the unprivileged-BPF sysctl as the kernel has it
    let bpf = std::fs::read_to_string("/proc/sys/kernel/unprivileged_bpf_disabled").unwrap();
    assert_eq!(has(&h, "HOST006", "= 0"), bpf.trim() == "0");
    assert_eq!(h.subject, format!("Node {}", h.summary.name));
    assert!(h.errors.is_empty(), "{:?}", errors(&h));
}

#[test]
fn known_escapes_by_kernel_version_and_distribution_builds() {
    let t = Tree::new();
    t.file("/proc/sys/kernel/osrelease", "5.10.90\n", 0o444);
    let h = t.assess();
    for cve in ["CVE-2022-0185", "CVE-2022-0492", "CVE-2022-0847"] {
        assert!(has(&h, "HOST001", cve), "{cve}: {:?}", findings(&h));
    }
    assert!(has(&h, "HOST001", "fixed in 5.10.97"));
    // Debian's kernel keeps `.0` in its release; the banner has the real version
    let t = Tree::new();
    t.file("/proc/sys/kernel/osrelease", "5.10.0-16-amd64\n", 0o444);
    t.file(
        "/proc/version",
        "Linux version 5.10.0-16-amd64 (debian-kernel@lists.debian.org) (gcc-10) #1 SMP Debian 5.10.127-1 (2022-06-30)\n",
        0o444,
    );
    let h = t.assess();
    assert!(
        !findings(&h).iter().any(|(r, _, _)| *r == "HOST001"),
        "{:?}",
        findings(&h)
    );
    // a version between the fixes of its branch
    let t = Tree::new();
    t.file("/proc/sys/kernel/osrelease", "5.15.22-generic\n", 0o444);
    let h = t.assess();
    assert!(has(&h, "HOST001", "CVE-2022-0847"));
    assert!(!has(&h, "HOST001", "CVE-2022-0492"));
}

#[test]
fn kernel_settings_and_what_could_not_be_read() {
    let t = Tree::new();
    t.file(
        "/sys/kernel/security/lsm",
        "lockdown,capability,yama,apparmor\n",
        0o444,
    )
    .file(
        "/proc/sys/kernel/seccomp/actions_avail",
        "kill_process errno allow\n",
        0o444,
    )
    .file("/sys/fs/cgroup/cgroup.controllers", "cpu memory\n", 0o444)
    .file("/proc/sys/kernel/unprivileged_userns_clone", "0\n", 0o444)
    .file("/proc/sys/kernel/unprivileged_bpf_disabled", "0\n", 0o444)
    .file("/proc/sys/kernel/kptr_restrict", "0\n", 0o444)
    .file("/proc/sys/kernel/dmesg_restrict", "1\n", 0o444)
    .file("/proc/sys/fs/protected_symlinks", "junk\n", 0o444);
    let h = t.assess();
    assert!(!has(&h, "HOST002", ""));
    assert!(!has(&h, "HOST003", ""));
    assert!(!has(&h, "HOST004", ""));
    assert!(!has(&h, "HOST005", ""));
    assert!(has(&h, "HOST006", "unprivileged_bpf_disabled = 0"));
    assert!(has(&h, "HOST007", "kernel.kptr_restrict = 0"));
    assert!(!has(&h, "HOST007", "dmesg"));
    // a value that is not a number is an input error, sysctls absent are said
    assert!(
        errors(&h)
            .iter()
            .any(|e| e.contains("fs.protected_symlinks")),
        "{:?}",
        errors(&h)
    );
    let partial = &h.assessment.partial[&(rampart_core::Layer::Host, "Node node-1".to_owned())];
    assert!(
        partial
            .iter()
            .any(|p| p.contains("kernel.yama.ptrace_scope")),
        "{partial:?}"
    );
    assert_eq!(h.summary.cgroup.as_deref(), Some("v2"));
}

const KUBELET_UNIT: &str = "[Unit]\nDescription=kubelet\n[Service]\nExecStart=/usr/bin/kubelet\n";
const KUBEADM_DROPIN: &str = "[Service]\nEnvironment=\"KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml\"\nEnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env\nExecStart=\nExecStart=/usr/bin/kubelet $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS\n";
const HARDENED: &str = "apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: /etc/kubernetes/pki/ca.crt}
authorization: {mode: Webhook}
rotateCertificates: true
serverTLSBootstrap: true
tlsCipherSuites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]
podPidsLimit: 4096
seccompDefault: true
protectKernelDefaults: true
";

#[test]
fn kubelet_file_only() {
    let t = Tree::new();
    t.file("/lib/systemd/system/kubelet.service", KUBELET_UNIT, 0o644)
        .file(
            "/etc/systemd/system/kubelet.service.d/10-kubeadm.conf",
            KUBEADM_DROPIN,
            0o600,
        )
        .file("/var/lib/kubelet/config.yaml", HARDENED, 0o600)
        .file("/etc/kubernetes/pki/ca.crt", "x", 0o644);
    let h = t.assess();
    let kubelet: Vec<_> = findings(&h)
        .into_iter()
        .filter(|(r, _, _)| r.starts_with("HOST02"))
        .collect();
    // the service file kube-bench looks at (kubeadm's drop-in) is 600: nothing to say; the
    // bootstrapped serving certificate answers 4.2.9
    assert!(kubelet.is_empty(), "{kubelet:?}");
    assert!(
        h.summary
            .kubelet
            .as_deref()
            .unwrap()
            .contains("configuration /var/lib/kubelet/config.yaml")
    );
    assert!(h.errors.is_empty(), "{:?}", errors(&h));
}

#[test]
fn kubelet_flags_only_keeps_the_insecure_flag_defaults() {
    let t = Tree::new();
    t.process(
        4242,
        &[
            "/usr/bin/kubelet",
            "--kubeconfig=/etc/kubernetes/kubelet.conf",
            "--read-only-port",
            "0",
            "--v=2",
        ],
        0,
        "/",
    );
    let h = t.assess();
    assert!(
        has(
            &h,
            "HOST020",
            "CIS 4.2.1 Ensure that the --anonymous-auth argument is set to false (Automated): expected '{.authentication.anonymous.enabled}' is equal to 'false'; found authentication.anonymous.enabled = true (the flag default: the kubelet has no configuration file)"
        ),
        "{:?}",
        findings(&h)
    );
    assert!(has(&h, "HOST020", "CIS 4.2.2 "));
    assert!(has(&h, "HOST020", "found authorization.mode = AlwaysAllow"));
    // the flag closed the read-only port (a value in the next word)
    assert!(!has(&h, "HOST020", "CIS 4.2.4 "), "{:?}", findings(&h));
    let sev = findings(&h)
        .into_iter()
        .find(|(_, _, m)| m.starts_with("CIS 4.2.1 "))
        .unwrap()
        .1;
    assert_eq!(sev, Severity::Critical);
    assert!(
        h.summary
            .kubelet
            .as_deref()
            .unwrap()
            .starts_with("process 4242")
    );
}

#[test]
fn kubelet_flags_override_the_file() {
    let t = Tree::new();
    t.file("/lib/systemd/system/kubelet.service", KUBELET_UNIT, 0o600)
        .file("/etc/systemd/system/kubelet.service.d/10-kubeadm.conf", KUBEADM_DROPIN, 0o600)
        .file(
            "/var/lib/kubelet/kubeadm-flags.env",
            "KUBELET_KUBEADM_ARGS=\"--anonymous-auth=true --read-only-port=10255 --hostname-override=n1\"\n",
            0o600,
        )
        .file("/var/lib/kubelet/config.yaml", HARDENED, 0o600)
        .file("/etc/kubernetes/pki/ca.crt", "x", 0o644);
    let h = t.assess();
    assert!(
        has(
            &h,
            "HOST020",
            "CIS 4.2.1 Ensure that the --anonymous-auth argument is set to false (Automated): expected '--anonymous-auth' is equal to 'false'; found --anonymous-auth = true (set by flag --anonymous-auth)"
        ),
        "{:?}",
        findings(&h)
    );
    assert!(has(
        &h,
        "HOST020",
        "found --read-only-port = 10255 (set by flag --read-only-port; a manual or unscored item"
    ));
    assert!(has(&h, "HOST020", "found --hostname-override = n1"));
    // what the file sets and no flag overrides holds (the bootstrapped serving certificate too)
    assert!(!has(&h, "HOST020", "CIS 4.2.2 "));
    assert!(!has(&h, "HOST020", "CIS 4.2.14 "));
    assert!(!has(&h, "HOST020", "CIS 4.2.9 "), "{:?}", findings(&h));
}

#[test]
fn kubelet_json_config_at_a_relative_path_with_relative_paths_inside() {
    let t = Tree::new();
    t.process(7, &["kubelet", "--config", "kubelet.json"], 0, "/var/lib/kubelet")
        .file(
            "/var/lib/kubelet/kubelet.json",
            r#"{"authentication": {"anonymous": {"enabled": false}, "x509": {"clientCAFile": "pki/ca.crt"}}, "authorization": {"mode": "Webhook"}, "readOnlyPort": 10255}"#,
            0o600,
        )
        .file("/var/lib/kubelet/pki/ca.crt", "x", 0o666);
    let h = t.assess();
    assert!(
        has(
            &h,
            "HOST020",
            "CIS 4.2.4 Verify that if defined, the --read-only-port argument is set to 0 (Manual): expected '{.readOnlyPort}' is equal to '0' OR '{.readOnlyPort}' is not present; found readOnlyPort = 10255 (set by /var/lib/kubelet/kubelet.json;"
        ),
        "{:?}",
        findings(&h)
    );
    assert!(!has(&h, "HOST020", "CIS 4.2.1 "));
    // the CA file, found through the file's relative path, is world-writable
    assert!(
        has(
            &h,
            "HOST021",
            "CIS 4.1.7 Ensure that the certificate authorities file permissions are set to 644 or more restrictive (Manual): expected permissions has permissions 666, expected 644 or more restrictive; /var/lib/kubelet/pki/ca.crt is root:root 666"
        ),
        "{:?}",
        findings(&h)
    );
    assert!(h.errors.is_empty(), "{:?}", errors(&h));
}

#[test]
fn kubelet_bad_input_is_said_and_the_rest_assessed() {
    // a configuration file that does not exist
    let t = Tree::new();
    t.process(
        9,
        &["/usr/bin/kubelet", "--config=/etc/kubelet/missing.yaml"],
        0,
        "/",
    );
    let h = t.assess();
    assert!(
        errors(&h).iter().any(|e| e.contains(
            "/etc/kubelet/missing.yaml: the kubelet's configuration file does not exist"
        )),
        "{:?}",
        errors(&h)
    );
    assert!(has(&h, "HOST020", "CIS 4.2.13"));
    // malformed YAML, with its position; an unknown flag
    let t = Tree::new();
    t.process(
        9,
        &[
            "/usr/bin/kubelet",
            "--config=/var/lib/kubelet/config.yaml",
            "--no-such-flag=1",
            "--anonymous-auth=maybe",
        ],
        0,
        "/",
    )
    .file(
        "/var/lib/kubelet/config.yaml",
        "authentication:\n  anonymous: {enabled: false\nreadOnlyPort: 0\n",
        0o600,
    );
    let h = t.assess();
    let e = errors(&h);
    assert!(
        e.iter()
            .any(|x| x.starts_with("/var/lib/kubelet/config.yaml:")
                && x.split(':')
                    .nth(1)
                    .is_some_and(|l| l.parse::<u32>().unwrap_or(0) >= 2)),
        "{e:?}"
    );
    assert!(
        e.iter()
            .any(|x| x.contains("unknown kubelet flag --no-such-flag")),
        "{e:?}"
    );
    assert!(
        e.iter()
            .any(|x| x.contains("--anonymous-auth=maybe: not true or false")),
        "{e:?}"
    );
    // the rest is still assessed
    assert!(has(&h, "HOST020", "CIS 4.2.14"));
    assert!(has(&h, "HOST021", "config.yaml") || !h.assessment.controls.is_empty());
}

#[test]
fn docker_flags_over_daemon_json_and_its_files() {
    let t = Tree::new();
    t.file(
        "/etc/docker/daemon.json",
        r#"{"icc": false, "no-new-privileges": true, "live-restore": true, "userland-proxy": false, "userns-remap": "default", "authorization-plugins": ["opa"], "insecure-registries": ["10.0.0.5:5000"]}"#,
        0o644,
    )
    .process(100, &["/usr/bin/dockerd", "--icc=true", "-H", "fd://", "--host=tcp://0.0.0.0:2375"], 0, "/")
    .file("/var/run/docker.sock", "", 0o666);
    let h = t.assess();
    assert!(
        has(&h, "HOST011", "icc is true (set by flag)"),
        "{:?}",
        findings(&h)
    );
    assert!(has(&h, "HOST011", "insecure registries: 10.0.0.5:5000"));
    assert!(has(&h, "HOST011", "tcp://0.0.0.0:2375 without tlsverify"));
    assert!(!has(&h, "HOST011", "no-new-privileges"));
    assert!(!has(&h, "HOST011", "userns-remap"));
    assert!(has(
        &h,
        "HOST012",
        "every user of the node may start a privileged container"
    ));

    // rootless: no userns-remap needed; a broken daemon.json is an input error at its position
    let t = Tree::new();
    t.file(
        "/etc/docker/daemon.json",
        "{\n  \"icc\": false,\n  oops\n}\n",
        0o644,
    )
    .process(200, &["dockerd"], 1000, "/");
    let h = t.assess();
    assert!(
        errors(&h)
            .iter()
            .any(|e| e.starts_with("/etc/docker/daemon.json:3:")),
        "{:?}",
        errors(&h)
    );
    assert!(!has(&h, "HOST011", "userns-remap"));
    assert!(has(&h, "HOST011", "icc is true (the default)"));
}

#[test]
fn containerd_and_cri_o_configuration_and_sandboxes() {
    let t = Tree::new();
    t.file(
        "/etc/containerd/config.toml",
        "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\"]\n  disable_apparmor = true\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runsc]\n  runtime_type = \"io.containerd.runsc.v1\"\n",
        0o644,
    )
    .file("/etc/crio/crio.conf.d/10-bad.conf", "[crio.runtime\nx = 1\n", 0o644);
    let h = t.assess();
    assert!(has(&h, "HOST013", "disable_apparmor = true"));
    assert!(
        h.summary
            .sandboxes
            .iter()
            .any(|s| s.name == "runsc" && s.source == "containerd runtime handler runsc")
    );
    assert!(!has(&h, "HOST014", ""));
    assert!(
        errors(&h)
            .iter()
            .any(|e| e.starts_with("/etc/crio/crio.conf.d/10-bad.conf:1:")),
        "{:?}",
        errors(&h)
    );
    // nothing offered: said
    let h = Tree::new().assess();
    assert!(has(&h, "HOST014", "no sandbox runtime"));
}

#[test]
fn runtime_versions_against_known_escapes() {
    let t = Tree::new();
    t.file(
        "/var/lib/dpkg/status",
        "Package: runc\nStatus: install ok installed\nVersion: 1.1.11-1\n\nPackage: containerd\nStatus: install ok installed\nVersion: 1.5.9~ds1-1\n\nPackage: runsc\nStatus: deinstall ok config-files\nVersion: 1\n",
        0o644,
    );
    let h = t.assess();
    assert!(has(
        &h,
        "HOST010",
        "runc 1.1.11-1 (dpkg package runc) has CVE-2024-21626"
    ));
    assert!(has(
        &h,
        "HOST010",
        "containerd 1.5.9~ds1-1 (dpkg package containerd) has CVE-2022-23648"
    ));
    assert!(!has(&h, "HOST010", "CVE-2019-5736"));
    // a removed package is not installed
    assert!(h.summary.sandboxes.is_empty());
    // Debian's backport
    let t = Tree::new();
    t.file(
        "/var/lib/dpkg/status",
        "Package: runc\nStatus: install ok installed\nVersion: 1.1.5+ds1-1+deb12u1\n",
        0o644,
    );
    assert!(!has(&t.assess(), "HOST010", "CVE-2024-21626"));
    // a binary on an offline copy: its version is unknown, said
    let t = Tree::new();
    t.file("/usr/sbin/runc", "", 0o755);
    let h = t.assess();
    let partial = &h.assessment.partial[&(rampart_core::Layer::Host, "Node node-1".to_owned())];
    assert!(
        partial
            .iter()
            .any(|p| p.contains("runc at /usr/sbin/runc: its version is unknown")),
        "{partial:?}"
    );
}

#[test]
fn ssh_as_sshd_reads_it() {
    let t = Tree::new();
    t.file("/etc/ssh/sshd_config", "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin no\nMatch User deploy\n  PasswordAuthentication no\n", 0o644)
        .file("/etc/ssh/sshd_config.d/50-cloud.conf", "PermitRootLogin yes\n", 0o644)
        .file("/root/.ssh/authorized_keys", "ssh-ed25519 AAAA a\n", 0o600);
    let h = t.assess();
    // the first value wins: the included file's
    assert!(
        has(
            &h,
            "HOST030",
            "PermitRootLogin yes (/etc/ssh/sshd_config.d/50-cloud.conf)"
        ),
        "{:?}",
        findings(&h)
    );
    assert!(has(
        &h,
        "HOST031",
        "PasswordAuthentication yes (the default)"
    ));
    // keys only, but root has keys
    let t = Tree::new();
    t.file(
        "/etc/ssh/sshd_config",
        "PermitRootLogin prohibit-password\nPasswordAuthentication no\n",
        0o644,
    )
    .file(
        "/root/.ssh/authorized_keys",
        "ssh-ed25519 AAAA a\nssh-ed25519 BBBB b\n",
        0o600,
    );
    let h = t.assess();
    assert!(has(&h, "HOST030", "root has 2 authorized keys"));
    assert!(!has(&h, "HOST031", ""));
}

#[test]
fn a_file_that_cannot_be_read_is_an_input_error() {
    let t = Tree::new();
    // a directory where the file should be
    std::fs::create_dir_all(t.0.path().join("etc/ssh/sshd_config")).unwrap();
    std::fs::create_dir_all(t.0.path().join("etc/docker/daemon.json")).unwrap();
    let h = t.assess();
    let e = errors(&h);
    assert!(
        e.iter()
            .any(|x| x.starts_with("/etc/docker/daemon.json: cannot be read")),
        "{e:?}"
    );
    assert!(
        e.iter()
            .any(|x| x.starts_with("/etc/ssh/sshd_config: cannot be read")),
        "{e:?}"
    );
    // the kernel is still assessed
    assert!(h.assessment.controls.iter().any(|c| c.rule_id == "HOST001"));
    assert!(Path::new(t.0.path()).exists());
}

#[test]
fn an_offline_copy_is_read_as_its_own_root() {
    let t = Tree::new();
    // an absolute link inside the copy points into the copy, not into this machine
    t.file(
        "/etc/alternatives/sshd_config",
        "PermitRootLogin yes\n",
        0o644,
    );
    std::fs::create_dir_all(t.0.path().join("etc/ssh")).unwrap();
    std::os::unix::fs::symlink(
        "/etc/alternatives/sshd_config",
        t.0.path().join("etc/ssh/sshd_config"),
    )
    .unwrap();
    // an environment file that climbs out of the copy stays inside it
    t.file("/lib/systemd/system/kubelet.service", "[Service]\nEnvironmentFile=/../../../../etc/default/kubelet\nExecStart=/usr/bin/kubelet $KUBELET_ARGS\n", 0o600);
    t.file(
        "/etc/default/kubelet",
        "KUBELET_ARGS=--read-only-port=10255\n",
        0o644,
    );
    let h = t.assess();
    assert!(
        has(&h, "HOST030", "PermitRootLogin yes (/etc/ssh/sshd_config)"),
        "{:?}",
        findings(&h)
    );
    assert!(
        has(&h, "HOST020", "found --read-only-port = 10255"),
        "{:?}",
        findings(&h)
    );
    assert_eq!(Root::new(t.0.path()).path("/../../x"), t.0.path().join("x"));
}

#[test]
fn installed_sandboxes_are_offered() {
    let t = Tree::new();
    t.file("/usr/bin/runsc", "", 0o755).file(
        "/var/lib/dpkg/status",
        "Package: runsc\nStatus: install ok installed\nVersion: 0.0~20221219.0-2+b3\n",
        0o644,
    );
    let h = t.assess();
    let runsc = h
        .summary
        .sandboxes
        .iter()
        .find(|s| s.name == "runsc")
        .unwrap();
    // an offline copy's binary is not run: its version is the package's
    assert_eq!(runsc.version.as_deref(), Some("0.0~20221219.0-2+b3"));
    assert_eq!(runsc.source, "/usr/bin/runsc");
    assert!(!has(&h, "HOST014", ""));
}

#[test]
fn control_plane_node_files() {
    let t = Tree::new();
    t.file(
        "/etc/passwd",
        "root:x:0:0:root:/root:/bin/sh\netcd:x:996:996::/var/lib/etcd:/bin/false\n",
        0o644,
    )
    .file("/etc/group", "root:x:0:\netcd:x:996:\n", 0o644)
    .file(
        "/etc/kubernetes/manifests/kube-apiserver.yaml",
        "kind: Pod\n",
        0o644,
    )
    .file("/etc/kubernetes/manifests/etcd.yaml", "kind: Pod\n", 0o600)
    .file("/etc/kubernetes/admin.conf", "x", 0o600)
    .file("/etc/kubernetes/pki/ca.crt", "x", 0o644)
    .file("/etc/kubernetes/pki/ca.key", "x", 0o644)
    .file("/var/lib/etcd/member/x", "x", 0o600);
    std::fs::set_permissions(
        t.0.path().join("var/lib/etcd"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let h = t.assess();
    let cp: Vec<String> = findings(&h)
        .into_iter()
        .filter(|(r, _, _)| *r == "HOST022")
        .map(|(_, _, m)| m)
        .collect();
    let ids: Vec<&str> = cp.iter().map(|m| m.split(' ').nth(1).unwrap()).collect();
    // the API server's manifest is 644 (wants 600), the CA key 644 (wants 600), etcd's data
    // directory 755 (wants 700) and owned by root (wants etcd:etcd)
    assert_eq!(ids, ["1.1.1", "1.1.11", "1.1.12", "1.1.21"], "{cp:?}");
    assert!(
        cp[0].contains("/etc/kubernetes/manifests/kube-apiserver.yaml is root:root 644"),
        "{cp:?}"
    );
    // a worker (no static pods) has no such control
    let h = Tree::new().assess();
    assert!(!h.assessment.controls.iter().any(|c| c.rule_id == "HOST022"));
}
