//! Credentials: explicit ones, Docker's `config.json` (`auths`, `credHelpers`, `credsStore`) and
//! `docker-credential-<name>` helpers. Secrets live in [`Secret`], which never prints.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde::Deserialize;

use crate::error::RegistryError;
use crate::reference::{DOCKER_HUB, DOCKER_HUB_CONFIG_KEY};

/// Largest `config.json` read.
const MAX_CONFIG_BYTES: u64 = 4 << 20;
/// Largest output read from a credential helper.
const MAX_HELPER_OUTPUT: u64 = 1 << 20;

/// A secret string (password, token). `Debug` and `Display` print `<redacted>`; only
/// [`Secret::expose`] gives the value.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the value is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

/// Credentials for one registry. `Debug` shows the user name, never the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// a user name and a password (or a personal access token used as one)
    Basic {
        /// the user name
        username: String,
        /// the password
        password: Secret,
    },
    /// an OAuth2 refresh token (`identitytoken` in `config.json`), exchanged at the token
    /// server for access tokens
    IdentityToken(Secret),
}

impl Credentials {
    /// The `Authorization` value for HTTP Basic, when these are a user name and password.
    pub(crate) fn basic_header(&self) -> Option<Secret> {
        match self {
            Self::Basic { username, password } => {
                let raw = format!("{username}:{}", password.expose());
                Some(Secret(format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(raw)
                )))
            }
            Self::IdentityToken(_) => None,
        }
    }
}

/// An HTTP `Authorization` value handed over by a caller for one registry (Harbor's scan
/// request carries one for its robot account): `Basic` (base64 of `user:password`) or `Bearer`
/// (a token the registry accepts as is). `Debug` shows the user name, never the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authorization {
    /// a user name and password, answered to Basic challenges and exchanged at token servers
    Basic {
        /// the user name
        username: String,
        /// the password
        password: Secret,
    },
    /// a pre-issued token ([`crate::ClientOptions::bearer_token`])
    Bearer(Secret),
}

/// Largest `Authorization` value accepted.
const MAX_AUTHORIZATION: usize = 16 * 1024;

impl Authorization {
    /// Parses `Basic <base64>` or `Bearer <token>` (the scheme in any case). The error names
    /// what is wrong, never the secret.
    pub fn parse(value: &str) -> Result<Self, String> {
        if value.len() > MAX_AUTHORIZATION {
            return Err(format!(
                "the authorization is longer than {MAX_AUTHORIZATION} bytes"
            ));
        }
        let value = value.trim();
        let (scheme, rest) = value
            .split_once(' ')
            .ok_or_else(|| String::from("expected `Basic <credentials>` or `Bearer <token>`"))?;
        let rest = rest.trim();
        if rest.is_empty() {
            return Err(format!("the {scheme} authorization is empty"));
        }
        if scheme.eq_ignore_ascii_case("basic") {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(rest)
                .map_err(|_| String::from("the Basic authorization is not base64"))?;
            let text = String::from_utf8(decoded)
                .map_err(|_| String::from("the Basic authorization is not UTF-8 text"))?;
            let (username, password) = text.split_once(':').ok_or_else(|| {
                String::from("the Basic authorization is not base64 of user:password")
            })?;
            if username.is_empty() {
                return Err(String::from("the Basic authorization has no user name"));
            }
            Ok(Self::Basic {
                username: username.to_owned(),
                password: Secret::new(password),
            })
        } else if scheme.eq_ignore_ascii_case("bearer") {
            if !rest.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(String::from("the Bearer token is not a header-safe string"));
            }
            Ok(Self::Bearer(Secret::new(rest)))
        } else {
            Err(format!(
                "unsupported authorization scheme `{}`: expected Basic or Bearer",
                scheme.chars().take(32).collect::<String>()
            ))
        }
    }
}

/// Where credentials are looked up, in this order: explicit ones, then Docker's
/// `config.json` (a credential helper named for the registry in `credHelpers`, then the
/// `credsStore` helper, then `auths`).
#[derive(Debug, Clone, Default)]
pub struct CredentialSource {
    /// explicit credentials (flags, environment); when set nothing else is read
    pub explicit: Option<Credentials>,
    /// `config.json` to read; `None` for the default place ([`default_docker_config`])
    pub docker_config: Option<PathBuf>,
    /// whether to read a `config.json` at all
    pub use_docker_config: bool,
    /// `PATH` used to find `docker-credential-*` helpers (default: the inherited one)
    pub helper_path: Option<OsString>,
    /// how long a helper may run
    pub helper_timeout: Duration,
}

