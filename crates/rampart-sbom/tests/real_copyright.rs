//! Debian copyright files: every `/usr/share/doc/*/copyright` on this machine, read by
//! `debian_copyright_licenses` and by python-debian's `debian.copyright` parser (installed into
//! the oracle venv by scripts/install-oracles.sh) as the oracle for the machine-readable ones.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use rampart_sbom::{copyright_package, debian_copyright_licenses};
use serde_json::Value;

/// For each copyright file: `{"dep5": false}` when python-debian says it is not machine
/// readable, else `{"dep5": true, "licenses": [...]}` with the synopsis (first line) of the
/// header's and every paragraph's License, in order, deduplicated; `{"error": ...}` if
/// python-debian cannot read it at all.
const ORACLE: &str = r#"
import json, sys, glob, warnings, logging
warnings.simplefilter("ignore")
logging.disable(logging.CRITICAL)
from debian import copyright as c
out = {}
for path in sorted(glob.glob("/usr/share/doc/*/copyright")):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            cr = c.Copyright(f, strict=False)
    except c.NotMachineReadableError:
        out[path] = {"dep5": False}
        continue
    except Exception as e:
        out[path] = {"error": repr(e)}
        continue
    ls = []
    def add(lic):
        if lic is None:
            return
        s = (lic.synopsis or "").strip()
        if s and s not in ls:
            ls.append(s)
    try:
        add(cr.header.license)
        for p in cr.all_paragraphs():
            add(p.license)
    except Exception as e:  # License fields are parsed lazily
        out[path] = {"error": repr(e)}
        continue
    out[path] = {"dep5": True, "licenses": ls}
print(json.dumps(out))
"#;

#[test]
fn copyright_files_match_python_debian() -> Result<(), Box<dyn std::error::Error>> {
    let dir = common::oracles();
    let py = dir.join("venv/bin/python");
    let out = common::run(
        Path::new("/"),
        300,
        py.to_str().ok_or("path")?,
        &["-c", ORACLE],
    );
    let want: BTreeMap<String, Value> = serde_json::from_slice(&out.stdout)?;
    assert!(want.len() > 100, "only {} copyright files", want.len());

    let (mut dep5, mut free, mut errors, mut with_licenses) = (0, 0, 0, 0);
    let mut mismatches = Vec::new();
    for (path, v) in &want {
        let got = debian_copyright_licenses(&std::fs::read(path)?);
        assert!(copyright_package(path).is_some(), "{path}");
        if let Some(e) = v.get("error") {
            eprintln!("python-debian cannot read {path}: {e}; ours: {got:?}");
            errors += 1;
            continue;
        }
        let expected: Vec<String> = if v.get("dep5") == Some(&Value::Bool(true)) {
            dep5 += 1;
            v.get("licenses")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        } else {
            free += 1;
            Vec::new()
        };
        with_licenses += usize::from(!expected.is_empty());
        if got != expected {
            mismatches.push((path.clone(), got, expected));
        }
    }
    assert!(mismatches.is_empty(), "{mismatches:#?}");
    // The comparison means something: most files here are machine-readable, with licenses.
    assert!(dep5 > 50 && with_licenses > 50, "{dep5} {with_licenses}");
    assert!(
        errors * 20 < want.len(),
        "python-debian failed on {errors} files"
    );
    eprintln!(
        "copyright: {dep5} machine-readable files agree with python-debian, {free} free-form \
         give nothing, {errors} unreadable by python-debian"
    );
    Ok(())
}
