//! The .NET deps.json cataloger on the deps.json of a real application built by the dotnet SDK:
//! the SARIF Multitool (npm package @microsoft/sarif-multitool-linux, installed by
//! scripts/install-oracles.sh), a single-file app whose `Sarif.Multitool.deps.json` is embedded
//! in the executable's bundle. The Python oracle takes it out of the bundle (bundle header
//! located by its published signature, deps.json offset and size from the header, format
//! version 2 and later) and lists, from the deps.json spec, the `libraries` of type `package`
//! with the key split at its last `/`. The same packages must come out of the executable itself
//! through `catalog_binary` (single-file bundle support).

mod common;

use std::collections::BTreeSet;

use rampart_sbom::catalog::DotnetDeps;
use rampart_sbom::{CatalogContext, Cataloger};
use serde_json::Value;

const ORACLE: &str = r#"
import json, struct, sys
# The single-file bundle signature (dotnet/runtime, HostModel Bundler.BundleSignature).
SIG = bytes([0x8b, 0x12, 0x02, 0xb9, 0x6a, 0x61, 0x20, 0x38, 0x72, 0x7b, 0x93, 0x02, 0x14, 0xd7,
             0xa0, 0x32, 0x13, 0xf5, 0xb9, 0xe6, 0xef, 0xae, 0x33, 0x18, 0xee, 0x3b, 0x2d, 0xce,
             0x24, 0xb3, 0x6a, 0xae])
exe, out_path = sys.argv[1], sys.argv[2]
data = open(exe, "rb").read()
at = data.find(SIG)
assert at > 8, "no bundle signature"
header = struct.unpack_from("<q", data, at - 8)[0]
major, minor, count = struct.unpack_from("<IIi", data, header)
assert major >= 2, major
p = header + 12
n = shift = 0
while True:  # bundle id: 7-bit encoded length, then UTF-8
    b = data[p]; p += 1; n |= (b & 0x7F) << shift; shift += 7
    if b < 0x80:
        break
p += n
deps_off, deps_size = struct.unpack_from("<qq", data, p)
deps = data[deps_off:deps_off + deps_size]
open(out_path, "wb").write(deps)
doc = json.loads(deps)
libs = doc["libraries"]
packages = []
for key, lib in libs.items():
    if lib.get("type") == "package":
        name, _, version = key.rpartition("/")
        packages.append([name, version])
types = sorted({lib.get("type") for lib in libs.values()})
print(json.dumps({"packages": packages, "types": types}))
"#;

#[test]
fn sarif_multitool_deps_json_matches_the_spec_oracle() -> Result<(), Box<dyn std::error::Error>> {
    let exe = common::oracles().join("sarif/Sarif.Multitool");
    let tmp = tempfile::tempdir()?;
    let deps_path = tmp.path().join("Sarif.Multitool.deps.json");
    let out = common::run(
        tmp.path(),
        120,
        "python3",
        &[
            "-c",
            ORACLE,
            exe.to_str().ok_or("path")?,
            deps_path.to_str().ok_or("path")?,
        ],
    );
    let v: Value = serde_json::from_slice(&out.stdout)?;
    let want: BTreeSet<(String, String)> = v
        .get("packages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| {
            Some((
                p.get(0)?.as_str()?.to_owned(),
                p.get(1)?.as_str()?.to_owned(),
            ))
        })
        .collect();
    // Real data with something to filter out: project and reference entries next to packages.
    assert!(want.len() > 50, "{want:?}");
    let types = v.get("types").map(Value::to_string).unwrap_or_default();
    assert!(
        types.contains("project") && types.contains("reference"),
        "{types}"
    );

    let rel = "app/Sarif.Multitool.deps.json";
    assert!(DotnetDeps.wants(rel));
    let pkgs = DotnetDeps.parse(rel, &std::fs::read(&deps_path)?, &CatalogContext::default())?;
    let got: BTreeSet<(String, String)> = pkgs
        .iter()
        .map(|p| (p.name.clone(), p.version.clone()))
        .collect();
    assert_eq!(got.len(), pkgs.len(), "duplicates");
    assert_eq!(got, want);
    for p in &pkgs {
        assert_eq!(
            p.purl.to_string(),
            format!("pkg:nuget/{}@{}", p.name, p.version)
        );
    }

    // The executable itself: catalog_binary finds the bundle and its embedded deps.json.
    let from_exe = rampart_sbom::catalog_binary("app/Sarif.Multitool", &std::fs::read(&exe)?)?;
    let got_exe: BTreeSet<(String, String)> = from_exe
        .iter()
        .map(|p| (p.name.clone(), p.version.clone()))
        .collect();
    assert_eq!(got_exe, want);
    eprintln!(
        "dotnet: {} NuGet packages of the SARIF Multitool agree with the spec oracle",
        got.len()
    );
    Ok(())
}
