//! A panic-free, read-only view of an untrusted JSON pod.
//!
//! Every accessor is total and never panics; the handling of wrong-typed
//! fields is documented in the crate-level docs ("Untrusted input").

use serde_json::{Map, Value};

use crate::{FieldPath, PathSeg};

/// The container lists of a pod spec, in the order upstream visits them.
const CONTAINER_LISTS: [&str; 3] = ["initContainers", "containers", "ephemeralContainers"];

/// A read-only view of a pod (or pod template) object.
pub(crate) struct Pod<'a> {
    annotations: Option<&'a Map<String, Value>>,
    spec: Option<&'a Value>,
    containers: Vec<Container<'a>>,
}

/// One container of any kind, with its position in the pod.
pub(crate) struct Container<'a> {
    list: &'static str,
    index: usize,
    value: &'a Value,
    name: &'a str,
}

impl<'a> Pod<'a> {
    /// Builds a view of `pod`, an object with optional `metadata` and `spec`.
    pub(crate) fn new(pod: &'a Value) -> Self {
        let annotations = field(pod, &["metadata", "annotations"]).and_then(Value::as_object);
        let spec = field(pod, &["spec"]);
        let mut containers = Vec::new();
        for list in CONTAINER_LISTS {
            for (index, value) in array(spec, &[list]).iter().enumerate() {
                let name = field(value, &["name"])
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                containers.push(Container {
                    list,
                    index,
                    value,
                    name,
                });
            }
        }
        Self {
            annotations,
            spec,
            containers,
        }
    }

    /// All containers: init containers, then containers, then ephemeral ones.
    pub(crate) fn containers(&self) -> &[Container<'a>] {
        &self.containers
    }

    /// A field of the pod spec.
    pub(crate) fn spec(&self, keys: &[&str]) -> Option<&'a Value> {
        self.spec.and_then(|spec| field(spec, keys))
    }

    /// A list in the pod spec (empty when absent or not an array).
    pub(crate) fn spec_array(&self, keys: &[&str]) -> &'a [Value] {
        array(self.spec, keys)
    }

    /// The pod's annotations, in key order.
    pub(crate) fn annotations(&self) -> impl Iterator<Item = (&'a String, &'a Value)> + use<'a> {
        self.annotations.into_iter().flatten()
    }

    /// One annotation, if present.
    pub(crate) fn annotation(&self, key: &str) -> Option<&'a Value> {
        self.annotations
            .and_then(|a| a.get(key))
            .filter(|v| !v.is_null())
    }

    /// The path of the deepest existing field along `keys` below the spec.
    pub(crate) fn spec_nearest(&self, keys: &[&str]) -> FieldPath {
        match self.spec {
            Some(spec) => nearest(spec, spec_path(&[]), keys),
            None => Vec::new(),
        }
    }

    /// `spec.os.name` is exactly `"windows"`.
    pub(crate) fn is_windows(&self) -> bool {
        self.spec(&["os", "name"]).and_then(Value::as_str) == Some("windows")
    }

    /// `spec.hostUsers` is exactly `false`: the pod runs in a user namespace.
    pub(crate) fn in_user_namespace(&self) -> bool {
        self.spec(&["hostUsers"]) == Some(&Value::Bool(false))
    }
}

impl<'a> Container<'a> {
    /// The container's name (empty if missing or not a string).
    pub(crate) fn name(&self) -> &'a str {
        self.name
    }

    /// A field of the container.
    pub(crate) fn get(&self, keys: &[&str]) -> Option<&'a Value> {
        field(self.value, keys)
    }

    /// A field of the container's `securityContext`.
    pub(crate) fn sc(&self, keys: &[&str]) -> Option<&'a Value> {
        field(self.value, &["securityContext"]).and_then(|sc| field(sc, keys))
    }

    /// A list in the container (empty when absent or not an array).
    pub(crate) fn array(&self, keys: &[&str]) -> &'a [Value] {
        array(Some(self.value), keys)
    }

    /// The path of a field below the container.
    pub(crate) fn path(&self, keys: &[&str]) -> FieldPath {
        let mut path = vec![
            PathSeg::key("spec"),
            PathSeg::key(self.list),
            PathSeg::Index(self.index),
        ];
        path.extend(keys.iter().copied().map(PathSeg::key));
        path
    }

    /// The path of a securityContext field below the container.
    pub(crate) fn sc_path(&self, keys: &[&str]) -> FieldPath {
        let mut path = self.path(&["securityContext"]);
        path.extend(keys.iter().copied().map(PathSeg::key));
        path
    }

    /// The path of the deepest existing field along `keys` below the
    /// container (at least the container itself): the field itself when it
    /// exists, else the nearest object that should contain it.
    pub(crate) fn nearest(&self, keys: &[&str]) -> FieldPath {
        nearest(self.value, self.path(&[]), keys)
    }
}

/// Extends `base` (the path of `value`) with the longest prefix of `keys`
/// that exists below `value`.
fn nearest(value: &Value, mut base: FieldPath, keys: &[&str]) -> FieldPath {
    let mut current = value;
    for key in keys {
        match field(current, &[key]) {
            Some(next) => {
                base.push(PathSeg::key(key));
                current = next;
            }
            None => break,
        }
    }
    base
}

/// A non-null field at `keys` below `value`.
pub(crate) fn field<'a>(value: &'a Value, keys: &[&str]) -> Option<&'a Value> {
    let mut current = value;
    for key in keys {
        current = current.as_object()?.get(*key)?;
    }
    (!current.is_null()).then_some(current)
}

/// A list at `keys` below `value` (empty when absent or not an array).
fn array<'a>(value: Option<&'a Value>, keys: &[&str]) -> &'a [Value] {
    value
        .and_then(|v| field(v, keys))
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// The path of a pod spec field.
pub(crate) fn spec_path(keys: &[&str]) -> FieldPath {
    let mut path = vec![PathSeg::key("spec")];
    path.extend(keys.iter().copied().map(PathSeg::key));
    path
}

/// The path of an annotation.
pub(crate) fn annotation_path(key: &str) -> FieldPath {
    vec![
        PathSeg::key("metadata"),
        PathSeg::key("annotations"),
        PathSeg::key(key),
    ]
}

/// A forbidden-when-true boolean is set to true (or a YAML 1.1 truthy string).
pub(crate) fn is_true(value: Option<&Value>) -> bool {
    match value {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => ["true", "yes", "on", "y"]
            .iter()
            .any(|t| s.eq_ignore_ascii_case(t)),
        _ => false,
    }
}

/// How a value is shown in messages: strings as themselves, anything else as
/// its JSON text.
pub(crate) fn display(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Whether a numeric field (runAsUser, hostPort) is zero. Accepts integers,
/// floats and numeric strings; anything else is not zero.
pub(crate) fn is_zero(value: &Value) -> bool {
    match value {
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.trim().parse::<f64>().is_ok_and(|f| f == 0.0),
        _ => false,
    }
}
