//! The composer cataloger on a `vendor/composer/installed.json` written by real composer
//! (Debian's composer 2, installed by the test with apt-get if missing), from a local path
//! repository (offline; packagist disabled), against `composer show` and `composer licenses`.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use rampart_sbom::catalog::Composer;
use rampart_sbom::{CatalogContext, Cataloger};
use serde_json::Value;

#[test]
fn installed_json_matches_composer_show() -> Result<(), Box<dyn std::error::Error>> {
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path();
    common::ensure_tools(&["composer:composer"]);
    let write = |rel: &str, text: &str| -> std::io::Result<()> {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap_or(Path::new("/")))?;
        std::fs::write(p, text)
    };
    // A mixed-case vendor/name (purl lowercases composer names) and two license forms.
    write(
        "pkgs/a/composer.json",
        r#"{"name": "acme/Alpha", "version": "1.2.3", "license": "MIT", "require": {"acme/beta": "^2.0"}}"#,
    )?;
    write(
        "pkgs/b/composer.json",
        r#"{"name": "acme/beta", "version": "2.0.1", "license": ["Apache-2.0", "GPL-2.0-or-later"]}"#,
    )?;
    write(
        "app/composer.json",
        r#"{"name": "acme/app", "repositories": [{"packagist.org": false},
            {"type": "path", "url": "../pkgs/*", "options": {"symlink": false}}],
            "require": {"acme/alpha": "1.2.3"}}"#,
    )?;
    let app = dir.join("app");
    let home = format!("COMPOSER_HOME={}", dir.join("home").display());
    let composer = |args: &[&str]| {
        let mut a = vec![home.as_str(), "composer", "--no-interaction"];
        a.extend(args);
        common::run(&app, 300, "env", &a).stdout
    };
    composer(&["install", "--no-progress"]);

    let shown: Value = serde_json::from_slice(&composer(&["show", "--format=json"]))?;
    let expected: BTreeSet<String> = shown
        .get("installed")
        .and_then(Value::as_array)
        .ok_or("composer show: no `installed`")?
        .iter()
        .filter_map(|p| {
            Some(format!(
                "{}@{}",
                p.get("name")?.as_str()?,
                p.get("version")?.as_str()?
            ))
        })
        .collect();
    assert_eq!(expected.len(), 2, "{expected:?}");

    let path = "app/vendor/composer/installed.json";
    assert!(Composer.wants(path));
    let content = std::fs::read(app.join("vendor/composer/installed.json"))?;
    let pkgs = Composer.parse(path, &content, &CatalogContext::default())?;
    let got: BTreeSet<String> = pkgs
        .iter()
        .map(|p| format!("{}@{}", p.name, p.version))
        .collect();
    assert_eq!(got, expected);

    let licenses: Value = serde_json::from_slice(&composer(&["licenses", "--format=json"]))?;
    let deps = licenses
        .get("dependencies")
        .and_then(Value::as_object)
        .ok_or("composer licenses: no `dependencies`")?;
    for p in &pkgs {
        let want: Vec<String> = deps
            .get(&p.name)
            .and_then(|d| d.get("license"))
            .and_then(Value::as_array)
            .map(|l| {
                l.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .ok_or_else(|| format!("{}: not in composer licenses", p.name))?;
        assert_eq!(p.licenses, want, "{}", p.name);
        let (vendor, name) = p.name.split_once('/').ok_or("no vendor")?;
        assert_eq!(
            p.purl.to_string(),
            format!(
                "pkg:composer/{}/{}@{}",
                vendor.to_lowercase(),
                name.to_lowercase(),
                p.version
            )
        );
    }
    Ok(())
}
