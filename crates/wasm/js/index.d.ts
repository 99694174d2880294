/// <reference lib="esnext.disposable" />
// Types of the `vecshard` npm package, written by hand (not generated):
// they are the documentation most users read. Every entry point (browser,
// bundler, Node, Deno, workerd) exports exactly this API.

/** How distance is measured. Every distance is "smaller is closer". */
export type Metric =
  /** `1 - cos(a, b)`; vectors are normalized at insert. */
  | 'cosine'
  /** Squared Euclidean distance. */
  | 'l2'
  /** Negated inner product `-a·b`. */
  | 'ip';

/** How vectors are stored. Queries always stay `f32`. */
export type Quantization =
  /** Full precision, 4 bytes per component. */
  | 'f32'
  /** One signed byte per component plus a per-vector scale: 4x smaller, ~1 point of recall. */
  | 'i8'
  /** One bit per component: 32x smaller; only for embeddings trained for it. */
  | 'binary';

/** Options of `new Index(...)`. Names follow the HNSW paper. */
export interface IndexOptions {
  /** Vector dimension, 1..=65536. */
  dim: number;
  metric: Metric;
  /** Links per node on the upper layers (layer 0 keeps `2m`). Default 16, allowed 2..=128. */
  m?: number;
  /** Candidate list size while inserting. Default 200. Higher: better graph, slower build. */
  efConstruction?: number;
  /** Default `ef` of searches that do not pass one. Default 64. */
  efSearch?: number;
  /** Vector storage. Default `'f32'`. */
  quantization?: Quantization;
  /**
   * Seed of the level generator. The same seed and the same sequence of
   * operations give the same graph and the same snapshot bytes.
   */
  seed?: number | bigint;
}

/**
 * An element's attributes: a plain object of JSON values. Numbers,
 * strings, booleans (1/0 to a filter), `null` and flat arrays of scalars
 * are what filters see; a nested object is stored but a filter treats it
 * as missing. At most 64 KiB of JSON.
 */
export type Attributes = { [field: string]: unknown };

export interface SearchOptions {
  /** Size of the candidate list (raised to `k`). Default: the index's `efSearch`. Higher: better recall, slower. */
  ef?: number;
  /**
   * Only elements whose attributes pass this expression (the Redis
   * vector-sets FILTER language, see docs/filters.md), e.g.
   * `'.year > 1950 and .genre == "drama"'`. At most 4096 bytes. Elements
   * without attributes never match a filter, not even `1`. The answer always has
   * `min(k, matches)` hits.
   */
  filter?: string;
  /** Bound on the filtered graph walk's expansions (Redis FILTER-EF), 1..=1000000; a walk that stops short is finished by an exact scan. */
  filterEf?: number;
  /** Return each hit's attributes in `attributes`. */
  withAttributes?: boolean;
}

/** Search results as parallel arrays, nearest first, ties broken by key. */
export interface SearchResult {
  keys: string[];
  /** `distances[i]` belongs to `keys[i]`; full precision even for quantized indexes. */
  distances: Float32Array;
  /** With `withAttributes`: `attributes[i]` belongs to `keys[i]` (`null`: it has none). */
  attributes?: Array<Attributes | null>;
  /**
   * `Index` with `filter`/`filterEf`/`withAttributes`: how the answer was
   * found (`exact`: scan of the matches; `walk`: filtered graph walk;
   * `walk_then_exact`: a walk finished by a scan; `unfiltered`).
   */
  plan?: 'unfiltered' | 'exact' | 'walk' | 'walk_then_exact';
}

/** Counts and memory use of an index. */
export interface IndexStats {
  size: number;
  /** Allocated slots (live + free); removed slots are reused. */
  slots: number;
  freeSlots: number;
  maxLevel: number;
  /** `levelHistogram[l]`: nodes whose top layer is `l`. */
  levelHistogram: number[];
  layer0Links: number;
  upperLinks: number;
  /** Bytes of vector data (codes, scales, norms). */
  vectorBytes: number;
  /** Bytes of the graph. */
  linkBytes: number;
  /** Bytes of the keys. */
  keyBytes: number;
  totalBytes: number;
  bytesPerVector: number;
  /** Elements with attributes (`Index` only). */
  withAttributes?: number;
  /** Bytes of attribute JSON (`Index` only). */
  attributeBytes?: number;
}

