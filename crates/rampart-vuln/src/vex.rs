//! OpenVEX documents (<https://github.com/openvex/spec>): statements that a product is
//! `not_affected` by, or has `fixed`, a vulnerability. A finding covered by such a statement is
//! waived (kept in the report, marked, not counted against the layer); a later `affected` or
//! `under_investigation` statement about the same thing takes precedence over an earlier one.
//! Both the v0.2 form (`vulnerability: {name, aliases}`, `products: [{"@id", subcomponents}]`)
//! and the earlier v0.0.x form (`vulnerability: "CVE-..."`, `products: ["pkg:..."]`,
//! `subcomponents: [...]`) are read.

use std::path::Path;

use serde_json::Value;

use rampart_core::Vulnerability;

/// The most bytes read from one VEX document.
pub const MAX_VEX: u64 = 64 * 1024 * 1024;

/// A VEX document could not be used.
#[derive(Debug, thiserror::Error)]
pub enum VexError {
    /// Unreadable.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Not an OpenVEX document.
    #[error("{path}: not an OpenVEX document: {reason}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

/// A statement's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The product is not affected.
    NotAffected,
    /// The product is affected.
    Affected,
    /// Fixed in the product.
    Fixed,
    /// Not known yet.
    UnderInvestigation,
}

/// One statement.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Statement {
    /// The vulnerability name and aliases.
    pub ids: Vec<String>,
    /// Product identifiers (purls of images or packages, image references).
    pub products: Vec<String>,
    /// Subcomponents (package purls) the statement is limited to; empty: the whole product.
    pub subcomponents: Vec<String>,
    /// The status.
    pub status: Status,
    /// `justification`, `impact_statement` or `status_notes`, for the report.
    pub reason: String,
    /// The document it came from (file, statement index).
    pub source: String,
}

/// Every statement of the loaded documents, in document order (later ones win).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Vex {
    /// The statements.
    pub statements: Vec<Statement>,
}

impl Vex {
    /// Loads OpenVEX documents.
    pub fn load(paths: &[impl AsRef<Path>]) -> Result<Self, VexError> {
        let mut vex = Self::default();
        for p in paths {
            let p = p.as_ref();
            let shown = p.display().to_string();
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(
                &mut std::io::Read::take(
                    std::fs::File::open(p).map_err(|e| VexError::Io {
                        path: shown.clone(),
                        source: e,
                    })?,
                    MAX_VEX + 1,
                ),
                &mut bytes,
            )
            .map_err(|e| VexError::Io {
                path: shown.clone(),
                source: e,
            })?;
            if bytes.len() as u64 > MAX_VEX {
                return Err(VexError::Invalid {
                    path: shown,
                    reason: format!("larger than {MAX_VEX} bytes"),
                });
            }
            vex.add_document(&shown, &bytes)?;
        }
        Ok(vex)
    }

