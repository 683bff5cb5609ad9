// The api's message store against a real redis-server: each outcome of accept and cancel, decoded from its script.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { RedisServer } from '@ttpush/testkit';
import { Keys, conversationOf, newMessageId, type SubmitRequest } from '@ttpush/contract';
import {
  DoneChannel,
  LaneStore,
  parseDoneNotice,
  type DoneNotice,
  MessageStore,
  ServiceUnavailableError,
} from '../src/index.ts';

let server: RedisServer;
const conns: Redis[] = [];

function conn(): Redis {
  const r = new Redis(server.url);
  conns.push(r);
  return r;
}

before(async () => {
  server = await RedisServer.start();
});
after(async () => {
  for (const r of conns) r.disconnect();
  await server?.stop();
});

function message(keys: Keys, request: SubmitRequest, now = Date.now()) {
  const conv = conversationOf(request.from, request.to);
  return { id: newMessageId(now, keys.partition(conv)), conv, now, request };
}

const req = (over: Partial<SubmitRequest> = {}): SubmitRequest => ({
  app: 'crm',
  from: 1,
  to: { user: 2 },
  text: 'hello',
  priority: 'normal',
  ...over,
});

test('accept queues on the lane (its length answered), or schedules with length 0', async () => {
  const keys = new Keys('ma');
  const store = new MessageStore(conn(), keys);
  const first = await store.accept(message(keys, req()));
  assert.equal(first.status, 'accepted');
  assert.ok(first.status === 'accepted' && first.laneLength === 1);
  const second = await store.accept(message(keys, req({ text: 'again' })));
  assert.ok(second.status === 'accepted' && second.laneLength === 2);
  const later = await store.accept(message(keys, req({ sendAt: Date.now() + 60_000 })));
  assert.ok(later.status === 'accepted' && later.laneLength === 0);
  assert.equal(later.record.status, 'scheduled');
  // The record answered is the one written.
  assert.deepEqual(await store.record(first.record.id), first.record);
  assert.equal(await store.queueDepth(), 3);
});

test('accept with an Idempotency-Key: a repeat names the first message, another request is key_reused', async () => {
  const keys = new Keys('mi');
  const store = new MessageStore(conn(), keys);
  const r = req({ idempotencyKey: 'k1' });
  const first = await store.accept({ ...message(keys, r), fingerprint: 'fp1' });
  assert.equal(first.status, 'accepted');
  const id = first.status === 'accepted' ? first.record.id : '';
  assert.deepEqual(await store.accept({ ...message(keys, r), fingerprint: 'fp1' }), { status: 'repeat', firstId: id });
  assert.deepEqual(await store.accept({ ...message(keys, r), fingerprint: 'fp2' }), {
    status: 'key_reused',
    firstId: id,
  });
  assert.equal(await store.queueDepth(), 1);
});

test('cancel: cancelled once, then not cancellable with the state found; an unknown id is missing', async () => {
  const keys = new Keys('mc');
  const store = new MessageStore(conn(), keys);
  const a = await store.accept(message(keys, req()));
  assert.equal(a.status, 'accepted');
  const { id, conv } = a.status === 'accepted' ? a.record : { id: '', conv: '' };
  assert.deepEqual(await store.cancel(id, conv), { status: 'cancelled' });
  assert.equal((await store.record(id))?.status, 'cancelled');
  assert.equal(await store.queueDepth(), 0);
  assert.deepEqual(await store.cancel(id, conv), { status: 'not_cancellable', state: 'cancelled' });
  const gone = newMessageId(Date.now(), keys.partition(conv));
  assert.deepEqual(await store.cancel(gone, conv), { status: 'missing' });
});

test('cancel refuses a message being sent', async () => {
  const keys = new Keys('ms');
  const redis = conn();
  const store = new MessageStore(redis, keys);
  const lanes = new LaneStore(redis, keys);
  const a = await store.accept(message(keys, req()));
  assert.equal(a.status, 'accepted');
  const { id, conv } = a.status === 'accepted' ? a.record : { id: '', conv: '' };
  assert.equal((await lanes.claim({ conv, token: 't', lockMs: 5000, peek: 8 })).status, 'claimed');
  const now = Date.now();
  assert.equal((await lanes.markSending({ id, conv, token: 't', now, createTime: 1, floor: 0 })).status, 'marked');
  assert.deepEqual(await store.cancel(id, conv), { status: 'not_cancellable', state: 'sending' });
});

