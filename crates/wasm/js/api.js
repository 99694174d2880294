// The public API of the `vecshard` npm package, shared by every entry point
// (web.js, node.js, deno.js, workerd.js). Each entry point only decides how
// the .wasm gets instantiated; everything a user calls is defined here.
//
// This file owns the JS side of the contract: argument *types* are checked
// here (so a wrong type is an `invalid_argument` error that names the
// argument, not a wasm-bindgen internals message), and every error from the
// wasm side is rethrown as a `VecshardError` with a stable `code`. Value
// rules (dimension, finite values, key length, k >= 1) belong to the Rust
// core, which checks everything before it changes anything: after a failed
// call the index is exactly as it was.

import { RawIndex, RawIndexLoader } from './vecshard.js';

const DISPOSE = Symbol.dispose ?? Symbol.for('Symbol.dispose');
const FROM_RAW = Symbol('vecshard.fromRaw');
const DETAILS = ['expected', 'got', 'index', 'length', 'key', 'shards', 'position'];
export const OPTIONS = ['dim', 'metric', 'm', 'efConstruction', 'efSearch', 'quantization', 'seed'];

/** Every error the package throws on bad input. Match on `code`. */
export class VecshardError extends Error {
  constructor(code, message, details) {
    super(message);
    this.name = 'VecshardError';
    this.code = code;
    if (details) Object.assign(this, details);
  }
}

export function fail(code, message) {
  throw new VecshardError(code, message);
}

// Errors from the wasm side are plain Errors with a `code`; anything else
// (a bug, an out-of-memory trap) is rethrown untouched.
export function rethrow(e) {
  if (e instanceof Error && typeof e.code === 'string' && !(e instanceof VecshardError)) {
    const details = {};
    for (const d of DETAILS) if (d in e) details[d] = e[d];
    throw new VecshardError(e.code, e.message, details);
  }
  throw e;
}

export function checkKey(key, what = 'key') {
  if (typeof key !== 'string') fail('invalid_argument', `${what} must be a string, got ${describe(key)}`);
  // A lone surrogate would be replaced by U+FFFD on its way to UTF-8, so
  // the stored key would silently differ from the one passed.
  if (key.isWellFormed && !key.isWellFormed())
    fail('invalid_argument', `${what} contains a lone UTF-16 surrogate and is not valid Unicode`);
  return key;
}

export function checkVector(v, what) {
  if (!(v instanceof Float32Array))
    fail('invalid_argument', `${what} must be a Float32Array, got ${describe(v)}; wrap arrays with new Float32Array(...)`);
  return v;
}

export function checkCount(n, what, { min = 0 } = {}) {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > 0xffffffff)
    fail('invalid_argument', `${what} must be an integer >= ${min}, got ${describe(n)}`);
  return n;
}

export function describe(x) {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an Array';
  if (typeof x === 'object') return x.constructor?.name ?? 'an object';
  if (typeof x === 'string') return JSON.stringify(x.length > 40 ? x.slice(0, 40) + '…' : x);
  return `${typeof x} ${String(x)}`;
}

export function configNumber(options, name) {
  const v = options[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'number') fail('invalid_argument', `options.${name} must be a number, got ${describe(v)}`);
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff)
    fail('invalid_config', `invalid index configuration: ${name} must be a non-negative integer, got ${v}`);
  return v;
}

export function configSeed(seed) {
  if (seed === undefined) return undefined;
  if (typeof seed === 'number' && Number.isSafeInteger(seed) && seed >= 0) return BigInt(seed);
  if (typeof seed === 'bigint' && seed >= 0n && seed < 1n << 64n) return seed;
  fail('invalid_argument', `options.seed must be a non-negative safe integer or a bigint below 2^64, got ${describe(seed)}`);
}

/** Most bytes of attribute JSON per element (the shard's limit). */
export const MAX_ATTRIBUTES_BYTES = 64 * 1024;

/**
 * Attributes as the JSON text Rust parses: `undefined` for none (`null`
 * and `undefined` both mean none). Anything but a plain JSON object is
 * `invalid_attributes`, the shard's code; the shard checks the size
 * (`attributes_too_large`) and parses the text again, strictly.
 */
