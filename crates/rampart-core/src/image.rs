//! Image references as written in `FROM`, `COPY --from` and pod specs:
//! `[registry/]repository[:tag][@digest]`.

use serde::Serialize;

/// rampart's own release image, as `scripts/build-image.sh` builds it (docs/image.md): the
/// binary on a minimal base (its shared libraries, CA certificates, a non-root user; no shell,
/// no package manager). The default image of every manifest rampart prints (the fleet's
/// workers, the monitor's DaemonSet, the admission webhook); its tag is the crate version.
pub const RAMPART_IMAGE: &str = concat!("ghcr.io/rampart/rampart:", env!("CARGO_PKG_VERSION"));

/// The user and group rampart's image runs as (`nonroot`, not root), and the manifests'
/// `runAsUser`/`runAsGroup`.
pub const RAMPART_UID: u32 = 65532;

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
    /// uppercase repository, empty components, bad tag). [`ImageRef::try_parse`] says why.
    pub fn parse(text: &str) -> Option<ImageRef> {
        Self::try_parse(text).ok()
    }

    /// Parses a reference with the grammar of Docker's `reference` package: the first
    /// component is a registry when it contains `.` or `:`, is `localhost`, or has an uppercase
    /// letter; repository components are lowercase alphanumerics joined by `.`, `_`, `__` or
    /// dashes; a tag is `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`; a digest is `algorithm:hex` (at
    /// least 32 hex digits); the name is at most 255 bytes.
    pub fn try_parse(text: &str) -> Result<ImageRef, ImageRefError> {
        let err = |kind: ImageRefErrorKind| ImageRefError {
            reference: text.chars().take(256).collect(),
            kind,
        };
        if text.is_empty() {
            return Err(err(ImageRefErrorKind::Empty));
        }
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(err(ImageRefErrorKind::Whitespace));
        }
        let (name, digest) = match text.split_once('@') {
            Some((n, d)) => (n, Some(d)),
            None => (text, None),
        };
        let (registry, rest) = match name.split_once('/') {
            Some((first, rest))
                if first.contains('.')
                    || first.contains(':')
                    || first == "localhost"
                    || first.chars().any(|c| c.is_ascii_uppercase()) =>
            {
                (Some(first), rest)
            }
            _ => (None, name),
        };
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (repository, tag) = match rest.get(last_slash..).and_then(|l| l.rfind(':')) {
            Some(i) => {
                let at = last_slash + i;
                (rest.get(..at).unwrap_or(rest), rest.get(at + 1..))
            }
            None => (rest, None),
        };
        if let Some(r) = registry {
            if !valid_registry(r) {
                return Err(err(ImageRefErrorKind::Registry(r.to_owned())));
            }
        }
        if !valid_repository(repository) {
            return Err(err(ImageRefErrorKind::Repository(repository.to_owned())));
        }
        let name_len = registry.map_or(0, |r| r.len() + 1) + repository.len();
        if name_len > 255 {
            return Err(err(ImageRefErrorKind::NameTooLong(name_len)));
        }
        if let Some(t) = tag {
            if !valid_tag(t) {
                return Err(err(ImageRefErrorKind::Tag(t.chars().take(200).collect())));
            }
        }
        if let Some(d) = digest {
            if !valid_digest(d) {
                return Err(err(ImageRefErrorKind::Digest(
                    d.chars().take(200).collect(),
                )));
            }
        }
        Ok(ImageRef {
            registry: registry.map(str::to_owned),
            repository: repository.to_owned(),
            tag: tag.map(str::to_owned),
            digest: digest.map(str::to_owned),
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

/// Why a text is not an image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRefError {
    /// the text that was parsed (cut at 256 characters)
    pub reference: String,
    /// what is wrong with it
    pub kind: ImageRefErrorKind,
}

/// The part of a reference that is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageRefErrorKind {
    /// nothing was written
    Empty,
    /// whitespace or a control character
    Whitespace,
    /// the registry is not `host[:port]` (DNS name, IPv4 or bracketed IPv6)
    Registry(String),
    /// the repository path has an empty, uppercase or badly separated component
    Repository(String),
    /// registry and repository together are longer than 255 bytes
    NameTooLong(usize),
    /// the tag is empty, too long or has other characters than `A-Za-z0-9_.-`
    Tag(String),
    /// the digest is not `algorithm:hex` with at least 32 hex digits
    Digest(String),
}

