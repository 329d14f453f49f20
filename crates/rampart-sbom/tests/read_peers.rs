//! SBOMs made by the real Syft and Trivy (scripts/install-peers.sh), and by rampart's own
//! writers, read back with `read_sbom` and compared with rampart's own inventory
//! (`rampart_inspect::inspect`) of the same image: the realistic test image that
//! scripts/build-test-image.sh builds from real package data.
//!
//! The peers run offline, in a network namespace of their own (`unshare --net`), so a tool that
//! tried the network would fail the test rather than reach it. The image is copied with the
//! `/etc/debian_version` every Debian image has (the test image carries only os-release), which
//! Trivy needs to recognise Debian.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use rampart_image::{Image, Source};
use rampart_inspect::{InspectOptions, inspect};
use rampart_sbom::{
    Distro, Ecosystem, Options, Package, ReadError, SbomDocument, SbomFormat, SbomInput, Subject,
    SubjectKind, Tool, cyclonedx_json, read_sbom, spdx_json,
};

/// Runs a script of `scripts/` that prints a directory, once per test binary; fails the test if
/// it cannot.
fn script_dir(cell: &'static OnceLock<PathBuf>, script: &str) -> &'static Path {
    cell.get_or_init(|| {
        let out = Command::new("bash")
            .arg(common::root().join("scripts").join(script))
            .stderr(Stdio::inherit())
            .output()
            .unwrap_or_else(|e| panic!("cannot run scripts/{script}: {e}"));
        assert!(out.status.success(), "scripts/{script} failed");
        PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
    })
}

fn test_image() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    script_dir(&DIR, "build-test-image.sh")
}

/// A copy of the test image's root filesystem with `/etc/debian_version` (this machine's: the
/// image's os-release is this machine's too).
fn rootfs_copy(dir: &Path) -> PathBuf {
    let dst = dir.join("rootfs");
    let ok = Command::new("cp")
        .arg("-a")
        .arg(test_image().join("rootfs"))
        .arg(&dst)
        .status()
        .unwrap()
        .success();
    assert!(ok, "copying the test image failed");
    let version = std::fs::read("/etc/debian_version").expect("this machine is Debian");
    std::fs::write(dst.join("etc/debian_version"), version).unwrap();
    dst
}

/// rampart's inventory of a root filesystem.
fn inventory(rootfs: &Path) -> (Option<Distro>, Vec<Package>) {
    let image = Image::open(&Source::Rootfs(rootfs.to_path_buf()), None).unwrap();
    let opts = InspectOptions {
        secrets: false,
        today: jiff::civil::date(2026, 1, 1),
    };
    let ins = inspect(&image, "rootfs", &opts).unwrap();
    assert!(ins.problems.is_empty(), "{:?}", ins.problems);
    (ins.distro, ins.packages)
}

