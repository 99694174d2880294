// Snapshot interop with the native core: the golden files of format v1
// (written by crates/core's tests on x86_64) load here and answer the same
// queries with the same keys; and the same operations in wasm write the
// same bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Index } from 'vecshard';
import { GOLDEN } from '../lib/data.mjs';

const QUERY = new Float32Array([0.1, 0.2, 0.3, 0.4]);

// crates/core/tests/common: xorshift64 and its f32 in [-1, 1).
class Rng {
  constructor(seed) { this.s = BigInt(seed); }
  next() {
    const M = (1n << 64n) - 1n;
    this.s ^= (this.s << 13n) & M;
    this.s ^= this.s >> 7n;
    this.s ^= (this.s << 17n) & M;
    return this.s;
  }
  vec(dim) {
    return Float32Array.from({ length: dim }, () => Number(this.next() >> 40n) / 2 ** 24 * 2 - 1);
  }
}

// crates/core/tests/snapshot.rs `small()`: the recipe of the golden files.
function small(metric, quantization) {
  const rng = new Rng(3);
  const index = new Index({ dim: 4, metric, m: 4, efConstruction: 32, quantization, seed: 1 });
  for (let i = 0; i < 40; i++) index.add(String(i), rng.vec(4));
  for (let i = 10; i < 15; i++) index.remove(String(i));
  return index;
}

for (const [name, metric, quantization] of [['v1_l2_f32', 'l2', 'f32'], ['v1_cosine_i8', 'cosine', 'i8']]) {
  test(`native golden ${name} loads in wasm and answers like native`, () => {
    const bytes = new Uint8Array(readFileSync(join(GOLDEN, `${name}.bin`)));
    const want = readFileSync(join(GOLDEN, `${name}.expected`), 'utf8').trim().split('\n').map((l) => l.split(' '));
    const index = Index.fromBytes(bytes);
    assert.equal(index.size, 35);
    assert.equal(index.metric, metric);
    assert.equal(index.quantization, quantization);
    assert.deepEqual(index.toBytes(), bytes, 're-encoding changed the bytes');
    const got = index.search(QUERY, 5);
    assert.deepEqual(got.keys, want.map(([k]) => k));
    want.forEach(([, d], i) => assert.ok(Math.abs(got.distances[i] - Number(d)) < 1e-4, `${got.distances[i]} vs ${d}`));
  });

  // The native build of the same operations (crates/core/tests/snapshot.rs
  // pins it): the v1 golden pins the format, this the build.
  test(`the same operations in wasm write the native build bytes (${name})`, () => {
    const native = new Uint8Array(readFileSync(join(GOLDEN, `build_${name.slice(3)}.bin`)));
    assert.deepEqual(small(metric, quantization).toBytes(), native);
  });
}

test('a wasm snapshot round-trips through bytes for every metric and quantization', () => {
  const rng = new Rng(17);
  for (const metric of ['cosine', 'l2', 'ip']) {
    for (const quantization of ['f32', 'i8', 'binary']) {
      const index = new Index({ dim: 24, metric, quantization, seed: 9 });
      for (let i = 0; i < 300; i++) index.add(`key-${i}`, rng.vec(24));
      for (let i = 0; i < 300; i += 7) index.remove(`key-${i}`);
      const bytes = index.toBytes();
      const back = Index.fromBytes(bytes);
      assert.deepEqual(back.toBytes(), bytes);
      for (let j = 0; j < 10; j++) {
        const q = rng.vec(24);
        assert.deepEqual(back.search(q, 10), index.search(q, 10), `${metric}/${quantization}`);
      }
    }
  }
});
