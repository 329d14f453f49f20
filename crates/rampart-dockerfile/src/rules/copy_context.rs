//! DF010: the whole build context is copied and there is no `.dockerignore`.

use super::Cx;
use crate::ast::Kind;
use rampart_core::{Finding, Layer, RefKind, Reference, Rule, RuleTarget, Severity};

/// DF010.
pub static RULE: Rule = Rule {
    id: "DF010",
    name: "copy-context-without-dockerignore",
    title: "The whole build context is copied without a .dockerignore",
    severity: Severity::Medium,
    layer: Layer::Build,
    target: RuleTarget::Dockerfile,
    rationale: "`COPY . .` copies everything in the build context: `.git` history, `.env` \
                files, local credentials, test data, editor backups. Without a .dockerignore \
                next to the Dockerfile nothing is filtered, so secrets and source history end up \
                in an image layer (and the cache is invalidated by any change). In a stage that \
                does not ship the copy stays in the build cache (reported one step lower).",
    remediation: "Add a .dockerignore (at least `.git`, `.env*`, `*.pem`, `node_modules`, build \
                  outputs), or copy only what the build needs (`COPY src/ ./src/`).",
    bad_example: "FROM node:20-slim\nWORKDIR /app\nCOPY . .\nUSER node\n",
    good_example: "FROM node:20-slim\nWORKDIR /app\nCOPY package.json package-lock.json ./\nCOPY src/ ./src/\nUSER node\n",
    references: &[
        Reference::new(
            RefKind::Docs,
            "Build context: .dockerignore files",
            "https://docs.docker.com/build/concepts/context/#dockerignore-files",
        ),
        rampart_core::cis_docker::SECRETS,
    ],
};

fn whole_context(src: &str) -> bool {
    matches!(src, "." | "./" | "*" | "./*" | "/" | ".\\")
}

pub(crate) fn check(cx: &Cx<'_>, out: &mut Vec<Finding>) {
    if cx.has_dockerignore {
        return;
    }
    for sv in &cx.stages {
        for inst in sv.instructions {
            let (Kind::Copy(c) | Kind::Add(c)) = &inst.kind else {
                continue;
            };
            if inst.flag_value("from").is_some() {
                continue;
            }
            if let Some(src) = c.sources.iter().find(|s| whole_context(&s.value)) {
                out.push(cx.staged_finding(
                    &RULE,
                    sv,
                    inst.pos(),
                    format!(
                        "`{} {} {}` in {} copies the whole build context and there is no .dockerignore next to the Dockerfile",
                        inst.keyword.to_ascii_uppercase(),
                        src.raw,
                        c.dest.raw,
                        sv.label()
                    ),
                ));
            }
        }
    }
}
