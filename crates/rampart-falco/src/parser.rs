//! Falco's condition grammar (libsinsp's filter parser), parsed into a typed AST with byte
//! offsets:
//!
//! ```text
//! Expr      = And ('or' And)*
//! And       = Not ('and' Not)*
//! Not       = 'not' Not | Check
//! Check     = '(' Expr ')' | Identifier (a macro) | Lhs Cond
//! Lhs       = FieldName ('[' Arg ']')? | Transformer '(' Lhs ')'
//! Cond      = 'exists' | CmpOp Value | ListOp ('(' Item (',' Item)* ')' | Identifier)
//! Value     = quoted string | bare word | 'val(' Lhs ')'
//! ```
//!
//! Errors say what was expected after the last token read, as libsinsp does
//! (`unexpected token after 'execve', expecting 'or', 'and'`).

use std::fmt;

/// Nesting depth (parentheses and `not`) a condition may have.
pub const MAX_CONDITION_DEPTH: usize = 256;
/// Length of a condition after macro and exception expansion, in bytes.
pub const MAX_CONDITION_BYTES: usize = 1 << 20;

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
    IContains,
    BContains,
    StartsWith,
    BStartsWith,
    EndsWith,
    Glob,
    IGlob,
    Regex,
    In,
    Intersects,
    Pmatch,
    Exists,
}

impl Op {
    /// The operator as written (`=` for both `=` and `==`).
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Contains => "contains",
            Op::IContains => "icontains",
            Op::BContains => "bcontains",
            Op::StartsWith => "startswith",
            Op::BStartsWith => "bstartswith",
            Op::EndsWith => "endswith",
            Op::Glob => "glob",
            Op::IGlob => "iglob",
            Op::Regex => "regex",
            Op::In => "in",
            Op::Intersects => "intersects",
            Op::Pmatch => "pmatch",
            Op::Exists => "exists",
        }
    }
    /// Parses an operator as it appears in an exception's `comps`.
    pub fn from_comp(s: &str) -> Option<Op> {
        Some(match s {
            "=" | "==" => Op::Eq,
            "!=" => Op::Ne,
            "<" => Op::Lt,
            "<=" => Op::Le,
            ">" => Op::Gt,
            ">=" => Op::Ge,
            "contains" => Op::Contains,
            "icontains" => Op::IContains,
            "bcontains" => Op::BContains,
            "startswith" => Op::StartsWith,
            "bstartswith" => Op::BStartsWith,
            "endswith" => Op::EndsWith,
            "glob" => Op::Glob,
            "iglob" => Op::IGlob,
            "regex" => Op::Regex,
            "in" => Op::In,
            "intersects" => Op::Intersects,
            "pmatch" => Op::Pmatch,
            "exists" => Op::Exists,
            _ => return None,
        })
    }
    /// Takes a list on its right.
    pub fn is_list(self) -> bool {
        matches!(self, Op::In | Op::Intersects | Op::Pmatch)
    }
}

/// Field transformers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Transformer {
    ToLower,
    ToUpper,
    B64,
    Basename,
    Len,
}

impl Transformer {
    fn name(self) -> &'static str {
        match self {
            Transformer::ToLower => "tolower",
            Transformer::ToUpper => "toupper",
            Transformer::B64 => "b64",
            Transformer::Basename => "basename",
            Transformer::Len => "len",
        }
    }
}

/// The left side of a check, or a `val(...)` right side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldExpr {
    /// A field with its optional argument.
    Field {
        /// `proc.aname`.
        name: String,
        /// `2` in `proc.aname[2]`.
        arg: Option<String>,
        /// Byte offset.
        pos: usize,
    },
    /// A transformer applied to a field expression.
    Transform(Transformer, Box<FieldExpr>),
}

impl FieldExpr {
    /// The innermost field's name and position.
    pub fn field(&self) -> (&str, Option<&str>, usize) {
        match self {
            FieldExpr::Field { name, arg, pos } => (name, arg.as_deref(), *pos),
            FieldExpr::Transform(_, inner) => inner.field(),
        }
    }
}

/// The right side of a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rhs {
    /// `exists`.
    None,
    /// A single value.
    Value(String),
    /// A list literal; items are strings (list names are expanded by the compiler).
    List(Vec<String>),
    /// `val(field)`.
    Field(FieldExpr),
}

