//! Java archive metadata as text: `META-INF/maven/<group>/<artifact>/pom.properties` and
//! `META-INF/MANIFEST.MF`. The archives themselves (jar, war, ear and nested jars) are walked by
//! [`catalog_java_archive`](super::catalog_java_archive), which uses these parsers.

use super::{CatalogContext, Cataloger, check_size, clean_path};
use crate::{CatalogError, Ecosystem, Package, Purl};

/// Maven artifacts from `pom.properties` (Java properties format: `groupId`, `artifactId`,
/// `version`). Path: any path ending in `META-INF/maven/<group>/<artifact>/pom.properties`.
#[derive(Debug, Clone, Copy)]
pub struct JavaPomProperties;

impl Cataloger for JavaPomProperties {
    fn name(&self) -> &'static str {
        "java-pom-properties"
    }

    fn wants(&self, path: &str) -> bool {
        let p = clean_path(path);
        let Some(idx) = p.rfind("META-INF/maven/") else {
            return false;
        };
        let rest = p.get(idx + "META-INF/maven/".len()..).unwrap_or_default();
        let segs: Vec<&str> = rest.split('/').collect();
        matches!(segs.as_slice(), [g, a, "pom.properties"] if !g.is_empty() && !a.is_empty())
    }

    fn parse(
        &self,
        path: &str,
        content: &[u8],
        _ctx: &CatalogContext,
    ) -> Result<Vec<Package>, CatalogError> {
        check_size(path, content)?;
        let Some((group, artifact, version)) = pom_coordinates(content) else {
            return Ok(Vec::new());
        };
        let (group, artifact, version) = (group.as_str(), artifact.as_str(), version.as_str());
        let Ok(purl) = Purl::new("maven", Some(group), artifact, Some(version)) else {
            return Ok(Vec::new());
        };
        Ok(vec![Package::new(
            Ecosystem::Maven,
            artifact.to_owned(),
            version.to_owned(),
            purl,
            path,
        )])
    }
}

/// `(groupId, artifactId, version)` from pom.properties content, each trimmed and non-empty
/// (the last definition of a key wins, as in `java.util.Properties`).
pub(crate) fn pom_coordinates(content: &[u8]) -> Option<(String, String, String)> {
    let props = parse_properties(content);
    let get = |k: &str| {
        props
            .iter()
            .rev()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    Some((get("groupId")?, get("artifactId")?, get("version")?))
}

/// Parses the Java properties format (ISO-8859-1 text; `#`/`!` comments; `=`, `:` or
/// whitespace separators; backslash line continuations and escapes including `\uXXXX`).
pub fn parse_properties(content: &[u8]) -> Vec<(String, String)> {
    // Properties files are ISO-8859-1: every byte is one char.
    let text: String = content.iter().map(|&b| char::from(b)).collect();
    let mut logical: Vec<String> = Vec::new();
    let mut current: Option<String> = None;
    for raw in text.split(['\n', '\r']) {
        let line = raw.trim_start_matches([' ', '\t', '\x0c']);
        let joined = match current.take() {
            Some(mut prev) => {
                prev.push_str(line);
                prev
            }
            None => {
                if line.is_empty() || line.starts_with(['#', '!']) {
                    continue;
                }
                line.to_owned()
            }
        };
        // An odd number of trailing backslashes continues the line.
        let trailing = joined.chars().rev().take_while(|&c| c == '\\').count();
        if trailing % 2 == 1 {
            let mut j = joined;
            j.pop();
            current = Some(j);
        } else {
            logical.push(joined);
        }
    }
    logical.extend(current);
    logical.iter().map(|l| split_property(l)).collect()
}

fn split_property(line: &str) -> (String, String) {
    let mut key = String::new();
    let mut chars = line.chars().peekable();
    let mut escaped = false;
    while let Some(&c) = chars.peek() {
        if escaped {
            // Keep the escape for `unescape` below; it only stops the separator test.
            key.push('\\');
            key.push(c);
            escaped = false;
            chars.next();
            continue;
        }
        if c == '\\' {
            escaped = true;
            chars.next();
            continue;
        }
        if matches!(c, '=' | ':' | ' ' | '\t' | '\x0c') {
            break;
        }
        key.push(c);
        chars.next();
    }
    // Separator: whitespace, then at most one '=' or ':', then whitespace.
    while chars
        .peek()
        .is_some_and(|c| matches!(c, ' ' | '\t' | '\x0c'))
    {
        chars.next();
    }
    if chars.peek().is_some_and(|c| matches!(c, '=' | ':')) {
        chars.next();
        while chars
            .peek()
            .is_some_and(|c| matches!(c, ' ' | '\t' | '\x0c'))
        {
            chars.next();
        }
    }
    let rest: String = chars.collect();
    (unescape(&key), unescape(&rest))
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\x0c'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                if let Some(ch) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    out.push(ch);
                }
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// A jar manifest: the main attributes and the per-entry sections, names and values as
/// written (continuation lines joined, as `java.util.jar.Manifest` does).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    /// Main section attributes, in order.
    pub main: Vec<(String, String)>,
    /// Per-entry sections (each begins with `Name:`), in order.
    pub sections: Vec<Vec<(String, String)>>,
}

