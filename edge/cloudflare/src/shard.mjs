// VecshardShard: one vecshard shard per Durable Object.
//
// The shard is the package's `Shard` (the same `vecshard_shard::Shard` the
// native wasmtime workers and the npm Cluster's workers run), driven by the
// postcard request protocol that the coordinator Worker sends over RPC.
// Its state lives in the object's SQLite storage (`ctx.storage.sql`):
//
//   meta   (k, v)              'gen': the snapshot generation restored at
//                              wake-up (absent: no snapshot yet), 'len': its
//                              byte length, 'shard': this object's shard
//                              number, 'staging'/'staging_len': a push
//                              being uploaded
//   chunks (gen, seq, data)    snapshot chunks of 1 MiB (a row or BLOB is
//                              limited to 2 MB); only generation 'gen' counts
//   wal    (seq, part, data)   write-ahead log: one encoded protocol request
//                              per seq, cut into parts of 1 MiB
//
// The rules are the native host's (ARCHITECTURE.md § crates/host):
// - A write is applied in memory first; only if the shard accepted it
//   (`Shard.logged`) is the request appended to the WAL, and only then is
//   it answered. The append is synchronous SQL, so it commits with the
//   event, and the runtime's output gate holds the answer until the commit
//   is durable: an acknowledged write is on disk. If the append throws, the
//   shard reloads from storage (memory must not be ahead of disk) and the
//   write fails ("did not apply").
// - At wake-up, inside `blockConcurrencyWhile` (no request sees a half
//   restored shard), the chunks of generation 'gen' stream into the loader
//   one row at a time (memory: the shard plus one chunk), then the WAL
//   replays in order. A record that does not replay stops the object (it
//   answers every call with the reason) rather than lose data silently.
// - A checkpoint (when the WAL passes VECSHARD_WAL_LIMIT_BYTES) writes the
//   snapshot as generation gen+1, chunk by chunk from `saveChunks()`, then
//   in one transaction points 'gen' at it and deletes the old chunks and
//   the WAL records it holds. A checkpoint cut short leaves rows of an
//   unnamed generation, deleted at the next wake-up: the one restored is
//   always complete. A failed checkpoint does not fail the write that
//   triggered it (that write is in the WAL).
// - A push (`vecshard push`) uploads a snapshot as a staging generation
//   and switches to it the same way, after it loaded and matched the
//   deployment's settings.
import { DurableObject } from 'cloudflare:workers';
import { Shard } from 'vecshard/edge';

/** Bytes per snapshot row and per WAL part (a SQLite row/BLOB in a Durable Object is limited to 2 MB). */
export const CHUNK = 1 << 20;
const DEFAULT_WAL_LIMIT = 16 << 20;

function err(code, message) {
  return Object.assign(new Error(message), { code });
}

