//! PEP 440 versions, accepted and ordered exactly like Python's `packaging.version.Version`
//! (packaging 26, whose pattern is ASCII-only and whose quantifiers are possessive):
//! `[v][N!]N(.N)*[{a|b|rc}N][.postN][.devN][+local]` with the implicit and alternative spellings
//! (`alpha`, `c`, `pre`, `preview`, `rev`, `r`, `1.0-1`, separators `.`, `-`, `_` or none, a
//! missing number is 0), any case, surrounding Unicode white space.
//!
//! Written by hand: `pep440_rs` (uv's) stores numbers in `u64` and so refuses versions that
//! packaging accepts (numbers of any size), and trims other white space than Python's `\s`.
//! Numbers here are digit runs of any length compared by value, but like CPython (3.11+) a
//! number longer than 4300 digits is refused (`int()`'s limit).
//!
//! Order: epoch, release with trailing zeros ignored, then dev-only releases < a < b < rc <
//! final < post (a dev release before its non-dev form), then no local < local, local
//! segments compared pairwise, strings (lowercased) before numbers.

use crate::num::{cmp_digits, is_zero, slice, span};
use std::cmp::Ordering;
use std::ops::Range;

/// CPython's default `sys.get_int_max_str_digits()`.
const MAX_DIGITS: usize = 4300;

/// A parsed PEP 440 version; every range points into the text.
#[derive(Debug, Clone)]
pub(crate) struct Pep440 {
    epoch: Range<usize>,
    /// The release numbers, trailing zeros already dropped.
    release: Vec<Range<usize>>,
    /// Pre-release rank (0 a, 1 b, 2 rc) and number.
    pre: Option<(u8, Range<usize>)>,
    post: Option<Range<usize>>,
    dev: Option<Range<usize>>,
    local: Option<Range<usize>>,
}

/// Python's `str.isspace`, what `\s` matches in a `str` pattern.
fn is_py_space(c: char) -> bool {
    matches!(
        c,
        '\t'..='\r'
            | '\u{1c}'..=' '
            | '\u{85}'
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200a}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{3000}'
    )
}

fn is_sep(c: u8) -> bool {
    matches!(c, b'.' | b'-' | b'_')
}

/// A parser over the trimmed text, positions absolute in the whole text.
struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
    end: usize,
}

impl Cursor<'_> {
    fn peek(&self, k: usize) -> Option<u8> {
        if self.i + k < self.end {
            self.s.get(self.i + k).copied()
        } else {
            None
        }
    }

    /// Digits from `at`: their count (none is 0).
    fn digits_at(&self, at: usize) -> usize {
        span(self.s, at, |c| c.is_ascii_digit()).min(self.end.saturating_sub(at))
    }

    /// An optional separator, then one of `words` (case-insensitive, the longest first), then
    /// an optional separator and optional digits. Returns the word's index and the number's
    /// range, and moves past it all; moves nowhere when no word follows.
    fn label(&mut self, words: &[&[u8]]) -> Option<(usize, Range<usize>)> {
        let mut at = self.i;
        if self.peek(0).is_some_and(is_sep) {
            at += 1;
        }
        let (index, word) = words.iter().enumerate().find(|(_, w)| {
            at + w.len() <= self.end && slice(self.s, at..at + w.len()).eq_ignore_ascii_case(w)
        })?;
        at += word.len();
        if at < self.end && self.s.get(at).copied().is_some_and(is_sep) {
            at += 1;
        }
        let n = self.digits_at(at);
        self.i = at + n;
        Some((index, at..at + n))
    }
}

