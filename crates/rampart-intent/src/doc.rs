//! The intent document: what one image's workload runs, writes, reads, listens on, talks to and
//! needs from the kernel, bound to the image's digest (`intent.toml`, format version 1; the
//! format is described in docs/intent.md and its JSON schema is docs/intent.schema.json).
//!
//! Every value is checked as it is read (a path must be absolute and normal, a capability must
//! exist, a CIDR must parse...), so an error carries the line and column of the value at fault;
//! unknown keys are errors. The types below are the validated model: a value of them is valid.

use ipnet::IpNet;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// The format version this rampart reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// Largest document read (an intent is a page of text; anything larger is refused).
pub const MAX_DOCUMENT_BYTES: u64 = 1 << 20;

/// Most entries in any one list (executables, paths, peers, syscalls...).
pub const MAX_LIST: usize = 4096;

/// Why a document could not be used.
#[derive(Debug, thiserror::Error)]
pub enum IntentError {
    /// The file could not be read.
    #[error("{path}: {cause}")]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    /// The file is larger than [`MAX_DOCUMENT_BYTES`].
    #[error("{path}: {size} bytes, more than the {MAX_DOCUMENT_BYTES}-byte limit of an intent")]
    TooLarge { path: PathBuf, size: u64 },
    /// Not TOML, an unknown or mistyped key, or an invalid value, at a position (line 0: the
    /// problem is the document as a whole).
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        path: PathBuf,
        line: u32,
        column: u32,
        message: String,
    },
}

/// One intent: the workload of one image.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[schemars(title = "rampart intent", extend("$id" = "https://rampart.dev/schemas/intent-v1.json"))]
pub struct Intent {
    /// The format's version; this rampart reads version 1.
    #[schemars(range(min = 1, max = 1))]
    pub version: u32,
    /// The image this intent is for, by digest: `registry/repository[:tag]@sha256:<64 hex>`.
    /// Every compiled artefact names this digest.
    pub image: ImageDigest,
    /// A short name for the workload, used to name the compiled objects (a DNS label; default:
    /// the repository's last component).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<DnsLabel>,
    /// What runs, as whom.
    pub process: Process,
    /// What the workload may write and must never read.
    #[serde(default)]
    pub files: Files,
    /// What it listens on and whom it talks to.
    #[serde(default)]
    pub network: Network,
    /// What it needs from the kernel.
    #[serde(default)]
    pub kernel: Kernel,
    /// The sandbox runtime it must run under, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<Runtime>,
    /// What the monitor does when the workload steps outside the intent.
    #[serde(default)]
    pub answers: Answers,
}

/// The process section.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Process {
    /// The user id the workload runs as (0 is root: allowed, but no layer can then require a
    /// non-root user).
    pub user: u32,
    /// The group id (default: the user id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<u32>,
    /// Whether the process and its children may never gain privileges (setuid binaries, file
    /// capabilities). Default true.
    #[serde(default = "yes")]
    pub no_new_privileges: bool,
    /// The executables the workload may run (the entrypoint and everything it starts). At
    /// least one.
    #[schemars(length(min = 1))]
    pub executables: Vec<Executable>,
}

impl Process {
    /// The group id: the one given, else the user id.
    pub fn gid(&self) -> u32 {
        self.group.unwrap_or(self.user)
    }
}

/// An executable the workload may run.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Executable {
    /// Its absolute path inside the container.
    pub path: AbsPath,
    /// The arguments it may be given (after argv[0]), one pattern per argument: `*` matches any
    /// characters, `?` one; a last pattern `**` matches any remaining arguments. Absent: any
    /// arguments. The monitor checks them on the space-joined argument string, as Falco's
    /// `proc.args`; the kernel enforcement checks only the path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<ArgPattern>>,
}

