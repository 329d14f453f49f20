//! Trust policy: which keys must have signed an image and which attestations must exist,
//! chosen by the image's registry and repository. `rampart verify --policy` applies it, and the
//! admission webhook will use the same file.
//!
//! ```toml
//! # rampart trust policy
//! [[image]]
//! match = ["registry.example.com/shop/*", "registry.example.com/shared/base-*"]
//! keys = ["keys/release.pub", "keys/ci.pub"]   # a valid signature by any one of them
//! attestations = ["cyclonedx", "slsaprovenance"] # each needs a valid attestation by a key
//! annotations = { team = "shop" }                # required signature annotations
//!
//! [[image]]
//! match = ["docker.io/library/*"]
//! allow-unsigned = true                          # known, explicitly exempt
//! ```
//!
//! Patterns are globs on `registry/repository` (`*` stays within one path segment, `**`
//! crosses them); Docker Hub names are normalized first (`nginx` is
//! `docker.io/library/nginx`). The first rule that matches decides; an image no rule matches
//! is refused (fail closed), unless the policy says `default = "allow"`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The most bytes read from a policy file.
pub const MAX_POLICY: u64 = 1024 * 1024;

/// A policy could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// Unreadable.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Not valid.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong, with its line when known.
        message: String,
    },
}

/// Attestation types as cosign's `--type` names them, and their predicate type URIs.
pub const PREDICATE_TYPES: &[(&str, &str)] = &[
    ("cyclonedx", "https://cyclonedx.org/bom"),
    ("spdx", "https://spdx.dev/Document"),
    ("spdxjson", "https://spdx.dev/Document"),
    ("slsaprovenance", "https://slsa.dev/provenance/v0.2"),
    ("slsaprovenance02", "https://slsa.dev/provenance/v0.2"),
    ("slsaprovenance1", "https://slsa.dev/provenance/v1"),
    ("link", "https://in-toto.io/Link/v1"),
    ("vuln", "https://cosign.sigstore.dev/attestation/vuln/v1"),
    ("openvex", "https://openvex.dev/ns"),
    ("custom", "https://cosign.sigstore.dev/attestation/v1"),
    ("intent", crate::dsse::INTENT_PREDICATE_TYPE),
];

/// The predicate type URI of a `--type` name, or the argument itself when it is a URI.
pub fn predicate_type(name: &str) -> Option<&str> {
    if name.contains("://") {
        return Some(name);
    }
    PREDICATE_TYPES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, uri)| *uri)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawPolicy {
    #[serde(default)]
    default: Option<String>,
    #[serde(default)]
    image: Vec<RawRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawRule {
    #[serde(rename = "match")]
    patterns: Vec<String>,
    #[serde(default)]
    keys: Vec<String>,
    #[serde(default)]
    attestations: Vec<String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(default)]
    allow_unsigned: bool,
}

/// One rule of the policy.
#[derive(Debug, Clone)]
pub struct Rule {
    /// The patterns as written.
    pub patterns: Vec<String>,
    matcher: globset::GlobSet,
    /// Public key files (resolved against the policy's directory); one valid signature by any
    /// of them is required.
    pub keys: Vec<PathBuf>,
    /// Predicate type URIs that must each have a valid attestation.
    pub attestations: Vec<String>,
    /// Annotations the signature must carry.
    pub annotations: BTreeMap<String, String>,
    /// The images are exempt from signing.
    pub allow_unsigned: bool,
    /// Index of the rule in the file (0-based), for messages.
    pub index: usize,
}

/// What a policy requires of one image.
#[derive(Debug, Clone)]
pub enum Requirement<'a> {
    /// A rule matched.
    Rule(&'a Rule),
    /// No rule matched and the default is to refuse.
    Unmatched,
    /// No rule matched and the default is to allow.
    AllowedByDefault,
}

/// A loaded policy.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Where it was read from.
    pub path: PathBuf,
    /// The rules, in order.
    pub rules: Vec<Rule>,
    /// Whether images no rule matches are allowed.
    pub default_allow: bool,
}

