/**
 * RedisMessageService's waits against a real redis-server, completions made by the workers' lane store: submit with
 * waitMs learns the outcome from the done notice without reading the record, a bare id (a worker of an earlier
 * version) is read back, a completion that races the accept is not missed, an idempotent repeat answers the first
 * message, and a wait that runs out answers the message as accepted.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Redis, type Command } from 'ioredis';
import { RedisServer } from '@ttpush/testkit';
import { Keys, conversationOf, type SubmitRequest } from '@ttpush/contract';
import { LaneStore } from '@ttpush/store';
import { RedisMessageService } from '../src/message-service.ts';

let server: RedisServer;
const conns: Redis[] = [];
const services: RedisMessageService[] = [];

function conn(): Redis {
  const r = new Redis(server.url, { maxRetriesPerRequest: null });
  conns.push(r);
  return r;
}

before(async () => {
  server = await RedisServer.start();
});
after(async () => {
  for (const s of services) await s.close();
  for (const r of conns) r.disconnect();
  await server?.stop();
});

/**
 * A service whose command connection records the commands it sends (by name); `afterNextScript` runs once right after
 * the next script's reply arrives, before the service sees it (a worker completing the message in that gap).
 */
async function setup(prefix: string) {
  const redis = conn();
  // Connected first: the connection's own commands (CLIENT SETNAME, INFO) are not the service's.
  await redis.ping();
  const sent: string[] = [];
  let afterNextScript: (() => Promise<void>) | undefined;
  const send = redis.sendCommand.bind(redis);
  redis.sendCommand = ((cmd: Command, ...rest: unknown[]) => {
    // Read before sending: a script's first send on a connection is renamed eval as it is written.
    sent.push(cmd.name);
    const hook = cmd.name === 'evalsha' ? afterNextScript : undefined;
    const reply = (send as (c: Command, ...r: unknown[]) => Promise<unknown>)(cmd, ...rest);
    if (hook === undefined) return reply;
    afterNextScript = undefined;
    return reply.then(async (v) => {
      await hook();
      return v;
    });
  }) as typeof redis.sendCommand;
  const keys = new Keys(prefix);
  const subscriber = conn();
  const service = new RedisMessageService({ redis, subscriber, queueConnection: conn(), prefix });
  services.push(service);
  const lanes = new LaneStore(conn(), keys);
  sent.length = 0;
  return {
    service,
    lanes,
    keys,
    subscriber,
    sent,
    /** Commands sent since the last call. */
    take: () => sent.splice(0),
    afterNextScript: (fn: () => Promise<void>) => (afterNextScript = fn),
  };
}

const req = (over: Partial<SubmitRequest> = {}): SubmitRequest => ({
  app: 'crm',
  from: 1,
  to: { user: 2 },
  text: 'hello',
  priority: 'high',
  notify: true,
  ...over,
});

/** Completes the head of conversation u-1-2 as a worker does: claim, then record the outcome (published if notify). */
async function complete(lanes: LaneStore, id: string, msgId: number): Promise<void> {
  const conv = conversationOf(1, { user: 2 });
  const c = await lanes.claim({ conv, token: 't', lockMs: 5000, peek: 1 });
  assert.equal(c.status, 'claimed');
  assert.equal(c.status === 'claimed' && c.heads[0]?.id, id);
  await lanes.complete({
    id,
    conv,
    token: 't',
    outcome: { status: 'sent', msgId, createTime: 1, textHash: 'h' },
  });
}

const READS = new Set(['hgetall', 'hmget', 'hget', 'hexists']);

test('the outcome comes from the done notice: msg_id as published, no read of the record', async () => {
  const { service, lanes, keys, take } = await setup('w1');
  const r = await service.submit(req(), { waitMs: 10_000 });
  assert.equal(r.view.status, 'queued');
  assert.ok(r.outcome);
  // The record is completed without its notice (n removed); the notice sent then names another msg_id than the
  // record's: the answer can only come from the notice.
  const redis = conn();
  await redis.hdel(keys.message(r.view.id), 'n');
  await complete(lanes, r.view.id, 77);
  take();
  await redis.publish(keys.doneChannel, `${r.view.id} sent 88 `);
  assert.deepEqual(await r.outcome, { id: r.view.id, status: 'sent', msg_id: 88, error: null });
  assert.deepEqual(
    take().filter((c) => READS.has(c)),
    [],
  );
});

