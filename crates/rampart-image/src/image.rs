//! Opening an image from a [`Source`]: index / manifest / config resolution, platform choice, and
//! the verified, bounded layer pipeline (blob → digest check → decompression → byte limits →
//! diff-id check → tar).

use std::cell::Cell;
use std::fmt;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use serde::Deserialize;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::ImageConfig;
use crate::digest::{Algorithm, Digest, Tally, VerifyingReader, verify};
use crate::flight;
use crate::fs::{
    CollectedFile, Collector, EntryMeta, Filesystem, MatchCollector, NoContent, Squashed,
};
use crate::prefix;
use crate::record::{CONFIG_ROWS, CacheReport, LayerRecord, LayerStore, LayerUse, Lookup};
use crate::squash::{Squasher, Stop};
use crate::store::{ArchiveStore, BlobReader, BlobStore, DirStore};
use crate::{ImageError, Limits};

/// Where an image lives on the local machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// an OCI image layout directory (`oci-layout`, `index.json`, `blobs/`)
    OciLayout(PathBuf),
    /// an OCI image layout packed in a tar file
    OciArchive(PathBuf),
    /// a `docker save` archive (legacy or OCI-in-docker-save layout)
    DockerArchive(PathBuf),
    /// an unpacked root filesystem directory
    Rootfs(PathBuf),
}

impl Source {
    /// Tells the kind of `path`: a directory with `index.json` is an OCI layout, any other
    /// directory a rootfs; a tar with `manifest.json` is a docker archive, one with
    /// `index.json` an OCI archive; any other file is [`ImageError::NotAnImage`].
    pub fn detect(path: impl AsRef<Path>, limits: &Limits) -> Result<Self, ImageError> {
        let path = path.as_ref();
        let meta =
            std::fs::metadata(path).map_err(|e| ImageError::io(path.display().to_string(), e))?;
        if meta.is_dir() {
            if path.join("index.json").is_file() && path.join("blobs").is_dir() {
                return Ok(Self::OciLayout(path.to_path_buf()));
            }
            return Ok(Self::Rootfs(path.to_path_buf()));
        }
        let not_an_image = || ImageError::NotAnImage {
            path: path.display().to_string(),
        };
        // Not a tar at all (a text file, a compressed archive...): not an image either.
        let store = match ArchiveStore::open(path, limits) {
            Ok(store) => store,
            Err(e @ ImageError::CorruptArchive { .. }) => {
                return Err(if looks_like_tar(path) {
                    e
                } else {
                    not_an_image()
                });
            }
            Err(e) => return Err(e),
        };
        if store.has_path("manifest.json") {
            Ok(Self::DockerArchive(path.to_path_buf()))
        } else if store.has_path("index.json") {
            Ok(Self::OciArchive(path.to_path_buf()))
        } else {
            Err(not_an_image())
        }
    }
}

/// Whether the file starts with a POSIX (ustar) or GNU tar header, as image archives do: a
/// damaged one is a corrupt archive, anything else not an image at all.
fn looks_like_tar(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 512];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && head.get(257..262) == Some(b"ustar".as_slice())
}

/// A platform `os/arch[/variant]` as in `--platform linux/arm64/v8`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Platform {
    /// operating system
    pub os: String,
    /// architecture
    pub architecture: String,
    /// variant, if any
    pub variant: Option<String>,
}

impl FromStr for Platform {
    type Err = ImageError;
    fn from_str(s: &str) -> Result<Self, ImageError> {
        let invalid = || ImageError::InvalidPlatform {
            value: s.chars().take(100).collect(),
        };
        let mut parts = s.split('/');
        let os = parts.next().filter(|p| !p.is_empty()).ok_or_else(invalid)?;
        let architecture = parts.next().filter(|p| !p.is_empty()).ok_or_else(invalid)?;
        let variant = parts.next().map(str::to_owned);
        if parts.next().is_some() || variant.as_deref() == Some("") {
            return Err(invalid());
        }
        Ok(Self {
            os: os.to_owned(),
            architecture: architecture.to_owned(),
            variant,
        })
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

impl Platform {
    /// Whether an index entry's platform satisfies this request (a missing variant in the
    /// request matches any; `arm64` without a variant is `arm64/v8`).
    fn matches(&self, other: &Platform) -> bool {
        let default_variant = |p: &Platform| match (p.architecture.as_str(), &p.variant) {
            ("arm64", None) => Some(String::from("v8")),
            (_, v) => v.clone(),
        };
        self.os == other.os
            && self.architecture == other.architecture
            && (self.variant.is_none() || default_variant(self) == default_variant(other))
    }
}

/// An OCI content descriptor (the parts this crate uses): what a registry reference or an index
/// entry resolves to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// media type of the referenced blob
    #[serde(default)]
    pub media_type: Option<String>,
    /// its digest, `sha256:<hex>`
    pub digest: String,
    /// its size in bytes
    #[serde(default)]
    pub size: Option<u64>,
    /// in an index: the platform of the referenced manifest
    #[serde(default)]
    pub platform: Option<DescriptorPlatform>,
}

/// The `platform` object of an index entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct DescriptorPlatform {
    /// operating system
    #[serde(default)]
    pub os: String,
    /// architecture
    #[serde(default)]
    pub architecture: String,
    /// variant
    #[serde(default)]
    pub variant: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct IndexOrManifest {
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Option<Vec<Descriptor>>,
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Option<Vec<Descriptor>>,
}

#[derive(Debug, Deserialize)]
struct DockerManifestEntry {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags", default, deserialize_with = "nullable_tags")]
    repo_tags: Vec<String>,
    #[serde(rename = "Layers")]
    layers: Vec<String>,
}

fn nullable_tags<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default())
}

/// One layer of an image, base first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerInfo {
    /// position, 0 = base
    pub index: usize,
    /// digest of the blob as stored (compressed), when the source names it
    pub digest: Option<Digest>,
    /// digest of the uncompressed tar, from the config's `rootfs.diff_ids`
    pub diff_id: Option<Digest>,
    /// the media type from the manifest, when there is one
    pub media_type: Option<String>,
    /// the blob size from the manifest
    pub size: Option<u64>,
    /// for a legacy `docker save` archive, the member path of the layer tar
    pub path: Option<String>,
}

impl LayerInfo {
    /// The digest identifying this layer in results: the blob digest, else the diff id.
    pub fn id(&self) -> Option<&Digest> {
        self.digest.as_ref().or(self.diff_id.as_ref())
    }

    fn name(&self) -> String {
        self.id()
            .map_or_else(|| self.path.clone().unwrap_or_default(), Digest::to_string)
    }
}

enum Body {
    Layers(Box<dyn BlobStore>),
    Rootfs(PathBuf),
}

/// An opened image: its configuration and layers, ready to squash.
pub struct Image {
    body: Body,
    config: Option<ImageConfig>,
    config_digest: Option<Digest>,
    manifest_digest: Option<Digest>,
    layers: Vec<LayerInfo>,
    limits: Limits,
    progress: Option<Progress>,
}

/// What a progress report counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressEvent {
    /// this many more bytes of layer blobs were read (see [`Image::total_layer_bytes`])
    LayerBytes(u64),
    /// this many more entries of a root filesystem directory were walked
    Entries(u64),
}

/// A progress callback (called from the thread doing the work).
pub type Progress = Arc<dyn Fn(ProgressEvent) + Send + Sync>;

impl fmt::Debug for Image {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Image")
            .field("manifest_digest", &self.manifest_digest)
            .field("config_digest", &self.config_digest)
            .field("layers", &self.layers)
            .finish_non_exhaustive()
    }
}

