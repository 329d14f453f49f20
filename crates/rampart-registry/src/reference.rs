//! Normalized image references: `alpine` is `docker.io/library/alpine:latest`.
//!
//! The syntax is parsed once, by [`rampart_core::ImageRef::try_parse`]; this module only adds
//! Docker's defaults (registry `docker.io`, the `library/` namespace, tag `latest`) and checks
//! the digest is one rampart can verify.

use std::fmt;
use std::str::FromStr;

use rampart_core::{ImageRef, ImageRefError, ImageRefErrorKind};
use rampart_image::{Digest, ImageError};

/// Docker Hub's name in references.
pub const DOCKER_HUB: &str = "docker.io";
/// The host that serves Docker Hub's registry API.
pub const DOCKER_HUB_API_HOST: &str = "registry-1.docker.io";
/// The key Docker uses for Docker Hub in `config.json` and for credential helpers.
pub const DOCKER_HUB_CONFIG_KEY: &str = "https://index.docker.io/v1/";

/// Why a text is not a usable image reference.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReferenceError {
    /// the text does not follow the reference grammar
    #[error(transparent)]
    Syntax(#[from] ImageRefError),
    /// the digest is well-formed but not one rampart verifies (sha256 or sha512)
    #[error("invalid image reference {reference:?}: {source}")]
    Digest {
        /// the reference as written
        reference: String,
        /// why the digest was refused
        #[source]
        source: ImageError,
    },
}

/// A repository in a registry: `docker.io` + `library/alpine`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Repository {
    registry: String,
    path: String,
}

impl Repository {
    /// A repository from already valid parts (as taken from a parsed [`Reference`]).
    pub(crate) fn new(registry: String, path: String) -> Self {
        Self { registry, path }
    }

    /// The registry as written in references (`docker.io`, `127.0.0.1:5000`).
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The repository path (`library/alpine`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The `host[:port]` serving the registry API (`registry-1.docker.io` for Docker Hub).
    pub fn api_host(&self) -> &str {
        if self.registry == DOCKER_HUB {
            DOCKER_HUB_API_HOST
        } else {
            &self.registry
        }
    }
}

impl fmt::Display for Repository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.path)
    }
}

/// A normalized reference: registry, repository path, and a tag, a digest or both.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    repository: Repository,
    tag: Option<String>,
    digest: Option<Digest>,
}

impl Reference {
    /// Parses and normalizes a reference: `alpine` → `docker.io/library/alpine:latest`,
    /// `index.docker.io/x/y` → `docker.io/x/y:latest`, `host:5000/app@sha256:…` keeps only the
    /// digest, `app:1@sha256:…` keeps both (the digest decides what is fetched).
    pub fn parse(text: &str) -> Result<Self, ReferenceError> {
        let parsed = ImageRef::try_parse(text)?;
        Self::from_image_ref(&parsed, text)
    }

    fn from_image_ref(r: &ImageRef, text: &str) -> Result<Self, ReferenceError> {
        let registry = match r.registry.as_deref() {
            None | Some("index.docker.io") => DOCKER_HUB.to_owned(),
            Some(other) => other.to_owned(),
        };
        let path = if registry == DOCKER_HUB && !r.repository.contains('/') {
            format!("library/{}", r.repository)
        } else {
            r.repository.clone()
        };
        // the limit holds for the normalized name too, so every reference prints to one that
        // parses back
        let len = registry.len() + 1 + path.len();
        if len > 255 {
            return Err(ReferenceError::Syntax(ImageRefError {
                reference: text.chars().take(256).collect(),
                kind: ImageRefErrorKind::NameTooLong(len),
            }));
        }
        let digest = r
            .digest
            .as_deref()
            .map(Digest::parse)
            .transpose()
            .map_err(|source| ReferenceError::Digest {
                reference: text.chars().take(256).collect(),
                source,
            })?;
        let tag = match (&r.tag, &digest) {
            (Some(t), _) => Some(t.clone()),
            (None, None) => Some(String::from("latest")),
            (None, Some(_)) => None,
        };
        Ok(Self {
            repository: Repository::new(registry, path),
            tag,
            digest,
        })
    }

