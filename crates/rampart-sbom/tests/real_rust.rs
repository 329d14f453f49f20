//! cargo-auditable data read from a real binary built by `cargo auditable build`, against
//! `cargo metadata` of the same project. cargo-auditable is installed by the test (pinned
//! version, under the target directory, reused across runs).

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use rampart_sbom::catalog::rust_binary;
use serde_json::Value;

#[test]
fn auditable_binary_matches_cargo_metadata() -> Result<(), Box<dyn std::error::Error>> {
    let tools = Path::new(env!("CARGO_TARGET_TMPDIR")).join("tools");
    let tools_s = tools.to_string_lossy().into_owned();
    common::run(
        Path::new(env!("CARGO_TARGET_TMPDIR")),
        900,
        "cargo",
        &[
            "install",
            "--locked",
            "--quiet",
            "--root",
            &tools_s,
            "cargo-auditable",
            "--version",
            "0.7.7",
        ],
    );

    let tmp = tempfile::tempdir()?;
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("src"))?;
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"rampart-auditable-fixture\"\nversion = \"0.3.1\"\nedition = \"2021\"\n\n\
[dependencies]\nitoa = \"1\"\nmemchr = { version = \"2\", default-features = false }\n\n[workspace]\n",
    )?;
    std::fs::write(
        dir.join("src/main.rs"),
        "fn main() {\n    let mut b = itoa::Buffer::new();\n    let s = b.format(42);\n    println!(\"{:?}\", memchr::memchr(b'2', s.as_bytes()));\n}\n",
    )?;
    let path = format!(
        "{}/bin:{}",
        tools.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let target = dir.join("target");
    let target_s = target.to_string_lossy().into_owned();
    common::run(
        dir,
        900,
        "env",
        &[
            &format!("PATH={path}"),
            "cargo",
            "auditable",
            "build",
            "--quiet",
            "--target-dir",
            &target_s,
        ],
    );

    let meta: Value = serde_json::from_slice(
        &common::run(
            dir,
            300,
            "cargo",
            &["metadata", "--format-version", "1", "--locked"],
        )
        .stdout,
    )?;
    let resolved: BTreeSet<&str> = meta
        .pointer("/resolve/nodes")
        .and_then(Value::as_array)
        .ok_or("cargo metadata: no resolve nodes")?
        .iter()
        .filter_map(|n| n.get("id").and_then(Value::as_str))
        .collect();
    let expected: BTreeSet<String> = meta
        .get("packages")
        .and_then(Value::as_array)
        .ok_or("cargo metadata: no packages")?
        .iter()
        .filter(|p| {
            p.get("id")
                .and_then(Value::as_str)
                .is_some_and(|id| resolved.contains(id))
        })
        .filter_map(|p| {
            Some(format!(
                "{}@{}",
                p.get("name")?.as_str()?,
                p.get("version")?.as_str()?
            ))
        })
        .collect();
    assert!(expected.len() >= 3, "{expected:?}");

    let bin = target.join("debug/rampart-auditable-fixture");
    let pkgs = rust_binary("usr/local/bin/fixture", &std::fs::read(&bin)?)?;
    let got: BTreeSet<String> = pkgs
        .iter()
        .map(|p| format!("{}@{}", p.name, p.version))
        .collect();
    eprintln!("cargo-auditable packages: {got:?}");
    assert_eq!(got, expected);
    for p in &pkgs {
        assert_eq!(
            p.purl.to_string(),
            format!("pkg:cargo/{}@{}", p.name, p.version)
        );
    }
    Ok(())
}
