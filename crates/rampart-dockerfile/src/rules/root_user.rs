//! DF001: the final stage runs as root.

use super::Cx;
use crate::ast::{Kind, Pos};
use crate::{BaseImage, ImageRef};
use rampart_core::{Finding, Layer, RefKind, Reference, Rule, RuleTarget, Severity};

/// DF001.
pub static RULE: Rule = Rule {
    id: "DF001",
    name: "root-user",
    title: "The image runs as root",
    severity: Severity::High,
    layer: Layer::Build,
    target: RuleTarget::Dockerfile,
    rationale: "A container whose process runs as uid 0 turns any code-execution bug into root \
                inside the container, and a container escape or a writable host mount into root \
                on the node. The Dockerfile decides the default user: with no USER instruction, \
                or a last USER of root/0, every container started from the image runs as root \
                unless the runtime overrides it. Build stages that do not ship are not reported.",
    remediation: "Create an unprivileged user and switch to it at the end of the final stage \
                  (`RUN useradd -r -u 10001 app` then `USER 10001`), or start from a base image \
                  that runs as non-root (the runtime variant of a Docker Hardened Image or a \
                  Chainguard image, a distroless `:nonroot` tag).",
    bad_example: "FROM debian:12\nRUN useradd -r app\nCMD [\"/app\"]\n",
    good_example: "FROM debian:12\nRUN useradd -r -u 10001 app\nUSER 10001\nCMD [\"/app\"]\n",
    references: &[
        rampart_core::cis_docker::USER,
        Reference::new(
            RefKind::Docs,
            "Dockerfile reference: USER",
            "https://docs.docker.com/reference/dockerfile/#user",
        ),
    ],
};

/// Base images known to run as a non-root user by default: the runtime variants of hardened
/// families, distroless `:nonroot` tags (the table in [`super::bases`]).
fn runs_as_non_root(r: &ImageRef) -> bool {
    super::bases::classify(r).is_some_and(|h| h.non_root)
}

fn is_root(user: &str) -> bool {
    let user = user.trim();
    user == "root" || user == "0"
}

pub(crate) fn check(cx: &Cx<'_>, out: &mut Vec<Finding>) {
    let chain = cx.final_chain();
    let (Some(last), Some(root)) = (chain.first(), chain.last()) else {
        return;
    };
    // The last USER along the chain, the final stage first.
    let last_user = chain.iter().find_map(|sv| {
        sv.instructions.iter().rev().find_map(|i| match &i.kind {
            Kind::User(u) => Some((*sv, i.pos(), u)),
            _ => None,
        })
    });
    match last_user {
        Some((sv, pos, u)) => {
            if is_root(&u.user) {
                let how = if u.word.unresolved {
                    format!(
                        "`USER {}` defaults to root (unless a build argument overrides it)",
                        u.word.raw
                    )
                } else if u.word.raw == u.word.value {
                    format!("`USER {}` switches to root", u.word.raw)
                } else {
                    format!("`USER {}` expands to `{}`", u.word.raw, u.word.value)
                };
                out.push(cx.finding(
                    &RULE,
                    sv,
                    pos,
                    format!("{how}: the final image ({}) runs as root", last.label()),
                ));
            }
        }
        None => {
            let base = &root.stage.from.base;
            let non_root = match base {
                BaseImage::Image(r) => runs_as_non_root(r),
                BaseImage::Unresolved => true, // unknown base: cannot tell
                BaseImage::Scratch | BaseImage::Stage(_) => false,
            };
            if !non_root {
                let pos: Pos = last.start();
                out.push(cx.finding(
                    &RULE,
                    last,
                    pos,
                    format!(
                        "the final stage (FROM {}) sets no USER: the container runs as root",
                        root.stage.from.image.value
                    ),
                ));
            }
        }
    }
}
