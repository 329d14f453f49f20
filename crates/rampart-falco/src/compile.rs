//! Conditions compiled for evaluation: macros expanded, lists inlined, fields bound, values
//! parsed to the field's type once (sets as hash sets, `pmatch` lists as a prefix set, regexes
//! compiled), so evaluating an event allocates nothing for the string and number fields.

use crate::event::Event;
use crate::fields::{BoundField, FieldId, FieldType, V, bind};
use crate::parser::{Expr, FieldExpr, Op, Rhs, Transformer};
use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::IpAddr;

/// Depth of macro references inside macro references.
pub const MAX_MACRO_DEPTH: usize = 64;
/// Nodes one rule's condition may have once macros and lists are expanded.
pub const MAX_COMPILED_NODES: usize = 250_000;
/// Nesting depth of a condition once macros are expanded (bounds recursion in evaluation).
pub const MAX_COMPILED_DEPTH: usize = 1_000;
/// Items one list may have once nested lists are expanded.
pub const MAX_LIST_ITEMS: usize = 100_000;
/// Compiled size of one regex (bytes of the regex crate's program), against regex bombs.
pub const MAX_REGEX_SIZE: usize = 1 << 20;

/// What a compile error is about, to map it to Falco's codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompileErrorKind {
    /// A macro is not defined (Falco: LOAD_ERR_VALIDATE).
    UndefinedMacro,
    /// A field does not exist, or an event type is unknown (LOAD_ERR_COMPILE_CONDITION, or a
    /// LOAD_UNKNOWN_FILTER warning under `skip-if-unknown-filter`).
    UnknownFilter,
    /// A Falco field rampart does not provide (the rule is reported and not evaluated).
    Unsupported,
    /// Anything else (bad value, operator not valid for the field, limits).
    Other,
}

/// A compile error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CompileError {
    /// Kind.
    pub kind: CompileErrorKind,
    /// Falco's wording.
    pub message: String,
    /// Byte offset in the condition text it comes from, when known.
    pub offset: Option<usize>,
    /// The field, for unknown or unsupported fields.
    pub field: Option<String>,
    /// The macro whose condition `offset` points into (`None`: the rule's own condition).
    pub in_macro: Option<String>,
}

fn other(message: String) -> CompileError {
    CompileError {
        kind: CompileErrorKind::Other,
        message,
        offset: None,
        field: None,
        in_macro: None,
    }
}

/// The macros and lists a condition is compiled against.
pub(crate) struct Defs<'a> {
    pub macros: &'a HashMap<String, Expr>,
    pub lists: &'a HashMap<String, Vec<String>>,
}

/// A compiled condition.
#[derive(Debug)]
pub(crate) enum Node {
    And(Box<[Node]>),
    Or(Box<[Node]>),
    Not(Box<Node>),
    Check(Box<Check>),
}

#[derive(Debug)]
pub(crate) enum Lhs {
    Field(BoundField),
    Transform(Transformer, Box<Lhs>),
}

impl Lhs {
    fn ty(&self) -> FieldType {
        match self {
            Lhs::Field(f) => f.info().ty,
            Lhs::Transform(Transformer::Len, _) => FieldType::Int,
            Lhs::Transform(..) => FieldType::String,
        }
    }
    pub(crate) fn field(&self) -> &BoundField {
        match self {
            Lhs::Field(f) => f,
            Lhs::Transform(_, inner) => inner.field(),
        }
    }
    fn visit<'e>(&self, ev: &'e Event, f: &mut dyn FnMut(V<'e>) -> bool) -> bool {
        match self {
            Lhs::Field(b) => b.visit(ev, f),
            Lhs::Transform(t, inner) => {
                let t = *t;
                inner.visit(ev, &mut |v| match transform(t, v) {
                    Some(x) => f(x),
                    None => false,
                })
            }
        }
    }
    fn get<'e>(&self, ev: &'e Event) -> Option<V<'e>> {
        match self {
            Lhs::Field(b) => b.get(ev),
            Lhs::Transform(t, inner) => transform(*t, inner.get(ev)?),
        }
    }
}