/// The files section.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Files {
    /// Whether the root filesystem is mounted read-only. Default true.
    #[serde(default = "yes")]
    pub read_only_root: bool,
    /// Paths the workload may write beneath (directories) or to (files): create, modify,
    /// remove, rename.
    #[serde(default)]
    pub writable: Vec<AbsPath>,
    /// Paths (files, or directories and everything beneath) the workload must never read.
    #[serde(default)]
    pub never_read: Vec<AbsPath>,
}

impl Default for Files {
    fn default() -> Self {
        Files {
            read_only_root: true,
            writable: Vec::new(),
            never_read: Vec::new(),
        }
    }
}

/// The network section.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Network {
    /// The ports the workload listens on, and who may connect to each.
    #[serde(default)]
    pub listen: Vec<Listen>,
    /// The destinations the workload may connect to.
    #[serde(default)]
    pub egress: Vec<Egress>,
    /// Whether the workload resolves names through the cluster DNS (UDP and TCP port 53 to
    /// kube-system's DNS pods). Default true.
    #[serde(default = "yes")]
    pub cluster_dns: bool,
}

impl Default for Network {
    fn default() -> Self {
        Network {
            listen: Vec::new(),
            egress: Vec::new(),
            cluster_dns: true,
        }
    }
}

/// A listening port.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Listen {
    /// The port number.
    pub port: PortNumber,
    /// The protocol. Default TCP.
    #[serde(default)]
    pub protocol: Protocol,
    /// Who may connect. Absent: any source. An empty list is refused (leave `from` out to
    /// allow every source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub from: Option<Vec<Peer>>,
}

/// A protocol of the transport layer.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    Deserialize,
    Serialize,
    JsonSchema,
)]
pub enum Protocol {
    #[default]
    #[serde(rename = "TCP")]
    Tcp,
    #[serde(rename = "UDP")]
    Udp,
    #[serde(rename = "SCTP")]
    Sctp,
}

impl Protocol {
    /// The name Kubernetes uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
        }
    }
}

/// Pods, namespaces or addresses on the other side of a connection: either `cidr` (with
/// `except`), or `pods` and/or `namespaces` label selectors (`pods` alone: the pods of the
/// workload's own namespace; `namespaces` alone: every pod of those namespaces).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(try_from = "PeerDoc", into = "PeerDoc")]
#[schemars(with = "PeerDoc")]
pub enum Peer {
    /// An address block, without the `except` blocks inside it.
    Cidr { cidr: IpNet, except: Vec<IpNet> },
    /// Pods by labels, in namespaces by labels.
    Pods {
        pods: Option<Labels>,
        namespaces: Option<Labels>,
    },
}

/// A peer as written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PeerDoc {
    /// An IPv4 or IPv6 block (`10.0.0.0/8`, `2001:db8::/32`); a bare address is a /32 or /128.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub cidr: Option<IpNet>,
    /// Blocks inside `cidr` that are excluded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(with = "Vec<String>")]
    pub except: Vec<IpNet>,
    /// Pod labels (all must match).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pods: Option<Labels>,
    /// Namespace labels (all must match; `kubernetes.io/metadata.name` names one namespace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespaces: Option<Labels>,
}

impl TryFrom<PeerDoc> for Peer {
    type Error = String;
    fn try_from(d: PeerDoc) -> Result<Peer, String> {
        match (d.cidr, d.pods.is_some() || d.namespaces.is_some()) {
            (Some(_), true) => {
                Err("a peer is either `cidr` or `pods`/`namespaces`, not both".into())
            }
            (None, false) => Err("a peer needs `cidr`, or `pods` and/or `namespaces`".into()),
            (None, true) if !d.except.is_empty() => Err("`except` goes with `cidr`".into()),
            (None, true) => Ok(Peer::Pods {
                pods: d.pods,
                namespaces: d.namespaces,
            }),
            (Some(cidr), false) => Ok(Peer::Cidr {
                cidr: cidr.trunc(),
                except: check_except(cidr, d.except)?,
            }),
        }
    }
}

