//! Ruby: installed gem specifications (`specifications/*.gemspec`).

use super::{CatalogContext, Cataloger, clean_path, text};
use crate::{CatalogError, Ecosystem, Package, Purl};

/// Installed gems. Paths: `.../specifications/<gem>.gemspec` and
/// `.../specifications/default/<gem>.gemspec` (default gems). The Ruby is not evaluated: the
/// first `<var>.name = `, `<var>.version = `, `<var>.platform = ` assignments (a platform other
/// than `ruby` becomes the purl `platform` qualifier) and `<var>.license(s) = ` lines are read,
/// taking string literals (`"x"`, `'x'`, `%q{x}`, with or without `.freeze`).
#[derive(Debug, Clone, Copy)]
pub struct Gemspec;

impl Cataloger for Gemspec {
    fn name(&self) -> &'static str {
        "gemspec"
    }

    fn wants(&self, path: &str) -> bool {
        let p = clean_path(path);
        let Some(dir_end) = p.rfind('/') else {
            return false;
        };
        let (dir, file) = p.split_at(dir_end);
        file.len() > "/.gemspec".len()
            && file.ends_with(".gemspec")
            && (dir == "specifications"
                || dir.ends_with("/specifications")
                || dir.ends_with("/specifications/default"))
    }

    fn parse(
        &self,
        path: &str,
        content: &[u8],
        _ctx: &CatalogContext,
    ) -> Result<Vec<Package>, CatalogError> {
        let text = text(path, content)?;
        let (mut name, mut version, mut platform, mut licenses) = (None, None, None, Vec::new());
        for line in text.lines() {
            let Some((lhs, rhs)) = line.trim().split_once('=') else {
                continue;
            };
            let Some((_, attr)) = lhs.trim().rsplit_once('.') else {
                continue;
            };
            match attr.trim() {
                "name" if name.is_none() => name = literals(rhs).into_iter().next(),
                "version" if version.is_none() => version = literals(rhs).into_iter().next(),
                "platform" if platform.is_none() => platform = literals(rhs).into_iter().next(),
                "license" | "licenses" => licenses.extend(literals(rhs)),
                _ => {}
            }
        }
        let (Some(name), Some(version)) = (name, version) else {
            return Ok(Vec::new());
        };
        if name.is_empty() || version.is_empty() {
            return Ok(Vec::new());
        }
        let Ok(mut purl) = Purl::new("gem", None, &name, Some(&version)) else {
            return Ok(Vec::new());
        };
        if let Some(p) = platform.filter(|p| p != "ruby") {
            purl = match purl.with_qualifier("platform", &p) {
                Ok(q) => q,
                Err(_) => return Ok(Vec::new()),
            };
        }
        let mut pkg = Package::new(Ecosystem::Gem, name, version, purl, path);
        for l in &licenses {
            pkg.add_license(l);
        }
        Ok(vec![pkg])
    }
}

/// The Ruby string literals in `s` (`"..."` with backslash escapes, `'...'`, `%q{...}`).
fn literals(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        let close = match c {
            '"' | '\'' => c,
            '%' if matches!(chars.peek(), Some('q' | 'Q')) => {
                chars.next();
                match chars.next() {
                    Some('{') => '}',
                    Some('(') => ')',
                    Some('[') => ']',
                    Some('<') => '>',
                    Some(d) => d,
                    None => break,
                }
            }
            '#' => break, // comment
            _ => continue,
        };
        let mut lit = String::new();
        let mut closed = false;
        while let Some(ch) = chars.next() {
            if ch == '\\' {
                if let Some(esc) = chars.next() {
                    lit.push(esc);
                }
            } else if ch == close {
                closed = true;
                break;
            } else {
                lit.push(ch);
            }
        }
        if closed {
            out.push(lit);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rubygems_written_spec() -> Result<(), CatalogError> {
        let spec = b"# -*- encoding: utf-8 -*-\n# stub: rake 13.0.6 ruby lib\n\n\
Gem::Specification.new do |s|\n  s.name = \"rake\".freeze\n  s.version = \"13.0.6\"\n\n\
  s.required_rubygems_version = Gem::Requirement.new(\">= 1.3.2\".freeze) if s.respond_to? :required_rubygems_version=\n\
  s.licenses = [\"MIT\".freeze, 'Ruby'.freeze]\n  s.add_runtime_dependency(%q<x>.freeze, [\"= 1\"])\nend\n";
        let p = Gemspec.parse(
            "usr/lib/ruby/gems/3.1.0/specifications/rake-13.0.6.gemspec",
            spec,
            &CatalogContext::default(),
        )?;
        let got: Vec<String> = p
            .iter()
            .map(|p| format!("{} {:?}", p.purl, p.licenses))
            .collect();
        assert_eq!(got, [r#"pkg:gem/rake@13.0.6 ["MIT", "Ruby"]"#]);
        Ok(())
    }

    #[test]
    fn old_style_and_paths() -> Result<(), CatalogError> {
        let spec = b"Gem::Specification.new do |spec|\n  spec.name = %q{json}\n  spec.version = \"2.6.3\"\n  spec.platform = \"java\"\n  spec.license = \"Ruby\"\nend\n";
        let p = Gemspec.parse(
            "x/specifications/default/json-2.6.3.gemspec",
            spec,
            &CatalogContext::default(),
        )?;
        assert_eq!(
            p.first().map(|p| p.purl.to_string()).as_deref(),
            Some("pkg:gem/json@2.6.3?platform=java")
        );
        assert!(
            Gemspec.wants("/usr/share/rubygems-integration/all/specifications/racc-1.6.2.gemspec")
        );
        assert!(Gemspec.wants("usr/lib/ruby/gems/3.1.0/specifications/default/json-2.6.3.gemspec"));
        assert!(!Gemspec.wants("app/rake.gemspec"));
        assert!(!Gemspec.wants("specifications/.gemspec"));
        assert_eq!(
            literals(r#" "a\"b" 'c' %q(d) "unterminated"#),
            ["a\"b", "c", "d"]
        );
        Ok(())
    }

    proptest! {
        #[test]
        fn never_panics(lines in proptest::collection::vec("(s\\.(name|version|licenses) = )?\\PC{0,20}", 0..20)) {
            let _ = Gemspec.parse("specifications/x.gemspec", lines.join("\n").as_bytes(), &CatalogContext::default());
        }
    }
}
