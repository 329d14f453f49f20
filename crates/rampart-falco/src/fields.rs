//! The field registry: every Falco field rampart supports, its type, whether it takes an
//! argument, and how it is read from an [`Event`].

use crate::event::{Dir, Event, FdKind, Process, errno_name};
use std::borrow::Cow;
use std::net::IpAddr;

/// The type of a field, as Falco types it (this decides how the right-hand side of a
/// comparison is parsed and how the field is written in JSON `output_fields`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// Text (Falco's CHARBUF).
    String,
    /// A signed or unsigned integer (INT*, UINT*, PID, FD, PORT, ERRNO...).
    Int,
    /// A boolean (`true`/`false`).
    Bool,
    /// An IP address; compared with an address or a CIDR network.
    IpAddr,
    /// An IP network: the field's address is matched against CIDR values.
    IpNet,
    /// An absolute time in ns since the epoch (printed as a date in text output).
    AbsTime,
    /// A duration in ns.
    RelTime,
    /// Raw bytes (`bcontains`, `bstartswith`).
    Bytes,
}

impl FieldType {
    /// A short name for docs and listings.
    pub fn name(self) -> &'static str {
        match self {
            FieldType::String => "string",
            FieldType::Int => "int",
            FieldType::Bool => "bool",
            FieldType::IpAddr => "ipaddr",
            FieldType::IpNet => "ipnet",
            FieldType::AbsTime => "abstime",
            FieldType::RelTime => "reltime",
            FieldType::Bytes => "bytes",
        }
    }
    pub(crate) fn is_numeric(self) -> bool {
        matches!(
            self,
            FieldType::Int | FieldType::AbsTime | FieldType::RelTime
        )
    }
}

/// Whether a field takes an argument (`proc.aname[2]`, `evt.arg.flags`, `proc.env[HOME]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgSpec {
    /// No argument.
    None,
    /// An optional numeric index (`proc.aname` = any ancestor, `proc.aname[2]` = that one).
    OptIndex,
    /// A required key, as `field[key]` or `field.key` (`evt.arg.flags`, `evt.arg[0]`).
    Key,
    /// An optional key (`proc.env` = the whole environment, `proc.env[HOME]` = one variable).
    OptKey,
}

macro_rules! fields {
    ($( $id:ident, $name:literal, $ty:ident, $arg:ident, $multi:literal, $desc:literal; )*) => {
        /// Identifies a supported field.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[allow(missing_docs)]
        pub enum FieldId { $($id,)* }

        /// Every field rampart supports, in Falco's field classes' order.
        pub static FIELDS: &[FieldInfo] = &[
            $(FieldInfo { id: FieldId::$id, name: $name, ty: FieldType::$ty, arg: ArgSpec::$arg,
                          multi: $multi, desc: $desc },)*
        ];
    };
}

/// One supported field.
#[derive(Debug, Clone, Copy)]
pub struct FieldInfo {
    /// Identifier.
    pub id: FieldId,
    /// Falco's name, e.g. `proc.aname`.
    pub name: &'static str,
    /// Type.
    pub ty: FieldType,
    /// Argument.
    pub arg: ArgSpec,
    /// Multi-valued without an argument: a comparison is true when it holds for any value
    /// (`proc.aname` = any ancestor).
    pub multi: bool,
    /// What it is.
    pub desc: &'static str,
}

