//! The supply-chain layer in every scan: images from registries outside the project's allow-list
//! (`[registries] allow` in `rampart.toml`, matched as the admission webhook's registries gate
//! matches, with [`ImageAllowList`]) in pod templates and Dockerfile `FROM` lines, and the trust
//! policy (`--policy`, `policy = "..."`) applied to the registry images a scan targets with the
//! code of `rampart verify --policy` ([`TrustPolicy::check_each`]): the signature and each
//! required attestation are controls of their own.

use rampart_core::{
    Assessment, Finding, InputError, Layer, Location, RefKind, Reference, Rule, RuleTarget,
    Severity,
};
use rampart_dockerfile::BaseImage;
use rampart_k8s::ManifestFile;
use rampart_k8s::objects::{Workload, objects};
use rampart_k8s::yaml::Seg;
use rampart_registry::{Client, Reference as ImageReference};
use rampart_sign::policy::ImageAllowList;
use rampart_sign::trust::{Checks, Outcome, TrustPolicy, Verdict};

/// An image (pod template or Dockerfile base) from a registry the project does not allow.
pub static REGISTRY_NOT_ALLOWED: Rule = Rule {
    id: "SUP001",
    name: "image-registry-not-allowed",
    title: "Image from a registry outside the allow-list",
    severity: Severity::High,
    layer: Layer::SupplyChain,
    target: RuleTarget::Kubernetes,
    rationale: "An allow-list of registries (`[registries] allow` in rampart.toml) says where the project's images may come from: registries it mirrors, scans and signs into. An image pulled from anywhere else (a typo-squatted Docker Hub name, a personal registry, a base image nobody reviewed) bypasses all of that; the admission webhook's registries gate refuses it at deploy time with the same patterns, and the scan says so before.",
    remediation: "Pull the image through an allowed registry (mirror it there), or add its registry or repository to `[registries] allow` if the project trusts it. Patterns are globs on `registry/repository` (`*` within a path segment, `**` across), Docker Hub short names normalised (`nginx` is `docker.io/library/nginx`).",
    bad_example: "# rampart.toml: [registries] allow = [\"registry.example.com/**\"]\napiVersion: v1\nkind: Pod\nmetadata: {name: app}\nspec:\n  containers:\n  - name: app\n    image: docker.io/someone/app:1.0\n",
    good_example: "# rampart.toml: [registries] allow = [\"registry.example.com/**\"]\napiVersion: v1\nkind: Pod\nmetadata: {name: app}\nspec:\n  containers:\n  - name: app\n    image: registry.example.com/shop/app:1.0\n",
    references: &[
        Reference::new(
            RefKind::Docs,
            "rampart: supply-chain controls in a scan",
            "docs/supply-chain.md",
        ),
        Reference::new(
            RefKind::Docs,
            "SLSA: verifying artifacts (expected sources)",
            "https://slsa.dev/spec/v1.0/verifying-artifacts",
        ),
    ],
};

/// A registry image whose signature the trust policy requires is unsigned, signed by another
/// key, or does not match the image the registry serves.
pub static SIGNATURE_NOT_VERIFIED: Rule = Rule {
    id: "SUP002",
    name: "image-signature-not-verified",
    title: "Image signature missing, invalid or tampered (trust policy)",
    severity: Severity::High,
    layer: Layer::SupplyChain,
    target: RuleTarget::Image,
    rationale: "A trust policy (`--policy`, `policy = \"...\"` in rampart.toml; the format of `rampart verify --policy`) says which keys must have signed which images. An image with no signature, a signature by another key, or a signature over another digest (tampering, a re-pushed tag) is not the artifact the release process produced; the admission webhook's signatures gate refuses it too.",
    remediation: "Sign the image's digest with the release key (`rampart sign --key cosign.key IMAGE@sha256:...`) in the pipeline that built it, or deploy the digest that was signed; check with `rampart verify --policy`.",
    bad_example: "# rampart scan --image registry.example.com/shop/app:1.0 --policy trust.toml\n# trust.toml: [[image]] match = [\"registry.example.com/shop/*\"] keys = [\"release.pub\"]\n# the image carries no signature by release.pub\n",
    good_example: "# rampart sign --key release.key registry.example.com/shop/app@sha256:...\n# rampart scan --image registry.example.com/shop/app:1.0 --policy trust.toml\n",
    references: &[
        Reference::new(
            RefKind::Docs,
            "rampart: signing and verifying images",
            "docs/signing.md",
        ),
        Reference::new(
            RefKind::Docs,
            "Sigstore cosign: verifying signatures",
            "https://docs.sigstore.dev/cosign/verifying/verify/",
        ),
    ],
};

