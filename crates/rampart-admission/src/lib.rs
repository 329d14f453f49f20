//! The admission layer: a Kubernetes admission webhook (`admission.k8s.io/v1`) that only lets
//! hardened, signed, scanned workloads in, and fails closed when in doubt.
//!
//! The crate has two halves that meet at one seam, [`review::Reviewer`]:
//! - the decision engine (configuration, gates, mutation) turns one
//!   [`review::AdmissionRequest`] into a [`review::Decision`], synchronously;
//! - the server (HTTPS, metrics, audit log, deadlines, overload) parses AdmissionReview bodies,
//!   calls the reviewer on a worker thread within the deadline, and falls back to the configured
//!   failure mode when the reviewer cannot answer in time.
#![deny(clippy::indexing_slicing)]

pub mod audit;
pub mod manifests;
pub mod metrics;
pub mod review;
pub mod server;
pub mod tls;

pub use server::{FailureMode, Server, ServerConfig, ServerError, ShutdownHandle};
