// The budget of the Index module (issue 9): what a user of `Index`
// downloads, vecshard_bg.wasm, must stay within 100 KB gzipped (level 9,
// Node's zlib). The Cluster module (vecshard_cluster_bg.wasm) is loaded
// only by `Cluster` and has no budget; its size is printed to keep an eye
// on it. Where the bytes go, and what keeps them out (no `{:?}` of a
// string, no `str` slicing that can panic, no `f64::from_str`, no std sort
// instances on the Index's paths): ARCHITECTURE.md § crates/wasm, "Size".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { packageDir } from '../lib/proc.mjs';

const BUDGET = 100_000;

function sizes() {
  const size = (f) => {
    const b = readFileSync(join(packageDir(), f));
    return { raw: b.length, gz: gzipSync(b, { level: 9 }).length };
  };
  return { index: size('vecshard_bg.wasm'), cluster: size('vecshard_cluster_bg.wasm') };
}

test('the Index module is within 100 KB gzipped', () => {
  const { index, cluster } = sizes();
  console.log(
    `vecshard_bg.wasm (Index): ${index.raw} bytes, ${index.gz} gzipped (budget ${BUDGET}); ` +
      `vecshard_cluster_bg.wasm (Cluster): ${cluster.raw} bytes, ${cluster.gz} gzipped`,
  );
  assert.ok(
    index.gz <= BUDGET,
    `the Index module is ${index.gz} bytes gzipped, over its budget of ${BUDGET}: see ARCHITECTURE.md § crates/wasm, "Size", for what grows it`,
  );
});
