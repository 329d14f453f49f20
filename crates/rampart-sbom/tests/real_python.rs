//! The Python cataloger on a real virtual environment populated by pip from PyPI, against
//! `pip list` (names, versions) and Python's own metadata parser (license fields).

mod common;

use std::collections::{BTreeMap, BTreeSet};

use rampart_sbom::catalog::PythonMetadata;
use serde_json::Value;

/// PEP 503 normalization, the form `pip list` names are compared in.
fn pep503(name: &str) -> String {
    let mut out = String::new();
    let mut sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

// License precedence documented on `PythonMetadata`, applied to the fields as Python's
// `importlib.metadata` (the email parser) reads them.
const ORACLE: &str = r#"
import importlib.metadata as m, json
out = {}
for d in m.distributions():
    md = d.metadata
    expr = (md.get("License-Expression") or "").strip()
    lic = (md.get("License") or "").strip()
    if expr:
        ls = [expr]
    elif lic and "\n" not in lic and len(lic) <= 200 and lic.upper() != "UNKNOWN":
        ls = [lic]
    else:
        ls = []
        for c in md.get_all("Classifier") or []:
            parts = [p.strip() for p in c.split("::")]
            if parts[0] == "License" and len(parts) > 1 and parts[-1] and parts[-1] != "OSI Approved":
                if parts[-1] not in ls:
                    ls.append(parts[-1])
    out[md["Name"] + "@" + md["Version"]] = {"licenses": ls, "expr": bool(expr)}
print(json.dumps(out))
"#;

#[test]
fn venv_matches_pip_list_and_python_metadata() -> Result<(), Box<dyn std::error::Error>> {
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path();
    common::run(dir, 120, "python3", &["-m", "venv", "venv"]);
    let py = dir.join("venv/bin/python");
    let py = py.to_str().ok_or("non-UTF-8 temp path")?;
    // attrs and packaging state License-Expression; six and idna state License / classifiers;
    // typing_extensions has an underscore in its name.
    common::run(
        dir,
        300,
        py,
        &[
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-input",
            "--timeout",
            "60",
            "six",
            "idna",
            "attrs",
            "packaging",
            "zipp",
            "typing_extensions",
        ],
    );
    let listed: Value = serde_json::from_slice(
        &common::run(
            dir,
            120,
            py,
            &[
                "-m",
                "pip",
                "list",
                "--format",
                "json",
                "--disable-pip-version-check",
            ],
        )
        .stdout,
    )?;
    let expected: BTreeSet<(String, String)> = listed
        .as_array()
        .ok_or("pip list: expected an array")?
        .iter()
        .filter_map(|e| {
            Some((
                pep503(e.get("name")?.as_str()?),
                e.get("version")?.as_str()?.to_owned(),
            ))
        })
        .collect();
    assert!(expected.len() >= 6, "{expected:?}");

    let pkgs = common::catalog_tree(&dir.join("venv"), &PythonMetadata);
    let got: BTreeSet<(String, String)> = pkgs
        .iter()
        .map(|p| (pep503(&p.name), p.version.clone()))
        .collect();
    assert_eq!(got, expected);
    eprintln!("python: {} distributions agree with pip list", got.len());
    assert_eq!(got.len(), pkgs.len(), "duplicates");
    for p in &pkgs {
        // The purl name is the spec's pypi normalization of the distribution name.
        assert_eq!(p.purl.name(), p.name.to_lowercase().replace('_', "-"));
        assert!(p.purl.to_string().starts_with("pkg:pypi/"), "{}", p.purl);
    }

    let oracle: Value = serde_json::from_slice(&common::run(dir, 120, py, &["-c", ORACLE]).stdout)?;
    let oracle = oracle.as_object().ok_or("oracle: expected an object")?;
    let mut from_expression = 0;
    let mut from_other = 0;
    for p in &pkgs {
        let key = format!("{}@{}", p.name, p.version);
        let o = oracle
            .get(&key)
            .ok_or_else(|| format!("{key} not seen by importlib.metadata"))?;
        let want: Vec<String> =
            serde_json::from_value(o.get("licenses").cloned().unwrap_or_default())?;
        assert_eq!(p.licenses, want, "{key}");
        if o.get("expr").and_then(Value::as_bool) == Some(true) {
            from_expression += 1;
        } else if !want.is_empty() {
            from_other += 1;
        }
    }
    let by_name: BTreeMap<_, _> = pkgs.iter().map(|p| (pep503(&p.name), p)).collect();
    assert!(by_name.contains_key("typing-extensions"));
    assert!(
        from_expression >= 1 && from_other >= 1,
        "license sources not both exercised: {from_expression} {from_other}"
    );
    Ok(())
}