/// A condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// All of.
    And(Vec<Expr>),
    /// Any of.
    Or(Vec<Expr>),
    /// Negation.
    Not(Box<Expr>),
    /// A macro reference.
    Macro {
        /// Name.
        name: String,
        /// Byte offset.
        pos: usize,
    },
    /// A field check.
    Check {
        /// Field side.
        lhs: FieldExpr,
        /// Operator.
        op: Op,
        /// Value side.
        rhs: Rhs,
    },
}

/// A parse error: message (libsinsp's wording) and byte offset in the condition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    /// What.
    pub message: String,
    /// Byte offset.
    pub offset: usize,
}

/// Parses a condition.
pub fn parse(input: &str) -> Result<Expr, ParseError> {
    if input.len() > MAX_CONDITION_BYTES {
        return Err(ParseError {
            message: format!("condition longer than {MAX_CONDITION_BYTES} bytes"),
            offset: 0,
        });
    }
    let mut p = P {
        s: input.as_bytes(),
        src: input,
        i: 0,
        last: String::new(),
        depth: 0,
    };
    p.ws();
    let e = p.or()?;
    p.ws();
    if p.i < p.s.len() {
        return Err(p.err("expecting 'or', 'and'"));
    }
    Ok(e)
}

struct P<'a> {
    s: &'a [u8],
    src: &'a str,
    i: usize,
    last: String,
    depth: usize,
}

fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c | 0x08)
}
fn is_bare(c: u8) -> bool {
    !is_ws(c) && !matches!(c, b'(' | b')' | b',' | b'=' | b'"' | b'\'')
}
fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic()
}
fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

const TRANSFORMERS: [(&str, Transformer); 5] = [
    ("tolower", Transformer::ToLower),
    ("toupper", Transformer::ToUpper),
    ("b64", Transformer::B64),
    ("basename", Transformer::Basename),
    ("len", Transformer::Len),
];

