// The client against a running ttpush: real redis-server, sandbox TeamTalk, api and worker processes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { TtpushClient, TtpushError, type BatchRecipient, type BatchView } from '@ttpush/client';
import { DEV_KEY, Harness, sleep } from './helpers/harness.ts';

let h: Harness;
let client: TtpushClient;

before(async () => {
  h = await Harness.start({ sandbox: { groups: { '700': [1, 2, 3] } } });
  client = new TtpushClient({ url: h.url, apiKey: DEV_KEY });
});
after(async () => {
  await h?.stop();
});

async function finished(id: string, timeoutMs = 30_000): Promise<BatchView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const view = await client.getBatch(id);
    if (view.status === 'completed' || view.status === 'cancelled') return view;
    if (Date.now() > deadline) throw new Error(`batch ${id} still ${view.status}: ${JSON.stringify(view.counts)}`);
    await sleep(100);
  }
}

test('sendMessage with wait answers the sent message; getMessage reads the same status', async () => {
  const sent = await client.sendMessage({ from: 1, to: { user: 2 }, content: 'client hello' }, { wait: 10 });
  assert.equal(sent.status, 'sent');
  assert.ok(sent.msg_id !== null && sent.msg_id > 0);
  const read = await client.getMessage(sent.id);
  assert.equal(read.id, sent.id);
  assert.equal(read.status, 'sent');
  assert.equal(read.msg_id, sent.msg_id);
});

test('a scheduled message is cancelled and stays cancelled', async () => {
  const sendAt = new Date(Date.now() + 3_600_000).toISOString();
  const queued = await client.sendMessage({ from: 1, to: { user: 3 }, content: 'later', send_at: sendAt });
  assert.equal(queued.status, 'scheduled');
  const cancelled = await client.cancelMessage(queued.id);
  assert.equal(cancelled.status, 'cancelled');
  assert.equal((await client.getMessage(queued.id)).status, 'cancelled');
  await assert.rejects(client.cancelMessage(queued.id), (err: unknown) => {
    assert.ok(err instanceof TtpushError);
    assert.equal(err.status, 409);
    assert.equal(err.code, 'not_cancellable');
    return true;
  });
});

test('a send repeated with the same idempotency key answers the same message and stores it once', async () => {
  const key = randomUUID();
  const first = await client.sendMessage({ from: 4, to: { user: 5 }, content: 'once' }, { idempotencyKey: key });
  const second = await client.sendMessage({ from: 4, to: { user: 5 }, content: 'once' }, { idempotencyKey: key });
  assert.equal(second.id, first.id);
  let view = second;
  for (const deadline = Date.now() + 20_000; view.status !== 'sent' && Date.now() < deadline;) {
    await sleep(50);
    view = await client.getMessage(first.id);
  }
  assert.equal(view.status, 'sent');
  assert.equal(h.sandbox.store.singleMessages(4, 5).length, 1);
});

test('a batch from an array reaches users and a group', async () => {
  const batch = await client.createBatch({
    from: 1,
    content: 'array batch',
    recipients: [{ user: 20 }, { user: 21, content: 'own text' }, { group: 700 }],
  });
  assert.equal(batch.total, 3);
  const done = await finished(batch.id);
  assert.equal(done.status, 'completed');
  assert.equal(done.counts.sent, 3);
  assert.equal(done.counts.failed, 0);
});

test('a batch streamed from an async generator; its results are read page by page', async () => {
  async function* recipients(): AsyncGenerator<BatchRecipient> {
    for (let u = 1000; u < 1250; u++) {
      if (u % 50 === 0) await sleep(1);
      yield { user: u };
    }
  }
  const batch = await client.createBatch({ from: 1, content: 'streamed batch', stream: recipients() });
  assert.equal(batch.total, 250);
  const done = await finished(batch.id);
  assert.equal(done.counts.sent, 250);

  const first = await client.batchResults(batch.id, { limit: 100 });
  assert.ok(first.results.length <= 100);
  assert.notEqual(first.next_cursor, null);

  const users = new Set<number>();
  for await (const row of client.eachBatchResult(batch.id, { limit: 100 })) {
    assert.equal(row.state, 'sent');
    if (row.recipient !== null && 'user' in row.recipient) users.add(row.recipient.user);
  }
  assert.equal(users.size, 250);
  assert.ok(users.has(1000) && users.has(1249));

  const failed = [];
  for await (const row of client.eachBatchResult(batch.id, { state: 'failed' })) failed.push(row);
  assert.deepEqual(failed, []);
});

