//! One intent per image: what the image's workload runs, writes, reads, listens on, talks to and
//! needs from the kernel ([`doc`]), compiled into every layer ([`compile`]: seccomp,
//! securityContext, runc settings, NetworkPolicies, runtime rules and answers ([`rules`]),
//! admission). See docs/intent.md.

pub mod compile;
pub mod conform;
pub mod doc;
pub mod learn;
pub mod rules;

pub use compile::{Artefact, Compiled, Note, Options, Target, compile};
pub use doc::{Intent, IntentError};

/// The JSON schema of the intent document (docs/intent.schema.json is this, pretty-printed).
pub fn schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(doc::Intent)).unwrap_or_default()
}
