// The OPFS side of saveLocal/loadLocal/deleteLocal (storage.js): one
// request per worker, then the main thread terminates it. It runs in a
// dedicated worker because FileSystemFileHandle.createSyncAccessHandle()
// exists only there; a sync handle writes and reads whole files without a
// promise per call or a copy into a stream.
//
// In:  { op: 'save', root, name, files: [{ path, bytes }] }   (written in order)
//      { op: 'read', root, name, paths: [path] }
//      { op: 'remove', root, name }
// Out: { ok: true } | { files: [Uint8Array | null] } | { removed: boolean }
//      | { error: { name, message } }
// Paths are "a/b" relative to ROOT/NAME (e.g. "shard-000/snapshot.bin").

const isNotFound = (e) => e?.name === 'NotFoundError' || e?.name === 'TypeMismatchError';

async function dirOf(start, parts, create) {
  let d = start;
  for (const p of parts) d = await d.getDirectoryHandle(p, { create });
  return d;
}

async function writeFile(dir, path, bytes) {
  const parts = path.split('/');
  const d = await dirOf(dir, parts.slice(0, -1), true);
  const fh = await d.getFileHandle(parts.at(-1), { create: true });
  const h = await fh.createSyncAccessHandle();
  try {
    h.truncate(0);
    for (let at = 0; at < bytes.byteLength; ) {
      const n = h.write(bytes.subarray(at), { at });
      if (n <= 0) throw new Error(`wrote 0 bytes of ${path} at ${at}`);
      at += n;
    }
    h.flush();
  } finally {
    h.close();
  }
}

async function readFile(dir, path) {
  const parts = path.split('/');
  let h;
  try {
    const d = await dirOf(dir, parts.slice(0, -1), false);
    h = await (await d.getFileHandle(parts.at(-1))).createSyncAccessHandle();
  } catch (e) {
    if (isNotFound(e)) return null;
    throw e;
  }
  try {
    const out = new Uint8Array(h.getSize());
    for (let at = 0; at < out.byteLength; ) {
      const n = h.read(out.subarray(at), { at });
      if (n <= 0) throw new Error(`${path} ended early at ${at} of ${out.byteLength} bytes`);
      at += n;
    }
    return out;
  } finally {
    h.close();
  }
}

async function handle(m) {
  const top = await (await navigator.storage.getDirectory()).getDirectoryHandle(m.root, { create: true });
  if (m.op === 'save') {
    // Replace, not merge: a smaller cluster must not inherit old shard files.
    // The manifest comes last in `files`, so a torn save reads as absent.
    await top.removeEntry(m.name, { recursive: true }).catch((e) => {
      if (!isNotFound(e)) throw e;
    });
    const dir = await top.getDirectoryHandle(m.name, { create: true });
    for (const f of m.files) await writeFile(dir, f.path, f.bytes);
    return [{ ok: true }];
  }
  if (m.op === 'read') {
    let dir;
    try {
      dir = await top.getDirectoryHandle(m.name);
    } catch (e) {
      if (isNotFound(e)) return [{ files: m.paths.map(() => null) }];
      throw e;
    }
    const files = [];
    for (const p of m.paths) files.push(await readFile(dir, p));
    return [{ files }, files.filter(Boolean).map((f) => f.buffer)];
  }
  if (m.op === 'remove') {
    try {
      await top.removeEntry(m.name, { recursive: true });
      return [{ removed: true }];
    } catch (e) {
      if (isNotFound(e)) return [{ removed: false }];
      throw e;
    }
  }
  throw new Error(`unknown storage op ${m.op}`);
}

self.onmessage = async (e) => {
  try {
    const [reply, transfer] = await handle(e.data);
    self.postMessage(reply, transfer ?? []);
  } catch (err) {
    self.postMessage({ error: { name: err?.name ?? 'Error', message: String(err?.message ?? err) } });
  }
};
