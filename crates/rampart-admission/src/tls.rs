//! TLS for the webhook: rustls with the ring provider, and a certificate resolver that reloads
//! the serving certificate and key when their files change, without a restart (cert-manager and
//! kubelet's Secret projection replace the files in place).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// How often, at most, the files' modification times are checked.
pub const RELOAD_CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// PEM files larger than this are refused (a chain of a few certificates is a few KiB).
pub const MAX_PEM_BYTES: u64 = 1024 * 1024;

/// Errors loading the serving certificate and key.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file is larger than [`MAX_PEM_BYTES`].
    #[error("{path} is {size} bytes, expected a PEM file of at most {MAX_PEM_BYTES} bytes")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        size: u64,
    },
    /// The certificate file holds no usable certificate.
    #[error("{path}: expected PEM certificates (BEGIN CERTIFICATE), found {found}")]
    Certificates {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        found: String,
    },
    /// The key file holds no usable private key.
    #[error("{path}: expected a PEM private key (PKCS#8, PKCS#1 or SEC1), found {found}")]
    Key {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        found: String,
    },
    /// The key does not belong to the certificate.
    #[error("the key in {key} does not match the certificate in {cert}: {reason}")]
    Mismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// rustls' explanation.
        reason: String,
    },
    /// rustls refused the configuration.
    #[error("tls configuration: {0}")]
    Config(String),
}

fn read_limited(path: &Path) -> Result<Vec<u8>, TlsError> {
    let read_err = |source| TlsError::Read {
        path: path.to_owned(),
        source,
    };
    let size = std::fs::metadata(path).map_err(read_err)?.len();
    if size > MAX_PEM_BYTES {
        return Err(TlsError::TooLarge {
            path: path.to_owned(),
            size,
        });
    }
    std::fs::read(path).map_err(read_err)
}

/// Loads a certificate chain and its private key from PEM files and checks that they match.
pub fn load_certified_key(cert: &Path, key: &Path) -> Result<CertifiedKey, TlsError> {
    let cert_pem = read_limited(cert)?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Certificates {
            path: cert.to_owned(),
            found: e.to_string(),
        })?;
    if chain.is_empty() {
        return Err(TlsError::Certificates {
            path: cert.to_owned(),
            found: "no certificate".to_owned(),
        });
    }
    let key_pem = read_limited(key)?;
    let der = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| TlsError::Key {
        path: key.to_owned(),
        found: e.to_string(),
    })?;
    let signing =
        rustls::crypto::ring::sign::any_supported_type(&der).map_err(|e| TlsError::Key {
            path: key.to_owned(),
            found: e.to_string(),
        })?;
    let certified = CertifiedKey::new(chain, signing);
    certified.keys_match().map_err(|e| TlsError::Mismatch {
        cert: cert.to_owned(),
        key: key.to_owned(),
        reason: e.to_string(),
    })?;
    Ok(certified)
}

fn mtime(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

#[derive(Debug)]
struct State {
    current: Arc<CertifiedKey>,
    /// The modification times last looked at (loaded or refused), so a bad pair is reported
    /// once, not on every handshake.
    seen: (Option<SystemTime>, Option<SystemTime>),
    checked: Instant,
}

/// A [`ResolvesServerCert`] serving one certificate, reloaded from its files when their
/// modification times change (checked at most once per [`RELOAD_CHECK_INTERVAL`], on a
/// handshake). A new pair that fails to load or does not match keeps the old one in service and
/// is reported on standard error.
#[derive(Debug)]
pub struct ReloadingCert {
    cert: PathBuf,
    key: PathBuf,
    state: Mutex<State>,
}

impl ReloadingCert {
    /// Loads the pair; fails when it cannot be used.
    pub fn load(cert: &Path, key: &Path) -> Result<ReloadingCert, TlsError> {
        let seen = (mtime(cert), mtime(key));
        let current = Arc::new(load_certified_key(cert, key)?);
        Ok(ReloadingCert {
            cert: cert.to_owned(),
            key: key.to_owned(),
            state: Mutex::new(State {
                current,
                seen,
                checked: Instant::now(),
            }),
        })
    }

    /// The certificate in service, after a reload check if one is due.
    pub fn current(&self) -> Option<Arc<CertifiedKey>> {
        let mut state = self.state.lock().ok()?;
        if state.checked.elapsed() >= RELOAD_CHECK_INTERVAL {
            state.checked = Instant::now();
            let seen = (mtime(&self.cert), mtime(&self.key));
            if seen != state.seen {
                state.seen = seen;
                match load_certified_key(&self.cert, &self.key) {
                    Ok(new) => state.current = Arc::new(new),
                    Err(e) => eprintln!(
                        "rampart-admission: error: keeping the current serving certificate: {e}"
                    ),
                }
            }
        }
        Some(Arc::clone(&state.current))
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current()
    }
}

/// A rustls server configuration (ring provider, TLS 1.2 and 1.3, ALPN `http/1.1`) serving the
/// resolver's certificate.
pub fn server_config(resolver: Arc<ReloadingCert>) -> Result<rustls::ServerConfig, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use crate::manifests::{generate_tls, write_tls};

    #[test]
    fn a_key_from_another_pair_is_refused() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let a_files = write_tls(&generate_tls("svc", "ns").unwrap(), a.path()).unwrap();
        let b_files = write_tls(&generate_tls("svc", "ns").unwrap(), b.path()).unwrap();
        assert!(load_certified_key(&a_files.cert, &a_files.key).is_ok());
        match load_certified_key(&a_files.cert, &b_files.key) {
            Err(TlsError::Mismatch { .. }) => {}
            other => panic!("expected a mismatch, found {other:?}"),
        }
        std::fs::write(&b_files.cert, "garbage").unwrap();
        match load_certified_key(&b_files.cert, &b_files.key) {
            Err(TlsError::Certificates { path, .. }) => assert_eq!(path, b_files.cert),
            other => panic!("expected no certificate, found {other:?}"),
        }
        match load_certified_key(&a.path().join("missing.crt"), &a_files.key) {
            Err(e @ TlsError::Read { .. }) => assert!(e.to_string().contains("missing.crt")),
            other => panic!("expected a read error, found {other:?}"),
        }
    }
}