const MT_INDEX: [&str; 2] = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];
const MT_MANIFEST: [&str; 2] = [
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

impl Image {
    /// Opens an image with the default [`Limits`].
    pub fn open(source: &Source, platform: Option<&Platform>) -> Result<Self, ImageError> {
        Self::open_with(source, platform, &Limits::default())
    }

    /// Opens an image with explicit limits.
    pub fn open_with(
        source: &Source,
        platform: Option<&Platform>,
        limits: &Limits,
    ) -> Result<Self, ImageError> {
        match source {
            Source::OciLayout(dir) => {
                Self::from_oci_layout(Box::new(DirStore::new(dir)), platform, limits)
            }
            Source::OciArchive(file) => Self::from_oci_layout(
                Box::new(ArchiveStore::open(file, limits)?),
                platform,
                limits,
            ),
            Source::DockerArchive(file) => Self::from_docker_archive(
                Box::new(ArchiveStore::open(file, limits)?),
                platform,
                limits,
            ),
            Source::Rootfs(dir) => {
                // the root itself may be a symlink the user chose; nothing below it is followed
                let meta = std::fs::metadata(dir)
                    .map_err(|e| ImageError::io(dir.display().to_string(), e))?;
                if !meta.is_dir() {
                    return Err(ImageError::invalid(
                        dir.display().to_string(),
                        "a directory",
                        "something else",
                    ));
                }
                Ok(Self {
                    body: Body::Rootfs(dir.clone()),
                    config: None,
                    config_digest: None,
                    manifest_digest: None,
                    layers: Vec::new(),
                    limits: limits.clone(),
                    progress: None,
                })
            }
        }
    }

    /// Opens an OCI layout held by any store (its `index.json` first).
    pub fn from_oci_layout(
        store: Box<dyn BlobStore>,
        platform: Option<&Platform>,
        limits: &Limits,
    ) -> Result<Self, ImageError> {
        let bytes = read_limited(store.open_path("index.json")?, "index.json", limits)?;
        let index: IndexOrManifest = parse_json(&bytes, "index.json")?;
        let manifests = index
            .manifests
            .ok_or_else(|| ImageError::invalid("index.json", "a manifests array", "none"))?;
        let desc = choose(&manifests, platform, "index.json")?;
        Self::from_descriptor(store, &desc, platform, limits)
    }

    /// Opens the image named by a descriptor (an index or a manifest) in any store: the entry
    /// point for a registry store, which starts from the descriptor of a reference.
    pub fn from_descriptor(
        store: Box<dyn BlobStore>,
        root: &Descriptor,
        platform: Option<&Platform>,
        limits: &Limits,
    ) -> Result<Self, ImageError> {
        Self::from_descriptor_remembering(store, root, platform, limits, None)
    }

    /// [`Image::from_descriptor`], with the image's config read from `configs` when it holds
    /// it (rows of [`CONFIG_ROWS`] by the config's digest), and kept there when read from the
    /// store. A config is content-addressed: what is recalled is verified against its digest
    /// and size like a blob from the store, and fetched from the store when it does not match.
    /// A fleet worker meeting an image again (a rescan of an unchanged tag) reads no blob.
    pub fn from_descriptor_remembering(
        store: Box<dyn BlobStore>,
        root: &Descriptor,
        platform: Option<&Platform>,
        limits: &Limits,
        configs: Option<&dyn LayerStore>,
    ) -> Result<Self, ImageError> {
        let mut desc = root.clone();
        for _ in 0..8 {
            let digest = Digest::parse(&desc.digest)?;
            let bytes = read_blob_json(&*store, &digest, desc.size, "manifest", limits)?;
            let doc: IndexOrManifest = parse_json(&bytes, &format!("manifest {digest}"))?;
            let media = desc
                .media_type
                .clone()
                .or(doc.media_type.clone())
                .unwrap_or_default();
            let is_index =
                MT_INDEX.contains(&media.as_str()) || (media.is_empty() && doc.manifests.is_some());
            if is_index {
                let manifests = doc.manifests.unwrap_or_default();
                desc = choose(&manifests, platform, &digest.to_string())?;
                continue;
            }
            if !media.is_empty() && !MT_MANIFEST.contains(&media.as_str()) {
                return Err(ImageError::invalid(
                    format!("manifest {digest}"),
                    "an image manifest or index media type",
                    media,
                ));
            }
            let config_desc = doc.config.ok_or_else(|| {
                ImageError::invalid(format!("manifest {digest}"), "a config descriptor", "none")
            })?;
            let layer_descs = doc.layers.unwrap_or_default();
            if layer_descs.len() > limits.max_layers {
                return Err(ImageError::TooManyLayers {
                    limit: limits.max_layers,
                    found: layer_descs.len(),
                });
            }
            let config_digest = Digest::parse(&config_desc.digest)?;
            let config_bytes =
                read_config(&*store, &config_digest, config_desc.size, limits, configs)?;
            let config: ImageConfig =
                parse_json(&config_bytes, &format!("config {config_digest}"))?;
            check_platform(&config, platform)?;
            let diff_ids = diff_ids(&config, layer_descs.len())?;
            let mut layers = Vec::with_capacity(layer_descs.len());
            for (index, (d, diff_id)) in layer_descs.iter().zip(diff_ids).enumerate() {
                layers.push(LayerInfo {
                    index,
                    digest: Some(Digest::parse(&d.digest)?),
                    diff_id,
                    media_type: d.media_type.clone(),
                    size: d.size,
                    path: None,
                });
            }
            return Ok(Self {
                body: Body::Layers(store),
                config: Some(config),
                config_digest: Some(config_digest),
                manifest_digest: Some(digest),
                layers,
                limits: limits.clone(),
                progress: None,
            });
        }
        Err(ImageError::invalid(
            "index",
            "at most 8 nested indexes",
            "more",
        ))
    }

    /// Opens a `docker save` archive held by any store (`manifest.json` first). Members named
    /// `blobs/<alg>/<hex>` are verified against that digest, legacy `<id>/layer.tar` members
    /// against the config's diff ids, legacy `<hex>.json` configs against their name.
    pub fn from_docker_archive(
        store: Box<dyn BlobStore>,
        platform: Option<&Platform>,
        limits: &Limits,
    ) -> Result<Self, ImageError> {
        let bytes = read_limited(store.open_path("manifest.json")?, "manifest.json", limits)?;
        let entries: Vec<DockerManifestEntry> = parse_json(&bytes, "manifest.json")?;
        let entry = match entries.as_slice() {
            [one] => one,
            [] => return Err(ImageError::invalid("manifest.json", "one image", "none")),
            many => {
                let tags: Vec<String> = many.iter().map(|e| e.repo_tags.join(" ")).collect();
                return Err(ImageError::invalid(
                    "manifest.json",
                    "one image",
                    format!("{} images: {}", many.len(), tags.join(", ")),
                ));
            }
        };
        if entry.layers.len() > limits.max_layers {
            return Err(ImageError::TooManyLayers {
                limit: limits.max_layers,
                found: entry.layers.len(),
            });
        }
        let config_digest =
            member_digest(&entry.config).ok_or_else(|| ImageError::Unverifiable {
                blob: entry.config.clone(),
            })?;
        let reader = store.open_path(&entry.config)?;
        let config_bytes = read_verified(reader, &entry.config, &config_digest, None, limits)?;
        let config: ImageConfig = parse_json(&config_bytes, &format!("config {}", entry.config))?;
        check_platform(&config, platform)?;
        let diff_ids = diff_ids(&config, entry.layers.len())?;
        let mut layers = Vec::with_capacity(entry.layers.len());
        for (index, (path, diff_id)) in entry.layers.iter().zip(diff_ids).enumerate() {
            let digest = member_digest(path).filter(|_| path.starts_with("blobs/"));
            if digest.is_none() && diff_id.is_none() {
                return Err(ImageError::Unverifiable { blob: path.clone() });
            }
            layers.push(LayerInfo {
                index,
                digest,
                diff_id,
                media_type: None,
                // the member's size in the archive: what a progress bar counts toward
                size: store.path_size(path),
                path: Some(path.clone()),
            });
        }
        Ok(Self {
            body: Body::Layers(store),
            config: Some(config),
            config_digest: Some(config_digest),
            manifest_digest: None,
            layers,
            limits: limits.clone(),
            progress: None,
        })
    }

    /// The image configuration (`None` for a rootfs directory).
    pub fn config(&self) -> Option<&ImageConfig> {
        self.config.as_ref()
    }

    /// The config blob digest (the image id).
    pub fn config_digest(&self) -> Option<&Digest> {
        self.config_digest.as_ref()
    }

    /// The manifest digest, for OCI sources.
    pub fn manifest_digest(&self) -> Option<&Digest> {
        self.manifest_digest.as_ref()
    }

    /// The layers, base first (empty for a rootfs directory).
    pub fn layers(&self) -> &[LayerInfo] {
        &self.layers
    }

    /// The sum of the layer blob sizes the manifest declares (what a progress bar counts
    /// toward), when every layer declares one.
    pub fn total_layer_bytes(&self) -> Option<u64> {
        self.layers.iter().map(|l| l.size).sum()
    }

    /// Reports progress to `progress` while squashing: layer blob bytes read, or entries walked
    /// in a root filesystem directory.
    #[must_use]
    pub fn with_progress(mut self, progress: Progress) -> Self {
        self.progress = Some(progress);
        self
    }

    /// Reads every layer in order and returns the squashed view with the collector's results
    /// for the wanted files that survive. Nothing is written to disk. Each layer is decompressed
    /// (and its blob digest computed) on a second thread while this one hashes the uncompressed
    /// stream and reads the tar entries.
    pub fn squash<C: Collector>(&self, collector: &C) -> Result<Squashed<C::Output>, ImageError> {
        let mut sq = Squasher::new(&self.limits, collector);
        match &self.body {
            Body::Rootfs(dir) => {
                crate::rootfs::walk(dir, &mut sq, collector, self.progress.as_ref())?
            }
            Body::Layers(store) => {
                let image_total = Cell::new(0u64);
                for layer in &self.layers {
                    let digest = layer.id().cloned().map(Arc::new);
                    let name = layer.name();
                    let progress = self.progress.as_ref();
                    read_layer(&**store, layer, &self.limits, &image_total, progress, |r| {
                        sq.layer(layer.index, digest.clone(), &name, r).map(|_| ())
                    })?;
                }
                let needs = sq.second_pass_needs();
                let second_total = Cell::new(0u64);
                for (index, targets) in needs {
                    if let Some(layer) = self.layers.get(index) {
                        read_layer(&**store, layer, &self.limits, &second_total, None, |r| {
                            sq.second_pass_layer(index, &targets, r, None).map(|_| ())
                        })?;
                    }
                }
            }
        }
        Ok(sq.finish())
    }

    /// Squashes as [`Image::squash`] does, with the layer records kept in `store` under
    /// `analysis` (the version of what the collector computes, and of its options): a layer
    /// with a usable record is replayed without opening its blob; any other layer is read from
    /// its blob, and its record (made in the same pass) is handed to the store once the blob is
    /// verified in full. The result is the one [`Image::squash`] gives.
    ///
    /// A record that cannot be used (absent, damaged, of another version) is a miss, never an
    /// error; a store that fails to write is reported in the [`CacheReport`], and the squash goes
    /// on. Layers without a diff id are always read from their blob. The collector must decide
    /// and analyze from a file's path, kind, mode, owner, size, link target and content alone
    /// (not from its layer): that is the question a record answers.
    ///
    /// When the store keeps records decoded, the squash state after a prefix of layers met by a
    /// second image is held in this process, keyed by `analysis`, the collector's type, the
    /// limits and those layers' diff ids and digests; a later image on the same prefix starts
    /// from it ([`CacheReport::resumed`]). So `analysis` must also name the collector's options.
    pub fn squash_cached<C>(
        &self,
        collector: &C,
        store: &dyn LayerStore,
        analysis: &str,
    ) -> Result<(Squashed<C::Output>, CacheReport), ImageError>
    where
        C: Collector + 'static,
        C::Output: Serialize + DeserializeOwned + Clone + 'static,
    {
        let Body::Layers(blobs) = &self.body else {
            return Ok((self.squash(collector)?, CacheReport::default()));
        };
        let mut report = CacheReport {
            layers: self
                .layers
                .iter()
                .map(|l| LayerUse {
                    index: l.index,
                    lookup: Lookup::NoDiffId,
                    blob_read: false,
                    saved: None,
                    not_recorded: None,
                })
                .collect(),
            resumed: 0,
        };
        // Records kept decoded in this process are taken as they are (when the store allows);
        // the other payloads are fetched in order, then decoded in parallel.
        let keep = store.keep_decoded();
        // With records kept decoded (a long-lived process), a layer another thread is reading
        // is waited for rather than read twice (flight.rs); the layers read here are claimed.
        let until = Instant::now() + FLIGHT_WAIT;
        let (kept, payloads, claim) = loop {
            let kept: Vec<Option<Shared<C::Output>>> = self
                .layers
                .iter()
                .map(|l| {
                    l.diff_id
                        .as_ref()
                        .filter(|_| keep)
                        .and_then(|d| decoded::get(d, analysis))
                })
                .collect();
            let payloads: Vec<Option<Result<Option<Vec<u8>>, String>>> = self
                .layers
                .iter()
                .zip(&kept)
                .map(|(l, k)| match k {
                    Some(_) => None,
                    None => l.diff_id.as_ref().map(|d| store.get(d, analysis)),
                })
                .collect();
            if !keep {
                break (kept, payloads, None);
            }
            let absent: Vec<(String, String)> = self
                .layers
                .iter()
                .zip(&payloads)
                .filter_map(|(l, p)| match (p, &l.diff_id) {
                    (Some(Ok(None)), Some(d)) => Some((d.to_string(), analysis.to_owned())),
                    _ => None,
                })
                .collect();
            if absent.is_empty() {
                break (kept, payloads, None);
            }
            match flight::claim(&absent, until, store) {
                flight::Flight::Claimed(c) => break (kept, payloads, Some(c)),
                flight::Flight::Late => break (kept, payloads, None),
                flight::Flight::Landed => {}
            }
        };
        let decoded: Vec<(Lookup, Option<Shared<C::Output>>)> = payloads
            .into_par_iter()
            .zip(kept)
            .zip(self.layers.par_iter())
            .map(|((payload, kept), layer)| match (payload, &layer.diff_id) {
                _ if kept.is_some() => (Lookup::Hit, kept),
                (Some(Ok(Some(bytes))), Some(d)) => {
                    match LayerRecord::decode(&bytes, d, analysis) {
                        Ok(r) => {
                            let r = Arc::new(r);
                            if keep {
                                decoded::keep(d, analysis, &r);
                            }
                            (Lookup::Hit, Some(r))
                        }
                        Err(e) => (Lookup::Unusable(e.to_string()), None),
                    }
                }
                (Some(Ok(None)), _) => (Lookup::Absent, None),
                (Some(Err(e)), _) => (Lookup::Unusable(e), None),
                _ => (Lookup::NoDiffId, None),
            })
            .collect();
        let mut records = Vec::with_capacity(decoded.len());
        for ((lookup, record), used) in decoded.into_iter().zip(&mut report.layers) {
            used.lookup = lookup;
            records.push(record);
        }
        // Kept squash states by chain of layers, with the records kept decoded: the collector's
        // type and the limits decide, with the analysis, what a squash keeps.
        let chains = if keep {
            let context = format!(
                "{analysis}\0{:?}\0{:?}",
                std::any::TypeId::of::<C>(),
                self.limits
            );
            prefix::chains(&context, &self.layers)
        } else {
            vec![None; self.layers.len()]
        };
        let mut cached = Cached {
            store,
            analysis,
            chains,
            records,
            forced: vec![false; self.layers.len()],
            shown: vec![false; self.layers.len()],
            report,
            claim,
        };
        // A record that cannot answer a question of this image (a file landing elsewhere over
        // another base) sends its layer to the blob and the squash starts over; each layer is
        // sent at most once, so this ends.
        for _ in 0..=2 * self.layers.len() + 1 {
            if let Some(squashed) = self.squash_attempt(collector, &**blobs, &mut cached)? {
                return Ok((squashed, cached.report));
            }
        }
        Ok((self.squash(collector)?, cached.report))
    }

    /// One squash over records and blobs; `None` when a record could not answer (its layer is
    /// then marked to be read from its blob).
    fn squash_attempt<C>(
        &self,
        collector: &C,
        blobs: &dyn BlobStore,
        cached: &mut Cached<'_, C::Output>,
    ) -> Result<Option<Squashed<C::Output>>, ImageError>
    where
        C: Collector + 'static,
        C::Output: Serialize + DeserializeOwned + Clone + 'static,
    {
        // The longest prefix of layers, all with records to replay, whose squash state is held:
        // the squash starts there.
        let replayable = |i: usize| {
            cached.records.get(i).is_some_and(Option::is_some)
                && !cached.forced.get(i).copied().unwrap_or(true)
        };
        let held = (0..self.layers.len())
            .take_while(|&i| replayable(i))
            .filter_map(|i| {
                let chain = cached.chains.get(i)?.as_ref()?;
                prefix::get::<C::Output>(chain).map(|s| (i + 1, s))
            })
            .last();
        let (mut sq, start) = match &held {
            Some((start, snapshot)) => {
                (Squasher::resume(&self.limits, collector, snapshot), *start)
            }
            None => (Squasher::new(&self.limits, collector), 0),
        };
        cached.report.resumed = start;
        let image_total = Cell::new(0u64);
        for layer in &self.layers {
            let i = layer.index;
            let digest = layer.id().cloned().map(Arc::new);
            let name = layer.name();
            let forced = cached.forced.get(i).copied().unwrap_or(true);
            if i < start {
                // in the held state: counted against the limits as its replay would be
                if let Some(Some(record)) = cached.records.get(i) {
                    self.replay_limits(layer, record, &image_total)?;
                }
                show(cached.shown.get_mut(i), layer, self.progress.as_ref());
                continue;
            }
            if let Some(record) = cached
                .records
                .get(i)
                .and_then(Option::as_ref)
                .filter(|_| !forced)
            {
                self.replay_limits(layer, record, &image_total)?;
                show(cached.shown.get_mut(i), layer, self.progress.as_ref());
                match sq.replay_layer(i, digest, &name, record) {
                    Ok(()) => {
                        cached.hold(i, &sq);
                        continue;
                    }
                    Err(Stop::Hole) => {
                        if let Some(f) = cached.forced.get_mut(i) {
                            *f = true;
                        }
                        return Ok(None);
                    }
                    Err(Stop::Image(e)) => return Err(e),
                    Err(Stop::Io(e)) => {
                        return Err(ImageError::CorruptLayer {
                            layer: name,
                            source: e,
                        });
                    }
                }
            }
            if layer.diff_id.is_some() {
                sq.start_recording();
            }
            let progress = self.progress.as_ref();
            let read = read_layer(blobs, layer, &self.limits, &image_total, progress, |r| {
                sq.layer(i, digest.clone(), &name, r).map(|_| ())
            });
            let entries = sq.take_recording();
            let read = read?;
            if let Some(used) = cached.report.layers.get_mut(i) {
                used.blob_read = true;
            }
            if let Some(shown) = cached.shown.get_mut(i) {
                *shown = true;
            }
            if let Some(diff_id) = &layer.diff_id {
                // Verified in full (read_layer returned Ok): the record can be kept.
                let mut fresh = LayerRecord {
                    bytes: read.bytes,
                    largest_metadata: read.largest_metadata,
                    entries,
                };
                if let Some(Some(old)) = cached.records.get(i) {
                    fresh.merge_from(old);
                }
                if let Some(used) = cached.report.layers.get_mut(i) {
                    save(cached.store, diff_id, cached.analysis, &fresh, used);
                }
                let fresh = Arc::new(fresh);
                if cached.store.keep_decoded() {
                    decoded::keep(diff_id, cached.analysis, &fresh);
                }
                if let Some(claim) = &mut cached.claim {
                    claim.land(&diff_id.to_string(), cached.analysis);
                }
                if let Some(slot) = cached.records.get_mut(i) {
                    *slot = Some(fresh);
                }
                // The fresh record was made in this very context: a later attempt replays it.
                if let Some(f) = cached.forced.get_mut(i) {
                    *f = false;
                }
            }
            cached.hold(i, &sq);
        }
        let needs = sq.second_pass_needs();
        let second_total = Cell::new(0u64);
        for (index, targets) in needs {
            let Some(layer) = self.layers.get(index) else {
                continue;
            };
            if let Some(Some(record)) = cached.records.get(index) {
                if sq.second_pass_replay(index, &targets, record) {
                    continue;
                }
            }
            // copied first when the record is shared (kept decoded for other images)
            let mut record = cached
                .records
                .get_mut(index)
                .and_then(Option::as_mut)
                .map(Arc::make_mut);
            let before = record.as_ref().map(|r| r.analyses());
            read_layer(blobs, layer, &self.limits, &second_total, None, |r| {
                sq.second_pass_layer(index, &targets, r, record.as_deref_mut())
                    .map(|_| ())
            })?;
            if let Some(used) = cached.report.layers.get_mut(index) {
                used.blob_read = true;
            }
            if let (Some(diff_id), Some(record)) = (&layer.diff_id, record) {
                if Some(record.analyses()) != before {
                    if let Some(used) = cached.report.layers.get_mut(index) {
                        save(cached.store, diff_id, cached.analysis, record, used);
                    }
                    if cached.store.keep_decoded() {
                        if let Some(Some(r)) = cached.records.get(index) {
                            decoded::keep(diff_id, cached.analysis, r);
                        }
                    }
                }
            }
        }
        Ok(Some(sq.finish()))
    }

    /// The byte and metadata limits a replayed layer is held to, as its stream would be.
    fn replay_limits<O>(
        &self,
        layer: &LayerInfo,
        record: &LayerRecord<O>,
        image_total: &Cell<u64>,
    ) -> Result<(), ImageError> {
        let limits = &self.limits;
        if record.largest_metadata > limits.max_tar_meta_bytes {
            return Err(ImageError::TarMetadataTooLarge {
                layer: layer.name(),
                limit: limits.max_tar_meta_bytes,
            });
        }
        if record.bytes > limits.max_layer_bytes {
            return Err(ImageError::LayerTooLarge {
                layer: layer.name(),
                limit: limits.max_layer_bytes,
            });
        }
        image_total.set(image_total.get().saturating_add(record.bytes));
        if image_total.get() > limits.max_image_bytes {
            return Err(ImageError::ImageTooLarge {
                layer: layer.name(),
                limit: limits.max_image_bytes,
            });
        }
        Ok(())
    }

    /// The squashed view alone (no file content read).
    pub fn filesystem(&self) -> Result<Filesystem, ImageError> {
        self.squash(&NoContent).map(|s| s.fs)
    }

    /// The squashed view and the bytes of the surviving files matching `predicate`, in path
    /// order (each at most the per-file capture limit).
    pub fn capture<F>(&self, predicate: F) -> Result<(Filesystem, Vec<CollectedFile>), ImageError>
    where
        F: Fn(&str, &EntryMeta) -> bool + Sync,
    {
        let squashed = self.squash(&MatchCollector::new(predicate))?;
        Ok((
            squashed.fs,
            squashed
                .files
                .into_iter()
                .map(CollectedFile::from)
                .collect(),
        ))
    }
}

/// Checks the config's own platform against the request (when the config states one).
fn check_platform(config: &ImageConfig, platform: Option<&Platform>) -> Result<(), ImageError> {
    let Some(p) = platform else { return Ok(()) };
    if config.os.is_empty() || config.architecture.is_empty() {
        return Ok(());
    }
    let have = Platform {
        os: config.os.clone(),
        architecture: config.architecture.clone(),
        variant: config.variant.clone(),
    };
    // configs often omit the variant: then only os and architecture can be compared
    let want = if have.variant.is_none() {
        Platform {
            variant: None,
            ..p.clone()
        }
    } else {
        p.clone()
    };
    if want.matches(&have) {
        Ok(())
    } else {
        Err(ImageError::PlatformNotFound {
            wanted: p.to_string(),
            available: have.to_string(),
        })
    }
}

fn diff_ids(config: &ImageConfig, layers: usize) -> Result<Vec<Option<Digest>>, ImageError> {
    let ids = &config.rootfs.diff_ids;
    if ids.is_empty() {
        return Ok(vec![None; layers]);
    }
    if ids.len() != layers {
        return Err(ImageError::invalid(
            "config rootfs.diff_ids",
            format!("{layers} entries, one per layer"),
            ids.len().to_string(),
        ));
    }
    ids.iter().map(|s| Digest::parse(s).map(Some)).collect()
}

/// The digest named by an archive member path: `blobs/sha256/<hex>` or legacy `<hex>.json`.
fn member_digest(path: &str) -> Option<Digest> {
    let trimmed = path.trim_start_matches("./");
    if let Some(rest) = trimmed.strip_prefix("blobs/") {
        let (alg, hex) = rest.split_once('/')?;
        return Digest::parse(&format!("{alg}:{hex}")).ok();
    }
    let stem = trimmed.strip_suffix(".json")?;
    Digest::parse(&format!("sha256:{stem}")).ok()
}

fn platform_of(d: &Descriptor) -> Option<Platform> {
    d.platform.as_ref().map(|p| Platform {
        os: p.os.clone(),
        architecture: p.architecture.clone(),
        variant: p.variant.clone(),
    })
}

/// Picks the manifest for `platform` in an index; attestation manifests (`unknown/unknown`) are
/// not candidates.
fn choose(
    manifests: &[Descriptor],
    platform: Option<&Platform>,
    what: &str,
) -> Result<Descriptor, ImageError> {
    let candidates: Vec<&Descriptor> = manifests
        .iter()
        .filter(|d| platform_of(d).is_none_or(|p| p.os != "unknown" && p.architecture != "unknown"))
        .collect();
    let available = || {
        let mut names: Vec<String> = candidates
            .iter()
            .filter_map(|d| platform_of(d))
            .map(|p| p.to_string())
            .collect();
        names.sort();
        names.dedup();
        if names.is_empty() {
            String::from("(none)")
        } else {
            names.join(", ")
        }
    };
    match platform {
        None => match candidates.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(ImageError::invalid(what, "at least one manifest", "none")),
            _ => Err(ImageError::PlatformAmbiguous {
                available: available(),
            }),
        },
        Some(want) => {
            let matching: Vec<&&Descriptor> = candidates
                .iter()
                .filter(|d| platform_of(d).is_some_and(|p| want.matches(&p)))
                .collect();
            match matching.as_slice() {
                [one] => Ok((**one).clone()),
                [] if candidates.len() == 1 && candidates.iter().all(|d| d.platform.is_none()) => {
                    // A single manifest without platform: the config decides; accept it.
                    candidates
                        .first()
                        .map(|d| (*d).clone())
                        .ok_or_else(|| ImageError::invalid(what, "a manifest", "none"))
                }
                [] => Err(ImageError::PlatformNotFound {
                    wanted: want.to_string(),
                    available: available(),
                }),
                _ => Err(ImageError::PlatformAmbiguous {
                    available: available(),
                }),
            }
        }
    }
}

