//! The SBOM writers (CycloneDX 1.6 and SPDX 2.3 JSON) on a synthetic package list covering every
//! ecosystem with hostile strings, and on real packages (this machine's dpkg database, the
//! Python packages of the oracle venv). Every document is checked by the official JSON schemas
//! (Python `jsonschema`, `$ref`s resolved from local copies), by the CycloneDX Python library
//! (strict schema validator and object model) and by spdx-tools (`pyspdxtools`), each with a
//! negative control; then parsed back to check that every package is there exactly once, with
//! its licenses.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use rampart_sbom::catalog::{Dpkg, PythonMetadata};
use rampart_sbom::{
    CatalogContext, Cataloger, Distro, Ecosystem, FormatError, Options, Package, PackageLocation,
    Purl, SbomDocument, SourcePackage, Subject, SubjectKind, Tool, cyclonedx_json, spdx_json,
};
use serde_json::Value;

fn data(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(p)
}

fn oracle_script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/oracle")
        .join(name)
}

/// Runs an oracle; `Err` carries its output when it exits non-zero. Fails the test if it
/// cannot run at all.
fn run(program: &Path, args: &[&Path]) -> Result<(), String> {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{} ({}):\n{}{}",
            program.display(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn python() -> PathBuf {
    common::oracles().join("venv/bin/python")
}

/// The official CycloneDX 1.6 schema, with the SPDX id and JSF schemas it references.
fn cyclonedx_schema(file: &Path) -> Result<(), String> {
    run(
        &python(),
        &[
            &oracle_script("validate_jsonschema.py"),
            &data("cyclonedx/bom-1.6.schema.json"),
            file,
            &data("cyclonedx/spdx.schema.json"),
            &data("cyclonedx/jsf-0.82.schema.json"),
        ],
    )
}

/// cyclonedx-python-lib: strict 1.6 validator and object model.
fn cyclonedx_lib(file: &Path) -> Result<(), String> {
    run(&python(), &[&oracle_script("validate_cyclonedx.py"), file])
}

/// The official SPDX 2.3 JSON schema.
fn spdx_schema(file: &Path) -> Result<(), String> {
    run(
        &python(),
        &[
            &oracle_script("validate_jsonschema.py"),
            &data("spdx-2.3/spdx-schema.json"),
            file,
        ],
    )
}

/// spdx-tools' validator. Its license-expression library does not know the `+` operator on
/// non-GNU ids (`Apache-2.0+`, valid SPDX 2.3 Annex D): spdx/tools-python#887,
/// aboutcode-org/license-expression#110. Exactly that complaint, about an id of the SPDX list
/// followed by `+`, is not counted; any other line is.
fn spdx_tools(file: &Path) -> Result<(), String> {
    let out = Command::new(common::oracles().join("venv/bin/pyspdxtools"))
        .arg("-i")
        .arg(file)
        .output()
        .unwrap_or_else(|e| panic!("cannot run pyspdxtools: {e}"));
    if out.status.success() {
        return Ok(());
    }
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let real: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter(|l| !l.starts_with("ERROR:root:The document is invalid"))
        .filter(|l| !is_known_plus_complaint(l))
        .collect();
    if real.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "pyspdxtools ({}):\n{}",
            out.status,
            real.join("\n")
        ))
    }
}

fn is_known_plus_complaint(line: &str) -> bool {
    let Some(rest) = line.strip_prefix("Unrecognized license reference: ") else {
        return false;
    };
    let Some((symbol, _)) = rest.split_once(". license_expression must only use IDs") else {
        return false;
    };
    symbol
        .strip_suffix('+')
        .filter(|base| !base.ends_with('+'))
        .and_then(spdx::license_id)
        .is_some_and(|id| !id.is_gnu())
}