/// A registry image lacks an attestation the trust policy requires (SBOM, provenance), or the
/// one it carries does not verify.
pub static ATTESTATION_NOT_VERIFIED: Rule = Rule {
    id: "SUP003",
    name: "image-attestation-not-verified",
    title: "Required attestation (SBOM, provenance) missing or invalid (trust policy)",
    severity: Severity::High,
    layer: Layer::SupplyChain,
    target: RuleTarget::Image,
    rationale: "A trust policy rule can require signed in-toto attestations (`attestations = [\"cyclonedx\", \"slsaprovenance\"]`): an SBOM saying what is inside, provenance saying how and from what it was built. An image without them, or with one signed by another key or made for another digest, cannot show where it came from.",
    remediation: "Attest the image in the pipeline that built it (`rampart attest --key release.key --type cyclonedx --predicate sbom.json IMAGE@sha256:...`, and the provenance); check with `rampart verify --policy`.",
    bad_example: "# trust.toml: [[image]] match = [\"registry.example.com/shop/*\"] keys = [\"release.pub\"] attestations = [\"cyclonedx\"]\n# the image is signed but carries no CycloneDX attestation\n",
    good_example: "# rampart attest --key release.key --type cyclonedx --predicate sbom.json registry.example.com/shop/app@sha256:...\n",
    references: &[
        Reference::new(
            RefKind::Docs,
            "rampart: signing and verifying images",
            "docs/signing.md",
        ),
        Reference::new(
            RefKind::Docs,
            "in-toto attestation framework",
            "https://github.com/in-toto/attestation",
        ),
    ],
};

/// The rules of this module.
pub static RULES: &[&Rule] = &[
    &REGISTRY_NOT_ALLOWED,
    &SIGNATURE_NOT_VERIFIED,
    &ATTESTATION_NOT_VERIFIED,
];

/// `registry/repository` of an image reference, or `None` when it is not one.
fn parse(image: &str) -> Option<ImageReference> {
    ImageReference::parse(image).ok()
}

fn not_allowed_message(
    what: &str,
    image: &str,
    r: &ImageReference,
    allow: &ImageAllowList,
) -> String {
    format!(
        "{what} \"{image}\" ({}/{}), which is not from an allowed registry or repository (allowed: {})",
        r.registry().to_ascii_lowercase(),
        r.path(),
        allow.patterns.join(", ")
    )
}

/// The images of every workload's containers against the allow-list: one control per
/// workload, a finding per container whose image is outside it (at the `image` field). An
/// image that is not a valid reference is left to K8S004.
pub fn manifest_registries(manifests: &[ManifestFile], allow: &ImageAllowList) -> Assessment {
    let mut out = Assessment::new();
    for file in manifests {
        for doc in &file.documents {
            for object in objects(doc) {
                let Some(workload) = Workload::from_object(object) else {
                    continue;
                };
                let subject = workload.object.subject();
                out.assessed(&REGISTRY_NOT_ALLOWED, &subject, &file.path);
                for c in workload.containers() {
                    let Some(image) = c.image() else { continue };
                    let Some(r) = parse(image) else { continue };
                    if allow.allows(r.registry(), r.path()) {
                        continue;
                    }
                    let mut path = c.path().to_vec();
                    path.push(Seg::Key("image"));
                    let pos = workload.pod.pos_of(&path);
                    out.push(Finding::new(
                        &REGISTRY_NOT_ALLOWED,
                        subject.clone(),
                        Location::new(&file.path, pos.line, pos.column),
                        not_allowed_message(
                            &format!("{} uses image", c.describe()),
                            image,
                            &r,
                            allow,
                        ),
                    ));
                }
            }
        }
    }
    out
}

