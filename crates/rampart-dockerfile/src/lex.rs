//! Word splitting and variable substitution, following BuildKit's shell lexer
//! (`frontend/dockerfile/shell`): quotes, the escape character, `$VAR`, `${VAR}`,
//! `${VAR:-word}`, `${VAR-word}`, `${VAR:+word}`, `${VAR+word}`, `${VAR:?msg}`,
//! `${VAR#pat}`, `${VAR%pat}`, `${VAR/pat/repl}`.

/// How deep `${a:-${b:-${c...}}}` may nest before substitution gives up.
pub(crate) const MAX_DEPTH: usize = 64;

/// What a variable lookup found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lookup<'a> {
    /// Set to this value.
    Set(&'a str),
    /// Declared without a value we can know (an `ARG` without default, a platform argument,
    /// a variable the base image may define).
    Unknown,
    /// Not defined: expands to nothing.
    Unset,
}

/// The result of expanding one word.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Expanded {
    pub value: String,
    pub unresolved: bool,
    /// Problems met (lowercase messages), e.g. a missing `}`.
    pub errors: Vec<String>,
}

/// Splits on unquoted whitespace, keeping quotes and escapes in the words. Returns each word's
/// byte offset in `s`.
pub(crate) fn split_shell_words(s: &str, escape: char) -> Vec<(usize, &str)> {
    let mut words = Vec::new();
    let mut start: Option<usize> = None;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match quote {
            Some(q) => {
                if c == q {
                    quote = None;
                } else if c == escape && q == '"' {
                    escaped = true;
                }
            }
            None => {
                if c.is_whitespace() {
                    if let Some(st) = start.take() {
                        words.push((st, s.get(st..i).unwrap_or("")));
                    }
                    continue;
                }
                if start.is_none() {
                    start = Some(i);
                }
                if c == '\'' || c == '"' {
                    quote = Some(c);
                } else if c == escape {
                    escaped = true;
                }
            }
        }
    }
    if let Some(st) = start {
        words.push((st, s.get(st..).unwrap_or("")));
    }
    words
}

/// The byte length of the first shell word of `s` (which starts with it).
pub(crate) fn first_shell_word_len(s: &str, escape: char) -> usize {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if let Some(q) = quote {
            if c == q {
                quote = None;
            } else if c == escape && q == '"' {
                escaped = true;
            }
        } else if c.is_whitespace() {
            return i;
        } else if c == '\'' || c == '"' {
            quote = Some(c);
        } else if c == escape {
            escaped = true;
        }
    }
    s.len()
}

