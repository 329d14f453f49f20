//! Fleet scale (docs/fleet.md): what rampart needs when it assesses thousands of images across
//! registries and clusters, on the engines users already run: PostgreSQL for state and work,
//! Kubernetes for workers. rampart has no scheduler of its own.
#![forbid(unsafe_code)]

pub mod manifests;
