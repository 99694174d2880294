// Cluster in Node: 4 shards in worker_threads, driven by the Rust
// coordinator compiled into the package. Routing matches the golden file
// of an independent xxh3 implementation; a killed worker gives a partial
// answer naming the missing shard; save/load covers every shard.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, Index, VecshardError, deleteLocal, hashName, loadLocal, route, saveLocal, stringifyManifest } from 'vecshard';
import { ROUTING, loadDataset, recallAt, row } from '../lib/data.mjs';

const DIM = 16;
const vec = (i) => new Float32Array(DIM).map((_, j) => Math.sin(i * 0.37 + j * 1.1) + (j === i % DIM ? 0.8 : 0));

function data(n) {
  const keys = Array.from({ length: n }, (_, i) => `doc-${i}`);
  const flat = new Float32Array(n * DIM);
  keys.forEach((_, i) => flat.set(vec(i), i * DIM));
  return { keys, flat };
}

test('route() is xxh3_64(key, seed 0) mod N, as in the golden file', () => {
  const all = readFileSync(ROUTING, 'utf8').split('\n');
  const header = all.find((l) => l.startsWith('# key\t')).slice(2).split('\t');
  const lines = all.filter((l) => l && !l.startsWith('#'));
  const ns = header.slice(2).map((h) => Number(h.slice(2)));
  assert.ok(lines.length >= 30);
  for (const line of lines) {
    const [key, , ...want] = line.split('\t');
    ns.forEach((n, i) => assert.equal(route(JSON.parse(key), n), Number(want[i]), `${key} mod ${n}`));
  }
  assert.equal(hashName(), 'xxh3_64(key, seed 0) mod N');
});

test('a 4-worker cluster: writes routed by key, merged search, get/has/remove, errors', async (t) => {
  const cluster = await Cluster.create({ shards: 4, dim: DIM, metric: 'cosine', seed: 7 });
  t.after(() => cluster.free());
  assert.equal(cluster.shards, 4);
  assert.equal(cluster.workers.length, 4);
  const { keys, flat } = data(3000);
  assert.deepEqual(await cluster.addBatch(keys, flat), { inserted: 3000, updated: 0 });
  assert.equal(await cluster.size(), 3000);
  const stats = await cluster.stats();
  for (let s = 0; s < 4; s++) {
    const owned = keys.filter((k) => route(k, 4) === s).length;
    assert.equal(stats[s].size, owned, `shard ${s} holds exactly the keys routed to it`);
    assert.equal(stats[s].kernel, 'simd128');
  }

  // Merged results equal an exact scan over all shards' answers: compare with one Index.
  const single = new Index({ dim: DIM, metric: 'cosine', seed: 7 });
  single.addBatch(keys, flat);
  for (const i of [0, 123, 2999]) {
    const r = await cluster.search(vec(i), 10, { ef: 100 });
    assert.equal(r.partial, false);
    assert.deepEqual(r.missingShards, []);
    assert.equal(r.keys[0], `doc-${i}`);
    assert.ok(r.distances instanceof Float32Array && r.distances.length === 10);
    for (let j = 1; j < 10; j++) assert.ok(r.distances[j - 1] <= r.distances[j], 'sorted by distance');
    const want = single.search(vec(i), 10, { ef: 100 });
    assert.ok(r.keys.filter((k) => want.keys.includes(k)).length >= 9, 'same neighbours as one index');
  }

  // Timings of concurrent searches stay apart: each gets its own shards' times.
  const [ta, tb] = await Promise.all([cluster.search(vec(1), 10, { timings: true }), cluster.search(vec(2), 10, { timings: true })]);
  for (const { timings } of [ta, tb]) {
    assert.ok(timings.shardMs instanceof Float64Array && timings.shardMs.length === 4);
    assert.ok(timings.shardMs.every((ms) => ms >= 0 && ms <= timings.totalMs), `${timings.shardMs} within ${timings.totalMs}`);
  }
  assert.equal((await cluster.search(vec(1), 10)).timings, undefined);

  assert.equal(await cluster.add('doc-5', vec(99)), false, 'add replaces (upsert)');
  assert.equal(await cluster.add('new-key', vec(5)), true);
  assert.deepEqual(Array.from(await cluster.get('doc-5')).map((x) => x.toFixed(5)), Array.from(vec(99)).map((x) => x.toFixed(5)));
  assert.equal(await cluster.get('nope'), undefined);
  assert.equal(await cluster.has('new-key'), true);
  await cluster.remove('new-key');
  assert.equal(await cluster.has('new-key'), false);

  const code = async (p, c) => {
    await assert.rejects(p, (e) => e instanceof VecshardError && e.code === c, c);
  };
  await code(cluster.remove('new-key'), 'key_not_found');
  await code(cluster.search(new Float32Array(3), 1), 'dimension_mismatch');
  await code(cluster.search(vec(1), 0), 'invalid_k');
  await code(cluster.addBatch(['a', 'b'], new Float32Array(DIM * 2)), 'zero_vector');
  await code(cluster.addBatch(['a', ''], flat.subarray(0, DIM * 2)), 'empty_key');
  await assert.rejects(() => cluster.add('a', [1, 2]), (e) => e.code === 'invalid_argument');
  assert.equal(await cluster.size(), 3000, 'failed batches changed nothing on any shard');
});