export function attributesText(a, what = 'attributes') {
  if (a === undefined || a === null) return undefined;
  if (typeof a !== 'object' || Array.isArray(a) || ArrayBuffer.isView(a))
    fail('invalid_attributes', `${what} must be a plain object of JSON values (or null), got ${describe(a)}`);
  let text;
  try {
    text = JSON.stringify(a);
  } catch (e) {
    fail('invalid_attributes', `${what} cannot be written as JSON: ${e.message}`);
  }
  if (typeof text !== 'string' || text[0] !== '{')
    fail('invalid_attributes', `${what} must be a plain object of JSON values (or null), got ${describe(a)}`);
  return text;
}

/** A batch's attributes: `undefined`, or one JSON text (or undefined) per key. */
export function batchAttributes(attributes, n) {
  if (attributes === undefined) return undefined;
  if (!Array.isArray(attributes) || attributes.length !== n)
    fail('invalid_argument', `attributes must be an array with one entry (an object, null or undefined) per key (${n}), got ${describe(attributes)}`);
  return attributes.map((a, i) => attributesText(a, `attributes[${i}]`));
}

/** Stored attribute text back to a value: an object, `null`, or (for
 * opaque bytes a native `Upsert` stored, which are not JSON) the text. */
export function parseAttributes(text) {
  if (text === null || text === undefined) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * The filter options of a search: `{ filter, filterEf, withAttributes }`
 * checked for type (the values are Rust's: syntax and the 4 KiB limit are
 * `invalid_filter`, so is a filterEf outside 1..=1000000).
 */
export function searchFilter(options) {
  const { filter, filterEf, withAttributes } = options;
  if (filter !== undefined && typeof filter !== 'string')
    fail('invalid_filter', `invalid_filter: a filter is an expression string such as ".year > 1950", got ${describe(filter)}`);
  if (filterEf !== undefined) checkCount(filterEf, 'options.filterEf');
  if (withAttributes !== undefined && typeof withAttributes !== 'boolean')
    fail('invalid_argument', `options.withAttributes must be a boolean, got ${describe(withAttributes)}`);
  return { filter, filterEf, withAttributes: withAttributes === true };
}

/**
 * Search results as Rust packs them (see convert.rs): `packed` holds the
 * distances, then each key's length in UTF-16 units; `joined` the keys.
 */
export function unpack(packed, joined) {
  const n = packed.length >>> 1;
  const keys = new Array(n);
  for (let i = 0, at = 0; i < n; i++) {
    const end = at + packed[n + i];
    keys[i] = joined.substring(at, end);
    at = end;
  }
  return { keys, distances: packed.slice(0, n) };
}

/**
 * Checks the options of `new Index` / `Cluster.create` (plus `extra`
 * option names the caller handles itself) and returns them ready for Rust.
 */
export function indexOptions(options, what, extra = []) {
  if (typeof options !== 'object' || options === null)
    fail('invalid_argument', `${what} needs an options object like { dim: 384, metric: "cosine" }, got ${describe(options)}`);
  const known = [...OPTIONS, ...extra];
  for (const name of Object.keys(options))
    if (!known.includes(name))
      fail('invalid_config', `invalid index configuration: unknown option ${JSON.stringify(name)}; known options are ${known.join(', ')}`);
  const dim = configNumber(options, 'dim');
  if (dim === undefined) fail('invalid_config', 'invalid index configuration: options.dim (the vector dimension) is required');
  const { metric, quantization } = options;
  if (typeof metric !== 'string')
    fail('invalid_argument', `options.metric must be "cosine", "l2" or "ip", got ${describe(metric)}`);
  if (quantization !== undefined && typeof quantization !== 'string')
    fail('invalid_argument', `options.quantization must be "f32", "i8" or "binary", got ${describe(quantization)}`);
  const m = configNumber(options, 'm');
  const efc = configNumber(options, 'efConstruction');
  const efs = configNumber(options, 'efSearch');
  const seed = configSeed(options.seed);
  return { dim, metric, m, efc, efs, quantization, seed };
}

/**
 * An HNSW index in the calling thread. Synchronous; see index.d.ts for the
 * documentation of each method.
 */
export class Index {
  #raw;

  constructor(options, raw) {
    if (options === FROM_RAW) {
      this.#raw = raw;
      return;
    }
    const { dim, metric, m, efc, efs, quantization, seed } = indexOptions(options, 'new Index(options)');
    try {
      this.#raw = new RawIndex(dim, metric, m, efc, efs, quantization, seed);
    } catch (e) {
      rethrow(e);
    }
  }

  /** Loads a snapshot written by `toBytes()` or by the native core / CLI. */
  static fromBytes(bytes) {
    if (bytes instanceof ArrayBuffer) bytes = new Uint8Array(bytes);
    if (!(bytes instanceof Uint8Array))
      fail('invalid_argument', `fromBytes needs a Uint8Array or an ArrayBuffer, got ${describe(bytes)}`);
    try {
      return new Index(FROM_RAW, RawIndex.from_bytes(bytes));
    } catch (e) {
      rethrow(e);
    }
  }

  get #live() {
    if (this.#raw === undefined) fail('freed', 'this Index was freed; create or load a new one');
    return this.#raw;
  }

  add(key, vector, attributes) {
    const raw = this.#live;
    checkKey(key);
    checkVector(vector, 'vector');
    const text = attributesText(attributes);
    try {
      raw.add(key, vector, text);
    } catch (e) {
      rethrow(e);
    }
  }

  upsert(key, vector, attributes) {
    const raw = this.#live;
    checkKey(key);
    checkVector(vector, 'vector');
    const text = attributesText(attributes);
    try {
      return raw.upsert(key, vector, text);
    } catch (e) {
      rethrow(e);
    }
  }

  addBatch(keys, flat, attributes) {
    const raw = this.#live;
    if (!Array.isArray(keys)) fail('invalid_argument', `keys must be an array of strings, got ${describe(keys)}`);
    for (let i = 0; i < keys.length; i++) checkKey(keys[i], `keys[${i}]`);
    checkVector(flat, 'flat');
    const texts = batchAttributes(attributes, keys.length);
    try {
      raw.add_batch(keys, flat, texts);
    } catch (e) {
      rethrow(e);
    }
  }

  remove(key) {
    const raw = this.#live;
    checkKey(key);
    try {
      raw.remove(key);
    } catch (e) {
      rethrow(e);
    }
  }

  get(key) {
    const raw = this.#live;
    checkKey(key);
    return raw.get(key);
  }

  setAttributes(key, attributes) {
    const raw = this.#live;
    checkKey(key);
    if (attributes === undefined)
      fail('invalid_argument', 'setAttributes needs the new attributes (an object), or null to clear them');
    const text = attributesText(attributes);
    try {
      raw.set_attributes(key, text);
    } catch (e) {
      rethrow(e);
    }
  }

  getAttributes(key) {
    const raw = this.#live;
    checkKey(key);
    try {
      return parseAttributes(raw.get_attributes(key));
    } catch (e) {
      rethrow(e);
    }
  }

  has(key) {
    const raw = this.#live;
    checkKey(key);
    return raw.has(key);
  }

  get size() {
    return this.#live.size;
  }

  get dim() {
    return this.#live.dim;
  }

  get metric() {
    return this.#live.metric;
  }

  get quantization() {
    return this.#live.quantization;
  }

  search(query, k, options) {
    const raw = this.#live;
    checkVector(query, 'query');
    checkCount(k, 'k');
    let ef;
    let f;
    if (options !== undefined) {
      if (typeof options !== 'object' || options === null)
        fail('invalid_argument', `search options must be an object like { ef: 64 }, got ${describe(options)}`);
      if (options.ef !== undefined) ef = checkCount(options.ef, 'options.ef', { min: 1 });
      f = searchFilter(options);
    }
    if (f && (f.filter !== undefined || f.filterEf !== undefined || f.withAttributes)) {
      let r;
      try {
        r = raw.search_filtered(query, k, ef, f.filter, f.filterEf, f.withAttributes);
      } catch (e) {
        rethrow(e);
      }
      const out = unpack(r.packed, r.keys);
      if (f.withAttributes) out.attributes = r.attributes.map(parseAttributes);
      out.plan = r.plan;
      return out;
    }
    let packed, joined;
    try {
      packed = raw.search(query, k, ef);
      joined = raw.last_keys();
    } catch (e) {
      rethrow(e);
    }
    return unpack(packed, joined);
  }

  toBytes() {
    return this.#live.to_bytes();
  }

  /**
   * The snapshot of `toBytes()`, as chunks of at most `chunkSize` bytes
   * (default 1 MiB), encoded as they are asked for: memory holds the index
   * plus one chunk. `byteLength` is the total. A write to the index ends
   * the iteration with `invalid_snapshot` (start again).
   */
  saveChunks(options) {
    const size = chunkSize(options, 'saveChunks');
    const byteLength = this.#live.save_begin();
    return chunkIterator(() => this.#live.save_read(size), byteLength);
  }

  /**
   * Loads a snapshot from chunks (any iterable or async iterable of
   * Uint8Arrays, e.g. `saveChunks()`, a `ReadableStream`, a file's
   * `createReadStream()`), one at a time: memory holds the index being
   * built plus one chunk.
   */
  static async fromChunks(source, options) {
    const loader = new IndexLoader(options);
    if (source && typeof source.getReader === 'function' && !(Symbol.asyncIterator in source)) {
      const reader = source.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        loader.push(value);
      }
    } else {
      if (!source || !(Symbol.iterator in source || Symbol.asyncIterator in source))
        fail('invalid_argument', `fromChunks needs an iterable or async iterable of Uint8Arrays, got ${describe(source)}`);
      for await (const c of source) loader.push(c);
    }
    return loader.finish();
  }

  stats() {
    return this.#live.stats();
  }

  free() {
    if (this.#raw !== undefined) {
      this.#raw.free();
      this.#raw = undefined;
    }
  }

  [DISPOSE]() {
    this.free();
  }
}

/** Largest chunk a streaming save hands out in one piece (64 MiB). */
const MAX_CHUNK = 64 << 20;

/**
 * The chunks `read()` hands out until it returns an empty one, as an
 * iterator with the total `byteLength` (the save side of `saveChunks` on
 * `Index` and `Shard`); a wasm error is rethrown as a `VecshardError`.
 */
export function chunkIterator(read, byteLength) {
  const it = (function* () {
    try {
      for (;;) {
        const c = read();
        if (c.length === 0) return;
        yield c;
      }
    } catch (e) {
      rethrow(e);
    }
  })();
  it.byteLength = byteLength;
  return it;
}

export function chunkSize(options, what) {
  if (options === undefined) return 1 << 20;
  if (typeof options !== 'object' || options === null)
    fail('invalid_argument', `${what} options must be an object like { chunkSize: 1048576 }, got ${describe(options)}`);
  const { chunkSize: n = 1 << 20 } = options;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_CHUNK)
    fail('invalid_argument', `options.chunkSize must be an integer in 1..=${MAX_CHUNK}, got ${describe(n)}`);
  return n;
}

