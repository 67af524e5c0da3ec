#!/usr/bin/env bash
# The web UI on a run of 100,000 tasks: server time of the Runs and Run
# pages and of the API calls they make, against the 200 ms target per page.
# The store is brought to a finished run's state with sqlite3 (as in
# bench/events_since.sh). Prints the median of 5 requests each and the
# ratio to the target.
#
# Usage: bench/web_pages.sh [N_TASKS]     (MS_BIN: use a built binary)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
if [ -n "${MS_BIN:-}" ]; then
  MS=$(realpath "$MS_BIN")
else
  cargo build --release --locked --bin matterstack >/dev/null 2>&1
  MS=$PWD/target/release/matterstack
fi
WORK=$(mktemp -d /tmp/ms-bench-web.XXXXXX)
export HOME=$WORK/home XDG_CONFIG_HOME=$WORK/cfg XDG_DATA_HOME=$WORK/data XDG_CACHE_HOME=$WORK/cache
mkdir -p "$HOME" "$WORK/ws"
SERVER=
trap '[ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; rm -rf "$WORK"' EXIT
python3 - "$WORK/ws/matterstack.toml" "$N" <<'PY'
import sys
path, n = sys.argv[1], int(sys.argv[2])
open(path, "w").write("".join(f'[[tasks]]\nid = "t{i}"\ncommand = ["true"]\n' for i in range(n)))
PY
"$MS" init "$WORK/ws" --run-id big >/dev/null
python3 bench/finish_store.py "$WORK/ws/runs/big/state.sqlite"
"$MS" serve "$WORK/ws" --no-drive > "$WORK/serve.out" 2>&1 &
SERVER=$!
for _ in $(seq 100); do grep -q 'http://' "$WORK/serve.out" && break; sleep 0.1; done
URL=$(grep -o 'http://[^ ]*' "$WORK/serve.out" | head -1)
python3 - "$URL" "$N" <<'PY'
import http.client, statistics, sys, time, urllib.parse
url, n = sys.argv[1], int(sys.argv[2])
u = urllib.parse.urlsplit(url)
def req(path, cookie=None):
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=600)
    h = {"Cookie": cookie} if cookie else {}
    t = time.perf_counter()
    c.request("GET", path, headers=h)
    r = c.getresponse()
    body = r.read()
    return r, body, (time.perf_counter() - t) * 1000
r, _, _ = req(f"{u.path}?{u.query}")
cookie = r.getheader("Set-Cookie").split(";")[0]
print(f"run of {n} tasks; median of 5 requests, target 200 ms per page")
for name, path in [("Runs page", "/"), ("GET /api/runs", "/api/runs"),
                   ("Run page (tasks 1-500)", "/runs/big"), ("Run page 200", "/runs/big?page=200"),
                   ("GET /api/runs/big?limit=500", "/api/runs/big?limit=500"),
                   ("GET /api/runs/big (all tasks)", "/api/runs/big"),
                   ("Task page", "/runs/big/tasks/t77"), ("GET /api/runs/big/tasks/t77", "/api/runs/big/tasks/t77")]:
    times = []
    for _ in range(5):
        r, body, ms = req(path, cookie)
        assert r.status == 200, (path, r.status, body[:200])
        times.append(ms)
    m = statistics.median(times)
    print(f"  {name:<30} {m:9.1f} ms   {len(body)/1e6:7.2f} MB   ratio {m/200:6.2f} of 200 ms")
PY
