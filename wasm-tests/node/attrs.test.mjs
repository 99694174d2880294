// Attributes and filtered search on Index (and Cluster), on the installed
// tarball: the API, every error code of the new arguments ("nothing
// changes after a failed call"), and interop with native Rust through the
// golden files of crates/wasm/tests/attrs_golden.rs (a shard snapshot with
// attributes written natively loads here with attributes and filters
// answering the same keys; the same operations here write the same bytes).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, Index, VecshardError } from 'vecshard';
import { WASM_GOLDEN } from '../lib/data.mjs';

const v = (...xs) => new Float32Array(xs);

function throwsCode(fn, code) {
  let err;
  assert.throws(fn, (e) => {
    err = e;
    return e instanceof VecshardError && e.code === code;
  }, `expected code ${code}`);
  assert.ok(err.message.length > 10, 'the message says what to do');
  return err;
}

async function rejectsCode(p, code) {
  let err;
  await assert.rejects(p, (e) => {
    err = e;
    return e instanceof VecshardError && e.code === code;
  }, `expected code ${code}`);
  return err;
}

function movies() {
  const index = new Index({ dim: 2, metric: 'l2', seed: 3 });
  index.add('alien', v(0, 0), { year: 1979, genre: 'scifi', tags: ['space', 'horror'] });
  index.add('heat', v(1, 0), { year: 1995, genre: 'crime' });
  index.add('up', v(0, 1), { year: 2009, genre: 'animation', rating: 8.2 });
  index.add('noattrs', v(0.1, 0.1));
  return index;
}

test('Index: add with attributes, getAttributes, setAttributes, filtered search', () => {
  const index = movies();
  assert.deepEqual(index.getAttributes('alien'), { year: 1979, genre: 'scifi', tags: ['space', 'horror'] });
  assert.equal(index.getAttributes('noattrs'), null);
  const q = v(0, 0);
  const r = index.search(q, 10, { filter: '.year > 1990' });
  assert.deepEqual(r.keys, ['heat', 'up']);
  assert.equal(r.distances.length, 2);
  assert.equal(r.plan, 'exact');
  // Elements without attributes never match a selector.
  assert.deepEqual(index.search(q, 10, { filter: '.year > 0' }).keys.sort(), ['alien', 'heat', 'up']);
  assert.deepEqual(index.search(q, 10, { filter: '"space" in .tags' }).keys, ['alien']);
  // ... nor a filter without selectors (Redis: no attributes, no match).
  assert.deepEqual(index.search(q, 10, { filter: '1' }).keys.sort(), ['alien', 'heat', 'up']);
  // withAttributes without a filter: every hit, with its attributes (null when none).
  const all = index.search(q, 4, { withAttributes: true });
  assert.deepEqual(all.keys, ['alien', 'noattrs', 'heat', 'up']);
  assert.deepEqual(all.attributes, [{ year: 1979, genre: 'scifi', tags: ['space', 'horror'] }, null, { year: 1995, genre: 'crime' }, { year: 2009, genre: 'animation', rating: 8.2 }]);
  // VSETATTR: the vector stays, the attributes change; null clears.
  index.setAttributes('noattrs', { year: 2020 });
  assert.deepEqual(index.search(q, 10, { filter: '.year >= 2009' }).keys, ['noattrs', 'up']);
  index.setAttributes('alien', null);
  assert.equal(index.getAttributes('alien'), null);
  assert.deepEqual(index.get('alien'), v(0, 0));
  // upsert replaces the whole element: no attributes given clears them.
  index.upsert('heat', v(1, 0));
  assert.equal(index.getAttributes('heat'), null);
  index.upsert('heat', v(1, 1), { year: 1995 });
  assert.deepEqual(index.getAttributes('heat'), { year: 1995 });
  // remove drops them, and a new element in the reused slot starts clean.
  index.remove('up');
  index.add('new', v(5, 5));
  assert.equal(index.getAttributes('new'), null);
  assert.deepEqual(index.search(q, 10, { filter: '.year == 2009' }).keys, []);
  // addBatch with attributes.
  index.addBatch(['b1', 'b2'], v(2, 2, 3, 3), [{ year: 1 }, undefined]);
  assert.deepEqual(index.getAttributes('b1'), { year: 1 });
  assert.equal(index.getAttributes('b2'), null);
  assert.equal(index.stats().withAttributes, 3);
  index.free();
});