impl From<Peer> for PeerDoc {
    fn from(p: Peer) -> PeerDoc {
        match p {
            Peer::Cidr { cidr, except } => PeerDoc {
                cidr: Some(cidr),
                except,
                pods: None,
                namespaces: None,
            },
            Peer::Pods { pods, namespaces } => PeerDoc {
                cidr: None,
                except: Vec::new(),
                pods,
                namespaces,
            },
        }
    }
}

fn check_except(cidr: IpNet, except: Vec<IpNet>) -> Result<Vec<IpNet>, String> {
    let cidr = cidr.trunc();
    let mut out = Vec::with_capacity(except.len());
    for e in except {
        let e = e.trunc();
        if !cidr.contains(&e) || e == cidr {
            return Err(format!(
                "`except` block {e} is not strictly inside {cidr} (as NetworkPolicy requires)"
            ));
        }
        out.push(e);
    }
    Ok(out)
}

/// A destination the workload may connect to: exactly one of `cidr` (with `except`), `dns`, or
/// `pods`/`namespaces`, with the ports (none: every port) and the protocol.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(try_from = "EgressDoc", into = "EgressDoc")]
#[schemars(with = "EgressDoc")]
pub struct Egress {
    /// Where.
    pub to: Destination,
    /// Which ports (empty: all).
    pub ports: Vec<PortRange>,
    /// Which protocol.
    pub protocol: Protocol,
}

/// Where an egress goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// Addresses.
    Peer(Peer),
    /// A DNS name (`api.example.com`, or `*.example.com` for its subdomains).
    Dns(DnsName),
}

/// An egress as written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct EgressDoc {
    /// An IPv4 or IPv6 block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub cidr: Option<IpNet>,
    /// Blocks inside `cidr` that are excluded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(with = "Vec<String>")]
    pub except: Vec<IpNet>,
    /// A DNS name, or `*.domain` for its subdomains. NetworkPolicy v1 cannot name hosts: the
    /// compiled policy allows the ports to any address and says so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns: Option<DnsName>,
    /// Pod labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pods: Option<Labels>,
    /// Namespace labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespaces: Option<Labels>,
    /// Ports: numbers or `"first-last"` ranges. Absent or empty: every port.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<PortRange>,
    /// Default TCP.
    #[serde(default)]
    pub protocol: Protocol,
}

impl TryFrom<EgressDoc> for Egress {
    type Error = String;
    fn try_from(d: EgressDoc) -> Result<Egress, String> {
        let to = match (
            d.dns,
            d.cidr.is_some(),
            d.pods.is_some() || d.namespaces.is_some(),
        ) {
            (Some(dns), false, false) if d.except.is_empty() => Destination::Dns(dns),
            (Some(_), false, false) => return Err("`except` goes with `cidr`".into()),
            (None, _, _) => Destination::Peer(Peer::try_from(PeerDoc {
                cidr: d.cidr,
                except: d.except,
                pods: d.pods,
                namespaces: d.namespaces,
            })?),
            (Some(_), _, _) => {
                return Err(
                    "an egress is one of `cidr`, `dns` or `pods`/`namespaces`, not several".into(),
                );
            }
        };
        Ok(Egress {
            to,
            ports: d.ports,
            protocol: d.protocol,
        })
    }
}

impl From<Egress> for EgressDoc {
    fn from(e: Egress) -> EgressDoc {
        let (peer, dns) = match e.to {
            Destination::Peer(p) => (PeerDoc::from(p), None),
            Destination::Dns(d) => (
                PeerDoc {
                    cidr: None,
                    except: Vec::new(),
                    pods: None,
                    namespaces: None,
                },
                Some(d),
            ),
        };
        EgressDoc {
            cidr: peer.cidr,
            except: peer.except,
            dns,
            pods: peer.pods,
            namespaces: peer.namespaces,
            ports: e.ports,
            protocol: e.protocol,
        }
    }
}

