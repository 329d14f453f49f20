//! Facts about an image that are not packages: who it runs as, what an attacker would find in
//! it (shells, package managers, compilers, network tools), setuid/setgid and world-writable
//! entries, secrets in files, environment and history, and its operating system.

use std::collections::BTreeMap;

use rampart_image::{AnomalyKind, EntryKind, EntryMeta, Filesystem, ImageConfig};
use rampart_sbom::Distro;
use serde::Serialize;

use crate::eol::{self, Eol};

/// Directories searched for tools, as `PATH` would.
const BIN_DIRS: [&str; 6] = [
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];

/// Interactive shells and shell providers.
pub const SHELLS: [&str; 11] = [
    "sh", "bash", "dash", "ash", "zsh", "ksh", "mksh", "csh", "tcsh", "fish", "busybox",
];
/// Package managers (OS and language).
pub const PACKAGE_MANAGERS: [&str; 19] = [
    "apt", "apt-get", "dpkg", "apk", "yum", "dnf", "microdnf", "rpm", "zypper", "pacman", "pip",
    "pip3", "npm", "yarn", "pnpm", "gem", "composer", "conda", "tdnf",
];
/// Compilers and build tools.
pub const BUILD_TOOLS: [&str; 14] = [
    "gcc", "g++", "cc", "c++", "clang", "clang++", "tcc", "make", "cmake", "go", "rustc", "cargo",
    "javac", "gfortran",
];
/// Tools that fetch or move data over the network (what an intruder uses next).
pub const NETWORK_TOOLS: [&str; 10] = [
    "curl", "wget", "nc", "ncat", "netcat", "socat", "ssh", "scp", "telnet", "ftp",
];

/// How much of a general-purpose system an image carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Minimality {
    /// no shell and no package manager: distroless
    Distroless,
    /// a shell but no package manager
    ShellOnly,
    /// a package manager: a general-purpose distribution
    Full,
}

impl Minimality {
    /// The name in reports (as serialized).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Distroless => "distroless",
            Self::ShellOnly => "shell-only",
            Self::Full => "full",
        }
    }

    /// For people.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Distroless => "distroless (no shell, no package manager)",
            Self::ShellOnly => "minimal (a shell, no package manager)",
            Self::Full => "full distribution (package manager present)",
        }
    }
}

/// The user the image runs as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserFact {
    /// `USER` as configured (`""` when unset)
    pub configured: String,
    /// the numeric uid, when it is numeric or found in `/etc/passwd`
    pub uid: Option<u64>,
    /// the user name, when known
    pub name: Option<String>,
    /// whether it is root (uid 0)
    pub root: bool,
    /// a user name that `/etc/passwd` does not know (the runtime cannot start the container)
    pub unknown_name: bool,
}

/// The operating system and its support status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OsFact {
    /// `ID` from os-release
    pub id: String,
    /// `VERSION_ID`
    pub version_id: Option<String>,
    /// `PRETTY_NAME`
    pub pretty_name: Option<String>,
    /// end of security support, when known
    pub eol: Option<Eol>,
}

/// A setuid or setgid file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SetidFile {
    pub path: String,
    /// permission bits, e.g. `4755`
    pub mode: String,
    pub uid: u64,
    pub setuid: bool,
    pub setgid: bool,
    pub layer: usize,
}

/// A world-writable file, or directory without the sticky bit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WritableEntry {
    pub path: String,
    pub kind: EntryKind,
    pub mode: String,
    pub layer: usize,
}

/// Where a secret was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SecretSource {
    /// a file of the image
    File,
    /// the configured environment (`ENV`)
    Env,
    /// the build history (`RUN` commands, build arguments)
    History,
}

/// One secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretFact {
    pub source: SecretSource,
    /// file path, `ENV NAME`, or `history[3]`
    pub place: String,
    /// 1-based line and column in the file (0 for env/history)
    pub line: u32,
    pub column: u32,
    /// what it is ("a private key")
    pub kind: String,
    /// an excerpt that never shows the secret
    pub redacted: String,
    /// the layer holding the file
    pub layer: Option<usize>,
    /// why this is a test fixture rather than a secret of the image (a test-data directory or
    /// test file of a runtime or package); such secrets are reported at low severity
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixture: Option<String>,
}

