// The Index API in Node, on the installed tarball: typed-array contracts,
// every error code, and "a failed call changes nothing".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import init, { Index, VecshardError, initSync } from 'vecshard';

const v = (...xs) => new Float32Array(xs);

function small(metric = 'l2') {
  const index = new Index({ dim: 3, metric, seed: 7 });
  index.add('a', v(1, 0, 0));
  index.add('b', v(0, 1, 0));
  index.add('c', v(0, 0, 1));
  return index;
}

/** Asserts that `fn` throws a VecshardError with `code` (and returns it). */
function throwsCode(fn, code) {
  let err;
  assert.throws(fn, (e) => {
    err = e;
    return e instanceof VecshardError && e instanceof Error && e.code === code && e.name === 'VecshardError';
  }, `expected code ${code}`);
  assert.ok(err.message.length > 10, 'the message says what to do');
  return err;
}

test('the node entry is ready at import; init() and initSync() are harmless no-ops', async () => {
  await init();
  initSync();
  assert.equal(small().size, 3);
});

test('add, has, get, size, search, remove, upsert', () => {
  const index = small();
  assert.equal(index.size, 3);
  assert.equal(index.dim, 3);
  assert.equal(index.metric, 'l2');
  assert.equal(index.quantization, 'f32');
  assert.equal(index.has('a'), true);
  assert.equal(index.has('zz'), false);
  assert.deepEqual(index.get('b'), v(0, 1, 0));
  assert.equal(index.get('zz'), undefined);

  const r = index.search(v(0.9, 0.1, 0), 2);
  assert.deepEqual(r.keys, ['a', 'b']);
  assert.ok(r.distances instanceof Float32Array);
  assert.equal(r.distances.length, 2);
  assert.ok(Math.abs(r.distances[0] - (0.01 + 0.01)) < 1e-6, `squared l2, got ${r.distances[0]}`);
  assert.ok(r.distances[0] <= r.distances[1]);

  assert.equal(index.upsert('a', v(0, 0, 2)), false, 'a existed');
  assert.equal(index.upsert('d', v(5, 5, 5)), true, 'd is new');
  assert.deepEqual(index.get('a'), v(0, 0, 2));
  index.remove('b');
  assert.equal(index.has('b'), false);
  assert.equal(index.size, 3);
  assert.deepEqual(index.search(v(0, 0, 2), 10).keys, ['a', 'c', 'd']);
});

test('k larger than the index returns everything; an empty index returns nothing', () => {
  const r = small().search(v(0, 0, 0), 100, { ef: 5 });
  assert.equal(r.keys.length, 3);
  const empty = new Index({ dim: 3, metric: 'cosine' });
  const e = empty.search(v(1, 0, 0), 5);
  assert.deepEqual(e.keys, []);
  assert.equal(e.distances.length, 0);
  assert.ok(e.distances instanceof Float32Array);
});

test('distances: cosine is 1 - cos, ip is -dot', () => {
  const c = small('cosine');
  const rc = c.search(v(1, 1, 0), 1);
  assert.ok(Math.abs(rc.distances[0] - (1 - Math.SQRT1_2)) < 1e-6);
  const ip = small('ip');
  const ri = ip.search(v(2, 0, 0), 1);
  assert.deepEqual(ri.keys, ['a']);
  assert.ok(Math.abs(ri.distances[0] + 2) < 1e-6);
});

test('unicode keys survive the trip, including astral characters', () => {
  const index = new Index({ dim: 2, metric: 'l2' });
  const keys = ['naïve', '水', '😀 smile', 'a\u0000b', 'x'.repeat(1024)];
  keys.forEach((k, i) => index.add(k, v(i, 0)));
  for (const k of keys) assert.ok(index.has(k), k);
  assert.deepEqual(index.search(v(0, 0), 5).keys, keys);
  const loaded = Index.fromBytes(index.toBytes());
  assert.deepEqual(loaded.search(v(0, 0), 5).keys, keys);
});

