// The coordinator Worker: the HTTP JSON API of `vecshard serve` in front of
// N `VecshardShard` Durable Objects.
//
// Every decision about the data is the Rust coordinator's (`RawCluster`,
// the `vecshard-coordinator` crate compiled into the package's Cluster
// module): validation before anything is sent, routing by xxh3_64(key) mod
// N, fan-out, the (distance, key) merge, partial results. This file only
// speaks HTTP and moves request bytes to the objects. Its transport calls
// object `idFromName("<name>/<i>")` over RPC; a call that throws or misses
// the timeout is `shard_unavailable` / `shard_timeout`, which the
// coordinator turns into `partial: true` (or an error in strict mode).
//
// The routes, bodies, status codes and error codes are those of
// crates/server/src/api.rs (the source of truth; the workerd test sends the
// same requests to both and compares): `POST /v1/vectors`, `GET|DELETE
// /v1/vectors/{key}`, `PUT|GET /v1/vectors/{key}/attributes`, `POST
// /v1/search` (filters, key filters, strict), `GET /v1/info`, `POST
// /v1/checkpoint`, `GET /healthz`; every route behind the bearer token
// when VECSHARD_TOKEN is set. Not here: `/metrics` (404).
//
// Added for `vecshard push` (a snapshot uploaded to one object, chunk by
// chunk): `POST /v1/shards/{i}/snapshot` {"length"} -> {"upload"}, `PUT
// /v1/shards/{i}/snapshot/{upload}/{seq}` (raw bytes, at most 1 MiB),
// `POST /v1/shards/{i}/snapshot/{upload}/commit` {"chunks"}.
import { RawCluster, hashName } from 'vecshard/edge';

const MAX_BODY = 64 << 20;
const MAX_BATCH = 10_000;
const MAX_K = 10_000;
const MAX_EF = 10_000;
const MAX_FILTER_EF = 1_000_000;
const MAX_CHUNK = 1 << 20;

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const bad = (code, message) => new ApiError(400, code, message);

function json(value, status = 200) {
  return new Response(JSON.stringify(value), { status, headers: { 'content-type': 'application/json' } });
}

function errorResponse(e) {
  const r = json({ error: { code: e.code, message: e.message } }, e.status);
  if (e.status === 401) r.headers.set('www-authenticate', 'Bearer');
  return r;
}

/** The HTTP status `vecshard serve` gives a coordinator error (crates/server/src/error.rs). */
function fromCoordinator(e) {
  if (e instanceof ApiError) return e;
  if (typeof e?.code !== 'string') throw e;
  const code = e.code;
  let status;
  switch (e.kind) {
    case 'shard':
      status = code === 'shard_timeout' ? 504 : 503;
      break;
    case 'incomplete':
      status = 503;
      break;
    case 'unexpected':
      status = 502;
      break;
    case 'config':
      status = 500;
      break;
    default:
      status =
        code === 'key_not_found' ? 404
        : code === 'not_initialized' ? 503
        : code === 'internal' ? 500
        : code === 'attributes_too_large' || code === 'request_too_large' ? 413
        : 400;
  }
  return new ApiError(status, code, e.message);
}

// ---------------------------------------------------------------------------
// Configuration (wrangler.toml [vars] and secrets)
// ---------------------------------------------------------------------------

function intVar(env, name, dflt) {
  const v = env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new ApiError(500, 'invalid_config', `${name} must be a non-negative integer, got ${JSON.stringify(v)}`);
  return n;
}

