// The www/ demo page in headless Chromium, served the way `node
// www/serve.mjs` serves it (package and data under dist/, here mapped to
// the installed tarball and ../shared/data): build the 4-shard cluster in
// Web Workers, search a word and find its exact nearest neighbour, save to
// OPFS, reload the page, open the saved copy and search again. When
// VECSHARD_CLI is set, a data dir built by `vecshard build` is offered and
// loaded too. Screenshots go to the artifacts folder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { DATA } from '../lib/data.mjs';
import { packageDir, run } from '../lib/proc.mjs';
import { serve } from '../lib/serve.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const WWW = process.env.VECSHARD_WWW ?? join(HERE, '..', '..', 'www');
const ARTIFACTS = process.env.VECSHARD_ARTIFACTS ?? join(HERE, '..', 'artifacts');
const CLI = process.env.VECSHARD_CLI;
// As in chromium.test.mjs (not imported: that would run its test here too).
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--no-first-run', '--disable-sync',
];

// Exact (brute-force, float64) nearest neighbours in glove100-10k's base set,
// each word's first: university -> cornell (0.266), russia -> soviet (0.309),
// philosophy -> economics (0.274).
const EXPECT = { university: 'cornell', russia: 'soviet' };

async function searchFor(page, word) {
  await page.fill('#q', word);
  await page.press('#q', 'Enter');
  await page.waitForSelector(`body[data-query="${word}"]`, { timeout: 30000 });
  return page.$$eval('#hits li', (els) => els.map((e) => e.dataset.word));
}

test('the demo page builds a 4-shard cluster, finds neighbours, and survives a reload through OPFS', async (t) => {
  const routes = { '/dist/vecshard/': packageDir(), '/dist/data/glove100-10k/': join(DATA, 'glove100-10k'), '/': WWW };
  if (CLI) {
    const tmp = mkdtempSync(join(tmpdir(), 'vecshard-www-'));
    t.after(() => rmSync(tmp, { recursive: true, force: true }));
    const b = await run(CLI, ['build', '--input', join(DATA, 'glove100-10k', 'base.fvecs'), '--shards', '4', '--metric', 'cosine', '--out', join(tmp, 'cli')]);
    assert.equal(b.code, 0, b.stderr);
    routes['/dist/data/glove100-10k-cli/'] = join(tmp, 'cli');
  }
  const { server, base } = await serve(routes);
  t.after(() => server.close());
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });
  t.after(() => browser.close());
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const log = [];
  page.on('console', (m) => log.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => log.push(`pageerror: ${e.message}`));
  const failed = () => `\n${log.join('\n')}`;
  mkdirSync(ARTIFACTS, { recursive: true });

  await page.goto(`${base}/`);
  await page.waitForSelector('body[data-booted="true"]', { timeout: 30000 }).catch((e) => assert.fail(e.message + failed()));
  assert.equal(await page.isVisible('#load-saved'), false, 'nothing saved yet');

  // Build in the browser: 10,000 vectors into 4 workers, with a progress bar.
  const t0 = Date.now();
  await page.click('#build');
  await page.waitForSelector('body[data-state="ready"]', { timeout: 180000 }).catch((e) => assert.fail(e.message + failed()));
  const buildMs = Date.now() - t0;
  assert.equal(await page.textContent('#progress-pct'), '100%');
  const sizes = await page.$$eval('.shard .size', (els) => els.map((e) => Number(e.textContent.replace(/\D/g, ''))));
  assert.equal(sizes.length, 4);
  assert.equal(sizes.reduce((a, b) => a + b, 0), 10000);
  assert.ok(sizes.every((s) => s > 2000 && s < 3000), `balanced shards: ${sizes}`);

  const hits = await searchFor(page, 'university');
  assert.equal(hits.length, 10);
  assert.equal(hits[0], EXPECT.university, `${hits}${failed()}`);
  const timings = await page.$$eval('.trow .ms', (els) => els.map((e) => e.textContent));
  assert.equal(timings.length, 5, 'four shards and the merged time');
  assert.ok(timings.every((s) => /ms$/.test(s)), String(timings));
  await page.screenshot({ path: join(ARTIFACTS, 'demo.png'), fullPage: true });

  // Suggestions while typing.
  await page.fill('#q', '');
  await page.type('#q', 'philo');
  await page.waitForSelector('#suggest:not([hidden]) li');
  assert.ok((await page.$$eval('#suggest li', (els) => els.map((e) => e.textContent))).includes('philosophy'));

  // Save to OPFS, reload, open the saved copy.
  await page.click('#save');
  await page.waitForSelector('#save-note[data-backend]', { timeout: 60000 }).catch((e) => assert.fail(e.message + failed()));
  assert.equal(await page.getAttribute('#save-note', 'data-backend'), 'opfs');
  await page.reload();
  await page.waitForSelector('body[data-booted="true"]', { timeout: 30000 });
  assert.equal(await page.isVisible('#load-saved'), true, `the saved copy is offered after a reload${failed()}`);
  const t1 = Date.now();
  await page.click('#load-saved');
  await page.waitForSelector('body[data-state="ready"]', { timeout: 60000 }).catch((e) => assert.fail(e.message + failed()));
  const reloadMs = Date.now() - t1;
  const again = await searchFor(page, 'russia');
  assert.equal(again[0], EXPECT.russia, String(again));
  assert.equal((await searchFor(page, 'university'))[0], EXPECT.university);
  await page.screenshot({ path: join(ARTIFACTS, 'demo-reloaded.png'), fullPage: true });

  if (CLI) {
    assert.equal(await page.isVisible('#load-cli'), true);
    await page.click('#load-cli');
    await page.waitForSelector('body[data-state="ready"]', { timeout: 60000 }).catch((e) => assert.fail(e.message + failed()));
    assert.equal((await searchFor(page, 'philosophy'))[0], 'economics');
    await page.screenshot({ path: join(ARTIFACTS, 'demo-cli.png'), fullPage: true });
  }
  // Clean up the origin's storage, so the next run starts empty.
  await page.click('#forget');
  assert.ok(!log.some((l) => l.startsWith('pageerror')), failed());
  console.log(`demo: build in Chromium ${(buildMs / 1000).toFixed(1)} s, open from OPFS after reload ${(reloadMs / 1000).toFixed(1)} s${CLI ? ', CLI-built data dir loaded' : ''}`);
});