impl P<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn ws(&mut self) {
        while self.peek().is_some_and(is_ws) {
            self.i += 1;
        }
    }
    fn err(&self, expecting: &str) -> ParseError {
        let message = if self.last.is_empty() {
            format!("unexpected token at the start, {expecting}")
        } else {
            format!("unexpected token after '{}', {expecting}", self.last)
        };
        ParseError {
            message,
            offset: self.i,
        }
    }
    fn text(&self, a: usize, b: usize) -> &str {
        self.src.get(a..b).unwrap_or("")
    }
    /// A keyword (`and`, `or`, `not`, word operators) followed by a boundary.
    fn keyword(&mut self, kw: &str) -> bool {
        let end = self.i + kw.len();
        if self.s.get(self.i..end) == Some(kw.as_bytes()) {
            let next = self.s.get(end).copied();
            let wordy = kw.as_bytes().iter().all(u8::is_ascii_alphabetic);
            let boundary = !wordy || next.is_none_or(|c| !is_ident(c));
            if boundary {
                self.i = end;
                self.last = kw.to_owned();
                return true;
            }
        }
        false
    }
    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_CONDITION_DEPTH {
            return Err(ParseError {
                message: format!("condition nested deeper than {MAX_CONDITION_DEPTH} levels"),
                offset: self.i,
            });
        }
        Ok(())
    }
    fn or(&mut self) -> Result<Expr, ParseError> {
        let mut items = vec![self.and()?];
        loop {
            self.ws();
            if self.keyword("or") {
                self.ws();
                items.push(self.and()?);
            } else {
                break;
            }
        }
        Ok(if items.len() == 1 {
            items.pop().unwrap_or(Expr::Or(Vec::new()))
        } else {
            Expr::Or(items)
        })
    }
    fn and(&mut self) -> Result<Expr, ParseError> {
        let mut items = vec![self.not()?];
        loop {
            self.ws();
            if self.keyword("and") {
                self.ws();
                items.push(self.not()?);
            } else {
                break;
            }
        }
        Ok(if items.len() == 1 {
            items.pop().unwrap_or(Expr::And(Vec::new()))
        } else {
            Expr::And(items)
        })
    }
    fn not(&mut self) -> Result<Expr, ParseError> {
        self.ws();
        if self.keyword("not") {
            self.enter()?;
            self.ws();
            let inner = self.not()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        self.check()
    }
    fn check(&mut self) -> Result<Expr, ParseError> {
        self.ws();
        if self.peek() == Some(b'(') {
            self.i += 1;
            self.last = "(".to_owned();
            self.enter()?;
            self.ws();
            let e = self.or()?;
            self.ws();
            if self.peek() != Some(b')') {
                return Err(self.err("expecting ')', 'or', 'and'"));
            }
            self.i += 1;
            self.last = ")".to_owned();
            self.depth -= 1;
            return Ok(e);
        }
        let start = self.i;
        if let Some(lhs) = self.lhs()? {
            self.ws();
            return self.cond(lhs);
        }
        // A macro name.
        if self.peek().is_some_and(is_ident_start) {
            while self.peek().is_some_and(is_ident) {
                self.i += 1;
            }
            let name = self.text(start, self.i).to_owned();
            self.last.clone_from(&name);
            return Ok(Expr::Macro { name, pos: start });
        }
        Err(self.err("expecting a field, a macro, 'not' or '('"))
    }
    /// A field name with its optional argument, or a transformer; `None` when what follows is
    /// not one (a macro name has no dot).
    fn lhs(&mut self) -> Result<Option<FieldExpr>, ParseError> {
        let start = self.i;
        for (name, t) in TRANSFORMERS {
            let end = start + name.len();
            if self.s.get(start..end) == Some(name.as_bytes()) && self.s.get(end) == Some(&b'(') {
                self.i = end + 1;
                self.last = format!("{name}(");
                self.enter()?;
                self.ws();
                let Some(inner) = self.lhs()? else {
                    return Err(self.err("expecting a field"));
                };
                self.ws();
                if self.peek() != Some(b')') {
                    return Err(self.err("expecting ')'"));
                }
                self.i += 1;
                self.last = ")".to_owned();
                self.depth -= 1;
                return Ok(Some(FieldExpr::Transform(t, Box::new(inner))));
            }
        }
        // [a-zA-Z][a-zA-Z0-9_]*(\.[a-zA-Z][a-zA-Z0-9_]*)+
        let mut j = start;
        let mut segments = 0;
        loop {
            if !self.s.get(j).copied().is_some_and(is_ident_start) {
                break;
            }
            while self.s.get(j).copied().is_some_and(is_ident) {
                j += 1;
            }
            segments += 1;
            if self.s.get(j) == Some(&b'.')
                && self.s.get(j + 1).copied().is_some_and(is_ident_start)
            {
                j += 1;
            } else {
                break;
            }
        }
        if segments < 2 {
            return Ok(None);
        }
        let name = self.text(start, j).to_owned();
        self.i = j;
        self.last.clone_from(&name);
        let mut arg = None;
        if self.peek() == Some(b'[') {
            self.i += 1;
            let a = if matches!(self.peek(), Some(b'"' | b'\'')) {
                self.quoted()?
            } else {
                let a0 = self.i;
                while self
                    .peek()
                    .is_some_and(|c| !is_ws(c) && !matches!(c, b'[' | b']' | b'"' | b'\''))
                {
                    self.i += 1;
                }
                self.text(a0, self.i).to_owned()
            };
            if self.peek() != Some(b']') || a.is_empty() {
                return Err(self.err("expecting a field argument in brackets"));
            }
            self.i += 1;
            self.last = format!("{name}[{a}]");
            arg = Some(a);
        }
        Ok(Some(FieldExpr::Field {
            name,
            arg,
            pos: start,
        }))
    }
    fn quoted(&mut self) -> Result<String, ParseError> {
        let q = self.peek().unwrap_or(b'"');
        let start = self.i;
        self.i += 1;
        let mut out: Vec<u8> = Vec::new();
        loop {
            match self.peek() {
                None => {
                    self.i = start;
                    return Err(self.err("expecting a closing quote"));
                }
                Some(c) if c == q => {
                    self.i += 1;
                    break;
                }
                Some(b'\\') => {
                    let n = self.s.get(self.i + 1).copied();
                    match n {
                        Some(b'n') => out.push(b'\n'),
                        Some(b't') => out.push(b'\t'),
                        Some(b'r') => out.push(b'\r'),
                        Some(b'b') => out.push(0x08),
                        Some(b'f') => out.push(0x0c),
                        Some(c @ (b'\\' | b'"' | b'\'' | b'/')) => out.push(c),
                        Some(c) => {
                            out.push(b'\\');
                            out.push(c);
                        }
                        None => out.push(b'\\'),
                    }
                    self.i += 2;
                }
                Some(c) => {
                    out.push(c);
                    self.i += 1;
                }
            }
        }
        let s = String::from_utf8_lossy(&out).into_owned();
        self.last = self.text(start, self.i).to_owned();
        Ok(s)
    }
    fn value(&mut self) -> Result<String, ParseError> {
        self.ws();
        if matches!(self.peek(), Some(b'"' | b'\'')) {
            return self.quoted();
        }
        let start = self.i;
        while self.peek().is_some_and(is_bare) {
            self.i += 1;
        }
        if start == self.i {
            return Err(self.err("expecting a value"));
        }
        let v = self.text(start, self.i).to_owned();
        self.last.clone_from(&v);
        Ok(v)
    }
    fn cond(&mut self, lhs: FieldExpr) -> Result<Expr, ParseError> {
        const OPS: [(&str, Op); 19] = [
            ("exists", Op::Exists),
            ("==", Op::Eq),
            ("=", Op::Eq),
            ("!=", Op::Ne),
            ("<=", Op::Le),
            ("<", Op::Lt),
            (">=", Op::Ge),
            (">", Op::Gt),
            ("contains", Op::Contains),
            ("icontains", Op::IContains),
            ("bcontains", Op::BContains),
            ("startswith", Op::StartsWith),
            ("bstartswith", Op::BStartsWith),
            ("endswith", Op::EndsWith),
            ("glob", Op::Glob),
            ("iglob", Op::IGlob),
            ("regex", Op::Regex),
            ("intersects", Op::Intersects),
            ("in", Op::In),
        ];
        let mut op = None;
        for (text, o) in OPS.iter().chain(std::iter::once(&("pmatch", Op::Pmatch))) {
            if self.keyword(text) {
                op = Some(*o);
                break;
            }
        }
        let Some(op) = op else {
            return Err(self.err("expecting a valid operator"));
        };
        if op == Op::Exists {
            return Ok(Expr::Check {
                lhs,
                op,
                rhs: Rhs::None,
            });
        }
        self.ws();
        if op.is_list() {
            if self.peek() == Some(b'(') {
                self.i += 1;
                self.last = "(".to_owned();
                let mut items = Vec::new();
                self.ws();
                if self.peek() == Some(b')') {
                    self.i += 1;
                    self.last = ")".to_owned();
                    return Ok(Expr::Check {
                        lhs,
                        op,
                        rhs: Rhs::List(items),
                    });
                }
                loop {
                    items.push(self.value()?);
                    self.ws();
                    match self.peek() {
                        Some(b',') => {
                            self.i += 1;
                            self.last = ",".to_owned();
                        }
                        Some(b')') => {
                            self.i += 1;
                            self.last = ")".to_owned();
                            break;
                        }
                        _ => return Err(self.err("expecting ',' or ')'")),
                    }
                }
                return Ok(Expr::Check {
                    lhs,
                    op,
                    rhs: Rhs::List(items),
                });
            }
            // A bare list name: `proc.name in shell_binaries`.
            let start = self.i;
            if self.peek().is_some_and(is_ident_start) {
                while self.peek().is_some_and(is_ident) {
                    self.i += 1;
                }
                let name = self.text(start, self.i).to_owned();
                self.last.clone_from(&name);
                return Ok(Expr::Check {
                    lhs,
                    op,
                    rhs: Rhs::List(vec![name]),
                });
            }
            return Err(self.err("expecting a list"));
        }
        if self.s.get(self.i..self.i + 4) == Some(b"val(") {
            self.i += 4;
            self.last = "val(".to_owned();
            self.ws();
            let Some(f) = self.lhs()? else {
                return Err(self.err("expecting a field"));
            };
            self.ws();
            if self.peek() != Some(b')') {
                return Err(self.err("expecting ')'"));
            }
            self.i += 1;
            self.last = ")".to_owned();
            return Ok(Expr::Check {
                lhs,
                op,
                rhs: Rhs::Field(f),
            });
        }
        let v = self.value()?;
        Ok(Expr::Check {
            lhs,
            op,
            rhs: Rhs::Value(v),
        })
    }
}

