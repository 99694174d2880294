// Run by Deno (npm `deno`) from the temporary project where the tarball is
// installed: `deno run --allow-read smoke.mjs GOLDEN_DIR`. Deno resolves
// "vecshard" through package.json + node_modules and picks the "deno"
// export condition. Exits non-zero on any failed check.
import init, { Index, VecshardError } from 'vecshard';

function check(cond, what) {
  if (!cond) throw new Error(`deno: ${what}`);
}

await init();
check(typeof Deno === 'object' && Deno.version.deno, 'running under Deno');

// Build and search.
const index = new Index({ dim: 8, metric: 'cosine', seed: 1 });
for (let i = 0; i < 500; i++) {
  const v = new Float32Array(8).map((_, j) => Math.sin(i * 0.37 + j * 1.3) + (j === i % 8 ? 1 : 0));
  index.add(`k${i}`, v);
}
const probe = index.get('k123');
const r = index.search(probe, 5);
check(r.keys[0] === 'k123', `self is nearest, got ${r.keys}`);
check(r.distances instanceof Float32Array && r.distances[0] < 1e-5, 'distance ~0');

// Snapshot round trip and the native golden file.
const back = Index.fromBytes(index.toBytes());
check(back.search(probe, 5).keys.join() === r.keys.join(), 'round trip');
const golden = await Deno.readFile(`${Deno.args[0]}/v1_l2_f32.bin`);
const expected = (await Deno.readTextFile(`${Deno.args[0]}/v1_l2_f32.expected`)).trim().split('\n').map((l) => l.split(' ')[0]);
const g = Index.fromBytes(golden);
check(g.search(new Float32Array([0.1, 0.2, 0.3, 0.4]), 5).keys.join() === expected.join(), 'golden answers');

// Errors carry their code.
try {
  index.add('bad', new Float32Array(3));
  check(false, 'dimension error expected');
} catch (e) {
  check(e instanceof VecshardError && e.code === 'dimension_mismatch', `code, got ${e}`);
}
console.log(`deno ${Deno.version.deno}: build, search, snapshot and golden load ok`);
