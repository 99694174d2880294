// Edge fitness in workerd (issue 11 § 4): cold start of the shard objects
// and search time against native, on a data dir built by `vecshard build`.
//
// 1. Copies edge/cloudflare (src/, workerd.capnp) and the installed package
//    into OUT/deploy, with the deployment's settings (--shards, --dim,
//    --metric, --quantization, --ef-construction) written into the copy of
//    workerd.capnp (the committed config is the CI test's: 4 × 128-d l2).
// 2. Starts workerd on local-disk storage OUT/storage and runs
//    `vecshard push --url ... --data DIR` (--push: the binary with `push`).
// 3. Cold start, --cold times: SIGTERM workerd, start it again on the same
//    storage, wait until it listens (an unauthenticated /healthz answers
//    401 without touching any object), then time one search from sending it
//    to its answer: every object wakes (restores its snapshot from SQLite
//    rows, replays its WAL) inside that request. Each object's own wake-up
//    time comes from the test hook /_test/describe/{i} afterwards.
// 4. Search, with --native (a `vecshard` binary with `serve`): starts
//    `vecshard serve --data DIR` and sends the same --queries queries (k 10,
//    --ef) to both, interleaved, each through HTTP on 127.0.0.1; p50/p90 of
//    the client time and of the server's took_us.
//
// Usage (from a project with the package installed, e.g. wasm-tests/.work/proj):
//   node bench/edge-workerd.mjs --data DIR --shards 4 --dim 100 --metric cosine \
//     --push /path/to/vecshard --out /tmp/x [--quantization i8] [--cold 3] \
//     [--native /path/to/vecshard --query-file q.fvecs --queries 200 --ef 64] \
//     [--port 18100] [--workerd path] [--edge edge/cloudflare]
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadavg } from 'node:os';
import { bin, packageDir, run, start, until } from '../lib/proc.mjs';
import { readFvecs } from '../lib/data.mjs';

const args = Object.fromEntries(process.argv.slice(2).reduce((a, x, i, all) => (x.startsWith('--') ? [...a, [x.slice(2), all[i + 1]]] : a), []));
const need = (k) => args[k] ?? (console.error(`--${k} is required`), process.exit(2));
const DATA = resolve(need('data'));
const OUT = resolve(need('out'));
const SHARDS = Number(need('shards'));
const DIM = Number(need('dim'));
const METRIC = args.metric ?? 'cosine';
const QUANT = args.quantization ?? 'f32';
const EFC = args['ef-construction'];
const COLD = Number(args.cold ?? 3);
const PORT = Number(args.port ?? 18100);
const EF = Number(args.ef ?? 64);
const NQ = Number(args.queries ?? 200);
const EDGE = resolve(args.edge ?? (process.env.VECSHARD_EDGE || join(dirname(fileURLToPath(import.meta.url)), '../../edge/cloudflare')));
const WORKERD = args.workerd ?? bin('workerd');
const TOKEN = 'bench-secret';
const auth = { authorization: `Bearer ${TOKEN}` };
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

