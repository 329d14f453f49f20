//! Debian's `docker-registry` (distribution 2.8) per test on a free loopback port with its own
//! storage, anonymous or with htpasswd or token auth, plain HTTP or TLS; `skopeo` as an
//! independent pusher and reader; certificates made with rcgen; an in-process token server
//! issuing ES256 JWTs with an `x5c` chain the registry verifies against its `rootcertbundle`;
//! and a fake server for what a real registry never sends.

use std::collections::HashMap;
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;

use crate::tools::{ensure_tool, run};

/// Installs `docker-registry` and `skopeo` when missing.
pub fn ensure_registry_tools() {
    ensure_tool("docker-registry", "docker-registry");
    ensure_tool("skopeo", "skopeo");
}

/// `skopeo` with the flags every call here needs (no policy file, no TLS unless asked).
pub fn skopeo(args: &[&str]) -> String {
    let mut all = vec!["--insecure-policy"];
    all.extend_from_slice(args);
    run("skopeo", &all)
}

// ---------------------------------------------------------------------------------------------
// the registry

/// How a test registry authenticates.
pub enum Auth {
    None,
    /// htpasswd file with bcrypt entries
    Htpasswd(Vec<(&'static str, &'static str)>),
    /// token auth against a [`TokenServer`]
    Token {
        realm: String,
        service: String,
        issuer: String,
        root_pem: String,
    },
}

/// A running `docker-registry serve`, killed on drop.
pub struct Registry {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
    pub tls: bool,
}

