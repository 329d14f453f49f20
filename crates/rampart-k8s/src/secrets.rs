//! Does an environment variable in a manifest hold a secret written in clear? Either the value
//! has the format of a known credential (whatever the name), or the name says "secret" and the
//! value is a real value rather than a placeholder or a reference. In a manifest there is no
//! good reason for a literal secret, so no entropy threshold applies to secret-named variables.
//! Formats and names come from `rampart-secrets`, shared with the other layers.

pub use rampart_secrets::redact;

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
    rampart_secrets::credential_kind(value).or_else(|| {
        (rampart_secrets::secret_name(name) && !is_placeholder(value)).then_some("a secret")
    })
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
                Some("an AWS access key id"),
            ),
            (
                "ANYTHING",
                "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
                Some("a GitHub token"),
            ),
            ("DB_PASSWORD", "s3cr3t-Pa55", Some("a secret")),
            ("DB_PASSWORD_FILE", "/run/secrets/db", None),
            ("DB_PASSWORD", "$(DB_PASS)", None),
            ("DB_PASSWORD", "", None),
            ("API_TOKEN", "changeme", None),
            ("LOG_LEVEL", "debug-verbose", None),
            (
                "DATABASE_URL",
                "postgres://app:hunter22@db:5432/app",
                Some("a URL with an embedded password"),
            ),
            ("TOKEN_TTL", "3600000", None),
        ];
        for (name, value, want) in cases {
            assert_eq!(classify(name, value), want, "{name}={value}");
        }
    }
}
