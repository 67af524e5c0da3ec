#!/usr/bin/env bash
# Benchmark of the durable-run engine against a plain spawn loop, in one run.
#
#  1. 10,000 trivial tasks (`true`, no dependencies) through `matterstack run`;
#  2. the same 10,000 tasks as a chain of 100 fan-outs (hub i -> 99 leaves +
#     hub i+1);
#  3. baseline: a plain, sequential bash loop spawning the same 10,000 `true`
#     processes through a minimal sh wrapper that writes its pid and exit code
#     to files (two processes per task, as matterstack's wrapper + command);
#  4. an idle `step` on a run holding 100,000 finished tasks (median of 21).
#
# Prints each time and the ratios. Usage: bench/durable_runs.sh [N_TASKS]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
IDLE_N=${IDLE_N:-100000}
CORES=${CORES:-$(nproc)}
# MS_BIN: use an already built binary (e.g. on a machine without the toolchain).
if [ -n "${MS_BIN:-}" ]; then
  MS=$(realpath "$MS_BIN")
else
  cargo build --release --locked --bin matterstack >/dev/null 2>&1
  MS=$PWD/target/release/matterstack
fi
WORK=$(mktemp -d /tmp/ms-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
now() { date +%s.%N; }
elapsed() { python3 -c "print(f'{$2 - $1:.3f}')"; }

gen() { # gen <dir> <shape> <n>
  mkdir -p "$1"
  python3 - "$1/matterstack.toml" "$2" "$3" "$CORES" <<'PY'
import sys
path, shape, n, cores = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
out = [f"[run]\ncores = {cores}\n"]
if shape == "flat":
    for i in range(n):
        out.append(f'[[tasks]]\nid = "t{i}"\ncommand = ["true"]\n')
else:  # chain of fan-outs: hubs h0..h(k-1), each with (n/k - 1) leaves
    k = 100; per = n // k
    for h in range(k):
        dep = f'depends_on = ["h{h-1}"]\n' if h else ""
        out.append(f'[[tasks]]\nid = "h{h}"\ncommand = ["true"]\n{dep}')
        for j in range(per - 1):
            out.append(f'[[tasks]]\nid = "h{h}-{j}"\ncommand = ["true"]\ndepends_on = ["h{h}"]\n')
open(path, "w").write("".join(out))
PY
}

echo "machine: $(nproc) cores; core budget $CORES; $N tasks"

gen "$WORK/flat" flat "$N"
run=$("$MS" init "$WORK/flat" --run-id b | tail -n1)
t0=$(now); "$MS" run "$run" >/dev/null; t1=$(now)
flat=$(elapsed "$t0" "$t1")
"$MS" status "$run" --json | python3 -c "import json,sys; d=json.load(sys.stdin); assert d['counts']['COMPLETED']==$N, d['counts']"

gen "$WORK/fan" fan "$N"
run=$("$MS" init "$WORK/fan" --run-id b | tail -n1)
t0=$(now); "$MS" run "$run" >/dev/null; t1=$(now)
fan=$(elapsed "$t0" "$t1")
"$MS" status "$run" --json | python3 -c "import json,sys; d=json.load(sys.stdin); assert d['counts']['COMPLETED']==$N, d['counts']"

mkdir -p "$WORK/plain"
t0=$(now)
(
  cd "$WORK/plain"
  for i in $(seq 1 "$N"); do
    sh -c 'echo $$ > pid.$1; true; echo $? > exit.$1' sh "$i"
  done
)
t1=$(now)
plain=$(elapsed "$t0" "$t1")
test "$(ls "$WORK/plain" | grep -c '^exit')" -eq "$N"

echo "plain loop (sequential):        ${plain}s"
echo "(matterstack runs up to the core budget at once; the loop one at a time)"
echo "matterstack, $N independent: ${flat}s  ratio $(python3 -c "print(f'{$flat/$plain:.2f}')")x"
echo "matterstack, 100 fan-outs:     ${fan}s  ratio $(python3 -c "print(f'{$fan/$plain:.2f}')")x"

# Idle step on a run whose IDLE_N tasks have all finished. Running 100,000
# tasks would take minutes, so the store is brought to the state a finished
# run has (every task COMPLETED with one COMPLETED attempt) with sqlite3.
gen "$WORK/idle" flat "$IDLE_N"
t0=$(now); run=$("$MS" init "$WORK/idle" --run-id b | tail -n1); t1=$(now)
echo "init of $IDLE_N tasks:          $(elapsed "$t0" "$t1")s"
python3 bench/finish_store.py "$run/state.sqlite"
"$MS" step "$run" >/dev/null
python3 - "$MS" "$run" <<'PY'
import subprocess, sys, time, statistics
ms, run = sys.argv[1], sys.argv[2]
times = []
for _ in range(21):
    t = time.perf_counter()
    subprocess.run([ms, "step", run], check=True, stdout=subprocess.DEVNULL)
    times.append((time.perf_counter() - t) * 1000)
print(f"idle step, 100000 finished tasks: median {statistics.median(times):.1f} ms "
      f"(min {min(times):.1f}, max {max(times):.1f}); target <= 50 ms")
PY