/// The base images of a Dockerfile's stages (`FROM`) against the allow-list: one control for
/// the file, a finding per `FROM` of a registry image outside it. `scratch`, earlier stages and
/// bases that depend on a build argument without a default are not registry images.
pub fn dockerfile_registries(path: &str, text: &str, allow: &ImageAllowList) -> Assessment {
    let mut out = Assessment::new();
    let parsed = rampart_dockerfile::parse(text);
    if parsed.dockerfile.stages.is_empty() {
        return out;
    }
    let subject = format!("Dockerfile {path}");
    out.assessed(&REGISTRY_NOT_ALLOWED, &subject, path);
    for stage in &parsed.dockerfile.stages {
        if !matches!(stage.from.base, BaseImage::Image(_)) {
            continue;
        }
        let image = &stage.from.image;
        let Some(r) = parse(&image.value) else {
            continue;
        };
        if allow.allows(r.registry(), r.path()) {
            continue;
        }
        let what = match &stage.name {
            Some(name) => format!("stage {name} is built FROM"),
            None => format!("stage {} is built FROM", stage.index + 1),
        };
        out.push(Finding::new(
            &REGISTRY_NOT_ALLOWED,
            subject.clone(),
            Location::new(path, image.pos.line, image.pos.column),
            not_allowed_message(&what, &image.value, &r, allow),
        ));
    }
    out
}

/// The trust policy applied to one registry image (`name` as the scan names it): the signature
/// and each required attestation are controls of the image; one not met is a finding with the
/// reason. A registry that could not be asked is an input error (the scan is incomplete),
/// never a control that holds.
pub fn verify_image(
    policy: &TrustPolicy,
    client: &Client,
    name: &str,
    reference: &ImageReference,
) -> (Assessment, Vec<InputError>) {
    let mut out = Assessment::new();
    let subject = format!("Image {name}");
    let at = || Location::new(name, 0, 0);
    let checks = match policy.check_each(client, reference, None) {
        Ok(c) => c,
        Err(e) => {
            return (
                out,
                vec![InputError {
                    file: name.to_owned(),
                    line: 0,
                    column: 0,
                    message: format!(
                        "cannot verify against the trust policy {}: {e}",
                        policy.policy.path.display()
                    ),
                }],
            );
        }
    };
    out.assessed(&SIGNATURE_NOT_VERIFIED, &subject, name);
    match checks {
        Checks::Decided(Verdict::Refused { reason, .. }) => out.push(Finding::new(
            &SIGNATURE_NOT_VERIFIED,
            subject,
            at(),
            format!("image \"{name}\" is refused by the trust policy: {reason}"),
        )),
        Checks::Decided(_) => {}
        Checks::Required {
            attestations,
            signature,
            ..
        } => {
            for (predicate, outcome) in attestations {
                out.assessed(&ATTESTATION_NOT_VERIFIED, &subject, name);
                if let Outcome::Refused { reason, .. } = outcome {
                    out.push(Finding::new(
                        &ATTESTATION_NOT_VERIFIED,
                        subject.clone(),
                        at(),
                        format!("image \"{name}\": attestation {predicate}: {reason}"),
                    ));
                }
            }
            match signature {
                Some(Outcome::Verified { .. }) => {}
                Some(Outcome::Refused { reason, .. }) => out.push(Finding::new(
                    &SIGNATURE_NOT_VERIFIED,
                    subject,
                    at(),
                    format!("image \"{name}\": {reason}"),
                )),
                None => out.push(Finding::new(
                    &SIGNATURE_NOT_VERIFIED,
                    subject,
                    at(),
                    format!("image \"{name}\": the signature was not checked"),
                )),
            }
        }
    }
    (out, Vec::new())
}

