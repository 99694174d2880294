// Persistence helpers: keep a saved cluster (`await cluster.save()`) on the
// user's machine and get it back, in the layout of the native data dir:
//
//   NAME/cluster.json             the manifest (manifest.js), written last
//   NAME/shard-000/snapshot.bin   shard 0's snapshot (shard snapshot container)
//   NAME/shard-001/snapshot.bin   ...
//
// Backends, picked by `backend: 'auto'` (the default) in this order:
//   'opfs'       browsers: the origin private file system, written and read
//                through sync access handles in a short-lived dedicated
//                worker (storage-worker.js). Sync handles are the fast path
//                (no per-write promise, no copy into a stream) and the only
//                OPFS write API every browser has; they exist in workers only.
//   'indexeddb'  browsers without OPFS (or where it is blocked, e.g. some
//                private modes): one record per NAME in database "vecshard".
//   'fs'         Node and Deno: NAME is a directory path, and that directory
//                *is* a data dir: `vecshard serve --data NAME` serves what
//                saveLocal wrote, and loadLocal reads what `vecshard build` wrote.
//
// A data dir in use: a running `vecshard serve` holds each shard's
// `shard-NNN/lock` (flock). The fs backend takes the same locks before it
// writes or deletes anything (lock.js) and fails with `data_dir_locked`,
// changing nothing, while any is held. Where flock(1) is unavailable the
// save runs unlocked and its result says `locked: false`.
//
// Torn saves: cluster.json is written after every shard file (and removed
// first when a save replaces an older one), so a save that was interrupted
// reads back as absent (`undefined`), never as a mix of two clusters. The
// older copy is gone by then: keep two names if that matters.
import { VecshardError, describe, fail } from './api.js';
import { parseManifest, stringifyManifest } from './manifest.js';
import { lockDataDir } from './lock.js';

const BACKENDS = ['auto', 'opfs', 'indexeddb', 'fs'];
const OPFS_ROOT = 'vecshard';
const IDB_NAME = 'vecshard';
const IDB_STORE = 'clusters';
// The native host writes a 28-byte header into an empty write-ahead log.
const WAL_HEADER_BYTES = 28;

const shardPath = (i) => `shard-${String(i).padStart(3, '0')}/snapshot.bin`;

function isNodeLike() {
  return typeof Deno === 'object' || (typeof process === 'object' && !!process.versions?.node);
}

function hasOpfs() {
  return typeof navigator === 'object' && typeof navigator.storage?.getDirectory === 'function' && typeof Worker === 'function';
}

function hasIndexedDb() {
  return typeof indexedDB === 'object' && indexedDB !== null;
}

/** The backends to try, in order. */
function backends(options, what) {
  if (options !== undefined && (typeof options !== 'object' || options === null))
    fail('invalid_argument', `${what} options must be an object like { backend: "opfs" }, got ${describe(options)}`);
  const backend = options?.backend ?? 'auto';
  if (!BACKENDS.includes(backend))
    fail('invalid_argument', `options.backend must be one of ${BACKENDS.map((b) => JSON.stringify(b)).join(', ')}, got ${describe(backend)}`);
  const available = { opfs: hasOpfs(), indexeddb: hasIndexedDb(), fs: isNodeLike() };
  if (backend !== 'auto') {
    if (!available[backend]) fail('storage_unavailable', `the ${backend} storage backend is not available in this runtime`);
    return [backend];
  }
  const list = isNodeLike() ? ['fs'] : ['opfs', 'indexeddb'].filter((b) => available[b]);
  if (list.length === 0)
    fail('storage_unavailable', 'this runtime has no OPFS, IndexedDB or file system for saveLocal/loadLocal; keep the bytes of save() yourself');
  return list;
}

function checkName(name, list) {
  if (typeof name !== 'string' || name.length === 0) fail('invalid_argument', `name must be a non-empty string, got ${describe(name)}`);
  // In OPFS and IndexedDB a name is one entry; on a file system it is a path.
  if (list[0] !== 'fs' && (name.length > 200 || /[/\\\0]/.test(name) || name === '.' || name === '..'))
    fail('invalid_argument', `name must be one folder name (no "/", "\\\\", at most 200 characters), got ${describe(name)}`);
  return name;
}

