//! The HTTP client: transport (TLS roots, timeouts, redirects), the auth dance (Basic, bearer
//! tokens cached per scope), and the distribution API operations.

use std::collections::{HashMap, VecDeque};
use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use rampart_image::{BlobReader, Descriptor, Digest, Limits};
use serde::Deserialize;
use sha2::Digest as _;
use ureq::http::{Response, StatusCode};
use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig, TlsProvider};

use crate::challenge::{Challenge, parse_challenges};
use crate::credentials::{Authorization, CredentialSource, Credentials, Secret};
use crate::error::RegistryError;
use crate::reference::{Reference, Repository};

/// Media types asked for when fetching a manifest, in order of preference.
pub const MANIFEST_MEDIA_TYPES: [&str; 4] = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

/// Media types of Docker's schema 1 manifests (`…v1+json`, `…v1+prettyjws`), refused.
const DOCKER_SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1";

/// Bytes of an error body read to find its distribution error codes.
const MAX_ERROR_BODY: u64 = 64 * 1024;
/// Bytes of a token server answer.
const MAX_TOKEN_BODY: u64 = 1 << 20;
/// Pages of a list (tags, the catalog) followed.
const MAX_LIST_PAGES: usize = 1000;
/// Entries of a list (tags, the catalog) accepted.
const MAX_LIST_ENTRIES: usize = 1_000_000;
/// The `actions` of a catalog request: its token scope is the registry's, not a repository's.
const CATALOG: &str = "catalog:*";
/// Longest a cached token is trusted, whatever the server says.
const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// Largest CA bundle read.
const MAX_CA_FILE: u64 = 16 << 20;

/// How the client connects and authenticates: the shape the `rampart` command line fills.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// plain HTTP instead of HTTPS (`--insecure`; meant for loopback registries)
    pub insecure: bool,
    /// a PEM bundle of CA certificates trusted in addition to the system's
    pub ca_file: Option<PathBuf>,
    /// explicit user name (with `password`); when set, no docker config is read
    pub username: Option<String>,
    /// explicit password or token used as one
    pub password: Option<Secret>,
    /// a pre-issued bearer token (a Harbor scan request's `Bearer` authorization): sent as
    /// `Authorization: Bearer` on every request to the registry, no challenge answered, no
    /// other credential looked up; a registry that refuses it is an error
    pub bearer_token: Option<Secret>,
    /// the docker `config.json` to read; `None`: `$DOCKER_CONFIG/config.json`, else
    /// `~/.docker/config.json`
    pub docker_config: Option<PathBuf>,
    /// whether to read a docker config at all
    pub use_docker_config: bool,
    /// `PATH` for finding `docker-credential-*` helpers; `None`: the inherited one
    pub credential_helper_path: Option<OsString>,
    /// how long a credential helper may run
    pub credential_helper_timeout: Duration,
    /// connecting (DNS, TCP, TLS handshake)
    pub connect_timeout: Duration,
    /// waiting for a response, and for each read or write on the connection after it
    pub read_timeout: Duration,
    /// redirects followed per request
    pub max_redirects: u32,
    /// largest manifest or index accepted (default: [`Limits::max_json_bytes`], 4 MiB)
    pub max_manifest_bytes: u64,
    /// the `User-Agent` header
    pub user_agent: String,
}

impl ClientOptions {
    /// These options with `authorization` as the only credential: no Docker config or
    /// credential helper is read.
    pub fn with_authorization(mut self, authorization: Option<&Authorization>) -> Self {
        self.use_docker_config = false;
        self.username = None;
        self.password = None;
        self.bearer_token = None;
        match authorization {
            Some(Authorization::Basic { username, password }) => {
                self.username = Some(username.clone());
                self.password = Some(password.clone());
            }
            Some(Authorization::Bearer(t)) => self.bearer_token = Some(t.clone()),
            None => {}
        }
        self
    }
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            insecure: false,
            ca_file: None,
            username: None,
            password: None,
            bearer_token: None,
            docker_config: None,
            use_docker_config: true,
            credential_helper_path: None,
            credential_helper_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(30),
            read_timeout: Duration::from_secs(60),
            max_redirects: 5,
            max_manifest_bytes: Limits::default().max_json_bytes,
            user_agent: format!("rampart/{}", env!("CARGO_PKG_VERSION")),
        }
    }
}

/// A fetched manifest or index: its descriptor (digest verified) and its bytes.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// media type, digest and size
    pub descriptor: Descriptor,
    /// the document as served
    pub bytes: Vec<u8>,
}

/// Why a manifest response is refused ([`Manifest::from_response`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestProblem {
    /// the `Docker-Content-Digest` header is not a digest
    #[error("bad Docker-Content-Digest header: {0}")]
    DigestHeader(#[source] rampart_image::ImageError),
    /// the bytes do not hash to the digest asked for or announced
    #[error("digest mismatch: expected {expected}, found {found}")]
    DigestMismatch {
        /// the digest asked for or announced
        expected: String,
        /// the digest of the bytes
        found: String,
    },
    /// the body is not a JSON object
    #[error("the manifest is not JSON: {0}")]
    Json(#[source] serde_json::Error),
    /// a Docker schema 1 manifest (unsigned or signed)
    #[error("expected an OCI or Docker schema 2 manifest, found a schema 1 manifest")]
    Schema1,
}

impl Manifest {
    /// Checks a manifest response: the bytes must hash to the `pinned` digest (the reference's)
    /// and to the `Docker-Content-Digest` announced, and be a schema 2 / OCI JSON document. The
    /// media type is the `Content-Type` when it is a vendor type, else the document's own
    /// `mediaType`. No I/O: the caller bounded `bytes`.
    pub fn from_response(
        bytes: Vec<u8>,
        content_type: Option<&str>,
        docker_content_digest: Option<&str>,
        pinned: Option<&Digest>,
    ) -> Result<Self, ManifestProblem> {
        let announced = docker_content_digest
            .map(|v| Digest::parse(v.trim()))
            .transpose()
            .map_err(ManifestProblem::DigestHeader)?;
        let mut digest = None;
        for want in [pinned, announced.as_ref()].into_iter().flatten() {
            let found = digest_like(want, &bytes);
            if &found != want {
                return Err(ManifestProblem::DigestMismatch {
                    expected: want.to_string(),
                    found: found.to_string(),
                });
            }
            digest.get_or_insert(found);
        }
        let digest = digest.unwrap_or_else(|| Digest::sha256_of(&bytes));
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Head {
            #[serde(default)]
            schema_version: Option<u64>,
            #[serde(default)]
            media_type: Option<String>,
        }
        let head: Head = serde_json::from_slice(&bytes).map_err(ManifestProblem::Json)?;
        let media_type = content_type
            .and_then(|v| v.split(';').next())
            .map(str::trim)
            .filter(|t| t.starts_with("application/vnd."))
            .map(str::to_owned)
            .or(head.media_type);
        if head.schema_version == Some(1)
            || media_type
                .as_deref()
                .is_some_and(|t| t.starts_with(DOCKER_SCHEMA1))
        {
            return Err(ManifestProblem::Schema1);
        }
        Ok(Self {
            descriptor: Descriptor {
                media_type,
                digest: digest.to_string(),
                size: Some(bytes.len() as u64),
                platform: None,
            },
            bytes,
        })
    }
}

/// What [`Client::push_blob`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobPush {
    /// the registry already had the blob; nothing was sent
    Existed,
    /// the blob was uploaded
    Uploaded,
}

