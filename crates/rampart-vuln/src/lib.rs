//! The vulnerability layer: OSV records, the local database, matching packages, inventory.
pub mod ecosystem;
pub mod import;
pub mod osv;
pub mod skips;
pub mod store;

pub use skips::{Skip, Skips};
pub use store::{Database, DbError};

/// Whether `v` is a valid version under `scheme`.
pub(crate) fn version_ok(scheme: rampart_version::Scheme, v: &str) -> bool {
    scheme.parse(v).is_ok()
}
pub mod assess;
pub mod inventory;
pub mod matcher;
pub mod severity;
pub mod update;
pub mod vex;