/// Docker's own rule for the config file: `$DOCKER_CONFIG/config.json`, else
/// `$HOME/.docker/config.json`.
pub fn default_docker_config() -> Option<PathBuf> {
    docker_config_path(std::env::var_os("DOCKER_CONFIG"), std::env::var_os("HOME"))
}

fn docker_config_path(docker_config: Option<OsString>, home: Option<OsString>) -> Option<PathBuf> {
    match (docker_config, home) {
        (Some(dir), _) if !dir.is_empty() => Some(PathBuf::from(dir).join("config.json")),
        (_, Some(home)) if !home.is_empty() => {
            Some(PathBuf::from(home).join(".docker").join("config.json"))
        }
        _ => None,
    }
}

#[derive(Deserialize, Default)]
struct ConfigFile {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: BTreeMap<String, String>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
}

#[derive(Deserialize, Default)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<Secret>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<Secret>,
    #[serde(default)]
    identitytoken: Option<Secret>,
}

/// The host part of an `auths` key: `https://host/v1/` → `host`.
fn key_host(key: &str) -> &str {
    let rest = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    rest.split('/').next().unwrap_or(rest)
}

/// Whether an `auths` / `credHelpers` key names `registry`.
fn key_matches(key: &str, registry: &str) -> bool {
    let host = key_host(key);
    if registry == DOCKER_HUB {
        matches!(
            host,
            "docker.io" | "index.docker.io" | "registry-1.docker.io"
        )
    } else {
        host == registry
    }
}

/// What a helper is told the server is: Docker Hub's legacy key, else the host.
fn server_url(registry: &str) -> &str {
    if registry == DOCKER_HUB {
        DOCKER_HUB_CONFIG_KEY
    } else {
        registry
    }
}

impl CredentialSource {
    /// The credentials for `registry` (as written in references), or `None` for anonymous
    /// access.
    pub fn lookup(&self, registry: &str) -> Result<Option<Credentials>, RegistryError> {
        if let Some(c) = &self.explicit {
            return Ok(Some(c.clone()));
        }
        if !self.use_docker_config {
            return Ok(None);
        }
        let Some(path) = self.docker_config.clone().or_else(default_docker_config) else {
            return Ok(None);
        };
        let Some(config) = read_config(&path)? else {
            return Ok(None);
        };
        let helper = config
            .cred_helpers
            .iter()
            .find(|(k, _)| *k == registry || key_matches(k, registry))
            .map(|(_, v)| v.clone())
            .or_else(|| config.creds_store.clone().filter(|s| !s.is_empty()));
        if let Some(helper) = helper {
            if let Some(c) = run_helper(
                &helper,
                server_url(registry),
                self.helper_path.as_ref(),
                self.helper_timeout,
            )? {
                return Ok(Some(c));
            }
        }
        let entry = config.auths.get(registry).or_else(|| {
            config
                .auths
                .iter()
                .find(|(k, _)| key_matches(k, registry))
                .map(|(_, v)| v)
        });
        match entry {
            Some(e) => entry_credentials(e, &path, registry),
            None => Ok(None),
        }
    }
}

fn read_config(path: &Path) -> Result<Option<ConfigFile>, RegistryError> {
    let shown = path.display().to_string();
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(RegistryError::Io {
                path: shown,
                source,
            });
        }
    };
    let mut bytes = Vec::new();
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| RegistryError::Io {
            path: shown.clone(),
            source,
        })?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(RegistryError::Credentials {
            problem: format!("{shown} is larger than {MAX_CONFIG_BYTES} bytes"),
        });
    }
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| RegistryError::Credentials {
            // serde_json's message names the position, never the text at it
            problem: format!("malformed docker config {shown}: {e}"),
        })
}

fn entry_credentials(
    e: &AuthEntry,
    path: &Path,
    registry: &str,
) -> Result<Option<Credentials>, RegistryError> {
    if let Some(token) = e.identitytoken.as_ref().filter(|t| !t.is_empty()) {
        return Ok(Some(Credentials::IdentityToken(token.clone())));
    }
    if let Some(auth) = e.auth.as_ref().filter(|a| !a.is_empty()) {
        let bad = || RegistryError::Credentials {
            problem: format!(
                "the auth field for {registry} in {} is not base64 of user:password",
                path.display()
            ),
        };
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth.expose().trim())
            .map_err(|_| bad())?;
        let text = String::from_utf8(decoded).map_err(|_| bad())?;
        let (user, pass) = text.split_once(':').ok_or_else(bad)?;
        return Ok(Some(Credentials::Basic {
            username: user.to_owned(),
            password: Secret::new(pass),
        }));
    }
    match (&e.username, &e.password) {
        (Some(u), Some(p)) if !u.is_empty() => Ok(Some(Credentials::Basic {
            username: u.clone(),
            password: p.clone(),
        })),
        _ => Ok(None),
    }
}