/// What the trust policy said of the scanned registry images, computed before the scan (it
/// needs the registry) and joined to its report.
#[derive(Debug, Clone, Default)]
pub struct TrustResults {
    pub assessment: Assessment,
    pub errors: Vec<InputError>,
}

impl TrustResults {
    /// Adds one image's results.
    pub fn add(&mut self, (assessment, errors): (Assessment, Vec<InputError>)) {
        self.assessment.extend(assessment);
        self.errors.extend(errors);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    fn allow(patterns: &[&str]) -> ImageAllowList {
        ImageAllowList::new(patterns.iter().map(|p| (*p).to_owned()).collect()).unwrap()
    }

    fn manifest_findings(text: &str, list: &ImageAllowList) -> Vec<Finding> {
        let (file, errors) = ManifestFile::load("m.yaml".to_owned(), text);
        assert!(errors.is_empty(), "{errors:?}");
        manifest_registries(&[file], list).findings
    }

    #[test]
    fn the_rule_fires_on_its_bad_example_and_not_on_its_good_example() {
        let list = allow(&["registry.example.com/**"]);
        let bad = manifest_findings(REGISTRY_NOT_ALLOWED.bad_example, &list);
        assert_eq!(bad.len(), 1, "{bad:?}");
        assert_eq!(bad[0].rule_id, "SUP001");
        assert_eq!((bad[0].location.line, bad[0].location.column), (8, 5));
        assert!(
            bad[0].message.contains("docker.io/someone/app"),
            "{}",
            bad[0].message
        );
        assert!(manifest_findings(REGISTRY_NOT_ALLOWED.good_example, &list).is_empty());
    }

    #[test]
    fn docker_hub_short_names_match_as_the_webhook_matches_them() {
        let list = allow(&["nginx", "bitnami/*", "ghcr.io/org/**"]);
        let pod = |image: &str| {
            format!(
                "apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  containers:\n  - name: c\n    image: {image}\n"
            )
        };
        for ok in [
            "nginx:1.27",
            "docker.io/library/nginx@sha256:0000000000000000000000000000000000000000000000000000000000000000",
            "index.docker.io/library/nginx",
            "bitnami/redis:7",
            "GHCR.io/org/team/app:1",
        ] {
            assert!(manifest_findings(&pod(ok), &list).is_empty(), "{ok}");
        }
        for bad in [
            "nginx-unofficial:1",
            "someone/nginx:1",
            "ghcr.io/other/app:1",
            "bitnami/a/b:1",
        ] {
            assert_eq!(manifest_findings(&pod(bad), &list).len(), 1, "{bad}");
        }
    }

    #[test]
    fn dockerfile_from_lines_skip_stages_scratch_and_unresolved_arguments() {
        let list = allow(&["registry.example.com/**"]);
        let text = "ARG BASE\nFROM golang:1.23 AS build\nRUN go build\nFROM build AS test\nFROM ${BASE}\nFROM scratch\nCOPY --from=build /app /app\nFROM registry.example.com/base/static:1 AS final\n";
        let a = dockerfile_registries("Dockerfile", text, &list);
        assert_eq!(a.findings.len(), 1, "{:?}", a.findings);
        let f = &a.findings[0];
        assert_eq!((f.location.line, f.location.column), (2, 6));
        assert!(f.message.contains("stage build"), "{}", f.message);
        assert!(
            f.message.contains("docker.io/library/golang"),
            "{}",
            f.message
        );
        assert_eq!(f.subject, "Dockerfile Dockerfile");
    }
}
