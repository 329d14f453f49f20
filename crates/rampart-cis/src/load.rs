//! Reading kube-bench's controls files (`cfg/<benchmark>/<section>.yaml`).
//!
//! As kube-bench reads them (go-yaml v2 into its structs): only the first YAML document counts,
//! unknown keys are ignored (kube-bench's own files carry keys it does not read), string fields
//! take the scalar's text as written, a test item's `set` is true unless written, and a wrong
//! shape (a mapping where a string belongs, a word that is not a boolean) is an error with the
//! file and position of the offending node. The YAML is read by rampart-k8s's loader (libyaml's
//! reading, go-yaml v2's scalars, bounded); a scalar go-yaml would resolve to a number, boolean
//! or null is given to a string field as written in the file.

use crate::model::{BinOp, Check, CheckType, Compare, Controls, Group, Op, TestItem, Tests};
use rampart_k8s::yaml::{Limits, Node, Value};
use std::path::Path;

/// Nodes (aliases expanded) and nesting a controls file may have.
const LIMITS: Limits = Limits {
    max_nodes: 200_000,
    max_depth: 64,
    max_documents: 1_000,
};

/// Controls files larger than this are refused (kube-bench's largest is under 64 KiB).
pub const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;

/// Why a controls file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// reading {file}: {source}
    #[error("reading {file}: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    /// {file}: larger than the limit
    #[error("{file}: {size} bytes, more than the {limit} a controls file may have")]
    TooLarge { file: String, size: u64, limit: u64 },
    /// {file}:{line}:{column}: invalid YAML
    #[error("{file}:{line}:{column}: invalid YAML: {message}")]
    Syntax {
        file: String,
        line: u32,
        column: u32,
        message: String,
    },
    /// {file}:{line}:{column}: a field of the wrong shape
    #[error("{file}:{line}:{column}: {field}: expected {expected}, found {found}")]
    Shape {
        file: String,
        line: u32,
        column: u32,
        field: String,
        expected: &'static str,
        found: String,
    },
}

impl LoadError {
    /// The file the error is about.
    pub fn file(&self) -> &str {
        match self {
            LoadError::Io { file, .. }
            | LoadError::TooLarge { file, .. }
            | LoadError::Syntax { file, .. }
            | LoadError::Shape { file, .. } => file,
        }
    }

    /// The 1-based line and column, for errors inside the file.
    pub fn position(&self) -> Option<(u32, u32)> {
        match self {
            LoadError::Syntax { line, column, .. } | LoadError::Shape { line, column, .. } => {
                Some((*line, *column))
            }
            LoadError::Io { .. } | LoadError::TooLarge { .. } => None,
        }
    }
}

/// Reads a controls file.
pub fn load(path: impl AsRef<Path>) -> Result<Controls, LoadError> {
    let path = path.as_ref();
    let file = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|source| LoadError::Io {
        file: file.clone(),
        source,
    })?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(LoadError::TooLarge {
            file,
            size: meta.len(),
            limit: MAX_FILE_BYTES,
        });
    }
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
        file: file.clone(),
        source,
    })?;
    parse(&text, &file)
}

/// Reads the text of a controls file; `name` names it in errors.
pub fn parse(text: &str, name: &str) -> Result<Controls, LoadError> {
    let size = u64::try_from(text.len()).unwrap_or(u64::MAX);
    if size > MAX_FILE_BYTES {
        return Err(LoadError::TooLarge {
            file: name.to_owned(),
            size,
            limit: MAX_FILE_BYTES,
        });
    }
    let loaded = rampart_k8s::yaml::load(text, LIMITS);
    if let Some(e) = loaded.errors.first() {
        return Err(LoadError::Syntax {
            file: name.to_owned(),
            line: e.line,
            column: e.column,
            message: e.message.clone(),
        });
    }
    let d = Decoder { file: name, text };
    match loaded.documents.first() {
        None => Ok(Controls::default()),
        Some(doc) if doc.root.value == Value::Null => Ok(Controls::default()),
        Some(doc) => d.controls(&doc.root),
    }
}

struct Decoder<'a> {
    file: &'a str,
    text: &'a str,
}

fn kind_name(node: &Node) -> &'static str {
    match node.value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Int(_) | Value::Float(_) => "a number",
        Value::String(_) => "a string",
        Value::Seq(_) => "a sequence",
        Value::Map(_) => "a mapping",
    }
}

