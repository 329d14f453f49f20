//! What the kernel can check of an open before it walks the opened file's path: the static
//! analysis that lets the sensor drop, in the kernel, the opens no enabled rule can match.
//!
//! Opens are most of what a busy container does (extracting an archive, a compiler reading
//! headers), and most of the sensor's cost per open is walking the path (docs/monitor-bench.md).
//! Falco's stable rules only look at a handful of opens: reads of a few files under `/etc`,
//! writes that truncate a log, writes of a `release_agent`, names with `../` in them. This
//! module over-approximates, for every enabled rule that can see an open, its condition by a
//! disjunction of [`OpenClause`]s over facts the kernel has cheaply:
//!
//! - the open's access mode, its other flags, whether it succeeded, host or container;
//! - the last component of `fd.name` and the one before it (a hash lookup each);
//! - a suffix of the last component; a substring of the name as the caller wrote it.
//!
//! The analysis is sound by construction: every atom it does not understand, every negation of
//! a path atom, every field it does not model, becomes "true". An open that can make any rule
//! true therefore always passes ([`OpenFilter::accepts`] is the model the kernel implements; a
//! property test checks it against the rules themselves). When the analysis cannot bound some
//! rule at all (a rule with no event type), the filter is [`OpenFilter::All`], with the reason.

use crate::compile::{CRhs, Check, Lhs, Node};
use crate::fields::FieldId;
use crate::parser::Op;
use crate::ruleset::RuleSet;
use std::collections::BTreeSet;

/// The Falco event types of an open the sensor reports.
pub const OPEN_TYPES: [&str; 4] = ["open", "openat", "openat2", "creat"];

/// Linux `O_DIRECTORY`.
const O_DIRECTORY: u32 = 0o200000;
/// Linux `O_CREAT`.
const O_CREAT: u32 = 0o100;

const ACCESS_NAMES: [(u8, &str); 3] = [(0, "O_RDONLY"), (1, "O_WRONLY"), (2, "O_RDWR")];

/// Every access mode (`flags & O_ACCMODE`, bit n for mode n).
pub const ANY_ACCESS: u8 = 0b1111;
/// Succeeded (bit 0) or failed (bit 1).
pub const ANY_RESULT: u8 = 0b11;
/// A host process (bit 0) or a container's (bit 1).
pub const ANY_PLACE: u8 = 0b11;

/// A conjunction of facts about one open; `None` sets and strings do not constrain.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct OpenClause {
    /// The access modes allowed: bit n allows `flags & O_ACCMODE == n`.
    pub access: u8,
    /// Bit 0: a successful open may match; bit 1: a failed one.
    pub result: u8,
    /// Bit 0: a host process may match; bit 1: a container's.
    pub place: u8,
    /// Flags that must all be set.
    pub flags_all: u32,
    /// Flags that must all be clear.
    pub flags_none: u32,
    /// Effective capabilities the caller must all have (bit n: capability n).
    pub caps_all: u64,
    /// The last component of `fd.name` is one of these.
    pub base: Option<BTreeSet<String>>,
    /// The component before it (the name of `fd.directory`) is one of these.
    pub parent: Option<BTreeSet<String>>,
    /// The last component ends with this.
    pub base_suffix: Option<String>,
    /// The name as the caller wrote it (`fd.nameraw`) contains this.
    pub raw_contains: Option<String>,
}

impl OpenClause {
    /// The clause every open satisfies.
    pub fn top() -> Self {
        OpenClause {
            access: ANY_ACCESS,
            result: ANY_RESULT,
            place: ANY_PLACE,
            flags_all: 0,
            flags_none: 0,
            caps_all: 0,
            base: None,
            parent: None,
            base_suffix: None,
            raw_contains: None,
        }
    }

    /// True for every open.
    pub fn is_top(&self) -> bool {
        *self == Self::top()
    }

