#!/usr/bin/env bash
# The whole test suite: formatting, lints, and every test (unit, integration, conformance,
# golden snapshots, oracle comparisons). Tests install the oracles they need themselves
# (scripts/install-oracles.sh, scripts/install-peers.sh); doing it first here just makes the
# output tidier.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-oracles.sh >/dev/null
bash scripts/install-peers.sh >/dev/null
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked --no-fail-fast
# The fuzz targets live in their own workspace (they need nightly to run): keep them compiling.
cargo check --manifest-path fuzz/Cargo.toml --locked --quiet
