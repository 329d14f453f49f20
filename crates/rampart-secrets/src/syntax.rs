//! What counts as a literal value, per language. A secret written in a file is a literal: a
//! quoted string in source code, a bare value in a configuration file. A value taken from a call
//! (`token = get_unstructured(value)`), an attribute (`passwd = self.password`), a variable or
//! an expression (`token = random.randrange(sys.maxsize)`) is not a secret written in the file,
//! whatever the name it is assigned to.
//!
//! Assignment forms recognised, the key being any secret-named word:
//!
//! | form | languages |
//! |---|---|
//! | `key = value`, `key := value`, `key: value`, `key => value` | all (`:=` Go, `=>` PHP/Ruby) |
//! | `"key": value`, `'key' => value`, `key="value"` (keyword argument, XML attribute) | all |
//! | `key: Type = value` (annotation), `var key Type = value` | Python, TypeScript, Go, Kotlin |
//! | `call("key", "value")` (a setter or `setenv` with a literal name) | all |
//! | `<key>value</key>` | XML |
//!
//! `==`, `!=`, `<=`, `>=` and `===` are comparisons, never assignments.

/// The syntax of a file, as far as telling a literal value from an expression goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// configuration: `.env`, YAML, INI, properties, TOML, XML, `.npmrc`, files without
    /// extension. A bare value is a literal unless it references something (`${X}`, `$X`,
    /// `%(x)s`, `{{ x }}`, a YAML alias or tag).
    Config,
    /// JSON: values are quoted literals; numbers, booleans and null are not secrets.
    Json,
    /// POSIX shells: a bare word is a literal unless it expands something (`$`, backquote);
    /// a double-quoted string is a literal unless it expands something.
    Shell,
    /// Python: quoted strings (with `r`, `b`, `u` prefixes) are literals; f-strings with a
    /// replacement field are not.
    Python,
    /// JavaScript and TypeScript: quoted strings; template literals without `${`.
    JavaScript,
    /// Go: interpreted and raw (backquoted) strings.
    Go,
    /// Java, Kotlin, Groovy, Scala, C#: quoted strings without `${` (or `$name` in Kotlin and
    /// Groovy).
    Java,
    /// Ruby: quoted strings without `#{`.
    Ruby,
    /// PHP: single-quoted strings, double-quoted ones without `$`.
    Php,
    /// Terraform/HCL: quoted strings without `${`.
    Hcl,
}

impl Syntax {
    /// The syntax of the file at `path` (by extension, then by the `#!` line of `text`); files
    /// of unknown kind are read as configuration.
    pub fn of(path: &str, text: &str) -> Self {
        let name = path.rsplit('/').next().unwrap_or(path);
        let ext = name
            .rsplit_once('.')
            .filter(|(stem, _)| !stem.is_empty())
            .map(|(_, e)| e.to_ascii_lowercase());
        match ext.as_deref() {
            Some("py" | "pyw" | "pyi") => Self::Python,
            Some("js" | "mjs" | "cjs" | "jsx" | "ts" | "mts" | "cts" | "tsx") => Self::JavaScript,
            Some("go") => Self::Go,
            Some("java" | "kt" | "kts" | "scala" | "groovy" | "gradle" | "cs") => Self::Java,
            Some("rb" | "rake" | "gemspec") => Self::Ruby,
            Some("php") => Self::Php,
            Some("sh" | "bash" | "zsh" | "ksh" | "bats") => Self::Shell,
            Some("json") => Self::Json,
            Some("tf" | "hcl") => Self::Hcl,
            Some(_) => Self::Config,
            None => Self::from_shebang(text),
        }
    }

    fn from_shebang(text: &str) -> Self {
        let Some(first) = text.lines().next().and_then(|l| l.strip_prefix("#!")) else {
            return Self::Config;
        };
        let mut words = first.split_whitespace();
        let mut prog = words.next().unwrap_or_default().rsplit('/').next();
        if prog == Some("env") {
            prog = words
                .find(|w| !w.starts_with('-'))
                .map(|w| w.rsplit('/').next().unwrap_or(w));
        }
        let prog = prog.unwrap_or_default();
        let base = prog.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
        match base {
            "python" | "pypy" => Self::Python,
            "node" | "nodejs" | "deno" | "bun" => Self::JavaScript,
            "sh" | "bash" | "dash" | "zsh" | "ksh" | "ash" | "busybox" => Self::Shell,
            "ruby" => Self::Ruby,
            "php" => Self::Php,
            _ => Self::Config,
        }
    }

    /// Source code, where a bare word is an identifier or expression, never a value.
    fn code(self) -> bool {
        !matches!(self, Self::Config | Self::Shell)
    }

