//! Debian versions, after dpkg's `parseversion` and `verrevcmp` (lib/dpkg/parsehelp.c and
//! lib/dpkg/version.c; Debian policy 5.6.12).
//!
//! Written by hand: the `debversion` and `deb-version` crates compare like dpkg but do not
//! reproduce its acceptance (dpkg only warns about bad characters or an upstream version not
//! starting with a digit, and still compares; it rejects an empty version, a bad epoch, an
//! empty revision and embedded blanks), nor its order of bytes above 0x7f.
//!
//! Rejected like `parseversion` errors: empty or blank, embedded blanks, an epoch that is
//! empty, not a number, negative or above `INT_MAX`, nothing after the colon, an empty
//! revision or upstream version. Also rejected: a NUL byte, which no C string can carry.

use crate::num::slice;
use std::cmp::Ordering;
use std::ops::Range;

/// A parsed Debian version: epoch, and where upstream version and revision are in the text.
#[derive(Debug, Clone)]
pub(crate) struct Dpkg {
    epoch: u32,
    upstream: Range<usize>,
    revision: Range<usize>,
}

/// dpkg's `c_isblank`: the blanks trimmed around a version and refused inside it.
fn is_blank(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

/// C's `isspace`, which `strtol` skips before the epoch's digits.
fn is_c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

pub(crate) fn parse(text: &str) -> Result<Dpkg, &'static str> {
    let s = text.as_bytes();
    if s.contains(&0) {
        return Err("a NUL byte is not allowed");
    }
    let start = s.iter().take_while(|&&c| is_blank(c)).count();
    if start == s.len() {
        return Err("version string is empty");
    }
    let end = s.len() - s.iter().rev().take_while(|&&c| is_blank(c)).count();
    let body = slice(s, start..end);
    if body.iter().any(|&c| is_blank(c)) {
        return Err("version string has embedded spaces");
    }
    let (epoch, version_start) = match body.iter().position(|&c| c == b':') {
        None => (0, start),
        Some(colon) => (parse_epoch(slice(body, 0..colon))?, start + colon + 1),
    };
    if version_start == end {
        return Err("nothing after colon in version number");
    }
    let version = slice(s, version_start..end);
    let (upstream, revision) = match version.iter().rposition(|&c| c == b'-') {
        None => (version_start..end, end..end),
        Some(hyphen) => {
            let hyphen = version_start + hyphen;
            if hyphen + 1 == end {
                return Err("revision number is empty");
            }
            (version_start..hyphen, hyphen + 1..end)
        }
    };
    if upstream.is_empty() {
        return Err("version number is empty");
    }
    Ok(Dpkg {
        epoch,
        upstream,
        revision,
    })
}

/// The epoch before the colon, read like `strtol` (space, an optional sign, digits).
fn parse_epoch(s: &[u8]) -> Result<u32, &'static str> {
    let mut i = s.iter().take_while(|&&c| is_c_space(c)).count();
    let negative = s.get(i) == Some(&b'-');
    if matches!(s.get(i), Some(b'-' | b'+')) {
        i += 1;
    }
    let digits = slice(s, i..s.len());
    if digits.is_empty() || !digits.first().is_some_and(u8::is_ascii_digit) {
        return Err("epoch in version is empty");
    }
    if !digits.iter().all(u8::is_ascii_digit) {
        return Err("epoch in version is not number");
    }
    let value = digits.iter().try_fold(0u64, |v, &c| {
        v.checked_mul(10)?.checked_add(u64::from(c - b'0'))
    });
    match value {
        Some(0) => Ok(0),
        Some(_) | None if negative => Err("epoch in version is negative"),
        Some(v) => u32::try_from(v)
            .ok()
            .filter(|&v| v <= i32::MAX as u32)
            .ok_or("epoch in version is too big"),
        None => Err("epoch in version is too big"),
    }
}

pub(crate) fn compare(a: &[u8], x: &Dpkg, b: &[u8], y: &Dpkg) -> Ordering {
    x.epoch
        .cmp(&y.epoch)
        .then_with(|| verrevcmp(slice(a, x.upstream.clone()), slice(b, y.upstream.clone())))
        .then_with(|| verrevcmp(slice(a, x.revision.clone()), slice(b, y.revision.clone())))
}

/// dpkg's weight of a byte outside digit runs: `~` first, then the end, letters, bytes above
/// 0x7f (a signed `char` plus 256), then the other ASCII symbols.
fn order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() || c >= 0x80 => i32::from(c),
        Some(b'~') => -1,
        Some(c) => i32::from(c) + 256,
    }
}

/// dpkg's `verrevcmp`: alternating non-digit runs (by [`order`]) and digit runs (by value).
fn verrevcmp(a: &[u8], b: &[u8]) -> Ordering {
    let (mut i, mut j) = (0, 0);
    let digit = |s: &[u8], k: usize| s.get(k).is_some_and(u8::is_ascii_digit);
    while i < a.len() || j < b.len() {
        while (i < a.len() && !digit(a, i)) || (j < b.len() && !digit(b, j)) {
            let (ac, bc) = (order(a.get(i).copied()), order(b.get(j).copied()));
            if ac != bc {
                return ac.cmp(&bc);
            }
            i += 1;
            j += 1;
        }
        while a.get(i) == Some(&b'0') {
            i += 1;
        }
        while b.get(j) == Some(&b'0') {
            j += 1;
        }
        let mut first_diff = Ordering::Equal;
        while digit(a, i) && digit(b, j) {
            if first_diff == Ordering::Equal {
                first_diff = a.get(i).cmp(&b.get(j));
            }
            i += 1;
            j += 1;
        }
        if digit(a, i) {
            return Ordering::Greater;
        }
        if digit(b, j) {
            return Ordering::Less;
        }
        if first_diff != Ordering::Equal {
            return first_diff;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        let (x, y) = (parse(a).unwrap(), parse(b).unwrap());
        compare(a.as_bytes(), &x, b.as_bytes(), &y)
    }

    #[test]
    fn policy_examples() {
        use Ordering::*;
        for (a, b, want) in [
            ("1.0~rc1", "1.0", Less),
            ("1.0~~", "1.0~", Less),
            ("1.0~~a", "1.0~~", Greater),
            ("1.0", "1.0+b1", Less),
            ("1.0", "1.0-0", Equal),
            ("1:0.1", "2.0", Greater),
            ("0:1.0", "1.0", Equal),
            ("1.0a", "1.0+", Less),
            ("1.01", "1.1", Equal),
            ("2.30", "2.4", Greater),
            ("1.0-1ubuntu1", "1.0-1", Greater),
            (" 1.0 ", "1.0", Equal),
            ("+1:2", "1:2", Equal),
        ] {
            assert_eq!(cmp(a, b), want, "{a} vs {b}");
        }
    }

    #[test]
    fn rejects_like_dpkg() {
        for bad in [
            "",
            "  ",
            "1 0",
            "a:1",
            ":1",
            "1:",
            "-1:1",
            "1.0-",
            "-1",
            "1:-1",
            "99999999999:1",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        for ok in ["abc", "1.0$", "-0:1", "1:2:3", "1-2-3"] {
            assert!(parse(ok).is_ok(), "{ok:?}");
        }
    }
}