/// Both documents of `doc`, reproducible and fresh, through every validator; then the
/// round-trip checks. Returns the reproducible pair.
fn check(doc: &SbomDocument, label: &str) -> (Value, Value) {
    let dir = tempfile::tempdir().unwrap();
    let fresh = Options {
        reproducible: false,
        source_date_epoch: None,
        now: "2025-03-04T05:06:07.891Z".parse().unwrap(),
        random: *b"0123456789abcdef",
    };
    let mut failures = Vec::new();
    let mut docs = Vec::new();
    for (mode, opts) in [("repro", Options::reproducible(None)), ("fresh", fresh)] {
        let cdx = cyclonedx_json(doc, &opts);
        let spdx = spdx_json(doc, &opts);
        let cdx_file = dir.path().join(format!("{label}-{mode}.cdx.json"));
        let spdx_file = dir.path().join(format!("{label}-{mode}.spdx.json"));
        std::fs::write(&cdx_file, &cdx).unwrap();
        std::fs::write(&spdx_file, &spdx).unwrap();
        for (name, result) in [
            ("cyclonedx schema", cyclonedx_schema(&cdx_file)),
            ("cyclonedx-python-lib", cyclonedx_lib(&cdx_file)),
            ("spdx schema", spdx_schema(&spdx_file)),
            ("pyspdxtools", spdx_tools(&spdx_file)),
        ] {
            if let Err(e) = result {
                failures.push(format!("{label} {mode} {name}: {e}"));
            }
        }
        let cdx: Value = serde_json::from_str(&cdx).unwrap();
        let spdx: Value = serde_json::from_str(&spdx).unwrap();
        round_trip(doc, &cdx, &spdx);
        docs.push((cdx, spdx));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    docs.swap_remove(0)
}

/// Every input purl is in each document exactly once, with every license it states (as an
/// id, a name, inside an expression, or as the text of a `LicenseRef`), its locations and
/// its version.
fn round_trip(doc: &SbomDocument, cdx: &Value, spdx: &Value) {
    let mut by_purl: BTreeMap<String, Vec<&Package>> = BTreeMap::new();
    for p in &doc.packages {
        by_purl.entry(p.purl.to_string()).or_default().push(p);
    }

    let components = cdx["components"].as_array().unwrap();
    let mut seen = BTreeMap::new();
    for c in components {
        if let Some(purl) = c["purl"].as_str() {
            *seen.entry(purl.to_owned()).or_insert(0) += 1;
        }
    }
    let spdx_packages = spdx["packages"].as_array().unwrap();
    let mut spdx_seen = BTreeMap::new();
    for p in spdx_packages {
        for r in p["externalRefs"].as_array().into_iter().flatten() {
            if r["referenceType"] == "purl" && p["SPDXID"] != "SPDXRef-Subject" {
                *spdx_seen
                    .entry(r["referenceLocator"].as_str().unwrap().to_owned())
                    .or_insert(0) += 1;
            }
        }
    }
    let once: BTreeMap<String, i32> = by_purl.keys().map(|k| (k.clone(), 1)).collect();
    assert_eq!(seen, once, "CycloneDX components by purl");
    assert_eq!(spdx_seen, once, "SPDX packages by purl");

    let extracted: BTreeMap<&str, &str> = spdx["hasExtractedLicensingInfos"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            (
                e["licenseId"].as_str().unwrap(),
                e["extractedText"].as_str().unwrap(),
            )
        })
        .collect();
    let spdx_ids: BTreeSet<&str> = spdx_packages
        .iter()
        .map(|p| p["SPDXID"].as_str().unwrap())
        .collect();
    assert_eq!(spdx_ids.len(), spdx_packages.len(), "SPDXIDs are unique");
    for id in &spdx_ids {
        assert!(
            id.starts_with("SPDXRef-")
                && id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'),
            "{id}"
        );
    }
    let contained: BTreeSet<&str> = spdx["relationships"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["relationshipType"] == "CONTAINS")
        .map(|r| r["relatedSpdxElement"].as_str().unwrap())
        .collect();
    let bom_refs: BTreeSet<&str> = components
        .iter()
        .map(|c| c["bom-ref"].as_str().unwrap())
        .collect();
    assert_eq!(bom_refs.len(), components.len(), "bom-refs are unique");
    let depends: BTreeSet<&str> = cdx["dependencies"][0]["dependsOn"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    assert_eq!(cdx["dependencies"][0]["ref"], "rampart:subject");
    assert_eq!(depends, bom_refs, "the subject depends on every component");

    for (purl, pkgs) in &by_purl {
        let c = components.iter().find(|c| c["purl"] == **purl).unwrap();
        let p = spdx_packages
            .iter()
            .find(|p| p["externalRefs"][0]["referenceLocator"] == **purl)
            .unwrap();
        assert!(contained.contains(p["SPDXID"].as_str().unwrap()), "{purl}");

        let cdx_texts: Vec<String> = c["licenses"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|l| {
                [
                    l["license"]["id"].as_str(),
                    l["license"]["name"].as_str(),
                    l["expression"].as_str(),
                ]
            })
            .flatten()
            .map(str::to_owned)
            .collect();
        let declared = p["licenseDeclared"].as_str().unwrap();
        let mut spdx_texts = vec![declared.to_owned()];
        for token in declared.split(|c: char| c.is_whitespace() || c == '(' || c == ')') {
            if token.starts_with("LicenseRef-") {
                let text = extracted.get(token).unwrap_or_else(|| {
                    panic!("{purl}: {token} has no hasExtractedLicensingInfos entry")
                });
                spdx_texts.push((*text).to_owned());
            }
        }
        for stated in pkgs.iter().flat_map(|p| &p.licenses) {
            assert!(
                covers(&cdx_texts, stated),
                "{purl}: CycloneDX lost license {stated:?}: {cdx_texts:?}"
            );
            assert!(
                covers(&spdx_texts, stated),
                "{purl}: SPDX lost license {stated:?}: {spdx_texts:?}"
            );
        }
        if pkgs
            .iter()
            .all(|p| p.licenses.iter().all(|l| l.trim().is_empty()))
        {
            assert!(c.get("licenses").is_none(), "{purl}");
            assert_eq!(declared, "NOASSERTION", "{purl}");
        }

        if pkgs.iter().all(|x| !x.version.is_empty()) {
            assert!(
                pkgs.iter().any(|x| c["version"] == x.version.as_str()),
                "{purl}"
            );
            assert!(
                pkgs.iter().any(|x| p["versionInfo"] == x.version.as_str()),
                "{purl}"
            );
        }
        let paths: BTreeSet<&str> = c["evidence"]["occurrences"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|o| o["location"].as_str().unwrap())
            .collect();
        let want: BTreeSet<&str> = pkgs
            .iter()
            .flat_map(|p| &p.locations)
            .map(|l| l.path.as_str())
            .collect();
        assert_eq!(paths, want, "{purl}");
        let source_info = p["sourceInfo"].as_str().unwrap_or_default();
        for path in want {
            assert!(source_info.contains(path), "{purl}: {source_info}");
        }
    }
}

/// Whether a stated license survives in `texts`: verbatim (trimmed), or, for an SPDX
/// expression, every license id in it appears (case-insensitively, GNU ids with `-only` or
/// `-or-later`, deprecated ids with an exception as their `WITH` successor) in one of the texts.
fn covers(texts: &[String], stated: &str) -> bool {
    let s = stated.trim();
    if s.is_empty() || s.eq_ignore_ascii_case("NOASSERTION") || s.eq_ignore_ascii_case("NONE") {
        return true;
    }
    if texts.iter().any(|t| t == s) {
        return true;
    }
    let words: Vec<String> = texts
        .iter()
        .flat_map(|t| t.split(|c: char| c.is_whitespace() || c == '(' || c == ')'))
        .map(str::to_lowercase)
        .collect();
    s.split(|c: char| c.is_whitespace() || c == '(' || c == ')')
        .filter(|w| !w.is_empty() && !["and", "or", "with"].contains(&w.to_lowercase().as_str()))
        .all(|w| {
            let w = w.to_lowercase();
            let base = w.trim_end_matches('+');
            let (base, exception) = match base.split_once("-with-") {
                Some((b, e)) => (
                    b.to_owned(),
                    Some(e.trim_end_matches("-exception").to_owned()),
                ),
                None => (base.to_owned(), None),
            };
            let id_ok = words.iter().any(|x| {
                *x == w
                    || *x == base
                    || *x == format!("{base}-only")
                    || *x == format!("{base}-or-later")
                    || (base == "ecos-2.0" && x == "gpl-2.0-or-later")
                    || (base == "wxwindows" && x == "lgpl-2.0-or-later")
            });
            let exception_ok = exception.is_none_or(|e| {
                words
                    .iter()
                    .any(|x| x.starts_with(&format!("{e}-exception")))
            });
            id_ok && exception_ok
        })
}

// ---------------------------------------------------------------------------------------------
// Inputs

fn every_ecosystem() -> Vec<Ecosystem> {
    use Ecosystem::*;
    let all = vec![
        Deb, Apk, Rpm, PyPI, Npm, Go, Cargo, Maven, Gem, Composer, NuGet,
    ];
    // A new variant stops this from compiling until it is listed above.
    for e in &all {
        match e {
            Deb | Apk | Rpm | PyPI | Npm | Go | Cargo | Maven | Gem | Composer | NuGet => {}
        }
    }
    all
}

fn namespace(e: Ecosystem) -> Option<&'static str> {
    match e {
        Ecosystem::Deb => Some("debian"),
        Ecosystem::Apk => Some("alpine"),
        Ecosystem::Rpm => Some("fedora"),
        Ecosystem::Npm => Some("@types"),
        Ecosystem::Go => Some("github.com/x"),
        Ecosystem::Maven => Some("org.apache"),
        Ecosystem::Composer => Some("vendor"),
        _ => None,
    }
}

