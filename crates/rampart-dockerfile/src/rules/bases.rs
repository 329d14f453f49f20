//! Hardened and distroless base image families: what a `FROM` line brings into the image
//! (a shell, a package manager) and which user it runs as, by family and variant. This table is
//! a prediction from the reference alone, used by the build-layer rules (DF005, DF001); when an
//! image itself is scanned, the image rules (IMG003, IMG004) judge its real contents instead.
//! docs/base-images.md documents the same table.
//!
//! | family | recognised by | runtime variant | build / debug variant |
//! |---|---|---|---|
//! | Docker Hardened Images | registry `dhi.io`, or a repository named `dhi-<image>` (a mirror) | no shell, no package manager, non-root | a `dev` or `sdk` tag component (`24-dev`, `1.25-debian13-dev`, `8-sdk`): shell (sh, bash), apt (apk on `alpine` tags), root |
//! | Google distroless | a repository path with `distroless` (`gcr.io/distroless/static-debian12`) | no shell, no package manager; non-root with a `nonroot` tag | `debug` tags: busybox sh, no package manager |
//! | Chainguard | registry `cgr.dev` | no shell, no package manager, non-root | `-dev` tags (`latest-dev`): busybox sh, apk; `wolfi-base` and `chainguard-base` always have both |
//! | Red Hat UBI micro | repository `ubi-micro`, `ubi8-micro`, `ubi9-micro`, `ubi10-micro` | bash, no package manager | none |
//! | scratch | `FROM scratch` | nothing at all | none |
//!
//! A `busybox` image of any family keeps busybox's shell.

use crate::ImageRef;

/// Which hardened family a base belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    DockerHardened,
    Distroless,
    Chainguard,
    UbiMicro,
}

impl Family {
    pub fn name(self) -> &'static str {
        match self {
            Family::DockerHardened => "Docker Hardened Image",
            Family::Distroless => "distroless image",
            Family::Chainguard => "Chainguard image",
            Family::UbiMicro => "UBI micro image",
        }
    }
}

/// What a hardened base brings, by the table above.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Hardened {
    pub family: Family,
    /// A build, development or debug variant (`-dev`, `-sdk`, `:debug`, `wolfi-base`).
    pub build_variant: bool,
    pub shells: &'static [&'static str],
    pub package_managers: &'static [&'static str],
    /// Runs as a non-root user unless a USER says otherwise.
    pub non_root: bool,
}

impl Hardened {
    /// A runtime base: no shell and no package manager.
    pub fn is_minimal(&self) -> bool {
        self.shells.is_empty() && self.package_managers.is_empty()
    }
}

/// Whether a tag has `word` as one of its dash-separated components (`24-dev`, `latest-dev`,
/// `1.25-debian13-dev`), so `devel` or `device` do not count.
fn tag_has(tag: &str, word: &str) -> bool {
    tag.split(['-', '_', '.']).any(|part| part == word)
}

const BUSYBOX: &[&str] = &["sh (busybox)"];
const DEB_SHELLS: &[&str] = &["sh", "bash"];
const APT: &[&str] = &["apt-get", "dpkg"];
const APK: &[&str] = &["apk"];

/// The hardened family of a base image and what its variant contains; `None` for any other
/// image (general-purpose distributions and language images are judged by the caller).
pub(crate) fn classify(r: &ImageRef) -> Option<Hardened> {
    let tag = r.tag.as_deref().unwrap_or("latest").to_ascii_lowercase();
    let family = r.family();
    let registry = r.registry.as_deref().map(str::to_ascii_lowercase);
    let busybox = family == "busybox";

    if registry.as_deref() == Some("dhi.io") || family.starts_with("dhi-") {
        let build = tag_has(&tag, "dev") || tag_has(&tag, "sdk");
        let alpine = tag.contains("alpine");
        let (shells, package_managers): (&[&str], &[&str]) = match (build, busybox) {
            (true, _) => (
                if alpine { BUSYBOX } else { DEB_SHELLS },
                if alpine { APK } else { APT },
            ),
            (false, true) => (BUSYBOX, &[]),
            (false, false) => (&[], &[]),
        };
        return Some(Hardened {
            family: Family::DockerHardened,
            build_variant: build,
            shells,
            package_managers,
            non_root: !build,
        });
    }
    if r.repository.contains("distroless") {
        let debug = tag_has(&tag, "debug");
        return Some(Hardened {
            family: Family::Distroless,
            build_variant: debug,
            shells: if debug { BUSYBOX } else { &[] },
            package_managers: &[],
            non_root: tag_has(&tag, "nonroot"),
        });
    }
    if registry.as_deref() == Some("cgr.dev") {
        let base = matches!(family, "wolfi-base" | "chainguard-base");
        let dev = tag_has(&tag, "dev") || base;
        return Some(Hardened {
            family: Family::Chainguard,
            build_variant: dev,
            shells: if dev || busybox { BUSYBOX } else { &[] },
            package_managers: if dev { APK } else { &[] },
            non_root: !dev,
        });
    }
    if matches!(
        family,
        "ubi-micro" | "ubi8-micro" | "ubi9-micro" | "ubi10-micro"
    ) {
        return Some(Hardened {
            family: Family::UbiMicro,
            build_variant: false,
            shells: &["bash"],
            package_managers: &[],
            non_root: false,
        });
    }
    None
}

