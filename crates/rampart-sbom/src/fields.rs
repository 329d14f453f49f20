//! Line-oriented field formats shared by catalogers: deb822 paragraphs (dpkg status), apk's
//! `K:value` database and RFC 822 style email headers (Python core metadata).

/// One paragraph: fields in order, values with continuation lines joined by `\n`.
pub(crate) type Paragraph = Vec<(String, String)>;

/// Splits `text` into paragraphs separated by blank (or whitespace-only) lines. A line starting
/// with a space or tab continues the previous field; other lines are `key:value` (value
/// trimmed). Lines without a colon and stray continuation lines are ignored.
pub(crate) fn paragraphs(text: &str) -> Vec<Paragraph> {
    parse(text, Syntax::Deb822)
}

/// Like [`paragraphs`], with `#` comment lines skipped (Debian copyright files allow them).
pub(crate) fn paragraphs_with_comments(text: &str) -> Vec<Paragraph> {
    parse(text, Syntax::Deb822Comments)
}

/// The first value of `key` (case-insensitive, as deb822 and email field names are).
pub(crate) fn field<'a>(para: &'a [(String, String)], key: &str) -> Option<&'a str> {
    para.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v.as_str())
}

/// All values of `key` (case-insensitive), in order.
pub(crate) fn fields<'a>(
    para: &'a [(String, String)],
    key: &'a str,
) -> impl Iterator<Item = &'a str> + 'a {
    para.iter()
        .filter(move |(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v.as_str())
}

/// Email-style headers: the fields before the first blank line (the body follows it).
pub(crate) fn email_headers(text: &str) -> Paragraph {
    parse(text, Syntax::EmailHeaders)
        .into_iter()
        .next()
        .unwrap_or_default()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Syntax {
    Deb822,
    Deb822Comments,
    /// one paragraph, ended by the first blank line
    EmailHeaders,
}

fn parse(text: &str, syntax: Syntax) -> Vec<Paragraph> {
    let mut out = Vec::new();
    let mut current: Paragraph = Vec::new();
    for line in text.lines() {
        if syntax == Syntax::Deb822Comments && line.starts_with('#') {
            continue;
        }
        if line.trim().is_empty() {
            if syntax == Syntax::EmailHeaders {
                break;
            }
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            continue;
        }
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = current.last_mut() {
                value.push('\n');
                value.push_str(line.trim());
            }
            continue;
        }
        if let Some((key, value)) = line.split_once(':') {
            current.push((key.trim().to_owned(), value.trim().to_owned()));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Removes one pair of matching surrounding quotes.
pub(crate) fn strip_quotes(s: &str) -> &str {
    for q in ['"', '\''] {
        if let Some(inner) = s.strip_prefix(q).and_then(|r| r.strip_suffix(q)) {
            return inner;
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn continuation_and_separators() {
        let p = paragraphs("A: 1\nB: x\n y\n .\n\n \nA: 2\nnocolon\n");
        assert_eq!(p.len(), 2);
        assert_eq!(p.first().and_then(|p| field(p, "b")), Some("x\ny\n."));
        assert_eq!(p.get(1).and_then(|p| field(p, "A")), Some("2"));
    }

    #[test]
    fn email_headers_stop_at_body() {
        let h = email_headers("Name: a\nClassifier: x\nClassifier: y\n\nName: body\n");
        assert_eq!(fields(&h, "classifier").collect::<Vec<_>>(), ["x", "y"]);
        assert_eq!(fields(&h, "name").count(), 1);
    }

    proptest! {
        #[test]
        fn paragraphs_never_panic(s in "\\PC*") {
            let _ = paragraphs(&s);
            let _ = email_headers(&s);
        }

        #[test]
        fn fields_round_trip(values in proptest::collection::vec("[a-z0-9.+~-]{1,20}", 1..20)) {
            let text: String = values.iter().map(|v| format!("Package: {v}\nVersion: 1\n\n")).collect();
            let ps = paragraphs(&text);
            let got: Vec<&str> = ps.iter().filter_map(|p| field(p, "package")).collect();
            prop_assert_eq!(got, values.iter().map(String::as_str).collect::<Vec<_>>());
        }
    }
}