/// Splits on whitespace only (BuildKit's `parseStringsWhitespaceDelimited`).
pub(crate) fn split_whitespace_words(s: &str) -> Vec<(usize, &str)> {
    let mut words = Vec::new();
    let mut start: Option<usize> = None;
    for (i, c) in s.char_indices() {
        if c.is_whitespace() {
            if let Some(st) = start.take() {
                words.push((st, s.get(st..i).unwrap_or("")));
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(st) = start {
        words.push((st, s.get(st..).unwrap_or("")));
    }
    words
}

/// Expands variables in `word` and removes quotes and escapes, as BuildKit's `ProcessWord`.
pub(crate) fn expand<'v>(
    word: &str,
    escape: char,
    lookup: &dyn Fn(&str) -> Lookup<'v>,
) -> Expanded {
    let mut x = Expander {
        s: word,
        i: 0,
        escape,
        lookup,
        out: Expanded::default(),
        gave_up: false,
        truncated: false,
    };
    let value = x.process(None, 0);
    x.out.value = value;
    x.out
}

struct Expander<'s, 'l, 'v> {
    s: &'s str,
    i: usize,
    escape: char,
    lookup: &'l dyn Fn(&str) -> Lookup<'v>,
    out: Expanded,
    gave_up: bool,
    /// Set once a substitution would have grown the word past [`MAX_EXPANSION`].
    truncated: bool,
}

/// The longest a word may grow by substitution. `ARG b=$a$a$a$a` on a few lines would otherwise
/// grow exponentially (a 500-byte Dockerfile asking for gigabytes).
pub const MAX_EXPANSION: usize = 64 * 1024;

impl Expander<'_, '_, '_> {
    fn peek(&self) -> Option<char> {
        self.s.get(self.i..).and_then(|r| r.chars().next())
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.i += c.len_utf8();
        Some(c)
    }

    fn error(&mut self, message: String) {
        if self.out.errors.len() < 8 {
            self.out.errors.push(message);
        }
    }

    /// Appends substituted text unless the word would outgrow [`MAX_EXPANSION`]; then the word
    /// is marked unresolved and the problem reported once.
    fn push_value(&mut self, out: &mut String, value: &str) {
        if out.len().saturating_add(value.len()) > MAX_EXPANSION {
            if !self.truncated {
                self.truncated = true;
                self.error(format!(
                    "variable expansion longer than {} KiB: substitution stopped",
                    MAX_EXPANSION / 1024
                ));
            }
            self.out.unresolved = true;
            return;
        }
        out.push_str(value);
    }

    /// Processes until `stop` (consumed) or the end.
    fn process(&mut self, stop: Option<char>, depth: usize) -> String {
        let mut out = String::new();
        if depth > MAX_DEPTH {
            if !self.gave_up {
                self.gave_up = true;
                self.error(format!(
                    "variable substitution nested deeper than {MAX_DEPTH} levels; left unexpanded"
                ));
            }
            out.push_str(self.s.get(self.i..).unwrap_or(""));
            self.i = self.s.len();
            self.out.unresolved = true;
            return out;
        }
        while let Some(c) = self.peek() {
            if Some(c) == stop {
                self.i += c.len_utf8();
                return out;
            }
            if c == '\'' {
                self.i += 1;
                self.single_quoted(&mut out);
            } else if c == '"' {
                self.i += 1;
                self.double_quoted(&mut out, depth);
            } else if c == '$' {
                self.dollar(&mut out, depth);
            } else if c == self.escape {
                self.i += c.len_utf8();
                if let Some(n) = self.next() {
                    out.push(n);
                }
            } else {
                self.i += c.len_utf8();
                out.push(c);
            }
        }
        if let Some(stop) = stop {
            self.error(format!(
                "expected `{stop}` to close a substitution, found end of word"
            ));
        }
        out
    }

    fn single_quoted(&mut self, out: &mut String) {
        loop {
            match self.next() {
                Some('\'') => return,
                Some(c) => out.push(c),
                None => {
                    self.error("expected a closing single quote, found end of word".to_owned());
                    return;
                }
            }
        }
    }

    fn double_quoted(&mut self, out: &mut String, depth: usize) {
        loop {
            match self.peek() {
                Some('"') => {
                    self.i += 1;
                    return;
                }
                Some('$') => self.dollar(out, depth),
                Some(c) if c == self.escape => {
                    self.i += c.len_utf8();
                    match self.peek() {
                        Some(n) if n == '"' || n == '$' || n == self.escape => {
                            self.i += n.len_utf8();
                            out.push(n);
                        }
                        Some(_) => out.push(c),
                        None => {}
                    }
                }
                Some(c) => {
                    self.i += c.len_utf8();
                    out.push(c);
                }
                None => {
                    self.error("expected a closing double quote, found end of word".to_owned());
                    return;
                }
            }
        }
    }

    fn name(&mut self) -> &str {
        let start = self.i;
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == '_' {
                self.i += 1;
            } else {
                break;
            }
        }
        self.s.get(start..self.i).unwrap_or("")
    }

    fn dollar(&mut self, out: &mut String, depth: usize) {
        self.i += 1; // '$'
        match self.peek() {
            Some('{') => {
                self.i += 1;
                self.braced(out, depth);
            }
            Some(c) if c.is_ascii_alphanumeric() || c == '_' => {
                let name = self.name().to_owned();
                self.substitute(&name, out);
            }
            _ => out.push('$'),
        }
    }

    fn substitute(&mut self, name: &str, out: &mut String) {
        match (self.lookup)(name) {
            Lookup::Set(v) => self.push_value(out, v),
            Lookup::Unknown => self.out.unresolved = true,
            Lookup::Unset => {}
        }
    }

    fn braced(&mut self, out: &mut String, depth: usize) {
        let name = self.name().to_owned();
        if name.is_empty() {
            self.error("expected a variable name after `${`, found none".to_owned());
            let rest = self.process(Some('}'), depth + 1);
            self.push_value(out, &rest);
            return;
        }
        let Some(op) = self.next() else {
            self.error(format!(
                "expected `}}` after `${{{name}`, found end of word"
            ));
            return;
        };
        let found = (self.lookup)(&name);
        match op {
            '}' => self.substitute(&name, out),
            ':' | '-' | '+' | '?' => {
                let colon = op == ':';
                let op = if colon {
                    match self.next() {
                        Some(o @ ('-' | '+' | '?')) => o,
                        other => {
                            self.error(format!(
                                "expected `-`, `+` or `?` after `${{{name}:`, found {}",
                                describe(other)
                            ));
                            let _ = self.process(Some('}'), depth + 1);
                            return;
                        }
                    }
                } else {
                    op
                };
                let word = self.process(Some('}'), depth + 1);
                let is_set = |v: &str| !(colon && v.is_empty());
                match (op, found) {
                    ('-', Lookup::Set(v)) if is_set(v) => self.push_value(out, v),
                    ('-', Lookup::Unknown) => {
                        self.out.unresolved = true;
                        self.push_value(out, &word);
                    }
                    ('-', _) => self.push_value(out, &word),
                    ('+', Lookup::Set(v)) if is_set(v) => self.push_value(out, &word),
                    ('+', Lookup::Unknown) => self.out.unresolved = true,
                    ('+', _) => {}
                    (_, Lookup::Set(v)) if is_set(v) => self.push_value(out, v),
                    (_, Lookup::Unknown) => self.out.unresolved = true,
                    _ => self.error(format!(
                        "variable {name} is required: {}",
                        if word.is_empty() { "not set" } else { &word }
                    )),
                }
            }
            '#' | '%' | '/' => {
                let word = self.process(Some('}'), depth + 1);
                match found {
                    Lookup::Set(v) => {
                        let literal = !word.contains(['*', '?', '[']);
                        let result = match op {
                            '#' if literal => {
                                let p = word.trim_start_matches('#');
                                v.strip_prefix(p).unwrap_or(v).to_owned()
                            }
                            '%' if literal => {
                                let p = word.trim_start_matches('%');
                                v.strip_suffix(p).unwrap_or(v).to_owned()
                            }
                            '/' => match word.split_once('/') {
                                Some((pat, rep)) if !pat.is_empty() => {
                                    let pat = pat.trim_start_matches('/');
                                    if pat.is_empty() || !literal {
                                        self.out.unresolved = true;
                                        v.to_owned()
                                    } else {
                                        v.replacen(pat, rep, 1)
                                    }
                                }
                                _ => v.to_owned(),
                            },
                            _ => {
                                self.out.unresolved = true;
                                v.to_owned()
                            }
                        };
                        self.push_value(out, &result);
                    }
                    Lookup::Unknown => self.out.unresolved = true,
                    Lookup::Unset => {}
                }
            }
            other => {
                self.error(format!(
                    "expected `}}` or a modifier after `${{{name}`, found `{other}`"
                ));
                let _ = self.process(Some('}'), depth + 1);
            }
        }
    }
}