/**
 * An HNSW vector index that runs synchronously in the calling thread.
 *
 * Vectors go in and results come out as typed arrays. Inputs are copied:
 * you may reuse or change your arrays after a call returns, and returned
 * arrays are yours (they never alias wasm memory).
 *
 * Any call that throws leaves the index exactly as it was.
 *
 * ```ts
 * const index = new Index({ dim: 3, metric: 'cosine' });
 * index.add('apple', new Float32Array([1, 0.1, 0]));
 * const { keys, distances } = index.search(new Float32Array([1, 0, 0]), 10);
 * ```
 */
export class Index implements Disposable {
  /** @throws {VecshardError} `invalid_config`, `invalid_argument` */
  constructor(options: IndexOptions);

  /**
   * Loads a snapshot written by `toBytes()`, by the native core or by the
   * `vecshard` CLI (the bytes are the same on every platform): a bare core
   * snapshot, or a shard snapshot with attributes (`shard-NNN/snapshot.bin`
   * of a data dir).
   * @throws {VecshardError} `invalid_snapshot` if the bytes are corrupt or not a snapshot.
   */
  static fromBytes(bytes: Uint8Array | ArrayBuffer): Index;

  /**
   * Adds `key` (1..=1024 bytes of UTF-8), with optional attributes.
   * @throws {VecshardError} `duplicate_key` (use `upsert` to replace), `dimension_mismatch`,
   *   `non_finite_value`, `zero_vector` (cosine), `empty_key`, `key_too_long`, `capacity_exceeded`,
   *   `invalid_attributes` (not a plain object of JSON values), `attributes_too_large` (over 64 KiB).
   */
  add(key: string, vector: Float32Array, attributes?: Attributes | null): void;

  /**
   * Adds `key` or replaces the whole element, attributes included (none
   * given: it has none afterwards). Returns `true` if the key was new.
   * Same errors as `add`, minus `duplicate_key`.
   */
  upsert(key: string, vector: Float32Array, attributes?: Attributes | null): boolean;

  /**
   * Adds `keys[i]` with `flat.subarray(i * dim, (i + 1) * dim)`. All or
   * nothing: every item is checked (including duplicates within the batch)
   * before anything is added.
   * `attributes[i]` (optional) belongs to `keys[i]`.
   * @throws {VecshardError} `dimension_mismatch` if `flat.length !== keys.length * dim`, and `add`'s errors.
   */
  addBatch(keys: string[], flat: Float32Array, attributes?: Array<Attributes | null | undefined>): void;

  /**
   * Replaces the attributes of `key` without touching its vector (Redis
   * VSETATTR); `null` clears them.
   * @throws {VecshardError} `key_not_found`, `invalid_attributes`, `attributes_too_large`.
   */
  setAttributes(key: string, attributes: Attributes | null): void;

  /**
   * The attributes of `key`, or `null` if it has none.
   * @throws {VecshardError} `key_not_found`.
   */
  getAttributes(key: string): Attributes | null;

  /**
   * Removes `key`, unlinking it and repairing its neighbours' links.
   * @throws {VecshardError} `key_not_found`.
   */
  remove(key: string): void;

  /** The stored vector (for `i8`/`binary`: reconstructed from the codes), or `undefined`. */
  get(key: string): Float32Array | undefined;

  has(key: string): boolean;

  /** Number of elements. */
  readonly size: number;
  readonly dim: number;
  readonly metric: Metric;
  readonly quantization: Quantization;

  /**
   * The `k` nearest keys to `query`, nearest first.
   * @throws {VecshardError} `invalid_k` (k = 0), `dimension_mismatch`, `non_finite_value`, `zero_vector` (cosine),
   *   `invalid_filter` (a syntax error or unknown operator, with `position`; over 4 KiB; not a string; a bad `filterEf`),
   *   `request_too_large` (k or ef over 10000 with a filter).
   */
  search(query: Float32Array, k: number, options?: SearchOptions): SearchResult;

  /**
   * The snapshot bytes: load them with `Index.fromBytes` here or natively.
   * Without attributes, a bare core snapshot (what the native core writes);
   * once any element has attributes, the shard snapshot container (what a
   * data dir's `shard-NNN/snapshot.bin` holds).
   */
  toBytes(): Uint8Array;

