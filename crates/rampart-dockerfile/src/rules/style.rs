//! DF022 `MAINTAINER`, DF023 relative `WORKDIR`, DF026 `RUN cd`.

use super::Cx;
use crate::BaseImage;
use crate::ast::Kind;
use rampart_core::{Finding, Layer, RefKind, Reference, Rule, RuleTarget, Severity};

/// DF022.
pub static MAINTAINER: Rule = Rule {
    id: "DF022",
    name: "maintainer-deprecated",
    title: "MAINTAINER is deprecated",
    severity: Severity::Info,
    layer: Layer::Build,
    target: RuleTarget::Dockerfile,
    rationale: "MAINTAINER has been deprecated since Docker 1.13; tools that read image \
                metadata look for the standard OCI labels instead.",
    remediation: "Replace it with `LABEL org.opencontainers.image.authors=\"...\"`.",
    bad_example: "FROM alpine:3.19\nMAINTAINER ops@example.com\n",
    good_example: "FROM alpine:3.19\nLABEL org.opencontainers.image.authors=\"ops@example.com\"\n",
    references: &[Reference::new(
        RefKind::Docs,
        "Dockerfile reference: MAINTAINER (deprecated)",
        "https://docs.docker.com/reference/dockerfile/#maintainer-deprecated",
    )],
};

/// DF023.
pub static RELATIVE_WORKDIR: Rule = Rule {
    id: "DF023",
    name: "relative-workdir",
    title: "WORKDIR is relative with no absolute WORKDIR before it",
    severity: Severity::Low,
    layer: Layer::Build,
    target: RuleTarget::Dockerfile,
    rationale: "A relative WORKDIR is resolved against the working directory of the base image, \
                which the Dockerfile does not control: a new base image version can move files \
                to another place (or into /), breaking paths that scripts and permissions rely on.",
    remediation: "Use an absolute path (`WORKDIR /app`), or set an absolute WORKDIR earlier in \
                  the stage.",
    bad_example: "FROM alpine:3.19\nWORKDIR app\n",
    good_example: "FROM alpine:3.19\nWORKDIR /app\nWORKDIR src\n",
    references: &[Reference::new(
        RefKind::Docs,
        "Build checks: WorkdirRelativePath",
        "https://docs.docker.com/reference/build-checks/workdir-relative-path/",
    )],
};

/// DF026.
pub static RUN_CD: Rule = Rule {
    id: "DF026",
    name: "run-cd",
    title: "RUN starts with cd instead of using WORKDIR",
    severity: Severity::Info,
    layer: Layer::Build,
    target: RuleTarget::Dockerfile,
    rationale: "`RUN cd /dir && ...` changes directory for that one RUN only; the next \
                instruction is back where it was, which is a frequent source of files written \
                to the wrong place. WORKDIR states the directory once and is visible in the \
                image metadata.",
    remediation: "Use `WORKDIR /dir` before the RUN.",
    bad_example: "FROM alpine:3.19\nRUN cd /usr/src/app && make\n",
    good_example: "FROM alpine:3.19\nWORKDIR /usr/src/app\nRUN make\n",
    references: &[Reference::new(
        RefKind::Docs,
        "Building best practices: WORKDIR",
        "https://docs.docker.com/build/building/best-practices/#workdir",
    )],
};

pub(crate) fn check_maintainer(cx: &Cx<'_>, out: &mut Vec<Finding>) {
    for sv in &cx.stages {
        for inst in sv.instructions {
            if let Kind::Maintainer { name } = &inst.kind {
                out.push(cx.finding(
                    &MAINTAINER,
                    sv,
                    inst.pos(),
                    format!("MAINTAINER {name} is deprecated: use LABEL org.opencontainers.image.authors"),
                ));
            }
        }
    }
}

fn absolute(p: &str) -> bool {
    p.starts_with('/')
        || p.starts_with('\\')
        || p.get(1..3).is_some_and(|s| s == ":\\" || s == ":/")
}

pub(crate) fn check_workdir(cx: &Cx<'_>, out: &mut Vec<Finding>) {
    // Whether each stage has set an absolute WORKDIR by its end (inherited through FROM stage).
    let mut has_abs = vec![false; cx.stages.len()];
    for sv in &cx.stages {
        let mut abs = match &sv.stage.from.base {
            BaseImage::Stage(i) => has_abs.get(*i).copied().unwrap_or(false),
            _ => false,
        };
        for inst in sv.instructions {
            let Kind::Workdir { path } = &inst.kind else {
                continue;
            };
            if path.unresolved || path.value.is_empty() {
                abs = true;
                continue;
            }
            if absolute(&path.value) {
                abs = true;
            } else if !abs {
                out.push(cx.staged_finding(
                    &RELATIVE_WORKDIR,
                    sv,
                    path.pos,
                    format!(
                        "WORKDIR {} in {} is relative and no absolute WORKDIR comes before it",
                        path.value,
                        sv.label()
                    ),
                ));
            }
        }
        if let Some(slot) = has_abs.get_mut(sv.stage.index) {
            *slot = abs;
        }
    }
}

pub(crate) fn check_run_cd(cx: &Cx<'_>, out: &mut Vec<Finding>) {
    for sv in &cx.stages {
        for run in &sv.runs {
            let Some(first) = run.commands.first() else {
                continue;
            };
            if first.program() == "cd" && run.commands.len() > 1 {
                let dir = first.args().first().map_or("", String::as_str);
                out.push(cx.finding(
                    &RUN_CD,
                    sv,
                    run.inst.pos(),
                    format!(
                        "RUN in {} starts with `cd {dir}`: use WORKDIR {dir}",
                        sv.label()
                    ),
                ));
            }
        }
    }
}
