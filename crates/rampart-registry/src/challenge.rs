//! `WWW-Authenticate` challenges (RFC 9110 §11.6.1): `Bearer realm="…",service="…"`,
//! `Basic realm="…"`, several challenges in one header, quoted strings with escapes and commas.
//!
//! Written by hand: the HTTP crates parse header lines but not this grammar, and the auth crates
//! that do come with a whole client. The parser is linear, allocates only what it returns, and
//! bounds the header length, the challenges per header and the parameters per challenge.

use std::fmt;

/// Longest header accepted (bytes).
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// Most challenges accepted in one header.
pub const MAX_CHALLENGES: usize = 16;
/// Most parameters accepted in one challenge.
pub const MAX_PARAMS: usize = 32;

/// One challenge: a scheme (lowercased) and its parameters (names lowercased) or a token68.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Challenge {
    /// the auth scheme, lowercase (`bearer`, `basic`)
    pub scheme: String,
    /// `name=value` parameters in order, names lowercase, quoted values unescaped
    pub params: Vec<(String, String)>,
    /// a token68 in place of parameters (`Negotiate abc==`)
    pub token68: Option<String>,
}

impl Challenge {
    /// The first parameter with this (lowercase) name.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Why a `WWW-Authenticate` header could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChallengeError {
    /// the header is longer than [`MAX_HEADER_BYTES`]
    #[error("WWW-Authenticate header of {0} bytes, more than the {MAX_HEADER_BYTES}-byte limit")]
    TooLong(usize),
    /// more than [`MAX_CHALLENGES`] challenges or [`MAX_PARAMS`] parameters in one
    #[error("WWW-Authenticate header with more than {0}")]
    TooMany(&'static str),
    /// the header does not follow the grammar
    #[error("malformed WWW-Authenticate header at byte {at}: expected {expected}")]
    Malformed {
        /// byte offset of the problem
        at: usize,
        /// what the grammar expected there
        expected: &'static str,
    },
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_token68_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~+/".contains(&b)
}

struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }

    /// Skips spaces and tabs; whether any were skipped.
    fn ows(&mut self) -> bool {
        let start = self.pos;
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
        self.pos > start
    }

    fn token(&mut self) -> Option<&str> {
        let start = self.pos;
        while self.peek().is_some_and(is_tchar) {
            self.pos += 1;
        }
        self.slice(start)
    }

    fn slice(&self, start: usize) -> Option<&str> {
        if self.pos == start {
            return None;
        }
        self.s
            .get(start..self.pos)
            .and_then(|b| std::str::from_utf8(b).ok())
    }

    fn quoted(&mut self) -> Result<String, ChallengeError> {
        // the opening quote was peeked by the caller
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => {
                    return Err(ChallengeError::Malformed {
                        at: self.pos,
                        expected: "a closing quote",
                    });
                }
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(String::from_utf8_lossy(&out).into_owned());
                }
                Some(b'\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(c) if c == b'\t' || c >= 0x20 && c != 0x7f => {
                            out.push(c);
                            self.pos += 1;
                        }
                        _ => {
                            return Err(ChallengeError::Malformed {
                                at: self.pos,
                                expected: "an escaped character after a backslash",
                            });
                        }
                    }
                }
                Some(c) if c == b'\t' || c >= 0x20 && c != 0x7f => {
                    out.push(c);
                    self.pos += 1;
                }
                Some(_) => {
                    return Err(ChallengeError::Malformed {
                        at: self.pos,
                        expected: "a printable character in a quoted string",
                    });
                }
            }
        }
    }

    /// `name BWS "=" BWS (token / quoted-string)` at the cursor, or `None` (cursor unchanged)
    /// when what follows is not a parameter.
    fn param(&mut self) -> Result<Option<(String, String)>, ChallengeError> {
        let start = self.pos;
        let Some(name) = self.token().map(str::to_ascii_lowercase) else {
            return Ok(None);
        };
        self.ows();
        if self.peek() != Some(b'=') {
            self.pos = start;
            return Ok(None);
        }
        self.pos += 1;
        self.ows();
        let value = match self.peek() {
            Some(b'"') => self.quoted()?,
            _ => match self.token() {
                Some(v) => v.to_owned(),
                // `abc==` is a token68, not a parameter
                None => {
                    self.pos = start;
                    return Ok(None);
                }
            },
        };
        Ok(Some((name, value)))
    }

    /// A token68 followed by the end of the challenge, or `None` (cursor unchanged).
    fn token68(&mut self) -> Option<String> {
        let start = self.pos;
        while self.peek().is_some_and(is_token68_char) {
            self.pos += 1;
        }
        if self.pos == start {
            return None;
        }
        while self.peek() == Some(b'=') {
            self.pos += 1;
        }
        let value = self.slice(start).map(str::to_owned);
        let save = self.pos;
        self.ows();
        if self.at_end() || self.peek() == Some(b',') {
            self.pos = save;
            value
        } else {
            self.pos = start;
            None
        }
    }

    /// Skips `OWS *( "," OWS )`: the separators between list elements (empty ones allowed).
    fn separators(&mut self) -> bool {
        let mut any = false;
        loop {
            self.ows();
            if self.peek() == Some(b',') {
                self.pos += 1;
                any = true;
            } else {
                return any;
            }
        }
    }
}

