//! Validation of Kubernetes objects against the API schemas of Kubernetes 1.37, so an object the
//! API server would reject (a `spec` that is a list, `containers` that is a map, a number where a
//! string belongs, a container without `name`) is reported as invalid input, with the position
//! of the offending node, instead of being read as "no containers" and passing every control.
//!
//! The schemas are the JSON Schemas that the PyPI package `kubernetes-validate` 1.37.0 generates
//! from the official OpenAPI documents of Kubernetes 1.37.0 (`../shared/corpus/k8s-jsonschema`),
//! trimmed by `scripts/k8s-schema.py` to the kinds rampart reads ([`VALIDATED`]) and the
//! keywords that constrain values, and embedded. The validator implements that subset of JSON
//! Schema 2020-12 (`type`, `properties`, `additionalProperties`, `items`, `required`, `enum`,
//! `oneOf`, `$ref`) with the semantics of the `jsonschema` reference implementation
//! (`kubernetes-validate`'s engine; a float with no fractional part is an integer, as it is once
//! YAML becomes JSON on its way to the API server), plus one check that implementation leaves
//! out and the API server makes: `format: int32` numbers must fit in 32 bits.
//!
//! Non-strict, as `kubectl --validate=true`: a field the schema does not know is not an error;
//! such fields are returned apart ([`Checked::unknown`]), as `kubectl --validate=strict` would
//! list them. Kinds outside [`VALIDATED`] (ConfigMaps, custom resources...) and API versions
//! Kubernetes 1.37 does not serve for them are not validated ([`validate`] returns `None`), never
//! claimed valid.

use crate::yaml::{Node, Pos, Value};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::OnceLock;

/// The Kubernetes release whose API schemas objects are checked against.
pub const KUBERNETES_VERSION: &str = "1.37";

/// The kinds validated, as `(group, version, kind)`; the core group is `""`.
pub const VALIDATED: &[(&str, &str, &str)] = &[
    ("", "v1", "Pod"),
    ("", "v1", "PodTemplate"),
    ("", "v1", "ReplicationController"),
    ("", "v1", "Namespace"),
    ("", "v1", "ServiceAccount"),
    ("", "v1", "Service"),
    ("apps", "v1", "Deployment"),
    ("apps", "v1", "StatefulSet"),
    ("apps", "v1", "DaemonSet"),
    ("apps", "v1", "ReplicaSet"),
    ("batch", "v1", "Job"),
    ("batch", "v1", "CronJob"),
    ("networking.k8s.io", "v1", "NetworkPolicy"),
    ("rbac.authorization.k8s.io", "v1", "Role"),
    ("rbac.authorization.k8s.io", "v1", "ClusterRole"),
    ("rbac.authorization.k8s.io", "v1", "RoleBinding"),
    ("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding"),
];

/// The embedded schemas, derived by `scripts/k8s-schema.py` (a test checks they match).
pub const EMBEDDED: &str = include_str!("../schema/k8s-v1.37.0.json");

/// One way an object breaks its schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Where: the offending node, or the mapping that lacks a required field.
    pub pos: Pos,
    /// The field, as kubectl writes it: `spec.template.spec.containers[0].name`.
    pub path: String,
    /// What was expected and what was found.
    pub problem: String,
}

/// A field the schema does not define (what `kubectl --validate=strict` rejects).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unknown {
    pub pos: Pos,
    pub path: String,
}

/// The result of validating one object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checked {
    /// Empty when the object is valid.
    pub violations: Vec<Violation>,
    pub unknown: Vec<Unknown>,
}

impl Checked {
    pub fn is_valid(&self) -> bool {
        self.violations.is_empty()
    }
}

/// Validates an object (`apiVersion` and `kind` already read from it) against its Kubernetes
/// 1.37 schema. `None` when the kind is not validated: not a kind rampart reads, a custom
/// resource, or an API version Kubernetes 1.37 does not serve for it.
pub fn validate(node: &Node, api_version: &str, kind: &str) -> Option<Checked> {
    let schemas = schemas()?;
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let root = *schemas
        .kinds
        .get(&(group.to_owned(), version.to_owned(), kind.to_owned()))?;
    let mut run = Run {
        schemas,
        path: Vec::new(),
        out: Checked::default(),
    };
    run.check(root, node);
    Some(run.out)
}

