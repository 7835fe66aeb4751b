#!/usr/bin/env bash
# Mixed load: blocking sends (benches/send.lua, c=64) while other clients poll GetTask (benches/get.lua, c=8)
# on 2,000 tasks made first, as A2A clients without streaming do. Prints both sides; run it several times:
# the tail (p99, p99.9) is what it is for. Last, the engine flushes' p99 and maximum: a tail that matches a slow flush
# is the device's.
#
# Usage: benches/mixed.sh [SECONDS=8] [BIN=target/release/a2a]     (needs wrk, curl and python3)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-8}
bin=${2:-target/release/a2a}
port=7432
url="http://127.0.0.1:$port/"
data=$(mktemp -d)
export TASK_IDS="$data/task-ids.txt"
"$bin" serve --listen "127.0.0.1:$port" --data "$data/log" >/dev/null 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
sleep 1
python3 - "$url" "$TASK_IDS" <<'PY'
import concurrent.futures, json, sys, urllib.request
url, out = sys.argv[1], sys.argv[2]
def send(n):
    body = json.dumps({"jsonrpc": "2.0", "id": n, "method": "SendMessage", "params": {"message": {
        "messageId": f"seed-{n}", "role": "ROLE_USER", "parts": [{"text": "seed"}]}}}).encode()
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json", "A2A-Version": "1.0"})
    return json.load(urllib.request.urlopen(req))["result"]["task"]["id"]
with concurrent.futures.ThreadPoolExecutor(16) as pool:
    ids = list(pool.map(send, range(2000)))
open(out, "w").write("\n".join(ids) + "\n")
PY
wrk -t1 -c64 -d2s -s benches/send.lua "$url" >/dev/null # warm-up
wrk -t1 -c8 -d"${secs}s" -s benches/get.lua "$url" | sed -n 's/^req/get  req/p' &
gets=$!
wrk -t1 -c64 -d"${secs}s" -s benches/send.lua "$url" | sed -n 's/^req/send req/p'
wait $gets
# The engine's flushes over the whole run: when the device stalls (a flush of 30-150 ms on this shared machine), every
# durable answer waits for it, sends and gets alike, and the tail above shows it.
curl -s "${url}metrics" | awk -F'[ {}"=]+' '/^a2a_store_flush_seconds\{quantile="(0.99|1)"\}/ {
  printf "%s %.1f ms  ", ($3 == "1" ? "max" : "p99"), $NF * 1000 } END { print "" }' | sed 's/^/flush /'
