//! Finding the pod in an admitted object: a Pod itself, or the pod template of a workload.
//!
//! Every accessor is total: a missing or ill-typed field is reported, never a panic.

use serde_json::Value;

/// Where the pod (an object with `metadata` and `spec`) sits in the admitted object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TemplateLocation {
    /// The kind, e.g. `Deployment`.
    pub kind: &'static str,
    /// The API group (`""` for core).
    pub group: &'static str,
    /// The keys from the object root to the pod (empty for a Pod).
    pub keys: &'static [&'static str],
}

/// Every kind rampart checks, and where its pod is.
pub const KINDS: &[TemplateLocation] = &[
    TemplateLocation {
        kind: "Pod",
        group: "",
        keys: &[],
    },
    TemplateLocation {
        kind: "PodTemplate",
        group: "",
        keys: &["template"],
    },
    TemplateLocation {
        kind: "ReplicationController",
        group: "",
        keys: &["spec", "template"],
    },
    TemplateLocation {
        kind: "Deployment",
        group: "apps",
        keys: &["spec", "template"],
    },
    TemplateLocation {
        kind: "ReplicaSet",
        group: "apps",
        keys: &["spec", "template"],
    },
    TemplateLocation {
        kind: "StatefulSet",
        group: "apps",
        keys: &["spec", "template"],
    },
    TemplateLocation {
        kind: "DaemonSet",
        group: "apps",
        keys: &["spec", "template"],
    },
    TemplateLocation {
        kind: "Job",
        group: "batch",
        keys: &["spec", "template"],
    },
    TemplateLocation {
        kind: "CronJob",
        group: "batch",
        keys: &["spec", "jobTemplate", "spec", "template"],
    },
];

/// The location of the pod for a kind, or `None` for kinds without a pod template.
pub fn location(group: &str, kind: &str) -> Option<&'static TemplateLocation> {
    KINDS.iter().find(|l| l.group == group && l.kind == kind)
}

/// The pod found in an object.
#[derive(Debug, Clone, Copy)]
pub struct PodView<'a> {
    /// Where it is.
    pub location: &'static TemplateLocation,
    /// The pod object (`metadata` + `spec`).
    pub pod: &'a Value,
}

impl PodView<'_> {
    /// The RFC 6901 pointer of the pod in the admitted object (`""` for a Pod).
    pub fn pointer(&self) -> String {
        self.location
            .keys
            .iter()
            .map(|k| format!("/{}", escape_pointer(k)))
            .collect()
    }

    /// The dotted path prefix of fields of the pod, e.g. `spec.template.` (empty for a Pod).
    pub fn field_prefix(&self) -> String {
        self.location.keys.iter().map(|k| format!("{k}.")).collect()
    }

    /// The pod's `spec.runtimeClassName`, when it is a string.
    pub fn runtime_class(&self) -> Option<&str> {
        self.pod.get("spec")?.get("runtimeClassName")?.as_str()
    }

    /// Every container, init containers first, then containers, then ephemeral ones.
    pub fn containers(&self) -> Vec<ContainerView<'_>> {
        let mut out = Vec::new();
        let spec = self.pod.get("spec");
        for list in CONTAINER_LISTS {
            let Some(items) = spec.and_then(|s| s.get(list)).and_then(Value::as_array) else {
                continue;
            };
            for (index, value) in items.iter().enumerate() {
                out.push(ContainerView {
                    list,
                    index,
                    name: value.get("name").and_then(Value::as_str).unwrap_or(""),
                    image: value.get("image").and_then(Value::as_str),
                    value,
                });
            }
        }
        out
    }
}

/// The container lists of a pod spec.
pub const CONTAINER_LISTS: [&str; 3] = ["initContainers", "containers", "ephemeralContainers"];

/// One container of a pod.
#[derive(Debug, Clone, Copy)]
pub struct ContainerView<'a> {
    /// `initContainers`, `containers` or `ephemeralContainers`.
    pub list: &'static str,
    /// Its index in that list.
    pub index: usize,
    /// Its name (empty when missing).
    pub name: &'a str,
    /// Its image, when it is a string.
    pub image: Option<&'a str>,
    /// The container object.
    pub value: &'a Value,
}

impl ContainerView<'_> {
    /// `spec.containers[0]`, relative to the pod.
    pub fn field(&self) -> String {
        format!("spec.{}[{}]", self.list, self.index)
    }
}

/// What the object holds.
#[derive(Debug)]
pub enum Extracted<'a> {
    /// A pod or a pod template.
    Pod(PodView<'a>),
    /// A kind without a pod template.
    NotAWorkload,
    /// A kind with a pod template, but the object does not have one where it should.
    Malformed(String),
}

