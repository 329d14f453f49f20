//! YAML (and JSON, a subset of YAML 1.2) loaded into a tree whose every node keeps its position,
//! so findings can point at the line and column of the offending field.
//!
//! Built on `saphyr-parser`'s event stream rather than a DOM crate because we need, at once:
//! positions on every node, several documents per file with recovery after a broken one, merge
//! keys (`<<`) like kubectl's YAML library, and hard limits against alias bombs and deep nesting.
//! Scalars, keys, tags and merge keys are resolved like Kubernetes' YAML library (sigs.k8s.io/yaml
//! over go-yaml v2: `y`/`yes`/`on` are booleans, `012` is octal, a key written before `<<` is
//! overwritten), so a manifest means here what it means to `kubectl apply`; parsing follows
//! libyaml where saphyr-parser is stricter on white space (quoted scalars and flow collections
//! continuing less indented than their key, tabs in their indentation or after `:`, block
//! scalar headers at their parent's column) and on directives after a document without `...`. docs/yaml.md lists what differs from libyaml and
//! why; the differential test `tests/loader_differential.rs` checks it against libyaml (PyYAML).

use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use std::collections::{BTreeSet, HashMap};

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
    // A last line of white space without a line break holds nothing, and libyaml reads a block
    // scalar before it as if the text ended with the line break before it (saphyr-parser counts
    // it as a line of the scalar, or takes the final line break away).
    let text = match text.rfind('\n') {
        Some(i)
            if text
                .get(i..)
                .is_some_and(|t| t.trim_matches([' ', '\t', '\n']).is_empty()) =>
        {
            text.get(..=i).unwrap_or(text)
        }
        None if text.trim_matches([' ', '\t']).is_empty() => "",
        _ => text,
    };
    let mut loaded = Loaded::default();
    let mut nodes_budget = limits.max_nodes;
    let mut offset_lines = 0usize;
    let mut rest = text;
    // Characters in `text` when it does not end with a line break, and before `rest`.
    let unterminated = (!text.ends_with(['\n', '\r'])).then(|| text.chars().count());
    let mut consumed_chars = 0usize;
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
        let end_chars = unterminated.map(|n| n.saturating_sub(consumed_chars));
        let (mut builder, err) = parse_segment(rest, offset_lines, end_chars, limits, nodes_budget);
        nodes_budget = builder.budget;
        loaded.documents.append(&mut builder.docs);
        let Some(err) = err else { break };
        if loaded.documents.len() >= limits.max_documents {
            loaded.errors.push(clamp(err.error));
            break;
        }
        // A directive after a document not closed by `...`: libyaml closes the document there
        // and reads the next one; so does the loader, from that line on.
        let resume = if err.from_scanner && err.error.message == DIRECTIVE_ERROR && !builder.fatal {
            byte_at(rest, err.raw_line, 0)
                .filter(|b| *b > 0)
                .map(|b| (b, err.raw_line.saturating_sub(1)))
        } else {
            let err_line = to_usize(err.error.line).saturating_sub(offset_lines);
            loaded.errors.push(clamp(err.error));
            if builder.fatal {
                break;
            }
            // Resume at the next document separator after the error line.
            next_separator(rest, err_line)
        };
        match resume {
            Some((byte, line)) => {
                consumed_chars = consumed_chars
                    .saturating_add(rest.get(..byte).map_or(0, |r| r.chars().count()));
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

/// saphyr-parser errors on input libyaml, go-yaml (kubectl) and PyYAML accept, each undone by a
/// fix-up of the text that keeps its value: white space that is not content is re-indented or a
/// tab made a space, and the text is parsed again.
///
/// A quoted scalar's continuation line less indented than the block the scalar sits in.
const QUOTED_INDENT_ERROR: &str = "invalid indentation in quoted scalar";
/// A tab in the leading white space of a quoted scalar's continuation line.
const QUOTED_TAB_ERROR: &str = "tab cannot be used as indentation";
/// A line of a flow collection (an entry or its closing bracket) at or left of its key's column,
/// or indented with tabs.
const FLOW_INDENT_ERRORS: [&str; 4] = [
    "invalid indentation",
    "invalid indentation in flow construct",
    "tabs disallowed within this context (block indentation)",
    "tabs disallowed in this context",
];
/// A tab right after the `:` of a mapping entry (`a:\t1`).
const VALUE_TAB_ERROR: &str = "':' must be followed by a valid YAML whitespace";
/// A comment right after a token (`"v"#c`, `[a,#c`): libyaml reads a `#` where a token may
/// start as a comment.
const COMMENT_SPACE_ERROR: &str = "comments must be separated from other tokens by whitespace";
/// A block scalar header (`|`, `>`) starting a line at the column of the collection whose value
/// it is (`a:\n|\n  z`, `-\n|\n  z`): saphyr-parser takes it for a key that must be followed
/// by `:` (the first message when the scalar is followed by more text, the second at its end).
const BLOCK_HEADER_ERRORS: [&str; 2] = ["simple key expect ':'", "simple key expected"];
/// A directive line after a document that was not closed by `...`: libyaml ends the document
/// there; the loader starts a new stretch of text at that line.
const DIRECTIVE_ERROR: &str = "missing explicit document end marker before directive";

/// How many fix-ups one stretch of text may get (each costs a parse or two of that text).
const MAX_FIXUPS: usize = 64;

/// Parses `text` (whose first line is line `offset_lines + 1` of the file) up to its end or its
/// first error (`end_chars`: its length in characters when it does not end with a line break).
/// Where saphyr-parser is stricter than libyaml on white space (quoted scalars and
/// flow collections continuing less indented than saphyr-parser wants, tabs in their
/// indentation, a tab after `:`), the white space is rewritten and the text parsed again: the
/// leading white space of those lines is not part of any value (YAML 1.2 §7.3
/// `s-flow-line-prefix`, §7.4 flow collections), so the value is the one libyaml reads, and
/// columns on the rewritten lines are shifted back.
fn parse_segment(
    text: &str,
    offset_lines: usize,
    end_chars: Option<usize>,
    limits: Limits,
    budget: usize,
) -> (Builder, Option<SegmentError>) {
    let mut patched: Option<String> = None;
    let mut fix = Fixups {
        // Re-indenting may at most double the text (and a little more for short texts).
        max_len: text.len().saturating_mul(2).saturating_add(1 << 16),
        ..Fixups::default()
    };
    let mut fixups = 0usize;
    loop {
        let current = patched.as_deref().unwrap_or(text);
        let mut builder = Builder::new(offset_lines, limits, budget, fix.clone());
        // Fix-ups add spaces, which move the end.
        builder.unterminated_end = end_chars.map(|n| {
            n.saturating_add(fix.shifts.values().sum::<usize>())
                .saturating_add(fix.added)
        });
        let Some(e) = run_parser(current, &mut builder) else {
            return (builder, None);
        };
        if !e.from_scanner || fixups >= MAX_FIXUPS {
            return (builder, Some(e));
        }
        let message = e.error.message.as_str();
        let fixed = if message == QUOTED_INDENT_ERROR {
            reindent_quoted(current, e.raw_line, e.raw_col, &mut fix)
        } else if message == QUOTED_TAB_ERROR {
            quoted_scalar_at(current, e.raw_line, e.raw_col)
                .and_then(|(line, col)| reindent_quoted(current, line, col, &mut fix))
        } else if FLOW_INDENT_ERRORS.contains(&message) {
            reindent_flow(current, e.raw_line, offset_lines, limits, &mut fix)
        } else if message == VALUE_TAB_ERROR {
            untab_value(current, e.raw_line, e.raw_col)
        } else if BLOCK_HEADER_ERRORS.contains(&message) {
            indent_block_header(
                current,
                builder.last_end.0,
                e.raw_line,
                offset_lines,
                &mut fix,
            )
        } else if message == COMMENT_SPACE_ERROR {
            space_comment(current, e.raw_line, e.raw_col).inspect(|_| {
                fix.added = fix.added.saturating_add(1);
            })
        } else {
            None
        };
        let Some(fixed) = fixed else {
            return (builder, Some(e));
        };
        patched = Some(fixed);
        fixups += 1;
    }
}

/// What the fix-ups of a stretch of text changed, for the builder to map positions back.
#[derive(Debug, Clone, Default)]
struct Fixups {
    /// Spaces added at the start of lines (1-based, of the parsed text).
    shifts: HashMap<usize, usize>,
    /// Re-indented flow collections: where each opens, where its closing bracket was found and
    /// where a `,` right before that bracket stands (positions in the file; saphyr-parser puts
    /// the end of `{a: 1, }` at the comma). The parse must close it there, else the fix-up
    /// misread the text.
    flow_ends: HashMap<Pos, (Pos, Option<Pos>)>,
    /// The longest the text may grow to (re-indenting deep lines could blow it up).
    max_len: usize,
    /// Characters added to the text, besides the spaces of `shifts`.
    added: usize,
    /// Block scalar headers moved one column right (positions in the file): the parse must read
    /// a block scalar at each, else the move changed what the text says.
    block_headers: BTreeSet<Pos>,
}

/// Byte offset in `text` of 1-based `line`, 0-based character `col`.
fn byte_at(text: &str, line: usize, col: usize) -> Option<usize> {
    let line_start = if line <= 1 {
        0
    } else {
        text.match_indices('\n')
            .nth(line.checked_sub(2)?)
            .map(|(i, _)| i.saturating_add(1))?
    };
    let rest = text.get(line_start..)?;
    if col == 0 {
        return Some(line_start);
    }
    rest.char_indices()
        .nth(col)
        .map(|(i, _)| line_start.saturating_add(i))
        .or_else(|| (rest.chars().count() == col).then_some(text.len()))
}

/// Whether `rest` (the text from a line's start) opens with a document marker (`---`, `...`).
fn starts_with_document_marker(rest: &str) -> bool {
    ["---", "..."].iter().any(|m| {
        rest.starts_with(m)
            && rest
                .get(3..)
                .is_none_or(|r| r.is_empty() || r.starts_with([' ', '\t', '\r', '\n']))
    })
}

/// The start (1-based line, 0-based character column) of the quoted scalar that is being read
/// at `line`, `col` of `text`: saphyr-parser reports a tab in a quoted scalar's indentation
/// where the tab stands, and the scalar's start where the text ends inside it, so the text is
/// cut there and parsed again.
fn quoted_scalar_at(text: &str, line: usize, col: usize) -> Option<(usize, usize)> {
    let probe = text.get(..byte_at(text, line, col)?)?;
    for item in Parser::new_from_str(probe) {
        if let Err(e) = item {
            let m = e.marker();
            let inside = e.info().starts_with("while scanning a quoted scalar")
                && (m.line(), m.col()) < (line, col);
            return inside.then(|| (m.line(), m.col()));
        }
    }
    None
}

/// Rewrites the leading white space of the continuation lines of the quoted scalar opening at
/// 1-based `line`, 0-based character `col`: tabs become spaces and lines less indented than the
/// quote are indented to it, recording each line's added spaces in `shifts`. `None` when there
/// is no such scalar, it is unterminated, a continuation line is a document marker (an error
/// libyaml reports too), or nothing needs rewriting.
fn reindent_quoted(text: &str, line: usize, col: usize, fix: &mut Fixups) -> Option<String> {
    let quote_at = byte_at(text, line, col)?;
    let rest = text.get(quote_at..)?;
    let mut chars = rest.char_indices();
    let quote = chars.next()?.1;
    if quote != '"' && quote != '\'' {
        return None;
    }
    // Byte offsets (in `text`) of the continuation lines, and the scalar's end.
    let mut line_starts = Vec::new();
    let mut end = None;
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' if quote == '"' => {
                if let Some((j, '\n')) = chars.next() {
                    line_starts.push(quote_at.saturating_add(j).saturating_add(1));
                }
            }
            '\'' if quote == '\'' => {
                if rest.get(i.saturating_add(1)..)?.starts_with('\'') {
                    chars.next();
                } else {
                    end = Some(i);
                    break;
                }
            }
            '"' if quote == '"' => {
                end = Some(i);
                break;
            }
            '\n' => line_starts.push(quote_at.saturating_add(i).saturating_add(1)),
            _ => {}
        }
    }
    end?;
    if line_starts
        .iter()
        .any(|s| text.get(*s..).is_some_and(starts_with_document_marker))
    {
        return None;
    }
    reindent_lines(text, &line_starts, col, fix)
}

