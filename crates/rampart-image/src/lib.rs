//! Read container images from local places as streams, with a squashed filesystem view.
//!
//! - [`Source`]: an OCI image layout directory, an OCI archive tar, a `docker save` archive
//!   (legacy and OCI-in-docker-save layouts) or a root filesystem directory. Blobs come from a
//!   [`BlobStore`]; a registry client is one more store ([`Image::from_descriptor`]).
//! - [`Image::open`] resolves index → manifest (choosing a [`Platform`] in a multi-platform
//!   index) → [`ImageConfig`] and [`LayerInfo`]s. Every blob read is verified against its digest
//!   (sha256 or sha512) while it streams; legacy docker layers against the config's diff ids.
//! - [`Image::squash`] reads the layers in order as tar streams (plain, gzip or zstd, detected
//!   by magic bytes; decompressed on a second thread), applies whiteouts and returns the
//!   [`Filesystem`] (path -> [`EntryMeta`]) with a [`Collector`]'s results for the files it
//!   wants. Memory grows with the number of entries and what the collector keeps, not with layer
//!   bytes. [`Image::capture`] is the simple collector: the bytes of the files matching a
//!   predicate.
//! - [`Image::squash_cached`] does the same with [`LayerRecord`]s kept in a [`LayerStore`] by
//!   diff id: a layer already recorded is replayed without reading its blob (see `record`).
//!
//! ```no_run
//! use rampart_image::{Image, Platform, Source};
//!
//! # fn main() -> Result<(), rampart_image::ImageError> {
//! let platform: Platform = "linux/arm64".parse()?;
//! let image = Image::open(&Source::OciLayout("image-dir".into()), Some(&platform))?;
//! if let Some(config) = image.config() {
//!     println!("user {:?}, runs as root: {}", config.config.user, config.config.runs_as_root());
//! }
//! let (fs, files) = image.capture(|path: &str, _: &_| path == "/etc/os-release")?;
//! for (path, entry) in fs.iter().filter(|(_, e)| e.is_setid()) {
//!     println!("setuid/setgid {path} from layer {}", entry.layer);
//! }
//! for file in &files {
//!     println!("{}: {} bytes from {:?}", file.path, file.content.len(), file.layer_digest);
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Nothing is ever written to disk: hostile paths (`../`, absolute paths, escaping links) are
//! normalized inside the image's own namespace and reported as [`Anomaly`]s, and every reading
//! is bounded by [`Limits`].
#![deny(clippy::indexing_slicing)]

mod config;
mod digest;
mod error;
mod flight;
mod fs;
mod guard;
mod held;
mod image;
mod path;
mod prefix;
mod record;
mod rootfs;
mod squash;
mod store;

pub use config::{History, ImageConfig, RootFs, RunConfig};
pub use digest::{Algorithm, Digest};
pub use error::ImageError;
pub use fs::{
    Anomaly, AnomalyKind, Captured, Collected, CollectedFile, Collector, EntryKind, EntryMeta,
    FileContent, Filesystem, MatchCollector, NoContent, Squashed,
};
pub use image::{
    Descriptor, DescriptorPlatform, Image, LayerInfo, Platform, Progress, ProgressEvent, Source,
};
pub use record::{
    CONFIG_ROWS, CacheReport, LayerRecord, LayerStore, LayerUse, Lookup, MAX_PAYLOAD_BYTES,
    MAX_RECORD_BYTES, RECORD_FORMAT, RecordError,
};
pub use store::{ArchiveStore, BlobReader, BlobStore, DirStore};

/// Reads until `buf` is full or the stream ends (retrying interrupted reads); the number of
/// bytes read, less than `buf.len()` only at the end of the stream.
pub fn read_up_to(r: &mut dyn std::io::Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        let Some(space) = buf.get_mut(n..) else { break };
        match r.read(space) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Bounds on every reading of untrusted input. The defaults fit real images with a wide margin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// size of an index, manifest or config JSON document (default 4 MiB)
    pub max_json_bytes: u64,
    /// layers per image (default 256; Docker itself stops at 127)
    pub max_layers: usize,
    /// uncompressed bytes of one layer (default 16 GiB)
    pub max_layer_bytes: u64,
    /// uncompressed bytes of all layers together (default 64 GiB)
    pub max_image_bytes: u64,
    /// tar entries over all layers, whiteouts included (default 4 Mi)
    pub max_entries: u64,
    /// size of one GNU long-name / long-link or PAX extended header entry, which the tar reader
    /// buffers whole (default 1 MiB)
    pub max_tar_meta_bytes: u64,
    /// members of an OCI or docker archive (default 1 Mi)
    pub max_archive_members: u64,
    /// bytes captured from one file for a collector (default 64 MiB; longer files are cut and
    /// marked truncated)
    pub max_file_capture: u64,
    /// bytes captured in total (default 512 MiB; beyond, wanted files are skipped with an anomaly)
    pub max_total_capture: u64,
    /// bytes of one path or link target (default 4096, as Linux `PATH_MAX`)
    pub max_path_bytes: usize,
    /// symlinks followed when resolving one path (default 40, as Linux)
    pub max_symlink_hops: u32,
    /// anomalies kept (default 10 000; more are counted only)
    pub max_anomalies: usize,
}

impl Default for Limits {
    fn default() -> Self {
        const MIB: u64 = 1 << 20;
        Self {
            max_json_bytes: 4 * MIB,
            max_layers: 256,
            max_layer_bytes: 16 << 30,
            max_image_bytes: 64 << 30,
            max_entries: 4 << 20,
            max_tar_meta_bytes: MIB,
            max_archive_members: 1 << 20,
            max_file_capture: 64 * MIB,
            max_total_capture: 512 * MIB,
            max_path_bytes: 4096,
            max_symlink_hops: 40,
            max_anomalies: 10_000,
        }
    }
}