  /**
   * The bytes of `toBytes()` as chunks of at most `chunkSize` bytes
   * (default 1 MiB), encoded as they are asked for, so memory holds the
   * index plus one chunk (not a whole snapshot copy). `byteLength` is the
   * total. A write to the index before the last chunk ends the iteration
   * with `invalid_snapshot`: start again.
   */
  saveChunks(options?: ChunkOptions): SnapshotChunks;

  /**
   * Loads a snapshot from chunks split anywhere (`saveChunks()`, a
   * `ReadableStream`, a Node read stream, ...), one at a time: memory holds
   * the index being built plus one chunk. Bad or truncated bytes reject
   * with `invalid_snapshot`.
   */
  static fromChunks(
    source: Iterable<Uint8Array | ArrayBuffer> | AsyncIterable<Uint8Array | ArrayBuffer> | ReadableStream<Uint8Array>,
    options?: LoaderOptions,
  ): Promise<Index>;

  stats(): IndexStats;

  /**
   * Releases the wasm memory now instead of at garbage collection. Later
   * calls throw `VecshardError` with code `freed`. Calling it twice is fine.
   */
  free(): void;

  /** Same as `free()`, for `using index = new Index(...)`. */
  [Symbol.dispose](): void;
}

/** Options of a streaming save. */
export interface ChunkOptions {
  /** Largest chunk in bytes (1 ..= 64 MiB; default 1 MiB). */
  chunkSize?: number;
}

/** Options of a streaming load. */
export interface LoaderOptions {
  /** The snapshot's total size, if known: checked against the lengths inside before anything is allocated. */
  length?: number;
}

/** The chunks of a streaming save, and their total length. */
export interface SnapshotChunks extends IterableIterator<Uint8Array> {
  readonly byteLength: number;
}

/**
 * Builds an `Index` from snapshot chunks, one `push` at a time. A bad or
 * truncated snapshot throws `invalid_snapshot` (at the `push` that shows
 * it, or at `finish`); after an error, or after `finish`, the loader is done.
 */
export class IndexLoader {
  constructor(options?: LoaderOptions);
  push(chunk: Uint8Array | ArrayBuffer): void;
  /** Bytes taken so far. */
  readonly received: number;
  finish(): Index;
}

/** A restore in progress (`Shard.beginRestore`). */
export interface ShardRestore {
  push(chunk: Uint8Array | ArrayBuffer): void;
  /** Replaces the shard with the one loaded; `invalid_snapshot` (the old shard stays) if the bytes are bad or truncated. */
  finish(): void;
}

/** What `Shard.describe()` reports. */
export interface ShardDescription {
  created: boolean;
  dim?: number;
  metric?: Metric;
  quantization?: Quantization;
  size: number;
  indexBytes: number;
  attributeBytes: number;
  /** The shard's wasm linear memory. */
  memoryBytes?: number;
}

/**
 * One shard of a cluster in the calling thread, driven by the postcard
 * request protocol (what a `Cluster` worker or a Durable Object hosts;
 * ARCHITECTURE.md § crates/shard), with a streaming snapshot. Runs on the
 * Cluster module.
 */
export class Shard {
  private constructor();
  static create(): Promise<Shard>;
  /** The encoded `Create` request for these index options. */
  static createRequest(options: IndexOptions): Promise<Uint8Array>;
  /** Handles one encoded request; returns the encoded response (errors are responses, never throws on bytes). */
  handle(request: Uint8Array | ArrayBuffer): Uint8Array;
  /** Whether the last request was a write that succeeded: what a durable owner logs before it answers. */
  readonly logged: boolean;
  describe(): ShardDescription;
  /** The shard snapshot (a data dir's `snapshot.bin` bytes) in chunks; `not_initialized` before the index exists. */
  saveChunks(options?: ChunkOptions): SnapshotChunks;
  /** Starts a restore; the current shard serves until `finish()`. */
  beginRestore(options?: LoaderOptions): ShardRestore;
  restoreChunks(source: Iterable<Uint8Array | ArrayBuffer> | AsyncIterable<Uint8Array | ArrayBuffer>, options?: LoaderOptions): Promise<void>;
  free(): void;
}

/** Options of `Cluster.create`: the index options plus the shard count. */
export interface ClusterOptions extends IndexOptions {
  /** Number of shards, one worker each (e.g. `navigator.hardwareConcurrency`). */
  shards: number;
  /** Per-request deadline in ms; a shard that misses it counts as missing. Default: none. */
  timeout?: number;
}