/// The kernel section.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Kernel {
    /// The system calls the workload makes (names; every other one fails with EPERM). Give
    /// this or `seccomp`; neither: the runtime's default profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub syscalls: Option<Vec<Syscall>>,
    /// A seccomp profile (OCI or Docker JSON, as `rampart seccomp record` writes), relative
    /// to the intent file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seccomp: Option<RelPath>,
    /// The capabilities the workload needs (`NET_BIND_SERVICE` or `CAP_NET_BIND_SERVICE`);
    /// every other one is dropped.
    #[serde(default)]
    pub capabilities: Vec<Capability>,
}

/// The runtime section.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Runtime {
    /// The RuntimeClass the pod must use (`gvisor`, `kata`...).
    pub class: DnsLabel,
}

/// What the monitor does when the workload steps outside its intent, per kind of step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Answers {
    /// An executable outside the list. Default kill-process.
    #[serde(default = "kill")]
    pub exec: Answer,
    /// A write outside the writable paths. Default alert.
    #[serde(default)]
    pub write: Answer,
    /// A read of a never-read path. Default kill-process.
    #[serde(default = "kill")]
    pub read: Answer,
    /// A connection outside the egress list. Default alert.
    #[serde(default)]
    pub connect: Answer,
}

impl Default for Answers {
    fn default() -> Self {
        Answers {
            exec: Answer::KillProcess,
            write: Answer::Alert,
            read: Answer::KillProcess,
            connect: Answer::Alert,
        }
    }
}

/// An answer of the monitor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Answer {
    /// Report it.
    #[default]
    Alert,
    /// Kill the offending process.
    KillProcess,
    /// Kill the whole container.
    KillContainer,
}

impl Answer {
    /// The name `monitor.toml` uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Answer::Alert => "alert",
            Answer::KillProcess => "kill-process",
            Answer::KillContainer => "kill-container",
        }
    }
}

fn yes() -> bool {
    true
}

fn kill() -> Answer {
    Answer::KillProcess
}

// ---- validated scalars: each is checked as it is deserialised, so errors carry the value's
// position.

/// Adapts a check of a `&str` to the owned form the newtypes take.
macro_rules! owned {
    ($f:path) => {
        |s: String| $f(&s).map(|()| s)
    };
}

macro_rules! string_newtype {
    ($(#[$m:meta])* $name:ident, $check:expr, $desc:literal) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The validated text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                ($check)(s).map($name)
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                Self::try_from(s.to_owned())
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }
            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({ "type": "string", "description": $desc })
            }
        }
    };
}

string_newtype!(
    /// An image reference with a `sha256` digest.
    ImageDigest,
    owned!(check_image),
    "An image reference with its digest: [registry/]repository[:tag]@sha256:<64 lowercase hex>"
);
string_newtype!(
    /// An absolute, normal path (no `.`/`..` components, no doubled or trailing `/`).
    AbsPath,
    owned!(check_abs_path),
    "An absolute normal path: starts with /, no . or .. components, no // or trailing /, no quote, backslash or control character"
);
string_newtype!(
    /// A relative path to a file next to the intent.
    RelPath,
    owned!(check_rel_path),
    "A path relative to the intent file"
);
string_newtype!(
    /// A DNS-1123 label (Kubernetes object names, RuntimeClass names).
    DnsLabel,
    owned!(check_dns_label),
    "A DNS-1123 label: lowercase letters, digits and -, at most 63, starting and ending alphanumeric"
);
string_newtype!(
    /// A host name, or `*.domain`.
    DnsName,
    owned!(check_dns_name),
    "A DNS name (RFC 1123), or *.domain for every subdomain"
);
string_newtype!(
    /// One argument pattern.
    ArgPattern,
    owned!(check_arg),
    "An argument pattern: * any characters, ? one; ** as the last pattern: any remaining arguments"
);
string_newtype!(
    /// A system call name of any architecture rampart knows.
    Syscall,
    owned!(check_syscall),
    "A system call name (read, openat...)"
);
string_newtype!(
    /// A Linux capability, stored without the `CAP_` prefix, upper case.
    Capability,
    normalise_capability,
    "A Linux capability: NET_BIND_SERVICE or CAP_NET_BIND_SERVICE"
);

