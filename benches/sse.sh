#!/usr/bin/env bash
# Streaming benchmark: 1,000 SubscribeToTask streams on one task of `a2a serve` (an echo agent
# that works for 8 s, then streams CHUNKS artifact chunks): server memory per 1,000 idle
# streams, events per second fanned out to all subscribers, and write -> arrival latency.
#
# Usage: benches/sse.sh [STREAMS=1000] [CHUNKS=400]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000}
chunks=${2:-400}
cargo build --release --bin a2a --example sse_fanout >/dev/null 2>&1
# One run with chunks as fast as the log takes them (fan-out throughput), one paced at 50 events/s
# (latency below saturation).
for every in 0 20; do
  dir=$(mktemp -d)
  mkdir -p "$dir/actors"
  printf 'name = "slow"\nkind = "echo"\ndefault = true\n[settings]\ndelay_ms = 8000\nchunks = %s\nchunk_every_ms = %s\n' \
    "$chunks" "$every" > "$dir/actors/slow.toml"
  ./target/release/a2a serve --listen 127.0.0.1:7432 --data "$dir/data" --actors "$dir/actors" >/dev/null 2>&1 &
  pid=$!
  sleep 1
  echo "== $chunks chunks, ${every} ms apart"
  ./target/release/examples/sse_fanout http://127.0.0.1:7432/ "$pid" "$n" || true
  kill "$pid"; wait "$pid" 2>/dev/null || true
  rm -rf "$dir"
done