fields! {
    EvtNum, "evt.num", Int, None, false, "event sequence number";
    EvtTime, "evt.time", AbsTime, None, false, "event timestamp (ns since the epoch; a time of day in text output)";
    EvtTimeS, "evt.time.s", String, None, false, "event time of day, seconds";
    EvtTimeIso, "evt.time.iso8601", String, None, false, "event time, ISO 8601";
    EvtDatetime, "evt.datetime", String, None, false, "event date and time";
    EvtRawtime, "evt.rawtime", AbsTime, None, false, "event timestamp in ns";
    EvtRawtimeS, "evt.rawtime.s", Int, None, false, "seconds part of the event timestamp";
    EvtRawtimeNs, "evt.rawtime.ns", Int, None, false, "nanoseconds part of the event timestamp";
    EvtDatetimeS, "evt.datetime.s", String, None, false, "event date and time without nanoseconds";
    EvtType, "evt.type", String, None, false, "event (syscall) name";
    EvtSyscalltype, "evt.syscalltype", String, None, false, "the system call (same as evt.type for syscalls)";
    EvtDir, "evt.dir", String, None, false, "> for enter, < for exit";
    EvtRes, "evt.res", String, None, false, "SUCCESS or the errno name";
    EvtRawres, "evt.rawres", Int, None, false, "the return value";
    EvtFailed, "evt.failed", Bool, None, false, "the call returned an error";
    EvtArg, "evt.arg", String, Key, false, "an argument by name (evt.arg.flags) or index (evt.arg[0])";
    EvtArgs, "evt.args", String, None, false, "all arguments as name=value pairs";
    EvtIsOpenRead, "evt.is_open_read", Bool, None, false, "an open for reading";
    EvtIsOpenWrite, "evt.is_open_write", Bool, None, false, "an open for writing";
    EvtIsOpenExec, "evt.is_open_exec", Bool, None, false, "an open that creates an executable file";
    EvtIsOpenCreate, "evt.is_open_create", Bool, None, false, "an open with O_CREAT";
    EvtBuffer, "evt.buffer", Bytes, None, false, "the I/O buffer";
    EvtHostname, "evt.hostname", String, None, false, "the host name";
    EvtSource, "evt.source", String, None, false, "the event source (syscall)";
    ProcPid, "proc.pid", Int, None, false, "process id";
    ProcVpid, "proc.vpid", Int, None, false, "process id in its pid namespace";
    ProcPpid, "proc.ppid", Int, None, false, "parent process id";
    ProcPvpid, "proc.pvpid", Int, None, false, "parent process id in its pid namespace";
    ProcName, "proc.name", String, None, false, "process name (comm)";
    ProcExe, "proc.exe", String, None, false, "argv[0]";
    ProcExepath, "proc.exepath", String, None, false, "full executable path";
    ProcArgs, "proc.args", String, None, false, "arguments";
    ProcCmdline, "proc.cmdline", String, None, false, "name and arguments";
    ProcCwd, "proc.cwd", String, None, false, "current directory";
    ProcTty, "proc.tty", Int, None, false, "controlling terminal (0 for none)";
    ProcSid, "proc.sid", Int, None, false, "session id";
    ProcSname, "proc.sname", String, None, false, "session leader name";
    ProcSidExe, "proc.sid.exe", String, None, false, "session leader argv[0]";
    ProcSidExepath, "proc.sid.exepath", String, None, false, "session leader executable path";
    ProcIsSidLeader, "proc.is_sid_leader", Bool, None, false, "the process leads its session";
    ProcVpgid, "proc.vpgid", Int, None, false, "process group id";
    ProcVpgidName, "proc.vpgid.name", String, None, false, "process group leader name";
    ProcVpgidExe, "proc.vpgid.exe", String, None, false, "process group leader argv[0]";
    ProcVpgidExepath, "proc.vpgid.exepath", String, None, false, "process group leader path";
    ProcIsVpgidLeader, "proc.is_vpgid_leader", Bool, None, false, "the process leads its group";
    ProcPname, "proc.pname", String, None, false, "parent name";
    ProcPexe, "proc.pexe", String, None, false, "parent argv[0]";
    ProcPexepath, "proc.pexepath", String, None, false, "parent executable path";
    ProcPcmdline, "proc.pcmdline", String, None, false, "parent command line";
    ProcAname, "proc.aname", String, OptIndex, true, "ancestor name ([0] self, [1] parent...; no index: any ancestor)";
    ProcApid, "proc.apid", Int, OptIndex, true, "ancestor pid";
    ProcAexe, "proc.aexe", String, OptIndex, true, "ancestor argv[0]";
    ProcAexepath, "proc.aexepath", String, OptIndex, true, "ancestor executable path";
    ProcAcmdline, "proc.acmdline", String, OptIndex, true, "ancestor command line";
    ProcEnv, "proc.env", String, OptKey, false, "environment (or one variable)";
    ProcIsExeUpperLayer, "proc.is_exe_upper_layer", Bool, None, false, "executable in the container's writable layer";
    ProcIsExeFromMemfd, "proc.is_exe_from_memfd", Bool, None, false, "executable is a memfd";
    ProcIsExeWritable, "proc.is_exe_writable", Bool, None, false, "executable writable by its user";
    ProcDuration, "proc.duration", RelTime, None, false, "ns since the process started";
    ProcPpidDuration, "proc.ppid.duration", RelTime, None, false, "ns since the parent started";
    ProcStartTs, "proc.pid.ts", AbsTime, None, false, "process start time";
    ProcExeIno, "proc.exe_ino", Int, None, false, "executable inode number";
    ProcIsContainerHealthcheck, "proc.is_container_healthcheck", Bool, None, false, "a container health check";
    ProcIsContainerLivenessProbe, "proc.is_container_liveness_probe", Bool, None, false, "a Kubernetes liveness probe";
    ProcIsContainerReadinessProbe, "proc.is_container_readiness_probe", Bool, None, false, "a Kubernetes readiness probe";
    ProcExeInoCtime, "proc.exe_ino.ctime", AbsTime, None, false, "executable inode change time";
    ProcExeInoMtime, "proc.exe_ino.mtime", AbsTime, None, false, "executable inode modification time";
    ProcExeInoCtimeDur, "proc.exe_ino.ctime_duration_proc_start", RelTime, None, false, "process start minus executable ctime";
    ThreadTid, "thread.tid", Int, None, false, "thread id";
    ThreadCapEffective, "thread.cap_effective", String, None, false, "effective capabilities (CAP_* names)";
    ThreadCapPermitted, "thread.cap_permitted", String, None, false, "permitted capabilities";
    ThreadCapInheritable, "thread.cap_inheritable", String, None, false, "inheritable capabilities";
    UserUid, "user.uid", Int, None, false, "user id";
    UserName, "user.name", String, None, false, "user name";
    UserLoginuid, "user.loginuid", Int, None, false, "audit login uid (-1 unset)";
    UserLoginname, "user.loginname", String, None, false, "login user name";
    GroupGid, "group.gid", Int, None, false, "group id";
    GroupName, "group.name", String, None, false, "group name";
    FdNum, "fd.num", Int, None, false, "file descriptor number";
    FdType, "fd.type", String, None, false, "file, directory, ipv4, ipv6, unix...";
    FdTypechar, "fd.typechar", String, None, false, "f, 4, 6, u...";
    FdName, "fd.name", String, None, false, "path, or cip:cport->sip:sport";
    FdNameraw, "fd.nameraw", String, None, false, "name as given";
    FdDirectory, "fd.directory", String, None, false, "directory of fd.name";
    FdFilename, "fd.filename", String, None, false, "base name of fd.name";
    FdIp, "fd.ip", IpAddr, None, true, "client or server address";
    FdCip, "fd.cip", IpAddr, None, false, "client address";
    FdSip, "fd.sip", IpAddr, None, false, "server address";
    FdLip, "fd.lip", IpAddr, None, false, "local address";
    FdRip, "fd.rip", IpAddr, None, false, "remote address";
    FdPort, "fd.port", Int, None, true, "client or server port";
    FdCport, "fd.cport", Int, None, false, "client port";
    FdSport, "fd.sport", Int, None, false, "server port";
    FdLport, "fd.lport", Int, None, false, "local port";
    FdRport, "fd.rport", Int, None, false, "remote port";
    FdL4proto, "fd.l4proto", String, None, false, "tcp, udp, icmp, raw";
    FdSockfamily, "fd.sockfamily", String, None, false, "ip or unix";
    FdIsServer, "fd.is_server", Bool, None, false, "the process is the server end";
    FdNet, "fd.net", IpNet, None, true, "client or server address in a network";
    FdCnet, "fd.cnet", IpNet, None, false, "client address in a network";
    FdSnet, "fd.snet", IpNet, None, false, "server address in a network";
    FdLnet, "fd.lnet", IpNet, None, false, "local address in a network";
    FdRnet, "fd.rnet", IpNet, None, false, "remote address in a network";
    FdConnected, "fd.connected", Bool, None, false, "the socket is connected";
    FdNameChanged, "fd.name_changed", Bool, None, false, "the fd name changed";
    FdCipName, "fd.cip.name", String, None, false, "client DNS name";
    FdSipName, "fd.sip.name", String, None, false, "server DNS name";
    FdLipName, "fd.lip.name", String, None, false, "local DNS name";
    FdRipName, "fd.rip.name", String, None, false, "remote DNS name";
    FsPathName, "fs.path.name", String, None, false, "path of a filesystem event";
    FsPathSource, "fs.path.source", String, None, false, "source path of a link/rename event";
    FsPathTarget, "fs.path.target", String, None, false, "target path of a link/rename event";
    ContainerId, "container.id", String, None, false, "container short id, host for host processes";
    ContainerFullId, "container.full_id", String, None, false, "container full id";
    ContainerName, "container.name", String, None, false, "container name";
    ContainerImage, "container.image", String, None, false, "image reference";
    ContainerImageRepository, "container.image.repository", String, None, false, "image repository";
    ContainerImageTag, "container.image.tag", String, None, false, "image tag";
    ContainerImageDigest, "container.image.digest", String, None, false, "image digest";
    ContainerType, "container.type", String, None, false, "runtime";
    ContainerPrivileged, "container.privileged", Bool, None, false, "privileged container";
    ContainerStartTs, "container.start_ts", AbsTime, None, false, "container start time";
    ContainerDuration, "container.duration", RelTime, None, false, "ns since the container started";
    ContainerInfo, "container.info", String, None, false, "container name (id=...), Falco's legacy summary";
    ContainerImageId, "container.image.id", String, None, false, "image id (the digest without algorithm)";
    ContainerMounts, "container.mounts", String, None, false, "mounts as source:dest:mode:rw:propagation";
    ContainerMountDest, "container.mount.dest", String, Key, false, "mount source for a destination (glob)";
    ContainerMountSource, "container.mount.source", String, Key, false, "mount destination for a source (glob)";
    K8sNsName, "k8s.ns.name", String, None, false, "Kubernetes namespace";
    K8sPodName, "k8s.pod.name", String, None, false, "pod name";
    K8sPodUid, "k8s.pod.uid", String, None, false, "pod uid";
    K8sPodId, "k8s.pod.id", String, None, false, "pod uid (legacy name)";
    K8sPodLabel, "k8s.pod.label", String, Key, false, "a pod label";
    K8sPodLabels, "k8s.pod.labels", String, None, false, "pod labels as key:value";
    K8sContainerName, "k8s.container.name", String, None, false, "container name in the pod";
}

