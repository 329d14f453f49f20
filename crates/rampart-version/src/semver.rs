//! Semantic Versioning 2.0.0, accepted and ordered exactly like the npm `semver` package's
//! `compare` in strict mode (what npm itself runs), with a leading `v` (Go's `v1.2.3`).
//!
//! Written by hand: the `semver` crate rejects a leading `v`, orders build metadata (npm
//! ignores it) and compares huge numeric pre-release identifiers exactly where npm compares
//! them as JavaScript numbers.
//!
//! npm's rules, reproduced: the text is trimmed of JavaScript white space and may be 256 UTF-16
//! units long at most (before trimming); major, minor and patch have no leading zero and are at
//! most 2^53 - 1; pre-release identifiers are `[0-9A-Za-z-]+`, numeric ones without a leading
//! zero; numeric identifiers sort before the others and compare as JavaScript numbers (so
//! identifiers above 2^53 that round to the same double are equal); the others compare by
//! UTF-16 units (ASCII here). The one deliberate difference: where npm stops at the first such
//! pair of equal-rounding but differently written numbers and calls the versions equal, this
//! goes on to the next identifier, because npm's shortcut is not transitive and an `Ord` must be.

use crate::num::{slice, span};
use std::cmp::Ordering;
use std::ops::Range;

/// npm's `MAX_SAFE_INTEGER`: larger major, minor or patch numbers are refused.
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;
/// npm's `MAX_LENGTH`, in UTF-16 units of the untrimmed text.
const MAX_LENGTH: usize = 256;

/// A parsed SemVer version; the pre-release is a range of the text (empty when none).
#[derive(Debug, Clone)]
pub(crate) struct SemVer {
    major: u64,
    minor: u64,
    patch: u64,
    pre: Range<usize>,
}

/// JavaScript's `String.prototype.trim` white space and line terminators.
fn is_js_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200a}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202f}'
                | '\u{205f}'
                | '\u{3000}'
                | '\u{feff}'
    )
}

fn is_ident_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-'
}

pub(crate) fn parse(text: &str) -> Result<SemVer, &'static str> {
    if text.len() > MAX_LENGTH && text.encode_utf16().count() > MAX_LENGTH {
        return Err("longer than 256 characters");
    }
    let trimmed = text.trim_matches(is_js_space);
    let offset = trimmed.as_ptr() as usize - text.as_ptr() as usize;
    let s = text.as_bytes();
    let end = offset + trimmed.len();
    let mut i = offset;
    if s.get(i) == Some(&b'v') {
        i += 1;
    }
    let major = number(s, &mut i)?;
    expect_dot(s, &mut i)?;
    let minor = number(s, &mut i)?;
    expect_dot(s, &mut i)?;
    let patch = number(s, &mut i)?;
    let mut pre = i..i;
    if i < end && s.get(i) == Some(&b'-') {
        i += 1;
        let start = i;
        identifiers(s, &mut i, end, true)?;
        pre = start..i;
    }
    if i < end && s.get(i) == Some(&b'+') {
        i += 1;
        identifiers(s, &mut i, end, false)?;
    }
    if i != end {
        return Err("expected major.minor.patch[-prerelease][+build]");
    }
    Ok(SemVer {
        major,
        minor,
        patch,
        pre,
    })
}

fn expect_dot(s: &[u8], i: &mut usize) -> Result<(), &'static str> {
    if s.get(*i) == Some(&b'.') {
        *i += 1;
        Ok(())
    } else {
        Err("expected major.minor.patch")
    }
}

/// A version number: `0` or digits without a leading zero, at most 2^53 - 1.
fn number(s: &[u8], i: &mut usize) -> Result<u64, &'static str> {
    let n = span(s, *i, |c| c.is_ascii_digit());
    let digits = slice(s, *i..*i + n);
    if n == 0 {
        return Err("expected a number");
    }
    if n > 1 && digits.first() == Some(&b'0') {
        return Err("a number has a leading zero");
    }
    *i += n;
    digits
        .iter()
        .try_fold(0u64, |v, &c| {
            v.checked_mul(10)?.checked_add(u64::from(c - b'0'))
        })
        .filter(|&v| v <= MAX_SAFE_INTEGER)
        .ok_or("a number is above 2^53 - 1")
}