    /// Both clauses at once; `None` when no open satisfies both.
    fn meet(&self, o: &Self) -> Option<Self> {
        let mut c = OpenClause {
            access: self.access & o.access,
            result: self.result & o.result,
            place: self.place & o.place,
            flags_all: self.flags_all | o.flags_all,
            flags_none: self.flags_none | o.flags_none,
            caps_all: self.caps_all | o.caps_all,
            base: meet_set(&self.base, &o.base),
            parent: meet_set(&self.parent, &o.parent),
            base_suffix: None,
            // two substrings: keeping one is weaker, hence sound
            raw_contains: self.raw_contains.clone().or_else(|| o.raw_contains.clone()),
        };
        c.base_suffix = match (&self.base_suffix, &o.base_suffix) {
            (Some(a), Some(b)) if a.ends_with(b.as_str()) => Some(a.clone()),
            (Some(a), Some(b)) if b.ends_with(a.as_str()) => Some(b.clone()),
            (Some(_), Some(_)) => return None,
            (a, b) => a.clone().or_else(|| b.clone()),
        };
        if let (Some(s), Some(base)) = (&c.base_suffix, &mut c.base) {
            base.retain(|b| b.ends_with(s.as_str()));
            c.base_suffix = None;
        }
        let empty = |s: &Option<BTreeSet<String>>| s.as_ref().is_some_and(BTreeSet::is_empty);
        if c.access == 0
            || c.result == 0
            || c.place == 0
            || c.flags_all & c.flags_none != 0
            || empty(&c.base)
            || empty(&c.parent)
        {
            return None;
        }
        Some(c)
    }

    /// A clause true whenever either is (the smallest this representation has).
    pub fn join(&self, o: &Self) -> Self {
        OpenClause {
            access: self.access | o.access,
            result: self.result | o.result,
            place: self.place | o.place,
            flags_all: self.flags_all & o.flags_all,
            flags_none: self.flags_none & o.flags_none,
            caps_all: self.caps_all & o.caps_all,
            base: join_set(&self.base, &o.base),
            parent: join_set(&self.parent, &o.parent),
            base_suffix: match (&self.base_suffix, &o.base_suffix) {
                (Some(a), Some(b)) => common_suffix(a, b),
                _ => None,
            },
            raw_contains: match (&self.raw_contains, &o.raw_contains) {
                (Some(a), Some(b)) if a == b => Some(a.clone()),
                _ => None,
            },
        }
    }

    /// Whether every open satisfying `self` satisfies `o`.
    fn implies(&self, o: &Self) -> bool {
        let sub = |a: &Option<BTreeSet<String>>, b: &Option<BTreeSet<String>>| match (a, b) {
            (_, None) => true,
            (None, Some(_)) => false,
            (Some(a), Some(b)) => a.is_subset(b),
        };
        self.access & !o.access == 0
            && self.result & !o.result == 0
            && self.place & !o.place == 0
            && o.flags_all & !self.flags_all == 0
            && o.flags_none & !self.flags_none == 0
            && o.caps_all & !self.caps_all == 0
            && sub(&self.base, &o.base)
            && sub(&self.parent, &o.parent)
            && match (&self.base_suffix, &o.base_suffix) {
                (_, None) => true,
                (Some(a), Some(b)) => a.ends_with(b.as_str()),
                (None, Some(b)) => self
                    .base
                    .as_ref()
                    .is_some_and(|s| s.iter().all(|x| x.ends_with(b.as_str()))),
            }
            && match (&self.raw_contains, &o.raw_contains) {
                (_, None) => true,
                (Some(a), Some(b)) => a.contains(b.as_str()),
                (None, Some(_)) => false,
            }
    }

    /// Whether an open with these facts satisfies the clause (unknown facts satisfy).
    pub fn accepts(&self, f: &OpenFacts<'_>) -> bool {
        let access = u8::try_from(f.flags & 3).unwrap_or(3);
        let in_set = |s: &Option<BTreeSet<String>>, v: Option<&str>| match (s, v) {
            (Some(s), Some(v)) => s.contains(v),
            _ => true,
        };
        self.access & (1 << access) != 0
            && self.result & if f.ok { 1 } else { 2 } != 0
            && self.place & if f.container { 2 } else { 1 } != 0
            && f.flags & self.flags_all == self.flags_all
            && f.flags & self.flags_none == 0
            && f.caps & self.caps_all == self.caps_all
            && in_set(&self.base, f.base)
            && in_set(&self.parent, f.parent)
            && match (&self.base_suffix, f.base) {
                (Some(s), Some(b)) => b.ends_with(s.as_str()),
                _ => true,
            }
            && match (&self.raw_contains, f.raw) {
                (Some(s), Some(r)) => r.contains(s.as_str()),
                _ => true,
            }
    }
}