/// Falco syscall-source fields (libsinsp and the container plugin) rampart does not provide.
/// A rule whose condition needs one is reported at load time (LOAD_UNSUPPORTED_FIELD) and not
/// evaluated; in an output it prints `<NA>` (and is reported too).
pub static FALCO_FIELDS_NOT_PROVIDED: &[&str] = &[
    "evt.latency",
    "evt.latency.s",
    "evt.latency.ns",
    "evt.latency.human",
    "evt.deltatime",
    "evt.deltatime.s",
    "evt.deltatime.ns",
    "evt.outputtime",
    "evt.cpu",
    "evt.info",
    "evt.rawarg",
    "evt.category",
    "evt.is_io",
    "evt.is_io_read",
    "evt.is_io_write",
    "evt.io_dir",
    "evt.is_wait",
    "evt.wait_latency",
    "evt.is_syslog",
    "evt.count",
    "evt.count.error",
    "evt.count.error.file",
    "evt.count.error.net",
    "evt.count.error.memory",
    "evt.count.error.other",
    "evt.count.exit",
    "evt.around",
    "evt.abspath",
    "evt.abspath.src",
    "evt.abspath.dst",
    "evt.buflen",
    "evt.buflen.in",
    "evt.buflen.out",
    "evt.buflen.file",
    "evt.buflen.net",
    "evt.plugininfo",
    "evt.pluginname",
    "evt.asynctype",
    "evt.is_async",
    "evt.reltime",
    "evt.reltime.s",
    "evt.reltime.ns",
    "evt.time.ms",
    "evt.arg.res_or_fd",
    "proc.exeline",
    "proc.cmdnargs",
    "proc.cmdlenargs",
    "proc.loginshellid",
    "proc.nthreads",
    "proc.nchilds",
    "proc.fdopencount",
    "proc.fdlimit",
    "proc.fdusage",
    "proc.vmsize",
    "proc.vmrss",
    "proc.vmswap",
    "proc.pfmajor",
    "proc.pfminor",
    "proc.pidns_init_start_ts",
    "proc.stdin.type",
    "proc.stdout.type",
    "proc.stderr.type",
    "proc.stdin.name",
    "proc.stdout.name",
    "proc.stderr.name",
    "proc.exe_ino.ctime_duration_pidns_start",
    "proc.ppid.ts",
    "proc.is_pgid_leader",
    "proc.pgid",
    "proc.pgid.name",
    "proc.pgid.exe",
    "proc.pgid.exepath",
    "proc.exe_ino.ctime_str",
    "thread.exectime",
    "thread.totexectime",
    "thread.cgroups",
    "thread.cgroup",
    "thread.nametid",
    "thread.vtid",
    "thread.ismain",
    "thread.cpu",
    "thread.cpu.user",
    "thread.cpu.system",
    "thread.vmsize",
    "thread.vmrss",
    "thread.pfmajor",
    "thread.pfminor",
    "user.homedir",
    "user.shell",
    "fd.types",
    "fd.dev",
    "fd.dev.major",
    "fd.dev.minor",
    "fd.ino",
    "fd.uid",
    "fd.containername",
    "fd.containerdirectory",
    "fd.cproto",
    "fd.sproto",
    "fd.lproto",
    "fd.rproto",
    "fd.is_upper_layer",
    "fd.is_lower_layer",
    "fs.path.nameraw",
    "fs.path.sourceraw",
    "fs.path.targetraw",
    "container.healthcheck",
    "container.liveness_probe",
    "container.readiness_probe",
    "container.cni.json",
    "container.host_pid",
    "container.host_network",
    "container.host_ipc",
    "container.ip",
    "container.label",
    "container.labels",
    "container.image.id.full",
    "container.memory_limit",
    "container.cpu_shares",
    "container.cpu_quota",
    "container.cpu_period",
    "container.cpuset_cpu_count",
    "container.mount",
    "container.mount.mode",
    "container.mount.rdwr",
    "container.mount.propagation",
    "container.user",
    "k8s.rc.name",
    "k8s.rc.id",
    "k8s.rc.label",
    "k8s.rc.labels",
    "k8s.rs.name",
    "k8s.rs.id",
    "k8s.rs.label",
    "k8s.rs.labels",
    "k8s.deployment.name",
    "k8s.deployment.id",
    "k8s.deployment.label",
    "k8s.deployment.labels",
    "k8s.svc.name",
    "k8s.svc.id",
    "k8s.svc.label",
    "k8s.svc.labels",
    "k8s.ns.id",
    "k8s.ns.label",
    "k8s.ns.labels",
    "k8s.pod.ip",
    "k8s.pod.cni.json",
    "k8s.pod.sandbox_id",
    "k8s.pod.full_sandbox_id",
];