#[derive(Deserialize)]
struct HelperOutput {
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: Secret,
}

/// Runs `docker-credential-<name> get` with the server on stdin. `Ok(None)` when the helper
/// has no credentials for it.
fn run_helper(
    name: &str,
    server: &str,
    path: Option<&OsString>,
    timeout: Duration,
) -> Result<Option<Credentials>, RegistryError> {
    let fail = |problem: String| RegistryError::Credentials {
        problem: format!("credential helper docker-credential-{name}: {problem}"),
    };
    // the name comes from a file: it must not turn into a path
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        || name.starts_with('.')
    {
        return Err(RegistryError::Credentials {
            problem: format!(
                "credential helper name {:?} is not a plain name",
                name.chars().take(100).collect::<String>()
            ),
        });
    }
    let mut cmd = Command::new(format!("docker-credential-{name}"));
    cmd.arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(p) = path {
        // with PATH set on the command, std looks the program up in that PATH
        cmd.env("PATH", p);
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| fail(format!("cannot run it: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        // a helper that exits without reading closes the pipe: its exit status tells
        let _ = stdin.write_all(server.as_bytes());
    }
    // each pipe is drained on its own thread (a full pipe would block the helper); the
    // results come back over channels so a helper that leaves a child holding its stdout
    // open cannot block us past the deadline either
    let read_pipe = |pipe: Option<Box<dyn Read + Send>>| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(p) = pipe {
                let _ = p.take(MAX_HELPER_OUTPUT).read_to_end(&mut buf);
            }
            let _ = tx.send(buf);
        });
        rx
    };
    let out = read_pipe(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = read_pipe(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + timeout;
    let timed_out = || fail(format!("no answer within {} s", timeout.as_secs()));
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(timed_out());
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(fail(format!("cannot wait for it: {e}"))),
        }
    };
    let left = || deadline.saturating_duration_since(Instant::now());
    let stdout = out.recv_timeout(left()).map_err(|_| timed_out())?;
    let stderr = err.recv_timeout(left()).unwrap_or_default();
    if !status.success() {
        let said = String::from_utf8_lossy(if stdout.is_empty() { &stderr } else { &stdout })
            .trim()
            .to_owned();
        if said.contains("credentials not found") {
            return Ok(None);
        }
        return Err(fail(format!(
            "failed ({status}): {}",
            said.chars().take(200).collect::<String>()
        )));
    }
    let parsed: HelperOutput = serde_json::from_slice(&stdout)
        .map_err(|e| fail(format!("expected JSON with Username and Secret: {e}")))?;
    if parsed.secret.is_empty() {
        return Ok(None);
    }
    Ok(Some(if parsed.username == "<token>" {
        Credentials::IdentityToken(parsed.secret)
    } else {
        Credentials::Basic {
            username: parsed.username,
            password: parsed.secret,
        }
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn authorizations_parse_basic_and_bearer_and_refuse_the_rest() {
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        assert_eq!(
            Authorization::parse(&format!("Basic {}", b64("robot$scan:p:a:ss"))).unwrap(),
            Authorization::Basic {
                username: "robot$scan".into(),
                password: Secret::new("p:a:ss"),
            }
        );
        assert_eq!(
            Authorization::parse("bearer eyJ.abc.def").unwrap(),
            Authorization::Bearer(Secret::new("eyJ.abc.def"))
        );
        for (bad, says) in [
            ("Basic", "expected"),
            ("Basic ", "expected"),
            ("Basic !!!", "not base64"),
            (&format!("Basic {}", b64("nocolon")), "user:password"),
            (&format!("Basic {}", b64(":pw")), "no user name"),
            ("Bearer a\u{7f}b", "header-safe"),
            ("Digest abc", "unsupported authorization scheme `Digest`"),
        ] {
            let err = Authorization::parse(bad).unwrap_err();
            assert!(err.contains(says), "{bad:?}: {err}");
        }
        let long = format!("Bearer {}", "a".repeat(MAX_AUTHORIZATION));
        assert!(Authorization::parse(&long).unwrap_err().contains("longer"));
        // the secret never shows
        let shown = format!("{:?}", Authorization::parse("Bearer t0ps3cret").unwrap());
        assert!(!shown.contains("t0ps3cret"), "{shown}");
    }

    #[test]
    fn secrets_never_print() {
        let c = Credentials::Basic {
            username: "alice".into(),
            password: Secret::new("hunter2"),
        };
        let shown = format!("{c:?} {} {:?}", Secret::new("hunter2"), c.basic_header());
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("alice"));
        let t = format!("{:?}", Credentials::IdentityToken(Secret::new("tok-123")));
        assert!(!t.contains("tok-123"), "{t}");
    }

    #[test]
    fn config_path_follows_docker() {
        assert_eq!(
            docker_config_path(Some("/cfg".into()), Some("/home/u".into())),
            Some(PathBuf::from("/cfg/config.json"))
        );
        assert_eq!(
            docker_config_path(None, Some("/home/u".into())),
            Some(PathBuf::from("/home/u/.docker/config.json"))
        );
        assert_eq!(
            docker_config_path(Some("".into()), Some("/h".into())),
            Some(PathBuf::from("/h/.docker/config.json"))
        );
        assert_eq!(docker_config_path(None, None), None);
    }

    #[test]
    fn auths_keys_match_hosts_and_docker_hub_aliases() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        std::fs::write(
            &path,
            serde_json::json!({
                "auths": {
                    "https://index.docker.io/v1/": {"auth": b64("hub:hubpass")},
                    "https://ghcr.io": {"username": "gh", "password": "ghpass"},
                    "quay.io": {"identitytoken": "refresh"},
                    "bad.io": {"auth": "%%%"},
                    "empty.io": {}
                }
            })
            .to_string(),
        )
        .unwrap();
        let src = CredentialSource {
            docker_config: Some(path),
            use_docker_config: true,
            ..CredentialSource::default()
        };
        let basic = |u: &str, p: &str| {
            Some(Credentials::Basic {
                username: u.into(),
                password: Secret::new(p),
            })
        };
        assert_eq!(src.lookup("docker.io").unwrap(), basic("hub", "hubpass"));
        assert_eq!(src.lookup("ghcr.io").unwrap(), basic("gh", "ghpass"));
        assert_eq!(
            src.lookup("quay.io").unwrap(),
            Some(Credentials::IdentityToken(Secret::new("refresh")))
        );
        assert_eq!(src.lookup("empty.io").unwrap(), None);
        assert_eq!(src.lookup("other.io").unwrap(), None);
        let err = src.lookup("bad.io").unwrap_err().to_string();
        assert!(
            err.contains("not base64") && err.contains("bad.io"),
            "{err}"
        );
        // explicit credentials win; a missing file is anonymous, a malformed one an error
        let explicit = CredentialSource {
            explicit: basic("x", "y"),
            ..src.clone()
        };
        assert_eq!(explicit.lookup("ghcr.io").unwrap(), basic("x", "y"));
        let missing = CredentialSource {
            docker_config: Some(dir.path().join("nope.json")),
            ..src.clone()
        };
        assert_eq!(missing.lookup("ghcr.io").unwrap(), None);
        std::fs::write(dir.path().join("bad.json"), "{\"auths\": [").unwrap();
        let malformed = CredentialSource {
            docker_config: Some(dir.path().join("bad.json")),
            ..src
        };
        assert!(
            malformed
                .lookup("ghcr.io")
                .unwrap_err()
                .to_string()
                .contains("malformed docker config")
        );
    }

    #[test]
    fn helper_answers_are_read_like_docker() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, body: &str| {
            let p = dir.path().join(format!("docker-credential-{name}"));
            std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        };
        write(
            "token",
            r#"read s; echo "{\"ServerURL\":\"$s\",\"Username\":\"<token>\",\"Secret\":\"rt-$s\"}""#,
        );
        write("garbage", "echo not json");
        write("broken", "echo 'backend exploded' >&2; exit 2");
        let path = OsString::from(dir.path());
        let run = |name: &str| run_helper(name, "h.io", Some(&path), Duration::from_secs(20));
        assert_eq!(
            run("token").unwrap(),
            Some(Credentials::IdentityToken(Secret::new("rt-h.io")))
        );
        let err = run("garbage").unwrap_err().to_string();
        assert!(err.contains("expected JSON"), "{err}");
        let err = run("broken").unwrap_err().to_string();
        assert!(err.contains("backend exploded"), "{err}");
    }

    #[test]
    fn helper_names_cannot_be_paths() {
        for name in ["../x", "a/b", "", ".hidden"] {
            let err = run_helper(name, "h", None, Duration::from_secs(1)).unwrap_err();
            assert!(err.to_string().contains("not a plain name"), "{err}");
        }
    }
}