test('a completion by a worker: the outcome with its msg_id, and the only command the api sent was the accept', async () => {
  const { service, lanes, take } = await setup('w2');
  take();
  const r = await service.submit(req(), { waitMs: 10_000 });
  assert.deepEqual(take(), ['evalsha']);
  await complete(lanes, r.view.id, 41);
  assert.deepEqual(await r.outcome, { id: r.view.id, status: 'sent', msg_id: 41, error: null });
  assert.deepEqual(take(), []);
});

test('a bare id (a worker of an earlier version) is read back from the record', async () => {
  const { service, lanes, keys, take } = await setup('w3');
  const r = await service.submit(req(), { waitMs: 10_000 });
  const redis = conn();
  await redis.hdel(keys.message(r.view.id), 'n');
  await complete(lanes, r.view.id, 42);
  take();
  await redis.publish(keys.doneChannel, r.view.id);
  const o = await r.outcome;
  assert.deepEqual([o?.status, o?.msg_id], ['sent', 42]);
  assert.deepEqual(take(), ['hgetall']);
});

test('a completion racing the accept (before submit has its reply) is not missed', async () => {
  const { service, lanes, keys, subscriber, afterNextScript, take } = await setup('w4');
  let completed: string | undefined;
  afterNextScript(async () => {
    const head = await conn().lindex(keys.lane(conversationOf(1, { user: 2 })), 0);
    assert.ok(head);
    // Held until the service's subscriber has handled the notice (its listener was added first).
    const delivered = new Promise((resolve) => subscriber.once('message', resolve));
    await complete(lanes, head, 43);
    await delivered;
    completed = head;
  });
  take();
  const r = await service.submit(req(), { waitMs: 2000 });
  assert.equal(completed, r.view.id, 'completed before submit returned');
  assert.deepEqual(await r.outcome, { id: r.view.id, status: 'sent', msg_id: 43, error: null });
  assert.deepEqual(take(), ['evalsha']);
});

test('the wait runs out: the message as accepted (not terminal), nothing read', async () => {
  const { service, take } = await setup('w5');
  take();
  const r = await service.submit(req(), { waitMs: 50 });
  assert.deepEqual(await r.outcome, r.view);
  assert.equal(r.view.status, 'queued');
  assert.deepEqual(take(), ['evalsha']);
});

test('an idempotent repeat waits for the first message; once it is terminal, answers it after one read', async () => {
  const { service, lanes, take } = await setup('w6');
  const idem = req({ idempotencyKey: 'k1' });
  const first = await service.submit(idem, { waitMs: 10_000 });
  const repeat = await service.submit(idem, { waitMs: 10_000 });
  assert.equal(repeat.duplicate, true);
  assert.equal(repeat.view.id, first.view.id);
  await complete(lanes, first.view.id, 44);
  for (const r of [first, repeat]) {
    assert.deepEqual(await r.outcome, { id: first.view.id, status: 'sent', msg_id: 44, error: null });
  }
  take();
  const late = await service.submit(idem, { waitMs: 10_000 });
  assert.equal(late.duplicate, true);
  assert.equal(late.view.status, 'sent');
  assert.deepEqual(await late.outcome, late.view);
  assert.equal(take().filter((c) => c === 'hgetall').length, 1);
});

test('a cancel answers a waiter with cancelled', async () => {
  const { service } = await setup('w7');
  const r = await service.submit(req(), { waitMs: 10_000 });
  assert.equal((await service.cancel(r.view.id)).ok, true);
  assert.deepEqual(await r.outcome, { id: r.view.id, status: 'cancelled', msg_id: null, error: null });
});

test('waitForTerminal: the whole view once sent', async () => {
  const { service, lanes } = await setup('w8');
  const r = await service.submit(req());
  assert.equal(r.outcome, undefined);
  const waiting = service.waitForTerminal(r.view.id, 10_000);
  await new Promise((resolve) => setTimeout(resolve, 20));
  await complete(lanes, r.view.id, 45);
  const v = await waiting;
  assert.deepEqual([v?.status, v?.msg_id, v?.attempts], ['sent', 45, 0]);
  assert.ok(v?.sent_at);
});