/// A TCP port free on 127.0.0.1 now (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Registry {
    pub fn start(auth: Auth) -> Self {
        Self::start_with(auth, None)
    }

    /// `tls`: (certificate chain PEM, key PEM).
    pub fn start_with(auth: Auth, tls: Option<(String, String)>) -> Self {
        ensure_registry_tools();
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let mut extra = String::new();
        if let Some((cert, key)) = &tls {
            std::fs::write(d.join("server.crt"), cert).unwrap();
            std::fs::write(d.join("server.key"), key).unwrap();
            extra.push_str(&format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                d.join("server.crt").display(),
                d.join("server.key").display()
            ));
        }
        let auth_yaml = match auth {
            Auth::None => String::new(),
            Auth::Htpasswd(users) => {
                let lines: String = users
                    .iter()
                    .map(|(u, p)| format!("{u}:{}\n", bcrypt::hash(p, 5).unwrap()))
                    .collect();
                std::fs::write(d.join("htpasswd"), lines).unwrap();
                format!(
                    "auth:\n  htpasswd:\n    realm: rampart-test\n    path: {}\n",
                    d.join("htpasswd").display()
                )
            }
            Auth::Token {
                realm,
                service,
                issuer,
                root_pem,
            } => {
                std::fs::write(d.join("token-root.pem"), root_pem).unwrap();
                format!(
                    "auth:\n  token:\n    realm: {realm}\n    service: {service}\n    issuer: {issuer}\n    rootcertbundle: {}\n",
                    d.join("token-root.pem").display()
                )
            }
        };
        for _attempt in 0..5 {
            let port = free_port();
            let config = format!(
                "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n{extra}{auth_yaml}",
                d.join("data").display()
            );
            std::fs::write(d.join("config.yml"), config).unwrap();
            let log = std::fs::File::create(d.join("registry.log")).unwrap();
            let child = Command::new("docker-registry")
                .arg("serve")
                .arg(d.join("config.yml"))
                .env_clear()
                .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .unwrap();
            let mut child = child;
            // wait (bounded) until it accepts connections, or until it died
            for _ in 0..600 {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Registry {
                        child,
                        port,
                        dir,
                        tls: tls.is_some(),
                    };
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
            let log = std::fs::read_to_string(d.join("registry.log")).unwrap_or_default();
            // another process may have taken the port between probe and bind: try another
            assert!(
                log.contains("address already in use"),
                "docker-registry did not start:\n{log}"
            );
        }
        panic!("no free port for docker-registry after 5 tries");
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `127.0.0.1:<port>/<reference>`: a reference to `reference` on this registry.
    pub fn reference(&self, reference: &str) -> String {
        format!("{}/{reference}", self.host())
    }

    /// Copies `source` (a skopeo transport reference: `oci:DIR:TAG`, `oci-archive:FILE`,
    /// `docker-archive:FILE`) in as `reference` with skopeo, with Basic credentials `user:pass`
    /// when the registry wants them.
    pub fn push(&self, source: &str, reference: &str, creds: Option<&str>) {
        let dest = format!("docker://{}", self.reference(reference));
        let creds = creds.map(|c| format!("--dest-creds={c}"));
        // plain HTTP, or TLS with a test CA skopeo does not know
        let mut args = vec!["copy", "--quiet", "--dest-tls-verify=false"];
        if let Some(c) = &creds {
            args.push(c);
        }
        args.push(source);
        args.push(&dest);
        skopeo(&args);
    }

    /// Copies the OCI layout `layout` (its only image, or tag `tag`) in as `reference`.
    pub fn push_layout(&self, layout: &Path, tag: Option<&str>, reference: &str) {
        let source = match tag {
            Some(t) => format!("oci:{}:{t}", layout.display()),
            None => format!("oci:{}", layout.display()),
        };
        self.push(&source, reference, None);
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// The `data` file of a blob in the registry's storage.
    pub fn blob_file(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").unwrap();
        self.dir
            .path()
            .join("data/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// certificates

/// A CA and a server certificate for 127.0.0.1 and localhost signed by it.
pub struct TestPki {
    pub ca_pem: String,
    pub server_pem: String,
    pub server_key_pem: String,
}

pub fn test_pki(name: &str) -> TestPki {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, format!("{name} test CA"));
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let server_key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, "127.0.0.1");
    let server = params.signed_by(&server_key, &issuer).unwrap();
    TestPki {
        ca_pem: ca_cert.pem(),
        server_pem: server.pem(),
        server_key_pem: server_key.serialize_pem(),
    }
}

// ---------------------------------------------------------------------------------------------
// a token server

/// Issues registry tokens like docker's auth server: Basic credentials (or a refresh token
/// POSTed as a form) are checked, the requested scopes granted to known users, nothing to
/// anonymous callers. Tokens are ES256 JWTs with the signing certificate in `x5c`.
pub struct TokenServer {
    server: Arc<tiny_http::Server>,
    thread: Option<std::thread::JoinHandle<()>>,
    pub port: u16,
    pub root_pem: String,
    pub requests: Arc<AtomicUsize>,
    /// one line per request: `GET user=alice scope=repository:x:pull`
    pub log: Arc<Mutex<Vec<String>>>,
}

pub const SERVICE: &str = "rampart-test-registry";
pub const ISSUER: &str = "rampart-test-issuer";

struct TokenState {
    users: HashMap<String, String>,
    refresh: HashMap<String, String>,
    key: p256::ecdsa::SigningKey,
    cert_der: Vec<u8>,
    jti: AtomicUsize,
}

fn b64url(data: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
}

fn url_decode(s: &str) -> String {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

fn form_pairs(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (url_decode(k), url_decode(v))
        })
        .collect()
}

impl TokenState {
    fn token(&self, user: &str, scopes: &[String]) -> String {
        use p256::ecdsa::signature::Signer;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let access: Vec<serde_json::Value> = scopes
            .iter()
            .filter_map(|s| {
                let (kind, rest) = s.split_once(':')?;
                let (name, actions) = rest.rsplit_once(':')?;
                Some(serde_json::json!({
                    "type": kind, "name": name,
                    "actions": actions.split(',').collect::<Vec<_>>()
                }))
            })
            .collect();
        let header = serde_json::json!({
            "typ": "JWT", "alg": "ES256",
            "x5c": [base64::engine::general_purpose::STANDARD.encode(&self.cert_der)]
        });
        let claims = serde_json::json!({
            "iss": ISSUER, "sub": user, "aud": SERVICE,
            "exp": now + 300, "nbf": now - 10, "iat": now,
            "jti": format!("jti-{}", self.jti.fetch_add(1, Ordering::SeqCst)),
            "access": access
        });
        let input = format!(
            "{}.{}",
            b64url(header.to_string().as_bytes()),
            b64url(claims.to_string().as_bytes())
        );
        let sig: p256::ecdsa::Signature = self.key.sign(input.as_bytes());
        format!("{input}.{}", b64url(&sig.to_bytes()))
    }

    fn handle(&self, mut req: tiny_http::Request, log: &Mutex<Vec<String>>) {
        let (path, query) = req.url().split_once('?').unwrap_or((req.url(), ""));
        let path = path.to_owned();
        let mut params = form_pairs(query);
        let method = req.method().to_string();
        let mut body = String::new();
        let _ = req.as_reader().take(1 << 16).read_to_string(&mut body);
        if method == "POST" {
            params.extend(form_pairs(&body));
        }
        let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let basic = req
            .headers()
            .iter()
            .find(|h| h.field.equiv("Authorization"))
            .map(|h| h.value.as_str().to_owned())
            .and_then(|v| v.strip_prefix("Basic ").map(str::to_owned))
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            .and_then(|b| String::from_utf8(b).ok());
        let mut scopes: Vec<String> = params
            .iter()
            .filter(|(n, _)| n == "scope")
            .flat_map(|(_, v)| v.split(' ').map(str::to_owned).collect::<Vec<_>>())
            .filter(|s| !s.is_empty())
            .collect();
        let user: Result<Option<String>, ()> = if method == "POST" {
            match (get("grant_type").as_deref(), get("refresh_token")) {
                (Some("refresh_token"), Some(t)) => {
                    self.refresh.get(&t).cloned().map(Some).ok_or(())
                }
                _ => Err(()),
            }
        } else {
            match &basic {
                None => Ok(None),
                Some(pair) => {
                    let (u, p) = pair.split_once(':').unwrap_or((pair, ""));
                    if self.users.get(u).is_some_and(|want| want == p) {
                        Ok(Some(u.to_owned()))
                    } else {
                        Err(())
                    }
                }
            }
        };
        log.lock().unwrap().push(format!(
            "{method} user={} scope={}",
            user.clone().ok().flatten().unwrap_or_else(|| "-".into()),
            scopes.join(" ")
        ));
        let service_ok = get("service").as_deref() == Some(SERVICE);
        let resp = match (path.as_str(), user, service_ok) {
            ("/token", Ok(user), true) => {
                let who = user.clone().unwrap_or_default();
                if user.is_none() {
                    scopes.clear();
                }
                let token = self.token(&who, &scopes);
                let key = if method == "POST" {
                    "access_token"
                } else {
                    "token"
                };
                tiny_http::Response::from_string(
                    serde_json::json!({key: token, "expires_in": 300}).to_string(),
                )
                .with_status_code(200)
            }
            ("/token", Err(()), _) => tiny_http::Response::from_string(
                r#"{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}"#,
            )
            .with_status_code(401),
            _ => tiny_http::Response::from_string("bad request").with_status_code(400),
        };
        let _ = req.respond(resp);
    }
}

impl TokenServer {
    pub fn start(users: &[(&str, &str)], refresh_tokens: &[(&str, &str)]) -> Self {
        use p256::pkcs8::DecodePrivateKey;
        use rcgen::{CertificateParams, DnType, KeyPair};
        let key_pair = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "rampart test token signer");
        let cert = params.self_signed(&key_pair).unwrap();
        let key = p256::ecdsa::SigningKey::from_pkcs8_der(&key_pair.serialize_der()).unwrap();
        let state = Arc::new(TokenState {
            users: users
                .iter()
                .map(|(u, p)| ((*u).to_owned(), (*p).to_owned()))
                .collect(),
            refresh: refresh_tokens
                .iter()
                .map(|(t, u)| ((*t).to_owned(), (*u).to_owned()))
                .collect(),
            key,
            cert_der: cert.der().to_vec(),
            jti: AtomicUsize::new(0),
        });
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let port = server.server_addr().to_ip().unwrap().port();
        let requests = Arc::new(AtomicUsize::new(0));
        let log = Arc::new(Mutex::new(Vec::new()));
        let thread = {
            let server = Arc::clone(&server);
            let requests = Arc::clone(&requests);
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for req in server.incoming_requests() {
                    requests.fetch_add(1, Ordering::SeqCst);
                    state.handle(req, &log);
                }
            })
        };
        Self {
            server,
            thread: Some(thread),
            port,
            root_pem: cert.pem(),
            requests,
            log,
        }
    }

    pub fn realm(&self) -> String {
        format!("http://127.0.0.1:{}/token", self.port)
    }

    pub fn registry_auth(&self) -> Auth {
        Auth::Token {
            realm: self.realm(),
            service: SERVICE.into(),
            issuer: ISSUER.into(),
            root_pem: self.root_pem.clone(),
        }
    }
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// a fake server for what a real registry never sends

