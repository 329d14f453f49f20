//! The registry as a [`BlobStore`], and opening an image by reference.

use std::collections::{HashMap, HashSet};
use std::io::Cursor;
use std::sync::{Arc, Mutex, PoisonError};

use rampart_image::{
    BlobReader, BlobStore, Digest, Image, ImageError, LayerStore, Limits, Platform,
};
use serde::Deserialize;

use crate::client::{Client, ClientOptions, Manifest};
use crate::error::RegistryError;
use crate::reference::{Reference, Repository};

/// Blobs of one repository, fetched on demand. Manifests are told apart from other blobs by
/// what has been read so far: the root manifest the reference resolved to and every manifest
/// an index read through this store names are fetched from `/manifests/`, the rest from
/// `/blobs/`. Nothing is verified here: [`Image`] checks every digest while it reads.
#[derive(Debug)]
pub struct RegistryStore {
    client: Arc<Client>,
    repository: Repository,
    /// manifests already fetched (the root), served from memory
    cached: Mutex<HashMap<Digest, Vec<u8>>>,
    /// digests known to be manifests (children of an index read through this store)
    manifests: Mutex<HashSet<Digest>>,
    max_manifest_bytes: u64,
}

#[derive(Deserialize)]
struct IndexHead {
    #[serde(default)]
    manifests: Vec<Child>,
}

#[derive(Deserialize)]
struct Child {
    digest: String,
}

impl RegistryStore {
    /// A store over `repository`, holding the already fetched `root` manifest.
    pub fn new(client: Arc<Client>, repository: Repository, root: Option<&Manifest>) -> Self {
        let store = Self {
            client,
            repository,
            cached: Mutex::new(HashMap::new()),
            manifests: Mutex::new(HashSet::new()),
            max_manifest_bytes: Limits::default().max_json_bytes,
        };
        if let Some(m) = root {
            if let Ok(d) = Digest::parse(&m.descriptor.digest) {
                store.note_children(&m.bytes);
                store
                    .cached
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(d, m.bytes.clone());
            }
        }
        store
    }

    /// The same store with another bound on manifests fetched through it.
    pub fn with_max_manifest_bytes(mut self, limit: u64) -> Self {
        self.max_manifest_bytes = limit;
        self
    }

    /// Remembers the manifests an index names (a manifest has none: nothing happens).
    fn note_children(&self, bytes: &[u8]) {
        if let Ok(index) = serde_json::from_slice::<IndexHead>(bytes) {
            let mut known = self
                .manifests
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            known.extend(
                index
                    .manifests
                    .iter()
                    .filter_map(|c| Digest::parse(&c.digest).ok()),
            );
        }
    }

    fn fetch(&self, digest: &Digest) -> Result<BlobReader<'_>, RegistryError> {
        if let Some(bytes) = self
            .cached
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(digest)
        {
            return Ok(Box::new(Cursor::new(bytes.clone())));
        }
        let is_manifest = self
            .manifests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(digest);
        if is_manifest {
            let reference = Reference::parse(&format!("{}@{digest}", self.repository))?;
            let m = self
                .client
                .fetch_manifest_limited(&reference, self.max_manifest_bytes)?;
            self.note_children(&m.bytes);
            return Ok(Box::new(Cursor::new(m.bytes)));
        }
        self.client.open_blob(&self.repository, digest)
    }
}

impl BlobStore for RegistryStore {
    fn open_blob(&self, digest: &Digest) -> Result<BlobReader<'_>, ImageError> {
        self.fetch(digest).map_err(|e| ImageError::Io {
            path: format!("{}@{digest}", self.repository),
            source: std::io::Error::other(e),
        })
    }

    fn open_path(&self, path: &str) -> Result<BlobReader<'_>, ImageError> {
        Err(ImageError::BlobNotFound {
            blob: path.to_owned(),
        })
    }

    fn has_path(&self, _path: &str) -> bool {
        false
    }
}

impl Client {
    /// Resolves `reference` and opens its image: an index is resolved to the manifest for
    /// `platform` by [`Image::from_descriptor`], which verifies every digest while reading.
    pub fn open_image(
        self: &Arc<Self>,
        reference: &Reference,
        platform: Option<&Platform>,
        limits: &Limits,
    ) -> Result<Image, RegistryError> {
        self.open_image_remembering(reference, platform, limits, None)
    }

    /// [`Client::open_image`], with the image's config recalled from (and kept in) `configs`
    /// ([`Image::from_descriptor_remembering`]): an image met again costs one request, its
    /// manifest.
    pub fn open_image_remembering(
        self: &Arc<Self>,
        reference: &Reference,
        platform: Option<&Platform>,
        limits: &Limits,
        configs: Option<&dyn LayerStore>,
    ) -> Result<Image, RegistryError> {
        let root = self.fetch_manifest_limited(reference, limits.max_json_bytes)?;
        let store = RegistryStore::new(
            Arc::clone(self),
            reference.repository().clone(),
            Some(&root),
        )
        .with_max_manifest_bytes(limits.max_json_bytes);
        Image::from_descriptor_remembering(
            Box::new(store),
            &root.descriptor,
            platform,
            limits,
            configs,
        )
        .map_err(|source| RegistryError::Image {
            reference: reference.to_string(),
            source,
        })
    }
}

/// Opens the image a reference names with a client made from `options`.
pub fn open_image(
    reference: &Reference,
    platform: Option<&Platform>,
    options: &ClientOptions,
    limits: &Limits,
) -> Result<Image, RegistryError> {
    Arc::new(Client::new(options)?).open_image(reference, platform, limits)
}
