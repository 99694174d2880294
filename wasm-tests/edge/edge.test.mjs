// edge/cloudflare in workerd (npm `workerd`), offline: the coordinator
// Worker and 4 VecshardShard Durable Objects with local-disk SQLite
// storage, started from edge/cloudflare/workerd.capnp as committed, and
// spoken to over real HTTP on 127.0.0.1:
// - upsert + search answer the same keys as a native `vecshard serve` fed
//   the same requests (siftsmall, 4 shards, same settings and seeds);
// - SIGKILL after acknowledged writes (with checkpoints happening, one of
//   them cut short by a test hook), restart: every acknowledged write is
//   there and nothing else;
// - a failing object (test hook) gives `partial: true`, strict mode 503;
// - bad input gets the native server's status and error code;
// - `vecshard push` of a data dir built by `vecshard build`, then the same
//   answers as `vecshard query` on that dir.
// The native side needs VECSHARD_CLI (scripts/test-js.sh sets it); without
// it only the workerd-only parts run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bin, freePort, packageDir, run, start, until } from '../lib/proc.mjs';
import { DATA, readFvecs } from '../lib/data.mjs';

const EDGE = process.env.VECSHARD_EDGE ?? new URL('../../edge/cloudflare', import.meta.url).pathname;
const CLI = process.env.VECSHARD_CLI;
const hasCli = CLI && existsSync(CLI);
const TOKEN = 'edge-secret';
const N = 2000; // siftsmall rows upserted over HTTP
const Q = 20; // queries compared
const SEED = Number(process.env.VECSHARD_TEST_SEED ?? Date.now() % 100000);

const base = readFvecs(join(DATA, 'siftsmall', 'base.fvecs'));
const queries = readFvecs(join(DATA, 'siftsmall', 'query.fvecs'));
const row = (m, i) => Array.from(m.flat.subarray(i * m.dim, (i + 1) * m.dim));

/** A directory laid out as workerd.capnp expects: src/, node_modules/vecshard/. */
function deployDir(root) {
  const dir = join(root, 'deploy');
  cpSync(join(EDGE, 'src'), join(dir, 'src'), { recursive: true });
  cpSync(join(EDGE, 'workerd.capnp'), join(dir, 'workerd.capnp'));
  cpSync(packageDir(), join(dir, 'node_modules', 'vecshard'), { recursive: true });
  return dir;
}

async function startWorkerd(dir, storage, port, env = {}) {
  const proc = start(bin('workerd'), ['serve', join(dir, 'workerd.capnp'), '--directory-path', `do-storage=${storage}`, '--socket-addr', `http=127.0.0.1:${port}`], {
    cwd: dir,
    env: { ...process.env, VECSHARD_TOKEN: TOKEN, VECSHARD_TEST_HOOKS: '1', VECSHARD_WAL_LIMIT_BYTES: String(256 * 1024), ...env },
  });
  const url = `http://127.0.0.1:${port}`;
  await until(async () => {
    if (proc.exitCode !== null) throw new Error(`workerd exited ${proc.exitCode}:\n${proc.log()}`);
    return (await fetch(`${url}/healthz`, { headers: auth() })).ok;
  }, 60000, `workerd on ${url}\n${proc.log()}`);
  return { proc, url };
}

async function startNative(dir, port) {
  const proc = start(CLI, ['serve', '--data', dir, '--shards', '4', '--dim', '128', '--metric', 'l2', '--listen', `127.0.0.1:${port}`, '--token', TOKEN, '--fsync', 'always']);
  const url = `http://127.0.0.1:${port}`;
  await until(async () => {
    if (proc.exitCode !== null) throw new Error(`vecshard serve exited ${proc.exitCode}:\n${proc.log()}`);
    return (await fetch(`${url}/healthz`, { headers: auth() })).ok;
  }, 60000, `vecshard serve on ${url}\n${proc.log()}`);
  return { proc, url };
}

const auth = (token = TOKEN) => ({ authorization: `Bearer ${token}` });