export interface ClusterSearchOptions extends SearchOptions {
  /** Reject with `shards_unavailable` instead of answering without a dead shard. Default false. */
  strict?: boolean;
  /** Measure where the time goes (adds `timings` to the result). Default false. */
  timings?: boolean;
}

export interface ClusterSearchResult extends SearchResult {
  /** Whether some shards did not answer (their keys are missing from the result). */
  partial: boolean;
  /** The shards that did not answer, ascending. */
  missingShards: number[];
  /** With `{ timings: true }` only. */
  timings?: {
    /** Milliseconds each shard's worker spent on this search (NaN for a shard that did not answer). */
    shardMs: Float64Array;
    /** Milliseconds from the call to the merged answer (fan-out, messages, the slowest shard, merge). */
    totalMs: number;
  };
}

/** One shard's counts, as `Cluster.stats()` reports them. */
export interface ShardStats {
  size: number;
  indexBytes: number;
  maxLevel: number;
  /** Distance kernels in use (`"simd128"`). */
  kernel: string;
}

/**
 * A saved cluster's manifest: exactly the `cluster.json` of a native data
 * dir (`vecshard build --out DIR`), field names included. Write it with
 * `stringifyManifest` (the same bytes the CLI writes).
 */
export interface ClusterManifest {
  /** Versions of every format involved; a manifest newer than the package is rejected with `unsupported_version`. */
  format: { cluster: number; snapshot: number; core_snapshot: number; wal: number; protocol: number };
  /** Number of shards N. */
  shards: number;
  /** The routing function: `"xxh3_64(key, seed 0) mod N"`. */
  hash: string;
  settings: {
    dim: number;
    metric: Metric;
    m: number;
    ef_construction: number;
    ef_search: number;
    quantization: Quantization;
    /** The cluster's seed (shard `i` uses `seed + i`); a bigint above 2^53. */
    seed: number | bigint;
  };
}

/** What `Cluster.save()` returns and `Cluster.load()` takes. */
export interface SavedCluster {
  manifest: ClusterManifest;
  /** Shard `i`'s snapshot at index `i`: the shard snapshot container, as in `DIR/shard-00i/snapshot.bin`. */
  shards: Uint8Array[];
}

/**
 * What `Cluster.load()` accepts: `save()`'s result, or a native data dir's
 * files as they are (`cluster.json` as text or bytes, each
 * `shard-00i/snapshot.bin` as bytes).
 */
export interface ClusterFiles {
  manifest: ClusterManifest | string | Uint8Array | ArrayBuffer;
  shards: Array<Uint8Array | ArrayBuffer>;
}

/**
 * N shards in Web Workers (browsers, Deno) or worker_threads (Node) that
 * look like one index. Writes go to the shard that owns the key
 * (`xxh3_64(key) mod N`); queries go to every shard at once and the top-k
 * lists are merged by `(distance, key)`. Routing and merging are the Rust
 * coordinator's, compiled into this package. Requests travel as bytes in
 * transferred ArrayBuffers, so no SharedArrayBuffer or special headers.
 *
 * Differences from `Index`: every method is async, `add`/`addBatch`
 * replace existing keys (upsert) instead of failing with `duplicate_key`,
 * and `size()` is a method.
 */
export class Cluster implements Disposable {
  private constructor();

  /** Starts `options.shards` workers, each with an empty index (shard `i` seeded `seed + i`). */
  static create(options: ClusterOptions): Promise<Cluster>;

  /**
   * Starts workers and restores each shard from `saved.shards[i]`: a
   * `save()` result, `loadLocal()`'s, or a data dir built by the native
   * `vecshard` CLI. @throws `invalid_snapshot`, `unsupported_version`
   */
  static load(saved: SavedCluster | ClusterFiles, options?: { timeout?: number }): Promise<Cluster>;

  readonly shards: number;
  /** The workers, shard `i` at index `i` (for monitoring; terminating one makes its shard missing). */
  readonly workers: readonly unknown[];

