//! `read_sbom` on documents written here: the purl forms each producer uses give the package
//! rampart's own cataloger gives for the same software (the catalogers are the oracle), and
//! hostile documents (truncated, wrong types, deep nesting, bad and unknown purls, duplicates,
//! other encodings, limits) give named errors or skipped entries, never a panic.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use proptest::prelude::*;
use serde_json::{Value, json};

use rampart_sbom::catalog::{GoModule, JavaPomProperties, go_module_package, rust_dep_v0_packages};
use rampart_sbom::{
    CatalogContext, Cataloger, Distro, Ecosystem, MAX_SBOM_COMPONENTS, MAX_SBOM_INPUT, Options,
    Package, ReadError, SbomDocument, SbomFormat, SbomInput, SkipReason, Subject, Tool,
    catalog_file, cyclonedx_json, looks_like_sbom, read_sbom, spdx_json,
};

fn cdx(components: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "components": components,
    }))
    .unwrap()
}

fn read(bytes: &[u8]) -> SbomInput {
    read_sbom(bytes).unwrap_or_else(|e| panic!("{e}"))
}

/// The one package a cataloger finds in `content` at `path`, on `distro`.
fn cataloged(path: &str, content: &str, distro: Option<&str>) -> Package {
    let ctx = CatalogContext {
        distro: distro.and_then(|d| Distro::from_os_release(d.as_bytes())),
    };
    let mut results = catalog_file(path, content.as_bytes(), &ctx);
    // pom.properties are read inside Java archives, by this cataloger.
    if JavaPomProperties.wants(path) {
        results.push((
            "pom",
            JavaPomProperties.parse(path, content.as_bytes(), &ctx),
        ));
    }
    let found: Vec<Package> = results
        .into_iter()
        .flat_map(|(name, r)| r.unwrap_or_else(|e| panic!("{name}: {e}")))
        .collect();
    assert_eq!(found.len(), 1, "{path}: {found:?}");
    found.into_iter().next().unwrap()
}

/// A package without what an SBOM entry and a cataloger record differently (where it was
/// found, licenses).
fn identity(p: &Package) -> Package {
    let mut p = p.clone();
    p.locations.clear();
    p.licenses.clear();
    p
}

const DEBIAN: &str = "ID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n";
const ALPINE: &str = "ID=alpine\nVERSION_ID=3.20.3\n";

