//! A small YAML tree with positions, read the way Falco reads rules files with yaml-cpp: every
//! scalar stays a string (yaml-cpp converts on access, so `yes`, `on` and `=` are plain text
//! until a boolean is asked for), several documents per file are read in order, and aliases are
//! expanded under a node budget so an alias bomb is refused instead of exhausting memory.

use saphyr_parser::{Event as YEvent, Parser, ScalarStyle};
use std::collections::HashMap;

/// Nodes one rules file may expand to, aliases included (the "billion laughs" guard).
pub const MAX_YAML_NODES: usize = 1_000_000;
/// Items one YAML sequence may hold (a list of a million items is refused while it is read).
pub const MAX_YAML_SEQ_ITEMS: usize = 100_000;
/// Nesting depth of sequences and mappings in a rules file.
pub const MAX_YAML_DEPTH: usize = 64;

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pos {
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

impl std::fmt::Display for Pos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// A YAML value.
#[derive(Debug, Clone, PartialEq)]
pub enum Y {
    /// `~`, `null` or nothing.
    Null,
    /// Any scalar, as written (after YAML unquoting).
    Str(String),
    /// A sequence.
    Seq(Vec<YNode>),
    /// A mapping, entries in document order.
    Map(Vec<(YNode, YNode)>),
}

/// A value and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct YNode {
    /// The value.
    pub v: Y,
    /// Where it starts.
    pub pos: Pos,
    /// A quoted scalar (its text starts one column after `pos`).
    pub quoted: bool,
}

impl YNode {
    /// The scalar text.
    pub fn as_str(&self) -> Option<&str> {
        match &self.v {
            Y::Str(s) => Some(s),
            _ => None,
        }
    }
    /// The value for `key` in a mapping (the last one when repeated, as yaml-cpp does not
    /// define which; Falco's files never repeat keys).
    pub fn get(&self, key: &str) -> Option<&YNode> {
        match &self.v {
            Y::Map(entries) => entries
                .iter()
                .rev()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }
    /// The mapping's keys.
    pub fn keys(&self) -> impl Iterator<Item = &YNode> {
        let entries: &[(YNode, YNode)] = match &self.v {
            Y::Map(e) => e,
            _ => &[],
        };
        entries.iter().map(|(k, _)| k)
    }
    /// Is this a mapping?
    pub fn is_map(&self) -> bool {
        matches!(self.v, Y::Map(_))
    }
    /// Is this null or an empty scalar?
    pub fn is_empty_scalar(&self) -> bool {
        match &self.v {
            Y::Null => true,
            Y::Str(s) => s.is_empty(),
            _ => false,
        }
    }
    /// A boolean as yaml-cpp converts one (`true/false/yes/no/on/off/y/n`, any case).
    pub fn as_bool(&self) -> Option<bool> {
        let s = self.as_str()?;
        match s.to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "y" => Some(true),
            "false" | "no" | "off" | "n" => Some(false),
            _ => None,
        }
    }
}

/// A YAML syntax error or a limit hit, with its position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("error at line {}, column {}: {message}", pos.line, pos.column)]
pub struct YamlError {
    /// Where.
    pub pos: Pos,
    /// What.
    pub message: String,
}

fn pos_of(line: usize, col0: usize) -> Pos {
    Pos {
        line: u32::try_from(line).unwrap_or(u32::MAX),
        column: u32::try_from(col0.saturating_add(1)).unwrap_or(u32::MAX),
    }
}

enum Frame {
    Seq(Vec<YNode>, Pos, usize),
    Map(Vec<(YNode, YNode)>, Option<YNode>, Pos, usize),
}

fn count_nodes(n: &YNode) -> usize {
    match &n.v {
        Y::Null | Y::Str(_) => 1,
        Y::Seq(items) => items
            .iter()
            .map(count_nodes)
            .sum::<usize>()
            .saturating_add(1),
        Y::Map(e) => e
            .iter()
            .map(|(k, v)| count_nodes(k).saturating_add(count_nodes(v)))
            .sum::<usize>()
            .saturating_add(1),
    }
}

/// Parses every document of `text`. yaml-cpp (like libyaml) accepts flow collections whose
/// continuation lines sit at or left of their key's column, which YAML forbids and
/// saphyr-parser refuses; Falco's own older rules files do that, so when a first parse fails the
/// lines inside flow collections are indented further (insignificant there) and parsing retried.
pub fn parse_documents(text: &str) -> Result<Vec<YNode>, YamlError> {
    match parse_strict(text) {
        Ok(d) => Ok(d),
        Err(first) => match relax_flow_indentation(text) {
            Some(fixed) => parse_strict(&fixed).map_err(|_| first),
            None => Err(first),
        },
    }
}

