#!/usr/bin/env bash
# Push benchmark: TASKS echo tasks, each with an inline webhook, sent CONCURRENCY at a time to
# `a2a serve --push-allow-loopback`; the webhook receiver counts every delivery (3 per task).
#
# Usage: benches/push.sh [TASKS=5000] [CONCURRENCY=64] [RUNS=3]
set -euo pipefail
cd "$(dirname "$0")/.."
tasks=${1:-5000}
conc=${2:-64}
runs=${3:-3}
cargo build --release --bin a2a --example push_load >/dev/null 2>&1
for _ in $(seq "$runs"); do
  dir=$(mktemp -d)
  ./target/release/a2a serve --listen 127.0.0.1:7435 --data "$dir/data" --actors actors \
    --push-allow-loopback >/dev/null 2>&1 &
  pid=$!
  sleep 1
  ./target/release/examples/push_load http://127.0.0.1:7435/ "$tasks" "$conc" || true
  kill "$pid"; wait "$pid" 2>/dev/null || true
  rm -rf "$dir"
done
