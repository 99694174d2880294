// Child processes and ports for the runtime tests.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** wasm-tests/node_modules/.bin/NAME (the tests run from a project inside wasm-tests/.work). */
export function bin(name) {
  const env = process.env[`VECSHARD_${name.toUpperCase()}`];
  if (env) return env;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++, dir = dirname(dir)) {
    if (dir.endsWith('wasm-tests')) return join(dir, 'node_modules', '.bin', name);
  }
  throw new Error(`cannot find node_modules/.bin/${name}; set VECSHARD_${name.toUpperCase()}`);
}

/** The directory of the installed `vecshard` package. */
export function packageDir() {
  return dirname(fileURLToPath(import.meta.resolve('vecshard')));
}

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Runs a command to completion; resolves { code, stdout, stderr }. */
export function run(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Starts a long-running process; returns it with a `log()` of its output so far. */
export function start(cmd, args, opts = {}) {
  const p = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.on('data', (d) => (out += d));
  p.stderr.on('data', (d) => (out += d));
  p.log = () => out;
  return p;
}

/** Polls `fn` until it resolves truthy or `ms` pass. */
export async function until(fn, ms, what) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
}
