//! Helpers for tests that drive real package managers.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rampart_sbom::{CatalogContext, Cataloger, Package};

/// Runs `program args` under coreutils `timeout` in `dir`; fails the test (never skips) with the
/// command's stderr if it cannot run, times out or exits non-zero.
pub fn run(dir: &Path, secs: u32, program: &str, args: &[&str]) -> Output {
    let out = Command::new("timeout")
        .arg(secs.to_string())
        .arg(program)
        .args(args)
        .current_dir(dir)
        .output();
    let out = match out {
        Ok(o) => o,
        Err(e) => panic_msg(&format!("cannot run {program}: {e}")),
    };
    if !out.status.success() {
        panic_msg(&format!(
            "{program} {args:?} failed ({}; 124 means timeout; is the registry reachable?):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    out
}

#[expect(
    clippy::panic,
    reason = "test helper: a failed prerequisite must fail the test loudly"
)]
pub fn panic_msg(msg: &str) -> ! {
    panic!("{msg}")
}

/// Every regular file under `root` (symlinks not followed), as (path relative to root, full path).
pub fn walk(root: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let Ok(ft) = e.file_type() else { continue };
            let p = e.path();
            if ft.is_dir() {
                stack.push(p);
            } else if ft.is_file() {
                if let Ok(rel) = p.strip_prefix(root) {
                    out.push((rel.to_string_lossy().into_owned(), p.clone()));
                }
            }
        }
    }
    out.sort();
    out
}

/// Runs `cataloger` over every file under `root` it wants, as the layer reader will.
pub fn catalog_tree(root: &Path, cataloger: &dyn Cataloger) -> Vec<Package> {
    let ctx = CatalogContext::default();
    let mut pkgs = Vec::new();
    for (rel, full) in walk(root) {
        if cataloger.wants(&rel) {
            let content = std::fs::read(&full).unwrap_or_default();
            match cataloger.parse(&rel, &content, &ctx) {
                Ok(p) => pkgs.extend(p),
                Err(e) => panic_msg(&format!("{rel}: {e}")),
            }
        }
    }
    pkgs
}

/// Builds a purl from a purl-spec test case's components (`type`, `namespace`, `name`,
/// `version`, `qualifiers`, `subpath`), shared by the spec test-suite tests.
pub fn build_purl(
    c: &serde_json::Map<String, serde_json::Value>,
) -> Result<rampart_sbom::Purl, rampart_sbom::PurlError> {
    use serde_json::Value;
    let s = |k: &str| c.get(k).and_then(Value::as_str);
    let mut p = rampart_sbom::Purl::new(
        s("type").unwrap_or_default(),
        s("namespace"),
        s("name").unwrap_or_default(),
        s("version"),
    )?;
    if let Some(q) = c.get("qualifiers").and_then(Value::as_object) {
        for (k, v) in q {
            p = p.with_qualifier(k, v.as_str().unwrap_or_default())?;
        }
    }
    if let Some(sp) = s("subpath") {
        p = p.with_subpath(sp);
    }
    Ok(p)
}

#[allow(unused_imports, reason = "used by some of the test binaries")]
pub use rampart_testkit::paths::root;

/// The reference validators' directory, installed on first use by scripts/install-oracles.sh
/// (idempotent, flock-guarded); fails the test if they cannot be installed.
pub fn oracles() -> &'static Path {
    rampart_testkit::oracles::dir()
}

/// Downloads Debian packages into `dir` (`apt-get download`, no system change) and unpacks them
/// all into `dir/root`; returns the package files' names.
pub fn unpack_debian_packages(dir: &Path, packages: &[&str]) -> Vec<String> {
    let mut args = vec!["download", "-q"];
    args.extend_from_slice(packages);
    run(dir, 600, "apt-get", &args);
    let debs: Vec<String> = walk(dir)
        .into_iter()
        .filter(|(rel, _)| rel.ends_with(".deb"))
        .map(|(rel, _)| rel)
        .collect();
    for deb in &debs {
        run(dir, 300, "dpkg-deb", &["-x", deb, "root"]);
    }
    debs
}