test('a killed worker gives a partial answer naming it; strict mode rejects', async (t) => {
  const cluster = await Cluster.create({ shards: 4, dim: DIM, metric: 'l2' });
  t.after(() => cluster.free());
  const { keys, flat } = data(2000);
  await cluster.addBatch(keys, flat);
  const victim = route('doc-42', 4);
  await cluster.workers[victim].terminate();
  const r = await cluster.search(vec(42), 5);
  assert.equal(r.partial, true);
  assert.deepEqual(r.missingShards, [victim]);
  assert.equal(r.keys.length, 5);
  assert.ok(!r.keys.includes('doc-42'), 'the dead shard\'s keys are missing');
  assert.ok(r.keys.every((k) => route(k, 4) !== victim));
  const timed = await cluster.search(vec(42), 5, { timings: true });
  assert.ok(Number.isNaN(timed.timings.shardMs[victim]) && timed.timings.shardMs.filter(Number.isNaN).length === 1);
  await assert.rejects(cluster.search(vec(42), 5, { strict: true }), (e) => e.code === 'shards_unavailable' && e.shards[0] === victim);
  await assert.rejects(cluster.get('doc-42'), (e) => e.code === 'shard_unavailable');
  const stats = await cluster.stats();
  assert.ok(stats[victim] instanceof VecshardError && stats[victim].code === 'shard_unavailable');
});

test('save() and Cluster.load() cover every shard, with a manifest', async (t) => {
  const a = await Cluster.create({ shards: 3, dim: DIM, metric: 'ip', quantization: 'i8', seed: 3 });
  t.after(() => a.free());
  const { keys, flat } = data(1500);
  await a.addBatch(keys, flat);
  const saved = await a.save();
  // The native data dir's cluster.json, field for field.
  assert.deepEqual(saved.manifest, {
    format: { cluster: 1, snapshot: 1, core_snapshot: 1, wal: 2, protocol: 1 }, shards: 3, hash: 'xxh3_64(key, seed 0) mod N',
    settings: { dim: DIM, metric: 'ip', m: 16, ef_construction: 200, ef_search: 64, quantization: 'i8', seed: 3 },
  });
  assert.equal(saved.shards.length, 3);
  // The manifest survives JSON, as it would in a file or IndexedDB.
  const b = await Cluster.load({ manifest: JSON.parse(JSON.stringify(saved.manifest)), shards: saved.shards });
  t.after(() => b.free());
  // ... and loads from its cluster.json text, as a file holds it.
  const text = stringifyManifest(saved.manifest);
  assert.equal(text, JSON.stringify(saved.manifest, null, 2) + '\n');
  const c = await Cluster.load({ manifest: text, shards: saved.shards });
  t.after(() => c.free());
  assert.deepEqual(await c.search(vec(5), 10), await a.search(vec(5), 10));
  await assert.rejects(
    Cluster.load({ manifest: { ...saved.manifest, format: { ...saved.manifest.format, snapshot: 2 } }, shards: saved.shards }),
    (e) => e.code === 'unsupported_version' && /newer vecshard/.test(e.message),
  );
  await assert.rejects(Cluster.load({ manifest: { ...saved.manifest, hash: 'fnv' }, shards: saved.shards }), (e) => e.code === 'invalid_snapshot');
  assert.equal(await b.size(), 1500);
  for (const i of [1, 700, 1499]) assert.deepEqual(await b.search(vec(i), 10), await a.search(vec(i), 10));
  await assert.rejects(Cluster.load({ manifest: saved.manifest, shards: saved.shards.slice(1) }), (e) => e.code === 'invalid_snapshot');
  const bad = saved.shards.map((s) => s.slice());
  bad[1][bad[1].length >> 1] ^= 0xff;
  await assert.rejects(Cluster.load({ manifest: saved.manifest, shards: bad }), (e) => e.code === 'invalid_snapshot');
});

