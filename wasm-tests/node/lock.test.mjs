// saveLocal/deleteLocal into a data dir that a running `vecshard serve`
// holds (it flocks shard-NNN/lock for as long as it serves): refused with
// `data_dir_locked`, and nothing in the dir changes. Checked against a
// process holding the flock (util-linux flock(1), always) and against a
// real `vecshard serve` (when VECSHARD_CLI is set; scripts/test-js.sh sets it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { Cluster, VecshardError, deleteLocal, loadLocal, saveLocal } from 'vecshard';
import { freePort, start, until } from '../lib/proc.mjs';

const CLI = process.env.VECSHARD_CLI;
const hasFlock = spawnSync('flock', ['--version']).status === 0;

/** path -> bytes of every file under dir (lock files included). */
function snapshotDir(dir) {
  const out = {};
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[p] = readFileSync(p).toString('base64') + `@${statSync(p).mtimeMs}`;
    }
  };
  walk(dir);
  return out;
}

async function savedCluster(shards, seed) {
  const c = await Cluster.create({ dim: 3, metric: 'l2', shards, seed });
  await c.addBatch(['a', 'b', 'c', 'd'], new Float32Array([1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1]), [{ x: 1 }, { x: 2 }, undefined, { x: 4 }]);
  const saved = await c.save();
  c.free();
  return saved;
}

async function refused(p) {
  await assert.rejects(p, (e) => e instanceof VecshardError && e.code === 'data_dir_locked' && /lock/.test(e.message) && /stop it first/.test(e.message));
}

test('saveLocal takes the shard locks: refused while another process holds one, nothing changes', { skip: hasFlock ? false : 'no flock(1) here' }, async (t) => {
  const tmp = mkdtempSync(join(tmpdir(), 'vecshard-lock-'));
  t.after(() => rmSync(tmp, { recursive: true, force: true }));
  const dir = join(tmp, 'dir');
  const first = await saveLocal(dir, await savedCluster(2, 1));
  assert.equal(first.locked, true);
  const before = snapshotDir(dir);

  // A process holding shard-001's lock, as `vecshard serve` does (one
  // process: the lock is on its open file, released when it is killed).
  const holder = start('bash', ['-c', 'exec 9>>"$1"; flock -x 9; exec sleep 60', 'holder', join(dir, 'shard-001', 'lock')]);
  t.after(() => holder.kill());
  await until(() => spawnSync('flock', ['-n', join(dir, 'shard-001', 'lock'), 'true']).status !== 0, 5000, 'the holder to take the lock');

  await refused(saveLocal(dir, await savedCluster(2, 2)));
  // A save with fewer shards is refused too (it would rewrite cluster.json).
  await refused(saveLocal(dir, await savedCluster(1, 3)));
  // So is a save with more shards, and it creates no new shard folder.
  await refused(saveLocal(dir, await savedCluster(4, 4)));
  await refused(deleteLocal(dir));
  assert.deepEqual(snapshotDir(dir), before, 'nothing in the data dir changed');
  assert.equal(existsSync(join(dir, 'shard-002')), false);
  // Reading is not writing: loadLocal still works.
  assert.ok(await loadLocal(dir));

  holder.kill();
  await until(() => spawnSync('flock', ['-n', join(dir, 'shard-001', 'lock'), 'true']).status === 0, 5000, 'the lock to be released');
  const r = await saveLocal(dir, await savedCluster(4, 5));
  assert.equal(r.locked, true);
  assert.equal((await loadLocal(dir)).shards.length, 4);
  // Our own locks are gone after the save.
  assert.equal(spawnSync('flock', ['-n', join(dir, 'shard-003', 'lock'), 'true']).status, 0);
});

test('saveLocal into the data dir of a running `vecshard serve` fails with data_dir_locked and changes nothing', { skip: !CLI || !existsSync(CLI) ? 'set VECSHARD_CLI to the vecshard binary' : !hasFlock ? 'no flock(1) here' : false }, async (t) => {
  const tmp = mkdtempSync(join(tmpdir(), 'vecshard-serve-lock-'));
  t.after(() => rmSync(tmp, { recursive: true, force: true }));
  const dir = join(tmp, 'served');
  await saveLocal(dir, await savedCluster(2, 6));
  const port = await freePort();
  const server = start(CLI, ['serve', '--data', dir, '--listen', `127.0.0.1:${port}`]);
  t.after(() => server.kill('SIGKILL'));
  await until(async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok, 60000, `vecshard serve to start (${server.log()})`);
  const before = snapshotDir(dir);
  await refused(saveLocal(dir, await savedCluster(2, 7)));
  await refused(deleteLocal(dir));
  assert.deepEqual(snapshotDir(dir), before, 'nothing in the data dir changed');
  // The server still answers from its own data.
  const r = await fetch(`http://127.0.0.1:${port}/v1/vectors/a/attributes`);
  assert.deepEqual((await r.json()).attributes, { x: 1 });
});
