//! Is this a secret? Credential formats (cloud keys, tokens, private keys, passwords in URLs),
//! variable names that say "secret", and entropy. Shared by every layer that looks for secrets
//! written in clear: Dockerfiles, manifests, image files and history.
//!
//! In files ([`scan_file`]), a secret-named key counts only when a literal is assigned to it,
//! by the rules of the file's language ([`Syntax`]); and a hit in a test-data directory or test
//! file of any runtime or package ([`fixture_reason`]) is marked as a fixture.
//!
//! No I/O; every pattern is compiled once.

use aho_corasick::AhoCorasick;
use regex::{Regex, RegexSet};
use std::sync::LazyLock;

pub mod fixture;
pub mod syntax;

pub use fixture::fixture_reason;
pub use syntax::Syntax;

/// Credential formats, with the name used in messages (same order).
pub const PATTERNS: [(&str, &str); 13] = [
    (
        "an AWS access key id",
        r"(?-u:\b)(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16}(?-u:\b)",
    ),
    (
        "a GitHub token",
        r"(?-u:\b)gh[pousr]_[A-Za-z0-9]{36}(?-u:\b)",
    ),
    (
        "a GitHub fine-grained token",
        r"(?-u:\b)github_pat_[A-Za-z0-9_]{22,255}(?-u:\b)",
    ),
    (
        "a GitLab token",
        r"(?-u:\b)glpat-[A-Za-z0-9_-]{20,}(?-u:\b)",
    ),
    ("a Slack token", r"(?-u:\b)xox[abposr]-[A-Za-z0-9-]{10,}"),
    (
        "a Slack webhook",
        r"https://hooks\.slack\.com/services/T[A-Za-z0-9]+/B[A-Za-z0-9]+/[A-Za-z0-9]+",
    ),
    (
        "a private key",
        r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY(?: BLOCK)?-----",
    ),
    (
        "a JSON web token",
        r"(?-u:\b)eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
    ),
    ("a Google API key", r"(?-u:\b)AIza[0-9A-Za-z_-]{35}(?-u:\b)"),
    (
        "a Stripe live key",
        r"(?-u:\b)[rs]k_live_[0-9A-Za-z]{24,}(?-u:\b)",
    ),
    ("an npm token", r"(?-u:\b)npm_[A-Za-z0-9]{36}(?-u:\b)"),
    (
        "a PyPI token",
        r"(?-u:\b)pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}",
    ),
    (
        "a URL with an embedded password",
        r"(?-u:\b)[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@$]+:[^\s/@${}]{3,}@[^\s/]+",
    ),
];

static CREDENTIALS: LazyLock<Option<RegexSet>> =
    LazyLock::new(|| RegexSet::new(PATTERNS.iter().map(|(_, p)| *p)).ok());

/// The kind of credential `text` contains, if any.
pub fn credential_kind(text: &str) -> Option<&'static str> {
    let set = CREDENTIALS.as_ref()?;
    let first = set.matches(text).into_iter().next()?;
    PATTERNS.get(first).map(|(name, _)| *name)
}

/// Credential formats that only make sense in files: they need their key name next to them, or
/// their body (a private key's header alone, as parsing code writes it, is no key).
const FILE_PATTERNS: [(&str, &str); 3] = [
    (
        "an AWS secret access key",
        r#"(?i)(?-u:\b)aws_?secret_?access_?key(?-u:\b)["']?\s*[=:]\s*["']?[A-Za-z0-9/+=]{40}(?-u:\b)"#,
    ),
    (
        "a Google Cloud service account key",
        r#""private_key"\s*:\s*"-----BEGIN (?:RSA )?PRIVATE KEY-----\\n[A-Za-z0-9+/=]{40,}"#,
    ),
    (
        "a private key",
        // the header, optional PEM headers (encrypted keys, PGP), then 40 base64 characters of
        // body, whether the key is plain text, a string with `\n` escapes or lines in quotes
        r#"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----(?:\\[rn]|[\s"'+,;\\])*(?:[A-Za-z-]+: [^\n]*(?:\n|\\n)(?:\\[rn]|[\s"'+,;\\])*)*[A-Za-z0-9+/=]{40}"#,
    ),
];

