//! The monitoring layer: the eBPF sensor, container identity, drift, actions and sinks.

pub mod config;
pub mod drift;
pub mod enforce;
pub mod identity;
pub mod manifests;
pub mod metrics;
pub mod pipeline;
pub mod sensor;
pub mod sink;