export function deployment(env) {
  if (!env.SHARDS || typeof env.SHARDS.idFromName !== 'function')
    throw new ApiError(500, 'invalid_config', 'the Durable Object binding SHARDS (class VecshardShard) is missing');
  const shards = intVar(env, 'VECSHARD_SHARDS');
  const dim = intVar(env, 'VECSHARD_DIM');
  if (!shards || !dim) throw new ApiError(500, 'invalid_config', 'VECSHARD_SHARDS and VECSHARD_DIM must be set (wrangler.toml [vars])');
  return {
    name: env.VECSHARD_NAME || 'default',
    shards,
    dim,
    metric: env.VECSHARD_METRIC || 'cosine',
    m: intVar(env, 'VECSHARD_M'),
    efConstruction: intVar(env, 'VECSHARD_EF_CONSTRUCTION'),
    efSearch: intVar(env, 'VECSHARD_EF_SEARCH'),
    quantization: env.VECSHARD_QUANTIZATION || undefined,
    seed: env.VECSHARD_SEED ? BigInt(env.VECSHARD_SEED) : undefined,
    token: env.VECSHARD_TOKEN || undefined,
    strict: env.VECSHARD_STRICT === 'true',
    timeoutMs: intVar(env, 'VECSHARD_SHARD_TIMEOUT_MS', 30_000),
    hooks: env.VECSHARD_TEST_HOOKS === '1',
  };
}

function stub(env, dep, i) {
  return env.SHARDS.get(env.SHARDS.idFromName(`${dep.name}/${i}`));
}

function withTimeout(promise, ms, i) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`shard ${i} did not answer within ${ms} ms`), { code: 'shard_timeout' })), ms);
  });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

/** A coordinator for this request (stubs belong to the request that made them). */
function cluster(env, dep) {
  let settings;
  const send = (i, bytes) =>
    withTimeout(stub(env, dep, i).call(i, settings, bytes), dep.timeoutMs, i).then(
      (r) => (r instanceof Uint8Array ? r : new Uint8Array(r)),
      (e) => {
        throw Object.assign(new Error(`durable object ${dep.name}/${i}: ${e?.message ?? e}`), { code: e?.code === 'shard_timeout' ? 'shard_timeout' : 'shard_unavailable' });
      },
    );
  let raw;
  try {
    raw = new RawCluster(dep.shards, send, dep.dim, dep.metric, dep.m, dep.efConstruction, dep.efSearch, dep.quantization, dep.seed);
  } catch (e) {
    throw new ApiError(500, 'invalid_config', `the deployment's settings are invalid: ${e.message}`);
  }
  const s = raw.settings();
  settings = { ...s, seed: String(s.seed) };
  return { raw, settings };
}

/** The settings as `vecshard serve` writes them in /v1/info (snake_case, serde's order). */
function wireSettings(s) {
  return { dim: s.dim, metric: s.metric, m: s.m, ef_construction: s.efConstruction, ef_search: s.efSearch, quantization: s.quantization, seed: Number(s.seed) };
}

// ---------------------------------------------------------------------------
// Bodies (parsed as serde would: unknown fields and wrong types are bad_json)
// ---------------------------------------------------------------------------

async function readBody(request, limit = MAX_BODY) {
  const len = Number(request.headers.get('content-length') ?? 0);
  if (len > limit) throw new ApiError(413, 'body_too_large', `Failed to buffer the request body: length limit exceeded`);
  const buf = new Uint8Array(await request.arrayBuffer());
  if (buf.length > limit) throw new ApiError(413, 'body_too_large', `Failed to buffer the request body: length limit exceeded`);
  return buf;
}

function parseJson(bytes, hint) {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw bad('bad_json', `${hint}: ${e.message}`);
  }
}

const isObject = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);

function only(obj, fields, hint) {
  for (const k of Object.keys(obj)) if (!fields.includes(k)) throw bad('bad_json', `${hint}: unknown field \`${k}\`, expected one of ${fields.map((f) => `\`${f}\``).join(', ')}`);
}

function u32(v, name, hint) {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) throw bad('bad_json', `${hint}: invalid value for \`${name}\`: expected u32, got ${JSON.stringify(v)}`);
  return v;
}

