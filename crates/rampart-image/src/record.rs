//! Layer records: what a squash learns from one layer, kept by the layer's diff id so that the
//! next squash of any image holding that layer replays it without reading its blob.
//!
//! A record is the layer's *input* as the squash sees it: its tar entries' headers in order
//! (type, path, link, mode, owner, size), with the collector's results for the files it read
//! ([`Analysis`]). Replaying a record runs the unchanged squash logic over those headers, so
//! whiteouts, opaque directories, hardlinks and symlinked parents across layers behave exactly as
//! when the tar is read. A result is reused only for the same question: the same final path,
//! metadata and capture cap (a layer over another base may land a file elsewhere, or the capture
//! budget may be shorter); a question the record cannot answer sends that layer back to its
//! blob, and the fresh record keeps both answers.
//!
//! A record is made only while the layer's blob is read, and handed to the [`LayerStore`] only
//! after the blob was verified in full against its digest and diff id.
//!
//! The stored form ([`LayerRecord::encode`]) is a zstd frame (with its checksum) holding JSON:
//! the format version, the analysis version and the diff id it was made for, then the record.
//! [`LayerRecord::decode`] bounds every reading (compressed and decompressed sizes, nesting) and
//! refuses a payload made for another diff id, analysis or format: such a row is a miss, never an
//! error.

use std::io::Read;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::EntryKind;
use crate::digest::Digest;

/// The version of the record format and of the replay semantics. Bump it when a record made by
/// an older squash would replay differently (it is part of every payload).
pub const RECORD_FORMAT: u32 = 1;

/// Largest stored payload read (compressed bytes).
pub const MAX_PAYLOAD_BYTES: usize = 256 << 20;
/// Largest decompressed record read.
pub const MAX_RECORD_BYTES: u64 = 1 << 30;
/// Most results kept per file: one per context it was read in (other bases, other budgets).
const MAX_ANALYSES_PER_ENTRY: usize = 8;

/// What one layer gave a squash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound(serialize = "O: Serialize", deserialize = "O: DeserializeOwned"))]
pub struct LayerRecord<O> {
    /// uncompressed bytes of the layer stream (checked against the byte limits on replay)
    #[serde(rename = "b")]
    pub(crate) bytes: u64,
    /// the largest GNU long-name or PAX header entry of the layer (checked against
    /// `max_tar_meta_bytes` on replay)
    #[serde(rename = "x", default)]
    pub(crate) largest_metadata: u64,
    /// every entry the tar reader gave, in order
    #[serde(rename = "e")]
    pub(crate) entries: Vec<RecordedEntry<O>>,
}

/// One tar entry: its header as the squash reads it, and the collector's results for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound(serialize = "O: Serialize", deserialize = "O: DeserializeOwned"))]
pub(crate) struct RecordedEntry<O> {
    #[serde(rename = "h")]
    pub(crate) head: EntryHead,
    #[serde(rename = "a", default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) analyses: Vec<Analysis<O>>,
}

/// A tar header's fields that the squash uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct EntryHead {
    /// the type flag byte
    #[serde(rename = "t")]
    pub(crate) kind: u8,
    /// the path (long names and PAX paths applied), lossy UTF-8
    #[serde(rename = "p")]
    pub(crate) path: String,
    /// whether the path was not UTF-8
    #[serde(rename = "n", default, skip_serializing_if = "is_false")]
    pub(crate) not_utf8: bool,
    /// the link name, lossy UTF-8
    #[serde(rename = "l", default, skip_serializing_if = "Option::is_none")]
    pub(crate) link: Option<String>,
    /// `mode & 0o7777`
    #[serde(rename = "m")]
    pub(crate) mode: u32,
    #[serde(rename = "u", default, skip_serializing_if = "is_zero")]
    pub(crate) uid: u64,
    #[serde(rename = "g", default, skip_serializing_if = "is_zero")]
    pub(crate) gid: u64,
    #[serde(rename = "s", default, skip_serializing_if = "is_zero")]
    pub(crate) size: u64,
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The collector's result for one file, with the question it answers: the file's final path,
/// the metadata the collector was shown, and the capture cap.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound(serialize = "O: Serialize", deserialize = "O: DeserializeOwned"))]
pub(crate) struct Analysis<O> {
    #[serde(rename = "k")]
    pub(crate) key: AnalysisKey,
    /// `None`: read, nothing kept
    #[serde(rename = "o", default)]
    pub(crate) output: Option<Arc<O>>,
}

