//! Maven versions, after `org.apache.maven.artifact.versioning.ComparableVersion` of Maven 3.9
//! (the same rules as Debian's 3.8.7, which has the 3.9 fixes MNG-6964 and MNG-7644).
//!
//! Written by hand: no crate reproduces `ComparableVersion`. Any text is a version. It is
//! lowercased and split into items at `.`, at `-` (which opens a sub-list) and where digits and
//! letters meet (which opens a sub-list too); a qualifier directly followed by a digit is
//! spelled out when it is `a`, `b` or `m` (alpha, beta, milestone); `ga`, `final` and
//! `release` are the empty qualifier, `cr` is `rc`. Trailing "null" items (0, the empty
//! qualifier, empty lists) are dropped from every list. Items compare: known qualifiers
//! `alpha < beta < milestone < rc < snapshot < "" < sp` before any other qualifier (those in
//! lexical order); qualifier < list < number; a missing item compares like 0.
//!
//! Known differences: Maven counts every Unicode decimal digit as a digit; only ASCII digits
//! are digits here (other digits are letters of a qualifier). Maven's order is not transitive
//! (`1 < 1-sp < 1-0-rc < 1`, and `1.0.1 > 1.ga.1` although `0` and `ga` are both "nothing"):
//! items of different kinds order here by how they compare with a missing item first, which
//! makes the order total and differs from Maven only on such pairs
//! ([`crate::maven_comparable_version`] gives Maven's exact answer).

use crate::num::{cmp_digits, is_zero, slice};
use std::cmp::Ordering;
use std::ops::Range;

/// The known qualifiers, in order; the empty one is [`RELEASE`].
const QUALIFIERS: [&str; 7] = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];
const RELEASE: u8 = 5;

/// One item of a flattened version: a sub-list runs from its `Sub` marker to the end of the
/// list that contains it (Maven only ever opens a sub-list as the last item of a list).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    /// Digits of the lowercased text (leading zeros kept; empty for an empty item).
    Number(Range<usize>),
    /// A known qualifier's index in [`QUALIFIERS`].
    Known(u8),
    /// Another qualifier: a range of the lowercased text.
    Other(Range<usize>),
    /// The start of a sub-list.
    Sub,
}

/// A parsed Maven version: the lowercased text and its items.
#[derive(Debug, Clone)]
pub(crate) struct Maven {
    lower: Box<str>,
    items: Vec<Item>,
}

pub(crate) fn parse(text: &str) -> Result<Maven, &'static str> {
    let lower: Box<str> = if text.is_ascii() {
        text.to_ascii_lowercase().into()
    } else {
        text.to_lowercase().into()
    };
    let items = items(&lower);
    Ok(Maven { lower, items })
}

/// `ComparableVersion.parseVersion`: a chain of lists, each the last item of the previous one.
fn items(s: &str) -> Vec<Item> {
    // The lists opened so far, outermost first, and the one being filled.
    let mut outer: Vec<Vec<Item>> = Vec::new();
    let mut list: Vec<Item> = Vec::new();
    let mut is_digit = false;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '.' | '-' => {
                list.push(if i == start {
                    Item::Number(i..i)
                } else {
                    parse_item(s, is_digit, start..i, false)
                });
                start = i + 1;
                if c == '-' {
                    outer.push(std::mem::take(&mut list));
                }
            }
            '0'..='9' => {
                if !is_digit && i > start {
                    // "1.0.X1" is read like "1.0-X1".
                    if !list.is_empty() {
                        outer.push(std::mem::take(&mut list));
                    }
                    list.push(parse_item(s, false, start..i, true));
                    start = i;
                    outer.push(std::mem::take(&mut list));
                }
                is_digit = true;
            }
            _ => {
                if is_digit && i > start {
                    list.push(parse_item(s, true, start..i, false));
                    start = i;
                    outer.push(std::mem::take(&mut list));
                }
                is_digit = false;
            }
        }
    }
    if s.len() > start {
        if !is_digit && !list.is_empty() {
            outer.push(std::mem::take(&mut list));
        }
        list.push(parse_item(s, is_digit, start..s.len(), false));
    }
    // `ListItem.normalize`, innermost list first: trailing null items go (0, the empty
    // qualifier, an empty sub-list), walking back over a sub-list that is not empty.
    normalize(s, &mut list);
    while let Some(mut parent) = outer.pop() {
        normalize(s, &mut parent);
        if !list.is_empty() {
            parent.push(Item::Sub);
            parent.append(&mut list);
        }
        list = parent;
    }
    list
}

/// Drops the null items at the end of a list's own items (before its sub-list).
fn normalize(s: &str, own: &mut Vec<Item>) {
    while own.last().is_some_and(|item| match item {
        Item::Number(r) => is_zero(slice(s.as_bytes(), r.clone())),
        Item::Known(q) => *q == RELEASE,
        Item::Other(_) | Item::Sub => false,
    }) {
        own.pop();
    }
}

fn parse_item(s: &str, is_digit: bool, range: Range<usize>, followed_by_digit: bool) -> Item {
    if is_digit {
        return Item::Number(range);
    }
    let text = s.get(range.clone()).unwrap_or_default();
    let text = match text {
        "a" if followed_by_digit => "alpha",
        "b" if followed_by_digit => "beta",
        "m" if followed_by_digit => "milestone",
        "ga" | "final" | "release" => "",
        "cr" => "rc",
        t => t,
    };
    match QUALIFIERS.iter().position(|q| *q == text) {
        Some(i) => Item::Known(i as u8),
        None => Item::Other(range),
    }
}