const HOSTILE: &[&str] = &[
    "",
    " ",
    "\u{0}\u{1}\u{1b}[31mred\u{7f}",
    "é😀\u{202e}gnp.exe",
    "\"quoted\\back\\\"",
    "<script>alert(1)</script>",
    "line\nbreak\ttab\r",
    "@#?&=%/ pkg:npm/x@1",
    "\u{feff}\u{fffd}\u{10ffff}",
];

fn license_sets() -> Vec<Vec<String>> {
    let long = "Copyright (c) 2020 ACME\n".repeat(250);
    [
        vec![],
        vec!["MIT"],
        vec!["mit", "GPL-2.0+", "MIT"],
        vec!["MIT or Apache-2.0"],
        vec!["MIT OR Apache-2.0", "BSD-3-Clause"],
        vec!["MIT OR Apache-2.0", "Apache Software License"],
        vec!["GPL-2.0-with-classpath-exception", "eCos-2.0", "Nunit"],
        vec!["MIT OR LicenseRef-x", "(((", "\u{0}\u{1b}"],
        vec!["Copyright © 2020\nAll rights reserved", long.as_str()],
        vec![
            "Apache-2.0 WITH LLVM-exception",
            "MIT/Apache-2.0",
            " ",
            "NOASSERTION",
        ],
        vec!["Apache-2.0+"],
        vec!["GFDL-1.3-invariants", "BSD"],
        vec!["GFDL-1.3-invariants"],
    ]
    .into_iter()
    .map(|set| set.into_iter().map(str::to_owned).collect())
    .collect()
}

