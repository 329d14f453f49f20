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

/// The OSV ecosystem string of a base and release: (`Debian`, `12`) → `Debian:12`.
pub fn join(base: &str, release: &str) -> String {
    if release.is_empty() {
        base.to_owned()
    } else {
        format!("{base}:{release}")
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
    /// For Ubuntu, the stream the installed package comes from: `None` for the release
    /// itself (`Ubuntu:22.04:LTS`), `Some("Pro")` for a package installed from Ubuntu Pro
    /// (ESM: its version carries `esm`), whose rows are `Ubuntu:Pro:22.04:LTS`.
    pub stream: Option<&'static str>,
}

impl Release {
    /// A release of the distribution's main stream.
    pub fn new(version: impl Into<String>) -> Self {
        Self {
            version: version.into(),
            stream: None,
        }
    }

    /// Whether an OSV release part (after the base) is this release, for a package of `base`.
    /// `Debian:12` → `12`; `Alpine:v3.20`; `Red Hat:enterprise_linux:9::appstream`, `Rocky
    /// Linux:9`, `AlmaLinux:9`. For Ubuntu only the package's own stream fits: a plain 22.04
    /// package is `22.04:LTS` (or `22.04` for an interim release), never
    /// `Pro:22.04:LTS`, `Pro:FIPS-updates:22.04:LTS` or `Pro:22.04:LTS:Realtime:Kernel`,
    /// which are other streams with their own versions (see [`Release::other_stream`]).
    pub fn fits(&self, base: &str, osv_release: &str) -> bool {
        if base == "Ubuntu" {
            let rest = match self.stream {
                None => osv_release,
                Some(stream) => match osv_release
                    .strip_prefix(stream)
                    .and_then(|r| r.strip_prefix(':'))
                {
                    Some(r) => r,
                    None => return false,
                },
            };
            let plain = rest.strip_suffix(":LTS").unwrap_or(rest);
            return plain == self.version;
        }
        osv_release.split(':').any(|part| part == self.version)
    }

    /// When an OSV release part is another stream of this release (for Ubuntu: `Pro:22.04:LTS`
    /// for a plain 22.04 package, `Pro:FIPS-updates:22.04:LTS`...), the stream's name as people
    /// say it: `Ubuntu Pro (esm)`, `Ubuntu Pro FIPS-updates`.
    pub fn other_stream(&self, base: &str, osv_release: &str) -> Option<String> {
        if base != "Ubuntu" || self.fits(base, osv_release) {
            return None;
        }
        let parts: Vec<&str> = osv_release.split(':').collect();
        let at = parts.iter().position(|p| *p == self.version)?;
        let before = parts.get(..at).unwrap_or_default();
        let after: Vec<&str> = parts
            .get(at + 1..)
            .unwrap_or_default()
            .iter()
            .copied()
            .filter(|p| *p != "LTS")
            .collect();
        let mut name = String::from("Ubuntu");
        match before {
            ["Pro"] => name.push_str(" Pro (esm)"),
            [] => {}
            more => {
                for p in more {
                    name.push(' ');
                    name.push_str(p);
                }
            }
        }
        if !after.is_empty() {
            name.push(' ');
            name.push_str(&after.join(" "));
        }
        Some(name)
    }

    /// The OSV release string this release's rows use (for messages), e.g. `22.04`.
    pub fn label(&self) -> String {
        match self.stream {
            Some(s) => format!("{s}:{}", self.version),
            None => self.version.clone(),
        }
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
    // Distribution advisories name source packages. A binary whose source package is known is
    // looked up through that source only: its own name may also be the name of an unrelated
    // source package (the `libxml2` binary of Alpine's `libxml2` is the same; Debian's `bind9`
    // source builds `bind9-libs`, and a source package named like a binary is another package).
    // Without a known source, the binary's own name is the best guess (most binaries built from
    // a same-named source omit the field).
    let names = match &pkg.source_package {
        Some(src) if !src.name.trim().is_empty() => vec![Candidate {
            name: src.name.clone(),
            version: src.version.clone(),
            source: src.name != pkg.name,
        }],
        _ => vec![Candidate {
            name: pkg.name.clone(),
            version: pkg.version.clone(),
            source: false,
        }],
    };
    let scheme = scheme_of(base).ok_or(Unmatchable::NoEcosystem(kind))?;
    // An Ubuntu package installed from Ubuntu Pro (ESM) carries `esm` in its version
    // (`1.1.1-1ubuntu2.1~18.04.23+esm9`): its stream is Pro's.
    let stream = (base == "Ubuntu"
        && names
            .first()
            .is_some_and(|c| c.version.contains("+esm") || c.version.contains("~esm")))
    .then_some("Pro");
    Ok(Lookup {
        base,
        release: (!release.is_empty()).then_some(Release {
            version: release,
            stream,
        }),
        names,
        scheme,
    })
}
