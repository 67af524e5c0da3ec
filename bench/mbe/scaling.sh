#!/usr/bin/env bash
# Makespan of a many-body expansion's components through matterstack.
#
# A 6-water cluster (psi4, HF/STO-3G, scf_type pk), vmfc, max_nbody 3: 191 components, each a
# `psi4 --json` process. Three schedules of the same components:
#   1 worker      `matterstack mbe run --workers 1`
#   N workers     `matterstack mbe run --workers N` (N = all cores): one task per component, no
#                 dependencies, largest cost first
#   barrier       the same tasks with level k (k real fragments) depending on every level k-1 task,
#                 the way a level-by-level driver runs them; N workers
# For each: makespan (first start to last end, from the tasks' claim/exit markers), total work
# (sum of component times), the largest component, and efficiency = ideal / makespan with
# ideal = max(largest component, total work / workers) (total work and largest of that run).
#
# Then bench/mbe/replay.sh replays the 1-worker component times as sleep tasks at 4..32 workers.
#
# Usage: bench/mbe/scaling.sh [WORKERS]      (BIN=path/to/matterstack to use another binary)
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-target/debug/matterstack}
BIN=$(realpath "$BIN")
N=${1:-$(nproc)}
command -v psi4 >/dev/null || { echo "psi4 is not installed (apt-get install -y psi4)" >&2; exit 2; }
W=$(mktemp -d /tmp/mbe-scaling.XXXXXX)
echo "workdir $W; $(nproc) cpus; workers $N; $($BIN --version)"

python3 - "$W/six.json" <<'PY'
import json, sys
# QCManyBody's water trimer (bohr) and a copy 8 bohr above it
t = [-2.76373224, -1.24377706, -0.15444566, -1.12357791, -2.0622797, -0.05243799, -3.80792362, -2.08705525, 1.06090407,
     2.46924614, -1.75437739, -0.17092884, 3.7636826, -2.21425403, 1.00846104, 2.3059833, 0.07098445, -0.03942473,
     0.2912793, 3.00875625, 0.20308515, -1.21253048, 1.958209, 0.10303324, 0.10002049, 4.24958115, -1.10222079]
geom = t + [x + (8.0 if i % 3 == 2 else 0.0) for i, x in enumerate(t)]
inp = {
    "schema_name": "qcschema_manybodyinput", "schema_version": 1,
    "specification": {
        "schema_name": "qcschema_manybodyspecification", "schema_version": 1, "driver": "energy",
        "keywords": {"bsse_type": ["vmfc"], "max_nbody": 3, "return_total_data": True},
        "specification": {"(auto)": {"program": "psi4", "driver": "energy", "model": {"method": "hf", "basis": "sto-3g"},
                                     "keywords": {"scf_type": "pk"}}}},
    "molecule": {"schema_name": "qcschema_molecule", "schema_version": 2, "symbols": ["O", "H", "H"] * 6, "geometry": geom,
                 "fragments": [[3 * i, 3 * i + 1, 3 * i + 2] for i in range(6)], "molecular_charge": 0.0,
                 "fragment_charges": [0.0] * 6, "fragment_multiplicities": [1] * 6}}
json.dump(inp, open(sys.argv[1], "w"), indent=1)
PY

stats() { # RUN_DIR WORKERS LABEL WALL
  python3 - "$@" <<'PY'
import glob, json, os, sys
run, workers, label, wall = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
starts, ends, durs = [], [], []
for t in glob.glob(os.path.join(run, "tasks", "*")):
    a = sorted(glob.glob(os.path.join(t, ".attempts", "*")), key=lambda p: int(os.path.basename(p)))[-1]
    s, e = os.stat(os.path.join(a, "claim")).st_mtime, os.stat(os.path.join(a, "exit")).st_mtime
    starts.append(s); ends.append(e); durs.append(e - s)
mk = max(ends) - min(starts)
work, big = sum(durs), max(durs)
ideal = max(big, work / workers)
print(f"{label:<22} tasks {len(durs):4d}  makespan {mk:7.1f} s  (command wall {wall:6.1f} s)  work {work:7.1f} s  "
      f"largest {big:5.2f} s  ideal {ideal:7.1f} s  efficiency {100 * ideal / mk:5.1f} %")
PY
}

t0=$(date +%s.%N)
$BIN mbe run "$W/six.json" --workspace "$W/one" --workers 1 -o "$W/one.json" >/dev/null 2>"$W/one.log"
t1=$(date +%s.%N)
stats "$W/one/runs/mbe-001" 1 "1 worker" "$(echo "$t1 - $t0" | bc)"

t0=$(date +%s.%N)
$BIN mbe run "$W/six.json" --workspace "$W/all" --workers "$N" -o "$W/all.json" >/dev/null 2>"$W/all.log"
t1=$(date +%s.%N)
stats "$W/all/runs/mbe-001" "$N" "$N workers, no barrier" "$(echo "$t1 - $t0" | bc)"

# barrier: the same tasks and inputs, level k depends on all of level k-1
mkdir -p "$W/barrier"
cp -r "$W/all/inputs" "$W/barrier/inputs"
python3 - "$W/all/matterstack.toml" "$W/barrier/matterstack.toml" "$W/all/inputs" <<'PY'
import json, os, re, sys
src, dst, inputs = sys.argv[1:4]
text = open(src).read()
blocks = text.split("[[tasks]]")
head, tasks = blocks[0], blocks[1:]
level = {}
for b in tasks:
    tid = re.search(r'^id = "([^"]+)"', b, re.M).group(1)
    meta = json.load(open(os.path.join(inputs, tid, "component.json")))
    level[tid] = len(json.loads(meta["label"])[1])
out = [head]
for b in tasks:
    tid = re.search(r'^id = "([^"]+)"', b, re.M).group(1)
    deps = [t for t, k in level.items() if k == level[tid] - 1]
    out.append("[[tasks]]" + b.replace(f'id = "{tid}"\n', f'id = "{tid}"\ndepends_on = {json.dumps(deps)}\n', 1))
open(dst, "w").write("".join(out))
PY
t0=$(date +%s.%N)
run=$($BIN init "$W/barrier" --run-id barrier | tail -n1)
$BIN run "$run" >/dev/null
t1=$(date +%s.%N)
stats "$run" "$N" "$N workers, barrier" "$(echo "$t1 - $t0" | bc)"

python3 - "$W/one.json" "$W/all.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
print(f"vmfc 3-body total {a['ret_energy']:.10f} Eh (1 worker) vs {b['ret_energy']:.10f} Eh ({'same' if a['ret_energy'] == b['ret_energy'] else 'DIFFERENT'})")
PY

# The schedule alone at more workers than cores: the 1-worker component times replayed as sleeps.
BIN=$BIN bash bench/mbe/replay.sh "$W" 4 8 16 32