fn meet_set(
    a: &Option<BTreeSet<String>>,
    b: &Option<BTreeSet<String>>,
) -> Option<BTreeSet<String>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.intersection(b).cloned().collect()),
        (a, b) => a.clone().or_else(|| b.clone()),
    }
}

fn join_set(
    a: &Option<BTreeSet<String>>,
    b: &Option<BTreeSet<String>>,
) -> Option<BTreeSet<String>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.union(b).cloned().collect()),
        _ => None,
    }
}

fn common_suffix(a: &str, b: &str) -> Option<String> {
    let n = a
        .bytes()
        .rev()
        .zip(b.bytes().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let s = a.get(a.len() - n..)?;
    (!s.is_empty()).then(|| s.to_owned())
}

/// What the kernel knows cheaply of one open; `None`: not known (the check passes).
#[derive(Debug, Clone, Copy)]
pub struct OpenFacts<'a> {
    /// The open's flags (Linux `O_*`).
    pub flags: u32,
    /// It returned a descriptor.
    pub ok: bool,
    /// The caller is a container's process.
    pub container: bool,
    /// The caller's effective capabilities.
    pub caps: u64,
    /// The last component of `fd.name`.
    pub base: Option<&'a str>,
    /// The component before it.
    pub parent: Option<&'a str>,
    /// The name as the caller wrote it.
    pub raw: Option<&'a str>,
}

/// Which opens the enabled rules can match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenFilter {
    /// Any open: the analysis could not bound this rule.
    All {
        /// The rule, and why.
        reason: String,
    },
    /// Only opens satisfying one of these (none: no rule looks at opens).
    Clauses(Vec<OpenClause>),
}

/// Disjunctions grow by products; past this the analysis weakens (soundly).
const MAX_DNF: usize = 256;

impl OpenFilter {
    /// The filter for the enabled, evaluable rules of `rules`.
    pub fn for_rules(rules: &RuleSet) -> OpenFilter {
        let mut out: Vec<OpenClause> = Vec::new();
        for r in rules
            .rules()
            .iter()
            .filter(|r| r.enabled && r.unsupported_fields.is_empty())
        {
            let Some(types) = r.event_types() else {
                return OpenFilter::All {
                    reason: format!("rule {:?} has no event type", r.name),
                };
            };
            for t in OPEN_TYPES.iter().filter(|t| types.contains(**t)) {
                let dnf = abstract_node(&r.node, t, true);
                if dnf.iter().any(OpenClause::is_top) {
                    return OpenFilter::All {
                        reason: format!("rule {:?} can match any {t}", r.name),
                    };
                }
                out.extend(dnf);
            }
        }
        OpenFilter::Clauses(simplify(out))
    }

    /// Whether an open with these facts may match a rule.
    pub fn accepts(&self, f: &OpenFacts<'_>) -> bool {
        match self {
            OpenFilter::All { .. } => true,
            OpenFilter::Clauses(cs) => cs.iter().any(|c| c.accepts(f)),
        }
    }

