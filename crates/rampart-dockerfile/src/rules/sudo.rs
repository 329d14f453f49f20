//! DF011: `sudo` installed or used.

use super::Cx;
use crate::shell::{self, basename};
use rampart_core::{Finding, Layer, RefKind, Reference, Rule, RuleTarget, Severity};

/// DF011.
pub static RULE: Rule = Rule {
    id: "DF011",
    name: "sudo",
    title: "sudo is installed or used",
    severity: Severity::Medium,
    layer: Layer::Build,
    target: RuleTarget::Dockerfile,
    rationale: "RUN already executes as root until a USER switches away, so sudo adds nothing \
                at build time; installed in the image it gives any process running as the \
                application user a path back to root (one misconfigured sudoers line away), and \
                its TTY and signal handling misbehave as PID 1. In stages that do not ship it \
                is reported one step lower.",
    remediation: "Drop sudo: run privileged build steps before the USER instruction, and use \
                  gosu or su-exec in an entrypoint if a process must step down from root at start.",
    bad_example: "FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends sudo && rm -rf /var/lib/apt/lists/*\nUSER 10001\n",
    good_example: "FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends gosu && rm -rf /var/lib/apt/lists/*\nUSER 10001\n",
    references: &[Reference::new(
        RefKind::Docs,
        "Building best practices: USER (avoid sudo)",
        "https://docs.docker.com/build/building/best-practices/#user",
    )],
};

pub(crate) fn check(cx: &Cx<'_>, out: &mut Vec<Finding>) {
    for sv in &cx.stages {
        for run in &sv.runs {
            let installs = run
                .commands
                .iter()
                .filter_map(shell::install)
                .any(|i| i.manager != "pip" && i.packages.contains(&"sudo"));
            let uses = run.commands.iter().find(|c| {
                let prefix = c.words.len().saturating_sub(c.argv().len());
                c.words.iter().take(prefix).any(|w| basename(w) == "sudo") || c.program() == "sudo"
            });
            let what = match (installs, uses) {
                (true, _) => "installs sudo".to_owned(),
                (false, Some(c)) => format!("runs `{}` with sudo", c.display()),
                (false, None) => continue,
            };
            out.push(cx.staged_finding(
                &RULE,
                sv,
                run.inst.pos(),
                format!("RUN in {} {what}", sv.label()),
            ));
        }
    }
}