/// Runs `scripts/peer-sbom.sh args` (a peer tool without network, offline flags); fails the
/// test if it fails.
fn peer_sbom(args: &[&str]) {
    let out = Command::new("bash")
        .arg(common::root().join("scripts/peer-sbom.sh"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run scripts/peer-sbom.sh: {e}"));
    assert!(
        out.status.success(),
        "peer-sbom.sh {args:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Syft's formats: the JSON ones read, the XML and tag-value ones refused.
const SYFT_FORMATS: [(&str, &str); 4] = [
    ("syft cyclonedx", "cyclonedx-json"),
    ("syft spdx", "spdx-json"),
    ("syft cyclonedx-xml", "cyclonedx-xml"),
    ("syft spdx-tag-value", "spdx-tag-value"),
];

/// The SBOMs of `rootfs` by each peer in each format: (label, file).
fn peer_sboms(dir: &Path, rootfs: &Path) -> Vec<(&'static str, PathBuf)> {
    let root = rootfs.to_str().unwrap();
    let mut out = Vec::new();
    // One Syft run writes every format; the XML and tag-value ones are for the refusals.
    let target = format!("dir:{root}");
    let mut args = vec!["syft".to_owned(), target];
    for (label, format) in SYFT_FORMATS {
        let file = dir.join(format!("{}.out", label.replace(' ', "-")));
        args.push(format!("{format}={}", file.display()));
        out.push((label, file));
    }
    peer_sbom(&args.iter().map(String::as_str).collect::<Vec<_>>());
    for (label, format) in [
        ("trivy cyclonedx", "cyclonedx"),
        ("trivy spdx", "spdx-json"),
    ] {
        let file = dir.join(format!("{}.json", label.replace(' ', "-")));
        peer_sbom(&["trivy", "rootfs", root, format, file.to_str().unwrap()]);
        out.push((label, file));
    }
    out
}

/// One ecosystem's comparison of two package sets, by canonical purl.
struct Agreement {
    ecosystem: Ecosystem,
    rampart: usize,
    tool: usize,
    common: usize,
    only_rampart: Vec<String>,
    only_tool: Vec<String>,
}

impl Agreement {
    /// Packages in both over packages in either.
    fn jaccard(&self) -> f64 {
        let union = self.rampart + self.tool - self.common;
        if union == 0 {
            1.0
        } else {
            self.common as f64 / union as f64
        }
    }
}

fn compare(rampart: &[Package], tool: &[Package]) -> Vec<Agreement> {
    let by_eco = |pkgs: &[Package]| {
        let mut m: BTreeMap<Ecosystem, BTreeSet<String>> = BTreeMap::new();
        for p in pkgs {
            m.entry(p.ecosystem).or_default().insert(p.purl.to_string());
        }
        m
    };
    let (r, t) = (by_eco(rampart), by_eco(tool));
    r.keys()
        .chain(t.keys())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .map(|&eco| {
            let empty = BTreeSet::new();
            let (a, b) = (r.get(&eco).unwrap_or(&empty), t.get(&eco).unwrap_or(&empty));
            Agreement {
                ecosystem: eco,
                rampart: a.len(),
                tool: b.len(),
                common: a.intersection(b).count(),
                only_rampart: a.difference(b).cloned().collect(),
                only_tool: b.difference(a).cloned().collect(),
            }
        })
        .collect()
}

/// (ecosystem, name, version) of every package, PyPI names normalized (tools spell them either
/// way).
fn triples(pkgs: &[Package]) -> BTreeSet<(Ecosystem, String, String)> {
    pkgs.iter()
        .map(|p| {
            let name = if p.ecosystem == Ecosystem::PyPI {
                p.name.to_lowercase().replace(['_', '.'], "-")
            } else {
                p.name.clone()
            };
            (p.ecosystem, name, p.version.clone())
        })
        .collect()
}

fn report(label: &str, agreements: &[Agreement]) {
    println!("{label}:");
    for a in agreements {
        println!(
            "  {:<8?} rampart {:>4}  tool {:>4}  both {:>4}  agreement {:>5.1}%",
            a.ecosystem,
            a.rampart,
            a.tool,
            a.common,
            100.0 * a.jaccard()
        );
        for p in a.only_rampart.iter().take(10) {
            println!("      only rampart: {p}");
        }
        for p in a.only_tool.iter().take(10) {
            println!("      only {label}: {p}");
        }
    }
}

/// The least agreement (by purl) asserted per ecosystem present in both; below it a reading
/// (or a cataloger) is broken. The figures measured are printed.
fn least_agreement(eco: Ecosystem) -> f64 {
    match eco {
        // Same dpkg database, same purls: everything.
        Ecosystem::Deb => 1.0,
        // A handful of Go modules: the peers differ on toolchain binaries without modules.
        Ecosystem::Go => 0.5,
        _ => 0.85,
    }
}

#[test]
fn syft_and_trivy_sboms_agree_with_rampart_inventory() {
    let dir = tempfile::tempdir().unwrap();
    let rootfs = rootfs_copy(dir.path());
    let (distro, ours) = inventory(&rootfs);
    let distro = distro.unwrap();
    assert_eq!(
        (distro.id.as_str(), distro.version_id.as_deref()),
        ("debian", Some("12"))
    );
    let our_debs: BTreeMap<String, &Package> = ours
        .iter()
        .filter(|p| p.ecosystem == Ecosystem::Deb)
        .map(|p| (p.purl.to_string(), p))
        .collect();
    for (label, file) in peer_sboms(dir.path(), &rootfs) {
        let bytes = std::fs::read(&file).unwrap();
        // Other encodings: refused, saying what they are.
        let other = match label {
            "syft cyclonedx-xml" => Some("CycloneDX XML"),
            "syft spdx-tag-value" => Some("SPDX tag-value"),
            _ => None,
        };
        if let Some(what) = other {
            assert!(rampart_sbom::looks_like_sbom(&bytes), "{label}");
            match read_sbom(&bytes) {
                Err(ReadError::NotJson { found }) => assert_eq!(found, what, "{label}"),
                r => panic!("{label}: {r:?}"),
            }
            continue;
        }
        assert!(rampart_sbom::looks_like_sbom(&bytes), "{label}");
        let sbom = read_sbom(&bytes).unwrap_or_else(|e| panic!("{label}: {e}"));
        match (&sbom.format, label.ends_with("spdx")) {
            (SbomFormat::Spdx { version }, true) => assert_eq!(version, "2.3", "{label}"),
            (SbomFormat::CycloneDx { spec_version }, false) => {
                assert!(spec_version.starts_with("1."), "{label}: {spec_version}");
            }
            (f, _) => panic!("{label}: read as {f}"),
        }
        // The OS: debian 12 (Trivy states 12.x, the point release, from debian_version).
        let d = sbom
            .distro
            .as_ref()
            .unwrap_or_else(|| panic!("{label}: no OS"));
        assert_eq!(
            (d.id.as_str(), d.version_id.as_deref()),
            ("debian", Some("12")),
            "{label}"
        );
        for s in &sbom.skipped {
            println!("{label}: skipped {s}");
        }
        let agreements = compare(&ours, &sbom.packages);
        report(label, &agreements);
        let mut compared = 0;
        for a in agreements.iter().filter(|a| a.rampart > 0 && a.tool > 0) {
            compared += 1;
            assert!(
                a.jaccard() >= least_agreement(a.ecosystem),
                "{label}: {:?} agreement {:.3} below {}",
                a.ecosystem,
                a.jaccard(),
                least_agreement(a.ecosystem)
            );
        }
        assert!(
            compared >= 4,
            "{label}: only {compared} ecosystems in common"
        );
        // The same (ecosystem, name, version) where purls agree: names and versions are built
        // the way the catalogers build them.
        let (t_ours, t_tool) = (triples(&ours), triples(&sbom.packages));
        let common_purls: usize = agreements.iter().map(|a| a.common).sum();
        let common_triples = t_ours.intersection(&t_tool).count();
        assert!(
            common_triples >= common_purls,
            "{label}: {common_triples} (ecosystem, name, version) in common, {common_purls} purls"
        );
        // Source packages of debs, as both peers state them, equal the dpkg cataloger's.
        let mut same = 0;
        let mut differ = Vec::new();
        for p in sbom
            .packages
            .iter()
            .filter(|p| p.ecosystem == Ecosystem::Deb)
        {
            if let Some(o) = our_debs.get(&p.purl.to_string()) {
                if o.source_package == p.source_package && o.arch == p.arch {
                    same += 1;
                } else {
                    differ.push(format!(
                        "{}: {:?} vs {:?}",
                        p.purl, o.source_package, p.source_package
                    ));
                }
            }
        }
        println!(
            "{label}: deb source packages equal {same}, differ {}",
            differ.len()
        );
        assert!(
            differ.is_empty() && same == our_debs.len(),
            "{label}: {differ:#?}"
        );
    }
}

/// rampart's own CycloneDX and SPDX documents of the test image read back: the same packages
/// (everything but licenses, which the writers classify into SPDX terms), distribution and
/// subject.
#[test]
fn rampart_own_sboms_read_back_to_the_same_packages() {
    let dir = tempfile::tempdir().unwrap();
    let rootfs = rootfs_copy(dir.path());
    let (distro, packages) = inventory(&rootfs);
    let doc = SbomDocument {
        subject: Subject {
            name: "registry.example/shop/web:1.2".to_owned(),
            kind: SubjectKind::ContainerImage,
            repository: Some("registry.example/shop/web".to_owned()),
            manifest_digest: Some(format!("sha256:{}", "ab".repeat(32))),
            ..Subject::default()
        },
        distro: distro.clone(),
        packages: packages.clone(),
        tool: Tool {
            name: "rampart".to_owned(),
            version: "0.1.0".to_owned(),
        },
    };
    let opts = Options::reproducible(None);
    for (label, text) in [
        ("cyclonedx", cyclonedx_json(&doc, &opts)),
        ("spdx", spdx_json(&doc, &opts)),
    ] {
        let sbom: SbomInput = read_sbom(text.as_bytes()).unwrap_or_else(|e| panic!("{label}: {e}"));
        assert_eq!(sbom.distro, distro, "{label}");
        assert_eq!(
            sbom.subject.as_deref(),
            Some(format!("registry.example/shop/web:1.2@sha256:{}", "ab".repeat(32)).as_str()),
            "{label}"
        );
        assert!(sbom.skipped.is_empty(), "{label}: {:?}", sbom.skipped);
        let strip = |pkgs: &[Package]| -> Vec<Package> {
            let mut v: Vec<Package> = pkgs
                .iter()
                .cloned()
                .map(|mut p| {
                    p.licenses.clear();
                    p.locations.sort();
                    p
                })
                .collect();
            v.sort_by_key(|p| p.purl.to_string());
            v
        };
        let (want, got) = (strip(&packages), strip(&sbom.packages));
        assert_eq!(want.len(), got.len(), "{label}");
        for (w, g) in want.iter().zip(&got) {
            assert_eq!(w, g, "{label}");
        }
        // Licenses: every package that states some still does.
        let stated: BTreeSet<String> = packages
            .iter()
            .filter(|p| !p.licenses.is_empty())
            .map(|p| p.purl.to_string())
            .collect();
        let read: BTreeSet<String> = sbom
            .packages
            .iter()
            .filter(|p| !p.licenses.is_empty())
            .map(|p| p.purl.to_string())
            .collect();
        assert_eq!(stated, read, "{label}");
    }
}

/// SBOMs of the test image as an image (Syft on the OCI archive, Trivy on the docker archive):
/// the subject is the image (Syft: the archive with its manifest digest, which rampart's image
/// reader computes too; Trivy: the tag in the archive). The image has no `/etc/debian_version`,
/// so Trivy does not recognise Debian and lists the dpkg packages without purls: each is
/// skipped, by name, with the reason, while the other ecosystems are read.
#[test]
fn image_sboms_name_their_subject_and_list_what_they_cannot_use() {
    let dir = tempfile::tempdir().unwrap();
    let image = test_image();
    let syft_file = dir.path().join("syft.json");
    let oci = image.join("oci.tar");
    peer_sbom(&[
        "syft",
        &format!("oci-archive:{}", oci.display()),
        &format!("cyclonedx-json={}", syft_file.display()),
    ]);
    let opened = Image::open(&Source::OciArchive(oci.clone()), None).unwrap();
    let ins = inspect(
        &opened,
        "oci",
        &InspectOptions {
            secrets: false,
            today: jiff::civil::date(2026, 1, 1),
        },
    )
    .unwrap();
    let manifest = ins.manifest_digest.clone().unwrap();
    let sbom = read_sbom(&std::fs::read(&syft_file).unwrap()).unwrap();
    assert_eq!(
        sbom.subject.as_deref(),
        Some(format!("{}@{manifest}", oci.display()).as_str())
    );

    let trivy_file = dir.path().join("trivy.json");
    peer_sbom(&[
        "trivy",
        "image",
        image.join("docker.tar").to_str().unwrap(),
        "cyclonedx",
        trivy_file.to_str().unwrap(),
    ]);
    let sbom = read_sbom(&std::fs::read(&trivy_file).unwrap()).unwrap();
    assert_eq!(
        sbom.subject.as_deref(),
        Some("docker.io/library/test:latest")
    );
    assert_eq!(sbom.distro, None);
    let debs: BTreeSet<&str> = ins
        .packages
        .iter()
        .filter(|p| p.ecosystem == Ecosystem::Deb)
        .map(|p| p.name.as_str())
        .collect();
    let skipped: BTreeSet<&str> = sbom
        .skipped
        .iter()
        .filter(|s| s.reason == rampart_sbom::SkipReason::NoPurl)
        .filter_map(|s| s.name.as_deref())
        .collect();
    assert_eq!(skipped, debs);
    assert_eq!(sbom.skipped.len(), debs.len(), "{:?}", sbom.skipped);
    for eco in [Ecosystem::PyPI, Ecosystem::Npm] {
        let ours: BTreeSet<String> = ins
            .packages
            .iter()
            .filter(|p| p.ecosystem == eco)
            .map(|p| p.purl.to_string())
            .collect();
        let theirs: BTreeSet<String> = sbom
            .packages
            .iter()
            .filter(|p| p.ecosystem == eco)
            .map(|p| p.purl.to_string())
            .collect();
        assert!(
            ours.is_subset(&theirs),
            "{eco:?}: {:?}",
            ours.difference(&theirs)
        );
    }
    // Trivy states the layer each file came from: the image's diff ids.
    let layered = sbom
        .packages
        .iter()
        .flat_map(|p| &p.locations)
        .filter(|l| l.layer.as_deref().is_some_and(|d| d.starts_with("sha256:")))
        .count();
    assert!(layered > 0);
}

/// A Fedora root filesystem whose rpmdb rpm itself wrote (packages built with rpmbuild, one
/// with epoch 2, one with epoch 0): every peer's SBOM gives rampart's rpm packages, epochs
/// included, except that Trivy drops an epoch of 0 (the same version to rpm: a missing epoch
/// is 0), which is printed and checked as the only difference.
#[test]
fn rpm_sboms_keep_epochs() {
    let dir = tempfile::tempdir().unwrap();
    let build = dir.path().join("build");
    std::fs::create_dir_all(&build).unwrap();
    let db = common::build_rpmdb(&build);
    let root = dir.path().join("rootfs");
    std::fs::create_dir_all(root.join("var/lib/rpm")).unwrap();
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(root.join("var/lib/rpm/rpmdb.sqlite"), db).unwrap();
    std::fs::write(
        root.join("etc/os-release"),
        "NAME=\"Fedora Linux\"\nVERSION=\"40 (Forty)\"\nID=fedora\nVERSION_ID=40\n",
    )
    .unwrap();
    // What Trivy recognises Fedora by.
    std::fs::write(
        root.join("etc/fedora-release"),
        "Fedora release 40 (Forty)\n",
    )
    .unwrap();
    let (distro, ours) = inventory(&root);
    assert_eq!(
        distro.as_ref().map(|d| d.purl_qualifier()).as_deref(),
        Some("fedora-40")
    );
    // (purl, version, source name, source version)
    let rows = |pkgs: &[Package]| -> BTreeSet<(String, String, String, String)> {
        pkgs.iter()
            .map(|p| {
                let s = p.source_package.clone().unwrap();
                (p.purl.to_string(), p.version.clone(), s.name, s.version)
            })
            .collect()
    };
    let ours = rows(&ours);
    assert_eq!(ours.len(), 4, "{ours:?}");
    assert!(
        ours.iter().any(|r| r.1.starts_with("2:")) && ours.iter().any(|r| r.1.starts_with("0:"))
    );
    // Trivy's form: no epoch 0 (the purl's `epoch=0`, the versions' `0:`).
    let zero = |v: &str| v.strip_prefix("0:").unwrap_or(v).to_owned();
    let without_zero: BTreeSet<_> = ours
        .iter()
        .map(|(p, v, sn, sv)| (p.replace("&epoch=0", ""), zero(v), sn.clone(), zero(sv)))
        .collect();
    for (label, file) in peer_sboms(dir.path(), &root) {
        if label.ends_with("-xml") || label.ends_with("tag-value") {
            continue;
        }
        let sbom =
            read_sbom(&std::fs::read(&file).unwrap()).unwrap_or_else(|e| panic!("{label}: {e}"));
        assert_eq!(sbom.distro, distro, "{label}");
        let theirs = rows(&sbom.packages);
        println!("{label}: {theirs:#?}");
        if label.starts_with("trivy") {
            assert_eq!(theirs, without_zero, "{label}");
        } else {
            assert_eq!(theirs, ours, "{label}");
        }
    }
}