/// An HTTP server on a loopback address answering every request with `handler` (one thread
/// per request, so an endless answer does not block the others). Stopped on drop.
pub struct FakeServer {
    server: Arc<tiny_http::Server>,
    thread: Option<std::thread::JoinHandle<()>>,
    pub addr: String,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

/// A request's URL and its `Authorization` header.
pub type Seen = (String, Option<String>);

pub type Handler = dyn Fn(&str, &str) -> tiny_http::ResponseBox + Send + Sync;

impl FakeServer {
    /// `handler(method, url)`; every request's URL and `Authorization` header are recorded.
    pub fn start(ip: &str, handler: Arc<Handler>) -> Self {
        let server = Arc::new(tiny_http::Server::http(format!("{ip}:0")).unwrap());
        let addr = server.server_addr().to_ip().unwrap().to_string();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let thread = {
            let server = Arc::clone(&server);
            let seen = Arc::clone(&seen);
            std::thread::spawn(move || {
                for req in server.incoming_requests() {
                    let auth = req
                        .headers()
                        .iter()
                        .find(|h| h.field.equiv("Authorization"))
                        .map(|h| h.value.as_str().to_owned());
                    seen.lock().unwrap().push((req.url().to_owned(), auth));
                    let handler = Arc::clone(&handler);
                    std::thread::spawn(move || {
                        let resp = handler(&req.method().to_string(), req.url());
                        let _ = req.respond(resp);
                    });
                }
            })
        };
        Self {
            server,
            thread: Some(thread),
            addr,
            seen,
        }
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

pub fn header(name: &str, value: &str) -> tiny_http::Header {
    tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()).unwrap()
}

pub fn write_file(dir: &Path, name: &str, content: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p
}
