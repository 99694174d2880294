// workerd (npm `workerd`, Cloudflare's runtime): a Worker loads a snapshot
// and answers POST /search; tested with real HTTP requests to 127.0.0.1.
// The package goes in through its "workerd" entry, which instantiates a
// precompiled WebAssembly.Module with initSync (workerd forbids compiling
// wasm at run time).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, copyFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Index } from 'vecshard';
import { bin, freePort, packageDir, start, until } from '../lib/proc.mjs';

const DIM = 16;
const vec = (i) => new Float32Array(DIM).map((_, j) => Math.cos(i * 0.71 + j * 0.3) + (j === i % DIM ? 0.5 : 0));

test('a Worker serves a snapshot over HTTP with the same answers as Node', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vecshard-workerd-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const index = new Index({ dim: DIM, metric: 'l2', seed: 5 });
  for (let i = 0; i < 2000; i++) index.add(`doc-${i}`, vec(i));
  writeFileSync(join(dir, 'snapshot.bin'), index.toBytes());

  // A raw workerd config lists every module the way wrangler would bundle
  // them: the package's workerd entry under the name "vecshard", its files
  // next to it, and the .wasm as a `wasm` module (compiled at load).
  const pkg = packageDir();
  for (const f of ['workerd.js', 'api.js', 'module.js', 'cluster.js', 'manifest.js', 'storage.js', 'lock.js', 'vecshard.js', 'vecshard_bg.wasm']) copyFileSync(join(pkg, f), join(dir, f));
  copyFileSync(new URL('./worker.mjs', import.meta.url), join(dir, 'worker.mjs'));
  const port = await freePort();
  writeFileSync(
    join(dir, 'config.capnp'),
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .searchWorker) ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
const searchWorker :Workerd.Worker = (
  modules = [
    (name = "worker.mjs", esModule = embed "worker.mjs"),
    (name = "vecshard", esModule = embed "workerd.js"),
    (name = "api.js", esModule = embed "api.js"),
    (name = "module.js", esModule = embed "module.js"),
    (name = "cluster.js", esModule = embed "cluster.js"),
    (name = "manifest.js", esModule = embed "manifest.js"),
    (name = "storage.js", esModule = embed "storage.js"),
    (name = "lock.js", esModule = embed "lock.js"),
    (name = "vecshard.js", esModule = embed "vecshard.js"),
    (name = "vecshard_bg.wasm", wasm = embed "vecshard_bg.wasm"),
    (name = "snapshot.bin", data = embed "snapshot.bin"),
  ],
  compatibilityDate = "2024-09-23",
);
`,
  );
  const proc = start(bin('workerd'), ['serve', join(dir, 'config.capnp')], { cwd: dir });
  t.after(() => proc.kill('SIGKILL'));
  const base = `http://127.0.0.1:${port}`;
  const info = await until(async () => {
    if (proc.exitCode !== null) throw new Error(`workerd exited ${proc.exitCode}:\n${proc.log()}`);
    const r = await fetch(`${base}/info`);
    return r.ok && r.json();
  }, 30000, `workerd on ${base}\n${proc.log()}`);
  assert.deepEqual(info, { size: 2000, dim: DIM, metric: 'l2' });

  for (const i of [0, 17, 1999]) {
    const q = vec(i).map((x) => x + 0.01);
    const res = await fetch(`${base}/search`, { method: 'POST', body: JSON.stringify({ vector: Array.from(q), k: 10, ef: 50 }) });
    assert.equal(res.status, 200);
    const got = await res.json();
    const want = index.search(q, 10, { ef: 50 });
    assert.deepEqual(got.keys, want.keys);
    assert.equal(got.keys[0], `doc-${i}`);
    got.distances.forEach((d, j) => assert.ok(Math.abs(d - want.distances[j]) < 1e-6));
  }

  const bad = await fetch(`${base}/search`, { method: 'POST', body: JSON.stringify({ vector: [1, 2], k: 3 }) });
  assert.equal(bad.status, 400);
  assert.equal((await bad.json()).code, 'dimension_mismatch');
});