test('Index: the answer has min(k, matches) hits at every selectivity, equal to brute force', () => {
  const seed = 1234;
  console.log(`filtered brute-force check, seed ${seed}`);
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  const n = 3000;
  const dim = 8;
  const index = new Index({ dim, metric: 'l2', seed: 5, efSearch: 32 });
  const vecs = [];
  for (let i = 0; i < n; i++) {
    const x = Float32Array.from({ length: dim }, () => rnd() - 0.5);
    vecs.push(x);
    index.add(`k${i}`, x, { b: i % 1000, c: i % 2 });
  }
  const q = Float32Array.from({ length: dim }, () => rnd() - 0.5);
  const dist = (x) => x.reduce((d, xi, j) => d + (xi - q[j]) ** 2, 0);
  for (const [filter, pred] of [['.b < 1', (i) => i % 1000 < 1], ['.b < 30', (i) => i % 1000 < 30], ['.c == 1', (i) => i % 2 === 1], ['.b >= 0', () => true]]) {
    const r = index.search(q, 10, { filter, ef: 3000 });
    const want = vecs.map((x, i) => [dist(x), `k${i}`, i]).filter(([, , i]) => pred(i)).sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : 1)).slice(0, 10).map(([, k]) => k);
    assert.equal(r.keys.length, Math.min(10, want.length), filter);
    assert.deepEqual(r.keys, want, `${filter} (plan ${r.plan})`);
  }
  // A walk with a tiny effort bound is finished exactly: still min(k, matches).
  const r = index.search(q, 10, { filter: '.c == 1', filterEf: 1 });
  assert.equal(r.keys.length, 10);
  index.free();
});

test('Index: bad attributes and filters are typed errors and change nothing', () => {
  const index = movies();
  const before = index.toBytes();
  const q = v(0, 0);
  // Attributes: not an object, not JSON-able, too large.
  for (const bad of ['text', 42, true, [1, 2], new Float32Array(2), new Date(0)]) {
    throwsCode(() => index.add('x', v(1, 1), bad), 'invalid_attributes');
    throwsCode(() => index.setAttributes('alien', bad), 'invalid_attributes');
  }
  throwsCode(() => index.add('x', v(1, 1), { big: 1n }), 'invalid_attributes');
  const cyclic = {};
  cyclic.self = cyclic;
  throwsCode(() => index.add('x', v(1, 1), cyclic), 'invalid_attributes');
  const huge = { blob: 'x'.repeat(64 * 1024) };
  throwsCode(() => index.add('x', v(1, 1), huge), 'attributes_too_large');
  throwsCode(() => index.upsert('alien', v(1, 1), huge), 'attributes_too_large');
  throwsCode(() => index.setAttributes('alien', huge), 'attributes_too_large');
  throwsCode(() => index.addBatch(['x', 'y'], v(1, 1, 2, 2), [{ a: 1 }, 'no']), 'invalid_attributes');
  throwsCode(() => index.addBatch(['x', 'y'], v(1, 1, 2, 2), [{ a: 1 }]), 'invalid_argument');
  throwsCode(() => index.addBatch(['x', 'y'], v(1, 1, 2, 2), { a: 1 }), 'invalid_argument');
  throwsCode(() => index.setAttributes('nope', { a: 1 }), 'key_not_found');
  throwsCode(() => index.setAttributes('alien'), 'invalid_argument');
  const nf = throwsCode(() => index.getAttributes('nope'), 'key_not_found');
  assert.equal(nf.key, 'nope');
  throwsCode(() => index.getAttributes(7), 'invalid_argument');
  // Vector errors keep their details and win over nothing else.
  const dim = throwsCode(() => index.add('x', v(1), { a: 1 }), 'dimension_mismatch');
  assert.equal(dim.expected, 2);
  throwsCode(() => index.add('alien', v(1, 1), { a: 1 }), 'duplicate_key');
  // Filters: syntax errors carry the byte position; unknown operators;
  // longer than 4 KiB; not a string.
  const syn = throwsCode(() => index.search(q, 5, { filter: '.year > ' }), 'invalid_filter');
  assert.equal(typeof syn.position, 'number');
  assert.match(syn.message, /syntax error|expected/);
  const op = throwsCode(() => index.search(q, 5, { filter: '.year = 1' }), 'invalid_filter');
  assert.equal(op.position, 6);
  throwsCode(() => index.search(q, 5, { filter: '.a == 1 or ' + '.a == 1 or '.repeat(400) + '.a == 1' }), 'invalid_filter');
  for (const bad of [42, { key_prefix: 'a' }, null, ['.a']]) throwsCode(() => index.search(q, 5, { filter: bad }), 'invalid_filter');
  throwsCode(() => index.search(q, 5, { filter: '.a == 1', filterEf: 0 }), 'invalid_filter');
  throwsCode(() => index.search(q, 5, { filter: '.a == 1', filterEf: 2_000_000 }), 'invalid_filter');
  throwsCode(() => index.search(q, 5, { filter: '.a == 1', filterEf: 1.5 }), 'invalid_argument');
  throwsCode(() => index.search(q, 5, { withAttributes: 'yes' }), 'invalid_argument');
  throwsCode(() => index.search(q, 0, { filter: '.a == 1' }), 'invalid_k');
  throwsCode(() => index.search(v(1), 5, { filter: '.a == 1' }), 'dimension_mismatch');
  // Nothing changed.
  assert.deepEqual(index.toBytes(), before);
  assert.equal(index.size, 4);
  assert.deepEqual(index.getAttributes('alien'), { year: 1979, genre: 'scifi', tags: ['space', 'horror'] });
  index.free();
});