function vector(v, hint) {
  if (!Array.isArray(v)) throw bad('bad_json', `${hint}: \`vector\` must be an array of numbers`);
  for (const x of v) if (typeof x !== 'number' || !Number.isFinite(x)) throw bad('bad_json', `${hint}: \`vector\` must be an array of numbers, got ${JSON.stringify(x)}`);
  return v;
}

const UPSERT_HINT = 'expected {"vectors": [{"key": "...", "vector": [...], "attributes": {...}}]}';

function upsertItems(bytes) {
  const body = parseJson(bytes, UPSERT_HINT);
  let items;
  if (Array.isArray(body)) items = body;
  else if (isObject(body)) {
    only(body, ['vectors'], UPSERT_HINT);
    if (!Array.isArray(body.vectors)) throw bad('bad_json', `${UPSERT_HINT}: missing field \`vectors\``);
    items = body.vectors;
  } else throw bad('bad_json', `${UPSERT_HINT}: not an object`);
  for (const it of items) {
    if (!isObject(it)) throw bad('bad_json', `${UPSERT_HINT}: an item is not an object`);
    only(it, ['key', 'vector', 'attributes'], UPSERT_HINT);
    if (typeof it.key !== 'string') throw bad('bad_json', `${UPSERT_HINT}: missing or non-string field \`key\``);
    vector(it.vector, UPSERT_HINT);
  }
  return items;
}

// ---------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------

function sameToken(a, b) {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  if (x.length !== y.length) return false;
  let acc = 0;
  for (let i = 0; i < x.length; i++) acc |= x[i] ^ y[i];
  return acc === 0;
}

function authorize(request, dep) {
  if (!dep.token) return;
  const h = request.headers.get('authorization');
  const got = h?.startsWith('Bearer ') ? h.slice(7) : undefined;
  if (got === undefined) throw new ApiError(401, 'unauthorized', 'this server requires a token: send `Authorization: Bearer <token>`');
  if (!sameToken(got, dep.token)) throw new ApiError(401, 'unauthorized', 'the bearer token is wrong');
}

const NOT_FOUND = () => new ApiError(404, 'not_found', 'no such route; see GET /v1/info, POST /v1/search, POST /v1/vectors, GET|DELETE /v1/vectors/{key}');
const METHOD = () => new Response(null, { status: 405 });

function decodeKey(s) {
  try {
    return decodeURIComponent(s);
  } catch {
    throw bad('bad_path', `the key in the path is not valid percent-encoded UTF-8`);
  }
}

export async function handle(request, env) {
  let dep;
  try {
    dep = deployment(env);
    authorize(request, dep);
    return await route(request, env, dep);
  } catch (e) {
    return errorResponse(fromCoordinator(e));
  }
}

async function route(request, env, dep) {
  const url = new URL(request.url);
  const path = url.pathname;
  const m = request.method;
  const parts = path.split('/');
  if (path === '/v1/vectors') return m === 'POST' ? upsert(request, env, dep) : METHOD();
  if (path === '/v1/search') return m === 'POST' ? search(request, env, dep) : METHOD();
  if (path === '/v1/info') return m === 'GET' ? info(env, dep) : METHOD();
  if (path === '/v1/checkpoint') return m === 'POST' ? checkpoint(env, dep) : METHOD();
  if (path === '/healthz') return m === 'GET' ? healthz(env, dep) : METHOD();
  if (parts[1] === 'v1' && parts[2] === 'vectors' && parts.length === 4 && parts[3] !== '') {
    const key = decodeKey(parts[3]);
    if (m === 'GET') return getVector(env, dep, key);
    if (m === 'DELETE') return deleteVector(env, dep, key);
    return METHOD();
  }
  if (parts[1] === 'v1' && parts[2] === 'vectors' && parts.length === 5 && parts[3] !== '' && parts[4] === 'attributes') {
    const key = decodeKey(parts[3]);
    if (m === 'PUT') return setAttributes(request, env, dep, key);
    if (m === 'GET') return getAttributes(env, dep, key);
    return METHOD();
  }
  if (parts[1] === 'v1' && parts[2] === 'shards' && parts[4] === 'snapshot') return push(request, env, dep, parts, m);
  if (dep.hooks && parts[1] === '_test' && parts[2] === 'shards' && m === 'POST') {
    const i = Number(parts[3]);
    const hook = parseJson(await readBody(request), 'a test hook is a JSON object');
    const r = await stub(env, dep, i).testHook(i, hook);
    return r.error ? errorResponse(new ApiError(400, r.error.code, r.error.message)) : json(r.ok);
  }
  if (dep.hooks && parts[1] === '_test' && parts[2] === 'describe' && m === 'GET') {
    const i = Number(parts[3]);
    const t0 = Date.now();
    const r = await stub(env, dep, i).describe(i);
    return r.error ? errorResponse(new ApiError(503, r.error.code, r.error.message)) : json({ ...r.ok, callMs: Date.now() - t0 });
  }
  throw NOT_FOUND();
}