/** The files of a saved cluster, manifest last. */
function toFiles(saved) {
  if (typeof saved !== 'object' || saved === null || !Array.isArray(saved.shards))
    fail('invalid_argument', `saveLocal needs { manifest, shards } as cluster.save() returns it, got ${describe(saved)}`);
  const manifest = parseManifest(saved.manifest);
  if (manifest.shards !== saved.shards.length)
    fail('invalid_snapshot', `the manifest names ${manifest.shards} shards but ${saved.shards.length} snapshots were given`);
  const files = saved.shards.map((b, i) => {
    if (!(b instanceof Uint8Array)) fail('invalid_argument', `shards[${i}] must be a Uint8Array, got ${describe(b)}`);
    return { path: shardPath(i), bytes: b };
  });
  files.push({ path: 'cluster.json', bytes: new TextEncoder().encode(stringifyManifest(manifest)) });
  return files;
}

// ---------------------------------------------------------------- OPFS ----

/** Runs one request in a fresh storage worker; resolves its answer. */
function opfsCall(request) {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL('./storage-worker.js', import.meta.url), { type: 'module', name: 'vecshard storage' });
    const done = (f, v) => {
      w.terminate();
      f(v);
    };
    w.onmessage = (e) => {
      if (e.data?.error) done(reject, e.data.error);
      else done(resolve, e.data);
    };
    w.onerror = (e) => {
      e.preventDefault?.();
      done(reject, { name: 'WorkerError', message: e.message ?? 'the storage worker failed to start' });
    };
    // Structured clone copies the bytes: the caller keeps its snapshots usable.
    w.postMessage({ ...request, root: OPFS_ROOT });
  });
}

const opfs = {
  async save(name, files) {
    await opfsCall({ op: 'save', name, files });
  },
  async read(name, paths) {
    const r = await opfsCall({ op: 'read', name, paths });
    return r.files; // Uint8Array | null per path
  },
  async remove(name) {
    return (await opfsCall({ op: 'remove', name })).removed;
  },
};

// ----------------------------------------------------------- IndexedDB ----

function idbOpen() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(IDB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(IDB_STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
    req.onblocked = () => reject({ name: 'BlockedError', message: 'another tab holds an older version of the vecshard database open' });
  });
}

async function idbTx(mode, f) {
  const db = await idbOpen();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(IDB_STORE, mode);
      let result;
      f(tx.objectStore(IDB_STORE), (v) => (result = v));
      tx.oncomplete = () => resolve(result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error ?? { name: 'AbortError', message: 'the transaction was aborted' });
    });
  } finally {
    db.close();
  }
}

const indexeddb = {
  // One record per name, written in one transaction: all or nothing.
  async save(name, files) {
    await idbTx('readwrite', (store) => store.put({ files: files.map((f) => ({ path: f.path, bytes: f.bytes })) }, name));
  },
  async read(name, paths) {
    const rec = await idbTx('readonly', (store, set) => {
      const req = store.get(name);
      req.onsuccess = () => set(req.result);
    });
    const byPath = new Map((rec?.files ?? []).map((f) => [f.path, f.bytes]));
    return paths.map((p) => byPath.get(p) ?? null);
  },
  async remove(name) {
    return idbTx('readwrite', (store, set) => {
      const req = store.getKey(name);
      req.onsuccess = () => {
        set(req.result !== undefined);
        store.delete(name);
      };
    });
  },
};

// ---------------------------------------------------- file system (Node) ----