/// What a collector's result depends on besides the content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AnalysisKey {
    #[serde(rename = "p")]
    pub(crate) path: String,
    #[serde(rename = "k")]
    pub(crate) kind: EntryKind,
    #[serde(rename = "m")]
    pub(crate) mode: u32,
    #[serde(rename = "u", default, skip_serializing_if = "is_zero")]
    pub(crate) uid: u64,
    #[serde(rename = "g", default, skip_serializing_if = "is_zero")]
    pub(crate) gid: u64,
    #[serde(rename = "s", default, skip_serializing_if = "is_zero")]
    pub(crate) size: u64,
    #[serde(rename = "l", default, skip_serializing_if = "Option::is_none")]
    pub(crate) link: Option<String>,
    #[serde(rename = "c")]
    pub(crate) cap: u64,
}

impl AnalysisKey {
    pub(crate) fn new(path: &str, meta: &crate::EntryMeta, cap: u64) -> Self {
        Self {
            path: path.to_owned(),
            kind: meta.kind,
            mode: meta.mode,
            uid: meta.uid,
            gid: meta.gid,
            size: meta.size,
            link: meta.link_target.clone(),
            cap,
        }
    }

    pub(crate) fn matches(&self, path: &str, meta: &crate::EntryMeta, cap: u64) -> bool {
        self.path == path
            && self.kind == meta.kind
            && self.mode == meta.mode
            && self.uid == meta.uid
            && self.gid == meta.gid
            && self.size == meta.size
            && self.link == meta.link_target
            && self.cap == cap
    }
}

/// Why a stored payload could not be used.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// larger than [`MAX_PAYLOAD_BYTES`] or, decompressed, than [`MAX_RECORD_BYTES`]
    #[error("the record is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    /// not a zstd frame, or a damaged one
    #[error("the record cannot be decompressed: {0}")]
    Compression(std::io::Error),
    /// not the JSON of a record
    #[error("the record cannot be decoded: {0}")]
    Json(serde_json::Error),
    /// written by a rampart with another record format
    #[error("the record has format {found}, this rampart reads format {RECORD_FORMAT}")]
    Format { found: u32 },
    /// made by another analysis version (or with other options)
    #[error("the record was made by analysis `{found}`, not `{expected}`")]
    Analysis { found: String, expected: String },
    /// made for another layer
    #[error("the record is of layer {found}, not {expected}")]
    Layer { found: String, expected: String },
    /// the record cannot be written
    #[error("the record cannot be encoded: {0}")]
    Encode(String),
}

/// The first line of a payload: what the record is of.
#[derive(Serialize, Deserialize)]
struct Envelope {
    format: u32,
    analysis: String,
    diff_id: String,
}

impl<O> LayerRecord<O> {
    /// The number of tar entries recorded.
    pub fn entries(&self) -> usize {
        self.entries.len()
    }

    /// The number of collector results recorded.
    pub fn analyses(&self) -> usize {
        self.entries.iter().map(|e| e.analyses.len()).sum()
    }

    /// The uncompressed size of the layer stream.
    pub fn layer_bytes(&self) -> u64 {
        self.bytes
    }

    /// Keeps the results of `old` (a record of the same layer from another context) that this
    /// one does not have, so that the layer replays in both contexts.
    pub(crate) fn merge_from(&mut self, old: &LayerRecord<O>) {
        if old.entries.len() != self.entries.len() {
            return;
        }
        for (new, old) in self.entries.iter_mut().zip(&old.entries) {
            if new.head != old.head {
                return;
            }
            for a in &old.analyses {
                if new.analyses.len() >= MAX_ANALYSES_PER_ENTRY {
                    break;
                }
                if !new.analyses.iter().any(|n| n.key == a.key) {
                    new.analyses.push(Analysis {
                        key: a.key.clone(),
                        output: a.output.clone(),
                    });
                }
            }
        }
    }
}

