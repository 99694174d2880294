// Usage (after scripts/build-npm.sh): node wasm-tests/bench/index-memory.mjs build BASE.fvecs N [f32|i8]
//   then: node wasm-tests/bench/index-memory.mjs load   (a fresh process)
// Measures the npm Index's wasm linear memory against its own bytes, after
// a build and after a streamed load in a fresh process.
import { readFileSync, createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
const PKG = process.env.VECSHARD_PKG ?? new URL('../../crates/wasm/pkg/', import.meta.url).pathname;
const { Index } = await import(PKG + 'node.js');
const { initSync } = await import(PKG + 'vecshard.js');
const wasm = initSync({ module: readFileSync(PKG + 'vecshard_bg.wasm') });
const mode = process.argv[2];
const file = process.env.VECSHARD_SNAPSHOT ?? '/tmp/vecshard-index-memory.vsi';
const report = (what, idx) => {
  const s = idx.stats();
  const mem = wasm.memory.buffer.byteLength;
  console.log(`${what}: n ${s.size}, totalBytes ${(s.totalBytes / 1e6).toFixed(1)} MB, wasm memory ${(mem / 1e6).toFixed(1)} MB, ratio ${(mem / s.totalBytes).toFixed(3)}`);
};
if (mode === 'build') {
  const b = readFileSync(process.argv[3]);
  const dim = b.readInt32LE(0), n = Math.min(Number(process.argv[4]), b.length / (4 + 4 * dim));
  const flat = new Float32Array(n * dim), keys = [];
  for (let i = 0; i < n; i++) { for (let j = 0; j < dim; j++) flat[i * dim + j] = b.readFloatLE(i * (4 + 4 * dim) + 4 + 4 * j); keys.push(String(i)); }
  const idx = new Index({ dim, metric: 'cosine', quantization: process.argv[5] || 'f32' });
  for (let i = 0; i < n; i += 1000) idx.addBatch(keys.slice(i, i + 1000), flat.subarray(i * dim, Math.min(n, i + 1000) * dim));
  report('after build', idx);
  const out = createWriteStream(file);
  for (const c of idx.saveChunks()) if (!out.write(c)) await once(out, 'drain');
  out.end(); await once(out, 'finish');
} else {
  const idx = await Index.fromChunks(createReadStream(file));
  report('after a streamed load (fresh process)', idx);
}
