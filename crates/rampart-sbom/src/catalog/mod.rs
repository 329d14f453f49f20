//! Catalogers: pure parsers from (path, bytes) to packages.

mod apk;
mod composer;
mod copyright;
mod dotnet;
mod dpkg;
mod gem;
mod golang;
mod java;
mod java_archive;
mod npm;
mod python;
mod rpm;
mod rust;

pub use apk::Apk;
pub use composer::Composer;
pub use copyright::{copyright_package, debian_copyright_licenses};
pub use dotnet::{DOTNET_BUNDLE_SIGNATURE, DotnetDeps, dotnet_bundle};
pub use dpkg::Dpkg;
pub use gem::Gemspec;
pub use golang::{
    GoBuildInfo, GoModule, go_binary, go_module_package, is_elf, parse_go_buildinfo, parse_modinfo,
};
pub use java::{JavaPomProperties, Manifest, parse_properties};
pub use java_archive::{JavaArchiveCatalog, JavaLimits, catalog_java_archive, is_java_archive};
pub use npm::{NpmLockfile, NpmPackageJson};
pub use python::PythonMetadata;
pub use rpm::{MAX_RPMDB, RpmDb, RpmHeader, RpmHeaderError, parse_rpm_header};
pub use rust::{rust_audit_json, rust_binary, rust_dep_v0_packages};

pub(crate) use dpkg::parse_source;
pub(crate) use rpm::parse_source_rpm;

use crate::{CatalogError, Distro, MAX_INPUT, Package};

/// What catalogers may need beyond the file itself: the image's distribution (for OS package
/// purls' namespace and `distro` qualifier).
#[derive(Debug, Clone, Default)]
pub struct CatalogContext {
    /// Parsed from the image's os-release, if any.
    pub distro: Option<Distro>,
}

/// A parser for one kind of package-manager file.
pub trait Cataloger: Sync {
    /// Stable short name (`dpkg`, `python`...).
    fn name(&self) -> &'static str;
    /// Whether this cataloger reads the file at `path` (relative to the image root, `/`
    /// separated; a leading `/` or `./` is ignored).
    fn wants(&self, path: &str) -> bool;
    /// Largest input this cataloger accepts; larger files are refused with
    /// [`CatalogError::TooLarge`], so the layer reader need not read them.
    fn max_input(&self) -> usize {
        MAX_INPUT
    }
    /// Parses the file. Never panics; unreadable records are skipped, an unreadable file is an
    /// error.
    fn parse(
        &self,
        path: &str,
        content: &[u8],
        ctx: &CatalogContext,
    ) -> Result<Vec<Package>, CatalogError>;
}

/// Every cataloger, in a stable order.
pub fn catalogers() -> &'static [&'static dyn Cataloger] {
    &[
        &Dpkg,
        &Apk,
        &RpmDb,
        &PythonMetadata,
        &NpmPackageJson,
        &NpmLockfile,
        &Composer,
        &DotnetDeps,
        &Gemspec,
    ]
}

/// Runs every cataloger that [wants](Cataloger::wants) `path` on `content`, returning each
/// one's name and result (a file can interest several catalogers; none is common).
pub fn catalog_file(
    path: &str,
    content: &[u8],
    ctx: &CatalogContext,
) -> Vec<(&'static str, Result<Vec<Package>, CatalogError>)> {
    catalogers()
        .iter()
        .filter(|c| c.wants(path))
        .map(|c| (c.name(), c.parse(path, content, ctx)))
        .collect()
}

/// Packages embedded in an executable: Go build information, cargo-auditable data and the
/// deps.json of .NET single-file bundles ([`dotnet_bundle`]). Binaries
/// are found by content ([`is_elf`] on the first bytes), not by path, so the layer reader calls
/// this for executables it chooses to read. Non-ELF input yields no packages.
pub fn catalog_binary(path: &str, content: &[u8]) -> Result<Vec<Package>, CatalogError> {
    if !is_elf(content) {
        return Ok(Vec::new());
    }
    let mut pkgs = go_binary(path, content)?;
    pkgs.extend(rust_binary(path, content)?);
    pkgs.extend(dotnet_bundle(path, content)?);
    Ok(pkgs)
}

/// The path without a leading `/` or `./`.
pub(crate) fn clean_path(path: &str) -> &str {
    let mut p = path;
    loop {
        if let Some(r) = p.strip_prefix("./") {
            p = r;
        } else if let Some(r) = p.strip_prefix('/') {
            p = r;
        } else {
            return p;
        }
    }
}

