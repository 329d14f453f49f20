//! Every cataloger of `rampart-sbom` on arbitrary bytes: the first byte picks the path (and so
//! the cataloger), the rest is the file content. Also the ELF binary catalogers (Go build info,
//! cargo-auditable), the RPM header parser, the Java archive walker (reduced limits), the Debian
//! copyright parser, the purl parser, and the SBOM writers (CycloneDX, SPDX) on what was found.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::io::Cursor;

use rampart_sbom::catalog::parse_rpm_header;
use rampart_sbom::{
    CatalogContext, Distro, JavaLimits, Options, Purl, SbomDocument, Subject, Tool, catalog_binary,
    catalog_file, catalog_java_archive, cyclonedx_json, debian_copyright_licenses, spdx_json,
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
    "var/lib/rpm/rpmdb.sqlite",
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
    let _ = parse_rpm_header(content);
    let _ = debian_copyright_licenses(content);
    let limits = JavaLimits {
        max_entry_bytes: 1 << 16,
        max_nested_bytes: 1 << 20,
        max_total_bytes: 4 << 20,
        ..JavaLimits::default()
    };
    if let Ok(java) = catalog_java_archive("app/x.war", Cursor::new(content), &limits) {
        packages.extend(java.packages);
    }
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
