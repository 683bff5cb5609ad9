// A worker's lane store against a real redis-server: each outcome of claim, mark-sending and complete decoded from
// its script, the lock's extend and release, and the reconciler's promote and look.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { RedisServer } from '@ttpush/testkit';
import { Keys, conversationOf, newMessageId, type SubmitRequest } from '@ttpush/contract';
import { DoneChannel, LaneStore, MessageStore, ReconcilerStore, type DoneNotice } from '../src/index.ts';

let server: RedisServer;
const conns: Redis[] = [];

before(async () => {
  server = await RedisServer.start();
});
after(async () => {
  for (const r of conns) r.disconnect();
  await server?.stop();
});

/** The stores of one prefix on one connection, and a way to accept messages of conversation u-1-2. */
function stores(prefix: string) {
  const redis = new Redis(server.url);
  conns.push(redis);
  const keys = new Keys(prefix);
  const messages = new MessageStore(redis, keys);
  const conv = conversationOf(1, { user: 2 });
  const accept = async (over: Partial<SubmitRequest> = {}, now = Date.now()) => {
    const request: SubmitRequest = { app: 'crm', from: 1, to: { user: 2 }, text: 'hi', priority: 'high', ...over };
    const r = await messages.accept({ id: newMessageId(now, keys.partition(conv)), conv, now, request });
    assert.equal(r.status, 'accepted');
    return r.status === 'accepted' ? r.record.id : '';
  };
  return {
    redis,
    keys,
    messages,
    lanes: new LaneStore(redis, keys),
    reconciler: new ReconcilerStore(redis, keys),
    conv,
    accept,
  };
}

test('claim: drained on an empty lane, claimed with the heads and the conversation state, busy for another token', async () => {
  const { lanes, conv, accept, redis, keys } = stores('lc');
  assert.deepEqual(await lanes.claim({ conv, token: 'a', lockMs: 5000, peek: 8 }), { status: 'drained' });
  const ids = [await accept(), await accept({ text: 'two' })];
  const c = await lanes.claim({ conv, token: 'a', lockMs: 5000, peek: 1 });
  assert.equal(c.status, 'claimed');
  assert.ok(c.status === 'claimed');
  assert.deepEqual(c.state, { lastMsgId: 0, lastCreateTime: 0, lastHash: '' });
  assert.deepEqual(
    c.heads.map((h) => [h.id, h.record?.text, h.record?.status]),
    [[ids[0], 'hi', 'queued']],
  );
  assert.deepEqual(await lanes.claim({ conv, token: 'b', lockMs: 5000, peek: 8 }), { status: 'busy' });
  // A head whose record is gone comes with record null.
  await redis.del(keys.message(ids[0]!));
  const again = await lanes.claim({ conv, token: 'a', lockMs: 5000, peek: 8 });
  assert.ok(again.status === 'claimed');
  assert.deepEqual(
    again.heads.map((h) => [h.id, h.record?.text ?? null]),
    [
      [ids[0], null],
      [ids[1], 'two'],
    ],
  );
});

test('mark-sending: marked (an attempt counted), lost without the lock, missing, not queued once cancelled', async () => {
  const { lanes, messages, conv, accept } = stores('lm');
  const id = await accept();
  const other = await accept({ text: 'other' });
  const mark = (i: string, token: string) =>
    lanes.markSending({ id: i, conv, token, now: Date.now(), createTime: 1234, floor: 7 });
  assert.deepEqual(await mark(id, 'a'), { status: 'lost' });
  await lanes.claim({ conv, token: 'a', lockMs: 5000, peek: 8 });
  assert.deepEqual(await mark(id, 'a'), { status: 'marked' });
  const r = await messages.record(id);
  assert.deepEqual([r?.status, r?.attempts, r?.createTime, r?.floor], ['sending', 1, 1234, 7]);
  assert.deepEqual(await mark(id, 'b'), { status: 'lost' });
  assert.deepEqual(await mark(newMessageId(Date.now(), 0), 'a'), { status: 'missing' });
  assert.deepEqual(await messages.cancel(other, conv), { status: 'cancelled' });
  assert.deepEqual(await mark(other, 'a'), { status: 'not_queued', state: 'cancelled' });
});

test('complete: sent and failed recorded, the lane shortened, drained releases the lock; a terminal record stays', async () => {
  const { lanes, messages, conv, accept, redis, keys } = stores('lx');
  const a = await accept({ notify: true });
  const b = await accept({ text: 'b' });
  await lanes.claim({ conv, token: 't', lockMs: 5000, peek: 8 });
  const sent = { status: 'sent', msgId: 41, createTime: 1700, textHash: 'h1' } as const;
  assert.equal(await lanes.complete({ id: a, conv, token: 't', outcome: sent }), 1);
  const ra = await messages.record(a);
  assert.deepEqual([ra?.status, ra?.msgId, ra?.text], ['sent', 41, '']);
  assert.deepEqual(await redis.hgetall(keys.conv(conv)), { lmid: '41', lct: '1700', lh: 'h1' });
  const failed = { status: 'failed', code: 'expired', message: 'too late' } as const;
  assert.equal(await lanes.complete({ id: b, conv, token: 't', outcome: failed }), 0);
  const rb = await messages.record(b);
  assert.deepEqual([rb?.status, rb?.errorCode, rb?.errorMessage], ['failed', 'expired', 'too late']);
  assert.equal(await redis.exists(keys.lock(conv)), 0);
  assert.equal(await messages.queueDepth(), 0);
  // Completing again changes nothing: the first outcome stays.
  assert.equal(await lanes.complete({ id: a, conv, token: 't', outcome: failed }), 0);
  assert.equal((await messages.record(a))?.status, 'sent');
  assert.equal(await messages.queueDepth(), 0);
});

