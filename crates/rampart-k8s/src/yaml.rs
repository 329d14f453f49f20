//! YAML (and JSON, a subset of YAML 1.2) loaded into a tree whose every node keeps its position,
//! so findings can point at the line and column of the offending field.
//!
//! Built on `saphyr-parser`'s event stream rather than a DOM crate because we need, at once:
//! positions on every node, several documents per file with recovery after a broken one, merge
//! keys (`<<`) like kubectl's YAML library, and hard limits against alias bombs and deep nesting.
//! Scalars are resolved like Kubernetes' YAML library (YAML 1.1 booleans `yes`/`no`/`on`/`off`
//! included) so a manifest means here what it means to `kubectl apply`.

use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use std::collections::HashMap;

/// Limits that keep hostile input bounded.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Nodes created in one file, aliases expanded (the "billion laughs" guard).
    pub max_nodes: usize,
    /// Nesting depth of sequences and mappings.
    pub max_depth: usize,
    /// Documents in one file.
    pub max_documents: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_nodes: 1_000_000,
            max_depth: 200,
            max_documents: 10_000,
        }
    }
}

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pos {
    pub line: u32,
    pub column: u32,
}

impl Pos {
    fn from_span(span: &Span, line_offset: usize) -> Pos {
        Pos {
            line: to_u32(span.start.line().saturating_add(line_offset)),
            column: to_u32(span.start.col().saturating_add(1)),
        }
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// A YAML value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
    Seq(Vec<Node>),
    /// Entries in document order; keys are usually strings.
    Map(Vec<(Node, Node)>),
}

/// A value and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub pos: Pos,
}

/// One step of a path into a tree.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

impl Node {
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self.value {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> &[Node] {
        match &self.value {
            Value::Seq(items) => items,
            _ => &[],
        }
    }

    pub fn entries(&self) -> &[(Node, Node)] {
        match &self.value {
            Value::Map(entries) => entries,
            _ => &[],
        }
    }

    pub fn is_map(&self) -> bool {
        matches!(self.value, Value::Map(_))
    }

    /// The entry (key node, value node) for `key` in a mapping.
    pub fn entry(&self, key: &str) -> Option<(&Node, &Node)> {
        self.entries()
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(k, v)| (k, v))
    }

    /// The value for `key` in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, v)| v)
    }

    /// Follows a path of keys.
    pub fn path(&self, keys: &[&str]) -> Option<&Node> {
        keys.iter().try_fold(self, |node, key| node.get(key))
    }

    /// The string at a path of keys.
    pub fn str_at(&self, keys: &[&str]) -> Option<&str> {
        self.path(keys).and_then(Node::as_str)
    }

    /// Position of what a path names: the key of the last mapping step when there is one (so a
    /// finding about `privileged: true` points at `privileged`), else the node itself. Stops at
    /// the deepest node that exists, so a missing field points at its would-be parent.
    pub fn pos_of(&self, path: &[Seg<'_>]) -> Pos {
        let mut node = self;
        let mut pos = self.pos;
        for seg in path {
            match seg {
                Seg::Key(k) => match node.entry(k) {
                    Some((key, value)) => {
                        pos = key.pos;
                        node = value;
                    }
                    None => return pos,
                },
                Seg::Index(i) => match node.as_seq().get(*i) {
                    Some(item) => {
                        pos = item.pos;
                        node = item;
                    }
                    None => return pos,
                },
            }
        }
        pos
    }

    /// The tree as JSON, for evaluators that work on API objects (Pod Security Standards).
    /// Non-string keys are rendered as their YAML text; NaN and infinities become null.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::String(s) => J::String(s.clone()),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.key_text(), v.to_json()))
                    .collect(),
            ),
        }
    }

    fn key_text(&self) -> String {
        match &self.value {
            Value::String(s) => s.clone(),
            Value::Null => "null".to_owned(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => f.to_string(),
            Value::Seq(_) | Value::Map(_) => "<complex key>".to_owned(),
        }
    }
}

/// A YAML document of a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub root: Node,
}

/// A problem reading YAML, with its position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{column}: {message}")]
pub struct YamlError {
    pub line: u32,
    pub column: u32,
    pub message: String,
}

/// What loading a file gave: every document that could be read, and the errors met on the way.
#[derive(Debug, Default)]
pub struct Loaded {
    pub documents: Vec<Document>,
    pub errors: Vec<YamlError>,
}

