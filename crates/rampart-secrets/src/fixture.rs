//! Test fixtures by convention. Language runtimes and packages ship their test suites: CPython's
//! `lib/python3.x/test/` holds private keys for its TLS tests, Go's `src/crypto/tls/testdata`
//! and `*_test.go` files hold keys and certificates, npm packages keep `test/fixtures`. A
//! credential there is test data, published on purpose; a scanner that calls it critical buries
//! the real findings. Such hits keep being reported, at low severity, with the reason.
//!
//! The decision reads only the path's components and file name, never where the runtime is
//! installed (`/usr/lib`, `/usr/local/lib`, `/opt`): the same tree gives the same verdict.

/// Directory names that hold tests or test data, in any language (compared case-insensitively).
const TEST_DIRS: [&str; 13] = [
    "test",
    "tests",
    "testdata",
    "test-data",
    "test_data",
    "__tests__",
    "testcases",
    "fixtures",
    "__fixtures__",
    "spec",
    "specs",
    "idle_test",
    "unittests",
];

/// Directory names of package trees, inside which example and sample directories are
/// documentation too.
const PACKAGE_TREES: [&str; 6] = [
    "node_modules",
    "site-packages",
    "dist-packages",
    "vendor",
    "gems",
    "mod",
];

const EXAMPLE_DIRS: [&str; 6] = ["example", "examples", "sample", "samples", "demo", "docs"];

/// Why a file at `path` is a test fixture, if it is one: a test-data directory by convention
/// (`test/`, `tests/`, `testdata/`, `__tests__/`, `fixtures/`, `spec/`...), a test file by its
/// language's naming convention (`*_test.go`, `test_*.py`, `*_test.py`, `conftest.py`,
/// `*.test.js`, `*.spec.ts`, `*Test.java`, `*_spec.rb`), or an example directory or a
/// documentation file inside a package tree (`node_modules/x/examples/`,
/// `site-packages/x.dist-info/METADATA`, `node_modules/x/README.md`).
pub fn fixture_reason(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let name = parts.pop()?;
    let mut in_package = false;
    for dir in &parts {
        let lower = dir.to_ascii_lowercase();
        if TEST_DIRS.contains(&lower.as_str()) {
            return Some(format!("a test fixture (under a `{dir}/` directory)"));
        }
        if in_package && EXAMPLE_DIRS.contains(&lower.as_str()) {
            return Some(format!(
                "package documentation (under a `{dir}/` directory)"
            ));
        }
        in_package |= PACKAGE_TREES.contains(&lower.as_str());
    }
    if test_file(name) {
        return Some(format!("a test fixture (in the test file `{name}`)"));
    }
    (in_package && documentation(name)).then(|| format!("package documentation (`{name}`)"))
}

/// Documentation files of packages: their examples show credentials on purpose.
fn documentation(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    ["readme", "changelog", "history", "changes"]
        .iter()
        .any(|p| lower.starts_with(p))
        || matches!(lower.as_str(), "metadata" | "pkg-info")
        || [".md", ".markdown", ".rst", ".adoc", ".html", ".htm"]
            .iter()
            .any(|e| lower.ends_with(e))
}

/// Test files by the naming conventions of each language's test runner.
fn test_file(name: &str) -> bool {
    let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
    match ext {
        "go" => stem.ends_with("_test"),
        "py" => stem.starts_with("test_") || stem.ends_with("_test") || stem == "conftest",
        "js" | "mjs" | "cjs" | "jsx" | "ts" | "mts" | "cts" | "tsx" => {
            stem.ends_with(".test") || stem.ends_with(".spec")
        }
        "java" | "kt" | "scala" | "groovy" => {
            stem.ends_with("Test") || stem.ends_with("Tests") || stem.ends_with("TestCase")
        }
        "rb" => stem.ends_with("_spec") || stem.ends_with("_test"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::fixture_reason;

    #[test]
    fn fixtures_by_convention_wherever_installed() {
        for p in [
            "/usr/lib/python3.11/test/keycert.pem",
            "/usr/local/lib/python3.11/test/keycert.pem",
            "/opt/python/lib/python3.12/test/certdata/keycert.pem",
            "/usr/local/go/src/crypto/tls/testdata/example-key.pem",
            "/usr/share/go-1.19/src/crypto/x509/x509_test.go",
            "/app/node_modules/ssh2/test/fixtures/id_rsa",
            "/app/node_modules/x/examples/server.key",
            "/app/node_modules/pg-connection-string/README.md",
            "/usr/lib/python3/dist-packages/PyJWT-2.6.0.dist-info/METADATA",
            "/srv/app/tests/test_login.py",
            "/srv/app/src/auth.spec.ts",
            "/srv/app/src/main/java/AuthTest.java",
        ] {
            assert!(fixture_reason(p).is_some(), "{p}");
        }
        for p in [
            "/app/.env",
            "/app/config/settings.py",
            "/usr/local/go/src/testing/testing.go",
            "/app/examples/deploy.key",
            "/app/contest.py",
            "/app/src/latest.js",
            "/etc/ssl/private/server.key",
        ] {
            assert!(fixture_reason(p).is_none(), "{p}");
        }
        assert_eq!(
            fixture_reason("/usr/lib/python3.11/test/keycert.pem").as_deref(),
            Some("a test fixture (under a `test/` directory)")
        );
    }
}
