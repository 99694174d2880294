#!/usr/bin/env bash
# Fills www/dist/ (gitignored) for the demo page:
#   www/dist/vecshard/                 the npm package (scripts/build-npm.sh)
#   www/dist/data/glove100-10k/        base.fvecs + base_words.txt, copied from ../shared/data
#   www/dist/data/glove100-10k-cli/    a 4-shard data dir built by the native CLI
#                                      (`vecshard build`), when the CLI builds
#                                      (or VECSHARD_CLI names a binary)
# Then: node www/serve.mjs  ->  http://127.0.0.1:8080/
# Env: VECSHARD_DATA (default ../shared/data), SKIP_NPM=1 to reuse crates/wasm/pkg.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DATA=${VECSHARD_DATA:-$ROOT/../shared/data}
DIST=$ROOT/www/dist

[ "${SKIP_NPM:-}" = 1 ] && [ -f crates/wasm/pkg/web.js ] || scripts/build-npm.sh
rm -rf "$DIST"
mkdir -p "$DIST/data/glove100-10k"
cp -r crates/wasm/pkg "$DIST/vecshard"
cp "$DATA/glove100-10k/base.fvecs" "$DATA/glove100-10k/base_words.txt" "$DIST/data/glove100-10k/"

CLI=${VECSHARD_CLI:-${CARGO_TARGET_DIR:-$ROOT/target}/release/vecshard}
if [ -n "${VECSHARD_CLI:-}" ] || cargo build --release -q -p vecshard-cli 2>/dev/null || [ -x "$CLI" ]; then
  "$CLI" build --input "$DATA/glove100-10k/base.fvecs" --shards 4 --metric cosine \
    --out "$DIST/data/glove100-10k-cli" >/dev/null
  # Only what a page fetches: the manifest and the snapshots (not the logs or locks).
  find "$DIST/data/glove100-10k-cli" -type f ! -name cluster.json ! -name snapshot.bin -delete
else
  echo "vecshard-cli does not build here: the demo offers only the in-browser build" >&2
fi
echo "www/dist ready: node www/serve.mjs  ->  http://127.0.0.1:8080/"
