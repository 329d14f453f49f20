//! The admission layer as manifests show it: does each namespace enforce a Pod Security level?

use super::{Ctx, Inventory, pss_ref, rule};
use crate::yaml::Seg;
use rampart_core::{Assessment, Layer, RefKind, Reference, Rule, Severity};

pub static NO_PSA_ENFORCE: Rule = rule(
    "ADM001",
    "namespace-pod-security-not-enforced",
    "Namespace does not enforce a Pod Security level",
    Severity::Medium,
    Layer::Admission,
    [
        "Checks in CI can be skipped; the cluster's admission gate cannot. Without the `pod-security.kubernetes.io/enforce` label, the built-in Pod Security Admission lets any pod into the namespace, privileged ones included.",
        "Label the namespace `pod-security.kubernetes.io/enforce: restricted` (or `baseline` where restricted is not yet possible), with `enforce-version` pinned.",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels:\n    pod-security.kubernetes.io/enforce: restricted\n    pod-security.kubernetes.io/enforce-version: v1.33\n",
    ],
    &[
        pss_ref("Pod Security Admission"),
        Reference::new(
            RefKind::Docs,
            "Enforce Pod Security Standards with namespace labels",
            "https://kubernetes.io/docs/tasks/configure-pod-container/enforce-standards-namespace-labels/",
        ),
    ],
);

pub static RULES: &[&Rule] = &[&NO_PSA_ENFORCE];

pub const ENFORCE_LABEL: &str = "pod-security.kubernetes.io/enforce";

pub(crate) fn check(inventory: &Inventory<'_>, out: &mut Assessment) {
    for o in inventory.of_kind("Namespace") {
        let mut ctx = Ctx::new(o.file, o.object, out);
        ctx.assessed(&NO_PSA_ENFORCE);
        let level = o.object.label(ENFORCE_LABEL);
        let labels_pos = o.object.node.pos_of(&[
            Seg::Key("metadata"),
            Seg::Key("labels"),
            Seg::Key(ENFORCE_LABEL),
        ]);
        match level {
            Some("restricted") => {}
            Some("baseline") => ctx.report_with(
                &NO_PSA_ENFORCE,
                Severity::Low,
                labels_pos,
                None,
                format!("namespace \"{}\" enforces only the baseline Pod Security level; restricted is the hardened one", o.object.name),
            ),
            Some(other) => ctx.report(
                &NO_PSA_ENFORCE,
                labels_pos,
                None,
                format!("namespace \"{}\" enforces Pod Security level \"{other}\", which admits privileged pods", o.object.name),
            ),
            None => ctx.report(
                &NO_PSA_ENFORCE,
                labels_pos,
                None,
                format!("namespace \"{}\" has no {ENFORCE_LABEL} label: any pod is admitted", o.object.name),
            ),
        }
    }
}