fn package(
    ecosystem: Ecosystem,
    name: &str,
    version: &str,
    purl: Purl,
    licenses: Vec<String>,
    path: &str,
) -> Package {
    Package {
        name: name.to_owned(),
        version: version.to_owned(),
        ecosystem,
        purl,
        licenses,
        source_package: None,
        locations: vec![PackageLocation {
            path: path.to_owned(),
            layer: Some(format!("sha256:{:064x}", name.len())),
        }],
        arch: None,
    }
}

/// Every ecosystem: a plain package, and packages whose every string is hostile (control
/// characters, bidi overrides, quotes, markup, purl syntax, empty versions, licenses that are
/// ids, expressions, deprecated ids, free text and garbage), plus duplicates of one purl at two
/// locations.
fn synthetic() -> SbomDocument {
    let sets = license_sets();
    let mut packages = Vec::new();
    for (i, eco) in every_ecosystem().into_iter().enumerate() {
        let ns = namespace(eco);
        let ty = eco.purl_type();
        let mut plain = package(
            eco,
            "plain",
            "1.0.0-1",
            Purl::new(ty, ns, "plain", Some("1.0.0-1")).unwrap(),
            sets[i % sets.len()].clone(),
            "plain/path",
        );
        if matches!(eco, Ecosystem::Deb | Ecosystem::Apk | Ecosystem::Rpm) {
            plain.arch = Some("amd64".to_owned());
            plain.source_package = Some(SourcePackage {
                name: "plain-src".to_owned(),
                version: "1.0.0-1".to_owned(),
            });
            plain.purl = plain
                .purl
                .clone()
                .with_qualifier("arch", "amd64")
                .unwrap()
                .with_qualifier("distro", "debian-12")
                .unwrap();
        }
        packages.push(plain);
        for (j, h) in HOSTILE.iter().enumerate() {
            let name = format!("n{h}");
            let version = if j % 3 == 0 {
                String::new()
            } else {
                (*h).to_owned()
            };
            let Ok(mut purl) = Purl::new(ty, ns, &name, Some(&version)) else {
                continue;
            };
            purl = purl.with_qualifier("q", h).unwrap().with_subpath(h);
            let mut p = package(
                eco,
                if j == 1 { "" } else { &name },
                &version,
                purl,
                sets[(i + j + 1) % sets.len()].clone(),
                &format!("dir{h}/file"),
            );
            p.arch = Some((*h).to_owned());
            p.source_package = Some(SourcePackage {
                name: (*h).to_owned(),
                version: (*h).to_owned(),
            });
            p.locations[0].layer = (j % 2 == 0).then(|| (*h).to_owned());
            packages.push(p);
        }
    }
    // The same purl found twice (two site-packages), with different licenses: one entry.
    let twice = Purl::new("pypi", None, "twice", Some("2.0")).unwrap();
    packages.push(package(
        Ecosystem::PyPI,
        "twice",
        "2.0",
        twice.clone(),
        vec!["MIT".to_owned()],
        "usr/lib/python3/dist-packages/twice-2.0.dist-info/METADATA",
    ));
    packages.push(package(
        Ecosystem::PyPI,
        "Twice",
        "2.0",
        twice,
        vec!["BSD License".to_owned(), "MIT".to_owned()],
        "opt/venv/lib/python3.12/site-packages/twice-2.0.dist-info/METADATA",
    ));
    SbomDocument {
        subject: Subject {
            name: "registry.example:5000/team/app:1.2\u{0}é".to_owned(),
            kind: SubjectKind::ContainerImage,
            repository: Some("registry.example:5000/team/app".to_owned()),
            manifest_digest: Some(format!("sha256:{}", "a".repeat(64))),
            config_digest: Some(format!("sha256:{}", "b".repeat(64))),
            repo_digests: vec![format!(
                "registry.example:5000/team/app@sha256:{}",
                "a".repeat(64)
            )],
            tags: vec!["1.2".to_owned(), "latest".to_owned()],
            platform: Some("linux/arm64/v8".to_owned()),
            layers: (0..12).map(|i| format!("sha256:{i:064x}")).collect(),
        },
        distro: Some(Distro {
            id: "debian\u{1b}".to_owned(),
            version_id: Some(String::new()),
            codename: Some("book\nworm".to_owned()),
        }),
        packages,
        tool: tool(),
    }
}

