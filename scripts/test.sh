#!/usr/bin/env bash
# Runs every test: formatting and lints (denied), then the whole workspace's
# unit and integration tests (the integration tests drive the real binary,
# the SLURM ones through the testbed: real slurmctld/slurmd behind a real
# sshd on 127.0.0.1, started here idempotently; it needs root or sudo).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/testbed.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked "$@"