impl Policy {
    /// Reads and checks a policy file; key paths are resolved against its directory.
    pub fn load(path: &Path) -> Result<Self, PolicyError> {
        let shown = path.display().to_string();
        let mut text = String::new();
        std::io::Read::read_to_string(
            &mut std::io::Read::take(
                std::fs::File::open(path).map_err(|e| PolicyError::Io {
                    path: shown.clone(),
                    source: e,
                })?,
                MAX_POLICY,
            ),
            &mut text,
        )
        .map_err(|e| PolicyError::Io {
            path: shown.clone(),
            source: e,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, base)
            .map_err(|message| PolicyError::Invalid {
                path: shown,
                message,
            })
            .map(|mut p| {
                p.path = path.to_owned();
                p
            })
    }

    /// Parses policy text; `base` resolves relative key paths.
    pub fn parse(text: &str, base: &Path) -> Result<Self, String> {
        let raw: RawPolicy = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text.get(..s.start).unwrap_or("").matches('\n').count() + 1);
            match line {
                Some(l) => format!("line {l}: {}", e.message()),
                None => e.message().to_owned(),
            }
        })?;
        let default_allow = match raw.default.as_deref() {
            None | Some("deny") => false,
            Some("allow") => true,
            Some(other) => {
                return Err(format!(
                    "default: expected \"allow\" or \"deny\", found {other:?}"
                ));
            }
        };
        let mut rules = Vec::new();
        for (index, r) in raw.image.into_iter().enumerate() {
            let at = |m: String| format!("[[image]] #{}: {m}", index + 1);
            if r.patterns.is_empty() {
                return Err(at("`match` needs at least one pattern".into()));
            }
            let mut builder = globset::GlobSetBuilder::new();
            for p in &r.patterns {
                let glob = image_glob(p).map_err(|e| at(format!("pattern {p:?}: {e}")))?;
                builder.add(glob);
            }
            let matcher = builder.build().map_err(|e| at(e.to_string()))?;
            if r.keys.is_empty() && !r.allow_unsigned {
                return Err(at(
                    "no `keys`: name the keys that must sign, or set `allow-unsigned = true`"
                        .into(),
                ));
            }
            if r.allow_unsigned && !(r.keys.is_empty() && r.attestations.is_empty()) {
                return Err(at(
                    "`allow-unsigned` cannot be combined with `keys` or `attestations`".into(),
                ));
            }
            let mut attestations = Vec::new();
            for a in &r.attestations {
                match predicate_type(a) {
                    Some(uri) => attestations.push(uri.to_owned()),
                    None => {
                        return Err(at(format!(
                            "unknown attestation type {a:?}: expected a predicate type URI or one of {}",
                            PREDICATE_TYPES
                                .iter()
                                .map(|(n, _)| *n)
                                .collect::<Vec<_>>()
                                .join(", ")
                        )));
                    }
                }
            }
            rules.push(Rule {
                patterns: r.patterns,
                matcher,
                keys: r.keys.iter().map(|k| base.join(k)).collect(),
                attestations,
                annotations: r.annotations,
                allow_unsigned: r.allow_unsigned,
                index,
            });
        }
        Ok(Self {
            path: PathBuf::new(),
            rules,
            default_allow,
        })
    }

    /// What the policy requires of an image named `registry/repository` (normalized).
    pub fn requirement(&self, registry: &str, repository: &str) -> Requirement<'_> {
        let name = format!("{}/{}", registry.to_ascii_lowercase(), repository);
        match self.rules.iter().find(|r| r.matcher.is_match(&name)) {
            Some(r) => Requirement::Rule(r),
            None if self.default_allow => Requirement::AllowedByDefault,
            None => Requirement::Unmatched,
        }
    }
}

/// Docker Hub short forms in patterns, as references are normalized: `nginx` →
/// `docker.io/library/nginx`, `org/app` → `docker.io/org/app`; `index.docker.io` is
/// `docker.io`; the registry is lowercased (host names are case-insensitive). Shared by every
/// glob on `registry/repository` (the admission webhook's allowed registries too).
pub fn normalize_image_pattern(p: &str) -> String {
    let p = p.trim();
    let first = p.split('/').next().unwrap_or("");
    let is_registry =
        first.contains('.') || first.contains(':') || first == "localhost" || first.contains('*');
    if !p.contains('/') {
        return format!("docker.io/library/{p}");
    }
    if !is_registry {
        return format!("docker.io/{p}");
    }
    match p.strip_prefix("index.docker.io/") {
        Some(rest) => format!("docker.io/{rest}"),
        None => format!(
            "{}{}",
            first.to_ascii_lowercase(),
            p.get(first.len()..).unwrap_or_default()
        ),
    }
}

/// A glob on `registry/repository`: `*` stays within a path segment, `**` crosses them.
pub fn image_glob(pattern: &str) -> Result<globset::Glob, globset::Error> {
    globset::GlobBuilder::new(&normalize_image_pattern(pattern))
        .literal_separator(true)
        .build()
}

/// An allow-list of images: [`image_glob`] patterns on `registry/repository`. The admission
/// webhook's registries gate and the scan's supply-chain control (`[registries] allow` in
/// `rampart.toml`) decide with it.
#[derive(Debug, Clone)]
pub struct ImageAllowList {
    /// The patterns as written.
    pub patterns: Vec<String>,
    matcher: globset::GlobSet,
}

