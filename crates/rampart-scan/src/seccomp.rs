//! The runtime layer from the seccomp profiles workloads reference: a `Localhost` profile named
//! in a manifest is looked for beside it, read and linted with `rampart-seccomp`, and what it
//! allows counts against the workload.

use std::path::{Path, PathBuf};

use rampart_core::{
    Assessment, Finding, Layer, Location, RefKind, Reference, Rule, RuleTarget, Severity,
};
use rampart_k8s::ManifestFile;
use rampart_k8s::objects::{Workload, objects};
use rampart_k8s::yaml::{Node, Seg};

/// A referenced profile that allows dangerous system calls.
pub static LOOSE_PROFILE: Rule = Rule {
    id: "SEC001",
    name: "loose-localhost-seccomp-profile",
    title: "Localhost seccomp profile allows dangerous system calls",
    severity: Severity::High,
    layer: Layer::Runtime,
    target: RuleTarget::Kubernetes,
    rationale: "A Localhost seccomp profile is only as strong as what it allows: one that lets `mount`, `ptrace`, `bpf`, new user namespaces or module loading through gives a compromised container the kernel interface most escapes start from, while the manifest looks hardened.",
    remediation: "Record the workload's real system calls with `rampart seccomp record` and ship that profile; `rampart seccomp lint` shows what to remove.",
    bad_example: "# pod: securityContext.seccompProfile: {type: Localhost, localhostProfile: profiles/app.json}\n# profiles/app.json:\n{\"defaultAction\": \"SCMP_ACT_ALLOW\"}\n",
    good_example: "# profiles/app.json, recorded by rampart seccomp record:\n{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\", \"write\", \"exit_group\"], \"action\": \"SCMP_ACT_ALLOW\"}]}\n",
    references: &[Reference::new(
        RefKind::Docs,
        "rampart seccomp profiles",
        "docs/seccomp.md",
    )],
};

/// A referenced profile that is not among the scanned files (or cannot be read).
pub static MISSING_PROFILE: Rule = Rule {
    id: "SEC002",
    name: "localhost-seccomp-profile-not-found",
    title: "Localhost seccomp profile not found or unreadable",
    severity: Severity::Low,
    layer: Layer::Runtime,
    target: RuleTarget::Kubernetes,
    rationale: "The kubelet loads a Localhost profile from the node; if the file that should be there is not kept beside the manifests, nobody can review what it allows, and a pod whose profile is missing or invalid does not start.",
    remediation: "Keep the profile in the repository, at the `localhostProfile` path relative to the manifest's directory (or a parent, or a `seccomp/` directory in one), and deploy it to the nodes from there.",
    bad_example: "# securityContext.seccompProfile: {type: Localhost, localhostProfile: profiles/app.json}\n# (no profiles/app.json beside the manifests)\n",
    good_example: "# securityContext.seccompProfile: {type: Localhost, localhostProfile: profiles/app.json}\n# profiles/app.json committed beside the manifest\n",
    references: &[Reference::new(
        RefKind::Docs,
        "Kubernetes: restrict a container's syscalls with seccomp",
        "https://kubernetes.io/docs/tutorials/security/seccomp/",
    )],
};

/// How many parent directories of a manifest are searched for its profiles.
const MAX_PARENTS: usize = 8;

/// Finds the profile `name` for a manifest at `manifest`: `<dir>/<name>` or
/// `<dir>/seccomp/<name>` for the manifest's directory and its parents.
fn resolve(manifest: &Path, name: &str) -> Option<PathBuf> {
    let rel = Path::new(name);
    if rel.is_absolute()
        || rel
            .components()
            .any(|c| c == std::path::Component::ParentDir)
    {
        return None;
    }
    manifest
        .ancestors()
        .skip(1)
        .take(MAX_PARENTS)
        .flat_map(|dir| [dir.join(rel), dir.join("seccomp").join(rel)])
        .find(|p| p.is_file())
}

/// The `Localhost` profiles a pod spec names: (profile, path of the `localhostProfile` field).
fn references<'a>(workload: &Workload<'a>) -> Vec<(&'a str, Vec<Seg<'a>>)> {
    let mut out = Vec::new();
    let Some(spec) = workload.spec() else {
        return out;
    };
    let mut check = |node: Option<&'a Node>, base: Vec<Seg<'a>>| {
        let Some(sp) = node.and_then(|n| n.path(&["securityContext", "seccompProfile"])) else {
            return;
        };
        if sp.str_at(&["type"]) != Some("Localhost") {
            return;
        }
        if let Some(name) = sp.str_at(&["localhostProfile"]) {
            let mut path = base;
            path.extend([
                Seg::Key("securityContext"),
                Seg::Key("seccompProfile"),
                Seg::Key("localhostProfile"),
            ]);
            out.push((name, path));
        }
    };
    check(Some(spec), vec![Seg::Key("spec")]);
    for c in workload.containers() {
        check(Some(c.node), c.path().to_vec());
    }
    out
}

/// The findings of every Localhost profile the manifests reference.
pub fn assess(manifests: &[ManifestFile]) -> Assessment {
    let mut out = Assessment::new();
    for file in manifests {
        for doc in &file.documents {
            for object in objects(doc) {
                let Some(workload) = Workload::from_object(object) else {
                    continue;
                };
                let subject = workload.object.subject();
                for (name, path) in references(&workload) {
                    out.assessed(&LOOSE_PROFILE, &subject, &file.path);
                    out.assessed(&MISSING_PROFILE, &subject, &file.path);
                    let pos = workload.pod.pos_of(&path);
                    let at = Location::new(&file.path, pos.line, pos.column);
                    let found = resolve(Path::new(&file.path), name);
                    let profile = found.as_ref().ok_or_else(|| {
                        format!(
                            "not found beside {} (or in a parent, or in a seccomp/ directory)",
                            file.path
                        )
                    });
                    let profile = profile.and_then(|p| {
                        let bytes =
                            std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?;
                        rampart_seccomp::profile::Profile::parse(&bytes, &p.display().to_string())
                            .map_err(|e| e.to_string())
                    });
                    match profile {
                        Err(why) => out.push(Finding::new(
                            &MISSING_PROFILE,
                            subject.clone(),
                            at,
                            format!("Localhost seccomp profile `{name}`: {why}"),
                        )),
                        Ok(profile) => {
                            let bad: Vec<_> = rampart_seccomp::lint::lint(&profile)
                                .into_iter()
                                .filter(|f| f.severity >= Severity::High)
                                .collect();
                            let Some(worst) = bad.iter().map(|f| f.severity).max() else {
                                continue;
                            };
                            let what: Vec<String> = bad
                                .iter()
                                .map(|f| format!("{} ({}, {})", f.message, f.rule, f.severity))
                                .collect();
                            out.push(
                                Finding::new(
                                    &LOOSE_PROFILE,
                                    subject.clone(),
                                    at,
                                    format!(
                                        "Localhost seccomp profile `{name}` ({}): {}",
                                        found
                                            .as_ref()
                                            .map(|p| p.display().to_string())
                                            .unwrap_or_default(),
                                        what.join("; ")
                                    ),
                                )
                                .with_severity(worst),
                            );
                        }
                    }
                }
            }
        }
    }
    out
}
