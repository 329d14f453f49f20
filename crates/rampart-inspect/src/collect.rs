//! The collector that reads an image once for everything the image layer needs: package
//! databases and manifests (catalogers), executables (compiled-in packages), account files,
//! os-release, and files that may hold secrets.

use std::borrow::Cow;
use std::io::{self, Read};

use base64::Engine as _;
use rampart_image::{Collector, EntryMeta, FileContent};
use rampart_sbom::catalog::NpmLockfile;
use rampart_sbom::{
    CatalogContext, Cataloger, JavaLimits, Package, Purl, catalog_java_archive, catalogers,
    copyright_package, debian_copyright_licenses, is_java_archive,
};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::binary;

/// Catalogers whose packages need the image's distribution (OS package purls): their files are
/// kept as bytes and parsed once os-release is known.
const OS_CATALOGERS: [&str; 3] = ["dpkg", "apk", "rpm"];

/// Largest file scanned for secrets: secrets live in small files.
const MAX_SECRET_FILE: u64 = 1 << 20;
/// Largest Java archive read from a layer stream (it is held in memory to be read as a zip;
/// in a root filesystem it is read in place, whatever its size).
const MAX_STREAMED_JAVA_ARCHIVE: u64 = 256 << 20;

/// Why a file is read.
#[derive(Clone, Copy)]
pub(crate) enum Want {
    /// os-release, passwd, group: kept as bytes
    System,
    /// a package database of the OS: kept as bytes, parsed at the end with the distribution
    OsPackages(&'static dyn Cataloger),
    /// a language package file: parsed at once
    Packages(&'static dyn Cataloger),
    /// an executable: compiled-in packages
    Binary,
    /// a Java archive (jar, war, ear...): its artifacts and the archives nested in it
    Java,
    /// a Debian copyright file: the licenses of the package it documents
    Copyright,
    /// a file that may hold credentials
    Secrets,
}

impl Want {
    /// The name a layer record keeps: `system`, `os:<cataloger>`, `packages:<cataloger>`...
    fn name(&self) -> Cow<'static, str> {
        match self {
            Self::System => Cow::Borrowed("system"),
            Self::OsPackages(c) => Cow::Owned(format!("os:{}", c.name())),
            Self::Packages(c) => Cow::Owned(format!("packages:{}", c.name())),
            Self::Binary => Cow::Borrowed("binary"),
            Self::Java => Cow::Borrowed("java"),
            Self::Copyright => Cow::Borrowed("copyright"),
            Self::Secrets => Cow::Borrowed("secrets"),
        }
    }

    fn named(name: &str) -> Option<Self> {
        let cataloger = |n: &str| catalogers().iter().find(|c| c.name() == n).copied();
        Some(match name {
            "system" => Self::System,
            "binary" => Self::Binary,
            "java" => Self::Java,
            "copyright" => Self::Copyright,
            "secrets" => Self::Secrets,
            other => match other.split_once(':')? {
                ("os", c) => Self::OsPackages(cataloger(c)?),
                ("packages", c) => Self::Packages(cataloger(c)?),
                _ => return None,
            },
        })
    }
}

impl Serialize for Want {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

impl<'de> Deserialize<'de> for Want {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = Cow::<'de, str>::deserialize(d)?;
        Self::named(&name).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown reason to read a file: {}",
                name.chars().take(64).collect::<String>()
            ))
        })
    }
}

impl std::fmt::Debug for Want {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::System => f.write_str("System"),
            Self::OsPackages(c) => write!(f, "OsPackages({})", c.name()),
            Self::Packages(c) => write!(f, "Packages({})", c.name()),
            Self::Binary => f.write_str("Binary"),
            Self::Java => f.write_str("Java"),
            Self::Copyright => f.write_str("Copyright"),
            Self::Secrets => f.write_str("Secrets"),
        }
    }
}

/// What reading one file gave. Layer records keep it (rampart-image's `LayerRecord`), so its
/// JSON form reads back to the same value; a value that would not (a purl whose canonical
/// string parses to another purl) refuses to be written, and its layer is not recorded.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Found {
    /// the bytes of a system file or an OS package database (and whether it was cut)
    Bytes {
        want: Want,
        #[serde(with = "content")]
        content: Vec<u8>,
        truncated: bool,
    },
    /// packages (and a problem with the file, if any)
    Packages {
        #[serde(serialize_with = "packages_that_read_back")]
        packages: Vec<Package>,
        error: Option<String>,
    },
    /// secrets in a file
    Secrets { hits: Vec<FileSecret> },
    /// the licenses a Debian copyright file states for `package`
    Licenses {
        package: String,
        licenses: Vec<String>,
    },
}

