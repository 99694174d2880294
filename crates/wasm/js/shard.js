// `Shard`: one shard of a cluster, in the calling thread, driven by the
// postcard request protocol (what a `Cluster` worker and a Durable Object
// host), with a streaming snapshot: `saveChunks()` hands out the snapshot
// in chunks and `restoreChunks()` / `beginRestore()` take them one at a
// time, so a checkpoint or a wake-up needs the shard plus one chunk of
// memory. Runs on the Cluster module (vecshard_cluster_bg.wasm), loaded by
// `await Shard.create()`.
import { clusterModule } from './module.js';
import { chunkBytes, chunkIterator, chunkSize, describe, expectedLength, fail, indexOptions, rethrow } from './api.js';

const FROM_RAW = Symbol('vecshard.shardFromRaw');

export class Shard {
  #raw;

  constructor(token, raw) {
    if (token !== FROM_RAW) fail('invalid_argument', 'use `await Shard.create()` to make a Shard');
    this.#raw = raw;
  }

  /** An empty shard (send it a `Create` request, or restore a snapshot). */
  static async create() {
    const { glue } = await clusterModule();
    return new Shard(FROM_RAW, new glue.RawShard());
  }

  /**
   * The encoded `Create` request for index options (`dim`, `metric`, `m`,
   * `efConstruction`, `efSearch`, `quantization`, `seed`).
   */
  static async createRequest(options) {
    const { glue } = await clusterModule();
    const { dim, metric, m, efc, efs, quantization, seed } = indexOptions(options, 'Shard.createRequest(options)');
    try {
      return glue.RawShard.create_request(dim, metric, m, efc, efs, quantization, seed);
    } catch (e) {
      rethrow(e);
    }
  }

  get #live() {
    if (this.#raw === undefined) fail('freed', 'this Shard was freed');
    return this.#raw;
  }

  /** Handles one encoded request; returns the encoded response. */
  handle(request) {
    return this.#live.handle(chunkBytes(request, 'request'));
  }

  /** Whether the last request was a write that succeeded (what a durable owner logs). */
  get logged() {
    return this.#live.logged;
  }

  /** `{ created, dim, metric, quantization, size, indexBytes, attributeBytes, memoryBytes }`. */
  describe() {
    return this.#live.describe();
  }

  /**
   * The shard's snapshot (the data dir's `snapshot.bin` bytes) as chunks of
   * at most `chunkSize` bytes (default 1 MiB); `byteLength` is the total.
   * A write to the shard ends the iteration with `invalid_snapshot`.
   */
  saveChunks(options) {
    const size = chunkSize(options, 'saveChunks');
    const byteLength = this.#live.snapshot_begin();
    if (byteLength < 0) fail('not_initialized', 'the shard has no index yet: send Create or restore a snapshot first');
    return chunkIterator(() => this.#live.snapshot_read(size), byteLength);
  }

  /**
   * Starts a restore: `push(chunk)` each chunk, then `finish()` replaces
   * the shard (the old one serves until then and stays if the snapshot is
   * bad: `invalid_snapshot`).
   */
  beginRestore(options) {
    const raw = this.#live;
    raw.restore_begin(expectedLength(options, 'beginRestore'));
    return {
      push(chunk) {
        const bytes = chunkBytes(chunk);
        try {
          raw.restore_push(bytes);
        } catch (e) {
          rethrow(e);
        }
      },
      finish() {
        try {
          raw.restore_finish();
        } catch (e) {
          rethrow(e);
        }
      },
    };
  }

  /** `beginRestore` fed from an iterable or async iterable of chunks. */
  async restoreChunks(source, options) {
    if (!source || !(Symbol.iterator in source || Symbol.asyncIterator in source))
      fail('invalid_argument', `restoreChunks needs an iterable or async iterable of Uint8Arrays, got ${describe(source)}`);
    const r = this.beginRestore(options);
    for await (const c of source) r.push(c);
    r.finish();
  }

  free() {
    if (this.#raw !== undefined) {
      this.#raw.free();
      this.#raw = undefined;
    }
  }
}
