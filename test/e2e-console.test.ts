// The console in a real browser: headless Chromium (Debian's package, driven by playwright-core) against
// api + worker + sandbox processes. Log in with the admin key, watch a batch's progress grow, cancel it
// from the page; the API then reports it cancelled and the page shows it. bull-board loads for the
// logged-in browser and answers 401 without a login.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { Harness, sleep } from './helpers/harness.ts';

const CHROMIUM = '/usr/bin/chromium';
const ADMIN_KEY = 'admin-key-for-the-console-e2e-0001';
// The closed network refuses Chromium's background connections: without these it waits on them.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
// A batch's counts move every second while its chunks send: 20,000 recipients at 800 messages/s over all workers
// take about 25 s, time to read the progress twice and cancel.
const RECIPIENTS = 20_000;

const haveChromium = existsSync(CHROMIUM);
let h: Harness | undefined;
let browser: Browser | undefined;

before(async () => {
  if (!haveChromium) return;
  h = await Harness.start({
    // A short reply timeout: the message to an unknown group fails (teamtalk_no_reply) within seconds.
    env: { TTPUSH_ADMIN_KEY: ADMIN_KEY, TTPUSH_TEAMTALK_MAX_RATE: '800', TTPUSH_TEAMTALK_REPLY_TIMEOUT_MS: '1000' },
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});

after(async () => {
  await browser?.close();
  await h?.stop();
});

async function progressOf(page: import('playwright-core').Page, id: string): Promise<number> {
  return page.locator(`tr[data-batch="${id}"] progress`).evaluate((p) => (p as unknown as { value: number }).value);
}

test('log in, watch a batch progress, cancel it from the page; bull-board behind the login', async (t) => {
  if (!haveChromium) {
    t.skip('chromium is not installed: apt-get install chromium');
    return;
  }
  const harness = h!;
  const recipients = Array.from({ length: RECIPIENTS }, (_, i) => ({ user: 100_000 + i }));
  const created = await harness.post('/v1/batches', { from: 1, content: 'console e2e', recipients });
  assert.equal(created.status, 202, JSON.stringify(created.body));
  const id: string = created.body.id;

  const context = await browser!.newContext();
  try {
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(err.message));
    page.on('dialog', (d) => void d.accept());

    const first = await page.goto(`${harness.url}/console`);
    assert.equal(first?.status(), 200);
    await page.fill('input[name="key"]', 'not the admin key at all');
    await page.click('button[type="submit"]');
    await page.waitForSelector('text=That is not the admin key');
    await page.fill('input[name="key"]', ADMIN_KEY);
    await page.click('button[type="submit"]');
    const row = page.locator(`tr[data-batch="${id}"]`);
    await row.waitFor({ timeout: 15_000 });

    // Two readings of the progress bar, the second larger: the page follows the batch as it is sent.
    const a = await progressOf(page, id);
    let b = a;
    for (const deadline = Date.now() + 20_000; b <= a && Date.now() < deadline;) {
      await sleep(500);
      b = await progressOf(page, id);
    }
    assert.ok(b > a, `progress went from ${a}% to ${b}%`);
    assert.ok(b < 100, `the batch finished (${b}%) before it could be cancelled: slow the worker down more`);

    await row.locator('button[data-action="cancel"]').click();
    let status = '';
    for (const deadline = Date.now() + 15_000; status !== 'cancelled' && Date.now() < deadline;) {
      status = (await harness.get(`/v1/batches/${id}`)).body.status;
      if (status !== 'cancelled') await sleep(200);
    }
    assert.equal(status, 'cancelled');
    await row.locator('.status', { hasText: 'cancelled' }).waitFor({ timeout: 10_000 });
    const view = (await harness.get(`/v1/batches/${id}`)).body;
    assert.ok(view.counts.cancelled > 0, JSON.stringify(view.counts));
    // The TeamTalk table shows the worker's connections.
    await page.locator('#teamtalk td.state', { hasText: 'ready' }).first().waitFor({ timeout: 10_000 });
    assert.deepEqual(problems, []);

    // bull-board, for the logged-in browser: the page and its script load and it lists the lanes queue.
    const board = await page.goto(`${harness.url}/admin/queues`, { waitUntil: 'domcontentloaded' });
    assert.equal(board?.status(), 200);
    await page.getByText('p0-lanes').first().waitFor({ timeout: 20_000 });

    // Another browser without the login gets 401 from bull-board and the login form from /console.
    const stranger = await browser!.newContext();
    try {
      const p2 = await stranger.newPage();
      const refused = await p2.goto(`${harness.url}/admin/queues`);
      assert.equal(refused?.status(), 401);
      await p2.goto(`${harness.url}/console`);
      assert.equal(await p2.locator('input[name="key"]').count(), 1);
    } finally {
      await stranger.close();
    }
  } finally {
    await context.close();
  }
});

test('the recent messages panel shows each message with its status and error, filtered by status', async (t) => {
  if (!haveChromium) {
    t.skip('chromium is not installed: apt-get install chromium');
    return;
  }
  const harness = h!;
  const sent = await harness.post('/v1/messages?wait=15', { from: 1, to: { user: 2 }, content: 'panel: sent' });
  assert.equal(sent.body.status, 'sent', JSON.stringify(sent.body));
  const failed = await harness.post('/v1/messages?wait=15', { from: 1, to: { group: 999999 }, content: 'panel' });
  assert.equal(failed.body.status, 'failed', JSON.stringify(failed.body));

  const context = await browser!.newContext();
  try {
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(err.message));
    await page.goto(`${harness.url}/console`);
    await page.fill('input[name="key"]', ADMIN_KEY);
    await page.click('button[type="submit"]');
    const failedRow = page.locator(`tr[data-message="${failed.body.id}"]`);
    await failedRow.locator('.status', { hasText: 'failed' }).waitFor({ timeout: 15_000 });
    assert.match(await failedRow.innerText(), /group_not_found: .*group/);
    assert.match(await failedRow.innerText(), /dev/);
    const sentRow = page.locator(`tr[data-message="${sent.body.id}"]`);
    await sentRow.locator('.status', { hasText: 'sent' }).waitFor({ timeout: 15_000 });
    assert.match(await sentRow.innerText(), new RegExp(`\\b${sent.body.msg_id}\\b`));

    // Only failed messages: the sent one leaves the table at the next poll.
    await page.selectOption('#message-status', 'failed');
    await sentRow.waitFor({ state: 'detached', timeout: 10_000 });
    assert.equal(await failedRow.count(), 1);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});
