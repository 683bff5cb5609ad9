/**
 * /docs in a real browser: Swagger UI loads from the api's own files (no internet), reads /openapi.json
 * and shows every operation, with no script error, failed request or Content-Security-Policy violation.
 * Needs a Chromium (CHROMIUM_PATH, or /usr/bin/chromium); skipped without one.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { allOperations } from '../src/openapi/index.ts';
import { startTestApp, type TestApp } from './helpers/test-app.ts';

const executablePath = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find(
  (p): p is string => p !== undefined && existsSync(p),
);

let app: TestApp;
let browser: Browser | undefined;

before(async () => {
  app = await startTestApp();
  if (executablePath) browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
});

after(async () => {
  await browser?.close();
  await app?.close();
});

test(
  '/docs shows every operation of the reference, with no error in the page',
  { skip: !executablePath && 'no Chromium' },
  async () => {
    const page = await browser!.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
    const offsite: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(app.url) && !r.url().startsWith('data:')) offsite.push(r.url());
    });
    await page.goto(`${app.url}/docs`);
    await page.waitForSelector('.opblock', { timeout: 20_000 });
    assert.equal(await page.locator('.opblock').count(), allOperations().length);
    assert.match((await page.locator('.info .title').textContent()) ?? '', /ttpush/);
    assert.deepEqual(problems, []);
    assert.deepEqual(offsite, [], 'the page must not need the internet');
  },
);
