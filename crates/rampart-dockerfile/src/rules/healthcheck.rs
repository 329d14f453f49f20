//! DF018: no HEALTHCHECK in the final image.

use super::Cx;
use crate::ast::{Healthcheck, Kind};
use rampart_core::{Finding, Layer, RefKind, Reference, Rule, RuleTarget, Severity};

/// DF018.
pub static RULE: Rule = Rule {
    id: "DF018",
    name: "missing-healthcheck",
    title: "The image has no HEALTHCHECK",
    severity: Severity::Info,
    layer: Layer::Build,
    target: RuleTarget::Dockerfile,
    rationale: "Without a health check the engine only knows whether the process exists, not \
                whether it serves: a hung or compromised service keeps receiving traffic. \
                (Kubernetes ignores HEALTHCHECK and uses probes, hence information only.)",
    remediation: "Add `HEALTHCHECK CMD [\"/app\", \"healthcheck\"]` (an exec-form check that \
                  needs no shell or curl), or define liveness/readiness probes where the image runs.",
    bad_example: "FROM nginx:1.25\nUSER nginx\n",
    good_example: "FROM nginx:1.25\nHEALTHCHECK --interval=30s CMD [\"nginx\", \"-t\"]\nUSER nginx\n",
    references: &[
        rampart_core::cis_docker::HEALTHCHECK,
        Reference::new(
            RefKind::Docs,
            "Dockerfile reference: HEALTHCHECK",
            "https://docs.docker.com/reference/dockerfile/#healthcheck",
        ),
    ],
};

pub(crate) fn check(cx: &Cx<'_>, out: &mut Vec<Finding>) {
    let chain = cx.final_chain();
    let Some(last) = chain.first() else { return };
    let latest = chain.iter().find_map(|sv| {
        sv.instructions.iter().rev().find_map(|i| match &i.kind {
            Kind::Healthcheck(h) => Some((*sv, i, h)),
            _ => None,
        })
    });
    match latest {
        Some((_, _, Healthcheck::Cmd(_))) => {}
        Some((sv, inst, Healthcheck::None)) => out.push(cx.finding(
            &RULE,
            sv,
            inst.pos(),
            "HEALTHCHECK NONE disables the health check of the final image".to_owned(),
        )),
        None => out.push(cx.finding(
            &RULE,
            last,
            last.start(),
            format!("the final image ({}) defines no HEALTHCHECK", last.label()),
        )),
    }
}