  /** Adds or replaces `key` (attributes included); resolves `true` if it was new. */
  add(key: string, vector: Float32Array, attributes?: Attributes | null): Promise<boolean>;
  /** Same as `add`. */
  upsert(key: string, vector: Float32Array, attributes?: Attributes | null): Promise<boolean>;
  /**
   * Adds or replaces every key; each shard gets its part in one message.
   * Everything is validated before any shard sees it: bad input changes nothing.
   */
  addBatch(keys: string[], flat: Float32Array, attributes?: Array<Attributes | null | undefined>): Promise<{ inserted: number; updated: number }>;
  /** Replaces (or with `null` clears) the attributes of `key` on its shard. @throws `key_not_found`, `invalid_attributes`, `attributes_too_large` */
  setAttributes(key: string, attributes: Attributes | null): Promise<void>;
  /** The attributes of `key`, or `null`. @throws `key_not_found` */
  getAttributes(key: string): Promise<Attributes | null>;
  /** @throws `key_not_found` */
  remove(key: string): Promise<void>;
  get(key: string): Promise<Float32Array | undefined>;
  has(key: string): Promise<boolean>;
  /** Total elements over all shards. @throws `shard_unavailable` if a shard is down. */
  size(): Promise<number>;
  /** The global top `k`. A dead shard makes the answer `partial` (or rejects in `strict` mode). */
  search(query: Float32Array, k: number, options?: ClusterSearchOptions): Promise<ClusterSearchResult>;
  /** Per shard: its stats, or the `VecshardError` of a shard that did not answer. */
  stats(): Promise<Array<ShardStats | VecshardError>>;
  /** Every shard's snapshot plus a manifest. */
  save(): Promise<SavedCluster>;
  /** Stops the workers and frees the coordinator. */
  free(): void;
  [Symbol.dispose](): void;
}

/** The shard that owns `key` in a cluster of `n` shards: `xxh3_64(key bytes, seed 0) mod n`. */
export function route(key: string, n: number): number;

/** The routing function's name, as recorded in manifests. */
export function hashName(): string;

/**
 * `cluster.json` text for a manifest: two-space JSON with a final newline,
 * byte for byte what the native CLI writes (a bigint seed as bare digits).
 */
export function stringifyManifest(manifest: ClusterManifest): string;

/** Where `saveLocal` and friends keep clusters. */
export type StorageBackend = 'opfs' | 'indexeddb' | 'fs';

export interface StorageOptions {
  /**
   * `'auto'` (default): the file system in Node and Deno; in browsers OPFS
   * (sync access handles in a worker), falling back to IndexedDB when OPFS
   * is missing or refuses (e.g. some private windows).
   */
  backend?: 'auto' | StorageBackend;
}

/**
 * Saves a `cluster.save()` result under `name`, in the native data dir
 * layout (`name/cluster.json`, `name/shard-000/snapshot.bin`, ...). In
 * browsers `name` is one folder name (kept in OPFS under `vecshard/`, or in
 * the IndexedDB database `vecshard`); in Node and Deno it is a directory
 * path, and the directory is a data dir `vecshard serve --data` can open.
 * The manifest is written last, so an interrupted save reads back as absent.
 * Replaces an earlier save of the same name.
 *
 * In Node and Deno the save first takes every shard's `shard-NNN/lock`
 * with flock(2), as a running `vecshard serve` holds them, through a
 * `bash` + util-linux `flock(1)` child process; while any is held it fails
 * with `data_dir_locked` and writes nothing. Where `flock(1)` is missing
 * (macOS, Windows) the save runs unlocked and resolves `locked: false`.
 * @throws `storage_unavailable` (no backend here, e.g. workerd), `storage_error` (quota, permissions, I/O),
 *   `data_dir_locked` (a running vecshard process holds the data dir)
 */
export function saveLocal(name: string, saved: SavedCluster, options?: StorageOptions): Promise<{ backend: StorageBackend; bytes: number; locked?: boolean }>;

/**
 * The cluster saved under `name` (or, in Node/Deno, the data dir at that
 * path, e.g. one `vecshard build` wrote), ready for `Cluster.load`;
 * `undefined` if there is none. A native data dir with writes still in a
 * shard's `wal.log` is refused (`invalid_snapshot`): run `vecshard
 * checkpoint` first.
 */
export function loadLocal(name: string, options?: StorageOptions): Promise<SavedCluster | undefined>;