test('Index snapshots carry attributes; without any they stay bare core snapshots', () => {
  const index = movies();
  const bytes = index.toBytes();
  assert.equal(new TextDecoder().decode(bytes.subarray(0, 8)), 'VSSHARD\0');
  const back = Index.fromBytes(bytes);
  assert.deepEqual(back.getAttributes('up'), { year: 2009, genre: 'animation', rating: 8.2 });
  assert.deepEqual(back.search(v(0, 0), 10, { filter: '.year > 1990' }).keys, ['heat', 'up']);
  assert.deepEqual(back.toBytes(), bytes);
  const plain = new Index({ dim: 2, metric: 'l2' });
  plain.add('a', v(1, 1));
  assert.equal(new TextDecoder().decode(plain.toBytes().subarray(0, 8)), 'VECSHARD');
  for (const x of [index, back, plain]) x.free();
});

test('native ↔ wasm: the golden shard snapshot with attributes (crates/wasm/tests/attrs_golden.rs)', () => {
  const golden = JSON.parse(readFileSync(join(WASM_GOLDEN, 'attrs_expected.json'), 'utf8'));
  const nativeBytes = new Uint8Array(readFileSync(join(WASM_GOLDEN, 'attrs_shard.bin')));
  // native -> wasm: loads with attributes; filters answer the native keys.
  const loaded = Index.fromBytes(nativeBytes);
  assert.equal(loaded.size, golden.items.length);
  for (const it of golden.items) assert.deepEqual(loaded.getAttributes(it.key), it.attributes, it.key);
  let checked = 0;
  for (const s of golden.searches) {
    const r = loaded.search(new Float32Array(s.vector), 10, { filter: s.filter, withAttributes: true });
    assert.deepEqual(r.keys, s.keys, `query ${s.query} filter ${s.filter}`);
    r.keys.forEach((k, i) => assert.deepEqual(r.attributes[i], golden.items[Number(k.slice(1))].attributes));
    checked++;
  }
  // wasm -> native: the same operations here write the native bytes.
  const { dim, metric, m, efConstruction, seed } = golden.settings;
  const built = new Index({ dim, metric, m, efConstruction, seed });
  const flat = new Float32Array(golden.items.flatMap((it) => it.vector));
  built.addBatch(golden.items.map((it) => it.key), flat, golden.items.map((it) => it.attributes ?? undefined));
  assert.ok(Buffer.from(built.toBytes()).equals(Buffer.from(nativeBytes)), 'wasm writes the native shard snapshot byte for byte');
  console.log(`native golden with attributes: ${golden.items.length} items, ${checked} filtered searches with the native keys, toBytes() equal to the native snapshot`);
  loaded.free();
  built.free();
});

