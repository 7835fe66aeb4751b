#!/usr/bin/env bash
# Interleaved A/B of two `a2a` binaries: ROUNDS rounds, each running A then B (B first in even
# rounds), every run on a fresh data directory: start the server, 2 s warm-up, SECS measured with
# wrk -t1 -c64 and benches/send.lua; prints req/s and the server's CPU per request (utime+stime
# from /proc), then the medians. On a noisy machine, compare builds only this way.
#
# Usage: benches/ab.sh A_BINARY B_BINARY [ROUNDS=6] [SECS=5]     (needs wrk and curl)
set -u
A=$1; B=$2; rounds=${3:-6}; secs=${4:-5}
lua="$(cd "$(dirname "$0")" && pwd)/send.lua"
port=7441
tck=$(getconf CLK_TCK)
run() {
  local bin=$1 data; data=$(mktemp -d)
  mkdir -p "$data/actors"; printf 'name = "echo"\nkind = "echo"\ndefault = true\n' > "$data/actors/echo.toml"
  "$bin" serve --listen 127.0.0.1:$port --data "$data/db" --actors "$data/actors" >/dev/null 2>&1 &
  local pid=$!
  for _ in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:$port/healthz && break; sleep 0.1; done
  wrk -t1 -c64 -d2s -s $lua http://127.0.0.1:$port/ >/dev/null 2>&1
  local t0; t0=$(awk '{print $14+$15}' /proc/$pid/stat)
  local out; out=$(wrk -t1 -c64 -d${secs}s -s $lua http://127.0.0.1:$port/)
  local t1; t1=$(awk '{print $14+$15}' /proc/$pid/stat)
  kill $pid; wait $pid 2>/dev/null
  rm -rf "$data"
  local rps reqs; rps=$(echo "$out" | grep '^req/s' | awk '{print $2}')
  reqs=$(echo "$out" | grep 'requests in' | awk '{print $1}')
  echo "$rps $(( (t1 - t0) * 1000000 / tck / reqs ))"
}
ra=(); rb=(); ca=(); cb=()
for r in $(seq $rounds); do
  if [ $((r % 2)) = 1 ]; then a=$(run $A); b=$(run $B); else b=$(run $B); a=$(run $A); fi
  set -- $a; ra+=($1); ca+=($2); set -- $b; rb+=($1); cb+=($2)
  echo "round $r: A $a  B $b   (req/s, us CPU/req)"
done
med() { printf '%s\n' "$@" | sort -n | awk '{x[NR]=$1} END {print (NR%2)? x[(NR+1)/2] : (x[NR/2]+x[NR/2+1])/2}'; }
echo "median A $(med "${ra[@]}") req/s $(med "${ca[@]}") us;  B $(med "${rb[@]}") req/s $(med "${cb[@]}") us"