test('owner, and a repeat that waits: notified on the done channel when cancelled', async () => {
  const keys = new Keys('mo');
  const store = new MessageStore(conn(), keys);
  const a = await store.accept(message(keys, req({ key: 'key_0123456789abcdef' })));
  assert.equal(a.status, 'accepted');
  const { id, conv } = a.status === 'accepted' ? a.record : { id: '', conv: '' };
  assert.deepEqual(await store.owner(id), { app: 'crm', key: 'key_0123456789abcdef' });
  assert.equal(await store.owner(newMessageId(Date.now(), 0)), null);

  const heard: DoneNotice[] = [];
  const done = new DoneChannel(conn(), keys, (n) => heard.push(n));
  await done.subscribe();
  await store.notifyOnCompletion(id);
  assert.equal((await store.record(id))?.notify, true);
  // No record: nothing is written.
  await store.notifyOnCompletion(newMessageId(Date.now(), 0));
  await store.cancel(id, conv);
  const end = Date.now() + 5000;
  while (heard.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  // The notice carries the outcome: a waiter needs no read of the record.
  assert.deepEqual(heard, [{ id, outcome: { status: 'cancelled', msgId: null, errorCode: null } }]);
});

test('parseDoneNotice: the outcome a script publishes, a bare id (an earlier worker), anything else read as bare', () => {
  const id = newMessageId(Date.now(), 0);
  assert.deepEqual(parseDoneNotice(`${id} sent 41 `), { id, outcome: { status: 'sent', msgId: 41, errorCode: null } });
  assert.deepEqual(parseDoneNotice(`${id} failed 0 expired`), {
    id,
    outcome: { status: 'failed', msgId: null, errorCode: 'expired' },
  });
  assert.deepEqual(parseDoneNotice(`${id} failed 0 a code with spaces`).outcome?.errorCode, 'a code with spaces');
  assert.deepEqual(parseDoneNotice(`${id} cancelled 0 `), {
    id,
    outcome: { status: 'cancelled', msgId: null, errorCode: null },
  });
  assert.deepEqual(parseDoneNotice(id), { id, outcome: null });
  for (const odd of [`${id} sending 0 `, `${id} sent x `, `${id} sent 41`, `${id} sent -1 `, `${id} `]) {
    assert.deepEqual(parseDoneNotice(odd), { id, outcome: null }, odd);
  }
});

test('a Redis that does not answer is a ServiceUnavailableError', async () => {
  const down = new Redis(server.url, { lazyConnect: true, enableOfflineQueue: false });
  conns.push(down);
  const store = new MessageStore(down, new Keys('md'));
  await assert.rejects(store.accept(message(store.keys, req())), ServiceUnavailableError);
  await assert.rejects(store.queueDepth(), ServiceUnavailableError);
});

test('accept asks for a take job only when the activations list becomes non-empty with no worker taking it', async () => {
  // One partition: every conversation shares the activations lists.
  const keys = new Keys('mt', 1);
  const store = new MessageStore(conn(), keys);
  const lanes = new LaneStore(conn(), keys);
  const to = (user: number, over: Partial<SubmitRequest> = {}) => message(keys, req({ to: { user }, ...over }));
  const taken = async (r: Awaited<ReturnType<MessageStore['accept']>>) => {
    assert.equal(r.status, 'accepted');
    return r.status === 'accepted' && r.takeJob;
  };
  assert.equal(await taken(await store.accept(to(2))), true, 'the first activation asks for a job');
  assert.equal(await taken(await store.accept(to(3))), false, 'the list is not empty: the job asked for takes it');
  assert.equal(await taken(await store.accept(to(3, { text: 'again' }))), false, 'a lane already active');
  // Another priority has its own list, and so its own job.
  assert.equal(await taken(await store.accept(to(4, { priority: 'high' }))), true);
  // A worker takes: busy is set, so a new activation meanwhile asks for no job (the taker takes again).
  assert.deepEqual(await lanes.take(0, 'normal', 10, 60_000), { convs: ['u-1-2', 'u-1-3'], left: 0 });
  assert.equal(await taken(await store.accept(to(5))), false, 'a worker is taking');
  assert.deepEqual(await lanes.take(0, 'normal', 1, 60_000), { convs: ['u-1-5'], left: 0 });
  // An empty take of a taker with lanes in flight keeps busy: it takes again.
  assert.deepEqual(await lanes.take(0, 'normal', 10, 60_000, true), { convs: [], left: 0 });
  assert.equal(await taken(await store.accept(to(11))), false, 'the taker takes again');
  assert.deepEqual(await lanes.take(0, 'normal', 10, 60_000, true), { convs: ['u-1-11'], left: 0 });
  // The empty take of an idle taker clears busy: the next activation asks for a job again.
  assert.deepEqual(await lanes.take(0, 'normal', 10, 60_000), { convs: [], left: 0 });
  assert.equal(await taken(await store.accept(to(6))), true);
  // Letting go clears busy and tells what is left; a scheduled message activates nothing.
  await lanes.take(0, 'high', 10, 60_000);
  assert.equal(await taken(await store.accept(to(7, { priority: 'high' }))), false);
  assert.equal(await lanes.letGo(0, 'high'), 1);
  assert.equal(await taken(await store.accept(to(8, { priority: 'high' }))), false, 'the list is not empty');
  assert.equal(await taken(await store.accept(to(9, { sendAt: Date.now() + 60_000 }))), false);
});

test('take takes at most what it is asked for; a busy mark expires', async () => {
  const keys = new Keys('mx', 1);
  const store = new MessageStore(conn(), keys);
  const lanes = new LaneStore(conn(), keys);
  for (const user of [2, 3, 4]) await store.accept(message(keys, req({ to: { user } })));
  assert.deepEqual(await lanes.take(0, 'normal', 2, 50), { convs: ['u-1-2', 'u-1-3'], left: 1 });
  await new Promise((r) => setTimeout(r, 120));
  // The taker went silent: its busy mark is gone, so the reconciler sees the list untaken.
  const r = await store.accept(message(keys, req({ to: { user: 5 } })));
  assert.ok(r.status === 'accepted' && !r.takeJob, 'the list still holds u-1-4: a job was asked for it');
  assert.deepEqual(await lanes.take(0, 'normal', 5, 50), { convs: ['u-1-4', 'u-1-5'], left: 0 });
});