/// A secret found in a file (a [`rampart_secrets::Hit`] with its kind owned).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileSecret {
    pub(crate) kind: String,
    pub(crate) line: u32,
    pub(crate) column: u32,
    pub(crate) redacted: String,
    pub(crate) fixture: Option<String>,
}

impl From<rampart_secrets::Hit> for FileSecret {
    fn from(h: rampart_secrets::Hit) -> Self {
        Self {
            kind: h.kind.to_owned(),
            line: h.line,
            column: h.column,
            redacted: h.redacted,
            fixture: h.fixture,
        }
    }
}

/// Packages, written only when each purl reads back as itself.
fn packages_that_read_back<S: Serializer>(packages: &[Package], s: S) -> Result<S::Ok, S::Error> {
    for p in packages {
        if p.purl.to_string().parse::<Purl>().ok().as_ref() != Some(&p.purl) {
            return Err(serde::ser::Error::custom(format!(
                "{}: the purl does not read back as itself",
                p.purl
            )));
        }
    }
    packages.serialize(s)
}

/// File bytes in a record: text as is, anything else in base64.
mod content {
    use super::*;

    #[derive(Serialize, Deserialize)]
    #[serde(rename_all = "snake_case", deny_unknown_fields)]
    enum Bytes<'a> {
        Text(Cow<'a, str>),
        Base64(String),
    }

    pub(super) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(bytes) {
            Ok(text) => Bytes::Text(Cow::Borrowed(text)),
            Err(_) => Bytes::Base64(base64::engine::general_purpose::STANDARD.encode(bytes)),
        }
        .serialize(s)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        match Bytes::deserialize(d)? {
            Bytes::Text(t) => Ok(t.into_owned().into_bytes()),
            Bytes::Base64(b) => base64::engine::general_purpose::STANDARD
                .decode(b)
                .map_err(serde::de::Error::custom),
        }
    }
}

/// Paths whose content is read as system facts.
pub(crate) const SYSTEM_FILES: [&str; 4] = [
    "/etc/os-release",
    "/usr/lib/os-release",
    "/etc/passwd",
    "/etc/group",
];

/// Directories whose files are not scanned for secrets by content: package-manager trees and
/// system data, where credential-looking strings are test fixtures and documentation. Files
/// named like credentials are still read there.
fn secret_quiet_dir(path: &str) -> bool {
    const PREFIXES: [&str; 12] = [
        "/usr/share/",
        "/usr/lib/",
        "/usr/include/",
        "/usr/libexec/",
        "/lib/",
        "/lib64/",
        "/var/lib/",
        "/var/cache/",
        "/var/log/",
        "/proc/",
        "/sys/",
        "/etc/ssl/certs/",
    ];
    const SEGMENTS: [&str; 7] = [
        "/node_modules/",
        "/site-packages/",
        "/dist-packages/",
        "/vendor/",
        "/.git/",
        "/__pycache__/",
        "/go/pkg/mod/",
    ];
    PREFIXES.iter().any(|p| path.starts_with(p))
        || SEGMENTS.iter().any(|s| path.contains(s))
        || runtime_tree(path)
}

/// Top-level directories of Go's standard library (`GOROOT/src/<dir>`): a Go root is told from
/// a `GOPATH` (`/go/src/app`, user code) by them.
const GO_STD: [&str; 50] = [
    "archive",
    "arena",
    "bufio",
    "builtin",
    "bytes",
    "cmd",
    "cmp",
    "compress",
    "container",
    "context",
    "crypto",
    "database",
    "debug",
    "embed",
    "encoding",
    "errors",
    "expvar",
    "flag",
    "fmt",
    "go",
    "hash",
    "html",
    "image",
    "index",
    "internal",
    "io",
    "iter",
    "log",
    "maps",
    "math",
    "mime",
    "net",
    "os",
    "path",
    "plugin",
    "reflect",
    "regexp",
    "runtime",
    "slices",
    "sort",
    "strconv",
    "strings",
    "sync",
    "syscall",
    "testing",
    "text",
    "time",
    "unicode",
    "unsafe",
    "vendor",
];

