#!/usr/bin/env bash
# Scheduling alone, at more workers than this machine has cores: replays the component times
# measured by a 1-worker `mbe run` (scaling.sh's WORKDIR/one) as `sleep` tasks, in the same order
# (largest cost first), with W workers, without and with the level-by-level barrier. Sleeping
# tasks need no CPU, so the makespans measure the engine's schedule, not core contention.
#
# Usage: bench/mbe/replay.sh WORKDIR [W...]      (default W = 4 8 16 32)
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-target/debug/matterstack}
BIN=$(realpath "$BIN")
SRC=$1; shift
WS=("$@"); [ ${#WS[@]} -gt 0 ] || WS=(4 8 16 32)
for W in "${WS[@]}"; do
  for mode in free barrier; do
    D="$SRC/replay-$W-$mode"
    rm -rf "$D"; mkdir -p "$D"
    python3 - "$SRC/one" "$D/matterstack.toml" "$W" "$mode" <<'PY'
import glob, json, os, re, sys
one, dst, workers, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
order = re.findall(r'^id = "([^"]+)"', open(os.path.join(one, "matterstack.toml")).read(), re.M)
run = os.path.join(one, "runs", "mbe-001", "tasks")
dur, level = {}, {}
for t in order:
    a = os.path.join(run, t, ".attempts", "1")
    dur[t] = os.stat(os.path.join(a, "exit")).st_mtime - os.stat(os.path.join(a, "claim")).st_mtime
    level[t] = len(json.loads(json.load(open(os.path.join(one, "inputs", t, "component.json")))["label"])[1])
out = [f"[run]\ncores = {workers}\n"]
for t in order:
    deps = [u for u in order if level[u] == level[t] - 1] if mode == "barrier" else []
    out.append(f'\n[[tasks]]\nid = "{t}"\ncommand = "sleep {dur[t]:.3f}"\ndepends_on = {json.dumps(deps)}\n')
open(dst, "w").write("".join(out))
json.dump({"work": sum(dur.values()), "largest": max(dur.values())}, open(dst + ".json", "w"))
PY
    run=$($BIN init "$D" --run-id r | tail -n1)
    $BIN run "$run" --poll 0.2 >/dev/null
    python3 - "$run" "$D/matterstack.toml.json" "$W" "$mode" <<'PY'
import glob, json, os, sys
run, meta, w, mode = sys.argv[1], json.load(open(sys.argv[2])), int(sys.argv[3]), sys.argv[4]
s, e = [], []
for t in glob.glob(os.path.join(run, "tasks", "*")):
    a = os.path.join(t, ".attempts", "1")
    s.append(os.stat(os.path.join(a, "claim")).st_mtime); e.append(os.stat(os.path.join(a, "exit")).st_mtime)
mk = max(e) - min(s)
ideal = max(meta["largest"], meta["work"] / w)
print(f"replay {w:3d} workers {mode:<8} makespan {mk:7.2f} s  ideal {ideal:7.2f} s  efficiency {100 * ideal / mk:5.1f} %", flush=True)
PY
  done
done
