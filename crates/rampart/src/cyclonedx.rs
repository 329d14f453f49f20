//! `rampart scan --format cyclonedx`: the SBOM of the image (or SBOM) scanned, written by
//! rampart-sbom's CycloneDX 1.6 writer, with the report's known vulnerabilities added as a
//! CycloneDX `vulnerabilities` list in the VEX style: each names the component it `affects`
//! (by its purl, the components' `bom-ref`), its ratings, the fixed versions as a
//! recommendation, and for one waived by VEX or a suppression an `analysis` with its reason.

use anyhow::{Context, Result};
use rampart_core::{Report, Severity, Vulnerability};
use rampart_sbom::{Options, SbomDocument, cyclonedx_json};
use serde_json::{Value, json};

/// The document: `documents` holds exactly one subject (checked by the caller).
pub fn render(documents: &[SbomDocument], report: &Report, opts: &Options) -> Result<String> {
    let doc = documents
        .first()
        .context("--format cyclonedx: no image or SBOM was scanned")?;
    let mut bom: Value = serde_json::from_str(&cyclonedx_json(doc, opts))
        .context("the CycloneDX writer's output")?;
    let refs: Vec<String> = bom["components"]
        .as_array()
        .map(|c| {
            c.iter()
                .filter_map(|c| c["bom-ref"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let vulnerabilities: Vec<Value> = report
        .vulnerabilities
        .iter()
        .map(|v| vulnerability(v, &refs))
        .collect();
    if !vulnerabilities.is_empty()
        && let Some(obj) = bom.as_object_mut()
    {
        obj.insert("vulnerabilities".into(), Value::Array(vulnerabilities));
    }
    let mut out = serde_json::to_string_pretty(&bom)?;
    out.push('\n');
    Ok(out)
}

fn severity_word(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "critical",
        Severity::High => "high",
        Severity::Medium => "medium",
        Severity::Low => "low",
        Severity::Info => "info",
    }
}

fn vulnerability(v: &Vulnerability, refs: &[String]) -> Value {
    // The component: its purl is its bom-ref; else (a purl the writer canonicalised
    // differently) the subject, so `affects` always points inside the document.
    let affected = if refs.iter().any(|r| r == &v.package.purl) {
        v.package.purl.clone()
    } else {
        String::from("rampart:subject")
    };
    let mut rating = serde_json::Map::new();
    if v.rated_from.is_some() || v.score.is_some() {
        rating.insert("severity".into(), json!(severity_word(v.severity)));
    } else {
        rating.insert("severity".into(), json!("unknown"));
    }
    if let Some(score) = v.score {
        rating.insert("score".into(), json!(score.value()));
    }
    if let Some(vector) = &v.rated_from {
        if let Some(method) = cvss_method(vector) {
            rating.insert("method".into(), json!(method));
            rating.insert("vector".into(), json!(vector));
        } else {
            rating.insert("method".into(), json!("other"));
            rating.insert("justification".into(), json!(vector));
        }
    }
    let mut out = json!({
        "bom-ref": format!("{}#{}", v.id, v.package.purl),
        "id": v.id,
        "source": source(&v.id),
        "ratings": [Value::Object(rating)],
        "description": v.summary,
        "affects": [{
            "ref": affected,
            "versions": [{"version": v.package.version, "status": "affected"}],
        }],
    });
    let others: Vec<Value> = v
        .aliases
        .iter()
        .filter(|a| **a != v.id)
        .map(|a| json!({"id": a, "source": source(a)}))
        .collect();
    if !others.is_empty() {
        out["references"] = Value::Array(others);
    }
    let urls: Vec<Value> = v
        .references
        .iter()
        .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
        .map(|u| json!({"url": u}))
        .collect();
    if !urls.is_empty() {
        out["advisories"] = Value::Array(urls);
    }
    if !v.fixed.is_empty() {
        out["recommendation"] = json!(format!("upgrade to {}", v.fixed.join(" or ")));
    }
    if let Some(w) = &v.waived {
        out["analysis"] = json!({
            "state": "not_affected",
            "detail": format!("{} ({}, {})", w.reason, w.kind, w.source),
        });
    }
    out
}

/// The CycloneDX rating method of a CVSS vector.
fn cvss_method(vector: &str) -> Option<&'static str> {
    if vector.starts_with("CVSS:4.0/") {
        Some("CVSSv4")
    } else if vector.starts_with("CVSS:3.1/") {
        Some("CVSSv31")
    } else if vector.starts_with("CVSS:3.0/") {
        Some("CVSSv3")
    } else if vector.starts_with("AV:") {
        Some("CVSSv2")
    } else {
        None
    }
}

/// Where an id is published.
fn source(id: &str) -> Value {
    let (name, url) = if id.starts_with("CVE-") {
        ("NVD", format!("https://nvd.nist.gov/vuln/detail/{id}"))
    } else if id.starts_with("GHSA-") {
        ("GitHub", format!("https://github.com/advisories/{id}"))
    } else {
        ("OSV", format!("https://osv.dev/vulnerability/{id}"))
    };
    json!({"name": name, "url": url})
}
