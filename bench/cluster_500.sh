#!/usr/bin/env bash
# Benchmark of matterstack's SLURM operator against a naive SSH loop, in one
# run, on the testbed (scripts/testbed.sh: real SLURM behind a real sshd on
# 127.0.0.1):
#
#  1. matterstack: N trivial tasks (`true`, operator "slurm") in a generated
#     workspace whose clusters.toml holds one testbed profile; `init` then
#     `run --poll 1`, with MATTERSTACK_TRANSPORT_LOG recording every remote
#     command (`<ms> <destination> <label>`);
#  2. baseline: a plain bash loop opening a fresh SSH connection per command
#     (no ControlMaster): one `sbatch --wrap true` per task, then one
#     `squeue -h -j ID` per job still queued, rounds 1 s apart, until every
#     job has left the queue.
#
# For each: wall time, scheduler commands (sbatch + squeue + scancel) and SSH
# connections opened — counted as the "Accepted publickey" lines the sshd log
# gains for a key used only by this benchmark — and the ratios
# matterstack/baseline. Asserts all N matterstack tasks COMPLETED and all N
# baseline jobs wrote their output file.
#
# Usage: bench/cluster_500.sh [N_TASKS]   (default 500)
# Env:   RATE (commands_per_second, default 20), BURST (default 50),
#        MAX_JOBS (default 500), MS_BIN (skip the build, use this binary),
#        MS_TESTBED (testbed dir, default /var/tmp/matterstack-testbed).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-500}
RATE=${RATE:-20}
BURST=${BURST:-50}
MAX_JOBS=${MAX_JOBS:-500}
TB=${MS_TESTBED:-/var/tmp/matterstack-testbed}

die() { echo "cluster_500: $*" >&2; exit 1; }
now() { date +%s.%N; }
calc() { python3 -c "print($1)"; }

[ -r "$TB/env" ] || die "the testbed is not up ($TB/env missing): run \`bash scripts/testbed.sh\` first"
# shellcheck disable=SC1091
. "$TB/env"
PORT=$MS_TESTBED_SSH_PORT
USER_=$MS_TESTBED_SSH_USER
SSHD_LOG=$TB/ssh/sshd_$PORT.log
[ -r "$SSHD_LOG" ] || die "no sshd log at $SSHD_LOG: is the testbed's sshd on port $PORT running?"

if [ -n "${MS_BIN:-}" ]; then
  MS=$MS_BIN
else
  echo "building matterstack (release)…"
  if ! out=$(nice -n 10 cargo build --release --locked --bin matterstack 2>&1); then
    echo "$out" | tail -n 20 >&2
    die "cargo build --release --locked --bin matterstack failed (or set MS_BIN to a built binary)"
  fi
  MS=$PWD/target/release/matterstack
fi
[ -x "$MS" ] || die "no matterstack binary at $MS"

# A key used only by this benchmark, so the sshd log's "Accepted publickey"
# lines for its fingerprint are exactly our connections even while tests use
# the testbed's own keys. Appended to authorized_keys idempotently (again
# before each phase: scripts/testbed.sh rewrites that file when it runs).
KEY=$TB/ssh/bench_ed25519
[ -f "$KEY" ] || ssh-keygen -q -t ed25519 -N '' -C matterstack-bench -f "$KEY"
ensure_key() {
  grep -qxF "$(cat "$KEY.pub")" "$TB/ssh/authorized_keys" 2>/dev/null \
    || cat "$KEY.pub" >> "$TB/ssh/authorized_keys"
}
FP=$(ssh-keygen -lf "$KEY.pub" | awk '{print $2}')
log_size() { stat -c %s "$SSHD_LOG"; }
accepted_since() { # accepted_since BYTE_OFFSET: our key's connections since then
  tail -c +"$(( $1 + 1 ))" "$SSHD_LOG" | grep 'Accepted publickey' | grep -cF "$FP" || true
}

