//! Does a name/value pair look like a secret written in clear? Two signals: the value has the
//! format of a known credential (whatever the name), or the name says "secret" and the value
//! looks like one (not a placeholder, a reference or a file path).

use regex::Regex;
use std::sync::LazyLock;

static FORMATS: LazyLock<Vec<(&'static str, Regex)>> = LazyLock::new(|| {
    [
        ("AWS access key id", r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
        (
            "GitHub token",
            r"\b(ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}\b|\bgithub_pat_[A-Za-z0-9_]{40,}",
        ),
        ("GitLab token", r"\bglpat-[A-Za-z0-9_\-]{20,}"),
        ("Slack token", r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
        ("Google API key", r"\bAIza[0-9A-Za-z_\-]{35}\b"),
        ("Stripe secret key", r"\b[sr]k_live_[0-9a-zA-Z]{20,}"),
        ("private key", r"-----BEGIN ([A-Z]+ )?PRIVATE KEY-----"),
        (
            "JSON web token",
            r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}",
        ),
        (
            "credentials in a URL",
            r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s:@]{3,}@",
        ),
    ]
    .into_iter()
    .filter_map(|(kind, re)| Regex::new(re).ok().map(|r| (kind, r)))
    .collect()
});

static SECRET_NAME: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(passw(or)?d|passwd|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|credential|auth[_-]?key|client[_-]?secret|signing[_-]?key|encryption[_-]?key)",
    )
    .ok()
});

/// Names that mention a secret but hold a pointer to it, not the secret itself.
fn is_reference_name(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    [
        "_FILE",
        "_PATH",
        "_DIR",
        "_NAME",
        "_URL_FILE",
        "_REF",
        "_ID",
        "_LENGTH",
        "_TTL",
        "_EXPIRY",
        "_HEADER",
        "_ENDPOINT",
        "_ENABLED",
        "_TYPE",
    ]
    .iter()
    .any(|s| n.ends_with(s))
}

fn is_placeholder(value: &str) -> bool {
    let v = value.trim();
    let lower = v.to_ascii_lowercase();
    v.len() < 6
        || v.starts_with('$')
        || v.starts_with('/')
        || v.contains("{{")
        || v.starts_with('<')
        || matches!(
            lower.as_str(),
            "changeme"
                | "change-me"
                | "placeholder"
                | "password"
                | "secret"
                | "redacted"
                | "example"
                | "true"
                | "false"
        )
        || lower.starts_with("http://")
        || lower.starts_with("https://")
        || lower.chars().all(|c| c == '*' || c == 'x')
}

/// The kind of secret `value` (in a variable called `name`) appears to be.
pub fn classify(name: &str, value: &str) -> Option<&'static str> {
    if value.is_empty() {
        return None;
    }
    if let Some((kind, _)) = FORMATS.iter().find(|(_, re)| re.is_match(value)) {
        return Some(kind);
    }
    let named = SECRET_NAME.as_ref().is_some_and(|re| re.is_match(name));
    (named && !is_reference_name(name) && !is_placeholder(value)).then_some("secret")
}

/// Shows enough of a secret to find it, never the secret.
pub fn redact(value: &str) -> String {
    let head: String = value.chars().take(4).collect();
    format!("\"{head}…\" ({} chars)", value.chars().count())
}

#[cfg(test)]
mod tests {
    use super::classify;

    #[test]
    fn table() {
        let cases = [
            (
                "AWS_ACCESS_KEY_ID",
                "AKIAIOSFODNN7EXAMPLE",
                Some("AWS access key id"),
            ),
            (
                "ANYTHING",
                "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
                Some("GitHub token"),
            ),
            ("DB_PASSWORD", "s3cr3t-Pa55", Some("secret")),
            ("DB_PASSWORD_FILE", "/run/secrets/db", None),
            ("DB_PASSWORD", "$(DB_PASS)", None),
            ("DB_PASSWORD", "", None),
            ("API_TOKEN", "changeme", None),
            ("LOG_LEVEL", "debug-verbose", None),
            (
                "DATABASE_URL",
                "postgres://app:hunter22@db:5432/app",
                Some("credentials in a URL"),
            ),
            ("TOKEN_TTL", "3600000", None),
        ];
        for (name, value, want) in cases {
            assert_eq!(classify(name, value), want, "{name}={value}");
        }
    }
}
