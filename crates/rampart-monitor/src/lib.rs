//! The monitoring layer: the eBPF sensor, container identity, drift, actions and sinks.

pub mod drift;
pub mod identity;
