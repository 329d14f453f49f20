//! Every cataloger of `rampart-sbom` on arbitrary bytes: the first byte picks the path (and so
//! the cataloger), the rest is the file content. Also the ELF binary catalogers (Go build info,
//! cargo-auditable) and the purl parser.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_sbom::{CatalogContext, Distro, Purl, catalog_binary, catalog_file};

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
    let _ = catalog_file(path, content, &ctx);
    let _ = catalog_binary("usr/bin/x", content);
    if let Ok(text) = std::str::from_utf8(content) {
        if let Ok(purl) = text.parse::<Purl>() {
            // Round trip: what we print, we parse back to the same purl.
            let again: Purl = purl.to_string().parse().expect("printed purl parses");
            assert_eq!(again.to_string(), purl.to_string());
        }
    }
});
