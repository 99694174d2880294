// Deno: the module is read and instantiated at import time (top-level
// await), so the classes are ready after `import`. Needs --allow-read for
// the package directory (Deno grants it for npm packages in node_modules).
import { initSync as wasmInitSync } from './vecshard.js';

const bytes = await Deno.readFile(new URL('./vecshard_bg.wasm', import.meta.url));
wasmInitSync({ module: bytes });

export { Index, VecshardError } from './api.js';

export default async function init() {}
export { init };
export function initSync() {}
