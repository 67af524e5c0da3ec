#!/usr/bin/env bash
# Does a cluster that does not answer slow down the runs `watch` drives on
# the local operator? Two local runs (chains of N tasks of `sleep 0.2`) are
# watched alone, then beside a run whose cluster's sshd is stopped (the
# testbed's fault sshd). Prints the time until both local runs completed in
# each case, and the ratio (1.0: no delay).
#
# Needs the testbed (`bash scripts/testbed.sh`). Usage:
#   bench/watch_unreachable.sh [N]      (MS_BIN: use a built binary)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10}
. /var/tmp/matterstack-testbed/env
if [ -n "${MS_BIN:-}" ]; then
  MS=$(realpath "$MS_BIN")
else
  cargo build --release --locked --bin matterstack >/dev/null 2>&1
  MS=$PWD/target/release/matterstack
fi
WORK=$(mktemp -d /tmp/ms-bench-unreach.XXXXXX)
export HOME=$WORK/home XDG_CONFIG_HOME=$WORK/cfg XDG_DATA_HOME=$WORK/data XDG_CACHE_HOME=$WORK/cache
mkdir -p "$HOME"
trap 'bash scripts/testbed.sh start-sshd "$MS_TESTBED_FAULT_PORT" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT

mkdir -p "$WORK/local" "$WORK/far" "$WORK/ctl"
{
  echo '[run]'; echo 'cores = 2'
  for i in $(seq 0 $((N - 1))); do
    echo '[[tasks]]'; echo "id = \"t$i\""; echo 'command = "sleep 0.2"'
    [ "$i" -gt 0 ] && echo "depends_on = [\"t$((i - 1))\"]"
  done
} > "$WORK/local/matterstack.toml"
printf '[[tasks]]\nid = "far"\noperator = "slurm"\ncluster = "far"\ncommand = "true"\n' > "$WORK/far/matterstack.toml"
cat > "$WORK/far/clusters.toml" <<TOML
[clusters.far]
host = "127.0.0.1"
port = $MS_TESTBED_FAULT_PORT
user = "$MS_TESTBED_SSH_USER"
identity_file = "$MS_TESTBED_SSH_KEY"
project_root = "$WORK/remote/project"
scratch_root = "$WORK/remote/scratch"
ssh_options = ["StrictHostKeyChecking=no", "UserKnownHostsFile=/dev/null", "ControlPath=$WORK/ctl/%C"]
TOML

done_run() {
  "$MS" status "$1" --json | python3 -c 'import json, sys; sys.exit(json.load(sys.stdin)["status"] != "COMPLETED")'
}

# Seconds until the local runs $1 $2 complete under `watch "$@"`.
timed_watch() {
  local a=$1 b=$2; shift 2
  local t0 t1
  t0=$(date +%s.%N)
  "$MS" watch "$@" --poll 0.5 >/dev/null 2>&1 &
  local pid=$!
  until done_run "$a" && done_run "$b"; do
    sleep 0.05
  done
  t1=$(date +%s.%N)
  kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
  python3 -c "print(f'{$t1 - $t0:.2f}')"
}

l1=$("$MS" init "$WORK/local" | tail -n1); l2=$("$MS" init "$WORK/local" | tail -n1)
alone=$(timed_watch "$l1" "$l2" "$l1" "$l2")
bash scripts/testbed.sh stop-sshd "$MS_TESTBED_FAULT_PORT" >/dev/null
far=$("$MS" init "$WORK/far" | tail -n1)
l3=$("$MS" init "$WORK/local" | tail -n1); l4=$("$MS" init "$WORK/local" | tail -n1)
beside=$(timed_watch "$l3" "$l4" "$far" "$l3" "$l4")
echo "two local runs of $N chained tasks (sleep 0.2), watch --poll 0.5"
echo "  alone:                          $alone s"
echo "  beside a cluster whose sshd is stopped: $beside s"
python3 -c "print(f'  ratio {$beside / $alone:.2f} (1.00: the stopped cluster delays nothing)')"