test('Cluster: attributes, setAttributes/getAttributes, filtered search and its errors', async (t) => {
  const cluster = await Cluster.create({ dim: 2, metric: 'l2', shards: 3, seed: 9 });
  t.after(() => cluster.free());
  const n = 60;
  const keys = Array.from({ length: n }, (_, i) => `k${i}`);
  const flat = Float32Array.from({ length: 2 * n }, (_, i) => (i % 2 ? Math.floor(i / 2) : 0));
  await cluster.addBatch(keys, flat, keys.map((_, i) => (i % 10 === 9 ? undefined : { i, even: i % 2 === 0 })));
  assert.equal(await cluster.add('extra', v(0, 100), { i: 100 }), true);
  assert.equal(await cluster.upsert('extra', v(0, 101), { i: 101 }), false);
  assert.deepEqual(await cluster.getAttributes('k4'), { i: 4, even: true });
  assert.equal(await cluster.getAttributes('k9'), null);
  const r = await cluster.search(v(0, 0), 5, { filter: '.even and .i >= 10', withAttributes: true });
  assert.deepEqual(r.keys, ['k10', 'k12', 'k14', 'k16', 'k18']);
  assert.deepEqual(r.attributes.map((a) => a.i), [10, 12, 14, 16, 18]);
  assert.equal(r.partial, false);
  await cluster.setAttributes('k11', { i: 11, even: true });
  assert.deepEqual((await cluster.search(v(0, 0), 2, { filter: '.even and .i >= 10' })).keys, ['k10', 'k11']);
  await cluster.setAttributes('k10', null);
  assert.equal(await cluster.getAttributes('k10'), null);
  // min(k, matches)
  assert.deepEqual((await cluster.search(v(0, 0), 10, { filter: '.i > 101' })).keys, []);
  assert.deepEqual((await cluster.search(v(0, 0), 10, { filter: '.i >= 100', filterEf: 5 })).keys, ['extra']);
  // Errors, nothing changes.
  const e = await rejectsCode(cluster.search(v(0, 0), 5, { filter: '.i = 1' }), 'invalid_filter');
  assert.equal(e.position, 3);
  await rejectsCode(cluster.search(v(0, 0), 5, { filter: 7 }), 'invalid_filter');
  await rejectsCode(cluster.search(v(0, 0), 5, { filter: 'x'.repeat(5000) }), 'invalid_filter');
  await rejectsCode(cluster.search(v(0, 0), 5, { filter: '.i > 1', filterEf: 0 }), 'invalid_filter');
  await rejectsCode(cluster.add('z', v(1, 1), 'text'), 'invalid_attributes');
  await rejectsCode(cluster.add('z', v(1, 1), { b: 'x'.repeat(70000) }), 'attributes_too_large');
  await rejectsCode(cluster.setAttributes('k1', [1]), 'invalid_attributes');
  await rejectsCode(cluster.setAttributes('nope', { a: 1 }), 'key_not_found');
  await rejectsCode(cluster.getAttributes('nope'), 'key_not_found');
  await rejectsCode(cluster.addBatch(['a', 'b'], v(1, 1, 2, 2), [{ a: 1 }]), 'invalid_argument');
  assert.equal(await cluster.has('z'), false);
  assert.equal(await cluster.size(), n + 1);
  assert.deepEqual(await cluster.getAttributes('k1'), { i: 1, even: false });
  // Saved and loaded: the attributes travel in the shard snapshots.
  const back = await Cluster.load(await cluster.save());
  t.after(() => back.free());
  assert.deepEqual(await back.getAttributes('k4'), { i: 4, even: true });
  assert.deepEqual((await back.search(v(0, 0), 2, { filter: '.even and .i >= 10' })).keys, ['k11', 'k12']);
});
