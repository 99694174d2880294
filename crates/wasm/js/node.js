// Node (ESM): the module is instantiated synchronously at import time, so
// `import { Index } from "vecshard"` is ready to use. `init()` exists for
// code shared with the browser and resolves at once.
import { readFileSync } from 'node:fs';
import { initSync as wasmInitSync } from './vecshard.js';

wasmInitSync({ module: readFileSync(new URL('./vecshard_bg.wasm', import.meta.url)) });

export { Index, VecshardError } from './api.js';

export default async function init() {}
export { init };
export function initSync() {}
