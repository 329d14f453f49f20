//! Is this a secret? Credential formats (cloud keys, tokens, private keys, passwords in URLs),
//! variable names that say "secret", and entropy. Shared by every layer that looks for secrets
//! written in clear: Dockerfiles, manifests, and (later) image files and history.
//!
//! No I/O; every pattern is compiled once.

use regex::{Regex, RegexSet};
use std::sync::LazyLock;

/// Credential formats, with the name used in messages (same order).
pub const PATTERNS: [(&str, &str); 13] = [
    (
        "an AWS access key id",
        r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16}\b",
    ),
    ("a GitHub token", r"\bgh[pousr]_[A-Za-z0-9]{36}\b"),
    (
        "a GitHub fine-grained token",
        r"\bgithub_pat_[A-Za-z0-9_]{22,255}\b",
    ),
    ("a GitLab token", r"\bglpat-[A-Za-z0-9_-]{20,}\b"),
    ("a Slack token", r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
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
        r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
    ),
    ("a Google API key", r"\bAIza[0-9A-Za-z_-]{35}\b"),
    ("a Stripe live key", r"\b[rs]k_live_[0-9A-Za-z]{24,}\b"),
    ("an npm token", r"\bnpm_[A-Za-z0-9]{36}\b"),
    ("a PyPI token", r"\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}"),
    (
        "a URL with an embedded password",
        r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@$]+:[^\s/@${}]{3,}@[^\s/]+",
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

/// Credential formats that only make sense in files (they need their key name next to them).
const FILE_PATTERNS: [(&str, &str); 1] = [(
    "an AWS secret access key",
    r#"(?i)\baws_?secret_?access_?key\b["']?\s*[=:]\s*["']?[A-Za-z0-9/+=]{40}\b"#,
)];

static INDIVIDUAL: LazyLock<Vec<(&'static str, Regex)>> = LazyLock::new(|| {
    PATTERNS
        .iter()
        .chain(FILE_PATTERNS.iter())
        .filter_map(|(name, p)| Regex::new(p).ok().map(|r| (*name, r)))
        .collect()
});

static ALL: LazyLock<Option<RegexSet>> = LazyLock::new(|| {
    RegexSet::new(PATTERNS.iter().chain(FILE_PATTERNS.iter()).map(|(_, p)| *p)).ok()
});

/// A cheap first pass for [`ASSIGNMENT`]: lines naming something secret-like (literal search).
static SECRETISH: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(?i)pass|secret|token|key|credential|pwd|auth").ok());

/// `name = value` / `name: value` / `"name": "value"` assignments in config-like text.
static ASSIGNMENT: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r#"(?m)["']?([A-Za-z_][A-Za-z0-9_.-]{1,63})["']?\s*[:=]\s*["']?([^\s"',;]{16,4096})["']?"#,
    )
    .ok()
});

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

/// Finds the secrets in a text (a file's content): credential formats anywhere, and values
/// assigned to secret-named keys that look random (high entropy, not placeholders). At most
/// [`MAX_HITS`], in order of position.
pub fn scan_text(text: &str) -> Vec<Hit> {
    let mut hits: Vec<(usize, &'static str, usize)> = Vec::new();
    let formats = ALL.as_ref().is_some_and(|set| set.is_match(text));
    if formats {
        for (name, re) in INDIVIDUAL.iter() {
            for m in re.find_iter(text).take(MAX_HITS) {
                hits.push((m.start(), name, m.len()));
            }
        }
    }
    let secretish = SECRETISH.as_ref().is_none_or(|r| r.is_match(text));
    if let (Some(re), true) = (ASSIGNMENT.as_ref(), secretish) {
        // Only lines that name something secret-like pay for the capturing search.
        let mut offset = 0;
        let mut candidates: Vec<(usize, &str)> = Vec::new();
        for line in text.split_inclusive('\n') {
            if SECRETISH.as_ref().is_none_or(|r| r.is_match(line)) {
                candidates.push((offset, line));
            }
            offset += line.len();
        }
        for (base, line) in candidates.into_iter().take(10 * MAX_HITS) {
            for c in re.captures_iter(line).take(MAX_HITS) {
                let (Some(key), Some(value)) = (c.get(1), c.get(2)) else {
                    continue;
                };
                let (start, end) = (base + value.start(), base + value.end());
                if secret_name(key.as_str())
                    && high_entropy(value.as_str())
                    && !placeholder(value.as_str())
                    && !hits
                        .iter()
                        .any(|(at, _, len)| start < at + len && *at < end)
                {
                    hits.push((start, "a secret-named value", value.len()));
                }
            }
        }
    }
    hits.sort_unstable();
    hits.dedup_by_key(|h| h.0);
    hits.truncate(MAX_HITS);
    hits.into_iter()
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
            }
        })
        .collect()
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
                    key:\n  -----BEGIN OPENSSH PRIVATE KEY-----\n";
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
}
