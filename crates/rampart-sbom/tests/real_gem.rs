//! The gemspec cataloger on real installed gem specifications: the ones Debian ships in
//! `libruby3.1` (bundled and default gems) and `ruby-rack` (rubygems-integration), fetched with
//! `apt-get download` and unpacked with `dpkg-deb` (no system change). Oracle: rubygems names
//! every installed specification `<name>-<version>[-<platform>].gemspec`.

mod common;

use std::collections::BTreeSet;

use rampart_sbom::catalog::Gemspec;

#[test]
fn debian_gemspecs_match_rubygems_file_names() -> Result<(), Box<dyn std::error::Error>> {
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path();
    let debs = common::unpack_debian_packages(dir, &["libruby3.1", "ruby-rack"]);
    assert_eq!(debs.len(), 2, "{debs:?}");
    let root = dir.join("root");
    let files: Vec<(String, std::path::PathBuf)> = common::walk(&root)
        .into_iter()
        .filter(|(rel, _)| rel.ends_with(".gemspec"))
        .collect();
    let expected: BTreeSet<String> = files
        .iter()
        .filter_map(|(rel, _)| {
            rel.rsplit('/')
                .next()?
                .strip_suffix(".gemspec")
                .map(str::to_owned)
        })
        .collect();
    assert!(expected.len() > 50, "{expected:?}");
    assert!(expected.iter().any(|e| e.starts_with("rack-")));

    let pkgs = common::catalog_tree(&root, &Gemspec);
    let got: BTreeSet<String> = pkgs
        .iter()
        .map(|p| match p.purl.qualifiers().get("platform") {
            Some(platform) => format!("{}-{}-{platform}", p.name, p.version),
            None => format!("{}-{}", p.name, p.version),
        })
        .collect();
    assert_eq!(got, expected);
    eprintln!("gem: {} gemspecs agree with rubygems file names", got.len());
    assert_eq!(got.len(), pkgs.len());

    // Every specification that declares licenses yields them.
    for (rel, full) in &files {
        let text = std::fs::read(full)?;
        let declares = String::from_utf8_lossy(&text).contains(".licenses = [\"");
        let pkg = pkgs
            .iter()
            .find(|p| p.locations.iter().any(|l| &l.path == rel));
        if declares {
            assert!(
                pkg.is_some_and(|p| !p.licenses.is_empty()),
                "{rel}: licenses not read"
            );
        }
    }
    Ok(())
}