test('a wrong key is a 401 TtpushError', async () => {
  const stranger = new TtpushClient({ url: h.url, apiKey: 'not-a-key-of-this-server-0000', retries: 0 });
  await assert.rejects(stranger.getMessage('anything'), (err: unknown) => {
    assert.ok(err instanceof TtpushError);
    assert.equal(err.status, 401);
    assert.equal(err.code, 'unauthorized');
    return true;
  });
});

test('a refused send is a 400 TtpushError naming the field', async () => {
  await assert.rejects(client.sendMessage({ from: 1, to: { user: 1 }, content: 'me' }), (err: unknown) => {
    assert.ok(err instanceof TtpushError);
    assert.equal(err.status, 400);
    assert.equal(err.code, 'self_send');
    assert.equal(err.field, 'to.user');
    return true;
  });
  await assert.rejects(
    client.createBatch({ from: 1, content: 'x', recipients: [{ user: 2 }, { user: -3 }] }),
    (err: unknown) => {
      assert.ok(err instanceof TtpushError);
      assert.equal(err.status, 400);
      assert.equal(err.code, 'invalid_recipient');
      assert.equal(err.field, 'recipients[1].user');
      assert.equal(err.details.index, 1);
      return true;
    },
  );
  await assert.rejects(client.getBatch('no-such-batch'), (err: unknown) => {
    assert.ok(err instanceof TtpushError);
    assert.equal(err.status, 404);
    assert.equal(err.code, 'not_found');
    return true;
  });
});

test('listMessages pages newest first with filters; eachMessage walks every page', async () => {
  const since = new Date(Date.now() - 1000);
  const sent = [];
  for (const to of [4301, 4302, 4303]) {
    sent.push(await client.sendMessage({ from: 4242, to: { user: to }, content: `list ${to}` }, { wait: 10 }));
  }
  const later = await client.sendMessage({
    from: 4242,
    to: { user: 4304 },
    content: 'later',
    send_at: new Date(Date.now() + 3_600_000).toISOString(),
  });
  const newestFirst = [...sent, later]
    .sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at) || (a.id < b.id ? 1 : -1))
    .map((m) => m.id);
  const first = await client.listMessages({ from: 4242, limit: 2 });
  assert.deepEqual(
    first.messages.map((m) => m.id),
    newestFirst.slice(0, 2),
  );
  assert.equal(typeof first.next_cursor, 'string');
  const all = [];
  for await (const m of client.eachMessage({ from: 4242, since, limit: 1 })) all.push(m.id);
  assert.deepEqual(all, newestFirst);
  const page = await client.listMessages({ from: 4242, status: ['sent', 'failed'], to_user: 4302 });
  assert.deepEqual(
    page.messages.map((m) => [m.id, m.status]),
    [[sent[1]!.id, 'sent']],
  );
  assert.deepEqual(
    (await client.listMessages({ from: 4242, status: 'scheduled' })).messages.map((m) => m.id),
    [later.id],
  );
  await assert.rejects(client.listMessages({ limit: 501 }), (err: unknown) => {
    assert.ok(err instanceof TtpushError);
    assert.equal(err.status, 400);
    assert.equal(err.code, 'invalid_field');
    assert.equal(err.field, 'limit');
    return true;
  });
});

test('parts: a message with a picture is sent and read back with its parts; a bad part is a TtpushError naming it', async () => {
  const parts = [{ text: 'chart ' }, { image: 'https://cdn.example.com/chart.png' }];
  const sent = await client.sendMessage({ from: 1, to: { user: 6 }, parts }, { wait: 10 });
  assert.equal(sent.status, 'sent');
  assert.deepEqual(sent.parts, parts);
  assert.deepEqual((await client.getMessage(sent.id)).parts, parts);
  const stored = h.sandbox.store.singleMessages(1, 6).at(-1);
  assert.ok(stored, 'stored by TeamTalk');
  const batch = await client.createBatch({
    from: 1,
    parts: [{ image: 'https://cdn.example.com/all.png' }],
    recipients: [{ user: 7 }, { user: 8, parts: [{ text: 'own' }] }],
  });
  assert.equal((await finished(batch.id)).counts.sent, 2);
  await assert.rejects(
    client.sendMessage({ from: 1, to: { user: 2 }, parts: [{ image: 'ftp://x/y.png' }] }),
    (err: unknown) => {
      assert.ok(err instanceof TtpushError);
      assert.equal(err.status, 400);
      assert.equal(err.code, 'invalid_field');
      assert.equal(err.field, 'parts[0].image');
      return true;
    },
  );
});
