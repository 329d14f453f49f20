//! Package URLs, rendered in canonical form per the purl specification
//! (<https://github.com/package-url/purl-spec>): lowercase type, type-specific normalization of
//! namespace and name, percent-encoding of everything outside `A-Za-z0-9.-_~:`, qualifiers with
//! lowercase keys, empty values dropped and keys sorted, subpath without empty, `.` or `..`
//! segments.

use std::collections::BTreeMap;
use std::fmt;

use crate::PurlError;

/// A package URL. Construct it with [`Purl::new`], which applies the type's normalization, then
/// add qualifiers; `Display` renders the canonical string.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Purl {
    ty: String,
    namespace: Option<String>,
    name: String,
    version: Option<String>,
    qualifiers: BTreeMap<String, String>,
    subpath: Option<String>,
}

impl Purl {
    /// Builds a purl of type `ty` (case-insensitive). The namespace and name are normalized as the
    /// type requires (e.g. `pypi` names lowercased with `_` turned into `-`; `deb`, `apk`,
    /// `composer`, `github`, `bitbucket` namespace and name lowercased). Empty namespace and
    /// version are treated as absent.
    pub fn new(
        ty: &str,
        namespace: Option<&str>,
        name: &str,
        version: Option<&str>,
    ) -> Result<Self, PurlError> {
        let ty = ty.to_ascii_lowercase();
        let type_ok = ty.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
            && ty
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
        if !type_ok {
            return Err(PurlError::InvalidType(ty));
        }
        let lower_ns = matches!(
            ty.as_str(),
            "deb" | "apk" | "alpm" | "composer" | "github" | "bitbucket" | "hex"
        );
        let lower_name = matches!(
            ty.as_str(),
            "deb" | "apk" | "alpm" | "composer" | "github" | "bitbucket" | "hex" | "pypi"
        );
        let namespace = namespace
            .map(|ns| {
                ns.split('/')
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join("/")
            })
            .filter(|ns| !ns.is_empty())
            .map(|ns| if lower_ns { ns.to_lowercase() } else { ns });
        let mut name = name.trim_matches('/').to_owned();
        if lower_name {
            name = name.to_lowercase();
        }
        if ty == "pypi" {
            name = name.replace('_', "-");
        }
        if name.is_empty() {
            return Err(PurlError::MissingName);
        }
        Ok(Self {
            ty,
            namespace,
            name,
            version: version.filter(|v| !v.is_empty()).map(str::to_owned),
            qualifiers: BTreeMap::new(),
            subpath: None,
        })
    }

    /// Adds a qualifier (key lowercased; an empty value removes the key, as the spec drops
    /// qualifiers with empty values). Keys must match `[a-z0-9._-]` after lowercasing.
    pub fn with_qualifier(mut self, key: &str, value: &str) -> Result<Self, PurlError> {
        let key = key.to_ascii_lowercase();
        let key_ok = key.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
            && key.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
            });
        if !key_ok {
            return Err(PurlError::InvalidQualifierKey(key));
        }
        if value.is_empty() {
            self.qualifiers.remove(&key);
        } else {
            self.qualifiers.insert(key, value.to_owned());
        }
        Ok(self)
    }

    /// Sets the subpath; empty, `.` and `..` segments are removed.
    #[must_use]
    pub fn with_subpath(mut self, subpath: &str) -> Self {
        let cleaned = subpath
            .split('/')
            .filter(|s| !s.is_empty() && *s != "." && *s != "..")
            .collect::<Vec<_>>()
            .join("/");
        self.subpath = (!cleaned.is_empty()).then_some(cleaned);
        self
    }

    /// The lowercase type (`deb`, `npm`, `pypi`...).
    pub fn ty(&self) -> &str {
        &self.ty
    }
    /// The normalized namespace, not encoded.
    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }
    /// The normalized name, not encoded.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The version, not encoded.
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }
    /// The qualifiers, sorted by key.
    pub fn qualifiers(&self) -> &BTreeMap<String, String> {
        &self.qualifiers
    }
    /// The subpath, not encoded.
    pub fn subpath(&self) -> Option<&str> {
        self.subpath.as_deref()
    }
}

impl serde::Serialize for Purl {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Read back from its canonical string (as [`Serialize`](serde::Serialize) writes it); a string
/// that is not a purl is an error.
impl<'de> serde::Deserialize<'de> for Purl {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl std::str::FromStr for Purl {
    type Err = PurlError;

    /// Parses a purl string as the specification's parsing procedure describes (scheme `pkg`,
    /// slashes after the scheme ignored, components percent-decoded) and normalizes it, so
    /// `to_string()` gives the canonical form.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (rest, subpath) = match s.rsplit_once('#') {
            Some((r, sp)) => (r, Some(sp)),
            None => (s, None),
        };
        let (rest, qualifiers) = match rest.rsplit_once('?') {
            Some((r, q)) => (r, Some(q)),
            None => (rest, None),
        };
        let (scheme, rest) = rest.split_once(':').ok_or(PurlError::MissingScheme)?;
        if !scheme.eq_ignore_ascii_case("pkg") {
            return Err(PurlError::MissingScheme);
        }
        let rest = rest.trim_matches('/');
        let (ty, rest) = rest.split_once('/').ok_or(PurlError::MissingName)?;
        // The version follows the last '@' of the name segment; an '@' before the last '/' is
        // an unencoded npm scope (`pkg:npm/@babel/core`).
        let last_slash = rest.rfind('/');
        let (rest, version) = match rest
            .rfind('@')
            .filter(|&at| last_slash.is_none_or(|sl| at > sl))
        {
            Some(at) => (
                rest.get(..at).unwrap_or_default(),
                Some(decode(rest.get(at + 1..).unwrap_or_default())?),
            ),
            None => (rest, None),
        };
        let (namespace, name) = match rest.rsplit_once('/') {
            Some((ns, n)) => {
                let segs = ns
                    .split('/')
                    .filter(|seg| !seg.is_empty())
                    .map(decode)
                    .collect::<Result<Vec<_>, _>>()?;
                (Some(segs.join("/")), decode(n)?)
            }
            None => (None, decode(rest)?),
        };
        let mut purl = Self::new(ty, namespace.as_deref(), &name, version.as_deref())?;
        for pair in qualifiers.into_iter().flat_map(|q| q.split('&')) {
            if pair.is_empty() {
                continue;
            }
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            purl = purl.with_qualifier(k, &decode(v)?)?;
        }
        if let Some(sp) = subpath {
            let segs = sp.split('/').map(decode).collect::<Result<Vec<_>, _>>()?;
            purl = purl.with_subpath(&segs.join("/"));
        }
        Ok(purl)
    }
}

