//! Harbor's pluggable scanner API (the adapter specification v1.2, docs/harbor.md): what the
//! adapter says and accepts, without the HTTP server ([`crate::adapter`] serves it).
//!
//! - [`metadata`]: the scanner, its capabilities (vulnerability reports when an advisory
//!   database is configured, SBOMs always) and properties, in the version Harbor asks for;
//! - [`ScanRequest::parse`]: a scan request checked field by field (400 for what is not the
//!   request's JSON, 422 for a field that is wrong, 501 for what the adapter cannot do);
//! - [`accept`] and [`lookup`]: a request becomes a job of the fleet's queue (with the
//!   registry's credential and scheme, cleared when the job ends) under an unguessable id, or
//!   is answered from the store at once when the digest was analysed already;
//! - [`negotiate`]: the report type an `Accept` header names;
//! - [`vulnerability_report`] and [`sbom_report`]: the reports, built from the image's stored
//!   packages when they are asked for (vulnerabilities matched against the adapter's database
//!   then, so a report follows the advisories of the day without pulling the image again).
//!
//! Fail closed: packages the database cannot check (an ecosystem it holds no advisories for, a
//! version that cannot be compared, a stored row that no longer reads) are items of the report
//! with severity `Unknown` that say so; a report is never an empty list for an image nothing
//! was checked in, and without a database no vulnerability report is made at all.

// requests and headers come from the network: no indexing that could panic on them
#![deny(clippy::indexing_slicing)]

use std::collections::BTreeMap;

use rampart_core::{Severity, Vulnerability};
use rampart_registry::{Authorization, Reference, Secret};
use rampart_sbom::{Distro, Package, SbomDocument, Subject, SubjectKind, Tool};
use rampart_vuln::matcher::Matches;
use rampart_vuln::store::Coverage;
use serde_json::{Map, Value, json};

use crate::FleetError;
use crate::queue::Access;
use crate::store::Store;

/// The media types of the specification.
pub mod mime {
    /// The metadata, version 1.1 (capability types, SBOM attributes).
    pub const METADATA_V1_1: &str = "application/vnd.scanner.adapter.metadata+json; version=1.1";
    /// The metadata, version 1.0.
    pub const METADATA_V1_0: &str = "application/vnd.scanner.adapter.metadata+json; version=1.0";
    /// A scan request's essence (versions 1.0 and 1.1).
    pub const SCAN_REQUEST: &str = "application/vnd.scanner.adapter.scan.request+json";
    /// The answer to an accepted scan request.
    pub const SCAN_RESPONSE: &str =
        "application/vnd.scanner.adapter.scan.response+json; version=1.0";
    /// An error.
    pub const ERROR: &str = "application/vnd.scanner.adapter.error+json; version=1.0";
    /// Harbor's vulnerability report, version 1.0.
    pub const VULN_HARBOR_V1_0: &str =
        "application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.0";
    /// The vulnerability report, version 1.1 (CVSS details, vendor attributes).
    pub const VULN_V1_1: &str = "application/vnd.security.vulnerability.report; version=1.1";
    /// The SBOM report.
    pub const SBOM_REPORT: &str = "application/vnd.security.sbom.report+json; version=1.0";
    /// SPDX JSON, an SBOM report's document.
    pub const SPDX_JSON: &str = "application/spdx+json";
    /// CycloneDX JSON, an SBOM report's document.
    pub const CYCLONEDX_JSON: &str = "application/vnd.cyclonedx+json";
    /// The artifacts the adapter analyses.
    pub const CONSUMES: [&str; 2] = [
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ];
}

/// Largest scan request body accepted.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// How long a scan request id is kept (the specification leaves its lifetime to the adapter;
/// Harbor polls for minutes, then keeps the report itself).
pub const SCAN_TTL_DAYS: i32 = 7;

/// The scanner as the API names it.
pub fn scanner() -> Value {
    json!({
        "name": "rampart",
        "vendor": "rampart",
        "version": env!("CARGO_PKG_VERSION"),
    })
}

/// A media type as compared: its essence in lower case, its parameters (names in lower case,
/// values unquoted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaType {
    /// `type/subtype`
    pub essence: String,
    /// parameters
    pub params: BTreeMap<String, String>,
}

impl MediaType {
    /// Parses `type/subtype; name=value; ...`; `None` when it is not one.
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.split(';');
        let essence = parts.next()?.trim().to_ascii_lowercase();
        let (ty, sub) = essence.split_once('/')?;
        if ty.is_empty() || sub.is_empty() || essence.contains(char::is_whitespace) {
            return None;
        }
        let mut params = BTreeMap::new();
        for p in parts {
            let p = p.trim();
            if p.is_empty() {
                continue;
            }
            let (k, v) = p.split_once('=')?;
            params.insert(
                k.trim().to_ascii_lowercase(),
                v.trim().trim_matches('"').to_owned(),
            );
        }
        Some(Self { essence, params })
    }

    fn version(&self) -> Option<&str> {
        self.params.get("version").map(String::as_str)
    }
}

/// A report type the adapter produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportType {
    /// `application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.0`
    HarborV1_0,
    /// `application/vnd.security.vulnerability.report; version=1.1`
    VulnerabilityV1_1,
    /// `application/vnd.security.sbom.report+json; version=1.0`
    Sbom,
}

impl ReportType {
    /// Its media type.
    pub fn mime(self) -> &'static str {
        match self {
            Self::HarborV1_0 => mime::VULN_HARBOR_V1_0,
            Self::VulnerabilityV1_1 => mime::VULN_V1_1,
            Self::Sbom => mime::SBOM_REPORT,
        }
    }

    /// Whether it is a vulnerability report (which needs the advisory database).
    pub fn is_vulnerability(self) -> bool {
        !matches!(self, Self::Sbom)
    }

    fn of(m: &MediaType) -> Option<Self> {
        let v = m.version();
        match m.essence.as_str() {
            "application/vnd.scanner.adapter.vuln.report.harbor+json"
                if v.is_none_or(|v| v == "1.0") =>
            {
                Some(Self::HarborV1_0)
            }
            "application/vnd.security.vulnerability.report" if v.is_none_or(|v| v == "1.1") => {
                Some(Self::VulnerabilityV1_1)
            }
            "application/vnd.security.sbom.report+json" if v.is_none_or(|v| v == "1.0") => {
                Some(Self::Sbom)
            }
            // anything: Harbor's report of version 1.0, as the specification says for a
            // request without Accept
            "*/*" | "application/*" => Some(Self::HarborV1_0),
            _ => None,
        }
    }
}

