// Readers for the TEXMEX files in ../shared/data (see its README) and the
// paths the tests share. Datasets are read in place, never copied.
// Defaults are relative to wasm-tests/lib/; scripts/test-js.sh sets the
// variables for the copies it runs from wasm-tests/.work/proj/.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const DATA = process.env.VECSHARD_DATA ?? new URL('../../../shared/data', import.meta.url).pathname;
export const ROUTING = process.env.VECSHARD_ROUTING ?? new URL('../../crates/coordinator/tests/golden/routing.tsv', import.meta.url).pathname;
export const WASM_GOLDEN = process.env.VECSHARD_WASM_GOLDEN ?? new URL('../../crates/wasm/tests/golden', import.meta.url).pathname;
export const GOLDEN = process.env.VECSHARD_GOLDEN ?? new URL('../../crates/core/tests/golden', import.meta.url).pathname;

/** Reads `.fvecs` into one flat Float32Array; returns { dim, n, flat }. */
export function readFvecs(path) {
  return readVecs(path, Float32Array);
}

/** Reads `.ivecs` into an array of Int32Array rows. */
export function readIvecs(path) {
  const { dim, n, flat } = readVecs(path, Int32Array);
  return Array.from({ length: n }, (_, i) => flat.subarray(i * dim, (i + 1) * dim));
}

function readVecs(path, Type) {
  const buf = readFileSync(path);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const dim = view.getInt32(0, true);
  const rec = 4 + 4 * dim;
  if (dim <= 0 || buf.byteLength % rec !== 0) throw new Error(`${path}: not a vecs file`);
  const n = buf.byteLength / rec;
  const flat = new Type(n * dim);
  for (let i = 0; i < n; i++) {
    if (view.getInt32(i * rec, true) !== dim) throw new Error(`${path}: record ${i} has another dimension`);
    for (let j = 0; j < dim; j++) {
      flat[i * dim + j] = Type === Float32Array ? view.getFloat32(i * rec + 4 + 4 * j, true) : view.getInt32(i * rec + 4 + 4 * j, true);
    }
  }
  return { dim, n, flat };
}

/** A dataset folder: base, queries, ground truth and metric. */
export function loadDataset(name) {
  const dir = join(DATA, name);
  const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8'));
  const base = readFvecs(join(dir, 'base.fvecs'));
  const query = readFvecs(join(dir, 'query.fvecs'));
  const gt = readIvecs(join(dir, 'groundtruth.ivecs'));
  const metric = { cosine: 'cosine', angular: 'cosine', l2: 'l2', euclidean: 'l2', ip: 'ip' }[meta.metric];
  return { name, dir, meta, metric, dim: base.dim, base, query, gt };
}

/** Row `i` of a flat array. */
export function row({ dim, flat }, i) {
  return flat.subarray(i * dim, (i + 1) * dim);
}

/** Recall@k of `found` (ids as numbers or numeric strings) against `truth`. */
export function recallAt(k, found, truth) {
  const want = new Set(Array.from(truth.subarray(0, k)));
  let hit = 0;
  for (const id of found.slice(0, k)) if (want.has(Number(id))) hit++;
  return hit / k;
}
