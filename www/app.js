// The demo page: 10,000 GloVe words in a 4-shard vecshard Cluster, one Web
// Worker per shard. Three ways to get the index:
//   - build it here (download the vectors, addBatch in slices for a progress bar);
//   - load a data dir the native CLI built (`vecshard build`, copied into
//     dist/ by scripts/build-www.sh): cluster.json + shard-00i/snapshot.bin;
//   - open the copy an earlier visit saved with saveLocal (OPFS, or IndexedDB).
// Keys are row numbers ("0".."9999"), as the CLI keys .fvecs rows; the words
// come from base_words.txt. A query's vector is fetched from the cluster
// itself (`get`), so a loaded snapshot needs no vector download.
import init, { Cluster, VecshardError, deleteLocal, loadLocal, saveLocal } from './dist/vecshard/web.js';

const DATA = './dist/data/glove100-10k';
const CLI_DIR = './dist/data/glove100-10k-cli';
const SAVE_NAME = 'glove100-10k-demo';
const SHARDS = 4;
const K = 10;
const SLICE = 250; // vectors per addBatch while building: the progress bar's step
const EXAMPLES = ['university', 'russia', 'philosophy', 'chelsea', 'wheat', 'subway', 'egypt', 'summer'];

const $ = (id) => document.getElementById(id);
const state = { cluster: undefined, words: [], ids: new Map(), busy: false };
// For tests and the curious: window.demo.cluster is the live Cluster.
window.demo = state;

