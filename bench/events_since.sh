#!/usr/bin/env bash
# Benchmark of the change feed (`events --since`, `Run::events_since`) on a
# run of 100,000 tasks: one call with nothing new, and one with 1,000 new
# changes, each against a peer that reads every task (`status --json`), in
# the same script. Prints the times and the ratios.
#
# The store is brought to the state of a finished run with sqlite3 (running
# 100,000 tasks would take minutes); the feed's triggers record those
# transitions as the engine's would (300,000 changes).
#
# Usage: bench/events_since.sh [N_TASKS]     (MS_BIN: use a built binary)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
if [ -n "${MS_BIN:-}" ]; then
  MS=$(realpath "$MS_BIN")
else
  cargo build --release --locked --bin matterstack >/dev/null 2>&1
  MS=$PWD/target/release/matterstack
fi
WORK=$(mktemp -d /tmp/ms-bench-events.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/ws"
python3 - "$WORK/ws/matterstack.toml" "$N" <<'PY'
import sys
path, n = sys.argv[1], int(sys.argv[2])
open(path, "w").write("".join(f'[[tasks]]\nid = "t{i}"\ncommand = ["true"]\n' for i in range(n)))
PY
run=$("$MS" init "$WORK/ws" --run-id b | tail -n1)
python3 bench/finish_store.py "$run/state.sqlite"
python3 - "$MS" "$run" "$N" <<'PY'
import json, sqlite3, statistics, subprocess, sys, time
ms, run, n = sys.argv[1], sys.argv[2], int(sys.argv[3])

def median_ms(args, k):
    times = []
    for _ in range(k):
        t = time.perf_counter()
        out = subprocess.run([ms] + args, check=True, stdout=subprocess.PIPE).stdout
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), out

db = sqlite3.connect(f"{run}/state.sqlite")
last = db.execute("SELECT max(id) FROM changes").fetchone()[0]
print(f"run of {n} tasks; {last} changes in its feed")
peer, _ = median_ms(["status", run, "--json"], 5)
print(f"peer: status --json (reads every task): median {peer:.1f} ms")
idle, out = median_ms(["events", run, "--since", str(last), "--json"], 21)
assert out == b"", out[:200]
print(f"events --since <last>, nothing new:   median {idle:.1f} ms   ratio {idle / peer:.3f} of the peer")
# 1,000 new changes: 1,000 tasks retried (status back to READY).
db.execute("UPDATE tasks SET status = 'READY' WHERE id IN (SELECT id FROM tasks LIMIT 1000)")
db.commit()
new, out = median_ms(["events", run, "--since", str(last), "--json"], 21)
got = out.decode().splitlines()
assert len(got) == 1000, len(got)
assert all(json.loads(l)["status"] == "READY" for l in got)
print(f"events --since <last>, 1,000 new:     median {new:.1f} ms   ratio {new / peer:.3f} of the peer")
PY
