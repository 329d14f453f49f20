//! DF024 several CMD/ENTRYPOINT in the final stage, DF025 shell-form CMD/ENTRYPOINT.

use super::Cx;
use crate::ast::{Command, CommandForm, Instruction, Kind};
use rampart_core::{Finding, Layer, RefKind, Reference, Rule, RuleTarget, Severity};

/// DF024.
pub static DUPLICATE: Rule = Rule {
    id: "DF024",
    name: "duplicate-cmd-entrypoint",
    title: "The final stage has several CMD or ENTRYPOINT instructions",
    severity: Severity::Low,
    layer: Layer::Build,
    target: RuleTarget::Dockerfile,
    rationale: "Only the last CMD and the last ENTRYPOINT of a stage take effect; earlier ones \
                are dead code that misleads reviewers about what the container runs.",
    remediation: "Keep one CMD and at most one ENTRYPOINT in the final stage.",
    bad_example: "FROM alpine:3.19\nCMD [\"/app\", \"--debug\"]\nCMD [\"/app\"]\n",
    good_example: "FROM alpine:3.19\nENTRYPOINT [\"/app\"]\nCMD [\"--port\", \"8080\"]\n",
    references: &[Reference::new(
        RefKind::Docs,
        "Build checks: MultipleInstructionsDisallowed",
        "https://docs.docker.com/reference/build-checks/multiple-instructions-disallowed/",
    )],
};

/// DF025.
pub static SHELL_FORM: Rule = Rule {
    id: "DF025",
    name: "shell-form-entrypoint",
    title: "CMD or ENTRYPOINT uses shell form",
    severity: Severity::Low,
    layer: Layer::Build,
    target: RuleTarget::Dockerfile,
    rationale: "In shell form the container's PID 1 is `/bin/sh -c`, which does not forward \
                SIGTERM: the application is killed after the grace period instead of shutting \
                down cleanly, and the image needs a shell at run time (which a minimal runtime \
                base should not have).",
    remediation: "Use exec form: `CMD [\"node\", \"server.js\"]` (or prefix the shell form with \
                  `exec`).",
    bad_example: "FROM node:20-slim\nCMD node server.js\n",
    good_example: "FROM node:20-slim\nCMD [\"node\", \"server.js\"]\n",
    references: &[Reference::new(
        RefKind::Docs,
        "Build checks: JSONArgsRecommended",
        "https://docs.docker.com/reference/build-checks/json-args-recommended/",
    )],
};

fn command(inst: &Instruction) -> Option<(&'static str, &Command)> {
    match &inst.kind {
        Kind::Cmd(c) => Some(("CMD", c)),
        Kind::Entrypoint(c) => Some(("ENTRYPOINT", c)),
        _ => None,
    }
}

pub(crate) fn check_duplicate(cx: &Cx<'_>, out: &mut Vec<Finding>) {
    let Some(last) = cx.stages.last() else { return };
    for kw in ["CMD", "ENTRYPOINT"] {
        let all: Vec<&Instruction> = last
            .instructions
            .iter()
            .filter(|i| command(i).is_some_and(|(k, _)| k == kw))
            .collect();
        if let [earlier @ .., effective] = all.as_slice() {
            for inst in earlier {
                out.push(cx.finding(
                    &DUPLICATE,
                    last,
                    inst.pos(),
                    format!(
                        "{kw} on line {} has no effect: {kw} on line {} overrides it",
                        inst.line, effective.line
                    ),
                ));
            }
        }
    }
}

pub(crate) fn check_shell_form(cx: &Cx<'_>, out: &mut Vec<Finding>) {
    let chain = cx.final_chain();
    for kw in ["ENTRYPOINT", "CMD"] {
        let effective = chain.iter().find_map(|sv| {
            sv.instructions.iter().rev().find_map(|i| match command(i) {
                Some((k, c)) if k == kw => Some((*sv, i, c)),
                _ => None,
            })
        });
        let Some((sv, inst, c)) = effective else {
            continue;
        };
        if let CommandForm::Shell(s) = &c.form {
            if s.trim_start().starts_with("exec ") || s.is_empty() {
                continue;
            }
            out.push(cx.finding(
                &SHELL_FORM,
                sv,
                inst.pos(),
                format!(
                    "`{kw} {}` uses shell form: /bin/sh becomes PID 1 and does not forward signals",
                    super::short(s)
                ),
            ));
        }
    }
}