test('typed-array contracts: inputs are copied, outputs never alias wasm memory', () => {
  const index = new Index({ dim: 2, metric: 'l2' });
  const vec = v(1, 2);
  index.add('k', vec);
  vec[0] = 99; // changing the caller's array afterwards changes nothing
  const got = index.get('k');
  assert.deepEqual(got, v(1, 2));
  got[0] = 42; // nor does changing the returned copy
  assert.deepEqual(index.get('k'), v(1, 2));

  const r = index.search(v(1, 2), 1);
  const bytes = index.toBytes();
  assert.ok(bytes instanceof Uint8Array);
  // Grow wasm memory a lot: views into it would be detached or change.
  const big = new Index({ dim: 256, metric: 'l2' });
  big.addBatch(Array.from({ length: 4000 }, (_, i) => `k${i}`), new Float32Array(4000 * 256).map((_, i) => (i % 97) / 97));
  assert.equal(r.distances.length, 1);
  assert.equal(r.distances[0], 0);
  assert.equal(r.distances.buffer.byteLength, 4, 'distances own their buffer');
  assert.deepEqual(Index.fromBytes(bytes).get('k'), v(1, 2));
  assert.notEqual(bytes.buffer.byteLength, 0);
  big.free();
});

test('addBatch adds all, and fromBytes accepts Uint8Array, ArrayBuffer and Buffer', () => {
  const index = new Index({ dim: 2, metric: 'l2', m: 8, efConstruction: 50, efSearch: 20, seed: 3n });
  index.addBatch(['x', 'y', 'z'], v(0, 0, 1, 1, 2, 2));
  assert.equal(index.size, 3);
  assert.deepEqual(index.get('y'), v(1, 1));
  const bytes = index.toBytes();
  for (const input of [bytes, bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength), Buffer.from(bytes)]) {
    assert.deepEqual(Index.fromBytes(input).search(v(2, 2), 1).keys, ['z']);
  }
});