#[derive(Default)]
struct RegistryState {
    /// looked up at the first challenge, then kept (`Some(None)`: anonymous)
    credentials: Option<Option<Credentials>>,
    /// the registry asked for HTTP Basic
    basic: bool,
    /// the token server the registry named (realm, service)
    bearer: Option<(String, Option<String>)>,
    /// access tokens by scope
    tokens: HashMap<String, (Secret, Instant)>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Method {
    Get,
    Head,
    Post,
    Put,
}

enum ReqBody<'a> {
    Empty,
    Bytes(&'a [u8]),
    Reader(&'a mut (dyn Read + Send)),
}

struct Req<'a> {
    method: Method,
    repo: &'a Repository,
    url: String,
    what: String,
    actions: &'static str,
    accept: Option<String>,
    content_type: Option<&'a str>,
    content_length: Option<u64>,
    body: ReqBody<'a>,
    /// false when the URL leaves the registry's host (an upload location elsewhere)
    send_auth: bool,
}

impl Req<'_> {
    fn scope(&self) -> String {
        if self.actions == CATALOG {
            return format!("registry:{CATALOG}");
        }
        format!("repository:{}:{}", self.repo.path(), self.actions)
    }
}

/// A synchronous, blocking registry client for any number of registries. Credentials are
/// looked up when a registry first asks for them; tokens are cached per registry and scope.
/// `Send + Sync`: one client serves many threads.
pub struct Client {
    agent: ureq::Agent,
    insecure: bool,
    /// the pre-issued token sent as is ([`ClientOptions::bearer_token`])
    bearer: Option<Secret>,
    credentials: CredentialSource,
    max_manifest_bytes: u64,
    max_redirects: u32,
    state: Mutex<HashMap<String, RegistryState>>,
    /// manifests fetched lately, by registry, repository and digest
    recent: Mutex<VecDeque<(Instant, String, Manifest)>>,
}

/// How many manifests a client remembers, and for how long: a reference resolved by its tag and
/// then opened by the digest found (a fleet job, a scan after a resolve) is fetched once. A
/// manifest is named by its digest, so what is remembered cannot differ from what the registry
/// would send; it is kept briefly (one deleted since is not served for long) and per repository
/// (access to one repository never answers for another).
const RECENT_MANIFESTS: usize = 16;
const RECENT_FOR: Duration = Duration::from_secs(30);

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("insecure", &self.insecure)
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// System roots (plus the CA file), or the bundled Mozilla roots when the system has none.
/// Shared with the other HTTPS clients (the vulnerability database download).
pub fn tls_config(ca_file: Option<&Path>) -> Result<TlsConfig, RegistryError> {
    let native = rustls_native_certs::load_native_certs();
    let mut certs: Vec<Certificate<'static>> = native
        .certs
        .iter()
        .map(|c| Certificate::from_der(c.as_ref()).to_owned())
        .collect();
    if let Some(path) = ca_file {
        let shown = path.display().to_string();
        let file = std::fs::File::open(path).map_err(|source| RegistryError::Io {
            path: shown.clone(),
            source,
        })?;
        let mut pem = Vec::new();
        file.take(MAX_CA_FILE)
            .read_to_end(&mut pem)
            .map_err(|source| RegistryError::Io {
                path: shown.clone(),
                source,
            })?;
        let mut found = 0usize;
        for item in ureq::tls::parse_pem(&pem) {
            match item {
                Ok(PemItem::Certificate(c)) => {
                    certs.push(c.to_owned());
                    found += 1;
                }
                Ok(_) => {}
                Err(e) => {
                    return Err(RegistryError::Options {
                        problem: format!("CA file {shown}: malformed PEM: {e}"),
                    });
                }
            }
        }
        if found == 0 {
            return Err(RegistryError::Options {
                problem: format!("CA file {shown}: expected PEM certificates, found none"),
            });
        }
    }
    let roots = if certs.is_empty() {
        RootCerts::WebPki
    } else {
        RootCerts::new_with_certs(&certs)
    };
    Ok(TlsConfig::builder()
        .provider(TlsProvider::Rustls)
        .root_certs(roots)
        .build())
}

/// Describes a transport error without the URLs some variants carry (a redirect target may
/// hold a signed query string).
fn describe(e: &ureq::Error, max_redirects: u32) -> String {
    match e {
        ureq::Error::BadUri(_) => String::from("the server sent an invalid URL"),
        ureq::Error::RequireHttpsOnly(_) => String::from(
            "refused to follow a plain-HTTP URL (only allowed with the insecure option)",
        ),
        ureq::Error::TooManyRedirects => {
            format!("more than {max_redirects} redirects")
        }
        other => other.to_string(),
    }
}

