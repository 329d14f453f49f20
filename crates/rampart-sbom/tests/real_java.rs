//! The Java text parsers (pom.properties, MANIFEST.MF) on real jars from Debian packages,
//! fetched with `apt-get download` and unpacked with `dpkg-deb`, against the JDK's own parsers
//! (`java.util.jar.Manifest`, `java.util.Properties`) run by tests/oracle/JarOracle.java.
//! Entries are taken out of the jars with `unzip -p` (walking archives is the image reader's job).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use rampart_sbom::catalog::{JavaPomProperties, Manifest};
use rampart_sbom::{CatalogContext, Cataloger};

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('\t', "\\t")
        .replace('\n', "\\n")
        .replace('\r', "\\r")
}

#[test]
fn debian_jars_match_the_jdk() -> Result<(), Box<dyn std::error::Error>> {
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path();
    // The oracle needs a JDK (single-file source launch compiles in memory).
    common::ensure_jdk();
    common::unpack_debian_packages(
        dir,
        &[
            "libcommons-lang3-java",
            "libslf4j-java",
            "libcommons-io-java",
            "libguava-java",
        ],
    );
    let jars: Vec<String> = common::walk(&dir.join("root"))
        .into_iter()
        .filter(|(rel, _)| rel.ends_with(".jar"))
        .filter_map(|(_, full)| full.to_str().map(str::to_owned))
        .collect();
    assert!(jars.len() >= 10, "{jars:?}");

    let oracle_src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracle/JarOracle.java");
    let mut args = vec![oracle_src.to_str().ok_or("path")?];
    args.extend(jars.iter().map(String::as_str));
    let out = common::run(dir, 300, "java", &args);
    let mut want_manifest: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut want_poms: BTreeSet<(String, String, String, String, String)> = BTreeSet::new();
    for line in String::from_utf8(out.stdout)?.lines() {
        match line.split('\t').collect::<Vec<_>>().as_slice() {
            [jar, "M", k, v] => {
                want_manifest
                    .entry((*jar).to_owned())
                    .or_default()
                    .insert((*k).to_owned(), (*v).to_owned());
            }
            [jar, "P", entry, g, a, v] => {
                want_poms.insert((
                    (*jar).into(),
                    (*entry).into(),
                    (*g).into(),
                    (*a).into(),
                    (*v).into(),
                ));
            }
            _ => common::panic_msg(&format!("unexpected oracle line {line:?}")),
        }
    }
    assert!(want_poms.len() >= 10 && want_manifest.len() >= 10);

    let ctx = CatalogContext::default();
    let mut got_manifest: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut got_poms = BTreeSet::new();
    for jar in &jars {
        let listing = common::run(dir, 60, "unzip", &["-Z1", jar]);
        for entry in String::from_utf8(listing.stdout)?.lines() {
            let path = format!("{jar}!/{entry}");
            if entry == "META-INF/MANIFEST.MF" {
                let bytes = common::run(dir, 60, "unzip", &["-p", jar, entry]).stdout;
                let m = Manifest::parse(&bytes)?;
                let map = got_manifest.entry(jar.clone()).or_default();
                for (k, v) in &m.main {
                    map.insert(esc(k), esc(v));
                }
            } else if JavaPomProperties.wants(&path) {
                let bytes = common::run(dir, 60, "unzip", &["-p", jar, entry]).stdout;
                for p in JavaPomProperties.parse(&path, &bytes, &ctx)? {
                    assert_eq!(
                        p.purl.to_string(),
                        format!(
                            "pkg:maven/{}/{}@{}",
                            p.purl.namespace().unwrap_or_default(),
                            p.name,
                            p.version
                        )
                    );
                    got_poms.insert((
                        jar.clone(),
                        entry.to_owned(),
                        p.purl.namespace().unwrap_or_default().to_owned(),
                        p.name.clone(),
                        p.version.clone(),
                    ));
                }
            }
        }
    }
    assert_eq!(got_manifest, want_manifest);
    assert_eq!(got_poms, want_poms);
    eprintln!(
        "java: {} jars, {} manifests, {} pom.properties agree with the JDK",
        jars.len(),
        got_manifest.len(),
        got_poms.len()
    );
    Ok(())
}
