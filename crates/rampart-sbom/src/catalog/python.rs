//! Python core metadata: `*.dist-info/METADATA`, `*.egg-info/PKG-INFO` and legacy
//! single-file `*.egg-info`.

use super::{CatalogContext, Cataloger, clean_path, text};
use crate::fields::{email_headers, field, fields};
use crate::{CatalogError, Ecosystem, Package, Purl};

/// Installed Python distributions. Paths: `<dir>/<dist>.dist-info/METADATA`,
/// `<dir>/<dist>.egg-info/PKG-INFO`, and `<dir>/<dist>.egg-info` as a file (distutils).
/// Licenses: `License-Expression` (core metadata 2.4) if present; else `License` when it is a
/// short single line and not `UNKNOWN`; else the names of `Classifier: License :: ...` entries.
#[derive(Debug, Clone, Copy)]
pub struct PythonMetadata;

impl Cataloger for PythonMetadata {
    fn name(&self) -> &'static str {
        "python"
    }

    fn wants(&self, path: &str) -> bool {
        let p = clean_path(path);
        p.ends_with(".dist-info/METADATA")
            || p.ends_with(".egg-info/PKG-INFO")
            || p.ends_with(".egg-info")
    }

    fn parse(
        &self,
        path: &str,
        content: &[u8],
        _ctx: &CatalogContext,
    ) -> Result<Vec<Package>, CatalogError> {
        let text = text(path, content)?;
        let headers = email_headers(&text);
        let single = |v: &str| !v.is_empty() && !v.contains('\n');
        let (Some(name), Some(version)) = (
            field(&headers, "Name").filter(|v| single(v)),
            field(&headers, "Version").filter(|v| single(v)),
        ) else {
            return Ok(Vec::new());
        };
        let Ok(purl) = Purl::new("pypi", None, name, Some(version)) else {
            return Ok(Vec::new());
        };
        let mut pkg = Package::new(
            Ecosystem::PyPI,
            name.to_owned(),
            version.to_owned(),
            purl,
            path,
        );
        for l in licenses(&headers) {
            pkg.add_license(&l);
        }
        Ok(vec![pkg])
    }
}

fn licenses(headers: &[(String, String)]) -> Vec<String> {
    if let Some(expr) = field(headers, "License-Expression").filter(|v| !v.trim().is_empty()) {
        return vec![expr.to_owned()];
    }
    if let Some(l) = field(headers, "License").map(str::trim).filter(|l| {
        !l.is_empty() && !l.contains('\n') && l.len() <= 200 && !l.eq_ignore_ascii_case("UNKNOWN")
    }) {
        return vec![l.to_owned()];
    }
    fields(headers, "Classifier")
        .filter_map(|c| {
            let mut parts = c.split("::").map(str::trim);
            (parts.next() == Some("License"))
                .then(|| parts.last())
                .flatten()
                .filter(|last| !last.is_empty() && *last != "OSI Approved")
                .map(str::to_owned)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(s: &str) -> Vec<Package> {
        PythonMetadata
            .parse(
                "x.dist-info/METADATA",
                s.as_bytes(),
                &CatalogContext::default(),
            )
            .unwrap_or_default()
    }

    #[test]
    fn license_precedence() {
        let p = parse(
            "Metadata-Version: 2.4\nName: Foo_Bar\nVersion: 1.0\nLicense-Expression: MIT OR Apache-2.0\nLicense: ignored\n\nbody\n",
        );
        assert_eq!(
            p.first().map(|p| p.purl.to_string()).as_deref(),
            Some("pkg:pypi/foo-bar@1.0")
        );
        assert_eq!(
            p.first().map(|p| p.licenses.clone()),
            Some(vec!["MIT OR Apache-2.0".to_owned()])
        );
        let p = parse(
            "Name: a\nVersion: 1\nLicense: UNKNOWN\nClassifier: License :: OSI Approved :: MIT License\nClassifier: Programming Language :: Python\n",
        );
        assert_eq!(
            p.first().map(|p| p.licenses.clone()),
            Some(vec!["MIT License".to_owned()])
        );
        let p = parse("Name: a\nVersion: 1\nLicense: Copyright x\n        all rights\n");
        assert_eq!(p.first().map(|p| p.licenses.len()), Some(0));
        assert!(parse("Name: a\n\nVersion: 1\n").is_empty());
    }

    #[test]
    fn path_patterns() {
        assert!(
            PythonMetadata.wants("/usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA")
        );
        assert!(PythonMetadata.wants("usr/lib/python3/dist-packages/foo.egg-info/PKG-INFO"));
        assert!(PythonMetadata.wants("usr/lib/python3/dist-packages/foo-1.0.egg-info"));
        assert!(!PythonMetadata.wants("usr/lib/python3/dist-packages/six-1.16.0.dist-info/RECORD"));
    }

    proptest! {
        #[test]
        fn never_panics(lines in proptest::collection::vec(
            "(Name|Version|License|License-Expression|Classifier|[ \t]|)(: )?\\PC{0,20}", 0..30)) {
            let _ = parse(&lines.join("\n"));
        }
    }
}
