#!/usr/bin/env bash
# The one-client latency tail, measured fairly on a shared machine: ROUNDS
# rounds, each running these servers one after the other (only one is up at
# a time) under the same client (`load`, 1 connection, searches only, ef 40,
# a 2 s warm-up, then SECONDS measured):
#
#   floor            bench/src/bin/floor.rs: the HTTP stack alone
#   floor+work       the same, burning WORK_US of CPU per request inline
#                    (what a search costs, with no hand-off to other threads)
#   before           $BEFORE (a vecshard binary to compare with), if set
#   vecshard         $VECSHARD (default: the one in the target dir)
#
# Interleaving puts every server under the same machine load, and each row
# carries the load average at its start. Prints one markdown row per run:
# client p50/p90/p99/p99.9 and the server's own took_us percentiles.
#
# Usage: bench/load/tail.sh [ROUNDS 3] [SECONDS 20]
# Env: DATA (2-shard glove100-100k data dir, as bench/load/run.sh builds it),
#      VECSHARD, BEFORE, FLOOR, LOAD (binaries), WORK_US (700), EF (40), PORT (7795).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-3}
SECS=${2:-20}
T=${CARGO_TARGET_DIR:-target}
DATA=${DATA:-data/load-glove100-100k-2}
VECSHARD=${VECSHARD:-$T/release/vecshard}
FLOOR=${FLOOR:-$T/release/floor}
LOAD=${LOAD:-$T/release/load}
WORK_US=${WORK_US:-700}
EF=${EF:-40}
PORT=${PORT:-7795}
Q=../shared/data/glove100-100k/query.fvecs
[ -f "$DATA/cluster.json" ] || { echo "no data dir $DATA: run bench/load/run.sh once (it builds it)"; exit 1; }

one() { # label, then the server command
  local label=$1; shift
  "$@" >/dev/null 2>&1 &
  local pid=$!
  for _ in $(seq 1 300); do curl -s -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.1; done
  "$LOAD" --url "127.0.0.1:$PORT" --queries "$Q" --seconds 2 --connections 1 --upsert 0 --ef "$EF" >/dev/null 2>&1 || true
  local load; load=$(cut -d' ' -f1 /proc/loadavg)
  "$LOAD" --url "127.0.0.1:$PORT" --queries "$Q" --seconds "$SECS" --connections 1 --upsert 0 \
    --ef "$EF" --json 2>/dev/null |
    jq -r --arg l "$label" --arg r "$round" --arg load "$load" '
      (.ops[0]) as $s | .server_took as $t |
      "| \($l) | \($r) | \($load) | \($s.qps|floor) | \($s.p50_ms*100|round/100) | \($s.p90_ms*100|round/100) | \($s.p99_ms*100|round/100) | \($s.p999_ms*100|round/100) | \(if $t.count > 0 then "\($t.p50_ms*100|round/100) / \($t.p99_ms*100|round/100) / \($t.p999_ms*100|round/100)" else "-" end) |"'
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
}

echo "| server | round | load avg | req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | took_us p50 / p99 / p99.9 ms |"
echo "|---|---|---|---|---|---|---|---|---|"
for round in $(seq 1 "$ROUNDS"); do
  one floor "$FLOOR" "127.0.0.1:$PORT" --threads 1
  one "floor+work ${WORK_US}us" "$FLOOR" "127.0.0.1:$PORT" --threads 1 --work-us "$WORK_US"
  if [ -n "${BEFORE:-}" ]; then
    one before "$BEFORE" serve --data "$DATA" --listen "127.0.0.1:$PORT" --fsync everysec
  fi
  one vecshard "$VECSHARD" serve --data "$DATA" --listen "127.0.0.1:$PORT" --fsync everysec
done
