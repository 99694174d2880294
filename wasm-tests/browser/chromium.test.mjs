// Headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core):
// a page imports the package's browser entry, builds, searches, loads a
// native golden snapshot. A screenshot is saved as a test artifact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { GOLDEN } from '../lib/data.mjs';
import { packageDir } from '../lib/proc.mjs';
import { serve } from '../lib/serve.mjs';

export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--no-first-run', '--disable-sync',
];
const ARTIFACTS = process.env.VECSHARD_ARTIFACTS ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'artifacts');

test('the browser entry works in headless Chromium', async (t) => {
  const here = dirname(fileURLToPath(import.meta.url));
  const { server, base } = await serve({ '/pkg/': packageDir(), '/golden/': GOLDEN, '/': here });
  t.after(() => server.close());
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });
  t.after(() => browser.close());
  const page = await browser.newPage();
  const console_ = [];
  page.on('console', (m) => console_.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => console_.push(`pageerror: ${e.message}`));
  await page.goto(`${base}/page.html`);
  const result = await page.waitForFunction(() => window.__vecshard, null, { timeout: 60000 }).then((h) => h.jsonValue());
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, 'chromium-page.png'), fullPage: true });
  assert.ok(result.ok, `page failed: ${result.error}\n${console_.join('\n')}`);
  // The glue warns and falls back to a slower path if .wasm is served with the wrong type.
  assert.ok(!console_.some((l) => /instantiateStreaming/.test(l)), console_.join('\n'));
  console.log(`chromium: init ${result.initMs.toFixed(1)} ms, addBatch of 3000×32 ${result.buildMs.toFixed(0)} ms; ${result.checks.length} checks`);
});