/// A language runtime's own tree, wherever it is installed (`/usr/lib`, `/usr/local/lib`,
/// `/opt`...): CPython's `lib/pythonX.Y/` (standard library, test suite, site-packages), a Go
/// root (`go/src/<standard package>`, `go/misc`, `go/test`, Debian's `go-1.N/`), a JVM
/// (`lib/jvm/`, `/opt/java/`). Their files are the runtime's, not the application's: they are
/// read by content only when named like credentials, as under `/usr/lib`.
fn runtime_tree(path: &str) -> bool {
    let parts: Vec<&str> = path.split('/').collect();
    parts.windows(2).any(|w| match w {
        [a, b] => {
            let runtime_dir = *b == "jvm"
                || (b.strip_prefix("python").or_else(|| b.strip_prefix("pypy")))
                    .is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit()));
            (*a == "lib" && runtime_dir)
                || (a.starts_with("go-1.") && matches!(*b, "src" | "pkg" | "misc" | "test" | "lib"))
        }
        _ => false,
    }) || parts.windows(3).any(|w| match w {
        [a, b, c] => {
            *a == "go"
                && ((*b == "src" && GO_STD.contains(c))
                    || matches!(*b, "misc" | "test" | "lib" | "api"))
        }
        _ => false,
    }) || path.starts_with("/opt/java/")
}

/// Files named like credentials, read wherever they are (outside documentation).
fn credential_file_name(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    let lower = name.to_ascii_lowercase();
    const NAMES: [&str; 16] = [
        "id_rsa",
        "id_dsa",
        "id_ecdsa",
        "id_ed25519",
        ".env",
        ".npmrc",
        ".pypirc",
        ".netrc",
        ".git-credentials",
        ".dockercfg",
        ".pgpass",
        ".htpasswd",
        "credentials",
        "credentials.json",
        "secrets.json",
        "wp-config.php",
    ];
    const SUFFIXES: [&str; 6] = [".pem", ".key", ".p8", ".ppk", ".tfvars", ".env"];
    NAMES.contains(&lower.as_str())
        || lower.starts_with(".env.")
        || SUFFIXES.iter().any(|s| lower.ends_with(s))
        || path.ends_with("/.docker/config.json")
        || path.ends_with("/.aws/credentials")
}

/// Whether a file at `path` is read for secrets by its kind: named like a credential file, or a
/// text-like file (configuration, scripts, source code). Where it is decides the rest: outside
/// system and package trees and language runtimes, text-like files are read by content.
pub fn secret_candidate(path: &str) -> bool {
    credential_file_name(path) || text_like(path)
}

/// Text-like files scanned for secrets by content outside the quiet directories.
fn text_like(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    match name.rsplit_once('.') {
        None => true,
        Some((_, ext)) => matches!(
            ext.to_ascii_lowercase().as_str(),
            "env"
                | "json"
                | "yaml"
                | "yml"
                | "toml"
                | "ini"
                | "conf"
                | "cfg"
                | "config"
                | "properties"
                | "xml"
                | "sh"
                | "bash"
                | "py"
                | "js"
                | "mjs"
                | "cjs"
                | "ts"
                | "rb"
                | "php"
                | "go"
                | "java"
                | "txt"
                | "sql"
                | "tf"
                | "tfvars"
                | "pem"
                | "key"
        ),
    }
}

/// Decides, for one file, whether and why it is read.
pub(crate) fn want(path: &str, entry: &EntryMeta, secrets: bool) -> Option<Want> {
    if SYSTEM_FILES.contains(&path) {
        return Some(Want::System);
    }
    // Lock files describe what a build may install, not what the image holds; installed
    // packages are read from node_modules.
    if let Some(c) = catalogers()
        .iter()
        .find(|c| c.name() != NpmLockfile.name() && c.wants(path))
    {
        return Some(if OS_CATALOGERS.contains(&c.name()) {
            Want::OsPackages(*c)
        } else {
            Want::Packages(*c)
        });
    }
    if is_java_archive(path) {
        return Some(Want::Java);
    }
    if copyright_package(path).is_some() {
        return Some(Want::Copyright);
    }
    if binary::may_be_binary(entry.mode, entry.size) && !path.starts_with("/usr/share/") {
        return Some(Want::Binary);
    }
    if secrets && entry.size <= MAX_SECRET_FILE && !path.starts_with("/usr/share/doc/") {
        let named = credential_file_name(path);
        if named || (!secret_quiet_dir(path) && text_like(path)) {
            return Some(Want::Secrets);
        }
    }
    None
}

