//! Builds real images for tests: layer tars (with raw, possibly hostile, names), gzip / zstd
//! compression, OCI layouts, OCI archives and `docker save` archives, with real sha256 digests.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use sha2::{Digest as _, Sha256, Sha512};

/// One tar entry. Names are written raw into the header, so `../x` and `/abs` are possible.
#[derive(Debug, Clone)]
pub enum E {
    File(&'static str, &'static [u8]),
    FileMode(&'static str, &'static [u8], u32),
    Dir(&'static str),
    Symlink(&'static str, &'static str),
    Hardlink(&'static str, &'static str),
    Fifo(&'static str),
}

pub fn raw_header(
    kind: tar::EntryType,
    name: &str,
    link: &str,
    size: u64,
    mode: u32,
) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(mode);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    let old = h.as_old_mut();
    old.name = [0; 100];
    old.name[..name.len()].copy_from_slice(name.as_bytes());
    old.linkname = [0; 100];
    old.linkname[..link.len()].copy_from_slice(link.as_bytes());
    h.set_cksum();
    h
}

pub fn append(b: &mut tar::Builder<impl Write>, e: &E) {
    use tar::EntryType as T;
    let (kind, name, link, data, mode): (T, &str, &str, &[u8], u32) = match e {
        E::File(n, d) => (T::Regular, n, "", d, 0o644),
        E::FileMode(n, d, m) => (T::Regular, n, "", d, *m),
        E::Dir(n) => (T::Directory, n, "", b"", 0o755),
        E::Symlink(n, t) => (T::Symlink, n, t, b"", 0o777),
        E::Hardlink(n, t) => (T::Link, n, t, b"", 0o644),
        E::Fifo(n) => (T::Fifo, n, "", b"", 0o644),
    };
    let h = raw_header(kind, name, link, data.len() as u64, mode);
    b.append(&h, data).unwrap();
}

pub fn layer_tar(entries: &[E]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        append(&mut b, e);
    }
    b.into_inner().unwrap()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comp {
    None,
    Gzip,
    Zstd,
}

pub fn compress(data: &[u8], comp: Comp) -> Vec<u8> {
    match comp {
        Comp::None => data.to_vec(),
        Comp::Gzip => {
            let mut g = GzEncoder::new(Vec::new(), flate2::Compression::default());
            g.write_all(data).unwrap();
            g.finish().unwrap()
        }
        Comp::Zstd => zstd::encode_all(data, 1).unwrap(),
    }
}

pub fn sha256(data: &[u8]) -> String {
    let d = Sha256::digest(data);
    format!(
        "sha256:{}",
        d.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

pub fn sha512(data: &[u8]) -> String {
    let d = Sha512::digest(data);
    format!(
        "sha512:{}",
        d.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

pub fn media_type(comp: Comp) -> &'static str {
    match comp {
        Comp::None => "application/vnd.oci.image.layer.v1.tar",
        Comp::Gzip => "application/vnd.oci.image.layer.v1.tar+gzip",
        Comp::Zstd => "application/vnd.oci.image.layer.v1.tar+zstd",
    }
}

/// A layer ready to store: the blob bytes and the uncompressed tar.
#[derive(Debug, Clone)]
pub struct Layer {
    pub tar: Vec<u8>,
    pub blob: Vec<u8>,
    pub comp: Comp,
}

pub fn layer(entries: &[E], comp: Comp) -> Layer {
    let tar = layer_tar(entries);
    Layer {
        blob: compress(&tar, comp),
        tar,
        comp,
    }
}

pub fn config_json(layers: &[Layer], os: &str, arch: &str) -> Vec<u8> {
    let diff_ids: Vec<String> = layers.iter().map(|l| sha256(&l.tar)).collect();
    serde_json::to_vec(&serde_json::json!({
        "architecture": arch,
        "os": os,
        "config": {
            "User": "app:app",
            "Entrypoint": ["/bin/app"],
            "Cmd": null,
            "Env": ["PATH=/usr/bin", "TOKEN=x"],
            "ExposedPorts": {"8080/tcp": {}, "53/udp": {}},
            "WorkingDir": "/srv",
            "Labels": {"org.opencontainers.image.title": "demo"}
        },
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created_by": "COPY . /srv"}, {"created_by": "ENV A=b", "empty_layer": true}]
    }))
    .unwrap()
}

pub fn put_blob(dir: &Path, data: &[u8]) -> String {
    let digest = sha256(data);
    let hex = digest.strip_prefix("sha256:").unwrap();
    std::fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
    std::fs::write(dir.join("blobs/sha256").join(hex), data).unwrap();
    digest
}

pub fn descriptor(media: &str, data: &[u8]) -> serde_json::Value {
    serde_json::json!({"mediaType": media, "digest": sha256(data), "size": data.len()})
}

pub fn manifest_json(config: &[u8], layers: &[Layer]) -> Vec<u8> {
    let layer_descs: Vec<_> = layers
        .iter()
        .map(|l| descriptor(media_type(l.comp), &l.blob))
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": descriptor("application/vnd.oci.image.config.v1+json", config),
        "layers": layer_descs
    }))
    .unwrap()
}

/// Writes an OCI layout with one image; returns the manifest digest.
pub fn oci_layout(dir: &Path, layers: &[Layer]) -> String {
    let config = config_json(layers, "linux", "amd64");
    oci_layout_with(dir, layers, &config)
}

pub fn oci_layout_with(dir: &Path, layers: &[Layer], config: &[u8]) -> String {
    std::fs::create_dir_all(dir).unwrap();
    put_blob(dir, config);
    for l in layers {
        put_blob(dir, &l.blob);
    }
    let manifest = manifest_json(config, layers);
    let digest = put_blob(dir, &manifest);
    let index = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [descriptor("application/vnd.oci.image.manifest.v1+json", &manifest)]
    });
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    digest
}