/// The report an `Accept` header asks for: the first acceptable type in the order of the
/// client's preference (`q`); none given means Harbor's report of version 1.0 (the
/// specification's rule for backward compatibility). `Err` names what was asked.
pub fn negotiate(accept: Option<&str>) -> Result<ReportType, String> {
    let Some(accept) = accept.map(str::trim).filter(|a| !a.is_empty()) else {
        return Ok(ReportType::HarborV1_0);
    };
    let mut offered: Vec<(u16, usize, MediaType)> = Vec::new();
    for (i, part) in accept.split(',').enumerate() {
        let Some(m) = MediaType::parse(part) else {
            continue;
        };
        let q = m
            .params
            .get("q")
            .and_then(|q| q.parse::<f32>().ok())
            .map_or(1000, |q| (q.clamp(0.0, 1.0) * 1000.0).round() as u16);
        if q > 0 {
            offered.push((q, i, m));
        }
    }
    offered.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    offered
        .iter()
        .find_map(|(_, _, m)| ReportType::of(m))
        .ok_or_else(|| {
            format!(
                "no report of the type asked for (Accept: {}): this adapter produces {}, {} and {}",
                accept.chars().take(200).collect::<String>(),
                mime::VULN_HARBOR_V1_0,
                mime::VULN_V1_1,
                mime::SBOM_REPORT
            )
        })
}

/// The metadata version an `Accept` header asks for: 1.0 when it names only that version,
/// else 1.1.
pub fn metadata_version(accept: Option<&str>) -> &'static str {
    let Some(accept) = accept else {
        return mime::METADATA_V1_1;
    };
    let asked: Vec<MediaType> = accept.split(',').filter_map(MediaType::parse).collect();
    let named = |v: &str| {
        asked.iter().any(|m| {
            m.essence == "application/vnd.scanner.adapter.metadata+json" && m.version() == Some(v)
        })
    };
    if named("1.0") && !named("1.1") {
        mime::METADATA_V1_0
    } else {
        mime::METADATA_V1_1
    }
}

/// What the metadata says about the advisory database.
#[derive(Debug, Clone, Default)]
pub struct DatabaseFacts {
    /// when it was last built (RFC 3339)
    pub built_at: Option<String>,
    /// the OSV ecosystems it holds advisories for
    pub ecosystems: Vec<String>,
}

/// The metadata in `version` ([`mime::METADATA_V1_1`] or [`mime::METADATA_V1_0`]): the
/// vulnerability capability only with an advisory database, the SBOM capability always (from
/// version 1.1, which knows capability types).
pub fn metadata(version: &str, db: Option<&DatabaseFacts>) -> Value {
    let v1_1 = version == mime::METADATA_V1_1;
    let mut capabilities = Vec::new();
    if db.is_some() {
        let mut c = json!({
            "consumes_mime_types": mime::CONSUMES,
            "produces_mime_types": [mime::VULN_HARBOR_V1_0, mime::VULN_V1_1],
        });
        if v1_1 {
            set(&mut c, "type", json!("vulnerability"));
        }
        capabilities.push(c);
    }
    if v1_1 {
        capabilities.push(json!({
            "type": "sbom",
            "consumes_mime_types": mime::CONSUMES,
            "produces_mime_types": [mime::SBOM_REPORT],
            "additional_attributes": {"sbom_media_types": [mime::SPDX_JSON, mime::CYCLONEDX_JSON]},
        }));
    }
    let mut properties = Map::new();
    properties.insert(
        "harbor.scanner-adapter/scanner-type".into(),
        json!("os-package-vulnerability"),
    );
    match db {
        Some(db) => {
            if let Some(at) = &db.built_at {
                properties.insert(
                    "harbor.scanner-adapter/vulnerability-database-updated-at".into(),
                    json!(at),
                );
            }
            properties.insert(
                "rampart/advisory-database-ecosystems".into(),
                json!(db.ecosystems.join(", ")),
            );
        }
        None => {
            properties.insert(
                "rampart/advisory-database".into(),
                json!("none: SBOM reports only, vulnerability reports are refused"),
            );
        }
    }
    json!({
        "scanner": scanner(),
        "capabilities": capabilities,
        "properties": properties,
    })
}

/// Why a scan request is refused, with the status the specification gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// 400: not the request's JSON, or a value of the wrong JSON type
    BadRequest(String),
    /// 422: a field whose value is wrong
    Invalid(String),
    /// 501: something the adapter cannot do
    NotImplemented(String),
}

impl Refusal {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            Self::BadRequest(_) => 400,
            Self::Invalid(_) => 422,
            Self::NotImplemented(_) => 501,
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        match self {
            Self::BadRequest(m) | Self::Invalid(m) | Self::NotImplemented(m) => m,
        }
    }
}

/// The artifact a request names, as reports repeat it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// the repository (`library/mongo`)
    pub repository: String,
    /// the manifest digest
    pub digest: String,
    /// the tag, when given
    pub tag: Option<String>,
    /// the manifest's media type, when given
    pub mime_type: Option<String>,
}

impl Artifact {
    /// As the reports carry it.
    pub fn to_json(&self) -> Value {
        let mut a = json!({"repository": self.repository, "digest": self.digest});
        if let Some(t) = &self.tag {
            set(&mut a, "tag", json!(t));
        }
        if let Some(m) = &self.mime_type {
            set(&mut a, "mime_type", json!(m));
        }
        a
    }
}