    /// Whether a quoted literal's content (`body`, opened by `quote`, with Python prefix
    /// `prefix`) substitutes something at run time.
    fn interpolates(self, quote: char, prefix: &str, body: &str) -> bool {
        match self {
            Self::Shell => quote != '\'' && (body.contains('$') || body.contains('`')),
            Self::Python => prefix.contains(['f', 'F']) && body.contains('{'),
            Self::JavaScript => quote == '`' && body.contains("${"),
            Self::Ruby => quote == '"' && body.contains("#{"),
            Self::Php => quote == '"' && body.contains('$'),
            Self::Java => quote == '"' && body.contains('$'),
            Self::Hcl | Self::Config | Self::Json => body.contains("${"),
            Self::Go => false,
        }
    }
}

/// Where the value of an assignment starts, if `rest` (the text after a key) is an assignment
/// operator in `syntax`. `quoted_key`: the key was written as a quoted string; `call_arg`: the
/// quoted key was the first argument of a call.
pub(crate) fn assignment_value(rest: &str, syntax: Syntax, call_arg: bool) -> Option<usize> {
    let bytes = rest.as_bytes();
    let mut i = skip_ws(bytes, 0);
    // `env["TOKEN"] = ...`, `$config['password'] = ...`
    if bytes.get(i) == Some(&b']') {
        i = skip_ws(bytes, i + 1);
    }
    let op_end = match (bytes.get(i), bytes.get(i + 1)) {
        (Some(b':'), Some(b'=')) => i + 2,
        (Some(b'='), Some(b'>')) => i + 2,
        (Some(b'='), Some(b'=' | b'~')) => return None,
        (Some(b'='), _) => i + 1,
        (Some(b':'), Some(b':')) => return None,
        (Some(b':'), _) => {
            let after = skip_ws(bytes, i + 1);
            // `key: Type = value` (Python, TypeScript, Kotlin annotations)
            if matches!(syntax, Syntax::Python | Syntax::JavaScript | Syntax::Java)
                && bytes.get(after).is_some_and(|b| b.is_ascii_alphabetic())
            {
                return typed_assignment(bytes, after);
            }
            i + 1
        }
        (Some(b','), _) if call_arg => i + 1,
        // `var key Type = value` (Go)
        (Some(b), _) if syntax == Syntax::Go && b.is_ascii_alphabetic() && i > 0 => {
            return typed_assignment(bytes, i);
        }
        _ => return None,
    };
    Some(skip_ws(bytes, op_end))
}

/// After a type annotation starting at `at`: the value of the `=` that follows it.
fn typed_assignment(bytes: &[u8], at: usize) -> Option<usize> {
    let mut i = at;
    while bytes
        .get(i)
        .is_some_and(|b| b.is_ascii_alphanumeric() || b"_.[]|*<>, ?".contains(b))
    {
        i += 1;
    }
    match (bytes.get(i), bytes.get(i + 1)) {
        (Some(b'='), Some(b'=' | b'>')) => None,
        (Some(b'='), _) => Some(skip_ws(bytes, i + 1)),
        _ => None,
    }
}

fn skip_ws(bytes: &[u8], mut i: usize) -> usize {
    while bytes.get(i).is_some_and(|b| *b == b' ' || *b == b'\t') {
        i += 1;
    }
    i
}

