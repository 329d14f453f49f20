//! Go build information read from real Go binaries, against `go version -m`. The toolchain is
//! Debian's golang-1.19 (fetched with `apt-get download`, unpacked with `dpkg-deb`, no system
//! change); the binaries are the toolchain's own (`go`, `gofmt`, `pkg/tool/*`) and two programs
//! the test builds offline: one with a local directory replacement, one vendored with a
//! replacement by another module.

mod common;

use std::path::Path;

use rampart_sbom::catalog::{go_binary, is_elf, parse_go_buildinfo};

const GO: &str = "root/usr/lib/go-1.19/bin/go";

fn write(dir: &Path, rel: &str, text: &str) -> Result<(), std::io::Error> {
    let p = dir.join(rel);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(p, text)
}

fn build(dir: &Path, app: &str, mod_flag: &str) -> String {
    let go = dir.join(GO);
    let go = go.to_string_lossy().into_owned();
    let app_dir = dir.join(app);
    let cache = dir.join("gocache");
    let gopath = dir.join("gopath");
    common::run(
        &app_dir,
        300,
        "env",
        &[
            "GOPROXY=off",
            &format!("GOFLAGS={mod_flag}"),
            &format!("GOCACHE={}", cache.display()),
            &format!("GOPATH={}", gopath.display()),
            "GOTOOLCHAIN=local",
            &go,
            "build",
            "-o",
            "app",
            ".",
        ],
    );
    app_dir.join("app").to_string_lossy().into_owned()
}

/// (path, version, sum, replacement path, replacement version) as `go version -m` prints them.
type Row = (String, String, String, String, String);

#[derive(Debug, Default, PartialEq)]
struct Oracle {
    go_version: String,
    path: String,
    main: Option<(String, String)>,
    deps: Vec<Row>,
}

fn oracle(dir: &Path, file: &str) -> Oracle {
    let out = common::run(
        dir,
        60,
        &dir.join(GO).to_string_lossy(),
        &["version", "-m", file],
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut o = Oracle::default();
    for line in text.lines() {
        let Some(l) = line.strip_prefix('\t') else {
            o.go_version = line.rsplit(": ").next().unwrap_or_default().to_owned();
            continue;
        };
        let f: Vec<&str> = l.split('\t').collect();
        let get = |i: usize| f.get(i).copied().unwrap_or_default().to_owned();
        match f.first().copied() {
            Some("path") => o.path = get(1),
            Some("mod") => o.main = Some((get(1), get(2))),
            Some("dep") => o
                .deps
                .push((get(1), get(2), get(3), String::new(), String::new())),
            Some("=>") => {
                if let Some(last) = o.deps.last_mut() {
                    last.3 = get(1);
                    last.4 = get(2);
                }
            }
            _ => {}
        }
    }
    o
}

#[test]
fn go_binaries_match_go_version_m() -> Result<(), Box<dyn std::error::Error>> {
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path();
    common::unpack_debian_packages(dir, &["golang-1.19-go", "golang-1.19-src"]);

    write(dir, "lib/go.mod", "module example.com/lib\n\ngo 1.19\n")?;
    write(
        dir,
        "lib/lib.go",
        "package lib\n\nfunc Hi() string { return \"hi\" }\n",
    )?;
    write(
        dir,
        "app/go.mod",
        "module example.com/app\n\ngo 1.19\n\nrequire example.com/lib v1.2.3\n\nreplace example.com/lib v1.2.3 => ../lib\n",
    )?;
    write(
        dir,
        "app/main.go",
        "package main\n\nimport \"example.com/lib\"\n\nfunc main() { println(lib.Hi()) }\n",
    )?;
    write(
        dir,
        "app2/go.mod",
        "module example.com/app2\n\ngo 1.19\n\nrequire (\n\texample.com/dep v1.0.0\n\texample.com/old v1.0.0\n)\n\nreplace example.com/old v1.0.0 => example.com/new v1.4.0\n",
    )?;
    write(
        dir,
        "app2/vendor/modules.txt",
        "# example.com/dep v1.0.0\n## explicit\nexample.com/dep\n# example.com/old v1.0.0 => example.com/new v1.4.0\n## explicit\nexample.com/old\n",
    )?;
    write(
        dir,
        "app2/vendor/example.com/dep/dep.go",
        "package dep\n\nfunc X() int { return 1 }\n",
    )?;
    write(
        dir,
        "app2/vendor/example.com/old/old.go",
        "package old\n\nfunc Y() int { return 2 }\n",
    )?;
    write(
        dir,
        "app2/main.go",
        "package main\n\nimport (\n\t\"example.com/dep\"\n\t\"example.com/old\"\n)\n\nfunc main() { println(dep.X() + old.Y()) }\n",
    )?;
    let app = build(dir, "app", "-mod=mod");
    let app2 = build(dir, "app2", "-mod=vendor");

    let mut binaries = vec![app.clone(), app2.clone()];
    for (rel, full) in common::walk(&dir.join("root/usr/lib/go-1.19")) {
        if rel.starts_with("bin/") || rel.starts_with("pkg/tool/") {
            binaries.push(full.to_string_lossy().into_owned());
        }
    }
    assert!(binaries.len() >= 10, "{binaries:?}");

    for bin in &binaries {
        let bytes = std::fs::read(bin)?;
        assert!(is_elf(&bytes), "{bin}");
        let want = oracle(dir, bin);
        let info = parse_go_buildinfo(&bytes).ok_or_else(|| format!("{bin}: no build info"))?;
        let got = Oracle {
            go_version: info.go_version.clone(),
            path: info.path.clone().unwrap_or_default(),
            main: info
                .main
                .as_ref()
                .map(|m| (m.path.clone(), m.version.clone())),
            deps: info
                .deps
                .iter()
                .map(|d| {
                    let (rp, rv) = d
                        .replace
                        .as_ref()
                        .map(|r| (r.path.clone(), r.version.clone()))
                        .unwrap_or_default();
                    (
                        d.path.clone(),
                        d.version.clone(),
                        d.sum.clone().unwrap_or_default(),
                        rp,
                        rv,
                    )
                })
                .collect(),
        };
        assert_eq!(got, want, "{bin}");
    }

    eprintln!("go: {} binaries agree with go version -m", binaries.len());
    // Packages: the main module without a version ((devel)), a local replacement keeps the
    // requirement, a module replacement is what was compiled in.
    let purls = |bin: &str| -> Result<Vec<String>, Box<dyn std::error::Error>> {
        Ok(go_binary(bin, &std::fs::read(bin)?)?
            .iter()
            .map(|p| p.purl.to_string())
            .collect())
    };
    let o1 = oracle(dir, &app);
    let lib = o1.deps.first().ok_or("app: no dep")?;
    assert_eq!(
        purls(&app)?,
        [
            "pkg:golang/example.com/app".to_owned(),
            format!("pkg:golang/{}@{}", lib.0, lib.1)
        ]
    );
    let o2 = oracle(dir, &app2);
    let expected2: Vec<String> = std::iter::once("pkg:golang/example.com/app2".to_owned())
        .chain(o2.deps.iter().map(|d| {
            if d.3.is_empty() {
                format!("pkg:golang/{}@{}", d.0, d.1)
            } else {
                format!("pkg:golang/{}@{}", d.3, d.4)
            }
        }))
        .collect();
    assert_eq!(purls(&app2)?, expected2);
    assert!(
        expected2
            .iter()
            .any(|p| p.contains("example.com/new@v1.4.0"))
    );
    Ok(())
}