fn tool() -> Tool {
    Tool {
        name: "rampart".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
    }
}

/// This machine's dpkg database, through the dpkg cataloger.
fn real_dpkg() -> (Option<Distro>, Vec<Package>) {
    let distro = Distro::from_os_release(&std::fs::read("/etc/os-release").unwrap());
    let ctx = CatalogContext {
        distro: distro.clone(),
    };
    let pkgs = Dpkg
        .parse(
            "var/lib/dpkg/status",
            &std::fs::read("/var/lib/dpkg/status").unwrap(),
            &ctx,
        )
        .unwrap();
    assert!(pkgs.len() > 50, "only {} dpkg packages", pkgs.len());
    (distro, pkgs)
}

/// The oracle venv's installed Python distributions, through the Python cataloger.
fn real_python() -> Vec<Package> {
    let lib = common::oracles().join("venv/lib");
    let pkgs = common::catalog_tree(&lib, &PythonMetadata);
    assert!(pkgs.len() > 20, "only {} Python packages", pkgs.len());
    assert!(
        pkgs.iter().filter(|p| !p.licenses.is_empty()).count() > 10,
        "too few Python packages state a license"
    );
    pkgs
}

// ---------------------------------------------------------------------------------------------
// Tests

#[test]
fn synthetic_packages_of_every_ecosystem_give_valid_documents() {
    let doc = synthetic();
    let (cdx, spdx) = check(&doc, "synthetic");
    // The hostile strings come back unchanged.
    let text = serde_json::to_string(&cdx).unwrap();
    assert!(text.contains(&serde_json::to_string("\u{0}\u{1}\u{1b}[31mred\u{7f}").unwrap()[1..]));
    // Licenses: listed ids as ids, expressions as expressions, text as names / LicenseRefs.
    let comp = |name: &str, eco: Ecosystem| {
        cdx["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| {
                c["name"] == name
                    && c["purl"]
                        .as_str()
                        .is_some_and(|p| p.starts_with(&format!("pkg:{}/", eco.purl_type())))
            })
            .unwrap()
            .clone()
    };
    // Ecosystem index 2 (rpm) has set 2: `mit`, `GPL-2.0+`, `MIT` (deduplicated).
    assert_eq!(
        comp("plain", Ecosystem::Rpm)["licenses"],
        serde_json::json!([{"license": {"id": "MIT"}}, {"license": {"id": "GPL-2.0-or-later"}}])
    );
    assert_eq!(
        comp("plain", Ecosystem::PyPI)["licenses"],
        serde_json::json!([{"expression": "MIT OR Apache-2.0"}])
    );
    // Merged: the first in sort order (`Twice` < `twice`) names it.
    let twice = comp("Twice", Ecosystem::PyPI);
    assert_eq!(
        twice["licenses"],
        serde_json::json!([{"license": {"name": "BSD License"}}, {"license": {"id": "MIT"}}])
    );
    assert_eq!(
        twice["evidence"]["occurrences"].as_array().unwrap().len(),
        2
    );
    let spdx_twice = spdx["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Twice")
        .unwrap();
    let declared = spdx_twice["licenseDeclared"].as_str().unwrap();
    assert!(
        declared.starts_with("LicenseRef-BSD-License-") && declared.ends_with(" AND MIT"),
        "{declared}"
    );
}

#[test]
fn real_dpkg_and_python_packages_give_valid_documents() {
    let (distro, mut packages) = real_dpkg();
    packages.extend(real_python());
    let doc = SbomDocument {
        subject: Subject {
            name: "/".to_owned(),
            kind: SubjectKind::Filesystem,
            ..Subject::default()
        },
        distro,
        packages,
        tool: tool(),
    };
    let (cdx, spdx) = check(&doc, "real");
    assert_eq!(cdx["metadata"]["component"]["type"], "file");
    assert_eq!(spdx["packages"][0]["primaryPackagePurpose"], "FILE");
}

