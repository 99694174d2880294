// Node (ESM): the module is compiled and instantiated at import time, so
// `import { Index } from "vecshard"` is ready to use. `init()` exists for
// code shared with the browser and resolves at once.
import { readFileSync } from 'node:fs';
import { initSync as wasmInitSync } from './vecshard.js';
import { setModule } from './module.js';

const module = new WebAssembly.Module(readFileSync(new URL('./vecshard_bg.wasm', import.meta.url)));
wasmInitSync({ module });
setModule(module);

export { Index, VecshardError } from './api.js';
export { Cluster, route, hashName } from './cluster.js';
export { stringifyManifest } from './manifest.js';
export { saveLocal, loadLocal, deleteLocal } from './storage.js';

export default async function init() {}
export { init };
export function initSync() {}
