// Batches end to end: uploads (JSON, streamed NDJSON) → Redis chunks → worker → sandbox TeamTalk.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { Harness, sleep } from './helpers/harness.ts';
import {
  decrypt,
  deleteBatch,
  exportResults,
  finished,
  ndjsonLines,
  uploadNdjson,
  users,
  waitBatch,
  waitStoredCount,
} from './helpers/batches.ts';

let h: Harness;
let redis: Redis;

before(async () => {
  // 16 lane/chunk job slots per worker: fewer than a 50k batch's 50 chunk jobs, so the priority test shows
  // BullMQ's order at work rather than free slots.
  h = await Harness.start({
    sandbox: { groups: { '700': [1, 2, 3], '701': [1, 4] } },
    env: { TTPUSH_WORKER_CONCURRENCY: '16' },
  });
  redis = new Redis(h.redis.url);
});
after(async () => {
  redis?.disconnect();
  await h?.stop();
});

/** The sandbox's rows from `from` to each user of [first, first + count): each must be there exactly once. */
function assertEachStoredOnce(from: number, first: number, count: number, text: string): void {
  for (let u = first; u < first + count; u++) {
    const rows = h.sandbox.store.singleMessages(from, u);
    assert.equal(rows.length, 1, `user ${u} holds ${rows.length} messages from ${from}`);
    assert.equal(decrypt(rows[0]!.msgData), text);
  }
}

/**
 * The sandbox's stored count once it stopped moving: unchanged for `quietMs` (longer than a chunk takes to end), within
 * `timeoutMs`. A cancel or pause lets the chunks in flight end; how long that takes depends on the machine's load.
 */
async function settledStoredCount(quietMs = 1000, timeoutMs = 20_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last = h.sandbox.store.count();
  for (;;) {
    await sleep(quietMs);
    const now = h.sandbox.store.count();
    if (now === last) return now;
    assert.ok(Date.now() < deadline, `messages were still being stored ${timeoutMs} ms after the change`);
    last = now;
  }
}

async function batchKeyCount(): Promise<number> {
  let n = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', 'ttp:b:*', 'COUNT', 1000);
    cursor = next;
    n += keys.length;
  } while (cursor !== '0');
  return n;
}

test('a JSON batch to users and groups, with per-recipient content and a duplicate, is sent once each', async () => {
  const r = await h.post('/v1/batches', {
    from: 1,
    content: '群发 batch 🚀',
    recipients: [{ user: 2 }, { group: 700 }, { user: 3, content: { kind: 'own', text: '你的' } }, { user: 2 }],
  });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  assert.match(r.body.id, /^bat_/);
  assert.equal(r.body.total, 3);
  assert.equal(r.body.duplicates, 1);
  const view = await waitBatch(h, r.body.id, finished);
  assert.equal(view.status, 'completed');
  assert.deepEqual(view.counts, { queued: 0, sending: 0, sent: 3, failed: 0, cancelled: 0 });

  const toUser = h.sandbox.store.singleMessages(1, 2);
  const toGroup = h.sandbox.store.groupMessages(700);
  const own = h.sandbox.store.singleMessages(1, 3);
  assert.deepEqual(
    toUser.map((m) => decrypt(m.msgData)),
    ['群发 batch 🚀'],
  );
  assert.deepEqual(
    toGroup.map((m) => decrypt(m.msgData)),
    ['群发 batch 🚀'],
  );
  assert.deepEqual(
    own.map((m) => decrypt(m.msgData)),
    [JSON.stringify({ kind: 'own', text: '你的' })],
  );

  const page = await h.get(`/v1/batches/${r.body.id}/results`);
  assert.equal(page.status, 200);
  assert.equal(page.body.next_cursor, null);
  assert.deepEqual(page.body.results, [
    { recipient: { user: 2 }, state: 'sent', msg_id: toUser[0]!.msgId },
    { recipient: { group: 700 }, state: 'sent', msg_id: toGroup[0]!.msgId },
    { recipient: { user: 3 }, state: 'sent', msg_id: own[0]!.msgId },
  ]);
});

