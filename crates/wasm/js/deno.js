// Deno: the Index module is read, compiled and instantiated at import time
// (top-level await), so the classes are ready after `import`; the Cluster
// module is read when the first Cluster starts. Reading the files needs
// --allow-read for the package directory.
import { initSync as wasmInitSync } from './vecshard.js';
import { setClusterSource, setModule } from './module.js';

const module = await WebAssembly.compile(await Deno.readFile(new URL('./vecshard_bg.wasm', import.meta.url)));
wasmInitSync({ module });
setModule(module);
setClusterSource(async () => WebAssembly.compile(await Deno.readFile(new URL('./vecshard_cluster_bg.wasm', import.meta.url))));

export { Index, IndexLoader, VecshardError } from './api.js';
export { Shard } from './shard.js';
export { Cluster, route, hashName } from './cluster.js';
export { stringifyManifest } from './manifest.js';
export { saveLocal, loadLocal, deleteLocal } from './storage.js';

export default async function init() {}
export { init };
export function initSync() {}
