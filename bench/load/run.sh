#!/usr/bin/env bash
# Sustained load against a real `vecshard serve`: builds (once) a 2-shard
# data dir from glove100-100k, serves it with --fsync everysec on 127.0.0.1,
# and runs the `load` tool (bench/src/bin/load.rs): closed-loop keep-alive
# connections, a search/upsert mix, latency percentiles, errors, the
# server's RSS over time, and a read-back of every acknowledged upsert.
#
# Usage: bench/load/run.sh [SECONDS] [CONNECTIONS] [UPSERT_RATIO] [extra load args...]
#   defaults: 600 s, 32 connections, 0.1 upserts (the issue's run)
#   bench/load/run.sh 60 1 0     # one client, searches only: the latency tail
# Env: DATA (default data/load-glove100-100k-2), SHARDS (2), PORT (7791),
#      VECSHARD and LOAD (prebuilt binaries: then nothing is built).
set -euo pipefail
cd "$(dirname "$0")/../.."
SECS=${1:-600}
CONNS=${2:-32}
UPS=${3:-0.1}
shift $(( $# < 3 ? $# : 3 ))
SHARDS=${SHARDS:-2}
DATA=${DATA:-data/load-glove100-100k-$SHARDS}
PORT=${PORT:-7791}
D=../shared/data/glove100-100k
T=${CARGO_TARGET_DIR:-target}

if [ -z "${VECSHARD:-}${LOAD:-}" ]; then
  cargo build --release -q -p vecshard-cli -p vecshard-bench --bin vecshard --bin load
fi
VECSHARD=${VECSHARD:-$T/release/vecshard}
LOAD=${LOAD:-$T/release/load}
if [ ! -f "$DATA/cluster.json" ]; then
  echo "==> building $DATA ($SHARDS shards, glove100-100k, cosine)"
  "$VECSHARD" build --input "$D/base.fvecs" --shards "$SHARDS" --metric cosine --out "$DATA"
fi
"$VECSHARD" serve --data "$DATA" --listen "127.0.0.1:$PORT" --fsync everysec &
PID=$!
trap 'kill -TERM $PID 2>/dev/null; wait $PID 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
"$LOAD" --url "127.0.0.1:$PORT" --queries "$D/query.fvecs" --seconds "$SECS" \
  --connections "$CONNS" --upsert "$UPS" --pid "$PID" "$@"
