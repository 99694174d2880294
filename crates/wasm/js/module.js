// The compiled WebAssembly.Module this package runs on, recorded by the
// entry point that instantiated it. `Cluster` posts it to its workers so
// each one instantiates without fetching or compiling again
// (WebAssembly.Module is structured-cloneable in browsers and in Node's
// worker_threads).
let compiled;

export function setModule(module) {
  compiled = module;
}

export function wasmModule() {
  return compiled;
}
