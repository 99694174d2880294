// Cloudflare Workers and Durable Objects (workerd) with the Cluster module:
// what `edge/cloudflare/` in the repository runs, one shard per Durable
// Object and the Rust coordinator in the Worker in front. Both .wasm
// imports are compiled at deploy time (wrangler bundles them; a raw
// workerd config lists them as `wasm` modules), and instantiated here.
import module from './vecshard_cluster_bg.wasm';
import * as glue from './vecshard_cluster.js';
import { setClusterGlue } from './module.js';

glue.initSync({ module });
setClusterGlue(glue, module);

export { Shard } from './shard.js';
export { VecshardError } from './api.js';
/** The coordinator class (low level; see edge/cloudflare/src/coordinator.mjs for its use). */
export const RawCluster = glue.RawCluster;
/** The routing hash's name (`xxh3_64`), as in cluster.json and `GET /v1/info`. */
export const hashName = glue.hashName;