/// Loads every document of `text`. A broken document is reported and loading resumes at the
/// next `---` line after the error, so one bad document does not hide the others.
pub fn load(text: &str, limits: Limits) -> Loaded {
    let mut loaded = Loaded::default();
    let mut nodes_budget = limits.max_nodes;
    let mut offset_lines = 0usize;
    let mut rest = text;
    let last_line = text.lines().count().max(1);
    let clamp = |mut e: YamlError| {
        // An error at end of input is reported on the last line, not one past it.
        if to_usize(e.line) > last_line {
            e.line = to_u32(last_line);
            e.column = to_u32(text.lines().last().map_or(0, |l| l.chars().count()) + 1);
        }
        e
    };
    loop {
        let mut builder = Builder::new(offset_lines, limits, nodes_budget);
        let err = run_parser(rest, &mut builder);
        nodes_budget = builder.budget;
        loaded.documents.append(&mut builder.docs);
        let Some(err) = err else { break };
        let err_line = to_usize(err.line).saturating_sub(offset_lines);
        loaded.errors.push(clamp(err));
        if builder.fatal || loaded.documents.len() >= limits.max_documents {
            break;
        }
        // Resume at the next document separator after the error line.
        match next_separator(rest, err_line) {
            Some((byte, line)) => {
                rest = rest.get(byte..).unwrap_or("");
                offset_lines = offset_lines.saturating_add(line);
            }
            None => break,
        }
    }
    loaded
}

fn to_usize(n: u32) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// Byte offset and 0-based line of the first line starting with `---` at or after 1-based line
/// `from`, and never the first line (so loading always makes progress).
fn next_separator(text: &str, from: usize) -> Option<(usize, usize)> {
    let mut byte = 0usize;
    for (idx, line) in text.split_inclusive('\n').enumerate() {
        if idx > 0 && idx.saturating_add(1) >= from && line.starts_with("---") {
            return Some((byte, idx));
        }
        byte = byte.saturating_add(line.len());
    }
    None
}

fn run_parser(text: &str, builder: &mut Builder) -> Option<YamlError> {
    let parser = Parser::new_from_str(text);
    for item in parser {
        match item {
            Ok((event, span)) => {
                if let Err(e) = builder.event(event, span) {
                    return Some(e);
                }
            }
            Err(e) => {
                let m = e.marker();
                return Some(YamlError {
                    line: to_u32(m.line().saturating_add(builder.line_offset)),
                    column: to_u32(m.col().saturating_add(1)),
                    message: e.info().to_owned(),
                });
            }
        }
    }
    None
}

enum Frame {
    Seq(Vec<Node>, Pos, usize),
    Map(Vec<(Node, Node)>, Option<Node>, Pos, usize),
}

struct Builder {
    line_offset: usize,
    limits: Limits,
    budget: usize,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    docs: Vec<Document>,
    fatal: bool,
}

impl Builder {
    fn new(line_offset: usize, limits: Limits, budget: usize) -> Self {
        Builder {
            line_offset,
            limits,
            budget,
            stack: Vec::new(),
            anchors: HashMap::new(),
            docs: Vec::new(),
            fatal: false,
        }
    }

    fn error(&mut self, pos: Pos, message: impl Into<String>, fatal: bool) -> YamlError {
        self.fatal |= fatal;
        YamlError {
            line: pos.line,
            column: pos.column,
            message: message.into(),
        }
    }

    fn spend(&mut self, pos: Pos, n: usize) -> Result<(), YamlError> {
        match self.budget.checked_sub(n) {
            Some(left) => {
                self.budget = left;
                Ok(())
            }
            None => Err(self.error(
                pos,
                format!(
                    "document too large: more than {} nodes once aliases are expanded (alias bomb?)",
                    self.limits.max_nodes
                ),
                true,
            )),
        }
    }