impl<O: Serialize> LayerRecord<O> {
    /// The stored form: a zstd frame (with checksum) of the JSON envelope naming the format,
    /// `analysis` and `diff_id`.
    pub fn encode(&self, diff_id: &Digest, analysis: &str) -> Result<Vec<u8>, RecordError> {
        use std::io::Write as _;
        let envelope = Envelope {
            format: RECORD_FORMAT,
            analysis: analysis.to_owned(),
            diff_id: diff_id.to_string(),
        };
        let encode = |e: std::io::Error| RecordError::Encode(e.to_string());
        let json = |e: serde_json::Error| RecordError::Encode(e.to_string());
        let mut encoder = zstd::stream::write::Encoder::new(Vec::new(), 3).map_err(encode)?;
        encoder.include_checksum(true).map_err(encode)?;
        // Compact JSON has no raw newline (one in a string is escaped): the envelope ends at
        // the first one, and is checked before the record is parsed.
        serde_json::to_writer(&mut encoder, &envelope).map_err(json)?;
        encoder.write_all(b"\n").map_err(encode)?;
        serde_json::to_writer(&mut encoder, self).map_err(json)?;
        let bytes = encoder.finish().map_err(encode)?;
        if bytes.len() > MAX_PAYLOAD_BYTES {
            return Err(RecordError::TooLarge {
                limit: MAX_PAYLOAD_BYTES as u64,
            });
        }
        Ok(bytes)
    }
}

impl<O: DeserializeOwned> LayerRecord<O> {
    /// Reads a stored payload made for `diff_id` by `analysis`. Bounded: at most
    /// [`MAX_PAYLOAD_BYTES`] compressed and [`MAX_RECORD_BYTES`] decompressed; JSON nesting is
    /// bounded by the decoder. Never panics on any input.
    pub fn decode(payload: &[u8], diff_id: &Digest, analysis: &str) -> Result<Self, RecordError> {
        if payload.len() > MAX_PAYLOAD_BYTES {
            return Err(RecordError::TooLarge {
                limit: MAX_PAYLOAD_BYTES as u64,
            });
        }
        let decoder =
            zstd::stream::read::Decoder::new(payload).map_err(RecordError::Compression)?;
        let mut json = Vec::new();
        decoder
            .take(MAX_RECORD_BYTES + 1)
            .read_to_end(&mut json)
            .map_err(RecordError::Compression)?;
        if json.len() as u64 > MAX_RECORD_BYTES {
            return Err(RecordError::TooLarge {
                limit: MAX_RECORD_BYTES,
            });
        }
        // The envelope first: a payload of another format may not even have a record we read.
        let split = json.iter().position(|&b| b == b'\n').unwrap_or(json.len());
        let (head, record) = json.split_at(split);
        let head: Envelope = serde_json::from_slice(head).map_err(RecordError::Json)?;
        if head.format != RECORD_FORMAT {
            return Err(RecordError::Format { found: head.format });
        }
        if head.analysis != analysis {
            return Err(RecordError::Analysis {
                found: head.analysis.chars().take(200).collect(),
                expected: analysis.to_owned(),
            });
        }
        let expected = diff_id.to_string();
        if head.diff_id != expected {
            return Err(RecordError::Layer {
                found: head.diff_id.chars().take(200).collect(),
                expected,
            });
        }
        let record = record.get(1..).unwrap_or_default();
        serde_json::from_slice(record).map_err(RecordError::Json)
    }
}

/// The "analysis" under which a [`LayerStore`] keeps image configs, by the config's digest
/// ([`Image::from_descriptor_remembering`](crate::Image::from_descriptor_remembering)): the
/// config's own bytes, the same for every version of rampart, verified on every read.
pub const CONFIG_ROWS: &str = "image config";

/// Where layer records are kept, as opaque bytes by (diff id, analysis version): a database
/// (`rampart-layercache`), or anything else. Integrity of the bytes (a checksum of what was
/// stored) is the store's business; their meaning is [`LayerRecord::decode`]'s.
pub trait LayerStore: Sync {
    /// The payload stored for this layer and analysis: `Ok(None)` when there is none, `Err`
    /// when a row exists but cannot be used (damaged, unreadable); both are misses.
    fn get(&self, diff_id: &Digest, analysis: &str) -> Result<Option<Vec<u8>>, String>;
    /// Stores (or replaces) the payload of this layer and analysis. Idempotent.
    fn put(&self, diff_id: &Digest, analysis: &str, payload: &[u8]) -> Result<(), String>;
    /// Whether records read from this store may be kept decoded in this process and replayed
    /// again without asking the store (a long-running fleet worker meets one base in every
    /// image). Off by default: a scan asks its store for each layer.
    fn keep_decoded(&self) -> bool {
        false
    }
    /// Claims `layers` (diff id, analysis) for reading from their blobs, against the other
    /// processes sharing this store (the workers of a fleet sharing a PostgreSQL cache):
    /// `Ok(true)` when this process may read them all (nothing is claimed by a store that does
    /// not coordinate processes: the default), `Ok(false)` when another process is reading one
    /// of them (none is then held here: the squash waits for that record), `Err` when the store
    /// cannot tell (the layers are read). Asked only of stores that keep records decoded.
    fn claim_reading(&self, _layers: &[(String, String)]) -> Result<bool, String> {
        Ok(true)
    }
    /// Lets go of a layer claimed by [`LayerStore::claim_reading`] (its record is stored, or
    /// its read failed).
    fn release_reading(&self, _diff_id: &str, _analysis: &str) {}
}

