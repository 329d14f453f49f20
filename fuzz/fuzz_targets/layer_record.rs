//! A layer record from a shared cache is hostile data: the input is a stored payload, or (half
//! the time) the JSON of a record wrapped in a valid envelope and zstd frame so the decoder gets
//! past them. `rampart_inspect::decode_record` must refuse or decode it without panicking, and a
//! record that decodes is replayed: an in-memory image whose one layer has the record's diff id
//! is inspected through a store holding the payload (`inspect_cached`), with its rules.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_image::{BlobStore, Digest, Image, ImageError, LayerStore, Limits};
use std::collections::HashMap;

struct MemStore(HashMap<String, Vec<u8>>);

impl BlobStore for MemStore {
    fn open_path(&self, path: &str) -> Result<rampart_image::BlobReader<'_>, ImageError> {
        match self.0.get(path) {
            Some(b) => Ok(Box::new(b.as_slice())),
            None => Err(ImageError::BlobNotFound {
                blob: path.to_owned(),
            }),
        }
    }
    fn has_path(&self, path: &str) -> bool {
        self.0.contains_key(path)
    }
}

/// Gives the fuzz payload for every layer; records nothing.
struct OnePayload(Vec<u8>);

impl LayerStore for OnePayload {
    fn get(&self, _: &Digest, _: &str) -> Result<Option<Vec<u8>>, String> {
        Ok(Some(self.0.clone()))
    }
    fn put(&self, _: &Digest, _: &str, _: &[u8]) -> Result<(), String> {
        Ok(())
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    // The image: one empty layer (its blob is there, so a record that cannot answer is read).
    let layer = vec![0u8; 1024];
    let diff_id = Digest::sha256_of(&layer);
    let opts = rampart_inspect::InspectOptions {
        secrets: pick & 2 == 0,
        today: jiff::civil::date(2026, 11, 27),
    };
    let analysis = rampart_inspect::analysis_key(&opts);
    let payload = if pick & 1 == 0 {
        body.to_vec()
    } else {
        let mut json = format!(
            r#"{{"format":{},"analysis":"{analysis}","diff_id":"{diff_id}"}}"#,
            rampart_image::RECORD_FORMAT
        )
        .into_bytes();
        json.push(b'\n');
        json.extend_from_slice(body);
        match zstd::encode_all(json.as_slice(), 1) {
            Ok(p) => p,
            Err(_) => return,
        }
    };
    if rampart_inspect::decode_record(&payload, &diff_id, &analysis).is_err() {
        return;
    }
    let hex = diff_id.hex().to_owned();
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","rootfs":{{"type":"layers","diff_ids":["{diff_id}"]}}}}"#
    );
    let config_d = Digest::sha256_of(config.as_bytes());
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config_d}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{diff_id}","size":{}}}]}}"#,
        config.len(),
        layer.len()
    );
    let manifest_d = Digest::sha256_of(manifest.as_bytes());
    let index = format!(
        r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{manifest_d}","size":{}}}]}}"#,
        manifest.len()
    );
    let mut blobs = HashMap::new();
    blobs.insert(format!("blobs/sha256/{hex}"), layer);
    blobs.insert(format!("blobs/sha256/{}", config_d.hex()), config.into_bytes());
    blobs.insert(format!("blobs/sha256/{}", manifest_d.hex()), manifest.into_bytes());
    blobs.insert("index.json".to_owned(), index.into_bytes());
    let limits = Limits {
        max_layer_bytes: 64 << 20,
        max_image_bytes: 64 << 20,
        max_entries: 100_000,
        max_total_capture: 8 << 20,
        ..Limits::default()
    };
    let Ok(image) = Image::from_oci_layout(Box::new(MemStore(blobs)), None, &limits) else {
        return;
    };
    if let Ok((ins, _)) = rampart_inspect::inspect_cached(&image, "fuzz", &opts, &OnePayload(payload)) {
        let _ = rampart_inspect::rules::assess(&ins);
    }
});
