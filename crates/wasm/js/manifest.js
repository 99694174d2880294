// The cluster manifest: the same `cluster.json` the native `vecshard` CLI
// writes into a data dir (serde_json of `vecshard_host::Manifest`):
//
//   {
//     "format": { "cluster": 1, "snapshot": 1, "core_snapshot": 1, "wal": 2, "protocol": 1 },
//     "shards": 4,
//     "hash": "xxh3_64(key, seed 0) mod N",
//     "settings": { "dim": 100, "metric": "cosine", "m": 16, "ef_construction": 200,
//                   "ef_search": 64, "quantization": "f32", "seed": 24301 }
//   }
//
// Shard `i` of the cluster is seeded `seed + i`. The versions come from the
// Rust crates compiled into this package (`formatVersions()`), so a
// manifest is accepted when nothing in it is newer than this build, the
// rule the native host applies.
//
// Why the seed needs care: it is a u64, and JSON.parse rounds integers
// above 2^53. Text is therefore parsed here with the seed's digits read
// exactly, and `stringifyManifest` writes a bigint seed as bare digits, so
// `stringifyManifest(m)` is byte for byte what serde_json's pretty printer
// writes for the same manifest (two-space indent, a final newline).
import { formatVersions, hashName } from './vecshard.js';
import { describe, fail } from './api.js';

const VERSION_FIELDS = ['cluster', 'snapshot', 'core_snapshot', 'wal', 'protocol'];

/** Most shards a manifest may name (one Web Worker or thread each). */
export const MAX_SHARDS = 1024;

/** The manifest of a cluster with `shards` shards and `s` (RawCluster.settings(), camelCase). */
export function makeManifest(s, shards) {
  const seed = s.seed <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(s.seed) : s.seed;
  return {
    format: formatVersions(),
    shards,
    hash: hashName(),
    settings: {
      dim: s.dim,
      metric: s.metric,
      m: s.m,
      ef_construction: s.efConstruction,
      ef_search: s.efSearch,
      quantization: s.quantization,
      seed,
    },
  };
}

/** `cluster.json` text for a manifest: the bytes serde_json writes, seed digits exact. */
export function stringifyManifest(manifest) {
  const mark = '\u0000bigint:';
  const text = JSON.stringify(manifest, (_, v) => (typeof v === 'bigint' ? mark + v.toString() : v), 2);
  return text.replace(/"\\u0000bigint:(\d+)"/g, '$1') + '\n';
}

/**
 * A manifest from an object, or from `cluster.json` as text or bytes;
 * checked against this build. Returns a fresh object whose seed is a
 * number or (above 2^53) a bigint.
 */
export function parseManifest(input) {
  let m = input;
  if (input instanceof ArrayBuffer || ArrayBuffer.isView(input)) {
    const bytes = input instanceof ArrayBuffer ? new Uint8Array(input) : new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
    input = new TextDecoder().decode(bytes);
  }
  if (typeof input === 'string') {
    try {
      m = JSON.parse(input);
    } catch (e) {
      fail('invalid_snapshot', `the cluster manifest is not valid JSON: ${e.message}`);
    }
    // The exact digits of a seed above 2^53 (JSON.parse rounded them).
    const digits = /"seed"\s*:\s*(\d+)/.exec(input)?.[1];
    if (digits && m?.settings && typeof m.settings.seed === 'number' && !Number.isSafeInteger(m.settings.seed))
      m = { ...m, settings: { ...m.settings, seed: BigInt(digits) } };
  }
  if (typeof m !== 'object' || m === null)
    fail('invalid_argument', `a cluster manifest must be an object or the text of cluster.json, got ${describe(input)}`);
  const bad = (why) => fail('invalid_snapshot', `not a vecshard cluster manifest (cluster.json): ${why}`);
  const ours = formatVersions();
  if (typeof m.format !== 'object' || m.format === null) bad('it has no "format" object of versions');
  for (const f of VERSION_FIELDS) {
    const v = m.format[f];
    if (!Number.isInteger(v) || v < 0) bad(`format.${f} must be a version number, got ${describe(v)}`);
    if (v > ours[f])
      fail('unsupported_version', `the cluster was written with ${f} format version ${v}, but this package reads up to ${ours[f]}; use a newer vecshard`);
  }
  if (m.hash !== hashName())
    fail('invalid_snapshot', `the manifest routes keys with ${JSON.stringify(m.hash)}, this package with ${JSON.stringify(hashName())}`);
  // A bound before anything is allocated per shard: loadLocal makes one
  // read per shard, and Cluster one worker.
  if (!Number.isInteger(m.shards) || m.shards < 1 || m.shards > MAX_SHARDS)
    bad(`"shards" must be an integer from 1 to ${MAX_SHARDS}, got ${describe(m.shards)}`);
  const s = m.settings;
  if (typeof s !== 'object' || s === null) bad('it has no "settings" object');
  let seed = s.seed;
  if (typeof seed === 'number' && !Number.isSafeInteger(seed)) bad('settings.seed is above 2^53: pass the text of cluster.json so its digits are read exactly');
  if (typeof seed === 'string' && /^\d+$/.test(seed)) seed = BigInt(seed);
  return {
    format: { ...m.format },
    shards: m.shards,
    hash: m.hash,
    settings: {
      dim: s.dim,
      metric: s.metric,
      m: s.m,
      ef_construction: s.ef_construction,
      ef_search: s.ef_search,
      quantization: s.quantization,
      seed,
    },
  };
}

/** The `Cluster.create`-style options a (parsed) manifest describes. */
export function manifestOptions(m) {
  const s = m.settings;
  return { dim: s.dim, metric: s.metric, m: s.m, efConstruction: s.ef_construction, efSearch: s.ef_search, quantization: s.quantization, seed: s.seed };
}