/// Each case: the component(s) as producers write them, the OS component, and what the
/// cataloger gives for the same package.
fn cases() -> Vec<(&'static str, Value, Package)> {
    let status = "var/lib/dpkg/status";
    let libcap = cataloged(
        status,
        "Package: libcap2-bin\nStatus: install ok installed\nArchitecture: amd64\n\
         Source: libcap2 (1:2.66-4+deb12u2)\nVersion: 1:2.66-4+deb12u2+b2\n",
        Some(DEBIAN),
    );
    let zlib = cataloged(
        status,
        "Package: zlib1g\nStatus: install ok installed\nArchitecture: amd64\nSource: zlib\n\
         Version: 1:1.2.13.dfsg-1\n",
        Some(DEBIAN),
    );
    let busybox = cataloged(
        "lib/apk/db/installed",
        "P:ssl_client\nV:1.36.1-r29\nA:x86_64\no:busybox\n",
        Some(ALPINE),
    );
    let debian_os = json!({"type": "operating-system", "name": "debian", "version": "12"});
    vec![
        (
            "deb, Syft: epoch percent-encoded in the version, upstream qualifier with version",
            json!([debian_os, {
                "type": "library", "name": "libcap2-bin", "version": "1:2.66-4+deb12u2+b2",
                "purl": "pkg:deb/debian/libcap2-bin@1%3A2.66-4%2Bdeb12u2%2Bb2?arch=amd64&distro=debian-12&upstream=libcap2%401%3A2.66-4%2Bdeb12u2",
            }]),
            libcap.clone(),
        ),
        (
            "deb, Trivy: epoch qualifier, point release, source in properties",
            json!([{"type": "operating-system", "name": "debian", "version": "12.11"}, {
                "type": "library", "name": "libcap2-bin", "version": "1:2.66-4+deb12u2+b2",
                "purl": "pkg:deb/debian/libcap2-bin@2.66-4%2Bdeb12u2%2Bb2?arch=amd64&distro=debian-12.11&epoch=1",
                "properties": [
                    {"name": "aquasecurity:trivy:SrcName", "value": "libcap2"},
                    {"name": "aquasecurity:trivy:SrcEpoch", "value": "1"},
                    {"name": "aquasecurity:trivy:SrcVersion", "value": "2.66"},
                    {"name": "aquasecurity:trivy:SrcRelease", "value": "4+deb12u2"},
                ],
            }]),
            libcap,
        ),
        (
            "deb: upstream qualifier without version, distro only from the purl",
            json!([{
                "type": "library", "name": "zlib1g",
                "purl": "pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1?arch=amd64&distro=debian-12&upstream=zlib&package-id=cc16",
            }]),
            zlib.clone(),
        ),
        (
            "deb: Syft's source properties",
            json!([debian_os, {
                "type": "library", "name": "zlib1g", "version": "1:1.2.13.dfsg-1",
                "purl": "pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1?arch=amd64&distro=debian-12",
                "properties": [{"name": "syft:metadata:source", "value": "zlib"}],
            }]),
            zlib,
        ),
        (
            "apk: origin as upstream",
            json!([{"type": "operating-system", "name": "alpine", "version": "3.20.3"}, {
                "type": "library", "name": "ssl_client", "version": "1.36.1-r29",
                "purl": "pkg:apk/alpine/ssl_client@1.36.1-r29?arch=x86_64&distro=alpine-3.20.3&upstream=busybox",
            }]),
            busybox,
        ),
        (
            "pypi: the entry's spelling, the normalized purl",
            json!([{"type": "library", "name": "PyYAML", "version": "6.0.1", "purl": "pkg:pypi/pyyaml@6.0.1"}]),
            cataloged(
                "app/site-packages/PyYAML-6.0.1.dist-info/METADATA",
                "Metadata-Version: 2.1\nName: PyYAML\nVersion: 6.0.1\n",
                None,
            ),
        ),
        (
            "pypi: underscores",
            json!([{"type": "library", "name": "typing_extensions", "version": "4.12.2", "purl": "pkg:pypi/typing-extensions@4.12.2"}]),
            cataloged(
                "app/site-packages/typing_extensions-4.12.2.dist-info/METADATA",
                "Metadata-Version: 2.1\nName: typing_extensions\nVersion: 4.12.2\n",
                None,
            ),
        ),
        (
            "npm: scope unencoded",
            json!([{"type": "library", "name": "core", "group": "@babel", "version": "7.24.0", "purl": "pkg:npm/@babel/core@7.24.0"}]),
            cataloged(
                "app/node_modules/@babel/core/package.json",
                r#"{"name": "@babel/core", "version": "7.24.0"}"#,
                None,
            ),
        ),
        (
            "npm: scope encoded",
            json!([{"type": "library", "name": "@types/node", "version": "20.11.0", "purl": "pkg:npm/%40types/node@20.11.0"}]),
            cataloged(
                "app/node_modules/@types/node/package.json",
                r#"{"name": "@types/node", "version": "20.11.0"}"#,
                None,
            ),
        ),
        (
            "maven: group as namespace, qualifiers dropped",
            json!([{"type": "library", "group": "org.apache.logging.log4j", "name": "log4j-core", "version": "2.19.0",
                    "purl": "pkg:maven/org.apache.logging.log4j/log4j-core@2.19.0?type=jar"}]),
            cataloged(
                "app/lib/log4j-core.jar!/META-INF/maven/org.apache.logging.log4j/log4j-core/pom.properties",
                "groupId=org.apache.logging.log4j\nartifactId=log4j-core\nversion=2.19.0\n",
                None,
            ),
        ),
        (
            "maven: Trivy's SPDX-style name group:artifact",
            json!([{"type": "library", "name": "org.apache.logging.log4j:log4j-core", "version": "2.19.0",
                    "purl": "pkg:maven/org.apache.logging.log4j/log4j-core@2.19.0"}]),
            cataloged(
                "app/lib/log4j-core.jar!/META-INF/maven/org.apache.logging.log4j/log4j-core/pom.properties",
                "groupId=org.apache.logging.log4j\nartifactId=log4j-core\nversion=2.19.0\n",
                None,
            ),
        ),
        (
            "golang: module path with a major-version subpath (Syft)",
            json!([{"type": "library", "name": "github.com/go-redis/redis/v8", "version": "v8.11.5",
                    "purl": "pkg:golang/github.com/go-redis/redis@v8.11.5#v8"}]),
            go("github.com/go-redis/redis/v8", "v8.11.5"),
        ),
        (
            "golang: lowercased purl, the entry keeps the case (Trivy)",
            json!([{"type": "library", "name": "github.com/Azure/azure-sdk-for-go", "version": "v68.0.0+incompatible",
                    "purl": "pkg:golang/github.com/azure/azure-sdk-for-go@v68.0.0%2Bincompatible"}]),
            go("github.com/Azure/azure-sdk-for-go", "v68.0.0+incompatible"),
        ),
        (
            "golang: main module without version",
            json!([{"type": "library", "name": "example.com/testapp", "purl": "pkg:golang/example.com/testapp"}]),
            go("example.com/testapp", "(devel)"),
        ),
        (
            "golang: main module (devel) in the purl (Syft)",
            json!([{"type": "library", "name": "example.com/testapp", "version": "(devel)", "purl": "pkg:golang/example.com/testapp@(devel)"}]),
            go("example.com/testapp", "(devel)"),
        ),
        (
            "cargo",
            json!([{"type": "library", "name": "serde", "version": "1.0.200", "purl": "pkg:cargo/serde@1.0.200"}]),
            cargo("serde", "1.0.200"),
        ),
        (
            "gem: platform qualifier kept",
            json!([{"type": "library", "name": "nokogiri", "version": "1.16.0", "purl": "pkg:gem/nokogiri@1.16.0?platform=x86_64-linux"}]),
            cataloged(
                "usr/lib/ruby/gems/3.1.0/specifications/nokogiri-1.16.0-x86_64-linux.gemspec",
                "Gem::Specification.new do |s|\n  s.name = \"nokogiri\"\n  s.version = \"1.16.0\"\n  s.platform = \"x86_64-linux\"\nend\n",
                None,
            ),
        ),
        (
            "composer: vendor/name",
            json!([{"type": "library", "name": "framework", "group": "laravel", "version": "10.48.0", "purl": "pkg:composer/laravel/framework@10.48.0"}]),
            cataloged(
                "app/vendor/composer/installed.json",
                r#"{"packages": [{"name": "laravel/framework", "version": "10.48.0"}]}"#,
                None,
            ),
        ),
        (
            "nuget",
            json!([{"type": "library", "name": "Newtonsoft.Json", "version": "13.0.3", "purl": "pkg:nuget/Newtonsoft.Json@13.0.3"}]),
            cataloged(
                "app/app.deps.json",
                r#"{"libraries": {"Newtonsoft.Json/13.0.3": {"type": "package"}}}"#,
                None,
            ),
        ),
        (
            "no purl, Syft's package type says npm",
            json!([{"type": "library", "name": "@types/node", "version": "20.11.0",
                    "properties": [{"name": "syft:package:type", "value": "npm"}]}]),
            cataloged(
                "app/node_modules/@types/node/package.json",
                r#"{"name": "@types/node", "version": "20.11.0"}"#,
                None,
            ),
        ),
        (
            "no purl, Trivy's package type says debian",
            json!([debian_os, {"type": "library", "name": "zlib1g", "version": "1:1.2.13.dfsg-1",
            "properties": [
                {"name": "aquasecurity:trivy:PkgType", "value": "debian"},
                {"name": "aquasecurity:trivy:SrcName", "value": "zlib"},
            ]}]),
            {
                // Without a purl there is no architecture to state.
                let mut p = cataloged(
                    "var/lib/dpkg/status",
                    "Package: zlib1g\nStatus: install ok installed\nSource: zlib\nVersion: 1:1.2.13.dfsg-1\n",
                    Some(DEBIAN),
                );
                p.arch = None;
                p
            },
        ),
    ]
}

