//! YAML fixtures read into JSON values with `serde-saphyr` (a maintained YAML 1.2 reader; the
//! deprecated `serde_yaml` is gone from the workspace's tests).

use serde_json::Value;

/// One YAML document as a JSON value; fails the test naming `what` when it does not parse.
pub fn from_str(what: &str, text: &str) -> Value {
    serde_saphyr::from_str(text).unwrap_or_else(|e| panic!("parsing {what}: {e}"))
}

/// Every document of a YAML stream (`---` separated), empty documents left out.
pub fn documents(what: &str, text: &str) -> Vec<Value> {
    let docs: Vec<Value> =
        serde_saphyr::from_multiple(text).unwrap_or_else(|e| panic!("parsing {what}: {e}"));
    docs.into_iter().filter(|d| !d.is_null()).collect()
}

/// A YAML file as a JSON value.
pub fn load(path: &std::path::Path) -> Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    from_str(&path.display().to_string(), &text)
}
