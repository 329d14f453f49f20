//! DF008 and DF009: `ADD` from a URL, and `ADD` where `COPY` would do.

use super::Cx;
use crate::ast::Kind;
use rampart_core::{Finding, Layer, RefKind, Reference, Rule, RuleTarget, Severity, cis_docker};

/// DF008.
pub static REMOTE: Rule = Rule {
    id: "DF008",
    name: "add-remote-url",
    title: "ADD downloads from a URL without a checksum",
    severity: Severity::Medium,
    layer: Layer::SupplyChain,
    target: RuleTarget::Dockerfile,
    rationale: "`ADD https://...` fetches whatever the server returns at build time, with no \
                integrity check: a compromised or hijacked host, or a moved release asset, \
                changes the image silently. Git sources at a branch or tag move too. The \
                severity is not lowered in builder stages: what they download ends up compiled \
                into the result.",
    remediation: "Add `--checksum=sha256:<digest>` to the ADD (BuildKit), pin Git sources to a \
                  commit (`#<40-hex-sha>`), or download with curl and verify a checksum or \
                  signature in the same RUN.",
    bad_example: "FROM alpine:3.19\nADD https://example.com/tool.tar.gz /opt/\nUSER 10001\n",
    good_example: "FROM alpine:3.19\nADD --checksum=sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d https://example.com/tool.tar.gz /opt/\nUSER 10001\n",
    references: &[
        cis_docker::COPY_NOT_ADD,
        Reference::new(
            RefKind::Docs,
            "Dockerfile reference: ADD --checksum",
            "https://docs.docker.com/reference/dockerfile/#add---checksum",
        ),
    ],
};

/// DF009.
pub static LOCAL: Rule = Rule {
    id: "DF009",
    name: "add-instead-of-copy",
    title: "ADD is used where COPY would do",
    severity: Severity::Low,
    layer: Layer::Build,
    target: RuleTarget::Dockerfile,
    rationale: "ADD does more than copy: it unpacks local archives and fetches URLs. Using it \
                for plain files hides that behaviour (a file renamed to .tar.gz suddenly gets \
                extracted) and makes reviews harder. COPY does exactly one thing.",
    remediation: "Use COPY for local files and directories; keep ADD for archives that must be \
                  extracted and for checksummed remote sources.",
    bad_example: "FROM alpine:3.19\nADD app.py /app/\nUSER 10001\n",
    good_example: "FROM alpine:3.19\nCOPY app.py /app/\nADD vendor.tar.gz /opt/\nUSER 10001\n",
    references: &[
        cis_docker::COPY_NOT_ADD,
        Reference::new(
            RefKind::Docs,
            "Building best practices: ADD or COPY",
            "https://docs.docker.com/build/building/best-practices/#add-or-copy",
        ),
    ],
};

fn is_remote(src: &str) -> bool {
    let lower = src.to_ascii_lowercase();
    lower.starts_with("http://")
        || lower.starts_with("https://")
        || lower.starts_with("git@")
        || lower.starts_with("git://")
        || lower.starts_with("ssh://")
}

fn is_git(src: &str) -> bool {
    src.starts_with("git@")
        || src.starts_with("git://")
        || src.contains(".git#")
        || src.ends_with(".git")
}

/// A Git source pinned to a full commit id.
fn git_pinned(src: &str) -> bool {
    src.rsplit_once('#').is_some_and(|(_, frag)| {
        let r = frag.split(':').next().unwrap_or(frag);
        r.len() == 40 && r.chars().all(|c| c.is_ascii_hexdigit())
    })
}

const ARCHIVES: [&str; 14] = [
    ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tbz", ".tar.xz", ".txz", ".tar.zst", ".tzst",
    ".gz", ".bz2", ".xz", ".zst",
];

pub(crate) fn check_remote(cx: &Cx<'_>, out: &mut Vec<Finding>) {
    for sv in &cx.stages {
        for inst in sv.instructions {
            let Kind::Add(c) = &inst.kind else { continue };
            let checksum = inst.flag_value("checksum").is_some();
            for src in &c.sources {
                if !is_remote(&src.value) {
                    continue;
                }
                let problem = if is_git(&src.value) {
                    (!git_pinned(&src.value)).then_some("a Git ref that is not a commit id")
                } else {
                    (!checksum).then_some("no --checksum")
                };
                if let Some(problem) = problem {
                    out.push(cx.finding(
                        &REMOTE,
                        sv,
                        src.pos,
                        format!(
                            "ADD fetches `{}` in {} with {problem}: the content is not verified",
                            src.value,
                            sv.label()
                        ),
                    ));
                }
            }
        }
    }
}

pub(crate) fn check_local(cx: &Cx<'_>, out: &mut Vec<Finding>) {
    for sv in &cx.stages {
        for inst in sv.instructions {
            let Kind::Add(c) = &inst.kind else { continue };
            let plain: Vec<&str> = c
                .sources
                .iter()
                .filter(|s| {
                    let v = s.value.to_ascii_lowercase();
                    !s.unresolved
                        && !is_remote(&v)
                        && !ARCHIVES.iter().any(|e| v.ends_with(e))
                        && !v.contains(['*', '?', '['])
                })
                .map(|s| s.value.as_str())
                .collect();
            // Only when every source is a plain local file: a glob may match archives.
            if !plain.is_empty() && plain.len() == c.sources.len() {
                out.push(cx.staged_finding(
                    &LOCAL,
                    sv,
                    inst.pos(),
                    format!(
                        "ADD of {} in {}: nothing to extract or fetch, use COPY",
                        plain
                            .iter()
                            .map(|p| format!("`{p}`"))
                            .collect::<Vec<_>>()
                            .join(", "),
                        sv.label()
                    ),
                ));
            }
        }
    }
}