fn parse_json<T: for<'de> Deserialize<'de>>(bytes: &[u8], what: &str) -> Result<T, ImageError> {
    serde_json::from_slice(bytes).map_err(|source| ImageError::Json {
        what: what.to_owned(),
        source,
    })
}

fn read_limited(
    reader: BlobReader<'_>,
    what: &str,
    limits: &Limits,
) -> Result<Vec<u8>, ImageError> {
    let mut buf = Vec::new();
    reader
        .take(limits.max_json_bytes.saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(|e| ImageError::io(what, e))?;
    if buf.len() as u64 > limits.max_json_bytes {
        return Err(ImageError::JsonTooLarge {
            what: what.to_owned(),
            limit: limits.max_json_bytes,
        });
    }
    Ok(buf)
}

fn read_verified(
    reader: BlobReader<'_>,
    blob: &str,
    digest: &Digest,
    size: Option<u64>,
    limits: &Limits,
) -> Result<Vec<u8>, ImageError> {
    if size.is_some_and(|s| s > limits.max_json_bytes) {
        return Err(ImageError::JsonTooLarge {
            what: blob.to_owned(),
            limit: limits.max_json_bytes,
        });
    }
    let mut vr = VerifyingReader::new(reader, Some(digest.algorithm()));
    let mut buf = Vec::new();
    (&mut vr)
        .take(limits.max_json_bytes.saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(|e| ImageError::io(blob, e))?;
    if buf.len() as u64 > limits.max_json_bytes {
        return Err(ImageError::JsonTooLarge {
            what: blob.to_owned(),
            limit: limits.max_json_bytes,
        });
    }
    verify(&vr.finish(), blob, digest, size)?;
    Ok(buf)
}

fn read_blob_json(
    store: &dyn BlobStore,
    digest: &Digest,
    size: Option<u64>,
    what: &str,
    limits: &Limits,
) -> Result<Vec<u8>, ImageError> {
    let reader = store.open_blob(digest)?;
    read_verified(reader, &format!("{what} {digest}"), digest, size, limits)
}

/// An image's config: recalled from `configs` when it holds bytes that match the digest,
/// read from the store otherwise (and kept in `configs`: a failure to keep it is only logged).
fn read_config(
    store: &dyn BlobStore,
    digest: &Digest,
    size: Option<u64>,
    limits: &Limits,
    configs: Option<&dyn LayerStore>,
) -> Result<Vec<u8>, ImageError> {
    let what = format!("config {digest}");
    if let Some(configs) = configs {
        match configs.get(digest, CONFIG_ROWS) {
            Ok(Some(bytes)) => {
                match read_verified(
                    Box::new(io::Cursor::new(bytes)),
                    &what,
                    digest,
                    size,
                    limits,
                ) {
                    Ok(bytes) => return Ok(bytes),
                    Err(e) => tracing::warn!(config = %digest, error = %e,
                        "the remembered config does not match its digest; reading it again"),
                }
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(config = %digest, error = %e,
                "the remembered config cannot be read; reading it again"),
        }
    }
    let bytes = read_blob_json(store, digest, size, "config", limits)?;
    if let Some(configs) = configs
        && let Err(e) = configs.put(digest, CONFIG_ROWS, &bytes)
    {
        tracing::warn!(config = %digest, error = %e, "the config could not be kept");
    }
    Ok(bytes)
}

#[derive(Clone, Copy)]
enum Hit {
    Layer,
    Image,
}

/// Counts decompressed bytes against the per-layer and per-image limits.
struct Budget<'a, R> {
    inner: R,
    layer: u64,
    layer_limit: u64,
    image: &'a Cell<u64>,
    image_limit: u64,
    hit: Option<Hit>,
}

impl<R: Read> Read for Budget<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)? as u64;
        self.layer = self.layer.saturating_add(n);
        self.image.set(self.image.get().saturating_add(n));
        let hit = if self.layer > self.layer_limit {
            Some(Hit::Layer)
        } else if self.image.get() > self.image_limit {
            Some(Hit::Image)
        } else {
            None
        };
        if let Some(h) = hit {
            self.hit = Some(h);
            return Err(io::Error::other("decompression limit exceeded"));
        }
        Ok(usize::try_from(n).unwrap_or(0))
    }
}