async function run(env, dep, f) {
  const { raw, settings } = cluster(env, dep);
  try {
    return await f(raw, settings);
  } catch (e) {
    throw fromCoordinator(e);
  } finally {
    raw.free();
  }
}

async function upsert(request, env, dep) {
  const items = upsertItems(await readBody(request));
  if (items.length === 0) throw bad('empty_batch', 'the batch holds no vectors');
  if (items.length > MAX_BATCH) throw new ApiError(413, 'batch_too_large', `the batch holds ${items.length} vectors; the limit is ${MAX_BATCH}, split it`);
  return run(env, dep, async (raw) => {
    for (const it of items)
      if (it.vector.length !== dep.dim) throw bad('dimension_mismatch', `vector of key ${JSON.stringify(it.key)} has dimension ${it.vector.length}, expected ${dep.dim}`);
    const flat = new Float32Array(items.length * dep.dim);
    items.forEach((it, i) => flat.set(it.vector, i * dep.dim));
    const attrs = items.some((it) => it.attributes !== undefined && it.attributes !== null)
      ? items.map((it) => (it.attributes === undefined || it.attributes === null ? undefined : JSON.stringify(it.attributes)))
      : undefined;
    const r = await raw.upsert(
      items.map((it) => it.key),
      flat,
      attrs,
    );
    return json({ inserted: r.inserted, updated: r.updated });
  });
}