/// Rewrites the leading white space of the lines starting at the byte offsets `line_starts` (in
/// increasing order): tabs become spaces, and lines that hold more than white space and are
/// indented less than `col` are indented to `col`. The spaces added are recorded per line
/// (1-based) in `fix.shifts`. `None` when nothing changes or the text would grow beyond
/// `fix.max_len`.
fn reindent_lines(
    text: &str,
    line_starts: &[usize],
    col: usize,
    fix: &mut Fixups,
) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut added = 0usize;
    let mut shifts = Vec::new();
    let mut copied = 0usize;
    let mut changed = false;
    // The 1-based line at byte `counted`.
    let (mut counted, mut line_no) = (0usize, 1usize);
    for &start in line_starts {
        line_no = line_no.saturating_add(text.get(counted..start)?.matches('\n').count());
        counted = start;
        let first = text.get(start..)?.split('\n').next().unwrap_or("");
        let body = first.trim_start_matches([' ', '\t']);
        let lead = first.get(..first.len().saturating_sub(body.len()))?;
        let indent = lead.chars().count();
        let blank = body.trim_end_matches('\r').is_empty();
        let pad = if blank { 0 } else { col.saturating_sub(indent) };
        if pad == 0 && !lead.contains('\t') {
            continue;
        }
        added = added.saturating_add(pad);
        if text.len().saturating_add(added) > fix.max_len {
            return None;
        }
        out.push_str(text.get(copied..start)?);
        out.extend(std::iter::repeat_n(' ', indent.saturating_add(pad)));
        copied = start.saturating_add(lead.len());
        changed = true;
        if pad > 0 {
            shifts.push((line_no, pad));
        }
    }
    if !changed {
        return None;
    }
    for (line_no, pad) in shifts {
        let total = fix.shifts.entry(line_no).or_insert(0);
        *total = total.saturating_add(pad);
    }
    out.push_str(text.get(copied..)?);
    Some(out)
}

