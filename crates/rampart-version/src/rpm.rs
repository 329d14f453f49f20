//! RPM versions `[epoch:]version[-release]`, split like rpm's `parseEVR` (the epoch is the
//! leading digits before a `:`, the release what follows the last `-`) and compared with
//! `rpmvercmp` of rpm >= 4.15 (`~` sorts before everything, even the end; `^` after the end
//! but before anything else), epoch first, as `rpm.labelCompare` does.
//!
//! Written by hand: the `rpmvercmp`-style crates found either predate `^` or do not split an
//! EVR like rpm. rpm accepts any text whose version part is not empty (and without a NUL
//! byte, which no C string carries). A missing epoch is 0; a missing release sorts before any release, even an empty
//! one (`labelCompare` with a `None` release), which keeps the order total where rpm's own
//! `rpmverCmp` would let `1.0` match every `1.0-*`.

use crate::num::{cmp_digits, slice, span};
use std::cmp::Ordering;
use std::ops::Range;

/// A parsed EVR: ranges of the text (the epoch empty when absent or written `:`).
#[derive(Debug, Clone)]
pub(crate) struct Rpm {
    epoch: Range<usize>,
    version: Range<usize>,
    release: Option<Range<usize>>,
}

pub(crate) fn parse(text: &str) -> Result<Rpm, &'static str> {
    let s = text.as_bytes();
    if s.is_empty() {
        return Err("the version is empty");
    }
    if s.contains(&0) {
        return Err("a NUL byte is not allowed");
    }
    let digits = span(s, 0, |c| c.is_ascii_digit());
    let hyphen = slice(s, digits..s.len())
        .iter()
        .rposition(|&c| c == b'-')
        .map(|p| digits + p);
    let (epoch, version_start) = if s.get(digits) == Some(&b':') {
        (0..digits, digits + 1)
    } else {
        (0..0, 0)
    };
    let (version, release) = match hyphen {
        Some(h) => (version_start..h, Some(h + 1..s.len())),
        None => (version_start..s.len(), None),
    };
    if version.is_empty() {
        return Err("the version part is empty");
    }
    Ok(Rpm {
        epoch,
        version,
        release,
    })
}

pub(crate) fn compare(a: &[u8], x: &Rpm, b: &[u8], y: &Rpm) -> Ordering {
    cmp_digits(slice(a, x.epoch.clone()), slice(b, y.epoch.clone()))
        .then_with(|| rpmvercmp(slice(a, x.version.clone()), slice(b, y.version.clone())))
        .then_with(|| match (&x.release, &y.release) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(p), Some(q)) => rpmvercmp(slice(a, p.clone()), slice(b, q.clone())),
        })
}

/// The pieces `rpmvercmp` compares, in their order where two differ in kind.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Token<'a> {
    Tilde,
    End,
    Caret,
    Alpha(&'a [u8]),
    Number(&'a [u8]),
}

/// The next token of `s` from `*i`; bytes that are neither ASCII alphanumerics nor `~`/`^`
/// only separate.
fn next_token<'a>(s: &'a [u8], i: &mut usize) -> Token<'a> {
    *i += span(s, *i, |c| {
        !c.is_ascii_alphanumeric() && c != b'~' && c != b'^'
    });
    let start = *i;
    match s.get(start) {
        None => Token::End,
        Some(b'~') => {
            *i += 1;
            Token::Tilde
        }
        Some(b'^') => {
            *i += 1;
            Token::Caret
        }
        Some(c) if c.is_ascii_digit() => {
            *i += span(s, start, |c| c.is_ascii_digit());
            Token::Number(slice(s, start..*i))
        }
        Some(_) => {
            *i += span(s, start, |c| c.is_ascii_alphabetic());
            Token::Alpha(slice(s, start..*i))
        }
    }
}

/// rpm's `rpmvercmp`, as a walk over both token streams.
fn rpmvercmp(a: &[u8], b: &[u8]) -> Ordering {
    let (mut i, mut j) = (0, 0);
    loop {
        let (x, y) = (next_token(a, &mut i), next_token(b, &mut j));
        let order = match (&x, &y) {
            (Token::Number(p), Token::Number(q)) => cmp_digits(p, q),
            _ => x.cmp(&y),
        };
        if order != Ordering::Equal || x == Token::End {
            return order;
        }
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
    fn rpmvercmp_rules() {
        use Ordering::*;
        for (a, b, want) in [
            ("1.0", "1.0", Equal),
            ("1.0", "2.0", Less),
            ("2.0.1", "2.0", Greater),
            ("5.5p1", "5.5p10", Less),
            ("10xyz", "10.1xyz", Less),
            ("xyz10", "xyz10.1", Less),
            ("1.0~rc1", "1.0", Less),
            ("1.0~rc1", "1.0~rc1~git", Greater),
            ("1.0^", "1.0", Greater),
            ("1.0^git1", "1.0.1", Less),
            ("1.0^git1~pre", "1.0^git1", Less),
            ("1a", "1.a", Equal),
            ("1.0a", "1.0", Greater),
            ("a", "1", Less),
            ("1_0", "1.0", Equal),
            ("1:1.0", "2.0", Greater),
            ("0:1.0-1", "1.0-1", Equal),
            ("1.0", "1.0-1", Less),
            ("1.0-", "1.0", Greater),
            ("1.0-1.el9", "1.0-1.el9_2", Less),
        ] {
            assert_eq!(cmp(a, b), want, "{a} vs {b}");
        }
    }
}
