#!/usr/bin/env bash
# Builds the npm package `vecshard` into crates/wasm/pkg/ (gitignored).
# The package holds two wasm modules, each built the same way:
#   vecshard          crates/wasm without the `cluster` feature: `Index`
#                     (and route/manifest helpers). What an Index user
#                     downloads; it must stay within 100 KB gzipped.
#   vecshard_cluster  crates/wasm with `cluster`: the coordinator and the
#                     shard a worker hosts; loaded only by `Cluster`.
# For each:
#   1. cargo builds crates/wasm for wasm32-unknown-unknown with simd128
#      (fat LTO, no debug info: the size and speed of a release package);
#   2. wasm-bindgen (the CLI must equal the crate's pinned =0.2.130) writes
#      the glue `NAME.js` + `NAME_bg.wasm` (target `web`: one ES module
#      that every entry point can instantiate its own way);
#   3. wasm-opt -O3 from npm `binaryen` (installed by wasm-tests' npm install).
# Then the hand-written wrapper and types from crates/wasm/js/ are copied in.
# Prints each .wasm's size raw and gzipped, and says when the Index module
# is over its budget of INDEX_GZIP_LIMIT bytes gzipped (-9); the test that
# holds it to the budget is wasm-tests/node/size.test.mjs (see
# ARCHITECTURE.md § crates/wasm, "Size", for where the bytes go). To
# compare the speed of two builds: wasm-tests/bench/ab.mjs.
# Usage: scripts/build-npm.sh
# Env: VECSHARD_JS_TARGET_DIR (default ../target-js, so it does not wait on
# the lock of the workspace's own target/).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TARGET_DIR=${VECSHARD_JS_TARGET_DIR:-$ROOT/../target-js}
PKG=$ROOT/crates/wasm/pkg
WASM_BINDGEN_VERSION=0.2.130

if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
  echo "wasm-bindgen $WASM_BINDGEN_VERSION is required (cargo install wasm-bindgen-cli --version $WASM_BINDGEN_VERSION)" >&2
  exit 1
fi
WASM_OPT=$ROOT/wasm-tests/node_modules/.bin/wasm-opt
[ -x "$WASM_OPT" ] || (cd "$ROOT/wasm-tests" && npm install --no-audit --no-fund --loglevel=error)

# 100 KB: the budget of the Index module (issue 9). wasm-tests/node/size.test.mjs
# checks the installed package against the same number.
INDEX_GZIP_LIMIT=100000

# build NAME [cargo feature flags...]
build() {
  local name=$1
  shift
  RUSTFLAGS="-C target-feature=+simd128" \
  CARGO_PROFILE_RELEASE_LTO=fat \
  CARGO_PROFILE_RELEASE_DEBUG=false \
  CARGO_PROFILE_RELEASE_OPT_LEVEL=3 \
    cargo build -q -p vecshard-wasm --release --target wasm32-unknown-unknown --target-dir "$TARGET_DIR" "$@"
  wasm-bindgen --target web --out-name "$name" --no-typescript --out-dir "$PKG" \
    "$TARGET_DIR/wasm32-unknown-unknown/release/vecshard_wasm.wasm"
  # The features rustc enables by default for wasm32 (plus simd128). wasm-opt
  # keeps to them, so the output runs wherever the input did.
  "$WASM_OPT" -O3 --enable-simd --enable-bulk-memory --enable-sign-ext \
    --enable-nontrapping-float-to-int --enable-mutable-globals --enable-multivalue \
    --enable-reference-types -o "$PKG/${name}_bg.wasm" "$PKG/${name}_bg.wasm"
}

rm -rf "$PKG"
mkdir -p "$PKG"
build vecshard --no-default-features
build vecshard_cluster --features cluster
cp "$ROOT"/crates/wasm/js/{api.js,lock.js,module.js,cluster.js,cluster-worker.js,shard.js,edge.js,edge.d.ts,manifest.js,storage.js,storage-worker.js,web.js,node.js,deno.js,workerd.js,index.d.ts,package.json,README.md} "$PKG/"

size() { echo "$(wc -c <"$PKG/$1") bytes, $(gzip -9 -c "$PKG/$1" | wc -c) bytes gzipped (-9)"; }
echo "built $PKG:"
echo "  vecshard_bg.wasm (Index):           $(size vecshard_bg.wasm)"
echo "  vecshard_cluster_bg.wasm (Cluster): $(size vecshard_cluster_bg.wasm)"
gz=$(gzip -9 -c "$PKG/vecshard_bg.wasm" | wc -c)
if [ "$gz" -gt "$INDEX_GZIP_LIMIT" ]; then
  echo "  WARNING: the Index module is $gz bytes gzipped, over its budget of $INDEX_GZIP_LIMIT" >&2
fi
