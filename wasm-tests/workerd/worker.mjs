// A Cloudflare Worker that serves one vecshard snapshot: POST /search with
// {"vector": [...], "k": 10, "ef"?: 64} answers {"keys": [...],
// "distances": [...]}. The snapshot arrives as a `data` module (an
// ArrayBuffer), the way a deployed Worker would bundle it; with wrangler,
// `import snapshot from "./shard.bin"` plus a Data rule does the same.
import { Index, VecshardError } from 'vecshard';
import snapshot from './snapshot.bin';

const index = Index.fromBytes(snapshot);

export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === '/info') return Response.json({ size: index.size, dim: index.dim, metric: index.metric });
    if (request.method !== 'POST' || url.pathname !== '/search') return new Response('POST /search\n', { status: 404 });
    let body;
    try {
      body = await request.json();
    } catch {
      return Response.json({ code: 'invalid_argument', message: 'body must be JSON' }, { status: 400 });
    }
    try {
      const vector = Array.isArray(body.vector) ? new Float32Array(body.vector) : body.vector;
      const r = index.search(vector, body.k ?? 10, body.ef === undefined ? undefined : { ef: body.ef });
      return Response.json({ keys: r.keys, distances: Array.from(r.distances) });
    } catch (e) {
      if (e instanceof VecshardError) return Response.json({ code: e.code, message: e.message }, { status: 400 });
      throw e;
    }
  },
};
