//! Version parsing and ordering, one scheme per package ecosystem.
//!
//! A vulnerability range is only as good as the comparison behind it: `1.0~rc1` sorts before
//! `1.0` for dpkg, `1.0rc1` before `1.0` for PEP 440, `1.0-SNAPSHOT` before `1.0` for Maven.
//! Each scheme here is checked against the ecosystem's own implementation (see `tests/`).
//!
//! Every scheme is written by hand, after the reference implementation it names, because no
//! well-kept crate reproduces those references exactly (each module says why for its scheme).
//! Parsing is one linear pass with at most one allocation besides the copy of the text; a
//! comparison allocates nothing.
#![deny(clippy::indexing_slicing)]

use std::cmp::Ordering;
use std::fmt;

mod apk;
mod dpkg;
mod maven;
mod nuget;
mod num;
mod pep440;
mod rpm;
mod rubygems;
mod semver;

/// A version ordering scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
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
    /// Every scheme, in the order versions of different schemes sort.
    pub const ALL: [Scheme; 8] = [
        Self::Dpkg,
        Self::Apk,
        Self::Rpm,
        Self::SemVer,
        Self::Pep440,
        Self::Maven,
        Self::RubyGems,
        Self::NuGet,
    ];

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
        let parsed = match self {
            Self::Dpkg => dpkg::parse(version).map(Parsed::Dpkg),
            Self::Apk => apk::parse(version).map(Parsed::Apk),
            Self::Rpm => rpm::parse(version).map(Parsed::Rpm),
            Self::SemVer => semver::parse(version).map(Parsed::SemVer),
            Self::Pep440 => pep440::parse(version).map(Parsed::Pep440),
            Self::Maven => maven::parse(version).map(Parsed::Maven),
            Self::RubyGems => rubygems::parse(version).map(Parsed::RubyGems),
            Self::NuGet => nuget::parse(version).map(Parsed::NuGet),
        };
        match parsed {
            Ok(parsed) => Ok(Version {
                text: version.into(),
                parsed,
            }),
            Err(reason) => Err(VersionError {
                scheme: self,
                version: version.to_owned(),
                reason: reason.to_owned(),
            }),
        }
    }
}

/// Maven's `ComparableVersion.compareTo` exactly, which is not a total order (the Maven scheme
/// deviates from it only where it is not transitive; see the crate's `maven` module): for
/// checking that claim, not for sorting.
#[doc(hidden)]
pub fn maven_comparable_version(a: &str, b: &str) -> Ordering {
    match (maven::parse(a), maven::parse(b)) {
        (Ok(x), Ok(y)) => maven::compare_exact(&x, &y),
        _ => Ordering::Equal,
    }
}

/// A parsed version; versions of the same scheme are totally ordered (versions of different
/// schemes order by scheme first).
///
/// Equality is the scheme's: `1.0` and `1.0.0` are equal versions under Maven, PEP 440 and
/// RubyGems although their texts differ.
#[derive(Debug, Clone)]
pub struct Version {
    text: Box<str>,
    parsed: Parsed,
}

/// The parsed form per scheme; offsets in it point into [`Version::text`].
#[derive(Debug, Clone)]
enum Parsed {
    Dpkg(dpkg::Dpkg),
    Apk(apk::Apk),
    Rpm(rpm::Rpm),
    SemVer(semver::SemVer),
    Pep440(pep440::Pep440),
    Maven(maven::Maven),
    RubyGems(rubygems::RubyGems),
    NuGet(nuget::NuGet),
}

impl Parsed {
    fn scheme(&self) -> Scheme {
        match self {
            Self::Dpkg(_) => Scheme::Dpkg,
            Self::Apk(_) => Scheme::Apk,
            Self::Rpm(_) => Scheme::Rpm,
            Self::SemVer(_) => Scheme::SemVer,
            Self::Pep440(_) => Scheme::Pep440,
            Self::Maven(_) => Scheme::Maven,
            Self::RubyGems(_) => Scheme::RubyGems,
            Self::NuGet(_) => Scheme::NuGet,
        }
    }
}

impl Version {
    /// The text the version was parsed from, unchanged.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The scheme the version was parsed under.
    pub fn scheme(&self) -> Scheme {
        self.parsed.scheme()
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        let (a, b) = (self.text.as_bytes(), other.text.as_bytes());
        match (&self.parsed, &other.parsed) {
            (Parsed::Dpkg(x), Parsed::Dpkg(y)) => dpkg::compare(a, x, b, y),
            (Parsed::Apk(x), Parsed::Apk(y)) => apk::compare(a, x, b, y),
            (Parsed::Rpm(x), Parsed::Rpm(y)) => rpm::compare(a, x, b, y),
            (Parsed::SemVer(x), Parsed::SemVer(y)) => semver::compare(a, x, b, y),
            (Parsed::Pep440(x), Parsed::Pep440(y)) => pep440::compare(a, x, b, y),
            (Parsed::Maven(x), Parsed::Maven(y)) => maven::compare(a, x, b, y),
            (Parsed::RubyGems(x), Parsed::RubyGems(y)) => rubygems::compare(a, x, b, y),
            (Parsed::NuGet(x), Parsed::NuGet(y)) => nuget::compare(a, x, b, y),
            (x, y) => x.scheme().cmp(&y.scheme()),
        }
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}