const fmtInt = (n) => n.toLocaleString('en-US');
// Without cross-origin isolation, browsers round performance.now() to 0.1 ms.
const fmtMs = (ms) => (ms >= 100 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(1)} ms`);
const fmtBytes = (b) => (b >= 1 << 20 ? `${(b / (1 << 20)).toFixed(1)} MB` : `${(b / 1024).toFixed(0)} KB`);
const fmtS = (ms) => `${(ms / 1000).toFixed(1)} s`;

function setState(s, label) {
  document.body.dataset.state = s;
  $('status').textContent = label;
}

function progress(frac, text) {
  $('progress').hidden = false;
  $('progress-fill').style.width = `${(frac * 100).toFixed(1)}%`;
  $('progress-pct').textContent = `${Math.round(frac * 100)}%`;
  if (text) $('progress-text').textContent = text;
}

function showError(e) {
  console.error(e);
  const msg = e instanceof VecshardError ? `${e.message} (${e.code})` : e?.message ?? String(e);
  $('error').textContent = msg;
  $('error').hidden = false;
}

/** fetch() with download progress (0..1) when the size is known. */
async function fetchBytes(url, onProgress) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  const total = Number(res.headers.get('content-length')) || 0;
  if (!res.body || !total) return new Uint8Array(await res.arrayBuffer());
  const out = new Uint8Array(total);
  let at = 0;
  for (const reader = res.body.getReader(); ; ) {
    const { done, value } = await reader.read();
    if (done) break;
    out.set(value, at);
    at += value.length;
    onProgress?.(at / total);
  }
  return out.subarray(0, at);
}

/** .fvecs (each row: int32 dim, dim float32) -> { dim, n, flat }. */
function parseFvecs(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dim = view.getInt32(0, true);
  const rec = 4 + 4 * dim;
  const n = bytes.byteLength / rec;
  if (!Number.isInteger(n)) throw new Error('base.fvecs is not a .fvecs file');
  const flat = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) flat.set(new Float32Array(bytes.buffer.slice(bytes.byteOffset + i * rec + 4, bytes.byteOffset + (i + 1) * rec)), i * dim);
  return { dim, n, flat };
}

async function loadWords() {
  if (state.words.length) return;
  const text = await (await fetch(`${DATA}/base_words.txt`)).text();
  state.words = text.trimEnd().split('\n');
  state.words.forEach((w, i) => {
    if (!state.ids.has(w)) state.ids.set(w, i);
  });
}

function lock(busy) {
  state.busy = busy;
  for (const id of ['build', 'load-cli', 'load-saved', 'save', 'forget']) $(id).disabled = busy;
}

async function replaceCluster(make, label, done) {
  if (state.busy) return;
  lock(true);
  $('error').hidden = true;
  setState('loading', label);
  const t0 = performance.now();
  try {
    state.cluster?.free();
    state.cluster = undefined;
    await init();
    state.cluster = await make();
    await ready(performance.now() - t0, done);
  } catch (e) {
    setState('error', 'failed');
    showError(e);
  } finally {
    lock(false);
  }
}

async function buildHere() {
  progress(0, 'Downloading 10,000 word vectors…');
  const [bytes] = await Promise.all([fetchBytes(`${DATA}/base.fvecs`, (f) => progress(f * 0.15)), loadWords()]);
  const { dim, n, flat } = parseFvecs(bytes);
  progress(0.15, `Starting ${SHARDS} workers…`);
  const cluster = await Cluster.create({ shards: SHARDS, dim, metric: 'cosine', seed: 42 });
  const keys = Array.from({ length: n }, (_, i) => String(i));
  const t0 = performance.now();
  for (let at = 0; at < n; at += SLICE) {
    const end = Math.min(n, at + SLICE);
    // subarray: no copy here; the package copies once into wasm memory.
    await cluster.addBatch(keys.slice(at, end), flat.subarray(at * dim, end * dim));
    const rate = end / ((performance.now() - t0) / 1000);
    progress(0.15 + 0.85 * (end / n), `Indexing ${fmtInt(end)} of ${fmtInt(n)} words · ${fmtInt(Math.round(rate))} / s`);
  }
  return cluster;
}

async function loadCli() {
  progress(0, 'Fetching the CLI-built data dir…');
  await loadWords();
  const manifest = await (await fetch(`${CLI_DIR}/cluster.json`)).text();
  const n = JSON.parse(manifest).shards;
  let done = 0;
  const shards = await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const b = await fetchBytes(`${CLI_DIR}/shard-${String(i).padStart(3, '0')}/snapshot.bin`);
      progress((++done / n) * 0.8, `Fetched ${done} of ${n} shard snapshots`);
      return b;
    }),
  );
  progress(0.85, 'Loading the snapshots into the workers…');
  // The files as the CLI wrote them: cluster.json text and the snapshot bytes.
  return Cluster.load({ manifest, shards });
}

async function loadSaved() {
  progress(0.1, 'Reading the saved copy…');
  const [saved] = await Promise.all([loadLocal(SAVE_NAME), loadWords()]);
  if (!saved) throw new Error('There is no saved copy in this browser any more.');
  progress(0.6, 'Loading the snapshots into the workers…');
  return Cluster.load(saved);
}

async function ready(ms, done) {
  progress(1, `Ready: ${done}`);
  const stats = await state.cluster.stats();
  const total = stats.reduce((s, x) => s + x.size, 0);
  const bytes = stats.reduce((s, x) => s + x.indexBytes, 0);
  const max = Math.max(...stats.map((s) => s.size));
  $('facts').hidden = false;
  $('fact-n').textContent = fmtInt(total);
  $('fact-shards').textContent = String(stats.length);
  $('fact-time').textContent = fmtS(ms);
  $('fact-bytes').textContent = fmtBytes(bytes);
  $('shards').hidden = false;
  $('shards').innerHTML = '';
  stats.forEach((s, i) => {
    const el = document.createElement('div');
    el.className = 'shard';
    el.dataset.shard = String(i);
    el.innerHTML = `<div class="shard-top"><b>Shard ${i}</b><span class="size">${fmtInt(s.size)} words</span></div>
      <div class="bar"><div class="fill" style="width:${((s.size / max) * 100).toFixed(1)}%"></div></div>
      <div class="meta">${fmtBytes(s.indexBytes)} · ${s.maxLevel + 1} layers · ${s.kernel} · worker ${i}</div>`;
    $('shards').append(el);
  });
  $('save-row').hidden = false;
  setState('ready', `${fmtInt(total)} words`);
  $('q').disabled = false;
  $('go').disabled = false;
  $('q').placeholder = 'Type a word, e.g. university';
  for (const c of document.querySelectorAll('.chip')) c.disabled = false;
  $('q').focus();
}

// ------------------------------------------------------------------ search --

async function search(word) {
  word = word.trim().toLowerCase();
  $('suggest').hidden = true;
  $('error').hidden = true;
  if (!state.cluster || !word) return;
  const id = state.ids.get(word);
  if (id === undefined) {
    showError(new Error(`"${word}" is not one of the 10,000 words here. Try one of the suggestions.`));
    return;
  }
  $('q').value = word;
  try {
    const vector = await state.cluster.get(String(id));
    // k + 1: the word itself comes back first, at distance 0.
    const r = await state.cluster.search(vector, K + 1, { timings: true });
    const hits = r.keys.map((k, i) => ({ id: Number(k), d: r.distances[i] })).filter((h) => h.id !== id).slice(0, K);
    render(word, hits, r);
  } catch (e) {
    showError(e);
  }
}

function render(word, hits, r) {
  $('empty').hidden = true;
  $('results').hidden = false;
  const ol = $('hits');
  ol.innerHTML = '';
  const maxD = Math.max(...hits.map((h) => h.d), 1e-9);
  for (const h of hits) {
    const li = document.createElement('li');
    const w = state.words[h.id] ?? `#${h.id}`;
    li.dataset.word = w;
    li.innerHTML = `<span class="word"><a href="#${encodeURIComponent(w)}"></a><span class="shard-tag"></span></span>
      <span class="dist-bar" title="cosine distance"><span style="width:${((1 - h.d / (maxD * 1.05)) * 100).toFixed(1)}%"></span></span>
      <span class="dist">${h.d.toFixed(3)}</span>`;
    li.querySelector('a').textContent = w;
    li.querySelector('.shard-tag').textContent = `shard ${shardOf(h.id)}`;
    ol.append(li);
  }
  const { shardMs, totalMs } = r.timings;
  const max = Math.max(totalMs, ...Array.from(shardMs).filter(Number.isFinite));
  const rows = Array.from(shardMs, (ms, i) => bar(`Shard ${i}`, ms, max, ''));
  rows.push(bar('Merged', totalMs, max, 'merged'));
  $('timing-bars').innerHTML = rows.join('');
  $('timing-note').textContent =
    `Each shard searched its ${fmtInt(Math.round(10000 / SHARDS))}-ish words in its own worker, in parallel; "merged" is the whole call: ` +
    `sending the query to ${shardMs.length} workers, the slowest shard, and merging their top ${K + 1} lists by distance.` +
    (r.partial ? ` Shards ${r.missingShards.join(', ')} did not answer.` : '');
  document.body.dataset.query = word;
  history.replaceState(null, '', `#${encodeURIComponent(word)}`);
}

