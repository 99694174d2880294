// Streaming snapshots in the npm package (issue 11 § 1): `Index.saveChunks`
// / `IndexLoader` / `Index.fromChunks` and `Shard.saveChunks` /
// `Shard.beginRestore`. The chunks are exactly the bytes of `toBytes()` /
// the shard's Snapshot, split anywhere; a load from random splits answers
// like the original; truncated or damaged input is a typed VecshardError.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Index, IndexLoader, Shard, VecshardError } from 'vecshard';

const SEED = Number(process.env.VECSHARD_TEST_SEED ?? Date.now() % 1_000_000);
console.log(`# stream tests seed ${SEED} (VECSHARD_TEST_SEED=${SEED} to replay)`);

function rng(seed) {
  let s = BigInt(seed) || 1n;
  return () => {
    s = (s * 6364136223846793005n + 1442695040888963407n) & 0xffffffffffffffffn;
    return Number(s >> 33n) / 2 ** 31;
  };
}

const DIM = 24;
function build(next, n, { attrs = false, quantization = 'f32' } = {}) {
  const index = new Index({ dim: DIM, metric: 'cosine', quantization, seed: 3 });
  for (let i = 0; i < n; i++) {
    const v = new Float32Array(DIM).map(() => next() * 2 - 1);
    index.add(`key-${i}`, v, attrs && i % 3 === 0 ? { i, tag: `t${i % 5}` } : undefined);
  }
  return index;
}

const concat = (chunks) => {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
};

/** Splits `bytes` at random points (chunk sizes 1 .. max). */
function randomSplit(bytes, next, max) {
  const out = [];
  for (let at = 0; at < bytes.length; ) {
    const n = 1 + Math.floor(next() * max);
    out.push(bytes.subarray(at, at + n));
    at += n;
  }
  return out;
}

for (const attrs of [false, true]) {
  test(`Index: saveChunks gives the bytes of toBytes, and random splits load back (attributes: ${attrs})`, async () => {
    const next = rng(SEED + (attrs ? 1 : 0));
    const index = build(next, 1500, { attrs, quantization: attrs ? 'i8' : 'f32' });
    index.remove('key-7');
    const whole = index.toBytes();
    for (const chunkSize of [13, 4096, 1 << 20]) {
      const it = index.saveChunks(chunkSize === 1 << 20 ? undefined : { chunkSize });
      assert.equal(it.byteLength, whole.length);
      const chunks = [...it];
      assert.ok(chunks.every((c) => c instanceof Uint8Array && c.length <= chunkSize));
      assert.deepEqual(concat(chunks), whole, `chunkSize ${chunkSize}`);
    }
    const q = new Float32Array(DIM).map(() => next() - 0.5);
    const want = index.search(q, 10, { ef: 100 });
    for (let round = 0; round < 5; round++) {
      const pieces = randomSplit(whole, next, round === 0 ? 3 : 50_000);
      const loader = new IndexLoader(round % 2 ? { length: whole.length } : undefined);
      for (const p of pieces) loader.push(p);
      assert.equal(loader.received, whole.length);
      const copy = loader.finish();
      assert.deepEqual(copy.search(q, 10, { ef: 100 }), want);
      assert.equal(copy.size, index.size);
      assert.deepEqual(copy.toBytes(), whole);
      if (attrs) assert.deepEqual(copy.getAttributes('key-3'), { i: 3, tag: 't3' });
      copy.free();
    }
    // fromChunks takes the save directly, and an async iterable, and a ReadableStream.
    const a = await Index.fromChunks(index.saveChunks({ chunkSize: 1000 }));
    assert.deepEqual(a.toBytes(), whole);
    const b = await Index.fromChunks((async function* () {
      yield* randomSplit(whole, next, 999);
    })());
    assert.deepEqual(b.toBytes(), whole);
    const c = await Index.fromChunks(new ReadableStream({ start(ctl) { for (const p of randomSplit(whole, next, 10_000)) ctl.enqueue(p); ctl.close(); } }));
    assert.deepEqual(c.toBytes(), whole);
  });
}