fn header<'r>(resp: &'r Response<ureq::Body>, name: &str) -> Option<&'r str> {
    resp.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The distribution error codes of an error body: `CODE: message; CODE: message`, truncated.
fn error_codes(resp: Response<ureq::Body>) -> String {
    #[derive(Deserialize)]
    struct Body {
        #[serde(default)]
        errors: Vec<Item>,
    }
    #[derive(Deserialize)]
    struct Item {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
    }
    let mut bytes = Vec::new();
    let _ = resp
        .into_body()
        .into_reader()
        .take(MAX_ERROR_BODY)
        .read_to_end(&mut bytes);
    let Ok(body) = serde_json::from_slice::<Body>(&bytes) else {
        return String::new();
    };
    let clean = |s: &str, n: usize| -> String {
        s.chars()
            .filter(|c| !c.is_control())
            .take(n)
            .collect::<String>()
    };
    let mut out = body
        .errors
        .iter()
        .take(5)
        .map(|e| {
            if e.message.is_empty() {
                clean(&e.code, 64)
            } else {
                format!("{}: {}", clean(&e.code, 64), clean(&e.message, 160))
            }
        })
        .collect::<Vec<_>>()
        .join("; ");
    if out.chars().count() > 400 {
        out = out.chars().take(400).collect::<String>() + "…";
    }
    out
}

