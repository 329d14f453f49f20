//! The items of the CIS Docker Benchmark that rules cite, declared once: the build rules
//! (Dockerfiles) and the image rules cite the same items.

use crate::{RefKind, Reference};

const fn item(id: &'static str) -> Reference {
    Reference::new(
        RefKind::CisDocker,
        id,
        "https://www.cisecurity.org/benchmark/docker",
    )
}

/// 4.1: a non-root user for the container.
pub const USER: Reference = item("4.1 Ensure that a user for the container has been created");
/// 4.2: trusted base images.
pub const TRUSTED_BASE: Reference = item("4.2 Ensure that containers use only trusted base images");
/// 4.3: no unnecessary packages in what ships.
pub const PACKAGES: Reference =
    item("4.3 Ensure that unnecessary packages are not installed in the container");
/// 4.6: a HEALTHCHECK.
pub const HEALTHCHECK: Reference =
    item("4.6 Ensure that HEALTHCHECK instructions have been added to container images");
/// 4.7: no update instruction alone.
pub const UPDATE_ALONE: Reference =
    item("4.7 Ensure update instructions are not used alone in Dockerfiles");
/// 4.8: no setuid and setgid permissions.
pub const SETID: Reference = item("4.8 Ensure setuid and setgid permissions are removed");
/// 4.9: COPY rather than ADD.
pub const COPY_NOT_ADD: Reference =
    item("4.9 Ensure that COPY is used instead of ADD in Dockerfiles");
/// 4.10: no secrets in Dockerfiles (and so in images).
pub const SECRETS: Reference = item("4.10 Ensure secrets are not stored in Dockerfiles");
/// 5.6: no sshd in containers.
pub const SSHD: Reference = item("5.6 Ensure sshd is not run within containers");