/// Is `name` a Falco field rampart does not provide?
pub fn falco_field_not_provided(name: &str) -> bool {
    FALCO_FIELDS_NOT_PROVIDED.contains(&name)
}

/// Looks a field up by name.
pub fn field_info(name: &str) -> Option<&'static FieldInfo> {
    FIELDS.iter().find(|f| f.name == name)
}

/// The argument of a bound field.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FieldArg {
    /// None given.
    None,
    /// A numeric index.
    Index(usize),
    /// A key.
    Key(String),
}

/// A field with its argument, ready to be read.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BoundField {
    /// Which field.
    pub id: FieldId,
    /// Its argument.
    pub arg: FieldArg,
}

/// A value read from an event.
#[derive(Debug, Clone, PartialEq)]
pub enum V<'a> {
    /// Text.
    S(Cow<'a, str>),
    /// A number.
    I(i64),
    /// A boolean.
    B(bool),
    /// An address.
    Ip(IpAddr),
    /// Bytes.
    Bytes(&'a [u8]),
}

fn s(x: &str) -> Option<V<'_>> {
    Some(V::S(Cow::Borrowed(x)))
}
fn os(x: Option<&str>) -> Option<V<'_>> {
    x.map(|v| V::S(Cow::Borrowed(v)))
}
fn i(x: i64) -> Option<V<'static>> {
    Some(V::I(x))
}
fn u(x: u64) -> Option<V<'static>> {
    Some(V::I(i64::try_from(x).unwrap_or(i64::MAX)))
}

fn dirname(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) => "/",
        Some(p) => path.get(..p).unwrap_or(path),
        None => path,
    }
}
fn basename(path: &str) -> &str {
    match path.rfind('/') {
        Some(p) => path.get(p + 1..).unwrap_or(path),
        None => path,
    }
}

fn is_open_kind(ev: &Event) -> bool {
    matches!(
        ev.evt_type.as_ref(),
        "open" | "openat" | "openat2" | "creat" | "open_by_handle_at"
    )
}