/// The image layer's collector.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Inventory {
    pub(crate) secrets: bool,
}

impl Collector for Inventory {
    type Output = Found;

    fn wants(&self, path: &str, entry: &EntryMeta) -> bool {
        want(path, entry, self.secrets).is_some()
    }

    fn analyze(
        &self,
        path: &str,
        entry: &EntryMeta,
        mut content: FileContent<'_>,
        cap: u64,
    ) -> io::Result<Option<Found>> {
        let Some(want) = want(path, entry, self.secrets) else {
            return Ok(None);
        };
        Ok(match want {
            Want::System | Want::OsPackages(_) => {
                let (content, truncated) = content.read_capped(cap)?;
                Some(Found::Bytes {
                    want,
                    content,
                    truncated,
                })
            }
            Want::Packages(c) => {
                let (bytes, truncated) = content.read_capped(cap)?;
                let ctx = CatalogContext::default();
                let (packages, mut error) = match c.parse(path, &bytes, &ctx) {
                    Ok(p) => (p, None),
                    Err(e) => (Vec::new(), Some(e.to_string())),
                };
                if truncated {
                    error.get_or_insert_with(|| {
                        format!("{path}: larger than the {cap}-byte capture limit; read in part")
                    });
                }
                (!packages.is_empty() || error.is_some())
                    .then_some(Found::Packages { packages, error })
            }
            Want::Binary => binary::analyze(path, content)?.map(|f| Found::Packages {
                packages: f.packages,
                error: f.error,
            }),
            Want::Java => Some(java(path, content)?),
            Want::Copyright => {
                let (bytes, _) = content.read_capped(cap.min(1 << 20))?;
                let licenses = debian_copyright_licenses(&bytes);
                let package = copyright_package(path).unwrap_or_default().to_owned();
                (!licenses.is_empty()).then_some(Found::Licenses { package, licenses })
            }
            Want::Secrets => {
                let (bytes, _) = content.read_capped(cap.min(MAX_SECRET_FILE))?;
                if bytes.contains(&0) {
                    return Ok(None);
                }
                let hits = rampart_secrets::scan_file(path, &String::from_utf8_lossy(&bytes));
                (!hits.is_empty()).then(|| Found::Secrets {
                    hits: hits.into_iter().map(FileSecret::from).collect(),
                })
            }
        })
    }

    fn weight(output: &Found) -> u64 {
        match output {
            Found::Bytes { content, .. } => content.len() as u64,
            Found::Packages { packages, .. } => 256 * packages.len() as u64,
            Found::Secrets { hits } => 64 * hits.len() as u64,
            Found::Licenses { licenses, .. } => 32 * licenses.len() as u64,
        }
    }
}

