//! License strings as packages state them, sorted into SPDX ids, SPDX expressions and free text.

use spdx::{Expression, LicenseItem, ParseMode};

/// Longest string tried as an expression; longer ones are free text (no real expression comes
/// close, and it bounds the parser's work).
const MAX_EXPRESSION: usize = 1024;

/// SPDX syntax as the specification writes it, plus the deprecated ids (still on the list) and
/// `GPL-2.0+`; no guessing from imprecise names (`apache`, `BSD`), no `/` for `OR`.
const MODE: ParseMode = ParseMode {
    allow_slash_as_or_operator: false,
    allow_imprecise_license_names: false,
    allow_postfix_plus_on_gpl: true,
    allow_deprecated: true,
    allow_unknown: false,
};

/// What a license string is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum License {
    /// One id from the SPDX license list, canonically spelled (`MIT`, `GPL-2.0-only`).
    Id(&'static str),
    /// A valid SPDX expression that is not a single id, in canonical form
    /// (`MIT OR Apache-2.0`, `GPL-2.0-or-later WITH Classpath-exception-2.0`, `Apache-2.0+`).
    Expression(String),
    /// Anything else (`MIT License`, `BSD`, `Copyright Foo`), trimmed. Expressions naming
    /// `LicenseRef-`s land here too: their texts are not known, so they cannot be declared.
    Text(String),
}

impl License {
    /// Classifies `text`. Ids match case-insensitively, as SPDX says. Deprecated ids with a
    /// defined successor are replaced by it: GNU ids gain the explicit suffix
    /// (`GPL-2.0` -> `GPL-2.0-only`, `LGPL-2.1+` -> `LGPL-2.1-or-later`), ids with a built-in
    /// exception become `WITH` expressions ([`DEPRECATED`]); the other deprecated ids
    /// (`Nunit`, `bzip2-1.0.5`) are kept, they stay valid. `NOASSERTION` and `NONE` state
    /// nothing and give an empty text.
    pub(crate) fn classify(text: &str) -> Self {
        let t = text.trim();
        let original = t;
        let text = || Self::Text(original.to_owned());
        if t.len() > MAX_EXPRESSION {
            return text();
        }
        // SPDX's own words for "nothing stated"; a package saying them states no license.
        if t.eq_ignore_ascii_case("NOASSERTION") || t.eq_ignore_ascii_case("NONE") {
            return Self::Text(String::new());
        }
        let fixed = fix_case(t);
        let t = fixed.as_str();
        let Ok(expr) = Expression::parse_mode(t, MODE) else {
            return text();
        };
        if expr.requirements().any(|r| {
            matches!(r.req.license, LicenseItem::Other(_))
                || r.req.addition.as_ref().is_some_and(|a| a.id().is_none())
        }) {
            return text();
        }
        // `canonicalize` also maps imprecise names, but `MODE` has already refused those; it
        // turns the deprecated `GPL-2.0-with-classpath-exception` into an unknown id, so its
        // output is kept only when it parses.
        let (canon, expr) = match Expression::canonicalize(t) {
            Ok(Some(c)) => match Expression::parse_mode(&c, MODE) {
                Ok(e) => (c, e),
                Err(_) => (t.to_owned(), expr),
            },
            _ => (t.to_owned(), expr),
        };
        let mut reqs = expr.requirements();
        if let (Some(r), None) = (reqs.next(), reqs.next()) {
            if let (
                LicenseItem::Spdx {
                    id,
                    or_later: false,
                },
                None,
            ) = (&r.req.license, &r.req.addition)
            {
                return Self::Id(id.name);
            }
        }
        Self::Expression(canon)
    }

    /// The SPDX expression for this license: the id, the expression, or `text_ref` for text.
    pub(crate) fn spdx_term(&self, text_ref: impl FnOnce(&str) -> String) -> String {
        match self {
            Self::Id(id) => (*id).to_owned(),
            Self::Expression(e) => format!("({e})"),
            Self::Text(t) => text_ref(t),
        }
    }
}

