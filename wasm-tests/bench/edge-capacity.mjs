// Edge fitness, capacity (issue 11 § 4): how large a shard fits a 128 MB
// isolate, for 768-d vectors stored as f32, i8 and binary.
//
// Each measurement runs in its own Node process: all `Shard`s of one
// thread share one instance of the Cluster module, whose linear memory only
// grows, while a Durable Object has an isolate (and an instance) of its own.
//
// For each storage: build an index of N synthetic 768-d vectors (seeded
// uniform random in [-1, 1), cosine; efConstruction 40 to keep the build
// short: the memory of a node does not depend on it), save its snapshot
// with `saveChunks`, then in a fresh `Shard` (a fresh instance of the
// Cluster module, as a Durable Object has) restore it from 1 MiB chunks and
// measure the wasm linear memory (`describe().memoryBytes`) plus the growth
// of the JS heap during the restore. The largest shard that fits is then
// (128 MiB - fixed) / per-vector, with fixed and per-vector from two sizes
// (N/2 and N): an extrapolation from measured points, printed as such.
//
// With `--data DIR` (a data dir built by `vecshard build --shards 1`, or
// any shard of one with `--shard i`) or `--snapshot FILE` (a shard's
// snapshot.bin), nothing is built: the shard snapshot on disk is restored
// the way a Durable Object restores its rows, read from the file 1 MiB at a
// time and pushed chunk by chunk into a fresh `Shard`, in this process; the
// row printed is a measurement at that size, not an extrapolation.
//
// Usage (from wasm-tests/.work/proj after scripts/test-js.sh node, or any
// project with the package installed):
//   node --expose-gc bench/edge-capacity.mjs [--n 20000] [--quantization f32,i8,binary]
//   node --expose-gc bench/edge-capacity.mjs --data DIR [--shard 0]
//   node --expose-gc bench/edge-capacity.mjs --snapshot DIR/shard-000/snapshot.bin
import { Index, Shard } from 'vecshard';
import { execFileSync } from 'node:child_process';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = Object.fromEntries(process.argv.slice(2).reduce((a, x, i, all) => (x.startsWith('--') ? [...a, [x.slice(2), all[i + 1]]] : a), []));
const N = Number(args.n ?? 20000);
const QS = (args.quantization ?? 'f32,i8,binary').split(',');
const DIM = 768;
const LIMIT = 128 * 1024 * 1024;

function rng(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

/** Builds an index of n vectors (the Index module) and returns its snapshot chunks (a bare core snapshot, which a Shard restores). */
function buildSnapshot(q, n) {
  const index = new Index({ dim: DIM, metric: 'cosine', quantization: q, efConstruction: 40, seed: 7 });
  const next = rng(12345);
  const batch = 1000;
  for (let i = 0; i < n; i += batch) {
    const m = Math.min(batch, n - i);
    const flat = new Float32Array(m * DIM);
    for (let j = 0; j < flat.length; j++) flat[j] = next() * 2 - 1;
    index.addBatch(Array.from({ length: m }, (_, j) => `k${i + j}`), flat);
  }
  const chunks = [...index.saveChunks()];
  index.free();
  return chunks;
}

async function measure(q, n) {
  const chunks = buildSnapshot(q, n);
  const bytes = chunks.reduce((a, c) => a + c.length, 0);
  globalThis.gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  const shard = await Shard.create();
  const r = shard.beginRestore({ length: bytes });
  for (const c of chunks) r.push(c);
  r.finish();
  const ms = performance.now() - t0;
  const d = shard.describe();
  globalThis.gc?.();
  const heap = Math.max(0, process.memoryUsage().heapUsed - heap0);
  shard.free();
  return { n, snapshot: bytes, wasm: d.memoryBytes, index: d.indexBytes, heap, ms };
}

/** Restores a shard snapshot file, read and pushed 1 MiB at a time, into a fresh Shard. */
async function measureFile(file) {
  const fd = openSync(file, 'r');
  const bytes = fstatSync(fd).size;
  globalThis.gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  const shard = await Shard.create();
  const r = shard.beginRestore({ length: bytes });
  const buf = new Uint8Array(1 << 20);
  for (let off = 0; off < bytes; ) {
    const got = readSync(fd, buf, 0, Math.min(buf.length, bytes - off), off);
    if (got <= 0) throw new Error(`short read of ${file} at ${off}`);
    r.push(buf.subarray(0, got));
    off += got;
  }
  r.finish();
  const ms = performance.now() - t0;
  closeSync(fd);
  const d = shard.describe();
  globalThis.gc?.();
  const heap = Math.max(0, process.memoryUsage().heapUsed - heap0);
  shard.free();
  return { n: d.size, snapshot: bytes, wasm: d.memoryBytes, index: d.indexBytes, heap, ms, describe: d };
}

const mb = (b) => (b / 1048576).toFixed(1);
if (args.data || args.snapshot) {
  const file = args.snapshot ?? join(args.data, `shard-${String(Number(args.shard ?? 0)).padStart(3, '0')}`, 'snapshot.bin');
  const m = await measureFile(file);
  const total = m.wasm + m.heap;
  const d = m.describe;
  console.log(`edge capacity, shard snapshot ${file} (${d.dim}-d, ${d.metric}, ${d.quantization}) restored from 1 MiB reads into a fresh Shard; node ${process.version}`);
  console.log('| n | snapshot MB | index MB | wasm memory MB | JS heap growth MB | wasm + heap MB | wasm bytes/vector | fits 128 MiB | restore ms |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  console.log(`| ${m.n} | ${mb(m.snapshot)} | ${mb(m.index)} | ${mb(m.wasm)} | ${mb(m.heap)} | ${mb(total)} | ${m.n ? Math.round(m.wasm / m.n) : '-'} | ${total <= LIMIT ? 'yes' : 'no'} (${((100 * total) / LIMIT).toFixed(0)}%) | ${m.ms.toFixed(0)} |`);
  process.exit(0);
}
if (args.one) {
  console.log(JSON.stringify(await measure(args.one, Number(args.n))));
  process.exit(0);
}
const one = (q, n) => JSON.parse(execFileSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--one', q, '--n', String(n)], { encoding: 'utf8' }).trim().split('\n').pop());
console.log(`edge capacity, ${DIM}-d synthetic uniform vectors (cosine), shard restored from 1 MiB chunks, one process per row; node ${process.version}`);
console.log('| storage | n | snapshot MB | index MB | wasm memory MB | JS heap growth MB | wasm bytes/vector | largest n in 128 MiB (extrapolated) |');
console.log('|---|---|---|---|---|---|---|---|');
for (const q of QS) {
  const a = one(q, N / 2);
  const b = one(q, N);
  const per = (b.wasm + b.heap - a.wasm - a.heap) / (b.n - a.n);
  const fixed = b.wasm + b.heap - per * b.n;
  const fit = per > 0 ? Math.floor((LIMIT - fixed) / per).toLocaleString('en') : 'n/a (no growth measured)';
  for (const m of [a, b])
    console.log(`| ${q} | ${m.n} | ${mb(m.snapshot)} | ${mb(m.index)} | ${mb(m.wasm)} | ${mb(m.heap)} | ${Math.round(m.wasm / m.n)} | ${m === b ? fit : ''} |`);
}