function bar(label, ms, max, cls) {
  const w = Number.isFinite(ms) ? (ms / max) * 100 : 0;
  return `<div class="trow ${cls}"><span>${label}</span><div class="bar"><div class="fill" style="width:${w.toFixed(1)}%"></div></div><span class="ms">${Number.isFinite(ms) ? fmtMs(ms) : 'no answer'}</span></div>`;
}

// Which shard holds a key, for the small "shard i" tag: the same routing the cluster uses.
let route;
function shardOf(id) {
  return route ? route(String(id), SHARDS) : '?';
}

// ------------------------------------------------------------- suggestions --

let selected = -1;
function suggest() {
  const q = $('q').value.trim().toLowerCase();
  const ul = $('suggest');
  selected = -1;
  if (!q || !state.words.length) {
    ul.hidden = true;
    return;
  }
  const starts = [];
  for (const w of state.words) {
    if (w.startsWith(q)) starts.push(w);
    if (starts.length >= 8) break;
  }
  if (!starts.length || (starts.length === 1 && starts[0] === q)) {
    ul.hidden = true;
    return;
  }
  ul.innerHTML = '';
  for (const w of starts) {
    const li = document.createElement('li');
    li.setAttribute('role', 'option');
    li.innerHTML = `<b></b>`;
    li.querySelector('b').textContent = w.slice(0, q.length);
    li.append(w.slice(q.length));
    li.addEventListener('mousedown', (e) => {
      e.preventDefault();
      search(w);
    });
    ul.append(li);
  }
  ul.hidden = false;
}

