//! Image references in pod templates: pinning is the supply-chain layer's first wall, since a
//! tag can be moved to any content by whoever can push to the registry.

use super::{Ctx, nsa, rule};
use crate::objects::Workload;
use crate::yaml::Seg;
use rampart_core::{ImageRef, Layer, RefKind, Reference, Rule, Severity};

const PIN_DOCS: Reference = Reference::new(
    RefKind::Docs,
    "Container images: image names (digests)",
    "https://kubernetes.io/docs/concepts/containers/images/#image-names",
);

pub static NO_DIGEST: Rule = rule(
    "K8S004",
    "image-not-pinned",
    "Image not pinned by digest",
    Severity::Medium,
    Layer::SupplyChain,
    [
        "A tag can be re-pointed to different content at any time; only a digest names exactly the image that was scanned and signed. Signature verification at admission also works on digests.",
        "Reference the image by digest: `registry/repo:tag@sha256:<digest>`.",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: app}\nspec:\n  containers:\n  - name: app\n    image: nginx:1.27\n",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: app}\nspec:\n  containers:\n  - name: app\n    image: nginx:1.27@sha256:0000000000000000000000000000000000000000000000000000000000000000\n",
    ],
    &[
        PIN_DOCS,
        nsa("Kubernetes Pod security: image scanning and provenance"),
    ],
);

pub static LATEST_TAG: Rule = rule(
    "K8S005",
    "image-latest-tag",
    "Image uses `:latest` or no tag",
    Severity::High,
    Layer::SupplyChain,
    [
        "`:latest` (or no tag, which means latest) changes under you: two nodes may run different code, a rollback may not roll back, and nothing says what was deployed.",
        "Use a specific version tag, and better a digest.",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: app}\nspec:\n  containers:\n  - name: app\n    image: nginx\n",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: app}\nspec:\n  containers:\n  - name: app\n    image: nginx:1.27.3\n",
    ],
    &[PIN_DOCS],
);

pub static RULES: &[&Rule] = &[&NO_DIGEST, &LATEST_TAG];

pub(crate) fn check(ctx: &mut Ctx<'_, '_>, workload: &Workload<'_>) {
    ctx.assessed(&NO_DIGEST);
    ctx.assessed(&LATEST_TAG);
    for c in workload.containers() {
        let Some(image) = c.image() else { continue };
        let parsed = ImageRef::parse(image);
        if parsed.as_ref().is_some_and(ImageRef::is_pinned) {
            continue;
        }
        let why = if parsed.is_some() {
            "which is not pinned by digest"
        } else {
            "which is not a valid image reference, let alone pinned by digest"
        };
        ctx.report_container(
            &NO_DIGEST,
            workload.pod,
            &c,
            &[Seg::Key("image")],
            format!("{} uses image \"{image}\", {why}", c.describe()),
        );
        match parsed.as_ref().map(|r| r.tag.as_deref()) {
            Some(None) => ctx.report_container(
                &LATEST_TAG,
                workload.pod,
                &c,
                &[Seg::Key("image")],
                format!(
                    "{} uses image \"{image}\" without a tag (implicitly :latest)",
                    c.describe()
                ),
            ),
            Some(Some("latest")) => ctx.report_container(
                &LATEST_TAG,
                workload.pod,
                &c,
                &[Seg::Key("image")],
                format!(
                    "{} uses image \"{image}\" with the mutable :latest tag",
                    c.describe()
                ),
            ),
            _ => {}
        }
    }
}