test('a 50,000-recipient NDJSON upload, streamed, completes with every recipient stored exactly once', async () => {
  const before = h.sandbox.store.count();
  const n = 50_000;
  // Duplicated lines are removed: the first 100 recipients appear twice.
  const lines = ndjsonLines({ from: 10, content: 'fifty thousand' }, [
    ...users(1_000_000, n),
    ...users(1_000_000, 100),
  ]);
  const r = await uploadNdjson(h, lines);
  assert.equal(r.status, 202, JSON.stringify(r.body));
  assert.equal(r.body.total, n);
  assert.equal(r.body.duplicates, 100);
  assert.ok(['queued', 'running'].includes(r.body.status), r.body.status);
  const view = await waitBatch(h, r.body.id, finished, 120_000);
  assert.equal(view.status, 'completed');
  assert.deepEqual(view.counts, { queued: 0, sending: 0, sent: n, failed: 0, cancelled: 0 });
  assert.ok(view.rate > 0);
  assert.equal(h.sandbox.store.count() - before, n);
  assertEachStoredOnce(10, 1_000_000, n, 'fifty thousand');

  const rows = await exportResults(h, r.body.id);
  assert.equal(rows.length, n);
  const stored = h.sandbox.store.singleMessages(10, 1_000_123)[0]!;
  assert.deepEqual(rows[123], { recipient: { user: 1_000_123 }, state: 'sent', msg_id: stored.msgId });
  assert.ok(rows.every((x) => x.state === 'sent'));

  // Pages walk the same results: 1,000 at a time, then filtered by state (none failed).
  const first = await h.get(`/v1/batches/${r.body.id}/results?limit=1000`);
  assert.equal(first.body.results.length, 1000);
  const second = await h.get(`/v1/batches/${r.body.id}/results?limit=1000&cursor=${first.body.next_cursor}`);
  assert.deepEqual(second.body.results[0], rows[1000]);
  const failed = await h.get(`/v1/batches/${r.body.id}/results?state=failed&limit=10`);
  assert.equal(failed.status, 200);
  assert.deepEqual(failed.body.results, []);
});

test('an invalid NDJSON line fails the upload with a 400 naming the line; nothing is queued or sent', async () => {
  const keys = await batchKeyCount();
  const stored = h.sandbox.store.count();
  const lines = ['{"from": 1, "content": "never"}', '{"user": 20}', '{"user": 21}', '{"user": "22"}', '{"user": 23}'];
  const r = await uploadNdjson(h, lines);
  assert.equal(r.status, 400);
  assert.equal(r.body.error.code, 'invalid_recipient');
  assert.equal(r.body.line, 4);
  assert.match(r.body.error.message, /^line 4: user is a string/);
  assert.match(r.body.error.message, /skip_invalid=true/);

  const json = await h.post('/v1/batches', { from: 1, content: 'never', recipients: [{ user: 20 }, { user: 1 }] });
  assert.equal(json.status, 400);
  assert.equal(json.body.error.code, 'invalid_recipient');
  assert.equal(json.body.error.field, 'recipients[1].user');
  assert.equal(json.body.index, 1);

  // A refused upload removes what it wrote: wait for that with a deadline.
  for (const deadline = Date.now() + 10_000; (await batchKeyCount()) !== keys; await sleep(50)) {
    assert.ok(Date.now() < deadline, `the refused uploads left ${(await batchKeyCount()) - keys} keys behind`);
  }
  assert.equal(h.sandbox.store.count(), stored);
  assert.equal(h.sandbox.store.singleMessages(1, 20).length, 0);
});

test('with ?skip_invalid=true invalid lines are listed as rejected and the rest is sent', async () => {
  const lines = [
    '{"from": 1, "content": "skip the bad ones"}',
    '{"user": 30}',
    'not json',
    '{"user": 1}',
    '{"group": 701}',
    '{"user": 0}',
    '{"user": 31}',
  ];
  const r = await uploadNdjson(h, lines, { query: '?skip_invalid=true' });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  assert.equal(r.body.total, 6);
  assert.equal(r.body.rejected, 3);
  const view = await waitBatch(h, r.body.id, finished);
  assert.equal(view.status, 'completed');
  assert.equal(view.counts.sent, 3);
  const rejected = await h.get(`/v1/batches/${r.body.id}/results?state=rejected`);
  assert.deepEqual(
    rejected.body.results.map((x: any) => [x.state, x.line, x.error.code, x.input]),
    [
      ['rejected', 3, 'invalid_json', 'not json'],
      ['rejected', 4, 'self_send', '{"user": 1}'],
      ['rejected', 6, 'invalid_field', '{"user": 0}'],
    ],
  );
  const all = await exportResults(h, r.body.id);
  assert.deepEqual(
    all.map((x) => x.state),
    ['sent', 'sent', 'sent', 'rejected', 'rejected', 'rejected'],
  );
  assert.equal(h.sandbox.store.singleMessages(1, 30).length, 1);
  assert.equal(h.sandbox.store.groupMessages(701).length, 1);
});