/// The formats searched in files: [`PATTERNS`] but the header-only private key, and
/// [`FILE_PATTERNS`].
fn file_formats() -> impl Iterator<Item = &'static (&'static str, &'static str)> {
    PATTERNS
        .iter()
        .filter(|(name, _)| *name != "a private key")
        .chain(FILE_PATTERNS.iter())
}

/// Literals one of which every match of a format contains (case-sensitively): a format's regex
/// runs only on texts holding one of them, found by a fast substring search.
fn anchors(name: &str) -> &'static [&'static str] {
    match name {
        "an AWS access key id" => &[
            "AKIA", "ASIA", "AGPA", "AIDA", "AROA", "ANPA", "ANVA", "AIPA",
        ],
        "a GitHub token" => &["ghp_", "gho_", "ghu_", "ghs_", "ghr_"],
        "a GitHub fine-grained token" => &["github_pat_"],
        "a GitLab token" => &["glpat-"],
        "a Slack token" => &["xox"],
        "a Slack webhook" => &["hooks.slack.com"],
        "a private key" | "a Google Cloud service account key" => &["PRIVATE KEY"],
        "a JSON web token" => &["eyJ"],
        "a Google API key" => &["AIza"],
        "a Stripe live key" => &["k_live_"],
        "an npm token" => &["npm_"],
        "a PyPI token" => &["pypi-"],
        "a URL with an embedded password" => &["://"],
        "an AWS secret access key" => &[
            "aws_secret",
            "AWS_SECRET",
            "awsSecret",
            "AwsSecret",
            "aws_Secret",
            "Aws_Secret",
            "awssecret",
            "AWSSECRET",
            "AWSSecret",
        ],
        _ => &[],
    }
}

/// The file formats, compiled.
static INDIVIDUAL: LazyLock<Vec<(&'static str, Regex)>> = LazyLock::new(|| {
    file_formats()
        .filter_map(|(name, p)| Regex::new(p).ok().map(|r| (*name, r)))
        .collect()
});

/// Every anchor of every format, searched in one pass; pattern `i` is the anchor of the formats
/// `owners[i]`.
static ANCHORS: LazyLock<Option<(AhoCorasick, Vec<Vec<usize>>)>> = LazyLock::new(|| {
    let mut literals: Vec<&str> = Vec::new();
    let mut owners: Vec<Vec<usize>> = Vec::new();
    for (i, (name, _)) in INDIVIDUAL.iter().enumerate() {
        for a in anchors(name) {
            match literals.iter().position(|l| l == a) {
                Some(j) => owners.get_mut(j).into_iter().for_each(|o| o.push(i)),
                None => {
                    literals.push(a);
                    owners.push(vec![i]);
                }
            }
        }
    }
    AhoCorasick::new(&literals).ok().map(|ac| (ac, owners))
});

/// Which formats may match `text`: those whose anchors it holds (all of them if the anchor
/// search is unavailable).
fn formats_present(text: &str) -> Vec<bool> {
    let Some((ac, owners)) = ANCHORS.as_ref() else {
        return vec![true; INDIVIDUAL.len()];
    };
    let mut present: Vec<bool> = INDIVIDUAL
        .iter()
        .map(|(name, _)| anchors(name).is_empty())
        .collect();
    for m in ac.find_iter(text) {
        for i in owners.get(m.pattern().as_usize()).into_iter().flatten() {
            if let Some(p) = present.get_mut(*i) {
                *p = true;
            }
        }
    }
    present
}

/// A cheap first pass for assignments: lines naming something secret-like (literal search).
/// The case variants are spelled out: a plain literal alternation is searched with SIMD,
/// `(?i)` is several times slower on source trees.
static SECRETISH: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        "pass|Pass|PASS|secret|Secret|SECRET|token|Token|TOKEN|key|Key|KEY|credential|Credential\
         |CREDENTIAL|pwd|Pwd|PWD|auth|Auth|AUTH",
    )
    .ok()
});

/// Characters of keys: identifiers, dotted and dashed names (`db.password`, `client-secret`).
fn key_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-'
}

