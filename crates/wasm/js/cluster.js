// `Cluster`: N shards, one per worker (Web Workers in browsers and Deno,
// worker_threads in Node), that look like one index.
//
// Division of labour: every decision is made by the Rust coordinator
// compiled into this package (`RawCluster`: validation, routing by
// xxh3_64(key) mod N, fan-out, the (distance, key) merge, partial results).
// This file only owns the workers: it starts them, hands each the compiled
// WebAssembly.Module, and moves request/response bytes (postcard, the shard
// protocol) with transferred ArrayBuffers. No SharedArrayBuffer, so no
// cross-origin-isolation headers are needed.
//
// The coordinator and the shards run on the package's second module,
// vecshard_cluster_bg.wasm (module.js): compiled and instantiated here when
// the first Cluster starts, and posted to each worker.
import { route as rawRoute, hashName as rawHashName } from './vecshard.js';
import { clusterModule } from './module.js';
import {
  attributesText,
  batchAttributes,
  checkCount,
  checkKey,
  checkVector,
  describe,
  fail,
  indexOptions,
  parseAttributes,
  rethrow,
  searchFilter,
  unpack,
} from './api.js';
import { makeManifest, manifestOptions, parseManifest } from './manifest.js';

const DISPOSE = Symbol.dispose ?? Symbol.for('Symbol.dispose');
const TOKEN = Symbol('vecshard.cluster');

/** The error a dead or silent worker produces; the Rust transport reads its `code`. */
function transportError(code, message) {
  const e = new Error(message);
  e.code = code;
  return e;
}

/** One worker, its pending requests, and how it died (if it did). */
class ShardWorker {
  #pending = new Map();
  #nextId = 1;
  #dead;
  #timeout;

  constructor(index, worker, timeout) {
    this.index = index;
    this.worker = worker;
    this.#timeout = timeout;
    this.isNode = typeof worker.on === 'function';
    // A Web Worker stopped with terminate() fires no event, so a shard
    // whose worker someone terminated would never answer. Route terminate()
    // through #die so its pending and later requests fail at once.
    const terminate = worker.terminate.bind(worker);
    worker.terminate = () => {
      const r = terminate();
      this.#die('shard_unavailable', 'the worker was terminated');
      return r;
    };
    if (this.isNode) {
      worker.on('message', (m) => this.#onMessage(m));
      worker.on('error', (e) => this.#die('shard_unavailable', `worker error: ${e?.message ?? e}`));
      worker.on('exit', (code) => this.#die('shard_unavailable', `worker exited (code ${code})`));
    } else {
      worker.onmessage = (e) => this.#onMessage(e.data);
      worker.onerror = (e) => {
        e.preventDefault?.();
        this.#die('shard_unavailable', `worker error: ${e?.message ?? e}`);
      };
      worker.onmessageerror = () => this.#die('shard_unavailable', 'a message could not be deserialized');
    }
  }

  static async spawn(index, module, timeout) {
    let worker;
    if (typeof Worker === 'function') {
      // The literal `new Worker(new URL(..., import.meta.url))` is what
      // bundlers recognise to emit the worker script as an asset.
      worker = new Worker(new URL('./cluster-worker.js', import.meta.url), { type: 'module', name: `vecshard shard ${index}` });
    } else if (typeof process === 'object' && process.versions?.node) {
      const { Worker: NodeWorker } = await import('node:worker_threads');
      worker = new NodeWorker(new URL('./cluster-worker.js', import.meta.url), { name: `vecshard shard ${index}` });
    } else {
      fail('invalid_config', 'Cluster needs Web Workers or Node worker_threads, and this runtime has neither; use Index, one per isolate');
    }
    const sw = new ShardWorker(index, worker, timeout);
    await sw.#init(module);
    return sw;
  }

  #init(module) {
    return new Promise((resolve, reject) => {
      this.#pending.set(0, {
        resolve,
        reject: (e) => reject(e),
      });
      this.worker.postMessage({ type: 'init', module });
    }).finally(() => this.#idle());
  }

  #idle() {
    // Node: an idle worker must not keep the process alive.
    if (this.isNode && this.#pending.size === 0) this.worker.unref();
  }

  #onMessage(m) {
    if (m?.type === 'ready' || m?.type === 'fatal') {
      const p = this.#pending.get(0);
      this.#pending.delete(0);
      if (m.type === 'ready') p?.resolve();
      else {
        p?.reject(transportError('shard_unavailable', `shard ${this.index} could not start: ${m.message}`));
        this.terminate();
      }
      return;
    }
    const p = this.#pending.get(m?.id);
    if (!p) return;
    this.#pending.delete(m.id);
    clearTimeout(p.timer);
    if (m.trapped !== undefined) {
      p.reject(transportError('shard_trapped', `shard ${this.index} trapped: ${m.trapped}; its worker was stopped`));
      this.#die('shard_unavailable', `shard ${this.index} trapped earlier (${m.trapped})`);
    } else {
      if (p.timings) p.timings[this.index] = m.ms;
      p.resolve(new Uint8Array(m.bytes));
    }
    this.#idle();
  }