impl BoundField {
    /// The field's registry entry.
    pub fn info(&self) -> &'static FieldInfo {
        // FIELDS is generated in FieldId order.
        FIELDS.get(self.id as usize).unwrap_or(&FIELD_FALLBACK)
    }

    /// Calls `f` on each value of the field until it returns true; returns whether it did.
    /// A field that is absent calls `f` zero times.
    pub fn visit<'e>(&self, ev: &'e Event, f: &mut dyn FnMut(V<'e>) -> bool) -> bool {
        match self.id {
            FieldId::ProcAname
            | FieldId::ProcApid
            | FieldId::ProcAexe
            | FieldId::ProcAexepath
            | FieldId::ProcAcmdline => {
                let read = |p: &'e Process| -> V<'e> {
                    match self.id {
                        FieldId::ProcApid => V::I(p.pid),
                        FieldId::ProcAexe => V::S(Cow::Borrowed(&p.exe)),
                        FieldId::ProcAexepath => V::S(Cow::Borrowed(&p.exepath)),
                        FieldId::ProcAcmdline => V::S(Cow::Borrowed(p.cmdline())),
                        _ => V::S(Cow::Borrowed(&p.name)),
                    }
                };
                match self.arg {
                    FieldArg::Index(n) => ev.ancestor(n).is_some_and(|p| f(read(p))),
                    _ => ev.ancestors.iter().any(|p| f(read(p))),
                }
            }
            FieldId::FdIp | FieldId::FdPort | FieldId::FdNet => {
                let Some(fd) = ev.fd.as_ref().filter(|fd| fd.is_ip()) else {
                    return false;
                };
                [fd.client, fd.server]
                    .into_iter()
                    .flatten()
                    .any(|(ip, port)| {
                        if self.id == FieldId::FdPort {
                            f(V::I(i64::from(port)))
                        } else {
                            f(V::Ip(ip))
                        }
                    })
            }
            _ => self.get(ev).is_some_and(f),
        }
    }

    /// The single value of a field (the first for multi-valued fields), or `None` if absent.
    pub fn get<'e>(&self, ev: &'e Event) -> Option<V<'e>> {
        let p = &ev.proc;
        let parent = ev.ancestors.first();
        let fd = ev.fd.as_ref();
        let c = ev.container.as_ref();
        let k = ev.k8s.as_ref();
        match self.id {
            FieldId::EvtNum => u(ev.num),
            FieldId::EvtTime | FieldId::EvtRawtime => u(ev.time_ns),
            FieldId::EvtTimeS => Some(V::S(Cow::Owned(crate::output::time_of_day(
                ev.time_ns, false,
            )))),
            FieldId::EvtTimeIso => Some(V::S(Cow::Owned(crate::output::rfc3339(ev.time_ns)))),
            FieldId::EvtDatetime => Some(V::S(Cow::Owned(crate::output::datetime(ev.time_ns)))),
            FieldId::EvtRawtimeS => u(ev.time_ns / 1_000_000_000),
            FieldId::EvtRawtimeNs => u(ev.time_ns % 1_000_000_000),
            FieldId::EvtDatetimeS => {
                let full = crate::output::datetime(ev.time_ns);
                Some(V::S(Cow::Owned(
                    full.split('.').next().unwrap_or(&full).to_owned(),
                )))
            }
            FieldId::EvtType | FieldId::EvtSyscalltype => s(&ev.evt_type),
            FieldId::EvtDir => s(if ev.dir == Dir::Enter { ">" } else { "<" }),
            FieldId::EvtRes => {
                let r = ev.res?;
                if r >= 0 {
                    s("SUCCESS")
                } else {
                    errno_name(r.saturating_neg()).map(|n| V::S(Cow::Borrowed(n)))
                }
            }
            FieldId::EvtRawres => i(ev.res?),
            FieldId::EvtFailed => Some(V::B(ev.res? < 0)),
            FieldId::EvtArg => match &self.arg {
                FieldArg::Index(n) => ev
                    .args
                    .get(*n)
                    .map(|(_, v)| V::S(Cow::Borrowed(v.as_str()))),
                FieldArg::Key(name) => os(ev.arg(name)),
                FieldArg::None => None,
            },
            FieldId::EvtArgs => {
                let mut out = String::new();
                for (n, v) in &ev.args {
                    if !out.is_empty() {
                        out.push(' ');
                    }
                    out.push_str(n);
                    out.push('=');
                    out.push_str(v);
                }
                Some(V::S(Cow::Owned(out)))
            }
            FieldId::EvtIsOpenRead => {
                if !is_open_kind(ev) {
                    return Some(V::B(false));
                }
                let fl = ev.open_flags?;
                Some(V::B(fl & 3 == 0 || fl & 3 == 2))
            }
            FieldId::EvtIsOpenWrite => {
                if !is_open_kind(ev) {
                    return Some(V::B(false));
                }
                let fl = ev.open_flags?;
                Some(V::B(fl & 3 == 1 || fl & 3 == 2))
            }
            FieldId::EvtIsOpenCreate => {
                if !is_open_kind(ev) {
                    return Some(V::B(false));
                }
                Some(V::B(ev.open_flags? & 0o100 != 0))
            }
            FieldId::EvtIsOpenExec => {
                if !is_open_kind(ev) {
                    return Some(V::B(false));
                }
                // Falco: the open created the file with an executable mode.
                let created = ev.open_flags? & 0o100 != 0;
                let mode = ev.arg("mode").and_then(parse_mode).unwrap_or(0);
                Some(V::B(created && mode & 0o111 != 0))
            }
            FieldId::EvtBuffer => ev.buffer.as_deref().map(V::Bytes),
            FieldId::EvtHostname => os(ev.hostname.as_deref()),
            FieldId::EvtSource => s("syscall"),
            FieldId::ProcPid => i(p.pid),
            FieldId::ProcVpid => i(p.vpid?),
            FieldId::ProcPpid => i(parent?.pid),
            FieldId::ProcPvpid => i(parent?.vpid?),
            FieldId::ProcName => s(&p.name),
            FieldId::ProcExe => s(&p.exe),
            FieldId::ProcExepath => s(&p.exepath),
            FieldId::ProcArgs => s(p.args_str()),
            FieldId::ProcCmdline => s(p.cmdline()),
            FieldId::ProcCwd => os(p.cwd.as_deref()),
            FieldId::ProcTty => i(i64::from(p.tty)),
            FieldId::ProcSid => i(p.sid?),
            FieldId::ProcSname => {
                let sid = p.sid?;
                std::iter::once(p)
                    .chain(ev.ancestors.iter())
                    .find(|a| a.vpid.unwrap_or(a.pid) == sid || a.pid == sid)
                    .map(|a| V::S(Cow::Borrowed(&a.name)))
            }
            FieldId::ProcSidExe | FieldId::ProcSidExepath => {
                let sid = p.sid?;
                let leader = std::iter::once(p)
                    .chain(ev.ancestors.iter())
                    .find(|a| a.vpid.unwrap_or(a.pid) == sid || a.pid == sid)?;
                s(if self.id == FieldId::ProcSidExe {
                    &leader.exe
                } else {
                    &leader.exepath
                })
            }
            FieldId::ProcIsSidLeader => Some(V::B(p.sid? == p.vpid.unwrap_or(p.pid))),
            FieldId::ProcVpgid => i(p.vpgid?),
            FieldId::ProcVpgidName | FieldId::ProcVpgidExe | FieldId::ProcVpgidExepath => {
                let g = p.vpgid?;
                let leader = std::iter::once(p)
                    .chain(ev.ancestors.iter())
                    .find(|a| a.vpid.unwrap_or(a.pid) == g)?;
                match self.id {
                    FieldId::ProcVpgidName => s(&leader.name),
                    FieldId::ProcVpgidExe => s(&leader.exe),
                    _ => s(&leader.exepath),
                }
            }
            FieldId::ProcIsVpgidLeader => Some(V::B(p.vpgid? == p.vpid.unwrap_or(p.pid))),
            FieldId::ProcPname => s(&parent?.name),
            FieldId::ProcPexe => s(&parent?.exe),
            FieldId::ProcPexepath => s(&parent?.exepath),
            FieldId::ProcPcmdline => s(parent?.cmdline()),
            FieldId::ProcAname
            | FieldId::ProcApid
            | FieldId::ProcAexe
            | FieldId::ProcAexepath
            | FieldId::ProcAcmdline => {
                let n = match self.arg {
                    FieldArg::Index(n) => n,
                    _ => 1,
                };
                let a = ev.ancestor(n)?;
                match self.id {
                    FieldId::ProcApid => i(a.pid),
                    FieldId::ProcAexe => s(&a.exe),
                    FieldId::ProcAexepath => s(&a.exepath),
                    FieldId::ProcAcmdline => s(a.cmdline()),
                    _ => s(&a.name),
                }
            }
            FieldId::ProcEnv => {
                let env = p.env.as_ref()?;
                match &self.arg {
                    FieldArg::Key(name) => env
                        .iter()
                        .find_map(|kv| {
                            kv.strip_prefix(name.as_str())
                                .and_then(|r| r.strip_prefix('='))
                        })
                        .map(|v| V::S(Cow::Borrowed(v))),
                    _ => Some(V::S(Cow::Owned(env.join(" ")))),
                }
            }
            FieldId::ProcIsExeUpperLayer => p.is_exe_upper_layer.map(V::B),
            FieldId::ProcIsExeFromMemfd => p.is_exe_from_memfd.map(V::B),
            FieldId::ProcIsExeWritable => p.is_exe_writable.map(V::B),
            FieldId::ProcDuration => u(ev.time_ns.saturating_sub(p.start_ns?)),
            FieldId::ProcPpidDuration => u(ev.time_ns.saturating_sub(parent?.start_ns?)),
            FieldId::ProcStartTs => u(p.start_ns?),
            FieldId::ProcExeIno => u(p.exe_ino?),
            FieldId::ProcIsContainerHealthcheck => p.is_container_healthcheck.map(V::B),
            FieldId::ProcIsContainerLivenessProbe => p.is_container_liveness_probe.map(V::B),
            FieldId::ProcIsContainerReadinessProbe => p.is_container_readiness_probe.map(V::B),
            FieldId::ProcExeInoCtime => u(p.exe_ino_ctime?),
            FieldId::ProcExeInoMtime => u(p.exe_ino_mtime?),
            FieldId::ProcExeInoCtimeDur => u(p.start_ns?.saturating_sub(p.exe_ino_ctime?)),
            FieldId::ThreadTid => i(p.tid.unwrap_or(p.pid)),
            FieldId::ThreadCapEffective => os(p.caps_str(0)),
            FieldId::ThreadCapPermitted => os(p.caps_str(1)),
            FieldId::ThreadCapInheritable => os(p.caps_str(2)),
            FieldId::UserUid => i(i64::from(p.uid?)),
            FieldId::UserName => os(p.user_name.as_deref()),
            FieldId::UserLoginuid => i(p.loginuid?),
            FieldId::UserLoginname => os(p.login_name.as_deref()),
            FieldId::GroupGid => i(i64::from(p.gid?)),
            FieldId::GroupName => os(p.group_name.as_deref()),
            FieldId::FdNum => i(fd?.num),
            FieldId::FdType => s(fd?.kind.type_name()),
            FieldId::FdTypechar => s(fd?.kind.type_char()),
            FieldId::FdName => s(&fd?.name),
            FieldId::FdNameraw => {
                let fd = fd?;
                s(fd.name_raw.as_deref().unwrap_or(&fd.name))
            }
            FieldId::FdDirectory => {
                let fd = fd?;
                match fd.kind {
                    FdKind::Directory => s(&fd.name),
                    FdKind::File => s(dirname(&fd.name)),
                    _ => None,
                }
            }
            FieldId::FdFilename => {
                let fd = fd?;
                if fd.kind == FdKind::File {
                    s(basename(&fd.name))
                } else {
                    None
                }
            }
            FieldId::FdIp | FieldId::FdNet => fd?.client.map(|(ip, _)| V::Ip(ip)),
            FieldId::FdPort => fd?.client.map(|(_, p)| V::I(i64::from(p))),
            FieldId::FdCip | FieldId::FdCnet => fd?.client.map(|(ip, _)| V::Ip(ip)),
            FieldId::FdSip | FieldId::FdSnet => fd?.server.map(|(ip, _)| V::Ip(ip)),
            FieldId::FdLip | FieldId::FdLnet => fd?.local().map(|(ip, _)| V::Ip(ip)),
            FieldId::FdRip | FieldId::FdRnet => fd?.remote().map(|(ip, _)| V::Ip(ip)),
            FieldId::FdCport => fd?.client.map(|(_, p)| V::I(i64::from(p))),
            FieldId::FdSport => fd?.server.map(|(_, p)| V::I(i64::from(p))),
            FieldId::FdLport => fd?.local().map(|(_, p)| V::I(i64::from(p))),
            FieldId::FdRport => fd?.remote().map(|(_, p)| V::I(i64::from(p))),
            FieldId::FdL4proto => fd?.l4proto.map(|l| V::S(Cow::Borrowed(l.name()))),
            FieldId::FdSockfamily => match fd?.kind {
                FdKind::Ipv4 | FdKind::Ipv6 => s("ip"),
                FdKind::Unix => s("unix"),
                _ => None,
            },
            FieldId::FdIsServer => {
                let fd = fd?;
                if fd.is_ip() {
                    Some(V::B(fd.is_server))
                } else {
                    None
                }
            }
            FieldId::FdConnected => fd?.connected.map(V::B),
            FieldId::FdNameChanged => fd?.name_changed.map(V::B),
            FieldId::FdCipName => os(fd?.cip_name.as_deref()),
            FieldId::FdSipName => os(fd?.sip_name.as_deref()),
            FieldId::FdLipName => {
                let fd = fd?;
                os(if fd.is_server {
                    fd.sip_name.as_deref()
                } else {
                    fd.cip_name.as_deref()
                })
            }
            FieldId::FdRipName => {
                let fd = fd?;
                os(if fd.is_server {
                    fd.cip_name.as_deref()
                } else {
                    fd.sip_name.as_deref()
                })
            }
            FieldId::FsPathName => os(ev
                .arg("path")
                .or_else(|| ev.arg("name"))
                .or_else(|| ev.arg("pathname"))),
            FieldId::FsPathSource => os(ev.arg("oldpath").or_else(|| ev.arg("target"))),
            FieldId::FsPathTarget => os(ev.arg("newpath").or_else(|| ev.arg("linkpath"))),
            FieldId::ContainerId => match c {
                Some(c) => s(&c.id),
                None => s("host"),
            },
            FieldId::ContainerFullId => match c {
                Some(c) => s(c.full_id.as_deref().unwrap_or(&c.id)),
                None => s("host"),
            },
            FieldId::ContainerName => match c {
                Some(c) => os(c.name.as_deref()),
                None => s("host"),
            },
            FieldId::ContainerImage => os(c?.image.as_deref()),
            FieldId::ContainerImageRepository => os(c?.image_repository.as_deref()),
            FieldId::ContainerImageTag => os(c?.image_tag.as_deref()),
            FieldId::ContainerImageDigest => os(c?.image_digest.as_deref()),
            FieldId::ContainerType => os(c?.runtime.as_deref()),
            FieldId::ContainerPrivileged => c?.privileged.map(V::B),
            FieldId::ContainerStartTs => u(c?.start_ns?),
            FieldId::ContainerDuration => u(ev.time_ns.saturating_sub(c?.start_ns?)),
            FieldId::ContainerInfo => match c {
                Some(c) => Some(V::S(Cow::Owned(format!(
                    "{} (id={})",
                    c.name.as_deref().unwrap_or("<NA>"),
                    c.id
                )))),
                None => s("host (id=host)"),
            },
            FieldId::ContainerImageId => {
                let d = c?.image_digest.as_deref()?;
                s(d.split_once(':').map_or(d, |(_, h)| h))
            }
            FieldId::ContainerMounts => {
                let ms = c?.mounts.as_ref()?;
                let parts: Vec<String> = ms
                    .iter()
                    .map(|m| {
                        format!(
                            "{}:{}:{}:{}:{}",
                            m.source, m.dest, m.mode, m.rw, m.propagation
                        )
                    })
                    .collect();
                Some(V::S(Cow::Owned(parts.join(","))))
            }
            FieldId::ContainerMountDest | FieldId::ContainerMountSource => {
                let FieldArg::Key(key) = &self.arg else {
                    return None;
                };
                let ms = c?.mounts.as_ref()?;
                let by_dest = self.id == FieldId::ContainerMountDest;
                ms.iter()
                    .find(|m| {
                        crate::compile::glob_match(
                            key.as_bytes(),
                            if by_dest {
                                m.dest.as_bytes()
                            } else {
                                m.source.as_bytes()
                            },
                            false,
                        )
                    })
                    .map(|m| {
                        V::S(Cow::Borrowed(if by_dest {
                            m.source.as_str()
                        } else {
                            m.dest.as_str()
                        }))
                    })
            }
            FieldId::K8sNsName => os(k?.namespace.as_deref()),
            FieldId::K8sPodName => os(k?.pod_name.as_deref()),
            FieldId::K8sPodUid | FieldId::K8sPodId => os(k?.pod_uid.as_deref()),
            FieldId::K8sPodLabel => {
                let FieldArg::Key(key) = &self.arg else {
                    return None;
                };
                k?.pod_labels
                    .iter()
                    .find(|(lk, _)| lk == key)
                    .map(|(_, v)| V::S(Cow::Borrowed(v.as_str())))
            }
            FieldId::K8sPodLabels => {
                let parts: Vec<String> = k?
                    .pod_labels
                    .iter()
                    .map(|(a, b)| format!("{a}:{b}"))
                    .collect();
                Some(V::S(Cow::Owned(parts.join(", "))))
            }
            FieldId::K8sContainerName => os(k?.container_name.as_deref()),
        }
    }
}