    /// The repository.
    pub fn repository(&self) -> &Repository {
        &self.repository
    }

    /// The registry as written in references (`docker.io`).
    pub fn registry(&self) -> &str {
        self.repository.registry()
    }

    /// The repository path (`library/alpine`).
    pub fn path(&self) -> &str {
        self.repository.path()
    }

    /// The tag, when one was written or defaulted to `latest`.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest, when one was written.
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// What the registry API is asked for in `/manifests/<…>`: the digest when there is one,
    /// else the tag.
    pub fn manifest_key(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => String::from("latest"),
        }
    }

    /// The same repository at `digest` (the tag is kept for display).
    pub fn with_digest(&self, digest: Digest) -> Self {
        Self {
            digest: Some(digest),
            ..self.clone()
        }
    }

    /// The same repository at `tag`, without a digest. The tag is checked like a parsed one.
    pub fn with_tag(&self, tag: &str) -> Result<Self, ReferenceError> {
        Self::parse(&format!("{}:{tag}", self.repository))
    }
}

impl FromStr for Reference {
    type Err = ReferenceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const HEX: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn normalizes_like_docker() {
        let d = format!("sha256:{HEX}");
        let cases: Vec<(String, String, &str)> = vec![
            (
                "alpine".into(),
                "docker.io/library/alpine:latest".into(),
                "registry-1.docker.io",
            ),
            (
                "alpine:3.20".into(),
                "docker.io/library/alpine:3.20".into(),
                "registry-1.docker.io",
            ),
            (
                "bitnami/redis".into(),
                "docker.io/bitnami/redis:latest".into(),
                "registry-1.docker.io",
            ),
            (
                "docker.io/alpine".into(),
                "docker.io/library/alpine:latest".into(),
                "registry-1.docker.io",
            ),
            (
                "index.docker.io/alpine".into(),
                "docker.io/library/alpine:latest".into(),
                "registry-1.docker.io",
            ),
            (
                "ghcr.io/o/app:v1".into(),
                "ghcr.io/o/app:v1".into(),
                "ghcr.io",
            ),
            (
                "localhost/app".into(),
                "localhost/app:latest".into(),
                "localhost",
            ),
            (
                "127.0.0.1:5000/a/b/c:t".into(),
                "127.0.0.1:5000/a/b/c:t".into(),
                "127.0.0.1:5000",
            ),
            (
                "[::1]:5000/app".into(),
                "[::1]:5000/app:latest".into(),
                "[::1]:5000",
            ),
            (
                format!("alpine@{d}"),
                format!("docker.io/library/alpine@{d}"),
                "registry-1.docker.io",
            ),
            (
                format!("host:1/app:1@{d}"),
                format!("host:1/app:1@{d}"),
                "host:1",
            ),
            // a single component with a port-looking suffix is a tag, as in Docker
            (
                "localhost:5000".into(),
                "docker.io/library/localhost:5000".into(),
                "registry-1.docker.io",
            ),
        ];
        for (input, want, host) in cases {
            let r = Reference::parse(&input).unwrap();
            assert_eq!(r.to_string(), want, "{input}");
            assert_eq!(r.repository().api_host(), host, "{input}");
        }
        let r = Reference::parse(&format!("host:1/app:1@{d}")).unwrap();
        assert_eq!(r.manifest_key(), d);
        assert_eq!(r.tag(), Some("1"));
        assert_eq!(Reference::parse("app").unwrap().manifest_key(), "latest");
    }

