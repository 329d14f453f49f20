//! Why a check could not be made (input or runtime errors; a workload that fails is a result,
//! not an error).

use std::path::PathBuf;

/// An input or runtime error of a sandbox check.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The bundle directory does not exist.
    #[error("{0}: no such bundle directory")]
    NoBundle(PathBuf),
    /// A file or directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The bundle's `config.json` is not a usable OCI runtime configuration.
    #[error("{path}: {message}")]
    Config {
        /// The config file.
        path: PathBuf,
        /// What was expected and what was found.
        message: String,
    },
    /// No smoke test was given and none can be derived.
    #[error("{0}")]
    Usage(String),
    /// A runtime binary is not installed.
    #[error("{runtime}: not found (Debian: apt-get install {package})")]
    RuntimeMissing {
        /// The binary asked for.
        runtime: String,
        /// The Debian package that provides it.
        package: &'static str,
    },
    /// A runtime command could not be started at all.
    #[error("cannot run {command}: {source}")]
    Spawn {
        /// The command line.
        command: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The image could not be read or unpacked.
    #[error("image: {0}")]
    Image(#[from] rampart_image::ImageError),
    /// The image holds something that cannot be written into a root filesystem.
    #[error("image: {path}: {message}")]
    Unpack {
        /// The path inside the image.
        path: String,
        /// What is wrong with it.
        message: String,
    },
}

impl SandboxError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }
}
