//! Every cataloger of `rampart-sbom` on arbitrary bytes: the first byte picks the path (and so
//! the cataloger), the rest is the file content. Also the ELF binary catalogers (Go build info,
//! cargo-auditable), the RPM header parser, the Java archive walker (reduced limits), the Debian
//! copyright parser and the purl parser.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::io::Cursor;

use rampart_sbom::catalog::parse_rpm_header;
use rampart_sbom::{
    CatalogContext, Distro, JavaLimits, Purl, catalog_binary, catalog_file, catalog_java_archive,
    debian_copyright_licenses,
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
    let _ = catalog_file(path, content, &ctx);
    let _ = catalog_binary("usr/bin/x", content);
    let _ = parse_rpm_header(content);
    let _ = debian_copyright_licenses(content);
    let limits = JavaLimits {
        max_entry_bytes: 1 << 16,
        max_nested_bytes: 1 << 20,
        max_total_bytes: 4 << 20,
        ..JavaLimits::default()
    };
    let _ = catalog_java_archive("app/x.war", Cursor::new(content), &limits);
    if let Ok(text) = std::str::from_utf8(content) {
        if let Ok(purl) = text.parse::<Purl>() {
            // Round trip: what we print, we parse back to the same purl.
            let again: Purl = purl.to_string().parse().expect("printed purl parses");
            assert_eq!(again.to_string(), purl.to_string());
        }
    }
});
