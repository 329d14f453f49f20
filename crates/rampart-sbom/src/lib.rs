//! The image layer's package model and catalogers.
//!
//! A [`Package`] is what an image ships: name, version, [`Ecosystem`], canonical [`Purl`],
//! licenses, source package (OS packages) and where it was found. Catalogers are pure parsers:
//! they receive a path inside the image (relative to the root, `/` separated) and the file's
//! bytes and return packages; they never read files themselves, so the layer reader decides what
//! to read and bounds it. [`catalogers`] lists them all; each says which paths it
//! [`wants`](Cataloger::wants) and how large an input it accepts
//! ([`max_input`](Cataloger::max_input)). Three entry points sit beside them because their input
//! is not one small file: [`catalog_binary`] (executables, found by content),
//! [`catalog_java_archive`] (zip archives read through `Read + Seek`, nested archives included,
//! for paths [`is_java_archive`] accepts) and [`debian_copyright_licenses`] (licenses for the dpkg
//! package [`copyright_package`] names, to merge into it).
//!
//! [`format`] writes the SBOM: [`cyclonedx_json`] (CycloneDX 1.6) and [`spdx_json`] (SPDX 2.3)
//! render an [`SbomDocument`], deterministically. [`read`] goes the other way: [`read_sbom`]
//! turns a CycloneDX or SPDX JSON SBOM made by any tool into packages equal to the catalogers'.
//!
//! Invariant: no panic on any input (no unwrap, expect, panic or unchecked indexing on data);
//! inputs over a cataloger's `max_input` ([`MAX_INPUT`] unless stated) are refused.
#![deny(clippy::indexing_slicing)]

pub mod catalog;
mod distro;
mod fields;
pub mod format;
mod model;
mod purl;
pub mod read;

pub use catalog::{
    CatalogContext, Cataloger, JavaArchiveCatalog, JavaLimits, catalog_binary, catalog_file,
    catalog_java_archive, catalogers, copyright_package, debian_copyright_licenses,
    is_java_archive,
};
pub use distro::Distro;
pub use format::{
    FormatError, Options, SbomDocument, Subject, SubjectKind, Tool, cyclonedx_json, spdx_json,
};
pub use model::{Ecosystem, Package, PackageLocation, SourcePackage};
pub use purl::Purl;
pub use read::{
    MAX_SBOM_COMPONENTS, MAX_SBOM_INPUT, ReadError, SbomFormat, SbomInput, SkipReason, Skipped,
    looks_like_sbom, read_sbom,
};

/// Largest input a cataloger accepts (the workspace-wide file size limit).
pub const MAX_INPUT: usize = 16 * 1024 * 1024;

/// Why a purl could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PurlError {
    /// invalid purl type {0:?}: expected `[a-z][a-z0-9.-]*`
    #[error("invalid purl type {0:?}: expected [a-z][a-z0-9.-]*")]
    InvalidType(String),
    /// a purl needs a name, found none
    #[error("a purl needs a name, found none")]
    MissingName,
    /// a purl starts with `pkg:`
    #[error("expected a purl starting with `pkg:`")]
    MissingScheme,
    /// bad percent-encoding
    #[error("bad percent-encoding in {0:?}: expected %XX escapes forming UTF-8")]
    BadEncoding(String),
    /// invalid qualifier key {0:?}: expected `[a-z][a-z0-9._-]*`
    #[error("invalid qualifier key {0:?}: expected [a-z][a-z0-9._-]*")]
    InvalidQualifierKey(String),
}

/// Why a cataloger could not read a file. Individual bad records inside a readable file are
/// skipped, not errors.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// the file is larger than the cataloger accepts
    #[error("{path}: {size} bytes exceeds the {limit} byte limit")]
    TooLarge {
        /// Path inside the image.
        path: String,
        /// Size of the input.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// the file is not valid JSON (or too deeply nested)
    #[error("{path}: expected JSON: {source}")]
    Json {
        /// Path inside the image.
        path: String,
        /// The parser's error.
        source: serde_json::Error,
    },
    /// the file's structure is not what the format requires
    #[error("{path}: {message}")]
    Format {
        /// Path inside the image.
        path: String,
        /// What was expected and what was found.
        message: String,
    },
    /// reading the file would exceed a limit (nesting, entry count, size, compression ratio)
    #[error("{path}: {message}")]
    Limit {
        /// Path inside the image (`archive:entry` inside archives).
        path: String,
        /// Which limit and what was found.
        message: String,
    },
}