impl ImageDigest {
    /// The `sha256:<hex>` digest.
    pub fn digest(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, d)| d)
    }

    /// The reference without the digest (`registry/repository[:tag]`).
    pub fn name(&self) -> &str {
        self.0.rsplit_once('@').map_or(self.0.as_str(), |(n, _)| n)
    }

    /// The repository without tag or digest (`registry/repository`).
    pub fn repository(&self) -> &str {
        let name = self.name();
        let last_slash = name.rfind('/').map_or(0, |i| i + 1);
        match name.get(last_slash..).and_then(|l| l.rfind(':')) {
            Some(i) => name.get(..last_slash + i).unwrap_or(name),
            None => name,
        }
    }
}

impl AbsPath {
    /// As a path.
    pub fn as_path(&self) -> &Path {
        Path::new(&self.0)
    }

    /// Whether `other` is this path or beneath it.
    pub fn covers(&self, other: &str) -> bool {
        self.0 == "/"
            || other == self.0
            || other
                .strip_prefix(self.0.as_str())
                .is_some_and(|rest| rest.starts_with('/'))
    }
}

impl Capability {
    /// `CAP_NET_BIND_SERVICE`, as OCI runtimes name it.
    pub fn oci(&self) -> String {
        format!("CAP_{}", self.0)
    }
}

fn check_image(s: &str) -> Result<(), String> {
    let r = rampart_core::ImageRef::try_parse(s).map_err(|e| e.to_string())?;
    let Some(d) = r.digest else {
        return Err(format!(
            "`{s}` has no digest: an intent is bound to one image, `repository@sha256:<64 hex>`"
        ));
    };
    match d.strip_prefix("sha256:") {
        Some(hex)
            if hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) =>
        {
            Ok(())
        }
        _ => Err(format!(
            "`{d}` is not a sha256 digest (sha256:<64 lowercase hex>)"
        )),
    }
}

/// Characters a path or pattern may not hold: they would need escaping in the generated
/// rules, policies and profiles, and no real image path has them.
fn bad_char(c: char) -> bool {
    c.is_control() || c == '"' || c == '\\'
}

fn check_abs_path(s: &str) -> Result<(), String> {
    if !s.starts_with('/') {
        return Err(format!("`{s}` is not an absolute path"));
    }
    if s.len() > 4096 {
        return Err("path longer than 4096 bytes".into());
    }
    if let Some(c) = s.chars().find(|c| bad_char(*c)) {
        return Err(format!(
            "path {s:?} holds {c:?}: quotes, backslashes and control characters are not allowed"
        ));
    }
    if s != "/" && (s.ends_with('/') || s.contains("//")) {
        return Err(format!("`{s}` is not normal: no doubled or trailing `/`"));
    }
    if s.split('/').any(|c| c == "." || c == "..") {
        return Err(format!("`{s}` is not normal: no `.` or `..` components"));
    }
    if s.contains(['*', '?', '[']) {
        return Err(format!(
            "`{s}`: paths are literal (no `*`, `?` or `[`); a directory covers everything beneath it"
        ));
    }
    Ok(())
}

fn check_rel_path(s: &str) -> Result<(), String> {
    if s.is_empty() || s.chars().any(char::is_control) {
        return Err("empty path, or a control character in it".into());
    }
    if s.starts_with('/') {
        return Err(format!("`{s}` must be relative to the intent file"));
    }
    Ok(())
}