test('a retried upload with the same Idempotency-Key is a no-op answering the first batch', async () => {
  const lines = ['{"from": 1, "content": "once only"}', '{"user": 40}', '{"user": 41}'];
  const headers = { 'idempotency-key': 'batch-retry-1' };
  const a = await uploadNdjson(h, lines, { headers });
  const b = await uploadNdjson(h, lines, { headers });
  assert.equal(a.status, 202);
  assert.equal(b.status, 202);
  assert.equal(b.body.id, a.body.id);
  assert.equal(b.headers['idempotent-replayed'], 'true');
  await waitBatch(h, a.body.id, finished);
  // The same key with another request (a JSON body naming one of the recipients) is refused, never sent.
  const c = await h.post('/v1/batches', { from: 1, content: 'once only', recipients: [{ user: 40 }] }, headers);
  assert.equal(c.status, 422, JSON.stringify(c.body));
  assert.equal(c.body.error.code, 'idempotency_key_reused');
  await sleep(300);
  assert.equal(h.sandbox.store.singleMessages(1, 40).length, 1);
  assert.equal(h.sandbox.store.singleMessages(1, 41).length, 1);
});

test('cancel mid-batch stops sending and leaves the counts consistent', async () => {
  const start = h.sandbox.store.count();
  const n = 100_000;
  const r = await uploadNdjson(h, ndjsonLines({ from: 11, content: 'cancel me' }, users(2_000_000, n)));
  assert.equal(r.status, 202);
  await waitStoredCount(h, start + 3000);
  const del = await deleteBatch(h, r.body.id);
  assert.equal(del.status, 200, JSON.stringify(del.body));
  assert.equal(del.body.status, 'cancelled');
  const settled = await settledStoredCount();
  assert.ok(settled - start < n, 'the batch finished before it was cancelled');

  const view = await waitBatch(h, r.body.id, finished, 30_000);
  assert.equal(view.status, 'cancelled');
  assert.equal(view.counts.sent, settled - start);
  assert.equal(view.counts.sent + view.counts.cancelled, n);
  assert.equal(view.counts.queued + view.counts.sending + view.counts.failed, 0);
  const again = await deleteBatch(h, r.body.id);
  assert.equal(again.status, 200);
  const rows = await exportResults(h, r.body.id, '?state=cancelled');
  assert.equal(rows.length, view.counts.cancelled);
});

test('pause stops sending, resume finishes the batch, each recipient stored once', async () => {
  const start = h.sandbox.store.count();
  const n = 60_000;
  const r = await uploadNdjson(h, ndjsonLines({ from: 12, content: 'pause me' }, users(3_000_000, n)));
  assert.equal(r.status, 202);
  await waitStoredCount(h, start + 3000);
  const paused = await h.post(`/v1/batches/${r.body.id}/pause`, {});
  assert.equal(paused.status, 200, JSON.stringify(paused.body));
  assert.equal(paused.body.status, 'paused');
  const during = await settledStoredCount();
  assert.ok(during - start < n, 'the batch finished before it was paused');
  const view = (await h.get(`/v1/batches/${r.body.id}`)).body;
  assert.equal(view.status, 'paused');
  assert.equal(view.counts.sent, during - start);

  const resumed = await h.post(`/v1/batches/${r.body.id}/resume`, {});
  assert.equal(resumed.status, 200);
  assert.equal(resumed.body.status, 'running');
  const done = await waitBatch(h, r.body.id, finished, 60_000);
  assert.equal(done.status, 'completed');
  assert.equal(done.counts.sent, n);
  assertEachStoredOnce(12, 3_000_000, n, 'pause me');

  const late = await h.post(`/v1/batches/${r.body.id}/pause`, {});
  assert.equal(late.status, 409);
  assert.equal(late.body.error.code, 'not_pausable');
  const cancel = await deleteBatch(h, r.body.id);
  assert.equal(cancel.status, 409);
  assert.equal(cancel.body.error.code, 'not_cancellable');
});

