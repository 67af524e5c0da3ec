#!/usr/bin/env bash
# TUI frame cost: time to draw the tasks screen (160×48) and to apply 1,000
# change-feed updates, for runs of 10,000 and 100,000 tasks (in memory).
# Prints ms per frame and its ratio to the 16 ms budget (≤ 1.00 meets it).
#
# Usage: bench/tui_frame.sh [N…]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --release --locked -q -p matterstack-tui --example frame_bench -- "$@"