fn check_dns_label(s: &str) -> Result<(), String> {
    let ok = !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{s}` is not a DNS-1123 label (lowercase letters, digits and `-`, at most 63, alphanumeric at both ends)"
        ))
    }
}

fn check_dns_name(s: &str) -> Result<(), String> {
    let host = s.strip_prefix("*.").unwrap_or(s);
    let ok = !host.is_empty()
        && s.len() <= 253
        && host.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{s}` is not a DNS name (RFC 1123), or `*.` and one"
        ))
    }
}

fn check_arg(s: &str) -> Result<(), String> {
    if let Some(c) = s.chars().find(|c| bad_char(*c)) {
        return Err(format!("argument pattern {s:?} holds {c:?}"));
    }
    if s.len() > 4096 {
        return Err("argument pattern longer than 4096 bytes".into());
    }
    Ok(())
}

fn check_syscall(s: &str) -> Result<(), String> {
    if rampart_seccomp::profile::is_known_syscall(s) {
        Ok(())
    } else {
        Err(format!("`{s}` is not a system call name"))
    }
}

/// Whether `name` (without `CAP_`) is a Linux capability (rampart-falco's table, `capability.h`).
fn is_capability(name: &str) -> bool {
    rampart_falco::event::CAP_NAMES
        .iter()
        .any(|c| c.strip_prefix("CAP_") == Some(name))
}

/// `CAP_X` and `X` are the same capability; the model keeps `X`.
fn normalise_capability(s: String) -> Result<String, String> {
    let bare = s.strip_prefix("CAP_").unwrap_or(&s).to_owned();
    check_capability(&bare).map(|()| bare)
}

fn check_capability(s: &str) -> Result<(), String> {
    if is_capability(s) {
        Ok(())
    } else if s.starts_with("CAP_") || !is_capability(&s.to_ascii_uppercase()) {
        Err(format!("`{s}` is not a Linux capability"))
    } else {
        Err(format!(
            "`{s}`: capabilities are written in upper case (`{}`)",
            s.to_ascii_uppercase()
        ))
    }
}

/// Kubernetes labels (all must match), as a `matchLabels` map.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct Labels(pub BTreeMap<String, String>);

impl<'de> Deserialize<'de> for Labels {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = BTreeMap::<String, String>::deserialize(d)?;
        for (k, v) in &map {
            check_label_key(k).map_err(serde::de::Error::custom)?;
            check_label_value(v).map_err(serde::de::Error::custom)?;
        }
        Ok(Labels(map))
    }
}

fn check_label_key(k: &str) -> Result<(), String> {
    let (prefix, name) = match k.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, k),
    };
    let name_ok = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    let prefix_ok =
        prefix.is_none_or(|p| p.len() <= 253 && p.split('.').all(|l| check_dns_label(l).is_ok()));
    if name_ok && prefix_ok {
        Ok(())
    } else {
        Err(format!("`{k}` is not a Kubernetes label key"))
    }
}

fn check_label_value(v: &str) -> Result<(), String> {
    let ok = v.is_empty()
        || (v.len() <= 63
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            && v.starts_with(|c: char| c.is_ascii_alphanumeric())
            && v.ends_with(|c: char| c.is_ascii_alphanumeric()));
    if ok {
        Ok(())
    } else {
        Err(format!("`{v}` is not a Kubernetes label value"))
    }
}

/// A port number, 1 to 65535.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct PortNumber(#[schemars(range(min = 1, max = 65535))] pub u16);

impl<'de> Deserialize<'de> for PortNumber {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = i64::deserialize(d)?;
        match u16::try_from(n) {
            Ok(p) if p > 0 => Ok(PortNumber(p)),
            _ => Err(serde::de::Error::custom(format!(
                "port {n} is out of range (1 to 65535)"
            ))),
        }
    }
}

/// Ports `first..=last` (one port: `first == last`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PortRange {
    pub first: u16,
    pub last: u16,
}