function moveSelection(delta) {
  const items = [...$('suggest').children];
  if ($('suggest').hidden || !items.length) return false;
  selected = (selected + delta + items.length) % items.length;
  items.forEach((li, i) => li.setAttribute('aria-selected', String(i === selected)));
  $('q').value = items[selected].textContent;
  return true;
}

// ------------------------------------------------------------------ saving --

async function save() {
  if (!state.cluster || state.busy) return;
  lock(true);
  $('save-note').textContent = 'Saving…';
  try {
    const t0 = performance.now();
    const r = await saveLocal(SAVE_NAME, await state.cluster.save());
    const where = r.backend === 'opfs' ? 'the origin private file system (OPFS)' : 'IndexedDB';
    $('save-note').textContent = `Saved ${fmtBytes(r.bytes)} to ${where} in ${fmtS(performance.now() - t0)}. Reload the page to open it.`;
    $('save-note').dataset.backend = r.backend;
    $('forget').hidden = false;
  } catch (e) {
    $('save-note').textContent = '';
    showError(e);
  } finally {
    lock(false);
  }
}

async function forget() {
  await deleteLocal(SAVE_NAME);
  $('save-note').textContent = 'The saved copy was deleted.';
  $('forget').hidden = true;
  $('load-saved').hidden = true;
}

// ------------------------------------------------------------------- start --

async function start() {
  for (const w of EXAMPLES) {
    const b = document.createElement('button');
    b.className = 'chip';
    b.type = 'button';
    b.textContent = w;
    b.disabled = true;
    b.addEventListener('click', () => search(w));
    $('chips').append(b);
  }
  $('build').addEventListener('click', () => replaceCluster(buildHere, 'building…', 'built in this browser'));
  $('load-cli').addEventListener('click', () => replaceCluster(loadCli, 'loading…', 'loaded the data dir the vecshard CLI built'));
  $('load-saved').addEventListener('click', () => replaceCluster(loadSaved, 'loading…', 'opened the copy saved in this browser'));
  $('save').addEventListener('click', save);
  $('forget').addEventListener('click', forget);
  $('search-form').addEventListener('submit', (e) => {
    e.preventDefault();
    search($('q').value);
  });
  $('q').addEventListener('input', suggest);
  $('q').addEventListener('blur', () => setTimeout(() => ($('suggest').hidden = true), 100));
  $('q').addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown' && moveSelection(1)) e.preventDefault();
    if (e.key === 'ArrowUp' && moveSelection(-1)) e.preventDefault();
    if (e.key === 'Escape') $('suggest').hidden = true;
  });
  $('hits').addEventListener('click', (e) => {
    const a = e.target.closest('a');
    if (!a) return;
    e.preventDefault();
    search(a.textContent);
  });

  await init();
  ({ route } = await import('./dist/vecshard/web.js'));
  // Offer what is there: a CLI-built data dir next to the page, a saved copy.
  const [cli, saved] = await Promise.all([
    fetch(`${CLI_DIR}/cluster.json`, { method: 'HEAD' }).then((r) => r.ok, () => false),
    loadLocal(SAVE_NAME).then((s) => !!s, () => false),
  ]);
  $('load-cli').hidden = !cli;
  $('load-saved').hidden = !saved;
  $('forget').hidden = !saved;
  if (saved) $('save-note').textContent = 'A copy saved earlier is in this browser.';
  document.body.dataset.booted = 'true';
}

start().catch((e) => {
  setState('error', 'failed');
  showError(e);
});