  #die(code, reason) {
    if (this.#dead) return;
    this.#dead = { code, reason };
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.reject(transportError(code, reason));
    }
    this.#pending.clear();
    try {
      this.worker.terminate();
    } catch {
      // already gone
    }
  }

  get alive() {
    return !this.#dead;
  }

  /**
   * Posts request bytes (transferring their buffer); resolves with the
   * response bytes. `timings` (a search's tag): where the worker's time goes.
   */
  send(bytes, timings) {
    if (this.#dead) return Promise.reject(transportError('shard_unavailable', `shard ${this.index} is down: ${this.#dead.reason}`));
    if (bytes.byteOffset !== 0 || bytes.byteLength !== bytes.buffer.byteLength) bytes = bytes.slice();
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const p = { resolve, reject, timings: timings instanceof Float64Array ? timings : undefined };
      if (this.#timeout !== undefined) {
        p.timer = setTimeout(() => {
          this.#pending.delete(id);
          reject(transportError('shard_timeout', `shard ${this.index} did not answer within ${this.#timeout} ms`));
          this.#idle();
        }, this.#timeout);
      }
      if (this.isNode && this.#pending.size === 0) this.worker.ref();
      this.#pending.set(id, p);
      this.worker.postMessage({ id, bytes: bytes.buffer }, [bytes.buffer]);
    });
  }

  terminate() {
    this.#die('shard_unavailable', 'the cluster was closed');
  }
}

async function spawnAll(n, timeout, module) {
  const started = await Promise.allSettled(Array.from({ length: n }, (_, i) => ShardWorker.spawn(i, module, timeout)));
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) {
    for (const s of started) if (s.status === 'fulfilled') s.value.terminate();
    rethrow(failed.reason);
  }
  return started.map((s) => s.value);
}

function checkTimeout(timeout) {
  if (timeout === undefined) return undefined;
  return checkCount(timeout, 'options.timeout', { min: 1 });
}

/**
 * N shards in workers behind one coordinator. Asynchronous; see
 * index.d.ts for the documentation of each method.
 */
export class Cluster {
  #raw;
  #workers;

  constructor(token, raw, workers) {
    if (token !== TOKEN) fail('invalid_argument', 'use `await Cluster.create(options)` or `await Cluster.load(saved)`');
    this.#raw = raw;
    this.#workers = workers;
  }

  static async create(options) {
    const o = indexOptions(options, 'Cluster.create(options)', ['shards', 'timeout']);
    const n = checkCount(options.shards, 'options.shards', { min: 1 });
    return Cluster.#start(n, o, checkTimeout(options.timeout), (raw) => raw.create());
  }

  static async load(saved, options = {}) {
    if (typeof saved !== 'object' || saved === null || !Array.isArray(saved.shards))
      fail('invalid_argument', `Cluster.load needs { manifest, shards: Uint8Array[] } as save() returns it, got ${describe(saved)}`);
    // The manifest may also be cluster.json as the native CLI wrote it (text or bytes).
    const manifest = parseManifest(saved.manifest);
    const shards = saved.shards.map((b, i) => {
      if (b instanceof ArrayBuffer) return new Uint8Array(b);
      if (!(b instanceof Uint8Array)) fail('invalid_argument', `shards[${i}] must be a Uint8Array, got ${describe(b)}`);
      return b;
    });
    if (manifest.shards !== shards.length)
      fail('invalid_snapshot', `the manifest names ${manifest.shards} shards but ${shards.length} snapshots were given`);
    const o = indexOptions(manifestOptions(manifest), 'the manifest settings');
    if (typeof options !== 'object' || options === null) fail('invalid_argument', `Cluster.load options must be an object, got ${describe(options)}`);
    return Cluster.#start(shards.length, o, checkTimeout(options.timeout), (raw) => raw.restore(shards));
  }