#[test]
fn negative_controls_each_validator_rejects_a_broken_document() {
    let dir = tempfile::tempdir().unwrap();
    let doc = synthetic();
    let opts = Options::reproducible(None);
    let write = |name: &str, v: &Value| {
        let f = dir.path().join(name);
        std::fs::write(&f, v.to_string()).unwrap();
        f
    };

    let cdx: Value = serde_json::from_str(&cyclonedx_json(&doc, &opts)).unwrap();
    assert!(cyclonedx_schema(&write("ok.cdx.json", &cdx)).is_ok());
    // A license id outside the SPDX list: only the referenced spdx.schema.json catches it, so
    // this also proves the `$ref` is resolved.
    let mut bad_id = cdx.clone();
    bad_id["components"][1]["licenses"] = serde_json::json!([{"license": {"id": "Not-A-License"}}]);
    let bad_id = write("bad-id.cdx.json", &bad_id);
    assert!(cyclonedx_schema(&bad_id).is_err());
    assert!(cyclonedx_lib(&bad_id).is_err());
    // An unknown field (strict) and a component type outside the enum.
    let mut bad = cdx.clone();
    bad["components"][1]["type"] = "librarry".into();
    bad["metadata"]["surprise"] = true.into();
    let bad = write("bad.cdx.json", &bad);
    assert!(cyclonedx_schema(&bad).is_err());
    assert!(cyclonedx_lib(&bad).is_err());
    // Schema-valid, but a dependency on a component that is not in the BOM: only the object
    // model sees it.
    let mut dangling = cdx.clone();
    dangling["dependencies"][0]["dependsOn"]
        .as_array_mut()
        .unwrap()
        .push("pkg:npm/nowhere@1".into());
    let dangling = write("dangling.cdx.json", &dangling);
    assert!(cyclonedx_schema(&dangling).is_ok());
    assert!(cyclonedx_lib(&dangling).is_err());

    let spdx: Value = serde_json::from_str(&spdx_json(&doc, &opts)).unwrap();
    // Schema-valid, but a LicenseRef without its hasExtractedLicensingInfos entry and a
    // relationship to an element that does not exist: only spdx-tools sees them.
    let mut undefined = spdx.clone();
    undefined["packages"][3]["licenseDeclared"] = "LicenseRef-undefined".into();
    undefined["relationships"][1]["relatedSpdxElement"] = "SPDXRef-nowhere".into();
    let undefined = write("undefined.spdx.json", &undefined);
    assert!(spdx_schema(&undefined).is_ok());
    let err = spdx_tools(&undefined).unwrap_err();
    assert!(
        err.contains("LicenseRef-undefined") && err.contains("SPDXRef-nowhere"),
        "{err}"
    );
    // A package without its required SPDXID and a bad purpose: both validators object.
    let mut broken = spdx.clone();
    broken["packages"][2]
        .as_object_mut()
        .unwrap()
        .remove("SPDXID");
    broken["packages"][3]["primaryPackagePurpose"] = "GADGET".into();
    let broken = write("broken.spdx.json", &broken);
    assert!(spdx_schema(&broken).is_err());
    assert!(spdx_tools(&broken).is_err());
    // `Apache-2.0+` is tolerated (known limitation), `Apache-2.0++` is not.
    let mut plus = spdx.clone();
    plus["packages"][3]["licenseDeclared"] = "Apache-2.0++".into();
    assert!(spdx_tools(&write("plus.spdx.json", &plus)).is_err());
}

