//! CIS Kubernetes Benchmark checks with kube-bench's semantics, as a library.
//!
//! - [`model`]: a benchmark's controls file (groups, checks, test items), as kube-bench reads
//!   `cfg/<benchmark>/*.yaml`; [`load`] / [`parse`] read one ([`LoadError`]: file and position).
//! - [`evaluate`]: a check and what its audits printed ([`Input`]: the command line flags are
//!   looked up in, the configuration paths are looked up in, the environment) → [`Outcome`]:
//!   PASS / FAIL / WARN / INFO, kube-bench's `expected_result` sentence, the actual value. A flag
//!   on the command line overrides the configuration. Checked against every case of
//!   kube-bench's own unit tests (`tests/kube_bench.rs`).
//! - [`compare()`]: one comparison (eq, noteq, gt, gte, lt, lte, has, nothave, regex,
//!   valid_elements, bitmask) and its sentence.
//! - [`cmdline`]: a program's arguments as the program reads them (`--flag value`, repeated
//!   flags, lists), written back as one `--flag=value` line kube-bench's reading agrees with.
//! - [`master`]: rampart's control-plane checks (1.2 to 1.4, 2, 3.2.1) that `rampart scan` runs
//!   on static pod manifests, and the control-plane node file checks (1.1) for `rampart host`.
//! - [`files`]: file facts as kube-bench's `stat` audits print them.
//! - [`node`]: rampart's CIS worker node checks (4.1 files, 4.2 kubelet, 4.3 kube-proxy) as
//!   data for `rampart host`, with the inputs they take.
//!
//! Evaluating a check is string work and never panics on hostile input: configuration text,
//! JSONPath output and controls files are bounded.

#![deny(clippy::indexing_slicing)]

pub mod cmdline;
mod compare;
mod eval;
pub mod files;
pub mod jsonpath;
mod load;
pub mod master;
pub mod model;
pub mod node;

pub use compare::compare;
pub use eval::{Input, ItemResult, Outcome, Source, State, evaluate};
pub use load::{LoadError, MAX_FILE_BYTES, load, parse};
pub use model::{BinOp, Check, CheckType, Compare, Controls, Group, Op, TestItem, Tests};
