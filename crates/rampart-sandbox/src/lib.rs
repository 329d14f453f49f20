//! The dungeon: whether a workload can move into a sandbox runtime, tried for real.
//!
//! [`check::check`] runs the same OCI bundle (a given one, or one made from an image by
//! [`image::bundle_from_image`]) under runc, then under gVisor's runsc, each on a fresh
//! overlay of the root filesystem with no network (a new network namespace under runc,
//! `--network=none` under runsc: loopback only), then compares: did the container start, did
//! the smoke test pass, exit codes, output, wall time, and the system calls gVisor reported as
//! unsupported ([`gvisor`]). The verdict is "can move into gVisor", "breaks under gVisor:
//! <what>" or "does not work under runc either".
//!
//! The smoke test runs inside the running workload (the runtime's `exec`), as a server image
//! is tested; with `one_shot` (or without a smoke test) the container's own process is the test,
//! as a command-line image is. Every phase has a deadline; a runtime that overruns it is killed
//! and its state removed ([`runtime`]).
//!
//! [`available::available`] lists the sandbox runtimes a node offers, under a root directory.
//!
//! Docs: docs/sandbox.md.

pub mod available;
pub mod bundle;
pub mod check;
mod error;
pub mod gvisor;
pub mod image;
pub mod runtime;

pub use available::{Available, available};
pub use check::{CheckOptions, Report, Subject, Verdict, VerdictKind, check};
pub use error::SandboxError;
pub use runtime::{Runtime, RuntimeKind};

/// `s` with control characters escaped (container output is untrusted text on a terminal).
pub fn printable(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if c.is_control() && c != '\t' {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}
