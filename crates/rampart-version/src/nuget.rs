//! NuGet versions, after NuGet.Versioning's `NuGetVersion.TryParse` and `VersionComparer`
//! (learn.microsoft.com, "NuGet package versioning"): `Major[.Minor[.Patch[.Revision]]]`
//! (numbers up to 2^31 - 1, leading zeros tolerated, missing ones 0), an optional
//! `-` pre-release of dot-separated `[0-9A-Za-z-]+` labels (a numeric label without leading
//! zero), an optional `+` metadata, surrounding white space trimmed.
//!
//! Written by hand: no crate implements NuGet's rules. Order: the four numbers, then a release
//! after its pre-releases; labels pairwise: numeric labels (those .NET reads as a 32-bit
//! integer, so `-1` too) before the others and by value, the others case-insensitively; a
//! shorter list of labels first. Metadata is ignored.
//!
//! Stricter than .NET where it is lenient by accident: a sign or white space inside a number
//! (which `System.Version` would accept) is refused.

use crate::num::{slice, span};
use std::cmp::Ordering;
use std::ops::Range;

/// A parsed NuGet version; the labels are a range of the text (empty when none).
#[derive(Debug, Clone)]
pub(crate) struct NuGet {
    numbers: [u32; 4],
    labels: Range<usize>,
}

fn is_label_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-'
}

pub(crate) fn parse(text: &str) -> Result<NuGet, &'static str> {
    let trimmed = text.trim();
    let start = trimmed.as_ptr() as usize - text.as_ptr() as usize;
    let end = start + trimmed.len();
    let s = text.as_bytes();
    let mut numbers = [0u32; 4];
    let mut i = start;
    for (k, number) in numbers.iter_mut().enumerate() {
        let n = span(s, i, |c| c.is_ascii_digit()).min(end - i);
        if n == 0 {
            return Err("expected a number");
        }
        *number = slice(s, i..i + n)
            .iter()
            .try_fold(0u32, |v, &c| {
                v.checked_mul(10)?.checked_add(u32::from(c - b'0'))
            })
            .filter(|&v| v <= i32::MAX as u32)
            .ok_or("a number is above 2147483647")?;
        i += n;
        if k < 3 && i < end && s.get(i) == Some(&b'.') {
            i += 1;
        } else {
            break;
        }
    }
    let mut labels = i..i;
    if i < end && s.get(i) == Some(&b'-') {
        i += 1;
        let begin = i;
        i = dotted(s, i, end, true)?;
        labels = begin..i;
    }
    if i < end && s.get(i) == Some(&b'+') {
        i = dotted(s, i + 1, end, false)?;
    }
    if i != end {
        return Err("expected Major[.Minor[.Patch[.Revision]]][-label][+metadata]");
    }
    Ok(NuGet { numbers, labels })
}

/// Dot-separated non-empty parts from `i`; returns where they end.
fn dotted(s: &[u8], mut i: usize, end: usize, labels: bool) -> Result<usize, &'static str> {
    loop {
        let n = span(s, i, is_label_byte).min(end - i);
        let part = slice(s, i..i + n);
        if n == 0 {
            return Err("a label is empty");
        }
        if labels && n > 1 && part.first() == Some(&b'0') && part.iter().all(u8::is_ascii_digit) {
            return Err("a numeric label has a leading zero");
        }
        i += n;
        if i < end && s.get(i) == Some(&b'.') {
            i += 1;
        } else {
            return Ok(i);
        }
    }
}

/// .NET's `Int32.TryParse` of a label (an optional `-`, digits, in range).
fn int32(label: &[u8]) -> Option<i64> {
    let (negative, digits) = match label.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, label),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let value = digits.iter().try_fold(0i64, |v, &c| {
        v.checked_mul(10)?.checked_add(i64::from(c - b'0'))
    })?;
    let value = if negative { -value } else { value };
    (i64::from(i32::MIN)..=i64::from(i32::MAX))
        .contains(&value)
        .then_some(value)
}

fn compare_label(l: &[u8], r: &[u8]) -> Ordering {
    match (int32(l), int32(r)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => l
            .iter()
            .map(u8::to_ascii_uppercase)
            .cmp(r.iter().map(u8::to_ascii_uppercase)),
    }
}

pub(crate) fn compare(a: &[u8], x: &NuGet, b: &[u8], y: &NuGet) -> Ordering {
    x.numbers.cmp(&y.numbers).then_with(|| {
        let (p, q) = (slice(a, x.labels.clone()), slice(b, y.labels.clone()));
        match (p.is_empty(), q.is_empty()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => {
                let (mut l, mut r) = (p.split(|&c| c == b'.'), q.split(|&c| c == b'.'));
                loop {
                    match (l.next(), r.next()) {
                        (None, None) => return Ordering::Equal,
                        (None, Some(_)) => return Ordering::Less,
                        (Some(_), None) => return Ordering::Greater,
                        (Some(u), Some(v)) => match compare_label(u, v) {
                            Ordering::Equal => continue,
                            other => return other,
                        },
                    }
                }
            }
        }
    })
}