/// Re-indents the flow collection that is open at the start of 1-based `line` of `text`, whose
/// entries or closing bracket sit at or left of its key's column (saphyr-parser wants them to
/// its right; libyaml ignores indentation inside flow collections). Finds the outermost flow
/// collection open there by parsing the text up to that line, its closing bracket with
/// [`flow_close`], and indents the lines after the opening bracket up to the closing one to the
/// opening bracket's column. The brackets are recorded in `fix.flow_ends` so the builder can
/// check that the parse closes the collection where it was found.
fn reindent_flow(
    text: &str,
    line: usize,
    offset_lines: usize,
    limits: Limits,
    fix: &mut Fixups,
) -> Option<String> {
    let probe = text.get(..byte_at(text, line, 0)?)?;
    // Collections open there: where each starts, and whether it is a flow collection (its start
    // spans its bracket; a block collection's start is empty).
    let mut open: Vec<(usize, usize, bool)> = Vec::new();
    for item in Parser::new_from_str(probe) {
        let Ok((event, span)) = item else { break };
        match event {
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                if open.len() >= limits.max_depth {
                    return None;
                }
                let flow = span.end.index() > span.start.index();
                open.push((span.start.line(), span.start.col(), flow));
            }
            Event::SequenceEnd | Event::MappingEnd => {
                open.pop();
            }
            _ => {}
        }
    }
    // The outermost flow collection; if it is read to close before that line, the reading
    // disagrees with saphyr-parser's and nothing is rewritten.
    if let Some(&(open_line, open_col, _)) = open.iter().find(|o| o.2) {
        let at = byte_at(text, open_line, open_col)?;
        if !text.get(at..)?.starts_with(['[', '{']) {
            return None;
        }
        let (close, comma) = flow_close(text, at)?;
        if close < probe.len() {
            return None;
        }
        let line_starts: Vec<usize> = text
            .get(at..close)?
            .match_indices('\n')
            .map(|(i, _)| at.saturating_add(i).saturating_add(1))
            .collect();
        let file_pos = |byte: usize, shifts: &HashMap<usize, usize>| -> Option<Pos> {
            let line = text.get(..byte)?.matches('\n').count().saturating_add(1);
            let line_start = text
                .get(..byte)?
                .rfind('\n')
                .map_or(0, |i| i.saturating_add(1));
            let col = text.get(line_start..byte)?.chars().count();
            Some(Pos {
                line: to_u32(line.saturating_add(offset_lines)),
                column: to_u32(
                    col.saturating_sub(shifts.get(&line).copied().unwrap_or(0))
                        .saturating_add(1),
                ),
            })
        };
        let start = file_pos(at, &fix.shifts)?;
        let end = file_pos(close, &fix.shifts)?;
        let comma = comma.and_then(|c| file_pos(c, &fix.shifts));
        let fixed = reindent_lines(text, &line_starts, open_col, fix)?;
        fix.flow_ends.insert(start, (end, comma));
        return Some(fixed);
    }
    None
}

/// Byte offset of the bracket that closes the flow collection opening at byte `open` of `text`,
/// read the way libyaml reads flow context: quoted scalars (with their escapes) and comments
/// hold no brackets, a quote starts a scalar only where a token starts, and plain scalars, tags,
/// anchors and aliases end at a flow indicator. With it, the byte offset of a `,` that comes
/// right before it (only white space and comments between). `None` when the collection is not
/// closed or a line inside it starts with a document marker (an error for libyaml too).
fn flow_close(text: &str, open: usize) -> Option<(usize, Option<usize>)> {
    #[derive(PartialEq, Clone, Copy)]
    enum In {
        /// Between tokens.
        Flow,
        Plain,
        Property,
        Verbatim,
        Double,
        Single,
        Comment,
    }
    let mut state = In::Flow;
    let mut depth = 0usize;
    // The previous character was white space (or a line break).
    let mut after_blank = true;
    // A quoted scalar or a collection just closed: a `:` right after it is an indicator.
    let mut adjacent = false;
    let mut line_start = false;
    // The last character outside comments and white space.
    let mut last = (open, '[');
    let mut chars = text.get(open..)?.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let at = open.saturating_add(i);
        if line_start && text.get(at..).is_some_and(starts_with_document_marker) {
            return None;
        }
        line_start = c == '\n';
        let blank = matches!(c, ' ' | '\t' | '\r' | '\n');
        let next = chars.peek().map(|&(_, n)| n);
        let before = last;
        if !blank && state != In::Comment {
            last = (at, c);
        }
        match state {
            In::Double => match c {
                '\\' => {
                    if let Some((_, skipped)) = chars.next() {
                        line_start = skipped == '\n';
                    }
                }
                '"' => {
                    state = In::Flow;
                    adjacent = true;
                    after_blank = false;
                    continue;
                }
                _ => {}
            },
            In::Single => {
                if c == '\'' {
                    if next == Some('\'') {
                        chars.next();
                    } else {
                        state = In::Flow;
                        adjacent = true;
                        after_blank = false;
                        continue;
                    }
                }
            }
            In::Comment => {
                if c == '\n' {
                    state = In::Flow;
                }
            }
            In::Verbatim => {
                if c == '>' {
                    state = In::Property;
                }
            }
            In::Flow | In::Plain | In::Property => {
                if blank {
                    if state == In::Property {
                        state = In::Flow;
                    }
                    adjacent = false;
                } else {
                    match c {
                        // libyaml: a comment wherever a token may start.
                        '#' if after_blank || state == In::Flow => {
                            state = In::Comment;
                            last = before;
                        }
                        '[' | '{' => {
                            depth = depth.saturating_add(1);
                            state = In::Flow;
                        }
                        ']' | '}' => {
                            depth = depth.checked_sub(1)?;
                            if depth == 0 {
                                let comma = (before.1 == ',').then_some(before.0);
                                return Some((at, comma));
                            }
                            state = In::Flow;
                            adjacent = true;
                            after_blank = false;
                            continue;
                        }
                        ',' => state = In::Flow,
                        ':' if adjacent
                            || next.is_none_or(|n| {
                                matches!(n, ' ' | '\t' | '\r' | '\n' | ',' | '[' | ']' | '{' | '}')
                            }) =>
                        {
                            state = In::Flow;
                        }
                        '"' if state == In::Flow => state = In::Double,
                        '\'' if state == In::Flow => state = In::Single,
                        '!' if state == In::Flow && next == Some('<') => state = In::Verbatim,
                        '!' | '&' | '*' if state == In::Flow => state = In::Property,
                        '?' if state == In::Flow
                            && next.is_none_or(|n| matches!(n, ' ' | '\t' | '\r' | '\n')) => {}
                        _ if state == In::Flow => state = In::Plain,
                        _ => {}
                    }
                    adjacent = false;
                }
            }
        }
        after_blank = blank;
    }
    None
}

