// Throttles end to end, measured by the sandbox: the per-app rate limit (two api processes, legacy /query,
// a batch paced by its app's limit) and the global cap towards db_proxy_server (two workers).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rawPost } from './helpers/raw-post.ts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandId } from '@ttpush/pdu';
import { Harness, sleep } from './helpers/harness.ts';
import { finished, waitBatch } from './helpers/batches.ts';

const FIVE_KEY = 'five-per-second-key-0123456789';
const ONE_KEY = 'one-per-second-key-0123456789';
const BULK_KEY = 'two-hundred-per-second-key-0123';
const MAX_RATE = 500;
const MAX_IN_FLIGHT_TOTAL = 8;
/**
 * Slack over rate + burst in any 1-second window of arrivals: tokens a worker may hold from a block fetched
 * before the window (TOKEN_BLOCK, two workers), plus 100 ms of arrival jitter (the sandbox runs in this
 * process, whose event loop may stall and hand over requests in a clump).
 */
const SLACK = 2 * 64 + MAX_RATE / 10;

let h: Harness;
let dir: string;
let secondApi: string;
/** Unix ms of each IMMsgData the sandbox's db_proxy received, by sender. */
const arrivals = new Map<number, number[]>();

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ttpush-throttles-'));
  const keysFile = join(dir, 'app-keys.json');
  writeFileSync(
    keysFile,
    JSON.stringify({
      keys: [
        { name: 'five', key: FIVE_KEY, senders: '*', rate_limit: 5 },
        { name: 'one', key: ONE_KEY, senders: '*', rate_limit: 1 },
        { name: 'bulk', key: BULK_KEY, senders: '*', rate_limit: 200 },
      ],
    }),
  );
  h = await Harness.start({
    workers: 2,
    env: {
      TTPUSH_APP_KEYS_FILE: keysFile,
      TTPUSH_TEAMTALK_MAX_RATE: String(MAX_RATE),
      TTPUSH_TEAMTALK_MAX_IN_FLIGHT_TOTAL: String(MAX_IN_FLIGHT_TOTAL),
    },
  });
  secondApi = await h.startExtraApi();
  h.sandbox.dbProxy.on('request', (commandId: number, body: unknown) => {
    if (commandId !== CommandId.MSG_DATA) return;
    const from = (body as { fromUserId: number }).fromUserId;
    let list = arrivals.get(from);
    if (!list) arrivals.set(from, (list = []));
    list.push(Date.now());
  });
});
after(async () => {
  await h?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function post(base: string, key: string, body: unknown): Promise<Response> {
  return fetch(`${base}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify(body),
  });
}

/** The most arrivals within any 1-second window. */
function busiestSecond(times: number[]): number {
  const t = [...times].sort((a, b) => a - b);
  let most = 0;
  let lo = 0;
  for (let hi = 0; hi < t.length; hi++) {
    while (t[hi]! - t[lo]! >= 1000) lo++;
    most = Math.max(most, hi - lo + 1);
  }
  return most;
}

const legacy = (port: number, body: string) => rawPost(port, '/query/SendSingleMessage', body);

test('an app over its rate_limit gets 429 rate_limited with Retry-After, across two api processes', async () => {
  const bases = [h.url, secondApi];
  const started = Date.now();
  const answers = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      post(bases[i % 2]!, FIVE_KEY, { from: 1, to: { user: 100 + i }, content: `burst ${i}` }),
    ),
  );
  const accepted = answers.filter((r) => r.status === 202);
  const limited = answers.filter((r) => r.status === 429);
  assert.equal(accepted.length + limited.length, 20, `statuses ${answers.map((r) => r.status).join(',')}`);
  // A burst of 5, and what refilled (5/s) while the burst was answered.
  const refilled = Math.ceil(((Date.now() - started) * 5) / 1000);
  assert.ok(accepted.length >= 5 && accepted.length <= 5 + refilled, `${accepted.length} accepted`);
  for (const r of limited) {
    const retryAfter = r.headers.get('retry-after');
    assert.match(retryAfter ?? '', /^[1-9]\d*$/);
    const body = (await r.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'rate_limited');
    assert.match(body.error.message, /'five' may send 5 messages per second/);
  }
  // Both api processes refused some: the bucket is shared, not per process.
  const limitedBy = new Set(answers.flatMap((r, i) => (r.status === 429 ? [i % 2] : [])));
  assert.deepEqual([...limitedBy].sort(), [0, 1]);

  await sleep(1100);
  const again = await post(secondApi, FIVE_KEY, { from: 1, to: { user: 200 }, content: 'after a second' });
  assert.equal(again.status, 202);
  // An app without a limit is never refused.
  const dev = await Promise.all(
    Array.from({ length: 20 }, (_, i) => h.post('/v1/messages', { from: 1, to: { user: 300 + i }, content: 'dev' })),
  );
  assert.deepEqual(new Set(dev.map((r) => r.status)), new Set([202]));
});

test('legacy /query answers error 10 (server busy) when the app is over its rate_limit', async () => {
  const body = JSON.stringify({ app_key: ONE_KEY, from_user_id: 7, session_id: 8, msg: 'legacy limited' });
  const first = await legacy(h.apiPort, body);
  assert.match(first.split('\r\n\r\n')[1]!, /"error_code" : 0,/);
  const second = await legacy(h.apiPort, body);
  assert.match(second, /^HTTP\/1\.1 200/);
  assert.equal(second.split('\r\n\r\n')[1], '{\n   "error_code" : 10,\n   "error_msg" : "服务器异常"\n}\n');
});

test('two workers keep to the global cap: in flight and messages/s towards db_proxy_server', async (t) => {
  await sleep(300);
  h.sandbox.dbProxy.resetStats();
  const batch = await h.post('/v1/batches', {
    from: 11,
    content: 'capped batch',
    recipients: Array.from({ length: 3000 }, (_, i) => ({ user: 10_000 + i })),
  });
  assert.equal(batch.status, 202, JSON.stringify(batch.body));
  const ids: string[] = [];
  for (let i = 0; i < 500; i += 50) {
    const got = await Promise.all(
      Array.from({ length: 50 }, (_, j) =>
        h.post('/v1/messages', { from: 12, to: { user: 20_000 + i + j }, content: 'single' }),
      ),
    );
    for (const g of got) {
      assert.equal(g.status, 202);
      ids.push(g.body.id as string);
    }
  }
  const view = await waitBatch(h, batch.body.id as string, finished, 50_000);
  const singles = await h.waitTerminal(ids, 30_000);
  assert.deepEqual(view.counts, { queued: 0, sending: 0, sent: 3000, failed: 0, cancelled: 0 });
  assert.deepEqual(new Set([...singles.values()].map((v) => v.status)), new Set(['sent']));

  const stats = h.sandbox.dbProxy.stats;
  assert.ok(stats.maxInFlight <= MAX_IN_FLIGHT_TOTAL, `the sandbox saw ${stats.maxInFlight} requests in flight`);
  const times = [...(arrivals.get(11) ?? []), ...(arrivals.get(12) ?? [])];
  assert.equal(times.length, 3500);
  const most = busiestSecond(times);
  const span = Math.max(...times) - Math.min(...times);
  t.diagnostic(`max in flight ${stats.maxInFlight}, busiest second ${most}, 3500 sent in ${span} ms`);
  assert.ok(most <= 2 * MAX_RATE + SLACK, `${most} IMMsgData in one second`);
  // 3,500 messages at 500/s after a burst of 500 take about 6 s: far longer than unthrottled.
  assert.ok(span >= 4500, `sent in ${span} ms`);
});

test("a batch is paced by its app's rate_limit, not refused", async (t) => {
  const r = await fetch(`${h.url}/v1/batches`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${BULK_KEY}` },
    body: JSON.stringify({
      from: 13,
      content: 'paced batch',
      recipients: Array.from({ length: 1000 }, (_, i) => ({ user: 30_000 + i })),
    }),
  });
  assert.equal(r.status, 202);
  const { id } = (await r.json()) as { id: string };
  const view = await waitBatch(h, id, finished, 30_000, BULK_KEY);
  assert.deepEqual(view.counts, { queued: 0, sending: 0, sent: 1000, failed: 0, cancelled: 0 });
  const times = arrivals.get(13) ?? [];
  assert.equal(times.length, 1000);
  const span = Math.max(...times) - Math.min(...times);
  t.diagnostic(`busiest second ${busiestSecond(times)}, 1000 sent in ${span} ms`);
  assert.ok(busiestSecond(times) <= 2 * 200 + SLACK, `${busiestSecond(times)} in one second`);
  // A burst of 200, then 200/s: about 4 s for 1,000.
  assert.ok(span >= 3500, `sent in ${span} ms`);
});