/// Hostile or broken layer entries that were contained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnomalyFact {
    pub kind: AnomalyKind,
    pub count: usize,
    /// a few examples (path as written, layer)
    pub examples: Vec<(String, usize)>,
}

/// Everything the image layer's rules look at, besides packages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageFacts {
    pub os: Option<OsFact>,
    pub user: UserFact,
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub working_dir: String,
    pub exposed_ports: Vec<String>,
    pub shells: Vec<String>,
    pub package_managers: Vec<String>,
    pub build_tools: Vec<String>,
    pub network_tools: Vec<String>,
    pub minimality: Minimality,
    pub setid: Vec<SetidFile>,
    pub world_writable: Vec<WritableEntry>,
    pub secrets: Vec<SecretFact>,
    pub anomalies: Vec<AnomalyFact>,
    /// entries in the squashed filesystem
    pub entries: usize,
    /// bytes of regular files
    pub bytes: u64,
}

/// Inputs to [`ImageFacts::compute`].
pub(crate) struct FactInputs<'a> {
    pub fs: &'a Filesystem,
    pub config: Option<&'a ImageConfig>,
    pub os_release: Option<&'a [u8]>,
    pub distro: Option<&'a Distro>,
    pub passwd: Option<&'a [u8]>,
    pub file_secrets: Vec<SecretFact>,
    pub today: jiff::civil::Date,
}

/// Finds the tools of `names` in the `PATH` directories: the first path found for each name,
/// following symlinks inside the image (a dangling link is not a tool).
fn tools(fs: &Filesystem, names: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for name in names {
        for dir in BIN_DIRS {
            let path = format!("{dir}/{name}");
            let Some(entry) = fs.get(&path) else { continue };
            let usable = match entry.kind {
                EntryKind::File | EntryKind::Hardlink => true,
                EntryKind::Symlink => matches!(
                    fs.lookup(&path),
                    Ok(Some((_, m))) if m.kind == EntryKind::File || m.kind == EntryKind::Hardlink
                ),
                _ => false,
            };
            if usable {
                out.push(path);
                break;
            }
        }
    }
    out
}

/// Parses `/etc/passwd` into name -> uid.
fn passwd_users(content: &[u8]) -> BTreeMap<String, u64> {
    String::from_utf8_lossy(content)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?.trim();
            let uid = f.nth(1)?.trim().parse().ok()?;
            (!name.is_empty()).then(|| (name.to_owned(), uid))
        })
        .collect()
}

fn user_fact(config: Option<&ImageConfig>, passwd: Option<&[u8]>) -> UserFact {
    let configured = config.map(|c| c.config.user.clone()).unwrap_or_default();
    let user = configured.split(':').next().unwrap_or("").trim();
    let users = passwd.map(passwd_users).unwrap_or_default();
    if user.is_empty() {
        return UserFact {
            configured,
            uid: Some(0),
            name: Some(String::from("root")),
            root: true,
            unknown_name: false,
        };
    }
    if let Ok(uid) = user.parse::<u64>() {
        let name = users
            .iter()
            .find(|(_, u)| **u == uid)
            .map(|(n, _)| n.clone());
        return UserFact {
            configured: configured.clone(),
            uid: Some(uid),
            name,
            root: uid == 0,
            unknown_name: false,
        };
    }
    let uid = users.get(user).copied();
    UserFact {
        configured: configured.clone(),
        uid,
        name: Some(user.to_owned()),
        root: uid == Some(0) || (uid.is_none() && user == "root"),
        unknown_name: uid.is_none() && passwd.is_some() && user != "root",
    }
}

/// Secrets in the configured environment: secret-named variables with a value that is neither
/// empty nor a reference, and values in a credential format.
fn env_secrets(config: &ImageConfig) -> Vec<SecretFact> {
    let mut out = Vec::new();
    for var in &config.config.env {
        let Some((name, value)) = var.split_once('=') else {
            continue;
        };
        let kind = rampart_secrets::credential_kind(value)
            .map(str::to_owned)
            .or_else(|| {
                (rampart_secrets::secret_name(name)
                    && !value.is_empty()
                    && !value.starts_with('$')
                    && value.len() >= 6)
                    .then(|| String::from("a secret-named variable with a value"))
            });
        if let Some(kind) = kind {
            out.push(SecretFact {
                source: SecretSource::Env,
                place: format!("ENV {name}"),
                line: 0,
                column: 0,
                kind,
                redacted: rampart_secrets::redact(value),
                layer: None,
                fixture: None,
            });
        }
    }
    out
}

