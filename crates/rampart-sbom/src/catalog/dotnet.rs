//! .NET: `*.deps.json`, also inside single-file application bundles.

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

/// The marker the .NET SDK's bundler writes into a single-file app host, right after the 8-byte
/// offset of the bundle header (dotnet/runtime, `HostModel/Bundle/Bundler.cs`, `BundleSignature`).
pub const DOTNET_BUNDLE_SIGNATURE: [u8; 32] = [
    0x8b, 0x12, 0x02, 0xb9, 0x6a, 0x61, 0x20, 0x38, 0x72, 0x7b, 0x93, 0x02, 0x14, 0xd7, 0xa0, 0x32,
    0x13, 0xf5, 0xb9, 0xe6, 0xef, 0xae, 0x33, 0x18, 0xee, 0x3b, 0x2d, 0xce, 0x24, 0xb3, 0x6a, 0xae,
];

/// NuGet packages of a .NET single-file application (`dotnet publish -p:PublishSingleFile=true`),
/// whose `<app>.deps.json` is embedded in the executable: the bundle header is found through the
/// signature the bundler writes (an app host whose header offset is still 0 is not a bundle),
/// and, from bundle format version 2 (.NET 5) on, the header gives the deps.json's offset and
/// size. A file that is not a bundle yields no packages; a bundle whose header or deps.json is
/// out of bounds is an error. Written by hand: the format is small and no crate reads it. Like
/// the other binary catalogers, the input may be larger than [`crate::MAX_INPUT`] (the work is
/// one linear scan); the embedded deps.json may not.
pub fn dotnet_bundle(path: &str, content: &[u8]) -> Result<Vec<Package>, CatalogError> {
    let bad = |message: String| CatalogError::Format {
        path: path.to_owned(),
        message,
    };
    let Some(sig_at) = content
        .windows(DOTNET_BUNDLE_SIGNATURE.len())
        .position(|w| w == DOTNET_BUNDLE_SIGNATURE)
    else {
        return Ok(Vec::new());
    };
    let le64 = |at: usize| {
        content
            .get(at..at.checked_add(8)?)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map(u64::from_le_bytes)
    };
    let le32 = |at: usize| {
        content
            .get(at..at.checked_add(4)?)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map(u32::from_le_bytes)
    };
    let header = match sig_at.checked_sub(8).and_then(le64) {
        None | Some(0) => return Ok(Vec::new()),
        Some(h) => usize::try_from(h)
            .ok()
            .filter(|&h| h < content.len())
            .ok_or_else(|| {
                bad(format!(
                    "bundle header offset {h} is past the end of the file"
                ))
            })?,
    };
    let major = le32(header).ok_or_else(|| bad("bundle header truncated".to_owned()))?;
    if major < 2 {
        return Err(bad(format!(
            "bundle format version {major} keeps deps.json among its files; expected version 2 or later"
        )));
    }
    // major, minor, file count, then the bundle id: a 7-bit encoded length and UTF-8 bytes.
    let mut at = header + 12;
    let mut id_len: usize = 0;
    for shift in [0u32, 7, 14, 21, 28] {
        let b = *content
            .get(at)
            .ok_or_else(|| bad("bundle header truncated".to_owned()))?;
        at += 1;
        id_len |= usize::from(b & 0x7f) << shift;
        if b < 0x80 {
            break;
        }
    }
    at = at
        .checked_add(id_len)
        .filter(|&a| a <= content.len())
        .ok_or_else(|| {
            bad(format!(
                "bundle id of {id_len} bytes is past the end of the file"
            ))
        })?;
    let (Some(deps_offset), Some(deps_size)) = (le64(at), le64(at + 8)) else {
        return Err(bad("bundle header truncated".to_owned()));
    };
    if deps_size == 0 {
        return Ok(Vec::new());
    }
    if deps_size > crate::MAX_INPUT as u64 {
        return Err(CatalogError::TooLarge {
            path: path.to_owned(),
            size: usize::try_from(deps_size).unwrap_or(usize::MAX),
            limit: crate::MAX_INPUT,
        });
    }
    let deps = usize::try_from(deps_offset)
        .ok()
        .and_then(|o| content.get(o..o.checked_add(deps_size as usize)?))
        .ok_or_else(|| {
            bad(format!(
                "embedded deps.json ({deps_size} bytes at {deps_offset}) is past the end of the file"
            ))
        })?;
    DotnetDeps.parse(path, deps, &CatalogContext::default())
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

#[cfg(test)]
mod bundle_tests {
    use super::*;
    use proptest::prelude::*;

    /// A minimal bundle: host bytes with the marker, then deps.json, then the header.
    fn bundle(deps: &[u8], major: u32) -> Vec<u8> {
        let mut out = b"\x7fELF host".to_vec();
        let marker_at = out.len();
        out.extend([0u8; 8]);
        out.extend(DOTNET_BUNDLE_SIGNATURE);
        let deps_at = out.len() as u64;
        out.extend(deps);
        let header = out.len() as u64;
        out.extend(major.to_le_bytes());
        out.extend(0u32.to_le_bytes());
        out.extend(1i32.to_le_bytes());
        out.push(3);
        out.extend(b"abc");
        out.extend(deps_at.to_le_bytes());
        out.extend((deps.len() as u64).to_le_bytes());
        out.extend([0u8; 24]);
        out.splice(marker_at..marker_at + 8, header.to_le_bytes());
        out
    }

    #[test]
    fn reads_embedded_deps_json() -> Result<(), CatalogError> {
        let deps =
            br#"{"libraries":{"app/1.0.0":{"type":"project"},"Serilog/3.1.1":{"type":"package"}}}"#;
        let p = dotnet_bundle("app/App", &bundle(deps, 6))?;
        assert_eq!(p.len(), 1);
        assert_eq!(
            p.first().map(|p| p.purl.to_string()).as_deref(),
            Some("pkg:nuget/Serilog@3.1.1")
        );
        // Not a bundle, an unpatched app host, and an old format.
        assert!(dotnet_bundle("x", b"\x7fELF plain").is_ok_and(|p| p.is_empty()));
        let mut unpatched = b"host".to_vec();
        unpatched.extend([0u8; 8]);
        unpatched.extend(DOTNET_BUNDLE_SIGNATURE);
        assert!(dotnet_bundle("x", &unpatched).is_ok_and(|p| p.is_empty()));
        assert!(dotnet_bundle("x", &bundle(deps, 1)).is_err());
        // Every truncation of a bundle is an error or nothing, never a panic.
        let b = bundle(deps, 6);
        for n in 0..b.len() {
            let _ = dotnet_bundle("x", b.get(..n).unwrap_or_default());
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn never_panics(flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8)) {
            let mut b = bundle(br#"{"libraries":{"A/1":{"type":"package"}}}"#, 6);
            let n = b.len();
            for (at, v) in flips {
                if let Some(x) = b.get_mut(at % n) {
                    *x = v;
                }
            }
            let _ = dotnet_bundle("x", &b);
        }
    }
}
