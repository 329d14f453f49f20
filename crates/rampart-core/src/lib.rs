//! The model every rampart layer speaks: [`Rule`]s (static metadata), [`Finding`]s (data, not
//! errors), [`Severity`], the defense-in-depth [`Layer`]s, [`Location`]s, and the [`Assessment`]
//! that records which controls were evaluated on which subject so a report can say which walls
//! stand and which are missing.
//!
//! Invariant: this crate does no I/O and has no dependency but `serde`.

pub mod cis_docker;
mod finding;
mod image;
mod layer;
pub mod location;
mod report;
mod rule;
pub mod text;
mod vulnerability;

pub use finding::{Assessment, Control, Finding, K8sObject, Location, Stage, Suppression};
pub use image::{ImageRef, ImageRefError, ImageRefErrorKind, RAMPART_IMAGE, RAMPART_UID};
pub use layer::{Layer, Severity};
pub use report::{
    Component, ImageSummary, InputError, LayerState, LayerSummary, NodeSummary,
    REPORT_SCHEMA_VERSION, Report, SubjectLayers, Summary, Tool,
};
pub use rule::{RefKind, Reference, Rule, RuleTarget};
pub use vulnerability::{Score, StreamFix, VulnCounts, VulnLocation, VulnPackage, Vulnerability};