/// `text` with every license and exception id spelled as the SPDX list spells it: the
/// specification matches ids case-insensitively (`mit` is `MIT`), the `spdx` crate only
/// exactly, and its lax mode also guesses from imprecise names, which we do not want.
fn fix_case(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if c.is_whitespace() || c == '(' || c == ')' {
            out.push_str(&fix_word(&word));
            word.clear();
            out.push(c);
        } else {
            word.push(c);
        }
    }
    out.pop();
    out
}

fn fix_word(word: &str) -> String {
    if let Some((_, successor)) = DEPRECATED
        .iter()
        .find(|(id, _)| id.eq_ignore_ascii_case(word))
    {
        return (*successor).to_owned();
    }
    let base = word.strip_suffix('+').unwrap_or(word);
    let plus = if base.len() < word.len() { "+" } else { "" };
    if base.is_empty()
        || spdx::license_id(base).is_some()
        || spdx::exception_id(base).is_some()
        || ["AND", "OR", "WITH"]
            .iter()
            .any(|op| op.eq_ignore_ascii_case(base))
    {
        return word.to_owned();
    }
    spdx::identifiers::LICENSES
        .iter()
        .map(|l| l.name)
        .chain(spdx::identifiers::EXCEPTIONS.iter().map(|e| e.name))
        .find(|name| name.eq_ignore_ascii_case(base))
        .map_or_else(|| word.to_owned(), |name| format!("{name}{plus}"))
}

/// Deprecated ids that name a license with an exception, and the expression the SPDX license
/// list replaced each with (GNU ids without `-only`/`-or-later` meant `-only`, as for bare
/// `GPL-2.0`). Written here because the `spdx` crate knows which ids are deprecated but not
/// their successors. `spdx-tools` rejects these ids, reading them as exceptions.
const DEPRECATED: &[(&str, &str)] = &[
    (
        "GPL-2.0-with-autoconf-exception",
        "GPL-2.0-only WITH Autoconf-exception-2.0",
    ),
    (
        "GPL-2.0-with-bison-exception",
        "GPL-2.0-only WITH Bison-exception-2.2",
    ),
    (
        "GPL-2.0-with-classpath-exception",
        "GPL-2.0-only WITH Classpath-exception-2.0",
    ),
    (
        "GPL-2.0-with-font-exception",
        "GPL-2.0-only WITH Font-exception-2.0",
    ),
    (
        "GPL-2.0-with-GCC-exception",
        "GPL-2.0-only WITH GCC-exception-2.0",
    ),
    (
        "GPL-3.0-with-autoconf-exception",
        "GPL-3.0-only WITH Autoconf-exception-3.0",
    ),
    (
        "GPL-3.0-with-GCC-exception",
        "GPL-3.0-only WITH GCC-exception-3.1",
    ),
    ("eCos-2.0", "GPL-2.0-or-later WITH eCos-exception-2.0"),
    (
        "wxWindows",
        "LGPL-2.0-or-later WITH WxWindows-exception-3.1",
    ),
];

/// The ids CycloneDX 1.6 accepts as `license.id`: the enum of its `spdx.schema.json` (SPDX
/// license list 3.28, licenses and exceptions, deprecated ones included), sorted. A newer id
/// known to the `spdx` crate but absent here goes out as an `expression`, which the schema
/// does not restrict. A test keeps this list equal to the official schema's.
const CYCLONEDX_IDS: &str = include_str!("cyclonedx-spdx-ids.txt");

