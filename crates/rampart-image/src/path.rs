//! Lexical path normalization: every path in the squashed view is absolute, `/`-separated, with
//! no `.`, `..` or empty components. `..` never climbs above the root (as in a chroot).

/// A normalized path and whether the input tried to climb above the root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Normalized {
    pub(crate) path: String,
    pub(crate) escaped: bool,
}

/// Normalizes `raw` relative to the image root (a leading `/` or `./` is the root).
pub(crate) fn normalize(raw: &str) -> Normalized {
    normalize_from("/", raw)
}

/// Resolves `raw` against the directory `base` (already normalized); an absolute `raw` starts at
/// the root.
pub(crate) fn normalize_from(base: &str, raw: &str) -> Normalized {
    let mut parts: Vec<&str> = Vec::new();
    if !raw.starts_with('/') {
        parts.extend(base.split('/').filter(|c| !c.is_empty()));
    }
    let mut escaped = false;
    for comp in raw.split('/') {
        match comp {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    escaped = true;
                }
            }
            c => parts.push(c),
        }
    }
    let mut path = String::with_capacity(raw.len() + 1);
    for p in &parts {
        path.push('/');
        path.push_str(p);
    }
    if path.is_empty() {
        path.push('/');
    }
    Normalized { path, escaped }
}

/// The parent directory of a normalized path (`/` for `/a` and `/`).
pub(crate) fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => path.get(..i).unwrap_or("/"),
    }
}

/// The last component of a normalized path (empty for `/`).
pub(crate) fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or("")
}

/// Joins a normalized directory and a single component.
pub(crate) fn join(dir: &str, name: &str) -> String {
    if dir == "/" {
        format!("/{name}")
    } else {
        format!("{dir}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_table() {
        let cases = [
            ("a/b", "/a/b", false),
            ("./a//b/", "/a/b", false),
            ("/etc/passwd", "/etc/passwd", false),
            ("../../etc/passwd", "/etc/passwd", true),
            ("a/../../b", "/b", true),
            ("a/./c/../d", "/a/d", false),
            ("", "/", false),
            ("..", "/", true),
        ];
        for (raw, want, esc) in cases {
            assert_eq!(
                normalize(raw),
                Normalized {
                    path: want.into(),
                    escaped: esc
                },
                "{raw}"
            );
        }
        assert_eq!(normalize_from("/usr/bin", "../lib/x").path, "/usr/lib/x");
        assert_eq!(normalize_from("/usr/bin", "/lib/x").path, "/lib/x");
        assert_eq!(parent("/a/b"), "/a");
        assert_eq!(parent("/a"), "/");
        assert_eq!(file_name("/a/b"), "b");
        assert_eq!(join("/", "a"), "/a");
    }
}