/** Deletes the cluster saved under `name` (only the files a save writes); resolves whether there was one. @throws `data_dir_locked` as `saveLocal` */
export function deleteLocal(name: string, options?: StorageOptions): Promise<boolean>;

/** The stable `code` of every error the package throws. */
export type ErrorCode =
  | 'invalid_config'
  | 'dimension_mismatch'
  | 'non_finite_value'
  | 'zero_vector'
  | 'empty_key'
  | 'key_too_long'
  | 'duplicate_key'
  | 'key_not_found'
  | 'invalid_k'
  | 'capacity_exceeded'
  | 'invalid_snapshot'
  /** A JS argument of the wrong type (e.g. a plain array where a Float32Array is needed). */
  | 'invalid_argument'
  /** The index or cluster was used after `free()`. */
  | 'freed'
  // Cluster only:
  /** A shard's worker is gone (terminated, crashed, or failed to start). */
  | 'shard_unavailable'
  /** A shard missed the `timeout`. */
  | 'shard_timeout'
  /** A shard's wasm instance trapped; its worker was stopped. */
  | 'shard_trapped'
  /** A shard answered something unexpected. */
  | 'shard_protocol'
  /** `strict` search (or no shard at all) could not reach every shard; see `shards`. */
  | 'shards_unavailable'
  | 'malformed_request'
  | 'unsupported_version'
  | 'not_initialized'
  | 'settings_mismatch'
  | 'attributes_too_large'
  /** Attributes that are not a plain object of JSON values. */
  | 'invalid_attributes'
  /** A filter that does not compile (`position`), is over 4 KiB, is not a string, or a bad `filterEf`. */
  | 'invalid_filter'
  /** `k`, `ef` (with a filter) or a batch over the shard's limits. */
  | 'request_too_large'
  | 'value_out_of_range'
  | 'internal'
  // saveLocal / loadLocal / deleteLocal:
  /** No storage backend in this runtime (or not the one asked for). */
  | 'storage_unavailable'
  /** The backend failed (quota, permissions, I/O); the message has the browser's or the OS's reason. */
  | 'storage_error'
  /** `saveLocal`/`deleteLocal` into a data dir whose shard lock a running vecshard process holds. */
  | 'data_dir_locked';

/**
 * What every failed call throws. The message says what to do; match on
 * `code`, which is stable across releases.
 */
export class VecshardError extends Error {
  readonly name: 'VecshardError';
  readonly code: ErrorCode;
  /** `dimension_mismatch`: the index dimension. */
  readonly expected?: number;
  /** `dimension_mismatch`: the length that was passed. */
  readonly got?: number;
  /** `non_finite_value`: position of the first NaN or infinity. */
  readonly index?: number;
  /** `key_too_long`: the key's length in UTF-8 bytes. */
  readonly length?: number;
  /** `duplicate_key`, `key_not_found`: the key. */
  readonly key?: string;
  /** Cluster errors: the shards concerned. */
  readonly shards?: number[];
  /** `storage_error`: the backend that failed. */
  readonly backend?: StorageBackend;
  /** `invalid_filter`: byte offset of the problem in the expression. */
  readonly position?: number;
  /** `data_dir_locked`: the shard folder whose lock is held. */
  readonly path?: string;
}

/** What `init` accepts: where to get the .wasm, or the module itself. */
export type InitInput = string | URL | Request | Response | BufferSource | WebAssembly.Module;

/**
 * Instantiates the wasm module. Needed once in browsers and bundlers
 * before the first `new Index(...)`; with no argument it fetches the
 * `.wasm` that ships next to the package's JS. In Node, Deno and workerd
 * the module is ready at import time and this resolves at once.
 * `Cluster` runs on a second module, `vecshard_cluster_bg.wasm`, fetched
 * only when the first Cluster starts; `clusterInput` says where to get it
 * (default: next to the package's JS).
 */
export default function init(input?: InitInput | Promise<InitInput>, clusterInput?: InitInput | Promise<InitInput>): Promise<void>;
export { init };

/**
 * Instantiates synchronously from a compiled module or bytes (runtimes that
 * forbid compiling at run time pass a precompiled `WebAssembly.Module`).
 * A no-op in Node, Deno and workerd, where the module is already loaded.
 */
export function initSync(input: { module: BufferSource | WebAssembly.Module } | BufferSource | WebAssembly.Module, clusterInput?: InitInput | Promise<InitInput>): void;
