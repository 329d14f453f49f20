//! dpkg: `var/lib/dpkg/status` and distroless `var/lib/dpkg/status.d/*`.

use super::{CatalogContext, Cataloger, clean_path, text};
use crate::fields::{Paragraph, field, paragraphs};
use crate::{CatalogError, Ecosystem, Package, SourcePackage};

/// Debian packages from the dpkg database. Paths: `var/lib/dpkg/status`,
/// `var/lib/dpkg/status.d/<name>` (distroless; `*.md5sums` files excluded). In `status`, only
/// paragraphs whose `Status` says `installed` count; in `status.d` a missing `Status` means
/// installed (distroless writes none).
#[derive(Debug, Clone, Copy)]
pub struct Dpkg;

impl Cataloger for Dpkg {
    fn name(&self) -> &'static str {
        "dpkg"
    }

    fn wants(&self, path: &str) -> bool {
        let p = clean_path(path);
        p == "var/lib/dpkg/status"
            || p.strip_prefix("var/lib/dpkg/status.d/")
                .is_some_and(|f| !f.is_empty() && !f.contains('/') && !f.ends_with(".md5sums"))
    }

    fn parse(
        &self,
        path: &str,
        content: &[u8],
        ctx: &CatalogContext,
    ) -> Result<Vec<Package>, CatalogError> {
        let text = text(path, content)?;
        let distroless = clean_path(path).starts_with("var/lib/dpkg/status.d/");
        Ok(paragraphs(&text)
            .iter()
            .filter_map(|p| package(p, path, distroless, ctx))
            .collect())
    }
}

fn is_installed(para: &Paragraph, distroless: bool) -> bool {
    match field(para, "Status") {
        // "want flag status", e.g. "install ok installed", "deinstall ok config-files".
        Some(s) => s.split_whitespace().nth(2) == Some("installed"),
        None => distroless,
    }
}

/// `Source: name` or `Source: name (version)`.
pub(crate) fn parse_source(source: &str) -> (&str, Option<&str>) {
    match source.split_once('(') {
        Some((name, rest)) => (
            name.trim(),
            rest.split_once(')')
                .map(|(v, _)| v.trim())
                .filter(|v| !v.is_empty()),
        ),
        None => (source.trim(), None),
    }
}

fn package(
    para: &Paragraph,
    path: &str,
    distroless: bool,
    ctx: &CatalogContext,
) -> Option<Package> {
    if !is_installed(para, distroless) {
        return None;
    }
    let name = field(para, "Package").filter(|n| !n.is_empty() && !n.contains('\n'))?;
    let version = field(para, "Version").filter(|v| !v.is_empty() && !v.contains('\n'))?;
    let arch = field(para, "Architecture").filter(|a| !a.is_empty() && !a.contains('\n'));
    let source = field(para, "Source").map(parse_source);
    let purl = super::os_purl("deb", "debian", name, version, arch, ctx)?;
    let mut pkg = Package::new(
        Ecosystem::Deb,
        name.to_owned(),
        version.to_owned(),
        purl,
        path,
    );
    pkg.arch = arch.map(str::to_owned);
    pkg.source_package = Some(match source {
        Some((src, v)) if !src.is_empty() => SourcePackage {
            name: src.to_owned(),
            version: v.unwrap_or(version).to_owned(),
        },
        _ => SourcePackage {
            name: name.to_owned(),
            version: version.to_owned(),
        },
    });
    Some(pkg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Distro;
    use proptest::prelude::*;

    const SAMPLE: &str = "Package: libssl3\nStatus: install ok installed\nArchitecture: amd64\n\
Source: openssl (3.0.15-1~deb12u1)\nVersion: 3.0.15-1~deb12u1+b1\nDescription: x\n more\n .\n\n\
Package: gone\nStatus: deinstall ok config-files\nVersion: 1\n\n\
Package: zlib1g\nStatus: install ok installed\nArchitecture: amd64\nSource: zlib\nVersion: 1:1.2.13.dfsg-1\n";

    #[test]
    fn installed_only_with_source() -> Result<(), CatalogError> {
        let ctx = CatalogContext {
            distro: Distro::from_os_release(b"ID=debian\nVERSION_ID=12\n"),
        };
        let pkgs = Dpkg.parse("var/lib/dpkg/status", SAMPLE.as_bytes(), &ctx)?;
        let got: Vec<_> = pkgs
            .iter()
            .map(|p| {
                let s = p.source_package.clone().unwrap_or_else(|| SourcePackage {
                    name: String::new(),
                    version: String::new(),
                });
                (p.name.as_str(), s.name, s.version, p.purl.to_string())
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "libssl3",
                    "openssl".to_owned(),
                    "3.0.15-1~deb12u1".to_owned(),
                    "pkg:deb/debian/libssl3@3.0.15-1~deb12u1%2Bb1?arch=amd64&distro=debian-12"
                        .to_owned()
                ),
                (
                    "zlib1g",
                    "zlib".to_owned(),
                    "1:1.2.13.dfsg-1".to_owned(),
                    "pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1?arch=amd64&distro=debian-12".to_owned()
                ),
            ]
        );
        Ok(())
    }

    #[test]
    fn distroless_status_d() -> Result<(), CatalogError> {
        assert!(Dpkg.wants("/var/lib/dpkg/status.d/libc6"));
        assert!(!Dpkg.wants("var/lib/dpkg/status.d/libc6.md5sums"));
        assert!(!Dpkg.wants("var/lib/dpkg/status-old"));
        let pkgs = Dpkg.parse(
            "var/lib/dpkg/status.d/base-files",
            b"Package: base-files\nVersion: 12.4+deb12u8\nArchitecture: amd64\n",
            &CatalogContext::default(),
        )?;
        assert_eq!(pkgs.len(), 1);
        Ok(())
    }

    #[test]
    fn source_field_forms() {
        assert_eq!(parse_source("openssl (3.0)"), ("openssl", Some("3.0")));
        assert_eq!(parse_source("zlib"), ("zlib", None));
        assert_eq!(parse_source("x ("), ("x", None));
        assert_eq!(parse_source("x ()"), ("x", None));
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC*") {
            let _ = Dpkg.parse("var/lib/dpkg/status", s.as_bytes(), &CatalogContext::default());
        }

        #[test]
        fn never_panics_on_fieldish(lines in proptest::collection::vec(
            "(Package|Version|Status|Source|Architecture|[ \t]|)(:)?[ a-z0-9()~+.:-]{0,12}", 0..40)) {
            let text = lines.join("\n");
            let _ = Dpkg.parse("var/lib/dpkg/status.d/x", text.as_bytes(), &CatalogContext::default());
        }
    }
}