test('complete publishes the outcome on the done channel for a message marked notify, and only once', async () => {
  const { lanes, conv, accept, keys } = stores('ln');
  const heard: DoneNotice[] = [];
  const sub = new Redis(server.url);
  conns.push(sub);
  await new DoneChannel(sub, keys, (n) => heard.push(n)).subscribe();
  const a = await accept({ notify: true });
  const quiet = await accept({ text: 'not waited for' });
  const b = await accept({ notify: true, text: 'b' });
  await lanes.claim({ conv, token: 't', lockMs: 5000, peek: 8 });
  const sent = { status: 'sent', msgId: 4294967295, createTime: 1700, textHash: 'h1' } as const;
  await lanes.complete({ id: a, conv, token: 't', outcome: sent });
  await lanes.complete({ id: quiet, conv, token: 't', outcome: sent });
  const failed = { status: 'failed', code: 'teamtalk_unavailable', message: 'no route' } as const;
  await lanes.complete({ id: b, conv, token: 't', outcome: failed });
  // Already terminal: nothing more is published.
  await lanes.complete({ id: a, conv, token: 't', outcome: failed });
  const end = Date.now() + 5000;
  while (heard.length < 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(heard, [
    { id: a, outcome: { status: 'sent', msgId: 4294967295, errorCode: null } },
    { id: b, outcome: { status: 'failed', msgId: null, errorCode: 'teamtalk_unavailable' } },
  ]);
});

test('extend, release and drop-head answer whether they applied', async () => {
  const { lanes, conv, accept, redis, keys } = stores('ll');
  const id = await accept();
  assert.equal(await lanes.extend({ conv, token: 't', lockMs: 5000 }), false);
  await lanes.claim({ conv, token: 't', lockMs: 1000, peek: 8 });
  assert.equal(await lanes.extend({ conv, token: 'x', lockMs: 60_000 }), false);
  assert.equal(await lanes.extend({ conv, token: 't', lockMs: 60_000 }), true);
  assert.ok((await redis.pttl(keys.lock(conv))) > 30_000);
  assert.equal(await lanes.dropHead({ conv, id: 'msg_notthehead0' }), false);
  assert.equal(await lanes.release({ conv, token: 'x' }), false);
  assert.equal(await lanes.release({ conv, token: 't' }), true);
  // The lane still holds the message: a stopping worker hands it back (score 0), then drops it.
  assert.equal(await lanes.handBack(conv), true);
  assert.equal(await redis.zscore(keys.lanes(keys.partition(conv)), conv), '0');
  assert.equal(await lanes.dropHead({ conv, id }), true);
  assert.equal(await lanes.handBack(conv), false);
});

test('promote: a due message joins its lane; a cancelled one is not scheduled, a vanished one missing', async () => {
  const { reconciler, messages, conv, accept, redis, keys } = stores('lp');
  const now = Date.now();
  const due = await accept({ sendAt: now + 50 });
  const cancelled = await accept({ sendAt: now + 50 });
  const vanished = await accept({ sendAt: now + 50 });
  await messages.cancel(cancelled, conv);
  await redis.del(keys.message(vanished));
  const p = keys.partition(conv);
  assert.deepEqual((await reconciler.dueScheduled(p, now + 100, 10)).sort(), [due, vanished].sort());
  assert.deepEqual(await reconciler.promote(due, now + 100), {
    status: 'promoted',
    conv,
    priority: 'high',
    laneLength: 1,
  });
  assert.deepEqual(await reconciler.promote(cancelled, now + 100), { status: 'not_scheduled' });
  assert.deepEqual(await reconciler.promote(vanished, now + 100), { status: 'missing' });
  assert.deepEqual(await reconciler.dueScheduled(p, now + 100, 10), []);
  assert.equal((await messages.record(due))?.status, 'queued');
});

test('look: a locked lane, or its head; stale lanes, touched and forgotten', async () => {
  const { reconciler, lanes, conv, accept, keys } = stores('lk');
  const id = await accept({}, 1000);
  const p = keys.partition(conv);
  assert.deepEqual(await reconciler.staleLanes(p, 2000, 10), [conv]);
  assert.deepEqual(await reconciler.look(conv), { locked: false, head: id });
  assert.equal(await reconciler.priority(id), 'high');
  await lanes.claim({ conv, token: 't', lockMs: 5000, peek: 8 });
  assert.deepEqual(await reconciler.look(conv), { locked: true });
  await reconciler.touch(conv, 5000);
  assert.deepEqual(await reconciler.staleLanes(p, 2000, 10), []);
  await lanes.release({ conv, token: 't' });
  await lanes.dropHead({ conv, id });
  assert.deepEqual(await reconciler.look(conv), { locked: false, head: null });
  await reconciler.forget(conv);
  assert.deepEqual(await reconciler.staleLanes(p, 10_000, 10), []);
});
