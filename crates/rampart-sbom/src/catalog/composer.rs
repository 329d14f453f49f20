//! PHP composer: `vendor/composer/installed.json`.

use serde_json::Value;

use super::{CatalogContext, Cataloger, clean_path, json};
use crate::{CatalogError, Ecosystem, Package, Purl};

/// Installed composer packages. Path: `.../vendor/composer/installed.json`, in composer 1's form
/// (a top-level array) and composer 2's (`{"packages": [...]}`). Name `vendor/project` becomes
/// purl namespace `vendor`, name `project` (both lowercased, as the purl type requires).
#[derive(Debug, Clone, Copy)]
pub struct Composer;

impl Cataloger for Composer {
    fn name(&self) -> &'static str {
        "composer"
    }

    fn wants(&self, path: &str) -> bool {
        let p = clean_path(path);
        p == "vendor/composer/installed.json" || p.ends_with("/vendor/composer/installed.json")
    }

    fn parse(
        &self,
        path: &str,
        content: &[u8],
        _ctx: &CatalogContext,
    ) -> Result<Vec<Package>, CatalogError> {
        let v = json(path, content)?;
        let list = match &v {
            Value::Array(a) => a,
            Value::Object(o) => match o.get("packages") {
                Some(Value::Array(a)) => a,
                _ => return Err(format_error(path)),
            },
            _ => return Err(format_error(path)),
        };
        Ok(list.iter().filter_map(|e| package(e, path)).collect())
    }
}

fn format_error(path: &str) -> CatalogError {
    CatalogError::Format {
        path: path.to_owned(),
        message: "expected an array or an object with a `packages` array".to_owned(),
    }
}

fn package(entry: &Value, path: &str) -> Option<Package> {
    let name = entry.get("name")?.as_str().filter(|n| !n.is_empty())?;
    let version = entry.get("version")?.as_str().filter(|v| !v.is_empty())?;
    let (ns, short) = match name.split_once('/') {
        Some((ns, n)) => (Some(ns), n),
        None => (None, name),
    };
    let purl = Purl::new("composer", ns, short, Some(version)).ok()?;
    let mut pkg = Package::new(
        Ecosystem::Composer,
        name.to_owned(),
        version.to_owned(),
        purl,
        path,
    );
    match entry.get("license") {
        Some(Value::Array(ls)) => ls
            .iter()
            .filter_map(Value::as_str)
            .for_each(|l| pkg.add_license(l)),
        Some(Value::String(l)) => pkg.add_license(l),
        _ => {}
    }
    Some(pkg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn purls(content: &[u8]) -> Vec<String> {
        Composer
            .parse(
                "app/vendor/composer/installed.json",
                content,
                &CatalogContext::default(),
            )
            .map(|p| {
                p.iter()
                    .map(|p| format!("{} {:?}", p.purl, p.licenses))
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn v1_and_v2_forms() {
        let v1 =
            br#"[{"name":"Monolog/Monolog","version":"1.27.1","license":["MIT"]},{"name":"x"}]"#;
        assert_eq!(
            purls(v1),
            [r#"pkg:composer/monolog/monolog@1.27.1 ["MIT"]"#]
        );
        let v2 = br#"{"packages":[{"name":"psr/log","version":"3.0.2","license":["MIT"]},
            {"name":"symfony/polyfill-mbstring","version":"v1.31.0","license":"MIT"}],"dev":true}"#;
        assert_eq!(
            purls(v2),
            [
                r#"pkg:composer/psr/log@3.0.2 ["MIT"]"#,
                r#"pkg:composer/symfony/polyfill-mbstring@v1.31.0 ["MIT"]"#
            ]
        );
        assert!(Composer.wants("/var/www/vendor/composer/installed.json"));
        assert!(!Composer.wants("var/www/vendor/composer/installed.php"));
        assert!(
            Composer
                .parse("x", b"{\"packages\": 1}", &CatalogContext::default())
                .is_err()
        );
    }
}
