//! .NET: `*.deps.json`.

use serde_json::Value;

use super::{CatalogContext, Cataloger, clean_path, json};
use crate::{CatalogError, Ecosystem, Package, Purl};

/// NuGet packages a .NET application was built with. Path: `*.deps.json`. Each `libraries` key
/// is `Name/Version`; only entries of `"type": "package"` are NuGet packages (`project` is the
/// application itself or a project reference, `reference` a plain assembly).
#[derive(Debug, Clone, Copy)]
pub struct DotnetDeps;

impl Cataloger for DotnetDeps {
    fn name(&self) -> &'static str {
        "dotnet-deps"
    }

    fn wants(&self, path: &str) -> bool {
        clean_path(path)
            .rsplit('/')
            .next()
            .is_some_and(|f| f.len() > ".deps.json".len() && f.ends_with(".deps.json"))
    }

    fn parse(
        &self,
        path: &str,
        content: &[u8],
        _ctx: &CatalogContext,
    ) -> Result<Vec<Package>, CatalogError> {
        let v = json(path, content)?;
        let Some(libraries) = v.get("libraries").and_then(Value::as_object) else {
            return Err(CatalogError::Format {
                path: path.to_owned(),
                message: "expected a `libraries` object in deps.json".to_owned(),
            });
        };
        Ok(libraries
            .iter()
            .filter(|(_, lib)| lib.get("type").and_then(Value::as_str) == Some("package"))
            .filter_map(|(key, _)| {
                let (name, version) = key.rsplit_once('/')?;
                if name.is_empty() || version.is_empty() {
                    return None;
                }
                let purl = Purl::new("nuget", None, name, Some(version)).ok()?;
                Some(Package::new(
                    Ecosystem::NuGet,
                    name.to_owned(),
                    version.to_owned(),
                    purl,
                    path,
                ))
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packages_only() -> Result<(), CatalogError> {
        let deps = br#"{"runtimeTarget":{"name":".NETCoreApp,Version=v8.0"},
          "targets":{".NETCoreApp,Version=v8.0":{"app/1.0.0":{"dependencies":{"Newtonsoft.Json":"13.0.3"}},
            "Newtonsoft.Json/13.0.3":{"runtime":{"lib/net6.0/Newtonsoft.Json.dll":{}}}}},
          "libraries":{"app/1.0.0":{"type":"project","serviceable":false,"sha512":""},
            "Newtonsoft.Json/13.0.3":{"type":"package","serviceable":true,"sha512":"sha512-x","path":"newtonsoft.json/13.0.3"},
            "System.Runtime/4.3.0":{"type":"reference"}}}"#;
        let p = DotnetDeps.parse("app/app.deps.json", deps, &CatalogContext::default())?;
        let got: Vec<String> = p.iter().map(|p| p.purl.to_string()).collect();
        assert_eq!(got, ["pkg:nuget/Newtonsoft.Json@13.0.3"]);
        assert!(DotnetDeps.wants("/app/app.deps.json"));
        assert!(!DotnetDeps.wants("/app/.deps.json"));
        assert!(!DotnetDeps.wants("/app/app.runtimeconfig.json"));
        Ok(())
    }
}