/// The packages of a Java archive: read in place from a file, or held in memory from a stream.
fn java(path: &str, content: FileContent<'_>) -> io::Result<Found> {
    let limits = JavaLimits::default();
    let result = match content {
        FileContent::File(f) => catalog_java_archive(path, f, &limits),
        FileContent::Stream(r) => {
            let mut buf = Vec::new();
            r.take(MAX_STREAMED_JAVA_ARCHIVE + 1)
                .read_to_end(&mut buf)?;
            if buf.len() as u64 > MAX_STREAMED_JAVA_ARCHIVE {
                return Ok(Found::Packages {
                    packages: Vec::new(),
                    error: Some(format!(
                        "{path}: a Java archive over {MAX_STREAMED_JAVA_ARCHIVE} bytes in a \
                         layer; its packages are not listed"
                    )),
                });
            }
            catalog_java_archive(path, std::io::Cursor::new(buf), &limits)
        }
    };
    Ok(match result {
        Ok(c) => {
            let error = (!c.skipped.is_empty()).then(|| {
                c.skipped
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            });
            Found::Packages {
                packages: c.packages,
                error,
            }
        }
        Err(e) => Found::Packages {
            packages: Vec::new(),
            error: Some(e.to_string()),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_image::EntryKind;

    fn file(mode: u32, size: u64) -> EntryMeta {
        EntryMeta::new(EntryKind::File, mode, size)
    }

    #[test]
    fn every_reason_to_read_a_file_reads_back_by_its_name() {
        let mut all = vec![
            Want::System,
            Want::Binary,
            Want::Java,
            Want::Copyright,
            Want::Secrets,
        ];
        for c in catalogers() {
            all.push(Want::OsPackages(*c));
            all.push(Want::Packages(*c));
        }
        for w in all {
            let back = Want::named(&w.name());
            assert_eq!(format!("{back:?}"), format!("{:?}", Some(w)));
        }
        assert!(Want::named("packages:nothing").is_none());
        assert!(Want::named("os").is_none());
    }

    #[test]
    fn file_bytes_read_back_whether_text_or_not() {
        for content in [b"ID=debian\n".to_vec(), vec![0xff, 0, 1, 0x80]] {
            let found = Found::Bytes {
                want: Want::System,
                content: content.clone(),
                truncated: true,
            };
            let json = serde_json::to_string(&found).unwrap_or_default();
            assert_eq!(
                json.contains("base64"),
                content.starts_with(&[0xff]),
                "{json}"
            );
            match serde_json::from_str::<Found>(&json) {
                Ok(Found::Bytes {
                    content: back,
                    truncated: true,
                    ..
                }) => assert_eq!(back, content),
                other => unreachable!("{json}: {other:?}"),
            }
        }
    }

    #[test]
    fn what_is_read_and_why() {
        let f = file(0o644, 100);
        let x = file(0o755, 1 << 20);
        let cases: [(&str, &EntryMeta, Option<&str>); 27] = [
            ("/app/lib/log4j-core-2.19.0.jar", &f, Some("java")),
            ("/opt/app.WAR", &f, Some("java")),
            ("/usr/share/doc/libc6/copyright", &f, Some("copyright")),
            ("/etc/os-release", &f, Some("system")),
            ("/etc/passwd", &f, Some("system")),
            ("/var/lib/dpkg/status", &f, Some("os")),
            ("/lib/apk/db/installed", &f, Some("os")),
            ("/app/node_modules/a/package.json", &f, Some("packages")),
            ("/app/package-lock.json", &f, Some("secrets")),
            (
                "/usr/lib/python3/dist-packages/a-1.dist-info/METADATA",
                &f,
                Some("packages"),
            ),
            ("/usr/local/bin/tool", &x, Some("binary")),
            ("/usr/share/tool/script", &x, None),
            ("/app/.env", &f, Some("secrets")),
            ("/root/.ssh/id_rsa", &f, Some("secrets")),
            ("/usr/lib/x/id_rsa", &f, Some("secrets")),
            ("/usr/lib/x/config.yaml", &f, None),
            ("/app/node_modules/a/test.key", &f, Some("secrets")),
            ("/app/node_modules/a/index.js", &f, None),
            ("/app/static/logo.png", &f, None),
            // runtimes are judged the same wherever they are installed
            ("/usr/local/lib/python3.12/email/utils.py", &f, None),
            (
                "/opt/py/lib/python3.11/test/keycert.pem",
                &f,
                Some("secrets"),
            ),
            ("/usr/local/go/src/net/http/server.go", &f, None),
            ("/go/src/app/main.go", &f, Some("secrets")),
            (
                "/usr/local/go/src/crypto/tls/testdata/key.pem",
                &f,
                Some("secrets"),
            ),
            ("/opt/java/openjdk/conf/net.properties", &f, None),
            ("/usr/local/lib/app/settings.py", &f, Some("secrets")),
            ("/srv/app/settings.py", &f, Some("secrets")),
        ];
        for (path, entry, expected) in cases {
            let got = want(path, entry, true).map(|w| match w {
                Want::System => "system",
                Want::OsPackages(_) => "os",
                Want::Packages(_) => "packages",
                Want::Binary => "binary",
                Want::Java => "java",
                Want::Copyright => "copyright",
                Want::Secrets => "secrets",
            });
            assert_eq!(got, expected, "{path}");
        }
        assert!(want("/app/.env", &f, false).is_none());
    }
}