/// A checked scan request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanRequest {
    /// the registry's URL as given (`https://core.harbor.domain`)
    pub registry_url: String,
    /// the artifact
    pub artifact: Artifact,
    /// `host[:port]/repository@digest`, normalised
    pub reference: String,
    /// the registry as references name it
    pub registry: String,
    /// how the worker pulls it: the request's credential, over its URL's scheme
    pub access: Access,
}

fn field<'v>(
    obj: &'v Map<String, Value>,
    path: &str,
    name: &str,
) -> Result<Option<&'v str>, Refusal> {
    // absent is allowed (required fields are checked by the caller); null is a value of the
    // wrong type: the schema's fields are not nullable
    match obj.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(Refusal::BadRequest(format!(
            "{path}.{name}: expected a string"
        ))),
    }
}

fn object<'v>(obj: &'v Map<String, Value>, name: &str) -> Result<&'v Map<String, Value>, Refusal> {
    match obj.get(name) {
        None => Err(Refusal::Invalid(format!("{name}: required"))),
        Some(Value::Object(o)) => Ok(o),
        Some(_) => Err(Refusal::BadRequest(format!("{name}: expected an object"))),
    }
}

/// The host of a registry URL: `http(s)://host[:port]` with at most a `/` after it; the
/// boolean is whether it is plain HTTP.
fn registry_host(url: &str) -> Result<(String, bool), String> {
    let lower = url.trim().to_ascii_lowercase();
    let (rest, plain) = if let Some(r) = lower.strip_prefix("https://") {
        (r, false)
    } else if let Some(r) = lower.strip_prefix("http://") {
        (r, true)
    } else {
        return Err(format!(
            "registry.url `{}`: expected http:// or https:// and the registry's host",
            url.chars().take(200).collect::<String>()
        ));
    };
    let host = rest.strip_suffix('/').unwrap_or(rest);
    let ok = !host.is_empty()
        && host.len() <= 253
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    if !ok {
        return Err(format!(
            "registry.url `{}`: expected the registry's base URL (scheme, host, port; no path, user or query)",
            url.chars().take(200).collect::<String>()
        ));
    }
    Ok((host.to_owned(), plain))
}

impl ScanRequest {
    /// Checks a scan request: its `Content-Type`, its JSON, each field, and that the adapter
    /// can do what it asks (`has_db`: vulnerability reports can be made).
    pub fn parse(content_type: Option<&str>, body: &[u8], has_db: bool) -> Result<Self, Refusal> {
        if body.iter().all(u8::is_ascii_whitespace) {
            // the specification does not mark the body required: without one, its required
            // fields are missing
            return Err(Refusal::Invalid(String::from(
                "the scan request is empty: registry and artifact are required",
            )));
        }
        let ct = content_type.and_then(MediaType::parse);
        let ct_ok = ct.as_ref().is_some_and(|m| {
            m.essence == mime::SCAN_REQUEST && m.version().is_none_or(|v| v == "1.0" || v == "1.1")
        });
        if !ct_ok {
            return Err(Refusal::BadRequest(format!(
                "expected Content-Type {}; version=1.1 (or 1.0), found {}",
                mime::SCAN_REQUEST,
                content_type.map_or_else(
                    || String::from("none"),
                    |c| c.chars().take(200).collect::<String>()
                )
            )));
        }
        if body.len() > MAX_REQUEST_BYTES {
            return Err(Refusal::BadRequest(format!(
                "the request is larger than {MAX_REQUEST_BYTES} bytes"
            )));
        }
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| Refusal::BadRequest(format!("the request is not JSON: {e}")))?;
        let Value::Object(top) = &value else {
            return Err(Refusal::BadRequest(String::from(
                "the request is not a JSON object",
            )));
        };
        let registry = object(top, "registry")?;
        let artifact = object(top, "artifact")?;
        let url = field(registry, "registry", "url")?;
        let authorization = field(registry, "registry", "authorization")?;
        let repository = field(artifact, "artifact", "repository")?;
        let digest = field(artifact, "artifact", "digest")?;
        let tag = field(artifact, "artifact", "tag")?;
        let mime_type = field(artifact, "artifact", "mime_type")?;
        let capabilities = capabilities(top)?;

        let url = url.ok_or_else(|| Refusal::Invalid(String::from("registry.url: required")))?;
        let (host, plain_http) = registry_host(url).map_err(Refusal::Invalid)?;
        let authorization = match authorization.map(str::trim).filter(|a| !a.is_empty()) {
            None => None,
            Some(a) => {
                Authorization::parse(a)
                    .map_err(|e| Refusal::Invalid(format!("registry.authorization: {e}")))?;
                Some(Secret::new(a))
            }
        };
        let repository = repository
            .filter(|r| !r.is_empty())
            .ok_or_else(|| Refusal::Invalid(String::from("artifact.repository: required")))?;
        let digest = digest
            .filter(|d| !d.is_empty())
            .ok_or_else(|| Refusal::Invalid(String::from("artifact.digest: required")))?;
        rampart_image::Digest::parse(digest).map_err(|e| {
            Refusal::Invalid(format!(
                "artifact.digest `{}`: {e}",
                digest.chars().take(200).collect::<String>()
            ))
        })?;
        if let Some(t) = tag
            && (t.len() > 128 || t.chars().any(char::is_control))
        {
            return Err(Refusal::Invalid(String::from(
                "artifact.tag: at most 128 characters, no control characters",
            )));
        }
        if let Some(m) = mime_type
            && !m.is_empty()
            && !mime::CONSUMES.contains(&m)
        {
            return Err(Refusal::NotImplemented(format!(
                "artifact.mime_type `{}`: this adapter analyses {} and {}",
                m.chars().take(200).collect::<String>(),
                mime::CONSUMES[0],
                mime::CONSUMES[1]
            )));
        }
        check_capabilities(&capabilities, has_db)?;
        let text = format!("{host}/{repository}@{digest}");
        let parsed = Reference::parse(&text).map_err(|e| {
            Refusal::Invalid(format!(
                "artifact.repository `{}`: {e}",
                repository.chars().take(200).collect::<String>()
            ))
        })?;
        let expected_registry = match host.as_str() {
            "index.docker.io" | "registry-1.docker.io" => rampart_registry::DOCKER_HUB,
            h => h,
        };
        if parsed.registry() != expected_registry || parsed.path() != repository {
            return Err(Refusal::Invalid(format!(
                "registry.url host `{host}` and artifact.repository `{}` do not make a reference: \
                 give the registry's port or a dotted host name",
                repository.chars().take(200).collect::<String>()
            )));
        }
        Ok(Self {
            registry_url: url.to_owned(),
            artifact: Artifact {
                repository: repository.to_owned(),
                digest: digest.to_owned(),
                tag: tag.filter(|t| !t.is_empty()).map(str::to_owned),
                mime_type: mime_type.filter(|m| !m.is_empty()).map(str::to_owned),
            },
            registry: parsed.registry().to_owned(),
            reference: parsed.to_string(),
            access: Access {
                authorization,
                plain_http,
            },
        })
    }
}