async function call(url, method, path, body, headers = auth()) {
  const r = await fetch(url + path, { method, headers: { ...headers, 'content-type': 'application/json' }, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await r.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: r.status, body: json };
}

async function upsertRange(url, from, to, batch = 500) {
  for (let i = from; i < to; i += batch) {
    const vectors = [];
    for (let j = i; j < Math.min(to, i + batch); j++) vectors.push({ key: `v${j}`, vector: row(base, j), attributes: { i: j, even: j % 2 === 0 } });
    const r = await call(url, 'POST', '/v1/vectors', { vectors });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  }
}

const searchKeys = async (url, body) => {
  const r = await call(url, 'POST', '/v1/search', body);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
};

test('edge: 4 Durable Object shards in workerd answer like `vecshard serve`, survive SIGKILL, report partial results', { timeout: 240000 }, async (t) => {
  console.log(`# seed ${SEED} (VECSHARD_TEST_SEED to replay)`);
  const root = mkdtempSync(join(tmpdir(), 'vecshard-edge-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const dir = deployDir(root);
  const storage = join(root, 'storage');
  mkdirSync(storage);
  let w = await startWorkerd(dir, storage, await freePort());
  t.after(() => w.proc.kill('SIGKILL'));
  let native;
  if (hasCli) {
    native = await startNative(join(root, 'native'), await freePort());
    t.after(() => native.proc.kill('SIGKILL'));
  }

  // ---- the token guards every route, as natively ----
  for (const target of [w, native].filter(Boolean)) {
    const r = await call(target.url, 'GET', '/healthz', undefined, {});
    assert.equal(r.status, 401);
    assert.equal(r.body.error.code, 'unauthorized');
    const wrong = await call(target.url, 'GET', '/v1/info', undefined, auth('nope'));
    assert.equal(wrong.status, 401);
  }

  // ---- upsert the same batches on both; a small WAL limit makes checkpoints happen ----
  await upsertRange(w.url, 0, N);
  if (native) await upsertRange(native.url, 0, N);
  const info = await call(w.url, 'GET', '/v1/info');
  assert.equal(info.status, 200);
  assert.equal(info.body.vectors, N);
  assert.equal(info.body.shards, 4);
  assert.equal(info.body.hash, 'xxh3_64(key, seed 0) mod N');
  assert.deepEqual(info.body.settings, { dim: 128, metric: 'l2', m: 16, ef_construction: 200, ef_search: 64, quantization: 'f32', seed: 0x5eed });
  if (native) {
    const ninfo = await call(native.url, 'GET', '/v1/info');
    assert.deepEqual(info.body.settings, ninfo.body.settings);
    assert.equal(info.body.hash, ninfo.body.hash);
    assert.deepEqual(info.body.per_shard.map((s) => s.vectors), ninfo.body.per_shard.map((s) => s.vectors), 'same routing');
  }

  const answers = [];
  const times = { edge: [], native: [], edgeTook: [], nativeTook: [] };
  for (let q = 0; q < Q; q++) {
    const body = { vector: row(queries, q), k: 10, ef: 64 };
    let t0 = performance.now();
    const got = await searchKeys(w.url, body);
    times.edge.push(performance.now() - t0);
    times.edgeTook.push(got.took_us / 1000);
    assert.equal(got.partial, false);
    assert.equal(got.results.length, 10);
    answers.push(got.results.map((h) => h.key));
    if (native) {
      t0 = performance.now();
      const want = await searchKeys(native.url, body);
      times.native.push(performance.now() - t0);
      times.nativeTook.push(want.took_us / 1000);
      assert.deepEqual(got.results.map((h) => h.key), want.results.map((h) => h.key), `query ${q}`);
      got.results.forEach((h, i) => assert.ok(Math.abs(h.distance - want.results[i].distance) <= 1e-3 * Math.max(1, want.results[i].distance)));
    }
  }
  // Printed, not asserted (speed belongs in benchmarks): the same queries,
  // interleaved, through HTTP on both sides.
  const med = (a) => (a.length ? [...a].sort((x, y) => x - y)[a.length >> 1].toFixed(2) : '-');
  console.log(`# search k 10 ef 64, ${N} x 128-d in 4 shards, ${Q} queries interleaved: client p50 workerd ${med(times.edge)} ms, native ${med(times.native)} ms; server took_us p50 workerd ${med(times.edgeTook)} ms, native ${med(times.nativeTook)} ms`);

  // A filtered search and a key filter, with attributes.
  for (const [filter, count] of [['.even and .i < 500', 5], [{ key_prefix: 'v1' }, 5], [{ keys: ['v3', 'v4', 'v5'] }, 3]]) {
    const body = { vector: row(queries, 0), k: 5, filter, with_attributes: true };
    const got = await searchKeys(w.url, body);
    assert.equal(got.results.length, count, JSON.stringify(filter));
    for (const h of got.results) assert.equal(h.attributes.i, Number(h.key.slice(1)));
    if (native) {
      const want = (await searchKeys(native.url, body)).results;
      assert.deepEqual(got.results.map((h) => [h.key, h.attributes]), want.map((h) => [h.key, h.attributes]), JSON.stringify(filter));
    }
  }

  // ---- bad input: same status and code as the native server ----
  const bad = [
    ['POST', '/v1/vectors', 'not json'],
    ['POST', '/v1/vectors', { vectors: [] }],
    ['POST', '/v1/vectors', { vectors: [{ key: 'x', vector: [1, 2] }] }],
    ['POST', '/v1/vectors', { vectors: [{ key: '', vector: row(base, 0) }] }],
    ['POST', '/v1/vectors', { vectors: [{ key: 'x', vector: row(base, 0), extra: 1 }] }],
    ['POST', '/v1/vectors', { vectors: [{ key: 'x', vector: row(base, 0), attributes: [1, 2] }] }],
    ['POST', '/v1/vectors', { vectors: [{ key: 'k'.repeat(1025), vector: row(base, 0) }] }],
    ['POST', '/v1/search', { vector: [1, 2, 3] }],
    ['POST', '/v1/search', { vector: row(queries, 0), k: 0 }],
    ['POST', '/v1/search', { vector: row(queries, 0), k: 100000 }],
    ['POST', '/v1/search', { vector: row(queries, 0), filter: '.a ==' }],
    ['POST', '/v1/search', { vector: row(queries, 0), filter: 5 }],
    ['POST', '/v1/search', { vector: row(queries, 0), filter: { key_prefix: 'a', keys: [] } }],
    ['POST', '/v1/search', { vector: row(queries, 0), filter_ef: 0, filter: '.i > 1' }],
    ['POST', '/v1/search', { vector: row(queries, 0), kk: 3 }],
    ['POST', '/v1/search', { vector: 'abc' }],
    ['GET', '/v1/vectors/absent', undefined],
    ['DELETE', '/v1/vectors/absent', undefined],
    ['GET', '/v1/vectors/absent/attributes', undefined],
    ['PUT', '/v1/vectors/v1/attributes', '[1]'],
    ['GET', '/v1/nothing', undefined],
  ];
  for (const [method, path, body] of bad) {
    const got = await call(w.url, method, path, body);
    assert.ok(got.status >= 400, `${method} ${path} ${JSON.stringify(body)?.slice(0, 80)}: ${got.status}`);
    if (native) {
      const want = await call(native.url, method, path, body);
      assert.equal(got.status, want.status, `${method} ${path} ${JSON.stringify(body)?.slice(0, 80)}: ${JSON.stringify(got.body)} vs native ${JSON.stringify(want.body)}`);
      assert.equal(got.body.error?.code, want.body.error?.code, `${method} ${path} ${JSON.stringify(body)?.slice(0, 80)}`);
    }
  }
  // Nothing changed.
  assert.equal((await call(w.url, 'GET', '/v1/info')).body.vectors, N);

  // ---- a failing object: partial by default, 503 in strict mode ----
  const fail = await call(w.url, 'POST', '/_test/shards/2', { fail: true });
  assert.equal(fail.status, 200, JSON.stringify(fail.body));
  const partial = await searchKeys(w.url, { vector: row(queries, 1), k: 10 });
  assert.equal(partial.partial, true);
  assert.deepEqual(partial.missing_shards, [2]);
  assert.equal(partial.results.length, 10);
  const strict = await call(w.url, 'POST', '/v1/search', { vector: row(queries, 1), k: 10, strict: true });
  assert.equal(strict.status, 503);
  assert.equal(strict.body.error.code, 'shards_unavailable');
  const health = await call(w.url, 'GET', '/healthz');
  assert.equal(health.status, 200);
  assert.equal(health.body, 'degraded: shards [2] down\n');
  await call(w.url, 'POST', '/_test/shards/2', { fail: false });

  // ---- durability: writes, deletes, a cut checkpoint, then SIGKILL ----
  // Random upserts (new and replacing) and deletes, each acknowledged.
  let rng = SEED;
  const next = () => (rng = (rng * 1103515245 + 12345) % 2147483648) / 2147483648;
  const live = new Map(Array.from({ length: N }, (_, i) => [`v${i}`, i]));
  // Shard 1 checkpoints often, in 16 KiB rows, and each of its
  // checkpoints is cut after 2 rows: rows of an unnamed generation are
  // left behind, which a restart must ignore.
  const hook = await call(w.url, 'POST', '/_test/shards/1', { failCheckpointAfter: 2, chunkSize: 16384, walLimit: 20000 });
  assert.equal(hook.status, 200, JSON.stringify(hook.body));
  for (let step = 0; step < 30; step++) {
    const r = next();
    if (r < 0.3 && live.size) {
      const key = [...live.keys()][Math.floor(next() * live.size)];
      const d = await call(w.url, 'DELETE', `/v1/vectors/${key}`);
      assert.equal(d.status, 200);
      live.delete(key);
    } else {
      const keys = Array.from({ length: 50 }, () => `v${Math.floor(next() * (N + 1000))}`);
      const vectors = [...new Set(keys)].map((key) => {
        const src = Math.floor(next() * base.n);
        return { key, vector: row(base, src) };
      });
      const u = await call(w.url, 'POST', '/v1/vectors', { vectors });
      assert.equal(u.status, 200, JSON.stringify(u.body));
      for (const v of vectors) live.set(v.key, v.vector);
    }
  }
  const before = (await call(w.url, 'GET', '/_test/describe/1')).body;
  w.proc.kill('SIGKILL');
  await new Promise((r) => w.proc.once('exit', r));
  w = await startWorkerd(dir, storage, await freePort());
  const after = await call(w.url, 'GET', '/v1/info');
  assert.equal(after.body.vectors, live.size, 'every acknowledged write, nothing else');
  // Every key that should be there is, with its latest vector; a sample of deleted ones are absent.
  let checked = 0;
  for (const [key, v] of live) {
    if (checked++ % 20) continue;
    const g = await call(w.url, 'GET', `/v1/vectors/${key}`);
    assert.equal(g.status, 200, key);
    const want = Array.isArray(v) ? v : row(base, v);
    assert.deepEqual(g.body.vector, want, key);
  }
  const described = (await call(w.url, 'GET', '/_test/describe/1')).body;
  console.log(`# shard 1 before kill: gen ${before.gen}, ${before.orphanRows} rows of cut checkpoints, ${before.walRecords} WAL records; after restart: gen ${described.gen}, ${described.orphanRows} orphan rows, wake-up ${described.wakeMs} ms`);
  assert.ok(before.orphanRows > 0, 'a cut checkpoint left rows behind');
  assert.equal(described.gen, before.gen, 'a cut checkpoint is never the one restored');
  assert.equal(described.orphanRows, 0);
  const q0 = await searchKeys(w.url, { vector: row(queries, 0), k: 10, ef: 200 });
  assert.equal(q0.partial, false);
  assert.ok(q0.results.every((h) => live.has(h.key)));
  assert.ok(answers.length === Q);
});

test('edge: `vecshard push` of a data dir built by `vecshard build` answers like `vecshard query`', { skip: hasCli ? false : 'set VECSHARD_CLI to the vecshard binary', timeout: 240000 }, async (t) => {
  const help = await run(CLI, ['push', '--help']);
  if (help.code !== 0) return t.skip('this vecshard binary has no `push` command');
  const root = mkdtempSync(join(tmpdir(), 'vecshard-push-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  // A subset of siftsmall as its own .fvecs, built offline into 4 shards.
  const n = 3000;
  const rec = 4 + 4 * base.dim;
  const buf = Buffer.alloc(n * rec);
  for (let i = 0; i < n; i++) {
    buf.writeInt32LE(base.dim, i * rec);
    for (let j = 0; j < base.dim; j++) buf.writeFloatLE(base.flat[i * base.dim + j], i * rec + 4 + 4 * j);
  }
  writeFileSync(join(root, 'sub.fvecs'), buf);
  const data = join(root, 'built');
  const b = await run(CLI, ['build', '--input', join(root, 'sub.fvecs'), '--out', data, '--shards', '4', '--metric', 'l2']);
  assert.equal(b.code, 0, b.stderr);
  const dir = deployDir(root);
  const storage = join(root, 'storage');
  mkdirSync(storage);
  const w = await startWorkerd(dir, storage, await freePort());
  t.after(() => w.proc.kill('SIGKILL'));
  // Something there before, which the push replaces.
  await upsertRange(w.url, 5000, 5100);
  // 64 KiB chunks, so each shard's snapshot arrives in several rows.
  const p = await run(CLI, ['push', '--url', w.url, '--data', data, '--token', TOKEN, '--chunk-size', '65536']);
  assert.equal(p.code, 0, p.stderr + p.stdout);
  console.log(`# ${p.stdout.trim().split('\n').join('\n# ')}`);
  const info = (await call(w.url, 'GET', '/v1/info')).body;
  assert.equal(info.vectors, n);
  const queried = await run(CLI, ['query', '--data', data, '--query-file', join(DATA, 'siftsmall', 'query.fvecs'), '--limit', '10', '--json', '--k', '10', '--ef', '64']);
  assert.equal(queried.code, 0, queried.stderr);
  const native = queried.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(native.length, 10);
  for (let q = 0; q < 10; q++) {
    const got = await searchKeys(w.url, { vector: row(queries, q), k: 10, ef: 64 });
    assert.deepEqual(got.results.map((h) => h.key), native[q].results.map((h) => h.key), `query ${q}`);
  }
  // A data dir with another shard count is refused, and nothing changes.
  const data2 = join(root, 'built2');
  assert.equal((await run(CLI, ['build', '--input', join(root, 'sub.fvecs'), '--out', data2, '--shards', '2', '--metric', 'l2'])).code, 0);
  const refused = await run(CLI, ['push', '--url', w.url, '--data', data2, '--token', TOKEN]);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /2 shards.*4|4.*2 shards/);
  assert.equal((await call(w.url, 'GET', '/v1/info')).body.vectors, n);
  // The pushed data survives a restart (it is the objects' snapshot now).
  w.proc.kill('SIGKILL');
});