impl PortRange {
    /// Whether `port` is in the range.
    pub fn contains(&self, port: u16) -> bool {
        (self.first..=self.last).contains(&port)
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last {
            write!(f, "{}", self.first)
        } else {
            write!(f, "{}-{}", self.first, self.last)
        }
    }
}

impl Serialize for PortRange {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.first == self.last {
            s.serialize_u16(self.first)
        } else {
            s.serialize_str(&self.to_string())
        }
    }
}

impl<'de> Deserialize<'de> for PortRange {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Num(i64),
            Text(String),
        }
        let port = |n: i64| match u16::try_from(n) {
            Ok(p) if p > 0 => Ok(p),
            _ => Err(format!("port {n} is out of range (1 to 65535)")),
        };
        let r = match Raw::deserialize(d)? {
            Raw::Num(n) => port(n).map(|p| PortRange { first: p, last: p }),
            Raw::Text(t) => match t.split_once('-') {
                Some((a, b)) => match (a.trim().parse::<i64>(), b.trim().parse::<i64>()) {
                    (Ok(a), Ok(b)) => port(a).and_then(|a| {
                        port(b).and_then(|b| {
                            if a <= b {
                                Ok(PortRange { first: a, last: b })
                            } else {
                                Err(format!("port range `{t}` ends before it starts"))
                            }
                        })
                    }),
                    _ => Err(format!("`{t}` is not a port range (`first-last`)")),
                },
                None => Err(format!(
                    "`{t}`: a port is a number, a range is `\"first-last\"`"
                )),
            },
        };
        r.map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for PortRange {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "PortRange".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A port (1 to 65535) or a range \"first-last\"",
            "oneOf": [
                { "type": "integer", "minimum": 1, "maximum": 65535 },
                { "type": "string", "pattern": "^[0-9]{1,5}-[0-9]{1,5}$" }
            ]
        })
    }
}