    /// The same filter, weakened to fit a representation of at most `max_clauses` clauses,
    /// names and suffixes of at most `max_name` bytes and substrings of at most `max_raw`
    /// bytes (a constraint that does not fit is dropped: weaker, still sound).
    pub fn fit(&self, max_clauses: usize, max_name: usize, max_raw: usize) -> OpenFilter {
        let OpenFilter::Clauses(cs) = self else {
            return self.clone();
        };
        let mut cs: Vec<OpenClause> = cs
            .iter()
            .map(|c| {
                let mut c = c.clone();
                let too_long = |s: &Option<BTreeSet<String>>| {
                    s.as_ref()
                        .is_some_and(|s| s.iter().any(|n| n.len() > max_name))
                };
                if too_long(&c.base) {
                    c.base = None;
                }
                if too_long(&c.parent) {
                    c.parent = None;
                }
                if c.base_suffix.as_ref().is_some_and(|s| s.len() > max_name) {
                    c.base_suffix = None;
                }
                if c.raw_contains.as_ref().is_some_and(|s| s.len() > max_raw) {
                    c.raw_contains = None;
                }
                c
            })
            .collect();
        if cs.iter().any(OpenClause::is_top) {
            return OpenFilter::All {
                reason: "a rule's constraints on opens do not fit the kernel's filter".into(),
            };
        }
        cs = simplify(cs);
        while cs.len() > max_clauses {
            // join the pair whose join loses the least: the most similar pair
            let mut best = (0, 1, u32::MAX);
            for (i, a) in cs.iter().enumerate() {
                for (j, b) in cs.iter().enumerate().skip(i + 1) {
                    let d = distance(a, b);
                    if d < best.2 {
                        best = (i, j, d);
                    }
                }
            }
            let b = cs.remove(best.1);
            let a = cs.remove(best.0);
            cs.push(a.join(&b));
            cs = simplify(cs);
        }
        if cs.iter().any(OpenClause::is_top) {
            return OpenFilter::All {
                reason: "the rules' constraints on opens do not fit the kernel's filter".into(),
            };
        }
        OpenFilter::Clauses(cs)
    }
}

/// How much is lost joining two clauses (a rough count of the constraints that go).
fn distance(a: &OpenClause, b: &OpenClause) -> u32 {
    let mut d = (a.access ^ b.access).count_ones()
        + (a.result ^ b.result).count_ones()
        + (a.place ^ b.place).count_ones()
        + (a.flags_all ^ b.flags_all).count_ones()
        + (a.flags_none ^ b.flags_none).count_ones()
        + (a.caps_all ^ b.caps_all).count_ones();
    d += match (&a.base, &b.base) {
        (Some(x), Some(y)) if x == y => 0,
        (Some(_), Some(_)) => 1,
        (None, None) => 0,
        _ => 8,
    };
    d += match (&a.parent, &b.parent) {
        (Some(x), Some(y)) if x == y => 0,
        (Some(_), Some(_)) => 1,
        (None, None) => 0,
        _ => 8,
    };
    d += u32::from(a.base_suffix != b.base_suffix) * 8
        + u32::from(a.raw_contains != b.raw_contains) * 8;
    d
}

/// Drops unsatisfiable and implied clauses, merges clauses that differ only in their sets.
fn simplify(cs: Vec<OpenClause>) -> Vec<OpenClause> {
    let mut cs: Vec<OpenClause> = cs
        .into_iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if cs.iter().any(OpenClause::is_top) {
        return vec![OpenClause::top()];
    }
    // merge clauses equal but for the base set (or but for the parent set)
    let mut merged = true;
    while merged {
        merged = false;
        'outer: for (i, a) in cs.iter().enumerate() {
            for (j, b) in cs.iter().enumerate().skip(i + 1) {
                let same_but_base = OpenClause {
                    base: None,
                    ..a.clone()
                } == OpenClause {
                    base: None,
                    ..b.clone()
                } && a.base.is_some()
                    && b.base.is_some();
                let same_but_parent = OpenClause {
                    parent: None,
                    ..a.clone()
                } == OpenClause {
                    parent: None,
                    ..b.clone()
                } && a.parent.is_some()
                    && b.parent.is_some();
                if same_but_base || same_but_parent {
                    let j_clause = cs.remove(j);
                    let i_clause = cs.remove(i);
                    cs.push(i_clause.join(&j_clause));
                    merged = true;
                    break 'outer;
                }
            }
        }
    }
    let mut keep: Vec<OpenClause> = Vec::new();
    for (i, c) in cs.iter().enumerate() {
        let implied = cs
            .iter()
            .enumerate()
            .any(|(j, d)| j != i && c.implies(d) && (!d.implies(c) || j < i));
        if !implied {
            keep.push(c.clone());
        }
    }
    keep.sort();
    keep
}

fn is_true(d: &[OpenClause]) -> bool {
    d.iter().any(OpenClause::is_top)
}

fn top() -> Vec<OpenClause> {
    vec![OpenClause::top()]
}

