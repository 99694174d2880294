// Deno (npm `deno`): runs smoke.mjs in the project where the tarball is
// installed, so Deno resolves "vecshard" from node_modules like a user's
// project would (and picks the "deno" export condition).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GOLDEN } from '../lib/data.mjs';
import { bin, run } from '../lib/proc.mjs';

test('Deno imports the package, builds, searches and loads snapshots', async () => {
  const here = dirname(fileURLToPath(import.meta.url));
  const project = dirname(here);
  const r = await run(bin('deno'), ['run', '--no-prompt', '--allow-read', join(here, 'smoke.mjs'), GOLDEN], {
    cwd: project,
    env: { ...process.env, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' },
  });
  assert.equal(r.code, 0, `deno failed:\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /build, search, snapshot and golden load ok/);
  console.log(r.stdout.trim());
});