    fn event(&mut self, event: Event<'_>, span: Span) -> Result<(), YamlError> {
        let pos = Pos::from_span(&span, self.line_offset);
        match event {
            Event::DocumentStart(_) => {
                self.stack.clear();
                self.anchors.clear();
                if self.docs.len() >= self.limits.max_documents {
                    return Err(self.error(
                        pos,
                        format!("more than {} documents", self.limits.max_documents),
                        true,
                    ));
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                self.spend(pos, 1)?;
                let is_str_tag = tag.as_ref().is_some_and(|t| t.suffix == "str");
                // Mapping keys stay strings (`on:`, `yes:` are keys, not booleans, to anyone
                // reading a manifest).
                let is_key = matches!(self.stack.last(), Some(Frame::Map(_, None, ..)));
                let value = if style == ScalarStyle::Plain && !is_str_tag && !is_key {
                    resolve_plain(&text)
                } else {
                    Value::String(text.into_owned())
                };
                let node = Node { value, pos };
                if anchor > 0 {
                    self.anchors.insert(anchor, node.clone());
                }
                self.add(node)?;
            }
            Event::Alias(id) => {
                let Some(node) = self.anchors.get(&id).cloned() else {
                    return Err(self.error(pos, "alias to an unknown anchor", false));
                };
                self.spend(pos, count_nodes(&node))?;
                self.add(Node {
                    value: node.value,
                    pos,
                })?;
            }
            Event::SequenceStart(anchor, _) => {
                self.open(pos)?;
                self.stack.push(Frame::Seq(Vec::new(), pos, anchor));
            }
            Event::MappingStart(anchor, _) => {
                self.open(pos)?;
                self.stack.push(Frame::Map(Vec::new(), None, pos, anchor));
            }
            Event::SequenceEnd => {
                if let Some(Frame::Seq(items, start, anchor)) = self.stack.pop() {
                    self.close(Value::Seq(items), start, anchor)?;
                }
            }
            Event::MappingEnd => {
                if let Some(Frame::Map(entries, _, start, anchor)) = self.stack.pop() {
                    self.close(Value::Map(apply_merge_keys(entries)), start, anchor)?;
                }
            }
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => {}
        }
        Ok(())
    }

    fn open(&mut self, pos: Pos) -> Result<(), YamlError> {
        self.spend(pos, 1)?;
        if self.stack.len() >= self.limits.max_depth {
            return Err(self.error(
                pos,
                format!("nesting deeper than {} levels", self.limits.max_depth),
                true,
            ));
        }
        Ok(())
    }

    fn close(&mut self, value: Value, pos: Pos, anchor: usize) -> Result<(), YamlError> {
        let node = Node { value, pos };
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        self.add(node)
    }

    fn add(&mut self, node: Node) -> Result<(), YamlError> {
        match self.stack.last_mut() {
            None => self.docs.push(Document { root: node }),
            Some(Frame::Seq(items, ..)) => items.push(node),
            Some(Frame::Map(entries, pending, ..)) => match pending.take() {
                None => *pending = Some(node),
                Some(key) => entries.push((key, node)),
            },
        }
        Ok(())
    }
}

fn count_nodes(node: &Node) -> usize {
    match &node.value {
        Value::Seq(items) => items
            .iter()
            .map(count_nodes)
            .sum::<usize>()
            .saturating_add(1),
        Value::Map(entries) => entries
            .iter()
            .map(|(k, v)| count_nodes(k).saturating_add(count_nodes(v)))
            .sum::<usize>()
            .saturating_add(1),
        _ => 1,
    }
}

/// `<<: *base` (or a list of them) merges the keys the mapping does not set itself.
fn apply_merge_keys(entries: Vec<(Node, Node)>) -> Vec<(Node, Node)> {
    if !entries.iter().any(|(k, _)| k.as_str() == Some("<<")) {
        return entries;
    }
    let mut own = Vec::with_capacity(entries.len());
    let mut merged = Vec::new();
    for (k, v) in entries {
        if k.as_str() == Some("<<") {
            let sources: Vec<Node> = match v.value {
                Value::Map(_) => vec![v],
                Value::Seq(items) => items,
                _ => Vec::new(),
            };
            for source in sources {
                if let Value::Map(inner) = source.value {
                    merged.extend(inner);
                }
            }
        } else {
            own.push((k, v));
        }
    }
    // Keys already set win; among merged sources, the first wins. A set keeps this linear.
    let mut taken: std::collections::HashSet<String> =
        own.iter().map(|(k, _)| k.key_text()).collect();
    for (k, v) in merged {
        if taken.insert(k.key_text()) {
            own.push((k, v));
        }
    }
    own
}

/// Resolves a plain scalar the way Kubernetes' YAML library does.
fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => {
            return Value::Bool(true);
        }
        "false" | "False" | "FALSE" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => {
            return Value::Bool(false);
        }
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    if let Some(i) = parse_int(text) {
        return Value::Int(i);
    }
    let looks_numeric = text
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
        && text.bytes().any(|b| b.is_ascii_digit());
    if looks_numeric && let Ok(f) = text.parse::<f64>() {
        return Value::Float(f);
    }
    Value::String(text.to_owned())
}