    #[test]
    fn rejects_with_a_reason() {
        let cases = [
            ("", "found nothing"),
            ("a b", "whitespace"),
            ("Alpine", "expected a repository"),
            ("alpine:", "expected a tag"),
            ("alpine:-x", "expected a tag"),
            ("a..b", "expected a repository"),
            ("a/-b", "expected a repository"),
            ("host:port/x", "expected a registry"),
            ("-host.io/x", "expected a registry"),
            ("a@sha256:abc", "expected a digest"),
            ("a@md5:0123456789abcdef0123456789abcdef", "invalid digest"),
        ];
        for (input, reason) in cases {
            let err = Reference::parse(input).unwrap_err().to_string();
            assert!(err.contains(reason), "{input}: {err}");
            assert!(err.starts_with("invalid"), "{input}: {err}");
        }
        let long = format!("h.io/{}", "a".repeat(260));
        assert!(
            Reference::parse(&long)
                .unwrap_err()
                .to_string()
                .contains("255")
        );
        // short enough as written, too long once `docker.io/library/` is added (found by fuzzing)
        let err = Reference::parse(&"a".repeat(240)).unwrap_err().to_string();
        assert!(err.contains("at most 255 bytes, found 258"), "{err}");
    }

    fn component() -> impl Strategy<Value = String> {
        "[a-z0-9]{1,6}((\\.|_|__|-{1,2})[a-z0-9]{1,6}){0,2}"
    }

    fn registry() -> impl Strategy<Value = Option<String>> {
        prop_oneof![
            Just(None),
            Just(Some("docker.io".to_owned())),
            Just(Some("localhost".to_owned())),
            "[a-z][a-z0-9-]{0,8}[a-z0-9]\\.[a-z]{2,5}(:[0-9]{1,5})?".prop_map(Some),
            "127\\.0\\.0\\.[0-9]{1,3}:[0-9]{1,5}".prop_map(Some),
        ]
    }

    proptest! {
        /// Any text: an error or a reference, never a panic; a reference prints to a text that
        /// parses back to itself.
        #[test]
        fn arbitrary_text_never_panics_and_round_trips(text in "\\PC{0,80}") {
            if let Ok(r) = Reference::parse(&text) {
                let again = Reference::parse(&r.to_string()).unwrap();
                prop_assert_eq!(again, r);
            }
        }

        /// Generated valid references parse into exactly their parts, normalized.
        #[test]
        fn generated_references_parse_into_their_parts(
            reg in registry(),
            comps in proptest::collection::vec(component(), 1..4),
            tag in proptest::option::of("[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}"),
            digest in proptest::option::of("[0-9a-f]{64}"),
        ) {
            let path = comps.join("/");
            let mut text = String::new();
            if let Some(r) = &reg { text.push_str(r); text.push('/'); }
            text.push_str(&path);
            if let Some(t) = &tag { text.push(':'); text.push_str(t); }
            if let Some(d) = &digest { text.push_str("@sha256:"); text.push_str(d); }
            // without a registry, a first component with a dot would be read as a host, as
            // in Docker (`normalizes_like_docker` covers that)
            prop_assume!(reg.is_some() || comps.len() == 1 || !comps[0].contains('.'));
            let r = Reference::parse(&text).unwrap();
            let (want_registry, rest) = match &reg {
                Some(r) => (r.clone(), path.clone()),
                None => ("docker.io".to_owned(), path.clone()),
            };
            prop_assert_eq!(r.registry(), want_registry.as_str());
            let want_path = if want_registry == "docker.io" && !rest.contains('/') {
                format!("library/{rest}")
            } else {
                rest
            };
            prop_assert_eq!(r.path(), want_path.as_str());
            let want_tag = match (&tag, &digest) {
                (Some(t), _) => Some(t.clone()),
                (None, None) => Some("latest".to_owned()),
                (None, Some(_)) => None,
            };
            prop_assert_eq!(r.tag().map(str::to_owned), want_tag);
            prop_assert_eq!(r.digest().map(|d| d.hex().to_owned()), digest);
        }
    }
}