const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];
/// Decompressed bytes handed from the decoding thread to the reading thread at a time.
const CHUNK: usize = 256 * 1024;
/// Chunks in flight between the two threads (bounds the memory the pipeline holds).
const CHUNKS_IN_FLIGHT: usize = 8;

/// The uncompressed layer stream as the reading thread sees it: chunks from the decoding thread,
/// or the decoder's error at the position it happened.
struct ChannelReader {
    rx: Receiver<io::Result<Vec<u8>>>,
    /// spent chunks go back to the decoding thread, which refills them (no allocation and no
    /// zeroing per chunk)
    recycle: SyncSender<Vec<u8>>,
    chunk: Vec<u8>,
    pos: usize,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos >= self.chunk.len() {
            match self.rx.recv() {
                Ok(Ok(chunk)) => {
                    let spent = std::mem::replace(&mut self.chunk, chunk);
                    if spent.capacity() >= CHUNK {
                        let _ = self.recycle.try_send(spent);
                    }
                    self.pos = 0;
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => return Ok(0),
            }
        }
        let rest = self.chunk.get(self.pos..).unwrap_or_default();
        let n = rest.len().min(buf.len());
        if let (Some(dst), Some(src)) = (buf.get_mut(..n), rest.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.pos += n;
        Ok(n)
    }
}

/// Counts the raw bytes read for a progress report, in steps of a chunk.
struct Counting<R> {
    inner: R,
    progress: Option<Progress>,
    pending: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(p) = &self.progress {
            self.pending += n as u64;
            if self.pending >= CHUNK as u64 || n == 0 {
                p(ProgressEvent::LayerBytes(self.pending));
                self.pending = 0;
            }
        }
        Ok(n)
    }
}