test('a u64 seed above 2^53 survives save, cluster.json text and load', async (t) => {
  const seed = (1n << 63n) + 5n;
  const a = await Cluster.create({ shards: 2, dim: DIM, metric: 'l2', seed });
  t.after(() => a.free());
  await a.addBatch(['x', 'y'], new Float32Array(2 * DIM).fill(1));
  const saved = await a.save();
  assert.equal(saved.manifest.settings.seed, seed);
  const text = stringifyManifest(saved.manifest);
  assert.match(text, /"seed": 9223372036854775813\n/);
  const b = await Cluster.load({ manifest: new TextEncoder().encode(text), shards: saved.shards });
  t.after(() => b.free());
  assert.equal((await b.save()).manifest.settings.seed, seed);
});

test('saveLocal/loadLocal/deleteLocal write and read a data dir in Node', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vecshard-local-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const a = await Cluster.create({ shards: 3, dim: DIM, metric: 'cosine', seed: 9 });
  t.after(() => a.free());
  const { keys, flat } = data(600);
  await a.addBatch(keys, flat);
  const saved = await a.save();
  const where = join(dir, 'docs');
  assert.equal(await loadLocal(where), undefined);
  const r = await saveLocal(where, saved);
  assert.equal(r.backend, 'fs');
  assert.deepEqual(readdirSync(where).sort(), ['cluster.json', 'shard-000', 'shard-001', 'shard-002']);
  assert.equal(readFileSync(join(where, 'cluster.json'), 'utf8'), stringifyManifest(saved.manifest));
  assert.deepEqual(new Uint8Array(readFileSync(join(where, 'shard-001', 'snapshot.bin'))), saved.shards[1]);
  const back = await loadLocal(where);
  assert.deepEqual(back.manifest, saved.manifest);
  const b = await Cluster.load(back);
  t.after(() => b.free());
  assert.deepEqual(await b.search(vec(3), 5), await a.search(vec(3), 5));
  // Writes the native server logged after its last checkpoint are not in the snapshot: refuse.
  writeFileSync(join(where, 'shard-002', 'wal.log'), new Uint8Array(64));
  await assert.rejects(loadLocal(where), (e) => e.code === 'invalid_snapshot' && /vecshard checkpoint/.test(e.message));
  assert.equal(await deleteLocal(where), true);
  assert.equal(await loadLocal(where), undefined);
  assert.equal(await deleteLocal(where), false);
  await assert.rejects(saveLocal(where, saved, { backend: 'opfs' }), (e) => e.code === 'storage_unavailable');
  await assert.rejects(saveLocal(where, { shards: [] }), (e) => e.code === 'invalid_argument' || e.code === 'invalid_snapshot');
});

test('cluster recall@10 >= 0.95 on glove100-10k with 4 workers', async (t) => {
  const ds = loadDataset('glove100-10k');
  const cluster = await Cluster.create({ shards: 4, dim: ds.dim, metric: ds.metric, seed: 42 });
  t.after(() => cluster.free());
  const t0 = performance.now();
  await cluster.addBatch(Array.from({ length: ds.base.n }, (_, i) => String(i)), ds.base.flat);
  const buildMs = performance.now() - t0;
  let recall = 0;
  for (let q = 0; q < ds.query.n; q++) recall += recallAt(10, (await cluster.search(row(ds.query, q), 10, { ef: 64 })).keys, ds.gt[q]);
  recall /= ds.query.n;
  console.log(`cluster of 4 on glove100-10k: build ${(buildMs / 1000).toFixed(2)} s, recall@10 ${recall.toFixed(4)}`);
  assert.ok(recall >= 0.95, `recall ${recall}`);
});
