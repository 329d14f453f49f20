//! DF017: SSH exposed or an SSH server installed in the image.

use super::Cx;
use crate::ast::Kind;
use crate::shell;
use rampart_core::{Finding, Layer, RefKind, Reference, Rule, RuleTarget, Severity};

/// DF017.
///
/// In the network layer: the weakness is a remote-access port on the container's network
/// interface, which network policy is what contains.
pub static RULE: Rule = Rule {
    id: "DF017",
    name: "ssh-exposed",
    title: "The image exposes SSH or ships an SSH server",
    severity: Severity::Medium,
    layer: Layer::Network,
    target: RuleTarget::Dockerfile,
    rationale: "An SSH daemon in a container is a second, password- or key-protected entry point \
                that bypasses the orchestrator's access control and audit, needs its own key \
                management and patching, and usually runs as root. `docker exec`/`kubectl exec` \
                already give operators a shell.",
    remediation: "Remove EXPOSE 22 and the SSH server; use `kubectl exec`/`docker exec` or an \
                  ephemeral debug container for access.",
    bad_example: "FROM debian:12\nEXPOSE 22\nUSER 10001\n",
    good_example: "FROM debian:12\nEXPOSE 8080\nUSER 10001\n",
    references: &[
        rampart_core::cis_docker::SSHD,
        Reference::new(
            RefKind::Docs,
            "Dockerfile reference: EXPOSE",
            "https://docs.docker.com/reference/dockerfile/#expose",
        ),
    ],
};

fn covers_22(port: &str) -> bool {
    let (range, proto) = port.split_once('/').unwrap_or((port, "tcp"));
    if !proto.eq_ignore_ascii_case("tcp") {
        return false;
    }
    let parse = |s: &str| s.parse::<u32>().ok();
    match range.split_once('-') {
        Some((a, b)) => matches!((parse(a), parse(b)), (Some(a), Some(b)) if a <= 22 && 22 <= b),
        None => parse(range) == Some(22),
    }
}

pub(crate) fn check(cx: &Cx<'_>, out: &mut Vec<Finding>) {
    for sv in cx.final_chain() {
        for inst in sv.instructions {
            if let Kind::Expose { ports } = &inst.kind {
                for p in ports.iter().filter(|p| covers_22(&p.value)) {
                    out.push(cx.finding(
                        &RULE,
                        sv,
                        p.pos,
                        format!(
                            "EXPOSE {} in {} publishes the SSH port",
                            p.value,
                            sv.label()
                        ),
                    ));
                }
            }
        }
        for run in &sv.runs {
            let server = run
                .commands
                .iter()
                .filter_map(shell::install)
                .flat_map(|i| i.packages)
                .find(|p| matches!(*p, "openssh-server" | "dropbear" | "openssh"));
            if let Some(p) = server {
                out.push(cx.finding(
                    &RULE,
                    sv,
                    run.inst.pos(),
                    format!(
                        "RUN in {} installs the SSH server {p} into the final image",
                        sv.label()
                    ),
                ));
            }
        }
    }
}