/// A capability a request enables: its type, the report types and SBOM media types it wants.
struct Enabled {
    kind: String,
    produces: Vec<String>,
    sbom_media_types: Vec<String>,
}

fn strings(v: Option<&Value>, path: &str) -> Result<Vec<String>, Refusal> {
    match v {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| Refusal::BadRequest(format!("{path}: expected strings")))
            })
            .collect(),
        _ => Err(Refusal::BadRequest(format!(
            "{path}: expected an array of strings"
        ))),
    }
}

fn capabilities(top: &Map<String, Value>) -> Result<Vec<Enabled>, Refusal> {
    let items = match top.get("enabled_capabilities") {
        None => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(Refusal::BadRequest(String::from(
                "enabled_capabilities: expected an array",
            )));
        }
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = format!("enabled_capabilities[{i}]");
        let Value::Object(o) = item else {
            return Err(Refusal::BadRequest(format!("{path}: expected an object")));
        };
        let kind = match o.get("type") {
            Some(Value::String(s)) => s.clone(),
            None => return Err(Refusal::Invalid(format!("{path}.type: required"))),
            Some(_) => {
                return Err(Refusal::BadRequest(format!(
                    "{path}.type: expected a string"
                )));
            }
        };
        let produces = strings(
            o.get("produces_mime_types"),
            &format!("{path}.produces_mime_types"),
        )?;
        // the one nullable field of the schema
        let sbom_media_types = match o.get("parameters") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Object(p)) => strings(
                p.get("sbom_media_types"),
                &format!("{path}.parameters.sbom_media_types"),
            )?,
            Some(_) => {
                return Err(Refusal::BadRequest(format!(
                    "{path}.parameters: expected an object"
                )));
            }
        };
        out.push(Enabled {
            kind,
            produces,
            sbom_media_types,
        });
    }
    Ok(out)
}

fn check_capabilities(enabled: &[Enabled], has_db: bool) -> Result<(), Refusal> {
    for c in enabled {
        let produces: &[&str] = match c.kind.as_str() {
            "vulnerability" => {
                if !has_db {
                    return Err(Refusal::NotImplemented(String::from(
                        "vulnerability reports: this adapter has no advisory database (--db); it makes SBOM reports only",
                    )));
                }
                &[mime::VULN_HARBOR_V1_0, mime::VULN_V1_1]
            }
            "sbom" => &[mime::SBOM_REPORT],
            other => {
                return Err(Refusal::Invalid(format!(
                    "enabled_capabilities: unknown type `{}` (vulnerability or sbom)",
                    other.chars().take(100).collect::<String>()
                )));
            }
        };
        for p in &c.produces {
            let known = MediaType::parse(p).is_some_and(|m| {
                produces
                    .iter()
                    .any(|ours| MediaType::parse(ours).as_ref() == Some(&m))
            });
            if !known {
                return Err(Refusal::NotImplemented(format!(
                    "{} reports of type `{}`: this adapter produces {}",
                    c.kind,
                    p.chars().take(200).collect::<String>(),
                    produces.join(", ")
                )));
            }
        }
        for m in &c.sbom_media_types {
            if m != mime::SPDX_JSON && m != mime::CYCLONEDX_JSON {
                return Err(Refusal::Invalid(format!(
                    "sbom_media_types: `{}` is not {} or {}",
                    m.chars().take(200).collect::<String>(),
                    mime::SPDX_JSON,
                    mime::CYCLONEDX_JSON
                )));
            }
        }
    }
    Ok(())
}

/// 128 random bits as a version-4 UUID (the id Harbor polls with).
fn random_id() -> Result<String, FleetError> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|e| FleetError::Worker(format!("no randomness: {e}")))?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        hex.get(0..8).unwrap_or_default(),
        hex.get(8..12).unwrap_or_default(),
        hex.get(12..16).unwrap_or_default(),
        hex.get(16..20).unwrap_or_default(),
        hex.get(20..32).unwrap_or_default()
    ))
}

/// What [`accept`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// the scan request's id
    pub id: String,
    /// the digest was analysed already: the report is ready now
    pub cached: bool,
    /// the job
    pub job: i64,
}

