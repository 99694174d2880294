// The shard locks of a native data dir, taken before `saveLocal` or
// `deleteLocal` (fs backend) writes into it.
//
// A running `vecshard serve` (and every other native process that opens a
// shard) holds `DIR/shard-NNN/lock` with flock(2) (`LOCK_EX | LOCK_NB`,
// vecshard_host::datadir::lock_shard) for as long as it serves the shard.
// Writing snapshots or cluster.json under it would replace files the
// server has open and mix two clusters in one dir, so a save must take the
// same locks first and fail, changing nothing, when any is held.
//
// Node and Deno have no flock API. Locks taken with fcntl (POSIX record
// locks) do not conflict with flock locks on Linux, and a lock-file
// protocol of our own would not see the server's, so the only sound way is
// the same flock(2) call from another process: a `bash` child opens each
// lock file, runs util-linux `flock -n -x FD` on it (the lock belongs to the
// open file description, which the child keeps), prints `locked`, and
// holds the locks until its stdin closes (`release()`, or this process
// exiting). Existing shard folders are locked first; only when all of them
// are free does it create the folders a save adds, so a refused save has
// created nothing.
//
// Where bash or flock(1) is missing (macOS and Windows ship no flock(1);
// minimal containers may lack util-linux), or child processes are not
// allowed (Deno without --allow-run), the save goes ahead unlocked and
// reports `locked: false`: a data dir written that way must not be in use
// by a server. On Linux, util-linux is nearly always there.
import { VecshardError } from './api.js';

export const shardDir = (i) => `shard-${String(i).padStart(3, '0')}`;

// $1: how many of the folders after it exist (locked first, never created).
const SCRIPT = `
set -u
existing=$1; shift
i=0
for d in "$@"; do
  if [ "$i" -ge "$existing" ]; then mkdir -p -- "$d" || exit 3; fi
  exec {fd}>>"$d/lock" || exit 3
  flock -n -E 75 -x "$fd"
  rc=$?
  if [ "$rc" -eq 75 ]; then printf 'busy %s\\n' "$d"; exit 75; fi
  if [ "$rc" -ne 0 ]; then exit "$rc"; fi
  i=$((i + 1))
done
echo locked
read -r _ || true
`;

/**
 * Locks every shard folder of data dir `dir` that exists, plus the first
 * `shards` ones (created if missing). Resolves `{ locked, release() }`;
 * rejects with `data_dir_locked` (naming the busy folder) when another
 * process holds one.
 */
export async function lockDataDir(dir, shards) {
  const { readdir } = await import('node:fs/promises');
  const { join } = await import('node:path');
  let names = [];
  try {
    names = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory() && /^shard-\d{3,}$/.test(e.name)).map((e) => e.name);
  } catch (e) {
    if (e.code !== 'ENOENT') throw e;
  }
  const existing = new Set(names);
  const fresh = [];
  for (let i = 0; i < shards; i++) if (!existing.has(shardDir(i))) fresh.push(shardDir(i));
  const paths = [...[...existing].sort(), ...fresh].map((d) => join(dir, d));
  if (paths.length === 0) return { locked: true, release: async () => {} };

  let spawn;
  try {
    ({ spawn } = await import('node:child_process'));
  } catch {
    return unlocked();
  }
  let child;
  try {
    child = spawn('bash', ['-c', SCRIPT, 'vecshard-lock', String(existing.size), ...paths], { stdio: ['pipe', 'pipe', 'pipe'] });
  } catch {
    // Deno without --allow-run refuses to spawn: no way to take the lock.
    return unlocked();
  }
  // A child that dies early must not turn a later stdin.end() into an
  // unhandled EPIPE.
  child.stdin.on('error', () => {});
  let out = '';
  let err = '';
  const outcome = await new Promise((resolve) => {
    child.on('error', (e) => resolve({ spawnError: e }));
    child.stdout.on('data', (b) => {
      out += b;
      if (out.includes('locked\n')) resolve({ locked: true });
    });
    child.stderr.on('data', (b) => (err += b));
    child.on('exit', (code) => resolve({ code }));
  });
  if (outcome.locked) {
    const exited = new Promise((resolve) => {
      if (child.exitCode !== null) resolve();
      else child.on('exit', resolve);
    });
    return {
      locked: true,
      async release() {
        child.stdin.end();
        await exited;
      },
    };
  }
  if (outcome.spawnError?.code === 'ENOENT' || outcome.code === 127) return unlocked();
  if (outcome.code === 75) {
    const busy = /busy (.*)\n/.exec(out)?.[1] ?? dir;
    throw new VecshardError(
      'data_dir_locked',
      `${join(busy, 'lock')} is locked: a running vecshard process (vecshard serve?) is using this data dir; stop it first. Nothing was written.`,
      { path: busy },
    );
  }
  const why = outcome.spawnError?.message ?? `exit code ${outcome.code}${err ? `: ${err.trim()}` : ''}`;
  throw new VecshardError('storage_error', `could not take the shard locks of ${dir}: ${why}`, { backend: 'fs' });
}

function unlocked() {
  return { locked: false, release: async () => {} };
}
