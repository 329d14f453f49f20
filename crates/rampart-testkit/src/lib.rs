//! What rampart's tests share, in one place: the real components they start and the reference
//! implementations (oracles) they check against, each installed on first use. A missing
//! component fails the test that needs it (never a skip).
//!
//! One module per component, so a new layer's tests add theirs beside the others:
//! - [`paths`]: the workspace root and the shared corpus beside it;
//! - [`tools`]: Debian packages installed when a command is missing (`ensure_tool`), commands run
//!   with their output checked;
//! - [`oracles`]: the oracle cache of `scripts/install-oracles.sh` (its Python venv, npm
//!   packages) and Python scripts run with it;
//! - [`registry`]: Debian's `docker-registry` on 127.0.0.1 (anonymous, htpasswd or token auth,
//!   TLS), `skopeo` to push, a token server, a fake server for what real registries never send;
//! - [`runc`]: real runc containers: a busybox rootfs from Debian's busybox-static, OCI bundles
//!   (annotations, read-only root, overlayfs root, tmpfs mounts), detached containers to exec into;
//! - [`runsc`]: gVisor's runsc from Debian, the sandbox runtime of `rampart sandbox check`;
//! - [`containerd`]: a private containerd daemon, images imported from OCI layouts, `ctr run -d`;
//! - [`pss`]: the official pod-security-admission conformance fixtures, walked in order;
//! - [`yaml`]: YAML fixtures read into JSON values;
//! - [`eventgen`]: Falco's event-generator actions (`rampart-eventgen`) run in `runc` containers;
//! - [`browser`]: pages driven in Debian's headless Chromium by Playwright (steps given as JSON),
//!   checked with axe-core, screenshots kept as artifacts; OpenAPI documents checked against the
//!   live server by schemathesis.
//!
//! This crate is `publish = false` and only ever a dev-dependency: panicking with context is how
//! a test helper reports a failed prerequisite.
#![forbid(unsafe_code)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test support: a failed prerequisite fails the calling test loudly"
)]

pub mod browser;
pub mod containerd;
pub mod debian;
pub mod eventgen;
pub mod oracles;
pub mod paths;
pub mod postgres;
pub mod pss;
pub mod registry;
pub mod runc;
pub mod runsc;
pub mod tools;
pub mod yaml;
