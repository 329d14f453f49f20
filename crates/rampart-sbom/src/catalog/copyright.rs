//! Debian copyright files (`usr/share/doc/<package>/copyright`): the licenses a dpkg package
//! declares, for the layer reader to merge into that package.
//!
//! Only machine-readable files (DEP-5, copyright-format 1.0: a first paragraph with a `Format`
//! field) are read. Free-form files yield nothing: their license statements ("see
//! /usr/share/common-licenses/GPL-2") rarely say which parts they cover or whether "or later"
//! applies, so no detection from them would be unambiguous.

use super::clean_path;
use crate::MAX_INPUT;

/// The package a copyright file belongs to: `usr/share/doc/<package>/copyright` (a leading `/`
/// or `./` is ignored) gives `<package>`.
pub fn copyright_package(path: &str) -> Option<&str> {
    clean_path(path)
        .strip_prefix("usr/share/doc/")?
        .strip_suffix("/copyright")
        .filter(|p| !p.is_empty() && !p.contains('/'))
}

/// The license short names of a machine-readable (DEP-5) copyright file: the first line of every
/// `License` field (the header's, every `Files` paragraph's and every standalone `License`
/// paragraph's), in file order, trimmed, deduplicated. Returns nothing for a file that is not
/// machine-readable or is over [`MAX_INPUT`] bytes. The syntax is deb822: paragraphs separated by
/// blank lines, `Field: value` lines, continuation lines starting with a space or tab, `#`
/// comment lines ignored, field names case-insensitive.
pub fn debian_copyright_licenses(content: &[u8]) -> Vec<String> {
    if content.len() > MAX_INPUT {
        return Vec::new();
    }
    let text = String::from_utf8_lossy(content);
    let paragraphs = crate::fields::paragraphs_with_comments(&text);
    let Some(header) = paragraphs.first() else {
        return Vec::new();
    };
    if crate::fields::field(header, "Format").is_none() {
        return Vec::new();
    }
    let mut out: Vec<String> = Vec::new();
    // The header (first paragraph), `Files` paragraphs and standalone `License` paragraphs all
    // count: every paragraph that has a `License` field is one of those.
    for para in &paragraphs {
        let Some(value) = crate::fields::field(para, "License") else {
            continue;
        };
        let synopsis = value.lines().next().unwrap_or_default().trim();
        if !synopsis.is_empty() && !out.iter().any(|l| l == synopsis) {
            out.push(synopsis.to_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const DEP5: &str = "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\
Upstream-Name: zlib\n\
Source: https://zlib.net\n\
\n\
Files: *\n\
Copyright: 1995-2022 Jean-loup Gailly and Mark Adler\n\
License: Zlib\n\
\n\
Files: contrib/dotzlib/*\n\
Copyright: 2004 Henrik Ravn\n\
license: BSL-1.0 or Zlib\n\
 with some text\n\
\n\
# a comment\n\
Files: debian/*\n\
Copyright: 2023 Someone\n\
License: Zlib\n\
\n\
License: BSL-1.0\n\
 Boost Software License - Version 1.0\n\
 .\n\
 Permission is hereby granted...\n";

    #[test]
    fn dep5_licenses_in_order_deduplicated() {
        assert_eq!(
            debian_copyright_licenses(DEP5.as_bytes()),
            ["Zlib", "BSL-1.0 or Zlib", "BSL-1.0"]
        );
    }

    #[test]
    fn free_form_yields_nothing() {
        let text = "This is Debian's prepackaged version of foo.\n\nCopyright: 2000 X\n\
                    License: GPL-2\n\nOn Debian systems, see /usr/share/common-licenses/GPL-2.\n";
        assert!(debian_copyright_licenses(text.as_bytes()).is_empty());
        assert!(debian_copyright_licenses(b"").is_empty());
    }

    #[test]
    fn package_from_path() {
        assert_eq!(
            copyright_package("/usr/share/doc/libssl3/copyright"),
            Some("libssl3")
        );
        assert_eq!(copyright_package("./usr/share/doc/a/copyright"), Some("a"));
        assert_eq!(copyright_package("usr/share/doc/a/b/copyright"), None);
        assert_eq!(copyright_package("usr/share/doc//copyright"), None);
        assert_eq!(copyright_package("usr/share/doc/a/changelog.gz"), None);
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC*") {
            let _ = debian_copyright_licenses(s.as_bytes());
        }

        #[test]
        fn never_panics_fieldish(lines in proptest::collection::vec("(Format|Files|License|#|[ \t]|)(:)?[ a-z0-9.+-]{0,12}", 0..40)) {
            let _ = debian_copyright_licenses(lines.join("\n").as_bytes());
        }
    }
}
