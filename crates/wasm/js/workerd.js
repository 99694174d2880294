// Cloudflare Workers (workerd) and other runtimes that forbid compiling
// wasm at run time: the .wasm import is compiled at deploy time and arrives
// as a WebAssembly.Module, which initSync instantiates. Wrangler handles
// the import by itself; a raw workerd config lists the file as a `wasm`
// module named "vecshard_bg.wasm" next to this one. (`Cluster.create` needs
// workers, which isolates do not have: shard across isolates instead, one
// snapshot per Worker.)
import module from './vecshard_bg.wasm';
import { initSync as wasmInitSync } from './vecshard.js';
import { setClusterSource, setModule } from './module.js';

wasmInitSync({ module });
setModule(module);
// Only Index here: the Cluster module is not imported (isolates have no
// workers), so a Worker bundle holds one .wasm.
setClusterSource(async () => {
  throw Object.assign(new Error('Cluster needs Web Workers or Node worker_threads, and this runtime has neither; use Index, one per isolate'), {
    code: 'invalid_config',
  });
});

export { Index, IndexLoader, VecshardError } from './api.js';
export { Cluster, route, hashName } from './cluster.js';
export { stringifyManifest } from './manifest.js';
export { saveLocal, loadLocal, deleteLocal } from './storage.js';

export default async function init() {}
export { init };
export function initSync() {}
