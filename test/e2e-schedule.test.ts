// Scheduling across a restart of every ttpush process: what was accepted lives in Redis only, so a scheduled
// message and a scheduled batch are sent at their time by the processes started afterwards, and a deadline
// that passes while no worker runs fails its message as `expired` without sending it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Harness, sleep } from './helpers/harness.ts';
import { decrypt, exportResults, finished, users, waitBatch } from './helpers/batches.ts';

let h: Harness;
before(async () => {
  // A short reply timeout, so the read-back test below reaches its read-back quickly.
  h = await Harness.start({ env: { TTPUSH_TEAMTALK_REPLY_TIMEOUT_MS: '600' } });
});
after(async () => {
  await h?.stop();
});

/** How late after its time a scheduled send may come: the reconciler's tick, a delayed job's pickup, the send. */
const LATE_MS = 4000;
const BATCH_SIZE = 20;

test('a scheduled message and batch are sent at their time after every process restarted; a deadline passed meanwhile expires', async () => {
  const sendAt = Date.now() + 6000;
  const sendAtIso = new Date(sendAt).toISOString();
  const msg = await h.post('/v1/messages', {
    from: 1,
    to: { user: 2 },
    content: 'scheduled across a restart',
    send_at: sendAtIso,
  });
  assert.equal(msg.status, 202, JSON.stringify(msg.body));
  assert.equal(msg.body.status, 'scheduled');
  const batch = await h.post('/v1/batches', {
    from: 1,
    content: 'scheduled batch across a restart',
    recipients: [...users(6000, BATCH_SIZE)],
    send_at: sendAtIso,
  });
  assert.equal(batch.status, 202, JSON.stringify(batch.body));

  await h.stopProcesses();
  await sleep(2000);
  assert.equal(h.sandbox.store.count(), 0, 'nothing is sent while no process runs');

  await h.startApi();
  // /healthz answers before the api's Redis connection is ready (it answers 503 until then): wait for that.
  for (let end = Date.now() + 10_000; (await h.get('/v1/messages/msg_0000000000000')).status === 503; await sleep(50)) {
    assert.ok(Date.now() < end, 'the restarted api never reached Redis');
  }
  // Accepted while no worker runs; its deadline passes before one starts.
  const deadline = Date.now() + 800;
  const doomed = await h.post('/v1/messages', {
    from: 3,
    to: { user: 4 },
    content: 'too late',
    deadline: new Date(deadline).toISOString(),
  });
  assert.equal(doomed.status, 202, JSON.stringify(doomed.body));
  assert.equal(doomed.body.deadline, new Date(deadline).toISOString());
  await sleep(Math.max(0, deadline - Date.now()) + 200);
  h.startWorker();
  await h.waitReady();
  // Nothing can be sent before a worker runs: on a loaded machine it may start after send_at. "At its time" is then
  // as soon as the worker is up.
  const due = Math.max(sendAt, Date.now());

  const views = await h.waitTerminal([msg.body.id, doomed.body.id], 30_000);
  const sent = views.get(msg.body.id);
  assert.equal(sent.status, 'sent', JSON.stringify(sent));
  const sentAt = Date.parse(sent.sent_at);
  assert.ok(sentAt >= sendAt, `sent at ${sent.sent_at}, before its send_at ${sendAtIso}`);
  assert.ok(sentAt - due < LATE_MS, `sent at ${sent.sent_at}, too late after ${new Date(due).toISOString()}`);
  const stored = h.sandbox.store.singleMessages(1, 2);
  assert.equal(stored.length, 1);
  assert.equal(stored[0]!.msgId, sent.msg_id);
  assert.ok(stored[0]!.createTime >= Math.floor(sendAt / 1000));

  const expired = views.get(doomed.body.id);
  assert.equal(expired.status, 'failed', JSON.stringify(expired));
  assert.equal(expired.error.code, 'expired');
  assert.equal(expired.msg_id, null);
  assert.equal(h.sandbox.store.singleMessages(3, 4).length, 0, 'an expired message is not stored');

  const view = await waitBatch(h, batch.body.id, finished, 30_000);
  assert.equal(view.status, 'completed');
  assert.equal(view.counts.sent, BATCH_SIZE);
  const started = Date.parse(view.started_at);
  assert.ok(started >= sendAt, `batch started at ${view.started_at}, before its send_at ${sendAtIso}`);
  assert.ok(
    started - due < LATE_MS,
    `batch started at ${view.started_at}, too late after ${new Date(due).toISOString()}`,
  );
  const results = await exportResults(h, batch.body.id);
  assert.equal(results.length, BATCH_SIZE);
  for (const { user } of users(6000, BATCH_SIZE)) {
    const rows = h.sandbox.store.singleMessages(1, user);
    assert.equal(rows.length, 1, `user ${user} holds ${rows.length} copies`);
    assert.equal(decrypt(rows[0]!.msgData), 'scheduled batch across a restart');
    assert.ok(rows[0]!.createTime >= Math.floor(sendAt / 1000));
  }
});

test('a deadline that passes while a send may have stored the message does not fail it: it is read back first', async () => {
  // db_proxy answers after 900 ms: the request times out at 600 ms, the deadline passes, then it is stored.
  h.sandbox.dbProxy.setFault({ delayMs: 900 });
  const before = h.sandbox.store.count();
  let id: string;
  try {
    const r = await h.post('/v1/messages', {
      from: 5,
      to: { user: 6 },
      content: 'stored after its deadline',
      deadline: new Date(Date.now() + 500).toISOString(),
    });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    id = r.body.id;
    const end = Date.now() + 10_000;
    while (h.sandbox.store.count() === before) {
      assert.ok(Date.now() < end, 'the delayed request was never stored');
      await sleep(10);
    }
  } finally {
    h.sandbox.dbProxy.setFault({});
  }
  const view = (await h.waitTerminal([id], 20_000)).get(id);
  assert.equal(view.status, 'sent', JSON.stringify(view));
  const stored = h.sandbox.store.singleMessages(5, 6);
  assert.equal(stored.length, 1);
  assert.equal(stored[0]!.msgId, view.msg_id);
});

test('a deadline that passes while db_proxy_server cannot be reached fails the message as expired, unsent', async () => {
  // Not listening at all: a connection that is accepted and then dropped could carry the request first, and a
  // message that may be stored is (rightly) never expired without a read-back.
  await h.sandbox.dbProxy.stop();
  try {
    const r = await h.post('/v1/messages', {
      from: 7,
      to: { user: 8 },
      content: 'TeamTalk is away',
      deadline: new Date(Date.now() + 1500).toISOString(),
    });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const view = (await h.waitTerminal([r.body.id], 20_000)).get(r.body.id);
    assert.equal(view.status, 'failed', JSON.stringify(view));
    assert.equal(view.error.code, 'expired');
    assert.equal(h.sandbox.store.singleMessages(7, 8).length, 0);
  } finally {
    await h.sandbox.dbProxy.start();
  }
  // TeamTalk back: the worker reconnects and sends again.
  const again = await h.post('/v1/messages?wait=20', { from: 7, to: { user: 8 }, content: 'TeamTalk is back' });
  assert.equal(again.body.status, 'sent', JSON.stringify(again.body));
});