/// Moves one column right the block scalar header that saphyr-parser refused at its parent's
/// column (`a:\n|\n  z`): libyaml reads it as the value of that mapping entry or sequence
/// entry. The header is the first token after the last event read (which ended on 1-based line
/// `after`), before the error's line `err_line`: the first line after `after` that is not blank,
/// a comment or node properties (`&a`, `!!str`) must start with `|` or `>` behind spaces.
///
/// A block scalar's content indentation and its indentation indicator count from the
/// indentation of the collection it is in, not from the header's column, and saphyr-parser
/// reads a header one column right of an open collection's column as a key (the same error),
/// so when the parse of the rewritten text reads a block scalar where the header stands (the
/// builder checks it, see [`Fixups::block_headers`]), it is the scalar libyaml reads. Each
/// header moves once.
fn indent_block_header(
    text: &str,
    after: usize,
    err_line: usize,
    offset_lines: usize,
    fix: &mut Fixups,
) -> Option<String> {
    let first = after.saturating_add(1);
    let mut start = byte_at(text, first, 0)?;
    for line in first..=err_line {
        let content = text.get(start..)?.split('\n').next().unwrap_or("");
        let body = content.trim_start_matches(' ');
        // Spaces are one byte each.
        let indent = content.len().saturating_sub(body.len());
        if body.starts_with(['|', '>']) {
            let column = indent
                .saturating_sub(fix.shifts.get(&line).copied().unwrap_or(0))
                .saturating_add(1);
            let pos = Pos {
                line: to_u32(line.saturating_add(offset_lines)),
                column: to_u32(column),
            };
            if fix.block_headers.contains(&pos) {
                return None;
            }
            let fixed = reindent_lines(text, &[start], indent.saturating_add(1), fix)?;
            fix.block_headers.insert(pos);
            return Some(fixed);
        }
        let skip =
            body.trim_matches([' ', '\t', '\r']).is_empty() || body.starts_with(['#', '&', '!']);
        if !skip {
            return None;
        }
        start = start.saturating_add(content.len()).saturating_add(1);
        if start > text.len() {
            return None;
        }
    }
    None
}

/// Puts a space before the `#` at 1-based `line`, 0-based character `col` of `text`, which
/// follows a token with no white space between: a comment to the end of the line for libyaml.
/// Nothing after it on that line has a position, so none is shifted.
fn space_comment(text: &str, line: usize, col: usize) -> Option<String> {
    let at = byte_at(text, line, col)?;
    if !text.get(at..)?.starts_with('#') {
        return None;
    }
    let mut out = String::with_capacity(text.len().saturating_add(1));
    out.push_str(text.get(..at)?);
    out.push(' ');
    out.push_str(text.get(at..)?);
    Some(out)
}

