//! The image configuration (the OCI / Docker config blob), typed. Unknown fields are ignored
//! (configs carry many), `null` is read as empty.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

fn nullable<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

fn keys<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let map: Option<BTreeMap<String, serde::de::IgnoredAny>> = Option::deserialize(d)?;
    Ok(map.map(|m| m.into_keys().collect()).unwrap_or_default())
}

/// An image configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct ImageConfig {
    /// CPU architecture (`amd64`, `arm64`)
    #[serde(default, deserialize_with = "nullable")]
    pub architecture: String,
    /// operating system (`linux`)
    #[serde(default, deserialize_with = "nullable")]
    pub os: String,
    /// CPU variant (`v8`)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// creation time as written (RFC 3339)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// how a container runs
    #[serde(default, deserialize_with = "nullable")]
    pub config: RunConfig,
    /// the layers' uncompressed digests
    #[serde(default, deserialize_with = "nullable")]
    pub rootfs: RootFs,
    /// build history, one step per entry (empty layers included)
    #[serde(default, deserialize_with = "nullable")]
    pub history: Vec<History>,
}

/// The `config` object of an image configuration: how a container runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct RunConfig {
    /// `USER` (`""` means root)
    #[serde(rename = "User", default, deserialize_with = "nullable")]
    pub user: String,
    /// `ENTRYPOINT`
    #[serde(rename = "Entrypoint", default, deserialize_with = "nullable")]
    pub entrypoint: Vec<String>,
    /// `CMD`
    #[serde(rename = "Cmd", default, deserialize_with = "nullable")]
    pub cmd: Vec<String>,
    /// `ENV`, as `NAME=value`
    #[serde(rename = "Env", default, deserialize_with = "nullable")]
    pub env: Vec<String>,
    /// `EXPOSE`, as `port/proto`, sorted
    #[serde(rename = "ExposedPorts", default, deserialize_with = "keys")]
    pub exposed_ports: Vec<String>,
    /// `WORKDIR`
    #[serde(rename = "WorkingDir", default, deserialize_with = "nullable")]
    pub working_dir: String,
    /// `LABEL`s
    #[serde(rename = "Labels", default, deserialize_with = "nullable")]
    pub labels: BTreeMap<String, String>,
    /// `VOLUME`s, sorted
    #[serde(rename = "Volumes", default, deserialize_with = "keys")]
    pub volumes: Vec<String>,
    /// `STOPSIGNAL`
    #[serde(
        rename = "StopSignal",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub stop_signal: Option<String>,
}

/// The `rootfs` object: the layers' diff ids.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct RootFs {
    /// always `layers`
    #[serde(rename = "type", default, deserialize_with = "nullable")]
    pub kind: String,
    /// sha256 of each uncompressed layer, base first
    #[serde(default, deserialize_with = "nullable")]
    pub diff_ids: Vec<String>,
}

/// One build step.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct History {
    /// when, as written
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// the command (`/bin/sh -c #(nop) ENV ...`, `RUN ...`)
    #[serde(default, deserialize_with = "nullable")]
    pub created_by: String,
    /// free comment
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// whether the step added no layer
    #[serde(default, deserialize_with = "nullable")]
    pub empty_layer: bool,
}

impl RunConfig {
    /// Whether the configured user is root (empty, `root`, `0`, optionally with a group).
    pub fn runs_as_root(&self) -> bool {
        let user = self.user.split(':').next().unwrap_or("");
        user.is_empty() || user == "root" || user == "0"
    }
}
