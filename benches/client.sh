#!/usr/bin/env bash
# The client benchmark: `a2a bench` (open loop) against the echo agent at rising fixed rates, to
# find the highest rate whose p99 stays under 10 ms, and closed-loop `wrk` at the same
# concurrency against the same server in the same go (its saturation throughput). Also the
# client's CPU per call (user+sys of the `a2a bench` process / calls made).
#
# Usage: benches/client.sh [RUNS=3] [SECONDS=5] [RATES="4000 5000 6000 7000 8000"] [CONC=64]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
secs=${2:-5}
rates=${3:-"4000 5000 6000 7000 8000"}
conc=${4:-64}
cargo build --release --bin a2a >/dev/null 2>&1
port=7432
url="http://127.0.0.1:$port/"
data=$(mktemp -d)
./target/release/a2a serve --listen "127.0.0.1:$port" --data "$data" >/dev/null 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
sleep 1

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

wrk -t1 -c"$conc" -d2s -s benches/send.lua "$url" >/dev/null 2>&1 # warm-up
rps=()
for _ in $(seq "$runs"); do
  rps+=("$(wrk -t1 -c"$conc" -d"${secs}s" -s benches/send.lua "$url" | awk '/^req\/s/ {print $2}')")
done
echo "wrk closed loop, c=$conc: $(printf '%s\n' "${rps[@]}" | median) req/s (median of $runs)"
echo
echo "| rate/s | achieved/s | p50 ms | p99 ms | p999 ms | errors | client µs CPU/call |"
echo "| ------ | ---------- | ------ | ------ | ------- | ------ | ------------------ |"
best=0
for rate in $rates; do
  p50=() p99=() p999=() done_=() cpu=() errs=()
  for _ in $(seq "$runs"); do
    out=$( { /usr/bin/time -f '%U %S' ./target/release/a2a bench "$url" --rate "$rate" \
      --duration "$secs" --concurrency "$conc" --json; } 2>/tmp/a2a-bench-time || true)
    read -r user sys < <(tail -n1 /tmp/a2a-bench-time)
    sent=$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["sent"])')
    p50+=("$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["latency_ms"]["p50"])')")
    p99+=("$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["latency_ms"]["p99"])')")
    p999+=("$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["latency_ms"]["p999"])')")
    done_+=("$(echo "$out" | python3 -c 'import json,sys; print(round(json.load(sys.stdin)["throughput"]))')")
    errs+=("$(echo "$out" | python3 -c 'import json,sys; print(sum(json.load(sys.stdin)["errors"].values()))')")
    cpu+=("$(python3 -c "print(round(($user + $sys) / max($sent, 1) * 1e6))")")
  done
  m99=$(printf '%s\n' "${p99[@]}" | median)
  printf '| %6s | %10s | %6s | %6s | %7s | %6s | %18s |\n' "$rate" \
    "$(printf '%s\n' "${done_[@]}" | median)" "$(printf '%s\n' "${p50[@]}" | median)" "$m99" \
    "$(printf '%s\n' "${p999[@]}" | median)" "$(printf '%s\n' "${errs[@]}" | median)" \
    "$(printf '%s\n' "${cpu[@]}" | median)"
  if python3 -c "import sys; sys.exit(0 if $m99 < 10 else 1)"; then best=$rate; fi
done
echo
echo "highest rate with median p99 under 10 ms: $best/s"