function attributesValue(text) {
  if (text === null || text === undefined) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

async function getVector(env, dep, key) {
  return run(env, dep, async (raw) => {
    const v = await raw.get(key);
    if (v === undefined) throw new ApiError(404, 'key_not_found', `key ${JSON.stringify(key)} is not in the index`);
    let attributes = null;
    try {
      attributes = attributesValue(await raw.get_attributes(key));
    } catch (e) {
      if (e?.code !== 'key_not_found') throw e;
    }
    return json({ key, vector: Array.from(v), attributes });
  });
}

async function deleteVector(env, dep, key) {
  return run(env, dep, async (raw) => {
    await raw.remove(key);
    return json({ deleted: true });
  });
}

async function setAttributes(request, env, dep, key) {
  const body = await readBody(request);
  const value = parseJson(body, 'request body is not valid');
  return run(env, dep, async (raw) => {
    await raw.set_attributes(key, value === null ? undefined : JSON.stringify(value));
    return json({ key, attributes: value });
  });
}

async function getAttributes(env, dep, key) {
  return run(env, dep, async (raw) => json({ key, attributes: attributesValue(await raw.get_attributes(key)) }));
}

const SEARCH_HINT = 'request body is not valid';

async function search(request, env, dep) {
  const t0 = performance.now();
  const q = parseJson(await readBody(request), SEARCH_HINT);
  if (!isObject(q)) throw bad('bad_json', `${SEARCH_HINT}: expected an object`);
  only(q, ['vector', 'k', 'ef', 'strict', 'filter', 'filter_ef', 'with_attributes'], SEARCH_HINT);
  if (q.vector === undefined) throw bad('bad_json', `${SEARCH_HINT}: missing field \`vector\``);
  vector(q.vector, SEARCH_HINT);
  const k = q.k === undefined ? 10 : u32(q.k, 'k', SEARCH_HINT);
  const ef = q.ef === undefined || q.ef === null ? undefined : u32(q.ef, 'ef', SEARCH_HINT);
  if (q.strict !== undefined && q.strict !== null && typeof q.strict !== 'boolean') throw bad('bad_json', `${SEARCH_HINT}: \`strict\` must be a boolean`);
  const filterEf = q.filter_ef === undefined || q.filter_ef === null ? undefined : u32(q.filter_ef, 'filter_ef', SEARCH_HINT);
  if (q.with_attributes !== undefined && typeof q.with_attributes !== 'boolean') throw bad('bad_json', `${SEARCH_HINT}: \`with_attributes\` must be a boolean`);
  const withAttributes = q.with_attributes === true;
  if (k > MAX_K || (ef !== undefined && ef > MAX_EF)) throw bad('invalid_k', `k is limited to ${MAX_K} and ef to ${MAX_EF}`);
  if (filterEf !== undefined && (filterEf === 0 || filterEf > MAX_FILTER_EF)) throw bad('invalid_filter', `filter_ef must be in 1..=${MAX_FILTER_EF}`);
  let filter;
  let keyPrefix;
  let keys;
  if (typeof q.filter === 'string') filter = q.filter;
  else if (isObject(q.filter)) {
    const f = q.filter;
    const okPrefix = Object.keys(f).length === 1 && typeof f.key_prefix === 'string';
    const okKeys = Object.keys(f).length === 1 && Array.isArray(f.keys) && f.keys.every((x) => typeof x === 'string');
    if (okPrefix) keyPrefix = f.key_prefix;
    else if (okKeys) keys = f.keys;
    else throw bad('bad_filter', 'a filter object is {"key_prefix": "..."} or {"keys": [...]}, exactly one of them');
  } else if (q.filter !== undefined && q.filter !== null) {
    throw bad('invalid_filter', `invalid_filter: a filter is an expression string such as ".year > 1950" (or the object {"key_prefix"} / {"keys"}), not ${JSON.stringify(q.filter)}`);
  }
  const strict = q.strict === true || ((q.strict === undefined || q.strict === null) && dep.strict);
  return run(env, dep, async (raw) => {
    const r = await raw.search(new Float32Array(q.vector), k, ef, strict, undefined, filter, filterEf, withAttributes, keyPrefix, keys);
    const n = r.packed.length >>> 1;
    const results = [];
    for (let i = 0, at = 0; i < n; i++) {
      const end = at + r.packed[n + i];
      const hit = { key: r.keys.substring(at, end), distance: r.packed[i] };
      if (withAttributes) hit.attributes = attributesValue(r.attributes[i]);
      results.push(hit);
      at = end;
    }
    const missing = Array.from(r.missing);
    return json({ results, partial: missing.length > 0, missing_shards: missing, took_us: Math.round((performance.now() - t0) * 1000) });
  });
}

async function shardReports(raw, dep) {
  const infos = await raw.info();
  return infos.map((r, i) => {
    const transport = `durable object ${dep.name}/${i}`;
    if (r instanceof Error)
      return { shard: i, transport, status: 'down', error: `${r.message} (${r.code})`, vectors: null, index_bytes: null, attribute_bytes: null, memory_bytes: null, restarts: null, kernel: null };
    return { shard: i, transport, status: 'ok', vectors: r.size, index_bytes: r.indexBytes, attribute_bytes: r.attributeBytes, memory_bytes: r.indexBytes + r.attributeBytes, restarts: null, kernel: r.kernel };
  });
}

async function info(env, dep) {
  return run(env, dep, async (raw) => {
    const per = await shardReports(raw, dep);
    return json({
      shards: dep.shards,
      hash: hashName(),
      settings: wireSettings(raw.settings()),
      vectors: per.reduce((n, s) => n + (s.vectors ?? 0), 0),
      shards_up: per.filter((s) => s.status === 'ok').length,
      per_shard: per,
    });
  });
}

async function healthz(env, dep) {
  return run(env, dep, async (raw) => {
    const infos = await raw.info();
    const down = infos.map((r, i) => (r instanceof Error ? i : -1)).filter((i) => i >= 0);
    if (down.length === 0) return new Response('ok\n');
    if (down.length < infos.length) return new Response(`degraded: shards [${down.join(', ')}] down\n`);
    return new Response('down: no shard answers\n', { status: 503 });
  });
}

/** The settings sent to the objects (a coordinator made and dropped for them). */
function settingsOf(env, dep) {
  const { raw, settings } = cluster(env, dep);
  raw.free();
  return settings;
}

async function checkpoint(env, dep) {
  const settings = settingsOf(env, dep);
  const rs = await Promise.all(Array.from({ length: dep.shards }, (_, i) => stub(env, dep, i).checkpoint(i, settings).catch((e) => ({ error: { message: e.message } }))));
  const failed = rs.map((r, i) => (r.error ? `shard ${i}: ${r.error.message}` : '')).filter(Boolean);
  if (failed.length) throw new ApiError(409, 'checkpoint_unavailable', failed.join('; '));
  return json({ checkpointed: true });
}

// ---- push ----

async function push(request, env, dep, parts, m) {
  const i = Number(parts[3]);
  if (!Number.isInteger(i) || i < 0 || i >= dep.shards || parts[3] === '')
    throw new ApiError(404, 'shard_not_found', `this deployment has ${dep.shards} shards (0..${dep.shards - 1}); got ${JSON.stringify(parts[3])}`);
  const s = stub(env, dep, i);
  const answer = (r) => {
    if (r.error) throw new ApiError(r.error.code === 'settings_mismatch' || r.error.code === 'invalid_snapshot' ? 400 : r.error.code === 'shard_unavailable' ? 503 : 409, r.error.code, r.error.message);
    return r.ok;
  };
  if (parts.length === 5 && m === 'POST') {
    const b = parseJson(await readBody(request), 'expected {"length": BYTES}');
    if (!isObject(b)) throw bad('bad_json', 'expected {"length": BYTES}');
    only(b, ['length'], 'expected {"length": BYTES}');
    if (b.length !== undefined && (!Number.isSafeInteger(b.length) || b.length < 0)) throw bad('bad_json', '`length` must be a byte count');
    return json({ shard: i, upload: answer(await s.pushBegin(i, b.length)) });
  }
  const gen = Number(parts[5]);
  if (parts.length === 7 && m === 'PUT' && parts[6] !== 'commit') {
    const seq = Number(parts[6]);
    if (!Number.isSafeInteger(seq) || seq < 0) throw bad('bad_path', 'the chunk number must be a non-negative integer');
    const bytes = await readBody(request, MAX_CHUNK);
    answer(await s.pushChunk(i, gen, seq, bytes.buffer.byteLength === bytes.length ? bytes.buffer : bytes.slice().buffer));
    return json({ shard: i, upload: gen, chunk: seq, bytes: bytes.length });
  }
  if (parts.length === 7 && m === 'POST' && parts[6] === 'commit') {
    const b = parseJson(await readBody(request), 'expected {"chunks": N}');
    if (!isObject(b) || !Number.isSafeInteger(b.chunks)) throw bad('bad_json', 'expected {"chunks": N}');
    const d = answer(await s.pushCommit(i, gen, b.chunks, settingsOf(env, dep)));
    return json({ shard: i, upload: gen, vectors: d.size, index_bytes: d.indexBytes, memory_bytes: d.memoryBytes ?? null });
  }
  throw NOT_FOUND();
}