/// Secrets in the build history: credentials in commands, and build arguments with secret
/// names (`|2 NPM_TOKEN=... /bin/sh -c ...` is how BuildKit records `ARG`s used by a `RUN`).
fn history_secrets(config: &ImageConfig) -> Vec<SecretFact> {
    let mut out = Vec::new();
    for (i, step) in config.history.iter().enumerate() {
        let text = &step.created_by;
        for hit in rampart_secrets::scan_source(text, rampart_secrets::Syntax::Shell) {
            out.push(SecretFact {
                source: SecretSource::History,
                place: format!("history[{i}]"),
                line: 0,
                column: hit.column,
                kind: hit.kind.to_owned(),
                redacted: hit.redacted,
                layer: None,
                fixture: None,
            });
        }
        if let Some(rest) = text.strip_prefix('|') {
            // `|N A=1 B=2 cmd...`: the first N words after the count are the arguments.
            let mut words = rest.split_whitespace();
            let count: usize = words.next().and_then(|n| n.parse().ok()).unwrap_or(0);
            for arg in words.take(count.min(64)) {
                let Some((name, value)) = arg.split_once('=') else {
                    continue;
                };
                if rampart_secrets::secret_name(name) && value.len() >= 6 {
                    out.push(SecretFact {
                        source: SecretSource::History,
                        place: format!("history[{i}] build argument {name}"),
                        line: 0,
                        column: 0,
                        kind: String::from("a secret-named build argument"),
                        redacted: rampart_secrets::redact(value),
                        layer: None,
                        fixture: None,
                    });
                }
            }
        }
    }
    out
}

fn os_fact(
    os_release: Option<&[u8]>,
    distro: Option<&Distro>,
    today: jiff::civil::Date,
) -> Option<OsFact> {
    let distro = distro?;
    let pretty_name = os_release.and_then(|c| {
        String::from_utf8_lossy(c).lines().find_map(|l| {
            l.strip_prefix("PRETTY_NAME=")
                .map(|v| v.trim().trim_matches(['"', '\'']).to_owned())
        })
    });
    Some(OsFact {
        id: distro.id.clone(),
        version_id: distro.version_id.clone(),
        pretty_name,
        eol: eol::lookup(&distro.id, distro.version_id.as_deref(), today),
    })
}

fn anomaly_facts(fs: &Filesystem) -> Vec<AnomalyFact> {
    let mut by_kind: BTreeMap<String, AnomalyFact> = BTreeMap::new();
    for a in fs.anomalies() {
        let key = format!("{:?}", a.kind);
        let fact = by_kind.entry(key).or_insert_with(|| AnomalyFact {
            kind: a.kind,
            count: 0,
            examples: Vec::new(),
        });
        fact.count += 1;
        if fact.examples.len() < 5 {
            fact.examples.push((a.path.clone(), a.layer));
        }
    }
    by_kind.into_values().collect()
}

fn world_writable(path: &str, e: &EntryMeta) -> bool {
    let writable = e.mode & 0o002 != 0;
    let risky = match e.kind {
        EntryKind::File | EntryKind::Hardlink => writable,
        // A world-writable directory is only safe with the sticky bit (like /tmp).
        EntryKind::Dir => writable && e.mode & 0o1000 == 0,
        // Symlink permissions mean nothing; devices and fifos under /dev are expected.
        _ => false,
    };
    risky && !path.starts_with("/proc/") && !path.starts_with("/sys/") && !path.starts_with("/dev/")
}