/// Dot-separated identifiers up to `end` or a `+` (pre-release) / `end` (build metadata).
fn identifiers(s: &[u8], i: &mut usize, end: usize, pre: bool) -> Result<(), &'static str> {
    loop {
        let n = span(s, *i, is_ident_byte).min(end - *i);
        let ident = slice(s, *i..*i + n);
        if n == 0 {
            return Err("an identifier is empty");
        }
        if pre && n > 1 && ident.first() == Some(&b'0') && ident.iter().all(u8::is_ascii_digit) {
            return Err("a numeric pre-release identifier has a leading zero");
        }
        *i += n;
        if *i < end && s.get(*i) == Some(&b'.') {
            *i += 1;
        } else {
            return Ok(());
        }
    }
}

pub(crate) fn compare(a: &[u8], x: &SemVer, b: &[u8], y: &SemVer) -> Ordering {
    (x.major, x.minor, x.patch)
        .cmp(&(y.major, y.minor, y.patch))
        .then_with(|| {
            let (p, q) = (slice(a, x.pre.clone()), slice(b, y.pre.clone()));
            match (p.is_empty(), q.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => compare_pre(p, q),
            }
        })
}

fn compare_pre(p: &[u8], q: &[u8]) -> Ordering {
    let mut p = p.split(|&c| c == b'.');
    let mut q = q.split(|&c| c == b'.');
    loop {
        match (p.next(), q.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(l), Some(r)) => match compare_identifiers(l, r) {
                Ordering::Equal => continue,
                other => return other,
            },
        }
    }
}

/// npm's `compareIdentifiers`: numbers first, compared as JavaScript numbers.
fn compare_identifiers(l: &[u8], r: &[u8]) -> Ordering {
    let ln = l.iter().all(u8::is_ascii_digit);
    let rn = r.iter().all(u8::is_ascii_digit);
    match (ln, rn) {
        (true, true) => js_number(l)
            .partial_cmp(&js_number(r))
            .unwrap_or(Ordering::Equal),
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => l.cmp(r),
    }
}

/// JavaScript's `+digits`: the nearest double (exact up to 2^53).
fn js_number(digits: &[u8]) -> f64 {
    if digits.len() <= 15 {
        digits
            .iter()
            .fold(0u64, |v, &c| v * 10 + u64::from(c - b'0')) as f64
    } else {
        std::str::from_utf8(digits)
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
            .unwrap_or(f64::INFINITY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        let (x, y) = (parse(a).unwrap(), parse(b).unwrap());
        compare(a.as_bytes(), &x, b.as_bytes(), &y)
    }

    #[test]
    fn spec_precedence() {
        let chain = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "2.0.0",
            "2.1.0",
            "2.1.1",
        ];
        for w in chain.windows(2) {
            if let [a, b] = w {
                assert_eq!(cmp(a, b), Ordering::Less, "{a} < {b}");
            }
        }
        assert_eq!(cmp("1.0.0+build.1", "1.0.0+other"), Ordering::Equal);
        assert_eq!(cmp("v1.2.3", "1.2.3"), Ordering::Equal);
        assert_eq!(
            cmp(
                "v0.0.0-20191109021931-daa7c04131f5",
                "v0.0.0-20200101000000-000000000000"
            ),
            Ordering::Less
        );
        assert_eq!(
            cmp("1.0.0-9007199254740993", "1.0.0-9007199254740992"),
            Ordering::Equal
        );
    }

    #[test]
    fn rejects_like_npm() {
        for bad in [
            "",
            "1",
            "1.2",
            "01.2.3",
            "1.2.3-01",
            "1.2.3-",
            "1.2.3+",
            "1.2.3-a..b",
            "V1.2.3",
            "=1.2.3",
            "1.2.3.4",
            "9007199254740992.0.0",
            "1.2.3 -a",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        for ok in [
            " 1.2.3 ",
            "1.2.3-0a",
            "1.2.3-a-b.0+001",
            "9007199254740991.0.0",
            "1.2.3--",
        ] {
            assert!(parse(ok).is_ok(), "{ok:?}");
        }
    }
}