/// Parses every challenge of a `WWW-Authenticate` header value.
pub fn parse_challenges(header: &str) -> Result<Vec<Challenge>, ChallengeError> {
    if header.len() > MAX_HEADER_BYTES {
        return Err(ChallengeError::TooLong(header.len()));
    }
    let mut c = Cursor {
        s: header.as_bytes(),
        pos: 0,
    };
    let mut out = Vec::new();
    loop {
        c.separators();
        if c.at_end() {
            return Ok(out);
        }
        if out.len() == MAX_CHALLENGES {
            return Err(ChallengeError::TooMany("16 challenges"));
        }
        let at = c.pos;
        let scheme = c
            .token()
            .ok_or(ChallengeError::Malformed {
                at,
                expected: "an auth scheme",
            })?
            .to_ascii_lowercase();
        let mut challenge = Challenge {
            scheme,
            ..Challenge::default()
        };
        let spaced = c.ows();
        if c.at_end() || c.peek() == Some(b',') {
            out.push(challenge);
            continue;
        }
        if !spaced {
            return Err(ChallengeError::Malformed {
                at: c.pos,
                expected: "a space after the auth scheme",
            });
        }
        if let Some(first) = c.param()? {
            challenge.params.push(first);
            loop {
                let before = c.pos;
                if !c.separators() {
                    if c.at_end() {
                        break;
                    }
                    return Err(ChallengeError::Malformed {
                        at: c.pos,
                        expected: "a comma or the end of the header",
                    });
                }
                match c.param()? {
                    Some(p) => {
                        if challenge.params.len() == MAX_PARAMS {
                            return Err(ChallengeError::TooMany("32 parameters in a challenge"));
                        }
                        challenge.params.push(p);
                    }
                    // not a parameter: the next challenge starts here
                    None => {
                        c.pos = before;
                        break;
                    }
                }
            }
        } else if let Some(t) = c.token68() {
            challenge.token68 = Some(t);
        } else {
            return Err(ChallengeError::Malformed {
                at: c.pos,
                expected: "auth parameters or a token68",
            });
        }
        out.push(challenge);
    }
}