export function chunkBytes(chunk, what = 'chunk') {
  if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
  if (!(chunk instanceof Uint8Array)) fail('invalid_argument', `${what} must be a Uint8Array or an ArrayBuffer, got ${describe(chunk)}`);
  return chunk;
}

export function expectedLength(options, what) {
  if (options === undefined) return undefined;
  if (typeof options !== 'object' || options === null)
    fail('invalid_argument', `${what} options must be an object like { length: 123 }, got ${describe(options)}`);
  const n = options.length;
  if (n === undefined) return undefined;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0)
    fail('invalid_argument', `options.length must be a non-negative integer (the snapshot's size in bytes), got ${describe(n)}`);
  return n;
}

/**
 * Builds an `Index` from snapshot chunks split anywhere, one `push` at a
 * time. A bad or truncated snapshot is `invalid_snapshot` (at the `push`
 * that shows it, or at `finish`); after an error the loader is done.
 */
export class IndexLoader {
  #raw;
  #received = 0;

  constructor(options) {
    const len = expectedLength(options, 'new IndexLoader');
    this.#raw = new RawIndexLoader(len);
  }

  get #live() {
    if (this.#raw === undefined) fail('invalid_argument', 'this IndexLoader already finished; start a new one');
    return this.#raw;
  }

  push(chunk) {
    const raw = this.#live;
    const bytes = chunkBytes(chunk);
    try {
      raw.push(bytes);
    } catch (e) {
      rethrow(e);
    }
    this.#received += bytes.length;
  }

  /** Bytes taken so far. */
  get received() {
    return this.#received;
  }

  finish() {
    const raw = this.#live;
    this.#raw = undefined;
    try {
      return new Index(FROM_RAW, raw.finish());
    } catch (e) {
      rethrow(e);
    } finally {
      raw.free();
    }
  }
}