TAG=cb$$$(printf '%04x' $((RANDOM % 65536)))   # names this run's jobs
WORK=$(mktemp -d /tmp/ms-cluster-bench.XXXXXX)
CTL=$(mktemp -d /tmp/mscb.XXXX)                # short: control socket paths
chmod 700 "$CTL"
cleanup() {
  local rc=$?
  set +e
  # Jobs of this benchmark still known to SLURM: matterstack's are named
  # ms.<task>.<token> with tasks ${TAG}_<i>; the baseline's are named $TAG-base.
  local ids
  ids=$(squeue -h -o '%i|%j' 2>/dev/null | awk -F'|' -v p="ms.${TAG}_" 'index($2, p) == 1 {print $1}')
  [ -n "$ids" ] && scancel $ids 2>/dev/null
  scancel --name="$TAG-base" 2>/dev/null
  for s in "$CTL"/*; do
    [ -S "$s" ] && ssh -o ControlPath="$s" -O exit x >/dev/null 2>&1
  done
  rm -rf "$WORK" "$CTL"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

others=$(squeue -h -t PD,R,CG 2>/dev/null | wc -l)
echo "testbed: sshd 127.0.0.1:$PORT, user $USER_, $(nproc) cores; SLURM: $(sinfo -h -o '%P %t' | tr '\n' ' ')"
echo "         jobs of others in the queue at start: $others (they share the ~8 job slots)"
echo "bench key: $KEY ($FP); job tag: $TAG; $N tasks"
echo

# ---------------------------------------------------------------- matterstack
ensure_key
WS=$WORK/ws
mkdir -p "$WS" "$WORK/remote"
cat > "$WS/clusters.toml" <<TOML
[clusters.testbed]
host = "127.0.0.1"
port = $PORT
user = "$USER_"
identity_file = "$KEY"
partition = "debug"
project_root = "$WORK/remote/project"
scratch_root = "$WORK/remote/scratch"
ssh_options = ["StrictHostKeyChecking=no", "UserKnownHostsFile=/dev/null", "ControlPath=$CTL/%C"]

[clusters.testbed.limits]
max_jobs = $MAX_JOBS
commands_per_second = $RATE
burst = $BURST
TOML
python3 - "$WS/matterstack.toml" "$TAG" "$N" <<'PY'
import sys
path, tag, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
out = ['[run]\ndescription = "cluster_500 benchmark"\n']
for i in range(n):
    out.append(f'[[tasks]]\nid = "{tag}_{i}"\noperator = "slurm"\ncluster = "testbed"\ncommand = "true"\n')
open(path, "w").write("".join(out))
PY
echo "== matterstack: $N tasks, operator slurm, cluster testbed"
echo "   limits: max_jobs = $MAX_JOBS, commands_per_second = $RATE, burst = $BURST; run --poll 1"
TLOG=$WORK/transport.log
before=$(log_size)
t0=$(now)
run=$("$MS" init "$WS" --run-id bench | tail -n1)
t1=$(now)
if ! MATTERSTACK_TRANSPORT_LOG=$TLOG "$MS" run "$run" --poll 1 >"$WORK/ms-run.out" 2>&1; then
  echo "matterstack run failed; its output (last 30 lines):" >&2
  tail -n 30 "$WORK/ms-run.out" >&2
  "$MS" status "$run" --json | python3 -c "import json,sys; print('counts:', json.load(sys.stdin)['counts'])" >&2 || true
  exit 1
fi
t2=$(now)
ms_conn=$(accepted_since "$before")
ms_init=$(calc "f'{$t1 - $t0:.2f}'")
ms_wall=$(calc "f'{$t2 - $t0:.2f}'")
"$MS" status "$run" --json | python3 -c "
import json, sys
d = json.load(sys.stdin)
c = d['counts']
assert d['status'] == 'COMPLETED' and c.get('COMPLETED') == $N, ('not all $N tasks COMPLETED', d['status'], c)
print(f\"   status --json: run {d['status']}, counts {c}\")"
label_count() { awk -v l="$1" '$2 != "engine" && $3 == l' "$TLOG" | wc -l; }
ms_sbatch=$(label_count sbatch)
ms_squeue=$(label_count squeue)
ms_scancel=$(label_count scancel)
ms_sched=$(( ms_sbatch + ms_squeue + ms_scancel ))
ms_ticks=$(awk '$2 == "engine" && $3 == "tick"' "$TLOG" | wc -l)
ms_remote=$(awk '$2 != "engine"' "$TLOG" | wc -l)
echo "   remote commands by label: $(awk '$2 != "engine" {n[$3]++} END {for (l in n) printf "%s=%d ", l, n[l]}' "$TLOG")(total $ms_remote; $ms_ticks engine ticks)"
echo "   per tick (start s: sbatch, download, squeue):$(awk '
  NR == 1 {t0 = $1}
  $2 == "engine" && $3 == "tick" {k++; start[k] = ($1 - t0) / 1000}
  $2 != "engine" {n[k, $3]++}
  END {for (i = 1; i <= k; i++) printf " [%.0f: %d, %d, %d]", start[i], n[i, "sbatch"], n[i, "download"], n[i, "squeue"]}' "$TLOG")"
echo

# ---------------------------------------------------------------- baseline
ensure_key
B=$WORK/base
mkdir -p "$B/out"
SSH=(ssh -p "$PORT" -i "$KEY" -o IdentitiesOnly=yes -o BatchMode=yes
     -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
     -o ControlMaster=no -o ControlPath=none -o LogLevel=ERROR "$USER_@127.0.0.1")
echo "== baseline: bash loop, a fresh ssh per command; $N × sbatch, then squeue -j per job, 1 s between rounds"
before=$(log_size)
b_sbatch=0 b_squeue=0 b_ssh=0
ids=()
t0=$(now)
for i in $(seq 0 $(( N - 1 ))); do
  id=$("${SSH[@]}" "cd $B && sbatch --parsable --wrap true -J $TAG-base -p debug -o $B/out/task-$i.out") \
    || die "baseline: ssh/sbatch for task $i failed"
  b_sbatch=$(( b_sbatch + 1 )); b_ssh=$(( b_ssh + 1 ))
  [[ $id =~ ^[0-9]+ ]] || die "baseline sbatch for task $i answered '$id'"
  ids+=("${id%%;*}")
done
t_sub=$(now)
pending=("${ids[@]}")
rounds=0
while [ ${#pending[@]} -gt 0 ]; do
  rounds=$(( rounds + 1 ))
  still=()
  for id in "${pending[@]}"; do
    rc=0
    q=$("${SSH[@]}" "squeue -h -j $id" 2>&1) || rc=$?
    b_squeue=$(( b_squeue + 1 )); b_ssh=$(( b_ssh + 1 ))
    # Gone: an empty answer, or squeue's "Invalid job id" once SLURM has
    # forgotten the job. Anything else (the job's row, an ssh or squeue
    # failure): ask again next round.
    if { [ "$rc" -eq 0 ] && [ -z "$q" ]; } || [[ $q == *"Invalid job id"* ]]; then :; else still+=("$id"); fi
  done
  pending=("${still[@]+"${still[@]}"}")
  [ ${#pending[@]} -gt 0 ] && sleep 1
done
t2=$(now)
b_conn=$(accepted_since "$before")
b_wall=$(calc "f'{$t2 - $t0:.2f}'")
b_subt=$(calc "f'{$t_sub - $t0:.2f}'")
b_sched=$(( b_sbatch + b_squeue ))
outs=$(find "$B/out" -name 'task-*.out' | wc -l)
[ "$outs" -eq "$N" ] || die "baseline: only $outs of $N job output files exist"
echo "   $outs of $N output files exist; submission took ${b_subt}s, then $rounds polling rounds; $b_ssh ssh invocations"
echo

# ---------------------------------------------------------------- results
ratio() { calc "f'{$1 / $2:.3f}' if $2 else 'n/a'"; }
printf '%-34s %12s %12s %10s\n' "$N tasks on the testbed" matterstack baseline ratio
printf '%-34s %12s %12s %10s\n' "wall time (s)" "$ms_wall" "$b_wall" "$(ratio "$ms_wall" "$b_wall")"
printf '%-34s %12s %12s %10s\n' "scheduler commands" "$ms_sched" "$b_sched" "$(ratio "$ms_sched" "$b_sched")"
printf '%-34s %12s %12s\n' "  sbatch / squeue / scancel" "$ms_sbatch/$ms_squeue/$ms_scancel" "$b_sbatch/$b_squeue/0"
printf '%-34s %12s %12s %10s\n' "SSH connections (sshd log)" "$ms_conn" "$b_conn" "$(ratio "$ms_conn" "$b_conn")"
echo "(matterstack wall time includes init, ${ms_init}s; limits max_jobs=$MAX_JOBS commands_per_second=$RATE burst=$BURST)"