fn v_text<'a>(v: &'a V<'a>) -> Option<Cow<'a, str>> {
    match v {
        V::S(s) => Some(Cow::Borrowed(s.as_ref())),
        V::I(n) => Some(Cow::Owned(n.to_string())),
        V::B(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
        V::Ip(ip) => Some(Cow::Owned(ip.to_string())),
        V::Bytes(b) => Some(String::from_utf8_lossy(b)),
    }
}

fn transform(t: Transformer, v: V<'_>) -> Option<V<'static>> {
    let text = v_text(&v)?.into_owned();
    Some(match t {
        Transformer::ToLower => V::S(Cow::Owned(text.to_lowercase())),
        Transformer::ToUpper => V::S(Cow::Owned(text.to_uppercase())),
        Transformer::Len => V::I(i64::try_from(text.len()).unwrap_or(i64::MAX)),
        Transformer::Basename => {
            let b = text.rsplit('/').next().unwrap_or("").to_owned();
            V::S(Cow::Owned(b))
        }
        Transformer::B64 => V::S(Cow::Owned(
            String::from_utf8_lossy(&b64_decode(&text)?).into_owned(),
        )),
    })
}

fn b64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            b' ' | b'\n' | b'\r' | b'\t' => continue,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).unwrap_or(0));
        }
    }
    Some(out)
}

/// An IP network.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Net {
    addr: IpAddr,
    prefix: u8,
}

impl Net {
    fn parse(s: &str) -> Option<Net> {
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a.trim().parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            Some(p) => p.trim().parse::<u8>().ok().filter(|p| *p <= max)?,
            None => max,
        };
        Some(Net { addr, prefix })
    }
    fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u32::MAX << (32 - u32::from(self.prefix))
                };
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u128::MAX << (128 - u32::from(self.prefix))
                };
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

#[derive(Debug)]
pub(crate) enum CRhs {
    None,
    Str(String),
    StrSet(HashSet<String>),
    Prefixes { set: HashSet<String>, root: bool },
    Int(i64),
    IntSet(Vec<i64>),
    Bool(bool),
    Ip(IpAddr),
    IpSet(Vec<IpAddr>),
    Nets(Vec<Net>),
    Glob(Vec<u8>),
    Regex(regex::Regex),
    Bytes(Vec<u8>),
    Field(Lhs),
}

#[derive(Debug)]
pub(crate) struct Check {
    pub lhs: Lhs,
    pub op: Op,
    pub rhs: CRhs,
    /// `!=` on a field read at both ends of a connection: compiled as `not (... = ...)`.
    pub negate: bool,
}

