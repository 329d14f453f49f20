//! RubyGems versions, after `Gem::Version` (`correct?`, `initialize`, `canonical_segments` and
//! `<=>` of RubyGems 3.3 and later).
//!
//! Written by hand: no crate reproduces `Gem::Version`. Accepted:
//! `[0-9]+(\.[0-9a-zA-Z]+)*(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?` between ASCII white space, or
//! white space alone (version `0`). Each `-` reads as `.pre.`; the segments are the runs of
//! digits (numbers) and of letters (strings, prereleases); trailing zeros are dropped from
//! the numeric segments before the first string and from the rest; segments compare
//! pairwise (a missing one is 0), a string before a number, strings byte by byte.

use crate::num::{cmp_digits, is_zero, slice, span};
use std::cmp::Ordering;
use std::ops::Range;

/// A segment: digits or letters of the text, or the `pre` a `-` stands for.
#[derive(Debug, Clone)]
enum Segment {
    Number(Range<usize>),
    Letters(Range<usize>),
    Pre,
}

/// A parsed gem version: its canonical segments.
#[derive(Debug, Clone)]
pub(crate) struct RubyGems {
    segments: Vec<Segment>,
}

/// Ruby's `\s`.
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

pub(crate) fn parse(text: &str) -> Result<RubyGems, &'static str> {
    const INVALID: &str = "malformed version number string";
    let s = text.as_bytes();
    let start = s.iter().take_while(|&&c| is_space(c)).count();
    let end = s.len() - s.iter().rev().take_while(|&&c| is_space(c)).count();
    let end = end.max(start);
    let body = slice(s, start..end);
    if body.is_empty() {
        return Ok(RubyGems {
            segments: Vec::new(),
        });
    }
    // Grammar check.
    let digits = span(body, 0, |c| c.is_ascii_digit());
    if digits == 0 {
        return Err(INVALID);
    }
    let mut i = digits;
    while body.get(i) == Some(&b'.') {
        let n = span(body, i + 1, |c| c.is_ascii_alphanumeric());
        if n == 0 {
            return Err(INVALID);
        }
        i += 1 + n;
    }
    if body.get(i) == Some(&b'-') {
        let part = |c: u8| c.is_ascii_alphanumeric() || c == b'-';
        let n = span(body, i + 1, part);
        if n == 0 {
            return Err(INVALID);
        }
        i += 1 + n;
        while body.get(i) == Some(&b'.') {
            let n = span(body, i + 1, part);
            if n == 0 {
                return Err(INVALID);
            }
            i += 1 + n;
        }
    }
    if i != body.len() {
        return Err(INVALID);
    }
    // Segments, as `_segments` scans them once `-` became `.pre.`.
    let mut segments = Vec::new();
    let mut i = start;
    while i < end {
        let c = s.get(i).copied().unwrap_or_default();
        if c.is_ascii_digit() {
            let n = span(s, i, |c| c.is_ascii_digit());
            segments.push(Segment::Number(i..i + n));
            i += n;
        } else if c.is_ascii_alphabetic() {
            let n = span(s, i, |c| c.is_ascii_alphabetic());
            segments.push(Segment::Letters(i..i + n));
            i += n;
        } else {
            if c == b'-' {
                segments.push(Segment::Pre);
            }
            i += 1;
        }
    }
    // `canonical_segments`: trailing zeros dropped from the numeric part and from the rest.
    let first_string = segments
        .iter()
        .position(|seg| !matches!(seg, Segment::Number(_)))
        .unwrap_or(segments.len());
    let is_zero_segment =
        |seg: &Segment| matches!(seg, Segment::Number(r) if is_zero(slice(s, r.clone())));
    let mut rest = segments.split_off(first_string);
    while rest.last().is_some_and(is_zero_segment) {
        rest.pop();
    }
    while segments.last().is_some_and(is_zero_segment) {
        segments.pop();
    }
    segments.append(&mut rest);
    Ok(RubyGems { segments })
}

/// A segment's value: digits or letters.
enum Value<'a> {
    Number(&'a [u8]),
    String(&'a [u8]),
}

fn value<'a>(s: &'a [u8], seg: Option<&Segment>) -> Value<'a> {
    match seg {
        None => Value::Number(b"0"),
        Some(Segment::Number(r)) => Value::Number(slice(s, r.clone())),
        Some(Segment::Letters(r)) => Value::String(slice(s, r.clone())),
        Some(Segment::Pre) => Value::String(b"pre"),
    }
}

pub(crate) fn compare(a: &[u8], x: &RubyGems, b: &[u8], y: &RubyGems) -> Ordering {
    let n = x.segments.len().max(y.segments.len());
    for i in 0..n {
        let order = match (value(a, x.segments.get(i)), value(b, y.segments.get(i))) {
            (Value::Number(p), Value::Number(q)) => cmp_digits(p, q),
            (Value::String(_), Value::Number(_)) => Ordering::Less,
            (Value::Number(_), Value::String(_)) => Ordering::Greater,
            (Value::String(p), Value::String(q)) => p.cmp(q),
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    Ordering::Equal
}
