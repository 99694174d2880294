// Runs a Rust test binary built for wasm32-wasip1 under Node's WASI.
//
// Cargo calls this as the target runner (scripts/test-all.sh sets
// CARGO_TARGET_WASM32_WASIP1_RUNNER="node <repo>/wasm-tests/wasi-runner.mjs"),
// so `cargo test --target wasm32-wasip1 -p vecshard-core` runs the very same
// tests as the native build, compiled to wasm with simd128.
//
// Node 20 sometimes segfaults while tearing down a large WASI instance at
// exit, after the program has finished normally; that would fail a passing
// run. So this script re-runs itself as a child and forwards its output. A
// normal exit status is passed through as is. If the child dies of a signal,
// the run counts as passed only if libtest had already printed
// `test result: ok.` and nothing FAILED (the sentinel line from `proc_exit`
// is used when Node lets us wrap it).
//
// The tests read ../shared/data and their golden files by absolute path, so
// the host root is preopened as "/". This is a test harness, not a sandbox.
import { readFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WASI } from 'node:wasi';
import process from 'node:process';

const SENTINEL = '__VECSHARD_WASI_EXIT__';
const [, , wasmPath, ...args] = process.argv;
if (!wasmPath) {
  console.error('usage: node wasi-runner.mjs TEST.wasm [libtest args...]');
  process.exit(2);
}

if (!process.env.VECSHARD_WASI_CHILD) {
  // Node's own flags (e.g. --experimental-wasm-relaxed-simd) go to the child.
  const child = spawn(process.execPath, [...process.execArgv, '--no-warnings', fileURLToPath(import.meta.url), wasmPath, ...args], {
    env: { ...process.env, VECSHARD_WASI_CHILD: '1' },
    stdio: ['inherit', 'pipe', 'inherit'],
  });
  let code = null;
  let pending = '';
  let sawOk = false;
  let sawFailed = false;
  child.stdout.on('data', (chunk) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop();
    for (const line of lines) {
      if (line.startsWith(SENTINEL)) code = Number(line.slice(SENTINEL.length + 1));
      else process.stdout.write(line + '\n');
      if (line.startsWith('test result: ok.')) sawOk = true;
      if (line.includes('FAILED') || line.startsWith('test result: FAILED')) sawFailed = true;
    }
  });
  child.on('close', (status, signal) => {
    if (pending) process.stdout.write(pending);
    if (code === null) {
      if (signal === null) process.exit(status);
      // Killed by a signal (the Node 20 teardown crash) after libtest printed
      // its summary: trust the summary, and say so.
      if (sawOk && !sawFailed) {
        console.error(`wasi-runner: node died of ${signal} after the tests passed; counting the run as passed`);
        process.exit(0);
      }
      console.error(`wasi-runner: test process died of ${signal}`);
      process.exit(1);
    }
    process.exit(code);
  });
} else {
  const wasi = new WASI({ version: 'preview1', args: [wasmPath, ...args], env: process.env, preopens: { '/': '/' } });
  const imports = wasi.getImportObject();
  const procExit = imports.wasi_snapshot_preview1.proc_exit;
  imports.wasi_snapshot_preview1.proc_exit = (rc) => {
    process.stdout.write(`\n${SENTINEL} ${rc}\n`); // synchronous on Linux pipes
    return procExit(rc);
  };
  const module = await WebAssembly.compile(await readFile(wasmPath));
  const instance = await WebAssembly.instantiate(module, imports);
  wasi.start(instance);
}