/// Writes a multi-platform OCI layout: one image per (os, arch, variant), each with one file
/// `/platform` holding its name, plus an attestation manifest (`unknown/unknown`).
pub fn multi_platform_layout(dir: &Path, platforms: &[(&str, &str, Option<&str>)]) {
    std::fs::create_dir_all(dir).unwrap();
    let mut descs = Vec::new();
    for (os, arch, variant) in platforms {
        let name = format!(
            "{os}/{arch}{}",
            variant.map(|v| format!("/{v}")).unwrap_or_default()
        );
        let mut b = tar::Builder::new(Vec::new());
        let h = raw_header(
            tar::EntryType::Regular,
            "platform",
            "",
            name.len() as u64,
            0o644,
        );
        b.append(&h, name.as_bytes()).unwrap();
        let tar = b.into_inner().unwrap();
        let l = Layer {
            blob: compress(&tar, Comp::Gzip),
            tar,
            comp: Comp::Gzip,
        };
        let layers = [l];
        let config = config_json(&layers, os, arch);
        put_blob(dir, &config);
        put_blob(dir, &layers[0].blob);
        let manifest = manifest_json(&config, &layers);
        put_blob(dir, &manifest);
        let mut d = descriptor("application/vnd.oci.image.manifest.v1+json", &manifest);
        let mut p = serde_json::json!({"os": os, "architecture": arch});
        if let Some(v) = variant {
            p["variant"] = serde_json::json!(v);
        }
        d["platform"] = p;
        descs.push(d);
    }
    // an attestation manifest as buildx writes it
    let att_layer = layer(&[E::File("attestation.json", b"{}")], Comp::None);
    let att_config = config_json(std::slice::from_ref(&att_layer), "unknown", "unknown");
    put_blob(dir, &att_config);
    put_blob(dir, &att_layer.blob);
    let att = manifest_json(&att_config, &[att_layer]);
    put_blob(dir, &att);
    let mut d = descriptor("application/vnd.oci.image.manifest.v1+json", &att);
    d["platform"] = serde_json::json!({"os": "unknown", "architecture": "unknown"});
    descs.push(d);
    let inner_index = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": descs
    }))
    .unwrap();
    put_blob(dir, &inner_index);
    // index.json points at the nested index, as `docker buildx --output type=oci` does
    let index = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [descriptor("application/vnd.oci.image.index.v1+json", &inner_index)]
    });
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
}

/// Packs a directory into a tar file (an OCI archive from a layout).
pub fn tar_dir(dir: &Path, out: &Path) {
    let f = std::fs::File::create(out).unwrap();
    let mut b = tar::Builder::new(f);
    b.append_dir_all(".", dir).unwrap();
    b.finish().unwrap();
}

/// Writes a `docker save` archive. Legacy: `<id>/layer.tar` + `<hex>.json`; otherwise the
/// Docker 25+ layout with `blobs/sha256/...` members (plus index.json and oci-layout).
pub fn docker_archive(out: &Path, layers: &[Layer], legacy: bool) -> PathBuf {
    let config = config_json(layers, "linux", "amd64");
    let mut b = tar::Builder::new(std::fs::File::create(out).unwrap());
    let add = |b: &mut tar::Builder<std::fs::File>, name: &str, data: &[u8]| {
        let h = raw_header(tar::EntryType::Regular, name, "", data.len() as u64, 0o644);
        b.append(&h, data).unwrap();
    };
    let config_hex = sha256(&config).strip_prefix("sha256:").unwrap().to_owned();
    let (config_name, layer_names): (String, Vec<String>) = if legacy {
        let names = layers
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let id = format!("{:064x}", i + 1);
                let name = format!("{id}/layer.tar");
                add(&mut b, &name, &l.blob);
                name
            })
            .collect();
        let cname = format!("{config_hex}.json");
        add(&mut b, &cname, &config);
        (cname, names)
    } else {
        let names = layers
            .iter()
            .map(|l| {
                let name = format!(
                    "blobs/sha256/{}",
                    sha256(&l.blob).strip_prefix("sha256:").unwrap()
                );
                add(&mut b, &name, &l.blob);
                name
            })
            .collect();
        let cname = format!("blobs/sha256/{config_hex}");
        add(&mut b, &cname, &config);
        add(&mut b, "oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#);
        add(
            &mut b,
            "index.json",
            br#"{"schemaVersion":2,"manifests":[]}"#,
        );
        (cname, names)
    };
    let manifest = serde_json::to_vec(&serde_json::json!([
        {"Config": config_name, "RepoTags": ["demo:latest"], "Layers": layer_names}
    ]))
    .unwrap();
    add(&mut b, "manifest.json", &manifest);
    b.finish().unwrap();
    out.to_path_buf()
}
