//! Version parsing and ordering, one scheme per package ecosystem.
//!
//! A vulnerability range is only as good as the comparison behind it: `1.0~rc1` sorts before
//! `1.0` for dpkg, `1.0rc1` before `1.0` for PEP 440, `1.0-SNAPSHOT` before `1.0` for Maven.
//! Each scheme here is checked against the ecosystem's own implementation (see `tests/`).

use std::cmp::Ordering;

/// A version ordering scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Debian and Ubuntu (`dpkg --compare-versions`): epoch, upstream, revision, `~`.
    Dpkg,
    /// Alpine (`apk version -t`).
    Apk,
    /// RPM (`rpmvercmp` on epoch, version, release).
    Rpm,
    /// Semantic Versioning 2.0 (npm, crates.io, Go with or without a leading `v`).
    SemVer,
    /// PEP 440 (PyPI).
    Pep440,
    /// Maven's `ComparableVersion`.
    Maven,
    /// RubyGems' `Gem::Version`.
    RubyGems,
    /// NuGet's `NuGetVersion` (SemVer 2 with a fourth component).
    NuGet,
}

/// A version that could not be parsed under a scheme.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {scheme:?} version {version:?}: {reason}")]
pub struct VersionError {
    /// The scheme the version was parsed under.
    pub scheme: Scheme,
    /// The version text.
    pub version: String,
    /// What is wrong with it.
    pub reason: String,
}

impl Scheme {
    /// The scheme of an OSV ecosystem name (`Debian:12`, `PyPI`, `crates.io`, `Alpine:v3.20`, ...).
    pub fn for_osv_ecosystem(ecosystem: &str) -> Option<Self> {
        let base = ecosystem.split(':').next().unwrap_or(ecosystem);
        Some(match base {
            "Debian" | "Ubuntu" => Self::Dpkg,
            "Alpine" | "Wolfi" | "Chainguard" => Self::Apk,
            "Red Hat" | "Rocky Linux" | "AlmaLinux" | "openSUSE" | "SUSE" | "Mageia" => Self::Rpm,
            "npm" | "crates.io" | "Go" | "Hex" | "Pub" => Self::SemVer,
            "PyPI" => Self::Pep440,
            "Maven" => Self::Maven,
            "RubyGems" => Self::RubyGems,
            "NuGet" => Self::NuGet,
            _ => return None,
        })
    }

    /// Compares two versions under this scheme.
    pub fn compare(self, a: &str, b: &str) -> Result<Ordering, VersionError> {
        Ok(self.parse(a)?.cmp(&self.parse(b)?))
    }

    /// Parses a version under this scheme.
    pub fn parse(self, version: &str) -> Result<Version, VersionError> {
        Err(VersionError {
            scheme: self,
            version: version.to_owned(),
            reason: "not implemented yet".to_owned(),
        })
    }
}

/// A parsed version; versions of the same scheme are totally ordered.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    key: Vec<u8>,
}