#[test]
fn same_input_same_bytes_in_any_order() {
    let doc = synthetic();
    let opts = Options::reproducible(Some(1_700_000_000));
    let cdx = cyclonedx_json(&doc, &opts);
    let spdx = spdx_json(&doc, &opts);
    assert_eq!(cdx, cyclonedx_json(&doc, &opts));
    assert_eq!(spdx, spdx_json(&doc, &opts));
    let mut shuffled = doc.clone();
    shuffled.packages.reverse();
    let mid = shuffled.packages.len() / 3;
    shuffled.packages.rotate_left(mid);
    assert_eq!(cdx, cyclonedx_json(&shuffled, &opts));
    assert_eq!(spdx, spdx_json(&shuffled, &opts));

    // Packages are sorted by purl, properties by name.
    let v: Value = serde_json::from_str(&cdx).unwrap();
    let purls: Vec<&str> = v["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["purl"].as_str())
        .collect();
    let mut sorted = purls.clone();
    sorted.sort_unstable();
    assert_eq!(purls, sorted);
    let layers: Vec<&str> = v["metadata"]["component"]["properties"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| {
            p["name"]
                .as_str()
                .unwrap()
                .starts_with("rampart:image:layer:")
        })
        .map(|p| p["value"].as_str().unwrap())
        .collect();
    assert_eq!(layers, doc.subject.layers, "layers keep their order");
}

#[test]
fn reproducible_ids_follow_the_content_and_the_clock_follows_the_options() {
    let doc = synthetic();
    let ids = |doc: &SbomDocument, opts: &Options| {
        let cdx: Value = serde_json::from_str(&cyclonedx_json(doc, opts)).unwrap();
        let spdx: Value = serde_json::from_str(&spdx_json(doc, opts)).unwrap();
        (
            cdx["serialNumber"].as_str().unwrap().to_owned(),
            spdx["documentNamespace"].as_str().unwrap().to_owned(),
            cdx["metadata"]["timestamp"].as_str().unwrap().to_owned(),
            spdx["creationInfo"]["created"].as_str().unwrap().to_owned(),
        )
    };
    let repro = Options::reproducible(None);
    let base = ids(&doc, &repro);
    assert_eq!(base.2, "1970-01-01T00:00:00Z");
    assert_eq!(base.3, base.2);
    // UUID version 8 (name-based, SHA-256).
    assert_eq!(&base.0[23..24], "8", "{}", base.0);
    assert!(base.1.starts_with("https://rampart.invalid/spdx/"));

    let mut changed = doc.clone();
    changed.packages[0].version.push('1');
    let other = ids(&changed, &repro);
    assert_ne!(other.0, base.0);
    assert_ne!(other.1, base.1);
    let mut renamed = doc.clone();
    renamed.subject.name = "other".to_owned();
    assert_ne!(ids(&renamed, &repro).0, base.0);

    // SOURCE_DATE_EPOCH sets the time (and so the id); `date` computes the expected text.
    let epoch = 1_234_567_890;
    let out = Command::new("date")
        .args(["-u", "-d", &format!("@{epoch}"), "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .unwrap();
    let want = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let dated = ids(&doc, &Options::reproducible(Some(epoch)));
    assert_eq!(
        (dated.2.as_str(), dated.3.as_str()),
        (want.as_str(), want.as_str())
    );
    assert_ne!(dated.0, base.0);
    assert_eq!(
        rampart_sbom::format::parse_source_date_epoch(&epoch.to_string()),
        Ok(epoch)
    );

    // Not reproducible: the given clock (to the second) and a v4 UUID from the given bytes.
    let fresh = |random: [u8; 16]| Options {
        reproducible: false,
        source_date_epoch: Some(epoch),
        now: "2025-03-04T05:06:07.891Z".parse().unwrap(),
        random,
    };
    let a = ids(&doc, &fresh([1; 16]));
    assert_eq!(a.2, "2025-03-04T05:06:07Z");
    assert_eq!(&a.0[23..24], "4", "{}", a.0);
    assert_eq!(a, ids(&doc, &fresh([1; 16])));
    assert_ne!(a.0, ids(&doc, &fresh([2; 16])).0);
    // The operating system's randomness gives different ids.
    let now = jiff::Timestamp::now();
    let r1 = ids(&doc, &Options::fresh(now).unwrap());
    let r2 = ids(&doc, &Options::fresh(now).unwrap());
    assert_ne!(r1.0, r2.0);
}

fn small() -> SbomDocument {
    let distro = Distro {
        id: "debian".to_owned(),
        version_id: Some("12".to_owned()),
        codename: Some("bookworm".to_owned()),
    };
    let deb = |name: &str, version: &str, src: &str, licenses: &[&str]| {
        let purl = Purl::new("deb", Some("debian"), name, Some(version))
            .unwrap()
            .with_qualifier("arch", "amd64")
            .unwrap()
            .with_qualifier("distro", "debian-12")
            .unwrap();
        Package {
            name: name.to_owned(),
            version: version.to_owned(),
            ecosystem: Ecosystem::Deb,
            purl,
            licenses: licenses.iter().map(|l| (*l).to_owned()).collect(),
            source_package: Some(SourcePackage {
                name: src.to_owned(),
                version: version.to_owned(),
            }),
            locations: vec![PackageLocation {
                path: "var/lib/dpkg/status".to_owned(),
                layer: Some(format!("sha256:{}", "1".repeat(64))),
            }],
            arch: Some("amd64".to_owned()),
        }
    };
    let npm = Package {
        name: "@types/node".to_owned(),
        version: "22.1.0".to_owned(),
        ecosystem: Ecosystem::Npm,
        purl: Purl::new("npm", Some("@types"), "node", Some("22.1.0")).unwrap(),
        licenses: vec!["MIT".to_owned()],
        source_package: None,
        locations: vec![PackageLocation {
            path: "app/node_modules/@types/node/package.json".to_owned(),
            layer: Some(format!("sha256:{}", "2".repeat(64))),
        }],
        arch: None,
    };
    let py = Package {
        name: "six".to_owned(),
        version: "1.16.0".to_owned(),
        ecosystem: Ecosystem::PyPI,
        purl: Purl::new("pypi", None, "six", Some("1.16.0")).unwrap(),
        licenses: vec!["MIT License".to_owned()],
        source_package: None,
        locations: vec![PackageLocation {
            path: "usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA".to_owned(),
            layer: None,
        }],
        arch: None,
    };
    SbomDocument {
        subject: Subject {
            name: "debian:bookworm".to_owned(),
            kind: SubjectKind::ContainerImage,
            repository: Some("docker.io/library/debian".to_owned()),
            manifest_digest: Some(format!("sha256:{}", "a".repeat(64))),
            config_digest: Some(format!("sha256:{}", "b".repeat(64))),
            repo_digests: vec![],
            tags: vec!["bookworm".to_owned()],
            platform: Some("linux/amd64".to_owned()),
            layers: vec![
                format!("sha256:{}", "1".repeat(64)),
                format!("sha256:{}", "2".repeat(64)),
            ],
        },
        distro: Some(distro),
        packages: vec![
            py,
            npm,
            deb("libssl3", "3.0.15-1~deb12u1", "openssl", &["Apache-2.0"]),
            deb(
                "libc6",
                "2.36-9+deb12u9",
                "glibc",
                &["LGPL-2.1", "GPL-2.0+"],
            ),
        ],
        tool: Tool {
            name: "rampart".to_owned(),
            version: "0.1.0".to_owned(),
        },
    }
}

#[test]
fn snapshots_of_a_small_document() {
    let doc = small();
    let opts = Options::reproducible(None);
    let (cdx, spdx) = check(&doc, "small");
    insta::assert_snapshot!("small.cdx.json", cyclonedx_json(&doc, &opts));
    insta::assert_snapshot!("small.spdx.json", spdx_json(&doc, &opts));
    // The subject's purl, read back by the purl parser (tested on the purl-spec suite).
    for text in [
        &cdx["metadata"]["component"]["purl"],
        &spdx["packages"][0]["externalRefs"][0]["referenceLocator"],
    ] {
        let purl: Purl = text.as_str().unwrap().parse().unwrap();
        assert_eq!(
            (purl.ty(), purl.namespace(), purl.name(), purl.version()),
            (
                "oci",
                None,
                "debian",
                doc.subject.manifest_digest.as_deref()
            )
        );
        let q = purl.qualifiers();
        assert_eq!(q["repository_url"], "docker.io/library/debian");
        assert_eq!(q["arch"], "amd64");
        assert_eq!(q["tag"], "bookworm");
    }
    assert_eq!(
        spdx["packages"][1]["primaryPackagePurpose"],
        "OPERATING_SYSTEM"
    );
}

#[test]
fn the_id_list_is_the_official_schemas() {
    let schema: Value =
        serde_json::from_slice(&std::fs::read(data("cyclonedx/spdx.schema.json")).unwrap())
            .unwrap();
    let mut official: Vec<&str> = schema["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    official.sort_unstable();
    let ours = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src/format/cyclonedx-spdx-ids.txt"),
    )
    .unwrap();
    assert_eq!(ours.lines().collect::<Vec<_>>(), official);
}

/// `Options::from_env` reads `SOURCE_DATE_EPOCH`; the environment is process-wide, so each case
/// runs this test again in a child process with the variable set (or unset).
#[test]
fn options_from_env_read_source_date_epoch() {
    const CHILD: &str = "RAMPART_SBOM_FROM_ENV_CASE";
    if let Ok(case) = std::env::var(CHILD) {
        match case.as_str() {
            "set" => assert_eq!(
                Options::from_env(true),
                Ok(Options::reproducible(Some(1_234_567_890)))
            ),
            "unset" => assert_eq!(Options::from_env(true), Ok(Options::reproducible(None))),
            "bad" => assert_eq!(
                Options::from_env(true),
                Err(FormatError::SourceDateEpoch("soon".to_owned()))
            ),
            "fresh" => {
                let a = Options::from_env(false).unwrap();
                let b = Options::from_env(false).unwrap();
                assert!(!a.reproducible && !b.reproducible);
                assert_ne!(a.random, b.random);
            }
            other => panic!("unknown case {other}"),
        }
        return;
    }
    for (case, value) in [
        ("set", Some("1234567890")),
        ("unset", None),
        ("bad", Some("soon")),
        ("fresh", Some("1234567890")),
    ] {
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.args([
            "--exact",
            "options_from_env_read_source_date_epoch",
            "--test-threads=1",
        ])
        .env(CHILD, case);
        match value {
            Some(v) => cmd.env(rampart_sbom::format::SOURCE_DATE_EPOCH, v),
            None => cmd.env_remove(rampart_sbom::format::SOURCE_DATE_EPOCH),
        };
        let out = cmd.output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("1 passed"),
            "case {case}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