/// Makes a space of the tab right after the `:` that precedes 1-based `line`, 0-based character
/// `col` of `text` across white space (`a:\t1`): separation either way for libyaml.
fn untab_value(text: &str, line: usize, col: usize) -> Option<String> {
    let at = byte_at(text, line, col)?;
    let before = text.get(..at)?;
    let blanks = before
        .len()
        .saturating_sub(before.trim_end_matches([' ', '\t']).len());
    let colon = at.checked_sub(blanks)?.checked_sub(1)?;
    if !text.get(colon..)?.starts_with(":\t") {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    out.push_str(text.get(..=colon)?);
    out.push(' ');
    out.push_str(text.get(colon.saturating_add(2)..)?);
    Some(out)
}

/// An error met while parsing, with saphyr-parser's own coordinates kept for the fix-ups.
struct SegmentError {
    error: YamlError,
    from_scanner: bool,
    raw_line: usize,
    raw_col: usize,
}

impl From<YamlError> for SegmentError {
    fn from(error: YamlError) -> Self {
        SegmentError {
            error,
            from_scanner: false,
            raw_line: 0,
            raw_col: 0,
        }
    }
}

fn run_parser(text: &str, builder: &mut Builder) -> Option<SegmentError> {
    let parser = Parser::new_from_str(text);
    for item in parser {
        match item {
            Ok((event, span)) => {
                builder.last_end = (span.end.line(), span.end.col());
                if let Err(e) = builder.event(event, span) {
                    return Some(SegmentError::from(e));
                }
            }
            Err(e) => {
                let m = e.marker();
                let column = m
                    .col()
                    .saturating_sub(builder.shift(m.line()))
                    .saturating_add(1);
                return Some(SegmentError {
                    error: YamlError {
                        line: to_u32(m.line().saturating_add(builder.line_offset)),
                        column: to_u32(column),
                        message: e.info().to_owned(),
                    },
                    from_scanner: true,
                    raw_line: m.line(),
                    raw_col: m.col(),
                });
            }
        }
    }
    // Every moved header must have been read as a block scalar (the stream's end is after them).
    let header = builder.headers.first().copied()?;
    Some(SegmentError::from(builder.error(
        header,
        "block scalar header at its parent's column is not that node's value",
        false,
    )))
}

/// A mapping being built: its entries in order, merge keys (`<<`) where they stand.
enum Entry {
    Pair(Node, Node),
    Merge(Node),
}

/// The key read and waiting for its value.
enum Pending {
    Key(Node),
    /// A plain, untagged `<<`.
    Merge,
}

enum Frame {
    Seq(Vec<Node>, Pos, usize),
    Map {
        entries: Vec<Entry>,
        pending: Option<Pending>,
        pos: Pos,
        anchor: usize,
    },
}

struct Builder {
    line_offset: usize,
    limits: Limits,
    budget: usize,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    docs: Vec<Document>,
    fatal: bool,
    /// What the fix-ups changed: spaces added at the start of lines (1-based, of the parsed
    /// text), taken back from the columns reported there, and re-indented flow collections.
    fix: Fixups,
    /// For each collection open, where a re-indented flow collection must close.
    flow_checks: Vec<Option<(Pos, Option<Pos>)>>,
    /// The parsed text's length in characters when it does not end with a line break: a block
    /// scalar running to that end has no final line break to keep (saphyr-parser adds one).
    unterminated_end: Option<usize>,
    /// Where the last event read ended (saphyr-parser's line and column).
    last_end: (usize, usize),
    /// Moved block scalar headers not read yet (see [`Fixups::block_headers`]).
    headers: BTreeSet<Pos>,
    /// The furthest any event read so far ends (file position).
    max_end: Pos,
}

impl Builder {
    fn new(line_offset: usize, limits: Limits, budget: usize, fix: Fixups) -> Self {
        Builder {
            line_offset,
            limits,
            budget,
            stack: Vec::new(),
            anchors: HashMap::new(),
            docs: Vec::new(),
            fatal: false,
            headers: fix.block_headers.clone(),
            fix,
            flow_checks: Vec::new(),
            unterminated_end: None,
            last_end: (0, 0),
            max_end: Pos::default(),
        }
    }

    fn shift(&self, line: usize) -> usize {
        self.fix.shifts.get(&line).copied().unwrap_or(0)
    }

    fn pos(&self, span: &Span) -> Pos {
        Pos {
            line: to_u32(span.start.line().saturating_add(self.line_offset)),
            column: to_u32(
                span.start
                    .col()
                    .saturating_sub(self.shift(span.start.line()))
                    .saturating_add(1),
            ),
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

    fn awaiting_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Map { pending: None, .. }))
    }

    fn event(&mut self, event: Event<'_>, span: Span) -> Result<(), YamlError> {
        let pos = self.pos(&span);
        let end = Pos {
            line: to_u32(span.end.line().saturating_add(self.line_offset)),
            column: to_u32(
                span.end
                    .col()
                    .saturating_sub(self.shift(span.end.line()))
                    .saturating_add(1),
            ),
        };
        self.check_header(&event, pos, end)?;
        self.max_end = self.max_end.max(end);
        match event {
            Event::DocumentStart(_) => {
                self.stack.clear();
                self.flow_checks.clear();
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
                let plain_untagged = style == ScalarStyle::Plain && tag.is_none();
                if plain_untagged && text == "<<" && self.awaiting_key() {
                    if let Some(Frame::Map { pending, .. }) = self.stack.last_mut() {
                        *pending = Some(Pending::Merge);
                    }
                    return Ok(());
                }
                let mut text = text;
                if matches!(style, ScalarStyle::Literal | ScalarStyle::Folded)
                    && self
                        .unterminated_end
                        .is_some_and(|end| span.end.index() >= end)
                    && text.ends_with('\n')
                {
                    // libyaml: no line break in the input, none in the value.
                    text.to_mut().pop();
                }
                let value = match tag.as_deref() {
                    None if style == ScalarStyle::Plain => resolve_plain(&text),
                    None => Value::String(text.into_owned()),
                    Some(tag) if tag.is_yaml_core_schema() => {
                        match resolve_tagged(&text, &tag.suffix) {
                            Ok(v) => v,
                            Err(message) => return Err(self.error(pos, message, false)),
                        }
                    }
                    // Any other tag: go-yaml keeps the text as it is.
                    Some(_) => Value::String(text.into_owned()),
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
                self.open(pos, &span)?;
                self.stack.push(Frame::Seq(Vec::new(), pos, anchor));
            }
            Event::MappingStart(anchor, _) => {
                self.open(pos, &span)?;
                self.stack.push(Frame::Map {
                    entries: Vec::new(),
                    pending: None,
                    pos,
                    anchor,
                });
            }
            Event::SequenceEnd => {
                self.check_close(pos)?;
                if let Some(Frame::Seq(items, start, anchor)) = self.stack.pop() {
                    self.close(Value::Seq(items), start, anchor)?;
                }
            }
            Event::MappingEnd => {
                self.check_close(pos)?;
                if let Some(Frame::Map {
                    entries,
                    pos: start,
                    anchor,
                    ..
                }) = self.stack.pop()
                {
                    let entries = match build_mapping(entries) {
                        Ok(entries) => entries,
                        Err((pos, message)) => return Err(self.error(pos, message, false)),
                    };
                    self.close(Value::Map(entries), start, anchor)?;
                }
            }
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => {}
        }
        Ok(())
    }

    fn open(&mut self, pos: Pos, span: &Span) -> Result<(), YamlError> {
        self.spend(pos, 1)?;
        if self.stack.len() >= self.limits.max_depth {
            return Err(self.error(
                pos,
                format!("nesting deeper than {} levels", self.limits.max_depth),
                true,
            ));
        }
        // A flow collection's start spans its bracket; a block collection's is empty (and may
        // stand at the same place, `- {`).
        let flow = span.end.index() > span.start.index();
        self.flow_checks.push(
            flow.then(|| self.fix.flow_ends.get(&pos).copied())
                .flatten(),
        );
        Ok(())
    }

    /// A block scalar header moved one column right must be read as a block scalar where it
    /// stands: no event read before may reach past it, and the first event that does (or starts
    /// from it on) must be a block scalar (saphyr-parser starts its span at its content, or at
    /// its anchor or tag), else the move changed what
    /// the text says (`a: 1\n|\n z` would continue the plain scalar `1`) and the document is
    /// an error, as it is for libyaml.
    fn check_header(&mut self, event: &Event<'_>, pos: Pos, end: Pos) -> Result<(), YamlError> {
        let Some(&header) = self.headers.first() else {
            return Ok(());
        };
        if pos < header && end <= header {
            return Ok(());
        }
        let block = match event {
            Event::Scalar(_, ScalarStyle::Literal | ScalarStyle::Folded, anchor, tag) => {
                pos >= header || *anchor > 0 || tag.is_some()
            }
            _ => false,
        };
        if block && self.max_end <= header {
            self.headers.pop_first();
            return Ok(());
        }
        Err(self.error(
            header,
            "block scalar header at its parent's column is not that node's value",
            false,
        ))
    }

    /// A collection closes at `pos`: a re-indented flow collection must close where its
    /// closing bracket was found, else the re-indentation may have moved lines outside it.
    fn check_close(&mut self, pos: Pos) -> Result<(), YamlError> {
        match self.flow_checks.pop() {
            Some(Some((expected, comma))) if expected != pos && comma != Some(pos) => Err(self
                .error(
                    pos,
                    format!(
                        "flow collection less indented than its key closes at {}:{}, not where it \
                     was read to close ({}:{})",
                        pos.line, pos.column, expected.line, expected.column
                    ),
                    false,
                )),
            _ => Ok(()),
        }
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
            Some(Frame::Map {
                entries, pending, ..
            }) => match pending.take() {
                None => match key_node(node) {
                    Ok(key) => *pending = Some(Pending::Key(key)),
                    Err((pos, message)) => return Err(self.error(pos, message, false)),
                },
                Some(Pending::Key(key)) => entries.push(Entry::Pair(key, node)),
                Some(Pending::Merge) => entries.push(Entry::Merge(node)),
            },
        }
        Ok(())
    }
}