fn and(a: Vec<OpenClause>, b: Vec<OpenClause>) -> Vec<OpenClause> {
    if is_true(&a) {
        return b;
    }
    if is_true(&b) {
        return a;
    }
    if a.len().saturating_mul(b.len()) > MAX_DNF {
        // a conjunct dropped: weaker, still sound; keep the more selective side
        return if a.len() <= b.len() { a } else { b };
    }
    let mut out = Vec::new();
    for x in &a {
        for y in &b {
            if let Some(c) = x.meet(y) {
                out.push(c);
            }
        }
    }
    out
}

fn or(mut a: Vec<OpenClause>, b: Vec<OpenClause>) -> Vec<OpenClause> {
    a.extend(b);
    if a.len() > MAX_DNF || a.iter().any(OpenClause::is_top) {
        return top();
    }
    a
}

/// The condition `node` (negated when `!positive`) over-approximated for an open of type
/// `evt_type`, as a disjunction (empty: false).
fn abstract_node(node: &Node, evt_type: &str, positive: bool) -> Vec<OpenClause> {
    match node {
        Node::And(items) if positive => items
            .iter()
            .fold(top(), |acc, n| and(acc, abstract_node(n, evt_type, true))),
        Node::Or(items) if !positive => items
            .iter()
            .fold(top(), |acc, n| and(acc, abstract_node(n, evt_type, false))),
        Node::Or(items) | Node::And(items) => items.iter().fold(Vec::new(), |acc, n| {
            or(acc, abstract_node(n, evt_type, positive))
        }),
        Node::Not(n) => abstract_node(n, evt_type, !positive),
        Node::Check(c) => abstract_check(c, evt_type, positive),
    }
}

fn with(f: impl FnOnce(&mut OpenClause)) -> Vec<OpenClause> {
    let mut c = OpenClause::top();
    f(&mut c);
    vec![c]
}

fn names(values: impl IntoIterator<Item = String>) -> Option<BTreeSet<String>> {
    Some(values.into_iter().collect())
}

/// The last component of a path written in a rule (`/etc/shadow` → `shadow`); `None` when it
/// has none a normalised name could end with (`/`, `x/`, `x/.`).
fn last_component(p: &str) -> Option<String> {
    let last = p.rsplit('/').next()?;
    (!last.is_empty() && last != "." && last != "..").then(|| last.to_owned())
}

/// The string values of a check's right-hand side (`=` one, `in` several).
fn rhs_strings(c: &Check) -> Option<Vec<String>> {
    match (&c.op, &c.rhs) {
        (Op::Eq, CRhs::Str(s)) => Some(vec![s.clone()]),
        (Op::In, CRhs::StrSet(set)) => Some(set.iter().cloned().collect()),
        (Op::In, CRhs::Str(s)) => Some(vec![s.clone()]),
        _ => None,
    }
}