impl ImageFacts {
    pub(crate) fn compute(input: FactInputs<'_>) -> Self {
        let fs = input.fs;
        let shells = tools(fs, &SHELLS);
        let package_managers = tools(fs, &PACKAGE_MANAGERS);
        let minimality = if !package_managers.is_empty() {
            Minimality::Full
        } else if !shells.is_empty() {
            Minimality::ShellOnly
        } else {
            Minimality::Distroless
        };
        let mut setid = Vec::new();
        let mut writable = Vec::new();
        let mut bytes = 0u64;
        for (path, e) in fs.iter() {
            if e.kind == EntryKind::File {
                bytes = bytes.saturating_add(e.size);
            }
            if e.has_content() && e.is_setid() {
                setid.push(SetidFile {
                    path: path.to_owned(),
                    mode: format!("{:04o}", e.mode),
                    uid: e.uid,
                    setuid: e.mode & 0o4000 != 0,
                    setgid: e.mode & 0o2000 != 0,
                    layer: e.layer,
                });
            }
            if world_writable(path, e) {
                writable.push(WritableEntry {
                    path: path.to_owned(),
                    kind: e.kind,
                    mode: format!("{:04o}", e.mode),
                    layer: e.layer,
                });
            }
        }
        let mut secrets = input.file_secrets;
        if let Some(c) = input.config {
            secrets.extend(env_secrets(c));
            secrets.extend(history_secrets(c));
        }
        let config = input.config.map(|c| &c.config);
        Self {
            os: os_fact(input.os_release, input.distro, input.today),
            user: user_fact(input.config, input.passwd),
            entrypoint: config.map(|c| c.entrypoint.clone()).unwrap_or_default(),
            cmd: config.map(|c| c.cmd.clone()).unwrap_or_default(),
            working_dir: config.map(|c| c.working_dir.clone()).unwrap_or_default(),
            exposed_ports: config.map(|c| c.exposed_ports.clone()).unwrap_or_default(),
            shells,
            package_managers,
            build_tools: tools(fs, &BUILD_TOOLS),
            network_tools: tools(fs, &NETWORK_TOOLS),
            minimality,
            setid,
            world_writable: writable,
            secrets,
            anomalies: anomaly_facts(fs),
            entries: fs.len(),
            bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimality_names_are_the_serialized_ones() {
        for m in [
            Minimality::Distroless,
            Minimality::ShellOnly,
            Minimality::Full,
        ] {
            assert_eq!(
                serde_json::to_value(m)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned)),
                Some(m.as_str().to_owned())
            );
        }
    }

    #[test]
    fn user_resolution_table() {
        let passwd = b"root:x:0:0:root:/root:/bin/bash\napp:x:10001:10001::/home/app:/sbin/nologin\ntoor:x:0:0::/:/bin/sh\n";
        let cfg = |u: &str| {
            let mut c = ImageConfig::default();
            c.config.user = u.to_owned();
            c
        };
        let cases: [(&str, bool, Option<u64>, bool); 8] = [
            ("", true, Some(0), false),
            ("root", true, Some(0), false),
            ("0:0", true, Some(0), false),
            ("app", false, Some(10001), false),
            ("10001:10001", false, Some(10001), false),
            ("toor", true, Some(0), false),
            ("ghost", false, None, true),
            ("65532", false, Some(65532), false),
        ];
        for (user, root, uid, unknown) in cases {
            let c = cfg(user);
            let f = user_fact(Some(&c), Some(passwd));
            assert_eq!(
                (f.root, f.uid, f.unknown_name),
                (root, uid, unknown),
                "{user}"
            );
        }
        // no config at all (a root filesystem): root
        assert!(user_fact(None, None).root);
    }

    #[test]
    fn env_and_history_secrets() {
        let mut c = ImageConfig::default();
        c.config.env = vec![
            "PATH=/usr/bin".into(),
            "DB_PASSWORD=s3cr3t-value".into(),
            "API_TOKEN=$FROM_RUNTIME".into(),
            "PASSWORD_FILE=/run/secrets/db".into(),
            "X=ghp_abcdefghijklmnopqrstuvwxyz0123456789".into(),
        ];
        let env: Vec<String> = env_secrets(&c).into_iter().map(|s| s.place).collect();
        assert_eq!(env, ["ENV DB_PASSWORD", "ENV X"]);
        c.history = vec![
            rampart_image::History {
                created_by: "|2 NPM_TOKEN=npm_abcdefabcdefabcdefabcdefabcdefabcdef VERSION=1 /bin/sh -c npm ci".into(),
                ..Default::default()
            },
            rampart_image::History {
                created_by: "/bin/sh -c #(nop) CMD [\"app\"]".into(),
                ..Default::default()
            },
        ];
        let hist: Vec<(String, String)> = history_secrets(&c)
            .into_iter()
            .map(|s| (s.place, s.kind))
            .collect();
        assert_eq!(
            hist,
            [
                ("history[0]".to_owned(), "an npm token".to_owned()),
                (
                    "history[0] build argument NPM_TOKEN".to_owned(),
                    "a secret-named build argument".to_owned()
                ),
            ]
        );
    }
}
