#!/usr/bin/env bash
# Streaming benchmark: 1,000 SubscribeToTask streams on one task of `a2a serve` (a slow echo
# agent that works for 8 s): server memory per 1,000 idle streams, and the delay from the final
# event's status timestamp to its arrival at every subscriber.
#
# Usage: benches/sse.sh [STREAMS=1000]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000}
cargo build --release --bin a2a --example sse_fanout >/dev/null 2>&1
dir=$(mktemp -d)
mkdir -p "$dir/actors"
printf 'name = "slow"\nkind = "echo"\ndefault = true\n[settings]\ndelay_ms = 8000\n' > "$dir/actors/slow.toml"
./target/release/a2a serve --listen 127.0.0.1:7432 --data "$dir/data" --actors "$dir/actors" >/dev/null 2>&1 &
pid=$!
sleep 1
./target/release/examples/sse_fanout http://127.0.0.1:7432/ "$pid" "$n" || true
kill "$pid"; wait "$pid" 2>/dev/null || true
rm -rf "$dir"
