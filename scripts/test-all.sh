#!/usr/bin/env bash
# Every check vecshard's CI runs, in order. Idempotent; installs what it needs.
# Usage: scripts/test-all.sh            (from anywhere)
# Each step can also be run alone: scripts/test-all.sh STEP [STEP...]
# Steps: setup fmt clippy doc nostd native wasm harness js
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
# Build outputs live outside the clone, in the machine's cache, so a fresh
# clone (CI) reuses what earlier runs compiled, wasmtime above all. A fresh
# machine starts empty and still passes, only more slowly. Override with
# CARGO_TARGET_DIR / VECSHARD_JS_TARGET_DIR.
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/vecshard
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$CACHE/target}
export VECSHARD_JS_TARGET_DIR=${VECSHARD_JS_TARGET_DIR:-$CACHE/target-js}
mkdir -p "$CARGO_TARGET_DIR"

step() { printf '\n==> %s\n' "$*"; }

setup() {
  step "setup: rust targets and node"
  rustup target add wasm32-unknown-unknown wasm32-wasip1 x86_64-unknown-none >/dev/null
  command -v node >/dev/null || { apt-get update -qq && apt-get install -y -qq nodejs; }
  node --version
  [ -d "$ROOT/../shared/data/siftsmall" ] || { echo "missing ../shared/data (benchmark datasets)"; exit 1; }
}

fmt() { step "rustfmt"; cargo fmt --all -- --check; }

clippy() { step "clippy -D warnings"; cargo clippy --workspace --all-targets -- -D warnings; }

doc() { step "cargo doc (warnings are errors)"; RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps; }

nostd() {
  step "no_std builds of the core (wasm32-unknown-unknown, x86_64-unknown-none)"
  cargo build -p vecshard-core --no-default-features --target wasm32-unknown-unknown
  RUSTFLAGS="-C target-feature=+simd128" cargo build -p vecshard-core --no-default-features \
    --target wasm32-unknown-unknown --target-dir "$CARGO_TARGET_DIR/simd128"
  cargo build -p vecshard-core --no-default-features --target x86_64-unknown-none
  step "no_std builds of the filter language (wasm32-unknown-unknown, x86_64-unknown-none)"
  cargo build -p vecshard-filter --no-default-features --target wasm32-unknown-unknown
  cargo build -p vecshard-filter --no-default-features --target x86_64-unknown-none
}

native() { step "native tests"; cargo test --workspace; }

wasm() {
  step "core tests compiled to wasm32-wasip1 (simd128), run in node"
  CARGO_TARGET_WASM32_WASIP1_RUNNER="node $ROOT/wasm-tests/wasi-runner.mjs" \
  CARGO_TARGET_WASM32_WASIP1_RUSTFLAGS="-C target-feature=+simd128" \
    cargo test -p vecshard-core --target wasm32-wasip1
  # The relaxed-SIMD kernels (what the wasmtime guest runs) against scalar.
  # Node 20 runs relaxed SIMD only behind a flag, and its baseline compiler
  # (Liftoff) gets i32x4.relaxed_dot_i8x16_i7x16_add_s wrong (2x the sum at
  # dim 32; TurboFan and wasmtime are right), hence --no-liftoff. Own
  # target dir: other flags.
  step "core kernel test compiled with +simd128,+relaxed-simd, run in node"
  CARGO_TARGET_WASM32_WASIP1_RUNNER="node --experimental-wasm-relaxed-simd --no-liftoff $ROOT/wasm-tests/wasi-runner.mjs" \
  CARGO_TARGET_WASM32_WASIP1_RUSTFLAGS="-C target-feature=+simd128,+relaxed-simd" \
    cargo test -p vecshard-core --target wasm32-wasip1 --target-dir "$CARGO_TARGET_DIR/relaxed" --test kernels
}

harness() {
  step "benchmark harness smoke run (ann on siftsmall)"
  cargo run --release -q -p vecshard-bench --bin ann -- --data "$ROOT/../shared/data/siftsmall" --ef 10,40
}

js() {
  step "npm package: build, pack, and test in node, deno, workerd and headless chromium"
  "$ROOT/scripts/test-js.sh"
}

steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(setup fmt clippy doc nostd native wasm harness js)
echo "target dir: $CARGO_TARGET_DIR"
timings=()
started=$SECONDS
for s in "${steps[@]}"; do
  t0=$SECONDS
  "$s"
  timings+=("$(printf '%-8s %5ds' "$s" $((SECONDS - t0)))")
  printf '<== %s took %ds\n' "$s" $((SECONDS - t0))
done
step "step times"
printf '  %s\n' "${timings[@]}"
printf '  %-8s %5ds\n' total $((SECONDS - started))
step "all checks passed"
