//! npm: installed `node_modules/**/package.json` and `package-lock.json` (lockfile v1, v2, v3).

use std::collections::BTreeSet;

use serde_json::Value;

use super::{CatalogContext, Cataloger, clean_path, json};
use crate::{CatalogError, Ecosystem, Package, Purl};

/// Installed npm packages: `.../node_modules/<name>/package.json` and
/// `.../node_modules/@<scope>/<name>/package.json`. A project's own `package.json` (not under
/// `node_modules`) and package.json files nested deeper inside a package (`lib/package.json`)
/// are not packages.
#[derive(Debug, Clone, Copy)]
pub struct NpmPackageJson;

/// npm lockfiles: `package-lock.json` outside `node_modules`. v2 and v3 list `packages` keyed by
/// install path (`node_modules/a/node_modules/b`); v1 nests `dependencies`. The root project,
/// workspace links and `file:`/`link:` dependencies are not packages.
#[derive(Debug, Clone, Copy)]
pub struct NpmLockfile;

impl Cataloger for NpmPackageJson {
    fn name(&self) -> &'static str {
        "npm-package-json"
    }

    fn wants(&self, path: &str) -> bool {
        let p = clean_path(path);
        let Some(idx) = p.rfind("node_modules/") else {
            return false;
        };
        if idx != 0 && !p.get(..idx).is_some_and(|s| s.ends_with('/')) {
            return false;
        }
        let rest = p.get(idx + "node_modules/".len()..).unwrap_or_default();
        let Some(dir) = rest.strip_suffix("/package.json") else {
            return false;
        };
        let segs: Vec<&str> = dir.split('/').collect();
        match segs.as_slice() {
            [name] => !name.is_empty() && !name.starts_with(['.', '@']),
            [scope, name] => scope.starts_with('@') && scope.len() > 1 && !name.is_empty(),
            _ => false,
        }
    }

    fn parse(
        &self,
        path: &str,
        content: &[u8],
        _ctx: &CatalogContext,
    ) -> Result<Vec<Package>, CatalogError> {
        let v = json(path, content)?;
        let (Some(name), Some(version)) = (
            v.get("name").and_then(Value::as_str),
            v.get("version").and_then(Value::as_str),
        ) else {
            return Ok(Vec::new());
        };
        Ok(npm_package(name, version, &v, path).into_iter().collect())
    }
}

impl Cataloger for NpmLockfile {
    fn name(&self) -> &'static str {
        "npm-lockfile"
    }

    fn wants(&self, path: &str) -> bool {
        let p = clean_path(path);
        (p == "package-lock.json" || p.ends_with("/package-lock.json"))
            && !p.split('/').any(|s| s == "node_modules")
    }

    fn parse(
        &self,
        path: &str,
        content: &[u8],
        _ctx: &CatalogContext,
    ) -> Result<Vec<Package>, CatalogError> {
        let v = json(path, content)?;
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        let mut push = |name: &str, version: &str, entry: &Value| {
            if seen.insert((name.to_owned(), version.to_owned())) {
                out.extend(npm_package(name, version, entry, path));
            }
        };
        if let Some(packages) = v.get("packages").and_then(Value::as_object) {
            for (key, entry) in packages {
                let Some(idx) = key.rfind("node_modules/") else {
                    continue; // "" is the root project; other keys are workspace sources
                };
                if entry.get("link").and_then(Value::as_bool) == Some(true) {
                    continue;
                }
                let from_path = key.get(idx + "node_modules/".len()..).unwrap_or_default();
                let name = entry
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or(from_path);
                if let Some(version) = entry.get("version").and_then(Value::as_str) {
                    push(name, version, entry);
                }
            }
        } else if let Some(deps) = v.get("dependencies").and_then(Value::as_object) {
            // v1: recursive `dependencies`; an explicit stack (serde_json already bounds depth).
            let mut stack: Vec<&serde_json::Map<String, Value>> = vec![deps];
            while let Some(map) = stack.pop() {
                for (key, entry) in map {
                    if let Some(version) = entry.get("version").and_then(Value::as_str) {
                        // Aliases: "version": "npm:real-name@1.2.3".
                        let (name, version) = match version.strip_prefix("npm:") {
                            Some(real) => match real.rsplit_once('@') {
                                Some((n, ver)) if !n.is_empty() => (n, ver),
                                _ => (key.as_str(), version),
                            },
                            None => (key.as_str(), version),
                        };
                        if !version.starts_with("file:") && !version.starts_with("link:") {
                            push(name, version, entry);
                        }
                    }
                    if let Some(nested) = entry.get("dependencies").and_then(Value::as_object) {
                        stack.push(nested);
                    }
                }
            }
        } else {
            return Err(CatalogError::Format {
                path: path.to_owned(),
                message: "expected a `packages` or `dependencies` object in package-lock.json"
                    .to_owned(),
            });
        }
        Ok(out)
    }
}