/// The runtime variant to suggest for a build variant, when the tag says it plainly
/// (`dhi.io/node:24-dev` → `dhi.io/node:24`, `cgr.dev/chainguard/python:latest-dev` →
/// `cgr.dev/chainguard/python:latest`, distroless `:debug` → `:latest`).
pub(crate) fn runtime_variant(r: &ImageRef) -> Option<String> {
    let h = classify(r)?;
    if !h.build_variant {
        return None;
    }
    let tag = r.tag.as_deref()?;
    let stripped = match h.family {
        Family::DockerHardened => tag
            .strip_suffix("-dev")
            .or_else(|| tag.strip_suffix("-sdk"))?
            .to_owned(),
        Family::Chainguard => tag.strip_suffix("-dev")?.to_owned(),
        Family::Distroless => match tag.strip_prefix("debug") {
            Some("") => "latest".to_owned(),
            Some(rest) => rest.trim_start_matches('-').to_owned(),
            None => return None,
        },
        Family::UbiMicro => return None,
    };
    if stripped.is_empty() {
        return None;
    }
    Some(format!("{}:{stripped}", r.name()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(reference: &str) -> Option<Hardened> {
        ImageRef::parse(reference).and_then(|r| classify(&r))
    }

    #[test]
    fn docker_hardened_images() {
        let rt = c("dhi.io/node:24").expect("dhi");
        assert_eq!(rt.family, Family::DockerHardened);
        assert!(rt.is_minimal() && rt.non_root && !rt.build_variant);
        let dev = c("dhi.io/node:24-dev").expect("dhi dev");
        assert!(dev.build_variant && !dev.non_root);
        assert_eq!(dev.package_managers, APT);
        let alpine = c("dhi.io/python:3.13-alpine3.22-dev").expect("dhi alpine dev");
        assert_eq!(alpine.package_managers, APK);
        assert!(c("dhi.io/golang:1.25-debian13").is_some_and(|h| h.is_minimal()));
        assert!(c("dhi.io/dotnet:8-sdk").is_some_and(|h| h.build_variant));
        assert!(
            c("registry.example/team/dhi-node:24").is_some_and(|h| h.is_minimal()),
            "a mirror keeps the dhi- prefix"
        );
        assert!(
            c("dhi.io/node:24-devel").is_some_and(|h| h.is_minimal()),
            "only a whole `dev` component is the build variant"
        );
    }

    #[test]
    fn distroless() {
        let rt = c("gcr.io/distroless/static-debian12").expect("distroless");
        assert!(rt.is_minimal() && !rt.non_root);
        assert!(c("gcr.io/distroless/base-debian12:nonroot").is_some_and(|h| h.non_root));
        let debug = c("gcr.io/distroless/python3-debian12:debug-nonroot").expect("debug");
        assert_eq!(debug.shells, BUSYBOX);
        assert!(debug.package_managers.is_empty() && debug.non_root);
    }

    #[test]
    fn chainguard() {
        let rt = c("cgr.dev/chainguard/python:latest").expect("cgr");
        assert!(rt.is_minimal() && rt.non_root);
        let dev = c("cgr.dev/chainguard/python:latest-dev").expect("cgr dev");
        assert_eq!((dev.shells, dev.package_managers), (BUSYBOX, APK));
        assert!(c("cgr.dev/chainguard/wolfi-base").is_some_and(|h| !h.is_minimal()));
        assert!(c("cgr.dev/chainguard/static").is_some_and(|h| h.is_minimal()));
    }

    #[test]
    fn ubi_micro_and_others() {
        let micro = c("registry.access.redhat.com/ubi9/ubi-micro:9.6").expect("ubi micro");
        assert_eq!(micro.shells, &["bash"]);
        assert!(micro.package_managers.is_empty());
        assert!(c("registry.access.redhat.com/ubi9/ubi-minimal").is_none());
        assert!(c("node:24").is_none());
        assert!(c("debian:12").is_none());
    }

    #[test]
    fn runtime_variants() {
        let rv = |s: &str| ImageRef::parse(s).and_then(|r| runtime_variant(&r));
        assert_eq!(rv("dhi.io/node:24-dev").as_deref(), Some("dhi.io/node:24"));
        assert_eq!(
            rv("cgr.dev/chainguard/python:latest-dev").as_deref(),
            Some("cgr.dev/chainguard/python:latest")
        );
        assert_eq!(
            rv("gcr.io/distroless/base-debian12:debug-nonroot").as_deref(),
            Some("gcr.io/distroless/base-debian12:nonroot")
        );
        assert_eq!(rv("dhi.io/node:24"), None);
    }
}
