//! Alpine versions, after apk-tools' src/version.c (`apk_version_validate` and
//! `apk_version_compare`): `digits{.digits}[letter]{_suffix[digits]}[~hash][-rdigits]`.
//!
//! Written by hand: no maintained crate implements apk's ordering. Its rules, reproduced:
//! - suffixes `_alpha` < `_beta` < `_pre` < `_rc` < (none) < `_cvs` < `_svn` < `_git` < `_hg` <
//!   `_p`; any other suffix word, an uppercase letter, a `-` not followed by `r` and digits,
//!   or anything after the revision makes the version invalid (rejected here, where apk
//!   prints `?` or sorts it as a string);
//! - numbers compare as unsigned 64-bit values (wrapping on overflow, as apk's parser does),
//!   except a number after a dot with a leading zero on either side: then both compare as
//!   strings (`1.05` < `1.5`, `1.0` < `1.00`);
//! - where the two token streams first differ in kind, a pre-release suffix sorts first, then
//!   the end, then `-r`, `~hash`, suffix numbers, post-release suffixes, letters and numbers
//!   (so `1.0_rc1` < `1.0` < `1.0-r1` < `1.0_p1` < `1.0a` < `1.0.1`).

use crate::num::{slice, span};
use std::cmp::Ordering;

/// A validated Alpine version (its tokens are read again from the text when comparing).
#[derive(Debug, Clone)]
pub(crate) struct Apk;

/// apk's token kinds, in its order (a later kind where a version ends sooner sorts first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    InitialDigit,
    Digit,
    Letter,
    Suffix,
    SuffixNo,
    CommitHash,
    RevisionNo,
    End,
    Invalid,
}

/// Suffix ranks: the pre-releases are below [`SUFFIX_NONE`].
const SUFFIXES: [(&[u8], u8); 9] = [
    (b"alpha", 1),
    (b"beta", 2),
    (b"pre", 3),
    (b"rc", 4),
    (b"cvs", 6),
    (b"svn", 7),
    (b"git", 8),
    (b"hg", 9),
    (b"p", 10),
];
const SUFFIX_NONE: u8 = 5;

#[derive(Debug, Clone, Copy)]
struct Token<'a> {
    kind: Kind,
    /// The token's text (digits, letter, suffix word or hash).
    value: &'a [u8],
    number: u64,
    suffix: u8,
}

/// A cursor over a version's tokens (apk's `token_first` / `token_next`).
struct Tokens<'a> {
    s: &'a [u8],
    i: usize,
    current: Token<'a>,
}

impl<'a> Tokens<'a> {
    fn new(s: &'a [u8]) -> Self {
        let mut t = Tokens {
            s,
            i: 0,
            current: Token {
                kind: Kind::InitialDigit,
                value: &[],
                number: 0,
                suffix: 0,
            },
        };
        t.digits(Kind::InitialDigit);
        t
    }

    /// Reads digits (apk's `apk_blob_pull_uint`, wrapping) as a token of `kind`; none is
    /// invalid.
    fn digits(&mut self, kind: Kind) {
        let n = span(self.s, self.i, |c| c.is_ascii_digit());
        let value = slice(self.s, self.i..self.i + n);
        self.i += n;
        let number = value.iter().fold(0u64, |v, &c| {
            v.wrapping_mul(10).wrapping_add(u64::from(c - b'0'))
        });
        let kind = if n == 0 { Kind::Invalid } else { kind };
        self.current = Token {
            kind,
            value,
            number,
            suffix: 0,
        };
    }

    fn invalid(&mut self) {
        self.current.kind = Kind::Invalid;
    }