export class VecshardShard extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.walLimit = Number(env.VECSHARD_WAL_LIMIT_BYTES ?? DEFAULT_WAL_LIMIT);
    this.hooks = env.VECSHARD_TEST_HOOKS === '1';
    this.failing = false;
    this.failCheckpointAfter = -1;
    this.chunk = CHUNK;
    ctx.blockConcurrencyWhile(() => this.#wake());
  }

  async #wake() {
    const t0 = Date.now();
    this.sql.exec('CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v)');
    this.sql.exec('CREATE TABLE IF NOT EXISTS chunks (gen INTEGER NOT NULL, seq INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (gen, seq))');
    this.sql.exec('CREATE TABLE IF NOT EXISTS wal (seq INTEGER NOT NULL, part INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (seq, part))');
    this.broken = undefined;
    try {
      await this.#restore();
    } catch (e) {
      this.broken = `shard storage does not restore: ${e.message}`;
      console.error(`vecshard: ${this.broken}`);
    }
    this.wakeMs = Date.now() - t0;
  }

  #meta(k) {
    const rows = this.sql.exec('SELECT v FROM meta WHERE k = ?', k).toArray();
    return rows.length ? rows[0].v : undefined;
  }

  #setMeta(k, v) {
    this.sql.exec('INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)', k, v);
  }

  /** Loads generation 'gen' and replays the WAL into a new shard. */
  async #restore() {
    this.#restoreInto(await Shard.create());
  }

  /** The synchronous part of a restore, into a fresh `shard`. */
  #restoreInto(shard) {
    this.shard?.free();
    this.shard = undefined;
    const gen = this.#meta('gen');
    // Rows of any other generation are an interrupted checkpoint or push.
    this.sql.exec('DELETE FROM chunks WHERE gen IS NOT ?', gen ?? null);
    this.sql.exec("DELETE FROM meta WHERE k IN ('staging', 'staging_len')");
    if (gen !== undefined && gen !== null) {
      const r = shard.beginRestore({ length: this.#meta('len') ?? undefined });
      for (const row of this.sql.exec('SELECT data FROM chunks WHERE gen = ? ORDER BY seq', gen)) r.push(new Uint8Array(row.data));
      r.finish();
    }
    this.walBytes = 0;
    this.walSeq = 0;
    let seq = -1;
    let parts = [];
    const apply = () => {
      if (seq < 0) return;
      const rec = parts.length === 1 ? parts[0] : concat(parts);
      shard.handle(rec);
      if (!shard.logged) throw new Error(`WAL record ${seq} does not replay`);
      this.walBytes += rec.length;
      this.walSeq = seq;
    };
    for (const row of this.sql.exec('SELECT seq, data FROM wal ORDER BY seq, part')) {
      if (row.seq !== seq) {
        apply();
        seq = row.seq;
        parts = [];
      }
      parts.push(new Uint8Array(row.data));
    }
    apply();
    this.shard = shard;
  }

  #check(shard, settings) {
    if (this.hooks && this.failing) throw err('shard_unavailable', `test hook: shard ${shard} fails`);
    if (this.broken) throw err('shard_unavailable', this.broken);
    const mine = this.#meta('shard');
    if (mine === undefined || mine === null) this.#setMeta('shard', shard);
    else if (mine !== shard) throw err('shard_unavailable', `this object holds shard ${mine}, not ${shard}: the deployment's name or shard count changed`);
    if (!this.shard.describe().created && settings) this.#create(shard, settings);
  }

  /** Creates the empty index (seed + shard number), logged as the first record. */
  #create(shard, settings) {
    const req = this.createRequest;
    this.shard.handle(req);
    if (!this.shard.logged) throw err('shard_unavailable', 'the deployment settings do not create an index');
    this.#append(req);
  }

  #append(bytes) {
    const seq = this.walSeq + 1;
    this.ctx.storage.transactionSync(() => {
      let part = 0;
      for (let off = 0; off < bytes.length || part === 0; off += CHUNK, part++)
        this.sql.exec('INSERT INTO wal (seq, part, data) VALUES (?, ?, ?)', seq, part, bytes.slice(off, off + CHUNK).buffer);
    });
    this.walSeq = seq;
    this.walBytes += bytes.length;
  }

  /**
   * One protocol request from the coordinator: `shard` is this object's
   * number, `settings` the deployment's index settings (used once, to
   * create the index on first use), `request` the encoded request.
   */
  async call(shard, settings, request) {
    if (!this.createRequest && settings) this.createRequest = await Shard.createRequest({ ...settings, seed: BigInt(settings.seed) + BigInt(shard) });
    this.#check(shard, settings);
    const resp = this.shard.handle(request);
    if (this.shard.logged) {
      try {
        this.#append(request);
      } catch (e) {
        // Memory is ahead of storage now: reload, and fail the write.
        await this.ctx.blockConcurrencyWhile(() => this.#wake());
        throw err('shard_unavailable', `the write could not be stored (${e.message}); it did not apply`);
      }
      // The output gate already holds the answer until the write is
      // durable; where the runtime has it, wait for that explicitly.
      if (typeof this.ctx.storage.sync === 'function') await this.ctx.storage.sync();
      if (this.walBytes > this.walLimit) {
        try {
          this.#checkpoint();
        } catch (e) {
          console.error(`vecshard: checkpoint of shard ${shard} failed: ${e.message}`);
        }
      }
    }
    return resp;
  }

  #checkpoint() {
    const gen = Number(this.#meta('gen') ?? 0) + 1;
    const chunks = this.shard.saveChunks({ chunkSize: this.chunk });
    let seq = 0;
    this.sql.exec('DELETE FROM chunks WHERE gen = ?', gen);
    for (const c of chunks) {
      if (this.hooks && this.failCheckpointAfter >= 0 && seq >= this.failCheckpointAfter) throw new Error(`test hook: checkpoint cut after ${seq} chunks`);
      this.sql.exec('INSERT INTO chunks (gen, seq, data) VALUES (?, ?, ?)', gen, seq++, c.buffer);
    }
    const upTo = this.walSeq;
    this.ctx.storage.transactionSync(() => {
      this.#setMeta('gen', gen);
      this.#setMeta('len', chunks.byteLength);
      this.sql.exec('DELETE FROM chunks WHERE gen <> ?', gen);
      this.sql.exec('DELETE FROM wal WHERE seq <= ?', upTo);
    });
    this.walBytes = 0;
    return { gen, bytes: chunks.byteLength, chunks: seq };
  }

  /** Writes a checkpoint now (`POST /v1/checkpoint`). */
  async checkpoint(shard, settings) {
    return this.#safe(async () => {
      this.#check(shard, settings);
      if (!this.shard.describe().created) return { gen: 0, bytes: 0, chunks: 0 };
      return this.#checkpoint();
    });
  }

  /** What the object holds: the shard's description plus storage and wake-up figures. */
  async describe(shard) {
    return this.#safe(async () => {
      this.#check(shard);
      const d = this.shard.describe();
      const wal = this.sql.exec('SELECT count(DISTINCT seq) AS n FROM wal').one().n;
      const gen = this.#meta('gen') ?? null;
      const rows = this.sql.exec('SELECT count(*) AS n FROM chunks WHERE gen IS ?', gen).one().n;
      const orphans = this.sql.exec('SELECT count(*) AS n FROM chunks WHERE gen IS NOT ?', gen).one().n;
      return { ...d, gen: gen ?? 0, snapshotRows: rows, orphanRows: orphans, walRecords: wal, walBytes: this.walBytes, wakeMs: this.wakeMs };
    });
  }

  // ---- push: a snapshot uploaded chunk by chunk (vecshard push) ----

  async pushBegin(shard, length) {
    return this.#safe(async () => {
      this.#check(shard);
      const gen = Number(this.#meta('gen') ?? 0) + 1;
      this.ctx.storage.transactionSync(() => {
        this.sql.exec('DELETE FROM chunks WHERE gen = ?', gen);
        this.#setMeta('staging', gen);
        this.#setMeta('staging_len', length ?? null);
      });
      return gen;
    });
  }

  async pushChunk(shard, gen, seq, data) {
    return this.#safe(async () => {
      this.#check(shard);
      if (this.#meta('staging') !== gen) throw err('upload_not_found', `no upload ${gen} in progress on shard ${shard} (it was committed, replaced or the object restarted); start again`);
      if (data.byteLength > 2 * CHUNK) throw err('chunk_too_large', `a chunk is at most ${2 * CHUNK} bytes`);
      this.sql.exec('INSERT OR REPLACE INTO chunks (gen, seq, data) VALUES (?, ?, ?)', gen, seq, data instanceof ArrayBuffer ? data : data.slice().buffer);
    });
  }

  async pushCommit(shard, gen, count, settings) {
    return this.#safe(async () => {
      this.#check(shard);
      if (this.#meta('staging') !== gen) throw err('upload_not_found', `no upload ${gen} in progress on shard ${shard}; start again`);
      const have = this.sql.exec('SELECT count(*) AS n, coalesce(max(seq), -1) AS top FROM chunks WHERE gen = ?', gen).one();
      if (have.n !== count || have.top !== count - 1) throw err('upload_incomplete', `shard ${shard}: ${have.n} of ${count} chunks arrived; send the missing ones`);
      const len = this.#meta('staging_len');
      // Free the old shard first, so the load needs one shard of memory;
      // if the new one is refused, the old one comes back from storage.
      // No await from here on: no other call may see the shard missing.
      const fresh = await Shard.create();
      const spare = await Shard.create();
      this.shard.free();
      this.shard = undefined;
      try {
        const r = fresh.beginRestore({ length: len ?? undefined });
        for (const row of this.sql.exec('SELECT data FROM chunks WHERE gen = ? ORDER BY seq', gen)) r.push(new Uint8Array(row.data));
        r.finish();
        const d = fresh.describe();
        if (settings && (d.dim !== settings.dim || d.metric !== settings.metric || d.quantization !== settings.quantization))
          throw err('settings_mismatch', `the snapshot has dim ${d.dim}, ${d.metric}, ${d.quantization}; the deployment has dim ${settings.dim}, ${settings.metric}, ${settings.quantization}`);
      } catch (e) {
        fresh.free();
        this.ctx.storage.transactionSync(() => {
          this.sql.exec('DELETE FROM chunks WHERE gen = ?', gen);
          this.sql.exec("DELETE FROM meta WHERE k IN ('staging', 'staging_len')");
        });
        this.#restoreInto(spare);
        throw Object.assign(new Error(e.message), { code: e.code ?? 'invalid_snapshot' });
      }
      spare.free();
      this.ctx.storage.transactionSync(() => {
        this.#setMeta('gen', gen);
        this.#setMeta('len', len ?? null);
        this.sql.exec("DELETE FROM meta WHERE k IN ('staging', 'staging_len')");
        this.sql.exec('DELETE FROM chunks WHERE gen <> ?', gen);
        this.sql.exec('DELETE FROM wal');
      });
      this.shard = fresh;
      this.walSeq = 0;
      this.walBytes = 0;
      return fresh.describe();
    });
  }

  /** Runs `f`; an error becomes `{ error: { code, message } }` (RPC keeps only messages). */
  async #safe(f) {
    try {
      return { ok: await f() };
    } catch (e) {
      return { error: { code: e.code ?? 'shard_unavailable', message: e.message } };
    }
  }

  // ---- test hooks (only with VECSHARD_TEST_HOOKS = "1") ----

  async testHook(shard, hook) {
    return this.#safe(async () => {
      if (!this.hooks) throw err('not_found', 'test hooks are off');
      if ('fail' in hook) this.failing = hook.fail === true;
      if ('failCheckpointAfter' in hook) this.failCheckpointAfter = hook.failCheckpointAfter;
      if ('walLimit' in hook) this.walLimit = hook.walLimit;
      if ('chunkSize' in hook) this.chunk = Math.min(CHUNK, Math.max(1024, hook.chunkSize));
      return { shard, failing: this.failing, failCheckpointAfter: this.failCheckpointAfter, walLimit: this.walLimit, chunkSize: this.chunk };
    });
  }
}

function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
