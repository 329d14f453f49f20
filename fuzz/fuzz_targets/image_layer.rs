//! The image reader on a hostile layer: an in-memory OCI layout whose single layer blob is the
//! fuzz input (after a first byte choosing plain tar, gzip or zstd as the declared media type),
//! with correct digests so the reader gets past verification into the tar and squash code; half
//! the inputs are then inspected as `rampart scan --image` does (catalogers, binaries, secrets,
//! facts, rules).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_image::{BlobStore, Image, ImageError, Limits};
use sha2::{Digest as _, Sha256};
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

fn sha(b: &[u8]) -> String {
    let d = Sha256::digest(b);
    d.iter().map(|x| format!("{x:02x}")).collect()
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, layer)) = data.split_first() else {
        return;
    };
    let media = match pick % 3 {
        0 => "application/vnd.oci.image.layer.v1.tar",
        1 => "application/vnd.oci.image.layer.v1.tar+gzip",
        _ => "application/vnd.oci.image.layer.v1.tar+zstd",
    };
    let mut blobs = HashMap::new();
    let layer_hex = sha(layer);
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","config":{{"User":"0"}},"rootfs":{{"type":"layers","diff_ids":["sha256:{layer_hex}"]}}}}"#
    );
    let config_hex = sha(config.as_bytes());
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:{config_hex}","size":{}}},"layers":[{{"mediaType":"{media}","digest":"sha256:{layer_hex}","size":{}}}]}}"#,
        config.len(),
        layer.len()
    );
    let manifest_hex = sha(manifest.as_bytes());
    let index = format!(
        r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:{manifest_hex}","size":{}}}]}}"#,
        manifest.len()
    );
    blobs.insert(format!("blobs/sha256/{layer_hex}"), layer.to_vec());
    blobs.insert(format!("blobs/sha256/{config_hex}"), config.into_bytes());
    blobs.insert(format!("blobs/sha256/{manifest_hex}"), manifest.into_bytes());
    blobs.insert("index.json".to_owned(), index.into_bytes());
    blobs.insert("oci-layout".to_owned(), br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec());

    // Small limits keep a decompression bomb from stalling the fuzzer (and exercise the limits).
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
    // Half the inputs go through the whole image layer: catalogers, binaries, secrets, facts
    // and rules, as `rampart scan --image` runs them.
    if pick / 3 % 2 == 1 {
        let opts = rampart_inspect::InspectOptions {
            secrets: true,
            today: jiff::civil::date(2026, 11, 27),
        };
        if let Ok(ins) = rampart_inspect::inspect(&image, "fuzz", &opts) {
            let _ = rampart_inspect::rules::assess(&ins);
        }
        return;
    }
    if let Ok((fs, _)) =
        image.capture(|path: &str, _: &_| path.ends_with("status") || path.contains("passwd"))
    {
        for (path, _) in fs.iter().take(1000) {
            let _ = fs.lookup(path);
        }
    }
});
