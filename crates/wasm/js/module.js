// The compiled WebAssembly modules this package runs on.
//
// Two modules (scripts/build-npm.sh): `vecshard_bg.wasm` holds `Index`
// and is instantiated by the entry point (web.js, node.js, ...);
// `vecshard_cluster_bg.wasm` holds the coordinator and the shard a worker
// hosts, and is compiled and instantiated only when the first `Cluster` is
// created or loaded, so an `Index` user never downloads it. Each entry
// point says how to get the cluster module's bytes (`setClusterSource`);
// `Cluster` posts the compiled module to its workers so each instantiates
// without fetching or compiling again (WebAssembly.Module is
// structured-cloneable in browsers and in Node's worker_threads).
let compiled;
let clusterSource;
let cluster;

export function setModule(module) {
  compiled = module;
}

export function wasmModule() {
  return compiled;
}

/** `source()` resolves the compiled cluster module (called at most once per success). */
export function setClusterSource(source) {
  clusterSource = source;
}

/**
 * The cluster module, compiled and instantiated in this thread: resolves
 * `{ glue, module }` (glue: the wasm-bindgen exports of vecshard_cluster.js).
 */
export function clusterModule() {
  if (!cluster) {
    cluster = (async () => {
      if (!clusterSource) throw Object.assign(new Error('the wasm module is not initialized; await init() first'), { code: 'invalid_config' });
      const module = await clusterSource();
      const glue = await import('./vecshard_cluster.js');
      glue.initSync({ module });
      return { glue, module };
    })();
    // A failed load (a network error) may be retried by the next Cluster.
    cluster.catch(() => (cluster = undefined));
  }
  return cluster;
}

/** An entry point that instantiated the cluster module itself (edge.js). */
export function setClusterGlue(glue, module) {
  cluster = Promise.resolve({ glue, module });
}
