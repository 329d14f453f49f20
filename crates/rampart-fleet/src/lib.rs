//! Fleet scale (docs/fleet.md): what rampart needs when it assesses thousands of images across
//! registries and clusters, on the engines users already run: PostgreSQL for state and work,
//! Kubernetes for workers. rampart has no scheduler of its own.
//!
//! - [`store`]: the shared PostgreSQL store (schema, reconnection after a restart);
//! - [`queue`]: the work queue (enqueue, claim with `FOR UPDATE SKIP LOCKED` under a
//!   per-registry bound, heartbeats, retries with backoff, status);
//! - [`worker`]: the worker loop (threads, heartbeats, one analysis per digest at a time,
//!   results written with the job's end or not at all);
//! - [`analyse`]: what a worker does to one image (pull by digest, inspect, assess, report);
//! - [`inventory`]: the fleet's packages, matches and reports (`inventory find|list|rescan`
//!   over the shared store, no image pulled again);
//! - [`sources`]: references, a registry's catalog, a cluster dump;
//! - [`harbor`] and [`adapter`]: Harbor's pluggable scanner API over the queue and the store
//!   (docs/harbor.md).
#![forbid(unsafe_code)]

pub mod adapter;
pub mod analyse;
pub mod harbor;
pub mod inventory;
pub mod manifests;
pub mod queue;
pub mod sources;
pub mod store;
pub mod worker;

pub use store::Store;

/// What can go wrong in the fleet's store and queue.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    /// the location is not a PostgreSQL URL
    #[error("{0}: the fleet store is a PostgreSQL server (postgres://user@host/db)")]
    Location(String),
    /// the server could not be reached
    #[error("connecting to the fleet store {location}: {message}")]
    Connect { location: String, message: String },
    /// a statement failed
    #[error("the fleet store: {0}")]
    Db(#[from] postgres::Error),
    /// a newer rampart migrated the store
    #[error(
        "the fleet store {location} has schema version {found}; this rampart knows up to {supported}: refusing to write it"
    )]
    NewerSchema {
        location: String,
        found: i32,
        supported: i32,
    },
    /// stored data that does not read back
    #[error("the fleet store: {what}: {message}")]
    Corrupt { what: String, message: String },
    /// the advisory database could not be read while matching
    #[error("matching against the advisory database: {0}")]
    Advisories(String),
    /// a worker could not go on
    #[error("worker: {0}")]
    Worker(String),
}
