#!/usr/bin/env bash
# Builds matterstack and runs the demo workspace (examples/demo) end to end
# on the embedded default: the local operator and a SQLite store.
# On a fresh Debian machine without Rust it installs the toolchain first.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
  [ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
fi
if ! command -v cargo >/dev/null 2>&1; then
  echo "demo: installing the Rust toolchain (rustup) first" >&2
  if ! command -v curl >/dev/null 2>&1 || ! command -v cc >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq curl build-essential
  fi
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
  . "$HOME/.cargo/env"
fi

cargo build --release --locked --bin matterstack
ms=target/release/matterstack
run=$("$ms" init examples/demo | tail -n 1)
echo "demo: run directory $run"
"$ms" run "$run"
"$ms" status "$run"
echo "demo: the report task printed:"
"$ms" logs "$run" report

# A campaign: a planner proposes the next calculation whenever the current
# ones are finished, driven by nothing but repeated `step` (each a separate
# process, so it would survive a reboot between any two).
run=$("$ms" init examples/active-learning | tail -n 1)
echo "demo: active-learning campaign in $run"
for _ in $(seq 1 200); do
  out=$("$ms" step "$run")
  case "$out" in *"planner added"*) echo "demo: ${out##*$'\n'}";; esac
  state=$("$ms" status "$run" --json | sed -n 's/^  "status": "\(.*\)",$/\1/p')
  [ "$state" = RUNNING ] || break
  sleep 0.1
done
"$ms" status "$run"
"$ms" export-evidence "$run"