/// Indents every line that starts inside a flow collection by the column of the line that
/// opened it plus two; `None` when there is none.
fn relax_flow_indentation(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len() + 256);
    let mut depth = 0usize;
    let mut open_indent = 0usize;
    let mut changed = false;
    let (mut sq, mut dq) = (false, false);
    for line in text.split_inclusive('\n') {
        let indent = line.len() - line.trim_start_matches(' ').len();
        if depth > 0 && !sq && !dq {
            let content = line.trim_start_matches(' ');
            if indent <= open_indent && !content.trim().is_empty() {
                out.extend(std::iter::repeat_n(' ', open_indent + 2));
                out.push_str(content);
                changed = true;
            } else {
                out.push_str(line);
            }
        } else {
            out.push_str(line);
        }
        let b = line.as_bytes();
        let mut prev: u8 = b' ';
        let mut k = 0;
        while let Some(&c) = b.get(k) {
            if dq {
                if c == b'\\' {
                    k += 1;
                } else if c == b'"' {
                    dq = false;
                }
            } else if sq {
                if c == b'\'' {
                    sq = false;
                }
            } else {
                match c {
                    b'#' if prev == b' ' || prev == b'\t' => break,
                    b'"' if depth > 0 || matches!(prev, b' ' | b':' | b'-') => dq = true,
                    b'\'' if depth > 0 || matches!(prev, b' ' | b':' | b'-') => sq = true,
                    b'[' | b'{' if depth > 0 || matches!(prev, b' ' | b'\t') => {
                        if depth == 0 {
                            open_indent = indent;
                        }
                        depth += 1;
                    }
                    b']' | b'}' if depth > 0 => depth -= 1,
                    _ => {}
                }
            }
            prev = c;
            k += 1;
        }
    }
    changed.then_some(out)
}

/// yaml-cpp's wording for the syntax errors Falco users see.
fn yaml_cpp_message(info: &str) -> String {
    let m = if info.contains("mapping values are not allowed") {
        "illegal map value"
    } else if info.contains("expected ',' or ']'") {
        "end of sequence flow not found"
    } else if info.contains("expected ',' or '}'") {
        "end of map flow not found"
    } else if info.contains("did not find expected key") {
        "end of map not found"
    } else if info.contains("did not find expected '-'") {
        "end of sequence not found"
    } else {
        info
    };
    m.to_owned()
}

fn parse_strict(text: &str) -> Result<Vec<YNode>, YamlError> {
    let mut docs = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, YNode> = HashMap::new();
    let mut budget = MAX_YAML_NODES;
    let mut root: Option<YNode> = None;
    for ev in Parser::new_from_str(text) {
        let (ev, span) = ev.map_err(|e| YamlError {
            pos: pos_of(e.marker().line(), e.marker().col()),
            message: yaml_cpp_message(e.info()),
        })?;
        let pos = pos_of(span.start.line(), span.start.col());
        let mut finished: Option<(YNode, usize)> = None;
        match ev {
            YEvent::StreamStart | YEvent::StreamEnd | YEvent::Nothing => {}
            YEvent::DocumentStart(_) => root = None,
            YEvent::DocumentEnd => {
                docs.push(root.take().unwrap_or(YNode {
                    v: Y::Null,
                    pos,
                    quoted: false,
                }));
            }
            YEvent::Alias(id) => {
                let node = anchors.get(&id).cloned().ok_or_else(|| YamlError {
                    pos,
                    message: "unknown anchor".to_owned(),
                })?;
                let n = count_nodes(&node);
                budget = budget.checked_sub(n).ok_or_else(|| YamlError {
                    pos,
                    message: format!(
                        "the document expands to more than {MAX_YAML_NODES} nodes (alias bomb?)"
                    ),
                })?;
                finished = Some((node, 0));
            }
            YEvent::Scalar(value, style, anchor, _tag) => {
                budget = budget.checked_sub(1).ok_or_else(|| YamlError {
                    pos,
                    message: format!("the document has more than {MAX_YAML_NODES} nodes"),
                })?;
                let quoted = matches!(style, ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted);
                let v = if style == ScalarStyle::Plain
                    && matches!(value.as_ref(), "" | "~" | "null" | "Null" | "NULL")
                {
                    Y::Null
                } else {
                    Y::Str(value.into_owned())
                };
                finished = Some((YNode { v, pos, quoted }, anchor));
            }
            YEvent::SequenceStart(anchor, _) | YEvent::MappingStart(anchor, _) => {
                if stack.len() >= MAX_YAML_DEPTH {
                    return Err(YamlError {
                        pos,
                        message: format!("nesting deeper than {MAX_YAML_DEPTH} levels"),
                    });
                }
                budget = budget.checked_sub(1).ok_or_else(|| YamlError {
                    pos,
                    message: format!("the document has more than {MAX_YAML_NODES} nodes"),
                })?;
                if matches!(ev, YEvent::SequenceStart(..)) {
                    stack.push(Frame::Seq(Vec::new(), pos, anchor));
                } else {
                    stack.push(Frame::Map(Vec::new(), None, pos, anchor));
                }
            }
            YEvent::SequenceEnd | YEvent::MappingEnd => match stack.pop() {
                Some(Frame::Seq(items, p, a)) => {
                    finished = Some((
                        YNode {
                            v: Y::Seq(items),
                            pos: p,
                            quoted: false,
                        },
                        a,
                    ));
                }
                Some(Frame::Map(entries, _, p, a)) => {
                    finished = Some((
                        YNode {
                            v: Y::Map(entries),
                            pos: p,
                            quoted: false,
                        },
                        a,
                    ));
                }
                None => {}
            },
        }
        if let Some((node, anchor)) = finished {
            if anchor != 0 {
                anchors.insert(anchor, node.clone());
            }
            match stack.last_mut() {
                Some(Frame::Seq(items, _, _)) => {
                    if items.len() >= MAX_YAML_SEQ_ITEMS {
                        return Err(YamlError {
                            pos: node.pos,
                            message: format!(
                                "a sequence with more than {MAX_YAML_SEQ_ITEMS} items"
                            ),
                        });
                    }
                    items.push(node);
                }
                Some(Frame::Map(entries, pending, _, _)) => match pending.take() {
                    Some(k) => entries.push((k, node)),
                    None => *pending = Some(node),
                },
                None => root = Some(node),
            }
        }
    }
    if let Some(r) = root.take() {
        docs.push(r);
    }
    Ok(docs)
}