/// Refuses inputs over [`MAX_INPUT`], then decodes UTF-8 lossily (package databases are text;
/// a bad byte should cost one field, not the file).
pub(crate) fn text<'a>(
    path: &str,
    content: &'a [u8],
) -> Result<std::borrow::Cow<'a, str>, CatalogError> {
    check_size(path, content)?;
    Ok(String::from_utf8_lossy(content))
}

pub(crate) fn check_size(path: &str, content: &[u8]) -> Result<(), CatalogError> {
    if content.len() > MAX_INPUT {
        return Err(CatalogError::TooLarge {
            path: path.to_owned(),
            size: content.len(),
            limit: MAX_INPUT,
        });
    }
    Ok(())
}

pub(crate) fn json(path: &str, content: &[u8]) -> Result<serde_json::Value, CatalogError> {
    check_size(path, content)?;
    serde_json::from_slice(content).map_err(|source| CatalogError::Json {
        path: path.to_owned(),
        source,
    })
}

/// The purl of an OS package: `pkg:<ty>/<distro id or default>/name@version?arch=..&distro=..`.
pub(crate) fn os_purl(
    ty: &str,
    default_namespace: &str,
    name: &str,
    version: &str,
    arch: Option<&str>,
    ctx: &CatalogContext,
) -> Option<crate::Purl> {
    let namespace = ctx
        .distro
        .as_ref()
        .map_or(default_namespace, |d| d.id.as_str());
    let mut purl = crate::Purl::new(ty, Some(namespace), name, Some(version)).ok()?;
    if let Some(a) = arch {
        purl = purl.with_qualifier("arch", a).ok()?;
    }
    if let Some(d) = &ctx.distro {
        purl = purl.with_qualifier("distro", &d.purl_qualifier()).ok()?;
    }
    Some(purl)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cataloger_survives_hostile_input() {
        let nested_array = "[".repeat(100_000);
        let nested_object = "{\"a\":".repeat(100_000);
        let huge_field = format!(
            "Package: {}\nVersion: 1\nStatus: install ok installed\n",
            "x".repeat(1 << 20)
        );
        let inputs: Vec<Vec<u8>> = vec![
            Vec::new(),
            b"\xff\xfe\x00garbage\x80\x81".to_vec(),
            (0..=255u8).cycle().take(100_000).collect(),
            nested_array.into_bytes(),
            nested_object.into_bytes(),
            huge_field.into_bytes(),
            b"Package: a\nVersion".to_vec(),
            b"{\"packages\": {\"node_modules/a\": {\"version\": 1}}".to_vec(),
            b"{\"lockfileVersion\": 1, \"dependencies\": {\"a\": \"x\"}}".to_vec(),
            vec![b'a'; MAX_INPUT + 1],
        ];
        let ctx = CatalogContext::default();
        for c in catalogers() {
            for input in &inputs {
                let _ = c.parse("x", input, &ctx);
            }
        }
        for input in &inputs {
            let _ = go_binary("x", input);
            let _ = rust_binary("x", input);
            let _ = Manifest::parse(input);
            let _ = parse_properties(input);
        }
        for c in catalogers() {
            let big = vec![b' '; c.max_input() + 1];
            assert!(
                matches!(c.parse("x", &big, &ctx), Err(CatalogError::TooLarge { .. })),
                "{}",
                c.name()
            );
        }
    }

    #[test]
    fn dispatch_by_path() {
        let ctx = CatalogContext::default();
        let r = catalog_file("/lib/apk/db/installed", b"P:musl\nV:1.2.5-r0\n", &ctx);
        assert_eq!(r.len(), 1);
        assert!(matches!(r.first(), Some(("apk", Ok(p))) if p.len() == 1));
        assert!(catalog_file("etc/passwd", b"root:x:0:0", &ctx).is_empty());
        assert!(catalog_binary("x", b"#!/bin/sh").is_ok_and(|p| p.is_empty()));
    }

    #[test]
    fn cataloger_names_are_unique() {
        let names: std::collections::BTreeSet<_> = catalogers().iter().map(|c| c.name()).collect();
        assert_eq!(names.len(), catalogers().len());
    }

    #[test]
    fn clean_path_strips_prefixes() {
        assert_eq!(clean_path("/./var/lib/dpkg/status"), "var/lib/dpkg/status");
        assert_eq!(clean_path("var"), "var");
    }
}