fn go(module: &str, version: &str) -> Package {
    let m = GoModule {
        path: module.to_owned(),
        version: version.to_owned(),
        sum: None,
        replace: None,
    };
    go_module_package(&m, "app/x").unwrap()
}

fn cargo(name: &str, version: &str) -> Package {
    let json = format!(
        r#"{{"packages": [{{"name": "{name}", "version": "{version}", "source": "crates.io"}}]}}"#
    );
    let section = miniz_oxide::deflate::compress_to_vec_zlib(json.as_bytes(), 6);
    let mut found = rust_dep_v0_packages("app/x", &section).unwrap();
    assert_eq!(found.len(), 1);
    found.remove(0)
}

#[test]
fn producer_purl_forms_give_the_catalogers_packages() {
    for (label, components, want) in cases() {
        let sbom = read(&cdx(components.clone()));
        assert!(sbom.skipped.is_empty(), "{label}: {:?}", sbom.skipped);
        let got: Vec<Package> = sbom.packages.iter().map(identity).collect();
        assert_eq!(got, [identity(&want)], "{label}");
        // The same entry as an SPDX package gives the same.
        let mut packages = Vec::new();
        for (i, c) in components.as_array().unwrap().iter().enumerate() {
            let mut p = json!({
                "SPDXID": format!("SPDXRef-{i}"),
                "name": c["name"],
                "downloadLocation": "NOASSERTION",
            });
            if let Some(v) = c.get("version") {
                p["versionInfo"] = v.clone();
            }
            if c["type"] == "operating-system" {
                p["primaryPackagePurpose"] = json!("OPERATING-SYSTEM");
            }
            if let Some(purl) = c.get("purl") {
                p["externalRefs"] = json!([{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": purl}]);
            }
            let props = c
                .get("properties")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if props
                .iter()
                .any(|p| p["name"].as_str().is_some_and(|n| n.starts_with("syft:")))
                || label.contains("Trivy's package type")
            {
                continue; // Syft's properties and property-only forms are CycloneDX's
            }
            // Trivy's SPDX: source in sourceInfo.
            if let Some(src) = props
                .iter()
                .find(|p| p["name"] == "aquasecurity:trivy:SrcName")
            {
                let v = ["SrcEpoch", "SrcVersion", "SrcRelease"].map(|k| {
                    props
                        .iter()
                        .find(|p| p["name"] == format!("aquasecurity:trivy:{k}"))
                        .and_then(|p| p["value"].as_str())
                        .unwrap_or_default()
                        .to_owned()
                });
                p["sourceInfo"] = json!(format!(
                    "built package from: {} {}:{}-{}",
                    src["value"].as_str().unwrap(),
                    v[0],
                    v[1],
                    v[2]
                ));
            }
            if c["group"].is_string() && c["purl"].is_null() {
                continue;
            }
            packages.push(p);
        }
        if packages.len() < components.as_array().unwrap().len() {
            continue;
        }
        let doc = json!({"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT", "name": "x", "packages": packages});
        let sbom = read(&serde_json::to_vec(&doc).unwrap());
        let got: Vec<Package> = sbom.packages.iter().map(identity).collect();
        assert_eq!(got, [identity(&want)], "{label} (SPDX)");
    }
}

#[test]
fn rpm_epochs_and_source_rpms() {
    // The rpmdb cataloger's rules (checked against rpm itself in real_rpm.rs): version
    // `epoch:version-release`, purl version `version-release` with an `epoch` qualifier,
    // namespace and `distro` from the distribution, source from the source rpm with the epoch.
    let doc = cdx(json!([
        {"type": "operating-system", "name": "rocky", "version": "9.3"},
        {"type": "library", "name": "bash", "version": "1:5.1.8-6.el9",
         "purl": "pkg:rpm/rocky/bash@5.1.8-6.el9?arch=x86_64&epoch=1&upstream=bash-5.1.8-6.el9.src.rpm&distro=rocky-9.3"},
        {"type": "library", "name": "openssl-libs", "version": "1:3.0.7-25.el9",
         "purl": "pkg:rpm/redhat/openssl-libs@1:3.0.7-25.el9?arch=x86_64",
         "properties": [{"name": "syft:metadata:sourceRpm", "value": "openssl-3.0.7-25.el9.src.rpm"}]},
        {"type": "library", "name": "tzdata", "version": "2024a-1.el9",
         "purl": "pkg:rpm/redhat/tzdata@2024a-1.el9?arch=noarch"},
    ]));
    let sbom = read(&doc);
    let got: Vec<(String, String, String, String, String)> = sbom
        .packages
        .iter()
        .map(|p| {
            let s = p.source_package.clone().unwrap();
            (
                p.name.clone(),
                p.version.clone(),
                p.purl.to_string(),
                s.name,
                s.version,
            )
        })
        .collect();
    let row = |a: &str, b: &str, c: &str, d: &str, e: &str| {
        (
            a.to_owned(),
            b.to_owned(),
            c.to_owned(),
            d.to_owned(),
            e.to_owned(),
        )
    };
    assert_eq!(
        got,
        [
            row(
                "bash",
                "1:5.1.8-6.el9",
                "pkg:rpm/rocky/bash@5.1.8-6.el9?arch=x86_64&distro=rocky-9.3&epoch=1",
                "bash",
                "1:5.1.8-6.el9"
            ),
            row(
                "openssl-libs",
                "1:3.0.7-25.el9",
                "pkg:rpm/rocky/openssl-libs@3.0.7-25.el9?arch=x86_64&distro=rocky-9.3&epoch=1",
                "openssl",
                "1:3.0.7-25.el9"
            ),
            row(
                "tzdata",
                "2024a-1.el9",
                "pkg:rpm/rocky/tzdata@2024a-1.el9?arch=noarch&distro=rocky-9.3",
                "tzdata",
                "2024a-1.el9"
            ),
        ]
    );
    assert_eq!(
        sbom.distro.map(|d| d.purl_qualifier()).as_deref(),
        Some("rocky-9.3")
    );
}

#[test]
fn go_standard_library_versions() {
    for v in ["go1.22.5", "v1.22.5", "1.22.5"] {
        let sbom = read(&cdx(
            json!([{"name": "stdlib", "version": v, "purl": format!("pkg:golang/stdlib@{v}")}]),
        ));
        let p = &sbom.packages[0];
        assert_eq!(
            (p.version.as_str(), p.purl.to_string().as_str()),
            ("1.22.5", "pkg:golang/stdlib@1.22.5"),
            "{v}"
        );
    }
}

#[test]
fn duplicates_merge_and_nested_components_count() {
    let doc = cdx(json!([
        {"name": "lodash", "version": "4.17.21", "purl": "pkg:npm/lodash@4.17.21",
         "properties": [{"name": "syft:location:0:path", "value": "/app/a/node_modules/lodash/package.json"}],
         "licenses": [{"license": {"id": "MIT"}}]},
        {"name": "app", "type": "application", "purl": "pkg:npm/app@1.0.0",
         "components": [
            {"name": "lodash", "version": "4.17.21", "purl": "pkg:npm/lodash@4.17.21",
             "properties": [{"name": "aquasecurity:trivy:FilePath", "value": "app/b/node_modules/lodash/package.json"}],
             "licenses": [{"expression": "MIT OR CC0-1.0"}],
             "components": [{"name": "left-pad", "version": "1.3.0", "purl": "pkg:npm/left-pad@1.3.0"}]},
         ]},
        {"name": "lodash", "version": "4.17.21", "purl": "pkg:npm/lodash@4.17.21?vcs_url=x"},
    ]));
    let sbom = read(&doc);
    let names: Vec<&str> = sbom.packages.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["app", "left-pad", "lodash"]);
    let lodash = sbom.packages.iter().find(|p| p.name == "lodash").unwrap();
    let paths: Vec<&str> = lodash.locations.iter().map(|l| l.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/app/a/node_modules/lodash/package.json",
            "/app/b/node_modules/lodash/package.json"
        ]
    );
    assert_eq!(lodash.licenses, ["MIT", "MIT OR CC0-1.0"]);
    assert_eq!(lodash.purl.to_string(), "pkg:npm/lodash@4.17.21");
}

#[test]
fn unusable_entries_are_skipped_with_their_reason_and_place() {
    let doc = cdx(json!([
        {"type": "library", "name": "nopurl", "version": "1"},
        {"type": "library", "name": "badpurl", "purl": "pkg:npm/x@%zz"},
        {"type": "library", "name": "noscheme", "purl": "npm/x@1"},
        {"type": "library", "name": "generic", "purl": "pkg:generic/openssl@3.0.0"},
        {"type": "library", "name": "noversion", "purl": "pkg:npm/noversion"},
        {"type": "library", "name": "wrongtype", "version": 3, "purl": "pkg:npm/w@1"},
        {"type": "library", "name": "wrongprops", "purl": "pkg:npm/w@1", "properties": {"a": 1}},
        "not an object",
        {"type": "file", "name": "etc/passwd"},
        {"type": "application", "name": "usr/bin/go", "properties": [{"name": "aquasecurity:trivy:Class", "value": "lang-pkgs"}]},
        {"type": "library", "name": "ok", "version": "1.0.0", "purl": "pkg:npm/ok@1.0.0"},
        {"type": "library", "name": "gpg-pubkey", "version": "4aad5c5d-60041cb0", "purl": "pkg:rpm/fedora/gpg-pubkey@4aad5c5d-60041cb0"},
    ]));
    let sbom = read(&doc);
    assert_eq!(sbom.packages.len(), 1);
    let got: Vec<(String, String)> = sbom
        .skipped
        .iter()
        .map(|s| {
            let kind = match &s.reason {
                SkipReason::NoPurl => "no purl".to_owned(),
                SkipReason::BadPurl { .. } => "bad purl".to_owned(),
                SkipReason::UnsupportedType(t) => format!("type {t}"),
                SkipReason::NoVersion => "no version".to_owned(),
                SkipReason::NotSoftware(_) => "not software".to_owned(),
                SkipReason::Unreadable(m) => format!("unreadable {m}"),
            };
            (s.at.clone(), kind)
        })
        .collect();
    let want: Vec<(String, String)> = [
        ("components[0]", "no purl"),
        ("components[1]", "bad purl"),
        ("components[2]", "bad purl"),
        ("components[3]", "type generic"),
        ("components[4]", "no version"),
        (
            "components[5]",
            "unreadable version: invalid type: integer `3`, expected a string",
        ),
        (
            "components[6]",
            "unreadable properties: invalid type: map, expected a sequence",
        ),
        (
            "components[7]",
            "unreadable expected an object, found \"not an object\"",
        ),
        ("components[11]", "not software"),
    ]
    .iter()
    .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
    .collect();
    assert_eq!(got, want);
    // Each says where and why.
    let text = sbom.skipped[1].to_string();
    assert!(
        text.starts_with("components[1] (badpurl): bad purl \"pkg:npm/x@%zz\""),
        "{text}"
    );
}

fn err(bytes: &[u8]) -> ReadError {
    match read_sbom(bytes) {
        Ok(s) => panic!("read: {s:?}"),
        Err(e) => e,
    }
}

#[test]
fn hostile_documents_give_named_errors() {
    // Truncated anywhere: an error, the truncated kind when the text just stops.
    let full = cdx(json!([{"name": "a", "version": "1", "purl": "pkg:npm/a@1"}]));
    for cut in 1..full.len() {
        assert!(read_sbom(&full[..cut]).is_err(), "cut at {cut}");
    }
    assert!(matches!(
        err(&full[..full.len() - 3]),
        ReadError::Truncated(_)
    ));
    // Wrong types at the document level name the field.
    let e = err(br#"{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": "x"}"#);
    assert!(
        matches!(&e, ReadError::Field { path, .. } if path == "components"),
        "{e}"
    );
    let e = err(br#"{"bomFormat": 5}"#);
    assert_eq!(e.to_string(), "bomFormat: expected a string, found 5");
    let e = err(br#"{"bomFormat": "CycloneDX", "specVersion": 1.6}"#);
    assert!(
        matches!(&e, ReadError::Field { path, .. } if path == "specVersion"),
        "{e}"
    );
    let e = err(br#"{"bomFormat": "CycloneDX", "specVersion": "1.6", "metadata": []}"#);
    assert!(
        matches!(&e, ReadError::Field { path, .. } if path == "metadata"),
        "{e}"
    );
    let e = err(br#"{"spdxVersion": "SPDX-2.3", "packages": {}}"#);
    assert!(
        matches!(&e, ReadError::Field { path, .. } if path == "packages"),
        "{e}"
    );
    let e = err(br#"{"bomFormat": "CycloneDX"}"#);
    assert!(e.to_string().starts_with("specVersion: missing"), "{e}");
    // Trailing garbage, duplicate keys.
    assert!(matches!(
        err(br#"{"bomFormat": "CycloneDX", "specVersion": "1.6"} x"#),
        ReadError::Json(_)
    ));
    assert!(matches!(
        err(br#"{"bomFormat": "CycloneDX", "specVersion": "1.6", "specVersion": "1.5"}"#),
        ReadError::Field { .. }
    ));
    // Versions.
    for (doc, found) in [
        (r#"{"bomFormat": "CycloneDX", "specVersion": "1.1"}"#, "1.1"),
        (r#"{"bomFormat": "CycloneDX", "specVersion": "2.0"}"#, "2.0"),
        (r#"{"spdxVersion": "SPDX-2.1"}"#, "SPDX-2.1"),
        (
            r#"{"@context": "https://spdx.org/rdf/3.0.1/spdx-context.jsonld", "@graph": []}"#,
            "3 (JSON-LD)",
        ),
    ] {
        let e = err(doc.as_bytes());
        assert!(
            matches!(&e, ReadError::UnsupportedVersion { found: f, .. } if f == found),
            "{doc}: {e}"
        );
    }
    // Not SBOMs.
    let e = err(br#"{"apiVersion": "v1", "kind": "Pod", "metadata": {}}"#);
    assert_eq!(
        e.to_string(),
        "expected a CycloneDX or SPDX JSON document (with a `bomFormat` or `spdxVersion` key), found a JSON object with keys apiVersion, kind, metadata"
    );
    assert!(matches!(
        err(br#"{"bomFormat": "SWID"}"#),
        ReadError::NotSbom { .. }
    ));
    assert!(matches!(err(b"[1, 2]"), ReadError::NotSbom { .. }));
    assert!(matches!(err(b""), ReadError::NotSbom { .. }));
    assert!(matches!(err(b"\xff\xfe{"), ReadError::NotSbom { .. }));
    assert!(matches!(
        err(b"{\"bomFormat\": \"Cyclone\xffDX\"}"),
        ReadError::Json(_)
    ));
    // Other encodings of the formats.
    let xml = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<bom xmlns=\"http://cyclonedx.org/schema/bom/1.5\" version=\"1\"><components/></bom>";
    let e = err(xml);
    assert!(matches!(
        e,
        ReadError::NotJson {
            found: "CycloneDX XML"
        }
    ));
    assert_eq!(
        e.to_string(),
        "found CycloneDX XML: only JSON SBOMs are read (CycloneDX 1.2 or later, SPDX 2.2 or 2.3); convert it to JSON"
    );
    let tv = b"SPDXVersion: SPDX-2.3\nDataLicense: CC0-1.0\nSPDXID: SPDXRef-DOCUMENT\n";
    assert!(matches!(
        err(tv),
        ReadError::NotJson {
            found: "SPDX tag-value"
        }
    ));
    assert!(looks_like_sbom(xml) && looks_like_sbom(tv));
    // A UTF-8 byte order mark is fine.
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend(&full);
    assert_eq!(read(&bom).packages.len(), 1);
}

#[test]
fn nesting_and_size_limits() {
    // Components nested past the limit: a named error with the place.
    let mut c = json!({"name": "leaf", "version": "1", "purl": "pkg:npm/leaf@1"});
    for i in 0..100 {
        c = json!({"name": format!("n{i}"), "version": "1", "purl": format!("pkg:npm/n{i}@1"), "components": [c]});
    }
    let e = err(&cdx(json!([c])));
    assert!(
        matches!(&e, ReadError::Limit { at, limit: 64, .. } if at.starts_with("components[0].components[0]")),
        "{e}"
    );
    // Raw JSON nesting: deep arrays in a field nobody reads are skipped without recursion;
    // in a field of a component they make that component unreadable; in the document, an
    // error.
    let deep = "[".repeat(100_000) + &"]".repeat(100_000);
    let doc = format!(
        r#"{{"bomFormat": "CycloneDX", "specVersion": "1.6", "x": {deep}, "components": [{{"name": "a", "version": "1", "purl": "pkg:npm/a@1", "y": {deep}}}]}}"#
    );
    let sbom = read(doc.as_bytes());
    assert_eq!(sbom.packages.len(), 1);
    let doc = format!(
        r#"{{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [{{"name": "a", "purl": "pkg:npm/a@1", "properties": {deep}}}]}}"#
    );
    let sbom = read(doc.as_bytes());
    assert!(
        matches!(&sbom.skipped[0].reason, SkipReason::Unreadable(m) if m.starts_with("properties[0]")),
        "{:?}",
        sbom.skipped
    );
    let doc = format!(r#"{{"bomFormat": "CycloneDX", "specVersion": "1.6", "metadata": {deep}}}"#);
    assert!(read_sbom(doc.as_bytes()).is_err());
    // Entry count: more components than the limit.
    let many = format!(
        r#"{{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [{}{{}}]}}"#,
        "{},".repeat(MAX_SBOM_COMPONENTS)
    );
    let e = err(many.as_bytes());
    assert!(
        e.to_string()
            .starts_with("components: more than 1000000 entries"),
        "{e}"
    );
    // Input size.
    let big = vec![b' '; MAX_SBOM_INPUT + 1];
    assert!(matches!(err(&big), ReadError::TooLarge { .. }));
}

#[test]
fn spdx_subject_os_and_trivy_annotations() {
    let doc = json!({
        "spdxVersion": "SPDX-2.2",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": "doc-name",
        "packages": [
            {"SPDXID": "SPDXRef-img", "name": "docker.io/library/debian:12", "versionInfo": "sha256:abc",
             "primaryPackagePurpose": "CONTAINER",
             "externalRefs": [{"referenceCategory": "PACKAGE_MANAGER", "referenceType": "purl", "referenceLocator": "pkg:oci/debian@sha256%3Aabc"}]},
            {"SPDXID": "SPDXRef-os", "name": "debian", "versionInfo": "12.5", "primaryPackagePurpose": "OPERATING_SYSTEM"},
            {"SPDXID": "SPDXRef-go", "name": "usr/bin/app", "primaryPackagePurpose": "APPLICATION",
             "annotations": [{"annotator": "Tool: trivy-0.50.0", "comment": "Class: lang-pkgs"}]},
            {"SPDXID": "SPDXRef-p", "name": "zlib1g", "versionInfo": "1:1.2.13.dfsg-1",
             "annotations": [{"annotator": "Tool: trivy-0.50.0", "comment": "PkgType: debian"}],
             "sourceInfo": "built package from: zlib 1:1.2.13.dfsg-1",
             "licenseDeclared": "Zlib"},
            {"SPDXID": "SPDXRef-f", "name": "src", "primaryPackagePurpose": "SOURCE"},
        ],
        "relationships": [
            {"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": "SPDXRef-img"},
            {"spdxElementId": 5},
            "junk",
        ],
    });
    let sbom = read(&serde_json::to_vec(&doc).unwrap());
    assert_eq!(
        sbom.format,
        SbomFormat::Spdx {
            version: "2.2".to_owned()
        }
    );
    assert_eq!(
        sbom.subject.as_deref(),
        Some("docker.io/library/debian:12@sha256:abc")
    );
    assert!(sbom.skipped.is_empty(), "{:?}", sbom.skipped);
    let d = sbom.distro.unwrap();
    assert_eq!(
        (d.id.as_str(), d.version_id.as_deref()),
        ("debian", Some("12"))
    );
    let p = &sbom.packages[0];
    assert_eq!(
        p.purl.to_string(),
        "pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1?distro=debian-12"
    );
    assert_eq!(
        p.source_package.as_ref().map(|s| s.name.as_str()),
        Some("zlib")
    );
    assert_eq!(p.licenses, ["Zlib"]);
    assert_eq!(sbom.packages.len(), 1);
}

/// What was read, written by rampart's writers and read again: the same purls and
/// distribution (the invariant of the `sbom_read` fuzz target; these documents are the shapes
/// of what it found).
fn rewritten_reads_back_the_same(bytes: &[u8]) {
    let first = read(bytes);
    let doc = SbomDocument {
        subject: Subject {
            name: "x".to_owned(),
            ..Subject::default()
        },
        distro: first.distro.clone(),
        packages: first.packages.clone(),
        tool: Tool {
            name: "rampart".to_owned(),
            version: "0".to_owned(),
        },
    };
    let opts = Options::reproducible(None);
    let purls = |s: &SbomInput| {
        s.packages
            .iter()
            .map(|p| p.purl.to_string())
            .collect::<Vec<_>>()
    };
    for text in [cyclonedx_json(&doc, &opts), spdx_json(&doc, &opts)] {
        let again = read(text.as_bytes());
        assert_eq!(purls(&again), purls(&first));
        assert_eq!(again.distro, first.distro);
    }
}

#[test]
fn fuzz_regressions_rewritten_documents_read_back_the_same() {
    // A version that does not start with a digit (was re-read as a codename).
    rewritten_reads_back_the_same(&cdx(json!([
        {"type": "operating-system", "name": "debian", "version": "(2.11"},
        {"name": "libcap2-bin", "purl": "pkg:deb/debian/libcap2-bin@2.66-4?distro=debian-12.11&epoch=1"},
    ])));
    // A distribution without version: its qualifier is the id alone.
    rewritten_reads_back_the_same(&cdx(json!([
        {"name": "musl", "purl": "pkg:apk/alpine/musl@1.2.5-r0?distro=alpine"},
    ])));
    // Names with blanks (were trimmed on the second reading only).
    rewritten_reads_back_the_same(&cdx(json!([
        {"name": "   am~", "version": "6.0.1", "purl": "pkg:pypi/%20%20%20am~@6.0.1"},
        {"name": " x", "version": "1", "purl": "pkg:pypi/x@1"},
        {"name": " example.com/m", "purl": "pkg:golang/example.com/m@v1.0.0"},
    ])));
}

/// JSON values built from the vocabulary of both formats, nested.
fn sbomish() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("bomFormat"),
        Just("specVersion"),
        Just("components"),
        Just("metadata"),
        Just("component"),
        Just("purl"),
        Just("name"),
        Just("version"),
        Just("type"),
        Just("group"),
        Just("properties"),
        Just("value"),
        Just("licenses"),
        Just("evidence"),
        Just("occurrences"),
        Just("location"),
        Just("spdxVersion"),
        Just("packages"),
        Just("externalRefs"),
        Just("referenceType"),
        Just("referenceLocator"),
        Just("SPDXID"),
        Just("relationships"),
        Just("primaryPackagePurpose"),
        Just("sourceInfo"),
        Just("annotations"),
        Just("comment"),
        Just("versionInfo"),
        Just("x"),
    ];
    let text = prop_oneof![
        Just("CycloneDX".to_owned()),
        Just("1.6".to_owned()),
        Just("SPDX-2.3".to_owned()),
        Just("operating-system".to_owned()),
        Just("purl".to_owned()),
        Just("OPERATING-SYSTEM".to_owned()),
        Just("debian".to_owned()),
        Just("syft:package:type".to_owned()),
        Just("aquasecurity:trivy:PkgType".to_owned()),
        "pkg:(deb|rpm|apk|npm|pypi|golang|maven|gem|x)/[a-z@%/:.]{0,12}(@[0-9a-z:.%~+-]{0,8})?(\\?[a-z]{1,6}=[a-z0-9.-]{0,6})?(#[a-z/]{0,4})?",
        "\\PC{0,12}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        text.prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 8, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((key.clone(), inner), 0..8).prop_map(|kv| {
                Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = read_sbom(&bytes);
        let _ = looks_like_sbom(&bytes);
    }

    #[test]
    fn never_panics_on_sbom_like_json(v in sbomish(), cdx_top in any::<bool>()) {
        let _ = read_sbom(&serde_json::to_vec(&v).unwrap());
        // Also as the components or packages of a document of each format.
        let doc = if cdx_top {
            json!({"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [v]})
        } else {
            json!({"spdxVersion": "SPDX-2.3", "packages": [v]})
        };
        if let Ok(s) = read_sbom(&serde_json::to_vec(&doc).unwrap()) {
            // Every package is canonical: its purl prints and parses back to itself.
            for p in &s.packages {
                let text = p.purl.to_string();
                prop_assert_eq!(text.parse::<rampart_sbom::Purl>().map(|q| q.to_string()), Ok(text));
                prop_assert!(Ecosystem::from_purl_type(p.purl.ty()) == Some(p.ecosystem));
            }
        }
    }
}