fn describe(c: Option<char>) -> String {
    match c {
        Some(c) => format!("`{c}`"),
        None => "end of word".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Lookup<'static> {
        match name {
            "A" => Lookup::Set("alpha"),
            "EMPTY" => Lookup::Set(""),
            "U" => Lookup::Unknown,
            _ => Lookup::Unset,
        }
    }

    fn x(s: &str) -> (String, bool) {
        let e = expand(s, '\\', &env);
        (e.value, e.unresolved)
    }

    #[test]
    fn substitution_forms() {
        assert_eq!(x("$A/${A}"), ("alpha/alpha".into(), false));
        assert_eq!(x("${NOPE:-d}"), ("d".into(), false));
        assert_eq!(x("${EMPTY:-d}|${EMPTY-d}"), ("d|".into(), false));
        assert_eq!(x("${A:+set}|${NOPE:+set}"), ("set|".into(), false));
        assert_eq!(x("${U:-root}"), ("root".into(), true));
        assert_eq!(x("'$A'\"$A\"\\$A"), ("$Aalpha$A".into(), false));
        assert_eq!(
            x("${A#al}-${A%ha}-${A/ph/PH}"),
            ("pha-alp-alPHa".into(), false)
        );
        assert_eq!(x("${NOPE:-${A:-x}}"), ("alpha".into(), false));
        assert_eq!(x("a$"), ("a$".into(), false));
    }

    #[test]
    fn deep_nesting_gives_up_with_an_error() {
        let s = "${X:-".repeat(200) + &"}".repeat(200);
        let e = expand(&s, '\\', &env);
        assert!(e.unresolved);
        assert!(!e.errors.is_empty());
    }

    #[test]
    fn unterminated_brace_is_an_error() {
        let e = expand("${A", '\\', &env);
        assert!(!e.errors.is_empty());
    }

    #[test]
    fn splits_words_respecting_quotes() {
        let w: Vec<_> = split_shell_words(r#"a="b c" d\ e  'f g'"#, '\\')
            .into_iter()
            .map(|(_, w)| w)
            .collect();
        assert_eq!(w, vec![r#"a="b c""#, r"d\ e", "'f g'"]);
    }
}