test('every error code, and nothing changes after a failed call', () => {
  const index = small('cosine');
  const before = index.toBytes();
  const unchanged = () => assert.deepEqual(index.toBytes(), before, 'index changed after a failed call');

  let e = throwsCode(() => index.add('x', v(1, 2)), 'dimension_mismatch');
  assert.equal(e.expected, 3);
  assert.equal(e.got, 2);
  e = throwsCode(() => index.add('x', v(1, NaN, 0)), 'non_finite_value');
  assert.equal(e.index, 1);
  throwsCode(() => index.add('x', v(1, Infinity, 0)), 'non_finite_value');
  throwsCode(() => index.add('x', v(0, 0, 0)), 'zero_vector');
  throwsCode(() => index.add('', v(1, 0, 0)), 'empty_key');
  e = throwsCode(() => index.add('é'.repeat(513), v(1, 0, 0)), 'key_too_long');
  assert.equal(e.length, 1026);
  e = throwsCode(() => index.add('a', v(1, 0, 0)), 'duplicate_key');
  assert.equal(e.key, 'a');
  e = throwsCode(() => index.remove('nope'), 'key_not_found');
  assert.equal(e.key, 'nope');
  throwsCode(() => index.search(v(1, 0, 0), 0), 'invalid_k');
  throwsCode(() => index.search(v(1, 0), 1), 'dimension_mismatch');
  throwsCode(() => index.search(v(0, 0, 0), 1), 'zero_vector');
  // Batches are all or nothing: a bad item anywhere, or a duplicate within.
  throwsCode(() => index.addBatch(['p', 'q'], v(1, 0, 0, 0, 0, 0)), 'zero_vector');
  throwsCode(() => index.addBatch(['p', 'p'], v(1, 0, 0, 0, 1, 0)), 'duplicate_key');
  throwsCode(() => index.addBatch(['p', 'q'], v(1, 0, 0, 0, 1)), 'dimension_mismatch');
  unchanged();
  assert.equal(index.has('p'), false);

  throwsCode(() => new Index({ dim: 0, metric: 'l2' }), 'invalid_config');
  throwsCode(() => new Index({ dim: 3, metric: 'manhattan' }), 'invalid_config');
  throwsCode(() => new Index({ dim: 3, metric: 'l2', quantization: 'i4' }), 'invalid_config');
  throwsCode(() => new Index({ dim: 3, metric: 'l2', m: 1 }), 'invalid_config');
  throwsCode(() => new Index({ dim: 3, metric: 'l2', m: 2.5 }), 'invalid_config');
  throwsCode(() => new Index({ dim: 3, metric: 'l2', ef_construction: 10 }), 'invalid_config');
  throwsCode(() => Index.fromBytes(new Uint8Array([1, 2, 3])), 'invalid_snapshot');
  const corrupt = before.slice();
  corrupt[corrupt.length >> 1] ^= 0xff;
  throwsCode(() => Index.fromBytes(corrupt), 'invalid_snapshot');

  // Wrong JS types: invalid_argument, naming what was expected.
  e = throwsCode(() => index.add('x', [1, 0, 0]), 'invalid_argument');
  assert.match(e.message, /Float32Array/);
  throwsCode(() => index.add('x', new Float64Array(3)), 'invalid_argument');
  throwsCode(() => index.add(7, v(1, 0, 0)), 'invalid_argument');
  throwsCode(() => index.add('\ud800', v(1, 0, 0)), 'invalid_argument');
  throwsCode(() => index.addBatch('abc', v(1, 0, 0)), 'invalid_argument');
  throwsCode(() => index.addBatch(['x', 1], v(1, 0, 0, 0, 1, 0)), 'invalid_argument');
  throwsCode(() => index.search([1, 0, 0], 1), 'invalid_argument');
  throwsCode(() => index.search(v(1, 0, 0), 1.5), 'invalid_argument');
  throwsCode(() => index.search(v(1, 0, 0), '3'), 'invalid_argument');
  throwsCode(() => index.search(v(1, 0, 0), 1, { ef: 0 }), 'invalid_argument');
  throwsCode(() => index.get(null), 'invalid_argument');
  throwsCode(() => Index.fromBytes('snapshot'), 'invalid_argument');
  throwsCode(() => new Index(), 'invalid_argument');
  throwsCode(() => new Index({ dim: '3', metric: 'l2' }), 'invalid_argument');
  throwsCode(() => new Index({ dim: 3, metric: 'l2', seed: -1 }), 'invalid_argument');
  unchanged();
  assert.equal(index.size, 3);
});

test('free() releases; later use throws "freed"; Symbol.dispose frees', () => {
  const index = small();
  index.free();
  index.free(); // twice is fine
  throwsCode(() => index.size, 'freed');
  throwsCode(() => index.search(v(1, 0, 0), 1), 'freed');
  // What `using scoped = small()` does at the end of its block (the syntax
  // itself needs Node >= 24; the symbol exists from Node 20).
  const scoped = small();
  assert.equal(typeof Symbol.dispose, 'symbol');
  scoped[Symbol.dispose]();
  throwsCode(() => scoped.has('a'), 'freed');
});

test('stats() reports counts and bytes', () => {
  const index = small();
  index.remove('c');
  const s = index.stats();
  assert.equal(s.size, 2);
  assert.equal(s.slots, 3);
  assert.equal(s.freeSlots, 1);
  assert.ok(s.totalBytes >= s.vectorBytes + s.linkBytes);
  assert.equal(s.totalBytes, s.vectorBytes + s.linkBytes + s.keyBytes);
  assert.ok(Array.isArray(s.levelHistogram) && s.levelHistogram.length === s.maxLevel + 1);
  assert.ok(s.bytesPerVector > 0);
});

test('the same seed and operations give the same snapshot bytes', () => {
  const a = small();
  const b = small();
  assert.deepEqual(a.toBytes(), b.toBytes());
});
