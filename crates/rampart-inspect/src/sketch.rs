//! Image sketches: a few lines of text describing an image, turned into a real single-layer OCI
//! image in memory. Rule examples are written as sketches (so `rampart rules explain IMG006`
//! shows something a person can read) and the tests build them into images and inspect them
//! with the same code path as any other image.
//!
//! ```text
//! OS debian 12                      # writes /etc/os-release
//! USER app                          # config User (also: ENV K=V, EXPOSE 22/tcp, CMD a b)
//! HISTORY /bin/sh -c make           # one build history step
//! FILE /usr/bin/passwd 4755         # a file with its mode (octal), optional content after it
//! FILE /app/.env 0644 TOKEN=abc\n   # `\n` and `\t` are escapes in content
//! DIR /data 0777                    # a directory
//! LINK /bin/sh /bin/busybox         # a symlink (path, target)
//! ENTRY ../../etc/cron.d/x          # a file whose tar name is written as is (hostile layers)
//! ```

use std::collections::HashMap;

use rampart_image::{BlobReader, BlobStore, Digest, Image, ImageError, Limits};

/// A line of a sketch that is not understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("sketch line {line}: {message}")]
pub struct SketchError {
    pub line: usize,
    pub message: String,
}

/// One tar entry: type, name, mode, content, link target (`Some("")`: write the name raw).
type Entry = (tar::EntryType, String, u32, Vec<u8>, Option<String>);

#[derive(Default)]
struct Parts {
    user: String,
    env: Vec<String>,
    ports: Vec<String>,
    cmd: Vec<String>,
    history: Vec<String>,
    entries: Vec<Entry>,
}

fn unescape(s: &str) -> Vec<u8> {
    s.replace("\\n", "\n").replace("\\t", "\t").into_bytes()
}

fn parse(text: &str) -> Result<Parts, SketchError> {
    let mut p = Parts::default();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let err = |message: &str| SketchError {
            line: i + 1,
            message: message.to_owned(),
        };
        let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
        let rest = rest.trim();
        let mode = |m: Option<&str>, default: u32| -> Result<u32, SketchError> {
            m.map_or(Ok(default), |m| {
                u32::from_str_radix(m, 8).map_err(|_| err("expected an octal mode"))
            })
        };
        match word {
            "OS" => {
                let (id, version) = rest.split_once(' ').unwrap_or((rest, ""));
                let content =
                    format!("ID={id}\nVERSION_ID=\"{version}\"\nPRETTY_NAME=\"{id} {version}\"\n");
                p.entries.push((
                    tar::EntryType::Regular,
                    String::from("etc/os-release"),
                    0o644,
                    content.into_bytes(),
                    None,
                ));
            }
            "USER" => p.user = rest.to_owned(),
            "ENV" => p.env.push(rest.to_owned()),
            "EXPOSE" => p.ports.push(rest.to_owned()),
            "CMD" => p.cmd = rest.split_whitespace().map(str::to_owned).collect(),
            "HISTORY" => p.history.push(rest.to_owned()),
            "FILE" | "DIR" => {
                let mut f = rest.splitn(3, ' ');
                let path = f
                    .next()
                    .filter(|x| x.starts_with('/'))
                    .ok_or_else(|| err("expected an absolute path"))?;
                let default = if word == "DIR" { 0o755 } else { 0o644 };
                let m = mode(f.next(), default)?;
                let kind = if word == "DIR" {
                    tar::EntryType::Directory
                } else {
                    tar::EntryType::Regular
                };
                let content = f.next().map(unescape).unwrap_or_default();
                p.entries.push((
                    kind,
                    path.trim_start_matches('/').to_owned(),
                    m,
                    content,
                    None,
                ));
            }
            "ENTRY" => p.entries.push((
                tar::EntryType::Regular,
                rest.to_owned(),
                0o644,
                Vec::new(),
                Some(String::new()),
            )),
            "LINK" => {
                let (path, target) = rest
                    .split_once(' ')
                    .ok_or_else(|| err("expected a path and a target"))?;
                p.entries.push((
                    tar::EntryType::Symlink,
                    path.trim_start_matches('/').to_owned(),
                    0o777,
                    Vec::new(),
                    Some(target.trim().to_owned()),
                ));
            }
            other => return Err(err(&format!("unknown word `{other}`"))),
        }
    }
    Ok(p)
}

/// Blobs in memory, by digest path.
struct MemStore(HashMap<String, Vec<u8>>);

impl BlobStore for MemStore {
    fn open_path(&self, path: &str) -> Result<BlobReader<'_>, ImageError> {
        self.0
            .get(path)
            .map(|b| Box::new(b.as_slice()) as BlobReader<'_>)
            .ok_or_else(|| ImageError::BlobNotFound {
                blob: path.to_owned(),
            })
    }
    fn has_path(&self, path: &str) -> bool {
        self.0.contains_key(path)
    }
}

fn tar_layer(p: &Parts) -> std::io::Result<Vec<u8>> {
    let mut b = tar::Builder::new(Vec::new());
    for (kind, path, mode, content, link) in &p.entries {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(*kind);
        h.set_mode(*mode);
        h.set_size(content.len() as u64);
        h.set_mtime(0);
        if link.as_deref() == Some("") {
            // A raw name, as a hostile tar would carry it (the builder refuses `..`).
            let name = path.as_bytes();
            let old = h.as_old_mut();
            let n = name.len().min(old.name.len());
            if let (Some(dst), Some(src)) = (old.name.get_mut(..n), name.get(..n)) {
                dst.copy_from_slice(src);
            }
            h.set_cksum();
            b.append(&h, content.as_slice())?;
        } else if let Some(l) = link {
            b.append_link(&mut h, path, l)?;
        } else {
            b.append_data(&mut h, path, content.as_slice())?;
        }
    }
    b.into_inner()
}

/// Builds the image a sketch describes (one uncompressed layer, an OCI layout in memory).
pub fn image(text: &str) -> Result<Image, SketchError> {
    let p = parse(text)?;
    let io_err = |e: std::io::Error| SketchError {
        line: 0,
        message: e.to_string(),
    };
    let layer = tar_layer(&p).map_err(io_err)?;
    let layer_digest = Digest::sha256_of(&layer);
    let ports: serde_json::Map<String, serde_json::Value> = p
        .ports
        .iter()
        .map(|x| (x.clone(), serde_json::json!({})))
        .collect();
    let config = serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {"User": p.user, "Env": p.env, "ExposedPorts": ports, "Cmd": p.cmd},
        "rootfs": {"type": "layers", "diff_ids": [layer_digest.to_string()]},
        "history": p.history.iter().map(|h| serde_json::json!({"created_by": h})).collect::<Vec<_>>(),
    })
    .to_string()
    .into_bytes();
    let config_digest = Digest::sha256_of(&config);
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest.to_string(), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest.to_string(), "size": layer.len()}],
    })
    .to_string()
    .into_bytes();
    let manifest_digest = Digest::sha256_of(&manifest);
    let index = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifest_digest.to_string(), "size": manifest.len()}],
    })
    .to_string()
    .into_bytes();
    let blob = |d: &Digest| format!("blobs/sha256/{}", d.hex());
    let store = MemStore(
        [
            (blob(&layer_digest), layer),
            (blob(&config_digest), config),
            (blob(&manifest_digest), manifest),
            (String::from("index.json"), index),
        ]
        .into_iter()
        .collect(),
    );
    Image::from_oci_layout(Box::new(store), None, &Limits::default()).map_err(|e| SketchError {
        line: 0,
        message: e.to_string(),
    })
}