/// Percent-decodes a component; the result must be UTF-8.
fn decode(s: &str) -> Result<String, PurlError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| PurlError::BadEncoding(s.to_owned()))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| PurlError::BadEncoding(s.to_owned()))
}

/// Percent-encodes `s`, keeping the characters the spec forbids encoding (alphanumerics,
/// `.-_~`, the colon) and any byte listed in `keep`.
fn encode(out: &mut String, s: &str, keep: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in s.bytes() {
        if b.is_ascii_alphanumeric()
            || matches!(b, b'.' | b'-' | b'_' | b'~' | b':')
            || keep.contains(&b)
        {
            out.push(char::from(b));
        } else {
            out.push('%');
            for nibble in [b >> 4, b & 0x0f] {
                if let Some(&h) = HEX.get(usize::from(nibble)) {
                    out.push(char::from(h));
                }
            }
        }
    }
}

fn encode_segments(out: &mut String, s: &str) {
    for (i, seg) in s.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        encode(out, seg, &[]);
    }
}

impl fmt::Display for Purl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::with_capacity(64);
        out.push_str("pkg:");
        out.push_str(&self.ty);
        out.push('/');
        if let Some(ns) = &self.namespace {
            encode_segments(&mut out, ns);
            out.push('/');
        }
        encode(&mut out, &self.name, &[]);
        if let Some(v) = &self.version {
            out.push('@');
            encode(&mut out, v, &[]);
        }
        for (i, (k, v)) in self.qualifiers.iter().enumerate() {
            out.push(if i == 0 { '?' } else { '&' });
            out.push_str(k);
            out.push('=');
            encode(&mut out, v, &[]);
        }
        if let Some(sp) = &self.subpath {
            out.push('#');
            encode_segments(&mut out, sp);
        }
        f.write_str(&out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deb_with_distro_qualifiers() -> Result<(), PurlError> {
        let p = Purl::new("deb", Some("debian"), "openssl", Some("3.0.15-1~deb12u1"))?
            .with_qualifier("distro", "debian-12")?
            .with_qualifier("arch", "amd64")?;
        assert_eq!(
            p.to_string(),
            "pkg:deb/debian/openssl@3.0.15-1~deb12u1?arch=amd64&distro=debian-12"
        );
        Ok(())
    }

    #[test]
    fn encodes_plus_and_non_ascii() -> Result<(), PurlError> {
        let p = Purl::new(
            "deb",
            Some("debian"),
            "libstdc++6",
            Some("12.2.0-14+deb12u1"),
        )?;
        assert_eq!(
            p.to_string(),
            "pkg:deb/debian/libstdc%2B%2B6@12.2.0-14%2Bdeb12u1"
        );
        let p = Purl::new("npm", None, "é", Some("1 0"))?;
        assert_eq!(p.to_string(), "pkg:npm/%C3%A9@1%200");
        Ok(())
    }

    #[test]
    fn npm_scope_and_pypi_name() -> Result<(), PurlError> {
        let p = Purl::new("npm", Some("@types"), "node", Some("22.1.0"))?;
        assert_eq!(p.to_string(), "pkg:npm/%40types/node@22.1.0");
        let p = Purl::new("pypi", None, "Typing_Extensions", Some("4.12.2"))?;
        assert_eq!(p.to_string(), "pkg:pypi/typing-extensions@4.12.2");
        Ok(())
    }

    proptest::proptest! {
        #[test]
        fn display_parse_round_trip(
            ty in "(deb|npm|pypi|maven|golang|generic)",
            ns in proptest::option::of("[ -~é/]{1,12}"),
            name in "[ -~é]{1,12}",
            version in proptest::option::of("[ -~é]{1,12}"),
            qv in "[ -~é]{0,8}",
            sub in "[ -~é/]{0,12}",
        ) {
            if let Ok(p) = Purl::new(&ty, ns.as_deref(), &name, version.as_deref()) {
                if let Ok(p) = p.with_qualifier("k", &qv).map(|p| p.with_subpath(&sub)) {
                    let text = p.to_string();
                    let back: Result<Purl, _> = text.parse();
                    proptest::prop_assert_eq!(back.as_ref().map(ToString::to_string), Ok(text.clone()));
                }
            }
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,60}") {
            let _ = s.parse::<Purl>();
        }
    }

    #[test]
    fn rejects_bad_type_key_and_empty_name() {
        assert!(Purl::new("", None, "x", None).is_err());
        assert!(Purl::new("a b", None, "x", None).is_err());
        assert!(Purl::new("npm", None, "", None).is_err());
        assert!(
            Purl::new("npm", None, "x", None)
                .and_then(|p| p.with_qualifier("in production", "true"))
                .is_err()
        );
    }
}