static FIELD_FALLBACK: FieldInfo = FieldInfo {
    id: FieldId::EvtNum,
    name: "evt.num",
    ty: FieldType::Int,
    arg: ArgSpec::None,
    multi: false,
    desc: "",
};

fn parse_mode(s: &str) -> Option<u32> {
    let t = s.split('(').next().unwrap_or(s).trim();
    if let Some(o) = t.strip_prefix("0o") {
        return u32::from_str_radix(o, 8).ok();
    }
    if let Some(o) = t.strip_prefix('0').filter(|o| !o.is_empty()) {
        return u32::from_str_radix(o, 8).ok();
    }
    t.parse().ok()
}

/// Resolves a field name as written in a condition or output (`proc.aname[2]`, `evt.arg.flags`,
/// `evt.arg[0]`, `proc.env[HOME]`, `k8s.pod.label.app`). `Err` carries Falco's message.
pub fn bind(name: &str, arg: Option<&str>) -> Result<BoundField, String> {
    let nonexistent = || format!("filter_check called with nonexistent field {name}");
    let (info, arg) = match field_info(name) {
        Some(info) => (info, arg.map(str::to_owned)),
        None => {
            // Dotted-argument form: the longest registered prefix taking a key.
            let found = FIELDS
                .iter()
                .filter(|f| matches!(f.arg, ArgSpec::Key | ArgSpec::OptKey))
                .find_map(|f| {
                    name.strip_prefix(f.name)
                        .and_then(|r| r.strip_prefix('.'))
                        .filter(|r| !r.is_empty())
                        .map(|r| (f, r))
                });
            match (found, arg) {
                (Some((f, rest)), None) => (f, Some(rest.to_owned())),
                _ => return Err(nonexistent()),
            }
        }
    };
    let arg = match (info.arg, arg) {
        (ArgSpec::None, None) => FieldArg::None,
        (ArgSpec::None, Some(a)) => {
            return Err(format!(
                "filter_check called with nonexistent field {name}[{a}]"
            ));
        }
        (ArgSpec::OptIndex, None) => FieldArg::None,
        (ArgSpec::OptIndex, Some(a)) => FieldArg::Index(
            a.trim()
                .parse()
                .map_err(|_| format!("wrong index '{a}' for field {name}"))?,
        ),
        (ArgSpec::Key, None) => return Err(format!("field '{name}' requires an argument")),
        (ArgSpec::Key | ArgSpec::OptKey, Some(a)) => {
            if info.id == FieldId::EvtArg {
                match a.parse::<usize>() {
                    Ok(n) => FieldArg::Index(n),
                    Err(_) => FieldArg::Key(a),
                }
            } else {
                FieldArg::Key(a)
            }
        }
        (ArgSpec::OptKey, None) => FieldArg::None,
    };
    Ok(BoundField { id: info.id, arg })
}

impl std::fmt::Display for BoundField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = self.info().name;
        match &self.arg {
            FieldArg::None => f.write_str(name),
            FieldArg::Index(n) => write!(f, "{name}[{n}]"),
            FieldArg::Key(k) if self.id == FieldId::EvtArg => write!(f, "{name}.{k}"),
            FieldArg::Key(k) => write!(f, "{name}[{k}]"),
        }
    }
}