/// Turns a checked request into a job under a new id, in one transaction: the digest analysed
/// already (by `analysis`) gives a job done at once (`cached`); a pending job for the same
/// reference is shared (a queued one takes the newer credential); else a new job carrying the
/// request's access. Ids older than [`SCAN_TTL_DAYS`] are forgotten on the way.
pub fn accept(
    store: &mut Store,
    req: &ScanRequest,
    analysis: &str,
    max_attempts: i32,
) -> Result<Accepted, FleetError> {
    let id = random_id()?;
    let auth = req
        .access
        .authorization
        .as_ref()
        .map(|s| s.expose().to_owned());
    store.with(|c| {
        let mut tx = c.transaction()?;
        tx.execute(
            "DELETE FROM fleet_scans WHERE created_at < now() - make_interval(days => $1)",
            &[&SCAN_TTL_DAYS],
        )?;
        let analysed = tx
            .query_opt(
                "SELECT 1 FROM fleet_images WHERE digest = $1 AND analysis = $2",
                &[&req.artifact.digest, &analysis],
            )?
            .is_some();
        let (job, cached) = if analysed {
            let job: i64 = tx
                .query_one(
                    "INSERT INTO fleet_jobs (reference, registry, source, max_attempts, state, \
                       digest, outcome, started_at, finished_at) \
                     VALUES ($1, $2, 'harbor', $3, 'done', $4, 'cached', now(), now()) \
                     RETURNING id",
                    &[
                        &req.reference,
                        &req.registry,
                        &max_attempts,
                        &req.artifact.digest,
                    ],
                )?
                .get(0);
            tx.execute(
                "INSERT INTO fleet_refs (reference, digest, seen_at) VALUES ($1, $2, now()) \
                 ON CONFLICT (reference) DO UPDATE SET digest = EXCLUDED.digest, seen_at = now()",
                &[&req.reference, &req.artifact.digest],
            )?;
            (job, true)
        } else {
            let inserted = tx.query_opt(
                "INSERT INTO fleet_jobs (reference, registry, source, max_attempts, \
                   registry_auth, plain_http) \
                 VALUES ($1, $2, 'harbor', $3, $4, $5) \
                 ON CONFLICT (reference) WHERE state IN ('queued', 'running') DO NOTHING \
                 RETURNING id",
                &[
                    &req.reference,
                    &req.registry,
                    &max_attempts,
                    &auth,
                    &req.access.plain_http,
                ],
            )?;
            let job: i64 = match inserted {
                Some(r) => r.get(0),
                None => {
                    // pending already (the conflict holds the row: it cannot end before this
                    // transaction reads it)
                    let row = tx.query_one(
                        "SELECT id FROM fleet_jobs \
                         WHERE reference = $1 AND state IN ('queued', 'running') FOR UPDATE",
                        &[&req.reference],
                    )?;
                    let job: i64 = row.get(0);
                    tx.execute(
                        "UPDATE fleet_jobs SET registry_auth = $2, plain_http = $3 \
                         WHERE id = $1 AND state = 'queued' AND source = 'harbor'",
                        &[&job, &auth, &req.access.plain_http],
                    )?;
                    job
                }
            };
            (job, false)
        };
        tx.execute(
            "INSERT INTO fleet_scans (id, job, registry_url, repository, digest, tag, mime_type) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &id,
                &job,
                &req.registry_url,
                &req.artifact.repository,
                &req.artifact.digest,
                &req.artifact.tag,
                &req.artifact.mime_type,
            ],
        )?;
        tx.commit()?;
        Ok(Accepted {
            id: id.clone(),
            cached,
            job,
        })
    })
}

/// Where a scan request is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanState {
    /// queued or running: ask again later
    Pending,
    /// failed for good, with the reason
    Failed(String),
    /// analysed: the report can be made
    Done,
}

/// A scan request, as [`lookup`] finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan {
    /// the artifact
    pub artifact: Artifact,
    /// the registry's URL
    pub registry_url: String,
    /// where its job is
    pub state: ScanState,
}

/// The scan request `id`, when it is known (and not older than [`SCAN_TTL_DAYS`]).
pub fn lookup(store: &mut Store, id: &str) -> Result<Option<Scan>, FleetError> {
    if id.is_empty() || id.len() > 64 {
        return Ok(None);
    }
    store.with(|c| {
        let row = c.query_opt(
            "SELECT s.registry_url, s.repository, s.digest, s.tag, s.mime_type, j.state, \
                    coalesce(j.error, '') \
             FROM fleet_scans s JOIN fleet_jobs j ON j.id = s.job \
             WHERE s.id = $1 AND s.created_at >= now() - make_interval(days => $2)",
            &[&id, &SCAN_TTL_DAYS],
        )?;
        Ok(row.map(|r| {
            let state: String = r.get(5);
            Scan {
                registry_url: r.get(0),
                artifact: Artifact {
                    repository: r.get(1),
                    digest: r.get(2),
                    tag: r.get(3),
                    mime_type: r.get(4),
                },
                state: match state.as_str() {
                    "done" => ScanState::Done,
                    "failed" => ScanState::Failed(r.get(6)),
                    _ => ScanState::Pending,
                },
            }
        }))
    })
}

/// Harbor's severity of rampart's (`info`: no advisory rates it, `Unknown` to Harbor).
pub fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Info => "Unknown",
        Severity::Low => "Low",
        Severity::Medium => "Medium",
        Severity::High => "High",
        Severity::Critical => "Critical",
    }
}

fn severity_rank(s: &str) -> u8 {
    match s {
        "Negligible" => 1,
        "Low" => 2,
        "Medium" => 3,
        "High" => 4,
        "Critical" => 5,
        _ => 0,
    }
}

