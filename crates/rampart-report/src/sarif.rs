//! SARIF 2.1.0, as GitHub code scanning and other SARIF consumers read it. Validated against
//! the official schema in the test suite.

use rampart_core::{Finding, Layer, Report, Rule, Severity};
use serde_json::{Value, json};
use std::collections::HashMap;

pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// GitHub's `security-severity` (a CVSS-like score that it buckets back into the same names).
fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

/// A fingerprint that survives lines moving: rule, file, subject and message (FNV-1a; not a
/// security function, only a stable identity).
fn fingerprint(f: &Finding) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in [f.rule_id, &f.location.file, &f.subject, &f.message] {
        for b in part.bytes().chain(std::iter::once(0)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

fn rule_descriptor(r: &Rule) -> Value {
    let help = format!(
        "{}\n\nFix: {}\n\nReferences:\n{}",
        r.rationale,
        r.remediation,
        r.references
            .iter()
            .map(|x| format!("- {} {}: {}", x.kind.label(), x.id, x.url))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let mut d = json!({
        "id": r.id,
        "name": r.name,
        "shortDescription": { "text": r.title },
        "fullDescription": { "text": r.rationale },
        "help": {
            "text": help,
            "markdown": format!(
                "{}\n\n**Fix:** {}\n\n**Example (flagged):**\n```\n{}```\n\n**Fixed:**\n```\n{}```",
                r.rationale, r.remediation, r.bad_example, r.good_example
            ),
        },
        "defaultConfiguration": { "level": level(r.severity) },
        "properties": {
            "tags": ["security", r.layer.as_str()],
            "precision": "high",
            "security-severity": security_severity(r.severity),
            "layer": r.layer.as_str(),
        },
    });
    if let Some(url) = r
        .references
        .iter()
        .map(|x| x.url)
        .find(|u| u.starts_with("https://"))
        && let Some(obj) = d.as_object_mut()
    {
        obj.insert("helpUri".into(), Value::String(url.to_owned()));
    }
    d
}

fn uri(file: &str) -> String {
    // Relative paths stay relative to %SRCROOT%; percent-encode the few characters URIs forbid.
    let mut out = String::with_capacity(file.len());
    for c in file.chars() {
        match c {
            ' ' => out.push_str("%20"),
            '%' => out.push_str("%25"),
            '#' => out.push_str("%23"),
            '?' => out.push_str("%3F"),
            '[' => out.push_str("%5B"),
            ']' => out.push_str("%5D"),
            _ => out.push(c),
        }
    }
    out
}

/// Where a location's file is: in the scanned sources, a path of this machine, inside a scanned
/// image, or not a file at all (a registry reference).
fn artifact(file: &str, in_image: bool) -> Option<Value> {
    if in_image {
        // A path inside the image, relative to its root.
        return Some(json!({ "uri": uri(file.trim_start_matches('/')), "uriBaseId": IMAGE_ROOT }));
    }
    if file.starts_with('/') {
        return Some(json!({ "uri": format!("file://{}", uri(file)) }));
    }
    // `alpine:3.20` or `localhost:5000/app` (an image reference) would read as a URI scheme:
    // such a place is named by the logical location only.
    if file.split('/').next().unwrap_or(file).contains(':') {
        return None;
    }
    Some(json!({ "uri": uri(file), "uriBaseId": "%SRCROOT%" }))
}

/// The base of paths inside a scanned image (declared in `originalUriBaseIds`).
const IMAGE_ROOT: &str = "IMAGEROOT";

fn physical(file: &str, line: u32, column: u32, in_image: bool) -> Option<Value> {
    let mut loc = json!({ "artifactLocation": artifact(file, in_image)? });
    if line > 0
        && let Some(obj) = loc.as_object_mut()
    {
        let mut region = json!({ "startLine": line });
        if column > 0
            && let Some(r) = region.as_object_mut()
        {
            r.insert("startColumn".into(), json!(column));
        }
        obj.insert("region".into(), region);
    }
    Some(loc)
}

/// Whether a finding's file is a path inside the image its subject names.
fn in_image(f: &Finding) -> bool {
    let image = f
        .subject
        .strip_prefix("Image ")
        .or_else(|| f.subject.strip_prefix("Filesystem "));
    f.layer == Layer::Image
        && f.location.file.starts_with('/')
        && image.is_some_and(|name| name != f.location.file)
}

/// The SARIF log for `report`; `catalog` supplies the rule descriptors.
pub fn render(report: &Report, catalog: &[&Rule]) -> String {
    let index: HashMap<&str, usize> = catalog.iter().enumerate().map(|(i, r)| (r.id, i)).collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let mut location = json!({});
            if let (Some(p), Some(obj)) = (
                physical(
                    &f.location.file,
                    f.location.line,
                    f.location.column,
                    in_image(f),
                ),
                location.as_object_mut(),
            ) {
                obj.insert("physicalLocation".into(), p);
            }
            if let (true, Some(obj)) = (f.layer == Layer::Image, location.as_object_mut()) {
                obj.insert(
                    "logicalLocations".into(),
                    json!([{ "fullyQualifiedName": f.subject, "kind": "module" }]),
                );
            }
            if let (Some(o), Some(obj)) = (&f.location.object, location.as_object_mut()) {
                let mut name = match &o.namespace {
                    Some(ns) => format!("{}/{}/{}", o.kind, ns, o.name),
                    None => format!("{}/{}", o.kind, o.name),
                };
                if let Some(c) = &o.container {
                    name.push('/');
                    name.push_str(c);
                }
                obj.insert(
                    "logicalLocations".into(),
                    json!([{ "fullyQualifiedName": name, "kind": "object" }]),
                );
            }
            let mut result = json!({
                "ruleId": f.rule_id,
                "level": level(f.severity),
                "message": { "text": f.message },
                "locations": [location],
                "partialFingerprints": { "rampart/v1": fingerprint(f) },
                "properties": {
                    "severity": f.severity.as_str(),
                    "layer": f.layer.as_str(),
                    "subject": f.subject,
                    "security-severity": security_severity(f.severity),
                },
            });
            if let Some(obj) = result.as_object_mut() {
                if let Some(i) = index.get(f.rule_id) {
                    obj.insert("ruleIndex".into(), json!(i));
                }
                if let Some(s) = &f.suppressed {
                    let kind = if s.kind == "inline" {
                        "inSource"
                    } else {
                        "external"
                    };
                    obj.insert(
                        "suppressions".into(),
                        json!([{ "kind": kind, "status": "accepted", "justification": s.reason }]),
                    );
                }
            }
            result
        })
        .collect();
    let notifications: Vec<Value> = report
        .errors
        .iter()
        .map(|e| {
            json!({
                "level": "error",
                "message": { "text": e.message },
                "locations": physical(&e.file, e.line, e.column, false)
                    .map(|p| json!([{ "physicalLocation": p }]))
                    .unwrap_or_else(|| json!([])),
            })
        })
        .collect();
    let log = json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": report.tool.name,
                    "version": report.tool.version,
                    "semanticVersion": report.tool.version,
                    "informationUri": "https://github.com/rampart-security/rampart",
                    "rules": catalog.iter().map(|r| rule_descriptor(r)).collect::<Vec<_>>(),
                }
            },
            "invocations": [{
                "executionSuccessful": report.errors.is_empty(),
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
            "originalUriBaseIds": {
                "IMAGEROOT": { "description": { "text": "the root of the scanned image's filesystem" } },
            },
            "properties": {
                "layers": report.layers,
            },
        }],
    });
    serde_json::to_string_pretty(&log).unwrap_or_default()
}
