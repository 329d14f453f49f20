//! The one error type of this crate. Registry errors name the registry, the repository and what
//! was asked; HTTP failures carry the status and the distribution error codes of the body.
//! No variant ever holds a password or a token.

use std::io;

use rampart_image::ImageError;

use crate::challenge::ChallengeError;
use crate::reference::ReferenceError;

/// Why a registry operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// the reference does not parse
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    /// the registry answered with a status the operation does not accept
    #[error(
        "registry {registry}: {what} in {repository}: HTTP {status}{}",
        codes_suffix(codes)
    )]
    Status {
        /// the registry host
        registry: String,
        /// the repository path
        repository: String,
        /// what was asked (`get manifest latest`, `get blob sha256:…`)
        what: String,
        /// the HTTP status
        status: u16,
        /// the distribution error codes and messages of the body (`MANIFEST_UNKNOWN: …`),
        /// truncated; empty when the body had none
        codes: String,
    },
    /// the registry or its token server refused access (401, 403)
    #[error(
        "registry {registry}: {what} in {repository}: access denied (HTTP {status}){}: {hint}",
        codes_suffix(codes)
    )]
    Unauthorized {
        /// the registry host
        registry: String,
        /// the repository path
        repository: String,
        /// what was asked
        what: String,
        /// the HTTP status
        status: u16,
        /// the distribution error codes of the body, truncated
        codes: String,
        /// what to do about it: which credentials were used, if any
        hint: String,
    },
    /// the request did not get an HTTP answer (connection, TLS, timeout, too many redirects)
    #[error("registry {registry}: {what}: {problem}")]
    Transport {
        /// the registry (or token server) host
        registry: String,
        /// what was asked
        what: String,
        /// what went wrong
        problem: String,
    },
    /// the content does not hash to the digest it was asked by or announced with
    #[error(
        "registry {registry}: {what} in {repository}: digest mismatch: expected {expected}, found {found}"
    )]
    DigestMismatch {
        /// the registry host
        registry: String,
        /// the repository path
        repository: String,
        /// what was fetched
        what: String,
        /// the digest asked for or announced
        expected: String,
        /// the digest of the bytes received
        found: String,
    },
    /// a response is larger than the limit for its kind
    #[error(
        "registry {registry}: {what} in {repository}: response larger than the {limit}-byte limit"
    )]
    TooLarge {
        /// the registry host
        registry: String,
        /// the repository path
        repository: String,
        /// what was fetched
        what: String,
        /// the limit in bytes
        limit: u64,
    },
    /// a response breaks the protocol (missing header, bad JSON, bad challenge)
    #[error("registry {registry}: {what}: {problem}")]
    Protocol {
        /// the registry (or token server) host
        registry: String,
        /// what was asked
        what: String,
        /// what was wrong with the answer
        problem: String,
    },
    /// a `WWW-Authenticate` header does not parse
    #[error("registry {registry}: {what}: {source}")]
    Challenge {
        /// the registry host
        registry: String,
        /// what was asked
        what: String,
        /// the parse error
        #[source]
        source: ChallengeError,
    },
    /// credentials could not be read (config file, credential helper)
    #[error("credentials: {problem}")]
    Credentials {
        /// what went wrong, naming the file or helper
        problem: String,
    },
    /// the client options are inconsistent or a file they name is unusable
    #[error("invalid client options: {problem}")]
    Options {
        /// what is wrong
        problem: String,
    },
    /// reading a local file failed
    #[error("cannot read {path}: {source}")]
    Io {
        /// the file
        path: String,
        /// the underlying error
        #[source]
        source: io::Error,
    },
    /// the image behind a reference could not be opened
    #[error("image {reference}: {source}")]
    Image {
        /// the normalized reference
        reference: String,
        /// the image error (digest mismatch, platform not found, …)
        #[source]
        source: ImageError,
    },
}

fn codes_suffix(codes: &str) -> String {
    if codes.is_empty() {
        String::new()
    } else {
        format!(" ({codes})")
    }
}

impl RegistryError {
    /// The HTTP status of a [`RegistryError::Status`] or [`RegistryError::Unauthorized`].
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Status { status, .. } | Self::Unauthorized { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The distribution error codes of the body (`MANIFEST_UNKNOWN: …`), if any.
    pub fn codes(&self) -> Option<&str> {
        match self {
            Self::Status { codes, .. } | Self::Unauthorized { codes, .. } if !codes.is_empty() => {
                Some(codes)
            }
            _ => None,
        }
    }
}