test('a high-priority message accepted while a 50,000-recipient batch drains is stored ahead of it', async () => {
  const start = h.sandbox.store.count();
  const n = 50_000;
  const r = await uploadNdjson(h, ndjsonLines({ from: 13, content: 'bulk' }, users(4_000_000, n)));
  assert.equal(r.status, 202);
  await waitStoredCount(h, start + 2000);
  const alert = await h.post('/v1/messages?wait=20', {
    from: 7,
    to: { user: 8 },
    content: 'ALERT: disk full',
    priority: 'high',
  });
  assert.equal(alert.status, 200, JSON.stringify(alert.body));
  assert.equal(alert.body.status, 'sent');
  await waitBatch(h, r.body.id, finished, 60_000);

  // Order of storage in the sandbox: the alert must precede a good part of the batch. Waiting behind the
  // 34 chunk jobs that did not yet have a slot would leave at most 16,000 batch messages after it.
  const rows = h.sandbox.store.allMessages().slice(start);
  const alertAt = rows.findIndex((m) => m.from === 7 && m.to === 8);
  assert.ok(alertAt >= 0);
  const batchAfter = rows.slice(alertAt).filter((m) => m.from === 13).length;
  assert.ok(batchAfter >= 20_000, `only ${batchAfter} batch messages were stored after the alert`);
});

test('a worker stopped (SIGTERM) and one killed (SIGKILL) mid-batch: each recipient still stored exactly once', async () => {
  const k = await Harness.start({ workers: 1, env: { TTPUSH_WORKER_LOCK_MS: '2000' } });
  try {
    const n = 50_000;
    const r = await uploadNdjson(k, ndjsonLines({ from: 14, content: 'survive a crash' }, users(5_000_000, n)));
    assert.equal(r.status, 202);
    const stored = async (atLeast: number) => {
      const end = Date.now() + 60_000;
      while (k.sandbox.store.count() < atLeast) {
        assert.ok(Date.now() < end, `only ${k.sandbox.store.count()} stored, waited for ${atLeast}`);
        await sleep(5);
      }
    };
    // A graceful stop records what its chunks settled: the counts match the store at once.
    await stored(5000);
    await k.killWorker(k.workers[0]!, 'SIGTERM');
    const stopped = (await k.get(`/v1/batches/${r.body.id}`)).body;
    assert.equal(stopped.status, 'running');
    assert.equal(stopped.counts.sent, k.sandbox.store.count());
    assert.ok(stopped.counts.sent < n, 'the batch finished before the worker was stopped');

    k.startWorker();
    await stored(stopped.counts.sent + 10_000);
    await k.killWorker(k.workers[1]!);
    const atKill = k.sandbox.store.count();
    assert.ok(atKill < n, 'the worker was killed mid-batch');
    k.startWorker();
    const view = await waitBatch(k, r.body.id, finished, 120_000);
    assert.equal(view.status, 'completed');
    assert.deepEqual(view.counts, { queued: 0, sending: 0, sent: n, failed: 0, cancelled: 0 });
    assert.equal(k.sandbox.store.count(), n);
    for (let u = 5_000_000; u < 5_000_000 + n; u++) {
      assert.equal(k.sandbox.store.singleMessages(14, u).length, 1, `user ${u}`);
    }
    const rows = await exportResults(k, r.body.id);
    assert.equal(rows.filter((x) => x.state === 'sent').length, n);
    // The new worker found stored messages of the chunks the killed one was sending, and did not resend them.
    const kr = new Redis(k.redis.url);
    try {
      const end2 = Date.now() + 20_000;
      let found = 0;
      while ((found = Number(await kr.hget('ttp:stats', 'read_back_found'))) === 0 && Date.now() < end2)
        await sleep(100);
      assert.ok(found > 0, 'no message was found by reading back');
    } finally {
      kr.disconnect();
    }
  } finally {
    await k.stop();
  }
});