/// What the store gave for one layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// no diff id: the layer cannot be addressed by content (never stored)
    NoDiffId,
    /// a usable record
    Hit,
    /// no record
    Absent,
    /// a record that could not be used (damaged, another version, unreadable): why
    Unusable(String),
}

/// How one layer was read by [`Image::squash_cached`](crate::Image::squash_cached).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerUse {
    /// the layer's position
    pub index: usize,
    /// what the store gave
    pub lookup: Lookup,
    /// whether the layer's blob was opened (a miss, or a record that could not answer every
    /// question of this image)
    pub blob_read: bool,
    /// whether a record was handed to the store, and the store's error if it failed
    pub saved: Option<Result<(), String>>,
    /// why the layer's record could not be made (a collector result that does not serialize
    /// to itself): the layer is read from its blob each time
    pub not_recorded: Option<String>,
}

/// How a cached squash used the store, layer by layer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CacheReport {
    /// one per layer, base first
    pub layers: Vec<LayerUse>,
    /// The first layers not applied at all: the squash started from the state an earlier image
    /// on the same layers left (held in this process, for stores that keep records decoded).
    pub resumed: usize,
}

impl CacheReport {
    /// Layers replayed from the store without opening their blob.
    pub fn hits(&self) -> usize {
        self.layers.iter().filter(|l| !l.blob_read).count()
    }

    /// Layers whose blob was read.
    pub fn blobs_read(&self) -> usize {
        self.layers.iter().filter(|l| l.blob_read).count()
    }

    /// Records that could not be used, with why.
    pub fn unusable(&self) -> impl Iterator<Item = (usize, &str)> {
        self.layers.iter().filter_map(|l| match &l.lookup {
            Lookup::Unusable(why) => Some((l.index, why.as_str())),
            _ => None,
        })
    }

    /// Records stored.
    pub fn saved(&self) -> usize {
        self.layers
            .iter()
            .filter(|l| matches!(l.saved, Some(Ok(()))))
            .count()
    }