/// Finds the pod in `object`, of kind `group`/`kind`.
pub fn extract<'a>(group: &str, kind: &str, object: &'a Value) -> Extracted<'a> {
    let Some(location) = location(group, kind) else {
        return Extracted::NotAWorkload;
    };
    let mut cur = object;
    let mut path = String::new();
    for key in location.keys {
        path.push('.');
        path.push_str(key);
        match cur.get(key) {
            Some(next) if next.is_object() => cur = next,
            Some(other) => {
                return Extracted::Malformed(format!(
                    "{kind}: expected an object at {}, found {}",
                    path.trim_start_matches('.'),
                    type_name(other)
                ));
            }
            None => {
                return Extracted::Malformed(format!(
                    "{kind}: expected an object at {}, found nothing",
                    path.trim_start_matches('.')
                ));
            }
        }
    }
    if !cur.is_object() {
        return Extracted::Malformed(format!(
            "{kind}: expected an object, found {}",
            type_name(cur)
        ));
    }
    Extracted::Pod(PodView { location, pod: cur })
}

/// The JSON type of a value, for messages.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Escapes a key for an RFC 6901 pointer (`~` → `~0`, `/` → `~1`).
pub fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Whether a Pod UPDATE changes anything Pod Security Admission re-evaluates: container
/// images, the number of containers or init containers, a new ephemeral container, or the
/// per-container seccomp annotations (the rest of a pod spec is immutable, so PSA skips other
/// updates; see `isSignificantPodUpdate` in k8s.io/pod-security-admission).
pub fn is_significant_pod_update(new: &Value, old: &Value) -> bool {
    let list = |pod: &Value, name: &str| -> Vec<Value> {
        pod.get("spec")
            .and_then(|s| s.get(name))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let annotation = |pod: &Value, container: &Value| -> Option<Value> {
        let name = container.get("name").and_then(Value::as_str).unwrap_or("");
        pod.get("metadata")
            .and_then(|m| m.get("annotations"))
            .and_then(|a| {
                a.get(format!(
                    "container.seccomp.security.alpha.kubernetes.io/{name}"
                ))
            })
            .cloned()
    };
    let container_changed = |c: &Value, o: &Value| {
        c.get("image") != o.get("image") || annotation(new, c) != annotation(old, o)
    };
    for name in ["containers", "initContainers"] {
        let (n, o) = (list(new, name), list(old, name));
        if n.len() != o.len() {
            return true;
        }
        if n.iter().zip(o.iter()).any(|(c, o)| container_changed(c, o)) {
            return true;
        }
    }
    let old_ephemeral = list(old, "ephemeralContainers");
    for c in list(new, "ephemeralContainers") {
        let name = c.get("name");
        match old_ephemeral.iter().find(|o| o.get("name") == name) {
            None => return true,
            Some(o) if container_changed(&c, o) => return true,
            Some(_) => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(
        containers: serde_json::Value,
        ephemeral: serde_json::Value,
        annotations: serde_json::Value,
    ) -> Value {
        json!({"metadata": {"annotations": annotations}, "spec": {"containers": containers, "ephemeralContainers": ephemeral}})
    }

    #[test]
    fn significant_pod_updates_as_pod_security_admission_sees_them() {
        let base = pod(json!([{"name": "a", "image": "x:1"}]), json!([]), json!({}));
        let cases = [
            (
                "labels only",
                pod(
                    json!([{"name": "a", "image": "x:1"}]),
                    json!([]),
                    json!({"other": "1"}),
                ),
                false,
            ),
            (
                "image changed",
                pod(json!([{"name": "a", "image": "x:2"}]), json!([]), json!({})),
                true,
            ),
            (
                "container added",
                pod(
                    json!([{"name": "a", "image": "x:1"}, {"name": "b"}]),
                    json!([]),
                    json!({}),
                ),
                true,
            ),
            (
                "ephemeral added",
                pod(
                    json!([{"name": "a", "image": "x:1"}]),
                    json!([{"name": "dbg", "image": "busybox"}]),
                    json!({}),
                ),
                true,
            ),
            (
                "seccomp annotation of the container",
                pod(
                    json!([{"name": "a", "image": "x:1"}]),
                    json!([]),
                    json!({"container.seccomp.security.alpha.kubernetes.io/a": "unconfined"}),
                ),
                true,
            ),
            ("ill-typed lists", json!({"spec": {"containers": 3}}), true),
        ];
        for (what, new, want) in cases {
            assert_eq!(is_significant_pod_update(&new, &base), want, "{what}");
        }
    }
}