    /// Adds the statements of one document.
    pub fn add_document(&mut self, name: &str, bytes: &[u8]) -> Result<(), VexError> {
        let invalid = |reason: String| VexError::Invalid {
            path: name.to_owned(),
            reason,
        };
        let doc: Value = serde_json::from_slice(bytes).map_err(|e| invalid(e.to_string()))?;
        let context = doc.get("@context").and_then(Value::as_str).unwrap_or("");
        if !context.contains("openvex") {
            return Err(invalid(format!(
                "@context {context:?} is not an OpenVEX context"
            )));
        }
        let statements = doc
            .get("statements")
            .and_then(Value::as_array)
            .ok_or_else(|| invalid("no statements array".to_owned()))?;
        for (i, s) in statements.iter().enumerate() {
            let at = |reason: &str| invalid(format!("statements[{i}]: {reason}"));
            let mut ids = Vec::new();
            match s.get("vulnerability") {
                Some(Value::String(v)) => ids.push(v.clone()),
                Some(Value::Object(v)) => {
                    for key in ["name", "@id"] {
                        if let Some(x) = v.get(key).and_then(Value::as_str) {
                            ids.push(x.to_owned());
                        }
                    }
                    for a in v
                        .get("aliases")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                    {
                        if let Some(x) = a.as_str() {
                            ids.push(x.to_owned());
                        }
                    }
                }
                _ => return Err(at("no vulnerability")),
            }
            let status = match s.get("status").and_then(Value::as_str) {
                Some("not_affected") => Status::NotAffected,
                Some("affected") => Status::Affected,
                Some("fixed") => Status::Fixed,
                Some("under_investigation") => Status::UnderInvestigation,
                other => return Err(at(&format!("unknown status {other:?}"))),
            };
            let mut products = Vec::new();
            let mut subcomponents = ids_of(s.get("subcomponents"));
            for p in s
                .get("products")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                match p {
                    Value::String(x) => products.push(x.clone()),
                    Value::Object(o) => {
                        if let Some(x) = o.get("@id").and_then(Value::as_str) {
                            products.push(x.to_owned());
                        }
                        for h in o
                            .get("identifiers")
                            .and_then(Value::as_object)
                            .into_iter()
                            .flat_map(|m| m.values())
                        {
                            if let Some(x) = h.as_str() {
                                products.push(x.to_owned());
                            }
                        }
                        subcomponents.extend(ids_of(o.get("subcomponents")));
                    }
                    _ => {}
                }
            }
            if products.is_empty() {
                return Err(at("no products"));
            }
            let reason = [
                "justification",
                "impact_statement",
                "status_notes",
                "action_statement",
            ]
            .iter()
            .filter_map(|k| s.get(*k).and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(": ");
            self.statements.push(Statement {
                ids: ids.into_iter().map(|i| i.trim().to_owned()).collect(),
                products,
                subcomponents,
                status,
                reason,
                source: format!("{name}#statements[{i}]"),
            });
        }
        Ok(())
    }

    /// The statement that decides `finding` in the image `image_ids` (its name, reference and
    /// digests), if any: the last one that names one of the finding's ids and a product that
    /// is the image or the package.
    pub fn decide(&self, finding: &Vulnerability, image_ids: &[&str]) -> Option<&Statement> {
        self.statements.iter().rev().find(|s| {
            s.ids
                .iter()
                .any(|id| finding.aliases.iter().any(|a| a.eq_ignore_ascii_case(id)))
                && covers(s, &finding.package.purl, image_ids)
        })
    }

    /// Whether `finding` is waived, and why.
    pub fn waiver(&self, finding: &Vulnerability, image_ids: &[&str]) -> Option<&Statement> {
        self.decide(finding, image_ids)
            .filter(|s| matches!(s.status, Status::NotAffected | Status::Fixed))
    }
}

fn ids_of(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|x| match x {
            Value::String(s) => Some(s.clone()),
            Value::Object(o) => o.get("@id").and_then(Value::as_str).map(str::to_owned),
            _ => None,
        })
        .collect()
}

fn covers(s: &Statement, purl: &str, image_ids: &[&str]) -> bool {
    let product_is_image = s
        .products
        .iter()
        .any(|p| image_ids.iter().any(|i| names_image(p, i)));
    let product_is_package = s.products.iter().any(|p| same_package(p, purl));
    if product_is_package {
        return true;
    }
    product_is_image
        && (s.subcomponents.is_empty() || s.subcomponents.iter().any(|c| same_package(c, purl)))
}

/// Whether a VEX package identifier names the package `purl`: the same type, namespace and
/// name, and the same version when the identifier has one (qualifiers are not compared).
fn same_package(id: &str, purl: &str) -> bool {
    use rampart_sbom::Purl;
    let (Ok(a), Ok(b)) = (id.trim().parse::<Purl>(), purl.parse::<Purl>()) else {
        return false;
    };
    a.ty() == b.ty()
        && a.namespace() == b.namespace()
        && a.name() == b.name()
        && a.version().is_none_or(|v| Some(v) == b.version())
}

/// Whether a VEX product names the image `id` (a digest, a reference or a name): by digest
/// (`sha256:...` anywhere in a `pkg:oci` purl or a reference), or by equal reference.
fn names_image(product: &str, id: &str) -> bool {
    if id.is_empty() {
        return false;
    }
    let p = percent_decode(product);
    if id.starts_with("sha256:") {
        return p.contains(id);
    }
    p == id
        || p.strip_prefix("pkg:oci/")
            .is_some_and(|rest| rest.split(['@', '?']).next() == Some(id))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            if let Some(h) = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(h);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