/// Builds an npm package; `@scope/name` becomes purl namespace `@scope` (rendered `%40scope`).
fn npm_package(name: &str, version: &str, manifest: &Value, path: &str) -> Option<Package> {
    if name.is_empty() || version.is_empty() {
        return None;
    }
    let (namespace, short) = match name.split_once('/') {
        Some((scope, n)) if scope.starts_with('@') => (Some(scope), n),
        _ => (None, name),
    };
    let purl = Purl::new("npm", namespace, short, Some(version)).ok()?;
    let mut pkg = Package::new(
        Ecosystem::Npm,
        name.to_owned(),
        version.to_owned(),
        purl,
        path,
    );
    match manifest.get("license") {
        Some(Value::String(s)) => pkg.add_license(s),
        Some(Value::Object(o)) => {
            if let Some(t) = o.get("type").and_then(Value::as_str) {
                pkg.add_license(t);
            }
        }
        _ => {}
    }
    if let Some(list) = manifest.get("licenses").and_then(Value::as_array) {
        for l in list {
            match l {
                Value::String(s) => pkg.add_license(s),
                Value::Object(o) => {
                    if let Some(t) = o.get("type").and_then(Value::as_str) {
                        pkg.add_license(t);
                    }
                }
                _ => {}
            }
        }
    }
    Some(pkg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_json_paths() {
        let c = NpmPackageJson;
        assert!(c.wants("app/node_modules/ms/package.json"));
        assert!(c.wants("/node_modules/@types/node/package.json"));
        assert!(c.wants("a/node_modules/debug/node_modules/ms/package.json"));
        assert!(!c.wants("app/package.json"));
        assert!(!c.wants("app/node_modules/ms/lib/package.json"));
        assert!(!c.wants("app/node_modules/@types/package.json"));
        assert!(!c.wants("app/node_modules/.bin/package.json"));
        assert!(!c.wants("app/my_node_modules/ms/package.json"));
        assert!(NpmLockfile.wants("app/package-lock.json"));
        assert!(!NpmLockfile.wants("app/node_modules/x/package-lock.json"));
    }

    #[test]
    fn scoped_and_licenses() -> Result<(), CatalogError> {
        let p = NpmPackageJson.parse(
            "node_modules/@types/node/package.json",
            br#"{"name":"@types/node","version":"22.1.0","licenses":[{"type":"MIT"}],"license":"MIT"}"#,
            &CatalogContext::default(),
        )?;
        assert_eq!(
            p.first().map(|p| p.purl.to_string()).as_deref(),
            Some("pkg:npm/%40types/node@22.1.0")
        );
        assert_eq!(
            p.first().map(|p| p.licenses.clone()),
            Some(vec!["MIT".to_owned()])
        );
        Ok(())
    }

    #[test]
    fn lockfile_v1_aliases_and_nesting() -> Result<(), CatalogError> {
        let lock = br#"{"lockfileVersion":1,"dependencies":{
            "a":{"version":"1.0.0","dependencies":{"b":{"version":"2.0.0"}}},
            "alias":{"version":"npm:real@3.0.0"},
            "local":{"version":"file:../local"}}}"#;
        let p = NpmLockfile.parse("package-lock.json", lock, &CatalogContext::default())?;
        let mut got: Vec<String> = p
            .iter()
            .map(|p| format!("{}@{}", p.name, p.version))
            .collect();
        got.sort();
        assert_eq!(got, ["a@1.0.0", "b@2.0.0", "real@3.0.0"]);
        Ok(())
    }

    #[test]
    fn lockfile_v3_links_and_root() -> Result<(), CatalogError> {
        let lock = br#"{"lockfileVersion":3,"packages":{
            "":{"name":"root","version":"1.0.0"},
            "node_modules/ws":{"resolved":"packages/ws","link":true},
            "packages/ws":{"name":"ws","version":"0.0.1"},
            "node_modules/x":{"version":"1.0.0","license":"ISC"},
            "node_modules/y/node_modules/x":{"version":"1.0.0"},
            "node_modules/@s/z":{"version":"2.0.0"}}}"#;
        let p = NpmLockfile.parse("package-lock.json", lock, &CatalogContext::default())?;
        let got: Vec<String> = p.iter().map(|p| p.purl.to_string()).collect();
        assert_eq!(got, ["pkg:npm/%40s/z@2.0.0", "pkg:npm/x@1.0.0"]);
        assert!(
            NpmLockfile
                .parse("package-lock.json", b"{}", &CatalogContext::default())
                .is_err()
        );
        Ok(())
    }
}
