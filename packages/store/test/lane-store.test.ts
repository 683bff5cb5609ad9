// A worker's lane store against a real redis-server: each outcome of claim, mark-sending and complete decoded from
// its script, the lock's extend and release, and the reconciler's promote and look.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { RedisServer } from '@ttpush/testkit';
import { Keys, conversationOf, newMessageId, type SubmitRequest } from '@ttpush/contract';
import {
  DoneChannel,
  LaneStore,
  MessageStore,
  ReconcilerStore,
  textHash,
  toView,
  type DoneNotice,
} from '../src/index.ts';

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

test('claim with mark: the first queued head marked sending with the create_time rule, its record as read before', async () => {
  const { lanes, messages, conv, accept, redis, keys } = stores('lcm');
  const now = Date.now();
  const second = Math.floor(now / 1000);
  const mark = { now, maxMessageAgeMs: 60_000 };
  const claimAndRead = async (token: string) => {
    const c = await lanes.claim({ conv, token, lockMs: 5000, peek: 8, mark });
    assert.ok(c.status === 'claimed');
    return { c, r: await messages.record(c.heads[0]!.id) };
  };
  // The conversation's last message: the same text ('hi'), completed in this very second, msg_id 40.
  await redis.hset(keys.conv(conv), { lmid: '40', lct: String(second), lh: textHash('hi') });
  const same = await accept();
  const other = await accept({ text: 'other' });
  let { c, r } = await claimAndRead('a');
  assert.deepEqual(c.marked, { createTime: second + 1, floor: 40 });
  assert.deepEqual(
    c.heads.map((h) => [h.id, h.record?.status, h.record?.attempts]),
    [
      [same, 'queued', 0],
      [other, 'queued', 0],
    ],
  );
  assert.deepEqual(
    [r?.status, r?.attempts, r?.createTime, r?.floor, r?.updatedAt],
    ['sending', 1, second + 1, 40, now],
  );
  // Completed: the conversation's last is now 'hi' at second + 1. Another text takes now's second.
  const sent = { status: 'sent', msgId: 41, createTime: second + 1, textHash: textHash('hi') } as const;
  assert.equal((await lanes.complete({ id: same, conv, token: 'a', outcome: sent })).left, 1);
  ({ c, r } = await claimAndRead('a'));
  assert.deepEqual(c.marked, { createTime: second, floor: 41 });
  assert.deepEqual(
    [c.heads[0]?.id, r?.status, r?.attempts, r?.createTime, r?.floor],
    [other, 'sending', 1, second, 41],
  );
  // The same text a second later than the last one: now's second too.
  await redis.hset(keys.conv(conv), { lct: String(second - 1), lh: textHash('other') });
  await redis.hset(keys.message(other), { s: 'queued' });
  ({ c } = await claimAndRead('a'));
  assert.deepEqual(c.marked, { createTime: second, floor: 41 });
});

test('claim with mark: a sending head is left for its read-back; one past its deadline or age, or unasked, unmarked', async () => {
  const { lanes, messages, conv, accept, redis, keys } = stores('lcs');
  const now = Date.now();
  const claim = (token: string, mark?: { now: number; maxMessageAgeMs: number }) =>
    lanes.claim({ conv, token, lockMs: 5000, peek: 8, ...(mark && { mark }) });
  const id = await accept();
  // Not asked: nothing marked.
  let c = await claim('a');
  assert.ok(c.status === 'claimed');
  assert.equal(c.marked, null);
  assert.equal((await messages.record(id))?.status, 'queued');
  // Found sending (an attempt in flight): left as it is, to be read back with its own create_time and floor.
  await lanes.markSending({ id, conv, token: 'a', now: now - 5000, createTime: 1234, floor: 7 });
  c = await claim('a', { now, maxMessageAgeMs: 60_000 });
  assert.ok(c.status === 'claimed');
  assert.equal(c.marked, null);
  assert.equal(c.heads[0]?.record?.status, 'sending');
  let r = await messages.record(id);
  assert.deepEqual(
    [r?.status, r?.attempts, r?.createTime, r?.floor, r?.updatedAt],
    ['sending', 1, 1234, 7, now - 5000],
  );
  await lanes.complete({ id, conv, token: 'a', outcome: { status: 'failed', code: 'expired', message: 'x' } });
  // Past its deadline: left queued, for the worker to fail.
  const late = await accept({ deadline: now - 1 }, now - 10);
  c = await claim('a', { now, maxMessageAgeMs: 60_000 });
  assert.ok(c.status === 'claimed');
  assert.deepEqual([c.heads[0]?.id, c.marked], [late, null]);
  r = await messages.record(late);
  assert.deepEqual([r?.status, r?.attempts], ['queued', 0]);
  // Within its deadline, it would be marked; past the max age from its acceptance, it is not.
  assert.equal((await claim('a', { now: now - 2, maxMessageAgeMs: 60_000 })).status, 'claimed');
  assert.equal((await messages.record(late))?.status, 'sending');
  await redis.hset(keys.message(late), { s: 'queued', a: '0' });
  await redis.hdel(keys.message(late), 'dl');
  c = await claim('a', { now, maxMessageAgeMs: 5 });
  assert.ok(c.status === 'claimed');
  assert.equal(c.marked, null);
  assert.equal((await messages.record(late))?.status, 'queued');
  c = await claim('a', { now, maxMessageAgeMs: 10 });
  assert.ok(c.status === 'claimed');
  assert.notEqual(c.marked, null);
});

