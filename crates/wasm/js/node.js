// Node (ESM): the Index module is compiled and instantiated at import time,
// so `import { Index } from "vecshard"` is ready to use. The Cluster module
// is read and compiled when the first Cluster starts. `init()` exists for
// code shared with the browser and resolves at once.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { initSync as wasmInitSync } from './vecshard.js';
import { setClusterSource, setModule } from './module.js';

const module = new WebAssembly.Module(readFileSync(new URL('./vecshard_bg.wasm', import.meta.url)));
wasmInitSync({ module });
setModule(module);
setClusterSource(async () => WebAssembly.compile(await readFile(new URL('./vecshard_cluster_bg.wasm', import.meta.url))));

export { Index, IndexLoader, VecshardError } from './api.js';
export { Shard } from './shard.js';
export { Cluster, route, hashName } from './cluster.js';
export { stringifyManifest } from './manifest.js';
export { saveLocal, loadLocal, deleteLocal } from './storage.js';

export default async function init() {}
export { init };
export function initSync() {}
