#!/usr/bin/env bash
# The npm package's tests: installs what it needs (idempotent), builds the
# package, packs it, installs the tarball into a fresh project and runs the
# tests there the way a user would consume it:
#   node     API, typed arrays, every error code, snapshot interop with the
#            native golden files, recall@10 on glove100-10k, Cluster, a data
#            dir built by the native CLI (builds vecshard-cli), tsc --noEmit
#   deno     import, build, search, load a snapshot (npm `deno`)
#   workerd  a Worker answers POST /search over real HTTP (npm `workerd`)
#   edge     edge/cloudflare in workerd: the coordinator Worker and 4 shard
#            Durable Objects on local-disk SQLite, against a native
#            `vecshard serve` (same keys, same error codes), SIGKILL and
#            restart, partial results, `vecshard push` (needs the CLI)
#   chromium headless Debian chromium via playwright-core: a test page, and
#            the www/ demo (build, search, OPFS save + reload, CLI data dir)
#   cluster-bench  a short run of wasm-tests/bench/cluster.mjs
# Usage: scripts/test-js.sh [node|types|deno|workerd|edge|chromium|cluster-bench ...]  (default: all)
# Called by `scripts/test-all.sh js`. Artifacts (screenshots) go to
# wasm-tests/.work/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WT=$ROOT/wasm-tests
WORK=$WT/.work
WASM_BINDGEN_VERSION=0.2.130
export VECSHARD_DATA=${VECSHARD_DATA:-$ROOT/../shared/data}
export VECSHARD_GOLDEN=$ROOT/crates/core/tests/golden
export VECSHARD_WASM_GOLDEN=$ROOT/crates/wasm/tests/golden
export VECSHARD_ROUTING=$ROOT/crates/coordinator/tests/golden/routing.tsv
export VECSHARD_ARTIFACTS=$WORK/artifacts
export VECSHARD_WWW=$ROOT/www
export VECSHARD_EDGE=$ROOT/edge/cloudflare

step() { printf '\n--> js: %s\n' "$*"; }

setup() {
  step "setup (rust target, wasm-bindgen-cli $WASM_BINDGEN_VERSION, chromium, npm install)"
  rustup target add wasm32-unknown-unknown >/dev/null
  if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
  fi
  if [ ! -x /usr/bin/chromium ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver
  fi
  [ -d "$VECSHARD_DATA/glove100-10k" ] || { echo "missing $VECSHARD_DATA (benchmark datasets)"; exit 1; }
  # Install only when the lock file changed since the last install. `npm
  # install`, not `npm ci`: the lock cannot list the other platforms'
  # optional binaries of deno and workerd (the registry mirror here serves
  # only linux-x64), which `npm ci` treats as out of sync. The committed
  # lock still pins every version.
  local stamp=$WT/node_modules/.vecshard-lock
  if ! cmp -s "$WT/package-lock.json" "$stamp" 2>/dev/null; then
    (cd "$WT" && npm install --no-audit --no-fund --loglevel=error)
    cp "$WT/package-lock.json" "$stamp"
  fi
}

package() {
  step "build the package and install the packed tarball into a fresh project"
  "$ROOT/scripts/build-npm.sh"
  rm -rf "$WORK/proj"
  mkdir -p "$WORK/proj" "$VECSHARD_ARTIFACTS"
  local tgz
  tgz=$(cd "$WORK" && npm pack --silent "$ROOT/crates/wasm/pkg" | tail -n1)
  cd "$WORK/proj"
  printf '{ "name": "vecshard-consumer", "private": true, "type": "module" }\n' > package.json
  npm install --no-audit --no-fund --loglevel=error --offline "$WORK/$tgz"
  # Tests are copied in so that `import "vecshard"` resolves to the tarball;
  # their own dev tools (playwright-core, ...) resolve from wasm-tests/node_modules.
  cp -r "$WT/lib" "$WT/node" "$WT/types" "$WT/deno" "$WT/workerd" "$WT/edge" "$WT/browser" .
  cd "$ROOT"
  ls -l "$WORK/$tgz"
}

cli() {
  # The native CLI, for node/cli.test.mjs (a data dir built by `vecshard
  # build` must load in wasm and answer like `vecshard query`). Same target
  # dir as the rest of the workspace: a no-op when test-all built it already.
  # VECSHARD_CLI=/path/to/vecshard skips the build.
  if [ -n "${VECSHARD_CLI:-}" ]; then
    step "native CLI: using VECSHARD_CLI=$VECSHARD_CLI"
    return
  fi
  if ! cargo pkgid -q vecshard-cli >/dev/null 2>&1; then
    step "vecshard-cli is not in the workspace: the CLI interop test will be skipped"
    return
  fi
  # The debug binary that `cargo test --workspace` (test-all's native step)
  # builds for the CLI's own tests: the same command with --no-run is a
  # no-op after that step. `cargo build -p vecshard-cli` would resolve
  # features for the CLI alone and rebuild every dependency, wasmtime
  # included. The shards' work runs in the wasm guest, which is always
  # optimized, so a debug host is fast enough here.
  step "native CLI for the interop test (cargo test --workspace --no-run)"
  cargo test -q --workspace --no-run
  export VECSHARD_CLI=${CARGO_TARGET_DIR:-$ROOT/target}/debug/vecshard
}

node_() { cli; step "node (on the installed tarball)"; node --test --test-reporter=spec "$WORK"/proj/node/*.test.mjs; }
types() { step "TypeScript: tsc --noEmit on a typed example"; "$WT/node_modules/.bin/tsc" -p "$WORK/proj/types/tsconfig.json"; echo "types ok"; }
deno_() { step "deno"; node --test --test-reporter=spec "$WORK/proj/deno/deno.test.mjs"; }
workerd_() { step "workerd"; node --test --test-reporter=spec "$WORK/proj/workerd/workerd.test.mjs"; }
edge_() { cli; step "edge: Durable Object shards in workerd (edge/cloudflare)"; node --test --test-reporter=spec "$WORK/proj/edge/edge.test.mjs"; }
# A short run of the Cluster benchmark (1, 2, 4 workers on glove100-10k), so
# it keeps working; the README's figures come from the full run
# (node wasm-tests/bench/cluster.mjs).
cluster_bench() { step "Cluster benchmark, short run (1, 2, 4 workers)"; node "$WT/bench/cluster.mjs" --passes 1; }
chromium_() { cli; step "headless chromium (package page, www/ demo)"; node --test --test-reporter=spec "$WORK"/proj/browser/*.test.mjs; }

steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(node types deno workerd edge chromium cluster-bench)
setup
package
for s in "${steps[@]}"; do
  case $s in
    node | deno | workerd | edge | chromium) "${s}_" ;;
    types) types ;;
    cluster-bench) cluster_bench ;;
    *) echo "unknown step $s" >&2; exit 2 ;;
  esac
done
step "all JS tests passed"