/// What the reading thread learnt of the raw blob.
struct Raw {
    tally: Tally,
    /// an error reading the raw blob to its end (the digest is then unknown)
    drain: Option<io::Error>,
    /// whether `tally` is also the uncompressed stream's (an uncompressed blob hashed there for
    /// its diff id, sparing the tar-reading thread)
    is_diff: bool,
}

/// Which digests the reading thread computes.
#[derive(Clone, Copy)]
struct Hashes {
    /// the blob's own digest algorithm, when the blob has a digest
    raw: Option<Algorithm>,
    /// the diff id's algorithm, when the uncompressed stream must be verified
    diff: Option<Algorithm>,
}

/// How a layer blob is compressed, from its first bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Compression {
    None,
    Gzip,
    Zstd,
}

type Chunks = io::Result<Vec<u8>>;

/// The reading thread: sniffs the compression and says it (`kind`), then reads the raw blob to
/// its end, hashing it, and sends it in chunks while someone listens. When the listener hangs up
/// it keeps reading (bounded by the layer limit) so the digest can still be checked.
#[expect(
    clippy::too_many_arguments,
    reason = "the thread's whole context; a struct would only rename these"
)]
fn read_raw(
    raw: BlobReader<'_>,
    hashes: Hashes,
    media: &str,
    limits: &Limits,
    progress: Option<Progress>,
    kind: SyncSender<(Compression, bool)>,
    tx: SyncSender<Chunks>,
    recycled: Receiver<Vec<u8>>,
) -> Raw {
    let mut counted = Counting {
        inner: raw,
        progress,
        pending: 0,
    };
    let mut head = [0u8; 4];
    let (sniffed, mut failure) = match crate::read_up_to(&mut counted, &mut head) {
        Ok(n) => (n, None),
        Err(e) => (0, Some(e)),
    };
    let magic = head.get(..sniffed).unwrap_or_default();
    let compression =
        if magic.starts_with(GZIP_MAGIC) || (magic.is_empty() && media.ends_with("gzip")) {
            Compression::Gzip
        } else if magic.starts_with(ZSTD_MAGIC) {
            Compression::Zstd
        } else {
            Compression::None
        };
    let is_diff = hashes.raw.is_none() && compression == Compression::None && hashes.diff.is_some();
    let _ = kind.send((compression, is_diff));
    let algorithm = if is_diff { hashes.diff } else { hashes.raw };
    let mut hashing = VerifyingReader::new(io::Cursor::new(magic).chain(counted), algorithm);
    let mut listening = true;
    let mut spare: Vec<u8> = Vec::new();
    let mut total: u64 = 0;
    while failure.is_none() {
        let mut chunk = if listening {
            recycled.try_recv().unwrap_or_default()
        } else {
            std::mem::take(&mut spare)
        };
        chunk.resize(CHUNK, 0);
        let n = match crate::read_up_to(&mut hashing, &mut chunk) {
            Ok(n) => n,
            Err(e) => {
                if listening {
                    let _ = tx.send(Err(io::Error::new(e.kind(), e.to_string())));
                }
                failure = Some(e);
                break;
            }
        };
        if n == 0 {
            break;
        }
        total += n as u64;
        if total > limits.max_layer_bytes {
            failure = Some(io::Error::other("the blob is larger than the layer limit"));
            break;
        }
        chunk.truncate(n);
        if listening {
            if let Err(back) = tx.send(Ok(chunk)) {
                listening = false;
                if let Ok(c) = back.0 {
                    spare = c;
                }
            }
        } else {
            spare = chunk;
        }
    }
    drop(tx);
    Raw {
        tally: hashing.finish(),
        drain: failure,
        is_diff,
    }
}