fn abstract_check(c: &Check, evt_type: &str, as_written: bool) -> Vec<OpenClause> {
    // `c.eval` applies the check's own negation; the atoms read below by hand do not
    let positive = as_written ^ c.negate;
    let Lhs::Field(f) = &c.lhs else {
        return top();
    };
    if matches!(c.rhs, CRhs::Field(_)) {
        return top();
    }
    match f.id {
        // the event's type is known exactly
        FieldId::EvtType | FieldId::EvtSyscalltype => {
            let ev = crate::Event {
                evt_type: evt_type.to_owned().into(),
                ..crate::Event::default()
            };
            if c.eval(&ev) == as_written {
                top()
            } else {
                Vec::new()
            }
        }
        FieldId::EvtIsOpenRead | FieldId::EvtIsOpenWrite | FieldId::EvtIsOpenCreate => {
            let want = match (&c.op, &c.rhs) {
                (Op::Eq, CRhs::Bool(b)) => *b,
                (Op::Ne, CRhs::Bool(b)) => !*b,
                _ => return top(),
            } == positive;
            match f.id {
                FieldId::EvtIsOpenCreate => with(|k| {
                    if want {
                        k.flags_all = O_CREAT;
                    } else {
                        k.flags_none = O_CREAT;
                    }
                }),
                _ => {
                    // read: O_RDONLY (0) or O_RDWR (2); write: O_WRONLY (1) or O_RDWR
                    let yes: u8 = if f.id == FieldId::EvtIsOpenRead {
                        0b0101
                    } else {
                        0b0110
                    };
                    with(|k| k.access = if want { yes } else { ANY_ACCESS & !yes })
                }
            }
        }
        // an open's descriptor: -1 when it failed; its result the same sign
        FieldId::FdNum | FieldId::EvtRawres => {
            let CRhs::Int(v) = c.rhs else {
                return top();
            };
            let fails: &[i64] = if f.id == FieldId::FdNum {
                &[-1]
            } else {
                &[-1, -2, -13, -4095]
            };
            let oks = [
                0,
                1,
                2,
                3,
                v.saturating_sub(1),
                v,
                v.saturating_add(1),
                i64::MAX,
            ];
            let holds = |n: i64| int_cmp(c.op, n, v).map(|b| b == positive);
            let (mut ok, mut fail) = (false, false);
            for n in oks.iter().filter(|n| **n >= 0) {
                match holds(*n) {
                    Some(b) => ok |= b,
                    None => return top(),
                }
            }
            for n in fails {
                match holds(*n) {
                    Some(b) => fail |= b,
                    None => return top(),
                }
            }
            with(|k| k.result = u8::from(ok) | u8::from(fail) << 1)
        }
        FieldId::EvtFailed => match (&c.op, &c.rhs) {
            (Op::Eq, CRhs::Bool(b)) => {
                let failed = *b == positive;
                with(|k| k.result = if failed { 2 } else { 1 })
            }
            _ => top(),
        },
        FieldId::EvtRes => {
            // SUCCESS for a descriptor, an errno name (E...) for a failure
            let ok = {
                let ev = crate::Event {
                    evt_type: evt_type.to_owned().into(),
                    res: Some(0),
                    ..crate::Event::default()
                };
                c.eval(&ev) == as_written
            };
            with(|k| k.result = u8::from(ok) | 2)
        }
        FieldId::ContainerId => match (&c.op, &c.rhs) {
            (Op::Eq, CRhs::Str(s)) | (Op::Ne, CRhs::Str(s)) if s == "host" => {
                let host = (c.op == Op::Eq) == positive;
                with(|k| k.place = if host { 1 } else { 2 })
            }
            _ => top(),
        },
        FieldId::EvtArg if matches!(&f.arg, crate::fields::FieldArg::Key(k) if k == "flags") => {
            flags_atom(c, positive)
        }
        // an open's descriptor is a directory exactly when it asked for one (O_DIRECTORY), a
        // file otherwise (the monitor's translation, as Falco's)
        FieldId::FdTypechar | FieldId::FdType => {
            let (file, dir) = if f.id == FieldId::FdTypechar {
                ("f", "d")
            } else {
                ("file", "directory")
            };
            let holds = |v: &str| match (&c.op, &c.rhs) {
                (Op::Eq, CRhs::Str(s)) => Some(s == v),
                (Op::Ne, CRhs::Str(s)) => Some(s != v),
                (Op::In, CRhs::StrSet(set)) => Some(set.contains(v)),
                _ => None,
            };
            match (holds(file), holds(dir)) {
                (Some(a), Some(b)) => {
                    let (a, b) = (a == positive, b == positive);
                    match (a, b) {
                        (true, true) => top(),
                        (true, false) => with(|k| k.flags_none = O_DIRECTORY),
                        (false, true) => with(|k| k.flags_all = O_DIRECTORY),
                        (false, false) => Vec::new(),
                    }
                }
                _ => top(),
            }
        }
        FieldId::ThreadCapEffective => match (&c.op, &c.rhs) {
            (Op::Contains, CRhs::Str(s)) if positive => {
                // a whole capability name, inside no other one
                let inside: Vec<usize> = crate::event::CAP_NAMES
                    .iter()
                    .enumerate()
                    .filter(|(_, n)| n.contains(s.as_str()))
                    .map(|(i, _)| i)
                    .collect();
                match inside.as_slice() {
                    [i] if crate::event::CAP_NAMES.get(*i) == Some(&s.as_str()) && *i < 64 => {
                        with(|k| k.caps_all = 1u64 << i)
                    }
                    _ => top(),
                }
            }
            _ => top(),
        },
        _ if !positive => top(),
        FieldId::FdName => match (&c.op, &c.rhs) {
            (Op::Eq | Op::In, _) => match rhs_strings(c) {
                Some(vals) => {
                    let set: Option<Vec<String>> = vals.iter().map(|v| last_component(v)).collect();
                    match set {
                        Some(set) => with(|k| k.base = names(set)),
                        None => top(),
                    }
                }
                None => top(),
            },
            (Op::EndsWith, CRhs::Str(s)) => match s.rsplit_once('/') {
                Some((_, tail)) if !tail.is_empty() && tail != "." && tail != ".." => {
                    with(|k| k.base = names([tail.to_owned()]))
                }
                Some(_) => top(),
                None if s.is_empty() => top(),
                None => with(|k| k.base_suffix = Some(s.clone())),
            },
            (Op::Glob, CRhs::Glob(p)) => {
                let p = String::from_utf8_lossy(p);
                match p.rsplit_once('/') {
                    Some((_, tail))
                        if !tail.is_empty()
                            && tail != "."
                            && tail != ".."
                            && !tail.contains(['*', '?', '[', '\\']) =>
                    {
                        with(|k| k.base = names([tail.to_owned()]))
                    }
                    _ => top(),
                }
            }
            _ => top(),
        },
        FieldId::FdFilename => match (&c.op, &c.rhs) {
            (Op::Eq | Op::In, _) => match rhs_strings(c) {
                Some(vals) => with(|k| k.base = names(vals)),
                None => top(),
            },
            (Op::EndsWith, CRhs::Str(s)) if !s.is_empty() && !s.contains('/') => {
                with(|k| k.base_suffix = Some(s.clone()))
            }
            _ => top(),
        },
        // fd.directory: the name's directory, or the name itself for an O_DIRECTORY open
        FieldId::FdDirectory => match rhs_strings(c) {
            Some(vals) => {
                let set: Option<Vec<String>> = vals.iter().map(|v| last_component(v)).collect();
                let Some(set) = set else {
                    return top();
                };
                let mut a = OpenClause::top();
                a.parent = names(set.clone());
                a.flags_none = O_DIRECTORY;
                let mut b = OpenClause::top();
                b.base = names(set);
                b.flags_all = O_DIRECTORY;
                vec![a, b]
            }
            None => top(),
        },
        FieldId::FdNameraw => match (&c.op, &c.rhs) {
            (Op::Contains, CRhs::Str(s)) if !s.is_empty() => {
                with(|k| k.raw_contains = Some(s.clone()))
            }
            _ => top(),
        },
        _ => top(),
    }
}