impl ImageAllowList {
    /// Compiles `patterns`; every bad pattern is a problem, and so is an empty list (which would
    /// refuse every image).
    pub fn new(patterns: Vec<String>) -> Result<Self, Vec<String>> {
        let mut problems = Vec::new();
        let mut builder = globset::GlobSetBuilder::new();
        for p in &patterns {
            match image_glob(p) {
                Ok(g) => {
                    builder.add(g);
                }
                Err(e) => problems.push(format!("pattern {p:?}: {e}")),
            }
        }
        if patterns.is_empty() {
            problems.push(String::from(
                "expected at least one pattern (an empty list refuses every image)",
            ));
        }
        match builder.build() {
            Ok(matcher) if problems.is_empty() => Ok(Self { patterns, matcher }),
            Ok(_) => Err(problems),
            Err(e) => {
                problems.push(e.to_string());
                Err(problems)
            }
        }
    }

    /// Whether an image of `registry` (any case) and `repository` is allowed.
    pub fn allows(&self, registry: &str, repository: &str) -> bool {
        self.matcher
            .is_match(format!("{}/{repository}", registry.to_ascii_lowercase()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    const POLICY: &str = r#"
[[image]]
match = ["registry.example.com/shop/*", "127.0.0.1:5000/**"]
keys = ["keys/release.pub"]
attestations = ["cyclonedx", "https://example.com/custom/v1"]
annotations = { team = "shop" }

[[image]]
match = ["nginx", "bitnami/*"]
allow-unsigned = true
"#;

    fn rule_of(p: &Policy, registry: &str, repo: &str) -> Option<usize> {
        match p.requirement(registry, repo) {
            Requirement::Rule(r) => Some(r.index),
            _ => None,
        }
    }

    #[test]
    fn first_matching_rule_decides_and_unmatched_is_refused() {
        let p = Policy::parse(POLICY, Path::new("/etc/rampart")).unwrap();
        assert_eq!(rule_of(&p, "registry.example.com", "shop/web"), Some(0));
        assert_eq!(
            rule_of(&p, "registry.example.com", "shop/web/extra"),
            None,
            "* stays in a segment"
        );
        assert_eq!(
            rule_of(&p, "127.0.0.1:5000", "a/b/c"),
            Some(0),
            "** crosses segments"
        );
        assert_eq!(
            rule_of(&p, "docker.io", "library/nginx"),
            Some(1),
            "Docker Hub short names"
        );
        assert_eq!(rule_of(&p, "docker.io", "bitnami/redis"), Some(1));
        assert_eq!(
            rule_of(&p, "REGISTRY.example.com", "shop/web"),
            Some(0),
            "registry names are case-insensitive"
        );
        assert!(matches!(
            p.requirement("ghcr.io", "other/app"),
            Requirement::Unmatched
        ));
        let r = &p.rules[0];
        assert_eq!(r.keys, [PathBuf::from("/etc/rampart/keys/release.pub")]);
        assert_eq!(
            r.attestations,
            ["https://cyclonedx.org/bom", "https://example.com/custom/v1"]
        );
        assert_eq!(r.annotations.get("team").map(String::as_str), Some("shop"));
        let open = Policy::parse("default = \"allow\"\n", Path::new(".")).unwrap();
        assert!(matches!(
            open.requirement("ghcr.io", "x/y"),
            Requirement::AllowedByDefault
        ));
    }

    #[test]
    fn bad_policies_say_what_is_wrong() {
        for (text, want) in [
            (
                "[[image]]\nmatch = []\nkeys = [\"k.pub\"]\n",
                "at least one pattern",
            ),
            ("[[image]]\nmatch = [\"a/*\"]\n", "no `keys`"),
            (
                "[[image]]\nmatch = [\"a/*\"]\nkeys = [\"k\"]\nattestations = [\"sbomish\"]\n",
                "unknown attestation type",
            ),
            ("[[image]]\nmatch = [\"a/[\"]\nkeys = [\"k\"]\n", "pattern"),
            (
                "[[image]]\nmatch = [\"a/*\"]\nkeys = [\"k\"]\nallow-unsigned = true\n",
                "cannot be combined",
            ),
            ("[[image]]\nmatch = [\"a/*\"]\nkeyz = [\"k\"]\n", "line 3"),
            ("default = \"maybe\"\n", "default"),
        ] {
            let err = Policy::parse(text, Path::new(".")).unwrap_err();
            assert!(err.contains(want), "{text:?}: {err}");
        }
    }
}
