// Types of the `vecshard/edge` entry (Cloudflare Workers / Durable Objects
// with the Cluster module; see edge/cloudflare/ in the repository).
export { Shard, ShardRestore, ShardDescription, SnapshotChunks, VecshardError } from './index.js';

/** The Rust coordinator (low level: the methods of crates/wasm/src/cluster.rs). */
export declare const RawCluster: new (
  shards: number,
  send: (shard: number, request: Uint8Array, tag?: unknown) => Promise<Uint8Array>,
  dim: number,
  metric: string,
  m?: number,
  efConstruction?: number,
  efSearch?: number,
  quantization?: string,
  seed?: bigint,
) => any;