pub(crate) fn parse(text: &str) -> Result<Pep440, &'static str> {
    const INVALID: &str = "not a PEP 440 version";
    let trimmed = text.trim_matches(is_py_space);
    let start = trimmed.as_ptr() as usize - text.as_ptr() as usize;
    let s = text.as_bytes();
    let mut c = Cursor {
        s,
        i: start,
        end: start + trimmed.len(),
    };
    if matches!(c.peek(0), Some(b'v' | b'V')) {
        c.i += 1;
    }
    // Epoch, then the release.
    let mut epoch = 0..0;
    let n = c.digits_at(c.i);
    if n > 0 && c.peek(n) == Some(b'!') {
        epoch = c.i..c.i + n;
        c.i += n + 1;
    }
    let mut release = Vec::new();
    loop {
        let n = c.digits_at(c.i);
        if n == 0 {
            return Err(INVALID);
        }
        release.push(c.i..c.i + n);
        c.i += n;
        if c.peek(0) == Some(b'.') && c.peek(1).is_some_and(|d| d.is_ascii_digit()) {
            c.i += 1;
        } else {
            break;
        }
    }
    while release.last().is_some_and(|r| is_zero(slice(s, r.clone()))) {
        release.pop();
    }
    // Pre-release: alpha|a|beta|b|preview|pre|c|rc (longest first where one is a prefix).
    let pre = c
        .label(&[
            b"alpha", b"a", b"beta", b"b", b"preview", b"pre", b"c", b"rc",
        ])
        .map(|(index, n)| {
            let rank = match index {
                0 | 1 => 0,
                2 | 3 => 1,
                _ => 2,
            };
            (rank, n)
        });
    // Post-release: -N, or post|rev|r.
    let mut post = None;
    let n = c.digits_at(c.i + 1);
    if c.peek(0) == Some(b'-') && n > 0 {
        post = Some(c.i + 1..c.i + 1 + n);
        c.i += 1 + n;
    } else if let Some((_, n)) = c.label(&[b"post", b"rev", b"r"]) {
        post = Some(n);
    }
    let dev = c.label(&[b"dev"]).map(|(_, n)| n);
    let mut local = None;
    if c.peek(0) == Some(b'+') {
        c.i += 1;
        let begin = c.i;
        loop {
            let n = span(s, c.i, |b| b.is_ascii_alphanumeric()).min(c.end - c.i);
            if n == 0 {
                return Err(INVALID);
            }
            c.i += n;
            if c.peek(0).is_some_and(is_sep) && c.peek(1).is_some_and(|b| b.is_ascii_alphanumeric())
            {
                c.i += 1;
            } else {
                break;
            }
        }
        local = Some(begin..c.i);
    }
    if c.i != c.end {
        return Err(INVALID);
    }
    let too_long = |r: &Range<usize>| r.len() > MAX_DIGITS;
    let local_too_long = local.as_ref().is_some_and(|l| {
        slice(s, l.clone())
            .split(|&b| is_sep(b))
            .any(|p| p.len() > MAX_DIGITS && p.iter().all(u8::is_ascii_digit))
    });
    if too_long(&epoch)
        || release.iter().any(too_long)
        || pre.as_ref().is_some_and(|(_, n)| too_long(n))
        || post.as_ref().is_some_and(too_long)
        || dev.as_ref().is_some_and(too_long)
        || local_too_long
    {
        return Err("a number has more than 4300 digits");
    }
    Ok(Pep440 {
        epoch,
        release,
        pre,
        post,
        dev,
        local,
    })
}

/// The pre-release rank packaging sorts by: dev-only -1, a 0, b 1, rc 2, none 3.
fn pre_rank(v: &Pep440) -> i8 {
    match (&v.pre, &v.post, &v.dev) {
        (Some((rank, _)), _, _) => *rank as i8,
        (None, None, Some(_)) => -1,
        (None, _, _) => 3,
    }
}

pub(crate) fn compare(a: &[u8], x: &Pep440, b: &[u8], y: &Pep440) -> Ordering {
    let digits =
        |p: &Range<usize>, q: &Range<usize>| cmp_digits(slice(a, p.clone()), slice(b, q.clone()));
    let opt = |p: &Option<Range<usize>>, q: &Option<Range<usize>>, none: Ordering| match (p, q) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => none,
        (Some(_), None) => none.reverse(),
        (Some(p), Some(q)) => digits(p, q),
    };
    digits(&x.epoch, &y.epoch)
        .then_with(|| {
            let (mut p, mut q) = (x.release.iter(), y.release.iter());
            loop {
                match (p.next(), q.next()) {
                    (None, None) => return Ordering::Equal,
                    (None, Some(_)) => return Ordering::Less,
                    (Some(_), None) => return Ordering::Greater,
                    (Some(l), Some(r)) => match digits(l, r) {
                        Ordering::Equal => continue,
                        other => return other,
                    },
                }
            }
        })
        .then_with(|| pre_rank(x).cmp(&pre_rank(y)))
        .then_with(|| match (&x.pre, &y.pre) {
            (Some((_, p)), Some((_, q))) => digits(p, q),
            _ => Ordering::Equal,
        })
        // No post release sorts first; no dev release sorts last.
        .then_with(|| opt(&x.post, &y.post, Ordering::Less))
        .then_with(|| opt(&x.dev, &y.dev, Ordering::Greater))
        .then_with(|| match (&x.local, &y.local) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(p), Some(q)) => compare_local(slice(a, p.clone()), slice(b, q.clone())),
        })
}

/// Local segments pairwise: numbers by value after strings, strings lowercased; a prefix
/// sorts first.
fn compare_local(p: &[u8], q: &[u8]) -> Ordering {
    let mut p = p.split(|&c| is_sep(c));
    let mut q = q.split(|&c| is_sep(c));
    loop {
        let (l, r) = match (p.next(), q.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(l), Some(r)) => (l, r),
        };
        let ln = l.iter().all(u8::is_ascii_digit);
        let rn = r.iter().all(u8::is_ascii_digit);
        let order = match (ln, rn) {
            (true, true) => cmp_digits(l, r),
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => l
                .iter()
                .map(u8::to_ascii_lowercase)
                .cmp(r.iter().map(u8::to_ascii_lowercase)),
        };
        if order != Ordering::Equal {
            return order;
        }
    }
}
