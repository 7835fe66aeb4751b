#!/usr/bin/env bash
# Whole-server benchmark: blocking SendMessage to `echo` over HTTP, driven by wrk (one thread)
# with benches/send.lua, at concurrency 64 and 1, durability fsync and buffered, plus the bare
# HTTP reference (examples/reference_http_echo.rs) in the same go. Prints the median of RUNS runs.
#
# Usage: benches/http.sh [RUNS=3] [SECONDS=10]      (needs wrk: apt-get install wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
secs=${2:-10}
cargo build --release --bin a2a --example reference_http_echo >/dev/null 2>&1
port=7431
url="http://127.0.0.1:$port/"

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

measure() { # label conns
  local label=$1 conns=$2 rps=() p50=() p99=()
  wrk -t1 -c"$conns" -d2s -s benches/send.lua "$url" >/dev/null 2>&1 # warm-up
  for _ in $(seq "$runs"); do
    line=$(wrk -t1 -c"$conns" -d"${secs}s" -s benches/send.lua "$url" | grep '^req/s')
    rps+=("$(echo "$line" | awk '{print $2}')")
    p50+=("$(echo "$line" | awk '{print $4}')")
    p99+=("$(echo "$line" | awk '{print $7}')")
    # A request that failed (HTTP error, socket error, or an answer that is not a completed task)
    # would count as throughput: say so.
    bad=$(echo "$line" | awk '{split($9, e, "/"); print e[1] + e[2] + $11}')
    if [ "$bad" != 0 ]; then echo "WARNING: $label c=$conns: $bad requests failed" >&2; fi
  done
  printf '| %-22s | c=%-3s | %8s | %8s ms | %8s ms |\n' "$label" "$conns" \
    "$(printf '%s\n' "${rps[@]}" | median)" "$(printf '%s\n' "${p50[@]}" | median)" "$(printf '%s\n' "${p99[@]}" | median)"
}

echo "| server                 | conc  |  req/s   |   p50       |   p99       |"
echo "| ---------------------- | ----- | -------- | ----------- | ----------- |"
for mode in fsync buffered; do
  data=$(mktemp -d)
  ./target/release/a2a serve --listen "127.0.0.1:$port" --data "$data" --durability "$mode" >/dev/null 2>&1 &
  pid=$!
  sleep 1
  measure "a2a-runtime $mode" 64
  measure "a2a-runtime $mode" 1
  kill "$pid"; wait "$pid" 2>/dev/null || true
  rm -rf "$data"
done
./target/release/examples/reference_http_echo "127.0.0.1:$port" &
pid=$!
sleep 1
measure "bare axum, no store" 64
measure "bare axum, no store" 1
kill "$pid"; wait "$pid" 2>/dev/null || true
