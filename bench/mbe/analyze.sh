#!/usr/bin/env bash
# `matterstack mbe analyze` vs qcmanybody's ManyBodyCore.analyze (see analyze.py for what is timed).
# Usage: bench/mbe/analyze.sh   (creates /tmp/qcmbvenv with qcmanybody 0.8 if missing, builds release)
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=${VENV:-/tmp/qcmbvenv}
if ! "$VENV/bin/python" -c 'import qcmanybody' 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q 'qcmanybody==0.8.*'
fi
BIN=${BIN:-target/release/matterstack}
if [ "$BIN" = target/release/matterstack ]; then
  nice -n 15 cargo build --release -q -p matterstack
fi
exec "$VENV/bin/python" bench/mbe/analyze.py "$BIN"
