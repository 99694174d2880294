// Browsers and bundlers (Vite, webpack 5, Parcel, esbuild with a file
// loader): `await init()` once, then use the classes. With no argument,
// init fetches vecshard_bg.wasm next to this file; `new URL(...,
// import.meta.url)` is the pattern bundlers recognise and copy as an asset.
// Pass a URL, a Response, bytes or a compiled WebAssembly.Module to
// override; `initSync({ module })` instantiates synchronously.
//
// `Cluster` runs on a second module, vecshard_cluster_bg.wasm, fetched
// from next to this file when the first Cluster starts (so a page that
// only uses Index never downloads it). `init(input, clusterInput)` /
// `initSync(input, clusterInput)` override where it comes from (same
// kinds of value as `input`).
//
// We compile the module ourselves (streaming when the server sends
// application/wasm) instead of letting the glue do it, because `Cluster`
// needs the compiled module to hand to its workers.
import wasmInit, { initSync as wasmInitSync } from './vecshard.js';
import { setClusterSource, setModule, wasmModule } from './module.js';

export { Index, IndexLoader, VecshardError } from './api.js';
export { Shard } from './shard.js';
export { Cluster, route, hashName } from './cluster.js';
export { stringifyManifest } from './manifest.js';
export { saveLocal, loadLocal, deleteLocal } from './storage.js';

async function compile(source) {
  if (source instanceof WebAssembly.Module) return source;
  source = await source;
  if (typeof source === 'string' || source instanceof URL || (typeof Request === 'function' && source instanceof Request)) {
    source = await fetch(source);
  }
  if (typeof Response === 'function' && source instanceof Response) {
    if (!source.ok) throw new Error(`vecshard: fetching the .wasm failed with HTTP ${source.status} (${source.url})`);
    if (source.headers.get('content-type')?.startsWith('application/wasm')) return WebAssembly.compileStreaming(source);
    return WebAssembly.compile(await source.arrayBuffer());
  }
  return WebAssembly.compile(source);
}

function clusterFrom(clusterInput) {
  setClusterSource(() => compile(clusterInput ?? new URL('./vecshard_cluster_bg.wasm', import.meta.url)));
}

export default async function init(input, clusterInput) {
  if (clusterInput !== undefined || !wasmModule()) clusterFrom(clusterInput);
  if (wasmModule()) return;
  const module = await compile(input ?? new URL('./vecshard_bg.wasm', import.meta.url));
  await wasmInit({ module_or_path: module });
  setModule(module);
}
export { init };

export function initSync(input, clusterInput) {
  if (clusterInput !== undefined || !wasmModule()) clusterFrom(clusterInput);
  if (wasmModule()) return;
  let module = input?.module ?? input;
  if (!(module instanceof WebAssembly.Module)) module = new WebAssembly.Module(module);
  wasmInitSync({ module });
  setModule(module);
}
