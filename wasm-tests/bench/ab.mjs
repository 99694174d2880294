// Same-run A/B of the npm `Index` between package builds (for changes that
// trade module size against speed: wasm-opt flags, opt-levels, allocators):
//   node wasm-tests/bench/ab.mjs /path/to/pkgA /path/to/pkgB ...   (ROUNDS=7)
// Each directory is a built package (a copy of crates/wasm/pkg). The first
// one builds glove100-10k (m 16, efConstruction 200, attributes
// {b: i % 1000, c: i % 2}); every build loads that snapshot, so all search
// the same graph. Then: a 4000-insert build + toBytes + fromBytes per
// build (3 times, median), and rounds of interleaved query passes (100
// queries each; round 0 is a warm-up): unfiltered at ef 20 and 40, `.c ==
// 1` (the filtered walk) and `.b < 10` (an exact scan). Printed: the median
// over rounds of each pass's p50 and mean. Read ratios in one run, and run
// twice in swapped order on a shared machine.
import { resolve } from 'node:path';
import { loadDataset, row } from '../lib/data.mjs';
const dirs = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const ROUNDS = Number(process.env.ROUNDS ?? 7);
const ds = loadDataset('glove100-10k');
const mods = [];
for (const d of dirs) mods.push(await import(resolve(d, 'node.js')));
const n = ds.base.n;
const t0 = performance.now();
const idx = new mods[0].Index({ dim: ds.dim, metric: ds.metric, m: 16, efConstruction: 200, seed: 1 });
const keys = Array.from({ length: n }, (_, i) => String(i));
for (let i = 0; i < n; i++) idx.add(keys[i], row(ds.base, i), { b: i % 1000, c: i % 2 });
console.log(`build ${((performance.now() - t0) / 1000).toFixed(1)} s`);
const snap = idx.toBytes();
{
  const bt = mods.map(() => []);
  for (let r = 0; r < 3; r++) for (let v = 0; v < mods.length; v++) {
    const t = performance.now();
    const x = new mods[v].Index({ dim: ds.dim, metric: ds.metric, m: 16, efConstruction: 200, seed: 1 });
    for (let i = 0; i < 4000; i++) x.add(keys[i], row(ds.base, i), { b: i % 1000, c: i % 2 });
    const bytes = x.toBytes(); mods[v].Index.fromBytes(bytes).free?.(); x.free?.();
    bt[v].push(performance.now() - t);
  }
  console.log('build 4000 + toBytes + fromBytes (median ms):', dirs.map((d, v) => `${d.split('/').pop()} ${bt[v].sort((a, b) => a - b)[1].toFixed(0)}`).join(' | '));
}
const idxs = mods.map((m) => m.Index.fromBytes(snap));
const cases = [
  ['unfiltered ef20', (x, q) => x.search(q, 10, { ef: 20 })],
  ['unfiltered ef40', (x, q) => x.search(q, 10, { ef: 40 })],
  ['.c == 1 (walk)', (x, q) => x.search(q, 10, { filter: '.c == 1' })],
  ['.b < 10 (exact)', (x, q) => x.search(q, 10, { filter: '.b < 10' })],
];
const Q = ds.query.n;
const med = (a) => { const s = [...a].sort((x, y) => x - y); return s[s.length >> 1]; };
const res = {};
for (let r = 0; r < ROUNDS + 1; r++) {
  for (const [name, f] of cases) {
    for (let v = 0; v < idxs.length; v++) {
      const lat = [];
      for (let q = 0; q < Q; q++) { const t = performance.now(); f(idxs[v], row(ds.query, q)); lat.push(performance.now() - t); }
      if (r === 0) continue; // warm-up
      ((res[name] ??= {})[v] ??= []).push([med(lat) * 1000, lat.reduce((a, b) => a + b, 0) / Q * 1000]);
    }
  }
}
for (const [name] of cases) {
  const line = dirs.map((d, v) => { const p = res[name][v]; return `${d.split('/').pop()}: p50 ${med(p.map((x) => x[0])).toFixed(1)} mean ${med(p.map((x) => x[1])).toFixed(1)} µs`; });
  console.log(name.padEnd(18), line.join(' | '));
}
