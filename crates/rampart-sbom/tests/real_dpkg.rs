//! The dpkg cataloger on this machine's real dpkg database, against `dpkg-query`.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use rampart_sbom::{CatalogContext, Cataloger, Distro, catalog::Dpkg};

type Row = (String, String, String, String, String);

#[test]
fn dpkg_status_matches_dpkg_query() -> Result<(), Box<dyn std::error::Error>> {
    let out = common::run(
        Path::new("/"),
        60,
        "dpkg-query",
        &[
            "-W",
            "-f=${Package}\\t${Version}\\t${Architecture}\\t${source:Package}\\t${source:Version}\\t${db:Status-Abbrev}\\n",
        ],
    );
    let mut expected: BTreeSet<Row> = BTreeSet::new();
    for line in String::from_utf8(out.stdout)?.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let [name, version, arch, src, src_version, status] = f.as_slice() else {
            common::panic_msg(&format!("unexpected dpkg-query line {line:?}"));
        };
        // Second letter of the abbreviation is the package state: `i` = installed.
        if status.chars().nth(1) == Some('i') {
            expected.insert((
                (*name).into(),
                (*version).into(),
                (*arch).into(),
                (*src).into(),
                (*src_version).into(),
            ));
        }
    }
    assert!(
        expected.len() > 50,
        "suspiciously few installed packages: {}",
        expected.len()
    );

    let distro = Distro::from_os_release(&std::fs::read("/etc/os-release")?);
    let ctx = CatalogContext {
        distro: distro.clone(),
    };
    assert!(Dpkg.wants("/var/lib/dpkg/status"));
    let pkgs = Dpkg.parse(
        "var/lib/dpkg/status",
        &std::fs::read("/var/lib/dpkg/status")?,
        &ctx,
    )?;
    let got: BTreeSet<Row> = pkgs
        .iter()
        .map(|p| {
            let (sn, sv) = p
                .source_package
                .as_ref()
                .map(|s| (s.name.clone(), s.version.clone()))
                .unwrap_or_default();
            (
                p.name.clone(),
                p.version.clone(),
                p.arch.clone().unwrap_or_default(),
                sn,
                sv,
            )
        })
        .collect();
    assert_eq!(got.len(), pkgs.len(), "duplicate packages");
    let missing: Vec<_> = expected.difference(&got).collect();
    let extra: Vec<_> = got.difference(&expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:#?}\nextra {extra:#?}"
    );
    eprintln!(
        "dpkg: {} installed packages agree with dpkg-query",
        got.len()
    );

    // Every purl carries the distro namespace, arch and distro qualifiers.
    let d = distro.ok_or("no /etc/os-release ID")?;
    for p in &pkgs {
        let s = p.purl.to_string();
        assert!(s.starts_with(&format!("pkg:deb/{}/", d.id)), "{s}");
        assert!(
            s.contains("?arch=") && s.contains(&format!("distro={}", d.purl_qualifier())),
            "{s}"
        );
    }
    Ok(())
}

/// Distroless images keep one paragraph per file in `status.d` without a `Status` field; split
/// the real database that way and expect the same packages.
#[test]
fn dpkg_status_d_split_of_real_database() -> Result<(), Box<dyn std::error::Error>> {
    let status = String::from_utf8_lossy(&std::fs::read("/var/lib/dpkg/status")?).into_owned();
    let ctx = CatalogContext::default();
    let whole = Dpkg.parse("var/lib/dpkg/status", status.as_bytes(), &ctx)?;
    let mut split = Vec::new();
    for para in status.split("\n\n") {
        if !para
            .lines()
            .any(|l| l.starts_with("Status:") && l.ends_with(" installed"))
        {
            continue;
        }
        let no_status: String = para
            .lines()
            .filter(|l| !l.starts_with("Status:"))
            .map(|l| format!("{l}\n"))
            .collect();
        let name = para
            .lines()
            .find_map(|l| l.strip_prefix("Package: "))
            .unwrap_or("x");
        let path = format!("var/lib/dpkg/status.d/{name}");
        assert!(Dpkg.wants(&path));
        split.extend(Dpkg.parse(&path, no_status.as_bytes(), &ctx)?);
    }
    let key = |v: &[rampart_sbom::Package]| {
        v.iter()
            .map(|p| (p.name.clone(), p.version.clone(), p.arch.clone()))
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(key(&whole), key(&split));
    Ok(())
}
