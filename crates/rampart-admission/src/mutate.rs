//! Hardening defaults as an RFC 6902 JSON Patch.
//!
//! Written by hand (no crate builds *minimal* patches against a value that may lack parents):
//! each setting walks a working copy of the pod, adds the missing parent objects in one `add`,
//! and applies its own operation to the copy, so later operations see earlier ones and every
//! path exists when the patch is applied in order.

use serde_json::{Map, Value, json};

use crate::config::MutateSettings;
use crate::workload::{CONTAINER_LISTS, PodView, escape_pointer};

/// The operations that harden the pod in `view` (pointers are from the admitted object's root).
pub fn hardening_patch(view: &PodView<'_>, settings: &MutateSettings) -> Vec<Value> {
    let mut ops = Vec::new();
    let base = view.pointer();
    let mut pod = view.pod.clone();
    let over = settings.override_user;
    if !pod.get("spec").is_some_and(Value::is_object) {
        // Nothing to attach defaults to; the validating gates report the missing spec.
        return ops;
    }
    if settings.seccomp {
        ensure(
            &mut ops,
            &base,
            &mut pod,
            &["spec", "securityContext", "seccompProfile"],
            json!({"type": "RuntimeDefault"}),
            over,
        );
    }
    if settings.run_as_non_root {
        ensure(
            &mut ops,
            &base,
            &mut pod,
            &["spec", "securityContext", "runAsNonRoot"],
            json!(true),
            over,
        );
    }
    for list in CONTAINER_LISTS {
        let count = pod
            .get("spec")
            .and_then(|s| s.get(list))
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        for i in 0..count {
            let index = i.to_string();
            let container = ["spec", list, index.as_str()];
            let is_object = pod
                .get("spec")
                .and_then(|s| s.get(list))
                .and_then(|l| l.get(i))
                .is_some_and(Value::is_object);
            if !is_object {
                continue;
            }
            let at = |rest: &[&'static str]| -> Vec<String> {
                container
                    .iter()
                    .map(|s| (*s).to_owned())
                    .chain(rest.iter().map(|s| (*s).to_owned()))
                    .collect()
            };
            if settings.allow_privilege_escalation {
                let path = at(&["securityContext", "allowPrivilegeEscalation"]);
                ensure_owned(&mut ops, &base, &mut pod, &path, json!(false), over);
            }
            if settings.drop_all {
                let path = at(&["securityContext", "capabilities", "drop"]);
                ensure_drop_all(&mut ops, &base, &mut pod, &path, over);
            }
            if over {
                // The pod-level defaults only hold if no container overrides them.
                if settings.seccomp {
                    let path = at(&["securityContext", "seccompProfile"]);
                    replace_if_present(
                        &mut ops,
                        &base,
                        &mut pod,
                        &path,
                        json!({"type": "RuntimeDefault"}),
                    );
                }
                if settings.run_as_non_root {
                    let path = at(&["securityContext", "runAsNonRoot"]);
                    replace_if_present(&mut ops, &base, &mut pod, &path, json!(true));
                }
            }
        }
    }
    ops
}

fn pointer(base: &str, path: &[String]) -> String {
    let mut p = base.to_owned();
    for k in path {
        p.push('/');
        p.push_str(&escape_pointer(k));
    }
    p
}

fn ensure(
    ops: &mut Vec<Value>,
    base: &str,
    pod: &mut Value,
    path: &[&str],
    value: Value,
    over: bool,
) {
    let owned: Vec<String> = path.iter().map(|s| (*s).to_owned()).collect();
    ensure_owned(ops, base, pod, &owned, value, over);
}

/// The child of `v` at one path segment (an object key, or an array index).
fn child_mut<'a>(v: &'a mut Value, key: &str) -> Option<&'a mut Value> {
    match v {
        Value::Object(m) => m.get_mut(key),
        Value::Array(a) => key.parse::<usize>().ok().and_then(|i| a.get_mut(i)),
        _ => None,
    }
}

