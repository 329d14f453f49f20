//! OSV ecosystems: names, releases, package-name normalization, and which ecosystem a package
//! found by rampart's catalogers belongs to.

use rampart_sbom::{Distro, Ecosystem, Package};
use rampart_version::Scheme;

/// Splits an OSV ecosystem into its base and release: `Debian:12` → (`Debian`, `12`),
/// `Ubuntu:22.04:LTS` → (`Ubuntu`, `22.04:LTS`), `PyPI` → (`PyPI`, ``).
pub fn split(ecosystem: &str) -> (&str, &str) {
    match ecosystem.split_once(':') {
        Some((base, release)) => (base, release),
        None => (ecosystem, ""),
    }
}

/// The ecosystems rampart can match (their versions have a [`Scheme`]).
pub fn is_known(base: &str) -> bool {
    Scheme::for_osv_ecosystem(base).is_some()
}

/// The package name as stored and looked up: the ecosystem's own notion of "the same name"
/// (PEP 503 for PyPI, case-insensitive NuGet, Packagist and npm, `-`/`_` for crates.io).
pub fn normalize_name(base: &str, name: &str) -> String {
    match base {
        "PyPI" => {
            let mut out = String::with_capacity(name.len());
            let mut sep = false;
            for c in name.trim().chars() {
                if matches!(c, '-' | '_' | '.') {
                    sep = true;
                } else {
                    if sep && !out.is_empty() {
                        out.push('-');
                    }
                    sep = false;
                    out.extend(c.to_lowercase());
                }
            }
            out
        }
        "crates.io" => name.trim().to_ascii_lowercase().replace('_', "-"),
        "NuGet" | "Packagist" | "npm" => name.trim().to_ascii_lowercase(),
        _ => name.trim().to_owned(),
    }
}

/// Where to look a package up: an ecosystem base, the release rows must fit, and the names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    /// OSV ecosystem base (`Debian`, `PyPI`, ...).
    pub base: &'static str,
    /// The distribution release the package comes from, for OS ecosystems.
    pub release: Option<Release>,
    /// Normalized names to look up with the version to compare for each, most specific first:
    /// an OS package is looked up by its source package with the source version (distribution
    /// advisories are about source packages; a binNMU `+b1` binary keeps its source's version),
    /// then by its own name and version.
    pub names: Vec<Candidate>,
    /// The version scheme.
    pub scheme: Scheme,
}

/// A name to look up, with the version to compare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Normalized name.
    pub name: String,
    /// The version compared for it.
    pub version: String,
    /// Whether it is the package's source package rather than the package itself.
    pub source: bool,
}

/// A distribution release: how an OS package's rows are filtered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    /// `12`, `v3.20`, `22.04`, `9`.
    pub version: String,
}

impl Release {
    /// Whether an OSV release part (after the base) belongs to this release.
    /// `Debian:12` → `12`; `Alpine:v3.20`; `Ubuntu:22.04:LTS` and `Ubuntu:Pro:22.04:LTS`;
    /// `Red Hat:enterprise_linux:9::appstream`, `Rocky Linux:9`, `AlmaLinux:9`.
    pub fn fits(&self, osv_release: &str) -> bool {
        osv_release.split(':').any(|part| part == self.version)
    }
}

