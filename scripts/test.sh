#!/usr/bin/env bash
# Runs every test: formatting and lints (denied), then the whole workspace's
# unit and integration tests (the integration tests drive the real binary).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked "$@"