const fs = {
  // Durable like the native data dir: each file is written to a temp
  // file, fsynced, renamed over the old one, and its directory fsynced, so
  // a crash leaves either the old file or the new one, never a torn one.
  // cluster.json goes last (files[] ends with it), so a dir that has one is
  // complete. Every shard lock is held for the whole save (lock.js).
  async save(dir, files) {
    const lock = await lockDataDir(dir, files.length - 1);
    try {
      await fs.write(dir, files);
    } finally {
      await lock.release();
    }
    return { locked: lock.locked };
  },
  async write(dir, files) {
    const { mkdir, rm, open, rename } = await import('node:fs/promises');
    const { join, dirname } = await import('node:path');
    const syncDir = async (d) => {
      const h = await open(d, 'r');
      try {
        await h.sync();
      } finally {
        await h.close();
      }
    };
    await rm(join(dir, 'cluster.json'), { force: true });
    for (const f of files) {
      const dest = join(dir, f.path);
      await mkdir(dirname(dest), { recursive: true });
      const h = await open(`${dest}.tmp`, 'w');
      try {
        await h.writeFile(f.bytes);
        await h.sync();
      } finally {
        await h.close();
      }
      await rename(`${dest}.tmp`, dest);
      await syncDir(dirname(dest));
    }
  },
  async read(dir, paths) {
    const { readFile, stat } = await import('node:fs/promises');
    const { join, dirname } = await import('node:path');
    return Promise.all(
      paths.map(async (p) => {
        if (p !== 'cluster.json') {
          // A data dir the native server wrote to since its last checkpoint
          // has writes in wal.log that its snapshot lacks.
          const wal = await stat(join(dir, dirname(p), 'wal.log')).catch(() => undefined);
          if (wal && wal.size > WAL_HEADER_BYTES)
            fail('invalid_snapshot', `${join(dir, dirname(p), 'wal.log')} holds writes that are not in the snapshot; run \`vecshard checkpoint --data ${dir}\` first`);
        }
        try {
          return new Uint8Array(await readFile(join(dir, p)));
        } catch (e) {
          if (e.code === 'ENOENT') return null;
          throw e;
        }
      }),
    );
  },
  async remove(dir) {
    const { rm, stat } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const there = await stat(join(dir, 'cluster.json')).then(() => true, () => false);
    // Only what a save writes: never a whole directory that may hold other files.
    if (!there) return false;
    const lock = await lockDataDir(dir, 0);
    try {
      await rm(join(dir, 'cluster.json'));
      for (let i = 0; ; i++) {
        const shard = join(dir, shardPath(i));
        if (!(await stat(shard).then(() => true, () => false))) break;
        await rm(shard);
      }
    } finally {
      await lock.release();
    }
    return true;
  },
};

const IMPL = { opfs, indexeddb, fs };

async function attempt(backend, what, f) {
  try {
    return await f(IMPL[backend]);
  } catch (e) {
    if (e instanceof VecshardError) throw e;
    // DOMExceptions (QuotaExceededError, NoModificationAllowedError, ...) and I/O errors.
    const why = `${e?.name ? `${e.name}: ` : ''}${e?.message ?? e}`;
    throw new VecshardError('storage_error', `${what} with the ${backend} backend failed: ${why}`, { backend });
  }
}

/**
 * Saves what `cluster.save()` returned under `name`. Resolves which backend
 * was used and how many bytes were written.
 */
export async function saveLocal(name, saved, options) {
  const list = backends(options, 'saveLocal');
  checkName(name, list);
  const files = toFiles(saved);
  let lastError;
  for (const backend of list) {
    try {
      const r = await attempt(backend, 'saveLocal', (b) => b.save(name, files));
      const out = { backend, bytes: files.reduce((n, f) => n + f.bytes.byteLength, 0) };
      if (backend === 'fs') out.locked = r.locked;
      return out;
    } catch (e) {
      // 'auto': OPFS can exist and still refuse (a private window, a
      // missing sync-handle API); fall back to the next backend.
      lastError = e;
    }
  }
  throw lastError;
}

/**
 * The saved cluster under `name` as `{ manifest, shards }` for
 * `Cluster.load`, or `undefined` if there is none (or its save was
 * interrupted). With 'auto', looks in OPFS, then IndexedDB.
 */
export async function loadLocal(name, options) {
  const list = backends(options, 'loadLocal');
  checkName(name, list);
  let lastError;
  for (const backend of list) {
    try {
      const found = await attempt(backend, 'loadLocal', async (b) => {
        const [text] = await b.read(name, ['cluster.json']);
        if (!text) return undefined;
        const manifest = parseManifest(text);
        const shards = await b.read(name, Array.from({ length: manifest.shards }, (_, i) => shardPath(i)));
        const missing = shards.findIndex((s) => !s);
        if (missing >= 0) fail('invalid_snapshot', `${name}: cluster.json names ${manifest.shards} shards but ${shardPath(missing)} is missing`);
        return { manifest, shards };
      });
      if (found) return found;
    } catch (e) {
      if (e?.code !== 'storage_error') throw e;
      lastError = e;
    }
  }
  if (lastError && list.length === 1) throw lastError;
  return undefined;
}

/** Deletes the saved cluster `name`; resolves whether there was one. */
export async function deleteLocal(name, options) {
  const list = backends(options, 'deleteLocal');
  checkName(name, list);
  let removed = false;
  for (const backend of list) {
    try {
      removed = (await attempt(backend, 'deleteLocal', (b) => b.remove(name))) || removed;
    } catch (e) {
      if (list.length === 1) throw e;
    }
  }
  return removed;
}
