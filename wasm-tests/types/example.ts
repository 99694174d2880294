// A typed example checked with `tsc --noEmit` against the installed package:
// it must compile, and every `@ts-expect-error` line must really be an error
// (tsc fails if one is not), so the types reject what the runtime rejects.
import init, { Cluster, Index, IndexLoader, Shard, VecshardError, deleteLocal, hashName, initSync, loadLocal, route, saveLocal, stringifyManifest } from 'vecshard';
import type { Attributes, ClusterManifest, ClusterSearchResult, ErrorCode, IndexOptions, IndexStats, SavedCluster, ShardDescription, SearchResult, StorageBackend } from 'vecshard';

export async function example(bytes: Uint8Array): Promise<string[]> {
  await init();
  const options: IndexOptions = { dim: 3, metric: 'cosine', m: 16, efConstruction: 200, quantization: 'i8', seed: 7n };
  const index = new Index(options);
  index.add('apple', new Float32Array([1, 0.1, 0]));
  index.addBatch(['pear', 'car'], new Float32Array([0.9, 0.2, 0.1, 0, 0.1, 1]));
  const isNew: boolean = index.upsert('car', new Float32Array([0, 0, 1]));
  const r: SearchResult = index.search(new Float32Array([1, 0, 0]), 2, { ef: 64 });
  const first: string | undefined = r.keys[0];
  const d: Float32Array = r.distances;
  const v: Float32Array | undefined = index.get('apple');
  const n: number = index.size + index.dim;
  const s: IndexStats = index.stats();
  const snapshot: Uint8Array = index.toBytes();
  const loaded: Index = Index.fromBytes(bytes);
  loaded[Symbol.dispose]();
  index.free();
  try {
    index.remove('apple');
  } catch (e) {
    if (e instanceof VecshardError) {
      const code: ErrorCode = e.code;
      if (code === 'dimension_mismatch') console.log(e.expected, e.got);
    }
  }
  void [isNew, first, d, v, n, s, snapshot];
  return r.keys;
}

export function wrongUses(index: Index, module: WebAssembly.Module): void {
  initSync({ module });
  // @ts-expect-error plain arrays are not accepted: vectors are Float32Array
  index.add('a', [1, 2, 3]);
  // @ts-expect-error unknown metric
  new Index({ dim: 3, metric: 'manhattan' });
  // @ts-expect-error dim is required
  new Index({ metric: 'l2' });
  // @ts-expect-error misspelled option
  new Index({ dim: 3, metric: 'l2', ef_construction: 10 });
  // @ts-expect-error k is required
  index.search(new Float32Array(3));
  // @ts-expect-error size is read-only
  index.size = 3;
  // @ts-expect-error not an error code
  const c: ErrorCode = 'oops';
  void c;
}

export async function clusterExample(): Promise<void> {
  const cluster: Cluster = await Cluster.create({ shards: 4, dim: 3, metric: 'l2', timeout: 5000 });
  const { inserted, updated } = await cluster.addBatch(['a', 'b'], new Float32Array(6));
  const r: ClusterSearchResult = await cluster.search(new Float32Array(3), 10, { ef: 32, strict: false });
  const missing: number[] = r.missingShards;
  const saved: SavedCluster = await cluster.save();
  const again = await Cluster.load(saved);
  const shard: number = route('a', cluster.shards);
  const n: number = await again.size();
  // @ts-expect-error size is a method on Cluster
  const bad: number = again.size;
  // @ts-expect-error the constructor is private: use Cluster.create
  new Cluster();

  // Timings, manifests and persistence.
  const timed = await cluster.search(new Float32Array(3), 10, { timings: true });
  const shardMs: Float64Array | undefined = timed.timings?.shardMs;
  const manifest: ClusterManifest = saved.manifest;
  const efc: number = manifest.settings.ef_construction;
  const seed: number | bigint = manifest.settings.seed;
  const text: string = stringifyManifest(manifest);
  const fromFiles = await Cluster.load({ manifest: text, shards: [new Uint8Array(8).buffer] });
  const { backend, bytes }: { backend: StorageBackend; bytes: number } = await saveLocal('docs', saved, { backend: 'indexeddb' });
  const back: SavedCluster | undefined = await loadLocal('docs');
  if (back) await Cluster.load(back);
  const removed: boolean = await deleteLocal('docs');
  // @ts-expect-error not a backend
  await saveLocal('docs', saved, { backend: 'localStorage' });
  // @ts-expect-error loadLocal may find nothing
  await Cluster.load(await loadLocal('docs'));
  void [inserted, updated, missing, shard, n, bad, hashName(), shardMs, efc, seed, fromFiles, backend, bytes, removed];
  cluster.free();
  again[Symbol.dispose]();
}

// Attributes and filtered search (issue 9).
export async function attributes(): Promise<void> {
  const index = new Index({ dim: 2, metric: 'l2' });
  index.add('a', new Float32Array([0, 0]), { year: 1984, tags: ['x'] });
  index.upsert('a', new Float32Array([0, 1]), null);
  index.addBatch(['b', 'c'], new Float32Array(4), [{ year: 1 }, undefined]);
  index.setAttributes('a', { year: 2000 });
  index.setAttributes('a', null);
  const attrs: Attributes | null = index.getAttributes('a');
  const r = index.search(new Float32Array(2), 5, { filter: '.year > 1950', filterEf: 100, withAttributes: true });
  const first: Attributes | null | undefined = r.attributes?.[0];
  const plan: string | undefined = r.plan;
  // @ts-expect-error a filter is a string expression
  index.search(new Float32Array(2), 5, { filter: { key_prefix: 'a' } });
  // @ts-expect-error attributes are an object, not a string
  index.add('d', new Float32Array(2), 'year=1');
  // @ts-expect-error setAttributes needs the attributes (or null)
  index.setAttributes('a');
  const cluster = await Cluster.create({ dim: 2, metric: 'l2', shards: 2 });
  await cluster.add('a', new Float32Array(2), { year: 1 });
  await cluster.setAttributes('a', { year: 2 });
  const c: Attributes | null = await cluster.getAttributes('a');
  const cr = await cluster.search(new Float32Array(2), 5, { filter: '.year == 2', withAttributes: true });
  const ca: Array<Attributes | null> | undefined = cr.attributes;
  // @ts-expect-error withAttributes is a boolean
  await cluster.search(new Float32Array(2), 5, { withAttributes: 1 });
  void [attrs, first, plan, c, ca];
  cluster.free();
  index.free();
}

// Streaming snapshots (issue 11 § 1).
export async function streaming(): Promise<void> {
  const index = new Index({ dim: 2, metric: 'l2' });
  const chunks = index.saveChunks({ chunkSize: 1 << 20 });
  const total: number = chunks.byteLength;
  const loader = new IndexLoader({ length: total });
  for (const c of chunks) loader.push(c);
  const copy: Index = loader.finish();
  const again: Index = await Index.fromChunks(copy.saveChunks());
  // @ts-expect-error chunks are bytes
  new IndexLoader().push('abc');
  // @ts-expect-error chunkSize is a number
  index.saveChunks({ chunkSize: '1MiB' });
  const shard: Shard = await Shard.create();
  shard.handle(await Shard.createRequest({ dim: 2, metric: 'l2' }));
  const logged: boolean = shard.logged;
  const r = shard.beginRestore();
  for (const c of shard.saveChunks()) r.push(c);
  r.finish();
  const d: ShardDescription = shard.describe();
  void [logged, d, again];
  shard.free();
}
