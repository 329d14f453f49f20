//! Every cataloger of `rampart-sbom` on arbitrary bytes: the first byte picks the path (and so
//! the cataloger), the rest is the file content. Also the ELF binary catalogers (Go build info,
//! cargo-auditable), the purl parser, and the SBOM writers (CycloneDX, SPDX) on what was found.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_sbom::{
    CatalogContext, Distro, Options, Purl, SbomDocument, Subject, Tool, catalog_binary,
    catalog_file, cyclonedx_json, spdx_json,
};

const PATHS: &[&str] = &[
    "var/lib/dpkg/status",
    "var/lib/dpkg/status.d/base",
    "lib/apk/db/installed",
    "usr/lib/python3/site-packages/x-1.0.dist-info/METADATA",
    "usr/lib/python3/site-packages/x.egg-info/PKG-INFO",
    "app/node_modules/@scope/x/package.json",
    "app/package-lock.json",
    "app/vendor/composer/installed.json",
    "app/x.deps.json",
    "usr/lib/ruby/gems/3.1.0/specifications/x-1.0.gemspec",
    "app/lib/x.jar!/META-INF/maven/g/a/pom.properties",
    "etc/os-release",
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, content)) = data.split_first() else {
        return;
    };
    let path = PATHS[usize::from(pick) % PATHS.len()];
    let ctx = CatalogContext {
        distro: Distro::from_os_release(content),
    };
    let mut packages: Vec<_> = catalog_file(path, content, &ctx)
        .into_iter()
        .filter_map(|(_, r)| r.ok())
        .flatten()
        .collect();
    packages.extend(catalog_binary("usr/bin/x", content).unwrap_or_default());
    let doc = SbomDocument {
        subject: Subject {
            name: String::from_utf8_lossy(content.get(..64.min(content.len())).unwrap_or_default())
                .into_owned(),
            ..Subject::default()
        },
        distro: ctx.distro.clone(),
        packages,
        tool: Tool {
            name: "rampart".to_owned(),
            version: "0".to_owned(),
        },
    };
    let opts = Options::reproducible(None);
    for out in [cyclonedx_json(&doc, &opts), spdx_json(&doc, &opts)] {
        serde_json::from_str::<serde_json::Value>(&out).expect("an SBOM is JSON");
    }
    if let Ok(text) = std::str::from_utf8(content) {
        if let Ok(purl) = text.parse::<Purl>() {
            // Round trip: what we print, we parse back to the same purl.
            let again: Purl = purl.to_string().parse().expect("printed purl parses");
            assert_eq!(again.to_string(), purl.to_string());
        }
    }
});