fn parse_int(text: &str) -> Option<i64> {
    let (neg, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let parsed = if let Some(hex) = body.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).ok()
    } else if let Some(oct) = body.strip_prefix("0o") {
        i64::from_str_radix(oct, 8).ok()
    } else if !body.is_empty() && body.bytes().all(|b| b.is_ascii_digit() || b == b'_') {
        body.replace('_', "").parse::<i64>().ok()
    } else {
        None
    }?;
    Some(if neg { -parsed } else { parsed })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Node {
        let mut l = load(text, Limits::default());
        assert!(l.errors.is_empty(), "{:?}", l.errors);
        l.documents.remove(0).root
    }

    #[test]
    fn positions_are_one_based_and_point_at_keys() {
        let root = one("kind: Pod\nspec:\n  containers:\n  - name: a\n    image: x\n");
        let p = root.pos_of(&[
            Seg::Key("spec"),
            Seg::Key("containers"),
            Seg::Index(0),
            Seg::Key("image"),
        ]);
        assert_eq!(p, Pos { line: 5, column: 5 });
        // A missing field points at its deepest existing parent.
        let p = root.pos_of(&[
            Seg::Key("spec"),
            Seg::Key("containers"),
            Seg::Index(0),
            Seg::Key("securityContext"),
            Seg::Key("privileged"),
        ]);
        assert_eq!(p, Pos { line: 4, column: 5 });
    }

    #[test]
    fn scalars_resolve_like_kubernetes() {
        let root =
            one("yes: x\na: yes\nb: 'yes'\nc: 012\nd: 1.5\ne: ~\nf: 0x1F\ng: !!str 5\nh: 1e3\n");
        assert_eq!(root.get("a").map(|n| &n.value), Some(&Value::Bool(true)));
        assert!(root.get("yes").is_some(), "keys are not resolved");
        assert_eq!(
            root.get("b").and_then(Node::as_str),
            Some("yes"),
            "quoted stays a string"
        );
        assert_eq!(root.get("c").map(|n| &n.value), Some(&Value::Int(12)));
        assert_eq!(root.get("d").map(|n| &n.value), Some(&Value::Float(1.5)));
        assert_eq!(root.get("e").map(|n| &n.value), Some(&Value::Null));
        assert_eq!(root.get("f").map(|n| &n.value), Some(&Value::Int(31)));
        assert_eq!(root.get("g").and_then(Node::as_str), Some("5"));
        assert_eq!(root.get("h").map(|n| &n.value), Some(&Value::Float(1000.0)));
    }

    #[test]
    fn json_is_yaml() {
        let root = one(r#"{"kind": "Pod", "spec": {"hostPID": true, "n": [1, 2]}}"#);
        assert_eq!(
            root.to_json(),
            serde_json::json!({"kind": "Pod", "spec": {"hostPID": true, "n": [1, 2]}})
        );
    }

    #[test]
    fn merge_keys_and_aliases() {
        let root = one("base: &b {x: 1, y: 2}\nderived:\n  <<: *b\n  y: 3\n");
        assert_eq!(
            root.get("derived").map(Node::to_json),
            Some(serde_json::json!({"y": 3, "x": 1}))
        );
    }

    #[test]
    fn broken_document_does_not_hide_the_next() {
        let text = "kind: A\n---\nkind: [unclosed\n---\nkind: C\n";
        let l = load(text, Limits::default());
        let kinds: Vec<_> = l
            .documents
            .iter()
            .filter_map(|d| d.root.str_at(&["kind"]).map(str::to_owned))
            .collect();
        assert_eq!(kinds, ["A", "C"]);
        assert_eq!(l.errors.len(), 1);
        assert!(l.errors[0].line >= 3, "{:?}", l.errors);
        // Positions after the resync are still absolute.
        let c = l.documents.last().map(|d| d.root.pos);
        assert_eq!(c.map(|p| p.line), Some(5));
    }

    #[test]
    fn alias_bomb_is_stopped() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let l = load(&text, Limits::default());
        assert!(
            l.errors.iter().any(|e| e.message.contains("alias")),
            "{:?}",
            l.errors
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let text = "[".repeat(100_000);
        let l = load(&text, Limits::default());
        assert!(
            l.errors
                .iter()
                .any(|e| e.message.contains("nesting") || e.message.contains("recursion")),
            "{:?}",
            l.errors
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,200}") {
            let _ = load(&s, Limits::default());
        }

        #[test]
        fn never_panics_on_yamlish(s in "([a-z]{1,3}|:|-|\\[|\\]|\\{|\\}|&a|\\*a|<<|'|\"| |\n|---|#|\\||>){0,60}") {
            let _ = load(&s, Limits::default());
        }
    }
}