    /// The store's errors on writing, with the layer.
    pub fn save_errors(&self) -> impl Iterator<Item = (usize, &str)> {
        self.layers.iter().filter_map(|l| match &l.saved {
            Some(Err(e)) => Some((l.index, e.as_str())),
            _ => None,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use proptest::prelude::*;

    use super::*;
    use crate::squash::tests::layer_bytes;
    use crate::{BlobReader, BlobStore, EntryMeta, Image, ImageError, Limits, MatchCollector};

    /// Blobs in memory, counting what is opened.
    #[derive(Default)]
    struct MemBlobs {
        files: HashMap<String, Vec<u8>>,
        opened: Mutex<Vec<String>>,
    }

    impl BlobStore for std::sync::Arc<MemBlobs> {
        fn open_path(&self, path: &str) -> Result<BlobReader<'_>, ImageError> {
            self.opened.lock().unwrap().push(path.to_owned());
            let data = self
                .files
                .get(path)
                .ok_or_else(|| ImageError::BlobNotFound {
                    blob: path.to_owned(),
                })?;
            Ok(Box::new(data.as_slice()))
        }
        fn has_path(&self, path: &str) -> bool {
            self.files.contains_key(path)
        }
    }

    /// Records in memory.
    #[derive(Default)]
    struct MemRecords(Mutex<HashMap<(String, String), Vec<u8>>>);

    impl LayerStore for MemRecords {
        fn get(&self, diff_id: &Digest, analysis: &str) -> Result<Option<Vec<u8>>, String> {
            let key = (diff_id.to_string(), analysis.to_owned());
            Ok(self.0.lock().unwrap().get(&key).cloned())
        }
        fn put(&self, diff_id: &Digest, analysis: &str, payload: &[u8]) -> Result<(), String> {
            let key = (diff_id.to_string(), analysis.to_owned());
            self.0.lock().unwrap().insert(key, payload.to_vec());
            Ok(())
        }
    }

    fn blob_path(d: &Digest) -> String {
        format!("blobs/sha256/{}", d.hex())
    }

    /// An OCI layout in memory of these uncompressed layer tars (every other one gzipped).
    fn layout(tars: &[Vec<u8>], with_layer_blobs: bool) -> std::sync::Arc<MemBlobs> {
        let mut files = HashMap::new();
        let mut descs = Vec::new();
        let mut diff_ids = Vec::new();
        for (i, tar) in tars.iter().enumerate() {
            let blob = if i % 2 == 1 {
                let mut g = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                std::io::Write::write_all(&mut g, tar).unwrap();
                g.finish().unwrap()
            } else {
                tar.clone()
            };
            let d = Digest::sha256_of(&blob);
            descs.push(serde_json::json!({
                "mediaType": if i % 2 == 1 { "application/vnd.oci.image.layer.v1.tar+gzip" } else { "application/vnd.oci.image.layer.v1.tar" },
                "digest": d.to_string(), "size": blob.len()
            }));
            diff_ids.push(Digest::sha256_of(tar).to_string());
            if with_layer_blobs {
                files.insert(blob_path(&d), blob);
            }
        }
        let config = serde_json::to_vec(&serde_json::json!({
            "architecture": "amd64", "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": diff_ids}
        }))
        .unwrap();
        let cd = Digest::sha256_of(&config);
        let manifest = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd.to_string(), "size": config.len()},
            "layers": descs
        }))
        .unwrap();
        let md = Digest::sha256_of(&manifest);
        let index = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md.to_string(), "size": manifest.len()}]
        }))
        .unwrap();
        files.insert(blob_path(&cd), config);
        files.insert(blob_path(&md), manifest);
        files.insert(String::from("index.json"), index);
        std::sync::Arc::new(MemBlobs {
            files,
            opened: Mutex::new(Vec::new()),
        })
    }

    fn open(blobs: &std::sync::Arc<MemBlobs>, limits: &Limits) -> Image {
        Image::from_oci_layout(Box::new(std::sync::Arc::clone(blobs)), None, limits).unwrap()
    }

    fn layer_blobs_opened(blobs: &MemBlobs) -> usize {
        let opened = blobs.opened.lock().unwrap();
        // the config and manifest are always read; only layer blobs count
        opened
            .iter()
            .filter(|p| p.starts_with("blobs/"))
            .count()
            .saturating_sub(2)
    }

    /// Everything a squash gives, as text: the view (entries with every field, anomalies) and
    /// the collected files; or the error.
    fn shown<T: std::fmt::Debug>(r: Result<&crate::Squashed<T>, &ImageError>) -> String {
        match r {
            Ok(s) => format!(
                "{:?}\n{:?}\n{}\n{:?}",
                s.fs.entries, s.fs.anomalies, s.fs.anomalies_dropped, s.files
            ),
            Err(e) => format!("error: {e}"),
        }
    }

    fn wants_all() -> MatchCollector<impl Fn(&str, &EntryMeta) -> bool + Sync> {
        MatchCollector::new(|_: &str, _: &EntryMeta| true)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        /// A squash from records (blobs gone) gives exactly what the squash of the blobs gives:
        /// same entries and metadata, anomalies, collected files and their layers, same errors.
        #[test]
        fn replaying_records_gives_the_cold_squash(
            layers in proptest::collection::vec(
                proptest::collection::vec((any::<u8>(), any::<usize>(), any::<usize>(), 0u8..40), 0..24), 1..5),
            budget in prop_oneof![Just(100u64), Just(1u64 << 20)],
        ) {
            let tars: Vec<Vec<u8>> = layers.iter().map(|l| layer_bytes(l)).collect();
            let limits = Limits { max_file_capture: 16, max_total_capture: budget, ..Limits::default() };
            let collector = wants_all();
            let blobs = layout(&tars, true);
            let image = open(&blobs, &limits);
            let cold = image.squash(&collector);
            let store = MemRecords::default();
            let first = image.squash_cached(&collector, &store, "test");
            prop_assert_eq!(shown(cold.as_ref()), shown(first.as_ref().map(|(s, _)| s)));
            let no_blobs = layout(&tars, false);
            let replay = open(&no_blobs, &limits).squash_cached(&collector, &store, "test");
            if let Ok(cold) = &cold {
                let (replayed, report) = replay.as_ref().map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(shown(Ok(cold)), shown(Ok(replayed)));
                prop_assert_eq!(report.hits(), tars.len());
                prop_assert_eq!(layer_blobs_opened(&no_blobs), 0);
            }
        }
    }
}