/// Whether CycloneDX 1.6 accepts `id` as a `license.id`.
pub(crate) fn cyclonedx_knows(id: &str) -> bool {
    // The list is small (811 lines); a linear scan per license costs nothing next to the
    // rendering, and needs no index built at startup.
    CYCLONEDX_IDS.lines().any(|l| l == id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use License::{Expression as E, Id, Text};

    #[test]
    fn table() {
        let e = |s: &str| E(s.to_owned());
        let t = |s: &str| Text(s.to_owned());
        let cases = [
            ("MIT", Id("MIT")),
            ("  MIT \n", Id("MIT")),
            ("(MIT)", Id("MIT")),
            ("GPL-2.0", Id("GPL-2.0-only")),
            ("GPL-2.0+", Id("GPL-2.0-or-later")),
            ("AGPL-3.0", Id("AGPL-3.0-only")),
            ("GFDL-1.3+", Id("GFDL-1.3-or-later")),
            ("Nunit", Id("Nunit")),
            ("eCos-2.0", e("GPL-2.0-or-later WITH eCos-exception-2.0")),
            (
                "gpl-2.0-with-classpath-exception OR MIT",
                e("GPL-2.0-only WITH Classpath-exception-2.0 OR MIT"),
            ),
            ("NOASSERTION", t("")),
            ("none", t("")),
            ("Apache-2.0+", e("Apache-2.0+")),
            ("MIT or Apache-2.0", e("MIT OR Apache-2.0")),
            (
                "LGPL-2.1+ AND BSD-3-Clause",
                e("LGPL-2.1-or-later AND BSD-3-Clause"),
            ),
            (
                "GPL-2.0 WITH Classpath-exception-2.0",
                e("GPL-2.0-only WITH Classpath-exception-2.0"),
            ),
            ("MIT License", t("MIT License")),
            ("mit", Id("MIT")),
            (
                "apache-2.0 or GPL-2.0+",
                e("Apache-2.0 OR GPL-2.0-or-later"),
            ),
            ("(mit)", Id("MIT")),
            ("apache", t("apache")),
            ("BSD", t("BSD")),
            ("MIT/Apache-2.0", t("MIT/Apache-2.0")),
            ("MIT OR LicenseRef-foo", t("MIT OR LicenseRef-foo")),
            ("MIT WITH AdditionRef-x", t("MIT WITH AdditionRef-x")),
            ("MIT AND", t("MIT AND")),
            ("", t("")),
            ("\u{0}\u{7f}", t("\u{0}\u{7f}")),
        ];
        for (input, want) in cases {
            assert_eq!(License::classify(input), want, "{input:?}");
        }
        let long = format!("MIT{}", " OR MIT".repeat(MAX_EXPRESSION));
        assert!(matches!(License::classify(&long), Text(_)));
    }

    #[test]
    fn deprecated_successors_are_valid_and_current() {
        for (id, successor) in DEPRECATED {
            assert!(
                spdx::license_id(id).is_some_and(|l| l.is_deprecated()),
                "{id}"
            );
            let expr = Expression::parse(successor);
            assert!(expr.is_ok(), "{successor}");
            assert!(
                expr.iter().flat_map(|e| e.requirements()).all(|r| r
                    .req
                    .license
                    .id()
                    .is_some_and(|l| !l.is_deprecated())),
                "{successor}"
            );
        }
    }

    #[test]
    fn cyclonedx_id_list_is_sorted_and_has_the_usual_ids() {
        let ids: Vec<&str> = CYCLONEDX_IDS.lines().collect();
        assert!(ids.windows(2).all(|w| matches!(w, [a, b] if a < b)));
        for id in ["MIT", "Apache-2.0", "GPL-2.0-only", "GPL-2.0", "eCos-2.0"] {
            assert!(cyclonedx_knows(id), "{id}");
        }
        assert!(!cyclonedx_knows("MIT License"));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,80}", ops in "(MIT|AND|OR|WITH|\\(|\\)|\\+|GPL-2.0| |/|LicenseRef-x|Classpath-exception-2.0){0,12}") {
            let _ = License::classify(&s);
            let _ = License::classify(&ops);
        }
    }
}