pub use rampart_testkit::tools::ensure_tools;

/// Installs a JDK (`java`, `jar`) when missing.
pub fn ensure_jdk() {
    ensure_tools(&["java:default-jdk-headless", "jar:default-jdk-headless"]);
}

/// Spec files of small packages: an epoch, a subpackage, epoch 0, non-ASCII vendor.
const RPM_SPECS: &[(&str, &str)] = &[
    (
        "hello.spec",
        "Name: hello-rampart\nVersion: 1.2.3\nRelease: 4.fc40\nEpoch: 2\nSummary: t\n\
         License: MIT AND (Apache-2.0 OR BSD-3-Clause)\nVendor: Rampart Test\nBuildArch: noarch\n\
         %description\nt\n%files\n",
    ),
    (
        "libfoo.spec",
        "%global debug_package %{nil}\nName: libfoo\nVersion: 0.9\nRelease: 1.el9_4\nSummary: t\n\
         License: GPL-2.0-or-later\n%description\nt\n\
         %package -n foo-devel\nSummary: t\nLicense: LGPL-2.1-only\n%description -n foo-devel\nt\n\
         %files\n%files -n foo-devel\n",
    ),
    (
        "zero.spec",
        "%global debug_package %{nil}\nName: zero-epoch\nVersion: 2024.01~rc1\nRelease: 0.1\n\
         Epoch: 0\nSummary: t\nLicense: Zlib\nVendor: Ünïcode Vendor\n%description\nt\n%files\n",
    ),
];

fn ensure_rpm() {
    ensure_tools(&["rpmbuild:rpm", "rpm:rpm", "gpg:gpg"]);
}

/// Builds small packages with rpmbuild, installs them and Debian's archive keys (`gpg-pubkey`
/// entries) into a fresh sqlite rpmdb at `dir/db` with rpm itself, and returns the database
/// bytes.
pub fn build_rpmdb(dir: &Path) -> Vec<u8> {
    ensure_rpm();
    let backend = run(dir, 30, "rpm", &["--eval", "%_db_backend"]);
    assert_eq!(String::from_utf8_lossy(&backend.stdout).trim(), "sqlite");
    let top = dir.join("top");
    let top_def = format!("_topdir {}", top.display());
    for (name, spec) in RPM_SPECS {
        std::fs::write(dir.join(name), spec).unwrap_or_default();
        run(dir, 300, "rpmbuild", &["--define", &top_def, "-bb", name]);
    }
    let rpms: Vec<String> = walk(&top.join("RPMS"))
        .into_iter()
        .filter(|(r, _)| r.ends_with(".rpm"))
        .filter_map(|(_, p)| p.to_str().map(str::to_owned))
        .collect();
    assert_eq!(rpms.len(), 4, "{rpms:?}");
    let db = dir.join("db");
    std::fs::create_dir_all(&db).unwrap_or_default();
    let db_s = db.to_str().unwrap_or_default().to_owned();
    let mut args = vec![
        "-i",
        "--justdb",
        "--nodeps",
        "--noscripts",
        "--dbpath",
        &db_s,
        "--define",
        "_db_backend sqlite",
    ];
    args.extend(rpms.iter().map(String::as_str));
    run(dir, 120, "rpm", &args);
    // Signing keys become `gpg-pubkey` pseudo-packages.
    let keys = run(
        dir,
        60,
        "gpg",
        &[
            "--no-default-keyring",
            "--keyring",
            "/usr/share/keyrings/debian-archive-keyring.gpg",
            "--export",
            "--armor",
        ],
    );
    std::fs::write(dir.join("keys.asc"), &keys.stdout).unwrap_or_default();
    run(
        dir,
        60,
        "rpm",
        &[
            "--dbpath",
            &db_s,
            "--define",
            "_db_backend sqlite",
            "--import",
            "keys.asc",
        ],
    );
    match std::fs::read(db.join("rpmdb.sqlite")) {
        Ok(b) => b,
        Err(e) => panic_msg(&format!("no rpmdb.sqlite: {e}")),
    }
}