/// Whether objects of this API version and kind are validated.
pub fn is_validated(api_version: &str, kind: &str) -> bool {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    VALIDATED.contains(&(group, version, kind))
}

type Id = usize;

const NULL: u8 = 1;
const BOOLEAN: u8 = 2;
const INTEGER: u8 = 4;
const NUMBER: u8 = 8;
const STRING: u8 = 16;
const ARRAY: u8 = 32;
const OBJECT: u8 = 64;

/// One compiled schema node.
#[derive(Debug, Default)]
struct Rule {
    /// Allowed JSON types (bits above); `None`: any.
    types: Option<u8>,
    properties: HashMap<String, Id>,
    additional: Option<Id>,
    items: Option<Id>,
    required: Vec<String>,
    enumeration: Vec<serde_json::Value>,
    int32: bool,
    one_of: Vec<Id>,
    reference: Option<Id>,
}

#[derive(Debug)]
struct Schemas {
    rules: Vec<Rule>,
    kinds: HashMap<(String, String, String), Id>,
}

/// The compiled embedded schemas; `None` only if the embedded file were broken (a test loads it).
fn schemas() -> Option<&'static Schemas> {
    static SCHEMAS: OnceLock<Option<Schemas>> = OnceLock::new();
    SCHEMAS.get_or_init(|| compile(EMBEDDED)).as_ref()
}

/// Whether the embedded schemas compile and cover every kind of [`VALIDATED`].
pub fn embedded_schemas_load() -> bool {
    schemas().is_some_and(|s| {
        VALIDATED.iter().all(|(g, v, k)| {
            s.kinds
                .contains_key(&((*g).to_owned(), (*v).to_owned(), (*k).to_owned()))
        })
    })
}

fn compile(text: &str) -> Option<Schemas> {
    let doc: serde_json::Value = serde_json::from_str(text).ok()?;
    let defs = doc.get("definitions")?.as_object()?;
    let names: HashMap<&str, Id> = defs
        .keys()
        .enumerate()
        .map(|(i, k)| (k.as_str(), i))
        .collect();
    let mut schemas = Schemas {
        rules: (0..defs.len()).map(|_| Rule::default()).collect(),
        kinds: HashMap::new(),
    };
    for (i, (name, def)) in defs.iter().enumerate() {
        let rule = compile_rule(def, &names, &mut schemas.rules)?;
        *schemas.rules.get_mut(i)? = rule;
        if let Some(gvk) = def.get("gvk").and_then(serde_json::Value::as_array) {
            let part = |n: usize| {
                gvk.get(n)
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_owned)
            };
            schemas.kinds.insert((part(0)?, part(1)?, part(2)?), i);
        } else if name.is_empty() {
            return None;
        }
    }
    Some(schemas)
}

fn compile_rule(
    schema: &serde_json::Value,
    names: &HashMap<&str, Id>,
    rules: &mut Vec<Rule>,
) -> Option<Rule> {
    let mut rule = Rule::default();
    let sub = |s: &serde_json::Value, rules: &mut Vec<Rule>| -> Option<Id> {
        let r = compile_rule(s, names, rules)?;
        rules.push(r);
        Some(rules.len() - 1)
    };
    if let Some(t) = schema.get("type") {
        let mut bits = 0u8;
        let list = match t {
            serde_json::Value::Array(a) => a.iter().collect(),
            other => vec![other],
        };
        for name in list {
            bits |= match name.as_str()? {
                "null" => NULL,
                "boolean" => BOOLEAN,
                "integer" => INTEGER,
                "number" => NUMBER,
                "string" => STRING,
                "array" => ARRAY,
                "object" => OBJECT,
                _ => return None,
            };
        }
        rule.types = Some(bits);
    }
    if let Some(props) = schema
        .get("properties")
        .and_then(serde_json::Value::as_object)
    {
        for (name, s) in props {
            let id = sub(s, rules)?;
            rule.properties.insert(name.clone(), id);
        }
    }
    if let Some(s) = schema.get("additionalProperties").filter(|s| s.is_object()) {
        rule.additional = Some(sub(s, rules)?);
    }
    if let Some(s) = schema.get("items") {
        rule.items = Some(sub(s, rules)?);
    }
    if let Some(req) = schema.get("required").and_then(serde_json::Value::as_array) {
        rule.required = req
            .iter()
            .filter_map(|r| r.as_str().map(str::to_owned))
            .collect();
    }
    if let Some(e) = schema.get("enum").and_then(serde_json::Value::as_array) {
        rule.enumeration = e.clone();
    }
    rule.int32 = schema.get("format").and_then(serde_json::Value::as_str) == Some("int32");
    if let Some(alts) = schema.get("oneOf").and_then(serde_json::Value::as_array) {
        for s in alts {
            let id = sub(s, rules)?;
            rule.one_of.push(id);
        }
    }
    if let Some(r) = schema.get("$ref").and_then(serde_json::Value::as_str) {
        let name = r.strip_prefix("#/$defs/")?;
        rule.reference = Some(*names.get(name)?);
    }
    Some(rule)
}

enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

struct Run<'s, 'n> {
    schemas: &'s Schemas,
    path: Vec<Step<'n>>,
    out: Checked,
}

/// The JSON type of a YAML value, as the API server sees it once converted to JSON.
fn type_bits(value: &Value) -> u8 {
    match value {
        Value::Null => NULL,
        Value::Bool(_) => BOOLEAN,
        Value::Int(_) => INTEGER | NUMBER,
        Value::Float(f) if f.is_finite() && f.fract() == 0.0 => INTEGER | NUMBER,
        Value::Float(_) => NUMBER,
        Value::String(_) => STRING,
        Value::Seq(_) => ARRAY,
        Value::Map(_) => OBJECT,
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Int(_) => "integer",
        Value::Float(f) if f.is_finite() && f.fract() == 0.0 => "integer",
        Value::Float(_) => "number",
        Value::String(_) => "string",
        Value::Seq(_) => "array",
        Value::Map(_) => "object",
    }
}

fn expected_names(bits: u8) -> String {
    let names: Vec<&str> = [
        (OBJECT, "object"),
        (ARRAY, "array"),
        (STRING, "string"),
        (INTEGER, "integer"),
        (NUMBER, "number"),
        (BOOLEAN, "boolean"),
    ]
    .into_iter()
    .filter(|(b, _)| bits & b != 0 && !(*b == INTEGER && bits & NUMBER != 0))
    .map(|(_, n)| n)
    .collect();
    match names.as_slice() {
        [] => "null".to_owned(),
        [one] => (*one).to_owned(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

fn matches_enum(value: &Value, candidate: &serde_json::Value) -> bool {
    use serde_json::Value as J;
    match (value, candidate) {
        (Value::Null, J::Null) => true,
        (Value::Bool(a), J::Bool(b)) => a == b,
        (Value::String(a), J::String(b)) => a == b,
        (Value::Int(a), J::Number(b)) => b.as_f64().is_some_and(|b| (*a as f64) == b),
        (Value::Float(a), J::Number(b)) => b.as_f64().is_some_and(|b| *a == b),
        _ => false,
    }
}

fn enum_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => format!("\"{s}\""),
        other => other.to_string(),
    }
}

/// A scalar's text for a message, elided after 40 characters.
fn found_text(value: &Value) -> String {
    let text = match value {
        Value::String(s) => format!("\"{}\"", s.escape_debug()),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".to_owned(),
        Value::Seq(_) => "an array".to_owned(),
        Value::Map(_) => "an object".to_owned(),
    };
    if text.chars().count() > 40 {
        format!("{}...", text.chars().take(40).collect::<String>())
    } else {
        text
    }
}

/// A mapping key as text (keys are strings in manifests; others as YAML would print them).
fn key_text(key: &Node) -> Option<&str> {
    key.as_str()
}

impl<'s, 'n> Run<'s, 'n> {
    fn path_text(&self, last: Option<&str>) -> String {
        let mut s = String::new();
        let steps = self.path.iter().map(|s| match s {
            Step::Key(k) => Step::Key(k),
            Step::Index(i) => Step::Index(*i),
        });
        for step in steps.chain(last.map(Step::Key)) {
            match step {
                Step::Key(k) => {
                    if !s.is_empty() {
                        s.push('.');
                    }
                    s.push_str(k);
                }
                Step::Index(i) => {
                    let _ = write!(s, "[{i}]");
                }
            }
        }
        if s.is_empty() {
            s.push_str("(the object)");
        }
        s
    }

    fn violation(&mut self, pos: Pos, last: Option<&str>, problem: String) {
        let path = self.path_text(last);
        self.out.violations.push(Violation { pos, path, problem });
    }

    /// Whether `node` satisfies rule `id`, without recording anything (for `oneOf`).
    fn satisfies(&self, id: Id, node: &Node) -> bool {
        let mut probe = Run {
            schemas: self.schemas,
            path: Vec::new(),
            out: Checked::default(),
        };
        probe.check(id, node);
        probe.out.violations.is_empty()
    }

    fn check(&mut self, id: Id, node: &'n Node) {
        let schemas = self.schemas;
        let Some(rule) = schemas.rules.get(id) else {
            return;
        };
        if let Some(r) = rule.reference {
            self.check(r, node);
        }
        if let Some(bits) = rule.types
            && type_bits(&node.value) & bits == 0
        {
            let found = match &node.value {
                Value::Seq(_) | Value::Map(_) | Value::Null => type_name(&node.value).to_owned(),
                v => format!("{} {}", type_name(v), found_text(v)),
            };
            self.violation(
                node.pos,
                None,
                format!("expected {}, found {found}", expected_names(bits)),
            );
            return;
        }
        if !rule.enumeration.is_empty()
            && !rule
                .enumeration
                .iter()
                .any(|c| matches_enum(&node.value, c))
        {
            let allowed: Vec<String> = rule.enumeration.iter().map(enum_text).collect();
            self.violation(
                node.pos,
                None,
                format!(
                    "unsupported value {}: expected one of {}",
                    found_text(&node.value),
                    allowed.join(", ")
                ),
            );
        }
        if rule.int32 {
            let out_of_range = match node.value {
                Value::Int(i) => i32::try_from(i).is_err(),
                Value::Float(f) => f < f64::from(i32::MIN) || f > f64::from(i32::MAX),
                _ => false,
            };
            if out_of_range {
                self.violation(
                    node.pos,
                    None,
                    format!(
                        "{} does not fit in a 32-bit integer (format int32)",
                        found_text(&node.value)
                    ),
                );
            }
        }
        if !rule.one_of.is_empty() {
            let matching = rule
                .one_of
                .iter()
                .filter(|alt| self.satisfies(**alt, node))
                .count();
            if matching != 1 {
                let bits = rule
                    .one_of
                    .iter()
                    .filter_map(|alt| schemas.rules.get(*alt).and_then(|r| r.types))
                    .fold(0u8, |a, b| a | b);
                let problem = if matching == 0 {
                    format!(
                        "expected {}, found {}",
                        expected_names(bits & !NULL),
                        type_name(&node.value)
                    )
                } else {
                    format!(
                        "{} matches more than one of {} (JSON Schema oneOf)",
                        type_name(&node.value),
                        expected_names(bits & !NULL)
                    )
                };
                self.violation(node.pos, None, problem);
            }
        }
        match &node.value {
            Value::Map(entries) => {
                for name in &rule.required {
                    if !entries.iter().any(|(k, _)| key_text(k) == Some(name)) {
                        self.violation(
                            node.pos,
                            Some(name),
                            format!("required field \"{name}\" is missing"),
                        );
                    }
                }
                // A typed structure (not a free-form map such as labels or `FieldsV1`).
                let structure = !rule.properties.is_empty();
                for (key, value) in entries {
                    let Some(k) = key_text(key) else {
                        continue;
                    };
                    let target = rule.properties.get(k).copied().or(rule.additional);
                    match target {
                        Some(t) => {
                            self.path.push(Step::Key(k));
                            self.check(t, value);
                            self.path.pop();
                        }
                        None if structure => {
                            let path = self.path_text(Some(k));
                            self.out.unknown.push(Unknown { pos: key.pos, path });
                        }
                        None => {}
                    }
                }
            }
            Value::Seq(items) => {
                if let Some(item_rule) = rule.items {
                    for (i, item) in items.iter().enumerate() {
                        self.path.push(Step::Index(i));
                        self.check(item_rule, item);
                        self.path.pop();
                    }
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::{Limits, load};

    fn check(text: &str) -> Checked {
        let loaded = load(text, Limits::default());
        let root = &loaded
            .documents
            .first()
            .map(|d| d.root.clone())
            .unwrap_or(Node {
                value: Value::Null,
                pos: Pos::default(),
            });
        let api = root.str_at(&["apiVersion"]).unwrap_or_default();
        let kind = root.str_at(&["kind"]).unwrap_or_default();
        validate(root, api, kind).unwrap_or_default()
    }

    #[test]
    fn the_embedded_schemas_load() {
        assert!(embedded_schemas_load());
    }

    #[test]
    fn a_spec_that_is_a_list_is_invalid_at_its_position() {
        let c = check(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n- name: a\n  image: x\n",
        );
        let got: Vec<(u32, &str, &str)> = c
            .violations
            .iter()
            .map(|v| (v.pos.line, v.path.as_str(), v.problem.as_str()))
            .collect();
        assert_eq!(got, [(6, "spec", "expected object, found array")]);
    }

    #[test]
    fn containers_as_a_map_and_a_container_without_name() {
        let c = check(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  selector: {}\n  template:\n    spec:\n      containers:\n        app: {image: x}\n      initContainers:\n      - image: z\n",
        );
        let got: Vec<(u32, u32, &str, &str)> = c
            .violations
            .iter()
            .map(|v| {
                (
                    v.pos.line,
                    v.pos.column,
                    v.path.as_str(),
                    v.problem.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    9,
                    9,
                    "spec.template.spec.containers",
                    "expected array, found object"
                ),
                (
                    11,
                    9,
                    "spec.template.spec.initContainers[0].name",
                    "required field \"name\" is missing"
                ),
            ]
        );
    }

    #[test]
    fn scalars_enums_int_or_string_and_int32() {
        let c = check(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, labels: {a: 1}}\nspec:\n  replicas: \"3\"\n  selector: {}\n  template:\n    spec:\n      containers:\n      - name: a\n        ports: [{containerPort: 80, protocol: TCP}]\n        resources: [{cpu: 1}]\n        livenessProbe: {httpGet: {port: [1]}, periodSeconds: 3000000000}\n",
        );
        let got: Vec<(&str, &str)> = c
            .violations
            .iter()
            .map(|v| (v.path.as_str(), v.problem.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("metadata.labels.a", "expected string, found integer 1"),
                ("spec.replicas", "expected integer, found string \"3\""),
                (
                    "spec.template.spec.containers[0].resources",
                    "expected object, found array"
                ),
                (
                    "spec.template.spec.containers[0].livenessProbe.httpGet.port",
                    "expected string or integer, found array"
                ),
                (
                    "spec.template.spec.containers[0].livenessProbe.periodSeconds",
                    "3000000000 does not fit in a 32-bit integer (format int32)"
                ),
            ]
        );
    }

    #[test]
    fn valid_objects_pass_and_unknown_fields_are_listed_apart() {
        let c = check(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: x\n    replicas: 1.0\n    securityContext: {runAsNonroot: true}\n",
        );
        assert!(c.is_valid(), "{:?}", c.violations);
        let unknown: Vec<&str> = c.unknown.iter().map(|u| u.path.as_str()).collect();
        assert_eq!(
            unknown,
            [
                "spec.containers[0].replicas",
                "spec.containers[0].securityContext.runAsNonroot"
            ]
        );
    }

    #[test]
    fn kinds_not_read_and_unserved_versions_are_not_validated() {
        let loaded = load(
            "apiVersion: v1\nkind: ConfigMap\ndata: [1]\n",
            Limits::default(),
        );
        let root = loaded.documents.first().map(|d| &d.root);
        assert!(root.is_some_and(|r| validate(r, "v1", "ConfigMap").is_none()));
        assert!(root.is_some_and(|r| validate(r, "extensions/v1beta1", "Deployment").is_none()));
        assert!(root.is_some_and(|r| validate(r, "example.com/v1", "Pod").is_none()));
        assert!(is_validated("apps/v1", "Deployment"));
        assert!(!is_validated("argoproj.io/v1alpha1", "Rollout"));
    }
}
