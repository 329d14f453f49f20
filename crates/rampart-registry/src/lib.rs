//! A synchronous OCI Distribution client: the registry as one more place images live.
//!
//! - [`Reference`]: a normalized reference (`alpine` → `docker.io/library/alpine:latest`), parsed
//!   by [`rampart_core::ImageRef`]'s grammar.
//! - [`Client`]: HTTPS verified against the system roots (plus an optional CA file), or plain
//!   HTTP with `insecure`; anonymous, Basic and bearer-token auth (tokens cached per scope);
//!   credentials explicit or from Docker's `config.json` and credential helpers
//!   ([`CredentialSource`]), held in [`Secret`]s that never print.
//! - Operations: [`Client::fetch_manifest`] / [`Client::resolve`] (digest verified, size
//!   bounded), [`Client::open_blob`] (a stream), [`Client::blob_exists`],
//!   [`Client::push_blob`], [`Client::push_manifest`], [`Client::list_tags`].
//! - [`RegistryStore`]: a [`rampart_image::BlobStore`]; [`open_image`] resolves a reference and
//!   opens it with [`rampart_image::Image::from_descriptor`] (platform choice, digest checks).
//!
//! ```no_run
//! use rampart_image::Limits;
//! use rampart_registry::{ClientOptions, Reference, open_image};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let reference = Reference::parse("alpine:3.20")?;
//! let platform = "linux/arm64".parse()?;
//! let image = open_image(&reference, Some(&platform), &ClientOptions::default(), &Limits::default())?;
//! let fs = image.filesystem()?;
//! println!("{} entries in {reference}", fs.len());
//! # Ok(())
//! # }
//! ```
#![deny(clippy::indexing_slicing)]

mod challenge;
mod client;
mod credentials;
mod error;
mod reference;
mod store;

pub use challenge::{
    Challenge, ChallengeError, MAX_CHALLENGES, MAX_HEADER_BYTES, MAX_PARAMS, parse_challenges,
};
pub use client::{
    BlobPush, Client, ClientOptions, MANIFEST_MEDIA_TYPES, Manifest, ManifestProblem, tls_config,
};
pub use credentials::{
    Authorization, CredentialSource, Credentials, Secret, default_docker_config,
};
pub use error::RegistryError;
pub use reference::{
    DOCKER_HUB, DOCKER_HUB_API_HOST, DOCKER_HUB_CONFIG_KEY, Reference, ReferenceError, Repository,
};
pub use store::{RegistryStore, open_image};