/// Whether a link is an absolute http(s) URI (the schema's `format: uri`).
fn is_link(s: &str) -> bool {
    (s.starts_with("https://") || s.starts_with("http://"))
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// CVSS details of the vector a severity was computed from (v2 and v3 only: the schema has
/// nothing for v4, which goes to the vendor attributes).
fn cvss(v: &Vulnerability) -> (Option<Value>, Option<Value>) {
    let (Some(from), Some(score)) = (v.rated_from.as_deref(), v.score) else {
        return (None, None);
    };
    let score = score.value();
    if from.starts_with("CVSS:3.") {
        (Some(json!({"score_v3": score, "vector_v3": from})), None)
    } else if from.starts_with("CVSS:4.") {
        (None, Some(json!({"score": score, "vector": from})))
    } else if from.contains("Au:") {
        (Some(json!({"score_v2": score, "vector_v2": from})), None)
    } else {
        (None, None)
    }
}

fn item(v: &Vulnerability, kind: ReportType) -> Value {
    let mut i = json!({
        "id": v.id,
        "package": v.package.name,
        "version": v.package.version,
        "severity": severity(v.severity),
        "description": v.summary,
        "links": v.references.iter().filter(|r| is_link(r)).collect::<Vec<_>>(),
    });
    if !v.fixed.is_empty() {
        set(&mut i, "fix_version", json!(v.fixed.join(", ")));
    }
    if let Some(layer) = v.package.locations.iter().find_map(|l| l.layer.as_deref()) {
        // not in the specification's schema, read by Harbor (its `layer` of an item)
        set(&mut i, "layer", json!({"digest": layer}));
    }
    if kind == ReportType::VulnerabilityV1_1 {
        let (preferred, v4) = cvss(v);
        if let Some(p) = preferred {
            set(&mut i, "preferred_cvss", p);
        }
        let mut attrs = json!({
            "aliases": v.aliases,
            "advisories": v.advisories,
            "purl": v.package.purl,
            "ecosystem": v.package.osv_ecosystem,
            "locations": v.package.locations,
        });
        if let Some(from) = &v.rated_from {
            set(&mut attrs, "rated_from", json!(from));
        }
        if let Some(m) = &v.package.matched_as {
            set(&mut attrs, "matched_as", json!(m));
        }
        if !v.fixed_elsewhere.is_empty() {
            set(&mut attrs, "fixed_elsewhere", json!(v.fixed_elsewhere));
        }
        if let Some(v4) = v4 {
            set(&mut attrs, "cvss_v4", v4);
        }
        set(&mut i, "vendor_attributes", attrs);
    }
    i
}

/// An item that says what was not checked: severity `Unknown`, its id under `rampart:`.
fn unchecked_item(id: String, package: &str, version: String, description: String) -> Value {
    json!({
        "id": id,
        "package": package,
        "version": version,
        "severity": "Unknown",
        "description": description,
        "links": [],
        "vendor_attributes": {"rampart": "not-checked"},
    })
}

/// The vulnerability report (`kind`: [`ReportType::HarborV1_0`] or
/// [`ReportType::VulnerabilityV1_1`]) of `matches` (the image's stored packages matched against
/// the adapter's database): each finding an item, then an item per ecosystem the database does
/// not cover, per reason packages could not be compared, and for stored packages that no
/// longer read. The report's severity is the worst item's (`Unknown` without any).
pub fn vulnerability_report(
    kind: ReportType,
    artifact: &Artifact,
    matches: &Matches,
    coverage: &Coverage,
    unreadable: usize,
    generated_at: &str,
) -> Value {
    let mut items: Vec<Value> = matches.findings.iter().map(|v| item(v, kind)).collect();
    for (eco, n) in &matches.not_checked {
        items.push(unchecked_item(
            format!("rampart:not-checked:{eco}"),
            eco,
            format!("{n} package{}", if *n == 1 { "" } else { "s" }),
            rampart_vuln::assess::not_checked_message(eco, *n, coverage),
        ));
    }
    for (reason, n) in &matches.skips.counts {
        let examples: Vec<String> = matches
            .skips
            .examples
            .iter()
            .filter(|s| &s.reason == reason)
            .take(5)
            .map(|s| format!("{} {}", s.file, s.detail))
            .collect();
        items.push(unchecked_item(
            format!("rampart:not-compared:{}", reason.replace(' ', "-")),
            "packages",
            format!("{n}"),
            format!(
                "{n} package{} could not be compared: {reason} ({})",
                if *n == 1 { "" } else { "s" },
                examples.join("; ")
            ),
        ));
    }
    if unreadable > 0 {
        items.push(unchecked_item(
            String::from("rampart:unreadable-packages"),
            "packages",
            format!("{unreadable}"),
            format!(
                "{unreadable} stored package(s) of this image no longer read back: not checked"
            ),
        ));
    }
    if kind == ReportType::HarborV1_0 {
        for i in &mut items {
            if let Some(o) = i.as_object_mut() {
                o.remove("vendor_attributes");
            }
        }
    }
    let worst = items
        .iter()
        .filter_map(|i| i.get("severity").and_then(Value::as_str))
        .max_by_key(|s| severity_rank(s))
        .unwrap_or("Unknown")
        .to_owned();
    json!({
        "generated_at": generated_at,
        "artifact": artifact.to_json(),
        "scanner": scanner(),
        "severity": worst,
        "vulnerabilities": items,
    })
}

/// An SBOM media type of the `sbom_media_type` query parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SbomMedia {
    /// SPDX 2.3 JSON
    Spdx,
    /// CycloneDX JSON
    CycloneDx,
}

impl SbomMedia {
    /// From the query's value; `Err` says what is expected.
    pub fn parse(value: Option<&str>) -> Result<Self, String> {
        match value {
            Some(mime::SPDX_JSON) => Ok(Self::Spdx),
            Some(mime::CYCLONEDX_JSON) => Ok(Self::CycloneDx),
            Some(other) => Err(format!(
                "sbom_media_type `{}`: expected {} or {}",
                other.chars().take(200).collect::<String>(),
                mime::SPDX_JSON,
                mime::CYCLONEDX_JSON
            )),
            None => Err(format!(
                "an SBOM report needs the query parameter sbom_media_type ({} or {})",
                mime::SPDX_JSON,
                mime::CYCLONEDX_JSON
            )),
        }
    }

    /// Its media type.
    pub fn mime(self) -> &'static str {
        match self {
            Self::Spdx => mime::SPDX_JSON,
            Self::CycloneDx => mime::CYCLONEDX_JSON,
        }
    }
}

/// What the SBOM of a stored image is written from.
#[derive(Debug, Clone)]
pub struct SbomSource<'a> {
    /// the registry as references name it (`127.0.0.1:5000`)
    pub registry: &'a str,
    /// the artifact
    pub artifact: &'a Artifact,
    /// the config digest and platform, from the stored report
    pub config_digest: Option<String>,
    pub platform: Option<String>,
    /// the image's distribution and packages
    pub distro: Option<Distro>,
    pub packages: &'a [Package],
}