// ---- the deployment ----
rmSync(OUT, { recursive: true, force: true });
const deploy = join(OUT, 'deploy');
const storage = join(OUT, 'storage');
mkdirSync(storage, { recursive: true });
cpSync(join(EDGE, 'src'), join(deploy, 'src'), { recursive: true });
cpSync(packageDir(), join(deploy, 'node_modules', 'vecshard'), { recursive: true });
let capnp = readFileSync(join(EDGE, 'workerd.capnp'), 'utf8');
const setVar = (name, value) => {
  const re = new RegExp(`\\(name = "${name}", text = "[^"]*"\\),\\n`);
  const line = `(name = "${name}", text = "${value}"),\n`;
  capnp = re.test(capnp) ? capnp.replace(re, line) : capnp.replace(/(\(name = "VECSHARD_METRIC"[^\n]*\n)/, `$1    ${line}`);
};
setVar('VECSHARD_SHARDS', SHARDS);
setVar('VECSHARD_DIM', DIM);
setVar('VECSHARD_METRIC', METRIC);
setVar('VECSHARD_QUANTIZATION', QUANT);
if (EFC) setVar('VECSHARD_EF_CONSTRUCTION', EFC);
writeFileSync(join(deploy, 'workerd.capnp'), capnp);

let w;
async function startWorkerd() {
  const proc = start(WORKERD, ['serve', join(deploy, 'workerd.capnp'), '--directory-path', `do-storage=${storage}`, '--socket-addr', `http=127.0.0.1:${PORT}`], {
    cwd: deploy,
    env: { ...process.env, VECSHARD_TOKEN: TOKEN, VECSHARD_TEST_HOOKS: '1' },
  });
  const url = `http://127.0.0.1:${PORT}`;
  // 401 without a token: the Worker answers, no object is touched.
  await until(async () => {
    if (proc.exitCode !== null) throw new Error(`workerd exited ${proc.exitCode}:\n${proc.log()}`);
    return (await fetch(`${url}/healthz`)).status === 401;
  }, 60000, `workerd on ${url}`);
  return { proc, url };
}
async function stopWorkerd() {
  if (!w) return;
  const exited = new Promise((r) => w.proc.once('exit', r));
  w.proc.kill('SIGTERM');
  const t = setTimeout(() => w.proc.kill('SIGKILL'), 10000);
  await exited;
  clearTimeout(t);
  w = undefined;
}
process.on('exit', () => w?.proc.kill('SIGKILL'));

async function call(url, method, path, body) {
  const r = await fetch(url + path, { method, headers: { ...auth, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

const queries = args['query-file'] ? readFvecs(args['query-file']) : undefined;
const qvec = (i) => {
  if (queries) return Array.from(queries.flat.subarray((i % queries.n) * queries.dim, (i % queries.n + 1) * queries.dim));
  let s = (i + 1) * 2654435761;
  return Array.from({ length: DIM }, () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1);
};

console.log(`# edge-workerd: data ${DATA}, ${SHARDS} shard(s) × ${DIM}-d ${METRIC} ${QUANT}; workerd ${WORKERD}; node ${process.version}; load ${load()}`);
w = await startWorkerd();
const t0 = performance.now();
const p = await run(args.push ?? need('push'), ['push', '--url', w.url, '--data', DATA, '--token', TOKEN]);
if (p.code !== 0) throw new Error(`vecshard push failed:\n${p.stderr}${p.stdout}`);
console.log(`# push: ${((performance.now() - t0) / 1000).toFixed(1)} s; ${p.stdout.trim().split('\n').join(' | ')}`);
const info = await call(w.url, 'GET', '/v1/info');
console.log(`# pushed: ${info.vectors} vectors, per shard ${info.per_shard.map((s) => s.vectors).join(' ')}`);

// ---- cold start ----
const cold = [];
for (let r = 0; r < COLD; r++) {
  await stopWorkerd();
  w = await startWorkerd();
  const l = load();
  const t = performance.now();
  const got = await call(w.url, 'POST', '/v1/search', { vector: qvec(r), k: 10, ef: EF });
  const ms = performance.now() - t;
  if (got.partial) throw new Error(`cold search was partial: ${JSON.stringify(got.missing_shards)}`);
  const wake = [];
  for (let i = 0; i < SHARDS; i++) wake.push((await call(w.url, 'GET', `/_test/describe/${i}`)).wakeMs);
  const t2 = performance.now();
  await call(w.url, 'POST', '/v1/search', { vector: qvec(r + 1), k: 10, ef: EF });
  const warm = performance.now() - t2;
  cold.push({ ms, wake, warm, load: l });
  console.log(`# cold start ${r + 1}: first search answered in ${ms.toFixed(0)} ms (objects' wake-up ${wake.join(', ')} ms; the next search ${warm.toFixed(1)} ms); load ${l}`);
}
const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
const pct = (a, q) => [...a].sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor(q * a.length))];
if (cold.length) {
  const perObj = Array.from({ length: SHARDS }, (_, i) => med(cold.map((c) => c.wake[i])));
  console.log(`cold start, median of ${cold.length}: first search ${med(cold.map((c) => c.ms)).toFixed(0)} ms; object wake-up (median per object) ${perObj.join(', ')} ms; max object wake-up (median) ${med(cold.map((c) => Math.max(...c.wake)))} ms`);
}

// ---- search against native ----
if (args.native) {
  const np = PORT + 1;
  const nproc = start(args.native, ['serve', '--data', DATA, '--listen', `127.0.0.1:${np}`, '--token', TOKEN]);
  process.on('exit', () => nproc.kill('SIGKILL'));
  const nurl = `http://127.0.0.1:${np}`;
  await until(async () => {
    if (nproc.exitCode !== null) throw new Error(`vecshard serve exited ${nproc.exitCode}:\n${nproc.log()}`);
    return (await fetch(`${nurl}/healthz`, { headers: auth })).ok;
  }, 300000, `vecshard serve on ${nurl}`);
  // Warm both (one search each).
  await call(nurl, 'POST', '/v1/search', { vector: qvec(0), k: 10, ef: EF });
  await call(w.url, 'POST', '/v1/search', { vector: qvec(0), k: 10, ef: EF });
  const t = { edge: [], native: [], edgeTook: [], nativeTook: [] };
  let same = 0;
  const l0 = load();
  for (let q = 0; q < NQ; q++) {
    const body = { vector: qvec(q), k: 10, ef: EF };
    const order = q % 2 ? ['native', 'edge'] : ['edge', 'native'];
    const keys = {};
    for (const side of order) {
      const s = performance.now();
      const got = await call(side === 'edge' ? w.url : nurl, 'POST', '/v1/search', body);
      t[side].push(performance.now() - s);
      t[`${side}Took`].push(got.took_us / 1000);
      keys[side] = got.results.map((h) => h.key).join(',');
    }
    if (keys.edge === keys.native) same++;
  }
  const f = (a) => `${pct(a, 0.5).toFixed(2)} / ${pct(a, 0.9).toFixed(2)}`;
  console.log(`search k 10 ef ${EF}, ${NQ} queries interleaved (load ${l0} → ${load()}); p50 / p90 ms:`);
  console.log(`| side | client p50 / p90 ms | server took p50 / p90 ms |`);
  console.log(`|---|---|---|`);
  console.log(`| workerd (${SHARDS} Durable Objects) | ${f(t.edge)} | ${f(t.edgeTook)} |`);
  console.log(`| vecshard serve | ${f(t.native)} | ${f(t.nativeTook)} |`);
  console.log(`# same top-10 keys on both sides: ${same}/${NQ} queries`);
  nproc.kill('SIGTERM');
}
await stopWorkerd();