/// An item of a list as `compareTo` sees it: a sub-list is the rest of the flat slice.
#[derive(Clone, Copy)]
enum View<'a> {
    Number(&'a [u8]),
    Known(u8),
    Other(&'a str),
    List(&'a [Item]),
}

/// The items of one list, a sub-list as its last item.
struct ListIter<'a> {
    s: &'a str,
    items: &'a [Item],
}

impl<'a> Iterator for ListIter<'a> {
    type Item = View<'a>;

    fn next(&mut self) -> Option<View<'a>> {
        let (first, rest) = self.items.split_first()?;
        self.items = rest;
        Some(match first {
            Item::Number(r) => View::Number(slice(self.s.as_bytes(), r.clone())),
            Item::Known(q) => View::Known(*q),
            Item::Other(r) => View::Other(self.s.get(r.clone()).unwrap_or_default()),
            Item::Sub => {
                let list = View::List(rest);
                self.items = &[];
                list
            }
        })
    }
}

/// `comparableQualifier` order: known ones by index, then the others by UTF-16 units.
fn cmp_qualifiers(p: Qualifier, q: Qualifier) -> Ordering {
    match (p, q) {
        (Qualifier::Known(x), Qualifier::Known(y)) => x.cmp(&y),
        (Qualifier::Known(_), Qualifier::Other(_)) => Ordering::Less,
        (Qualifier::Other(_), Qualifier::Known(_)) => Ordering::Greater,
        (Qualifier::Other(x), Qualifier::Other(y)) => x.encode_utf16().cmp(y.encode_utf16()),
    }
}

#[derive(Clone, Copy)]
enum Qualifier<'a> {
    Known(u8),
    Other(&'a str),
}

/// `item.compareTo(null)`: how an item compares with a missing one.
fn cmp_null(s: &str, item: View) -> Ordering {
    match item {
        View::Number(d) => {
            if is_zero(d) {
                Ordering::Equal
            } else {
                Ordering::Greater
            }
        }
        View::Known(q) => q.cmp(&RELEASE),
        View::Other(_) => Ordering::Greater,
        View::List(items) => ListIter { s, items }
            .map(|item| cmp_null(s, item))
            .find(|o| *o != Ordering::Equal)
            .unwrap_or(Ordering::Equal),
    }
}

/// Items of different kinds: Maven's fixed order (qualifier < list < number) is not
/// transitive together with its comparisons against a missing item (`1 < 1-sp < 1-0-rc < 1`
/// with Maven's own jar). Here they order first by how they compare with a missing item, and
/// only then by Maven's order of kinds, which makes the order total; `exact` keeps Maven's.
fn cmp_kinds(a: &str, x: View, b: &str, y: View, exact: bool) -> Ordering {
    let rank = |v: &View| match v {
        View::Known(_) | View::Other(_) => 0,
        View::List(_) => 1,
        View::Number(_) => 2,
    };
    if exact {
        return rank(&x).cmp(&rank(&y));
    }
    let (cx, cy) = (cmp_null(a, x), cmp_null(b, y));
    if cx != cy {
        cx.cmp(&cy)
    } else if cx == Ordering::Equal {
        Ordering::Equal
    } else {
        rank(&x).cmp(&rank(&y))
    }
}

fn cmp_items(a: &str, x: View, b: &str, y: View, exact: bool) -> Ordering {
    match (x, y) {
        (View::Number(p), View::Number(q)) => cmp_digits(p, q),
        (View::Known(p), View::Known(q)) => {
            cmp_qualifiers(Qualifier::Known(p), Qualifier::Known(q))
        }
        (View::Known(p), View::Other(q)) => {
            cmp_qualifiers(Qualifier::Known(p), Qualifier::Other(q))
        }
        (View::Other(p), View::Known(q)) => {
            cmp_qualifiers(Qualifier::Other(p), Qualifier::Known(q))
        }
        (View::Other(p), View::Other(q)) => {
            cmp_qualifiers(Qualifier::Other(p), Qualifier::Other(q))
        }
        (View::List(p), View::List(q)) => cmp_lists(a, p, b, q, exact),
        (x, y) => cmp_kinds(a, x, b, y, exact),
    }
}

fn cmp_lists(a: &str, p: &[Item], b: &str, q: &[Item], exact: bool) -> Ordering {
    let (mut l, mut r) = (ListIter { s: a, items: p }, ListIter { s: b, items: q });
    loop {
        let order = match (l.next(), r.next()) {
            (None, None) => return Ordering::Equal,
            (Some(x), None) => cmp_null(a, x),
            (None, Some(y)) => cmp_null(b, y).reverse(),
            (Some(x), Some(y)) => cmp_items(a, x, b, y, exact),
        };
        if order != Ordering::Equal {
            return order;
        }
    }
}

pub(crate) fn compare(_: &[u8], x: &Maven, _: &[u8], y: &Maven) -> Ordering {
    cmp_lists(&x.lower, &x.items, &y.lower, &y.items, false)
}

/// `ComparableVersion.compareTo` exactly, not transitive (see [`cmp_kinds`]).
pub(crate) fn compare_exact(x: &Maven, y: &Maven) -> Ordering {
    cmp_lists(&x.lower, &x.items, &y.lower, &y.items, true)
}