/// The SBOM report: the SPDX or CycloneDX document of the stored packages (rampart-sbom's
/// writers, as `rampart sbom` writes them) in Harbor's envelope.
pub fn sbom_report(
    src: &SbomSource<'_>,
    media: SbomMedia,
    opts: &rampart_sbom::Options,
    generated_at: &str,
) -> Result<Value, String> {
    let repository = format!("{}/{}", src.registry, src.artifact.repository);
    let doc = SbomDocument {
        subject: Subject {
            name: format!("{repository}@{}", src.artifact.digest),
            kind: SubjectKind::ContainerImage,
            repo_digests: vec![format!("{repository}@{}", src.artifact.digest)],
            repository: Some(repository),
            manifest_digest: Some(src.artifact.digest.clone()),
            config_digest: src.config_digest.clone(),
            tags: src.artifact.tag.clone().into_iter().collect(),
            platform: src.platform.clone(),
            layers: Vec::new(),
        },
        distro: src.distro.clone(),
        packages: src.packages.to_vec(),
        tool: Tool {
            name: String::from("rampart"),
            version: String::from(env!("CARGO_PKG_VERSION")),
        },
    };
    let text = match media {
        SbomMedia::Spdx => rampart_sbom::spdx_json(&doc, opts),
        SbomMedia::CycloneDx => rampart_sbom::cyclonedx_json(&doc, opts),
    };
    let sbom: Value =
        serde_json::from_str(&text).map_err(|e| format!("the SBOM writer's output: {e}"))?;
    Ok(json!({
        "generated_at": generated_at,
        "artifact": src.artifact.to_json(),
        "scanner": scanner(),
        "vendor_attributes": {"packages": src.packages.len()},
        "media_type": media.mime(),
        "sbom": sbom,
    }))
}

/// Sets `key` of the object `v` (nothing when it is not an object: these are built here).
fn set(v: &mut Value, key: &str, x: Value) {
    if let Some(o) = v.as_object_mut() {
        o.insert(key.to_owned(), x);
    }
}

