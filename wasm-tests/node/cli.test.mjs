// Interop with the native CLI: a data dir written by `vecshard build` (its
// cluster.json and shard-00i/snapshot.bin, untouched) loads into a wasm
// Cluster in worker_threads and answers the same queries with the same keys
// as `vecshard query` on that dir; the package writes the same manifest
// bytes and the same snapshot bytes back.
//
// Needs the CLI binary: scripts/test-js.sh builds it (`cargo test --workspace --no-run`
// puts it in target/debug) and sets VECSHARD_CLI; without it the test is skipped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, Index, loadLocal, stringifyManifest } from 'vecshard';
import { DATA, readFvecs, row } from '../lib/data.mjs';
import { run } from '../lib/proc.mjs';

const CLI = process.env.VECSHARD_CLI;
const SHARDS = 4;
const QUERIES = 20;

test('a data dir built by the vecshard CLI loads in wasm and answers like `vecshard query`', { skip: !CLI || !existsSync(CLI) ? 'set VECSHARD_CLI to the vecshard binary' : false }, async (t) => {
  const ds = join(DATA, 'glove100-10k');
  const tmp = mkdtempSync(join(tmpdir(), 'vecshard-cli-'));
  t.after(() => rmSync(tmp, { recursive: true, force: true }));
  const dir = join(tmp, 'glove');

  let t0 = performance.now();
  const built = await run(CLI, ['build', '--input', join(ds, 'base.fvecs'), '--shards', String(SHARDS), '--metric', 'cosine', '--out', dir]);
  assert.equal(built.code, 0, `vecshard build failed:\n${built.stderr}`);
  const buildS = (performance.now() - t0) / 1000;

  // The files as the CLI wrote them, read before anything else opens the dir.
  const manifestBytes = readFileSync(join(dir, 'cluster.json'));
  const snapshots = Array.from({ length: SHARDS }, (_, i) => new Uint8Array(readFileSync(join(dir, `shard-00${i}`, 'snapshot.bin'))));

  const queried = await run(CLI, ['query', '--data', dir, '--query-file', join(ds, 'query.fvecs'), '--limit', String(QUERIES), '--json', '--k', '10']);
  assert.equal(queried.code, 0, `vecshard query failed:\n${queried.stderr}`);
  const native = queried.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(native.length, QUERIES);

  // 1. The raw files, as a page would fetch them.
  t0 = performance.now();
  const cluster = await Cluster.load({ manifest: manifestBytes, shards: snapshots });
  t.after(() => cluster.free());
  const loadMs = performance.now() - t0;
  assert.equal(cluster.shards, SHARDS);
  assert.equal(await cluster.size(), 10000);

  const queries = readFvecs(join(ds, 'query.fvecs'));
  let sameKeys = 0;
  for (let q = 0; q < QUERIES; q++) {
    const want = native[q];
    assert.equal(want.partial, false);
    const got = await cluster.search(row(queries, q), 10);
    const wantKeys = want.results.map((h) => h.key);
    assert.deepEqual(got.keys, wantKeys, `query ${q}: wasm ${got.keys} vs native ${wantKeys}`);
    want.results.forEach((h, i) => assert.ok(Math.abs(got.distances[i] - h.distance) < 1e-5, `query ${q} hit ${i}: ${got.distances[i]} vs ${h.distance}`));
    sameKeys++;
  }

  // 2. The same dir through loadLocal (the Node file-system backend).
  const local = await loadLocal(dir);
  assert.ok(local, 'loadLocal finds the data dir');
  const viaLocal = await Cluster.load(local);
  t.after(() => viaLocal.free());
  assert.deepEqual((await viaLocal.search(row(queries, 3), 10)).keys, native[3].results.map((h) => h.key));

  // 3. Saved back from wasm: the same manifest bytes and the same snapshot bytes.
  const saved = await cluster.save();
  assert.equal(stringifyManifest(saved.manifest), manifestBytes.toString('utf8'), 'cluster.json byte for byte');
  saved.shards.forEach((s, i) => assert.ok(Buffer.from(s).equals(Buffer.from(snapshots[i])), `shard ${i}'s snapshot byte for byte`));

  console.log(`cli interop: vecshard build of glove100-10k into ${SHARDS} shards ${buildS.toFixed(2)} s; Cluster.load ${loadMs.toFixed(0)} ms; ${sameKeys}/${QUERIES} queries with the same top-10 keys as vecshard query`);
});

test('a data dir built by `vecshard build` from .jsonl with attributes: filtered search in wasm answers like `vecshard query --filter`', { skip: !CLI || !existsSync(CLI) ? 'set VECSHARD_CLI to the vecshard binary' : false }, async (t) => {
  const ds = join(DATA, 'glove100-10k');
  const tmp = mkdtempSync(join(tmpdir(), 'vecshard-cli-attrs-'));
  t.after(() => rmSync(tmp, { recursive: true, force: true }));
  const base = readFvecs(join(ds, 'base.fvecs'));
  const N = 2000;
  const attrsOf = (i) => (i % 50 === 49 ? undefined : { i, cat: `c${i % 4}`, bucket: i % 100, tags: [`t${i % 3}`] });
  const lines = [];
  for (let i = 0; i < N; i++) {
    const rec = { key: String(i), vector: Array.from(row(base, i)) };
    const a = attrsOf(i);
    if (a) rec.attributes = a;
    lines.push(JSON.stringify(rec));
  }
  const input = join(tmp, 'docs.jsonl');
  writeFileSync(input, lines.join('\n') + '\n');
  const dir = join(tmp, 'docs');
  const built = await run(CLI, ['build', '--input', input, '--shards', '2', '--metric', 'cosine', '--out', dir]);
  assert.equal(built.code, 0, `vecshard build failed:\n${built.stderr}`);

  const local = await loadLocal(dir);
  const cluster = await Cluster.load(local);
  t.after(() => cluster.free());
  assert.equal(await cluster.size(), N);
  assert.deepEqual(await cluster.getAttributes('5'), attrsOf(5));
  assert.equal(await cluster.getAttributes('49'), null);
  // One shard's snapshot also opens as an Index, attributes and all.
  const one = Index.fromBytes(local.shards[0]);
  t.after(() => one.free());
  const someKey = one.search(row(base, 0), 1).keys[0];
  assert.deepEqual(one.getAttributes(someKey), attrsOf(Number(someKey)) ?? null);

  const queries = readFvecs(join(ds, 'query.fvecs'));
  let compared = 0;
  for (const filter of ['.bucket < 5 and .cat == "c1"', '.bucket >= 50', '"t2" in .tags and .i % 7 == 0', '.nope == 1']) {
    const q = await run(CLI, ['query', '--data', dir, '--query-file', join(ds, 'query.fvecs'), '--limit', '5', '--json', '--k', '10', '--filter', filter, '--with-attributes']);
    assert.equal(q.code, 0, `vecshard query --filter failed:\n${q.stderr}`);
    const native = q.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(native.length, 5);
    for (let i = 0; i < 5; i++) {
      const got = await cluster.search(row(queries, i), 10, { filter, withAttributes: true });
      assert.deepEqual(got.keys, native[i].results.map((h) => h.key), `${filter}, query ${i}`);
      assert.deepEqual(got.attributes, native[i].results.map((h) => h.attributes ?? null));
      compared++;
    }
  }
  console.log(`cli attributes: vecshard build of ${N} .jsonl records with attributes into 2 shards; ${compared} filtered queries with the same keys and attributes as vecshard query --filter`);
});