    /// Moves to the next token, checking it may follow the current one.
    fn advance(&mut self) {
        let kind = self.current.kind;
        let Some(&c) = self.s.get(self.i) else {
            self.current.kind = Kind::End;
            return;
        };
        match c {
            b'a'..=b'z' => {
                if kind > Kind::Digit {
                    return self.invalid();
                }
                self.current = Token {
                    kind: Kind::Letter,
                    value: slice(self.s, self.i..self.i + 1),
                    number: 0,
                    suffix: 0,
                };
                self.i += 1;
            }
            b'.' | b'0'..=b'9' => {
                if c == b'.' {
                    if kind > Kind::Digit {
                        return self.invalid();
                    }
                    self.i += 1;
                }
                match kind {
                    Kind::InitialDigit | Kind::Digit => self.digits(Kind::Digit),
                    Kind::Suffix => self.digits(Kind::SuffixNo),
                    _ => self.invalid(),
                }
            }
            b'_' => {
                if kind > Kind::SuffixNo {
                    return self.invalid();
                }
                self.i += 1;
                let n = span(self.s, self.i, |c| c.is_ascii_lowercase());
                let word = slice(self.s, self.i..self.i + n);
                self.i += n;
                let Some(&(_, suffix)) = SUFFIXES.iter().find(|(w, _)| *w == word) else {
                    return self.invalid();
                };
                self.current = Token {
                    kind: Kind::Suffix,
                    value: word,
                    number: 0,
                    suffix,
                };
            }
            b'~' => {
                if kind >= Kind::CommitHash {
                    return self.invalid();
                }
                self.i += 1;
                let n = span(self.s, self.i, |c| c.is_ascii_hexdigit());
                if n == 0 {
                    return self.invalid();
                }
                self.current = Token {
                    kind: Kind::CommitHash,
                    value: slice(self.s, self.i..self.i + n),
                    number: 0,
                    suffix: 0,
                };
                self.i += n;
            }
            b'-' => {
                if kind >= Kind::RevisionNo || self.s.get(self.i + 1) != Some(&b'r') {
                    return self.invalid();
                }
                self.i += 2;
                self.digits(Kind::RevisionNo);
            }
            _ => self.invalid(),
        }
    }
}

pub(crate) fn parse(text: &str) -> Result<Apk, &'static str> {
    let mut t = Tokens::new(text.as_bytes());
    while t.current.kind < Kind::End {
        t.advance();
    }
    if t.current.kind == Kind::End {
        Ok(Apk)
    } else if text.is_empty() {
        Err("the version is empty")
    } else {
        Err("expected digits{.digits}[letter]{_suffix[digits]}[~hash][-rN]")
    }
}

/// apk's `token_cmp` of two tokens of the same kind.
fn token_cmp(x: &Token, y: &Token) -> Ordering {
    match x.kind {
        Kind::Digit if x.value.first() == Some(&b'0') || y.value.first() == Some(&b'0') => {
            x.value.cmp(y.value)
        }
        Kind::Digit | Kind::InitialDigit | Kind::SuffixNo | Kind::RevisionNo => {
            x.number.cmp(&y.number)
        }
        Kind::Letter => x.value.first().cmp(&y.value.first()),
        Kind::Suffix => x.suffix.cmp(&y.suffix),
        _ => x.value.cmp(y.value),
    }
}

pub(crate) fn compare(a: &[u8], _: &Apk, b: &[u8], _: &Apk) -> Ordering {
    let (mut ta, mut tb) = (Tokens::new(a), Tokens::new(b));
    while ta.current.kind == tb.current.kind && ta.current.kind < Kind::End {
        let order = token_cmp(&ta.current, &tb.current);
        if order != Ordering::Equal {
            return order;
        }
        ta.advance();
        tb.advance();
    }
    let (x, y) = (ta.current, tb.current);
    if x.kind == y.kind {
        return Ordering::Equal;
    }
    if x.kind == Kind::Suffix && x.suffix < SUFFIX_NONE {
        return Ordering::Less;
    }
    if y.kind == Kind::Suffix && y.suffix < SUFFIX_NONE {
        return Ordering::Greater;
    }
    // The later kind (e.g. the end) sorts first.
    y.kind.cmp(&x.kind)
}