/// An error as the API answers it.
pub fn error_body(message: &str) -> Value {
    json!({"error": {"message": message}})
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    const CT: &str = "application/vnd.scanner.adapter.scan.request+json; version=1.1";
    const DIGEST: &str = "sha256:6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b";

    fn request(v: Value) -> Result<ScanRequest, Refusal> {
        ScanRequest::parse(Some(CT), v.to_string().as_bytes(), true)
    }

    fn valid() -> Value {
        json!({
            "registry": {"url": "http://127.0.0.1:5000", "authorization": "Basic YWxpY2U6cHc="},
            "artifact": {"repository": "library/mongo", "digest": DIGEST,
                         "mime_type": "application/vnd.oci.image.manifest.v1+json"},
        })
    }

    #[test]
    fn a_valid_request_names_the_reference_and_how_to_pull_it() {
        let r = request(valid()).unwrap();
        assert_eq!(
            r.reference,
            format!("127.0.0.1:5000/library/mongo@{DIGEST}")
        );
        assert_eq!(r.registry, "127.0.0.1:5000");
        assert!(r.access.plain_http);
        assert_eq!(
            r.access.authorization.as_ref().map(Secret::expose),
            Some("Basic YWxpY2U6cHc=")
        );
        let mut https = valid();
        https["registry"]["url"] = json!("https://core.harbor.domain/");
        https["registry"]["authorization"] = json!("Bearer abc.def");
        let r = request(https).unwrap();
        assert!(!r.access.plain_http);
        assert_eq!(r.registry, "core.harbor.domain");
        // version 1.0 of the request, and v1.2's capabilities
        let mut v = valid();
        v["enabled_capabilities"] = json!([
            {"type": "vulnerability", "produces_mime_types": [mime::VULN_V1_1]},
            {"type": "sbom", "produces_mime_types": [mime::SBOM_REPORT],
             "parameters": {"sbom_media_types": [mime::SPDX_JSON]}},
        ]);
        ScanRequest::parse(
            Some("application/vnd.scanner.adapter.scan.request+json; version=1.0"),
            v.to_string().as_bytes(),
            true,
        )
        .unwrap();
    }

    #[test]
    fn bad_requests_are_refused_with_the_status_of_the_specification() {
        let status = |ct: Option<&str>, body: &str| {
            ScanRequest::parse(ct, body.as_bytes(), true)
                .unwrap_err()
                .status()
        };
        let body = valid().to_string();
        assert_eq!(status(Some("application/json"), &body), 400);
        assert_eq!(status(None, &body), 400);
        assert_eq!(
            status(
                Some("application/vnd.scanner.adapter.scan.request+json; version=9"),
                &body
            ),
            400
        );
        assert_eq!(status(Some(CT), "{not json"), 400);
        assert_eq!(status(None, ""), 422);
        assert_eq!(status(Some(CT), "[1]"), 400);
        assert_eq!(status(Some(CT), r#"{"registry": 1, "artifact": {}}"#), 400);
        // null is a value of the wrong type (no field of the schema is nullable but one)
        let mut v = valid();
        v["registry"]["authorization"] = Value::Null;
        assert_eq!(request(v).unwrap_err().status(), 400);
        let mut v = valid();
        v["enabled_capabilities"] = json!([{"type": "sbom", "parameters": null}]);
        request(v).unwrap();
        let with = |path: &[&str], v: Value| {
            let mut r = valid();
            let mut at = &mut r;
            for p in &path[..path.len() - 1] {
                at = &mut at[*p];
            }
            match v {
                Value::Null => {
                    at.as_object_mut().unwrap().remove(path[path.len() - 1]);
                }
                v => at[path[path.len() - 1]] = v,
            }
            request(r).unwrap_err()
        };
        for (path, v, code, says) in [
            (
                &["artifact", "digest"][..],
                Value::Null,
                422,
                "digest: required",
            ),
            (
                &["artifact", "digest"],
                json!("sha256:abc"),
                422,
                "artifact.digest",
            ),
            (&["artifact", "digest"], json!(5), 400, "expected a string"),
            (
                &["artifact", "repository"],
                Value::Null,
                422,
                "repository: required",
            ),
            (
                &["artifact", "repository"],
                json!("UPPER/case"),
                422,
                "artifact.repository",
            ),
            (
                &["registry", "url"],
                json!("INVALID_REGISTRY_URL"),
                422,
                "registry.url",
            ),
            (
                &["registry", "url"],
                json!("https://h/v2/x"),
                422,
                "no path",
            ),
            (
                &["registry", "url"],
                json!("http://harbor-core"),
                422,
                "give the registry's port",
            ),
            (
                &["registry", "authorization"],
                json!("Digest x"),
                422,
                "Basic or Bearer",
            ),
            (
                &["artifact", "mime_type"],
                json!("application/vnd.cncf.helm.config.v1+json"),
                501,
                "analyses",
            ),
            (&["registry"], Value::Null, 422, "registry: required"),
        ] {
            let e = with(path, v);
            assert_eq!(e.status(), code, "{path:?}: {e:?}");
            assert!(e.message().contains(says), "{path:?}: {e:?}");
        }
        // capabilities: unknown types, report types the adapter does not make, a database missing
        let mut v = valid();
        v["enabled_capabilities"] = json!([{"type": "malware"}]);
        assert_eq!(request(v.clone()).unwrap_err().status(), 422);
        v["enabled_capabilities"] = json!([{"type": "vulnerability",
            "produces_mime_types": ["application/vnd.scanner.adapter.vuln.report.raw"]}]);
        assert_eq!(request(v.clone()).unwrap_err().status(), 501);
        v["enabled_capabilities"] =
            json!([{"type": "sbom", "parameters": {"sbom_media_types": ["text/plain"]}}]);
        assert_eq!(request(v.clone()).unwrap_err().status(), 422);
        v["enabled_capabilities"] = json!([{"type": "vulnerability"}]);
        let e = ScanRequest::parse(Some(CT), v.to_string().as_bytes(), false).unwrap_err();
        assert_eq!(e.status(), 501);
        assert!(e.message().contains("no advisory database"), "{e:?}");
        v["enabled_capabilities"] = json!([{"type": "sbom"}]);
        ScanRequest::parse(Some(CT), v.to_string().as_bytes(), false).unwrap();
        // the credential never shows in a refusal
        let mut v = valid();
        v["registry"]["authorization"] = json!("Basic s3cr3t-not-base64!");
        let e = request(v).unwrap_err();
        assert!(!e.message().contains("s3cr3t"), "{e:?}");
    }

    #[test]
    fn accept_headers_pick_the_report_by_preference() {
        assert_eq!(negotiate(None), Ok(ReportType::HarborV1_0));
        assert_eq!(negotiate(Some("*/*")), Ok(ReportType::HarborV1_0));
        assert_eq!(
            negotiate(Some(
                "application/vnd.security.vulnerability.report; version=1.1"
            )),
            Ok(ReportType::VulnerabilityV1_1)
        );
        assert_eq!(
            negotiate(Some(
                "application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.0; q=0.5, \
                 application/vnd.security.sbom.report+json; version=1.0"
            )),
            Ok(ReportType::Sbom)
        );
        assert!(negotiate(Some("application/vnd.scanner.adapter.vuln.report.raw")).is_err());
        assert!(
            negotiate(Some(
                "application/vnd.security.vulnerability.report; version=2.0"
            ))
            .is_err()
        );
        assert!(negotiate(Some("application/vnd.security.sbom.report+json; q=0")).is_err());
        assert_eq!(metadata_version(None), mime::METADATA_V1_1);
        assert_eq!(
            metadata_version(Some(mime::METADATA_V1_0)),
            mime::METADATA_V1_0
        );
    }

    #[test]
    fn metadata_offers_vulnerability_reports_only_with_a_database() {
        let db = DatabaseFacts {
            built_at: Some("2026-01-02T03:04:05Z".into()),
            ecosystems: vec!["PyPI".into()],
        };
        let m = metadata(mime::METADATA_V1_1, Some(&db));
        let types: Vec<&str> = m["capabilities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["type"].as_str().unwrap())
            .collect();
        assert_eq!(types, ["vulnerability", "sbom"]);
        assert_eq!(
            m["properties"]["harbor.scanner-adapter/vulnerability-database-updated-at"],
            "2026-01-02T03:04:05Z"
        );
        let none = metadata(mime::METADATA_V1_1, None);
        assert_eq!(none["capabilities"].as_array().unwrap().len(), 1);
        assert_eq!(none["capabilities"][0]["type"], "sbom");
        let old = metadata(mime::METADATA_V1_0, Some(&db));
        assert_eq!(old["capabilities"].as_array().unwrap().len(), 1);
        assert!(old["capabilities"][0].get("type").is_none());
    }

    #[test]
    fn not_checked_ecosystems_are_items_of_the_report_never_a_clean_list() {
        let mut m = Matches::default();
        m.not_checked.insert("npm".into(), 3);
        let a = Artifact {
            repository: "r".into(),
            digest: DIGEST.into(),
            tag: None,
            mime_type: None,
        };
        let r = vulnerability_report(
            ReportType::VulnerabilityV1_1,
            &a,
            &m,
            &Coverage::default(),
            0,
            "2026-01-01T00:00:00Z",
        );
        let items = r["vulnerabilities"].as_array().unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0]["id"], "rampart:not-checked:npm");
        assert_eq!(items[0]["severity"], "Unknown");
        assert!(
            items[0]["description"]
                .as_str()
                .unwrap()
                .contains("3 packages not checked"),
            "{r}"
        );
    }

    #[test]
    fn ids_are_random_version_4_uuids() {
        let a = random_id().unwrap();
        let b = random_id().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(a.as_bytes()[14], b'4');
    }
}
