//! The OSV record format (<https://ossf.github.io/osv-schema/>), read leniently: unknown fields
//! are ignored, missing optional ones default, and a record is rejected only when what matching
//! needs (an id, package names, range events) is malformed.

use serde::{Deserialize, Serialize};

/// One OSV record, the fields rampart uses.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(default)]
pub struct Record {
    /// `GHSA-...`, `PYSEC-...`, `GO-...`, `RUSTSEC-...`, `DSA-...`, `CVE-...`.
    pub id: String,
    /// RFC 3339 time of the last change.
    pub modified: Option<String>,
    /// RFC 3339 publication time.
    pub published: Option<String>,
    /// Set when the advisory was withdrawn: it must not match anything.
    pub withdrawn: Option<String>,
    /// Other ids of the same vulnerability.
    pub aliases: Vec<String>,
    /// Related (not identical) vulnerabilities; informational.
    pub related: Vec<String>,
    /// Upstream vulnerabilities this entry refers to: Ubuntu's `UBUNTU-CVE-2024-1234` keeps
    /// its CVE here, a `USN-...` the `UBUNTU-CVE-...` records it fixes.
    pub upstream: Vec<String>,
    /// One line.
    pub summary: Option<String>,
    /// Longer text (markdown).
    pub details: Option<String>,
    /// Severity vectors or scores of the whole record.
    pub severity: Vec<SeverityEntry>,
    /// The affected packages and versions.
    pub affected: Vec<Affected>,
    /// Links.
    pub references: Vec<ReferenceEntry>,
    /// Database-specific data (GHSA puts a `severity` word here).
    pub database_specific: Option<serde_json::Value>,
}

/// A severity entry: `CVSS_V3`/`CVSS_V4`/`CVSS_V2` with a vector, or `Ubuntu` with a word.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(default)]
pub struct SeverityEntry {
    /// `CVSS_V2`, `CVSS_V3`, `CVSS_V4`, `Ubuntu`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The vector or word.
    pub score: String,
}

/// A link.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(default)]
pub struct ReferenceEntry {
    /// `ADVISORY`, `FIX`, `WEB`, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// The address.
    pub url: String,
}

/// One affected package with its ranges and versions.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(default)]
pub struct Affected {
    /// The package.
    pub package: Option<PackageId>,
    /// Severity specific to this package.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub severity: Vec<SeverityEntry>,
    /// Version ranges.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ranges: Vec<Range>,
    /// Explicitly enumerated affected versions.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<String>,
    /// Ecosystem-specific data (kept for display, e.g. Debian urgency).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ecosystem_specific: Option<serde_json::Value>,
    /// Database-specific data (Debian and Ubuntu put a severity or urgency here).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<serde_json::Value>,
}

/// A package in an ecosystem.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(default)]
pub struct PackageId {
    /// `PyPI`, `Debian:12`, `Alpine:v3.20`, ...
    pub ecosystem: String,
    /// The package name as the ecosystem spells it.
    pub name: String,
    /// Optional purl.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
}

/// A range: events on a version line.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(default)]
pub struct Range {
    /// `SEMVER`, `ECOSYSTEM` or `GIT`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The repository of a `GIT` range.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// The events.
    pub events: Vec<Event>,
}

/// One range event; exactly one field is set in a valid record.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(default)]
pub struct Event {
    /// First affected version (`0` = since the beginning).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub introduced: Option<String>,
    /// First unaffected version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixed: Option<String>,
    /// Last affected version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_affected: Option<String>,
    /// Upper limit of the range (versions at or above are not in it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
}

/// What a well-formed event says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind<'a> {
    /// `introduced`.
    Introduced(&'a str),
    /// `fixed`.
    Fixed(&'a str),
    /// `last_affected`.
    LastAffected(&'a str),
    /// `limit`.
    Limit(&'a str),
}

impl Event {
    /// The single thing this event says, or `None` when it sets none or several fields.
    pub fn kind(&self) -> Option<EventKind<'_>> {
        let set = [
            self.introduced.as_deref().map(EventKind::Introduced),
            self.fixed.as_deref().map(EventKind::Fixed),
            self.last_affected.as_deref().map(EventKind::LastAffected),
            self.limit.as_deref().map(EventKind::Limit),
        ];
        let mut it = set.into_iter().flatten();
        let first = it.next()?;
        it.next().is_none().then_some(first)
    }
}

/// Why a record could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// Not valid JSON or not an OSV record.
    #[error("invalid OSV JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// Not valid YAML or not an OSV record.
    #[error("invalid OSV YAML: {0}")]
    Yaml(String),
    /// No `id`.
    #[error("OSV record has no id")]
    NoId,
}

impl Record {
    /// Reads a record from JSON.
    pub fn from_json(bytes: &[u8]) -> Result<Self, RecordError> {
        let r: Self = serde_json::from_slice(bytes)?;
        r.checked()
    }

    /// Reads a record from YAML (the form the PyPA advisory database uses).
    pub fn from_yaml(text: &str) -> Result<Self, RecordError> {
        let r: Self = serde_saphyr::from_str_with_options(text, yaml_options())
            .map_err(|e| RecordError::Yaml(e.to_string()))?;
        r.checked()
    }

    fn checked(self) -> Result<Self, RecordError> {
        if self.id.trim().is_empty() {
            return Err(RecordError::NoId);
        }
        Ok(self)
    }

    /// The record's id and aliases.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.id.as_str()).chain(self.aliases.iter().map(String::as_str))
    }
}

/// YAML limits for untrusted advisories: bounded nesting and aliases (billion laughs).
fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_depth: 64,
            max_aliases: 1_000,
        },
    }
}