/// Why a package cannot be looked up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unmatchable {
    /// An OS package without a known distribution release.
    #[error("{0} packages need the OS release (no /etc/os-release?)")]
    NoRelease(&'static str),
    /// The distribution has no OSV data.
    #[error("no OSV data for the distribution {0:?}")]
    UnknownDistro(String),
    /// The ecosystem has no OSV data rampart can match.
    #[error("no OSV ecosystem for {0} packages")]
    NoEcosystem(&'static str),
}

/// How to look `pkg` up, given the image's distribution.
pub fn lookup(pkg: &Package, distro: Option<&Distro>) -> Result<Lookup, Unmatchable> {
    let purl = &pkg.purl;
    let joined = |sep: &str| match purl.namespace() {
        Some(ns) if !ns.is_empty() => format!("{ns}{sep}{}", purl.name()),
        _ => purl.name().to_owned(),
    };
    let Some(base) = osv_base(pkg.ecosystem) else {
        return os_lookup(pkg, distro);
    };
    let names = match pkg.ecosystem {
        Ecosystem::Npm | Ecosystem::Go | Ecosystem::Composer => vec![joined("/")],
        Ecosystem::Maven => vec![joined(":")],
        _ => vec![pkg.name.clone()],
    };
    let scheme = scheme_of(base).ok_or(Unmatchable::NoEcosystem(pkg.ecosystem.purl_type()))?;
    // The Go toolchain's own version is `go1.19.8` in build info (and in Syft's SBOMs); the Go
    // vulnerability database writes `1.19.8` for its `stdlib` and `toolchain` packages.
    let version = match (base, pkg.name.as_str()) {
        ("Go", "stdlib" | "toolchain") => pkg
            .version
            .strip_prefix("go")
            .unwrap_or(&pkg.version)
            .to_owned(),
        _ => pkg.version.clone(),
    };
    Ok(Lookup {
        base,
        release: None,
        names: names
            .iter()
            .map(|n| Candidate {
                name: normalize_name(base, n),
                version: version.clone(),
                source: false,
            })
            .collect(),
        scheme,
    })
}

fn scheme_of(base: &str) -> Option<Scheme> {
    Scheme::for_osv_ecosystem(base)
}

/// The OSV ecosystem of a language package ecosystem; `None` for distribution packages, whose
/// OSV ecosystem depends on the distribution (`Debian:12`, `Alpine:v3.19`...).
pub fn osv_base(ecosystem: Ecosystem) -> Option<&'static str> {
    Some(match ecosystem {
        Ecosystem::Deb | Ecosystem::Apk | Ecosystem::Rpm => return None,
        Ecosystem::PyPI => "PyPI",
        Ecosystem::Npm => "npm",
        Ecosystem::Go => "Go",
        Ecosystem::Cargo => "crates.io",
        Ecosystem::Maven => "Maven",
        Ecosystem::Gem => "RubyGems",
        Ecosystem::Composer => "Packagist",
        Ecosystem::NuGet => "NuGet",
    })
}

/// The version scheme of an ecosystem: the one its advisories are matched with, so that
/// everything comparing versions of a package (matching, inventory queries) agrees. `None`
/// where rampart has no ordering (Packagist: only exact versions).
pub fn scheme(ecosystem: Ecosystem) -> Option<Scheme> {
    match ecosystem {
        Ecosystem::Deb => Some(Scheme::Dpkg),
        Ecosystem::Apk => Some(Scheme::Apk),
        Ecosystem::Rpm => Some(Scheme::Rpm),
        other => osv_base(other).and_then(scheme_of),
    }
}

fn os_lookup(pkg: &Package, distro: Option<&Distro>) -> Result<Lookup, Unmatchable> {
    let kind = pkg.ecosystem.purl_type();
    let distro = distro.ok_or(Unmatchable::NoRelease(kind))?;
    let version_id = distro.version_id.as_deref().unwrap_or("");
    let major = version_id.split('.').next().unwrap_or("");
    let (base, release): (&'static str, String) = match distro.id.as_str() {
        "debian" => ("Debian", major.to_owned()),
        "ubuntu" => ("Ubuntu", version_id.to_owned()),
        "alpine" => {
            let mut parts = version_id.split('.');
            match (parts.next(), parts.next()) {
                (Some(a), Some(b)) => ("Alpine", format!("v{a}.{b}")),
                _ => return Err(Unmatchable::NoRelease(kind)),
            }
        }
        "wolfi" => ("Wolfi", String::new()),
        "chainguard" => ("Chainguard", String::new()),
        "rocky" => ("Rocky Linux", major.to_owned()),
        "almalinux" => ("AlmaLinux", major.to_owned()),
        "rhel" => ("Red Hat", major.to_owned()),
        "opensuse-leap" | "opensuse-tumbleweed" | "opensuse" => ("openSUSE", String::new()),
        "sles" | "suse" => ("SUSE", String::new()),
        "mageia" => ("Mageia", major.to_owned()),
        other => return Err(Unmatchable::UnknownDistro(other.to_owned())),
    };
    if release.is_empty() && !matches!(base, "Wolfi" | "Chainguard" | "openSUSE" | "SUSE") {
        return Err(Unmatchable::NoRelease(kind));
    }
    let mut names = Vec::with_capacity(2);
    if let Some(src) = &pkg.source_package {
        names.push(Candidate {
            name: src.name.clone(),
            version: src.version.clone(),
            source: src.name != pkg.name,
        });
    }
    if !names.iter().any(|c| c.name == pkg.name) {
        names.push(Candidate {
            name: pkg.name.clone(),
            version: pkg.version.clone(),
            source: false,
        });
    }
    let scheme = scheme_of(base).ok_or(Unmatchable::NoEcosystem(kind))?;
    Ok(Lookup {
        base,
        release: (!release.is_empty()).then_some(Release { version: release }),
        names,
        scheme,
    })
}