/// `evt.arg.flags contains NAME` on an open: the flags string is `O_RDONLY|O_CREAT|...`.
fn flags_atom(c: &Check, positive: bool) -> Vec<OpenClause> {
    let (Op::Contains, CRhs::Str(s)) = (&c.op, &c.rhs) else {
        return top();
    };
    if s.is_empty() {
        return top();
    }
    // the needle must name exactly one flag (`O_DIRECT` is also inside `O_DIRECTORY`)
    let flags: Vec<u32> = crate::event::OPEN_FLAG_NAMES
        .iter()
        .filter(|(_, n)| n.contains(s.as_str()))
        .map(|(b, _)| *b)
        .collect();
    let modes: Vec<u8> = ACCESS_NAMES
        .iter()
        .filter(|(_, n)| n.contains(s.as_str()))
        .map(|(m, _)| *m)
        .collect();
    match (flags.as_slice(), modes.as_slice()) {
        ([bit], []) => with(|k| {
            if positive {
                k.flags_all = *bit;
            } else {
                k.flags_none = *bit;
            }
        }),
        ([], [_, ..]) => {
            // the string shows O_RDWR for mode 3 as well (open_flags_str)
            let mut set: u8 = 0;
            for m in 0..4u8 {
                let shown = if m == 3 { 2 } else { m };
                if modes.contains(&shown) {
                    set |= 1 << m;
                }
            }
            with(|k| k.access = if positive { set } else { ANY_ACCESS & !set })
        }
        _ => top(),
    }
}

fn int_cmp(op: Op, n: i64, v: i64) -> Option<bool> {
    Some(match op {
        Op::Eq => n == v,
        Op::Ne => n != v,
        Op::Lt => n < v,
        Op::Le => n <= v,
        Op::Gt => n > v,
        Op::Ge => n >= v,
        _ => return None,
    })
}

