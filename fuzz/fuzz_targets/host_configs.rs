//! `rampart host` on hostile node files: the data is cut into the files a node assessment
//! reads (sshd_config, daemon.json, containerd's config.toml, the kubelet's unit, environment
//! file and configuration, the package database, a process's command line, the kernel
//! release), written into a fixture tree and assessed: no panic, and every input error names
//! a file of the tree.
#![no_main]

use libfuzzer_sys::fuzz_target;

const FILES: &[&str] = &[
    "/proc/sys/kernel/osrelease",
    "/etc/ssh/sshd_config",
    "/etc/docker/daemon.json",
    "/etc/containerd/config.toml",
    "/lib/systemd/system/kubelet.service",
    "/var/lib/kubelet/kubeadm-flags.env",
    "/var/lib/kubelet/config.yaml",
    "/var/lib/dpkg/status",
    "/proc/1/cmdline",
];

fuzz_target!(|data: &[u8]| {
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    // the parts, split at 0xFF bytes (so the fuzzer can grow each one alone)
    for (path, part) in FILES.iter().zip(data.split(|b| *b == 0xFF)) {
        let p = dir.path().join(path.trim_start_matches('/'));
        if let Some(parent) = p.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        let _ = std::fs::write(&p, part);
    }
    let host = rampart_host::assess(
        rampart_host::Root::new(dir.path()),
        &rampart_host::Options::default(),
    );
    for e in &host.errors {
        assert!(!e.file.is_empty(), "{e:?}");
    }
});