/// A mapping key as Kubernetes reads it: sigs.k8s.io/yaml turns the booleans and numbers go-yaml
/// resolved into strings (`yes:` is the key `"true"`, `012:` the key `"10"`) and rejects null,
/// list and mapping keys, which JSON cannot hold.
fn key_node(node: Node) -> Result<Node, (Pos, String)> {
    let text = match node.value {
        Value::String(s) => s,
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => go_float32_text(f),
        Value::Null => {
            return Err((
                node.pos,
                "a null mapping key (Kubernetes cannot convert it to JSON)".to_owned(),
            ));
        }
        Value::Seq(_) | Value::Map(_) => {
            return Err((
                node.pos,
                "a list or mapping used as a mapping key (Kubernetes cannot convert it to JSON)"
                    .to_owned(),
            ));
        }
    };
    Ok(Node {
        value: Value::String(text),
        pos: node.pos,
    })
}

/// A float key as sigs.k8s.io/yaml prints it: Go's `strconv.FormatFloat(f, 'g', -1, 32)`, the
/// shortest digits of the 32-bit float, with an exponent below 1e-4 and from 1e6 on.
fn go_float32_text(f: f64) -> String {
    if f.is_nan() {
        return ".nan".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf" } else { "-.inf" }.to_owned();
    }
    #[expect(
        clippy::cast_possible_truncation,
        reason = "Go formats the key as a float32"
    )]
    let g = f as f32;
    let sci = format!("{g:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..6).contains(&exp) {
        return g.to_string();
    }
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exp.unsigned_abs())
}

/// Applies merge keys and duplicate keys the way go-yaml v2 (kubectl) does: entries are set in
/// order, each overwriting an earlier one with the same key, and `<<: *base` (or a list, whose
/// earlier mappings win) sets base's entries at the place the merge key stands. A key written
/// after `<<` thus wins over the merged one, and one written before it loses. A merge value
/// that is not a mapping (or list of mappings) is an error there.
fn build_mapping(entries: Vec<Entry>) -> Result<Vec<(Node, Node)>, (Pos, String)> {
    let mut out: Vec<(Node, Node)> = Vec::with_capacity(entries.len());
    let mut index: HashMap<String, usize> = HashMap::with_capacity(entries.len());
    let mut set = |out: &mut Vec<(Node, Node)>, k: Node, v: Node| {
        let text = k.key_text();
        match index.get(&text).and_then(|&i| out.get_mut(i)) {
            Some(slot) => *slot = (k, v),
            None => {
                index.insert(text, out.len());
                out.push((k, v));
            }
        }
    };
    let want_map = "a merge key (<<) needs a mapping or a list of mappings as its value";
    for entry in entries {
        match entry {
            Entry::Pair(k, v) => set(&mut out, k, v),
            Entry::Merge(v) => match v.value {
                Value::Map(inner) => {
                    for (k, v) in inner {
                        set(&mut out, k, v);
                    }
                }
                Value::Seq(items) => {
                    if let Some(bad) = items.iter().find(|i| !i.is_map()) {
                        return Err((bad.pos, want_map.to_owned()));
                    }
                    for source in items.into_iter().rev() {
                        if let Value::Map(inner) = source.value {
                            for (k, v) in inner {
                                set(&mut out, k, v);
                            }
                        }
                    }
                }
                _ => return Err((v.pos, want_map.to_owned())),
            },
        }
    }
    Ok(out)
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

/// A scalar with an explicit core tag (`!!int "12"`, `!!str 5`), as go-yaml v2 resolves it:
/// the text must resolve to the tag's kind (an integer may stand for a float).
fn resolve_tagged(text: &str, suffix: &str) -> Result<Value, String> {
    let resolved = || resolve_plain(text);
    let value = match suffix {
        "str" => return Ok(Value::String(text.to_owned())),
        "int" => match resolved() {
            v @ Value::Int(_) => v,
            _ => return Err(format!("cannot read {text:?} as an !!int")),
        },
        "float" => match resolved() {
            #[expect(clippy::cast_precision_loss, reason = "what go-yaml does for !!float")]
            Value::Int(i) => Value::Float(i as f64),
            v @ Value::Float(_) => v,
            _ => return Err(format!("cannot read {text:?} as a !!float")),
        },
        "bool" => match resolved() {
            v @ Value::Bool(_) => v,
            _ => return Err(format!("cannot read {text:?} as a !!bool")),
        },
        "null" => match resolved() {
            Value::Null => Value::Null,
            _ => return Err(format!("cannot read {text:?} as a !!null")),
        },
        // `!!timestamp`, `!!binary` and the rest: the text.
        _ => Value::String(text.to_owned()),
    };
    Ok(value)
}

/// Resolves a plain scalar the way Kubernetes does: sigs.k8s.io/yaml decodes with go-yaml v2
/// (`resolve.go`), a YAML 1.1 resolver. `y`/`yes`/`on` and kin are booleans; integers are read
/// by Go's `strconv.ParseInt(s, 0, 64)` once `_` is removed (`0x`, `0o`, `0b` prefixes and a
/// leading `0` for octal: `012` is 10); floats are decimal with an optional exponent (`1e3`);
/// timestamps stay text; no base 60 (`1:30` is text).
fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Value::Bool(true);
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Value::Bool(false);
        }
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    match text.as_bytes().first() {
        Some(b'.') => {
            if is_go_float(text)
                && let Ok(f) = text.parse::<f64>()
                && f.is_finite()
            {
                return Value::Float(f);
            }
        }
        Some(b'0'..=b'9' | b'+' | b'-') => {
            let plain = text.replace('_', "");
            match go_parse_int(&plain) {
                Some(Ok(i)) => return Value::Int(i),
                // Beyond 64 bits: go-yaml keeps a big integer (JSON number); the nearest float.
                Some(Err(big)) if !is_go_float(&plain) => return Value::Float(big),
                _ => {}
            }
            if is_go_float(&plain)
                && let Ok(f) = plain.parse::<f64>()
                && f.is_finite()
            {
                return Value::Float(f);
            }
        }
        _ => {}
    }
    Value::String(text.to_owned())
}

