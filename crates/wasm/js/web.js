// Browsers and bundlers (Vite, webpack 5, Parcel, esbuild with a file
// loader): `await init()` once, then use the classes. With no argument,
// init fetches vecshard_bg.wasm next to this file; `new URL(...,
// import.meta.url)` is the pattern bundlers recognise and copy as an asset.
// Pass a URL, a Response, bytes or a compiled WebAssembly.Module to
// override; `initSync({ module })` instantiates synchronously.
import wasmInit, { initSync as wasmInitSync } from './vecshard.js';

export { Index, VecshardError } from './api.js';

export default async function init(input) {
  await wasmInit(input === undefined ? undefined : { module_or_path: input });
}
export { init };

export function initSync(input) {
  wasmInitSync(input?.module !== undefined ? input : { module: input });
}