/// The decoding thread (compressed layers only): decompresses the raw chunks and sends the
/// result in chunks until its end, or until the tar reader hangs up; then it drops its input,
/// which tells the reading thread to stop sending.
fn decode(
    compression: Compression,
    input: ChannelReader,
    tx: SyncSender<Chunks>,
    recycled: Receiver<Vec<u8>>,
) {
    let mut buffered = BufReader::with_capacity(CHUNK, input);
    let decoder: io::Result<Box<dyn Read + '_>> = match compression {
        Compression::Gzip => Ok(Box::new(flate2::bufread::MultiGzDecoder::new(
            &mut buffered,
        ))),
        Compression::Zstd => zstd::stream::read::Decoder::with_buffer(&mut buffered)
            .map(|d| Box::new(d) as Box<dyn Read + '_>),
        Compression::None => Ok(Box::new(&mut buffered)),
    };
    if let Err(e) = decoder.and_then(|mut d| pump(&mut *d, &tx, &recycled)) {
        // The reader sees the decoder's error where the stream broke (it may be gone already).
        let _ = tx.send(Err(e));
    }
}

/// Sends the decoded stream in chunks until its end, or until the reader hangs up.
fn pump(
    decoder: &mut dyn Read,
    tx: &SyncSender<Chunks>,
    recycled: &Receiver<Vec<u8>>,
) -> io::Result<()> {
    loop {
        let mut chunk = recycled.try_recv().unwrap_or_default();
        chunk.resize(CHUNK, 0);
        let mut filled = 0;
        while filled < CHUNK {
            let Some(space) = chunk.get_mut(filled..) else {
                break;
            };
            match decoder.read(space) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    if filled > 0 {
                        chunk.truncate(filled);
                        if tx.send(Ok(chunk)).is_err() {
                            return Ok(());
                        }
                    }
                    return Err(e);
                }
            }
        }
        if filled == 0 {
            return Ok(());
        }
        chunk.truncate(filled);
        if tx.send(Ok(chunk)).is_err() {
            return Ok(());
        }
    }
}

