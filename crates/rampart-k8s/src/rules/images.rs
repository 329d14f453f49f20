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

pub static PULL_POLICY: Rule = rule(
    "K8S012",
    "image-pull-policy-not-always",
    "Mutable image tag without imagePullPolicy: Always",
    Severity::Low,
    Layer::SupplyChain,
    [
        "A tag that is not pinned by digest can be moved. With `IfNotPresent` (the default for any tag but `latest`) or `Never`, each node runs whatever content it cached under that tag: two replicas can run different code, a re-pushed fix never arrives, and an image planted in a node's cache is used without the registry's (or admission's) say. `Always` makes the kubelet resolve the tag at the registry on every start (layers already present are not downloaded again). Images pinned by digest are immutable and not reported. Peers: Checkov CKV_K8S_15, Kubescape C-0075.",
        "Pin the image by digest (best), or set `imagePullPolicy: Always`.",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: app}\nspec:\n  containers:\n  - name: app\n    image: nginx:1.27\n",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: app}\nspec:\n  containers:\n  - name: app\n    image: nginx:1.27\n    imagePullPolicy: Always\n",
    ],
    &[
        Reference::new(
            RefKind::Docs,
            "Images: image pull policy",
            "https://kubernetes.io/docs/concepts/containers/images/#image-pull-policy",
        ),
        Reference::new(
            RefKind::Docs,
            "Checkov CKV_K8S_15",
            "https://www.checkov.io/5.Policy%20Index/kubernetes.html",
        ),
        Reference::new(
            RefKind::Docs,
            "Kubescape C-0075",
            "https://hub.armosec.io/docs/controls",
        ),
    ],
);

pub static RULES: &[&Rule] = &[&NO_DIGEST, &LATEST_TAG, &PULL_POLICY];

pub(crate) fn check(ctx: &mut Ctx<'_, '_>, workload: &Workload<'_>) {
    ctx.assessed(&NO_DIGEST);
    ctx.assessed(&LATEST_TAG);
    ctx.assessed(&PULL_POLICY);
    for c in workload.containers() {
        let Some(image) = c.image() else { continue };
        let parsed = ImageRef::parse(image);
        if parsed.as_ref().is_some_and(ImageRef::is_pinned) {
            continue;
        }
        // K8S012: the policy as written, or the API server's default for the tag.
        if let Some(r) = &parsed {
            let written = c.node.str_at(&["imagePullPolicy"]);
            let floating = matches!(r.tag.as_deref(), None | Some("latest"));
            let policy = written.unwrap_or(if floating { "Always" } else { "IfNotPresent" });
            if policy != "Always" {
                let how = if written.is_some() {
                    format!("sets imagePullPolicy: {policy}")
                } else {
                    "sets no imagePullPolicy (IfNotPresent by default for a tag other than latest)"
                        .to_owned()
                };
                ctx.report_container(
                    &PULL_POLICY,
                    workload.pod,
                    &c,
                    &[Seg::Key("imagePullPolicy")],
                    format!(
                        "{} uses the mutable tag \"{image}\" and {how}: nodes may run different cached content under it",
                        c.describe()
                    ),
                );
            }
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
