// Recall@10 of the wasm build on GloVe-100 (10k words, cosine) against the
// dataset's exact ground truth, plus the same answers after a snapshot trip.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Index } from 'vecshard';
import { loadDataset, recallAt, row } from '../lib/data.mjs';

test('recall@10 >= 0.95 on glove100-10k (m 16, ef_construction 200, ef 64)', () => {
  const ds = loadDataset('glove100-10k');
  const index = new Index({ dim: ds.dim, metric: ds.metric, seed: 42 });
  const t0 = performance.now();
  const keys = Array.from({ length: ds.base.n }, (_, i) => String(i));
  index.addBatch(keys.slice(0, 5000), ds.base.flat.subarray(0, 5000 * ds.dim));
  for (let i = 5000; i < ds.base.n; i++) index.add(keys[i], row(ds.base, i));
  const buildMs = performance.now() - t0;

  let recall = 0;
  const results = [];
  for (let q = 0; q < ds.query.n; q++) {
    const r = index.search(row(ds.query, q), 10, { ef: 64 });
    results.push(r);
    recall += recallAt(10, r.keys, ds.gt[q]);
  }
  recall /= ds.query.n;
  console.log(`glove100-10k: build ${(buildMs / 1000).toFixed(2)} s, recall@10 ${recall.toFixed(4)} at ef 64`);
  assert.ok(recall >= 0.95, `recall@10 ${recall}`);

  const loaded = Index.fromBytes(index.toBytes());
  for (let q = 0; q < ds.query.n; q++) assert.deepEqual(loaded.search(row(ds.query, q), 10, { ef: 64 }), results[q]);
});
