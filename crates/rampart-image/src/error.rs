//! The one error type of this crate. Every variant names the blob, layer or path it is about and,
//! where it applies, what was expected and what was found.

use std::io;

/// Why an image could not be opened or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImageError {
    /// reading a local file failed
    #[error("cannot read {path}: {source}")]
    Io {
        /// the file or archive member
        path: String,
        /// the underlying error
        #[source]
        source: io::Error,
    },
    /// a target written as a path names nothing on disk
    #[error("{path}: no such file or directory")]
    NotFound {
        /// the path as written
        path: String,
    },
    /// a local file that is none of the image forms
    #[error("{path}: not an image (expected an OCI layout, OCI archive or docker save archive)")]
    NotAnImage {
        /// the file
        path: String,
    },
    /// a blob named by a manifest or index is not in the store
    #[error("missing blob {blob}")]
    BlobNotFound {
        /// digest or path of the blob
        blob: String,
    },
    /// a blob's content does not hash to its digest
    #[error("digest mismatch for blob {blob}: expected {expected}, found {found}")]
    DigestMismatch {
        /// the blob (or layer diff id) being verified
        blob: String,
        /// the declared digest
        expected: String,
        /// the digest of the bytes read
        found: String,
    },
    /// a blob's length differs from its descriptor's size
    #[error("size mismatch for blob {blob}: expected {expected} bytes, found {found}")]
    SizeMismatch {
        /// the blob
        blob: String,
        /// the declared size
        expected: u64,
        /// the bytes read
        found: u64,
    },
    /// a digest string is not `sha256:<64 hex>` or `sha512:<128 hex>`
    #[error("invalid digest {value:?}: expected sha256:<64 hex> or sha512:<128 hex>")]
    InvalidDigest {
        /// the offending value
        value: String,
    },
    /// a blob has no digest this crate can verify it against
    #[error("blob {blob} has no verifiable digest")]
    Unverifiable {
        /// the blob path
        blob: String,
    },
    /// a JSON document (index, manifest, config) is larger than the limit
    #[error("{what} is larger than the {limit}-byte limit for JSON documents")]
    JsonTooLarge {
        /// which document
        what: String,
        /// the limit in bytes
        limit: u64,
    },
    /// a JSON document does not parse or lacks a required field
    #[error("malformed {what}: {source}")]
    Json {
        /// which document
        what: String,
        /// the parse error
        #[source]
        source: serde_json::Error,
    },
    /// the image's structure is inconsistent (counts, media types, nesting)
    #[error("invalid image {what}: expected {expected}, found {found}")]
    Invalid {
        /// which part of the image
        what: String,
        /// what was expected
        expected: String,
        /// what was found
        found: String,
    },
    /// a `--platform` value does not parse
    #[error("invalid platform {value:?}: expected os/arch[/variant]")]
    InvalidPlatform {
        /// the offending value
        value: String,
    },
    /// a multi-platform index and no platform given
    #[error("the image has several platforms, choose one of: {available}")]
    PlatformAmbiguous {
        /// the platforms in the index, comma-separated
        available: String,
    },
    /// the requested platform is not in the index
    #[error("platform {wanted} not in the image, available: {available}")]
    PlatformNotFound {
        /// the requested platform
        wanted: String,
        /// the platforms in the index, comma-separated
        available: String,
    },
    /// a layer's media type is not a tar, tar+gzip or tar+zstd layer
    #[error("unsupported media type {media_type:?} for layer {layer}")]
    UnsupportedMediaType {
        /// the layer blob
        layer: String,
        /// its media type
        media_type: String,
    },
    /// an OCI or docker archive is not a readable tar
    #[error("corrupt archive {path}: {source}")]
    CorruptArchive {
        /// the archive
        path: String,
        /// the tar error
        #[source]
        source: io::Error,
    },
    /// a layer is truncated or corrupt (decompression or tar error)
    #[error("corrupt layer {layer}: {source}")]
    CorruptLayer {
        /// the layer blob
        layer: String,
        /// the decompression or tar error
        #[source]
        source: io::Error,
    },
    /// a layer decompresses to more than the per-layer limit
    #[error("layer {layer} expands to more than the {limit}-byte limit per layer")]
    LayerTooLarge {
        /// the layer blob
        layer: String,
        /// the limit in bytes
        limit: u64,
    },
    /// the layers together decompress to more than the per-image limit
    #[error("the image expands to more than the {limit}-byte limit per image (at layer {layer})")]
    ImageTooLarge {
        /// the layer being read when the limit was hit
        layer: String,
        /// the limit in bytes
        limit: u64,
    },
    /// a long-name or PAX header entry is larger than the limit
    #[error("layer {layer} has a long-name or PAX header entry larger than the {limit}-byte limit")]
    TarMetadataTooLarge {
        /// the layer blob
        layer: String,
        /// the limit in bytes
        limit: u64,
    },
    /// the layers hold more tar entries than the limit
    #[error("the image has more than {limit} entries (at layer {layer})")]
    TooManyEntries {
        /// the layer being read when the limit was hit
        layer: String,
        /// the limit
        limit: u64,
    },
    /// the image has more layers than the limit
    #[error("the image has {found} layers, more than the limit of {limit}")]
    TooManyLayers {
        /// the limit
        limit: usize,
        /// the number of layers
        found: usize,
    },
    /// an archive (OCI archive, docker save) has more members than the limit
    #[error("archive {path} has more than {limit} members")]
    ArchiveTooLarge {
        /// the archive
        path: String,
        /// the limit
        limit: u64,
    },
    /// resolving a path met more symlinks than the limit (a loop)
    #[error("too many levels of symbolic links resolving {path} (limit {limit})")]
    SymlinkLoop {
        /// the path being resolved
        path: String,
        /// the hop limit
        limit: u32,
    },
}

impl ImageError {
    pub(crate) fn io(path: impl Into<String>, source: io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn invalid(
        what: impl Into<String>,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> Self {
        Self::Invalid {
            what: what.into(),
            expected: expected.into(),
            found: found.into(),
        }
    }
}
