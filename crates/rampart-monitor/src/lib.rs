//! The monitoring layer: the eBPF sensor, container identity, drift, actions and sinks.

pub mod config;
pub mod manifests;
pub mod metrics;
pub mod sensor;
pub mod sink;
pub mod drift;
pub mod identity;