/// The literal value at the start of `text` in `syntax`: its offset and length in `text`, or
/// `None` when the value there is not a literal (a call, a name, an expression, an
/// interpolated string, a reference).
pub(crate) fn literal(text: &str, syntax: Syntax) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    // Python string prefixes: r"", b"", u"", rb"", f"" ...
    let mut start = 0;
    if syntax == Syntax::Python {
        while start < 2 && bytes.get(start).is_some_and(|b| b"rRbBuUfF".contains(b)) {
            start += 1;
        }
        if !bytes.get(start).is_some_and(|b| *b == b'"' || *b == b'\'') {
            start = 0;
        }
    }
    let prefix = text.get(..start).unwrap_or_default();
    let &q = bytes.get(start)?;
    let quotes: &[u8] = match syntax {
        Syntax::JavaScript | Syntax::Go | Syntax::Shell => b"\"'`",
        _ => b"\"'",
    };
    if quotes.contains(&q) {
        if syntax == Syntax::Shell && q == b'`' {
            return None; // command substitution
        }
        // Triple-quoted strings are documentation or multi-line text.
        if bytes.get(start + 1) == Some(&q) && bytes.get(start + 2) == Some(&q) {
            return None;
        }
        let body_start = start + 1;
        let mut i = body_start;
        let escapes =
            !((syntax == Syntax::Go && q == b'`') || (syntax == Syntax::Shell && q == b'\''));
        loop {
            match bytes.get(i) {
                None | Some(b'\n') => return None, // not closed on this line
                Some(b'\\') if escapes => i += 2,
                Some(b) if *b == q => break,
                Some(_) => i += 1,
            }
        }
        let body = text.get(body_start..i)?;
        if syntax.interpolates(char::from(q), prefix, body) {
            return None;
        }
        return Some((body_start, i - body_start));
    }
    if syntax.code() {
        return None;
    }
    // A bare value (configuration, shell word).
    let end = bytes
        .iter()
        .position(|b| b.is_ascii_whitespace() || b"\"',;".contains(b))
        .unwrap_or(bytes.len());
    let word = text.get(..end)?;
    let references = match syntax {
        Syntax::Shell => {
            word.contains('$') || word.contains('`') || word.starts_with('(') || word.contains('<')
        }
        _ => {
            word.starts_with(['*', '&', '!', '|', '>', '$', '{', '['])
                || word.contains("${")
                || word.contains("{{")
                || word.starts_with("%(")
        }
    };
    (!references && end > 0).then_some((0, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_by_extension_and_shebang() {
        assert_eq!(Syntax::of("/a/b.py", ""), Syntax::Python);
        assert_eq!(Syntax::of("/a/b.test.ts", ""), Syntax::JavaScript);
        assert_eq!(Syntax::of("/a/.env", ""), Syntax::Config);
        assert_eq!(
            Syntax::of("/a/run", "#!/usr/bin/env python3\n"),
            Syntax::Python
        );
        assert_eq!(Syntax::of("/a/run", "#!/bin/sh -e\n"), Syntax::Shell);
        assert_eq!(
            Syntax::of("/a/run", "#!/usr/bin/env -S node --x\n"),
            Syntax::JavaScript
        );
        assert_eq!(
            Syntax::of("/etc/app/credentials", "[default]\n"),
            Syntax::Config
        );
    }

    #[test]
    fn literals_per_language() {
        let cases: [(&str, Syntax, Option<&str>); 22] = [
            ("get_unstructured(value)", Syntax::Python, None),
            ("random.randrange(sys.maxsize)", Syntax::Python, None),
            ("\"abc\"", Syntax::Python, Some("abc")),
            ("rb'ab\\'c'", Syntax::Python, Some("ab\\'c")),
            ("f\"{user}x\"", Syntax::Python, None),
            ("f\"plain\"", Syntax::Python, Some("plain")),
            ("'''doc'''", Syntax::Python, None),
            ("\"open", Syntax::Python, None),
            ("`a${b}`", Syntax::JavaScript, None),
            ("`ab`", Syntax::JavaScript, Some("ab")),
            ("process.env.TOKEN", Syntax::JavaScript, None),
            ("`raw\\`", Syntax::Go, Some("raw\\")),
            ("os.Getenv(\"X\")", Syntax::Go, None),
            ("\"a$b\"", Syntax::Shell, None),
            ("'a$b'", Syntax::Shell, Some("a$b")),
            ("abc;", Syntax::Shell, Some("abc")),
            ("$(cat f)", Syntax::Shell, None),
            ("abc # c", Syntax::Config, Some("abc")),
            ("${DB_PASSWORD}", Syntax::Config, None),
            ("!vault |", Syntax::Config, None),
            ("true", Syntax::Json, None),
            ("\"#{x}\"", Syntax::Ruby, None),
        ];
        for (text, syntax, want) in cases {
            let got = literal(text, syntax).and_then(|(a, n)| text.get(a..a + n));
            assert_eq!(got, want, "{text} in {syntax:?}");
        }
    }

    #[test]
    fn assignment_operators() {
        fn v(rest: &str, s: Syntax) -> Option<&str> {
            assignment_value(rest, s, false).and_then(|i| rest.get(i..))
        }
        assert_eq!(v(" = \"x\"", Syntax::Python), Some("\"x\""));
        assert_eq!(v(" == \"x\"", Syntax::Python), None);
        assert_eq!(v(": str = \"x\"", Syntax::Python), Some("\"x\""));
        assert_eq!(v(": str", Syntax::Python), None);
        assert_eq!(v(" := \"x\"", Syntax::Go), Some("\"x\""));
        assert_eq!(v(" string = \"x\"", Syntax::Go), Some("\"x\""));
        assert_eq!(v(" string `json:\"x\"`", Syntax::Go), None);
        assert_eq!(v("] = 'x'", Syntax::Php), Some("'x'"));
        assert_eq!(v(" => 'x'", Syntax::Php), Some("'x'"));
        assert_eq!(v(": value", Syntax::Config), Some("value"));
        assert_eq!(v(":: x", Syntax::Config), None);
        assert_eq!(assignment_value(", \"x\")", Syntax::Java, true), Some(2));
        assert_eq!(v(", \"x\")", Syntax::Java), None);
    }
}
