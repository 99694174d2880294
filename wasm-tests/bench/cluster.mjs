// Cluster with 1, 2 and 4 workers (worker_threads) on one dataset, in one run:
//   node wasm-tests/bench/cluster.mjs [--data DIR] [--dataset glove100-10k] [--workers 1,2,4] [--ef 64] [--passes 5]
// Needs `scripts/build-npm.sh` first (it imports crates/wasm/pkg).
//   build     one addBatch of every base vector (each shard gets its part in
//             one message and builds it in its own worker, all at once)
//   latency   one query at a time (await each): p50 and p99 over `passes`
//             passes of the query set after a warm-up pass
//   QPS       16 queries in flight (what a busy page or server sees)
//   recall@10 against the dataset's ground truth, at the same ef
// Prints a Markdown table (and one JSON line per row with --json).
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadDataset, recallAt, row } from '../lib/data.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const ROOT = join(here, '..', '..');
const args = Object.fromEntries(process.argv.slice(2).map((a, i, all) => a.startsWith('--') ? [a.slice(2), all[i + 1]?.startsWith('--') ? true : all[i + 1] ?? true] : null).filter(Boolean));
if (args.data) process.env.VECSHARD_DATA = args.data;
const DATASET = String(args.dataset ?? 'glove100-10k');
const WORKERS = String(args.workers ?? '1,2,4').split(',').map(Number);
const EF = Number(args.ef ?? 64);
const PASSES = Number(args.passes ?? 5);
const INFLIGHT = 16;
const K = 10;

const { Cluster } = await import(join(ROOT, 'crates/wasm/pkg/node.js'));
const ds = loadDataset(DATASET);
const keys = Array.from({ length: ds.base.n }, (_, i) => String(i));
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];

async function measure(n) {
  let t = performance.now();
  const cluster = await Cluster.create({ shards: n, dim: ds.dim, metric: ds.metric, seed: 42 });
  const startMs = performance.now() - t;
  t = performance.now();
  await cluster.addBatch(keys, ds.base.flat);
  const buildS = (performance.now() - t) / 1000;

  let recall = 0;
  for (let q = 0; q < ds.query.n; q++) recall += recallAt(K, (await cluster.search(row(ds.query, q), K, { ef: EF })).keys, ds.gt[q]);
  recall /= ds.query.n;

  const lat = [];
  for (let p = 0; p < PASSES; p++) {
    for (let q = 0; q < ds.query.n; q++) {
      const t0 = performance.now();
      await cluster.search(row(ds.query, q), K, { ef: EF });
      lat.push(performance.now() - t0);
    }
  }
  lat.sort((a, b) => a - b);

  const total = ds.query.n * PASSES;
  let next = 0;
  t = performance.now();
  await Promise.all(
    Array.from({ length: INFLIGHT }, async () => {
      while (next < total) {
        const q = next++ % ds.query.n;
        await cluster.search(row(ds.query, q), K, { ef: EF });
      }
    }),
  );
  const qps = total / ((performance.now() - t) / 1000);
  const sizes = (await cluster.stats()).map((s) => s.size);
  cluster.free();
  return { workers: n, start_ms: startMs, build_s: buildS, recall, p50_us: pct(lat, 50) * 1000, p99_us: pct(lat, 99) * 1000, qps_16_in_flight: qps, sizes };
}

const rows = [];
for (const n of WORKERS) {
  const r = await measure(n);
  rows.push(r);
  if (args.json) console.log(JSON.stringify({ dataset: DATASET, ef: EF, ...r }));
}
console.log(`\n${DATASET}, ef ${EF}, k ${K}, ${availableParallelism()} cores, Node ${process.versions.node}\n`);
console.log('| workers | build s | recall@10 | p50 µs (1 in flight) | p99 µs | QPS (16 in flight) | shard sizes |');
console.log('|---|---|---|---|---|---|---|');
for (const r of rows)
  console.log(`| ${r.workers} | ${r.build_s.toFixed(2)} | ${r.recall.toFixed(3)} | ${r.p50_us.toFixed(0)} | ${r.p99_us.toFixed(0)} | ${Math.round(r.qps_16_in_flight).toLocaleString('en-US')} | ${r.sizes.join(' / ')} |`);
