// The Worker script: the coordinator's fetch handler, and the Durable
// Object class that holds one shard per object (wrangler.toml binds it as
// SHARDS). See ../README.md.
import { handle } from './coordinator.mjs';

export { VecshardShard } from './shard.mjs';

export default {
  fetch(request, env) {
    return handle(request, env);
  },
};