/// The Falco event types of a symlink the sensor reports.
pub const SYMLINK_TYPES: [&str; 2] = ["symlink", "symlinkat"];

/// Which symlinks the enabled rules can match, by their target text (`evt.arg.target`, the
/// string as the caller gave it): the kernel reads that string, not a path, so it checks it
/// with one hash lookup and skips resolving the link's own path for the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetFilter {
    /// Any symlink: the analysis could not bound this rule.
    All {
        /// The rule, and why.
        reason: String,
    },
    /// Only symlinks whose target is one of these (none: no rule looks at symlinks).
    Targets(BTreeSet<String>),
}

impl TargetFilter {
    /// The filter for the enabled, evaluable rules of `rules`.
    pub fn for_rules(rules: &RuleSet) -> TargetFilter {
        let mut out = BTreeSet::new();
        for r in rules
            .rules()
            .iter()
            .filter(|r| r.enabled && r.unsupported_fields.is_empty())
        {
            let Some(types) = r.event_types() else {
                return TargetFilter::All {
                    reason: format!("rule {:?} has no event type", r.name),
                };
            };
            for t in SYMLINK_TYPES.iter().filter(|t| types.contains(**t)) {
                match abstract_target(&r.node, t, true) {
                    Some(set) => out.extend(set),
                    None => {
                        return TargetFilter::All {
                            reason: format!("rule {:?} can match any {t}", r.name),
                        };
                    }
                }
            }
        }
        TargetFilter::Targets(out)
    }

    /// Whether a symlink to `target` may match a rule.
    pub fn accepts(&self, target: &str) -> bool {
        match self {
            TargetFilter::All { .. } => true,
            TargetFilter::Targets(t) => t.contains(target),
        }
    }

    /// The same filter, or `All` when a target is longer than `max` bytes (the kernel's key).
    pub fn fit(&self, max: usize) -> TargetFilter {
        match self {
            TargetFilter::Targets(t) if t.iter().any(|s| s.len() > max || s.is_empty()) => {
                TargetFilter::All {
                    reason: "a symlink target the rules test does not fit the kernel's key".into(),
                }
            }
            other => other.clone(),
        }
    }
}

/// The condition over-approximated as a set of targets (`None`: any target).
fn abstract_target(node: &Node, evt_type: &str, positive: bool) -> Option<BTreeSet<String>> {
    let and = |a: Option<BTreeSet<String>>, b: Option<BTreeSet<String>>| match (a, b) {
        (Some(a), Some(b)) => Some(a.intersection(&b).cloned().collect()),
        (a, b) => a.or(b),
    };
    let or = |a: Option<BTreeSet<String>>, b: Option<BTreeSet<String>>| match (a, b) {
        (Some(mut a), Some(b)) => {
            a.extend(b);
            Some(a)
        }
        _ => None,
    };
    match node {
        Node::And(items) if positive => items
            .iter()
            .fold(None, |acc, n| and(acc, abstract_target(n, evt_type, true))),
        Node::Or(items) if !positive => items
            .iter()
            .fold(None, |acc, n| and(acc, abstract_target(n, evt_type, false))),
        Node::Or(items) | Node::And(items) => items.iter().try_fold(BTreeSet::new(), |acc, n| {
            or(Some(acc), abstract_target(n, evt_type, positive))
        }),
        Node::Not(n) => abstract_target(n, evt_type, !positive),
        Node::Check(c) => {
            let Lhs::Field(f) = &c.lhs else {
                return None;
            };
            match f.id {
                FieldId::EvtType | FieldId::EvtSyscalltype => {
                    let ev = crate::Event {
                        evt_type: evt_type.to_owned().into(),
                        ..crate::Event::default()
                    };
                    if c.eval(&ev) == positive {
                        None
                    } else {
                        Some(BTreeSet::new())
                    }
                }
                FieldId::EvtArg
                    if positive
                        && !c.negate
                        && matches!(&f.arg, crate::fields::FieldArg::Key(k) if k == "target") =>
                {
                    rhs_strings(c).map(|v| v.into_iter().collect())
                }
                _ => None,
            }
        }
    }
}
