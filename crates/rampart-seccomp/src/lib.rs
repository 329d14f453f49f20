//! The kernel-interface layer: seccomp profiles.
//!
//! - [`profile`]: the OCI / Docker seccomp profile model, bounded parsing, atomic writes, syscall
//!   name tables (from the `syscalls` crate).
//! - [`record`]: a ptrace recorder of a command and all its descendants.
//! - [`generate`]: least-privilege profiles from recordings, merging, Kubernetes and
//!   security-profiles-operator emitters.
//! - [`bundle`]: recording an OCI bundle under runc, only the container's calls.
//! - [`caps`]: the minimal capability set of a bundle's workload, by experiment under runc.
//! - [`lint`]: dangerous allowances, comparison with Docker's default profile, diff.
#![deny(clippy::indexing_slicing)]

pub mod bundle;
pub mod caps;
pub mod catalog;
pub mod generate;
pub mod lint;
pub mod profile;
pub mod record;

pub use generate::Generator;
pub use lint::{Finding, diff, lint};
pub use profile::{Profile, ProfileError};
pub use record::{Recording, record};