/// What reading a layer stream measured (what a record of the layer keeps for its replay).
#[derive(Debug, Clone, Copy, Default)]
struct LayerRead {
    /// uncompressed bytes of the stream
    bytes: u64,
    /// the largest tar metadata entry (GNU long name / PAX header)
    largest_metadata: u64,
}

/// Opens a layer, verifies it while `consume` reads it as a tar stream, drains what the tar
/// reader left, and maps failures to precise errors (a digest mismatch wins over the decoder
/// error it usually causes). Decompression and the blob digest run on a scoped second thread.
/// `Ok` only once the blob was verified in full (digest, and diff id when known).
fn read_layer<F>(
    store: &dyn BlobStore,
    layer: &LayerInfo,
    limits: &Limits,
    image_total: &Cell<u64>,
    progress: Option<&Progress>,
    consume: F,
) -> Result<LayerRead, ImageError>
where
    F: FnOnce(&mut dyn Read) -> Result<(), Stop>,
{
    let name = layer.name();
    let raw = match (&layer.digest, &layer.path) {
        (_, Some(path)) => store.open_path(path)?,
        (Some(d), None) => store.open_blob(d)?,
        (None, None) => return Err(ImageError::Unverifiable { blob: name }),
    };
    let media = layer.media_type.clone().unwrap_or_default();
    let is_layer = media.contains("tar") || media.contains("rootfs.diff");
    if !media.is_empty() && (!is_layer || media.contains("encrypted")) {
        return Err(ImageError::UnsupportedMediaType {
            layer: name,
            media_type: media,
        });
    }
    // An uncompressed blob's digest is its diff id: hash it once.
    let diff_id = layer
        .diff_id
        .as_ref()
        .filter(|d| layer.digest.as_ref() != Some(*d));
    let (raw_tx, raw_rx) = sync_channel(CHUNKS_IN_FLIGHT);
    let (raw_recycle_tx, raw_recycle_rx) = sync_channel(CHUNKS_IN_FLIGHT + 2);
    let (kind_tx, kind_rx) = sync_channel(1);
    let (result, hit, meta_hit, diff_tally, raw_outcome, measured) = std::thread::scope(|scope| {
        let hashes = Hashes {
            raw: layer.digest.as_ref().map(Digest::algorithm),
            diff: diff_id.map(Digest::algorithm),
        };
        let progress = progress.cloned();
        let media = media.as_str();
        let reader = scope.spawn(move || {
            read_raw(
                raw,
                hashes,
                media,
                limits,
                progress,
                kind_tx,
                raw_tx,
                raw_recycle_rx,
            )
        });
        let (compression, hashed_there) = kind_rx.recv().unwrap_or((Compression::None, false));
        let raw_input = ChannelReader {
            rx: raw_rx,
            recycle: raw_recycle_tx,
            chunk: Vec::new(),
            pos: 0,
        };
        // Compressed layers get a decoding thread between reading and tar parsing.
        let (input, decoder) = if compression == Compression::None {
            (raw_input, None)
        } else {
            let (tx, rx) = sync_channel(CHUNKS_IN_FLIGHT);
            let (recycle_tx, recycle_rx) = sync_channel(CHUNKS_IN_FLIGHT + 2);
            let handle = scope.spawn(move || decode(compression, raw_input, tx, recycle_rx));
            let input = ChannelReader {
                rx,
                recycle: recycle_tx,
                chunk: Vec::new(),
                pos: 0,
            };
            (input, Some(handle))
        };
        let mut budget = Budget {
            inner: input,
            layer: 0,
            layer_limit: limits.max_layer_bytes,
            image: image_total,
            image_limit: limits.max_image_bytes,
            hit: None,
        };
        let diff_alg = diff_id.map(Digest::algorithm).filter(|_| !hashed_there);
        let mut diff_v = VerifyingReader::new(&mut budget, diff_alg);
        let meta_hit = Rc::new(Cell::new(false));
        let mut guarded = crate::guard::TarGuard::new(
            &mut diff_v,
            limits.max_tar_meta_bytes,
            Rc::clone(&meta_hit),
        );
        let result = consume(&mut guarded).and_then(|()| {
            io::copy(&mut guarded, &mut io::sink())?;
            Ok(())
        });
        let largest_metadata = guarded.largest_metadata();
        drop(guarded);
        let diff_tally = diff_v.finish();
        let hit = budget.hit;
        let measured = LayerRead {
            bytes: budget.layer,
            largest_metadata,
        };
        // Hang up so the other threads stop decoding; the reader only drains the raw blob.
        drop(budget);
        let decoded = decoder.map_or(Ok(()), |d| d.join());
        let raw_outcome = reader.join().and_then(|r| decoded.map(|()| r));
        (
            result,
            hit,
            meta_hit.get(),
            diff_tally,
            raw_outcome,
            measured,
        )
    });
    let raw_outcome = raw_outcome.map_err(|_| {
        ImageError::io(
            name.clone(),
            io::Error::other("the layer decoding thread panicked"),
        )
    })?;
    let diff_tally = if raw_outcome.is_diff {
        &raw_outcome.tally
    } else {
        &diff_tally
    };
    let blob_check = match (&layer.digest, &raw_outcome.drain) {
        (Some(d), None) => verify(&raw_outcome.tally, &name, d, layer.size),
        (Some(_), Some(e)) => Err(ImageError::io(
            name.clone(),
            io::Error::new(e.kind(), e.to_string()),
        )),
        (None, _) => Ok(()),
    };
    match result {
        Ok(()) => {
            blob_check?;
            if let Some(diff_id) = diff_id {
                if raw_outcome.drain.is_some() {
                    return Err(ImageError::CorruptLayer {
                        layer: name,
                        source: io::Error::other("the layer could not be read to its end"),
                    });
                }
                verify(diff_tally, &format!("{name} (uncompressed)"), diff_id, None)?;
            }
            Ok(measured)
        }
        Err(stop) => {
            if let Some(h) = hit {
                return Err(match h {
                    Hit::Layer => ImageError::LayerTooLarge {
                        layer: name,
                        limit: limits.max_layer_bytes,
                    },
                    Hit::Image => ImageError::ImageTooLarge {
                        layer: name,
                        limit: limits.max_image_bytes,
                    },
                });
            }
            if meta_hit {
                return Err(ImageError::TarMetadataTooLarge {
                    layer: name,
                    limit: limits.max_tar_meta_bytes,
                });
            }
            blob_check?;
            Err(match stop {
                Stop::Image(e) => e,
                Stop::Io(e) => ImageError::CorruptLayer {
                    layer: name,
                    source: e,
                },
                // only a replay stops for this, and a replay reads no stream
                Stop::Hole => ImageError::CorruptLayer {
                    layer: name,
                    source: io::Error::other("a layer record stopped a stream"),
                },
            })
        }
    }
}

