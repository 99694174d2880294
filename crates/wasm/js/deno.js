// Deno: the module is read, compiled and instantiated at import time
// (top-level await), so the classes are ready after `import`. Reading the
// file needs --allow-read for the package directory.
import { initSync as wasmInitSync } from './vecshard.js';
import { setModule } from './module.js';

const module = await WebAssembly.compile(await Deno.readFile(new URL('./vecshard_bg.wasm', import.meta.url)));
wasmInitSync({ module });
setModule(module);

export { Index, VecshardError } from './api.js';
export { Cluster, route, hashName } from './cluster.js';
export { stringifyManifest } from './manifest.js';
export { saveLocal, loadLocal, deleteLocal } from './storage.js';

export default async function init() {}
export { init };
export function initSync() {}
