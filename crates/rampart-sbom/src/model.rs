//! The package model.

use crate::Purl;

/// The package ecosystem (which package manager installed it).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Ecosystem {
    /// Debian packages (dpkg).
    Deb,
    /// Alpine packages (apk).
    Apk,
    /// RPM packages.
    Rpm,
    /// Python distributions.
    PyPI,
    /// npm packages.
    Npm,
    /// Go modules.
    Go,
    /// Rust crates.
    Cargo,
    /// Java artifacts.
    Maven,
    /// Ruby gems.
    Gem,
    /// PHP composer packages.
    Composer,
    /// .NET NuGet packages.
    NuGet,
}

impl Ecosystem {
    /// The purl type of this ecosystem.
    pub fn purl_type(self) -> &'static str {
        match self {
            Self::Deb => "deb",
            Self::Apk => "apk",
            Self::Rpm => "rpm",
            Self::PyPI => "pypi",
            Self::Npm => "npm",
            Self::Go => "golang",
            Self::Cargo => "cargo",
            Self::Maven => "maven",
            Self::Gem => "gem",
            Self::Composer => "composer",
            Self::NuGet => "nuget",
        }
    }

    /// The ecosystem of a purl type (`deb`, `golang`...), the inverse of
    /// [`purl_type`](Self::purl_type); `None` for types rampart does not catalog.
    pub fn from_purl_type(ty: &str) -> Option<Self> {
        Some(match ty {
            "deb" => Self::Deb,
            "apk" => Self::Apk,
            "rpm" => Self::Rpm,
            "pypi" => Self::PyPI,
            "npm" => Self::Npm,
            "golang" => Self::Go,
            "cargo" => Self::Cargo,
            "maven" => Self::Maven,
            "gem" => Self::Gem,
            "composer" => Self::Composer,
            "nuget" => Self::NuGet,
            _ => return None,
        })
    }
}

/// Where a package was found: the file that declares it and, once the layer reader knows it,
/// the digest of the layer that file came from.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct PackageLocation {
    /// Path inside the image, relative to the root, `/` separated.
    pub path: String,
    /// Digest of the layer (`sha256:...`), filled in by the layer reader.
    pub layer: Option<String>,
}

/// The source package an OS binary package was built from.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct SourcePackage {
    /// Source package name (`openssl` for `libssl3`).
    pub name: String,
    /// Source version; the binary's version when the metadata does not state another one.
    pub version: String,
}

/// One installed package. Its JSON form reads back to the same package (the layer cache keeps
/// packages so; a purl is read back from its canonical string).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Package {
    /// Name as the package manager spells it (`@types/node` for scoped npm packages).
    pub name: String,
    /// Version as the package manager spells it.
    pub version: String,
    /// Which package manager installed it.
    pub ecosystem: Ecosystem,
    /// Canonical package URL.
    pub purl: Purl,
    /// Licenses as the package states them (SPDX expressions or free text), in order, deduped.
    pub licenses: Vec<String>,
    /// For OS packages, the source package.
    pub source_package: Option<SourcePackage>,
    /// Files that declare this package.
    pub locations: Vec<PackageLocation>,
    /// Architecture (OS packages), e.g. `amd64`, `x86_64`, `all`.
    pub arch: Option<String>,
}

impl Package {
    /// A package found in the file at `path` (inside the image), with no licenses yet.
    pub fn new(
        ecosystem: Ecosystem,
        name: String,
        version: String,
        purl: Purl,
        path: &str,
    ) -> Self {
        Self {
            name,
            version,
            ecosystem,
            purl,
            licenses: Vec::new(),
            source_package: None,
            locations: vec![PackageLocation {
                path: path.to_owned(),
                layer: None,
            }],
            arch: None,
        }
    }

    /// Adds a license as the package states it (trimmed; empty and repeated ones are skipped).
    pub fn add_license(&mut self, license: &str) {
        let l = license.trim();
        if !l.is_empty() && !self.licenses.iter().any(|x| x == l) {
            self.licenses.push(l.to_owned());
        }
    }
}
