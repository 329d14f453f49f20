//! Label selectors (`matchLabels` and `matchExpressions`), read and checked as the API server
//! checks them, and matched against a set of labels.

use std::collections::BTreeMap;

use rampart_k8s::yaml::{Node, Pos, Value};

use crate::model::string_map;

/// A `matchExpressions` operator with its values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// the label is one of the values
    In(Vec<String>),
    /// the label is absent or none of the values
    NotIn(Vec<String>),
    /// the label is present
    Exists,
    /// the label is absent
    DoesNotExist,
}

/// A label selector. Every term must hold; no term selects everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selector {
    /// `matchLabels`
    pub labels: BTreeMap<String, String>,
    /// `matchExpressions`
    pub exprs: Vec<(String, Op)>,
}

impl Selector {
    /// `{}`: every pod (or namespace).
    pub fn everything() -> Selector {
        Selector::default()
    }

    /// Whether it has no term (selects everything).
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty() && self.exprs.is_empty()
    }

    /// Reads a selector; the first problem with its position.
    pub fn read(node: &Node) -> Result<Selector, (Pos, String)> {
        match &node.value {
            Value::Map(_) | Value::Null => {}
            _ => return Err((node.pos, "a selector must be a map".to_owned())),
        }
        for (k, _) in node.entries() {
            if !matches!(k.as_str(), Some("matchLabels" | "matchExpressions")) {
                return Err((
                    k.pos,
                    format!(
                        "unknown field {:?} (matchLabels, matchExpressions)",
                        k.as_str().unwrap_or("")
                    ),
                ));
            }
        }
        let mut errs = Vec::new();
        let labels = string_map(node.get("matchLabels"), "matchLabels", &mut errs);
        if let Some((pos, m)) = errs.into_iter().next() {
            return Err((pos, m));
        }
        let mut exprs = Vec::new();
        if let Some(list) = node.get("matchExpressions") {
            if !matches!(list.value, Value::Seq(_) | Value::Null) {
                return Err((list.pos, "matchExpressions must be a list".to_owned()));
            }
            for e in list.as_seq() {
                let key = e
                    .str_at(&["key"])
                    .filter(|k| !k.is_empty())
                    .ok_or((e.pos, "an expression needs a key".to_owned()))?;
                let values: Vec<String> = match e.get("values") {
                    None
                    | Some(Node {
                        value: Value::Null, ..
                    }) => Vec::new(),
                    Some(v) => {
                        let Value::Seq(items) = &v.value else {
                            return Err((v.pos, "values must be a list of strings".to_owned()));
                        };
                        items
                            .iter()
                            .map(|i| {
                                i.as_str().map(str::to_owned).ok_or((
                                    i.pos,
                                    "values must be strings (quote them)".to_owned(),
                                ))
                            })
                            .collect::<Result<_, _>>()?
                    }
                };
                let op_node = e.get("operator");
                let op = match op_node.and_then(Node::as_str) {
                    Some("In") | Some("NotIn") if values.is_empty() => {
                        return Err((
                            e.pos,
                            format!("operator In and NotIn need values (key {key:?})"),
                        ));
                    }
                    Some("Exists") | Some("DoesNotExist") if !values.is_empty() => {
                        return Err((
                            e.pos,
                            format!(
                                "operator Exists and DoesNotExist take no values (key {key:?})"
                            ),
                        ));
                    }
                    Some("In") => Op::In(values),
                    Some("NotIn") => Op::NotIn(values),
                    Some("Exists") => Op::Exists,
                    Some("DoesNotExist") => Op::DoesNotExist,
                    other => {
                        return Err((
                            op_node.map_or(e.pos, |n| n.pos),
                            format!(
                                "unknown operator {:?} (In, NotIn, Exists, DoesNotExist)",
                                other.unwrap_or("")
                            ),
                        ));
                    }
                };
                exprs.push((key.to_owned(), op));
            }
        }
        Ok(Selector { labels, exprs })
    }

    /// Whether it selects these labels.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.labels.iter().all(|(k, v)| labels.get(k) == Some(v))
            && self.exprs.iter().all(|(k, op)| {
                let v = labels.get(k);
                match op {
                    Op::In(vals) => v.is_some_and(|v| vals.contains(v)),
                    Op::NotIn(vals) => v.is_none_or(|v| !vals.contains(v)),
                    Op::Exists => v.is_some(),
                    Op::DoesNotExist => v.is_none(),
                }
            })
    }
}

impl std::fmt::Display for Selector {
    /// `app=web,tier in (a,b),!legacy` (kubectl's spelling); `{}` selects everything.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_empty() {
            return f.write_str("{}");
        }
        let mut parts: Vec<String> = self
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        for (k, op) in &self.exprs {
            parts.push(match op {
                Op::In(v) => format!("{k} in ({})", v.join(",")),
                Op::NotIn(v) => format!("{k} notin ({})", v.join(",")),
                Op::Exists => k.clone(),
                Op::DoesNotExist => format!("!{k}"),
            });
        }
        f.write_str(&parts.join(","))
    }
}