impl fmt::Display for Challenge {
    /// The challenge as a header would carry it, values always quoted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.scheme)?;
        if let Some(t) = &self.token68 {
            return write!(f, " {t}");
        }
        for (i, (n, v)) in self.params.iter().enumerate() {
            f.write_str(if i == 0 { " " } else { ", " })?;
            write!(f, "{n}=\"")?;
            for ch in v.chars() {
                if ch == '"' || ch == '\\' {
                    f.write_str("\\")?;
                }
                write!(f, "{ch}")?;
            }
            f.write_str("\"")?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn parses_real_and_tricky_headers() {
        let got = parse_challenges(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull""#,
        )
        .unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].scheme, "bearer");
        assert_eq!(got[0].param("realm"), Some("https://auth.docker.io/token"));
        assert_eq!(
            got[0].param("scope"),
            Some("repository:library/alpine:pull")
        );

        let got = parse_challenges(
            r#"Basic realm="a, \"quoted\" realm" , BEARER Realm=x,scope="repository:a:pull,push", error=insufficient_scope,, Negotiate abc/+==, Digest"#,
        )
        .unwrap();
        assert_eq!(
            got,
            vec![
                Challenge {
                    scheme: "basic".into(),
                    params: p(&[("realm", r#"a, "quoted" realm"#)]),
                    token68: None
                },
                Challenge {
                    scheme: "bearer".into(),
                    params: p(&[
                        ("realm", "x"),
                        ("scope", "repository:a:pull,push"),
                        ("error", "insufficient_scope")
                    ]),
                    token68: None
                },
                Challenge {
                    scheme: "negotiate".into(),
                    params: vec![],
                    token68: Some("abc/+==".into())
                },
                Challenge {
                    scheme: "digest".into(),
                    params: vec![],
                    token68: None
                },
            ]
        );
        assert_eq!(parse_challenges("").unwrap(), vec![]);
    }

    #[test]
    fn malformed_and_oversized_headers_are_errors() {
        for (bad, expected) in [
            (r#"Bearer realm="open"#, "a closing quote"),
            ("Bearer realm=x y", "a comma or the end"),
            ("=x", "an auth scheme"),
            (r#"Basic"realm""#, "a space after"),
            ("Bearer ;", "auth parameters or a token68"),
        ] {
            let err = parse_challenges(bad).unwrap_err().to_string();
            assert!(err.contains(expected), "{bad}: {err}");
        }
        let huge = format!("Bearer realm=\"{}\"", "a".repeat(MAX_HEADER_BYTES));
        assert!(matches!(
            parse_challenges(&huge),
            Err(ChallengeError::TooLong(_))
        ));
        let many = vec!["Basic"; MAX_CHALLENGES + 1].join(", ");
        assert!(matches!(
            parse_challenges(&many),
            Err(ChallengeError::TooMany(_))
        ));
        let params: Vec<String> = (0..=MAX_PARAMS).map(|i| format!("p{i}=v")).collect();
        assert!(matches!(
            parse_challenges(&format!("Bearer {}", params.join(","))),
            Err(ChallengeError::TooMany(_))
        ));
    }

    fn challenge() -> impl Strategy<Value = Challenge> {
        let token = "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,8}";
        (
            token,
            proptest::collection::vec((token, "[ -~\t]{0,12}"), 0..4),
        )
            .prop_map(|(scheme, params)| Challenge {
                scheme: scheme.to_ascii_lowercase(),
                params: params
                    .into_iter()
                    .map(|(n, v)| (n.to_ascii_lowercase(), v))
                    .collect(),
                token68: None,
            })
    }

    proptest! {
        /// Any text: challenges or an error, never a panic.
        #[test]
        fn arbitrary_headers_never_panic(text in "\\PC{0,200}") {
            let _ = parse_challenges(&text);
        }

        /// Rendered challenges (values with commas, quotes, backslashes, spaces; random spacing
        /// between elements) parse back to the same challenges.
        #[test]
        fn rendered_challenges_round_trip(
            challenges in proptest::collection::vec(challenge(), 0..4),
            sep in "[ \t]{0,2},[ \t]{0,2}(,[ \t]{0,2})?",
        ) {
            let text = challenges.iter().map(ToString::to_string).collect::<Vec<_>>().join(&sep);
            prop_assert_eq!(parse_challenges(&text).unwrap(), challenges);
        }
    }
}
