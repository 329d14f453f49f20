//! Rust binaries built with cargo-auditable: the `.dep-v0` ELF section holds the dependency
//! tree as zlib-compressed JSON (`{"packages": [{"name", "version", "source", "kind",
//! "dependencies", "root"}]}`).

use serde_json::Value;

use super::golang::elf_section;
use crate::{CatalogError, Ecosystem, Package, Purl};

/// Largest decompressed `.dep-v0` accepted (cargo-auditable itself caps it at 8 MiB).
const MAX_AUDIT_JSON: usize = 8 * 1024 * 1024;

/// The decompressed cargo-auditable JSON of an ELF binary, if it has a `.dep-v0` section.
pub fn rust_audit_json(content: &[u8]) -> Result<Option<Vec<u8>>, CatalogError> {
    let Some(section) = elf_section(content, b".dep-v0") else {
        return Ok(None);
    };
    inflate_dep_v0(section).map(Some)
}

/// Decompresses the content of a `.dep-v0` section (zlib), within the size cargo-auditable
/// itself allows.
fn inflate_dep_v0(section: &[u8]) -> Result<Vec<u8>, CatalogError> {
    miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(section, MAX_AUDIT_JSON).map_err(|e| {
        CatalogError::Format {
            path: String::new(),
            message: format!(
                "expected zlib data of at most {MAX_AUDIT_JSON} bytes in .dep-v0: {e:?}"
            ),
        }
    })
}

/// Packages of a cargo-auditable binary: every crate compiled in, the root crate included.
/// Build-time-only crates (`"kind": "build"`, proc macros, build scripts' deps) are not in the
/// binary and are skipped. A binary without `.dep-v0` yields no packages.
pub fn rust_binary(path: &str, content: &[u8]) -> Result<Vec<Package>, CatalogError> {
    match elf_section(content, b".dep-v0") {
        Some(section) => rust_dep_v0_packages(path, section),
        None => Ok(Vec::new()),
    }
}

/// Packages from the raw (compressed) content of a `.dep-v0` section, for readers that locate
/// the section themselves (a layer reader streaming a binary).
pub fn rust_dep_v0_packages(path: &str, section: &[u8]) -> Result<Vec<Package>, CatalogError> {
    let json = match inflate_dep_v0(section) {
        Ok(j) => j,
        Err(CatalogError::Format { message, .. }) => {
            return Err(CatalogError::Format {
                path: path.to_owned(),
                message,
            });
        }
        Err(e) => return Err(e),
    };
    let v: Value = serde_json::from_slice(&json).map_err(|source| CatalogError::Json {
        path: path.to_owned(),
        source,
    })?;
    let Some(packages) = v.get("packages").and_then(Value::as_array) else {
        return Err(CatalogError::Format {
            path: path.to_owned(),
            message: "expected a `packages` array in .dep-v0".to_owned(),
        });
    };
    Ok(packages
        .iter()
        .filter(|p| p.get("kind").and_then(Value::as_str).unwrap_or("runtime") == "runtime")
        .filter_map(|p| {
            let name = p.get("name")?.as_str().filter(|n| !n.is_empty())?;
            let version = p.get("version")?.as_str().filter(|v| !v.is_empty())?;
            let purl = Purl::new("cargo", None, name, Some(version)).ok()?;
            Some(Package::new(
                Ecosystem::Cargo,
                name.to_owned(),
                version.to_owned(),
                purl,
                path,
            ))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_section_no_packages() -> Result<(), Box<dyn std::error::Error>> {
        let exe = std::fs::read(std::env::current_exe()?)?;
        assert!(rust_binary("x", &exe)?.is_empty());
        assert!(rust_binary("x", b"\x7fELF\x02\x01garbage")?.is_empty());
        Ok(())
    }
}