impl Intent {
    /// Reads and validates an intent file.
    pub fn load(path: &Path) -> Result<Intent, IntentError> {
        let io = |cause| IntentError::Io {
            path: path.to_owned(),
            cause,
        };
        let size = std::fs::metadata(path).map_err(io)?.len();
        if size > MAX_DOCUMENT_BYTES {
            return Err(IntentError::TooLarge {
                path: path.to_owned(),
                size,
            });
        }
        let bytes = std::fs::read(path).map_err(io)?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let (line, column) = rampart_core::text::line_col(
                &String::from_utf8_lossy(e.as_bytes()),
                e.utf8_error().valid_up_to(),
            );
            IntentError::Invalid {
                path: path.to_owned(),
                line,
                column,
                message: "invalid UTF-8".into(),
            }
        })?;
        Intent::parse(&text, path)
    }

    /// Parses and validates the text of an intent read from `path` (named in errors).
    pub fn parse(text: &str, path: &Path) -> Result<Intent, IntentError> {
        let at = |offset: Option<usize>, message: String| {
            let (line, column) = offset.map_or((0, 0), |o| rampart_core::text::line_col(text, o));
            IntentError::Invalid {
                path: path.to_owned(),
                line,
                column,
                message,
            }
        };
        if text.trim_start().starts_with('{') {
            return Intent::parse_json(text, path);
        }
        // The version first, so that a document of another version gets that error, not one
        // about a key this version does not know.
        if let Ok(table) = text.parse::<toml::Table>() {
            match table.get("version") {
                Some(toml::Value::Integer(v)) if *v == i64::from(FORMAT_VERSION) => {}
                Some(v) => {
                    let offset = text.find("version");
                    return Err(at(
                        offset,
                        format!(
                            "intent version {v} is not supported: this rampart reads version {FORMAT_VERSION}"
                        ),
                    ));
                }
                None => {
                    return Err(at(
                        Some(0),
                        format!(
                            "missing `version = {FORMAT_VERSION}` (the intent format's version)"
                        ),
                    ));
                }
            }
        }
        let intent: Intent = toml::from_str(text)
            .map_err(|e| at(e.span().map(|s| s.start), e.message().trim_end().to_owned()))?;
        intent.check().map_err(|m| at(None, m))?;
        Ok(intent)
    }

    /// The JSON form (an attestation's predicate, as `verify-attestation --output-predicate`
    /// writes it): the same model and checks; positions from the JSON reader.
    fn parse_json(text: &str, path: &Path) -> Result<Intent, IntentError> {
        let invalid = |line: usize, column: usize, message: String| IntentError::Invalid {
            path: path.to_owned(),
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(column).unwrap_or(u32::MAX),
            message,
        };
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(text) {
            match v.get("version") {
                Some(n) if n.as_u64() == Some(u64::from(FORMAT_VERSION)) => {}
                Some(n) => {
                    return Err(invalid(
                        0,
                        0,
                        format!(
                            "intent version {n} is not supported: this rampart reads version {FORMAT_VERSION}"
                        ),
                    ));
                }
                None => {
                    return Err(invalid(
                        1,
                        1,
                        format!(
                            "missing `\"version\": {FORMAT_VERSION}` (the intent format's version)"
                        ),
                    ));
                }
            }
        }
        let intent: Intent = serde_json::from_str(text).map_err(|e| {
            // serde_json ends its message with the position, which the error carries apart
            let m = e.to_string();
            let m = m
                .rsplit_once(" at line ")
                .map_or(m.as_str(), |(m, _)| m)
                .to_owned();
            invalid(e.line(), e.column(), m)
        })?;
        intent.check().map_err(|m| invalid(0, 0, m))?;
        Ok(intent)
    }

    /// Checks across fields and sizes.
    fn check(&self) -> Result<(), String> {
        let lists = [
            ("process.executables", self.process.executables.len()),
            ("files.writable", self.files.writable.len()),
            ("files.never-read", self.files.never_read.len()),
            ("network.listen", self.network.listen.len()),
            ("network.egress", self.network.egress.len()),
            (
                "kernel.syscalls",
                self.kernel.syscalls.as_ref().map_or(0, Vec::len),
            ),
            ("kernel.capabilities", self.kernel.capabilities.len()),
        ];
        for (name, n) in lists {
            if n > MAX_LIST {
                return Err(format!("`{name}` has {n} entries, more than {MAX_LIST}"));
            }
        }
        if self.process.executables.is_empty() {
            return Err("`process.executables` is empty: name at least the entrypoint".into());
        }
        if self.kernel.syscalls.is_some() && self.kernel.seccomp.is_some() {
            return Err("`kernel`: give `syscalls` or `seccomp`, not both".into());
        }
        for l in &self.network.listen {
            if l.from.as_ref().is_some_and(Vec::is_empty) {
                return Err(format!(
                    "`network.listen` port {}: `from = []` admits nobody; leave `from` out to admit every source",
                    l.port.0
                ));
            }
        }
        for r in &self.files.never_read {
            if let Some(w) = self.files.writable.iter().find(|w| w.covers(r.as_str())) {
                return Err(format!(
                    "`{r}` is both never-read and beneath the writable `{w}`: a writer could replace it"
                ));
            }
        }
        Ok(())
    }

    /// The workload's name: `name`, else the repository's last component made a DNS label.
    pub fn workload_name(&self) -> String {
        if let Some(n) = &self.name {
            return n.as_str().to_owned();
        }
        let repo = self.image.repository();
        let last = repo.rsplit('/').next().unwrap_or(repo);
        let mut s: String = last
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        s.truncate(63);
        let s = s.trim_matches('-').to_owned();
        if s.is_empty() { "workload".into() } else { s }
    }

    /// The document as TOML (what `rampart intent learn` writes).
    pub fn to_toml(&self) -> Result<String, toml::ser::Error> {
        toml::to_string(self)
    }
}