// Display by hand: this crate keeps `serde` as its only dependency.
impl std::fmt::Display for ImageRefError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid image reference {:?}: ", self.reference)?;
        match &self.kind {
            ImageRefErrorKind::Empty => {
                f.write_str("expected [registry/]repository[:tag][@digest], found nothing")
            }
            ImageRefErrorKind::Whitespace => {
                f.write_str("expected no whitespace or control characters")
            }
            ImageRefErrorKind::Registry(r) => {
                write!(f, "expected a registry host[:port], found {r:?}")
            }
            ImageRefErrorKind::Repository(r) => write!(
                f,
                "expected a repository of lowercase letters, digits and single separators (. _ __ -) between `/`, found {r:?}"
            ),
            ImageRefErrorKind::NameTooLong(n) => {
                write!(f, "expected a name of at most 255 bytes, found {n}")
            }
            ImageRefErrorKind::Tag(t) => write!(
                f,
                "expected a tag of at most 128 characters A-Za-z0-9_.- not starting with . or -, found {t:?}"
            ),
            ImageRefErrorKind::Digest(d) => {
                write!(f, "expected a digest algorithm:hex, found {d:?}")
            }
        }
    }
}

impl std::error::Error for ImageRefError {}

/// `host[:port]`: DNS labels of alphanumerics and inner dashes, an IPv4 address (labels of
/// digits pass the same rule), or `[ipv6]`.
fn valid_registry(r: &str) -> bool {
    let (host, port) = if let Some(rest) = r.strip_prefix('[') {
        let Some((v6, after)) = rest.split_once(']') else {
            return false;
        };
        if v6.is_empty()
            || !v6
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        {
            return false;
        }
        match after {
            "" => return true,
            p => match p.strip_prefix(':') {
                Some(port) => ("[]", Some(port)),
                None => return false,
            },
        }
    } else {
        match r.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (r, None),
        }
    };
    let port_ok =
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.chars().all(|c| c.is_ascii_digit()));
    let host_ok = host == "[]"
        || (!host.is_empty()
            && host.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    && !label.starts_with('-')
                    && !label.ends_with('-')
            }));
    port_ok && host_ok
}

/// Components `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*` separated by `/`.
fn valid_repository(repo: &str) -> bool {
    !repo.is_empty()
        && repo.split('/').all(|c| {
            let b = c.as_bytes();
            let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
            if !b.first().is_some_and(|&x| alnum(x)) || !b.last().is_some_and(|&x| alnum(x)) {
                return false;
            }
            let mut i = 0;
            while let Some(&x) = b.get(i) {
                if alnum(x) {
                    i += 1;
                    continue;
                }
                // a separator run: `.`, `_`, `__` or any number of `-`
                let run = b
                    .get(i..)
                    .map_or(0, |s| s.iter().take_while(|&&y| !alnum(y)).count());
                let sep = b.get(i..i + run).unwrap_or_default();
                let ok =
                    sep == b"." || sep == b"_" || sep == b"__" || sep.iter().all(|&y| y == b'-');
                if !ok {
                    return false;
                }
                i += run;
            }
            true
        })
}

fn valid_tag(t: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    t.len() <= 128
        && t.chars().next().is_some_and(word)
        && t.chars().all(|c| word(c) || c == '.' || c == '-')
}

fn valid_digest(d: &str) -> bool {
    d.split_once(':').is_some_and(|(alg, hex)| {
        alg.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && alg
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_+.".contains(c))
            && hex.len() >= 32
            && hex.chars().all(|c| c.is_ascii_hexdigit())
    })
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

    #[test]
    fn try_parse_says_which_part_is_wrong() {
        use ImageRefErrorKind as K;
        let kind = |t: &str| ImageRef::try_parse(t).map(|_| ()).unwrap_err().kind;
        assert_eq!(kind(""), K::Empty);
        assert_eq!(kind("a\tb"), K::Whitespace);
        assert_eq!(
            kind("bad_host.io:x/app"),
            K::Registry("bad_host.io:x".into())
        );
        assert_eq!(kind("[zz]:5000/app"), K::Registry("[zz]:5000".into()));
        assert_eq!(kind("app__-x"), K::Repository("app__-x".into()));
        assert_eq!(kind("a/.b"), K::Repository("a/.b".into()));
        assert_eq!(kind("app:.1"), K::Tag(".1".into()));
        assert_eq!(
            kind(&format!("app:{}", "t".repeat(129))),
            K::Tag("t".repeat(129))
        );
        assert_eq!(kind("app@sha256:xyz"), K::Digest("sha256:xyz".into()));
        assert_eq!(
            kind(&format!("h.io/{}", "a".repeat(251))),
            K::NameTooLong(256)
        );
        // Docker's grammar: separators `.`, `_`, `__`, any run of `-`; uppercase hosts; IPv6
        for ok in [
            "a_b",
            "a__b",
            "a---b",
            "a.b/c-d",
            "Host/app",
            "[::1]:5000/app",
            "h.io:443/a",
        ] {
            assert!(ImageRef::try_parse(ok).is_ok(), "{ok}");
        }
        let shown = ImageRef::try_parse("Debian").unwrap_err().to_string();
        assert!(
            shown.starts_with("invalid image reference \"Debian\": expected a repository"),
            "{shown}"
        );
    }
}