fn quote(v: &str) -> String {
    let bare = !v.is_empty()
        && v.bytes().all(is_bare)
        && !matches!(v, "and" | "or" | "not")
        && !v.starts_with("val(");
    if bare {
        v.to_owned()
    } else {
        let mut s = String::with_capacity(v.len() + 2);
        s.push('"');
        for c in v.chars() {
            match c {
                '"' => s.push_str("\\\""),
                '\\' => s.push_str("\\\\"),
                '\n' => s.push_str("\\n"),
                '\t' => s.push_str("\\t"),
                '\r' => s.push_str("\\r"),
                '\u{8}' => s.push_str("\\b"),
                '\u{c}' => s.push_str("\\f"),
                c => s.push(c),
            }
        }
        s.push('"');
        s
    }
}

/// Quotes a value for a condition when it is not a plain bare word (used when exceptions are
/// expanded into condition text, as Falco does).
pub fn quote_value(v: &str) -> String {
    quote(v)
}

impl fmt::Display for FieldExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldExpr::Field { name, arg, .. } => match arg {
                Some(a)
                    if a.bytes()
                        .all(|c| !is_ws(c) && !matches!(c, b'[' | b']' | b'"' | b'\'')) =>
                {
                    write!(f, "{name}[{a}]")
                }
                Some(a) => write!(f, "{name}[{}]", quote(a)),
                None => f.write_str(name),
            },
            FieldExpr::Transform(t, inner) => write!(f, "{}({inner})", t.name()),
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let join = |f: &mut fmt::Formatter<'_>, items: &[Expr], sep: &str| -> fmt::Result {
            f.write_str("(")?;
            for (n, e) in items.iter().enumerate() {
                if n > 0 {
                    write!(f, " {sep} ")?;
                }
                write!(f, "{e}")?;
            }
            f.write_str(")")
        };
        match self {
            Expr::And(items) => join(f, items, "and"),
            Expr::Or(items) => join(f, items, "or"),
            Expr::Not(e) => write!(f, "not {e}"),
            Expr::Macro { name, .. } => f.write_str(name),
            Expr::Check { lhs, op, rhs } => {
                write!(f, "{lhs} {}", op.as_str())?;
                match rhs {
                    Rhs::None => Ok(()),
                    Rhs::Value(v) => write!(f, " {}", quote(v)),
                    Rhs::Field(x) => write!(f, " val({x})"),
                    Rhs::List(items) => {
                        f.write_str(" (")?;
                        for (n, v) in items.iter().enumerate() {
                            if n > 0 {
                                f.write_str(", ")?;
                            }
                            f.write_str(&quote(v))?;
                        }
                        f.write_str(")")
                    }
                }
            }
        }
    }
}

/// Position-free equality (for tests: parse → print → parse).
pub fn strip_positions(e: &Expr) -> Expr {
    fn fe(x: &FieldExpr) -> FieldExpr {
        match x {
            FieldExpr::Field { name, arg, .. } => FieldExpr::Field {
                name: name.clone(),
                arg: arg.clone(),
                pos: 0,
            },
            FieldExpr::Transform(t, inner) => FieldExpr::Transform(*t, Box::new(fe(inner))),
        }
    }
    match e {
        Expr::And(v) => Expr::And(v.iter().map(strip_positions).collect()),
        Expr::Or(v) => Expr::Or(v.iter().map(strip_positions).collect()),
        Expr::Not(x) => Expr::Not(Box::new(strip_positions(x))),
        Expr::Macro { name, .. } => Expr::Macro {
            name: name.clone(),
            pos: 0,
        },
        Expr::Check { lhs, op, rhs } => Expr::Check {
            lhs: fe(lhs),
            op: *op,
            rhs: match rhs {
                Rhs::Field(x) => Rhs::Field(fe(x)),
                r => r.clone(),
            },
        },
    }
}
