//! DF002 and DF003: base images not pinned by digest, and `:latest` or untagged base images.
//!
//! Both look at every stage's `FROM` and at `COPY --from=<image>`: a builder's base image
//! decides what gets compiled into the final image as much as the final base does, so the
//! severity is not lowered for stages that do not ship.

use super::{Cx, StageView};
use crate::ast::{Kind, Pos};
use crate::{BaseImage, ImageRef};
use rampart_core::cis_docker;
use rampart_core::{Finding, Layer, RefKind, Reference, Rule, RuleTarget, Severity};

/// DF002.
pub static NOT_PINNED: Rule = Rule {
    id: "DF002",
    name: "base-image-not-pinned",
    title: "Base image is not pinned by digest",
    severity: Severity::Low,
    layer: Layer::SupplyChain,
    target: RuleTarget::Dockerfile,
    rationale: "A tag is a mutable pointer: the publisher (or anyone who compromises the \
                registry account) can move it, so two builds of the same Dockerfile can start \
                from different content and nothing records which. A digest names exactly one \
                image, makes builds reproducible, and lets signature and provenance checks refer \
                to what was actually used.",
    remediation: "Append the digest to the reference (`FROM debian:12@sha256:...`), and let a \
                  bot (Renovate, Dependabot) propose digest updates.",
    bad_example: "FROM debian:12\nUSER 10001\n",
    good_example: "FROM debian:12@sha256:0d8498a0e9e6a60011df39aab78534cfe940785e7c59d19dfae1eb53ea59babe\nUSER 10001\n",
    references: &[
        cis_docker::TRUSTED_BASE,
        Reference::new(
            RefKind::Docs,
            "Building best practices: pin base image versions",
            "https://docs.docker.com/build/building/best-practices/#pin-base-image-versions",
        ),
    ],
};

/// DF003.
pub static LATEST: Rule = Rule {
    id: "DF003",
    name: "base-image-latest",
    title: "Base image uses the latest tag or no tag",
    severity: Severity::Medium,
    layer: Layer::SupplyChain,
    target: RuleTarget::Dockerfile,
    rationale: "`:latest` (which is what no tag means) follows the newest release, including \
                major versions: a rebuild can silently change the operating system, the runtime \
                and their vulnerabilities, and breakage or a malicious push reaches the image \
                without review.",
    remediation: "Name an explicit version tag (`python:3.12-slim`), preferably with its digest.",
    bad_example: "FROM node\nUSER node\n",
    good_example: "FROM node:20.11-bookworm-slim\nUSER node\n",
    references: &[
        cis_docker::TRUSTED_BASE,
        Reference::new(
            RefKind::Docs,
            "Dockerfile reference: FROM",
            "https://docs.docker.com/reference/dockerfile/#from",
        ),
    ],
};

/// An image some stage pulls: its reference, where, and how it is used.
struct Pull<'a> {
    image: ImageRef,
    written: &'a str,
    from_default: bool,
    pos: Pos,
    what: &'static str,
}

fn pulls<'a>(cx: &'a Cx<'_>, sv: &'a StageView<'_>) -> Vec<Pull<'a>> {
    let mut out = Vec::new();
    let from = &sv.stage.from;
    if let BaseImage::Image(r) = &from.base {
        out.push(Pull {
            image: r.clone(),
            written: &from.image.raw,
            from_default: from.image.unresolved,
            pos: from.image.pos,
            what: "base image",
        });
    }
    for inst in sv.instructions {
        if !matches!(inst.kind, Kind::Copy(_)) {
            continue;
        }
        for flag in inst.flags_named("from") {
            let Some(v) = &flag.value else { continue };
            let name = v.value.to_ascii_lowercase();
            let is_stage =
                name.chars().all(|c| c.is_ascii_digit()) || cx.stage_names.contains(&name);
            if is_stage {
                continue;
            }
            if let Some(r) = ImageRef::parse(&v.value) {
                out.push(Pull {
                    image: r,
                    written: &v.raw,
                    from_default: v.unresolved,
                    pos: flag.pos,
                    what: "COPY --from image",
                });
            }
        }
    }
    out
}

fn shown(p: &Pull<'_>) -> String {
    if p.written == p.image.to_string() {
        format!("`{}`", p.image)
    } else if p.from_default {
        format!("`{}` (default of `{}`)", p.image, p.written)
    } else {
        format!("`{}` (from `{}`)", p.image, p.written)
    }
}

pub(crate) fn check_digest(cx: &Cx<'_>, out: &mut Vec<Finding>) {
    for sv in &cx.stages {
        for p in pulls(cx, sv) {
            if !p.image.is_pinned() {
                out.push(cx.finding(
                    &NOT_PINNED,
                    sv,
                    p.pos,
                    format!(
                        "{} {} in {} is not pinned by digest: rebuilds may pull different content",
                        p.what,
                        shown(&p),
                        sv.label()
                    ),
                ));
            }
        }
    }
}

pub(crate) fn check_latest(cx: &Cx<'_>, out: &mut Vec<Finding>) {
    for sv in &cx.stages {
        for p in pulls(cx, sv) {
            if p.image.is_pinned() {
                continue;
            }
            let why = match p.image.tag.as_deref() {
                None => "has no tag, so it follows `latest`",
                Some("latest") => "uses the `latest` tag",
                Some(_) => continue,
            };
            out.push(cx.finding(
                &LATEST,
                sv,
                p.pos,
                format!("{} {} in {} {why}", p.what, shown(&p), sv.label()),
            ));
        }
    }
}
