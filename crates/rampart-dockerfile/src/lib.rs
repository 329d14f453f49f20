//! Dockerfile parsing and build-layer hardening rules.
//!
//! [`parse`] reads a Dockerfile the way BuildKit's frontend does (directives, heredocs,
//! continuations, `ARG`/`ENV` substitution, stages) into a typed [`Dockerfile`], never panicking
//! on hostile input. [`scan`] runs the [`rules`] over it and returns a
//! [`rampart_core::Assessment`]: every control evaluated (pass or fail) and the findings.

#![deny(clippy::indexing_slicing)]

mod ast;
mod lex;
mod parser;

pub use ast::{
    ArgDecl, BaseImage, Command, CommandForm, Comment, Copy, Diagnostic, Directive, Dockerfile,
    Flag, From, Healthcheck, Heredoc, Instruction, KeyValue, Kind, Parsed, Pos, Stage, User, Word,
};
pub use parser::{MAX_DIAGNOSTICS, parse};
pub use rampart_core::ImageRef;
mod rules;
mod shell;

pub use rules::rules;

use rampart_core::Assessment;

/// What [`scan`] reads.
#[derive(Debug, Clone, Copy)]
pub struct ScanInput<'a> {
    /// The path reported in findings (relative to the scan root, `/` separators).
    pub path: &'a str,
    /// The Dockerfile's text.
    pub text: &'a str,
    /// Whether a `.dockerignore` (or `<Dockerfile>.dockerignore`) sits next to the Dockerfile.
    pub has_dockerignore: bool,
}

/// Parses a Dockerfile and evaluates every rule on it.
///
/// The subject of every control and finding is `Dockerfile <path>`. When the file has no build
/// stage (not a Dockerfile, or too broken to parse) no control is recorded: claiming that
/// controls passed on it would be wrong. Parse problems come back as diagnostics.
pub fn scan(input: &ScanInput<'_>) -> (Assessment, Vec<Diagnostic>) {
    let parsed = parse(input.text);
    let mut assessment = Assessment::new();
    if parsed.dockerfile.stages.is_empty() {
        return (assessment, parsed.diagnostics);
    }
    let subject = format!("Dockerfile {}", input.path);
    let cx = rules::Cx::new(
        input.path,
        &subject,
        &parsed.dockerfile,
        input.has_dockerignore,
    );
    let mut findings = Vec::new();
    for (rule, check) in rules::CHECKS {
        assessment.assessed(rule, &subject, input.path);
        check(&cx, &mut findings);
    }
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    for f in findings {
        assessment.push(f);
    }
    (assessment, parsed.diagnostics)
}

/// Whether a file name is a Dockerfile: `Dockerfile`, `Containerfile`, `*.Dockerfile`,
/// `Dockerfile.*` (case-insensitive), but not documentation, templates or ignore files such as
/// `Dockerfile.md` or `Dockerfile.dockerignore`.
pub fn is_dockerfile_name(file_name: &str) -> bool {
    const NOT: [&str; 24] = [
        "md",
        "markdown",
        "txt",
        "rst",
        "adoc",
        "html",
        "dockerignore",
        "j2",
        "jinja",
        "jinja2",
        "tmpl",
        "tpl",
        "template",
        "erb",
        "in",
        "bak",
        "orig",
        "rej",
        "swp",
        "old",
        "json",
        "yaml",
        "yml",
        "sh",
    ];
    let lower = file_name.to_ascii_lowercase();
    let base = lower.rsplit(['/', '\\']).next().unwrap_or(&lower);
    for stem in ["dockerfile", "containerfile"] {
        if base == stem {
            return true;
        }
        if let Some(prefix) = base.strip_suffix(stem) {
            if prefix.len() > 1 && prefix.ends_with('.') {
                return true;
            }
        }
        if let Some(ext) = base.strip_prefix(stem).and_then(|r| r.strip_prefix('.')) {
            return !ext.is_empty() && !NOT.contains(&ext);
        }
        // `Dockerfile2`, `Dockerfile_windows`, `Dockerfile-dev`: variants by suffix, unless the
        // name ends in an extension of another kind of file (`dockerfile_test.go`).
        if let Some(rest) = base.strip_prefix(stem)
            && rest.starts_with(|c: char| c == '_' || c == '-' || c.is_ascii_digit())
        {
            const SOURCE: [&str; 16] = [
                "go", "py", "rs", "js", "ts", "java", "rb", "c", "h", "cc", "cpp", "toml", "xml",
                "lock", "ps1", "bat",
            ];
            let ext = rest.rsplit_once('.').map(|(_, e)| e);
            return ext.is_none_or(|e| !NOT.contains(&e) && !SOURCE.contains(&e));
        }
    }
    false
}
