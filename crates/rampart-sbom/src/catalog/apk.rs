//! apk: `lib/apk/db/installed`.

use super::{CatalogContext, Cataloger, clean_path, text};
use crate::fields::{Paragraph, paragraphs};
use crate::{CatalogError, Ecosystem, Package, SourcePackage};

/// Alpine packages from the apk database. Path: `lib/apk/db/installed`. Records are `K:value`
/// lines separated by blank lines: `P` name, `V` version, `A` arch, `L` license, `o` origin
/// (source package).
#[derive(Debug, Clone, Copy)]
pub struct Apk;

impl Cataloger for Apk {
    fn name(&self) -> &'static str {
        "apk"
    }

    fn wants(&self, path: &str) -> bool {
        clean_path(path) == "lib/apk/db/installed"
    }

    fn parse(
        &self,
        path: &str,
        content: &[u8],
        ctx: &CatalogContext,
    ) -> Result<Vec<Package>, CatalogError> {
        let text = text(path, content)?;
        Ok(paragraphs(&text)
            .iter()
            .filter_map(|p| package(p, path, ctx))
            .collect())
    }
}

fn package(para: &Paragraph, path: &str, ctx: &CatalogContext) -> Option<Package> {
    // apk keys are case-sensitive single letters (`o` origin vs `O`...), so match exactly.
    let get = |k: &str| {
        para.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty() && !v.contains('\n'))
    };
    let name = get("P")?;
    let version = get("V")?;
    let arch = get("A");
    let purl = super::os_purl("apk", "alpine", name, version, arch, ctx)?;
    let mut pkg = Package::new(
        Ecosystem::Apk,
        name.to_owned(),
        version.to_owned(),
        purl,
        path,
    );
    pkg.arch = arch.map(str::to_owned);
    if let Some(l) = get("L") {
        pkg.add_license(l);
    }
    pkg.source_package = Some(SourcePackage {
        name: get("o").unwrap_or(name).to_owned(),
        version: version.to_owned(),
    });
    Some(pkg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Distro;
    use proptest::prelude::*;

    // Shape of a real Alpine 3.20 database record (fields as apk-tools writes them).
    const SAMPLE: &str = "C:Q1abc=\nP:libcrypto3\nV:3.3.2-r0\nA:x86_64\nS:1769400\nI:4431872\n\
T:Crypto library from openssl\nU:https://www.openssl.org/\nL:Apache-2.0\no:openssl\nm:Ariadne\n\
t:1725354780\nc:abc\nD:so:libc.musl-x86_64.so.1\np:so:libcrypto.so.3=3\nF:lib\nR:libcrypto.so.3\n\
a:0:0:755\nZ:Q1x=\n\nC:Q1y=\nP:musl\nV:1.2.5-r0\nA:x86_64\nL:MIT\no:musl\n";

    #[test]
    fn parses_records() -> Result<(), CatalogError> {
        let ctx = CatalogContext {
            distro: Distro::from_os_release(b"ID=alpine\nVERSION_ID=3.20.3\n"),
        };
        let pkgs = Apk.parse("lib/apk/db/installed", SAMPLE.as_bytes(), &ctx)?;
        let got: Vec<_> = pkgs
            .iter()
            .map(|p| {
                (
                    p.purl.to_string(),
                    p.licenses.clone(),
                    p.source_package.as_ref().map(|s| s.name.clone()),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "pkg:apk/alpine/libcrypto3@3.3.2-r0?arch=x86_64&distro=alpine-3.20.3"
                        .to_owned(),
                    vec!["Apache-2.0".to_owned()],
                    Some("openssl".to_owned())
                ),
                (
                    "pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64&distro=alpine-3.20.3".to_owned(),
                    vec!["MIT".to_owned()],
                    Some("musl".to_owned())
                ),
            ]
        );
        assert!(Apk.wants("/lib/apk/db/installed"));
        Ok(())
    }

    proptest! {
        #[test]
        fn never_panics(lines in proptest::collection::vec("([PVALoa]:)?\\PC{0,16}", 0..40)) {
            let _ = Apk.parse("lib/apk/db/installed", lines.join("\n").as_bytes(), &CatalogContext::default());
        }
    }
}
