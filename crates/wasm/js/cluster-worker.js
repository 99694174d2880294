// One shard per worker (a Web Worker in browsers and Deno, a worker_thread
// in Node). The worker is a pipe: request bytes in, response bytes out,
// through vecshard_shard::Shard::handle_bytes, the same handler the native
// wasmtime workers and the HTTP shard endpoint run. Buffers are
// transferred, never copied, in both directions.
//
// Messages in:  { type: 'init', module: WebAssembly.Module }
//               { id, bytes: ArrayBuffer }   (a postcard Request)
// Messages out: { type: 'ready' } | { type: 'fatal', message }
//               { id, bytes: ArrayBuffer, ms }  (a postcard Response; ms:
//                                             time spent in the shard)
//               { id, trapped: message }     (the instance trapped; the
//                                             main thread retires the worker)
import { initSync, RawShard } from './vecshard_cluster.js';

let shard;

function handle(msg, reply) {
  if (msg.type === 'init') {
    try {
      initSync({ module: msg.module });
      shard = new RawShard();
      reply({ type: 'ready' });
    } catch (e) {
      reply({ type: 'fatal', message: String(e?.message ?? e) });
    }
    return;
  }
  try {
    const t0 = performance.now();
    const out = shard.handle(new Uint8Array(msg.bytes));
    reply({ id: msg.id, bytes: out.buffer, ms: performance.now() - t0 }, [out.buffer]);
  } catch (e) {
    // A wasm trap (out of memory, a bug): this instance can no longer be trusted.
    reply({ id: msg.id, trapped: String(e?.message ?? e) });
  }
}

if (typeof WorkerGlobalScope !== 'undefined' && self instanceof WorkerGlobalScope) {
  self.onmessage = (e) => handle(e.data, (m, t) => self.postMessage(m, t));
} else {
  const { parentPort } = await import('node:worker_threads');
  parentPort.on('message', (m) => handle(m, (r, t) => parentPort.postMessage(r, t)));
}