/// How long a squash waits for a layer another thread of this process is reading (a base of
/// gigabytes over a slow registry) before it reads the layer itself.
const FLIGHT_WAIT: Duration = Duration::from_secs(600);

/// The state of a cached squash across its attempts.
struct Cached<'a, O> {
    store: &'a dyn LayerStore,
    analysis: &'a str,
    /// per layer: the chain id of the layers up to it (when squash states may be kept)
    chains: Vec<Option<prefix::ChainId>>,
    /// per layer: the record to replay (loaded, or made by this squash)
    records: Vec<Option<Shared<O>>>,
    /// per layer: read from the blob whatever the record
    forced: Vec<bool>,
    /// per layer: its bytes were counted for the progress report
    shown: Vec<bool>,
    report: CacheReport,
    /// the layers this squash reads that other squashes of this process wait for
    claim: Option<flight::Claim<'a>>,
}

impl<O: Send + Sync + 'static> Cached<'_, O> {
    /// Keeps the state of `sq`, which has just applied layer `i`, when its chain is met again.
    fn hold<C: Collector<Output = O>>(&self, i: usize, sq: &Squasher<'_, C>) {
        if let Some(Some(chain)) = self.chains.get(i) {
            if prefix::met(chain) {
                prefix::keep(chain, sq.snapshot());
            }
        }
    }
}

/// Counts a layer's bytes for the progress report, once per squash (`shown`: that layer's flag).
fn show(shown: Option<&mut bool>, layer: &LayerInfo, progress: Option<&Progress>) {
    if let (Some(p), Some(shown)) = (progress, shown) {
        if !*shown {
            p(ProgressEvent::LayerBytes(layer.size.unwrap_or(0)));
            *shown = true;
        }
    }
}

/// A layer record, shared with the process's memory of decoded records.
type Shared<O> = Arc<LayerRecord<O>>;

/// Layer records kept decoded in this process, for the stores that allow it
/// ([`LayerStore::keep_decoded`]): by diff id and analysis, typed by the collector's output.
/// A fleet worker decoded the record of a shared base again for every image: a sixth of its
/// time on images whose layers were all cached. Bounded by the entries held: emptied when
/// [`decoded::KEPT_ENTRIES`] would be passed.
mod decoded {
    use std::sync::{Arc, LazyLock};

    use crate::digest::Digest;
    use crate::held::Held;
    use crate::record::LayerRecord;

    /// At most this many file entries held, over all records (a few hundred MB at most).
    pub(super) const KEPT_ENTRIES: usize = 2_000_000;

    static MEMORY: LazyLock<Held<(String, String)>> = LazyLock::new(|| Held::new(KEPT_ENTRIES));

    pub(super) fn get<O: Send + Sync + 'static>(
        diff_id: &Digest,
        analysis: &str,
    ) -> Option<Arc<LayerRecord<O>>> {
        MEMORY.get(&(diff_id.to_string(), analysis.to_owned()))
    }

    pub(super) fn keep<O: Send + Sync + 'static>(
        diff_id: &Digest,
        analysis: &str,
        record: &Arc<LayerRecord<O>>,
    ) {
        let key = (diff_id.to_string(), analysis.to_owned());
        MEMORY.keep(key, Arc::clone(record), record.entries());
    }
}

/// Hands a record to the store, and says so in the layer's report: the store's answer, or why
/// the record could not be written at all (a result that would not read back as itself).
fn save<O: Serialize>(
    store: &dyn LayerStore,
    diff_id: &Digest,
    analysis: &str,
    record: &LayerRecord<O>,
    used: &mut LayerUse,
) {
    match record.encode(diff_id, analysis) {
        Ok(payload) => used.saved = Some(store.put(diff_id, analysis, &payload)),
        Err(e) => used.not_recorded = Some(e.to_string()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::fs::MatchCollector;
    use proptest::prelude::*;

    /// Blobs in memory, by path.
    struct MemStore(std::collections::HashMap<String, Vec<u8>>);

    impl BlobStore for MemStore {
        fn open_path(&self, path: &str) -> Result<BlobReader<'_>, ImageError> {
            let data = self.0.get(path).ok_or_else(|| ImageError::BlobNotFound {
                blob: path.to_owned(),
            })?;
            Ok(Box::new(data.as_slice()))
        }
        fn has_path(&self, path: &str) -> bool {
            self.0.contains_key(path)
        }
    }

    fn squash_blob(blob: Vec<u8>) -> Result<Filesystem, ImageError> {
        squash_typed(blob, None)
    }

    fn squash_typed(blob: Vec<u8>, media_type: Option<&str>) -> Result<Filesystem, ImageError> {
        let digest = Digest::sha256_of(&blob);
        let path = format!("blobs/sha256/{}", digest.hex());
        let store = MemStore([(path, blob)].into_iter().collect());
        let layer = LayerInfo {
            index: 0,
            digest: Some(digest),
            diff_id: None,
            media_type: media_type.map(str::to_owned),
            size: None,
            path: None,
        };
        let limits = Limits {
            max_layer_bytes: 1 << 20,
            max_entries: 1000,
            ..Limits::default()
        };
        let collector = MatchCollector::new(|_: &str, _: &EntryMeta| true);
        let mut sq = Squasher::new(&limits, &collector);
        let total = Cell::new(0);
        read_layer(&store, &layer, &limits, &total, None, |r| {
            sq.layer(0, None, "test", r).map(|_| ())
        })?;
        Ok(sq.finish().fs)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        /// Arbitrary bytes behind a gzip, zstd or tar-looking prefix: an error or a view, never
        /// a panic.
        #[test]
        fn layer_pipeline_never_panics_on_arbitrary_bytes(
            prefix in prop_oneof![Just(vec![]), Just(vec![0x1f, 0x8b, 8, 0]), Just(vec![0x28, 0xb5, 0x2f, 0xfd])],
            body in proptest::collection::vec(any::<u8>(), 0..2048),
        ) {
            let mut blob = prefix;
            blob.extend(body);
            let _ = squash_blob(blob);
        }
    }

    #[test]
    fn trailing_data_after_the_tar_is_hashed_too() {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(1);
        b.append_data(&mut h, "a", &b"a"[..]).unwrap();
        let mut blob = b.into_inner().unwrap();
        blob.extend_from_slice(&[0u8; 10_000]);
        assert_eq!(squash_blob(blob).unwrap().len(), 1);
    }

    #[test]
    fn non_layer_and_encrypted_media_types_are_refused() {
        for mt in [
            "application/vnd.oci.image.layer.v1.tar+gzip+encrypted",
            "application/vnd.in-toto+json",
        ] {
            let err = squash_typed(Vec::new(), Some(mt)).unwrap_err();
            assert!(
                matches!(&err, ImageError::UnsupportedMediaType { media_type, .. } if media_type == mt),
                "{err}"
            );
        }
        for mt in [
            "application/vnd.docker.image.rootfs.diff.tar.gzip",
            "application/vnd.oci.image.layer.v1.tar+zstd",
        ] {
            let result = squash_typed(Vec::new(), Some(mt));
            assert!(
                !matches!(result, Err(ImageError::UnsupportedMediaType { .. })),
                "{mt}"
            );
        }
    }
}
