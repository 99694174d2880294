#!/usr/bin/env bash
# The main job: build a sharded index from ../shared/data/glove100-100k with
# the release `vecshard` binary, serve it over HTTP (wasmtime shards, durable
# data dir), and query it: by vector file, and by curl.
#
# Usage: scripts/demo.sh [SHARDS] [--serve]
#   SHARDS   number of shards (default 2)
#   --serve  keep serving on 127.0.0.1:7700 after the demo queries (Ctrl-C stops
#            it cleanly, writing snapshots)
# Idempotent: an existing data dir (data/glove100-100k-N) is reused.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARDS=${1:-2}
[[ "$SHARDS" =~ ^[0-9]+$ ]] || SHARDS=2
KEEP=0
for a in "$@"; do [ "$a" = "--serve" ] && KEEP=1; done
D=../shared/data/glove100-100k
DATA=data/glove100-100k-$SHARDS
ADDR=127.0.0.1:7700

rustup target add wasm32-unknown-unknown >/dev/null 2>&1 || true
cargo build --release -q -p vecshard-cli
V=${CARGO_TARGET_DIR:-target}/release/vecshard

if [ ! -f "$DATA/cluster.json" ]; then
  echo "==> building $SHARDS shard(s) from $D/base.fvecs (100k GloVe words, cosine)"
  $V build --input "$D/base.fvecs" --shards "$SHARDS" --metric cosine --out "$DATA"
else
  echo "==> reusing $DATA (delete it to rebuild)"
fi
$V info --data "$DATA"

echo "==> serving $DATA on http://$ADDR"
$V serve --data "$DATA" --listen "$ADDR" &
PID=$!
trap 'kill -TERM $PID 2>/dev/null; wait $PID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf "http://$ADDR/healthz" >/dev/null 2>&1 && break; sleep 0.2; done

echo "==> the 5 nearest words to the first 3 query words (keys are rows of base_words.txt)"
$V query --url "http://$ADDR" --query-file "$D/query.fvecs" --limit 3 --k 5 \
  --labels "$D/base_words.txt" --query-labels "$D/query_words.txt"

echo "==> the same through curl: POST /v1/search"
python3 - "$D/query.fvecs" > /tmp/vecshard-demo-query.json <<'PY'
import json, struct, sys
b = open(sys.argv[1], 'rb').read()
d = struct.unpack('<i', b[:4])[0]
print(json.dumps({"vector": list(struct.unpack('<%df' % d, b[4:4 + 4 * d])), "k": 3, "ef": 64}))
PY
curl -s -X POST "http://$ADDR/v1/search" -H 'content-type: application/json' -d @/tmp/vecshard-demo-query.json; echo
curl -s "http://$ADDR/metrics" | grep -E '^vecshard_shard_(vectors|memory_bytes)' || true

if [ $KEEP = 1 ]; then
  echo "==> still serving on http://$ADDR (Ctrl-C to stop)"
  trap - EXIT
  wait $PID
fi