/// fnmatch(3) without flags: `*` and `?` also match `/`; `[...]` classes with `!`/`^`.
pub(crate) fn glob_match(pat: &[u8], s: &[u8], icase: bool) -> bool {
    let eq = |a: u8, b: u8| {
        if icase {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    let (mut p, mut i) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while i < s.len() {
        let c = s.get(i).copied().unwrap_or(0);
        match pat.get(p).copied() {
            Some(b'*') => {
                star = Some((p, i));
                p += 1;
                continue;
            }
            Some(b'?') => {
                p += 1;
                i += 1;
                continue;
            }
            Some(b'[') => {
                if let Some((matched, next)) = class(pat, p, c, icase) {
                    if matched {
                        p = next;
                        i += 1;
                        continue;
                    }
                } else if eq(b'[', c) {
                    p += 1;
                    i += 1;
                    continue;
                }
            }
            Some(b'\\') if pat.get(p + 1).is_some_and(|&x| eq(x, c)) => {
                p += 2;
                i += 1;
                continue;
            }
            Some(b'\\') if pat.get(p + 1).is_some() => {}
            Some(x) if eq(x, c) => {
                p += 1;
                i += 1;
                continue;
            }
            _ => {}
        }
        match star {
            Some((sp, si)) => {
                p = sp + 1;
                i = si + 1;
                star = Some((sp, si + 1));
            }
            None => return false,
        }
    }
    while pat.get(p) == Some(&b'*') {
        p += 1;
    }
    p == pat.len()
}

/// A bracket class at `pat[p] == '['`: (whether `c` matches, index after `]`), or `None` when
/// the class is not closed.
fn class(pat: &[u8], p: usize, c: u8, icase: bool) -> Option<(bool, usize)> {
    let mut j = p + 1;
    let neg = matches!(pat.get(j), Some(b'!' | b'^'));
    if neg {
        j += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let x = *pat.get(j)?;
        if x == b']' && !first {
            return Some((matched != neg, j + 1));
        }
        first = false;
        if pat.get(j + 1) == Some(&b'-') && pat.get(j + 2).is_some_and(|&y| y != b']') {
            let hi = *pat.get(j + 2)?;
            let in_range = |ch: u8| x <= ch && ch <= hi;
            if in_range(c)
                || (icase && (in_range(c.to_ascii_lowercase()) || in_range(c.to_ascii_uppercase())))
            {
                matched = true;
            }
            j += 3;
        } else {
            if x == c || (icase && x.eq_ignore_ascii_case(&c)) {
                matched = true;
            }
            j += 1;
        }
    }
}

fn parse_int(s: &str) -> Option<i64> {
    let t = s.trim();
    if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        return i64::from_str_radix(h, 16).ok();
    }
    t.parse::<i64>()
        .ok()
        .or_else(|| t.parse::<u64>().ok().map(|u| u as i64))
}

fn parse_hex(s: &str) -> Option<Vec<u8>> {
    let t: Vec<u8> = s.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
    if t.len() % 2 != 0 {
        return None;
    }
    t.chunks(2)
        .map(|ch| {
            std::str::from_utf8(ch)
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect()
}

struct Ctx<'a, 'd> {
    defs: &'a Defs<'d>,
    stack: Vec<String>,
    nodes: usize,
    depth: usize,
    /// Macros referenced (for LOAD_UNUSED_MACRO), lists referenced (LOAD_UNUSED_LIST).
    used_macros: &'a mut HashSet<String>,
    used_lists: &'a mut HashSet<String>,
}

/// Compiles a parsed condition.
pub(crate) fn compile(
    e: &Expr,
    defs: &Defs<'_>,
    used_macros: &mut HashSet<String>,
    used_lists: &mut HashSet<String>,
) -> Result<Node, CompileError> {
    let mut cx = Ctx {
        defs,
        stack: Vec::new(),
        nodes: 0,
        depth: 0,
        used_macros,
        used_lists,
    };
    cx.node(e)
}

impl Ctx<'_, '_> {
    fn node(&mut self, e: &Expr) -> Result<Node, CompileError> {
        if self.depth >= MAX_COMPILED_DEPTH {
            return Err(other(format!(
                "condition nested deeper than {MAX_COMPILED_DEPTH} levels once macros are expanded"
            )));
        }
        self.depth += 1;
        let n = self.node_inner(e);
        self.depth -= 1;
        n
    }

    fn node_inner(&mut self, e: &Expr) -> Result<Node, CompileError> {
        self.nodes += 1;
        if self.nodes > MAX_COMPILED_NODES {
            return Err(other(format!(
                "condition expands to more than {MAX_COMPILED_NODES} nodes"
            )));
        }
        Ok(match e {
            Expr::And(items) => Node::And(
                items
                    .iter()
                    .map(|x| self.node(x))
                    .collect::<Result<_, _>>()?,
            ),
            Expr::Or(items) => Node::Or(
                items
                    .iter()
                    .map(|x| self.node(x))
                    .collect::<Result<_, _>>()?,
            ),
            Expr::Not(x) => Node::Not(Box::new(self.node(x)?)),
            Expr::Macro { name, pos } => {
                let Some(body) = self.defs.macros.get(name) else {
                    return Err(CompileError {
                        kind: CompileErrorKind::UndefinedMacro,
                        message: format!("Undefined macro '{name}' used in filter."),
                        offset: Some(*pos),
                        field: None,
                        in_macro: self.stack.last().cloned(),
                    });
                };
                self.used_macros.insert(name.clone());
                if self.stack.iter().any(|m| m == name) {
                    return Err(CompileError {
                        kind: CompileErrorKind::Other,
                        message: format!(
                            "macro '{name}' refers to itself (through {})",
                            self.stack.join(" -> ")
                        ),
                        offset: Some(*pos),
                        field: None,
                        in_macro: self.stack.last().cloned(),
                    });
                }
                if self.stack.len() >= MAX_MACRO_DEPTH {
                    return Err(CompileError {
                        kind: CompileErrorKind::Other,
                        message: format!(
                            "macros nested deeper than {MAX_MACRO_DEPTH} levels at '{name}'"
                        ),
                        offset: Some(*pos),
                        field: None,
                        in_macro: self.stack.last().cloned(),
                    });
                }
                self.stack.push(name.clone());
                let n = self.node(body);
                self.stack.pop();
                n?
            }
            Expr::Check { lhs, op, rhs } => {
                let c = self.check(lhs, *op, rhs).map_err(|mut e| {
                    if e.in_macro.is_none() {
                        e.in_macro = self.stack.last().cloned();
                    }
                    e
                })?;
                Node::Check(Box::new(c))
            }
        })
    }

    fn lhs(&self, f: &FieldExpr) -> Result<Lhs, CompileError> {
        match f {
            FieldExpr::Field { name, arg, pos } => bind(name, arg.as_deref())
                .map(Lhs::Field)
                .map_err(|message| CompileError {
                    kind: if crate::fields::falco_field_not_provided(name) {
                        CompileErrorKind::Unsupported
                    } else {
                        CompileErrorKind::UnknownFilter
                    },
                    message,
                    offset: Some(*pos),
                    field: Some(match arg {
                        Some(a) => format!("{name}[{a}]"),
                        None => name.clone(),
                    }),
                    in_macro: None,
                }),
            FieldExpr::Transform(t, inner) => Ok(Lhs::Transform(*t, Box::new(self.lhs(inner)?))),
        }
    }

    fn expand_list(&mut self, items: &[String]) -> Result<Vec<String>, CompileError> {
        let mut out = Vec::new();
        for it in items {
            match self.defs.lists.get(it) {
                Some(l) => {
                    self.used_lists.insert(it.clone());
                    out.extend(l.iter().cloned());
                }
                None => out.push(it.clone()),
            }
            if out.len() > MAX_LIST_ITEMS {
                return Err(other(format!(
                    "list expands to more than {MAX_LIST_ITEMS} items"
                )));
            }
        }
        Ok(out)
    }

    fn check(&mut self, lhs: &FieldExpr, op: Op, rhs: &Rhs) -> Result<Check, CompileError> {
        let l = self.lhs(lhs)?;
        let ty = l.ty();
        let fname = l.field().to_string();
        let bad_op = || {
            other(format!(
                "Invalid operator '{}' for field '{fname}'",
                op.as_str()
            ))
        };
        let is_evt_type = matches!(&l, Lhs::Field(b) if b.id == FieldId::EvtType);
        let check_evt = |v: &str| -> Result<(), CompileError> {
            if is_evt_type && crate::evttypes::EVENT_NAMES.binary_search(&v).is_err() {
                return Err(CompileError {
                    kind: CompileErrorKind::UnknownFilter,
                    message: format!("unknown event type {v}"),
                    offset: None,
                    field: None,
                    in_macro: None,
                });
            }
            Ok(())
        };
        let values: Vec<String> = match rhs {
            Rhs::None => Vec::new(),
            Rhs::Value(v) => vec![v.clone()],
            Rhs::List(items) => self.expand_list(items)?,
            Rhs::Field(f) => {
                let r = self.lhs(f)?;
                if op.is_list() || op == Op::Exists {
                    return Err(bad_op());
                }
                return Ok(Check {
                    lhs: l,
                    op,
                    rhs: CRhs::Field(r),
                    negate: false,
                });
            }
        };
        if is_evt_type && matches!(op, Op::Eq | Op::Ne | Op::In) {
            for v in &values {
                check_evt(v)?;
            }
        }
        let one = || values.first().cloned().unwrap_or_default();
        let bad_value =
            |v: &str| other(format!("could not parse '{v}' as a value of field {fname}"));
        let rhs = match op {
            Op::Exists => CRhs::None,
            Op::Regex => {
                // libsinsp matches the whole value (RE2 full match).
                let re = regex::RegexBuilder::new(&format!("^(?:{})$", one()))
                    .size_limit(MAX_REGEX_SIZE)
                    .dfa_size_limit(MAX_REGEX_SIZE)
                    .build()
                    .map_err(|e| other(format!("invalid regex '{}': {e}", one())))?;
                CRhs::Regex(re)
            }
            Op::Glob | Op::IGlob => CRhs::Glob(one().into_bytes()),
            Op::BContains | Op::BStartsWith => {
                CRhs::Bytes(parse_hex(&one()).ok_or_else(|| bad_value(&one()))?)
            }
            Op::Contains | Op::StartsWith | Op::EndsWith | Op::IContains => {
                if !matches!(ty, FieldType::String | FieldType::Bytes) {
                    return Err(bad_op());
                }
                if op == Op::IContains {
                    CRhs::Str(one().to_lowercase())
                } else {
                    CRhs::Str(one())
                }
            }
            Op::Pmatch => {
                if ty != FieldType::String {
                    return Err(bad_op());
                }
                let mut set = HashSet::new();
                let mut root = false;
                for v in values {
                    let t = v.trim_end_matches('/');
                    if t.is_empty() {
                        root = true;
                    } else {
                        set.insert(t.to_owned());
                    }
                }
                CRhs::Prefixes { set, root }
            }
            Op::Eq | Op::Ne | Op::Lt | Op::Le | Op::Gt | Op::Ge | Op::In | Op::Intersects => {
                let list = op.is_list();
                if list && !matches!(rhs, Rhs::List(_)) {
                    return Err(bad_op());
                }
                match ty {
                    FieldType::String | FieldType::Bytes => {
                        if list {
                            CRhs::StrSet(values.into_iter().collect())
                        } else {
                            CRhs::Str(one())
                        }
                    }
                    t if t.is_numeric() => {
                        let nums = values
                            .iter()
                            .map(|v| parse_int(v).ok_or_else(|| bad_value(v)))
                            .collect::<Result<Vec<_>, _>>()?;
                        if list {
                            CRhs::IntSet(nums)
                        } else {
                            CRhs::Int(nums.first().copied().unwrap_or(0))
                        }
                    }
                    FieldType::Bool => {
                        if !matches!(op, Op::Eq | Op::Ne) {
                            return Err(bad_op());
                        }
                        match one().as_str() {
                            "true" => CRhs::Bool(true),
                            "false" => CRhs::Bool(false),
                            v => return Err(bad_value(v)),
                        }
                    }
                    FieldType::IpAddr => {
                        if !matches!(op, Op::Eq | Op::Ne | Op::In | Op::Intersects) {
                            return Err(bad_op());
                        }
                        if values.iter().any(|v| v.contains('/')) {
                            CRhs::Nets(
                                values
                                    .iter()
                                    .map(|v| Net::parse(v).ok_or_else(|| bad_value(v)))
                                    .collect::<Result<_, _>>()?,
                            )
                        } else {
                            let ips = values
                                .iter()
                                .map(|v| v.trim().parse::<IpAddr>().map_err(|_| bad_value(v)))
                                .collect::<Result<Vec<_>, _>>()?;
                            if list {
                                CRhs::IpSet(ips)
                            } else {
                                CRhs::Ip(ips.first().copied().unwrap_or(IpAddr::from([0, 0, 0, 0])))
                            }
                        }
                    }
                    FieldType::IpNet => {
                        if !matches!(op, Op::Eq | Op::Ne | Op::In | Op::Intersects) {
                            return Err(bad_op());
                        }
                        CRhs::Nets(
                            values
                                .iter()
                                .map(|v| Net::parse(v).ok_or_else(|| bad_value(v)))
                                .collect::<Result<_, _>>()?,
                        )
                    }
                    _ => return Err(bad_op()),
                }
            }
        };
        // fd.ip, fd.port, fd.net (either end of the connection): `!=` holds when neither end
        // is equal, as in libsinsp; `=` when either is.
        let either_end = matches!(&l, Lhs::Field(b) if matches!(b.id, FieldId::FdIp | FieldId::FdPort | FieldId::FdNet));
        if either_end && op == Op::Ne {
            return Ok(Check {
                lhs: l,
                op: Op::Eq,
                rhs,
                negate: true,
            });
        }
        Ok(Check {
            lhs: l,
            op,
            rhs,
            negate: false,
        })
    }
}

fn ord_cmp(op: Op, o: std::cmp::Ordering) -> bool {
    use std::cmp::Ordering::*;
    match op {
        Op::Eq => o == Equal,
        Op::Ne => o != Equal,
        Op::Lt => o == Less,
        Op::Le => o != Greater,
        Op::Gt => o == Greater,
        Op::Ge => o != Less,
        _ => false,
    }
}

fn icontains(hay: &str, needle_lower: &str) -> bool {
    if needle_lower.is_empty() {
        return true;
    }
    let h = hay.as_bytes();
    let n = needle_lower.as_bytes();
    if n.len() > h.len() {
        return false;
    }
    h.windows(n.len())
        .any(|w| w.iter().zip(n).all(|(a, b)| a.to_ascii_lowercase() == *b))
}

fn in_prefixes(v: &str, set: &HashSet<String>, root: bool) -> bool {
    if root && v.starts_with('/') {
        return true;
    }
    let mut cur = v.trim_end_matches('/');
    loop {
        if set.contains(cur) {
            return true;
        }
        match cur.rfind('/') {
            Some(p) if p > 0 => cur = cur.get(..p).unwrap_or(""),
            _ => return false,
        }
    }
}

impl Check {
    fn cmp(&self, v: &V<'_>, ev: &Event) -> bool {
        let op = self.op;
        match (&self.rhs, v) {
            (CRhs::Str(r), V::S(s)) => {
                let s: &str = s;
                match op {
                    Op::Contains => s.contains(r.as_str()),
                    Op::IContains => icontains(s, r),
                    Op::StartsWith => s.starts_with(r.as_str()),
                    Op::EndsWith => s.ends_with(r.as_str()),
                    _ => ord_cmp(op, s.cmp(r.as_str())),
                }
            }
            (CRhs::Str(r), V::Bytes(b)) => match op {
                Op::Contains => memfind(b, r.as_bytes()),
                Op::StartsWith => b.starts_with(r.as_bytes()),
                Op::EndsWith => b.ends_with(r.as_bytes()),
                _ => ord_cmp(op, (*b).cmp(r.as_bytes())),
            },
            (CRhs::StrSet(set), V::S(s)) => set.contains(s.as_ref()),
            (CRhs::Prefixes { set, root }, V::S(s)) => in_prefixes(s, set, *root),
            (CRhs::Int(r), V::I(n)) => ord_cmp(op, n.cmp(r)),
            (CRhs::IntSet(set), V::I(n)) => set.contains(n),
            (CRhs::Bool(r), V::B(b)) => ord_cmp(op, b.cmp(r)),
            (CRhs::Ip(r), V::Ip(ip)) => ord_cmp(
                op,
                if ip == r {
                    std::cmp::Ordering::Equal
                } else {
                    std::cmp::Ordering::Less
                },
            ),
            (CRhs::IpSet(set), V::Ip(ip)) => set.contains(ip),
            (CRhs::Nets(nets), V::Ip(ip)) => {
                let any = nets.iter().any(|n| n.contains(*ip));
                if op == Op::Ne { !any } else { any }
            }
            (CRhs::Glob(p), V::S(s)) => glob_match(p, s.as_bytes(), op == Op::IGlob),
            (CRhs::Regex(re), V::S(s)) => re.is_match(s),
            (CRhs::Bytes(b), V::Bytes(h)) => {
                if op == Op::BStartsWith {
                    h.starts_with(b)
                } else {
                    memfind(h, b)
                }
            }
            (CRhs::Bytes(b), V::S(h)) => {
                if op == Op::BStartsWith {
                    h.as_bytes().starts_with(b)
                } else {
                    memfind(h.as_bytes(), b)
                }
            }
            (CRhs::Field(other), v) => match other.get(ev) {
                Some(o) => match (v, &o) {
                    (V::I(a), V::I(b)) => ord_cmp(op, a.cmp(b)),
                    _ => match (v_text(v), v_text(&o)) {
                        (Some(a), Some(b)) => match op {
                            Op::Contains => a.contains(b.as_ref()),
                            Op::StartsWith => a.starts_with(b.as_ref()),
                            Op::EndsWith => a.ends_with(b.as_ref()),
                            Op::IContains => icontains(&a, &b.to_lowercase()),
                            _ => ord_cmp(op, a.cmp(&b)),
                        },
                        _ => false,
                    },
                },
                None => false,
            },
            _ => false,
        }
    }

    pub(crate) fn eval(&self, ev: &Event) -> bool {
        if self.op == Op::Exists {
            return self.lhs.visit(ev, &mut |_| true);
        }
        if self.negate {
            let mut present = false;
            let any = self.lhs.visit(ev, &mut |v| {
                present = true;
                self.cmp(&v, ev)
            });
            return present && !any;
        }
        self.lhs.visit(ev, &mut |v| self.cmp(&v, ev))
    }
}

fn memfind(h: &[u8], n: &[u8]) -> bool {
    n.is_empty() || (n.len() <= h.len() && h.windows(n.len()).any(|w| w == n))
}

impl Node {
    pub(crate) fn eval(&self, ev: &Event) -> bool {
        match self {
            Node::And(items) => items.iter().all(|n| n.eval(ev)),
            Node::Or(items) => items.iter().any(|n| n.eval(ev)),
            Node::Not(n) => !n.eval(ev),
            Node::Check(c) => c.eval(ev),
        }
    }

    /// Three-valued evaluation for a host event: container and Kubernetes fields are known
    /// (`container.id` = `host`, the rest absent), everything else unknown (`None`).
    pub(crate) fn eval_host(&self, host: &Event) -> Option<bool> {
        match self {
            Node::And(items) => {
                let mut unknown = false;
                for n in items.iter() {
                    match n.eval_host(host) {
                        Some(false) => return Some(false),
                        None => unknown = true,
                        Some(true) => {}
                    }
                }
                if unknown { None } else { Some(true) }
            }
            Node::Or(items) => {
                let mut unknown = false;
                for n in items.iter() {
                    match n.eval_host(host) {
                        Some(true) => return Some(true),
                        None => unknown = true,
                        Some(false) => {}
                    }
                }
                if unknown { None } else { Some(false) }
            }
            Node::Not(n) => n.eval_host(host).map(|b| !b),
            Node::Check(c) => {
                let known = |l: &Lhs| {
                    let name = l.field().info().name;
                    name.starts_with("container.") || name.starts_with("k8s.")
                };
                let rhs_known = match &c.rhs {
                    CRhs::Field(r) => known(r),
                    _ => true,
                };
                if known(&c.lhs) && rhs_known {
                    Some(c.eval(host))
                } else {
                    None
                }
            }
        }
    }

    /// The event types this condition can match (Falco's evttype resolver).
    pub(crate) fn evt_types(&self) -> TypeSet {
        match self {
            Node::And(items) => items
                .iter()
                .fold(TypeSet::all(), |acc, n| acc.and(n.evt_types())),
            Node::Or(items) => items.iter().fold(TypeSet::Only(BTreeSet::new()), |acc, n| {
                acc.or(n.evt_types())
            }),
            Node::Not(n) => n.evt_types().not(),
            Node::Check(c) => {
                let is_type = matches!(&c.lhs, Lhs::Field(b) if b.id == FieldId::EvtType);
                if !is_type {
                    return TypeSet::all();
                }
                match (&c.op, &c.rhs) {
                    (Op::Eq, CRhs::Str(s)) => TypeSet::Only(BTreeSet::from([s.clone()])),
                    (Op::Ne, CRhs::Str(s)) => TypeSet::AllBut(BTreeSet::from([s.clone()])),
                    (Op::In | Op::Intersects, CRhs::StrSet(set)) => {
                        TypeSet::Only(set.iter().cloned().collect())
                    }
                    _ => TypeSet::all(),
                }
            }
        }
    }

    /// Values compared with `fd.*ip.name` fields (DNS names to resolve).
    pub(crate) fn dns_names(&self, out: &mut BTreeSet<String>) {
        match self {
            Node::And(items) | Node::Or(items) => items.iter().for_each(|n| n.dns_names(out)),
            Node::Not(n) => n.dns_names(out),
            Node::Check(c) => {
                let named = matches!(&c.lhs, Lhs::Field(b) if matches!(b.id, FieldId::FdSipName | FieldId::FdCipName | FieldId::FdLipName | FieldId::FdRipName));
                if named {
                    match &c.rhs {
                        CRhs::Str(v) => {
                            out.insert(v.clone());
                        }
                        CRhs::StrSet(set) => out.extend(set.iter().cloned()),
                        _ => {}
                    }
                }
            }
        }
    }

    /// Fields read by this condition.
    pub(crate) fn fields(&self, out: &mut BTreeSet<String>) {
        match self {
            Node::And(items) | Node::Or(items) => items.iter().for_each(|n| n.fields(out)),
            Node::Not(n) => n.fields(out),
            Node::Check(c) => {
                out.insert(c.lhs.field().to_string());
                if let CRhs::Field(r) = &c.rhs {
                    out.insert(r.field().to_string());
                }
            }
        }
    }
}

/// A set of event types: some, or all but some.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeSet {
    /// Exactly these.
    Only(BTreeSet<String>),
    /// Every type except these.
    AllBut(BTreeSet<String>),
}

impl TypeSet {
    fn all() -> TypeSet {
        TypeSet::AllBut(BTreeSet::new())
    }
    fn and(self, o: TypeSet) -> TypeSet {
        use TypeSet::*;
        match (self, o) {
            (Only(a), Only(b)) => Only(a.intersection(&b).cloned().collect()),
            (Only(a), AllBut(b)) | (AllBut(b), Only(a)) => {
                Only(a.difference(&b).cloned().collect())
            }
            (AllBut(a), AllBut(b)) => AllBut(a.union(&b).cloned().collect()),
        }
    }
    fn or(self, o: TypeSet) -> TypeSet {
        use TypeSet::*;
        match (self, o) {
            (Only(a), Only(b)) => Only(a.union(&b).cloned().collect()),
            (Only(a), AllBut(b)) | (AllBut(b), Only(a)) => {
                AllBut(b.difference(&a).cloned().collect())
            }
            (AllBut(a), AllBut(b)) => AllBut(a.intersection(&b).cloned().collect()),
        }
    }
    fn not(self) -> TypeSet {
        match self {
            TypeSet::Only(a) => TypeSet::AllBut(a),
            TypeSet::AllBut(a) if a.is_empty() => TypeSet::AllBut(a),
            TypeSet::AllBut(a) => TypeSet::Only(a),
        }
    }
}
