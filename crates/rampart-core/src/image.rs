//! Image references as written in `FROM`, `COPY --from` and pod specs:
//! `[registry/]repository[:tag][@digest]`.

use serde::Serialize;

/// A parsed image reference. Fields keep what was written: no `docker.io` or `library/` is
/// added (see [`ImageRef::family`] for the normalised short name).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct ImageRef {
    /// The registry host (`ghcr.io`, `localhost:5000`), when one is written.
    pub registry: Option<String>,
    /// The path: `debian`, `library/debian`, `distroless/static-debian12`.
    pub repository: String,
    pub tag: Option<String>,
    /// `algorithm:hex`, when one is written.
    pub digest: Option<String>,
}

impl ImageRef {
    /// Parses a reference; `None` when it is empty or not a plausible reference (spaces,
    /// uppercase repository, empty components, bad tag).
    pub fn parse(text: &str) -> Option<ImageRef> {
        if text.is_empty() || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return None;
        }
        let (name, digest) = match text.split_once('@') {
            Some((n, d)) => (n, Some(d.to_owned())),
            None => (text, None),
        };
        let (registry, rest) = match name.split_once('/') {
            Some((first, rest))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (Some(first.to_owned()), rest)
            }
            _ => (None, name),
        };
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (repository, tag) = match rest.get(last_slash..).and_then(|l| l.rfind(':')) {
            Some(i) => {
                let at = last_slash + i;
                (
                    rest.get(..at).unwrap_or(rest),
                    rest.get(at + 1..).map(str::to_owned),
                )
            }
            None => (rest, None),
        };
        let valid_repo = !repository.is_empty()
            && repository.split('/').all(|c| {
                !c.is_empty()
                    && c.chars().all(|ch| {
                        ch.is_ascii_lowercase() || ch.is_ascii_digit() || "._-".contains(ch)
                    })
            });
        let valid_tag = tag.as_deref().is_none_or(|t| {
            !t.is_empty()
                && t.len() <= 128
                && t.chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || "._-".contains(ch))
        });
        let valid_digest = digest.as_deref().is_none_or(|d| {
            d.split_once(':')
                .is_some_and(|(alg, hex)| !alg.is_empty() && hex.len() >= 32)
        });
        if !(valid_repo && valid_tag && valid_digest) {
            return None;
        }
        Some(ImageRef {
            registry,
            repository: repository.to_owned(),
            tag,
            digest,
        })
    }

    /// The last path component of the repository: `debian`, `static-debian12`, `node`.
    pub fn family(&self) -> &str {
        self.repository
            .rsplit('/')
            .next()
            .unwrap_or(&self.repository)
    }

    /// Whether the reference carries a well-formed `sha256:` (or other) digest.
    pub fn is_pinned(&self) -> bool {
        self.digest.as_deref().is_some_and(|d| {
            d.split_once(':').is_some_and(|(_, hex)| {
                hex.len() >= 32 && hex.chars().all(|c| c.is_ascii_hexdigit())
            })
        })
    }

    /// The full path with registry: `gcr.io/distroless/static`, `debian`.
    pub fn name(&self) -> String {
        match &self.registry {
            Some(r) => format!("{r}/{}", self.repository),
            None => self.repository.clone(),
        }
    }
}

impl std::fmt::Display for ImageRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(r) = &self.registry {
            write!(f, "{r}/")?;
        }
        f.write_str(&self.repository)?;
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
mod tests {
    use super::*;

    #[test]
    fn parses_the_usual_shapes() {
        let r = ImageRef::parse("debian").unwrap_or_else(|| unreachable!());
        assert_eq!(
            (r.registry, r.repository.as_str(), r.tag),
            (None, "debian", None)
        );
        let r = ImageRef::parse("localhost:5000/team/app:1.2@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
            .unwrap_or_else(|| unreachable!());
        assert_eq!(r.registry.as_deref(), Some("localhost:5000"));
        assert_eq!(r.repository, "team/app");
        assert_eq!(r.tag.as_deref(), Some("1.2"));
        assert!(r.is_pinned());
        let r = ImageRef::parse("gcr.io/distroless/static-debian12:nonroot")
            .unwrap_or_else(|| unreachable!());
        assert_eq!(r.family(), "static-debian12");
        assert_eq!(r.to_string(), "gcr.io/distroless/static-debian12:nonroot");
        assert!(ImageRef::parse("Debian").is_none());
        assert!(ImageRef::parse("").is_none());
        assert!(ImageRef::parse("a b").is_none());
        assert!(ImageRef::parse("debian:").is_none());
    }
}