/// One secret found in a text: what kind, where (1-based line and column), and a redacted
/// excerpt that never shows the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// e.g. "a private key", "an AWS access key id", "a secret-named value"
    pub kind: &'static str,
    pub line: u32,
    pub column: u32,
    /// the start of the match and its length, as [`redact`] shows it
    pub redacted: String,
    /// why this is a test fixture rather than a secret of the image, when the file's path says
    /// so ([`fixture_reason`]); set by [`scan_file`]
    pub fixture: Option<String>,
}

/// Most hits reported for one text.
pub const MAX_HITS: usize = 100;

/// Values that name a placeholder, not a secret.
fn placeholder(v: &str) -> bool {
    let l = v.to_ascii_lowercase();
    l.contains("example")
        || l.contains("changeme")
        || l.contains("placeholder")
        || l.contains("xxxxxxxx")
        || l.contains("your_")
        || l.contains("<")
        || l.starts_with('$')
        || l.starts_with("%(")
        || l.starts_with("{{")
}

/// Values that are code or a reference rather than a secret: paths, URLs (a password in a URL is
/// its own format), dotted or snake-case identifiers, escapes and format strings, and words
/// without a digit or a symbol (a generated secret of 16 characters or more almost always has
/// one; names and identifiers do not).
fn code_like(v: &str) -> bool {
    let ident = |s: &str| {
        s.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    v.starts_with(['/', '~', '.', '#', '@', ':'])
        || v.contains("://")
        || v.contains(['\\', '{', '}', '(', ')', '[', ']', '<', '>', '|', '^'])
        || v.contains("%s")
        || v.contains("%d")
        || (v.contains('.') && v.split('.').all(ident))
        || v.split_once('@').is_some_and(|(user, domain)| {
            !user.is_empty() && domain.contains('.') && domain.split('.').all(ident)
        })
        || !v
            .chars()
            .any(|c| c.is_ascii_digit() || "+/=!#$%&*?@~".contains(c))
}

/// A literal that looks like a secret: random-looking, not a placeholder, not code.
fn generic_secret(value: &str) -> bool {
    high_entropy(value) && !placeholder(value) && !code_like(value)
}

/// A password in a URL that is a well-known dummy, or a URL to a documentation host
/// (RFC 2606 / RFC 6761 reserved names).
fn url_placeholder(url: &str) -> bool {
    let Some((_, rest)) = url.split_once("://") else {
        return false;
    };
    let Some((userinfo, host)) = rest.rsplit_once('@') else {
        return false;
    };
    let password = userinfo.split_once(':').map_or("", |(_, p)| p);
    let host = host
        .split(['/', ':', '?', '#'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let pw = password.to_ascii_lowercase();
    const DUMMIES: [&str; 20] = [
        "password",
        "passwd",
        "pass",
        "pwd",
        "secret",
        "changeme",
        "test",
        "testing",
        "dummy",
        "fake",
        "foo",
        "bar",
        "baz",
        "user",
        "mypassword",
        "yourpassword",
        "pw",
        "xyz",
        "letmein",
        "hunter2",
    ];
    DUMMIES.contains(&pw.as_str())
        || pw.chars().all(|c| c == '*' || c == 'x' || c == '.')
        || placeholder(password)
        || ["example.com", "example.org", "example.net", "example"]
            .iter()
            .any(|d| host == *d || host.ends_with(&format!(".{d}")))
        || [".test", ".invalid", ".example"]
            .iter()
            .any(|t| host.ends_with(t))
}

/// Finds the secrets in a text read as configuration (see [`scan_source`]).
pub fn scan_text(text: &str) -> Vec<Hit> {
    scan_source(text, Syntax::Config)
}

/// Finds the secrets in the file at `path`: [`scan_source`] in the file's [`Syntax`], each hit
/// marked as a test fixture when the path says so ([`fixture_reason`]).
pub fn scan_file(path: &str, text: &str) -> Vec<Hit> {
    let mut hits = scan_source(text, Syntax::of(path, text));
    if !hits.is_empty() {
        if let Some(reason) = fixture_reason(path) {
            for h in &mut hits {
                h.fixture = Some(reason.clone());
            }
        }
    }
    hits
}

/// Finds the secrets in a text (a file's content) written in `syntax`: credential formats
/// anywhere, and literal values ([`Syntax`]: a quoted string in code, a bare value in
/// configuration) assigned to secret-named keys that look random (high entropy, not
/// placeholders, not code). At most [`MAX_HITS`], in order of position.
pub fn scan_source(text: &str, syntax: Syntax) -> Vec<Hit> {
    let mut hits: Vec<(usize, &'static str, usize)> = Vec::new();
    let present = formats_present(text);
    for ((name, re), present) in INDIVIDUAL.iter().zip(present) {
        if present {
            for m in re.find_iter(text).take(MAX_HITS) {
                if *name == "a URL with an embedded password" && url_placeholder(m.as_str()) {
                    continue;
                }
                hits.push((m.start(), name, m.len()));
            }
        }
    }
    assignments(text, syntax, &mut hits);
    // Longest first at each position; a hit inside an earlier one is the same secret.
    hits.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.2.cmp(&a.2)));
    let mut kept: Vec<(usize, &'static str, usize)> = Vec::with_capacity(hits.len());
    for h in hits {
        if kept.last().is_none_or(|k| h.0 >= k.0 + k.2) {
            kept.push(h);
        }
    }
    kept.truncate(MAX_HITS);
    kept.into_iter()
        .map(|(at, kind, len)| {
            let before = text.get(..at).unwrap_or_default();
            let line = before.bytes().filter(|b| *b == b'\n').count() + 1;
            let column = before.chars().rev().take_while(|c| *c != '\n').count() + 1;
            let matched = text.get(at..at + len).unwrap_or_default();
            Hit {
                kind,
                line: u32::try_from(line).unwrap_or(u32::MAX),
                column: u32::try_from(column).unwrap_or(u32::MAX),
                redacted: redact(matched),
                fixture: None,
            }
        })
        .collect()
}

/// Literal values assigned to secret-named keys (see [`syntax`] for the forms). Only lines with
/// a secret-like word are looked at; in Python, lines inside a triple-quoted string (docstrings:
/// documentation, RFC examples) are prose, not assignments.
fn assignments(text: &str, syntax: Syntax, hits: &mut Vec<(usize, &'static str, usize)>) {
    let Some(secretish) = SECRETISH.as_ref() else {
        return;
    };
    let bytes = text.as_bytes();
    let mut keys = 0;
    let mut word_end = 0; // keys already looked at end here
    let mut line = (0, 0); // the current line's start and end
    let mut in_docstring: Option<&str> = None;
    let mut scanned_to = 0; // triple quotes counted up to here
    let mut skip_line = false;
    for m in secretish.find_iter(text) {
        if m.start() < word_end {
            continue;
        }
        if m.start() >= line.1 {
            let base = text
                .get(..m.start())
                .and_then(|t| t.rfind('\n'))
                .map_or(0, |i| i + 1);
            let end = text
                .get(m.start()..)
                .and_then(|t| t.find('\n'))
                .map_or(text.len(), |i| m.start() + i + 1);
            line = (base, end);
            if syntax == Syntax::Python {
                let between = text.get(scanned_to..base).unwrap_or_default();
                in_docstring = triple_quote_state(between, in_docstring);
                skip_line = in_docstring.is_some();
                in_docstring =
                    triple_quote_state(text.get(base..end).unwrap_or_default(), in_docstring);
                scanned_to = end;
            }
        }
        if skip_line {
            word_end = line.1;
            continue;
        }
        // The key around the match.
        let mut start = m.start();
        while start > line.0 && bytes.get(start - 1).is_some_and(|b| key_char(*b)) {
            start -= 1;
        }
        let mut end = m.end();
        while bytes.get(end).is_some_and(|b| key_char(*b)) {
            end += 1;
        }
        word_end = end;
        while start < end
            && !bytes
                .get(start)
                .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
        {
            start += 1;
        }
        keys += 1;
        if keys > 10 * MAX_HITS {
            break;
        }
        let line_text = text.get(line.0..line.1).unwrap_or_default();
        key_assignment(
            line_text,
            line.0,
            start - line.0,
            end - line.0,
            syntax,
            hits,
        );
    }
}

/// The triple-quote delimiter open after `text`, starting with `open`.
fn triple_quote_state<'a>(text: &str, mut open: Option<&'a str>) -> Option<&'a str> {
    let mut rest = text;
    loop {
        match open {
            Some(q) => match rest.find(q) {
                Some(i) => {
                    rest = rest.get(i + 3..).unwrap_or_default();
                    open = None;
                }
                None => return open,
            },
            None => {
                let d = rest.find("\"\"\"");
                let s = rest.find("'''");
                let (i, q) = match (d, s) {
                    (Some(d), Some(s)) if s < d => (s, "'''"),
                    (Some(d), _) => (d, "\"\"\""),
                    (None, Some(s)) => (s, "'''"),
                    (None, None) => return None,
                };
                rest = rest.get(i + 3..).unwrap_or_default();
                open = Some(q);
            }
        }
    }
}

/// If the key at `start..end` of `line` (at offset `base` in the text) is secret-named and a
/// literal secret is assigned to it, records it.
fn key_assignment(
    line: &str,
    base: usize,
    start: usize,
    end: usize,
    syntax: Syntax,
    hits: &mut Vec<(usize, &'static str, usize)>,
) {
    let Some(raw) = line.get(start..end) else {
        return;
    };
    let key = raw.trim_end_matches(['.', '-']);
    if key.len() < 2 || key.len() > 64 || !secret_name(key) {
        return;
    }
    let before = line.get(..start).unwrap_or_default();
    let mut rest = line.get(start + key.len()..).unwrap_or_default();
    // An XML element: `<password>value</password>` (Maven settings.xml, Tomcat, Hibernate).
    if before.ends_with('<') {
        if let Some(inner) = rest.strip_prefix('>') {
            let vlen = inner.find('<').unwrap_or(0);
            let value = inner.get(..vlen).unwrap_or_default();
            if vlen > 0 && generic_secret(value) && !value.starts_with("${") {
                let at = base + (line.len() - inner.len());
                hits.push((at, "a secret-named value", vlen));
            }
        }
        return;
    }
    // A quoted key: `"password": ...`, `env['TOKEN'] = ...`, `set("token", ...)`.
    let open = before.chars().next_back().filter(|c| "\"'`".contains(*c));
    let mut call_arg = false;
    if let Some(q) = open {
        let Some(after) = rest.strip_prefix(q) else {
            return;
        };
        rest = after;
        call_arg = before
            .get(..before.len() - 1)
            .is_some_and(|b| b.trim_end().ends_with('('));
    }
    let Some(at) = syntax::assignment_value(rest, syntax, call_arg) else {
        return;
    };
    let value_text = rest.get(at..).unwrap_or_default();
    let Some((vstart, vlen)) = syntax::literal(value_text, syntax) else {
        return;
    };
    let value = value_text.get(vstart..vstart + vlen).unwrap_or_default();
    if generic_secret(value) {
        let at = base + (line.len() - value_text.len()) + vstart;
        hits.push((at, "a secret-named value", vlen));
    }
}

/// Name segments: `dbPassword_FILE` → `DB`, `PASSWORD`, `FILE`.
fn segments(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_ascii_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && prev_lower && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        cur.push(c.to_ascii_uppercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

const SECRET_WORDS: [&str; 11] = [
    "PASSWORD",
    "PASSWD",
    "PASSPHRASE",
    "PASS",
    "SECRET",
    "SECRETS",
    "TOKEN",
    "APIKEY",
    "CREDENTIAL",
    "CREDENTIALS",
    "PRIVATEKEY",
];
const KEY_QUALIFIERS: [&str; 8] = [
    "API",
    "PRIVATE",
    "SECRET",
    "ACCESS",
    "SIGNING",
    "ENCRYPTION",
    "MASTER",
    "LICENSE",
];
const NOT_SECRET_SUFFIXES: [&str; 28] = [
    "FILE",
    "PATH",
    "DIR",
    "LENGTH",
    "LEN",
    "NAME",
    "ID",
    "URL",
    "URI",
    "ENABLED",
    "DISABLED",
    "REQUIRED",
    "TTL",
    "EXPIRY",
    "EXPIRES",
    "EXPIRATION",
    "TIMEOUT",
    "HEADER",
    "TYPE",
    "ALGORITHM",
    "VERSION",
    "ENDPOINT",
    "HOST",
    "PORT",
    "USER",
    "USERNAME",
    "LOCATION",
    "REF",
];

/// Whether a variable name says it holds a secret.
pub fn secret_name(name: &str) -> bool {
    let segs = segments(name);
    if segs.len() == 1 && segs.first().is_some_and(|s| s == "PWD") {
        return false;
    }
    if segs
        .last()
        .is_some_and(|s| NOT_SECRET_SUFFIXES.contains(&s.as_str()))
    {
        return false;
    }
    let word = segs
        .iter()
        .any(|s| SECRET_WORDS.contains(&s.as_str()) || (s == "PWD" && segs.len() > 1));
    let key = segs.windows(2).any(|w| match w {
        [a, b] => b == "KEY" && KEY_QUALIFIERS.contains(&a.as_str()),
        _ => false,
    });
    word || key
}

/// Shannon entropy in bits per character.
pub fn entropy(s: &str) -> f64 {
    let mut counts = [0u32; 256];
    let mut n = 0u32;
    for b in s.bytes() {
        if let Some(c) = counts.get_mut(usize::from(b)) {
            *c += 1;
        }
        n += 1;
    }
    if n == 0 {
        return 0.0;
    }
    let n = f64::from(n);
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// A long, random-looking token: 16..=4096 characters, no whitespace, >= 3.5 bits/char.
pub fn high_entropy(v: &str) -> bool {
    v.len() >= 16 && v.len() <= 4096 && !v.contains(char::is_whitespace) && entropy(v) >= 3.5
}

/// Shows enough of a secret to find it, never the secret: its first characters and length.
pub fn redact(value: &str) -> String {
    let head: String = value.chars().take(4).collect();
    format!("\"{head}…\" ({} chars)", value.chars().count())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for n in [
            "DB_PASSWORD",
            "dbPassword",
            "GITHUB_TOKEN",
            "API_KEY",
            "AWS_SECRET_ACCESS_KEY",
            "NPM_AUTH_TOKEN",
            "SECRET_KEY_BASE",
            "MYSQL_ROOT_PASS",
            "DB_PWD",
            "privateKey",
        ] {
            assert!(secret_name(n), "{n}");
        }
        for n in [
            "PASSWORD_FILE",
            "DB_PASSWORD_PATH",
            "PWD",
            "GPG_KEY",
            "TOKENIZERS_PARALLELISM",
            "AWS_ACCESS_KEY_ID",
            "SECRET_NAME",
            "PATH",
            "KEYRING",
            "PASSWORD_MIN_LENGTH",
        ] {
            assert!(!secret_name(n), "{n}");
        }
    }

    #[test]
    fn text_scan_finds_formats_and_secret_assignments_with_positions() {
        let text = "# config\nuser = app\npassword = \"hunter2\"\n\
                    api_key = \"Zx9QpL3mN7vB2kR8tY4wE6uI0oPaSdFg\"\n\
                    token: ${TOKEN_FROM_ENV_VARIABLE_X}\n\
                    aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzzzzzzzzz\n\
                    key:\n  -----BEGIN OPENSSH PRIVATE KEY-----\n  \
                    b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n";
        let hits = scan_text(text);
        let got: Vec<(&str, u32, u32)> = hits.iter().map(|h| (h.kind, h.line, h.column)).collect();
        assert_eq!(
            got,
            [
                ("a secret-named value", 4, 12),
                ("an AWS secret access key", 6, 1),
                ("a private key", 8, 3),
            ]
        );
        assert!(hits.iter().all(|h| !h.redacted.contains("Zx9QpL3mN7")));
        assert!(scan_text("password = CHANGEME_EXAMPLE_VALUE_1234").is_empty());
        assert!(
            scan_text("sha256 = 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
                .is_empty()
        );
        let many = "ghp_abcdefghijklmnopqrstuvwxyz0123456789\n".repeat(500);
        assert_eq!(scan_text(&many).len(), MAX_HITS);
    }

    #[test]
    fn credential_patterns() {
        assert_eq!(
            credential_kind("AKIAIOSFODNN7EXAMPLE"),
            Some("an AWS access key id")
        );
        assert_eq!(
            credential_kind("ghp_abcdefghijklmnopqrstuvwxyz0123456789"),
            Some("a GitHub token")
        );
        assert_eq!(
            credential_kind("-----BEGIN RSA PRIVATE KEY-----"),
            Some("a private key")
        );
        assert_eq!(
            credential_kind("https://user:s3cret@example.com/x"),
            Some("a URL with an embedded password")
        );
        assert_eq!(credential_kind("https://user:${PASS}@example.com"), None);
        assert_eq!(credential_kind("https://example.com/a:b@c"), None);
        assert!(CREDENTIALS.is_some());
    }

    #[test]
    fn literals_by_language_and_fixtures_by_path() {
        let secret = "Zx9QpL3mN7vB2kR8tY4wE6uI0oPaSdFg";
        let found = |path: &str, text: &str| -> Vec<(u32, &'static str)> {
            scan_file(path, text)
                .iter()
                .map(|h| (h.line, h.kind))
                .collect()
        };
        let named = "a secret-named value";
        // The issue's examples: values from calls and expressions.
        let code = "token = get_unstructured(value)\npasswd = fallback_getpass(prompt, stream)\n\
                    token = random.randrange(sys.maxsize)\n";
        assert!(found("/usr/local/lib/python3.12/email/x.py", code).is_empty());
        assert!(found("/app/x.py", code).is_empty());
        // Literals in the assignment forms of each language.
        for (path, text) in [
            ("/app/a.py", format!("API_TOKEN: str = \"{secret}\"")),
            (
                "/app/a.py",
                format!("os.environ[\"API_TOKEN\"] = '{secret}'"),
            ),
            (
                "/app/a.py",
                format!("client = Client(password=\"{secret}\")"),
            ),
            ("/app/a.js", format!("const apiKey = `{secret}`;")),
            ("/app/a.go", format!("\ttoken := \"{secret}\"")),
            (
                "/app/a.go",
                format!("os.Setenv(\"API_TOKEN\", \"{secret}\")"),
            ),
            (
                "/app/A.java",
                format!("props.setProperty(\"db.password\", \"{secret}\");"),
            ),
            ("/app/a.sh", format!("export API_TOKEN={secret}")),
            ("/app/a.yaml", format!("auth:\n  client_secret: {secret}")),
            (
                "/app/a.php",
                format!("$config['db_password'] = '{secret}';"),
            ),
        ] {
            assert_eq!(found(path, &text).len(), 1, "{path}: {text}");
            assert_eq!(found(path, &text)[0].1, named, "{path}: {text}");
        }
        // Not literals, or not secrets.
        for (path, text) in [
            (
                "/app/a.py",
                "if password == \"Zx9QpL3mN7vB2kR8tY4wE6uI0oPaSdFg\":\n",
            ),
            (
                "/app/a.py",
                "def f():\n    \"\"\"Example:\n    token=\"Zx9QpL3mN7vB2kR8tY4w\"\n    \"\"\"\n",
            ),
            (
                "/app/a.sh",
                "API_TOKEN=\"$(cat /run/secrets/t)Zx9QpL3mN7vB\"\n",
            ),
            ("/app/a.py", "password = \"twisted@twistedmatrix.com\"\n"),
            (
                "/app/a.py",
                "SECRET_KEY_SETTING = \"django.conf.settings.SecretKey\"\n",
            ),
            (
                "/app/a.py",
                "url = 'http://joe:password@proxy.example.com:3128'\n",
            ),
            (
                "/app/parse.go",
                "const header = \"-----BEGIN RSA PRIVATE KEY-----\"\n",
            ),
        ] {
            assert!(found(path, text).is_empty(), "{path}: {text}");
        }
        // Formats: a GCP service account key is one finding; a key in a test directory is a
        // fixture, wherever the runtime is.
        let sa = "{\"type\": \"service_account\", \"private_key\": \"-----BEGIN PRIVATE KEY-----\\n\
                  MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDZ\\n-----END PRIVATE KEY-----\\n\"}";
        assert_eq!(
            found("/app/sa.json", sa),
            [(1, "a Google Cloud service account key")]
        );
        let key = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n";
        for p in [
            "/usr/lib/python3.11/test/k.pem",
            "/opt/py/lib/python3.11/test/k.pem",
        ] {
            let hits = scan_file(p, key);
            assert_eq!(hits.len(), 1);
            assert_eq!(
                hits[0].fixture.as_deref(),
                Some("a test fixture (under a `test/` directory)")
            );
        }
        assert_eq!(scan_file("/etc/ssl/private/k.pem", key)[0].fixture, None);
    }
}