/// Go's `strconv.ParseInt(s, 0, 64)` grammar: `Some(Ok)` for an i64, `Some(Err(f))` for a valid
/// integer out of i64's range (its value as a float), `None` for no integer.
fn go_parse_int(text: &str) -> Option<Result<i64, f64>> {
    let (neg, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let lower = body.get(..2).map(str::to_ascii_lowercase);
    let (radix, digits) = match lower.as_deref() {
        Some("0x") => (16, body.get(2..)?),
        Some("0o") => (8, body.get(2..)?),
        Some("0b") => (2, body.get(2..)?),
        _ if body.len() > 1 && body.starts_with('0') => (8, body.get(1..)?),
        _ => (10, body),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u128::from_str_radix(digits, radix).ok();
    let signed = magnitude.and_then(|m| {
        let m = i128::try_from(m).ok()?;
        i64::try_from(if neg { -m } else { m }).ok()
    });
    Some(match signed {
        Some(i) => Ok(i),
        None => {
            let f = digits
                .chars()
                .filter_map(|c| c.to_digit(radix))
                .fold(0f64, |acc, d| acc * f64::from(radix) + f64::from(d));
            Err(if neg { -f } else { f })
        }
    })
}

/// go-yaml v2's `yamlStyleFloat`: `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn is_go_float(text: &str) -> bool {
    let b = text.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i > start
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if !digits(&mut i) {
            return false;
        }
    } else {
        if !digits(&mut i) {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !digits(&mut i) {
            return false;
        }
    }
    i == b.len()
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
        let root = one(
            "yes: x\na: yes\nb: 'yes'\nc: 012\nd: 1.5\ne: ~\nf: 0x1F\ng: !!str 5\nh: 1e3\ni: n\nj: 1_000\nk: 09\nl: 1:30\nm: !!int '0o17'\n",
        );
        assert_eq!(root.get("a").map(|n| &n.value), Some(&Value::Bool(true)));
        // Keys resolve, then become text, as sigs.k8s.io/yaml converts them for JSON.
        assert_eq!(root.get("true").and_then(Node::as_str), Some("x"));
        assert_eq!(
            root.get("b").and_then(Node::as_str),
            Some("yes"),
            "quoted stays a string"
        );
        assert_eq!(
            root.get("c").map(|n| &n.value),
            Some(&Value::Int(10)),
            "octal"
        );
        assert_eq!(root.get("d").map(|n| &n.value), Some(&Value::Float(1.5)));
        assert_eq!(root.get("e").map(|n| &n.value), Some(&Value::Null));
        assert_eq!(root.get("f").map(|n| &n.value), Some(&Value::Int(31)));
        assert_eq!(root.get("g").and_then(Node::as_str), Some("5"));
        assert_eq!(root.get("h").map(|n| &n.value), Some(&Value::Float(1000.0)));
        assert_eq!(root.get("i").map(|n| &n.value), Some(&Value::Bool(false)));
        assert_eq!(root.get("j").map(|n| &n.value), Some(&Value::Int(1000)));
        assert_eq!(root.get("k").map(|n| &n.value), Some(&Value::Float(9.0)));
        assert_eq!(root.get("l").and_then(Node::as_str), Some("1:30"));
        assert_eq!(root.get("m").map(|n| &n.value), Some(&Value::Int(15)));
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
        let root = one("base: &b {x: 1, z: 2}\nderived:\n  <<: *b\n  z: 3\n");
        assert_eq!(
            root.get("derived").map(Node::to_json),
            Some(serde_json::json!({"z": 3, "x": 1}))
        );
    }

    /// go-yaml v2, which kubectl uses, sets merged keys where `<<` stands: a key written before
    /// it is overwritten (a scanner reading it otherwise could be told `privileged: false` while
    /// the cluster runs `privileged: true`); a duplicate key's last value wins.
    #[test]
    fn merge_keys_and_duplicates_resolve_as_kubectl_does() {
        let root = one(
            "evil: &e {privileged: true}\nsc:\n  privileged: false\n  <<: *e\ndup:\n  a: 1\n  a: 2\nlist:\n  <<: [{a: 1}, {a: 2, b: 2}]\n",
        );
        let sc = root.get("sc").expect("sc");
        assert_eq!(sc.get("privileged").and_then(Node::as_bool), Some(true));
        assert_eq!(sc.entries().len(), 1);
        assert_eq!(
            root.get("dup").map(Node::to_json),
            Some(serde_json::json!({"a": 2}))
        );
        assert_eq!(
            root.get("list").map(Node::to_json),
            Some(serde_json::json!({"a": 1, "b": 2}))
        );
        let bad = load("a: &a 1\nb:\n  <<: *a\n", Limits::default());
        assert!(
            bad.errors.iter().any(|e| e.message.contains("merge key")),
            "{:?}",
            bad.errors
        );
    }

    fn key_pos(node: &Node, path: &[Seg<'_>]) -> (u32, u32) {
        let p = node.pos_of(path);
        (p.line, p.column)
    }

    /// saphyr-parser refuses these; libyaml (kubectl) reads them. The loader rewrites white
    /// space that is no part of any value and keeps the positions of the text as written.
    #[test]
    fn white_space_saphyr_refuses_loads_with_positions_of_the_file() {
        // A flow collection closed at its key's column (Falco rules files), entries left of it.
        let root = one("a:\n  b: [\n    1,\n    2\n  ]\n  c: [x,\nw, z]\nd: 1\n");
        assert_eq!(
            root.to_json(),
            serde_json::json!({"a": {"b": [1, 2], "c": ["x", "w", "z"]}, "d": 1})
        );
        let c = [Seg::Key("a"), Seg::Key("c")];
        assert_eq!(
            key_pos(&root, &[c[0].clone(), c[1].clone(), Seg::Index(1)]),
            (7, 1)
        );
        assert_eq!(
            key_pos(&root, &[c[0].clone(), c[1].clone(), Seg::Index(2)]),
            (7, 4)
        );
        assert_eq!(key_pos(&root, &[Seg::Key("d")]), (8, 1));
        // A tab starting a quoted scalar's continuation line, in a flow sequence.
        let root = one("a: [\"x\n\ty\", next]\nb: 1\n");
        assert_eq!(
            root.to_json(),
            serde_json::json!({"a": ["x y", "next"], "b": 1})
        );
        assert_eq!(key_pos(&root, &[Seg::Key("a"), Seg::Index(1)]), (2, 6));
        // A tab right after `:`.
        let root = one("a:\t1\nb:\t\"x\"\n");
        assert_eq!(root.to_json(), serde_json::json!({"a": 1, "b": "x"}));
        assert_eq!(
            root.get("b").map(|n| (n.pos.line, n.pos.column)),
            Some((2, 4))
        );
        // A directive after a document not closed by `...`.
        let l = load("a: 1\n%YAML 1.1\n---\nb: 2\n", Limits::default());
        assert!(l.errors.is_empty(), "{:?}", l.errors);
        let docs: Vec<_> = l.documents.iter().map(|d| d.root.to_json()).collect();
        assert_eq!(
            docs,
            [serde_json::json!({"a": 1}), serde_json::json!({"b": 2})]
        );
        assert_eq!(l.documents[1].root.pos.line, 4);
    }

    /// A block scalar header at its parent's column (libyaml and kubectl read it as the value;
    /// saphyr-parser: "simple key expect ':'") loads with the positions of the file; moved where
    /// the move would change the reading, it stays an error.
    #[test]
    fn block_scalar_header_at_its_parent_column_loads_as_libyaml_reads_it() {
        let root = one("a:\n|\n  z\nb:\n>-\n  x\n  y\nc: 1\n");
        assert_eq!(
            root.to_json(),
            serde_json::json!({"a": "z\n", "b": "x y", "c": 1})
        );
        // A block scalar's position is that of its content (saphyr-parser's span).
        assert_eq!(
            root.get("a").map(|n| (n.pos.line, n.pos.column)),
            Some((3, 3))
        );
        assert_eq!(
            root.get("b").map(|n| (n.pos.line, n.pos.column)),
            Some((6, 3))
        );
        assert_eq!(key_pos(&root, &[Seg::Key("c")]), (8, 1));
        let root = one("-\n|\n  z\n- x\n");
        assert_eq!(root.to_json(), serde_json::json!(["z\n", "x"]));
        assert_eq!(key_pos(&root, &[Seg::Index(0)]), (3, 3));
        assert_eq!(key_pos(&root, &[Seg::Index(1)]), (4, 3));
        let root = one("x:\n  a: &s\n  |2\n     z\n  b: *s\nk:\n-\n|\n z\n");
        assert_eq!(
            root.to_json(),
            serde_json::json!({"x": {"a": " z\n", "b": " z\n"}, "k": ["z\n"]})
        );
        assert_eq!(key_pos(&root, &[Seg::Key("x"), Seg::Key("a")]), (2, 3));
        assert_eq!(
            root.path(&["x", "a"]).map(|n| (n.pos.line, n.pos.column)),
            Some((2, 6)),
            "an anchored node starts at its anchor"
        );
        assert_eq!(key_pos(&root, &[Seg::Key("k"), Seg::Index(0)]), (9, 2));
        // No final line break.
        assert_eq!(one("-\n|").to_json(), serde_json::json!([""]));
        // libyaml refuses these: the first would read as the plain scalar `1 | z` once the
        // header moved, the second as b's value, the fourth as the item `1 |` then `y`.
        for text in [
            "a: 1\n|\n z\n",
            "a:\n b:\n|\n  z\n",
            "k:\n- x\n|\n  z\n",
            "- 1\n|\n- |\n  y\n",
        ] {
            let l = load(text, Limits::default());
            assert!(!l.errors.is_empty(), "{text:?}: {:?}", l.documents);
            assert!(l.documents.is_empty(), "{text:?}: {:?}", l.documents);
        }
    }

    /// The closing bracket of a flow collection, found the way libyaml reads flow context.
    #[test]
    fn flow_close_skips_quoted_scalars_comments_and_plain_text() {
        let text = "[\"a]\\\"\", 'b'']', # ]\n it's, {e: [f]}, \"g\":\"h]\", !<x]> i, &j k] tail";
        let close = flow_close(text, 0);
        assert_eq!(close.and_then(|(c, _)| text.get(c..)), Some("] tail"));
        assert_eq!(flow_close("{a: 1, # c\n }", 0), Some((12, Some(5))));
        assert_eq!(flow_close("[a,\n---\n]", 0), None, "document marker");
        assert_eq!(flow_close("[a, \"]", 0), None, "unterminated");
    }

    /// A re-indented flow collection that the parse closes elsewhere than where it was read to
    /// close is an error, not a silent misreading.
    #[test]
    fn re_indented_flow_collection_must_close_where_it_was_found() {
        let mut fix = Fixups::default();
        let (start, found) = (Pos { line: 1, column: 4 }, Pos { line: 2, column: 4 });
        fix.flow_ends.insert(start, (found, None));
        let mut builder = Builder::new(0, Limits::default(), 1000, fix.clone());
        let ok = run_parser("a: [1,\n  2]\n", &mut builder).map(|e| e.error);
        assert!(ok.is_none(), "{ok:?}");
        fix.flow_ends
            .insert(start, (Pos { line: 2, column: 9 }, None));
        let mut builder = Builder::new(0, Limits::default(), 1000, fix);
        let e = run_parser("a: [1,\n  2]\n", &mut builder).map(|e| e.error.message);
        assert!(e.is_some_and(|m| m.contains("flow collection")));
    }

    /// Each fix-up costs a parse: past 64 in one stretch of text the error stands.
    #[test]
    fn fix_ups_are_bounded() {
        let within: String = (0..60).map(|i| format!("k{i}:\t{i}\n")).collect();
        assert!(load(&within, Limits::default()).errors.is_empty());
        // Re-indenting 5000 lines to column 5000 would make 25 MB of a 35 kB text: refused.
        let wide = format!("a:{}[\n{}]\n", " ".repeat(5000), "1,\n".repeat(5000));
        let l = load(&wide, Limits::default());
        assert!(
            l.errors.iter().any(|e| e.message.contains("indentation")),
            "{:?}",
            l.errors
        );
        let beyond: String = (0..70).map(|i| format!("k{i}: [\n{i}]\n")).collect();
        let l = load(&beyond, Limits::default());
        assert!(
            l.errors.iter().any(|e| e.message.contains("indentation")),
            "{:?}",
            l.errors
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
