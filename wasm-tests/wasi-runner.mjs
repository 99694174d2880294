// Runs a Rust test binary built for wasm32-wasip1 under Node's WASI.
//
// Cargo calls this as the target runner (scripts/test-all.sh sets
// CARGO_TARGET_WASM32_WASIP1_RUNNER="node <repo>/wasm-tests/wasi-runner.mjs"),
// so `cargo test --target wasm32-wasip1 -p vecshard-core` runs the very same
// tests as the native build, compiled to wasm with simd128.
//
// The tests read ../shared/data and their golden files by absolute path, so
// the host root is preopened as "/". This is a test harness, not a sandbox.
import { readFile } from 'node:fs/promises';
import { WASI } from 'node:wasi';
import process from 'node:process';

const [, , wasmPath, ...args] = process.argv;
if (!wasmPath) {
  console.error('usage: node wasi-runner.mjs TEST.wasm [libtest args...]');
  process.exit(2);
}
const wasi = new WASI({
  version: 'preview1',
  args: [wasmPath, ...args],
  env: process.env,
  preopens: { '/': '/' },
  returnOnExit: false,
});
const module = await WebAssembly.compile(await readFile(wasmPath));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
// Exit at once: Node 20 can crash (SIGSEGV) while tearing down a large
// WASI instance after a normal return, which would fail a passing run.
process.exit(wasi.start(instance));