test('claim with mark: a lock held by another worker marks nothing; a scheduled message ages from its send time', async () => {
  const { lanes, messages, conv, accept, reconciler } = stores('lcb');
  const now = Date.now();
  const mark = { now, maxMessageAgeMs: 1000 };
  const id = await accept({ sendAt: now - 100 }, now - 5000);
  assert.equal((await reconciler.promote(id, now)).status, 'promoted');
  assert.equal((await lanes.claim({ conv, token: 'a', lockMs: 5000, peek: 8 })).status, 'claimed');
  assert.deepEqual(await lanes.claim({ conv, token: 'b', lockMs: 5000, peek: 8, mark }), { status: 'busy' });
  let r = await messages.record(id);
  assert.deepEqual([r?.status, r?.attempts], ['queued', 0]);
  // Accepted 5 s ago, due 100 ms ago: within a max age of 1 s from its send time.
  const c = await lanes.claim({ conv, token: 'a', lockMs: 5000, peek: 8, mark });
  assert.ok(c.status === 'claimed');
  assert.deepEqual(c.marked, { createTime: Math.floor(now / 1000), floor: 0 });
  r = await messages.record(id);
  assert.deepEqual([r?.status, r?.attempts], ['sending', 1]);
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
  assert.deepEqual(await lanes.complete({ id: a, conv, token: 't', outcome: sent }), { left: 1, marked: null });
  const ra = await messages.record(a);
  assert.deepEqual([ra?.status, ra?.msgId, ra?.text], ['sent', 41, '']);
  assert.deepEqual(await redis.hgetall(keys.conv(conv)), { lmid: '41', lct: '1700', lh: 'h1' });
  const failed = { status: 'failed', code: 'expired', message: 'too late' } as const;
  assert.equal((await lanes.complete({ id: b, conv, token: 't', outcome: failed })).left, 0);
  const rb = await messages.record(b);
  assert.deepEqual([rb?.status, rb?.errorCode, rb?.errorMessage], ['failed', 'expired', 'too late']);
  assert.equal(await redis.exists(keys.lock(conv)), 0);
  assert.equal(await messages.queueDepth(), 0);
  // Completing again changes nothing: the first outcome stays.
  assert.equal((await lanes.complete({ id: a, conv, token: 't', outcome: failed })).left, 0);
  assert.equal((await messages.record(a))?.status, 'sent');
  assert.equal(await messages.queueDepth(), 0);
});