/// Sets `path` to `value` unless it holds an explicit (non-null) value and `over` is off.
/// Missing or null parents are created with one `add`; a parent of another type is an
/// explicit (bad) user value and is left alone unless `over`.
fn ensure_owned(
    ops: &mut Vec<Value>,
    base: &str,
    pod: &mut Value,
    path: &[String],
    value: Value,
    over: bool,
) {
    let mut cur = pod;
    for (i, key) in path.iter().enumerate() {
        let last = i + 1 == path.len();
        let here = pointer(base, path.get(..=i).unwrap_or_default());
        let present = match &*cur {
            Value::Object(m) => m.get(key.as_str()).filter(|v| !v.is_null()).cloned(),
            Value::Array(_) => child_mut(cur, key).map(|v| v.clone()),
            _ => return,
        };
        match present {
            None => {
                // Build the rest of the path as nested objects around the value.
                let mut built = value;
                for k in path.get(i + 1..).unwrap_or_default().iter().rev() {
                    let mut m = Map::new();
                    m.insert(k.clone(), built);
                    built = Value::Object(m);
                }
                if let Value::Object(m) = cur {
                    m.insert(key.clone(), built.clone());
                    ops.push(json!({"op": "add", "path": here, "value": built}));
                }
                return;
            }
            Some(existing) if last => {
                if over && existing != value {
                    if let Some(slot) = child_mut(cur, key) {
                        *slot = value.clone();
                    }
                    ops.push(json!({"op": "replace", "path": here, "value": value}));
                }
                return;
            }
            Some(existing)
                if !(existing.is_object()
                    || (existing.is_array()
                        && path.get(i + 1).is_some_and(|k| k.parse::<usize>().is_ok()))) =>
            {
                if over {
                    let mut built = value;
                    for k in path.get(i + 1..).unwrap_or_default().iter().rev() {
                        let mut m = Map::new();
                        m.insert(k.clone(), built);
                        built = Value::Object(m);
                    }
                    if let Some(slot) = child_mut(cur, key) {
                        *slot = built.clone();
                    }
                    ops.push(json!({"op": "replace", "path": here, "value": built}));
                }
                return;
            }
            Some(_) => match child_mut(cur, key) {
                Some(next) => cur = next,
                None => return,
            },
        }
    }
}

/// `capabilities.drop` must contain `ALL`: added when missing; an explicit list without it
/// gets `ALL` appended only when `over`.
fn ensure_drop_all(ops: &mut Vec<Value>, base: &str, pod: &mut Value, path: &[String], over: bool) {
    let existing = path
        .iter()
        .try_fold(&*pod, |v, k| match v {
            Value::Object(m) => m.get(k.as_str()),
            Value::Array(a) => k.parse::<usize>().ok().and_then(|i| a.get(i)),
            _ => None,
        })
        .filter(|v| !v.is_null())
        .cloned();
    match existing {
        None => ensure_owned(ops, base, pod, path, json!(["ALL"]), over),
        Some(Value::Array(items)) => {
            if !over || items.iter().any(|c| c.as_str() == Some("ALL")) {
                return;
            }
            let mut slot = Some(&mut *pod);
            for k in path {
                slot = slot.and_then(|v| child_mut(v, k));
            }
            if let Some(Value::Array(a)) = slot {
                a.push(json!("ALL"));
            }
            ops.push(
                json!({"op": "add", "path": format!("{}/-", pointer(base, path)), "value": "ALL"}),
            );
        }
        Some(_) => ensure_owned(ops, base, pod, path, json!(["ALL"]), over),
    }
}

/// Replaces the value at `path` when one is present (used with `override` only).
fn replace_if_present(
    ops: &mut Vec<Value>,
    base: &str,
    pod: &mut Value,
    path: &[String],
    value: Value,
) {
    let mut slot = Some(&mut *pod);
    for k in path {
        slot = slot.and_then(|v| child_mut(v, k));
    }
    if let Some(v) = slot {
        if !v.is_null() && *v != value {
            *v = value.clone();
            ops.push(json!({"op": "replace", "path": pointer(base, path), "value": value}));
        }
    }
}