impl Decoder<'_> {
    fn shape(&self, node: &Node, field: &str, expected: &'static str) -> LoadError {
        let found = match self.scalar_text(node) {
            Some(text) if node.value != Value::Null => {
                let mut t: String = text.chars().take(40).collect();
                if t.len() < text.len() {
                    t.push('…');
                }
                format!("{} `{t}`", kind_name(node))
            }
            _ => kind_name(node).to_owned(),
        };
        LoadError::Shape {
            file: self.file.to_owned(),
            line: node.pos.line,
            column: node.pos.column,
            field: field.to_owned(),
            expected,
            found,
        }
    }

    /// A scalar's text: a string's value, or for numbers and booleans the word as written
    /// (go-yaml gives a string field `no`, `0644`, `1.10`, not `false`, `420`, `1.1`).
    fn scalar_text(&self, node: &Node) -> Option<String> {
        match &node.value {
            Value::String(s) => Some(s.clone()),
            Value::Null => Some(String::new()),
            Value::Bool(_) | Value::Int(_) | Value::Float(_) => {
                Some(self.written_at(node).unwrap_or_else(|| match &node.value {
                    Value::Bool(b) => b.to_string(),
                    Value::Int(i) => i.to_string(),
                    Value::Float(f) => f.to_string(),
                    _ => String::new(),
                }))
            }
            Value::Seq(_) | Value::Map(_) => None,
        }
    }

    /// The plain word at a node's position (numbers, booleans: no spaces, commas, brackets).
    fn written_at(&self, node: &Node) -> Option<String> {
        let line = self
            .text
            .split('\n')
            .nth(usize::try_from(node.pos.line).ok()?.checked_sub(1)?)?;
        let col = usize::try_from(node.pos.column).ok()?.checked_sub(1)?;
        let word: String = line
            .chars()
            .skip(col)
            .take_while(|c| !matches!(c, ' ' | '\t' | '\r' | ',' | ']' | '}' | '#'))
            .collect();
        (!word.is_empty()).then_some(word)
    }

    fn entries<'n>(
        &self,
        node: &'n Node,
        field: &str,
    ) -> Result<Vec<(&'n str, &'n Node)>, LoadError> {
        match &node.value {
            Value::Map(entries) => Ok(entries
                .iter()
                .filter_map(|(k, v)| k.as_str().map(|k| (k, v)))
                .collect()),
            Value::Null => Ok(Vec::new()),
            _ => Err(self.shape(node, field, "a mapping")),
        }
    }

    /// A sequence field, each item decoded by `item`; null is empty.
    fn list<T>(
        &self,
        node: &Node,
        field: &str,
        item: impl Fn(&Self, &Node) -> Result<T, LoadError>,
    ) -> Result<Vec<T>, LoadError> {
        match &node.value {
            Value::Seq(items) => items.iter().map(|i| item(self, i)).collect(),
            Value::Null => Ok(Vec::new()),
            _ => Err(self.shape(node, field, "a sequence")),
        }
    }

    /// A string field: the scalar's text as written; null is empty.
    fn string(&self, node: &Node, field: &str) -> Result<String, LoadError> {
        self.scalar_text(node)
            .ok_or_else(|| self.shape(node, field, "a string"))
    }

    /// A boolean field, as go-yaml v2 resolves plain scalars (YAML 1.1 words); null is false.
    fn boolean(&self, node: &Node, field: &str) -> Result<bool, LoadError> {
        match node.value {
            Value::Bool(b) => Ok(b),
            Value::Null => Ok(false),
            _ => Err(self.shape(node, field, "a boolean")),
        }
    }

    fn controls(&self, root: &Node) -> Result<Controls, LoadError> {
        let mut c = Controls::default();
        for (key, value) in self.entries(root, "controls")? {
            match key {
                "version" => c.version = self.string(value, key)?,
                "id" => c.id = self.string(value, key)?,
                "text" => c.text = self.string(value, key)?,
                "type" => c.node_type = self.string(value, key)?,
                "groups" => c.groups = self.list(value, key, Self::group)?,
                _ => {}
            }
        }
        Ok(c)
    }

    fn group(&self, node: &Node) -> Result<Group, LoadError> {
        let mut g = Group::default();
        for (key, value) in self.entries(node, "groups[]")? {
            match key {
                "id" => g.id = self.string(value, key)?,
                "text" => g.text = self.string(value, key)?,
                "type" => g.kind = CheckType::parse(&self.string(value, key)?),
                "checks" => g.checks = self.list(value, key, Self::check)?,
                _ => {}
            }
        }
        if g.kind == CheckType::Skip {
            for c in &mut g.checks {
                c.kind = CheckType::Skip;
            }
        }
        Ok(g)
    }

    fn check(&self, node: &Node) -> Result<Check, LoadError> {
        let mut c = Check::default();
        for (key, value) in self.entries(node, "checks[]")? {
            match key {
                "id" => c.id = self.string(value, key)?,
                "text" => c.text = self.string(value, key)?,
                "type" => c.kind = CheckType::parse(&self.string(value, key)?),
                "audit" => c.audit = self.string(value, key)?,
                "audit_config" => c.audit_config = self.string(value, key)?,
                "audit_env" => c.audit_env = self.string(value, key)?,
                "remediation" => c.remediation = self.string(value, key)?,
                "scored" => c.scored = self.boolean(value, key)?,
                "use_multiple_values" => c.use_multiple_values = self.boolean(value, key)?,
                "tests" if value.value == Value::Null => c.tests = None,
                "tests" => c.tests = Some(self.tests(value)?),
                _ => {}
            }
        }
        Ok(c)
    }

    fn tests(&self, node: &Node) -> Result<Tests, LoadError> {
        let mut t = Tests::default();
        for (key, value) in self.entries(node, "tests")? {
            match key {
                "bin_op" => t.bin_op = BinOp::parse(&self.string(value, key)?),
                "test_items" => t.test_items = self.list(value, key, Self::item)?,
                _ => {}
            }
        }
        Ok(t)
    }

    fn item(&self, node: &Node) -> Result<TestItem, LoadError> {
        let mut t = TestItem::default();
        for (key, value) in self.entries(node, "test_items[]")? {
            match key {
                "flag" => t.flag = self.string(value, key)?,
                "path" => t.path = self.string(value, key)?,
                "env" => t.env = self.string(value, key)?,
                "set" => t.set = self.boolean(value, key)?,
                "compare" => {
                    let mut op = String::new();
                    let mut v = String::new();
                    for (k, val) in self.entries(value, key)? {
                        match k {
                            "op" => op = self.string(val, "compare.op")?,
                            "value" => v = self.string(val, "compare.value")?,
                            _ => {}
                        }
                    }
                    t.compare = Some(Compare {
                        op: Op::parse(&op),
                        value: v,
                    });
                }
                _ => {}
            }
        }
        Ok(t)
    }
}