test('complete with next: the next head marked sending by the rule, as the completion leaves the conversation', async () => {
  const { lanes, messages, conv, accept } = stores('lxn');
  const now = Date.now();
  const second = Math.floor(now / 1000);
  const next = { maxMessageAgeMs: 60_000 };
  const [a, b, c, d] = [await accept(), await accept(), await accept({ text: 'c' }), await accept({ text: 'd' })];
  const claimed = await lanes.claim({
    conv,
    token: 't',
    lockMs: 5000,
    peek: 8,
    mark: { now, maxMessageAgeMs: 60_000 },
  });
  assert.ok(claimed.status === 'claimed');
  assert.deepEqual(claimed.marked, { createTime: second, floor: 0 });
  // a sent as msg_id 50 in this second: b, the same text, takes the next second, over floor 50.
  const sent = (msgId: number, createTime: number, text: string) =>
    ({ status: 'sent', msgId, createTime, textHash: textHash(text) }) as const;
  assert.deepEqual(
    await lanes.complete({ id: a, conv, token: 't', now, outcome: sent(50, second, 'hi'), next: { id: b, ...next } }),
    { left: 3, marked: { createTime: second + 1, floor: 50 } },
  );
  let r = await messages.record(b);
  assert.deepEqual(
    [r?.status, r?.attempts, r?.createTime, r?.floor, r?.updatedAt],
    ['sending', 1, second + 1, 50, now],
  );
  // Not the head (c is behind b), or not our lock: nothing marked.
  const failed = { status: 'failed', code: 'teamtalk_rejected', message: 'no' } as const;
  assert.deepEqual(await lanes.complete({ id: b, conv, token: 't', now, outcome: failed, next: { id: d, ...next } }), {
    left: 2,
    marked: null,
  });
  assert.deepEqual(await lanes.complete({ id: c, conv, token: 'x', now, outcome: failed, next: { id: d, ...next } }), {
    left: 1,
    marked: null,
  });
  r = await messages.record(d);
  assert.deepEqual([r?.status, r?.attempts], ['queued', 0]);
  // A message that failed leaves the conversation as it was: d, another text, takes now's second over floor 50.
  const e = await accept({ text: 'e' });
  assert.deepEqual(await lanes.complete({ id: d, conv, token: 't', now, outcome: failed, next: { id: e, ...next } }), {
    left: 1,
    marked: { createTime: second, floor: 50 },
  });
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

const LONG = 'a long text, over the 64 bytes a hash listpack value may hold: '.repeat(3);

test('a finished record keeps what its view and owner read: the send-only fields go, a long text leaves no hashtable', async () => {
  const { lanes, messages, conv, accept, redis, keys } = stores('lf');
  const id = await accept({
    text: LONG,
    priority: 'normal',
    key: 'key_0123456789abcdef',
    callbackUrl: 'https://example.com/hook',
    notify: true,
  });
  const before = await messages.record(id);
  // Accepting leaves out what the reader defaults: the recipient type of a user, priority normal, 0 attempts.
  assert.deepEqual(Object.keys(await redis.hgetall(keys.message(id))).sort(), [
    'app', 'c', 'ca', 'cb', 'f', 'k', 'n', 's', 'to', 'x',
  ]); // prettier-ignore
  assert.deepEqual([before?.to, before?.priority, before?.attempts, before?.updatedAt], [
    { user: 2 }, 'normal', 0, before?.createdAt,
  ]); // prettier-ignore
  assert.equal(await redis.object('ENCODING', keys.message(id)), 'hashtable');
  await lanes.claim({ conv, token: 't', lockMs: 5000, peek: 8 });
  assert.deepEqual(await lanes.markSending({ id, conv, token: 't', now: Date.now(), createTime: 1700, floor: 40 }), {
    status: 'marked',
  });
  const at = Date.now();
  const sent = { status: 'sent', msgId: 41, createTime: 1700, textHash: 'h1' } as const;
  assert.equal((await lanes.complete({ id, conv, token: 't', now: at, outcome: sent })).left, 0);
  const h = await redis.hgetall(keys.message(id));
  assert.deepEqual(Object.keys(h).sort(), ['a', 'app', 'ca', 'f', 'k', 'mid', 'n', 's', 'st', 'to', 'ua']);
  assert.equal(await redis.object('ENCODING', keys.message(id)), 'listpack');
  assert.ok((await redis.pttl(keys.message(id))) > 0);
  const r = await messages.record(id);
  assert.deepEqual(toView(r!), {
    ...toView(before!),
    status: 'sent',
    msg_id: 41,
    attempts: 1,
    updated_at: new Date(at).toISOString(),
    sent_at: new Date(at).toISOString(),
  });
  assert.deepEqual(await messages.owner(id), { app: 'crm', key: 'key_0123456789abcdef' });
});

test('a record of the previous format reads as before and ends compacted alike; a group, a priority, parts stay', async () => {
  const { lanes, messages, conv, accept, redis, keys } = stores('lo');
  const old = await accept({ text: LONG, priority: 'normal', key: 'key_0123456789abcdef' });
  const fresh = await messages.record(old);
  // What accepting wrote before: every field, defaults included.
  await redis.hset(keys.message(old), 'tt', 'u', 'p', 'normal', 'a', '0', 'ua', String(fresh!.createdAt));
  assert.deepEqual(await messages.record(old), fresh);
  assert.deepEqual(await messages.cancel(old, conv), { status: 'cancelled' });
  assert.deepEqual(Object.keys(await redis.hgetall(keys.message(old))).sort(), [
    'app',
    'ca',
    'f',
    'k',
    's',
    'to',
    'ua',
  ]);
  assert.equal(await redis.object('ENCODING', keys.message(old)), 'listpack');
  const cancelled = await messages.record(old);
  assert.deepEqual(toView(cancelled!), {
    ...toView(fresh!),
    status: 'cancelled',
    updated_at: new Date(cancelled!.updatedAt).toISOString(),
  });

  // A group at high priority sent as parts keeps its recipient type, priority and text.
  const gconv = conversationOf(1, { group: 7 });
  const request: SubmitRequest = {
    app: 'crm',
    from: 1,
    to: { group: 7 },
    text: LONG,
    priority: 'high',
    withParts: true,
  };
  const a = await messages.accept({
    id: newMessageId(Date.now(), keys.partition(gconv)),
    conv: gconv,
    now: Date.now(),
    request,
  });
  assert.ok(a.status === 'accepted');
  await lanes.claim({ conv: gconv, token: 't', lockMs: 5000, peek: 8 });
  const failed = { status: 'failed', code: 'expired', message: 'too late' } as const;
  await lanes.complete({ id: a.record.id, conv: gconv, token: 't', outcome: failed });
  const g = await redis.hgetall(keys.message(a.record.id));
  assert.deepEqual([g.tt, g.p, g.x, g.pp, g.c], ['g', 'high', LONG, '1', undefined]);
  const r = await messages.record(a.record.id);
  assert.deepEqual([r?.to, r?.priority, r?.withParts, r?.errorCode], [{ group: 7 }, 'high', true, 'expired']);
});