impl Manifest {
    /// Parses `META-INF/MANIFEST.MF`: `Name: value` lines (CRLF, LF or CR), a line starting
    /// with one space continues the previous value, blank lines separate sections. Invalid
    /// UTF-8 is replaced, lines without `: ` are skipped.
    pub fn parse(content: &[u8]) -> Result<Self, CatalogError> {
        check_size("META-INF/MANIFEST.MF", content)?;
        let text = String::from_utf8_lossy(content);
        let mut manifest = Self::default();
        let mut current: Vec<(String, String)> = Vec::new();
        let mut in_main = true;
        let lines = text.split("\r\n").flat_map(|l| l.split(['\n', '\r']));
        for line in lines {
            if line.is_empty() {
                if in_main {
                    manifest.main = std::mem::take(&mut current);
                    in_main = false;
                } else if !current.is_empty() {
                    manifest.sections.push(std::mem::take(&mut current));
                }
                continue;
            }
            if let Some(cont) = line.strip_prefix(' ') {
                if let Some((_, v)) = current.last_mut() {
                    v.push_str(cont);
                }
                continue;
            }
            if let Some((k, v)) = line.split_once(": ") {
                current.push((k.to_owned(), v.to_owned()));
            } else if let Some(k) = line.strip_suffix(':') {
                current.push((k.to_owned(), String::new()));
            }
        }
        if in_main {
            manifest.main = current;
        } else if !current.is_empty() {
            manifest.sections.push(current);
        }
        Ok(manifest)
    }

    /// A main attribute (names are case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.main
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Best-effort (name, version) for an archive without pom.properties:
    /// `Bundle-SymbolicName` (parameters after `;` dropped) or `Implementation-Title`, with
    /// `Bundle-Version` or `Implementation-Version`. The jar walker combines it with the file
    /// name; a manifest alone does not identify a Maven group.
    pub fn name_version(&self) -> Option<(&str, &str)> {
        let name = self
            .get("Bundle-SymbolicName")
            .and_then(|n| n.split(';').next())
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .or_else(|| self.get("Implementation-Title").map(str::trim))
            .filter(|n| !n.is_empty())?;
        let version = self
            .get("Bundle-Version")
            .or_else(|| self.get("Implementation-Version"))
            .map(str::trim)
            .filter(|v| !v.is_empty())?;
        Some((name, version))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn pom_properties() -> Result<(), CatalogError> {
        let c = JavaPomProperties;
        assert!(c.wants("app.jar!/META-INF/maven/org.slf4j/slf4j-api/pom.properties"));
        assert!(c.wants("/opt/x/META-INF/maven/g/a/pom.properties"));
        assert!(!c.wants("META-INF/maven/g/pom.properties"));
        let p = c.parse(
            "META-INF/maven/org.slf4j/slf4j-api/pom.properties",
            b"#Generated by Maven\n#Fri Sep 17 08:43:00 UTC 2021\nversion=1.7.32\ngroupId = org.slf4j\nartifactId:slf4j-\\\n   api\n",
            &CatalogContext::default(),
        )?;
        assert_eq!(
            p.first().map(|p| p.purl.to_string()).as_deref(),
            Some("pkg:maven/org.slf4j/slf4j-api@1.7.32")
        );
        Ok(())
    }

    #[test]
    fn properties_escapes() {
        let p = parse_properties(b"a\\ b=c\\u0041\\td\nk v\n! comment\nx\\\\\n\xe9=1\n");
        assert_eq!(
            p,
            [
                ("a b".to_owned(), "cA\td".to_owned()),
                ("k".to_owned(), "v".to_owned()),
                ("x\\".to_owned(), String::new()),
                ("\u{e9}".to_owned(), "1".to_owned()),
            ]
        );
    }

    #[test]
    fn manifest_continuations_and_sections() -> Result<(), CatalogError> {
        let m = Manifest::parse(
            b"Manifest-Version: 1.0\r\nBundle-SymbolicName: org.apache.commons.lang3;singleton:=tr\r\n ue\r\nBundle-Version: 3.12.0\r\n\r\nName: a/B.class\r\nSHA-256-Digest: x\r\n",
        )?;
        assert_eq!(
            m.get("bundle-symbolicname"),
            Some("org.apache.commons.lang3;singleton:=true")
        );
        assert_eq!(
            m.name_version(),
            Some(("org.apache.commons.lang3", "3.12.0"))
        );
        assert_eq!(m.sections.len(), 1);
        Ok(())
    }

    proptest! {
        #[test]
        fn never_panics(s in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = parse_properties(&s);
            let _ = Manifest::parse(&s);
            let _ = JavaPomProperties.parse("META-INF/maven/g/a/pom.properties", &s, &CatalogContext::default());
        }

        #[test]
        fn never_panics_texty(s in "[a-zA-Z\\\\:= \\n\\r#!u0-9]{0,200}") {
            let _ = parse_properties(s.as_bytes());
            let _ = Manifest::parse(s.as_bytes());
        }
    }
}