test('Index: truncated, damaged or oversized chunks are invalid_snapshot; a write ends a save', () => {
  const next = rng(SEED + 2);
  const index = build(next, 300, { attrs: true });
  const whole = index.toBytes();
  for (const cut of [0, 5, 20, Math.floor(whole.length / 2), whole.length - 1]) {
    const loader = new IndexLoader();
    let err;
    try {
      for (const p of randomSplit(whole.subarray(0, cut), next, 64)) loader.push(p);
      loader.finish();
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof VecshardError, `cut at ${cut}: ${err}`);
    assert.equal(err.code, 'invalid_snapshot', `cut at ${cut}`);
  }
  // A flipped byte fails the checksum (at the latest at finish).
  const bad = whole.slice();
  bad[Math.floor(bad.length / 3)] ^= 0x40;
  assert.throws(() => {
    const l = new IndexLoader();
    for (const p of randomSplit(bad, next, 100)) l.push(p);
    l.finish();
  }, (e) => e instanceof VecshardError && e.code === 'invalid_snapshot');
  // More bytes than the declared length.
  assert.throws(() => {
    const l = new IndexLoader({ length: whole.length - 10 });
    l.push(whole);
    l.finish();
  }, (e) => e instanceof VecshardError && e.code === 'invalid_snapshot');
  // A finished loader is done; wrong types are invalid_argument.
  const l = new IndexLoader();
  l.push(whole);
  l.finish().free();
  assert.throws(() => l.push(whole), (e) => e.code === 'invalid_argument');
  assert.throws(() => new IndexLoader().push([1, 2]), (e) => e.code === 'invalid_argument');
  assert.throws(() => index.saveChunks({ chunkSize: 0 }), (e) => e.code === 'invalid_argument');
  // A write between two chunks ends the save.
  const it = index.saveChunks({ chunkSize: 100 });
  it.next();
  index.add('late', new Float32Array(DIM).fill(0.5));
  assert.throws(() => it.next(), (e) => e instanceof VecshardError && e.code === 'invalid_snapshot');
  assert.equal(concat([...index.saveChunks()]).length, index.toBytes().length);
});

test('Shard: saveChunks / beginRestore stream the shard snapshot; a bad stream leaves the shard as it was', async () => {
  const next = rng(SEED + 3);
  const source = build(next, 800, { attrs: true });
  const whole = source.toBytes();
  // A shard restored from the Index's container, through random splits.
  const shard = await Shard.create();
  assert.equal(shard.describe().created, false);
  assert.throws(() => shard.saveChunks(), (e) => e.code === 'not_initialized');
  const r = shard.beginRestore({ length: whole.length });
  for (const p of randomSplit(whole, next, 5000)) r.push(p);
  r.finish();
  const d = shard.describe();
  assert.equal(d.size, 800);
  assert.equal(d.dim, DIM);
  assert.ok(d.memoryBytes >= d.indexBytes);
  // Its snapshot (the data dir's snapshot.bin format) streams out and back.
  const it = shard.saveChunks({ chunkSize: 4096 });
  const chunks = [...it];
  assert.ok(chunks.every((c) => c.length <= 4096));
  const snap = concat(chunks);
  assert.equal(snap.length, it.byteLength);
  const copy = await Shard.create();
  await copy.restoreChunks(randomSplit(snap, next, 777));
  assert.deepEqual(concat([...copy.saveChunks()]), snap);
  // ... and loads into an Index too, with the same answers.
  const q = new Float32Array(DIM).map(() => next() - 0.5);
  const viaShard = await Index.fromChunks([snap]);
  assert.deepEqual(viaShard.search(q, 5, { ef: 80 }).keys, source.search(q, 5, { ef: 80 }).keys);
  // A truncated restore is refused and the old shard stays.
  const bad = copy.beginRestore();
  bad.push(snap.subarray(0, snap.length - 9));
  assert.throws(() => bad.finish(), (e) => e instanceof VecshardError && e.code === 'invalid_snapshot');
  assert.equal(copy.describe().size, 800);
  // Shard.createRequest + handle: a Create is a logged write, a bad request is not.
  const fresh = await Shard.create();
  fresh.handle(await Shard.createRequest({ dim: 4, metric: 'l2' }));
  assert.equal(fresh.logged, true);
  assert.equal(fresh.describe().created, true);
  fresh.handle(new Uint8Array([1, 200, 7]));
  assert.equal(fresh.logged, false);
  for (const s of [shard, copy, fresh]) s.free();
});