  static async #start(n, o, timeout, fill) {
    if (typeof Worker !== 'function' && !(typeof process === 'object' && process.versions?.node))
      fail('invalid_config', 'Cluster needs Web Workers or Node worker_threads, and this runtime has neither; use Index, one per isolate');
    let glue, module;
    try {
      ({ glue, module } = await clusterModule());
    } catch (e) {
      rethrow(e);
    }
    const workers = await spawnAll(n, timeout, module);
    let raw;
    try {
      raw = new glue.RawCluster(n, (i, bytes, tag) => workers[i].send(bytes, tag), o.dim, o.metric, o.m, o.efc, o.efs, o.quantization, o.seed);
      await fill(raw);
    } catch (e) {
      for (const w of workers) w.terminate();
      raw?.free();
      rethrow(e);
    }
    return new Cluster(TOKEN, raw, workers);
  }

  get #live() {
    if (this.#raw === undefined) fail('freed', 'this Cluster was freed; create or load a new one');
    return this.#raw;
  }

  async #call(f) {
    const raw = this.#live;
    try {
      return await f(raw);
    } catch (e) {
      rethrow(e);
    }
  }

  /** Number of shards. */
  get shards() {
    return this.#live.shards;
  }

  /** The workers (Web Worker or worker_threads objects), shard `i` at index `i`. */
  get workers() {
    return this.#workers.map((w) => w.worker);
  }

  async add(key, vector, attributes) {
    checkKey(key);
    checkVector(vector, 'vector');
    const text = attributesText(attributes);
    const r = await this.#call((raw) => raw.upsert([key], vector, text === undefined ? undefined : [text]));
    return r.inserted === 1;
  }

  /** Same as `add` (a cluster always upserts); resolves whether the key was new. */
  async upsert(key, vector, attributes) {
    return this.add(key, vector, attributes);
  }

  async addBatch(keys, flat, attributes) {
    if (!Array.isArray(keys)) fail('invalid_argument', `keys must be an array of strings, got ${describe(keys)}`);
    for (let i = 0; i < keys.length; i++) checkKey(keys[i], `keys[${i}]`);
    checkVector(flat, 'flat');
    const texts = batchAttributes(attributes, keys.length);
    return this.#call((raw) => raw.upsert(keys, flat, texts));
  }

  async setAttributes(key, attributes) {
    checkKey(key);
    if (attributes === undefined)
      fail('invalid_argument', 'setAttributes needs the new attributes (an object), or null to clear them');
    const text = attributesText(attributes);
    await this.#call((raw) => raw.set_attributes(key, text));
  }

  async getAttributes(key) {
    checkKey(key);
    return parseAttributes(await this.#call((raw) => raw.get_attributes(key)));
  }

  async remove(key) {
    checkKey(key);
    await this.#call((raw) => raw.remove(key));
  }

  async get(key) {
    checkKey(key);
    return this.#call((raw) => raw.get(key));
  }

  async has(key) {
    checkKey(key);
    return this.#call((raw) => raw.contains(key));
  }

  async size() {
    const stats = await this.stats();
    const down = stats.findIndex((s) => s instanceof Error);
    if (down >= 0) throw stats[down];
    return stats.reduce((n, s) => n + s.size, 0);
  }

  async search(query, k, options) {
    checkVector(query, 'query');
    checkCount(k, 'k');
    let ef;
    let strict = false;
    let shardMs;
    let f = { withAttributes: false };
    if (options !== undefined) {
      if (typeof options !== 'object' || options === null)
        fail('invalid_argument', `search options must be an object like { ef: 64 }, got ${describe(options)}`);
      if (options.ef !== undefined) ef = checkCount(options.ef, 'options.ef', { min: 1 });
      strict = options.strict === true;
      // The Rust side hands this array to `send` with each request of this
      // search only (transport.rs, "Tags"), so concurrent searches do not mix.
      if (options.timings === true) shardMs = new Float64Array(this.shards).fill(NaN);
      f = searchFilter(options);
    }
    const t0 = performance.now();
    const r = await this.#call((raw) => raw.search(query, k, ef, strict, shardMs, f.filter, f.filterEf, f.withAttributes));
    const totalMs = performance.now() - t0;
    const { keys, distances } = unpack(r.packed, r.keys);
    const missingShards = Array.from(r.missing);
    const out = { keys, distances, partial: missingShards.length > 0, missingShards };
    if (f.withAttributes) out.attributes = r.attributes.map(parseAttributes);
    if (shardMs) out.timings = { shardMs, totalMs };
    return out;
  }

  async stats() {
    const out = await this.#call((raw) => raw.info());
    return out.map((s) => {
      if (!(s instanceof Error)) return s;
      try {
        rethrow(s);
      } catch (e) {
        return e;
      }
    });
  }

  async save() {
    const shards = await this.#call((raw) => raw.snapshots());
    return { manifest: makeManifest(this.#live.settings(), shards.length), shards };
  }

  free() {
    if (this.#raw === undefined) return;
    for (const w of this.#workers) w.terminate();
    this.#raw.free();
    this.#raw = undefined;
  }

  [DISPOSE]() {
    this.free();
  }
}

/** The shard that owns `key` in a cluster of `n` shards: xxh3_64(key, seed 0) mod n. */
export function route(key, n) {
  checkKey(key);
  checkCount(n, 'n', { min: 1 });
  return rawRoute(key, n);
}

/** The routing function's name, as recorded in manifests. */
export function hashName() {
  return rawHashName();
}