/// Hashes `bytes` with the algorithm of `like`.
fn digest_like(like: &Digest, bytes: &[u8]) -> Digest {
    let hex = match like.algorithm() {
        rampart_image::Algorithm::Sha256 => hex(&sha2::Sha256::digest(bytes)),
        rampart_image::Algorithm::Sha512 => hex(&sha2::Sha512::digest(bytes)),
    };
    Digest::parse(&format!("{}:{hex}", like.algorithm().name()))
        .unwrap_or_else(|_| Digest::sha256_of(bytes))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// The host of an absolute URL (`https://host:1/x` → `host:1`).
fn url_host(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    rest.split(['/', '?', '#']).next()
}

impl Client {
    /// A client with these options. Reads the CA file and the system roots now; credentials
    /// are read later, when a registry asks for them.
    pub fn new(options: &ClientOptions) -> Result<Self, RegistryError> {
        let explicit = match (&options.username, &options.password) {
            (Some(u), Some(p)) => Some(Credentials::Basic {
                username: u.clone(),
                password: p.clone(),
            }),
            (None, None) => None,
            (Some(_), None) => {
                return Err(RegistryError::Options {
                    problem: String::from("a user name was given without a password"),
                });
            }
            (None, Some(_)) => {
                return Err(RegistryError::Options {
                    problem: String::from("a password was given without a user name"),
                });
            }
        };
        if let Some(t) = &options.bearer_token {
            if explicit.is_some() {
                return Err(RegistryError::Options {
                    problem: String::from(
                        "a bearer token and a user name were both given: one credential only",
                    ),
                });
            }
            if t.is_empty() || !t.expose().bytes().all(|b| b.is_ascii_graphic()) {
                return Err(RegistryError::Options {
                    problem: String::from("the bearer token is empty or not a header-safe string"),
                });
            }
        }
        let tls = if options.insecure {
            TlsConfig::builder().build()
        } else {
            tls_config(options.ca_file.as_deref())?
        };
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .https_only(!options.insecure)
            .tls_config(tls)
            .max_redirects(options.max_redirects)
            .max_redirects_will_error(true)
            .redirect_auth_headers(ureq::config::RedirectAuthHeaders::SameHost)
            .user_agent(options.user_agent.as_str())
            .accept_encoding(ureq::config::AutoHeaderValue::None)
            .timeout_connect(Some(options.connect_timeout))
            .timeout_recv_response(Some(options.read_timeout))
            .timeout_per_read(Some(options.read_timeout))
            .timeout_per_write(Some(options.read_timeout))
            .build();
        Ok(Self {
            agent: config.new_agent(),
            insecure: options.insecure,
            bearer: options.bearer_token.clone(),
            credentials: CredentialSource {
                explicit,
                docker_config: options.docker_config.clone(),
                use_docker_config: options.use_docker_config,
                helper_path: options.credential_helper_path.clone(),
                helper_timeout: options.credential_helper_timeout,
            },
            max_manifest_bytes: options.max_manifest_bytes,
            max_redirects: options.max_redirects,
            state: Mutex::new(HashMap::new()),
            recent: Mutex::new(VecDeque::new()),
        })
    }

    fn base(&self, repo: &Repository) -> String {
        let scheme = if self.insecure { "http" } else { "https" };
        format!("{scheme}://{}", repo.api_host())
    }

    fn repo_url(&self, repo: &Repository, tail: &str) -> String {
        format!("{}/v2/{}/{tail}", self.base(repo), repo.path())
    }

    // -----------------------------------------------------------------------------------------
    // transport and auth

    fn transport_error(&self, registry: &str, what: &str, e: &ureq::Error) -> RegistryError {
        RegistryError::Transport {
            registry: registry.to_owned(),
            what: what.to_owned(),
            problem: describe(e, self.max_redirects),
        }
    }

    fn execute(
        &self,
        req: &mut Req<'_>,
        auth: Option<&Secret>,
    ) -> Result<Response<ureq::Body>, RegistryError> {
        let mut headers: Vec<(&str, String)> = Vec::new();
        if let Some(a) = auth {
            headers.push(("Authorization", a.expose().to_owned()));
        }
        if let Some(a) = &req.accept {
            headers.push(("Accept", a.clone()));
        }
        if let Some(ct) = req.content_type {
            headers.push(("Content-Type", ct.to_owned()));
        }
        if let Some(n) = req.content_length {
            headers.push(("Content-Length", n.to_string()));
        }
        fn with<B>(
            mut b: ureq::RequestBuilder<B>,
            headers: &[(&str, String)],
        ) -> ureq::RequestBuilder<B> {
            for (k, v) in headers {
                b = b.header(*k, v.as_str());
            }
            b
        }
        let url = req.url.as_str();
        let result = match (req.method, &mut req.body) {
            (Method::Get, _) => with(self.agent.get(url), &headers).call(),
            (Method::Head, _) => with(self.agent.head(url), &headers).call(),
            (Method::Post, ReqBody::Empty) => with(self.agent.post(url), &headers).send_empty(),
            (Method::Put, ReqBody::Empty) => with(self.agent.put(url), &headers).send_empty(),
            (Method::Post, ReqBody::Bytes(b)) => with(self.agent.post(url), &headers).send(*b),
            (Method::Put, ReqBody::Bytes(b)) => with(self.agent.put(url), &headers).send(*b),
            (Method::Post, ReqBody::Reader(r)) => {
                with(self.agent.post(url), &headers).send(ureq::SendBody::from_reader(&mut **r))
            }
            (Method::Put, ReqBody::Reader(r)) => {
                with(self.agent.put(url), &headers).send(ureq::SendBody::from_reader(&mut **r))
            }
        };
        result.map_err(|e| self.transport_error(req.repo.registry(), &req.what, &e))
    }

    /// The `Authorization` value to send for this request, fetching a token first when the
    /// registry is known to use a token server and none is cached for the scope.
    fn authorization(&self, req: &Req<'_>) -> Result<Option<Secret>, RegistryError> {
        if !req.send_auth {
            return Ok(None);
        }
        if let Some(t) = &self.bearer {
            return Ok(Some(Secret::new(format!("Bearer {}", t.expose()))));
        }
        let registry = req.repo.registry();
        let scope = req.scope();
        let (bearer, creds) = {
            let mut state = lock(&self.state);
            let st = state.entry(registry.to_owned()).or_default();
            if let Some((token, until)) = st.tokens.get(&scope) {
                if Instant::now() < *until {
                    return Ok(Some(Secret::new(format!("Bearer {}", token.expose()))));
                }
            }
            if st.basic {
                let creds = st.credentials.clone().flatten();
                return Ok(creds.as_ref().and_then(Credentials::basic_header));
            }
            (st.bearer.clone(), st.credentials.clone().flatten())
        };
        match bearer {
            Some((realm, service)) => {
                let token =
                    self.fetch_token(req, &realm, service.as_deref(), &[scope], creds.as_ref())?;
                Ok(Some(Secret::new(format!("Bearer {}", token.expose()))))
            }
            None => Ok(None),
        }
    }

    fn credentials_for(&self, registry: &str) -> Result<Option<Credentials>, RegistryError> {
        if let Some(c) = lock(&self.state)
            .get(registry)
            .and_then(|s| s.credentials.clone())
        {
            return Ok(c);
        }
        let found = self.credentials.lookup(registry)?;
        lock(&self.state)
            .entry(registry.to_owned())
            .or_default()
            .credentials = Some(found.clone());
        Ok(found)
    }

    /// Learns from a 401's challenges; whether there is something new to try.
    fn answer_challenge(
        &self,
        req: &Req<'_>,
        challenges: &[Challenge],
    ) -> Result<bool, RegistryError> {
        let registry = req.repo.registry();
        let creds = self.credentials_for(registry)?;
        if let Some(bearer) = challenges.iter().find(|c| c.scheme == "bearer") {
            let realm = bearer
                .param("realm")
                .filter(|r| !r.is_empty())
                .ok_or_else(|| RegistryError::Protocol {
                    registry: registry.to_owned(),
                    what: req.what.clone(),
                    problem: String::from("bearer challenge without a realm"),
                })?
                .to_owned();
            let service = bearer.param("service").map(str::to_owned);
            let scope = req.scope();
            let mut scopes = vec![scope.clone()];
            if let Some(s) = bearer.param("scope").filter(|s| *s != scope) {
                scopes.extend(s.split(' ').filter(|s| !s.is_empty()).map(str::to_owned));
            }
            {
                let mut state = lock(&self.state);
                let st = state.entry(registry.to_owned()).or_default();
                st.bearer = Some((realm.clone(), service.clone()));
                st.basic = false;
                st.tokens.remove(&scope);
            }
            self.fetch_token(req, &realm, service.as_deref(), &scopes, creds.as_ref())?;
            return Ok(true);
        }
        if challenges.iter().any(|c| c.scheme == "basic") {
            let mut state = lock(&self.state);
            let st = state.entry(registry.to_owned()).or_default();
            let new = !st.basic;
            st.basic = true;
            return Ok(new && creds.as_ref().and_then(Credentials::basic_header).is_some());
        }
        Ok(false)
    }

    /// Asks the token server for an access token covering `scopes` and caches it under the
    /// first scope.
    fn fetch_token(
        &self,
        req: &Req<'_>,
        realm: &str,
        service: Option<&str>,
        scopes: &[String],
        creds: Option<&Credentials>,
    ) -> Result<Secret, RegistryError> {
        let realm_host = url_host(realm).unwrap_or(realm).to_owned();
        let what = format!(
            "get a token for {}",
            scopes.first().map_or("", String::as_str)
        );
        let protocol = |problem: String| RegistryError::Protocol {
            registry: realm_host.clone(),
            what: what.clone(),
            problem,
        };
        if !(realm.starts_with("https://") || self.insecure && realm.starts_with("http://")) {
            return Err(protocol(format!(
                "the token realm {:?} is not an https URL (plain http only with the insecure option)",
                realm.chars().take(200).collect::<String>()
            )));
        }
        let result = match creds {
            Some(Credentials::IdentityToken(refresh)) => {
                let mut form: Vec<(&str, &str)> = vec![
                    ("grant_type", "refresh_token"),
                    ("client_id", "rampart"),
                    ("refresh_token", refresh.expose()),
                ];
                if let Some(s) = service {
                    form.push(("service", s));
                }
                let joined = scopes.join(" ");
                form.push(("scope", &joined));
                self.agent.post(realm).send_form(form)
            }
            other => {
                let mut b = self.agent.get(realm);
                if let Some(s) = service {
                    b = b.query("service", s);
                }
                for s in scopes {
                    b = b.query("scope", s);
                }
                if let Some(h) = other.and_then(Credentials::basic_header) {
                    b = b.header("Authorization", h.expose());
                }
                b.call()
            }
        };
        let resp = result.map_err(|e| RegistryError::Transport {
            registry: realm_host.clone(),
            what: what.clone(),
            problem: describe(&e, self.max_redirects),
        })?;
        let status = resp.status();
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(RegistryError::Unauthorized {
                registry: req.repo.registry().to_owned(),
                repository: req.repo.path().to_owned(),
                what: format!("{} (token server {realm_host})", req.what),
                status: status.as_u16(),
                codes: error_codes(resp),
                hint: self.hint(creds),
            });
        }
        if !status.is_success() {
            return Err(RegistryError::Status {
                registry: realm_host,
                repository: req.repo.path().to_owned(),
                what,
                status: status.as_u16(),
                codes: error_codes(resp),
            });
        }
        let mut bytes = Vec::new();
        resp.into_body()
            .into_reader()
            .take(MAX_TOKEN_BODY + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| protocol(format!("cannot read the answer: {e}")))?;
        if bytes.len() as u64 > MAX_TOKEN_BODY {
            return Err(protocol(format!(
                "answer larger than {MAX_TOKEN_BODY} bytes"
            )));
        }
        #[derive(Deserialize)]
        struct TokenAnswer {
            #[serde(default)]
            token: Option<Secret>,
            #[serde(default)]
            access_token: Option<Secret>,
            #[serde(default)]
            expires_in: Option<u64>,
        }
        let answer: TokenAnswer = serde_json::from_slice(&bytes)
            .map_err(|e| protocol(format!("expected JSON with a token: {e}")))?;
        let token = answer
            .token
            .filter(|t| !t.is_empty())
            .or(answer.access_token.filter(|t| !t.is_empty()))
            .ok_or_else(|| protocol(String::from("the answer has no token or access_token")))?;
        if !token.expose().bytes().all(|b| b.is_ascii_graphic()) {
            return Err(protocol(String::from(
                "the token is not a header-safe string",
            )));
        }
        let secs = answer.expires_in.unwrap_or(60).max(1);
        let lifetime = Duration::from_secs(secs - secs / 10).min(MAX_TOKEN_LIFETIME);
        if let Some(first) = scopes.first() {
            lock(&self.state)
                .entry(req.repo.registry().to_owned())
                .or_default()
                .tokens
                .insert(first.clone(), (token.clone(), Instant::now() + lifetime));
        }
        Ok(token)
    }

    fn hint(&self, creds: Option<&Credentials>) -> String {
        if self.bearer.is_some() {
            return String::from(
                "the bearer token given was refused (expired, or not valid for this repository)",
            );
        }
        match creds {
            None => String::from(
                "no credentials were found for this registry (give a user name and password, or log in with docker)",
            ),
            Some(Credentials::Basic { username, .. }) => {
                format!("the credentials of user {username:?} were refused")
            }
            Some(Credentials::IdentityToken(_)) => {
                String::from("the identity token from the docker config was refused")
            }
        }
    }

    /// Sends a request, answering one authentication challenge.
    fn send(&self, req: &mut Req<'_>) -> Result<Response<ureq::Body>, RegistryError> {
        let auth = self.authorization(req)?;
        let resp = self.execute(req, auth.as_ref())?;
        // a pre-issued token is the only credential: a refusal is not answered with another
        let retryable =
            !matches!(req.body, ReqBody::Reader(_)) && req.send_auth && self.bearer.is_none();
        if resp.status() != StatusCode::UNAUTHORIZED || !retryable {
            return Ok(resp);
        }
        let header = resp
            .headers()
            .get_all("www-authenticate")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(", ");
        let challenges = parse_challenges(&header).map_err(|source| RegistryError::Challenge {
            registry: req.repo.registry().to_owned(),
            what: req.what.clone(),
            source,
        })?;
        if !self.answer_challenge(req, &challenges)? {
            return Ok(resp);
        }
        let auth = self.authorization(req)?;
        self.execute(req, auth.as_ref())
    }

    /// Turns a response with an unexpected status into an error.
    fn status_error(&self, req: &Req<'_>, resp: Response<ureq::Body>) -> RegistryError {
        let status = resp.status().as_u16();
        let registry = req.repo.registry().to_owned();
        let repository = req.repo.path().to_owned();
        let what = req.what.clone();
        if status == 401 || status == 403 {
            let creds = lock(&self.state)
                .get(&registry)
                .and_then(|s| s.credentials.clone())
                .flatten();
            return RegistryError::Unauthorized {
                registry,
                repository,
                what,
                status,
                codes: error_codes(resp),
                hint: self.hint(creds.as_ref()),
            };
        }
        RegistryError::Status {
            registry,
            repository,
            what,
            status,
            codes: if req.method == Method::Head {
                String::new()
            } else {
                error_codes(resp)
            },
        }
    }

    fn req<'a>(
        &self,
        method: Method,
        repo: &'a Repository,
        tail: &str,
        what: String,
        actions: &'static str,
    ) -> Req<'a> {
        Req {
            method,
            repo,
            url: self.repo_url(repo, tail),
            what,
            actions,
            accept: None,
            content_type: None,
            content_length: None,
            body: ReqBody::Empty,
            send_auth: true,
        }
    }

    fn read_limited(
        &self,
        req: &Req<'_>,
        resp: Response<ureq::Body>,
        limit: u64,
    ) -> Result<Vec<u8>, RegistryError> {
        let too_large = || RegistryError::TooLarge {
            registry: req.repo.registry().to_owned(),
            repository: req.repo.path().to_owned(),
            what: req.what.clone(),
            limit,
        };
        if header(&resp, "content-length")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .is_some_and(|n| n > limit)
        {
            return Err(too_large());
        }
        let mut bytes = Vec::new();
        resp.into_body()
            .into_reader()
            .take(limit.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| RegistryError::Transport {
                registry: req.repo.registry().to_owned(),
                what: req.what.clone(),
                problem: format!("reading the body: {e}"),
            })?;
        if bytes.len() as u64 > limit {
            return Err(too_large());
        }
        Ok(bytes)
    }

    fn announced_digest(
        &self,
        req: &Req<'_>,
        resp: &Response<ureq::Body>,
    ) -> Result<Option<Digest>, RegistryError> {
        header(resp, "docker-content-digest")
            .map(|v| {
                Digest::parse(v.trim()).map_err(|e| RegistryError::Protocol {
                    registry: req.repo.registry().to_owned(),
                    what: req.what.clone(),
                    problem: format!("bad Docker-Content-Digest header: {e}"),
                })
            })
            .transpose()
    }

    fn mismatch(&self, req: &Req<'_>, expected: &Digest, found: &Digest) -> RegistryError {
        RegistryError::DigestMismatch {
            registry: req.repo.registry().to_owned(),
            repository: req.repo.path().to_owned(),
            what: req.what.clone(),
            expected: expected.to_string(),
            found: found.to_string(),
        }
    }

    // -----------------------------------------------------------------------------------------
    // operations

    /// Fetches the manifest or index a reference names, verifying its digest (the reference's,
    /// and the `Docker-Content-Digest` the registry announces), bounded by
    /// [`ClientOptions::max_manifest_bytes`].
    pub fn fetch_manifest(&self, reference: &Reference) -> Result<Manifest, RegistryError> {
        self.fetch_manifest_limited(reference, self.max_manifest_bytes)
    }

    pub(crate) fn fetch_manifest_limited(
        &self,
        reference: &Reference,
        limit: u64,
    ) -> Result<Manifest, RegistryError> {
        let repo = reference.repository();
        let recent_key = |d: &str| format!("{}/{}@{d}", repo.registry(), repo.path());
        if let Some(d) = reference.digest() {
            let wanted = recent_key(&d.to_string());
            let mut recent = lock(&self.recent);
            recent.retain(|(at, _, _)| at.elapsed() < RECENT_FOR);
            if let Some((_, _, m)) = recent.iter().find(|(_, k, _)| *k == wanted) {
                if m.bytes.len() as u64 <= limit {
                    return Ok(m.clone());
                }
            }
        }
        let manifest = self.fetch_manifest_from(reference, limit)?;
        let key = recent_key(&manifest.descriptor.digest);
        let mut recent = lock(&self.recent);
        // a tag resolved again is one manifest, remembered once
        recent.retain(|(_, k, _)| *k != key);
        if recent.len() >= RECENT_MANIFESTS {
            recent.pop_front();
        }
        recent.push_back((Instant::now(), key, manifest.clone()));
        Ok(manifest)
    }

    /// [`Client::fetch_manifest_limited`], from the registry.
    fn fetch_manifest_from(
        &self,
        reference: &Reference,
        limit: u64,
    ) -> Result<Manifest, RegistryError> {
        let key = reference.manifest_key();
        let repo = reference.repository();
        let mut req = self.req(
            Method::Get,
            repo,
            &format!("manifests/{key}"),
            format!("get manifest {key}"),
            "pull",
        );
        req.accept = Some(MANIFEST_MEDIA_TYPES.join(", "));
        let resp = self.send(&mut req)?;
        if resp.status() != StatusCode::OK {
            return Err(self.status_error(&req, resp));
        }
        let content_type = header(&resp, "content-type").map(str::to_owned);
        let announced = header(&resp, "docker-content-digest").map(str::to_owned);
        let bytes = self.read_limited(&req, resp, limit)?;
        Manifest::from_response(
            bytes,
            content_type.as_deref(),
            announced.as_deref(),
            reference.digest(),
        )
        .map_err(|problem| match problem {
            ManifestProblem::DigestMismatch { expected, found } => RegistryError::DigestMismatch {
                registry: repo.registry().to_owned(),
                repository: repo.path().to_owned(),
                what: req.what.clone(),
                expected,
                found,
            },
            other => RegistryError::Protocol {
                registry: repo.registry().to_owned(),
                what: req.what.clone(),
                problem: other.to_string(),
            },
        })
    }

    /// Resolves a reference to the descriptor of its manifest or index.
    pub fn resolve(&self, reference: &Reference) -> Result<Descriptor, RegistryError> {
        self.fetch_manifest(reference).map(|m| m.descriptor)
    }

    /// Opens a blob as a stream, never buffered whole. The bytes are not verified here (the
    /// reader of the stream does it: [`rampart_image::Image`] checks every digest while
    /// reading), but a `Docker-Content-Digest` that names another blob is refused.
    pub fn open_blob(
        &self,
        repo: &Repository,
        digest: &Digest,
    ) -> Result<BlobReader<'static>, RegistryError> {
        let mut req = self.req(
            Method::Get,
            repo,
            &format!("blobs/{digest}"),
            format!("get blob {digest}"),
            "pull",
        );
        let resp = self.send(&mut req)?;
        if resp.status() != StatusCode::OK {
            return Err(self.status_error(&req, resp));
        }
        if let Some(announced) = self.announced_digest(&req, &resp)? {
            if &announced != digest {
                return Err(self.mismatch(&req, digest, &announced));
            }
        }
        Ok(Box::new(resp.into_body().into_reader()))
    }

    /// Fetches a small blob whole (a config, a signature), bounded by `limit` bytes and
    /// verified against its digest.
    pub fn fetch_blob(
        &self,
        repo: &Repository,
        digest: &Digest,
        limit: u64,
    ) -> Result<Vec<u8>, RegistryError> {
        let what = format!("get blob {digest}");
        let mut bytes = Vec::new();
        self.open_blob(repo, digest)?
            .take(limit.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| RegistryError::Transport {
                registry: repo.registry().to_owned(),
                what: what.clone(),
                problem: format!("reading the body: {e}"),
            })?;
        if bytes.len() as u64 > limit {
            return Err(RegistryError::TooLarge {
                registry: repo.registry().to_owned(),
                repository: repo.path().to_owned(),
                what,
                limit,
            });
        }
        let found = digest_like(digest, &bytes);
        if &found != digest {
            return Err(RegistryError::DigestMismatch {
                registry: repo.registry().to_owned(),
                repository: repo.path().to_owned(),
                what,
                expected: digest.to_string(),
                found: found.to_string(),
            });
        }
        Ok(bytes)
    }

    /// Whether the repository has this blob (`HEAD`).
    pub fn blob_exists(&self, repo: &Repository, digest: &Digest) -> Result<bool, RegistryError> {
        self.blob_exists_for(repo, digest, "pull")
    }

    fn blob_exists_for(
        &self,
        repo: &Repository,
        digest: &Digest,
        actions: &'static str,
    ) -> Result<bool, RegistryError> {
        let mut req = self.req(
            Method::Head,
            repo,
            &format!("blobs/{digest}"),
            format!("check blob {digest}"),
            actions,
        );
        let resp = self.send(&mut req)?;
        match resp.status() {
            StatusCode::OK => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            _ => Err(self.status_error(&req, resp)),
        }
    }

    /// Uploads a blob of `size` bytes streamed from `reader` (monolithic: one `POST` to open
    /// the upload, one `PUT` with the content and its digest). Skips the upload when the
    /// registry has the blob. The registry verifies the digest; a mismatch is its error.
    pub fn push_blob(
        &self,
        repo: &Repository,
        digest: &Digest,
        size: u64,
        reader: &mut (dyn Read + Send),
    ) -> Result<BlobPush, RegistryError> {
        if self.blob_exists_for(repo, digest, "pull,push")? {
            return Ok(BlobPush::Existed);
        }
        let mut start = self.req(
            Method::Post,
            repo,
            "blobs/uploads/",
            format!("start upload of blob {digest}"),
            "pull,push",
        );
        start.content_length = Some(0);
        let resp = self.send(&mut start)?;
        if resp.status() != StatusCode::ACCEPTED {
            return Err(self.status_error(&start, resp));
        }
        let location = header(&resp, "location")
            .map(str::to_owned)
            .ok_or_else(|| RegistryError::Protocol {
                registry: repo.registry().to_owned(),
                what: start.what.clone(),
                problem: String::from("the upload answer has no Location header"),
            })?;
        let (url, same_host) = if location.starts_with('/') {
            (format!("{}{location}", self.base(repo)), true)
        } else if location.starts_with("https://")
            || self.insecure && location.starts_with("http://")
        {
            let same = url_host(&location) == Some(repo.api_host());
            (location, same)
        } else {
            return Err(RegistryError::Protocol {
                registry: repo.registry().to_owned(),
                what: start.what,
                problem: String::from("the upload Location is neither a path nor an https URL"),
            });
        };
        let mut limited = reader.take(size);
        let mut put = Req {
            method: Method::Put,
            repo,
            url,
            what: format!("upload blob {digest}"),
            actions: "pull,push",
            accept: None,
            content_type: Some("application/octet-stream"),
            content_length: Some(size),
            body: ReqBody::Reader(&mut limited),
            send_auth: same_host,
        };
        // ureq appends the query parameter with the right separator and encoding
        put.url = append_query(&put.url, "digest", &digest.to_string());
        let resp = self.send(&mut put)?;
        if resp.status() != StatusCode::CREATED {
            return Err(self.status_error(&put, resp));
        }
        if let Some(announced) = self.announced_digest(&put, &resp)? {
            if &announced != digest {
                return Err(self.mismatch(&put, digest, &announced));
            }
        }
        Ok(BlobPush::Uploaded)
    }

    /// Uploads a manifest or index under the reference's tag (or digest), with its media type.
    /// Returns its digest; a reference digest that the bytes do not hash to is refused before
    /// anything is sent.
    pub fn push_manifest(
        &self,
        reference: &Reference,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<Digest, RegistryError> {
        let key = reference.manifest_key();
        let repo = reference.repository();
        let mut req = self.req(
            Method::Put,
            repo,
            &format!("manifests/{key}"),
            format!("put manifest {key}"),
            "pull,push",
        );
        let digest = match reference.digest() {
            Some(want) => {
                let found = digest_like(want, bytes);
                if &found != want {
                    return Err(self.mismatch(&req, want, &found));
                }
                found
            }
            None => Digest::sha256_of(bytes),
        };
        req.content_type = Some(media_type);
        req.body = ReqBody::Bytes(bytes);
        let resp = self.send(&mut req)?;
        if resp.status() != StatusCode::CREATED {
            return Err(self.status_error(&req, resp));
        }
        if let Some(announced) = self.announced_digest(&req, &resp)? {
            if announced.algorithm() == digest.algorithm() && announced != digest {
                return Err(self.mismatch(&req, &digest, &announced));
            }
        }
        Ok(digest)
    }

    /// The OCI 1.1 referrers of `digest` in `repo`, as the image index JSON the registry
    /// returns: from the referrers API (`GET /v2/<name>/referrers/<digest>`), or, when the
    /// registry does not have that API (404), from the fallback tag the OCI distribution spec
    /// defines (`sha256-<hex>`). `None` when neither exists. Bounded like a manifest.
    pub fn referrers(
        &self,
        repo: &Repository,
        digest: &Digest,
    ) -> Result<Option<Vec<u8>>, RegistryError> {
        let mut req = self.req(
            Method::Get,
            repo,
            &format!("referrers/{digest}"),
            format!("list referrers of {digest}"),
            "pull",
        );
        req.accept = Some(String::from("application/vnd.oci.image.index.v1+json"));
        let resp = self.send(&mut req)?;
        if resp.status() == StatusCode::OK {
            return self
                .read_limited(&req, resp, self.max_manifest_bytes)
                .map(Some);
        }
        if resp.status() != StatusCode::NOT_FOUND {
            return Err(self.status_error(&req, resp));
        }
        let tag = digest.to_string().replacen(':', "-", 1);
        let reference = Reference::parse(&format!("{repo}:{tag}"))?;
        match self.fetch_manifest(&reference) {
            Ok(m) => Ok(Some(m.bytes)),
            Err(RegistryError::Status { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Lists the tags of a repository, following `Link` pagination.
    pub fn list_tags(&self, repo: &Repository) -> Result<Vec<String>, RegistryError> {
        let url = self.repo_url(repo, "tags/list");
        self.list_pages(repo, url, "list tags", "pull", "tags")
    }

    /// Lists the repositories of a registry (`/v2/_catalog`, the `registry:catalog:*` scope),
    /// following `Link` pagination. `registry` as written in references (`127.0.0.1:5000`).
    pub fn catalog(&self, registry: &str) -> Result<Vec<String>, RegistryError> {
        let repo = Repository::new(registry.to_owned(), String::new());
        let url = format!("{}/v2/_catalog", self.base(&repo));
        let mut names =
            self.list_pages(&repo, url, "list repositories", CATALOG, "repositories")?;
        // a repository name the references grammar refuses cannot be pulled: left to the
        // caller's reference parsing, which names it
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// A list the registry pages with `Link: <...>; rel="next"` (tags, the catalog): at most
    /// [`MAX_LIST_PAGES`] pages and [`MAX_LIST_ENTRIES`] entries, each page bounded like a
    /// manifest, a page seen twice (a loop) or a link off the registry refused.
    fn list_pages(
        &self,
        repo: &Repository,
        first: String,
        what: &str,
        actions: &'static str,
        key: &str,
    ) -> Result<Vec<String>, RegistryError> {
        let protocol = |problem: String| RegistryError::Protocol {
            registry: repo.registry().to_owned(),
            what: what.to_owned(),
            problem,
        };
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut url = first;
        for _ in 0..MAX_LIST_PAGES {
            if !seen.insert(url.clone()) {
                return Err(protocol(format!(
                    "the pages loop: `{url}` was linked to again"
                )));
            }
            let mut req = self.req(Method::Get, repo, "", what.to_owned(), actions);
            req.url = url.clone();
            let resp = self.send(&mut req)?;
            if resp.status() != StatusCode::OK {
                return Err(self.status_error(&req, resp));
            }
            let next = header(&resp, "link").and_then(next_link);
            let bytes = self.read_limited(&req, resp, self.max_manifest_bytes)?;
            let page: serde_json::Value = serde_json::from_slice(&bytes)
                .map_err(|e| protocol(format!("expected JSON with a `{key}` list: {e}")))?;
            match page.get(key) {
                None | Some(serde_json::Value::Null) => {}
                Some(serde_json::Value::Array(items)) => {
                    for item in items {
                        let Some(text) = item.as_str() else {
                            return Err(protocol(format!("`{key}` holds a non-string: {item}")));
                        };
                        out.push(text.to_owned());
                    }
                }
                Some(other) => {
                    return Err(protocol(format!("`{key}` is not a list: {other}")));
                }
            }
            if out.len() > MAX_LIST_ENTRIES {
                return Err(protocol(format!("more than {MAX_LIST_ENTRIES} entries")));
            }
            match next {
                Some(n) if n.starts_with('/') => url = format!("{}{n}", self.base(repo)),
                Some(n) if url_host(&n) == Some(repo.api_host()) => url = n,
                Some(_) => {
                    return Err(protocol(String::from(
                        "the next page link leaves the registry",
                    )));
                }
                None => return Ok(out),
            }
        }
        Err(protocol(format!("more than {MAX_LIST_PAGES} pages")))
    }
}

/// `url` with `name=value` appended to its query (value percent-encoded).
fn append_query(url: &str, name: &str, value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{name}={encoded}")
}

/// The target of `rel="next"` in a `Link` header: `</v2/x/tags/list?last=a&n=1>; rel="next"`.
fn next_link(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        params
            .split(';')
            .any(|p| {
                let p = p.trim().replace(' ', "");
                p == "rel=\"next\"" || p == "rel=next"
            })
            .then(|| target.to_owned())
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn link_headers_and_queries() {
        assert_eq!(
            next_link(r#"</v2/a/tags/list?last=b&n=2>; rel="next""#).as_deref(),
            Some("/v2/a/tags/list?last=b&n=2")
        );
        assert_eq!(next_link(r#"<https://x/y>; rel="prev""#), None);
        assert_eq!(
            append_query("/v2/a/blobs/uploads/u?_state=x", "digest", "sha256:ab"),
            "/v2/a/blobs/uploads/u?_state=x&digest=sha256%3Aab"
        );
        assert_eq!(
            append_query("/u", "digest", "sha256:ab"),
            "/u?digest=sha256%3Aab"
        );
        assert_eq!(url_host("https://h:1/x?y"), Some("h:1"));
        assert_eq!(url_host("ftp://h"), None);
    }

    #[test]
    fn options_default_to_a_verified_rampart_client() {
        let o = ClientOptions::default();
        assert!(!o.insecure);
        assert!(o.user_agent.starts_with("rampart/"));
        assert_eq!(o.max_manifest_bytes, 4 << 20);
        let shown = format!(
            "{:?}",
            ClientOptions {
                username: Some("u".into()),
                password: Some(Secret::new("pw-123")),
                ..o
            }
        );
        assert!(!shown.contains("pw-123"), "{shown}");
    }

    #[test]
    fn half_credentials_and_bad_ca_files_are_option_errors() {
        let err = Client::new(&ClientOptions {
            username: Some("u".into()),
            ..ClientOptions::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("without a password"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, "not a certificate").unwrap();
        let err = Client::new(&ClientOptions {
            ca_file: Some(ca),
            ..ClientOptions::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("found none"), "{err}");
        let err = Client::new(&ClientOptions {
            ca_file: Some(dir.path().join("missing.pem")),
            ..ClientOptions::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("missing.pem"), "{err}");
    }
}
